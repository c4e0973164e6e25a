// checks.pvc-delete.mode: off with pvcDelete.others: enforce. An owner's prune is recorded whatever the mode, as a
// StatefulSet's is, so the garbage collector's DELETEs of its claims pass; not recorded, they would be refused after the
// owner is gone, and retried for ever.
import type { AdmittedRemoval } from '../../../src/cluster/pending-removals.ts';
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { ownerDeleteValidator } from '../../../src/admission/validators/owner-delete.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';

const base = defaultConfig();
const cfg: Config = { ...base, pvcDelete: { ...base.pvcDelete, others: 'enforce' }, checks: { ...base.checks, 'pvc-delete': { ...base.checks['pvc-delete'], mode: 'off' } } };
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: [] };
const GC: UserInfo = { username: 'system:serviceaccount:kube-system:generic-garbage-collector', groups: [] };
const OWNER = { kind: 'Cluster', name: 'db', uid: 'uid-cnpg', controller: true } as const;

const ownerDelete: AdmissionRequest = request({
  kind: { group: 'postgresql.cnpg.io', version: 'v1', kind: 'Cluster' },
  resource: { group: 'postgresql.cnpg.io', version: 'v1', resource: 'clusters' },
  operation: 'DELETE',
  namespace: 'shop',
  name: 'db',
  userInfo: ARGO,
  oldObject: { apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', metadata: { name: 'db', namespace: 'shop', uid: 'uid-cnpg' } },
  options: { propagationPolicy: 'Foreground' },
});
const gcPvcDelete: AdmissionRequest = request({
  kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
  resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
  operation: 'DELETE',
  namespace: 'shop',
  name: 'db-1',
  userInfo: GC,
  oldObject: {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'db-1', namespace: 'shop', ownerReferences: [{ apiVersion: 'postgresql.cnpg.io/v1', ...OWNER }] },
    spec: { volumeName: 'pv-1' },
    status: { phase: 'Bound' },
  },
});

describe('an owner prune allowed with the pvc-delete check off and pvcDelete.others: enforce', () => {
  it('lets the garbage collector carry it out, as for a StatefulSet prune', () => {
    const m = new ClusterModel(VOLUME_SETS);
    m.upsert('namespace', namespace({ name: 'shop' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'db-1', volumeName: 'pv-1', ownerReferences: [OWNER] }));
    m.upsert('persistentVolume', pv({ name: 'pv-1', claimNamespace: 'shop', claimName: 'db-1', reclaimPolicy: 'Delete' }));
    // Without the owner's DELETE admitted, the collector's claim DELETE is judged under others: enforce.
    expect(pvcDeleteValidator(cfg).handle(gcPvcDelete, context(m, { config: cfg })).allowed).toBe(false);
    const removals: AdmittedRemoval[] = [];
    expect(ownerDeleteValidator(cfg).handle(ownerDelete, context(m, { config: cfg, removals })).allowed).toBe(true);
    expect(removals).toEqual([{ kind: 'owner', uid: 'uid-cnpg' }]);
    for (const removal of removals) m.admitRemoval(removal);
    expect(pvcDeleteValidator(cfg).handle(gcPvcDelete, context(m, { config: cfg })).allowed).toBe(true);
  });
});

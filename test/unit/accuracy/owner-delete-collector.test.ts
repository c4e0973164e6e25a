// An automation DELETE of an operator's resource that owner-delete allows (the namespace's skip for a Helm release)
// is carried out by the garbage collector, whose PVC DELETEs are not judged again under pvcDelete.others: enforce
// (refused, they would be retried for ever, the owner gone), as for a StatefulSet (garbage-collector-claims.test.ts).
import type { AdmittedRemoval } from '../../../src/cluster/pending-removals.ts';
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { ownerDeleteValidator } from '../../../src/admission/validators/owner-delete.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { context, releaseAnnotationManagedFields, request } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';

const base = defaultConfig();
const strict: Config = { ...base, pvcDelete: { ...base.pvcDelete, others: 'enforce' } };
const FLUX_HELM: UserInfo = { username: 'system:serviceaccount:flux-system:helm-controller', groups: ['system:serviceaccounts'] };
const GC: UserInfo = { username: 'system:serviceaccount:kube-system:generic-garbage-collector', groups: ['system:serviceaccounts'] };
const NS = 'shop';
const UID = 'uid-cnpg';
const OWNER = { kind: 'Cluster', name: 'db', uid: UID, controller: true } as const;
const release = { 'meta.helm.sh/release-name': 'shop', 'meta.helm.sh/release-namespace': NS };

function model(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('namespace', namespace({ name: NS, annotations: { 'volume-guard.io/skip': 'pvc-delete', 'volume-guard.io/skip-by': 'admin' } }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'db-1', volumeName: 'pv-1', ownerReferences: [OWNER] }));
  m.upsert('persistentVolume', pv({ name: 'pv-1', claimNamespace: NS, claimName: 'db-1', reclaimPolicy: 'Delete' }));
  return m;
}

const ownerDelete: AdmissionRequest = request({
  kind: { group: 'postgresql.cnpg.io', version: 'v1', kind: 'Cluster' },
  resource: { group: 'postgresql.cnpg.io', version: 'v1', resource: 'clusters' },
  operation: 'DELETE',
  namespace: NS,
  name: 'db',
  userInfo: FLUX_HELM,
  oldObject: {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Cluster',
    metadata: { name: 'db', namespace: NS, uid: UID, annotations: release, managedFields: releaseAnnotationManagedFields(release, 'helm-controller') },
  },
  options: { propagationPolicy: 'Background' },
});

const gcPvcDelete: AdmissionRequest = request({
  kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
  resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
  operation: 'DELETE',
  namespace: NS,
  name: 'db-1',
  userInfo: GC,
  oldObject: {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'db-1', namespace: NS, ownerReferences: [{ apiVersion: 'postgresql.cnpg.io/v1', ...OWNER, blockOwnerDeletion: true }] },
    spec: { volumeName: 'pv-1' },
    status: { phase: 'Bound' },
  },
});

describe('the garbage collector carrying out an owner DELETE owner-delete allowed', () => {
  it('is not refused under pvcDelete.others: enforce; without that DELETE admitted, it is', () => {
    const m = model();
    expect(pvcDeleteValidator(strict).handle(gcPvcDelete, context(m, { config: strict })).allowed).toBe(false);
    const removals: AdmittedRemoval[] = [];
    const first = ownerDeleteValidator(strict).handle(ownerDelete, context(m, { config: strict, removals }));
    expect(first.allowed).toBe(true); // the namespace's Helm skip took the claims
    expect(removals).toEqual([{ kind: 'owner', uid: UID }]);
    // The server records what the final answer allowed.
    for (const removal of removals) m.admitRemoval(removal);
    // The Cluster is gone; the garbage collector deletes its claim.
    const second = pvcDeleteValidator(strict).handle(gcPvcDelete, context(m, { config: strict }));
    expect(second.status?.message ?? '').toBe('');
    expect(second.allowed).toBe(true);
  });
});

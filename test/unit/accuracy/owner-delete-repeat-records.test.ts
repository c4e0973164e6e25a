// A DELETE owner-delete judges nothing of (the owner already being deleted: "the first DELETE decided") records no
// removal. A person's DELETE of a Tenant is never judged by owner-delete (automation only); with
// pvcDelete.others: enforce the collector's Namespace DELETE is then judged and refused. A GitOps controller's DELETE
// of the same Tenant, still being deleted (foreground, or a finalizer), passes unjudged and must not let the
// collector's retried Namespace DELETE through (ownedOnlyByAdmittedDeletions) with nothing ever judging its claims.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { ownerDeleteValidator } from '../../../src/admission/validators/owner-delete.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { AdmittedRemoval } from '../../../src/cluster/pending-removals.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';

const config = defaultConfig();
const strict: Config = { ...config, pvcDelete: { ...config.pvcDelete, others: 'enforce' } };
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const GC: UserInfo = { username: 'system:serviceaccount:kube-system:generic-garbage-collector', groups: ['system:serviceaccounts'] };
const TENANT_UID = 'uid-tenant-solar';
const NS = 'solar-prod';

function model(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('namespace', namespace({ name: NS, ownerUids: [TENANT_UID] }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-0', volumeName: 'pv-db', ownerReferences: [] }));
  m.upsert('persistentVolume', pv({ name: 'pv-db', claimNamespace: NS, claimName: 'data-db-0', reclaimPolicy: 'Delete' }));
  return m;
}

/** Argo CD's DELETE of Tenant solar, which a person's foreground DELETE left being deleted. */
const argoDeleteOfDeletingTenant: AdmissionRequest = request({
  kind: { group: 'capsule.clastix.io', version: 'v1beta2', kind: 'Tenant' },
  resource: { group: 'capsule.clastix.io', version: 'v1beta2', resource: 'tenants' },
  operation: 'DELETE',
  namespace: '',
  name: 'solar',
  userInfo: ARGO,
  oldObject: {
    apiVersion: 'capsule.clastix.io/v1beta2',
    kind: 'Tenant',
    metadata: { name: 'solar', uid: TENANT_UID, deletionTimestamp: '2025-01-01T00:00:00Z', finalizers: ['foregroundDeletion'] },
  },
  options: { propagationPolicy: 'Foreground' },
});

const gcNamespaceDelete: AdmissionRequest = request({
  kind: { group: '', version: 'v1', kind: 'Namespace' },
  resource: { group: '', version: 'v1', resource: 'namespaces' },
  operation: 'DELETE',
  namespace: NS,
  name: NS,
  userInfo: GC,
  oldObject: {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: NS,
      uid: 'uid-ns',
      ownerReferences: [{ apiVersion: 'capsule.clastix.io/v1beta2', kind: 'Tenant', name: 'solar', uid: TENANT_UID, controller: true, blockOwnerDeletion: true }],
    },
  },
  options: { propagationPolicy: 'Foreground' },
});

describe('an unjudged repeat DELETE of an owner being deleted', () => {
  it('does not let the collector\'s refused Namespace DELETE through', () => {
    const m = model();
    // The collector's DELETE after the person's Tenant DELETE: judged, refused (others: enforce).
    expect(pvcDeleteValidator(strict).handle(gcNamespaceDelete, context(m, { config: strict })).allowed).toBe(false);
    // Argo CD's DELETE of the Tenant being deleted: passes without judging anything ("the first DELETE decided").
    const removals: AdmittedRemoval[] = [];
    expect(ownerDeleteValidator(strict).handle(argoDeleteOfDeletingTenant, context(m, { config: strict, removals })).allowed).toBe(true);
    for (const removal of removals) m.admitRemoval(removal);
    // The collector's retry: nothing judged the claims of solar-prod.
    expect(pvcDeleteValidator(strict).handle(gcNamespaceDelete, context(m, { config: strict })).allowed).toBe(false);
  });
});

// A GitOps prune of a cluster-scoped owner of Namespaces: Capsule puts an ownerReference to the Tenant on every
// Namespace of the tenant (Kubeflow's Profile owns its namespace alike), so the garbage collector deletes those
// Namespaces (as itself, its DELETE getting pvcDelete.others, off by default), and the namespace controller every PVC
// in them. Judged at the owner's DELETE; once allowed, the collector's Namespace DELETE passes under others: enforce.
import type { AdmittedRemoval } from '../../../src/cluster/pending-removals.ts';
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { ownerDeleteValidator } from '../../../src/admission/validators/owner-delete.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { namespace, pv, pvc, statefulSet } from '../../support/fixtures.ts';

const config = defaultConfig();
const strict: Config = { ...config, pvcDelete: { ...config.pvcDelete, others: 'enforce' } };
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const GC: UserInfo = { username: 'system:serviceaccount:kube-system:generic-garbage-collector', groups: ['system:serviceaccounts'] };
const TENANT_UID = 'uid-tenant-solar';
const NS = 'solar-prod';
const APPROVED = { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'admin' };

function model(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('namespace', namespace({ name: NS, ownerUids: [TENANT_UID] }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-0', volumeName: 'pv-db', ownerReferences: [] }));
  m.upsert('persistentVolume', pv({ name: 'pv-db', claimNamespace: NS, claimName: 'data-db-0', reclaimPolicy: 'Delete' }));
  return m;
}

function tenantDelete(options: unknown = { propagationPolicy: 'Foreground' }): AdmissionRequest {
  return request({
    kind: { group: 'capsule.clastix.io', version: 'v1beta2', kind: 'Tenant' },
    resource: { group: 'capsule.clastix.io', version: 'v1beta2', resource: 'tenants' },
    operation: 'DELETE',
    namespace: '',
    name: 'solar',
    userInfo: ARGO,
    oldObject: { apiVersion: 'capsule.clastix.io/v1beta2', kind: 'Tenant', metadata: { name: 'solar', uid: TENANT_UID } },
    options,
  });
}

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

describe('a GitOps prune of an owner of Namespaces (Capsule Tenant, Kubeflow Profile)', () => {
  it('is refused at the owner DELETE, naming the claims the namespace controller deletes', () => {
    const m = model();
    // Nothing judges it later with the default config: the collector's Namespace DELETE gets pvcDelete.others (off).
    expect(pvcDeleteValidator(config).handle(gcNamespaceDelete, context(m)).allowed).toBe(true);
    const refused = ownerDeleteValidator(config).handle(tenantDelete(), context(m));
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toContain(`PVC ${NS}/data-db-0`);
    expect(refused.status?.message).toContain(`deleted with Namespace ${NS}, which Tenant solar owns`);
    expect(refused.status?.message).toContain(`kubectl annotate pvc data-db-0 -n ${NS} volume-guard.io/delete=true`);
  });

  it('counts every claim of the namespace, whatever owns it, but not a pod scratch claim', () => {
    const m = model();
    m.upsert('persistentVolumeClaim', { ...m.persistentVolumeClaim(NS, 'data-db-0')!, annotations: APPROVED });
    // A StatefulSet that stays does not keep its claim: the namespace controller deletes it with the namespace.
    m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'web', uid: 'uid-web' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-web-0', volumeName: 'pv-web', ownerReferences: [{ kind: 'StatefulSet', name: 'web', uid: 'uid-web' }] }));
    m.upsert('persistentVolume', pv({ name: 'pv-web', claimNamespace: NS, claimName: 'data-web-0', reclaimPolicy: 'Delete' }));
    const refused = ownerDeleteValidator(config).handle(tenantDelete(), context(m));
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toContain(`PVC ${NS}/data-web-0`);
    expect(refused.status?.message).not.toContain('unless');
    m.remove('persistentVolumeClaim', `${NS}/data-web-0`);
    // A pod's generic ephemeral volume goes with its pod whatever is decided.
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'job-scratch', volumeName: 'pv-web', ownerReferences: [{ kind: 'Pod', name: 'job', uid: 'uid-pod', controller: true }] }));
    m.upsert('persistentVolume', pv({ name: 'pv-web', claimNamespace: NS, claimName: 'job-scratch', reclaimPolicy: 'Delete' }));
    expect(ownerDeleteValidator(config).handle(tenantDelete(), context(m)).allowed).toBe(true);
  });

  it('passes an orphaning DELETE, a namespace already being deleted, and one another owner keeps', () => {
    const m = model();
    expect(ownerDeleteValidator(config).handle(tenantDelete({ propagationPolicy: 'Orphan' }), context(m)).allowed).toBe(true);
    expect(ownerDeleteValidator(config).handle(tenantDelete({ orphanDependents: true }), context(m)).allowed).toBe(true);
    // Its own DELETE was judged (the namespace controller is deleting its claims already).
    m.upsert('namespace', namespace({ name: NS, ownerUids: [TENANT_UID], deleting: true }));
    expect(ownerDeleteValidator(config).handle(tenantDelete(), context(m)).allowed).toBe(true);
    // The collector deletes a dependent only once none of its owners remains.
    m.upsert('namespace', namespace({ name: NS, ownerUids: [TENANT_UID, 'uid-profile'] }));
    expect(ownerDeleteValidator(config).handle(tenantDelete(), context(m)).allowed).toBe(true);
    // Unless that owner's DELETE was just admitted too.
    m.admitRemoval({ kind: 'owner', uid: 'uid-profile' });
    expect(ownerDeleteValidator(config).handle(tenantDelete(), context(m)).allowed).toBe(false);
  });

  it('does not count a namespace naming a namespaced owner: the collector never resolves that reference', () => {
    const m = model();
    const namespacedOwner = tenantDelete();
    const del = { ...namespacedOwner, namespace: 'capsule-system', oldObject: { metadata: { name: 'solar', namespace: 'capsule-system', uid: TENANT_UID } } };
    expect(ownerDeleteValidator(config).handle(del, context(m)).allowed).toBe(true);
  });

  it("lets the collector's Namespace DELETE through under pvcDelete.others: enforce once the owner's DELETE was allowed", () => {
    const m = model();
    m.upsert('persistentVolumeClaim', { ...m.persistentVolumeClaim(NS, 'data-db-0')!, annotations: APPROVED });
    // Not admitted: judged afresh (refused here: the approval counts only for a DELETE judged by claim).
    const unapproved = model();
    expect(pvcDeleteValidator(strict).handle(gcNamespaceDelete, context(unapproved, { config: strict })).allowed).toBe(false);
    const removals: AdmittedRemoval[] = [];
    expect(ownerDeleteValidator(strict).handle(tenantDelete(), context(m, { config: strict, removals })).allowed).toBe(true);
    expect(removals).toEqual([{ kind: 'owner', uid: TENANT_UID }]);
    for (const removal of removals) unapproved.admitRemoval(removal);
    expect(pvcDeleteValidator(strict).handle(gcNamespaceDelete, context(unapproved, { config: strict })).allowed).toBe(true);
    // Anyone else's DELETE of it is still judged.
    expect(pvcDeleteValidator(strict).handle({ ...gcNamespaceDelete, userInfo: { username: 'alice', groups: [] } }, context(unapproved, { config: strict })).allowed).toBe(false);
  });
});

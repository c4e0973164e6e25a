// Claims whose fate was decided before their DELETE: a pod's generic ephemeral volume goes with its pod whatever
// becomes of the namespace, and the garbage collector deletes a claim only once none of its owners remains (the
// owner's DELETE was the judged decision), so neither is refused, whatever pvcDelete.others says.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { namespace, pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';

const config = defaultConfig();
const validator = pvcDeleteValidator(config);
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd'] };
const GC: UserInfo = { username: 'system:serviceaccount:kube-system:generic-garbage-collector', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system'] };
const NS = 'batch';

function nsDelete(user: UserInfo): AdmissionRequest {
  return request({
    kind: { group: '', version: 'v1', kind: 'Namespace' },
    resource: { group: '', version: 'v1', resource: 'namespaces' },
    operation: 'DELETE',
    namespace: NS,
    name: NS,
    userInfo: user,
    oldObject: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, uid: 'ns-uid' }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } },
  });
}

/** A namespace whose only claim is a running pod's generic ephemeral volume (`<pod>-<volume>`, owned by the pod). */
function scratchModel(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('namespace', namespace({ name: NS }));
  m.upsert('persistentVolume', pv({ name: 'pv-scratch', claimNamespace: NS, claimName: 'worker-0-scratch', reclaimPolicy: 'Delete' }));
  m.upsert(
    'persistentVolumeClaim',
    pvc({
      namespace: NS,
      name: 'worker-0-scratch',
      volumeName: 'pv-scratch',
      ownerReferences: [{ kind: 'Pod', name: 'worker-0', uid: 'pod-uid', controller: true }],
    }),
  );
  m.upsert('pod', pod({ namespace: NS, name: 'worker-0', claimNames: ['worker-0-scratch'] }));
  return m;
}

describe('generic ephemeral volume claims (pod scratch) at deletions', () => {
  it('a Namespace DELETE by Argo CD is not refused for a pod scratch claim, which goes with its pod anyway', () => {
    const decision = validator.handle(nsDelete(ARGO), context(scratchModel()));
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
  });

  it("with pvcDelete.others: enforce the garbage collector's DELETE of a deleted pod's scratch claim passes", () => {
    const strict: Config = { ...config, pvcDelete: { ...config.pvcDelete, others: 'enforce' } };
    const del = request({
      kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
      resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
      operation: 'DELETE',
      namespace: NS,
      name: 'worker-0-scratch',
      userInfo: GC,
      oldObject: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'worker-0-scratch', namespace: NS, ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'worker-0', uid: 'pod-uid', controller: true, blockOwnerDeletion: true }] },
        spec: { volumeName: 'pv-scratch' },
        status: { phase: 'Bound' },
      },
    });
    const decision = pvcDeleteValidator(strict).handle(del, context(scratchModel(), { config: strict }));
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
  });
});

describe('the garbage collector carries out a StatefulSet DELETE already judged', () => {
  it('with checks.pvc-delete off for automation and pvcDelete.others: enforce, the GC deleting the PVCs Argo CD\'s allowed StatefulSet DELETE released passes', () => {
    const cfg: Config = { ...config, checks: { ...config.checks, 'pvc-delete': { mode: 'off' } }, pvcDelete: { ...config.pvcDelete, others: 'enforce' } };
    const v = pvcDeleteValidator(cfg);
    const m = new ClusterModel(VOLUME_SETS);
    m.upsert('namespace', namespace({ name: 'shop' }));
    m.upsert('persistentVolume', pv({ name: 'pv-data-db-0', claimNamespace: 'shop', claimName: 'data-db-0', reclaimPolicy: 'Delete' }));
    const owner = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'sts-uid', controller: false, blockOwnerDeletion: true };
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-0', volumeName: 'pv-data-db-0', ownerReferences: [{ kind: 'StatefulSet', name: 'db', uid: 'sts-uid' }] }));
    // Argo CD prunes the StatefulSet: checks.pvc-delete is off for automation, so it passes.
    const stsDelete = request({
      kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
      resource: { group: 'apps', version: 'v1', resource: 'statefulsets' },
      operation: 'DELETE',
      namespace: 'shop',
      name: 'db',
      userInfo: ARGO,
      oldObject: {
        apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'shop', uid: 'sts-uid' },
        spec: { replicas: 1, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' }, volumeClaimTemplates: [{ metadata: { name: 'data' } }] },
      },
      options: { propagationPolicy: 'Foreground' },
    });
    expect(v.handle(stsDelete, context(m, { config: cfg })).allowed).toBe(true);
    // The StatefulSet goes (Foreground: the model sees it being deleted), then the garbage collector deletes the claim
    // (its only owner gone): same data, decided already.
    m.upsert('statefulSet', statefulSet({ namespace: 'shop', name: 'db', uid: 'sts-uid', deleting: true }));
    const gcDelete = request({
      kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
      resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
      operation: 'DELETE',
      namespace: 'shop',
      name: 'data-db-0',
      userInfo: GC,
      oldObject: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data-db-0', namespace: 'shop', ownerReferences: [owner] }, spec: { volumeName: 'pv-data-db-0' }, status: { phase: 'Bound' } },
      options: { propagationPolicy: 'Foreground' },
    });
    const decision = v.handle(gcDelete, context(m, { config: cfg }));
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
  });
});

describe('what stays judged', () => {
  it('a Namespace DELETE by Argo CD still names a claim of its own beside the scratch claim', () => {
    const m = scratchModel();
    m.upsert('persistentVolume', pv({ name: 'pv-data', claimNamespace: NS, claimName: 'data', reclaimPolicy: 'Delete' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data', volumeName: 'pv-data' }));
    const decision = validator.handle(nsDelete(ARGO), context(m));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain(`PVC ${NS}/data`);
    expect(decision.status?.message).not.toContain('worker-0-scratch');
  });

  it('under pvcDelete.others: enforce a person deleting the same claim is judged as before', () => {
    const strict: Config = { ...config, pvcDelete: { ...config.pvcDelete, others: 'enforce' } };
    const m = new ClusterModel(VOLUME_SETS);
    m.upsert('namespace', namespace({ name: 'shop' }));
    m.upsert('persistentVolume', pv({ name: 'pv-data-db-0', claimNamespace: 'shop', claimName: 'data-db-0', reclaimPolicy: 'Delete' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-0', volumeName: 'pv-data-db-0' }));
    const del = request({
      kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
      resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
      operation: 'DELETE',
      namespace: 'shop',
      name: 'data-db-0',
      userInfo: { username: 'alice', groups: ['system:authenticated'] },
      oldObject: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data-db-0', namespace: 'shop' }, spec: { volumeName: 'pv-data-db-0' }, status: { phase: 'Bound' } },
    });
    expect(pvcDeleteValidator(strict).handle(del, context(m, { config: strict })).allowed).toBe(false);
  });

  it("under pvcDelete.others: enforce the garbage collector's DELETE of a claim an operator's resource owned is judged (its DELETE was not seen)", () => {
    const strict: Config = { ...config, pvcDelete: { ...config.pvcDelete, others: 'enforce' } };
    const m = new ClusterModel(VOLUME_SETS);
    m.upsert('namespace', namespace({ name: 'shop' }));
    m.upsert('persistentVolume', pv({ name: 'pv-pg', claimNamespace: 'shop', claimName: 'pg-data', reclaimPolicy: 'Delete' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'pg-data', volumeName: 'pv-pg', ownerReferences: [{ kind: 'Database', name: 'pg', uid: 'db-uid' }] }));
    const del = request({
      kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
      resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
      operation: 'DELETE',
      namespace: 'shop',
      name: 'pg-data',
      userInfo: GC,
      oldObject: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'pg-data', namespace: 'shop', ownerReferences: [{ apiVersion: 'example.com/v1', kind: 'Database', name: 'pg', uid: 'db-uid', controller: true }] },
        spec: { volumeName: 'pv-pg' },
        status: { phase: 'Bound' },
      },
    });
    const decision = pvcDeleteValidator(strict).handle(del, context(m, { config: strict }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('deletion of PVC shop/pg-data');
  });

  it('is judged when the StatefulSet it names is live under another uid (a stale reference in a re-applied manifest)', () => {
    const strict: Config = { ...config, pvcDelete: { ...config.pvcDelete, others: 'enforce' } };
    const m = new ClusterModel(VOLUME_SETS);
    m.upsert('namespace', namespace({ name: 'shop' }));
    m.upsert('persistentVolume', pv({ name: 'pv-data-db-0', claimNamespace: 'shop', claimName: 'data-db-0', reclaimPolicy: 'Delete' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-0', volumeName: 'pv-data-db-0', ownerReferences: [{ kind: 'StatefulSet', name: 'db', uid: 'uid-elsewhere' }] }));
    m.upsert('statefulSet', statefulSet({ namespace: 'shop', name: 'db', uid: 'uid-here' }));
    const gcDelete = request({
      kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
      resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
      operation: 'DELETE',
      namespace: 'shop',
      name: 'data-db-0',
      userInfo: GC,
      oldObject: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data-db-0', namespace: 'shop', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'uid-elsewhere' }] },
        spec: { volumeName: 'pv-data-db-0' },
        status: { phase: 'Bound' },
      },
    });
    expect(pvcDeleteValidator(strict).handle(gcDelete, context(m, { config: strict })).allowed).toBe(false);
  });

  it('passes once a background DELETE removed the StatefulSet and its admitted record ended', () => {
    const strict: Config = { ...config, pvcDelete: { ...config.pvcDelete, others: 'enforce' } };
    const m = new ClusterModel(VOLUME_SETS);
    m.upsert('namespace', namespace({ name: 'shop' }));
    m.upsert('persistentVolume', pv({ name: 'pv-data-db-0', claimNamespace: 'shop', claimName: 'data-db-0', reclaimPolicy: 'Delete' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-0', volumeName: 'pv-data-db-0', ownerReferences: [{ kind: 'StatefulSet', name: 'db', uid: 'sts-uid' }] }));
    const gcDelete = request({
      kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
      resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
      operation: 'DELETE',
      namespace: 'shop',
      name: 'data-db-0',
      userInfo: GC,
      oldObject: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data-db-0', namespace: 'shop', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'sts-uid' }] },
        spec: { volumeName: 'pv-data-db-0' },
        status: { phase: 'Bound' },
      },
    });
    expect(pvcDeleteValidator(strict).handle(gcDelete, context(m, { config: strict })).allowed).toBe(true);
  });
});

// PVC DELETEs by people and the garbage collector under pvcDelete.others.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import type { ModelHealth } from '../../../src/cluster/snapshot.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { namespace, pod, pv, pvc } from '../../support/fixtures.ts';
import type { OwnerRef } from '../../../src/cluster/records.ts';

const config = defaultConfig();
const strict: Config = { ...config, pvcDelete: { ...config.pvcDelete, others: 'enforce' } };
const GC: UserInfo = { username: 'system:serviceaccount:kube-system:generic-garbage-collector', groups: ['system:serviceaccounts'] };
const ALICE: UserInfo = { username: 'alice', groups: ['system:authenticated'] };
const NS = 'shop';
const staleOf = (...resources: string[]): ModelHealth => ({ synced: () => true, staleResources: () => resources });

function pvcDelete(user: UserInfo, name: string, ownerReferences: unknown[] = []): AdmissionRequest {
  return request({
    kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
    resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
    operation: 'DELETE',
    namespace: NS,
    name,
    userInfo: user,
    oldObject: {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: NS, uid: `uid-${name}`, ownerReferences },
      spec: { volumeName: `pv-${name}` },
      status: { phase: 'Bound' },
    },
  });
}

function shop(claim: string, owners: OwnerRef[] = []): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('namespace', namespace({ name: NS }));
  m.upsert('persistentVolume', pv({ name: `pv-${claim}`, claimNamespace: NS, claimName: claim, reclaimPolicy: 'Delete' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: claim, uid: `uid-${claim}`, volumeName: `pv-${claim}`, ownerReferences: owners }));
  return m;
}

describe('the garbage collector fast path reads StatefulSets without their staleness', () => {
  it("under pvcDelete.others: enforce, the GC's DELETE of a claim naming a StatefulSet gets the stale-model answer while StatefulSets are stale", () => {
    // The claim names StatefulSet db by a uid; whether a live `db` of another uid holds that name now (a re-applied
    // export: the README says the GC's DELETE is then judged) is read from the StatefulSets, which are stale: the plan
    // `pvc-delete` declares that read (plans.ts reads: statefulSet, "for the garbage collector's DELETE").
    const owner = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'sts-old', controller: false };
    const m = shop('data-db-0', [{ kind: 'StatefulSet', name: 'db', uid: 'sts-old' }]);
    const decision = pvcDeleteValidator(strict).handle(pvcDelete(GC, 'data-db-0', [owner]), context(m, { config: strict, health: staleOf('statefulsets.apps') }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message ?? '').toContain('statefulsets');
  });
});

describe('a pod scratch claim deleted by hand', () => {
  it('under pvcDelete.others: enforce, deleting a running pod\'s generic ephemeral claim is not refused (it goes with its pod anyway)', () => {
    // kubernetes.io/pvc-protection keeps the claim until the pod is gone, and the garbage collector deletes it with the
    // pod whatever is answered (the ephemeral volume controller makes the pod its controller owner): this DELETE
    // loses nothing the pod's end does not. The Namespace DELETE path already says so (lostWithNamespace).
    const owner = { apiVersion: 'v1', kind: 'Pod', name: 'worker-0', uid: 'pod-uid', controller: true, blockOwnerDeletion: true };
    const m = shop('worker-0-scratch', [{ kind: 'Pod', name: 'worker-0', uid: 'pod-uid', controller: true }]);
    m.upsert('pod', pod({ namespace: NS, name: 'worker-0', claimNames: ['worker-0-scratch'] }));
    const decision = pvcDeleteValidator(strict).handle(pvcDelete(ALICE, 'worker-0-scratch', [owner]), context(m, { config: strict }));
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
  });
});

describe('the fix of a PVC DELETE nobody pruned', () => {
  it("a person's refused `kubectl delete pvc` (pvcDelete.others: enforce) is not told to keep the PVC out of a GitOps prune", () => {
    const decision = pvcDeleteValidator(strict).handle(pvcDelete(ALICE, 'uploads'), context(shop('uploads'), { config: strict }));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message.replace(/\n\s+/g, ' ');
    expect(message).not.toContain('keep the PVC out of the prune');
    expect(message).toContain('reclaim policy Retain first');
  });

  it("the garbage collector's refused DELETE of a claim an operator's resource owned is not told about GitOps prunes either", () => {
    const owner = { apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', name: 'pg', uid: 'pg-uid', controller: true };
    const m = shop('pg-1', [{ kind: 'Cluster', name: 'pg', uid: 'pg-uid', controller: true }]);
    const decision = pvcDeleteValidator(strict).handle(pvcDelete(GC, 'pg-1', [owner]), context(m, { config: strict }));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message.replace(/\n\s+/g, ' ')).not.toContain('keep the PVC out of the prune');
  });
});

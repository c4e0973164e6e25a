// An independent look at pod removals (evictions, pod DELETEs on a draining node) against what the systems do:
// - kubectl drain (k8s.io/kubectl/pkg/drain, filters.go) never evicts a running DaemonSet pod (daemonSetFilter:
//   skipped with --ignore-daemonsets, an error otherwise) nor a mirror pod (mirrorPodFilter), and Cluster API's
//   drain skips them the same way: their removal is no step of emptying a node. A DaemonSet pod comes back to the
//   same node (the DaemonSet controller pins each pod there with a matchFields metadata.name affinity), a static
//   pod's mirror is recreated by the kubelet: nothing of theirs moves.
// - A finished pod (Succeeded, Failed) runs no container and uses none of its volumes: removing it moves no data.
//   The TTL-after-finished controller, CronJob history limits (through the garbage collector) and the descheduler's
//   RemoveFailedPods delete or evict such pods on any node, cordoned ones included. kubectl drain evicts finished
//   pods too, so on a node being drained their eviction stays a step of the drain and gets the node-wide checks.
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { podDeleteValidator } from '../../../src/admission/validators/pod-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { PodRecord } from '../../../src/cluster/records.ts';
import { defaultConfig } from '../../../src/config.ts';
import type { UserInfo } from '../../../src/admission/types.ts';
import { ADMIN, context, evictionRequest, request } from '../../support/admission.ts';
import { localPV, longhornNode, node, pod, pvc, volumeWithReplicas } from '../../support/fixtures.ts';

const config = defaultConfig();

/**
 * node-1 holds a local PV (claim db-data) and the only replica of single-replica Longhorn volume vol-single
 * (claim vol-single-claim); the pods below run on node-1.
 */
function cluster(unschedulable: boolean, pods: readonly PodRecord[]): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  model.upsert('node', node({ name: 'node-1', unschedulable }));
  model.upsert('node', node({ name: 'node-2' }));
  model.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'node-1', claimName: 'db-data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-local' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'vol-single-claim', volumeName: 'vol-single' }));
  const lh = volumeWithReplicas('vol-single', ['node-1'], { numberOfReplicas: 1 });
  model.upsert('longhornVolume', lh.volume);
  for (const r of lh.replicas) model.upsert('longhornReplica', r);
  model.upsert('longhornNode', longhornNode({ name: 'node-1' }));
  for (const p of pods) model.upsert('pod', p);
  return model;
}

const daemonPod = pod({ name: 'agent-x1', controllerKind: 'DaemonSet', claimNames: ['db-data', 'vol-single-claim'] });
const mirrorPod = pod({ name: 'etcd-node-1', controllerKind: 'Node' });
const finishedJobPod = pod({ name: 'backup-28f-x', controllerKind: 'Job', phase: 'Succeeded', claimNames: ['db-data', 'vol-single-claim'] });
const failedJobPod = pod({ name: 'backup-28g-y', controllerKind: 'Job', phase: 'Failed', claimNames: ['db-data'] });
const runningDb = pod({ name: 'db-0', controllerKind: 'StatefulSet', claimNames: ['db-data', 'vol-single-claim'] });
const PODS = [daemonPod, mirrorPod, finishedJobPod, failedJobPod, runningDb];

const evict = (name: string) => podEvictionValidator(config).handle(evictionRequest(name), context(cluster(false, PODS)));
const evictDraining = (name: string) => podEvictionValidator(config).handle(evictionRequest(name), context(cluster(true, PODS)));

const GARBAGE_COLLECTOR: UserInfo = { username: 'system:serviceaccount:kube-system:generic-garbage-collector', groups: ['system:serviceaccounts'] };

function podDelete(p: PodRecord, ownerKind: string, userInfo: UserInfo = GARBAGE_COLLECTOR) {
  const volumes = p.claimNames.map((claimName, i) => ({ name: `c${i}`, persistentVolumeClaim: { claimName } }));
  return request({
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'DELETE',
    namespace: 'default',
    name: p.name,
    userInfo,
    oldObject: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: p.name, namespace: 'default', ownerReferences: [{ apiVersion: 'v1', kind: ownerKind, name: 'owner', uid: 'u-1', controller: true }] },
      spec: { nodeName: 'node-1', volumes },
      status: { phase: p.phase },
    },
  });
}

describe('evictions of pods that take nothing off their node', () => {
  it('a running DaemonSet pod on a node being drained: allowed (no node-wide checks: drains never evict it, it comes back there)', () => {
    const decision = evictDraining('agent-x1');
    expect(decision.status?.message).toBeUndefined();
    expect(decision.allowed).toBe(true);
  });

  it("a running DaemonSet pod on a schedulable node: its own local PV and Longhorn copy stay with it (same node)", () => {
    expect(evict('agent-x1').allowed).toBe(true);
  });

  it("a static pod's mirror on a node being drained: allowed", () => {
    expect(evictDraining('etcd-node-1').allowed).toBe(true);
  });

  it('a finished pod on a schedulable node: allowed, it uses none of its claims', () => {
    expect(evict('backup-28f-x').allowed).toBe(true);
    expect(evict('backup-28g-y').allowed).toBe(true);
  });

  it('still refused: a finished pod on a node being drained (kubectl drain evicts it: a step of the drain) and a running pod on its data', () => {
    const finished = evictDraining('backup-28f-x');
    expect(finished.allowed).toBe(false);
    expect(finished.status!.message).toContain('pv-local');
    const running = evict('db-0');
    expect(running.allowed).toBe(false);
    expect(running.status!.message).toContain('pv-local');
    expect(running.status!.message).toContain('vol-single');
  });
});

describe('pod DELETEs on a node being drained', () => {
  const validator = podDeleteValidator(config);

  it('the garbage collector deleting a finished Job pod: allowed (the data stays bound to its claim, nothing moves)', () => {
    const decision = validator.handle(podDelete(finishedJobPod, 'Job'), context(cluster(true, PODS)));
    expect(decision.status?.message).toBeUndefined();
    expect(decision.allowed).toBe(true);
  });

  it('a running DaemonSet pod: allowed, its controller recreates it on the same node', () => {
    expect(validator.handle(podDelete(daemonPod, 'DaemonSet'), context(cluster(true, PODS))).allowed).toBe(true);
  });

  it('a running StatefulSet pod on its local PV, deleted by a person (kubectl drain --disable-eviction): still refused', () => {
    const decision = validator.handle(podDelete(runningDb, 'StatefulSet', ADMIN), context(cluster(true, PODS)));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('pv-local');
  });

  // kube-controller-manager never drains: its garbage collector deletes the pods of a StatefulSet deleted
  // (`helm uninstall`, `kubectl delete sts`), the StatefulSet controller scales down or replaces a pod. The claims stay,
  // and nothing recreates the pod off its data. Refusing left the pods running after their StatefulSet was gone.
  it.each([
    ['system:serviceaccount:kube-system:generic-garbage-collector'],
    ['system:serviceaccount:kube-system:statefulset-controller'],
    ['system:kube-controller-manager'],
  ])('the same DELETE by kube-controller-manager (%s): allowed', (username) => {
    const decision = validator.handle(podDelete(runningDb, 'StatefulSet', { username, groups: ['system:authenticated'] }), context(cluster(true, PODS)));
    expect(decision.status?.message).toBeUndefined();
    expect(decision.allowed).toBe(true);
    // Not even sent: an outage of volume-guard must not hold up the rollout (a CNI's DaemonSet) that would end it.
    expect(validator.declaration.matchConditions?.[0]?.expression).toContain(`'${username}'`);
  });

  it('a service account of that name outside kube-system is no controller: refused', () => {
    const decision = validator.handle(
      podDelete(runningDb, 'StatefulSet', { username: 'system:serviceaccount:tenant:generic-garbage-collector', groups: ['system:serviceaccounts'] }),
      context(cluster(true, PODS)),
    );
    expect(decision.allowed).toBe(false);
  });
});

describe('evictions of pods already being deleted', () => {
  // A pod with a deletionTimestamp goes whatever is asked next: kubectl drain evicts it again (its skipDeletedFilter
  // keeps such pods unless --skip-wait-for-delete-timeout says otherwise) and waits for it. Refusing changes nothing.
  it('pass, where the same pod not being deleted is refused', () => {
    const going = pod({ name: 'db-0', controllerKind: 'StatefulSet', claimNames: ['db-data'], deleting: true });
    expect(podEvictionValidator(config).handle(evictionRequest('db-0'), context(cluster(true, [going]))).allowed).toBe(true);
    expect(podEvictionValidator(config).handle(evictionRequest('db-0'), context(cluster(true, [runningDb]))).allowed).toBe(false);
  });
});

describe('a pod DELETE on a node volume-guard has not seen', () => {
  const ALICE_USER: UserInfo = { username: 'alice', groups: ['system:authenticated'] };
  const withoutNodes = (): ClusterModel => new ClusterModel(VOLUME_SETS);

  it('passes while the nodes view is fresh: the node is gone, and its data with it', () => {
    expect(podDeleteValidator(config).handle(podDelete(runningDb, 'StatefulSet', ALICE_USER), context(withoutNodes())).allowed).toBe(true);
  });

  it('gets the stale-model answer while the nodes view is stale, for a pod keeping data there (as its eviction)', () => {
    const stale = { synced: () => true, staleResources: () => ['nodes'] };
    const refused = podDeleteValidator(config).handle(podDelete(runningDb, 'StatefulSet', ALICE_USER), context(withoutNodes(), { health: stale }));
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toContain('stale');
    // No override reaches a pod DELETE: the answer says what does.
    expect(refused.status?.message).toContain('retry once volume-guard has seen node node-1');
    expect(refused.status?.message).not.toContain('on the object under review');
    // A pod keeping nothing on its node passes whatever the view.
    const plain = pod({ name: 'web-1', controllerKind: 'ReplicaSet' });
    expect(podDeleteValidator(config).handle(podDelete(plain, 'ReplicaSet', ALICE_USER), context(withoutNodes(), { health: stale })).allowed).toBe(true);
  });
});

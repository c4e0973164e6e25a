// Removals admitted but not yet shown by the informers (src/cluster/pending-removals.ts): the bounded, timed record,
// and the model counting them as done, so that the DELETEs of one command (`kubectl delete replicas r1 r2`, `kubectl
// delete node a b`, `kubectl delete machine a b`) see each other.
import { describe, expect, it } from 'vitest';
import { collectLastReplicaOnNode } from '../../../src/checks/last-replica-on-node.ts';
import { collectClaimsDeletedWith } from '../../../src/checks/pvc-delete.ts';
import { SINGLE_REPLICA_SET, VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { collectReplicaDeletion } from '../../../src/checks/storage-teardown.ts';
import { ClusterModel, type PendingChange } from '../../../src/cluster/model.ts';
import { PendingRemovals, removalKey } from '../../../src/cluster/pending-removals.ts';
import { longhornNode, machine, node, pv, pvc, replica, statefulSet, volume } from '../../support/fixtures.ts';

describe('PendingRemovals', () => {
  it('keeps an entry until its time is past, a renewed one from its renewal', () => {
    const record = new PendingRemovals<string>(60_000, 10);
    record.set('a', 'A', 0);
    record.set('b', 'B', 10_000);
    expect(record.expire(59_999)).toEqual([]);
    expect(record.get('a')).toBe('A');
    record.set('b', 'B2', 30_000);
    expect(record.expire(60_000)).toEqual(['A']);
    expect(record.expire(89_999)).toEqual([]);
    expect(record.expire(90_000)).toEqual(['B2']);
    expect(record.size).toBe(0);
  });

  it('holds at most its bound, forgetting the oldest first', () => {
    const record = new PendingRemovals<string>(60_000, 2);
    expect(record.set('a', 'A', 0)).toEqual([]);
    expect(record.set('b', 'B', 1)).toEqual([]);
    expect(record.set('c', 'C', 2)).toEqual(['A']);
    // Renewing moves an entry last: the next one pushed out is the other.
    expect(record.set('b', 'B', 3)).toEqual([]);
    expect(record.set('d', 'D', 4)).toEqual(['C']);
    expect([...record.values()]).toEqual(['B', 'D']);
    expect(record.delete('b')).toBe('B');
    expect(record.delete('b')).toBeUndefined();
    expect(record.size).toBe(1);
  });

  it('keys a node by how it goes, apart from its Machine', () => {
    expect(removalKey({ kind: 'node', name: 'w1', how: 'deleted' })).not.toBe(removalKey({ kind: 'node', name: 'w1', how: 'autoscaler' }));
    expect(removalKey({ kind: 'machine', namespace: 'ns', name: 'w1', node: 'w1' })).toBe('machine/ns/w1');
    expect(removalKey({ kind: 'longhornReplica', name: 'r1' })).toBe('longhornReplica/r1');
    // A StatefulSet by its uid: one re-created under the same name is another.
    expect(removalKey({ kind: 'statefulSet', namespace: 'ns', name: 'a', uid: 'u1' })).toBe('statefulSet/u1');
  });
});

const NODES = ['w1', 'w2', 'w3'];

/** A volume `v` with one healthy replica on w1 and one on w2 (w3 holds none); a clock the test moves. */
function twoCopies(options: { maxPendingRemovals?: number } = {}) {
  const clock = { now: Date.parse('2026-01-01T00:00:00Z'), reads: 0 };
  const model = new ClusterModel(VOLUME_SETS, {
    volumeCounts: VOLUME_COUNTS,
    now: () => {
      clock.reads++;
      return clock.now;
    },
    ...options,
  });
  model.setLonghornInstalled(true);
  model.replaceAll('node', NODES.map((name) => node({ name })));
  model.replaceAll('longhornNode', NODES.map((name) => longhornNode({ name })));
  model.upsert('longhornVolume', volume({ name: 'v', numberOfReplicas: 2 }));
  model.upsert('longhornReplica', replica({ volumeName: 'v', nodeID: 'w1' }));
  model.upsert('longhornReplica', replica({ volumeName: 'v', nodeID: 'w2' }));
  const changes: PendingChange[] = [];
  model.onPendingChange((change) => changes.push(change));
  return { model, clock, changes };
}

const r1 = replica({ volumeName: 'v', nodeID: 'w1' });
const r2 = replica({ volumeName: 'v', nodeID: 'w2' });

function replicaDeletionRefused(model: ClusterModel, target = r2): boolean {
  return collectReplicaDeletion(model, { replica: target }).findings.length > 0;
}

function lastCopyOn(model: ClusterModel, nodeName: string): string[] {
  return collectLastReplicaOnNode(model, { node: nodeName }).findings.map((finding) => finding.reason);
}

describe('the model with admitted replica removals', () => {
  it('counts a replica whose DELETE was admitted as being deleted, everywhere copies are counted', () => {
    const { model, changes } = twoCopies();
    expect(replicaDeletionRefused(model)).toBe(false);
    expect(lastCopyOn(model, 'w2')).toEqual([]);
    model.admitRemoval({ kind: 'longhornReplica', name: r1.name });
    // The second DELETE of `kubectl delete replicas r1 r2`: r2 is the last copy now.
    expect(replicaDeletionRefused(model)).toBe(true);
    // A retry of r1's own DELETE is judged on the others: r2 still holds a copy.
    expect(replicaDeletionRefused(model, r1)).toBe(false);
    // The model's sets and counts follow: a cordon of w2 and an upgrade see a single copy.
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'v')).toBe(true);
    expect(lastCopyOn(model, 'w2')).toEqual(['only healthy replica is on node w2']);
    expect(changes).toEqual([{ kind: 'longhornReplica', previous: r1, next: { ...r1, deleting: true } }]);
  });

  it('keeps counting it through informer updates that do not show the deletion, and ends when one does', () => {
    const { model } = twoCopies();
    model.admitRemoval({ kind: 'longhornReplica', name: r1.name });
    // A status update written before the DELETE, delivered after it was admitted.
    model.upsert('longhornReplica', { ...r1, currentState: 'stopped' });
    expect(model.replicasOfVolume('v').find((r) => r.name === r1.name)).toMatchObject({ currentState: 'stopped', deleting: true });
    expect(replicaDeletionRefused(model)).toBe(true);
    // Longhorn's finalizer holds it: the informer shows it being deleted.
    model.upsert('longhornReplica', { ...r1, deleting: true });
    expect(model.internalSizes()['pendingRemovals']).toBe(0);
    expect(replicaDeletionRefused(model)).toBe(true);
  });

  it('ends when the informer shows it gone', () => {
    const { model } = twoCopies();
    model.admitRemoval({ kind: 'longhornReplica', name: r1.name });
    model.remove('longhornReplica', `longhorn-system/${r1.name}`);
    expect(model.internalSizes()['pendingRemovals']).toBe(0);
    expect(replicaDeletionRefused(model)).toBe(true);
  });

  it('forgets it after its time (a DELETE refused further on), the informer record back', () => {
    const { model, clock, changes } = twoCopies();
    model.admitRemoval({ kind: 'longhornReplica', name: r1.name });
    model.upsert('longhornReplica', { ...r1, currentState: 'stopped' });
    clock.now += 59_999;
    model.expireRemovals();
    expect(replicaDeletionRefused(model)).toBe(true);
    clock.now += 1;
    model.expireRemovals();
    expect(replicaDeletionRefused(model)).toBe(false);
    expect(model.replicasOfVolume('v').find((r) => r.name === r1.name)).toEqual({ ...r1, currentState: 'stopped' });
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'v')).toBe(false);
    expect(changes.at(-1)).toEqual({ kind: 'longhornReplica', previous: { ...r1, currentState: 'stopped', deleting: true }, next: { ...r1, currentState: 'stopped' } });
    expect(model.internalSizes()['pendingRemovals']).toBe(0);
  });

  it('expires on the next informer write too', () => {
    const { model, clock } = twoCopies();
    model.admitRemoval({ kind: 'longhornReplica', name: r1.name });
    clock.now += 60_000;
    model.upsert('node', node({ name: 'w3', labels: { a: 'b' } }));
    expect(model.internalSizes()['pendingRemovals']).toBe(0);
    expect(replicaDeletionRefused(model)).toBe(false);
  });

  it('keeps at most its bound, the oldest forgotten and put back', () => {
    const { model } = twoCopies({ maxPendingRemovals: 1 });
    model.admitRemoval({ kind: 'longhornReplica', name: r1.name });
    model.admitRemoval({ kind: 'longhornReplica', name: r2.name });
    expect(model.internalSizes()['pendingRemovals']).toBe(1);
    expect(model.replicasOfVolume('v').map((r) => r.deleting)).toEqual([false, true]);
  });

  it('records nothing for a replica the informer shows gone or going already', () => {
    const { model } = twoCopies();
    model.admitRemoval({ kind: 'longhornReplica', name: 'unknown' });
    model.upsert('longhornReplica', { ...r1, deleting: true });
    model.admitRemoval({ kind: 'longhornReplica', name: r1.name });
    expect(model.internalSizes()['pendingRemovals']).toBe(0);
  });
});

describe('the model with admitted node removals', () => {
  it('counts no copy on a node whose DELETE was admitted, until it registers again', () => {
    const { model, changes } = twoCopies();
    model.admitRemoval({ kind: 'node', name: 'w1', how: 'deleted' });
    expect(model.nodeLeaving('w1')).toBe('deleted');
    expect(model.anyNodeLeaving()).toBe(true);
    expect(changes).toEqual([{ kind: 'node', node: 'w1' }]);
    // The second DELETE of `kubectl delete node w1 w2`: w2 holds the last copy.
    expect(lastCopyOn(model, 'w2')).toEqual(['only copy is on node w2 (its other healthy replicas are on node w1, which is being deleted)']);
    // A Replica DELETE counts none there either.
    expect(replicaDeletionRefused(model)).toBe(true);
    // The informer shows the Node gone: Longhorn still reports its node up until longhorn-manager sees it gone, so
    // the removal keeps counting.
    model.remove('node', 'w1');
    expect(model.nodeLeaving('w1')).toBe('deleted');
    expect(lastCopyOn(model, 'w2')).toHaveLength(1);
    // Its kubelet registers it again: the node is back with its disks.
    model.upsert('node', node({ name: 'w1' }));
    expect(model.nodeLeaving('w1')).toBeUndefined();
    expect(lastCopyOn(model, 'w2')).toEqual([]);
    expect(model.internalSizes()).toMatchObject({ pendingRemovals: 0, pendingRemovalNodes: 0 });
  });

  it('ignores the node coming back before the informer showed it gone (an update delivered late)', () => {
    const { model } = twoCopies();
    model.admitRemoval({ kind: 'node', name: 'w1', how: 'deleted' });
    model.upsert('node', node({ name: 'w1', labels: { late: 'update' } }));
    expect(model.nodeLeaving('w1')).toBe('deleted');
  });

  it("counts a node given an autoscaler's drain taint as leaving until the informer shows the taint", () => {
    const { model } = twoCopies();
    model.admitRemoval({ kind: 'node', name: 'w1', how: 'autoscaler' });
    expect(model.nodeLeaving('w1')).toBe('autoscaler');
    model.upsert('node', node({ name: 'w1', leaving: true, unschedulable: true }));
    expect(model.internalSizes()['pendingRemovals']).toBe(0);
    expect(model.nodeLeaving('w1')).toBe('autoscaler');
  });

  it("counts a Machine's node as leaving until the informer shows the Machine being deleted, and forgets it in time", () => {
    const { model, clock } = twoCopies();
    model.upsert('machine', machine({ namespace: 'capi', name: 'm1', nodeName: 'w1' }));
    model.upsert('machine', machine({ namespace: 'capi', name: 'm2', nodeName: 'w2' }));
    model.admitRemoval({ kind: 'machine', namespace: 'capi', name: 'm1', node: 'w1' });
    expect(model.nodeLeaving('w1')).toBe('machine');
    expect(lastCopyOn(model, 'w2')).toEqual(['only copy is on node w2 (its other healthy replicas are on node w1, whose Cluster API Machine is being deleted)']);
    model.upsert('machine', machine({ namespace: 'capi', name: 'm1', nodeName: 'w1', deleting: true }));
    expect(model.internalSizes()['pendingRemovals']).toBe(0);
    expect(model.nodeLeaving('w1')).toBe('machine');
    // Another, never shown deleted: forgotten after its time.
    model.admitRemoval({ kind: 'machine', namespace: 'capi', name: 'm2', node: 'w2' });
    expect(model.nodeLeaving('w2')).toBe('machine');
    clock.now += 60_000;
    model.expireRemovals();
    expect(model.nodeLeaving('w2')).toBeUndefined();
    expect(model.internalSizes()).toMatchObject({ pendingRemovals: 0, pendingRemovalNodes: 0 });
  });

  it('costs one size test while nothing is pending: no clock read, no lookup', () => {
    const { model, clock } = twoCopies();
    const before = clock.reads;
    for (let i = 0; i < 1000; i++) {
      model.expireRemovals();
      model.nodeLeaving('w1');
      model.anyNodeLeaving();
    }
    expect(clock.reads).toBe(before);
    expect(model.internalSizes()).toMatchObject({ pendingRemovals: 0, pendingRemovalNodes: 0 });
  });
});

describe('the model with admitted StatefulSet DELETEs', () => {
  const a = statefulSet({ namespace: 'shop', name: 'a' });
  const b = statefulSet({ namespace: 'shop', name: 'b' });
  const removalOf = (s: typeof a) => ({ kind: 'statefulSet', namespace: s.namespace, name: s.name, uid: s.uid }) as const;

  /** StatefulSets a and b, and a Bound PVC (PV reclaim Delete) whose ownerReferences name both. */
  function sharedClaim() {
    const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
    const model = new ClusterModel(VOLUME_SETS, { now: () => clock.now });
    model.upsert('statefulSet', a);
    model.upsert('statefulSet', b);
    model.upsert('persistentVolume', pv({ name: 'pv-data', claimNamespace: 'shop', claimName: 'data', reclaimPolicy: 'Delete' }));
    const owners = [a, b].map((s) => ({ kind: 'StatefulSet', name: s.name, uid: s.uid }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data', volumeName: 'pv-data', ownerReferences: owners }));
    return { model, clock };
  }

  /** The PVCs the garbage collector deletes with `s` (the findings of its DELETE). */
  const deletedWith = (model: ClusterModel, s: typeof a): string[] =>
    collectClaimsDeletedWith(model, { namespace: s.namespace, owner: { kind: 'StatefulSet', name: s.name, uid: s.uid }, now: 0 }).findings.map(
      (finding) => `${finding.object.namespace}/${finding.object.name}`,
    );

  it("counts a StatefulSet whose DELETE was admitted as no owner that stays, until the informer shows it going", () => {
    const { model } = sharedClaim();
    // Alone, b's DELETE keeps the claim: a still owns it.
    expect(deletedWith(model, b)).toEqual([]);
    model.admitRemoval(removalOf(a));
    expect(model.deletionAdmitted(a.uid)).toBe(true);
    expect(model.deletionAdmitted(b.uid)).toBe(false);
    // The second DELETE of `kubectl delete sts a b`: no owner stays.
    expect(deletedWith(model, b)).toEqual(['shop/data']);
    // The informer shows a being deleted (a foreground deletion): the entry ends, the record keeps answering.
    model.upsert('statefulSet', { ...a, deleting: true });
    expect(model.deletionAdmitted(a.uid)).toBe(false);
    expect(model.internalSizes()['pendingRemovals']).toBe(0);
    expect(deletedWith(model, b)).toEqual(['shop/data']);
  });

  it('ends the entry when the informer shows it gone, or another of that name in its place', () => {
    const { model } = sharedClaim();
    model.admitRemoval(removalOf(a));
    model.remove('statefulSet', 'shop/a');
    expect(model.deletionAdmitted(a.uid)).toBe(false);
    model.upsert('statefulSet', a);
    model.admitRemoval(removalOf(a));
    // Deleted and re-created before the informer caught up: the new one is no owner of the claim (its uid differs).
    model.upsert('statefulSet', { ...a, uid: 'uid-a-again' });
    expect(model.deletionAdmitted(a.uid)).toBe(false);
    expect(model.internalSizes()['pendingRemovals']).toBe(0);
  });

  it('counts one the informer has not shown created yet, forgets it in time, and records none shown going already', () => {
    const { model, clock } = sharedClaim();
    model.admitRemoval({ kind: 'statefulSet', namespace: 'shop', name: 'new', uid: 'uid-new' });
    expect(model.deletionAdmitted('uid-new')).toBe(true);
    // Its informer never shows it (its DELETE failed after volume-guard's answer): forgotten after its time.
    model.admitRemoval(removalOf(a));
    clock.now += 60_000;
    model.expireRemovals();
    expect(model.deletionAdmitted('uid-new')).toBe(false);
    expect(model.deletionAdmitted(a.uid)).toBe(false);
    expect(deletedWith(model, b)).toEqual([]);
    model.upsert('statefulSet', { ...a, deleting: true });
    model.admitRemoval(removalOf(a));
    model.admitRemoval({ kind: 'statefulSet', namespace: 'shop', name: 'a', uid: '' });
    expect(model.internalSizes()['pendingRemovals']).toBe(0);
  });

  it('counts a StatefulSet owned by one whose DELETE was admitted as going with it', () => {
    const { model } = sharedClaim();
    // b is owned by a: the garbage collector deletes b with a, then the claim.
    model.upsert('statefulSet', { ...b, ownerUids: [a.uid] });
    const c = statefulSet({ namespace: 'shop', name: 'c' });
    model.upsert('statefulSet', c);
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data', volumeName: 'pv-data', ownerReferences: [b, c].map((s) => ({ kind: 'StatefulSet', name: s.name, uid: s.uid })) }));
    expect(deletedWith(model, c)).toEqual([]);
    model.admitRemoval(removalOf(a));
    expect(deletedWith(model, c)).toEqual(['shop/data']);
  });
});

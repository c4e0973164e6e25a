// A Node deleted while its Longhorn node CR stays: the Node's instance-manager pod is garbage-collected with it, so
// its replicas stop at once, while longhorn-manager marks the Longhorn node down (KubernetesNodeGone) only later, or
// never where no longhorn-manager runs. From the moment the model sees the Node go, copies there no longer count.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { collectLastReplicaOnNode } from '../../../src/checks/last-replica-on-node.ts';
import { LAST_COPY_COUNT, SINGLE_REPLICA_SET, VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { volumeContext } from '../../../src/checks/affected.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { LonghornReplicaRecord } from '../../../src/cluster/records.ts';
import { defaultConfig } from '../../../src/config.ts';
import { RiskTracker } from '../../../src/observe/risks.ts';
import { context, cordonRequest } from '../../support/admission.ts';
import { longhornNode, node, replica, volume } from '../../support/fixtures.ts';

const on = (volumeName: string, nodeID: string): LonghornReplicaRecord => replica({ volumeName, nodeID, name: `${volumeName}-${nodeID}` });

/** Volume v with a healthy replica on w1 and on w2, both Nodes Ready, both Longhorn nodes present and up. */
function cluster() {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  const tracker = new RiskTracker(model);
  const sink = tracker.sink();
  sink.setLonghornInstalled(true);
  sink.replaceAll('node', [node({ name: 'w1' }), node({ name: 'w2' })]);
  sink.replaceAll('longhornNode', [longhornNode({ name: 'w1' }), longhornNode({ name: 'w2' })]);
  sink.replaceAll('longhornVolume', [volume({ name: 'v', numberOfReplicas: 2, currentNodeID: 'w1' })]);
  sink.replaceAll('longhornReplica', [on('v', 'w1'), on('v', 'w2')]);
  return { model, tracker, sink };
}

const cordon = nodeCordonValidator(defaultConfig());

/** The model's kept sets and counts equal the predicates evaluated afresh; the tracker's counts a fresh tracker's. */
function expectIncrementalEqualsRescan(model: ClusterModel, tracker: RiskTracker): void {
  for (const [name, predicate] of Object.entries(VOLUME_SETS)) {
    const fresh = [...model.longhornVolumes()].filter((v) => predicate(v, volumeContext(model, v.name))).map((v) => v.name);
    expect([...model.volumesInSet(name)].map((v) => v.name).sort()).toEqual(fresh.sort());
  }
  for (const [name, count] of Object.entries(VOLUME_COUNTS)) {
    const fresh = new Map<string, number>();
    for (const v of model.longhornVolumes()) {
      if (count.inSet !== undefined && !model.volumeInSet(count.inSet, v.name)) continue;
      for (const key of count.keys(v, volumeContext(model, v.name))) fresh.set(key, (fresh.get(key) ?? 0) + 1);
    }
    expect(new Map(model.volumeCountsByKey(name))).toEqual(fresh);
  }
  expect(tracker.flush()).toBe(true);
  const rescan = new RiskTracker(model);
  rescan.markAll();
  expect(rescan.flush()).toBe(true);
  expect(tracker.counts().atRiskVolumes).toEqual(rescan.counts().atRiskVolumes);
  expect(tracker.counts().nodesBlocked).toEqual(rescan.counts().nodesBlocked);
}

describe('a Node deleted while its Longhorn node CR stays', () => {
  it('holds no copy from its DELETE on: the cordon of the other node is refused, and allowed once it returns', () => {
    const { model, tracker, sink } = cluster();
    expect(collectLastReplicaOnNode(model, { node: 'w1' }).findings).toEqual([]);
    expect(cordon.handle(cordonRequest('w1'), context(model)).allowed).toBe(true);
    expectIncrementalEqualsRescan(model, tracker);

    sink.remove('node', 'w2');
    expect(model.nodeIsUp('w2')).toBe(false);
    expect(model.longhornNode('w2')?.down).toBe(false);
    const findings = collectLastReplicaOnNode(model, { node: 'w1' }).findings;
    expect(findings.map((f) => [f.object.name, f.reason])).toEqual([
      ['v', 'only copy is on node w1 (its other healthy replicas are on node w2, whose Node object was deleted)'],
    ]);
    expect(model.volumeCount(LAST_COPY_COUNT, 'w1')).toBe(1);
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'v')).toBe(true);
    const refused = cordon.handle(cordonRequest('w1'), context(model));
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toContain('whose Node object was deleted');
    expect(tracker.flush()).toBe(true);
    expect(tracker.counts().nodesBlocked['last-replica-on-node']).toBe(1);
    expectIncrementalEqualsRescan(model, tracker);

    // Registered again under the same name: up per its own state.
    sink.upsert('node', node({ name: 'w2' }));
    expect(model.nodeIsUp('w2')).toBe(true);
    expect(collectLastReplicaOnNode(model, { node: 'w1' }).findings).toEqual([]);
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'v')).toBe(false);
    expect(cordon.handle(cordonRequest('w1'), context(model)).allowed).toBe(true);
    expectIncrementalEqualsRescan(model, tracker);
    expect(tracker.counts().nodesBlocked['last-replica-on-node']).toBe(0);
    expect(model.internalSizes()['goneNodes']).toBe(0);
  });

  it('is gone too when a relist no longer shows it', () => {
    const { model, tracker, sink } = cluster();
    sink.replaceAll('node', [node({ name: 'w1' })]);
    expect(model.nodeIsUp('w2')).toBe(false);
    expect(collectLastReplicaOnNode(model, { node: 'w1' }).findings.map((f) => f.object.name)).toEqual(['v']);
    expectIncrementalEqualsRescan(model, tracker);
    sink.replaceAll('node', [node({ name: 'w1' }), node({ name: 'w2' })]);
    expect(model.nodeIsUp('w2')).toBe(true);
    expectIncrementalEqualsRescan(model, tracker);
  });

  it('a Node re-created NotReady is judged by its own state', () => {
    const { model, sink } = cluster();
    sink.remove('node', 'w2');
    sink.upsert('node', node({ name: 'w2', ready: 'Unknown', readySince: Date.now() }));
    expect(model.nodeIsUp('w2')).toBe(false);
    sink.upsert('node', node({ name: 'w2' }));
    expect(model.nodeIsUp('w2')).toBe(true);
  });

  it('forgets the name when its Longhorn node goes, or was never there', () => {
    const { model, tracker, sink } = cluster();
    sink.remove('node', 'w2');
    expect(model.internalSizes()['goneNodes']).toBe(1);
    sink.remove('longhornNode', 'longhorn-system/w2');
    expect(model.internalSizes()['goneNodes']).toBe(0);
    // Neither knows it: gone, as before.
    expect(model.nodeIsUp('w2')).toBe(false);
    expectIncrementalEqualsRescan(model, tracker);
    // A Node without a Longhorn node, deleted: nothing to remember.
    sink.upsert('node', node({ name: 'w3' }));
    sink.remove('node', 'w3');
    expect(model.internalSizes()['goneNodes']).toBe(0);
  });

  it('answers alike whether this process saw the Node go or started after it went', () => {
    const fill = (model: ClusterModel, nodes: string[]): void => {
      model.setLonghornInstalled(true);
      model.replaceAll('node', nodes.map((name) => node({ name })));
      model.replaceAll('longhornNode', [longhornNode({ name: 'w1' }), longhornNode({ name: 'w2' })]);
      model.replaceAll('longhornVolume', [volume({ name: 'v', numberOfReplicas: 2, currentNodeID: 'w1' })]);
      model.replaceAll('longhornReplica', [on('v', 'w1'), on('v', 'w2')]);
    };
    const running = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
    fill(running, ['w1', 'w2']);
    running.remove('node', 'w2');
    const fresh = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
    fill(fresh, ['w1']);
    expect(fresh.nodeIsUp('w2')).toBe(false);
    expect(cordon.handle(cordonRequest('w1'), context(fresh)).allowed).toBe(false);
    expect(cordon.handle(cordonRequest('w1'), context(running)).allowed).toBe(false);
    // The Node list arriving after the Longhorn lists turns the copies there down too.
    // A single-replica volume on w2 alone: only the tracker's marking of every node finds it has no copy left.
    const late = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
    const tracker = new RiskTracker(late);
    const sink = tracker.sink();
    sink.setLonghornInstalled(true);
    sink.replaceAll('longhornNode', [longhornNode({ name: 'w1' }), longhornNode({ name: 'w2' })]);
    sink.replaceAll('longhornVolume', [volume({ name: 'v', numberOfReplicas: 2, currentNodeID: 'w1' }), volume({ name: 'solo', numberOfReplicas: 1, currentNodeID: 'w2' })]);
    sink.replaceAll('longhornReplica', [on('v', 'w1'), on('v', 'w2'), on('solo', 'w2')]);
    sink.upsert('node', node({ name: 'w1' }));
    expectIncrementalEqualsRescan(late, tracker);
    expect(collectLastReplicaOnNode(late, { node: 'w1' }).findings).toEqual([]);
    const before = JSON.stringify(tracker.counts().atRiskVolumes);
    sink.replaceAll('node', [node({ name: 'w1' })]);
    expect(collectLastReplicaOnNode(late, { node: 'w1' }).findings.map((f) => f.object.name)).toEqual(['v']);
    expectIncrementalEqualsRescan(late, tracker);
    expect(JSON.parse(before)['single-replica']).toBe(1);
    expect(tracker.counts().atRiskVolumes['single-replica']).toBe(2);
  });

  it('before any Node list, a Longhorn node without a Node is judged by its CR alone', () => {
    const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
    model.setLonghornInstalled(true);
    model.replaceAll('longhornNode', [longhornNode({ name: 'w1' }), longhornNode({ name: 'w2' })]);
    model.replaceAll('longhornVolume', [volume({ name: 'v', numberOfReplicas: 2, currentNodeID: 'w1' })]);
    model.replaceAll('longhornReplica', [on('v', 'w1'), on('v', 'w2')]);
    expect(model.nodeIsUp('w2')).toBe(true);
    expect(collectLastReplicaOnNode(model, { node: 'w1' }).findings).toEqual([]);
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'v')).toBe(false);
    model.upsert('longhornNode', longhornNode({ name: 'w2', down: true }));
    expect(model.nodeIsUp('w2')).toBe(false);
    expect(collectLastReplicaOnNode(model, { node: 'w1' }).findings.map((f) => f.object.name)).toEqual(['v']);
  });
});

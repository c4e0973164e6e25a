// The gauges follow a NoExecute taint the way a cordon judges it: a copy on a node whose taint deletes Longhorn's
// instance-manager pod is no copy (instanceManagerEvictingTaints), so tainting node-b blocks node-a's cordon, and the
// instance manager there coming to tolerate the taint unblocks it. Counted as a tracker started afresh counts.
import { describe, expect, it } from 'vitest';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { Taint } from '../../../src/cluster/records.ts';
import { RiskTracker } from '../../../src/observe/risks.ts';
import { detachedVolume, longhornNode, node, pod, replica } from '../../support/fixtures.ts';

const MAINT: Taint = { key: 'maint', value: '', effect: 'NoExecute' };

function fresh(model: ClusterModel) {
  const tracker = new RiskTracker(model);
  tracker.markAll();
  expect(tracker.flush()).toBe(true);
  return tracker.counts();
}

describe('risk gauges and NoExecute taints', () => {
  it('re-count the other copy holder when a node is tainted, and when its instance manager tolerates the taint', () => {
    const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
    const tracker = new RiskTracker(model);
    const sink = tracker.sink();
    sink.setLonghornInstalled(true);
    for (const name of ['node-a', 'node-b', 'node-c']) {
      sink.upsert('node', node({ name, labels: { 'kubernetes.io/hostname': name } }));
      sink.upsert('longhornNode', longhornNode({ name }));
    }
    sink.upsert('longhornVolume', detachedVolume({ name: 'vol-2', numberOfReplicas: 2 }));
    for (const nodeID of ['node-a', 'node-b']) sink.upsert('longhornReplica', replica({ name: `vol-2-r-${nodeID}`, volumeName: 'vol-2', nodeID }));
    const instanceManager = (tolerating: boolean) =>
      pod({
        namespace: 'longhorn-system',
        name: 'instance-manager-b',
        nodeName: 'node-b',
        labels: { 'longhorn.io/component': 'instance-manager' },
        ...(tolerating ? { noExecuteTolerations: [{ key: 'maint', operator: 'Exists', value: '' }] } : {}),
      });
    sink.upsert('pod', instanceManager(false));
    expect(tracker.flush()).toBe(true);
    expect(tracker.counts().nodesBlocked['last-replica-on-node']).toBe(0);

    sink.upsert('node', node({ name: 'node-b', labels: { 'kubernetes.io/hostname': 'node-b' }, taints: [MAINT] }));
    expect(tracker.flush()).toBe(true);
    // node-a holds the only copy that runs: its cordon is refused.
    expect(tracker.counts().nodesBlocked['last-replica-on-node']).toBeGreaterThan(0);
    expect(tracker.counts().nodesBlocked).toEqual(fresh(model).nodesBlocked);

    sink.upsert('pod', instanceManager(true));
    expect(tracker.flush()).toBe(true);
    expect(tracker.counts().nodesBlocked['last-replica-on-node']).toBe(0);
    expect(tracker.counts().nodesBlocked).toEqual(fresh(model).nodesBlocked);
  });
});

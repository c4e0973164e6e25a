// A local PV whose affinity selects a label only one node carries (`example.com/disk In [ssd-1]`) is pinned to that
// node: the model resolves it when it stores the PV (a PV read alone names no node). The gauges' notes must mark the
// node the model resolved, not the one the PV record names (none): a PV arriving after the nodes, by a watch event or
// in a relist, left that node's `node-local-volume` count out until the 15-minute recount.
import { describe, expect, it } from 'vitest';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { RiskTracker } from '../../../src/observe/risks.ts';
import { node, pv, pvc } from '../../support/fixtures.ts';

const LOCAL = pv({
  name: 'pv-ssd',
  source: 'local',
  driver: '',
  storageClassName: 'local',
  claimNamespace: 'db',
  claimName: 'data',
  nodeAffinity: [{ matchExpressions: [{ key: 'example.com/disk', operator: 'In', values: ['ssd-1'] }], matchFields: [] }],
});

function tracked(): { model: ClusterModel; tracker: RiskTracker; sink: ReturnType<RiskTracker['sink']> } {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  const tracker = new RiskTracker(model);
  const sink = tracker.sink();
  sink.replaceAll('node', [node({ name: 'a', labels: { 'example.com/disk': 'ssd-1' } }), node({ name: 'b', labels: { 'example.com/disk': 'ssd-2' } })]);
  sink.replaceAll('persistentVolumeClaim', [pvc({ namespace: 'db', name: 'data', volumeName: 'pv-ssd', storageClassName: 'local' })]);
  tracker.flush();
  return { model, tracker, sink };
}

const blocked = (tracker: RiskTracker): number => {
  tracker.flush();
  return tracker.counts().nodesBlocked['node-local-volume'];
};

describe('gauges: a PV pinned by a label only one node carries', () => {
  it('the model pins it to that node', () => {
    const { model, sink } = tracked();
    sink.upsert('persistentVolume', LOCAL);
    expect(model.persistentVolume('pv-ssd')?.pinnedNode).toBe('a');
  });

  it('counts node a blocked when the PV arrives by a watch event after the nodes', () => {
    const { tracker, sink } = tracked();
    sink.upsert('persistentVolume', LOCAL);
    expect(blocked(tracker)).toBe(1);
  });

  it('counts node a blocked when the PV arrives in a relist over other PVs', () => {
    const { tracker, sink } = tracked();
    sink.replaceAll('persistentVolume', [pv({ name: 'pv-other' })]);
    expect(blocked(tracker)).toBe(0);
    sink.replaceAll('persistentVolume', [LOCAL]);
    expect(blocked(tracker)).toBe(1);
  });

  it('counts node a no more when the PV goes, and node b once the label moves there', () => {
    const { tracker, sink } = tracked();
    sink.upsert('persistentVolume', LOCAL);
    expect(blocked(tracker)).toBe(1);
    sink.upsert('node', node({ name: 'a', labels: {} }));
    sink.upsert('node', node({ name: 'b', labels: { 'example.com/disk': 'ssd-1' } }));
    expect(blocked(tracker)).toBe(1);
    sink.remove('persistentVolume', 'pv-ssd');
    expect(blocked(tracker)).toBe(0);
  });
});

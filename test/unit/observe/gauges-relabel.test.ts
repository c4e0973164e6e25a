// A node's label change re-pins a PV whose affinity names that label (ClusterModel #repinAround): the node the PV
// was pinned to before must be counted again, as a tracker started afresh counts it.
import { describe, expect, it } from 'vitest';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { RESOURCE_KINDS } from '../../../src/cluster/records.ts';
import { RiskTracker } from '../../../src/observe/risks.ts';
import { localPV, node, pod, pvc } from '../../support/fixtures.ts';

const DISK = 'storage.example.com/disk';

function fresh(model: ClusterModel) {
  const copy = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  const tracker = new RiskTracker(copy);
  const sink = tracker.sink();
  for (const kind of RESOURCE_KINDS) sink.replaceAll(kind, [...model.records(kind)] as never);
  tracker.markAll();
  expect(tracker.flush()).toBe(true);
  return tracker.counts();
}

describe('risk gauges follow PVs re-pinned by a node label change', () => {
  for (const withPod of [false, true]) {
    it(`another node gaining the label the PV's affinity names (${withPod ? 'a pod mounts it' : 'no pod'})`, () => {
      const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
      const tracker = new RiskTracker(model);
      const sink = tracker.sink();
      const n0 = node({ name: 'n0', labels: { 'kubernetes.io/hostname': 'n0', [DISK]: 'a' } });
      const n1 = node({ name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } });
      sink.replaceAll('node', [n0, n1]);
      const affinity = [{ matchExpressions: [{ key: DISK, operator: 'In', values: ['a'] }], matchFields: [] }];
      sink.replaceAll('persistentVolume', [localPV({ name: 'pv-a', pinnedNode: '', namedNode: '', nodeAffinity: affinity, claimNamespace: 'shop', claimName: 'data' })]);
      sink.replaceAll('persistentVolumeClaim', [pvc({ namespace: 'shop', name: 'data', volumeName: 'pv-a' })]);
      sink.replaceAll('pod', withPod ? [pod({ namespace: 'shop', name: 'db-0', nodeName: 'n0', claimNames: ['data'] })] : []);
      expect(tracker.flush()).toBe(true);
      expect(model.persistentVolume('pv-a')?.pinnedNode).toBe('n0');
      const before = tracker.counts();
      expect(before.atRiskVolumes['node-local-volume']).toBe(1);
      expect(before.nodesBlocked['node-local-volume']).toBe(1);

      // n1 now carries the label too: the PV can mount on either node, the model no longer pins it to n0.
      sink.upsert('node', { ...n1, labels: { ...n1.labels, [DISK]: 'a' } });
      expect(model.persistentVolume('pv-a')?.pinnedNode).toBe('');
      expect(tracker.flush()).toBe(true);
      const after = tracker.counts();
      const want = fresh(model);
      expect(after.atRiskVolumes).toEqual(want.atRiskVolumes);
      expect(after.nodesBlocked).toEqual(want.nodesBlocked);
    });
  }

  it('the other node losing the label (or being deleted): the PV is pinned again, its node blocked again', () => {
    for (const how of ['unlabel', 'delete'] as const) {
      const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
      const tracker = new RiskTracker(model);
      const sink = tracker.sink();
      const labelled = (name: string) => node({ name, labels: { 'kubernetes.io/hostname': name, [DISK]: 'a' } });
      sink.replaceAll('node', [labelled('n0'), labelled('n1'), node({ name: 'n2', labels: { 'kubernetes.io/hostname': 'n2' } })]);
      const affinity = [{ matchExpressions: [{ key: DISK, operator: 'In', values: ['a'] }], matchFields: [] }];
      sink.replaceAll('persistentVolume', [localPV({ name: 'pv-a', pinnedNode: '', namedNode: '', nodeAffinity: affinity, claimNamespace: 'shop', claimName: 'data' })]);
      sink.replaceAll('persistentVolumeClaim', [pvc({ namespace: 'shop', name: 'data', volumeName: 'pv-a' })]);
      expect(tracker.flush()).toBe(true);
      expect(model.persistentVolume('pv-a')?.pinnedNode).toBe('');
      expect(tracker.counts().nodesBlocked['node-local-volume']).toBe(0);
      if (how === 'unlabel') sink.upsert('node', node({ name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } }));
      else sink.remove('node', 'n1');
      // Only n0 can mount it now: the local PV's data is n0's, and so is what cordoning n0 would hit.
      expect(model.persistentVolume('pv-a')?.pinnedNode).toBe('n0');
      expect(tracker.flush()).toBe(true);
      const want = fresh(model);
      expect(want.nodesBlocked['node-local-volume'], how).toBe(1);
      expect(tracker.counts().nodesBlocked, how).toEqual(want.nodesBlocked);
      expect(tracker.counts().atRiskVolumes, how).toEqual(want.atRiskVolumes);
    }
  });
});

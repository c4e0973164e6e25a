// An upgrade of some nodes judges a degraded volume by the nodes holding its copies, as a cordon does
// (healthyCopyNodes): an upgrade of node-3 passes volume v, whose live copy is on node-1 (not upgraded) and whose other
// replica is on dead node-2, as cordoning node-3 (or node-2) does.
import { describe, expect, it } from 'vitest';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { collectVolumeHealth } from '../../../src/checks/volume-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { longhornNode, node, pv, volumeWithReplicas } from '../../support/fixtures.ts';

function cluster(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['node-1', 'node-2', 'node-3']) {
    model.upsert('node', name === 'node-2' ? node({ name, ready: 'Unknown', readySince: Date.now() - 3_600_000 }) : node({ name }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  const { volume, replicas } = volumeWithReplicas('v', ['node-1', 'node-2']);
  model.upsert('longhornVolume', { ...volume, robustness: 'degraded' });
  for (const replica of replicas) model.upsert('longhornReplica', replica);
  model.upsert('persistentVolume', pv({ name: 'v' }));
  return model;
}

describe('volume-health, upgrade of nodes holding none of a degraded volume', () => {
  it('agrees with the cordons of the same nodes', () => {
    const m = cluster();
    expect(collectVolumeHealth(m, { node: 'node-3' }).findings.length).toBe(0);
    expect(collectVolumeHealth(m, { node: 'node-2' }).findings.length).toBe(0);
    expect(collectVolumeHealth(m, { nodes: ['node-3'] }).findings.length).toBe(0);
  });
});

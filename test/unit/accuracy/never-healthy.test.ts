// A Longhorn volume created and never attached: its replica is scheduled on a node (spec.nodeID) but never ran, so
// spec.healthyAt was never set and no node holds any of its data. A cordon (and the drain after it) of that node
// loses nothing of it. An upgrade still reports it when numberOfReplicas is 1, as Harvester's own check does: it will
// hold data on one node as soon as it is attached.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { SINGLE_REPLICA_COUNT, VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, harvesterUpgradeRequest } from '../../support/admission.ts';
import { detachedVolume, longhornNode, node, replica } from '../../support/fixtures.ts';

const config = defaultConfig();

function cluster(replicaFields: Parameters<typeof replica>[0]) {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  model.upsert('node', node({ name: 'node-1' }));
  model.upsert('longhornNode', longhornNode({ name: 'node-1' }));
  model.upsert('longhornVolume', detachedVolume({ name: 'vol-new', numberOfReplicas: 1 }));
  model.upsert('longhornReplica', replica({ volumeName: 'vol-new', nodeID: 'node-1', desireState: 'stopped', currentState: 'stopped', ...replicaFields }));
  return model;
}

describe('a numberOfReplicas 1 volume that never held data', () => {
  it('ties no node: its cordon passes; the upgrade still names it', () => {
    const model = cluster({ healthyAt: '' });
    expect(model.volumeCount(SINGLE_REPLICA_COUNT, 'node-1')).toBe(0);
    const cordon = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model));
    expect(cordon.status?.message).toBeUndefined();
    expect(cordon.allowed).toBe(true);
    expect(upgradeValidator(config).handle(harvesterUpgradeRequest(), context(model)).status?.message).toContain('vol-new');
  });

  it('a replica that failed before ever being healthy holds no data either', () => {
    const model = cluster({ healthyAt: '', failedAt: '2024-05-02T10:00:00Z' });
    expect(nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model)).allowed).toBe(true);
  });

  it('once attached and healthy (then detached again), its data is on node-1: the cordon is refused', () => {
    const model = cluster({});
    expect(model.volumeCount(SINGLE_REPLICA_COUNT, 'node-1')).toBe(1);
    const cordon = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model));
    expect(cordon.allowed).toBe(false);
    expect(cordon.status?.message).toContain('[single-replica]');
  });
});

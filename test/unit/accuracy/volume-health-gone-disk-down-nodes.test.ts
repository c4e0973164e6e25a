// A degraded volume whose replica on the one node that is up sits on a disk gone from that node (seed 002: no copy
// there), its other healthy replicas on nodes that are down: the down nodes' replicas are all that is left to salvage
// from, and their nodes still count at a cordon (healthyCopyNodes) while the gone-disk replica's node keeps its key.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { VOLUME_COUNTS, VOLUME_HEALTH_COUNT, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { collectVolumeHealth } from '../../../src/checks/volume-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest } from '../../support/admission.ts';
import { longhornNode, node, pv, volumeWithReplicas } from '../../support/fixtures.ts';

const DOWN = ['node-2', 'node-3'];

function cluster(counted = true): ClusterModel {
  const model = counted ? new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS }) : new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  for (const name of ['node-1', 'node-2', 'node-3', 'node-4']) {
    model.upsert('node', DOWN.includes(name) ? node({ name, ready: 'Unknown', readySince: Date.now() - 3_600_000 }) : node({ name }));
    // node-1's disk was replaced: its replica of v points at a disk the node no longer has.
    model.upsert('longhornNode', name === 'node-1' ? longhornNode({ name, diskUUIDs: ['disk-new'] }) : longhornNode({ name }));
  }
  const { volume, replicas } = volumeWithReplicas('v', ['node-1', 'node-2', 'node-3']);
  model.upsert('longhornVolume', { ...volume, robustness: 'degraded' });
  for (const replica of replicas) model.upsert('longhornReplica', replica);
  model.upsert('persistentVolume', pv({ name: 'v' }));
  return model;
}

describe('volume-health, down nodes holding the only real copies', () => {
  it('counts the down nodes: the up node\'s replica is on a gone disk', () => {
    expect(cluster().volumeCount(VOLUME_HEALTH_COUNT, 'node-2')).toBe(1);
    expect(collectVolumeHealth(cluster(false), { node: 'node-2' }).findings.length).toBe(1);
  });

  it('refuses the cordon of a down node holding one of the last copies, single-replica skipped', () => {
    const skip = { 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-reason': 'r', 'volume-guard.io/skip-by': 'admin' };
    const decision = nodeCordonValidator(defaultConfig()).handle(cordonRequest('node-2', skip), context(cluster()));
    expect(decision.allowed, JSON.stringify(decision)).toBe(false);
  });
});

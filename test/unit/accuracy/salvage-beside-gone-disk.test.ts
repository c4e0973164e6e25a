// A volume whose only healthy replica sits on a disk that is gone (reformatted, seed 002) keeps its data
// only in a replica that failed earlier but held data (healthyAt set). longhorn-manager's auto-salvage
// (controller/volume_controller.go, ReconcileVolumeState: `if r.Spec.HealthyAt == "" continue` ... replicas on a
// down node or on a disk that is not schedulable are skipped) can only bring back the failed replica on node-2:
// the one on node-1 has no disk left. So node-2 holds the only data of the volume.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { collectSingleReplica } from '../../../src/checks/single-replica.ts';
import { collectLastReplicaOnNode } from '../../../src/checks/last-replica-on-node.ts';
import { collectReplicaDeletion } from '../../../src/checks/storage-teardown.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest } from '../../support/admission.ts';
import { failedReplica, longhornNode, node, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();

function cluster() {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['node-1', 'node-2', 'node-3']) {
    model.upsert('node', node({ name }));
    // node-1 was rebuilt: its disk has a new UUID.
    model.upsert('longhornNode', longhornNode({ name, ...(name === 'node-1' ? { diskUUIDs: ['disk-node-1-new'] } : {}) }));
  }
  model.upsert('longhornVolume', volume({ name: 'vol-a', numberOfReplicas: 2, state: 'detached', robustness: 'unknown', currentNodeID: '' }));
  // Still "healthy" by its spec, but its disk (disk-node-1) is gone: no data.
  model.upsert('longhornReplica', replica({ volumeName: 'vol-a', nodeID: 'node-1', currentState: 'stopped', desireState: 'stopped' }));
  // Failed earlier after holding data: all that is left of the volume.
  model.upsert('longhornReplica', failedReplica({ volumeName: 'vol-a', nodeID: 'node-2' }));
  return model;
}

describe('the failed replica that holds the only data left, beside a healthy one on a disk that is gone', () => {
  it('single-replica places the data on node-2, not on node-1 whose disk is gone', () => {
    const model = cluster();
    expect(collectSingleReplica(model, { node: 'node-2' }).findings.map((f) => f.object.name)).toEqual(['vol-a']);
  });

  it('the cordon of node-2 is refused', () => {
    const model = cluster();
    const decision = nodeCordonValidator(config).handle(cordonRequest('node-2'), context(model));
    expect(decision.allowed).toBe(false);
  });

  it('the eviction-side last-replica check finds the data stranded on node-2', () => {
    const model = cluster();
    expect(collectLastReplicaOnNode(model, { node: 'node-2', volumes: ['vol-a'] }).findings.map((f) => f.object.name)).toEqual(['vol-a']);
  });

  it('a DELETE of the failed replica on node-2 is refused: it holds the only data left', () => {
    const model = cluster();
    const target = model.replicasOfVolume('vol-a').find((r) => r.nodeID === 'node-2')!;
    expect(collectReplicaDeletion(model, { replica: target }).findings.length).toBe(1);
  });
});

describe('the same with the healthy replica on a node that no longer exists (neither Node nor Longhorn node)', () => {
  it('the cordon of node-2 is refused', () => {
    const model = cluster();
    model.remove('node', 'node-1');
    model.remove('longhornNode', 'longhorn-system/node-1');
    expect(model.nodeIsUp('node-1')).toBe(false);
    const decision = nodeCordonValidator(config).handle(cordonRequest('node-2'), context(model));
    expect(decision.allowed).toBe(false);
  });
});

describe('what the refusal says', () => {
  it('names node-2 as where the data is and node-1 as the disk that is gone', () => {
    const model = cluster();
    const decision = nodeCordonValidator(config).handle(cordonRequest('node-2'), context(model));
    const message = decision.status?.message ?? '';
    expect(message).toContain('its only copy is on node-2');
    expect(message).toContain('its healthy replica is on node node-1, on disk disk-node-1 that is gone; its data is left in failed replicas on node node-2');
    // No healthy replica to rebuild from, none coming back: salvage, not a wait for a rebuild.
    expect(message).toContain('salvage the volume from them');
    expect(message).not.toContain('wait until Longhorn has rebuilt');
  });
});

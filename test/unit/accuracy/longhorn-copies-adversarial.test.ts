// Layouts of Longhorn replicas checked against longhorn-manager's own reading (controller/volume_controller.go), that
// volume-guard already judged right when tried: kept here so that they stay so.
// - a replica with spec.failedAt set whose process still runs: Longhorn counts it nowhere (isHealthyAndActiveReplica);
// - a replica added by raising numberOfReplicas, still rebuilding (mode WO, no healthyAt until the engine reports it
//   RW), and a failed replica reused for a rebuild (replenishReplicas clears its healthyAt): no copy yet;
// - a replica on a disk whose eviction was requested, or on a Longhorn node refusing new replicas: still a copy until
//   Longhorn has rebuilt it elsewhere (cleanupEvictionRequestedReplicas keeps the last healthy one);
// - the engine on another node than the replicas: that node holds no data;
// - two healthy replicas on one node (soft anti-affinity): one copy.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { SINGLE_REPLICA_SET, VOLUME_COUNTS, VOLUME_HEALTH_SET, VOLUME_SETS, countCopies } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { LonghornNodeRecord, LonghornReplicaRecord, LonghornVolumeRecord } from '../../../src/cluster/records.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest } from '../../support/admission.ts';
import { defaultDiskUUID, failedReplica, longhornNode, node, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();
const cordon = (model: ClusterModel, name: string) => nodeCordonValidator(config).handle(cordonRequest(name), context(model));

function cluster(volumes: readonly LonghornVolumeRecord[], replicas: readonly LonghornReplicaRecord[], lhNodes: Partial<Record<string, Partial<LonghornNodeRecord>>> = {}) {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['w1', 'w2', 'w3']) {
    model.upsert('node', node({ name }));
    model.upsert('longhornNode', longhornNode({ name, ...lhNodes[name] }));
  }
  model.replaceAll('longhornVolume', volumes);
  model.replaceAll('longhornReplica', replicas);
  return model;
}

describe('Longhorn layouts volume-guard reads as longhorn-manager does', () => {
  it('a replica with failedAt set, its process still running, is no copy', () => {
    const replicas = [replica({ volumeName: 'db', nodeID: 'w1' }), failedReplica({ volumeName: 'db', nodeID: 'w2', currentState: 'running', desireState: 'running' })];
    const model = cluster([volume({ name: 'db', numberOfReplicas: 2, currentNodeID: 'w1', robustness: 'degraded' })], replicas);
    expect(countCopies(replicas, () => true)).toBe(1);
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'db')).toBe(true);
    expect(cordon(model, 'w1').allowed).toBe(false);
    // The failed one's node holds nothing to keep.
    expect(cordon(model, 'w2').allowed).toBe(true);
  });

  it('numberOfReplicas raised to 3, the new replica still rebuilding on w3: two copies; w3 holds none', () => {
    const replicas = [
      replica({ volumeName: 'db', nodeID: 'w1' }),
      replica({ volumeName: 'db', nodeID: 'w2' }),
      replica({ volumeName: 'db', nodeID: 'w3', healthyAt: '' }),
    ];
    const model = cluster([volume({ name: 'db', numberOfReplicas: 3, currentNodeID: 'w1', robustness: 'degraded' })], replicas);
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'db')).toBe(false);
    // Degraded while it rebuilds: a cordon taking one of the two copies waits for the rebuild (volume-health).
    expect(model.volumeInSet(VOLUME_HEALTH_SET, 'db')).toBe(true);
    const decision = cordon(model, 'w1');
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('[volume-health]');
    expect(decision.status?.message).not.toContain('[last-replica-on-node]');
    expect(cordon(model, 'w3').allowed).toBe(true);
  });

  it('a failed replica reused for a rebuild (healthyAt cleared, lastFailedAt kept) is no copy', () => {
    const replicas = [replica({ volumeName: 'db', nodeID: 'w1' }), replica({ volumeName: 'db', nodeID: 'w2', healthyAt: '', lastFailedAt: '2024-05-02T10:00:00Z' })];
    const model = cluster([volume({ name: 'db', numberOfReplicas: 2, currentNodeID: 'w1', robustness: 'degraded' })], replicas);
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'db')).toBe(true);
    expect(cordon(model, 'w2').allowed).toBe(true);
  });

  it('a copy on a disk being evicted, or on a Longhorn node refusing replicas, is still a copy', () => {
    const replicas = [replica({ volumeName: 'db', nodeID: 'w1' }), replica({ volumeName: 'db', nodeID: 'w2' })];
    const model = cluster([volume({ name: 'db', numberOfReplicas: 2, currentNodeID: 'w1' })], replicas, {
      w2: { evictingDiskUUIDs: [defaultDiskUUID('w2')], refusesReplicas: true },
    });
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'db')).toBe(false);
    expect(cordon(model, 'w1').allowed).toBe(true);
  });

  it('the engine on w3, the replicas on w1 and w2: the cordon of w3 passes', () => {
    const replicas = [replica({ volumeName: 'db', nodeID: 'w1' }), replica({ volumeName: 'db', nodeID: 'w2' })];
    const model = cluster([volume({ name: 'db', numberOfReplicas: 2, currentNodeID: 'w3' })], replicas);
    expect(cordon(model, 'w3').allowed).toBe(true);
  });

  it('two healthy replicas on w1 (soft anti-affinity) are one copy: the cordon of w1 is refused', () => {
    const replicas = [replica({ volumeName: 'db', nodeID: 'w1', name: 'db-r-a' }), replica({ volumeName: 'db', nodeID: 'w1', name: 'db-r-b' })];
    const model = cluster([volume({ name: 'db', numberOfReplicas: 2, currentNodeID: 'w1', replicaSoftAntiAffinity: 'enabled' })], replicas);
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'db')).toBe(true);
    const decision = cordon(model, 'w1');
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('[last-replica-on-node]');
  });
});

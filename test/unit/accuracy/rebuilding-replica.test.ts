// A replica Longhorn is still rebuilding (spec.healthyAt empty, mode WO) holds no copy of the data yet. A degraded
// volume rebuilding onto node-1 from its healthy replicas on node-2 and node-3 loses nothing when node-1 is drained:
// the rebuild stops and Longhorn starts it again elsewhere, the copies on node-2 and node-3 untouched. Only the nodes
// holding a healthy replica tie an unhealthy volume to their cordon.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { VOLUME_COUNTS, VOLUME_HEALTH_COUNT, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { collectVolumeHealth } from '../../../src/checks/volume-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest } from '../../support/admission.ts';
import { longhornNode, node, pod, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();

function cluster(rebuilding: Parameters<typeof replica>[0]) {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['node-1', 'node-2', 'node-3']) {
    model.upsert('node', node({ name }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  model.upsert('longhornVolume', volume({ name: 'vol-deg', numberOfReplicas: 3, robustness: 'degraded', currentNodeID: 'node-2' }));
  model.upsert('longhornReplica', replica({ volumeName: 'vol-deg', nodeID: 'node-2' }));
  model.upsert('longhornReplica', replica({ volumeName: 'vol-deg', nodeID: 'node-3' }));
  model.upsert('longhornReplica', replica({ volumeName: 'vol-deg', nodeID: 'node-1', ...rebuilding }));
  return model;
}

const REBUILDING = { healthyAt: '', failedAt: '', currentState: 'running' };
const cordon = (model: ClusterModel, name: string) => nodeCordonValidator(config).handle(cordonRequest(name), context(model));

describe('a replica still rebuilding ties no node to its degraded volume', () => {
  it('the cordon of the node it rebuilds onto passes; the cordon of a node with a healthy copy is refused', () => {
    const model = cluster(REBUILDING);
    expect(model.volumeCount(VOLUME_HEALTH_COUNT, 'node-1')).toBe(0);
    expect(collectVolumeHealth(model, { node: 'node-1' }).findings).toEqual([]);
    const onNode1 = cordon(model, 'node-1');
    expect(onNode1.status?.message).toBeUndefined();
    expect(onNode1.allowed).toBe(true);
    const onNode2 = cordon(model, 'node-2');
    expect(onNode2.allowed).toBe(false);
    expect(onNode2.status?.message).toContain('[volume-health]');
    expect(onNode2.status?.message).toContain('robustness is degraded');
    // The upgrade still sees the degraded volume.
    expect(collectVolumeHealth(model, {}).findings.map((finding) => finding.object.name)).toEqual(['vol-deg']);
  });

  it("the drain's evictions on that node pass too", () => {
    const model = cluster(REBUILDING);
    model.upsert('node', node({ name: 'node-1', unschedulable: true }));
    model.upsert('pod', pod({ name: 'web-1', nodeName: 'node-1', controllerKind: 'ReplicaSet' }));
    expect(podEvictionValidator(config).handle(evictionRequest('web-1'), context(model)).allowed).toBe(true);
  });

  it('once the replica is healthy (healthyAt set) but stopped while the volume is attached, node-1 is tied again', () => {
    const model = cluster({ currentState: 'stopped' });
    expect(model.volumeCount(VOLUME_HEALTH_COUNT, 'node-1')).toBe(1);
    const onNode1 = cordon(model, 'node-1');
    expect(onNode1.allowed).toBe(false);
    expect(onNode1.status?.message).toContain('is stopped on node node-1');
  });
});

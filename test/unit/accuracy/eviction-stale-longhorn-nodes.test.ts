// An eviction of a pod whose Longhorn volume has its other copy on a node Longhorn reports down reads Longhorn's nodes
// (last-replica-on-node asks whether the other copy's node is up): while that informer is stale, the answer is
// unknown, not judged on the old node state.
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, evictionRequest } from '../../support/admission.ts';
import { longhornNode, node, pod, pv, pvc, volumeWithReplicas } from '../../support/fixtures.ts';

/** db on node-1, its volume's other copy on node-2, which Longhorn reports down or not. */
function cluster(node2Down: boolean): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  model.upsert('node', node({ name: 'node-1' }));
  model.upsert('node', node({ name: 'node-2' }));
  model.upsert('longhornNode', longhornNode({ name: 'node-1' }));
  model.upsert('longhornNode', longhornNode({ name: 'node-2', down: node2Down }));
  model.upsert('persistentVolume', pv({ name: 'pv-data', claimName: 'data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'data', volumeName: 'pv-data' }));
  const lh = volumeWithReplicas('pv-data', ['node-1', 'node-2'], { pvcNamespace: 'default', pvcName: 'data', pvName: 'pv-data', state: 'attached', robustness: 'degraded' });
  model.upsert('longhornVolume', lh.volume);
  lh.replicas.forEach((r, i) => model.upsert('longhornReplica', { ...r, name: `r-${i}` }));
  model.upsert('pod', pod({ name: 'db', nodeName: 'node-1', claimNames: ['data'], controllerKind: 'StatefulSet' }));
  return model;
}

const validator = podEvictionValidator(defaultConfig());
const staleLonghornNodes = { synced: () => true, staleResources: () => ['nodes.longhorn.io'] };

describe('eviction while the Longhorn-node informer is stale', () => {
  it('is refused as unknown, where the live state (the other copy down) refuses it', () => {
    const live = validator.handle(evictionRequest('db', { namespace: 'default' }), context(cluster(true)));
    expect(live.allowed).toBe(false);
    const stale = validator.handle(evictionRequest('db', { namespace: 'default' }), context(cluster(false), { health: staleLonghornNodes }));
    expect(stale.allowed).toBe(false);
    expect(stale.status?.message).toContain('stale (nodes.longhorn.io)');
  });

  it('a pod without claims does not wait for Longhorn: still allowed', () => {
    const model = cluster(false);
    model.upsert('pod', pod({ name: 'web', nodeName: 'node-1' }));
    expect(validator.handle(evictionRequest('web', { namespace: 'default' }), context(model, { health: staleLonghornNodes })).allowed).toBe(true);
  });
});

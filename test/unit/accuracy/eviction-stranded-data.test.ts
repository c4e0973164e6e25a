// The eviction is the real gate of a drain (a refused cordon does not stop `kubectl drain`). A pod whose Longhorn
// volume has no copy left, its only data on the pod's node (that node down past the grace, or the volume's one
// replica there failed, which Longhorn can still salvage), loses that data with the node as surely as one whose last
// healthy replica is there: the eviction is refused, as the cordon is.
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest } from '../../support/admission.ts';
import { failedReplica, longhornNode, node, pod, pv, pvc, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();

function cluster(options: { w1Up: boolean; failed?: boolean; copyOnW2?: 'up' | 'down' }): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  // Down: Unknown since long before the grace.
  model.upsert('node', node({ name: 'w1', ready: options.w1Up ? 'True' : 'Unknown', labels: { 'kubernetes.io/hostname': 'w1' } }));
  model.upsert('node', node({ name: 'w2', ready: options.copyOnW2 === 'down' ? 'Unknown' : 'True', labels: { 'kubernetes.io/hostname': 'w2' } }));
  model.upsert('longhornNode', longhornNode({ name: 'w1', down: !options.w1Up }));
  model.upsert('longhornNode', longhornNode({ name: 'w2', down: options.copyOnW2 === 'down' }));
  model.upsert('longhornVolume', volume({ name: 'vol', numberOfReplicas: options.copyOnW2 ? 2 : 1, currentNodeID: 'w1', pvName: 'vol', pvcNamespace: 'app', pvcName: 'db', robustness: options.failed ? 'faulted' : 'healthy' }));
  model.upsert('longhornReplica', options.failed ? failedReplica({ volumeName: 'vol', nodeID: 'w1' }) : replica({ volumeName: 'vol', nodeID: 'w1' }));
  if (options.copyOnW2) model.upsert('longhornReplica', replica({ volumeName: 'vol', nodeID: 'w2' }));
  model.upsert('persistentVolume', pv({ name: 'vol', claimNamespace: 'app', claimName: 'db' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: 'app', name: 'db', volumeName: 'vol' }));
  model.upsert('pod', pod({ namespace: 'app', name: 'db-0', nodeName: 'w1', claimNames: ['db'], controllerKind: 'StatefulSet' }));
  return model;
}

const evict = (model: ClusterModel) => podEvictionValidator(config).handle(evictionRequest('db-0', { namespace: 'app' }), context(model));

describe("the eviction of a pod whose volume's only data is on the pod's node", () => {
  it('is refused when that node is down, as the cordon is, naming where the data is', () => {
    const model = cluster({ w1Up: false });
    expect(nodeCordonValidator(config).handle(cordonRequest('w1'), context(model)).allowed).toBe(false);
    const decision = evict(model);
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('[last-replica-on-node]');
    expect(decision.status?.message).toContain('on node w1, down');
  });

  it('is refused when its one replica there failed (Longhorn can salvage it from that node only)', () => {
    const decision = evict(cluster({ w1Up: true, failed: true }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('failed replica on node w1');
  });

  it('is allowed while a copy is on another node that is up; refused while that node is down too and w1 holds the healthy one', () => {
    expect(evict(cluster({ w1Up: false, copyOnW2: 'up' })).allowed).toBe(true);
    // Both down: the data is on two nodes; losing w1 leaves w2's.
    expect(evict(cluster({ w1Up: false, copyOnW2: 'down' })).allowed).toBe(true);
    // w1 up with the only copy: the usual last healthy replica.
    expect(evict(cluster({ w1Up: true, copyOnW2: 'down' })).allowed).toBe(false);
  });
});

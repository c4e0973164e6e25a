// A replica that failed while Longhorn was still rebuilding it never held the volume's data: its spec.healthyAt was
// never set. longhorn-manager's auto-salvage (volume_controller.go, ReconcileVolumeState) brings back only the failed
// replicas with healthyAt set, and cleanupCorruptedOrStaleReplicas deletes the others. So a faulted volume whose data
// survives in a failed replica on w1, next to a replica that failed mid-rebuild on w2, has its data on w1 alone: the
// cordon of w2 loses nothing, and the eviction of its pod from w1 loses everything.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { SINGLE_REPLICA_COUNT, VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { collectSingleReplica } from '../../../src/checks/single-replica.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest } from '../../support/admission.ts';
import { failedReplica, longhornNode, node, pod, pv, pvc, volume } from '../../support/fixtures.ts';

const config = defaultConfig();

function cluster(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['w1', 'w2']) {
    model.upsert('node', node({ name, labels: { 'kubernetes.io/hostname': name } }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  model.upsert(
    'longhornVolume',
    volume({ name: 'vol', numberOfReplicas: 2, robustness: 'faulted', state: 'attaching', currentNodeID: 'w1', pvName: 'vol', pvcNamespace: 'app', pvcName: 'db' }),
  );
  model.upsert('longhornReplica', failedReplica({ volumeName: 'vol', nodeID: 'w1' }));
  model.upsert('longhornReplica', failedReplica({ volumeName: 'vol', nodeID: 'w2', healthyAt: '' }));
  model.upsert('persistentVolume', pv({ name: 'vol', claimNamespace: 'app', claimName: 'db' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: 'app', name: 'db', volumeName: 'vol' }));
  model.upsert('pod', pod({ namespace: 'app', name: 'db-0', nodeName: 'w1', claimNames: ['db'], controllerKind: 'StatefulSet' }));
  return model;
}

describe('a faulted volume whose only data is a failed replica on w1, next to one that failed while rebuilding on w2', () => {
  it('ties only w1: the cordon of w2 passes, the cordon of w1 is refused', () => {
    const model = cluster();
    expect(model.volumeCount(SINGLE_REPLICA_COUNT, 'w2')).toBe(0);
    expect(model.volumeCount(SINGLE_REPLICA_COUNT, 'w1')).toBe(1);
    const cordonW2 = nodeCordonValidator(config).handle(cordonRequest('w2'), context(model));
    expect(cordonW2.status?.message).toBeUndefined();
    expect(cordonW2.allowed).toBe(true);
    expect(nodeCordonValidator(config).handle(cordonRequest('w1'), context(model)).allowed).toBe(false);
  });

  it('names w1 alone as where its data is', () => {
    const [finding] = collectSingleReplica(cluster(), {}).findings;
    expect(finding?.object.node).toBe('w1');
    expect(finding?.reason).not.toContain('w2');
  });

  it("refuses the eviction of its pod from w1, the only node with its data", () => {
    const decision = podEvictionValidator(config).handle(evictionRequest('db-0', { namespace: 'app' }), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('failed replica on node w1');
  });
});

// A Longhorn node whose longhorn-manager pod is gone (its DaemonSet pod deleted, evicted, or crash-looping away):
// longhorn-manager's node controller sets the node's Ready condition False with reason ManagerPodMissing (or
// ManagerPodDown while the pod exists but does not run). Neither is "down or deleted" to Longhorn: its
// IsNodeDownOrDeleted reads only KubernetesNodeGone and KubernetesNodeNotReady, and uses the manager's absence
// (IsNodeDownOrDeletedOrMissingManager) only to hand the node's objects to another manager (isControllerResponsibleFor)
// and to keep orphan data. The replica processes run in the instance-manager pod, not in longhorn-manager, and the
// data stays on the node's disk: a healthy replica there is a copy. Longhorn's own node webhook lets a Longhorn node
// in that state be deleted only with no replica or engine on it.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { collectReplicaDeletion } from '../../../src/checks/storage-teardown.ts';
import { countCopies, VOLUME_COUNTS, VOLUME_SETS, SINGLE_REPLICA_SET } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformLonghornNode } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest } from '../../support/admission.ts';
import { longhornNode, node, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();

function cluster(reason: string) {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['w1', 'w2', 'w3']) {
    model.upsert('node', node({ name }));
    const raw = transformLonghornNode({
      metadata: { name, namespace: 'longhorn-system' },
      status: {
        conditions: [{ type: 'Ready', status: name === 'w2' ? 'False' : 'True', reason: name === 'w2' ? reason : '' }],
        diskStatus: { default: { diskUUID: longhornNode({ name }).diskUUIDs[0], conditions: [{ type: 'Ready', status: 'True' }] } },
      },
    });
    model.upsert('longhornNode', raw ?? longhornNode({ name }));
  }
  model.upsert('longhornVolume', volume({ name: 'db', numberOfReplicas: 2, currentNodeID: 'w1' }));
  model.upsert('longhornReplica', replica({ name: 'db-r1', volumeName: 'db', nodeID: 'w1' }));
  model.upsert('longhornReplica', replica({ name: 'db-r2', volumeName: 'db', nodeID: 'w2' }));
  return model;
}

describe('a replica on a node whose longhorn-manager pod is missing', () => {
  for (const reason of ['ManagerPodMissing', 'ManagerPodDown']) {
    it(`${reason}: is a copy (the cordon of the other node passes, the volume is not single-copy)`, () => {
      const model = cluster(reason);
      expect(model.nodeIsUp('w2')).toBe(true);
      expect(countCopies(model.replicasOfVolume('db'), (n, d) => model.nodeIsUp(n, d))).toBe(2);
      expect(model.volumeInSet(SINGLE_REPLICA_SET, 'db')).toBe(false);
      expect(nodeCordonValidator(config).handle(cordonRequest('w1'), context(model)).allowed).toBe(true);
    });

    it(`${reason}: the Replica DELETE of the copy on the other node passes, and the one left on w2 is its last copy`, () => {
      const model = cluster(reason);
      const onW1 = model.replicasOfVolume('db').find((r) => r.nodeID === 'w1')!;
      expect(collectReplicaDeletion(model, { replica: onW1 }).findings).toEqual([]);
      model.remove('longhornReplica', 'longhorn-system/db-r1');
      expect(nodeCordonValidator(config).handle(cordonRequest('w2'), context(model)).allowed).toBe(false);
    });
  }

  it('KubernetesNodeGone, by contrast, is down: the copy on w1 is the last one', () => {
    const model = cluster('KubernetesNodeGone');
    expect(model.nodeIsUp('w2')).toBe(false);
    expect(nodeCordonValidator(config).handle(cordonRequest('w1'), context(model)).allowed).toBe(false);
  });
});

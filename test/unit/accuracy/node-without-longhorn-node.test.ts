// A replica on a node that has a Kubernetes Node but no Longhorn node CR, while Longhorn lists its other nodes (the
// Longhorn node deleted, its longhorn-manager not running there to create it again). longhorn-manager takes a node
// whose Longhorn node it cannot find as deleted: datastore IsNodeDownOrDeleted answers true on NotFound, so
// canInstanceManagerLaunchReplica refuses to start the replica there, and openVolumeDependentResources marks it failed
// ("the node is deleted") when the volume attaches. That replica is no copy Longhorn can use: deleting the volume's
// other replica leaves it with none.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { storageTeardownValidator } from '../../../src/admission/validators/storage-teardown.ts';
import { SINGLE_REPLICA_SET, VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import type { UserInfo } from '../../../src/admission/types.ts';
import { context, cordonRequest, request } from '../../support/admission.ts';
import { longhornNode, node, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();
const ALICE_ADMIN: UserInfo = { username: 'admin', groups: ['system:masters'] };

function cluster(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['w1', 'w2', 'w3']) model.upsert('node', node({ name }));
  // Longhorn lists w1 and w2; w3's Longhorn node was deleted.
  for (const name of ['w1', 'w2']) model.upsert('longhornNode', longhornNode({ name }));
  model.upsert('longhornVolume', volume({ name: 'db', numberOfReplicas: 2, currentNodeID: 'w1' }));
  model.upsert('longhornReplica', replica({ volumeName: 'db', nodeID: 'w1' }));
  model.upsert('longhornReplica', replica({ volumeName: 'db', nodeID: 'w3' }));
  return model;
}

const replicaDelete = (nodeID: string) =>
  request({
    kind: { group: 'longhorn.io', version: 'v1beta2', kind: 'Replica' }, resource: { group: 'longhorn.io', version: 'v1beta2', resource: 'replicas' },
    operation: 'DELETE', namespace: 'longhorn-system', name: `db-r-${nodeID}`, userInfo: ALICE_ADMIN,
    oldObject: {
      apiVersion: 'longhorn.io/v1beta2', kind: 'Replica', metadata: { name: `db-r-${nodeID}`, namespace: 'longhorn-system' },
      spec: { volumeName: 'db', nodeID, diskID: `disk-${nodeID}`, healthyAt: '2024-05-01T10:00:00Z', failedAt: '' }, status: { currentState: 'running' },
    },
  });

describe('a replica on a Node that Longhorn has no node for', () => {
  it('is no copy: the volume has one, on w1', () => {
    const model = cluster();
    expect(model.nodeIsUp('w3')).toBe(false);
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'db')).toBe(true);
  });

  it("refuses the DELETE of the replica on w1 and the cordon of w1", () => {
    const model = cluster();
    expect(storageTeardownValidator(config).handle(replicaDelete('w1'), context(model)).allowed).toBe(false);
    const decision = nodeCordonValidator(config).handle(cordonRequest('w1'), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('[last-replica-on-node]');
    expect(decision.status?.message).toContain('on node w3, which Longhorn does not know');
  });

  it('counts again once its Longhorn node is back', () => {
    const model = cluster();
    model.upsert('longhornNode', longhornNode({ name: 'w3' }));
    expect(model.nodeIsUp('w3')).toBe(true);
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'db')).toBe(false);
  });

  it('with no Longhorn node seen at all, a Node counts as up (volume-guard sees none of them)', () => {
    const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
    model.setLonghornInstalled(true);
    model.upsert('node', node({ name: 'w3' }));
    expect(model.nodeIsUp('w3')).toBe(true);
  });
});

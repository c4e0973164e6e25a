// A Replica DELETE refused on a volume whose healthy replicas are all on nodes Longhorn reports down
// (refusing is right: they hold the data the volume comes back with when a node returns) tells the operator the
// replica "is its last healthy copy on a node that is up" while its own node is down: the operator, who looks at a
// down node, is told the opposite of what volume-guard saw.
import { describe, expect, it } from 'vitest';
import { storageTeardownValidator } from '../../../src/admission/validators/storage-teardown.ts';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();

function del(r: ReturnType<typeof replica>): AdmissionRequest {
  return request({
    kind: { group: 'longhorn.io', version: 'v1beta2', kind: 'Replica' },
    resource: { group: 'longhorn.io', version: 'v1beta2', resource: 'replicas' },
    operation: 'DELETE',
    namespace: 'longhorn-system',
    name: r.name,
    object: null,
    oldObject: {
      metadata: { name: r.name, namespace: r.namespace },
      spec: { volumeName: r.volumeName, nodeID: r.nodeID, diskID: r.diskID, healthyAt: r.healthyAt, failedAt: r.failedAt, desireState: r.desireState, active: true },
      status: { currentState: r.currentState },
    },
  });
}

describe('Replica DELETE when every healthy replica is on a node that is down', () => {
  it('is refused without claiming the replica is on a node that is up', () => {
    const r1 = replica({ volumeName: 'x', nodeID: 'w1', currentState: 'unknown' });
    const r2 = replica({ volumeName: 'x', nodeID: 'w2', currentState: 'unknown' });
    const m = new ClusterModel(VOLUME_SETS);
    m.setLonghornInstalled(true);
    m.replaceAll('longhornNode', [longhornNode({ name: 'w1', down: true }), longhornNode({ name: 'w2', down: true }), longhornNode({ name: 'w3' })]);
    m.upsert('longhornVolume', volume({ name: 'x', robustness: 'faulted', pvcNamespace: 'shop', pvcName: 'db' }));
    m.upsert('longhornReplica', r1);
    m.upsert('longhornReplica', r2);
    const decision = storageTeardownValidator(config).handle(del(r1), context(m));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    expect(message).toContain('replica x-r-w1 on node w1');
    expect(message).not.toContain('on a node that is up\n');
    expect(message).not.toContain('is its last healthy copy on a node that is up');
  });
});

// Cluster API skips the drain of every Machine of a Cluster being deleted (machine_controller.go reconcileDelete:
// isDeleteNodeAllowed returns errClusterIsBeingDeleted, so neither the pre-drain hooks, the drain nor the volume detach
// wait run; the infrastructure machine is deleted, disks and all). Longhorn's block-for-eviction policy keeps a node's
// last copies only by holding a drain: with no drain, it keeps nothing, as with the exclude-node-draining annotation.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { machineValidator } from '../../../src/admission/validators/machine.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformClusterApiCluster, transformMachine } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, longhornSetting, node, replica, volume } from '../../support/fixtures.ts';

const validator = machineValidator(defaultConfig());

const MACHINE = {
  apiVersion: 'cluster.x-k8s.io/v1beta2',
  kind: 'Machine',
  metadata: { name: 'm1', namespace: 'capi', labels: { 'cluster.x-k8s.io/set-name': 'ms', 'cluster.x-k8s.io/cluster-name': 'c1' } },
  spec: { clusterName: 'c1' },
  status: { nodeRef: { name: 'w1' } },
};

function cluster(clusterDeleting: boolean): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  m.setLonghornInstalled(true);
  for (const name of ['w1', 'w2']) {
    m.upsert('node', node({ name }));
    m.upsert('longhornNode', longhornNode({ name }));
  }
  m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
  m.upsert('longhornVolume', volume({ name: 'vol-1', numberOfReplicas: 1, currentNodeID: 'w1' }));
  m.upsert('longhornReplica', replica({ volumeName: 'vol-1', nodeID: 'w1' }));
  m.upsert('machine', transformMachine(MACHINE)!);
  m.upsert(
    'clusterApiCluster',
    transformClusterApiCluster({
      metadata: { name: 'c1', namespace: 'capi', ...(clusterDeleting ? { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['cluster.cluster.x-k8s.io'] } : {}) },
    })!,
  );
  return m;
}

function deleteMachine(): AdmissionRequest {
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
    operation: 'DELETE',
    namespace: 'capi',
    name: 'm1',
    userInfo: { username: 'system:serviceaccount:kube-system:generic-garbage-collector', groups: ['system:serviceaccounts'] },
    oldObject: MACHINE,
  });
}

describe('a Machine of a Cluster being deleted is not drained', () => {
  it('block-for-eviction holds the drain of a live Cluster: allowed with the warning', () => {
    expect(validator.handle(deleteMachine(), context(cluster(false))).allowed).toBe(true);
  });

  it('the Cluster being deleted: no drain, so the last copy on w1 goes with the machine: refused', () => {
    const decision = validator.handle(deleteMachine(), context(cluster(true)));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('vol-1');
    expect((decision.warnings ?? []).join(' ').replace(/\s+/g, ' ')).toContain('Cluster capi/c1 is being deleted');
  });
});

// A MachineHealthCheck remediates an unhealthy Machine by deleting it (its node NotReady or Unknown past the check's
// timeout; HealthCheckSucceeded False), as Cluster API's service account: the Machine controller then deletes the
// infrastructure machine, disks and all. A down node's replica is no copy in service, but it is the data the volume
// comes back with if the node returns: when it is the only one, the remediation is refused on it (single-replica), and
// when a node that is up holds another copy, nothing unique goes and it passes.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { machineValidator } from '../../../src/admission/validators/machine.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, machine, node, volumeWithReplicas } from '../../support/fixtures.ts';

const CAPI: UserInfo = { username: 'system:serviceaccount:capi-system:capi-manager', groups: ['system:serviceaccounts'] };

function cluster(replicaNodes: readonly string[], numberOfReplicas: number): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  model.upsert('node', node({ name: 'w-1', ready: 'Unknown', readySince: Date.now() - 3_600_000 }));
  model.upsert('longhornNode', longhornNode({ name: 'w-1', down: true }));
  for (const name of ['w-2', 'w-3']) {
    model.upsert('node', node({ name }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  const { volume, replicas } = volumeWithReplicas('vol-a', replicaNodes, { numberOfReplicas, state: 'detached', currentNodeID: '' });
  model.upsert('longhornVolume', volume);
  for (const replica of replicas) model.upsert('longhornReplica', replica);
  model.upsert('machine', machine({ namespace: 'capi', name: 'm-1', nodeName: 'w-1', machineSet: 'md-a-1', machineDeployment: 'md-a', unhealthy: true }));
  return model;
}

const remediation: AdmissionRequest = request({
  kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
  resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
  operation: 'DELETE',
  namespace: 'capi',
  name: 'm-1',
  userInfo: CAPI,
  oldObject: {
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'Machine',
    metadata: { name: 'm-1', namespace: 'capi', labels: { 'cluster.x-k8s.io/set-name': 'md-a-1', 'cluster.x-k8s.io/deployment-name': 'md-a' } },
    status: { nodeRef: { name: 'w-1' }, conditions: [{ type: 'HealthCheckSucceeded', status: 'False' }] },
  },
});

describe('a MachineHealthCheck remediation deleting the Machine of a node that is down', () => {
  it('is refused when that node holds the only copy of a volume', () => {
    const decision = machineValidator(defaultConfig()).handle(remediation, context(cluster(['w-1'], 1)));
    expect(decision.allowed).toBe(false);
    expect(decision.deniedChecks).toContain('single-replica');
    expect(decision.status?.message).toContain('its healthy replica is on node w-1, down');
  });
  it('passes when a node that is up holds another copy', () => {
    const decision = machineValidator(defaultConfig()).handle(remediation, context(cluster(['w-1', 'w-2'], 2)));
    expect(decision.allowed).toBe(true);
  });
});

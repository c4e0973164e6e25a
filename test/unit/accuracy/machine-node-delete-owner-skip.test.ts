// Cluster API's Machine controller DELETEs the Node only after the infrastructure machine is gone
// (cluster-api internal/controllers/machine/machine_controller.go reconcileDelete: "We only delete the node after the
// underlying infrastructure is gone"), retrying for nodeDeletionTimeout (10 s by default) and then moving on, leaving
// the Node behind. The owner's skip carried to the drain (rollout-owner.ts drainingMachineOwnerSkip) carries to that
// last step too (plan node-delete reads `machine-owner`).
import { describe, expect, it } from 'vitest';
import type { Decision, UserInfo } from '../../../src/admission/types.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, NODE_KIND, request } from '../../support/admission.ts';
import { longhornNode, machine, machineOwner, node, volumeWithReplicas } from '../../support/fixtures.ts';

const CAPI_MANAGER: UserInfo = { username: 'system:serviceaccount:capi-system:capi-manager', groups: ['system:serviceaccounts'] };
const SKIP = { 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-reason': 'rollout, INC-7' };

function cluster(deleting: boolean): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['h1', 'h2', 'h3']) {
    model.upsert('node', node({ name }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  const { volume, replicas } = volumeWithReplicas('vol-s', ['h1'], { state: 'detached', numberOfReplicas: 1 });
  model.upsert('longhornVolume', volume);
  for (const replica of replicas) model.upsert('longhornReplica', replica);
  // md-a's old Machine on h1, removed by md-a's rollout (the old MachineSet's scale-down, admitted on md-a's skip).
  model.upsert('machine', machine({ namespace: 'capi', name: 'm-old-1', nodeName: 'h1', machineSet: 'md-a-old', machineDeployment: 'md-a', deleting }));
  model.upsert('machineDeployment', machineOwner({ namespace: 'capi', name: 'md-a', annotations: SKIP }));
  return model;
}

const nodeDelete = (model: ClusterModel, name: string, user: UserInfo): Decision =>
  nodeCordonValidator(defaultConfig()).handle(
    request({ ...NODE_KIND, operation: 'DELETE', name, userInfo: user, oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name, annotations: {} }, spec: {} } }),
    context(model),
  );

describe('Cluster API: the Node DELETE that ends a Machine removal', () => {
  it("carries the owner's skip that the Machine's drain got", () => {
    // The drain (the Machine controller's cordon of h1) passes on md-a's carried skip...
    expect(nodeCordonValidator(defaultConfig()).handle(cordonRequest('h1', {}, CAPI_MANAGER), context(cluster(true))).allowed).toBe(true);
    // ...then the infrastructure machine is deleted, and the controller DELETEs the Node: refused today, for data that
    // went with the infrastructure machine; Cluster API gives up after nodeDeletionTimeout and leaves the Node behind.
    const deletion = nodeDelete(cluster(true), 'h1', CAPI_MANAGER);
    expect(deletion.status?.message).toBeUndefined();
    expect(deletion.allowed).toBe(true);
    expect(deletion.auditAnnotations?.['override-source'] ?? JSON.stringify(deletion.auditAnnotations)).toContain('MachineDeployment capi/md-a');
  });

  it('a Node DELETE of a node whose Machine stays carries nothing (passes today, must stay so)', () => {
    expect(nodeDelete(cluster(false), 'h1', CAPI_MANAGER).allowed).toBe(false);
  });
});

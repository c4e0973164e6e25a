// The providerID lookup of a Machine without status.nodeRef must reach beyond the Machine
// DELETE. Cluster API's reconcileDelete drains and deletes the Node the providerID names (isDeleteNodeAllowed, getNode)
// whoever deleted the Machine, and a MachineSet scale-down deletes such a Machine FIRST: isMachineHealthy is false
// without a nodeRef (machineset deletion order), volume-guard's deleteRank 3. So the scale-down is allowed as taking
// "only Machines without a node", and the MachineSet controller's DELETE that carries it out is then refused (the
// scale-down recorded no removal for it): the MachineSet is stuck, the refusal comes one step late, at a controller.
// And with the model's nodes stale, the lookup finds nothing and the DELETE passes as "a Machine whose node never
// joined", before the stale-model policy is applied.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { machineValidator } from '../../../src/admission/validators/machine.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformMachine, transformNode } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { localPV, pod, pvc } from '../../support/fixtures.ts';

const validator = machineValidator(defaultConfig());
const PROVIDER_ID = 'aws:///eu-west-1a/i-0123456789abcdef0';

const machineObject = (name: string, nodeRef: string | undefined, providerID: string) => ({
  apiVersion: 'cluster.x-k8s.io/v1beta2',
  kind: 'Machine',
  metadata: { name, namespace: 'capi', labels: { 'cluster.x-k8s.io/set-name': 'ms', 'cluster.x-k8s.io/cluster-name': 'c1' } },
  spec: { clusterName: 'c1', providerID },
  status: nodeRef === undefined ? {} : { nodeRef: { name: nodeRef } },
});

const NO_REF = machineObject('ms-a', undefined, PROVIDER_ID);

function cluster(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert(
    'node',
    transformNode({
      metadata: { name: 'ip-10-0-0-1', labels: { 'kubernetes.io/hostname': 'ip-10-0-0-1' } },
      spec: { providerID: PROVIDER_ID },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    })!,
  );
  model.upsert(
    'node',
    transformNode({
      metadata: { name: 'ip-10-0-0-2', labels: { 'kubernetes.io/hostname': 'ip-10-0-0-2' } },
      spec: { providerID: 'aws:///eu-west-1a/i-2' },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    })!,
  );
  // Data only on the providerID node.
  model.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'ip-10-0-0-1', claimName: 'db-data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-local' }));
  model.upsert('pod', pod({ name: 'db-0', nodeName: 'ip-10-0-0-1', claimNames: ['db-data'] }));
  model.upsert('machine', transformMachine(NO_REF)!);
  model.upsert('machine', transformMachine(machineObject('ms-b', 'ip-10-0-0-2', 'aws:///eu-west-1a/i-2'))!);
  return model;
}

const scaleDown = (): AdmissionRequest =>
  request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'MachineSet' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machinesets' },
    operation: 'UPDATE',
    namespace: 'capi',
    name: 'ms',
    object: { metadata: { name: 'ms' }, spec: { replicas: 1 } },
    oldObject: { metadata: { name: 'ms' }, spec: { replicas: 2 } },
  });

const deleteMachine = (): AdmissionRequest =>
  request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
    operation: 'DELETE',
    namespace: 'capi',
    name: 'ms-a',
    oldObject: NO_REF,
  });

describe('a Machine without nodeRef whose providerID names a Node with data', () => {
  it('its DELETE is refused (as the commit says)', () => {
    expect(validator.handle(deleteMachine(), context(cluster())).allowed).toBe(false);
  });

  it('so the MachineSet scale-down that removes it first (no nodeRef: unhealthy) is refused too, not passed', () => {
    const decision = validator.handle(scaleDown(), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message ?? '').toContain('pv-local');
  });

  it('with the nodes not listed yet (stale), its DELETE gets the stale-model policy, not "node never joined"', () => {
    // The node informer has not shown ip-10-0-0-1 yet (volume-guard starting, or a relist after a watch error).
    const model = new ClusterModel(VOLUME_SETS);
    model.upsert('machine', transformMachine(NO_REF)!);
    const stale = { synced: () => true, staleResources: () => ['nodes'] };
    const decision = validator.handle(deleteMachine(), context(model, { health: stale }));
    expect(decision.allowed).toBe(false);
    expect(decision.deniedChecks).toContain('stale-model');
  });
});

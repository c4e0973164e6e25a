// Copies on nodes Cluster API removes together are no copies. A Longhorn volume with its two replicas on the nodes of
// Machines a and b loses both when both Machines go: `kubectl delete machine a b` (b's DELETE comes while a is being
// deleted: Cluster API drains a's node, then deletes its infrastructure machine and disks), or one scale-down that
// removes both. Judged node by node, each saw the other's replica as a copy and let both through.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { machineValidator } from '../../../src/admission/validators/machine.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, machine, node, volumeWithReplicas } from '../../support/fixtures.ts';

const validator = machineValidator(defaultConfig());
const NS = 'capi';

/** Machines ms-a, ms-b, ms-c of MachineSet ms on nodes a, b, c; Longhorn volumes with replicas on the nodes given. */
function cluster(volumes: Record<string, readonly string[]>, deleting: readonly string[] = []): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  for (const name of ['a', 'b', 'c']) {
    model.upsert('node', node({ name }));
    model.upsert('longhornNode', longhornNode({ name }));
    model.upsert('machine', machine({ namespace: NS, name: `ms-${name}`, nodeName: name, machineSet: 'ms', machineDeployment: '', deleting: deleting.includes(name) }));
  }
  for (const [volume, nodes] of Object.entries(volumes)) {
    const { volume: record, replicas } = volumeWithReplicas(volume, nodes, { pvcNamespace: 'shop', pvcName: `${volume}-data` });
    model.upsert('longhornVolume', record);
    for (const replica of replicas) model.upsert('longhornReplica', replica);
  }
  return model;
}

const machineDelete = (name: string): AdmissionRequest =>
  request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
    operation: 'DELETE',
    namespace: NS,
    name: `ms-${name}`,
    oldObject: { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Machine', metadata: { name: `ms-${name}`, namespace: NS }, status: { nodeRef: { name } } },
  });

/** The MachineSet's own write (Random order: Cluster API takes the Machines by name), or its scale subresource. */
const scaleDown = (replicas: number, subResource?: 'scale'): AdmissionRequest =>
  request({
    kind: subResource ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'MachineSet' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machinesets' },
    ...(subResource ? { subResource } : {}),
    operation: 'UPDATE',
    namespace: NS,
    name: 'ms',
    object: { metadata: { name: 'ms' }, spec: { replicas } },
    oldObject: { metadata: { name: 'ms' }, spec: { replicas: 3 } },
  });

describe('Machines removed together', () => {
  it("refuses a Machine DELETE while the Machine holding the volume's other copy is being deleted", () => {
    expect(validator.handle(machineDelete('b'), context(cluster({ vol: ['a', 'b'] }))).allowed).toBe(true);
    const decision = validator.handle(machineDelete('b'), context(cluster({ vol: ['a', 'b'] }, ['a'])));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('[last-replica-on-node]');
    expect(decision.status!.message).toContain('Volume longhorn-system/vol (Replica longhorn-system/vol-r-b on b, PVC shop/vol-data)');
    expect(decision.status!.message).toContain('on node a, whose Cluster API Machine is being deleted');
    // A third copy on a node that stays keeps it.
    expect(validator.handle(machineDelete('b'), context(cluster({ vol: ['a', 'b', 'c'] }, ['a']))).allowed).toBe(true);
  });

  it('refuses a scale-down removing both nodes of a volume (Random: by name, a and b), naming the other as going too', () => {
    const decision = validator.handle(scaleDown(1), context(cluster({ vol: ['a', 'b'] })));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('on node b, which the same operation may remove');
    // c stays: a copy there keeps the volume; one Machine removed takes one copy.
    expect(validator.handle(scaleDown(1), context(cluster({ vol: ['a', 'c'] }))).allowed).toBe(true);
    expect(validator.handle(scaleDown(2), context(cluster({ vol: ['a', 'b'] }))).allowed).toBe(true);
  });

  it('without a known order (the scale subresource), any two of three may go: refused for a volume on two of them, not on three', () => {
    expect(validator.handle(scaleDown(1, 'scale'), context(cluster({ vol: ['b', 'c'] }))).allowed).toBe(false);
    expect(validator.handle(scaleDown(1, 'scale'), context(cluster({ vol: ['a', 'b', 'c'] }))).allowed).toBe(true);
    expect(validator.handle(scaleDown(2, 'scale'), context(cluster({ vol: ['b', 'c'] }))).allowed).toBe(true);
  });
});

// The DELETE of a Cluster API MachineDeployment, MachineSet or KubeadmControlPlane removes every Machine it holds, nodes
// and disks with them, and cannot be taken back: the MachineDeployment's and MachineSet's finalizers make their
// controllers delete their MachineSets and Machines whatever the propagation policy (MachineDeploymentFinalizer
// "ordered cleanup of corresponding MachineSets"), and KubeadmControlPlane's reconcileDelete deletes its Machines in
// parallel once the Cluster's other Machines are gone, its pre-terminate hook removed, so the Machine controller
// drains none of them (controlplane/kubeadm/internal/controllers/controller.go reconcileDelete). volume-guard let the
// owner's DELETE through and refused the Machine DELETEs that followed one by one: the owner stayed Terminating for
// good with part of its Machines gone (a control plane past its etcd quorum). Now the owner's DELETE is judged as the
// removal of each of its Machines' nodes, as a scale to zero is; a second DELETE of an owner already being deleted,
// and clusterctl move's DELETE (annotated delete-for-move, no finalizer, its Cluster paused), pass. So is a Cluster's:
// its controller deletes its MachineDeployments, MachineSets and worker Machines, then its control plane
// (internal/controllers/cluster/cluster_controller.go reconcileDelete), and the Machine controller drains none of them
// (errClusterIsBeingDeleted).
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, Decision } from '../../../src/admission/types.ts';
import type { AdmittedRemoval } from '../../../src/cluster/pending-removals.ts';
import { machineRemovalCel, machineValidator } from '../../../src/admission/validators/machine.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { clusterApiCluster, localPV, machine, node, pod, pvc } from '../../support/fixtures.ts';

const validator = machineValidator(defaultConfig());
type Owner = 'machinedeployments' | 'machinesets' | 'kubeadmcontrolplanes' | 'clusters';
const KIND: Record<Owner, { group: string; kind: string; name: string }> = {
  clusters: { group: 'cluster.x-k8s.io', kind: 'Cluster', name: 'c1' },
  machinedeployments: { group: 'cluster.x-k8s.io', kind: 'MachineDeployment', name: 'md-0' },
  machinesets: { group: 'cluster.x-k8s.io', kind: 'MachineSet', name: 'md-0-a' },
  kubeadmcontrolplanes: { group: 'controlplane.cluster.x-k8s.io', kind: 'KubeadmControlPlane', name: 'cp' },
};

/**
 * node-1 holds a local PV in use by db-0 (none with `clean`), node-2 nothing, node-3 nothing: md-0-a-1 (node-1) and
 * md-0-a-2 (node-2) in MachineSet md-0-a of md-0; cp-1 (node-1 too with `dataOnControlPlane`, else node-3) of
 * KubeadmControlPlane cp. Cluster capi/c1 (paused with `paused`) names cp as its control plane.
 */
function cluster(options: { clean?: boolean; paused?: boolean; dataOnControlPlane?: boolean } = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  for (const name of ['node-1', 'node-2', 'node-3']) model.upsert('node', node({ name }));
  if (!options.clean) {
    model.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'node-1', claimName: 'db-data' }));
    model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-local' }));
    model.upsert('pod', pod({ name: 'db-0', nodeName: 'node-1', claimNames: ['db-data'] }));
  }
  for (const [name, nodeName] of [['md-0-a-1', 'node-1'], ['md-0-a-2', 'node-2']] as const) {
    model.upsert('machine', machine({ namespace: 'capi', name, nodeName, machineSet: 'md-0-a', machineDeployment: 'md-0', clusterName: 'c1' }));
  }
  const cpNode = options.dataOnControlPlane ? 'node-1' : 'node-3';
  model.upsert(
    'machine',
    machine({ namespace: 'capi', name: 'cp-1', nodeName: cpNode, machineSet: '', machineDeployment: '', controlPlane: 'cp', clusterName: 'c1', labels: { 'cluster.x-k8s.io/control-plane': '' } }),
  );
  model.upsert('clusterApiCluster', clusterApiCluster({ namespace: 'capi', name: 'c1', controlPlaneRef: { kind: 'KubeadmControlPlane', name: 'cp' }, ...(options.paused ? { paused: true } : {}) }));
  return model;
}

function deleteOwner(owner: Owner, options: { deleting?: boolean; move?: boolean } = {}): AdmissionRequest {
  const { group, kind, name } = KIND[owner];
  return request({
    kind: { group, version: 'v1beta2', kind },
    resource: { group, version: 'v1beta2', resource: owner },
    operation: 'DELETE',
    namespace: 'capi',
    name,
    oldObject: {
      apiVersion: `${group}/v1beta2`,
      kind,
      metadata: {
        name,
        namespace: 'capi',
        labels: { 'cluster.x-k8s.io/cluster-name': 'c1' },
        ...(options.deleting ? { deletionTimestamp: '2026-12-07T20:00:00Z' } : {}),
        ...(options.move ? { annotations: { 'clusterctl.cluster.x-k8s.io/delete-for-move': '' } } : { finalizers: [`${group}/x`] }),
      },
      spec: owner === 'clusters' ? (options.move ? { paused: true } : {}) : { ...(owner === 'kubeadmcontrolplanes' ? {} : { clusterName: 'c1' }), replicas: 2 },
    },
  });
}

function judge(model: ClusterModel, review: AdmissionRequest, removals: AdmittedRemoval[] = []): Decision {
  return validator.handle(review, context(model, { removals }));
}

describe('the DELETE of a Machine owner', () => {
  it.each(['machinedeployments', 'machinesets'] as const)('%s: refused while a node of its Machines holds data, naming the Machine and node', (owner) => {
    const decision = judge(cluster(), deleteOwner(owner));
    expect(decision.allowed).toBe(false);
    const message = decision.status?.message ?? '';
    expect(message).toContain(`deletion of ${KIND[owner].kind} capi/${KIND[owner].name}, which removes Machine md-0-a-1 on node node-1`);
    expect(message).toContain('pv-local');
  });

  it.each(['machinedeployments', 'machinesets'] as const)('%s: passes with nothing at risk, and records each Machine it removes', (owner) => {
    const removals: AdmittedRemoval[] = [];
    expect(judge(cluster({ clean: true }), deleteOwner(owner), removals).allowed).toBe(true);
    expect(removals.map((removal) => (removal.kind === 'machine' ? removal.name : '')).sort()).toEqual(['md-0-a-1', 'md-0-a-2']);
  });

  it("KubeadmControlPlane: judged on its own Machines' nodes, undrained (the workers are another owner's)", () => {
    expect(judge(cluster(), deleteOwner('kubeadmcontrolplanes')).allowed).toBe(true);
    const refused = judge(cluster({ dataOnControlPlane: true }), deleteOwner('kubeadmcontrolplanes'));
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toContain('deletion of KubeadmControlPlane capi/cp, which removes Machine cp-1 on node node-1');
  });

  it("Cluster: judged on every Machine's node, undrained, naming each one at risk", () => {
    const decision = judge(cluster({ dataOnControlPlane: true }), deleteOwner('clusters'));
    expect(decision.allowed).toBe(false);
    const message = decision.status?.message ?? '';
    expect(message).toContain('deletion of Cluster capi/c1, which removes Machine');
    expect(message).toContain("risks of data loss on 2 Machines' nodes");
    expect(message).toMatch(/Other Machines it may remove with data at risk \(1;/);
    const removals: AdmittedRemoval[] = [];
    expect(judge(cluster({ clean: true }), deleteOwner('clusters'), removals).allowed).toBe(true);
    expect(removals.map((removal) => (removal.kind === 'machine' ? removal.name : '')).sort()).toEqual(['cp-1', 'md-0-a-1', 'md-0-a-2']);
    expect(judge(cluster({ paused: true, dataOnControlPlane: true }), deleteOwner('clusters', { move: true })).allowed).toBe(true);
  });

  it('the node skip lets it through', () => {
    const model = cluster();
    model.upsert('node', node({ name: 'node-1', annotations: { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-reason': 'retiring the pool' } }));
    expect(judge(model, deleteOwner('machinedeployments')).allowed).toBe(true);
  });

  it('a second DELETE of an owner already being deleted passes (the first was judged)', () => {
    expect(judge(cluster(), deleteOwner('machinedeployments', { deleting: true })).allowed).toBe(true);
  });

  it("clusterctl move's DELETE passes with the Cluster paused, and is judged without", () => {
    expect(judge(cluster({ paused: true }), deleteOwner('machinedeployments', { move: true })).allowed).toBe(true);
    expect(judge(cluster({ paused: true, dataOnControlPlane: true }), deleteOwner('kubeadmcontrolplanes', { move: true })).allowed).toBe(true);
    expect(judge(cluster(), deleteOwner('machinedeployments', { move: true })).allowed).toBe(false);
  });

  it("the webhook's condition sends these DELETEs", () => {
    expect(machineRemovalCel('longhorn-system')).toContain("request.operation == 'DELETE'");
    const rules = validator.declaration.rules.filter((rule) => 'resources' in rule && rule.operations.includes('DELETE'));
    const resources = rules.flatMap((rule) => ('resources' in rule ? rule.resources : []));
    expect(resources).toEqual(expect.arrayContaining(['machines', 'machinedeployments', 'machinesets', 'kubeadmcontrolplanes', 'clusters']));
  });
});

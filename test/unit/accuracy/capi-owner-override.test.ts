// An admin's `volume-guard.io/skip` on a KubeadmControlPlane or MachineDeployment (guarded upgrade kinds, so its
// writes went through the override guard) passes that owner's scale-down. Cluster API then carries the scale-down on
// with writes of its own: KubeadmControlPlane deletes the chosen Machine itself (scaleDownControlPlane), and the
// MachineDeployment controller lowers its MachineSet's replicas (rolling/sync scaleMachineSet), after which the
// MachineSet controller deletes Machines (syncReplicas). Refusing those would leave the owner's replicas lowered and
// its controller retrying for good. So the owner's skip counts for them too, read from the stored owner with the
// rules of its own override (recorded writer, expiry, upgrade kind policed), through the controlling ownerReferences
// only (Machine → KubeadmControlPlane, Machine → MachineSet → MachineDeployment, MachineSet → MachineDeployment, each
// naming that object by uid), and named in the audit annotations. Without it, both stay refused.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { machineValidator } from '../../../src/admission/validators/machine.ts';
import { overrideGuardValidator } from '../../../src/admission/validators/override-guard.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformMachine, transformMachineOwner, transformMachineSet } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ALICE, context, request } from '../../support/admission.ts';
import { localPV, machine, node, pod, pvc } from '../../support/fixtures.ts';

const validator = machineValidator(defaultConfig());
const CP = 'cp';
const SA = { username: 'system:serviceaccount:capi-kubeadm-control-plane-system:capi-kubeadm-control-plane-manager', groups: ['system:serviceaccounts'] };
const CAPI_SA: UserInfo = { username: 'system:serviceaccount:capi-system:capi-manager', groups: ['system:serviceaccounts'] };

const skip = { 'volume-guard.io/skip': 'node-local-volume', 'volume-guard.io/skip-reason': 'moved', 'volume-guard.io/skip-by': 'admin' };
const expired = { ...skip, 'volume-guard.io/skip-until': '2000-01-01T00:00:00Z' };
const controllerRef = (apiVersion: string, kind: string, name: string) => ({ apiVersion, kind, name, uid: `uid-${name}`, controller: true, blockOwnerDeletion: true });

const kcpObject = (replicas: number, annotations: Record<string, string> = skip) => ({
  apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1',
  kind: 'KubeadmControlPlane',
  metadata: { name: CP, namespace: 'capi', uid: `uid-${CP}`, annotations },
  spec: { replicas, version: 'v1.30.1' },
});
const kcp = (replicas: number) => kcpObject(replicas);

/**
 * Three control-plane Machines, cp-1 (marked for deletion) on node-1 with a node-local PV; `annotations`: the stored
 * KCP's (null: no KCP known).
 */
function cluster(annotations: Record<string, string> | null = skip): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  for (const name of ['node-1', 'node-2', 'node-3']) model.upsert('node', node({ name }));
  model.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'node-1', claimName: 'db-data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-local' }));
  model.upsert('pod', pod({ name: 'db-0', nodeName: 'node-1', claimNames: ['db-data'] }));
  for (const i of [1, 2, 3]) model.upsert('machine', machine({ namespace: 'capi', name: `cp-${i}`, nodeName: `node-${i}`, machineSet: '', machineDeployment: '', controlPlane: CP, deleteMarked: i === 1 }));
  if (annotations) model.upsert('kubeadmControlPlane', transformMachineOwner(kcpObject(3, annotations))!);
  return model;
}

/** The KubeadmControlPlane's DELETE of its Machine cp-1 (KCP writes its controlling ownerReference on the Machines it creates). */
function controlPlaneMachineDelete(owner: Record<string, unknown> = controllerRef('controlplane.cluster.x-k8s.io/v1beta1', 'KubeadmControlPlane', CP)): AdmissionRequest {
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'Machine' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machines' },
    operation: 'DELETE',
    namespace: 'capi',
    name: 'cp-1',
    userInfo: SA,
    oldObject: {
      apiVersion: 'cluster.x-k8s.io/v1beta1',
      kind: 'Machine',
      metadata: {
        name: 'cp-1',
        namespace: 'capi',
        labels: { 'cluster.x-k8s.io/control-plane-name': CP },
        annotations: { 'cluster.x-k8s.io/delete-machine': 'yes' },
        ownerReferences: [owner],
      },
      status: { nodeRef: { name: 'node-1' } },
    },
  });
}

describe('review: an owner override on a scale-down', () => {
  it('the KCP skip passes the scale-down AND the Machine DELETE KCP then sends', () => {
    const removals: never[] = [];
    const model = cluster();
    const scale = request({
      kind: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta1', kind: 'KubeadmControlPlane' },
      resource: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta1', resource: 'kubeadmcontrolplanes' },
      operation: 'UPDATE', namespace: 'capi', name: CP, object: kcp(2), oldObject: kcp(3),
    });
    expect(validator.handle(scale, context(model, { removals })).allowed).toBe(true);
    const del = controlPlaneMachineDelete();
    const decision = validator.handle(del, context(model, { removals }));
    expect(decision.allowed).toBe(true);
    // Audited like any override, naming where it came from.
    expect(decision.auditAnnotations?.['override-source']).toBe('KubeadmControlPlane capi/cp (controller of Machine capi/cp-1)');
    expect(decision.auditAnnotations?.['overridden-checks']).toBe('node-local-volume');
    expect(decision.auditAnnotations?.['override-writer']).toBe('admin');
    expect(decision.warnings?.join(' ')).toContain('overridden by KubeadmControlPlane capi/cp');
  });
});

/** Two worker Machines of MachineSet md-x (of MachineDeployment md), md-x-a on w-1 with a node-local PV. */
function workers(deployments: Record<string, Record<string, string> | undefined>, setOwner = 'md'): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  for (const name of ['w-1', 'w-2']) model.upsert('node', node({ name }));
  model.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'w-1', claimName: 'db-data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-local' }));
  model.upsert('pod', pod({ name: 'db-0', nodeName: 'w-1', claimNames: ['db-data'] }));
  // Random order: by name, md-x-a (on w-1) goes.
  for (const [name, nodeName] of [['md-x-a', 'w-1'], ['md-x-b', 'w-2']] as const) {
    model.upsert('machine', transformMachine(workerMachine(name, nodeName))!);
  }
  model.upsert('machineSet', transformMachineSet(msObj(2, setOwner))!);
  for (const [name, annotations] of Object.entries(deployments)) {
    model.upsert('machineDeployment', transformMachineOwner({ metadata: { name, namespace: 'capi', uid: `uid-${name}`, ...(annotations ? { annotations } : {}) } })!);
  }
  return model;
}

function workerMachine(name: string, nodeName: string): Record<string, unknown> {
  return {
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'Machine',
    metadata: {
      name,
      namespace: 'capi',
      labels: { 'cluster.x-k8s.io/set-name': 'md-x', 'cluster.x-k8s.io/deployment-name': 'md' },
      ownerReferences: [controllerRef('cluster.x-k8s.io/v1beta2', 'MachineSet', 'md-x')],
    },
    status: { nodeRef: { name: nodeName } },
  };
}

const mdObj = (replicas: number, annotations: Record<string, string> = skip) => ({
  apiVersion: 'cluster.x-k8s.io/v1beta1',
  kind: 'MachineDeployment',
  metadata: { name: 'md', namespace: 'capi', uid: 'uid-md', annotations },
  spec: { replicas },
});
const msObj = (replicas: number, owner = 'md') => ({
  apiVersion: 'cluster.x-k8s.io/v1beta1',
  kind: 'MachineSet',
  metadata: {
    name: 'md-x',
    namespace: 'capi',
    uid: 'uid-md-x',
    labels: { 'cluster.x-k8s.io/deployment-name': 'md' },
    ownerReferences: [controllerRef('cluster.x-k8s.io/v1beta1', 'MachineDeployment', owner)],
  },
  spec: { replicas },
});

/** cluster-api's MachineDeployment controller lowering its MachineSet's replicas (sync.go scaleMachineSet). */
function machineSetScale(owner = 'md'): AdmissionRequest {
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'MachineSet' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machinesets' },
    operation: 'UPDATE', namespace: 'capi', name: 'md-x',
    userInfo: CAPI_SA,
    object: msObj(1, owner), oldObject: msObj(2, owner),
  });
}

/** The MachineSet controller's DELETE of md-x-a (syncReplicas). */
function workerMachineDelete(): AdmissionRequest {
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
    operation: 'DELETE', namespace: 'capi', name: 'md-x-a', userInfo: CAPI_SA,
    oldObject: workerMachine('md-x-a', 'w-1'),
  });
}

describe('review: a MachineDeployment skip passes its scale-down, then its own controller is refused', () => {
  it('the MachineSet replicas write the MachineDeployment controller sends next passes too', () => {
    const model = workers({ md: skip });
    const mdScale = request({
      kind: { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'MachineDeployment' },
      resource: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machinedeployments' },
      operation: 'UPDATE', namespace: 'capi', name: 'md', object: mdObj(1), oldObject: mdObj(2),
    });
    expect(validator.handle(mdScale, context(model)).allowed).toBe(true);
    const msScale = validator.handle(machineSetScale(), context(model));
    expect(msScale.allowed).toBe(true);
    expect(msScale.auditAnnotations?.['override-source']).toBe('MachineDeployment capi/md (controller of MachineSet capi/md-x)');
    // Then the MachineSet controller deletes the Machine: the same skip, through the MachineSet.
    const del = validator.handle(workerMachineDelete(), context(model));
    expect(del.allowed).toBe(true);
    expect(del.auditAnnotations?.['override-source']).toBe('MachineDeployment capi/md (controller of MachineSet md-x of Machine capi/md-x-a)');
  });
});

describe("an owner's skip carries only as its own override would count", () => {
  it('without the owner skip, the Machine DELETE and the MachineSet replicas write stay refused', () => {
    expect(validator.handle(controlPlaneMachineDelete(), context(cluster({}))).allowed).toBe(false);
    expect(validator.handle(controlPlaneMachineDelete(), context(cluster(null))).allowed).toBe(false);
    const model = workers({ md: undefined });
    expect(validator.handle(machineSetScale(), context(model)).allowed).toBe(false);
    expect(validator.handle(workerMachineDelete(), context(model)).allowed).toBe(false);
  });

  it('an expired owner skip (skip-until past) does not carry', () => {
    const del = validator.handle(controlPlaneMachineDelete(), context(cluster(expired)));
    expect(del.allowed).toBe(false);
    expect(del.warnings?.join(' ')).toContain('override on KubeadmControlPlane capi/cp (controller of Machine capi/cp-1) ignored');
    const model = workers({ md: expired });
    expect(validator.handle(machineSetScale(), context(model)).allowed).toBe(false);
    expect(validator.handle(workerMachineDelete(), context(model)).allowed).toBe(false);
  });

  it('a skip on a different MachineDeployment does not carry', () => {
    // md-other carries the skip; md-x belongs to md.
    const model = workers({ md: undefined, 'md-other': skip });
    expect(validator.handle(machineSetScale(), context(model)).allowed).toBe(false);
    expect(validator.handle(workerMachineDelete(), context(model)).allowed).toBe(false);
  });

  it('only the controlling ownerReference of that very object (by uid) leads to the owner', () => {
    // A reference without controller: true (an owner that does not remove the Machine) lends nothing.
    const { controller: _controller, ...notController } = controllerRef('controlplane.cluster.x-k8s.io/v1beta1', 'KubeadmControlPlane', CP);
    expect(validator.handle(controlPlaneMachineDelete(notController), context(cluster())).allowed).toBe(false);
    // A reference to a former KubeadmControlPlane of that name (another uid) neither.
    const former = { ...controllerRef('controlplane.cluster.x-k8s.io/v1beta1', 'KubeadmControlPlane', CP), uid: 'uid-gone' };
    expect(validator.handle(controlPlaneMachineDelete(former), context(cluster())).allowed).toBe(false);
  });

  it('a skip written by no allowed writer, or on an owner kind volume-guard does not police, does not carry', () => {
    expect(validator.handle(controlPlaneMachineDelete(), context(cluster({ ...skip, 'volume-guard.io/skip-by': '' }))).allowed).toBe(false);
    const config = defaultConfig();
    const unpoliced = { ...config, upgrades: { ...config.upgrades, kinds: config.upgrades.kinds.filter((kind) => kind.kind !== 'KubeadmControlPlane') } };
    expect(validator.handle(controlPlaneMachineDelete(), context(cluster(), { config: unpoliced })).allowed).toBe(false);
  });

  it("the override guard polices the skip's writes on the owners (configured upgrade kinds)", () => {
    const guard = overrideGuardValidator(defaultConfig());
    const write = request({
      kind: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta1', kind: 'KubeadmControlPlane' },
      resource: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta1', resource: 'kubeadmcontrolplanes' },
      operation: 'UPDATE', namespace: 'capi', name: CP, userInfo: ALICE,
      object: kcpObject(3, { ...skip, 'volume-guard.io/skip-by': 'alice' }), oldObject: kcpObject(3, {}),
    });
    expect(guard.handle(write, context(cluster(null))).allowed).toBe(false);
  });
});

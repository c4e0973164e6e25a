// A Cluster API rollout is judged once, at the MachineDeployment's or KubeadmControlPlane's UPDATE, and carried out
// by later requests: the MachineDeployment controller scales the old MachineSet down (capi-manager's service account),
// KubeadmControlPlane DELETEs the outdated Machine. The owner's own skip, accepted for that rollout, carries to those
// steps (only the checks it names; its single-replica also takes last-replica-on-node of the same single-replica
// volumes, not of a volume whose other copies go at the same time), or the rollout stalls half way. And a rollout
// replaces its nodes with their disks: the node-local PVs on them are judged at the UPDATE, as at a Machine DELETE.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, Decision } from '../../../src/admission/types.ts';
import { machineValidator } from '../../../src/admission/validators/machine.ts';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { UserInfo } from '../../../src/admission/types.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { localPV, longhornNode, machine, machineOwner, node, pod, pvc, volumeWithReplicas } from '../../support/fixtures.ts';

const CAPI_MANAGER: UserInfo = { username: 'system:serviceaccount:capi-system:capi-manager', groups: ['system:serviceaccounts'] };
const ADMIN: UserInfo = { username: 'admin', groups: ['system:masters'] };
const SKIP_BY = { 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-reason': 'rollout, INC-7' };

/**
 * md-a's old MachineSet md-a-old has Machines on h1 (and h2 with `twoOld`), its new one md-a-new a Machine on h3;
 * KubeadmControlPlane cp has cp-1 on h4. vol-s has numberOfReplicas 1 on h1; vol-cp likewise on h4.
 */
function cluster(options: { mdAnnotations?: Record<string, string>; cpAnnotations?: Record<string, string>; twoOld?: boolean } = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['h1', 'h2', 'h3', 'h4', 'h5']) {
    model.upsert('node', node({ name }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  for (const [name, nodes] of [
    ['vol-s', ['h1']],
    ['vol-cp', ['h4']],
  ] as const) {
    const { volume, replicas } = volumeWithReplicas(name, nodes, { state: 'attached' });
    model.upsert('longhornVolume', volume);
    for (const replica of replicas) model.upsert('longhornReplica', replica);
  }
  const oldMachines: [string, string][] = options.twoOld ? [['m-old-1', 'h1'], ['m-old-2', 'h2']] : [['m-old-1', 'h1']];
  for (const [name, nodeName] of oldMachines) {
    model.upsert('machine', machine({ namespace: 'capi', name, nodeName, machineSet: 'md-a-old', machineDeployment: 'md-a' }));
  }
  model.upsert('machine', machine({ namespace: 'capi', name: 'm-new-1', nodeName: 'h3', machineSet: 'md-a-new', machineDeployment: 'md-a' }));
  model.upsert('machine', machine({ namespace: 'capi', name: 'cp-1', nodeName: 'h4', machineSet: '', machineDeployment: '', controlPlane: 'cp' }));
  if (options.mdAnnotations) model.upsert('machineDeployment', machineOwner({ namespace: 'capi', name: 'md-a', annotations: options.mdAnnotations }));
  if (options.cpAnnotations) model.upsert('kubeadmControlPlane', machineOwner({ namespace: 'capi', name: 'cp', annotations: options.cpAnnotations }));
  return model;
}

/** The controller reference the MachineDeployment controller gives the MachineSets it creates (getNewMachineSet). */
const controlledBy = (name: string) => [{ apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'MachineDeployment', name, uid: `uid-${name}`, controller: true, blockOwnerDeletion: true }];

const machineSet = (replicas: number, ownerReferences: readonly object[] = controlledBy('md-a')) => ({
  apiVersion: 'cluster.x-k8s.io/v1beta1',
  kind: 'MachineSet',
  metadata: { name: 'md-a-old', namespace: 'capi', labels: { 'cluster.x-k8s.io/deployment-name': 'md-a' }, ownerReferences },
  spec: { replicas, clusterName: 'c1' },
});

/** The MachineDeployment controller scaling the old MachineSet down (`ownerReferences`: as stored, its controller's by default). */
function machineSetScaleDown(before: number, after: number, ownerReferences?: readonly object[], userInfo: UserInfo = CAPI_MANAGER): AdmissionRequest {
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'MachineSet' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machinesets' },
    operation: 'UPDATE',
    namespace: 'capi',
    name: 'md-a-old',
    userInfo,
    object: machineSet(after, ownerReferences),
    oldObject: machineSet(before, ownerReferences),
  });
}

/** The KubeadmControlPlane controller, as clusterctl installs it (clusterApi.controlPlaneUsers' default). */
const KCP_MANAGER: UserInfo = { username: 'system:serviceaccount:capi-kubeadm-control-plane-system:capi-kubeadm-control-plane-manager', groups: ['system:serviceaccounts'] };

function machineDelete(name: string, nodeName: string, labels: Record<string, string>, userInfo: UserInfo = KCP_MANAGER): AdmissionRequest {
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
    operation: 'DELETE',
    namespace: 'capi',
    name,
    userInfo,
    oldObject: { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Machine', metadata: { name, namespace: 'capi', labels }, status: { nodeRef: { name: nodeName } } },
  });
}

const md = (version: string, annotations: Record<string, string> = {}) => ({
  apiVersion: 'cluster.x-k8s.io/v1beta1',
  kind: 'MachineDeployment',
  metadata: { name: 'md-a', namespace: 'capi', annotations },
  spec: {
    replicas: 1,
    clusterName: 'c1',
    template: { spec: { version, clusterName: 'c1', infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'DockerMachineTemplate', name: 'md-a' } } },
  },
  status: { replicas: 1, updatedReplicas: 1 },
});

function mdUpdate(annotations: Record<string, string> = {}): AdmissionRequest {
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'MachineDeployment' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machinedeployments' },
    operation: 'UPDATE',
    namespace: 'capi',
    name: 'md-a',
    userInfo: ADMIN,
    object: md('v1.31.4', annotations),
    oldObject: md('v1.30.8', annotations),
  });
}

const message = (decision: Decision): string => decision.status?.message ?? '';

describe("a MachineDeployment's or KubeadmControlPlane's skip carried to the steps of its rollout", () => {
  const machines = machineValidator(defaultConfig());

  it('the rollout passes with its skip, and so does the scale-down of its old MachineSet, audited as carried', () => {
    const skip = { 'volume-guard.io/skip': 'single-replica', ...SKIP_BY };
    const refused = upgradeValidator(defaultConfig()).handle(mdUpdate(), context(cluster()));
    expect(refused.allowed).toBe(false);
    expect(message(refused)).toContain('kubectl annotate machinedeployments.cluster.x-k8s.io md-a');
    expect(upgradeValidator(defaultConfig()).handle(mdUpdate(skip), context(cluster({ mdAnnotations: skip }))).allowed).toBe(true);

    // Without the owner's skip (or before the informer shows it), the scale-down is refused on h1, both checks.
    const alone = machines.handle(machineSetScaleDown(1, 0), context(cluster()));
    expect(alone.allowed).toBe(false);
    expect(alone.deniedChecks).toEqual(expect.arrayContaining(['single-replica', 'last-replica-on-node']));

    const carried = machines.handle(machineSetScaleDown(1, 0), context(cluster({ mdAnnotations: skip })));
    expect(carried.allowed).toBe(true);
    expect(carried.overrides).toEqual(expect.arrayContaining(['single-replica', 'last-replica-on-node']));
    expect(carried.auditAnnotations?.['override-source']).toBe('MachineDeployment capi/md-a (volume-guard.io/skip, owning Machine m-old-1)');
    expect(carried.auditAnnotations?.['override-writer']).toBe('admin');
    expect(carried.auditAnnotations?.['override-reason']).toBe('rollout, INC-7');
  });

  it("the Machine DELETEs of a KubeadmControlPlane's rollout carry its skip; a MachineDeployment's Machines' DELETEs do not", () => {
    const skip = { 'volume-guard.io/skip': 'single-replica', ...SKIP_BY };
    const cpMachine = machineDelete('cp-1', 'h4', { 'cluster.x-k8s.io/control-plane-name': 'cp' });
    expect(machines.handle(cpMachine, context(cluster())).allowed).toBe(false);
    const cp = machines.handle(cpMachine, context(cluster({ cpAnnotations: skip })));
    expect(cp.allowed).toBe(true);
    expect(cp.auditAnnotations?.['override-source']).toBe('KubeadmControlPlane capi/cp (volume-guard.io/skip, owning Machine cp-1)');
    // Another owner's skip does not reach it.
    expect(machines.handle(cpMachine, context(cluster({ mdAnnotations: skip }))).allowed).toBe(false);
    // A person's `kubectl delete machine cp-1` is no step of the rollout the admin accepted: not carried.
    const byPerson = machines.handle({ ...cpMachine, userInfo: { username: 'alice', groups: ['system:authenticated'] } }, context(cluster({ cpAnnotations: skip })));
    expect(byPerson.allowed).toBe(false);
    expect(message(byPerson)).toContain('vol-cp');
    // Nor is another controller's, whatever service account it runs as: only the KubeadmControlPlane's own.
    for (const user of [CAPI_MANAGER, { username: 'system:serviceaccount:default:ci-bot', groups: ['system:serviceaccounts'] }]) {
      expect(machines.handle({ ...cpMachine, userInfo: user }, context(cluster({ cpAnnotations: skip }))).allowed, user.username).toBe(false);
    }
    // A control plane provider installed elsewhere is named in clusterApi.controlPlaneUsers.
    const elsewhere: Config = { ...defaultConfig(), clusterApi: { controlPlaneUsers: [CAPI_MANAGER.username] } };
    const byConfigured = machineValidator(elsewhere).handle({ ...cpMachine, userInfo: CAPI_MANAGER }, context(cluster({ cpAnnotations: skip }), { config: elsewhere }));
    expect(byConfigured.allowed).toBe(true);
    expect(machines.handle(cpMachine, context(cluster({ cpAnnotations: skip }), { config: elsewhere })).allowed).toBe(false);

    // A MachineDeployment's rollout removes Machines by scaling its old MachineSet down (carried there, above); a
    // DELETE of one of its Machines by anyone else (a person, a MachineHealthCheck remediation) is no rollout step.
    const mdMachine = machineDelete('m-old-1', 'h1', { 'cluster.x-k8s.io/set-name': 'md-a-old', 'cluster.x-k8s.io/deployment-name': 'md-a' });
    expect(machines.handle(mdMachine, context(cluster())).allowed).toBe(false);
    expect(machines.handle(mdMachine, context(cluster({ mdAnnotations: skip }))).allowed).toBe(false);
  });

  it('a volume left with one copy by an earlier step of the rollout is not waived by its single-replica skip', () => {
    const skip = { 'volume-guard.io/skip': 'single-replica', ...SKIP_BY };
    const model = cluster({ cpAnnotations: skip });
    // vol-2 (numberOfReplicas 2) had copies on h3 and h4; h3's node went down with an earlier Machine of the rollout.
    const { volume, replicas } = volumeWithReplicas('vol-2', ['h3', 'h4'], { state: 'attached' });
    model.upsert('longhornVolume', volume);
    for (const replica of replicas) model.upsert('longhornReplica', replica);
    model.upsert('node', node({ name: 'h3', ready: 'False', readySince: Date.now() - 3_600_000 }));
    const decision = machines.handle(machineDelete('cp-1', 'h4', { 'cluster.x-k8s.io/control-plane-name': 'cp' }), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.deniedChecks).toEqual(['last-replica-on-node']);
    expect(message(decision)).toContain('vol-2');
  });

  it('single-replica does not take the last copy of a volume whose other copies go with the same scale-down', () => {
    const skip = { 'volume-guard.io/skip': 'single-replica', ...SKIP_BY };
    const model = cluster({ mdAnnotations: skip, twoOld: true });
    // vol-2 keeps two healthy copies, on h1 and h2: no single-replica volume, reported at no rollout; the whole old
    // MachineSet going at once takes both.
    const { volume, replicas } = volumeWithReplicas('vol-2', ['h1', 'h2'], { state: 'attached' });
    model.upsert('longhornVolume', volume);
    for (const replica of replicas) model.upsert('longhornReplica', replica);
    const decision = machines.handle(machineSetScaleDown(2, 0), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.deniedChecks).toEqual(['last-replica-on-node']);
    expect(message(decision)).toContain('vol-2');
    expect(message(decision)).not.toContain('vol-s');
  });

  it("not to a MachineSet the MachineDeployment does not control, whatever its deployment-name label says", () => {
    // The MachineDeployment controller scales only the MachineSets it controls (getMachineSetsForDeployment keeps
    // those metav1.IsControlledBy it), and the Machines take the label from their MachineSet's own labels
    // (machineLabelsFromMachineSet): a standalone MachineSet labelled with md-a's name is no step of md-a's rollout.
    const skip = { 'volume-guard.io/skip': 'single-replica', ...SKIP_BY };
    const model = cluster({ mdAnnotations: skip });
    const standalone = machines.handle(machineSetScaleDown(1, 0, [], ADMIN), context(model));
    expect(standalone.allowed).toBe(false);
    expect(standalone.deniedChecks).toEqual(expect.arrayContaining(['single-replica', 'last-replica-on-node']));
    expect(standalone.auditAnnotations?.['override-source']).toBeUndefined();
    // Controlled by another MachineDeployment, or owned by md-a without being its controller: not md-a's either.
    expect(machines.handle(machineSetScaleDown(1, 0, controlledBy('md-b')), context(model)).allowed).toBe(false);
    const notController = [{ ...controlledBy('md-a')[0], controller: false }];
    expect(machines.handle(machineSetScaleDown(1, 0, notController), context(model)).allowed).toBe(false);
    // Through the scale subresource the Scale shows no owner: the MachineDeployment controller patches the MachineSet
    // itself, so a scale there (an autoscaler's, a person's) carries no MachineDeployment's skip.
    const scale = (replicas: number) => ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'md-a-old', namespace: 'capi' }, spec: replicas ? { replicas } : {} });
    const viaScale = request({
      kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
      resource: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machinesets' },
      subResource: 'scale',
      operation: 'UPDATE',
      namespace: 'capi',
      name: 'md-a-old',
      userInfo: ADMIN,
      object: scale(0),
      oldObject: scale(1),
    });
    expect(machines.handle(viaScale, context(model)).allowed).toBe(false);
    // The MachineSet md-a controls still carries it.
    expect(machines.handle(machineSetScaleDown(1, 0), context(model)).allowed).toBe(true);
  });

  it('only the checks it names, only while it counts, only for a policed kind', () => {
    const nodeLocalOnly = { 'volume-guard.io/skip': 'node-local-volume', ...SKIP_BY };
    expect(machines.handle(machineSetScaleDown(1, 0), context(cluster({ mdAnnotations: nodeLocalOnly }))).allowed).toBe(false);

    const expired = { 'volume-guard.io/skip': 'single-replica', ...SKIP_BY, 'volume-guard.io/skip-until': '2020-01-01T00:00:00Z' };
    const lapsed = machines.handle(machineSetScaleDown(1, 0), context(cluster({ mdAnnotations: expired })));
    expect(lapsed.allowed).toBe(false);
    expect(lapsed.warnings?.join(' ')).toContain('override on MachineDeployment capi/md-a (volume-guard.io/skip, owning Machine m-old-1) ignored');

    const unrecorded = { 'volume-guard.io/skip': 'single-replica' };
    expect(machines.handle(machineSetScaleDown(1, 0), context(cluster({ mdAnnotations: unrecorded }))).allowed).toBe(false);

    // MachineDeployments left out of upgrades.kinds: the override guard never policed their annotations.
    const config = defaultConfig();
    const unpoliced: Config = { ...config, upgrades: { ...config.upgrades, kinds: config.upgrades.kinds.filter((kind) => kind.kind !== 'MachineDeployment') } };
    const skip = { 'volume-guard.io/skip': 'single-replica', ...SKIP_BY };
    expect(machineValidator(unpoliced).handle(machineSetScaleDown(1, 0), context(cluster({ mdAnnotations: skip }), { config: unpoliced })).allowed).toBe(false);
  });
});

describe("a Cluster API rollout judges the node-local PVs of the nodes it replaces", () => {
  /** A bound local PV on h1 used by db-0, h1 being md-a's only Machine's node (no Longhorn volume). */
  function withLocalPV(): ClusterModel {
    const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
    for (const name of ['h1', 'h2']) model.upsert('node', node({ name }));
    model.upsert('persistentVolume', localPV({ name: 'pv-db', pinnedNode: 'h1', claimName: 'data-db-0' }));
    model.upsert('persistentVolumeClaim', pvc({ name: 'data-db-0', volumeName: 'pv-db' }));
    model.upsert('pod', pod({ name: 'db-0', nodeName: 'h1', claimNames: ['data-db-0'], controllerKind: 'StatefulSet' }));
    model.upsert('machine', machine({ namespace: 'capi', name: 'm-old-1', nodeName: 'h1', machineSet: 'md-a-old', machineDeployment: 'md-a' }));
    return model;
  }

  it("refuses the MachineDeployment update up front, and its skip of node-local-volume passes it and its old MachineSet's scale-down", () => {
    const upgrades = upgradeValidator(defaultConfig());
    const refused = upgrades.handle(mdUpdate(), context(withLocalPV()));
    expect(refused.allowed).toBe(false);
    expect(refused.deniedChecks).toEqual(['node-local-volume']);
    expect(message(refused)).toContain('pv-db');
    expect(message(refused)).toContain('upgrading node h1');

    const skip = { 'volume-guard.io/skip': 'node-local-volume', ...SKIP_BY };
    const model = withLocalPV();
    model.upsert('machineDeployment', machineOwner({ namespace: 'capi', name: 'md-a', annotations: skip }));
    expect(upgrades.handle(mdUpdate(skip), context(model)).allowed).toBe(true);
    expect(machineValidator(defaultConfig()).handle(machineSetScaleDown(1, 0), context(withLocalPV())).allowed).toBe(false);
    expect(machineValidator(defaultConfig()).handle(machineSetScaleDown(1, 0), context(model)).allowed).toBe(true);
  });

  it('only on the nodes of its Machines, and never for an upgrade that reboots nodes in place', () => {
    const model = withLocalPV();
    model.upsert('machine', machine({ namespace: 'capi', name: 'm-old-1', nodeName: 'h2', machineSet: 'md-a-old', machineDeployment: 'md-a' }));
    expect(upgradeValidator(defaultConfig()).handle(mdUpdate(), context(model)).allowed).toBe(true);

    // A system-upgrade-controller Plan upgrades h1 in place: its local PV is there when it is back.
    const plan = (version: string) => ({ apiVersion: 'upgrade.cattle.io/v1', kind: 'Plan', metadata: { name: 'p' }, spec: { version, concurrency: 1, nodeSelector: {} } });
    const planUpdate = request({
      kind: { group: 'upgrade.cattle.io', version: 'v1', kind: 'Plan' },
      resource: { group: 'upgrade.cattle.io', version: 'v1', resource: 'plans' },
      operation: 'UPDATE',
      namespace: 'system-upgrade',
      name: 'p',
      object: plan('v1.31.4+k3s1'),
      oldObject: plan('v1.30.8+k3s1'),
    });
    expect(upgradeValidator(defaultConfig()).handle(planUpdate, context(withLocalPV())).allowed).toBe(true);
  });
});

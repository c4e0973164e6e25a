// Cluster API's Machine controller asks at every reconcile of a Machine being deleted whether it may drain its node
// (reconcileDelete calls isDeleteNodeAllowed each time, and drains only when it passes): not once the Cluster is being
// deleted (errClusterIsBeingDeleted), nor once the Cluster's control plane object is (errControlPlaneIsBeingDeleted),
// nor once no control-plane Machine of the Cluster is active, i.e. not being deleted (errNoControlPlaneNodes). It
// then deletes the infrastructure machine at once. So while a Machine's drain is under way and held (Longhorn's
// block-for-eviction holding the evictions until its last copies are rebuilt elsewhere), the DELETE of the Cluster,
// of its KubeadmControlPlane, or of the last other active control-plane Machine ends that drain: the copies the
// drain was waiting on go with the node. Those DELETEs are judged for the nodes of the Machines whose drain they end.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { machineValidator } from '../../../src/admission/validators/machine.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformClusterApiCluster, transformMachine, transformMachineDrainRule, transformMachineOwner, transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, longhornSetting, node, replica, volume } from '../../support/fixtures.ts';

const validator = machineValidator(defaultConfig());
const NS = 'capi';
const DELETED = { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['machine.cluster.x-k8s.io'] };
const NODE_SKIP = { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-reason': 'moved by hand', 'volume-guard.io/skip-by': 'admin' };

interface MachineSpec {
  readonly name: string;
  readonly node: string;
  readonly controlPlane?: boolean;
  readonly deleting?: boolean;
  readonly annotations?: Record<string, string>;
}

function machineObject(spec: MachineSpec): Record<string, unknown> {
  const labels: Record<string, string> = { 'cluster.x-k8s.io/cluster-name': 'c1' };
  if (spec.controlPlane) Object.assign(labels, { 'cluster.x-k8s.io/control-plane': '', 'cluster.x-k8s.io/control-plane-name': 'kcp' });
  else labels['cluster.x-k8s.io/set-name'] = 'ms';
  return {
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'Machine',
    metadata: { name: spec.name, namespace: NS, labels, ...(spec.annotations ? { annotations: spec.annotations } : {}), ...(spec.deleting ? DELETED : {}) },
    spec: { clusterName: 'c1' },
    status: { nodeRef: { name: spec.node } },
  };
}

const CP: MachineSpec = { name: 'cp-0', node: 'cp', controlPlane: true };
const CP2: MachineSpec = { name: 'cp-1', node: 'cp2', controlPlane: true };
/** The worker whose drain is under way: its node w1 holds vol-1's only copy, which block-for-eviction is moving. */
const DRAINING: MachineSpec = { name: 'w-0', node: 'w1', deleting: true };

/** Nodes cp, cp2, w1, w2; vol-1's only replica on w1; Longhorn's block-for-eviction drain policy; Cluster c1 with KCP kcp. */
function cluster(machines: readonly MachineSpec[], options: { nodeSkip?: boolean } = {}): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  m.setLonghornInstalled(true);
  for (const name of ['cp', 'cp2', 'w1', 'w2']) {
    m.upsert('node', node({ name, ...(name === 'w1' ? { unschedulable: true } : {}), ...(name === 'w1' && options.nodeSkip ? { annotations: NODE_SKIP } : {}) }));
    m.upsert('longhornNode', longhornNode({ name }));
  }
  m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
  m.upsert('longhornVolume', volume({ name: 'vol-1', numberOfReplicas: 1, currentNodeID: 'w1' }));
  m.upsert('longhornReplica', replica({ volumeName: 'vol-1', nodeID: 'w1' }));
  for (const spec of machines) m.upsert('machine', transformMachine(machineObject(spec))!);
  m.upsert(
    'clusterApiCluster',
    transformClusterApiCluster({
      metadata: { name: 'c1', namespace: NS },
      spec: { controlPlaneRef: { apiGroup: 'controlplane.cluster.x-k8s.io', kind: 'KubeadmControlPlane', name: 'kcp' } },
    })!,
  );
  m.upsert('kubeadmControlPlane', transformMachineOwner({ metadata: { name: 'kcp', namespace: NS } })!);
  return m;
}

function deleteMachine(spec: MachineSpec): AdmissionRequest {
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
    operation: 'DELETE',
    namespace: NS,
    name: spec.name,
    oldObject: machineObject(spec),
  });
}

function deleteCluster(name = 'c1'): AdmissionRequest {
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Cluster' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'clusters' },
    operation: 'DELETE',
    namespace: NS,
    name,
    oldObject: { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster', metadata: { name, namespace: NS }, spec: {} },
  });
}

function deleteControlPlane(name = 'kcp', deleting = false): AdmissionRequest {
  return request({
    kind: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta2', kind: 'KubeadmControlPlane' },
    resource: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta2', resource: 'kubeadmcontrolplanes' },
    operation: 'DELETE',
    namespace: NS,
    name,
    oldObject: { apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2', kind: 'KubeadmControlPlane', metadata: { name, namespace: NS, ...(deleting ? DELETED : {}) }, spec: {} },
  });
}

const flat = (text: string | undefined) => (text ?? '').replace(/\s+/g, ' ');

describe('requests that end the held drain of a Machine being deleted', () => {
  it('the DELETE of the last other active control-plane Machine: the worker is no longer drained, refused', () => {
    const decision = validator.handle(deleteMachine(CP), context(cluster([CP, DRAINING])));
    expect(decision.allowed).toBe(false);
    const message = flat(decision.status?.message);
    expect(message).toContain('ends the drain of Machine capi/w-0 (node w1)');
    expect(message).toContain('vol-1');
    expect(flat(decision.warnings?.join(' '))).toContain('no control-plane Machine of Cluster capi/c1 stays active');
  });

  it('another control-plane Machine stays active: the worker is still drained, allowed', () => {
    expect(validator.handle(deleteMachine(CP), context(cluster([CP, CP2, DRAINING]))).allowed).toBe(true);
  });

  it('`kubectl delete machine cp-1 cp-0`: the second DELETE leaves none active, refused', () => {
    const model = cluster([CP, CP2, DRAINING]);
    model.admitRemoval({ kind: 'machine', namespace: NS, name: 'cp-1', node: 'cp2' });
    expect(validator.handle(deleteMachine(CP), context(model)).allowed).toBe(false);
  });

  it('the DELETE of the KubeadmControlPlane: refused, naming the Machine and its node', () => {
    const decision = validator.handle(deleteControlPlane(), context(cluster([CP, DRAINING])));
    expect(decision.allowed).toBe(false);
    expect(flat(decision.status?.message)).toContain('deletion of KubeadmControlPlane capi/kcp, which ends the drain of Machine capi/w-0 (node w1)');
    expect(flat(decision.warnings?.join(' '))).toContain('KubeadmControlPlane capi/kcp of Cluster capi/c1 is being deleted');
  });

  it('the DELETE of the Cluster: refused', () => {
    const decision = validator.handle(deleteCluster(), context(cluster([CP, DRAINING])));
    expect(decision.allowed).toBe(false);
    expect(flat(decision.status?.message)).toContain('deletion of Cluster capi/c1, which ends the drain of Machine capi/w-0 (node w1)');
    expect(flat(decision.status?.message)).toContain('kubectl annotate node w1');
  });

  it("the node's skip passes them, as it passed the Machine's DELETE", () => {
    const model = cluster([CP, DRAINING], { nodeSkip: true });
    for (const review of [deleteCluster(), deleteControlPlane(), deleteMachine(CP)]) expect(validator.handle(review, context(model)).allowed).toBe(true);
  });

  it('a drain already cut short (exclude-node-draining, judged when added) is not judged again', () => {
    const excluded = { ...DRAINING, annotations: { 'machine.cluster.x-k8s.io/exclude-node-draining': '' } };
    const model = cluster([CP, excluded]);
    for (const review of [deleteCluster(), deleteControlPlane(), deleteMachine(CP)]) expect(validator.handle(review, context(model)).allowed).toBe(true);
  });

  it('another Cluster, a KubeadmControlPlane the Cluster does not name, one already being deleted: nothing ends', () => {
    const model = cluster([CP, DRAINING]);
    expect(validator.handle(deleteCluster('c2'), context(model)).allowed).toBe(true);
    expect(validator.handle(deleteControlPlane('other'), context(model)).allowed).toBe(true);
    expect(validator.handle(deleteControlPlane('kcp', true), context(model)).allowed).toBe(true);
  });

  it('the drain done (the copy moved off): nothing left to lose, allowed', () => {
    const model = cluster([CP, DRAINING]);
    model.upsert('longhornReplica', replica({ volumeName: 'vol-1', nodeID: 'w2' }));
    model.remove('longhornReplica', `longhorn-system/${replica({ volumeName: 'vol-1', nodeID: 'w1' }).name}`);
    expect(validator.handle(deleteCluster(), context(model)).allowed).toBe(true);
  });
});

// Cluster API's drain lists the MachineDrainRules of the Machine's namespace at every pass (drain.go
// GetPodsForEviction, getMatchingMachineDrainRules): a rule written while the drain holds, making Longhorn's
// instance-manager pods skipped, lets the drain complete without waiting on their PodDisruptionBudget.
const IM_POD = {
  metadata: {
    name: 'instance-manager-0123abcd',
    namespace: 'longhorn-system',
    labels: { 'longhorn.io/component': 'instance-manager', 'longhorn.io/instance-manager-type': 'aio', 'longhorn.io/node': 'w1' },
    ownerReferences: [{ apiVersion: 'longhorn.io/v1beta2', kind: 'InstanceManager', name: 'instance-manager-0123abcd', controller: true }],
  },
  spec: { nodeName: 'w1' },
  status: { phase: 'Running' },
};

function drainRule(name: string, behavior: string, pods?: unknown[]): Record<string, unknown> {
  return { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'MachineDrainRule', metadata: { name, namespace: NS }, spec: { drain: { behavior }, ...(pods ? { pods } : {}) } };
}

function writeRule(operation: 'CREATE' | 'UPDATE' | 'DELETE', object: Record<string, unknown> | null, oldObject: Record<string, unknown> | null = null): AdmissionRequest {
  const name = String(((object ?? oldObject)?.metadata as { name: string }).name);
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'MachineDrainRule' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machinedrainrules' },
    operation,
    namespace: NS,
    name,
    object,
    oldObject,
  });
}

function withPod(rules: readonly Record<string, unknown>[] = [], options: { nodeSkip?: boolean } = {}): ClusterModel {
  const model = cluster([CP, DRAINING], options);
  model.upsert('pod', transformPod(IM_POD)!);
  for (const rule of rules) model.upsert('machineDrainRule', transformMachineDrainRule(rule)!);
  return model;
}

const IM_SELECTOR = [{ selector: { matchLabels: { 'longhorn.io/component': 'instance-manager' } } }];

describe('MachineDrainRule writes that make the held drain skip Longhorn', () => {
  it('a Skip rule for the instance managers created while the drain holds: refused, naming the rule, the Machine and its node', () => {
    const decision = validator.handle(writeRule('CREATE', drainRule('skip-longhorn', 'Skip', IM_SELECTOR)), context(withPod()));
    expect(decision.allowed).toBe(false);
    expect(flat(decision.status?.message)).toContain('creation of MachineDrainRule capi/skip-longhorn, which ends the drain of Machine capi/w-0 (node w1)');
    expect(flat(decision.warnings?.join(' '))).toContain('MachineDrainRule skip-longhorn skips');
  });

  it('a rule updated to Skip, or the Drain rule ahead of a Skip one deleted: refused', () => {
    const drain = drainRule('a-drain', 'Drain', IM_SELECTOR);
    const skip = drainRule('b-skip', 'Skip');
    expect(validator.handle(writeRule('UPDATE', drainRule('a-drain', 'Skip', IM_SELECTOR), drain), context(withPod([drain]))).allowed).toBe(false);
    expect(validator.handle(writeRule('DELETE', null, drain), context(withPod([drain, skip]))).allowed).toBe(false);
  });

  it('WaitCompleted, Drain, a rule for other pods, the node skip: the drain still holds or the skip passes it', () => {
    const model = withPod();
    expect(validator.handle(writeRule('CREATE', drainRule('wait', 'WaitCompleted', IM_SELECTOR)), context(model)).allowed).toBe(true);
    expect(validator.handle(writeRule('CREATE', drainRule('drain', 'Drain')), context(model)).allowed).toBe(true);
    expect(validator.handle(writeRule('CREATE', drainRule('other', 'Skip', [{ selector: { matchLabels: { app: 'web' } } }])), context(model)).allowed).toBe(true);
    expect(validator.handle(writeRule('CREATE', drainRule('skip-longhorn', 'Skip', IM_SELECTOR)), context(withPod([], { nodeSkip: true }))).allowed).toBe(true);
  });
});

// The drain reads the pods' labels at every pass too (drainLabelFilter: `cluster.x-k8s.io/drain: skip`, any case, skips
// the pod before any MachineDrainRule is read).
function relabel(labels: Record<string, string>, before: Record<string, string> = {}): AdmissionRequest {
  const withLabels = (extra: Record<string, string>) => ({ ...IM_POD, metadata: { ...IM_POD.metadata, labels: { ...IM_POD.metadata.labels, ...extra } } });
  return request({
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'UPDATE',
    namespace: 'longhorn-system',
    name: IM_POD.metadata.name,
    object: withLabels(labels),
    oldObject: withLabels(before),
  });
}

describe('the drain label added to a held instance-manager pod', () => {
  it('`kubectl label pod instance-manager-… cluster.x-k8s.io/drain=skip` while the drain holds: refused', () => {
    const decision = validator.handle(relabel({ 'cluster.x-k8s.io/drain': 'Skip' }), context(withPod()));
    expect(decision.allowed).toBe(false);
    expect(flat(decision.status?.message)).toContain(
      'label cluster.x-k8s.io/drain=Skip on pod longhorn-system/instance-manager-0123abcd, which ends the drain of Machine capi/w-0 (node w1)',
    );
  });

  it('wait-completed, another label, a pod whose node is not being removed, the node skip: allowed', () => {
    expect(validator.handle(relabel({ 'cluster.x-k8s.io/drain': 'wait-completed' }), context(withPod())).allowed).toBe(true);
    expect(validator.handle(relabel({ team: 'storage' }), context(withPod())).allowed).toBe(true);
    expect(validator.handle(relabel({ 'cluster.x-k8s.io/drain': 'skip' }), context(withPod([], { nodeSkip: true }))).allowed).toBe(true);
    const idle = cluster([CP, { ...DRAINING, deleting: false }]);
    idle.upsert('pod', transformPod(IM_POD)!);
    expect(validator.handle(relabel({ 'cluster.x-k8s.io/drain': 'skip' }), context(idle)).allowed).toBe(true);
  });
});

// A MachineDrainRule applies to the Machines its spec.machines selectors match, read from the Machine's labels at every
// pass (machineDrainRuleAppliesToMachine): a label put on a Machine being deleted can make a Skip rule apply to it.
describe("a Machine's labels changed while its drain holds", () => {
  function relabelMachine(labels: Record<string, string>): AdmissionRequest {
    const before = machineObject(DRAINING);
    const meta = before.metadata as { labels: Record<string, string> };
    const after = { ...before, metadata: { ...meta, labels: { ...meta.labels, ...labels } } };
    return request({
      kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
      resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
      operation: 'UPDATE',
      namespace: NS,
      name: DRAINING.name,
      object: after,
      oldObject: before,
    });
  }
  const storageOnly = { ...drainRule('skip-storage', 'Skip', IM_SELECTOR), spec: { drain: { behavior: 'Skip' }, machines: [{ selector: { matchLabels: { pool: 'storage' } } }], pods: IM_SELECTOR } };

  it('a label that makes a Skip rule apply to it: refused', () => {
    const decision = validator.handle(relabelMachine({ pool: 'storage' }), context(withPod([storageOnly])));
    expect(decision.allowed).toBe(false);
    expect(flat(decision.status?.message)).toContain('Machine capi/w-0 (node w1), being deleted: its labels changed');
    expect(flat(decision.warnings?.join(' '))).toContain('MachineDrainRule skip-storage skips');
  });

  it('a label no rule selects: allowed', () => {
    expect(validator.handle(relabelMachine({ pool: 'compute' }), context(withPod([storageOnly]))).allowed).toBe(true);
  });
});

describe("an instance-manager pod's other labels changed while the drain holds", () => {
  it('a label a Skip rule selects: refused', () => {
    const tagged = drainRule('skip-tagged', 'Skip', [{ selector: { matchLabels: { 'drain-policy': 'none' } } }]);
    const decision = validator.handle(relabel({ 'drain-policy': 'none' }), context(withPod([tagged])));
    expect(decision.allowed).toBe(false);
    expect(flat(decision.status?.message)).toContain('labels changed on pod longhorn-system/instance-manager-0123abcd, which ends the drain of Machine capi/w-0 (node w1)');
  });
});

describe("a Machine's labels changed while its drain holds, read as Cluster API reads them", () => {
  it('the control-plane label put on a worker being deleted changes nothing Cluster API counts (no active control-plane Machine either way): allowed', () => {
    // A Cluster whose control-plane Machines are out of view: the worker's drain is judged as held.
    const model = cluster([DRAINING]);
    const before = machineObject(DRAINING);
    const meta = before.metadata as { labels: Record<string, string> };
    const after = { ...before, metadata: { ...meta, labels: { ...meta.labels, 'cluster.x-k8s.io/control-plane': '' } } };
    const review = request({
      kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
      resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
      operation: 'UPDATE',
      namespace: NS,
      name: DRAINING.name,
      object: after,
      oldObject: before,
    });
    expect(validator.handle(review, context(model)).allowed).toBe(true);
  });
});

// The rules' clusterSelector reads the Cluster's labels, their namespaceSelector the pod's Namespace's, at every pass
// (machineDrainRuleAppliesToMachine, machineDrainRulesFilter over the Namespaces listed each time).
describe("a Cluster's or the Longhorn namespace's labels changed while the drain holds", () => {
  function relabelled(resource: 'clusters' | 'namespaces', labels: Record<string, string>, namespaceName = 'longhorn-system'): AdmissionRequest {
    const cluster = resource === 'clusters';
    const before = cluster
      ? { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster', metadata: { name: 'c1', namespace: NS }, spec: {} }
      : { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespaceName } };
    return request({
      kind: cluster ? { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Cluster' } : { group: '', version: 'v1', kind: 'Namespace' },
      resource: cluster ? { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'clusters' } : { group: '', version: 'v1', resource: 'namespaces' },
      operation: 'UPDATE',
      namespace: cluster ? NS : '',
      name: before.metadata.name,
      object: { ...before, metadata: { ...before.metadata, labels } },
      oldObject: before,
    });
  }
  const byCluster = { ...drainRule('skip-env', 'Skip', IM_SELECTOR), spec: { drain: { behavior: 'Skip' }, machines: [{ clusterSelector: { matchLabels: { env: 'lab' } } }], pods: IM_SELECTOR } };
  const byNamespace = drainRule('skip-ns', 'Skip', [{ namespaceSelector: { matchLabels: { tier: 'scratch' } } }]);

  it('a Cluster label that makes a Skip rule apply: refused, naming the Machine and its node', () => {
    const decision = validator.handle(relabelled('clusters', { env: 'lab' }), context(withPod([byCluster])));
    expect(decision.allowed).toBe(false);
    expect(flat(decision.status?.message)).toContain('labels changed on Cluster capi/c1, which ends the drain of Machine capi/w-0 (node w1)');
    expect(validator.handle(relabelled('clusters', { env: 'prod' }), context(withPod([byCluster]))).allowed).toBe(true);
  });

  it("a Longhorn namespace label that makes a Skip rule's namespaceSelector match its instance managers: refused", () => {
    const decision = validator.handle(relabelled('namespaces', { tier: 'scratch' }), context(withPod([byNamespace])));
    expect(decision.allowed).toBe(false);
    expect(flat(decision.status?.message)).toContain('labels changed on Namespace longhorn-system, which ends the drain of Machine capi/w-0 (node w1)');
    expect(validator.handle(relabelled('namespaces', { tier: 'gold' }), context(withPod([byNamespace]))).allowed).toBe(true);
  });

  it("another namespace's labels are neither sent nor judged: no instance manager runs there", () => {
    expect(validator.handle(relabelled('namespaces', { tier: 'scratch' }, 'team-a'), context(withPod([byNamespace]))).allowed).toBe(true);
    const condition = validator.declaration.matchConditions?.[0]?.expression ?? '';
    expect(condition).toContain("request.resource.resource == 'namespaces' ? (request.operation == 'UPDATE' && request.name == 'longhorn-system' && ");
  });
});

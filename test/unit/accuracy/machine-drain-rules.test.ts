// Longhorn's node-drain-policy block-for-eviction keeps a node's last copies by a PodDisruptionBudget on its
// instance-manager pods, which holds a drain only while the drain evicts them. Cluster API's drain skips a pod labelled
// cluster.x-k8s.io/drain=skip, and a pod the first MachineDrainRule (by name) applying to the Machine and the pod says
// Skip for (internal/controllers/machine/drain filters.go: drainLabelFilter, machineDrainRulesFilter): then the drain
// completes without waiting on Longhorn, the node and its disks go, and the removal is refused as under any other
// policy. WaitCompleted, Drain and rules that do not apply leave the hold in place.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { machineValidator } from '../../../src/admission/validators/machine.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import {
  transformClusterApiCluster,
  transformMachine,
  transformMachineDrainRule,
  transformNamespace,
  transformPod,
} from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, longhornSetting, node, replica, volume } from '../../support/fixtures.ts';

const validator = machineValidator(defaultConfig());

const IM_LABELS = {
  'longhorn.io/component': 'instance-manager',
  'longhorn.io/instance-manager-type': 'aio',
  'longhorn.io/managed-by': 'longhorn-manager',
  'longhorn.io/node': 'w1',
};

const MACHINE = {
  apiVersion: 'cluster.x-k8s.io/v1beta2',
  kind: 'Machine',
  metadata: {
    name: 'm1',
    namespace: 'capi',
    labels: { 'cluster.x-k8s.io/set-name': 'ms', 'cluster.x-k8s.io/deployment-name': 'md', 'cluster.x-k8s.io/cluster-name': 'c1', pool: 'storage' },
  },
  spec: { clusterName: 'c1' },
  status: { nodeRef: { name: 'w1' } },
};

function instanceManagerPod(labels: Record<string, string> = {}, namespace = 'longhorn-system') {
  return {
    metadata: {
      name: 'instance-manager-0123abcd',
      namespace,
      labels: { ...IM_LABELS, ...labels },
      ownerReferences: [{ apiVersion: 'longhorn.io/v1beta2', kind: 'InstanceManager', name: 'instance-manager-0123abcd', controller: true }],
    },
    spec: { nodeName: 'w1' },
    status: { phase: 'Running' },
  };
}

interface Rule {
  name?: string;
  namespace?: string;
  behavior?: string;
  machines?: unknown[];
  pods?: unknown[];
}

function rule({ name = 'skip-longhorn', namespace = 'capi', behavior = 'Skip', machines, pods }: Rule) {
  return {
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'MachineDrainRule',
    metadata: { name, namespace },
    spec: { drain: { behavior }, ...(machines ? { machines } : {}), ...(pods ? { pods } : {}) },
  };
}

const IM_SELECTOR = { selector: { matchLabels: { 'longhorn.io/component': 'instance-manager' } } };

/** w1 holds the only copy of vol-1 under block-for-eviction; Machine m1 on w1; the given rules, pod and Cluster. */
function cluster(options: { rules?: unknown[]; pod?: unknown; clusterLabels?: Record<string, string>; noPod?: boolean } = {}): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  m.setLonghornInstalled(true);
  for (const name of ['w1', 'w2']) {
    m.upsert('node', node({ name }));
    m.upsert('longhornNode', longhornNode({ name }));
  }
  m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
  m.upsert('longhornVolume', volume({ name: 'vol-1', numberOfReplicas: 1, currentNodeID: 'w1' }));
  m.upsert('longhornReplica', replica({ volumeName: 'vol-1', nodeID: 'w1' }));
  m.upsert('namespace', transformNamespace({ metadata: { name: 'longhorn-system', labels: { 'kubernetes.io/metadata.name': 'longhorn-system', tier: 'storage' } } })!);
  if (!options.noPod) m.upsert('pod', transformPod(options.pod ?? instanceManagerPod())!);
  m.upsert('machine', transformMachine(MACHINE)!);
  m.upsert('clusterApiCluster', transformClusterApiCluster({ metadata: { name: 'c1', namespace: 'capi', labels: options.clusterLabels ?? { stage: 'production' } } })!);
  for (const raw of options.rules ?? []) m.upsert('machineDrainRule', transformMachineDrainRule(raw)!);
  return m;
}

function deleteMachine(): AdmissionRequest {
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
    operation: 'DELETE',
    namespace: 'capi',
    name: 'm1',
    oldObject: MACHINE,
  });
}

function scaleDown(): AdmissionRequest {
  const set = (replicas: number) => ({ apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'MachineSet', metadata: { name: 'ms', namespace: 'capi' }, spec: { replicas } });
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'MachineSet' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machinesets' },
    operation: 'UPDATE',
    namespace: 'capi',
    name: 'ms',
    object: set(0),
    oldObject: set(1),
  });
}

const said = (warnings: readonly string[] | undefined): string => (warnings ?? []).join(' ').replace(/\s+/g, ' ');

function expectRefused(model: ClusterModel, why: string): void {
  const deletion = validator.handle(deleteMachine(), context(model));
  expect(deletion.allowed).toBe(false);
  expect(deletion.status!.message).toContain('vol-1');
  expect(said(deletion.warnings)).toContain(why);
  const scale = validator.handle(scaleDown(), context(model));
  expect(scale.allowed).toBe(false);
  expect(scale.status!.message).toContain('vol-1');
  expect(said(scale.warnings)).toContain(why);
}

function expectHeld(model: ClusterModel): void {
  const deletion = validator.handle(deleteMachine(), context(model));
  expect(deletion.allowed).toBe(true);
  expect(said(deletion.warnings)).toContain('block-for-eviction moves them');
  expect(validator.handle(scaleDown(), context(model)).allowed).toBe(true);
}

describe('MachineDrainRules and the drain label on Longhorn instance-manager pods, under block-for-eviction', () => {
  it('no rule: the PodDisruptionBudget holds the drain, allowed with the warning', () => {
    expectHeld(cluster());
  });

  it('a Skip rule selecting the instance-manager pods: refused, naming the rule', () => {
    expectRefused(cluster({ rules: [rule({ pods: [IM_SELECTOR] })] }), "MachineDrainRule skip-longhorn skips Longhorn's instance-manager pods");
  });

  it('a Skip rule without spec.pods applies to every pod, without spec.machines to every Machine of its namespace', () => {
    expectRefused(cluster({ rules: [rule({})] }), 'MachineDrainRule skip-longhorn');
    // Another namespace's rules apply to its own Machines only.
    expectHeld(cluster({ rules: [rule({ namespace: 'other' })] }));
  });

  it('Drain and WaitCompleted rules leave the hold (WaitCompleted waits for good on a pod that never completes)', () => {
    expectHeld(cluster({ rules: [rule({ behavior: 'Drain', pods: [IM_SELECTOR] })] }));
    expectHeld(cluster({ rules: [rule({ behavior: 'WaitCompleted', pods: [IM_SELECTOR] })] }));
  });

  it('the first rule by name applying to the pod decides', () => {
    const drain = rule({ name: 'a-drain', behavior: 'Drain', pods: [IM_SELECTOR] });
    expectHeld(cluster({ rules: [rule({ name: 'b-skip', pods: [IM_SELECTOR] }), drain] }));
    expectRefused(cluster({ rules: [rule({ name: '0-skip', pods: [IM_SELECTOR] }), drain] }), 'MachineDrainRule 0-skip');
    // A first rule whose pods do not include the instance manager is passed over.
    const logging = rule({ name: '0-logging', behavior: 'Drain', pods: [{ selector: { matchLabels: { app: 'logging' } } }] });
    expectRefused(cluster({ rules: [logging, rule({ name: 'b-skip', pods: [IM_SELECTOR] })] }), 'MachineDrainRule b-skip');
  });

  it('spec.machines: a selector on the Machine labels ANDed with a clusterSelector on its Cluster labels, entries ORed', () => {
    const skipFor = (machines: unknown[]) => cluster({ rules: [rule({ machines, pods: [IM_SELECTOR] })] });
    expectRefused(skipFor([{ selector: { matchLabels: { pool: 'storage' } } }]), 'MachineDrainRule');
    expectHeld(skipFor([{ selector: { matchLabels: { pool: 'gpu' } } }]));
    expectRefused(skipFor([{ clusterSelector: { matchLabels: { stage: 'production' } } }]), 'MachineDrainRule');
    expectHeld(skipFor([{ selector: { matchLabels: { pool: 'storage' } }, clusterSelector: { matchLabels: { stage: 'dev' } } }]));
    expectRefused(skipFor([{ selector: { matchLabels: { pool: 'gpu' } } }, { clusterSelector: { matchLabels: { stage: 'production' } } }]), 'MachineDrainRule');
    // An empty selector selects everything.
    expectRefused(skipFor([{ selector: {} }]), 'MachineDrainRule');
  });

  it("spec.pods: a selector on the pod's labels ANDed with a namespaceSelector on its namespace's", () => {
    const skipFor = (pods: unknown[]) => cluster({ rules: [rule({ pods })] });
    expectRefused(skipFor([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'longhorn-system' } } }]), 'MachineDrainRule');
    expectRefused(skipFor([{ namespaceSelector: { matchLabels: { tier: 'storage' } }, selector: { matchExpressions: [{ key: 'longhorn.io/component', operator: 'Exists' }] } }]), 'MachineDrainRule');
    expectHeld(skipFor([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]));
    expectHeld(skipFor([{ selector: { matchExpressions: [{ key: 'longhorn.io/component', operator: 'NotIn', values: ['instance-manager'] }] } }]));
    expectRefused(skipFor([{ selector: { matchExpressions: [{ key: 'longhorn.io/component', operator: 'In', values: ['instance-manager', 'csi'] }] } }]), 'MachineDrainRule');
  });

  it('a rule with an invalid selector in the namespace fails every drain there: nothing is skipped', () => {
    const broken = rule({ name: 'broken', behavior: 'Drain', pods: [{ selector: { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] } }] });
    expectHeld(cluster({ rules: [broken, rule({ pods: [IM_SELECTOR] })] }));
  });

  it('the pod label cluster.x-k8s.io/drain: skip (any case) skips it; wait-completed takes precedence over the rules', () => {
    expectRefused(cluster({ pod: instanceManagerPod({ 'cluster.x-k8s.io/drain': 'skip' }) }), 'is labelled cluster.x-k8s.io/drain=skip');
    expectRefused(cluster({ pod: instanceManagerPod({ 'cluster.x-k8s.io/drain': 'Skip' }) }), 'cluster.x-k8s.io/drain=Skip');
    expectHeld(cluster({ pod: instanceManagerPod({ 'cluster.x-k8s.io/drain': 'wait-completed' }), rules: [rule({ pods: [IM_SELECTOR] })] }));
    // An unknown value is ignored: the rules decide.
    expectHeld(cluster({ pod: instanceManagerPod({ 'cluster.x-k8s.io/drain': 'never' }) }));
  });

  it("pods that are not Longhorn's instance managers do not count; with none known, Longhorn's labels stand for it", () => {
    expectHeld(cluster({ pod: instanceManagerPod({ 'cluster.x-k8s.io/drain': 'skip' }, 'elsewhere') }));
    expectRefused(cluster({ noPod: true, rules: [rule({ pods: [IM_SELECTOR] })] }), 'MachineDrainRule skip-longhorn');
    // Every instance manager carries its type (and, since 1.6, its data engine): a rule selecting by them skips the
    // pod Longhorn runs there whichever it is.
    const byType = { selector: { matchLabels: { 'longhorn.io/instance-manager-type': 'aio' } } };
    expectRefused(cluster({ noPod: true, rules: [rule({ pods: [byType] })] }), 'MachineDrainRule skip-longhorn');
    const byEngine = { selector: { matchExpressions: [{ key: 'longhorn.io/data-engine', operator: 'In', values: ['v2'] }] } };
    expectRefused(cluster({ noPod: true, rules: [rule({ pods: [byEngine] })] }), 'MachineDrainRule skip-longhorn');
    const otherComponent = { selector: { matchLabels: { 'longhorn.io/component': 'share-manager' } } };
    expectHeld(cluster({ noPod: true, rules: [rule({ pods: [otherComponent] })] }));
  });
});

describe('records', () => {
  it('keeps the labels of instance-manager pods only, and of namespaces', () => {
    expect(transformPod(instanceManagerPod())?.labels).toEqual(IM_LABELS);
    expect(transformPod({ metadata: { name: 'p', namespace: 'n', labels: { app: 'x' } }, spec: {} })?.labels).toBeUndefined();
    expect(transformNamespace({ metadata: { name: 'n', labels: { a: 'b' } } })?.labels).toEqual({ a: 'b' });
    expect(transformNamespace({ metadata: { name: 'n' } })?.labels).toBeUndefined();
  });

  it('reads a MachineDrainRule and the Machine cluster and labels', () => {
    const record = transformMachineDrainRule(
      rule({ behavior: 'Skip', machines: [{ clusterSelector: { matchLabels: { a: 'b' } } }], pods: [{ selector: { matchExpressions: [{ key: 'k', operator: 'Exists' }] } }] }),
    );
    expect(record).toEqual({
      namespace: 'capi',
      name: 'skip-longhorn',
      behavior: 'Skip',
      machines: [{ clusterSelector: { matchLabels: { a: 'b' }, matchExpressions: [] } }],
      pods: [{ selector: { matchLabels: {}, matchExpressions: [{ key: 'k', operator: 'Exists', values: [] }] } }],
    });
    const machine = transformMachine(MACHINE);
    expect(machine?.clusterName).toBe('c1');
    expect(machine?.labels.pool).toBe('storage');
  });
});

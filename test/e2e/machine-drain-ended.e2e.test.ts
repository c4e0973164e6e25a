// Cluster API re-reads at every pass over a Machine being deleted whether it may drain it (isDeleteNodeAllowed): not
// once the Cluster or its KubeadmControlPlane is being deleted, nor once no control-plane Machine stays active. Through
// the real API server and kubectl: a worker's DELETE passes while Longhorn's block-for-eviction holds its drain (its
// finalizer keeps it being deleted, as the Machine controller's does); then the DELETEs that would end that drain (the
// only control-plane Machine's, the KubeadmControlPlane's, the Cluster's, a Skip MachineDrainRule's CREATE, the drain
// label `skip` on its instance-manager pod) are refused naming the worker and its node, and pass once the node carries
// its skip.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import {
  apply,
  createLonghornNode,
  createLonghornVolume,
  createNode,
  createPod,
  deleteObjects,
  ensureNamespace,
  eventually,
  LONGHORN_NS,
  must,
  patchStatus,
  setNodeReady,
} from '../harness/scenario.ts';

const NS = 'e2e-machine-drain-ended';
const CP_NODE = 'mde-node-cp';
const WORKER_NODE = 'mde-node-w';
const WORKER_POD = 'instance-manager-mde0001';
const HELD = 'block-for-eviction moves them';
const FINALIZER = 'e2e.volume-guard.io/hold';

const machine = (name: string, controlPlane: boolean) => ({
  apiVersion: 'cluster.x-k8s.io/v1beta2',
  kind: 'Machine',
  metadata: {
    name,
    namespace: NS,
    labels: { 'cluster.x-k8s.io/cluster-name': 'c1', ...(controlPlane ? { 'cluster.x-k8s.io/control-plane': '', 'cluster.x-k8s.io/control-plane-name': 'kcp' } : {}) },
    finalizers: [FINALIZER],
  },
  spec: { clusterName: 'c1' },
});

const dryRunDelete = (resource: string, name: string) => kubectl(['delete', resource, name, '-n', NS, '--dry-run=server']);
const flat = (text: string) => text.replace(/\s+/g, ' ');
const ENDING: readonly (readonly [string, string, string])[] = [
  ['machines.cluster.x-k8s.io', 'cp-0', `deletion of Machine ${NS}/cp-0 (node ${CP_NODE})`],
  ['kubeadmcontrolplanes.controlplane.cluster.x-k8s.io', 'kcp', `deletion of KubeadmControlPlane ${NS}/kcp`],
  ['clusters.cluster.x-k8s.io', 'c1', `deletion of Cluster ${NS}/c1`],
];

describe('requests ending the held drain of a Machine being deleted, under block-for-eviction', () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await ensureNamespace(NS);
    for (const node of [CP_NODE, WORKER_NODE]) {
      await createNode(node);
      await setNodeReady(node, 'True');
      await createLonghornNode(node);
    }
    await createLonghornVolume({ name: 'mde-worker', numberOfReplicas: 1, replicas: [{ node: WORKER_NODE }], claim: { namespace: NS, name: 'ledger' } });
    await apply({ apiVersion: 'longhorn.io/v1beta2', kind: 'Setting', metadata: { name: 'node-drain-policy', namespace: LONGHORN_NS }, value: 'block-for-eviction' });
    await createPod({ name: WORKER_POD, namespace: LONGHORN_NS, node: WORKER_NODE });
    await must(kubectl(['label', 'pod', WORKER_POD, '-n', LONGHORN_NS, '--overwrite', 'longhorn.io/component=instance-manager']), 'label an instance-manager pod');
    await apply(
      {
        apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2',
        kind: 'KubeadmControlPlane',
        metadata: { name: 'kcp', namespace: NS, finalizers: [FINALIZER] },
        spec: { version: 'v1.30.1', replicas: 1, kubeadmConfigSpec: {}, machineTemplate: { infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'DockerMachineTemplate', name: 'cp' } } },
      },
      {
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Cluster',
        metadata: { name: 'c1', namespace: NS, finalizers: [FINALIZER] },
        spec: { controlPlaneRef: { apiGroup: 'controlplane.cluster.x-k8s.io', kind: 'KubeadmControlPlane', name: 'kcp' } },
      },
      machine('cp-0', true),
      machine('w-0', false),
    );
    await patchStatus('machines.cluster.x-k8s.io', 'cp-0', { nodeRef: { name: CP_NODE } }, NS);
    await patchStatus('machines.cluster.x-k8s.io', 'w-0', { nodeRef: { name: WORKER_NODE } }, NS);
  }, 120_000);

  afterAll(async () => {
    for (const node of [CP_NODE, WORKER_NODE]) {
      await kubectl(['annotate', 'node', node, '--overwrite', 'volume-guard.io/skip=*', 'volume-guard.io/skip-reason=e2e cleanup', 'volume-guard.io/skip-by=admin']);
    }
    for (const [resource, name] of [
      ['machines.cluster.x-k8s.io', 'cp-0'],
      ['machines.cluster.x-k8s.io', 'w-0'],
      ['kubeadmcontrolplanes.controlplane.cluster.x-k8s.io', 'kcp'],
      ['clusters.cluster.x-k8s.io', 'c1'],
    ] as const) {
      await kubectl(['patch', resource, name, '-n', NS, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    }
    await deleteObjects(
      ['machines.cluster.x-k8s.io', 'cp-0', 'w-0', '-n', NS],
      ['clusters.cluster.x-k8s.io', 'c1', '-n', NS],
      ['machinedrainrules.cluster.x-k8s.io', 'wait-longhorn', 'skip-storage', 'skip-tagged', 'skip-lab', 'skip-scratch', '-n', NS],
      ['kubeadmcontrolplanes.controlplane.cluster.x-k8s.io', 'kcp', '-n', NS],
      ['pod', WORKER_POD, '-n', LONGHORN_NS, '--force', '--grace-period=0'],
      ['settings.longhorn.io', 'node-drain-policy', '-n', LONGHORN_NS],
      ['replicas.longhorn.io', '-l', 'longhornvolume in (mde-worker)', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 'mde-worker', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', CP_NODE, WORKER_NODE, '-n', LONGHORN_NS],
      ['node', CP_NODE, WORKER_NODE],
    );
  });

  it('refuses the DELETEs of the control-plane Machine, the KubeadmControlPlane and the Cluster while the drain holds', async () => {
    // Nothing drains yet: the control-plane Machine's and the KubeadmControlPlane's DELETEs pass. The Cluster's would
    // remove w-0 undrained (its controller deletes every Machine; errClusterIsBeingDeleted), the only copy on its node
    // with it: refused for that already.
    for (const [resource, name] of ENDING.slice(0, 2)) await eventually(() => dryRunDelete(resource, name), (r) => r.code === 0);
    const cluster = await eventually(() => dryRunDelete('clusters.cluster.x-k8s.io', 'c1'), (r) => r.code !== 0);
    expect(flat(cluster.stderr)).toContain(`deletion of Cluster ${NS}/c1, which removes Machine w-0 on node ${WORKER_NODE}`);
    // The worker's DELETE passes, held by the instance manager's budget; its finalizer keeps it being deleted.
    await eventually(() => dryRunDelete('machines.cluster.x-k8s.io', 'w-0'), (r) => r.code === 0 && r.stderr.includes(HELD));
    await must(kubectl(['delete', 'machines.cluster.x-k8s.io', 'w-0', '-n', NS, '--wait=false']), 'delete Machine w-0');
    for (const [resource, name, what] of ENDING) {
      const refused = await eventually(() => dryRunDelete(resource, name), (r) => r.code !== 0);
      expect(refused.stderr).toContain('admission webhook "machine.volume-guard.io" denied the request');
      expect(flat(refused.stderr)).toContain(`${what}, which ends the drain of Machine ${NS}/w-0 (node ${WORKER_NODE})`);
      expect(refused.stderr).toContain('longhorn-system/mde-worker');
      expect(refused.stderr).toContain(`kubectl annotate node ${WORKER_NODE} volume-guard.io/skip=`);
    }
  });

  it('refuses a MachineDrainRule making the drain skip the instance managers, passes one that waits for them', async () => {
    const rule = (name: string, behavior: string) => ({
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'MachineDrainRule',
      metadata: { name, namespace: NS },
      spec: { drain: { behavior }, pods: [{ selector: { matchLabels: { 'longhorn.io/component': 'instance-manager' } } }] },
    });
    const create = (name: string, behavior: string) => kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(rule(name, behavior)) });
    const refused = await eventually(() => create('skip-longhorn', 'Skip'), (r) => r.code !== 0);
    expect(refused.stderr).toContain('admission webhook "machine.volume-guard.io" denied the request');
    expect(flat(refused.stderr)).toContain(`creation of MachineDrainRule ${NS}/skip-longhorn, which ends the drain of Machine ${NS}/w-0 (node ${WORKER_NODE})`);
    expect(flat(refused.stderr)).toContain('MachineDrainRule skip-longhorn skips');
    await must(create('wait-longhorn', 'WaitCompleted'), 'create a WaitCompleted MachineDrainRule');
  });

  it('refuses the drain label skip on the held instance-manager pod', async () => {
    const label = (value: string) => kubectl(['label', 'pod', WORKER_POD, '-n', LONGHORN_NS, '--dry-run=server', `cluster.x-k8s.io/drain=${value}`]);
    const refused = await eventually(() => label('skip'), (r) => r.code !== 0);
    expect(refused.stderr).toContain('admission webhook "machine.volume-guard.io" denied the request');
    expect(flat(refused.stderr)).toContain(`label cluster.x-k8s.io/drain=skip on pod ${LONGHORN_NS}/${WORKER_POD}, which ends the drain of Machine ${NS}/w-0`);
    await must(label('wait-completed'), 'label the instance manager wait-completed (dry run)');
  });

  it('refuses a label on the Machine or on the instance-manager pod that makes a Skip rule apply', async () => {
    const skipRule = (name: string, spec: Record<string, unknown>) => ({
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'MachineDrainRule',
      metadata: { name, namespace: NS },
      spec: { drain: { behavior: 'Skip' }, ...spec },
    });
    // Neither applies yet (the Machine has no pool label, the pod no drain-policy one): both created.
    await apply(
      skipRule('skip-storage', { machines: [{ selector: { matchLabels: { pool: 'storage' } } }], pods: [{ selector: { matchLabels: { 'longhorn.io/component': 'instance-manager' } } }] }),
      skipRule('skip-tagged', { pods: [{ selector: { matchLabels: { 'drain-policy': 'none' } } }] }),
    );
    const machine = await eventually(
      () => kubectl(['label', 'machines.cluster.x-k8s.io', 'w-0', '-n', NS, '--dry-run=server', 'pool=storage']),
      (r) => r.code !== 0,
    );
    expect(flat(machine.stderr)).toContain(`drain cut short of Machine ${NS}/w-0 (node ${WORKER_NODE}), being deleted: its labels changed`);
    expect(flat(machine.stderr)).toContain('MachineDrainRule skip-storage skips');
    const pod = await eventually(() => kubectl(['label', 'pod', WORKER_POD, '-n', LONGHORN_NS, '--dry-run=server', 'drain-policy=none']), (r) => r.code !== 0);
    expect(flat(pod.stderr)).toContain(`labels changed on pod ${LONGHORN_NS}/${WORKER_POD}, which ends the drain of Machine ${NS}/w-0`);
    await must(kubectl(['label', 'pod', WORKER_POD, '-n', LONGHORN_NS, '--dry-run=server', 'team=storage']), 'a label no rule selects');
  });

  it("refuses a label on the Cluster or on Longhorn's namespace that makes a Skip rule apply", async () => {
    await apply(
      {
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'MachineDrainRule',
        metadata: { name: 'skip-lab', namespace: NS },
        spec: { drain: { behavior: 'Skip' }, machines: [{ clusterSelector: { matchLabels: { env: 'lab' } } }], pods: [{ selector: { matchLabels: { 'longhorn.io/component': 'instance-manager' } } }] },
      },
      {
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'MachineDrainRule',
        metadata: { name: 'skip-scratch', namespace: NS },
        spec: { drain: { behavior: 'Skip' }, pods: [{ selector: {}, namespaceSelector: { matchLabels: { tier: 'scratch' } } }] },
      },
    );
    const cluster = await eventually(() => kubectl(['label', 'clusters.cluster.x-k8s.io', 'c1', '-n', NS, '--dry-run=server', 'env=lab']), (r) => r.code !== 0);
    expect(flat(cluster.stderr)).toContain(`labels changed on Cluster ${NS}/c1, which ends the drain of Machine ${NS}/w-0 (node ${WORKER_NODE})`);
    const namespace = await eventually(() => kubectl(['label', 'namespace', LONGHORN_NS, '--dry-run=server', 'tier=scratch']), (r) => r.code !== 0);
    expect(flat(namespace.stderr)).toContain(`labels changed on Namespace ${LONGHORN_NS}, which ends the drain of Machine ${NS}/w-0 (node ${WORKER_NODE})`);
    await must(kubectl(['label', 'clusters.cluster.x-k8s.io', 'c1', '-n', NS, '--dry-run=server', 'env=prod']), 'a Cluster label no rule selects');
  });

  it("passes them with the worker node's skip", async () => {
    await must(
      kubectl(['annotate', 'node', WORKER_NODE, '--overwrite', 'volume-guard.io/skip=*', 'volume-guard.io/skip-reason=replicas copied by hand', 'volume-guard.io/skip-by=admin']),
      'annotate the worker node',
    );
    for (const [resource, name] of ENDING) await eventually(() => dryRunDelete(resource, name), (r) => r.code === 0);
  });
});

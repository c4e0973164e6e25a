// Cluster API drains no Machine's node once no other control-plane Machine of its Cluster is active, nor while the
// Cluster's KubeadmControlPlane is being deleted; Longhorn's block-for-eviction then holds nothing. Through the real
// API server and kubectl: the DELETE of a control-plane Machine whose node holds a volume's only copy passes with the
// drain warning while another control-plane Machine is active, and is refused once that one is being deleted; the
// KubeadmControlPlane's DELETE is refused for that copy (it deletes its Machines undrained) until the node is skipped;
// a worker's is refused once the KubeadmControlPlane is being deleted.
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

const NS = 'e2e-machine-cp-drain';
const CP_NODE = 'mcp-node-a';
const OTHER_CP_NODE = 'mcp-node-b';
const WORKER_NODE = 'mcp-node-w';
const POD = 'instance-manager-mcp0001';
const WORKER_POD = 'instance-manager-mcp0002';
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

const remove = (name: string) => kubectl(['delete', 'machines.cluster.x-k8s.io', name, '-n', NS, '--dry-run=server']);
const flat = (text: string) => text.replace(/\s+/g, ' ');

describe('Cluster API deletes undrained for the control plane, under block-for-eviction', () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await ensureNamespace(NS);
    for (const node of [CP_NODE, OTHER_CP_NODE, WORKER_NODE]) {
      await createNode(node);
      await setNodeReady(node, 'True');
      await createLonghornNode(node);
    }
    await createLonghornVolume({ name: 'mcp-last', numberOfReplicas: 1, replicas: [{ node: CP_NODE }], claim: { namespace: NS, name: 'etcd-backup' } });
    await createLonghornVolume({ name: 'mcp-worker', numberOfReplicas: 1, replicas: [{ node: WORKER_NODE }], claim: { namespace: NS, name: 'ledger' } });
    await apply({ apiVersion: 'longhorn.io/v1beta2', kind: 'Setting', metadata: { name: 'node-drain-policy', namespace: LONGHORN_NS }, value: 'block-for-eviction' });
    for (const [pod, node] of [[POD, CP_NODE], [WORKER_POD, WORKER_NODE]] as const) {
      await createPod({ name: pod, namespace: LONGHORN_NS, node });
      await must(kubectl(['label', 'pod', pod, '-n', LONGHORN_NS, '--overwrite', 'longhorn.io/component=instance-manager']), 'label an instance-manager pod');
    }
    await apply(
      {
        apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2',
        kind: 'KubeadmControlPlane',
        metadata: { name: 'kcp', namespace: NS, finalizers: [FINALIZER] },
        spec: { version: 'v1.30.1', replicas: 2, kubeadmConfigSpec: {}, machineTemplate: { infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'DockerMachineTemplate', name: 'cp' } } },
      },
      {
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Cluster',
        metadata: { name: 'c1', namespace: NS },
        spec: { controlPlaneRef: { apiGroup: 'controlplane.cluster.x-k8s.io', kind: 'KubeadmControlPlane', name: 'kcp' } },
      },
      machine('cp-0', true),
      machine('cp-1', true),
      machine('w-0', false),
    );
    await patchStatus('machines.cluster.x-k8s.io', 'cp-0', { nodeRef: { name: CP_NODE } }, NS);
    await patchStatus('machines.cluster.x-k8s.io', 'cp-1', { nodeRef: { name: OTHER_CP_NODE } }, NS);
    await patchStatus('machines.cluster.x-k8s.io', 'w-0', { nodeRef: { name: WORKER_NODE } }, NS);
  }, 120_000);

  afterAll(async () => {
    for (const node of [CP_NODE, OTHER_CP_NODE, WORKER_NODE]) {
      await kubectl(['annotate', 'node', node, '--overwrite', 'volume-guard.io/skip=*', 'volume-guard.io/skip-reason=e2e cleanup', 'volume-guard.io/skip-by=admin']);
    }
    for (const [resource, name] of [['machines.cluster.x-k8s.io', 'cp-0'], ['machines.cluster.x-k8s.io', 'cp-1'], ['machines.cluster.x-k8s.io', 'w-0'], ['kubeadmcontrolplanes.controlplane.cluster.x-k8s.io', 'kcp']] as const) {
      await kubectl(['patch', resource, name, '-n', NS, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    }
    await deleteObjects(
      ['machines.cluster.x-k8s.io', 'cp-0', 'cp-1', 'w-0', '-n', NS],
      ['clusters.cluster.x-k8s.io', 'c1', '-n', NS],
      ['kubeadmcontrolplanes.controlplane.cluster.x-k8s.io', 'kcp', '-n', NS],
      ['pod', POD, WORKER_POD, '-n', LONGHORN_NS, '--force', '--grace-period=0'],
      ['settings.longhorn.io', 'node-drain-policy', '-n', LONGHORN_NS],
      ['replicas.longhorn.io', '-l', 'longhornvolume in (mcp-last,mcp-worker)', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 'mcp-last', 'mcp-worker', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', CP_NODE, OTHER_CP_NODE, WORKER_NODE, '-n', LONGHORN_NS],
      ['node', CP_NODE, OTHER_CP_NODE, WORKER_NODE],
    );
  });

  it('passes the last copy on a control-plane node while another is active, refuses it once that one is being deleted', async () => {
    const held = await eventually(() => remove('cp-0'), (r) => r.code === 0 && r.stderr.includes(HELD));
    expect(held.stderr).toContain(`node ${CP_NODE} holds the only copy of 1 Longhorn volume(s): PVC ${NS}/etcd-backup`);

    // cp-1's node holds nothing: its DELETE passes, and its finalizer keeps it being deleted.
    await must(kubectl(['delete', 'machines.cluster.x-k8s.io', 'cp-1', '-n', NS, '--wait=false']), 'delete Machine cp-1');
    const refused = await eventually(() => remove('cp-0'), (r) => r.code !== 0);
    expect(refused.stderr).toContain('admission webhook "machine.volume-guard.io" denied the request');
    expect(refused.stderr).toContain('longhorn-system/mcp-last');
    expect(flat(refused.stderr)).toContain(`Machine ${NS}/cp-0 is the last active control-plane Machine of Cluster ${NS}/c1`);
  });

  it("refuses a worker's last copy once the KubeadmControlPlane is being deleted", async () => {
    // cp-0 stays active: the worker's node is drained, the instance manager's budget holds the drain.
    await eventually(() => remove('w-0'), (r) => r.code === 0 && r.stderr.includes(HELD));
    // The KubeadmControlPlane's DELETE removes cp-0 undrained (reconcileDelete), the only copy on its node with it:
    // refused until that node is skipped.
    const kcp = ['kubeadmcontrolplanes.controlplane.cluster.x-k8s.io', 'kcp', '-n', NS];
    const kcpRefused = await kubectl(['delete', ...kcp, '--dry-run=server']);
    expect(flat(kcpRefused.stderr)).toContain(`deletion of KubeadmControlPlane ${NS}/kcp, which removes Machine cp-0 on node ${CP_NODE}`);
    await must(
      kubectl(['annotate', 'node', CP_NODE, '--overwrite', 'volume-guard.io/skip=*', 'volume-guard.io/skip-reason=control plane retired', 'volume-guard.io/skip-by=admin']),
      'skip the control-plane node',
    );
    await eventually(() => kubectl(['delete', ...kcp, '--dry-run=server']), (r) => r.code === 0);
    await must(kubectl(['delete', ...kcp, '--wait=false']), 'delete the KubeadmControlPlane');
    const refused = await eventually(() => remove('w-0'), (r) => r.code !== 0 && flat(r.stderr).includes('is being deleted'));
    expect(flat(refused.stderr)).toContain(`KubeadmControlPlane ${NS}/kcp of Cluster ${NS}/c1 is being deleted`);
    expect(refused.stderr).toContain('longhorn-system/mcp-worker');
  });
});

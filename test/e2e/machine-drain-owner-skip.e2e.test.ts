// A KubeadmControlPlane's rollout admitted with its own skip goes on past the Machine DELETE: Cluster API's Machine
// controller cordons and drains the node of the Machine being deleted, then deletes the Node once the infrastructure
// is gone. Through the real API server and kubectl: the cordon of that node is refused for the local PV a pod uses
// there until the KubeadmControlPlane carries `volume-guard.io/skip: node-local-volume`; then the cordon and the Node
// DELETE pass, carried from it. A node whose Machine stays gets nothing from it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, createNode, createPodOnLocalVolume, deleteObjects, ensureNamespace, eventually, must, patchStatus } from '../harness/scenario.ts';

const NS = 'e2e-machine-drain-owner';
const NODE = 'mdo-node';
const OTHER = 'mdo-node-b';
const MACHINE = 'mdo-cp-1';
const machine = ['machines.cluster.x-k8s.io', MACHINE, '-n', NS];
const denied = (stderr: string): boolean => stderr.includes('admission webhook "node-cordon.volume-guard.io" denied the request');

describe("the drain of a Machine being deleted carries its KubeadmControlPlane's skip", () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(NODE);
    await createNode(OTHER);
    await apply(
      {
        apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2',
        kind: 'KubeadmControlPlane',
        metadata: { name: 'mdo-cp', namespace: NS },
        spec: { version: 'v1.30.1', replicas: 1, kubeadmConfigSpec: {}, machineTemplate: { infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'DockerMachineTemplate', name: 'cp-a' } } },
      },
      {
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Machine',
        metadata: { name: MACHINE, namespace: NS, labels: { 'cluster.x-k8s.io/control-plane-name': 'mdo-cp' }, finalizers: ['machine.cluster.x-k8s.io'] },
        spec: { clusterName: 'c1' },
      },
    );
    // Deleted before it names its node (nothing to judge then), held by its finalizer as the Machine controller holds it.
    await must(kubectl(['delete', ...machine, '--wait=false']), 'delete the Machine');
    await patchStatus('machines.cluster.x-k8s.io', MACHINE, { nodeRef: { name: NODE } }, NS);
    await createPodOnLocalVolume({ pod: 'db-0', node: NODE, namespace: NS, pv: 'mdo-pv', claim: 'data-db-0' });
    await createPodOnLocalVolume({ pod: 'db-1', node: OTHER, namespace: NS, pv: 'mdo-pv-b', claim: 'data-db-1' });
  }, 120_000);

  afterAll(async () => {
    await kubectl(['patch', ...machine, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    for (const node of [NODE, OTHER]) {
      await kubectl(['annotate', 'node', node, '--overwrite', 'volume-guard.io/skip=*', 'volume-guard.io/skip-reason=e2e cleanup', 'volume-guard.io/skip-by=admin']);
    }
    await deleteObjects(
      ['kubeadmcontrolplanes.controlplane.cluster.x-k8s.io', '--all', '-n', NS],
      ['pod', '--all', '-n', NS, '--grace-period=0', '--force'],
      ['pvc', '--all', '-n', NS],
      ['pv', 'mdo-pv', 'mdo-pv-b'],
      ['node', NODE, OTHER],
    );
  });

  it('refuses the cordon of its node for the local PV there until the KubeadmControlPlane carries a skip', async () => {
    const refused = await eventually(() => kubectl(['cordon', NODE, '--dry-run=server']), (r) => denied(r.stderr), 60_000);
    expect(refused.stderr).toContain('mdo-pv');
    await must(
      kubectl(['annotate', 'kubeadmcontrolplanes.controlplane.cluster.x-k8s.io', 'mdo-cp', '-n', NS, 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-reason=data moved off', 'volume-guard.io/skip-by=admin']),
      'skip on the KubeadmControlPlane',
    );
    // kubectl cordon exits 0 even when refused: its output tells.
    const carried = await eventually(() => kubectl(['cordon', NODE, '--dry-run=server']), (r) => r.code === 0 && !denied(r.stderr), 60_000);
    expect(carried.stderr).not.toContain('denied');
    expect(carried.stdout).toContain(`node/${NODE} cordoned`);
    const nodeDelete = await kubectl(['delete', 'node', NODE, '--dry-run=server']);
    expect(nodeDelete.code, nodeDelete.stderr).toBe(0);
  });

  it('gives nothing to the node of a Machine that stays', async () => {
    const refused = await kubectl(['cordon', OTHER, '--dry-run=server']);
    expect(denied(refused.stderr), refused.stderr).toBe(true);
    expect(refused.stderr).toContain('mdo-pv-b');
  });
});

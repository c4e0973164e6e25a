// A KubeadmControlPlane's rollout admitted with its own skip goes on past the Machine DELETE: Cluster API's Machine
// controller cordons and drains the node of the Machine being deleted, then deletes the Node once the infrastructure
// is gone. Through the real API server and kubectl: the cordon of that node is refused for the local PV a pod uses
// there until the KubeadmControlPlane carries `volume-guard.io/skip: node-local-volume`; then the cordon and the Node
// DELETE pass, carried from it. A node whose Machine stays gets nothing from it. A MachineDeployment's Machine being
// deleted cannot be relabelled to name that KubeadmControlPlane by a user who may not write overrides: its drain would
// carry the skip.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, createNode, createPodOnLocalVolume, deleteObjects, ensureNamespace, eventually, must, patchStatus } from '../harness/scenario.ts';

const NS = 'e2e-machine-drain-owner';
const NODE = 'mdo-node';
const OTHER = 'mdo-node-b';
const THIRD = 'mdo-node-c';
const MACHINE = 'mdo-cp-1';
const MD_MACHINE = 'mdo-md-1';
const machine = ['machines.cluster.x-k8s.io', MACHINE, '-n', NS];
const mdMachine = ['machines.cluster.x-k8s.io', MD_MACHINE, '-n', NS];
const denied = (stderr: string): boolean => stderr.includes('admission webhook "node-cordon.volume-guard.io" denied the request');

describe("the drain of a Machine being deleted carries its KubeadmControlPlane's skip", () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(NODE);
    await createNode(OTHER);
    await createNode(THIRD);
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
      {
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Machine',
        metadata: {
          name: MD_MACHINE,
          namespace: NS,
          labels: { 'cluster.x-k8s.io/deployment-name': 'mdo-md', 'cluster.x-k8s.io/set-name': 'mdo-md-old' },
          finalizers: ['machine.cluster.x-k8s.io'],
        },
        spec: { clusterName: 'c1' },
      },
    );
    // Deleted before it names its node (nothing to judge then), held by its finalizer as the Machine controller holds it.
    await must(kubectl(['delete', ...machine, '--wait=false']), 'delete the Machine');
    await patchStatus('machines.cluster.x-k8s.io', MACHINE, { nodeRef: { name: NODE } }, NS);
    await must(kubectl(['delete', ...mdMachine, '--wait=false']), 'delete the MachineDeployment Machine');
    await patchStatus('machines.cluster.x-k8s.io', MD_MACHINE, { nodeRef: { name: THIRD } }, NS);
    await createPodOnLocalVolume({ pod: 'db-0', node: NODE, namespace: NS, pv: 'mdo-pv', claim: 'data-db-0' });
    await createPodOnLocalVolume({ pod: 'db-1', node: OTHER, namespace: NS, pv: 'mdo-pv-b', claim: 'data-db-1' });
  }, 120_000);

  afterAll(async () => {
    await kubectl(['patch', ...machine, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await kubectl(['patch', ...mdMachine, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    for (const node of [NODE, OTHER, THIRD]) {
      await kubectl(['annotate', 'node', node, '--overwrite', 'volume-guard.io/skip=*', 'volume-guard.io/skip-reason=e2e cleanup', 'volume-guard.io/skip-by=admin']);
    }
    await deleteObjects(
      ['kubeadmcontrolplanes.controlplane.cluster.x-k8s.io', '--all', '-n', NS],
      ['pod', '--all', '-n', NS, '--grace-period=0', '--force'],
      ['pvc', '--all', '-n', NS],
      ['pv', 'mdo-pv', 'mdo-pv-b'],
      ['node', NODE, OTHER, THIRD],
      ['role', 'mdo-machine-editor', '-n', NS],
      ['rolebinding', 'mdo-operator-machines', '-n', NS],
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

  it("refuses relabelling another Machine being deleted to name the KubeadmControlPlane to one who may not write overrides", async () => {
    // The KubeadmControlPlane carries its skip (first test); mdo-operator may update Machines, not write overrides.
    await must(kubectl(['create', 'role', 'mdo-machine-editor', '-n', NS, '--verb=get,list,patch,update', '--resource=machines.cluster.x-k8s.io']), 'role');
    await must(kubectl(['create', 'rolebinding', 'mdo-operator-machines', '-n', NS, '--role=mdo-machine-editor', '--user=mdo-operator']), 'rolebinding');
    const relabel = (...as: string[]) => kubectl(['label', ...mdMachine, 'cluster.x-k8s.io/control-plane-name=mdo-cp', '--dry-run=server', ...as]);
    const refused = await eventually(() => relabel('--as=mdo-operator'), (r) => r.stderr.includes('machine.volume-guard.io'), 60_000);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('admission webhook "machine.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(`mdo-operator may not relabel Machine ${NS}/${MD_MACHINE}, being deleted`);
    expect(refused.stderr.replace(/\s+/g, ' ')).toContain(`volume-guard.io/skip of KubeadmControlPlane ${NS}/mdo-cp`);
    // Another label passes; so does the relabel by an allowed writer (system:masters).
    const other = await kubectl(['label', ...mdMachine, 'team=db', '--dry-run=server', '--as=mdo-operator']);
    expect(other.code, other.stderr).toBe(0);
    const admin = await relabel();
    expect(admin.code, admin.stderr).toBe(0);
  });
});

// Copies on a node whose Cluster API Machine is being deleted are no copies: through the real API server and kubectl,
// a Longhorn volume with its replicas on the nodes of Machines a and b lets `kubectl delete machine a` through (b
// keeps a copy), and then refuses b's DELETE while a is being deleted (held here by Cluster API's finalizer, as its
// controller holds it while it drains the node and deletes the infrastructure machine and its disks).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import {
  apply,
  createLonghornNode,
  createLonghornVolume,
  createNode,
  deleteObjects,
  ensureNamespace,
  eventually,
  LONGHORN_NS,
  must,
  patchStatus,
  setNodeReady,
} from '../harness/scenario.ts';

const NS = 'e2e-machines-leaving';
const NODES = ['ml-a', 'ml-b'];
const VOLUME = 'ml-vol';
const FINALIZER = 'machine.cluster.x-k8s.io';

const machine = (node: string) => ({
  apiVersion: 'cluster.x-k8s.io/v1beta2',
  kind: 'Machine',
  metadata: { name: `${node}-m`, namespace: NS, labels: { 'cluster.x-k8s.io/set-name': 'ml-ms' }, finalizers: [FINALIZER] },
  spec: { clusterName: 'c1' },
});

const deleteMachine = (node: string, ...flags: string[]) => kubectl(['delete', 'machines.cluster.x-k8s.io', `${node}-m`, '-n', NS, '--wait=false', ...flags]);

describe('Machines deleted one after the other', () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await ensureNamespace(NS);
    for (const node of NODES) {
      await createNode(node);
      await setNodeReady(node, 'True');
      await createLonghornNode(node);
    }
    await createLonghornVolume({ name: VOLUME, state: 'detached', replicas: [{ node: 'ml-a' }, { node: 'ml-b' }] });
    await apply(...NODES.map(machine));
    for (const node of NODES) await patchStatus('machines.cluster.x-k8s.io', `${node}-m`, { nodeRef: { name: node } }, NS);
  }, 120_000);

  afterAll(async () => {
    for (const node of NODES) {
      await kubectl(['annotate', 'node', node, '--overwrite', 'volume-guard.io/skip=*', 'volume-guard.io/skip-reason=e2e cleanup', 'volume-guard.io/skip-by=admin']);
      await kubectl(['patch', 'machines.cluster.x-k8s.io', `${node}-m`, '-n', NS, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    }
    await eventually(() => kubectl(['delete', 'machines.cluster.x-k8s.io', '--all', '-n', NS, '--ignore-not-found']), (r) => r.code === 0);
    await deleteObjects(
      ['volumes.longhorn.io', VOLUME, '-n', LONGHORN_NS],
      ['replicas.longhorn.io', '-l', `longhornvolume=${VOLUME}`, '-n', LONGHORN_NS],
      ['nodes.longhorn.io', ...NODES, '-n', LONGHORN_NS],
      ['node', ...NODES],
    );
  });

  it("allows the first Machine's DELETE, then refuses the second while the first is being deleted", async () => {
    // Each alone leaves the other's copy.
    const alone = await eventually(() => deleteMachine('ml-b', '--dry-run=server'), (r) => r.code === 0);
    expect(alone.code, alone.stderr).toBe(0);
    await must(deleteMachine('ml-a'), 'delete Machine ml-a (held by its finalizer)');
    const refused = await eventually(() => deleteMachine('ml-b', '--dry-run=server'), (r) => r.code !== 0);
    expect(refused.stderr).toContain('admission webhook "machine.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(`deletion of Machine ${NS}/ml-b-m (node ml-b)`);
    expect(refused.stderr).toContain('[last-replica-on-node]');
    expect(refused.stderr).toContain('on node ml-a, whose Cluster API Machine is being deleted');
  });
});

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
  readyLonghornNodes,
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
    await readyLonghornNodes(NODES);
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

// Longhorn's block-for-eviction keeps a node's last copies by holding its drain; Cluster API skips the drain of a
// Machine annotated machine.cluster.x-k8s.io/exclude-node-draining (and stops waiting past a node drain timeout), so
// that policy keeps nothing there: its DELETE is refused as under any other policy.
describe('Machines whose drain Cluster API cuts short, under block-for-eviction', () => {
  const NODE = 'ml-drain';
  const plain = { ...machine(NODE), metadata: { ...machine(NODE).metadata, name: 'ml-plain-m', finalizers: [] } };
  const excluded = {
    ...machine(NODE),
    metadata: { ...machine(NODE).metadata, name: 'ml-excluded-m', finalizers: [], annotations: { 'machine.cluster.x-k8s.io/exclude-node-draining': '' } },
  };
  const timed = { ...machine(NODE), metadata: { ...machine(NODE).metadata, name: 'ml-timed-m', finalizers: [] }, spec: { clusterName: 'c1', deletion: { nodeDrainTimeoutSeconds: 300 } } };

  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await ensureNamespace(NS);
    await createNode(NODE);
    await setNodeReady(NODE, 'True');
    await createLonghornNode(NODE);
    await createLonghornVolume({ name: 'ml-last', numberOfReplicas: 1, replicas: [{ node: NODE }], claim: { namespace: NS, name: 'ledger' } });
    await apply({ apiVersion: 'longhorn.io/v1beta2', kind: 'Setting', metadata: { name: 'node-drain-policy', namespace: LONGHORN_NS }, value: 'block-for-eviction' });
    await apply(plain, excluded, timed);
    for (const name of ['ml-plain-m', 'ml-excluded-m', 'ml-timed-m']) await patchStatus('machines.cluster.x-k8s.io', name, { nodeRef: { name: NODE } }, NS);
  }, 120_000);

  afterAll(async () => {
    await kubectl(['annotate', 'node', NODE, '--overwrite', 'volume-guard.io/skip=*', 'volume-guard.io/skip-reason=e2e cleanup', 'volume-guard.io/skip-by=admin']);
    await deleteObjects(
      ['machines.cluster.x-k8s.io', 'ml-plain-m', 'ml-excluded-m', 'ml-timed-m', '-n', NS],
      ['settings.longhorn.io', 'node-drain-policy', '-n', LONGHORN_NS],
      ['replicas.longhorn.io', '-l', 'longhornvolume=ml-last', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 'ml-last', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', NODE, '-n', LONGHORN_NS],
      ['node', NODE],
    );
  });

  const remove = (name: string) => kubectl(['delete', 'machines.cluster.x-k8s.io', name, '-n', NS, '--dry-run=server']);

  it('allows a Machine drained in full (Longhorn moves the copy first), refuses one excluded from draining or with a drain timeout', async () => {
    const moved = await eventually(() => remove('ml-plain-m'), (r) => r.code === 0 && r.stderr.includes('block-for-eviction moves them'));
    expect(moved.stderr).toContain(`node ${NODE} holds the only copy of 1 Longhorn volume(s): PVC ${NS}/ledger`);
    for (const [name, why] of [
      ['ml-excluded-m', 'Cluster API deletes it without a drain (annotation machine.cluster.x-k8s.io/exclude-node-draining)'],
      ['ml-timed-m', 'Cluster API deletes it once its node drain timeout is past, drained or not'],
    ] as const) {
      const refused = await eventually(() => remove(name), (r) => r.code !== 0);
      expect(refused.stderr).toContain('admission webhook "machine.volume-guard.io" denied the request');
      expect(refused.stderr).toContain(`longhorn-system/ml-last`);
      expect(refused.stderr).toContain(`Warning: ${why}`);
    }
  });
});

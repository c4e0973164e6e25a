// Removals admitted in quick succession see each other, through the real API server and the real kubectl: each
// DELETE of one command (`kubectl delete replicas r0 r1`, `kubectl delete node a b`, `kubectl delete machine a b`) and
// each item of a DeleteCollection is judged with the ones admitted before it counted as removed, though volume-guard's
// informers do not show them yet. A volume with its two copies on two nodes keeps one.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import {
  apply,
  createLonghornVolume,
  deleteObjects,
  ensureNamespace,
  eventually,
  LONGHORN_NS,
  must,
  patchStatus,
  readyLonghornNodes,
} from '../harness/scenario.ts';

const REPLICA_NODES = ['rt-a', 'rt-b'];
const DELETED_NODES = ['rt-c', 'rt-d'];
const MACHINE_NODES = ['rt-e', 'rt-f'];
const ALL_NODES = [...REPLICA_NODES, ...DELETED_NODES, ...MACHINE_NODES];
const VOLUMES = ['rt-one', 'rt-coll', 'rt-parallel', 'rt-nodes', 'rt-machines'];
const MACHINE_NS = 'e2e-removals-together';
const MACHINE_FINALIZER = 'machine.cluster.x-k8s.io';

const replicaName = (volume: string, index: number) => `${volume}-r-${index}`;
const deleteReplicas = (...names: string[]) => kubectl(['delete', 'replicas.longhorn.io', '-n', LONGHORN_NS, ...names, '--wait=false']);
const replicasLeft = async (volume: string) =>
  (await must(kubectl(['get', 'replicas.longhorn.io', '-n', LONGHORN_NS, '-l', `longhornvolume=${volume}`, '-o', 'name']), 'list replicas')).stdout
    .split('\n')
    .filter((line) => line !== '');

/** A volume with a healthy replica on each node, once volume-guard sees both: each replica's DELETE alone passes. */
async function twoCopies(volume: string, nodes: readonly string[]): Promise<void> {
  await createLonghornVolume({ name: volume, state: 'detached', replicas: nodes.map((node) => ({ node })) });
  for (const index of [0, 1]) {
    const alone = await eventually(() => deleteReplicas(replicaName(volume, index), '--dry-run=server'), (r) => r.code === 0);
    expect(alone.code, alone.stderr).toBe(0);
  }
}

const cluster = inject('cluster');

/** A DELETE sent straight to the API server as the admin: its HTTP status and body. */
function deleteDirect(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, cluster.server);
    const sent = request(
      url,
      { method: 'DELETE', ca: readFileSync(cluster.caFile), headers: { authorization: `Bearer ${cluster.tokens.admin}` } },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    sent.on('error', reject);
    sent.end();
  });
}

const machine = (node: string) => ({
  apiVersion: 'cluster.x-k8s.io/v1beta2',
  kind: 'Machine',
  metadata: { name: `${node}-m`, namespace: MACHINE_NS, finalizers: [MACHINE_FINALIZER] },
  spec: { clusterName: 'c1' },
});

describe('removals in one command', () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await ensureNamespace(MACHINE_NS);
    await readyLonghornNodes(ALL_NODES);
  }, 120_000);

  afterAll(async () => {
    for (const node of MACHINE_NODES) {
      await kubectl(['patch', 'machines.cluster.x-k8s.io', `${node}-m`, '-n', MACHINE_NS, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    }
    await deleteObjects(
      ['machines.cluster.x-k8s.io', '--all', '-n', MACHINE_NS],
      ...VOLUMES.map((volume) => ['replicas.longhorn.io', '-l', `longhornvolume=${volume}`, '-n', LONGHORN_NS]),
      ['volumes.longhorn.io', ...VOLUMES, '-n', LONGHORN_NS],
      ['nodes.longhorn.io', ...ALL_NODES, '-n', LONGHORN_NS],
      ['node', ...ALL_NODES],
    );
  }, 120_000);

  it('`kubectl delete replicas r0 r1`: deletes the first, refuses the second naming its volume', async () => {
    await twoCopies('rt-one', REPLICA_NODES);
    const both = await deleteReplicas(replicaName('rt-one', 0), replicaName('rt-one', 1));
    expect(both.code).not.toBe(0);
    expect(both.stdout).toContain(`replica.longhorn.io "${replicaName('rt-one', 0)}" deleted`);
    expect(both.stderr).toContain('admission webhook "storage-teardown.volume-guard.io" denied the request');
    expect(both.stderr).toContain(`deletion of Longhorn replica ${LONGHORN_NS}/${replicaName('rt-one', 1)}`);
    expect(both.stderr).toContain(`${LONGHORN_NS}/rt-one`);
    expect(await replicasLeft('rt-one')).toEqual([`replica.longhorn.io/${replicaName('rt-one', 1)}`]);
  });

  it('a DeleteCollection of both (admitted item by item) deletes at most one', async () => {
    await twoCopies('rt-coll', REPLICA_NODES);
    // kubectl sends single DELETEs for `-l`: the API's deletecollection is asked for directly.
    const collection = await kubectl(['delete', '--raw', `/apis/longhorn.io/v1beta2/namespaces/${LONGHORN_NS}/replicas?labelSelector=longhornvolume%3Drt-coll`]);
    expect(collection.code).not.toBe(0);
    expect(collection.stderr).toContain('admission webhook "storage-teardown.volume-guard.io" denied the request');
    expect(collection.stderr).toContain(`${LONGHORN_NS}/rt-coll`);
    expect(await replicasLeft('rt-coll')).toHaveLength(1);
  });

  it('two Replica DELETEs sent at once (a DeleteCollection with several workers): one passes, one is refused', async () => {
    await twoCopies('rt-parallel', REPLICA_NODES);
    // Both reach volume-guard before the API server has stored either: only the record of the first tells the second.
    const answers = await Promise.all(
      [0, 1].map((index) => deleteDirect(`/apis/longhorn.io/v1beta2/namespaces/${LONGHORN_NS}/replicas/${replicaName('rt-parallel', index)}`)),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 403]);
    const refused = (JSON.parse(answers.find((answer) => answer.status !== 200)!.body) as { message: string }).message;
    expect(refused).toContain('admission webhook "storage-teardown.volume-guard.io" denied the request');
    expect(refused).toContain(`${LONGHORN_NS}/rt-parallel`);
    expect(await replicasLeft('rt-parallel')).toHaveLength(1);
  });

  it('`kubectl delete node a b`, each holding one of a volume\'s two copies: deletes the first, refuses the second', async () => {
    await twoCopies('rt-nodes', DELETED_NODES);
    const [first, second] = DELETED_NODES as [string, string];
    const alone = await eventually(() => kubectl(['delete', 'node', second, '--dry-run=server']), (r) => r.code === 0);
    expect(alone.code, alone.stderr).toBe(0);
    const both = await kubectl(['delete', 'node', first, second, '--wait=false']);
    expect(both.code).not.toBe(0);
    expect(both.stdout).toContain(`node "${first}" deleted`);
    expect(both.stderr).toContain('admission webhook "node-cordon.volume-guard.io" denied the request');
    expect(both.stderr).toContain(`deletion of node ${second}`);
    // Being deleted, or already gone from volume-guard's view (its Node seen deleted): either way not a copy.
    expect(both.stderr).toMatch(new RegExp(`on node ${first}, (which is being deleted|whose Node object was deleted)`));
    expect((await kubectl(['get', 'node', second])).code).toBe(0);
  });

  it('`kubectl delete machine a b`, each with one of the copies on its node: deletes the first, refuses the second', async () => {
    await twoCopies('rt-machines', MACHINE_NODES);
    await apply(...MACHINE_NODES.map(machine));
    for (const node of MACHINE_NODES) await patchStatus('machines.cluster.x-k8s.io', `${node}-m`, { nodeRef: { name: node } }, MACHINE_NS);
    const [first, second] = MACHINE_NODES as [string, string];
    const alone = await eventually(
      () => kubectl(['delete', 'machines.cluster.x-k8s.io', `${second}-m`, '-n', MACHINE_NS, '--dry-run=server']),
      (r) => r.code === 0,
    );
    expect(alone.code, alone.stderr).toBe(0);
    const both = await kubectl(['delete', 'machines.cluster.x-k8s.io', `${first}-m`, `${second}-m`, '-n', MACHINE_NS, '--wait=false']);
    expect(both.code).not.toBe(0);
    expect(both.stdout).toContain(`machine.cluster.x-k8s.io "${first}-m" deleted`);
    expect(both.stderr).toContain('admission webhook "machine.volume-guard.io" denied the request');
    expect(both.stderr).toContain(`deletion of Machine ${MACHINE_NS}/${second}-m (node ${second})`);
    expect(both.stderr).toContain(`${LONGHORN_NS}/rt-machines`);
  });
});

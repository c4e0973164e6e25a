// Seed 003: pods moved across nodes lose the data held on node-local storage. volume-guard denies `kubectl cordon`
// of a node holding a local PV in use or the last healthy replica of a Longhorn volume, and `kubectl drain`'s
// eviction of a pod on a local PV; an admin's annotation on the node allows it, a non-admin cannot write one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, paths } from '../harness/cluster.ts';
import {
  apply,
  createBoundLocalVolume,
  createLonghornNode,
  createLonghornVolume,
  createNode,
  createPod,
  deleteObjects,
  ensureNamespace,
  eventually,
  LONGHORN_NS,
  must,
} from '../harness/scenario.ts';

const NS = 'seed-003';
const LOCAL_NODE = 's003-local';
const REPLICA_NODE = 's003-replica';
const DRAIN_NODE = 's003-drain';

const unschedulable = async (node: string) => (await kubectl(['get', 'node', node, '-o', 'jsonpath={.spec.unschedulable}'])).stdout === 'true';

/** `kubectl cordon` prints a refusal but exits 0, so the node's state and stderr tell; dry runs wait for the model. */
async function cordonOnceSynced(node: string) {
  await eventually(() => kubectl(['cordon', node, '--dry-run=server']), (r) => r.stderr.includes('denied'));
  return kubectl(['cordon', node]);
}

describe('seed 003: cordon and drain of a node holding data that lives nowhere else', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await ensureNamespace(LONGHORN_NS);
    await createNode(LOCAL_NODE);
    await createNode(REPLICA_NODE);
    await createBoundLocalVolume({ pv: 's003-local-pv', node: LOCAL_NODE, namespace: NS, claim: 'data-postgres-0' });
    await createPod({ name: 'postgres-0', namespace: NS, node: LOCAL_NODE, claims: ['data-postgres-0'] });
    for (const node of [REPLICA_NODE, 's003-other']) await createLonghornNode(node);
    // Two replicas, only the one on REPLICA_NODE healthy: that node holds the last good copy.
    await createLonghornVolume({
      name: 's003-vol',
      replicas: [{ node: REPLICA_NODE }, { node: 's003-other', healthy: false, state: 'stopped' }],
      claim: { namespace: NS, name: 'data-redis-0' },
    });
    // The drain node is unschedulable from the start (node CREATE is not a cordon): drain goes straight to evictions.
    await apply({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: DRAIN_NODE, labels: { 'kubernetes.io/hostname': DRAIN_NODE } },
      spec: { unschedulable: true },
    });
    await createBoundLocalVolume({ pv: 's003-drain-pv', node: DRAIN_NODE, namespace: NS, claim: 'data-mysql-0' });
    await createPod({ name: 'mysql-0', namespace: NS, node: DRAIN_NODE, claims: ['data-mysql-0'] });
    // alice may patch nodes as far as RBAC goes: the override guard is what stops her writing overrides.
    await kubectl(['create', 'clusterrole', 's003-node-editor', '--verb=get,list,patch,update', '--resource=nodes']);
    await kubectl(['create', 'clusterrolebinding', 's003-alice-node-editor', '--clusterrole=s003-node-editor', '--user=alice']);
  });
  afterAll(async () => {
    for (const node of [LOCAL_NODE, REPLICA_NODE, DRAIN_NODE]) await kubectl(['uncordon', node]);
    await deleteObjects(
      ['pod', '--all', '-n', NS, '--grace-period=0', '--force'],
      ['pvc', '--all', '-n', NS],
      ['pv', 's003-local-pv', 's003-drain-pv'],
      ['replicas.longhorn.io', '-l', 'longhornvolume=s003-vol', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 's003-vol', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', REPLICA_NODE, 's003-other', '-n', LONGHORN_NS],
      ['node', LOCAL_NODE, REPLICA_NODE, DRAIN_NODE],
      ['clusterrolebinding', 's003-alice-node-editor'],
      ['clusterrole', 's003-node-editor'],
    );
  });

  it('denies cordoning the node with a local PV in use, naming PV, claim and pod', async () => {
    const result = await cordonOnceSynced(LOCAL_NODE);
    expect(result.stderr).toContain('admission webhook "node-cordon.volume-guard.io" denied the request');
    expect(result.stderr).toContain('[node-local-volume]');
    expect(result.stderr).toContain('s003-local-pv');
    expect(result.stderr).toContain(`${NS}/data-postgres-0`);
    expect(result.stderr).toContain(`${NS}/postgres-0`);
    expect(await unschedulable(LOCAL_NODE)).toBe(false);
  });

  it('denies cordoning the node with the last healthy replica of a Longhorn volume', async () => {
    const result = await cordonOnceSynced(REPLICA_NODE);
    expect(result.stderr).toContain('[last-replica-on-node]');
    expect(result.stderr).toContain('longhorn-system/s003-vol');
    expect(result.stderr).toContain(`${NS}/data-redis-0`);
    expect(await unschedulable(REPLICA_NODE)).toBe(false);
  });

  it('refuses the override from the non-admin identity, and allows the cordon after an admin annotates the node', async () => {
    const byAlice = await kubectl(['annotate', 'node', LOCAL_NODE, 'volume-guard.io/skip=node-local-volume'], { kubeconfig: paths.kubeconfigUser });
    expect(byAlice.code).not.toBe(0);
    expect(byAlice.stderr).toContain('admission webhook "overrides.volume-guard.io" denied the request');
    expect(byAlice.stderr).toContain('alice may not write annotation volume-guard.io/skip on Node');

    await must(
      kubectl(['annotate', 'node', LOCAL_NODE, 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-reason=postgres replica promoted elsewhere', 'volume-guard.io/skip-by=admin']),
      'admin annotate',
    );
    const cordoned = await eventually(async () => {
      const result = await kubectl(['cordon', LOCAL_NODE]);
      return { result, done: await unschedulable(LOCAL_NODE) };
    }, (r) => r.done);
    expect(cordoned.done).toBe(true);
    expect(cordoned.result.stderr).toContain('node-local-volume overridden by node s003-local');
  });

  it("denies kubectl drain's eviction of a pod on a local PV", async () => {
    const drained = await eventually(
      () => kubectl(['drain', DRAIN_NODE, '--ignore-daemonsets', '--delete-emptydir-data', '--force', '--timeout=20s'], { timeoutMs: 60_000 }),
      (r) => r.stderr.includes('denied'),
    );
    expect(drained.code).not.toBe(0);
    expect(drained.stderr).toContain('admission webhook "pod-eviction.volume-guard.io" denied the request');
    expect(drained.stderr).toContain('s003-drain-pv');
    expect((await kubectl(['get', 'pod', 'mysql-0', '-n', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}'])).stdout).toBe('');
  });
});

// Seed 002 (Longhorn 1.7.2): a rolling node replacement reformatted disks; replicas stayed stopped and pointed at
// disk UUIDs that no longer existed. volume-guard denies the upgrade while a replica of an attached volume is stopped
// or sits on a vanished disk, naming the volume and the node.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, tempFile } from '../harness/cluster.ts';
import { createLonghornVolume, deleteObjects, ensureNamespace, eventually, LONGHORN_NS, readyLonghornNodes } from '../harness/scenario.ts';

const NS = 'system-upgrade';

/** A system-upgrade-controller Plan: the k3s/RKE2 way of rolling every node to a new version. */
async function createPlan(name: string, dryRun: boolean) {
  const plan = {
    apiVersion: 'upgrade.cattle.io/v1',
    kind: 'Plan',
    metadata: { name, namespace: NS },
    spec: { concurrency: 1, version: 'v1.31.4+k3s1', serviceAccountName: 'system-upgrade', nodeSelector: {}, upgrade: { image: 'rancher/k3s-upgrade' } },
  };
  const file = await tempFile(`plan-${name}.json`, JSON.stringify(plan));
  return kubectl(['create', '-f', file, ...(dryRun ? ['--dry-run=server'] : [])]);
}

async function deniedOnceSynced(name: string) {
  await eventually(() => createPlan(name, true), (r) => r.code !== 0);
  return createPlan(name, false);
}

const NODES = ['s002-node-1', 's002-node-2', 's002-node-3'];

describe('seed 002: stopped replicas and replicas on vanished disks block a rolling upgrade', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await ensureNamespace(LONGHORN_NS);
    // Each Longhorn node with its Node, as in a cluster: a Longhorn node without one holds no copy.
    await readyLonghornNodes(NODES);
  });
  afterEach(async () => {
    await deleteObjects(
      ['plans.upgrade.cattle.io', '--all', '-n', NS],
      ['replicas.longhorn.io', '-l', 'longhornvolume=s002-db', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 's002-db', '-n', LONGHORN_NS],
    );
  });
  // Longhorn nodes with no Node left behind would make later files' Plans judge every node.
  afterAll(async () => {
    await deleteObjects(['nodes.longhorn.io', ...NODES, '-n', LONGHORN_NS], ['node', ...NODES]);
  });

  it('a healthy 3-replica volume lets the Plan through', async () => {
    await createLonghornVolume({ name: 's002-db', replicas: NODES.map((node) => ({ node })) });
    const result = await createPlan('k3s-server-ok', false);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('a stopped replica of an attached volume is denied, naming the volume and the node', async () => {
    await createLonghornVolume({
      name: 's002-db',
      robustness: 'degraded',
      replicas: [{ node: 's002-node-1' }, { node: 's002-node-2', state: 'stopped' }, { node: 's002-node-3' }],
    });
    const denied = await deniedOnceSynced('k3s-server-stopped');
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('admission webhook "upgrade.volume-guard.io" denied the request');
    expect(denied.stderr).toContain('[volume-health]');
    expect(denied.stderr).toContain('longhorn-system/s002-db');
    expect(denied.stderr).toContain('s002-node-2');
  });

  it('a replica whose disk UUID no longer exists on its node is denied, naming volume, node and disk', async () => {
    await createLonghornVolume({
      name: 's002-db',
      replicas: [{ node: 's002-node-1' }, { node: 's002-node-2', diskID: 'disk-reformatted-away' }, { node: 's002-node-3' }],
    });
    const denied = await deniedOnceSynced('k3s-server-disk');
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('longhorn-system/s002-db');
    expect(denied.stderr).toContain('s002-node-2');
    expect(denied.stderr).toContain('disk-reformatted-away');
  });
});

// Seed 004: on a single-node cluster, moving /var/lib/kubelet without draining wiped every local-storage PV.
// volume-guard refuses the drain (its cordon) of a node holding bound local PVs, naming every one of them, until an
// admin has checked and annotated the node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { createBoundLocalVolume, createNode, createPod, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const NS = 'seed-004';
const NODE = 's004-single-node';
const APPS = ['minio', 'postgres', 'ingress-data'];

describe('seed 004: maintenance on a single node with local-storage PVs', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(NODE);
    for (const app of APPS) {
      await createBoundLocalVolume({ pv: `s004-${app}`, node: NODE, namespace: NS, claim: `${app}-data` });
      await createPod({ name: `${app}-0`, namespace: NS, node: NODE, claims: [`${app}-data`] });
    }
    // A bound local PV no pod mounts right now still holds data that the maintenance would wipe.
    await createBoundLocalVolume({ pv: 's004-archive', node: NODE, namespace: NS, claim: 'archive-data' });
  });
  afterAll(async () => {
    await kubectl(['uncordon', NODE]);
    await deleteObjects(
      ['pod', '--all', '-n', NS, '--grace-period=0', '--force'],
      ['pvc', '--all', '-n', NS],
      ['pv', ...APPS.map((app) => `s004-${app}`), 's004-archive'],
      ['node', NODE],
    );
  });

  it('kubectl drain stops at the cordon, naming every local PV on the node, used or not', async () => {
    await eventually(() => kubectl(['cordon', NODE, '--dry-run=server']), (r) => r.stderr.includes('4 node-local'));
    const drained = await kubectl(['drain', NODE, '--ignore-daemonsets', '--force', '--timeout=20s'], { timeoutMs: 60_000 });
    expect(drained.stderr).toContain('admission webhook "node-cordon.volume-guard.io" denied the request');
    expect(drained.stderr).toContain('4 objects keep data only on s004-single-node');
    for (const app of APPS) {
      expect(drained.stderr).toContain(`s004-${app}`);
      expect(drained.stderr).toContain(`${NS}/${app}-0`);
    }
    expect(drained.stderr).toContain('s004-archive');
    expect(drained.stderr).toContain('not mounted by any pod');
    // Nothing was evicted and the node is still schedulable.
    expect((await kubectl(['get', 'node', NODE, '-o', 'jsonpath={.spec.unschedulable}'])).stdout).toBe('');
    const pods = await must(kubectl(['get', 'pods', '-n', NS, '-o', 'jsonpath={.items[*].metadata.deletionTimestamp}']), 'get pods');
    expect(pods.stdout.trim()).toBe('');
  });

  it('the cordon goes through once an admin annotates the node with skip=*, and the override is audited', async () => {
    await must(kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip=*', 'volume-guard.io/skip-reason=PV data snapshotted to backup-2026-11-22', 'volume-guard.io/skip-by=admin']), 'annotate');
    const cordoned = await eventually(async () => {
      const result = await kubectl(['cordon', NODE]);
      const state = await kubectl(['get', 'node', NODE, '-o', 'jsonpath={.spec.unschedulable}']);
      return { result, done: state.stdout === 'true' };
    }, (r) => r.done);
    expect(cordoned.done).toBe(true);
    expect(cordoned.result.stderr).toContain('overridden by node s004-single-node');
  });
});

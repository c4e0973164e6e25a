// An eviction of a pod whose Node object is gone, through the real API server: the pod garbage collector
// (kubernetes pkg/controller/podgc, gcOrphaned) force-deletes every pod bound to a node name that no longer exists,
// after a 40 s quarantine, whatever the eviction is answered. So the eviction passes, as the DELETE of that pod does,
// while the same eviction is refused as long as the node exists (its local PV keeps the pod's data there).
// The steps run within the pod garbage collector's quarantine, so the pod is still there to be evicted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, tempFile } from '../harness/cluster.ts';
import { createBoundLocalVolume, createNode, createPod, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const NS = 'e2e-eviction-node-gone';
const NODE = 'eng-gone';
const POD = 'db-0';

async function evict(dryRun: boolean): Promise<{ answer: string; stderr: string }> {
  const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: POD, namespace: NS }, ...(dryRun ? { deleteOptions: { dryRun: ['All'] } } : {}) };
  const file = await tempFile(`eng-evict-${dryRun ? 'dry' : 'real'}-${process.pid}.json`, JSON.stringify(eviction));
  const r = await kubectl(['create', '--raw', `/api/v1/namespaces/${NS}/pods/${POD}/eviction`, '-f', file]);
  return { answer: r.code === 0 ? 'allowed' : /denied the request/.test(r.stderr) ? 'denied' : `error: ${r.stderr.trim()}`, stderr: r.stderr };
}

describe('eviction of a pod whose Node object is gone', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(NODE);
    await createBoundLocalVolume({ pv: 'eng-pv', node: NODE, namespace: NS, claim: 'data' });
    await createPod({ name: POD, namespace: NS, node: NODE, claims: ['data'] });
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(['pod', '--all', '-n', NS, '--grace-period=0', '--force'], ['pvc', '--all', '-n', NS], ['pv', 'eng-pv'], ['node', NODE]);
  });

  it('is refused while the node exists, and passes once the Node is deleted', async () => {
    const refused = await eventually(() => evict(true), (r) => r.answer === 'denied');
    expect(refused.answer).toBe('denied');
    expect(refused.stderr).toContain('eng-pv');
    // The Node DELETE is judged as a removal of the node with its disks: let through by the node's override.
    await must(kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-reason=E2E-ENG', 'volume-guard.io/skip-by=admin']), 'node skip');
    await eventually(() => kubectl(['delete', 'node', NODE, '--dry-run=server']), (r) => r.code === 0);
    await must(kubectl(['delete', 'node', NODE, '--wait=false']), 'delete node');
    const allowed = await eventually(() => evict(true), (r) => r.answer !== 'denied');
    expect(allowed.stderr).toBe('');
    expect(allowed.answer).toBe('allowed');
    // The DELETE of the same pod agrees, and so does the real eviction. On a slow machine the pod garbage collector's
    // 40 s may be over by now: the pod is then gone (NotFound), which is what the eviction's answer rests on.
    const deleted = await kubectl(['delete', 'pod', POD, '-n', NS, '--dry-run=server']);
    expect(deleted.stderr).not.toContain('denied');
    const real = await evict(false);
    expect(real.answer === 'allowed' || /NotFound|not found/.test(real.stderr), real.stderr).toBe(true);
  }, 60_000);
});

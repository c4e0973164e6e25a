// Through the real API server with the real kubectl: a Replica DELETE of the one replica Longhorn's auto-salvage
// brought back (spec.failedAt cleared, spec.lastFailedAt kept, not served since), beside a replica that failed
// minutes earlier, is refused (deleted, the next salvage brings the volume back older); and the refusal of a cordon
// for a strict-local volume's only copy tells to change its dataLocality first (Longhorn refuses a second replica
// for it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { createLonghornVolume, deleteObjects, ensureNamespace, eventually, LONGHORN_NS, must, readyLonghornNodes } from '../harness/scenario.ts';

const NODES = ['sv-n1', 'sv-n2'];
const patchSpec = (replica: string, spec: Record<string, unknown>) =>
  must(kubectl(['patch', 'replicas.longhorn.io', replica, '-n', LONGHORN_NS, '--type=merge', '-p', JSON.stringify({ spec })]), `patch ${replica}`);

describe('salvaged replicas and strict-local volumes', () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await readyLonghornNodes(NODES);
    // sv-salv: every replica failed; auto-salvage brought back r-0 (failed last) and left r-1 (failed 10 minutes before).
    await createLonghornVolume({
      name: 'sv-salv',
      state: 'detached',
      robustness: 'faulted',
      replicas: [{ node: 'sv-n1', healthy: false }, { node: 'sv-n2', healthy: false }],
      claim: { namespace: 'shop', name: 'sv-salv-data' },
    });
    // Both held data (healthyAt set) before they failed.
    await patchSpec('sv-salv-r-0', { healthyAt: '2026-01-01T00:00:00Z', failedAt: '', lastFailedAt: '2026-01-02T00:10:00Z', lastHealthyAt: '2026-01-02T00:00:00Z' });
    await patchSpec('sv-salv-r-1', { healthyAt: '2026-01-01T00:00:00Z', failedAt: '2026-01-02T00:00:00Z' });
    await createLonghornVolume({ name: 'sv-local', numberOfReplicas: 1, replicas: [{ node: 'sv-n2' }], claim: { namespace: 'shop', name: 'sv-local-data' } });
    await must(kubectl(['patch', 'volumes.longhorn.io', 'sv-local', '-n', LONGHORN_NS, '--type=merge', '-p', JSON.stringify({ spec: { dataLocality: 'strict-local' } })]), 'strict-local');
  });

  afterAll(async () => {
    await deleteObjects(
      ['volumes.longhorn.io', 'sv-salv', 'sv-local', '-n', LONGHORN_NS],
      ['replicas.longhorn.io', '-l', 'longhornvolume in (sv-salv,sv-local)', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', ...NODES, '-n', LONGHORN_NS],
      ['node', ...NODES],
    );
  });

  it('refuses deleting the one salvaged replica; the stale failed one may go', async () => {
    const deleteReplica = (name: string) => kubectl(['delete', 'replicas.longhorn.io', name, '-n', LONGHORN_NS, '--dry-run=server']);
    const refused = await eventually(() => deleteReplica('sv-salv-r-0'), (r) => r.code !== 0);
    expect(refused.stderr).toContain('admission webhook "storage-teardown.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(`${LONGHORN_NS}/sv-salv (PVC shop/sv-salv-data)`);
    expect(refused.stderr).toContain('holds the newest data');
    expect((await deleteReplica('sv-salv-r-1')).code).toBe(0);
  });

  it("a cordon refused for a strict-local volume's only copy says to change its dataLocality first", async () => {
    // kubectl cordon prints a refused cordon and exits 0 (as kubectl drain goes on after one).
    const refused = await eventually(() => kubectl(['cordon', 'sv-n2', '--dry-run=server']), (r) => r.stderr.includes('strict-local'));
    expect(refused.stderr).toContain('admission webhook "node-cordon.volume-guard.io" denied the request');
    expect(refused.stderr).toContain('sv-local');
    expect(refused.stderr.replace(/\s+/g, ' ')).toContain('set its dataLocality to best-effort or disabled before raising numberOfReplicas');
  });
});

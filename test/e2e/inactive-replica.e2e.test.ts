// A Longhorn volume whose only active healthy replica is on ir-n1, its other healthy replica on ir-n2 inactive
// (spec.active false: a live migration's or engine upgrade's twin, which longhorn-manager counts in no healthy count
// and whose data directory is its active replica's): through the real API server and kubectl, the cordon of ir-n1
// is refused as its last copy; the cordon of ir-n2 passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, createLonghornVolume, deleteObjects, ensureNamespace, eventually, isUnschedulable, LONGHORN_NS, patchStatus, readyLonghornNodes } from '../harness/scenario.ts';

const NODES = ['ir-n1', 'ir-n2'];

describe('an inactive replica', () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await readyLonghornNodes(NODES);
    await apply({
      apiVersion: 'longhorn.io/v1beta2',
      kind: 'Replica',
      metadata: { name: 'ir-vol-r-inactive', namespace: LONGHORN_NS, labels: { longhornvolume: 'ir-vol', longhornnode: 'ir-n2' } },
      spec: { volumeName: 'ir-vol', nodeID: 'ir-n2', diskID: 'disk-ir-n2', healthyAt: '2026-01-01T00:00:00Z', failedAt: '', desireState: 'running', active: false },
    });
    await patchStatus('replicas.longhorn.io', 'ir-vol-r-inactive', { currentState: 'running' }, LONGHORN_NS);
    // Written after the inactive replica: once ir-n1's cordon is refused for the volume, the model holds that one too.
    await createLonghornVolume({ name: 'ir-vol', numberOfReplicas: 2, attachedNode: 'ir-n1', replicas: [{ node: 'ir-n1' }] });
  }, 120_000);

  afterAll(async () => {
    for (const node of NODES) await kubectl(['uncordon', node]);
    await deleteObjects(
      ['replicas.longhorn.io', '-l', 'longhornvolume=ir-vol', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 'ir-vol', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', ...NODES, '-n', LONGHORN_NS],
      ['node', ...NODES],
    );
  });

  it('holds no copy: ir-n1 holds the last one and is refused, ir-n2 cordons', async () => {
    const refused = await eventually(() => kubectl(['cordon', 'ir-n1', '--dry-run=server']), (r) => r.stderr.includes('ir-vol'));
    expect(refused.stderr).toContain('[last-replica-on-node]');
    expect(refused.stderr).toContain('only healthy replica is on node ir-n1');
    const cordon = await kubectl(['cordon', 'ir-n2']);
    expect(cordon.stderr).not.toContain('denied');
    expect(await isUnschedulable('ir-n2')).toBe(true);
  });
});

// A degraded Longhorn volume rebuilding a replica onto rb-n1 (spec.healthyAt empty) from its healthy replicas on
// rb-n2 and rb-n3: through the real API server and kubectl, the cordon of rb-n1 passes (the rebuild holds no copy
// yet), the cordon of rb-n2 (a healthy copy of a degraded volume) is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, createLonghornVolume, deleteObjects, ensureNamespace, eventually, isUnschedulable, LONGHORN_NS, patchStatus, readyLonghornNodes } from '../harness/scenario.ts';

const NODES = ['rb-n1', 'rb-n2', 'rb-n3'];

describe('a replica still rebuilding', () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await readyLonghornNodes(NODES);
    await apply({
      apiVersion: 'longhorn.io/v1beta2',
      kind: 'Replica',
      metadata: { name: 'rb-vol-r-rebuild', namespace: LONGHORN_NS, labels: { longhornvolume: 'rb-vol', longhornnode: 'rb-n1' } },
      spec: { volumeName: 'rb-vol', nodeID: 'rb-n1', diskID: 'disk-rb-n1', healthyAt: '', failedAt: '', desireState: 'running' },
    });
    await patchStatus('replicas.longhorn.io', 'rb-vol-r-rebuild', { currentState: 'running' }, LONGHORN_NS);
    // Written after the rebuilding replica: once rb-n2's cordon is refused for it, the model holds that replica too.
    await createLonghornVolume({ name: 'rb-vol', numberOfReplicas: 3, robustness: 'degraded', attachedNode: 'rb-n2', replicas: [{ node: 'rb-n2' }, { node: 'rb-n3' }] });
  }, 120_000);

  afterAll(async () => {
    for (const node of NODES) await kubectl(['uncordon', node]);
    await deleteObjects(
      ['replicas.longhorn.io', '-l', 'longhornvolume=rb-vol', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 'rb-vol', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', ...NODES, '-n', LONGHORN_NS],
      ['node', ...NODES],
    );
  });

  it('ties no node to its degraded volume: rb-n1 cordons, rb-n2 is refused', async () => {
    const refused = await eventually(() => kubectl(['cordon', 'rb-n2', '--dry-run=server']), (r) => r.stderr.includes('rb-vol'));
    expect(refused.stderr).toContain('[volume-health]');
    expect(refused.stderr).toContain('robustness is degraded');
    const cordon = await kubectl(['cordon', 'rb-n1']);
    expect(cordon.stderr).not.toContain('denied');
    expect(await isUnschedulable('rb-n1')).toBe(true);
  });
});

// A numberOfReplicas 1 Longhorn volume whose replica never became healthy (created, never attached: spec.healthyAt
// empty) holds no data on any node. Through the real API server and kubectl: the cordon of its replica's node passes,
// while the cordon of the node holding a detached single-replica volume that did hold data is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { createLonghornVolume, deleteObjects, ensureNamespace, eventually, isUnschedulable, LONGHORN_NS, readyLonghornNodes } from '../harness/scenario.ts';

const NODES = ['nh-n1', 'nh-n2'];

describe('a single-replica volume that never held data', () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await readyLonghornNodes(NODES);
    await createLonghornVolume({ name: 'nh-new', numberOfReplicas: 1, state: 'detached', replicas: [{ node: 'nh-n1', healthy: false }] });
    // Written last: once nh-n2's cordon is refused for it, the model holds nh-new and its replica too.
    await createLonghornVolume({ name: 'nh-used', numberOfReplicas: 1, state: 'detached', replicas: [{ node: 'nh-n2' }] });
  }, 120_000);

  afterAll(async () => {
    for (const node of NODES) await kubectl(['uncordon', node]);
    await deleteObjects(
      ['replicas.longhorn.io', '-l', 'longhornvolume in (nh-new,nh-used)', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 'nh-new', 'nh-used', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', ...NODES, '-n', LONGHORN_NS],
      ['node', ...NODES],
    );
  });

  it('ties no node: nh-n1 cordons; nh-n2, holding data of nh-used, is refused', async () => {
    const refused = await eventually(() => kubectl(['cordon', 'nh-n2', '--dry-run=server']), (r) => r.stderr.includes('nh-used'));
    expect(refused.stderr).toContain('[single-replica]');
    const cordon = await kubectl(['cordon', 'nh-n1']);
    expect(cordon.stderr).not.toContain('denied');
    expect(await isUnschedulable('nh-n1')).toBe(true);
  });
});

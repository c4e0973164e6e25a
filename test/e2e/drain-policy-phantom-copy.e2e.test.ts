// Longhorn's block-for-eviction-if-contains-last-replica and a replica Longhorn takes for a copy: volume pp-vol has a
// healthy replica on pp-n1 and one on pp-n2 whose disk Longhorn reports not ready (Ready False: reformatted in place,
// unreadable). volume-guard counts no copy on pp-n2; longhorn-manager's ListVolumePDBProtectedHealthyReplicasRO does
// (healthyAt set, failedAt empty, pp-n2 not cordoned), so it evicts nothing from pp-n1 and lifts its
// instance-manager PodDisruptionBudget. Through the real API server and kubectl: the cordon of pp-n1 is refused
// under that policy, and allowed with the warning under block-for-eviction, which evicts every replica and holds
// the drain until none is left.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import {
  apply,
  createLonghornVolume,
  deleteObjects,
  diskUUID,
  ensureNamespace,
  eventually,
  LONGHORN_NS,
  patchStatus,
  readyLonghornNodes,
} from '../harness/scenario.ts';

const NODES = ['pp-n1', 'pp-n2'];

async function setPolicy(value: string): Promise<void> {
  await apply({ apiVersion: 'longhorn.io/v1beta2', kind: 'Setting', metadata: { name: 'node-drain-policy', namespace: LONGHORN_NS }, value });
}

describe("a replica on a disk not ready, which Longhorn's drain policy counts as a copy", () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await readyLonghornNodes(NODES);
    // pp-n2's disk keeps its UUID but reports Ready False.
    const ready = [
      { type: 'Ready', status: 'True' },
      { type: 'Schedulable', status: 'True' },
    ];
    const notReady = [
      { type: 'Ready', status: 'False', reason: 'DiskFilesystemChanged' },
      { type: 'Schedulable', status: 'False' },
    ];
    await patchStatus('nodes.longhorn.io', 'pp-n2', { conditions: ready, diskStatus: { 'disk-0': { diskUUID: diskUUID('pp-n2'), conditions: notReady } } }, LONGHORN_NS);
    await createLonghornVolume({ name: 'pp-vol', numberOfReplicas: 2, state: 'detached', replicas: [{ node: 'pp-n1' }, { node: 'pp-n2' }] });
  }, 120_000);

  afterAll(async () => {
    for (const node of NODES) await kubectl(['uncordon', node]);
    await deleteObjects(
      ['settings.longhorn.io', 'node-drain-policy', '-n', LONGHORN_NS],
      ['replicas.longhorn.io', '-l', 'longhornvolume=pp-vol', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 'pp-vol', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', ...NODES, '-n', LONGHORN_NS],
      ['node', ...NODES],
    );
  });

  it('refuses the cordon of pp-n1 under block-for-eviction-if-contains-last-replica, allows it under block-for-eviction', async () => {
    await setPolicy('block-for-eviction-if-contains-last-replica');
    const refused = await eventually(
      () => kubectl(['cordon', 'pp-n1', '--dry-run=server']),
      (r) => r.stderr.includes('pp-vol') && r.stderr.includes('denied'),
    );
    expect(refused.stderr).toContain('[last-replica-on-node]');
    expect(refused.stderr).toContain('that Longhorn reports not ready');
    expect(refused.stderr).not.toContain('moves them');
    await setPolicy('block-for-eviction');
    const allowed = await eventually(
      () => kubectl(['cordon', 'pp-n1', '--dry-run=server']),
      (r) => !r.stderr.includes('denied'),
    );
    expect(allowed.stderr).toContain('node-drain-policy block-for-eviction moves them');
  });
});

describe('the only healthy replica on a disk Longhorn reports not ready (a mount that failed at boot)', () => {
  const NR = ['nr-n1', 'nr-n2'];
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await readyLonghornNodes(NR);
    // nr-n2's data disk did not mount: Longhorn keeps its UUID and reports it not ready; mounted again, the replica is back.
    await patchStatus(
      'nodes.longhorn.io',
      'nr-n2',
      {
        conditions: [
          { type: 'Ready', status: 'True' },
          { type: 'Schedulable', status: 'True' },
        ],
        diskStatus: { 'disk-0': { diskUUID: diskUUID('nr-n2'), conditions: [{ type: 'Ready', status: 'False', reason: 'DiskFilesystemChanged' }, { type: 'Schedulable', status: 'False' }] } },
      },
      LONGHORN_NS,
    );
    await createLonghornVolume({ name: 'nr-vol', numberOfReplicas: 2, state: 'detached', replicas: [{ node: 'nr-n2' }] });
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(
      ['replicas.longhorn.io', '-l', 'longhornvolume=nr-vol', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 'nr-vol', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', ...NR, '-n', LONGHORN_NS],
      ['node', ...NR],
    );
  });

  it("refuses the cordon and the removal of its node, advising the disk back; the other node's cordon passes", async () => {
    const refused = await eventually(
      () => kubectl(['cordon', 'nr-n2', '--dry-run=server']),
      (r) => r.stderr.includes('nr-vol') && r.stderr.includes('denied'),
    );
    expect(refused.stderr).toContain('that Longhorn reports not ready');
    expect(refused.stderr).toContain('mount it again');
    expect(refused.stderr).not.toContain('wait until Longhorn has rebuilt');
    const removed = await kubectl(['delete', 'node', 'nr-n2', '--dry-run=server']);
    expect(removed.code).not.toBe(0);
    expect(removed.stderr).toContain('nr-vol');
    const other = await kubectl(['cordon', 'nr-n1', '--dry-run=server']);
    expect(other.stderr).not.toContain('denied');
    expect(other.code).toBe(0);
  });
});

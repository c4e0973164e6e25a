// Through the real API server and kubectl: which replicas count as copies when a node is cordoned. A Ready node that
// is merely cordoned still serves its replicas, so the cordon of the node holding a volume's other copy passes. A node
// tainted ToBeDeletedByClusterAutoscaler is being removed by the cluster autoscaler, its disks with it: its replica is
// no copy to count on, and the cordon of the node holding the volume's other copy is refused, saying why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, createLonghornNode, createLonghornVolume, deleteObjects, ensureNamespace, eventually, isUnschedulable, LONGHORN_NS } from '../harness/scenario.ts';

const KEEP = 'lc-keep'; // holds a copy of lc-vol-a; the other copy is on LEAVING
const LEAVING = 'lc-leaving'; // tainted ToBeDeletedByClusterAutoscaler
const OTHER = 'lc-other'; // holds a copy of lc-vol-b; the other copy is on CORDONED
const CORDONED = 'lc-cordoned'; // cordoned, Ready
const NODES = [KEEP, LEAVING, OTHER, CORDONED];

const denied = (stderr: string) => stderr.includes('admission webhook "node-cordon.volume-guard.io" denied the request');

describe('copies on a cordoned node count; copies on a node an autoscaler removes do not', () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    const node = (name: string, spec: Record<string, unknown>) => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name } },
      spec,
    });
    await apply(
      node(KEEP, {}),
      node(LEAVING, { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1733130000', effect: 'NoSchedule' }] }),
      node(OTHER, {}),
      node(CORDONED, { unschedulable: true }),
    );
    for (const name of NODES) await createLonghornNode(name);
    await createLonghornVolume({ name: 'lc-vol-a', replicas: [{ node: KEEP }, { node: LEAVING }] });
    await createLonghornVolume({ name: 'lc-vol-b', replicas: [{ node: OTHER }, { node: CORDONED }] });
    // The model has seen the scenario once the cordon of KEEP is refused.
    await eventually(() => kubectl(['cordon', KEEP, '--dry-run=server']), (r) => denied(r.stderr), 60_000);
  }, 120_000);

  afterAll(async () => {
    await kubectl(['uncordon', ...NODES]);
    await deleteObjects(
      ['replicas.longhorn.io', '-l', 'longhornvolume=lc-vol-a', '-n', LONGHORN_NS],
      ['replicas.longhorn.io', '-l', 'longhornvolume=lc-vol-b', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 'lc-vol-a', 'lc-vol-b', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', ...NODES, '-n', LONGHORN_NS],
      ['node', ...NODES],
    );
  });

  it('kubectl cordon of the node holding the only copy that stays is refused, naming the node being removed', async () => {
    const refused = await kubectl(['cordon', KEEP]);
    expect(denied(refused.stderr)).toBe(true);
    expect(refused.stderr).toContain('[last-replica-on-node]');
    expect(refused.stderr).toContain('lc-vol-a');
    expect(refused.stderr).toContain(`on node ${LEAVING}, which an autoscaler is removing`);
    expect(await isUnschedulable(KEEP)).toBe(false);
  });

  it("kubectl cordon of the node whose volume's other copy is on a cordoned, Ready node passes", async () => {
    const cordoned = await kubectl(['cordon', OTHER]);
    expect(cordoned.stderr).not.toContain('denied');
    expect(await isUnschedulable(OTHER)).toBe(true);
  });
});

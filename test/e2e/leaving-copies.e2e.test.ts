// Through the real API server and kubectl: which replicas count as copies when a node is cordoned. A copy on another
// cordoned node does not (Longhorn's PodDisruptionBudgets protect only copies on schedulable nodes, and `kubectl drain
// a b` cordons both first), nor does one on a node tainted ToBeDeletedByClusterAutoscaler (the cluster autoscaler
// removes it, its disks with it): the cordon of the node holding the volume's other copy is refused, saying why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, createLonghornNode, createLonghornVolume, deleteObjects, ensureNamespace, eventually, isUnschedulable, LONGHORN_NS } from '../harness/scenario.ts';

const KEEP = 'lc-keep'; // holds a copy of lc-vol-a; the other copy is on LEAVING
const LEAVING = 'lc-leaving'; // tainted ToBeDeletedByClusterAutoscaler
const OTHER = 'lc-other'; // holds a copy of lc-vol-b; the other copy is on CORDONED
const CORDONED = 'lc-cordoned'; // cordoned, Ready
const PAIR = ['lc-pair-1', 'lc-pair-2']; // hold the two copies of lc-vol-c, both schedulable
const NODES = [KEEP, LEAVING, OTHER, CORDONED, ...PAIR];

const denied = (stderr: string) => stderr.includes('admission webhook "node-cordon.volume-guard.io" denied the request');

describe('copies on another cordoned node, or on a node an autoscaler removes, do not count', () => {
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
      ...PAIR.map((name) => node(name, {})),
    );
    for (const name of NODES) await createLonghornNode(name);
    await createLonghornVolume({ name: 'lc-vol-a', replicas: [{ node: KEEP }, { node: LEAVING }] });
    await createLonghornVolume({ name: 'lc-vol-b', replicas: [{ node: OTHER }, { node: CORDONED }] });
    await createLonghornVolume({ name: 'lc-vol-c', replicas: [{ node: PAIR[0]! }, { node: PAIR[1]! }] });
    // The model has seen the scenario once the cordon of KEEP is refused.
    await eventually(() => kubectl(['cordon', KEEP, '--dry-run=server']), (r) => denied(r.stderr), 60_000);
  }, 120_000);

  afterAll(async () => {
    await kubectl(['uncordon', ...NODES]);
    await deleteObjects(
      ['replicas.longhorn.io', '-l', 'longhornvolume=lc-vol-a', '-n', LONGHORN_NS],
      ['replicas.longhorn.io', '-l', 'longhornvolume=lc-vol-b', '-n', LONGHORN_NS],
      ['replicas.longhorn.io', '-l', 'longhornvolume=lc-vol-c', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 'lc-vol-a', 'lc-vol-b', 'lc-vol-c', '-n', LONGHORN_NS],
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

  it("kubectl cordon of the node whose volume's other copy is on a cordoned node is refused; uncordoned, it passes", async () => {
    const refused = await kubectl(['cordon', OTHER]);
    expect(denied(refused.stderr)).toBe(true);
    expect(refused.stderr).toContain('[last-replica-on-node]');
    expect(refused.stderr).toContain('lc-vol-b');
    expect(refused.stderr).toContain(`on node ${CORDONED}, which is cordoned`);
    // The volume still has its other healthy copy: the heading and consequence do not read as a degraded volume.
    expect(refused.stderr).toContain(`has its other healthy copies on cordoned or leaving nodes, the last one in service on ${OTHER}`);
    expect(refused.stderr).toContain(`its only copy in service is on ${OTHER}`);
    expect(refused.stderr).not.toContain(`only healthy replica on ${OTHER}`);
    expect(await isUnschedulable(OTHER)).toBe(false);
    await kubectl(['uncordon', CORDONED]);
    const cordoned = await eventually(() => kubectl(['cordon', OTHER, '--dry-run=server']), (r) => r.code === 0, 30_000);
    expect(cordoned.stderr).not.toContain('denied');
  });

  it('kubectl cordon of both nodes holding the copies in one command: the first passes, the second is refused', async () => {
    const both = await kubectl(['cordon', ...PAIR]);
    expect(denied(both.stderr)).toBe(true);
    expect(both.stderr).toContain('lc-vol-c');
    expect(both.stderr).toContain(`on node ${PAIR[0]}, which is cordoned`);
    expect(await isUnschedulable(PAIR[0]!)).toBe(true);
    expect(await isUnschedulable(PAIR[1]!)).toBe(false);
  });
});

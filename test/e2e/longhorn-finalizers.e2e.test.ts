// Longhorn's finalizer stripped from a replica, through the real API server with the real kubectl: a replica
// already being deleted (stuck Terminating: no longhorn-manager here to finish, as when its node is gone) is freed,
// while the same strip on a replica that still holds a copy is refused, naming its volume. A Replica DELETE by hand:
// refused for a volume's last healthy copy (naming the volume and its PVC), passed while another copy is on a node
// that is up, refused again once Longhorn reports that node down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, createLonghornNode, createLonghornVolume, createNode, deleteObjects, ensureNamespace, eventually, LONGHORN_NS, must } from '../harness/scenario.ts';

const NODES = ['lf-n1', 'lf-n2'];
const NO_FINALIZERS = JSON.stringify({ metadata: { finalizers: null } });
const strip = (replica: string) => kubectl(['patch', 'replicas.longhorn.io', replica, '-n', LONGHORN_NS, '--type=merge', '-p', NO_FINALIZERS]);

describe("Longhorn's finalizer stripped from a replica", () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    for (const node of NODES) {
      await createNode(node);
      await createLonghornNode(node);
    }
    await createLonghornVolume({ name: 'lf-vol', replicas: [{ node: 'lf-n1' }, { node: 'lf-n2' }], claim: { namespace: 'shop', name: 'lf-data' } });
    await createLonghornVolume({ name: 'lf-solo', replicas: [{ node: 'lf-n1' }, { node: 'lf-n2', healthy: false }], claim: { namespace: 'shop', name: 'lf-solo-data' } });
    await must(kubectl(['patch', 'replicas.longhorn.io', 'lf-vol-r-0', '-n', LONGHORN_NS, '--type=merge', '-p', JSON.stringify({ metadata: { finalizers: ['longhorn.io'] } })]), 'finalizer');
    // A third replica Longhorn is deleting: its finalizer holds it Terminating.
    await apply({
      apiVersion: 'longhorn.io/v1beta2',
      kind: 'Replica',
      metadata: { name: 'lf-vol-r-stuck', namespace: LONGHORN_NS, finalizers: ['longhorn.io'], labels: { longhornvolume: 'lf-vol' } },
      spec: { volumeName: 'lf-vol', nodeID: 'lf-gone', diskID: 'disk-lf-gone', healthyAt: '2026-01-01T00:00:00Z', failedAt: '', desireState: 'stopped' },
    });
    await must(kubectl(['delete', 'replicas.longhorn.io', 'lf-vol-r-stuck', '-n', LONGHORN_NS, '--wait=false']), 'delete the replica');
  });

  afterAll(async () => {
    // The volume first: with it gone, stripping its replicas' finalizer takes no copy of anything.
    await deleteObjects(['volumes.longhorn.io', 'lf-vol', 'lf-solo', '-n', LONGHORN_NS]);
    await eventually(() => strip('lf-vol-r-0'), (r) => r.code === 0 || r.stderr.includes('NotFound'));
    await strip('lf-vol-r-stuck');
    await deleteObjects(
      ['replicas.longhorn.io', '-l', 'longhornvolume in (lf-vol,lf-solo)', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', ...NODES, '-n', LONGHORN_NS],
      ['node', ...NODES],
    );
  });

  it('refuses it on a replica holding a copy, and frees a replica already being deleted', async () => {
    const refused = await eventually(
      () => kubectl(['patch', 'replicas.longhorn.io', 'lf-vol-r-0', '-n', LONGHORN_NS, '--type=merge', '-p', NO_FINALIZERS, '--dry-run=server']),
      (r) => r.code !== 0,
    );
    expect(refused.stderr).toContain('admission webhook "storage-teardown.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(`${LONGHORN_NS}/lf-vol`);
    const freed = await strip('lf-vol-r-stuck');
    expect(freed.stderr).not.toContain('denied');
    expect(freed.code).toBe(0);
    await eventually(() => kubectl(['get', 'replicas.longhorn.io', 'lf-vol-r-stuck', '-n', LONGHORN_NS]), (r) => r.code !== 0);
    expect((await kubectl(['get', 'replicas.longhorn.io', 'lf-vol-r-stuck', '-n', LONGHORN_NS])).code).not.toBe(0);
  });

  it("refuses deleting a volume's last healthy replica by hand, passes one with another copy, counts copies on nodes up only", async () => {
    const deleteReplica = (name: string) => kubectl(['delete', 'replicas.longhorn.io', name, '-n', LONGHORN_NS, '--dry-run=server']);
    const refused = await eventually(() => deleteReplica('lf-solo-r-0'), (r) => r.code !== 0);
    expect(refused.stderr).toContain('admission webhook "storage-teardown.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(`deletion of Longhorn replica ${LONGHORN_NS}/lf-solo-r-0`);
    expect(refused.stderr).toContain(`${LONGHORN_NS}/lf-solo (PVC shop/lf-solo-data)`);
    expect(refused.stderr).toContain('last healthy copy');
    expect(refused.stderr).not.toContain('lf-vol');
    // Its failed replica, and either replica of the volume with two copies, may go.
    expect((await deleteReplica('lf-solo-r-1')).code).toBe(0);
    expect((await deleteReplica('lf-vol-r-1')).code).toBe(0);
    // Longhorn reports lf-n2 down: lf-vol's replica there is no copy, so the one on lf-n1 is its last.
    await must(
      kubectl(['patch', 'nodes.longhorn.io', 'lf-n2', '-n', LONGHORN_NS, '--type=merge', '--subresource=status', '-p', JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'False', reason: 'KubernetesNodeNotReady' }] } })]),
      'Longhorn node down',
    );
    const down = await eventually(() => deleteReplica('lf-vol-r-0'), (r) => r.code !== 0);
    expect(down.stderr).toContain(`${LONGHORN_NS}/lf-vol (PVC shop/lf-data)`);
  });
});

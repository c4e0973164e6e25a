// A healthy replica counts as a copy only where its data can still be read, through the real API server with the
// real kubectl: a replica on a node that neither Kubernetes nor Longhorn knows any more (the node was deleted with
// its machine), or on a disk whose UUID is gone from its Longhorn node (reformatted or replaced: seed 002), leaves
// the other node holding the last copy, so the eviction of the pod using it is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, tempFile } from '../harness/cluster.ts';
import {
  applyBoundPair,
  createLonghornNode,
  createLonghornVolume,
  createPod,
  deleteObjects,
  ensureNamespace,
  eventually,
  LONGHORN_NS,
  must,
  readyLonghornNodes,
} from '../harness/scenario.ts';

const NS = 'e2e-lost-copies';
const NODES = ['lc-n1', 'lc-n2', 'lc-n3'];

/** A server-side dry-run eviction (what kubectl drain sends, without evicting). */
async function evictDryRun(pod: string) {
  const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: NS }, deleteOptions: { dryRun: ['All'] } };
  const file = await tempFile(`lc-evict-${pod}-${process.pid}.json`, JSON.stringify(eviction));
  return kubectl(['create', '--raw', `/api/v1/namespaces/${NS}/pods/${pod}/eviction`, '-f', file]);
}

/** A Longhorn volume with a replica on lc-n1 and one on `other`, its PV/PVC, and a pod on lc-n1 using it. */
async function volumeWithPod(name: string, other: { node: string; diskID?: string }) {
  await createLonghornVolume({ name, numberOfReplicas: 2, replicas: [{ node: 'lc-n1' }, other], claim: { namespace: NS, name: `${name}-data` } });
  await applyBoundPair(
    {
      metadata: { name },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'longhorn',
        csi: { driver: 'driver.longhorn.io', volumeHandle: name, fsType: 'ext4' },
      },
    },
    { name: `${name}-data`, namespace: NS, storageClassName: 'longhorn' },
  );
  await createPod({ name: `${name}-db`, namespace: NS, node: 'lc-n1', claims: [`${name}-data`] });
}

describe('replicas that are no copies', () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await ensureNamespace(NS);
    await readyLonghornNodes(NODES);
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(
      ['pod', '--all', '-n', NS, '--grace-period=0', '--force'],
      ['pvc', '--all', '-n', NS],
      ['pv', 'lc-gone', 'lc-disk'],
      ['replicas.longhorn.io', '-l', 'longhornvolume in (lc-gone,lc-disk)', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 'lc-gone', 'lc-disk', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', ...NODES, '-n', LONGHORN_NS],
      ['node', ...NODES],
    );
  });

  it('the other replica on a node deleted from Kubernetes and Longhorn: the eviction from lc-n1 is refused', async () => {
    await volumeWithPod('lc-gone', { node: 'lc-n2' });
    // Both nodes there: two copies, the eviction passes.
    const allowed = await eventually(() => evictDryRun('lc-gone-db'), (r) => r.code === 0);
    expect(allowed.stderr).not.toContain('denied');
    // As an operator removes a node: its Node first (lc-n1 keeps a copy: allowed), then Longhorn's record of it.
    await must(kubectl(['delete', 'node', 'lc-n2']), 'delete node lc-n2');
    await must(kubectl(['delete', 'nodes.longhorn.io', 'lc-n2', '-n', LONGHORN_NS]), 'delete Longhorn node lc-n2');
    const denied = await eventually(() => evictDryRun('lc-gone-db'), (r) => r.stderr.includes('denied'));
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('admission webhook "pod-eviction.volume-guard.io" denied the request');
    expect(denied.stderr).toContain('[last-replica-on-node]');
    expect(denied.stderr).toContain('longhorn-system/lc-gone');
    expect(denied.stderr).toContain('on node lc-n2, which no longer exists');
  });

  it('the other replica on a disk gone from lc-n3: the eviction from lc-n1 is refused, and allowed once the disk is back', async () => {
    await volumeWithPod('lc-disk', { node: 'lc-n3', diskID: 'disk-lc-n3-old' });
    const denied = await eventually(() => evictDryRun('lc-disk-db'), (r) => r.stderr.includes('denied'));
    expect(denied.stderr).toContain('[last-replica-on-node]');
    expect(denied.stderr).toContain('on node lc-n3, on disk disk-lc-n3-old that is gone');
    // Longhorn reports the disk again (say it was only unmounted): two copies.
    await createLonghornNode('lc-n3', ['disk-lc-n3', 'disk-lc-n3-old']);
    const allowed = await eventually(() => evictDryRun('lc-disk-db'), (r) => r.code === 0);
    expect(allowed.stderr).not.toContain('denied');
  });
});

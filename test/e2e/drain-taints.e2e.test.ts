// cluster-autoscaler drains a node by tainting it ToBeDeletedByClusterAutoscaler (no cordon), evicting its pods,
// then deleting it. Through the real API server and kubectl: on a node carrying that taint and holding a local PV,
// the eviction of a pod with no data of its own is refused with the node-wide checks, as on a cordoned node; the same
// eviction on an untainted node holding a local PV passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, tempFile } from '../harness/cluster.ts';
import { apply, createBoundLocalVolume, createPod, deleteObjects, ensureNamespace, eventually } from '../harness/scenario.ts';

const NS = 'e2e-drain-taints';

async function evictDryRun(pod: string) {
  const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: NS }, deleteOptions: { dryRun: ['All'] } };
  const file = await tempFile(`dt-evict-${pod}-${process.pid}.json`, JSON.stringify(eviction));
  return kubectl(['create', '--raw', `/api/v1/namespaces/${NS}/pods/${pod}/eviction`, '-f', file]);
}

describe('an autoscaler drain taint makes evictions drain steps', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    // Tainted when it registers: a Node CREATE is not judged (the taint's later addition would be, like a cordon).
    await apply(
      {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'dt-n1', labels: { 'kubernetes.io/hostname': 'dt-n1' } },
        spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1733130000', effect: 'NoSchedule' }] },
      },
      { apiVersion: 'v1', kind: 'Node', metadata: { name: 'dt-n2', labels: { 'kubernetes.io/hostname': 'dt-n2' } } },
    );
    for (const node of ['dt-n1', 'dt-n2']) {
      await createBoundLocalVolume({ pv: `${node}-pv`, node, namespace: NS, claim: `${node}-data` });
      await createPod({ name: `${node}-web`, namespace: NS, node });
    }
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(['pod', '--all', '-n', NS, '--grace-period=0', '--force'], ['pvc', '--all', '-n', NS], ['pv', 'dt-n1-pv', 'dt-n2-pv'], ['node', 'dt-n1', 'dt-n2']);
  });

  it('refused on the tainted node, naming its local PV; allowed on the other', async () => {
    const refused = await eventually(() => evictDryRun('dt-n1-web'), (r) => r.stderr.includes('denied'));
    expect(refused.stderr).toContain('admission webhook "pod-eviction.volume-guard.io" denied the request');
    expect(refused.stderr).toContain('[node-local-volume]');
    expect(refused.stderr).toContain('dt-n1-pv');
    const allowed = await evictDryRun('dt-n2-web');
    expect(allowed.stderr).not.toContain('denied');
    expect(allowed.code).toBe(0);
  });
});

// Removing a node for good against emptying it for a while, through the real API server and the real kubectl: a bare
// pod writing to a hostPath on the node (no controller recreates it anywhere: it was never judged at a cordon) loses
// that data only when the node itself goes, with its disks. `kubectl delete node` and the cluster autoscaler's drain
// taint are refused, naming the pod; a cordon of the same node passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, createNode, deleteObjects, ensureNamespace, eventually, patchStatus } from '../harness/scenario.ts';

const NS = 'e2e-node-removal';
const NODE = 'nr-node';
const POD = 'nr-scratch';

describe('a node removed for good takes the hostPath data of a bare pod with it', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(NODE);
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: POD, namespace: NS },
      spec: {
        nodeName: NODE,
        automountServiceAccountToken: false,
        containers: [{ name: 'app', image: 'registry.invalid/app:1', volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] }],
        volumes: [{ name: 'scratch', hostPath: { path: '/data/nr-scratch', type: 'DirectoryOrCreate' } }],
      },
    });
    await patchStatus('pod', POD, { phase: 'Running' }, NS);
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(['pod', POD, '-n', NS, '--grace-period=0', '--force'], ['node', NODE]);
  });

  it('kubectl delete node is refused, naming the pod and saying the node goes with its disks', async () => {
    const refused = await eventually(() => kubectl(['delete', 'node', NODE, '--dry-run=server']), (r) => r.code !== 0);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('denied the request');
    expect(refused.stderr).toContain('[node-local-volume]');
    expect(refused.stderr).toContain(`${NS}/${POD}`);
    expect(refused.stderr).toContain('The node is removed, not only emptied');
  });

  it("the cluster autoscaler's drain taint is refused the same; a cordon of the node passes", async () => {
    const tainted = await kubectl(['taint', 'node', NODE, 'ToBeDeletedByClusterAutoscaler=1764800000:NoSchedule', '--dry-run=server']);
    expect(tainted.code).not.toBe(0);
    expect(tainted.stderr).toContain(`${NS}/${POD}`);
    const cordoned = await kubectl(['cordon', NODE, '--dry-run=server']);
    expect(cordoned.code, cordoned.stderr).toBe(0);
    expect(cordoned.stderr).not.toContain('denied');
  });
});

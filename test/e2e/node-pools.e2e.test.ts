// A node pool of one node pins nothing: a surge upgrade of the pool (GKE's default, EKS managed node groups) adds
// a node to it before draining the old one, and a pod whose nodeSelector names the pool is recreated there. So a
// ReplicaSet pod selecting a one-node GKE pool and writing to an inline hostPath keeps its data on that node only:
// its node's cordon is refused. Through the real API server with the real kubectl (Nodes and the pod written as
// the kubelet and the ReplicaSet controller would write them).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, deleteObjects, ensureNamespace, eventually, isUnschedulable, patchStatus } from '../harness/scenario.ts';

const NS = 'e2e-node-pools';
const NODE = 'np-pool-a-1';
const OTHER = 'np-pool-b-1';
const POOL_KEY = 'cloud.google.com/gke-nodepool';

describe('a one-node pool pins nothing', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await apply(
      { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE, labels: { 'kubernetes.io/hostname': NODE, [POOL_KEY]: 'np-pool-a' } } },
      { apiVersion: 'v1', kind: 'Node', metadata: { name: OTHER, labels: { 'kubernetes.io/hostname': OTHER, [POOL_KEY]: 'np-pool-b' } } },
    );
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'cache-6d9f-x1',
        namespace: NS,
        // No such ReplicaSet exists: under an API version the cluster does not serve, the garbage collector cannot
        // resolve the owner and leaves the pod alone. Only the owner's kind is read.
        ownerReferences: [{ apiVersion: 'apps/v1beta2', kind: 'ReplicaSet', name: 'cache-6d9f', uid: '0b3c6a4e-0000-4000-8000-00000000a001', controller: true }],
      },
      spec: {
        nodeName: NODE,
        nodeSelector: { [POOL_KEY]: 'np-pool-a' },
        automountServiceAccountToken: false,
        containers: [{ name: 'app', image: 'registry.invalid/app:1', volumeMounts: [{ name: 'cache', mountPath: '/cache' }] }],
        volumes: [{ name: 'cache', hostPath: { path: '/srv/np-cache', type: 'DirectoryOrCreate' } }],
      },
    });
    await patchStatus('pod', 'cache-6d9f-x1', { phase: 'Running' }, NS);
  });

  afterAll(async () => {
    await kubectl(['uncordon', NODE]);
    await deleteObjects(['pod', '--all', '-n', NS, '--grace-period=0', '--force'], ['node', NODE, OTHER]);
  });

  it("refuses the cordon of the pool's only node, naming the pod and its path", async () => {
    await eventually(() => kubectl(['cordon', NODE, '--dry-run=server']), (r) => r.stderr.includes('denied'));
    const result = await kubectl(['cordon', NODE]);
    expect(result.stderr).toContain('admission webhook "node-cordon.volume-guard.io" denied the request');
    expect(result.stderr).toContain(`Pod ${NS}/cache-6d9f-x1: writes to hostPath /srv/np-cache; its ReplicaSet would recreate it on another node`);
    expect(await isUnschedulable(NODE)).toBe(false);
  });
});

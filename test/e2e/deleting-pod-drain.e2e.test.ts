// A pod already being deleted goes whatever volume-guard answers (kubectl drain evicts it again and waits; its
// controller has already counted it out and made its replacement). Through the real API server, kubectl and the real
// ReplicaSet controller: a cordon of a node where a ReplicaSet's pod writes to a hostPath is refused (the controller
// would recreate it elsewhere without that data); once that pod is terminating, the same cordon passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, createNode, createPod, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const NS = 'e2e-deleting-pod';
const NODE = 'dp-node';
const LABEL = 'app=e2e-dp-cache';

async function firstPod(): Promise<string> {
  return (await kubectl(['get', 'pods', '-n', NS, '-l', LABEL, '-o', 'jsonpath={.items[0].metadata.name}'])).stdout.trim();
}

const cordon = () => kubectl(['cordon', NODE, '--dry-run=server']);

describe('a terminating pod no longer holds up the cordon of its node for its hostPath data', () => {
  let pod = '';

  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(NODE);
    await apply({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'dp-cache', namespace: NS },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'e2e-dp-cache' } },
        template: {
          metadata: { labels: { app: 'e2e-dp-cache' } },
          spec: {
            automountServiceAccountToken: false,
            containers: [{ name: 'cache', image: 'registry.invalid/cache:1', volumeMounts: [{ name: 'cache', mountPath: '/cache' }] }],
            volumes: [{ name: 'cache', hostPath: { path: '/srv/dp-cache', type: 'DirectoryOrCreate' } }],
          },
        },
      },
    });
    pod = await eventually(firstPod, (name) => name !== '', 30_000);
    // No scheduler here: bound to the node as the scheduler binds it, then reported running.
    await createPod({ name: pod, namespace: NS, node: NODE });
  }, 120_000);

  afterAll(async () => {
    if (pod !== '') await kubectl(['patch', 'pod', pod, '-n', NS, '--type=merge', '-p', JSON.stringify({ metadata: { finalizers: null } })]);
    await deleteObjects(['replicaset', 'dp-cache', '-n', NS], ['pod', '--all', '-n', NS, '--grace-period=0', '--force'], ['node', NODE]);
  });

  it("refuses the cordon while the ReplicaSet's pod writes to the hostPath", async () => {
    const refused = await eventually(cordon, (r) => r.code !== 0);
    expect(refused.stderr).toContain('denied the request');
    expect(refused.stderr).toContain('[node-local-volume]');
    expect(refused.stderr).toContain(pod);
  });

  it('passes the cordon once that pod is being deleted (the ReplicaSet has made its replacement)', async () => {
    await must(kubectl(['patch', 'pod', pod, '-n', NS, '--type=merge', '-p', JSON.stringify({ metadata: { finalizers: ['e2e.volume-guard.io/hold'] } })]), 'finalizer');
    await must(kubectl(['delete', 'pod', pod, '-n', NS, '--wait=false']), 'delete pod');
    const passed = await eventually(cordon, (r) => r.code === 0);
    expect(passed.code, passed.stderr).toBe(0);
    expect(passed.stderr).not.toContain('denied');
  });
});

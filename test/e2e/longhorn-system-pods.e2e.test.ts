// Longhorn's instance-manager pod (one per node, spec.nodeName set by longhorn-manager, owned by its InstanceManager,
// writing to the Longhorn disk /var/lib/longhorn as a hostPath) is no inline hostPath data: through the real API server
// and kubectl, the cordon of its node and its eviction pass, while the same hostPath written by a ReplicaSet's pod on
// another node still refuses that node's cordon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, tempFile } from '../harness/cluster.ts';
import { apply, deleteObjects, ensureNamespace, eventually, isUnschedulable, LONGHORN_NS, patchStatus, readyLonghornNodes } from '../harness/scenario.ts';

const NODES = ['lsp-n1', 'lsp-n2'];

/** A running pod on `node` mounting /var/lib/longhorn writable, controlled by `owner` (which need not exist). */
async function hostPathPod(name: string, node: string, owner: { apiVersion: string; kind: string }) {
  await apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: LONGHORN_NS,
      // No such owner exists. longhorn.io instancemanagers are not served here, and apps/v1beta2 no longer is: the
      // garbage collector cannot resolve either and leaves the pod alone. Only the owner's kind and group are read.
      ownerReferences: [{ ...owner, name: `${name}-owner`, uid: `5a1d0c3e-0000-4000-8000-00000000${name.length.toString().padStart(4, '0')}`, controller: true }],
    },
    spec: {
      nodeName: node,
      automountServiceAccountToken: false,
      containers: [{ name: 'manager', image: 'registry.invalid/manager:1', volumeMounts: [{ name: 'longhorn', mountPath: '/var/lib/longhorn/' }] }],
      volumes: [{ name: 'longhorn', hostPath: { path: '/var/lib/longhorn/' } }],
    },
  });
  await patchStatus('pod', name, { phase: 'Running' }, LONGHORN_NS);
}

async function evictDryRun(pod: string) {
  const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: LONGHORN_NS }, deleteOptions: { dryRun: ['All'] } };
  const file = await tempFile(`lsp-evict-${pod}-${process.pid}.json`, JSON.stringify(eviction));
  return kubectl(['create', '--raw', `/api/v1/namespaces/${LONGHORN_NS}/pods/${pod}/eviction`, '-f', file]);
}

describe("Longhorn's instance-manager pods", () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await readyLonghornNodes(NODES);
    await hostPathPod('instance-manager-lsp1', 'lsp-n1', { apiVersion: 'longhorn.io/v1beta2', kind: 'InstanceManager' });
    // Written last: once its node's cordon is refused, the model holds the instance-manager pod too.
    await hostPathPod('store-6d9f-lsp2', 'lsp-n2', { apiVersion: 'apps/v1beta2', kind: 'ReplicaSet' });
  }, 120_000);

  afterAll(async () => {
    for (const node of NODES) await kubectl(['uncordon', node]);
    await deleteObjects(
      ['pod', 'instance-manager-lsp1', 'store-6d9f-lsp2', '-n', LONGHORN_NS, '--grace-period=0', '--force'],
      ['nodes.longhorn.io', ...NODES, '-n', LONGHORN_NS],
      ['node', ...NODES],
    );
  });

  it('the cordon of a node whose only hostPath writer is its instance manager passes; its eviction too', async () => {
    const refused = await eventually(() => kubectl(['cordon', 'lsp-n2', '--dry-run=server']), (r) => r.stderr.includes('denied'));
    expect(refused.stderr).toContain('store-6d9f-lsp2');
    expect(refused.stderr).toContain('hostPath /var/lib/longhorn');
    const cordon = await kubectl(['cordon', 'lsp-n1']);
    expect(cordon.stderr).not.toContain('denied');
    expect(await isUnschedulable('lsp-n1')).toBe(true);
    const evicted = await evictDryRun('instance-manager-lsp1');
    expect(evicted.stderr).not.toContain('denied');
    expect(evicted.code).toBe(0);
  });
});

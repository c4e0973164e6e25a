// A namespace being deleted takes its pods with it: the namespace controller deletes them (DeleteCollection, each
// admitted as a pod DELETE), and its claims go too, judged at the Namespace DELETE itself. On a cordoned node a
// pod DELETE with data is refused (a drain with --disable-eviction looks the same), which left such a namespace
// Terminating for good. Through the real API server, kubectl and the real namespace controller: the pod's DELETE
// is refused while its namespace lives, and admitted once the namespace is being deleted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, createBoundLocalVolume, createPod, deleteObjects, eventually, must } from '../harness/scenario.ts';

const NS = 'e2e-ns-teardown';
const NODE = 'nt-cordoned';
const POD = 'nt-db-0';

async function podDeletionTimestamp(): Promise<string> {
  const got = await kubectl(['get', 'pod', POD, '-n', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}']);
  return got.code === 0 ? got.stdout.trim() : 'gone';
}

describe('pods of a namespace being deleted', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    await apply(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
      { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE, labels: { 'kubernetes.io/hostname': NODE } }, spec: { unschedulable: true } },
    );
    await createBoundLocalVolume({ pv: 'nt-pv', node: NODE, namespace: NS, claim: 'nt-data' });
    await createPod({ name: POD, namespace: NS, node: NODE, claims: ['nt-data'] });
  });

  afterAll(async () => {
    await deleteObjects(['pod', POD, '-n', NS, '--force', '--grace-period=0'], ['pvc', '--all', '-n', NS], ['namespace', NS, '--wait=false'], ['pv', 'nt-pv'], ['node', NODE]);
  });

  it('refuses the pod DELETE on the cordoned node while the namespace lives', async () => {
    const refused = await eventually(() => kubectl(['delete', 'pod', POD, '-n', NS, '--dry-run=server']), (r) => r.code !== 0);
    expect(refused.stderr).toContain('denied the request');
    expect(refused.stderr).toContain('node-local-volume');
  });

  it('lets the namespace controller delete it once the namespace is being deleted', async () => {
    await must(kubectl(['delete', 'namespace', NS, '--wait=false']), 'delete namespace');
    // Without a kubelet the pod stays Terminating; its DELETE was admitted when it carries a deletionTimestamp.
    const stamp = await eventually(podDeletionTimestamp, (value) => value !== '', 90_000);
    expect(stamp).not.toBe('');
    const conditions = await kubectl(['get', 'namespace', NS, '-o', 'jsonpath={.status.conditions[?(@.type=="NamespaceDeletionContentFailure")].status}']);
    expect(conditions.stdout.trim()).not.toBe('True');
  });
});

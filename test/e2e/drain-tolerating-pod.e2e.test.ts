// A hostPath pod tolerating every taint (`operator: Exists`), on the one node its nodeSelector matches: the scheduler
// puts its replacement back on that node however it is cordoned, so a drain of it loses nothing. Through the real API
// server with the real kubectl: the cordon is refused while the pod tolerates nothing, passes once it tolerates every
// taint, and the drain's eviction passes; once another node with the label joins, the eviction is refused (the
// replacement may start there without its data).
// No scheduler or kubelet here: Nodes and Pods (with nodeName) are written as those would write them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { createNode, createReplicaSetHostPathPod, deleteObjects, ensureNamespace, eventually, isUnschedulable, must } from '../harness/scenario.ts';

const NS = 'e2e-drain-tolerating';
const HOME = 'dt-home';
const PEER = 'dt-peer';
const LABEL = { 'e2e-drain-tolerating/disk': 'ssd' };
const POD = 'agent-6f-x1';

/** A server-side dry-run eviction of the pod. */
function evict() {
  const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: POD, namespace: NS }, deleteOptions: { dryRun: ['All'] } };
  return kubectl(['create', '--raw', `/api/v1/namespaces/${NS}/pods/${POD}/eviction`, '-f', '-'], { input: JSON.stringify(eviction) });
}

const dryRunCordon = () => kubectl(['cordon', HOME, '--dry-run=server']);

describe('the drain of the one node a hostPath pod tolerating every taint can run on', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(HOME, LABEL);
    // A ReplicaSet pod writing to an inline hostPath, placed by a label only HOME carries.
    await createReplicaSetHostPathPod({ name: POD, namespace: NS, node: HOME, nodeSelector: LABEL, replicaSet: 'agent-6f', uid: '0b3c6a4e-0000-4000-8000-0000000f0e02', image: 'registry.invalid/agent:1', mountPath: '/state', path: '/srv/dt-agent' });
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(['pod', '--all', '-n', NS, '--grace-period=0', '--force'], ['node', HOME, PEER]);
  });

  it('refuses the cordon while the pod tolerates nothing: its replacement would go Pending, and start empty on a node added for it', async () => {
    const refused = await eventually(dryRunCordon, (r) => r.code !== 0);
    expect(refused.stderr).toContain('admission webhook "node-cordon.volume-guard.io" denied the request');
    expect(refused.stderr).toContain('/srv/dt-agent');
  });

  it('passes the cordon once the pod tolerates every taint: its replacement lands back on the cordoned node', async () => {
    // A pod's tolerations may be added to in place (the API server's defaults, if any, kept).
    const current = await must(kubectl(['get', 'pod', POD, '-n', NS, '-o', 'jsonpath={.spec.tolerations}']), 'read the tolerations');
    const tolerations = [...(current.stdout.trim() === '' ? [] : (JSON.parse(current.stdout) as unknown[])), { operator: 'Exists' }];
    await must(kubectl(['patch', 'pod', POD, '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { tolerations } })]), 'add the toleration');
    await eventually(dryRunCordon, (r) => r.code === 0);
    await must(kubectl(['cordon', HOME]), 'cordon the node');
    expect(await isUnschedulable(HOME)).toBe(true);
  });

  it("passes the drain's eviction of the pod", async () => {
    const allowed = await eventually(evict, (r) => r.code === 0, 30_000);
    expect(allowed.code, allowed.stderr).toBe(0);
  });

  it('refuses the eviction once another node carrying the label could take the replacement', async () => {
    await createNode(PEER, LABEL);
    const refused = await eventually(evict, (r) => r.code !== 0, 30_000);
    expect(refused.stderr).toContain('admission webhook "pod-eviction.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(POD);
    expect(refused.stderr).toContain('/srv/dt-agent');
  });
});

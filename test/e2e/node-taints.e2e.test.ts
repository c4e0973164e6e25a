// Which taints empty a node, through the real API server (the webhook's matchConditions CEL and the handler) and
// the real `kubectl taint`: a NoSchedule taint that dedicates a node (`dedicated=db:NoSchedule`) keeps new pods off
// and moves nothing, so it passes on a node holding a local PV in use; the taints that do empty the node are refused
// there: a NoExecute taint (the taint manager deletes every pod not tolerating it) and the cluster autoscaler's
// `ToBeDeletedByClusterAutoscaler` NoSchedule taint (it drains the node without cordoning it, then deletes it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { createNode, createPodOnLocalVolume, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const NS = 'e2e-node-taints';
const NODE = 'nt-data';

const denied = (stderr: string) => stderr.includes('admission webhook "node-cordon.volume-guard.io" denied the request');

async function taintKeys(): Promise<string> {
  return (await kubectl(['get', 'node', NODE, '-o', 'jsonpath={range .spec.taints[*]}{.key}:{.effect} {end}'])).stdout;
}

describe('a dedicating NoSchedule taint passes; taints that empty the node do not', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(NODE);
    await createPodOnLocalVolume({ pod: 'db-0', node: NODE, namespace: NS, pv: 'nt-data-pv', claim: 'data-db-0' });
    // The model has seen the scenario once a dry-run cordon of the node is refused.
    await eventually(() => kubectl(['cordon', NODE, '--dry-run=server']), (r) => denied(r.stderr));
  }, 120_000);

  afterAll(async () => {
    await kubectl(['annotate', 'node', NODE, '--overwrite', 'volume-guard.io/skip=*', 'volume-guard.io/skip-reason=e2e cleanup', 'volume-guard.io/skip-by=admin']);
    for (const key of ['dedicated-', 'maintenance-', 'ToBeDeletedByClusterAutoscaler-']) await kubectl(['taint', 'node', NODE, key]);
    await deleteObjects(['pod', '--all', '-n', NS, '--grace-period=0', '--force'], ['pvc', '--all', '-n', NS], ['pv', 'nt-data-pv'], ['node', NODE]);
  });

  it('kubectl taint dedicated=db:NoSchedule passes without a word', async () => {
    const result = await must(kubectl(['taint', 'node', NODE, 'dedicated=db:NoSchedule']), 'dedicated taint');
    expect(result.stderr).not.toContain('volume-guard');
    expect(await taintKeys()).toContain('dedicated:NoSchedule');
    await must(kubectl(['taint', 'node', NODE, 'dedicated-']), 'untaint');
  });

  it('a NoExecute taint and the autoscaler drain taint are refused, naming the taint and the local PV', async () => {
    const noExecute = await kubectl(['taint', 'node', NODE, 'maintenance=now:NoExecute']);
    expect(noExecute.code).not.toBe(0);
    expect(denied(noExecute.stderr)).toBe(true);
    expect(noExecute.stderr).toContain(`taint maintenance=now:NoExecute of node ${NODE}`);
    expect(noExecute.stderr).toContain('nt-data-pv');
    const autoscaler = await kubectl(['taint', 'node', NODE, 'ToBeDeletedByClusterAutoscaler=1733130000:NoSchedule']);
    expect(autoscaler.code).not.toBe(0);
    expect(denied(autoscaler.stderr)).toBe(true);
    expect(autoscaler.stderr).toContain('nt-data-pv');
    expect(await taintKeys()).not.toContain('maintenance');
    expect(await taintKeys()).not.toContain('ToBeDeletedByClusterAutoscaler');
  });
});

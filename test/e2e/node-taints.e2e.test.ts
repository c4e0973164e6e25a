// Which taints are judged, through the real API server (the webhook's matchConditions CEL and the handler) and the
// real `kubectl taint`: every added NoSchedule or NoExecute taint on a node holding a local PV in use is refused like
// a cordon (a NoSchedule taint is what a cordon is underneath, and the cluster autoscaler's
// `ToBeDeletedByClusterAutoscaler` drains a node that way), a dedicating one included, until the node's override
// lets it through. A NoExecute taint that the pod using a node's local PV tolerates for good leaves that pod (and its
// data) in place: it passes there, and is refused on the node whose pod does not tolerate it. A condition taint passes
// only with the effect Kubernetes sets it with (disk-pressure:NoExecute is refused; out-of-service only on a node not Ready).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import {
  apply,
  createBoundLocalVolume,
  createNode,
  createPodOnLocalVolume,
  deleteObjects,
  ensureNamespace,
  eventually,
  must,
  patchStatus,
  setNodeReady,
} from '../harness/scenario.ts';

const NS = 'e2e-node-taints';
const NODE = 'nt-data';
const DEDICATED = 'nt-dedicated'; // db-1 there tolerates dedicated=db:NoExecute

const denied = (stderr: string) => stderr.includes('admission webhook "node-cordon.volume-guard.io" denied the request');

async function taintKeys(): Promise<string> {
  return (await kubectl(['get', 'node', NODE, '-o', 'jsonpath={range .spec.taints[*]}{.key}:{.effect} {end}'])).stdout;
}

describe('NoSchedule and NoExecute taints are judged like a cordon; a NoExecute taint tolerated for good spares its pod', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(NODE);
    await createPodOnLocalVolume({ pod: 'db-0', node: NODE, namespace: NS, pv: 'nt-data-pv', claim: 'data-db-0' });
    await createNode(DEDICATED);
    await createBoundLocalVolume({ pv: 'nt-dedicated-pv', node: DEDICATED, namespace: NS, claim: 'data-db-1' });
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'db-1', namespace: NS },
      spec: {
        nodeName: DEDICATED,
        automountServiceAccountToken: false,
        tolerations: [
          { key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoExecute' },
          { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoExecute' },
        ],
        containers: [{ name: 'db', image: 'registry.invalid/db:1', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-db-1' } }],
      },
    });
    await patchStatus('pod', 'db-1', { phase: 'Running' }, NS);
    // The model has seen the scenario once a dry-run cordon of each node is refused.
    for (const node of [NODE, DEDICATED]) await eventually(() => kubectl(['cordon', node, '--dry-run=server']), (r) => denied(r.stderr));
  }, 120_000);

  afterAll(async () => {
    for (const node of [NODE, DEDICATED]) {
      await kubectl(['annotate', 'node', node, '--overwrite', 'volume-guard.io/skip=*', 'volume-guard.io/skip-reason=e2e cleanup', 'volume-guard.io/skip-by=admin']);
      for (const key of ['dedicated-', 'maintenance-', 'ToBeDeletedByClusterAutoscaler-']) await kubectl(['taint', 'node', node, key]);
    }
    await deleteObjects(
      ['pod', '--all', '-n', NS, '--grace-period=0', '--force'],
      ['pvc', '--all', '-n', NS],
      ['pv', 'nt-data-pv', 'nt-dedicated-pv'],
      ['node', NODE, DEDICATED],
    );
  });

  it('kubectl taint dedicated=db:NoSchedule is refused like a cordon, and passes once the node carries its override', async () => {
    const refused = await kubectl(['taint', 'node', NODE, 'dedicated=db:NoSchedule']);
    expect(refused.code).not.toBe(0);
    expect(denied(refused.stderr)).toBe(true);
    expect(refused.stderr).toContain(`taint dedicated=db:NoSchedule of node ${NODE}`);
    expect(refused.stderr).toContain('nt-data-pv');
    expect(await taintKeys()).not.toContain('dedicated:NoSchedule');
    await must(kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-reason=db pool', 'volume-guard.io/skip-by=admin']), 'override');
    const passed = await eventually(() => kubectl(['taint', 'node', NODE, 'dedicated=db:NoSchedule']), (r) => r.code === 0);
    expect(passed.stderr).toContain('node-local-volume overridden');
    expect(await taintKeys()).toContain('dedicated:NoSchedule');
    await must(kubectl(['taint', 'node', NODE, 'dedicated-']), 'untaint');
    await must(kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip-', 'volume-guard.io/skip-reason-', 'volume-guard.io/skip-by-']), 'override removed');
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

  it("a NoExecute taint under node.kubernetes.io/ that is none of Kubernetes' condition taints is refused; a condition taint passes", async () => {
    // The taint-eviction controller deletes every pod that does not tolerate a NoExecute taint, whatever its key.
    const custom = await kubectl(['taint', 'node', NODE, 'node.kubernetes.io/maintenance=x:NoExecute']);
    expect(custom.code).not.toBe(0);
    expect(denied(custom.stderr)).toBe(true);
    expect(custom.stderr).toContain('nt-data-pv');
    // The node lifecycle controller's own condition taints (here node.kubernetes.io/unreachable) are not judged.
    const condition = await kubectl(['taint', 'node', NODE, 'node.kubernetes.io/unreachable:NoExecute', '--dry-run=server']);
    expect(condition.code, condition.stderr).toBe(0);
  });

  it('a condition taint passes only with the effect Kubernetes sets it with: disk-pressure:NoExecute, out-of-service on a Ready node are refused', async () => {
    // Kubernetes sets disk-pressure with NoSchedule; with NoExecute nothing takes it off and the taint manager deletes every pod.
    const pressure = await kubectl(['taint', 'node', NODE, 'node.kubernetes.io/disk-pressure:NoExecute', '--dry-run=server']);
    expect(pressure.code).not.toBe(0);
    expect(denied(pressure.stderr)).toBe(true);
    expect(pressure.stderr).toContain('taint node.kubernetes.io/disk-pressure:NoExecute');
    const asState = await kubectl(['taint', 'node', NODE, 'node.kubernetes.io/disk-pressure:NoSchedule', '--dry-run=server']);
    expect(asState.code, asState.stderr).toBe(0);
    // out-of-service is for a node shut down: on one reporting Ready it is a drain.
    await setNodeReady(NODE, 'True', new Date().toISOString());
    const onReady = await kubectl(['taint', 'node', NODE, 'node.kubernetes.io/out-of-service=nodeshutdown:NoExecute', '--dry-run=server']);
    expect(onReady.code).not.toBe(0);
    expect(denied(onReady.stderr)).toBe(true);
    expect(onReady.stderr).toContain('nt-data-pv');
    await setNodeReady(NODE, 'Unknown', new Date().toISOString());
    const shutDown = await kubectl(['taint', 'node', NODE, 'node.kubernetes.io/out-of-service=nodeshutdown:NoExecute', '--dry-run=server']);
    expect(shutDown.code, shutDown.stderr).toBe(0);
  });

  it('a NoExecute taint the pod using the local PV tolerates passes; on the node whose pod does not tolerate it, refused', async () => {
    const kept = await kubectl(['taint', 'node', DEDICATED, 'dedicated=db:NoExecute']);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stderr).not.toContain('denied');
    const refused = await kubectl(['taint', 'node', NODE, 'dedicated=db:NoExecute']);
    expect(denied(refused.stderr)).toBe(true);
    expect(refused.stderr).toContain('nt-data-pv');
    // A new value of that taint: db-1 tolerates only dedicated=db (operator Equal), so the taint manager would delete it.
    const revalued = await kubectl(['taint', 'node', DEDICATED, 'dedicated=analytics:NoExecute', '--overwrite', '--dry-run=server']);
    expect(denied(revalued.stderr)).toBe(true);
    expect(revalued.stderr).toContain('taint dedicated=analytics:NoExecute');
    expect(revalued.stderr).toContain('nt-dedicated-pv');
    // A taint db-1 does not tolerate would delete it: refused.
    const other = await kubectl(['taint', 'node', DEDICATED, 'maintenance=now:NoExecute']);
    expect(denied(other.stderr)).toBe(true);
    expect(other.stderr).toContain('nt-dedicated-pv');
    // A condition key written with NoExecute by hand: db-1 tolerates disk-pressure for good and stays; db-0 does not.
    const pressure = await kubectl(['taint', 'node', DEDICATED, 'node.kubernetes.io/disk-pressure:NoExecute', '--dry-run=server']);
    expect(pressure.code, pressure.stderr).toBe(0);
    const pressureRefused = await kubectl(['taint', 'node', NODE, 'node.kubernetes.io/disk-pressure:NoExecute', '--dry-run=server']);
    expect(denied(pressureRefused.stderr)).toBe(true);
  });
});

// pvcDelete.others replaces checks.pvc-delete.mode for people: with the check off (automation passes) and
// `others: enforce`, a person deleting a Bound PVC whose PV's reclaim policy is Delete is refused. A volume-guard of
// its own with that configuration, registered beside the shared one (failurePolicy Ignore, so nothing hangs on it
// if this file dies), judges a server-side dry run of `kubectl delete pvc`. A namespace whose deletion was approved
// is emptied by the real namespace controller: its PVC DELETEs are not judged a second time. Nor is the garbage
// collector's DELETE of a claim owned by a pod (a generic ephemeral volume's claim): refused, it would stay for ever.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCluster, kubectl } from '../harness/cluster.ts';
import { registerWebhooks, startGuard, unregisterWebhooks, type GuardInstance } from '../harness/guard.ts';
import { apply, boundClaim, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const NS = 'e2e-pvc-delete-others';
const NAME = `volume-guard-test-pvc-others-${process.pid}`;
const PV = `pv-${NS}-data`;
const TORN = 'e2e-pvc-others-torn';
const SCRATCH = 'e2e-pvc-others-scratch';
let guard: GuardInstance;

describe('pvcDelete.others with the pvc-delete check off', () => {
  beforeAll(async () => {
    const cluster = await ensureCluster();
    guard = await startGuard(cluster, {
      name: 'pvc-delete-others',
      config: { checks: { 'pvc-delete': { mode: 'off' } }, pvcDelete: { others: 'enforce' } },
    });
    await registerWebhooks(guard, { name: NAME, failurePolicy: 'Ignore' });
    await ensureNamespace(NS);
    await boundClaim(NS, 'data', 'Delete');
  }, 180_000);

  afterAll(async () => {
    await unregisterWebhooks(NAME);
    await guard?.stop();
    await deleteObjects(['pvc', '--all', '-n', NS], ['pv', PV], ['pvc', '--all', '-n', TORN], ['namespace', TORN, '--wait=false'], ['pv', `pv-${TORN}-data`]);
    await deleteObjects(['pod', '--all', '-n', SCRATCH], ['pvc', '--all', '-n', SCRATCH], ['pv', `pv-${SCRATCH}-worker-0-scratch`], ['pv', `pv-${SCRATCH}-kept`]);
  });

  it('refuses a person deleting a Bound PVC whose data the reclaim policy deletes', async () => {
    // Until this volume-guard's model has seen the PV, it cannot know the data is at stake (and allows).
    const result = await eventually(
      () => kubectl(['delete', 'pvc', 'data', '-n', NS, '--dry-run=server']),
      (attempt) => attempt.code !== 0,
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('[pvc-delete]');
    expect(result.stderr).toContain(`deletion of PVC ${NS}/data`);
    expect(result.stderr).toContain('volume-guard.io/delete=true');
  });

  it('lets the namespace controller empty a namespace whose deletion was approved', async () => {
    await ensureNamespace(TORN);
    await boundClaim(TORN, 'data', 'Delete');
    // Until the model has the PV, the approval is moot: wait for the person's own DELETE to be refused first.
    await eventually(() => kubectl(['delete', 'pvc', 'data', '-n', TORN, '--dry-run=server']), (attempt) => attempt.code !== 0);
    await must(
      kubectl(['annotate', 'namespace', TORN, 'volume-guard.io/skip=pvc-delete', 'volume-guard.io/skip-reason=e2e teardown', 'volume-guard.io/skip-by=admin']),
      'approve',
    );
    await must(kubectl(['delete', 'namespace', TORN, '--wait=false']), 'delete namespace');
    const gone = await eventually(() => kubectl(['get', 'pvc', 'data', '-n', TORN]), (attempt) => attempt.code !== 0, 90_000);
    expect(gone.stderr).toContain('NotFound');
  });

  it("passes the garbage collector's and a person's DELETE of a claim owned by a pod (it goes with its pod anyway)", async () => {
    await ensureNamespace(SCRATCH);
    // A pod the scheduler never placed (none runs here) and its generic ephemeral volume's claim, owned by it.
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'worker-0', namespace: SCRATCH },
      spec: { containers: [{ name: 'worker', image: 'registry.invalid/worker:1' }] },
    });
    const podUid = (await must(kubectl(['get', 'pod', 'worker-0', '-n', SCRATCH, '-o', 'jsonpath={.metadata.uid}']), 'pod uid')).stdout;
    await boundClaim(SCRATCH, 'worker-0-scratch', 'Delete');
    const owner = { apiVersion: 'v1', kind: 'Pod', name: 'worker-0', uid: podUid, controller: true, blockOwnerDeletion: true };
    await must(kubectl(['patch', 'pvc', 'worker-0-scratch', '-n', SCRATCH, '--type=merge', '-p', JSON.stringify({ metadata: { ownerReferences: [owner] } })]), 'owner');
    // A person's DELETE: pvc-protection keeps the claim while the pod uses it, and the garbage collector deletes it
    // with the pod whatever is answered, so it loses nothing the pod's end does not. A Bound claim not owned by a pod,
    // of the same PV policy, is refused all the same (the check is judging).
    await boundClaim(SCRATCH, 'kept', 'Delete');
    const judged = await eventually(
      () => kubectl(['delete', 'pvc', 'kept', '-n', SCRATCH, '--dry-run=server']),
      (attempt) => attempt.code !== 0,
    );
    expect(judged.stderr).toContain(`deletion of PVC ${SCRATCH}/kept`);
    const person = await kubectl(['delete', 'pvc', 'worker-0-scratch', '-n', SCRATCH, '--dry-run=server']);
    expect(person.stderr).not.toContain('denied the request');
    expect(person.code).toBe(0);
    // The garbage collector's, once the pod is gone. The harness's kube-controller-manager runs with the admin's
    // credentials, not its controllers' service accounts as real clusters do, so the GC's identity is impersonated.
    const collector = await kubectl([
      'delete', 'pvc', 'worker-0-scratch', '-n', SCRATCH, '--dry-run=server',
      '--as=system:serviceaccount:kube-system:generic-garbage-collector', '--as-group=system:serviceaccounts',
    ]);
    expect(collector.stderr).not.toContain('denied the request');
    expect(collector.code).toBe(0);
  });
});

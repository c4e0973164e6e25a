// A GitOps prune of a Namespace deletes its PVCs with it: the namespace controller deletes them (as itself), and the
// PV controller destroys each volume whose reclaim policy is Delete. Through the real API server with the real
// kubectl (kube-controller-manager beside it): Flux's kustomize-controller deleting a namespace holding a Bound PVC
// on a Delete PV is refused at the namespace's DELETE, naming the PVC; a namespace holding only Retain data, and a
// person deleting by hand (pvcDelete.others off by default), pass. Dry runs: no namespace is deleted. A controller
// retrying the DELETE of a PVC already being deleted (held by a finalizer) passes: the first DELETE decided.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { boundClaim, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const DELETE_NS = 'e2e-ns-delete-db';
const RETAIN_NS = 'e2e-ns-delete-retain';
const FLUX = 'system:serviceaccount:flux-system:kustomize-controller';

const deleteAs = (namespace: string, user?: string) =>
  kubectl(['delete', 'namespace', namespace, '--dry-run=server', ...(user ? [`--as=${user}`] : [])]);

describe('pvc-delete at a Namespace DELETE', () => {
  beforeAll(async () => {
    await ensureNamespace(DELETE_NS);
    await ensureNamespace(RETAIN_NS);
    await kubectl(['delete', 'clusterrolebinding', 'e2e-flux-ns-deleter']);
    await kubectl(['delete', 'clusterrole', 'e2e-ns-deleter']);
    await must(kubectl(['create', 'clusterrole', 'e2e-ns-deleter', '--verb=get,list,delete', '--resource=namespaces,persistentvolumeclaims']), 'clusterrole');
    await must(kubectl(['create', 'clusterrolebinding', 'e2e-flux-ns-deleter', '--clusterrole=e2e-ns-deleter', `--user=${FLUX}`]), 'clusterrolebinding');
    await boundClaim(RETAIN_NS, 'archive', 'Retain');
    await boundClaim(DELETE_NS, 'db-data', 'Delete');
  });

  afterAll(async () => {
    await kubectl(['patch', 'pvc', 'held', '-n', DELETE_NS, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await deleteObjects(
      ['pvc', '--all', '-n', DELETE_NS],
      ['pvc', '--all', '-n', RETAIN_NS],
      ['clusterrolebinding', 'e2e-flux-ns-deleter'],
      ['clusterrole', 'e2e-ns-deleter'],
    );
  });

  it("refuses Flux's controller deleting a namespace whose Bound PVC the reclaim policy destroys", async () => {
    const refused = await eventually(() => deleteAs(DELETE_NS, FLUX), (r) => r.code !== 0);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(`deletion of namespace ${DELETE_NS} by ${FLUX}`);
    expect(refused.stderr).toContain(`${DELETE_NS}/db-data`);
    expect(refused.stderr).toContain('reclaim policy Delete destroys the volume and its data');
    expect((await kubectl(['get', 'namespace', DELETE_NS, '-o', 'jsonpath={.status.phase}'])).stdout).toBe('Active');
  });

  it('allows what loses no data, and people deleting by hand', async () => {
    // The model holds the Delete claim (refused above) and the Retain one, written before it.
    await eventually(() => deleteAs(DELETE_NS, FLUX), (r) => r.code !== 0);
    const retain = await deleteAs(RETAIN_NS, FLUX);
    expect(retain.stderr).not.toContain('denied');
    expect(retain.code).toBe(0);
    const byHand = await deleteAs(DELETE_NS);
    expect(byHand.stderr).not.toContain('denied');
    expect(byHand.code).toBe(0);
  });

  it('an approval written True (not "true") approves nothing, and both its write and the refused DELETE say why', async () => {
    await kubectl(['annotate', 'pvc', 'db-data', '-n', DELETE_NS, 'volume-guard.io/delete-', 'volume-guard.io/skip-by-', 'volume-guard.io/skip-reason-']);
    await eventually(() => kubectl(['delete', 'pvc', 'db-data', '-n', DELETE_NS, '--dry-run=server', `--as=${FLUX}`]), (r) => r.code !== 0);
    const written = await kubectl(['annotate', 'pvc', 'db-data', '-n', DELETE_NS, '--overwrite', 'volume-guard.io/delete=True', 'volume-guard.io/skip-by=admin', 'volume-guard.io/skip-reason=e2e']);
    expect(written.code).toBe(0);
    // kubectl prints each (wrapped) warning line after its own "Warning:".
    expect(written.stderr.replace(/\s*Warning:\s*/g, ' ')).toContain(
      `PersistentVolumeClaim ${DELETE_NS}/db-data annotation volume-guard.io/delete="True" has no effect: only "true" is honored`,
    );
    const refused = await eventually(
      () => kubectl(['delete', 'pvc', 'db-data', '-n', DELETE_NS, '--dry-run=server', `--as=${FLUX}`]),
      (r) => r.stderr.includes('its value is "True"'),
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    expect(refused.stderr.replace(/\s*Warning:\s*/g, ' ').replace(/\s+/g, ' ')).toContain(`volume-guard.io/delete on PVC ${DELETE_NS}/db-data ignored: its value is "True": only "true" is honored`);
    await must(kubectl(['annotate', 'pvc', 'db-data', '-n', DELETE_NS, 'volume-guard.io/delete-', 'volume-guard.io/skip-by-', 'volume-guard.io/skip-reason-']), 'remove');
  });

  it('a second DELETE of a PVC already being deleted passes: the first one decided', async () => {
    await boundClaim(DELETE_NS, 'held', 'Delete');
    // A finalizer keeps it terminating, as kubernetes.io/pvc-protection does while a pod mounts it.
    await must(kubectl(['patch', 'pvc', 'held', '-n', DELETE_NS, '--type=merge', '-p', '{"metadata":{"finalizers":["e2e.volume-guard.io/hold"]}}']), 'finalizer');
    const first = await eventually(() => kubectl(['delete', 'pvc', 'held', '-n', DELETE_NS, '--dry-run=server', `--as=${FLUX}`]), (r) => r.code !== 0);
    expect(first.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    // A person deletes it (pvcDelete.others is off): it stays, terminating, until its finalizer goes.
    await must(kubectl(['delete', 'pvc', 'held', '-n', DELETE_NS, '--wait=false']), 'delete by hand');
    const retried = await kubectl(['delete', 'pvc', 'held', '-n', DELETE_NS, '--wait=false', `--as=${FLUX}`]);
    expect(retried.stderr).not.toContain('denied');
    expect(retried.code).toBe(0);
  });
});

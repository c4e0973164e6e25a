// A StatefulSet whose persistentVolumeClaimRetentionPolicy.whenDeleted is Delete owns its pods' PVCs: deleting it
// lets the garbage collector delete them (as itself), and the PV controller destroys each volume whose reclaim
// policy is Delete. Through the real API server with the real kubectl: Argo CD's controller deleting such a
// StatefulSet is refused naming the PVC it owns; the same DELETE with --cascade=orphan (the PVCs are orphaned, not
// deleted) and a person deleting by hand (pvcDelete.others off by default) pass. Under whenDeleted: Retain the
// garbage collector still follows a claim's ownerReferences (the controller drops them only as it syncs): a claim
// still naming the StatefulSet is refused, one that no longer does passes; a StatefulSet carrying the orphan finalizer
// deleted without options orphans its claims. Dry runs: nothing is deleted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, boundClaim, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const NS = 'e2e-sts-delete';
const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';
// What a hub Argo CD acts as on a cluster it manages (argocd cluster add): automation by default too.
const ARGO_HUB = 'system:serviceaccount:kube-system:argocd-manager';

const deleteAs = (user: string | undefined, ...extra: string[]) =>
  kubectl(['delete', 'statefulset', 'db', '-n', NS, '--dry-run=server', ...extra, ...(user ? [`--as=${user}`] : [])]);
const deleteKeptAs = (user: string) => kubectl(['delete', 'statefulset', 'kept', '-n', NS, '--dry-run=server', `--as=${user}`]);

/** A StatefulSet with no replicas (no pod is created) and one claim template. */
const statefulSet = (name: string, whenDeleted: 'Delete' | 'Retain') => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name, namespace: NS },
  spec: {
    replicas: 0,
    serviceName: name,
    selector: { matchLabels: { app: `e2e-sts-delete-${name}` } },
    persistentVolumeClaimRetentionPolicy: { whenDeleted, whenScaled: 'Retain' },
    template: { metadata: { labels: { app: `e2e-sts-delete-${name}` } }, spec: { containers: [{ name, image: 'registry.invalid/db:1' }] } },
    volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
  },
});

/** Writes the StatefulSet's ownerReference on a claim, as the StatefulSet controller does under whenDeleted: Delete. */
async function ownClaim(statefulSetName: string, claim: string): Promise<void> {
  const uid = (await must(kubectl(['get', 'statefulset', statefulSetName, '-n', NS, '-o', 'jsonpath={.metadata.uid}']), 'uid')).stdout;
  const owner = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: statefulSetName, uid, controller: true, blockOwnerDeletion: true };
  await must(kubectl(['patch', 'pvc', claim, '-n', NS, '--type=merge', '-p', JSON.stringify({ metadata: { ownerReferences: [owner] } })]), 'owner');
}

describe('pvc-delete at a StatefulSet DELETE', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await kubectl(['delete', 'rolebinding', 'argo-sts-deleter', '-n', NS]);
    await kubectl(['delete', 'role', 'sts-deleter', '-n', NS]);
    await must(kubectl(['create', 'role', 'sts-deleter', '-n', NS, '--verb=get,list,delete', '--resource=statefulsets.apps']), 'role');
    await must(kubectl(['create', 'rolebinding', 'argo-sts-deleter', '-n', NS, '--role=sts-deleter', `--user=${ARGO}`, `--user=${ARGO_HUB}`]), 'rolebinding');
    // No replicas: the StatefulSet controller creates no pod here; its claims are written as it would write them.
    await apply(statefulSet('db', 'Delete'));
    await boundClaim(NS, 'data-db-0', 'Delete');
    await ownClaim('db', 'data-db-0');
    // Flipped to Retain while a claim still names it (before the controller synced that claim).
    await apply(statefulSet('kept', 'Retain'));
    await boundClaim(NS, 'data-kept-0', 'Delete');
    await ownClaim('kept', 'data-kept-0');
    // Carries the orphan finalizer: a DELETE sending no options orphans its claims (the API server reads it).
    await apply({ ...statefulSet('parked', 'Delete'), metadata: { name: 'parked', namespace: NS, finalizers: ['orphan'] } });
    await boundClaim(NS, 'data-parked-0', 'Delete');
    await ownClaim('parked', 'data-parked-0');
  });

  afterAll(async () => {
    await deleteObjects(
      ['statefulset', 'db', '-n', NS, '--cascade=orphan'],
      ['statefulset', 'kept', '-n', NS, '--cascade=orphan'],
      ['statefulset', 'parked', '-n', NS, '--cascade=orphan'],
      ['pvc', '--all', '-n', NS],
      ['rolebinding', 'argo-sts-deleter', '-n', NS],
      ['role', 'sts-deleter', '-n', NS],
    );
  });

  it("refuses Argo CD's controller deleting it, naming the PVC it owns", async () => {
    const refused = await eventually(() => deleteAs(ARGO), (r) => r.code !== 0);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(`deletion of StatefulSet ${NS}/db by ${ARGO}`);
    expect(refused.stderr).toContain(`${NS}/data-db-0`);
    expect(refused.stderr).toContain('whenDeleted: Delete');
    const byHub = await deleteAs(ARGO_HUB);
    expect(byHub.code).not.toBe(0);
    expect(byHub.stderr).toContain(`deletion of StatefulSet ${NS}/db by ${ARGO_HUB}`);
  });

  it('allows the same DELETE orphaning its PVCs, and a person deleting by hand', async () => {
    await eventually(() => deleteAs(ARGO), (r) => r.code !== 0);
    const orphaning = await deleteAs(ARGO, '--cascade=orphan');
    expect(orphaning.stderr).not.toContain('denied');
    expect(orphaning.code).toBe(0);
    const byHand = await deleteAs(undefined);
    expect(byHand.stderr).not.toContain('denied');
    expect(byHand.code).toBe(0);
  });

  it('refuses a DELETE under whenDeleted: Retain while a claim still names it as owner, and passes once none does', async () => {
    const refused = await eventually(() => deleteKeptAs(ARGO), (r) => r.code !== 0);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`deletion of StatefulSet ${NS}/kept by ${ARGO}`);
    expect(refused.stderr).toContain(`${NS}/data-kept-0`);
    expect(refused.stderr).toContain('ownerReferences still name it (whenDeleted is Retain)');
    // What the controller does as it syncs the claim under Retain: the reference goes.
    await must(kubectl(['patch', 'pvc', 'data-kept-0', '-n', NS, '--type=json', '-p', '[{"op":"remove","path":"/metadata/ownerReferences"}]']), 'unown');
    const passed = await eventually(() => deleteKeptAs(ARGO), (r) => r.code === 0);
    expect(passed.stderr).not.toContain('denied');
    expect(passed.code).toBe(0);
  });

  it("follows the StatefulSet's orphan finalizer when the DELETE sends no options; explicit Background is judged", async () => {
    const path = `/apis/apps/v1/namespaces/${NS}/statefulsets/parked?dryRun=All`;
    const noOptions = await eventually(() => kubectl(['delete', '--raw', path, `--as=${ARGO}`]), (r) => r.code === 0);
    expect(noOptions.stderr).not.toContain('denied');
    const background = await kubectl(['delete', 'statefulset', 'parked', '-n', NS, '--dry-run=server', '--cascade=background', `--as=${ARGO}`]);
    expect(background.code).not.toBe(0);
    expect(background.stderr).toContain(`${NS}/data-parked-0`);
  });
});

// A PVC whose ownerReferences name the StatefulSet being deleted and another owner: the garbage collector deletes a
// dependent only when none of its owners remains, and otherwise just drops the reference to the one gone
// (attemptToDeleteItem). Through the real API server with kube-controller-manager's real garbage collector:
//  - also owned by a StatefulSet that stays: Argo CD's controller deleting the first StatefulSet passes, and the
//    collector keeps the PVC, dropping only the deleted StatefulSet's reference;
//  - also owned by a StatefulSet that the deleted one owns: refused (the collector deletes that StatefulSet, then
//    the PVC), and a person's DELETE (passed by default) shows the collector deleting the PVC;
//  - also owned by a kind volume-guard does not watch (a ConfigMap): refused, saying the PVC stays only if that
//    owner stays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, deleteObjects, ensureNamespace, eventually, must, ownedBoundClaim } from '../harness/scenario.ts';

const NS = 'e2e-sts-shared-claims';
const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';

/** A StatefulSet with no replicas (no pod is created), one claim template, whenDeleted: Delete. */
const statefulSet = (name: string, ownerReferences: unknown[] = []) => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name, namespace: NS, ownerReferences },
  spec: {
    replicas: 0,
    serviceName: name,
    selector: { matchLabels: { app: `e2e-shared-${name}` } },
    persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
    template: { metadata: { labels: { app: `e2e-shared-${name}` } }, spec: { containers: [{ name, image: 'registry.invalid/db:1' }] } },
    volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
  },
});

const uidOf = async (resource: string, name: string): Promise<string> =>
  (await must(kubectl(['get', resource, name, '-n', NS, '-o', 'jsonpath={.metadata.uid}']), `uid of ${resource} ${name}`)).stdout;

/** A non-controller owner reference, as an operator or a person adds one. */
const reference = (apiVersion: string, kind: string, name: string, uid: string) => ({ apiVersion, kind, name, uid });

/** Adds `extra` to the claim's ownerReferences, keeping the StatefulSet's own. */
async function addOwner(claim: string, extra: { apiVersion: string; kind: string; name: string; uid: string }): Promise<void> {
  const got = await must(kubectl(['get', 'pvc', claim, '-n', NS, '-o', 'json']), `get ${claim}`);
  const owners = (JSON.parse(got.stdout) as { metadata: { ownerReferences?: unknown[] } }).metadata.ownerReferences ?? [];
  await must(kubectl(['patch', 'pvc', claim, '-n', NS, '--type=merge', '-p', JSON.stringify({ metadata: { ownerReferences: [...owners, extra] } })]), `owner of ${claim}`);
}

const ownersOf = async (claim: string): Promise<string> =>
  (await kubectl(['get', 'pvc', claim, '-n', NS, '-o', 'jsonpath={.metadata.ownerReferences[*].name}'])).stdout;

const deleteAs = (name: string, user: string | undefined, ...extra: string[]) =>
  kubectl(['delete', 'statefulset', name, '-n', NS, '--wait=false', ...extra, ...(user ? [`--as=${user}`] : [])]);

describe('pvc-delete at a StatefulSet DELETE: a PVC with another owner', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await kubectl(['delete', 'rolebinding', 'argo-sts-deleter', '-n', NS]);
    await kubectl(['delete', 'role', 'sts-deleter', '-n', NS]);
    await must(kubectl(['create', 'role', 'sts-deleter', '-n', NS, '--verb=get,list,delete', '--resource=statefulsets.apps']), 'role');
    await must(kubectl(['create', 'rolebinding', 'argo-sts-deleter', '-n', NS, '--role=sts-deleter', `--user=${ARGO}`]), 'rolebinding');
  });

  afterAll(async () => {
    await deleteObjects(
      ['statefulset', '--all', '-n', NS, '--cascade=orphan'],
      ['configmap', 'tenant', '-n', NS],
      ['pvc', '--all', '-n', NS],
      ['rolebinding', 'argo-sts-deleter', '-n', NS],
      ['role', 'sts-deleter', '-n', NS],
    );
  });

  it('passes when the other owner is a StatefulSet that stays, and the real garbage collector keeps the PVC', async () => {
    await apply(statefulSet('db'), statefulSet('archive'));
    await ownedBoundClaim({ namespace: NS, statefulSet: 'db', claim: 'data-db-0', reclaimPolicy: 'Delete' });
    // The model has the claim: owned by db alone, the DELETE is refused.
    const refused = await eventually(() => deleteAs('db', ARGO, '--dry-run=server'), (r) => r.code !== 0);
    expect(refused.stderr).toContain(`${NS}/data-db-0`);
    await addOwner('data-db-0', reference('apps/v1', 'StatefulSet', 'archive', await uidOf('statefulset', 'archive')));
    const passes = await eventually(() => deleteAs('db', ARGO, '--dry-run=server'), (r) => r.code === 0);
    expect(passes.stderr).not.toContain('denied');
    expect(passes.code).toBe(0);
    const deleted = await deleteAs('db', ARGO);
    expect(deleted.stderr).not.toContain('denied');
    expect(deleted.code).toBe(0);
    // The collector drops the reference to the StatefulSet gone and keeps the claim: archive still owns it.
    const owners = await eventually(() => ownersOf('data-db-0'), (names) => names === 'archive', 30_000);
    expect(owners).toBe('archive');
    const claim = await must(kubectl(['get', 'pvc', 'data-db-0', '-n', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}|{.status.phase}']), 'claim');
    expect(claim.stdout).toBe('|Bound');
  });

  it('refuses when the other owner is owned by the StatefulSet deleted: the collector deletes both', async () => {
    await apply(statefulSet('db2'));
    const db2 = await uidOf('statefulset', 'db2');
    await apply(statefulSet('archive2', [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db2', uid: db2 }]));
    await ownedBoundClaim({ namespace: NS, statefulSet: 'db2', claim: 'data-db2-0', reclaimPolicy: 'Delete' });
    await addOwner('data-db2-0', reference('apps/v1', 'StatefulSet', 'archive2', await uidOf('statefulset', 'archive2')));
    const refused = await eventually(() => deleteAs('db2', ARGO, '--dry-run=server'), (r) => r.code !== 0);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`deletion of StatefulSet ${NS}/db2 by ${ARGO}`);
    expect(refused.stderr).toContain(`${NS}/data-db2-0`);
    // As kubectl prints it: the fix says what keeps the PVCs from the garbage collector (not Helm's resource policy).
    const fix = refused.stderr.replace(/\n\s+/g, ' ');
    expect(fix).toContain('Fix: back the data up, or keep the PVCs: delete the StatefulSet with --cascade=orphan, or set their PVs to reclaim policy Retain first');
    expect(fix).not.toContain('helm.sh/resource-policy');
    // A person's DELETE passes (pvcDelete.others is off): the real collector deletes archive2, then the claim.
    await must(deleteAs('db2', undefined), 'delete db2 by hand');
    const gone = await eventually(
      () => kubectl(['get', 'pvc', 'data-db2-0', '-n', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}']),
      (r) => r.code !== 0 || r.stdout !== '',
      30_000,
    );
    expect(gone.code !== 0 || gone.stdout !== '').toBe(true);
  });

  it('refuses when the other owner is of a kind it does not watch, saying the PVC stays only if that owner stays', async () => {
    await apply(statefulSet('db3'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'tenant', namespace: NS } });
    await ownedBoundClaim({ namespace: NS, statefulSet: 'db3', claim: 'data-db3-0', reclaimPolicy: 'Delete' });
    await addOwner('data-db3-0', reference('v1', 'ConfigMap', 'tenant', await uidOf('configmap', 'tenant')));
    const refused = await eventually(
      () => deleteAs('db3', ARGO, '--dry-run=server'),
      (r) => r.stderr.includes('unless its other owner ConfigMap tenant stays'),
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`PVC ${NS}/data-db3-0: deleted with StatefulSet ${NS}/db3 (whenDeleted: Delete) unless its other owner ConfigMap tenant stays (volume-guard cannot see it)`);
  });
});

// A PVC whose ownerReferences name the StatefulSet being deleted and another owner: the garbage collector deletes a
// dependent only when none of its owners remains, and otherwise just drops the reference to the one gone
// (attemptToDeleteItem). Through the real API server with kube-controller-manager's real garbage collector:
//  - also owned by a StatefulSet that stays: Argo CD's controller deleting the first StatefulSet passes, and the
//    collector keeps the PVC, dropping only the deleted StatefulSet's reference;
//  - also owned by a StatefulSet that the deleted one owns: refused (the collector deletes that StatefulSet, then
//    the PVC), and a person's DELETE (passed by default) shows the collector deleting the PVC;
//  - also owned by a kind volume-guard does not watch (a ConfigMap): refused, saying the PVC stays only if that
//    owner stays;
//  - both owners deleted by one command (`kubectl delete sts a b`), or by two DELETEs sent at once: the first passes
//    (the other stays), the second is refused naming the PVC, though volume-guard's informers may not show the first
//    deleted yet (the removal it admitted is recorded).
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
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

// Both describes: the role letting Argo CD's identity delete StatefulSets, and the cleanup.
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

describe('pvc-delete at a StatefulSet DELETE: a PVC with another owner', () => {
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

const cluster = inject('cluster');

/** A StatefulSet DELETE sent straight to the API server as Argo CD (the admin impersonating it): status and body. */
function deleteAsArgo(name: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(`/apis/apps/v1/namespaces/${NS}/statefulsets/${name}`, cluster.server);
    const headers = { authorization: `Bearer ${cluster.tokens.admin}`, 'impersonate-user': ARGO };
    const sent = request(url, { method: 'DELETE', ca: readFileSync(cluster.caFile), headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    sent.on('error', reject);
    sent.end();
  });
}

describe('pvc-delete at StatefulSet DELETEs in one command: two owners of one PVC', () => {
  const statefulSetsExist = async (...names: string[]): Promise<string[]> => {
    const found: string[] = [];
    for (const name of names) if ((await kubectl(['get', 'statefulset', name, '-n', NS])).code === 0) found.push(name);
    return found;
  };

  /** StatefulSets `first` and `second`, and a Bound claim (reclaim Delete) both own, once volume-guard sees both owners. */
  async function sharedBy(first: string, second: string): Promise<string> {
    await apply(statefulSet(first), statefulSet(second));
    const claim = `data-${first}-0`;
    await ownedBoundClaim({ namespace: NS, statefulSet: first, claim, reclaimPolicy: 'Delete' });
    // volume-guard has the claim: owned by `first` alone, its DELETE is refused.
    const refused = await eventually(() => deleteAs(first, ARGO, '--dry-run=server'), (r) => r.code !== 0);
    expect(refused.stderr).toContain(`${NS}/${claim}`);
    await addOwner(claim, reference('apps/v1', 'StatefulSet', second, await uidOf('statefulset', second)));
    // ... and sees the second owner: each DELETE alone passes.
    for (const name of [first, second]) {
      const alone = await eventually(() => deleteAs(name, ARGO, '--dry-run=server'), (r) => r.code === 0);
      expect(alone.code, alone.stderr).toBe(0);
    }
    return claim;
  }

  it('`kubectl delete sts a b`: deletes the first, refuses the second naming the PVC, and the PVC stays', async () => {
    const claim = await sharedBy('pair-a', 'pair-b');
    const both = await kubectl(['delete', 'statefulset', 'pair-a', 'pair-b', '-n', NS, '--wait=false', `--as=${ARGO}`]);
    expect(both.code).not.toBe(0);
    expect(both.stdout).toContain('statefulset.apps "pair-a" deleted');
    expect(both.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    expect(both.stderr).toContain(`deletion of StatefulSet ${NS}/pair-b by ${ARGO}`);
    expect(both.stderr).toContain(`PVC ${NS}/${claim}`);
    expect(await statefulSetsExist('pair-a', 'pair-b')).toEqual(['pair-b']);
    // The real collector drops the reference to the one gone and keeps the claim: pair-b still owns it.
    expect(await eventually(() => ownersOf(claim), (names) => names === 'pair-b', 30_000)).toBe('pair-b');
    const kept = await must(kubectl(['get', 'pvc', claim, '-n', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}|{.status.phase}']), 'claim');
    expect(kept.stdout).toBe('|Bound');
  });

  it('two DELETEs sent at once: one passes, the other is refused naming the PVC', async () => {
    const claim = await sharedBy('race-a', 'race-b');
    // Both reach volume-guard before the API server has stored either: only the record of the first tells the second.
    const answers = await Promise.all(['race-a', 'race-b'].map((name) => deleteAsArgo(name)));
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 403]);
    const refused = (JSON.parse(answers.find((answer) => answer.status !== 200)!.body) as { message: string }).message;
    expect(refused).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    expect(refused).toContain(`PVC ${NS}/${claim}`);
    expect(await statefulSetsExist('race-a', 'race-b')).toHaveLength(1);
  });
});

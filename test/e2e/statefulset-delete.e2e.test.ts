// A StatefulSet whose persistentVolumeClaimRetentionPolicy.whenDeleted is Delete owns its pods' PVCs: deleting it
// lets the garbage collector delete them (as itself), and the PV controller destroys each volume whose reclaim
// policy is Delete. Through the real API server with the real kubectl: Argo CD's controller deleting such a
// StatefulSet is refused naming the PVC it owns; the same DELETE with --cascade=orphan (the PVCs are orphaned, not
// deleted) and a person deleting by hand (pvcDelete.others off by default) pass. Dry runs: nothing is deleted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, boundClaim, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const NS = 'e2e-sts-delete';
const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';

const deleteAs = (user: string | undefined, ...extra: string[]) =>
  kubectl(['delete', 'statefulset', 'db', '-n', NS, '--dry-run=server', ...extra, ...(user ? [`--as=${user}`] : [])]);

describe('pvc-delete at a StatefulSet DELETE', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await kubectl(['delete', 'rolebinding', 'argo-sts-deleter', '-n', NS]);
    await kubectl(['delete', 'role', 'sts-deleter', '-n', NS]);
    await must(kubectl(['create', 'role', 'sts-deleter', '-n', NS, '--verb=get,list,delete', '--resource=statefulsets.apps']), 'role');
    await must(kubectl(['create', 'rolebinding', 'argo-sts-deleter', '-n', NS, '--role=sts-deleter', `--user=${ARGO}`]), 'rolebinding');
    // No replicas: the StatefulSet controller creates no pod here; its claim is written as it would write it.
    await apply({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: NS },
      spec: {
        replicas: 0,
        serviceName: 'db',
        selector: { matchLabels: { app: 'e2e-sts-delete' } },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
        template: { metadata: { labels: { app: 'e2e-sts-delete' } }, spec: { containers: [{ name: 'db', image: 'registry.invalid/db:1' }] } },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    });
    const uid = (await must(kubectl(['get', 'statefulset', 'db', '-n', NS, '-o', 'jsonpath={.metadata.uid}']), 'uid')).stdout;
    await boundClaim(NS, 'data-db-0', 'Delete');
    const owner = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid, controller: true, blockOwnerDeletion: true };
    await must(kubectl(['patch', 'pvc', 'data-db-0', '-n', NS, '--type=merge', '-p', JSON.stringify({ metadata: { ownerReferences: [owner] } })]), 'owner');
  });

  afterAll(async () => {
    await deleteObjects(
      ['statefulset', 'db', '-n', NS, '--cascade=orphan'],
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
});

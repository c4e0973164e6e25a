// A StatefulSet deleted with --cascade=orphan stays, being deleted, with the `orphan` finalizer until the garbage
// collector has orphaned its claims. Meanwhile the API server rewrites that finalizer from a second DELETE's options
// (Background drops it: the claims are then deleted with the StatefulSet), so the second DELETE is judged like a first
// one, and so is an UPDATE dropping the finalizer. Through the real API server with the real kubectl; a
// ValidatingAdmissionPolicy holds the garbage collector's orphaning of the claim (it refuses removing the claim's
// ownerReferences) so the window stays open for the test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, deleteObjects, ensureNamespace, eventually, must, ownedBoundClaim } from '../harness/scenario.ts';

const NS = 'e2e-sts-reorphan';
const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';
const POLICY = 'e2e-sts-reorphan-hold-claim';

const statefulSet = {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'db', namespace: NS },
  spec: {
    replicas: 0,
    serviceName: 'db',
    selector: { matchLabels: { app: 'e2e-sts-reorphan' } },
    persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
    template: { metadata: { labels: { app: 'e2e-sts-reorphan' } }, spec: { containers: [{ name: 'db', image: 'registry.invalid/db:1' }] } },
    volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
  },
};

const finalizers = async (): Promise<string> =>
  (await kubectl(['get', 'statefulset', 'db', '-n', NS, '-o', 'jsonpath={.metadata.deletionTimestamp} {.metadata.finalizers}'])).stdout;

describe('a second DELETE of a StatefulSet being deleted with --cascade=orphan', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await kubectl(['delete', 'rolebinding', 'argo-sts-deleter', '-n', NS]);
    await kubectl(['delete', 'role', 'sts-deleter', '-n', NS]);
    await must(kubectl(['create', 'role', 'sts-deleter', '-n', NS, '--verb=get,list,delete,patch,update', '--resource=statefulsets.apps']), 'role');
    await must(kubectl(['create', 'rolebinding', 'argo-sts-deleter', '-n', NS, '--role=sts-deleter', `--user=${ARGO}`]), 'rolebinding');
    await apply(statefulSet);
    await ownedBoundClaim({ namespace: NS, statefulSet: 'db', claim: 'data-db-0', reclaimPolicy: 'Delete' });
    // Holds the garbage collector: it cannot take the StatefulSet off the claim, so the orphan finalizer stays.
    await apply(
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name: POLICY },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['persistentvolumeclaims'] }] },
          validations: [{ expression: `request.namespace != '${NS}' || has(object.metadata.ownerReferences)`, message: 'held by the test' }],
        },
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicyBinding',
        metadata: { name: POLICY },
        spec: { policyName: POLICY, validationActions: ['Deny'] },
      },
    );
    // The policy is in force once a removal of the owner is refused (the API server loads policies asynchronously).
    await eventually(
      () => kubectl(['patch', 'pvc', 'data-db-0', '-n', NS, '--dry-run=server', '--type=json', '-p', '[{"op":"remove","path":"/metadata/ownerReferences"}]']),
      (r) => r.code !== 0,
    );
  });

  afterAll(async () => {
    await deleteObjects(['validatingadmissionpolicybinding', POLICY], ['validatingadmissionpolicy', POLICY]);
    await deleteObjects(
      ['statefulset', 'db', '-n', NS, '--cascade=orphan', '--wait=false'],
      ['pvc', '--all', '-n', NS, '--wait=false'],
      ['rolebinding', 'argo-sts-deleter', '-n', NS],
      ['role', 'sts-deleter', '-n', NS],
    );
  });

  it('passes the orphaning DELETE, then refuses a second one that would delete the claims after all', async () => {
    const orphaning = await eventually(
      () => kubectl(['delete', 'statefulset', 'db', '-n', NS, '--cascade=orphan', '--wait=false', `--as=${ARGO}`]),
      (r) => r.code === 0,
    );
    expect(orphaning.stderr).not.toContain('denied');
    // Being deleted, the orphan finalizer kept: the garbage collector cannot orphan the claim.
    const state = await eventually(finalizers, (s) => s.includes('orphan'));
    expect(state).toMatch(/^\d{4}-.*orphan/);
    const background = await kubectl(['delete', 'statefulset', 'db', '-n', NS, '--dry-run=server', '--cascade=background', '--wait=false', `--as=${ARGO}`]);
    expect(background.code).not.toBe(0);
    expect(background.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    expect(background.stderr).toContain(`deletion of StatefulSet ${NS}/db (being deleted with --cascade=orphan) by ${ARGO}`);
    expect(background.stderr).toContain(`${NS}/data-db-0`);
    const foreground = await kubectl(['delete', 'statefulset', 'db', '-n', NS, '--dry-run=server', '--cascade=foreground', '--wait=false', `--as=${ARGO}`]);
    expect(foreground.code).not.toBe(0);
    // Orphaning again changes nothing, and passes.
    const again = await kubectl(['delete', 'statefulset', 'db', '-n', NS, '--dry-run=server', '--cascade=orphan', '--wait=false', `--as=${ARGO}`]);
    expect(again.stderr).not.toContain('denied');
    expect(again.code).toBe(0);
    expect(await finalizers()).toContain('orphan');
  });

  it('refuses an UPDATE dropping the orphan finalizer meanwhile; one keeping it passes', async () => {
    await eventually(finalizers, (s) => s.includes('orphan'));
    const dropped = await kubectl(['patch', 'statefulset', 'db', '-n', NS, '--dry-run=server', '--type=merge', '-p', '{"metadata":{"finalizers":null}}', `--as=${ARGO}`]);
    expect(dropped.code).not.toBe(0);
    expect(dropped.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    expect(dropped.stderr).toContain(`removal of the orphan finalizer of StatefulSet ${NS}/db (being deleted) by ${ARGO}`);
    const kept = await kubectl(['label', 'statefulset', 'db', '-n', NS, '--dry-run=server', 'e2e=kept', `--as=${ARGO}`]);
    expect(kept.stderr).not.toContain('denied');
    expect(kept.code).toBe(0);
  });
});

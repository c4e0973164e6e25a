// A claim another controller holds (an operator's resource with `controller: true` in the claim's ownerReferences) is
// left alone by the StatefulSet controller at a scale-down under whenScaled: Delete (hasUnexpectedController in
// pkg/controller/statefulset/stateful_set_utils.go): it gives the claim no reference to the condemned pod, so the
// garbage collector does not delete it with the pod. Through the real API server and kube-controller-manager: Argo
// CD's controller scaling the StatefulSet down is refused for the claim the controller deletes, and passes when the
// only claim of the pod it scales away is held by another controller; the real controllers then keep that claim.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, createStatefulSetClaims, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const NS = 'e2e-sts-held-claim';
const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';

const scaleAs = (replicas: number, ...extra: string[]) =>
  kubectl(['scale', 'statefulset', 'db', '-n', NS, `--replicas=${replicas}`, `--as=${ARGO}`, ...extra]);

describe('a scale-down under whenScaled: Delete of a pod whose claim another controller holds', () => {
  let pvs: string[] = [];

  beforeAll(async () => {
    await ensureNamespace(NS);
    await must(kubectl(['create', 'role', 'sts-scaler', '-n', NS, '--verb=get,list,patch,update', '--resource=statefulsets.apps,statefulsets.apps/scale']), 'role');
    await must(kubectl(['create', 'rolebinding', 'argo-sts-scaler', '-n', NS, '--role=sts-scaler', `--user=${ARGO}`]), 'rolebinding');
    await apply({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: NS },
      spec: {
        replicas: 3,
        serviceName: 'db',
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: { app: 'e2e-sts-held' } },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' },
        template: { metadata: { labels: { app: 'e2e-sts-held' } }, spec: { containers: [{ name: 'db', image: 'registry.invalid/db:1' }] } },
        volumeClaimTemplates: [
          { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'standard', resources: { requests: { storage: '1Gi' } } } },
        ],
      },
    });
    const claims = await createStatefulSetClaims(NS, 'db');
    expect(claims).toEqual(['data-db-0', 'data-db-1', 'data-db-2']);
    pvs = claims.map((claim) => `pv-${NS}-${claim}`);
    for (const pv of pvs) {
      await must(kubectl(['patch', 'pv', pv, '--type=merge', '-p', '{"spec":{"persistentVolumeReclaimPolicy":"Delete"}}']), `reclaim of ${pv}`);
    }
    // data-db-2 is held by another controller (a ConfigMap stands in for an operator's resource).
    await apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'holder', namespace: NS } });
    const uid = (await must(kubectl(['get', 'configmap', 'holder', '-n', NS, '-o', 'jsonpath={.metadata.uid}']), 'holder uid')).stdout;
    const owner = { apiVersion: 'v1', kind: 'ConfigMap', name: 'holder', uid, controller: true };
    await must(kubectl(['patch', 'pvc', 'data-db-2', '-n', NS, '--type=merge', '-p', JSON.stringify({ metadata: { ownerReferences: [owner] } })]), 'hold data-db-2');
    await eventually(() => kubectl(['get', 'pod', 'db-2', '-n', NS, '-o', 'name']), (r) => r.code === 0, 60_000);
  }, 180_000);

  afterAll(async () => {
    await deleteObjects(
      ['statefulset', 'db', '-n', NS],
      ['pvc', '--all', '-n', NS],
      ['configmap', 'holder', '-n', NS],
      ['rolebinding', 'argo-sts-scaler', '-n', NS],
      ['role', 'sts-scaler', '-n', NS],
    );
    for (const pv of pvs) await deleteObjects(['pv', pv]);
  });

  it('refuses a scale-down that condemns a claim the controller deletes, naming only that one', async () => {
    const refused = await eventually(() => scaleAs(1, '--dry-run=server'), (r) => r.code !== 0 && r.stderr.includes('data-db-1'), 30_000);
    expect(refused.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(`${NS}/data-db-1`);
    expect(refused.stderr).not.toContain('data-db-2');
  });

  it('passes the scale-down of the pod whose claim is held, and the real controllers keep that claim', async () => {
    const scaled = await eventually(() => scaleAs(2), (r) => r.code === 0, 30_000);
    expect(scaled.stderr).not.toContain('denied');
    const podGone = await eventually(() => kubectl(['get', 'pod', 'db-2', '-n', NS, '-o', 'name']), (r) => r.code !== 0, 60_000);
    expect(podGone.stderr).toContain('NotFound');
    // Give the garbage collector time to act on the pod's deletion: the claim stays, no reference to the pod added.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const claim = await must(kubectl(['get', 'pvc', 'data-db-2', '-n', NS, '-o', 'json']), 'data-db-2 kept');
    const parsed = JSON.parse(claim.stdout) as { metadata: { deletionTimestamp?: string; ownerReferences?: { kind: string }[] } };
    expect(parsed.metadata.deletionTimestamp).toBeUndefined();
    expect(parsed.metadata.ownerReferences?.map((ref) => ref.kind)).toEqual(['ConfigMap']);
  });
});

// A StatefulSet whose persistentVolumeClaimRetentionPolicy.whenScaled is Delete: lowering its replicas makes the
// StatefulSet controller give each scaled-away pod's PVC an owner reference to the pod, delete the pod, and the
// garbage collector deletes the PVC (the controllers act as themselves). Through the real API server with the real
// kubectl, kube-controller-manager beside it: Argo CD's controller scaling it down (`kubectl scale`, the scale
// subresource, and a patch of spec.replicas) is refused naming the PVC that would go; once that PVC is approved with
// `volume-guard.io/delete: "true"`, the scale-down passes and the real controllers delete exactly that PVC.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, createStatefulSetClaims, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const NS = 'e2e-sts-scale';
const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';

const scaleAs = (replicas: number, ...extra: string[]) =>
  kubectl(['scale', 'statefulset', 'db', '-n', NS, `--replicas=${replicas}`, `--as=${ARGO}`, ...extra]);
const patchAs = (replicas: number, ...extra: string[]) =>
  kubectl(['patch', 'statefulset', 'db', '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { replicas } }), `--as=${ARGO}`, ...extra]);

describe('pvc-delete at a StatefulSet scale-down (whenScaled: Delete)', () => {
  let pvs: string[] = [];

  beforeAll(async () => {
    await ensureNamespace(NS);
    await kubectl(['delete', 'rolebinding', 'argo-sts-scaler', '-n', NS]);
    await kubectl(['delete', 'role', 'sts-scaler', '-n', NS]);
    await must(kubectl(['create', 'role', 'sts-scaler', '-n', NS, '--verb=get,list,patch,update', '--resource=statefulsets.apps,statefulsets.apps/scale']), 'role');
    await must(kubectl(['create', 'rolebinding', 'argo-sts-scaler', '-n', NS, '--role=sts-scaler', `--user=${ARGO}`]), 'rolebinding');
    // Parallel: the controller creates both pods at once (they stay Pending: no scheduler in this cluster).
    await apply({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: NS },
      spec: {
        replicas: 2,
        serviceName: 'db',
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: { app: 'e2e-sts-scale' } },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' },
        template: { metadata: { labels: { app: 'e2e-sts-scale' } }, spec: { containers: [{ name: 'db', image: 'registry.invalid/db:1' }] } },
        volumeClaimTemplates: [
          { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'standard', resources: { requests: { storage: '1Gi' } } } },
        ],
      },
    });
    const claims = await createStatefulSetClaims(NS, 'db');
    expect(claims).toEqual(['data-db-0', 'data-db-1']);
    pvs = claims.map((claim) => `pv-${NS}-${claim}`);
    // As a provisioner whose StorageClass says reclaimPolicy: Delete would have made them.
    for (const pv of pvs) {
      await must(kubectl(['patch', 'pv', pv, '--type=merge', '-p', '{"spec":{"persistentVolumeReclaimPolicy":"Delete"}}']), `reclaim of ${pv}`);
    }
    await eventually(() => kubectl(['get', 'pod', 'db-1', '-n', NS, '-o', 'name']), (r) => r.code === 0, 60_000);
  });

  afterAll(async () => {
    await deleteObjects(
      ['statefulset', 'db', '-n', NS],
      ['pvc', '--all', '-n', NS],
      ['rolebinding', 'argo-sts-scaler', '-n', NS],
      ['role', 'sts-scaler', '-n', NS],
    );
    for (const pv of pvs) await deleteObjects(['pv', pv]);
  });

  it("refuses Argo CD's controller scaling it down, through the scale subresource and spec.replicas", async () => {
    const refused = await eventually(() => scaleAs(1, '--dry-run=server'), (r) => r.code !== 0, 30_000);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(`scale-down of StatefulSet ${NS}/db from 2 to 1 replica by ${ARGO}`);
    expect(refused.stderr).toContain(`${NS}/data-db-1`);
    expect(refused.stderr).toContain('whenScaled: Delete');
    expect(refused.stderr).not.toContain('data-db-0');
    const patched = await patchAs(0, '--dry-run=server');
    expect(patched.code).not.toBe(0);
    expect(patched.stderr).toContain(`${NS}/data-db-0`);
    expect(patched.stderr).toContain(`${NS}/data-db-1`);
    // Scaling up condemns nothing.
    const up = await scaleAs(3, '--dry-run=server');
    expect(up.stderr).not.toContain('denied');
    expect(up.code).toBe(0);
  });

  it('passes once the PVC is approved, and the controllers then delete exactly that PVC', async () => {
    await must(
      kubectl(['annotate', 'pvc', 'data-db-1', '-n', NS, 'volume-guard.io/delete=true', 'volume-guard.io/skip-reason=e2e', 'volume-guard.io/skip-by=admin']),
      'approve data-db-1',
    );
    const scaled = await eventually(() => scaleAs(1), (r) => r.code === 0, 30_000);
    expect(scaled.stderr).not.toContain('denied');
    expect(scaled.code).toBe(0);
    const gone = await eventually(() => kubectl(['get', 'pvc', 'data-db-1', '-n', NS, '-o', 'name']), (r) => r.code !== 0, 60_000);
    expect(gone.stderr).toContain('NotFound');
    expect((await kubectl(['get', 'pvc', 'data-db-0', '-n', NS, '-o', 'jsonpath={.status.phase}'])).stdout).toBe('Bound');
  });
});

// `helm upgrade --force` (Helm 3; Helm 4 `--force-replace`) replaces every object with the rendered one (a PUT:
// pkg/kube/client.go updateResource), so what the chart does not declare takes the API server's default: a chart
// that declares whenScaled: Delete but leaves spec.replicas to kubectl scale or an autoscaler is set back to 1 replica,
// and the StatefulSet controller deletes the PVCs of the pods it scales away. The record does not say --force is used:
// real helm, the real API server and kube-controller-manager show the upgrade warned, naming the PVC, and the PVC then
// deleted; the same upgrade without --force keeps the live replicas and the PVC.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helm, kubectl, paths } from '../harness/cluster.ts';
import { createStatefulSetClaims, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const NS = 'e2e-helm-force-replace';
const CHART = join(paths.root, 'test', 'e2e', 'charts', 'retained-db');
const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';
const VALUES = ['--set', 'db.replicas=null', '--set', 'db.whenScaled=Delete', '--set', 'db.whenDeleted=Retain', '--set', 'db.podManagementPolicy=Parallel'];

describe('helm upgrade --force of a StatefulSet scaled by hand (whenScaled: Delete, replicas not in the chart)', () => {
  let pvs: string[] = [];

  beforeAll(async () => {
    await ensureNamespace(NS);
    await helm(['uninstall', 'fdb', '-n', NS]);
    await deleteObjects(['pvc', '--all', '-n', NS], ['rolebinding', 'argo-sts-scaler', '-n', NS], ['role', 'sts-scaler', '-n', NS]);
    await must(kubectl(['create', 'role', 'sts-scaler', '-n', NS, '--verb=get,list,patch,update', '--resource=statefulsets.apps']), 'role');
    await must(kubectl(['create', 'rolebinding', 'argo-sts-scaler', '-n', NS, '--role=sts-scaler', `--user=${ARGO}`]), 'rolebinding');
    await must(helm(['install', 'fdb', CHART, '-n', NS, ...VALUES]), 'helm install fdb');
    await must(kubectl(['scale', 'statefulset', 'fdb-db', '-n', NS, '--replicas=2']), 'kubectl scale');
    const claims = await createStatefulSetClaims(NS, 'fdb-db');
    expect(claims).toEqual(['data-fdb-db-0', 'data-fdb-db-1']);
    pvs = claims.map((claim) => `pv-${NS}-${claim}`);
    for (const pv of pvs) {
      await must(kubectl(['patch', 'pv', pv, '--type=merge', '-p', '{"spec":{"persistentVolumeReclaimPolicy":"Delete"}}']), `reclaim of ${pv}`);
    }
    await eventually(() => kubectl(['get', 'pod', 'fdb-db-1', '-n', NS, '-o', 'name']), (r) => r.code === 0, 60_000);
    // Ready once volume-guard's model holds the pods and the Bound claims: Argo CD's scale-down to 1 is refused.
    const gate = await eventually(
      () => kubectl(['patch', 'statefulset', 'fdb-db', '-n', NS, '--type=merge', '-p', '{"spec":{"replicas":1}}', `--as=${ARGO}`, '--dry-run=server']),
      (r) => r.code !== 0,
      60_000,
    );
    expect(gate.stderr).toContain(`${NS}/data-fdb-db-1`);
  }, 180_000);

  afterAll(async () => {
    await helm(['uninstall', 'fdb', '-n', NS]);
    await deleteObjects(['pvc', '--all', '-n', NS], ['rolebinding', 'argo-sts-scaler', '-n', NS], ['role', 'sts-scaler', '-n', NS]);
    for (const pv of pvs) await deleteObjects(['pv', pv]);
  });

  it('a plain upgrade passes, warned of what --force would do, and keeps the live replicas', async () => {
    const upgraded = await helm(['upgrade', 'fdb', CHART, '-n', NS, ...VALUES]);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect(upgraded.stderr).toContain('deletes 1 PVC: data-fdb-db-1; run it without --force');
    expect((await kubectl(['get', 'statefulset', 'fdb-db', '-n', NS, '-o', 'jsonpath={.spec.replicas}'])).stdout).toBe('2');
  });

  it('the upgrade warns naming the PVC --force deletes; with --force it goes to 1 replica and the PVC is deleted', async () => {
    const upgraded = await helm(['upgrade', 'fdb', CHART, '-n', NS, '--force', ...VALUES]);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect(upgraded.stderr).toContain(`with --force (Helm 4: --force-replace) this upgrade replaces StatefulSet ${NS}/fdb-db,`);
    expect(upgraded.stderr).toContain('2 replicas become 1, and whenScaled: Delete');
    expect(upgraded.stderr).toContain('deletes 1 PVC: data-fdb-db-1; run it without --force');
    expect((await kubectl(['get', 'statefulset', 'fdb-db', '-n', NS, '-o', 'jsonpath={.spec.replicas}'])).stdout).toBe('1');
    const gone = await eventually(() => kubectl(['get', 'pvc', 'data-fdb-db-1', '-n', NS, '-o', 'name']), (r) => r.code !== 0, 60_000);
    expect(gone.code).not.toBe(0);
  });
});

// A chart that stops declaring spec.replicas (the common `if not .Values.autoscaling.enabled` pattern) does not leave
// the live count alone when an earlier revision set it: Helm's three-way merge removes what the previous manifest had
// and the new one lacks, and the API server defaults the StatefulSet to 1 replica. Under whenScaled: Delete the
// StatefulSet controller then deletes the PVCs of every pod it scales away. Real helm, the real API server and
// kube-controller-manager: the release set 2 replicas, so the upgrade dropping them is refused at its release record,
// naming the PVC of pod 1, before Helm touches the StatefulSet; an upgrade that keeps them passes. One moving
// ordinals.start past pod 0 is refused too, naming pod 0's PVC and saying the ordinals move.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helm, kubectl, paths } from '../harness/cluster.ts';
import { createStatefulSetClaims, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const NS = 'e2e-helm-dropped-replicas';
const CHART = join(paths.root, 'test', 'e2e', 'charts', 'retained-db');
const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';
const VALUES = ['--set', 'db.whenScaled=Delete', '--set', 'db.whenDeleted=Retain', '--set', 'db.podManagementPolicy=Parallel'];

describe('a Helm upgrade that stops declaring the replicas the release set (whenScaled: Delete)', () => {
  let pvs: string[] = [];

  beforeAll(async () => {
    await ensureNamespace(NS);
    await helm(['uninstall', 'rdb', '-n', NS]);
    await deleteObjects(['pvc', '--all', '-n', NS], ['rolebinding', 'argo-sts-scaler', '-n', NS], ['role', 'sts-scaler', '-n', NS]);
    await must(kubectl(['create', 'role', 'sts-scaler', '-n', NS, '--verb=get,list,patch,update', '--resource=statefulsets.apps']), 'role');
    await must(kubectl(['create', 'rolebinding', 'argo-sts-scaler', '-n', NS, '--role=sts-scaler', `--user=${ARGO}`]), 'rolebinding');
    await must(helm(['install', 'rdb', CHART, '-n', NS, '--set', 'db.replicas=2', ...VALUES]), 'helm install rdb');
    const claims = await createStatefulSetClaims(NS, 'rdb-db');
    expect(claims).toEqual(['data-rdb-db-0', 'data-rdb-db-1']);
    pvs = claims.map((claim) => `pv-${NS}-${claim}`);
    for (const pv of pvs) {
      await must(kubectl(['patch', 'pv', pv, '--type=merge', '-p', '{"spec":{"persistentVolumeReclaimPolicy":"Delete"}}']), `reclaim of ${pv}`);
    }
    await eventually(() => kubectl(['get', 'pod', 'rdb-db-1', '-n', NS, '-o', 'name']), (r) => r.code === 0, 60_000);
    // Ready once volume-guard's model holds the pods and the Bound claims: Argo CD's scale-down of it is refused.
    const gate = await eventually(
      () => kubectl(['patch', 'statefulset', 'rdb-db', '-n', NS, '--type=merge', '-p', '{"spec":{"replicas":1}}', `--as=${ARGO}`, '--dry-run=server']),
      (r) => r.code !== 0,
      60_000,
    );
    expect(gate.stderr).toContain(`${NS}/data-rdb-db-1`);
  }, 180_000);

  afterAll(async () => {
    await helm(['uninstall', 'rdb', '-n', NS]);
    await deleteObjects(['pvc', '--all', '-n', NS], ['rolebinding', 'argo-sts-scaler', '-n', NS], ['role', 'sts-scaler', '-n', NS]);
    for (const pv of pvs) await deleteObjects(['pv', pv]);
  });

  it('is refused at the release record, naming the PVC the fall back to 1 replica deletes', async () => {
    const upgraded = await helm(['upgrade', 'rdb', CHART, '-n', NS, '--set', 'db.replicas=null', ...VALUES]);
    expect(upgraded.code).not.toBe(0);
    expect(upgraded.stderr).toContain('admission webhook "helm-release.volume-guard.io" denied the request');
    expect(upgraded.stderr).toContain('[pvc-delete]');
    expect(upgraded.stderr).toContain(`${NS}/data-rdb-db-1`);
    expect(upgraded.stderr).toContain('no longer declares the replicas the release set on StatefulSet rdb-db');
    expect(upgraded.stderr).not.toContain('data-rdb-db-0');
    expect((await kubectl(['get', 'statefulset', 'rdb-db', '-n', NS, '-o', 'jsonpath={.spec.replicas}'])).stdout).toBe('2');
    expect((await kubectl(['get', 'pvc', 'data-rdb-db-1', '-n', NS, '-o', 'name'])).code).toBe(0);
  });

  it('an upgrade moving ordinals.start past pod 0 is refused naming its PVC, saying the ordinals move', async () => {
    const upgraded = await helm(['upgrade', 'rdb', CHART, '-n', NS, '--set', 'db.replicas=2', '--set', 'db.ordinalsStart=1', ...VALUES]);
    expect(upgraded.code).not.toBe(0);
    expect(upgraded.stderr).toContain('[pvc-delete]');
    expect(upgraded.stderr).toContain(`${NS}/data-rdb-db-0`);
    expect(upgraded.stderr).toContain("this upgrade moves StatefulSet rdb-db's ordinals to 1..2; pod rdb-db-0 is scaled away");
    expect(upgraded.stderr).not.toContain('sets StatefulSet rdb-db to 2 replicas');
    expect((await kubectl(['get', 'statefulset', 'rdb-db', '-n', NS, '-o', 'jsonpath={.spec.ordinals}'])).stdout).toBe('');
  });

  it('an upgrade that keeps declaring them passes', async () => {
    const upgraded = await helm(['upgrade', 'rdb', CHART, '-n', NS, '--set', 'db.replicas=2', ...VALUES]);
    expect(upgraded.stderr).not.toContain('denied');
    expect(upgraded.code).toBe(0);
  });
});

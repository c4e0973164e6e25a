// What Helm makes the controllers delete through a StatefulSet's persistentVolumeClaimRetentionPolicy, with real helm,
// the real API server and kube-controller-manager beside it (the StatefulSet controller creates the pod and its PVC,
// and gives the PVC its owner references; the test only binds the PVC to a PV, as a provisioner would):
//  - `helm upgrade` lowering the replicas while turning whenScaled to Delete is refused at the release record,
//    naming the PVC the StatefulSet controller would delete, before Helm touches anything;
//  - `helm uninstall` (never refused) warns that the PVC goes with the StatefulSet (whenDeleted: Delete), and the
//    garbage collector then deletes it.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { helm, kubectl, paths } from '../harness/cluster.ts';
import { changeAndWait, createStatefulSetClaims, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const guard = inject('guard');
const NS = 'e2e-helm-sts-claims';
const CHART = join(paths.root, 'test', 'e2e', 'charts', 'retained-db');
const CLAIM = 'data-rdb-db-0';
const PV = `pv-${NS}-${CLAIM}`;

describe('Helm and the PVCs a StatefulSet deletes through its retention policy', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await helm(['uninstall', 'rdb', '-n', NS]);
    await must(helm(['install', 'rdb', CHART, '-n', NS, '--set', 'db.replicas=1']), 'helm install rdb');
    expect(await createStatefulSetClaims(NS, 'rdb-db')).toEqual([CLAIM]);
    await must(kubectl(['patch', 'pv', PV, '--type=merge', '-p', '{"spec":{"persistentVolumeReclaimPolicy":"Delete"}}']), 'reclaim Delete');
    // whenDeleted: Delete: the StatefulSet controller makes the StatefulSet an owner of the PVC.
    const owner = await eventually(
      () => kubectl(['get', 'pvc', CLAIM, '-n', NS, '-o', 'jsonpath={.metadata.ownerReferences[*].kind}']),
      (r) => r.stdout === 'StatefulSet',
      60_000,
    );
    expect(owner.stdout).toBe('StatefulSet');
    await eventually(() => kubectl(['get', 'pod', 'rdb-db-0', '-n', NS, '-o', 'name']), (r) => r.code === 0, 60_000);
    // The model has caught up with the pod and the PVC once it counts as many as the API server lists.
    await changeAndWait(guard.opsUrl, 'pods', async () => undefined);
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', async () => undefined);
  }, 180_000);

  afterAll(async () => {
    await helm(['uninstall', 'rdb', '-n', NS]);
    await deleteObjects(['pvc', '--all', '-n', NS], ['pv', PV]);
  });

  it('refuses an upgrade scaling the StatefulSet down while turning whenScaled to Delete, naming the PVC', async () => {
    const upgraded = await helm(['upgrade', 'rdb', CHART, '-n', NS, '--set', 'db.replicas=0', '--set', 'db.whenScaled=Delete']);
    expect(upgraded.code).not.toBe(0);
    expect(upgraded.stderr).toContain('UPGRADE FAILED');
    expect(upgraded.stderr).toContain('admission webhook "helm-release.volume-guard.io" denied the request');
    expect(upgraded.stderr).toContain('[pvc-delete]');
    expect(upgraded.stderr).toContain(`${NS}/${CLAIM}`);
    expect(upgraded.stderr).toContain('whenScaled: Delete');
    expect((await kubectl(['get', 'statefulset', 'rdb-db', '-n', NS, '-o', 'jsonpath={.spec.replicas}'])).stdout).toBe('1');
    // The same scale-down keeping whenScaled: Retain deletes nothing; not run here, to keep the pod for the uninstall.
  });

  it('warns at uninstall that the PVC goes with the StatefulSet, and the garbage collector deletes it', async () => {
    const removed = await helm(['uninstall', 'rdb', '-n', NS]);
    expect(removed.code).toBe(0);
    expect(removed.stderr).toContain(`volume-guard: uninstalling ${NS}/rdb deletes 1 PVC with its StatefulSets`);
    expect(removed.stderr).toContain(`- PVC ${CLAIM} of StatefulSet rdb-db (PV ${PV}, reclaim Delete: data destroyed)`);
    expect(removed.stderr).not.toContain('leaves');
    const gone = await eventually(() => kubectl(['get', 'pvc', CLAIM, '-n', NS, '-o', 'name']), (r) => r.code !== 0, 60_000);
    expect(gone.stderr).toContain('NotFound');
  });
});

// A GitOps prune of a statically provisioned Longhorn volume: deleting the Volume object makes Longhorn delete its
// replicas and data. Through the real API server with the real kubectl (Longhorn's CRDs installed, the volume written
// as Longhorn leaves it): Argo CD's controller deleting it is refused naming the PVC in front of it; a person deleting
// by hand (pvcDelete.others off by default), Longhorn's own service account, and Argo CD once the volume is marked
// `volume-guard.io/delete: "true"` pass. Dry runs: nothing is deleted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { applyBoundPair, createLonghornVolume, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const LH = 'longhorn-system';
const VOLUME = 'e2e-lh-static';
const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';
const LONGHORN = `system:serviceaccount:${LH}:longhorn-service-account`;

const deleteAs = (user?: string) =>
  kubectl(['delete', 'volumes.longhorn.io', VOLUME, '-n', LH, '--dry-run=server', ...(user ? [`--as=${user}`] : [])]);

describe('pvc-delete at a Longhorn Volume DELETE', () => {
  beforeAll(async () => {
    await ensureNamespace(LH);
    await kubectl(['delete', 'clusterrolebinding', 'e2e-lh-volume-deleters']);
    await kubectl(['delete', 'clusterrole', 'e2e-lh-volume-deleter']);
    await must(kubectl(['create', 'clusterrole', 'e2e-lh-volume-deleter', '--verb=get,list,delete', '--resource=volumes.longhorn.io']), 'clusterrole');
    await must(
      kubectl(['create', 'clusterrolebinding', 'e2e-lh-volume-deleters', '--clusterrole=e2e-lh-volume-deleter', `--user=${ARGO}`, `--user=${LONGHORN}`]),
      'clusterrolebinding',
    );
    await createLonghornVolume({ name: VOLUME, state: 'detached', replicas: [], claim: { namespace: 'e2e-lh-app', name: 'data' } });
  });

  afterAll(async () => {
    await deleteObjects(['volumes.longhorn.io', VOLUME, '-n', LH], ['clusterrolebinding', 'e2e-lh-volume-deleters'], ['clusterrole', 'e2e-lh-volume-deleter']);
  });

  it("refuses Argo CD's controller deleting it, naming the PVC that loses its data", async () => {
    const refused = await eventually(() => deleteAs(ARGO), (r) => r.code !== 0);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(`deletion of Longhorn volume ${LH}/${VOLUME} by ${ARGO}`);
    expect(refused.stderr).toContain('PVC e2e-lh-app/data loses its data');
  });

  it("passes people by hand, Longhorn's own service account, and Argo CD once the volume is marked", async () => {
    for (const user of [undefined, LONGHORN]) {
      const passed = await deleteAs(user);
      expect(passed.stderr).not.toContain('denied');
      expect(passed.code).toBe(0);
    }
    await must(kubectl(['annotate', 'volumes.longhorn.io', VOLUME, '-n', LH, 'volume-guard.io/delete=true', 'volume-guard.io/skip-by=admin']), 'approve');
    const approved = await eventually(() => deleteAs(ARGO), (r) => r.code === 0);
    expect(approved.stderr).not.toContain('denied');
    expect(approved.code).toBe(0);
  });
});

describe('a Longhorn volume that never held data (created, never attached: no replica was ever healthy)', () => {
  const FRESH = 'e2e-lh-fresh';
  const APP = 'e2e-lh-fresh-app';
  const pruneClaim = () => kubectl(['delete', 'pvc', 'data', '-n', APP, '--dry-run=server', `--as=${ARGO}`]);
  const deleteVolume = () => kubectl(['delete', 'volumes.longhorn.io', FRESH, '-n', LH, '--dry-run=server', `--as=${ARGO}`]);
  beforeAll(async () => {
    await ensureNamespace(LH);
    await ensureNamespace(APP);
    await kubectl(['delete', 'rolebinding', 'e2e-lh-fresh-pruner', '-n', APP]);
    await kubectl(['create', 'role', 'e2e-lh-fresh-pruner', '-n', APP, '--verb=get,list,delete', '--resource=persistentvolumeclaims']);
    await must(kubectl(['create', 'rolebinding', 'e2e-lh-fresh-pruner', '-n', APP, '--role=e2e-lh-fresh-pruner', `--user=${ARGO}`]), 'rolebinding');
    await kubectl(['create', 'clusterrole', 'e2e-lh-fresh-volume-deleter', '--verb=get,list,delete', '--resource=volumes.longhorn.io']);
    await kubectl(['create', 'clusterrolebinding', 'e2e-lh-fresh-volume-deleter', '--clusterrole=e2e-lh-fresh-volume-deleter', `--user=${ARGO}`]);
    // Longhorn's StorageClass binds at once: the volume, its PV and its claim exist before any pod.
    await createLonghornVolume({ name: FRESH, state: 'detached', replicas: [{ node: 'e2e-lh-fresh-n1', healthy: false }], claim: { namespace: APP, name: 'data' } });
    await applyBoundPair(
      {
        metadata: { name: FRESH },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Delete',
          storageClassName: 'longhorn',
          csi: { driver: 'driver.longhorn.io', volumeHandle: FRESH },
        },
      },
      { name: 'data', namespace: APP, storageClassName: 'longhorn' },
    );
  });

  afterAll(async () => {
    await deleteObjects(
      ['pvc', 'data', '-n', APP],
      ['pv', FRESH],
      ['replicas.longhorn.io', '-l', `longhornvolume=${FRESH}`, '-n', LH],
      ['volumes.longhorn.io', FRESH, '-n', LH],
      ['clusterrolebinding', 'e2e-lh-fresh-volume-deleter'],
      ['clusterrole', 'e2e-lh-fresh-volume-deleter'],
    );
  });

  it("passes Argo CD's prune of its claim and of the Volume: nothing to lose", async () => {
    const pruned = await eventually(pruneClaim, (r) => r.code === 0, 30_000);
    expect(pruned.stderr).not.toContain('denied');
    expect(pruned.code).toBe(0);
    const deleted = await eventually(deleteVolume, (r) => r.code === 0, 30_000);
    expect(deleted.stderr).not.toContain('denied');
    expect(deleted.code).toBe(0);
  });

  it('refuses both once its replica held data', async () => {
    await must(
      kubectl(['patch', 'replicas.longhorn.io', `${FRESH}-r-0`, '-n', LH, '--type=merge', '-p', '{"spec":{"healthyAt":"2026-01-03T00:00:00Z","failedAt":""}}']),
      'replica healthy once',
    );
    const refused = await eventually(pruneClaim, (r) => r.code !== 0, 30_000);
    expect(refused.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(`${APP}/data`);
    const volume = await deleteVolume();
    expect(volume.code).not.toBe(0);
    expect(volume.stderr).toContain('denied the request');
  });
});

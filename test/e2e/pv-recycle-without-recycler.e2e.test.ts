// Reclaim policy Recycle wipes only what kube-controller-manager has a recycler for (its hostPath and NFS volume
// plugins). Through the real API server, kubectl and kube-controller-manager: Argo CD's controller deleting a Bound
// claim whose CSI PV says Recycle passes, and the PV controller then marks that PV Failed ("No recycler plugin found
// for the volume!") with the data kept; the same claim on an NFS PV under Recycle is refused, and so is the namespace
// holding it, naming only that claim. Turning a Released PV to Recycle: on a CSI PV the webhook is not even called (its
// matchCondition reads the source), on an NFS PV it is, and refuses it.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { admissionCount } from '../harness/guard.ts';
import { applyBoundPair, deleteObjects, ensureNamespace, eventually, must, removeLeftoverPv } from '../harness/scenario.ts';

const NS = 'e2e-recycle';
const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';
const CSI_PV = 'pv-e2e-recycle-csi';
const NFS_PV = 'pv-e2e-recycle-nfs';
const CSI_RELEASED = 'pv-e2e-recycle-csi-released';
const NFS_RELEASED = 'pv-e2e-recycle-nfs-released';
const guard = inject('guard');

const volume = (source: Record<string, unknown>, persistentVolumeReclaimPolicy = 'Recycle') => ({
  capacity: { storage: '1Gi' },
  accessModes: ['ReadWriteOnce'],
  persistentVolumeReclaimPolicy,
  storageClassName: 'standard',
  ...source,
});

const deleteAsArgo = (args: string[]) => kubectl(['delete', ...args, `--as=${ARGO}`]);

describe('pvc-delete: reclaim policy Recycle where no recycler serves the volume', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await kubectl(['delete', 'clusterrolebinding', 'e2e-argo-recycle']);
    await kubectl(['delete', 'clusterrole', 'e2e-argo-recycle']);
    await must(kubectl(['create', 'clusterrole', 'e2e-argo-recycle', '--verb=get,list,delete,patch', '--resource=namespaces,persistentvolumeclaims,persistentvolumes']), 'clusterrole');
    await must(kubectl(['create', 'clusterrolebinding', 'e2e-argo-recycle', '--clusterrole=e2e-argo-recycle', `--user=${ARGO}`]), 'clusterrolebinding');
    for (const name of [CSI_PV, NFS_PV, CSI_RELEASED, NFS_RELEASED]) await removeLeftoverPv(name);
    await applyBoundPair({ metadata: { name: CSI_PV }, spec: volume({ csi: { driver: 'pd.csi.storage.gke.io', volumeHandle: CSI_PV } }) }, { name: 'csi-data', namespace: NS, storageClassName: 'standard' });
    await applyBoundPair({ metadata: { name: NFS_PV }, spec: volume({ nfs: { server: '192.0.2.1', path: '/export/data' } }) }, { name: 'nfs-data', namespace: NS, storageClassName: 'standard' });
  });

  afterAll(async () => {
    await deleteObjects(['pvc', '--all', '-n', NS], ['pv', CSI_PV, NFS_PV, CSI_RELEASED, NFS_RELEASED], ['clusterrolebinding', 'e2e-argo-recycle'], ['clusterrole', 'e2e-argo-recycle']);
  });

  it('refuses the claim on an NFS PV (its recycler wipes it), and the namespace holding it, naming only that claim', async () => {
    const refused = await eventually(() => deleteAsArgo(['pvc', 'nfs-data', '-n', NS, '--dry-run=server']), (r) => r.code !== 0);
    expect(refused.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    expect(refused.stderr).toContain('reclaim policy Recycle wipes the data');
    const namespace = await deleteAsArgo(['namespace', NS, '--dry-run=server']);
    expect(namespace.code).not.toBe(0);
    expect(namespace.stderr).toContain(`${NS}/nfs-data`);
    expect(namespace.stderr).not.toContain('csi-data');
  });

  it('allows the claim on a CSI PV: the PV controller finds no recycler, marks the PV Failed and keeps it', async () => {
    // The model has both claims once the NFS one is refused (it was written after the CSI one).
    await eventually(() => deleteAsArgo(['pvc', 'nfs-data', '-n', NS, '--dry-run=server']), (r) => r.code !== 0);
    const dryRun = await deleteAsArgo(['pvc', 'csi-data', '-n', NS, '--dry-run=server']);
    expect(dryRun.stderr).not.toContain('denied');
    expect(dryRun.code).toBe(0);
    const deleted = await deleteAsArgo(['pvc', 'csi-data', '-n', NS, '--wait=false']);
    expect(deleted.stderr).not.toContain('denied');
    expect(deleted.code).toBe(0);
    const failed = await eventually(() => kubectl(['get', 'pv', CSI_PV, '-o', 'jsonpath={.status.phase} {.status.message}']), (r) => r.stdout.startsWith('Failed'), 60_000);
    expect(failed.stdout).toBe('Failed No recycler plugin found for the volume!');
  });

  it('is not called for a Released CSI PV turned to Recycle (nothing to lose), and refuses an NFS one', async () => {
    await applyBoundPair({ metadata: { name: CSI_RELEASED }, spec: volume({ csi: { driver: 'pd.csi.storage.gke.io', volumeHandle: CSI_RELEASED } }, 'Retain') }, { name: 'csi-released', namespace: NS, storageClassName: 'standard' });
    await applyBoundPair({ metadata: { name: NFS_RELEASED }, spec: volume({ nfs: { server: '192.0.2.1', path: '/export/released' } }, 'Retain') }, { name: 'nfs-released', namespace: NS, storageClassName: 'standard' });
    await must(kubectl(['delete', 'pvc', 'csi-released', 'nfs-released', '-n', NS, '--wait=true', '--timeout=60s']), 'delete the claims');
    for (const name of [CSI_RELEASED, NFS_RELEASED]) {
      await eventually(() => kubectl(['get', 'pv', name, '-o', 'jsonpath={.status.phase}']), (r) => r.stdout === 'Released', 60_000);
    }
    const toRecycle = (name: string) => kubectl(['patch', 'pv', name, '--type=merge', '-p', '{"spec":{"persistentVolumeReclaimPolicy":"Recycle"}}', `--as=${ARGO}`, '--dry-run=server']);
    // The NFS one first: refused once the model has seen its claim go.
    const refused = await eventually(() => toRecycle(NFS_RELEASED), (r) => r.code !== 0, 30_000);
    expect(refused.stderr).toContain(`change of PV ${NFS_RELEASED}'s reclaim policy to Recycle by ${ARGO}`);
    const before = await admissionCount(guard, 'pvc-delete');
    const passed = await toRecycle(CSI_RELEASED);
    expect(passed.stderr).not.toContain('denied');
    expect(passed.code).toBe(0);
    expect(await admissionCount(guard, 'pvc-delete')).toBe(before);
    expect((await toRecycle(NFS_RELEASED)).code).not.toBe(0);
    expect(await admissionCount(guard, 'pvc-delete')).toBe(before + 1);
  }, 120_000);
});

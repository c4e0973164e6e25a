// Reclaim policy Recycle wipes only what kube-controller-manager has a recycler for (its hostPath and NFS volume
// plugins). Through the real API server, kubectl and kube-controller-manager: Argo CD's controller deleting a Bound
// claim whose CSI PV says Recycle passes, and the PV controller then marks that PV Failed ("No recycler plugin found
// for the volume!") with the data kept; the same claim on an NFS PV under Recycle is refused, and so is the namespace
// holding it, naming only that claim.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { applyBoundPair, deleteObjects, ensureNamespace, eventually, must, removeLeftoverPv } from '../harness/scenario.ts';

const NS = 'e2e-recycle';
const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';
const CSI_PV = 'pv-e2e-recycle-csi';
const NFS_PV = 'pv-e2e-recycle-nfs';

const volume = (source: Record<string, unknown>) => ({
  capacity: { storage: '1Gi' },
  accessModes: ['ReadWriteOnce'],
  persistentVolumeReclaimPolicy: 'Recycle',
  storageClassName: 'standard',
  ...source,
});

const deleteAsArgo = (args: string[]) => kubectl(['delete', ...args, `--as=${ARGO}`]);

describe('pvc-delete: reclaim policy Recycle where no recycler serves the volume', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await kubectl(['delete', 'clusterrolebinding', 'e2e-argo-recycle']);
    await kubectl(['delete', 'clusterrole', 'e2e-argo-recycle']);
    await must(kubectl(['create', 'clusterrole', 'e2e-argo-recycle', '--verb=get,list,delete', '--resource=namespaces,persistentvolumeclaims']), 'clusterrole');
    await must(kubectl(['create', 'clusterrolebinding', 'e2e-argo-recycle', '--clusterrole=e2e-argo-recycle', `--user=${ARGO}`]), 'clusterrolebinding');
    await removeLeftoverPv(CSI_PV);
    await removeLeftoverPv(NFS_PV);
    await applyBoundPair({ metadata: { name: CSI_PV }, spec: volume({ csi: { driver: 'pd.csi.storage.gke.io', volumeHandle: CSI_PV } }) }, { name: 'csi-data', namespace: NS, storageClassName: 'standard' });
    await applyBoundPair({ metadata: { name: NFS_PV }, spec: volume({ nfs: { server: '192.0.2.1', path: '/export/data' } }) }, { name: 'nfs-data', namespace: NS, storageClassName: 'standard' });
  });

  afterAll(async () => {
    await deleteObjects(['pvc', '--all', '-n', NS], ['pv', CSI_PV, NFS_PV], ['clusterrolebinding', 'e2e-argo-recycle'], ['clusterrole', 'e2e-argo-recycle']);
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
});

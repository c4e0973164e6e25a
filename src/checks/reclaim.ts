// What the PV controller does with a PV's data once its claim is gone, as it can really carry it out.
import type { PersistentVolumeRecord, VolumeSource } from '../cluster/records.ts';

/**
 * Reclaim policy Recycle on a PV no recycler serves, as the PV controller carries it out: recycleVolumeOperation
 * (pkg/controller/volume/persistentvolume/pv_controller.go) finds no recyclable plugin, marks the PV Failed (event
 * VolumeFailedRecycle, "No recycler plugin found for the volume!") and retries at every sync; the data stays.
 */
export const RECYCLE_WITHOUT_RECYCLER = 'Recycle (no recycler)';

/** The tag of a claim deleted under RECYCLE_WITHOUT_RECYCLER: its data kept on a Failed PV (a warning, as under Retain). */
export const RECYCLE_WITHOUT_RECYCLER_TAG = 'reclaim-recycle-without-recycler';

/**
 * Whether kube-controller-manager can recycle a PV of this source: only its in-tree hostPath and NFS volume plugins
 * are RecyclableVolumePlugins (pkg/volume/hostpath, pkg/volume/nfs); CSI, local and every other source have none.
 */
export function recyclerServes(source: VolumeSource): boolean {
  return (RECYCLABLE_SOURCES as readonly VolumeSource[]).includes(source);
}

/** Those sources, each named as its field of a PV's spec (`spec.hostPath`, `spec.nfs`): read so by matchConditions. */
export const RECYCLABLE_SOURCES = ['hostPath', 'nfs'] as const satisfies readonly VolumeSource[];

/**
 * The PV's reclaim policy as the PV controller carries it out ('' for a PV volume-guard does not know): its
 * `persistentVolumeReclaimPolicy`, except Recycle where no recycler serves the PV (RECYCLE_WITHOUT_RECYCLER).
 */
export function effectiveReclaimPolicy(pv: Pick<PersistentVolumeRecord, 'reclaimPolicy' | 'source'> | undefined): string {
  if (pv === undefined) return '';
  return pv.reclaimPolicy === 'Recycle' && !recyclerServes(pv.source) ? RECYCLE_WITHOUT_RECYCLER : pv.reclaimPolicy;
}

/** Whether the data stays once the claim is gone: Retain (a Released PV), or a Recycle no recycler serves (a Failed PV). */
export function reclaimKeepsData(policy: string): boolean {
  return policy === 'Retain' || policy === RECYCLE_WITHOUT_RECYCLER;
}

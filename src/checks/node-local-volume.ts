// node-local-volume: bound PersistentVolumes whose data lives on one node's own disks (seeds 003 and 004).
// Draining, wiping or replacing that node loses the data, whether or not a pod mounts the claim right now, so
// every bound node-local PV is reported; the `in-use` / `unused` tag lets a validator tell the two apart.

import type { PersistentVolumeRecord, PodRecord } from '../cluster/records.ts';
import type { ClusterSnapshot } from '../cluster/snapshot.ts';
import { claimObject, podObject } from './affected.ts';
import { type CapOptions, type CappedFindings, FindingCollector, NO_CAP } from './collect.ts';
import type { AffectedObject, Check, Finding } from './types.ts';

/**
 * Provisioners and CSI drivers whose volumes live on the disks of the node they are pinned to. A PV pinned to
 * a node by a network storage driver is not node-local (zonal block storage pins by zone, not by hostname;
 * Longhorn keeps replicas on several nodes and has its own checks).
 */
export const NODE_LOCAL_DRIVERS: readonly string[] = Object.freeze([
  'rancher.io/local-path', // Rancher local-path-provisioner (k3s, RKE2 default)
  'openebs.io/local', // OpenEBS LocalPV hostpath / device
  'local.csi.openebs.io', // OpenEBS LocalPV-LVM
  'zfs.csi.openebs.io', // OpenEBS LocalPV-ZFS
  'device.csi.openebs.io', // OpenEBS LocalPV-Device
  'rawfile.csi.openebs.io', // OpenEBS LocalPV-Rawfile
  'topolvm.io', // TopoLVM, Red Hat LVMS
  'topolvm.cybozu.com', // TopoLVM before 0.13
  'lvm.csi.metal-stack.io', // metal-stack csi-driver-lvm
  'hostpath.csi.k8s.io', // Kubernetes CSI hostpath driver
]);

const DEFAULT_NODE_LOCAL_DRIVERS: ReadonlySet<string> = new Set(NODE_LOCAL_DRIVERS);

/** Pod phases whose containers no longer run: such a pod does not use its claims. */
const FINISHED_POD_PHASES: ReadonlySet<string> = new Set(['Succeeded', 'Failed']);

export function isBoundPersistentVolume(pv: PersistentVolumeRecord): boolean {
  return pv.phase === 'Bound' && pv.claimName !== '';
}

/** Pinned to one node, and keeping its data on that node: `local`, `hostPath`, or a node-local driver. */
export function isNodeLocalPersistentVolume(
  pv: PersistentVolumeRecord,
  nodeLocalDrivers: ReadonlySet<string> = DEFAULT_NODE_LOCAL_DRIVERS,
): boolean {
  if (pv.pinnedNode === '') return false;
  return pv.source === 'local' || pv.source === 'hostPath' || nodeLocalDrivers.has(pv.driver);
}

export interface NodeLocalVolumeTarget {
  readonly node: string;
  /**
   * Only the PVs bound to these claims (an eviction: the claims the evicted pod mounts). Omitted: every PV
   * pinned to the node (a cordon).
   */
  readonly claims?: readonly { readonly namespace: string; readonly name: string }[];
  /** Build at most this many findings (same as CapOptions.limit, for callers of the plain check). */
  readonly limit?: number;
}

function describeSource(pv: PersistentVolumeRecord): string {
  if (pv.source === 'local' || pv.source === 'hostPath') return `${pv.source} PV`;
  return pv.driver === '' ? 'PV' : `${pv.driver} PV`;
}

/** The pods that mount the PV's claim and have not finished. */
function podsUsing(snapshot: ClusterSnapshot, pv: PersistentVolumeRecord): PodRecord[] {
  return snapshot
    .podsUsingClaim(pv.claimNamespace, pv.claimName)
    .filter((pod) => !FINISHED_POD_PHASES.has(pod.phase));
}

/** Whether the PV is bound, node-local and pinned to `node`: its data goes if the node does. */
export function isNodeLocalVolumeRisk(
  pv: PersistentVolumeRecord,
  node: string,
  nodeLocalDrivers: ReadonlySet<string> = DEFAULT_NODE_LOCAL_DRIVERS,
): boolean {
  return pv.pinnedNode === node && isBoundPersistentVolume(pv) && isNodeLocalPersistentVolume(pv, nodeLocalDrivers);
}

/** `in-use` or `unused`, then the PV's source (`local`, `hostPath`, `csi`, `other`). */
function nodeLocalVolumeTags(pv: PersistentVolumeRecord, pods: readonly PodRecord[]): string[] {
  return [pods.length === 0 ? 'unused' : 'in-use', pv.source];
}

function buildFinding(pv: PersistentVolumeRecord, pods: readonly PodRecord[], tags: readonly string[]): Finding {
  const claim = `${pv.claimNamespace}/${pv.claimName}`;
  const use =
    pods.length === 0 ? 'not mounted by any pod' : `mounted by ${pods.length} pod${pods.length === 1 ? '' : 's'}`;
  const related: AffectedObject[] = [claimObject({ namespace: pv.claimNamespace, name: pv.claimName })];
  for (const pod of pods) related.push(podObject(pod));
  return {
    check: 'node-local-volume',
    severity: 'critical',
    object: { kind: 'PersistentVolume', name: pv.name, node: pv.pinnedNode },
    reason: `${describeSource(pv)} keeps the data of claim ${claim} on node ${pv.pinnedNode} only, ${use}`,
    tags,
    related,
  };
}

/** The finding for a bound node-local PV pinned to `node`, else undefined. */
export function nodeLocalVolumeFinding(
  snapshot: ClusterSnapshot,
  pv: PersistentVolumeRecord,
  node: string,
  nodeLocalDrivers: ReadonlySet<string> = DEFAULT_NODE_LOCAL_DRIVERS,
): Finding | undefined {
  if (!isNodeLocalVolumeRisk(pv, node, nodeLocalDrivers)) return undefined;
  const pods = podsUsing(snapshot, pv);
  return buildFinding(pv, pods, nodeLocalVolumeTags(pv, pods));
}

export function collectNodeLocalVolume(
  snapshot: ClusterSnapshot,
  target: NodeLocalVolumeTarget,
  cap: CapOptions = NO_CAP,
  nodeLocalDrivers: ReadonlySet<string> = DEFAULT_NODE_LOCAL_DRIVERS,
): CappedFindings {
  const collector = new FindingCollector(cap, target.limit);
  const consider = (pv: PersistentVolumeRecord): void => {
    if (!isNodeLocalVolumeRisk(pv, target.node, nodeLocalDrivers) || collector.countIfFull()) return;
    const pods = podsUsing(snapshot, pv);
    const tags = nodeLocalVolumeTags(pv, pods);
    if (collector.admit(tags)) collector.add(buildFinding(pv, pods, tags));
  };
  if (target.claims === undefined) {
    for (const pv of snapshot.persistentVolumesPinnedTo(target.node)) consider(pv);
    return collector.result();
  }
  const seen = new Set<string>();
  for (const claimRef of target.claims) {
    const claim = snapshot.persistentVolumeClaim(claimRef.namespace, claimRef.name);
    if (claim === undefined || claim.volumeName === '' || seen.has(claim.volumeName)) continue;
    seen.add(claim.volumeName);
    const pv = snapshot.persistentVolume(claim.volumeName);
    // The PV must point back at this claim: a claim naming a PV bound elsewhere does not own its data.
    if (pv !== undefined && pv.claimNamespace === claim.namespace && pv.claimName === claim.name) consider(pv);
  }
  return collector.result();
}

/** A node-local-volume check that treats the given drivers as node-local (NODE_LOCAL_DRIVERS by default). */
export function createNodeLocalVolumeCheck(
  nodeLocalDrivers: Iterable<string> = NODE_LOCAL_DRIVERS,
): Check<NodeLocalVolumeTarget> {
  const drivers: ReadonlySet<string> = new Set(nodeLocalDrivers);
  return (snapshot, target) => collectNodeLocalVolume(snapshot, target, NO_CAP, drivers).findings;
}

export const nodeLocalVolumeCheck: Check<NodeLocalVolumeTarget> = createNodeLocalVolumeCheck();

// node-local-volume: data that lives on one node's own disks (seeds 003 and 004).
// - Bound PersistentVolumes pinned to the node (their affinity can only ever match it, node-affinity.ts) whose
//   source or driver keeps the data there (`local`, `hostPath`, a node-local driver). Draining, wiping or
//   replacing that node loses the data, whether or not a pod mounts the claim right now, so every one is
//   reported; the `in-use` / `unused` tag lets a validator tell the two apart.
// - Bound node-local PVs no affinity pins (tag `unpinned`): on the node of the running pod writing them, and on the
//   cluster's only node whether or not a pod mounts them (no other node can hold their data).
// - Pods writing to an inline hostPath that their controller would recreate on another node (tag
//   `inline-hostPath`). When the node itself is removed (deleted or replaced, its disks with it), also the pods that
//   would have come back to that data: bare pods and pods pinned to the node (tag `node-removed` too).
// - StatefulSet pods keeping data in an emptyDir, which any eviction empties (tag `emptyDir`; a warning unless
//   `nodeLocal.statefulSetEmptyDir` is `enforce`).

import {
  type NodeSelector,
  pinnedByIdentityOf,
  pinnedNodeOf,
  pinnedPodNodeOf,
  podMatchesNoNodeEver,
  selectorMatches,
} from '../cluster/node-affinity.ts';
import type { NodeRecord, PersistentVolumeRecord, PodRecord } from '../cluster/records.ts';
import { antiAffinityRefuses, antiAffinityTopologies, hostPortTaken } from '../cluster/pod-affinity.ts';
import { podLandsOn, toleratesEveryTaint } from '../cluster/taints.ts';
import type { ClusterSnapshot } from '../cluster/snapshot.ts';
import { claimObject, isPodScratchClaim, podObject } from './affected.ts';
import { type CapOptions, type CappedFindings, FindingCollector, NO_CAP, type WaiverOccurrence } from './collect.ts';
import { LONGHORN_CSI_DRIVER } from './last-replica-on-node.ts';
import type { AffectedObject, Check, Finding } from './types.ts';
import { plural } from '../text.ts';

/**
 * Provisioners and CSI drivers whose volumes live on the disks of the node they are pinned to (the default of
 * `nodeLocal.csiDrivers`). A PV pinned to a node by a network storage driver is not node-local (zonal block
 * storage pins by zone, not by node; Longhorn keeps replicas on several nodes and has its own checks).
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
  'metal-stack.io/csi-lvm', // metal-stack csi-lvm, its predecessor
  'hostpath.csi.k8s.io', // Kubernetes CSI hostpath driver
  'kubevirt.io.hostpath-provisioner', // KubeVirt hostpath provisioner, CSI (OpenShift Virtualization)
  'kubevirt.io/hostpath-provisioner', // KubeVirt hostpath provisioner, legacy
  'local.csi.aliyun.com', // Alibaba open-local
  'directpv-min-io', // MinIO DirectPV: drives of one node (topology key directpv.min.io/node)
  'lvm.driver.harvesterhci.io', // Harvester's LVM local storage (csi-driver-lvm, topology key topology.lvm.csi/node)
  'localplugin.csi.alibabacloud.com', // Alibaba Cloud ACK local volumes: LVM, QuotaPath, device
  'carina.storage.io', // Carina local LVM / raw disks (topology key topology.carina.storage.io/node)
  'pmem-csi.intel.com', // Intel PMEM-CSI: persistent memory of one node (topology key pmem-csi.intel.com/node)
  'lvm.hwameistor.io', // HwameiStor LVM volumes (topology key topology.lvm.hwameistor.io/node)
  'disk.hwameistor.io', // HwameiStor raw disk volumes (topology key topology.disk.hwameistor.io/node)
]);

/**
 * Host paths that hold the node's own files, not an application's data (the default of
 * `nodeLocal.ignoredHostPathPrefixes`): logs, kernel and device interfaces, runtime sockets, configuration, the
 * kubelet's and container runtimes' state. A prefix covers the path itself and everything under it.
 */
export const SYSTEM_HOST_PATH_PREFIXES: readonly string[] = Object.freeze([
  '/var/log',
  '/proc',
  '/sys',
  '/dev',
  '/run',
  '/var/run',
  '/etc',
  '/var/lib/kubelet',
  '/var/lib/containerd',
  '/var/lib/docker',
  '/var/lib/containers', // CRI-O and podman storage
  '/var/lib/cni',
  '/opt/cni',
  '/lib/modules',
  '/usr',
  '/boot',
]);

/** How a StatefulSet pod keeping data in an emptyDir is reported (issue 20.6): a warning by default. */
export type EmptyDirMode = 'enforce' | 'warn' | 'off';

/** What counts as node-local data (from `nodeLocal.*` in the configuration). */
export interface NodeLocalOptions {
  /** Provisioners and CSI drivers whose PVs keep their data on the node. */
  readonly drivers: ReadonlySet<string>;
  /** Inline hostPath volumes under these prefixes are the node's files, not data. */
  readonly ignoredHostPathPrefixes: readonly string[];
  readonly statefulSetEmptyDir: EmptyDirMode;
}

export function nodeLocalOptions(
  drivers: Iterable<string> = NODE_LOCAL_DRIVERS,
  ignoredHostPathPrefixes: readonly string[] = SYSTEM_HOST_PATH_PREFIXES,
  statefulSetEmptyDir: EmptyDirMode = 'warn',
): NodeLocalOptions {
  return {
    drivers: new Set(drivers),
    ignoredHostPathPrefixes: ignoredHostPathPrefixes.map(normalisePrefix),
    statefulSetEmptyDir,
  };
}

function normalisePrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

export const DEFAULT_NODE_LOCAL_OPTIONS: NodeLocalOptions = nodeLocalOptions();

const optionsByConfig = new WeakMap<object, NodeLocalOptions>();

/** The options of a configuration's `nodeLocal` section, built once per configuration object. */
export function nodeLocalOptionsOf(config: {
  readonly nodeLocal: {
    readonly csiDrivers: readonly string[];
    readonly ignoredHostPathPrefixes: readonly string[];
    readonly statefulSetEmptyDir: EmptyDirMode;
  };
}): NodeLocalOptions {
  let options = optionsByConfig.get(config);
  if (options === undefined) {
    const section = config.nodeLocal;
    options = nodeLocalOptions(section.csiDrivers, section.ignoredHostPathPrefixes, section.statefulSetEmptyDir);
    optionsByConfig.set(config, options);
  }
  return options;
}

const DEFAULT_NODE_LOCAL_DRIVERS: ReadonlySet<string> = DEFAULT_NODE_LOCAL_OPTIONS.drivers;

/** Pod phases whose containers no longer run: such a pod does not use its claims. */
const FINISHED_POD_PHASES: ReadonlySet<string> = new Set(['Succeeded', 'Failed']);

/** The pod runs no container any more (Succeeded or Failed): it uses none of its volumes. */
export function isFinishedPod(pod: Pick<PodRecord, 'phase'>): boolean {
  return FINISHED_POD_PHASES.has(pod.phase);
}

/**
 * Removing the pod moves nothing off its node: a running DaemonSet pod (its controller recreates it on the same
 * node, which its node affinity names) or a static pod's mirror (the kubelet recreates it). kubectl drain (and
 * Cluster API's drain) never evicts either, so their removal is no step of emptying the node.
 */
export function comesBackToItsNode(pod: Pick<PodRecord, 'controllerKind' | 'phase'>): boolean {
  if (pod.controllerKind === 'Node') return true;
  return pod.controllerKind === 'DaemonSet' && !isFinishedPod(pod);
}

export function isBoundPersistentVolume(pv: PersistentVolumeRecord): boolean {
  return pv.phase === 'Bound' && pv.claimName !== '';
}

/**
 * A PV whose claim is gone and whose data is kept on purpose: `Released` under reclaim policy `Retain`. The PV
 * controller neither deletes nor re-binds it (its claimRef keeps the old claim's uid), the provisioners leave its
 * directory, device or LV alone, and only an admin re-binding it by hand reads it again. Under `Delete` the PV
 * controller or the provisioner destroys it anyway.
 */
export function isRetainedReleasedVolume(pv: PersistentVolumeRecord): boolean {
  return pv.phase === 'Released' && pv.reclaimPolicy === 'Retain' && pv.claimName !== '';
}

/** Keeping its data on the node it is on: `local`, `hostPath`, or a node-local driver. */
function isNodeLocalKind(pv: Pick<PersistentVolumeRecord, 'source' | 'driver'>, nodeLocalDrivers: ReadonlySet<string>): boolean {
  return pv.source === 'local' || pv.source === 'hostPath' || nodeLocalDrivers.has(pv.driver);
}

/**
 * The model holds one Node, the one named: the data of an unpinned node-local PV can be on no other (a pod wrote it
 * there). Not a pin: a node joining makes its place unknown again. O(1).
 */
function isOnlyNode(snapshot: ClusterSnapshot, node: string): boolean {
  return snapshot.count('node') === 1 && snapshot.node(node) !== undefined;
}

/** Pinned to one node, and keeping its data on that node: `local`, `hostPath`, or a node-local driver. */
export function isNodeLocalPersistentVolume(
  pv: PersistentVolumeRecord,
  nodeLocalDrivers: ReadonlySet<string> = DEFAULT_NODE_LOCAL_DRIVERS,
): boolean {
  return pv.pinnedNode !== '' && isNodeLocalKind(pv, nodeLocalDrivers);
}

export interface NodeLocalVolumeTarget {
  readonly node: string;
  /**
   * Only the PVs bound to these claims (an eviction: the claims the evicted pod mounts). Omitted: every PV
   * pinned to the node (a cordon).
   */
  readonly claims?: readonly { readonly namespace: string; readonly name: string }[];
  /**
   * The evicted pod, whose inline data (writable hostPath, StatefulSet emptyDir) is judged too. With `claims`
   * omitted (a cordon), every pod on the node is.
   */
  readonly pod?: PodRecord;
  /**
   * The node is removed for good, its disks with it (a Node or Machine DELETE, a scale-down, an autoscaler's drain
   * taint), not only emptied for a while (cordon, drain, reboot): nothing comes back to data kept on it.
   */
  readonly removed?: boolean;
  /**
   * The node stays schedulable and is not leaving (an eviction or pod DELETE that is no step of a drain): the evicted
   * pod's controller recreates it at once, and the scheduler places it back on its node when no other node would take
   * it now, whatever its selector says (recreatedElsewhere). Omitted: the node is being emptied (cordon, drain, removal).
   */
  readonly staysSchedulable?: boolean;
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

/** Whether the PV's claim is a pod's generic ephemeral volume (isPodScratchClaim). */
function isScratchVolume(snapshot: ClusterSnapshot, pv: PersistentVolumeRecord): boolean {
  return snapshot.hasPodScratchClaims() && isPodScratchClaim(snapshot.persistentVolumeClaim(pv.claimNamespace, pv.claimName));
}

/**
 * Whether the PV's claim is being deleted with nothing to keep of it where the node goes: pvc-protection holds the
 * claim only while a pod uses it, so the data goes with the claim under reclaim Delete or Recycle whatever this
 * answer is; under Retain it stays as a Released PV, lost only with the node's disks (`removed`).
 */
function claimGoing(snapshot: ClusterSnapshot, pv: PersistentVolumeRecord, removed: boolean): boolean {
  if (removed && pv.reclaimPolicy === 'Retain') return false;
  return snapshot.persistentVolumeClaim(pv.claimNamespace, pv.claimName)?.deleting === true;
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

/**
 * A retained Released node-local PV pinned to a node removed for good: the data an admin kept after its claim went
 * (isRetainedReleasedVolume) goes with the node's disks, with the tags the collector admitted (`unused`, the source, `released`).
 */
function releasedFinding(pv: PersistentVolumeRecord, node: string, tags: readonly string[]): Finding {
  return {
    check: 'node-local-volume',
    severity: 'critical',
    object: { kind: 'PersistentVolume', name: pv.name, node },
    reason: `${describeSource(pv)} keeps the data of its deleted claim on node ${node} only (Released, reclaim policy Retain)`,
    tags,
    // The claim is gone but its namespace still owns the data: a request from another namespace sees it withheld.
    related: [claimObject({ namespace: pv.claimNamespace, name: pv.claimName })],
  };
}

function buildFinding(
  pv: PersistentVolumeRecord,
  pods: readonly PodRecord[],
  tags: readonly string[],
  node: string = pv.pinnedNode,
  // An unpinned PV (tag `unpinned`): the data is where the pod writing it runs.
  where: string = pv.pinnedNode === node ? `on node ${node} only` : `on node ${node}, where its pod runs`,
): Finding {
  const claim = `${pv.claimNamespace}/${pv.claimName}`;
  const use =
    pods.length === 0 ? 'not mounted by any pod' : `mounted by ${plural(pods.length, 'pod', 'pods')}`;
  const related: AffectedObject[] = [claimObject({ namespace: pv.claimNamespace, name: pv.claimName })];
  for (const pod of pods) related.push(podObject(pod));
  return {
    check: 'node-local-volume',
    severity: 'critical',
    object: { kind: 'PersistentVolume', name: pv.name, node },
    reason: `${describeSource(pv)} keeps the data of claim ${claim} ${where}, ${use}`,
    tags,
    related,
  };
}

/**
 * A bound node-local PV that no node affinity pins (a hostPath PV without affinity, as minikube's and MicroK8s'
 * provisioners make them): its data is on the node of the pod that writes it.
 */
export function isUnpinnedNodeLocalVolume(
  pv: PersistentVolumeRecord,
  nodeLocalDrivers: ReadonlySet<string> = DEFAULT_NODE_LOCAL_DRIVERS,
): boolean {
  if (pv.pinnedNode !== '' || !isBoundPersistentVolume(pv) || isSharedFilesystemVolume(pv)) return false;
  return isNodeLocalKind(pv, nodeLocalDrivers);
}

/** The provisioner whose PVs without any node affinity live on a filesystem every node mounts. */
export const SHARED_FILESYSTEM_PROVISIONER = 'rancher.io/local-path';

/**
 * A PV of Rancher's local-path provisioner with no node affinity at all: its `sharedFileSystemPath` mode (an NFS or
 * other shared mount at the same path on every node, ReadWriteMany allowed). In its per-node mode the provisioner
 * always pins the PV to its node by `kubernetes.io/hostname`, so a missing affinity means the data is reachable from
 * every node: nothing stays behind when its pod moves.
 */
export function isSharedFilesystemVolume(pv: Pick<PersistentVolumeRecord, 'driver' | 'nodeAffinity'>): boolean {
  return pv.driver === SHARED_FILESYSTEM_PROVISIONER && pv.nodeAffinity.length === 0;
}

/** Whether any PV no node pins and naming a claim is of a node-local kind (see isUnpinnedNodeLocalVolume). */
function hasUnpinnedNodeLocalKind(snapshot: ClusterSnapshot, nodeLocalDrivers: ReadonlySet<string>): boolean {
  for (const kind of snapshot.unpinnedClaimedPersistentVolumeSources()) {
    if (isNodeLocalKind(kind, nodeLocalDrivers)) return true;
  }
  return false;
}

/** The PV bound to a pod's claim, when it points back at that claim. */
function boundVolumeOfClaim(snapshot: ClusterSnapshot, namespace: string, claimName: string): PersistentVolumeRecord | undefined {
  const claim = snapshot.persistentVolumeClaim(namespace, claimName);
  if (claim === undefined || claim.volumeName === '') return undefined;
  const pv = snapshot.persistentVolume(claim.volumeName);
  return pv !== undefined && pv.claimNamespace === claim.namespace && pv.claimName === claim.name ? pv : undefined;
}

/** The finding for a bound node-local PV pinned to `node`, else undefined. */
export function nodeLocalVolumeFinding(
  snapshot: ClusterSnapshot,
  pv: PersistentVolumeRecord,
  node: string,
  nodeLocalDrivers: ReadonlySet<string> = DEFAULT_NODE_LOCAL_DRIVERS,
): Finding | undefined {
  if (!isNodeLocalVolumeRisk(pv, node, nodeLocalDrivers) || isScratchVolume(snapshot, pv) || claimGoing(snapshot, pv, false)) return undefined;
  const pods = podsUsing(snapshot, pv);
  return buildFinding(pv, pods, nodeLocalVolumeTags(pv, pods));
}

/** How many bound node-local PVs are pinned to `node` (isNodeLocalVolumeRisk), from the model's counts by kind. */
export function countNodeLocalPinned(snapshot: ClusterSnapshot, node: string, nodeLocalDrivers: ReadonlySet<string>): number {
  let count = 0;
  for (const [kind, pvs] of snapshot.boundPersistentVolumeKindsPinnedTo(node)) {
    const space = kind.indexOf(' ');
    const source = kind.slice(0, space);
    if (source === 'local' || source === 'hostPath' || nodeLocalDrivers.has(kind.slice(space + 1))) count += pvs;
  }
  return count;
}

/**
 * The CSI drivers not listed as node-local (nodeLocal.csiDrivers) whose bound PVs are pinned to `node` (by a node's
 * own label or name: a zone pins none), with how many: such a PV is judged as network storage, as issue 12.4 asks
 * of a driver the list does not name. Told to the operator, who knows whether the driver keeps data on the node.
 * Longhorn's own driver is judged by its own checks. O(kinds of PV pinned to the node).
 */
export function unlistedPinnedDrivers(snapshot: ClusterSnapshot, node: string, nodeLocalDrivers: ReadonlySet<string>): Map<string, number> {
  const unlisted = new Map<string, number>();
  for (const [kind, pvs] of snapshot.boundPersistentVolumeKindsPinnedTo(node)) {
    const space = kind.indexOf(' ');
    const driver = kind.slice(space + 1);
    if (kind.slice(0, space) !== 'csi' || driver === '' || driver === LONGHORN_CSI_DRIVER || nodeLocalDrivers.has(driver)) continue;
    unlisted.set(driver, (unlisted.get(driver) ?? 0) + pvs);
  }
  return unlisted;
}

/** Whether `path` is one of the prefixes or under one (whole segments: /var/logs is not under /var/log). */
export function isUnderPrefix(path: string, prefixes: readonly string[]): boolean {
  return prefixes.some((prefix) => prefix === '/' || path === prefix || path.startsWith(`${prefix}/`));
}

/** The writable host paths of a pod that hold data (system prefixes left out). */
export function dataHostPaths(pod: PodRecord, options: NodeLocalOptions = DEFAULT_NODE_LOCAL_OPTIONS): string[] {
  const paths: string[] = [];
  for (const mount of pod.hostPaths) {
    if (!mount.writable || isUnderPrefix(mount.path, options.ignoredHostPathPrefixes)) continue;
    if (!paths.includes(mount.path)) paths.push(mount.path);
  }
  return paths;
}

/**
 * Whether the pod's controller would recreate it away from `node`: it has one (a bare pod is not recreated at
 * all), it is not a DaemonSet or a static pod, its nodeSelector / required node affinity does not pin it to `node`,
 * and no claim it keeps is bound to a PV pinned to `node` (the scheduler places a pod only where all its bound PVs'
 * node affinity allows). A generic ephemeral claim pins nothing: the recreated pod gets a new one.
 * A node being emptied (cordon, drain, removal: `staysSchedulable` false) pins only by its identity (pinnedPodNodeOf,
 * and pinnedByIdentityOf for the PV): a shared label one node carries today does not, the drained pod goes Pending and
 * an autoscaler adds a node carrying it. A pod whose selector names live nodes by identity none of which matches it
 * (its node lost a label the selector also asks) is recreated nowhere: it stays Pending (podMatchesNoNodeEver).
 * A node that stays schedulable (an eviction or pod DELETE that is no drain step) takes the recreated pod back at once
 * when no other node would take it now (anotherNodeTakes): the node itself must still match the pod's selector and
 * take it (Ready, every NoSchedule / NoExecute taint tolerated: podLandsOn), and a matching node that is cordoned, not
 * Ready or tainted against the pod is no other place for it. A node that stays schedulable but refuses the pod (a
 * `dedicated=infra:NoSchedule` taint it does not tolerate, a label its selector asks that the node lost) gets the rule
 * of a node being emptied: the pod goes Pending, and a node joining may take it.
 * A node where another replica keeps the replacement off by the pod's required anti-affinity or a host port
 * (replicaRefusals) takes it neither: another node (a Deployment spreading its replicas one per node comes back when every other node runs
 * one), nor its own (two replicas there: the replacement goes Pending).
 * A node being emptied but not removed (`removed` false) takes back a pod tolerating every taint (an empty-key Exists
 * toleration) as a schedulable one does: the scheduler's NodeUnschedulable and TaintToleration filters let it on
 * whatever cordon or taint the drain puts there, so it never goes Pending. A pod tolerating only some taints does not
 * count: a drain made of a NoSchedule taint (not yet on the node's record at the cordon) may keep it off.
 */
export function recreatedElsewhere(snapshot: ClusterSnapshot, pod: PodRecord, node: string, staysSchedulable = false, removed = false): boolean {
  if (pod.controllerKind === '' || pod.controllerKind === 'DaemonSet' || pod.controllerKind === 'Node') return false;
  const here = staysSchedulable || (!removed && toleratesEveryTaint(pod)) ? snapshot.node(node) : undefined;
  const replicas = here === undefined ? NO_REFUSALS : replicaRefusals(snapshot, pod);
  const backHere = here !== undefined && selectorMatches(pod.nodeSelector, here) && podLandsOn(pod, here) && !replicas.refuses(here);
  if (backHere) {
    // The one live node its placement matches, found through its anchors (cheap); else the scan of every node, which
    // stops at the first other node that takes it. None: it comes straight back here.
    const lands = (candidate: NodeRecord): boolean => candidate.name === node || takesElsewhere(pod, candidate, replicas);
    if (pinnedNodeOf(pod.nodeSelector, snapshot, '', lands) === node || !anotherNodeTakes(snapshot, pod, node, replicas)) return false;
  } else if (pinnedPodNodeOf(pod.nodeSelector, snapshot) === node || podMatchesNoNodeEver(pod.nodeSelector, snapshot)) {
    return false;
  }
  for (const claimName of pod.claimNames) {
    const pv = boundVolumeOfClaim(snapshot, pod.namespace, claimName);
    if (pv === undefined || pv.pinnedNode !== node || isScratchVolume(snapshot, pv)) continue;
    if (backHere || pinnedByIdentityOf(pv.nodeAffinity, snapshot, pv.namedNode) === node) return false;
  }
  return true;
}

/**
 * Some node other than `node` would take the pod now, as the scheduler filters: it matches the pod's nodeSelector and
 * required node affinity, the node affinity of every PV bound to its claims (a zonal network volume keeps it in its
 * zone; a generic ephemeral claim is made anew), and its taints and state let the pod on (podLandsOn, elsewhere: a
 * node with more taints than its record keeps, or one an autoscaler is removing whose drain taint the pod tolerates,
 * counts). O(nodes), stopping at the first.
 */
function anotherNodeTakes(snapshot: ClusterSnapshot, pod: PodRecord, node: string, replicas: ReplicaRefusals): boolean {
  const volumeAffinities: NodeSelector[] = [];
  for (const claimName of pod.claimNames) {
    const pv = boundVolumeOfClaim(snapshot, pod.namespace, claimName);
    if (pv !== undefined && pv.nodeAffinity.length > 0 && !isScratchVolume(snapshot, pv)) volumeAffinities.push(pv.nodeAffinity);
  }
  for (const candidate of snapshot.nodes()) {
    if (candidate.name === node || !selectorMatches(pod.nodeSelector, candidate)) continue;
    if (volumeAffinities.every((affinity) => selectorMatches(affinity, candidate)) && takesElsewhere(pod, candidate, replicas)) return true;
  }
  return false;
}

/**
 * Whether another node's state lets the pod's replacement on (podLandsOn, elsewhere) and no replica keeps it off there
 * (replicas.refuses: a Deployment spreading its replicas one per node or zone, or binding a host port).
 */
function takesElsewhere(pod: PodRecord, candidate: NodeRecord, replicas: ReplicaRefusals): boolean {
  return podLandsOn(pod, candidate, 'elsewhere') && !replicas.refuses(candidate);
}

/** Which nodes other replicas keep the pod's replacement off (replicaRefusals). */
interface ReplicaRefusals {
  refuses(candidate: NodeRecord): boolean;
}

const NO_REFUSALS: ReplicaRefusals = Object.freeze({ refuses: () => false });

/**
 * The nodes where other pods (not `pod` itself, which is gone when its replacement is placed) keep its replacement off:
 * by the pod's required anti-affinity (antiAffinityRefuses: a topology value, node or zone, holding a replica), or by
 * holding a host port it binds (hostPortTaken: the scheduler's NodePorts filter). Its own node too: another replica
 * there, or in its zone, sends the replacement Pending. The topology values are found at the first question, over
 * every node. On evidence only (pod-affinity.ts).
 */
function replicaRefusals(snapshot: ClusterSnapshot, pod: PodRecord): ReplicaRefusals {
  if (pod.antiAffinity === undefined && pod.hostPorts === undefined) return NO_REFUSALS;
  const others = (node: NodeRecord): readonly PodRecord[] =>
    snapshot.podsWithInlineDataOnNode(node.name).filter((other) => other.namespace !== pod.namespace || other.name !== pod.name);
  let topologies: ReadonlySet<string> | undefined;
  return {
    refuses(candidate) {
      if (pod.antiAffinity !== undefined) {
        topologies ??= antiAffinityTopologies(pod, snapshot.nodes(), others);
        if (antiAffinityRefuses(pod, candidate, topologies)) return true;
      }
      return pod.hostPorts !== undefined && hostPortTaken(pod, candidate, others(candidate));
    },
  };
}

function hostPathFinding(pod: PodRecord, node: string, paths: readonly string[]): Finding {
  const where = paths.length === 1 ? `hostPath ${paths[0]}` : `hostPaths ${paths.join(', ')}`;
  return {
    check: 'node-local-volume',
    severity: 'critical',
    object: { kind: 'Pod', namespace: pod.namespace, name: pod.name, node },
    reason: `writes to ${where}; its ${pod.controllerKind} would recreate it on another node without that data`,
    tags: ['in-use', 'inline-hostPath'],
  };
}

/**
 * Whether the pod's hostPath data goes with its node when the node is removed, though no controller moves the pod
 * away from it: a bare pod, or one pinned to the node (recreatedElsewhere is false for both). A DaemonSet pod or a
 * static pod keeps the node's own state (one pod per node, recreated for no other node): it ends with the node.
 */
function lostWithRemovedNode(pod: PodRecord): boolean {
  return pod.controllerKind !== 'DaemonSet' && pod.controllerKind !== 'Node';
}

function removedNodeHostPathFinding(pod: PodRecord, node: string, paths: readonly string[]): Finding {
  const where = paths.length === 1 ? `hostPath ${paths[0]}` : `hostPaths ${paths.join(', ')}`;
  const owner = pod.controllerKind === '' ? 'a bare pod' : `its ${pod.controllerKind} keeps it on ${node}`;
  return {
    check: 'node-local-volume',
    severity: 'critical',
    object: { kind: 'Pod', namespace: pod.namespace, name: pod.name, node },
    reason: `writes to ${where} (${owner}); node ${node} is removed and that data goes with its disks`,
    tags: ['in-use', 'inline-hostPath', 'node-removed'],
  };
}

function emptyDirFinding(pod: PodRecord, node: string, mode: EmptyDirMode): Finding {
  const volumes = pod.emptyDirs.join(', ');
  return {
    check: 'node-local-volume',
    severity: mode === 'enforce' ? 'critical' : 'warning',
    object: { kind: 'Pod', namespace: pod.namespace, name: pod.name, node },
    reason: `StatefulSet pod keeps data in emptyDir ${volumes}, emptied when the pod is evicted`,
    tags: ['in-use', 'emptyDir'],
  };
}

/** The findings for one pod's inline data on `node`. */
function inlineDataFindings(
  snapshot: ClusterSnapshot,
  pod: PodRecord,
  node: string,
  options: NodeLocalOptions,
  removed: boolean,
  consider: (tags: readonly string[], build: () => Finding) => void,
  staysSchedulable = false,
): void {
  if (pod.nodeName !== node || FINISHED_POD_PHASES.has(pod.phase)) return;
  // A pod already being deleted leaves whatever this operation is answered (its own eviction passes, kubectl drain
  // only waits for it): its controller's replacement is judged as its own pod, its emptyDir goes with it anyway, and
  // what it wrote to a hostPath stays on the node, lost only when the node goes with its disks.
  if (pod.hostPaths.length > 0) {
    const paths = dataHostPaths(pod, options);
    if (paths.length > 0) {
      if (recreatedElsewhere(snapshot, pod, node, staysSchedulable && !removed, removed)) {
        if (!pod.deleting || removed) consider(['in-use', 'inline-hostPath'], () => hostPathFinding(pod, node, paths));
      }
      // A pod that would come back to its data (or that nothing recreates) finds none: the node is gone.
      else if (removed && lostWithRemovedNode(pod)) {
        consider(['in-use', 'inline-hostPath', 'node-removed'], () => removedNodeHostPathFinding(pod, node, paths));
      }
    }
  }
  // emptyDir goes with the pod, wherever the pod comes back: no pinning spares it.
  if (pod.emptyDirs.length > 0 && pod.controllerKind === 'StatefulSet' && !pod.deleting && options.statefulSetEmptyDir !== 'off') {
    consider(['in-use', 'emptyDir'], () => emptyDirFinding(pod, node, options.statefulSetEmptyDir));
  }
}

/** Whether a pod keeps inline data the check looks at (for validators deciding whether to run it at all). */
export function hasInlineData(pod: PodRecord): boolean {
  return pod.hostPaths.length > 0 || pod.emptyDirs.length > 0;
}

export function collectNodeLocalVolume(
  snapshot: ClusterSnapshot,
  target: NodeLocalVolumeTarget,
  cap: CapOptions = NO_CAP,
  options: NodeLocalOptions = DEFAULT_NODE_LOCAL_OPTIONS,
): CappedFindings {
  const nodeLocalDrivers = options.drivers;
  const removed = target.removed === true;
  const collector = new FindingCollector(cap, target.limit);
  const consider = (pv: PersistentVolumeRecord): void => {
    if (removed && isRetainedReleasedVolume(pv) && pv.pinnedNode === target.node && isNodeLocalPersistentVolume(pv, nodeLocalDrivers)) {
      if (collector.countIfFull()) return;
      const tags = ['unused', pv.source, 'released'];
      if (collector.admit(tags)) collector.add(releasedFinding(pv, target.node, tags));
      return;
    }
    if (!isNodeLocalVolumeRisk(pv, target.node, nodeLocalDrivers) || isScratchVolume(snapshot, pv) || claimGoing(snapshot, pv, removed)) return;
    if (collector.countIfFull()) return;
    const pods = podsUsing(snapshot, pv);
    const tags = nodeLocalVolumeTags(pv, pods);
    if (collector.admit(tags)) collector.add(buildFinding(pv, pods, tags));
  };
  /** A PV no affinity pins, written by a running pod on the node. */
  const considerUnpinned = (pv: PersistentVolumeRecord): void => {
    if (!isUnpinnedNodeLocalVolume(pv, nodeLocalDrivers) || isScratchVolume(snapshot, pv) || claimGoing(snapshot, pv, removed)) return;
    if (collector.countIfFull()) return;
    const pods = podsUsing(snapshot, pv);
    const tags = [...nodeLocalVolumeTags(pv, pods), 'unpinned'];
    if (collector.admit(tags)) collector.add(buildFinding(pv, pods, tags, target.node));
  };
  const considerInline = (tags: readonly string[], build: () => Finding): void => {
    if (collector.countIfFull()) return;
    if (collector.admit(tags)) collector.add(build());
  };
  if (target.claims === undefined) {
    // Past the listed few, the model's count of bound PVs pinned to the node by kind gives the total (none: no
    // pinned PV to look at).
    // A node removed for good also takes the retained Released PVs pinned to it, which that count leaves out: walk
    // them all (a removal is rare, and its node's PVs are few).
    const counted = removed ? undefined : countNodeLocalPinned(snapshot, target.node, nodeLocalDrivers);
    for (const pv of counted === 0 ? [] : snapshot.persistentVolumesPinnedTo(target.node)) {
      if (collector.completeFrom(counted)) break;
      consider(pv);
    }
    const unpinned = new Set<string>();
    // Only an unpinned node-local PV can be found below: when the cluster has none (network volumes are unpinned,
    // never node-local), no pod's claims need resolving.
    const anyUnpinned = hasUnpinnedNodeLocalKind(snapshot, nodeLocalDrivers);
    // Without any, only the pods with inline data (hostPath, emptyDir) can add a finding.
    const pods = anyUnpinned ? snapshot.podsOnNode(target.node) : snapshot.podsWithInlineDataOnNode(target.node);
    for (const pod of pods) {
      if (hasInlineData(pod)) inlineDataFindings(snapshot, pod, target.node, options, removed, considerInline);
      if (!anyUnpinned || pod.claimNames.length === 0 || FINISHED_POD_PHASES.has(pod.phase)) continue;
      for (const claimName of pod.claimNames) {
        const pv = boundVolumeOfClaim(snapshot, pod.namespace, claimName);
        if (pv === undefined || pv.pinnedNode !== '' || unpinned.has(pv.name)) continue;
        unpinned.add(pv.name);
        considerUnpinned(pv);
      }
    }
    // A node removed for good also takes the unpinned node-local PVs whose affinity names it (an open affinity such as
    // a `matchFields` metadata.name term, which the scheduler ignores for a PV): their data sits on its disks unless a
    // pod writes it on another node. Those its own pods write were found above. A cordon moves none of them.
    if (removed && anyUnpinned) {
      for (const pv of snapshot.unpinnedPersistentVolumesNaming(target.node)) {
        if (unpinned.has(pv.name)) continue;
        unpinned.add(pv.name);
        if (isRetainedReleasedVolume(pv)) {
          if (!isNodeLocalKind(pv, nodeLocalDrivers) || collector.countIfFull()) continue;
          const tags = ['unused', pv.source, 'released'];
          if (collector.admit(tags)) collector.add(releasedFinding(pv, target.node, tags));
          continue;
        }
        if (!isUnpinnedNodeLocalVolume(pv, nodeLocalDrivers) || isScratchVolume(snapshot, pv) || claimGoing(snapshot, pv, removed)) continue;
        const using = podsUsing(snapshot, pv);
        if (using.some((pod) => pod.nodeName !== '' && pod.nodeName !== target.node)) continue;
        if (collector.countIfFull()) continue;
        const tags = [...nodeLocalVolumeTags(pv, using), 'node-removed'];
        if (collector.admit(tags)) collector.add(buildFinding(pv, using, tags, target.node, `on node ${target.node}, which its node affinity names`));
      }
    }
    // On the cluster's only node, the unpinned node-local PVs no running pod mounts here keep their data here all the
    // same (seed 004 on one node: its StatefulSet scaled to 0, its pod Failed), as an unused pinned PV does. Walked only
    // then: the cluster's few such PVs, not every node's.
    if (anyUnpinned && isOnlyNode(snapshot, target.node)) {
      for (const kind of snapshot.unpinnedClaimedPersistentVolumeSources()) {
        if (!isNodeLocalKind(kind, nodeLocalDrivers)) continue;
        for (const pv of snapshot.unpinnedClaimedPersistentVolumes(kind.source, kind.driver)) {
          if (unpinned.has(pv.name)) continue;
          if (!isUnpinnedNodeLocalVolume(pv, nodeLocalDrivers) || isScratchVolume(snapshot, pv) || claimGoing(snapshot, pv, removed)) continue;
          const using = podsUsing(snapshot, pv);
          // A pod still shown running on a node gone writes it there; an affinity naming a node gone puts it there
          // (unpinnedPersistentVolumesNaming: judged at that node's removal).
          if (using.some((pod) => pod.nodeName !== '' && pod.nodeName !== target.node)) continue;
          if (pv.namedNode !== '' && pv.namedNode !== target.node) continue;
          if (collector.countIfFull()) continue;
          const tags = [...nodeLocalVolumeTags(pv, using), 'unpinned'];
          if (collector.admit(tags)) collector.add(buildFinding(pv, using, tags, target.node, `on node ${target.node}, the cluster's only node`));
        }
      }
    }
    return collector.result();
  }
  const seen = new Set<string>();
  for (const claimRef of target.claims) {
    // The PV must point back at this claim: a claim naming a PV bound elsewhere does not own its data.
    const pv = boundVolumeOfClaim(snapshot, claimRef.namespace, claimRef.name);
    if (pv === undefined || seen.has(pv.name)) continue;
    seen.add(pv.name);
    if (pv.pinnedNode !== '') consider(pv);
    // The evicted pod runs on target.node: an unpinned node-local PV it mounts keeps its data there.
    else if (target.pod !== undefined && target.pod.nodeName === target.node && !FINISHED_POD_PHASES.has(target.pod.phase)) considerUnpinned(pv);
  }
  if (target.pod !== undefined && hasInlineData(target.pod)) {
    inlineDataFindings(snapshot, target.pod, target.node, options, removed, considerInline, target.staysSchedulable === true);
  }
  return collector.result();
}

/** A node-local-volume check that treats the given drivers as node-local (NODE_LOCAL_DRIVERS by default). */
export function createNodeLocalVolumeCheck(
  nodeLocalDrivers: Iterable<string> = NODE_LOCAL_DRIVERS,
  options: Partial<Omit<NodeLocalOptions, 'drivers'>> = {},
): Check<NodeLocalVolumeTarget> {
  const resolved: NodeLocalOptions = { ...DEFAULT_NODE_LOCAL_OPTIONS, ...options, drivers: new Set(nodeLocalDrivers) };
  return (snapshot, target) => collectNodeLocalVolume(snapshot, target, NO_CAP, resolved).findings;
}

export const nodeLocalVolumeCheck: Check<NodeLocalVolumeTarget> = createNodeLocalVolumeCheck();

/**
 * node-local-volume over several nodes removed with their disks (a Cluster API rollout replacing its Machines), as
 * at each one's removal: their findings one node after the other, built up to the cap over them all, counted in full.
 */
export function collectNodeLocalVolumeOfRemovedNodes(
  snapshot: ClusterSnapshot,
  nodes: readonly string[],
  cap: CapOptions = NO_CAP,
  options: NodeLocalOptions = DEFAULT_NODE_LOCAL_OPTIONS,
): CappedFindings {
  const findings: Finding[] = [];
  let total = 0;
  const tagTotals: Record<string, number> = {};
  const waived: WaiverOccurrence[] = [];
  for (const node of nodes) {
    const limit = cap.limit === undefined ? undefined : Math.max(0, cap.limit - findings.length);
    const result = collectNodeLocalVolume(snapshot, { node, removed: true }, limit === undefined ? cap : { ...cap, limit }, options);
    findings.push(...result.findings);
    // What an earlier node counted comes first: a later node's waived findings are never before it.
    for (const entry of result.waived ?? []) {
      const index = waived.findIndex((earlier) => earlier.index === entry.index);
      if (index < 0) waived.push({ ...entry, beforeCounted: entry.beforeCounted && total === 0 });
      else waived[index] = { ...waived[index]!, count: waived[index]!.count + entry.count };
    }
    total += result.total;
    for (const [tag, count] of Object.entries(result.tagTotals ?? {})) tagTotals[tag] = (tagTotals[tag] ?? 0) + count;
  }
  return {
    findings,
    total,
    ...(waived.length > 0 ? { waived } : {}),
    ...(Object.keys(tagTotals).length > 0 ? { tagTotals } : {}),
  };
}

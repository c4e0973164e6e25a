// The live cluster model: slim records in memory, indexed for every query a check makes, plus the Longhorn
// volume sets (single-replica, unhealthy...) kept up to date on every write so that a cluster-wide check reads
// a ready answer instead of scanning every volume. Pure data structure: no I/O, no clock, no timers.
//
// Writes (upsert/remove/replaceAll) come from the informers and are synchronous, so a check that runs without
// awaiting sees one consistent state. Arrays returned by queries are never modified afterwards.

import { recordsEqual } from './model-equality.ts';
import { CountIndex, MultiIndex, type IndexKeys, type RecordIndex } from './model-index.ts';
import { anchorKeys, isGroupKey, pinnedNodeOf, NODE_NAME_FIELD, type NodeLookup } from './node-affinity.ts';
import { toleratesEveryTaint } from './taints.ts';
import type {
  HarvesterUpgradeRecord,
  LonghornNodeRecord,
  LonghornReplicaRecord,
  LonghornSettingRecord,
  LonghornVolumeRecord,
  MachineRecord,
  MachineDrainRuleRecord,
  ClusterApiClusterRecord,
  MachineOwnerRecord,
  ModelSink,
  NamespaceRecord,
  NodeRecord,
  PersistentVolumeClaimRecord,
  PersistentVolumeRecord,
  PodRecord,
  RecordByKind,
  ResourceKind,
  StatefulSetRecord,
  VolumeSource,
} from './records.ts';
import { clusterApiLabelValue, isCordoned, MACHINE_CONTROL_PLANE_ROLE_LABEL, isCustomResourceGroup, isPodScratchClaim, ownerGroup, ownerKindKey, RELEASE_LABELS, REPLICA_SOFT_ANTI_AFFINITY, RESOURCE_KINDS, recordKey, splitOwnerType, type ReplicaPlacement } from './records.ts';
import type { ClusterSnapshot, NodeLeaving, ReplicaDataState, ReplicaScheduling, VolumeContext, VolumeCount, VolumeKeys, VolumePredicate } from './snapshot.ts';
import {
  MAX_PENDING_REMOVALS,
  PENDING_REMOVAL_TTL_MS,
  REFUSED_CORDON_TTL_MS,
  PendingRemovals,
  removalKey,
  type AdmittedRemoval,
  type RemovalRecorder,
} from './pending-removals.ts';
import { HELM_RELEASE_NAME_ANNOTATION, HELM_RELEASE_NAMESPACE_ANNOTATION } from '../kube.ts';

/** The labels Helm charts put on what they create, naming the release (newer charts first). */

/**
 * Longhorn objects live in the one namespace the informers watch, and are looked up by name (replicas name
 * their volume, volumes their node), so the model keys them by name alone.
 */
const LONGHORN_KINDS: ReadonlySet<ResourceKind> = new Set<ResourceKind>([
  'longhornVolume',
  'longhornReplica',
  'longhornNode',
  'longhornSetting',
]);

/** How long a core Node may report NotReady/Unknown before its replicas stop counting as copies (default). */
export const DEFAULT_NODE_DOWN_GRACE_MS = 30_000;

export interface ClusterModelOptions {
  /** A Node NotReady/Unknown for longer than this is down [30 s]. */
  readonly nodeDownGraceMs?: number;
  /** The clock the grace is measured with (tests) [Date.now]. */
  readonly now?: () => number;
  /**
   * Volume counts to keep current on every write, like the volume sets (`volumeCount`): per node, a cordon's
   * check then counts what it does not list without walking every replica on the node; per tag list, a check
   * narrowed by a tag override counts what it waives without visiting each volume.
   */
  readonly volumeCounts?: Readonly<Record<string, VolumeCount>>;
  /** How long an admitted removal counts before the informers show it [60 s]. */
  readonly pendingRemovalTtlMs?: number;
  /** How long a refused cordon counts (REFUSED_CORDON_TTL_MS). */
  readonly refusedCordonTtlMs?: number;
  /** How many admitted removals are kept at most [1024]. */
  readonly maxPendingRemovals?: number;
}

/** What volume-guard answered a user's cordon of a node (ClusterModel.refuseCordon, allowDryRunCordon). */
type CordonAnswer = 'refused' | 'allowed';

/** The key of a user's cordon of a node; a dry run's apart, read by dry runs only. */
const cordonKey = (node: string, user: string, dryRun: boolean): string => `${node}\0${user}${dryRun ? '\0dry-run' : ''}`;

/** The record's key of an admitted StatefulSet DELETE: its uid is what names it (removalKey). */
const statefulSetKey = (uid: string): string => removalKey({ kind: 'statefulSet', namespace: '', name: '', uid });

/** A removal volume-guard admitted that the informers do not show yet (pending-removals.ts). */
interface PendingEntry {
  readonly removal: AdmittedRemoval;
  readonly key: string;
  /** A replica: the informer's latest record of it, put back should the entry end unseen. */
  original?: LonghornReplicaRecord;
  /** A Node DELETE: the informer has shown the Node gone; the entry then lasts until it registers again, or its time. */
  gone?: boolean;
}

/**
 * What an admitted removal changed in the model's answers, or a PV the model re-pinned when a node came, went or
 * changed labels (no write of that PV shows it): the risk gauges follow it.
 */
export type PendingChange =
  | { readonly kind: 'longhornReplica'; readonly previous: LonghornReplicaRecord; readonly next: LonghornReplicaRecord }
  | { readonly kind: 'node'; readonly node: string }
  | { readonly kind: 'persistentVolume'; readonly previous: PersistentVolumeRecord; readonly next: PersistentVolumeRecord };

/**
 * Whether a core Node is down at `now`: its Ready condition is False and has been since longer than the grace (a
 * kubelet restarting reports False for a moment), or Unknown: the node lifecycle controller writes Unknown only once
 * the kubelet has missed its heartbeats for the node-monitor grace period, and longhorn-manager takes it as down at
 * once (its node controller ignores only a recent False). A Node with no Ready condition (just registered, or
 * written by a tool) is not judged down by volume-guard; Longhorn's node CR may still say so.
 */
export function isCoreNodeDown(node: NodeRecord | undefined, now: number, graceMs: number): boolean {
  if (node === undefined) return false;
  if (node.ready === 'Unknown') return true;
  return node.ready === 'False' && now - node.readySince >= graceMs;
}

/**
 * Whether a disk a replica names is gone from its Longhorn node: not among the disks it reports (a reformatted or
 * replaced disk has a new UUID: seed 002). A Longhorn node reporting no disk at all (its status not written yet) says
 * nothing about it.
 */
function diskGone(longhornNode: LonghornNodeRecord | undefined, diskID: string): boolean {
  return longhornNode !== undefined && longhornNode.diskUUIDs.length > 0 && !longhornNode.diskUUIDs.includes(diskID);
}

/**
 * Whether Longhorn reports the disk not ready while keeping its UUID (unmounted, or reformatted in place: the same
 * condition): it cannot start the replicas there, which may or may not hold their data (ReplicaDataState `unsure`).
 */
function diskNotReady(longhornNode: LonghornNodeRecord | undefined, diskID: string): boolean {
  return longhornNode?.notReadyDiskUUIDs?.includes(diskID) === true;
}

/** When a NotReady Node becomes down, or undefined when it is not on its way down (or down already: Unknown). */
function downDeadline(node: NodeRecord | undefined, graceMs: number): number | undefined {
  if (node === undefined || node.ready !== 'False') return undefined;
  return node.readySince + graceMs;
}

type Stores = { [K in ResourceKind]: Map<string, RecordByKind[K]> };
type Indexes = { [K in ResourceKind]: readonly RecordIndex<RecordByKind[K]>[] };

const NO_REPLICAS: readonly LonghornReplicaRecord[] = Object.freeze([]);
const NO_VOLUMES: readonly LonghornVolumeRecord[] = Object.freeze([]);

function storeKeyOf(kind: ResourceKind, record: { readonly name: string; readonly namespace?: string }): string {
  return LONGHORN_KINDS.has(kind) ? record.name : recordKey(record);
}

/** `remove` receives recordKey()'s `namespace/name`; Longhorn kinds are stored by name. */
function storeKeyOfRecordKey(kind: ResourceKind, key: string): string {
  return LONGHORN_KINDS.has(kind) ? key.slice(key.lastIndexOf('/') + 1) : key;
}

function releaseKeysOf(claim: PersistentVolumeClaimRecord): readonly string[] {
  const keys: string[] = [];
  for (const label of RELEASE_LABELS) {
    const release = claim.labels[label];
    if (release === undefined || release === '') continue;
    const key = `${claim.namespace}/${release}`;
    if (!keys.includes(key)) keys.push(key);
  }
  return keys;
}

/**
 * The uids a claim's ownerReferences name (usually none or one): whose DELETE makes the garbage collector delete it.
 * A fresh array only when there are several (deduplicated); the record's own strings otherwise.
 */
function ownerKeysOf(claim: PersistentVolumeClaimRecord): IndexKeys {
  const owners = claim.ownerReferences;
  if (owners.length === 0) return NO_KEYS;
  if (owners.length === 1) return owners[0]!.uid;
  const keys: string[] = [];
  for (const owner of owners) if (!keys.includes(owner.uid)) keys.push(owner.uid);
  return keys;
}

/**
 * The `<group>/<Kind>` of a claim's owners (ownerKindKey): whose CRD's DELETE makes the garbage collector delete it.
 * Only groups a CRD may define (isCustomResourceGroup): every StatefulSet's claim and every pod's scratch claim would
 * otherwise fill two huge buckets no CRD DELETE ever reads.
 */
function ownerKindKeysOf(claim: PersistentVolumeClaimRecord): IndexKeys {
  const owners = claim.ownerReferences;
  if (owners.length === 0) return NO_KEYS;
  if (owners.length === 1) {
    const group = ownerGroup(owners[0]!.apiVersion);
    return isCustomResourceGroup(group) ? ownerKindKey(group, owners[0]!.kind) : NO_KEYS;
  }
  const keys: string[] = [];
  for (const owner of owners) {
    const group = ownerGroup(owner.apiVersion);
    if (!isCustomResourceGroup(group)) continue;
    const key = ownerKindKey(group, owner.kind);
    if (!keys.includes(key)) keys.push(key);
  }
  return keys;
}

/** ownerKindKeysOf for a StatefulSet's or Namespace's ownerTypes (`<apiVersion>/<Kind>`). */
function ownerTypeKeysOf(record: { readonly ownerTypes?: readonly string[] }): IndexKeys {
  const types = record.ownerTypes;
  if (types === undefined) return NO_KEYS;
  const keys: string[] = [];
  for (const type of types) {
    const { apiVersion, kind } = splitOwnerType(type);
    const group = ownerGroup(apiVersion);
    if (!isCustomResourceGroup(group)) continue;
    const key = ownerKindKey(group, kind);
    if (!keys.includes(key)) keys.push(key);
  }
  return keys;
}

function claimKeysOf(pod: PodRecord): readonly string[] {
  const keys: string[] = [];
  for (const claimName of pod.claimNames) {
    const key = `${pod.namespace}/${claimName}`;
    if (!keys.includes(key)) keys.push(key);
  }
  return keys;
}

/**
 * A Helm release is identified by its namespace and name; Helm stamps both on what it creates. `namespace/name` of the
 * release an object's `meta.helm.sh/release-name` and `-namespace` annotations name (an object without the namespace
 * annotation belongs to a release of its own namespace), '' when it names none.
 */
function helmReleaseKey(releaseName: string, releaseNamespace: string, objectNamespace: string): string {
  return releaseName === '' ? '' : `${releaseNamespace || objectNamespace}/${releaseName}`;
}

function helmReleaseKeyOf(statefulSet: StatefulSetRecord): string {
  return helmReleaseKey(statefulSet.helmReleaseName, statefulSet.helmReleaseNamespace, statefulSet.namespace);
}

/** A Namespace is cluster-scoped: only the namespace annotation says whose release it is. */
function helmReleaseKeyOfNamespace(namespace: NamespaceRecord): string {
  return namespace.helmReleaseNamespace === undefined ? '' : helmReleaseKey(namespace.helmReleaseName ?? '', namespace.helmReleaseNamespace, '');
}

function helmReleaseKeyOfClaim(claim: PersistentVolumeClaimRecord): string {
  const annotations = claim.annotations;
  return helmReleaseKey(annotations[HELM_RELEASE_NAME_ANNOTATION] ?? '', annotations[HELM_RELEASE_NAMESPACE_ANNOTATION] ?? '', claim.namespace);
}

/** `namespace/MachineSet/name` and `namespace/MachineDeployment/name` of the sets that own a Machine. */
function machineOwnerKeysOf(machine: MachineRecord): readonly string[] {
  const keys: string[] = [];
  if (machine.machineSet !== '') keys.push(`${machine.namespace}/MachineSet/${machine.machineSet}`);
  if (machine.machineDeployment !== '') keys.push(`${machine.namespace}/MachineDeployment/${machine.machineDeployment}`);
  if (machine.controlPlane !== '') keys.push(`${machine.namespace}/KubeadmControlPlane/${machine.controlPlane}`);
  return keys;
}

/** `namespace/cluster` of a control-plane Machine (MACHINE_CONTROL_PLANE_ROLE_LABEL); none for the others. */
function clusterKeyOf(machine: MachineRecord): IndexKeys {
  return machine.clusterName !== '' ? `${machine.namespace}/${machine.clusterName}` : NO_KEYS;
}

function controlPlaneClusterKeyOf(machine: MachineRecord): IndexKeys {
  return machine.clusterName !== '' && machine.labels[MACHINE_CONTROL_PLANE_ROLE_LABEL] !== undefined ? `${machine.namespace}/${machine.clusterName}` : NO_KEYS;
}

/** `key=value` for each label of a node that may anchor a PV's affinity (group keys never do), and its name. */
function nodeLabelKeys(node: NodeRecord): readonly string[] {
  const keys: string[] = [`${NODE_NAME_FIELD}=${node.name}`];
  for (const [key, value] of Object.entries(node.labels)) if (!isGroupKey(key)) keys.push(`${key}=${value}`);
  return keys;
}

/** The anchors of a PV's affinity (none when it is open or absent: such a PV is never pinned by live nodes). */
function pvAnchorKeys(pv: PersistentVolumeRecord): readonly string[] {
  return anchorKeys(pv.nodeAffinity) ?? NO_KEYS;
}

const NO_KEYS: readonly string[] = Object.freeze([]);

/**
 * How long an admitted cordon counts before the informers show it: they do within a second; an uncordon right after
 * (which volume-guard is not called for) is not held against other nodes' cordons for longer than this.
 */
export const ADMITTED_CORDON_TTL_MS = 10_000;

/** A bound PV pinned to a node, counted under that node by `<source> <driver>` (see boundPersistentVolumeKindsPinnedTo). */
function boundPinnedKind(pv: PersistentVolumeRecord): readonly [string, string] | undefined {
  if (pv.pinnedNode === '' || pv.phase !== 'Bound' || pv.claimName === '') return undefined;
  return [pv.pinnedNode, `${pv.source} ${pv.driver}`];
}

function sameNodes(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether two Longhorn nodes' placements (LonghornNodeRecord.placement) offer the same. */
function samePlacement(a: ReplicaPlacement | undefined, b: ReplicaPlacement | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && recordsEqual(a, b));
}

/** The context handed to volume predicates; one instance per model, its `replicas` set before each call. */
class PredicateContext implements VolumeContext {
  replicas: readonly LonghornReplicaRecord[] = NO_REPLICAS;
  readonly diskUUIDsOf: (nodeName: string) => readonly string[] | undefined;
  readonly nodeIsUp: (nodeName: string, diskID?: string) => boolean;
  readonly replicaData: (nodeName: string, diskID?: string) => ReplicaDataState;
  readonly #scheduling: ReplicaScheduling;

  constructor(
    longhornNodes: ReadonlyMap<string, LonghornNodeRecord>,
    settings: ReadonlyMap<string, LonghornSettingRecord>,
    nodeIsUp: (nodeName: string, diskID?: string) => boolean,
    replicaData: (nodeName: string, diskID?: string) => ReplicaDataState,
  ) {
    this.diskUUIDsOf = (nodeName) => longhornNodes.get(nodeName)?.diskUUIDs;
    this.nodeIsUp = nodeIsUp;
    this.replicaData = replicaData;
    this.#scheduling = {
      get nodes() {
        return longhornNodes.values();
      },
      setting: (name) => settings.get(name)?.value ?? '',
    };
  }

  scheduling(): ReplicaScheduling {
    return this.#scheduling;
  }
}

export class ClusterModel implements ModelSink, ClusterSnapshot, RemovalRecorder {
  #longhornInstalled = false;

  readonly #stores: Stores = {
    longhornVolume: new Map(),
    longhornReplica: new Map(),
    longhornNode: new Map(),
    longhornSetting: new Map(),
    harvesterUpgrade: new Map(),
    harvesterUpgradePlan: new Map(),
    node: new Map(),
    persistentVolume: new Map(),
    persistentVolumeClaim: new Map(),
    pod: new Map(),
    statefulSet: new Map(),
    namespace: new Map(),
    machine: new Map(),
    machineDrainRule: new Map(),
    clusterApiCluster: new Map(),
    machineDeployment: new Map(),
    kubeadmControlPlane: new Map(),
  };

  readonly #volumesByPV = new MultiIndex<LonghornVolumeRecord>('longhornVolume.byPV', (v) => v.pvName);
  readonly #replicasByVolume = new MultiIndex<LonghornReplicaRecord>('longhornReplica.byVolume', (r) => r.volumeName);
  readonly #replicasByNode = new MultiIndex<LonghornReplicaRecord>('longhornReplica.byNode', (r) => r.nodeID);
  readonly #pvsByPinnedNode = new MultiIndex<PersistentVolumeRecord>('persistentVolume.byPinnedNode', (pv) => pv.pinnedNode);
  readonly #boundPinnedKinds = new CountIndex<PersistentVolumeRecord>('persistentVolume.boundPinnedKinds', boundPinnedKind);
  /** PVs by the `key=value` (or `metadata.name=<node>`) their affinity names nodes by: whom a node change affects. */
  readonly #pvsByAnchor = new MultiIndex<PersistentVolumeRecord>('persistentVolume.byAnchor', pvAnchorKeys);
  /**
   * PVs no live node pins (pinnedNode '') that name a claim, by `<source> <driver>`: which kinds of PV can keep
   * data on whatever node their pod runs on (node-local-volume's unpinned case). Network volumes (Longhorn, NFS)
   * are the usual members; when no member is node-local, a cordon need not resolve every claim on the node.
   */
  readonly #unpinnedPvsBySource = new MultiIndex<PersistentVolumeRecord>('persistentVolume.unpinnedBySource', (pv) =>
    pv.pinnedNode === '' && pv.claimName !== '' ? `${pv.source} ${pv.driver}` : '',
  );
  /**
   * PVs naming a claim that no live node pins but whose affinity names a node (namedNode: a `matchFields` metadata.name
   * term the scheduler ignores for a PV, say), by that node: the data that node's removal takes along (node-local-volume).
   */
  readonly #unpinnedPvsByNamedNode = new MultiIndex<PersistentVolumeRecord>('persistentVolume.unpinnedByNamedNode', (pv) =>
    pv.pinnedNode === '' && pv.claimName !== '' ? pv.namedNode : '',
  );
  /** Nodes by each `key=value` label (group keys left out) and by `metadata.name=<name>`. */
  readonly #nodesByLabel = new MultiIndex<NodeRecord>('node.byLabel', nodeLabelKeys);
  readonly #nodeLookup: NodeLookup = {
    node: (name) => this.#stores.node.get(name),
    nodesLabelled: (key, value) => this.#nodesByLabel.get(`${key}=${value}`),
  };
  readonly #claimsByNamespace = new MultiIndex<PersistentVolumeClaimRecord>('persistentVolumeClaim.byNamespace', (c) => c.namespace);
  readonly #claimsByRelease = new MultiIndex<PersistentVolumeClaimRecord>('persistentVolumeClaim.byRelease', releaseKeysOf);
  /** PVCs by the Helm release their annotations name, in whatever namespace they live: what an upgrade may drop. */
  readonly #claimsByHelmRelease = new MultiIndex<PersistentVolumeClaimRecord>('persistentVolumeClaim.byHelmRelease', helmReleaseKeyOfClaim);
  /** PVCs by each owner uid their ownerReferences name: what the DELETE of any object takes with it, in O(1). */
  readonly #claimsByOwner = new MultiIndex<PersistentVolumeClaimRecord>('persistentVolumeClaim.byOwner', ownerKeysOf);
  /** PVCs by the `<group>/<Kind>` of each owner: what a CRD's DELETE takes with every object of its kind. */
  readonly #claimsByOwnerKind = new MultiIndex<PersistentVolumeClaimRecord>('persistentVolumeClaim.byOwnerKind', ownerKindKeysOf);
  /** The pods' scratch claims (generic ephemeral volumes), all in one bucket: whether there are any. */
  readonly #podScratchClaims = new MultiIndex<PersistentVolumeClaimRecord>('persistentVolumeClaim.podScratch', (c) => (isPodScratchClaim(c) ? 'scratch' : NO_KEYS));
  /** Claims in phase Lost, by the PV they name: whether their data is gone for good reads that PV (orphan-pvc). */
  readonly #lostClaimsByVolume = new MultiIndex<PersistentVolumeClaimRecord>('persistentVolumeClaim.lostByVolume', (c) => (c.phase === 'Lost' ? c.volumeName : NO_KEYS));
  readonly #podsByClaim = new MultiIndex<PodRecord>('pod.byClaim', claimKeysOf);
  readonly #podsByNode = new MultiIndex<PodRecord>('pod.byNode', (p) => p.nodeName);
  /** Pods with hostPath or emptyDir volumes by node: the few whose data a cordon's node-local check reads inline. */
  readonly #inlineDataPodsByNode = new MultiIndex<PodRecord>('pod.inlineDataByNode', (p) =>
    p.hostPaths.length > 0 || p.emptyDirs.length > 0 ? p.nodeName : '',
  );
  /**
   * Pods writing to a hostPath that tolerate every taint, by node: whether a drain of their node sends them elsewhere
   * depends on every other node (node-local-volume's recreatedElsewhere), so any node's change re-counts their node.
   */
  readonly #podsLandingAnywhereByNode = new MultiIndex<PodRecord>('pod.landingAnywhereByNode', (p) =>
    p.hostPaths.length > 0 && toleratesEveryTaint(p) ? p.nodeName : '',
  );
  /**
   * system-upgrade-controller Job pods still running (not Succeeded or Failed, not being deleted), by the node they
   * upgrade: whose cordon and drain of that node are the Plan's in-place upgrade. Pending counts: the drain runs in an
   * init container.
   */
  readonly #upgradeJobPodsByNode = new MultiIndex<PodRecord>('pod.upgradeJobByNode', (p) =>
    p.upgradeJob !== undefined && !p.deleting && p.phase !== 'Succeeded' && p.phase !== 'Failed' ? p.upgradeJob.node : '',
  );
  readonly #statefulSetsByRelease = new MultiIndex<StatefulSetRecord>('statefulSet.byRelease', helmReleaseKeyOf);
  /** StatefulSets by each owner uid their ownerReferences name (an operator's resource): what its DELETE takes along. */
  readonly #statefulSetsByOwner = new MultiIndex<StatefulSetRecord>('statefulSet.byOwner', (s) => s.ownerUids ?? NO_KEYS);
  readonly #namespacesByOwner = new MultiIndex<NamespaceRecord>('namespace.byOwner', (n) => n.ownerUids ?? NO_KEYS);
  readonly #namespacesByHelmRelease = new MultiIndex<NamespaceRecord>('namespace.byHelmRelease', helmReleaseKeyOfNamespace);
  readonly #statefulSetsByOwnerKind = new MultiIndex<StatefulSetRecord>('statefulSet.byOwnerKind', ownerTypeKeysOf);
  readonly #namespacesByOwnerKind = new MultiIndex<NamespaceRecord>('namespace.byOwnerKind', ownerTypeKeysOf);
  readonly #machinesByOwner = new MultiIndex<MachineRecord>('machine.byOwner', machineOwnerKeysOf);
  readonly #controlPlaneMachinesByCluster = new MultiIndex<MachineRecord>('machine.controlPlaneByCluster', controlPlaneClusterKeyOf);
  readonly #machinesByCluster = new MultiIndex<MachineRecord>('machine.byCluster', clusterKeyOf);
  readonly #drainRulesByNamespace = new MultiIndex<MachineDrainRuleRecord>('machineDrainRule.byNamespace', (rule) => rule.namespace);

  readonly #indexes: Indexes = {
    longhornVolume: [this.#volumesByPV],
    longhornReplica: [this.#replicasByVolume, this.#replicasByNode],
    longhornNode: [],
    longhornSetting: [],
    harvesterUpgrade: [],
    harvesterUpgradePlan: [],
    node: [this.#nodesByLabel],
    persistentVolume: [this.#pvsByPinnedNode, this.#boundPinnedKinds, this.#pvsByAnchor, this.#unpinnedPvsBySource, this.#unpinnedPvsByNamedNode],
    persistentVolumeClaim: [this.#claimsByNamespace, this.#claimsByRelease, this.#claimsByHelmRelease, this.#claimsByOwner, this.#claimsByOwnerKind, this.#podScratchClaims, this.#lostClaimsByVolume],
    pod: [this.#podsByClaim, this.#podsByNode, this.#inlineDataPodsByNode, this.#podsLandingAnywhereByNode, this.#upgradeJobPodsByNode],
    statefulSet: [this.#statefulSetsByRelease, this.#statefulSetsByOwner, this.#statefulSetsByOwnerKind],
    namespace: [this.#namespacesByOwner, this.#namespacesByOwnerKind, this.#namespacesByHelmRelease],
    machine: [this.#machinesByOwner, this.#controlPlaneMachinesByCluster, this.#machinesByCluster],
    machineDrainRule: [this.#drainRulesByNamespace],
    clusterApiCluster: [],
    machineDeployment: [],
    kubeadmControlPlane: [],
  };

  readonly #setNames: readonly string[];
  readonly #predicates: readonly VolumePredicate[];
  /** Per predicate, parallel to #predicates: volume name → volume, for the volumes that match it now. */
  readonly #sets: readonly Map<string, LonghornVolumeRecord>[];
  readonly #predicateContext: PredicateContext;
  readonly #countNames: readonly string[];
  readonly #counters: readonly VolumeKeys[];
  /** Per count: the position of the set whose members alone it counts, or -1 (every volume). */
  readonly #counterSets: readonly number[];
  /** Per count, parallel to #counters: key → how many volumes are counted under it (never 0: removed). */
  readonly #keyCounts: readonly Map<string, number>[];
  /** Per count: volume → the keys it is counted under now (volumes counted under none are absent). */
  readonly #countedKeys: readonly Map<string, readonly string[]>[];
  /** Per count keeping its members: key → volume name → volume; undefined for the others. */
  readonly #keyMembers: readonly (Map<string, Map<string, LonghornVolumeRecord>> | undefined)[];
  /** Whether any set or count is kept: otherwise no write needs a volume evaluated. */
  readonly #evaluates: boolean;
  /** Volumes whose set membership must be recomputed once the current write completes. */
  readonly #volumesToEvaluate = new Set<string>();
  /** Nodes carrying an autoscaler's drain taint (NodeRecord.leaving): few, usually none. */
  readonly #leavingNodes = new Set<string>();
  /** Cordoned Nodes (isCordoned): few, usually none. */
  readonly #cordonedNodes = new Set<string>();
  /** Nodes carrying a NoExecute taint their record keeps (NodeRecord.taints): few, usually none. */
  readonly #noExecuteNodes = new Set<string>();
  /** Cordons volume-guard admitted, node → when, until the informers show them (ADMITTED_CORDON_TTL_MS at most). */
  readonly #admittedCordons = new Map<string, number>();
  /**
   * Cluster API Machines being deleted, `namespace/name` → their node: Cluster API drains that node, then deletes its
   * infrastructure machine and disks. Few, usually none.
   */
  readonly #removedByMachine = new Map<string, string>();
  /**
   * Removals admitted and not yet shown by the informers: a replica's is applied to its record (stored as being
   * deleted, its informer record kept aside), a node's is answered by nodeLeaving. Usually empty.
   */
  readonly #pending: PendingRemovals<PendingEntry>;
  /**
   * The answers to cordons by user, each for REFUSED_CORDON_TTL_MS: `node\0user` → refused (refuseCordon), and apart,
   * `node\0user\0dry-run` → the latest dry run's answer (refuseCordon, allowDryRunCordon), read by dry runs only.
   */
  readonly #cordonsByUser: PendingRemovals<CordonAnswer>;
  /** Node → the pending entries removing it (their keys) and how. */
  readonly #pendingNodes = new Map<string, Map<string, NodeLeaving>>();
  #pendingListener: ((change: PendingChange) => void) | undefined;
  #batchDepth = 0;
  readonly #graceMs: number;
  readonly #now: () => number;
  /**
   * Nodes NotReady/Unknown but still within the grace, with the time they become down: when it passes, the volumes
   * with replicas on them are re-evaluated (at the next read of a volume set), and only those.
   */
  readonly #downDeadlines = new Map<string, number>();
  #nextDeadline = Number.POSITIVE_INFINITY;
  /**
   * Nodes whose core Node the model held and then lost (a DELETE, or absent from a relist) while their Longhorn node
   * stays: the garbage collector deletes the Node's instance-manager pod, so their replicas stop, while longhorn-manager
   * reports the Longhorn node down (KubernetesNodeGone) only later, or never where it does not run. Down for
   * nodeIsUp. A name leaves when its Node registers again or its Longhorn node goes: at most one per Longhorn node.
   */
  readonly #goneNodes = new Set<string>();
  /**
   * The Node list arrived (replaceAll): from then on a Longhorn node without a Node of its name is down, whether the
   * model saw that Node go (#goneNodes) or it was gone before this process started (the same state, the same answer).
   */
  #nodesListed = false;

  constructor(volumeSets: Readonly<Record<string, VolumePredicate>> = {}, options: ClusterModelOptions = {}) {
    this.#setNames = Object.keys(volumeSets);
    this.#predicates = Object.values(volumeSets);
    this.#sets = this.#setNames.map(() => new Map<string, LonghornVolumeRecord>());
    const counts = options.volumeCounts ?? {};
    this.#countNames = Object.keys(counts);
    this.#counters = Object.values(counts).map((count) => count.keys);
    this.#counterSets = Object.values(counts).map((count) => {
      if (count.inSet === undefined) return -1;
      const position = this.#setNames.indexOf(count.inSet);
      if (position < 0) throw new Error(`volume count on unknown set "${count.inSet}" (known: ${this.#setNames.join(', ')})`);
      return position;
    });
    this.#keyCounts = this.#countNames.map(() => new Map<string, number>());
    this.#countedKeys = this.#countNames.map(() => new Map<string, readonly string[]>());
    this.#keyMembers = Object.values(counts).map((count) => (count.members === true ? new Map() : undefined));
    this.#evaluates = this.#predicates.length + this.#counters.length > 0;
    this.#graceMs = options.nodeDownGraceMs ?? DEFAULT_NODE_DOWN_GRACE_MS;
    this.#now = options.now ?? Date.now;
    this.#pending = new PendingRemovals(options.pendingRemovalTtlMs ?? PENDING_REMOVAL_TTL_MS, options.maxPendingRemovals ?? MAX_PENDING_REMOVALS);
    this.#cordonsByUser = new PendingRemovals(options.refusedCordonTtlMs ?? REFUSED_CORDON_TTL_MS, options.maxPendingRemovals ?? MAX_PENDING_REMOVALS);
    this.#predicateContext = new PredicateContext(
      this.#stores.longhornNode,
      this.#stores.longhornSetting,
      (nodeName, diskID) => this.nodeIsUp(nodeName, diskID),
      (nodeName, diskID) => this.replicaData(nodeName, diskID),
    );
  }

  // ---------------------------------------------------------------------------------------------------- writes

  setLonghornInstalled(installed: boolean): void {
    this.#longhornInstalled = installed;
  }

  upsert<K extends ResourceKind>(kind: K, record: RecordByKind[K]): void {
    this.expireRemovals();
    this.#write(kind, record);
    this.#evaluatePending();
  }

  remove(kind: ResourceKind, key: string): void {
    this.expireRemovals();
    this.#delete(kind, storeKeyOfRecordKey(kind, key));
    this.#evaluatePending();
  }

  replaceAll<K extends ResourceKind>(kind: K, records: readonly RecordByKind[K][]): void {
    this.expireRemovals();
    // Volume sets are re-evaluated once per affected volume at the end, not once per replica written.
    this.#batchDepth++;
    try {
      const firstNodeList = kind === 'node' && !this.#nodesListed;
      if (this.#stores[kind].size > 0 || !this.#insertAll(kind, records)) {
        const present = new Set<string>();
        for (const record of records) {
          present.add(storeKeyOf(kind, record));
          this.#write(kind, record);
        }
        // Deleting the current entry while iterating a Map is safe: iteration continues with the next one.
        for (const key of this.#stores[kind].keys()) {
          if (!present.has(key)) this.#delete(kind, key);
        }
      }
      if (firstNodeList) this.#noteNodesListed();
    } finally {
      this.#batchDepth--;
    }
    this.#evaluatePending();
  }

  /**
   * The first list of a kind into an empty store: every record is new, so each index is built in one pass. Same
   * state as writing them one by one (a node's PVs are re-pinned once all nodes are indexed, as the last of the
   * single writes would). False, having changed nothing, when two records share a key (the single writes decide).
   */
  #insertAll<K extends ResourceKind>(kind: K, incoming: readonly RecordByKind[K][]): boolean {
    // An admitted removal changes what is stored of its object: the single writes apply it.
    if (this.#pending.size > 0) return false;
    const store: Map<string, RecordByKind[K]> = this.#stores[kind];
    const records =
      kind === 'persistentVolume' ? incoming.map((record) => this.#resolvePinned(record as PersistentVolumeRecord) as RecordByKind[K]) : incoming;
    // The store is empty: filled directly, a shared key shows as fewer entries than records (then undone).
    for (const record of records) store.set(storeKeyOf(kind, record), record);
    if (store.size !== records.length) {
      store.clear();
      return false;
    }
    const indexes: readonly RecordIndex<RecordByKind[K]>[] = this.#indexes[kind];
    for (const index of indexes) index.addAll(records);
    for (const record of records) this.#noteChange(kind, undefined, record);
    return true;
  }

  #write<K extends ResourceKind>(kind: K, incoming: RecordByKind[K]): void {
    const store: Map<string, RecordByKind[K]> = this.#stores[kind];
    const key = storeKeyOf(kind, incoming);
    const previous = store.get(key);
    // A PV's pinned node depends on the live nodes: resolved here, and again when a node it names changes.
    const resolved = kind === 'persistentVolume' ? (this.#resolvePinned(incoming as PersistentVolumeRecord) as RecordByKind[K]) : incoming;
    const record = this.#pending.size > 0 ? this.#throughPending(kind, resolved) : resolved;
    // A relist delivers an equal copy of nearly everything: nothing to re-index or re-evaluate.
    if (previous !== undefined && recordsEqual(previous, record)) return;
    store.set(key, record);
    const indexes: readonly RecordIndex<RecordByKind[K]>[] = this.#indexes[kind];
    for (const index of indexes) index.update(previous, record);
    this.#noteChange(kind, previous, record);
  }

  #delete<K extends ResourceKind>(kind: K, key: string): void {
    const store: Map<string, RecordByKind[K]> = this.#stores[kind];
    const previous = store.get(key);
    if (previous === undefined) return;
    store.delete(key);
    const indexes: readonly RecordIndex<RecordByKind[K]>[] = this.#indexes[kind];
    for (const index of indexes) index.update(previous, undefined);
    this.#noteChange(kind, previous, undefined);
    if (this.#pending.size > 0) this.#gonePending(kind, previous);
  }

  // ------------------------------------------------------------------------------------- admitted removals

  /** Told of each change admitted removals make to the model's answers, and of those no write shows (a PV re-pinned, a node past its down grace): one listener, the risk gauges. */
  onPendingChange(listener: (change: PendingChange) => void): void {
    this.#pendingListener = listener;
  }

  /**
   * Counts a removal volume-guard has just admitted as done until the informers show it (the object gone or being
   * deleted, the drain taint on the node) or its time runs out: a replica is stored as being deleted, a node answers
   * nodeLeaving, a StatefulSet deletionAdmitted. Nothing is recorded when the informers show it already. Again for the same object: its time renews.
   */
  admitRemoval(removal: AdmittedRemoval): void {
    this.expireRemovals();
    const key = removalKey(removal);
    const existing = this.#pending.get(key);
    if (existing !== undefined) {
      // A StatefulSet DELETE again: its options, as the API server rewrites the finalizers from them, are what counts now.
      this.#track(removal.kind === 'statefulSet' ? { ...existing, removal } : existing);
    } else {
      switch (removal.kind) {
        case 'longhornReplica': {
          const current = this.#stores.longhornReplica.get(removal.name);
          if (current === undefined || current.deleting) return;
          this.#track({ removal, key, original: current });
          this.#replaceReplica(current, { ...current, deleting: true });
          break;
        }
        case 'node':
          if (removal.how === 'autoscaler' && this.#stores.node.get(removal.name)?.leaving === true) return;
          this.#track({ removal, key });
          this.#addPendingNode(removal.name, key, removal.how);
          break;
        case 'machine':
          if (removal.node === '' || this.#stores.machine.get(`${removal.namespace}/${removal.name}`)?.deleting === true) return;
          this.#track({ removal, key });
          this.#addPendingNode(removal.node, key, 'machine');
          break;
        case 'statefulSet': {
          // Recorded even when the informer has not shown it created yet: its uid is all the owners' check reads.
          const current = this.#stores.statefulSet.get(`${removal.namespace}/${removal.name}`);
          if (removal.uid === '' || (current?.uid === removal.uid && current.deleting === true)) return;
          this.#track({ removal, key });
          return;
        }
        case 'owner':
          if (removal.uid !== '') this.#track({ removal, key });
          return;
      }
    }
    this.#evaluatePending();
  }

  refuseCordon(node: string, user: string, dryRun = false): void {
    this.#cordonsByUser.set(cordonKey(node, user, dryRun), 'refused', this.#now());
  }

  allowCordon(node: string): void {
    // `kubectl drain a b` cordons b right after a: until the informers show a cordoned, this says it is.
    const record = this.#stores.node.get(node);
    if (record === undefined || !isCordoned(record)) this.#admittedCordons.set(node, this.#now());
    if (this.#cordonsByUser.size === 0) return;
    const prefix = `${node}\0`;
    for (const key of [...this.#cordonsByUser.keys()]) if (key.startsWith(prefix)) this.#cordonsByUser.delete(key);
  }

  allowDryRunCordon(node: string, user: string): void {
    this.#cordonsByUser.set(cordonKey(node, user, true), 'allowed', this.#now());
  }

  cordonRefused(name: string, user: string, dryRun = false): boolean {
    return this.#cordonAnswer(name, user, false) === 'refused' || (dryRun && this.#cordonAnswer(name, user, true) === 'refused');
  }

  dryRunCordonAllowed(name: string, user: string): boolean {
    return this.#cordonAnswer(name, user, true) === 'allowed';
  }

  #cordonAnswer(node: string, user: string, dryRun: boolean): CordonAnswer | undefined {
    if (this.#cordonsByUser.size === 0) return undefined;
    this.#cordonsByUser.expire(this.#now());
    return this.#cordonsByUser.get(cordonKey(node, user, dryRun));
  }

  /** Forgets the admitted removals past their time (the informers never showed them: a DELETE refused later on). */
  expireRemovals(): void {
    if (this.#pending.size === 0) return;
    const expired = this.#pending.expire(this.#now());
    if (expired.length === 0) return;
    for (const entry of expired) this.#release(entry);
    this.#evaluatePending();
  }

  #track(entry: PendingEntry): void {
    for (const evicted of this.#pending.set(entry.key, entry, this.#now())) this.#release(evicted);
  }

  /** An entry forgotten unseen: the model answers from the informers' records again. */
  #release(entry: PendingEntry): void {
    const removal = entry.removal;
    if (removal.kind === 'statefulSet' || removal.kind === 'owner') return;
    if (removal.kind !== 'longhornReplica') {
      this.#dropPendingNode(removal.kind === 'node' ? removal.name : removal.node, entry.key);
      return;
    }
    const current = this.#stores.longhornReplica.get(removal.name);
    if (current !== undefined && entry.original !== undefined && current !== entry.original) this.#replaceReplica(current, entry.original);
  }

  /** The informers show the removal: the entry ends, what they show stays. */
  #seen(key: string): void {
    const entry = this.#pending.delete(key);
    if (entry === undefined || entry.removal.kind === 'longhornReplica' || entry.removal.kind === 'statefulSet' || entry.removal.kind === 'owner') return;
    this.#dropPendingNode(entry.removal.kind === 'node' ? entry.removal.name : entry.removal.node, key);
  }

  /**
   * An informer's record of an object with an admitted removal: shows the removal (the entry ends), or does not yet
   * (a replica then stays stored as being deleted).
   */
  #throughPending<K extends ResourceKind>(kind: K, record: RecordByKind[K]): RecordByKind[K] {
    switch (kind) {
      case 'longhornReplica': {
        const replica = record as LonghornReplicaRecord;
        const key = removalKey({ kind: 'longhornReplica', name: replica.name });
        const entry = this.#pending.get(key);
        if (entry === undefined) return record;
        if (replica.deleting) {
          this.#seen(key);
          return record;
        }
        entry.original = replica;
        return { ...replica, deleting: true } as RecordByKind[K];
      }
      case 'node': {
        const node = record as NodeRecord;
        // Registered again after it was seen gone: its kubelet still runs, on the same disks.
        const deleted = removalKey({ kind: 'node', name: node.name, how: 'deleted' });
        if (this.#pending.get(deleted)?.gone === true) this.#seen(deleted);
        if (node.leaving === true) this.#seen(removalKey({ kind: 'node', name: node.name, how: 'autoscaler' }));
        return record;
      }
      case 'machine': {
        const machine = record as MachineRecord;
        // Being deleted: #removedByMachine has its node now.
        if (machine.deleting) this.#seen(removalKey({ kind: 'machine', namespace: machine.namespace, name: machine.name, node: '' }));
        return record;
      }
      case 'statefulSet': {
        const statefulSet = record as StatefulSetRecord;
        // Being deleted; or another of that name in its place (re-created): the one whose DELETE was admitted is gone.
        if (statefulSet.deleting === true) this.#seen(statefulSetKey(statefulSet.uid));
        const previous = this.#stores.statefulSet.get(`${statefulSet.namespace}/${statefulSet.name}`);
        if (previous !== undefined && previous.uid !== statefulSet.uid) this.#seen(statefulSetKey(previous.uid));
        return record;
      }
      default:
        return record;
    }
  }

  /** The informers show an object with an admitted removal gone. */
  #gonePending(kind: ResourceKind, record: unknown): void {
    switch (kind) {
      case 'longhornReplica':
        this.#seen(removalKey({ kind: 'longhornReplica', name: (record as LonghornReplicaRecord).name }));
        return;
      case 'node': {
        const name = (record as NodeRecord).name;
        // Longhorn still counts a copy on its node until longhorn-manager reports it gone (KubernetesNodeGone): the
        // entry stays, so the removal keeps counting meanwhile.
        const entry = this.#pending.get(removalKey({ kind: 'node', name, how: 'deleted' }));
        if (entry !== undefined) entry.gone = true;
        this.#seen(removalKey({ kind: 'node', name, how: 'autoscaler' }));
        return;
      }
      case 'machine': {
        const machine = record as MachineRecord;
        this.#seen(removalKey({ kind: 'machine', namespace: machine.namespace, name: machine.name, node: '' }));
        return;
      }
      case 'statefulSet':
        this.#seen(statefulSetKey((record as StatefulSetRecord).uid));
        return;
      default:
        return;
    }
  }

  #replaceReplica(previous: LonghornReplicaRecord, next: LonghornReplicaRecord): void {
    this.#stores.longhornReplica.set(next.name, next);
    for (const index of this.#indexes.longhornReplica) index.update(previous, next);
    this.#noteChange('longhornReplica', previous, next);
    this.#pendingListener?.({ kind: 'longhornReplica', previous, next });
  }

  #addPendingNode(node: string, key: string, how: NodeLeaving): void {
    let entries = this.#pendingNodes.get(node);
    if (entries === undefined) this.#pendingNodes.set(node, (entries = new Map()));
    entries.set(key, how);
    this.#pendingListener?.({ kind: 'node', node });
  }

  #dropPendingNode(node: string, key: string): void {
    const entries = this.#pendingNodes.get(node);
    if (entries === undefined || !entries.delete(key)) return;
    if (entries.size === 0) this.#pendingNodes.delete(node);
    this.#pendingListener?.({ kind: 'node', node });
  }

  #resolvePinned(pv: PersistentVolumeRecord): PersistentVolumeRecord {
    const pinnedNode = pinnedNodeOf(pv.nodeAffinity, this.#nodeLookup, pv.namedNode);
    return pinnedNode === pv.pinnedNode ? pv : { ...pv, pinnedNode };
  }

  /**
   * A node came, went or changed labels: re-resolve the PVs whose affinity names it (by any of its labels,
   * before or after, or its name). Cost O(labels of the node + PVs naming it), never O(PVs).
   */
  #repinAround(previous: NodeRecord | undefined, next: NodeRecord | undefined): void {
    if (previous !== undefined && next !== undefined && recordsEqual(previous.labels, next.labels)) return;
    const affected = new Set<PersistentVolumeRecord>();
    for (const node of [previous, next]) {
      if (node === undefined) continue;
      for (const key of nodeLabelKeys(node)) for (const pv of this.#pvsByAnchor.get(key)) affected.add(pv);
    }
    for (const pv of affected) {
      const resolved = this.#resolvePinned(pv);
      if (resolved === pv) continue;
      this.#stores.persistentVolume.set(pv.name, resolved);
      for (const index of this.#indexes.persistentVolume) index.update(pv, resolved);
      this.#pendingListener?.({ kind: 'persistentVolume', previous: pv, next: resolved });
    }
  }

  /** Marks the volumes whose set membership a change may affect. */
  #noteChange(kind: ResourceKind, previous: unknown, next: unknown): void {
    if (kind === 'node') {
      this.#repinAround(previous as NodeRecord | undefined, next as NodeRecord | undefined);
      const after = next as NodeRecord | undefined;
      const name = (after ?? (previous as NodeRecord)).name;
      if (after !== undefined && isCordoned(after)) {
        this.#cordonedNodes.add(name);
        this.#admittedCordons.delete(name);
      } else this.#cordonedNodes.delete(name);
      // Gone while Longhorn still lists it: down until a Node of that name registers again (its own state then).
      if (after === undefined && this.#stores.longhornNode.has(name)) this.#goneNodes.add(name);
      else this.#goneNodes.delete(name);
      // Kept whether or not the model evaluates volumes: anyNodeLeaving reads it.
      if (after?.leaving === true) this.#leavingNodes.add(name);
      else this.#leavingNodes.delete(name);
      if (after?.taints?.some((taint) => taint.effect === 'NoExecute') === true) this.#noExecuteNodes.add(name);
      else this.#noExecuteNodes.delete(name);
    }
    if (kind === 'longhornNode' && next === undefined) this.#goneNodes.delete((previous as LonghornNodeRecord).name);
    if (kind === 'machine') {
      const machine = (next ?? previous) as MachineRecord;
      const key = `${machine.namespace}/${machine.name}`;
      const after = next as MachineRecord | undefined;
      if (after?.deleting === true && after.nodeName !== '') this.#removedByMachine.set(key, after.nodeName);
      else this.#removedByMachine.delete(key);
    }
    if (!this.#evaluates) return;
    switch (kind) {
      case 'longhornVolume': {
        const volume = (next ?? previous) as LonghornVolumeRecord;
        this.#volumesToEvaluate.add(volume.name);
        return;
      }
      case 'longhornReplica': {
        const before = previous as LonghornReplicaRecord | undefined;
        const after = next as LonghornReplicaRecord | undefined;
        if (before !== undefined) this.#volumesToEvaluate.add(before.volumeName);
        if (after !== undefined) this.#volumesToEvaluate.add(after.volumeName);
        return;
      }
      case 'longhornNode': {
        // A disk replaced or gone, or the node reported down, changes the health and the copies of every volume
        // with a replica on that node (and only those).
        const node = (next ?? previous) as LonghornNodeRecord;
        this.#noteNodeVolumes(node.name);
        // The first Longhorn node seen, or the last one gone: whether a Node without one is up turns (nodeIsUp).
        const count = this.#stores.longhornNode.size;
        if ((previous === undefined && count === 1) || (next === undefined && count === 0)) {
          for (const name of this.#stores.node.keys()) if (!this.#stores.longhornNode.has(name)) this.#noteNodeVolumes(name);
        }
        // A node offering replicas or no longer (added, removed, scheduling turned on or off, tags): whether a
        // degraded volume has a node left for its missing replicas (isShortOfNodesOnly). Rare: nodes change so
        // seldom that walking the volumes is fine.
        const before = previous as LonghornNodeRecord | undefined;
        const after = next as LonghornNodeRecord | undefined;
        if (!samePlacement(before?.placement, after?.placement)) this.#noteDegradedVolumes();
        return;
      }
      case 'longhornSetting': {
        // replica-soft-anti-affinity, read for the degraded volumes alone (isShortOfNodesOnly). Settings change rarely.
        const setting = (next ?? previous) as LonghornSettingRecord;
        const before = previous as LonghornSettingRecord | undefined;
        if (setting.name === REPLICA_SOFT_ANTI_AFFINITY && before?.value !== (next as LonghornSettingRecord | undefined)?.value) this.#noteDegradedVolumes();
        return;
      }
      case 'node': {
        // Only a change of readiness matters to the volume sets, and only for the volumes with replicas there.
        const before = previous as NodeRecord | undefined;
        const after = next as NodeRecord | undefined;
        const name = (after ?? before)!.name;
        // The grace deadlines only re-evaluate volumes (settle): kept when the model evaluates them.
        this.#trackDeadline(name, after);
        if (before?.ready === after?.ready && before?.readySince === after?.readySince) return;
        this.#noteNodeVolumes(name);
        return;
      }
      default:
        return;
    }
  }

  /** The volumes Longhorn reports degraded: whether they count as unhealthy depends on the nodes left for them. */
  #noteDegradedVolumes(): void {
    for (const volume of this.#stores.longhornVolume.values()) if (volume.robustness === 'degraded') this.#volumesToEvaluate.add(volume.name);
  }

  /** The first Node list: the Longhorn nodes it lacks turn down (nodeIsUp), so their volumes are evaluated again. */
  #noteNodesListed(): void {
    this.#nodesListed = true;
    for (const name of this.longhornNodesWithoutNode()) this.#noteNodeVolumes(name);
  }

  #noteNodeVolumes(nodeName: string): void {
    for (const replica of this.#replicasByNode.get(nodeName)) this.#volumesToEvaluate.add(replica.volumeName);
  }

  #trackDeadline(nodeName: string, node: NodeRecord | undefined): void {
    const deadline = downDeadline(node, this.#graceMs);
    if (deadline === undefined || deadline <= this.#now()) {
      if (this.#downDeadlines.delete(nodeName)) this.#recomputeNextDeadline();
      return;
    }
    this.#downDeadlines.set(nodeName, deadline);
    if (deadline < this.#nextDeadline) this.#nextDeadline = deadline;
  }

  #recomputeNextDeadline(): void {
    let next = Number.POSITIVE_INFINITY;
    for (const deadline of this.#downDeadlines.values()) if (deadline < next) next = deadline;
    this.#nextDeadline = next;
  }

  /**
   * Nodes whose grace ran out since the last look become down: their volumes are re-evaluated. O(1) when no grace
   * ran out; called before every read of a volume set, so the sets never lag the clock.
   */
  settle(): void {
    if (this.#nextDeadline > this.#now() || !this.#evaluates) return;
    const now = this.#now();
    for (const [nodeName, deadline] of this.#downDeadlines) {
      if (deadline > now) continue;
      this.#downDeadlines.delete(nodeName);
      this.#noteNodeVolumes(nodeName);
      // No write shows it: the risk gauges re-count the nodes holding the other copies of its volumes.
      this.#pendingListener?.({ kind: 'node', node: nodeName });
    }
    this.#recomputeNextDeadline();
    this.#evaluatePending();
  }

  #evaluatePending(): void {
    if (this.#batchDepth > 0 || this.#volumesToEvaluate.size === 0) return;
    try {
      for (const volumeName of this.#volumesToEvaluate) this.#evaluate(volumeName);
    } finally {
      this.#volumesToEvaluate.clear();
      this.#predicateContext.replicas = NO_REPLICAS;
    }
  }

  #evaluate(volumeName: string): void {
    const volume = this.#stores.longhornVolume.get(volumeName);
    if (volume === undefined) {
      for (const set of this.#sets) set.delete(volumeName);
      for (let i = 0; i < this.#counters.length; i++) this.#recount(i, volumeName, undefined, NO_KEYS);
      return;
    }
    const context = this.#predicateContext;
    context.replicas = this.#replicasByVolume.get(volumeName);
    for (let i = 0; i < this.#predicates.length; i++) {
      const set = this.#sets[i] as Map<string, LonghornVolumeRecord>;
      if ((this.#predicates[i] as VolumePredicate)(volume, context)) set.set(volumeName, volume);
      else set.delete(volumeName);
    }
    for (let i = 0; i < this.#counters.length; i++) {
      const set = this.#counterSets[i] as number;
      const counted = set < 0 || (this.#sets[set] as Map<string, LonghornVolumeRecord>).has(volumeName);
      this.#recount(i, volumeName, volume, counted ? (this.#counters[i] as VolumeKeys)(volume, context) : NO_KEYS);
    }
  }

  /** Moves a volume's contribution to count `i` from the keys it was counted under to `nodes`. */
  #recount(i: number, volumeName: string, volume: LonghornVolumeRecord | undefined, nodes: readonly string[]): void {
    const counted = this.#countedKeys[i] as Map<string, readonly string[]>;
    const before = counted.get(volumeName) ?? NO_KEYS;
    const members = this.#keyMembers[i];
    if (sameNodes(before, nodes)) {
      // Same keys: the members keep their place, with the volume's latest record.
      if (members !== undefined && volume !== undefined) for (const key of nodes) members.get(key)?.set(volumeName, volume);
      return;
    }
    const perNode = this.#keyCounts[i] as Map<string, number>;
    for (const node of before) {
      const left = (perNode.get(node) ?? 0) - 1;
      if (left > 0) perNode.set(node, left);
      else perNode.delete(node);
      if (members === undefined) continue;
      const group = members.get(node);
      group?.delete(volumeName);
      if (group?.size === 0) members.delete(node);
    }
    for (const node of nodes) {
      perNode.set(node, (perNode.get(node) ?? 0) + 1);
      if (members === undefined || volume === undefined) continue;
      let group = members.get(node);
      if (group === undefined) members.set(node, (group = new Map()));
      group.set(volumeName, volume);
    }
    if (nodes.length === 0) counted.delete(volumeName);
    else counted.set(volumeName, nodes);
  }


  // ----------------------------------------------------------------------------------------- generic reads

  /** A record by its recordKey (`namespace/name`, or `name` for cluster-scoped kinds). */
  get<K extends ResourceKind>(kind: K, key: string): RecordByKind[K] | undefined {
    const store: Map<string, RecordByKind[K]> = this.#stores[kind];
    return store.get(storeKeyOfRecordKey(kind, key));
  }

  records<K extends ResourceKind>(kind: K): IterableIterator<RecordByKind[K]> {
    const store: Map<string, RecordByKind[K]> = this.#stores[kind];
    return store.values();
  }

  /** The names of the volume sets given at construction. */
  get volumeSetNames(): readonly string[] {
    return this.#setNames;
  }

  /**
   * Entry counts of every internal structure (stores, index buckets, volume sets, pending evaluations), for
   * tests (an empty model has all zeros: no index leaks) and memory diagnostics.
   */
  internalSizes(): Record<string, number> {
    const sizes: Record<string, number> = {};
    for (const kind of RESOURCE_KINDS) {
      sizes[`store.${kind}`] = this.#stores[kind].size;
      const indexes: readonly { readonly name: string; readonly bucketCount: number }[] = this.#indexes[kind];
      for (const index of indexes) sizes[index.name] = index.bucketCount;
    }
    this.#setNames.forEach((name, i) => {
      sizes[`volumeSet.${name}`] = (this.#sets[i] as Map<string, LonghornVolumeRecord>).size;
    });
    this.#countNames.forEach((name, i) => {
      sizes[`volumeCount.${name}`] = (this.#keyCounts[i] as Map<string, number>).size;
      sizes[`volumeCount.${name}.volumes`] = (this.#countedKeys[i] as Map<string, readonly string[]>).size;
      const members = this.#keyMembers[i];
      if (members !== undefined) sizes[`volumeCount.${name}.members`] = members.size;
    });
    sizes['pendingEvaluations'] = this.#volumesToEvaluate.size;
    sizes['pendingRemovals'] = this.#pending.size;
    sizes['pendingRemovalNodes'] = this.#pendingNodes.size;
    sizes['nodeDownDeadlines'] = this.#downDeadlines.size;
    sizes['goneNodes'] = this.#goneNodes.size;
    return sizes;
  }

  // ---------------------------------------------------------------------------------------- ClusterSnapshot

  get longhornInstalled(): boolean {
    return this.#longhornInstalled;
  }

  count(kind: ResourceKind): number {
    return this.#stores[kind].size;
  }

  longhornVolume(name: string): LonghornVolumeRecord | undefined {
    return this.#stores.longhornVolume.get(name);
  }

  longhornVolumeOfPV(pvName: string): LonghornVolumeRecord | undefined {
    return this.#volumesByPV.get(pvName)[0] ?? this.#stores.longhornVolume.get(pvName);
  }

  longhornVolumes(): Iterable<LonghornVolumeRecord> {
    return this.#stores.longhornVolume.values();
  }

  volumesInSet(setName: string): Iterable<LonghornVolumeRecord> {
    this.settle();
    return this.#setNamed(setName).values();
  }

  volumeSetSize(setName: string): number {
    this.settle();
    return this.#setNamed(setName).size;
  }

  volumeCount(countName: string, key: string): number | undefined {
    return this.volumeCountsByKey(countName)?.get(key) ?? (this.#countNames.includes(countName) ? 0 : undefined);
  }

  volumesCountedUnder(countName: string, key: string): Iterable<LonghornVolumeRecord> {
    const position = this.#countNames.indexOf(countName);
    if (position < 0) return NO_VOLUMES;
    this.settle();
    return this.#keyMembers[position]?.get(key)?.values() ?? NO_VOLUMES;
  }

  volumeCountsByKey(countName: string): ReadonlyMap<string, number> | undefined {
    const position = this.#countNames.indexOf(countName);
    if (position < 0) return undefined;
    this.settle();
    return this.#keyCounts[position] as Map<string, number>;
  }

  /** Whether the Node list arrived: from then on a Longhorn node without a Node is down (nodeIsUp). */
  get nodesListed(): boolean {
    return this.#nodesListed;
  }

  /** The Longhorn nodes the model holds no Node for (down once the Node list arrived: nodeIsUp). */
  *longhornNodesWithoutNode(): IterableIterator<string> {
    for (const name of this.#stores.longhornNode.keys()) if (!this.#stores.node.has(name)) yield name;
  }

  /** Whether a volume is in the named set now (O(1)). */
  volumeInSet(setName: string, volumeName: string): boolean {
    this.settle();
    return this.#setNamed(setName).has(volumeName);
  }

  /**
   * Whether a copy on this node (on this disk, when `diskID` is given) counts: the node is known (as a core Node or
   * a Longhorn node: one neither knows is gone, and so is its data), its core Node is not NotReady/Unknown past the
   * grace, Longhorn's node CR does not report it down, and the disk is still among the disks that Longhorn node
   * reports (a reformatted or replaced disk has a new UUID: seed 002) and not reported not ready. A node only one of them knows is judged by
   * that one, except a Longhorn node without a Node once the Node list arrived, or whose Node the model saw deleted
   * (#goneNodes): down, whatever its CR says yet (longhorn-manager marks it KubernetesNodeGone later, or never where
   * none runs); and a Node without a Longhorn node while Longhorn lists others: down, as longhorn-manager takes a node
   * it cannot find (replicas there are also a volume-health problem of their own). With no Longhorn node seen at all,
   * a Node is judged by itself.
   */
  nodeIsUp(nodeName: string, diskID = ''): boolean {
    const longhornNode = this.#stores.longhornNode.get(nodeName);
    if (longhornNode?.down === true) return false;
    if (diskID !== '' && (diskGone(longhornNode, diskID) || diskNotReady(longhornNode, diskID))) return false;
    const node = this.#stores.node.get(nodeName);
    if (node === undefined) return longhornNode !== undefined && !this.#nodesListed && !this.#goneNodes.has(nodeName);
    // A Node Longhorn has no node for, while it lists others: longhorn-manager takes it as deleted (datastore
    // IsNodeDownOrDeleted: NotFound), launches no replica there and fails those of an attached volume.
    if (longhornNode === undefined && this.#stores.longhornNode.size > 0) return false;
    // The clock only for a node on its way down: checks ask this for every copy of every volume involved, and a
    // clock read (~80 ns here) cost more than the two lookups.
    if (node.ready !== 'False' && node.ready !== 'Unknown') return true;
    return !isCoreNodeDown(node, this.#now(), this.#graceMs);
  }

  replicaData(nodeName: string, diskID = ''): ReplicaDataState {
    const longhornNode = this.#stores.longhornNode.get(nodeName);
    if (longhornNode === undefined && !this.#stores.node.has(nodeName)) return 'gone';
    if (diskID === '') return 'kept';
    if (diskGone(longhornNode, diskID)) return 'gone';
    return diskNotReady(longhornNode, diskID) ? 'unsure' : 'kept';
  }

  longhornSetting(name: string): LonghornSettingRecord | undefined {
    return this.#stores.longhornSetting.get(name);
  }

  *harvesterUpgrades(): Iterable<HarvesterUpgradeRecord> {
    yield* this.#stores.harvesterUpgrade.values();
    yield* this.#stores.harvesterUpgradePlan.values();
  }

  #setNamed(setName: string): ReadonlyMap<string, LonghornVolumeRecord> {
    const position = this.#setNames.indexOf(setName);
    // A misspelt set name must not read as "no volume at risk".
    if (position < 0) throw new Error(`unknown volume set "${setName}" (known: ${this.#setNames.join(', ')})`);
    return this.#sets[position] as Map<string, LonghornVolumeRecord>;
  }

  replicasOfVolume(volumeName: string): readonly LonghornReplicaRecord[] {
    return this.#replicasByVolume.get(volumeName);
  }

  replicasOnNode(nodeName: string): readonly LonghornReplicaRecord[] {
    return this.#replicasByNode.get(nodeName);
  }

  longhornNode(name: string): LonghornNodeRecord | undefined {
    return this.#stores.longhornNode.get(name);
  }

  longhornNodes(): Iterable<LonghornNodeRecord> {
    return this.#stores.longhornNode.values();
  }

  node(name: string): NodeRecord | undefined {
    return this.#stores.node.get(name);
  }

  nodes(): Iterable<NodeRecord> {
    return this.#stores.node.values();
  }

  anyNodeLeaving(): boolean {
    return this.#leavingNodes.size > 0 || this.#removedByMachine.size > 0 || this.#pendingNodes.size > 0;
  }

  anyNodeCordoned(): boolean {
    if (this.#cordonedNodes.size > 0) return true;
    if (this.#admittedCordons.size === 0) return false;
    const now = this.#now();
    for (const [node, since] of this.#admittedCordons) if (now - since > ADMITTED_CORDON_TTL_MS) this.#admittedCordons.delete(node);
    return this.#admittedCordons.size > 0;
  }

  anyNodeTaintedNoExecute(): boolean {
    return this.#noExecuteNodes.size > 0;
  }

  nodeCordoned(name: string): boolean {
    if (this.#cordonedNodes.has(name)) return true;
    const since = this.#admittedCordons.get(name);
    return since !== undefined && this.#now() - since <= ADMITTED_CORDON_TTL_MS;
  }

  nodeLeaving(name: string): NodeLeaving | undefined {
    if (this.#stores.node.get(name)?.leaving === true) return 'autoscaler';
    for (const node of this.#removedByMachine.values()) if (node === name) return 'machine';
    // Admitted, not yet shown by the informers (one lookup; none while nothing is pending).
    if (this.#pendingNodes.size === 0) return undefined;
    return this.#pendingNodes.get(name)?.values().next().value;
  }

  machineRemovingNode(node: string): MachineRecord | undefined {
    for (const [key, name] of this.#removedByMachine) if (name === node) return this.#stores.machine.get(key);
    // Admitted, not yet shown by the informers (none while nothing is pending).
    for (const [key, how] of this.#pendingNodes.get(node) ?? []) {
      const removal = how === 'machine' ? this.#pending.get(key)?.removal : undefined;
      const machine = removal?.kind === 'machine' ? this.#stores.machine.get(`${removal.namespace}/${removal.name}`) : undefined;
      if (machine !== undefined) return machine;
    }
    return undefined;
  }

  nodesLabelled(key: string, value: string): readonly NodeRecord[] {
    return this.#nodesByLabel.get(`${key}=${value}`);
  }

  namespace(name: string): NamespaceRecord | undefined {
    return this.#stores.namespace.get(name);
  }

  persistentVolume(name: string): PersistentVolumeRecord | undefined {
    return this.#stores.persistentVolume.get(name);
  }

  persistentVolumesPinnedTo(nodeName: string): readonly PersistentVolumeRecord[] {
    return this.#pvsByPinnedNode.get(nodeName);
  }

  boundPersistentVolumeKindsPinnedTo(nodeName: string): ReadonlyMap<string, number> {
    return this.#boundPinnedKinds.get(nodeName);
  }

  pinnedPersistentVolumes(): Iterable<PersistentVolumeRecord> {
    return this.#pvsByPinnedNode.records();
  }

  unpinnedPersistentVolumesNaming(nodeName: string): readonly PersistentVolumeRecord[] {
    return this.#unpinnedPvsByNamedNode.get(nodeName);
  }

  nodesNamedByUnpinnedPersistentVolumes(): Iterable<string> {
    return this.#unpinnedPvsByNamedNode.keys();
  }

  *unpinnedClaimedPersistentVolumeSources(): Generator<{ readonly source: VolumeSource; readonly driver: string }> {
    for (const key of this.#unpinnedPvsBySource.keys()) {
      const space = key.indexOf(' ');
      yield { source: key.slice(0, space) as VolumeSource, driver: key.slice(space + 1) };
    }
  }

  unpinnedClaimedPersistentVolumes(source: VolumeSource, driver: string): readonly PersistentVolumeRecord[] {
    return this.#unpinnedPvsBySource.get(`${source} ${driver}`);
  }

  persistentVolumeClaim(namespace: string, name: string): PersistentVolumeClaimRecord | undefined {
    return this.#stores.persistentVolumeClaim.get(`${namespace}/${name}`);
  }

  hasPodScratchClaims(): boolean {
    return this.#podScratchClaims.bucketCount > 0;
  }

  persistentVolumeClaimsIn(namespace: string): readonly PersistentVolumeClaimRecord[] {
    return this.#claimsByNamespace.get(namespace);
  }

  persistentVolumeClaimsOfRelease(namespace: string, release: string): readonly PersistentVolumeClaimRecord[] {
    return this.#claimsByRelease.get(`${namespace}/${release}`);
  }

  persistentVolumeClaimsAnnotatedForRelease(namespace: string, release: string): readonly PersistentVolumeClaimRecord[] {
    return this.#claimsByHelmRelease.get(`${namespace}/${release}`);
  }

  persistentVolumeClaimsOwnedBy(uid: string): readonly PersistentVolumeClaimRecord[] {
    return this.#claimsByOwner.get(uid);
  }

  statefulSetsOwnedBy(uid: string): readonly StatefulSetRecord[] {
    return this.#statefulSetsByOwner.get(uid);
  }

  namespacesOwnedBy(uid: string): readonly NamespaceRecord[] {
    return this.#namespacesByOwner.get(uid);
  }

  persistentVolumeClaimsOwnedByKind(group: string, kind: string): readonly PersistentVolumeClaimRecord[] {
    return this.#claimsByOwnerKind.get(ownerKindKey(group, kind));
  }

  statefulSetsOwnedByKind(group: string, kind: string): readonly StatefulSetRecord[] {
    return this.#statefulSetsByOwnerKind.get(ownerKindKey(group, kind));
  }

  namespacesAnnotatedForRelease(namespace: string, release: string): readonly NamespaceRecord[] {
    return this.#namespacesByHelmRelease.get(`${namespace}/${release}`);
  }

  namespacesOwnedByKind(group: string, kind: string): readonly NamespaceRecord[] {
    return this.#namespacesByOwnerKind.get(ownerKindKey(group, kind));
  }

  pod(namespace: string, name: string): PodRecord | undefined {
    return this.#stores.pod.get(`${namespace}/${name}`);
  }

  podsUsingClaim(namespace: string, claimName: string): readonly PodRecord[] {
    return this.#podsByClaim.get(`${namespace}/${claimName}`);
  }

  podsOnNode(nodeName: string): readonly PodRecord[] {
    return this.#podsByNode.get(nodeName);
  }

  podsWithInlineDataOnNode(nodeName: string): readonly PodRecord[] {
    return this.#inlineDataPodsByNode.get(nodeName);
  }

  /** The claims in phase Lost naming this PV (#lostClaimsByVolume). */
  lostClaimsNaming(volumeName: string): readonly PersistentVolumeClaimRecord[] {
    return this.#lostClaimsByVolume.get(volumeName);
  }

  /** The nodes of pods writing to a hostPath that tolerate every taint (#podsLandingAnywhereByNode). */
  nodesOfPodsLandingAnywhere(): readonly string[] {
    return this.#podsLandingAnywhereByNode.bucketCount === 0 ? [] : [...this.#podsLandingAnywhereByNode.keys()];
  }

  upgradeJobPodsFor(nodeName: string): readonly PodRecord[] {
    return this.#upgradeJobPodsByNode.get(nodeName);
  }

  statefulSet(namespace: string, name: string): StatefulSetRecord | undefined {
    return this.#stores.statefulSet.get(`${namespace}/${name}`);
  }

  deletionAdmitted(uid: string): boolean {
    // Two lookups, none while nothing is pending.
    if (this.#pending.size === 0 || uid === '') return false;
    return this.#pending.get(statefulSetKey(uid)) !== undefined || this.#pending.get(removalKey({ kind: 'owner', uid })) !== undefined;
  }

  orphaningAdmitted(uid: string): boolean {
    if (this.#pending.size === 0 || uid === '') return false;
    const removal = this.#pending.get(statefulSetKey(uid))?.removal;
    return removal?.kind === 'statefulSet' && removal.orphaning === true;
  }

  machineRemovalAdmitted(namespace: string, name: string): boolean {
    return this.#pending.size > 0 && this.#pending.get(removalKey({ kind: 'machine', namespace, name, node: '' })) !== undefined;
  }

  statefulSetsOfRelease(namespace: string, release: string): readonly StatefulSetRecord[] {
    return this.#statefulSetsByRelease.get(`${namespace}/${release}`);
  }

  machinesOf(namespace: string, owner: 'MachineSet' | 'MachineDeployment' | 'KubeadmControlPlane', name: string): readonly MachineRecord[] {
    // The Machines carry their owner's name as Cluster API writes it into a label (hashed when too long).
    return this.#machinesByOwner.get(`${namespace}/${owner}/${clusterApiLabelValue(name)}`);
  }

  controlPlaneMachinesOf(namespace: string, cluster: string): readonly MachineRecord[] {
    return this.#controlPlaneMachinesByCluster.get(`${namespace}/${cluster}`);
  }

  machinesOfCluster(namespace: string, cluster: string): readonly MachineRecord[] {
    return this.#machinesByCluster.get(`${namespace}/${cluster}`);
  }

  machineDrainRulesIn(namespace: string): readonly MachineDrainRuleRecord[] {
    return this.#drainRulesByNamespace.get(namespace);
  }

  clusterApiCluster(namespace: string, name: string): ClusterApiClusterRecord | undefined {
    return this.#stores.clusterApiCluster.get(`${namespace}/${name}`);
  }

  machineOwner(namespace: string, owner: 'MachineDeployment' | 'KubeadmControlPlane', labelValue: string): MachineOwnerRecord | undefined {
    const store = owner === 'MachineDeployment' ? this.#stores.machineDeployment : this.#stores.kubeadmControlPlane;
    const named = store.get(`${namespace}/${labelValue}`);
    if (named !== undefined || !labelValue.startsWith('hash_')) return named;
    // A name too long for a label value: Cluster API wrote its hash (few owners per namespace to look through).
    for (const record of store.values()) if (record.namespace === namespace && clusterApiLabelValue(record.name) === labelValue) return record;
    return undefined;
  }
}

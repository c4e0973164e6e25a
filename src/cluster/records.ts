// Slim records: the only fields of each Kubernetes object that volume-guard's checks read.
// Informers transform every object on arrival, so memory grows with object count, not size.
// Keys: `namespace/name` for namespaced kinds, `name` for cluster-scoped ones.

/** Required node affinity, as parsed by node-affinity.ts (which matches it against nodes). */
export interface NodeSelectorRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values: readonly string[];
}

export interface NodeSelectorTerm {
  readonly matchExpressions: readonly NodeSelectorRequirement[];
  readonly matchFields: readonly NodeSelectorRequirement[];
}

/** Required node affinity: ORed terms. Empty: no constraint at all (every node matches). */
export type NodeSelector = readonly NodeSelectorTerm[];

/** Annotations and labels under this prefix are kept on records; everything else is dropped. */
export const ANNOTATION_PREFIX = 'volume-guard.io/';


export type Labels = Readonly<Record<string, string>>;

/** The labels charts put on a release's objects (StatefulSet PVCs inherit them): kept on PVC records and indexed. */
export const RELEASE_LABELS: readonly string[] = ['app.kubernetes.io/instance', 'release'];

/** The label Velero puts on every object it restores (kept on PVC records): a copy, not an object Helm rendered there. */
export const RESTORED_BY_VELERO_LABEL = 'velero.io/restore-name';

/** longhorn.io/v1beta2 Volume. */
export interface LonghornVolumeRecord {
  readonly namespace: string;
  readonly name: string;
  readonly numberOfReplicas: number;
  /** status.state: creating | attached | detached | attaching | detaching | deleting | '' */
  readonly state: string;
  /** status.robustness: healthy | degraded | faulted | unknown | '' */
  readonly robustness: string;
  /** status.currentNodeID: the node it is attached to, '' when detached. */
  readonly currentNodeID: string;
  /** status.kubernetesStatus: the PV/PVC bound to this volume, '' when none. */
  readonly pvName: string;
  readonly pvcNamespace: string;
  readonly pvcName: string;
  /** metadata.deletionTimestamp is set. */
  readonly deleting: boolean;
  /**
   * spec.dataLocality is `strict-local`: its replica is pinned to the volume's node (hardNodeAffinity), so Longhorn
   * can never evict it to another node. Omitted otherwise.
   */
  readonly strictLocal?: true;
  /**
   * spec.nodeSelector and spec.diskSelector: the tags a Longhorn node, and a disk of it, must carry for Longhorn's
   * replica scheduler to place a replica of this volume there. Omitted when empty.
   */
  readonly nodeSelector?: readonly string[];
  readonly diskSelector?: readonly string[];
  /**
   * spec.replicaSoftAntiAffinity when it overrides Longhorn's replica-soft-anti-affinity setting (`enabled`: two
   * replicas may share a node; `disabled`: never). Omitted for `ignored` or unset: the setting decides.
   */
  readonly replicaSoftAntiAffinity?: 'enabled' | 'disabled';
  /**
   * spec.dataEngine (Longhorn 1.5's spec.backendStoreDriver) is `v2`: an SPDK volume, whose replicas Longhorn's replica
   * scheduler places only on `block` disks (a v1 volume's only on `filesystem` disks). Omitted for v1.
   */
  readonly dataEngine?: 'v2';
  /**
   * `status.restoreRequired` or `status.isStandby`: Longhorn is restoring the volume from a backup (created from one,
   * restore not completed yet) or keeps it as a disaster-recovery volume on standby (following its backup volume until
   * activated). Until it clears both, longhorn-manager attaches it to no workload and reports it not ready for one
   * (AttachVolume: "volume is pending restoring"; types.IsVolumeReady: "restore is required"): nothing but the restore
   * wrote to it, so its replicas hold nothing the backup does not. Omitted otherwise.
   */
  readonly restoring?: true;
  /**
   * The target of a clone while its copy runs: `spec.dataSource` names a volume or a snapshot of one (`vol://<source>`,
   * `snap://<source>/<snapshot>`, what longhorn-manager's types.IsDataFromVolume accepts) and `status.cloneStatus.state`
   * is `` or `initiated` (isCloneTargetCopyInProgress). longhorn-manager gives it one replica until then (getReplenishReplicasCount)
   * and attaches it to no workload during the copy: its replica holds part of the source's snapshot, which the source
   * volume keeps. Omitted otherwise, also once the copy completed (`copy-completed-awaiting-healthy`, `completed`) or
   * failed (a failure may follow the copy, when a workload could write to it already).
   */
  readonly cloning?: true;
  /** Only `volume-guard.io/` annotations (its delete approval, for the audit); absent when it carries none. */
  readonly annotations?: Labels;
}

/** longhorn.io/v1beta2 Replica. */
export interface LonghornReplicaRecord {
  readonly namespace: string;
  readonly name: string;
  readonly volumeName: string;
  readonly nodeID: string;
  /** spec.diskID: the UUID of the disk the replica's data lives on. */
  readonly diskID: string;
  readonly healthyAt: string;
  readonly failedAt: string;
  /** spec.desireState */
  readonly desireState: string;
  /** status.currentState: running | stopped | error | starting | stopping | unknown | '' */
  readonly currentState: string;
  readonly deleting: boolean;
  /**
   * `spec.active` is false: a matching replica longhorn-manager created for a live migration or engine upgrade
   * (createAndStartMatchingReplicas: same node, same data directory as the active one it duplicates), or the old one
   * it replaces once switched. Longhorn counts only active replicas as healthy (getHealthyAndActiveReplicaCount) and
   * deletes the data directory only with an active replica: an inactive one holds no copy of its own. Omitted: active.
   */
  readonly inactive?: true;
  /**
   * `spec.lastFailedAt`, kept only while `spec.failedAt` is empty and `spec.lastHealthyAt` is not after it (missing or
   * unreadable included): the replica failed, its failedAt was cleared since (auto-salvage or a salvage after every
   * replica failed, or its reuse for a rebuild) and it has not been RW in an engine since. longhorn-manager does not
   * take it for a safe copy (isSafeAsLastReplica) and keeps every replica that held data until one is
   * (shouldCleanUpFailedReplica). Omitted otherwise: never failed, served since, or failed (failedAt says it).
   */
  readonly lastFailedAt?: string;
}

/** longhorn.io/v1beta2 Node: which disk UUIDs exist on it now, and whether Longhorn reports it down. */
export interface LonghornNodeRecord {
  readonly namespace: string;
  readonly name: string;
  /** status.diskStatus[*].diskUUID, empty strings dropped. */
  readonly diskUUIDs: readonly string[];
  /**
   * Those of them whose disk's Ready condition is False: longhorn-manager keeps the UUID it recorded when the disk's
   * filesystem changed (reformatted in place) or its config file cannot be read, and cannot use the replicas there.
   * Omitted when none.
   */
  readonly notReadyDiskUUIDs?: readonly string[];
  /**
   * `spec.evictionRequested`: the admin asked Longhorn to move every replica off this node (its documented step
   * before removing a node). longhorn-manager evicts them whatever the node-drain-policy and whether the Kubernetes
   * Node is cordoned or not. Omitted: not requested.
   */
  readonly evictionRequested?: true;
  /**
   * The disk UUIDs (status.diskStatus) of the disks whose `spec.disks[<name>].evictionRequested` is true: Longhorn moves
   * the replicas off those disks. Omitted when none.
   */
  readonly evictingDiskUUIDs?: readonly string[];
  /**
   * Longhorn's own "node down or deleted": its Ready condition is False with reason KubernetesNodeGone or
   * KubernetesNodeNotReady (what longhorn-manager itself tests before it counts on a node's replicas).
   */
  readonly down: boolean;
  /**
   * Longhorn's replica scheduler places no new replica here (its getNodeInfo and disk filter): the node's Ready or
   * Schedulable condition is not True (Schedulable is False on a cordoned node under Longhorn's default
   * disable-scheduling-on-cordoned-node), `spec.allowScheduling` is false, it is being deleted, or none of its disks
   * takes replicas (`allowScheduling` false, `evictionRequested`, or its Schedulable condition not True). Omitted: it may.
   */
  readonly refusesReplicas?: true;
  /** spec.tags, omitted when none. */
  readonly tags?: readonly string[];
  /** The spec.disks tags of each disk that takes replicas; omitted when none of them carries a tag. */
  readonly diskTags?: readonly (readonly string[])[];
  /**
   * What its spec offers Longhorn's replica scheduler whatever its state now (NotReady, cordoned, a disk short of
   * space: passing states): its `spec.tags`, and the tags of each disk with `allowScheduling` on and no
   * `evictionRequested`. Omitted when its spec takes no replica: `allowScheduling` off, `evictionRequested`, being
   * deleted, or no such disk. Read to tell a volume Longhorn has no node for (isShortOfNodesOnly).
   */
  readonly placement?: ReplicaPlacement;
}

/**
 * Longhorn's setting letting two replicas of a volume share a node when no other node is left (default false); a
 * volume's `replicaSoftAntiAffinity` overrides it.
 */
export const REPLICA_SOFT_ANTI_AFFINITY = 'replica-soft-anti-affinity';

/** A Longhorn node's spec, as Longhorn's replica scheduler matches a volume's nodeSelector and diskSelector to it. */
export interface ReplicaPlacement {
  readonly tags: readonly string[];
  /** The tags of each `filesystem` disk offered: where a v1 volume's replica may go. */
  readonly diskTags: readonly (readonly string[])[];
  /** The tags of each `block` disk offered: where a v2 volume's replica may go. Omitted when none. */
  readonly blockDiskTags?: readonly (readonly string[])[];
}

/** longhorn.io/v1beta2 Setting: its name (e.g. node-drain-policy) and top-level `value`. */
export interface LonghornSettingRecord {
  readonly namespace: string;
  readonly name: string;
  readonly value: string;
}

/**
 * A Harvester upgrade: harvesterhci.io/v1beta1 Upgrade (namespaced) or the upgrade toolkit's
 * management.harvesterhci.io/v1beta1 UpgradePlan (cluster-scoped): what volume-guard needs to recognise the cordons
 * and drains Harvester performs for an upgrade it admitted with skipSingleReplicaDetachedVol.
 */
export interface HarvesterUpgradeRecord {
  readonly kind: 'Upgrade' | 'UpgradePlan';
  /** '' for an UpgradePlan (cluster-scoped). */
  readonly namespace: string;
  readonly name: string;
  /** The annotation harvesterhci.io/skipSingleReplicaDetachedVol is exactly "true". */
  readonly skipDetached: boolean;
  /**
   * Upgrade: the label harvesterhci.io/upgradeState (UpgradingNodes while nodes are drained and upgraded, Succeeded,
   * Failed...). UpgradePlan: status.currentPhase (NodeUpgrading while nodes are drained and upgraded, ...).
   */
  readonly state: string;
  /**
   * Upgrade: status.nodeStatuses[<node>].state (Images preloaded, Pre-draining, Pre-drained, Post-draining, Waiting
   * Reboot, Succeeded...). UpgradePlan: status.nodeUpgradeStatuses[<node>].state (ImagePreloaded, PreDraining,
   * PreDrained, PostDraining, WaitingReboot, PostDrained...).
   */
  readonly nodeStates: Labels;
  /**
   * Only `volume-guard.io/` annotations (an admin's skip, accepted at the upgrade's creation, carried to the drains of
   * its nodes); absent when it carries none.
   */
  readonly annotations?: Labels;
}

/** core/v1 Node. */
export interface NodeRecord {
  readonly name: string;
  /**
   * Being emptied: `spec.unschedulable` (a cordon), or a taint with which an autoscaler takes the node out before
   * deleting it and evicts its pods (DRAIN_TAINT_KEYS in transforms.ts: cluster-autoscaler, Karpenter).
   */
  readonly unschedulable: boolean;
  /** status.conditions[type=Ready].status: True | False | Unknown, '' when the node reports no Ready condition. */
  readonly ready: string;
  /** That condition's lastTransitionTime in epoch milliseconds, 0 when absent or unreadable. */
  readonly readySince: number;
  /** Only `volume-guard.io/` annotations. */
  readonly annotations: Labels;
  /** Every label: PV and pod node affinity may use any key (see node-affinity.ts). */
  readonly labels: Labels;
  /** Carries an autoscaler's drain taint (DRAIN_TAINT_KEYS): it is being removed, its disks with it. Omitted: no. */
  readonly leaving?: boolean;
  /**
   * `spec.unschedulable` itself, set only with `leaving` (otherwise `unschedulable` is it): Longhorn's drain policy
   * acts on a cordon, not on a drain taint (isCordoned).
   */
  readonly cordoned?: boolean;
  /**
   * spec.providerID, omitted when empty: Cluster API finds the Node of a Machine whose status.nodeRef is not set yet by
   * it, and drains and deletes that Node (isDeleteNodeAllowed, getNode).
   */
  readonly providerID?: string;
  /**
   * The drain taints themselves, set only with `leaving`: ordinary NoSchedule / NoExecute taints to the scheduler, so
   * a pod tolerating them (an empty-key Exists toleration) may still be placed on the node (podLandsOn).
   */
  readonly drainTaints?: readonly Taint[];
  /**
   * Its `NoSchedule` and `NoExecute` taints (the ones the scheduler's TaintToleration filter reads), in order, except
   * those a field above stands for: `node.kubernetes.io/unschedulable` (`unschedulable`), `not-ready` and
   * `unreachable` (`ready`), the autoscalers' drain taints (`leaving`). At most MAX_NODE_TAINTS (transforms.ts);
   * omitted when none (most nodes).
   */
  readonly taints?: readonly Taint[];
  /** It carries more such taints than `taints` keeps: whether a pod tolerates them all is unknown. Omitted: no. */
  readonly taintsCut?: true;
}

/** A node's taint (spec.taints[]) that keeps pods off it: effect NoSchedule or NoExecute. */
export interface Taint {
  readonly key: string;
  readonly value: string;
  readonly effect: 'NoSchedule' | 'NoExecute';
}

/**
 * A generic ephemeral volume's claim (`spec.volumes[].ephemeral`): the ephemeral-volume controller creates it for
 * one pod, owned by that pod, and the garbage collector deletes it with the pod (and its PV, reclaim Delete),
 * wherever the pod goes. Its data is scratch that no drain can save: any restart of the pod loses it.
 */
export function isPodScratchClaim(claim: Pick<PersistentVolumeClaimRecord, 'ownerReferences'> | undefined): boolean {
  return claim !== undefined && claim.ownerReferences.length > 0 && claim.ownerReferences.every((owner) => owner.kind === 'Pod');
}

/** Whether the Node is cordoned (`spec.unschedulable`), whatever drain taint it carries. */
export function isCordoned(node: NodeRecord): boolean {
  return node.leaving === true ? node.cordoned === true : node.unschedulable;
}

/**
 * The value Cluster API writes into its owner labels (`set-name`, `deployment-name`, `control-plane-name`) for an
 * owner's name: the name itself when it is a valid label value, else `hash_<FNV-1a 32 of the name, base64url>_z`
 * (a MachineSet named after a MachineDeployment of 58 characters or more is over the 63-character limit).
 */
export function clusterApiLabelValue(name: string): string {
  if (name.length <= 63 && /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(name)) return name;
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(name, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  const digest = Buffer.alloc(4);
  digest.writeUInt32BE(hash);
  return `hash_${digest.toString('base64url')}_z`;
}

/** How a PersistentVolume keeps its data: node-local kinds lose it when pods move. */
export type VolumeSource = 'local' | 'hostPath' | 'nfs' | 'csi' | 'other';

/** core/v1 PersistentVolume. */
export interface PersistentVolumeRecord {
  readonly name: string;
  readonly source: VolumeSource;
  /** spec.csi.driver, or the `pv.kubernetes.io/provisioned-by` annotation, '' when unknown. */
  readonly driver: string;
  readonly storageClassName: string;
  /** spec.nodeAffinity.required, parsed (empty: no affinity). */
  readonly nodeAffinity: NodeSelector;
  /**
   * The node the affinity names by `kubernetes.io/hostname` (or another well-known node-name key) or
   * `metadata.name` In [one value] in every term, '' otherwise: where the data is when no live node matches
   * (the node was deleted and its data stayed behind).
   */
  readonly namedNode: string;
  /**
   * The one node this PV can ever mount on, from its affinity and the live Nodes' labels (the model keeps it
   * up to date as nodes come, go and change labels; see pinnedNodeOf in node-affinity.ts); '' when none.
   * Straight out of the transform it is `namedNode`.
   */
  readonly pinnedNode: string;
  /** spec.claimRef, '' when unbound. */
  readonly claimNamespace: string;
  readonly claimName: string;
  /** status.phase: Available | Bound | Released | Failed | Pending */
  readonly phase: string;
  /** spec.persistentVolumeReclaimPolicy: Retain | Delete | Recycle */
  readonly reclaimPolicy: string;
  /**
   * spec.hostPath.path or spec.local.path, normalised (normaliseHostPath): the node's directory (or, for a block `local`
   * PV, device) holding the data; kept for `hostPath` and `local` PVs only.
   */
  readonly hostDirectory?: string;
  /** Only `volume-guard.io/` annotations (its delete approval, for the audit); absent when it carries none. */
  readonly annotations?: Labels;
}

export interface OwnerRef {
  /** `<group>/<version>` (`v1` for the core group); omitted when the reference has none. */
  readonly apiVersion?: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  /** `controller: true` (absent otherwise): the StatefulSet controller leaves a claim another controller holds alone. */
  readonly controller?: true;
}

/** The API group of an ownerReference's apiVersion: `postgresql.cnpg.io/v1` → `postgresql.cnpg.io`, `v1` → ''. */
export function ownerGroup(apiVersion: string | undefined): string {
  const slash = (apiVersion ?? '').lastIndexOf('/');
  return slash < 0 ? '' : apiVersion!.slice(0, slash);
}

/** `<group>/<Kind>`: the key the model indexes dependents under by the kind of their owners (a CRD names one). */
export function ownerKindKey(group: string, kind: string): string {
  return `${group}/${kind}`;
}

/**
 * `<apiVersion>/<Kind>` of an owner reference (`rabbitmq.com/v1beta1/RabbitmqCluster`, `apps/v1/Deployment`): what a
 * StatefulSet or Namespace record keeps of each owner's type, the version included (the garbage collector resolves a
 * reference only through a version its API serves).
 */
export function ownerTypeOf(apiVersion: string | undefined, kind: string): string {
  return `${apiVersion ?? ''}/${kind}`;
}

/** The apiVersion and kind of an ownerTypeOf string. */
export function splitOwnerType(type: string): { readonly apiVersion: string; readonly kind: string } {
  const slash = type.lastIndexOf('/');
  return { apiVersion: type.slice(0, Math.max(slash, 0)), kind: type.slice(slash + 1) };
}

/** The version of an apiVersion: `postgresql.cnpg.io/v1` → `v1`, `v1` → `v1`. */
export function ownerVersion(apiVersion: string | undefined): string {
  const value = apiVersion ?? '';
  return value.slice(value.lastIndexOf('/') + 1);
}

/**
 * A group a CRD may define: the API server requires a dot in a CRD's spec.group, so owners of the built-in groups
 * (`apps/StatefulSet`, core `/Pod`) are never indexed by kind (no CRD DELETE asks for them).
 */
export function isCustomResourceGroup(group: string): boolean {
  return group.includes('.');
}

/** core/v1 PersistentVolumeClaim. */
export interface PersistentVolumeClaimRecord {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** spec.volumeName, '' when unbound. */
  readonly volumeName: string;
  readonly phase: string;
  readonly storageClassName: string;
  /** Only the release labels `app.kubernetes.io/instance` and `release`, plus `volume-guard.io/` labels. */
  readonly labels: Labels;
  /** Only `volume-guard.io/` annotations plus `meta.helm.sh/release-name`, `-namespace` and `helm.sh/resource-policy`. */
  readonly annotations: Labels;
  readonly ownerReferences: readonly OwnerRef[];
  readonly creationTimestamp: string;
  readonly deleting: boolean;
}

/** An inline hostPath volume of a pod. */
export interface HostPathMount {
  /** spec.volumes[].hostPath.path, normalised (no trailing `/`, no `//`, no `.` segments). */
  readonly path: string;
  /** Some container (init, app or ephemeral) mounts it without readOnly. */
  readonly writable: boolean;
}

/** core/v1 Pod: where it runs, which claims it mounts, and the node-local data it keeps inline. */
export interface PodRecord {
  readonly namespace: string;
  readonly name: string;
  readonly nodeName: string;
  readonly phase: string;
  /** metadata.deletionTimestamp is set: the pod goes whatever is asked of it next. */
  readonly deleting: boolean;
  readonly claimNames: readonly string[];
  /**
   * Kind of the controlling owner (ReplicaSet, StatefulSet, Job, DaemonSet, ...), `Node` for a static pod's
   * mirror, '' for a bare pod.
   */
  readonly controllerKind: string;
  /**
   * Inline hostPath volumes holding files or directories (sockets and character devices dropped); empty for
   * DaemonSet and static pods, which always come back to the same node.
   */
  readonly hostPaths: readonly HostPathMount[];
  /** Names of emptyDir volumes some container mounts writable; kept for StatefulSet pods only. */
  readonly emptyDirs: readonly string[];
  /**
   * nodeSelector ANDed with the required node affinity; kept only when hostPaths or emptyDirs is not empty or the
   * pod mounts a claim (it decides whether the pod could come back anywhere else, or to its node at all).
   */
  readonly nodeSelector: NodeSelector;
  /**
   * The tolerations a NoExecute taint is matched against (effect NoExecute or any), in the pod's order, with their
   * tolerationSeconds: the taint manager reads only the first one matching each taint (GetMatchingTolerations), so
   * one with seconds ahead of one without still gets the pod deleted. not-ready / unreachable ones aside (those taints
   * are never judged); omitted when none (most pods).
   */
  readonly noExecuteTolerations?: readonly Toleration[];
  /**
   * The tolerations a NoSchedule taint is matched against (effect NoSchedule or any), condition keys included (a
   * `node.kubernetes.io/unschedulable` one lets the pod onto a cordoned node): where its replacement may be scheduled
   * (taints.ts). Kept, as `nodeSelector`, only for pods with inline data or a claim; omitted when none (most pods).
   */
  readonly noScheduleTolerations?: readonly Toleration[];
  /**
   * Every label, kept for Longhorn's instance-manager pods (label `longhorn.io/component: instance-manager`): Cluster
   * API's drain matches them against the pod selectors of MachineDrainRules and reads its `cluster.x-k8s.io/drain`
   * label; and for pods with `antiAffinity` (a replica keeping another replica's replacement off its node).
   */
  readonly labels?: Labels;
  /**
   * spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution, kept for pods writing to a hostPath
   * only (a Deployment spreading its replicas one per node): where the replacement of such a pod cannot go. Omitted
   * when none (most pods).
   */
  readonly antiAffinity?: readonly PodAffinityTermRecord[];
  /**
   * The host ports its containers bind (spec.containers[].ports[] with a hostPort; the API server sets hostPort to the
   * containerPort on a hostNetwork pod), kept for pods writing to a hostPath only: a node where one is taken refuses
   * the pod's replacement (the scheduler's NodePorts filter). Omitted when none (most pods).
   */
  readonly hostPorts?: readonly HostPortRecord[];
  /**
   * Kept for a system-upgrade-controller Job's pod only (labelled `upgrade.cattle.io/node` and shaped as the controller
   * makes it: see upgradeJobOf in transforms.ts): the node it upgrades, and who cordons or drains it (its init
   * container runs `kubectl cordon` or `kubectl drain` as the pod's service account).
   */
  readonly upgradeJob?: SystemUpgradeJob;
}

/** A system-upgrade-controller Job's pod: what it upgrades, for which Plan, as whom, with what (PodRecord.upgradeJob). */
export interface SystemUpgradeJob {
  /** Label `upgrade.cattle.io/node`: the node the Job upgrades (its pod's required node affinity names it too). */
  readonly node: string;
  /** Label `upgrade.cattle.io/plan`: the Plan, in the pod's namespace (never ''). */
  readonly plan: string;
  /** spec.serviceAccountName (the Plan's `spec.serviceAccountName`); `default` when absent. */
  readonly serviceAccount: string;
  /** The image of its container `upgrade` (the Plan's `spec.upgrade.image`, tagged): what the upgrade does; '' when none. */
  readonly image: string;
}

/**
 * A required pod anti-affinity term (core/v1 PodAffinityTerm), as the scheduler reads it: the pods it names are those
 * of `namespaces` (or every namespace) matching `selector`; a node whose `topologyKey` value holds one is refused.
 */
export interface PodAffinityTermRecord {
  /**
   * labelSelector with the evicted pod's own labels for matchLabelKeys (In) and mismatchLabelKeys (NotIn) added, as the
   * API server merges them; undefined when absent (the term matches no pod).
   */
  readonly selector: LabelSelectorRecord | undefined;
  /**
   * The namespaces whose pods it surely names: `namespaces`, or the pod's own when neither they nor a
   * namespaceSelector are given. A namespaceSelector's matches are not read (only `{}`, every namespace: `anyNamespace`).
   */
  readonly namespaces: readonly string[];
  /** namespaceSelector `{}`: every namespace. Omitted: no. */
  readonly anyNamespace?: true;
  readonly topologyKey: string;
}

/** A host port a container binds: protocol (TCP when unset), host IP (0.0.0.0, every IP, when unset) and port. */
export interface HostPortRecord {
  readonly protocol: string;
  readonly ip: string;
  readonly port: number;
}

/** A pod's toleration (spec.tolerations[]), as matched against a node's taint. */
export interface Toleration {
  /** '' with operator Exists: every taint. */
  readonly key: string;
  /** `Exists` or `Equal` ('' reads as Equal); `Lt` / `Gt` with TaintTolerationComparisonOperators (1.35+). */
  readonly operator: string;
  readonly value: string;
  /** spec.tolerations[].tolerationSeconds; omitted when absent (tolerated for good). */
  readonly tolerationSeconds?: number;
}

/** apps/v1 StatefulSet. */
export interface StatefulSetRecord {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly replicas: number;
  /** spec.ordinals.start, 0 when absent. */
  readonly ordinalsStart: number;
  /** metadata.creationTimestamp: PVCs named for it but older were left by an earlier StatefulSet of that name. */
  readonly creationTimestamp: string;
  /** spec.persistentVolumeClaimRetentionPolicy.whenScaled: 'Delete', or 'Retain' (the default). */
  readonly whenScaled: string;
  /** spec.volumeClaimTemplates[*].metadata.name */
  readonly claimTemplates: readonly string[];
  /** spec.selector.matchLabels */
  readonly selector: Labels;
  /** `meta.helm.sh/release-name` / `meta.helm.sh/release-namespace`, '' when absent. */
  readonly helmReleaseName: string;
  readonly helmReleaseNamespace: string;
  /** `helm.sh/resource-policy: keep`, exactly: an upgrade that drops it leaves it (Helm reads the live annotation). */
  readonly helmKeep: boolean;
  /**
   * `helm.sh/resource-policy` with any value: an uninstall leaves it (Helm lower-cases `keep` there and deletes only
   * what has no policy). Absent without one.
   */
  readonly helmPolicy?: true;
  /**
   * The spec fields the Helm release last set, read from metadata.managedFields: owned by the field manager that also
   * owns the `meta.helm.sh/release-name` annotation. A revision that no longer declares one removes it (Helm 3's
   * three-way merge from its previous manifest, Helm 4's server-side apply) and the API server's default takes its
   * place: 1 replica, ordinals from 0, whenScaled Retain. Omitted: none of them.
   */
  readonly releaseSets?: { readonly replicas?: true; readonly ordinalsStart?: true; readonly whenScaled?: true };
  /** Only `volume-guard.io/` annotations (a skip read at its CREATE, for the audit); absent when it carries none. */
  readonly annotations?: Labels;
  /**
   * metadata.deletionTimestamp is set: no owner that keeps its dependents (a foreground deletion waits for them to
   * go; any other ends with it gone). Omitted: no.
   */
  readonly deleting?: true;
  /**
   * Being deleted with the `orphan` finalizer (`kubectl delete --cascade=orphan`): the garbage collector removes its
   * pods' and claims' owner references before the object goes, so they stay. Omitted: no (or not being deleted).
   */
  readonly orphaning?: true;
  /** The uids its own ownerReferences name (an operator's resource, ...). Omitted when it has none. */
  readonly ownerUids?: readonly string[];
  /**
   * The `<apiVersion>/<Kind>` of its ownerReferences (ownerTypeOf): whose CRD's DELETE takes it along. Omitted when none
   * is of a group a CRD may define (isCustomResourceGroup).
   */
  readonly ownerTypes?: readonly string[];
  /**
   * One of its ownerReferences says `controller: true`: an operator made it for a resource of its own (rabbitmq's
   * cluster-operator for a RabbitmqCluster, ...), copying that resource's annotations, Helm's release annotations
   * included. Helm never sets an owner reference: such a StatefulSet is not one its manifest rendered. Omitted: no.
   */
  readonly controlled?: true;
}

/** core/v1 Namespace. */
export interface NamespaceRecord {
  readonly name: string;
  /** Only `volume-guard.io/` annotations. */
  readonly annotations: Labels;
  /** metadata.deletionTimestamp is set: the namespace controller is deleting everything in it. */
  readonly deleting?: true;
  /** metadata.labels (a MachineDrainRule's namespaceSelector reads them); omitted when none. */
  readonly labels?: Labels;
  /**
   * The uids its ownerReferences name (a Capsule Tenant, a Kubeflow Profile: the garbage collector deletes it with
   * them). Omitted when it has none, as for nearly every namespace.
   */
  readonly ownerUids?: readonly string[];
  /** The `<apiVersion>/<Kind>` of its ownerReferences (ownerTypeOf). Omitted as for a StatefulSet's. */
  readonly ownerTypes?: readonly string[];
  /**
   * `meta.helm.sh/release-name` / `-namespace`: a release's manifest rendered it, and a revision that drops it has
   * Helm delete it. Omitted when not annotated (most namespaces; `--create-namespace` annotates none).
   */
  readonly helmReleaseName?: string;
  readonly helmReleaseNamespace?: string;
  /** `helm.sh/resource-policy: keep`, exactly: an upgrade that drops it leaves it (Helm reads the live annotation). Omitted: no. */
  readonly helmKeep?: true;
}

/**
 * The label every control-plane Machine carries (any provider): Cluster API counts a Cluster's Machines with it, not
 * being deleted, before it drains a Machine's node (isDeleteNodeAllowed: errNoControlPlaneNodes).
 */
export const MACHINE_CONTROL_PLANE_ROLE_LABEL = 'cluster.x-k8s.io/control-plane';

/** cluster.x-k8s.io Machine: which node it runs, and which MachineSet/MachineDeployment owns it. */
export interface MachineRecord {
  readonly namespace: string;
  readonly name: string;
  /** status.nodeRef.name, '' before the node joined. */
  readonly nodeName: string;
  /**
   * spec.providerID while status.nodeRef is not set, omitted otherwise: Cluster API then finds the Node by it at the
   * Machine's deletion (isDeleteNodeAllowed, getNode), drains and deletes it.
   */
  readonly providerID?: string;
  /** Label `cluster.x-k8s.io/set-name`, '' when not in a MachineSet. */
  readonly machineSet: string;
  /** Label `cluster.x-k8s.io/deployment-name`, '' when not in a MachineDeployment. */
  readonly machineDeployment: string;
  /** Label `cluster.x-k8s.io/control-plane-name` (a KubeadmControlPlane's Machines), '' otherwise. */
  readonly controlPlane: string;
  /** Annotation `cluster.x-k8s.io/delete-machine` present: removed first when its set scales down. */
  readonly deleteMarked: boolean;
  /**
   * Its `NodeHealthy` or `HealthCheckSucceeded` condition is `False` (status.conditions): Cluster API removes it
   * with the Machines that have no node, before healthy ones, when its set scales down.
   */
  readonly unhealthy: boolean;
  /**
   * An in-place update is in progress (annotation `in-place-updates.internal.cluster.x-k8s.io/update-in-progress`,
   * or `UpdateMachine` among `runtime.cluster.x-k8s.io/pending-hooks`): removed before unhealthy Machines.
   */
  readonly updatingInPlace: boolean;
  readonly deleting: boolean;
  /**
   * Cluster API deletes its node without waiting for a complete drain: `excluded` with the annotation
   * `machine.cluster.x-k8s.io/exclude-node-draining` (no cordon, no eviction), `timeout` with a node drain timeout
   * (v1beta2 `spec.deletion.nodeDrainTimeoutSeconds`, v1beta1 `spec.nodeDrainTimeout`) past which it stops waiting on
   * evictions. Absent: it drains until every eviction succeeds.
   */
  readonly drainCutShort?: 'excluded' | 'timeout';
  /** spec.clusterName: the Cluster (same namespace) whose labels a MachineDrainRule's clusterSelector reads. */
  readonly clusterName: string;
  /** metadata.labels: a MachineDrainRule's machine selectors read them. */
  readonly labels: Labels;
}

/** One requirement of a metav1.LabelSelector's matchExpressions. */
export interface LabelSelectorRequirement {
  readonly key: string;
  /** In, NotIn, Exists, DoesNotExist (anything else makes the selector invalid). */
  readonly operator: string;
  readonly values: readonly string[];
}

/** A metav1.LabelSelector; absent or empty selects everything (Cluster API's matchesSelector). */
export interface LabelSelectorRecord {
  readonly matchLabels: Labels;
  readonly matchExpressions: readonly LabelSelectorRequirement[];
}

/**
 * cluster.x-k8s.io MachineDrainRule: how Cluster API's drain of the Machines it applies to (its namespace's) treats
 * the pods it applies to. An entry of `machines` or `pods` with a selector left out selects everything.
 */
export interface MachineDrainRuleRecord {
  readonly namespace: string;
  readonly name: string;
  /** spec.drain.behavior: `Drain`, `Skip`, `WaitCompleted` (anything else: Cluster API's drain errors for the pod). */
  readonly behavior: string;
  /** spec.machines (ORed); empty: every Machine of the namespace. */
  readonly machines: readonly { readonly selector?: LabelSelectorRecord; readonly clusterSelector?: LabelSelectorRecord }[];
  /** spec.pods (ORed); empty: every pod. */
  readonly pods: readonly { readonly selector?: LabelSelectorRecord; readonly namespaceSelector?: LabelSelectorRecord }[];
}

/** cluster.x-k8s.io Cluster: its labels, which a MachineDrainRule's clusterSelector reads. */
export interface ClusterApiClusterRecord {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  /**
   * Being deleted (metadata.deletionTimestamp): Cluster API then deletes its Machines without draining their nodes
   * (isDeleteNodeAllowed: errClusterIsBeingDeleted). Omitted: no.
   */
  readonly deleting?: boolean;
  /**
   * spec.controlPlaneRef's kind and name (same namespace): Cluster API drains no Machine of the Cluster while that
   * object is being deleted, and reads it to tell an externally managed control plane. Omitted when not set.
   */
  readonly controlPlaneRef?: { readonly kind: string; readonly name: string };
  /**
   * spec.paused true: Cluster API's controllers leave the Cluster and its Machines alone. `clusterctl move` sets it
   * before it deletes the moved objects from the source cluster (a Machine DELETE it makes removes no node). Omitted:
   * not paused.
   */
  readonly paused?: boolean;
}

/**
 * A Cluster API MachineDeployment (cluster.x-k8s.io) or KubeadmControlPlane (controlplane.cluster.x-k8s.io): its
 * `volume-guard.io/` annotations, which the scale-downs and Machine deletions of its rollouts read (its own skip,
 * policed by the override guard when its kind is in `upgrades.kinds`).
 */
export interface MachineOwnerRecord {
  readonly namespace: string;
  readonly name: string;
  /** Only `volume-guard.io/` annotations; absent when it carries none. */
  readonly annotations?: Labels;
  /** Being deleted (metadata.deletionTimestamp). Omitted: no. */
  readonly deleting?: true;
}

export interface RecordByKind {
  longhornVolume: LonghornVolumeRecord;
  longhornReplica: LonghornReplicaRecord;
  longhornNode: LonghornNodeRecord;
  longhornSetting: LonghornSettingRecord;
  harvesterUpgrade: HarvesterUpgradeRecord;
  harvesterUpgradePlan: HarvesterUpgradeRecord;
  node: NodeRecord;
  persistentVolume: PersistentVolumeRecord;
  persistentVolumeClaim: PersistentVolumeClaimRecord;
  pod: PodRecord;
  statefulSet: StatefulSetRecord;
  namespace: NamespaceRecord;
  machine: MachineRecord;
  machineDrainRule: MachineDrainRuleRecord;
  clusterApiCluster: ClusterApiClusterRecord;
  machineDeployment: MachineOwnerRecord;
  kubeadmControlPlane: MachineOwnerRecord;
}

export type ResourceKind = keyof RecordByKind;

export const RESOURCE_KINDS: readonly ResourceKind[] = [
  'longhornVolume',
  'longhornReplica',
  'longhornNode',
  'longhornSetting',
  'harvesterUpgrade',
  'harvesterUpgradePlan',
  'node',
  'persistentVolume',
  'persistentVolumeClaim',
  'pod',
  'statefulSet',
  'namespace',
  'machine',
  'machineDrainRule',
  'clusterApiCluster',
  'machineDeployment',
  'kubeadmControlPlane',
];

/** The key of a record in its store: `namespace/name`, or `name` for cluster-scoped kinds. */
export function recordKey(record: { readonly name: string; readonly namespace?: string }): string {
  return record.namespace ? `${record.namespace}/${record.name}` : record.name;
}

/**
 * What informers write into. Every write is synchronous, so a request handler that runs its checks
 * without awaiting sees one consistent state of the whole model.
 */
export interface ModelSink {
  upsert<K extends ResourceKind>(kind: K, record: RecordByKind[K]): void;
  remove(kind: ResourceKind, key: string): void;
  /** After a (re)list: the kind's full contents; records absent from `records` are removed. */
  replaceAll<K extends ResourceKind>(kind: K, records: readonly RecordByKind[K][]): void;
  /**
   * Whether Longhorn's CRDs are served. Called by the informers when they discover (or lose) them; Longhorn
   * records already in the model are left as they are (the informers reconcile them with replaceAll).
   */
  setLonghornInstalled(installed: boolean): void;
}

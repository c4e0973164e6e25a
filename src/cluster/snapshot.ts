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
  NamespaceRecord,
  NodeRecord,
  PersistentVolumeClaimRecord,
  PersistentVolumeRecord,
  PodRecord,
  ResourceKind,
  StatefulSetRecord,
  VolumeSource,
} from './records.ts';

/**
 * What is left of a replica's data on its node and disk: `kept`; `gone` with its node (neither a Node nor a Longhorn
 * node knows it) or its disk (a UUID no longer among its Longhorn node's: reformatted or replaced, seed 002); `unsure`
 * on a disk Longhorn reports not ready while keeping its UUID. longhorn-manager reports a disk whose config file it
 * cannot find so, whether the disk failed to mount (mounted again, it is ready with the same UUID and its replicas) or
 * was reformatted in place: volume-guard cannot tell which.
 */
export type ReplicaDataState = 'kept' | 'unsure' | 'gone';

/**
 * What a volume-set predicate may look at besides the volume itself. Predicates are given to the model at
 * construction (by whoever wires the checks in), so the model keeps their sets up to date on every write
 * and an upgrade check never has to scan every volume.
 */
export interface VolumeContext {
  readonly replicas: readonly LonghornReplicaRecord[];
  /** The disk UUIDs currently on a Longhorn node, undefined when that node is unknown. */
  diskUUIDsOf(nodeName: string): readonly string[] | undefined;
  /** Whether a copy on the node (and disk, when given) counts (ClusterSnapshot.nodeIsUp). */
  nodeIsUp(nodeName: string, diskID?: string): boolean;
  /** What is left of a replica's data on the node (and disk), up or down (ClusterSnapshot.replicaData). */
  replicaData(nodeName: string, diskID?: string): ReplicaDataState;
  /**
   * Where Longhorn's replica scheduler may place replicas (isShortOfNodesOnly). Omitted: unknown, and no volume is
   * taken as short of nodes.
   */
  scheduling?(): ReplicaScheduling;
}

/** What Longhorn's replica scheduler reads, whatever the nodes' state now. */
export interface ReplicaScheduling {
  /** Every Longhorn node (those whose spec takes replicas carry `placement`). */
  readonly nodes: Iterable<LonghornNodeRecord>;
  /** A Longhorn setting's value ('' when unseen). */
  setting(name: string): string;
}

export type VolumePredicate = (volume: LonghornVolumeRecord, context: VolumeContext) => boolean;

/**
 * The keys a volume is counted under in a count the model keeps (none: not counted): the nodes whose cordon a
 * check reports it for, or its tags. Given to the model at construction like the predicates, and re-evaluated on
 * the same writes.
 */
export type VolumeKeys = (volume: LonghornVolumeRecord, context: VolumeContext) => readonly string[];

/** A count kept by the model: `keys` runs for every volume, or with `inSet` only for that volume set's members. */
export interface VolumeCount {
  readonly inSet?: string;
  readonly keys: VolumeKeys;
  /** Keep the volumes counted under each key too (volumesCountedUnder), not only how many. */
  readonly members?: boolean;
}

/** Who is removing a node with its disks (ClusterSnapshot.nodeLeaving). */
export type NodeLeaving = 'autoscaler' | 'machine' | 'deleted';

/**
 * A read-only view of the live cluster, backed by indexes: every query costs O(objects returned).
 * It reads the model as it is now; checks run synchronously, so one request sees one consistent state.
 * Returned arrays must not be mutated by callers.
 */
export interface ClusterSnapshot {
  /** Longhorn's CRDs are installed (its checks are "not applicable" otherwise). */
  readonly longhornInstalled: boolean;

  count(kind: ResourceKind): number;

  longhornVolume(name: string): LonghornVolumeRecord | undefined;
  /** The Longhorn volume backing a PV (Longhorn names the volume after the PV; also status.kubernetesStatus.pvName). */
  longhornVolumeOfPV(pvName: string): LonghornVolumeRecord | undefined;
  longhornVolumes(): Iterable<LonghornVolumeRecord>;
  /** Volumes currently matching the named predicate given to the model at construction. */
  volumesInSet(setName: string): Iterable<LonghornVolumeRecord>;
  volumeSetSize(setName: string): number;
  /**
   * How many volumes the named count (VolumeCount given to the model) files under `key` (a node, a tag list) now,
   * or undefined when the model keeps no such count (then a check walks the objects instead).
   */
  volumeCount(countName: string, key: string): number | undefined;
  /** Every key of the named count with its number of volumes, or undefined when the model keeps no such count. */
  volumeCountsByKey(countName: string): ReadonlyMap<string, number> | undefined;
  /**
   * The volumes the named count files under `key`, in the order they came to it, for a count that keeps its members (none
   * otherwise): a check finds one volume of a kind without visiting the others.
   */
  volumesCountedUnder(countName: string, key: string): Iterable<LonghornVolumeRecord>;
  replicasOfVolume(volumeName: string): readonly LonghornReplicaRecord[];
  replicasOnNode(nodeName: string): readonly LonghornReplicaRecord[];
  longhornNode(name: string): LonghornNodeRecord | undefined;
  /** Every Longhorn node (a few per cluster: one per Kubernetes node running Longhorn). */
  longhornNodes(): Iterable<LonghornNodeRecord>;
  /** A Longhorn setting by name (`node-drain-policy`), undefined when not seen. */
  longhornSetting(name: string): LonghornSettingRecord | undefined;
  /**
   * Whether a copy on the node counts for a volume: the node exists (as a core Node or a Longhorn node), its core
   * Node is not NotReady/Unknown past the configured grace, Longhorn's node CR does not report it down (Ready False,
   * KubernetesNodeGone/KubernetesNodeNotReady), its core Node was not seen deleted (its replicas stop with it, before
   * Longhorn says so), and, with `diskID`, that disk is still one of its Longhorn node's and not reported not ready.
   */
  nodeIsUp(nodeName: string, diskID?: string): boolean;
  /**
   * What is left of a replica's data on the node (and disk, when given), up or down (ReplicaDataState). A replica on
   * a node that is merely down keeps its data; one on a gone node or disk has none (Longhorn's auto-salvage skips it);
   * one on a disk Longhorn reports not ready may have it or not.
   */
  replicaData(nodeName: string, diskID?: string): ReplicaDataState;
  /** Harvester's Upgrade and UpgradePlan objects (few: Harvester keeps one running at a time). */
  harvesterUpgrades(): Iterable<HarvesterUpgradeRecord>;

  node(name: string): NodeRecord | undefined;
  /** Every Node (an upgrade Plan's node selector is evaluated over them). */
  nodes(): Iterable<NodeRecord>;
  /** Whether some Node is being removed with its disks (nodeLeaving), in O(1). */
  anyNodeLeaving(): boolean;
  /** Whether some Node is cordoned (nodeCordoned), in O(1) while none was admitted in the last few seconds. */
  anyNodeCordoned(): boolean;
  /**
   * Whether the Node is cordoned (`spec.unschedulable`), or volume-guard has just admitted its cordon and the
   * informers do not show it yet (`kubectl drain a b` cordons both before evicting anything).
   */
  nodeCordoned(name: string): boolean;
  /**
   * Whether some Node carries a NoExecute taint that its record keeps (NodeRecord.taints: not the node lifecycle
   * controller's not-ready / unreachable, nor a drain taint), in O(1): the taint manager empties such a node.
   */
  anyNodeTaintedNoExecute(): boolean;
  /**
   * Whether the node is being removed with its disks, and by whom: it carries an autoscaler's drain taint
   * (NodeRecord.leaving), or its Cluster API Machine is being deleted (drained, then its infrastructure deleted), or
   * volume-guard has just admitted one of those or the Node's DELETE (`deleted`) and the informers do not show it yet
   * (pending-removals.ts).
   */
  nodeLeaving(name: string): NodeLeaving | undefined;
  /**
   * The Cluster API Machine whose deletion removes the node: the informers show it being deleted, or volume-guard has
   * just admitted its removal (its DELETE, a scale-down naming it) and they do not show it yet. Its controller drains
   * the node (cordon, evictions), then deletes the infrastructure machine.
   */
  machineRemovingNode(node: string): MachineRecord | undefined;
  /**
   * Whether volume-guard refused `user`'s cordon of the node within the last REFUSED_CORDON_TTL_MS, no cordon of it
   * allowed since (RemovalRecorder.refuseCordon): that user's pod DELETEs on the still schedulable node are
   * `kubectl drain --disable-eviction` going on. Other users' (a controller's restart) are not. `dryRun`: for a
   * dry-run DELETE, a refused dry-run cordon counts too (the same preview, `drain --dry-run=server`).
   */
  cordonRefused(name: string, user: string, dryRun?: boolean): boolean;
  /**
   * Whether volume-guard allowed `user`'s dry-run cordon of the node within the last REFUSED_CORDON_TTL_MS, not
   * refused since (RemovalRecorder.allowDryRunCordon): that user's dry-run evictions and DELETEs there are
   * `kubectl drain --dry-run=server` previewing the drain of the node cordoned. Never read for a real request.
   */
  dryRunCordonAllowed(name: string, user: string): boolean;
  /**
   * Nodes labelled `key=value`, for node-affinity evaluation (node-affinity.ts). Group keys (zone, region, ...)
   * are not indexed and always answer none: they never pin.
   */
  nodesLabelled(key: string, value: string): readonly NodeRecord[];
  namespace(name: string): NamespaceRecord | undefined;

  persistentVolume(name: string): PersistentVolumeRecord | undefined;
  /** PVs pinned by node affinity to exactly this node. */
  persistentVolumesPinnedTo(nodeName: string): readonly PersistentVolumeRecord[];
  /**
   * The bound PVs (phase Bound, naming a claim) pinned to the node, counted by `<source> <driver>`: how many a
   * node-local check would report, past the listed few, without walking them.
   */
  boundPersistentVolumeKindsPinnedTo(nodeName: string): ReadonlyMap<string, number>;
  /** Every PV pinned to some node (for the audit report). */
  pinnedPersistentVolumes(): Iterable<PersistentVolumeRecord>;
  /**
   * The PVs naming a claim that no live node pins but whose affinity names this node (PersistentVolumeRecord.namedNode):
   * an open affinity such as a `matchFields` metadata.name term, which the scheduler ignores for a PV.
   */
  unpinnedPersistentVolumesNaming(nodeName: string): readonly PersistentVolumeRecord[];
  /** Every node some such PV names (unpinnedPersistentVolumesNaming), live or not (for the audit report). */
  nodesNamedByUnpinnedPersistentVolumes(): Iterable<string>;
  /**
   * The source and driver of each kind of PV that no live node pins and that names a claim (few kinds: Longhorn,
   * NFS...), so a check can tell in O(kinds) whether any such PV could keep node-local data.
   */
  unpinnedClaimedPersistentVolumeSources(): Iterable<{ readonly source: VolumeSource; readonly driver: string }>;
  /** The PVs no live node pins that name a claim, of one such source and driver (unpinnedClaimedPersistentVolumeSources). */
  unpinnedClaimedPersistentVolumes(source: VolumeSource, driver: string): readonly PersistentVolumeRecord[];
  persistentVolumeClaim(namespace: string, name: string): PersistentVolumeClaimRecord | undefined;
  /** Whether any PVC is a pod's scratch claim (isPodScratchClaim), in O(1): most clusters have none. */
  hasPodScratchClaims(): boolean;
  persistentVolumeClaimsIn(namespace: string): readonly PersistentVolumeClaimRecord[];
  /** PVCs in the namespace labelled `app.kubernetes.io/instance=<release>` or `release=<release>`. */
  persistentVolumeClaimsOfRelease(namespace: string, release: string): readonly PersistentVolumeClaimRecord[];
  /**
   * PVCs of the Helm release `namespace/release` by Helm's annotations (`meta.helm.sh/release-name=<release>`,
   * `meta.helm.sh/release-namespace=<namespace>`; without the namespace annotation, a release of their own namespace),
   * in any namespace (a chart may render one into another), in O(1).
   */
  persistentVolumeClaimsAnnotatedForRelease(namespace: string, release: string): readonly PersistentVolumeClaimRecord[];
  /**
   * PVCs whose ownerReferences name this uid, in any namespace (a cluster-scoped owner's may be in several), in O(1):
   * the garbage collector's candidates once that object is deleted.
   */
  persistentVolumeClaimsOwnedBy(uid: string): readonly PersistentVolumeClaimRecord[];
  /** The StatefulSets whose ownerReferences name this uid (an operator's resource owning them), in O(1). */
  statefulSetsOwnedBy(uid: string): readonly StatefulSetRecord[];
  /** The Namespaces whose ownerReferences name this uid (a Capsule Tenant owns its tenant's), in O(1). */
  namespacesOwnedBy(uid: string): readonly NamespaceRecord[];
  /**
   * Namespaces of the Helm release `namespace/release` by Helm's annotations (`meta.helm.sh/release-name` and
   * `-namespace`: a revision rendered them), in O(1).
   */
  namespacesAnnotatedForRelease(namespace: string, release: string): readonly NamespaceRecord[];
  /**
   * PVCs, StatefulSets, Namespaces whose ownerReferences name an object of this API group and kind (whatever its
   * version), in O(1): what the garbage collector deletes once a CRD's DELETE has removed every object of its kind.
   * Only for a group with a dot, as every CRD's is (the built-in `apps` or core group: none).
   */
  persistentVolumeClaimsOwnedByKind(group: string, kind: string): readonly PersistentVolumeClaimRecord[];
  statefulSetsOwnedByKind(group: string, kind: string): readonly StatefulSetRecord[];
  namespacesOwnedByKind(group: string, kind: string): readonly NamespaceRecord[];

  pod(namespace: string, name: string): PodRecord | undefined;
  podsUsingClaim(namespace: string, claimName: string): readonly PodRecord[];
  podsOnNode(nodeName: string): readonly PodRecord[];
  /** The pods on the node with a hostPath or emptyDir volume (podsOnNode, those only). */
  podsWithInlineDataOnNode(nodeName: string): readonly PodRecord[];
  /**
   * The running system-upgrade-controller Job pods upgrading the node (PodRecord.upgradeJob: not Succeeded or Failed,
   * not being deleted), wherever they are scheduled.
   */
  upgradeJobPodsFor(nodeName: string): readonly PodRecord[];

  statefulSet(namespace: string, name: string): StatefulSetRecord | undefined;
  /**
   * StatefulSets of the Helm release `namespace/release`: annotated `meta.helm.sh/release-name=<release>` and
   * `meta.helm.sh/release-namespace=<namespace>` (a StatefulSet without the namespace annotation belongs to a
   * release of its own namespace). They may live in another namespace than the release's when the chart says so.
   */
  statefulSetsOfRelease(namespace: string, release: string): readonly StatefulSetRecord[];
  /**
   * Whether volume-guard has just admitted the DELETE of the object with this uid (a StatefulSet) and the informers
   * do not show it gone or being deleted yet (pending-removals.ts): an owner that no longer keeps its dependents.
   */
  deletionAdmitted(uid: string): boolean;
  /** deletionAdmitted, by a DELETE orphaning its dependents (`--cascade=orphan`: the pods run on, bare). */
  orphaningAdmitted(uid: string): boolean;
  /**
   * Whether volume-guard has just admitted the removal of this Cluster API Machine (a scale-down that named it, or
   * its DELETE) and the informers do not show it being deleted yet: the Machine DELETE that follows was judged then.
   */
  machineRemovalAdmitted(namespace: string, name: string): boolean;

  /** Cluster API Machines of a MachineSet, MachineDeployment or KubeadmControlPlane (by their `cluster.x-k8s.io/*-name` labels). */
  machinesOf(namespace: string, owner: 'MachineSet' | 'MachineDeployment' | 'KubeadmControlPlane', name: string): readonly MachineRecord[];
  /** The Cluster's control-plane Machines (label `cluster.x-k8s.io/control-plane`), those being deleted included. */
  controlPlaneMachinesOf(namespace: string, cluster: string): readonly MachineRecord[];
  /** Every Machine of the Cluster (`spec.clusterName`, else label `cluster.x-k8s.io/cluster-name`), those being deleted included. */
  machinesOfCluster(namespace: string, cluster: string): readonly MachineRecord[];
  /** Cluster API MachineDrainRules of the namespace (they apply to its Machines only). */
  machineDrainRulesIn(namespace: string): readonly MachineDrainRuleRecord[];
  /** A Cluster API Cluster. */
  clusterApiCluster(namespace: string, name: string): ClusterApiClusterRecord | undefined;
  /**
   * The MachineDeployment or KubeadmControlPlane of the namespace whose name Cluster API writes as this owner label
   * value (`cluster.x-k8s.io/deployment-name`, `control-plane-name`: the name, or its hash when too long).
   */
  machineOwner(namespace: string, owner: 'MachineDeployment' | 'KubeadmControlPlane', labelValue: string): MachineOwnerRecord | undefined;
}

/** Freshness of the model, from the informers. */
export interface ModelHealth {
  /** Every informer has completed its first list. */
  synced(): boolean;
  /** Resources whose last successful list or watch event is older than maxAgeMs, on the health's own clock. */
  staleResources(maxAgeMs: number): readonly string[];
}

// The plan table: for each operation volume-guard guards, the checks it runs (in this order), over what scope, and
// where an admin can waive them. The validators judge their operation by its plan (`judgeByPlan` in
// plan-judge.ts), and `volume-guard audit` runs the same plans (src/audit/report.ts, src/audit/release.ts), so the
// audit cannot drift from what the webhook enforces. A new check goes into the plans of the operations it guards;
// a new operation is a new entry here (and the validator that recognises its requests). The README's table under
// "How it works" is `plansMarkdown()`; test/unit/admission/plans.test.ts holds both equal and every check in a plan.
import { collectLastReplicaOnNode, longhornVolumesOfClaims, type LeavingWith, type UnknownLonghornVolume } from '../checks/last-replica-on-node.ts';
import type { CappedFindings, CapOptions } from '../checks/collect.ts';
import { NO_CAP } from '../checks/collect.ts';
import { collectNodeLocalVolume, collectNodeLocalVolumeOfRemovedNodes, type NodeLocalOptions } from '../checks/node-local-volume.ts';
import { collectOrphanPvc, collectScaleUpAdoption, collectStatefulSetAdoption, type OrphanPvcTarget, type ScaleUpTarget } from '../checks/orphan-pvc.ts';
import {
  collectClaimsDeletedByAdoption,
  collectClaimsDeletedByScaleDown,
  collectClaimsDeletedWith,
  collectClaimsDeletedWithKind,
  collectLonghornVolumeDelete,
  collectReclaimChange,
  collectDroppedPvcs,
  collectPvcDelete,
  type DeletedClaim,
  type DeletedKindTarget,
  type DeletedLonghornVolume,
  type DeletedWithTarget,
  type ReclaimChangeTarget,
  type ScaledDownTarget,
} from '../checks/pvc-delete.ts';
import { NO_DATA_TAG } from '../checks/longhorn-health.ts';
import { collectSingleReplica } from '../checks/single-replica.ts';
import {
  collectReplicaDeletion,
  collectStorageTeardown,
  collectStorageUpgradeRisk,
  collectUnprotectedByDrainPolicy,
  type ReplicaDeletionTarget,
  type TeardownTarget,
} from '../checks/storage-teardown.ts';
import type { CheckId, Finding } from '../checks/types.ts';
import { collectVolumeHealth } from '../checks/volume-health.ts';
import type { PodRecord, ResourceKind } from '../cluster/records.ts';
import type { ClusterSnapshot } from '../cluster/snapshot.ts';
import type { ManifestStatefulSet } from '../helm/manifest.ts';
import { DECISION_TAGS } from './decide.ts';
import { WORDING_TAGS } from './messages.ts';
import type { OverrideSource } from './overrides.ts';
import { storageUpgradeCheck } from './validators/storage-upgrade-hook.ts';

/** What a check needs beside the snapshot and its target: the configuration's parts that change what it finds. */
export interface PlanOptions {
  readonly nodeLocal: NodeLocalOptions;
  /** Told of a Longhorn volume a check met but the model does not know (skipped; the webhook logs it). */
  readonly onUnknownLonghornVolume?: (unknown: UnknownLonghornVolume) => void;
}

/** One check of a plan: how it is run on the plan's target. */
export interface PlanCheck<Target> {
  readonly check: CheckId;
  /** Runs only for the targets this holds for (omitted: always). */
  readonly when?: (target: Target) => boolean;
  /** With `when`: for which, in words (the README table). */
  readonly whenText?: string;
  readonly collect: (snapshot: ClusterSnapshot, target: Target, cap: CapOptions, options: PlanOptions) => CappedFindings;
  /**
   * `collect` builds one finding of each WORDING_TAGS combination of its check past any cap, so the denial's wording
   * is the same however few findings it builds. Checks whose wording reads no tags (WORDING_TAGS: none) need not say.
   */
  readonly representsWording?: boolean;
}

/** Whether the denial's wording of this entry's check reads nothing of its findings beyond what `collect` represents. */
export function wordedFromTags(entry: PlanCheck<never>): boolean {
  const tags = WORDING_TAGS[entry.check];
  return tags !== undefined && (tags.length === 0 || entry.representsWording === true);
}

/** What the checks of a plan look at. */
export type PlanScope = 'cluster' | 'node' | 'pod' | 'release' | 'statefulset' | 'claim' | 'namespace' | 'owned' | 'kind' | 'scaled' | 'volume' | 'storage';

/** Where an override that waives the plan's checks is read. */
export type OverridePlace =
  | 'object'
  | 'node'
  | 'namespace'
  | 'namespace-helm'
  | 'namespace-evictions'
  | 'release-label'
  | 'pvc-reuse'
  | 'pvc-delete'
  | 'pv-delete'
  | 'volume-delete'
  | 'storage-namespace'
  | 'harvester-annotation'
  | 'harvester-drain'
  | 'harvester-upgrade-skip'
  | 'machine-owner';

export interface Plan<Target, Place extends OverridePlace = OverridePlace> {
  /** The webhook (validator target) that judges it. */
  readonly webhook: string;
  /** The requests, in words (README table). */
  readonly requests: string;
  readonly scope: PlanScope;
  readonly checks: readonly PlanCheck<Target>[];
  /**
   * Where its overrides are read, in the order they are tried. The validators read them through `readOverrides`,
   * one reader per place (the type holds the readers equal to this list), so the two cannot drift.
   */
  readonly overrides: readonly Place[];
  /**
   * The resources the answer reads, its validator's own reads (overrides, what it looks up before and after the
   * plan) included: a stale one makes it unknown, a stale other one does not matter. Every plan says:
   * test/unit/admission/plan-reads.test.ts holds it to what the checks and the validators read.
   */
  readonly reads: readonly ResourceKind[];
}

/** An operation volume-guard never refuses, only warns about (what its checks would find is said as warnings). */
export interface Notice {
  readonly webhook: string;
  readonly requests: string;
  readonly scope: PlanScope;
  readonly checks: readonly CheckId[];
}

// ------------------------------------------------------------------------------------------------ targets

export interface NodeTarget {
  readonly node: string;
  /**
   * The node is removed for good, its disks with it (Node or Machine DELETE, a scale-down, an autoscaler's drain
   * taint), not only emptied (cordon, drain, reboot): data pinned to it has no node to come back to.
   */
  readonly removed?: boolean;
  /** Other nodes the same operation may remove (a Cluster API scale-down): their copies are no copy to count on. */
  readonly leavingWith?: LeavingWith;
}

/** An upgrade: the nodes it reboots or replaces when volume-guard can tell which (omitted: every node). */
export interface UpgradeTarget {
  readonly nodes?: readonly string[];
  /**
   * With `nodes`: the upgrade replaces them, disks and all (a Cluster API rollout deletes each Machine once its
   * replacement is up), rather than rebooting them in place: the data pinned to them is judged as at their removal.
   */
  readonly replaced?: boolean;
  /**
   * Only the volumes that hold data: a volume of numberOfReplicas 1 never attached (NO_DATA_TAG) is skipped, as a
   * cordon skips it. Not for Harvester's upgrades, whose own check refuses every volume of numberOfReplicas 1.
   */
  readonly heldDataOnly?: boolean;
}

/** A pod leaving its node: its own data there (its claims, its inline volumes). */
export interface PodTarget {
  readonly node: string;
  readonly pod: PodRecord;
  /** Its node is being removed for good (NodeTarget.removed). */
  readonly removed?: boolean;
  /** Its node stays schedulable, no drain in sight (NodeLocalVolumeTarget.staysSchedulable). */
  readonly staysSchedulable?: boolean;
}

export type ReleaseTarget = Pick<OrphanPvcTarget, 'release' | 'operation' | 'manifest' | 'elsewhere' | 'retriedInstall' | 'chartUnseen'> & {
  /** Epoch ms, for the expiry of the PVCs' delete approvals (pvc-delete); omitted: those approvals are not read. */
  readonly now?: number;
  /** config.longhorn.namespace: a manifest rendering longhorn-manager there upgrades Longhorn (storage-upgrade-hook.ts). */
  readonly longhornNamespace?: string;
};

/** A StatefulSet created outside Helm. */
export type StatefulSetCreateTarget = ManifestStatefulSet & {
  /** Epoch ms, for the expiry of the PVCs' delete approvals. */
  readonly now: number;
};

export interface DrainPolicyTarget {
  /** The node-drain-policy a drain would follow after the change. */
  readonly policy: string;
  /**
   * The one it follows now (the live Setting; Longhorn's default when unset): a volume already left unprotected by it
   * is at no new risk from the change. Omitted: the default.
   */
  readonly from?: string;
}

// ------------------------------------------------------------------------------------------------ resources read

/** What the node-wide checks read: a stale one of these makes the answer unknown. */
export const NODE_CHECK_RESOURCES: readonly ResourceKind[] = [
  'node',
  'persistentVolume',
  'persistentVolumeClaim',
  'pod',
  'longhornVolume',
  'longhornReplica',
  'longhornNode',
  'longhornSetting',
  'harvesterUpgrade',
  'harvesterUpgradePlan',
  // Whether a node goes with its disks (ClusterSnapshot.nodeLeaving): its Cluster API Machine being deleted.
  'machine',
];

/**
 * What the pod-level checks read (a Machine being deleted makes its node's data go with it; whether the nodes of the
 * other copies, and their disks, are up: Longhorn's nodes).
 */
export const POD_DATA_RESOURCES: readonly ResourceKind[] = [
  'node',
  'pod',
  'persistentVolume',
  'persistentVolumeClaim',
  'longhornVolume',
  'longhornReplica',
  'longhornNode',
  'machine',
];

/**
 * What the upgrade checks read: Longhorn's view, whether nodes are up, the settings its replica scheduler reads
 * (isShortOfNodesOnly), a pod's scratch claims and their pods (isScratchVolumeTaken), and the PVs a Cluster API
 * rollout's nodes keep data in (node-local-volume).
 * test/unit/admission/plan-reads.test.ts holds every plan's reads to what its checks read.
 */
export const UPGRADE_CHECK_RESOURCES: readonly ResourceKind[] = [
  'node',
  'persistentVolume',
  'longhornVolume',
  'longhornReplica',
  'longhornNode',
  'longhornSetting',
  'persistentVolumeClaim',
  'pod',
];

/**
 * A Machine's DELETE reads how Cluster API drains its node too: the MachineDrainRules, the labels of the Clusters and
 * namespaces their selectors read.
 */
export const MACHINE_DRAIN_RESOURCES: readonly ResourceKind[] = [...NODE_CHECK_RESOURCES, 'machineDrainRule', 'clusterApiCluster', 'namespace'];

/**
 * Where the skip of the MachineDeployment or KubeadmControlPlane owning a Machine is read, as stored: at the Machine's
 * removal, and at the drain of its node while it is being deleted (rollout-owner.ts).
 */
export const MACHINE_OWNER_RESOURCES: readonly ResourceKind[] = ['machineDeployment', 'kubeadmControlPlane'];

/**
 * What the claim checks of a release or a StatefulSet read: the PVCs, their PVs (reclaim policy), the pods using them,
 * the StatefulSets claiming or owning them.
 */
const CLAIM_RESOURCES: readonly ResourceKind[] = ['persistentVolumeClaim', 'persistentVolume', 'pod', 'statefulSet'];

/**
 * A Helm release record's answer but a Longhorn upgrade's: the claim checks, and the release namespace's skip (the
 * validator reads the release's objects elsewhere, the PVCs' approvals, the StatefulSets it takes over: all of these).
 */
export const RELEASE_RESOURCES: readonly ResourceKind[] = [...CLAIM_RESOURCES, 'namespace'];

/**
 * Whether a Longhorn volume ever held data (neverHeldData): its volume and replicas. Read by a claim's deletion
 * (reclaimLoss: a Longhorn PV whose volume has nothing to lose is no loss), a Volume DELETE and Longhorn's teardown.
 */
const LONGHORN_DATA_RESOURCES: readonly ResourceKind[] = ['longhornVolume', 'longhornReplica'];

/**
 * What a judgement of Longhorn's volumes by their health or copies reads: the volume sets (volumes, replicas, the
 * nodes and Longhorn nodes they are up on, Longhorn's scheduling settings).
 */
const LONGHORN_VOLUME_RESOURCES: readonly ResourceKind[] = ['longhornVolume', 'longhornReplica', 'longhornNode', 'node', 'longhornSetting'];

/** A Machine's removal reads the skip of the MachineDeployment or KubeadmControlPlane that owns it. */
const MACHINE_REMOVAL_RESOURCES: readonly ResourceKind[] = [...MACHINE_DRAIN_RESOURCES, ...MACHINE_OWNER_RESOURCES];

/** A scale-down reads the Machines too (NODE_CHECK_RESOURCES has them already). */
export const MACHINE_RESOURCES: readonly ResourceKind[] = MACHINE_REMOVAL_RESOURCES;

// ------------------------------------------------------------------------------------------------ checks by scope

/** Every volume with data on the node, and the node's own disks: what a node leaving service takes. */
const NODE_CHECKS: readonly PlanCheck<NodeTarget>[] = [
  {
    check: 'last-replica-on-node',
    collect: (snapshot, { node, leavingWith }, cap, options) =>
      collectLastReplicaOnNode(
        snapshot,
        { node, ...(leavingWith ? { leavingWith } : {}), ...(options.onUnknownLonghornVolume ? { onUnknownVolume: options.onUnknownLonghornVolume } : {}) },
        cap,
      ),
  },
  { check: 'single-replica', collect: (snapshot, { node }, cap) => collectSingleReplica(snapshot, { node }, cap) },
  { check: 'volume-health', collect: (snapshot, { node }, cap) => collectVolumeHealth(snapshot, { node }, cap) },
  {
    check: 'node-local-volume',
    collect: (snapshot, { node, removed }, cap, options) =>
      collectNodeLocalVolume(snapshot, { node, ...(removed === true ? { removed } : {}) }, cap, options.nodeLocal),
  },
];

/** The pod's own data on its node: node-local claims and inline volumes, the last copy of its Longhorn volumes. */
const POD_CHECKS: readonly PlanCheck<PodTarget>[] = [
  {
    check: 'node-local-volume',
    collect: (snapshot, { node, pod, removed, staysSchedulable }, cap, options) =>
      collectNodeLocalVolume(
        snapshot,
        {
          node,
          claims: pod.claimNames.map((name) => ({ namespace: pod.namespace, name })),
          pod,
          ...(removed === true ? { removed } : {}),
          ...(staysSchedulable === true ? { staysSchedulable } : {}),
        },
        cap,
        options.nodeLocal,
      ),
  },
  {
    check: 'last-replica-on-node',
    collect: (snapshot, { node, pod }, cap, options) =>
      collectLastReplicaOnNode(
        snapshot,
        { node, volumes: longhornVolumesOfClaims(snapshot, pod.namespace, pod.claimNames, options.onUnknownLonghornVolume) },
        cap,
      ),
  },
];

/** Every Longhorn volume whose data the operation deletes. */
const TEARDOWN_CHECKS: readonly PlanCheck<TeardownTarget>[] = [
  { check: 'storage-teardown', collect: (snapshot, target, cap) => collectStorageTeardown(snapshot, target, cap) },
];

/** Faulted volumes and volumes without a healthy copy, which an upgrade of the storage system can lose. */
const STORAGE_UPGRADE_CHECK: PlanCheck<unknown> = { check: 'volume-health', collect: (snapshot, _target, cap) => collectStorageUpgradeRisk(snapshot, cap) };

// The drain of a node whose Cluster API Machine is being deleted reads the Machine owner's skip too: the drain is the
// next step of the removal its rollout or scale-down carried out.
const NODE_DRAIN_OVERRIDES = ['node', 'machine-owner', 'harvester-drain', 'harvester-upgrade-skip'] as const satisfies readonly OverridePlace[];
const POD_OVERRIDES = ['node', 'namespace-evictions', 'machine-owner', 'harvester-drain', 'harvester-upgrade-skip'] as const satisfies readonly OverridePlace[];

// ------------------------------------------------------------------------------------------------ the table

/** A plan entry, keeping its override places' literal type (what `readOverrides` holds the readers to). */
const plan =
  <Target>() =>
  <const Place extends OverridePlace>(entry: Plan<Target, Place>): Plan<Target, Place> =>
    entry;

export const PLANS = {
  upgrade: plan<UpgradeTarget>()({
    webhook: 'upgrade',
    requests: 'creation of an upgrade object, or a change that starts a rollout',
    scope: 'cluster',
    checks: [
      // Past the listed few, one finding of each wording there is (effective, several-copies, detached) is still built: the
      // denial's summary and fix read them. The decision's tags (`detached`: Harvester's advice) are counted over
      // all. The model counts the volumes by tags, so this walks no further.
      {
        check: 'single-replica',
        collect: (snapshot, target, cap) => {
          const worded = cap.representTags
            ? cap
            : { ...cap, representTags: WORDING_TAGS['single-replica'] ?? [], countTags: cap.countTags ?? DECISION_TAGS['single-replica'] ?? [] };
          return collectSingleReplica(
            snapshot,
            target.nodes === undefined ? {} : { nodes: target.nodes },
            target.heldDataOnly === true ? { ...worded, skipTags: [...(worded.skipTags ?? []), NO_DATA_TAG] } : worded,
          );
        },
        representsWording: true,
      },
      {
        check: 'volume-health',
        collect: (snapshot, target, cap) => collectVolumeHealth(snapshot, target.nodes === undefined ? {} : { nodes: target.nodes }, cap),
      },
      {
        // A rollout replacing its Machines deletes each node with its disks, as a Machine DELETE does (judged there
        // as a removal): said at the change that starts it, not only once it stalls half way.
        check: 'node-local-volume',
        when: (target) => target.replaced === true && target.nodes !== undefined,
        whenText: 'Cluster API rollouts, on the nodes they replace',
        collect: (snapshot, target, cap, options) => collectNodeLocalVolumeOfRemovedNodes(snapshot, target.nodes ?? [], cap, options.nodeLocal),
      },
    ],
    overrides: ['object', 'harvester-annotation'],
    reads: UPGRADE_CHECK_RESOURCES,
  }),
  'node-cordon': plan<NodeTarget>()({
    webhook: 'node-cordon',
    requests: 'cordon of a node, or a NoSchedule/NoExecute taint added',
    scope: 'node',
    checks: NODE_CHECKS,
    // The object under review is the node: its skip, judged with the requester when this update writes it.
    overrides: NODE_DRAIN_OVERRIDES,
    reads: [...NODE_CHECK_RESOURCES, ...MACHINE_OWNER_RESOURCES],
  }),
  'node-delete': plan<NodeTarget>()({
    webhook: 'node-cordon',
    requests: 'Node DELETE',
    scope: 'node',
    checks: NODE_CHECKS,
    // Cluster API's Machine controller deletes the Node last, once the infrastructure machine is gone: the owner's
    // skip its drain carried carries to it (it retries for nodeDeletionTimeout only, then leaves the Node behind).
    overrides: NODE_DRAIN_OVERRIDES,
    reads: [...NODE_CHECK_RESOURCES, ...MACHINE_OWNER_RESOURCES],
  }),
  eviction: plan<PodTarget>()({
    webhook: 'pod-eviction',
    requests: 'eviction of a pod from a schedulable node',
    scope: 'pod',
    checks: POD_CHECKS,
    overrides: POD_OVERRIDES,
    reads: POD_DATA_RESOURCES,
  }),
  'eviction-draining': plan<NodeTarget>()({
    webhook: 'pod-eviction',
    requests: 'eviction of a pod from an unschedulable node',
    scope: 'node',
    checks: NODE_CHECKS,
    overrides: POD_OVERRIDES,
    reads: NODE_CHECK_RESOURCES,
  }),
  'pod-delete': plan<PodTarget>()({
    webhook: 'pod-delete',
    requests: 'pod DELETE on an unschedulable node',
    scope: 'pod',
    checks: POD_CHECKS,
    overrides: POD_OVERRIDES,
    reads: POD_DATA_RESOURCES,
  }),
  'machine-delete': plan<NodeTarget>()({
    webhook: 'machine',
    requests: 'Cluster API Machine DELETE, or an UPDATE of one being deleted cutting its drain short (exclude-node-draining added, a node drain timeout set, labels making a Skip MachineDrainRule apply); a MachineDeployment, MachineSet, KubeadmControlPlane or Cluster DELETE (each node of its Machines); a Cluster, KubeadmControlPlane or last active control-plane Machine DELETE, or a MachineDrainRule write or a pod, Cluster or Namespace label change, ending the drain of Machines being deleted',
    scope: 'node',
    checks: NODE_CHECKS,
    // The node's skip, then the owner's (its rollout or scale-down accepted with it), then Harvester's drains.
    overrides: ['node', 'machine-owner', 'harvester-drain', 'harvester-upgrade-skip'],
    reads: MACHINE_REMOVAL_RESOURCES,
  }),
  'machine-scale-down': plan<NodeTarget>()({
    webhook: 'machine',
    requests: 'MachineDeployment/MachineSet/KubeadmControlPlane replicas decrease (each node that may go)',
    scope: 'node',
    checks: NODE_CHECKS,
    overrides: ['object', 'node', 'machine-owner', 'harvester-drain', 'harvester-upgrade-skip'],
    reads: MACHINE_RESOURCES,
  }),
  'helm-release': plan<ReleaseTarget>()({
    webhook: 'helm-release',
    requests: 'Helm install, upgrade or rollback (the release record)',
    scope: 'release',
    checks: [
      { check: 'orphan-pvc', collect: (snapshot, target, cap) => collectOrphanPvc(snapshot, target, cap) },
      { check: 'pvc-delete', collect: (snapshot, target, cap) => collectDroppedPvcs(snapshot, target, cap) },
      // Issue 20.3: an upgrade or rollback of a release shipping the storage system is an upgrade like any other.
      { ...STORAGE_UPGRADE_CHECK, when: (target) => storageUpgradeCheck(target) !== undefined, whenText: 'Longhorn upgrades' },
    ],
    // The PVCs' delete approvals count here as at the DELETEs Helm then makes (one answer for one deletion).
    overrides: ['release-label', 'namespace', 'pvc-reuse', 'pvc-delete'],
    // With Longhorn's volumes for a Longhorn upgrade; the validator reads RELEASE_RESOURCES for any other release.
    reads: [...RELEASE_RESOURCES, ...LONGHORN_VOLUME_RESOURCES],
  }),
  statefulset: plan<StatefulSetCreateTarget>()({
    webhook: 'statefulset',
    requests: 'StatefulSet CREATE outside Helm',
    scope: 'statefulset',
    checks: [
      { check: 'orphan-pvc', collect: (snapshot, target, cap) => collectStatefulSetAdoption(snapshot, target, cap) },
      // Under whenScaled: Delete, the orphaned pods it adopts outside its ordinals take their PVCs with them.
      { check: 'pvc-delete', collect: (snapshot, target, cap) => collectClaimsDeletedByAdoption(snapshot, target, target.now, cap) },
    ],
    overrides: ['object', 'pvc-reuse', 'pvc-delete'],
    reads: CLAIM_RESOURCES,
  }),
  'statefulset-scale-up': plan<ScaleUpTarget>()({
    webhook: 'statefulset',
    requests: 'StatefulSet replicas raised or ordinals.start moved (UPDATE or scale) outside Helm',
    scope: 'statefulset',
    checks: [{ check: 'orphan-pvc', collect: (snapshot, target, cap) => collectScaleUpAdoption(snapshot, target, cap) }],
    // The StatefulSet's own annotations are not policed by the override guard: only the PVCs' approvals count.
    overrides: ['pvc-reuse'],
    reads: ['persistentVolumeClaim', 'pod', 'statefulSet'],
  }),
  'pvc-delete': plan<DeletedClaim>()({
    webhook: 'pvc-delete',
    requests: 'PVC DELETE (automation identities; others per pvcDelete.others)',
    scope: 'claim',
    checks: [{ check: 'pvc-delete', collect: (snapshot, claim, cap) => collectPvcDelete(snapshot, claim, cap) }],
    overrides: ['pvc-delete', 'namespace-helm'],
    // The PVC is in the request; its PV's reclaim policy (and its Longhorn volume's data), its namespace (being deleted;
    // its skip), and for the garbage collector's DELETE the StatefulSets that owned it (whether their removal was
    // judged) are read from the model.
    reads: ['persistentVolume', 'namespace', 'statefulSet', ...LONGHORN_DATA_RESOURCES],
  }),
  'namespace-delete': plan<DeletedWithTarget>()({
    webhook: 'pvc-delete',
    requests: 'Namespace DELETE (automation identities; others per pvcDelete.others)',
    scope: 'namespace',
    checks: [{ check: 'pvc-delete', collect: (snapshot, target, cap) => collectClaimsDeletedWith(snapshot, target, cap) }],
    overrides: ['object', 'pvc-delete'],
    reads: ['namespace', 'persistentVolumeClaim', 'persistentVolume', ...LONGHORN_DATA_RESOURCES],
  }),
  'statefulset-delete': plan<DeletedWithTarget>()({
    webhook: 'pvc-delete',
    requests: 'StatefulSet DELETE, not orphaning, with retention whenDeleted: Delete or PVCs naming it as owner (automation identities; others per pvcDelete.others)',
    scope: 'owned',
    checks: [{ check: 'pvc-delete', collect: (snapshot, target, cap) => collectClaimsDeletedWith(snapshot, target, cap) }],
    // The StatefulSet's own annotations are not policed by the override guard: only the PVCs' approvals count, and
    // for a StatefulSet of a Helm release the namespace's skip, as at the release record that judged its drop.
    overrides: ['pvc-delete', 'namespace-helm'],
    reads: ['persistentVolumeClaim', 'persistentVolume', 'statefulSet', ...LONGHORN_DATA_RESOURCES],
  }),
  'owner-delete': plan<DeletedWithTarget>()({
    webhook: 'owner-delete',
    requests:
      'DELETE of any other object (an operator\'s resource: a CloudNativePG Cluster...), not orphaning, that Bound PVCs name as owner, or owning a StatefulSet or Namespace that holds them (automation identities only)',
    scope: 'owned',
    checks: [{ check: 'pvc-delete', collect: (snapshot, target, cap) => collectClaimsDeletedWith(snapshot, target, cap) }],
    // As for a StatefulSet: the owner's annotations are not policed by the override guard.
    overrides: ['pvc-delete', 'namespace-helm'],
    reads: ['persistentVolumeClaim', 'persistentVolume', 'statefulSet', 'namespace', ...LONGHORN_DATA_RESOURCES],
  }),
  'crd-delete': plan<DeletedKindTarget>()({
    webhook: 'storage-teardown',
    requests:
      'CustomResourceDefinition DELETE: every object of its kind goes, with the Bound PVCs they own, directly or through StatefulSets or Namespaces they own (anyone)',
    scope: 'kind',
    checks: [{ check: 'pvc-delete', collect: (snapshot, target, cap) => collectClaimsDeletedWithKind(snapshot, target, cap) }],
    // The CRD's skip (policed by the override guard when written), then the PVCs' approvals.
    overrides: ['object', 'pvc-delete'],
    reads: ['persistentVolumeClaim', 'persistentVolume', 'statefulSet', 'namespace', ...LONGHORN_DATA_RESOURCES],
  }),
  'statefulset-scale-down': plan<ScaledDownTarget>()({
    webhook: 'pvc-delete',
    requests:
      'StatefulSet UPDATE or scale leaving pods outside its ordinal range, retention whenScaled: Delete (automation identities; others per pvcDelete.others)',
    scope: 'scaled',
    checks: [{ check: 'pvc-delete', collect: (snapshot, target, cap) => collectClaimsDeletedByScaleDown(snapshot, target, cap) }],
    // The namespace's skip only for Helm's own write judged here (Flux's helm-controller without a record seen), as at its record.
    overrides: ['pvc-delete', 'namespace-helm'],
    reads: ['persistentVolumeClaim', 'persistentVolume', 'pod', 'statefulSet', ...LONGHORN_DATA_RESOURCES],
  }),
  'pv-reclaim': plan<ReclaimChangeTarget>()({
    webhook: 'pvc-delete',
    requests:
      "PV reclaim policy turned to Delete or Recycle after its claim is gone or while it is being deleted, or its claimRef re-pointed under it at a claim that is gone (automation identities; others per pvcDelete.others; never the PV controller's binds), or a PV created with it naming a claim that is gone (automation identities; people per pvcDelete.others; never provisioners: service accounts, nodes, the control plane)",
    scope: 'volume',
    checks: [{ check: 'pvc-delete', collect: (snapshot, target, cap) => collectReclaimChange(snapshot, target, cap) }],
    overrides: ['pv-delete'],
    // The PV is in the request; a Bound PV's claim (being deleted or not) is read from the model.
    reads: ['persistentVolumeClaim'],
  }),
  'longhorn-volume-delete': plan<DeletedLonghornVolume>()({
    webhook: 'pvc-delete',
    requests: "Longhorn Volume DELETE (automation identities; others per pvcDelete.others; never Longhorn's own)",
    scope: 'volume',
    checks: [{ check: 'pvc-delete', collect: (snapshot, target, cap) => collectLonghornVolumeDelete(snapshot, target, cap) }],
    overrides: ['volume-delete'],
    // The volume is in the request; whether its replicas ever held data, and whether Longhorn's namespace is being
    // deleted (its volumes then go whatever is decided), are read from the model.
    reads: [...LONGHORN_DATA_RESOURCES, 'namespace'],
  }),
  'storage-teardown': plan<TeardownTarget>()({
    webhook: 'storage-teardown',
    requests: "Longhorn's uninstaller Job, DELETE of its namespace or CRDs, its finalizer stripped",
    scope: 'storage',
    checks: TEARDOWN_CHECKS,
    overrides: ['storage-namespace'],
    // Longhorn's volumes (whether they ever held data), and its namespace's skip.
    reads: [...LONGHORN_DATA_RESOURCES, 'namespace'],
  }),
  'replica-delete': plan<ReplicaDeletionTarget>()({
    webhook: 'storage-teardown',
    requests: "Longhorn Replica DELETE (never Longhorn's own)",
    scope: 'volume',
    checks: [{ check: 'storage-teardown', collect: (snapshot, target, cap) => collectReplicaDeletion(snapshot, target, cap) }],
    overrides: ['storage-namespace'],
    // The nodes of the other copies, and whether they are being removed with their disks (their Cluster API Machines).
    reads: ['longhornVolume', 'longhornReplica', 'longhornNode', 'node', 'machine', 'namespace'],
  }),
  'storage-delete-flag': plan<TeardownTarget>()({
    webhook: 'longhorn-settings',
    requests: 'Longhorn setting deleting-confirmation-flag set true (its Setting, or the default-setting ConfigMap)',
    scope: 'storage',
    checks: TEARDOWN_CHECKS,
    overrides: ['storage-namespace'],
    // The live Setting too, for a write of the default-setting ConfigMap (what it changes).
    reads: [...LONGHORN_DATA_RESOURCES, 'namespace', 'longhornSetting'],
  }),
  'storage-drain-setting': plan<DrainPolicyTarget>()({
    webhook: 'longhorn-settings',
    requests: 'Longhorn node-drain-policy weakened, or allow-node-drain-with-last-healthy-replica set true (its Setting, or the default-setting ConfigMap)',
    scope: 'storage',
    checks: [{ check: 'storage-teardown', collect: (snapshot, { policy, from }, cap) => collectUnprotectedByDrainPolicy(snapshot, policy, cap, from) }],
    overrides: ['storage-namespace'],
    reads: [...LONGHORN_VOLUME_RESOURCES, 'namespace'],
  }),
  'storage-upgrade': plan<unknown>()({
    webhook: 'storage-upgrade',
    requests: 'longhorn-manager image changed outside Helm',
    scope: 'storage',
    checks: [STORAGE_UPGRADE_CHECK],
    overrides: ['storage-namespace'],
    reads: [...LONGHORN_VOLUME_RESOURCES, 'namespace'],
  }),
};

export type PlanId = keyof typeof PLANS;

/** The ids of the plans that read an override at `place`, in table order. */
export function plansReading(place: OverridePlace): PlanId[] {
  return (Object.keys(PLANS) as PlanId[]).filter((id) => (PLANS[id].overrides as readonly OverridePlace[]).includes(place));
}

/** The ids of the plans whose override places include `Place` (a type, for tables keyed by them). */
export type PlanIdReading<Place extends OverridePlace> = {
  [Id in PlanId]: Place extends PlaceOf<(typeof PLANS)[Id]> ? Id : never;
}[PlanId];

/** The override places of a plan. */
export type PlaceOf<P> = P extends Plan<never, infer Place> ? Place : never;

/** One reader per override place of a plan: the source found there for this request, if any. */
export type OverrideReaders<Place extends OverridePlace> = { readonly [K in Place]: () => OverrideSource | undefined };

/**
 * The override sources of a request, read where its plan says and in the plan's order. Every validator reads its
 * overrides through this, so a place added to or removed from a plan fails to compile until its validator reads it.
 */
export function readOverrides<Place extends OverridePlace>(plan: Plan<never, Place>, readers: OverrideReaders<Place>): OverrideSource[] {
  const sources: OverrideSource[] = [];
  for (const place of plan.overrides) {
    const source = readers[place]();
    if (source) sources.push(source);
  }
  return sources;
}

export const NOTICES = {
  'helm-uninstall': {
    webhook: 'helm-release',
    requests: 'helm uninstall (never refused: warns which PVCs it deletes and which it leaves behind)',
    scope: 'release',
    checks: ['pvc-delete', 'orphan-pvc'],
  },
} as const satisfies Record<string, Notice>;

// ------------------------------------------------------------------------------------------------ running a plan

/** The check ids of a plan, in order. */
export function planChecks(plan: { readonly checks: readonly { readonly check: CheckId }[] }): CheckId[] {
  return plan.checks.map((entry) => entry.check);
}

/** The check ids of a plan that run for `target` (those whose `when` holds), in order. */
export function planChecksFor<Target>(plan: Plan<Target>, target: Target): CheckId[] {
  return plan.checks.filter((entry) => entry.when === undefined || entry.when(target)).map((entry) => entry.check);
}

/** Runs each of the plan's checks that applies to `target` through `run` (which may cap it or skip it). */
export function runPlan<Target>(
  plan: Plan<Target>,
  snapshot: ClusterSnapshot,
  target: Target,
  options: PlanOptions,
  run: (check: CheckId, collect: (cap: CapOptions) => CappedFindings, wordedFromTags: boolean) => void,
): void {
  for (const entry of plan.checks) {
    if (entry.when && !entry.when(target)) continue;
    run(entry.check, (cap) => entry.collect(snapshot, target, cap, options), wordedFromTags(entry as PlanCheck<never>));
  }
}

/** Every finding of the plan's checks for `target`, uncapped (the audit), optionally of some checks only. */
export function planFindings<Target>(
  plan: Plan<Target>,
  snapshot: ClusterSnapshot,
  target: Target,
  options: PlanOptions,
  only?: readonly CheckId[],
): Finding[] {
  const findings: Finding[] = [];
  runPlan(plan, snapshot, target, options, (check, collect) => {
    if (only === undefined || only.includes(check)) findings.push(...collect(NO_CAP).findings);
  });
  return findings;
}

// ------------------------------------------------------------------------------------------------ the README table

const SCOPE_TEXT: Record<PlanScope, string> = {
  cluster: 'every Longhorn volume',
  node: 'the node',
  pod: "the pod's data on its node",
  release: "the release's PVCs",
  statefulset: 'the PVCs it will claim',
  claim: 'the PVC',
  namespace: "the namespace's PVCs",
  owned: 'the PVCs it owns',
  kind: 'the PVCs the objects of its kind own',
  scaled: 'the PVCs of the pods it scales away',
  volume: 'the volume',
  storage: "Longhorn's volumes",
};

const OVERRIDE_TEXT: Record<OverridePlace, string> = {
  object: '`volume-guard.io/skip` on the object under review',
  node: "`volume-guard.io/skip` on the node",
  namespace: '`volume-guard.io/skip` on the namespace',
  'namespace-helm': '`volume-guard.io/skip` on the namespace, for an object of a Helm release there',
  'namespace-evictions': "`volume-guard.io/skip-evictions` on the pod's namespace",
  'release-label': 'release label `volume-guard.io/skip` (with `skip-revision`)',
  'pvc-reuse': '`volume-guard.io/reuse: "true"` on a PVC',
  'pvc-delete': '`volume-guard.io/delete: "true"` on the PVC',
  'pv-delete': '`volume-guard.io/delete: "true"` on the PV',
  'volume-delete': '`volume-guard.io/delete: "true"` on the Longhorn Volume',
  'storage-namespace': "`volume-guard.io/skip` on Longhorn's namespace",
  'harvester-annotation': '`harvesterhci.io/skipSingleReplicaDetachedVol` (detached single-replica)',
  'harvester-drain': 'a Harvester Upgrade or UpgradePlan admitted with skipSingleReplicaDetachedVol draining the node',
  'harvester-upgrade-skip': '`volume-guard.io/skip` on a Harvester Upgrade or UpgradePlan draining the node',
  'machine-owner':
    "`volume-guard.io/skip` on the MachineDeployment or KubeadmControlPlane owning the Machine (at a MachineSet's scale-down, a Machine DELETE, and the drain of the node of a Machine being deleted), as stored (`single-replica` there also skips `last-replica-on-node` of single-replica volumes)",
};

/** The README's table of operations, checks and overrides, generated from the plans. */
export function plansMarkdown(): string {
  const lines = ['| operation | webhook | checks | looks at | overrides |', '|---|---|---|---|---|'];
  const code = (ids: readonly string[]): string => ids.map((id) => `\`${id}\``).join(', ');
  for (const plan of Object.values(PLANS) as readonly Plan<never>[]) {
    const checks = plan.checks.map((entry) => `\`${entry.check}\`${entry.whenText ? ` (${entry.whenText})` : ''}`).join(', ');
    lines.push(`| ${plan.requests} | \`${plan.webhook}\` | ${checks} | ${SCOPE_TEXT[plan.scope]} | ${plan.overrides.map((place) => OVERRIDE_TEXT[place]).join('; ')} |`);
  }
  for (const notice of Object.values(NOTICES) as readonly Notice[]) {
    lines.push(`| ${notice.requests} | \`${notice.webhook}\` | ${code(notice.checks)} (warnings) | ${SCOPE_TEXT[notice.scope]} | (never refused) |`);
  }
  return lines.join('\n');
}

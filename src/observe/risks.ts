// Risk counts kept from the model's writes, for the risk gauges: at-risk volumes per check, nodes whose cordon or drain
// would be refused, orphaned PVCs per namespace, active overrides. Never a rescan at scrape time:
//  - every model write marks what it can change (the nodes of a volume's replicas, the namespace of a PVC...);
//  - flush() re-runs the webhook's own checks for the marked nodes and namespaces only, in time-bounded slices;
//  - counts() reads totals maintained on every change: O(label values) whatever the cluster's size.
// Single-replica and volume-health counts are the model's own incremental volume sets.
// Checks in mode `off` are not judged, as `audit` does not report them: no at-risk count, no blocked node, no orphan.

import { claimCarrier, defaultOverrideWriters, namespaceCarrier, namespaceSkipCovering, nodeCarrier, overridesOf } from '../audit/overrides.ts';
import { releaseFindings } from '../audit/release.ts';
import { refusedOnNode } from '../audit/report.ts';
import { collectLastReplicaOnNode } from '../checks/last-replica-on-node.ts';
import { NO_DATA_TAG, SINGLE_REPLICA_SET, SINGLE_REPLICA_TAGS_COUNT, singleReplicaTags, VOLUME_HEALTH_SET } from '../checks/longhorn-health.ts';
import { collectNodeLocalVolume, nodeLocalOptionsOf, type NodeLocalOptions } from '../checks/node-local-volume.ts';
import { mountedReleaseLabelled, REUSE_APPROVED_TAG, sameClaimUse } from '../checks/orphan-pvc.ts';
import { collectSingleReplica } from '../checks/single-replica.ts';
import { CHECK_IDS, type CheckId } from '../checks/types.ts';
import { collectVolumeHealth } from '../checks/volume-health.ts';
import { drainMovesReplicas, harvesterUpgradeInPlace, harvesterUpgradeSkip, movedByDrainPolicy, type PolicedKinds } from '../admission/longhorn-drain.ts';
import {
  DELETE_KEY,
  overrideLifecycle,
  parseRfc3339,
  REUSE_KEY,
  reuseApprovalSource,
  SKIP_BY_KEY,
  SKIP_KEY,
  SKIP_UNTIL_KEY,
  skipFrom,
  whyNotHonored,
  type OverrideWriters,
} from '../admission/overrides.ts';
import { drainingMachineOwnerSkip } from '../admission/rollout-owner.ts';
import { NODE_DRAIN_POLICY } from '../checks/storage-teardown.ts';
import { recordsEqual } from '../cluster/model-equality.ts';
import type { ClusterModel } from '../cluster/model.ts';
import { LONGHORN_COMPONENT_LABEL, LONGHORN_INSTANCE_MANAGER } from '../cluster/transforms.ts';
import {
  RELEASE_LABELS,
  REPLICA_SOFT_ANTI_AFFINITY,
  recordKey,
  type HarvesterUpgradeRecord,
  type MachineOwnerRecord,
  type MachineRecord,
  type ModelSink,
  type NamespaceRecord,
  type NodeRecord,
  type PersistentVolumeClaimRecord,
  type RecordByKind,
  type ResourceKind,
  type StatefulSetRecord,
} from '../cluster/records.ts';
import type { CheckMode, Config } from '../config.ts';

/** The tag of a StatefulSet pod's emptyDir finding (node-local-volume.ts emptyDirFinding). */
const EMPTY_DIR_TAG = 'emptyDir';

/** The checks a cordon runs, in the order of the node-cordon validator. */
export const NODE_CHECKS = ['last-replica-on-node', 'single-replica', 'volume-health', 'node-local-volume'] as const;
export type NodeCheck = (typeof NODE_CHECKS)[number];

/**
 * The checks whose volumes at risk the tracker counts: the node checks and orphan-pvc. pvc-delete and storage-teardown
 * judge an operation from the request itself (a delete, a Longhorn teardown or setting change); no standing count of
 * them is kept, so they get no at_risk_volumes series (a 0 there would read as "no risk", never measured).
 */
export const COUNTED_CHECKS: readonly CheckId[] = [...NODE_CHECKS, 'orphan-pvc'];

/** The kinds of objects whose overrides the model sees. */
export const OVERRIDE_KINDS = ['Node', 'Namespace', 'PersistentVolumeClaim'] as const;
export type OverrideKind = (typeof OVERRIDE_KINDS)[number];

/** The label value that gathers the namespaces beyond the series limit (a namespace name cannot contain `_`). */
export const OTHER_NAMESPACES = '_other';

export interface RiskCounts {
  /** Per check: volumes (PVs, Longhorn volumes) at risk; for orphan-pvc, orphaned PVCs. 0 for a check in mode off. */
  readonly atRiskVolumes: Readonly<Record<CheckId, number>>;
  /**
   * Per node check: nodes whose cordon or drain that check would refuse (mode enforce, no override accepting it), as
   * `audit --node` judges them.
   */
  readonly nodesBlocked: Readonly<Record<NodeCheck, number>>;
  /**
   * Orphaned PVCs per namespace: at most `orphanNamespaceLimit` namespaces, the rest under OTHER_NAMESPACES. None while
   * orphan-pvc is off.
   */
  readonly orphanPvcs: ReadonlyMap<string, number>;
  /** Overrides in force per kind and check they skip (judged as the webhook judges a stored override). */
  readonly activeOverrides: ReadonlyMap<OverrideKind, Readonly<Record<CheckId, number>>>;
  /** Nodes and namespaces still to re-evaluate (0 once the counts are current). */
  readonly pending: number;
}

export interface RiskTrackerOptions {
  /**
   * The configured check modes, read as `audit` reads them: a check in mode `off` is not judged (no volume at risk for
   * it, no node blocked, no orphan); `warn` findings are at risk but block no node (a cordon is let through with a
   * warning); only `enforce` blocks. Default: all enforce.
   */
  readonly modes?: Readonly<Partial<Record<CheckId, CheckMode>>>;
  /** Namespaces with their own orphan_pvcs series [50]; more are summed under OTHER_NAMESPACES. */
  readonly orphanNamespaceLimit?: number;
  /** What counts as node-local data (the configuration's nodeLocal); the check's defaults when absent. */
  readonly nodeLocal?: NodeLocalOptions;
  /** Who may write overrides (the configuration's `overrides`): a stored override counts only as the webhook honors it. */
  readonly writers?: OverrideWriters;
  /**
   * The configuration's `upgrades.kinds`: a Harvester upgrade or Machine owner of a kind outside them carries no
   * override to the drains of its nodes, and keeps no data through an upgrade volume-guard does not police. Default:
   * every kind, as `audit` without a configuration.
   */
  readonly upgradeKinds?: PolicedKinds;
  /**
   * Whether the model has had its first full list (every informer synced). Until then, and until what that list
   * marked is evaluated, the counts describe no cluster: `ready` is false. Default: ready from the start.
   */
  readonly synced?: () => boolean;
}

/** The options `serve` gives its tracker: the check modes, node-local settings and override writers it judges under. */
export function riskTrackerOptionsOf(config: Config): RiskTrackerOptions {
  return {
    modes: Object.fromEntries(CHECK_IDS.map((id) => [id, config.checks[id].mode])),
    nodeLocal: nodeLocalOptionsOf(config),
    writers: config.overrides,
    upgradeKinds: config.upgrades.kinds,
  };
}

/** The record kinds that carry the overrides counted, by the gauge's `kind`. */
const OVERRIDE_RESOURCES = { Node: 'node', Namespace: 'namespace', PersistentVolumeClaim: 'persistentVolumeClaim' } as const satisfies Record<
  OverrideKind,
  ResourceKind
>;

/** The overrides a PVC carries that a validator reads: orphan-pvc's reuse and pvc-delete's delete approvals. */
const PVC_APPROVAL_KEYS: readonly string[] = [REUSE_KEY, DELETE_KEY];

/** What one object's overrides add to the totals now, remembered so its change or removal takes back exactly that. */
interface OverrideContribution {
  readonly kind: OverrideKind;
  /** The record's key in the model. */
  readonly key: string;
  /** The checks counted, once per override that waives them. */
  readonly checks: readonly CheckId[];
  /** Epoch ms of its skip-until, when it has one: it stops counting then. */
  readonly expiresAt?: number;
}

interface NodeState {
  /** Findings per node check, parallel to NODE_CHECKS. */
  readonly findings: number[];
  /** Whether a cordon would be refused for each node check. */
  readonly blocked: boolean[];
}

/** A check in mode `off` finds nothing (the webhook does not run it). */
const NOT_JUDGED = { found: 0, refused: 0 } as const;

function zeroByCheck(): Record<CheckId, number> {
  return Object.fromEntries(CHECK_IDS.map((id) => [id, 0])) as Record<CheckId, number>;
}

function releaseKeysOfClaim(claim: PersistentVolumeClaimRecord): string[] {
  const keys: string[] = [];
  for (const label of RELEASE_LABELS) {
    const release = claim.labels[label];
    const key = `${claim.namespace}/${release}`;
    if (release !== undefined && release !== '' && !keys.includes(key)) keys.push(key);
  }
  return keys;
}

/** The annotations deciding whether a namespace's skip counts, as one string ('' without any). */
function skipKeysOf(namespace: NamespaceRecord | undefined): string {
  if (namespace === undefined) return '';
  const values = [SKIP_KEY, SKIP_BY_KEY, SKIP_UNTIL_KEY].map((key) => namespace.annotations[key]);
  return values.every((value) => value === undefined) ? '' : JSON.stringify(values);
}

function releaseKeyOfStatefulSet(statefulSet: StatefulSetRecord): string | undefined {
  if (statefulSet.helmReleaseName === '') return undefined;
  return `${statefulSet.helmReleaseNamespace || statefulSet.namespace}/${statefulSet.helmReleaseName}`;
}

export class RiskTracker {
  readonly #model: ClusterModel;
  readonly #modes: Readonly<Partial<Record<CheckId, CheckMode>>>;
  readonly #orphanNamespaceLimit: number;
  readonly #nodeLocal: NodeLocalOptions | undefined;
  readonly #upgradeKinds: PolicedKinds | undefined;

  readonly #dirtyNodes = new Set<string>();
  readonly #dirtyNamespaces = new Set<string>();
  readonly #nodes = new Map<string, NodeState>();
  readonly #findingTotals = NODE_CHECKS.map(() => 0);
  readonly #blockedTotals = NODE_CHECKS.map(() => 0);

  /** Release keys (`releaseNamespace/name`) named by objects of a namespace, with how many objects name each. */
  readonly #releasesByNamespace = new Map<string, Map<string, number>>();
  /** Per release key: the PVCs (`namespace/name`) an install of it would adopt that nothing live of it uses. */
  readonly #orphansByRelease = new Map<string, ReadonlySet<string>>();
  /** Per namespace: the release keys evaluated there last time (to drop those no object names any more). */
  readonly #evaluatedByNamespace = new Map<string, Set<string>>();
  /** Per orphaned PVC: how many releases report it (counted once). */
  readonly #orphanRefs = new Map<string, number>();
  readonly #orphansByNamespace = new Map<string, number>();
  /** Namespaces with a series of their own, at most the limit; the others are summed in #otherOrphans. */
  readonly #slotted = new Set<string>();
  #otherOrphans = 0;
  #orphanTotal = 0;

  readonly #overrides = new Map<OverrideKind, Record<CheckId, number>>(OVERRIDE_KINDS.map((kind) => [kind, zeroByCheck()]));
  readonly #writers: OverrideWriters;
  /** Whether PVCs' reuse approvals count under the writers (as the webhook and `audit --release` judge them). */
  readonly #reuseApprovalsHonored: boolean;
  /** Per object (`kind/key`) with overrides in force: what it adds to #overrides. */
  readonly #contributions = new Map<string, OverrideContribution>();
  /**
   * Nodes whose drain an upgrade's or a Machine owner's skip with a `skip-until` waives now: when it passes (epoch ms),
   * the node is evaluated again. Only nodes such an upgrade or rollout drains.
   */
  readonly #carriedExpiries = new Map<string, number>();
  /**
   * No counted override (nor one in #carriedExpiries) expires before this (epoch ms); an early value only costs a look
   * at #contributions.
   */
  #nextExpiry = Number.POSITIVE_INFINITY;
  readonly #synced: () => boolean;
  #ready = false;
  /**
   * While the notes of one list are taken (sink().replaceAll): the volumes whose replicas' nodes were marked already,
   * and whether every node is to be marked once they are all taken. The model does not change between those notes,
   * so a second mark of either would mark the same nodes again: a first list of 5,000 Longhorn nodes marked every
   * node 5,000 times, 60,000 replicas of 20,000 volumes walked each volume's replicas thrice.
   */
  #batch: { readonly volumes: Set<string>; allNodes: boolean } | undefined;

  constructor(model: ClusterModel, options: RiskTrackerOptions = {}) {
    this.#model = model;
    this.#modes = options.modes ?? {};
    this.#orphanNamespaceLimit = options.orphanNamespaceLimit ?? 50;
    this.#nodeLocal = options.nodeLocal;
    this.#upgradeKinds = options.upgradeKinds;
    this.#writers = options.writers ?? defaultOverrideWriters();
    this.#reuseApprovalsHonored = whyNotHonored(reuseApprovalSource(), this.#writers) === undefined;
    this.#synced = options.synced ?? (() => true);
    // Without a model being listed (tests, benchmarks), the empty model is the cluster.
    this.#ready = options.synced === undefined;
    // A removal volume-guard admitted changes the copies counted before the informers show it; a node's labels re-pin PVs.
    model.onPendingChange((change) => {
      if (change.kind === 'longhornReplica') {
        this.note('longhornReplica', change.previous, change.next);
        return;
      }
      // A node's labels re-pinned a PV: the node it was pinned to and the one it is now.
      if (change.kind === 'persistentVolume') {
        this.note('persistentVolume', change.previous, change.next);
        return;
      }
      this.#markNode(change.node);
      for (const replica of this.#model.replicasOnNode(change.node)) this.#markVolumeNodes(replica.volumeName);
    });
  }

  /** A ModelSink that writes to the model and marks what each write can change. Feed the informers this. */
  sink(): ModelSink & Pick<ClusterModel, 'count'> {
    return {
      upsert: (kind, record) => {
        const key = recordKey(record);
        const previous = this.#model.get(kind, key);
        this.#model.upsert(kind, record);
        const stored = this.#stored(kind, key, record);
        if (previous === undefined || !recordsEqual(previous, stored)) this.note(kind, previous, stored);
      },
      remove: (kind, key) => {
        const previous = this.#model.get(kind, key);
        this.#model.remove(kind, key);
        if (previous !== undefined) this.note(kind, previous, undefined);
      },
      replaceAll: (kind, records) => {
        // The first Node list turns down every Longhorn node it lacks (ClusterModel.nodeIsUp): their copies count no
        // more, on whichever nodes those volumes' other copies are. Once per process.
        const firstNodeList = kind === 'node' && !this.#model.nodesListed;
        if (this.#model.count(kind) === 0) {
          // The kind's first list (or one after an empty list): every record is new and none is gone, so each note
          // is what the diff below would give (no previous version), without looking each record up first.
          this.#model.replaceAll(kind, records);
          this.#noteAll(() => {
            for (const record of records) this.note(kind, undefined, this.#stored(kind, recordKey(record), record));
            if (firstNodeList) this.#markNodelessCopies();
          });
          return;
        }
        const changed: [RecordByKind[typeof kind] | undefined, RecordByKind[typeof kind] | undefined][] = [];
        const present = new Set<string>();
        for (const record of records) {
          const key = recordKey(record);
          present.add(key);
          const previous = this.#model.get(kind, key);
          if (previous === undefined || !recordsEqual(previous, record)) changed.push([previous, record]);
        }
        for (const record of this.#model.records(kind)) {
          if (!present.has(recordKey(record))) changed.push([record, undefined]);
        }
        this.#model.replaceAll(kind, records);
        this.#noteAll(() => {
          for (const [previous, next] of changed) this.note(kind, previous, next === undefined ? undefined : this.#stored(kind, recordKey(next), next));
          if (firstNodeList) this.#markNodelessCopies();
        });
      },
      setLonghornInstalled: (installed) => {
        const before = this.#model.longhornInstalled;
        this.#model.setLonghornInstalled(installed);
        if (before !== installed) this.markAllNodes();
      },
      count: (kind) => this.#model.count(kind),
    };
  }

  /**
   * The record as the model stores it: a PV with the node its affinity resolves to among the nodes it holds (a label
   * only one node carries pins it: ClusterModel's resolvePinned), which the incoming record, read from the PV alone,
   * does not say. Its notes must mark that node. Every other kind is stored as written.
   */
  #stored<K extends ResourceKind>(kind: K, key: string, written: RecordByKind[K]): RecordByKind[K] {
    return kind === 'persistentVolume' ? (this.#model.get(kind, key) ?? written) : written;
  }

  // ------------------------------------------------------------------------------------------------ marking

  /** Takes the notes of one list (the model already holds it): each volume's nodes marked once, every node at most once. */
  #noteAll(notes: () => void): void {
    const batch = { volumes: new Set<string>(), allNodes: false };
    this.#batch = batch;
    try {
      notes();
    } finally {
      this.#batch = undefined;
      if (batch.allNodes) this.markAllNodes();
    }
  }

  /** The volumes with a copy on a Longhorn node without a Node: down once the Node list arrived. */
  #markNodelessCopies(): void {
    for (const nodeName of this.#model.longhornNodesWithoutNode()) {
      for (const replica of this.#model.replicasOnNode(nodeName)) this.#markVolumeNodes(replica.volumeName);
    }
  }

  /** markAllNodes, once the notes of a list are all taken when taking them. */
  #markAllNodesOnce(): void {
    if (this.#batch !== undefined) this.#batch.allNodes = true;
    else this.markAllNodes();
  }

  /** Marks what a change of one record can affect; call after the model holds `next`. */
  note<K extends ResourceKind>(kind: K, previous: RecordByKind[K] | undefined, next: RecordByKind[K] | undefined): void {
    switch (kind) {
      case 'longhornVolume': {
        const volume = (next ?? previous) as RecordByKind['longhornVolume'];
        this.#markVolumeNodes(volume.name);
        return;
      }
      case 'longhornReplica': {
        for (const replica of [previous, next] as (RecordByKind['longhornReplica'] | undefined)[]) {
          if (replica === undefined) continue;
          this.#markNode(replica.nodeID);
          this.#markVolumeNodes(replica.volumeName);
        }
        return;
      }
      case 'longhornNode': {
        // A disk gone changes the health of every volume with a replica there, wherever their other replicas are.
        const node = (next ?? previous) as RecordByKind['longhornNode'];
        this.#markNode(node.name);
        for (const replica of this.#model.replicasOnNode(node.name)) this.#markVolumeNodes(replica.volumeName);
        // A node offering replicas or no longer decides which degraded volumes have a node left (isShortOfNodesOnly).
        const placed = (version: RecordByKind['longhornNode'] | undefined) => version?.placement;
        const [before, after] = [placed(previous as RecordByKind['longhornNode'] | undefined), placed(next as RecordByKind['longhornNode'] | undefined)];
        if (before !== after && (before === undefined || after === undefined || !recordsEqual(before, after))) this.#markAllNodesOnce();
        return;
      }
      case 'node': {
        const node = (next ?? previous) as NodeRecord;
        this.#markNode(node.name);
        // Down to one node or up from it: the only node's count of unpinned node-local PVs starts or stops.
        if ((previous === undefined) !== (next === undefined) && this.#model.count('node') <= 2) {
          for (const other of this.#model.records('node')) this.#markNode(other.name);
        }
        const before = previous as NodeRecord | undefined;
        const after = next as NodeRecord | undefined;
        // A node that comes, goes or changes where pods may land decides whether a hostPath pod tolerating every taint
        // comes back to its drained node (node-local-volume's recreatedElsewhere): those pods' nodes count again.
        const landingAnywhere = this.#model.nodesOfPodsLandingAnywhere();
        if (landingAnywhere.length > 0 && (before === undefined || after === undefined || !recordsEqual(placementOf(before), placementOf(after)))) {
          for (const other of landingAnywhere) if (other !== node.name) this.#markNode(other);
        }
        // A node going down, cordoned or being removed by an autoscaler no longer holds copies a drain can count on:
        // the volumes with a replica there may have their last copy on another node now (and back).
        if (
          before?.ready !== after?.ready ||
          before?.readySince !== after?.readySince ||
          before?.leaving !== after?.leaving ||
          before?.unschedulable !== after?.unschedulable ||
          noExecuteTaints(before) !== noExecuteTaints(after)
        ) {
          for (const replica of this.#model.replicasOnNode(node.name)) this.#markVolumeNodes(replica.volumeName);
        }
        this.#countOverrides('Node', node.name, next as NodeRecord | undefined);
        return;
      }
      case 'harvesterUpgrade':
      case 'harvesterUpgradePlan': {
        // Draining a node (or about to) decides what its cordon and drain read: the upgrade's skips, and the PVs kept
        // through its reboot. The nodes it names whose state changed, all of them when the upgrade's own fields did.
        const before = previous as HarvesterUpgradeRecord | undefined;
        const after = next as HarvesterUpgradeRecord | undefined;
        const withoutStates = (upgrade: HarvesterUpgradeRecord): HarvesterUpgradeRecord => ({ ...upgrade, nodeStates: {} });
        const whole = before === undefined || after === undefined || !recordsEqual(withoutStates(before), withoutStates(after));
        for (const [version, other] of [
          [before, after],
          [after, before],
        ] as const) {
          for (const [name, state] of Object.entries(version?.nodeStates ?? {})) if (whole || other?.nodeStates[name] !== state) this.#markNode(name);
        }
        return;
      }
      case 'machine': {
        // Being deleted, it removes its node with its disks (ClusterSnapshot.nodeLeaving): the node's drain is judged as
        // that removal and reads the owner's skip, and its copies count no more for the volumes with a replica there.
        const before = previous as MachineRecord | undefined;
        const after = next as MachineRecord | undefined;
        const leavingChanged = before?.deleting !== after?.deleting || before?.nodeName !== after?.nodeName;
        for (const version of [before, after]) {
          if (version === undefined || version.nodeName === '') continue;
          this.#markNode(version.nodeName);
          if (leavingChanged) for (const replica of this.#model.replicasOnNode(version.nodeName)) this.#markVolumeNodes(replica.volumeName);
        }
        return;
      }
      case 'machineDeployment':
      case 'kubeadmControlPlane': {
        // Its skip reaches the drain of its Machines' nodes while they are deleted (drainingMachineOwnerSkip).
        const owner = (next ?? previous) as MachineOwnerRecord;
        const ownerKind = kind === 'machineDeployment' ? 'MachineDeployment' : 'KubeadmControlPlane';
        for (const machine of this.#model.machinesOf(owner.namespace, ownerKind, owner.name)) this.#markNode(machine.nodeName);
        return;
      }
      case 'persistentVolume': {
        // Pinned: its node. Unpinned node-local PVs count on the nodes of the pods that write them, and on the node
        // their affinity names when it is being removed.
        for (const pv of [previous, next] as (RecordByKind['persistentVolume'] | undefined)[]) {
          if (pv === undefined) continue;
          this.#markNode(pv.pinnedNode === '' ? pv.namedNode : pv.pinnedNode);
          if (pv.claimName !== '') this.#markPodNodes(pv.claimNamespace, pv.claimName);
          if (pv.pinnedNode === '') this.#markOnlyNode();
          // A Lost claim naming it: its orphan-pvc finding reads whether the PV is there, and whose it is.
          for (const claim of this.#model.lostClaimsNaming(pv.name)) this.#dirtyNamespaces.add(claim.namespace);
        }
        return;
      }
      case 'persistentVolumeClaim': {
        const before = previous as PersistentVolumeClaimRecord | undefined;
        const after = next as PersistentVolumeClaimRecord | undefined;
        const claim = (after ?? before) as PersistentVolumeClaimRecord;
        this.#registerReleases(claim.namespace, before ? releaseKeysOfClaim(before) : [], -1);
        this.#registerReleases(claim.namespace, after ? releaseKeysOfClaim(after) : [], +1);
        this.#dirtyNamespaces.add(claim.namespace);
        // The PV a claim is bound to decides the node-local findings of the pods using it, and, unpinned, those of
        // the node its affinity names (taken with that node's removal unless a pod writes it elsewhere).
        for (const version of [before, after]) {
          if (version === undefined || version.volumeName === '') continue;
          const pv = this.#model.persistentVolume(version.volumeName);
          if (pv !== undefined) this.#markNode(pv.pinnedNode || pv.namedNode);
          if (pv !== undefined && pv.pinnedNode === '') this.#markOnlyNode();
        }
        this.#markPodNodes(claim.namespace, claim.name);
        this.#countOverrides('PersistentVolumeClaim', recordKey(claim), after);
        return;
      }
      case 'pod': {
        // Orphans: pods matter only as holders of PVCs (their existence, and whether they still keep them in use:
        // finished, terminating with their controller, or losing it: an orphaned pod keeps them even when the
        // StatefulSet it had is gone). Node-local data: inline hostPath and emptyDir of the pod, and the unpinned PVs
        // it writes, count on its node.
        const before = previous as RecordByKind['pod'] | undefined;
        const after = next as RecordByKind['pod'] | undefined;
        const pod = (after ?? before) as RecordByKind['pod'];
        if (before === undefined || after === undefined || !sameClaimUse(before, after)) this.#dirtyNamespaces.add(pod.namespace);
        for (const version of [before, after]) if (version !== undefined) this.#markNode(version.nodeName);
        // An unpinned node-local PV it writes is reported at the removal of the node its affinity names only while no
        // pod writes it on another node: that node's count changes with the pod.
        for (const version of [before, after]) if (version !== undefined) this.#markNamedNodesOfClaims(version);
        // Written on a node the model does not hold, an unpinned PV is not the only node's.
        if (pod.claimNames.length > 0) this.#markOnlyNode();
        // A replica whose required anti-affinity or host ports are kept may keep the replacement of a hostPath pod
        // tolerating every taint off its node (node-local-volume's recreatedElsewhere): coming, going or changing, those pods' nodes count again.
        if (before?.antiAffinity !== undefined || after?.antiAffinity !== undefined || before?.hostPorts !== undefined || after?.hostPorts !== undefined) {
          for (const other of this.#model.nodesOfPodsLandingAnywhere()) this.#markNode(other);
        }
        // Longhorn's instance manager on a NoExecute-tainted node: whether it tolerates the taint decides whether the
        // replicas there are copies (instanceManagerEvictingTaints).
        if (pod.labels?.[LONGHORN_COMPONENT_LABEL] === LONGHORN_INSTANCE_MANAGER && noExecuteTaints(this.#model.node(pod.nodeName)) !== '') {
          for (const replica of this.#model.replicasOnNode(pod.nodeName)) this.#markVolumeNodes(replica.volumeName);
        }
        return;
      }
      case 'statefulSet': {
        const before = previous as StatefulSetRecord | undefined;
        const after = next as StatefulSetRecord | undefined;
        const statefulSet = (after ?? before) as StatefulSetRecord;
        const keyBefore = before ? releaseKeyOfStatefulSet(before) : undefined;
        const keyAfter = after ? releaseKeyOfStatefulSet(after) : undefined;
        this.#registerReleases(statefulSet.namespace, keyBefore !== undefined ? [keyBefore] : [], -1);
        this.#registerReleases(statefulSet.namespace, keyAfter !== undefined ? [keyAfter] : [], +1);
        this.#dirtyNamespaces.add(statefulSet.namespace);
        return;
      }
      case 'longhornSetting': {
        // The node-drain-policy decides which last copies a cordon is refused for, on every node.
        const setting = (next ?? previous) as RecordByKind['longhornSetting'];
        // replica-soft-anti-affinity decides which degraded volumes have a node left (isShortOfNodesOnly).
        if (setting.name === NODE_DRAIN_POLICY || setting.name === REPLICA_SOFT_ANTI_AFFINITY) this.#markAllNodesOnce();
        return;
      }
      case 'namespace': {
        const namespace = (next ?? previous) as NamespaceRecord;
        this.#countOverrides('Namespace', namespace.name, next as NamespaceRecord | undefined);
        // Its skip of orphan-pvc waives the orphans of the Helm releases stored there, wherever their PVCs are.
        if (skipKeysOf(previous as NamespaceRecord | undefined) !== skipKeysOf(next as NamespaceRecord | undefined)) this.#markReleasesOf(namespace.name);
        return;
      }
    }
  }

  /** The node each claim of the pod bound to an unpinned PV names by its affinity (PersistentVolumeRecord.namedNode). */
  #markNamedNodesOfClaims(pod: RecordByKind['pod']): void {
    for (const claimName of pod.claimNames) {
      const volumeName = this.#model.persistentVolumeClaim(pod.namespace, claimName)?.volumeName ?? '';
      if (volumeName === '') continue;
      const pv = this.#model.persistentVolume(volumeName);
      if (pv !== undefined && pv.pinnedNode === '' && pv.namedNode !== '') this.#markNode(pv.namedNode);
    }
  }

  /** Every node the model names: on Longhorn appearing or going, or at start. */
  markAllNodes(): void {
    for (const node of this.#model.records('node')) this.#markNode(node.name);
    for (const replica of this.#model.records('longhornReplica')) this.#markNode(replica.nodeID);
    for (const pv of this.#model.pinnedPersistentVolumes()) this.#markNode(pv.pinnedNode);
    for (const name of this.#nodes.keys()) this.#markNode(name);
  }

  /** Everything, as a safety net against a dependency no write marks (e.g. node labels a pod's selector reads). */
  markAll(): void {
    this.markAllNodes();
    for (const namespace of this.#releasesByNamespace.keys()) this.#dirtyNamespaces.add(namespace);
    for (const namespace of this.#evaluatedByNamespace.keys()) this.#dirtyNamespaces.add(namespace);
  }

  /** The namespaces whose objects name a Helm release of `releaseNamespace` (the release's own among them). */
  #markReleasesOf(releaseNamespace: string): void {
    this.#dirtyNamespaces.add(releaseNamespace);
    const prefix = `${releaseNamespace}/`;
    for (const byNamespace of [this.#releasesByNamespace, this.#evaluatedByNamespace]) {
      for (const [namespace, keys] of byNamespace) {
        if (this.#dirtyNamespaces.has(namespace)) continue;
        for (const key of keys.keys()) {
          if (key.startsWith(prefix)) {
            this.#dirtyNamespaces.add(namespace);
            break;
          }
        }
      }
    }
  }

  #markNode(name: string): void {
    if (name !== '') this.#dirtyNodes.add(name);
  }

  /** The cluster's only node, if it has one: it holds every unpinned node-local PV no pod writes elsewhere. O(1) otherwise. */
  #markOnlyNode(): void {
    if (this.#model.count('node') !== 1) return;
    for (const node of this.#model.records('node')) this.#markNode(node.name);
  }

  #markPodNodes(namespace: string, claimName: string): void {
    for (const pod of this.#model.podsUsingClaim(namespace, claimName)) this.#markNode(pod.nodeName);
  }

  #markVolumeNodes(volumeName: string): void {
    const batch = this.#batch;
    if (batch !== undefined) {
      if (batch.volumes.has(volumeName)) return;
      batch.volumes.add(volumeName);
    }
    for (const replica of this.#model.replicasOfVolume(volumeName)) this.#markNode(replica.nodeID);
  }

  #registerReleases(namespace: string, keys: readonly string[], delta: 1 | -1): void {
    if (keys.length === 0) return;
    let releases = this.#releasesByNamespace.get(namespace);
    if (releases === undefined) {
      releases = new Map();
      this.#releasesByNamespace.set(namespace, releases);
    }
    for (const key of keys) {
      const count = (releases.get(key) ?? 0) + delta;
      if (count > 0) releases.set(key, count);
      else releases.delete(key);
    }
    if (releases.size === 0) this.#releasesByNamespace.delete(namespace);
  }

  /**
   * Replaces what the object's overrides add to the totals: the contribution counted earlier is taken back as it was
   * counted (whether or not it has expired since), then `record` (undefined: gone) is judged now, under the writers.
   */
  #countOverrides(kind: OverrideKind, key: string, record: NodeRecord | NamespaceRecord | PersistentVolumeClaimRecord | undefined, now: number = Date.now()): void {
    const id = `${kind}/${key}`;
    const totals = this.#overrides.get(kind) as Record<CheckId, number>;
    const before = this.#contributions.get(id);
    if (before !== undefined) {
      for (const check of before.checks) totals[check] -= 1;
      this.#contributions.delete(id);
    }
    // Overrides are annotations, and a PVC's may be labels (listed so nobody relies on them).
    if (record === undefined) return;
    if (Object.keys(record.annotations).length === 0 && (kind !== 'PersistentVolumeClaim' || Object.keys((record as PersistentVolumeClaimRecord).labels).length === 0)) return;
    const carrier =
      kind === 'Node'
        ? nodeCarrier(record as NodeRecord)
        : kind === 'Namespace'
          ? namespaceCarrier(record as NamespaceRecord)
          : claimCarrier(record as PersistentVolumeClaimRecord);
    // A PVC's skip is listed by the audit but read by no validator: only its reuse and delete approvals count.
    const honored = overridesOf(carrier, now, this.#writers).filter((override) => kind !== 'PersistentVolumeClaim' || PVC_APPROVAL_KEYS.includes(override.key));
    const checks = honored.flatMap((override) => override.checks);
    if (checks.length === 0) return;
    for (const check of checks) totals[check] += 1;
    // In force now, so any skip-until is readable and ahead.
    const until = overrideLifecycle(record.annotations, now).until;
    const expiresAt = until ? parseRfc3339(until)?.getTime() : undefined;
    this.#contributions.set(id, { kind, key, checks, ...(expiresAt !== undefined ? { expiresAt } : {}) });
    if (expiresAt !== undefined) this.#nextExpiry = Math.min(this.#nextExpiry, expiresAt);
  }

  /**
   * Takes the overrides whose `skip-until` has passed out of the counts, and marks what they waived for
   * re-evaluation (a node's skip, or one an upgrade or a Machine's owner carries to its drain: its nodes_blocked), and
   * the nodes whose down grace ran out. O(1) until the earliest expiry; the flusher calls it.
   */
  expireOverrides(now: number = Date.now()): void {
    // A NotReady node whose grace ran out is down now, with no write to say so (ClusterModel.settle tells the listener).
    this.#model.settle();
    if (now < this.#nextExpiry) return;
    const due: OverrideContribution[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const contribution of this.#contributions.values()) {
      if (contribution.expiresAt === undefined) continue;
      if (contribution.expiresAt <= now) due.push(contribution);
      else next = Math.min(next, contribution.expiresAt);
    }
    for (const [node, expiresAt] of this.#carriedExpiries) {
      if (expiresAt > now) next = Math.min(next, expiresAt);
      else {
        this.#carriedExpiries.delete(node);
        this.#markNode(node);
      }
    }
    this.#nextExpiry = next;
    for (const { kind, key } of due) {
      const resource = OVERRIDE_RESOURCES[kind];
      this.#countOverrides(kind, key, this.#model.get(resource, key), now);
      if (kind === 'Node') this.#markNode(key);
      else if (kind === 'Namespace') this.#markReleasesOf(key);
      else this.#dirtyNamespaces.add(key.slice(0, key.indexOf('/')));
    }
  }

  // ------------------------------------------------------------------------------------------------ flushing

  /** Nodes and namespaces waiting for re-evaluation. */
  get pending(): number {
    return this.#dirtyNodes.size + this.#dirtyNamespaces.size;
  }

  /**
   * Re-evaluates marked nodes and namespaces until none is left or `budgetMs` has passed (at least one is done).
   * Returns true when the counts are current.
   */
  flush(budgetMs = Number.POSITIVE_INFINITY): boolean {
    const deadline = performance.now() + budgetMs;
    this.expireOverrides();
    for (const name of this.#dirtyNodes) {
      this.#dirtyNodes.delete(name);
      this.#evaluateNode(name);
      if (performance.now() >= deadline) return this.#caughtUp();
    }
    for (const namespace of this.#dirtyNamespaces) {
      this.#dirtyNamespaces.delete(namespace);
      this.#evaluateNamespace(namespace);
      if (performance.now() >= deadline) return this.#caughtUp();
    }
    return this.#caughtUp();
  }

  /** Whether nothing is pending; the first time that holds once synced, the counts become ready (see `ready`). */
  #caughtUp(): boolean {
    if (this.pending > 0) return false;
    // Here, not only at a scrape: on a busy cluster a scrape may never find nothing pending.
    if (!this.#ready && this.#synced()) this.#ready = true;
    return true;
  }

  /**
   * The check's findings on the node, and how many of them its cordon or drain would be refused for: as the cordon
   * validator judges (node-cordon.ts), the last copies Longhorn's node-drain-policy moves away in a drain are not, and
   * on a node being removed (an autoscaler's drain taint, its Cluster API Machine being deleted), node-local-volume
   * counts the data lost with it. Without the overrides an upgrade or a Machine's owner carries (#evaluateNode).
   */
  #findingsOn(check: NodeCheck, node: string): { readonly found: number; readonly refused: number } {
    const model = this.#model;
    // A limit of 0 counts findings without building them; those the drain policy may move are built to tell.
    const cap = { limit: 0 };
    switch (check) {
      case 'last-replica-on-node':
      case 'single-replica': {
        const counted = (check === 'single-replica' ? collectSingleReplica(model, { node }, cap) : collectLastReplicaOnNode(model, { node }, cap)).total;
        if (counted === 0 || !drainMovesReplicas(model, node, true)) return { found: counted, refused: counted };
        const findings = (check === 'single-replica' ? collectSingleReplica(model, { node }) : collectLastReplicaOnNode(model, { node })).findings;
        return { found: counted, refused: counted - movedByDrainPolicy(model, node, findings, { cordoned: true }).length };
      }
      case 'volume-health': {
        const found = collectVolumeHealth(model, { node }, cap).total;
        return { found, refused: found };
      }
      case 'node-local-volume': {
        // A StatefulSet pod's emptyDir only warns (nodeLocal.statefulSetEmptyDir other than enforce): found, not refused.
        const warnOnly = (this.#nodeLocal?.statefulSetEmptyDir ?? 'warn') !== 'enforce';
        const counting = warnOnly ? { limit: 0, countTags: [EMPTY_DIR_TAG] } : cap;
        // The drain of a node being removed (its cordon too, for an autoscaler's) is refused for what goes with its disks
        // as well: judged as the removal, whose findings hold the cordon's. At risk: what the cordon or drain refuses
        // for, not the warnings (at_risk_volumes would alert on every such chart).
        const removed = model.nodeLeaving(node) !== undefined;
        const judged = collectNodeLocalVolume(model, removed ? { node, removed } : { node }, counting, this.#nodeLocal);
        const atRisk = judged.total - (warnOnly ? (judged.tagTotals?.[EMPTY_DIR_TAG] ?? 0) : 0);
        return { found: atRisk, refused: atRisk };
      }
    }
  }

  #evaluateNode(name: string): void {
    const previous = this.#nodes.get(name);
    const record = this.#model.node(name);
    // A node skip counts as the cordon validator judges a stored one: writer recorded, not expired, and somebody may
    // write overrides under the configured writers.
    const now = Date.now();
    const skip = record ? skipFrom(`node ${name}`, record.annotations, undefined, { now }) : undefined;
    const skipped = skip !== undefined && whyNotHonored(skip, this.#writers) === undefined ? skip.checks : [];
    // Overrides carried from an upgrade or a rollout, and data kept through an in-place upgrade, are judged finding by
    // finding: such a node is judged as `audit --node` judges it (rare: only while one drains it).
    const carried =
      record !== undefined && this.#drainReadsMore(name)
        ? refusedOnNode(this.#model, name, { ...(this.#nodeLocal ? { nodeLocal: this.#nodeLocal } : {}), upgradeKinds: this.#upgradeKinds, writers: this.#writers, now })
        : undefined;
    this.#carriedExpiries.delete(name);
    if (carried !== undefined) this.#expireCarried(name, now);
    const state: NodeState = { findings: [], blocked: [] };
    NODE_CHECKS.forEach((check, i) => {
      const judged = this.#judges(check) ? this.#findingsOn(check, name) : NOT_JUDGED;
      const found = judged.found;
      const refused = carried !== undefined && this.#judges(check) ? carried[check] : judged.refused;
      state.findings.push(found);
      // Refused: the node exists (a cordon needs one), the check enforces, and the node's own skip does not waive it
      // (nor, on a node an upgrade or a rollout drains, one it carries: `carried` leaves those out).
      state.blocked.push(refused > 0 && record !== undefined && (this.#modes[check] ?? 'enforce') === 'enforce' && !skipped.includes(check));
      this.#findingTotals[i] = (this.#findingTotals[i] ?? 0) + found - (previous?.findings[i] ?? 0);
      this.#blockedTotals[i] = (this.#blockedTotals[i] ?? 0) + (state.blocked[i] ? 1 : 0) - (previous?.blocked[i] ? 1 : 0);
    });
    if (state.findings.every((count) => count === 0) && !state.blocked.includes(true)) this.#nodes.delete(name);
    else this.#nodes.set(name, state);
  }

  /**
   * Whether the cordon or drain of `node` reads more than the node's own skip: a Harvester upgrade draining it (or about
   * to) keeps device-backed PVs through its reboot and may carry its skips, and the owner of its Machine being deleted
   * carries its skip. Cheap: the Harvester upgrades and the Machines being deleted are few.
   */
  #drainReadsMore(node: string): boolean {
    const model = this.#model;
    return harvesterUpgradeInPlace(model, node, this.#upgradeKinds, 'cordon') !== undefined || drainingMachineOwnerSkip({ snapshot: model, kinds: this.#upgradeKinds }, node) !== undefined;
  }

  /** Remembers when the skips carried to the drain of `node` stop counting, to evaluate it again then. */
  #expireCarried(node: string, now: number): void {
    const model = this.#model;
    const sources = [drainingMachineOwnerSkip({ snapshot: model, kinds: this.#upgradeKinds, now }, node), harvesterUpgradeSkip(model, node, now, this.#upgradeKinds, 'cordon')];
    for (const source of sources) {
      const expiresAt = source?.until === undefined ? undefined : parseRfc3339(source.until)?.getTime();
      if (expiresAt === undefined || expiresAt <= now) continue;
      this.#carriedExpiries.set(node, Math.min(this.#carriedExpiries.get(node) ?? expiresAt, expiresAt));
      this.#nextExpiry = Math.min(this.#nextExpiry, expiresAt);
    }
  }

  #evaluateNamespace(namespace: string): void {
    const registered = this.#releasesByNamespace.get(namespace);
    const evaluated = this.#evaluatedByNamespace.get(namespace) ?? new Set<string>();
    const keys = new Set<string>([...evaluated, ...(registered?.keys() ?? [])]);
    const now = new Set<string>();
    for (const key of keys) {
      const slash = key.indexOf('/');
      const releaseNamespace = key.slice(0, slash);
      const name = key.slice(slash + 1);
      const orphans = new Set<string>();
      const present =
        registered?.has(key) || this.#model.statefulSetsOfRelease(releaseNamespace, name).length > 0 || this.#model.persistentVolumeClaimsOfRelease(releaseNamespace, name).length > 0;
      // As `audit --release` and the webhook judge them: the release namespace's skip waives them all, a PVC's own
      // reuse approval that PVC (each under the configured writers).
      if (present && this.#judges('orphan-pvc') && namespaceSkipCovering(this.#model, releaseNamespace, 'orphan-pvc', this.#writers) === undefined) {
        // Installed or not is unknown without the release Secrets: PVCs Helm created for it count as its own.
        for (const finding of releaseFindings(this.#model, releaseNamespace, name, { installed: true }).findings) {
          if (finding.severity !== 'critical' || finding.object.kind !== 'PersistentVolumeClaim') continue;
          if (this.#reuseApprovalsHonored && finding.tags.includes(REUSE_APPROVED_TAG)) continue;
          // A live pod mounts it: in use, as the audit leaves it out for a release with no record (an Argo CD app's).
          if (mountedReleaseLabelled(this.#model, finding)) continue;
          orphans.add(`${finding.object.namespace ?? releaseNamespace}/${finding.object.name}`);
        }
      }
      this.#setOrphans(key, orphans);
      if (orphans.size > 0 || registered?.has(key)) now.add(key);
    }
    if (now.size > 0) this.#evaluatedByNamespace.set(namespace, now);
    else this.#evaluatedByNamespace.delete(namespace);
  }

  #setOrphans(releaseKey: string, orphans: ReadonlySet<string>): void {
    const before = this.#orphansByRelease.get(releaseKey) ?? new Set<string>();
    for (const pvc of before) if (!orphans.has(pvc)) this.#refOrphan(pvc, -1);
    for (const pvc of orphans) if (!before.has(pvc)) this.#refOrphan(pvc, +1);
    if (orphans.size > 0) this.#orphansByRelease.set(releaseKey, orphans);
    else this.#orphansByRelease.delete(releaseKey);
  }

  #refOrphan(pvc: string, delta: 1 | -1): void {
    const refs = (this.#orphanRefs.get(pvc) ?? 0) + delta;
    if (refs > 0) this.#orphanRefs.set(pvc, refs);
    else this.#orphanRefs.delete(pvc);
    if ((delta === 1 && refs === 1) || (delta === -1 && refs === 0)) {
      this.#countOrphan(pvc.slice(0, pvc.indexOf('/')), delta);
    }
  }

  /** Keeps per-namespace counts and which namespaces have a series of their own, in O(1). */
  #countOrphan(namespace: string, delta: 1 | -1): void {
    const count = (this.#orphansByNamespace.get(namespace) ?? 0) + delta;
    this.#orphanTotal += delta;
    if (count > 0) this.#orphansByNamespace.set(namespace, count);
    else this.#orphansByNamespace.delete(namespace);
    if (this.#slotted.has(namespace)) {
      if (count === 0) this.#slotted.delete(namespace);
    } else if (count > 0 && this.#slotted.size < this.#orphanNamespaceLimit) {
      // Takes a free slot: its earlier orphans move out of the shared series.
      this.#slotted.add(namespace);
      this.#otherOrphans -= count - delta;
    } else {
      this.#otherOrphans += delta;
    }
  }

  // ------------------------------------------------------------------------------------------------ reading

  /**
   * Whether the counts describe the cluster: the model has had its first full list and everything it marked has been
   * evaluated once. Before that a 0 would be a false all-clear (the gauges then have no samples). Stays true.
   */
  get ready(): boolean {
    if (!this.#ready) this.#caughtUp();
    return this.#ready;
  }

  /** The checks counted (COUNTED_CHECKS) and not in mode `off`: at_risk_volumes has a series for these only. */
  get judgedChecks(): readonly CheckId[] {
    return CHECK_IDS.filter((check) => COUNTED_CHECKS.includes(check) && this.#judges(check));
  }

  /** Whether the check is judged at all: not in mode `off` (the webhook skips it, `audit` does not report it). */
  #judges(check: CheckId): boolean {
    return this.#modes[check] !== 'off';
  }

  /** How many namespaces get an orphan_pvcs series of their own (the rest are summed under OTHER_NAMESPACES). */
  get orphanNamespaceLimit(): number {
    return this.#orphanNamespaceLimit;
  }

  /**
   * The single-replica volumes that never held data, from the model's count of the set by tags (a few keys); a model
   * keeping no such count is walked.
   */
  #noDataVolumes(): number {
    const model = this.#model;
    const byTags = model.volumeCountsByKey(SINGLE_REPLICA_TAGS_COUNT);
    let total = 0;
    if (byTags !== undefined) {
      for (const [key, count] of byTags) if (key.split(' ').includes(NO_DATA_TAG)) total += count;
      return total;
    }
    const nodeIsUp = (node: string, disk?: string): boolean => model.nodeIsUp(node, disk);
    for (const volume of model.volumesInSet(SINGLE_REPLICA_SET)) {
      if (singleReplicaTags(volume, model.replicasOfVolume(volume.name), nodeIsUp).includes(NO_DATA_TAG)) total += 1;
    }
    return total;
  }

  /** The current counts: O(label values), nothing is scanned. */
  counts(): RiskCounts {
    const model = this.#model;
    const longhorn = model.longhornInstalled;
    const atRiskVolumes = zeroByCheck();
    // Not a numberOfReplicas-1 volume that never held data (NO_DATA_TAG): only Harvester's upgrades are refused for it,
    // and there is nothing of it to lose yet.
    atRiskVolumes['single-replica'] = longhorn && this.#judges('single-replica') ? model.volumeSetSize(SINGLE_REPLICA_SET) - this.#noDataVolumes() : 0;
    atRiskVolumes['volume-health'] = longhorn && this.#judges('volume-health') ? model.volumeSetSize(VOLUME_HEALTH_SET) : 0;
    atRiskVolumes['last-replica-on-node'] = this.#findingTotals[NODE_CHECKS.indexOf('last-replica-on-node')] ?? 0;
    atRiskVolumes['node-local-volume'] = this.#findingTotals[NODE_CHECKS.indexOf('node-local-volume')] ?? 0;
    atRiskVolumes['orphan-pvc'] = this.#orphanTotal;
    const nodesBlocked = Object.fromEntries(NODE_CHECKS.map((check, i) => [check, this.#blockedTotals[i] ?? 0])) as Record<NodeCheck, number>;
    const orphanPvcs = new Map<string, number>();
    for (const namespace of this.#slotted) orphanPvcs.set(namespace, this.#orphansByNamespace.get(namespace) ?? 0);
    if (this.#otherOrphans > 0) orphanPvcs.set(OTHER_NAMESPACES, this.#otherOrphans);
    const activeOverrides = new Map<OverrideKind, Record<CheckId, number>>();
    for (const [kind, totals] of this.#overrides) activeOverrides.set(kind, { ...totals });
    return { atRiskVolumes, nodesBlocked, orphanPvcs, activeOverrides, pending: this.pending };
  }
}

/** What of a node decides whether the scheduler places a pod there: its labels, state and taints. */
function placementOf(node: NodeRecord): Partial<NodeRecord> {
  return {
    labels: node.labels,
    unschedulable: node.unschedulable,
    ready: node.ready,
    ...(node.leaving === undefined ? {} : { leaving: node.leaving, cordoned: node.cordoned, drainTaints: node.drainTaints }),
    ...(node.taints === undefined ? {} : { taints: node.taints }),
    ...(node.taintsCut === undefined ? {} : { taintsCut: node.taintsCut }),
  };
}

/** A node's NoExecute taints as one string ('' for none): a change makes its replicas copies or not (last-replica-on-node). */
function noExecuteTaints(node: NodeRecord | undefined): string {
  const taints = node?.taints;
  if (taints === undefined) return '';
  let key = '';
  for (const taint of taints) if (taint.effect === 'NoExecute') key += `${taint.key}=${taint.value};`;
  return key;
}

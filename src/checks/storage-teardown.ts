// storage-teardown: operations on the storage system itself that lose the data of every volume it holds (issue 20):
// Longhorn's uninstall (deleting-confirmation-flag, its uninstaller Job, deleting its namespace or CRDs, stripping
// its finalizers), and safety settings weakened while a volume would lose its last copy under the new setting.
// Also the Longhorn upgrade risk (faulted volumes, volumes without a copy) reported under volume-health.

import type { LonghornReplicaRecord, LonghornVolumeRecord } from '../cluster/records.ts';
import type { ClusterSnapshot, ReplicaDataState } from '../cluster/snapshot.ts';
import { attachmentTag, claimOfVolume, volumeObject } from './affected.ts';
import { type CapOptions, type CappedFindings, FindingCollector, NO_CAP } from './collect.ts';
import {
  countCopies,
  isHealthyReplica,
  isVolumeBeingDeleted,
  neverHeldData,
  type NodeIsUp,
  salvagedReplicas,
  SINGLE_REPLICA_SET,
  VOLUME_HEALTH_SET,
  volumeNeedsReplicasRunning,
} from './longhorn-health.ts';
import type { AffectedObject, Finding } from './types.ts';

export const DELETING_CONFIRMATION_FLAG = 'deleting-confirmation-flag';
export const NODE_DRAIN_POLICY = 'node-drain-policy';
export const ALLOW_DRAIN_WITH_LAST_REPLICA = 'allow-node-drain-with-last-healthy-replica';

export { longhornSettingIsTrue } from './longhorn-health.ts';

/**
 * Longhorn's node-drain-policy values, from the one that protects data most to the one that protects none:
 * - block-for-eviction: Longhorn moves every replica off a draining node before the drain may finish;
 * - block-for-eviction-if-contains-last-replica: it moves the replicas that are a volume's last copy;
 * - block-if-contains-last-replica (default): the drain waits while the node holds a volume's last copy;
 * - allow-if-replica-is-stopped: as above, unless that last copy is stopped (a detached volume);
 * - always-allow: no protection.
 */
export const NODE_DRAIN_POLICIES = [
  'always-allow',
  'allow-if-replica-is-stopped',
  'block-if-contains-last-replica',
  'block-for-eviction-if-contains-last-replica',
  'block-for-eviction',
] as const;

export type NodeDrainPolicy = (typeof NODE_DRAIN_POLICIES)[number];

export const DEFAULT_NODE_DRAIN_POLICY: NodeDrainPolicy = 'block-if-contains-last-replica';

/** Strength of a policy (higher protects more); an unknown value reads as the default. */
export function drainPolicyStrength(value: string): number {
  const index = (NODE_DRAIN_POLICIES as readonly string[]).indexOf(value);
  return index >= 0 ? index : NODE_DRAIN_POLICIES.indexOf(DEFAULT_NODE_DRAIN_POLICY);
}

/**
 * Whether Longhorn itself keeps a drain from taking a volume's last copy away: with block-for-eviction (and its
 * last-replica variant) Longhorn evicts the replicas to other nodes before it lets the node go, so a drain is
 * safe on its own for Longhorn volumes. Needs the setting seen (Longhorn's default does not evict).
 */
export function drainEvictsReplicas(snapshot: ClusterSnapshot): boolean {
  const value = snapshot.longhornSetting(NODE_DRAIN_POLICY)?.value ?? '';
  return value === 'block-for-eviction' || value === 'block-for-eviction-if-contains-last-replica';
}

/** `PersistentVolumeClaim ns/name` of the volume, as related objects. */
function relatedOf(volume: LonghornVolumeRecord): AffectedObject[] {
  const claim = claimOfVolume(volume);
  return claim === undefined ? [] : [claim];
}

function teardownFinding(volume: LonghornVolumeRecord, reason: string): Finding {
  return {
    check: 'storage-teardown',
    severity: 'critical',
    object: volumeObject(volume, undefined),
    reason,
    tags: [attachmentTag(volume)],
    related: relatedOf(volume),
  };
}

export interface TeardownTarget {
  /** Only these volumes (a finalizer stripped from one volume or replica); omitted: every Longhorn volume. */
  readonly volumes?: readonly string[];
  /** Why the data goes, for the finding: `deleted with the Longhorn namespace`. */
  readonly consequence: string;
}

/**
 * The Longhorn volumes whose data an uninstall of Longhorn deletes: every volume not already being deleted, but those
 * with nothing to lose (neverHeldData: known replicas that never held data, created and never attached, as their
 * Volume and Replica DELETEs pass). With none left, nothing is reported and the teardown is allowed.
 */
export function collectStorageTeardown(
  snapshot: ClusterSnapshot,
  target: TeardownTarget,
  cap: CapOptions = NO_CAP,
): CappedFindings {
  const collector = new FindingCollector(cap);
  if (!snapshot.longhornInstalled) return collector.result();
  const consider = (volume: LonghornVolumeRecord | undefined): void => {
    if (volume === undefined || isVolumeBeingDeleted(volume) || neverHeldData(volume, snapshot.replicasOfVolume(volume.name))) return;
    if (collector.countIfFull()) return;
    const tags = [attachmentTag(volume)];
    if (collector.admit(tags)) collector.add(teardownFinding(volume, target.consequence));
  };
  if (target.volumes !== undefined) {
    for (const name of target.volumes) consider(snapshot.longhornVolume(name));
  } else {
    // Teardowns are rare and concern every volume: a walk over all of them is the point.
    for (const volume of snapshot.longhornVolumes()) consider(volume);
  }
  return collector.result();
}

/** A Longhorn Replica DELETE: the replica as the request carries it. */
export interface ReplicaDeletionTarget {
  readonly replica: LonghornReplicaRecord;
}

/**
 * The volume whose data a Replica DELETE takes: longhorn-manager deletes a deleted replica's data on its disk. At
 * risk when the replica holds data (it was healthy once) and either it is a copy the volume has no other of (no
 * other healthy replica on a node that is up), or no other replica holds data at all (a faulted volume's salvage
 * reads the failed replicas). Longhorn's own API refuses the first for its UI; a kubectl DELETE only meets its
 * webhook in newer releases, which counts healthy replicas without asking whether their node is up.
 */
export function collectReplicaDeletion(snapshot: ClusterSnapshot, target: ReplicaDeletionTarget, cap: CapOptions = NO_CAP): CappedFindings {
  const collector = new FindingCollector(cap);
  const { replica } = target;
  // Already being deleted (its data goes whatever this answer is), or never held data: nothing more is lost. Nor
  // with an inactive replica (a live migration's or engine upgrade's twin): longhorn-manager deletes the data
  // directory only with an active replica (its switchActiveReplicas sets `active` last for that reason).
  if (!snapshot.longhornInstalled || replica.deleting || replica.healthyAt === '' || replica.inactive === true) return collector.result();
  const volume = snapshot.longhornVolume(replica.volumeName);
  if (volume === undefined || isVolumeBeingDeleted(volume)) return collector.result();
  const others = snapshot.replicasOfVolume(volume.name).filter((other) => other.name !== replica.name);
  // A node being removed with its disks (an autoscaler's drain taint, its Cluster API Machine being deleted) keeps
  // no copy to count on.
  const nodeIsUp = (node: string, diskID?: string): boolean => snapshot.nodeIsUp(node, diskID) && snapshot.nodeLeaving(node) === undefined;
  const lastCopy = isHealthyReplica(replica) && countCopies(others, nodeIsUp, 1) === 0;
  const onLeaving = others.some((other) => isHealthyReplica(other) && snapshot.nodeIsUp(other.nodeID, other.diskID) && snapshot.nodeLeaving(other.nodeID) !== undefined);
  // An inactive twin shares this replica's data directory: it goes with it. One whose node or disk is gone holds
  // no data any more (Longhorn's auto-salvage skips it), and one on a disk Longhorn reports not ready may hold none.
  const onlyData = !others.some(
    (other) =>
      !other.deleting && other.healthyAt !== '' && other.inactive !== true && (other.nodeID === '' || snapshot.replicaData(other.nodeID, other.diskID) === 'kept'),
  );
  const unsureOthers = onlyData && others.some((other) => isHealthyReplica(other) && other.nodeID !== '' && snapshot.replicaData(other.nodeID, other.diskID) === 'unsure');
  const salvage = lastCopy || onlyData ? undefined : salvageLoss(snapshot, replica, others, nodeIsUp);
  if (!lastCopy && !onlyData && salvage === undefined) return collector.result();
  // No healthy copy left: the volume comes back only through salvage, from this replica (SALVAGE_SOURCE_TAG).
  const tags = ['replica-delete', attachmentTag(volume), ...(lastCopy ? [] : [SALVAGE_SOURCE_TAG])];
  if (collector.countIfFull() || !collector.admit(tags)) return collector.result();
  const where = replica.nodeID === '' ? '' : ` on node ${replica.nodeID}`;
  collector.add({
    check: 'storage-teardown',
    severity: 'critical',
    object: volumeObject(volume, replica.nodeID),
    reason: lastCopy
      ? replica.nodeID !== '' && !nodeIsUp(replica.nodeID, replica.diskID)
        ? `replica ${replica.name}${where} is healthy and no healthy replica of it is on a node that is up (its data is in those on nodes down or being removed)`
        : `replica ${replica.name}${where} is its last healthy copy on a node that is up${onLeaving ? ' and stays (the others are on nodes being removed)' : ''}`
      : onlyData
        ? unsureOthers
          ? `replica ${replica.name}${where} holds the only data sure to be left (the healthy replicas are on disks Longhorn reports not ready)`
          : `replica ${replica.name}${where} holds the only data left (no healthy copy to rebuild from)`
        : salvage === 'older'
          ? `replica ${replica.name}${where} holds the newest data; the replicas left are older (auto-salvage would bring the volume back older)`
          : `replica ${replica.name}${where} is the newest one auto-salvage can bring back; the others as recent are on nodes down or being removed`,
    tags,
    related: relatedOf(volume),
  });
  return collector.result();
}

/** A replica DELETE refused because the volume has no healthy copy: its data comes back only through salvage. */
export const SALVAGE_SOURCE_TAG = 'salvage-source';

/**
 * What deleting a failed replica (or one salvaged and not served since) takes from a volume with no healthy replica
 * left, which comes back through
 * longhorn-manager's auto-salvage (salvagedReplicas: the usable failed replicas within AUTO_SALVAGE_WINDOW_MS of the
 * latest usable failure). When the replica is one salvage brings back and no other it brings back stays (active, on a
 * node that is up and stays), the latest failure left is older: salvage brings the volume back with older data
 * (`older`), or, when the others within the window are on nodes down or being removed, with older data or not at all
 * (`unreachable`). Undefined when salvage keeps the same data.
 */
function salvageLoss(
  snapshot: ClusterSnapshot,
  replica: LonghornReplicaRecord,
  others: readonly LonghornReplicaRecord[],
  stays: NodeIsUp,
): 'older' | 'unreachable' | undefined {
  const replicaData = (node: string, diskID?: string): ReplicaDataState => snapshot.replicaData(node, diskID);
  const all = [...others, replica];
  // A healthy replica sure to hold the data: no salvage (one on a disk Longhorn reports not ready may hold none). A
  // replica auto-salvage already brought back (failedAt cleared, lastFailedAt kept, not served since) is still one of
  // its candidates: deleted, it leaves the volume faulted again, and the next salvage takes what is left.
  if ((replica.failedAt === '' && replica.lastFailedAt === undefined) || all.some((other) => isHealthyReplica(other) && other.nodeID !== '' && replicaData(other.nodeID, other.diskID) === 'kept')) {
    return undefined;
  }
  const salvaged = salvagedReplicas(all, (node, diskID) => snapshot.nodeIsUp(node, diskID), replicaData);
  if (!salvaged.some((candidate) => candidate.name === replica.name)) return undefined;
  const window = salvaged.filter((candidate) => candidate.name !== replica.name && candidate.inactive !== true);
  if (window.some((candidate) => stays(candidate.nodeID, candidate.diskID))) return undefined;
  return window.length === 0 ? 'older' : 'unreachable';
}

/**
 * The volumes that would lose their last copy to a drain under a node-drain-policy of `value`: with
 * always-allow, every volume with a single copy; with allow-if-replica-is-stopped, those whose copy is stopped or
 * stops during that drain (detached volumes, and volumes attached on the copy's own node); stronger policies protect
 * every last copy. `from`, the policy in force before the change (Longhorn's default when omitted): the volumes it
 * already leaves unprotected are at no new risk from the change and are not reported (allow-if-replica-is-stopped
 * to always-allow exposes only the volumes attached away from their copy).
 */
export function collectUnprotectedByDrainPolicy(
  snapshot: ClusterSnapshot,
  value: string,
  cap: CapOptions = NO_CAP,
  from: string = DEFAULT_NODE_DRAIN_POLICY,
): CappedFindings {
  const collector = new FindingCollector(cap);
  const strength = drainPolicyStrength(value);
  const before = drainPolicyStrength(from);
  if (!snapshot.longhornInstalled || strength >= drainPolicyStrength(DEFAULT_NODE_DRAIN_POLICY) || strength >= before) return collector.result();
  const stopped = drainPolicyStrength('allow-if-replica-is-stopped');
  const nodeIsUp = (node: string, diskID?: string): boolean => snapshot.nodeIsUp(node, diskID);
  // The model keeps the single-copy volumes current: no scan of every volume.
  for (const volume of snapshot.volumesInSet(SINGLE_REPLICA_SET)) {
    const replicas = snapshot.replicasOfVolume(volume.name);
    const copy = replicas.find((replica) => isHealthyReplica(replica) && replica.nodeID !== '' && nodeIsUp(replica.nodeID, replica.diskID));
    if (copy === undefined || countCopies(replicas, nodeIsUp, 2) !== 1) continue;
    // Longhorn releases a node's instance-manager only once every volume attached there has detached; then, under
    // allow-if-replica-is-stopped, stopped replicas hold nothing. A volume attached where its copy is (its pod on that
    // node) is detached by the very drain that evicts the pod: its copy stops and goes with the node. One attached
    // elsewhere keeps its copy running, and that copy keeps holding the drain.
    const heldWhileStopped = volumeNeedsReplicasRunning(volume) && volume.currentNodeID !== copy.nodeID;
    // Still protected under the new policy, or already unprotected under the old one: the change exposes nothing.
    if (strength === stopped && heldWhileStopped) continue;
    if (before === stopped && !heldWhileStopped) continue;
    if (collector.countIfFull()) continue;
    const tags = ['drain-policy', attachmentTag(volume)];
    if (!collector.admit(tags)) continue;
    collector.add({
      check: 'storage-teardown',
      severity: 'critical',
      object: volumeObject(volume, copy.nodeID),
      reason: `its only copy is on node ${copy.nodeID}; node-drain-policy ${value} would let a drain of that node take it`,
      tags,
      related: relatedOf(volume),
    });
  }
  return collector.result();
}

/**
 * What a Longhorn upgrade (its Helm chart, its manager's image) endangers: faulted volumes, and volumes with data
 * but no copy on a node that is up. Longhorn upgrades have deleted the replicas of faulted volumes. Reported
 * under volume-health.
 */
export function collectStorageUpgradeRisk(snapshot: ClusterSnapshot, cap: CapOptions = NO_CAP): CappedFindings {
  const collector = new FindingCollector(cap);
  if (!snapshot.longhornInstalled) return collector.result();
  const nodeIsUp = (node: string, diskID?: string): boolean => snapshot.nodeIsUp(node, diskID);
  // Faulted volumes are in the volume-health set and volumes without a copy in the single-replica set.
  const seen = new Set<string>();
  for (const setName of [VOLUME_HEALTH_SET, SINGLE_REPLICA_SET]) {
    for (const volume of snapshot.volumesInSet(setName)) {
      if (seen.has(volume.name) || isVolumeBeingDeleted(volume)) continue;
      seen.add(volume.name);
      const replicas = snapshot.replicasOfVolume(volume.name);
      const faulted = volume.robustness === 'faulted';
      const everHealthy = replicas.some((replica) => replica.healthyAt !== '');
      const noCopy = everHealthy && countCopies(replicas, nodeIsUp, 1) === 0;
      if (!faulted && !noCopy) continue;
      if (collector.countIfFull()) continue;
      const tags = [faulted ? 'faulted' : 'no-copy', attachmentTag(volume)];
      if (!collector.admit(tags)) continue;
      collector.add({
        check: 'volume-health',
        severity: 'critical',
        object: volumeObject(volume, undefined),
        reason: faulted
          ? 'robustness is faulted; a Longhorn upgrade may delete the replicas left'
          : 'no healthy replica on a node that is up; a Longhorn upgrade may delete the replicas left',
        tags,
        related: relatedOf(volume),
      });
    }
  }
  return collector.result();
}

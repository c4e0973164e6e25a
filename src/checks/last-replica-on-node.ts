// last-replica-on-node: a node holding the only healthy replica of a Longhorn volume, whatever numberOfReplicas
// says. Taking that node away (cordon then drain, replacement, an evicted pod's volume) leaves no good copy.

import type { LonghornReplicaRecord, LonghornVolumeRecord } from '../cluster/records.ts';
import type { ClusterSnapshot } from '../cluster/snapshot.ts';
import { attachmentTag, claimOfVolume, instanceManagerEvictingTaints, isPodScratchClaim, isScratchVolumeTaken, lostCopyPlace, lostCopyPlaces, nodesTakenBy, replicaObject, volumeObject } from './affected.ts';
import { type CapOptions, type CappedFindings, FindingCollector, NO_CAP } from './collect.ts';
import {
  LAST_COPY_COUNT,
  SINGLE_REPLICA_VOLUME_TAG,
  STRICT_LOCAL_TAG,
  copyNodes,
  countCopies,
  isHealthyReplica,
  nothingToLoseOnNodes,
  singleCopyNodes,
  soleCopyNode,
  type NodeIsUp,
} from './longhorn-health.ts';
import type { AffectedObject, Check, Finding } from './types.ts';

/**
 * Tag of a last copy whose volume's other healthy replicas are all on nodes that are up but cordoned or being removed
 * (copiesHeldOff): Longhorn counts them, so it rebuilds nothing while the volume is healthy. Those replicas are
 * among the finding's related objects, for the fix to name their nodes.
 */
export const COPIES_HELD_OFF_TAG = 'copies-on-cordoned';

/**
 * Tag added beside COPIES_HELD_OFF_TAG when one of those nodes is out of service by more than a cordon (its Machine
 * or an autoscaler removes it, the same operation may, a NoExecute taint stops its replica): an uncordon brings it
 * back no more.
 */
export const COPIES_NOT_ONLY_CORDONED_TAG = 'copies-not-only-cordoned';

/** Longhorn's CSI driver (PersistentVolumeRecord.driver of the PVs it provisions). */
export const LONGHORN_CSI_DRIVER = 'driver.longhorn.io';

/**
 * A Longhorn volume the model does not know, met by last-replica-on-node: a claim bound to a Longhorn PV (`claim` and
 * `pv` set), or a replica on the node judged (`volume` only). Skipped, not refused: the volume informer may lag the
 * others by a moment for a volume just created; one that stays unknown means volume-guard reads Longhorn's volumes
 * where they are not (longhorn.namespace), which the caller reports.
 */
export interface UnknownLonghornVolume {
  readonly volume: string;
  readonly claim?: { readonly namespace: string; readonly name: string };
}

export interface LastReplicaOnNodeTarget {
  readonly node: string;
  /**
   * Only these Longhorn volume names (an eviction: the volumes of the evicted pod). Omitted: every volume with
   * a replica on the node (a cordon).
   */
  readonly volumes?: readonly string[];
  /** Build at most this many findings (same as CapOptions.limit, for callers of the plain check). */
  readonly limit?: number;
  /** Other nodes removed by the same operation (a Cluster API scale-down): their copies may go with this node's. */
  readonly leavingWith?: LeavingWith;
  /** Told of each replica on the node whose volume the model does not know (skipped). */
  readonly onUnknownVolume?: (unknown: UnknownLonghornVolume) => void;
}

/**
 * The other nodes one operation removes with the node judged: up to `atMost` of `nodes` (all of them when Cluster
 * API's choice is known; any `removed - 1` of the set's other nodes when it is not).
 */
export interface LeavingWith {
  readonly nodes: ReadonlySet<string>;
  readonly atMost: number;
}

/**
 * The Longhorn volumes behind a pod's claims (claim → bound PV → volume), for an eviction's target. A generic
 * ephemeral volume's claim is left out: it is deleted with the pod, whatever happens to the node. A claim bound to a
 * Longhorn PV (its CSI driver) whose volume the model does not know is left out too, and told to `onUnknown`.
 */
export function longhornVolumesOfClaims(
  snapshot: ClusterSnapshot,
  namespace: string,
  claimNames: readonly string[],
  onUnknown?: (unknown: UnknownLonghornVolume) => void,
): string[] {
  const volumes: string[] = [];
  for (const claimName of claimNames) {
    const claim = snapshot.persistentVolumeClaim(namespace, claimName);
    if (claim === undefined || claim.volumeName === '' || isPodScratchClaim(claim)) continue;
    const volume = snapshot.longhornVolumeOfPV(claim.volumeName);
    if (volume === undefined) {
      if (onUnknown !== undefined && snapshot.persistentVolume(claim.volumeName)?.driver === LONGHORN_CSI_DRIVER) {
        onUnknown({ volume: claim.volumeName, claim: { namespace, name: claimName } });
      }
      continue;
    }
    if (!volumes.includes(volume.name)) volumes.push(volume.name);
  }
  return volumes;
}

/**
 * A healthy replica on `node` when that node holds the volume's only copy (copyNodes: the other healthy replicas,
 * if any, are on the same node or on nodes that are down), else undefined.
 */
export function lastHealthyReplicaOn(
  snapshot: ClusterSnapshot,
  volume: LonghornVolumeRecord,
  node: string,
  nodeIsUp: NodeIsUp = (nodeName, diskID) => snapshot.nodeIsUp(nodeName, diskID),
): LonghornReplicaRecord | undefined {
  if (nothingToLoseOnNodes(volume)) return undefined;
  const replicas = snapshot.replicasOfVolume(volume.name);
  if (soleCopyNode(replicas, nodeIsUp) !== node) return undefined;
  return replicas.find((replica) => replica.nodeID === node && isHealthyReplica(replica) && nodeIsUp(node, replica.diskID));
}

function buildFinding(
  snapshot: ClusterSnapshot,
  volume: LonghornVolumeRecord,
  replica: LonghornReplicaRecord,
  node: string,
  tags: readonly string[],
  leavingWith: LeavingWith | undefined,
  heldOff: readonly LonghornReplicaRecord[],
): Finding {
  const others = snapshot.replicasOfVolume(volume.name).filter((other) => other !== replica && isHealthyReplica(other));
  const related: AffectedObject[] = [];
  const claim = claimOfVolume(volume);
  if (claim !== undefined) related.push(claim);
  related.push(replicaObject(replica));
  for (const other of heldOff) related.push(replicaObject(other));
  return {
    check: 'last-replica-on-node',
    severity: 'critical',
    object: volumeObject(volume, node),
    reason:
      others.length === 0
        ? `only healthy replica is on node ${node}`
        : `only copy is on node ${node} (its other healthy replicas are ${describeOthers(snapshot, others, node, leavingWith)})`,
    tags,
    related,
  };
}

function describeOthers(snapshot: ClusterSnapshot, others: readonly LonghornReplicaRecord[], node: string, leavingWith?: LeavingWith): string {
  const sameNode = others.filter((other) => other.nodeID === node && snapshot.nodeIsUp(node, other.diskID)).length;
  const lost = others.filter((other) => other.nodeID !== node || !snapshot.nodeIsUp(node, other.diskID));
  const parts: string[] = [];
  if (sameNode > 0) parts.push('on the same node');
  const place = (replica: LonghornReplicaRecord): string =>
    leavingWith?.nodes.has(replica.nodeID) === true && snapshot.nodeIsUp(replica.nodeID, replica.diskID) && snapshot.nodeLeaving(replica.nodeID) === undefined
      ? `on node ${replica.nodeID}, which the same operation may remove`
      : lostCopyPlace(snapshot, replica);
  if (lost.length > 0) parts.push(lostCopyPlaces(lost, place));
  return parts.join(' and ');
}

/**
 * The other healthy replicas of a volume whose last copy is on `node`, when each is on a node that is up but does
 * not stay (`stays`: cordoned, being removed, or removed by the same operation); none when any is elsewhere (on a
 * node that is down, whose loss Longhorn rebuilds).
 */
function copiesHeldOff(snapshot: ClusterSnapshot, volume: LonghornVolumeRecord, node: string, stays: (node: string) => boolean): LonghornReplicaRecord[] {
  const others = snapshot.replicasOfVolume(volume.name).filter((other) => other.nodeID !== node && isHealthyReplica(other));
  return others.length > 0 && others.every((other) => snapshot.nodeIsUp(other.nodeID, other.diskID) && !stays(other.nodeID)) ? others : [];
}

/**
 * The replicas on `node` of a volume with no copy anywhere (copyNodes is empty) whose data is on that node alone
 * (singleCopyNodes: its healthy replicas there, down; or, none being healthy, its failed ones, which Longhorn can
 * still salvage). Undefined otherwise, or while the volume is being deleted.
 */
function strandedOn(snapshot: ClusterSnapshot, volume: LonghornVolumeRecord, node: string, nodeIsUp: NodeIsUp): readonly LonghornReplicaRecord[] | undefined {
  if (nothingToLoseOnNodes(volume)) return undefined;
  const replicas = snapshot.replicasOfVolume(volume.name);
  if (countCopies(replicas, nodeIsUp, 1) > 0) return undefined;
  const nodes = singleCopyNodes(replicas, nodeIsUp, (nodeName, diskID) => snapshot.replicaData(nodeName, diskID));
  if (nodes.length !== 1 || nodes[0] !== node) return undefined;
  return replicas.filter((replica) => replica.nodeID === node && !replica.deleting);
}

function buildStrandedFinding(
  snapshot: ClusterSnapshot,
  volume: LonghornVolumeRecord,
  replicas: readonly LonghornReplicaRecord[],
  node: string,
  tags: readonly string[],
): Finding {
  const related: AffectedObject[] = [];
  const claim = claimOfVolume(volume);
  if (claim !== undefined) related.push(claim);
  for (const replica of replicas) related.push(replicaObject(replica));
  const healthy = replicas.filter(isHealthyReplica);
  return {
    check: 'last-replica-on-node',
    severity: 'critical',
    object: volumeObject(volume, node),
    reason:
      healthy.length > 0
        ? `no copy left: its only data is ${lostCopyPlaces(healthy, (replica) => lostCopyPlace(snapshot, replica))}`
        : `no healthy replica left: its only data is in a failed replica on node ${node}`,
    tags,
    related,
  };
}

export function collectLastReplicaOnNode(
  snapshot: ClusterSnapshot,
  target: LastReplicaOnNodeTarget,
  cap: CapOptions = NO_CAP,
): CappedFindings {
  const collector = new FindingCollector(cap, target.limit);
  if (!snapshot.longhornInstalled) return collector.result();
  // A replica on another node being removed (an autoscaler's drain taint, its Cluster API Machine being deleted) is
  // no copy to count on: that node and its disks go. Nor is one on another cordoned node: Longhorn does not count it
  // either (its instance-manager PodDisruptionBudget protects only copies on schedulable nodes), and `kubectl drain a
  // b` cordons both before draining either. The model's counts do not know this (they hold for every node alike):
  // with such a node, walk.
  const leavingWith = target.leavingWith !== undefined && target.leavingWith.nodes.size > 0 && target.leavingWith.atMost > 0 ? target.leavingWith : undefined;
  // Nor one on a node whose NoExecute taint the taint manager deletes Longhorn's instance-manager pods for: its
  // replicas stop (`kubectl taint node b maint:NoExecute`, then the same on a).
  const leaving = snapshot.anyNodeLeaving() || leavingWith !== undefined || snapshot.anyNodeCordoned() || snapshot.anyNodeTaintedNoExecute();
  // A cordon: past the listed few, the model's per-node count gives the total (none: nothing to walk).
  const counted = target.volumes === undefined && !leaving ? snapshot.volumeCount(LAST_COPY_COUNT, target.node) : undefined;
  if (counted === 0) return collector.result();
  const seen = new Set<string>();
  const stays = (nodeName: string): boolean =>
    nodeName === target.node ||
    (snapshot.nodeLeaving(nodeName) === undefined &&
      leavingWith?.nodes.has(nodeName) !== true &&
      !snapshot.nodeCordoned(nodeName) &&
      instanceManagerEvictingTaints(snapshot, nodeName).length === 0);
  /** Out of service by a cordon alone: an uncordon brings it back. */
  const onlyCordoned = (nodeName: string): boolean =>
    snapshot.nodeCordoned(nodeName) &&
    snapshot.nodeLeaving(nodeName) === undefined &&
    leavingWith?.nodes.has(nodeName) !== true &&
    instanceManagerEvictingTaints(snapshot, nodeName).length === 0;
  const nodeIsUp: NodeIsUp = leaving
    ? (nodeName, diskID) => snapshot.nodeIsUp(nodeName, diskID) && stays(nodeName)
    : (nodeName, diskID) => snapshot.nodeIsUp(nodeName, diskID);
  // Copies left only on nodes that may go with this one are lost when at most `atMost` of them hold one: any that
  // many may be chosen. (Copies on nodes that stay were counted by nodeIsUp already.)
  const lostWith = (volume: LonghornVolumeRecord): boolean => {
    if (leavingWith === undefined || leavingWith.atMost >= leavingWith.nodes.size) return true;
    const withNodes = copyNodes(snapshot.replicasOfVolume(volume.name), (nodeName, diskID) =>
      leavingWith.nodes.has(nodeName) && snapshot.nodeIsUp(nodeName, diskID) && snapshot.nodeLeaving(nodeName) === undefined,
    );
    return withNodes.length <= leavingWith.atMost;
  };
  const takenWithNode = nodesTakenBy({ node: target.node });
  /** False once the rest is known from the model's count: stop walking. */
  const consider = (volumeName: string): boolean => {
    if (seen.has(volumeName)) return true;
    if (collector.completeFrom(counted)) return false;
    seen.add(volumeName);
    const volume = snapshot.longhornVolume(volumeName);
    if (volume === undefined) {
      // A replica on the node of a volume the model does not know (an eviction's volumes are all known).
      target.onUnknownVolume?.({ volume: volumeName });
      return true;
    }
    const last = lastHealthyReplicaOn(snapshot, volume, target.node, nodeIsUp);
    const replica = last !== undefined && lostWith(volume) ? last : undefined;
    // An eviction: a volume with no copy left whose data is only on this node (its replica there is down, or failed)
    // loses it with the node as well; a cordon reports it under single-replica instead.
    const stranded = replica === undefined && target.volumes !== undefined ? strandedOn(snapshot, volume, target.node, nodeIsUp) : undefined;
    // A pod's scratch volume whose pod the node takes along is deleted with it: no drain can keep it.
    if ((replica === undefined && stranded === undefined) || isScratchVolumeTaken(snapshot, volume, takenWithNode) || collector.countIfFull()) return true;
    const tags: string[] = [attachmentTag(volume)];
    // Set to a single replica by design: not one left with a single copy by nodes gone meanwhile (an earlier step of
    // the same rollout), which no rollout's judgement reported.
    if (volume.numberOfReplicas === 1) tags.push(SINGLE_REPLICA_VOLUME_TAG);
    if (volume.strictLocal === true) tags.push(STRICT_LOCAL_TAG);
    const heldOff = replica !== undefined && leaving ? copiesHeldOff(snapshot, volume, target.node, stays) : [];
    if (heldOff.length > 0) tags.push(COPIES_HELD_OFF_TAG);
    if (heldOff.some((other) => !onlyCordoned(other.nodeID))) tags.push(COPIES_NOT_ONLY_CORDONED_TAG);
    if (!collector.admit(tags)) return true;
    collector.add(
      replica !== undefined
        ? buildFinding(snapshot, volume, replica, target.node, tags, leavingWith, heldOff)
        : buildStrandedFinding(snapshot, volume, stranded!, target.node, tags),
    );
    return true;
  };
  if (target.volumes !== undefined) {
    for (const volumeName of target.volumes) if (!consider(volumeName)) break;
  } else {
    for (const replica of snapshot.replicasOnNode(target.node)) if (!consider(replica.volumeName)) break;
  }
  return collector.result();
}

export const lastReplicaOnNodeCheck: Check<LastReplicaOnNodeTarget> = (snapshot, target) =>
  collectLastReplicaOnNode(snapshot, target).findings;

// single-replica: Longhorn volumes whose data exists in at most one place (seed 001). An upgrade reboots or
// replaces every node in turn; a cordon is the first step of taking one node away.

import type { LonghornReplicaRecord, LonghornVolumeRecord } from '../cluster/records.ts';
import type { ClusterSnapshot } from '../cluster/snapshot.ts';
import { claimOfVolume, describeAttachment, isScratchVolumeTaken, nodesTakenBy, lostCopyPlace, lostCopyPlaces, volumeObject } from './affected.ts';
import { type CapOptions, type CappedFindings, FindingCollector, NO_CAP } from './collect.ts';
import {
  SINGLE_REPLICA_COUNT,
  SINGLE_REPLICA_SET,
  SINGLE_REPLICA_TAGS_COUNT,
  copyNodes,
  countCopies,
  dataNodes,
  isHealthyReplica,
  isSingleReplicaVolume,
  EVERY_REPLICA_DATA_KEPT,
  DATA_IN_FAILED_TAG,
  DATA_LOST_TAG,
  NO_COPY_LEFT_TAG,
  SALVAGED_TAG,
  isSalvagedUnconfirmed,
  type NodeIsUp,
  type ReplicaDataOf,
  singleCopyNodes,
  singleReplicaTags,
} from './longhorn-health.ts';
import type { AffectedObject, Check, Finding } from './types.ts';

export interface SingleReplicaTarget {
  /**
   * Cordon of this node: only the single-replica volumes whose data is on it (a healthy replica there, or any
   * replica there when the volume has no healthy one) and nowhere else (a volume lowered to numberOfReplicas 1
   * with copies on two nodes survives the loss of one). Omitted: the whole cluster (an upgrade).
   */
  readonly node?: string;
  /**
   * An upgrade of these nodes only (a Plan's selected nodes, a MachineDeployment's): the single-replica volumes
   * with no copy on another node (a copy on a node the upgrade leaves alone survives it) and, with no copy at all,
   * data on one of these or on no node any more (dataNodes: its data waits on its down nodes' disks). Ignored with
   * `node`.
   */
  readonly nodes?: readonly string[];
  /** Build at most this many findings (same as CapOptions.limit, for callers of the plain check). */
  readonly limit?: number;
}

/** Where a healthy replica that is no copy sits, and why (lostCopyPlace). */
type LostPlace = (replica: LonghornReplicaRecord) => string;

const DOWN_PLACE: LostPlace = (replica) => `on node ${replica.nodeID}, down`;

function describeReplicas(
  volume: LonghornVolumeRecord,
  replicas: readonly LonghornReplicaRecord[],
  nodes: readonly string[],
  nodeIsUp: NodeIsUp,
  lostPlace: LostPlace,
): string {
  const onNodes = `on node ${nodes.join(', ')}`;
  const copies = countCopies(replicas, nodeIsUp);
  const healthy = replicas.filter(isHealthyReplica);
  const lost = healthy.filter((replica) => replica.nodeID !== '' && !nodeIsUp(replica.nodeID, replica.diskID));
  // Healthy replicas whose node or disk is gone hold nothing: the data is then in failed replicas elsewhere. Those on
  // a disk Longhorn reports not ready may hold the newest (their nodes are among `nodes`): the failed ones are older.
  const failedHolders = nodes.filter((node) => !lost.some((replica) => replica.nodeID === node));
  const lostHold = lost.some((replica) => nodes.includes(replica.nodeID));
  const inFailed =
    failedHolders.length === 0 ? '' : `; ${lostHold ? 'older data in' : 'its data is left in'} failed replicas on node ${failedHolders.join(', ')}`;
  const lostHealthy = `${lost.length === 1 ? 'its healthy replica is' : 'its healthy replicas are'} ${lostCopyPlaces(lost, lostPlace)}${inFailed}`;
  if (volume.numberOfReplicas === 1) {
    if (nodes.length === 0) return 'numberOfReplicas is 1, no replica scheduled yet';
    // Lowered to 1 from more: Longhorn keeps the extra healthy replicas, but rebuilds none of them once it fails.
    if (copies > 1) return `numberOfReplicas is 1, copies now ${onNodes}: Longhorn replaces none that fails`;
    if (copies === 0 && lost.length > 0) return `numberOfReplicas is 1, no copy left: ${lostHealthy}`;
    return `numberOfReplicas is 1, its only replica is ${onNodes}`;
  }
  if (healthy.length === 0) {
    const where = nodes.length === 0 ? '' : `, replicas left ${onNodes}`;
    // Salvaged after every replica failed (failedAt cleared, lastFailedAt kept), and no engine has run them RW since.
    if (nodes.length > 0 && replicas.some(isSalvagedUnconfirmed)) {
      return `salvaged after all its replicas failed, none served since: each replica ${onNodes} may hold the newest data`;
    }
    return `no healthy replica out of ${volume.numberOfReplicas}${where}`;
  }
  if (copies === 0 && lost.length > 0) return `no copy left: ${lostHealthy}`;
  if (healthy.length === 1) return `only 1 of ${volume.numberOfReplicas} replicas is healthy, ${onNodes}`;
  const why = lost.length > 0 ? `the others are ${lostCopyPlaces(lost, lostPlace)}` : `all ${healthy.length} healthy replicas are there`;
  return `only 1 copy, ${onNodes}: ${why}`;
}

/** The tags, with NO_COPY_LEFT_TAG, DATA_IN_FAILED_TAG or DATA_LOST_TAG when the volume has healthy replicas but none is a copy. */
function withNoCopyTag(
  tags: readonly string[],
  replicas: readonly LonghornReplicaRecord[],
  nodeIsUp: NodeIsUp,
  replicaData: ReplicaDataOf,
): readonly string[] {
  const healthy = replicas.filter(isHealthyReplica);
  // Salvaged replicas none of which served since: the engine picks the newest once it runs them (attach the volume).
  if (healthy.length === 0 && replicas.some(isSalvagedUnconfirmed)) return [...tags, SALVAGED_TAG];
  if (healthy.length === 0 || countCopies(replicas, nodeIsUp, 1) > 0) return tags;
  const waits = healthy.some((replica) => replica.nodeID !== '' && replicaData(replica.nodeID, replica.diskID) !== 'gone');
  if (waits) return [...tags, NO_COPY_LEFT_TAG];
  // Failed replicas that held data (healthy once) are what salvage brings back; without any, nothing is left.
  const inFailed = replicas.some((replica) => replica.failedAt !== '' && replica.healthyAt !== '' && replica.nodeID !== '' && replicaData(replica.nodeID, replica.diskID) !== 'gone');
  return [...tags, inFailed ? DATA_IN_FAILED_TAG : DATA_LOST_TAG];
}

export function singleReplicaFinding(
  volume: LonghornVolumeRecord,
  replicas: readonly LonghornReplicaRecord[],
  tags: readonly string[] | undefined = undefined,
  nodeIsUp: NodeIsUp = () => true,
  lostPlace: LostPlace = DOWN_PLACE,
  replicaData: ReplicaDataOf = EVERY_REPLICA_DATA_KEPT,
): Finding {
  const nodes = dataNodes(replicas, nodeIsUp, replicaData);
  const claim = claimOfVolume(volume);
  const related: AffectedObject[] = claim === undefined ? [] : [claim];
  return {
    check: 'single-replica',
    severity: 'critical',
    object: volumeObject(volume, nodes.join(',')),
    reason: `${describeReplicas(volume, replicas, nodes, nodeIsUp, lostPlace)} (${describeAttachment(volume)})`,
    tags: withNoCopyTag(tags ?? singleReplicaTags(volume, replicas, nodeIsUp), replicas, nodeIsUp, replicaData),
    related,
  };
}

export function collectSingleReplica(
  snapshot: ClusterSnapshot,
  target: SingleReplicaTarget,
  cap: CapOptions = NO_CAP,
): CappedFindings {
  const collector = new FindingCollector(cap, target.limit);
  if (!snapshot.longhornInstalled) return collector.result();
  const nodeIsUp: NodeIsUp = (nodeName, diskID) => snapshot.nodeIsUp(nodeName, diskID);
  const replicaData: ReplicaDataOf = (nodeName, diskID) => snapshot.replicaData(nodeName, diskID);
  const lostPlace: LostPlace = (replica) => lostCopyPlace(snapshot, replica);
  // A pod's scratch volume (generic ephemeral) whose pod the operation takes along is deleted with it anyway.
  const taken = nodesTakenBy(target);
  const consider = (volume: LonghornVolumeRecord, replicas: readonly LonghornReplicaRecord[] | undefined): void => {
    if (isScratchVolumeTaken(snapshot, volume, taken)) return;
    const ofVolume = replicas ?? snapshot.replicasOfVolume(volume.name);
    const tags = singleReplicaTags(volume, ofVolume, nodeIsUp);
    if (collector.admit(tags)) collector.add(singleReplicaFinding(volume, ofVolume, tags, nodeIsUp, lostPlace, replicaData));
  };
  if (target.node === undefined && target.nodes !== undefined) {
    // Every single-replica volume but those keeping a copy on a node the upgrade spares, and those with no copy whose
    // data (dataNodes: a down node's healthy replicas, the failed ones salvage takes) is on no node it upgrades: the
    // data waits there whatever the upgrade does. One whose data no node and disk holds any more (its replicas on a
    // node or disk that is gone) stays reported, as cluster-wide.
    const upgraded = new Set(target.nodes);
    const reaches = (name: string): boolean => upgraded.has(name);
    const holds = (replica: LonghornReplicaRecord): boolean => replica.nodeID !== '' && replicaData(replica.nodeID, replica.diskID) !== 'gone';
    for (const volume of snapshot.volumesInSet(SINGLE_REPLICA_SET)) {
      const replicas = snapshot.replicasOfVolume(volume.name);
      if (copyNodes(replicas, nodeIsUp).some((name) => !reaches(name))) continue;
      const data = dataNodes(replicas, nodeIsUp, replicaData);
      if (!data.some(reaches) && replicas.some((replica) => holds(replica) && data.includes(replica.nodeID))) continue;
      if (!collector.countIfFull()) consider(volume, replicas);
    }
    return collector.result();
  }
  if (target.node === undefined) {
    // The model keeps this set current on every write, and counts its members by tags: past the listed few (and
    // the first of each kind a tag override waives), the rest is counted, not visited.
    const byTags = snapshot.volumeCountsByKey(SINGLE_REPLICA_TAGS_COUNT);
    const fetched = new Set<string>();
    for (const volume of snapshot.volumesInSet(SINGLE_REPLICA_SET)) {
      if (collector.completeFromTags(byTags)) break;
      if (byTags !== undefined && collector.full && fetched.size === 0) {
        // The listing is built: what completing still waits for (a first waived volume, a wording combination) is
        // fetched from the model's members of that kind, not walked to. None of them was walked yet: a walked one
        // would have met it.
        for (let key = collector.awaitedTags(byTags); key !== undefined; key = collector.awaitedTags(byTags)) {
          const next = firstOf(snapshot.volumesCountedUnder(SINGLE_REPLICA_TAGS_COUNT, key));
          if (next === undefined || fetched.has(next.name)) break;
          fetched.add(next.name);
          consider(next, undefined);
        }
        if (collector.completeFromTags(byTags)) break;
      }
      if (fetched.has(volume.name)) continue;
      if (!collector.countIfFull()) consider(volume, undefined);
    }
    return collector.result();
  }
  // The model keeps, per node, the single-replica volumes whose data is there and nowhere else (SINGLE_REPLICA_COUNT:
  // singleCopyNodes); past the listed few, its count gives the total.
  const node = target.node;
  const counted = snapshot.volumeCount(SINGLE_REPLICA_COUNT, node);
  if (counted === 0) return collector.result();
  if (counted !== undefined) {
    for (const volume of snapshot.volumesCountedUnder(SINGLE_REPLICA_COUNT, node)) {
      if (collector.completeFrom(counted)) break;
      if (!collector.countIfFull()) consider(volume, undefined);
    }
    return collector.result();
  }
  // A snapshot keeping no such count: the volumes of the replicas on the node, each once.
  const seen = new Set<string>();
  for (const replicaOnNode of snapshot.replicasOnNode(node)) {
    if (seen.has(replicaOnNode.volumeName)) continue;
    seen.add(replicaOnNode.volumeName);
    const volume = snapshot.longhornVolume(replicaOnNode.volumeName);
    if (volume === undefined) continue;
    const replicas = snapshot.replicasOfVolume(volume.name);
    if (!isSingleReplicaVolume(volume, replicas, nodeIsUp) || !singleCopyNodes(replicas, nodeIsUp, replicaData).includes(node)) continue;
    if (!collector.countIfFull()) consider(volume, replicas);
  }
  return collector.result();
}

export const singleReplicaCheck: Check<SingleReplicaTarget> = (snapshot, target) =>
  collectSingleReplica(snapshot, target).findings;

function firstOf<T>(values: Iterable<T>): T | undefined {
  for (const value of values) return value;
  return undefined;
}

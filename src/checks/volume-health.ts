// volume-health: Longhorn volumes that are already short of healthy copies, or whose replicas point at disks or
// nodes that are gone (seed 002). Rolling nodes while they are in that state loses the copies that remain.

import type { LonghornReplicaRecord, LonghornVolumeRecord } from '../cluster/records.ts';
import type { ClusterSnapshot } from '../cluster/snapshot.ts';
import { attachmentTag, claimOfVolume, isScratchVolumeTaken, nodesTakenBy, replicaObject, volumeContext, volumeObject } from './affected.ts';
import { type CapOptions, type CappedFindings, FindingCollector, NO_CAP } from './collect.ts';
import { healthyCopyNodes, isHealthyReplica, type NodeIsUp, VOLUME_HEALTH_COUNT, VOLUME_HEALTH_SET, type VolumeHealthProblem, volumeHealthProblems } from './longhorn-health.ts';
import type { AffectedObject, Check, Finding } from './types.ts';

export interface VolumeHealthTarget {
  /** Only the unhealthy volumes with a healthy replica (a copy) on this node. Omitted: the whole cluster (an upgrade). */
  readonly node?: string;
  /**
   * An upgrade of these nodes only: the unhealthy volumes with a healthy replica (a copy) on one of them or on a node
   * that is down.
   */
  readonly nodes?: readonly string[];
  /** Build at most this many findings (same as CapOptions.limit, for callers of the plain check). */
  readonly limit?: number;
}

/** The problem kinds (`degraded`, `replica-stopped`, `replica-disk-missing`...) plus `attached`/`detached`. */
function volumeHealthTags(volume: LonghornVolumeRecord, problems: readonly VolumeHealthProblem[]): string[] {
  const tags: string[] = [];
  for (const problem of problems) if (!tags.includes(problem.kind)) tags.push(problem.kind);
  tags.push(attachmentTag(volume));
  return tags;
}

function buildFinding(
  volume: LonghornVolumeRecord,
  problems: readonly VolumeHealthProblem[],
  tags: readonly string[],
): Finding {
  const related: AffectedObject[] = [];
  const claim = claimOfVolume(volume);
  if (claim !== undefined) related.push(claim);
  const replicaNodes: string[] = [];
  // A volume has a few replicas: a list is cheaper than a set here.
  const listedReplicas: string[] = [];
  let reason = '';
  for (let index = 0; index < problems.length; index++) {
    const problem = problems[index]!;
    reason += index === 0 ? problem.description : `; ${problem.description}`;
    const replica = problem.replica;
    if (replica === undefined || listedReplicas.includes(replica.name)) continue;
    listedReplicas.push(replica.name);
    related.push(replicaObject(replica));
    if (replica.nodeID !== '' && !replicaNodes.includes(replica.nodeID)) replicaNodes.push(replica.nodeID);
  }
  return {
    check: 'volume-health',
    severity: 'critical',
    object: volumeObject(volume, replicaNodes.length > 0 ? replicaNodes.join(',') : volume.currentNodeID),
    reason,
    tags,
    related,
  };
}

/** One finding naming every problem of the volume, or undefined when it has none. */
export function volumeHealthFinding(snapshot: ClusterSnapshot, volume: LonghornVolumeRecord): Finding | undefined {
  const problems = volumeHealthProblems(volume, volumeContext(snapshot, volume.name));
  return problems.length === 0 ? undefined : buildFinding(volume, problems, volumeHealthTags(volume, problems));
}

export function collectVolumeHealth(
  snapshot: ClusterSnapshot,
  target: VolumeHealthTarget,
  cap: CapOptions = NO_CAP,
): CappedFindings {
  const collector = new FindingCollector(cap, target.limit);
  if (!snapshot.longhornInstalled) return collector.result();
  // A pod's scratch volume (generic ephemeral) whose pod the operation takes along is deleted with it anyway.
  const taken = nodesTakenBy(target);
  const consider = (volume: LonghornVolumeRecord): void => {
    if (isScratchVolumeTaken(snapshot, volume, taken)) return;
    const problems = volumeHealthProblems(volume, volumeContext(snapshot, volume.name));
    if (problems.length === 0) return;
    const tags = volumeHealthTags(volume, problems);
    if (collector.admit(tags)) collector.add(buildFinding(volume, problems, tags));
  };
  if (target.node === undefined && target.nodes !== undefined) {
    // Every unhealthy volume but those whose copies all sit on nodes the upgrade spares. As at a cordon
    // (VOLUME_HEALTH_COUNT), a replica that is no copy (failed, still rebuilding, not even scheduled: a degraded
    // volume's missing one, or on a down node while a node that is up holds one) ties no node to the volume.
    const upgraded = new Set(target.nodes);
    const nodeIsUp: NodeIsUp = (nodeName, diskID) => snapshot.nodeIsUp(nodeName, diskID);
    // With no healthy replica left (faulted), the failed ones that held data are all there is to salvage from, as at a
    // cordon (last-replica-on-node) and a Replica DELETE: one on an upgraded node ties the volume to the upgrade.
    const salvageSource = (replica: LonghornReplicaRecord): boolean => !replica.deleting && replica.healthyAt !== '' && upgraded.has(replica.nodeID);
    for (const volume of snapshot.volumesInSet(VOLUME_HEALTH_SET)) {
      const replicas = snapshot.replicasOfVolume(volume.name);
      const onlySalvage = !replicas.some(isHealthyReplica) && replicas.some(salvageSource);
      // The nodes holding its copies (healthyCopyNodes, as at a cordon: a down node's replica while a node that is up
      // holds a copy ties nothing); spared when none of them is upgraded.
      const spared = replicas.length > 0 && !healthyCopyNodes(replicas, nodeIsUp).some((node) => upgraded.has(node));
      if (spared && !onlySalvage) continue;
      // Members of the set have problems by definition: past the cap they are counted without being examined.
      if (!collector.countIfFull()) consider(volume);
    }
    return collector.result();
  }
  if (target.node === undefined) {
    // The model keeps this set current on every write: no scan of all volumes. Its members have problems by
    // definition, so past the cap they are counted without being examined.
    const counted = snapshot.volumeSetSize(VOLUME_HEALTH_SET);
    for (const volume of snapshot.volumesInSet(VOLUME_HEALTH_SET)) {
      if (collector.completeFrom(counted)) break;
      if (!collector.countIfFull()) consider(volume);
    }
    return collector.result();
  }
  // The model keeps, per node, the unhealthy volumes with a copy there (VOLUME_HEALTH_COUNT, healthyCopyNodes): a
  // failed replica, one still rebuilding, or one on a down node while another node holds a copy does not tie the node
  // to its volume. Past the listed few, its count gives the total.
  const counted = snapshot.volumeCount(VOLUME_HEALTH_COUNT, target.node);
  if (counted === 0) return collector.result();
  if (counted !== undefined) {
    for (const volume of snapshot.volumesCountedUnder(VOLUME_HEALTH_COUNT, target.node)) {
      if (collector.completeFrom(counted)) break;
      consider(volume);
    }
    return collector.result();
  }
  // A snapshot keeping no such count: the volumes of the healthy replicas on the node, each once, that count the node
  // as holding one of their copies.
  const seen = new Set<string>();
  const nodeIsUp: NodeIsUp = (nodeName, diskID) => snapshot.nodeIsUp(nodeName, diskID);
  for (const replica of snapshot.replicasOnNode(target.node)) {
    if (!isHealthyReplica(replica) || seen.has(replica.volumeName)) continue;
    seen.add(replica.volumeName);
    const volume = snapshot.longhornVolume(replica.volumeName);
    if (volume !== undefined && healthyCopyNodes(snapshot.replicasOfVolume(volume.name), nodeIsUp).includes(target.node)) consider(volume);
  }
  return collector.result();
}

export const volumeHealthCheck: Check<VolumeHealthTarget> = (snapshot, target) =>
  collectVolumeHealth(snapshot, target).findings;

// volume-health: Longhorn volumes that are already short of healthy copies, or whose replicas point at disks or
// nodes that are gone (seed 002). Rolling nodes while they are in that state loses the copies that remain.

import type { LonghornVolumeRecord } from '../cluster/records.ts';
import type { ClusterSnapshot } from '../cluster/snapshot.ts';
import { attachmentTag, claimOfVolume, distinct, replicaObject, volumeContext, volumeObject } from './affected.ts';
import { VOLUME_HEALTH_SET, volumeHealthProblems } from './longhorn-health.ts';
import type { AffectedObject, Check, Finding } from './types.ts';

export interface VolumeHealthTarget {
  /** Only the unhealthy volumes with a replica on this node. Omitted: the whole cluster (an upgrade). */
  readonly node?: string;
  /** Stop after this many findings (the message layer caps its list anyway). */
  readonly limit?: number;
}

/** One finding naming every problem of the volume, or undefined when it has none. */
export function volumeHealthFinding(snapshot: ClusterSnapshot, volume: LonghornVolumeRecord): Finding | undefined {
  const problems = volumeHealthProblems(volume, volumeContext(snapshot, volume.name));
  if (problems.length === 0) return undefined;
  const related: AffectedObject[] = [];
  const claim = claimOfVolume(volume);
  if (claim !== undefined) related.push(claim);
  const replicaNodes: string[] = [];
  const listedReplicas = new Set<string>();
  for (const { replica } of problems) {
    if (replica === undefined || listedReplicas.has(replica.name)) continue;
    listedReplicas.add(replica.name);
    related.push(replicaObject(replica));
    if (replica.nodeID !== '' && !replicaNodes.includes(replica.nodeID)) replicaNodes.push(replica.nodeID);
  }
  const node = replicaNodes.length > 0 ? replicaNodes.join(',') : volume.currentNodeID;
  return {
    check: 'volume-health',
    severity: 'critical',
    object: volumeObject(volume, node),
    reason: problems.map((problem) => problem.description).join('; '),
    tags: [...distinct(problems.map((problem) => problem.kind)), attachmentTag(volume)],
    related,
  };
}

export const volumeHealthCheck: Check<VolumeHealthTarget> = (snapshot, target) => {
  if (!snapshot.longhornInstalled) return [];
  const limit = target.limit ?? Number.POSITIVE_INFINITY;
  const findings: Finding[] = [];
  if (target.node === undefined) {
    // The model keeps this set current on every write: no scan of all volumes.
    for (const volume of snapshot.volumesInSet(VOLUME_HEALTH_SET)) {
      if (findings.length >= limit) break;
      const finding = volumeHealthFinding(snapshot, volume);
      if (finding !== undefined) findings.push(finding);
    }
    return findings;
  }
  const seen = new Set<string>();
  for (const replica of snapshot.replicasOnNode(target.node)) {
    if (findings.length >= limit) break;
    if (seen.has(replica.volumeName)) continue;
    seen.add(replica.volumeName);
    const volume = snapshot.longhornVolume(replica.volumeName);
    const finding = volume === undefined ? undefined : volumeHealthFinding(snapshot, volume);
    if (finding !== undefined) findings.push(finding);
  }
  return findings;
};

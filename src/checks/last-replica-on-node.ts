// last-replica-on-node: a node holding the only healthy replica of a Longhorn volume, whatever numberOfReplicas
// says. Taking that node away (cordon then drain, replacement, an evicted pod's volume) leaves no good copy.

import type { LonghornVolumeRecord } from '../cluster/records.ts';
import type { ClusterSnapshot } from '../cluster/snapshot.ts';
import { attachmentTag, claimOfVolume, replicaObject, volumeObject } from './affected.ts';
import { isHealthyReplica, isVolumeBeingDeleted } from './longhorn-health.ts';
import type { AffectedObject, Check, Finding } from './types.ts';

export interface LastReplicaOnNodeTarget {
  readonly node: string;
  /**
   * Only these Longhorn volume names (an eviction: the volumes of the evicted pod). Omitted: every volume with
   * a replica on the node (a cordon).
   */
  readonly volumes?: readonly string[];
  /** Stop after this many findings (the message layer caps its list anyway). */
  readonly limit?: number;
}

/** The finding when the node holds the volume's only healthy replica, else undefined. */
export function lastReplicaFinding(
  snapshot: ClusterSnapshot,
  volume: LonghornVolumeRecord,
  node: string,
): Finding | undefined {
  if (isVolumeBeingDeleted(volume)) return undefined;
  let onlyHealthy = undefined;
  for (const replica of snapshot.replicasOfVolume(volume.name)) {
    if (!isHealthyReplica(replica)) continue;
    if (onlyHealthy !== undefined) return undefined;
    onlyHealthy = replica;
  }
  if (onlyHealthy === undefined || onlyHealthy.nodeID !== node) return undefined;
  const related: AffectedObject[] = [];
  const claim = claimOfVolume(volume);
  if (claim !== undefined) related.push(claim);
  related.push(replicaObject(onlyHealthy));
  return {
    check: 'last-replica-on-node',
    severity: 'critical',
    object: volumeObject(volume, node),
    reason: `only healthy replica is on node ${node}`,
    tags: [attachmentTag(volume)],
    related,
  };
}

export const lastReplicaOnNodeCheck: Check<LastReplicaOnNodeTarget> = (snapshot, target) => {
  if (!snapshot.longhornInstalled) return [];
  const limit = target.limit ?? Number.POSITIVE_INFINITY;
  const candidates =
    target.volumes ?? snapshot.replicasOnNode(target.node).map((replica) => replica.volumeName);
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const volumeName of candidates) {
    if (findings.length >= limit) break;
    if (seen.has(volumeName)) continue;
    seen.add(volumeName);
    const volume = snapshot.longhornVolume(volumeName);
    const finding = volume === undefined ? undefined : lastReplicaFinding(snapshot, volume, target.node);
    if (finding !== undefined) findings.push(finding);
  }
  return findings;
};

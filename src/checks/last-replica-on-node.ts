// last-replica-on-node: a node holding the only healthy replica of a Longhorn volume, whatever numberOfReplicas
// says. Taking that node away (cordon then drain, replacement, an evicted pod's volume) leaves no good copy.

import type { LonghornReplicaRecord, LonghornVolumeRecord } from '../cluster/records.ts';
import type { ClusterSnapshot } from '../cluster/snapshot.ts';
import { attachmentTag, claimOfVolume, replicaObject, volumeObject } from './affected.ts';
import { type CapOptions, type CappedFindings, FindingCollector, NO_CAP } from './collect.ts';
import { isHealthyReplica, isVolumeBeingDeleted } from './longhorn-health.ts';
import type { AffectedObject, Check, Finding } from './types.ts';

export interface LastReplicaOnNodeTarget {
  readonly node: string;
  /**
   * Only these Longhorn volume names (an eviction: the volumes of the evicted pod). Omitted: every volume with
   * a replica on the node (a cordon).
   */
  readonly volumes?: readonly string[];
  /** Build at most this many findings (same as CapOptions.limit, for callers of the plain check). */
  readonly limit?: number;
}

/** The Longhorn volumes behind a pod's claims (claim → bound PV → volume), for an eviction's target. */
export function longhornVolumesOfClaims(
  snapshot: ClusterSnapshot,
  namespace: string,
  claimNames: readonly string[],
): string[] {
  const volumes: string[] = [];
  for (const claimName of claimNames) {
    const claim = snapshot.persistentVolumeClaim(namespace, claimName);
    if (claim === undefined || claim.volumeName === '') continue;
    const volume = snapshot.longhornVolumeOfPV(claim.volumeName);
    if (volume !== undefined && !volumes.includes(volume.name)) volumes.push(volume.name);
  }
  return volumes;
}

/** The volume's only healthy replica when it is on `node`, else undefined. */
export function lastHealthyReplicaOn(
  snapshot: ClusterSnapshot,
  volume: LonghornVolumeRecord,
  node: string,
): LonghornReplicaRecord | undefined {
  if (isVolumeBeingDeleted(volume)) return undefined;
  let onlyHealthy: LonghornReplicaRecord | undefined;
  for (const replica of snapshot.replicasOfVolume(volume.name)) {
    if (!isHealthyReplica(replica)) continue;
    if (onlyHealthy !== undefined) return undefined;
    onlyHealthy = replica;
  }
  return onlyHealthy?.nodeID === node ? onlyHealthy : undefined;
}

function buildFinding(
  volume: LonghornVolumeRecord,
  replica: LonghornReplicaRecord,
  node: string,
  tags: readonly string[],
): Finding {
  const related: AffectedObject[] = [];
  const claim = claimOfVolume(volume);
  if (claim !== undefined) related.push(claim);
  related.push(replicaObject(replica));
  return {
    check: 'last-replica-on-node',
    severity: 'critical',
    object: volumeObject(volume, node),
    reason: `only healthy replica is on node ${node}`,
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
  const candidates = target.volumes ?? snapshot.replicasOnNode(target.node).map((replica) => replica.volumeName);
  const seen = new Set<string>();
  for (const volumeName of candidates) {
    if (seen.has(volumeName)) continue;
    seen.add(volumeName);
    const volume = snapshot.longhornVolume(volumeName);
    if (volume === undefined) continue;
    const replica = lastHealthyReplicaOn(snapshot, volume, target.node);
    if (replica === undefined || collector.countIfFull()) continue;
    const tags = [attachmentTag(volume)];
    if (collector.admit(tags)) collector.add(buildFinding(volume, replica, target.node, tags));
  }
  return collector.result();
}

export const lastReplicaOnNodeCheck: Check<LastReplicaOnNodeTarget> = (snapshot, target) =>
  collectLastReplicaOnNode(snapshot, target).findings;

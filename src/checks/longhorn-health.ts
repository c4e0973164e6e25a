// Pure predicates on Longhorn records, shared by the Longhorn checks and by the cluster model's volume sets
// (VOLUME_SETS), so that a set membership and a check's verdict can never disagree.

import type { LonghornReplicaRecord, LonghornVolumeRecord } from '../cluster/records.ts';
import type { VolumeContext, VolumePredicate } from '../cluster/snapshot.ts';

/** Longhorn's own definition: the replica has become healthy once, has not failed since, and is not going away. */
export function isHealthyReplica(replica: LonghornReplicaRecord): boolean {
  return replica.healthyAt !== '' && replica.failedAt === '' && !replica.deleting;
}

export function healthyReplicas(replicas: readonly LonghornReplicaRecord[]): LonghornReplicaRecord[] {
  return replicas.filter(isHealthyReplica);
}

export function countHealthyReplicas(replicas: readonly LonghornReplicaRecord[]): number {
  let healthy = 0;
  for (const replica of replicas) if (isHealthyReplica(replica)) healthy++;
  return healthy;
}

/** The user is deleting the volume: losing its data is the point, no check reports it. */
export function isVolumeBeingDeleted(volume: LonghornVolumeRecord): boolean {
  return volume.deleting || volume.state === 'deleting';
}

/**
 * Whether the volume is in use or about to be. `creating` counts as attached, as in Harvester's own upgrade
 * validator: the Harvester annotation that skips detached single-replica volumes must not skip more than
 * Harvester would. A `detaching` volume still on a node is attached.
 */
export function isVolumeAttached(volume: LonghornVolumeRecord): boolean {
  return (
    volume.state === 'attached' ||
    volume.state === 'attaching' ||
    volume.state === 'creating' ||
    volume.currentNodeID !== ''
  );
}

/** Whether the engine is running (or starting) and counts on its replicas being up. */
export function volumeNeedsReplicasRunning(volume: LonghornVolumeRecord): boolean {
  return volume.state === 'attached' || volume.state === 'attaching';
}

/**
 * A volume whose data exists in at most one place: `numberOfReplicas` is 1 whatever its state (attached,
 * detached, creating...), or at most one replica is healthy whatever `numberOfReplicas` says ("effective
 * single replica"). A stopped replica of a detached volume keeps its healthyAt and so counts as healthy.
 *
 * Not reported: a volume being deleted, and a volume with several replicas none of which has ever been
 * healthy (no replica has healthyAt set): it is being created, or was created and never attached, so it
 * holds no data yet. A volume whose replicas all failed after holding data is reported (its robustness is
 * faulted, which volume-health reports too).
 */
export function isSingleReplicaVolume(
  volume: LonghornVolumeRecord,
  replicas: readonly LonghornReplicaRecord[],
): boolean {
  if (isVolumeBeingDeleted(volume)) return false;
  if (volume.numberOfReplicas === 1) return true;
  const healthy = countHealthyReplicas(replicas);
  if (healthy === 1) return true;
  if (healthy > 1) return false;
  return replicas.some((replica) => replica.healthyAt !== '');
}

export type VolumeHealthProblemKind =
  | 'degraded'
  | 'faulted'
  | 'replica-stopped'
  | 'replica-error'
  | 'replica-disk-missing'
  | 'replica-node-unknown';

export interface VolumeHealthProblem {
  readonly kind: VolumeHealthProblemKind;
  /** The replica concerned, for replica problems. */
  readonly replica?: LonghornReplicaRecord;
  /** Factual, lower-case, no trailing period: `replica r-1 is stopped on node worker-1`. */
  readonly description: string;
}

/** Called for each problem found; return false to stop looking. */
type ProblemVisitor = (kind: VolumeHealthProblemKind, replica: LonghornReplicaRecord | undefined) => boolean;

/**
 * The one definition of an unhealthy volume, walked by both the allocation-free predicate (used by the model on
 * every write) and the describing function (used when a check reports).
 */
function visitVolumeHealthProblems(
  volume: LonghornVolumeRecord,
  context: VolumeContext,
  visit: ProblemVisitor,
): void {
  if (isVolumeBeingDeleted(volume)) return;
  if (volume.robustness === 'degraded' && !visit('degraded', undefined)) return;
  if (volume.robustness === 'faulted' && !visit('faulted', undefined)) return;
  const needsReplicasRunning = volumeNeedsReplicasRunning(volume);
  for (const replica of context.replicas) {
    if (replica.deleting) continue;
    // A failed replica is already reflected in the volume's robustness, and Longhorn keeps failed replicas
    // around for reuse (staleReplicaTimeout, two days by default): reporting it as stopped would block every
    // operation for days after a routine rebuild. A detached volume's replicas are stopped by design.
    if (needsReplicasRunning && replica.failedAt === '') {
      if (replica.currentState === 'stopped' && !visit('replica-stopped', replica)) return;
      if (replica.currentState === 'error' && !visit('replica-error', replica)) return;
    }
    // Seed 002: a node rebuilt with a reformatted disk (new UUID) leaves replicas pointing at a disk that is
    // gone; Longhorn 1.7.2 left them stopped and the volume stuck attaching. Failed replicas count here too.
    if (replica.nodeID === '' || replica.diskID === '') continue;
    const diskUUIDs = context.diskUUIDsOf(replica.nodeID);
    if (diskUUIDs === undefined) {
      if (!visit('replica-node-unknown', replica)) return;
    } else if (!diskUUIDs.includes(replica.diskID)) {
      if (!visit('replica-disk-missing', replica)) return;
    }
  }
}

export function hasVolumeHealthProblem(volume: LonghornVolumeRecord, context: VolumeContext): boolean {
  let found = false;
  visitVolumeHealthProblems(volume, context, () => {
    found = true;
    return false;
  });
  return found;
}

function describeProblem(kind: VolumeHealthProblemKind, replica: LonghornReplicaRecord | undefined): string {
  const name = replica?.name ?? '';
  const node = replica?.nodeID ?? '';
  const failed = replica !== undefined && replica.failedAt !== '' ? 'failed ' : '';
  switch (kind) {
    case 'degraded':
      return 'robustness is degraded';
    case 'faulted':
      return 'robustness is faulted';
    case 'replica-stopped':
      return `replica ${name} is stopped on node ${node} while the volume is attached`;
    case 'replica-error':
      return `replica ${name} is in error on node ${node}`;
    case 'replica-disk-missing':
      return `${failed}replica ${name} on node ${node} uses disk ${replica?.diskID ?? ''}, which no longer exists on that node`;
    case 'replica-node-unknown':
      return `${failed}replica ${name} is on node ${node}, which Longhorn does not know`;
  }
}

/** A problem found; its description is only built when read (a capped denial reads a few). */
class Problem implements VolumeHealthProblem {
  readonly kind: VolumeHealthProblemKind;
  readonly replica: LonghornReplicaRecord | undefined;

  constructor(kind: VolumeHealthProblemKind, replica: LonghornReplicaRecord | undefined) {
    this.kind = kind;
    this.replica = replica;
  }

  get description(): string {
    return describeProblem(this.kind, this.replica);
  }
}

/** Every health problem of the volume, in a stable order (volume problems first, then replicas in order). */
export function volumeHealthProblems(volume: LonghornVolumeRecord, context: VolumeContext): VolumeHealthProblem[] {
  const problems: VolumeHealthProblem[] = [];
  visitVolumeHealthProblems(volume, context, (kind, replica) => {
    problems.push(new Problem(kind, replica));
    return true;
  });
  return problems;
}

export const SINGLE_REPLICA_SET = 'single-replica';
export const VOLUME_HEALTH_SET = 'volume-health';

/** The volume sets the cluster model maintains for the Longhorn checks: `new ClusterModel(VOLUME_SETS)`. */
export const VOLUME_SETS: Readonly<Record<string, VolumePredicate>> = Object.freeze({
  [SINGLE_REPLICA_SET]: (volume: LonghornVolumeRecord, context: VolumeContext) =>
    isSingleReplicaVolume(volume, context.replicas),
  [VOLUME_HEALTH_SET]: hasVolumeHealthProblem,
});

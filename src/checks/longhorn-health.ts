// Pure predicates on Longhorn records, shared by the Longhorn checks and by the cluster model's volume sets
// (VOLUME_SETS), so that a set membership and a check's verdict can never disagree.

import { REPLICA_SOFT_ANTI_AFFINITY, type LonghornReplicaRecord, type LonghornVolumeRecord } from '../cluster/records.ts';
import type { ReplicaDataState, ReplicaScheduling, VolumeContext, VolumeCount, VolumePredicate } from '../cluster/snapshot.ts';

/**
 * Longhorn's own definition: the replica has become healthy once, has not failed since, is not going away, and is
 * active (the volume controller counts healthy replicas with getHealthyAndActiveReplicaCount: an inactive one is the
 * twin of a live migration or engine upgrade, sharing the data directory of the active replica it duplicates on the
 * same node, and its data goes when that replica is deleted); and, when it failed once, it has served in an engine
 * since (LonghornReplicaRecord.lastFailedAt absent): a replica salvaged after every replica failed may hold older or
 * corrupted data until an engine ran it RW again, and longhorn-manager takes none such for a safe copy
 * (isSafeAsLastReplica). Its data is counted with the failed replicas salvage brings back (salvagedReplicas).
 */
export function isHealthyReplica(replica: LonghornReplicaRecord): boolean {
  return isStandingReplica(replica) && replica.lastFailedAt === undefined;
}

/** Healthy once, not failed now, not going away, active: a healthy replica, or a salvaged one not served since. */
function isStandingReplica(replica: LonghornReplicaRecord): boolean {
  return replica.healthyAt !== '' && replica.failedAt === '' && !replica.deleting && replica.inactive !== true;
}

export function healthyReplicas(replicas: readonly LonghornReplicaRecord[]): LonghornReplicaRecord[] {
  return replicas.filter(isHealthyReplica);
}

export function countHealthyReplicas(replicas: readonly LonghornReplicaRecord[]): number {
  let healthy = 0;
  for (const replica of replicas) if (isHealthyReplica(replica)) healthy++;
  return healthy;
}

/**
 * Whether a copy on the node, and on the disk when given, counts (ClusterSnapshot.nodeIsUp): the node exists and is
 * not down, and the disk is still one of its Longhorn node's.
 */
export type NodeIsUp = (nodeName: string, diskID?: string) => boolean;

/** What is left of a replica's data on the node and disk (ClusterSnapshot.replicaData). */
export type ReplicaDataOf = (nodeName: string, diskID?: string) => ReplicaDataState;

/** Every replica's data counts as kept: for callers that judge replicas without node state. */
export const EVERY_REPLICA_DATA_KEPT: ReplicaDataOf = () => 'kept';

/**
 * The one definition of a volume's copies: the distinct nodes holding a healthy replica (isHealthyReplica) whose
 * node is up. Two healthy replicas on one node (soft anti-affinity) are one copy; a replica on a node that is
 * down (NotReady/Unknown past the grace, or reported down by Longhorn) is none. Used by single-replica,
 * last-replica-on-node, the model's volume sets and the audit alike.
 */
export function copyNodes(
  replicas: readonly LonghornReplicaRecord[],
  nodeIsUp: NodeIsUp,
): string[] {
  const nodes: string[] = [];
  for (const replica of replicas) {
    if (!isHealthyReplica(replica) || replica.nodeID === '' || nodes.includes(replica.nodeID)) continue;
    if (nodeIsUp(replica.nodeID, replica.diskID)) nodes.push(replica.nodeID);
  }
  return nodes;
}

/** The node of a volume's only copy (copyNodes has exactly one node), or undefined; builds no list. */
export function soleCopyNode(
  replicas: readonly LonghornReplicaRecord[],
  nodeIsUp: NodeIsUp,
): string | undefined {
  let copy: string | undefined;
  for (const replica of replicas) {
    if (!isHealthyReplica(replica) || replica.nodeID === '' || replica.nodeID === copy) continue;
    if (!nodeIsUp(replica.nodeID, replica.diskID)) continue;
    if (copy !== undefined) return undefined;
    copy = replica.nodeID;
  }
  return copy;
}

/** How many copies (copyNodes) a volume has, counting no further than `stopAt`; builds no list. */
export function countCopies(
  replicas: readonly LonghornReplicaRecord[],
  nodeIsUp: NodeIsUp,
  stopAt = Number.POSITIVE_INFINITY,
): number {
  let count = 0;
  for (let index = 0; index < replicas.length; index++) {
    if (!isCopy(replicas[index]!, nodeIsUp) || copyOnSameNodeBefore(replicas, index, nodeIsUp)) continue;
    if (++count >= stopAt) break;
  }
  return count;
}

/** A healthy replica on a node that is up, on a disk still there: one copy, unless its node already holds one. */
function isCopy(replica: LonghornReplicaRecord, nodeIsUp: NodeIsUp): boolean {
  return isHealthyReplica(replica) && replica.nodeID !== '' && nodeIsUp(replica.nodeID, replica.diskID);
}

/** Whether a replica listed before `index` is a copy on the same node (a volume has a few replicas: no set). */
function copyOnSameNodeBefore(replicas: readonly LonghornReplicaRecord[], index: number, nodeIsUp: NodeIsUp): boolean {
  const node = replicas[index]!.nodeID;
  for (let before = 0; before < index; before++) {
    const replica = replicas[before]!;
    if (replica.nodeID === node && isCopy(replica, nodeIsUp)) return true;
  }
  return false;
}

/**
 * The nodes where the volume's data is: its copies (healthy replicas on nodes that are up); when it has none, the
 * nodes of its healthy replicas (on nodes that are down); when none is healthy, of its failed replicas that held
 * data (`healthyAt` set: the only ones longhorn-manager's auto-salvage brings back; one that failed while still
 * rebuilding holds none) and that auto-salvage takes, failed within AUTO_SALVAGE_WINDOW_MS of the latest of them (an
 * older one is stale: salvage leaves it failed, and Longhorn deletes it later); and when no replica ever held data, of
 * every replica left (where it will be). Replicas whose data is gone with their node or disk (`replicaData` `gone`)
 * come last: a healthy replica on a reformatted disk hides no failed replica that still holds the data (auto-salvage
 * skips the first and brings back the second). Healthy replicas on disks Longhorn reports not ready (`unsure`) may
 * hold the newest data or none: with no other healthy replica keeping it, their nodes and the failed replicas'
 * auto-salvage would take both count.
 */
export function dataNodes(
  replicas: readonly LonghornReplicaRecord[],
  nodeIsUp: NodeIsUp,
  replicaData: ReplicaDataOf = EVERY_REPLICA_DATA_KEPT,
): string[] {
  const copies = copyNodes(replicas, nodeIsUp);
  if (copies.length > 0) return copies;
  const data = (replica: LonghornReplicaRecord): ReplicaDataState => (replica.nodeID === '' ? 'gone' : replicaData(replica.nodeID, replica.diskID));
  const healthyHeld = replicas.filter((replica) => isHealthyReplica(replica) && data(replica) !== 'gone');
  if (healthyHeld.some((replica) => data(replica) === 'kept')) return nodesOf(healthyHeld, () => true);
  const salvaged = salvagedReplicas(replicas, nodeIsUp, replicaData);
  if (healthyHeld.length > 0 || salvaged.length > 0) return nodesOf([...healthyHeld, ...salvaged], () => true);
  // Nothing left where data can be: where it was (or will be), as far as the records say.
  const healthy = replicas.some(isHealthyReplica);
  const held = !healthy && holdsData(replicas);
  return nodesOf(replicas, (replica) => (healthy ? isHealthyReplica(replica) : !replica.deleting && !(held && replica.healthyAt === '')));
}

/**
 * The failed replicas holding data (`healthyAt` set, not going away, their node and disk still there: `replicaData`) that
 * auto-salvage brings back: those failed within AUTO_SALVAGE_WINDOW_MS of the latest failure among the usable ones
 * (longhorn-manager skips a replica on a node down or deleted). With the newest one on a down node, an older one on a
 * node that is up is what comes back; with none usable, the window is read among them all (where the data waits for
 * its node). Meant for a volume with no healthy replica left (dataNodes' third case).
 */
export function salvagedReplicas(
  replicas: readonly LonghornReplicaRecord[],
  nodeIsUp: NodeIsUp,
  replicaData: ReplicaDataOf = EVERY_REPLICA_DATA_KEPT,
): LonghornReplicaRecord[] {
  const held = replicas.filter(
    (replica) => replica.healthyAt !== '' && !replica.deleting && replica.nodeID !== '' && replicaData(replica.nodeID, replica.diskID) !== 'gone',
  );
  if (held.length === 0) return held;
  const usable = held.filter((replica) => nodeIsUp(replica.nodeID, replica.diskID));
  return held.filter(salvagedWith(usable.length > 0 ? usable : held));
}

/**
 * longhorn-manager's AutoSalvageTimeLimit: its VolumeSalvageController brings back only the usable failed replicas
 * whose failedAt is within this of the latest usable one's (util.TimestampWithinLimit: failedAt + limit after it).
 */
export const AUTO_SALVAGE_WINDOW_MS = 60_000;

/**
 * Of the failed replicas holding data, which auto-salvage brings back: those failed within AUTO_SALVAGE_WINDOW_MS of
 * the latest failure among `usable` (those on nodes that are up). A replica with no failedAt, or one that does not
 * parse, is kept (it is no stale failure volume-guard can tell).
 */
function salvagedWith(usable: readonly LonghornReplicaRecord[]): (replica: LonghornReplicaRecord) => boolean {
  let latest = Number.NEGATIVE_INFINITY;
  for (const replica of usable) {
    const failedAt = failureTime(replica);
    if (!Number.isNaN(failedAt) && failedAt > latest) latest = failedAt;
  }
  return (replica) => {
    const failedAt = failureTime(replica);
    return Number.isNaN(failedAt) || failedAt + AUTO_SALVAGE_WINDOW_MS > latest;
  };
}

/** When the replica failed: its failedAt, or for one salvaged since and not served yet, its lastFailedAt. */
function failureTime(replica: LonghornReplicaRecord): number {
  return Date.parse(replica.failedAt !== '' ? replica.failedAt : (replica.lastFailedAt ?? ''));
}

/** The distinct nodes of the replicas `counts` keeps, in the replicas' order. */
function nodesOf(replicas: readonly LonghornReplicaRecord[], counts: (replica: LonghornReplicaRecord) => boolean): string[] {
  const nodes: string[] = [];
  for (const replica of replicas) {
    if (counts(replica) && replica.nodeID !== '' && !nodes.includes(replica.nodeID)) nodes.push(replica.nodeID);
  }
  return nodes;
}

/**
 * The nodes whose loss a single-replica volume's data cannot survive (dataNodes), none while the volume has two
 * copies or more. A volume whose numberOfReplicas was lowered to 1 keeps its extra healthy replicas (Longhorn
 * deletes one only for replica auto-balance, data locality or an eviction): taking one node away leaves the other
 * copy, so a cordon is no risk to it; an upgrade rolling every node still is (single-replica, cluster-wide). None
 * either while no replica ever held data (holdsData): only a Harvester upgrade still reports such a volume (tag
 * NO_DATA_TAG), as Harvester's own upgrade check counts every volume of numberOfReplicas 1.
 */
export function singleCopyNodes(
  replicas: readonly LonghornReplicaRecord[],
  nodeIsUp: NodeIsUp,
  replicaData: ReplicaDataOf = EVERY_REPLICA_DATA_KEPT,
): string[] {
  if (countCopies(replicas, nodeIsUp, 2) >= 2 || !holdsData(replicas)) return [];
  return dataNodes(replicas, nodeIsUp, replicaData);
}

/**
 * Whether some replica ever held the volume's data (was healthy once: `healthyAt` set, kept after a failure) and is
 * not going away. A volume created but never attached has replicas that never were: no node holds data of it yet.
 */
export function holdsData(replicas: readonly LonghornReplicaRecord[]): boolean {
  for (const replica of replicas) if (replica.healthyAt !== '' && !replica.deleting) return true;
  return false;
}

/**
 * Whether the volume's own status shows an engine on its replicas: attached, attaching or detaching, or robustness
 * healthy or degraded (read from a running engine; Longhorn reports a detached volume's as unknown). Its replicas'
 * `healthyAt` may not have reached volume-guard yet.
 */
function volumeShowsUse(volume: Pick<LonghornVolumeRecord, 'state' | 'robustness'>): boolean {
  return ['attached', 'attaching', 'detaching'].includes(volume.state) || volume.robustness === 'healthy' || volume.robustness === 'degraded';
}

/**
 * A volume with nothing to lose: its replicas are known and none ever held data (holdsData), and its status shows no
 * use (created and never attached). The one rule for every deletion of it: its Volume DELETE, its claim's reclaim,
 * Longhorn's teardown. A volume whose replicas volume-guard does not know is not empty to it.
 */
export function neverHeldData(volume: Pick<LonghornVolumeRecord, 'state' | 'robustness'>, replicas: readonly LonghornReplicaRecord[]): boolean {
  return replicas.length > 0 && !holdsData(replicas) && !volumeShowsUse(volume);
}

/**
 * Whether deleting the volume loses nothing its source does not keep: it never held data (neverHeldData), or it is being
 * restored from a backup or is a clone target whose copy runs (LonghornVolumeRecord.restoring, .cloning: only the
 * restore or the copy wrote to it, and Longhorn attaches it to no workload until done). Deleting a Longhorn volume
 * deletes its engine, replicas and snapshots, never a backup in the backup store, nor the clone's source. The rule of a
 * Volume DELETE and of its claim's reclaim; Longhorn's teardown counts only volumes that never held data.
 */
export function deletionLosesNothing(
  volume: Pick<LonghornVolumeRecord, 'state' | 'robustness' | 'restoring' | 'cloning'>,
  replicas: readonly LonghornReplicaRecord[],
): boolean {
  return volume.restoring === true || volume.cloning === true || neverHeldData(volume, replicas);
}

/** The user is deleting the volume: losing its data is the point, no check reports it. */
export function isVolumeBeingDeleted(volume: LonghornVolumeRecord): boolean {
  return volume.deleting || volume.state === 'deleting';
}

/**
 * Whether losing the volume's replicas loses no data, so that no check on a node's copies (single-replica,
 * volume-health, last-replica-on-node) reports it: the volume is being deleted (isVolumeBeingDeleted), or Longhorn is
 * restoring it from a backup, a DR volume on standby included (LonghornVolumeRecord.restoring): nothing but the
 * restore wrote to it, and Longhorn restores it again from the backup (it even leaves such a volume out of
 * auto-salvage: volume_controller.go ReconcileVolumeState); or it is the target of a clone whose copy runs
 * (LonghornVolumeRecord.cloning): nothing but the copy wrote to it, and the source volume keeps what it copies.
 * Reported again once the restore or the copy completes.
 */
export function nothingToLoseOnNodes(volume: LonghornVolumeRecord): boolean {
  return isVolumeBeingDeleted(volume) || volume.restoring === true || volume.cloning === true;
}

/**
 * Whether Harvester's upgrade validators count the volume as active, by its state alone (checkActiveSingleReplicaVols,
 * and the upgrade toolkit's UpgradePlan validator): `creating`, `attached` or `attaching`. Every other state,
 * `detaching` included, is what their skipSingleReplicaDetachedVol skips.
 */
function isActiveForHarvester(volume: LonghornVolumeRecord): boolean {
  return volume.state === 'attached' || volume.state === 'attaching' || volume.state === 'creating';
}

/**
 * Whether the volume is in use or about to be: active as Harvester counts it (`creating` included), or still on a
 * node (a `detaching` volume whose currentNodeID is not cleared yet).
 */
export function isVolumeAttached(volume: LonghornVolumeRecord): boolean {
  return isActiveForHarvester(volume) || volume.currentNodeID !== '';
}

/** Whether the engine is running (or starting) and counts on its replicas being up. */
export function volumeNeedsReplicasRunning(volume: LonghornVolumeRecord): boolean {
  return volume.state === 'attached' || volume.state === 'attaching';
}

/** Every node counts as up: for callers that judge replicas without node state. */
export const EVERY_NODE_UP = (): boolean => true;

/**
 * A volume whose data exists in at most one place: `numberOfReplicas` is 1 whatever its state (attached,
 * detached, creating...), or it has at most one copy (copyNodes) whatever `numberOfReplicas` says ("effective
 * single replica"): one healthy replica, several on one node, or the others on nodes that are down. A stopped
 * replica of a detached volume keeps its healthyAt and so counts as healthy.
 *
 * Not reported: a volume being deleted or restored from a backup (nothingToLoseOnNodes), and a volume with several
 * replicas none of which has ever been healthy (no replica has healthyAt set): it is being created, or was created
 * and never attached, so it holds no data yet. A volume of numberOfReplicas 1 in that state is a member, tagged NO_DATA_TAG: Harvester's
 * upgrade check counts it, the other upgrades skip it. A volume whose replicas all failed after holding data is
 * reported (its robustness is faulted, which volume-health reports too).
 */
export function isSingleReplicaVolume(
  volume: LonghornVolumeRecord,
  replicas: readonly LonghornReplicaRecord[],
  nodeIsUp: NodeIsUp = EVERY_NODE_UP,
): boolean {
  if (nothingToLoseOnNodes(volume)) return false;
  if (volume.numberOfReplicas === 1) return true;
  const copies = countCopies(replicas, nodeIsUp, 2);
  if (copies === 1) return true;
  if (copies > 1) return false;
  return replicas.some((replica) => replica.healthyAt !== '');
}

/**
 * Whether Longhorn reads a boolean setting's value as true: its datastore (GetSettingAsBool) parses it with Go's
 * strconv.ParseBool, untrimmed, so "1", "t", "T", "TRUE" and "True" count as well as "true" (its setting webhook
 * accepts them all).
 */
export function longhornSettingIsTrue(value: string): boolean {
  return ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value);
}

/** Whether every tag of `wanted` is among `tags` (Longhorn's IsSelectorsInTags). */
function hasTags(tags: readonly string[], wanted: readonly string[] | undefined): boolean {
  return (wanted ?? []).every((tag) => tags.includes(tag));
}

/**
 * Whether a degraded volume is degraded only because Longhorn has no node left for its missing replicas: a volume of 3
 * replicas on a 2-node Harvester cluster stays degraded for good, laid out exactly like a healthy volume of 2. Holds
 * when replica node anti-affinity is hard (the volume's `replicaSoftAntiAffinity` is `disabled`, or not `enabled`
 * with Longhorn's replica-soft-anti-affinity off: its default); every replica is a copy (healthy, on a node and disk
 * that are up), not scheduled to any node, failed or going away (none is rebuilding, stopped on a node that is down,
 * or on a disk that is gone); the copies are on one node or more, fewer than numberOfReplicas; and every Longhorn
 * node whose spec could take a replica of it (LonghornNodeRecord.placement, with its nodeSelector and diskSelector
 * tags, on a disk of its data engine's type) holds one of them, and only those nodes hold them. A node that is down,
 * cordoned or out of space still counts as a place: the replica it lacks is a passing shortage, a real one. So with two
 * copies or more, taking any one node away leaves a copy, as for the healthy volume; a single copy is single-replica's
 * finding.
 */
export function isShortOfNodesOnly(volume: LonghornVolumeRecord, context: VolumeContext): boolean {
  if (volume.robustness !== 'degraded' || context.scheduling === undefined) return false;
  const copies: string[] = [];
  for (const replica of context.replicas) {
    // An inactive replica is the twin of an active one on the same node and data directory: no place of its own.
    if (replica.deleting || replica.failedAt !== '' || replica.nodeID === '' || replica.inactive === true) continue;
    if (!isHealthyReplica(replica) || !context.nodeIsUp(replica.nodeID, replica.diskID)) return false;
    if (!copies.includes(replica.nodeID)) copies.push(replica.nodeID);
  }
  // One copy on the only place Longhorn has (a single-node cluster) is short of nodes as well: that copy is
  // single-replica's finding, and "wait until Longhorn has rebuilt" could never come true there.
  if (copies.length < 1 || copies.length >= volume.numberOfReplicas) return false;
  const scheduling: ReplicaScheduling = context.scheduling();
  const soft =
    volume.replicaSoftAntiAffinity === undefined
      ? longhornSettingIsTrue(scheduling.setting(REPLICA_SOFT_ANTI_AFFINITY))
      : volume.replicaSoftAntiAffinity === 'enabled';
  if (soft) return false;
  // The places Longhorn may use for it are exactly the nodes of its copies: none is left for another replica, and
  // none of the copies is somewhere volume-guard cannot tell (a Longhorn node unseen, its scheduling off).
  let places = 0;
  for (const node of scheduling.nodes) {
    const placement = node.placement;
    if (placement === undefined || !hasTags(placement.tags, volume.nodeSelector)) continue;
    // A disk of the volume's data engine's type: `block` for v2, `filesystem` for v1 (filterNodeDisksForReplica).
    const diskTags = volume.dataEngine === 'v2' ? (placement.blockDiskTags ?? []) : placement.diskTags;
    if (!diskTags.some((tags) => hasTags(tags, volume.diskSelector))) continue;
    if (!copies.includes(node.name)) return false;
    places++;
  }
  return places === copies.length;
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
  if (nothingToLoseOnNodes(volume)) return;
  // Degraded for want of nodes only (a 2-node cluster): laid out like a healthy volume of fewer replicas.
  if (volume.robustness === 'degraded' && !isShortOfNodesOnly(volume, context) && !visit('degraded', undefined)) return;
  if (volume.robustness === 'faulted' && !visit('faulted', undefined)) return;
  const needsReplicasRunning = volumeNeedsReplicasRunning(volume);
  for (const replica of context.replicas) {
    // A failed replica is garbage Longhorn removes later (staleReplicaTimeout, two days by default), already
    // reflected in the volume's robustness: reporting it (stopped, or its disk or node gone) would block every
    // upgrade and cordon for days after a routine rebuild or a disk replacement. A volume whose replicas all
    // failed is faulted, reported as such. A detached volume's replicas are stopped by design.
    // An inactive replica (a live migration's or engine upgrade's twin of an active one, same node and data
    // directory) serves no engine the volume runs on: its state is not the volume's, its disk is its twin's.
    if (replica.deleting || replica.failedAt !== '' || replica.inactive === true) continue;
    // Only a replica that held data (healthyAt set) is a copy stuck: one never healthy (a new volume's first attach,
    // a rebuild waiting for its slot beside healthy replicas) loses nothing, and a degraded volume says so itself.
    if (needsReplicasRunning && replica.healthyAt !== '') {
      if (replica.currentState === 'stopped' && !visit('replica-stopped', replica)) return;
      if (replica.currentState === 'error' && !visit('replica-error', replica)) return;
    }
    // Seed 002: a node rebuilt with a reformatted disk (new UUID) leaves replicas that counted as copies pointing
    // at a disk that is gone; Longhorn 1.7.2 left them stopped and the volume stuck attaching. Only replicas that
    // count as copies of data (healthy) are judged: one still rebuilding holds no copy yet.
    if (!isHealthyReplica(replica) || replica.nodeID === '' || replica.diskID === '') continue;
    const diskUUIDs = context.diskUUIDsOf(replica.nodeID);
    if (diskUUIDs === undefined) {
      if (!visit('replica-node-unknown', replica)) return;
    } else if (diskUUIDs.length > 0 && !diskUUIDs.includes(replica.diskID)) {
      // (A Longhorn node reporting no disk at all, its status not written yet, says nothing of it: as for copies.)
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
      return `replica ${name} on node ${node} uses disk ${replica?.diskID ?? ''}, which no longer exists on that node`;
    case 'replica-node-unknown':
      return `replica ${name} is on node ${node}, which Longhorn does not know`;
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
    isSingleReplicaVolume(volume, context.replicas, context.nodeIsUp),
  [VOLUME_HEALTH_SET]: hasVolumeHealthProblem,
});

const NO_NODES: readonly string[] = Object.freeze([]);

export const LAST_COPY_COUNT = 'last-copy';
export const SINGLE_REPLICA_COUNT = 'single-replica';
export const VOLUME_HEALTH_COUNT = 'volume-health';
/** The single-replica volumes by their finding's tags, joined by spaces (single-replica.ts, singleReplicaTags). */
export const SINGLE_REPLICA_TAGS_COUNT = 'single-replica-tags';

/**
 * `attached` or `detached`: what Harvester's skipSingleReplicaDetachedVol reads of a volume, by Harvester's own rule
 * (isActiveForHarvester): the annotation skips neither more nor less than Harvester does.
 */
export function attachmentTag(volume: LonghornVolumeRecord): 'attached' | 'detached' {
  return isActiveForHarvester(volume) ? 'attached' : 'detached';
}

/**
 * The tag of a last-replica-on-node finding whose volume is set to a single replica (`numberOfReplicas: 1`): what a
 * Cluster API rollout's skip of single-replica, carried to the removal of its nodes, also waives there. Not a volume
 * left with one copy by nodes gone meanwhile (an earlier step of the same rollout) or going at the same time, which
 * the rollout's judgement did not report.
 */
export const SINGLE_REPLICA_VOLUME_TAG = 'single-replica-volume';

/** The tag of a volume with numberOfReplicas 1 that still has copies on two nodes or more (lowered from more). */
export const SEVERAL_COPIES_TAG = 'several-copies';

/**
 * The tag of a finding whose volume has dataLocality strict-local (LonghornVolumeRecord.strictLocal): Longhorn keeps it
 * at exactly one replica (its volume webhook, validateReplicaCount, refuses any other numberOfReplicas) and turns it
 * into another mode only while it is detached (validateDataLocalityUpdate), so "raise numberOfReplicas" alone is
 * advice Longhorn refuses.
 */
export const STRICT_LOCAL_TAG = 'strict-local';

/**
 * The tag of a volume with numberOfReplicas 1 none of whose replicas ever held data (holdsData: created, never
 * attached). Harvester's upgrade check refuses it (it counts every volume of numberOfReplicas 1); other upgrades skip
 * it, as a cordon does (singleCopyNodes): there is nothing to lose yet.
 */
export const NO_DATA_TAG = 'no-data';

/**
 * The tags of a single-replica finding with healthy replicas none of which is a copy: Longhorn has nothing to rebuild
 * from. NO_COPY_LEFT_TAG: some of them wait on a node that is down or a disk Longhorn reports not ready (it comes back
 * with them); DATA_IN_FAILED_TAG: all of them are on nodes or disks that are gone, the data left in failed replicas
 * that held it (DATA_LOST_TAG: none did).
 */
export const NO_COPY_LEFT_TAG = 'no-copy-left';
export const DATA_IN_FAILED_TAG = 'data-in-failed';
/** No failed replica that ever held data either: the data is gone (restore from a backup). */
export const DATA_LOST_TAG = 'data-lost';
/**
 * The tag of a single-replica finding whose healthy-looking replicas were all salvaged after every replica failed and
 * none has served since (isSalvagedUnconfirmed): the engine picks the newest of them only when it runs them again.
 */
export const SALVAGED_TAG = 'salvaged-unconfirmed';

/**
 * A replica salvaged after it failed (failedAt cleared, LonghornReplicaRecord.lastFailedAt kept) that no engine has run
 * RW since: it holds the data it had when it failed, which may be older than another's, or corrupted.
 */
export function isSalvagedUnconfirmed(replica: LonghornReplicaRecord): boolean {
  return replica.lastFailedAt !== undefined && isStandingReplica(replica);
}

/**
 * A single-replica finding's tags: `attached` or `detached`, plus `effective` when numberOfReplicas is not 1 but at
 * most one replica is healthy, or `several-copies` when numberOfReplicas is 1 but copies remain on several nodes
 * (lowered from more: Longhorn keeps them, and replaces none that fails), or `no-data` when numberOfReplicas is 1 and
 * no replica ever held data (NO_DATA_TAG); and `strict-local` for a strict-local volume (STRICT_LOCAL_TAG).
 */
export function singleReplicaTags(
  volume: LonghornVolumeRecord,
  replicas: readonly LonghornReplicaRecord[],
  nodeIsUp: NodeIsUp,
): string[] {
  const tags: string[] = [attachmentTag(volume)];
  if (volume.numberOfReplicas !== 1) tags.push('effective');
  else if (countCopies(replicas, nodeIsUp, 2) >= 2) tags.push(SEVERAL_COPIES_TAG);
  else if (!holdsData(replicas)) tags.push(NO_DATA_TAG);
  if (volume.strictLocal === true) tags.push(STRICT_LOCAL_TAG);
  return tags;
}

/**
 * Per-node volume counts the cluster model keeps for a cordon's checks (`new ClusterModel(VOLUME_SETS, {
 * volumeCounts: VOLUME_COUNTS })`): each counts a volume under exactly the nodes whose cordon the check
 * reports it for, so the checks list the first few and take the rest from the count. A test compares every count
 * with the walk it replaces.
 */
export const VOLUME_COUNTS: Readonly<Record<string, VolumeCount>> = Object.freeze({
  // last-replica-on-node: the node holding the volume's only copy.
  [LAST_COPY_COUNT]: { keys: onlyCopyNode },
  // single-replica: the nodes where a single-replica volume's data is (none while it has two copies or more).
  [SINGLE_REPLICA_COUNT]: {
    inSet: SINGLE_REPLICA_SET,
    keys: (_volume: LonghornVolumeRecord, context: VolumeContext) => singleCopyNodes(context.replicas, context.nodeIsUp, context.replicaData),
    // A cordon lists them from here, not by walking every replica on the node (a few hundred a node).
    members: true,
  },
  // single-replica, across the cluster: the members by their findings' tags, so that what a tag override waives
  // (Harvester's detached volumes) is counted without visiting each.
  [SINGLE_REPLICA_TAGS_COUNT]: {
    inSet: SINGLE_REPLICA_SET,
    keys: (volume: LonghornVolumeRecord, context: VolumeContext) => [singleReplicaTags(volume, context.replicas, context.nodeIsUp).join(' ')],
    members: true,
  },
  // volume-health: the nodes holding a copy of an unhealthy volume (healthyCopyNodes): taking such a node away takes
  // one of the copies left.
  [VOLUME_HEALTH_COUNT]: {
    inSet: VOLUME_HEALTH_SET,
    keys: (_volume: LonghornVolumeRecord, context: VolumeContext) => healthyCopyNodes(context.replicas, context.nodeIsUp),
    // A cordon lists them from here, not by walking every replica on the node.
    members: true,
  },
});

/**
 * The nodes a cordon of which takes a copy of an unhealthy volume: those holding a healthy replica, on a node that is
 * up. A failed replica (garbage Longhorn removes) or one still rebuilding (no healthyAt yet) holds no copy, and neither
 * does a healthy one on a node that is down while another node up holds one: cordoning and draining the dead node is
 * how it is dealt with, and Longhorn rebuilds from the live copy. With no copy on a node that is up, the healthy
 * replicas on down nodes are what is left to salvage from: their nodes count.
 */
export function healthyCopyNodes(replicas: readonly LonghornReplicaRecord[], nodeIsUp: NodeIsUp): readonly string[] {
  const up: string[] = [];
  const down: string[] = [];
  let copyOnNodeUp = false;
  for (const replica of replicas) {
    if (!isHealthyReplica(replica) || replica.nodeID === '') continue;
    // The node, not the disk, keys it: a replica stranded on a disk gone from its node (seed 002) still ties the node
    // to its volume's health, as the node holding it is where it is dealt with. It is no copy, though: with no other
    // copy on a node that is up, the down nodes' replicas are what is left.
    const nodes = nodeIsUp(replica.nodeID) ? up : down;
    if (!nodes.includes(replica.nodeID)) nodes.push(replica.nodeID);
    if (!copyOnNodeUp && nodeIsUp(replica.nodeID, replica.diskID)) copyOnNodeUp = true;
  }
  if (!copyOnNodeUp) return [...up, ...down.filter((node) => !up.includes(node))];
  return up;
}

/** The node holding the volume's only copy (copyNodes), as a one-node list; none with two copies or more. */
function onlyCopyNode(volume: LonghornVolumeRecord, context: VolumeContext): readonly string[] {
  if (nothingToLoseOnNodes(volume)) return NO_NODES;
  let only = '';
  for (const replica of context.replicas) {
    if (!isHealthyReplica(replica) || replica.nodeID === '' || replica.nodeID === only) continue;
    if (!context.nodeIsUp(replica.nodeID, replica.diskID)) continue;
    if (only !== '') return NO_NODES;
    only = replica.nodeID;
  }
  return only === '' ? NO_NODES : [only];
}

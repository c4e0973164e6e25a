import type { ClusterSnapshot } from '../cluster/snapshot.ts';

export const CHECK_IDS = [
  'single-replica',
  'volume-health',
  'last-replica-on-node',
  'node-local-volume',
  'orphan-pvc',
  'storage-teardown',
] as const;

export type CheckId = (typeof CHECK_IDS)[number];

export function isCheckId(value: string): value is CheckId {
  return (CHECK_IDS as readonly string[]).includes(value);
}

/** The object a finding is about, as a person would name it. */
export interface AffectedObject {
  /** e.g. Volume (Longhorn), Replica, PersistentVolume, PersistentVolumeClaim, Pod, StatefulSet, Node */
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  /** The node where it matters (a replica's node, a local PV's node). */
  readonly node?: string;
}

export type Severity = 'critical' | 'warning';

/** One data-loss risk found by one check. */
export interface Finding {
  readonly check: CheckId;
  readonly severity: Severity;
  readonly object: AffectedObject;
  /** Why it is risky, one short sentence, no trailing period. */
  readonly reason: string;
  /**
   * Facets a narrower override can target, e.g. `detached` for a detached single-replica volume
   * (Harvester's skipSingleReplicaDetachedVol skips only those).
   */
  readonly tags: readonly string[];
  /** Objects related to the finding worth naming too (the pods using a local PV, the PVC of a volume). */
  readonly related?: readonly AffectedObject[];
}

/** A check is a pure function over a snapshot of the cluster: no I/O, no clock, no randomness. */
export type Check<Target> = (snapshot: ClusterSnapshot, target: Target) => Finding[];

/** `namespace/name`, or `name` for cluster-scoped objects. */
export function objectRef(object: AffectedObject): string {
  return object.namespace ? `${object.namespace}/${object.name}` : object.name;
}

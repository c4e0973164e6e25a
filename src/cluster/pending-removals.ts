// Removals volume-guard has admitted that its informers have not shown yet. The informers lag the API server by
// milliseconds to seconds, so the DELETEs of one command (`kubectl delete replicas r1 r2`, `kubectl delete node a b`,
// a DeleteCollection the API server admits item by item) would each be judged with the others' copies still counted,
// and `kubectl delete sts a b` would judge each StatefulSet with the other still owning the PVCs they share.
// The cluster model keeps them here, a short while and a bounded number, and counts an admitted removal as done until
// the informer shows the object gone or going (model.ts). Pure data structure: the clock is passed in.

/** What a request admitted takes away, as the model counts it. */
export type AdmittedRemoval =
  /** A Longhorn Replica DELETE: the replica is no copy any more (Longhorn deletes its data). */
  | { readonly kind: 'longhornReplica'; readonly name: string }
  /**
   * A Node DELETE (`deleted`), or a Node update leaving an autoscaler's drain taint on it (`autoscaler`): the node is
   * being removed with its disks.
   */
  | { readonly kind: 'node'; readonly name: string; readonly how: 'deleted' | 'autoscaler' }
  /** A Cluster API Machine DELETE (or a scale-down that removes it): Cluster API drains its node and deletes its disks. */
  | { readonly kind: 'machine'; readonly namespace: string; readonly name: string; readonly node: string }
  /**
   * A StatefulSet DELETE: it no longer keeps the PVCs it co-owns (the garbage collector deletes a dependent once no
   * owner stays). Known by its uid, which ownerReferences name. `orphaning`: the DELETE orphans its dependents
   * (`--cascade=orphan`): its pods run on, bare.
   */
  | { readonly kind: 'statefulSet'; readonly namespace: string; readonly name: string; readonly uid: string; readonly orphaning?: true }
  /**
   * The DELETE of another object that claims name as owner (the owner-delete webhook: a GitOps prune of an operator's
   * resource): the garbage collector deletes those claims next, as itself. Known by its uid; no informer shows it go,
   * so only its time ends it.
   */
  | { readonly kind: 'owner'; readonly uid: string };

/** Where admitted removals are recorded: the model, behind the admission server. */
export interface RemovalRecorder {
  /** Records a removal the final answer allowed (never for a dry run). */
  admitRemoval(removal: AdmittedRemoval): void;
  /** Forgets the removals past their time; O(1) while none is recorded. */
  expireRemovals(): void;
  /**
   * Records that volume-guard refused `user`'s cordon of `node` (never for a dry run): `kubectl drain` prints the
   * refusal and goes on evicting or, with `--disable-eviction`, DELETEing the pods of the still schedulable node, with
   * the same credentials. A refused dry run (`drain --dry-run=server`) is kept apart: only dry-run DELETEs read it.
   */
  refuseCordon(node: string, user: string, dryRun?: boolean): void;
  /** Forgets the refused cordons of `node`: a cordon of it was allowed (not a dry run). */
  allowCordon(node: string): void;
  /**
   * Records that volume-guard allowed `user`'s dry-run cordon of `node`: `kubectl drain --dry-run=server` goes on with
   * dry-run evictions or DELETEs of the node's pods, which preview the real drain's only if judged as on a cordoned
   * node. Read by that user's dry runs only (ClusterSnapshot.dryRunCordonAllowed), for REFUSED_CORDON_TTL_MS.
   */
  allowDryRunCordon(node: string, user: string): void;
}

/** How long an admitted removal counts without the informer showing it (a DELETE another webhook refused). */
export const PENDING_REMOVAL_TTL_MS = 60_000;

/**
 * How long a refused cordon makes its user's pod DELETEs on the node count as a drain's. kubectl drain cordons every
 * node it is given first, then drains them one by one, waiting for each node's pods to terminate (their grace
 * periods; no limit by default): the last node's DELETEs can come minutes after its cordon was refused. The same for
 * an allowed dry-run cordon: `drain --dry-run=server` retries an eviction a PodDisruptionBudget holds every 5 s, and
 * with `--disable-eviction` waits for the pods it dry-run DELETEd (which stay) until its `--timeout`, before the next node.
 */
export const REFUSED_CORDON_TTL_MS = 15 * 60_000;

/** At most this many are kept; past it the oldest is forgotten (a bulk delete of thousands of objects). */
export const MAX_PENDING_REMOVALS = 1024;

/** The record's key: kind, then what names the object (and for a node, how it goes). */
export function removalKey(removal: AdmittedRemoval): string {
  switch (removal.kind) {
    case 'longhornReplica':
      return `longhornReplica/${removal.name}`;
    case 'node':
      return `node/${removal.how}/${removal.name}`;
    case 'machine':
      return `machine/${removal.namespace}/${removal.name}`;
    case 'statefulSet':
      return `statefulSet/${removal.uid}`;
    case 'owner':
      return `owner/${removal.uid}`;
  }
}

/**
 * Entries by key, each until its deadline (`ttlMs` after it was last set). Entries are kept in deadline order (a
 * renewed one moves to the end), so expiring costs O(entries expired) and nothing while the first is still due.
 */
export class PendingRemovals<V> {
  readonly #entries = new Map<string, { readonly value: V; readonly until: number }>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;

  constructor(ttlMs = PENDING_REMOVAL_TTL_MS, maxEntries = MAX_PENDING_REMOVALS) {
    if (!(maxEntries >= 1)) throw new Error(`pending removals: maxEntries must be at least 1, got ${maxEntries}`);
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): V | undefined {
    return this.#entries.get(key)?.value;
  }

  /** Adds or renews an entry; returns the oldest entries the bound pushed out (forgotten, like expired ones). */
  set(key: string, value: V, now: number): V[] {
    this.#entries.delete(key);
    this.#entries.set(key, { value, until: now + this.#ttlMs });
    const evicted: V[] = [];
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries) break;
      this.#entries.delete(oldest);
      evicted.push(entry.value);
    }
    return evicted;
  }

  /** Removes an entry, returning it. */
  delete(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    return entry.value;
  }

  /** Removes and returns the entries whose deadline is past at `now`. */
  expire(now: number): V[] {
    const expired: V[] = [];
    for (const [key, entry] of this.#entries) {
      if (entry.until > now) break;
      this.#entries.delete(key);
      expired.push(entry.value);
    }
    return expired;
  }

  *values(): Generator<V> {
    for (const entry of this.#entries.values()) yield entry.value;
  }

  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }
}

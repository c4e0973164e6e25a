// A secondary index of the cluster model: bucket key → the records filed under it.
//
// Most buckets hold a handful of records (the 3 replicas of a volume, the pod using a claim), a few hold
// thousands (the PVCs of a namespace). Small buckets are immutable arrays replaced on every write (copy on
// write: an array handed to a caller never changes under it); large ones switch to a Set, whose array view is
// built on demand and dropped on the next write to that bucket. Either way a lookup costs O(records returned)
// and a write O(1) amortised.

const EMPTY: readonly never[] = Object.freeze([]);

/** Above this many records a bucket becomes a Set: copying the array on each write would cost O(bucket). */
const SMALL_BUCKET_LIMIT = 32;

class LargeBucket<R> {
  readonly members: Set<R>;
  view: readonly R[] | undefined;

  constructor(members: Iterable<R>) {
    this.members = new Set(members);
    this.view = undefined;
  }
}

type Bucket<R> = readonly R[] | LargeBucket<R>;

/** The keys a record is filed under: one key, several (deduplicated), or none ('' or an empty array). */
export type IndexKeys = string | readonly string[];

function includesKey(keys: IndexKeys, key: string): boolean {
  return typeof keys === 'string' ? keys === key : keys.includes(key);
}

function forEachKey(keys: IndexKeys, visit: (key: string) => void): void {
  if (typeof keys === 'string') {
    if (keys !== '') visit(keys);
    return;
  }
  for (const key of keys) if (key !== '') visit(key);
}

export class MultiIndex<R> {
  readonly name: string;
  readonly #keysOf: (record: R) => IndexKeys;
  readonly #buckets = new Map<string, Bucket<R>>();

  constructor(name: string, keysOf: (record: R) => IndexKeys) {
    this.name = name;
    this.#keysOf = keysOf;
  }

  /** The records filed under `key`. The array never changes afterwards; callers must not mutate it. */
  get(key: string): readonly R[] {
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) return EMPTY;
    if (!(bucket instanceof LargeBucket)) return bucket;
    bucket.view ??= Array.from(bucket.members);
    return bucket.view;
  }

  /** How many bucket keys exist (a bucket with no records is always deleted). */
  get bucketCount(): number {
    return this.#buckets.size;
  }

  keys(): IterableIterator<string> {
    return this.#buckets.keys();
  }

  /** Every indexed record, once per bucket it is filed under. */
  *records(): Generator<R> {
    for (const bucket of this.#buckets.values()) {
      yield* bucket instanceof LargeBucket ? bucket.members : bucket;
    }
  }

  /**
   * Moves a record from the buckets of its previous version to those of its next one. `previous` undefined:
   * a new record; `next` undefined: a removed one.
   */
  update(previous: R | undefined, next: R | undefined): void {
    const previousKeys: IndexKeys = previous === undefined ? EMPTY : this.#keysOf(previous);
    const nextKeys: IndexKeys = next === undefined ? EMPTY : this.#keysOf(next);
    if (previous !== undefined) {
      forEachKey(previousKeys, (key) => {
        if (next !== undefined && includesKey(nextKeys, key)) this.#replace(key, previous, next);
        else this.#delete(key, previous);
      });
    }
    if (next !== undefined) {
      forEachKey(nextKeys, (key) => {
        if (!includesKey(previousKeys, key)) this.#add(key, next);
      });
    }
  }

  clear(): void {
    this.#buckets.clear();
  }

  /**
   * Files many new records at once (a first list): each bucket is built once instead of copied per record. Same
   * result as `update(undefined, record)` for each in order.
   */
  addAll(records: readonly R[]): void {
    // Into an empty index, the groups are built in place (their arrays are handed out only once complete).
    const empty = this.#buckets.size === 0;
    const grouped = empty ? (this.#buckets as Map<string, R[]>) : new Map<string, R[]>();
    const file = (key: string, record: R): void => {
      const group = grouped.get(key);
      if (group === undefined) grouped.set(key, [record]);
      else group.push(record);
    };
    for (const record of records) {
      const keys = this.#keysOf(record);
      if (typeof keys === 'string') {
        if (keys !== '') file(keys, record);
      } else {
        for (const key of keys) if (key !== '') file(key, record);
      }
    }
    if (empty) {
      for (const [key, group] of grouped) if (group.length > SMALL_BUCKET_LIMIT) this.#buckets.set(key, new LargeBucket(group));
      return;
    }
    for (const [key, group] of grouped) {
      if (this.#buckets.has(key)) {
        for (const record of group) this.#add(key, record);
      } else {
        this.#buckets.set(key, group.length > SMALL_BUCKET_LIMIT ? new LargeBucket(group) : group);
      }
    }
  }

  #add(key: string, record: R): void {
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      this.#buckets.set(key, [record]);
    } else if (bucket instanceof LargeBucket) {
      bucket.members.add(record);
      bucket.view = undefined;
    } else if (bucket.length >= SMALL_BUCKET_LIMIT) {
      const large = new LargeBucket(bucket);
      large.members.add(record);
      this.#buckets.set(key, large);
    } else {
      this.#buckets.set(key, [...bucket, record]);
    }
  }

  #delete(key: string, record: R): void {
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) return;
    if (bucket instanceof LargeBucket) {
      bucket.members.delete(record);
      bucket.view = undefined;
      if (bucket.members.size === 0) this.#buckets.delete(key);
      // Shrinking back to an array is not worth it: a bucket that grew large tends to stay large.
      return;
    }
    const position = bucket.indexOf(record);
    if (position < 0) return;
    if (bucket.length === 1) {
      this.#buckets.delete(key);
      return;
    }
    const remaining = bucket.slice();
    remaining.splice(position, 1);
    this.#buckets.set(key, remaining);
  }

  #replace(key: string, previous: R, next: R): void {
    const bucket = this.#buckets.get(key);
    if (bucket instanceof LargeBucket) {
      bucket.members.delete(previous);
      bucket.members.add(next);
      bucket.view = undefined;
      return;
    }
    const position = bucket === undefined ? -1 : bucket.indexOf(previous);
    if (bucket === undefined || position < 0) {
      this.#add(key, next);
      return;
    }
    const replaced = bucket.slice();
    replaced[position] = next;
    this.#buckets.set(key, replaced);
  }
}

/** What the model needs of an index: file a record's versions, file a first list at once, report its size. */
export interface RecordIndex<R> {
  readonly name: string;
  readonly bucketCount: number;
  update(previous: R | undefined, next: R | undefined): void;
  addAll(records: readonly R[]): void;
}

const NO_COUNTS: ReadonlyMap<string, number> = new Map();

/**
 * Counts instead of records: per bucket key, how many records carry each sub-key (e.g. per node, the bound PVs
 * pinned there by `<source> <driver>`). A check that only needs "how many" past the listed few reads O(sub-keys)
 * instead of walking the bucket's records.
 */
export class CountIndex<R> implements RecordIndex<R> {
  readonly name: string;
  /** The bucket and sub-key a record is counted under, or undefined when it is not counted. */
  readonly #keyOf: (record: R) => readonly [bucket: string, sub: string] | undefined;
  readonly #buckets = new Map<string, Map<string, number>>();

  constructor(name: string, keyOf: (record: R) => readonly [bucket: string, sub: string] | undefined) {
    this.name = name;
    this.#keyOf = keyOf;
  }

  /** Sub-key → count for one bucket (a count is never 0: such entries are removed). */
  get(bucket: string): ReadonlyMap<string, number> {
    return this.#buckets.get(bucket) ?? NO_COUNTS;
  }

  get bucketCount(): number {
    return this.#buckets.size;
  }

  update(previous: R | undefined, next: R | undefined): void {
    const before = previous === undefined ? undefined : this.#keyOf(previous);
    const after = next === undefined ? undefined : this.#keyOf(next);
    if (before !== undefined && after !== undefined && before[0] === after[0] && before[1] === after[1]) return;
    if (before !== undefined) this.#add(before[0], before[1], -1);
    if (after !== undefined) this.#add(after[0], after[1], 1);
  }

  addAll(records: readonly R[]): void {
    for (const record of records) {
      const key = this.#keyOf(record);
      if (key !== undefined) this.#add(key[0], key[1], 1);
    }
  }

  #add(bucket: string, sub: string, delta: number): void {
    let counts = this.#buckets.get(bucket);
    if (counts === undefined) {
      if (delta < 0) return;
      counts = new Map();
      this.#buckets.set(bucket, counts);
    }
    const count = (counts.get(sub) ?? 0) + delta;
    if (count > 0) counts.set(sub, count);
    else counts.delete(sub);
    if (counts.size === 0) this.#buckets.delete(bucket);
  }
}

// Memory hygiene of a manifest worker. Reading a release record leaves megabytes of dead Buffers (both base64
// layers, zlib's output chunks) outside the worker's small heap; V8 collects such memory only once some 64 MiB of it
// have piled up, per worker (measured: 20-75 MB held per worker after the benchmark's Helm load). A worker collects
// after a record instead, once what it holds has grown by a set amount.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's `gc` extension: a full collection; with the last-resort flavor, one that also gives memory back. */
type GcFunction = (options?: { readonly type: 'major'; readonly execution: 'sync'; readonly flavor: 'last-resort' }) => void;

export interface GarbageCollector {
  /** A full collection (a few ms for a worker's heap). */
  readonly collect: () => void;
  /** A full collection that also shrinks the heap (several collections: for an idle worker). */
  readonly compact: () => void;
}

/**
 * Garbage collection on demand: the global `gc` when Node runs with --expose-gc, else one from a fresh context
 * (V8 gives a context `gc` when the flag is set as the context is made; the flag is switched off again at once,
 * so no other context gets it). Undefined where neither works.
 */
export function garbageCollector(): GarbageCollector | undefined {
  let gc: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof gc !== 'function') {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc');
    } catch {
      return undefined;
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  }
  if (typeof gc !== 'function') return undefined;
  const run = gc as GcFunction;
  return { collect: () => run(), compact: () => run({ type: 'major', execution: 'sync', flavor: 'last-resort' }) };
}

/** This thread's heap in use plus its Buffers (a worker's process.memoryUsage() reads its own isolate's figures). */
export function heldBytes(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

export interface MemoryKeeperOptions {
  readonly gc: GarbageCollector;
  readonly held: () => number;
  /** Grown by this much since the last collection: collect once the worker has been idle `idleCollectMs`. */
  readonly collectAfterBytes: number;
  /** Grown by this much: collect at once, even in a burst of records. */
  readonly collectNowBytes: number;
  readonly idleCollectMs: number;
  /** Idle this long after a record: a memory-reducing collection. */
  readonly idleCompactMs: number;
}

/**
 * When a worker collects: a collection takes a few ms and delays the worker's next record, so it waits for a
 * pause between records (`idleCollectMs`), unless what the worker holds has grown past `collectNowBytes`; after a
 * longer pause the worker also shrinks its heap. Call `beforeRecord` and `afterRecord` around each record.
 */
export class MemoryKeeper {
  readonly #options: MemoryKeeperOptions;
  #baseline: number;
  #collectTimer: NodeJS.Timeout | undefined;
  #compactTimer: NodeJS.Timeout | undefined;

  constructor(options: MemoryKeeperOptions) {
    this.#options = options;
    this.#baseline = options.held();
  }

  beforeRecord(): void {
    clearTimeout(this.#collectTimer);
    clearTimeout(this.#compactTimer);
    this.#collectTimer = undefined;
    this.#compactTimer = undefined;
  }

  /** What it did: collected now, scheduled a collection for the next pause, or only the compaction. */
  afterRecord(): 'collected' | 'scheduled' | 'none' {
    const { gc, held, collectAfterBytes, collectNowBytes, idleCollectMs, idleCompactMs } = this.#options;
    const grown = held() - this.#baseline;
    this.#compactTimer = setTimeout(() => {
      gc.compact();
      this.#baseline = held();
    }, idleCompactMs);
    if (grown >= collectNowBytes) {
      this.#collect();
      return 'collected';
    }
    if (grown < collectAfterBytes) return 'none';
    this.#collectTimer = setTimeout(() => this.#collect(), idleCollectMs);
    return 'scheduled';
  }

  #collect(): void {
    this.#options.gc.collect();
    this.#baseline = this.#options.held();
  }
}

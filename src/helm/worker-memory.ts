// Memory hygiene of a manifest worker. Reading a release record leaves megabytes outside the worker's small heap:
// Buffers, and the release JSON itself, which V8 keeps outside the heap once it passes 1 MB (an external string).
// Those a scavenge cannot free (a big release's JSON outlives the scavenges its own parse starts) V8 collects only
// once some 64 MiB have piled up, per worker (measured: 20-75 MB held per worker after the benchmark's Helm load).
// A worker collects after a record instead, once what it holds has grown by a set amount.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * V8's `gc` extension: a full collection; with the last-resort flavor, one that also gives memory back; `minor`, a
 * scavenge of the young generation only.
 */
type GcFunction = (options?: { readonly type: 'major' | 'minor'; readonly execution?: 'sync'; readonly flavor?: 'last-resort' }) => void;

export interface GarbageCollector {
  /** A full collection (a few ms for a worker's heap). */
  readonly collect: () => void;
  /** A full collection that also shrinks the heap (several collections: for an idle worker). */
  readonly compact: () => void;
  /**
   * A scavenge of the young generation (well under a millisecond when what it holds is dead). Between records,
   * everything a record allocated is dead: scavenged then, nothing of it is copied, and the next record starts with
   * an empty young generation instead of meeting a scavenge mid-read that copies its half-parsed record and promotes
   * it to the old generation, which then fills and needs full collections sooner.
   */
  readonly scavenge: () => void;
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
  return {
    collect: () => run(),
    compact: () => run({ type: 'major', execution: 'sync', flavor: 'last-resort' }),
    scavenge: () => run({ type: 'minor' }),
  };
}

/**
 * This thread's heap in use plus the memory its heap holds outside it: Buffers and external strings (a worker's
 * process.memoryUsage() reads its own isolate's figures). Counting Buffers alone missed the 1 MB releases' JSON:
 * 50-100 MB more at the peak of a run of them, measured.
 */
export function heldBytes(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

/**
 * Decides after each record whether the worker should collect: once `held()` has grown by `afterBytes` or more since
 * the last collection (or since it was made). `collect` runs the collection and takes the new baseline.
 *
 * A full collection, not a minor one: minor collections after each record instead took a third less CPU, but left
 * the process 130-150 MB larger at its peak in the same Helm load (outside V8: the workers' heaps ended the same
 * size), measured 2026-12-02 (a pool of two workers reading 100 KB, 1 MB and hostile records at once). The worker
 * scavenges after the records that do not make it due (GarbageCollector.scavenge).
 */
export function growthCollector(options: { readonly collect: () => void; readonly held: () => number; readonly afterBytes: number }): {
  readonly due: () => boolean;
  readonly collect: () => void;
} {
  let baseline = options.held();
  return {
    due: () => options.held() - baseline >= options.afterBytes,
    collect: () => {
      options.collect();
      baseline = options.held();
    },
  };
}

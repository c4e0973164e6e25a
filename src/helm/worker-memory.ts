// Memory hygiene of a manifest worker. Reading a release record leaves megabytes of dead Buffers (both base64
// layers, zlib's output chunks) outside the worker's small heap; V8 collects such memory only once some 64 MiB of it
// have piled up, per worker (measured: 20-75 MB held per worker after the benchmark's Helm load). A worker collects
// after a record instead, once what it holds has grown by a set amount.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A full garbage collection on demand: the global `gc` when Node runs with --expose-gc, else one from a fresh
 * context (V8 gives a context `gc` when the flag is set as the context is made; the flag is switched off again at
 * once, so no other context gets it). Undefined where neither works.
 */
export function garbageCollector(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as () => void;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** This thread's heap in use plus its Buffers (a worker's process.memoryUsage() reads its own isolate's figures). */
export function heldBytes(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/**
 * Returns a function to call after each record: it collects when `held()` has grown by `afterBytes` or more since
 * the last collection (or since it was made), and says whether it did.
 */
export function collectAfterGrowth(options: { readonly collect: () => void; readonly held: () => number; readonly afterBytes: number }): () => boolean {
  let baseline = options.held();
  return () => {
    if (options.held() - baseline < options.afterBytes) return false;
    options.collect();
    baseline = options.held();
    return true;
  };
}

// A manifest worker's memory hygiene: a garbage collection it can call without --expose-gc, and when it calls it.
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { garbageCollector, growthCollector, heldBytes } from '../../../src/helm/worker-memory.ts';

/** Whether the Buffers' memory drops below `bytes` within 2 s (polled; nothing else allocates meanwhile). */
async function arrayBuffersBelow(bytes: number): Promise<boolean> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (process.memoryUsage().arrayBuffers < bytes) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}

describe('garbageCollector', () => {
  it('collects dead Buffers at once, without --expose-gc, and exposes gc to no other context', async () => {
    expect(process.execArgv).not.toContain('--expose-gc');
    const gc = garbageCollector();
    expect(gc?.collect).toBeTypeOf('function');
    let buffers: Buffer[] = Array.from({ length: 16 }, () => Buffer.alloc(2 * 1024 * 1024, 1));
    const holding = process.memoryUsage().arrayBuffers;
    expect(buffers.length * buffers[0]!.length).toBeLessThanOrEqual(holding);
    buffers = [];
    gc!.collect();
    // 32 MiB were dropped: one call collects them (V8 alone would wait for 64 MiB of them, and nothing here
    // allocates enough to make it). Their memory is given back as V8 sweeps, on its own threads: on a loaded
    // machine that may take a moment after the call returns.
    expect(await arrayBuffersBelow(holding - 30 * 1024 * 1024)).toBe(true);
    buffers = Array.from({ length: 16 }, () => Buffer.alloc(2 * 1024 * 1024, 1));
    buffers = [];
    gc!.compact();
    expect(await arrayBuffersBelow(holding - 30 * 1024 * 1024)).toBe(true);
    const { runInNewContext } = await import('node:vm');
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });

  it('scavenges: a minor collection, not a full one', async () => {
    const gc = garbageCollector()!;
    const kinds: number[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) kinds.push((entry as PerformanceEntry & { readonly detail: { readonly kind: number } }).detail.kind);
    });
    observer.observe({ entryTypes: ['gc'] });
    gc.scavenge();
    // GC entries are delivered asynchronously.
    for (let attempt = 0; attempt < 100 && kinds.length === 0; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
    observer.disconnect();
    expect(kinds).toContain(constants.NODE_PERFORMANCE_GC_MINOR);
    expect(kinds).not.toContain(constants.NODE_PERFORMANCE_GC_MAJOR);
  });
});

describe('growthCollector', () => {
  it('is due once what is held has grown by the given amount since the last collection', () => {
    let held = 100;
    const collections: number[] = [];
    const growth = growthCollector({ collect: () => { collections.push(held); held = 110; }, held: () => held, afterBytes: 50 });
    held = 149;
    expect(growth.due()).toBe(false);
    held = 150;
    expect(growth.due()).toBe(true);
    growth.collect();
    expect(collections).toEqual([150]);
    // The baseline is what was held after the collection (110), not before it.
    held = 159;
    expect(growth.due()).toBe(false);
    held = 160;
    expect(growth.due()).toBe(true);
  });

  it('reads this thread its own held bytes (heap plus Buffers)', () => {
    // No garbage left for a collection the allocation below may start to free (heap used would drop by it).
    garbageCollector()!.collect();
    const before = heldBytes();
    const kept = Buffer.alloc(8 * 1024 * 1024);
    expect(heldBytes() - before).toBeGreaterThanOrEqual(kept.length);
  });
});

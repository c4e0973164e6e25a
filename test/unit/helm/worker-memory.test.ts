// A manifest worker's memory hygiene: a garbage collection it can call without --expose-gc, and when it calls it.
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { decodeReleaseSecret } from '../../../src/helm/release.ts';
import { garbageCollector, growthCollector, heldBytes } from '../../../src/helm/worker-memory.ts';
import { devlakeManifest, releaseSecret } from './helm-fixtures.ts';

/**
 * Whether the Buffers' memory drops below `bytes` within 10 s (polled; nothing else allocates meanwhile). V8 gives it
 * back on its sweeper threads, which a busy machine (the rest of the suite in parallel) can hold up for seconds.
 */
async function arrayBuffersBelow(bytes: number): Promise<boolean> {
  for (let attempt = 0; attempt < 1000; attempt++) {
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

describe('reading a release record', () => {
  it('leaves no Buffer behind that a scavenge cannot free', async () => {
    // A manifest worker scavenges after each record and collects in full only once what it holds has grown: each
    // Buffer a read leaves for a full collection brings that collection (7-15 ms, next to the next record) closer.
    // V8 frees young Buffers of 32 KiB or less, and the one zlib keeps on its engine, only at a full collection.
    const gc = garbageCollector()!;
    const manifest = devlakeManifest().repeat(Math.ceil((120 * 1024) / devlakeManifest().length));
    const secrets = [60, 61].map((version) => releaseSecret({ name: 'devlake', namespace: 'devlake', version, status: 'pending-install', manifest }));
    const data = (secrets[0]!.data as { release: string }).release;
    // Both base64 layers under 32 KiB, the JSON gunzipped from them well over it.
    expect(data.length).toBeLessThan(32 * 1024);
    expect(manifest.length).toBeGreaterThan(100 * 1024);
    const read = async (times: number): Promise<void> => {
      for (let i = 0; i < times; i++) {
        expect(decodeReleaseSecret(secrets[i % 2]).release.version).toBe(60 + (i % 2));
        await new Promise((resolve) => setImmediate(resolve));
        gc.scavenge();
      }
    };
    await read(4);
    const before = process.memoryUsage().arrayBuffers;
    await read(40);
    // Left behind, the three Buffers of each read would hold more than 40 x 100 KB.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1024 * 1024);
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

  it('reads this thread its own held bytes (heap plus Buffers and external strings)', async () => {
    // No garbage left for a collection the allocation below may start to free (heap used would drop by it), and what
    // the collection freed given back: V8's sweeper threads return Buffers' memory after the call, later on a busy
    // machine, so wait until the reading holds still.
    garbageCollector()!.collect();
    let settled = heldBytes();
    for (let attempt = 0; attempt < 100; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const now = heldBytes();
      if (Math.abs(now - settled) < 64 * 1024) break;
      settled = now;
    }
    const before = heldBytes();
    const kept = Buffer.alloc(8 * 1024 * 1024, 'a');
    // (within what a collection the allocations start may free of what the tests before left)
    expect(heldBytes() - before).toBeGreaterThanOrEqual(kept.length - 512 * 1024);
    // Text of more than 1 MB is kept outside V8's heap: a big release's JSON.
    const middle = heldBytes();
    const text = kept.toString('latin1');
    expect(heldBytes() - middle).toBeGreaterThanOrEqual(text.length - 512 * 1024);
  });
});

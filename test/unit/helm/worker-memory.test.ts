// A manifest worker's memory hygiene: a garbage collection it can call without --expose-gc, and when it calls it.
import { describe, expect, it } from 'vitest';
import { garbageCollector, heldBytes, MemoryKeeper } from '../../../src/helm/worker-memory.ts';

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
    // 32 MiB were dropped: they are gone after one call (V8 alone would wait for 64 MiB of them).
    expect(process.memoryUsage().arrayBuffers).toBeLessThan(holding - 30 * 1024 * 1024);
    buffers = Array.from({ length: 16 }, () => Buffer.alloc(2 * 1024 * 1024, 1));
    buffers = [];
    gc!.compact();
    // The memory-reducing flavor may leave the last Buffers to V8's background sweeper for a moment.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(process.memoryUsage().arrayBuffers).toBeLessThan(holding - 16 * 1024 * 1024);
    const { runInNewContext } = await import('node:vm');
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });
});

describe('MemoryKeeper', () => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  function keeperWith(held: { bytes: number }) {
    const calls: string[] = [];
    const keeper = new MemoryKeeper({
      gc: { collect: () => { calls.push(`collect@${held.bytes}`); held.bytes = 100; }, compact: () => { calls.push('compact'); held.bytes = 90; } },
      held: () => held.bytes,
      collectAfterBytes: 50,
      collectNowBytes: 200,
      idleCollectMs: 30,
      idleCompactMs: 120,
    });
    return { keeper, calls };
  }

  it('collects at the first pause once grown past collectAfterBytes, not in front of the next record', async () => {
    const held = { bytes: 100 };
    const { keeper, calls } = keeperWith(held);
    keeper.beforeRecord();
    held.bytes = 149;
    expect(keeper.afterRecord()).toBe('none');
    keeper.beforeRecord();
    held.bytes = 150;
    expect(keeper.afterRecord()).toBe('scheduled');
    // The next record arrives before the pause is long enough: nothing runs in front of it.
    await sleep(5);
    keeper.beforeRecord();
    expect(calls).toEqual([]);
    held.bytes = 160;
    expect(keeper.afterRecord()).toBe('scheduled');
    await sleep(80);
    expect(calls).toEqual(['collect@160']);
    // Then, idle longer, the heap is shrunk too.
    await sleep(120);
    expect(calls).toEqual(['collect@160', 'compact']);
  });

  it('collects at once past collectNowBytes, in a burst without pauses', () => {
    const held = { bytes: 100 };
    const { keeper, calls } = keeperWith(held);
    keeper.beforeRecord();
    held.bytes = 300;
    expect(keeper.afterRecord()).toBe('collected');
    expect(calls).toEqual(['collect@300']);
    // The baseline is what was held after the collection.
    keeper.beforeRecord();
    held.bytes = 140;
    expect(keeper.afterRecord()).toBe('none');
    keeper.beforeRecord();
  });

  it('reads this thread its own held bytes (heap plus Buffers)', () => {
    const before = heldBytes();
    const kept = Buffer.alloc(8 * 1024 * 1024);
    expect(heldBytes() - before).toBeGreaterThanOrEqual(kept.length);
  });
});

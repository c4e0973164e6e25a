// The benchmark's memory limit: a child started the way it starts server children runs under the limit from its
// first instruction, and Node sizes V8's heap from it. Where this machine allows no memory cgroup, the reason is
// reported instead, and the child runs as before.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { limitedSpawn, peakRssBytes } from '../bench/lib/memory-limit.ts';

const LIMIT = 512 * 2 ** 20;

describe('limitedSpawn', () => {
  it('runs without a limit when asked to, or when there is none to apply', () => {
    expect(limitedSpawn(LIMIT, false).limit).toEqual({ limitBytes: null, how: 'off (--memory-limit off)' });
    expect(limitedSpawn(undefined, true).limit).toEqual({ limitBytes: null, how: 'off (the chart sets no memory limit)' });
    expect(limitedSpawn(undefined, true).execPath).toBe(process.execPath);
  });

  it('starts a child whose Node sees the limit and sizes its heap from it, or says why it cannot', async () => {
    const spawn = limitedSpawn(LIMIT, true);
    try {
      const script = 'console.log(JSON.stringify({ constrained: process.constrainedMemory(), heap: require("v8").getHeapStatistics().heap_size_limit }))';
      const { stdout } = await promisify(execFile)(spawn.execPath, [...spawn.execArgvPrefix, '-e', script]);
      const seen = JSON.parse(stdout) as { constrained: number; heap: number };
      if (spawn.limit.limitBytes === null) {
        expect(spawn.limit.how).toMatch(/^off \(no (writable memory cgroup|cgroups)/);
        return;
      }
      expect(spawn.limit).toEqual({ limitBytes: LIMIT, how: expect.stringMatching(/^cgroup v[12]$/) });
      expect(seen.constrained).toBe(LIMIT);
      // Without the limit V8 would take a quarter of this machine's memory or more (4 GiB here).
      expect(seen.heap).toBeLessThan(LIMIT);
    } finally {
      spawn.release();
    }
  });
});

describe('peakRssBytes', () => {
  it("reads the process's own high-water mark, not the peak it inherits from the process that forked it", async () => {
    // getrusage's maxrss of a freshly forked child includes its parent's RSS (Linux); VmHWM is the child's own.
    const ballast = Buffer.alloc(256 * 2 ** 20, 1);
    try {
      const script =
        'const { peakRssBytes } = await import(process.argv[1]);' +
        'console.log(JSON.stringify({ peak: peakRssBytes(), maxrss: process.resourceUsage().maxRSS * 1024 }))';
      const module = new URL('../bench/lib/memory-limit.ts', import.meta.url).pathname;
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, module]);
      const seen = JSON.parse(stdout) as { peak: number; maxrss: number };
      expect(seen.peak).toBeGreaterThan(10 * 2 ** 20);
      if (process.platform === 'linux') expect(seen.peak).toBeLessThan(200 * 2 ** 20);
      expect(peakRssBytes()).toBeGreaterThanOrEqual(process.memoryUsage().rss - 64 * 2 ** 20);
    } finally {
      expect(ballast[ballast.length - 1]).toBe(1);
    }
  }, 60_000);

  it('falls back to getrusage where /proc gives no VmHWM', () => {
    expect(peakRssBytes('Name:\tnode\n')).toBe(process.resourceUsage().maxRSS * 1024);
    expect(peakRssBytes('VmPeak:\t 100 kB\nVmHWM:\t   2048 kB\nVmRSS:\t 10 kB\n')).toBe(2048 * 1024);
  });
});

// The benchmark's memory limit: a child started the way it starts server children runs under the limit from its
// first instruction, and Node sizes V8's heap from it. Where this machine allows no memory cgroup, the reason is
// reported instead, and the child runs as before.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { limitedSpawn } from '../bench/lib/memory-limit.ts';

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

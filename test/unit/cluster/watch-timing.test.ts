// model.maxStalenessSeconds' description states how a quiet watch is proven current: built from the constants the
// informers and watchStallSecondsFor use, so the README, values.yaml and values.schema.json (generated from the
// schema) follow a change of them.
import { afterEach, describe, expect, it, vi } from 'vitest';

const WATCH_TIMING = '../../../src/cluster/watch-timing.ts';

async function stalenessDescription(): Promise<string> {
  const { CONFIG_SCHEMA } = await import('../../../src/config/schema.ts');
  return CONFIG_SCHEMA.properties.model.properties.maxStalenessSeconds.description;
}

afterEach(() => {
  vi.doUnmock(WATCH_TIMING);
  vi.resetModules();
});

describe("model.maxStalenessSeconds' description", () => {
  it('states the probe bounds watchStallSecondsFor applies', async () => {
    const { watchStallSecondsFor } = await import('../../../src/cluster/start.ts');
    const { DEFAULT_TIMINGS } = await import('../../../src/cluster/informers.ts');
    expect(watchStallSecondsFor(Number.MAX_SAFE_INTEGER)).toBe(DEFAULT_TIMINGS.stallMs / 1000);
    expect(await stalenessDescription()).toContain(`at least ${watchStallSecondsFor(1) / 2} s and at most ${watchStallSecondsFor(Number.MAX_SAFE_INTEGER) / 2} s`);
  });

  it('follows the watch timings, not a copy of them', async () => {
    vi.resetModules();
    vi.doMock(WATCH_TIMING, () => ({ DEFAULT_WATCH_STALL_MS: 60_000, MIN_WATCH_STALL_SECONDS: 8, PROBE_TIMEOUT_SECONDS: 2 }));
    expect(await stalenessDescription()).toContain('proven current by a 2 s probe sent after half of this, at least 4 s and at most 30 s');
  });
});

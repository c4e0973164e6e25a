// How fresh the informers say the model is, against a scripted KubeClient: a watch whose connection went dead without
// a word counts as current no longer than the staleness bound (the stall limit follows it), and freshness is measured
// on a monotonic clock, so a wall clock stepped back during an outage does not make the outage look current.
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { InformerSet, DEFAULT_TIMINGS, type Informer, type InformerTimings } from '../../../src/cluster/informers.ts';
import { watchStallSecondsFor } from '../../../src/cluster/start.ts';
import { type KubeClient, type ListPage, type WatchHandlers, type WatchOptions } from '../../../src/cluster/kube-client.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { scriptedInformer, stopScriptedInformers } from '../../support/informers.ts';

function rawPod(name: string, rv: string): unknown {
  return { metadata: { name, namespace: 'default', resourceVersion: rv }, spec: { nodeName: 'n1', volumes: [] }, status: { phase: 'Running' } };
}

interface Harness {
  informer: Informer<'pod'>;
  model: ClusterModel;
  clock: { now: number };
}

afterEach(stopScriptedInformers);

function harness(client: KubeClient, timings: Partial<InformerTimings> = {}): Harness {
  const clock = { now: 1_000_000 };
  return { ...scriptedInformer('pod', client, clock, timings), clock };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await sleep(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A watch that hangs (a half-open connection: no data, no end) until aborted. */
function hang(options: WatchOptions): Promise<void> {
  return new Promise((_, reject) => {
    options.signal.addEventListener('abort', () => reject(options.signal.reason ?? new Error('aborted')), { once: true });
  });
}

describe('a half-open watch and the staleness bound', () => {
  it('the stall limit is the staleness bound when that is shorter', () => {
    expect(watchStallSecondsFor(10)).toBe(10);
    // A probe takes a second: a shorter stall would make a healthy quiet watch flap stale.
    expect(watchStallSecondsFor(1)).toBe(5);
    expect(watchStallSecondsFor(120)).toBe(DEFAULT_TIMINGS.stallMs / 1000);
  });

  it('a resource nothing confirmed for longer than a 10 s bound is stale, though its dead watch stays "connected"', async () => {
    let watches = 0;
    const client: KubeClient = {
      async list(): Promise<ListPage> {
        return { items: [rawPod('p1', '10')], resourceVersion: '10', continueToken: '' };
      },
      async watch(_path: string, options: WatchOptions, handlers: WatchHandlers): Promise<void> {
        watches += 1;
        if (watches === 1) handlers.onConnected(); // the main watch connects, then its connection goes dead
        return hang(options); // every later request (the quiet-watch probe) is blackholed too
      },
    };
    const { informer, clock } = harness(client, { stallMs: watchStallSecondsFor(10) * 1000 });
    informer.start();
    await until(() => informer.status(clock.now).connected, 'the watch to connect');
    const connectedAt = clock.now;
    // A minute passes with nothing heard: the watchdog runs every second and probes at stallMs / 2.
    for (let second = 1; second <= 60; second++) {
      clock.now = connectedAt + second * 1000;
      informer.checkProgress(clock.now);
      await sleep(0);
    }
    expect(watches).toBeGreaterThanOrEqual(2); // the probe was sent and hangs
    // model.maxStalenessSeconds = 10: nothing has confirmed the pods for 60 s.
    const maxAgeMs = 10_000;
    expect(informer.ageMs(clock.now), 'age of a resource nothing confirmed for 60 s').toBeGreaterThan(maxAgeMs);
  });
});


describe('freshness on a monotonic clock', () => {
  it('a wall clock stepped back during an outage does not make the outage look current', async () => {
    let watches = 0;
    const client: KubeClient = {
      async list(): Promise<ListPage> {
        if (watches > 0) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        return { items: [], resourceVersion: '10', continueToken: '' };
      },
      async watch(_path: string, _options: WatchOptions, handlers: WatchHandlers): Promise<void> {
        watches += 1;
        if (watches <= 12) handlers.onConnected();
        throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      },
    };
    const set = new InformerSet({
      client,
      sink: new ClusterModel(),
      log: pino({ level: 'silent' }),
      longhornNamespace: 'longhorn-system',
      timings: { backoffBaseMs: 1, backoffCapMs: 5 },
    });
    set.start();
    try {
      await until(() => set.synced(), 'the first lists');
      await sleep(20);
      // Ten minutes pass with the API server unreachable, and NTP steps the wall clock back ten minutes meanwhile.
      const monotonic = performance.now();
      const wall = Date.now();
      const later = vi.spyOn(performance, 'now').mockImplementation(() => monotonic + 600_000);
      const stepped = vi.spyOn(Date, 'now').mockImplementation(() => wall - 600_000);
      try {
        expect(set.staleResources(120_000)).toContain('pods');
      } finally {
        stepped.mockRestore();
        later.mockRestore();
      }
    } finally {
      await set.stop();
    }
  });
});

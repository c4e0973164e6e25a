// What proves a resource current, against a scripted KubeClient on a fake clock: not a watch's HTTP 200 (the API
// server sends 410 Gone and other errors as an ERROR event inside a 200 stream), nor a watch or probe the server
// closed at once with nothing in it. A first event or bookmark does, and a probe that stayed quiet for its whole
// server-side second; a quiet cluster stays current that way for as long as it stays quiet, and a quiet resource is
// current again about a second after an outage.
import { afterEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Informer, InformerTimings } from '../../../src/cluster/informers.ts';
import { KubeApiError, type KubeClient, type ListOptions, type ListPage, type WatchHandlers, type WatchOptions } from '../../../src/cluster/kube-client.ts';
import type { ClusterModel } from '../../../src/cluster/model.ts';
import { scriptedInformer, stopScriptedInformers } from '../../support/informers.ts';

const BOUND_MS = 120_000;

function rawPod(name: string, rv: string): unknown {
  return { metadata: { name, namespace: 'default', resourceVersion: rv }, spec: { nodeName: 'n1', volumes: [] }, status: { phase: 'Running' } };
}
const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
const reset = (): Error => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
const expired = (): KubeApiError => new KubeApiError(410, 'Expired', 'too old resource version: 10 (5000)');

afterEach(stopScriptedInformers);

interface Clock {
  now: number;
}

function podInformer(client: KubeClient, clock: Clock, timings: Partial<InformerTimings> = {}): { informer: Informer<'pod'>; model: ClusterModel } {
  return scriptedInformer('pod', client, clock, timings);
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await sleep(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Never answers (a big relist in progress, a blackholed request) until aborted. */
function hang(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason ?? new Error('aborted')), { once: true });
  });
}

/** A watch the server ends normally once the fake clock has run its timeoutSeconds; reset if `up` turns false. */
async function endsOnTimeout(clock: Clock, options: WatchOptions, up: () => boolean = () => true): Promise<void> {
  const end = clock.now + options.timeoutSeconds * 1000;
  while (clock.now < end) {
    if (options.signal.aborted) throw options.signal.reason;
    if (!up()) throw reset();
    await sleep(1);
  }
}

/** Advances the fake clock a second at a time, running the watchdog as InformerSet does. */
async function seconds(informer: Informer<'pod'>, clock: Clock, count: number, each: (age: number) => void = () => {}): Promise<void> {
  for (let second = 0; second < count; second++) {
    clock.now += 1000;
    informer.checkProgress(clock.now);
    await sleep(3);
    each(informer.ageMs(clock.now));
  }
}

describe('a watch answered HTTP 200 proves nothing until its stream does', () => {
  it('after a 10-minute outage, a watch answered 200 then ERROR 410 leaves the model stale through the relist', async () => {
    const clock = { now: 1_000_000 };
    let phase: 'up' | 'down' | 'back' = 'up';
    let breakWatch = (): void => {};
    const client: KubeClient = {
      async list(_path: string, options: ListOptions): Promise<ListPage> {
        if (phase === 'down') throw refused();
        if (phase === 'back') return hang(options.signal); // a big relist, in progress
        return { items: [rawPod('p1', '10')], resourceVersion: '10', continueToken: '' };
      },
      async watch(_path: string, options: WatchOptions, handlers: WatchHandlers): Promise<void> {
        if (phase === 'down') throw refused();
        handlers.onConnected();
        if (phase === 'up') return new Promise((_, reject) => (breakWatch = () => reject(reset())));
        // The API server is back with a new watch cache: HTTP 200, then ERROR 410 in the stream.
        await sleep(0);
        if (options.timeoutSeconds === 1) return hang(options.signal);
        throw expired();
      },
    };
    const { informer, model } = podInformer(client, clock);
    informer.start();
    await until(() => informer.status(clock.now).connected, 'connected');
    phase = 'down';
    clock.now += 1_000;
    breakWatch();
    await until(() => informer.status(clock.now).phase === 'backoff', 'backoff');
    clock.now += 600_000;
    expect(informer.ageMs(clock.now)).toBeGreaterThan(BOUND_MS);
    phase = 'back';
    await until(() => informer.status(clock.now).phase === 'listing', 'the relist after 410');
    clock.now += 5_000;
    expect(model.pod('default', 'p1')).toBeDefined(); // the state of ten minutes ago
    expect(informer.ageMs(clock.now), 'age of a model ten minutes behind').toBeGreaterThan(BOUND_MS);
  });

  it('watches answered 200 and reset before their first event, for ten minutes, leave the resource stale', async () => {
    const clock = { now: 1_000_000 };
    let listed = false;
    const client: KubeClient = {
      async list(): Promise<ListPage> {
        listed = true;
        return { items: [rawPod('p1', '10')], resourceVersion: '10', continueToken: '' };
      },
      async watch(_path: string, _options: WatchOptions, handlers: WatchHandlers): Promise<void> {
        handlers.onConnected();
        await sleep(0);
        throw reset();
      },
    };
    const { informer } = podInformer(client, clock);
    informer.start();
    await until(() => listed, 'listed');
    let worst = 0;
    await seconds(informer, clock, 600, (age) => (worst = Math.max(worst, age)));
    expect(worst).toBeGreaterThan(BOUND_MS);
  });

  it('watches and probes the server closes at once with nothing in them (a proxy) leave the resource stale', async () => {
    const clock = { now: 1_000_000 };
    let listed = false;
    const client: KubeClient = {
      async list(): Promise<ListPage> {
        listed = true;
        return { items: [rawPod('p1', '10')], resourceVersion: '10', continueToken: '' };
      },
      watch(_path: string, _options: WatchOptions, handlers: WatchHandlers): Promise<void> {
        handlers.onConnected(); // then a clean end at once, no event
        return Promise.resolve();
      },
    };
    const { informer } = podInformer(client, clock, { resyncMs: 0 });
    informer.start();
    await until(() => listed, 'listed');
    let worst = 0;
    await seconds(informer, clock, 600, (age) => (worst = Math.max(worst, age)));
    expect(worst).toBeGreaterThan(BOUND_MS);
  });

  it('a watch answered 200 then 410 again and again backs off more and more', async () => {
    const clock = { now: 1_000_000 };
    let lists = 0;
    const client: KubeClient = {
      async list(): Promise<ListPage> {
        lists += 1;
        return { items: [rawPod('p1', String(lists))], resourceVersion: String(lists), continueToken: '' };
      },
      async watch(_path: string, _options: WatchOptions, handlers: WatchHandlers): Promise<void> {
        handlers.onConnected();
        await sleep(0);
        throw expired();
      },
    };
    const { informer } = podInformer(client, clock);
    informer.start();
    await until(() => informer.status(clock.now).consecutiveFailures >= 3, 'the backoff to grow');
    expect(lists).toBeGreaterThanOrEqual(3);
  });

  it('the first bookmark proves the resumed watch current; the 410s in a row are over', async () => {
    const clock = { now: 1_000_000 };
    let phase: 'up' | 'down' | 'back' = 'up';
    let breakWatch = (): void => {};
    let bookmark = (): void => {};
    const client: KubeClient = {
      async list(): Promise<ListPage> {
        if (phase === 'down') throw refused();
        return { items: [rawPod('p1', '10')], resourceVersion: '10', continueToken: '' };
      },
      async watch(_path: string, options: WatchOptions, handlers: WatchHandlers): Promise<void> {
        if (phase === 'down') throw refused();
        handlers.onConnected();
        if (options.timeoutSeconds === 1) return hang(options.signal);
        bookmark = () => handlers.onEvent('BOOKMARK', { metadata: { resourceVersion: '11' } });
        const broken = new Promise<never>((_, reject) => (breakWatch = () => reject(reset())));
        return Promise.race([broken, hang(options.signal)]);
      },
    };
    const { informer } = podInformer(client, clock);
    informer.start();
    await until(() => informer.status(clock.now).connected, 'connected');
    phase = 'down';
    clock.now += 1_000;
    breakWatch();
    await until(() => informer.status(clock.now).phase === 'backoff', 'backoff');
    clock.now += 600_000;
    phase = 'back';
    informer.retrySoon();
    await until(() => informer.status(clock.now).connected, 'reconnected');
    expect(informer.ageMs(clock.now), 'connected, nothing received yet').toBeGreaterThan(BOUND_MS);
    bookmark();
    expect(informer.ageMs(clock.now)).toBe(0);
    expect(informer.resourceVersion).toBe('11');
  });
});

describe('a quiet resource stays current, proven by probes that stay quiet for their whole second', () => {
  /** A cluster where nothing changes: watches and probes stay silent until the server ends them on their timeout. */
  function quietCluster(clock: Clock, state: { up: boolean; earlyProbes?: boolean }): KubeClient {
    return {
      async list(): Promise<ListPage> {
        if (!state.up) throw refused();
        return { items: [rawPod('p1', '10')], resourceVersion: '10', continueToken: '' };
      },
      async watch(_path: string, options: WatchOptions, handlers: WatchHandlers): Promise<void> {
        if (!state.up) throw refused();
        handlers.onConnected();
        if (options.timeoutSeconds === 1 && state.earlyProbes) return; // closed at once, nothing in it
        await endsOnTimeout(clock, options, () => state.up);
      },
    };
  }

  it('thirty minutes without a single event or bookmark: never stale, the probes prove it', async () => {
    const clock = { now: 1_000_000 };
    const { informer } = podInformer(quietCluster(clock, { up: true }), clock);
    informer.start();
    await until(() => informer.status(clock.now).connected, 'connected');
    let worst = 0;
    await seconds(informer, clock, 1800, (age) => (worst = Math.max(worst, age)));
    expect(informer.probes).toBeGreaterThan(30);
    expect(worst).toBe(0);
  });

  it('a probe closed before its second is up proves nothing: the quiet resource turns stale', async () => {
    const clock = { now: 1_000_000 };
    const { informer } = podInformer(quietCluster(clock, { up: true, earlyProbes: true }), clock, { resyncMs: 0 });
    informer.start();
    await until(() => informer.status(clock.now).connected, 'connected');
    let worst = 0;
    await seconds(informer, clock, 300, (age) => (worst = Math.max(worst, age)));
    expect(worst).toBeGreaterThan(BOUND_MS);
  });

  it('after an outage, a quiet resource whose watch resumes is current again within two seconds', async () => {
    const clock = { now: 1_000_000 };
    const state = { up: true };
    const { informer } = podInformer(quietCluster(clock, state), clock);
    informer.start();
    await until(() => informer.status(clock.now).connected, 'connected');
    state.up = false;
    await seconds(informer, clock, 300); // the watch breaks, every retry is refused
    expect(informer.status(clock.now).phase).toBe('backoff');
    expect(informer.ageMs(clock.now)).toBeGreaterThan(BOUND_MS);
    state.up = true;
    informer.retrySoon();
    await until(() => informer.status(clock.now).connected, 'reconnected');
    expect(informer.ageMs(clock.now), 'connected, not yet proven').toBeGreaterThan(BOUND_MS);
    await seconds(informer, clock, 2);
    expect(informer.ageMs(clock.now)).toBe(0);
  });
});

describe('a quiet-watch probe answered 410', () => {
  it('ends the open watch as broken, not clean: the relist it forces is not counted fresh', async () => {
    const clock = { now: 1_000_000 };
    let lists = 0;
    let probeRv = '';
    let ageAt410 = -1;
    let lastQuietProbeAt = 0;
    const client: KubeClient = {
      async list(_path: string, options: ListOptions): Promise<ListPage> {
        // A probe's first question, once per watch: the server has reached the watch's resourceVersion.
        if (options.resourceVersion !== undefined) return { items: [], resourceVersion: '10', continueToken: '' };
        lists += 1;
        if (lists === 1) return { items: [rawPod('p1', '10')], resourceVersion: '10', continueToken: '' };
        return hang(options.signal); // the relist of a big resource takes a while
      },
      async watch(_path: string, options: WatchOptions, handlers: WatchHandlers): Promise<void> {
        if (options.timeoutSeconds === 1) {
          probeRv = options.resourceVersion;
          if (clock.now < 1_100_000) { lastQuietProbeAt = clock.now; clock.now += 1000; return; } // quiet probes prove the watch current
          if (ageAt410 < 0) ageAt410 = clock.now - lastQuietProbeAt;
          throw expired(); // the server can no longer resume from the open watch's resourceVersion
        }
        handlers.onConnected();
        return hang(options.signal); // the open watch: silent (half-open)
      },
    };
    const { informer } = podInformer(client, clock, { stallMs: 90_000 });
    informer.start();
    await until(() => informer.status(clock.now).connected, 'watching');
    for (let i = 0; i < 140; i++) { clock.now += 1000; informer.checkProgress(clock.now); await sleep(2); }
    await until(() => lists >= 2, 'the relist the 410 forced');
    const status = informer.status(clock.now);
    expect(ageAt410).toBeGreaterThan(0);
    expect(probeRv).toBe('10');
    expect(status.phase).toBe('listing');
    // Counted from the last quiet probe, not from the 410.
    expect(status.ageMs).toBeGreaterThanOrEqual(ageAt410);
    clock.now += 60_000;
    expect(informer.ageMs(clock.now)).toBeGreaterThanOrEqual(ageAt410 + 60_000);
  });
});

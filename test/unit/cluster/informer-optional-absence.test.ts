// When an optional resource (a Longhorn CRD) answers 404, against a scripted KubeClient on a fake clock. The API server
// answers 404 for a custom resource it serves for a while after a restart, so a 404 is absence only once confirmed: a
// resource listed before keeps its objects and grows stale until 404s have come for twice the absent poll interval;
// one never seen is absent (not installed) after a second 404 a second later, and readiness waits for that.
import { afterEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Informer } from '../../../src/cluster/informers.ts';
import { KubeApiError, type KubeClient, type ListPage, type WatchHandlers, type WatchOptions } from '../../../src/cluster/kube-client.ts';
import type { ClusterModel } from '../../../src/cluster/model.ts';
import { scriptedInformer, stopScriptedInformers } from '../../support/informers.ts';

const ABSENT_POLL_MS = 30_000;

const volume = {
  metadata: { name: 'pvc-1', namespace: 'longhorn-system', resourceVersion: '10' },
  spec: { numberOfReplicas: 1 },
  status: { state: 'attached', robustness: 'healthy' },
};
const notFound = (): KubeApiError => new KubeApiError(404, 'NotFound', 'the server could not find the requested resource');

afterEach(stopScriptedInformers);

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await sleep(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Longhorn's volumes, served (`served`) or answering 404; watches stay open without events until aborted. */
function longhorn(state: { served: boolean; lists: number }): KubeClient {
  return {
    async list(): Promise<ListPage> {
      state.lists += 1;
      if (!state.served) throw notFound();
      return { items: [volume], resourceVersion: '10', continueToken: '' };
    },
    async watch(_path: string, options: WatchOptions, handlers: WatchHandlers): Promise<void> {
      if (!state.served) throw notFound();
      handlers.onConnected();
      return new Promise((_, reject) => options.signal.addEventListener('abort', () => reject(options.signal.reason), { once: true }));
    },
  };
}

function volumeInformer(client: KubeClient, clock: { now: number }, absentPollMs = ABSENT_POLL_MS): { informer: Informer<'longhornVolume'>; model: ClusterModel } {
  return scriptedInformer('longhornVolume', client, clock, { absentPollMs });
}

describe('a Longhorn resource that was served answers 404', () => {
  async function servedThen404(): Promise<{ informer: Informer<'longhornVolume'>; model: ClusterModel; clock: { now: number }; state: { served: boolean; lists: number } }> {
    const clock = { now: 1_000_000 };
    const state = { served: true, lists: 0 };
    const { informer, model } = volumeInformer(longhorn(state), clock);
    informer.start();
    await until(() => model.longhornVolume('pvc-1') !== undefined && informer.status(clock.now).connected, 'synced');
    expect(model.longhornInstalled).toBe(true);
    // The API server restarts: the periodic relist meets its CRD handler before that serves again.
    state.served = false;
    informer.checkProgress((clock.now += 700_000));
    const listsBefore = state.lists;
    await until(() => state.lists >= listsBefore + 3, 'lists answered 404');
    return { informer, model, clock, state };
  }

  it('keeps its objects and Longhorn installed, and grows stale, until the absence is confirmed', async () => {
    const { informer, model, clock, state } = await servedThen404();
    clock.now += 50_000;
    await until(() => state.lists >= 6, 'more 404s');
    expect(model.longhornVolume('pvc-1')).toBeDefined();
    expect(model.longhornInstalled).toBe(true);
    expect(informer.status(clock.now).phase).not.toBe('absent');
    expect(informer.ageMs(clock.now)).toBeGreaterThanOrEqual(50_000);
    // Served again: relisted, current.
    state.served = true;
    await until(() => informer.status(clock.now).connected, 'watching again');
    expect(informer.ageMs(clock.now)).toBe(0);
    expect(model.longhornVolume('pvc-1')).toBeDefined();
  });

  it('is emptied, and Longhorn not installed, once 404s have come for twice the absent poll interval', async () => {
    const { informer, model, clock } = await servedThen404();
    clock.now += 2 * ABSENT_POLL_MS;
    await until(() => informer.status(clock.now).phase === 'absent', 'the absence confirmed');
    expect(model.longhornVolume('pvc-1')).toBeUndefined();
    expect(model.longhornInstalled).toBe(false);
    expect(informer.status(clock.now).present).toBe(false);
    expect(informer.ageMs(clock.now)).toBe(0);
  });
});

describe('a Longhorn resource never seen answers 404 at startup', () => {
  it('is absent, Longhorn not installed, after a second 404 a second later; not ready before', async () => {
    const clock = { now: 1_000_000 };
    const state = { served: false, lists: 0 };
    // A short poll so the test's real sleeps stay short: the confirmation waits min(poll, 1 s) on the fake clock.
    const { informer, model } = volumeInformer(longhorn(state), clock, 40);
    informer.start();
    await until(() => state.lists >= 3, 'a few 404s');
    expect(informer.synced, 'the 404s all came at one instant').toBe(false);
    expect(informer.ageMs(clock.now)).toBe(Number.POSITIVE_INFINITY);
    clock.now += 40;
    await until(() => informer.synced, 'the absence confirmed');
    expect(informer.status(clock.now)).toMatchObject({ phase: 'absent', present: false });
    expect(model.longhornInstalled).toBe(false);
    expect(informer.ageMs(clock.now)).toBe(0);
  });

  it('a 404 then the resource served: installed, with its objects', async () => {
    const clock = { now: 1_000_000 };
    const state = { served: false, lists: 0 };
    const { informer, model } = volumeInformer(longhorn(state), clock, 40);
    informer.start();
    await until(() => state.lists >= 1, 'a 404');
    state.served = true;
    await until(() => informer.synced, 'listed');
    expect(model.longhornInstalled).toBe(true);
    expect(model.longhornVolume('pvc-1')).toBeDefined();
  });
});

describe('404s confirm absence only in a row', () => {
  it('one 404, an outage (connection refused), one more 404 70 s later: not absent, the objects kept, stale', async () => {
    const clock = { now: 1_000_000 };
    const state = { mode: 'served' as 'served' | '404' | 'down', lists: 0 };
    const client: KubeClient = {
      async list(): Promise<ListPage> {
        state.lists += 1;
        if (state.mode === '404') throw notFound();
        if (state.mode === 'down') throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:6443'), { code: 'ECONNREFUSED' });
        return { items: [volume], resourceVersion: '10', continueToken: '' };
      },
      async watch(_path: string, options: WatchOptions, handlers: WatchHandlers): Promise<void> {
        if (state.mode === '404') throw notFound();
        if (state.mode === 'down') throw new Error('connect ECONNREFUSED');
        handlers.onConnected();
        return new Promise((_, reject) => options.signal.addEventListener('abort', () => reject(options.signal.reason), { once: true }));
      },
    };
    const { informer, model } = volumeInformer(client, clock);
    informer.start();
    await until(() => model.longhornVolume('pvc-1') !== undefined && informer.status(clock.now).connected, 'synced');
    // API server restarts and answers one 404 (its CRD informer not synced yet) ...
    state.mode = '404';
    informer.checkProgress((clock.now += 700_000)); // the periodic relist
    await until(() => state.lists >= 2, 'a 404');
    // ... then goes down again (crash loop) for 70 s ...
    state.mode = 'down';
    const before = state.lists;
    await until(() => state.lists >= before + 3, 'connection refused');
    clock.now += 70_000;
    // ... and comes back with a single 404 before serving again.
    state.mode = '404';
    const before2 = state.lists;
    await until(() => state.lists >= before2 + 1, 'one more 404');
    await until(() => informer.status(clock.now).phase !== 'listing', 'settled');
    expect(informer.status(clock.now).phase).not.toBe('absent');
    expect(model.longhornVolume('pvc-1')).toBeDefined();
    expect(model.longhornInstalled).toBe(true);
    expect(informer.ageMs(clock.now)).toBeGreaterThan(0);
  });
});

describe('a resource confirmed absent, looked at again', () => {
  it('stays current (age 0) while its next look is in flight, and grows stale only when that look is overdue', async () => {
    const clock = { now: 1_000_000 };
    let lists = 0;
    let release: (() => void) | undefined;
    const client: KubeClient = {
      async list(_path: string, options): Promise<ListPage> {
        lists += 1;
        // The third look (the first poll after the absence was confirmed) takes its time.
        if (lists === 3) {
          await new Promise<void>((resolve) => {
            release = resolve;
            options.signal.addEventListener('abort', () => resolve(), { once: true });
          });
        }
        throw notFound();
      },
      async watch(): Promise<void> {
        throw notFound();
      },
    };
    const { informer } = volumeInformer(client, clock, 40);
    informer.start();
    await until(() => lists >= 1, 'a 404');
    clock.now += 40;
    await until(() => informer.synced, 'the absence confirmed');
    // The poll (40 ms) comes due; on the fake clock 30 s have passed, and the look hangs.
    clock.now += 30_000;
    await until(() => lists === 3 && informer.status(clock.now).phase === 'listing', 'the next look');
    expect(informer.ageMs(clock.now)).toBe(0);
    // A look that never ends is overdue after the poll interval and a request's timeout.
    clock.now += 60_000 + 40;
    expect(informer.ageMs(clock.now)).toBeGreaterThan(60_000);
    release?.();
    await until(() => lists >= 4, 'looked again');
  });
});

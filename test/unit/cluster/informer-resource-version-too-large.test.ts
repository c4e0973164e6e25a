// A resourceVersion the API server has not reached: etcd restored from a backup without --bump-revision (its
// revision went back), or an API server whose watch cache lags. The API server answers a list asking for it
// (resourceVersionMatch NotOlderThan), after waiting 3 s, with 504 Timeout, cause ResourceVersionTooLarge
// (storage.NewTooLargeResourceVersionError in k8s.io/apiserver/pkg/storage/errors.go); older servers answer a watch
// so too, as an ERROR event. A Kubernetes 1.36 API server accepts the watch instead and keeps it silent: it delivers
// only events past that resourceVersion, so writes to the restored cluster never come, and a quiet-watch probe from the
// same resourceVersion stays quiet as well, which alone would prove the frozen model current. client-go's reflector
// treats "too large" as it treats 410 Gone (isTooLargeResourceVersionError in client-go/tools/cache/reflector.go:
// the resourceVersion is unavailable, relist with resourceVersion="").
import { afterEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeApiError, type KubeClient, type ListOptions, type ListPage, type WatchHandlers, type WatchOptions } from '../../../src/cluster/kube-client.ts';
import { scriptedInformer, stopScriptedInformers } from '../../support/informers.ts';

afterEach(stopScriptedInformers);

const BOUND_MS = 120_000;

function rawPod(name: string, rv: string): unknown {
  return { metadata: { name, namespace: 'default', resourceVersion: rv }, spec: { nodeName: 'n1', volumes: [] }, status: { phase: 'Running' } };
}
const reset = (): Error => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

/** The Status the API server sends for a watch from a resourceVersion beyond its current revision. */
function tooLarge(asked: string, current: number): KubeApiError {
  return new KubeApiError(504, 'Timeout', `Too large resource version: ${asked}, current: ${current}`, ['ResourceVersionTooLarge']);
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await sleep(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('a watch answered "Too large resource version" (older API servers)', () => {
  it('relists from the server (etcd restored from a backup): the pod deleted since is gone, the new one there, the model current again', async () => {
    const clock = { now: 1_000_000 };
    // Before the restore the server is at revision 5000; the backup it is restored from was taken at revision 900.
    let restored = false;
    let breakWatch = (): void => {};
    const lists: string[] = [];
    const client: KubeClient = {
      async list(_path: string, _options: ListOptions): Promise<ListPage> {
        lists.push(restored ? 'restored' : 'before');
        if (!restored) return { items: [rawPod('gone', '4000')], resourceVersion: '5000', continueToken: '' };
        return { items: [rawPod('from-backup', '850')], resourceVersion: '900', continueToken: '' };
      },
      async watch(_path: string, options: WatchOptions, handlers: WatchHandlers): Promise<void> {
        handlers.onConnected();
        if (!restored) return new Promise((_, reject) => (breakWatch = () => reject(reset())));
        await sleep(0);
        if (Number(options.resourceVersion) > 900) throw tooLarge(options.resourceVersion, 900);
        // From a resourceVersion the server knows: a bookmark proves the stream current.
        handlers.onEvent('BOOKMARK', { metadata: { resourceVersion: '901' } });
        return new Promise((_, reject) => options.signal.addEventListener('abort', () => reject(options.signal.reason), { once: true }));
      },
    };
    const { informer, model } = scriptedInformer('pod', client, clock);
    informer.start();
    await until(() => informer.status(clock.now).connected, 'connected');
    expect(model.pod('default', 'gone')).toBeDefined();

    restored = true;
    breakWatch();
    for (let second = 0; second < 30 && model.pod('default', 'from-backup') === undefined; second++) {
      clock.now += 1000;
      informer.checkProgress(clock.now);
      await sleep(5);
    }
    expect(lists, 'a relist once the server says the resourceVersion is beyond it').toEqual(['before', 'restored']);
    expect(model.pod('default', 'gone'), 'no ghost of a pod the restored cluster does not have').toBeUndefined();
    expect(model.pod('default', 'from-backup')).toBeDefined();
    await until(() => informer.status(clock.now).connected && informer.resourceVersion === '901', 'watching from the restored revision');
    expect(informer.ageMs(clock.now)).toBeLessThan(BOUND_MS);
  });
});

describe('a watch the API server accepts from a resourceVersion it has not reached (Kubernetes 1.36)', () => {
  it('is not proven current by a quiet probe: the server is asked whether it reached that resourceVersion, and the informer relists', async () => {
    const clock = { now: 1_000_000 };
    let restored = false;
    let breakWatch = (): void => {};
    const lists: string[] = [];
    const client: KubeClient = {
      async list(_path: string, options: ListOptions): Promise<ListPage> {
        lists.push(options.resourceVersion === undefined ? (restored ? 'restored' : 'before') : `reached ${options.resourceVersion}?`);
        if (options.resourceVersion !== undefined) {
          expect(options.resourceVersionMatch).toBe('NotOlderThan');
          if (restored && Number(options.resourceVersion) > 900) throw tooLarge(options.resourceVersion, 900);
          return { items: [], resourceVersion: restored ? '900' : '5000', continueToken: 'more' };
        }
        if (!restored) return { items: [rawPod('gone', '4000')], resourceVersion: '5000', continueToken: '' };
        return { items: [rawPod('from-backup', '850')], resourceVersion: '900', continueToken: '' };
      },
      async watch(_path: string, options: WatchOptions, handlers: WatchHandlers): Promise<void> {
        handlers.onConnected();
        if (!restored) return new Promise((_, reject) => (breakWatch = () => reject(reset())));
        // Accepted and silent: nothing past its resourceVersion happens on the restored cluster. A probe ends after its second.
        const end = clock.now + options.timeoutSeconds * 1000;
        while (clock.now < end) {
          if (options.signal.aborted) throw options.signal.reason;
          await sleep(1);
        }
      },
    };
    const { informer, model } = scriptedInformer('pod', client, clock, { stallMs: 20_000 });
    informer.start();
    await until(() => informer.status(clock.now).connected, 'connected');
    restored = true;
    breakWatch();
    // Ten minutes of a cluster that was restored, well before the periodic relist.
    for (let second = 0; second < 600 && model.pod('default', 'from-backup') === undefined; second++) {
      clock.now += 1000;
      informer.checkProgress(clock.now);
      await sleep(3);
    }
    expect(model.pod('default', 'gone'), `lists: ${lists.join(', ')}`).toBeUndefined();
    expect(model.pod('default', 'from-backup')).toBeDefined();
    expect(lists).toContain('reached 5000?');
    expect(lists.at(-1)).not.toBe('before');
  });
});


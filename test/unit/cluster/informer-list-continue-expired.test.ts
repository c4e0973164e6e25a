// A paginated list whose continue token expires before its last page: etcd compacted the revision of its first page
// (the API server keeps one compaction interval of history, 5 minutes by default), as happens to a list of a big
// resource on a slow or throttled API server. Listing page by page again ends the same way while the list stays that
// slow. client-go's pager falls back to one full list then (FullListIfExpired, on by default:
// client-go/tools/pager/pager.go ListPager.List), and so must the informers, or the resource never syncs.
import { afterEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeApiError, type KubeClient, type ListOptions, type ListPage, type WatchHandlers, type WatchOptions } from '../../../src/cluster/kube-client.ts';
import { scriptedInformer, stopScriptedInformers } from '../../support/informers.ts';

afterEach(stopScriptedInformers);

function rawPod(name: string): unknown {
  return { metadata: { name, namespace: 'default', resourceVersion: '10' }, spec: { nodeName: 'n1', volumes: [] }, status: { phase: 'Running' } };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await sleep(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('a list whose continue token expires', () => {
  it('falls back to one full list, as client-go\'s pager does: synced, with every object', async () => {
    const clock = { now: 1_000_000 };
    const asked: string[] = [];
    const client: KubeClient = {
      async list(_path: string, options: ListOptions): Promise<ListPage> {
        asked.push(`limit=${options.limit} continue=${options.continueToken ?? ''}`);
        if (options.limit === 0) return { items: [rawPod('a'), rawPod('b'), rawPod('c')], resourceVersion: '20', continueToken: '' };
        // Page by page, the second page always comes after the first page's revision was compacted.
        if (!options.continueToken) return { items: [rawPod('a')], resourceVersion: '10', continueToken: 'page-2' };
        throw new KubeApiError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.');
      },
      async watch(_path: string, options: WatchOptions, handlers: WatchHandlers): Promise<void> {
        handlers.onConnected();
        return new Promise((_, reject) => options.signal.addEventListener('abort', () => reject(options.signal.reason), { once: true }));
      },
    };
    const { informer, model } = scriptedInformer('pod', client, clock, { pageSize: 1 });
    informer.start();
    await until(() => informer.synced || asked.length > 20, 'synced, or twenty list requests');
    expect(informer.synced, asked.join('\n')).toBe(true);
    for (const name of ['a', 'b', 'c']) expect(model.pod('default', name), name).toBeDefined();
    expect(informer.resourceVersion).toBe('20');
    expect(asked).toEqual(['limit=1 continue=', 'limit=1 continue=page-2', 'limit=0 continue=']);
  });
});

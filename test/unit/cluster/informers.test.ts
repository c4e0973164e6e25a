import { afterEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { InformerSet, type InformerTimings, type RestartReason } from '../../../src/cluster/informers.ts';
import { KubeApiError } from '../../../src/cluster/kube-client.ts';
import { RESOURCE_KINDS, type ResourceKind } from '../../../src/cluster/records.ts';
import { collectionPath, RESOURCE_SPECS } from '../../../src/cluster/resources.ts';
import { startClusterModel } from '../../../src/cluster/start.ts';
import { FakeApi, RecordingSink } from './fake-api.ts';

const LONGHORN_NS = 'longhorn-system';
const path = (kind: ResourceKind) => collectionPath(RESOURCE_SPECS[kind], LONGHORN_NS);
const PVCS = path('persistentVolumeClaim');

const TIMINGS: InformerTimings = {
  pageSize: 2,
  resyncMs: 0,
  minWatchTimeoutSeconds: 300,
  stallMs: 10_000,
  absentPollMs: 20,
  backoffBaseMs: 1,
  backoffCapMs: 5,
  requestTimeoutMs: 1_000,
  watchdogIntervalMs: 5,
};

const silentLog: Logger = pino({ level: 'silent' });

function pvc(name: string, namespace = 'apps', extra: Record<string, unknown> = {}) {
  return { metadata: { name, namespace, uid: `uid-${name}`, labels: { release: 'r1' } }, spec: { volumeName: `pv-${name}` }, status: { phase: 'Bound' }, ...extra };
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

interface Harness {
  api: FakeApi;
  sink: RecordingSink;
  set: InformerSet;
  restarts: { resource: string; reason: RestartReason }[];
  clock: { offsetMs: number; now(): number };
}

let running: InformerSet[] = [];
afterEach(async () => {
  await Promise.all(running.map((set) => set.stop()));
  running = [];
});

function harness(options: { timings?: Partial<InformerTimings>; log?: Logger; longhorn?: boolean; api?: FakeApi } = {}): Harness {
  const api = options.api ?? new FakeApi();
  if (options.longhorn === false) {
    for (const kind of ['longhornVolume', 'longhornReplica', 'longhornNode'] as const) api.notServed.add(path(kind));
  }
  const sink = new RecordingSink();
  const restarts: Harness['restarts'] = [];
  const clock = {
    offsetMs: 0,
    now() {
      return Date.now() + this.offsetMs;
    },
  };
  const set = new InformerSet({
    client: api,
    sink,
    log: options.log ?? silentLog,
    longhornNamespace: LONGHORN_NS,
    timings: { ...TIMINGS, ...options.timings },
    now: () => clock.now(),
    random: () => 0.5,
    onRestart: (resource, reason) => restarts.push({ resource, reason }),
  });
  running.push(set);
  return { api, sink, set, restarts, clock };
}

const restartsOf = (h: Harness, resource: string, reason: RestartReason) =>
  h.restarts.filter((restart) => restart.resource === resource && restart.reason === reason).length;

describe('informers: first list', () => {
  it('lists every resource page by page, writes it with replaceAll, then reports synced', async () => {
    const h = harness();
    for (const name of ['a', 'b', 'c', 'd', 'e']) h.api.put(PVCS, pvc(name));
    h.api.put(path('node'), { metadata: { name: 'worker-1' }, spec: { unschedulable: true } });
    h.set.start();
    expect(h.set.synced()).toBe(false);
    expect(h.set.staleResources(h.clock.now(), 60_000)).toHaveLength(RESOURCE_KINDS.length);
    await until(() => h.set.synced(), 'sync');

    expect(h.sink.keys('persistentVolumeClaim')).toEqual(['apps/a', 'apps/b', 'apps/c', 'apps/d', 'apps/e']);
    expect(h.sink.get('node', 'worker-1')).toEqual({ name: 'worker-1', unschedulable: true, annotations: {} });
    const pvcPages = h.api.listCalls.filter((call) => call.path === PVCS);
    expect(pvcPages.map((call) => call.continueToken.split(':')[0])).toEqual(['', '2', '4']);
    // every page of one list is read at the resourceVersion of its first page
    expect(new Set(pvcPages.slice(1).map((call) => call.continueToken.split(':')[1])).size).toBe(1);
    // then each informer watches from its list's resourceVersion
    await until(() => h.api.openWatches === RESOURCE_KINDS.length, 'watches');
    expect(h.api.watchCalls.find((call) => call.path === PVCS)?.resourceVersion).toBe(pvcPages[0]!.continueToken || String(h.api.resourceVersion));
    expect(h.set.staleResources(h.clock.now(), 60_000)).toEqual([]);
  });

  it('retries a failing first list with backoff until it succeeds', async () => {
    const h = harness({ longhorn: false });
    h.api.put(PVCS, pvc('a'));
    h.api.failNext.push(new KubeApiError(500, 'InternalError', 'etcd timeout'), new Error('ECONNRESET'), new KubeApiError(429, 'TooManyRequests', 'slow down'));
    h.set.start();
    await until(() => h.set.synced(), 'sync');
    expect(h.sink.keys('persistentVolumeClaim')).toEqual(['apps/a']);
    expect(h.restarts.filter((restart) => restart.reason === 'error')).toHaveLength(3);
  });
});

describe('informers: watching', () => {
  it('applies added, modified and deleted objects to the model', async () => {
    const h = harness();
    h.set.start();
    await until(() => h.api.openWatches === RESOURCE_KINDS.length, 'watches');

    h.api.put(PVCS, pvc('new'));
    await until(() => h.sink.get('persistentVolumeClaim', 'apps/new') !== undefined, 'added');
    h.api.put(PVCS, pvc('new', 'apps', { status: { phase: 'Lost' } }));
    await until(() => h.sink.get('persistentVolumeClaim', 'apps/new')?.phase === 'Lost', 'modified');
    h.api.delete(PVCS, 'apps/new');
    await until(() => h.sink.get('persistentVolumeClaim', 'apps/new') === undefined, 'deleted');

    const volumes = path('longhornVolume');
    h.api.put(volumes, { metadata: { name: 'pvc-1', namespace: LONGHORN_NS }, spec: { numberOfReplicas: 1 }, status: { state: 'detached' } });
    await until(() => h.sink.get('longhornVolume', `${LONGHORN_NS}/pvc-1`)?.numberOfReplicas === 1, 'longhorn volume');
  });

  it('resumes from the last resourceVersion when the server ends a watch, without listing again', async () => {
    const h = harness();
    h.api.put(PVCS, pvc('a'));
    h.set.start();
    await until(() => h.api.openWatches === RESOURCE_KINDS.length, 'watches');
    h.api.put(PVCS, pvc('b'));
    await until(() => h.sink.count('persistentVolumeClaim') === 2, 'event');
    const lists = h.api.listCalls.length;
    const lastVersion = h.set.informer('persistentVolumeClaim').resourceVersion;

    h.api.closeWatches();
    await until(() => h.api.watchCalls.filter((call) => call.path === PVCS).length === 2, 're-watch');
    expect(h.api.watchCalls.filter((call) => call.path === PVCS)[1]!.resourceVersion).toBe(lastVersion);
    expect(h.api.listCalls.length).toBe(lists);
    expect(restartsOf(h, 'persistentvolumeclaims', 'closed')).toBe(1);
  });

  it('moves its resourceVersion forward on bookmarks', async () => {
    const h = harness();
    h.set.start();
    await until(() => h.api.openWatches === RESOURCE_KINDS.length, 'watches');
    // writes elsewhere advance the global resourceVersion; the PVC watch only hears of it through a bookmark
    for (let i = 0; i < 3; i += 1) h.api.put(path('namespace'), { metadata: { name: `ns-${i}` } });
    const before = h.set.informer('persistentVolumeClaim').resourceVersion;
    h.api.bookmark(PVCS);
    expect(h.set.informer('persistentVolumeClaim').resourceVersion).toBe(String(h.api.resourceVersion));
    expect(Number(before)).toBeLessThan(h.api.resourceVersion);
  });

  it('relists and drops what vanished when its resourceVersion has expired (410)', async () => {
    const h = harness();
    for (const name of ['a', 'b', 'c']) h.api.put(PVCS, pvc(name));
    h.set.start();
    await until(() => h.api.openWatches === RESOURCE_KINDS.length, 'watches');
    const lists = h.api.listCalls.filter((call) => call.path === PVCS).length;

    // The connection drops; meanwhile objects change and the server compacts its history.
    h.api.unreachable = true;
    h.api.breakWatches();
    h.api.delete(PVCS, 'apps/a');
    h.api.delete(PVCS, 'apps/b');
    h.api.put(PVCS, pvc('d'));
    h.api.put(PVCS, pvc('c', 'apps', { status: { phase: 'Lost' } }));
    h.api.compact();
    h.api.unreachable = false;

    await until(() => h.sink.keys('persistentVolumeClaim').join() === 'apps/c,apps/d', 'reconciled');
    expect(h.sink.get('persistentVolumeClaim', 'apps/c')?.phase).toBe('Lost');
    expect(restartsOf(h, 'persistentvolumeclaims', 'expired')).toBeGreaterThanOrEqual(1);
    expect(h.api.listCalls.filter((call) => call.path === PVCS).length).toBeGreaterThan(lists);
  });

  it('relists on a 410 ERROR event inside an open watch', async () => {
    const h = harness();
    h.set.start();
    await until(() => h.api.openWatches === RESOURCE_KINDS.length, 'watches');
    const lists = h.api.listCalls.length;
    h.api.errorEvent(410, 'Expired');
    await until(() => h.api.listCalls.length >= lists + RESOURCE_KINDS.length, 'relists');
    expect(h.restarts.filter((restart) => restart.reason === 'expired')).toHaveLength(RESOURCE_KINDS.length);
  });

  it('resumes without relisting after a dropped connection when its resourceVersion is still valid', async () => {
    const h = harness();
    h.api.put(PVCS, pvc('a'));
    h.set.start();
    await until(() => h.api.openWatches === RESOURCE_KINDS.length, 'watches');
    const lists = h.api.listCalls.length;
    h.api.breakWatches();
    h.api.delete(PVCS, 'apps/a');
    await until(() => h.sink.count('persistentVolumeClaim') === 0, 'deletion replayed');
    expect(h.api.listCalls.length).toBe(lists);
    expect(restartsOf(h, 'persistentvolumeclaims', 'error')).toBe(1);
  });

  it('relists when the model rejects a write, so it cannot drift from the server', async () => {
    const h = harness();
    h.set.start();
    await until(() => h.api.openWatches === RESOURCE_KINDS.length, 'watches');
    const lists = h.api.listCalls.filter((call) => call.path === PVCS).length;
    h.sink.failNextWrite = new Error('index corrupted');
    h.api.put(PVCS, pvc('a'));
    await until(() => h.sink.get('persistentVolumeClaim', 'apps/a') !== undefined, 'relisted');
    expect(h.api.listCalls.filter((call) => call.path === PVCS).length).toBe(lists + 1);
  });
});

describe('informers: watchdog and resync', () => {
  it('restarts a watch that stays silent longer than a bookmark interval allows', async () => {
    const h = harness();
    h.set.start();
    await until(() => h.api.openWatches === RESOURCE_KINDS.length, 'watches');
    h.api.silentWatches = true;
    h.api.put(PVCS, pvc('lost-in-the-void'));
    const watches = h.api.watchCalls.filter((call) => call.path === PVCS).length;

    h.clock.offsetMs += TIMINGS.stallMs + 1;
    await until(() => restartsOf(h, 'persistentvolumeclaims', 'stalled') >= 1, 'stall detected');
    await until(() => h.api.watchCalls.filter((call) => call.path === PVCS).length > watches, 're-watch');
    // The re-watch replays from the last resourceVersion the informer saw.
    h.api.silentWatches = false;
    h.api.breakWatches();
    await until(() => h.sink.get('persistentVolumeClaim', 'apps/lost-in-the-void') !== undefined, 'event delivered after restart');
  });

  it('relists periodically, repairing an event the watch never delivered', async () => {
    const h = harness({ timings: { resyncMs: 60_000 } });
    for (const name of ['a', 'b']) h.api.put(PVCS, pvc(name));
    h.set.start();
    await until(() => h.api.openWatches === RESOURCE_KINDS.length, 'watches');
    h.api.deleteSilently(PVCS, 'apps/a');
    expect(h.sink.keys('persistentVolumeClaim')).toEqual(['apps/a', 'apps/b']);

    h.clock.offsetMs += 60_000 * 1.1 + 1;
    await until(() => h.sink.keys('persistentVolumeClaim').join() === 'apps/b', 'resync');
    expect(restartsOf(h, 'persistentvolumeclaims', 'resync')).toBeGreaterThanOrEqual(1);
  });
});

describe('informers: Longhorn absent', () => {
  it('counts absent CRDs as synced and not installed, and picks Longhorn up when they appear', async () => {
    const h = harness({ longhorn: false });
    h.set.start();
    await until(() => h.set.synced(), 'sync');
    expect(h.sink.longhornInstalled).toBe(false);
    expect(h.set.staleResources(h.clock.now(), 1_000)).toEqual([]);
    const volumeStatus = h.set.statuses().find((status) => status.kind === 'longhornVolume');
    expect(volumeStatus).toMatchObject({ present: false, synced: true });

    // Longhorn gets installed.
    const volumes = path('longhornVolume');
    h.api.put(volumes, { metadata: { name: 'pvc-1', namespace: LONGHORN_NS }, spec: { numberOfReplicas: 3 } });
    for (const kind of ['longhornVolume', 'longhornReplica', 'longhornNode'] as const) h.api.notServed.delete(path(kind));
    await until(() => h.sink.longhornInstalled === true, 'installed');
    await until(() => h.sink.get('longhornVolume', `${LONGHORN_NS}/pvc-1`) !== undefined, 'volume listed');

    // And uninstalled again: the watches end, re-watching answers 404, the next list too, the records go.
    await until(() => h.api.openWatches === RESOURCE_KINDS.length, 'watches');
    for (const kind of ['longhornVolume', 'longhornReplica', 'longhornNode'] as const) h.api.notServed.add(path(kind));
    h.api.closeWatches();
    await until(() => h.sink.longhornInstalled === false, 'uninstalled');
    await until(() => h.sink.count('longhornVolume') === 0, 'volumes dropped');
  });

  it('treats a partial install (some Longhorn CRDs served) as installed', async () => {
    const h = harness({ longhorn: false });
    h.api.notServed.delete(path('longhornVolume'));
    h.set.start();
    await until(() => h.set.synced(), 'sync');
    expect(h.sink.longhornInstalled).toBe(true);
  });

  it('keeps a 404 on a core resource an error: it never counts as synced', async () => {
    const h = harness();
    h.api.notServed.add(path('pod'));
    h.set.start();
    await until(() => h.restarts.filter((restart) => restart.resource === 'pods' && restart.reason === 'error').length >= 3, 'retries');
    expect(h.set.synced()).toBe(false);
    expect(h.set.informer('pod').synced).toBe(false);
  });
});

describe('informers: health', () => {
  it('is not stale while watches are connected, however quiet the cluster', async () => {
    const h = harness();
    h.set.start();
    await until(() => h.api.openWatches === RESOURCE_KINDS.length, 'watches');
    h.clock.offsetMs += TIMINGS.stallMs - 1_000;
    expect(h.set.staleResources(h.clock.now(), 1_000)).toEqual([]);
    expect(h.set.statuses().every((status) => status.ageMs === 0)).toBe(true);
  });

  it('does not look stale while a quiet resource relists after a clean end of its watch', async () => {
    // resync after 7 s × 1.05 (jitter with random 0.5): before a watch counts as stalled (10 s)
    const h = harness({ timings: { resyncMs: 7_000 } });
    h.set.start();
    await until(() => h.api.openWatches === RESOURCE_KINDS.length, 'watches');
    let release = () => {};
    h.api.listGate = new Promise((resolve) => (release = resolve));
    const lists = h.api.listCalls.length;
    // Eight quiet seconds: no event since the list; then the periodic relist starts, and its list is slow.
    h.clock.offsetMs += 8_000;
    await until(() => h.api.listCalls.length >= lists + RESOURCE_KINDS.length, 'relists under way');
    expect(h.restarts.filter((restart) => restart.reason === 'resync')).toHaveLength(RESOURCE_KINDS.length);
    expect(h.restarts.filter((restart) => restart.reason === 'stalled')).toHaveLength(0);
    expect(h.set.statuses().every((status) => status.phase === 'listing' && !status.connected)).toBe(true);
    // The watches were alive until the relist began: the model was current then.
    expect(h.set.staleResources(h.clock.now(), 5_000)).toEqual([]);
    h.api.listGate = undefined;
    release();
    await until(() => h.set.statuses().every((status) => status.connected), 'watching again');
  });

  it('goes stale when the API server is unreachable, by the age of the last success', async () => {
    const h = harness();
    h.set.start();
    await until(() => h.api.openWatches === RESOURCE_KINDS.length, 'watches');
    h.api.unreachable = true;
    h.api.breakWatches();
    await until(() => h.set.statuses().every((status) => !status.connected), 'disconnected');
    h.clock.offsetMs += 5_000;
    const stale = h.set.staleResources(h.clock.now(), 2_000);
    expect(stale).toContain('persistentvolumeclaims');
    expect(stale).toContain('volumes.longhorn.io');
    expect(stale).toHaveLength(RESOURCE_KINDS.length);
    expect(h.set.synced()).toBe(true); // once synced, readiness is about staleness, not sync

    h.api.unreachable = false;
    await until(() => h.set.staleResources(h.clock.now(), 2_000).length === 0, 'fresh again');
  });

  it('logs state transitions, not every event', async () => {
    const lines: string[] = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const h = harness({ log });
    h.set.start();
    await until(() => h.api.openWatches === RESOURCE_KINDS.length, 'watches');
    await until(() => lines.filter((line) => line.includes('informer synced')).length === RESOURCE_KINDS.length, 'sync logs');
    const afterSync = lines.length;
    for (let i = 0; i < 50; i += 1) h.api.put(PVCS, pvc(`p${i}`));
    await until(() => h.sink.count('persistentVolumeClaim') === 50, 'events');
    expect(lines.length).toBe(afterSync);

    h.api.unreachable = true;
    h.api.breakWatches();
    await until(() => restartsOf(h, 'persistentvolumeclaims', 'error') >= 4, 'failures');
    // one warning per informer for the outage, however many retries
    expect(lines.filter((line) => line.includes('retrying with backoff')).length).toBe(RESOURCE_KINDS.length);
    h.api.unreachable = false;
    await until(() => lines.filter((line) => line.includes('informer recovered')).length === RESOURCE_KINDS.length, 'recovery logs');
  });

  it('stops every loop and closes every watch', async () => {
    const h = harness();
    h.set.start();
    await until(() => h.api.openWatches === RESOURCE_KINDS.length, 'watches');
    await h.set.stop();
    expect(h.api.openWatches).toBe(0);
    const calls = h.api.listCalls.length + h.api.watchCalls.length;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(h.api.listCalls.length + h.api.watchCalls.length).toBe(calls);
    expect(h.set.statuses().every((status) => status.phase === 'stopped')).toBe(true);
  });
});

describe('startClusterModel', () => {
  it('reports age, object counts and restarts on the registry it is given', async () => {
    const api = new FakeApi();
    api.put(PVCS, pvc('a'));
    api.put(PVCS, pvc('b'));
    const sink = new RecordingSink();
    const registry = new Registry();
    const model = startClusterModel({
      kubeConfig: new KubeConfig(),
      sink,
      registry,
      log: silentLog,
      config: { longhornNamespace: LONGHORN_NS },
      timings: TIMINGS,
      client: api,
    });
    try {
      expect(model.health.synced()).toBe(false);
      const before = await registry.metrics();
      expect(before).toContain('volume_guard_model_age_seconds{resource="persistentvolumeclaims"} +Inf');
      await until(() => model.health.synced() && api.openWatches === RESOURCE_KINDS.length, 'sync');
      api.closeWatches();
      await until(() => api.openWatches === RESOURCE_KINDS.length, 're-watch');
      const text = await registry.metrics();
      expect(text).toContain('volume_guard_model_age_seconds{resource="persistentvolumeclaims"} 0');
      expect(text).toContain('volume_guard_model_objects{resource="persistentvolumeclaims"} 2');
      expect(text).toContain('volume_guard_model_objects{resource="volumes.longhorn.io"} 0');
      expect(text).toContain('volume_guard_informer_restarts_total{resource="statefulsets.apps",reason="closed"} 1');
      expect(text).toContain('volume_guard_informer_restarts_total{resource="pods",reason="expired"} 0');
    } finally {
      await model.stop();
    }
  });
});

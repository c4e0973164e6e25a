// The informer loop (src/cluster/informers.ts) against the real kube-apiserver of the harness, one behaviour
// per test, with timings shrunk so each takes seconds: paginated first list, backoff on a failing first list,
// resuming where a server-ended or dropped watch left off (no relist), a real 410 ERROR event on an open watch,
// relisting when the model rejects a write, the watchdog restarting a silent watch, the periodic relist
// repairing a missed event, a partial Longhorn install (on a second API server of its own), a core resource
// the server does not serve, staleness and logging through an outage, all retrying once one reaches the server
// again, stop(), and startClusterModel's metrics.
//
// What the informers read goes through the real HttpKubeClient, wrapped only to count and record calls (and,
// in two tests, to start one watch from resourceVersion "1" or read an unserved path: the server answers for
// real). Network faults come from a loopback TCP proxy the test controls. cluster-model.e2e.test.ts covers
// the rest: CRUD of every kind, CRDs deleted and re-created, a 30 s outage, an API server restart, expired
// resume, bookmarks on a watch quiet for a minute, and the RBAC rules.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { ensureCluster, kubectl, paths, type ClusterInfo } from '../harness/cluster.ts';
import { OwnApiServer } from '../support/api-server.ts';
import { apply, must } from '../harness/scenario.ts';
import { kubeConfigVia, TcpProxy } from '../support/tcp-proxy.ts';
import { InformerSet, type InformerTimings, type RestartReason } from '../../src/cluster/informers.ts';
import { HttpKubeClient, isNotFound, type KubeClient, type ListOptions, type ListPage, type WatchHandlers, type WatchOptions } from '../../src/cluster/kube-client.ts';
import { MODEL_PERMISSIONS } from '../../src/cluster/permissions.ts';
import { ClusterModel } from '../../src/cluster/model.ts';
import { RESOURCE_KINDS, type ModelSink, type RecordByKind, type ResourceKind } from '../../src/cluster/records.ts';
import { collectionPath, RESOURCE_SPECS } from '../../src/cluster/resources.ts';
import { startClusterModel } from '../../src/cluster/start.ts';
import { objectAt, stringAt } from '../../src/json.ts';

const ID = `${process.pid}`;
const NS = `inf-e2e-${ID}`;
const LONGHORN_NS = `inf-e2e-lh-${ID}`;
const log: Logger = pino({ level: process.env['E2E_LOG_LEVEL'] ?? 'silent' }, pino.destination(2));
const path = (kind: ResourceKind, longhornNamespace = LONGHORN_NS) => collectionPath(RESOURCE_SPECS[kind], longhornNamespace);
const PVCS = path('persistentVolumeClaim');

/** Fast and deterministic (random 0.5: delays are half their ceiling); each test overrides what it exercises. */
const FAST: InformerTimings = {
  pageSize: 500,
  resyncMs: 0,
  minWatchTimeoutSeconds: 300,
  stallMs: 90_000,
  absentPollMs: 300,
  backoffBaseMs: 50,
  backoffCapMs: 400,
  requestTimeoutMs: 10_000,
  watchdogIntervalMs: 100,
};

let cluster: ClusterInfo;

// ---------------------------------------------------------------------------------------------- helpers

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await condition()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const pvc = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, namespace: NS, labels },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: 'local-storage' },
});

const claimNames = (model: ClusterModel, prefix: string) =>
  model
    .persistentVolumeClaimsIn(NS)
    .map((claim) => claim.name)
    .filter((name) => name.startsWith(prefix))
    .sort();

function versionOf(object: unknown): string {
  return stringAt(objectAt(object, 'metadata'), 'resourceVersion');
}

interface ListCall {
  readonly path: string;
  readonly continueToken: string;
  resourceVersion?: string;
  nextToken?: string;
  items?: number;
  error?: unknown;
}

interface WatchCall {
  readonly path: string;
  /** What the informer asked for. */
  readonly requestedVersion: string;
  /** What reached the server (differs only when the test expired it on purpose). */
  readonly sentVersion: string;
  connected: boolean;
  /** The resourceVersion of the last event the informer accepted (requestedVersion until one arrives). */
  lastVersion: string;
  events: number;
  readonly bookmarks: string[];
  outcome?: 'ended' | 'failed';
  error?: unknown;
}

/** The real HttpKubeClient, recording every call; it can start chosen watches from resourceVersion "1" or send a path elsewhere. */
class RecordingClient implements KubeClient {
  readonly #inner: KubeClient;
  readonly listCalls: ListCall[] = [];
  reachedChecks = 0;
  readonly watchCalls: WatchCall[] = [];
  openWatches = 0;
  /** Paths read from another path instead (one the server does not serve). */
  readonly redirect = new Map<string, string>();
  /** While set, lists wait for it before going to the server. */
  listGate: Promise<void> | undefined;

  constructor(inner: KubeClient) {
    this.#inner = inner;
  }

  listsOf(target: string): ListCall[] {
    return this.listCalls.filter((call) => call.path === target);
  }

  watchesOf(target: string): WatchCall[] {
    return this.watchCalls.filter((call) => call.path === target);
  }

  async list(target: string, options: ListOptions): Promise<ListPage> {
    // A quiet-watch probe asking whether the server reached the watch's resourceVersion reads one object, no list.
    if (options.resourceVersion !== undefined) {
      this.reachedChecks += 1;
      return this.#inner.list(this.redirect.get(target) ?? target, options);
    }
    const call: ListCall = { path: target, continueToken: options.continueToken ?? '' };
    this.listCalls.push(call);
    if (this.listGate) {
      const aborted = new Promise<never>((_resolve, reject) => options.signal.addEventListener('abort', () => reject(options.signal.reason), { once: true }));
      await Promise.race([this.listGate, aborted]);
    }
    try {
      const page = await this.#inner.list(this.redirect.get(target) ?? target, options);
      call.resourceVersion = page.resourceVersion;
      call.nextToken = page.continueToken;
      call.items = page.items.length;
      return page;
    } catch (error) {
      call.error = error;
      throw error;
    }
  }

  async watch(target: string, options: WatchOptions, handlers: WatchHandlers): Promise<void> {
    const sentVersion = options.resourceVersion;
    const call: WatchCall = { path: target, requestedVersion: options.resourceVersion, sentVersion, connected: false, lastVersion: options.resourceVersion, events: 0, bookmarks: [] };
    this.watchCalls.push(call);
    try {
      await this.#inner.watch(
        this.redirect.get(target) ?? target,
        { ...options, resourceVersion: sentVersion },
        {
          onConnected: () => {
            call.connected = true;
            this.openWatches += 1;
            handlers.onConnected();
          },
          onEvent: (type, object) => {
            call.events += 1;
            if (type === 'BOOKMARK') call.bookmarks.push(versionOf(object));
            handlers.onEvent(type, object);
            if (versionOf(object) !== '') call.lastVersion = versionOf(object);
          },
        },
      );
      call.outcome = 'ended';
    } catch (error) {
      call.outcome = 'failed';
      call.error = error;
      throw error;
    } finally {
      if (call.connected) this.openWatches -= 1;
    }
  }
}

/** The real ClusterModel behind a sink that can fail one write or lose one deletion, as a buggy model would. */
class ScriptedSink implements ModelSink {
  readonly model = new ClusterModel();
  /** The next write of this kind throws. */
  failNextWriteOf: ResourceKind | undefined;
  failures = 0;
  /** This deletion is swallowed: the model keeps the object. */
  loseRemovalOf: { kind: ResourceKind; key: string } | undefined;
  lost = 0;

  upsert<K extends ResourceKind>(kind: K, record: RecordByKind[K]): void {
    this.#maybeFail(kind);
    this.model.upsert(kind, record);
  }

  remove(kind: ResourceKind, key: string): void {
    this.#maybeFail(kind);
    if (this.loseRemovalOf?.kind === kind && this.loseRemovalOf.key === key) {
      this.loseRemovalOf = undefined;
      this.lost += 1;
      return;
    }
    this.model.remove(kind, key);
  }

  replaceAll<K extends ResourceKind>(kind: K, records: readonly RecordByKind[K][]): void {
    this.#maybeFail(kind);
    this.model.replaceAll(kind, records);
  }

  setLonghornInstalled(installed: boolean): void {
    this.model.setLonghornInstalled(installed);
  }

  count(kind: ResourceKind): number {
    return this.model.count(kind);
  }

  #maybeFail(kind: ResourceKind): void {
    if (this.failNextWriteOf !== kind) return;
    this.failNextWriteOf = undefined;
    this.failures += 1;
    throw new Error('index corrupted');
  }
}

interface Running {
  readonly set: InformerSet;
  readonly client: RecordingClient;
  readonly sink: ScriptedSink;
  readonly restarts: { resource: string; reason: RestartReason }[];
  restartsOf(resource: string, reason: RestartReason): number;
  allConnected(): boolean;
}

const running: InformerSet[] = [];

function startInformers(options: { via?: TcpProxy; kubeconfig?: string; longhornNamespace?: string; timings?: Partial<InformerTimings>; log?: Logger; client?: RecordingClient; random?: () => number } = {}): Running {
  const timings = { ...FAST, ...options.timings };
  const kubeConfig = kubeConfigVia(options.kubeconfig ?? cluster.kubeconfig, options.via?.url);
  const client = options.client ?? new RecordingClient(new HttpKubeClient(kubeConfig, timings.requestTimeoutMs));
  const sink = new ScriptedSink();
  const restarts: Running['restarts'] = [];
  const set = new InformerSet({
    client,
    sink,
    log: options.log ?? log,
    longhornNamespace: options.longhornNamespace ?? LONGHORN_NS,
    timings,
    random: options.random ?? (() => 0.5),
    onRestart: (resource, reason) => restarts.push({ resource, reason }),
  });
  running.push(set);
  set.start();
  return {
    set,
    client,
    sink,
    restarts,
    restartsOf: (resource, reason) => restarts.filter((restart) => restart.resource === resource && restart.reason === reason).length,
    allConnected: () => set.statuses().every((status) => status.connected),
  };
}

// ----------------------------------------------------------------------------------------------- setup

let proxy: TcpProxy;
let secondServer: Promise<OwnApiServer> | undefined;

beforeAll(async () => {
  cluster = await ensureCluster();
  // Started now, used by the partial-install test near the end: it boots while the others run.
  secondServer = OwnApiServer.start({ prefix: 'inf-e2e-cluster-' });
  secondServer.catch(() => undefined);
  await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: LONGHORN_NS } });
  // For network faults the informers cannot tell from the real thing.
  proxy = await TcpProxy.inFrontOf(cluster.server);
}, 45 * 60_000);

afterAll(async () => {
  await Promise.all(running.map((set) => set.stop()));
  await proxy?.close();
  await (await secondServer?.catch(() => undefined))?.stop();
  if (!cluster) return;
  // The namespace controller deletes what the tests left and then the namespaces.
  await kubectl(['delete', 'namespace', NS, LONGHORN_NS, '--ignore-not-found', '--wait=false']);
}, 60_000);

// Every test leaves the proxy open and its informers stopped.
afterEach(async () => {
  proxy?.restore();
  await Promise.all(running.splice(0).map((set) => set.stop()));
});

// ----------------------------------------------------------------------------------------------- tests

describe('informers: first list', () => {
  it('lists page by page with continue tokens, at one resourceVersion, then watches from it', async () => {
    await apply(...['p-1', 'p-2', 'p-3', 'p-4', 'p-5'].map((name) => pvc(name)));
    const h = startInformers({ timings: { pageSize: 2 } });
    expect(h.set.synced()).toBe(false);
    expect(h.set.staleResources(60_000)).toHaveLength(RESOURCE_KINDS.length);
    await until(() => h.set.synced(), 'first sync');
    expect(claimNames(h.sink.model, 'p-')).toEqual(['p-1', 'p-2', 'p-3', 'p-4', 'p-5']);

    const pages = h.client.listsOf(PVCS);
    const items = pages.reduce((sum, page) => sum + (page.items ?? 0), 0);
    expect(items).toBeGreaterThanOrEqual(5);
    expect(pages).toHaveLength(Math.ceil(items / 2));
    expect(pages[0]!.continueToken).toBe('');
    for (const [i, page] of pages.entries()) {
      expect(page.items).toBeLessThanOrEqual(2);
      // each page continues where the server's previous answer said; the last one has no token
      if (i > 0) expect(page.continueToken).toBe(pages[i - 1]!.nextToken);
      expect(page.nextToken === '').toBe(i === pages.length - 1);
    }
    // every page of one list is served at the resourceVersion of its first page
    expect(new Set(pages.map((page) => page.resourceVersion))).toEqual(new Set([pages[0]!.resourceVersion]));
    await until(() => h.allConnected(), 'every watch connected');
    expect(h.client.watchesOf(PVCS)[0]!.requestedVersion).toBe(pages[0]!.resourceVersion);
    expect(h.set.staleResources(60_000)).toEqual([]);
    // What it read is exactly what the RBAC rules grant (group/resource), Longhorn only in its namespace.
    const used = new Set([...h.client.listCalls, ...h.client.watchCalls].map((call) => call.path));
    const asRule = (collection: string) => {
      const parts = collection.split('/').filter(Boolean);
      return `${parts[0] === 'api' ? '' : parts[1]}/${parts.at(-1)}`;
    };
    expect([...new Set([...used].map(asRule))].sort()).toEqual(MODEL_PERMISSIONS.map((rule) => `${rule.apiGroup}/${rule.resource}`).sort());
    for (const longhorn of [...used].filter((entry) => entry.includes('longhorn.io'))) expect(longhorn).toContain(`/namespaces/${LONGHORN_NS}/`);
  });

  it('retries a failing first list with backoff, then syncs', async () => {
    proxy.cut();
    const h = startInformers({ via: proxy });
    await pause(2_000);
    expect(h.set.synced()).toBe(false);
    const attempts = h.client.listsOf(PVCS);
    expect(attempts.some((call) => call.resourceVersion !== undefined)).toBe(false);
    // every attempt but perhaps one still in flight has failed and been counted
    expect(h.restartsOf('persistentvolumeclaims', 'error')).toBeGreaterThanOrEqual(attempts.length - 1);
    // base 50 ms doubling up to 400 ms, half of each ceiling: ~11 attempts in 2 s (a hot loop would make hundreds)
    expect(attempts.length).toBeGreaterThanOrEqual(4);
    expect(attempts.length).toBeLessThanOrEqual(20);
    expect(h.set.statuses().every((status) => status.consecutiveFailures >= 3)).toBe(true);

    proxy.restore();
    await until(() => h.set.synced(), 'sync once the API server is reachable');
    expect(claimNames(h.sink.model, 'p-')).toEqual(['p-1', 'p-2', 'p-3', 'p-4', 'p-5']);
  });
});

describe('informers: watching', () => {
  it('resumes from the last resourceVersion when the server ends a watch, without listing again; bookmarks move it on', async () => {
    // timeoutSeconds = 4 (3 × 1.5): the server ends every watch after 4 s, with a bookmark 2 s before
    const h = startInformers({ timings: { minWatchTimeoutSeconds: 3 } });
    await until(() => h.set.synced() && h.allConnected(), 'sync');
    const lists = h.client.listCalls.length;

    // Added, modified, deleted: each arrives as a watch event.
    await apply(pvc('w-1'));
    await until(() => h.sink.model.persistentVolumeClaim(NS, 'w-1') !== undefined, 'added');
    await must(kubectl(['label', 'pvc', 'w-1', '-n', NS, 'release=r2']), 'label');
    await until(() => h.sink.model.persistentVolumeClaim(NS, 'w-1')?.labels['release'] === 'r2', 'modified');

    // A Longhorn volume outside the informers' namespace: its resourceVersion reaches the quiet volumes
    // watch of the Longhorn namespace only by a bookmark.
    await apply({ apiVersion: 'longhorn.io/v1beta2', kind: 'Volume', metadata: { name: 'elsewhere', namespace: NS }, spec: { numberOfReplicas: 1 } });
    const written = Number((await must(kubectl(['get', 'volumes.longhorn.io', 'elsewhere', '-n', NS, '-o', 'jsonpath={.metadata.resourceVersion}']), 'get volume')).stdout);
    const volumes = path('longhornVolume');
    const bookmarkedPast = () => h.client.watchesOf(volumes).findIndex((call) => call.bookmarks.some((version) => Number(version) >= written));
    await until(() => bookmarkedPast() >= 0 && h.client.watchesOf(volumes).length > bookmarkedPast() + 1, 'a bookmark past the write, then a re-watch', 20_000);
    await until(() => h.client.watchesOf(PVCS).length >= 3, 'PVC watches ended by the server twice', 20_000);

    await must(kubectl(['delete', 'pvc', 'w-1', '-n', NS]), 'delete');
    await until(() => h.sink.model.persistentVolumeClaim(NS, 'w-1') === undefined, 'deleted');

    expect(h.client.listCalls.length).toBe(lists);
    expect(h.restartsOf('persistentvolumeclaims', 'closed')).toBeGreaterThanOrEqual(2);
    // Every re-watch after a watch the server ended starts where that one stopped.
    for (const kind of RESOURCE_KINDS) {
      const watches = h.client.watchesOf(path(kind));
      for (let i = 1; i < watches.length; i += 1) {
        expect(watches[i - 1]!.outcome).toBe('ended');
        expect(watches[i]!.requestedVersion).toBe(watches[i - 1]!.lastVersion);
      }
    }
    const withBookmark = h.client.watchesOf(volumes)[bookmarkedPast()]!;
    expect(withBookmark.events).toBe(withBookmark.bookmarks.length); // nothing but bookmarks in that namespace
    expect(Number(h.client.watchesOf(volumes)[bookmarkedPast() + 1]!.requestedVersion)).toBeGreaterThanOrEqual(written);
    expect(h.sink.count('longhornVolume')).toBe(0);
  });
  // A 410 from the real API server (watch from a resourceVersion it no longer keeps) is covered in
  // cluster-model.e2e.test.ts after a restart: on a freshly started cluster resourceVersion "1" can still be
  // inside the watch cache, so asking for it here would not reliably expire.

  it('resumes without relisting after a dropped connection when its resourceVersion is still valid', async () => {
    await apply(pvc('d-1'));
    const h = startInformers({ via: proxy });
    await until(() => h.set.synced() && h.allConnected() && h.sink.model.persistentVolumeClaim(NS, 'd-1') !== undefined, 'sync');
    const lists = h.client.listCalls.length;
    const broken = h.client.watchesOf(PVCS).at(-1)!;

    proxy.cut();
    await must(kubectl(['delete', 'pvc', 'd-1', '-n', NS]), 'delete while disconnected');
    proxy.restore();
    await until(() => h.sink.model.persistentVolumeClaim(NS, 'd-1') === undefined, 'deletion replayed');

    expect(h.client.listCalls.length).toBe(lists);
    expect(broken.outcome).toBe('failed');
    expect(h.restartsOf('persistentvolumeclaims', 'error')).toBeGreaterThanOrEqual(1);
    const resumed = h.client.watchesOf(PVCS).find((call) => call !== broken && call.connected)!;
    expect(resumed.requestedVersion).toBe(broken.lastVersion);
    expect(resumed.events).toBeGreaterThanOrEqual(1);
  });

  it('relists when the model rejects a write, so it cannot drift from the server', async () => {
    const h = startInformers();
    await until(() => h.set.synced() && h.allConnected(), 'sync');
    const lists = h.client.listsOf(PVCS).length;
    h.sink.failNextWriteOf = 'persistentVolumeClaim';
    await apply(pvc('f-1'));
    await until(() => h.sink.model.persistentVolumeClaim(NS, 'f-1') !== undefined, 'relisted');
    expect(h.sink.failures).toBe(1);
    expect(h.client.listsOf(PVCS)).toHaveLength(lists + 1);
    expect(h.restartsOf('persistentvolumeclaims', 'error')).toBe(1);
  });
});

describe('informers: watchdog and resync', () => {
  it('restarts a watch that stays silent longer than the stall limit, and replays what it missed', async () => {
    // Watches end every 3 s (2 × 1.5), well inside the 4 s stall limit: a live watch never trips it.
    const h = startInformers({ via: proxy, timings: { minWatchTimeoutSeconds: 2, stallMs: 4_000, requestTimeoutMs: 4_000 } });
    await until(() => h.set.synced() && h.allConnected(), 'sync');
    await pause(4_500);
    expect(h.restarts.filter((restart) => restart.reason === 'stalled')).toEqual([]);
    const lists = h.client.listsOf(PVCS).length;

    proxy.stallConnections();
    const silenced = h.client.watchesOf(PVCS).at(-1)!;
    await apply(pvc('s-1'));
    await until(() => h.restartsOf('persistentvolumeclaims', 'stalled') >= 1, 'stall detected', 15_000);
    await until(() => h.sink.model.persistentVolumeClaim(NS, 's-1') !== undefined, 'event delivered after the restart', 15_000);
    expect(h.client.listsOf(PVCS)).toHaveLength(lists);
    // The silenced watch was aborted by the watchdog; the next one replayed from where it had stopped.
    expect(silenced.outcome).toBe('failed');
    expect(h.restartsOf('persistentvolumeclaims', 'error')).toBe(0);
    const next = h.client.watchesOf(PVCS)[h.client.watchesOf(PVCS).indexOf(silenced) + 1]!;
    expect(next.requestedVersion).toBe(silenced.lastVersion);
  });

  it('keeps a quiet watch (no events, no bookmarks) open: probed, not restarted, not stale, not logged at warn', async () => {
    // Issue 19.6: a resource nobody writes gets no bookmarks until its watch cache saw an event, so its watch is
    // silent for minutes. Stall limit 4 s: the old watchdog restarted such a watch every 4 s here.
    const lines: string[] = [];
    const captured = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const h = startInformers({ via: proxy, timings: { stallMs: 4_000 }, log: captured });
    await until(() => h.set.synced() && h.allConnected(), 'sync');
    const quiet = h.set.informer('longhornReplica');
    const watches = h.client.watchesOf(path('longhornReplica')).length;
    await pause(12_000);
    expect(h.restarts.filter((restart) => restart.reason === 'stalled')).toEqual([]);
    expect(quiet.probes).toBeGreaterThanOrEqual(3);
    // One main watch still open; the other calls were the probes, each ended by the server (one may be in flight
    // at any moment: it ends within its own one-second timeout).
    const open = () => h.client.watchesOf(path('longhornReplica')).slice(watches - 1).filter((call) => call.outcome === undefined);
    await until(() => open().length === 1, 'the probe in flight ended', 5_000);
    expect(open()).toHaveLength(1);
    expect(h.set.staleResources(3_000)).toEqual([]);
    expect(lines.filter((line) => JSON.parse(line).level >= 40)).toEqual([]);
    // The open watch still delivers.
    await apply(pvc('q-1'));
    await until(() => h.sink.model.persistentVolumeClaim(NS, 'q-1') !== undefined, 'event on the quiet watch');
    expect(h.restarts.filter((restart) => restart.reason === 'stalled')).toEqual([]);
  });

  it('restarts a dead watch that nothing writes to once it outlives its server-side timeout', async () => {
    const h = startInformers({ via: proxy, timings: { minWatchTimeoutSeconds: 2, stallMs: 3_000 } });
    await until(() => h.set.synced() && h.allConnected(), 'sync');
    proxy.stallConnections();
    const silenced = h.client.watchesOf(PVCS).at(-1)!;
    // The server's end of the watch (after 3 s) never arrives: the deadline is that plus the stall limit.
    await until(() => h.restartsOf('persistentvolumeclaims', 'stalled') >= 1, 'dead watch restarted', 15_000);
    expect(silenced.outcome).toBe('failed');
  });

  it('relists periodically, repairing an event the model lost', async () => {
    await apply(pvc('r-a'), pvc('r-b'));
    const h = startInformers({ timings: { resyncMs: 4_000 } });
    await until(() => h.set.synced() && h.allConnected() && claimNames(h.sink.model, 'r-').length === 2, 'sync');
    h.sink.loseRemovalOf = { kind: 'persistentVolumeClaim', key: `${NS}/r-a` };
    await must(kubectl(['delete', 'pvc', 'r-a', '-n', NS]), 'delete');
    await until(() => h.sink.lost === 1, 'deletion lost');
    expect(claimNames(h.sink.model, 'r-')).toEqual(['r-a', 'r-b']);

    await until(() => claimNames(h.sink.model, 'r-').join() === 'r-b', 'repaired by the periodic relist', 10_000);
    expect(h.restartsOf('persistentvolumeclaims', 'resync')).toBeGreaterThanOrEqual(1);
  });
});

describe('informers: resources not served', () => {
  it('treats a partial Longhorn install (only the volumes CRD) as installed', { timeout: 150_000 }, async () => {
    const second = await secondServer!;
    const crd = join(paths.crdDir, 'longhorn.io_volumes.yaml');
    await must(kubectl(['apply', '-f', crd], { kubeconfig: second.kubeconfig }), 'apply the volumes CRD');
    await must(kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', crd], { kubeconfig: second.kubeconfig }), 'CRD established');
    const h = startInformers({ kubeconfig: second.kubeconfig, longhornNamespace: 'longhorn-system' });
    await until(() => h.set.synced() && h.sink.model.longhornInstalled, 'synced with Longhorn installed', 30_000);
    const statusOf = (kind: ResourceKind) => h.set.statuses().find((status) => status.kind === kind);
    await until(() => statusOf('longhornVolume')?.present === true, 'volumes served');
    expect(statusOf('longhornReplica')).toMatchObject({ present: false, synced: true });
    expect(statusOf('longhornNode')).toMatchObject({ present: false, synced: true });
    // The absent resource is polled: the newest list may still be in flight. Every answered one was a 404.
    const replicaLists = h.client.listsOf(path('longhornReplica', 'longhorn-system')).filter((call) => call.error !== undefined || call.items !== undefined);
    expect(replicaLists.length).toBeGreaterThanOrEqual(1);
    expect(replicaLists.every((call) => isNotFound(call.error))).toBe(true);
    expect(h.set.staleResources(1_000)).toEqual([]);
  });

  it('keeps a 404 on a core resource an error: it never counts as synced', async () => {
    const client = new RecordingClient(new HttpKubeClient(kubeConfigVia(cluster.kubeconfig), FAST.requestTimeoutMs));
    client.redirect.set(path('pod'), '/apis/unserved.volume-guard.io/v1/pods');
    const h = startInformers({ client });
    await until(() => h.restartsOf('pods', 'error') >= 3, 'pod list retried');
    expect(h.client.listsOf(path('pod')).filter((call) => call.error !== undefined).every((call) => isNotFound(call.error))).toBe(true);
    expect(h.set.synced()).toBe(false);
    expect(h.set.informer('pod').synced).toBe(false);
    expect(h.set.informers.filter((informer) => informer.spec.kind !== 'pod').every((informer) => informer.synced)).toBe(true);
  });
});

describe('informers: health', () => {
  it('does not look stale while a quiet resource relists after a clean end of its watch', async () => {
    const h = startInformers({ timings: { resyncMs: 4_000 } });
    await until(() => h.set.synced() && h.allConnected(), 'sync');
    let release = () => {};
    h.client.listGate = new Promise((resolve) => (release = resolve));
    // ~4 s after the list the periodic relist starts, and its list hangs: the resources went that long
    // without an event, but their watches were alive until the relist began.
    await until(() => h.set.statuses().every((status) => status.phase === 'listing'), 'every informer relisting', 10_000);
    expect(h.restarts.filter((restart) => restart.reason === 'resync')).toHaveLength(RESOURCE_KINDS.length);
    expect(h.restarts.filter((restart) => restart.reason === 'stalled')).toHaveLength(0);
    expect(h.set.staleResources(2_500)).toEqual([]);
    h.client.listGate = undefined;
    release();
    await until(() => h.allConnected(), 'watching again');
  });

  it('through an outage: stale by the age of the last success, one warning and one recovery line per informer', async () => {
    const lines: string[] = [];
    const captured = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const count = (message: string) => lines.filter((line) => line.includes(message)).length;
    const h = startInformers({ via: proxy, log: captured });
    await until(() => h.allConnected() && count('informer synced') === RESOURCE_KINDS.length, 'sync');
    expect(h.set.staleResources(1_000)).toEqual([]);

    // Events are not logged.
    const afterSync = lines.length;
    await apply(...Array.from({ length: 20 }, (_unused, i) => pvc(`l-${i}`)));
    await until(() => claimNames(h.sink.model, 'l-').length === 20, 'events applied');
    expect(lines.slice(afterSync)).toEqual([]);

    proxy.cut();
    const cutAt = Date.now();
    await until(() => h.set.statuses().every((status) => !status.connected), 'disconnected');
    await until(() => h.restartsOf('persistentvolumeclaims', 'error') >= 4, 'retries');
    await pause(Math.max(0, cutAt + 1_500 - Date.now()));
    const stale = h.set.staleResources(1_000);
    expect(stale).toContain('persistentvolumeclaims');
    expect(stale).toContain('volumes.longhorn.io');
    expect(stale).toHaveLength(RESOURCE_KINDS.length);
    expect(h.set.synced()).toBe(true); // once synced, readiness is about staleness, not sync
    expect(count('retrying with backoff')).toBe(RESOURCE_KINDS.length);

    proxy.restore();
    await until(() => h.set.staleResources(1_000).length === 0, 'fresh again');
    await until(() => count('informer recovered') === RESOURCE_KINDS.length, 'recovery lines');
    expect(count('retrying with backoff')).toBe(RESOURCE_KINDS.length);
  });

  it('after an outage, all retry as soon as one reaches the API server again, not when their own backoff runs out', async () => {
    // Real jitter and a long cap, as in production: after a few failures each waits seconds, none in step.
    const h = startInformers({ via: proxy, timings: { backoffBaseMs: 200, backoffCapMs: 20_000 }, random: Math.random });
    await until(() => h.set.synced() && h.allConnected(), 'sync');
    proxy.cut();
    await until(() => h.set.statuses().every((status) => status.consecutiveFailures >= 6), 'six failures each', 30_000);
    proxy.restore();
    await until(() => h.set.statuses().some((status) => status.connected), 'the first one back', 30_000);
    // Without the wake-up the others would come back as their delays (up to 6.4-12.8 s now) run out.
    const rest = await until(() => h.allConnected(), 'all back', 30_000);
    expect(rest, `the last informer came back ${rest} ms after the first`).toBeLessThan(3_000);
    await until(() => h.set.staleResources(1_000).length === 0, 'fresh again');
  });

  it('stops every loop and closes every watch', async () => {
    const h = startInformers({ via: proxy });
    await until(() => h.allConnected() && h.client.openWatches === RESOURCE_KINDS.length, 'watches');
    expect(proxy.connections).toBeGreaterThanOrEqual(RESOURCE_KINDS.length);
    await h.set.stop();
    expect(h.client.openWatches).toBe(0);
    expect(h.set.statuses().every((status) => status.phase === 'stopped')).toBe(true);
    await until(() => proxy.connections === 0, 'every connection to the API server closed', 5_000);
    const calls = h.client.listCalls.length + h.client.watchCalls.length;
    await pause(500);
    expect(h.client.listCalls.length + h.client.watchCalls.length).toBe(calls);
  });
});

describe('startClusterModel', () => {
  it('reports age, object counts and restarts on the registry it is given', async () => {
    const registry = new Registry();
    const kubeConfig = kubeConfigVia(cluster.kubeconfig);
    const client = new RecordingClient(new HttpKubeClient(kubeConfig));
    const sink = new ScriptedSink();
    const model = startClusterModel({
      kubeConfig,
      client,
      sink,
      registry,
      log,
      config: { longhornNamespace: LONGHORN_NS },
      // watches end after 3 s (2 × 1.5 at most): 'closed' restarts happen within the test
      timings: { ...FAST, minWatchTimeoutSeconds: 2 },
    });
    const metric = async (name: string, labels: Record<string, string>) => {
      const found = (await registry.getMetricsAsJSON()).find((entry) => entry.name === name);
      return found?.values.find((entry) => Object.entries(labels).every(([key, value]) => entry.labels[key] === value))?.value;
    };
    try {
      expect(model.health.synced()).toBe(false);
      expect(await registry.metrics()).toContain('volume_guard_model_age_seconds{resource="persistentvolumeclaims"} +Inf');
      await until(() => model.health.synced(), 'sync');
      await apply(pvc('m-1'));
      await until(() => sink.model.persistentVolumeClaim(NS, 'm-1') !== undefined, 'watched');
      await until(async () => (await metric('volume_guard_informer_restarts_total', { resource: 'statefulsets.apps', reason: 'closed' }))! >= 1, 'a watch ended by the server', 10_000);
      await until(async () => (await metric('volume_guard_model_age_seconds', { resource: 'persistentvolumeclaims' })) === 0, 'age 0 while watching');
      const claims = await metric('volume_guard_model_objects', { resource: 'persistentvolumeclaims' });
      expect(claims).toBe(sink.count('persistentVolumeClaim'));
      expect(claims).toBeGreaterThanOrEqual(1);
      expect(await metric('volume_guard_model_objects', { resource: 'volumes.longhorn.io' })).toBe(0);
      expect(await metric('volume_guard_informer_restarts_total', { resource: 'pods', reason: 'expired' })).toBe(0);
      expect(client.listCalls.length).toBeGreaterThanOrEqual(RESOURCE_KINDS.length); // it read through the client given
    } finally {
      await model.stop();
    }
  });
});

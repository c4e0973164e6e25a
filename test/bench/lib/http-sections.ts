// Sections 1 (floor) and 2 (scale): volume-guard served from a synthetic cluster model at each size, in a child
// process, next to the bare HTTPS floor; every case is sent by autocannon to both, one right after the other.

import { setTimeout as sleep } from 'node:timers/promises';
import { LOG_FLUSH_DELAY_MS } from '../../../src/logging.ts';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority } from '../../../src/server/selfsigned.ts';
import { startServerChild, type ReadyMessage, type ServerChild } from './children.ts';
import { admissionUrl } from './cases.ts';
import { runLoad, type LoadResult } from './load.ts';
import { histogramDelta, scrapeHistogram, serverLatency, type ServerLatency } from './metrics-scrape.ts';
import type { KindEventCost } from './events.ts';
import type { CaseResult, ClusterSize, KindBytes, KindInsert, MemoryFigures } from './protocol.ts';

/** Objects per kind that get each watch event in the event-cost measurement (fewer when the kind has fewer). */
const EVENTS_PER_KIND = 2000;
import { ratio, round, type LatencySummary } from './stats.ts';

export interface HttpSectionOptions {
  readonly sizes: readonly ClusterSize[];
  /** The size whose server is compared with the floor; undefined: no floor comparison. */
  readonly floorSize: ClusterSize | undefined;
  /** Time each case in-process (scale section). */
  readonly inProcess: { readonly maxIterations: number; readonly budgetMs: number } | undefined;
  /** Load runs over HTTP; undefined: in-process figures only. */
  readonly load: { readonly connections: number; readonly durationSeconds: number; readonly warmupSeconds: number } | undefined;
  /** Only cases whose id starts with one of these (all when empty). */
  readonly caseFilter: readonly string[];
  readonly logLevel: string;
  readonly log: (line: string) => void;
  /** Measure each kind's watch event cost and heap after the load (default true; test/bench/variants.ts skips them). */
  readonly modelFigures?: boolean;
}

/** One load run against one server, with that server's CPU time per request. */
export interface ServerRun extends LoadResult {
  /** Server process CPU time (user + system, all threads) per completed request, µs. */
  readonly serverCpuMicrosPerRequest: number;
}

export interface HttpCaseFigures extends CaseResult {
  readonly http?: {
    /** Saturation: `connections` clients sending back to back (throughput, CPU per request). */
    readonly guard: ServerRun;
    /** The floor: the minimal correct webhook (node:https, JSON.parse, request.uid check) on the same body. */
    readonly floor?: ServerRun;
    /** The parse-nothing node:https server (reads the body, answers a constant): a reference below the floor. */
    readonly parseNothingFloor?: ServerRun;
    /** Fastify alone (same options, constant answer): the framework's share. */
    readonly fastifyFloor?: ServerRun;
    /** guard requests/s over the minimal-correct floor's (wall clock: skewed by whatever else runs on the machine). */
    readonly throughputRatio?: number;
    /** guard requests/s over the parse-nothing server's (the first round's floor). */
    readonly throughputRatioParseNothing?: number;
    /** floor CPU per request over guard CPU per request: the throughput ratio of a CPU-bound server. */
    readonly cpuRatio?: number;
    /** The server histogram during the saturation run: mostly time queued behind the other clients' requests. */
    readonly saturatedServer: ServerLatency;
    /** One client, requests back to back: what each request costs when it does not queue. */
    readonly unloaded: {
      readonly guard: LoadResult;
      readonly floor?: LoadResult;
      /** volume_guard_admission_duration_seconds (Fastify onRequest to response sent). */
      readonly server: ServerLatency;
      /** The same duration, exact, from volume-guard's own admission log lines (durationMs), when it logs them. */
      readonly serverExact?: LatencySummary;
      /**
       * The collections the server ran during the one-client run, per 100 requests: what a request allocates in the
       * server (HTTP, Fastify, log line and metrics too) against the young generation's size.
       */
      readonly serverCollections?: { readonly perHundredRequests: number; readonly scavenges: number; readonly markCompacts: number; readonly meanPauseMicros: number };
    };
  };
}

export interface SizeFigures {
  readonly size: ClusterSize;
  readonly counts: Readonly<Record<string, number>>;
  /** Generating the synthetic records and inserting them into the model (replaceAll, indexes, volume sets), and the first flush. */
  readonly buildMs: number;
  /** replaceAll through the risk tracker's sink alone: what the informers' first lists cost the model (records given). */
  readonly modelInsertMs: number;
  /** The risk tracker's first flush after those lists: part of the model build, as in the pod. */
  readonly firstFlushMs?: number;
  /** replaceAll per kind (the informers' first lists), with µs per object. */
  readonly insertByKind?: readonly KindInsert[];
  /** Heap retained by the filled model (heap used after full GCs, minus before the build). */
  readonly modelHeapBytes: number;
  readonly memoryAfterBuild: MemoryFigures;
  readonly memoryAfterLoad?: MemoryFigures;
  /** The V8 flags the server set at start, as `volume-guard serve` does (src/server/v8-flags.ts). */
  readonly v8Flags?: readonly string[];
  /**
   * µs per watch event of each kind (modify, unchanged copy, delete, add) applied to the built model after the load
   * runs: each informer's event handling past its transform.
   */
  readonly eventCost?: readonly KindEventCost[];
  /** Heap the model holds per kind, and per object of that kind (measured last, emptying the model). */
  readonly kindBytes?: readonly KindBytes[];
  readonly servedTargets: readonly string[];
  readonly cases: readonly HttpCaseFigures[];
}

export interface HttpSectionResult {
  readonly sizes: readonly SizeFigures[];
  readonly load?: { readonly connections: number; readonly durationSeconds: number; readonly pipelining: 1 };
  readonly floorSize?: ClusterSize;
}

async function tlsFiles(dir: string): Promise<{ certFile: string; keyFile: string; caPem: string }> {
  const ca = await createCertificateAuthority();
  const leaf = await ca.issue({ ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  await writeFile(certFile, leaf.certPem);
  await writeFile(keyFile, leaf.keyPem, { mode: 0o600 });
  return { certFile, keyFile, caPem: ca.certPem };
}

function selected(caseId: string, filter: readonly string[]): boolean {
  return filter.length === 0 || filter.some((prefix) => caseId.startsWith(prefix));
}

export async function runHttpSections(options: HttpSectionOptions): Promise<HttpSectionResult> {
  const dir = join(tmpdir(), `volume-guard-bench-${process.pid}`);
  await mkdir(dir, { recursive: true });
  const children: ServerChild[] = [];
  try {
    const tls = await tlsFiles(dir);
    const load = options.load;
    let floor: ServerChild | undefined;
    let fastifyFloor: ServerChild | undefined;
    let parseNothingFloor: ServerChild | undefined;
    if (options.floorSize !== undefined && load) {
      floor = await startServerChild({ mode: 'floor', certFile: tls.certFile, keyFile: tls.keyFile });
      children.push(floor);
      parseNothingFloor = await startServerChild({ mode: 'parse-nothing-floor', certFile: tls.certFile, keyFile: tls.keyFile });
      children.push(parseNothingFloor);
      fastifyFloor = await startServerChild({ mode: 'fastify-floor', certFile: tls.certFile, keyFile: tls.keyFile });
      children.push(fastifyFloor);
    }
    const sizes: SizeFigures[] = [];
    for (const size of options.sizes) {
      options.log(`[serve] ${size}: building the model and timing cases in-process…`);
      const guard = await startServerChild({
        mode: 'guard',
        size,
        certFile: tls.certFile,
        keyFile: tls.keyFile,
        // Log lines through a pipe to this process: a log file's page cache would count in the child's memory cgroup.
        logToParent: true,
        logLevel: options.logLevel,
        caseFilter: options.caseFilter,
        ...(options.inProcess ? { inProcess: options.inProcess } : {}),
      });
      children.push(guard);
      const ready: ReadyMessage = guard.ready;
      const build = ready.build!;
      options.log(`[serve] ${size}: model of ${Object.values(build.counts).reduce((sum: number, value: number) => sum + value, 0)} objects built in ${build.totalMs} ms`);
      const cases: HttpCaseFigures[] = [];
      for (const result of ready.cases ?? []) {
        if (!selected(result.id, options.caseFilter)) continue;
        const { body, ...figures } = result;
        if (!load) {
          cases.push(figures);
          continue;
        }
        const guardUrl = admissionUrl(ready.port, result.target);
        const opsUrl = `http://127.0.0.1:${ready.opsPort}`;
        const floors = floor && fastifyFloor && parseNothingFloor && size === options.floorSize ? { floor, fastifyFloor, parseNothingFloor } : undefined;
        const urlOf = (child: ServerChild) => admissionUrl(child.ready.port, result.target);
        const measure = async (child: ServerChild, url: string): Promise<ServerRun> => {
          const cpuBefore = await child.cpuMicros();
          const run = await runLoad({ url, body, connections: load.connections, durationSeconds: load.durationSeconds });
          const cpu = (await child.cpuMicros()) - cpuBefore;
          return { ...run, serverCpuMicrosPerRequest: round(cpu / Math.max(1, run.requests)) };
        };
        // Warm every server up on this body (JIT, keep-alive connections), then measure them back to back.
        const warm = (url: string) => runLoad({ url, body, connections: load.connections, durationSeconds: load.warmupSeconds });
        await warm(guardUrl);
        if (floors) {
          await warm(urlOf(floors.floor));
          await warm(urlOf(floors.fastifyFloor));
          await warm(urlOf(floors.parseNothingFloor));
        }
        const before = await scrapeHistogram(opsUrl, result.target);
        const guardRun = await measure(guard, guardUrl);
        const saturatedServer = serverLatency(histogramDelta(before, await scrapeHistogram(opsUrl, result.target)));
        const floorRun = floors ? await measure(floors.floor, urlOf(floors.floor)) : undefined;
        const fastifyRun = floors ? await measure(floors.fastifyFloor, urlOf(floors.fastifyFloor)) : undefined;
        const parseNothingRun = floors ? await measure(floors.parseNothingFloor, urlOf(floors.parseNothingFloor)) : undefined;
        // Unloaded: one client, so a request never waits behind another in the server. Warmed up at one client
        // first: what the saturated run left (records still queued, manifest workers replaced after a deadline and
        // starting again) is the saturated run's, not one client's latency.
        const single = (url: string) => runLoad({ url, body, connections: 1, durationSeconds: load.durationSeconds });
        await runLoad({ url: guardUrl, body, connections: 1, durationSeconds: load.warmupSeconds });
        await sleep(LOG_FLUSH_DELAY_MS * 3);
        guard.admissionLog?.mark();
        const unloadedBefore = await scrapeHistogram(opsUrl, result.target);
        const collectionsBefore = await guard.collections();
        const unloadedGuard = await single(guardUrl);
        const collectionsAfter = await guard.collections();
        const unloadedServer = serverLatency(histogramDelta(unloadedBefore, await scrapeHistogram(opsUrl, result.target)));
        const scavenges = collectionsAfter.scavenges - collectionsBefore.scavenges;
        const markCompacts = collectionsAfter.markCompacts - collectionsBefore.markCompacts;
        const serverCollections = {
          perHundredRequests: round(((scavenges + markCompacts) * 100) / Math.max(1, unloadedGuard.requests)),
          scavenges,
          markCompacts,
          meanPauseMicros: round(((collectionsAfter.pauseMs - collectionsBefore.pauseMs) * 1000) / Math.max(1, scavenges + markCompacts)),
        };
        // The server writes its log lines at most LOG_FLUSH_DELAY_MS late (LineBatcher).
        await sleep(LOG_FLUSH_DELAY_MS * 3);
        const serverExact = guard.admissionLog?.durations(result.target);
        const unloadedFloor = floors ? await single(urlOf(floors.floor)) : undefined;
        options.log(
          `[serve] ${size} ${result.id}: ${guardRun.requestsPerSecond} req/s, ${guardRun.serverCpuMicrosPerRequest} µs CPU/request` +
            (floorRun && fastifyRun && parseNothingRun
              ? ` (floor ${floorRun.requestsPerSecond} req/s, ${floorRun.serverCpuMicrosPerRequest} µs; Fastify ${fastifyRun.requestsPerSecond} req/s, ${fastifyRun.serverCpuMicrosPerRequest} µs; parse-nothing ${parseNothingRun.requestsPerSecond} req/s, ${parseNothingRun.serverCpuMicrosPerRequest} µs)`
              : '') +
            `; one client: server p50/p99 ${serverExact?.p50 ?? unloadedServer.p50Micros}/${serverExact?.p99 ?? unloadedServer.p99Micros} µs`,
        );
        cases.push({
          ...figures,
          http: {
            guard: guardRun,
            ...(floorRun && fastifyRun && parseNothingRun
              ? {
                  floor: floorRun,
                  fastifyFloor: fastifyRun,
                  parseNothingFloor: parseNothingRun,
                  throughputRatio: ratio(guardRun.requestsPerSecond, floorRun.requestsPerSecond),
                  throughputRatioParseNothing: ratio(guardRun.requestsPerSecond, parseNothingRun.requestsPerSecond),
                  cpuRatio: ratio(floorRun.serverCpuMicrosPerRequest, guardRun.serverCpuMicrosPerRequest),
                }
              : {}),
            saturatedServer,
            unloaded: {
              guard: unloadedGuard,
              ...(unloadedFloor ? { floor: unloadedFloor } : {}),
              server: unloadedServer,
              ...(serverExact ? { serverExact } : {}),
              serverCollections,
            },
          },
        });
      }
      const memoryAfterLoad = load ? await guard.memory() : undefined;
      const modelFigures = options.modelFigures !== false;
      if (modelFigures) options.log(`[serve] ${size}: watch event cost per kind…`);
      const eventCost = modelFigures ? await guard.eventCost(EVENTS_PER_KIND) : undefined;
      if (modelFigures) options.log(`[serve] ${size}: heap per kind (emptying the model kind by kind)…`);
      const kindBytes = modelFigures ? await guard.kindBytes() : undefined;
      await guard.stop();
      sizes.push({
        size,
        counts: build.counts,
        buildMs: build.totalMs,
        modelInsertMs: build.modelInsertMs,
        firstFlushMs: build.firstFlushMs,
        insertByKind: build.insertByKind,
        modelHeapBytes: build.modelHeapBytes,
        memoryAfterBuild: ready.memoryAfterBuild!,
        ...(ready.v8Flags ? { v8Flags: ready.v8Flags } : {}),
        servedTargets: ready.servedTargets ?? [],
        ...(memoryAfterLoad ? { memoryAfterLoad } : {}),
        ...(eventCost ? { eventCost } : {}),
        ...(kindBytes ? { kindBytes } : {}),
        cases,
      });
    }
    return {
      sizes,
      ...(load ? { load: { connections: load.connections, durationSeconds: load.durationSeconds, pipelining: 1 as const } } : {}),
      ...(options.floorSize !== undefined && load ? { floorSize: options.floorSize } : {}),
    };
  } finally {
    await Promise.allSettled(children.map((child) => child.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

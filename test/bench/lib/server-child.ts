// One server under test, in its own process (so its RSS is its own and the load generator does not share its
// event loop). Started by the benchmark with fork(): `node --expose-gc server-child.ts '<ChildOptions JSON>'`.
//
// guard: fills a ClusterModel with a synthetic cluster (timed) through the risk tracker's sink, as the pod's informers
// write (createRiskTrackedModel: the pod's own construction, its flusher running), times each case in-process, then
// serves it with startServer() exactly as `volume-guard serve` does (real validators, metrics, logging), on loopback.
// floor: the bare HTTPS server.

import { readFileSync } from 'node:fs';
import { constants as perfConstants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { GCProfiler, getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { pino } from 'pino';
import { VALIDATOR_FACTORIES } from '../../../src/admission/index.ts';
import { createRegistry } from '../../../src/admission/registry.ts';
import type { Decision } from '../../../src/admission/types.ts';
import type { ValidationContext, Validator } from '../../../src/admission/validator.ts';
import { loadConfig } from '../../../src/config.ts';
import { createLogger, LineBatcher, LOG_LEVELS, type LogLevel } from '../../../src/logging.ts';
import { decodeAdmissionReviewBody, encodeAdmissionResponse } from '../../../src/server/codec.ts';
import { ALWAYS_SYNCED } from '../../support/empty-model.ts';
import { createMetrics } from '../../../src/server/metrics.ts';
import { startServer } from '../../../src/server/serve.ts';
import { createRiskTrackedModel } from '../../../src/server/cluster-dependencies.ts';
import { applyServeV8Flags } from '../../../src/server/v8-flags.ts';
import { syntheticCluster, type HelmReleaseRef } from '../../support/fixtures.ts';
import { buildCases, LEFTOVER_RELEASE } from './cases.ts';
import { measureEventCosts } from './events.ts';
import { bytesPerKind } from './kind-bytes.ts';
import { startFastifyFloorServer, startFloorServer } from './floor-server.ts';
import { CLUSTER_SIZES, type CaseResult, type ChildMessage, type ChildOptions, type InProcessFigures, type MemoryFigures, type ParentMessage } from './protocol.ts';
import { cgroupPeakBytes, peakRssBytes } from './memory-limit.ts';
import { summarize } from './stats.ts';
import { timedSink } from './timed-sink.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;

/**
 * The collections the server ran once serving, for those a load run met (the in-process loop keeps its own account).
 * Observed from then on only: an observer watching the model's build (hundreds of collections) made the first
 * in-process case meet 8-12 mark-compacts.
 */
const collected = { scavenges: 0, markCompacts: 0, pauseMs: 0 };
function countCollections(): void {
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) collected.scavenges++;
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) collected.markCompacts++;
      collected.pauseMs += entry.duration;
    }
  }).observe({ entryTypes: ['gc'] });
}
const gc = (globalThis as { gc?: () => void }).gc;

function send(message: ChildMessage): void {
  process.send?.(message);
}

function optional<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}

function memory(): MemoryFigures {
  if (gc) for (let i = 0; i < 4; i++) gc();
  const usage = process.memoryUsage();
  return { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed, heapTotalBytes: usage.heapTotal, externalBytes: usage.external, maxRssBytes: peakRssBytes(), heapLimitBytes: getHeapStatistics().heap_size_limit, ...optional('cgroupPeakBytes', cgroupPeakBytes()) };
}

/** Heap used after full collections (needs --expose-gc to be exact). */
function heapAfterGc(): number {
  if (gc) for (let i = 0; i < 2; i++) gc();
  return process.memoryUsage().heapUsed;
}

function decisionOf(decision: Decision): CaseResult['decision'] {
  if (decision.allowed) return 'allowed';
  return decision.status?.code === 403 ? 'denied' : 'errored';
}

function messageOf(decision: Decision): string {
  const text = decision.allowed ? (decision.warnings ?? []).join(' | ') : (decision.status?.message ?? '');
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

function cpuNow(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/**
 * Decode + handle + encode, as the admission route does, timed per request: wall clock with hrtime, and process
 * CPU time (µs resolution), which leaves out the time the machine's scheduler gave to other processes.
 */
async function timeInProcess(validator: Validator, body: Buffer, context: () => ValidationContext, limits: NonNullable<ChildOptions['inProcess']>): Promise<InProcessFigures> {
  type Stamps = [bigint, bigint, bigint, bigint];
  const encode = (request: { readonly uid: string }, decision: Decision, t0: bigint, t1: bigint): Stamps => {
    const t2 = process.hrtime.bigint();
    JSON.stringify(encodeAdmissionResponse(request.uid, decision));
    return [t0, t1, t2, process.hrtime.bigint()];
  };
  // A validator that works off the event loop (Helm releases: manifest workers) is timed as the server runs it;
  // the others synchronously, back to back.
  const handleAsync = validator.handleAsync?.bind(validator);
  const once = (): Stamps | Promise<Stamps> => {
    const t0 = process.hrtime.bigint();
    const decoded = decodeAdmissionReviewBody(body, validator.elide);
    if (!decoded.ok) throw new Error(`case body rejected: ${decoded.reason}`);
    const request = decoded.request;
    const t1 = process.hrtime.bigint();
    if (!handleAsync) return encode(request, validator.handle(request, context()), t0, t1);
    return handleAsync(request, context()).then((decision) => encode(request, decision, t0, t1));
  };
  // Warm-up: let V8 optimise the path, as a long-running server would have.
  const warmupDeadline = performance.now() + Math.min(500, limits.budgetMs / 4);
  for (let i = 0; i < 200 && performance.now() < warmupDeadline; i++) {
    const result = once();
    if (result instanceof Promise) await result;
  }
  // Preallocated: arrays growing as the loop runs would put their own copies in the young generation, which each
  // scavenge would copy with the requests' survivors (up to ~100 KB with 16 MiB semi-spaces).
  const totalsAt = new Float64Array(limits.maxIterations);
  const handlesAt = new Float64Array(limits.maxIterations);
  const cpusAt = new Float64Array(limits.maxIterations);
  // Each request's span on the performance timeline, to tell the requests a collection ran in.
  const spansAt = new Float64Array(2 * limits.maxIterations);
  let count = 0;
  const collections: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => collections.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  const oldBefore = oldGenerationUsed();
  const profiler = new GCProfiler();
  profiler.start();
  const deadline = performance.now() + limits.budgetMs;
  const cpuStart = cpuNow();
  let cpuBefore = cpuStart;
  while (count < limits.maxIterations && (count < 30 || performance.now() < deadline)) {
    const start = performance.now();
    const result = once();
    const [t0, t1, t2, t3] = result instanceof Promise ? await result : result;
    const cpuAfter = cpuNow();
    spansAt[2 * count] = start;
    spansAt[2 * count + 1] = performance.now();
    totalsAt[count] = Number(t3 - t0) / 1000;
    handlesAt[count] = Number(t2 - t1) / 1000;
    cpusAt[count] = cpuAfter - cpuBefore;
    cpuBefore = cpuAfter;
    count++;
  }
  const oldAfter = oldGenerationUsed();
  const semiSpaceBytes = semiSpaceSize();
  const scavengeSurvivedBytes = survivedPerScavenge(profiler.stop());
  const taken = (samples: Float64Array, length: number): number[] => Array.from(samples.subarray(0, length));
  const totals = taken(totalsAt, count);
  const handles = taken(handlesAt, count);
  const cpus = taken(cpusAt, count);
  const spans = taken(spansAt, 2 * count);
  // Node queues the collections' entries on the next turns of the event loop.
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 10));
  collections.push(...observer.takeRecords());
  observer.disconnect();
  return {
    iterations: totals.length,
    total: summarize(totals),
    handle: summarize(handles),
    cpu: summarize(cpus),
    cpuMicrosPerRequest: Math.round(((cpuBefore - cpuStart) / totals.length) * 10) / 10,
    gc: {
      ...gcFigures(collections, spans, totals),
      semiSpaceBytes,
      ...(scavengeSurvivedBytes === undefined ? {} : { scavengeSurvivedBytes }),
      ...(collections.some((entry) => kindOf(entry) === perfConstants.NODE_PERFORMANCE_GC_MAJOR)
        ? {}
        : { oldGenerationBytesPerRequest: Math.round((oldAfter - oldBefore) / totals.length) }),
    },
  };
}

const kindOf = (entry: PerformanceEntry) => (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;

/** Bytes used in V8's heap outside the young generation (old, code, large-object spaces...). */
function oldGenerationUsed(): number {
  let used = 0;
  for (const space of getHeapSpaceStatistics()) if (space.space_name !== 'new_space' && space.space_name !== 'new_large_object_space') used += space.space_used_size;
  return used;
}

type GCProfile = NonNullable<ReturnType<GCProfiler['stop']>>;

/**
 * Bytes a scavenge copied, on average: what the young generation held after it (the survivors, copied within it)
 * plus the old generation's growth during it (promoted). A scavenge's pause grows with this; unlike the pause, it
 * does not depend on what else the machine runs.
 */
function survivedPerScavenge(profile: GCProfile | undefined): number | undefined {
  const used = (spaces: GCProfile['statistics'][number]['afterGC']['heapSpaceStatistics'], name: string) =>
    spaces.find((space) => space.spaceName === name)?.spaceUsedSize ?? 0;
  const scavenges = (profile?.statistics ?? []).filter((entry) => entry.gcType === 'Scavenge');
  if (scavenges.length === 0) return undefined;
  let total = 0;
  for (const { beforeGC, afterGC } of scavenges) {
    const before = beforeGC.heapSpaceStatistics;
    const after = afterGC.heapSpaceStatistics;
    total += used(after, 'new_space') + used(after, 'new_large_object_space') + Math.max(0, used(after, 'old_space') - used(before, 'old_space'));
  }
  return Math.round(total / scavenges.length);
}

/** One semi-space's size: the young generation's new_space holds two. */
function semiSpaceSize(): number {
  return (getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0) / 2;
}

function gcFigures(collections: readonly PerformanceEntry[], spans: readonly number[], totals: readonly number[]): NonNullable<InProcessFigures['gc']> {
  const scavenges = collections.filter((entry) => kindOf(entry) === perfConstants.NODE_PERFORMANCE_GC_MINOR).length;
  const markCompacts = collections.filter((entry) => kindOf(entry) === perfConstants.NODE_PERFORMANCE_GC_MAJOR).length;
  const clean: number[] = [];
  let next = 0;
  const sorted = [...collections].sort((a, b) => a.startTime - b.startTime);
  for (let index = 0; index < totals.length; index++) {
    const start = spans[2 * index]!;
    const end = spans[2 * index + 1]!;
    while (next < sorted.length && sorted[next]!.startTime + sorted[next]!.duration < start) next++;
    const met = next < sorted.length && sorted[next]!.startTime <= end;
    if (!met) clean.push(totals[index]!);
  }
  return {
    scavenges,
    markCompacts,
    pauseMs: Math.round(collections.reduce((sum, entry) => sum + entry.duration, 0) * 100) / 100,
    perHundredRequests: Math.round((collections.length / Math.max(1, totals.length)) * 10_000) / 100,
    totalWithoutGc: summarize(clean.length > 0 ? clean : [...totals]),
  };
}

async function runGuard(): Promise<void> {
  // What `volume-guard serve` sets first (its V8 flags), unless the run measures V8's defaults against it.
  const v8Flags = options.v8Defaults === true ? [] : applyServeV8Flags();
  const size = options.size ?? 'small';
  const config = loadConfig({
    env: {
      VOLUME_GUARD_ADMISSION_PORT: '0',
      VOLUME_GUARD_OPS_PORT: '0',
      VOLUME_GUARD_ADMISSION_HOST: '127.0.0.1',
      VOLUME_GUARD_OPS_HOST: '127.0.0.1',
      VOLUME_GUARD_ADMISSION_TLS_CERT_FILE: options.certFile,
      VOLUME_GUARD_ADMISSION_TLS_KEY_FILE: options.keyFile,
      VOLUME_GUARD_SHUTDOWN_DRAIN_DELAY_MS: '0',
      ...(options.clientCaFile ? { VOLUME_GUARD_ADMISSION_TLS_CLIENT_CA_FILE: options.clientCaFile } : {}),
    },
  });

  // The model, filled as the informers' first lists fill it, through the risk tracker's sink as in the pod (the
  // tracker's gauges on the server's metrics registry, its flusher started); insert time measured apart from
  // generating the records.
  const metrics = createMetrics();
  const heapBefore = memory().heapUsedBytes;
  const tracked = createRiskTrackedModel(config, metrics.registry);
  const { model, sink } = tracked;
  let insertMs = 0;
  const insertByKind: Record<string, { count: number; ms: number }> = {};
  const timed = timedSink(sink, (kind, records, took) => {
    insertMs += took;
    const entry = (insertByKind[kind] ??= { count: 0, ms: 0 });
    entry.count += records;
    entry.ms += took;
  });
  const buildStart = performance.now();
  const summary = syntheticCluster(timed, CLUSTER_SIZES[size]);
  const leftover: HelmReleaseRef = { namespace: summary.releases[0]?.namespace ?? 'ns-0', ...LEFTOVER_RELEASE };
  for (let ordinal = 0; ordinal < leftover.replicas; ordinal++) {
    const name = `data-${leftover.statefulSet}-${ordinal}`;
    sink.upsert('persistentVolumeClaim', {
      namespace: leftover.namespace,
      name,
      uid: `uid-${name}`,
      volumeName: `pv-${name}`,
      phase: 'Bound',
      storageClassName: 'longhorn',
      labels: { 'app.kubernetes.io/instance': leftover.name, 'app.kubernetes.io/name': 'db' },
      annotations: {},
      ownerReferences: [],
      creationTimestamp: '2025-01-01T00:00:00Z',
      deleting: false,
    });
  }
  // The tracker's first flush: evaluating every node and namespace the lists marked, which the pod's flusher does in
  // 2 ms slices right after (synchronously here: nothing else runs yet). Part of the build.
  const flushStart = performance.now();
  tracked.risks.flush();
  const firstFlushMs = performance.now() - flushStart;
  const totalMs = performance.now() - buildStart;
  const memoryAfterBuild = memory();

  const registry = createRegistry(config, VALIDATOR_FACTORIES);
  const filter = options.caseFilter ?? [];
  const cases = buildCases(summary, { helm: registry.get('helm-release') !== undefined, leftoverRelease: leftover }).filter(
    (benchCase) => filter.length === 0 || filter.some((prefix) => benchCase.id.startsWith(prefix)),
  );
  const silent = pino({ level: 'silent' });
  const context = (): ValidationContext => ({
    snapshot: model,
    health: ALWAYS_SYNCED,
    config,
    now: Date.now(),
    log: silent,
    onOverride: () => undefined,
    removing: () => undefined,
    cordoning: () => undefined,
  });
  const results: (CaseResult & { body: string })[] = [];
  for (const benchCase of cases) {
    const validator = registry.get(benchCase.target);
    if (!validator) continue;
    const body = Buffer.from(benchCase.body);
    const decoded = decodeAdmissionReviewBody(body, validator.elide);
    if (!decoded.ok) throw new Error(`case ${benchCase.id}: body rejected: ${decoded.reason}`);
    const decision = validator.handleAsync ? await validator.handleAsync(decoded.request, context()) : validator.handle(decoded.request, context());
    const node = benchCase.target === 'node-cordon' ? decoded.request.name : undefined;
    results.push({
      ...(node === undefined
        ? {}
        : { involved: { replicasOnNode: model.replicasOnNode(node).length, pinnedPersistentVolumes: model.persistentVolumesPinnedTo(node).length } }),
      id: benchCase.id,
      target: benchCase.target,
      intent: benchCase.intent,
      description: benchCase.description,
      bodyBytes: body.length,
      decision: decisionOf(decision),
      message: messageOf(decision),
      ...(options.inProcess ? { inProcess: await timeInProcess(validator, body, context, options.inProcess) } : {}),
      body: benchCase.body,
    });
  }

  if (options.floorWithModel === true) {
    const floor = await startFloorServer({ certPem: readFileSync(options.certFile, 'utf8'), keyPem: readFileSync(options.keyFile, 'utf8') });
    process.on('message', (message: ParentMessage) => {
      if (message.type === 'memory') send({ type: 'memory', memory: memory() });
      if (message.type === 'cpu') send({ type: 'cpu', micros: cpuNow() });
      if (message.type === 'stop') void floor.close().then(() => process.exit(0));
    });
    // The model stays reachable while the floor serves.
    process.once('exit', () => model.count('node'));
    send({ type: 'ready', port: floor.port, pid: process.pid, cases: results, v8Flags });
    return;
  }
  const level = (LOG_LEVELS as readonly string[]).includes(options.logLevel ?? '') ? (options.logLevel as LogLevel) : 'info';
  // As in production (createLogger's default): synchronous writes, a turn of the event loop at a time.
  const destination = options.logFile
    ? pino.destination({ dest: options.logFile, sync: true })
    : pino.destination(options.logToParent === true ? { dest: 1, sync: true } : '/dev/null');
  const log = createLogger(level, new LineBatcher(destination));
  countCollections();
  const running = await startServer({
    config,
    log,
    metrics,
    dependencies: { snapshot: model, health: ALWAYS_SYNCED, registry },
  });
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'memory') send({ type: 'memory', memory: memory() });
    if (message.type === 'cpu') send({ type: 'cpu', micros: cpuNow() });
    if (message.type === 'collections') send({ type: 'collections', ...collected });
    // Destructive: the model is emptied kind by kind (asked for last, before 'stop').
    if (message.type === 'eventCost') send({ type: 'eventCost', kinds: measureEventCosts(model, message.perKind, { sink, flush: () => tracked.risks.flush() }) });
    if (message.type === 'kindBytes') send({ type: 'kindBytes', kinds: bytesPerKind(tracked, heapAfterGc) });
    if (message.type === 'stop') void running.stop('benchmark done').then(() => process.exit(0));
  });
  send({
    type: 'ready',
    port: running.admissionAddress.port,
    opsPort: running.opsAddress.port,
    pid: process.pid,
    build: {
      totalMs: Math.round(totalMs),
      modelInsertMs: Math.round(insertMs),
      firstFlushMs: Math.round(firstFlushMs),
      counts: summary.counts,
      modelHeapBytes: memoryAfterBuild.heapUsedBytes - heapBefore,
      insertByKind: Object.entries(insertByKind).map(([kind, entry]) => ({
        kind,
        count: entry.count,
        ms: Math.round(entry.ms * 10) / 10,
        microsPerObject: entry.count > 0 ? Math.round((entry.ms * 1000 * 100) / entry.count) / 100 : 0,
      })),
    },
    memoryAfterBuild,
    servedTargets: registry.targets(),
    cases: results,
    v8Flags,
  });
}

async function runFloor(): Promise<void> {
  const tls = { certPem: readFileSync(options.certFile, 'utf8'), keyPem: readFileSync(options.keyFile, 'utf8') };
  const floor =
    options.mode === 'fastify-floor'
      ? await startFastifyFloorServer(tls)
      : await startFloorServer(tls, options.mode === 'parse-nothing-floor' ? 'parse-nothing' : 'minimal-correct');
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'memory') send({ type: 'memory', memory: memory() });
    if (message.type === 'cpu') send({ type: 'cpu', micros: cpuNow() });
    if (message.type === 'stop') void floor.close().then(() => process.exit(0));
  });
  send({ type: 'ready', port: floor.port, pid: process.pid });
}

// The parent going away ends the child too: the benchmark must never leave servers behind.
process.on('disconnect', () => process.exit(0));
(options.mode === 'guard' ? runGuard() : runFloor()).catch((error: unknown) => {
  send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100);
});

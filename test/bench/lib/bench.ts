// The benchmark as a function: options in, one JSON-ready report out. run.ts is its command line; the smoke test
// calls it with a tiny configuration.

import { chartNodeSettings, currentChildEnv, currentChildNodeFlags, memoryLimitFor, memoryLimitsUsed } from './children.ts';
import type { MemoryLimit } from './memory-limit.ts';
import { describeMachine, type MachineFigures } from './machine.ts';
import { runE2e, type E2eResult } from './e2e.ts';
import { runHttpSections, type HttpCaseFigures, type HttpSectionResult, type SizeFigures } from './http-sections.ts';
import { runPeers, type PeersResult } from './peers.ts';
import { runPressure, type PressureResult } from './pressure.ts';
import { runRisk, type RiskResult } from './risk.ts';
import type { ClusterSize, InProcessFigures } from './protocol.ts';
import { ratio, round } from './stats.ts';

export const SECTIONS = ['floor', 'scale', 'pressure', 'peers', 'e2e', 'risk'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  readonly quick: boolean;
  readonly sections: readonly Section[];
  readonly sizes: readonly ClusterSize[];
  /** The size compared with the floor. */
  readonly floorSize: ClusterSize;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  readonly inProcess: { readonly maxIterations: number; readonly budgetMs: number };
  readonly caseFilter: readonly string[];
  /** volume-guard's log level while serving; info (the default) writes one line per admission. */
  readonly logLevel: string;
  readonly peers: { readonly volumes: number; readonly replicasPerVolume: number; readonly nodes: number; readonly listRequests: number; readonly listConcurrency: number; readonly modelBudgetMs: number };
  /** Helm under pressure: cordons at a steady rate while Helm release CREATEs arrive on other connections. */
  readonly pressure: { readonly cordonRate: number; readonly cordonConnections: number; readonly durationSeconds: number };
  readonly e2e: { readonly clients: readonly number[]; readonly durationSeconds: number; readonly warmupSeconds: number; readonly abba: boolean };
}

export function defaultOptions(quick: boolean): BenchOptions {
  return {
    quick,
    sections: [...SECTIONS],
    sizes: ['small', 'large'],
    floorSize: 'large',
    connections: 20,
    durationSeconds: quick ? 2 : 5,
    warmupSeconds: quick ? 0.5 : 1,
    inProcess: quick ? { maxIterations: 5_000, budgetMs: 1_000 } : { maxIterations: 50_000, budgetMs: 4_000 },
    caseFilter: [],
    logLevel: 'info',
    peers: { volumes: 2_000, replicasPerVolume: 3, nodes: 20, listRequests: quick ? 10 : 40, listConcurrency: quick ? 0 : 10, modelBudgetMs: quick ? 1_000 : 3_000 },
    pressure: { cordonRate: 100, cordonConnections: 4, durationSeconds: quick ? 3 : 10 },
    e2e: { clients: [1, 50], durationSeconds: quick ? 2 : 5, warmupSeconds: quick ? 0.5 : 1, abba: !quick },
  };
}

export interface TargetCheck {
  readonly id: string;
  readonly target: string;
  readonly measured: string;
  /** On the wall-clock figure the target names; null: not measured in this run. */
  readonly met: boolean | null;
  /**
   * The same target on CPU time per request, where a wall-clock figure is skewed by other load on the machine
   * (the scheduler's waits are not volume-guard's cost). Absent when not applicable.
   */
  readonly metOnCpu?: boolean;
  /**
   * The same target on the in-process figure (decode + judge + encode in the server's process, no HTTP), where the
   * target names a served figure: information beside `met`. Absent when not applicable.
   */
  readonly metInProcess?: boolean;
}

export interface BenchReport {
  readonly schema: 'volume-guard-bench/1';
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: MachineFigures;
  readonly options: BenchOptions;
  /** The servers' Node flags (the chart's NODE_OPTIONS unless --node-flags replaced them) and the chart's memory limit. */
  readonly server: {
    readonly nodeFlags: readonly string[];
    readonly chartNodeOptions: readonly string[];
    /** Environment the server children got beyond the benchmark's own (the chart's `env` values). */
    readonly env: Readonly<Record<string, string>>;
    readonly chartMemoryLimitBytes: number | null;
    /** What each size's volume-guard server ran under: its pod's memory limit in a cgroup, or why not. */
    readonly memoryLimits?: Partial<Record<ClusterSize, MemoryLimit>>;
  };
  readonly serve?: HttpSectionResult;
  readonly pressure?: PressureResult;
  readonly peers?: PeersResult;
  readonly e2e?: E2eResult;
  readonly risk?: RiskResult;
  /** Sections that failed, with the reason (the others still report). */
  readonly errors: Readonly<Record<string, string>>;
  readonly targets: readonly TargetCheck[];
}

const GUARDED_TARGETS = ['cordon-', 'eviction-', 'upgrade-'];

function caseOf(size: SizeFigures | undefined, id: string): HttpCaseFigures | undefined {
  return size?.cases.find((figures) => figures.id === id);
}

function micros(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? 'n/a' : `${round(value)} µs`;
}

/**
 * Server-side p99 with one client (no queueing behind other requests): exact from volume-guard's admission log
 * lines when present, else the histogram's certain bound; else the in-process p99. And the in-process CPU p99.
 */
function serverP99(figures: HttpCaseFigures): { value: number; cpu: number; text: string } {
  const inProcess = figures.inProcess;
  const cpu = inProcess?.cpu.p99 ?? Number.NaN;
  const inProcessText = inProcess ? `in-process p99 ${micros(inProcess.total.p99)} wall, ${micros(cpu)} CPU` : 'in-process n/a';
  const unloaded = figures.http?.unloaded;
  if (unloaded) {
    const exact = unloaded.serverExact;
    const value = exact?.p99 ?? unloaded.server.p99AtMostMicros;
    return { value, cpu, text: `server p99 ${micros(value)} (one client${exact ? '' : ', histogram bound'}); ${inProcessText}` };
  }
  return { value: inProcess?.total.p99 ?? Number.NaN, cpu, text: inProcessText };
}

function cpuCheck(value: number, limit: number): { metOnCpu?: boolean } {
  return Number.isFinite(value) ? { metOnCpu: value <= limit } : {};
}

/** Bytes of an RSS figure in MB (10^6 bytes, as the issue states the memory targets). */
const MB = 1e6;

function sameFlags(server: BenchReport['server']): boolean {
  return server.nodeFlags.join(' ') === server.chartNodeOptions.join(' ');
}

/**
 * Every target of issues 8 and 15 the run has figures for, each `{id, target, measured, met}`: a script reads what
 * is met without parsing prose. Wall-clock figures decide `met`; `metOnCpu` repeats the check on CPU time.
 */
export function evaluateTargets(report: Pick<BenchReport, 'serve' | 'pressure' | 'peers' | 'e2e'> & { readonly server?: BenchReport['server'] }): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const limit = report.server?.chartMemoryLimitBytes;
  const env = Object.entries(report.server?.env ?? {}).map(([name, value]) => `${name}=${value}`).join(' ');
  const flags = report.server
    ? `Node flags: ${report.server.nodeFlags.join(' ') || 'none'}${sameFlags(report.server) ? " (the chart's)" : " (NOT the chart's)"}${env ? `, env ${env} (the chart's)` : ''}`
    : '';
  const sizes = report.serve?.sizes ?? [];
  const large = sizes.find((size) => size.size === 'large');
  const small = sizes.find((size) => size.size === 'small');
  // The latency targets are stated for the large cluster, and the issue asks for the p99 per case at xl too: both
  // when measured; without either, the largest size measured. Every id names its size; only the large size's
  // figures are judged (`met`), the others are reported (met: null).
  const latencySizes = sizes.filter((size) => size.size === 'large' || size.size === 'xl');
  if (latencySizes.length === 0 && sizes.length > 0) latencySizes.push(sizes[sizes.length - 1]!);

  for (const size of latencySizes) {
    for (const figures of size.cases) {
      if (!isGuarded(figures.id)) continue;
      const p99 = serverP99(figures);
      checks.push({
        id: `p99/${size.size}/${figures.id}`,
        target: `server-side p99 ≤ 1 ms${judgedAt(size.size)}`,
        measured: p99.text,
        met: size.size === 'large' && Number.isFinite(p99.value) ? p99.value <= 1000 : null,
        ...(size.size === 'large' ? cpuCheck(p99.cpu, 1000) : {}),
      });
    }
  }
  if (large && small) {
    for (const figures of large.cases) {
      if (!isGuarded(figures.id)) continue;
      const smallFigures = caseOf(small, figures.id);
      // Judged on the served p99 (server-side, one client, exact from the log lines), as the issue states it; the
      // in-process ratio (decode + judge + encode, no HTTP) is information beside it.
      const served = servedRatio(figures, smallFigures);
      const largeP99 = figures.inProcess?.total.p99;
      const smallP99 = smallFigures?.inProcess?.total.p99;
      if (served === undefined && (largeP99 === undefined || smallP99 === undefined)) continue;
      const value = largeP99 === undefined || smallP99 === undefined ? Number.NaN : ratio(largeP99, smallP99);
      const cpuValue = ratio(figures.inProcess?.cpu.p99 ?? Number.NaN, smallFigures?.inProcess?.cpu.p99 ?? Number.NaN);
      const inProcessText = Number.isFinite(value)
        ? `in-process: ${value} wall (large ${micros(largeP99)}, small ${micros(smallP99)}); ${cpuValue} CPU (${micros(figures.inProcess?.cpu.p99)} vs ${micros(smallFigures?.inProcess?.cpu.p99)})${gcNote(figures.inProcess?.gc, smallFigures?.inProcess?.gc)}`
        : 'in-process n/a';
      checks.push({
        id: `scale-ratio/${figures.id}`,
        target: 'server-side p99 large/small ≤ 1.5 (one client)',
        measured: `${served?.text ?? 'served: not measured (no one-client run with log lines at both sizes)'}; ${inProcessText}`,
        met: served === undefined ? null : served.value <= 1.5,
        ...(Number.isFinite(value) ? { metInProcess: value <= 1.5 } : {}),
        ...(Number.isFinite(cpuValue) ? { metOnCpu: cpuValue <= 1.5 } : {}),
      });
    }
  }
  const floorSize = sizes.find((size) => size.size === report.serve?.floorSize);
  for (const figures of floorSize?.cases ?? []) {
    if (!isGuarded(figures.id) || figures.http?.throughputRatio === undefined || !floorSize) continue;
    const http = figures.http;
    const judged = floorSize.size === 'large';
    checks.push({
      id: `throughput/${floorSize.size}/${figures.id}`,
      target: `throughput ≥ 0.8 of the minimal correct webhook${judgedAt(floorSize.size)}`,
      measured:
        `${http.throughputRatio} (${http.guard.requestsPerSecond} vs ${http.floor?.requestsPerSecond} req/s; ` +
        `parse-nothing ${http.parseNothingFloor?.requestsPerSecond ?? 'n/a'}, Fastify ${http.fastifyFloor?.requestsPerSecond ?? 'n/a'} req/s); ` +
        `CPU ratio ${http.cpuRatio} (${micros(http.floor?.serverCpuMicrosPerRequest)} vs ${micros(http.guard.serverCpuMicrosPerRequest)} per request)`,
      met: judged ? (http.throughputRatio ?? 0) >= 0.8 : null,
      ...(http.cpuRatio === undefined || !judged ? {} : { metOnCpu: http.cpuRatio >= 0.8 }),
    });
  }
  for (const size of latencySizes) {
    for (const figures of size.cases) {
      if (!figures.id.startsWith('helm-install-')) continue;
      const p99 = serverP99(figures);
      const limitMicros = figures.id.endsWith('-100k') ? 5_000 : 30_000;
      checks.push({
        id: `helm/${size.size}/${figures.id}`,
        target: `helm install p99 ≤ ${limitMicros / 1000} ms at a ${figures.id.endsWith('-100k') ? '100 KB' : '1 MB'} manifest${judgedAt(size.size)}`,
        measured: p99.text,
        met: size.size === 'large' && Number.isFinite(p99.value) ? p99.value <= limitMicros : null,
        ...(size.size === 'large' ? cpuCheck(p99.cpu, limitMicros) : {}),
      });
    }
  }
  const biggest = latencySizes[0];
  if (biggest && !biggest.servedTargets.includes('helm-release')) {
    checks.push({ id: 'helm', target: 'helm install p99 ≤ 5 ms at 100 KB, ≤ 30 ms at 1 MB', measured: 'not measurable: no helm-release target served', met: null });
  }
  const pressure = report.pressure;
  if (pressure) {
    const under = pressure.underHelm;
    // Read on the client side: a cordon waiting behind manifest work on the event loop waits before Fastify's
    // onRequest, where the server-side duration starts, so only the client sees what the API server would. The
    // client runs in its own process, as the API server does (the figure with the client in the benchmark's own
    // process, beside the Helm streams' clients, is reported beside it: how it was read before 2026-12-02).
    const p99 = under.client.requests > 0 ? under.client.latency.p99 : Number.NaN;
    const same = pressure.underHelmSameProcess;
    const sameProcess = same
      ? `; cordon client in the benchmark's process: client p99 ${micros(same.client.latency.p99)}, server p99 ${micros(same.server?.p99)}, ${same.failures} failed`
      : '';
    const helmAnswers = pressure.helm.map((stream) => `${stream.manifest} ${stream.run.requests} answered (${Object.entries(stream.run.statusCodes).map(([code, n]) => `${code}×${n}`).join(' ') || 'none'}), p99 ${micros(stream.run.latency.p99)}`).join('; ');
    const pressureJudged = pressure.size === 'large';
    checks.push({
      id: `pressure/${pressure.size}/cordon-p99`,
      target: `cordon p99 ≤ 5 ms (client side) while Helm releases (100 KB, 1 MB, hostile 2 MiB) are parsed${judgedAt(pressure.size)}`,
      measured:
        `client p99 ${micros(p99)} (own process; ${micros(under.client.fromSend.p99)} from send, the client's timer late by up to ${micros(under.client.sendLateness.p99)} at p99), server p99 ${micros(under.server?.p99)} at ${pressure.cordonRate}/s ` +
        `(alone: server p99 ${micros(pressure.alone.server?.p99)}, client p99 ${micros(pressure.alone.client.latency.p99)}` +
        `${pressure.floorAlone ? `; the minimal correct webhook alone at the same rate: client p99 ${micros(pressure.floorAlone.latency.p99)}, ${micros(pressure.floorAlone.fromSend.p99)} from send` : ''})${sameProcess}; Helm: ${helmAnswers}`,
      met: pressureJudged && Number.isFinite(p99) ? p99 <= 5_000 : null,
    });
    checks.push({
      id: `pressure/${pressure.size}/cordon-failures`,
      target: `no cordon fails while hostile manifests are parsed${judgedAt(pressure.size)}`,
      measured:
        `${under.failures} of ${under.client.requests + under.client.errors} (non-2xx ${under.client.non2xx}, errors ${under.client.errors}, timeouts ${under.client.timeouts})` +
        (same ? `; client in the benchmark's process: ${same.failures} of ${same.client.requests + same.client.errors}` : ''),
      met: pressureJudged ? under.failures === 0 && under.client.requests > 0 && (same === undefined || same.failures === 0) : null,
    });
  }
  if (report.peers) {
    checks.push({
      id: 'peers/list-per-request',
      target: 'p99 ≥ 100× lower than LISTing on every request',
      measured: `${report.peers.ratioP99}× (model p99 ${micros(report.peers.model.latency.p99)}, LIST p99 ${micros(report.peers.listPerRequest.latency.p99)})`,
      met: report.peers.ratioP99 >= 100,
    });
  }
  for (const size of sizes) {
    if (size.eventCost?.length || size.insertByKind?.length) {
      const first = (size.insertByKind ?? []).map((entry) => `${entry.kind} ${entry.microsPerObject}`).join(', ');
      const events = (size.eventCost ?? [])
        .map((entry) => `${entry.kind} ${entry.modifyFromJsonMicros ?? '–'}/${entry.modifyMicros}/${entry.deleteMicros}`)
        .join(', ');
      checks.push({
        id: `informer-events/${size.size}`,
        target: "the cost per object of each informer's event handling (reported)",
        measured: `first list µs per object: ${first || 'not measured'}; watch events µs per modify from JSON/modify/delete: ${events || 'not measured'}`,
        met: null,
      });
    }
  }
  for (const size of sizes) {
    if (size.kindBytes?.length) checks.push(bytesPerObject(size));
  }
  for (const size of sizes) {
    if (size.size !== 'large' && size.size !== 'xl') continue;
    const build = size.memoryAfterBuild;
    checks.push({
      id: `rss/${size.size}/after-build`,
      target: 'RSS ≤ 250 MB after building the model',
      measured: `${round(build.rssBytes / MB)} MB RSS (heap used ${round(build.heapUsedBytes / MB)} MB); ${flags}`,
      met: size.size === 'large' ? build.rssBytes <= 250 * MB : null,
    });
    if (size.memoryAfterLoad) {
      const load = size.memoryAfterLoad;
      const full = fullLoad(size);
      checks.push({
        id: `rss/${size.size}/after-load`,
        target: 'RSS ≤ 300 MB after the full load (every case, the Helm releases included)',
        measured: `${round(load.rssBytes / MB)} MB RSS (heap used ${round(load.heapUsedBytes / MB)} MB) after ${full.text}; ${flags}`,
        // Not the full load: only a reading above the target says anything (a miss whatever the rest would add).
        met: size.size !== 'large' ? null : load.rssBytes > 300 * MB ? false : full.ran ? true : null,
      });
    }
    const buildMs = size.modelInsertMs + (size.firstFlushMs ?? 0);
    checks.push({
      id: `build/${size.size}`,
      target: "model build from records ≤ 1 s (the informers' first lists through the risk tracker's sink, its first flush included; JSON.parse and transforms of the list pages excluded)",
      measured: `${buildMs} ms: ${size.modelInsertMs} ms inserting through the risk tracker's sink + ${size.firstFlushMs ?? 'n/a'} ms its first flush (${size.buildMs} ms with generating the synthetic records)`,
      met: size.size === 'large' ? buildMs <= 1000 : null,
    });
  }
  if (pressure) {
    checks.push({
      id: `rss/${pressure.size}/after-helm-pressure`,
      target: 'RSS ≤ 300 MB after the full load',
      // Judged right after the last answer, when the pod holds the most; the reading once the manifest workers,
      // idle, have compacted (settleMs later) is beside it.
      measured:
        `${round(pressure.memoryAfter.rssBytes / MB)} MB RSS right after the last answer of the Helm pressure run ` +
        `(${round(pressure.memoryAfterSettled.rssBytes / MB)} MB ${round(pressure.settleMs / 1000)} s later, settled); ${flags}`,
      met: pressure.size === 'large' ? pressure.memoryAfter.rssBytes <= 300 * MB : null,
    });
  }
  const peaks = [
    ...sizes.map((size) => ({
      where: size.size,
      size: size.size,
      bytes: Math.max(size.memoryAfterBuild.maxRssBytes, size.memoryAfterLoad?.maxRssBytes ?? 0),
      cgroupBytes: size.memoryAfterLoad?.cgroupPeakBytes ?? size.memoryAfterBuild.cgroupPeakBytes,
      heapLimit: size.memoryAfterBuild.heapLimitBytes,
      load: fullLoad(size),
    })),
    ...(pressure
      ? [
          {
            where: `${pressure.size} under Helm pressure`,
            size: pressure.size,
            bytes: pressure.memoryAfterSettled.maxRssBytes,
            cgroupBytes: pressure.memoryAfterSettled.cgroupPeakBytes,
            heapLimit: pressure.memoryAfterSettled.heapLimitBytes,
            // The Helm pressure run is a Helm load of its own (100 KB, 1 MB and hostile 2 MiB releases).
            load: { ran: true, text: 'the Helm pressure run' },
          },
        ]
      : []),
  ];
  for (const peak of peaks) {
    if (limit === undefined || limit === null) break;
    // The xl pod is sized above the chart's default (README, "Sizing the pod"): its peak is held to that.
    const podLimit = memoryLimitFor(peak.size, limit) ?? limit;
    const ranUnder = report.server?.memoryLimits?.[peak.size];
    const how = ranUnder?.limitBytes ? `run under that limit (${ranUnder.how})` : `run without a limit: ${ranUnder?.how ?? 'not recorded'}`;
    const heap = peak.heapLimit ? `, V8 heap limit ${round(peak.heapLimit / 2 ** 20)} MiB` : '';
    const cgroup = peak.cgroupBytes === undefined ? '' : `; the cgroup's peak (RSS and page cache) ${round(peak.cgroupBytes / 2 ** 20)} MiB`;
    checks.push({
      id: `rss-peak/${peak.where.replace(/ /g, '-')}`,
      target: "peak RSS below the pod's memory limit",
      measured: `${round(peak.bytes / 2 ** 20)} MiB peak RSS of ${round(podLimit / 2 ** 20)} MiB (${round((peak.bytes / podLimit) * 100)} %) over ${peak.load.text}, ${how}${heap}${cgroup}; ${flags}`,
      // Without the full load only a peak at the limit says anything.
      met: peak.bytes >= podLimit ? false : peak.load.ran ? true : null,
    });
  }
  for (const run of report.e2e?.runs ?? []) {
    if (run.clients === 1) {
      checks.push({
        id: `e2e/${run.clients}/${run.mix}/added-p50`,
        target: 'added end-to-end p50 ≤ 2 ms at one client',
        measured: `+${micros(run.addedMicros.p50)} p50 (${micros(run.without.latency.p50)} → ${micros(run.with.latency.p50)})`,
        met: run.addedMicros.p50 <= 2000,
      });
    }
    checks.push({
      id: `e2e/${run.clients}/${run.mix}/api-server-cpu`,
      target: "the API server's CPU per admission with and without volume-guard (reported)",
      measured: `${micros(run.without.apiServerCpuMicrosPerRequest)} → ${micros(run.with.apiServerCpuMicrosPerRequest)} per request`,
      met: null,
    });
    if (run.clients >= 50) {
      checks.push({
        id: `e2e/${run.clients}/${run.mix}/p99`,
        target: 'added end-to-end p99 ≤ 5 ms at 50 clients (issue 8)',
        measured: `+${micros(run.addedMicros.p99)} p99 (${micros(run.without.latency.p99)} → ${micros(run.with.latency.p99)})`,
        met: run.addedMicros.p99 <= 5000,
      });
    }
  }
  return checks;
}

export async function runBench(options: BenchOptions, log: (line: string) => void = () => undefined): Promise<BenchReport> {
  const started = Date.now();
  const machine = describeMachine();
  const errors: Record<string, string> = {};
  const wants = (section: Section) => options.sections.includes(section);
  const capture = async <T>(name: string, run: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await run();
    } catch (error) {
      errors[name] = error instanceof Error ? error.message : String(error);
      log(`[${name}] failed: ${errors[name]}`);
      return undefined;
    }
  };

  let serve: HttpSectionResult | undefined;
  if (wants('floor') || wants('scale')) {
    const sizes = wants('scale') ? options.sizes : [options.floorSize];
    serve = await capture('serve', () =>
      runHttpSections({
        sizes,
        floorSize: wants('floor') ? options.floorSize : undefined,
        inProcess: wants('scale') ? options.inProcess : undefined,
        load: { connections: options.connections, durationSeconds: options.durationSeconds, warmupSeconds: options.warmupSeconds },
        caseFilter: options.caseFilter,
        logLevel: options.logLevel,
        log,
      }),
    );
  }
  const pressure = wants('pressure')
    ? await capture('pressure', () => runPressure({ size: options.floorSize, ...options.pressure, logLevel: options.logLevel, log }))
    : undefined;
  const peers = wants('peers') ? await capture('peers', () => runPeers({ ...options.peers, log })) : undefined;
  const e2e = wants('e2e') ? await capture('e2e', () => runE2e({ ...options.e2e, log })) : undefined;
  const risk = wants('risk')
    ? await capture('risk', () => runRisk({ sizes: options.sizes, iterations: options.quick ? 200 : 2_000, log }))
    : undefined;
  const chart = chartNodeSettings();
  const server = {
    nodeFlags: [...currentChildNodeFlags()],
    chartNodeOptions: [...chart.nodeOptions],
    env: { ...currentChildEnv() },
    chartMemoryLimitBytes: chart.memoryLimitBytes ?? null,
    memoryLimits: memoryLimitsUsed(),
  };
  const sections = { server, ...(serve ? { serve } : {}), ...(pressure ? { pressure } : {}), ...(peers ? { peers } : {}), ...(e2e ? { e2e } : {}) };
  return {
    schema: 'volume-guard-bench/1',
    startedAt: new Date(started).toISOString(),
    durationSeconds: Math.round((Date.now() - started) / 1000),
    machine,
    options,
    ...sections,
    ...(risk ? { risk } : {}),
    errors,
    targets: evaluateTargets(sections),
  };
}

/** The served p99 ratio (one client, exact from the log lines), and the collections the server ran meanwhile. */
function servedRatio(large: HttpCaseFigures, small: HttpCaseFigures | undefined): { value: number; text: string } | undefined {
  const [largeRun, smallRun] = [large.http?.unloaded, small?.http?.unloaded];
  if (!largeRun?.serverExact || !smallRun?.serverExact) return undefined;
  const value = ratio(largeRun.serverExact.p99, smallRun.serverExact.p99);
  const collections = (run: typeof largeRun) => run.serverCollections?.perHundredRequests ?? 'n/a';
  return {
    value,
    text: `served, one client: ${value} (p99 ${micros(largeRun.serverExact.p99)} large vs ${micros(smallRun.serverExact.p99)} small), server collections per 100 requests large ${collections(largeRun)}, small ${collections(smallRun)}`,
  };
}

function isGuarded(id: string): boolean {
  return GUARDED_TARGETS.some((prefix) => id.startsWith(prefix));
}

/** The issue's targets are for the large synthetic cluster: a figure at another size is reported, not judged. */
function judgedAt(size: ClusterSize): string {
  return size === 'large' ? '' : ` (reported at ${size}: the target is the large cluster's)`;
}

/**
 * Whether a size's load was the full one (the Helm release cases served under load too: what the after-load RSS
 * targets are stated for), and the cases it ran.
 */
function fullLoad(size: SizeFigures): { ran: boolean; text: string } {
  const loaded = size.cases.filter((figures) => figures.http !== undefined).map((figures) => figures.id);
  const helm = loaded.some((id) => id.startsWith('helm-install-'));
  const guarded = loaded.some(isGuarded);
  const ran = helm && guarded;
  return { ran, text: `${ran ? 'the full load' : 'a partial load, not the full one'} (cases run: ${loaded.join(', ') || 'none'})` };
}

/**
 * Bytes per object per kind (the model emptied kind by kind), and the figure to size the pod from: the whole model
 * heap per object, which holds what the per-kind readings leave out (indexes and sets freed only with the last of
 * their kinds, the risk tracker's state), reported as the leftover.
 */
function bytesPerObject(size: SizeFigures): TargetCheck {
  const kinds = size.kindBytes ?? [];
  const objects = Object.values(size.counts).reduce((sum, value) => sum + value, 0);
  const kindObjects = kinds.reduce((sum, entry) => sum + entry.count, 0);
  const perKind = kinds.map((entry) => `${entry.kind} ${entry.bytesPerObject === null ? 'not measurable' : `${entry.bytesPerObject} B`}`).join(', ');
  const unmeasured = kinds.filter((entry) => entry.bytes === null).map((entry) => entry.kind);
  const summed = kinds.reduce((sum, entry) => sum + (entry.bytes ?? 0), 0);
  const leftover = size.modelHeapBytes - summed;
  return {
    id: `bytes-per-object/${size.size}`,
    target: 'bytes per object per kind, and the model heap per object the pod is sized from (reported)',
    measured:
      `model heap ${round(size.modelHeapBytes / 2 ** 20)} MiB for ${objects} objects: ${objects > 0 ? Math.round(size.modelHeapBytes / objects) : 'n/a'} B per object (size the pod from this); ` +
      `per kind: ${perKind}; the per-kind sum ${kindObjects > 0 ? Math.round(summed / kindObjects) : 'n/a'} B per object, leaving ${round(leftover / 2 ** 20)} MiB no single kind freed` +
      (unmeasured.length > 0 ? ` (and not measurable: ${unmeasured.join(', ')})` : ''),
    met: null,
  };
}

/** How often collections met the in-process requests at each size, and the p99 ratio of the requests none met. */
function gcNote(large: InProcessFigures['gc'], small: InProcessFigures['gc']): string {
  if (!large || !small) return '';
  const clean = ratio(large.totalWithoutGc.p99, small.totalWithoutGc.p99);
  const kb = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : `${Math.round(bytes / 1024)} KB`);
  return `; collections per 100 requests large ${large.perHundredRequests}, small ${small.perHundredRequests} (a scavenge copied ${kb(large.scavengeSurvivedBytes)} vs ${kb(small.scavengeSurvivedBytes)}); requests no collection ran in: p99 ${micros(large.totalWithoutGc.p99)} vs ${micros(small.totalWithoutGc.p99)} (${clean})`;
}

// evaluateTargets (test/bench/lib/bench.ts) on a synthetic full report (small, large and xl sizes, Helm pressure,
// end to end): every target of issue 15 is in `targets`, judged only on the large cluster's figures, and null where
// the run has no figure or only a partial one. Never timed: the figures are made up.
import { describe, expect, it } from 'vitest';
import { evaluateTargets, type BenchReport, type TargetCheck } from '../bench/lib/bench.ts';
import type { HttpCaseFigures, SizeFigures } from '../bench/lib/http-sections.ts';
import type { ClusterSize, KindBytes, MemoryFigures } from '../bench/lib/protocol.ts';
import type { PressureResult } from '../bench/lib/pressure.ts';
import type { E2eResult } from '../bench/lib/e2e.ts';
import type { LatencySummary } from '../bench/lib/stats.ts';

const MiB = 2 ** 20;
const GUARDED = ['cordon-allow', 'cordon-typical', 'cordon-deny', 'eviction-allow', 'eviction-deny', 'upgrade-allow', 'upgrade-deny', 'upgrade-deny-harvester-skip'];
const HELM = ['helm-install-allow-100k', 'helm-install-deny-100k', 'helm-install-allow-1m', 'helm-install-deny-1m'];

const latency = (p99: number): LatencySummary => ({ count: 1000, p50: p99 / 2, p90: p99 * 0.8, p99, max: p99 * 2, mean: p99 / 2 });
const load = (requestsPerSecond: number) => ({ connections: 20, durationSeconds: 5, requests: requestsPerSecond * 5, requestsPerSecond, latency: latency(5000), non2xx: 0, errors: 0, timeouts: 0, statusCodes: { 200: requestsPerSecond * 5 } });
const memory = (rssMiB: number): MemoryFigures => ({ rssBytes: rssMiB * MiB, heapUsedBytes: 80 * MiB, heapTotalBytes: 100 * MiB, externalBytes: 5 * MiB, maxRssBytes: rssMiB * MiB, heapLimitBytes: 280 * MiB });

/** A case served under load (with the floors when `floor`) and timed in process; p99s in µs. */
function served(id: string, servedP99: number, inProcessP99: number, floor: boolean): HttpCaseFigures {
  const run = { ...load(2000), serverCpuMicrosPerRequest: 400 };
  const floorRun = { ...load(2400), serverCpuMicrosPerRequest: 300 };
  return {
    id,
    target: id.startsWith('cordon') ? 'node-cordon' : id.startsWith('eviction') ? 'pod-eviction' : id.startsWith('upgrade') ? 'upgrade' : 'helm-release',
    intent: id.includes('deny') ? 'deny' : 'allow',
    description: id,
    bodyBytes: 5000,
    decision: id.includes('deny') ? 'denied' : 'allowed',
    message: '',
    inProcess: { iterations: 1000, total: latency(inProcessP99), handle: latency(inProcessP99 / 2), cpu: latency(inProcessP99), cpuMicrosPerRequest: 100 },
    http: {
      guard: run,
      ...(floor ? { floor: floorRun, parseNothingFloor: floorRun, fastifyFloor: floorRun, throughputRatio: 0.83, throughputRatioParseNothing: 0.8, cpuRatio: 0.75 } : {}),
      saturatedServer: { requests: 10_000, meanMicros: 900, p50Micros: 800, p99Micros: 4000, p99AtMostMicros: 5000, within1ms: 0.6 },
      unloaded: {
        guard: load(1500),
        server: { requests: 7500, meanMicros: 200, p50Micros: 150, p99Micros: servedP99, p99AtMostMicros: 1000, within1ms: 0.99 },
        serverExact: latency(servedP99),
      },
    },
  };
}

function size(name: ClusterSize, options: { cases: readonly string[]; p99: number; floor?: boolean; rssAfterLoad?: number; kindBytes?: readonly KindBytes[] }): SizeFigures {
  return {
    size: name,
    counts: { node: 100, pod: 900 },
    buildMs: 1500,
    modelInsertMs: 700,
    firstFlushMs: 200,
    modelHeapBytes: 495_000,
    memoryAfterBuild: memory(200),
    memoryAfterLoad: memory(options.rssAfterLoad ?? 260),
    kindBytes: options.kindBytes ?? [
      { kind: 'pod', count: 900, bytes: 360_000, bytesPerObject: 400 },
      { kind: 'node', count: 100, bytes: 30_000, bytesPerObject: 300 },
    ],
    eventCost: [{ kind: 'node', objects: 100, modifyMicros: 20, modifyCpuMicros: 20, unchangedMicros: 2, deleteMicros: 15, addMicros: 16, modifyFlushMicros: 10, deleteFlushMicros: 8 }],
    insertByKind: [{ kind: 'node', count: 100, ms: 1, microsPerObject: 10 }],
    servedTargets: ['node-cordon', 'pod-eviction', 'upgrade', 'helm-release'],
    cases: options.cases.map((id) => served(id, options.p99, options.p99 * 0.8, options.floor === true)),
  };
}

const pressure = (rssRightAfter: number, rssSettled: number, sizeName: ClusterSize = 'large'): PressureResult => {
  const cordon = { client: { ...load(100), fromSend: latency(2000), sendLateness: latency(100) }, server: latency(800), failures: 0 };
  return {
    size: sizeName,
    cordonCase: 'cordon-typical',
    cordonRate: 100,
    durationSeconds: 10,
    cordonClient: 'own-process',
    alone: cordon,
    underHelm: cordon,
    helm: [{ manifest: '100k', bodyBytes: 100_000, run: load(50) }],
    memoryAfter: memory(rssRightAfter),
    memoryAfterSettled: memory(rssSettled),
    settleMs: 6000,
  };
};

const e2e = {
  apiServer: 'https://127.0.0.1:6443',
  otherWebhookConfigurations: [],
  runs: [1, 50].map((clients) => ({
    clients,
    mix: 'toggle',
    without: { ...load(400), apiServerCpuMicrosPerRequest: 2800, guardCpuMicrosPerRequest: 0 },
    with: { ...load(300), apiServerCpuMicrosPerRequest: 3500, guardCpuMicrosPerRequest: 900 },
    server: { requests: 1000, meanMicros: 300, p50Micros: 250, p99Micros: 900, p99AtMostMicros: 1000, within1ms: 1 },
    addedMicros: { p50: 1500, p99: 4000, mean: 1600 },
  })),
} as unknown as E2eResult;

const server: BenchReport['server'] = {
  nodeFlags: ['--max-semi-space-size=8'],
  chartNodeOptions: ['--max-semi-space-size=8'],
  env: {},
  chartMemoryLimitBytes: 512 * MiB,
  memoryLimits: { large: { limitBytes: 512 * MiB, how: 'cgroup v2' } },
};

function byId(checks: readonly TargetCheck[]): Map<string, TargetCheck> {
  return new Map(checks.map((check) => [check.id, check]));
}

describe('the targets of a full report', () => {
  const all = [...GUARDED, ...HELM];
  const report = {
    server,
    serve: {
      floorSize: 'large' as const,
      sizes: [size('small', { cases: all, p99: 500 }), size('large', { cases: all, p99: 600, floor: true }), size('xl', { cases: all, p99: 1200 })],
    },
    pressure: pressure(310, 280),
    e2e,
  };
  const checks = evaluateTargets(report);
  const targets = byId(checks);

  it('holds every target of issue 15, once each', () => {
    expect(new Set(checks.map((check) => check.id)).size).toBe(checks.length);
    const expected = [
      ...GUARDED.map((id) => `throughput/large/${id}`),
      ...GUARDED.flatMap((id) => [`p99/large/${id}`, `p99/xl/${id}`, `scale-ratio/${id}`]),
      ...HELM.flatMap((id) => [`helm/large/${id}`, `helm/xl/${id}`]),
      'pressure/large/cordon-p99',
      'pressure/large/cordon-failures',
      'rss/large/after-build',
      'rss/large/after-load',
      'rss/xl/after-build',
      'rss/xl/after-load',
      'rss/large/after-helm-pressure',
      'rss-peak/small',
      'rss-peak/large',
      'rss-peak/xl',
      'rss-peak/large-under-Helm-pressure',
      'build/large',
      'build/xl',
      'informer-events/small',
      'informer-events/large',
      'informer-events/xl',
      'bytes-per-object/small',
      'bytes-per-object/large',
      'bytes-per-object/xl',
      'e2e/1/toggle/added-p50',
      'e2e/1/toggle/api-server-cpu',
      'e2e/50/toggle/api-server-cpu',
      'e2e/50/toggle/p99',
    ];
    expect(checks.map((check) => check.id).sort()).toEqual([...expected].sort());
  });

  it('judges the large cluster and reports xl (p99 per case there) without judging it', () => {
    expect(targets.get('p99/large/cordon-deny')).toMatchObject({ met: true, metOnCpu: true });
    expect(targets.get('p99/xl/cordon-deny')).toMatchObject({ met: null, measured: expect.stringContaining('1200 µs') });
    expect(targets.get('p99/xl/cordon-deny')?.metOnCpu).toBeUndefined();
    expect(targets.get('helm/xl/helm-install-allow-1m')).toMatchObject({ met: null });
    expect(targets.get('throughput/large/cordon-allow')).toMatchObject({ met: true, metOnCpu: false });
    expect(targets.get('build/large')).toMatchObject({ met: true, target: expect.stringContaining('model build from records'), measured: expect.stringContaining('900 ms') });
    expect(targets.get('build/xl')?.met).toBeNull();
  });

  it('judges the scale ratio on the served p99 and keeps the in-process one beside it', () => {
    // served 600/500 = 1.2; in process 480/400 = 1.2.
    expect(targets.get('scale-ratio/cordon-deny')).toMatchObject({ met: true, metInProcess: true, target: expect.stringContaining('server-side') });
    const skewed = evaluateTargets({
      serve: { sizes: [size('small', { cases: ['cordon-deny'], p99: 100 }), size('large', { cases: ['cordon-deny'], p99: 200 })] },
    });
    // served 2.0 fails whatever the in-process figures say
    expect(byId(skewed).get('scale-ratio/cordon-deny')?.met).toBe(false);
  });

  it('judges RSS after the Helm pressure on the reading right after it, the settled one beside', () => {
    expect(targets.get('rss/large/after-helm-pressure')).toMatchObject({ met: false, measured: expect.stringMatching(/325 MB RSS right after.*294 MB 6 s later/) });
  });

  it('reports bytes per object per kind, the whole model heap per object, and null for a kind not measurable', () => {
    const check = targets.get('bytes-per-object/large');
    expect(check?.met).toBeNull();
    expect(check?.measured).toContain('495 B per object');
    expect(check?.measured).toContain('pod 400 B');
    expect(check?.measured).toContain('the per-kind sum 390 B per object');
    const partial = evaluateTargets({
      serve: { sizes: [size('large', { cases: [], p99: 1, kindBytes: [{ kind: 'pod', count: 900, bytes: null, bytesPerObject: null }] })] },
    });
    expect(byId(partial).get('bytes-per-object/large')?.measured).toMatch(/pod not measurable.*not measurable: pod/);
  });
});

describe('the targets of a partial report', () => {
  it('does not call the after-load RSS met when the Helm cases did not run', () => {
    const checks = byId(evaluateTargets({ server, serve: { sizes: [size('large', { cases: ['cordon-allow', 'cordon-deny'], p99: 600 })] } }));
    expect(checks.get('rss/large/after-load')).toMatchObject({ met: null, measured: expect.stringContaining('cases run: cordon-allow, cordon-deny') });
    expect(checks.get('rss-peak/large')?.met).toBeNull();
    // Above the target even so: missed whatever the rest of the load would add.
    const over = byId(evaluateTargets({ server, serve: { sizes: [size('large', { cases: ['cordon-allow'], p99: 600, rssAfterLoad: 400 })] } }));
    expect(over.get('rss/large/after-load')?.met).toBe(false);
  });

  it('names the size in throughput ids and judges none below the large cluster', () => {
    const checks = evaluateTargets({ serve: { floorSize: 'small', sizes: [size('small', { cases: ['cordon-allow', 'helm-install-allow-100k'], p99: 300, floor: true })] } });
    const targets = byId(checks);
    expect(targets.get('throughput/small/cordon-allow')).toMatchObject({ met: null });
    expect(targets.get('throughput/small/cordon-allow')?.metOnCpu).toBeUndefined();
    // Without large or xl, the largest size measured, reported only.
    expect(targets.get('p99/small/cordon-allow')?.met).toBeNull();
    expect(targets.get('helm/small/helm-install-allow-100k')?.met).toBeNull();
    expect(checks.some((check) => check.id.startsWith('throughput/cordon'))).toBe(false);
  });

  it('judges the Helm pressure targets only at the large size', () => {
    const targets = byId(evaluateTargets({ pressure: pressure(200, 190, 'small') }));
    expect(targets.get('pressure/small/cordon-p99')?.met).toBeNull();
    expect(targets.get('pressure/small/cordon-failures')?.met).toBeNull();
    expect(targets.get('rss/small/after-helm-pressure')?.met).toBeNull();
  });
});

// The benchmark's code paths in a tiny configuration (children, autocannon, metrics scraping, report, summary).
// Shape only: timings depend on the machine and are never asserted.
import { describe, expect, it } from 'vitest';
import { defaultOptions, evaluateTargets, runBench, type BenchOptions } from '../bench/lib/bench.ts';
import { parseHistogram, histogramDelta, serverLatency } from '../bench/lib/metrics-scrape.ts';
import { percentile, summarize } from '../bench/lib/stats.ts';
import { formatSummary } from '../bench/lib/summary.ts';

const finiteNumber = expect.any(Number);

describe('benchmark smoke run', () => {
  it('serves a tiny cluster next to both floors and reports every figure', { timeout: 180_000 }, async () => {
    const options: BenchOptions = {
      ...defaultOptions(true),
      sections: ['floor', 'scale', 'pressure'],
      sizes: ['tiny'],
      floorSize: 'tiny',
      connections: 2,
      durationSeconds: 2, // long enough that a loaded machine still answers some requests in each run (1 s once left a Helm run empty at load 9)
      warmupSeconds: 0.1,
      inProcess: { maxIterations: 40, budgetMs: 20 },
      caseFilter: ['cordon-deny', 'eviction-allow', 'helm-install-deny-100k'],
      pressure: { cordonRate: 20, cordonConnections: 1, durationSeconds: 3 }, // past the 2 s manifest deadline: each Helm stream completes a request
    };
    const report = await runBench(options);
    expect(report.errors).toEqual({});
    const json = JSON.parse(JSON.stringify(report)) as typeof report;
    expect(json.schema).toBe('volume-guard-bench/1');
    // The servers ran with the chart's NODE_OPTIONS, and the chart's memory limit was read for the peak-RSS check.
    expect(json.server.nodeFlags).toEqual(json.server.chartNodeOptions);
    expect(json.server.chartMemoryLimitBytes).toBeGreaterThan(0);
    // The volume-guard server ran under its pod's memory limit where this machine allows a cgroup; else it says why.
    const ranUnder = json.server.memoryLimits?.tiny;
    expect(ranUnder?.how).toMatch(/^(cgroup v[12]|off \(.+\))$/);
    expect(ranUnder?.limitBytes).toBe(ranUnder?.how.startsWith('cgroup') ? json.server.chartMemoryLimitBytes : null);
    expect(json.machine).toMatchObject({ nproc: finiteNumber, cpuModel: expect.any(String), node: process.version, mapGetNanos: finiteNumber });
    const sizes = json.serve?.sizes ?? [];
    expect(sizes.map((size) => size.size)).toEqual(['tiny']);
    const tiny = sizes[0]!;
    expect(tiny.counts.longhornVolume).toBe(30);
    expect(tiny.memoryAfterBuild.rssBytes).toBeGreaterThan(0);
    // Node sizes V8's heap from the limit it runs under: below the limit when there is one.
    expect(tiny.memoryAfterBuild.heapLimitBytes).toBeGreaterThan(0);
    if (ranUnder?.limitBytes) expect(tiny.memoryAfterBuild.heapLimitBytes).toBeLessThan(ranUnder.limitBytes);
    expect(tiny.memoryAfterLoad?.rssBytes).toBeGreaterThan(0);
    // Per kind: the first list's cost per object, and the heap each kind holds (the model emptied kind by kind).
    expect(tiny.insertByKind?.map((entry) => entry.kind)).toEqual(expect.arrayContaining(['node', 'pod', 'longhornReplica']));
    for (const entry of tiny.insertByKind ?? []) expect(entry).toMatchObject({ count: tiny.counts[entry.kind], microsPerObject: finiteNumber });
    // Per kind: the cost of each watch event (modify, unchanged copy, delete, add) on the built model.
    expect(tiny.eventCost?.map((entry) => entry.kind)).toEqual(expect.arrayContaining(['node', 'pod', 'persistentVolume', 'longhornVolume', 'longhornReplica']));
    for (const entry of tiny.eventCost ?? []) {
      // Up to 2,000 of each kind; the model holds what the build counted plus the leftover release's claims.
      expect(entry.objects).toBeGreaterThanOrEqual(Math.min(tiny.counts[entry.kind] ?? 1, 2000));
      expect(entry.objects).toBeLessThanOrEqual(2000);
      expect(entry).toMatchObject({ modifyMicros: finiteNumber, modifyCpuMicros: finiteNumber, unchangedMicros: finiteNumber, deleteMicros: finiteNumber, addMicros: finiteNumber, modifyFlushMicros: finiteNumber });
    }
    // From the watch line on (JSON.parse + transform + model) for the kinds the bench renders as API JSON.
    for (const kind of ['node', 'pod', 'persistentVolume', 'longhornVolume', 'longhornReplica']) {
      expect(tiny.eventCost?.find((entry) => entry.kind === kind)?.modifyFromJsonMicros, kind).toEqual(finiteNumber);
    }
    expect(json.targets.find((target) => target.id === 'informer-events/tiny')).toMatchObject({ met: null, measured: expect.stringContaining('longhornReplica') });
    expect(tiny.kindBytes?.map((entry) => entry.kind)).toEqual(expect.arrayContaining(['pod', 'persistentVolume', 'longhornVolume', 'node']));
    for (const entry of tiny.kindBytes ?? []) {
      // The model holds what the build counted, plus the leftover release's claims the Helm cases add.
      expect(entry.count).toBeGreaterThanOrEqual(tiny.counts[entry.kind] ?? 0);
      // A kind the heap reading did not fall for is not measurable (null), never a clamped 0.
      if (entry.bytes === null) expect(entry.bytesPerObject).toBeNull();
      else expect(entry).toMatchObject({ bytes: expect.any(Number), bytesPerObject: finiteNumber });
      expect(entry.bytes).not.toBe(0);
    }
    expect(json.targets.find((target) => target.id === 'bytes-per-object/tiny')).toMatchObject({ met: null, measured: expect.stringContaining('B per object') });
    // The model built as the pod builds it: through the risk tracker's sink, its first flush timed.
    expect(tiny.firstFlushMs).toEqual(finiteNumber);
    expect(tiny.servedTargets).toEqual(expect.arrayContaining(['node-cordon', 'pod-eviction', 'upgrade', 'helm-release']));
    expect(tiny.cases.map((figures) => figures.id)).toEqual(['cordon-deny', 'eviction-allow', 'helm-install-deny-100k']);
    const decisions = Object.fromEntries(tiny.cases.map((figures) => [figures.id, figures.decision]));
    expect(decisions).toEqual({ 'cordon-deny': 'denied', 'eviction-allow': 'allowed', 'helm-install-deny-100k': 'denied' });
    for (const figures of tiny.cases) {
      expect(figures.inProcess?.iterations).toBeGreaterThanOrEqual(30);
      expect(figures.inProcess?.total).toMatchObject({ p50: finiteNumber, p99: finiteNumber });
      expect(figures.inProcess?.cpu.count).toBe(figures.inProcess?.iterations);
      // The collections met during the loop: counted by kind, and the requests none ran in are a subset.
      const gc = figures.inProcess?.gc;
      expect(gc?.scavenges).toBeGreaterThanOrEqual(0);
      expect(gc?.perHundredRequests).toBeGreaterThanOrEqual(0);
      expect(gc?.totalWithoutGc.count).toBeLessThanOrEqual(figures.inProcess?.iterations ?? 0);
      expect(gc?.totalWithoutGc.count).toBeGreaterThan(0);
      const http = figures.http!;
      // Every request was answered 200 by each server, and the server's histogram saw the guard's.
      for (const [name, run] of Object.entries({ guard: http.guard, floor: http.floor!, parseNothing: http.parseNothingFloor!, fastify: http.fastifyFloor! })) {
        expect(run.requests, `${figures.id}: ${name} answered nothing in its run`).toBeGreaterThan(0);
        expect(run.non2xx + run.errors).toBe(0);
        expect(run.serverCpuMicrosPerRequest).toBeGreaterThan(0);
      }
      // The server also counts the requests in flight when autocannon stopped (at most one per connection).
      expect(http.saturatedServer.requests).toBeGreaterThanOrEqual(http.guard.requests);
      expect(http.saturatedServer.requests).toBeLessThanOrEqual(http.guard.requests + options.connections);
      // One client: the log lines give the exact server-side durations of the same requests.
      expect(http.unloaded.guard.requests).toBeGreaterThan(0);
      expect(http.unloaded.floor?.requests).toBeGreaterThan(0);
      expect(http.unloaded.server.requests).toBeGreaterThanOrEqual(http.unloaded.guard.requests);
      // (the request in flight when autocannon stopped may finish after the scrape, before the log is read)
      expect(http.unloaded.serverExact?.count).toBeGreaterThanOrEqual(http.unloaded.server.requests);
      expect(http.unloaded.serverExact?.count).toBeLessThanOrEqual(http.unloaded.server.requests + 1);
      expect(http.throughputRatio).toBeGreaterThan(0);
      expect(http.cpuRatio).toBeGreaterThan(0);
    }
    // Helm under pressure: the cordon stream alone and under Helm load, each Helm stream answered.
    const pressure = json.pressure!;
    expect(pressure.size).toBe('tiny');
    for (const run of [pressure.alone, pressure.underHelm]) {
      expect(run.client.requests).toBeGreaterThan(0);
      expect(run.failures).toBe(run.client.non2xx + run.client.errors + run.client.timeouts);
      expect(run.server?.count).toBeGreaterThan(0);
    }
    expect(pressure.helm.map((stream) => stream.manifest)).toEqual(['100k', '1m', 'hostile-2m']);
    for (const stream of pressure.helm) expect(stream.run.requests + stream.run.errors + stream.run.timeouts).toBeGreaterThan(0);
    expect(pressure.memoryAfter.rssBytes).toBeGreaterThan(0);
    // The harness's own share at this rate: the same cordon stream against the minimal correct webhook.
    expect(pressure.floorAlone?.requests).toBeGreaterThan(0);
    expect(pressure.floorAlone?.non2xx).toBe(0);
    // From send never exceeds from due: the timer's lateness is the difference.
    for (const run of [pressure.alone.client, pressure.underHelm.client]) {
      expect(run.fromSend.count).toBe(run.latency.count);
      expect(run.fromSend.p50).toBeLessThanOrEqual(run.latency.p50);
      expect(run.sendLateness.p50).toBeGreaterThanOrEqual(0);
    }
    expect(pressure.memoryAfterSettled.rssBytes).toBeGreaterThan(0);
    // Targets: every one {id, target, measured, met}, machine-readable.
    for (const check of json.targets) {
      expect(check).toMatchObject({ id: expect.any(String), target: expect.any(String), measured: expect.any(String) });
      expect([true, false, null]).toContain(check.met);
    }
    expect(new Set(json.targets.map((check) => check.id)).size).toBe(json.targets.length);
    expect(json.targets.map((check) => check.id)).toEqual(
      expect.arrayContaining([
        'throughput/tiny/cordon-deny',
        'throughput/tiny/eviction-allow',
        'p99/tiny/cordon-deny',
        'p99/tiny/eviction-allow',
        'helm/tiny/helm-install-deny-100k',
        'pressure/tiny/cordon-p99',
        'pressure/tiny/cordon-failures',
        'rss/tiny/after-helm-pressure',
        'rss-peak/tiny',
        'rss-peak/tiny-under-Helm-pressure',
      ]),
    );
    const summary = formatSummary(report);
    expect(summary).toContain('1. Floor');
    expect(summary).toContain('2. Scale');
    expect(summary).toContain('helm-install-deny-100k');
    expect(summary).toContain('Helm under pressure');
    expect(summary).toContain('alone, minimal correct webhook');
  });
});

describe('benchmark helpers', () => {
  it('percentiles are nearest-rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 0.5)).toBe(50);
    expect(percentile(sorted, 0.99)).toBe(99);
    expect(summarize([3, 1, 2])).toMatchObject({ count: 3, p50: 2, max: 3, mean: 2 });
  });

  it('reads a run histogram from two /metrics scrapes', () => {
    const scrape = (counts: readonly number[]) =>
      [
        ...['0.00005', '0.0001', '0.00025', '0.0005', '0.001', '+Inf'].map(
          (le, i) => `volume_guard_admission_duration_seconds_bucket{le="${le}",target="node-cordon"} ${counts[i]}`,
        ),
        `volume_guard_admission_duration_seconds_sum{target="node-cordon"} ${counts[5]! * 0.0002}`,
        `volume_guard_admission_duration_seconds_count{target="node-cordon"} ${counts[5]}`,
        'volume_guard_admission_duration_seconds_count{target="upgrade"} 99',
      ].join('\n');
    const before = parseHistogram(scrape([0, 0, 0, 0, 0, 0]), 'node-cordon');
    const after = parseHistogram(scrape([0, 10, 90, 99, 100, 100]), 'node-cordon');
    const latency = serverLatency(histogramDelta(before, after));
    expect(latency.requests).toBe(100);
    expect(latency.p99AtMostMicros).toBe(500);
    expect(latency.p50Micros).toBeGreaterThan(100);
    expect(latency.p50Micros).toBeLessThanOrEqual(250);
    expect(latency.within1ms).toBe(1);
  });

  it('evaluates no target it has no figures for', () => {
    expect(evaluateTargets({})).toEqual([]);
  });
});

// The risk gauges' cost (issue 16): a scrape of volume_guard_at_risk_volumes, nodes_blocked, orphan_pvcs and
// active_overrides must not grow with the cluster. In process, per model size: the first full evaluation after
// the initial list (done in the background by the flusher), one churn write's re-evaluation, and the scrape of
// those gauges alone (p50/p99 µs, wall clock in process). The ratio large/small of the scrape is the figure to read: ~1 is O(1).

import { Registry } from 'prom-client';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { registerRiskMetrics } from '../../../src/observe/metrics.ts';
import { RiskTracker } from '../../../src/observe/risks.ts';
import { FAILED_AT, syntheticCluster } from '../../support/fixtures.ts';
import { CLUSTER_SIZES, type ClusterSize } from './protocol.ts';
import { ratio, round, summarize, type LatencySummary } from './stats.ts';

export interface RiskSizeFigures {
  readonly size: ClusterSize;
  readonly objects: number;
  /** CPU ms of the first evaluation of every node and namespace. */
  readonly initialFlushMs: number;
  /** µs to bring the counts current after one replica fails. */
  readonly churnFlushMicros: LatencySummary;
  /** µs of one scrape of the risk gauges. */
  readonly scrapeMicros: LatencySummary;
  readonly scrapeBytes: number;
}

export interface RiskResult {
  readonly sizes: readonly RiskSizeFigures[];
  /** Scrape p50 of the largest size over the smallest's. */
  readonly scrapeRatio?: number;
}

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

export async function runRisk(options: { sizes: readonly ClusterSize[]; iterations: number; log: (line: string) => void }): Promise<RiskResult> {
  const sizes: RiskSizeFigures[] = [];
  for (const size of options.sizes) {
    const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
    const tracker = new RiskTracker(model);
    const sink = tracker.sink();
    sink.setLonghornInstalled(true);
    const summary = syntheticCluster(sink, CLUSTER_SIZES[size]);
    const objects = Object.values(summary.counts).reduce((sum, n) => sum + n, 0);
    let started = cpuMicros();
    tracker.flush();
    const initialFlushMs = round((cpuMicros() - started) / 1000);

    const replicas = [...model.records('longhornReplica')].slice(0, options.iterations);
    const churn: number[] = [];
    for (const replica of replicas) {
      sink.upsert('longhornReplica', { ...replica, failedAt: FAILED_AT, desireState: 'stopped', currentState: 'stopped' });
      started = performance.now();
      tracker.flush();
      churn.push((performance.now() - started) * 1000);
    }

    const registry = new Registry();
    registerRiskMetrics(registry, tracker);
    let bytes = 0;
    for (let i = 0; i < 50; i++) bytes = (await registry.metrics()).length; // warm-up
    const scrapes: number[] = [];
    for (let i = 0; i < options.iterations; i++) {
      started = performance.now();
      await registry.metrics();
      scrapes.push((performance.now() - started) * 1000);
    }
    const figures: RiskSizeFigures = {
      size,
      objects,
      initialFlushMs,
      churnFlushMicros: summarize(churn),
      scrapeMicros: summarize(scrapes),
      scrapeBytes: bytes,
    };
    options.log(
      `[risk] ${size}: ${objects} objects, first evaluation ${initialFlushMs} ms CPU, churn re-evaluation p50 ${figures.churnFlushMicros.p50} µs, scrape p50/p99 ${figures.scrapeMicros.p50}/${figures.scrapeMicros.p99} µs (${bytes} bytes)`,
    );
    sizes.push(figures);
  }
  const first = sizes[0];
  const last = sizes[sizes.length - 1];
  return { sizes, ...(first && last && sizes.length > 1 ? { scrapeRatio: ratio(last.scrapeMicros.p50, first.scrapeMicros.p50) } : {}) };
}

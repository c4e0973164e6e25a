// The server's own view of latency: volume_guard_admission_duration_seconds, read from /metrics before and after
// a load run; the difference of the bucket counts is that run's histogram.

export interface HistogramSnapshot {
  /** Upper bounds in seconds, ascending, ending with +Inf. */
  readonly bounds: readonly number[];
  /** Cumulative counts per bound. */
  readonly cumulative: readonly number[];
  readonly sumSeconds: number;
  readonly count: number;
}

const METRIC = 'volume_guard_admission_duration_seconds';

export function parseHistogram(text: string, target: string): HistogramSnapshot {
  const buckets = new Map<number, number>();
  let sumSeconds = 0;
  let count = 0;
  const labelled = `target="${target}"`;
  for (const line of text.split('\n')) {
    if (!line.startsWith(METRIC) || !line.includes(labelled)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith(`${METRIC}_bucket{`)) {
      const le = /le="([^"]+)"/.exec(line)?.[1];
      if (le !== undefined) buckets.set(le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), value);
    } else if (line.startsWith(`${METRIC}_sum{`)) {
      sumSeconds = value;
    } else if (line.startsWith(`${METRIC}_count{`)) {
      count = value;
    }
  }
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  return { bounds, cumulative: bounds.map((bound) => buckets.get(bound) ?? 0), sumSeconds, count };
}

export async function scrapeHistogram(opsUrl: string, target: string): Promise<HistogramSnapshot> {
  const response = await fetch(`${opsUrl}/metrics`);
  return parseHistogram(await response.text(), target);
}

export function histogramDelta(before: HistogramSnapshot, after: HistogramSnapshot): HistogramSnapshot {
  const earlier = new Map(before.bounds.map((bound, i) => [bound, before.cumulative[i] ?? 0]));
  return {
    bounds: after.bounds,
    cumulative: after.bounds.map((bound, i) => (after.cumulative[i] ?? 0) - (earlier.get(bound) ?? 0)),
    sumSeconds: after.sumSeconds - before.sumSeconds,
    count: after.count - before.count,
  };
}

export interface ServerLatency {
  readonly requests: number;
  readonly meanMicros: number;
  /** Linear interpolation inside the bucket, as Prometheus' histogram_quantile does. */
  readonly p50Micros: number;
  readonly p99Micros: number;
  /** The bucket bound the 99th percentile falls under: p99 ≤ this, for certain. */
  readonly p99AtMostMicros: number;
  /** Share of requests answered within 1 ms, server-side. */
  readonly within1ms: number;
}

function quantile(histogram: HistogramSnapshot, fraction: number): { interpolated: number; bound: number } {
  const total = histogram.count;
  if (total === 0) return { interpolated: Number.NaN, bound: Number.NaN };
  const rank = fraction * total;
  let previousBound = 0;
  let previousCount = 0;
  for (let i = 0; i < histogram.bounds.length; i++) {
    const bound = histogram.bounds[i] as number;
    const cumulative = histogram.cumulative[i] as number;
    if (cumulative >= rank) {
      if (!Number.isFinite(bound)) return { interpolated: previousBound, bound };
      const inBucket = cumulative - previousCount;
      const position = inBucket > 0 ? (rank - previousCount) / inBucket : 1;
      return { interpolated: previousBound + (bound - previousBound) * position, bound };
    }
    previousBound = bound;
    previousCount = cumulative;
  }
  return { interpolated: previousBound, bound: Number.POSITIVE_INFINITY };
}

export function serverLatency(histogram: HistogramSnapshot): ServerLatency {
  const p50 = quantile(histogram, 0.5);
  const p99 = quantile(histogram, 0.99);
  const oneMs = histogram.bounds.indexOf(0.001);
  const micros = (seconds: number) => Math.round(seconds * 1e6 * 10) / 10;
  return {
    requests: histogram.count,
    meanMicros: histogram.count ? micros(histogram.sumSeconds / histogram.count) : Number.NaN,
    p50Micros: micros(p50.interpolated),
    p99Micros: micros(p99.interpolated),
    p99AtMostMicros: micros(p99.bound),
    within1ms: oneMs >= 0 && histogram.count ? Math.round(((histogram.cumulative[oneMs] as number) / histogram.count) * 10000) / 10000 : Number.NaN,
  };
}

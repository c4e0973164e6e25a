// Percentiles and summaries of latency samples (microseconds) for the benchmark report.

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank] as number;
}

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const values = Array.from(sorted);
  let total = 0;
  for (const value of values) total += value;
  return {
    count: values.length,
    p50: round(percentile(values, 0.5)),
    p90: round(percentile(values, 0.9)),
    p99: round(percentile(values, 0.99)),
    max: round(values.length ? (values[values.length - 1] as number) : Number.NaN),
    mean: round(values.length ? total / values.length : Number.NaN),
  };
}

/** Three significant digits are plenty for timings; keeps the JSON readable. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  if (value === 0) return 0;
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return Number(value.toFixed(Math.min(digits, 3)));
}

export function ratio(numerator: number, denominator: number): number {
  return denominator > 0 && Number.isFinite(numerator) ? round(numerator / denominator) : Number.NaN;
}

/** `12.3 µs`, `1.23 ms`, `1.2 s`. */
export function formatMicros(micros: number): string {
  if (!Number.isFinite(micros)) return 'n/a';
  if (micros < 1000) return `${round(micros)} µs`;
  if (micros < 1_000_000) return `${round(micros / 1000)} ms`;
  return `${round(micros / 1_000_000)} s`;
}

// The admission log lines of a volume-guard server child, read from its stdout: a pipe to the benchmark, as a pod's
// stdout is a pipe to the container runtime. The child used to write them to a file, whose page cache was charged
// to the child's memory cgroup (it filled the 512 Mi limit in a run whose RSS peaked at 282 MiB) and forced
// reclaim while latencies were being timed; a pipe leaves nothing in the child's cgroup.
//
// Only the lines written between mark() and durations() are kept; the rest is read and dropped.

import { summarize, type LatencySummary } from './stats.ts';

export class AdmissionLog {
  #recording = false;
  /** Whether the text kept starts inside a line written before mark() (its first line is dropped). */
  #startsMidLine = false;
  #chunks: string[] = [];
  /** Whether the last text read ended mid-line. */
  #midLine = false;

  /** Text read from the child's stdout (decoded as UTF-8 by the stream). */
  push(text: string): void {
    if (text.length === 0) return;
    if (this.#recording) this.#chunks.push(text);
    this.#midLine = !text.endsWith('\n');
  }

  /** Keeps the lines written from now on (until durations()). */
  mark(): void {
    this.#recording = true;
    this.#chunks = [];
    this.#startsMidLine = this.#midLine;
  }

  /** Server-side durations (µs, from durationMs) of the admission lines for `target` kept since mark(); stops keeping. */
  durations(target: string): LatencySummary | undefined {
    let text = this.#chunks.join('');
    if (this.#startsMidLine) text = text.slice(text.indexOf('\n') + 1);
    this.#recording = false;
    this.#chunks = [];
    return admissionDurations(text, target);
  }
}

/** Server-side durations (µs) of the admission log lines for `target` in `text`. */
export function admissionDurations(text: string, target: string): LatencySummary | undefined {
  const durations: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"admission"')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; target?: string; durationMs?: number };
      if (entry.msg === 'admission' && entry.target === target && typeof entry.durationMs === 'number') durations.push(entry.durationMs * 1000);
    } catch {
      // a partial line at the end
    }
  }
  return durations.length > 0 ? summarize(durations) : undefined;
}

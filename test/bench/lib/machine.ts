// What the figures were measured on: they only mean something next to the machine and its load.

import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';

export interface MachineFigures {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly platform: string;
  readonly totalMemoryMiB: number;
  /** 1, 5 and 15 minute load averages when the run started: other work on the machine skews latencies. */
  readonly loadAverageAtStart: readonly number[];
  /**
   * One random Map.get on 100,000 string keys, CPU ns: a yardstick for comparing machines (a quiet modern x86
   * core does it in well under 100 ns).
   */
  readonly mapGetNanos: number;
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line) return line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown';
}

function mapGetNanos(): number {
  const map = new Map<string, number>();
  const keys: string[] = [];
  for (let i = 0; i < 100_000; i++) {
    const key = `pvc-${i.toString(16).padStart(8, '0')}-${((i * 2654435761) >>> 0).toString(16)}`;
    keys.push(key);
    map.set(key, i);
  }
  let sum = 0;
  let lookups = 0;
  const start = process.cpuUsage();
  for (let round = 0; round < 20; round++) {
    for (let i = round; i < keys.length; i += 7) {
      sum += map.get(keys[(i * 7919) % keys.length] as string) ?? 0;
      lookups++;
    }
  }
  const used = process.cpuUsage(start);
  if (sum < 0) throw new Error('unreachable');
  return Math.round(((used.user + used.system) * 1000) / lookups);
}

export function describeMachine(): MachineFigures {
  return {
    nproc: availableParallelism(),
    cpuModel: cpuModel(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    totalMemoryMiB: Math.round(totalmem() / 2 ** 20),
    loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
    mapGetNanos: mapGetNanos(),
  };
}

// Running a volume-guard server child under a memory limit, as the chart's pod runs: in a memory cgroup of its own.
// Node sizes V8's heap from the cgroup's limit (half of it for the old generation on 64-bit builds: 256 MiB under
// 512 Mi, measured), and collects harder as the heap nears it. Without the limit the same server on this 24 GiB
// machine may grow its heap to 4 GiB before collecting, so its peak RSS says little about a pod's.
//
// cgroup v1 (a `memory` hierarchy) and v2 (a unified hierarchy with the memory controller) are tried under this
// process's own cgroup. Where neither can be written (no root, a read-only mount) the child runs without a limit and
// the report says why.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface MemoryLimit {
  /** The limit the child runs under, bytes; null when it runs without one. */
  readonly limitBytes: number | null;
  /** How: "cgroup v1", "cgroup v2", or why not ("off (--memory-limit off)", "no writable memory cgroup: …"). */
  readonly how: string;
}

export interface LimitedSpawn {
  readonly limit: MemoryLimit;
  /** fork() options that start the child in the cgroup: `execPath` and the arguments before Node's own. */
  readonly execPath: string;
  readonly execArgvPrefix: readonly string[];
  /** Removes the cgroup once the child has exited. */
  readonly release: () => void;
}

/**
 * `sh -c` moves itself into the cgroup, then execs Node, which inherits it (and the IPC channel's descriptor):
 * the limit holds from Node's first allocation, before V8 reads it to size its heap.
 */
const ENTER_CGROUP = 'echo $$ > "$0/cgroup.procs" && exec "$@"';

let created = 0;

/** This process's cgroup directory for the controller `name` (v1), or the unified one (v2), when mounted. */
function ownCgroup(version: 1 | 2): string | undefined {
  const lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  if (version === 1) {
    const line = lines.find((entry) => entry.split(':')[1]?.split(',').includes('memory'));
    const base = '/sys/fs/cgroup/memory';
    return line && existsSync(`${base}/memory.limit_in_bytes`) ? path.join(base, line.split(':')[2] ?? '/') : undefined;
  }
  const line = lines.find((entry) => entry.startsWith('0::'));
  for (const base of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    const controllers = `${base}/cgroup.controllers`;
    if (line && existsSync(controllers) && readFileSync(controllers, 'utf8').split(/\s+/).includes('memory')) {
      return path.join(base, line.slice(3));
    }
  }
  return undefined;
}

function tryCgroup(version: 1 | 2, limitBytes: number): { readonly dir: string } | { readonly reason: string } {
  const parent = ownCgroup(version);
  if (!parent) return { reason: `no cgroup v${version} memory controller` };
  const dir = path.join(parent, `volume-guard-bench-${process.pid}-${++created}`);
  try {
    if (version === 2) writeFileSync(path.join(parent, 'cgroup.subtree_control'), '+memory');
    mkdirSync(dir);
    writeFileSync(path.join(dir, version === 1 ? 'memory.limit_in_bytes' : 'memory.max'), String(limitBytes));
    // No swapping out instead of reaching the limit, as in a pod (v1 only: v2's swap has a limit of its own).
    if (version === 1 && existsSync(path.join(dir, 'memory.swappiness'))) writeFileSync(path.join(dir, 'memory.swappiness'), '0');
    if (version === 2 && existsSync(path.join(dir, 'memory.swap.max'))) writeFileSync(path.join(dir, 'memory.swap.max'), '0');
    return { dir };
  } catch (error) {
    try {
      rmdirSync(dir);
    } catch {
      // never made
    }
    return { reason: `cgroup v${version}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
}

/** How to start a child under `limitBytes` (none: undefined or `enabled` false). */
export function limitedSpawn(limitBytes: number | undefined, enabled: boolean): LimitedSpawn {
  const unlimited = (how: string): LimitedSpawn => ({ limit: { limitBytes: null, how }, execPath: process.execPath, execArgvPrefix: [], release: () => undefined });
  if (!enabled) return unlimited('off (--memory-limit off)');
  if (limitBytes === undefined) return unlimited('off (the chart sets no memory limit)');
  if (process.platform !== 'linux') return unlimited(`off (no cgroups on ${process.platform})`);
  const reasons: string[] = [];
  for (const version of [1, 2] as const) {
    const outcome = tryCgroup(version, limitBytes);
    if ('reason' in outcome) {
      reasons.push(outcome.reason);
      continue;
    }
    return {
      limit: { limitBytes, how: `cgroup v${version}` },
      execPath: '/bin/sh',
      execArgvPrefix: ['-c', ENTER_CGROUP, outcome.dir, process.execPath],
      release: () => {
        try {
          rmdirSync(outcome.dir);
        } catch {
          // Still busy (a child not yet reaped) or already gone: the kernel keeps an empty cgroup cheaply.
        }
      },
    };
  }
  return unlimited(`off (no writable memory cgroup: ${reasons.join('; ')})`);
}

/**
 * This process's peak RSS: the kernel's high-water mark of its own address space (VmHWM). Not getrusage's maxrss:
 * Linux carries that over from the process it was forked from (libuv's spawn shares the parent's memory until the
 * exec), so a child forked by a benchmark parent holding 400 MiB reported a 400 MiB peak before doing anything
 * (measured 2026-12-05). maxrss only where /proc is not there.
 */
export function peakRssBytes(status = readProcStatus()): number {
  const match = status === undefined ? null : /^VmHWM:\s+(\d+) kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

/**
 * The peak memory use of this process's memory cgroup (v1 `memory.max_usage_in_bytes`, v2 `memory.peak`): what a
 * pod's limit is enforced on (its processes' RSS and the page cache they use), read in a child the benchmark started
 * under a limit. File pages another cgroup read first (Node's binary, already cached for the benchmark itself) stay
 * charged there, so this can read below the child's RSS; a pod starting cold is charged for them. Undefined elsewhere, or where the kernel keeps no peak (v2 before Linux 5.19).
 */
export function cgroupPeakBytes(): number | undefined {
  for (const [version, file] of [
    [1, 'memory.max_usage_in_bytes'],
    [2, 'memory.peak'],
  ] as const) {
    try {
      const dir = ownCgroup(version);
      if (!dir || !path.basename(dir).startsWith('volume-guard-bench-')) continue;
      const value = Number(readFileSync(path.join(dir, file), 'utf8').trim());
      if (Number.isFinite(value) && value > 0) return value;
    } catch {
      // not mounted, not ours or no such file
    }
  }
  return undefined;
}

function readProcStatus(): string | undefined {
  try {
    return readFileSync('/proc/self/status', 'utf8');
  } catch {
    return undefined;
  }
}

// Starting and stopping the server children (lib/server-child.ts) with fork(); never leaves one running.

import { execFile, fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import type { KindEventCost } from './events.ts';
import { AdmissionLog } from './admission-log.ts';
import { limitedSpawn, type MemoryLimit } from './memory-limit.ts';
import type { ChildMessage, ChildOptions, ClusterSize, CollectionCount, KindBytes, MemoryFigures } from './protocol.ts';

/**
 * The server child runs as compiled JavaScript, as the image runs dist/ (Dockerfile): from TypeScript sources Node
 * loads its type stripper into the process and into each manifest worker, which added 89 MB of RSS for two workers
 * where the built ones add 48 MB (measured 2026-12-02). tsconfig.server-child.json compiles the child and what it
 * imports (src/, test/support/) into node_modules/.cache/volume-guard-bench, once per benchmark run (~6 s).
 */
const SERVER_CHILD_TSCONFIG = fileURLToPath(new URL('../tsconfig.server-child.json', import.meta.url));
/**
 * A folder of its own per checkout: git worktrees may share one node_modules (a symlink), and a benchmark compiling
 * another checkout's child into the same folder would swap the code under a running one.
 */
const CHECKOUT = realpathSync(fileURLToPath(new URL('../../..', import.meta.url)));
const BUILT_DIR = join(fileURLToPath(new URL('../../../node_modules/.cache/volume-guard-bench', import.meta.url)), createHash('sha256').update(CHECKOUT).digest('hex').slice(0, 12));
const BUILT_CHILD = join(BUILT_DIR, 'test/bench/lib/server-child.js');
let built: Promise<string> | undefined;
function builtServerChild(): Promise<string> {
  built ??= (async () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    await promisify(execFile)(process.execPath, [tsc, '-p', SERVER_CHILD_TSCONFIG, '--outDir', BUILT_DIR], { maxBuffer: 16 * 1024 * 1024 });
    return BUILT_CHILD;
  })();
  return built;
}
const CHART_VALUES = fileURLToPath(new URL('../../../charts/volume-guard/values.yaml', import.meta.url));

export type ReadyMessage = Extract<ChildMessage, { type: 'ready' }>;

export interface ServerChild {
  readonly ready: ReadyMessage;
  /** The memory limit it runs under (volume-guard children; the floors run without one). */
  readonly memoryLimit: MemoryLimit;
  readonly process: ChildProcess;
  /** The admission log lines it writes to its stdout (started with logToParent), read in this process. */
  readonly admissionLog?: AdmissionLog;
  memory(): Promise<MemoryFigures>;
  /** µs per watch event of each kind applied to the guard's built model (ask after the load runs). */
  eventCost(perKind: number): Promise<readonly KindEventCost[]>;
  /** Heap per kind of the guard's model (destructive: empties the model; ask last). */
  kindBytes(): Promise<readonly KindBytes[]>;
  /** The child's CPU time so far (user + system), µs. */
  cpuMicros(): Promise<number>;
  /** The collections the child ran since it started (volume-guard children). */
  collections(): Promise<CollectionCount>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
// Whatever happens to the benchmark, its children go with it.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function nextMessage<T extends ChildMessage['type']>(child: ChildProcess, type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`server child ${child.pid}: no '${type}' message within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: ChildMessage) => {
      if (message.type === 'error') {
        cleanup();
        reject(new Error(`server child ${child.pid} failed: ${message.message}`));
      } else if (message.type === type) {
        cleanup();
        resolve(message as Extract<ChildMessage, { type: T }>);
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      cleanup();
      const how = signal === 'SIGKILL' ? 'killed (SIGKILL: under a memory limit, the kernel\'s OOM killer)' : `exited (${code ?? signal})`;
      reject(new Error(`server child ${child.pid} ${how} before sending '${type}'`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Where children write V8 CPU profiles (--cpu-prof), when set. */
let cpuProfileDir: string | undefined;
export function profileChildrenInto(dir: string | undefined): void {
  cpuProfileDir = dir;
}

/**
 * What the chart ships: its `nodeOptions` (NODE_OPTIONS), the environment variables of its `env` list that have a
 * literal value, and its memory limit, read from the chart's values.
 */
export function chartNodeSettings(): {
  readonly nodeOptions: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly memoryLimitBytes: number | undefined;
} {
  const values = parseYaml(readFileSync(CHART_VALUES, 'utf8')) as { nodeOptions?: unknown; env?: unknown; resources?: { limits?: { memory?: unknown } } } | null;
  const nodeOptions = typeof values?.nodeOptions === 'string' ? values.nodeOptions.split(' ').filter(Boolean) : [];
  const env: Record<string, string> = {};
  for (const entry of Array.isArray(values?.env) ? (values.env as unknown[]) : []) {
    const { name, value } = (entry ?? {}) as { name?: unknown; value?: unknown };
    if (typeof name === 'string' && (typeof value === 'string' || typeof value === 'number')) env[name] = String(value);
  }
  const limit = values?.resources?.limits?.memory;
  const match = typeof limit === 'string' ? /^(\d+)(Mi|Gi)$/.exec(limit) : null;
  const memoryLimitBytes = match ? Number(match[1]) * (match[2] === 'Gi' ? 2 ** 30 : 2 ** 20) : undefined;
  return { nodeOptions, env, memoryLimitBytes };
}

/**
 * Node flags of the server children: the chart's NODE_OPTIONS unless replaced (`--node-flags`, for experiments).
 * They reach the children as NODE_OPTIONS, as the chart's reach the pod, so Node refuses there what it would refuse
 * in the pod (most V8 flags: `--min-semi-space-size`, `--no-allocation-site-pretenuring`...).
 */
const CHART_SETTINGS = chartNodeSettings();
let extraNodeFlags: readonly string[] = CHART_SETTINGS.nodeOptions;
export function childNodeFlags(flags: readonly string[]): void {
  extraNodeFlags = flags;
}
export function currentChildNodeFlags(): readonly string[] {
  return extraNodeFlags;
}

/** volume-guard children keep V8's defaults instead of what `serve` sets (src/server/v8-flags.ts): experiments only. */
let v8Defaults = false;
export function childV8Defaults(enabled: boolean): void {
  v8Defaults = enabled;
}

/**
 * The memory limit a volume-guard child runs under: the chart's limit, as its pod would, except at the `xl` size,
 * whose pod the README sizes at 768 Mi ("Sizing the pod"; test/unit/readme.test.ts keeps the two the same).
 */
export const XL_MEMORY_LIMIT_BYTES = 768 * 2 ** 20;
let memoryLimitEnabled = true;
export function runUnderMemoryLimit(enabled: boolean): void {
  memoryLimitEnabled = enabled;
}
export function memoryLimitFor(size: ClusterSize | undefined, chartLimitBytes = CHART_SETTINGS.memoryLimitBytes): number | undefined {
  return size === 'xl' ? XL_MEMORY_LIMIT_BYTES : chartLimitBytes;
}
/** The limit each size's volume-guard child ran under, for the report. */
const limitsUsed: Partial<Record<ClusterSize, MemoryLimit>> = {};
export function memoryLimitsUsed(): Partial<Record<ClusterSize, MemoryLimit>> {
  return { ...limitsUsed };
}

/** Environment of the server children beyond the benchmark's own: the chart's `env` values. */
const childEnv: Readonly<Record<string, string>> = CHART_SETTINGS.env;
export function currentChildEnv(): Readonly<Record<string, string>> {
  return childEnv;
}

export async function startServerChild(options: ChildOptions, readyTimeoutMs = 10 * 60_000): Promise<ServerChild> {
  const spawn = limitedSpawn(options.mode === 'guard' ? memoryLimitFor(options.size) : undefined, memoryLimitEnabled && options.mode === 'guard');
  if (options.mode === 'guard' && options.size) limitsUsed[options.size] = spawn.limit;
  const childOptions: ChildOptions = options.mode === 'guard' && v8Defaults ? { ...options, v8Defaults: true } : options;
  const child = fork(await builtServerChild(), [JSON.stringify(childOptions)], {
    execPath: spawn.execPath,
    // NODE_OPTIONS as the pod gets it (the chart's `nodeOptions`), in place of the benchmark's own.
    env: { ...process.env, ...childEnv, NODE_OPTIONS: extraNodeFlags.join(' ') },
    execArgv: [...spawn.execArgvPrefix, '--expose-gc', ...(cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfileDir] : [])],
    // stdout: the log lines, through a pipe to this process (outside the child's memory cgroup), when asked for.
    stdio: ['ignore', options.logToParent === true ? 'pipe' : 'ignore', 'inherit', 'ipc'],
  });
  live.add(child);
  // Always read: a pipe nobody reads fills up and blocks the child's synchronous log writes.
  let admissionLog: AdmissionLog | undefined;
  if (child.stdout) {
    const log = new AdmissionLog();
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => log.push(text));
    admissionLog = log;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => {
    live.delete(child);
    spawn.release();
  });
  let ready: ReadyMessage;
  try {
    ready = await nextMessage(child, 'ready', readyTimeoutMs);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    ready,
    memoryLimit: spawn.limit,
    process: child,
    ...(admissionLog ? { admissionLog } : {}),
    async memory() {
      const reply = nextMessage(child, 'memory', 30_000);
      child.send({ type: 'memory' });
      return (await reply).memory;
    },
    async eventCost(perKind: number) {
      const reply = nextMessage(child, 'eventCost', 5 * 60_000);
      child.send({ type: 'eventCost', perKind });
      return (await reply).kinds;
    },
    async kindBytes() {
      const reply = nextMessage(child, 'kindBytes', 5 * 60_000);
      child.send({ type: 'kindBytes' });
      return (await reply).kinds;
    },
    async cpuMicros() {
      const reply = nextMessage(child, 'cpu', 30_000);
      child.send({ type: 'cpu' });
      return (await reply).micros;
    },
    async collections() {
      const reply = nextMessage(child, 'collections', 30_000);
      child.send({ type: 'collections' });
      const { scavenges, markCompacts, pauseMs } = await reply;
      return { scavenges, markCompacts, pauseMs };
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

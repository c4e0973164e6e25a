// The real-Kubernetes test cluster: one kube-apiserver with etcd embedded in the same
// process (test/harness/cmd/apiserver), built from Go modules by test/harness/build.sh,
// plus kubectl and helm built the same way. No container engine, no downloads at run
// time. kube-controller-manager (the default test cluster) and the whole cluster are
// started by test/harness/node.ts.
//
// Layout (repo-relative, gitignored):
//   .cluster/bin/{kube-apiserver-embedded,kubectl,helm}   built tools
//   .cluster/state/                 etcd data, PKI, tokens, ports.json (kept across restarts)
//   .cluster/apiserver.log / .pid   the background API server
//   .cluster/kubeconfig             admin (user "admin", group system:masters)
//   .cluster/kubeconfig-user        non-admin (user "alice", group "developers", no RBAC grants)
//
// Used by scripts/cluster.ts (npm run cluster:up / cluster:down / cluster:status) and
// imported by vitest global setups and e2e tests. Node built-ins only.

import { spawn, spawnSync, type ChildProcessWithoutNullStreams, type SpawnOptionsWithoutStdio } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Log = (line: string) => void;

export interface ClusterPaths {
  /** Repository root. */
  root: string;
  /** <root>/.cluster */
  dir: string;
  binDir: string;
  stateDir: string;
  logFile: string;
  pidFile: string;
  lockFile: string;
  /** JSON array: the extra arguments the API server was last started with. */
  argsFile: string;
  /** Build stamp of the binary the running API server was started from. */
  runningStampFile: string;
  kubeconfig: string;
  kubeconfigUser: string;
  buildScript: string;
  crdDir: string;
}

export interface ClusterInfo {
  /** https://127.0.0.1:PORT */
  server: string;
  /** Admin kubeconfig (user admin, group system:masters). */
  kubeconfig: string;
  /** Non-admin kubeconfig (user alice, group developers, nothing granted). */
  kubeconfigUser: string;
  /** PEM of the cluster CA (the API server's serving cert is signed by it). */
  caFile: string;
  /** Bearer tokens of the two identities. */
  tokens: { admin: string; user: string };
  stateDir: string;
  pid: number;
  bin: { kubectl: string; helm: string; helm4: string; apiserver: string };
  /** Set when the whole cluster runs (controllers, scheduler, real node, KWOK): see test/harness/node.ts. */
  whole?: WholeClusterInfo;
}

/** The whole cluster's facts a test needs (test/harness/node.ts). */
export interface WholeClusterInfo {
  /** Name of the real node (kubelet + containerd), '' when started with --no-node. */
  nodeName: string;
  /** The second real node (`--second-node`: own containerd and kubelet in its own network namespace), when it runs. */
  secondNode?: { nodeName: string; address: string; netns: string; podSubnet: string; localVolumeDir: string };
  /** Fake nodes managed by KWOK (annotation kwok.x-k8s.io/node=fake). */
  fakeNodes: string[];
  serviceCidr: string;
  /** The `kubernetes` Service's ClusterIP: pods reach the API server there (port 443, DNAT from the pod bridge only). */
  apiServiceIp: string;
  podCidr: string;
  /** The real node's pod bridge, its gateway (the node's InternalIP) and subnet. */
  bridge: string;
  gateway: string;
  nodeSubnet: string;
  /** Directory for local PersistentVolumes of the real node (bytes written by pods land here). */
  localVolumeDir: string;
  /** The two local images every pod uses (imagePullPolicy: Never). */
  images: { busybox: string; pause: string };
}

export interface EnsureClusterOptions {
  /** Progress lines (build progress, start, CRDs). Default: stderr. */
  log?: Log;
  /** Run build.sh first (a no-op when the binaries are current). Default true. */
  build?: boolean;
  /** Apply test/harness/crds and wait until they are Established. Default true. */
  crds?: boolean;
  /** How long to wait for READY after starting. Default 180 s. */
  readyTimeoutMs?: number;
  /**
   * Extra kube-apiserver-embedded arguments (the whole cluster's). Default: those it was last started with
   * (.cluster/apiserver.args), so a plain call never turns a whole cluster back into a bare API server.
   */
  apiServerArgs?: readonly string[];
  /** build.sh targets. Default: what the API-server-only suite needs (apiserver kubectl helm helm4). */
  buildTargets?: readonly string[];
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A step that runs at the end of `cluster:up` (e.g. start volume-guard, register the webhook). */
export type UpHook = (cluster: ClusterInfo, opts: { log: Log }) => Promise<void>;

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Everything lives under <repo>/.cluster. Two environment variables move parts of it:
 * TEST_CLUSTER_DIR (state, log, pid, kubeconfigs: a second, independent cluster)
 * and CLUSTER_BIN_DIR (the built tools; default <repo>/.cluster/bin, shared).
 */
export const paths: ClusterPaths = (() => {
  const root = resolve(here, '..', '..');
  const dir = resolve(process.env.TEST_CLUSTER_DIR || join(root, '.cluster'));
  return {
    root,
    dir,
    binDir: resolve(process.env.CLUSTER_BIN_DIR || join(root, '.cluster', 'bin')),
    stateDir: join(dir, 'state'),
    logFile: join(dir, 'apiserver.log'),
    pidFile: join(dir, 'apiserver.pid'),
    runningStampFile: join(dir, 'apiserver.stamp'),
    lockFile: join(dir, 'up.lock'),
    argsFile: join(dir, 'apiserver.args'),
    kubeconfig: join(dir, 'kubeconfig'),
    kubeconfigUser: join(dir, 'kubeconfig-user'),
    buildScript: join(here, 'build.sh'),
    crdDir: join(here, 'crds'),
  };
})();

export const bin = {
  apiserver: join(paths.binDir, 'kube-apiserver-embedded'),
  kubectl: join(paths.binDir, 'kubectl'),
  helm: join(paths.binDir, 'helm'),
  helm4: join(paths.binDir, 'helm4'),
  kcm: join(paths.binDir, 'kube-controller-manager'),
  scheduler: join(paths.binDir, 'kube-scheduler'),
  kubelet: join(paths.binDir, 'kubelet'),
  kwok: join(paths.binDir, 'kwok'),
  pause: join(paths.binDir, 'pause'),
};

/** build.sh targets of the API-server-only suite. */
export const BASE_BUILD_TARGETS = ['apiserver', 'kubectl', 'helm', 'helm4'] as const;

const defaultLog: Log = (line) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// Child processes tied to this one

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
// The leader of the command's own process group: forwards its stdin, waits for it, and on SIGTERM (this process
// died: --pdeathsig; or a timeout) terminates the whole group, grandchildren included (a build's compilers, the
// `ctr` an image script runs), then itself. TERM is ignored until the group has been sent its TERM: the kernel sends
// the parent-death signal again each time the leader is handed to another exiting thread of this process, and a
// second TERM landing between resetting the trap and the group kill left the group running (CI, 2026-12-03).
const TIE_SCRIPT = 'trap "trap \'\' TERM; kill -TERM -$$ 2>/dev/null; trap - TERM; kill -TERM $$" TERM; "$@" <&0 & wait $!';

function findExecutable(cmd: string, pathVar: string): boolean {
  if (cmd.includes('/')) return existsSync(cmd);
  return pathVar.split(':').some((dir) => dir !== '' && existsSync(join(dir, cmd)));
}

/**
 * spawn(), but the command cannot outlive this process: it runs in its own process group whose leader gets
 * SIGTERM when this process dies, however it dies (SIGKILL of a test runner included), and then ends the group.
 * Without setpriv (util-linux), a plain spawn.
 */
export function spawnTied(cmd: string, args: readonly string[], options: SpawnOptionsWithoutStdio): ChildProcessWithoutNullStreams {
  const stdio = { stdio: ['pipe', 'pipe', 'pipe'] as ['pipe', 'pipe', 'pipe'] };
  // A missing command fails as spawn() reports it (an 'error' event, ENOENT), not as bash's exit 127.
  if (!SETPRIV || !findExecutable(cmd, options.env?.PATH ?? process.env.PATH ?? '')) return spawn(cmd, args, { ...options, ...stdio });
  return spawn(SETPRIV, ['--pdeathsig', 'TERM', '--', 'bash', '-c', TIE_SCRIPT, 'tied', cmd, ...args], { ...options, ...stdio, detached: true });
}

// ---------------------------------------------------------------------------------------
// Building

/** Runs test/harness/build.sh, streaming its progress lines to `log`. */
export async function buildTools(opts: { log?: Log; force?: boolean; targets?: readonly string[] } = {}): Promise<void> {
  const log = opts.log ?? defaultLog;
  const args = [paths.buildScript, ...(opts.force ? ['--force'] : []), ...(opts.targets ?? BASE_BUILD_TARGETS)];
  const child = spawnTied('bash', args, {
    cwd: paths.root,
    env: { ...process.env, CLUSTER_BIN_DIR: paths.binDir },
  });
  child.stdin.end();
  const forward = (stream: NodeJS.ReadableStream) => {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        log(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    stream.on('end', () => {
      if (buf) log(buf);
    });
  };
  forward(child.stdout);
  forward(child.stderr);
  const code = await new Promise<number>((res, rej) => {
    child.on('error', rej);
    child.on('close', (c) => res(c ?? 1));
  });
  if (code !== 0) throw new Error(`test/harness/build.sh failed (exit ${code}); see the lines above`);
}

// ---------------------------------------------------------------------------------------
// Process state

function readPid(): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(paths.pidFile, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive and is the API server of this state dir (guards against pid reuse). */
function isOurApiServer(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (argv[0]?.endsWith('kube-apiserver-embedded') && argv.includes(paths.stateDir)) {
      // A zombie (exited, not yet reaped by the parent that started it) counts as gone.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      return state !== 'Z' && state !== 'X';
    }
    return false;
  } catch {
    return false; // no /proc entry: gone
  }
}

interface StateFiles {
  server: string;
  caFile: string;
  tokens: { admin: string; user: string };
}

function readState(): StateFiles | undefined {
  try {
    const ports = JSON.parse(readFileSync(join(paths.stateDir, 'ports.json'), 'utf8')) as { api: number };
    const toks = JSON.parse(readFileSync(join(paths.stateDir, 'tokens.json'), 'utf8')) as { Admin: string; User: string };
    return {
      server: `https://127.0.0.1:${ports.api}`,
      caFile: join(paths.stateDir, 'pki', 'ca.crt'),
      tokens: { admin: toks.Admin, user: toks.User },
    };
  } catch {
    return undefined;
  }
}

/** GET <server><path> with the admin token; resolves to the HTTP status (0 = no answer). */
function getStatus(state: StateFiles, path: string, timeoutMs = 3000): Promise<number> {
  return new Promise((res) => {
    let ca: Buffer;
    try {
      ca = readFileSync(state.caFile);
    } catch {
      res(0);
      return;
    }
    const req = request(
      `${state.server}${path}`,
      { ca, headers: { authorization: `Bearer ${state.tokens.admin}` }, timeout: timeoutMs },
      (resp) => {
        resp.resume();
        res(resp.statusCode ?? 0);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => res(0));
    req.end();
  });
}

export interface ClusterStatus {
  running: boolean;
  ready: boolean;
  pid?: number;
  server?: string;
  kubeconfig?: string;
  kubeconfigUser?: string;
}

export async function clusterStatus(): Promise<ClusterStatus> {
  const pid = readPid();
  const running = pid !== undefined && isOurApiServer(pid);
  const state = readState();
  const ready = running && state !== undefined && (await getStatus(state, '/readyz')) === 200;
  return {
    running,
    ready,
    ...(running ? { pid } : {}),
    ...(state ? { server: state.server } : {}),
    ...(existsSync(paths.kubeconfig) ? { kubeconfig: paths.kubeconfig } : {}),
    ...(existsSync(paths.kubeconfigUser) ? { kubeconfigUser: paths.kubeconfigUser } : {}),
  };
}

function info(pid: number): ClusterInfo {
  const state = readState();
  if (!state) throw new Error(`no cluster state in ${paths.stateDir}`);
  return {
    server: state.server,
    kubeconfig: paths.kubeconfig,
    kubeconfigUser: paths.kubeconfigUser,
    caFile: state.caFile,
    tokens: state.tokens,
    stateDir: paths.stateDir,
    pid,
    bin: { kubectl: bin.kubectl, helm: bin.helm, helm4: bin.helm4, apiserver: bin.apiserver },
  };
}

// ---------------------------------------------------------------------------------------
// Locking: several vitest workers / CLI calls may ask for the cluster at once.

let inProcess: Promise<unknown> = Promise.resolve();

/** Serialises cluster operations: within this process by a promise chain, across processes by a lock file. */
function withLock<T>(log: Log, fn: () => Promise<T>): Promise<T> {
  const next = inProcess.then(
    () => withFileLock(log, fn),
    () => withFileLock(log, fn),
  );
  inProcess = next.catch(() => undefined);
  return next;
}

async function withFileLock<T>(log: Log, fn: () => Promise<T>): Promise<T> {
  await mkdir(paths.dir, { recursive: true });
  let waitedSince = 0;
  for (;;) {
    try {
      const fh = await open(paths.lockFile, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt((await readFile(paths.lockFile, 'utf8').catch(() => '')).trim(), 10);
      let alive = false;
      if (holder > 0) {
        try {
          process.kill(holder, 0);
          alive = true;
        } catch (e) {
          alive = (e as NodeJS.ErrnoException).code === 'EPERM';
        }
      }
      if (!alive || holder === process.pid) {
        // Stale lock: its holder died (or it is a leftover of an earlier process with our pid).
        await unlink(paths.lockFile).catch(() => undefined);
        continue;
      }
      if (!waitedSince) {
        waitedSince = Date.now();
        log(`cluster: waiting for process ${holder} (holds ${paths.lockFile})…`);
      }
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(paths.lockFile).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------
// Start / stop

/** Starts the API server in the background (detached) and waits for its READY line. */
async function startApiServer(log: Log, readyTimeoutMs: number, extraArgs: readonly string[] = savedArgs()): Promise<ClusterInfo> {
  if (!existsSync(bin.apiserver)) {
    throw new Error(`${bin.apiserver} is missing: run test/harness/build.sh (or ensureCluster({build: true}))`);
  }
  await mkdir(paths.stateDir, { recursive: true });
  routeBareServiceRangeUnreachable(log);
  if (existsSync(paths.logFile) && statSync(paths.logFile).size > 64 * 1024 * 1024) {
    await rename(paths.logFile, `${paths.logFile}.old`); // keep one older log, bounded
  }
  const offset = existsSync(paths.logFile) ? statSync(paths.logFile).size : 0;
  const fd = openSync(paths.logFile, 'a');
  const args = ['--state-dir', paths.stateDir, ...extraArgs];
  const child = spawn(bin.apiserver, args, { detached: true, stdio: ['ignore', fd, fd], cwd: paths.dir });
  closeSync(fd);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${bin.apiserver}`);
  let exited: number | null | undefined;
  child.on('exit', (code) => {
    exited = code;
  });
  child.unref();
  writeFileSync(paths.pidFile, `${pid}\n`);
  writeFileSync(paths.runningStampFile, binaryStamp());
  writeFileSync(paths.argsFile, `${JSON.stringify(extraArgs)}\n`);
  log(`cluster: started kube-apiserver (pid ${pid}, log ${paths.logFile})`);

  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    const text = readLogFrom(offset);
    const m = /^READY (https:\/\/\S+)$/m.exec(text);
    if (m) {
      await copyFile(join(paths.stateDir, 'kubeconfig'), paths.kubeconfig);
      await copyFile(join(paths.stateDir, 'kubeconfig-user'), paths.kubeconfigUser);
      log(`cluster: kube-apiserver ready at ${m[1]}`);
      return info(pid);
    }
    if (exited !== undefined || !isOurApiServer(pid)) {
      await unlink(paths.pidFile).catch(() => undefined);
      throw new Error(`kube-apiserver exited before it was ready (exit ${exited ?? '?'}); last log lines:\n${tail(text, 30)}`);
    }
    await sleep(250);
  }
  throw new Error(`kube-apiserver not ready after ${readyTimeoutMs} ms; see ${paths.logFile}:\n${tail(readLogFrom(offset), 30)}`);
}

/** cmd/apiserver's default --service-cluster-ip-range (the whole cluster passes its own and routes it itself). */
export const BARE_SERVICE_CIDR = '10.96.0.0/16';

/**
 * Routes the bare API server's service range `unreachable` before it starts. No kube-proxy runs beside it, so a
 * ClusterIP it dials (a webhook or APIService named by Service without endpoint routing) would otherwise follow the
 * default route off the machine; unreachable fails it at once, on loopback. Left in place at stop: other test
 * clusters may share the range, and the route leads nowhere either way. Needs root (`ip route`); without it the
 * harness says so and goes on (the API server then only dials what the tests register by URL).
 */
function routeBareServiceRangeUnreachable(log: Log): void {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    log(`cluster: not root: service range ${BARE_SERVICE_CIDR} not routed unreachable`);
    return;
  }
  const r = spawnSync('ip', ['route', 'replace', 'unreachable', BARE_SERVICE_CIDR], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) {
    throw new Error(`could not route ${BARE_SERVICE_CIDR} unreachable (ip route replace: ${(r.stderr || String(r.error ?? r.status)).trim()}); nothing may leave this machine, so the API server was not started`);
  }
}

/** The extra arguments the API server was last started with ([] when never). */
export function savedArgs(): string[] {
  try {
    const v: unknown = JSON.parse(readFileSync(paths.argsFile, 'utf8'));
    return Array.isArray(v) && v.every((a) => typeof a === 'string') ? v : [];
  } catch {
    return [];
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** build.sh's stamp (input hash) of the API server binary; '' when unknown. */
function binaryStamp(): string {
  return readText(`${bin.apiserver}.stamp`);
}

function readLogFrom(offset: number): string {
  try {
    return readFileSync(paths.logFile).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** SIGTERM, wait up to timeoutMs, then SIGKILL. Resolves true when a server was running. */
async function stopProcess(log: Log, timeoutMs: number): Promise<boolean> {
  const pid = readPid();
  if (pid === undefined || !isOurApiServer(pid)) {
    await unlink(paths.pidFile).catch(() => undefined);
    return false;
  }
  log(`cluster: stopping kube-apiserver (pid ${pid})`);
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && isOurApiServer(pid)) await sleep(100);
  if (isOurApiServer(pid)) {
    log(`cluster: kube-apiserver (pid ${pid}) still running after ${timeoutMs} ms: SIGKILL`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    while (isOurApiServer(pid)) await sleep(100);
  }
  await unlink(paths.pidFile).catch(() => undefined);
  return true;
}

/** Applies the test CRDs (test/harness/crds) and waits until all are Established. */
export async function applyCrds(opts: { log?: Log } = {}): Promise<void> {
  const log = opts.log ?? defaultLog;
  const applied = await kubectl(['apply', '--server-side', '--force-conflicts', '-f', paths.crdDir]);
  if (applied.code !== 0) throw new Error(`applying CRDs failed:\n${applied.stderr}${applied.stdout}`);
  const waited = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', paths.crdDir]);
  if (waited.code !== 0) throw new Error(`CRDs not Established:\n${waited.stderr}${waited.stdout}`);
  log(`cluster: CRDs established (${applied.stdout.trim().split('\n').length} from ${paths.crdDir})`);
}

/**
 * Makes sure the test cluster runs and is ready: builds the tools when needed, starts the
 * API server when it is not running (reusing .cluster/state: same port, same objects),
 * refreshes .cluster/kubeconfig{,-user} and applies the CRDs. Idempotent and safe to call
 * from several processes at once. Cold first call: 10-20 min (Go build); warm: ~5-10 s.
 */
export async function ensureCluster(opts: EnsureClusterOptions = {}): Promise<ClusterInfo> {
  const log = opts.log ?? defaultLog;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 180_000;
  return withLock(log, async () => {
    if (opts.build ?? true) await buildTools({ log, ...(opts.buildTargets ? { targets: opts.buildTargets } : {}) });
    const extraArgs = opts.apiServerArgs ?? savedArgs();
    let cluster: ClusterInfo;
    let status = await clusterStatus();
    if (status.running && binaryStamp() !== readText(paths.runningStampFile)) {
      // Rebuilt since it started (new flags or version): restart on the same port and data.
      log('cluster: kube-apiserver binary changed since it started: restarting it');
      await stopProcess(log, 30_000);
      status = await clusterStatus();
    } else if (status.running && JSON.stringify(extraArgs) !== JSON.stringify(savedArgs())) {
      log(`cluster: kube-apiserver runs with other arguments than asked (${extraArgs.join(' ') || 'none'}): restarting it`);
      await stopProcess(log, 30_000);
      status = await clusterStatus();
    }
    if (status.running && status.pid !== undefined) {
      if (!status.ready) {
        const state = readState();
        const deadline = Date.now() + readyTimeoutMs;
        while (state && Date.now() < deadline && (await getStatus(state, '/readyz')) !== 200) await sleep(250);
        if (!state || (await getStatus(state, '/readyz')) !== 200) {
          throw new Error(`kube-apiserver (pid ${status.pid}) runs but is not ready; see ${paths.logFile}`);
        }
      }
      cluster = info(status.pid);
      if (!existsSync(paths.kubeconfig) || !existsSync(paths.kubeconfigUser)) {
        await copyFile(join(paths.stateDir, 'kubeconfig'), paths.kubeconfig);
        await copyFile(join(paths.stateDir, 'kubeconfig-user'), paths.kubeconfigUser);
      }
      log(`cluster: already running at ${cluster.server} (pid ${cluster.pid})`);
    } else {
      cluster = await startApiServer(log, readyTimeoutMs, extraArgs);
    }
    if (opts.crds ?? true) await applyCrds({ log });
    return cluster;
  });
}

/** Stops the API server (SIGTERM, then SIGKILL after timeoutMs). `purge` also deletes its state. */
export async function stopCluster(opts: { log?: Log; purge?: boolean; timeoutMs?: number } = {}): Promise<boolean> {
  const log = opts.log ?? defaultLog;
  return withLock(log, async () => {
    const wasRunning = await stopProcess(log, opts.timeoutMs ?? 30_000);
    if (opts.purge) {
      await rm(paths.stateDir, { recursive: true, force: true });
      await rm(paths.kubeconfig, { force: true });
      await rm(paths.kubeconfigUser, { force: true });
      await rm(paths.argsFile, { force: true });
      log(`cluster: removed ${paths.stateDir} and the kubeconfigs`);
    }
    return wasRunning;
  });
}

/**
 * For outage tests: stops the API server, keeps it down for `downSeconds`, then starts it
 * again on the same port with the same etcd data. Resolves once it is ready again.
 * `onDown` runs right after the stop (e.g. to drive requests against the dead server).
 */
export async function restartApiServer(
  opts: { downSeconds?: number; log?: Log; readyTimeoutMs?: number; onDown?: () => Promise<void> | void } = {},
): Promise<ClusterInfo> {
  const log = opts.log ?? defaultLog;
  return withLock(log, async () => {
    const before = readState();
    await stopProcess(log, 30_000);
    const downMs = (opts.downSeconds ?? 0) * 1000;
    const upAt = Date.now() + downMs;
    if (opts.onDown) await opts.onDown();
    if (downMs > 0) log(`cluster: API server down for ${opts.downSeconds} s`);
    await sleep(Math.max(0, upAt - Date.now()));
    const cluster = await startApiServer(log, opts.readyTimeoutMs ?? 180_000);
    if (before && before.server !== cluster.server) {
      throw new Error(`API server came back on ${cluster.server}, not ${before.server}`);
    }
    return cluster;
  });
}

/** Runs the UpHooks in order (the later steps of `cluster:up`). */
export async function runUpHooks(cluster: ClusterInfo, hooks: readonly UpHook[], opts: { log?: Log } = {}): Promise<void> {
  const log = opts.log ?? defaultLog;
  for (const hook of hooks) await hook(cluster, { log });
}

// ---------------------------------------------------------------------------------------
// Running the tools

export interface RunOptions {
  /** Kubeconfig to use. Default: the admin one. */
  kubeconfig?: string;
  /** Written to the command's stdin. */
  input?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs a command, collects stdout/stderr; never throws on a non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  return new Promise((res, rej) => {
    const child = spawnTied(cmd, args, {
      cwd: opts.cwd ?? paths.root,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 120_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', rej);
    child.on('close', (code, signal) => res({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** .cluster/bin/kubectl --kubeconfig <admin by default> ...args */
export function kubectl(args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  return run(bin.kubectl, ['--kubeconfig', opts.kubeconfig ?? paths.kubeconfig, ...args], opts);
}

/** The Helm major versions the harness builds: 3 (.cluster/bin/helm) and 4 (.cluster/bin/helm4). */
export type HelmMajor = 3 | 4;
export const HELM_MAJORS: readonly HelmMajor[] = [3, 4];

/** .cluster/bin/helm4 (Helm 4), like `helm()`; its caches under .cluster/helm4. */
export function helm4(args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  return helm(args, { ...opts, major: 4 });
}

/** .cluster/bin/helm --kubeconfig <admin by default> ...args (Helm's caches kept under .cluster/helm). */
export function helm(args: readonly string[], opts: RunOptions & { major?: HelmMajor } = {}): Promise<CommandResult> {
  const four = opts.major === 4;
  const helmHome = join(paths.dir, four ? 'helm4' : 'helm');
  const env = {
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_DATA_HOME: join(helmHome, 'data'),
    ...(opts.env ?? process.env),
  };
  return run(four ? bin.helm4 : bin.helm, ['--kubeconfig', opts.kubeconfig ?? paths.kubeconfig, ...args], { ...opts, env });
}

/** Writes `text` to .cluster/tmp/<name> (name may contain slashes) and returns its path. */
export async function tempFile(name: string, text: string): Promise<string> {
  const file = join(paths.dir, 'tmp', name);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
  return file;
}

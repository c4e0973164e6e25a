// The whole test cluster: the API server of cluster.ts plus kube-controller-manager, kube-scheduler, one real
// node (a dedicated containerd + runc + CNI bridge + kubelet, running real containers from locally built images)
// and KWOK for fake nodes (every node annotated kwok.x-k8s.io/node=fake).
//
// Nothing leaves this machine. Before any of it starts (network(), root only):
//   - the service CIDR and the whole pod CIDR are routed `unreachable` (no kube-proxy: a ClusterIP would follow
//     the default route otherwise); the API server reaches webhook Services through endpoint (aggregator) routing;
//   - the pod bridge has no masquerading; traffic entering from it is routed by its own table whose only route
//     leads into a sink (a bridge without ports: nothing routed there leaves the machine, even without iptables), and
//     iptables rejects it on the way (TCP reset, else ICMP), so a connect to an outside address fails at once;
//     forwarded traffic to the bridge is dropped.
// Each checkout (each .cluster dir) claims a slot 0..63 under /run/volume-guard-harness/slots, from which its
// CIDRs, bridge name, ports, routing table and cgroup root derive, so two checkouts' clusters run side by side.
//
// Layout (under .cluster/, gitignored): node/{containerd,kubelet,cni,pod-logs,local-volumes,images}/, *.log, *.pid.

import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  applyCrds,
  bin,
  BASE_BUILD_TARGETS,
  buildTools,
  clusterStatus,
  ensureCluster,
  kubectl,
  paths,
  run,
  stopCluster,
  type ClusterInfo,
  type Log,
  type WholeClusterInfo,
} from './cluster.ts';

const here = import.meta.dirname;
const defaultLog: Log = (line) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const FAKE_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
export const IMAGES = { busybox: 'docker.io/local/busybox:1', pause: 'docker.io/local/pause:1' } as const;
export const WHOLE_BUILD_TARGETS = [...BASE_BUILD_TARGETS, 'kcm', 'scheduler', 'kubelet', 'pause', 'kwok'] as const;
const SLOT_DIR = '/run/volume-guard-harness/slots';
export const SLOTS = 64;

// ---------------------------------------------------------------------------------------
// Mode: the whole cluster is opt-in (VG_WHOLE_CLUSTER=1 or `cluster:up --whole`) and remembered in .cluster/mode.

const modeFile = join(paths.dir, 'mode');

export interface WholeOptions {
  log?: Log;
  /** Start the real node (containerd + kubelet). Default true; false = `--no-node`. */
  node?: boolean;
  /** Ensure at least this many fake nodes (fake-0..fake-N-1). Default: as last asked, else 0. */
  fakeNodes?: number;
  /** Also start the second real node vg-node-2 (`--second-node`). Default: VG_SECOND_NODE=1/0, else as last asked, else false. */
  secondNode?: boolean;
  build?: boolean;
}

interface SavedMode {
  whole: boolean;
  node: boolean;
  fakeNodes: number;
  secondNode: boolean;
}

function readMode(): SavedMode | undefined {
  try {
    const m = JSON.parse(readFileSync(modeFile, 'utf8')) as Partial<SavedMode>;
    return { whole: m.whole === true, node: m.node !== false, fakeNodes: Number(m.fakeNodes) || 0, secondNode: m.secondNode === true };
  } catch {
    return undefined;
  }
}

/** True when this checkout's cluster should be the whole one: VG_WHOLE_CLUSTER=1, or it was brought up whole. */
export function wholeRequested(): boolean {
  const env = process.env.VG_WHOLE_CLUSTER;
  if (env === '1' || env === 'true') return true;
  if (env === '0' || env === 'false') return false;
  return readMode()?.whole === true;
}

// ---------------------------------------------------------------------------------------
// Network plan: one slot per checkout.

export interface NetPlan {
  slot: number;
  serviceCidr: string;
  /** The `kubernetes` Service's ClusterIP (the first address of the service CIDR): pods reach the API server there. */
  apiServiceIp: string;
  podCidr: string;
  nodeSubnet: string;
  gateway: string;
  kwokCidr: string;
  bridge: string;
  /** A bridge without ports: the pod bridge's routing table sends everything non-local there. */
  sink: string;
  table: number;
  chain: string;
  /** nat chain: the one-service stand-in for kube-proxy (the `kubernetes` ClusterIP:443 from the bridge only). */
  apiNatChain: string;
  /** filter chain in INPUT: from the bridge, loopback addresses only when the stand-in translated them. */
  loopbackChain: string;
  cgroupRoot: string;
  ports: { kubelet: number; kubeletHealthz: number; kcm: number; scheduler: number };
  nodeName: string;
  /** The first node's IPAM hands out addresses up to this one; the bridge's addresses above it are other nodes'. */
  nodeRangeEnd: string;
  /** The optional second real node (`--second-node`; startSecondNode). */
  second: SecondNodePlan;
}

/**
 * The second real node lives in its own network namespace: a veth pair joins the namespace to the slot's pod
 * bridge (the namespace's end holds `address`, an address of the bridge's subnet above the first node's IPAM
 * range), so everything it sends enters the host through the bridge and meets the same isolation as the first
 * node's pods (the bridge's routing table, the FORWARD rejects, the `kubernetes` Service DNAT, the loopback guard).
 * Its pods get `podSubnet` from a CNI bridge inside the namespace; the host routes that subnet via `address`
 * (inside the slot's pod CIDR, which stays `unreachable` otherwise), so the API server reaches its pods' IPs.
 */
export interface SecondNodePlan {
  nodeName: string;
  netns: string;
  /** The veth pair: the host's end (a port of the slot's bridge) and the namespace's end. */
  vethHost: string;
  vethNode: string;
  /** The node's InternalIP (the namespace's veth address): its kubelet serves there. */
  address: string;
  podSubnet: string;
  podGateway: string;
  /** The CNI bridge inside the namespace. */
  bridge: string;
  cgroupRoot: string;
}

export function planFor(slot: number): NetPlan {
  const svc = 100 + slot; // 10.100.0.0/16 .. 10.163.0.0/16 (the bare API server keeps 10.96.0.0/16)
  const pod = 164 + slot; // 10.164.0.0/16 .. 10.227.0.0/16
  return {
    slot,
    serviceCidr: `10.${svc}.0.0/16`,
    apiServiceIp: `10.${svc}.0.1`,
    podCidr: `10.${pod}.0.0/16`,
    nodeSubnet: `10.${pod}.0.0/24`,
    gateway: `10.${pod}.0.1`,
    kwokCidr: `10.${pod}.128.0/17`,
    bridge: `vgbr${slot}`,
    sink: `vgsink${slot}`,
    table: 7100 + slot,
    chain: `VG-POD-${slot}`,
    apiNatChain: `VG-API-${slot}`,
    loopbackChain: `VG-LO-${slot}`,
    cgroupRoot: `/vg-harness-${slot}`,
    ports: { kubelet: 17250 + slot * 4, kubeletHealthz: 17251 + slot * 4, kcm: 17252 + slot * 4, scheduler: 17253 + slot * 4 },
    nodeName: 'vg-node',
    nodeRangeEnd: `10.${pod}.0.239`,
    second: {
      nodeName: 'vg-node-2',
      netns: `vg${slot}-node2`,
      vethHost: `vg${slot}n2h`,
      vethNode: `vg${slot}n2`,
      address: `10.${pod}.0.250`,
      podSubnet: `10.${pod}.1.0/24`,
      podGateway: `10.${pod}.1.1`,
      bridge: `vgbr${slot}n2`,
      cgroupRoot: `/vg-harness-${slot}-n2`,
    },
  };
}

/** This checkout's slot: the one it claimed before, else the first free one. */
export function netPlan(claim = true): NetPlan | undefined {
  const owner = paths.dir;
  if (!existsSync(SLOT_DIR)) {
    if (!claim) return undefined; // (no slot was ever claimed here; also fine for non-root callers)
    mkdirSync(SLOT_DIR, { recursive: true });
  }
  for (let i = 0; i < SLOTS; i++) {
    try {
      if (readFileSync(join(SLOT_DIR, String(i)), 'utf8').trim() === owner) return planFor(i);
    } catch {
      /* free */
    }
  }
  if (!claim) return undefined;
  for (let i = 0; i < SLOTS; i++) {
    try {
      writeFileSync(join(SLOT_DIR, String(i)), `${owner}\n`, { flag: 'wx' });
      return planFor(i);
    } catch {
      /* taken */
    }
  }
  throw new Error(`no free network slot in ${SLOT_DIR} (${SLOTS} checkouts' clusters at once?)`);
}

function releaseSlot(plan: NetPlan): void {
  rmSync(join(SLOT_DIR, String(plan.slot)), { force: true });
}

async function sh(log: Log, cmd: string, args: readonly string[], what: string): Promise<void> {
  const r = await run(cmd, args, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`${what} failed: ${cmd} ${args.join(' ')}\n${r.stderr}${r.stdout}`);
  void log;
}

async function ok(cmd: string, args: readonly string[]): Promise<boolean> {
  return (await run(cmd, args, { timeoutMs: 30_000 })).code === 0;
}

/**
 * Isolation first, before any component starts: unreachable routes for the service and pod CIDRs, the pod
 * bridge with its gateway address, its own routing table (only `unreachable default`), iptables rules.
 * Idempotent.
 */
export async function setupNetwork(plan: NetPlan, log: Log): Promise<void> {
  // Routes: a ClusterIP or a pod IP of another node never follows the default route.
  for (const cidr of [plan.serviceCidr, plan.podCidr]) {
    await sh(log, 'ip', ['route', 'replace', 'unreachable', cidr], `routing ${cidr} unreachable`);
  }
  // iptables (FORWARD): nothing forwarded from the pod bridge (REJECT: fails at once), nothing forwarded to it.
  if (!(await ok('iptables', ['-w', '-n', '-L', plan.chain]))) {
    await sh(log, 'iptables', ['-w', '-N', plan.chain], 'iptables chain');
  }
  await sh(log, 'iptables', ['-w', '-F', plan.chain], 'iptables flush');
  // (A TCP reset is not rate-limited like ICMP errors, so every connect fails at once, not after SYN retries.)
  await sh(log, 'iptables', ['-w', '-A', plan.chain, '-i', plan.bridge, '-p', 'tcp', '-j', 'REJECT', '--reject-with', 'tcp-reset'], 'iptables reject tcp');
  await sh(log, 'iptables', ['-w', '-A', plan.chain, '-i', plan.bridge, '-j', 'REJECT', '--reject-with', 'icmp-net-unreachable'], 'iptables reject');
  await sh(log, 'iptables', ['-w', '-A', plan.chain, '-o', plan.bridge, '-j', 'DROP'], 'iptables drop');
  if (!(await ok('iptables', ['-w', '-C', 'FORWARD', '-j', plan.chain]))) {
    await sh(log, 'iptables', ['-w', '-I', 'FORWARD', '1', '-j', plan.chain], 'iptables jump');
  }
  // Policy routing: whatever enters from the bridge and is not for this machine (the local table answers first)
  // is routed into the sink (a bridge without ports: it goes nowhere), passing the FORWARD rules above on the way.
  if (!(await ok('ip', ['link', 'show', plan.sink]))) {
    await sh(log, 'ip', ['link', 'add', 'name', plan.sink, 'type', 'bridge'], 'sink interface');
  }
  await sh(log, 'ip', ['link', 'set', plan.sink, 'up'], 'sink up');
  await sh(log, 'ip', ['route', 'replace', 'default', 'dev', plan.sink, 'table', String(plan.table)], 'pod routing table');
  if (!(await run('ip', ['rule', 'show', 'iif', plan.bridge])).stdout.includes(`lookup ${plan.table}`)) {
    await sh(log, 'ip', ['rule', 'add', 'iif', plan.bridge, 'lookup', String(plan.table), 'priority', String(plan.table)], 'pod routing rule');
  }
  // The bridge, so the kubelet can serve on its gateway address (never on the machine's own interfaces).
  if (!(await ok('ip', ['link', 'show', plan.bridge]))) {
    await sh(log, 'ip', ['link', 'add', 'name', plan.bridge, 'type', 'bridge'], 'bridge');
  }
  const addrs = (await run('ip', ['-4', '-o', 'addr', 'show', 'dev', plan.bridge])).stdout;
  if (!addrs.includes(` ${plan.gateway}/`)) {
    await sh(log, 'ip', ['addr', 'add', `${plan.gateway}/24`, 'dev', plan.bridge], 'bridge address');
  }
  await sh(log, 'ip', ['link', 'set', plan.bridge, 'up'], 'bridge up');
  // Forwarding on the bridge only (so the unreachable route answers with an ICMP error at once instead of a silent
  // drop); the machine's other interfaces keep their setting.
  await writeFile(`/proc/sys/net/ipv4/conf/${plan.bridge}/forwarding`, '1\n');
  log(`cluster: network slot ${plan.slot}: services ${plan.serviceCidr}, pods ${plan.podCidr} unreachable; bridge ${plan.bridge} ${plan.gateway}`);
}

/**
 * Pods reach the API server the way they do in a real cluster: at the `kubernetes` Service's ClusterIP, port 443
 * (KUBERNETES_SERVICE_HOST/PORT, set by the kubelet). The API server listens on 127.0.0.1 only, so a DNAT rule for
 * exactly that address and port, for traffic entering from this checkout's pod bridge, maps it to 127.0.0.1:<api
 * port> (a one-service stand-in for kube-proxy). Reaching a loopback address from the bridge needs route_localnet
 * on the bridge (that interface only); an INPUT rule drops anything from the bridge to 127.0.0.0/8 that this DNAT
 * did not produce, so no other loopback service (etcd, the kubelet's healthz, ...) becomes reachable from pods.
 * Every other ClusterIP (and this one from the host, or on another port) stays unreachable. Nothing is routed off
 * the machine: the translated traffic is delivered locally. Idempotent; after the API server (its port) is known.
 */
export async function setupApiServiceNat(plan: NetPlan, apiPort: number, log: Log): Promise<void> {
  if (!(await ok('iptables', ['-w', '-n', '-L', plan.loopbackChain]))) {
    await sh(log, 'iptables', ['-w', '-N', plan.loopbackChain], 'iptables loopback chain');
  }
  await sh(log, 'iptables', ['-w', '-F', plan.loopbackChain], 'iptables loopback flush');
  await sh(
    log,
    'iptables',
    ['-w', '-A', plan.loopbackChain, '-i', plan.bridge, '-d', '127.0.0.0/8', '-m', 'conntrack', '!', '--ctstate', 'DNAT', '-j', 'DROP'],
    'iptables loopback guard',
  );
  if (!(await ok('iptables', ['-w', '-C', 'INPUT', '-j', plan.loopbackChain]))) {
    await sh(log, 'iptables', ['-w', '-I', 'INPUT', '1', '-j', plan.loopbackChain], 'iptables loopback jump');
  }
  if (!(await ok('iptables', ['-w', '-t', 'nat', '-n', '-L', plan.apiNatChain]))) {
    await sh(log, 'iptables', ['-w', '-t', 'nat', '-N', plan.apiNatChain], 'iptables nat chain');
  }
  await sh(log, 'iptables', ['-w', '-t', 'nat', '-F', plan.apiNatChain], 'iptables nat flush');
  await sh(
    log,
    'iptables',
    ['-w', '-t', 'nat', '-A', plan.apiNatChain, '-i', plan.bridge, '-d', `${plan.apiServiceIp}/32`, '-p', 'tcp', '--dport', '443', '-j', 'DNAT', '--to-destination', `127.0.0.1:${apiPort}`],
    'iptables DNAT for the kubernetes Service',
  );
  if (!(await ok('iptables', ['-w', '-t', 'nat', '-C', 'PREROUTING', '-j', plan.apiNatChain]))) {
    await sh(log, 'iptables', ['-w', '-t', 'nat', '-I', 'PREROUTING', '1', '-j', plan.apiNatChain], 'iptables nat jump');
  }
  await writeFile(`/proc/sys/net/ipv4/conf/${plan.bridge}/route_localnet`, '1\n');
  log(`cluster: pods reach the API server at ${plan.apiServiceIp}:443 (DNAT to 127.0.0.1:${apiPort}, from ${plan.bridge} only)`);
}

/** Undoes setupNetwork (after every pod and container is gone). */
export async function teardownNetwork(plan: NetPlan, log: Log): Promise<void> {
  await run('ip', ['link', 'del', plan.bridge]);
  await run('ip', ['link', 'del', plan.sink]);
  await run('ip', ['rule', 'del', 'iif', plan.bridge, 'lookup', String(plan.table), 'priority', String(plan.table)]);
  await run('ip', ['route', 'flush', 'table', String(plan.table)]);
  while (await ok('iptables', ['-w', '-D', 'FORWARD', '-j', plan.chain])) {
    /* every copy */
  }
  await run('iptables', ['-w', '-F', plan.chain]);
  await run('iptables', ['-w', '-X', plan.chain]);
  while (await ok('iptables', ['-w', '-t', 'nat', '-D', 'PREROUTING', '-j', plan.apiNatChain])) {
    /* every copy */
  }
  await run('iptables', ['-w', '-t', 'nat', '-F', plan.apiNatChain]);
  await run('iptables', ['-w', '-t', 'nat', '-X', plan.apiNatChain]);
  while (await ok('iptables', ['-w', '-D', 'INPUT', '-j', plan.loopbackChain])) {
    /* every copy */
  }
  await run('iptables', ['-w', '-F', plan.loopbackChain]);
  await run('iptables', ['-w', '-X', plan.loopbackChain]);
  for (const cidr of [plan.serviceCidr, plan.podCidr]) await run('ip', ['route', 'del', 'unreachable', cidr]);
  log(`cluster: network slot ${plan.slot} removed (bridge, sink, routes, rule, iptables chain)`);
}

// ---------------------------------------------------------------------------------------
// Processes

interface Component {
  name: string;
  exe: string;
  args: string[];
  /** A path in the command line proving the process belongs to this checkout. */
  marker: string;
  /** Run in this named network namespace (/run/netns/<name>, entered with nsenter: same mount namespace). */
  netns?: string;
}

const nodeDir = join(paths.dir, 'node');
const pidFile = (name: string) => join(paths.dir, `${name}.pid`);
const logFile = (name: string) => join(paths.dir, `${name}.log`);

function procOk(pid: number, exe: string, marker: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (!argv[0]?.endsWith(exe.slice(exe.lastIndexOf('/') + 1)) || !argv.some((a) => a.includes(marker))) return false;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function runningPid(c: Pick<Component, 'name' | 'exe' | 'marker'>): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(pidFile(c.name), 'utf8'), 10);
    return pid > 0 && procOk(pid, c.exe, c.marker) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function startComponent(c: Component, log: Log): number {
  const existing = runningPid(c);
  if (existing) return existing;
  mkdirSync(paths.dir, { recursive: true });
  const lf = logFile(c.name);
  if (existsSync(lf) && statSync(lf).size > 64 * 1024 * 1024) writeFileSync(lf, '');
  const fd = openSync(lf, 'a');
  // nsenter --net only: the mount namespace stays the host's, so the kubelet's volume mounts and containerd's
  // rootfs mounts are seen by both (`ip netns exec` would give each its own mount namespace). nsenter execs the
  // component: the pid stays the same.
  const [exe, args] = c.netns ? ['nsenter', [`--net=/run/netns/${c.netns}`, '--', c.exe, ...c.args]] : [c.exe, c.args];
  const child = spawn(exe, args, { detached: true, stdio: ['ignore', fd, fd], cwd: paths.dir });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${c.exe}`);
  child.unref();
  writeFileSync(pidFile(c.name), `${child.pid}\n`);
  log(`cluster: started ${c.name} (pid ${child.pid}, log ${lf})`);
  return child.pid;
}

export async function stopComponent(c: Pick<Component, 'name' | 'exe' | 'marker'>, log: Log, timeoutMs = 20_000): Promise<void> {
  const pid = runningPid(c);
  if (pid) {
    log(`cluster: stopping ${c.name} (pid ${pid})`);
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && procOk(pid, c.exe, c.marker)) await sleep(100);
    if (procOk(pid, c.exe, c.marker)) {
      log(`cluster: ${c.name} still running after ${timeoutMs} ms: SIGKILL`);
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100 && procOk(pid, c.exe, c.marker); i++) await sleep(100);
    }
  }
  await unlink(pidFile(c.name)).catch(() => undefined);
}

/** Stops the dockerd scripts/image.sh started (pid file and socket under the image cache directory). */
async function stopImageDockerd(log: Log): Promise<void> {
  const dir = process.env.IMAGE_DIR ?? join(paths.root, '.cluster', 'image');
  const exe = '/usr/sbin/dockerd';
  const marker = join(dir, 'docker.sock');
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(join(dir, 'dockerd.pid'), 'utf8'), 10);
  } catch {
    return;
  }
  if (!(pid > 0) || !procOk(pid, exe, marker)) return;
  log(`cluster: stopping the image build's dockerd (pid ${pid})`);
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 300 && procOk(pid, exe, marker); i++) await sleep(100);
  if (procOk(pid, exe, marker)) process.kill(pid, 'SIGKILL');
}

function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>, failHint?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(300);
  }
  throw new Error(`${what} not reached after ${Math.round(timeoutMs / 1000)} s${failHint ? `\n${failHint()}` : ''}`);
}

// ---------------------------------------------------------------------------------------
// Components

/**
 * A control-plane component (kube-controller-manager, kube-scheduler): the admin kubeconfig for the API, for
 * delegated authentication and for authorization, no leader election (one of each), serving on loopback.
 */
function controlPlane(name: string, exe: string, securePort: number, extraArgs: readonly string[] = []): Component {
  return {
    name,
    exe,
    marker: paths.kubeconfig,
    args: [
      `--kubeconfig=${paths.kubeconfig}`,
      `--authentication-kubeconfig=${paths.kubeconfig}`,
      `--authorization-kubeconfig=${paths.kubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${securePort}`,
      ...extraArgs,
    ],
  };
}

function kcm(plan: NetPlan): Component {
  const pki = join(paths.stateDir, 'pki');
  return controlPlane('kube-controller-manager', bin.kcm, plan.ports.kcm, [
    `--service-account-private-key-file=${join(pki, 'sa.key')}`,
    `--root-ca-file=${join(pki, 'ca.crt')}`,
    `--service-cluster-ip-range=${plan.serviceCidr}`,
    '--use-service-account-credentials=false',
    // Quick reactions for tests: node lifecycle notices a gone kubelet in 40 s (default), pods evicted by taints.
    '--concurrent-statefulset-syncs=5',
  ]);
}

function scheduler(plan: NetPlan): Component {
  return controlPlane('kube-scheduler', bin.scheduler, plan.ports.scheduler);
}

/** Where one real node keeps its files: .cluster/node (the first), .cluster/node2 (the second). */
interface NodeLayout {
  dir: string;
  ctrd: { dir: string; socket: string; config: string };
  cniConfDir: string;
  ipamDir: string;
  podLogsDir: string;
  kubeletDir: string;
  localVolumeDir: string;
}

function nodeLayout(dir: string): NodeLayout {
  return {
    dir,
    ctrd: { dir: join(dir, 'containerd'), socket: join(dir, 'containerd', 'containerd.sock'), config: join(dir, 'containerd', 'config.toml') },
    cniConfDir: join(dir, 'cni', 'net.d'),
    ipamDir: join(dir, 'cni', 'ipam'),
    podLogsDir: join(dir, 'pod-logs'),
    kubeletDir: join(dir, 'kubelet'),
    localVolumeDir: join(dir, 'local-volumes'),
  };
}

const node1 = nodeLayout(nodeDir);
const node2Dir = join(paths.dir, 'node2');
const node2 = nodeLayout(node2Dir);
const ctrd = node1.ctrd;
export const localVolumeDir = node1.localVolumeDir;

/** One real node: its files, its pod network, its identity, where it runs. */
interface NodeSpec {
  name: string;
  layout: NodeLayout;
  /** Component names get this suffix ('' for the first node, '-2' for the second): pid and log files. */
  suffix: string;
  /** CNI: the bridge (in the node's network namespace), its subnet and gateway; rangeEnd bounds IPAM. */
  cniName: string;
  bridge: string;
  subnet: string;
  gateway: string;
  rangeEnd?: string;
  /** The node's InternalIP: the kubelet serves there. */
  address: string;
  ports: { kubelet: number; kubeletHealthz: number };
  cgroupRoot: string;
  kubeconfig: string;
  netns?: string;
}

function firstNodeSpec(plan: NetPlan): NodeSpec {
  return {
    name: plan.nodeName,
    layout: node1,
    suffix: '',
    cniName: `vg-harness-${plan.slot}`,
    bridge: plan.bridge,
    subnet: plan.nodeSubnet,
    gateway: plan.gateway,
    rangeEnd: plan.nodeRangeEnd,
    address: plan.gateway,
    ports: { kubelet: plan.ports.kubelet, kubeletHealthz: plan.ports.kubeletHealthz },
    cgroupRoot: plan.cgroupRoot,
    kubeconfig: paths.kubeconfig,
  };
}

function secondNodeSpec(plan: NetPlan): NodeSpec {
  const n = plan.second;
  return {
    name: n.nodeName,
    layout: node2,
    suffix: '-2',
    cniName: `vg-harness-${plan.slot}-n2`,
    bridge: n.bridge,
    subnet: n.podSubnet,
    gateway: n.podGateway,
    address: n.address,
    // Its own network namespace: the same port numbers are free there (the kubelet serves on `address`, its
    // healthz on the namespace's own loopback).
    ports: { kubelet: plan.ports.kubelet, kubeletHealthz: plan.ports.kubeletHealthz },
    cgroupRoot: n.cgroupRoot,
    // The API server listens on the host's loopback, which the namespace does not share: this kubelet goes through
    // the `kubernetes` ClusterIP (DNAT from the bridge), as the pods do.
    kubeconfig: join(node2.dir, 'kubeconfig'),
    netns: n.netns,
  };
}

function containerdFor(spec: NodeSpec): Component {
  const c = spec.layout.ctrd;
  return { name: `containerd${spec.suffix}`, exe: '/usr/bin/containerd', marker: c.config, args: ['--config', c.config], ...(spec.netns ? { netns: spec.netns } : {}) };
}

export function containerdComponent(): Component {
  return { name: 'containerd', exe: '/usr/bin/containerd', marker: ctrd.config, args: ['--config', ctrd.config] };
}

export async function writeNodeConfig(plan: NetPlan): Promise<void> {
  await writeNodeFiles(firstNodeSpec(plan));
}

async function writeNodeFiles(spec: NodeSpec): Promise<void> {
  const l = spec.layout;
  for (const d of [l.ctrd.dir, l.cniConfDir, l.podLogsDir, l.kubeletDir, l.localVolumeDir, l.ipamDir]) await mkdir(d, { recursive: true });
  const q = (s: string) => JSON.stringify(s);
  await writeFile(
    l.ctrd.config,
    [
      '# Generated by test/harness/node.ts: the test node\'s own containerd (own socket, root, state).',
      'version = 2',
      `root = ${q(join(l.ctrd.dir, 'root'))}`,
      `state = ${q(join(l.ctrd.dir, 'state'))}`,
      `plugin_dir = ""`,
      `disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]`,
      '[grpc]',
      `  address = ${q(l.ctrd.socket)}`,
      '[ttrpc]',
      `  address = ${q(`${l.ctrd.socket}.ttrpc`)}`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = ${q(join(l.ctrd.dir, 'opt'))}`,
      '[plugins."io.containerd.grpc.v1.cri"]',
      `  sandbox_image = ${q(IMAGES.pause)}`,
      '  restrict_oom_score_adj = true',
      '  stream_server_address = "127.0.0.1"',
      '  stream_server_port = "0"',
      '  enable_selinux = false',
      '  disable_apparmor = true',
      '  [plugins."io.containerd.grpc.v1.cri".containerd]',
      '    snapshotter = "overlayfs"',
      '    default_runtime_name = "runc"',
      '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
      '      runtime_type = "io.containerd.runc.v2"',
      '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
      '        SystemdCgroup = false',
      '  [plugins."io.containerd.grpc.v1.cri".cni]',
      '    bin_dir = "/usr/lib/cni"',
      `    conf_dir = ${q(l.cniConfDir)}`,
      '    max_conf_num = 1',
      '',
    ].join('\n'),
  );
  const conflist = {
    cniVersion: '1.0.0',
    name: spec.cniName,
    plugins: [
      {
        type: 'bridge',
        bridge: spec.bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          dataDir: l.ipamDir,
          ranges: [[{ subnet: spec.subnet, gateway: spec.gateway, ...(spec.rangeEnd ? { rangeEnd: spec.rangeEnd } : {}) }]],
          // A default route via the gateway, as in a real cluster: what stops traffic to outside addresses is the
          // host (the bridge's routing table and iptables), and that is what the isolation test exercises.
          routes: [{ dst: '0.0.0.0/0' }],
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
  await writeFile(join(l.cniConfDir, '10-vg-bridge.conflist'), `${JSON.stringify(conflist, null, 2)}\n`);
  await writeFile(join(l.dir, 'resolv.conf'), '# no name servers: nothing leaves this machine\n');
  const kubeletConfig = {
    kind: 'KubeletConfiguration',
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    address: spec.address,
    port: spec.ports.kubelet,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: spec.ports.kubeletHealthz,
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false }, x509: {} },
    authorization: { mode: 'AlwaysAllow' },
    containerRuntimeEndpoint: `unix://${l.ctrd.socket}`,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: spec.cgroupRoot,
    cgroupsPerQOS: true,
    failCgroupV1: false,
    failSwapOn: false,
    podLogsDir: l.podLogsDir,
    resolvConf: join(l.dir, 'resolv.conf'),
    volumePluginDir: join(l.dir, 'volume-plugins'),
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { 'memory.available': '50Mi', 'nodefs.available': '1%', 'nodefs.inodesFree': '1%', 'imagefs.available': '1%' },
    evictionPressureTransitionPeriod: '5s',
    serializeImagePulls: false,
    maxPods: 60,
    clusterDomain: 'cluster.local',
    registerNode: true,
    shutdownGracePeriod: '0s',
    nodeStatusReportFrequency: '10s',
    syncFrequency: '10s',
    fileCheckFrequency: '10s',
    staticPodPath: '',
    protectKernelDefaults: false,
    localStorageCapacityIsolation: true,
  };
  await writeFile(join(l.dir, 'kubelet-config.json'), `${JSON.stringify(kubeletConfig, null, 2)}\n`);
}

function kubelet(plan: NetPlan): Component {
  return kubeletFor(firstNodeSpec(plan));
}

function kubeletFor(spec: NodeSpec): Component {
  const l = spec.layout;
  return {
    name: `kubelet${spec.suffix}`,
    exe: bin.kubelet,
    marker: l.kubeletDir,
    args: [
      `--config=${join(l.dir, 'kubelet-config.json')}`,
      `--kubeconfig=${spec.kubeconfig}`,
      `--root-dir=${l.kubeletDir}`,
      `--cert-dir=${join(l.kubeletDir, 'pki')}`,
      `--hostname-override=${spec.name}`,
      `--node-ip=${spec.address}`,
      '--v=1',
    ],
    ...(spec.netns ? { netns: spec.netns } : {}),
  };
}

function kwok(plan: NetPlan): Component {
  return {
    name: 'kwok',
    exe: bin.kwok,
    marker: paths.kubeconfig,
    args: [
      `--kubeconfig=${paths.kubeconfig}`,
      `--config=${join(here, 'node', 'kwok-stages.yaml')}`,
      `--manage-nodes-with-annotation-selector=${FAKE_NODE_ANNOTATION}=fake`,
      `--cidr=${plan.kwokCidr}`,
      '--node-lease-duration-seconds=40',
      '--server-address=',
    ],
  };
}

/** The kubelet's cgroup root must exist in every v1 hierarchy (cpuset seeded from its parent). */
function ensureCgroupRoot(plan: Pick<NetPlan, 'cgroupRoot'>): void {
  const base = '/sys/fs/cgroup';
  for (const h of readdirSync(base)) {
    const dir = join(base, h);
    try {
      if (!statSync(dir).isDirectory()) continue;
    } catch {
      continue;
    }
    const d = join(dir, plan.cgroupRoot);
    if (!existsSync(d)) {
      try {
        mkdirSync(d);
      } catch {
        continue;
      }
    }
    if (h === 'cpuset') {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        if (!readFileSync(join(d, f), 'utf8').trim()) writeFileSync(join(d, f), readFileSync(join(dir, f), 'utf8'));
      }
    }
  }
}

/** Removes the kubelet's cgroup tree (deepest first); only empty cgroups can go. */
function removeCgroupRoot(plan: Pick<NetPlan, 'cgroupRoot'>): number {
  let left = 0;
  const base = '/sys/fs/cgroup';
  const rmTree = (d: string) => {
    let entries: string[] = [];
    try {
      entries = readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return;
    }
    for (const e of entries) rmTree(join(d, e));
    try {
      rmdirSync(d);
    } catch {
      left++;
    }
  };
  for (const h of existsSync(base) ? readdirSync(base) : []) {
    const d = join(base, h, plan.cgroupRoot);
    if (existsSync(d)) rmTree(d);
  }
  return left;
}

async function ctr(args: readonly string[], timeoutMs = 120_000, socket = ctrd.socket) {
  return run('ctr', ['--address', socket, '--namespace', 'k8s.io', ...args], { timeoutMs });
}

export async function importImages(log: Log, layout: NodeLayout = node1): Promise<void> {
  // (Built once, under the first node's directory, for every node.)
  const out = join(nodeDir, 'images');
  const built = await run('bash', [join(here, 'node', 'build-images.sh'), out, bin.pause], { timeoutMs: 120_000 });
  if (built.code !== 0) throw new Error(`building the local images failed:\n${built.stderr}`);
  const stamp = readFileSync(join(out, 'images.stamp'), 'utf8');
  const importedStamp = join(layout.ctrd.dir, 'images.imported');
  const sock = layout.ctrd.socket;
  const have = (await ctr(['images', 'ls', '-q'], 120_000, sock)).stdout;
  if (have.includes(IMAGES.pause) && have.includes(IMAGES.busybox) && existsSync(importedStamp) && readFileSync(importedStamp, 'utf8') === stamp) return;
  for (const name of ['pause', 'busybox']) {
    const r = await ctr(['images', 'import', '--no-unpack=false', join(out, `${name}.tar`)], 120_000, sock);
    if (r.code !== 0) {
      const r2 = await ctr(['images', 'import', join(out, `${name}.tar`)], 120_000, sock);
      if (r2.code !== 0) throw new Error(`ctr images import ${name}.tar failed:\n${r2.stderr}${r2.stdout}`);
    }
  }
  writeFileSync(importedStamp, stamp);
  log(`cluster: imported ${IMAGES.pause} and ${IMAGES.busybox} into ${sock}`);
}

async function nodeReady(name: string): Promise<boolean> {
  const r = await kubectl(['get', 'node', name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'], { timeoutMs: 10_000 });
  return r.code === 0 && r.stdout.trim() === 'True';
}

/** Creates fake nodes fake-0..fake-(n-1) (KWOK makes them Ready); existing ones are kept. */
export async function ensureFakeNodes(n: number, log: Log = defaultLog): Promise<string[]> {
  const names = Array.from({ length: n }, (_, i) => `fake-${i}`);
  if (n === 0) return names;
  const docs = names.map((name) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [FAKE_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok' },
    },
    spec: { taints: [{ key: FAKE_NODE_ANNOTATION, value: 'fake', effect: 'NoSchedule' }] },
  }));
  const r = await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs }) });
  if (r.code !== 0) throw new Error(`creating fake nodes failed:\n${r.stderr}`);
  for (const name of names) await waitFor(`fake node ${name} Ready`, 60_000, () => nodeReady(name), () => tail(logFile('kwok')));
  log(`cluster: ${n} fake node(s) Ready (${names.join(', ')})`);
  return names;
}

/** A toleration for the fake nodes' taint (test pods meant for them carry it). */
export const FAKE_NODE_TOLERATION = { key: FAKE_NODE_ANNOTATION, operator: 'Equal', value: 'fake', effect: 'NoSchedule' } as const;

function apiServerArgs(plan: NetPlan): string[] {
  return [
    '--controllers',
    // The serving certificate names the `kubernetes` ClusterIP, which in-cluster clients dial and verify.
    `--serving-ips=${plan.apiServiceIp}`,
    '--',
    `--service-cluster-ip-range=${plan.serviceCidr}`,
    '--enable-aggregator-routing=true',
    '--kubelet-preferred-address-types=InternalIP,Hostname',
  ];
}

function wholeInfo(plan: NetPlan, node: boolean, fakeNodes: string[], secondNode = false): WholeClusterInfo {
  return {
    nodeName: node ? plan.nodeName : '',
    ...(secondNode ? { secondNode: secondNodeInfo(plan) } : {}),
    fakeNodes,
    serviceCidr: plan.serviceCidr,
    apiServiceIp: plan.apiServiceIp,
    podCidr: plan.podCidr,
    bridge: plan.bridge,
    gateway: plan.gateway,
    nodeSubnet: plan.nodeSubnet,
    localVolumeDir,
    images: { ...IMAGES },
  };
}

/**
 * Starts (or reuses) the whole cluster. Order: network isolation, API server (+ CRDs), kube-controller-manager,
 * kube-scheduler, containerd + images, kubelet (until its Node is Ready), KWOK + fake nodes. Idempotent.
 */
export async function ensureWholeCluster(opts: WholeOptions = {}): Promise<ClusterInfo> {
  const log = opts.log ?? defaultLog;
  const saved = readMode();
  const node = opts.node ?? saved?.node ?? true;
  const fakeCount = opts.fakeNodes ?? saved?.fakeNodes ?? 0;
  const envSecond = process.env.VG_SECOND_NODE;
  const fromEnv = envSecond === '1' || envSecond === 'true' ? true : envSecond === '0' || envSecond === 'false' ? false : undefined;
  const second = node && (opts.secondNode ?? fromEnv ?? saved?.secondNode ?? false);
  if (process.getuid?.() !== 0) throw new Error('the whole cluster needs root (routes, iptables, containerd, kubelet)');
  const started = Date.now();
  if (opts.build ?? true) await buildTools({ log, targets: WHOLE_BUILD_TARGETS });
  const deps = await run('bash', [join(here, 'node', 'install-deps.sh')], { timeoutMs: 600_000 });
  if (deps.code !== 0) throw new Error(`installing the node's packages failed:\n${deps.stderr}`);
  const plan = netPlan();
  if (!plan) throw new Error('no network slot');
  await mkdir(paths.dir, { recursive: true });
  await writeFile(modeFile, `${JSON.stringify({ whole: true, node, fakeNodes: fakeCount, secondNode: second })}\n`);
  // 1. Isolation before anything starts.
  await setupNetwork(plan, log);
  // 2. Control plane.
  const cluster = await ensureCluster({ log, build: false, crds: false, apiServerArgs: apiServerArgs(plan) });
  await applyCrds({ log });
  await setupApiServiceNat(plan, Number(new URL(cluster.server).port), log);
  startComponent(kcm(plan), log);
  startComponent(scheduler(plan), log);
  // 3. The real node.
  if (node) {
    await writeNodeConfig(plan);
    ensureCgroupRoot(plan);
    startComponent(containerdComponent(), log);
    await waitFor('containerd socket', 30_000, async () => (await ctr(['version'], 5000)).code === 0, () => tail(logFile('containerd')));
    await importImages(log);
    startComponent(kubelet(plan), log);
    await waitFor(`node ${plan.nodeName} Ready`, 120_000, () => nodeReady(plan.nodeName), () => tail(logFile('kubelet')));
    log(`cluster: node ${plan.nodeName} Ready (${Math.round((Date.now() - started) / 100) / 10} s after up began)`);
    if (second) await startSecondNode({ log });
    // (Started before, not asked for now: gone, its Node object too, also when a crash left only that.)
    else if (secondNodePresent(plan)) await stopSecondNode({ log });
    else await kubectl(['delete', 'node', plan.second.nodeName, '--ignore-not-found', '--wait=false'], { timeoutMs: 30_000 });
  }
  // 4. Fake nodes (without a kwok binary, e.g. `up --no-build` before it is built, only when none are asked for).
  if (existsSync(bin.kwok)) startComponent(kwok(plan), log);
  else if (fakeCount > 0) throw new Error(`${bin.kwok} is missing: run test/harness/build.sh kwok`);
  else log(`cluster: ${bin.kwok} missing: no KWOK, no fake nodes`);
  const fakeNodes = await ensureFakeNodes(fakeCount, log);
  // The token controller creates "default" in every namespace: wait for it in default (pods need it).
  await waitFor('ServiceAccount default/default', 60_000, async () => (await kubectl(['get', 'sa', 'default', '-n', 'default'])).code === 0, () => tail(logFile('kube-controller-manager')));
  return { ...cluster, whole: wholeInfo(plan, node, fakeNodes, second) };
}

// ---------------------------------------------------------------------------------------
// The default test cluster: the API server plus kube-controller-manager (no scheduler, kubelet or KWOK).

/**
 * kube-apiserver arguments of the default cluster: `--controllers` keeps StorageObjectInUseProtection on (the
 * pvc/pv-protection finalizers kcm removes). The ServiceAccount admission plugin stays off here only: no kubelet
 * runs a pod of this cluster (no token is ever mounted), and with it every test creating a pod right after its
 * namespace would race the token controller creating `default` (the whole cluster, whose pods run, has it on).
 */
export const DEFAULT_API_SERVER_ARGS: readonly string[] = ['--controllers', '--', '--disable-admission-plugins=ServiceAccount'];

/** build.sh targets of the default cluster. */
export const DEFAULT_BUILD_TARGETS = [...BASE_BUILD_TARGETS, 'kcm'] as const;

/**
 * kube-controller-manager of the default cluster: every controller but node lifecycle. The Nodes of this cluster
 * are written by tests and no kubelet heartbeats them, so node lifecycle would turn each Ready=Unknown after its
 * grace period (volume-guard then counts the node's copies as gone) and taint it for eviction: the tests model
 * Ready nodes. A node going NotReady under node lifecycle is tested on the whole cluster (KWOK heartbeats its
 * fake nodes; test/e2e/seed-001-002-fake-nodes.e2e.test.ts). No serving port (--secure-port=0): nothing to clash
 * with another checkout.
 */
function defaultKcm(): Component {
  const pki = join(paths.stateDir, 'pki');
  return {
    name: 'kube-controller-manager',
    exe: bin.kcm,
    marker: paths.kubeconfig,
    args: [
      `--kubeconfig=${paths.kubeconfig}`,
      '--controllers=*,-node-lifecycle-controller',
      '--leader-elect=false',
      '--secure-port=0',
      `--service-account-private-key-file=${join(pki, 'sa.key')}`,
      `--root-ca-file=${join(pki, 'ca.crt')}`,
      '--use-service-account-credentials=false',
      '--concurrent-statefulset-syncs=5',
    ],
  };
}

/**
 * Starts (or reuses) the default test cluster: the API server with DEFAULT_API_SERVER_ARGS and the CRDs, then
 * kube-controller-manager (defaultKcm). Namespaces finish deleting, the garbage collector removes dependents,
 * the StatefulSet controller creates claims and the protection finalizers come and go as in a real cluster.
 */
export async function ensureDefaultCluster(opts: { log?: Log; build?: boolean } = {}): Promise<ClusterInfo> {
  const log = opts.log ?? defaultLog;
  const cluster = await ensureCluster({
    log,
    ...(opts.build === undefined ? {} : { build: opts.build }),
    buildTargets: DEFAULT_BUILD_TARGETS,
    apiServerArgs: DEFAULT_API_SERVER_ARGS,
  });
  const c = defaultKcm();
  if (!existsSync(c.exe)) throw new Error(`${c.exe} is missing: run test/harness/build.sh kcm`);
  startComponent(c, log);
  // The token controller creates "default" in every namespace: proof that kcm acts.
  await waitFor('ServiceAccount default/default', 60_000, async () => (await kubectl(['get', 'sa', 'default', '-n', 'default'])).code === 0, () => tail(logFile(c.name)));
  return cluster;
}

/** Stops the default cluster's kube-controller-manager (before the API server goes). */
export async function stopControllers(log: Log = defaultLog): Promise<void> {
  await stopComponent({ name: 'kube-controller-manager', exe: bin.kcm, marker: paths.kubeconfig }, log);
}

/** The whole cluster's facts for a running cluster (undefined when it is not whole). */
export function currentWholeInfo(): WholeClusterInfo | undefined {
  const m = readMode();
  if (!m?.whole) return undefined;
  const plan = netPlan(false);
  if (!plan) return undefined;
  return wholeInfo(plan, m.node, Array.from({ length: m.fakeNodes }, (_, i) => `fake-${i}`), m.secondNode);
}

// ---------------------------------------------------------------------------------------
// Stop

/** PIDs of containerd shims started by the containerd serving `socket` (one of this checkout's). */
function ourShims(socket: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.includes('containerd-shim') && argv.includes(socket)) pids.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return pids;
}

function ourMounts(dir: string): string[] {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m.startsWith(`${dir}/`))
      .map((m) => m.replace(/\\040/g, ' '));
  } catch {
    return [];
  }
}

/**
 * Stops one real node and leaves nothing of it behind: its pods are deleted and its kubelet tears their sandboxes
 * down (CNI DEL; bounded: 60 s, then forced), then kubelet, containerd, leftover shims, mounts under its
 * directory, its /var/log/containers links, its cgroups and its pods' network namespaces.
 */
async function stopNode(spec: NodeSpec, api: boolean, log: Log): Promise<void> {
  const l = spec.layout;
  const kubeletC = kubeletFor(spec);
  const ctrdC = containerdFor(spec);
  const sock = l.ctrd.socket;
  if (runningPid(ctrdC)) {
    if (api && runningPid(kubeletC)) {
      const del = await kubectl(
        ['delete', 'pods', '--all-namespaces', `--field-selector=spec.nodeName=${spec.name}`, '--grace-period=1', '--wait=false'],
        { timeoutMs: 30_000 },
      );
      if (del.code !== 0) log(`cluster: deleting the pods of ${spec.name}: ${del.stderr.trim()}`);
      // The kubelet stops each pod's containers and sandbox (CNI DEL) once its pod object is gone.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const tasks = (await ctr(['tasks', 'ls', '-q'], 10_000, sock)).stdout.trim();
        if (!tasks) break;
        if (Date.now() > deadline) {
          log(`cluster: ${spec.name}: containers still running after 60 s: ${tasks.split('\n').length}; killing them`);
          break;
        }
        await kubectl(['delete', 'pods', '--all-namespaces', `--field-selector=spec.nodeName=${spec.name}`, '--force', '--grace-period=0', '--wait=false'], { timeoutMs: 30_000 });
        await sleep(1000);
      }
    }
    await stopComponent(kubeletC, log);
    // Whatever is left (kubelet was not running, or a pod would not stop): kill and delete the tasks.
    const left = (await ctr(['tasks', 'ls', '-q'], 10_000, sock)).stdout.trim().split('\n').filter(Boolean);
    for (const id of left) {
      await ctr(['tasks', 'kill', '-s', 'SIGKILL', id], 10_000, sock);
      await sleep(200);
      await ctr(['tasks', 'delete', '-f', id], 10_000, sock);
    }
    await stopComponent(ctrdC, log);
  } else {
    await stopComponent(kubeletC, log);
    await stopComponent(ctrdC, log);
  }
  for (const pid of ourShims(sock)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const m of ourMounts(l.dir).reverse()) await run('umount', ['-l', m]);
  // The kubelet links every container log into /var/log/containers (not configurable): remove ours.
  const links = '/var/log/containers';
  if (existsSync(links)) {
    for (const f of readdirSync(links)) {
      try {
        if (readlinkSync(join(links, f)).startsWith(`${l.podLogsDir}/`)) await unlink(join(links, f));
      } catch {
        /* not a link */
      }
    }
  }
  const busy = removeCgroupRoot(spec);
  if (busy) log(`cluster: ${busy} cgroup(s) under ${spec.cgroupRoot} still busy`);
  await removePodNetns(spec.subnet);
}

/**
 * Stops the whole cluster in order and leaves nothing behind: KWOK, controllers and scheduler first (nothing
 * recreates pods), then the second node if it ran (stopSecondNode), then the first (stopNode), the image build's
 * dockerd, the API server, and the slot's bridge, routes, rules and iptables chains.
 */
export async function stopWholeCluster(opts: { log?: Log; purge?: boolean; keepMode?: boolean } = {}): Promise<void> {
  const log = opts.log ?? defaultLog;
  const plan = netPlan(false);
  const api = (await clusterStatus()).ready;
  await stopComponent({ name: 'kwok', exe: bin.kwok, marker: paths.kubeconfig }, log);
  await stopComponent({ name: 'kube-controller-manager', exe: bin.kcm, marker: paths.kubeconfig }, log);
  await stopComponent({ name: 'kube-scheduler', exe: bin.scheduler, marker: paths.kubeconfig }, log);
  if (plan) {
    await stopSecondNode({ log, purge: opts.purge ?? false });
    await stopNode(firstNodeSpec(plan), api, log);
  } else {
    // (No slot was ever claimed: nothing of a node should run; stop whatever a pid file still names.)
    await stopComponent({ name: 'kubelet', exe: bin.kubelet, marker: node1.kubeletDir }, log);
    await stopComponent(containerdComponent(), log);
  }
  // The dockerd `npm run image` started (scripts/image.sh), if any: its directory is the image cache's
  // (IMAGE_DIR, default <repo>/.cluster/image) whichever cluster directory this is.
  await stopImageDockerd(log);
  await stopCluster({ log, purge: opts.purge ?? false });
  if (plan) {
    await teardownNetwork(plan, log);
    if (opts.purge) {
      releaseSlot(plan);
      await rm(nodeDir, { recursive: true, force: true });
    }
  }
  if (opts.purge || opts.keepMode === false) await rm(modeFile, { force: true });
}

/** Network namespaces (from CNI: cni-…) whose interface sits in `subnet`: left only if a sandbox was not torn down. */
async function removePodNetns(subnet: string): Promise<void> {
  const dir = '/var/run/netns';
  if (!existsSync(dir)) return;
  const prefix = subnet.replace(/\.0\/24$/, '.');
  for (const ns of readdirSync(dir)) {
    if (!ns.startsWith('cni-')) continue;
    const r = await run('ip', ['-n', ns, '-4', '-o', 'addr', 'show'], { timeoutMs: 10_000 });
    if (r.code === 0 && r.stdout.includes(` ${prefix}`)) {
      await run('ip', ['netns', 'del', ns]);
    }
  }
}

// ---------------------------------------------------------------------------------------
// The second real node (`cluster:up --second-node`, or startSecondNode from a test)

/** The second node's facts a test needs. */
export interface SecondNodeInfo {
  nodeName: string;
  /** Its InternalIP (the network namespace's veth address, on the slot's bridge). */
  address: string;
  netns: string;
  podSubnet: string;
  /** Directory for local PersistentVolumes of the second node. */
  localVolumeDir: string;
}

function secondNodeInfo(plan: NetPlan): SecondNodeInfo {
  const n = plan.second;
  return { nodeName: n.nodeName, address: n.address, netns: n.netns, podSubnet: n.podSubnet, localVolumeDir: node2.localVolumeDir };
}

const netnsPath = (name: string) => `/run/netns/${name}`;

/** True when anything of the second node is there (a process, or its network namespace). */
function secondNodePresent(plan: NetPlan): boolean {
  const spec = secondNodeSpec(plan);
  return runningPid(containerdFor(spec)) !== undefined || runningPid(kubeletFor(spec)) !== undefined || existsSync(netnsPath(plan.second.netns));
}

/**
 * The second node's network namespace, joined to the slot's bridge by a veth pair, and the host's route for its
 * pod subnet (see SecondNodePlan). Nothing new reaches outside: its traffic enters the host through the bridge.
 * Idempotent; after setupNetwork (the bridge) and setupApiServiceNat.
 */
async function setupSecondNodeNetwork(plan: NetPlan, log: Log): Promise<void> {
  const n = plan.second;
  // The first node's IPAM must not have handed this address out (a cluster started before rangeEnd existed).
  const taken = join(node1.ipamDir, firstNodeSpec(plan).cniName, n.address);
  if (existsSync(taken)) throw new Error(`${n.address} (the second node's address) is held by a pod of ${plan.nodeName} (${taken}): cluster:down, then up again`);
  if (!existsSync(netnsPath(n.netns))) await sh(log, 'ip', ['netns', 'add', n.netns], 'network namespace');
  await sh(log, 'ip', ['-n', n.netns, 'link', 'set', 'lo', 'up'], 'loopback up');
  if (!(await ok('ip', ['link', 'show', n.vethHost]))) {
    await sh(log, 'ip', ['link', 'add', n.vethHost, 'type', 'veth', 'peer', 'name', n.vethNode, 'netns', n.netns], 'veth pair');
  }
  await sh(log, 'ip', ['link', 'set', n.vethHost, 'master', plan.bridge], 'veth into the bridge');
  await sh(log, 'ip', ['link', 'set', n.vethHost, 'up'], 'veth up');
  const addrs = (await run('ip', ['-n', n.netns, '-4', '-o', 'addr', 'show', 'dev', n.vethNode])).stdout;
  if (!addrs.includes(` ${n.address}/`)) {
    await sh(log, 'ip', ['-n', n.netns, 'addr', 'add', `${n.address}/${plan.nodeSubnet.split('/')[1]}`, 'dev', n.vethNode], 'node address');
  }
  await sh(log, 'ip', ['-n', n.netns, 'link', 'set', n.vethNode, 'up'], 'node veth up');
  await sh(log, 'ip', ['-n', n.netns, 'route', 'replace', 'default', 'via', plan.gateway, 'dev', n.vethNode], 'node default route');
  // The namespace forwards between its pods' bridge and the veth (the CNI bridge plugin also sets it).
  await sh(log, 'nsenter', [`--net=${netnsPath(n.netns)}`, '--', 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward'], 'forwarding in the namespace');
  await sh(log, 'ip', ['route', 'replace', n.podSubnet, 'via', n.address, 'dev', plan.bridge], 'route to the second node\'s pods');
  log(`cluster: second node network: namespace ${n.netns} (${n.address} on ${plan.bridge}), pods ${n.podSubnet} routed via it`);
}

async function teardownSecondNodeNetwork(plan: NetPlan, log: Log): Promise<boolean> {
  const n = plan.second;
  let any = false;
  if ((await run('ip', ['route', 'del', n.podSubnet, 'via', n.address])).code === 0) any = true;
  if ((await run('ip', ['link', 'del', n.vethHost])).code === 0) any = true;
  if (existsSync(netnsPath(n.netns))) {
    const r = await run('ip', ['netns', 'del', n.netns]);
    if (r.code !== 0) log(`cluster: ip netns del ${n.netns}: ${r.stderr.trim()}`);
    any = true;
  }
  if (any) log(`cluster: second node network removed (namespace ${n.netns}, veth ${n.vethHost}, route ${n.podSubnet})`);
  return any;
}

/**
 * Starts (or reuses) the second real node `vg-node-2` of a running whole cluster: its own containerd (own root,
 * state, socket), its own kubelet (own root dir, cgroup root, node IP, pod subnet), both in its own network
 * namespace; waits until its Node is Ready. Root only.
 */
export async function startSecondNode(opts: { log?: Log } = {}): Promise<SecondNodeInfo> {
  const log = opts.log ?? defaultLog;
  if (process.getuid?.() !== 0) throw new Error('the second node needs root (network namespace, containerd, kubelet)');
  const plan = netPlan(false);
  if (!plan || !(await ok('ip', ['link', 'show', plan.bridge]))) throw new Error('the second node needs the whole cluster running (npm run cluster:up -- --whole)');
  const status = await clusterStatus();
  if (!status.ready || !status.server) throw new Error('the second node needs the API server running (npm run cluster:up -- --whole)');
  const started = Date.now();
  const spec = secondNodeSpec(plan);
  await writeNodeFiles(spec);
  // The admin kubeconfig, but through the `kubernetes` ClusterIP (the API server's certificate names it).
  const admin = await readFile(paths.kubeconfig, 'utf8');
  const viaService = admin.replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://${plan.apiServiceIp}:443`);
  if (viaService === admin) throw new Error(`no 'server: https://127.0.0.1:<port>' in ${paths.kubeconfig}`);
  await writeFile(spec.kubeconfig, viaService, { mode: 0o600 });
  ensureCgroupRoot(spec);
  await setupSecondNodeNetwork(plan, log);
  const ctrdC = containerdFor(spec);
  startComponent(ctrdC, log);
  await waitFor('containerd of the second node', 30_000, async () => (await ctr(['version'], 5000, spec.layout.ctrd.socket)).code === 0, () => tail(logFile(ctrdC.name)));
  await importImages(log, spec.layout);
  const k = kubeletFor(spec);
  startComponent(k, log);
  await waitFor(`node ${spec.name} Ready`, 120_000, () => nodeReady(spec.name), () => tail(logFile(k.name)));
  log(`cluster: node ${spec.name} Ready (${Math.round((Date.now() - started) / 100) / 10} s)`);
  return secondNodeInfo(plan);
}

/**
 * Stops the second node and removes everything it added: its pods and their sandboxes, kubelet, containerd,
 * shims, mounts, cgroups, /var/log/containers links, pod network namespaces, its own network namespace, the veth
 * pair and the host route; deleteNode (default true) also deletes its Node object (the pod garbage collector then
 * removes pods still bound to it); purge deletes .cluster/node2. A no-op when it never ran.
 */
export async function stopSecondNode(opts: { log?: Log; purge?: boolean; deleteNode?: boolean } = {}): Promise<void> {
  const log = opts.log ?? defaultLog;
  const plan = netPlan(false);
  if (!plan) return;
  const spec = secondNodeSpec(plan);
  const api = (await clusterStatus()).ready;
  await stopNode(spec, api, log);
  await teardownSecondNodeNetwork(plan, log);
  if (api && (opts.deleteNode ?? true)) {
    const r = await kubectl(['delete', 'node', spec.name, '--ignore-not-found', '--timeout=30s'], { timeoutMs: 45_000 });
    if (r.code !== 0) log(`cluster: deleting node ${spec.name}: ${r.stderr.trim()}`);
  }
  if (opts.purge) await rm(node2Dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------
// Status

export interface ComponentStatus {
  name: string;
  running: boolean;
  pid?: number;
  rssMiB?: number;
  detail?: string;
}

/** Resident memory of a process in MiB (undefined when gone). */
export function rssMiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** Every component's state (for `cluster:status`). */
export async function wholeStatus(): Promise<ComponentStatus[]> {
  const plan = netPlan(false);
  const out: ComponentStatus[] = [];
  const second = plan ? secondNodeSpec(plan) : undefined;
  const withSecond = plan && second && (readMode()?.secondNode === true || runningPid(kubeletFor(second)) !== undefined);
  const comps = plan
    ? [kcm(plan), scheduler(plan), containerdComponent(), kubelet(plan), ...(withSecond && second ? [containerdFor(second), kubeletFor(second)] : []), kwok(plan)]
    : [];
  for (const c of comps) {
    const pid = runningPid(c);
    const r = pid ? rssMiB(pid) : undefined;
    out.push({ name: c.name, running: pid !== undefined, ...(pid ? { pid } : {}), ...(r !== undefined ? { rssMiB: r } : {}) });
  }
  if (plan) {
    const ready = await nodeReady(plan.nodeName).catch(() => false);
    const kubeletEntry = out.find((c) => c.name === 'kubelet');
    if (kubeletEntry) kubeletEntry.detail = `node ${plan.nodeName} Ready=${ready}`;
    const kubelet2 = out.find((c) => c.name === 'kubelet-2');
    if (kubelet2) {
      const ns = existsSync(netnsPath(plan.second.netns));
      kubelet2.detail = `node ${plan.second.nodeName} Ready=${await nodeReady(plan.second.nodeName).catch(() => false)}, netns ${plan.second.netns} ${ns ? plan.second.address : 'absent'}`;
    }
    const br = await ok('ip', ['link', 'show', plan.bridge]);
    const routes = (await run('ip', ['route', 'show', 'type', 'unreachable'])).stdout;
    out.push({
      name: 'network',
      running: br && routes.includes(plan.serviceCidr) && routes.includes(plan.podCidr),
      detail: `slot ${plan.slot}, bridge ${plan.bridge} ${br ? 'up' : 'absent'}, services ${plan.serviceCidr} and pods ${plan.podCidr} ${routes.includes(plan.serviceCidr) ? 'unreachable' : 'NOT routed unreachable'}`,
    });
  }
  return out;
}

/** The default cluster's components beside the API server (for `cluster:status`). */
export function defaultStatus(): ComponentStatus[] {
  const c = defaultKcm();
  const pid = runningPid(c);
  const r = pid ? rssMiB(pid) : undefined;
  return [{ name: c.name, running: pid !== undefined, ...(pid ? { pid } : {}), ...(r !== undefined ? { rssMiB: r } : {}) }];
}

export async function readComponentLog(name: string): Promise<string> {
  return readFile(logFile(name), 'utf8').catch(() => '');
}

// volume-guard's own availability across two real nodes (issue 14 item 4): installed by its chart from its image
// with two replicas, both on the first real node vg-node; then `kubectl drain vg-node` while dry-run evictions
// are sent in a loop. The PDB lets one replica go at a time: the first is evicted, its replacement is scheduled on
// the second real node vg-node-2 (own containerd and kubelet in its own network namespace: startSecondNode in
// test/harness/node.ts) and becomes Ready there, the drain waits for it, then the second replica moves too.
// Every admission sent meanwhile is answered by the pods (the host-run volume-guard is unregistered while this
// file runs). Skipped unless the whole cluster runs with its real node, as root.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { helm, kubectl, run } from '../harness/cluster.ts';
import { netPlan, startSecondNode, stopSecondNode, type SecondNodeInfo } from '../harness/node.ts';
import { apply, must } from '../harness/scenario.ts';
import { buildImage, CHART, chartValues, evictDryRun as evict, GUARD_SELECTOR as SELECTOR, RELEASE, shippedStage, VG_NS } from '../support/shipped.ts';
import { busyboxContainer, createLocalPv, localDbStatefulSet, waitJsonpath, waitPodRunning } from '../support/whole.ts';

const cluster = inject('cluster');
const whole = cluster.whole;
const NS = 'drain2-app';
const PV = 'drain2-data';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const runnable = whole !== undefined && whole.nodeName !== '' && process.getuid?.() === 0;

/** name → node of volume-guard's pods (terminating ones included). */
async function guardPods(): Promise<Map<string, string>> {
  const r = await must(kubectl(['get', 'pods', '-n', VG_NS, '-l', SELECTOR, '-o', 'jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName}{"\\n"}{end}']), 'pods');
  return new Map(r.stdout.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
}

/** A server-side dry-run eviction of a pod of NS (what `kubectl drain` sends, without evicting): allowed, denied or an error. */
const evictDryRun = (pod: string) => evict(NS, pod, { timeoutMs: 30_000 });

/** Addresses of the Service's ready endpoints (where the API server sends admissions). */
async function readyEndpoints(): Promise<string[]> {
  const r = await kubectl(['get', 'endpointslices', '-n', VG_NS, '-l', `kubernetes.io/service-name=${RELEASE}`, '-o', 'jsonpath={.items[*].endpoints[?(@.conditions.ready==true)].addresses[0]}'], { timeoutMs: 30_000 });
  return r.code === 0 ? r.stdout.split(' ').filter(Boolean) : [];
}

const inSubnet = (ip: string, cidr: string) => ip.startsWith(cidr.replace(/\.0\/24$/, '.'));

describe.skipIf(!runnable)('a drain moves volume-guard to the second real node while admissions are answered', () => {
  const w = whole!;
  let second: SecondNodeInfo;
  let startedHere = false;
  let imageRef = '';
  const stage = shippedStage('drain2', { namespace: NS, pv: PV });

  beforeAll(async () => {
    startedHere = w.secondNode === undefined;
    second = await startSecondNode();
    // After the second node is up: the image (cached) is imported into both nodes' containerd.
    imageRef = await buildImage();
    // The host-run volume-guard out of the path (restored in afterAll).
    await stage.setUp();
  }, 40 * 60_000);

  afterAll(async () => {
    if (!runnable) return;
    await kubectl(['uncordon', w.nodeName]);
    await stage.tearDown();
    if (startedHere) await stopSecondNode({ purge: true });
    else await kubectl(['uncordon', second.nodeName]);
    await rm(join(second.localVolumeDir, PV), { recursive: true, force: true });
  }, 300_000);

  it('drain of the node hosting both replicas: one evicted at a time, each replacement Ready on the other node, every admission answered', async () => {
    // Workloads on the second node whose evictions the probes send: db-0 keeps its only copy on a local PV of
    // vg-node-2 (volume-guard denies its eviction), plain has no volume (allowed). No webhook is registered yet.
    await createLocalPv(second, PV);
    await apply(
      localDbStatefulSet(w, NS, 'exec sleep 3600'),
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'plain', namespace: NS },
        spec: { nodeName: second.nodeName, terminationGracePeriodSeconds: 1, containers: [busyboxContainer(w, 'plain', 'exec sleep 3600')] },
      },
    );
    await waitPodRunning(NS, 'db-0');
    await waitPodRunning(NS, 'plain');
    expect((await kubectl(['get', 'pod', 'db-0', '-n', NS, '-o', 'jsonpath={.spec.nodeName}'])).stdout).toBe(second.nodeName);

    // Both replicas on vg-node: the second node is cordoned while the chart installs. Two real nodes, so the
    // replicas spread by preference only (required anti-affinity would leave a drained replica Pending).
    await must(kubectl(['cordon', second.nodeName]), 'cordon the second node');
    const installed = await helm(['install', RELEASE, CHART, '-n', VG_NS, '--create-namespace', ...chartValues(imageRef), '--wait', '--timeout', '240s'], { timeoutMs: 300_000 });
    expect(installed.code, installed.stderr).toBe(0);
    await must(kubectl(['uncordon', second.nodeName]), 'uncordon the second node');
    const before = await guardPods();
    expect([...before.values()]).toEqual([w.nodeName, w.nodeName]);
    expect((await kubectl(['get', 'pdb', RELEASE, '-n', VG_NS, '-o', 'jsonpath={.spec.minAvailable}'])).stdout).toBe('1');
    // The pods answer: db-0's eviction is denied, plain's allowed.
    expect(await evictDryRun('db-0')).toBe('denied');
    expect(await evictDryRun('plain')).toBe('allowed');

    type Sample = { phase: 'drain' | 'after'; ready: number; db: string; plain: string };
    const samples: Sample[] = [];
    let phase: Sample['phase'] = 'drain';
    let stop = false;
    const probe = (async () => {
      while (!stop) {
        const current = phase;
        const ready = (await readyEndpoints()).length;
        const [db, plain] = await Promise.all([evictDryRun('db-0'), evictDryRun('plain')]);
        samples.push({ phase: current, ready, db, plain });
      }
    })();
    const drainStarted = Date.now();
    const drained = await kubectl(['drain', w.nodeName, `--pod-selector=${SELECTOR}`, '--delete-emptydir-data', '--timeout=240s'], { timeoutMs: 300_000 });
    const drainMs = Date.now() - drainStarted;
    phase = 'after';
    // Enough answers after the move (by count, not time).
    while (samples.filter((s) => s.phase === 'after').length < 10 && !drained.code) await sleep(200);
    stop = true;
    await probe;

    // The drain finished; on its way the PDB refused an eviction (one replica at a time) and the drain waited.
    expect(drained.code, drained.stderr).toBe(0);
    expect(`${drained.stdout}${drained.stderr}`).toMatch(/disruption budget/);
    // volume-guard never judged its own pods (its namespace is excluded from its webhooks).
    expect(drained.stderr).not.toContain('volume-guard.io" denied');
    // Both replicas moved: new pods, on the second node, Ready, and the API server calls them there.
    const after = await guardPods();
    expect([...after.keys()].filter((p) => before.has(p))).toEqual([]);
    expect([...after.values()]).toEqual([second.nodeName, second.nodeName]);
    expect(await waitJsonpath(['deployment', RELEASE, '-n', VG_NS], '{.status.readyReplicas}', (v) => v === '2', 60_000)).toBe('2');
    const endpoints = await readyEndpoints();
    expect(endpoints).toHaveLength(2);
    expect(endpoints.every((ip) => inSubnet(ip, second.podSubnet)), endpoints.join(' ')).toBe(true);

    // Every admission meanwhile answered, each with the right decision; at least one while a single replica served.
    const during = samples.filter((s) => s.phase === 'drain');
    expect(during.length).toBeGreaterThanOrEqual(3);
    expect(samples.filter((s) => s.phase === 'after').length).toBeGreaterThanOrEqual(10);
    expect(samples.filter((s) => s.db !== 'denied' || s.plain !== 'allowed')).toEqual([]);
    expect(Math.min(...samples.map((s) => s.ready))).toBeGreaterThanOrEqual(1);
    expect(during.filter((s) => s.ready === 1).length).toBeGreaterThanOrEqual(1);
    process.stderr.write(
      `[drain-second-node] drain ${Math.round(drainMs / 100) / 10} s; ${samples.length} probe rounds (${during.length} during the drain, ${during.filter((s) => s.ready === 1).length} with one ready replica), all answered\n`,
    );
  }, 600_000);

  it("the second node's pods meet the same isolation: outside addresses and ClusterIPs refused at once, only the API server's", async () => {
    const plan = netPlan(false);
    expect(plan).toBeDefined();
    const p = plan!;
    // The host routes the second node's pod subnet through its namespace; the rest of the pod CIDR stays unreachable.
    const podIp = (await must(kubectl(['get', 'pod', 'plain', '-n', NS, '-o', 'jsonpath={.status.podIP}']), 'pod IP')).stdout;
    expect(inSubnet(podIp, second.podSubnet)).toBe(true);
    expect((await must(run('ip', ['route', 'get', podIp]), 'ip route get')).stdout).toContain(`via ${second.address} dev ${p.bridge}`);
    const beyond = await run('ip', ['route', 'get', second.podSubnet.replace(/\.1\.0\/24$/, '.2.5')]);
    expect(`${beyond.code} ${beyond.stdout}${beyond.stderr}`).toMatch(/unreachable|No route to host/);
    const rejected = async () => {
      const rules = (await must(run('iptables', ['-w', '-L', p.chain, '-v', '-n', '-x']), 'iptables -L')).stdout;
      return Number((rules.split('\n').find((l) => l.includes('tcp-reset')) ?? '').trim().split(/\s+/)[0] ?? 'NaN');
    };
    const rejectedBefore = await rejected();
    const serviceIp = (await must(kubectl(['get', 'svc', RELEASE, '-n', VG_NS, '-o', 'jsonpath={.spec.clusterIP}']), 'clusterIP')).stdout;
    const gw = /default via (\S+)/.exec((await run('ip', ['route', 'show', 'default'])).stdout)?.[1];
    const targets = ['203.0.113.10', serviceIp, ...(gw ? [gw] : [])];
    for (const target of targets) {
      const started = Date.now();
      const r = await kubectl(['exec', '-n', NS, 'plain', '--', 'sh', '-c', `nc -w 8 ${target} 443 </dev/null; echo "rc=$?"`], { timeoutMs: 30_000 });
      const out = `${r.stdout}${r.stderr}`;
      expect(out, target).toMatch(/rc=1/);
      expect(out, target).toMatch(/can't connect to remote host .*(Connection refused|unreachable|No route to host)/i);
      expect(Date.now() - started, `${target}: ${out}`).toBeLessThan(4000);
    }
    // Each met the host's reject rule for the bridge: the second node's traffic enters the host through it.
    expect((await rejected()) - rejectedBefore).toBeGreaterThanOrEqual(targets.length);
    const api = await kubectl(['exec', '-n', NS, 'plain', '--', 'sh', '-c', `nc -w 5 ${w.apiServiceIp} 443 </dev/null; echo "rc=$?"`], { timeoutMs: 30_000 });
    expect(`${api.stdout}${api.stderr}`).toMatch(/rc=0/);
    const other = await kubectl(['exec', '-n', NS, 'plain', '--', 'sh', '-c', `nc -w 5 ${w.apiServiceIp} 80 </dev/null; echo "rc=$?"`], { timeoutMs: 30_000 });
    expect(`${other.stdout}${other.stderr}`).toMatch(/rc=1/);
    // No masquerading anywhere: not on the host for the second node's subnet, not inside its namespace.
    const nat = (await run('iptables', ['-w', '-t', 'nat', '-S'])).stdout;
    expect(nat.split('\n').filter((l) => l.includes('MASQUERADE') && l.includes(second.podSubnet))).toEqual([]);
    const natNs = (await run('nsenter', [`--net=/run/netns/${second.netns}`, '--', 'iptables', '-w', '-t', 'nat', '-S'])).stdout;
    expect(natNs.split('\n').filter((l) => l.includes('MASQUERADE'))).toEqual([]);
  }, 120_000);
});

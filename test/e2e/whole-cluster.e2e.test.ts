// The whole test cluster (test/harness/node.ts) behaves like a real one, and nothing leaves this machine:
// a real node becomes Ready and runs real containers, the StatefulSet controller creates claims, a drain of the real
// node is refused while a pod's data is on it (the bytes stay), drains across KWOK's fake nodes complete.
// Skipped unless the whole cluster runs (VG_WHOLE_CLUSTER=1 or `npm run cluster:up -- --whole`).
import { connect } from 'node:net';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kubectl, run } from '../harness/cluster.ts';
import { ensureFakeNodes, netPlan } from '../harness/node.ts';
import { apply, must } from '../harness/scenario.ts';
import {
  busyboxContainer,
  createLocalPv,
  deleteNamespaceAndWait,
  freshNamespace,
  localDbStatefulSet,
  spreadOverFakeNodes,
  waitFileContent,
  waitJsonpath,
  waitPodRunning,
} from '../support/whole.ts';

const cluster = inject('cluster');
const whole = cluster.whole;
const NS = 'whole-cluster';
const PV = 'whole-cluster-data';

/** Connects from this host; resolves the error code (or 'connected') and how long it took. */
function hostConnect(host: string, port: number): Promise<{ outcome: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 10_000 });
    socket.on('connect', () => {
      socket.destroy();
      resolve({ outcome: 'connected', ms: Date.now() - started });
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve({ outcome: 'timeout', ms: Date.now() - started });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve({ outcome: err.code ?? err.message, ms: Date.now() - started }));
  });
}

describe.skipIf(!whole)('the whole test cluster', () => {
  const w = whole!;
  let dataDir = '';

  beforeAll(async () => {
    await freshNamespace(NS);
  }, 180_000);

  afterAll(async () => {
    if (!whole) return;
    for (const node of [w.nodeName, ...w.fakeNodes, 'fake-0', 'fake-1']) await kubectl(['uncordon', node]);
    await deleteNamespaceAndWait(NS).catch(() => undefined);
    await kubectl(['delete', 'pv', PV, '--ignore-not-found', '--wait=false']);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 240_000);

  it('the real node registers with the kubelet built here and becomes Ready', async () => {
    expect(w.nodeName).not.toBe('');
    const ready = await waitJsonpath(['node', w.nodeName], '{.status.conditions[?(@.type=="Ready")].status}', (v) => v === 'True');
    expect(ready).toBe('True');
    const info = await must(kubectl(['get', 'node', w.nodeName, '-o', 'jsonpath={.status.nodeInfo.kubeletVersion} {.status.nodeInfo.containerRuntimeVersion} {.status.addresses[?(@.type=="InternalIP")].address}']), 'node info');
    const [kubeletVersion, runtime, ip] = info.stdout.split(' ');
    expect(kubeletVersion).toBe('v1.36.3');
    expect(runtime).toMatch(/^containerd:\/\//);
    // The node's address is its pod bridge's gateway: the kubelet serves on no interface of the machine itself.
    expect(ip).toBe(w.gateway);
  });

  it('nothing leaves this machine: ClusterIPs and outside addresses are unreachable at once, no masquerading', async () => {
    // Routes exist for the service CIDR and the whole pod CIDR.
    const unreachable = (await must(run('ip', ['route', 'show', 'type', 'unreachable']), 'ip route')).stdout;
    expect(unreachable).toContain(w.serviceCidr);
    expect(unreachable).toContain(w.podCidr);
    // The bridge does no masquerading.
    const nat = (await run('iptables', ['-w', '-t', 'nat', '-S'])).stdout;
    expect(nat.split('\n').filter((l) => l.includes('MASQUERADE') && (l.includes(w.nodeSubnet) || l.includes(w.bridge)))).toEqual([]);

    // A Service's ClusterIP from the host: refused by the route at once (no kube-proxy here, no default route).
    await apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: NS },
      spec: { selector: { app: 'web' }, ports: [{ port: 443, targetPort: 8443 }] },
    });
    const clusterIp = (await must(kubectl(['get', 'svc', 'web', '-n', NS, '-o', 'jsonpath={.spec.clusterIP}']), 'clusterIP')).stdout;
    expect(clusterIp.startsWith(w.serviceCidr.split('.').slice(0, 2).join('.'))).toBe(true);
    const fromHost = await hostConnect(clusterIp, 443);
    expect(fromHost.outcome).toBe('EHOSTUNREACH');
    expect(fromHost.ms).toBeLessThan(1000);

    // From a pod on the real node: an outside address (documentation range and the machine's own default gateway)
    // and the ClusterIP fail at once (rejected by the host's FORWARD rules), not after a silent timeout. The pod
    // bridge's routing table leads only into the sink, so even without those rules nothing would leave.
    const plan = netPlan(false);
    expect(plan).toBeDefined();
    expect((await run('ip', ['route', 'show', 'table', String(plan!.table)])).stdout.trim()).toBe(`default dev ${plan!.sink} scope link`);
    const rejected = async () => {
      const rules = (await must(run('iptables', ['-w', '-L', plan!.chain, '-v', '-n', '-x']), 'iptables -L')).stdout;
      const line = rules.split('\n').find((l) => l.includes('tcp-reset')) ?? '';
      return Number(line.trim().split(/\s+/)[0] ?? 'NaN');
    };
    const rejectedBefore = await rejected();
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'netcheck', namespace: NS },
      spec: {
        nodeSelector: { 'kubernetes.io/hostname': w.nodeName },
        terminationGracePeriodSeconds: 1,
        containers: [busyboxContainer(w, 'box', 'sleep 3600')],
      },
    });
    await waitPodRunning(NS, 'netcheck');
    const gw = /default via (\S+)/.exec((await run('ip', ['route', 'show', 'default'])).stdout)?.[1];
    const targets = ['203.0.113.10', clusterIp, ...(gw ? [gw] : [])];
    for (const target of targets) {
      const started = Date.now();
      const r = await kubectl(['exec', '-n', NS, 'netcheck', '--', 'sh', '-c', `nc -w 8 ${target} 443 </dev/null; echo "rc=$?"`], { timeoutMs: 30_000 });
      const ms = Date.now() - started;
      const out = `${r.stdout}${r.stderr}`;
      expect(out, target).toMatch(/rc=1/);
      expect(out, target).toMatch(/can't connect to remote host .*(Connection refused|unreachable|No route to host)/i);
      expect(ms, `${target}: ${out}`).toBeLessThan(4000);
    }
    // Each of those connects met the host's reject rule for traffic forwarded from the pod bridge.
    expect((await rejected()) - rejectedBefore).toBeGreaterThanOrEqual(targets.length);
    // The one exception, a stand-in for kube-proxy confined to the bridge: the `kubernetes` Service's ClusterIP on
    // port 443 is translated to the API server on 127.0.0.1 (delivered locally, nothing routed). Its other ports
    // stay refused, and from the bridge nothing else on loopback is reachable (only translated traffic is let in).
    const apiIp = (await must(kubectl(['get', 'svc', 'kubernetes', '-n', 'default', '-o', 'jsonpath={.spec.clusterIP}']), 'kubernetes clusterIP')).stdout;
    expect(apiIp).toBe(w.apiServiceIp);
    const env = await must(kubectl(['exec', '-n', NS, 'netcheck', '--', 'sh', '-c', 'echo $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT']), 'pod env');
    expect(env.stdout.trim()).toBe(`${apiIp}:443`);
    const api = await kubectl(['exec', '-n', NS, 'netcheck', '--', 'sh', '-c', `nc -w 5 ${apiIp} 443 </dev/null; echo "rc=$?"`], { timeoutMs: 30_000 });
    expect(`${api.stdout}${api.stderr}`).toMatch(/rc=0/);
    const other = await kubectl(['exec', '-n', NS, 'netcheck', '--', 'sh', '-c', `nc -w 5 ${apiIp} 80 </dev/null; echo "rc=$?"`], { timeoutMs: 30_000 });
    expect(`${other.stdout}${other.stderr}`).toMatch(/rc=1/);
    expect((await run('iptables', ['-w', '-t', 'nat', '-S', plan!.apiNatChain])).stdout).toContain(
      `-A ${plan!.apiNatChain} -d ${apiIp}/32 -i ${w.bridge} -p tcp -m tcp --dport 443 -j DNAT --to-destination 127.0.0.1:${new URL(cluster.server).port}`,
    );
    expect((await run('iptables', ['-w', '-S', plan!.loopbackChain])).stdout).toContain(`-A ${plan!.loopbackChain} -d 127.0.0.0/8 -i ${w.bridge} -m conntrack ! --ctstate DNAT -j DROP`);
    // From the host the ClusterIP stays unreachable (the translation applies to traffic from the bridge only).
    expect((await hostConnect(apiIp, 443)).outcome).toBe('EHOSTUNREACH');
    // The pod does reach its own node (the gateway address is local to this machine).
    const local = await kubectl(['exec', '-n', NS, 'netcheck', '--', 'ping', '-c', '1', '-W', '2', w.gateway], { timeoutMs: 30_000 });
    expect(local.code, local.stderr).toBe(0);
    await kubectl(['delete', 'pod', 'netcheck', '-n', NS, '--grace-period=1']);
  });

  it("the StatefulSet controller creates the claim, the pod writes real bytes into a local PV on the real node", async () => {
    dataDir = await createLocalPv(w, PV);
    await apply(localDbStatefulSet(w, NS, 'echo "row 1 of db-0" > /data/table; sync; exec sleep 3600'));
    // Created by the controller (this test never creates it), bound to the local PV once the pod is scheduled.
    await waitJsonpath(['pvc', 'data-db-0', '-n', NS], '{.status.phase}', (v) => v === 'Bound');
    expect((await kubectl(['get', 'pvc', 'data-db-0', '-n', NS, '-o', 'jsonpath={.spec.volumeName}'])).stdout).toBe(PV);
    // The protection finalizer is there (StorageObjectInUseProtection runs with the controllers).
    expect((await kubectl(['get', 'pvc', 'data-db-0', '-n', NS, '-o', 'jsonpath={.metadata.finalizers}'])).stdout).toContain('kubernetes.io/pvc-protection');
    await waitPodRunning(NS, 'db-0');
    expect((await kubectl(['get', 'pod', 'db-0', '-n', NS, '-o', 'jsonpath={.spec.nodeName}'])).stdout).toBe(w.nodeName);
    await waitFileContent(join(dataDir, 'table'), 'row 1 of db-0\n');
  });

  it('a drain of the real node is refused while the pod\'s data is on it: the pod stays, the bytes stay', async () => {
    const uid = (await kubectl(['get', 'pod', 'db-0', '-n', NS, '-o', 'jsonpath={.metadata.uid}'])).stdout;
    const drained = await kubectl(['drain', w.nodeName, '--ignore-daemonsets', '--delete-emptydir-data', '--force', '--timeout=20s'], { timeoutMs: 60_000 });
    expect(drained.code).not.toBe(0);
    expect(drained.stderr).toContain('admission webhook "pod-eviction.volume-guard.io" denied the request');
    expect(drained.stderr).toContain(`${NS}/db-0`);
    expect((await kubectl(['get', 'pod', 'db-0', '-n', NS, '-o', 'jsonpath={.metadata.uid} {.status.phase}'])).stdout).toBe(`${uid} Running`);
    expect(await readFile(join(dataDir, 'table'), 'utf8')).toBe('row 1 of db-0\n');
    await must(kubectl(['uncordon', w.nodeName]), 'uncordon');
  }, 120_000);

  it('drains across fake nodes complete when nothing is at risk; the evicted pods are rescheduled', async () => {
    await ensureFakeNodes(2);
    await spreadOverFakeNodes(NS, 'stateless', 2);
    // Other files may have added more fake nodes than two: the pods are on fake nodes, whichever.
    const kwokNodes = (await kubectl(['get', 'nodes', '-l', 'type=kwok', '-o', 'jsonpath={.items[*].metadata.name}'])).stdout.split(' ');
    const before = (await kubectl(['get', 'pods', '-n', NS, '-l', 'app=stateless', '-o', 'jsonpath={.items[*].spec.nodeName}'])).stdout.split(' ');
    expect(before.length).toBe(2);
    expect(before.every((n) => kwokNodes.includes(n))).toBe(true);
    const drainedNode = before[0]!;
    const drained = await kubectl(['drain', drainedNode, '--ignore-daemonsets', '--timeout=60s'], { timeoutMs: 90_000 });
    expect(drained.stderr).not.toContain('denied');
    expect(drained.code).toBe(0);
    // The evicted pod lands on another fake node that is schedulable.
    await waitJsonpath(['pods', '-n', NS, '-l', 'app=stateless'], '{.items[*].spec.nodeName}', (v) => {
      const nodes = v.split(' ');
      return nodes.length === 2 && nodes.every((n) => n !== drainedNode && kwokNodes.includes(n));
    });
    await waitJsonpath(['deployment', 'stateless', '-n', NS], '{.status.readyReplicas}', (v) => v === '2');
    await must(kubectl(['uncordon', drainedNode]), 'uncordon');
  }, 180_000);
});

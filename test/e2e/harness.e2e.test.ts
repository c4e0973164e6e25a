// Checks the real-Kubernetes test harness itself: version, identities and RBAC, CRDs,
// Helm, and that objects survive an API server restart.
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureCluster,
  helm,
  kubectl,
  restartApiServer,
  run,
  spawnTied,
  stopCluster,
  tempFile,
  paths,
  BARE_SERVICE_CIDR,
  type ClusterInfo,
} from '../harness/cluster.ts';

const NS = `harness-${process.pid}`;
let cluster: ClusterInfo;

/** kubectl that must succeed; returns stdout. */
async function k(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  cluster = await ensureCluster();
  await k(['create', 'namespace', NS]);
}, 30 * 60_000);

afterAll(async () => {
  // kube-controller-manager runs beside the API server: the namespace controller empties and removes it.
  if (!cluster) return;
  await kubectl(['delete', 'upgradeplans.management.harvesterhci.io', `plan-${NS}`, '--ignore-not-found', '--wait=false']);
  // Waited for: the next file's counts (volume-guard's model) must not see this namespace's objects go.
  await kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--timeout=120s'], { timeoutMs: 150_000 });
}, 180_000);

describe('test cluster', () => {
  it.runIf(process.platform === 'linux' && process.getuid?.() === 0)('routes its service range unreachable (no ClusterIP leaves the machine)', async () => {
    // The range routed is the one the API server is started with (a drift here would route the wrong range).
    const main = await readFile(join(import.meta.dirname, '../harness/cmd/apiserver/main.go'), 'utf8');
    expect(main).toContain(`"--service-cluster-ip-range=${BARE_SERVICE_CIDR}"`);
    const r = await run('ip', ['route', 'get', '10.96.0.1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unreachable|no route to host/i); // iproute2 prints the route's EHOSTUNREACH
  });

  it('reports Kubernetes v1.36.3 on /version', async () => {
    const version = JSON.parse(await k(['get', '--raw', '/version'])) as { gitVersion: string; major: string; minor: string };
    expect(version.gitVersion).toBe('v1.36.3');
    expect(version.major).toBe('1');
    expect(version.minor).toBe('36');
    expect(cluster.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('kubectl version shows client and server v1.36.3', async () => {
    const v = JSON.parse(await k(['version', '-o', 'json'])) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    expect(v.clientVersion.gitVersion).toBe('v1.36.3');
    expect(v.serverVersion.gitVersion).toBe('v1.36.3');
  });

  it('gives the non-admin identity nothing until RBAC grants it', async () => {
    const user = { kubeconfig: cluster.kubeconfigUser };
    const denied = await kubectl(['get', 'secrets', '-A'], user);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/Forbidden/);
    expect(denied.stderr).toMatch(/"alice"/);

    const who = JSON.parse((await kubectl(['auth', 'whoami', '-o', 'json'], user)).stdout) as {
      status: { userInfo: { username: string; groups: string[] } };
    };
    expect(who.status.userInfo.username).toBe('alice');
    expect(who.status.userInfo.groups).toContain('developers');

    const before = await kubectl(['auth', 'can-i', 'list', 'configmaps', '-n', NS], user);
    expect(before.stdout.trim()).toBe('no');
    expect(before.code).toBe(1);
    expect((await k(['auth', 'can-i', 'list', 'secrets', '-A'])).trim()).toBe('yes');

    await k(['create', 'role', 'cm-reader', '-n', NS, '--verb=get,list', '--resource=configmaps']);
    await k(['create', 'rolebinding', 'cm-reader', '-n', NS, '--role=cm-reader', '--group=developers']);
    const after = await kubectl(['auth', 'can-i', 'list', 'configmaps', '-n', NS], user);
    expect(after.stdout.trim()).toBe('yes');
    expect((await kubectl(['get', 'configmaps', '-n', NS], user)).code).toBe(0);
  });

  it('kube-controller-manager acts: PVC protection, garbage collection, StatefulSet claims, namespace deletion', async () => {
    await k(['apply', '-f', '-'], podAndPvc(NS));
    const pod = JSON.parse(await k(['get', 'pod', 'p1', '-n', NS, '-o', 'json'])) as { spec: { nodeName?: string } };
    expect(pod.spec.nodeName).toBeUndefined(); // no scheduler in the default cluster: stays Pending
    // StorageObjectInUseProtection: a claim a scheduled pod uses stays (Terminating) until the pod is gone. The
    // pod is bound to a Node the way the scheduler does it (the binding subresource).
    const node = `${NS}-node`;
    await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: node } }));
    const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p1', namespace: NS }, target: { apiVersion: 'v1', kind: 'Node', name: node } };
    await k(['create', '--raw', `/api/v1/namespaces/${NS}/pods/p1/binding`, '-f', '-'], JSON.stringify(binding));
    const pvc = JSON.parse(await k(['get', 'pvc', 'data-p1', '-n', NS, '-o', 'json'])) as { metadata: { finalizers?: string[] } };
    expect(pvc.metadata.finalizers).toContain('kubernetes.io/pvc-protection');
    await k(['delete', 'pvc', 'data-p1', '-n', NS, '--wait=false']);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await k(['get', 'pvc', 'data-p1', '-n', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}'])).not.toBe('');
    // No kubelet confirms a graceful delete here: the pod goes with --force, then kcm releases the claim.
    await k(['delete', 'pod', 'p1', '-n', NS, '--force', '--grace-period=0']);
    await k(['wait', '--for=delete', 'pvc/data-p1', '-n', NS, '--timeout=60s']);
    await k(['delete', 'node', node]);

    // The garbage collector deletes a dependent once its owner is gone.
    await k(['create', 'configmap', 'owner', '-n', NS]);
    const uid = await k(['get', 'configmap', 'owner', '-n', NS, '-o', 'jsonpath={.metadata.uid}']);
    await k(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'dependent', namespace: NS, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid }] },
    }));
    await k(['delete', 'configmap', 'owner', '-n', NS]);
    await k(['wait', '--for=delete', 'configmap/dependent', '-n', NS, '--timeout=60s']);

    // The StatefulSet controller creates the claims of its template (and the pods, left Pending).
    await k(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web', namespace: NS },
      spec: {
        serviceName: 'web',
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    }));
    await k(['wait', '--for=create', 'pvc/data-web-0', '-n', NS, '--timeout=60s']);
    expect(await k(['get', 'pvc', 'data-web-0', '-n', NS, '-o', 'jsonpath={.metadata.labels.app}'])).toBe('web');

    // The namespace controller empties a deleted namespace and removes it.
    const other = `${NS}-gone`;
    await k(['create', 'namespace', other]);
    await k(['create', 'configmap', 'left', '-n', other]);
    await k(['delete', 'namespace', other, '--timeout=90s']);
    expect((await kubectl(['get', 'namespace', other])).code).not.toBe(0);
  }, 240_000);

  it('ties the commands it runs to the test process: killing the runner ends them and their children', async () => {
    // A child process runs a command (bash with a grandchild, like an image script running `ctr`) through run();
    // SIGKILL of that process, as when a runner is killed mid-test, must leave neither behind.
    const marker = `vg-tie-${process.pid}-${Date.now()}`;
    const seconds = `6${process.pid % 100000}`; // sleep ${seconds}.1 and .2: names no other process has
    const script = join(paths.dir, 'tmp', `${marker}.ts`);
    const command = `sleep ${seconds}.1 & sleep ${seconds}.2; wait`;
    await tempFile(`${marker}.ts`, `import { run } from ${JSON.stringify(join(paths.root, 'test', 'harness', 'cluster.ts'))};\nawait run('bash', ['-c', ${JSON.stringify(command)}], { timeoutMs: 900_000 });\n`);
    const runner = spawn(process.execPath, [script], { stdio: 'ignore' });
    const sleeps = async () => (await run('pgrep', ['-f', `^sleep ${seconds}\\.[12]$`])).stdout.split('\n').filter(Boolean).length;
    const deadline = Date.now() + 20_000;
    while ((await sleeps()) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await sleeps()).toBe(2);
    runner.kill('SIGKILL');
    let left = 2;
    for (let i = 0; i < 50 && left > 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      left = await sleeps();
    }
    expect(left).toBe(0);
    await rm(script, { force: true });
  });

  it('ends the group when the parent-death signal comes several times (once per exiting thread of a killed runner)', async () => {
    // The kernel sends it again each time the group's leader is handed to another thread of the dying runner: a
    // second TERM during the leader's own clean-up must not cut it short. Sent here 10 ms long, every ~20 µs.
    const seconds = `7${process.pid % 100000}`;
    const sleeps = async () => (await run('pgrep', ['-f', `^sleep ${seconds}\\.[12]$`])).stdout.split('\n').filter(Boolean).length;
    const leader = spawnTied('bash', ['-c', `sleep ${seconds}.1 & sleep ${seconds}.2; wait`], { cwd: paths.root });
    leader.stdin.end();
    leader.stdout.resume();
    leader.stderr.resume();
    // 'exit', not 'close': sleeps left behind would hold the pipes open.
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => leader.on('exit', (code, signal) => resolve(signal ?? code)));
    const deadline = Date.now() + 20_000;
    while ((await sleeps()) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await sleeps()).toBe(2);
    const until = performance.now() + 10;
    let sent = 0;
    while (performance.now() < until) {
      try {
        process.kill(leader.pid!, 'SIGTERM');
        sent++;
      } catch {
        break; // gone
      }
      const next = performance.now() + 0.02;
      while (performance.now() < next);
    }
    expect(sent).toBeGreaterThan(1);
    expect(await exited).toBe('SIGTERM');
    let left = 2;
    for (let i = 0; i < 25 && left > 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      left = await sleeps();
    }
    expect(left).toBe(0);
  });

  it('serves every test CRD, with a status subresource', async () => {
    for (const obj of crdObjects(NS)) {
      const { kind, name, namespaced, status } = obj;
      await k(['apply', '-f', '-'], obj.yaml);
      const where = namespaced ? ['-n', NS] : [];
      const resource = obj.resource;
      await k(['patch', resource, name, ...where, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
      const got = JSON.parse(await k(['get', resource, name, ...where, '-o', 'json'])) as { kind: string; status: unknown };
      expect(got.kind).toBe(kind);
      expect(got.status).toMatchObject(status);
    }
    // Printer columns of the Longhorn volume.
    const table = await k(['get', 'lhv', '-n', NS]);
    expect(table).toMatch(/STATE\s+ROBUSTNESS/);
    expect(table).toMatch(/pvc-1\s+attached\s+degraded/);
  });

  it('runs helm against the cluster', async () => {
    const v = await helm(['version', '--template', '{{.Version}}']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^v3\.\d+\.\d+$/);

    const chartDir = join(paths.dir, 'tmp', 'tiny-chart');
    await rm(chartDir, { recursive: true, force: true });
    await tempFile('tiny-chart/Chart.yaml', 'apiVersion: v2\nname: tiny\nversion: 0.1.0\nkubeVersion: ">=1.30.0-0"\n');
    await tempFile(
      'tiny-chart/templates/configmap.yaml',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n',
    );
    const inst = await helm(['install', 'tiny', chartDir, '-n', NS, '--wait', '--timeout', '60s']);
    expect(inst.stderr).toBe('');
    expect(inst.code).toBe(0);
    const cm = JSON.parse(await k(['get', 'configmap', 'tiny-cm', '-n', NS, '-o', 'json'])) as { data: { kube: string } };
    expect(cm.data.kube).toBe('v1.36.3');
    const secret = JSON.parse(await k(['get', 'secret', 'sh.helm.release.v1.tiny.v1', '-n', NS, '-o', 'json'])) as {
      type: string;
      metadata: { labels: Record<string, string> };
    };
    expect(secret.type).toBe('helm.sh/release.v1');
    expect(secret.metadata.labels).toMatchObject({ owner: 'helm', name: 'tiny', status: 'deployed', version: '1' });
    const list = await helm(['list', '-n', NS, '-o', 'json']);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ name: 'tiny', status: 'deployed' })]);
    const un = await helm(['uninstall', 'tiny', '-n', NS, '--wait']);
    expect(un.code).toBe(0);
    expect((await kubectl(['get', 'secret', 'sh.helm.release.v1.tiny.v1', '-n', NS])).code).not.toBe(0);
  });

  it('keeps objects and its URL across down/up and an API server outage', async () => {
    await k(['create', 'configmap', 'survivor', '-n', NS, '--from-literal=k=v']);
    expect(await stopCluster()).toBe(true);
    const again = await ensureCluster({ build: false });
    expect(again.server).toBe(cluster.server);
    expect(await k(['get', 'configmap', 'survivor', '-n', NS, '-o', 'jsonpath={.data.k}'])).toBe('v');

    let downResult = 0;
    const back = await restartApiServer({
      downSeconds: 2,
      onDown: async () => {
        downResult = (await kubectl(['get', 'configmap', 'survivor', '-n', NS, '--request-timeout=2s'])).code;
      },
    });
    expect(downResult).not.toBe(0);
    expect(back.server).toBe(cluster.server);
    expect(await k(['get', 'configmap', 'survivor', '-n', NS, '-o', 'jsonpath={.data.k}'])).toBe('v');
  });
});

function podAndPvc(ns: string): string {
  return `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data-p1, namespace: ${ns}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: p1, namespace: ${ns}}
spec:
  containers: [{name: c, image: busybox}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: data-p1}}]
`;
}

interface CrdObject {
  resource: string;
  kind: string;
  name: string;
  namespaced: boolean;
  yaml: string;
  status: Record<string, unknown>;
}

function crdObjects(ns: string): CrdObject[] {
  return [
    {
      resource: 'volumes.longhorn.io',
      kind: 'Volume',
      name: 'pvc-1',
      namespaced: true,
      yaml: `apiVersion: longhorn.io/v1beta2\nkind: Volume\nmetadata: {name: pvc-1, namespace: ${ns}}\nspec: {numberOfReplicas: 3, dataLocality: disabled, size: "1073741824"}\n`,
      status: {
        state: 'attached',
        robustness: 'degraded',
        currentNodeID: 'node-1',
        kubernetesStatus: { namespace: 'default', pvcName: 'data', pvName: 'pvc-1', workloadsStatus: [{ podName: 'p', workloadType: 'StatefulSet' }] },
      },
    },
    {
      resource: 'replicas.longhorn.io',
      kind: 'Replica',
      name: 'pvc-1-r-1',
      namespaced: true,
      yaml: `apiVersion: longhorn.io/v1beta2\nkind: Replica\nmetadata: {name: pvc-1-r-1, namespace: ${ns}, labels: {longhornvolume: pvc-1, longhornnode: node-1, longhorndiskuuid: u-1}}\nspec: {volumeName: pvc-1, nodeID: node-1, diskID: u-1, healthyAt: "2025-01-01T00:00:00Z", failedAt: "", desireState: running}\n`,
      status: { currentState: 'stopped' },
    },
    {
      resource: 'nodes.longhorn.io',
      kind: 'Node',
      name: 'node-1',
      namespaced: true,
      yaml: `apiVersion: longhorn.io/v1beta2\nkind: Node\nmetadata: {name: node-1, namespace: ${ns}}\nspec: {allowScheduling: true, disks: {disk-1: {path: /var/lib/longhorn, allowScheduling: true}}}\n`,
      status: { diskStatus: { 'disk-1': { diskUUID: 'u-2', conditions: [] } }, conditions: [{ type: 'Ready', status: 'True' }] },
    },
    {
      resource: 'upgrades.harvesterhci.io',
      kind: 'Upgrade',
      name: 'hvst-upgrade-1',
      namespaced: true,
      yaml: `apiVersion: harvesterhci.io/v1beta1\nkind: Upgrade\nmetadata: {name: hvst-upgrade-1, namespace: ${ns}, annotations: {harvesterhci.io/skipSingleReplicaDetachedVol: "true"}}\nspec: {version: v1.4.1, logEnabled: true}\n`,
      status: { previousVersion: 'v1.4.0' },
    },
    {
      resource: 'upgradeplans.management.harvesterhci.io',
      kind: 'UpgradePlan',
      name: `plan-${ns}`,
      namespaced: false,
      yaml: `apiVersion: management.harvesterhci.io/v1beta1\nkind: UpgradePlan\nmetadata: {name: plan-${ns}}\nspec: {version: v1.6.0}\n`,
      status: { currentPhase: 'Initializing' },
    },
    {
      resource: 'plans.upgrade.cattle.io',
      kind: 'Plan',
      name: 'server-plan',
      namespaced: true,
      yaml: `apiVersion: upgrade.cattle.io/v1\nkind: Plan\nmetadata: {name: server-plan, namespace: ${ns}}\nspec: {concurrency: 1, cordon: true, serviceAccountName: system-upgrade, nodeSelector: {matchExpressions: [{key: node-role.kubernetes.io/control-plane, operator: In, values: ["true"]}]}, upgrade: {image: rancher/k3s-upgrade}, version: v1.33.1+k3s1, drain: {force: true}}\n`,
      status: { latestVersion: 'v1.33.1+k3s1', applying: ['node-1'] },
    },
    {
      resource: 'machinedeployments.cluster.x-k8s.io',
      kind: 'MachineDeployment',
      name: 'md-0',
      namespaced: true,
      yaml: `apiVersion: cluster.x-k8s.io/v1beta1\nkind: MachineDeployment\nmetadata: {name: md-0, namespace: ${ns}}\nspec: {clusterName: c1, replicas: 3, selector: {matchLabels: {pool: md-0}}, template: {metadata: {labels: {pool: md-0}}, spec: {clusterName: c1, version: v1.33.1, bootstrap: {configRef: {name: b}}, infrastructureRef: {apiVersion: infrastructure.cluster.x-k8s.io/v1beta1, kind: DockerMachineTemplate, name: md-0-v2}}}}\n`,
      status: { phase: 'ScalingUp', replicas: 3, readyReplicas: 2 },
    },
    {
      resource: 'kubeadmcontrolplanes.controlplane.cluster.x-k8s.io',
      kind: 'KubeadmControlPlane',
      name: 'cp',
      namespaced: true,
      yaml: `apiVersion: controlplane.cluster.x-k8s.io/v1beta1\nkind: KubeadmControlPlane\nmetadata: {name: cp, namespace: ${ns}}\nspec: {version: v1.33.1, replicas: 3, machineTemplate: {infrastructureRef: {apiVersion: infrastructure.cluster.x-k8s.io/v1beta1, kind: DockerMachineTemplate, name: cp-v2}}, kubeadmConfigSpec: {}}\n`,
      status: { initialized: true, replicas: 3, readyReplicas: 3, updatedReplicas: 1, version: 'v1.33.0' },
    },
  ];
}

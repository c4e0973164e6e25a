// `npm run soak [-- --minutes N] [--connection-seconds S] [--json FILE]`: volume-guard (the real CLI) against the
// harness API server for N minutes (default 10) with object churn (create, update, delete of nodes, PVs, PVCs,
// pods, StatefulSets and Longhorn volumes/replicas) and a steady admission load (cordons and evictions).
// Then, by default, 1,000 keep-alive TLS connections held for 60 s.
//
// Passes when: volume-guard never exits; its RSS after warm-up grows by less than 10 %; no informer is stale at
// the end; the model's object counts equal the API server's; no admission request failed. Figures are printed,
// and as one JSON line (also written to --json FILE when given). Exit code 0 on pass, 1 on failure.
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { RESOURCE_KINDS } from '../../src/cluster/records.ts';
import { RESOURCE_SPECS, collectionPath, resourceLabel } from '../../src/cluster/resources.ts';
import { ensureCluster, type ClusterInfo } from '../harness/cluster.ts';
import { holdConnections } from '../fault/lib/connections.ts';
import { cordonReview, percentile, round, sleep, startAutocannon } from '../fault/lib/admission-load.ts';
import { evictionRequest, reviewBody } from '../support/admission.ts';
import { startGuard, type GuardInstance } from '../harness/guard.ts';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'connection-seconds': { type: 'string', default: '60' },
    json: { type: 'string' },
  },
});
const MINUTES = Number(args.minutes);
const CONNECTION_SECONDS = Number(args['connection-seconds']);
if (!(MINUTES > 0) || !(CONNECTION_SECONDS >= 0)) {
  console.error('usage: npm run soak -- [--minutes N (> 0)] [--connection-seconds S (0 skips)] [--json FILE]');
  process.exit(2);
}
const DURATION_MS = MINUTES * 60_000;
/** RSS right after start-up includes one-off allocations (JIT, first lists): measured from after this. */
const WARM_UP_MS = Math.min(120_000, Math.max(15_000, DURATION_MS * 0.2));
const SAMPLE_MS = MINUTES <= 2 ? 2_000 : 5_000;
const RSS_GROWTH_LIMIT = 0.1;
const NAMESPACE = 'vg-soak';
const LONGHORN_NS = 'longhorn-system';
const NODES = 5;
const SLOTS = 40;

const say = (line: string) => process.stdout.write(`[soak] ${line}\n`);

// ---- the API server, directly (kubectl would cost a process per call) ----

class Kube {
  readonly #url: URL;
  readonly #ca: Buffer;
  readonly #token: string;
  calls = 0;
  errors = 0;

  constructor(cluster: ClusterInfo) {
    this.#url = new URL(cluster.server);
    this.#ca = readFileSync(cluster.caFile);
    this.#token = cluster.tokens.admin;
  }

  request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; json: unknown }> {
    this.calls += 1;
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const request = httpsRequest(
        {
          host: this.#url.hostname,
          port: this.#url.port,
          path,
          method,
          ca: this.#ca,
          headers: { authorization: `Bearer ${this.#token}`, accept: 'application/json', ...(payload ? { 'content-type': contentType } : {}) },
          timeout: 30_000,
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            // 404 on delete and 409 on create happen when a slot races itself; anything else is an error.
            if (status >= 400 && status !== 404 && status !== 409) {
              this.errors += 1;
              if (this.errors <= 5) say(`API error ${status} on ${method} ${path}: ${text.slice(0, 300)}`);
            }
            let json: unknown = undefined;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            resolve({ status, json });
          });
        },
      );
      request.on('timeout', () => request.destroy(new Error('timed out')));
      request.on('error', reject);
      request.end(payload);
    });
  }

  async count(path: string): Promise<number> {
    let total = 0;
    let token = '';
    do {
      const page = await this.request('GET', `${path}?limit=500${token ? `&continue=${encodeURIComponent(token)}` : ''}`);
      const list = page.json as { items?: unknown[]; metadata?: { continue?: string } } | undefined;
      if (page.status === 404) return 0;
      total += list?.items?.length ?? 0;
      token = list?.metadata?.continue ?? '';
    } while (token);
    return total;
  }
}

// ---- churn ----

const core = (resource: string, namespace?: string) => (namespace ? `/api/v1/namespaces/${namespace}/${resource}` : `/api/v1/${resource}`);
const apps = (resource: string, namespace: string) => `/apis/apps/v1/namespaces/${namespace}/${resource}`;
const longhorn = (resource: string) => `/apis/longhorn.io/v1beta2/namespaces/${LONGHORN_NS}/${resource}`;

interface SlotObject {
  readonly collection: string;
  readonly name: string;
  readonly body: Record<string, unknown>;
}

function slotObjects(slot: number): SlotObject[] {
  const node = `soak-node-${slot % NODES}`;
  const pv = `soak-pv-${slot}`;
  const claim = `soak-pvc-${slot}`;
  const volume = `soak-vol-${slot}`;
  const labels = { 'app.kubernetes.io/instance': `soak-${slot}`, 'volume-guard.io/test': 'soak' };
  return [
    {
      collection: core('persistentvolumes'),
      name: pv,
      body: {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: pv, labels },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: 'local-storage',
          local: { path: `/mnt/disks/${pv}` },
          claimRef: { namespace: NAMESPACE, name: claim },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }] } },
        },
      },
    },
    {
      collection: core('persistentvolumeclaims', NAMESPACE),
      name: claim,
      body: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: claim, namespace: NAMESPACE, labels },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'local-storage', volumeName: pv, resources: { requests: { storage: '1Gi' } } },
      },
    },
    {
      collection: core('pods', NAMESPACE),
      name: `soak-pod-${slot}`,
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `soak-pod-${slot}`, namespace: NAMESPACE, labels },
        spec: {
          nodeName: node,
          automountServiceAccountToken: false,
          containers: [{ name: 'app', image: 'registry.invalid/app:1', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }],
        },
      },
    },
    {
      collection: apps('statefulsets', NAMESPACE),
      name: `soak-sts-${slot}`,
      body: {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: `soak-sts-${slot}`, namespace: NAMESPACE, labels, annotations: { 'meta.helm.sh/release-name': `soak-${slot}`, 'meta.helm.sh/release-namespace': NAMESPACE } },
        spec: {
          replicas: 1 + (slot % 3),
          serviceName: `soak-${slot}`,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'db', image: 'registry.invalid/db:1' }] } },
          volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
        },
      },
    },
    {
      collection: longhorn('volumes'),
      name: volume,
      body: { apiVersion: 'longhorn.io/v1beta2', kind: 'Volume', metadata: { name: volume, namespace: LONGHORN_NS, labels }, spec: { numberOfReplicas: 2, dataLocality: 'disabled' } },
    },
    ...[0, 1].map((index) => ({
      collection: longhorn('replicas'),
      name: `${volume}-r-${index}`,
      body: {
        apiVersion: 'longhorn.io/v1beta2',
        kind: 'Replica',
        metadata: { name: `${volume}-r-${index}`, namespace: LONGHORN_NS, labels: { ...labels, longhornvolume: volume } },
        spec: { volumeName: volume, nodeID: `soak-node-${(slot + index) % NODES}`, diskID: `disk-soak-node-${(slot + index) % NODES}`, healthyAt: '2026-01-01T00:00:00Z', failedAt: '', desireState: 'running' },
      },
    })),
  ];
}

class Churn {
  readonly #kube: Kube;
  readonly #present = new Set<number>();
  #running = false;
  #workers: Promise<void>[] = [];
  operations = { create: 0, update: 0, delete: 0 };

  constructor(kube: Kube) {
    this.#kube = kube;
  }

  start(workers: number): void {
    this.#running = true;
    for (let worker = 0; worker < workers; worker += 1) this.#workers.push(this.#loop(worker, workers));
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#workers);
  }

  async #loop(worker: number, workers: number): Promise<void> {
    let revision = 0;
    while (this.#running) {
      // Each worker owns the slots congruent to it, so no two operations race on one slot.
      const slot = worker + workers * Math.floor(Math.random() * Math.ceil(SLOTS / workers));
      if (slot >= SLOTS) continue;
      revision += 1;
      try {
        if (!this.#present.has(slot)) await this.#create(slot);
        else if (Math.random() < 0.6) await this.#update(slot, revision);
        else await this.#delete(slot);
      } catch (error) {
        say(`churn: ${String(error)}`);
        await sleep(1_000);
      }
      await sleep(50);
    }
  }

  async #create(slot: number): Promise<void> {
    for (const object of slotObjects(slot)) await this.#kube.request('POST', object.collection, object.body);
    // The status a controller would write: bound PV and PVC, a running pod.
    await this.#kube.request('PATCH', `${core('persistentvolumes')}/soak-pv-${slot}/status`, { status: { phase: 'Bound' } }, 'application/merge-patch+json');
    await this.#kube.request('PATCH', `${core('persistentvolumeclaims', NAMESPACE)}/soak-pvc-${slot}/status`, { status: { phase: 'Bound' } }, 'application/merge-patch+json');
    await this.#kube.request('PATCH', `${core('pods', NAMESPACE)}/soak-pod-${slot}/status`, { status: { phase: 'Running' } }, 'application/merge-patch+json');
    this.#present.add(slot);
    this.operations.create += 1;
  }

  async #update(slot: number, revision: number): Promise<void> {
    for (const object of slotObjects(slot)) {
      await this.#kube.request('PATCH', `${object.collection}/${object.name}`, { metadata: { labels: { 'soak-revision': String(revision) } } }, 'application/merge-patch+json');
    }
    this.operations.update += 1;
  }

  async #delete(slot: number): Promise<void> {
    for (const object of slotObjects(slot).reverse()) {
      // Pods are bound to a node without a kubelet: only an immediate delete removes them.
      const immediate = object.collection.endsWith('/pods') ? '?gracePeriodSeconds=0' : '';
      await this.#kube.request('DELETE', `${object.collection}/${object.name}${immediate}`);
    }
    this.#present.delete(slot);
    this.operations.delete += 1;
  }

  async deleteAll(): Promise<void> {
    for (let slot = 0; slot < SLOTS; slot += 1) await this.#delete(slot);
  }
}

// ---- volume-guard's own figures ----

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kib === undefined ? Number.NaN : Number(kib) * 1024;
}

async function metrics(guard: GuardInstance): Promise<string> {
  return (await fetch(`${guard.opsUrl}/metrics`)).text();
}

function metricValues(text: string, name: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labels = /\{([^}]*)\}/.exec(line)?.[1] ?? '';
    values.set(labels, Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return values;
}

/** Least-squares line through (x, y) points. */
function linearFit(points: readonly (readonly [number, number])[]): { slope: number; at: (x: number) => number } {
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const [x, y] of points) {
    covariance += (x - meanX) * (y - meanY);
    variance += (x - meanX) ** 2;
  }
  const slope = variance === 0 ? 0 : covariance / variance;
  return { slope, at: (x) => meanY + slope * (x - meanX) };
}

const MiB = 1024 * 1024;
const median = (values: readonly number[]) => percentile(values, 50);

async function main(): Promise<number> {
  const startedAt = Date.now();
  const cluster = await ensureCluster({ log: (line) => say(line) });
  const kube = new Kube(cluster);
  await kube.request('POST', core('namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  for (let index = 0; index < NODES; index += 1) {
    const name = `soak-node-${index}`;
    await kube.request('POST', core('nodes'), { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, 'volume-guard.io/test': 'soak' } } });
  }
  const churn = new Churn(kube);
  await churn.deleteAll(); // leftovers of an interrupted run

  const guard = await startGuard(cluster, { name: `soak-${process.pid}`, config: { log: { level: 'warn' } } });
  const pid = guard.process.pid!;
  let exited: number | null | undefined;
  guard.process.once('exit', (code) => (exited = code));
  say(`volume-guard pid ${pid} at ${guard.url}; ${MINUTES} min, warm-up ${Math.round(WARM_UP_MS / 1000)} s, log ${guard.logFile}`);

  churn.start(2);
  const cordons = startAutocannon({ url: `${guard.url}/validate/node-cordon`, body: cordonReview('soak-node-0', 'soak-cordon'), connections: 2, overallRate: 25 });
  const evictionBody = reviewBody(evictionRequest('soak-pod-0', { namespace: NAMESPACE, user: { username: 'soak', groups: [] }, uid: 'soak-eviction' }));
  const evictions = startAutocannon({ url: `${guard.url}/validate/pod-eviction`, body: evictionBody, connections: 2, overallRate: 25 });

  const samples: { at: number; rss: number; heap: number }[] = [];
  const loadStart = Date.now();
  while (Date.now() - loadStart < DURATION_MS && exited === undefined) {
    await sleep(SAMPLE_MS);
    if (exited !== undefined) break;
    const heap = metricValues(await metrics(guard), 'nodejs_heap_size_used_bytes').get('') ?? Number.NaN;
    samples.push({ at: Date.now() - loadStart, rss: rssBytes(pid), heap });
    const last = samples.at(-1)!;
    if (samples.length % Math.max(1, Math.round(60_000 / SAMPLE_MS)) === 0) {
      say(`${round(last.at / 60_000)} min: RSS ${round(last.rss / MiB)} MiB, heap ${round(last.heap / MiB)} MiB, churn ${JSON.stringify(churn.operations)}`);
    }
  }
  cordons.stop();
  evictions.stop();
  await churn.stop();
  const [cordonLoad, evictionLoad] = await Promise.all([cordons.result, evictions.result]);

  // Let the last watch events arrive, then compare the model with the API server.
  await sleep(3_000);
  const counts: Record<string, { model: number; api: number }> = {};
  let modelMatches = false;
  for (let attempt = 0; attempt < 15 && !modelMatches && exited === undefined; attempt += 1) {
    const text = await metrics(guard);
    const modelCounts = metricValues(text, 'volume_guard_model_objects');
    for (const kind of RESOURCE_KINDS) {
      const spec = RESOURCE_SPECS[kind];
      const label = resourceLabel(spec);
      counts[label] = { model: modelCounts.get(`resource="${label}"`) ?? Number.NaN, api: await kube.count(collectionPath(spec, LONGHORN_NS)) };
    }
    modelMatches = Object.values(counts).every((count) => count.model === count.api);
    if (!modelMatches) await sleep(2_000);
  }
  const text = exited === undefined ? await metrics(guard) : '';
  const ages = [...metricValues(text, 'volume_guard_model_age_seconds')].map(([labels, value]) => [labels.replace(/^resource="|"$/g, ''), value] as const);
  const restarts: Record<string, number> = {};
  for (const [labels, value] of metricValues(text, 'volume_guard_informer_restarts_total')) {
    const reason = /reason="([^"]+)"/.exec(labels)?.[1] ?? '?';
    restarts[reason] = (restarts[reason] ?? 0) + value;
  }

  let connections: Awaited<ReturnType<typeof holdConnections>> | undefined;
  if (CONNECTION_SECONDS > 0 && exited === undefined) {
    say(`holding 1,000 keep-alive TLS connections for ${CONNECTION_SECONDS} s`);
    connections = await holdConnections({ port: Number(new URL(guard.url).port), ca: guard.caPem, path: '/validate/node-cordon', body: cordonReview('soak-node-0'), connections: 1_000, seconds: CONNECTION_SECONDS });
  }

  const alive = exited === undefined;
  await guard.stop();
  await churn.deleteAll();
  for (let index = 0; index < NODES; index += 1) await kube.request('DELETE', `${core('nodes')}/soak-node-${index}`);

  // RSS after warm-up rises and falls by a third with each major GC (a cycle takes minutes under this load), so
  // two short windows compare arbitrary points of the sawtooth. The growth judged is the least-squares trend over
  // the whole post-warm-up period, from its fitted start to its fitted end; window medians are reported too.
  const after = samples.filter((sample) => sample.at >= WARM_UP_MS);
  const window = Math.max(3, Math.round(Math.min(60_000, (DURATION_MS - WARM_UP_MS) / 5) / SAMPLE_MS));
  const baseline = median(after.slice(0, window).map((sample) => sample.rss));
  const final = median(after.slice(-window).map((sample) => sample.rss));
  const fit = linearFit(after.map((sample) => [sample.at, sample.rss] as const));
  const fittedStart = fit.at(after[0]?.at ?? 0);
  const fittedEnd = fit.at(after.at(-1)?.at ?? 0);
  const growth = (fittedEnd - fittedStart) / fittedStart;
  const maxAge = Math.max(...ages.map(([, value]) => value));
  const admission = {
    requests: cordonLoad['2xx'] + evictionLoad['2xx'],
    errors: cordonLoad.errors + evictionLoad.errors,
    timeouts: cordonLoad.timeouts + evictionLoad.timeouts,
    non2xx: cordonLoad.non2xx + evictionLoad.non2xx,
    p50Ms: Math.max(cordonLoad.latency.p50, evictionLoad.latency.p50),
    p99Ms: Math.max(cordonLoad.latency.p99, evictionLoad.latency.p99),
  };
  const checks = {
    volumeGuardNeverExited: alive,
    rssGrowthUnder10Percent: growth < RSS_GROWTH_LIMIT,
    noInformerStale: ages.length > 0 && maxAge <= 5,
    modelMatchesApiServer: modelMatches,
    noAdmissionFailure: admission.errors === 0 && admission.non2xx === 0 && admission.timeouts === 0,
    ...(connections ? { connectionsHeldWithoutError: connections.errors.length === 0 && connections.stillOpen === connections.connections && connections.distinctSockets === connections.connections } : {}),
  };
  const result = {
    minutes: MINUTES,
    warmUpSeconds: Math.round(WARM_UP_MS / 1000),
    rss: {
      samples: after.length,
      trendStartMiB: round(fittedStart / MiB),
      trendEndMiB: round(fittedEnd / MiB),
      growthPercent: round(growth * 100, 2),
      firstWindowMedianMiB: round(baseline / MiB),
      lastWindowMedianMiB: round(final / MiB),
      minMiB: round(Math.min(...after.map((sample) => sample.rss)) / MiB),
      maxMiB: round(Math.max(...after.map((sample) => sample.rss)) / MiB),
    },
    heapUsedMiB: { afterWarmUp: round(median(after.slice(0, window).map((sample) => sample.heap)) / MiB), end: round(median(after.slice(-window).map((sample) => sample.heap)) / MiB) },
    churn: { ...churn.operations, apiCalls: kube.calls, apiErrors: kube.errors },
    admission,
    model: { counts, maxAgeSeconds: maxAge, informerRestarts: restarts },
    ...(connections ? { connections: { ...connections, errors: connections.errors.length } } : {}),
    checks,
    passed: Object.values(checks).every(Boolean),
    wallSeconds: Math.round((Date.now() - startedAt) / 1000),
  };

  say(
    `RSS after warm-up (trend) ${result.rss.trendStartMiB} -> ${result.rss.trendEndMiB} MiB: ${result.rss.growthPercent} % (limit 10 %); ` +
      `window medians ${result.rss.firstWindowMedianMiB} -> ${result.rss.lastWindowMedianMiB} MiB, range ${result.rss.minMiB}..${result.rss.maxMiB} MiB`,
  );
  say(`heap used ${result.heapUsedMiB.afterWarmUp} -> ${result.heapUsedMiB.end} MiB`);
  say(`churn ${JSON.stringify(result.churn)}`);
  say(`admission ${JSON.stringify(admission)}`);
  say(`model max age ${maxAge} s, matches the API server: ${modelMatches}, informer restarts ${JSON.stringify(restarts)}`);
  if (connections) say(`connections ${JSON.stringify(result.connections)}`);
  for (const [name, ok] of Object.entries(checks)) say(`${ok ? 'PASS' : 'FAIL'} ${name}`);
  const json = JSON.stringify(result);
  console.log(json);
  if (args.json) {
    // The file also keeps every sample, to plot or re-judge the memory curve.
    const series = samples.map((sample) => ({ seconds: round(sample.at / 1000), rssMiB: round(sample.rss / MiB), heapMiB: round(sample.heap / MiB) }));
    await mkdir(dirname(args.json), { recursive: true });
    await writeFile(args.json, `${JSON.stringify({ ...result, samples: series })}\n`);
  }
  return result.passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

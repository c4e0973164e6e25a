// Section 3: the peers' technique. Kyverno's `apiCall` and pre-check scripts read the cluster from the API server
// on every request; volume-guard reads its informer-fed model. Both variants run the same cordon validator on the
// same AdmissionReview against the harness API server loaded with Longhorn volumes, replicas and nodes (in a
// namespace of their own, named bench-*, so no other engineer's volume-guard sees them; deleted afterwards).

import { Agent, request } from 'node:https';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import type { ValidationContext } from '../../../src/admission/validator.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { createKubeConfig } from '../../../src/cluster/kubeconfig.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { ClusterSnapshot, ModelHealth } from '../../../src/cluster/snapshot.ts';
import { startClusterModel } from '../../../src/cluster/start.ts';
import { transformLonghornNode, transformLonghornReplica, transformLonghornVolume, transformPersistentVolume } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { decodeAdmissionReviewBody, encodeAdmissionResponse } from '../../../src/server/codec.ts';
import { createMetrics } from '../../../src/server/metrics.ts';
import { ensureCluster, kubectl, tempFile, type ClusterInfo } from '../../harness/cluster.ts';
import { cordonReview } from './cases.ts';
import { ratio, summarize, type LatencySummary } from './stats.ts';

export const PEERS_NAMESPACE = 'bench-longhorn-system';
const FIELD_MANAGER = 'volume-guard-bench';
const BENCH_LABEL = 'volume-guard.io/bench';

export interface PeersOptions {
  readonly volumes: number;
  readonly replicasPerVolume: number;
  readonly nodes: number;
  /** Requests timed per variant. */
  readonly listRequests: number;
  readonly modelBudgetMs: number;
  /** Also run the LIST variant with this many requests in flight (0: skip). */
  readonly listConcurrency: number;
  readonly log: (line: string) => void;
}

export interface PeersResult {
  readonly apiServer: string;
  readonly objects: { readonly volumes: number; readonly replicas: number; readonly longhornNodes: number };
  readonly loadSeconds: number;
  /** volume-guard's informers: first list of everything until synced. */
  readonly modelSyncMs: number;
  readonly decision: string;
  readonly model: { readonly requests: number; readonly latency: LatencySummary };
  readonly listPerRequest: {
    readonly requests: number;
    readonly latency: LatencySummary;
    /** Bytes of JSON the API server sent per request (all LISTs). */
    readonly bytesPerRequest: number;
    readonly concurrent?: { readonly inFlight: number; readonly requests: number; readonly latency: LatencySummary };
  };
  /** LIST-per-request p50 and p99 over the model's. */
  readonly ratioP50: number;
  readonly ratioP99: number;
}

function benchNode(i: number): string {
  return `bench-node-${String(i).padStart(2, '0')}`;
}

function diskUUID(node: string): string {
  return `${node}-disk-5d3c1f0e-0000-4000-8000-000000000001`;
}

/** Objects shaped like longhorn-manager's (spec and status fields it writes), so LIST sizes are realistic. */
function longhornObjects(options: PeersOptions): { spec: unknown[][]; status: unknown[][] } {
  const metadata = (name: string, labels: Record<string, string> = {}) => ({
    name,
    namespace: PEERS_NAMESPACE,
    labels: { [BENCH_LABEL]: 'true', ...labels },
  });
  const nodes: unknown[] = [];
  const nodeStatus: unknown[] = [];
  for (let n = 0; n < options.nodes; n++) {
    const name = benchNode(n);
    const base = { apiVersion: 'longhorn.io/v1beta2', kind: 'Node', metadata: metadata(name) };
    nodes.push({
      ...base,
      spec: {
        name,
        allowScheduling: true,
        evictionRequested: false,
        disks: { 'default-disk': { path: '/var/lib/longhorn/', allowScheduling: true, diskType: 'filesystem', storageReserved: 30_000_000_000, tags: [] } },
        tags: [],
      },
    });
    nodeStatus.push({
      ...base,
      status: {
        diskStatus: { 'default-disk': { diskUUID: diskUUID(name), diskType: 'filesystem', storageAvailable: 80_000_000_000, storageMaximum: 100_000_000_000, storageScheduled: 20_000_000_000 } },
        region: 'region-1',
        zone: 'zone-a',
      },
    });
  }
  const volumes: unknown[] = [];
  const volumeStatus: unknown[] = [];
  const replicas: unknown[] = [];
  const replicaStatus: unknown[] = [];
  for (let v = 0; v < options.volumes; v++) {
    const name = `bench-vol-${String(v).padStart(5, '0')}`;
    const attachedTo = benchNode(v % options.nodes);
    const base = { apiVersion: 'longhorn.io/v1beta2', kind: 'Volume', metadata: metadata(name, { longhornvolume: name }) };
    volumes.push({
      ...base,
      spec: {
        accessMode: 'rwo', dataEngine: 'v1', dataLocality: 'disabled', frontend: 'blockdev', numberOfReplicas: options.replicasPerVolume,
        size: '10737418240', staleReplicaTimeout: 30, nodeID: attachedTo, replicaAutoBalance: 'ignored', snapshotDataIntegrity: 'ignored',
      },
    });
    volumeStatus.push({
      ...base,
      status: {
        state: 'attached', robustness: 'healthy', currentNodeID: attachedTo, actualSize: 1_234_567_890, frontendDisabled: false,
        kubernetesStatus: { namespace: 'bench-apps', pvcName: `data-${name}`, pvName: name, pvStatus: 'Bound', workloadsStatus: [{ podName: `app-${v}-0`, podStatus: 'Running', workloadName: `app-${v}`, workloadType: 'StatefulSet' }] },
        conditions: [
          { type: 'Scheduled', status: 'True', lastProbeTime: '', lastTransitionTime: '2025-03-01T10:00:00Z', reason: '', message: '' },
          { type: 'Restore', status: 'False', lastProbeTime: '', lastTransitionTime: '2025-03-01T10:00:00Z', reason: '', message: '' },
        ],
      },
    });
    for (let r = 0; r < options.replicasPerVolume; r++) {
      const node = benchNode((v + r * Math.max(1, Math.floor(options.nodes / options.replicasPerVolume))) % options.nodes);
      const replicaName = `${name}-r-${r}`;
      const replicaBase = { apiVersion: 'longhorn.io/v1beta2', kind: 'Replica', metadata: metadata(replicaName, { longhornvolume: name, longhornnode: node, longhorndiskuuid: diskUUID(node) }) };
      replicas.push({
        ...replicaBase,
        spec: {
          active: true, dataDirectoryName: `${name}-${r}`, dataEngine: 'v1', desireState: 'running', diskID: diskUUID(node), diskPath: '/var/lib/longhorn/',
          engineName: `${name}-e-0`, failedAt: '', healthyAt: '2025-03-01T10:01:00Z', image: 'longhornio/longhorn-engine:v1.7.2', nodeID: node, volumeName: name, volumeSize: '10737418240',
        },
      });
      replicaStatus.push({ ...replicaBase, status: { currentState: 'running', instanceManagerName: `instance-manager-${node}`, ip: '10.42.0.10', port: 10_000 + r, started: true, storageIP: '10.42.0.10' } });
    }
  }
  const batches = (items: unknown[]) => {
    const out: unknown[][] = [];
    for (let i = 0; i < items.length; i += 500) out.push(items.slice(i, i + 500));
    return out;
  };
  return { spec: [...batches(nodes), ...batches(volumes), ...batches(replicas)], status: [...batches(nodeStatus), ...batches(volumeStatus), ...batches(replicaStatus)] };
}

async function applyBatches(batches: unknown[][], label: string): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const index = next++;
      const file = await tempFile(`bench-${process.pid}-${label}-${index}.json`, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: batches[index] }));
      const result = await kubectl(['apply', '--server-side', '--force-conflicts', `--field-manager=${FIELD_MANAGER}`, '-f', file], { timeoutMs: 600_000 });
      if (result.code !== 0) throw new Error(`kubectl apply (${label} batch ${index}) failed: ${result.stderr.slice(0, 500)}`);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
}

async function deleteBenchObjects(): Promise<void> {
  await kubectl(['delete', 'volumes.longhorn.io,replicas.longhorn.io,nodes.longhorn.io', '-n', PEERS_NAMESPACE, '-l', `${BENCH_LABEL}=true`, '--wait=false', '--ignore-not-found'], { timeoutMs: 600_000 });
}

/** GET with the admin token over one keep-alive agent; resolves to the parsed body and its size. */
function getJson(cluster: ClusterInfo, agent: Agent, path: string): Promise<{ value: unknown; bytes: number }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, cluster.server);
    const req = request(url, { agent, headers: { authorization: `Bearer ${cluster.tokens.admin}`, accept: 'application/json' } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const body = Buffer.concat(chunks);
        if (response.statusCode !== 200) {
          reject(new Error(`GET ${path}: HTTP ${response.statusCode}: ${body.toString('utf8', 0, 300)}`));
          return;
        }
        resolve({ value: JSON.parse(body.toString('utf8')) as unknown, bytes: body.length });
      });
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const PLURALS: Readonly<Record<string, string>> = { Volume: 'volumes', Replica: 'replicas', Node: 'nodes' };

async function patchStatuses(cluster: ClusterInfo, agent: Agent, objects: unknown[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < objects.length) {
      const object = objects[next++] as { kind: string; metadata: { name: string }; status: unknown };
      const path = `/apis/longhorn.io/v1beta2/namespaces/${PEERS_NAMESPACE}/${PLURALS[object.kind]}/${object.metadata.name}/status`;
      await new Promise<void>((resolve, reject) => {
        const req = request(
          new URL(path, cluster.server),
          { method: 'PATCH', agent, headers: { authorization: `Bearer ${cluster.tokens.admin}`, 'content-type': 'application/merge-patch+json' } },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () =>
              response.statusCode === 200 ? resolve() : reject(new Error(`PATCH ${path}: HTTP ${response.statusCode}: ${Buffer.concat(chunks).toString('utf8', 0, 300)}`)),
            );
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ status: object.status }));
      });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

function itemsOf(list: unknown): unknown[] {
  const items = (list as { items?: unknown }).items;
  return Array.isArray(items) ? items : [];
}

function definedOnly<T>(values: (T | undefined)[]): T[] {
  return values.filter((value): value is T => value !== undefined);
}

const LONGHORN_CRDS = ['volumes.longhorn.io', 'replicas.longhorn.io', 'nodes.longhorn.io'];

/**
 * Other engineers' end-to-end tests share this API server, and one of them deletes and restores the Longhorn
 * CRDs (Longhorn "uninstalled"). Wait until the three are served again rather than re-creating them under it.
 */
async function waitForLonghornCrds(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await kubectl(['get', 'crd', ...LONGHORN_CRDS, '-o', 'jsonpath={range .items[*]}{.metadata.name} {.metadata.deletionTimestamp} {.status.conditions[?(@.type=="Established")].status}{"\\n"}{end}']);
    const ready = result.stdout.split('\n').filter((line) => /^\S+ +True$/.test(line.trim().replace(/\s+/g, ' ')));
    if (result.code === 0 && ready.length === LONGHORN_CRDS.length) return;
    if (Date.now() > deadline) throw new Error(`Longhorn CRDs not served after ${timeoutMs / 1000} s: ${result.stdout.trim()} ${result.stderr.trim()}`);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

function isCrdChurn(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /terminating|could not find the requested resource|not found|HTTP 404|did not sync|expected \d+/i.test(message);
}

export async function runPeers(options: PeersOptions): Promise<PeersResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      await waitForLonghornCrds(300_000);
      return await runPeersOnce(options);
    } catch (error) {
      if (attempt >= 3 || !isCrdChurn(error)) throw error;
      options.log(`[peers] attempt ${attempt} disturbed by Longhorn CRD churn on the shared API server; retrying: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
  }
}

async function runPeersOnce(options: PeersOptions): Promise<PeersResult> {
  const log = options.log;
  const cluster = await ensureCluster({ build: false, crds: false, log: (line) => log(`[peers] ${line}`) });
  const defaults = defaultConfig();
  const config = { ...defaults, longhorn: { ...defaults.longhorn, namespace: PEERS_NAMESPACE } };
  const validator = nodeCordonValidator(config);
  const body = Buffer.from(cordonReview(benchNode(0)));
  const silent = pino({ level: 'silent' });
  const health: ModelHealth = { synced: () => true, staleResources: () => [] };
  const contextOf = (snapshot: ClusterSnapshot): ValidationContext => ({ snapshot, health, config, now: Date.now(), log: silent, onOverride: () => undefined, removing: () => undefined, cordoning: () => undefined });
  const decide = (snapshot: ClusterSnapshot): string => {
    const decoded = decodeAdmissionReviewBody(body);
    if (!decoded.ok) throw new Error(decoded.reason);
    const decision = validator.handle(decoded.request, contextOf(snapshot));
    JSON.stringify(encodeAdmissionResponse(decoded.request.uid, decision));
    return decision.allowed ? 'allowed' : `denied: ${decision.status?.message.slice(0, 120) ?? ''}`;
  };

  const namespaceFile = await tempFile(`bench-${process.pid}-ns.json`, JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: PEERS_NAMESPACE } }));
  await kubectl(['apply', '-f', namespaceFile]);
  await deleteBenchObjects();
  const agent = new Agent({ keepAlive: true, maxSockets: 16, ca: readFileSync(cluster.caFile) });
  let running: ReturnType<typeof startClusterModel> | undefined;
  try {
    const objects = longhornObjects(options);
    log(`[peers] loading ${options.volumes} volumes, ${options.volumes * options.replicasPerVolume} replicas, ${options.nodes} Longhorn nodes into ${PEERS_NAMESPACE} (kubectl apply --server-side, batches of 500)…`);
    const loadStart = performance.now();
    await applyBatches(objects.spec, 'spec');
    // Status as longhorn-manager writes it: a PATCH of the status subresource per object, 8 in flight.
    await patchStatuses(cluster, agent, objects.status.flat());
    const loadSeconds = Math.round((performance.now() - loadStart) / 100) / 10;
    log(`[peers] loaded in ${loadSeconds} s`);

    // volume-guard: the informers fill the model once; each request reads it.
    const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
    const syncStart = performance.now();
    running = startClusterModel({
      kubeConfig: createKubeConfig({ kubeconfigPath: cluster.kubeconfig }),
      sink: model,
      registry: createMetrics({ processMetrics: false }).registry,
      config: { longhornNamespace: PEERS_NAMESPACE, resyncSeconds: 0 },
      log: silent,
    });
    while (!running.health.synced()) {
      if (performance.now() - syncStart > 180_000) throw new Error('volume-guard model did not sync within 180 s');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const modelSyncMs = Math.round(performance.now() - syncStart);
    if (model.count('longhornVolume') < options.volumes) throw new Error(`model holds ${model.count('longhornVolume')} volumes, expected ${options.volumes}`);
    const modelDecision = decide(model);
    const modelTimes: number[] = [];
    for (let i = 0; i < 200; i++) decide(model);
    const modelDeadline = performance.now() + options.modelBudgetMs;
    while (modelTimes.length < 100_000 && (modelTimes.length < 200 || performance.now() < modelDeadline)) {
      const start = process.hrtime.bigint();
      decide(model);
      modelTimes.push(Number(process.hrtime.bigint() - start) / 1000);
    }
    await running.stop();
    running = undefined;

    // The peers: LIST everything the decision needs, on every request, then decide.
    const paths = [
      `/apis/longhorn.io/v1beta2/namespaces/${PEERS_NAMESPACE}/volumes`,
      `/apis/longhorn.io/v1beta2/namespaces/${PEERS_NAMESPACE}/replicas`,
      `/apis/longhorn.io/v1beta2/namespaces/${PEERS_NAMESPACE}/nodes`,
      '/api/v1/persistentvolumes',
    ];
    let listBytes = 0;
    const listOnce = async (): Promise<{ micros: number; decision: string }> => {
      const start = process.hrtime.bigint();
      const [volumes, replicas, nodes, pvs] = await Promise.all(paths.map((path) => getJson(cluster, agent, path)));
      listBytes = volumes!.bytes + replicas!.bytes + nodes!.bytes + pvs!.bytes;
      const fresh = new ClusterModel();
      fresh.setLonghornInstalled(true);
      fresh.replaceAll('longhornVolume', definedOnly(itemsOf(volumes!.value).map(transformLonghornVolume)));
      fresh.replaceAll('longhornReplica', definedOnly(itemsOf(replicas!.value).map(transformLonghornReplica)));
      fresh.replaceAll('longhornNode', definedOnly(itemsOf(nodes!.value).map(transformLonghornNode)));
      fresh.replaceAll('persistentVolume', definedOnly(itemsOf(pvs!.value).map(transformPersistentVolume)));
      const decision = decide(fresh);
      return { micros: Number(process.hrtime.bigint() - start) / 1000, decision };
    };
    log(`[peers] LIST per request: ${options.listRequests} sequential requests…`);
    const first = await listOnce();
    if (first.decision !== modelDecision) throw new Error(`the variants disagree: model ${modelDecision}, LIST ${first.decision}`);
    await listOnce();
    const listTimes: number[] = [];
    for (let i = 0; i < options.listRequests; i++) listTimes.push((await listOnce()).micros);
    let concurrent: PeersResult['listPerRequest']['concurrent'];
    if (options.listConcurrency > 0) {
      log(`[peers] LIST per request: ${options.listRequests} requests, ${options.listConcurrency} in flight…`);
      const times: number[] = [];
      let issued = 0;
      const worker = async () => {
        while (issued < options.listRequests) {
          issued++;
          times.push((await listOnce()).micros);
        }
      };
      await Promise.all(Array.from({ length: options.listConcurrency }, worker));
      concurrent = { inFlight: options.listConcurrency, requests: times.length, latency: summarize(times) };
    }
    const modelLatency = summarize(modelTimes);
    const listLatency = summarize(listTimes);
    return {
      apiServer: cluster.server,
      objects: { volumes: options.volumes, replicas: options.volumes * options.replicasPerVolume, longhornNodes: options.nodes },
      loadSeconds,
      modelSyncMs,
      decision: modelDecision,
      model: { requests: modelTimes.length, latency: modelLatency },
      listPerRequest: { requests: listTimes.length, latency: listLatency, bytesPerRequest: listBytes, ...(concurrent ? { concurrent } : {}) },
      ratioP50: ratio(listLatency.p50, modelLatency.p50),
      ratioP99: ratio(listLatency.p99, modelLatency.p99),
    };
  } finally {
    await running?.stop().catch(() => undefined);
    agent.destroy();
    log('[peers] deleting the bench objects…');
    await deleteBenchObjects();
  }
}

// The cluster model against the real kube-apiserver of the harness: informers fill a ClusterModel, and
// every change made through the API shows up in it; an outage (network cut through a TCP proxy, and a real
// API server restart) ends with the model equal to the server's state, deletions included; a watch from an
// expired resourceVersion relists; readiness flips as specified; the RBAC list suffices.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ensureCluster, applyCrds, kubectl, restartApiServer, type ClusterInfo } from '../harness/cluster.ts';
import { ClusterModel } from '../../src/cluster/model.ts';
import { VOLUME_SETS } from '../../src/checks/longhorn-health.ts';
import { startClusterModel, type RunningClusterModel } from '../../src/cluster/start.ts';
import { createKubeConfig } from '../../src/cluster/kubeconfig.ts';
import { HttpKubeClient, isExpired, isResourceVersionTooLarge, type KubeClient } from '../../src/cluster/kube-client.ts';
import { RESOURCE_KINDS, type RecordByKind, type ResourceKind } from '../../src/cluster/records.ts';
import { collectionPath, RESOURCE_SPECS, resourceLabel } from '../../src/cluster/resources.ts';
import { clusterRoleRules } from '../../src/cluster/permissions.ts';
import { recordsEqual } from '../../src/cluster/model-equality.ts';
import { kubeConfigVia, TcpProxy } from '../support/tcp-proxy.ts';

const ID = `${process.pid}`;
const NS = `cm-e2e-${ID}`;
const LONGHORN_NS = `cm-e2e-lh-${ID}`;
const NODE = `cm-e2e-node-${ID}`;
const log = pino({ level: process.env['E2E_LOG_LEVEL'] ?? 'warn' }, pino.destination(2));

let cluster: ClusterInfo;
let direct: HttpKubeClient;

// ---------------------------------------------------------------------------------------------- helpers

async function k(args: readonly string[], input?: string): Promise<string> {
  const result = await kubectl(args, input === undefined ? {} : { input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

const apply = (object: object) => k(['apply', '-f', '-'], JSON.stringify(object));

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Wraps a client so that the next watch of one path starts from a long-gone resourceVersion, or (`untilListed`) every
 * watch of it until it is listed again: as after etcd is restored from an older backup, when the resourceVersion the
 * informer holds is one the server has not reached.
 */
class ExpiringClient implements KubeClient {
  readonly #inner: KubeClient;
  armedFor: string | undefined;
  expiredVersion = '';
  untilListed = false;
  constructor(inner: KubeClient) {
    this.#inner = inner;
  }
  list(path: string, options: Parameters<KubeClient['list']>[1]): ReturnType<KubeClient['list']> {
    if (this.untilListed && this.armedFor === path) {
      // Asked whether the server reached the resourceVersion: it is the one the server has not reached.
      if (options.resourceVersion !== undefined) return this.#inner.list(path, { ...options, resourceVersion: this.expiredVersion });
      if (!options.continueToken) this.armedFor = undefined;
    }
    return this.#inner.list(path, options);
  }
  watch(path: string, options: Parameters<KubeClient['watch']>[1], handlers: Parameters<KubeClient['watch']>[2]): Promise<void> {
    if (this.armedFor === path) {
      // Disarmed once the server has answered (a connection refused by the cut proxy does not count).
      const onConnected = () => {
        if (!this.untilListed) this.armedFor = undefined;
        handlers.onConnected();
      };
      return this.#inner.watch(path, { ...options, resourceVersion: this.expiredVersion }, { onConnected, onEvent: handlers.onEvent });
    }
    return this.#inner.watch(path, options, handlers);
  }
}

async function listFromServer<K extends ResourceKind>(kind: K): Promise<RecordByKind[K][]> {
  const spec = RESOURCE_SPECS[kind];
  const records: RecordByKind[K][] = [];
  let continueToken = '';
  do {
    const page = await direct.list(collectionPath(spec, LONGHORN_NS), { limit: 500, continueToken, signal: AbortSignal.timeout(20_000) }).catch((error: unknown) => {
      if (spec.optional && error instanceof Error && 'statusCode' in error && error.statusCode === 404) return { items: [], continueToken: '', resourceVersion: '' };
      throw error;
    });
    for (const item of page.items) {
      const record = spec.transform(item);
      if (record) records.push(record);
    }
    continueToken = page.continueToken;
  } while (continueToken !== '');
  return records;
}

function lookup(model: ClusterModel, kind: ResourceKind, record: RecordByKind[ResourceKind]): object | undefined {
  const r = record as RecordByKind[ResourceKind] & { namespace?: string; volumeName?: string };
  switch (kind) {
    case 'node':
      return model.node(r.name);
    case 'namespace':
      return model.namespace(r.name);
    case 'persistentVolume':
      return model.persistentVolume(r.name);
    case 'persistentVolumeClaim':
      return model.persistentVolumeClaim(r.namespace!, r.name);
    case 'pod':
      return model.pod(r.namespace!, r.name);
    case 'statefulSet':
      return model.statefulSet(r.namespace!, r.name);
    case 'longhornVolume':
      return model.longhornVolume(r.name);
    case 'longhornReplica':
      return model.replicasOfVolume(r.volumeName!).find((replica) => replica.name === r.name);
    case 'machine':
    case 'machineDrainRule':
    case 'clusterApiCluster':
      return model.get(kind, `${r.namespace!}/${r.name}`);
    case 'longhornNode':
      return model.longhornNode(r.name);
  }
}

/** Every difference between the model and the server, over every kind the model holds ([] = equal). */
async function differences(model: ClusterModel): Promise<string[]> {
  const found: string[] = [];
  for (const kind of RESOURCE_KINDS) {
    const server = await listFromServer(kind);
    if (model.count(kind) !== server.length) found.push(`${kind}: model has ${model.count(kind)}, server ${server.length}`);
    for (const record of server) {
      const held = lookup(model, kind, record);
      if (!held || !recordsEqual(held, record)) found.push(`${kind} ${JSON.stringify(record)} vs model ${JSON.stringify(held)}`);
    }
  }
  return found;
}

async function expectConverges(model: ClusterModel, what: string, timeoutMs: number): Promise<number> {
  let last: string[] = [];
  try {
    return await eventually(async () => (last = await differences(model)).length === 0, what, timeoutMs);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${last.slice(0, 10).join('\n')}`);
  }
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((entry) => entry.name === name);
  const value = metric?.values.find((entry) => Object.entries(labels).every(([key, v]) => entry.labels[key] === v));
  return value?.value ?? Number.NaN;
}

const restartsOf = (registry: Registry, resource: string, reason: string) =>
  metricValue(registry, 'volume_guard_informer_restarts_total', { resource, reason });

// ------------------------------------------------------------------------------------------- fixtures

const pvc = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, namespace: NS, labels },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: 'local-storage' },
});

const longhornVolume = (name: string, replicas: number) => ({
  apiVersion: 'longhorn.io/v1beta2',
  kind: 'Volume',
  metadata: { name, namespace: LONGHORN_NS },
  spec: { numberOfReplicas: replicas, dataLocality: 'disabled' },
});

const longhornReplica = (name: string, volume: string) => ({
  apiVersion: 'longhorn.io/v1beta2',
  kind: 'Replica',
  metadata: { name, namespace: LONGHORN_NS, labels: { longhornvolume: volume } },
  spec: { volumeName: volume, nodeID: NODE, diskID: 'disk-uuid-1', healthyAt: '2025-01-01T00:00:00Z', failedAt: '', desireState: 'running' },
});

// ----------------------------------------------------------------------------------------------- setup

let proxy: TcpProxy;
let model: ClusterModel;
let registry: Registry;
let running: RunningClusterModel | undefined;
let expiring: ExpiringClient;
/** A PVC resourceVersion from before the API server restart: expired afterwards. */
let versionBeforeRestart = '';

beforeAll(async () => {
  cluster = await ensureCluster();
  direct = new HttpKubeClient(createKubeConfig({ kubeconfigPath: cluster.kubeconfig }));
  await k(['create', 'namespace', NS]);
  await k(['create', 'namespace', LONGHORN_NS]);
  // Cutting the proxy is, to the informers, the API server going away.
  proxy = await TcpProxy.inFrontOf(cluster.server);
}, 45 * 60_000);

afterAll(async () => {
  await running?.stop();
  await proxy?.close();
  if (!cluster) return;
  // Pods on a Node without a kubelet go only when forced (nothing confirms a graceful delete); the namespace
  // controller deletes everything else in the namespaces and then removes them.
  await kubectl(['delete', 'pods', '--all', '-n', NS, '--force', '--grace-period=0', '--wait=false']);
  await kubectl(['delete', 'pv', '-l', `cm-e2e=${ID}`, '--wait=false']);
  await kubectl(['delete', 'node', NODE, '--ignore-not-found', '--wait=false']);
  await kubectl(['delete', 'clusterrolebinding,clusterrole', `cm-e2e-${ID}`, '--ignore-not-found']);
  await kubectl(['delete', 'namespace', NS, LONGHORN_NS, '--ignore-not-found', '--wait=false']);
});

// ----------------------------------------------------------------------------------------------- tests

describe('cluster model against the real API server', () => {
  it('is not ready until every informer has listed once, then holds the whole cluster', async () => {
    registry = new Registry();
    model = new ClusterModel(VOLUME_SETS);
    expiring = new ExpiringClient(new HttpKubeClient(kubeConfigVia(cluster.kubeconfig, proxy.url)));
    proxy.cut();
    running = startClusterModel({
      kubeConfig: kubeConfigVia(cluster.kubeconfig, proxy.url),
      client: expiring,
      sink: model,
      registry,
      log,
      config: { longhornNamespace: LONGHORN_NS, longhornPollSeconds: 1 },
      timings: { watchdogIntervalMs: 250, backoffCapMs: 4_000 },
    });
    // The API server is unreachable: nothing is synced and everything is stale.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(running.health.synced()).toBe(false);
    expect(running.health.staleResources(60_000)).toHaveLength(RESOURCE_KINDS.length);
    expect(await metricValue(registry, 'volume_guard_model_age_seconds', { resource: 'pods' })).toBe(Number.POSITIVE_INFINITY);

    proxy.restore();
    const syncMs = await eventually(() => running!.health.synced(), 'first sync', 30_000);
    log.info({ syncMs }, 'synced');
    expect(running.health.staleResources(5_000)).toEqual([]);
    expect(model.longhornInstalled).toBe(true);
    // Listed is synced; once each informer's watch is connected too, its age is 0.
    await eventually(() => running!.statuses().every((status) => status.connected), 'every watch connected');
    for (const kind of RESOURCE_KINDS) {
      expect(await metricValue(registry, 'volume_guard_model_age_seconds', { resource: resourceLabel(RESOURCE_SPECS[kind]) })).toBe(0);
    }
    await expectConverges(model, 'model equals the server after the first sync', 15_000);
    expect(await metricValue(registry, 'volume_guard_model_objects', { resource: 'namespaces' })).toBe(model.count('namespace'));
  });

  it('shows a create, update and delete of every kind', async () => {
    const timings: Record<string, number> = {};
    const step = async (name: string, change: () => Promise<unknown>, visible: () => boolean) => {
      await change();
      timings[name] = await eventually(visible, name, 10_000);
    };

    // Node
    await step('node created', () => apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: NODE, annotations: { 'volume-guard.io/note': 'a' } } }), () => model.node(NODE)?.annotations['volume-guard.io/note'] === 'a');
    await step('node cordoned', () => k(['cordon', NODE]), () => model.node(NODE)?.unschedulable === true);

    // Namespace (NS exists already; annotate it)
    await step('namespace annotated', () => k(['annotate', 'namespace', NS, 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-by=admin']), () => model.namespace(NS)?.annotations['volume-guard.io/skip'] === 'node-local-volume');

    // PersistentVolume pinned to the node
    const pvName = `cm-e2e-pv-${ID}`;
    await step(
      'pv created',
      () =>
        apply({
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: { name: pvName, labels: { 'cm-e2e': ID } },
          spec: {
            capacity: { storage: '1Gi' },
            accessModes: ['ReadWriteOnce'],
            persistentVolumeReclaimPolicy: 'Retain',
            storageClassName: 'local-storage',
            local: { path: '/mnt/disks/1' },
            nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [NODE] }] }] } },
          },
        }),
      () => model.persistentVolumesPinnedTo(NODE).some((pv) => pv.name === pvName && pv.source === 'local'),
    );
    await step('pv updated', () => k(['patch', 'pv', pvName, '-p', '{"spec":{"persistentVolumeReclaimPolicy":"Delete"}}']), () => model.persistentVolume(pvName)?.reclaimPolicy === 'Delete');

    // PersistentVolumeClaim
    await step('pvc created', () => apply(pvc('data-db-0', { 'app.kubernetes.io/instance': 'db' })), () => model.persistentVolumeClaimsOfRelease(NS, 'db').some((claim) => claim.name === 'data-db-0'));
    await step('pvc updated', () => k(['annotate', 'pvc', 'data-db-0', '-n', NS, 'volume-guard.io/skip=orphan-claims', 'volume-guard.io/skip-by=admin']), () => model.persistentVolumeClaim(NS, 'data-db-0')?.annotations['volume-guard.io/skip'] === 'orphan-claims');

    // Pod using the claim
    await step(
      'pod created',
      () =>
        apply({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'db-0', namespace: NS },
          spec: {
            nodeName: NODE,
            containers: [{ name: 'db', image: 'postgres:16' }],
            volumes: [
              { name: 'data', persistentVolumeClaim: { claimName: 'data-db-0' } },
              { name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } } },
            ],
          },
        }),
      () => model.podsUsingClaim(NS, 'data-db-0').some((pod) => pod.name === 'db-0') && model.podsOnNode(NODE).length === 1,
    );
    expect(model.pod(NS, 'db-0')?.claimNames).toEqual(['data-db-0', 'db-0-scratch']);
    await step('pod status updated', () => k(['patch', 'pod', 'db-0', '-n', NS, '--subresource=status', '-p', '{"status":{"phase":"Running"}}']), () => model.pod(NS, 'db-0')?.phase === 'Running');

    // StatefulSet from a Helm release
    await step(
      'statefulset created',
      () =>
        apply({
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          metadata: { name: 'db', namespace: NS, annotations: { 'meta.helm.sh/release-name': 'db', 'meta.helm.sh/release-namespace': NS } },
          spec: {
            replicas: 1,
            serviceName: 'db',
            selector: { matchLabels: { 'app.kubernetes.io/instance': 'db' } },
            template: { metadata: { labels: { 'app.kubernetes.io/instance': 'db' } }, spec: { containers: [{ name: 'db', image: 'postgres:16' }] } },
            volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
          },
        }),
      () => model.statefulSetsOfRelease(NS, 'db').some((set) => set.name === 'db' && set.claimTemplates.includes('data')),
    );
    await step('statefulset scaled', () => k(['scale', 'statefulset', 'db', '-n', NS, '--replicas=3']), () => model.statefulSet(NS, 'db')?.replicas === 3);

    // Longhorn volume, replica and node
    await step('longhorn volume created', () => apply(longhornVolume('pvc-lh-1', 3)), () => model.longhornVolume('pvc-lh-1')?.numberOfReplicas === 3);
    await step(
      'longhorn volume status',
      () => k(['patch', 'volumes.longhorn.io', 'pvc-lh-1', '-n', LONGHORN_NS, '--type=merge', '--subresource=status', '-p', JSON.stringify({ status: { state: 'detached', robustness: 'degraded', kubernetesStatus: { pvName: 'pvc-lh-1', namespace: NS, pvcName: 'data-db-0' } } })]),
      () => model.longhornVolumeOfPV('pvc-lh-1')?.robustness === 'degraded',
    );
    await step('longhorn replica created', () => apply(longhornReplica('pvc-lh-1-r-1', 'pvc-lh-1')), () => model.replicasOfVolume('pvc-lh-1').length === 1 && model.replicasOnNode(NODE).length === 1);
    await step(
      'longhorn replica stopped',
      () => k(['patch', 'replicas.longhorn.io', 'pvc-lh-1-r-1', '-n', LONGHORN_NS, '--type=merge', '--subresource=status', '-p', '{"status":{"currentState":"stopped"}}']),
      () => model.replicasOfVolume('pvc-lh-1')[0]?.currentState === 'stopped',
    );
    await step('longhorn node created', () => apply({ apiVersion: 'longhorn.io/v1beta2', kind: 'Node', metadata: { name: NODE, namespace: LONGHORN_NS }, spec: { disks: {} } }), () => model.longhornNode(NODE) !== undefined);
    await step(
      'longhorn node disks',
      () => k(['patch', 'nodes.longhorn.io', NODE, '-n', LONGHORN_NS, '--type=merge', '--subresource=status', '-p', '{"status":{"diskStatus":{"default":{"diskUUID":"disk-uuid-1"}}}}']),
      () => model.longhornNode(NODE)?.diskUUIDs.includes('disk-uuid-1') === true,
    );

    await expectConverges(model, 'model equals server after the creates', 15_000);

    // Deletes, in reverse.
    await step('longhorn node deleted', () => k(['delete', 'nodes.longhorn.io', NODE, '-n', LONGHORN_NS]), () => model.longhornNode(NODE) === undefined);
    // The volume before its replica: the registered volume-guard refuses deleting a volume's last healthy replica
    // (storage-teardown) until it has seen the volume go.
    await step('longhorn volume deleted', () => k(['delete', 'volumes.longhorn.io', 'pvc-lh-1', '-n', LONGHORN_NS]), () => model.longhornVolume('pvc-lh-1') === undefined);
    await step(
      'longhorn replica deleted',
      () => eventually(async () => (await kubectl(['delete', 'replicas.longhorn.io', 'pvc-lh-1-r-1', '-n', LONGHORN_NS])).code === 0, 'replica delete admitted'),
      () => model.replicasOnNode(NODE).length === 0,
    );
    await step('statefulset deleted', () => k(['delete', 'statefulset', 'db', '-n', NS]), () => model.statefulSet(NS, 'db') === undefined);
    // The PV controller bound data-db-0 to the local PV: deleting its pod on a cordoned node is refused (the
    // pod-delete check of a drain), so the node is uncordoned first, as an operator would after maintenance.
    await step('node uncordoned', () => k(['uncordon', NODE]), () => model.node(NODE)?.unschedulable === false);
    await step('pod deleted', () => k(['delete', 'pod', 'db-0', '-n', NS, '--force', '--grace-period=0']), () => model.pod(NS, 'db-0') === undefined && model.podsUsingClaim(NS, 'data-db-0').length === 0);
    await step('pvc deleted', () => k(['delete', 'pvc', 'data-db-0', '-n', NS]), () => model.persistentVolumeClaim(NS, 'data-db-0') === undefined);
    await step('pv deleted', () => k(['delete', 'pv', pvName]), () => model.persistentVolumesPinnedTo(NODE).length === 0);
    await step('node deleted', () => k(['delete', 'node', NODE]), () => model.node(NODE) === undefined);
    const extraNamespace = `cm-e2e-x-${ID}`;
    await step('namespace created', () => k(['create', 'namespace', extraNamespace]), () => model.namespace(extraNamespace) !== undefined);
    await step(
      'namespace deleted',
      // The namespace controller finishes the deletion.
      () => k(['delete', 'namespace', extraNamespace, '--wait=false']),
      () => model.namespace(extraNamespace) === undefined,
    );
    log.warn({ timings }, 'ms from a change through the API to the model');
    expect(Math.max(...Object.values(timings))).toBeLessThan(10_000);
    await expectConverges(model, 'model equals server after the deletes', 15_000);
  });

  it('treats absent Longhorn CRDs as "not installed", synced, and picks them up again', async () => {
    await apply(longhornVolume('pvc-before', 2));
    await eventually(() => model.longhornVolume('pvc-before') !== undefined, 'volume visible');
    // volume-guard's storage-teardown check (registered for the whole e2e suite, guarding longhorn-system) refuses
    // deleting Longhorn CRDs while volumes exist: accept it here.
    await kubectl(['create', 'namespace', 'longhorn-system']);
    await k(['annotate', '--overwrite', 'namespace', 'longhorn-system', 'volume-guard.io/skip=storage-teardown', 'volume-guard.io/skip-by=admin']);
    try {
      await eventually(
        async () => (await kubectl(['delete', 'crd', 'volumes.longhorn.io', 'replicas.longhorn.io', 'nodes.longhorn.io', 'settings.longhorn.io', '--ignore-not-found'])).code === 0,
        'Longhorn CRDs deleted',
        30_000,
      );
      await eventually(() => !model.longhornInstalled, 'Longhorn not installed', 30_000);
      expect(model.count('longhornVolume')).toBe(0);
      expect(running!.health.synced()).toBe(true);
      expect(running!.health.staleResources(5_000)).toEqual([]);
    } finally {
      await applyCrds({ log: () => {} });
      // Its writer too: a later file's refusal advice fits what the namespace still holds (--overwrite).
      await k(['annotate', 'namespace', 'longhorn-system', 'volume-guard.io/skip-', 'volume-guard.io/skip-by-']);
    }
    await eventually(() => model.longhornInstalled, 'Longhorn installed again', 30_000);
    await apply(longhornVolume('pvc-after', 1));
    await eventually(() => model.longhornVolume('pvc-after')?.numberOfReplicas === 1, 'new volume visible', 15_000);
    expect(model.longhornVolume('pvc-before')).toBeUndefined(); // deleted with its CRD
  });

  it('recovers from a 30 s network outage, deletions made meanwhile included', { timeout: 240_000 }, async () => {
    for (const name of ['o-keep', 'o-gone', 'o-changed']) await apply(pvc(name));
    await apply(longhornVolume('pvc-o', 2));
    await apply(longhornReplica('pvc-o-r-1', 'pvc-o'));
    await apply(longhornReplica('pvc-o-r-2', 'pvc-o'));
    await eventually(() => model.persistentVolumeClaimsIn(NS).length >= 3 && model.replicasOfVolume('pvc-o').length === 2, 'fixtures visible');

    proxy.cut();
    const cutAt = Date.now();
    await k(['delete', 'pvc', 'o-gone', '-n', NS]);
    await k(['label', 'pvc', 'o-changed', '-n', NS, 'release=other']);
    await apply(pvc('o-new'));
    await k(['delete', 'replicas.longhorn.io', 'pvc-o-r-2', '-n', LONGHORN_NS]);
    await eventually(() => running!.health.staleResources(10_000).length === RESOURCE_KINDS.length, 'every resource stale', 25_000);
    expect(running!.health.synced()).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, cutAt + 30_000 - Date.now())));
    proxy.restore();

    const recoverMs = await expectConverges(model, 'model equals server after the outage', 60_000);
    log.warn({ recoverMs }, 'ms from the end of a 30 s network outage to a model equal to the server');
    expect(model.persistentVolumeClaim(NS, 'o-gone')).toBeUndefined();
    expect(model.persistentVolumeClaim(NS, 'o-new')).toBeDefined();
    expect(model.persistentVolumeClaim(NS, 'o-changed')?.labels['release']).toBe('other');
    expect(model.replicasOfVolume('pvc-o').map((replica) => replica.name)).toEqual(['pvc-o-r-1']);
    await eventually(() => running!.health.staleResources(5_000).length === 0, 'fresh again');
  });

  it('recovers from a 30 s API server restart and converges on changes made as it comes back', { timeout: 300_000 }, async () => {
    for (const name of ['r-keep', 'r-gone']) await apply(pvc(name));
    await eventually(() => model.persistentVolumeClaim(NS, 'r-gone') !== undefined, 'fixtures visible');
    const stale = new Set<string>();
    const sampler = setInterval(() => {
      for (const resource of running!.health.staleResources(10_000)) stale.add(resource);
    }, 500);
    const relistsBefore = await Promise.all(RESOURCE_KINDS.map((kind) => restartsOf(registry, resourceLabel(RESOURCE_SPECS[kind]), 'expired')));
    versionBeforeRestart = (await direct.list(`/api/v1/namespaces/${NS}/persistentvolumeclaims`, { limit: 1, signal: AbortSignal.timeout(10_000) })).resourceVersion;
    await apply(pvc('r-later')); // etcd moves past that version before the restarted server's cache starts
    try {
      await restartApiServer({ downSeconds: 30, log: (line) => log.info(line) });
    } finally {
      clearInterval(sampler);
    }
    expect([...stale].sort()).toEqual(RESOURCE_KINDS.map((kind) => resourceLabel(RESOURCE_SPECS[kind])).sort());
    // Changes right after the restart, while the informers are still backing off or relisting.
    await k(['delete', 'pvc', 'r-gone', '-n', NS]);
    await apply(pvc('r-new'));
    const recoverMs = await expectConverges(model, 'model equals server after the API server restart', 90_000);
    log.warn({ recoverMs }, 'ms from API server ready to a model equal to the server');
    expect(model.persistentVolumeClaim(NS, 'r-gone')).toBeUndefined();
    expect(model.persistentVolumeClaim(NS, 'r-new')).toBeDefined();
    await eventually(() => running!.health.staleResources(5_000).length === 0, 'fresh again', 30_000);
    const relistsAfter = await Promise.all(RESOURCE_KINDS.map((kind) => restartsOf(registry, resourceLabel(RESOURCE_SPECS[kind]), 'expired')));
    log.warn({ relistsBefore, relistsAfter }, 'expired (410) restarts around the API server restart');
    // The restarted server's watch cache begins after every resourceVersion the informers held (the API
    // server itself writes to etcd as it starts): each resumed watch got a real 410 Gone and relisted.
    expect(relistsAfter.every((count, i) => count > relistsBefore[i]!)).toBe(true);
    const error = await direct
      .watch(`/api/v1/namespaces/${NS}/persistentvolumeclaims`, { resourceVersion: versionBeforeRestart, timeoutSeconds: 10, signal: AbortSignal.timeout(15_000) }, { onConnected() {}, onEvent() {} })
      .catch((e: unknown) => e);
    expect(isExpired(error)).toBe(true);
  });

  it('relists on a real 410 from the API server and reconciles what it missed', async () => {
    // The informer that gets a 410 lists again. Make it miss changes first: cut its connection, change
    // things, then have its resumed watch start from a resourceVersion of before the API server restart,
    // which the restarted server no longer serves (the previous test checks that).
    expect(versionBeforeRestart).not.toBe('');
    const claimsOfThisTest = () =>
      model
        .persistentVolumeClaimsIn(NS)
        .map((claim) => claim.name)
        .filter((name) => name.startsWith('e-'))
        .sort()
        .join();
    for (const name of ['e-keep', 'e-gone-1', 'e-gone-2']) await apply(pvc(name));
    await eventually(() => claimsOfThisTest() === 'e-gone-1,e-gone-2,e-keep', 'claims visible');
    const expiredBefore = await restartsOf(registry, 'persistentvolumeclaims', 'expired');
    expiring.expiredVersion = versionBeforeRestart;
    expiring.armedFor = collectionPath(RESOURCE_SPECS.persistentVolumeClaim, LONGHORN_NS);
    proxy.cut();
    await k(['delete', 'pvc', 'e-gone-1', 'e-gone-2', '-n', NS]);
    await apply(pvc('e-new-1'));
    proxy.restore();

    await eventually(
      () => claimsOfThisTest() === 'e-keep,e-new-1',
      'claims reconciled after 410',
      30_000,
    );
    expect(expiring.armedFor).toBeUndefined();
    expect(await restartsOf(registry, 'persistentvolumeclaims', 'expired')).toBe(expiredBefore + 1);
    await expectConverges(model, 'model equals server after the 410 relist', 30_000);
  });

  it('relists when the API server has not reached its resourceVersion (etcd restored from an older backup)', { timeout: 200_000 }, async () => {
    // This API server accepts a watch from such a resourceVersion and keeps it silent (it delivers only events past
    // it): resuming there, and probing there, sees nothing of what the restored cluster does. A list asked for no older
    // than it is answered 504 "Too large resource version" (cause ResourceVersionTooLarge) after 3 s: the informer
    // must ask, and list again, as on a 410.
    const claimsOfThisTest = () =>
      model
        .persistentVolumeClaimsIn(NS)
        .map((claim) => claim.name)
        .filter((name) => name.startsWith('t-'))
        .sort()
        .join();
    for (const name of ['t-keep', 't-gone']) await apply(pvc(name));
    await eventually(() => claimsOfThisTest() === 't-gone,t-keep', 'claims visible');
    const relistsBefore = await restartsOf(registry, 'persistentvolumeclaims', 'expired');
    const beyond = String(Number((await direct.list(`/api/v1/namespaces/${NS}/persistentvolumeclaims`, { limit: 1, signal: AbortSignal.timeout(10_000) })).resourceVersion) + 1_000_000_000);
    let delivered = 0;
    const watchingBeyond = direct.watch(
      `/api/v1/namespaces/${NS}/persistentvolumeclaims`,
      { resourceVersion: beyond, timeoutSeconds: 4, signal: AbortSignal.timeout(15_000) },
      { onConnected() {}, onEvent: () => (delivered += 1) },
    );
    await apply(pvc('t-unseen'));
    await watchingBeyond; // ended by its timeout, no error
    expect(delivered, 'events a watch from beyond the revision delivers').toBe(0);
    await k(['delete', 'pvc', 't-unseen', '-n', NS]);
    const error = await direct
      .list(`/api/v1/namespaces/${NS}/persistentvolumeclaims`, { limit: 1, resourceVersion: beyond, resourceVersionMatch: 'NotOlderThan', signal: AbortSignal.timeout(15_000) })
      .catch((e: unknown) => e);
    expect(isResourceVersionTooLarge(error), String(error)).toBe(true);
    expect(isExpired(error)).toBe(false);

    expiring.expiredVersion = beyond;
    expiring.untilListed = true;
    expiring.armedFor = collectionPath(RESOURCE_SPECS.persistentVolumeClaim, LONGHORN_NS);
    try {
      proxy.cut();
      await k(['delete', 'pvc', 't-gone', '-n', NS]);
      await apply(pvc('t-new'));
      proxy.restore();
      await eventually(() => claimsOfThisTest() === 't-keep,t-new', 'claims reconciled by a relist', 90_000);
    } finally {
      expiring.untilListed = false;
      expiring.armedFor = undefined;
    }
    expect(await restartsOf(registry, 'persistentvolumeclaims', 'expired')).toBeGreaterThan(relistsBefore);
    await eventually(() => running!.health.staleResources(5_000).length === 0, 'fresh again', 30_000);
    await expectConverges(model, 'model equals server after the relist', 30_000);
  });

  it('keeps a quiet watch alive on the server\'s bookmarks: no stall restart, resourceVersion moving on', { timeout: 180_000 }, async () => {
    // Nothing changes in the test's Longhorn namespace; the API server still sends a bookmark about every
    // minute (and 2 s before the watch's deadline), which is what the 90 s stall limit is sized for.
    const resource = 'nodes.longhorn.io';
    const statusOf = () => running!.statuses().find((status) => status.resource === resource)!;
    await eventually(() => statusOf().connected, 'watch connected');
    const versionBefore = statusOf().resourceVersion;
    const stalledBefore = await restartsOf(registry, resource, 'stalled');
    await eventually(() => statusOf().resourceVersion !== versionBefore, 'a bookmark', 75_000);
    expect(await restartsOf(registry, resource, 'stalled')).toBe(stalledBefore);
    expect(statusOf().connected).toBe(true);
    expect(running!.health.staleResources(1_000)).not.toContain(resource);
  });

  it('syncs with exactly the RBAC rules of permissions.ts, as a service account', async () => {
    await k(['create', 'serviceaccount', 'volume-guard', '-n', NS]);
    await apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: `cm-e2e-${ID}` }, rules: clusterRoleRules() });
    await k(['create', 'clusterrolebinding', `cm-e2e-${ID}`, `--clusterrole=cm-e2e-${ID}`, `--serviceaccount=${NS}:volume-guard`]);
    const token = (await k(['create', 'token', 'volume-guard', '-n', NS, '--duration=1h'])).trim();
    const admin = createKubeConfig({ kubeconfigPath: cluster.kubeconfig });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: admin.clusters,
      users: [{ name: 'volume-guard', token }],
      contexts: [{ name: 'sa', cluster: admin.getCurrentCluster()!.name, user: 'volume-guard' }],
      currentContext: 'sa',
    });
    const saModel = new ClusterModel();
    const saRunning = startClusterModel({ kubeConfig, sink: saModel, registry: new Registry(), log, config: { longhornNamespace: LONGHORN_NS } });
    try {
      await eventually(() => saRunning.health.synced(), 'service account model synced', 30_000);
      expect(saModel.longhornInstalled).toBe(true);
      await expectConverges(saModel, 'service account model equals server', 15_000);
      // And that identity cannot read Secrets.
      const secrets = await new HttpKubeClient(kubeConfig).list('/api/v1/secrets', { limit: 1, signal: AbortSignal.timeout(10_000) }).catch((e: unknown) => e);
      expect((secrets as { statusCode?: number }).statusCode).toBe(403);
    } finally {
      await saRunning.stop();
    }
  });
});

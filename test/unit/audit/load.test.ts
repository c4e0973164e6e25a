// Loading the audit's inputs: the model through the informers (synced once, then stopped), failures that must not
// wait for the timeout, the upgrade objects' overrides, and the progress line shown on a terminal.
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressLine, runAudit } from '../../../src/audit/run.ts';
import { fatalApiFailure, listUpgradeObjects, loadClusterModel, progressOf, type LoadProgress } from '../../../src/audit/load.ts';
import { AuditError } from '../../../src/audit/errors.ts';
import { KubeApiError, type KubeClient, type ListOptions, type ListPage, type WatchHandlers, type WatchOptions } from '../../../src/cluster/kube-client.ts';
import { DEFAULT_UPGRADE_KINDS } from '../../../src/config.ts';
import { FakeApi } from '../cluster/fake-api.ts';
import { rawLocalPV, rawNode, rawPod, rawPVC, startFakeHttpApi, type FakeHttpApi } from './fake-http-api.ts';

const LONGHORN = '/apis/longhorn.io/v1beta2/namespaces/longhorn-system';

function kubeConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: false }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return config;
}

function fakeCluster(): FakeApi {
  const api = new FakeApi();
  for (const resource of ['volumes', 'replicas', 'nodes']) api.notServed.add(`${LONGHORN}/${resource}`);
  api.put('/api/v1/nodes', rawNode('n1') as never);
  api.put('/api/v1/persistentvolumes', rawLocalPV('pv-1', 'n1', 'app', 'data') as never);
  api.put('/api/v1/persistentvolumeclaims', rawPVC('app', 'data', 'pv-1') as never);
  api.put('/api/v1/pods', rawPod('app', 'db-0', 'n1', ['data']) as never);
  return api;
}

/** Fails every list of one path with the given error. */
class FailingPath implements KubeClient {
  readonly #inner: KubeClient;
  readonly #path: string;
  readonly #error: unknown;
  constructor(inner: KubeClient, path: string, error: unknown) {
    this.#inner = inner;
    this.#path = path;
    this.#error = error;
  }
  list(path: string, options: ListOptions): Promise<ListPage> {
    return path === this.#path ? Promise.reject(this.#error) : this.#inner.list(path, options);
  }
  watch(path: string, options: WatchOptions, handlers: WatchHandlers): Promise<void> {
    return this.#inner.watch(path, options, handlers);
  }
}

describe('loadClusterModel', () => {
  it('fills the model from one list of every resource, reports progress, and stops the informers', async () => {
    const api = fakeCluster();
    const progress: LoadProgress[] = [];
    const model = await loadClusterModel({ kubeConfig: kubeConfig(), longhornNamespace: 'longhorn-system', timeoutMs: 30_000, client: api, onProgress: (p) => progress.push(p) });
    expect(model.count('node')).toBe(1);
    expect(model.persistentVolumesPinnedTo('n1').map((pv) => pv.name)).toEqual(['pv-1']);
    expect(model.podsUsingClaim('app', 'data').map((pod) => pod.name)).toEqual(['db-0']);
    expect(model.longhornInstalled).toBe(false);
    expect(progress.at(-1)).toEqual({ synced: 9, total: 9, pending: [] });
    expect(api.openWatches).toBe(0);
  });

  it('fails at once, naming resource and permission, on a 403', async () => {
    const forbidden = new KubeApiError(403, 'Forbidden', 'pods is forbidden: User "alice" cannot list resource "pods" in API group "" at the cluster scope');
    const client = new FailingPath(fakeCluster(), '/api/v1/pods', forbidden);
    // A timeout far beyond the test's own: only the immediate failure can settle it in time.
    const loading = loadClusterModel({ kubeConfig: kubeConfig(), longhornNamespace: 'longhorn-system', timeoutMs: 600_000, client });
    await expect(loading).rejects.toThrow(AuditError);
    await expect(loading).rejects.toThrow(
      'missing permission: pods is forbidden: User "alice" cannot list resource "pods" in API group "" at the cluster scope (the audit needs list and watch on pods)',
    );
  });

  it('gives up after the timeout when the API server cannot be reached, with the last error', async () => {
    const api = fakeCluster();
    api.unreachable = true;
    await expect(loadClusterModel({ kubeConfig: kubeConfig(), longhornNamespace: 'longhorn-system', timeoutMs: 300, client: api })).rejects.toThrow(
      /^cluster unreachable: https:\/\/127\.0\.0\.1:6443: no complete view within 0\.3 s \(list [a-z.]+: connect ECONNREFUSED 127\.0\.0\.1:6443\)$/,
    );
    expect(api.openWatches).toBe(0);
  });
});

describe('fatalApiFailure', () => {
  it('fails fast on what no retry fixes, and only on that', () => {
    expect(fatalApiFailure(new KubeApiError(403, 'Forbidden', 'nope'), 'list and watch', 'pods')).toBe(
      'missing permission: nope (the audit needs list and watch on pods)',
    );
    expect(fatalApiFailure(new KubeApiError(401, 'Unauthorized', 'Unauthorized'), 'list', 'pods')).toBe(
      'unauthorized: the API server rejected the credentials (Unauthorized)',
    );
    expect(fatalApiFailure(Object.assign(new Error('getaddrinfo ENOTFOUND api.example'), { code: 'ENOTFOUND' }), 'list', 'pods')).toBe(
      'cluster unreachable: getaddrinfo ENOTFOUND api.example',
    );
    expect(fatalApiFailure(Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), 'list', 'pods')).toBe(
      'cluster unreachable: self-signed certificate',
    );
    expect(fatalApiFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'list', 'pods')).toBeUndefined();
    expect(fatalApiFailure(new KubeApiError(500, 'InternalError', 'etcd is down'), 'list', 'pods')).toBeUndefined();
    expect(fatalApiFailure(new KubeApiError(429, 'TooManyRequests', 'slow down'), 'list', 'pods')).toBeUndefined();
  });
});

describe('listUpgradeObjects', () => {
  it('keeps only objects carrying overrides, skips absent kinds, and notes unreadable ones', async () => {
    const api = new FakeApi();
    api.put('/apis/harvesterhci.io/v1beta1/upgrades', {
      metadata: {
        namespace: 'harvester-system',
        name: 'hvst-1',
        annotations: { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true', 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
      },
    });
    api.put('/apis/harvesterhci.io/v1beta1/upgrades', { metadata: { namespace: 'harvester-system', name: 'hvst-0', annotations: { other: 'x' } } });
    api.put('/apis/upgrade.cattle.io/v1/plans', {
      metadata: { namespace: 'system-upgrade', name: 'k3s', labels: { 'volume-guard.io/skip': '*', app: 'k3s' } },
    });
    api.notServed.add('/apis/management.harvesterhci.io/v1beta1/upgradeplans');
    api.notServed.add('/apis/controlplane.cluster.x-k8s.io/v1beta1/kubeadmcontrolplanes');
    const client = new FailingPath(api, '/apis/cluster.x-k8s.io/v1beta1/machinedeployments', new KubeApiError(403, 'Forbidden', 'machinedeployments.cluster.x-k8s.io is forbidden'));
    const { carriers, notes } = await listUpgradeObjects(client, DEFAULT_UPGRADE_KINDS, 10_000);
    expect(carriers).toEqual([
      {
        kind: 'Upgrade',
        namespace: 'harvester-system',
        name: 'hvst-1',
        annotations: { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' },
        labels: {},
        appliesTo: 'the creation of this Upgrade only (already past)',
        harvesterUpgrade: true,
      },
      {
        kind: 'Plan',
        namespace: 'system-upgrade',
        name: 'k3s',
        annotations: {},
        labels: { 'volume-guard.io/skip': '*' },
        appliesTo: 'every change of this Plan that starts a rollout',
        harvesterUpgrade: false,
      },
    ]);
    expect(notes).toEqual(['machinedeployments.cluster.x-k8s.io not checked for lingering overrides: machinedeployments.cluster.x-k8s.io is forbidden']);
  });
});

describe('progress indicator', () => {
  it('words the line from the informers statuses', () => {
    expect(progressLine({ synced: 9, total: 9, pending: [] })).toBe('volume-guard: loading the cluster model: 9/9 resources synced');
    expect(progressLine({ synced: 5, total: 9, pending: ['pods', 'nodes', 'persistentvolumes', 'namespaces'] })).toBe(
      'volume-guard: loading the cluster model: 5/9 resources synced (waiting for pods, nodes, persistentvolumes, …)',
    );
    expect(progressOf([])).toEqual({ synced: 0, total: 0, pending: [] });
  });

  describe('during a run', () => {
    let api: FakeHttpApi;
    beforeAll(async () => {
      api = await startFakeHttpApi({ objects: { '/api/v1/nodes': [rawNode('n1')] } });
    });
    afterAll(async () => {
      await api.close();
    });

    function stream(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
      let text = '';
      const fake = { isTTY, columns: 100, write: (chunk: string) => ((text += chunk), true) };
      return { stream: fake as unknown as NodeJS.WriteStream, text: () => text };
    }

    it('rewrites one stderr line on a terminal and clears it before the report', async () => {
      const out = stream(false);
      const err = stream(true);
      const code = await runAudit({ kubeconfig: api.kubeconfig, output: 'table', timeout: 30 }, out.stream, err.stream);
      expect(code).toBe(0);
      expect(err.text()).toContain('\r\x1b[2Kvolume-guard: loading the cluster model: ');
      expect(err.text()).toContain('9/9 resources synced');
      expect(err.text().endsWith('\r\x1b[2K')).toBe(true);
      expect(out.text()).toContain('No data-loss risk found.');
    });

    it('stays silent when stderr is not a terminal', async () => {
      const out = stream(false);
      const err = stream(false);
      expect(await runAudit({ kubeconfig: api.kubeconfig, output: 'json', timeout: 30 }, out.stream, err.stream)).toBe(0);
      expect(err.text()).toBe('');
      expect(JSON.parse(out.text())).toMatchObject({ summary: { risks: 0 } });
    });
  });
});

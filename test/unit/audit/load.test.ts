// Loading the audit's inputs, the parts that need no API server: which failures end the wait at once, giving up
// after the timeout when nothing answers, the wording of the progress line, and which failures to list a release's
// records are notes (a plain HTTP server answering as the API server would). Loading from a cluster (the model,
// the upgrade objects, a 403, the progress line during a run) is tested against the real API server in
// test/e2e/audit.e2e.test.ts.
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { progressLine } from '../../../src/audit/run.ts';
import { LoadBudget } from '../../../src/audit/budget.ts';
import { fatalApiFailure, listReleaseLabelOverrides, listReleaseRevisions, loadClusterModel, progressOf } from '../../../src/audit/load.ts';
import { KubeApiError } from '../../../src/cluster/kube-client.ts';
import { createCertificateAuthority } from '../../../src/server/selfsigned.ts';
import type { InformerStatus } from '../../../src/cluster/informers.ts';
import type { ResourceKind } from '../../../src/cluster/records.ts';
import { FakeApiServer } from '../../support/fake-api-server.ts';

/** A loopback port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function kubeConfigFor(server: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return config;
}

/**
 * A server that accepts connections and never answers: over TLS (`handshake`), one that completes the handshake and
 * never answers the request, a cluster too slow to answer; without, a bare TCP listener, with which no TLS handshake
 * ever completes, as with a server whose packets are dropped.
 */
async function silentServer(handshake = true): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  const pair = handshake ? await (await createCertificateAuthority({ commonName: 'silent' })).issue() : undefined;
  const server = pair ? createTlsServer({ cert: pair.certPem, key: pair.keyPem }, track) : createServer(track);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('loadClusterModel', () => {
  it('fails at once on a refused connection, naming the server and what to check', async () => {
    const port = await closedPort();
    const started = Date.now();
    const loading = loadClusterModel({
      kubeConfig: kubeConfigFor(`https://127.0.0.1:${port}`),
      longhornNamespace: 'longhorn-system',
      timeoutMs: 30_000,
    });
    await expect(loading).rejects.toThrow(
      new RegExp(`^connection refused: https://127\\.0\\.0\\.1:${port} \\(context x\\) \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\); is the API server running`),
    );
    // Far below the 30 s timeout: nothing was retried.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('fails once a connection is not made within its bound (half the timeout, at most 10 s), saying what to check', async () => {
    // A listener that never completes the TLS handshake: what a server whose packets are dropped looks like.
    const silent = await silentServer(false);
    try {
      const started = Date.now();
      const loading = loadClusterModel({ kubeConfig: kubeConfigFor(`https://127.0.0.1:${silent.port}`), longhornNamespace: 'longhorn-system', timeoutMs: 1_000 });
      await expect(loading).rejects.toThrow(
        new RegExp(
          `^no connection: https://127\\.0\\.0\\.1:${silent.port} \\(context x\\) \\(TLS handshake not done within 0\\.5 s\\); ` +
            `is the API server up, and reachable from here \\(VPN, firewall, proxy\\)\\? check the kubeconfig's host and port$`,
        ),
      );
      // Before the timeout, not at it.
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      await silent.close();
    }
    expect(new LoadBudget(60_000, 's').connectTimeoutMs).toBe(10_000);
    expect(new LoadBudget(4_000, 's').connectTimeoutMs).toBe(2_000);
  });

  it('waits for a server that accepts but does not answer until the timeout, then names the server', async () => {
    const silent = await silentServer();
    try {
      const progress: number[] = [];
      const loading = loadClusterModel({
        kubeConfig: kubeConfigFor(`https://127.0.0.1:${silent.port}`),
        longhornNamespace: 'longhorn-system',
        timeoutMs: 400,
        onProgress: (p) => progress.push(p.synced),
      });
      await expect(loading).rejects.toThrow(
        new RegExp(`^cluster unreachable: https://127\\.0\\.0\\.1:${silent.port}: no complete view within 0\\.4 s \\(ran out loading the cluster model: still waiting for `),
      );
      // Progress was reported while waiting, and nothing ever synced.
      expect(progress.length).toBeGreaterThan(1);
      expect(progress.every((synced) => synced === 0)).toBe(true);
    } finally {
      await silent.close();
    }
  });
});

describe('loadClusterModel and the Cluster API version', () => {
  /** Only the core collections, and Cluster API at v1beta1 (before v1.11): every other optional one answers 404. */
  function capiV1beta1(): FakeApiServer {
    const server = new FakeApiServer();
    for (const path of [
      '/apis/cluster.x-k8s.io/v1beta2/machines',
      '/apis/cluster.x-k8s.io/v1beta2/machinedrainrules',
      '/apis/cluster.x-k8s.io/v1beta2/clusters',
      '/apis/cluster.x-k8s.io/v1beta2/machinedeployments',
      '/apis/controlplane.cluster.x-k8s.io/v1beta2/kubeadmcontrolplanes',
      '/apis/controlplane.cluster.x-k8s.io/v1beta1/kubeadmcontrolplanes',
      '/apis/harvesterhci.io/v1beta1/upgrades',
      '/apis/management.harvesterhci.io/v1beta1/upgradeplans',
      ...['volumes', 'replicas', 'nodes', 'settings'].map((resource) => `/apis/longhorn.io/v1beta2/namespaces/longhorn-system/${resource}`),
    ]) {
      server.collection(path).served = false;
    }
    server.put('/apis/cluster.x-k8s.io/v1beta1/machines', {
      metadata: { name: 'm1', namespace: 'capi', labels: { 'cluster.x-k8s.io/deployment-name': 'md-0' } },
      spec: { clusterName: 'c' },
      status: { nodeRef: { name: 'w1' } },
    });
    return server;
  }

  it('reads the Machines at v1beta1 where v1beta2 is not served', async () => {
    const model = await loadClusterModel({
      kubeConfig: kubeConfigFor('https://127.0.0.1:1'),
      longhornNamespace: 'longhorn-system',
      timeoutMs: 30_000,
      client: capiV1beta1(),
    });
    expect(model.machinesOf('capi', 'MachineDeployment', 'md-0').map((machine) => machine.name)).toEqual(['m1']);
  });

  it('names the resource, not the v1beta1 path, when that list is forbidden', async () => {
    const server = capiV1beta1();
    const list = server.list.bind(server);
    server.list = async (path, options) => {
      if (path === '/apis/cluster.x-k8s.io/v1beta1/machines') throw new KubeApiError(403, 'Forbidden', 'machines.cluster.x-k8s.io is forbidden');
      return list(path, options);
    };
    const loading = loadClusterModel({ kubeConfig: kubeConfigFor('https://127.0.0.1:1'), longhornNamespace: 'longhorn-system', timeoutMs: 30_000, client: server });
    await expect(loading).rejects.toThrow(/the audit needs list and watch on machines\.cluster\.x-k8s\.io\)/);
  });
});

describe('the audit budget (--timeout)', () => {
  it('gives a phase what the ones before left, and names it when that runs out', async () => {
    const silent = await silentServer();
    try {
      const server = `https://127.0.0.1:${silent.port}`;
      // 1 s in all, 0.7 s of it spent by the phases before: 0.3 s left.
      const budget = new LoadBudget(1_000, server, Date.now() - 700);
      const started = Date.now();
      await expect(listReleaseRevisions(kubeConfigFor(server), 'apps', 'db', budget)).rejects.toThrow(
        new RegExp(`^cluster unreachable: https://127\\.0\\.0\\.1:${silent.port}: no complete view within 1 s \\(ran out listing the records of Helm release apps/db: list secrets: `),
      );
      expect(Date.now() - started).toBeLessThan(900);
      // Nothing left: the next phase does not start.
      await expect(listReleaseLabelOverrides(kubeConfigFor(server), budget)).rejects.toThrow('(ran out listing the Helm release labels: not started)');
    } finally {
      await silent.close();
    }
  });
});

describe('fatalApiFailure', () => {
  const target = { server: 'https://api.example:6443', context: 'prod' };
  const coded = (message: string, code: string): Error => Object.assign(new Error(message), { code });

  it('fails fast on what no retry fixes, naming the server and what to check', () => {
    expect(fatalApiFailure(new KubeApiError(403, 'Forbidden', 'nope'), 'list and watch', 'pods', target)).toBe(
      'missing permission: nope (the audit needs list and watch on pods)',
    );
    expect(fatalApiFailure(new KubeApiError(401, 'Unauthorized', 'Unauthorized'), 'list', 'pods', target)).toBe(
      "unauthorized: https://api.example:6443 (context prod) rejected the credentials (Unauthorized); check the kubeconfig user's token or client certificate (expired? another cluster's?)",
    );
    expect(fatalApiFailure(coded('getaddrinfo ENOTFOUND api.example', 'ENOTFOUND'), 'list', 'pods', target)).toBe(
      'unknown host: https://api.example:6443 (context prod) (getaddrinfo ENOTFOUND api.example); check the server address in the kubeconfig and the DNS',
    );
    expect(fatalApiFailure(coded('connect ECONNREFUSED 10.0.0.1:6443', 'ECONNREFUSED'), 'list', 'pods', target)).toBe(
      "connection refused: https://api.example:6443 (context prod) (connect ECONNREFUSED 10.0.0.1:6443); is the API server running, and are the kubeconfig's host and port right?",
    );
    expect(fatalApiFailure(coded('connect EHOSTUNREACH', 'EHOSTUNREACH'), 'list', 'pods', target)).toMatch(/^no route to https:\/\/api\.example:6443 /);
    expect(fatalApiFailure(coded('no TCP connection within 10 s', 'ETIMEDOUT'), 'list', 'pods', target)).toBe(
      "no connection: https://api.example:6443 (context prod) (no TCP connection within 10 s); is the API server up, and reachable from here (VPN, firewall, proxy)? check the kubeconfig's host and port",
    );
    for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA']) {
      expect(fatalApiFailure(coded('tls says no', code), 'list', 'pods', target)).toBe(
        "TLS error: https://api.example:6443 (context prod) (tls says no); check the kubeconfig's certificate-authority-data and that the server address is the API server's",
      );
    }
    // The client's errors already name the server: named once.
    expect(fatalApiFailure(coded('https://api.example:6443: connect ECONNREFUSED 10.0.0.1:6443', 'ECONNREFUSED'), 'list', 'pods', target)).toBe(
      "connection refused: https://api.example:6443 (context prod) (connect ECONNREFUSED 10.0.0.1:6443); is the API server running, and are the kubeconfig's host and port right?",
    );
    // A code on the cause (fetch-style errors) counts too.
    expect(fatalApiFailure(new Error('fetch failed', { cause: coded('connect ECONNREFUSED', 'ECONNREFUSED') }), 'list', 'pods', target)).toMatch(/^connection refused:/);
  });

  it('leaves to the timeout what waiting may fix', () => {
    expect(fatalApiFailure(new KubeApiError(500, 'InternalError', 'etcd is down'), 'list', 'pods', target)).toBeUndefined();
    expect(fatalApiFailure(new KubeApiError(429, 'TooManyRequests', 'slow down'), 'list', 'pods', target)).toBeUndefined();
    expect(fatalApiFailure(new KubeApiError(503, 'ServiceUnavailable', 'starting'), 'list', 'pods', target)).toBeUndefined();
    expect(fatalApiFailure(coded('socket hang up', 'ECONNRESET'), 'list', 'pods', target)).toBeUndefined();
    expect(fatalApiFailure(new Error('The operation was aborted due to timeout'), 'list', 'pods', target)).toBeUndefined();
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

  it('counts synced informers and lists the pending ones in order', () => {
    const status = (kind: ResourceKind, resource: string, synced: boolean): InformerStatus => ({
      kind,
      resource,
      phase: synced ? 'watching' : 'listing',
      synced,
      present: true,
      connected: synced,
      ageMs: synced ? 0 : Number.POSITIVE_INFINITY,
      consecutiveFailures: 0,
      resourceVersion: '',
    });
    const statuses = [
      status('node', 'nodes', true),
      status('pod', 'pods', false),
      status('namespace', 'namespaces', true),
      status('longhornVolume', 'volumes.longhorn.io', false),
    ];
    expect(progressOf(statuses)).toEqual({
      synced: 2,
      total: 4,
      pending: ['pods', 'volumes.longhorn.io'],
    });
  });
});

describe('listReleaseRevisions', () => {
  /** An API server answering the metadata lists of release records: Secrets with one record, ConfigMaps with `configMaps`. */
  async function releaseServer(configMaps: { status: number; body: object }, secrets: { status: number; body: object } = { status: 200, body: recordList('Secret', 'db.v3') }) {
    const server = createHttpServer((request, response) => {
      const path = new URL(request.url ?? '/', 'http://x').pathname;
      const answer = path === '/api/v1/namespaces/apps/secrets' ? secrets : path === '/api/v1/namespaces/apps/configmaps' ? configMaps : { status: 404, body: status(404, 'NotFound', 'no') };
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return { url: `http://127.0.0.1:${address.port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }
  function recordList(kind: string, name: string): object {
    return {
      kind: 'PartialObjectMetadataList',
      apiVersion: 'meta.k8s.io/v1',
      items: [{ kind, metadata: { name: `sh.helm.release.v1.${name}`, namespace: 'apps', labels: { owner: 'helm', name: 'db', version: '3', status: 'deployed' } } }],
    };
  }
  function status(code: number, reason: string, message: string): object {
    return { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message };
  }
  const forbidden = (resource: string) => ({
    status: 403,
    body: status(403, 'Forbidden', `${resource} is forbidden: User "alice" cannot list resource "${resource}" in API group "" in the namespace "apps"`),
  });

  it('takes a 403 on the ConfigMaps (HELM_DRIVER=configmap) as a note, and reads the Secrets', async () => {
    const server = await releaseServer(forbidden('configmaps'));
    try {
      const read = await listReleaseRevisions(kubeConfigFor(server.url), 'apps', 'db', 5_000);
      expect(read.revisions).toEqual([{ version: 3, status: 'deployed', labels: {}, store: 'Secret' }]);
      expect(read.notes).toEqual([
        'Helm release records in ConfigMaps (HELM_DRIVER=configmap) not read: configmaps is forbidden: User "alice" cannot list resource "configmaps" in API group "" in the namespace "apps"; ' +
          'a release stored there counts as not installed (grant list on configmaps in namespace apps)',
      ]);
    } finally {
      await server.close();
    }
  });

  it('reads both stores when it may, with no note', async () => {
    const server = await releaseServer({ status: 200, body: recordList('ConfigMap', 'db.v4') });
    try {
      const read = await listReleaseRevisions(kubeConfigFor(server.url), 'apps', 'db', 5_000);
      expect(read.revisions.map((revision) => revision.store)).toEqual(['Secret', 'ConfigMap']);
      expect(read.notes).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('still fails on a 403 on the Secrets, and on any other ConfigMap failure', async () => {
    const noSecrets = await releaseServer({ status: 200, body: recordList('ConfigMap', 'db.v4') }, forbidden('secrets'));
    try {
      await expect(listReleaseRevisions(kubeConfigFor(noSecrets.url), 'apps', 'db', 5_000)).rejects.toThrow(/^missing permission: secrets is forbidden: .*\(the audit needs list on secrets in namespace apps/);
    } finally {
      await noSecrets.close();
    }
    const broken = await releaseServer({ status: 500, body: status(500, 'InternalError', 'etcd is down') });
    try {
      await expect(listReleaseRevisions(kubeConfigFor(broken.url), 'apps', 'db', 5_000)).rejects.toThrow('cannot list the revisions of Helm release apps/db: etcd is down');
    } finally {
      await broken.close();
    }
  });
});

describe('listReleaseLabelOverrides', () => {
  /** Release records of `count` releases in `apps`, served metadata-only in pages of the `limit` asked for. */
  async function pagedServer(count: number, secrets: 'ok' | 'forbidden' = 'ok') {
    const asked: string[] = [];
    const server = createHttpServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://x');
      asked.push(`${url.pathname}?${url.searchParams.toString()}`);
      if (url.pathname === '/api/v1/configmaps' || secrets === 'forbidden') {
        response.writeHead(403, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 403, reason: 'Forbidden', message: 'forbidden' }));
        return;
      }
      const limit = Number(url.searchParams.get('limit') ?? count);
      const start = Number(url.searchParams.get('continue') || 0);
      const end = Math.min(count, start + limit);
      const items = [];
      for (let index = start; index < end; index++) {
        const labels: Record<string, string> = { owner: 'helm', name: `r${index}`, version: '1', status: index === 0 ? 'uninstalled' : 'deployed' };
        if (index === count - 1) labels['volume-guard.io/skip'] = 'orphan-pvc';
        items.push({ kind: 'Secret', metadata: { name: `sh.helm.release.v1.r${index}.v1`, namespace: 'apps', labels } });
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: end < count ? { continue: String(end) } : {}, items }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return { url: `http://127.0.0.1:${address.port}`, asked, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  it('pages the metadata list (limit, then continue) and knows every release, installed or not', async () => {
    const server = await pagedServer(1_201);
    try {
      const read = await listReleaseLabelOverrides(kubeConfigFor(server.url), 5_000);
      const secretCalls = server.asked.filter((call) => call.startsWith('/api/v1/secrets?'));
      expect(secretCalls).toEqual([
        '/api/v1/secrets?labelSelector=owner%3Dhelm&limit=500',
        '/api/v1/secrets?labelSelector=owner%3Dhelm&limit=500&continue=500',
        '/api/v1/secrets?labelSelector=owner%3Dhelm&limit=500&continue=1000',
      ]);
      expect(read.records).toHaveLength(1_201);
      expect(read.records?.find((record) => record.name === 'r0')?.revisions).toEqual([{ version: 1, status: 'uninstalled', labels: {}, store: 'Secret' }]);
      // The one carrying a skip label, on the last page.
      expect(read.releases.map((release) => release.name)).toEqual(['r1200']);
      expect(read.notes).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('without the Secrets, does not claim to know which releases are installed', async () => {
    const server = await pagedServer(3, 'forbidden');
    try {
      const read = await listReleaseLabelOverrides(kubeConfigFor(server.url), 5_000);
      expect(read.records).toBeUndefined();
      expect(read.notes).toHaveLength(2);
    } finally {
      await server.close();
    }
  });
});

// Loading the audit's inputs, the parts that need no API server: which failures end the wait at once, giving up
// after the timeout when nothing answers, and the wording of the progress line. Loading from a cluster (the model,
// the upgrade objects, a 403, the progress line during a run) is tested against the real API server in
// test/e2e/audit.e2e.test.ts.
import { createServer, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { progressLine } from '../../../src/audit/run.ts';
import { fatalApiFailure, loadClusterModel, progressOf } from '../../../src/audit/load.ts';
import { KubeApiError } from '../../../src/cluster/kube-client.ts';
import type { InformerStatus } from '../../../src/cluster/informers.ts';
import type { ResourceKind } from '../../../src/cluster/records.ts';

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

/** A TCP server that accepts connections and never answers: a cluster too slow to answer. */
async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
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
        new RegExp(`^cluster unreachable: https://127\\.0\\.0\\.1:${silent.port}: no complete view within 0\\.4 s \\(still waiting for `),
      );
      // Progress was reported while waiting, and nothing ever synced.
      expect(progress.length).toBeGreaterThan(1);
      expect(progress.every((synced) => synced === 0)).toBe(true);
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

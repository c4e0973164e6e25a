// Loading the audit's inputs, the parts that need no API server: which failures end the wait at once, giving up
// after the timeout when nothing answers, and the wording of the progress line. Loading from a cluster (the model,
// the upgrade objects, a 403, the progress line during a run) is tested against the real API server in
// test/e2e/audit.e2e.test.ts.
import { createServer } from 'node:net';
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

describe('loadClusterModel', () => {
  it('keeps retrying a refused connection until the timeout, then names the server and the last error', async () => {
    const port = await closedPort();
    const progress: number[] = [];
    const loading = loadClusterModel({
      kubeConfig: kubeConfigFor(`https://127.0.0.1:${port}`),
      longhornNamespace: 'longhorn-system',
      timeoutMs: 300,
      onProgress: (p) => progress.push(p.synced),
    });
    await expect(loading).rejects.toThrow(
      new RegExp(`^cluster unreachable: https://127\\.0\\.0\\.1:${port}: no complete view within 0\\.3 s \\(list [a-z.]+: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)$`),
    );
    // Progress was reported while waiting, and nothing ever synced.
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((synced) => synced === 0)).toBe(true);
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
    // With the server known, every connection failure names it (issue 19.5).
    expect(
      fatalApiFailure(Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), 'list', 'pods', 'https://api.example:6443'),
    ).toBe('cluster unreachable: https://api.example:6443: self-signed certificate');
    expect(fatalApiFailure(new KubeApiError(401, 'Unauthorized', 'Unauthorized'), 'list', 'pods', 'https://api.example:6443')).toBe(
      'unauthorized: the API server https://api.example:6443 rejected the credentials (Unauthorized)',
    );
    expect(fatalApiFailure(new KubeApiError(500, 'InternalError', 'etcd is down'), 'list', 'pods')).toBeUndefined();
    expect(fatalApiFailure(new KubeApiError(429, 'TooManyRequests', 'slow down'), 'list', 'pods')).toBeUndefined();
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

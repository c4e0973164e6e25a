// A plain-HTTP stand-in for the API server, enough for `volume-guard audit` run as a child process: lists of the
// given objects, watches that stay open and silent, 404 for API groups it does not serve, 403 where told.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeHttpApiOptions {
  /** Objects by collection path, e.g. `/api/v1/nodes`. Core and apps collections not given answer an empty list. */
  readonly objects?: Readonly<Record<string, readonly unknown[]>>;
  /** Collection paths answering 403 Forbidden, as RBAC would. */
  readonly forbidden?: readonly string[];
}

export interface FakeHttpApi {
  readonly url: string;
  /** A kubeconfig file pointing at it (context `fake`). */
  readonly kubeconfig: string;
  /** Every request: method, path with query, Accept header. */
  readonly requests: { path: string; accept: string }[];
  close(): Promise<void>;
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code }));
}

export async function startFakeHttpApi(options: FakeHttpApiOptions = {}): Promise<FakeHttpApi> {
  const requests: { path: string; accept: string }[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push({ path: `${url.pathname}${url.search}`, accept: req.headers.accept ?? '' });
    const path = url.pathname;
    if (options.forbidden?.includes(path)) {
      const resource = path.split('/').at(-1) ?? '';
      const verb = url.searchParams.get('watch') === 'true' ? 'watch' : 'list';
      status(res, 403, 'Forbidden', `${resource} is forbidden: User "alice" cannot ${verb} resource "${resource}" in API group "" at the cluster scope`);
      return;
    }
    const objects = options.objects?.[path];
    // Built-in groups are always served; CRD groups (Longhorn, upgrade kinds) only when given objects.
    if (objects === undefined && path.startsWith('/apis/') && !path.startsWith('/apis/apps/')) {
      status(res, 404, 'NotFound', 'the server could not find the requested resource');
      return;
    }
    if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      req.on('close', () => res.end());
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: '100' }, items: objects ?? [] }));
  };
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const url = `http://127.0.0.1:${address.port}`;
  const dir = mkdtempSync(join(tmpdir(), 'vg-audit-api-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      // client-node refuses plain HTTP unless TLS verification is waived.
      'clusters: [{name: fake, cluster: {server: "' + url + '", insecure-skip-tls-verify: true}}]',
      'users: [{name: admin, user: {token: fake-token}}]',
      'contexts: [{name: fake, context: {cluster: fake, user: admin}}]',
      'current-context: fake',
      '',
    ].join('\n'),
  );
  return {
    url,
    kubeconfig,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------------------------------------ raw objects

export function rawNode(name: string, annotations: Record<string, string> = {}): unknown {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, annotations, labels: { 'kubernetes.io/hostname': name } }, spec: {} };
}

export function rawNamespace(name: string): unknown {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

export function rawLocalPV(name: string, node: string, namespace: string, claim: string): unknown {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name },
    spec: {
      capacity: { storage: '1Gi' },
      local: { path: `/mnt/${name}` },
      storageClassName: 'local-storage',
      persistentVolumeReclaimPolicy: 'Retain',
      claimRef: { namespace, name: claim },
      nodeAffinity: {
        required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }] },
      },
    },
    status: { phase: 'Bound' },
  };
}

export function rawPVC(namespace: string, name: string, volumeName: string, labels: Record<string, string> = {}): unknown {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { namespace, name, labels, uid: `uid-${namespace}-${name}`, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { volumeName, storageClassName: 'local-storage' },
    status: { phase: 'Bound' },
  };
}

export function rawPod(namespace: string, name: string, node: string, claims: readonly string[]): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace, name },
    spec: { nodeName: node, volumes: claims.map((claim, i) => ({ name: `v${i}`, persistentVolumeClaim: { claimName: claim } })) },
    status: { phase: 'Running' },
  };
}

/** A Helm release Secret as a metadata-only list returns it: labels, no data. */
export function rawReleaseSecretMetadata(namespace: string, release: string, version: number, status: string): unknown {
  return {
    apiVersion: 'meta.k8s.io/v1',
    kind: 'PartialObjectMetadata',
    metadata: { namespace, name: `sh.helm.release.v1.${release}.v${version}`, labels: { owner: 'helm', name: release, status, version: String(version) } },
  };
}

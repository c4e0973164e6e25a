import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type https from 'node:https';
import type { AddressInfo } from 'node:net';
import { CoreV1Api } from '@kubernetes/client-node';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createApiCredentials, createKubeConfig, InClusterCredentials } from '../../../src/cluster/kubeconfig.ts';

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {server: 'https://prod.example:6443', certificate-authority-data: ''}
- name: lab
  cluster: {server: 'https://lab.example:6443'}
users:
- name: admin
  user: {token: abc}
contexts:
- name: prod
  context: {cluster: prod, user: admin}
- name: lab
  context: {cluster: lab, user: admin}
current-context: prod
`;

let dir: string;
const saved = { KUBECONFIG: process.env['KUBECONFIG'], HOME: process.env['HOME'] };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vg-kubeconfig-'));
  writeFileSync(join(dir, 'config'), KUBECONFIG);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe('createKubeConfig', () => {
  it('loads a kubeconfig file with its current context', () => {
    const kubeConfig = createKubeConfig({ kubeconfigPath: join(dir, 'config') });
    expect(kubeConfig.getCurrentCluster()?.server).toBe('https://prod.example:6443');
    expect(kubeConfig.getCurrentUser()?.token).toBe('abc');
  });

  it('switches to another context, and refuses one that does not exist', () => {
    expect(createKubeConfig({ kubeconfigPath: join(dir, 'config'), context: 'lab' }).getCurrentCluster()?.server).toBe('https://lab.example:6443');
    expect(() => createKubeConfig({ kubeconfigPath: join(dir, 'config'), context: 'nope' })).toThrow(/no context "nope"/);
  });

  it('follows $KUBECONFIG without a path', () => {
    process.env['KUBECONFIG'] = join(dir, 'config');
    expect(createKubeConfig().getCurrentCluster()?.server).toBe('https://prod.example:6443');
  });

  describe('a $KUBECONFIG list, as kubectl reads it', () => {
    const OTHER = `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {server: 'https://other-prod.example:6443'}
- name: dev
  cluster: {server: 'https://dev.example:6443'}
users:
- name: dev
  user: {token: dev-token}
contexts:
- name: dev
  context: {cluster: dev, user: dev}
current-context: dev
`;
    const list = (...files: string[]): NodeJS.ProcessEnv => ({ KUBECONFIG: files.join(delimiter) });

    it('skips a missing file and an empty one', () => {
      writeFileSync(join(dir, 'empty.yaml'), '');
      writeFileSync(join(dir, 'blank.yaml'), '\n  \n');
      for (const env of [list(join(dir, 'nonexistent'), join(dir, 'config')), list(join(dir, 'empty.yaml'), join(dir, 'blank.yaml'), join(dir, 'config'))]) {
        const kubeConfig = createKubeConfig({}, env);
        expect(kubeConfig.getCurrentContext()).toBe('prod');
        expect(kubeConfig.getCurrentCluster()?.server).toBe('https://prod.example:6443');
      }
    });

    it('merges the files, the first to set a name or the current context winning', () => {
      writeFileSync(join(dir, 'other.yaml'), OTHER);
      const kubeConfig = createKubeConfig({}, list(join(dir, 'config'), join(dir, 'other.yaml')));
      expect(kubeConfig.getCurrentContext()).toBe('prod');
      expect(kubeConfig.getCurrentCluster()?.server).toBe('https://prod.example:6443');
      expect(kubeConfig.contexts.map((context) => context.name)).toEqual(['prod', 'lab', 'dev']);
      expect(createKubeConfig({ context: 'dev' }, list(join(dir, 'config'), join(dir, 'other.yaml'))).getCurrentUser()?.token).toBe('dev-token');
      // The other order: its current context and its prod cluster win.
      const reversed = createKubeConfig({}, list(join(dir, 'other.yaml'), join(dir, 'config')));
      expect(reversed.getCurrentContext()).toBe('dev');
      expect(reversed.clusters.find((cluster) => cluster.name === 'prod')?.server).toBe('https://other-prod.example:6443');
    });

    it('fails with one line when no file of the list can be read', () => {
      writeFileSync(join(dir, 'empty.yaml'), '');
      expect(() => createKubeConfig({}, list(join(dir, 'nonexistent'), join(dir, 'empty.yaml')))).toThrow(
        `no kubeconfig in $KUBECONFIG (${join(dir, 'nonexistent')}${delimiter}${join(dir, 'empty.yaml')}): every file is missing or empty`,
      );
    });
  });

  // `kubectl proxy` serves the API on plain http:// and kubectl talks to it with no TLS (client-go sets up TLS only for
  // https:// hosts). client-node refuses an http:// server unless insecure-skip-tls-verify is set, which means nothing
  // without TLS: the audit spoke to no `kubectl proxy` and said kubectl would fail the same way.
  it('talks plain HTTP to an http:// server (kubectl proxy), as kubectl does', async () => {
    const asked: string[] = [];
    const server = createServer((request, response) => {
      asked.push(request.url ?? '');
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      writeFileSync(
        join(dir, 'proxy'),
        `apiVersion: v1\nkind: Config\nclusters: [{name: p, cluster: {server: 'http://127.0.0.1:${port}'}}]\nusers: [{name: u, user: {}}]\n` +
          `contexts: [{name: p, context: {cluster: p, user: u}}]\ncurrent-context: p\n`,
      );
      const kubeConfig = createKubeConfig({ kubeconfigPath: join(dir, 'proxy') });
      const list = await kubeConfig.makeApiClient(CoreV1Api).listNamespace();
      expect(list.items).toEqual([]);
      expect(asked).toEqual(['/api/v1/namespaces']);
      // An https:// server keeps its verification.
      expect(createKubeConfig({ kubeconfigPath: join(dir, 'config') }).getCurrentCluster()?.skipTLSVerify).toBeFalsy();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  // (Inside a pod the service account is found instead: nothing to refuse there.)
  const inPod = existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');
  it.skipIf(inPod)('refuses to fall back to an unauthenticated localhost:8080 when nothing is configured', () => {
    delete process.env['KUBECONFIG'];
    process.env['HOME'] = dir; // no ~/.kube/config there
    expect(() => createKubeConfig()).toThrow(/no kubeconfig found/);
  });
});

describe('in-cluster credentials without client-node', () => {
  const podEnv = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

  function serviceAccount(token: string): string {
    const sa = join(dir, 'sa');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), `${token}\n`);
    writeFileSync(join(sa, 'ca.crt'), 'CA PEM');
    return sa;
  }

  it('talks to the service host with the CA and the bearer token, re-reading a rotated token after a minute', async () => {
    const sa = serviceAccount('first');
    let now = 1_000_000;
    const credentials = new InClusterCredentials(podEnv, sa, () => now);
    expect(credentials.getCurrentCluster().server).toBe('https://10.96.0.1:443');
    const options: https.RequestOptions = { headers: { Accept: 'application/json' } };
    await credentials.applyToHTTPSOptions(options);
    expect(options.headers).toEqual({ Accept: 'application/json', Authorization: 'Bearer first' });
    expect(String(options.ca)).toBe('CA PEM');
    writeFileSync(join(sa, 'token'), 'second');
    now += 30_000;
    const cached: https.RequestOptions = {};
    await credentials.applyToHTTPSOptions(cached);
    expect(cached.headers).toEqual({ Authorization: 'Bearer first' });
    now += 30_000;
    const reread: https.RequestOptions = {};
    await credentials.applyToHTTPSOptions(reread);
    expect(reread.headers).toEqual({ Authorization: 'Bearer second' });
  });

  it('speaks TLS on every port: the bearer token never goes out over plain http', () => {
    for (const port of ['80', '8080', '8001', '6443']) {
      expect(new InClusterCredentials({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: port }, dir).getCurrentCluster().server, port).toBe(`https://10.96.0.1:${port}`);
    }
  });

  it('brackets an IPv6 service host and refuses to run without one', () => {
    expect(new InClusterCredentials({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, dir).getCurrentCluster().server).toBe('https://[fd00::1]:443');
    expect(() => new InClusterCredentials({}, dir)).toThrow(/not running in a pod/);
  });

  // A pod without its token mounted (automountServiceAccountToken turned off, e.g. by a policy engine enforcing
  // CIS 5.1.6 over the chart's pod-level true) said "not running in a pod", which sent operators the wrong way.
  it('says, in a pod whose service account token is not mounted, what to mount', () => {
    delete process.env['KUBECONFIG'];
    process.env['HOME'] = dir; // no ~/.kube/config there
    const unmounted = join(dir, 'no-sa');
    const error = (() => {
      try {
        createApiCredentials({}, podEnv, unmounted);
        return undefined;
      } catch (caught) {
        return caught;
      }
    })();
    expect((error as Error | undefined)?.name).toBe('KubeconfigError');
    expect((error as Error).message).toBe(
      `in a pod ($KUBERNETES_SERVICE_HOST is set) without its service account token (${join(unmounted, 'token')}) and no kubeconfig: ` +
        'mount the token (automountServiceAccountToken: true on the pod, as the chart sets it; a policy turning it off leaves volume-guard without credentials)',
    );
  });

  it('serve uses the service account in a pod, and a kubeconfig whenever one is given or found', () => {
    const sa = serviceAccount('token');
    delete process.env['KUBECONFIG'];
    process.env['HOME'] = dir; // no ~/.kube/config there
    expect(createApiCredentials({}, podEnv, sa)).toBeInstanceOf(InClusterCredentials);
    const fromFile = createApiCredentials({ kubeconfigPath: join(dir, 'config') }, podEnv, sa);
    expect(fromFile).not.toBeInstanceOf(InClusterCredentials);
    expect(fromFile.getCurrentCluster()?.server).toBe('https://prod.example:6443');
    process.env['KUBECONFIG'] = join(dir, 'config');
    expect(createApiCredentials({}, process.env, sa).getCurrentCluster()?.server).toBe('https://prod.example:6443');
  });
});

// `volume-guard audit` as users run it: a child process of the project's Node, against a plain-HTTP stand-in for
// the API server. Exit codes: 0 no risk, 1 risks, 2 errors (each with one line on stderr).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  rawLocalPV,
  rawNamespace,
  rawNode,
  rawPod,
  rawPVC,
  rawReleaseSecretMetadata,
  startFakeHttpApi,
  type FakeHttpApi,
} from './fake-http-api.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const CLI = join(ROOT, 'src/cli.ts');

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('VOLUME_GUARD_') && key !== 'KUBECONFIG') env[key] = value;
  }
  return { ...env, ...extra };
}

function audit(args: readonly string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(NODE, [CLI, 'audit', ...args], { cwd: ROOT, env: cleanEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** stderr lines of volume-guard's own (Node may add warnings of its own). */
function ownLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('volume-guard:'));
}

const NS = '/api/v1/namespaces';

let api: FakeHttpApi;
let forbidding: FakeHttpApi;
let emptyHome: string;

beforeAll(async () => {
  api = await startFakeHttpApi({
    objects: {
      '/api/v1/nodes': [rawNode('risky'), rawNode('safe')],
      [NS]: [rawNamespace('default'), rawNamespace('app')],
      '/api/v1/persistentvolumes': [rawLocalPV('pv-db', 'risky', 'app', 'data-db-0')],
      '/api/v1/persistentvolumeclaims': [
        rawPVC('app', 'data-db-0', 'pv-db'),
        rawPVC('app', 'data-old-0', 'pv-old', { 'app.kubernetes.io/instance': 'old' }),
      ],
      '/api/v1/pods': [rawPod('app', 'db-0', 'risky', ['data-db-0'])],
      [`${NS}/app/secrets`]: [rawReleaseSecretMetadata('app', 'old', 2, 'uninstalled')],
    },
  });
  forbidding = await startFakeHttpApi({ forbidden: ['/api/v1/pods'] });
  emptyHome = mkdtempSync(join(tmpdir(), 'vg-audit-home-'));
});

afterAll(async () => {
  await api?.close();
  await forbidding?.close();
  rmSync(emptyHome, { recursive: true, force: true });
});

// Child processes on a shared 2-core machine: generous limits (no assertion is about time).
describe('volume-guard audit: exit codes', { timeout: 60_000 }, () => {
  it('exits 1 and prints the grouped table when risks are found', async () => {
    const result = await audit(['--kubeconfig', api.kubeconfig]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`volume-guard audit of ${api.url} (context fake): the whole cluster (2 nodes)`);
    expect(result.stdout).toContain('node-local-volume: 1 node-local PersistentVolume is on the node (blocks: cordon/drain of node risky)');
    expect(result.stdout).toContain('PV pv-db');
    expect(result.stdout).toContain('1 risk found (1 critical, 0 warning)');
    // Not a terminal: no progress indicator.
    expect(result.stderr).toBe('');
  });

  it('writes the JSON report with --output json', async () => {
    const result = await audit(['--kubeconfig', api.kubeconfig, '-o', 'json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as {
      apiVersion: string;
      cluster: { server: string; longhornInstalled: boolean };
      summary: { byCheck: Record<string, number> };
      findings: { check: string; object: { name: string; node: string }; related: { name: string }[] }[];
    };
    expect(report.apiVersion).toBe('volume-guard.io/audit/v1');
    expect(report.cluster).toMatchObject({ server: api.url, longhornInstalled: false });
    expect(report.summary.byCheck).toEqual({
      'single-replica': 0,
      'volume-health': 0,
      'last-replica-on-node': 0,
      'node-local-volume': 1,
      'orphan-pvc': 0,
    });
    expect(report.findings[0]).toMatchObject({ check: 'node-local-volume', object: { name: 'pv-db', node: 'risky' } });
    expect(report.findings[0]!.related.map((object) => object.name)).toEqual(['data-db-0', 'db-0']);
  });

  it('exits 0 when cordoning a node would hit nothing', async () => {
    const result = await audit(['--kubeconfig', api.kubeconfig, '--node', 'safe']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('what a cordon or drain of node safe would hit');
    expect(result.stdout).toContain('No data-loss risk found.');
  });

  it('exits 1 for the node holding the local PV', async () => {
    const result = await audit(['--kubeconfig', api.kubeconfig, '--node', 'risky', '-o', 'json']);
    expect(result.code).toBe(1);
    expect((JSON.parse(result.stdout) as { summary: { risks: number } }).summary.risks).toBe(1);
  });

  it('reads the release revisions metadata-only and reports its leftover claims', async () => {
    const before = api.requests.length;
    const result = await audit(['--kubeconfig', api.kubeconfig, '--release', 'app/old', '-o', 'json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { scope: unknown; findings: { check: string; object: { name: string } }[] };
    expect(report.scope).toEqual({ kind: 'release', namespace: 'app', name: 'old', installed: false, revision: 2, status: 'uninstalled' });
    expect(report.findings.map((f) => `${f.check} ${f.object.name}`)).toEqual(['orphan-pvc data-old-0']);
    const secretCalls = api.requests.slice(before).filter((request) => request.path.startsWith(`${NS}/app/secrets`));
    expect(secretCalls).toHaveLength(1);
    expect(secretCalls[0]!.accept).toBe('application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1');
    expect(decodeURIComponent(secretCalls[0]!.path)).toContain('labelSelector=owner=helm,name=old');
  });

  it('exits 2 naming the resource and verb a 403 refused', async () => {
    const result = await audit(['--kubeconfig', forbidding.kubeconfig]);
    expect(result.code).toBe(2);
    expect(ownLines(result.stderr)).toEqual([
      'volume-guard: missing permission: pods is forbidden: User "alice" cannot list resource "pods" in API group "" at the cluster scope (the audit needs list and watch on pods)',
    ]);
    expect(result.stdout).toBe('');
  });

  it('exits 2 when the cluster does not answer within the timeout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vg-audit-kc-'));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(
        kubeconfig,
        'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:1", insecure-skip-tls-verify: true}}]\n' +
          'users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
      );
      const result = await audit(['--kubeconfig', kubeconfig, '--timeout', '0.5']);
      expect(result.code).toBe(2);
      const lines = ownLines(result.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^volume-guard: cluster unreachable: http:\/\/127\.0\.0\.1:1: no complete view within 0\.5 s \(.*ECONNREFUSED/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 without any kubeconfig', async () => {
    const result = await audit([], { HOME: emptyHome });
    expect(result.code).toBe(2);
    expect(ownLines(result.stderr)).toEqual([
      'volume-guard: kubeconfig: no kubeconfig found ($KUBECONFIG, ~/.kube/config) and not running in a pod',
    ]);
  });

  it('exits 2 for a node or namespace the cluster does not have', async () => {
    const node = await audit(['--kubeconfig', api.kubeconfig, '--node', 'nope']);
    expect(node.code).toBe(2);
    expect(ownLines(node.stderr)).toEqual(['volume-guard: node "nope" not found in the cluster']);
    const release = await audit(['--kubeconfig', api.kubeconfig, '--release', 'nope/x']);
    expect(release.code).toBe(2);
    expect(ownLines(release.stderr)).toEqual(['volume-guard: namespace "nope" not found in the cluster']);
  });

  it.each([
    [['--bogus'], "volume-guard: unknown option '--bogus'"],
    [['-o', 'yaml'], "volume-guard: option '-o, --output <format>' argument 'yaml' is invalid. Allowed choices are table, json."],
    [['--node', 'a', '--release', 'b/c'], "volume-guard: option '--node <name>' cannot be used with option '--release <namespace/name>'"],
    [['--release', 'just-a-name'], "volume-guard: option '--release <namespace/name>' argument 'just-a-name' is invalid. expected NAMESPACE/NAME, e.g. devlake/devlake"],
    [['--release', 'app/a,b=c'], "volume-guard: option '--release <namespace/name>' argument 'app/a,b=c' is invalid. expected NAMESPACE/NAME, e.g. devlake/devlake"],
    [['--timeout', 'soon'], "volume-guard: option '--timeout <seconds>' argument 'soon' is invalid. expected a number of seconds above 0"],
    [['--context', 'nope', '--kubeconfig', 'KUBECONFIG'], 'volume-guard: kubeconfig: kubeconfig has no context "nope"'],
    [['extra'], "volume-guard: too many arguments for 'audit'. Expected 0 arguments but got 1."],
  ])('exits 2 with one line for bad flags: %j', async (args, line) => {
    const result = await audit(args.map((arg) => (arg === 'KUBECONFIG' ? api.kubeconfig : arg)));
    expect(result.code).toBe(2);
    expect(ownLines(result.stderr)).toEqual([line]);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stdout).toBe('');
  });

  it('exits 0 for --help', async () => {
    const result = await audit(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: volume-guard audit [options]');
    expect(result.stdout).toContain('--release <namespace/name>');
  });
});

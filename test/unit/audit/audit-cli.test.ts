// `volume-guard audit` as users run it, a child process of the project's Node, in the cases that need no API
// server: bad flags, --help, no kubeconfig, and a cluster that does not answer. Everything that needs one runs
// against the real API server in test/e2e/audit.e2e.test.ts. Exit codes: 0 no risk, 1 risks, 2 errors (one line).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { createCertificateAuthority } from '../../../src/server/selfsigned.ts';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

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

/** A loopback port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
  const address = server.address();
  await new Promise<void>((resolvePromise) => server.close(() => resolvePromise()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

let dir: string;
let emptyHome: string;
let kubeconfig: string;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vg-audit-cli-'));
  emptyHome = join(dir, 'home');
  mkdirSync(emptyHome);
  port = await closedPort();
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: closed, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]`,
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: x, context: {cluster: closed, user: u}}]',
      'current-context: x',
      '',
    ].join('\n'),
  );
});

/** A kubeconfig file for `server`, with or without certificate verification. */
function kubeconfigFor(server: string, insecure: boolean): string {
  const file = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: c, cluster: {server: "${server}"${insecure ? ', insecure-skip-tls-verify: true' : ''}}}]`,
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: x, context: {cluster: c, user: u}}]',
      'current-context: x',
      '',
    ].join('\n'),
  );
  return file;
}

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

// Child processes on a shared 2-core machine: generous limits (no assertion is about time).
describe('volume-guard audit without an API server: exit codes', { timeout: 60_000 }, () => {
  it('exits 2 at once on a refused connection, with one line naming the server and what to check', async () => {
    const started = Date.now();
    const result = await audit(['--kubeconfig', kubeconfig, '--timeout', '60']);
    const elapsed = Date.now() - started;
    expect(result.code).toBe(2);
    const lines = ownLines(result.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(`^volume-guard: connection refused: https://127\\.0\\.0\\.1:${port} \\(context x\\) \\(connect ECONNREFUSED .*\\); is the API server running, and are the kubeconfig's host and port right\\?$`),
    );
    expect(result.stdout).toBe('');
    // Far from the 60 s timeout: nothing waited for it (child start-up on a loaded 2-core machine takes seconds;
    // the in-process bound of 5 s is in load.test.ts).
    expect(elapsed).toBeLessThan(15_000);
  });

  it('exits 2 at once on an unknown host', async () => {
    const file = kubeconfigFor('https://api.volume-guard-test.invalid:6443', true);
    const started = Date.now();
    const result = await audit(['--kubeconfig', file, '--timeout', '60']);
    expect(result.code).toBe(2);
    expect(ownLines(result.stderr)).toEqual([
      expect.stringMatching(/^volume-guard: unknown host: https:\/\/api\.volume-guard-test\.invalid:6443 \(context x\) \(getaddrinfo [A-Z_]+ api\.volume-guard-test\.invalid\); check the server address in the kubeconfig and the DNS$/),
    ]);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('exits 2 at once when the server certificate is not trusted', async () => {
    const ca = await createCertificateAuthority({ commonName: 'not the cluster CA' });
    const pair = await ca.issue();
    const server = createTlsServer({ cert: pair.certPem, key: pair.keyPem }, (socket) => socket.end());
    await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
    try {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      const file = kubeconfigFor(`https://127.0.0.1:${address.port}`, false);
      const started = Date.now();
      const result = await audit(['--kubeconfig', file, '--timeout', '60']);
      expect(result.code).toBe(2);
      expect(ownLines(result.stderr)).toEqual([
        expect.stringMatching(new RegExp(`^volume-guard: TLS error: https://127\\.0\\.0\\.1:${address.port} \\(context x\\) \\(.+\\); check the kubeconfig's certificate-authority-data`)),
      ]);
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await new Promise<void>((resolvePromise) => server.close(() => resolvePromise()));
    }
  });

  it('exits 2 once a connection is not made within half the timeout (at most 10 s), saying what to check', async () => {
    // A listener that never completes the TLS handshake: what a server whose packets are dropped looks like.
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
    try {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      const file = kubeconfigFor(`https://127.0.0.1:${address.port}`, true);
      const started = Date.now();
      const result = await audit(['--kubeconfig', file, '--timeout', '4']);
      expect(result.code).toBe(2);
      expect(ownLines(result.stderr)).toEqual([
        `volume-guard: no connection: https://127.0.0.1:${address.port} (context x) (TLS handshake not done within 2 s); ` +
          "is the API server up, and reachable from here (VPN, firewall, proxy)? check the kubeconfig's host and port",
      ]);
      // At the 2 s bound, not at the 4 s timeout (child start-up on a loaded machine: seconds).
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolvePromise) => server.close(() => resolvePromise()));
    }
  });

  it('waits --timeout for a server that accepts but does not answer, then exits 2 naming the server', async () => {
    // The TLS handshake completes; the requests are never answered.
    const sockets = new Set<Socket>();
    const ca = await createCertificateAuthority({ commonName: 'silent' });
    const pair = await ca.issue();
    const server = createTlsServer({ cert: pair.certPem, key: pair.keyPem }, (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
    try {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      const file = kubeconfigFor(`https://127.0.0.1:${address.port}`, true);
      const started = Date.now();
      const result = await audit(['--kubeconfig', file, '--timeout', '1.5']);
      expect(result.code).toBe(2);
      expect(ownLines(result.stderr)).toEqual([
        expect.stringMatching(new RegExp(`^volume-guard: cluster unreachable: https://127\\.0\\.0\\.1:${address.port}: no complete view within 1\\.5 s \\(ran out loading the cluster model: still waiting for `)),
      ]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolvePromise) => server.close(() => resolvePromise()));
    }
  });

  it('spends one --timeout on the whole load: a phase after a slow model load gets what is left, and is named', async () => {
    // Plain HTTP, answering as an empty cluster: the lists of the model (all sent at once, at the start) after
    // LIST_DELAY_MS, later ones (the upgrade objects') at once, watches never (they stay open), the metadata-only lists
    // of release records never at all.
    const LIST_DELAY_MS = 1_500;
    const held = new Set<ServerResponse>();
    let firstAt: number | undefined;
    const server = createHttpServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://x');
      held.add(response);
      response.on('close', () => held.delete(response));
      if (url.searchParams.get('watch') === 'true' || (request.headers.accept ?? '').includes('PartialObjectMetadataList')) return;
      firstAt ??= Date.now();
      const first = Date.now() - firstAt < LIST_DELAY_MS / 2;
      setTimeout(
        () => {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] }));
        },
        first ? LIST_DELAY_MS : 0,
      );
    });
    await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
    try {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      const file = kubeconfigFor(`http://127.0.0.1:${address.port}`, true);
      const started = Date.now();
      const result = await audit(['--kubeconfig', file, '--timeout', '4']);
      const ended = Date.now();
      const elapsed = ended - started;
      expect(result.code).toBe(2);
      expect(ownLines(result.stderr)).toEqual([
        expect.stringMatching(new RegExp(`^volume-guard: cluster unreachable: http://127\\.0\\.0\\.1:${address.port}: no complete view within 4 s \\(ran out listing the Helm release labels: `)),
      ]);
      // 4 s in all, not 4 s for the model and 4 more for the labels. Counted from the audit's first request: the
      // child's start-up before it (loading its modules) takes seconds on a loaded machine.
      expect(elapsed).toBeGreaterThanOrEqual(4_000);
      expect(firstAt).toBeDefined();
      expect(ended - (firstAt ?? started)).toBeLessThan(4_000 + 2_500);
    } finally {
      for (const response of held) response.destroy();
      await new Promise<void>((resolvePromise) => server.close(() => resolvePromise()));
    }
  });

  it('exits 2 without any kubeconfig', async () => {
    const result = await audit([], { HOME: emptyHome });
    expect(result.code).toBe(2);
    expect(ownLines(result.stderr)).toEqual([
      'volume-guard: kubeconfig: no kubeconfig found ($KUBECONFIG, ~/.kube/config) and not running in a pod',
    ]);
  });

  it.each([
    [['--bogus'], "volume-guard: unknown option '--bogus' (see volume-guard audit --help)"],
    [['-o', 'yaml'], "volume-guard: option '-o, --output <format>' argument 'yaml' is invalid. Allowed choices are table, json, policyreport. (see volume-guard audit --help)"],
    [['--node', 'a', '--release', 'b/c'], "volume-guard: option '--node <name>' cannot be used with option '--release <namespace/name>' (see volume-guard audit --help)"],
    [['--release', 'just-a-name'], "volume-guard: option '--release <namespace/name>' argument 'just-a-name' is invalid. expected NAMESPACE/NAME, e.g. devlake/devlake (see volume-guard audit --help)"],
    [['--release', 'app/a,b=c'], "volume-guard: option '--release <namespace/name>' argument 'app/a,b=c' is invalid. expected NAMESPACE/NAME, e.g. devlake/devlake (see volume-guard audit --help)"],
    // An empty name would fail only later, as a node not found.
    [['--node', ''], "volume-guard: option '--node <name>' argument '' is invalid. expected a node name, e.g. worker-1 (see volume-guard audit --help)"],
    [['--node', 'Worker 1'], "volume-guard: option '--node <name>' argument 'Worker 1' is invalid. expected a node name, e.g. worker-1 (see volume-guard audit --help)"],
    [['--timeout', 'soon'], "volume-guard: option '--timeout <seconds>' argument 'soon' is invalid. expected a number of seconds above 0 (see volume-guard audit --help)"],
    // Past Node's longest timer every request would abort at once.
    [['--timeout', '3000000'], "volume-guard: option '--timeout <seconds>' argument '3000000' is invalid. expected at most 2147483 seconds (see volume-guard audit --help)"],
    [['--context', 'nope', '--kubeconfig', 'KUBECONFIG'], 'volume-guard: kubeconfig: kubeconfig has no context "nope"'],
    [['extra'], "volume-guard: too many arguments for 'audit'. Expected 0 arguments but got 1. (see volume-guard audit --help)"],
  ])('exits 2 with one line for bad flags: %j', async (args, line) => {
    const result = await audit(args.map((arg) => (arg === 'KUBECONFIG' ? kubeconfig : arg)));
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
    // --strict under --node also fails what only deleting the node would hit (README, audit options).
    expect(result.stdout.replace(/\s+/g, ' ')).toContain('with --node, also what only deleting the node would hit');
  });
});

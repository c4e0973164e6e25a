// The CLI as users run it: a child process of the project's Node.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listenAddressError } from '../../src/cli.ts';
import { defaultConfig } from '../../src/config.ts';
import { reviewBody } from '../support/admission.ts';
import { issue, tempDir, waitFor, writePlainPair } from '../support/tls.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const CLI = join(ROOT, 'src/cli.ts');

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('VOLUME_GUARD_') && key !== 'KUBECONFIG') env[key] = value;
  }
  return { ...env, ...extra };
}

interface Child {
  readonly process: ChildProcessWithoutNullStreams;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: Child[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
    await child.exit;
  }
});

function run(args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(NODE, [CLI, ...args], { cwd: ROOT, env: cleanEnv(env) });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolvePromise) =>
    child.on('close', (code, signal) => resolvePromise({ code, signal })),
  );
  const handle = { process: child, stdout: () => stdout, stderr: () => stderr, exit };
  children.push(handle);
  return handle;
}

/** stderr without Node's own warnings (e.g. experimental features), which are not ours to judge. */
function ownLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('volume-guard:'));
}

/** A kubeconfig for an API server nobody listens on: `serve` starts, its model stays unsynced. */
async function unreachableKubeconfig(): Promise<string> {
  const kubeconfig = join(await tempDir('vg-cli-'), 'kubeconfig');
  await writeFile(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }),
  );
  return kubeconfig;
}

describe('volume-guard serve: configuration errors exit 2 with one line', () => {
  it('names a bad enum in the config file', async () => {
    const file = join(await tempDir('vg-cli-'), 'config.yaml');
    await writeFile(file, 'checks:\n  orphan-pvc:\n    mode: block\n');
    const child = run(['serve', '--config', file]);
    expect((await child.exit).code).toBe(2);
    expect(ownLines(child.stderr())).toEqual([
      'volume-guard: config: checks.orphan-pvc.mode must be one of enforce, warn, off (got "block")',
    ]);
    expect(child.stdout()).toBe('');
  });

  it.each([['serve'], ['audit']])('%s: names where a recursive YAML alias is, instead of a crash', async (command) => {
    const file = join(await tempDir('vg-cli-'), 'config.yaml');
    await writeFile(file, 'overrides:\n  allowedGroups: &g [*g]\n');
    const child = run([command, '-c', file]);
    expect((await child.exit).code).toBe(2);
    expect(child.stderr().trim().split('\n')).toEqual([`volume-guard: config: ${file}: recursive YAML alias at overrides.allowedGroups[0] (an alias inside the value it names)`]);
  });

  // Node resolves a listen host that is no IP address: getaddrinfo's error and stack, exit 1, said nothing of the field.
  it('names a listen host that is no address, and the variable that set it', async () => {
    const tls = await writePlainPair(await tempDir('vg-cli-'), await issue());
    const child = run(['serve'], {
      KUBECONFIG: await unreachableKubeconfig(),
      VOLUME_GUARD_ADMISSION_TLS_CERT_FILE: tls.certFile,
      VOLUME_GUARD_ADMISSION_TLS_KEY_FILE: tls.keyFile,
      VOLUME_GUARD_ADMISSION_PORT: '0',
      VOLUME_GUARD_OPS_PORT: '0',
      VOLUME_GUARD_ADMISSION_HOST: 'not a host',
      VOLUME_GUARD_LOG_LEVEL: 'silent',
    });
    expect((await child.exit).code).toBe(2);
    expect(ownLines(child.stderr())).toEqual([
      'volume-guard: config: admission.host is no address to listen on (got "not a host": getaddrinfo ENOTFOUND); use an IP address such as 0.0.0.0, or :: on IPv6 (from VOLUME_GUARD_ADMISSION_HOST)',
    ]);
  });

  it('names an ops host from the config file that is no address', async () => {
    const dir = await tempDir('vg-cli-');
    const tls = await writePlainPair(dir, await issue());
    const file = join(dir, 'config.yaml');
    await writeFile(
      file,
      `admission:\n  port: 0\n  host: 127.0.0.1\n  tls: { certFile: ${tls.certFile}, keyFile: ${tls.keyFile} }\nops:\n  port: 0\n  host: 999.1.1.1\nlog:\n  level: silent\n`,
    );
    const child = run(['serve', '-c', file], { KUBECONFIG: await unreachableKubeconfig() });
    expect((await child.exit).code).toBe(2);
    expect(ownLines(child.stderr())).toEqual([
      `volume-guard: config: ops.host is no address to listen on (got "999.1.1.1": getaddrinfo ENOTFOUND); use an IP address such as 0.0.0.0, or :: on IPv6 (from ${file})`,
    ]);
  });

  // Issue 19's review: both printed the error and a 9-line stack.
  it('serve with no kubeconfig outside a pod: one line saying what to do, exit 2', async () => {
    const home = await tempDir('vg-home-');
    const child = run(['serve', '--self-signed'], {
      HOME: home,
      KUBERNETES_SERVICE_HOST: '',
      VOLUME_GUARD_ADMISSION_PORT: '0',
      VOLUME_GUARD_OPS_PORT: '0',
      VOLUME_GUARD_LOG_LEVEL: 'silent',
    });
    expect((await child.exit).code).toBe(2);
    const lines = ownLines(child.stderr()).filter((line) => !line.startsWith('volume-guard: self-signed CA'));
    expect(lines).toEqual([
      "volume-guard: kubeconfig: no kubeconfig found ($KUBECONFIG, ~/.kube/config) and not running in a pod; set KUBECONFIG to the cluster's kubeconfig file (in a pod, its service account is used)",
    ]);
    expect(child.stderr()).not.toMatch(/^\s+at /m);
  });

  it.skipIf(existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token'))('serve in a pod without its service account token: says so and what to mount, exit 2', async () => {
    const home = await tempDir('vg-home-');
    const child = run(['serve', '--self-signed'], {
      HOME: home,
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      KUBERNETES_SERVICE_PORT: '443',
      VOLUME_GUARD_ADMISSION_PORT: '0',
      VOLUME_GUARD_OPS_PORT: '0',
      VOLUME_GUARD_LOG_LEVEL: 'silent',
    });
    expect((await child.exit).code).toBe(2);
    const lines = ownLines(child.stderr()).filter((line) => !line.startsWith('volume-guard: self-signed CA'));
    expect(lines).toEqual([
      'volume-guard: kubeconfig: in a pod ($KUBERNETES_SERVICE_HOST is set) without its service account token (/var/run/secrets/kubernetes.io/serviceaccount/token) and no kubeconfig: ' +
        'mount the token (automountServiceAccountToken: true on the pod, as the chart sets it; a policy turning it off leaves volume-guard without credentials); ' +
        "set KUBECONFIG to the cluster's kubeconfig file (in a pod, its service account is used)",
    ]);
  });

  it('names a listen host that is a valid address but none of this machine\'s (EADDRNOTAVAIL)', async () => {
    const dir = await tempDir('vg-cli-');
    const tls = await writePlainPair(dir, await issue());
    // 192.0.2.1: TEST-NET-1 (RFC 5737), never a local address.
    const child = run(['serve'], {
      KUBECONFIG: await unreachableKubeconfig(),
      VOLUME_GUARD_ADMISSION_TLS_CERT_FILE: tls.certFile,
      VOLUME_GUARD_ADMISSION_TLS_KEY_FILE: tls.keyFile,
      VOLUME_GUARD_ADMISSION_PORT: '0',
      VOLUME_GUARD_OPS_PORT: '0',
      VOLUME_GUARD_ADMISSION_HOST: '192.0.2.1',
      VOLUME_GUARD_LOG_LEVEL: 'silent',
    });
    expect((await child.exit).code).toBe(2);
    expect(ownLines(child.stderr())).toEqual([
      'volume-guard: config: admission.host "192.0.2.1" is no address of this machine (listen EADDRNOTAVAIL); use one of its addresses, or 0.0.0.0 (:: on IPv6) for all of them (from VOLUME_GUARD_ADMISSION_HOST)',
    ]);
  });

  it('maps only a listen host getaddrinfo cannot resolve, naming the server it belongs to', () => {
    const config = defaultConfig();
    const failed = (code: string, hostname: string) => Object.assign(new Error(`getaddrinfo ${code} ${hostname}`), { code, syscall: 'getaddrinfo', hostname });
    const hosts = { ...config, admission: { ...config.admission, host: 'vg.example' }, ops: { ...config.ops, host: 'vg.example' } };
    expect(listenAddressError(failed('EAI_AGAIN', 'vg.example'), hosts, undefined, {})?.message).toBe(
      'config: admission.host is no address to listen on (got "vg.example": getaddrinfo EAI_AGAIN); use an IP address such as 0.0.0.0, or :: on IPv6',
    );
    expect(listenAddressError(failed('ENOTFOUND', 'other.example'), hosts, undefined, {})).toBeUndefined();
    expect(listenAddressError(Object.assign(new Error('in use'), { code: 'EADDRINUSE', syscall: 'listen' }), hosts, undefined, {})).toBeUndefined();
    // Not this machine's: the ops host, from the file.
    const notHere = Object.assign(new Error('listen EADDRNOTAVAIL'), { code: 'EADDRNOTAVAIL', syscall: 'listen', address: '10.1.2.3', port: 8080 });
    expect(listenAddressError(notHere, { ...config, ops: { ...config.ops, host: '10.1.2.3' } }, 'vg.yaml', {})?.message).toBe(
      'config: ops.host "10.1.2.3" is no address of this machine (listen EADDRNOTAVAIL); use one of its addresses, or 0.0.0.0 (:: on IPv6) for all of them (from vg.yaml)',
    );
    expect(listenAddressError('not an error', hosts, undefined, {})).toBeUndefined();
  });

  it('names a bad environment override', async () => {
    const child = run(['serve'], { VOLUME_GUARD_ADMISSION_PORT: 'eighty' });
    expect((await child.exit).code).toBe(2);
    expect(ownLines(child.stderr())).toEqual([
      'volume-guard: config: admission.port must be an integer (got "eighty") (from VOLUME_GUARD_ADMISSION_PORT)',
    ]);
  });

  it('refuses a millisecond setting past the longest timer Node keeps', async () => {
    const child = run(['serve'], { VOLUME_GUARD_HELM_MANIFEST_DEADLINE_MS: '3000000000' });
    expect((await child.exit).code).toBe(2);
    expect(ownLines(child.stderr())).toEqual([
      'volume-guard: config: helm.manifestDeadlineMs must be <= 2147483647 (got 3000000000) (from VOLUME_GUARD_HELM_MANIFEST_DEADLINE_MS)',
    ]);
  });

  it('reports a missing config file', async () => {
    const child = run(['serve', '--config', '/nonexistent/vg.yaml']);
    expect((await child.exit).code).toBe(2);
    expect(ownLines(child.stderr())).toEqual(['volume-guard: config: cannot read /nonexistent/vg.yaml: no such file']);
  });

  it('says which certificate file is missing and what to do', async () => {
    const dir = await tempDir('vg-cli-');
    const child = run(['serve'], {
      VOLUME_GUARD_ADMISSION_TLS_CERT_FILE: join(dir, 'tls.crt'),
      VOLUME_GUARD_ADMISSION_TLS_KEY_FILE: join(dir, 'tls.key'),
      VOLUME_GUARD_LOG_LEVEL: 'silent',
    });
    expect((await child.exit).code).toBe(2);
    const lines = ownLines(child.stderr());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^volume-guard: TLS certificate file ${join(dir, 'tls.crt')} does not exist: .*--self-signed`));
  });
});

describe('volume-guard CLI basics', () => {
  it.each([[['--help']], [['help']], [['serve', '--help']], [['help', 'serve']]])('prints help on stdout with exit 0: %j', async (args) => {
    const help = run(args);
    expect((await help.exit).code).toBe(0);
    expect(help.stdout()).toMatch(/^Usage: volume-guard /);
    expect(ownLines(help.stderr())).toEqual([]);
  });

  // Exit 1 is the audit's "risks found": a typo must not read as that, nor bury its one line under the usage.
  it.each([
    [[], 'volume-guard: a command is required: serve, audit (see volume-guard --help)'],
    [['--bogus'], "volume-guard: unknown option '--bogus' (see volume-guard --help)"],
    [['frobnicate'], "volume-guard: unknown command 'frobnicate' (see volume-guard --help)"],
    [['serv'], "volume-guard: unknown command 'serv' (Did you mean serve?) (see volume-guard --help)"],
    [['help', 'frobnicate'], "volume-guard: unknown command 'frobnicate' (see volume-guard --help)"],
    [['serve', '--bogus'], "volume-guard: unknown option '--bogus' (see volume-guard serve --help)"],
    [['serve', '--config'], "volume-guard: option '-c, --config <file>' argument missing (see volume-guard serve --help)"],
    [['serve', 'extra'], "volume-guard: too many arguments for 'serve'. Expected 0 arguments but got 1. (see volume-guard serve --help)"],
  ])('exits 2 with one line for a command line it does not understand: %j', async (args, line) => {
    const child = run(args);
    expect((await child.exit).code).toBe(2);
    expect(child.stderr().trim().split('\n')).toEqual([line]);
    expect(child.stdout()).toBe('');
  });

  it('as the kubectl plugin, exits 2 with one line naming the command as typed', async () => {
    const plugin = join(await tempDir('vg-plugin-'), 'kubectl-volume_guard');
    await symlink(join(ROOT, 'bin/volume-guard.cjs'), plugin);
    for (const [args, line] of [
      [['frobnicate'], "volume-guard: unknown command 'frobnicate' (see kubectl volume-guard --help)"],
      [[], 'volume-guard: a command is required: serve, audit (see kubectl volume-guard --help)'],
      [['audit', '--bogus'], "volume-guard: unknown option '--bogus' (see kubectl volume-guard audit --help)"],
    ] as const) {
      const child = spawn(NODE, [plugin, ...args], { cwd: ROOT, env: cleanEnv({}) });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const code = await new Promise<number | null>((resolvePromise) => child.on('close', resolvePromise));
      expect(code, args.join(' ')).toBe(2);
      expect(stderr.trim().split('\n')).toEqual([line]);
    }
  });
});

describe('volume-guard serve --self-signed', () => {
  it('serves admission with a generated CA, then exits 0 on SIGTERM', async () => {
    const kubeconfig = await unreachableKubeconfig();
    const child = run(['serve', '--self-signed'], {
      KUBECONFIG: kubeconfig,
      VOLUME_GUARD_ADMISSION_PORT: '0',
      VOLUME_GUARD_OPS_PORT: '0',
      VOLUME_GUARD_ADMISSION_HOST: '127.0.0.1',
      VOLUME_GUARD_OPS_HOST: '127.0.0.1',
      VOLUME_GUARD_ADMISSION_ALLOW_ALL: 'true',
    });
    const serving = await waitFor(
      () => {
        if (child.process.exitCode !== null) throw new Error(`exited early: ${child.stderr()}`);
        const line = child
          .stdout()
          .split('\n')
          .filter(Boolean)
          .map((text) => JSON.parse(text) as Record<string, unknown>)
          .find((entry) => entry.msg === 'volume-guard serving');
        return line;
      },
      'the serving log line',
      { timeoutMs: 15_000 },
    );
    const port = Number(new URL(String(serving.admission)).port);
    const caFile = /self-signed CA written to (\S+)/.exec(child.stderr())?.[1];
    expect(caFile).toBeDefined();
    const ca = await readFile(caFile!, 'utf8');

    const answer = await new Promise<string>((resolvePromise, reject) => {
      const request = httpsRequest(
        { host: '127.0.0.1', port, method: 'POST', path: '/validate/allow-all', ca, headers: { 'content-type': 'application/json' } },
        (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolvePromise(body));
        },
      );
      request.on('error', reject);
      request.end(
        reviewBody({
          uid: 'cli-1',
          kind: { group: '', version: 'v1', kind: 'ConfigMap' },
          resource: { group: '', version: 'v1', resource: 'configmaps' },
          operation: 'CREATE',
          userInfo: { username: 'dev' },
        }),
      );
    });
    expect(JSON.parse(answer).response).toEqual({ uid: 'cli-1', allowed: true });

    child.process.kill('SIGTERM');
    expect(await child.exit).toEqual({ code: 0, signal: null });
    const messages = child
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((text) => (JSON.parse(text) as { msg: string }).msg);
    expect(messages).toContain('shutting down: readiness is now false');
    expect(messages.at(-1)).toBe('volume-guard stopped');
  });
});

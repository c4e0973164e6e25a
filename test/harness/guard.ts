// Runs `volume-guard serve` from the working tree against the harness's real API server, registered as a
// ValidatingWebhookConfiguration (and a MutatingWebhookConfiguration for its override-writer step) called over HTTPS
// by URL, exactly as a cluster would call it.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, openSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createValidators } from '../../src/admission/index.ts';
import { mutatingWebhookConfiguration, webhookConfiguration } from '../../src/admission/webhooks.ts';
import { defaultConfig, type Config } from '../../src/config.ts';
import { createCertificateAuthority } from '../../src/server/selfsigned.ts';
import { kubectl, paths, tempFile, type ClusterInfo } from './cluster.ts';
import { PROJECT_NODE, SOURCE_CLI } from '../support/cli.ts';
import { writePairFiles } from '../support/tls-files.ts';

/** One per test process, so concurrent runs against one API server never remove each other's registration. */
export const WEBHOOK_CONFIGURATION_NAME = `volume-guard-test-${process.pid}`;

export interface GuardInstance {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  /** http://127.0.0.1:PORT (healthz, readyz, metrics) */
  readonly opsUrl: string;
  readonly caPem: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly process: ChildProcess;
  /** SIGTERM and wait for exit; resolves to the exit code. */
  stop(): Promise<number | null>;
}

export interface StartGuardOptions {
  /** Deep-merged over the defaults (ports and TLS files are set by the launcher). */
  readonly config?: Partial<Record<keyof Config, unknown>>;
  readonly kubeconfig?: string;
  /** A name for the log file under .cluster/logs. */
  readonly name?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Keep running after this process exits (npm run cluster:up); its pid goes to <dir>/pid. */
  readonly detached?: boolean;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function merge(base: unknown, over: unknown): unknown {
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return over ?? base;
  if (typeof over !== 'object' || over === null || Array.isArray(over)) return over ?? base;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(over)) out[key] = merge(out[key], value);
  return out;
}

export async function startGuard(cluster: ClusterInfo, options: StartGuardOptions = {}): Promise<GuardInstance> {
  const name = options.name ?? 'volume-guard';
  const dir = join(paths.dir, 'guard', name);
  const logDir = join(paths.dir, 'logs');
  await mkdir(dir, { recursive: true });
  await mkdir(logDir, { recursive: true });
  const ca = await createCertificateAuthority();
  const leaf = await ca.issue({ ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
  const { certFile, keyFile } = await writePairFiles(dir, leaf);
  const [port, opsPort] = [await freePort(), await freePort()];
  const base = {
    admission: { port, host: '127.0.0.1', tls: { certFile, keyFile, pollIntervalMs: 1000 } },
    ops: { port: opsPort, host: '127.0.0.1' },
    log: { level: 'info' },
  };
  const config = merge(base, options.config ?? {});
  const configFile = join(dir, 'config.yaml');
  await writeFile(configFile, stringify(config));
  const logFile = join(logDir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const env = { ...process.env, ...options.env, KUBECONFIG: options.kubeconfig ?? cluster.kubeconfig };
  let child: ChildProcess;
  if (options.detached) {
    const fd = openSync(logFile, 'a');
    child = spawn(PROJECT_NODE, [SOURCE_CLI, 'serve', '--config', configFile], { cwd: paths.root, env, stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    child.unref();
    await writeFile(join(dir, 'pid'), String(child.pid));
    await writeFile(join(dir, 'instance.json'), JSON.stringify({ url: `https://127.0.0.1:${port}`, opsUrl: `http://127.0.0.1:${opsPort}`, logFile }));
  } else {
    child = spawn(PROJECT_NODE, [SOURCE_CLI, 'serve', '--config', configFile], { cwd: paths.root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const instance: GuardInstance = {
    url: `https://127.0.0.1:${port}`,
    opsUrl: `http://127.0.0.1:${opsPort}`,
    caPem: ca.certPem,
    certFile,
    keyFile,
    configFile,
    logFile,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      log.end();
      return code;
    },
  };
  await waitFor(`volume-guard ready on ${instance.opsUrl} (log: ${logFile})`, 60_000, async () => {
    if (child.exitCode !== null) throw new Error(`volume-guard exited with ${child.exitCode}; see ${logFile}`);
    const response = await fetch(`${instance.opsUrl}/readyz`).catch(() => undefined);
    return response?.status === 200;
  });
  return instance;
}

/** Polls `probe` until it returns true; throws with `what` after `timeoutMs`. */
export async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Registers (or replaces) the ValidatingWebhookConfiguration and the MutatingWebhookConfiguration (the override
 * writer step) pointing at this instance.
 */
export async function registerWebhooks(
  guard: Pick<GuardInstance, 'url' | 'opsUrl' | 'caPem'>,
  options: {
    /** The validating webhooks' (the mutating one is always Ignore). */
    failurePolicy?: 'Fail' | 'Ignore';
    timeoutSeconds?: number;
    name?: string;
    /** The guard's `upgrades.kinds`, when its configuration sets them (as the chart renders them from its values). */
    upgradeKinds?: Config['upgrades']['kinds'];
  } = {},
): Promise<void> {
  const config = defaultConfig();
  const declarations = createValidators(config).map((validator) => validator.declaration);
  const webhookOptions = {
    configurationName: options.name ?? WEBHOOK_CONFIGURATION_NAME,
    upgradeKinds: options.upgradeKinds ?? config.upgrades.kinds,
    client: { url: guard.url, caBundle: Buffer.from(guard.caPem).toString('base64') },
    failurePolicy: options.failurePolicy ?? 'Fail',
    timeoutSeconds: options.timeoutSeconds ?? 10,
  };
  const list = {
    apiVersion: 'v1',
    kind: 'List',
    items: [webhookConfiguration(declarations, webhookOptions), mutatingWebhookConfiguration(declarations, webhookOptions)],
  };
  const file = await tempFile('webhooks.json', JSON.stringify(list));
  const applied = await kubectl(['apply', '-f', file]);
  if (applied.code !== 0) throw new Error(`registering webhooks failed: ${applied.stderr}`);
  // The API server picks webhook configurations up asynchronously: wait until a request really reaches us.
  await ensureProbeNode();
  await waitFor('the API server to call volume-guard', 60_000, async () => {
    const before = await admissionCount(guard, 'node-cordon');
    await kubectl(['cordon', PROBE_NODE, '--dry-run=server']);
    return (await admissionCount(guard, 'node-cordon')) > before;
  }, 500);
  // And its mutating step (an override write by the admin, dry run: whether or not it is called yet, nothing is stored).
  await waitFor("the API server to call volume-guard's mutating step", 60_000, async () => {
    const before = await admissionCount(guard, 'override-writer');
    await kubectl(['annotate', 'node', PROBE_NODE, '--overwrite', '--dry-run=server', `volume-guard.io/skip-reason=probe ${Date.now()}`]);
    return (await admissionCount(guard, 'override-writer')) > before;
  }, 500);
}

/** The kinds of webhook configuration the harness registers (registerWebhooks). */
const CONFIGURATION_KINDS = ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations'] as const;

/** Removes registrations left by test processes that died without tearing down (they would fail closed). */
export async function removeStaleRegistrations(): Promise<void> {
  for (const kind of CONFIGURATION_KINDS) {
    const listed = await kubectl(['get', kind, '-o', 'name']);
    for (const line of listed.stdout.split('\n')) {
      const match = /volume-guard-test-(\d+)$/.exec(line.trim());
      if (!match) continue;
      const pid = Number(match[1]);
      let alive = true;
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
      if (!alive) await kubectl(['delete', line.trim(), '--ignore-not-found']);
    }
  }
}

export async function unregisterWebhooks(name = WEBHOOK_CONFIGURATION_NAME): Promise<void> {
  for (const kind of CONFIGURATION_KINDS) await kubectl(['delete', kind, name, '--ignore-not-found']);
}

export const PROBE_NODE = 'volume-guard-probe';

async function ensureProbeNode(): Promise<void> {
  const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: PROBE_NODE, labels: { 'volume-guard.io/test': 'probe' } } };
  const file = await tempFile('probe-node.json', JSON.stringify(node));
  await kubectl(['apply', '-f', file]);
}

/** Sum of volume_guard_admission_requests_total for a target. */
export async function admissionCount(guard: Pick<GuardInstance, 'opsUrl'>, target: string): Promise<number> {
  const text = await (await fetch(`${guard.opsUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('volume_guard_admission_requests_total{') && line.includes(`target="${target}"`)) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

export async function metricValue(guard: Pick<GuardInstance, 'opsUrl'>, prefix: string): Promise<number> {
  const text = await (await fetch(`${guard.opsUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith(prefix)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

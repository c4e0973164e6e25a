// Helpers for end-to-end tests of volume-guard shipped the way users run it on the whole cluster: its image
// (scripts/image.sh, from the Dockerfile) installed by its chart as release `volume-guard` in namespace
// `volume-guard`, its pods called by the API server through the chart's Service. The host-run volume-guard of the
// e2e setup is taken out of the path meanwhile (hostGuardOutOfPath), so every answer comes from the pods.
import { join } from 'node:path';
import { helm, kubectl, paths, run, tempFile, type CommandResult, type RunOptions } from '../harness/cluster.ts';
import { must } from '../harness/scenario.ts';
import { deleteNamespaceAndWait, freshNamespace } from './whole.ts';

export const RELEASE = 'volume-guard';
export const VG_NS = 'volume-guard';
/** The label selector of the release's pods. */
export const GUARD_SELECTOR = 'app.kubernetes.io/name=volume-guard';
export const CHART = join(paths.root, 'charts', 'volume-guard');

/** `npm run image` (scripts/image.sh, cached): builds the image and imports it into the nodes' containerd; its reference. */
export async function buildImage(): Promise<string> {
  const built = await run('bash', [join(paths.root, 'scripts', 'image.sh')], { timeoutMs: 30 * 60_000 });
  if (built.code !== 0) throw new Error(`npm run image failed:\n${built.stderr.slice(-2000)}`);
  return built.stdout.trim().split('\n').at(-1) ?? '';
}

/**
 * The chart's values for the local image (never pulled). Required anti-affinity off: with one real node it would
 * leave the second replica Pending, and with two a drained replica. `certManager: false` (the default here) has the
 * chart generate its TLS; true keeps the chart's default (cert-manager issues it).
 */
export function chartValues(imageRef: string, opts: { certManager?: boolean } = {}): string[] {
  const at = imageRef.lastIndexOf(':');
  return [
    '--set', `image.repository=${imageRef.slice(0, at)}`,
    '--set', `image.tag=${imageRef.slice(at + 1)}`,
    '--set', 'image.pullPolicy=Never',
    ...(opts.certManager ? [] : ['--set', 'tls.certManager.enabled=false']),
    '--set', 'highAvailability.requiredAntiAffinity=false',
  ];
}

/**
 * The host-run volume-guard's registrations (volume-guard-test-<pid>: the e2e setup's; volume-guard-local:
 * `npm run cluster:up`'s): `unregister` deletes them, remembering each; `restore` creates the remembered ones again
 * (call it in afterAll: it restores what was taken even when the beforeAll failed half-way).
 */
function hostGuardOutOfPath(tag: string): { unregister(): Promise<void>; restore(): Promise<void> } {
  const saved: unknown[] = [];
  return {
    async unregister() {
      // Its validating webhooks and its mutating override-writer step.
      for (const kind of ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations']) {
        const listed = await must(kubectl(['get', kind, '-o', 'json']), `list ${kind}`);
        for (const item of (JSON.parse(listed.stdout) as { items: { metadata: Record<string, unknown> }[] }).items) {
          if (!/^volume-guard-(test-\d+|local)$/.test(String(item.metadata.name))) continue;
          for (const k of ['resourceVersion', 'uid', 'creationTimestamp', 'managedFields', 'generation']) delete item.metadata[k];
          saved.push(item);
          await must(kubectl(['delete', kind, String(item.metadata.name)]), 'unregister host guard');
        }
      }
    },
    async restore() {
      if (!saved.length) return;
      const file = await tempFile(`${tag}-restore-${process.pid}.json`, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: saved }));
      await kubectl(['create', '-f', file]);
    },
  };
}

/**
 * The release uninstalled (if there) and its namespace deleted: an install starts from scratch (a cert-manager
 * install leaves its Secrets, which a chart-generated install cannot adopt).
 */
async function removeRelease(): Promise<void> {
  await helm(['uninstall', RELEASE, '-n', VG_NS, '--wait']);
  await deleteNamespaceAndWait(VG_NS);
}

/**
 * A file's stage for the shipped volume-guard: `setUp` (beforeAll) takes the host guard out of the path, removes the
 * release, makes the app namespace fresh and deletes the app's PV (an interrupted run leaves it Released, bound to
 * the deleted claim); `tearDown` (afterAll) uninstalls the release (and deletes its namespace with
 * `releaseNamespace`), deletes the app namespace and PV and restores the host guard.
 */
export function shippedStage(tag: string, app: { namespace: string; pv?: string }): { setUp(): Promise<void>; tearDown(opts?: { releaseNamespace?: boolean }): Promise<void> } {
  const hostGuard = hostGuardOutOfPath(tag);
  return {
    async setUp() {
      await hostGuard.unregister();
      await removeRelease();
      await freshNamespace(app.namespace);
      if (app.pv) await kubectl(['delete', 'pv', app.pv, '--ignore-not-found', '--timeout=60s'], { timeoutMs: 90_000 });
    },
    async tearDown(opts = {}) {
      await helm(['uninstall', RELEASE, '-n', VG_NS, '--wait'], { timeoutMs: 180_000 });
      if (opts.releaseNamespace) await deleteNamespaceAndWait(VG_NS).catch(() => undefined);
      await deleteNamespaceAndWait(app.namespace).catch(() => undefined);
      if (app.pv) await kubectl(['delete', 'pv', app.pv, '--ignore-not-found', '--wait=false']);
      await hostGuard.restore();
    },
  };
}

/** Names of the release's pods (terminating ones included). */
export async function podNames(): Promise<string[]> {
  const r = await must(kubectl(['get', 'pods', '-n', VG_NS, '-l', GUARD_SELECTOR, '-o', 'jsonpath={.items[*].metadata.name}']), 'pods');
  return r.stdout.split(' ').filter(Boolean);
}

/** Pod IPs of the release's pods. */
export async function podIps(): Promise<string[]> {
  return (await kubectl(['get', 'pods', '-n', VG_NS, '-l', GUARD_SELECTOR, '-o', 'jsonpath={.items[*].status.podIP}'])).stdout.split(' ').filter(Boolean);
}

/** GET `path` of a pod's ops port (8080: /metrics, /readyz) through the API server's pod proxy. */
export function podOps(pod: string, path: '/metrics' | '/readyz'): Promise<CommandResult> {
  return kubectl(['get', '--raw', `/api/v1/namespaces/${VG_NS}/pods/${pod}:8080/proxy${path}`]);
}

/** Sum of volume_guard_admission_requests_total{target} over the release's pods, scraped through the API server. */
export async function podAdmissions(target: string): Promise<number> {
  let total = 0;
  for (const pod of await podNames()) {
    const r = await podOps(pod, '/metrics');
    for (const line of r.stdout.split('\n')) {
      if (line.startsWith('volume_guard_admission_requests_total{') && line.includes(`target="${target}"`)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

/**
 * A server-side dry-run eviction of a pod (what `kubectl drain` sends, without evicting): 'allowed', 'denied' or
 * 'error: <stderr>' (with failurePolicy Fail, an error means no answer from the webhook).
 */
export async function evictDryRun(namespace: string, pod: string, opts: Pick<RunOptions, 'timeoutMs'> = {}): Promise<string> {
  const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace }, deleteOptions: { dryRun: ['All'] } };
  const file = await tempFile(`evict-${namespace}-${pod}-${process.pid}.json`, JSON.stringify(eviction));
  const r = await kubectl(['create', '--raw', `/api/v1/namespaces/${namespace}/pods/${pod}/eviction`, '-f', file], opts);
  return r.code === 0 ? 'allowed' : /denied the request/.test(r.stderr) ? 'denied' : `error: ${r.stderr.trim()}`;
}

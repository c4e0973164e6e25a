// `volume-guard audit` against the real API server, with the seed incidents laid out as they stood before each one:
// a detached single-replica volume (001), a replica on a reformatted disk (002), a local PV in use (003/004), and a
// Helm release whose StatefulSet claim outlives `helm uninstall` (000). The API server is shared with other test
// runs, so assertions look for this file's `audit-` objects and never assume they are the only ones.
// Parts run in-process (the model load, the upgrade objects, the progress line on a terminal, the metadata-only
// read of release Secrets) to look at what the CLI cannot show; the API server is the real one throughout.
import type http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { helm, kubectl, paths, run, type CommandResult } from '../harness/cluster.ts';
import {
  apply,
  createBoundLocalVolume,
  createLonghornNode,
  createLonghornVolume,
  createNode,
  createPod,
  createStatefulSetClaims,
  deleteObjects,
  ensureNamespace,
  eventually,
  LONGHORN_NS,
  must,
} from '../harness/scenario.ts';
import { AuditError } from '../../src/audit/errors.ts';
import { listUpgradeObjects, loadClusterModel, type LoadProgress } from '../../src/audit/load.ts';
import { machineOwnerAppliesTo } from '../../src/audit/overrides.ts';
import { risksOf } from '../../src/audit/risks.ts';
import { runAudit } from '../../src/audit/run.ts';
import type { AuditFinding, AuditReport } from '../../src/audit/types.ts';
import { HttpKubeClient, type KubeClient, type ListOptions, type ListPage, type WatchHandlers, type WatchOptions } from '../../src/cluster/kube-client.ts';
import { DEFAULT_UPGRADE_KINDS, type GuardedUpgradeKind } from '../../src/config.ts';
import { CHECK_IDS } from '../../src/checks/types.ts';
import { RESOURCE_KINDS } from '../../src/cluster/records.ts';

const NODE_BIN = join(paths.root, 'node_modules', '.bin', 'node');
const CLI = join(paths.root, 'src', 'cli.ts');

const NS = 'audit-app';
const HELM_NS = 'audit-helm';
const RELEASE = 'audit-devlake';
const CHART = join(paths.root, 'test', 'e2e', 'charts', 'devlake');
const RELEASE_PVC = `${RELEASE}-mysql-data-${RELEASE}-mysql-0`;
const LOCAL_NODE = 'audit-local';
const SAFE_NODE = 'audit-safe';
const LONGHORN_NODES = ['audit-lh-1', 'audit-lh-2', 'audit-lh-3'];
const VOLUMES = ['audit-vol-single', 'audit-vol-disk'];
/** A second release, upgraded once and uninstalled with --keep-history: its Secrets outlive it. */
const HISTORY_RELEASE = 'audit-history';
const HISTORY_PVC = `${HISTORY_RELEASE}-mysql-data-${HISTORY_RELEASE}-mysql-0`;
/** Upgrade objects, and the identity that may list all their kinds but MachineDeployments. */
const UPGRADES_NS = 'audit-upgrades';
const READER = 'audit-upgrade-reader';

function admin(): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(paths.kubeconfig);
  return kubeConfig;
}

/** The admin kubeconfig's cluster with another identity's bearer token. */
function kubeConfigWithToken(token: string): KubeConfig {
  const cluster = admin().getCurrentCluster();
  if (!cluster) throw new Error('admin kubeconfig has no cluster');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [cluster],
    users: [{ name: READER, token }],
    contexts: [{ name: READER, cluster: cluster.name, user: READER }],
    currentContext: READER,
  });
  return kubeConfig;
}

/** The real HTTP client, counting the lists and watches it has open (the informers must close them all). */
class CountingClient implements KubeClient {
  readonly #inner: KubeClient;
  opened = 0;
  open = 0;
  constructor(inner: KubeClient) {
    this.#inner = inner;
  }
  async list(path: string, options: ListOptions): Promise<ListPage> {
    this.opened++;
    this.open++;
    try {
      return await this.#inner.list(path, options);
    } finally {
      this.open--;
    }
  }
  async watch(path: string, options: WatchOptions, handlers: WatchHandlers): Promise<void> {
    this.opened++;
    this.open++;
    try {
      await this.#inner.watch(path, options, handlers);
    } finally {
      this.open--;
    }
  }
}

/** GET with the admin's credentials and the given Accept header; the parsed body. */
async function getJson(url: string, accept: string): Promise<unknown> {
  const options: https.RequestOptions = {};
  await admin().applyToHTTPSOptions(options);
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const request = https.request(url, { ...options, headers: { ...options.headers, Accept: accept } });
    request.on('response', resolve);
    request.on('error', reject);
    request.end();
  });
  let body = '';
  for await (const chunk of response) body += String(chunk);
  if (response.statusCode !== 200) throw new Error(`GET ${url}: HTTP ${response.statusCode}: ${body}`);
  return JSON.parse(body);
}

/** A stand-in for process.stdout/stderr: only the stream is fake, never the cluster. */
function captureStream(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const fake = { isTTY, columns: 200, write: (chunk: string) => ((text += chunk), true) };
  return { stream: fake as unknown as NodeJS.WriteStream, text: () => text };
}

function audit(args: readonly string[], kubeconfig = paths.kubeconfig): Promise<CommandResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('VOLUME_GUARD_') && key !== 'KUBECONFIG') env[key] = value;
  }
  return run(NODE_BIN, [CLI, 'audit', '--kubeconfig', kubeconfig, ...args], { env, timeoutMs: 90_000 });
}

async function auditJson(args: readonly string[]): Promise<{ result: CommandResult; report: AuditReport }> {
  const result = await audit([...args, '-o', 'json']);
  if (result.code === 2) throw new Error(`audit failed: ${result.stderr}`);
  return { result, report: JSON.parse(result.stdout) as AuditReport };
}

function findingOf(report: AuditReport, check: string, name: string): AuditFinding | undefined {
  return report.findings.find((finding) => finding.check === check && finding.object.name === name);
}

async function cleanUp(): Promise<void> {
  await helm(['uninstall', RELEASE, '-n', HELM_NS]);
  // A release uninstalled with --keep-history: uninstalling it again purges its history.
  await helm(['uninstall', HISTORY_RELEASE, '-n', HELM_NS]);
  await deleteObjects(
    ['pod', 'audit-db-0', '-n', NS, '--grace-period=0', '--force'],
    ['pvc', 'audit-data-db-0', '-n', NS],
    ['pv', 'audit-pv-db'],
    ['secret', '-l', `owner=helm,name=${HISTORY_RELEASE}`, '-n', HELM_NS],
    ['pvc', '--all', '-n', HELM_NS],
    ['pv', `pv-${HELM_NS}-${RELEASE_PVC}`.slice(0, 63), `pv-${HELM_NS}-${HISTORY_PVC}`.slice(0, 63)],
    ['upgrades.harvesterhci.io,plans.upgrade.cattle.io,kubeadmcontrolplanes.controlplane.cluster.x-k8s.io,machinedeployments.cluster.x-k8s.io', '--all', '-n', UPGRADES_NS],
    ['clusterrolebinding', READER],
    ['clusterrole', READER],
    ['serviceaccount', READER, '-n', UPGRADES_NS],
    ...VOLUMES.map((volume) => ['replicas.longhorn.io', '-l', `longhornvolume=${volume}`, '-n', LONGHORN_NS]),
    ['volumes.longhorn.io', ...VOLUMES, '-n', LONGHORN_NS],
    ['nodes.longhorn.io', ...LONGHORN_NODES, '-n', LONGHORN_NS],
    ['node', LOCAL_NODE, SAFE_NODE, ...LONGHORN_NODES],
  );
}

describe('volume-guard audit against the real API server', () => {
  beforeAll(async () => {
    await cleanUp();
    await ensureNamespace(NS);
    await ensureNamespace(HELM_NS);
    await ensureNamespace(LONGHORN_NS);
    for (const node of [LOCAL_NODE, SAFE_NODE, ...LONGHORN_NODES]) await createNode(node);
    // Seeds 003/004: a local PV in use on its node; an admin once accepted the risk on that node and left the override.
    await createBoundLocalVolume({ pv: 'audit-pv-db', node: LOCAL_NODE, namespace: NS, claim: 'audit-data-db-0' });
    await createPod({ name: 'audit-db-0', namespace: NS, node: LOCAL_NODE, claims: ['audit-data-db-0'] });
    await must(
      kubectl(['annotate', 'node', LOCAL_NODE, 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-reason=audit e2e: disk swap', 'volume-guard.io/skip-by=admin']),
      'annotate node',
    );
    // Seed 001: a detached single-replica volume. Seed 002: a replica whose disk was reformatted away.
    for (const node of LONGHORN_NODES) await createLonghornNode(node);
    await createLonghornVolume({ name: 'audit-vol-single', numberOfReplicas: 1, state: 'detached', replicas: [{ node: 'audit-lh-1' }] });
    await createLonghornVolume({
      name: 'audit-vol-disk',
      replicas: [{ node: 'audit-lh-2' }, { node: 'audit-lh-3', diskID: 'audit-disk-reformatted' }],
    });
  });
  afterAll(cleanUp);

  it('reports every seed risk cluster-wide and exits 1', async () => {
    const { result, report } = await auditJson([]);
    expect(result.code).toBe(1);
    expect(report.apiVersion).toBe('volume-guard.io/audit/v1');
    expect(report.cluster).toMatchObject({ server: admin().getCurrentCluster()?.server, context: admin().getCurrentContext(), longhornInstalled: true });
    expect(report.cluster.objects.node).toBeGreaterThanOrEqual(1 + 1 + LONGHORN_NODES.length);
    expect(report.scope).toMatchObject({ kind: 'cluster' });
    // Every check named in the summary, found or not, and the counts add up to the findings (one per operation a risk
    // blocks); summary.distinct's to the risks, each once.
    expect(Object.keys(report.summary.byCheck).sort()).toEqual([...CHECK_IDS].sort());
    expect(Object.values(report.summary.byCheck).reduce((sum, n) => sum + n, 0)).toBe(report.findings.length);
    expect(report.summary.critical).toBe(report.findings.filter((finding) => finding.severity === 'critical').length);
    expect(Object.keys(report.summary.distinct.byCheck).sort()).toEqual([...CHECK_IDS].sort());
    expect(Object.values(report.summary.distinct.byCheck).reduce((sum, n) => sum + n, 0)).toBe(risksOf(report.findings).length);

    const single = report.findings.find((finding) => finding.check === 'single-replica' && finding.object.name === 'audit-vol-single' && finding.operation === 'upgrade');
    expect(single).toMatchObject({ severity: 'critical', operation: 'upgrade', object: { kind: 'Volume', namespace: LONGHORN_NS, node: 'audit-lh-1' } });
    expect(single!.tags).toContain('detached');
    // It blocks the cordon of the node holding its copy too, as the webhook refuses it: listed there with that node's skip.
    expect(
      report.findings.find((finding) => finding.check === 'single-replica' && finding.object.name === 'audit-vol-single' && finding.operation !== 'upgrade'),
    ).toMatchObject({ operation: 'cordon/drain of node audit-lh-1', override: expect.stringContaining('kubectl annotate node audit-lh-1 volume-guard.io/skip=single-replica,last-replica-on-node ') });

    const disk = findingOf(report, 'volume-health', 'audit-vol-disk');
    expect(disk?.reason).toContain('uses disk audit-disk-reformatted, which no longer exists on that node');
    expect(disk?.object.node).toBe('audit-lh-3');

    expect(findingOf(report, 'last-replica-on-node', 'audit-vol-single')).toMatchObject({
      operation: 'cordon/drain of node audit-lh-1',
      object: { node: 'audit-lh-1' },
    });

    const local = findingOf(report, 'node-local-volume', 'audit-pv-db');
    expect(local).toMatchObject({
      object: { kind: 'PersistentVolume', node: LOCAL_NODE },
      overriddenBy: `annotation volume-guard.io/skip on Node ${LOCAL_NODE}`,
    });
    expect(local!.related).toContainEqual({ kind: 'Pod', namespace: NS, name: 'audit-db-0', node: LOCAL_NODE });
    expect(local!.related.map((object) => object.name)).toEqual(['audit-data-db-0', 'audit-db-0']);

    expect(report.overrides).toContainEqual(
      expect.objectContaining({
        object: { kind: 'Node', name: LOCAL_NODE },
        key: 'volume-guard.io/skip',
        value: 'node-local-volume',
        reason: 'audit e2e: disk swap',
        writer: 'admin',
      }),
    );
    // Every finding counted once in the summary, every risk once in summary.distinct.
    expect(report.summary.risks).toBe(report.findings.length);
    expect(report.summary.distinct.risks).toBe(risksOf(report.findings).length);
    expect(report.summary.distinct.risks).toBeLessThanOrEqual(report.summary.risks);
  });

  it('prints the grouped table by default', async () => {
    const result = await audit([]);
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n')[0]).toMatch(
      new RegExp(`^volume-guard audit of ${admin().getCurrentCluster()?.server} \\(context ${admin().getCurrentContext()}\\): the whole cluster \\(\\d+ nodes\\)$`),
    );
    expect(result.stdout).toMatch(/^\d+ risks? found \(\d+ critical, \d+ warning; \d+ accepted by a lingering override\): single-replica \d+, /m);
    expect(result.stdout).toMatch(
      /^single-replica: \d+ Longhorn volumes? ha(s a single copy of its|ve a single copy of their) data \(blocks: upgrade, cordon\/drain of (a node|\d+ nodes): each row says which\)$/m,
    );
    expect(result.stdout).toContain('Volume audit-vol-single');
    expect(result.stdout).toContain('Longhorn Volumes and Replicas below are in namespace longhorn-system.');
    expect(result.stdout).toContain('Lingering overrides:');
    expect(result.stdout).toContain(`Node ${LOCAL_NODE}: annotation volume-guard.io/skip=node-local-volume (reason: audit e2e: disk swap; by admin)`);
    expect(result.stderr).toBe('');
  });

  it('--node: a node holding nothing at risk exits 0', async () => {
    const result = await audit(['--node', SAFE_NODE]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`what a cordon or drain of node ${SAFE_NODE} would hit`);
    expect(result.stdout).toContain('No data-loss risk found.');
    expect(result.code).toBe(0);
  });

  it('--node: the node with the local PV in use, and the node with the last replica', async () => {
    const local = await auditJson(['--node', LOCAL_NODE]);
    expect(local.result.code).toBe(1);
    expect(local.report.scope).toEqual({ kind: 'node', node: LOCAL_NODE });
    expect(local.report.findings.map((f) => `${f.check} ${f.object.name}`)).toEqual(['node-local-volume audit-pv-db']);

    const replicaNode = await auditJson(['--node', 'audit-lh-1']);
    expect(replicaNode.result.code).toBe(1);
    expect(replicaNode.report.findings.map((f) => `${f.check} ${f.object.name}`)).toEqual([
      'single-replica audit-vol-single',
      'last-replica-on-node audit-vol-single',
    ]);
    expect(replicaNode.report.findings.every((f) => f.override.startsWith('kubectl annotate node audit-lh-1 '))).toBe(true);
  });

  it('--release: seed 000, before and after helm uninstall', async () => {
    await must(helm(['install', RELEASE, CHART, '-n', HELM_NS]), 'helm install');
    // The StatefulSet controller creates the claim; bind it to a PV (no provisioner here).
    await createStatefulSetClaims(HELM_NS, `${RELEASE}-mysql`);

    const installed = await auditJson(['--release', `${HELM_NS}/${RELEASE}`]);
    expect(installed.report.scope).toEqual({ kind: 'release', namespace: HELM_NS, name: RELEASE, installed: true, revision: 1, status: 'deployed' });
    expect(installed.report.findings).toHaveLength(1);
    expect(installed.report.findings[0]).toMatchObject({
      check: 'orphan-pvc',
      severity: 'warning',
      object: { kind: 'PersistentVolumeClaim', namespace: HELM_NS, name: RELEASE_PVC },
      operation: `re-install of Helm release ${HELM_NS}/${RELEASE}`,
    });
    expect(installed.report.findings[0]!.reason).toContain(`helm uninstall leaves this claim of StatefulSet ${RELEASE}-mysql behind`);
    expect(installed.result.code).toBe(1);

    await must(helm(['uninstall', RELEASE, '-n', HELM_NS]), 'helm uninstall');
    const uninstalled = await auditJson(['--release', `${HELM_NS}/${RELEASE}`]);
    expect(uninstalled.report.scope).toEqual({ kind: 'release', namespace: HELM_NS, name: RELEASE, installed: false });
    expect(uninstalled.report.findings.map((f) => `${f.severity} ${f.object.name}`)).toEqual([`critical ${RELEASE_PVC}`]);
    expect(uninstalled.result.code).toBe(1);

    const table = await audit(['--release', `${HELM_NS}/${RELEASE}`]);
    expect(table.stdout).toContain(`kubectl annotate pvc ${RELEASE_PVC} -n ${HELM_NS} volume-guard.io/reuse=true`);
  });

  it('exits 2 with one line naming the missing permission for a user without RBAC grants', async () => {
    const result = await audit([], paths.kubeconfigUser);
    expect(result.code).toBe(2);
    const lines = result.stderr.split('\n').filter((line) => line.startsWith('volume-guard:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^volume-guard: missing permission: \S+ is forbidden: User "alice" cannot (list|watch) resource "[a-z]+"/);
    expect(lines[0]).toMatch(/\(the audit needs (list and watch|watch) on [a-z0-9.-]+\)$/);
    expect(result.stdout).toBe('');
  });

  it('exits 2 for a node or a namespace the cluster does not have', async () => {
    const node = await audit(['--node', 'audit-no-such-node']);
    expect(node.code).toBe(2);
    expect(node.stderr.trim()).toBe('volume-guard: node "audit-no-such-node" not found in the cluster');
    expect(node.stdout).toBe('');
    const release = await audit(['--release', 'audit-no-such-namespace/x']);
    expect(release.code).toBe(2);
    expect(release.stderr.trim()).toBe('volume-guard: namespace "audit-no-such-namespace" not found in the cluster');
    expect(release.stdout).toBe('');
  });

  it('exits 2 for a context the kubeconfig does not have', async () => {
    const result = await audit(['--context', 'audit-no-such-context']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('volume-guard: kubeconfig: kubeconfig has no context "audit-no-such-context"');
  });

  it('--release: reads the revisions metadata-only, after helm upgrade and uninstall --keep-history', async () => {
    await must(helm(['install', HISTORY_RELEASE, CHART, '-n', HELM_NS]), 'helm install');
    await createStatefulSetClaims(HELM_NS, `${HISTORY_RELEASE}-mysql`);
    await must(helm(['upgrade', HISTORY_RELEASE, CHART, '-n', HELM_NS]), 'helm upgrade');
    await must(helm(['uninstall', HISTORY_RELEASE, '-n', HELM_NS, '--keep-history']), 'helm uninstall --keep-history');

    // Watch what goes over the wire to the real API server for the release Secrets (requests pass through).
    const secretCalls: { url: string; accept: string }[] = [];
    const request = https.request;
    const spy = vi.spyOn(https, 'request').mockImplementation(((...args: Parameters<typeof https.request>) => {
      const [url, options] = args;
      if (String(url).includes(`/namespaces/${HELM_NS}/secrets`)) {
        secretCalls.push({ url: String(url), accept: String((options.headers as Record<string, unknown> | undefined)?.['Accept']) });
      }
      return (request as (...rest: unknown[]) => http.ClientRequest).apply(https, args);
    }) as typeof https.request);
    const out = captureStream(false);
    let code: number;
    try {
      code = await runAudit({ kubeconfig: paths.kubeconfig, release: { namespace: HELM_NS, name: HISTORY_RELEASE }, output: 'json', timeout: 60 }, out.stream, captureStream(false).stream);
    } finally {
      spy.mockRestore();
    }
    expect(secretCalls).toHaveLength(1);
    const call = secretCalls[0]!;
    expect(call.accept).toBe('application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1');
    expect(new URL(call.url).searchParams.get('labelSelector')).toBe(`owner=helm,name=${HISTORY_RELEASE}`);
    // The same request, replayed: the real server answers it with metadata only (the release payload stays there).
    const answer = (await getJson(call.url, call.accept)) as { kind: string; items: { metadata: { name: string; labels: Record<string, string> } }[] };
    expect(answer.kind).toBe('PartialObjectMetadataList');
    expect(answer.items.map((item) => `${item.metadata.name} ${item.metadata.labels['status']}`).sort()).toEqual([
      `sh.helm.release.v1.${HISTORY_RELEASE}.v1 superseded`,
      `sh.helm.release.v1.${HISTORY_RELEASE}.v2 uninstalled`,
    ]);
    expect(answer.items.every((item) => !('data' in item))).toBe(true);

    const report = JSON.parse(out.text()) as AuditReport;
    expect(report.scope).toEqual({ kind: 'release', namespace: HELM_NS, name: HISTORY_RELEASE, installed: false, revision: 2, status: 'uninstalled' });
    expect(report.findings.map((f) => `${f.check} ${f.severity} ${f.object.name}`)).toEqual([`orphan-pvc critical ${HISTORY_PVC}`]);
    expect(code).toBe(1);
  });

  it('the whole cluster: the leftovers of releases not installed, as --release reports them (seed 000)', async () => {
    const { result, report } = await auditJson([]);
    expect(result.code).toBe(1);
    const mine = report.findings.filter((f) => f.check === 'orphan-pvc' && f.object.namespace === HELM_NS);
    // Uninstalled with --keep-history, or without (no record is left): its re-install is refused either way.
    expect(mine.map((f) => `${f.severity} ${f.object.name}: ${f.operation}`).sort()).toEqual(
      [`critical ${HISTORY_PVC}: re-install of Helm release ${HELM_NS}/${HISTORY_RELEASE}`, `critical ${RELEASE_PVC}: re-install of Helm release ${HELM_NS}/${RELEASE}`].sort(),
    );
    expect(mine.find((f) => f.object.name === RELEASE_PVC)?.tags).toContain('no-release-record');
    expect(report.notes.some((note) => note.includes('orphan-pvc is checked per Helm release'))).toBe(false);
  });

  describe('loading the audit inputs in-process, against the real API server', () => {
    it('loadClusterModel fills the model from one list of every resource, reports progress, and stops the informers', async () => {
      const kubeConfig = admin();
      const client = new CountingClient(new HttpKubeClient(kubeConfig));
      const progress: LoadProgress[] = [];
      const model = await loadClusterModel({ kubeConfig, longhornNamespace: LONGHORN_NS, timeoutMs: 60_000, client, onProgress: (p) => progress.push(p) });
      expect(model.node(LOCAL_NODE)?.name).toBe(LOCAL_NODE);
      expect(model.persistentVolumesPinnedTo(LOCAL_NODE).map((pv) => pv.name)).toEqual(['audit-pv-db']);
      expect(model.podsUsingClaim(NS, 'audit-data-db-0').map((pod) => pod.name)).toEqual(['audit-db-0']);
      expect(model.replicasOfVolume('audit-vol-disk').map((replica) => replica.nodeID).sort()).toEqual(['audit-lh-2', 'audit-lh-3']);
      expect(model.longhornInstalled).toBe(true);
      const kinds = RESOURCE_KINDS.length;
      expect(progress.at(-1)).toEqual({ synced: kinds, total: kinds, pending: [] });
      // Every resource was listed, and nothing is left open once the model is handed over.
      expect(client.opened).toBeGreaterThanOrEqual(kinds);
      expect(client.open).toBe(0);
    });

    it('loadClusterModel fails at once, naming resource and verb, when RBAC refuses (alice has no grants)', async () => {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(paths.kubeconfigUser);
      const client = new CountingClient(new HttpKubeClient(kubeConfig));
      // A timeout far beyond the test's own: only the immediate failure can settle it in time.
      const loading = loadClusterModel({ kubeConfig, longhornNamespace: LONGHORN_NS, timeoutMs: 600_000, client });
      await expect(loading).rejects.toThrow(AuditError);
      await expect(loading).rejects.toThrow(
        /^missing permission: ([a-z0-9.-]+) is forbidden: User "alice" cannot list resource "([a-z]+)" in API group "[a-z0-9.-]*" (at the cluster scope|in the namespace "longhorn-system") \(the audit needs list and watch on \1\)$/,
      );
      expect(client.open).toBe(0);
    });

    it('runAudit rewrites one progress line on a terminal stderr and clears it before the report', async () => {
      const out = captureStream(false);
      const err = captureStream(true);
      const code = await runAudit({ kubeconfig: paths.kubeconfig, output: 'table', timeout: 60 }, out.stream, err.stream);
      expect(code).toBe(1);
      const updates = err.text().split('\r\x1b[2K').filter((line) => line !== '');
      expect(updates.length).toBeGreaterThan(0);
      const kinds = RESOURCE_KINDS.length;
      for (const line of updates) expect(line).toMatch(new RegExp(`^volume-guard: loading the cluster model: \\d+/${kinds} resources synced( \\(waiting for .+\\))?$`));
      expect(updates.at(-1)).toBe(`volume-guard: loading the cluster model: ${kinds}/${kinds} resources synced`);
      // Cleared last: the report starts on a clean line.
      expect(err.text().endsWith('\r\x1b[2K')).toBe(true);
      expect(out.text()).toMatch(/^volume-guard audit of /);
      expect(out.text()).toContain('Volume audit-vol-single');
    });

    describe('listUpgradeObjects', () => {
      /** Not served by this API server: listing it answers 404. */
      const ABSENT: GuardedUpgradeKind = { group: 'audit.volume-guard.invalid', version: 'v1', resource: 'things', kind: 'Thing', operations: ['CREATE'] };
      let token: string;

      beforeAll(async () => {
        await ensureNamespace(UPGRADES_NS);
        const readable = DEFAULT_UPGRADE_KINDS.filter((kind) => kind.resource !== 'machinedeployments');
        await apply(
          { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: READER, namespace: UPGRADES_NS } },
          {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'ClusterRole',
            metadata: { name: READER },
            rules: [...readable, ABSENT].map((kind) => ({ apiGroups: [kind.group], resources: [kind.resource], verbs: ['list'] })),
          },
          {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'ClusterRoleBinding',
            metadata: { name: READER },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: READER },
            subjects: [{ kind: 'ServiceAccount', name: READER, namespace: UPGRADES_NS }],
          },
        );
        // Objects of guarded kinds are created through volume-guard's webhook: the ones it reviews on CREATE carry `*`.
        await apply(
          {
            apiVersion: 'harvesterhci.io/v1beta1',
            kind: 'Upgrade',
            metadata: {
              name: 'audit-hvst-1',
              namespace: UPGRADES_NS,
              annotations: {
                'harvesterhci.io/skipSingleReplicaDetachedVol': 'true',
                'volume-guard.io/skip': '*',
                'volume-guard.io/skip-reason': 'audit e2e: upgrade window',
                'volume-guard.io/skip-by': 'admin',
              },
            },
            spec: { version: 'v1.5.0', logEnabled: false },
          },
          {
            apiVersion: 'upgrade.cattle.io/v1',
            kind: 'Plan',
            metadata: { name: 'audit-plan', namespace: UPGRADES_NS, annotations: { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin' }, labels: { app: 'k3s', 'volume-guard.io/skip': 'single-replica' } },
            spec: { version: 'v1.33.1+k3s1', concurrency: 1 },
          },
          {
            apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1',
            kind: 'KubeadmControlPlane',
            metadata: { name: 'audit-kcp-1', namespace: UPGRADES_NS, annotations: { 'volume-guard.io/skip-by': 'admin' }, labels: { 'volume-guard.io/skip': 'volume-health' } },
            spec: { version: 'v1.33.1', replicas: 3 },
          },
          {
            apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1',
            kind: 'KubeadmControlPlane',
            metadata: { name: 'audit-kcp-plain', namespace: UPGRADES_NS, annotations: { other: 'x' }, labels: { app: 'cp' } },
            spec: { version: 'v1.33.1', replicas: 3 },
          },
          {
            apiVersion: 'cluster.x-k8s.io/v1beta1',
            kind: 'MachineDeployment',
            metadata: { name: 'audit-md-1', namespace: UPGRADES_NS, annotations: { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin' } },
            spec: { clusterName: 'audit', replicas: 1 },
          },
        );
        token = (await must(kubectl(['create', 'token', READER, '-n', UPGRADES_NS, '--duration=1h']), 'create token')).stdout.trim();
        const who = `system:serviceaccount:${UPGRADES_NS}:${READER}`;
        // RBAC reaches the authorizer's cache a moment after the write.
        const granted = await eventually(
          () => kubectl(['auth', 'can-i', 'list', 'plans.upgrade.cattle.io', '--as', who]),
          (result) => result.stdout.trim() === 'yes',
        );
        expect(granted.stdout.trim()).toBe('yes');
      });

      it('keeps only objects carrying overrides, skips absent kinds, and notes unreadable ones', async () => {
        const client = new HttpKubeClient(kubeConfigWithToken(token));
        const { carriers, notes } = await listUpgradeObjects(client, [...DEFAULT_UPGRADE_KINDS, ABSENT], 30_000);
        expect(carriers.filter((carrier) => carrier.namespace === UPGRADES_NS)).toEqual([
          {
            kind: 'Upgrade',
            namespace: UPGRADES_NS,
            name: 'audit-hvst-1',
            // kubectl's last-applied-configuration annotation is dropped: not an override.
            annotations: {
              'harvesterhci.io/skipSingleReplicaDetachedVol': 'true',
              'volume-guard.io/skip': '*',
              'volume-guard.io/skip-reason': 'audit e2e: upgrade window',
              'volume-guard.io/skip-by': 'admin',
            },
            labels: {},
            // Its skip also carries to the cordons and drains of the nodes it upgrades (longhorn-drain.ts).
            appliesTo: 'the creation of this Upgrade, and the cordons and drains of its nodes while it upgrades them',
            harvesterUpgrade: true,
          },
          {
            kind: 'Plan',
            namespace: UPGRADES_NS,
            name: 'audit-plan',
            annotations: { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin' },
            labels: { 'volume-guard.io/skip': 'single-replica' },
            appliesTo: 'every change of this Plan that starts a rollout',
            harvesterUpgrade: false,
          },
          {
            kind: 'KubeadmControlPlane',
            namespace: UPGRADES_NS,
            name: 'audit-kcp-1',
            annotations: { 'volume-guard.io/skip-by': 'admin' },
            labels: { 'volume-guard.io/skip': 'volume-health' },
            // Read at its rollouts and scale-downs, then, as stored, at the steps that carry them out.
            appliesTo: machineOwnerAppliesTo('KubeadmControlPlane', true),
            harvesterUpgrade: false,
          },
        ]);
        // The absent kind is skipped without a note; the one RBAC refuses is named with the server's own words.
        expect(notes).toEqual([
          'machinedeployments.cluster.x-k8s.io not checked for lingering overrides: machinedeployments.cluster.x-k8s.io is forbidden: ' +
            `User "system:serviceaccount:${UPGRADES_NS}:${READER}" cannot list resource "machinedeployments" in API group "cluster.x-k8s.io" at the cluster scope`,
        ]);
      });
    });
  });
});

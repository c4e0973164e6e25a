// `volume-guard audit` against the real API server, for issue 16: -o policyreport applied with real kubectl and
// validated by the API server against the wgpolicyk8s.io/v1alpha2 CRD schema (server-side, strict field
// validation); the configured check modes (off not reported, warn not failing without --strict); an
// authentication error ending the audit at once; and the CLI run by the real kubectl as its plugin.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { bin, helm, kubectl, paths, run, type CommandResult } from '../harness/cluster.ts';
import { createBoundLocalVolume, createLonghornNode, createLonghornVolume, createNode, createPod, deleteObjects, ensureNamespace, LONGHORN_NS, must } from '../harness/scenario.ts';
import type { AuditReport } from '../../src/audit/types.ts';

const NODE_BIN = join(paths.root, 'node_modules', '.bin', 'node');
const CLI = join(paths.root, 'src', 'cli.ts');
const CRDS = join(paths.root, 'test', 'e2e', 'crds', 'wgpolicyk8s.io_v1alpha2_policyreports.yaml');

const NS = 'obs-audit';
const LOCAL_NODE = 'obs-local';
const LH_NODE = 'obs-lh-1';
const VOLUME = 'obs-vol-single';
/** The claim the volume's status names (the PolicyReport goes to its namespace); no PVC object is needed for that. */
const VOLUME_CLAIM = 'obs-lh-data';

let dir: string;

function audit(args: readonly string[], env: Record<string, string> = {}): Promise<CommandResult> {
  return run(NODE_BIN, [CLI, 'audit', '--kubeconfig', paths.kubeconfig, ...args], { env: { ...process.env, ...env } });
}

function configFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vg-obs-audit-'));
  await must(kubectl(['apply', '--server-side', '--force-conflicts', '-f', CRDS]), 'PolicyReport CRDs');
  await must(kubectl(['wait', '--for=condition=Established', 'crd/policyreports.wgpolicyk8s.io', 'crd/clusterpolicyreports.wgpolicyk8s.io', '--timeout=60s']), 'CRDs established');
  await ensureNamespace(NS);
  await ensureNamespace(LONGHORN_NS);
  await createNode(LOCAL_NODE);
  await createBoundLocalVolume({ pv: 'obs-pv-local', node: LOCAL_NODE, namespace: NS, claim: 'obs-data' });
  await createPod({ name: 'obs-db-0', namespace: NS, node: LOCAL_NODE, claims: ['obs-data'] });
  await createNode(LH_NODE);
  await createLonghornNode(LH_NODE);
  await createLonghornVolume({ name: VOLUME, numberOfReplicas: 1, state: 'detached', replicas: [{ node: LH_NODE }], claim: { namespace: NS, name: VOLUME_CLAIM } });
}, 120_000);

afterAll(async () => {
  await deleteObjects(['policyreport', '--all', '-n', NS], ['policyreport', '--all', '-n', LONGHORN_NS], ['clusterpolicyreport', 'volume-guard', 'volume-guard-node-obs-local']);
  await deleteObjects(['pod', 'obs-db-0', '-n', NS, '--force', '--grace-period=0'], ['pvc', 'obs-data', '-n', NS], ['pv', 'obs-pv-local']);
  await deleteObjects(['volumes.longhorn.io', VOLUME, '-n', LONGHORN_NS], ['replicas.longhorn.io', `${VOLUME}-r-0`, '-n', LONGHORN_NS], ['nodes.longhorn.io', LH_NODE, '-n', LONGHORN_NS]);
  await deleteObjects(['node', LOCAL_NODE], ['node', LH_NODE]);
  rmSync(dir, { recursive: true, force: true });
});

describe('audit -o policyreport on the real API server', { timeout: 120_000 }, () => {
  it('prints reports the API server accepts under the CRD schema, one result per risk with the check as rule', async () => {
    const json = await audit(['-o', 'json']);
    expect(json.code, json.stderr).toBe(1);
    const report = JSON.parse(json.stdout) as AuditReport;
    const mine = report.findings.filter((f) => f.object.name === 'obs-pv-local' || f.object.name === VOLUME);
    // The volume's only replica is also the last healthy one on its node; single-replica blocks the upgrade and the
    // cordon of that node (a finding each).
    expect(mine.map((f) => f.check).sort()).toEqual(['last-replica-on-node', 'node-local-volume', 'single-replica', 'single-replica']);

    const result = await audit(['-o', 'policyreport']);
    expect(result.code, result.stderr).toBe(1);
    const documents = parseAllDocuments(result.stdout).map((document) => document.toJS() as { kind: string; metadata: { name: string; namespace?: string }; results: { rule: string; resources: { name: string }[] }[] });
    // One result per risk, however many operations it blocks.
    expect(documents.reduce((sum, document) => sum + document.results.length, 0)).toBe(report.summary.distinct.risks);

    // Server-side apply with strict field validation: the API server checks every field against the CRD schema.
    const file = configFile('reports.yaml', result.stdout);
    const applied = await kubectl(['apply', '--server-side', '--field-manager=volume-guard-audit', '--validate=strict', '-f', file]);
    expect(applied.code, applied.stderr).toBe(0);
    const stored = await must(kubectl(['get', 'clusterpolicyreport', 'volume-guard', '-o', 'json']), 'get clusterpolicyreport');
    const cluster = JSON.parse(stored.stdout) as { results: { rule: string; result: string; severity: string; resources: { kind: string; name: string; apiVersion: string }[]; timestamp: { seconds: number } }[]; summary: { fail: number } };
    const local = cluster.results.find((r) => r.resources[0]?.name === 'obs-pv-local');
    expect(local).toMatchObject({ rule: 'node-local-volume', result: 'fail', severity: 'critical', resources: [{ kind: 'PersistentVolume', apiVersion: 'v1', name: 'obs-pv-local' }] });
    expect(local?.timestamp.seconds).toBeGreaterThan(1_700_000_000);
    expect(cluster.summary.fail).toBe(cluster.results.filter((r) => r.result === 'fail').length);
    // A Longhorn volume's findings go to its claim's namespace, naming the claim; Longhorn's namespace gets none.
    expect(documents.some((document) => document.metadata.namespace === LONGHORN_NS)).toBe(false);
    const owner = await must(kubectl(['get', 'policyreport', 'volume-guard', '-n', NS, '-o', 'json']), 'get policyreport');
    const results = (JSON.parse(owner.stdout) as { results: { rule: string; resources: { kind: string; name: string; apiVersion: string }[]; properties: Record<string, string> }[] }).results;
    const volume = results.find((r) => r.rule === 'single-replica' && r.resources[0]?.name === VOLUME_CLAIM);
    expect(volume).toMatchObject({ resources: [{ apiVersion: 'v1', kind: 'PersistentVolumeClaim' }], properties: { volume: `Volume ${LONGHORN_NS}/${VOLUME}` } });
  });

  it('the schema is enforced: a result outside the enum or an unknown field is refused by the API server', async () => {
    const bad = configFile('bad.yaml', JSON.stringify({ apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport', metadata: { name: 'obs-bad', namespace: NS }, results: [{ policy: 'volume-guard', result: 'maybe' }] }));
    const refused = await kubectl(['apply', '--server-side', '--validate=strict', '-f', bad]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/Unsupported value: "maybe"/);
    const unknown = configFile('unknown.yaml', JSON.stringify({ apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport', metadata: { name: 'obs-bad', namespace: NS }, results: [{ policy: 'volume-guard', checkId: 'x' }] }));
    const strict = await kubectl(['apply', '--server-side', '--validate=strict', '-f', unknown]);
    expect(strict.code).not.toBe(0);
    expect(strict.stderr).toMatch(/checkId: field not declared in schema|unknown field "checkId"/);
  });

  it("a namespace's report follows its risks both ways: applied again after the fix, it holds no result", async () => {
    const GONE_NS = 'obs-audit-gone';
    const GONE_VOLUME = 'obs-vol-gone';
    const get = async () => JSON.parse((await must(kubectl(['get', 'policyreport', 'volume-guard', '-n', GONE_NS, '-o', 'json']), 'get policyreport')).stdout) as { results?: { rule: string; result: string }[]; summary: Record<string, number> };
    const auditAndApply = async (name: string) => {
      const result = await audit(['-o', 'policyreport']);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).not.toContain('not listed');
      const applied = await kubectl(['apply', '--server-side', '--field-manager=volume-guard-audit', '--validate=strict', '-f', configFile(name, result.stdout)]);
      expect(applied.code, applied.stderr).toBe(0);
    };
    await ensureNamespace(GONE_NS);
    await createLonghornVolume({ name: GONE_VOLUME, numberOfReplicas: 1, state: 'detached', replicas: [{ node: LH_NODE }], claim: { namespace: GONE_NS, name: 'obs-gone-data' } });
    try {
      await auditAndApply('before-fix.yaml');
      const before = await get();
      expect(before.results?.filter((r) => r.result === 'fail').map((r) => r.rule)).toEqual(expect.arrayContaining(['single-replica']));
      expect(before.summary['fail']).toBeGreaterThan(0);

      // The risk is gone: the volume (and its only replica) removed.
      await deleteObjects(['volumes.longhorn.io', GONE_VOLUME, '-n', LONGHORN_NS], ['replicas.longhorn.io', `${GONE_VOLUME}-r-0`, '-n', LONGHORN_NS]);
      await auditAndApply('after-fix.yaml');
      const after = await get();
      expect(after.results ?? []).toEqual([]);
      expect(after.summary).toEqual({ pass: 0, fail: 0, warn: 0, error: 0, skip: 0 });
      // Another namespace's report, whose risk stays, is untouched.
      const owner = await must(kubectl(['get', 'policyreport', 'volume-guard', '-n', NS, '-o', 'jsonpath={.summary.fail}']), 'owner report');
      expect(Number(owner.stdout)).toBeGreaterThan(0);
    } finally {
      await deleteObjects(['volumes.longhorn.io', GONE_VOLUME, '-n', LONGHORN_NS], ['replicas.longhorn.io', `${GONE_VOLUME}-r-0`, '-n', LONGHORN_NS], ['policyreport', '--all', '-n', GONE_NS]);
    }
  });

  it('a node audit gives reports named after the node', async () => {
    const result = await audit(['--node', LOCAL_NODE, '-o', 'policyreport']);
    expect(result.code, result.stderr).toBe(1);
    const applied = await kubectl(['apply', '--server-side', '--validate=strict', '-f', configFile('node.yaml', result.stdout)]);
    expect(applied.code, applied.stderr).toBe(0);
    const got = await must(kubectl(['get', 'clusterpolicyreport', `volume-guard-node-${LOCAL_NODE}`, '-o', 'jsonpath={.results[*].rule}']), 'node report');
    expect(got.stdout.split(' ')).toEqual(['node-local-volume']);
  });
});

describe('audit applies the configured check modes', { timeout: 120_000 }, () => {
  it('does not report a check that is off', async () => {
    const config = configFile('off.yaml', 'checks:\n  node-local-volume: { mode: "off" }\n');
    const result = await audit(['--node', LOCAL_NODE, '-o', 'json', '-c', config]);
    const report = JSON.parse(result.stdout) as AuditReport;
    expect(report.findings).toEqual([]);
    expect(report.notes).toContain('not reported, mode off in the configuration: node-local-volume');
    expect(result.code).toBe(0);
  });

  it('reports warn-mode findings without failing, unless --strict', async () => {
    const config = configFile('warn.yaml', 'checks:\n  node-local-volume: { mode: warn }\n');
    const relaxed = await audit(['--node', LOCAL_NODE, '-o', 'json', '-c', config]);
    const report = JSON.parse(relaxed.stdout) as AuditReport;
    expect(report.findings.map((f) => [f.check, f.mode])).toEqual([['node-local-volume', 'warn']]);
    expect(relaxed.code).toBe(0);
    const strict = await audit(['--node', LOCAL_NODE, '-o', 'json', '-c', config, '--strict']);
    expect(strict.code).toBe(1);
    // The environment variable works the same (VOLUME_GUARD_* like the webhook's).
    const env = await audit(['--node', LOCAL_NODE, '-o', 'table'], { VOLUME_GUARD_CHECKS_NODE_LOCAL_VOLUME_MODE: 'warn' });
    expect(env.code).toBe(0);
    expect(env.stdout).toContain('check in warn mode');
  });
});

describe('audit lists release-label overrides', { timeout: 180_000 }, () => {
  const RELEASE = 'obs-labelled';
  const HELM_NS = 'obs-audit-helm';

  afterAll(async () => {
    await helm(['uninstall', RELEASE, '-n', HELM_NS, '--wait=false']);
  });

  it('from the latest revision of a release installed with --labels volume-guard.io/skip, metadata only', async () => {
    await ensureNamespace(HELM_NS);
    const chart = join(paths.root, 'test', 'e2e', 'charts', 'devlake');
    await must(helm(['install', RELEASE, chart, '-n', HELM_NS, '--labels', 'volume-guard.io/skip=orphan-pvc']), 'helm install --labels');
    // An upgrade without --labels: Helm carries the label over to the new revision.
    await must(helm(['upgrade', RELEASE, chart, '-n', HELM_NS, '--set', 'mysql.replicas=1']), 'helm upgrade');
    const whole = JSON.parse((await audit(['-o', 'json'])).stdout) as AuditReport;
    const scoped = JSON.parse((await audit(['--release', `${HELM_NS}/${RELEASE}`, '-o', 'json'])).stdout) as AuditReport;
    for (const report of [whole, scoped]) {
      // Helm copied the label into revision 2, where it is honored for nothing (no skip-revision): lingering.
      const found = report.overrides.filter((o) => o.field === 'label' && o.object.name.startsWith(`sh.helm.release.v1.${RELEASE}.`));
      expect(found).toEqual([
        expect.objectContaining({
          object: { kind: 'Secret', namespace: HELM_NS, name: `sh.helm.release.v1.${RELEASE}.v2` },
          field: 'label',
          key: 'volume-guard.io/skip',
          value: 'orphan-pvc',
          checks: [],
        }),
      ]);
      expect(found[0]?.effect).toMatch(/lingering: Helm copies it into later revisions, where it is not honored/);
      expect(found[0]?.appliesTo).toMatch(/skip-revision/);
    }
  });
});

describe('audit fails fast on an authentication error', { timeout: 60_000 }, () => {
  it('exits 2 in well under 5 s with one line naming the server and what to check', async () => {
    const got = await must(kubectl(['config', 'view', '--raw', '--minify', '-o', 'json']), 'kubeconfig');
    const config = JSON.parse(got.stdout) as { clusters: { name: string; cluster: Record<string, unknown> }[] };
    const server = String(config.clusters[0]?.cluster['server']);
    const file = configFile(
      'bad-token.json',
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: config.clusters,
        users: [{ name: 'nobody', user: { token: 'not-a-valid-token' } }],
        contexts: [{ name: 'bad', context: { cluster: config.clusters[0]?.name, user: 'nobody' } }],
        'current-context': 'bad',
      }),
    );
    const started = Date.now();
    const result = await run(NODE_BIN, [CLI, 'audit', '--kubeconfig', file, '--timeout', '60']);
    const elapsed = Date.now() - started;
    expect(result.code).toBe(2);
    const lines = result.stderr.split('\n').filter((line) => line.startsWith('volume-guard:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`unauthorized: ${server} (context bad) rejected the credentials`);
    expect(lines[0]).toContain("check the kubeconfig user's token or client certificate");
    // Node start-up included; on this shared machine start-up alone can take 2-3 s.
    expect(elapsed).toBeLessThan(15_000);
  });
});

describe('kubectl plugin: kubectl volume-guard', { timeout: 120_000 }, () => {
  let pluginDir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    // Installed as npm would from package.json "bin": a link named kubectl-volume_guard to the CLI. The project's
    // Node comes first on PATH for the CLI's `#!/usr/bin/env node`.
    pluginDir = join(dir, 'plugins');
    mkdirSync(pluginDir);
    const launcher = join(paths.root, 'bin', 'volume-guard.cjs');
    chmodSync(launcher, 0o755);
    symlinkSync(launcher, join(pluginDir, 'kubectl-volume_guard'));
    env = { ...process.env, PATH: `${pluginDir}:${join(paths.root, 'node_modules', '.bin')}:${process.env['PATH'] ?? ''}`, KUBECONFIG: paths.kubeconfig };
  });

  it('is discovered by the real kubectl on PATH', async () => {
    const list = await run(bin.kubectl, ['plugin', 'list'], { env });
    expect(list.stdout).toContain(join(pluginDir, 'kubectl-volume_guard'));
    expect(list.stderr).not.toMatch(/warning: .*kubectl-volume_guard/);
  });

  it('runs the audit as `kubectl volume-guard audit`, with kubectl\'s KUBECONFIG', async () => {
    const result = await run(bin.kubectl, ['volume-guard', 'audit', '--node', LOCAL_NODE, '-o', 'json'], { env });
    expect(result.code, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as AuditReport;
    expect(report.scope).toEqual({ kind: 'node', node: LOCAL_NODE });
    expect(report.findings.map((f) => f.object.name)).toEqual(['obs-pv-local']);
    const help = await run(bin.kubectl, ['volume-guard', 'audit', '--help'], { env });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: kubectl volume-guard audit [options]');
  });
});

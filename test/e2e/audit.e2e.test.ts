// `volume-guard audit` against the real API server, with the seed incidents laid out as they stood before each one:
// a detached single-replica volume (001), a replica on a reformatted disk (002), a local PV in use (003/004), and a
// Helm release whose StatefulSet claim outlives `helm uninstall` (000). The API server is shared with other test
// runs, so assertions look for this file's `audit-` objects and never assume they are the only ones.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helm, kubectl, paths, run, type CommandResult } from '../harness/cluster.ts';
import {
  createBoundLocalVolume,
  createLonghornNode,
  createLonghornVolume,
  createNode,
  createPod,
  createStatefulSetClaims,
  deleteObjects,
  ensureNamespace,
  LONGHORN_NS,
  must,
} from '../support/scenario.ts';
import type { AuditFinding, AuditReport } from '../../src/audit/types.ts';

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
  await deleteObjects(
    ['pod', 'audit-db-0', '-n', NS, '--grace-period=0', '--force'],
    ['pvc', 'audit-data-db-0', '-n', NS],
    ['pv', 'audit-pv-db'],
    ['pvc', '--all', '-n', HELM_NS],
    ['pv', `pv-${HELM_NS}-${RELEASE_PVC}`.slice(0, 63)],
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
      kubectl(['annotate', 'node', LOCAL_NODE, 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-reason=audit e2e: disk swap']),
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
    expect(report.cluster.longhornInstalled).toBe(true);

    const single = findingOf(report, 'single-replica', 'audit-vol-single');
    expect(single).toMatchObject({ severity: 'critical', operation: 'upgrade', object: { kind: 'Volume', namespace: LONGHORN_NS, node: 'audit-lh-1' } });
    expect(single!.tags).toContain('detached');

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

    expect(report.overrides).toContainEqual(
      expect.objectContaining({
        object: { kind: 'Node', name: LOCAL_NODE },
        key: 'volume-guard.io/skip',
        value: 'node-local-volume',
        reason: 'audit e2e: disk swap',
      }),
    );
    // Every finding counted once in the summary.
    expect(report.summary.risks).toBe(report.findings.length);
  });

  it('prints the grouped table by default', async () => {
    const result = await audit([]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^single-replica: \d+ Longhorn volumes? ha(s|ve) a single replica \(blocks: upgrade\)$/m);
    expect(result.stdout).toContain('Volume longhorn-system/audit-vol-single');
    expect(result.stdout).toContain('Lingering overrides:');
    expect(result.stdout).toContain(`Node ${LOCAL_NODE}: annotation volume-guard.io/skip=node-local-volume (reason: audit e2e: disk swap)`);
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
    // No StatefulSet controller here: create the claim it would.
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
    expect(lines[0]).toMatch(/\(the audit needs (list and watch|watch) on [a-z.]+\)$/);
    expect(result.stdout).toBe('');
  });

  it('exits 2 for a context the kubeconfig does not have', async () => {
    const result = await audit(['--context', 'audit-no-such-context']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('volume-guard: kubeconfig: kubeconfig has no context "audit-no-such-context"');
  });
});

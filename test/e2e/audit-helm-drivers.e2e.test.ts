// `volume-guard audit` reads Helm release records of both drivers, as the webhook judges both: a release kept in
// ConfigMaps (HELM_DRIVER=configmap) is installed, not "not installed", and a skip label removed by a later
// revision is no longer listed as lingering. Real API server, real helm.
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helm, paths, run, type CommandResult } from '../harness/cluster.ts';
import { createStatefulSetClaims, deleteObjects, ensureNamespace, must } from '../harness/scenario.ts';
import { listReleaseLabelOverrides } from '../../src/audit/load.ts';
import type { AuditReport } from '../../src/audit/types.ts';

const NODE_BIN = join(paths.root, 'node_modules', '.bin', 'node');
const CLI = join(paths.root, 'src', 'cli.ts');
const CHART = join(paths.root, 'test', 'e2e', 'charts', 'devlake');
const NS = 'audit-helm-cm';
const RELEASE = 'cmdb';
const PVC = `${RELEASE}-mysql-data-${RELEASE}-mysql-0`;
const env = { ...process.env, HELM_DRIVER: 'configmap' };

function audit(args: readonly string[]): Promise<CommandResult> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('VOLUME_GUARD_') && key !== 'KUBECONFIG') clean[key] = value;
  }
  return run(NODE_BIN, [CLI, 'audit', '--kubeconfig', paths.kubeconfig, ...args, '-o', 'json'], { env: clean, timeoutMs: 90_000 });
}

async function auditRelease(): Promise<{ result: CommandResult; report: AuditReport }> {
  const result = await audit(['--release', `${NS}/${RELEASE}`]);
  if (result.code === 2) throw new Error(`audit failed: ${result.stderr}`);
  return { result, report: JSON.parse(result.stdout) as AuditReport };
}

describe('audit --release with HELM_DRIVER=configmap', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
  });
  afterAll(async () => {
    await helm(['uninstall', RELEASE, '-n', NS], { env });
    await deleteObjects(['pvc', '--all', '-n', NS]);
  });

  it('sees the release installed from its ConfigMap records, then uninstalled, as the webhook does', async () => {
    await must(helm(['install', RELEASE, CHART, '-n', NS, '--labels', 'volume-guard.io/skip=orphan-pvc'], { env }), 'helm install');
    await createStatefulSetClaims(NS, `${RELEASE}-mysql`);

    const installed = await auditRelease();
    expect(installed.report.scope).toEqual({ kind: 'release', namespace: NS, name: RELEASE, installed: true, revision: 1, status: 'deployed' });
    expect(installed.report.findings.map((f) => `${f.severity} ${f.object.name}`)).toEqual([`warning ${PVC}`]);
    expect(installed.report.findings[0]!.reason).toContain(`helm uninstall leaves this claim of StatefulSet ${RELEASE}-mysql behind`);
    // The skip label on the latest record is listed as lingering, on the ConfigMap it is stored in.
    expect(installed.report.overrides.map((o) => `${o.object.kind} ${o.object.name} ${o.key}`)).toContain(
      `ConfigMap sh.helm.release.v1.${RELEASE}.v1 volume-guard.io/skip`,
    );

    // A later revision drops the label: nothing lingers, though revision 1 still carries it.
    await must(helm(['upgrade', RELEASE, CHART, '-n', NS, '--labels', 'volume-guard.io/skip=null'], { env }), 'helm upgrade');
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(paths.kubeconfig);
    const labels = await listReleaseLabelOverrides(kubeConfig, 30_000, NS);
    expect(labels.notes).toEqual([]);
    expect(labels.releases.filter((r) => r.name === RELEASE)).toEqual([]);

    await must(helm(['uninstall', RELEASE, '-n', NS, '--keep-history'], { env }), 'helm uninstall --keep-history');
    const uninstalled = await auditRelease();
    expect(uninstalled.report.scope).toEqual({ kind: 'release', namespace: NS, name: RELEASE, installed: false, revision: 2, status: 'uninstalled' });
    expect(uninstalled.report.findings.map((f) => `${f.severity} ${f.object.name}`)).toEqual([`critical ${PVC}`]);
    expect(uninstalled.result.code).toBe(1);
  });
});

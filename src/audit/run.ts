// The audit's run: kubeconfig, the model, the scope's extra reads, the report, its rendering.

import { createKubeConfig } from '../cluster/kubeconfig.ts';
import { HttpKubeClient } from '../cluster/kube-client.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { EXIT_NO_RISK, EXIT_RISKS } from '../cli-types.ts';
import { LoadBudget } from './budget.ts';
import { AuditError } from './errors.ts';
import { listReleaseLabelOverrides, listReleaseRevisions, listStoredPolicyReports, listUpgradeObjects, loadClusterModel, serverOf, type LoadProgress } from './load.ts';
import { refusable, renderPolicyReports, type StoredReport } from './policyreport.ts';
import { renderJson, renderTable } from './render.ts';
import { buildAuditReport, nodeExitOperations } from './report.ts';
import { auditedNodes, type AuditModel } from './model.ts';
import type { AuditOptions, AuditReport, AuditScope, ReleaseRevision } from './types.ts';
import { CHECK_IDS } from '../checks/types.ts';
import { nodeLocalOptionsOf } from '../checks/node-local-volume.ts';

/** `loading the cluster model: 5/9 resources synced (waiting for pods, ...)` */
export function progressLine(progress: LoadProgress): string {
  const waiting = progress.pending.length > 0 ? ` (waiting for ${progress.pending.slice(0, 3).join(', ')}${progress.pending.length > 3 ? ', …' : ''})` : '';
  return `volume-guard: loading the cluster model: ${progress.synced}/${progress.total} resources synced${waiting}`;
}

/** Rewrites one stderr line in place while the model loads; only on a terminal. */
function terminalProgress(stream: NodeJS.WriteStream): { update: (progress: LoadProgress) => void; clear: () => void } {
  let shown = false;
  return {
    update(progress) {
      const line = progressLine(progress);
      const columns = stream.columns > 1 ? stream.columns - 1 : line.length;
      stream.write(`\r\x1b[2K${line.slice(0, columns)}`);
      shown = true;
    },
    clear() {
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}

function scopeFrom(options: AuditOptions, revisions: readonly ReleaseRevision[]): AuditScope {
  if (options.node !== undefined) return { kind: 'node', node: options.node };
  if (options.release !== undefined) return { kind: 'release', ...options.release, revisions };
  return { kind: 'cluster' };
}

/** The line for a --node or --release namespace the cluster does not know (exit 2), or undefined. */
export function unknownScope(model: AuditModel, options: Pick<AuditOptions, 'node' | 'release'>): string | undefined {
  // A node known only from Longhorn replicas or pinned PVs (its Node object deleted) is audited too: its data is reported.
  if (options.node !== undefined && model.node(options.node) === undefined && !auditedNodes(model).includes(options.node)) {
    return `node "${options.node}" not found in the cluster`;
  }
  if (options.release !== undefined && model.namespace(options.release.namespace) === undefined) {
    return `namespace "${options.release.namespace}" not found in the cluster`;
  }
  return undefined;
}

/** Runs the audit and writes the report; resolves to the exit code (0 or 1). Throws AuditError for exit 2. */
export async function runAudit(options: AuditOptions, out: NodeJS.WriteStream = process.stdout, err: NodeJS.WriteStream = process.stderr): Promise<number> {
  let config;
  try {
    config = loadConfig({ ...(options.config !== undefined ? { file: options.config } : {}), env: process.env });
  } catch (error) {
    if (error instanceof ConfigError) throw new AuditError(error.message);
    throw error;
  }
  let kubeConfig;
  try {
    kubeConfig = createKubeConfig({
      ...(options.kubeconfig !== undefined ? { kubeconfigPath: options.kubeconfig } : {}),
      ...(options.context !== undefined ? { context: options.context } : {}),
    });
  } catch (error) {
    throw new AuditError(`kubeconfig: ${error instanceof Error ? error.message : String(error)}`);
  }
  // One budget for the whole load: each phase gets what the ones before left of it.
  const budget = new LoadBudget(options.timeout * 1000, serverOf(kubeConfig));
  const progress = err.isTTY ? terminalProgress(err) : undefined;
  let model;
  try {
    model = await loadClusterModel({
      kubeConfig,
      longhornNamespace: config.longhorn.namespace,
      nodeDownGraceMs: config.longhorn.nodeDownGraceSeconds * 1000,
      timeoutMs: budget,
      ...(progress ? { onProgress: progress.update } : {}),
    });
  } finally {
    progress?.clear();
  }
  const unknown = unknownScope(model, options);
  if (unknown !== undefined) throw new AuditError(unknown);
  const { revisions, notes: revisionNotes } = options.release
    ? await listReleaseRevisions(kubeConfig, options.release.namespace, options.release.name, budget)
    : { revisions: [], notes: [] };
  if (
    options.release !== undefined &&
    revisions.length === 0 &&
    model.persistentVolumeClaimsOfRelease(options.release.namespace, options.release.name).length === 0 &&
    model.persistentVolumeClaimsAnnotatedForRelease(options.release.namespace, options.release.name).length === 0 &&
    model.statefulSetsOfRelease(options.release.namespace, options.release.name).length === 0
  ) {
    const { namespace, name } = options.release;
    throw new AuditError(
      `Helm release ${namespace}/${name} not found: no release record (Secret or ConfigMap labelled owner=helm,name=${name}) ` +
        `and no PVC or StatefulSet labelled for it in namespace ${namespace}` +
        (revisionNotes.length ? ` (${revisionNotes.join('; ')})` : ''),
    );
  }
  const upgrades = await listUpgradeObjects(new HttpKubeClient(kubeConfig, budget.left('listing the guarded upgrade objects'), budget.connectTimeoutMs), config.upgrades.kinds, budget, config.clusterApi.controlPlaneUsers);
  // --release: the report reads the labels of the revisions already listed; otherwise every release's, metadata only.
  const releaseLabels = options.release ? { releases: [], notes: [] } : await listReleaseLabelOverrides(kubeConfig, budget);
  const report = buildAuditReport({
    model,
    scope: scopeFrom(options, revisions),
    cluster: { server: serverOf(kubeConfig), context: kubeConfig.getCurrentContext() },
    upgradeObjects: upgrades.carriers,
    releaseLabels: releaseLabels.releases,
    // The whole cluster audits the releases not installed that PVCs are labelled for (seed 000).
    ...(releaseLabels.records !== undefined ? { releaseRecords: releaseLabels.records } : {}),
    notes: [...revisionNotes, ...upgrades.notes, ...releaseLabels.notes],
    generatedAt: new Date().toISOString(),
    modes: Object.fromEntries(CHECK_IDS.map((id) => [id, config.checks[id].mode])),
    nodeLocal: nodeLocalOptionsOf(config),
    upgradeKinds: config.upgrades.kinds,
    clusterApi: config.clusterApi,
    writers: config.overrides,
    ...(options.config !== undefined ? { configFile: options.config } : {}),
  });
  // -o policyreport: the reports earlier runs of this scope left, to empty those nothing replaces now.
  const stored = options.output === 'policyreport' ? await listStoredPolicyReports(kubeConfig, report.scope.kind, budget) : { reports: [], notes: [] };
  for (const note of stored.notes) err.write(`volume-guard: ${note}\n`);
  out.write(render(report, options.output, out, stored.reports));
  return failingFindings(report, options.strict ?? false) > 0 ? EXIT_RISKS : EXIT_NO_RISK;
}

function render(report: AuditReport, output: AuditOptions['output'], out: NodeJS.WriteStream, stored: readonly StoredReport[]): string {
  switch (output) {
    case 'json':
      return renderJson(report);
    case 'policyreport':
      return renderPolicyReports(report, stored);
    case 'table':
      return renderTable(report, out.isTTY ? { width: out.columns } : {});
  }
}

/**
 * Findings that fail the exit code: all of them with --strict, otherwise those of checks not in warn mode that the
 * webhook would refuse for (a warning, such as a StatefulSet pod's emptyDir, only warns there), or, for a release,
 * would refuse its re-install for (the claims an uninstall leaves behind). With --node, only those its cordon or drain
 * is refused for: what only deleting the node would hit is shown, and does not fail it, unless the node has no Node
 * object (nothing to cordon or drain: the DELETE of a Cluster API Machine still naming it is refused for its data).
 */
export function failingFindings(report: AuditReport, strict: boolean): number {
  const operations = report.scope.kind === 'node' ? nodeExitOperations(report.scope) : undefined;
  return report.findings.filter(
    (finding) => strict || (finding.mode !== 'warn' && refusable(finding) && (operations === undefined || operations.includes(finding.operation))),
  ).length;
}


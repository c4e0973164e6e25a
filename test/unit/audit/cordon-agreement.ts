// Shared by the agreement tests: a small Longhorn cluster, and `audit --node` set beside the node-cordon webhook's
// answer for the cordon of the same node on the same model.
import type { Decision } from '../../../src/admission/types.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { refusable } from '../../../src/audit/policyreport.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import type { AuditReport } from '../../../src/audit/types.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import type { LonghornVolumeRecord } from '../../../src/cluster/records.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { context, cordonRequest } from '../../support/admission.ts';
import { longhornNode, node, volumeWithReplicas } from '../../support/fixtures.ts';

/** A stored skip of `checks` with its recorded writer (honored), plus `extra` annotations. */
export function storedSkip(checks: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'volume-guard.io/skip': checks, 'volume-guard.io/skip-by': 'admin', ...extra };
}

/** Longhorn installed, ready schedulable nodes `nodes`, each a Longhorn node. */
export function longhornCluster(nodes: readonly string[] = ['n1', 'n2', 'n3']): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of nodes) {
    model.upsert('node', node({ name }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  return model;
}

/** A Longhorn volume with a running replica on each of `replicaNodes`. */
export function addVolume(model: ClusterModel, name: string, replicaNodes: readonly string[], fields: Partial<LonghornVolumeRecord> = {}): void {
  const { volume, replicas } = volumeWithReplicas(name, replicaNodes, fields);
  model.upsert('longhornVolume', volume);
  for (const replica of replicas) model.upsert('longhornReplica', replica);
}

export interface CordonAgreement {
  readonly decision: Decision;
  readonly report: AuditReport;
  /** `check:object` of the cordon findings the audit says the webhook refuses for (refusable, not accepted). */
  readonly blocking: string[];
  /** Every finding, for failure messages. */
  readonly listed: string[];
}

/**
 * The cordon of `target` by the webhook, and `audit --node target`, on the same model and configuration. The cordon
 * carries the Node's stored annotations (its skip), as the API server sends the object it holds.
 */
export function cordonAndAudit(model: ClusterModel, target: string, config: Config = defaultConfig()): CordonAgreement {
  const decision = nodeCordonValidator(config).handle(cordonRequest(target, model.node(target)?.annotations ?? {}), context(model, { config }));
  const report = buildAuditReport({
    model,
    scope: { kind: 'node', node: target },
    cluster: { server: 's', context: 'c' },
    generatedAt: 'now',
    upgradeKinds: config.upgrades.kinds,
    writers: config.overrides,
  });
  const blocking = report.findings
    .filter((finding) => refusable(finding) && finding.overriddenBy === undefined && finding.operation.startsWith('cordon'))
    .map((finding) => `${finding.check}:${finding.object.name}`);
  const listed = report.findings.map((finding) => `${finding.check}:${finding.object.name}:${finding.operation}:${finding.overriddenBy ?? '-'}`);
  return { decision, report, blocking, listed };
}

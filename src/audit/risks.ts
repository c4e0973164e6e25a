// One risk, several findings: the whole-cluster audit lists a risk once per operation it blocks (a degraded volume
// under the upgrade and under the cordon of each node holding a copy), each finding with that operation's override.
// The totals, the table's rows and the PolicyReport results count the risk once: these are its findings grouped.

import type { AffectedObject } from '../checks/types.ts';
import type { AuditFinding } from './types.ts';

const objectKey = (object: AffectedObject): readonly string[] => [object.kind, object.namespace ?? '', object.name, object.node ?? ''];

/**
 * A risk's identity: its check, severity, object, reason, tags and related objects. Its operation, override, fix and
 * the override accepting it belong to each operation it blocks, not to the risk.
 */
export function riskKey(finding: AuditFinding): string {
  const { check, severity, object, reason, tags, related } = finding;
  return JSON.stringify([check, severity, objectKey(object), reason, tags, related.map(objectKey)]);
}

/** The findings of one risk, in the report's order, one per operation it blocks. */
export interface Risk {
  /** The first of its findings: what it is (check, severity, object, reason, tags, related). */
  readonly finding: AuditFinding;
  readonly findings: readonly AuditFinding[];
}

/** How the cordons of nodes are named (report.ts describeOperation): listed after the risk's other operations. */
const CORDON_PREFIX = 'cordon/drain of node ';
const cordonLast = (a: AuditFinding, b: AuditFinding): number => Number(a.operation.startsWith(CORDON_PREFIX)) - Number(b.operation.startsWith(CORDON_PREFIX));

/**
 * The report's findings grouped by risk, in the order of each risk's first finding; within a risk, in the report's
 * order but the cordons of nodes last (`upgrade, cordon/drain of node n1`), as the table names them.
 */
export function risksOf(findings: readonly AuditFinding[]): Risk[] {
  const risks = new Map<string, AuditFinding[]>();
  for (const finding of findings) {
    const key = riskKey(finding);
    const list = risks.get(key);
    if (list === undefined) risks.set(key, [finding]);
    else list.push(finding);
  }
  return [...risks.values()].map((list) => {
    const sorted = [...list].sort(cordonLast);
    return { finding: sorted[0]!, findings: sorted };
  });
}

/** Whether a lingering override accepts the risk at every operation it blocks (nothing of it is refused any more). */
export function acceptedEverywhere(risk: Risk): boolean {
  return risk.findings.every((finding) => finding.overriddenBy !== undefined);
}

// A request made in one namespace (a Job, a Helm release record) can be judged on data of every namespace: Longhorn's
// uninstaller or an upgrade of the Longhorn chart reach every volume. Its answer is read by whoever may write in that
// namespace, so it names only that namespace's objects; other namespaces' data is counted and described, as at an
// eviction (eviction.ts withholds the same way, with the node). Data no pod or claim names belongs to no tenant.
import { dataNamespaces } from '../checks/affected.ts';
import { SHARED_CLAIM_TAG, UNBOUND_TAG } from '../checks/orphan-pvc.ts';
import type { CheckId, Finding } from '../checks/types.ts';
import type { CheckResults } from './context.ts';
import type { AdjustedFindings } from './plan-judge.ts';
import { WITHHELD_TAG, withheldReason } from './withheld.ts';

const REASONS: Readonly<Record<CheckId, string>> = {
  'single-replica': 'a single copy of its data',
  'volume-health': 'not healthy',
  'last-replica-on-node': 'its only healthy copy is on one node',
  'node-local-volume': 'keeps data on one node only',
  'orphan-pvc': 'data at risk',
  'pvc-delete': 'data at risk',
  'storage-teardown': 'its data goes with the storage system',
};

/** The finding as a requester of another namespace reads it: its kind and risk, no name of that namespace's objects. */
export function withheldFromNamespace(finding: Finding): Finding {
  return {
    check: finding.check,
    severity: finding.severity,
    object: { kind: finding.object.kind, name: 'of another namespace' },
    reason: withheldReason(REASONS[finding.check], 'volume-guard audit'),
    tags: [...finding.tags, WITHHELD_TAG],
  };
}

/** Whether `namespace`'s requester may read the finding's names: its data is that namespace's, or no tenant's. */
export function nameableIn(finding: Finding, namespace: string): boolean {
  return dataNamespaces(finding).every((own) => own === namespace);
}

/**
 * An orphan-pvc finding about a PVC of another namespace that a chart's StatefulSet rendered there would claim, as the
 * release's requester reads it: the namespace (the chart names it) and what becomes of the PVC, no name of what the
 * namespace holds, and how an admin lists them.
 */
export function withheldClaim(finding: Finding): Finding {
  const where = dataNamespaces(finding)[0] ?? '';
  const what = finding.tags.includes(SHARED_CLAIM_TAG)
    ? 'another live StatefulSet there claims it too: both would mount it'
    : finding.severity === 'warning'
      ? REASONS[finding.check]
      : finding.tags.includes(UNBOUND_TAG)
        ? 'would be taken over (not yet bound)'
        : 'would be re-attached with its old data';
  return {
    check: finding.check,
    severity: finding.severity,
    object: { kind: finding.object.kind, name: `in namespace ${where}` },
    reason: `${what} (names withheld: an admin can list them: kubectl get pvc -n ${where})`,
    tags: finding.tags,
  };
}

/**
 * An `adjust` for judgeByPlan: the findings about other namespaces' data, withheld from `namespace`'s requester; with
 * `only`, just those of them it picks (the others are named as they are), described by `describe`.
 */
export function withholdOtherNamespaces(
  namespace: string,
  only?: (finding: Finding) => boolean,
  describe: (finding: Finding) => Finding = withheldFromNamespace,
): (results: CheckResults) => AdjustedFindings {
  return (results) => ({
    findings: results.findings.map((finding) => (nameableIn(finding, namespace) || (only !== undefined && !only(finding)) ? finding : describe(finding))),
    totals: results.totals,
  });
}

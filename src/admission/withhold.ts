// A request made in one namespace (a Job, a Helm release record) can be judged on data of every namespace: Longhorn's
// uninstaller or an upgrade of the Longhorn chart reach every volume. Its answer is read by whoever may write in that
// namespace, so it names only that namespace's objects; other namespaces' data is counted and described, as at an
// eviction (eviction.ts withholds the same way, with the node). Data no pod or claim names belongs to no tenant.
import { dataNamespaces } from '../checks/affected.ts';
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

/** An `adjust` for judgeByPlan: the findings about other namespaces' data, withheld from `namespace`'s requester. */
export function withholdOtherNamespaces(namespace: string): (results: CheckResults) => AdjustedFindings {
  return (results) => ({
    findings: results.findings.map((finding) => (nameableIn(finding, namespace) ? finding : withheldFromNamespace(finding))),
    totals: results.totals,
  });
}

// `volume-guard audit -o policyreport`: the report as wgpolicyk8s.io/v1alpha2 PolicyReport and ClusterPolicyReport
// objects (what Kyverno and Policy Reporter read), ready for `kubectl apply -f -`. One result per risk, the check id
// as the rule: a risk the whole-cluster audit lists under several operations (risks.ts) is one result, its operations
// in `properties.operation` (`; `-separated), and where they differ, its overrides and accepting overrides one line
// per override, after the operations it is for. A finding goes to the PolicyReport of the namespace whose team owns the data: a PVC's or
// StatefulSet's own namespace, a Longhorn Volume's claim's namespace (the result names the claim; the Volume is in
// `properties.volume`). Findings about cluster-scoped objects (PVs, nodes) and Longhorn Volumes without a claim go
// to the ClusterPolicyReport. A namespaced report names no object of another namespace. Pure function of the report.

import { stringify } from 'yaml';
import { compareText } from '../text.ts';
import { LONGHORN_GROUP, LONGHORN_VERSION } from '../cluster/resources.ts';
import { objectRef, type AffectedObject } from '../checks/types.ts';
import { DEFAULT_CONFIG_NOTE } from './report.ts';
import { risksOf, type Risk } from './risks.ts';
import type { AuditFinding, AuditReport } from './types.ts';

export const POLICY_REPORT_GROUP = 'wgpolicyk8s.io';
export const POLICY_REPORT_VERSION = 'v1alpha2';
export const POLICY_REPORT_API_VERSION = `${POLICY_REPORT_GROUP}/${POLICY_REPORT_VERSION}`;
/** The `policy` of every result, and the `source`. */
export const POLICY_NAME = 'volume-guard';

/** The two report kinds and their resources. */
export const POLICY_REPORT_KINDS = [
  { kind: 'PolicyReport', resource: 'policyreports' },
  { kind: 'ClusterPolicyReport', resource: 'clusterpolicyreports' },
] as const;

/**
 * What `audit -o policyreport` reads beyond the model: the reports earlier runs left (metadata only), to empty those
 * it has nothing to say in any more (the chart's audit ClusterRole grants it: files/rbac.json `auditRules`).
 */
export const AUDIT_REPORT_PERMISSIONS: readonly { readonly apiGroup: string; readonly resource: string; readonly verbs: readonly ['list'] }[] = POLICY_REPORT_KINDS.map(
  ({ resource }) => ({ apiGroup: POLICY_REPORT_GROUP, resource, verbs: ['list'] as const }),
);

/** Every report's labels: who manages it, and the audit scope (`cluster`, `node`, `release`) that wrote it. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const SCOPE_LABEL = 'volume-guard.io/scope';
/**
 * On a part after the first (`NAME-2`, …): the report it is a part of. A node `a`'s part 2 and node `a-2`'s report
 * have the same name; this tells them apart.
 */
export const PART_OF_ANNOTATION = 'volume-guard.io/part-of';

/** The label selector of the reports one audit scope writes. */
export function storedReportSelector(scope: AuditReport['scope']['kind']): string {
  return `${MANAGED_BY_LABEL}=${POLICY_NAME},${SCOPE_LABEL}=${scope}`;
}

/** A report an earlier audit left, as listed metadata-only. */
export interface StoredReport {
  readonly kind: 'PolicyReport' | 'ClusterPolicyReport';
  readonly namespace?: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** API versions of the kinds findings name. */
const API_VERSIONS: Readonly<Record<string, string>> = {
  PersistentVolume: 'v1',
  PersistentVolumeClaim: 'v1',
  Pod: 'v1',
  Node: 'v1',
  Namespace: 'v1',
  StatefulSet: 'apps/v1',
  Volume: `${LONGHORN_GROUP}/${LONGHORN_VERSION}`,
  Replica: `${LONGHORN_GROUP}/${LONGHORN_VERSION}`,
};

export interface ObjectReference {
  readonly apiVersion?: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

export interface PolicyReportResult {
  readonly source: string;
  readonly policy: string;
  readonly rule: string;
  readonly category: string;
  readonly severity: 'critical' | 'high' | 'medium' | 'low' | 'info';
  readonly timestamp: { readonly seconds: number; readonly nanos: number };
  readonly result: 'pass' | 'fail' | 'warn' | 'error' | 'skip';
  readonly scored: boolean;
  readonly resources: readonly ObjectReference[];
  readonly message: string;
  readonly properties: Readonly<Record<string, string>>;
}

export interface PolicyReportObject {
  readonly apiVersion: typeof POLICY_REPORT_API_VERSION;
  readonly kind: 'PolicyReport' | 'ClusterPolicyReport';
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
  };
  readonly summary: { readonly pass: number; readonly fail: number; readonly warn: number; readonly error: number; readonly skip: number };
  readonly results: readonly PolicyReportResult[];
}

function reference(object: AffectedObject): ObjectReference {
  const apiVersion = API_VERSIONS[object.kind];
  return {
    ...(apiVersion !== undefined ? { apiVersion } : {}),
    kind: object.kind,
    ...(object.namespace ? { namespace: object.namespace } : {}),
    name: object.name,
  };
}

/** The longest DNS subdomain (metadata.name of most kinds, these CRDs' included). */
const MAX_NAME_LENGTH = 253;
/** Room kept for a part's suffix (`-2`, … partName) within MAX_NAME_LENGTH. */
const PART_SUFFIX_ROOM = 6;

/** `raw` as a DNS-1123 subdomain of at most `max` characters: lower case, `.`-separated runs of [a-z0-9-], alphanumeric at each end. */
function dnsSubdomain(raw: string, max: number): string {
  return raw
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .replace(/[.-]*\.[.-]*/g, '.')
    .slice(0, max)
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
}

/**
 * The name of the reports of one audit scope, a DNS subdomain leaving room for a part's suffix. A release's names its
 * namespace and name, `volume-guard-release-NAMESPACE.NAME` (a namespace has no dot): the same release name in two
 * namespaces gives two ClusterPolicyReports, not one that each `kubectl apply` replaces.
 */
export function reportName(report: AuditReport): string {
  const scope = report.scope;
  const raw =
    scope.kind === 'cluster'
      ? POLICY_NAME
      : scope.kind === 'node'
        ? `${POLICY_NAME}-node-${scope.node}`
        : `${POLICY_NAME}-release-${scope.namespace}.${scope.name}`;
  const name = dnsSubdomain(raw, MAX_NAME_LENGTH - PART_SUFFIX_ROOM);
  return name === '' ? POLICY_NAME : name;
}

/** Whether the webhook refuses for the finding: a critical one, or a claim an uninstall leaves for a re-install. */
export function refusable(finding: AuditFinding): boolean {
  return finding.severity === 'critical' || finding.tags.includes('left-behind');
}

/**
 * `skip` when a lingering override lets the finding through (an exception, in the wgpolicyk8s and Kyverno sense);
 * `warn` when the check is in warn mode or the webhook only warns of it; `fail` otherwise. Only `fail` is scored.
 */
function outcome(finding: AuditFinding): { result: 'fail' | 'warn' | 'skip'; scored: boolean } {
  if (finding.overriddenBy !== undefined) return { result: 'skip', scored: false };
  if (finding.mode === 'warn' || !refusable(finding)) return { result: 'warn', scored: false };
  return { result: 'fail', scored: true };
}

/** The claim of a Longhorn Volume finding (the checks name it among the related objects), when it has one. */
function volumeClaim(finding: AuditFinding): AffectedObject | undefined {
  if (finding.object.kind !== 'Volume') return undefined;
  return finding.related.find((object) => object.kind === 'PersistentVolumeClaim' && object.namespace !== undefined && object.namespace !== '');
}

/**
 * Where a finding is reported and the object its result names: a Longhorn Volume with a claim in the claim's
 * namespace, naming the claim; one without in the cluster report; any other object in its own namespace, or in the
 * cluster report when it has none.
 */
function placement(finding: AuditFinding): { namespace: string | undefined; resource: AffectedObject } {
  if (finding.object.kind === 'Volume') {
    const claim = volumeClaim(finding);
    return claim === undefined ? { namespace: undefined, resource: finding.object } : { namespace: claim.namespace, resource: claim };
  }
  const namespace = finding.object.namespace;
  return { namespace: namespace === undefined || namespace === '' ? undefined : namespace, resource: finding.object };
}

function timestampOf(generatedAt: string): { seconds: number; nanos: number } {
  const ms = Date.parse(generatedAt);
  if (!Number.isFinite(ms)) return { seconds: 0, nanos: 0 };
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

/** Outcomes from the strongest: a risk's result is its strongest over the operations it blocks. */
const OUTCOME_RANK = { fail: 0, warn: 1, skip: 2 } as const;

/**
 * A value per operation: the one value when every operation has it (or there is one operation), otherwise one line per
 * value, `OPERATION; OPERATION: value`; undefined when no operation has one.
 */
function perOperation(findings: readonly AuditFinding[], value: (finding: AuditFinding) => string | undefined): string | undefined {
  const operations = new Map<string, string[]>();
  for (const finding of findings) {
    const text = value(finding);
    if (text === undefined) continue;
    const list = operations.get(text) ?? [];
    if (!list.includes(finding.operation)) list.push(finding.operation);
    operations.set(text, list);
  }
  const [only] = operations.keys();
  if (only === undefined) return undefined;
  if (operations.size === 1 && (operations.get(only)?.length ?? 0) === new Set(findings.map((finding) => finding.operation)).size) return only;
  return [...operations].map(([text, list]) => `${list.join('; ')}: ${text}`).join('\n');
}

/**
 * The result of a risk in the report of `namespace` (undefined: the cluster report). A namespaced result names
 * its resource and, of the related objects, those of its namespace and cluster-scoped ones (a node, the PV); a
 * Longhorn Volume reported under its claim is named in `properties.volume`, the claim's own volume.
 */
function resultOf(risk: Risk, generatedAt: string, namespace: string | undefined, resource: AffectedObject): PolicyReportResult {
  const { finding, findings } = risk;
  const properties: Record<string, string> = {
    operation: [...new Set(findings.map((each) => each.operation))].join('; '),
    fix: perOperation(findings, (each) => each.fix) ?? '',
    override: perOperation(findings, (each) => each.override) ?? '',
  };
  if (resource !== finding.object) properties['volume'] = `${finding.object.kind} ${objectRef(finding.object)}`;
  if (finding.object.node) properties['node'] = finding.object.node;
  if (finding.tags.length > 0) properties['tags'] = finding.tags.join(',');
  const related = finding.related.filter(
    (object) => object !== resource && (namespace === undefined || object.namespace === undefined || object.namespace === '' || object.namespace === namespace),
  );
  if (related.length > 0) properties['related'] = related.map((object) => `${object.kind} ${objectRef(object)}`).join(', ');
  const accepted = perOperation(findings, (each) => each.overriddenBy);
  if (accepted !== undefined) properties['overriddenBy'] = accepted;
  if (finding.mode === 'warn') properties['mode'] = 'warn';
  // Refused at one operation still: fail; skip only when accepted at every one.
  const outcomes = findings.map(outcome).sort((a, b) => OUTCOME_RANK[a.result] - OUTCOME_RANK[b.result]);
  return {
    source: POLICY_NAME,
    policy: POLICY_NAME,
    rule: finding.check,
    category: 'data loss',
    severity: finding.severity === 'critical' ? 'critical' : 'medium',
    timestamp: timestampOf(generatedAt),
    ...(outcomes[0] ?? outcome(finding)),
    resources: [reference(resource)],
    message: finding.reason,
    properties,
  };
}

/** A report's summary counts its results: distinct risks (the audit's summary.distinct), not findings. */
function summaryOf(results: readonly PolicyReportResult[]): PolicyReportObject['summary'] {
  const count = (result: PolicyReportResult['result']): number => results.filter((entry) => entry.result === result).length;
  return { pass: count('pass'), fail: count('fail'), warn: count('warn'), error: count('error'), skip: count('skip') };
}

/**
 * The reports: a ClusterPolicyReport (always, so applying an audit without cluster-scoped findings still
 * replaces an older one), and one PolicyReport per namespace with findings, namespaces in order. The API server's
 * URL is on the ClusterPolicyReport only (nothing reads it; a namespace's readers need not learn it).
 */
export function policyReports(report: AuditReport, stored: readonly StoredReport[] = []): PolicyReportObject[] {
  const name = reportName(report);
  const labels = { [MANAGED_BY_LABEL]: POLICY_NAME, [SCOPE_LABEL]: report.scope.kind };
  // The report's notes are not carried, but the configuration it was judged with is: the file, or the default one's note.
  const configuration = report.config.source === 'file' ? `file ${report.config.file}` : DEFAULT_CONFIG_NOTE;
  const namespacedAnnotations = { 'volume-guard.io/generated-at': report.generatedAt, 'volume-guard.io/config': configuration };
  const clusterAnnotations = { ...namespacedAnnotations, 'volume-guard.io/server': report.cluster.server };
  const clusterResults: PolicyReportResult[] = [];
  const byNamespace = new Map<string, PolicyReportResult[]>();
  for (const risk of risksOf(report.findings)) {
    const { namespace, resource } = placement(risk.finding);
    const result = resultOf(risk, report.generatedAt, namespace, resource);
    if (namespace === undefined) {
      clusterResults.push(result);
    } else {
      const list = byNamespace.get(namespace) ?? [];
      list.push(result);
      byNamespace.set(namespace, list);
    }
  }
  const reports: PolicyReportObject[] = [];
  const partAnnotations = (annotations: Record<string, string>, index: number): Record<string, string> =>
    index === 0 ? annotations : { ...annotations, [PART_OF_ANNOTATION]: name };
  chunksOf(clusterResults).forEach((results, index) => {
    reports.push({
      apiVersion: POLICY_REPORT_API_VERSION,
      kind: 'ClusterPolicyReport',
      metadata: { name: partName(name, index), labels, annotations: partAnnotations(clusterAnnotations, index) },
      summary: summaryOf(results),
      results,
    });
  });
  for (const namespace of [...byNamespace.keys()].sort()) {
    chunksOf(byNamespace.get(namespace) ?? []).forEach((results, index) => {
      reports.push({
        apiVersion: POLICY_REPORT_API_VERSION,
        kind: 'PolicyReport',
        metadata: { name: partName(name, index), namespace, labels, annotations: partAnnotations(namespacedAnnotations, index) },
        summary: summaryOf(results),
        results,
      });
    });
  }
  // kubectl apply cannot delete: an earlier run's report of this scope that nothing replaces now (a namespace whose
  // risks are gone, a part no longer needed) is printed emptied, so applying the audit leaves no stale `fail`.
  const printed = new Set(reports.map((object) => reportKey(object.kind, object.metadata.namespace, object.metadata.name)));
  const stale = stored
    .filter((object) => object.labels[MANAGED_BY_LABEL] === POLICY_NAME && object.labels[SCOPE_LABEL] === report.scope.kind)
    .filter((object) => (object.annotations[PART_OF_ANNOTATION] ?? object.name) === name)
    .filter((object) => (object.kind === 'PolicyReport') === (object.namespace !== undefined && object.namespace !== ''))
    .filter((object) => !printed.has(reportKey(object.kind, object.namespace, object.name)))
    .sort((a, b) => compareText(reportKey(a.kind, a.namespace, a.name), reportKey(b.kind, b.namespace, b.name)));
  const done = new Set<string>();
  for (const object of stale) {
    const key = reportKey(object.kind, object.namespace, object.name);
    if (done.has(key)) continue;
    done.add(key);
    const part = object.annotations[PART_OF_ANNOTATION] !== undefined ? 1 : 0;
    reports.push({
      apiVersion: POLICY_REPORT_API_VERSION,
      kind: object.kind,
      metadata: {
        name: object.name,
        ...(object.kind === 'PolicyReport' && object.namespace !== undefined ? { namespace: object.namespace } : {}),
        labels,
        annotations: partAnnotations(object.kind === 'PolicyReport' ? namespacedAnnotations : clusterAnnotations, part),
      },
      summary: summaryOf([]),
      results: [],
    });
  }
  return reports;
}

function reportKey(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}\u0000${namespace ?? ''}\u0000${name}`;
}

/**
 * The most a report's results may weigh, serialized: etcd refuses a write over 1.5 MiB (its default
 * --max-request-bytes), so thousands of findings go into several reports, `<name>`, `<name>-2`, … (same labels).
 */
export const MAX_REPORT_RESULTS_BYTES = 1_000_000;

/** The results in parts of at most MAX_REPORT_RESULTS_BYTES; one part (maybe empty) at least. */
function chunksOf(results: readonly PolicyReportResult[]): PolicyReportResult[][] {
  const parts: PolicyReportResult[][] = [[]];
  let bytes = 0;
  for (const result of results) {
    const size = Buffer.byteLength(JSON.stringify(result)) + 1;
    const current = parts[parts.length - 1]!;
    if (current.length > 0 && bytes + size > MAX_REPORT_RESULTS_BYTES) {
      parts.push([result]);
      bytes = size;
    } else {
      current.push(result);
      bytes += size;
    }
  }
  return parts;
}

function partName(name: string, index: number): string {
  return index === 0 ? name : `${name}-${index + 1}`;
}

/** YAML documents separated by `---`, for `kubectl apply -f -`. */
export function renderPolicyReports(report: AuditReport, stored: readonly StoredReport[] = []): string {
  return policyReports(report, stored)
    .map((object) => stringify(object, { lineWidth: 0 }))
    .map((document) => `---\n${document}`)
    .join('');
}

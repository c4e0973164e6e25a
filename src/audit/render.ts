// Rendering an audit report: JSON for machines (the report object itself), a grouped table for people.
// Pure functions of the report (and the terminal width), so their output is compared with golden files.

import { CHECK_TEXT } from '../admission/messages.ts';
import { CHECK_IDS, objectRef, type AffectedObject, type CheckId } from '../checks/types.ts';
import type { AuditFinding, AuditReport, LingeringOverride } from './types.ts';

export function renderJson(report: AuditReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

export interface TableOptions {
  /** Terminal width: the last column of each table wraps to fit. Undefined: no wrapping (a pipe or a file). */
  readonly width?: number;
}

const INDENT = '  ';
const GAP = '  ';
/** The wrapped column never gets narrower than this, even if the lines then overflow the terminal. */
const MIN_WRAPPED_WIDTH = 30;

const SHORT_KINDS: Readonly<Record<string, string>> = {
  PersistentVolumeClaim: 'PVC',
  PersistentVolume: 'PV',
};

function shortObject(object: Pick<AffectedObject, 'kind' | 'namespace' | 'name'>): string {
  return `${SHORT_KINDS[object.kind] ?? object.kind} ${objectRef({ kind: object.kind, name: object.name, ...(object.namespace ? { namespace: object.namespace } : {}) })}`;
}

/** Greedy word wrap; a word longer than the width is cut. Always at least one line. */
export function wrap(text: string, width: number | undefined): string[] {
  if (width === undefined || text.length <= width) return [text];
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    let rest = word;
    while (rest.length > width) {
      if (line !== '') {
        lines.push(line);
        line = '';
      }
      lines.push(rest.slice(0, width));
      rest = rest.slice(width);
    }
    if (line === '') line = rest;
    else if (line.length + 1 + rest.length <= width) line += ` ${rest}`;
    else {
      lines.push(line);
      line = rest;
    }
  }
  lines.push(line);
  return lines;
}

/**
 * A table: a header row and rows of cells, columns as wide as their widest cell, the last one wrapped to the
 * width left over (continuation lines start under it). Trailing spaces are trimmed.
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[], width: number | undefined): string[] {
  const fixed = header.length - 1;
  const widths: number[] = [];
  for (let column = 0; column < fixed; column++) {
    widths.push(Math.max(header[column]?.length ?? 0, ...rows.map((row) => row[column]?.length ?? 0)));
  }
  const lead = INDENT.length + widths.reduce((sum, w) => sum + w + GAP.length, 0);
  const lastWidth = width === undefined ? undefined : Math.max(MIN_WRAPPED_WIDTH, width - lead);
  const lines: string[] = [];
  const emit = (cells: readonly string[]): void => {
    const prefix = cells.slice(0, fixed).map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(GAP);
    const wrapped = wrap(cells[fixed] ?? '', lastWidth);
    wrapped.forEach((part, index) => {
      const start = index === 0 ? prefix : ' '.repeat(prefix.length);
      lines.push(`${INDENT}${start}${fixed > 0 ? GAP : ''}${part}`.trimEnd());
    });
  };
  emit(header);
  for (const row of rows) emit(row);
  return lines;
}

/** `head` then the text, continuation lines indented under the text's start. */
function hanging(head: string, text: string, width: number | undefined, continuation = ' '.repeat(head.length)): string[] {
  const available = width === undefined ? undefined : Math.max(MIN_WRAPPED_WIDTH, width - Math.max(head.length, continuation.length));
  return wrap(text, available).map((part, index) => `${index === 0 ? head : continuation}${part}`.trimEnd());
}

/** `  fix:      text` */
function labelled(label: string, text: string, width: number | undefined): string[] {
  return hanging(`${INDENT}${label.padEnd(10)}`, text, width);
}

function describeScope(report: AuditReport): string {
  const scope = report.scope;
  switch (scope.kind) {
    case 'cluster':
      return `the whole cluster (${scope.nodes} node${scope.nodes === 1 ? '' : 's'})`;
    case 'node':
      return `what a cordon or drain of node ${scope.node} would hit`;
    case 'release': {
      const state = scope.installed
        ? `installed, revision ${scope.revision ?? '?'} ${scope.status ?? ''}`.trimEnd()
        : scope.revision === undefined
          ? 'not installed'
          : `not installed, revision ${scope.revision} ${scope.status ?? ''}`.trimEnd();
      return `what installing Helm release ${scope.namespace}/${scope.name} again would hit (${state})`;
    }
  }
}

const COUNT_LABELS: readonly (readonly [keyof AuditReport['cluster']['objects'], string, string])[] = [
  ['node', 'node', 'nodes'],
  ['namespace', 'namespace', 'namespaces'],
  ['persistentVolume', 'PV', 'PVs'],
  ['persistentVolumeClaim', 'PVC', 'PVCs'],
  ['pod', 'pod', 'pods'],
  ['statefulSet', 'StatefulSet', 'StatefulSets'],
  ['longhornVolume', 'Longhorn volume', 'Longhorn volumes'],
  ['longhornReplica', 'replica', 'replicas'],
  ['longhornNode', 'Longhorn node', 'Longhorn nodes'],
];

function header(report: AuditReport, width: number | undefined): string[] {
  const { cluster } = report;
  const counts = COUNT_LABELS.map(([kind, one, many]) => `${cluster.objects[kind]} ${cluster.objects[kind] === 1 ? one : many}`).join(', ');
  const longhorn = cluster.longhornInstalled ? '' : ' (Longhorn not installed)';
  return [
    ...wrap(`volume-guard audit of ${cluster.server} (context ${cluster.context || '-'}): ${describeScope(report)}`, width),
    ...wrap(`Generated ${report.generatedAt} from ${counts}${longhorn}.`, width),
  ];
}

/** What the findings of a group block, for its heading. */
function blocks(findings: readonly AuditFinding[]): string {
  const operations = [...new Set(findings.map((finding) => finding.operation))];
  if (operations.length === 1) return operations[0] ?? '';
  if (operations.every((operation) => operation.startsWith('cordon/drain of node '))) return 'cordon/drain of the node listed';
  return operations.join(', ');
}

function why(finding: AuditFinding): string {
  const related = finding.related.length > 0 ? ` [${finding.related.map(shortObject).join(', ')}]` : '';
  const accepted = finding.overriddenBy !== undefined ? ` (accepted by ${finding.overriddenBy})` : '';
  const mode = finding.mode === 'warn' ? ' (check in warn mode: does not fail the audit without --strict)' : '';
  return `${finding.reason}${related}${accepted}${mode}`;
}

function findingGroup(check: CheckId, findings: readonly AuditFinding[], width: number | undefined): string[] {
  const text = CHECK_TEXT[check];
  // single-replica's summary depends on its findings (numberOfReplicas 1 with several copies is no single copy).
  const summary = check === 'single-replica' && text.summaryFor ? text.summaryFor(findings.length, findings) : text.summary(findings.length);
  const lines = wrap(`${check}: ${summary} (blocks: ${blocks(findings)})`, width);
  // A NODE column only where some finding has a node (Helm release findings have none).
  const withNode = findings.some((finding) => (finding.object.node ?? '') !== '');
  const rows = findings.map((finding) => [
    finding.severity,
    shortObject(finding.object),
    ...(withNode ? [finding.object.node ?? ''] : []),
    why(finding),
  ]);
  lines.push(...table(['SEVERITY', 'OBJECT', ...(withNode ? ['NODE'] : []), 'WHY'], rows, width));
  // Each fix once, as each override: findings of one check may call for other advice (CHECK_TEXT fixOf).
  for (const fix of new Set(findings.map((finding) => finding.fix))) lines.push(...labelled('fix:', fix, width));
  for (const command of new Set(findings.map((finding) => finding.override))) lines.push(...labelled('override:', command, width));
  return lines;
}

/** A Helm release label: its writer is the user running helm, judged then; no skip-by is kept for it. */
function isReleaseLabel(override: LingeringOverride): boolean {
  return override.field === 'label' && (override.object.kind === 'HelmRelease' || override.object.kind === 'Secret' || override.object.kind === 'ConfigMap');
}

/** Two lines per override (wrapped): what and where with its reason, then its effect and when it is read. */
function overrideLines(override: LingeringOverride, width: number | undefined): string[] {
  const reason = [
    override.reason === '' ? 'no reason given' : `reason: ${override.reason}`,
    override.writer !== '' ? `by ${override.writer}` : isReleaseLabel(override) ? 'written by whoever ran helm' : 'no writer',
    ...(override.until === '' ? [] : [`until ${override.until}`]),
  ].join('; ');
  return [
    ...hanging(INDENT, `${shortObject(override.object)}: ${override.field} ${override.key}=${override.value} (${reason})`, width, `${INDENT}${INDENT}`),
    ...hanging(`${INDENT}${INDENT}`, `${override.effect}; read for ${override.appliesTo}`, width),
  ];
}

function summaryLine(report: AuditReport): string {
  const { summary } = report;
  if (summary.risks === 0) return 'No data-loss risk found.';
  const accepted = summary.overridden > 0 ? `; ${summary.overridden} accepted by a lingering override` : '';
  const byCheck = CHECK_IDS.map((id) => `${id} ${summary.byCheck[id]}`).join(', ');
  const risks = `${summary.risks} risk${summary.risks === 1 ? '' : 's'}`;
  return `${risks} found (${summary.critical} critical, ${summary.warning} warning${accepted}): ${byCheck}.`;
}

export function renderTable(report: AuditReport, options: TableOptions = {}): string {
  const { width } = options;
  const lines = header(report, width);
  for (const check of CHECK_IDS) {
    const findings = report.findings.filter((finding) => finding.check === check);
    if (findings.length === 0) continue;
    lines.push('', ...findingGroup(check, findings, width));
  }
  lines.push('');
  if (report.overrides.length > 0) {
    lines.push(...wrap(`Lingering overrides: ${report.overrides.length} (each waives checks until it is removed)`, width));
    for (const override of report.overrides) lines.push(...overrideLines(override, width));
  } else {
    lines.push('Lingering overrides: none');
  }
  if (report.notes.length > 0) {
    lines.push('', 'Notes:');
    for (const note of report.notes) lines.push(...hanging(`${INDENT}- `, note, width));
  }
  lines.push('', ...wrap(summaryLine(report), width));
  return `${lines.join('\n')}\n`;
}

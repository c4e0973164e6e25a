// Rendering an audit report: JSON for machines (the report object itself), a grouped table for people.
// Pure functions of the report (and the terminal width), so their output is compared with golden files.

import { CHECK_TEXT } from '../admission/messages.ts';
import { CHECK_IDS, objectRef, type AffectedObject, type CheckId } from '../checks/types.ts';
import { acceptedEverywhere, risksOf } from './risks.ts';
import type { AuditFinding, AuditReport, LingeringOverride } from './types.ts';

export function renderJson(report: AuditReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

export interface TableOptions {
  /**
   * Terminal width: every line fits it whenever its longest word does (a command's word is never cut). Undefined:
   * no wrapping (a pipe or a file).
   */
  readonly width?: number;
}

const INDENT = '  ';
const GAP = '  ';
/**
 * The least width of a finding table's WHY column. When the other columns leave less (long node and volume names
 * on an 80-column terminal), the group's rows are stacked instead: severity, object and node on one line, WHY
 * indented below it, each wrapped to the width.
 */
const MIN_WHY_WIDTH = 40;
/** Where a stacked row's WHY starts, under its severity. */
const STACKED_WHY_INDENT = '      ';

const SHORT_KINDS: Readonly<Record<string, string>> = {
  PersistentVolumeClaim: 'PVC',
  PersistentVolume: 'PV',
};

/** Longhorn's kinds: their objects all live in the one namespace volume-guard watches Longhorn in. */
const LONGHORN_KINDS: ReadonlySet<string> = new Set(['Volume', 'Replica']);

/** How the table names objects: Longhorn's without their namespace when every one named is in that namespace. */
interface Naming {
  readonly longhornNamespace?: string;
}

type NamedObject = Pick<AffectedObject, 'kind' | 'namespace' | 'name'>;

/** The one namespace of every Longhorn object the report names, if there is one (the configured namespace). */
function longhornNamespaceOf(report: AuditReport): string | undefined {
  const namespaces = new Set<string>();
  const add = (object: NamedObject): void => {
    if (LONGHORN_KINDS.has(object.kind)) namespaces.add(object.namespace ?? '');
  };
  for (const finding of report.findings) {
    add(finding.object);
    finding.related.forEach(add);
  }
  for (const override of report.overrides) add(override.object);
  const [only] = namespaces;
  return namespaces.size === 1 && only !== '' ? only : undefined;
}

function shortObject(object: NamedObject, naming: Naming = {}): string {
  const namespace = LONGHORN_KINDS.has(object.kind) && object.namespace === naming.longhornNamespace ? undefined : object.namespace;
  return `${SHORT_KINDS[object.kind] ?? object.kind} ${objectRef({ kind: object.kind, name: object.name, ...(namespace ? { namespace } : {}) })}`;
}

/** Greedy word wrap; a word longer than the width is cut. Always at least one line. */
export function wrap(text: string, width: number | undefined): string[] {
  if (width === undefined || text.length <= width) return [text];
  return wrapWords(text.split(' '), width);
}

/** Greedy wrap of words joined by one space; a word longer than the width is cut. */
function wrapWords(words: readonly string[], width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
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
  const widths = columnWidths(header, rows);
  const lead = leadOf(widths);
  const lastWidth = width === undefined ? undefined : Math.max(1, width - lead);
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

/** The widths of a table's columns but the last: each as wide as its widest cell. */
function columnWidths(header: readonly string[], rows: readonly (readonly string[])[]): number[] {
  const widths: number[] = [];
  for (let column = 0; column < header.length - 1; column++) {
    widths.push(Math.max(header[column]?.length ?? 0, ...rows.map((row) => row[column]?.length ?? 0)));
  }
  return widths;
}

/** Where a table's last column starts. */
function leadOf(widths: readonly number[]): number {
  return INDENT.length + widths.reduce((sum, w) => sum + w + GAP.length, 0);
}

/** `head` then the text, continuation lines indented under the text's start. */
function hanging(head: string, text: string, width: number | undefined, continuation = ' '.repeat(head.length)): string[] {
  return hangingWords(head, width === undefined ? [text] : text.split(' '), width, continuation);
}

function hangingWords(head: string, words: readonly string[], width: number | undefined, continuation = ' '.repeat(head.length)): string[] {
  const text = words.join(' ');
  const available = width === undefined ? undefined : Math.max(1, width - Math.max(head.length, continuation.length));
  const parts = available === undefined || text.length <= available ? [text] : wrapWords(words, available);
  return parts.map((part, index) => `${index === 0 ? head : continuation}${part}`.trimEnd());
}

const LABEL_WIDTH = 10;

/** `  fix:      text` */
function labelled(label: string, text: string, width: number | undefined): string[] {
  return hanging(`${INDENT}${label.padEnd(LABEL_WIDTH)}`, text, width);
}

/**
 * The words of an override as a shell splits them: a quoted string (`"<why>"`) or a placeholder
 * (`<your user name>`) is one word. Text with an unclosed quote or placeholder is split at every space.
 */
function shellWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let closing = '';
  for (const char of text) {
    if (closing !== '') {
      word += char;
      if (char === closing) closing = '';
    } else if (char === ' ') {
      if (word !== '') words.push(word);
      word = '';
    } else {
      word += char;
      if (char === '"' || char === "'") closing = char;
      else if (char === '<') closing = '>';
    }
  }
  if (closing !== '') return text.split(' ').filter((part) => part !== '');
  if (word !== '') words.push(word);
  return words;
}

/** An override that is a command to run (the others say what to annotate, in words). */
const COMMAND = /^(?:kubectl|helm) /;

/**
 * `  override: command`. A command is never broken inside a word: when it does not fit, its lines end with ` \`,
 * so that copied from the terminal it runs as written. A remark after it (`(only if ...)`, which a shell would
 * not take) goes on a line of its own. Other overrides wrap like text, keeping quoted values and placeholders whole.
 */
function overrideLabelled(text: string, width: number | undefined): string[] {
  const head = `${INDENT}${'override:'.padEnd(LABEL_WIDTH)}`;
  const words = shellWords(text);
  if (!COMMAND.test(text)) return hangingWords(head, words, width);
  const remarkAt = words.findIndex((word) => word.startsWith('('));
  const command = remarkAt < 0 ? words : words.slice(0, remarkAt);
  const remark = remarkAt < 0 ? [] : words.slice(remarkAt);
  return [...continued(head, command, width), ...(remark.length > 0 ? hangingWords(' '.repeat(head.length), remark, width) : [])];
}

/** Words after `head`, on lines ending with ` \` but the last, continuation lines indented two more. */
function continued(head: string, words: readonly string[], width: number | undefined): string[] {
  const [first = '', ...rest] = words;
  if (width === undefined) return [`${head}${words.join(' ')}`];
  const continuation = ' '.repeat(head.length + 2);
  const lines: string[] = [];
  let line = `${head}${first}`;
  for (let index = 0; index < rest.length; index++) {
    const word = rest[index] ?? '';
    const tail = rest.slice(index).join(' ');
    if (line.length + 1 + tail.length <= width) {
      line += ` ${tail}`;
      break;
    }
    // More words follow this line: leave room for its ` \`.
    if (line.length + 1 + word.length + 2 <= width) {
      line += ` ${word}`;
    } else {
      lines.push(`${line} \\`);
      line = `${continuation}${word}`;
    }
  }
  lines.push(line);
  return lines;
}

/** A command in a note: a backticked span starting with one (`volume-guard audit --release NAMESPACE/NAME`). */
const NOTE_COMMAND = /^`(?:kubectl|helm|volume-guard) [^`]*`$/;

/**
 * A note's words, a backticked span held as one word with what is attached to it (`(`, `;`...). Text with an
 * unclosed backtick is split at every space.
 */
function noteWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let quoted = false;
  for (const char of text) {
    if (char === '`') quoted = !quoted;
    if (char === ' ' && !quoted) {
      if (word !== '') words.push(word);
      word = '';
    } else word += char;
  }
  if (quoted) return text.split(' ').filter((part) => part !== '');
  if (word !== '') words.push(word);
  return words;
}

/**
 * `  - note`, wrapped. A command in it (in backticks) is never broken inside a line: it moves whole to the next
 * line, and when longer than a line it goes on lines of its own, without its backticks, ending with ` \` but the
 * last, so that copied from the terminal it runs as written.
 */
function noteLines(note: string, width: number | undefined): string[] {
  const head = `${INDENT}- `;
  const continuation = ' '.repeat(head.length);
  if (width === undefined || head.length + note.length <= width) return hanging(head, note, width);
  const available = Math.max(1, width - head.length);
  const lines: string[] = [];
  let words: string[] = [];
  const flush = (): void => {
    if (words.length > 0) lines.push(...hangingWords(lines.length === 0 ? head : continuation, words, width, continuation));
    words = [];
  };
  for (const word of noteWords(note)) {
    const start = word.indexOf('`');
    const end = word.lastIndexOf('`');
    const command = start < 0 ? '' : word.slice(start, end + 1);
    if (word.length <= available || !NOTE_COMMAND.test(command)) {
      words.push(word);
      continue;
    }
    if (start > 0) words.push(word.slice(0, start));
    flush();
    lines.push(...continued(lines.length === 0 ? head : continuation, shellWords(command.slice(1, -1)), width));
    if (end + 1 < word.length) words.push(word.slice(end + 1));
  }
  flush();
  return lines;
}

function describeScope(report: AuditReport): string {
  const scope = report.scope;
  switch (scope.kind) {
    case 'cluster':
      return `the whole cluster (${scope.nodes} node${scope.nodes === 1 ? '' : 's'})`;
    case 'node':
      return scope.withoutNodeObject === true
        ? `what is left of node ${scope.node} (no Node object: nothing to cordon or drain)`
        : `what a cordon or drain of node ${scope.node} would hit`;
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

function header(report: AuditReport, width: number | undefined, naming: Naming): string[] {
  const { cluster } = report;
  const counts = COUNT_LABELS.map(([kind, one, many]) => `${cluster.objects[kind]} ${cluster.objects[kind] === 1 ? one : many}`).join(', ');
  const longhorn = cluster.longhornInstalled ? '' : ' (Longhorn not installed)';
  const namespace = naming.longhornNamespace === undefined ? '' : ` Longhorn Volumes and Replicas below are in namespace ${naming.longhornNamespace}.`;
  return [
    ...wrap(`volume-guard audit of ${cluster.server} (context ${cluster.context || '-'}): ${describeScope(report)}`, width),
    ...wrap(`Generated ${report.generatedAt} from ${counts}${longhorn}.${namespace}`, width),
  ];
}

const CORDON_PREFIX = 'cordon/drain of node ';

/** What the findings of a group block, for its heading. */
function blocks(findings: readonly AuditFinding[], perRow: boolean): string {
  const operations = [...new Set(findings.map((finding) => finding.operation))];
  if (operations.length === 1) return operations[0] ?? '';
  if (perRow) {
    // Each row says what it blocks: the heading names the kinds of operation, the cordons once.
    const cordons = operations.filter((operation) => operation.startsWith(CORDON_PREFIX)).length;
    const others = operations.filter((operation) => !operation.startsWith(CORDON_PREFIX));
    return [...others, ...(cordons > 0 ? [`cordon/drain of ${cordons === 1 ? 'a node' : `${cordons} nodes`}`] : [])].join(', ') + ': each row says which';
  }
  if (operations.every((operation) => operation.startsWith(CORDON_PREFIX))) return 'cordon/drain of the node listed';
  return operations.join(', ');
}

/** Operations in a row: the cordons of several nodes said once (`cordon/drain of nodes n1, n2`). */
function operationsText(operations: readonly string[]): string {
  const nodes = operations.filter((operation) => operation.startsWith(CORDON_PREFIX)).map((operation) => operation.slice(CORDON_PREFIX.length));
  const others = operations.filter((operation) => !operation.startsWith(CORDON_PREFIX));
  const cordons = nodes.length === 0 ? [] : [nodes.length === 1 ? `${CORDON_PREFIX}${nodes[0] ?? ''}` : `cordon/drain of nodes ${nodes.join(', ')}`];
  return [...others, ...cordons].join(', ');
}

/**
 * One row per risk (risks.ts): the findings of one risk blocking several operations (a degraded volume blocks the
 * upgrade and the cordon of each node holding a copy), listed once per operation in the JSON, alike but for their
 * operation, override and the override accepting them, make one row naming its operations.
 */
interface Row {
  readonly finding: AuditFinding;
  readonly findings: readonly AuditFinding[];
  readonly operations: string[];
}

function rowsOf(findings: readonly AuditFinding[]): Row[] {
  return risksOf(findings).map((risk) => ({ ...risk, operations: [...new Set(risk.findings.map((finding) => finding.operation))] }));
}

/**
 * What accepts the row: ` (accepted by X)` when one override accepts it at every operation; when it is accepted at some
 * only, each override with the operations it is read for.
 */
function acceptedText(row: Row): string {
  const by = new Map<string, string[]>();
  for (const finding of row.findings) {
    if (finding.overriddenBy === undefined) continue;
    const operations = by.get(finding.overriddenBy) ?? [];
    if (!operations.includes(finding.operation)) operations.push(finding.operation);
    by.set(finding.overriddenBy, operations);
  }
  const [only] = by.keys();
  if (only !== undefined && by.size === 1 && acceptedEverywhere(row)) return ` (accepted by ${only})`;
  return [...by].map(([source, operations]) => ` (accepted by ${source} for ${operationsText(operations)})`).join('');
}

function why(row: Row, naming: Naming, perRow: boolean): string {
  const { finding } = row;
  const related = finding.related.length > 0 ? ` [${finding.related.map((object) => shortObject(object, naming)).join(', ')}]` : '';
  const mode = finding.mode === 'warn' ? ' (check in warn mode: does not fail the audit without --strict)' : '';
  const blocked = perRow ? ` (blocks: ${operationsText(row.operations)})` : '';
  return `${finding.reason}${related}${acceptedText(row)}${mode}${blocked}`;
}

function findingGroup(check: CheckId, findings: readonly AuditFinding[], width: number | undefined, context: GroupContext): string[] {
  const text = CHECK_TEXT[check];
  // single-replica's summary depends on its findings (numberOfReplicas 1 with several copies is no single copy).
  const grouped = rowsOf(findings);
  // A row of several operations: every row says what it blocks.
  const perRow = grouped.some((row) => row.operations.length > 1);
  const rowFindings = grouped.map((row) => row.finding);
  const summary =
    check === 'single-replica' && text.summaryFor ? text.summaryFor(rowFindings.length, rowFindings) : text.summary(rowFindings.length);
  const lines = wrap(`${check}: ${summary} (blocks: ${blocks(findings, perRow)})`, width);
  // A finding's node, unless it goes without saying: none for Helm release findings, and under --node the node
  // audited (the report's heading names it).
  const nodeOf = (finding: AuditFinding): string => {
    const node = finding.object.node ?? '';
    return node === context.scopeNode ? '' : node;
  };
  // A NODE column only where some finding has a node to show; then every finding is given its node, the node
  // audited too (a blank would read as no node), in columns and stacked rows alike.
  const withNode = findings.some((finding) => nodeOf(finding) !== '');
  const shownNode = (finding: AuditFinding): string => (withNode ? (finding.object.node ?? '') : '');
  const header = ['SEVERITY', 'OBJECT', ...(withNode ? ['NODE'] : []), 'WHY'];
  const whyOf = (row: Row): string => why(row, context.naming, perRow);
  const rows = grouped.map((row) => [
    row.finding.severity,
    shortObject(row.finding.object, context.naming),
    ...(withNode ? [shownNode(row.finding)] : []),
    whyOf(row),
  ]);
  if (width !== undefined && width - leadOf(columnWidths(header, rows)) < MIN_WHY_WIDTH) {
    lines.push(...stackedRows(grouped, width, shownNode, context.naming, whyOf));
  } else {
    lines.push(...table(header, rows, width));
  }
  // Each fix once, as each override: findings of one check may call for other advice (CHECK_TEXT fixOf).
  for (const fix of new Set(findings.map((finding) => finding.fix))) lines.push(...labelled('fix:', fix, width));
  for (const command of new Set(findings.map((finding) => finding.override))) lines.push(...overrideLabelled(command, width));
  return lines;
}

interface GroupContext {
  readonly naming: Naming;
  /** The node audited with --node. */
  readonly scopeNode?: string;
}

/** Rows too wide for columns: `  critical  Volume x on node n`, then its WHY indented below; both wrapped. */
function stackedRows(rows: readonly Row[], width: number, nodeOf: (finding: AuditFinding) => string, naming: Naming, whyOf: (row: Row) => string): string[] {
  const severityWidth = Math.max(...rows.map((row) => row.finding.severity.length));
  const lines: string[] = [];
  for (const row of rows) {
    const { finding } = row;
    const node = nodeOf(finding);
    const object = `${shortObject(finding.object, naming)}${node === '' ? '' : ` on node ${node}`}`;
    lines.push(...hanging(`${INDENT}${finding.severity.padEnd(severityWidth)}${GAP}`, object, width));
    lines.push(...hanging(STACKED_WHY_INDENT, whyOf(row), width));
  }
  return lines;
}

/** A Helm release label: its writer is the user running helm, judged then; no skip-by is kept for it. */
function isReleaseLabel(override: LingeringOverride): boolean {
  return override.field === 'label' && (override.object.kind === 'Secret' || override.object.kind === 'ConfigMap');
}

/** Two lines per override (wrapped): what and where with its reason, then its effect and when it is read. */
function overrideLines(override: LingeringOverride, width: number | undefined, naming: Naming): string[] {
  const reason = [
    override.reason === '' ? 'no reason given' : `reason: ${override.reason}`,
    override.writer !== '' ? `by ${override.writer}` : isReleaseLabel(override) ? 'written by whoever ran helm' : 'no writer',
    ...(override.until === '' ? [] : [`until ${override.until}`]),
  ].join('; ');
  return [
    ...hanging(INDENT, `${shortObject(override.object, naming)}: ${override.field} ${override.key}=${override.value} (${reason})`, width, `${INDENT}${INDENT}`),
    ...hanging(`${INDENT}${INDENT}`, `${override.effect}; read for ${override.appliesTo}`, width),
  ];
}

/**
 * What the listed overrides waive, for their heading: one not honored (expired, no writer, read for nothing) waives no
 * check now, and the heading must not say it does.
 */
function overridesWaiving(overrides: readonly LingeringOverride[]): string {
  const waiving = overrides.filter((override) => override.checks.length > 0).length;
  const idle = overrides.length - waiving;
  if (idle === 0) return 'each waives checks until it is removed';
  if (waiving === 0) return overrides.length === 1 ? 'it waives nothing now, see why below' : 'none waives anything now, see why below';
  const verb = (count: number): string => (count === 1 ? 'waives' : 'waive');
  return `${waiving} ${verb(waiving)} checks until removed; ${idle} ${verb(idle)} nothing now, see why below`;
}

/** The footer counts each risk once, as the table's rows show them (summary.distinct). */
function summaryLine(report: AuditReport): string {
  const summary = report.summary.distinct;
  if (summary.risks === 0) return 'No data-loss risk found.';
  const accepted = summary.overridden > 0 ? `; ${summary.overridden} accepted by a lingering override` : '';
  const byCheck = CHECK_IDS.map((id) => `${id} ${summary.byCheck[id]}`).join(', ');
  const risks = `${summary.risks} risk${summary.risks === 1 ? '' : 's'}`;
  return `${risks} found (${summary.critical} critical, ${summary.warning} warning${accepted}): ${byCheck}.`;
}

export function renderTable(report: AuditReport, options: TableOptions = {}): string {
  const { width } = options;
  const naming: Naming = { longhornNamespace: longhornNamespaceOf(report) };
  const context: GroupContext = { naming, scopeNode: report.scope.kind === 'node' ? report.scope.node : undefined };
  const lines = header(report, width, naming);
  for (const check of CHECK_IDS) {
    const findings = report.findings.filter((finding) => finding.check === check);
    if (findings.length === 0) continue;
    lines.push('', ...findingGroup(check, findings, width, context));
  }
  lines.push('');
  if (report.overrides.length > 0) {
    lines.push(...wrap(`Lingering overrides: ${report.overrides.length} (${overridesWaiving(report.overrides)})`, width));
    for (const override of report.overrides) lines.push(...overrideLines(override, width, naming));
  } else {
    lines.push('Lingering overrides: none');
  }
  if (report.notes.length > 0) {
    lines.push('', 'Notes:');
    for (const note of report.notes) lines.push(...noteLines(note, width));
  }
  lines.push('', ...wrap(summaryLine(report), width));
  return `${lines.join('\n')}\n`;
}

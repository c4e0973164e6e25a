// The table at a terminal's width with names as real clusters have them (cloud node names, Longhorn volumes named
// after their PV's uid), and the override commands as a shell reads them when copied from the terminal.
import { describe, expect, it } from 'vitest';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { renderTable } from '../../../src/audit/render.ts';
import type { AuditReport, AuditScope } from '../../../src/audit/types.ts';
import { CHECK_IDS } from '../../../src/checks/types.ts';
import { CLUSTER, GENERATED_AT, goldenModel, UPGRADE_OBJECTS } from './golden-cluster.ts';
import { NODE_A, realisticReport, SINGLE } from './realistic-cluster.ts';

function golden(scope: AuditScope): AuditReport {
  return buildAuditReport({ model: goldenModel(), scope, cluster: CLUSTER, upgradeObjects: UPGRADE_OBJECTS, generatedAt: GENERATED_AT });
}

const NODE_SCOPE: AuditScope = { kind: 'node', node: NODE_A };
const DEVLAKE: AuditScope = { kind: 'release', namespace: 'devlake', name: 'devlake', revisions: [] };

const REPORTS: readonly (readonly [string, () => AuditReport])[] = [
  ['realistic cluster', () => realisticReport({ kind: 'cluster' })],
  ['realistic --node', () => realisticReport(NODE_SCOPE)],
  ['golden cluster', () => golden({ kind: 'cluster' })],
  ['golden --node', () => golden({ kind: 'node', node: 'node-1' })],
  ['golden --release', () => golden(DEVLAKE)],
];

/**
 * The lines past `width`, but a command's continuation line holding one word (a skip naming every check refused on a
 * node runs to 87 characters): a shell word cannot be broken.
 */
const overlong = (text: string, width: number): string[] =>
  text.split('\n').filter((line) => line.length > width && !/^ +volume-guard\.io\/skip=\S+( \\)?$/.test(line));

describe('table width', () => {
  it.each([80, 100])('fits every line in %i columns with realistic names', (width) => {
    for (const [, report] of REPORTS) expect(overlong(renderTable(report(), { width }), width)).toEqual([]);
  });

  it('fits every line at every width from 70 columns (where each word fits) to 160', () => {
    for (const [name, report] of REPORTS) {
      const built = report();
      for (let width = 70; width <= 160; width++) expect(overlong(renderTable(built, { width }), width), `${name} at ${width}`).toEqual([]);
    }
  });

  it('stacks the rows when the fixed columns leave the reason too little room: object line, reason indented below', () => {
    const lines = renderTable(realisticReport({ kind: 'cluster' }), { width: 80 }).split('\n');
    const group = lines.indexOf('single-replica: 2 Longhorn volumes have a single copy of their data (blocks:');
    expect(group).toBeGreaterThanOrEqual(0);
    expect(lines.slice(group + 2, group + 7)).toEqual([
      `  critical  Volume ${SINGLE} on node`,
      `            ${NODE_A}`,
      '      numberOfReplicas is 1, its only replica is on node',
      `      ${NODE_A} (detached) [PVC`,
      // It blocks the upgrade and the cordon of its node: the row says so.
      '      payments-production/data-postgresql-primary-0] (blocks: upgrade,',
    ]);
    expect(lines.some((line) => line.includes('SEVERITY'))).toBe(false);
  });

  it('keeps the columns when they leave the reason room enough', () => {
    const text = renderTable(realisticReport({ kind: 'cluster' }), { width: 160 });
    expect(text).toContain(`  SEVERITY  OBJECT`);
    expect(text).toMatch(new RegExp(`^  critical  Volume ${SINGLE}  ${NODE_A.replaceAll('.', '\\.')}  numberOfReplicas is 1`, 'm'));
  });

  it('--node: no NODE column when every finding is on the node audited (the heading names it)', () => {
    const text = renderTable(realisticReport(NODE_SCOPE), { width: 200 });
    const headers = text.split('\n').filter((line) => line.startsWith('  SEVERITY'));
    expect(headers.length).toBeGreaterThan(0);
    for (const header of headers) expect(header).toMatch(/^ {2}SEVERITY {2}OBJECT +WHY$/);
    expect(text).toContain(`what a cordon or drain of node ${NODE_A} would hit`);
    // Stacked, the node is not repeated on the object line either.
    expect(renderTable(realisticReport(NODE_SCOPE), { width: 80 })).toMatch(new RegExp(`^  critical  Volume ${SINGLE}$`, 'm'));
  });

  it("names Longhorn volumes and replicas without Longhorn's namespace, said once in the heading", () => {
    const report = realisticReport({ kind: 'cluster' });
    const text = renderTable(report);
    expect(text).not.toContain('longhorn-system/');
    expect(text).toContain('Longhorn Volumes and Replicas below are in namespace longhorn-system.');
    expect(text).toContain(`  critical  Volume ${SINGLE}  `);
    expect(text).toContain(`Replica ${SINGLE}-r-1a2b3c4d]`);
    // Not when they are in more than one namespace.
    const [first, ...rest] = report.findings;
    const mixed: AuditReport = { ...report, findings: [{ ...first!, object: { ...first!.object, namespace: 'longhorn-old' } }, ...rest] };
    const mixedText = renderTable(mixed);
    expect(mixedText).toContain(`Volume longhorn-old/${SINGLE}`);
    expect(mixedText).toContain('Volume longhorn-system/pvc-');
    expect(mixedText).not.toContain('below are in namespace');
  });
});

/** A shell's words of a line with its quoting kept: `a="x y" <b c>` is two words (placeholders held as one). */
function words(command: string): string[] {
  return command.match(/(?:"[^"]*"|'[^']*'|<[^>]*>|[^\s"'<])+/g) ?? [];
}

const LABEL = '  override: ';

/** The override blocks of a table: the label's line and the lines under it. */
function overrideBlocks(text: string): string[][] {
  const blocks: string[][] = [];
  let block: string[] | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith(LABEL)) blocks.push((block = [line.slice(LABEL.length)]));
    else if (block !== undefined && line.startsWith(' '.repeat(LABEL.length))) block.push(line);
    else block = undefined;
  }
  return blocks;
}

/** The overrides the table shows, in its order: per check, each once. */
function overridesOf(report: AuditReport): string[] {
  return CHECK_IDS.flatMap((check) => [...new Set(report.findings.filter((finding) => finding.check === check).map((finding) => finding.override))]);
}

describe('override commands', () => {
  it('wraps a command with ` \\` continuations: joined as a shell joins them, it is the command', () => {
    let commands = 0;
    for (const [name, report] of REPORTS) {
      const built = report();
      const expected = overridesOf(built);
      for (const width of [undefined, 60, 70, 80, 100, 120, 160]) {
        const blocks = overrideBlocks(renderTable(built, width === undefined ? {} : { width }));
        expect(blocks.length, `${name} at ${width}`).toBe(expected.length);
        blocks.forEach((block, index) => {
          const override = expected[index]!;
          if (!/^(kubectl|helm) /.test(override)) return;
          commands++;
          const commandLines = block.slice(0, block.findIndex((line) => !line.endsWith(' \\')) + 1);
          // POSIX: a backslash before a newline is removed with it.
          const joined = commandLines.join('\n').replace(/\\\n/g, '');
          const command = override.replace(/ \(.*\)$/, '');
          expect(words(joined), `${name} at ${width}`).toEqual(words(command));
          // A remark that is no part of the command goes under it, on lines of its own.
          const remark = block.slice(commandLines.length).map((line) => line.trim()).join(' ');
          expect(remark).toBe(override.slice(command.length).trim());
        });
      }
    }
    expect(commands).toBeGreaterThan(20);
  });

  it('never breaks a quoted value or a placeholder of an override written in words', () => {
    const text = renderTable(golden({ kind: 'cluster' }), { width: 80 });
    const block = overrideBlocks(text).find((lines) => lines[0]?.startsWith('annotate the upgrade object') === true)!;
    expect(block).toBeDefined();
    for (const line of block) {
      expect(line.split('"').length % 2).toBe(1);
      expect(line.split('<').length).toBe(line.split('>').length);
    }
  });
});

describe('commands in notes', () => {
  const NOTE = '  - ';
  /** The table's notes, each as its lines (the `- ` line and those indented under it). */
  function noteBlocks(text: string): string[][] {
    const lines = text.split('\n');
    const blocks: string[][] = [];
    for (const line of lines.slice(lines.indexOf('Notes:') + 1)) {
      if (line.startsWith(NOTE)) blocks.push([line.slice(NOTE.length)]);
      else if (line.startsWith(' '.repeat(NOTE.length)) && blocks.length > 0) blocks.at(-1)!.push(line.slice(NOTE.length));
      else break;
    }
    return blocks;
  }

  it("wraps the default configuration's command with ` \\` continuations: joined as a shell joins them, it is the command", () => {
    const report = buildAuditReport({ model: goldenModel(), scope: { kind: 'cluster' }, cluster: CLUSTER, generatedAt: GENERATED_AT });
    const note = report.notes.find((line) => line.startsWith('judged with the default configuration'))!;
    const commands = [...note.matchAll(/`((?:kubectl|helm|volume-guard) [^`]*)`/g)].map((match) => match[1]!);
    expect(commands[0]).toMatch(/^kubectl get configmap -n NAMESPACE NAME .* && volume-guard audit --config volume-guard.yaml$/);
    for (const width of [60, 70, 80, 100, 120]) {
      const text = renderTable(report, { width });
      expect(overlong(text, width), `at ${width}`).toEqual([]);
      const block = noteBlocks(text).find((lines) => lines[0]!.startsWith('judged with the default configuration'))!;
      for (const command of commands) {
        // On one line (inline, in its backticks), or on lines of its own ending with ` \` but the last.
        if (block.some((line) => line.includes(`\`${command}\``))) continue;
        const start = block.findIndex((line) => line.trimStart().startsWith(command.split(' ').slice(0, 4).join(' ')));
        expect(start, `${command} at ${width}`).toBeGreaterThanOrEqual(0);
        const end = block.findIndex((line, index) => index >= start && !line.endsWith(' \\'));
        const joined = block.slice(start, end + 1).join('\n').replace(/\\\n/g, '');
        expect(words(joined), `at ${width}`).toEqual(words(command));
      }
      // The prose keeps every word but the commands', in order.
      const prose = block.join(' ').replace(/\\/g, ' ');
      for (const word of note.replace(/`[^`]*`/g, ' ').split(' ').filter((part) => part !== '')) expect(prose).toContain(word);
    }
  });
});

describe('--node: the NODE column', () => {
  it('once some finding is on another node, names every finding its node, in columns and stacked alike', () => {
    const report = realisticReport(NODE_SCOPE);
    const [first, ...rest] = report.findings;
    const mixed: AuditReport = { ...report, findings: [{ ...first!, object: { ...first!.object, node: 'other-node' } }, ...rest] };
    const sameCheck = mixed.findings.filter((finding) => finding.check === first!.check);
    expect(sameCheck.some((finding) => finding.object.node === NODE_A)).toBe(true);
    // Columns: each row of the group names its node.
    const wide = renderTable(mixed, { width: 400 }).split('\n');
    const heading = wide.findIndex((line) => line.startsWith(`${first!.check}: `));
    const rows = wide.slice(heading + 2, heading + 2 + sameCheck.length);
    expect(wide[heading + 1]).toMatch(/^ {2}SEVERITY {2}OBJECT +NODE +WHY$/);
    sameCheck.forEach((finding, index) => expect(rows[index], finding.object.name).toContain(`  ${finding.object.node}  `));
    // Stacked: the same nodes, on the object lines (a node name may wrap to the next line).
    const narrow = renderTable(mixed, { width: 80 }).split('\n');
    const start = narrow.findIndex((line) => line.startsWith(`${first!.check}: `));
    const objects = narrow
      .slice(start + 1)
      .map((line, index, lines) => (/^ {2}(critical|warning) /.test(line) ? `${line} ${/^ {12}\S/.test(lines[index + 1] ?? '') ? lines[index + 1]!.trim() : ''}` : undefined))
      .filter((line) => line !== undefined)
      .slice(0, sameCheck.length);
    expect(objects.length).toBe(sameCheck.length);
    sameCheck.forEach((finding, index) => expect(objects[index]!.replace(/\s+/g, ' ').trim()).toMatch(new RegExp(` on node ${finding.object.node!.replaceAll('.', '\\.')}$`)));
  });
});

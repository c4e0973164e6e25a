// Golden-output tests of the table, the JSON and the PolicyReports, and the layout rules the table follows.
// Golden files live in test/unit/audit/golden/; after an intended change, rewrite them with
//   UPDATE_GOLDEN=1 npx vitest run test/unit/audit/render.test.ts
// and review the diff.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderPolicyReports } from '../../../src/audit/policyreport.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { renderJson, renderTable, table, wrap } from '../../../src/audit/render.ts';
import { AUDIT_API_VERSION, type AuditReport, type AuditScope } from '../../../src/audit/types.ts';
import { node } from '../../support/fixtures.ts';
import { CLUSTER, GENERATED_AT, goldenModel, modelOf, RELEASE_RECORDS, UPGRADE_OBJECTS } from './golden-cluster.ts';

const GOLDEN_DIR = join(import.meta.dirname, 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

function expectGolden(name: string, actual: string): void {
  const file = join(GOLDEN_DIR, name);
  if (UPDATE) {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  if (!existsSync(file)) throw new Error(`golden file ${name} is missing: run with UPDATE_GOLDEN=1 to create it`);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

const NOTES = ['plans.upgrade.cattle.io not checked for lingering overrides: plans.upgrade.cattle.io is forbidden'];

function report(scope: AuditScope): AuditReport {
  // Judged with a configuration file, as the webhook's: no-risk.txt shows the note of an audit without one.
  return buildAuditReport({
    model: goldenModel(),
    scope,
    cluster: CLUSTER,
    upgradeObjects: UPGRADE_OBJECTS,
    notes: NOTES,
    generatedAt: GENERATED_AT,
    configFile: 'volume-guard.yaml',
    releaseRecords: RELEASE_RECORDS,
  });
}

const SHOP: AuditScope = { kind: 'release', namespace: 'shop', name: 'shop', revisions: [{ version: 3, status: 'deployed' }] };
const DEVLAKE: AuditScope = { kind: 'release', namespace: 'devlake', name: 'devlake', revisions: [] };

describe('golden output', () => {
  it('table of the whole cluster, for a pipe (no wrapping)', () => {
    expectGolden('cluster.txt', renderTable(report({ kind: 'cluster' })));
  });

  it('table of the whole cluster on an 100-column terminal', () => {
    expectGolden('cluster-100.txt', renderTable(report({ kind: 'cluster' }), { width: 100 }));
  });

  it('table of one node', () => {
    expectGolden('node-1.txt', renderTable(report({ kind: 'node', node: 'node-1' }), { width: 120 }));
  });

  it('tables of a Helm release, uninstalled and installed', () => {
    expectGolden('release-devlake.txt', renderTable(report(DEVLAKE)));
    expectGolden('release-shop.txt', renderTable(report(SHOP)));
  });

  it('table of a cluster without risk or override', () => {
    const safe = buildAuditReport({
      model: modelOf({ node: [node({ name: 'n1' })] }, { longhornInstalled: false }),
      scope: { kind: 'cluster' },
      cluster: CLUSTER,
      generatedAt: GENERATED_AT,
    });
    expectGolden('no-risk.txt', renderTable(safe));
  });

  it('JSON of the whole cluster and of a release', () => {
    expectGolden('cluster.json', renderJson(report({ kind: 'cluster' })));
    expectGolden('release-shop.json', renderJson(report(SHOP)));
  });

  it('PolicyReports of the whole cluster', () => {
    expectGolden('cluster-policyreport.yaml', renderPolicyReports(report({ kind: 'cluster' })));
  });
});

describe('JSON schema volume-guard.io/audit/v1', () => {
  const parsed = JSON.parse(renderJson(report({ kind: 'cluster' }))) as Record<string, unknown>;

  it('has the documented top-level fields, in order', () => {
    expect(Object.keys(parsed)).toEqual(['apiVersion', 'generatedAt', 'cluster', 'scope', 'summary', 'findings', 'overrides', 'notes', 'config']);
    expect(parsed['apiVersion']).toBe(AUDIT_API_VERSION);
    expect(Object.keys(parsed['summary'] as object)).toEqual(['risks', 'critical', 'warning', 'overridden', 'byCheck', 'overrides', 'distinct']);
    expect(Object.keys((parsed['summary'] as Record<string, object>)['distinct']!)).toEqual(['risks', 'critical', 'warning', 'overridden', 'byCheck']);
  });

  it('gives every finding the documented fields', () => {
    for (const finding of parsed['findings'] as Record<string, unknown>[]) {
      expect(Object.keys(finding).slice(0, 9)).toEqual(['check', 'severity', 'object', 'reason', 'tags', 'related', 'operation', 'fix', 'override']);
      expect(Object.keys(finding).length === 9 || Object.keys(finding)[9] === 'overriddenBy').toBe(true);
    }
    for (const override of parsed['overrides'] as Record<string, unknown>[]) {
      expect(Object.keys(override)).toEqual(['object', 'field', 'key', 'value', 'checks', 'unknown', 'effect', 'appliesTo', 'reason', 'writer', 'until']);
    }
  });
});

describe('table layout', () => {
  it('keeps every line of the report within the terminal width when the fixed columns fit', () => {
    const text = renderTable(report({ kind: 'node', node: 'node-1' }), { width: 120 });
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(120);
  });

  it('writes long reasons in full when not wrapping', () => {
    const text = renderTable(report({ kind: 'cluster' }));
    expect(text).toContain('replica vol-disk-r-node-3 on node node-3 uses disk disk-node-3, which no longer exists on that node');
    expect(text.split('\n').some((line) => line.length > 200)).toBe(true);
  });

  it('wraps words, cutting only words longer than the width', () => {
    expect(wrap('a bb ccc dddd', 6)).toEqual(['a bb', 'ccc', 'dddd']);
    expect(wrap('abcdefghij xy', 4)).toEqual(['abcd', 'efgh', 'ij', 'xy']);
    expect(wrap('short', undefined)).toEqual(['short']);
    expect(wrap('', 10)).toEqual(['']);
  });

  it('aligns columns to the widest cell and hangs wrapped text under the last column', () => {
    const lines = table(
      ['A', 'LONG', 'TEXT'],
      [
        ['x', 'y', 'one two three four five six seven eight nine ten eleven twelve'],
        ['xxxx', 'yyyyyy', 'short'],
      ],
      50,
    );
    expect(lines[0]).toBe('  A     LONG    TEXT');
    const start = lines[0]!.indexOf('TEXT');
    expect(lines[1]!.indexOf('one')).toBe(start);
    expect(lines.length).toBeGreaterThan(3);
    const continuation = lines[2]!;
    expect(continuation.slice(0, start).trim()).toBe('');
    expect(lines.at(-1)).toBe('  xxxx  yyyyyy  short');
  });
});

describe('the whole-cluster totals count each risk once', () => {
  it('a risk accepted at one operation it blocks and refused at the others: one row, the footer counts it once, not accepted', () => {
    const model = goldenModel();
    const annotations = {
      'volume-guard.io/skip': 'volume-health',
      'volume-guard.io/skip-reason': 'disk swap',
      'volume-guard.io/skip-by': 'alice@example.com',
    };
    model.upsert('node', node({ name: 'node-3', annotations }));
    const whole = buildAuditReport({ model, scope: { kind: 'cluster' }, cluster: CLUSTER, generatedAt: GENERATED_AT, configFile: 'volume-guard.yaml', releaseRecords: RELEASE_RECORDS });
    const disk = whole.findings.filter((f) => f.object.name === 'vol-disk');
    expect(disk.map((f) => `${f.operation}: ${f.overriddenBy ?? '-'}`)).toEqual([
      'cordon/drain of node node-1: -',
      'cordon/drain of node node-2: -',
      'cordon/drain of node node-3: annotation volume-guard.io/skip on Node node-3',
      'upgrade: -',
    ]);
    const text = renderTable(whole);
    const rows = text.split('\n').filter((line) => line.includes('Volume vol-disk'));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain(
      '(accepted by annotation volume-guard.io/skip on Node node-3 for cordon/drain of node node-3) (blocks: upgrade, cordon/drain of nodes node-1, node-2, node-3)',
    );
    expect(whole.summary.distinct.byCheck['volume-health']).toBe(2);
    // Refused at the upgrade and two cordons still: not counted as accepted.
    expect(whole.summary.distinct.overridden).toBe(2);
    // audit/v1's own totals count findings: vol-disk's four, one of them accepted.
    expect(whole.summary.byCheck['volume-health']).toBe(6);
    expect(whole.summary.overridden).toBe(3);
    expect(text).toContain('10 risks found (9 critical, 1 warning; 2 accepted by a lingering override)');
  });
});

describe('the lingering overrides heading', () => {
  const heading = (audit: AuditReport): string | undefined => renderTable(audit).split('\n').find((line) => line.startsWith('Lingering overrides:'));

  it('does not say each one waives checks when some waive nothing now (not honored, read for nothing)', () => {
    const whole = report({ kind: 'cluster' });
    const waiving = whole.overrides.filter((override) => override.checks.length > 0).length;
    expect([waiving, whole.overrides.length]).toEqual([6, 10]);
    expect(heading(whole)).toBe('Lingering overrides: 10 (6 waive checks until removed; 4 waive nothing now, see why below)');
  });

  it('keeps the short heading when each one waives checks, and says when none does', () => {
    const whole = report({ kind: 'cluster' });
    const honored = whole.overrides.filter((override) => override.checks.length > 0);
    const ignored = whole.overrides.filter((override) => override.checks.length === 0);
    expect(heading({ ...whole, overrides: honored })).toBe('Lingering overrides: 6 (each waives checks until it is removed)');
    expect(heading({ ...whole, overrides: ignored.slice(0, 1) })).toBe('Lingering overrides: 1 (it waives nothing now, see why below)');
    expect(heading({ ...whole, overrides: ignored })).toBe('Lingering overrides: 4 (none waives anything now, see why below)');
    expect(heading({ ...whole, overrides: [...honored.slice(0, 1), ...ignored.slice(0, 1)] })).toBe('Lingering overrides: 2 (1 waives checks until removed; 1 waives nothing now, see why below)');
  });
});

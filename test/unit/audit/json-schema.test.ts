// schemas/audit-v1.schema.json describes `volume-guard audit -o json` exactly: the golden JSON and reports of every
// scope validate against it, its lists of check ids and object kinds are the code's, and a field it does not
// describe fails (so a new field is documented with it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { buildAuditReport, OPERATION_FORMS } from '../../../src/audit/report.ts';
import { renderJson } from '../../../src/audit/render.ts';
import type { AuditReport, AuditScope } from '../../../src/audit/types.ts';
import { CHECK_IDS } from '../../../src/checks/types.ts';
import { RESOURCE_KINDS } from '../../../src/cluster/records.ts';
import { node } from '../../support/fixtures.ts';
import { CLUSTER, GENERATED_AT, goldenModel, modelOf, UPGRADE_OBJECTS } from './golden-cluster.ts';
import { NODE_A, realisticReport } from './realistic-cluster.ts';

interface Schema {
  readonly properties: {
    readonly cluster: { readonly properties: { readonly objects: { readonly required: readonly string[] } } };
    readonly summary: { readonly properties: { readonly byCheck: { readonly required: readonly string[] } } };
  };
  readonly definitions: {
    readonly checkId: { readonly enum: readonly string[] };
    readonly finding: { readonly properties: { readonly operation: { readonly description: string } } };
  };
}

const schema = JSON.parse(readFileSync(new URL('../../../schemas/audit-v1.schema.json', import.meta.url), 'utf8')) as Schema;
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);

function errorsOf(json: unknown): string[] {
  return validate(json) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message ?? ''}`);
}

function golden(scope: AuditScope, modes: Parameters<typeof buildAuditReport>[0]['modes'] = {}): AuditReport {
  return buildAuditReport({ model: goldenModel(), scope, cluster: CLUSTER, upgradeObjects: UPGRADE_OBJECTS, generatedAt: GENERATED_AT, modes });
}

/** A report as JSON.parse of `-o json` gives it. */
const parsed = (report: AuditReport): unknown => JSON.parse(renderJson(report));

describe('schemas/audit-v1.schema.json', () => {
  it.each(['cluster.json', 'release-shop.json'])('validates the golden %s', (file) => {
    expect(errorsOf(JSON.parse(readFileSync(join(import.meta.dirname, 'golden', file), 'utf8')))).toEqual([]);
  });

  it('validates a report of every scope, warn-mode findings, and a cluster without Longhorn', () => {
    const reports = [
      golden({ kind: 'node', node: 'node-1' }),
      golden({ kind: 'release', namespace: 'devlake', name: 'devlake', revisions: [] }),
      golden({ kind: 'cluster' }, { 'single-replica': 'warn', 'orphan-pvc': 'off' }),
      realisticReport({ kind: 'node', node: NODE_A }),
      buildAuditReport({ model: modelOf({ node: [node({ name: 'n1' })] }, { longhornInstalled: false }), scope: { kind: 'cluster' }, cluster: CLUSTER, generatedAt: GENERATED_AT }),
    ];
    expect(reports[2]!.findings.some((finding) => finding.mode === 'warn')).toBe(true);
    for (const report of reports) expect(errorsOf(parsed(report))).toEqual([]);
  });

  it('takes a report of an earlier version, without summary.distinct', () => {
    const { distinct: _distinct, ...summary } = golden({ kind: 'cluster' }).summary;
    expect(errorsOf({ ...(parsed(golden({ kind: 'cluster' })) as object), summary })).toEqual([]);
  });

  it('refuses a field it does not describe, and a check id the code does not have', () => {
    const report = golden({ kind: 'cluster' });
    expect(errorsOf({ ...parsed(report) as object, extra: 1 })).not.toEqual([]);
    const [first, ...rest] = report.findings;
    expect(errorsOf(parsed({ ...report, findings: [{ ...first!, check: 'no-such-check' as never }, ...rest] }))).not.toEqual([]);
  });

  it("lists the code's check ids and object kinds", () => {
    expect(schema.definitions.checkId.enum).toEqual(CHECK_IDS);
    expect(schema.properties.summary.properties.byCheck.required).toEqual(CHECK_IDS);
    expect(schema.properties.cluster.properties.objects.required).toEqual(RESOURCE_KINDS);
  });

  it("lists every form of a finding's operation, and the reports' operations are of those forms", () => {
    expect(schema.definitions.finding.properties.operation.description).toBe(`${OPERATION_FORMS.join(' | ')} (N: a node; NS/NAME: a Helm release, or the Cluster API object rolled out)`);
    const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const forms = OPERATION_FORMS.map((form) => new RegExp(`^${escape(form).replace('NS/NAME', '[^/]+/[^/]+').replace(/\bN\b/g, '\\S+')}$`));
    const reports = [golden({ kind: 'cluster' }), golden({ kind: 'node', node: 'node-1' }), golden({ kind: 'release', namespace: 'devlake', name: 'devlake', revisions: [] }), realisticReport({ kind: 'cluster' })];
    const operations = new Set(reports.flatMap((report) => report.findings.map((finding) => finding.operation)));
    expect(operations.size).toBeGreaterThan(2);
    for (const operation of operations) expect(forms.some((form) => form.test(operation)), operation).toBe(true);
  });
});

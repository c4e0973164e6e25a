// The audit under configured check modes (off not reported, warn marked and not failing without --strict) and
// its PolicyReport rendering (wgpolicyk8s.io/v1alpha2): one result per risk (its findings under several operations
// in one), the check id as rule, placed by their object's namespace. The CRD schema itself is enforced by the real API server in
// test/e2e/observe-audit.e2e.test.ts.
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { policyReports, renderPolicyReports, reportName } from '../../../src/audit/policyreport.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { risksOf } from '../../../src/audit/risks.ts';
import { failingFindings } from '../../../src/audit/run.ts';
import type { AuditReport, AuditScope } from '../../../src/audit/types.ts';
import type { CheckMode } from '../../../src/config.ts';
import type { CheckId } from '../../../src/checks/types.ts';
import { CLUSTER, GENERATED_AT, goldenModel, UPGRADE_OBJECTS } from './golden-cluster.ts';

function audit(modes: Partial<Record<CheckId, CheckMode>> = {}, scope: AuditScope = { kind: 'cluster' }): AuditReport {
  return buildAuditReport({ model: goldenModel(), scope, cluster: CLUSTER, generatedAt: GENERATED_AT, upgradeObjects: UPGRADE_OBJECTS, modes });
}

describe('audit: configured check modes', () => {
  const enforced = audit();

  it('reports nothing of a check that is off, and says so in a note', () => {
    const report = audit({ 'single-replica': 'off', 'node-local-volume': 'off' });
    expect(report.findings.some((f) => f.check === 'single-replica' || f.check === 'node-local-volume')).toBe(false);
    const dropped = enforced.findings.filter((f) => f.check === 'single-replica' || f.check === 'node-local-volume').length;
    expect(report.findings.length).toBe(enforced.findings.length - dropped);
    expect(report.summary.risks).toBe(report.findings.length);
    const distinct = enforced.summary.distinct;
    expect(report.summary.distinct.risks).toBe(distinct.risks - distinct.byCheck['single-replica'] - distinct.byCheck['node-local-volume']);
    expect(report.summary.byCheck['single-replica']).toBe(0);
    expect(report.notes).toContain('not reported, mode off in the configuration: single-replica, node-local-volume');
    expect(enforced.notes.some((note) => note.startsWith('not reported'))).toBe(false);
  });

  it('marks warn-mode findings, which fail the exit code only with --strict', () => {
    const report = audit({ 'volume-health': 'warn' });
    const warned = report.findings.filter((f) => f.mode === 'warn');
    expect(warned.length).toBe(enforced.summary.byCheck['volume-health']);
    expect(risksOf(warned)).toHaveLength(enforced.summary.distinct.byCheck['volume-health']);
    expect(warned.every((f) => f.check === 'volume-health')).toBe(true);
    expect(enforced.findings.every((f) => f.mode === undefined)).toBe(true);
    // Warnings (data on a node that no longer exists: nothing is refused for it) do not fail it either.
    expect(report.findings.some((f) => f.severity === 'warning' && f.mode === undefined)).toBe(true);
    expect(failingFindings(report, false)).toBe(report.findings.filter((f) => f.mode !== 'warn' && f.severity === 'critical').length);
    expect(failingFindings(report, true)).toBe(report.findings.length);
  });

  it('exits 0 when every finding is of a warn-mode check, unless --strict', () => {
    const allWarn = audit({ 'single-replica': 'warn', 'volume-health': 'warn', 'last-replica-on-node': 'warn', 'node-local-volume': 'warn', 'orphan-pvc': 'warn' });
    expect(allWarn.findings.length).toBeGreaterThan(0);
    expect(failingFindings(allWarn, false)).toBe(0);
    expect(failingFindings(allWarn, true)).toBe(allWarn.findings.length);
  });
});

/** The report with only vol-single's single-replica finding, its claim dropped (a statically made volume). */
function withoutClaim(report: AuditReport): AuditReport {
  const finding = report.findings.find((f) => f.check === 'single-replica' && f.object.name === 'vol-single');
  if (finding === undefined) throw new Error('golden audit has no single-replica finding for vol-single');
  return { ...report, findings: [{ ...finding, related: finding.related.filter((object) => object.kind !== 'PersistentVolumeClaim') }] };
}

describe('audit -o policyreport', () => {
  const report = audit({ 'volume-health': 'warn' });
  const reports = policyReports(report);

  it('gives one result per risk, the check id as the rule, placed by namespace', () => {
    const results = reports.flatMap((r) => r.results);
    // The reports' summary counts distinct risks (summary.distinct), the audit's v1 totals findings.
    expect(results).toHaveLength(report.summary.distinct.risks);
    expect(report.summary.distinct.risks).toBeLessThan(report.summary.risks);
    expect(reports.reduce((sum, r) => sum + r.summary.fail + r.summary.warn + r.summary.skip, 0)).toBe(report.summary.distinct.risks);
    // No two results alike but for their operations (summary.fail counted each risk once per operation before).
    const alike = results.map((result) => JSON.stringify([result.rule, result.resources, result.message]));
    expect(new Set(alike).size).toBe(alike.length);
    expect(reports[0]?.kind).toBe('ClusterPolicyReport');
    expect(reports[0]?.metadata.namespace).toBeUndefined();
    for (const r of reports.slice(1)) {
      expect(r.kind).toBe('PolicyReport');
      for (const result of r.results) expect(result.resources[0]?.namespace).toBe(r.metadata.namespace);
    }
    for (const result of reports[0]?.results ?? []) expect(result.resources[0]?.namespace).toBeUndefined();
    // Longhorn's namespace holds the volumes, not the data's owners: its report would show them other teams' claims.
    expect(reports.map((r) => r.metadata.namespace ?? '-')).toEqual(['-', 'default', 'shop']);
    const rules = results.map((result) => result.rule).sort();
    expect(rules).toEqual(risksOf(report.findings).map((risk) => risk.finding.check).sort());
    expect(new Set(results.map((result) => result.policy))).toEqual(new Set(['volume-guard']));
  });

  it('maps each risk: fail when enforced, warn (not scored) in warn mode, skip when an override accepts it', () => {
    const results = reports.flatMap((r) => r.results);
    for (const risk of risksOf(report.findings)) {
      const { finding, findings } = risk;
      const named = finding.object.kind === 'Volume' ? finding.related[0]?.name : finding.object.name;
      const matches = results.filter((result) => result.rule === finding.check && result.resources[0]?.name === named && result.message === finding.reason);
      expect(matches, `${finding.check} ${finding.object.name}`).toHaveLength(1);
      const match = matches[0];
      // Its operations, listed in one property: the result stands for every finding of the risk.
      expect(match?.properties['operation']?.split('; ').sort()).toEqual(findings.map((f) => f.operation).sort());
      const failing = findings.some((f) => f.mode !== 'warn' && f.overriddenBy === undefined && f.severity === 'critical');
      const skipped = findings.every((f) => f.overriddenBy !== undefined);
      expect(match?.result).toBe(failing ? 'fail' : skipped ? 'skip' : 'warn');
      expect(match?.scored).toBe(failing);
      expect(match?.severity).toBe(finding.severity === 'critical' ? 'critical' : 'medium');
      expect(match?.properties['fix']).toBe(finding.fix);
      if (findings.length === 1) {
        expect(match?.properties['override']).toBe(finding.override);
        if (finding.overriddenBy !== undefined) expect(match?.properties['overriddenBy']).toBe(finding.overriddenBy);
      } else {
        // An override per operation, each after the operation it is for.
        for (const f of findings) expect(match?.properties['override']).toContain(`${f.operation}: ${f.override}`);
      }
    }
    expect(results.some((result) => result.result === 'warn')).toBe(true);
    expect(results.some((result) => result.result === 'fail')).toBe(true);
    expect(results.filter((result) => result.result === 'skip').map((result) => `${result.rule} ${result.resources[0]?.name}`)).toEqual(['node-local-volume pv-mysql']);
  });

  it('fails a risk refused at one operation and accepted at another, naming the override of the operation it accepts', () => {
    const orders = report.findings.filter((f) => f.check === 'single-replica' && f.object.name === 'vol-single');
    expect(orders.map((f) => f.operation)).toEqual(['cordon/drain of node node-1', 'upgrade']);
    const accepted = { ...report, findings: orders.map((f) => (f.operation === 'upgrade' ? f : { ...f, overriddenBy: 'annotation volume-guard.io/skip on Node node-1' })) };
    const [result, ...others] = policyReports(accepted).flatMap((r) => r.results);
    expect(others).toEqual([]);
    expect(result?.result).toBe('fail');
    expect(result?.properties['overriddenBy']).toBe('cordon/drain of node node-1: annotation volume-guard.io/skip on Node node-1');
    expect(policyReports({ ...accepted, findings: accepted.findings.map((f) => ({ ...f, overriddenBy: 'x' })) })[1]?.results.map((r) => r.result)).toEqual(['skip']);
  });

  it('skips, not warns, a warn-mode finding an override accepts', () => {
    const overridden = report.findings.find((finding) => finding.overriddenBy !== undefined);
    expect(overridden).toBeDefined();
    const warned = { ...report, findings: [{ ...overridden!, mode: 'warn' as const }] };
    expect(policyReports(warned)[0]?.results.map((result) => [result.result, result.scored])).toEqual([['skip', false]]);
  });

  it('names the Kubernetes API version of each resource', () => {
    const resources = reports.flatMap((r) => r.results.flatMap((result) => result.resources));
    const byKind = new Map(resources.map((resource) => [resource.kind, resource.apiVersion]));
    expect(byKind.get('PersistentVolumeClaim')).toBe('v1');
    expect(byKind.get('PersistentVolume')).toBe('v1');
    const unclaimed = withoutClaim(report);
    expect(policyReports(unclaimed)[0]?.results[0]?.resources).toEqual([{ apiVersion: 'longhorn.io/v1beta2', kind: 'Volume', namespace: 'longhorn-system', name: 'vol-single' }]);
  });

  it("reports a Longhorn volume's findings to its claim's namespace, naming the claim, the volume in properties", () => {
    const shop = reports.find((r) => r.metadata.namespace === 'shop');
    const orders = shop?.results.filter((result) => result.resources[0]?.name === 'orders');
    // single-replica blocks the upgrade and the cordon of node-1, its copy's node: one result naming both.
    expect(orders?.map((result) => [result.rule, result.result, result.properties['operation']])).toEqual([
      ['single-replica', 'fail', 'upgrade; cordon/drain of node node-1'],
      ['last-replica-on-node', 'fail', 'cordon/drain of node node-1'],
    ]);
    for (const result of orders ?? []) {
      expect(result.resources).toEqual([{ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'orders' }]);
      expect(result.properties['volume']).toBe('Volume longhorn-system/vol-single');
      expect(result.properties['related']).toBeUndefined();
    }
    const logs = reports.find((r) => r.metadata.namespace === 'default')?.results.find((result) => result.rule === 'volume-health');
    expect(logs?.resources[0]).toMatchObject({ kind: 'PersistentVolumeClaim', namespace: 'default', name: 'logs' });
    expect(logs?.properties['volume']).toBe('Volume longhorn-system/vol-disk');
  });

  it('names no object of another namespace in a namespaced report', () => {
    const namespaced = reports.filter((r) => r.kind === 'PolicyReport');
    expect(namespaced.length).toBeGreaterThan(0);
    for (const r of namespaced) {
      for (const result of r.results) {
        for (const resource of result.resources) expect(resource.namespace).toBe(r.metadata.namespace);
        for (const entry of (result.properties['related'] ?? '').split(', ').filter((text) => text !== '')) {
          const ref = entry.split(' ')[1] ?? '';
          if (ref.includes('/')) expect(ref.startsWith(`${r.metadata.namespace}/`), `${r.metadata.namespace}: ${entry}`).toBe(true);
        }
        const others = ['shop', 'default'].filter((ns) => ns !== r.metadata.namespace);
        const { volume: _volume, ...rest } = result.properties;
        for (const ns of others) expect(JSON.stringify([result.message, rest]), `${r.metadata.namespace}`).not.toContain(`${ns}/`);
      }
    }
  });

  it('reports a Longhorn volume without a claim in the ClusterPolicyReport', () => {
    const reportsOf = policyReports(withoutClaim(report));
    expect(reportsOf.map((r) => r.kind)).toEqual(['ClusterPolicyReport']);
    expect(reportsOf[0]?.results[0]?.properties['volume']).toBeUndefined();
  });

  it('gives the API server URL on the ClusterPolicyReport only', () => {
    expect(reports[0]?.metadata.annotations['volume-guard.io/server']).toBe(CLUSTER.server);
    for (const r of reports.slice(1)) expect(Object.keys(r.metadata.annotations)).toEqual(['volume-guard.io/generated-at', 'volume-guard.io/config']);
  });

  it('counts the results in each summary', () => {
    for (const r of reports) {
      expect(r.summary.fail).toBe(r.results.filter((x) => x.result === 'fail').length);
      expect(r.summary.warn).toBe(r.results.filter((x) => x.result === 'warn').length);
      expect(r.summary.skip).toBe(r.results.filter((x) => x.result === 'skip').length);
      expect(r.summary.pass + r.summary.error).toBe(0);
    }
    expect(reports[0]?.summary.skip).toBe(1);
  });

  it('renders YAML documents that parse back to the same objects', () => {
    const documents = parseAllDocuments(renderPolicyReports(report));
    expect(documents.map((document) => document.toJS())).toEqual(JSON.parse(JSON.stringify(reports)));
  });

  it('still renders an (empty) ClusterPolicyReport when nothing was found', () => {
    const empty = { ...report, findings: [] };
    expect(policyReports(empty)).toEqual([expect.objectContaining({ kind: 'ClusterPolicyReport', results: [], summary: { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 } })]);
  });

  it('names reports after the scope, as DNS subdomains', () => {
    expect(reportName(report)).toBe('volume-guard');
    expect(reportName(audit({}, { kind: 'node', node: 'Worker_3' }))).toBe('volume-guard-node-worker-3');
    expect(reportName({ ...report, scope: { kind: 'release', namespace: 'shop', name: 'shop', installed: false } })).toBe('volume-guard-release-shop.shop');
  });

  it('gives one release name in two namespaces two reports, not one that each kubectl apply replaces', () => {
    const release = (namespace: string, name: string) => reportName({ ...report, scope: { kind: 'release', namespace, name, installed: true } });
    expect(release('shop', 'db')).toBe('volume-guard-release-shop.db');
    expect(release('other', 'db')).toBe('volume-guard-release-other.db');
    // A dash is no separator: a-b/c and a/b-c stay apart.
    expect(release('a-b', 'c')).not.toBe(release('a', 'b-c'));
  });

  it('keeps every name and part name a DNS-1123 subdomain of at most 253 characters', () => {
    const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
    const scopes = [
      { kind: 'release' as const, namespace: 'n'.repeat(63), name: `${'r'.repeat(200)}.x`, installed: true },
      { kind: 'release' as const, namespace: 'shop', name: 'db.-v2', installed: true },
      { kind: 'node' as const, node: `${'w'.repeat(240)}.example.com` },
      { kind: 'node' as const, node: 'Worker_3..-x' },
    ];
    for (const scope of scopes) {
      const name = reportName({ ...report, scope });
      expect(name, name).toMatch(subdomain);
      expect(`${name}-10`.length).toBeLessThanOrEqual(253);
    }
  });
});

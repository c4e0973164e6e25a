// The plan table is the one list of which checks guard which operation: every check is in a plan, every plan
// names a served webhook, the README carries the table, and the audit finds what the webhook judges.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import { NOTICES, PLANS, planChecks, plansMarkdown } from '../../../src/admission/plans.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import type { AuditScope } from '../../../src/audit/types.ts';
import { CHECK_IDS } from '../../../src/checks/types.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, harvesterUpgradeRequest } from '../../support/admission.ts';
import { CLUSTER, GENERATED_AT, goldenModel } from '../audit/golden-cluster.ts';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const config = defaultConfig();

function audit(scope: AuditScope) {
  return buildAuditReport({ model: goldenModel(), scope, cluster: CLUSTER, generatedAt: GENERATED_AT });
}

const sorted = (values: Iterable<string>): string[] => [...new Set(values)].sort();

describe('the plan table', () => {
  it('puts every check in the plan of some operation', () => {
    const planned = new Set([...Object.values(PLANS).flatMap((plan) => planChecks(plan)), ...Object.values(NOTICES).flatMap((notice) => notice.checks)]);
    expect(CHECK_IDS.filter((id) => !planned.has(id))).toEqual([]);
  });

  it('names served webhooks, and every webhook but the override guard judges some plan', () => {
    const targets = createValidators(config).map((validator) => validator.declaration.target);
    const planned = new Set([...Object.values(PLANS), ...Object.values(NOTICES)].map((plan) => plan.webhook));
    expect([...planned].filter((webhook) => !targets.includes(webhook))).toEqual([]);
    expect(targets.filter((target) => !planned.has(target))).toEqual(['overrides']);
  });

  it('lists each check once per plan', () => {
    for (const [id, plan] of Object.entries(PLANS)) expect(sorted(planChecks(plan)), id).toEqual(planChecks(plan).sort());
  });

  it('is the README table, and the README names the node plan for audit --node', () => {
    expect(readme).toContain(plansMarkdown());
    const node = planChecks(PLANS['node-cordon']);
    expect(readme).toContain(`only the node-cordon checks for that node: ${node.slice(0, -1).join(', ')} and ${node.at(-1) ?? ''} scoped to it`);
  });
});

describe('audit and webhook agree (golden scenario)', () => {
  const model = goldenModel();

  it('audit --node finds the checks a cordon of that node is judged by', () => {
    const validator = nodeCordonValidator(config);
    for (const node of ['node-1', 'node-2', 'node-3']) {
      const decision = validator.handle(cordonRequest(node), context(model, { config }));
      const report = audit({ kind: 'node', node });
      expect(sorted(report.findings.map((finding) => finding.check)), node).toEqual(sorted(decision.checks ?? []));
      for (const finding of report.findings) expect(planChecks(PLANS['node-cordon'])).toContain(finding.check);
    }
  });

  it('the whole-cluster audit reports as "upgrade" exactly what an upgrade is judged by', () => {
    const decision = upgradeValidator(config).handle(
      harvesterUpgradeRequest(),
      context(model, { config }),
    );
    const report = audit({ kind: 'cluster' });
    const upgrade = report.findings.filter((finding) => finding.operation === 'upgrade');
    expect(upgrade.length).toBeGreaterThan(0);
    expect(decision.allowed).toBe(false);
    expect(sorted(upgrade.map((finding) => finding.check))).toEqual(sorted(decision.checks ?? []));
    // The rest of the cluster audit is per node, of the node plan's checks the upgrade does not run cluster-wide.
    const perNode = planChecks(PLANS['node-cordon']).filter((check) => !planChecks(PLANS.upgrade).includes(check));
    for (const finding of report.findings.filter((entry) => entry.operation !== 'upgrade')) expect(perNode).toContain(finding.check);
  });

  it('audit --release reports only checks of the helm-release plan', () => {
    const report = audit({ kind: 'release', namespace: 'shop', name: 'shop', revisions: [{ version: 1, status: 'uninstalled' }] });
    expect(report.findings.length).toBeGreaterThan(0);
    for (const finding of report.findings) expect(planChecks(PLANS['helm-release'])).toContain(finding.check);
  });
});

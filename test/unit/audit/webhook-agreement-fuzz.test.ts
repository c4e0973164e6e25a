// Differential over random cluster states: for every node, `audit --node N` lists unaccepted cordon findings exactly
// when the node-cordon webhook refuses the cordon of N, for the same checks; the whole-cluster audit lists the same
// cordon findings; the nodes_blocked gauge counts the nodes whose cordon the webhook refuses, per check.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { refusable } from '../../../src/audit/policyreport.ts';
import { buildAuditReport, nodeExitOperations } from '../../../src/audit/report.ts';
import { failingFindings } from '../../../src/audit/run.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { RESOURCE_KINDS } from '../../../src/cluster/records.ts';
import { defaultConfig } from '../../../src/config.ts';
import { NODE_CHECKS, RiskTracker } from '../../../src/observe/risks.ts';
import { context, cordonRequest } from '../../support/admission.ts';
import { longhornNode, node, seededRandom } from '../../support/fixtures.ts';
import { NODES, step } from '../../support/churn.ts';

const config = defaultConfig();

function cordonFindings(model: ClusterModel, scope: { kind: 'node'; node: string } | { kind: 'cluster' }, target: string) {
  const report = buildAuditReport({ model, scope, cluster: { server: 's', context: 'c' }, generatedAt: 'now', upgradeKinds: config.upgrades.kinds, writers: config.overrides });
  const cordon = report.findings.filter((f) => f.operation === `cordon/drain of node ${target}` || (scope.kind === 'node' && f.operation.startsWith('cordon')));
  return {
    report,
    blocking: cordon.filter((f) => refusable(f) && f.overriddenBy === undefined && f.mode !== 'warn'),
    all: cordon.map((f) => `${f.check} ${f.object.kind}/${f.object.name} ${f.severity} ${f.overriddenBy ?? '-'}`).sort(),
  };
}

describe('audit and gauges agree with the cordon webhook over random states', () => {
  for (const seed of Array.from({ length: 6 }, (_, k) => k + 100)) {
    it(`seed ${seed}`, () => {
      const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
      const tracker = new RiskTracker(model);
      const sink = tracker.sink();
      sink.setLonghornInstalled(true);
      for (const kind of RESOURCE_KINDS) {
        if (kind === 'node') sink.replaceAll('node', NODES.slice(0, 4).map((name) => node({ name, labels: { 'kubernetes.io/hostname': name } })));
        else if (kind === 'longhornNode') sink.replaceAll('longhornNode', NODES.slice(0, 4).map((name) => longhornNode({ name })));
        else sink.replaceAll(kind, []);
      }
      const random = seededRandom(seed);
      const log: string[] = [];
      for (let i = 0; i < 80; i++) {
        log.push(step(sink, model, random, i));
        const blockedByCheck = Object.fromEntries(NODE_CHECKS.map((c) => [c, 0])) as Record<string, number>;
        for (const name of NODES) {
          const record = model.node(name);
          if (record === undefined) continue;
          const decision = nodeCordonValidator(config).handle(cordonRequest(name, record.annotations), context(model, { config }));
          const scoped = cordonFindings(model, { kind: 'node', node: name }, name);
          const whole = cordonFindings(model, { kind: 'cluster' }, name);
          const where = `step ${i} node ${name}${record.unschedulable ? ' (cordoned)' : ''}\n${log.slice(-10).join('\n')}\nwebhook: ${decision.allowed ? 'allowed' : decision.status?.message}\naudit --node:\n${scoped.all.join('\n')}`;
          if (!record.unschedulable) {
            expect(decision.allowed, where).toBe(scoped.blocking.length === 0);
            const denied = [...new Set(decision.deniedChecks ?? [])].sort();
            const listed = [...new Set(scoped.blocking.map((f) => f.check))].sort();
            expect(listed, where).toEqual(denied);
            // The exit code of `audit --node` says whether the cordon (or its drain) is refused.
            if (!decision.allowed) expect(failingFindings(scoped.report, false), where).toBeGreaterThan(0);
          }
          // nodes_blocked: the nodes whose cordon or drain `audit --node` fails the exit code for, per check.
          const exitOps = nodeExitOperations({ node: name });
          const failing = scoped.report.findings.filter((f) => exitOps.includes(f.operation) && refusable(f) && f.overriddenBy === undefined && f.mode !== 'warn');
          for (const check of new Set(failing.map((f) => f.check))) blockedByCheck[check] = (blockedByCheck[check] ?? 0) + 1;
          expect(whole.all, `${where}\nwhole-cluster audit:\n${whole.all.join('\n')}`).toEqual(scoped.all.filter(() => true));
        }
        expect(tracker.flush()).toBe(true);
        expect(tracker.counts().nodesBlocked, `step ${i}\n${log.slice(-10).join('\n')}`).toEqual(blockedByCheck);
      }
    });
  }
});

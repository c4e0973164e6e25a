// The whole-cluster audit's upgrade findings beside the upgrade webhook's answer to a Harvester Upgrade CREATE on the
// same model: refusable upgrade findings exactly when the CREATE is refused.
import { describe, expect, it } from 'vitest';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { refusable } from '../../../src/audit/policyreport.ts';
import type { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, harvesterUpgradeRequest } from '../../support/admission.ts';
import { failedReplica, node } from '../../support/fixtures.ts';
import { addVolume, longhornCluster } from './cordon-agreement.ts';

const CASES: Record<string, (m: ClusterModel) => void> = {
  'single replica': (m) => addVolume(m, 'v', ['n1'], { numberOfReplicas: 1 }),
  'copies on n1 and cordoned n2': (m) => {
    addVolume(m, 'v', ['n1', 'n2']);
    m.upsert('node', node({ name: 'n2', unschedulable: true }));
  },
  'copy on down n2': (m) => {
    addVolume(m, 'v', ['n1', 'n2']);
    m.upsert('node', node({ name: 'n2', ready: 'False', readySince: 0 }));
  },
  degraded: (m) => addVolume(m, 'v', ['n1', 'n2'], { numberOfReplicas: 3, robustness: 'degraded' }),
  faulted: (m) => {
    addVolume(m, 'v', [], { numberOfReplicas: 3, robustness: 'faulted', state: 'detached' });
    m.upsert('longhornReplica', failedReplica({ volumeName: 'v', nodeID: 'n1' }));
  },
  'historic claim single': (m) => addVolume(m, 'v', ['n1'], { numberOfReplicas: 1, pvcName: '', pvcNamespace: '' }),
};

describe('audit (whole cluster) upgrade findings agree with an upgrade CREATE', () => {
  for (const [name, setup] of Object.entries(CASES)) {
    it(name, () => {
      const model = longhornCluster();
      setup(model);
      const decision = upgradeValidator(defaultConfig()).handle(harvesterUpgradeRequest(), context(model));
      const report = buildAuditReport({ model, scope: { kind: 'cluster' }, cluster: { server: 's', context: 'c' }, generatedAt: 'now' });
      const blocking = report.findings.filter((f) => f.operation === 'upgrade' && refusable(f)).map((f) => `${f.check}:${f.object.name}`);
      const summary = `webhook: ${decision.allowed ? 'allowed' : decision.status?.message}\naudit: ${report.findings.map((f) => `${f.check}:${f.object.name}:${f.operation}`).join('\n')}`;
      expect(decision.allowed, summary).toBe(blocking.length === 0);
    });
  }
});

// With the default nodeLocal.statefulSetEmptyDir (warn), a StatefulSet pod keeping data in an emptyDir
// (bitnami charts mount an `empty-dir` emptyDir in every pod) is a warning the webhook never refuses a cordon or drain
// for. `audit --node` must then exit 0 ("1: risks found" means the operation would be refused), unless --strict.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { failingFindings } from '../../../src/audit/run.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { nodeLocalOptionsOf } from '../../../src/checks/node-local-volume.ts';
import { context, cordonRequest } from '../../support/admission.ts';
import { namespace, node, pod } from '../../support/fixtures.ts';

describe('audit exit code for warning-only findings ', () => {
  it('a StatefulSet pod with an emptyDir under the default statefulSetEmptyDir: warn', () => {
    const model = new ClusterModel(VOLUME_SETS);
    model.setLonghornInstalled(false);
    model.upsert('namespace', namespace({ name: 'db' }));
    model.upsert('node', node({ name: 'node-1' }));
    model.upsert('node', node({ name: 'node-2' }));
    model.upsert('pod', pod({ namespace: 'db', name: 'postgresql-0', nodeName: 'node-1', controllerKind: 'StatefulSet', emptyDirs: ['empty-dir'] }));

    const config = defaultConfig();
    const decision = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model, { config }));
    expect(decision.allowed).toBe(true);

    const report = buildAuditReport({
      model,
      scope: { kind: 'node', node: 'node-1' },
      cluster: { server: 's', context: 'c' },
      generatedAt: 'now',
      nodeLocal: nodeLocalOptionsOf(config),
    });
    // Listed (so the operator learns of it), but it does not make the audit say the drain would be refused.
    expect(report.findings.map((f) => f.object.name)).toContain('postgresql-0');
    expect(failingFindings(report, false)).toBe(0);
    expect(failingFindings(report, true)).toBe(1);
  });
});

// A PVC Helm created for a release and kept by `helm.sh/resource-policy` through its uninstall (DevLake's
// devlake-grafana): the live PVC carries the policy, so `audit --release` and the whole-cluster audit see it. Not
// installed, installing the release again adopts it, which the webhook refuses (adopted-by-helm): critical. Installed,
// `helm uninstall` would leave it: a warning. No label names the release on it: Helm's annotations do.
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { releaseFindings } from '../../../src/audit/release.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { HELM_RELEASE_NAME_ANNOTATION, HELM_RELEASE_NAMESPACE_ANNOTATION } from '../../../src/kube.ts';
import { RiskTracker } from '../../../src/observe/risks.ts';
import { context } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';
import { devlakeManifest, releaseRecordRequest } from '../helm/helm-fixtures.ts';

const NS = 'devlake';
const KEPT = { [HELM_RELEASE_NAME_ANNOTATION]: 'devlake', [HELM_RELEASE_NAMESPACE_ANNOTATION]: NS, 'helm.sh/resource-policy': 'keep' };

const validator = helmReleaseValidator(defaultConfig());
afterAll(async () => {
  await validator.close?.();
});

function cluster(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert('persistentVolume', pv({ name: 'pv-grafana', claimNamespace: NS, claimName: 'devlake-grafana', reclaimPolicy: 'Retain' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'devlake-grafana', volumeName: 'pv-grafana', creationTimestamp: '2025-06-01T00:00:00Z', annotations: KEPT }));
  return model;
}

describe('a PVC kept by helm.sh/resource-policy from an earlier install', () => {
  it('is critical for a release not installed, as the webhook refuses its re-install', () => {
    const model = cluster();
    const decision = validator.handle(releaseRecordRequest({ name: 'devlake', namespace: NS, version: 1, status: 'pending-install', manifest: devlakeManifest() }), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain(`${NS}/devlake-grafana`);
    const audit = releaseFindings(model, NS, 'devlake', { installed: false, revision: 1, status: 'uninstalled' });
    expect(audit.findings.map((f) => [f.object.name, f.severity])).toEqual([['devlake-grafana', 'critical']]);
    expect(audit.findings[0]?.reason).toContain('kept by helm.sh/resource-policy: keep');
    expect(audit.notes.join('\n')).not.toContain('cannot see');
  });

  it('is a warning for an installed release: helm uninstall leaves it', () => {
    const audit = releaseFindings(cluster(), NS, 'devlake', { installed: true, revision: 2, status: 'deployed' });
    expect(audit.findings.map((f) => [f.object.name, f.severity, f.tags.includes('left-behind')])).toEqual([['devlake-grafana', 'warning', true]]);
    expect(audit.findings[0]?.reason).toMatch(/^kept by helm\.sh\/resource-policy: keep: helm uninstall leaves it behind/);
    expect(audit.notes.join('\n')).not.toContain('cannot see');
  });

  it('is found by the whole-cluster audit for an uninstalled release, from its annotations', () => {
    const report = buildAuditReport({
      model: cluster(),
      scope: { kind: 'cluster' },
      cluster: { server: 's', context: 'c' },
      generatedAt: '2026-01-15T08:00:00.000Z',
      releaseRecords: [{ namespace: NS, name: 'devlake', revisions: [{ version: 1, status: 'uninstalled' }] }],
    });
    expect(report.findings.map((f) => [f.object.name, f.severity, f.operation])).toEqual([['devlake-grafana', 'critical', 're-install of Helm release devlake/devlake']]);
  });

  it('is not counted by the orphan gauge, which cannot tell an installed release from one uninstalled', () => {
    const model = new ClusterModel(VOLUME_SETS);
    const tracker = new RiskTracker(model);
    const sink = tracker.sink();
    for (const [kind, records] of [
      ['namespace', cluster().records('namespace')],
      ['persistentVolume', cluster().records('persistentVolume')],
      ['persistentVolumeClaim', cluster().records('persistentVolumeClaim')],
    ] as const) {
      sink.replaceAll(kind, [...records] as never);
    }
    expect(tracker.flush()).toBe(true);
    expect(tracker.counts().atRiskVolumes['orphan-pvc']).toBe(0);
  });
});

// The whole-cluster audit reports seed 000's risk: PVCs labelled for a Helm release that is not installed, as
// `audit --release` reports them (what installing it again would hit). A release uninstalled with --keep-history is
// Helm's: critical, exit 1. A label no release record names may be another tool's (Argo CD): a warning at most.
import { describe, expect, it } from 'vitest';
import { buildAuditReport, NO_RELEASE_RECORD_TAG } from '../../../src/audit/report.ts';
import { failingFindings } from '../../../src/audit/run.ts';
import type { AuditInput } from '../../../src/audit/report.ts';
import type { AuditReport } from '../../../src/audit/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { namespace, pod, pvc, statefulSet } from '../../support/fixtures.ts';

const LEFTOVER = 'devlake-mysql-data-devlake-mysql-0';

function devlakeModel(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: 'devlake' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: 'devlake', name: LEFTOVER, volumeName: 'pv-mysql', labels: { 'app.kubernetes.io/instance': 'devlake' } }));
  return model;
}

function audit(model: ClusterModel, releaseRecords: AuditInput['releaseRecords']): AuditReport {
  return buildAuditReport({
    model,
    scope: { kind: 'cluster' },
    cluster: { server: 's', context: 'c' },
    generatedAt: '2026-01-15T08:00:00.000Z',
    ...(releaseRecords !== undefined ? { releaseRecords } : {}),
  });
}

const uninstalled = [{ namespace: 'devlake', name: 'devlake', revisions: [{ version: 2, status: 'uninstalled' }] }];

describe('the whole-cluster audit and releases not installed', () => {
  it('an uninstalled release kept with --keep-history: its leftover PVC blocks the re-install, as --release says', () => {
    const model = devlakeModel();
    const report = audit(model, uninstalled);
    const release = buildAuditReport({
      model,
      scope: { kind: 'release', namespace: 'devlake', name: 'devlake', revisions: uninstalled[0]!.revisions },
      cluster: { server: 's', context: 'c' },
      generatedAt: '2026-01-15T08:00:00.000Z',
    });
    expect(report.findings).toEqual(release.findings);
    expect(report.findings.map((f) => `${f.check} ${f.severity} ${f.object.name}: ${f.operation}`)).toEqual([
      `orphan-pvc critical ${LEFTOVER}: re-install of Helm release devlake/devlake`,
    ]);
    expect(failingFindings(report, false)).toBe(1);
    expect(report.notes.some((note) => note.includes('orphan-pvc is checked per Helm release'))).toBe(false);
  });

  it('a label no release record names: a warning pointing at --release, not failing the exit code', () => {
    const report = audit(devlakeModel(), []);
    expect(report.findings.map((f) => `${f.check} ${f.severity} ${f.object.name}`)).toEqual([`orphan-pvc warning ${LEFTOVER}`]);
    expect(report.findings[0]?.tags).toContain(NO_RELEASE_RECORD_TAG);
    expect(report.findings[0]?.reason).toContain('`volume-guard audit --release devlake/devlake` judges it as one');
    expect(failingFindings(report, false)).toBe(0);
    expect(failingFindings(report, true)).toBe(1);
  });

  it('no record, and a live StatefulSet claims the PVC (an Argo CD application): nothing', () => {
    const model = devlakeModel();
    model.upsert('statefulSet', statefulSet({ namespace: 'devlake', name: 'devlake-mysql', claimTemplates: ['devlake-mysql-data'], selector: { 'app.kubernetes.io/instance': 'devlake' } }));
    model.upsert('pod', pod({ namespace: 'devlake', name: 'devlake-mysql-0', claimNames: [LEFTOVER], controllerKind: 'StatefulSet' }));
    expect(audit(model, []).findings).toEqual([]);
  });

  it('an installed release: nothing (a re-install needs an uninstall first)', () => {
    const report = audit(devlakeModel(), [{ namespace: 'devlake', name: 'devlake', revisions: [{ version: 3, status: 'deployed' }] }]);
    expect(report.findings).toEqual([]);
  });

  it('release records not listed: the note says to run --release', () => {
    const report = audit(devlakeModel(), undefined);
    expect(report.findings).toEqual([]);
    expect(report.notes).toContain('orphan-pvc is checked per Helm release: run `volume-guard audit --release NAMESPACE/NAME` before re-installing one');
  });
});

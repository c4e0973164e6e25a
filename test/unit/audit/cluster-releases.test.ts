// The whole-cluster audit reports seed 000's risk: PVCs labelled for a Helm release that is not installed, as
// `audit --release` reports them (what installing it again would hit). A release uninstalled with --keep-history is
// Helm's: critical, exit 1. So is one with no record left (plain helm uninstall deletes them all): what nothing live
// claims is judged as --release judges it; PVCs a live StatefulSet claims or a live pod mounts (an Argo CD
// application's) are left out.
import { describe, expect, it } from 'vitest';
import { buildAuditReport, NO_RELEASE_RECORD_TAG } from '../../../src/audit/report.ts';
import { failingFindings } from '../../../src/audit/run.ts';
import { renderTable } from '../../../src/audit/render.ts';
import type { AuditInput } from '../../../src/audit/report.ts';
import type { AuditReport } from '../../../src/audit/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { defaultConfig } from '../../../src/config.ts';
import { RiskTracker } from '../../../src/observe/risks.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { namespace, pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { devlakeManifest, releaseSecret } from '../helm/helm-fixtures.ts';

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

/** `helm install devlake` again: the CREATE of its first record (none is left). */
function reinstall() {
  return request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: 'CREATE',
    namespace: 'devlake',
    name: 'sh.helm.release.v1.devlake.v1',
    userInfo: ADMIN,
    object: releaseSecret({ name: 'devlake', namespace: 'devlake', version: 1, status: 'pending-install', manifest: devlakeManifest() }),
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

  it('no release record at all (plain helm uninstall deletes them all, seed 000): judged as --release judges it', () => {
    const model = devlakeModel();
    const report = audit(model, []);
    const release = buildAuditReport({
      model,
      scope: { kind: 'release', namespace: 'devlake', name: 'devlake', revisions: [] },
      cluster: { server: 's', context: 'c' },
      generatedAt: '2026-01-15T08:00:00.000Z',
    });
    // The webhook refuses the re-install for it and volume_guard_orphan_pvcs counts it: critical, exit 1.
    expect(report.findings.map((f) => `${f.check} ${f.severity} ${f.object.name}: ${f.operation}`)).toEqual([
      `orphan-pvc critical ${LEFTOVER}: re-install of Helm release devlake/devlake`,
    ]);
    expect(report.findings.map((f) => ({ ...f, tags: f.tags.filter((tag) => tag !== NO_RELEASE_RECORD_TAG) }))).toEqual(release.findings);
    expect(report.findings[0]?.tags).toContain(NO_RELEASE_RECORD_TAG);
    expect(failingFindings(report, false)).toBe(1);
    expect(failingFindings(release, false)).toBe(1);
    // The webhook refuses the install naming it, and the gauge counts it.
    const decision = helmReleaseValidator(defaultConfig()).handle(reinstall(), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain(LEFTOVER);
    const tracked = new ClusterModel(VOLUME_SETS);
    const tracker = new RiskTracker(tracked);
    const sink = tracker.sink();
    sink.upsert('namespace', namespace({ name: 'devlake' }));
    for (const claim of model.records('persistentVolumeClaim')) sink.upsert('persistentVolumeClaim', claim);
    expect(tracker.flush()).toBe(true);
    expect(new Map(tracker.counts().orphanPvcs)).toEqual(new Map([['devlake', 1]]));
  });

  // Issue 19's review: a release with no record rendered exactly like one uninstalled with its history, and worded
  // for an install being judged ("this install may reuse its old data").
  it('no record: one note per release says so and why; the reason says what installing it again would do', () => {
    const report = audit(devlakeModel(), []);
    const note = "no Helm record of devlake/devlake: plain `helm uninstall` removed its records, or they are kept elsewhere (Flux storageNamespace), or the label is another tool's (Argo CD)";
    expect(report.notes.filter((line) => line === note)).toHaveLength(1);
    expect(report.findings[0]?.reason).toBe('labelled for release devlake but owned by nothing live; installing devlake again would adopt its old data');
    const table = renderTable(report).replace(/\s+/g, ' ');
    expect(table).toContain('no Helm record of devlake/devlake');
    expect(table).not.toContain('this install');
    // With its history kept, it is Helm's own: no such note.
    expect(audit(devlakeModel(), uninstalled).notes.some((line) => line.startsWith('no Helm record'))).toBe(false);
  });

  it('no record, and a live StatefulSet claims the PVC (an Argo CD application): nothing', () => {
    const model = devlakeModel();
    model.upsert('statefulSet', statefulSet({ namespace: 'devlake', name: 'devlake-mysql', claimTemplates: ['devlake-mysql-data'], selector: { 'app.kubernetes.io/instance': 'devlake' } }));
    model.upsert('pod', pod({ namespace: 'devlake', name: 'devlake-mysql-0', claimNames: [LEFTOVER], controllerKind: 'StatefulSet' }));
    expect(audit(model, []).findings).toEqual([]);
  });

  it('no record, and a live Deployment pod mounts a PVC labelled for the name (an Argo CD application): nothing, and no orphan counted', () => {
    const model = new ClusterModel(VOLUME_SETS);
    model.upsert('namespace', namespace({ name: 'grafana' }));
    model.upsert('persistentVolume', pv({ name: 'pv-grafana', claimNamespace: 'grafana', claimName: 'grafana' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'grafana', name: 'grafana', volumeName: 'pv-grafana', labels: { 'app.kubernetes.io/instance': 'grafana' } }));
    const running = pod({ namespace: 'grafana', name: 'grafana-7d9f8-abcde', claimNames: ['grafana'], controllerKind: 'ReplicaSet' });
    model.upsert('pod', running);
    const report = audit(model, []);
    expect(report.findings).toEqual([]);
    expect(failingFindings(report, false)).toBe(0);
    const tracker = new RiskTracker(new ClusterModel(VOLUME_SETS));
    const sink = tracker.sink();
    sink.upsert('namespace', namespace({ name: 'grafana' }));
    for (const claim of model.records('persistentVolumeClaim')) sink.upsert('persistentVolumeClaim', claim);
    sink.upsert('pod', running);
    expect(tracker.flush()).toBe(true);
    expect([...tracker.counts().orphanPvcs.values()].some((count) => count > 0)).toBe(false);
    // The pod finished: nothing uses the data any more, the leftover is seed 000's again (audit and gauge alike).
    const finished = { ...running, phase: 'Succeeded' };
    model.upsert('pod', finished);
    sink.upsert('pod', finished);
    expect(failingFindings(audit(model, []), false)).toBe(1);
    expect(tracker.flush()).toBe(true);
    expect(new Map(tracker.counts().orphanPvcs)).toEqual(new Map([['grafana', 1]]));
  });

  it('a release uninstalled with --keep-history keeps its full severity though a pod mounts the PVC', () => {
    const model = devlakeModel();
    model.upsert('pod', pod({ namespace: 'devlake', name: 'debug', claimNames: [LEFTOVER] }));
    expect(failingFindings(audit(model, uninstalled), false)).toBe(1);
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

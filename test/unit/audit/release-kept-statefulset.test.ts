// A release whose StatefulSet carries `helm.sh/resource-policy: keep`: `helm uninstall` leaves it running on its
// claims, and installing the release again adopts it (its meta.helm.sh annotations name the release). The webhook
// warns of nothing for those claims at the uninstall and lets the re-install through (helm-uninstall-kept-statefulset
// in accuracy/): `audit --release` and the whole-cluster audit must not list them as left behind either. A kept
// StatefulSet deleted by hand keeps nothing, and a PVC labelled for the release that nothing claims is still listed.
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { failingFindings } from '../../../src/audit/run.ts';
import type { ReleaseRevision } from '../../../src/audit/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context } from '../../support/admission.ts';
import { namespace, pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { releaseRecordRequest } from '../helm/helm-fixtures.ts';

const NS = 'shop';
const validator = helmReleaseValidator(defaultConfig());
afterAll(async () => {
  await validator.close?.();
});

const KEPT = `---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  annotations:
    helm.sh/resource-policy: keep
spec:
  replicas: 1
  selector:
    matchLabels: { app: db }
  template:
    metadata:
      labels: { app: db }
    spec:
      containers: [{ name: db, image: db }]
  volumeClaimTemplates:
    - metadata:
        name: data
`;

const INSTALLED: ReleaseRevision[] = [{ version: 1, status: 'deployed' }];
const UNINSTALLED: ReleaseRevision[] = [
  { version: 1, status: 'superseded' },
  { version: 2, status: 'uninstalled' },
];

function addClaim(model: ClusterModel, name: string): void {
  model.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}`, labels: { app: 'db', 'app.kubernetes.io/instance': 'db' }, ownerReferences: [] }));
}

/** StatefulSet db of release shop/db (kept unless `helmKeep` false; 'gone': deleted by hand), its pod db-0 on data-db-0. */
function cluster(live: { helmKeep: boolean } | 'gone' = { helmKeep: true }): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: NS }));
  if (live !== 'gone') {
    model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: 'uid-db', helmReleaseName: 'db', helmReleaseNamespace: NS, helmKeep: live.helmKeep, ...(live.helmKeep ? { helmPolicy: true as const } : {}), selector: { app: 'db' } }));
    model.upsert('pod', pod({ namespace: NS, name: 'db-0', controllerKind: 'StatefulSet', claimNames: ['data-db-0'] }));
  }
  addClaim(model, 'data-db-0');
  return model;
}

const releaseAudit = (model: ClusterModel, revisions: ReleaseRevision[]) =>
  buildAuditReport({ model, scope: { kind: 'release', namespace: NS, name: 'db', revisions }, cluster: { server: 's', context: 'c' }, generatedAt: '2026-01-15T08:00:00.000Z' });

const clusterAudit = (model: ClusterModel, revisions: ReleaseRevision[]) =>
  buildAuditReport({
    model,
    scope: { kind: 'cluster' },
    cluster: { server: 's', context: 'c' },
    generatedAt: '2026-01-15T08:00:00.000Z',
    releaseRecords: [{ namespace: NS, name: 'db', revisions }],
  });

const described = (report: ReturnType<typeof releaseAudit>) => report.findings.map((f) => `${f.object.name} ${f.severity} ${f.tags.join(',')}: ${f.reason}`);

describe('audit of a release whose StatefulSet helm.sh/resource-policy keeps', () => {
  it('installed: audit --release does not list its claims as left behind, as the uninstall warns of nothing for them', () => {
    const model = cluster();
    const uninstall = validator.handle(releaseRecordRequest({ name: 'db', namespace: NS, version: 2, status: 'uninstalling', manifest: KEPT }), context(model));
    expect((uninstall.warnings ?? []).join('\n')).not.toContain('data-db-0');
    const report = releaseAudit(model, INSTALLED);
    expect(described(report)).toEqual([]);
    expect(failingFindings(report, false)).toBe(0);
  });

  it('uninstalled: audit --release exits 0, as the webhook lets the re-install through', () => {
    const model = cluster();
    const install = validator.handle(releaseRecordRequest({ name: 'db', namespace: NS, version: 3, status: 'pending-install', manifest: KEPT }), context(model));
    expect(install.allowed).toBe(true);
    const report = releaseAudit(model, UNINSTALLED);
    expect(described(report)).toEqual([]);
    expect(failingFindings(report, false)).toBe(0);
  });

  it('uninstalled: the whole-cluster audit lists nothing for the release', () => {
    const report = clusterAudit(cluster(), UNINSTALLED);
    expect(report.findings.filter((f) => f.operation === `re-install of Helm release ${NS}/db`).map((f) => f.object.name)).toEqual([]);
    expect(failingFindings(report, false)).toBe(0);
  });

  it('a StatefulSet without the policy: its claim is still left behind by the uninstall', () => {
    const report = releaseAudit(cluster({ helmKeep: false }), INSTALLED);
    expect(report.findings.map((f) => [f.object.name, f.severity, f.tags.join(',')])).toEqual([['data-db-0', 'warning', 'statefulset-claim,left-behind']]);
  });

  it('a kept StatefulSet deleted by hand keeps nothing: its labelled claim is what a re-install would adopt', () => {
    const report = releaseAudit(cluster('gone'), UNINSTALLED);
    expect(report.findings.map((f) => f.object.name)).toEqual(['data-db-0']);
    expect(failingFindings(report, false)).toBe(1);
  });
});

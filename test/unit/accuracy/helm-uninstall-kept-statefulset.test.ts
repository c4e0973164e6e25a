// `helm uninstall` of a release whose StatefulSet its manifest marks `helm.sh/resource-policy: keep`: Helm deletes
// every other resource and leaves that StatefulSet, its pods running on its claims (a later install of the release
// adopts it, annotated for it as it is). Those claims are not left behind: the uninstall warning must not list them
// nor advise deleting them. A kept StatefulSet already gone (deleted by hand) keeps nothing: its claims are left.
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { pvcsLeftBehind } from '../../../src/checks/orphan-pvc.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { StatefulSetRecord } from '../../../src/cluster/records.ts';
import { defaultConfig } from '../../../src/config.ts';
import { parseManifest } from '../../../src/helm/manifest.ts';
import { context } from '../../support/admission.ts';
import { namespace, pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { releaseRecordRequest } from '../helm/helm-fixtures.ts';

const NS = 'shop';
const validator = helmReleaseValidator(defaultConfig());
afterAll(async () => {
  await validator.close?.();
});

const kept = `---
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

/** A labelled claim of the release bound to a PV that deletes its data. */
function addClaim(model: ClusterModel, name: string): void {
  model.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}`, labels: { 'app.kubernetes.io/instance': 'db' } }));
}

/**
 * StatefulSet db (1 replica, its pod db-0 on data-db-0; 'gone': deleted by hand), data-db-1 kept from a scale-down,
 * and an unclaimed PVC.
 */
function cluster(live: Partial<StatefulSetRecord> | 'gone' = {}): ClusterModel {
  const model = new ClusterModel();
  model.upsert('namespace', namespace({ name: NS }));
  if (live !== 'gone') {
    model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: 'uid-db', helmReleaseName: 'db', helmReleaseNamespace: NS, helmKeep: true, ...live }));
    model.upsert('pod', pod({ namespace: NS, name: 'db-0', controllerKind: 'StatefulSet', claimNames: ['data-db-0'] }));
  }
  for (const name of ['data-db-0', 'data-db-1', 'uploads']) addClaim(model, name);
  return model;
}

const uninstall = () => releaseRecordRequest({ name: 'db', namespace: NS, version: 2, status: 'uninstalling', manifest: kept });
const release = { name: 'db', namespace: NS, version: 2, status: 'uninstalling', manifest: kept, chartName: '', chartVersion: '', labels: {} };

describe('helm uninstall of a release whose StatefulSet says helm.sh/resource-policy: keep', () => {
  it('does not list the claims the kept StatefulSet goes on using, nor advise deleting them', () => {
    const decision = validator.handle(uninstall(), context(cluster()));
    expect(decision.allowed).toBe(true);
    const warnings = (decision.warnings ?? []).join('\n');
    expect(warnings).not.toContain('data-db-0');
    // Kept from a scale-down: the StatefulSet re-attaches it when scaled up again, kept or re-adopted.
    expect(warnings).not.toContain('data-db-1');
    // A PVC labelled for the release that nothing claims is still left behind.
    expect(warnings).toContain('leaves 1 PVC and data behind');
    expect(warnings).toContain('- PVC shop/uploads (PV pv-uploads, reclaim Delete)');
  });

  it('pvcsLeftBehind: the kept StatefulSet keeps them while it is live and not being deleted', () => {
    const left = (model: ClusterModel): string[] => pvcsLeftBehind(model, release, parseManifest(kept, NS)).map((c) => `${c.name} ${c.why}`).sort();
    expect(left(cluster())).toEqual(['uploads release-labelled']);
    // Deleted by hand before the uninstall, or being deleted: nothing keeps its claims.
    const all = ['data-db-0 statefulset-claim', 'data-db-1 statefulset-claim', 'uploads release-labelled'];
    expect(left(cluster('gone'))).toEqual(all);
    expect(left(cluster({ deleting: true }))).toEqual(all);
  });
});

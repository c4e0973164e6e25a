// One deletion, one answer. A Helm upgrade dropping a StatefulSet whose retention policy says whenDeleted: Delete
// (or a templated PVC) is judged at its release record, before Helm touches anything; then Helm deletes the
// StatefulSet (or PVC) itself, and when Helm runs as an automation identity (Flux's helm-controller) that DELETE is
// judged again by pvc-delete. The overrides an admin uses at one must count at the other, or the upgrade is refused
// twice, the second time half applied: the PVCs' `volume-guard.io/delete: "true"` now counts at the release record
// (the denial there always advised it), and the namespace's `volume-guard.io/skip` (read for Helm releases) counts
// at the DELETEs of that release's objects.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, releaseAnnotationManagedFields, request, statefulSetDeleteRequest } from '../../support/admission.ts';
import { namespace, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { devlakeManifest, releaseSecret } from '../helm/helm-fixtures.ts';

const config = defaultConfig();
const releases = helmReleaseValidator(config);
const deletes = pvcDeleteValidator(config);
const FLUX: UserInfo = { username: 'system:serviceaccount:flux-system:helm-controller', groups: ['system:serviceaccounts'] };
const NS = 'devlake';
const LAKE_UID = 'uid-lake';
const CLAIMS = ['devlake-lake-config-devlake-lake-0', 'devlake-lake-config-devlake-lake-1'];
const APPROVED = { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'admin' };
const HELM = { 'meta.helm.sh/release-name': 'devlake', 'meta.helm.sh/release-namespace': NS };

/** Release devlake installed; devlake-lake (whenDeleted: Delete) owns two Bound PVCs whose PVs say Delete. */
function cluster(options: { approve?: readonly string[]; namespaceSkip?: Record<string, string> } = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: NS, annotations: options.namespaceSkip ?? {} }));
  model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'devlake-mysql', uid: 'uid-mysql', claimTemplates: ['devlake-mysql-data'], helmReleaseName: 'devlake', helmReleaseNamespace: NS }));
  model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'devlake-lake', uid: LAKE_UID, claimTemplates: ['devlake-lake-config'], helmReleaseName: 'devlake', helmReleaseNamespace: NS }));
  for (const name of CLAIMS) {
    model.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
    model.upsert(
      'persistentVolumeClaim',
      pvc({
        namespace: NS,
        name,
        volumeName: `pv-${name}`,
        labels: { 'app.kubernetes.io/instance': 'devlake' },
        annotations: options.approve?.includes(name) ? APPROVED : {},
        ownerReferences: [{ kind: 'StatefulSet', name: 'devlake-lake', uid: LAKE_UID }],
      }),
    );
  }
  return model;
}

/** The pending-upgrade record Flux's helm-controller writes for revision 2, dropping devlake-lake. */
function upgradeRecord(): AdmissionRequest {
  return request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: 'CREATE',
    namespace: NS,
    name: 'sh.helm.release.v1.devlake.v2',
    userInfo: FLUX,
    object: releaseSecret({ name: 'devlake', namespace: NS, version: 2, status: 'pending-upgrade', manifest: devlakeManifest({ withLake: false }) }),
  });
}

/** Helm's DELETE of devlake-lake that follows (background propagation), by the same identity. */
const statefulSetDelete = (annotations: Record<string, string> = HELM): AdmissionRequest =>
  statefulSetDeleteRequest({
    namespace: NS,
    name: 'devlake-lake',
    uid: LAKE_UID,
    user: FLUX,
    whenDeleted: 'Delete',
    template: 'devlake-lake-config',
    annotations,
    options: { propagationPolicy: 'Background' },
  });

function pvcDelete(name: string, annotations: Record<string, string>): AdmissionRequest {
  return request({
    kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
    resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
    operation: 'DELETE',
    namespace: NS,
    name,
    userInfo: FLUX,
    oldObject: {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: NS, annotations, managedFields: releaseAnnotationManagedFields(annotations, 'helm-controller') },
      spec: { volumeName: `pv-${name}` },
      status: { phase: 'Bound' },
    },
  });
}

describe('a Helm upgrade dropping a StatefulSet (whenDeleted: Delete): the record and the DELETE agree', () => {
  it('without an override both refuse, naming the same PVCs', () => {
    const model = cluster();
    const record = releases.handle(upgradeRecord(), context(model));
    const removal = deletes.handle(statefulSetDelete(), context(model));
    for (const decision of [record, removal]) {
      expect(decision.allowed).toBe(false);
      for (const name of CLAIMS) expect(decision.status!.message).toContain(name);
    }
    // At the record, what keeps the PVCs is keeping the StatefulSet (Helm spares one whose live object says keep);
    // the annotation on the PVCs themselves means nothing to the garbage collector.
    const fix = record.status!.message.replace(/\n\s+/g, ' ');
    expect(fix).toContain('Fix: back the data up, or keep the StatefulSet: leave it in the chart, or annotate the live one helm.sh/resource-policy: keep;');
    expect(fix).not.toContain('keep the PVC (helm.sh/resource-policy: keep)');
  });

  it('the PVCs delete approvals count at the release record as at the DELETE (the advice the record gives)', () => {
    const record = releases.handle(upgradeRecord(), context(cluster()));
    expect(record.status!.message).toContain('volume-guard.io/delete=true');
    const approved = cluster({ approve: CLAIMS });
    const passed = releases.handle(upgradeRecord(), context(approved));
    expect(passed.allowed, passed.status?.message).toBe(true);
    expect(deletes.handle(statefulSetDelete(), context(approved)).allowed).toBe(true);
    // One approved, one not: both refuse, naming only the other.
    const half = cluster({ approve: [CLAIMS[0]!] });
    for (const decision of [releases.handle(upgradeRecord(), context(half)), deletes.handle(statefulSetDelete(), context(half))]) {
      expect(decision.allowed).toBe(false);
      expect(decision.status!.message).toContain(CLAIMS[1]);
      expect(decision.status!.message).not.toContain(CLAIMS[0]);
    }
  });

  it("the namespace's skip counts at the release record and at Helm's DELETEs of that release's StatefulSet and PVCs", () => {
    const skipped = cluster({ namespaceSkip: { 'volume-guard.io/skip': 'pvc-delete', 'volume-guard.io/skip-by': 'admin' } });
    expect(releases.handle(upgradeRecord(), context(skipped)).allowed).toBe(true);
    const removal = deletes.handle(statefulSetDelete(), context(skipped));
    expect(removal.allowed).toBe(true);
    expect(removal.auditAnnotations?.['overridden-checks']).toBe('pvc-delete');
    expect(deletes.handle(pvcDelete(CLAIMS[0]!, HELM), context(skipped)).allowed).toBe(true);
  });

  it('the namespace skip is not read for objects no Helm release of the namespace manages', () => {
    const skipped = cluster({ namespaceSkip: { 'volume-guard.io/skip': 'pvc-delete', 'volume-guard.io/skip-by': 'admin' } });
    expect(deletes.handle(statefulSetDelete({}), context(skipped)).allowed).toBe(false);
    expect(deletes.handle(pvcDelete(CLAIMS[0]!, {}), context(skipped)).allowed).toBe(false);
    // Annotated for a release of another namespace: that release's record never looked here.
    const foreign = { 'meta.helm.sh/release-name': 'devlake', 'meta.helm.sh/release-namespace': 'elsewhere' };
    expect(deletes.handle(statefulSetDelete(foreign), context(skipped)).allowed).toBe(false);
    // Without a recorded writer the namespace skip waives nothing, as at the record.
    const unsigned = cluster({ namespaceSkip: { 'volume-guard.io/skip': 'pvc-delete' } });
    expect(releases.handle(upgradeRecord(), context(unsigned)).allowed).toBe(false);
    expect(deletes.handle(statefulSetDelete(), context(unsigned)).allowed).toBe(false);
  });
});

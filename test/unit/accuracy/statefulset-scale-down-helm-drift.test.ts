// Flux's helm-controller corrects drift (`driftDetection.mode: enabled`) by patching a release's drifted objects as
// `helm-controller` (fluxcd/helm-controller internal/action/diff.go ApplyDiff, a JSON patch per object), with no
// release record: reverting replicas an autoscaler or `kubectl scale` raised, under whenScaled: Delete, deletes the
// claims of the pods it scales away, and no record was judged. Its upgrades write the same way, after a record. So a
// `helm-controller` write counts as Helm's own only while this volume-guard pod allowed a record of its release
// lately (AdmittedReleases); otherwise it is judged, by what the record honors too (the PVCs' approvals, the
// namespace's skip), so that an upgrade whose record another replica allowed gets the same answer here.
import { describe, expect, it } from 'vitest';
import { ADMITTED_RELEASE_TTL_MS, AdmittedReleases } from '../../../src/admission/helm-writes.ts';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { helmReleaseValidator, RefusedInstalls } from '../../../src/admission/validators/helm-release.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, releaseAnnotationManagedFields, request } from '../../support/admission.ts';
import { namespace, pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { devlakeManifest, releaseSecret } from '../helm/helm-fixtures.ts';

const config = defaultConfig();
const FLUX: UserInfo = { username: 'system:serviceaccount:flux-system:helm-controller', groups: ['system:serviceaccounts'] };
const NS = 'devlake';
const HELM = { 'meta.helm.sh/release-name': 'devlake', 'meta.helm.sh/release-namespace': NS };
const APPROVED = { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'admin' };

function stsObject(replicas: number, manager: string): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: NS, uid: 'uid-db', annotations: HELM, managedFields: releaseAnnotationManagedFields(HELM, manager) },
    spec: { replicas, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' }, volumeClaimTemplates: [{ metadata: { name: 'data' } }] },
  };
}

/** Helm's patch of StatefulSet db (release devlake) from 3 to 1 replica, as `fieldManager`. */
function patch(fieldManager: string): AdmissionRequest {
  return {
    ...request({
      kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
      resource: { group: 'apps', version: 'v1', resource: 'statefulsets' },
      operation: 'UPDATE',
      namespace: NS,
      name: 'db',
      userInfo: FLUX,
      object: stsObject(1, fieldManager),
      oldObject: stsObject(3, fieldManager),
    }),
    options: { kind: 'PatchOptions', apiVersion: 'meta.k8s.io/v1', fieldManager },
  };
}

/** db at 3 replicas (whenScaled: Delete), its pods on Bound claims whose PV says Delete. */
function model(options: { approve?: boolean; namespaceSkip?: boolean } = {}): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('namespace', namespace({ name: NS, annotations: options.namespaceSkip ? { 'volume-guard.io/skip': 'pvc-delete', 'volume-guard.io/skip-by': 'admin' } : {} }));
  m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: 'uid-db', replicas: 3, whenScaled: 'Delete', helmReleaseName: 'devlake', helmReleaseNamespace: NS }));
  for (const ordinal of [0, 1, 2]) {
    const name = `data-db-${ordinal}`;
    m.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}`, annotations: options.approve ? APPROVED : {} }));
    m.upsert('pod', pod({ namespace: NS, name: `db-${ordinal}`, claimNames: [name], controllerKind: 'StatefulSet' }));
  }
  return m;
}

/** The pending-upgrade record helm-controller writes before it upgrades release devlake. */
const upgradeRecord = (options: { dryRun?: boolean } = {}): AdmissionRequest => ({
  ...request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: 'CREATE',
    namespace: NS,
    name: 'sh.helm.release.v1.devlake.v2',
    userInfo: FLUX,
    object: releaseSecret({ name: 'devlake', namespace: NS, version: 2, status: 'pending-upgrade', manifest: devlakeManifest() }),
  }),
  ...(options.dryRun ? { dryRun: true } : {}),
});

describe("pvc-delete: Flux helm-controller's scale-down of a StatefulSet Helm manages", () => {
  it('judges its drift correction (no record of the release allowed here), with advice for the HelmRelease', () => {
    const decision = pvcDeleteValidator(config, new AdmittedReleases()).handle(patch('helm-controller'), context(model()));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    expect(message).toContain(`scale-down of StatefulSet ${NS}/db from 3 to 1 replica by ${FLUX.username}`);
    expect(message).toContain('data-db-2');
    expect(message).toContain('spec.driftDetection.ignore');
    // Its one patch puts the chart's whenScaled back too: Retain belongs in the HelmRelease's values.
    expect(message.replace(/\s+/g, ' ')).toContain("set whenScaled: Retain in the HelmRelease's values");
  });

  it('passes it once this pod allowed an upgrade record of the release (its upgrade), until that is old', () => {
    const admitted = new AdmittedReleases();
    const releases = helmReleaseValidator(config, new RefusedInstalls(), admitted);
    const deletes = pvcDeleteValidator(config, admitted);
    // A dry run marks nothing.
    expect(releases.handle(upgradeRecord({ dryRun: true }), context(new ClusterModel(VOLUME_SETS))).allowed).toBe(true);
    expect(deletes.handle(patch('helm-controller'), context(model())).allowed).toBe(false);
    expect(releases.handle(upgradeRecord(), context(new ClusterModel(VOLUME_SETS))).allowed).toBe(true);
    expect(deletes.handle(patch('helm-controller'), context(model())).allowed).toBe(true);
    const later = { ...context(model()), now: Date.now() + ADMITTED_RELEASE_TTL_MS + 1000 };
    expect(deletes.handle(patch('helm-controller'), later).allowed).toBe(false);
  });

  it("remembers the record only as long as helm-controller's timeout: the next reconcile's drift correction is judged", () => {
    // spec.timeout defaults to 5 minutes (hooks, then the objects); spec.interval is often 5 to 10 minutes.
    expect(ADMITTED_RELEASE_TTL_MS).toBeLessThanOrEqual(5 * 60_000);
    const admitted = new AdmittedReleases();
    const releases = helmReleaseValidator(config, new RefusedInstalls(), admitted);
    expect(releases.handle(upgradeRecord(), context(new ClusterModel(VOLUME_SETS))).allowed).toBe(true);
    const nextReconcile = { ...context(model()), now: Date.now() + 6 * 60_000 };
    expect(pvcDeleteValidator(config, admitted).handle(patch('helm-controller'), nextReconcile).allowed).toBe(false);
  });

  it('gives another replica the answer the record got: the PVCs approvals and the namespace skip count', () => {
    const elsewhere = pvcDeleteValidator(config, new AdmittedReleases());
    expect(elsewhere.handle(patch('helm-controller'), context(model({ approve: true }))).allowed).toBe(true);
    const skipped = elsewhere.handle(patch('helm-controller'), context(model({ namespaceSkip: true })));
    expect(skipped.allowed).toBe(true);
    expect(skipped.auditAnnotations?.['override-source']).toContain(`namespace ${NS}`);
    // The namespace's skip is not read for other writers of the StatefulSet.
    expect(elsewhere.handle(patch('kubectl-patch'), context(model({ namespaceSkip: true }))).allowed).toBe(false);
  });

  it('leaves the Helm CLI, which never writes without a record, to its record', () => {
    expect(pvcDeleteValidator(config, new AdmittedReleases()).handle(patch('helm'), context(model())).allowed).toBe(true);
  });
});

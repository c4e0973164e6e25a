// `helm upgrade` restoring a StatefulSet someone deleted by hand: `kubectl delete sts db` leaves its PVCs (retention
// Retain), and the next `helm upgrade db` creates it again (Helm's update creates every target whose Get returns
// NotFound), on its old claims: the release's own data, as a `helm rollback` restoring it would re-attach (a warning).
// What tells the release's own data from leftovers of an earlier install of that name is the record's
// info.first_deployed: Helm copies FirstDeployed into every upgrade (and rollback), while `helm install --replace` and
// `helm upgrade --install` over an uninstalled release run an install, which starts it anew. So a PVC labelled or
// annotated for the release and created since first_deployed (its second included: creationTimestamp has whole
// seconds, first_deployed nanoseconds) is this release's; one created before it, or any when the record has no
// readable first_deployed, is still refused.
import { afterAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { PersistentVolumeClaimRecord } from '../../../src/cluster/records.ts';
import { defaultConfig } from '../../../src/config.ts';
import { HELM_RELEASE_NAME_ANNOTATION, HELM_RELEASE_NAMESPACE_ANNOTATION } from '../../../src/kube.ts';
import { context } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';
import { releaseRecordRequest, statefulSetManifest } from '../helm/helm-fixtures.ts';

const NS = 'shop';
const validator = helmReleaseValidator(defaultConfig());
afterAll(async () => {
  await validator.close?.();
});

/** After `kubectl delete sts db`: no StatefulSet, no pod, PVC data-db-0 kept (PV Retain). */
function cluster(claim: Partial<PersistentVolumeClaimRecord> = {}): ClusterModel {
  const model = new ClusterModel();
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert('persistentVolume', pv({ name: 'pv-data-db-0', claimNamespace: NS, claimName: 'data-db-0', reclaimPolicy: 'Retain' }));
  model.upsert(
    'persistentVolumeClaim',
    pvc({ namespace: NS, name: 'data-db-0', volumeName: 'pv-data-db-0', labels: { 'app.kubernetes.io/instance': 'db' }, creationTimestamp: '2026-02-01T00:00:00Z', ...claim }),
  );
  return model;
}

/** The pending record of `helm upgrade db` (revision 4) or of an install; first_deployed 2026-01-10T10:00:00Z unless given. */
function record(status: 'pending-upgrade' | 'pending-install', firstDeployed?: string | null) {
  return releaseRecordRequest({
    name: 'db',
    namespace: NS,
    version: 4,
    status,
    manifest: statefulSetManifest({ replicas: 1 }),
    ...(firstDeployed !== undefined ? { firstDeployed } : {}),
  });
}

describe('helm upgrade re-creating a StatefulSet deleted by hand', () => {
  it("passes with a warning: the PVC, created after the release was first deployed, is the release's own data", () => {
    const decision = validator.handle(record('pending-upgrade'), context(cluster()));
    expect(decision.allowed).toBe(true);
    const warnings = (decision.warnings ?? []).join('\n');
    expect(warnings).toContain('shop/data-db-0');
    expect(warnings).toContain("re-attaches this release's own data");
  });

  it('holds for a PVC annotated for the release, and for a first_deployed written with an offset', () => {
    // (Annotated by Helm: a PVC an earlier revision declared, kept by its policy, so this upgrade does not delete it.)
    const annotations = { [HELM_RELEASE_NAME_ANNOTATION]: 'db', [HELM_RELEASE_NAMESPACE_ANNOTATION]: NS, 'helm.sh/resource-policy': 'keep' };
    expect(validator.handle(record('pending-upgrade'), context(cluster({ labels: {}, annotations }))).allowed).toBe(true);
    // 2026-02-01T00:30:00+01:00 is 2026-01-31T23:30:00Z, before the PVC.
    expect(validator.handle(record('pending-upgrade', '2026-02-01T00:30:00.123456789+01:00'), context(cluster())).allowed).toBe(true);
  });

  it('still refuses a PVC left by an earlier install (created before first_deployed), or not labelled for the release', () => {
    const earlier = validator.handle(record('pending-upgrade', '2026-03-01T00:00:00Z'), context(cluster()));
    expect(earlier.allowed).toBe(false);
    expect(earlier.status?.message).toContain('left by an earlier release');
    expect(validator.handle(record('pending-upgrade'), context(cluster({ labels: {} }))).allowed).toBe(false);
    // Created in the second before first_deployed's: an earlier install's.
    expect(validator.handle(record('pending-upgrade', '2026-02-01T00:00:01.002Z'), context(cluster())).allowed).toBe(false);
  });

  it("counts a PVC created in first_deployed's second as the release's own: the API server keeps whole seconds", () => {
    // Helm's install writes first_deployed (client clock, nanoseconds) before it creates anything; the StatefulSet
    // controller made the claim 0.6 s later, which the API server stores as 00:00:00Z.
    for (const firstDeployed of ['2026-02-01T00:00:00.300123456Z', '2026-02-01T00:00:00Z', '2026-02-01T01:00:00.999+01:00']) {
      const decision = validator.handle(record('pending-upgrade', firstDeployed), context(cluster()));
      expect(decision.status?.message ?? '', firstDeployed).toBe('');
      expect(decision.allowed).toBe(true);
      expect((decision.warnings ?? []).join('\n')).toContain("re-attaches this release's own data");
    }
  });

  it('refuses as before when the record has no first_deployed, or one that cannot be read', () => {
    for (const firstDeployed of [null, '', 'yesterday', '2026-01-10 10:00:00']) {
      expect(validator.handle(record('pending-upgrade', firstDeployed), context(cluster())).allowed, String(firstDeployed)).toBe(false);
    }
  });

  it('helm install --replace or upgrade --install over an uninstalled release: an install, with a new first_deployed, refused', () => {
    // The old release was first deployed 2026-01-10 and made the PVC 2026-02-01; the re-install starts anew 2026-03-01.
    const decision = validator.handle(record('pending-install', '2026-03-01T00:00:00Z'), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('shop/data-db-0');
  });
});

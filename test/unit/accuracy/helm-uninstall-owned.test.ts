// `helm uninstall` deletes the StatefulSets its manifest declares; a StatefulSet whose retention policy says
// whenDeleted: Delete owns its PVCs (the StatefulSet controller set those owner references), so the garbage collector
// deletes them with it, and the PV controller reclaims each PV by its policy. The uninstall is never refused (Helm
// cannot recover from a half uninstall), but its warnings must name those PVCs as deleted, not as left behind.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { namespace, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { devlakeManifest, releaseSecret } from '../helm/helm-fixtures.ts';

const validator = helmReleaseValidator(defaultConfig());
const NS = 'devlake';
const CLAIM = 'devlake-mysql-data-devlake-mysql-0';
const UID = 'uid-live-mysql';

function uninstalling(manifest = devlakeManifest()): AdmissionRequest {
  const object = releaseSecret({ name: 'devlake', namespace: NS, version: 1, status: 'uninstalling', manifest });
  return request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: 'UPDATE',
    namespace: NS,
    name: 'sh.helm.release.v1.devlake.v1',
    object,
  });
}

function model(owned: boolean, reclaimPolicy = 'Delete', helmKeep = false): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('namespace', namespace({ name: NS }));
  m.upsert(
    'statefulSet',
    statefulSet({ namespace: NS, name: 'devlake-mysql', uid: UID, claimTemplates: ['devlake-mysql-data'], helmReleaseName: 'devlake', helmReleaseNamespace: NS, helmKeep }),
  );
  const ownerReferences = owned ? [{ kind: 'StatefulSet', name: 'devlake-mysql', uid: UID }] : [];
  m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: CLAIM, volumeName: 'pv-mysql', labels: { 'app.kubernetes.io/instance': 'devlake' }, ownerReferences }));
  m.upsert('persistentVolume', pv({ name: 'pv-mysql', claimNamespace: NS, claimName: CLAIM, reclaimPolicy }));
  return m;
}

describe('helm uninstall warnings: PVCs deleted with a StatefulSet (whenDeleted: Delete)', () => {
  it('names the PVCs the garbage collector deletes with the StatefulSet, with what their reclaim policy does', () => {
    const decision = validator.handle(uninstalling(), context(model(true)));
    expect(decision.allowed).toBe(true);
    const text = decision.warnings!.join('\n');
    expect(text).toContain('deletes 1 PVC with its StatefulSets');
    expect(text).toContain(`- PVC ${CLAIM} of StatefulSet devlake-mysql (PV pv-mysql, reclaim Delete: data destroyed)`);
    expect(text).not.toContain('leaves');
    expect(decision.warnings!.every((line) => line.length <= 120)).toBe(true);
  });

  it('says a PVC the StatefulSet does not own stays behind instead', () => {
    const text = validator.handle(uninstalling(), context(model(false))).warnings!.join('\n');
    expect(text).toContain('leaves 1 PVC');
    expect(text).not.toContain('with its StatefulSets');
  });

  it('reads keep from the manifest, as helm uninstall does', () => {
    const kept = devlakeManifest().replace('kind: StatefulSet\nmetadata:\n', 'kind: StatefulSet\nmetadata:\n  annotations:\n    helm.sh/resource-policy: keep\n');
    expect(kept).not.toBe(devlakeManifest());
    // Helm leaves the StatefulSet, which goes on using the claim it owns: neither deleted nor left behind.
    const decision = validator.handle(uninstalling(kept), context(model(true)));
    expect(decision.allowed).toBe(true);
    expect((decision.warnings ?? []).join('\n')).not.toContain(CLAIM);
    // Only the live object saying keep: Helm deletes the StatefulSet, and the garbage collector the claim with it.
    expect(validator.handle(uninstalling(), context(model(true, 'Delete', true))).warnings!.join('\n')).toContain('with its StatefulSets');
  });
});

describe('helm uninstall warnings: keep is read from the manifest', () => {
  it('names a templated PVC as deleted even when only the live object says keep (uninstall does not read it)', () => {
    const m = new ClusterModel(VOLUME_SETS);
    m.upsert('namespace', namespace({ name: NS }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'uploads', volumeName: 'pv-uploads', annotations: { 'meta.helm.sh/release-name': 'devlake', 'helm.sh/resource-policy': 'keep' } }));
    m.upsert('persistentVolume', pv({ name: 'pv-uploads', claimNamespace: NS, claimName: 'uploads', reclaimPolicy: 'Delete' }));
    const manifest = '---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: uploads\nspec:\n  accessModes: [ReadWriteOnce]\n';
    const text = validator.handle(uninstalling(manifest), context(m)).warnings!.join('\n');
    expect(text).toContain('deletes 1 templated PVC:');
    expect(text).toContain(`- PVC ${NS}/uploads (PV pv-uploads, reclaim Delete: data destroyed)`);
  });
});

describe('helm uninstall warnings: a PVC another StatefulSet also owns', () => {
  const shared = (otherInRelease: boolean): ClusterModel => {
    const m = model(true);
    const claim = m.persistentVolumeClaim(NS, CLAIM)!;
    m.upsert('persistentVolumeClaim', { ...claim, ownerReferences: [...claim.ownerReferences, { kind: 'StatefulSet', name: 'devlake-lake', uid: 'uid-lake' }] });
    m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'devlake-lake', uid: 'uid-lake', claimTemplates: [], ...(otherInRelease ? { helmReleaseName: 'devlake', helmReleaseNamespace: NS } : {}) }));
    return m;
  };

  it('says it stays behind while the other owner outlives the uninstall (the garbage collector only drops the reference)', () => {
    const text = validator.handle(uninstalling(devlakeManifest({ withLake: false })), context(shared(false))).warnings!.join('\n');
    expect(text).not.toContain('with its StatefulSets');
    expect(text).toContain('leaves 1 PVC');
    expect(text).toContain(`- PVC ${NS}/${CLAIM}`);
  });

  it('says it is deleted when the uninstall deletes the other owner too', () => {
    const text = validator.handle(uninstalling(devlakeManifest()), context(shared(true))).warnings!.join('\n');
    expect(text).toContain('deletes 1 PVC with its StatefulSets');
    expect(text).toContain(`- PVC ${CLAIM} of StatefulSet devlake-mysql`);
  });
});

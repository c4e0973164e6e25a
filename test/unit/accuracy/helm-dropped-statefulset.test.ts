// A Helm upgrade whose manifest no longer has a StatefulSet deletes it (Helm deletes resources the new manifest
// drops, with background propagation). When its persistentVolumeClaimRetentionPolicy.whenDeleted is Delete, the
// StatefulSet controller made it the owner of its pods' PVCs, and the garbage collector deletes them with it; the
// PV controller then reclaims each PV by its policy. Those PVCs are not left behind (orphan-pvc rightly skips
// them): they are deleted, which pvc-delete must say, naming them, before Helm touches anything.
import { describe, expect, it } from 'vitest';
import { collectDroppedPvcs } from '../../../src/checks/pvc-delete.ts';
import { orphanPvcCheck } from '../../../src/checks/orphan-pvc.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { parseManifest } from '../../../src/helm/manifest.ts';
import type { HelmRelease } from '../../../src/helm/release.ts';
import { pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { devlakeManifest } from '../helm/helm-fixtures.ts';

const NS = 'devlake';
const LAKE_CLAIM = 'devlake-lake-config-devlake-lake-0';

function upgrade(manifest: string): { release: HelmRelease; operation: 'upgrade'; manifest: ReturnType<typeof parseManifest> } {
  const release: HelmRelease = {
    name: 'devlake',
    namespace: NS,
    version: 2,
    status: 'pending-upgrade',
    manifest,
    chartName: 'devlake',
    chartVersion: '1.0.1-beta9',
    labels: {},
  };
  return { release, operation: 'upgrade', manifest: parseManifest(manifest, NS) };
}

function cluster(reclaimPolicy: string, owned: boolean, helmKeep = false): ClusterModel {
  const model = new ClusterModel();
  const live = (name: string, claimTemplates: string[], uid: string) =>
    statefulSet({ namespace: NS, name, uid, claimTemplates, helmReleaseName: 'devlake', helmReleaseNamespace: NS, helmKeep });
  model.replaceAll('statefulSet', [live('devlake-mysql', ['devlake-mysql-data'], 'uid-mysql'), live('devlake-lake', ['devlake-lake-config'], 'uid-lake')]);
  model.replaceAll('persistentVolume', [pv({ name: `pv-${LAKE_CLAIM}`, claimNamespace: NS, claimName: LAKE_CLAIM, reclaimPolicy })]);
  model.replaceAll('persistentVolumeClaim', [
    pvc({
      namespace: NS,
      name: LAKE_CLAIM,
      volumeName: `pv-${LAKE_CLAIM}`,
      labels: { 'app.kubernetes.io/instance': 'devlake' },
      ownerReferences: owned ? [{ kind: 'StatefulSet', name: 'devlake-lake', uid: 'uid-lake' }] : [],
    }),
  ]);
  return model;
}

describe('a Helm upgrade dropping a StatefulSet whose retention policy deletes its PVCs', () => {
  it('is a pvc-delete finding naming the PVC the garbage collector deletes with it', () => {
    const target = upgrade(devlakeManifest({ withLake: false }));
    const snapshot = cluster('Delete', true);
    expect(orphanPvcCheck(snapshot, { ...target })).toEqual([]);
    const findings = collectDroppedPvcs(snapshot, target).findings;
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      check: 'pvc-delete',
      severity: 'critical',
      object: { kind: 'PersistentVolumeClaim', namespace: NS, name: LAKE_CLAIM },
      tags: ['deleted-with-statefulset', 'reclaim-delete'],
    });
    expect(findings[0]!.reason).toContain('this upgrade drops StatefulSet devlake-lake');
    expect(findings[0]!.reason).toContain('which this PVC names as owner: the garbage collector deletes it with it');
    expect(findings[0]!.reason).toContain('reclaim policy Delete destroys the volume and its data');
  });

  it('a PVC it does not own stays an orphan-pvc finding (left behind), and none is reported while the manifest keeps it', () => {
    const dropped = upgrade(devlakeManifest({ withLake: false }));
    expect(collectDroppedPvcs(cluster('Delete', false), dropped).findings).toEqual([]);
    expect(orphanPvcCheck(cluster('Delete', false), { ...dropped }).map((f) => f.object.name)).toEqual([LAKE_CLAIM]);
    expect(collectDroppedPvcs(cluster('Delete', true), upgrade(devlakeManifest())).findings).toEqual([]);
  });

  it('a dropped StatefulSet annotated helm.sh/resource-policy: keep is not deleted by Helm: nothing is lost or left behind', () => {
    // Helm's kube client reads the live object's annotations before deleting what a new manifest drops, and skips
    // it when its resource policy is keep: the StatefulSet stays, and owns its PVCs.
    const dropped = upgrade(devlakeManifest({ withLake: false }));
    expect(collectDroppedPvcs(cluster('Delete', true, true), dropped).findings).toEqual([]);
    expect(orphanPvcCheck(cluster('Delete', false, true), { ...dropped })).toEqual([]);
  });
});

describe('a dropped StatefulSet\'s PVC that another StatefulSet also owns', () => {
  // The garbage collector deletes a dependent only when none of its owners stays; it drops the dangling reference
  // and keeps the PVC while another owner lives. Helm deletes every StatefulSet the new manifest drops, so an owner
  // dropped by the same upgrade does not stay.
  const withArchive = (dropsArchive: boolean): { snapshot: ClusterModel; target: ReturnType<typeof upgrade> } => {
    const snapshot = cluster('Delete', true);
    const claim = snapshot.persistentVolumeClaim(NS, LAKE_CLAIM)!;
    snapshot.upsert('persistentVolumeClaim', { ...claim, ownerReferences: [...claim.ownerReferences, { kind: 'StatefulSet', name: 'archive', uid: 'uid-archive' }] });
    snapshot.upsert(
      'statefulSet',
      statefulSet({ namespace: NS, name: 'archive', uid: 'uid-archive', claimTemplates: [], ...(dropsArchive ? { helmReleaseName: 'devlake', helmReleaseNamespace: NS } : {}) }),
    );
    return { snapshot, target: upgrade(devlakeManifest({ withLake: false })) };
  };

  it('is not deleted while that other owner stays', () => {
    const { snapshot, target } = withArchive(false);
    expect(collectDroppedPvcs(snapshot, target).findings).toEqual([]);
  });

  it('is deleted when the same upgrade drops the other owner too', () => {
    const { snapshot, target } = withArchive(true);
    expect(collectDroppedPvcs(snapshot, target).findings.map((f) => f.object.name)).toEqual([LAKE_CLAIM]);
  });

  it('names an owner of a kind volume-guard cannot see in the reason, and still reports the PVC', () => {
    const snapshot = cluster('Delete', true);
    const claim = snapshot.persistentVolumeClaim(NS, LAKE_CLAIM)!;
    snapshot.upsert('persistentVolumeClaim', { ...claim, ownerReferences: [...claim.ownerReferences, { kind: 'Backup', name: 'nightly', uid: 'uid-backup' }] });
    const findings = collectDroppedPvcs(snapshot, upgrade(devlakeManifest({ withLake: false }))).findings;
    expect(findings).toHaveLength(1);
    expect(findings[0]!.reason).toContain('deletes it with it unless its other owner Backup nightly stays (volume-guard cannot see it); reclaim policy Delete');
  });
});

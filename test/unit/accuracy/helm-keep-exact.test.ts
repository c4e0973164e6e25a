// `helm.sh/resource-policy` is read two ways by Helm. An upgrade or rollback that drops a resource reads the LIVE
// object's annotation and skips the delete only when it is exactly "keep" (its kube client's Update); only
// uninstall trims and lower-cases, reading the release's manifest. So a live PVC or StatefulSet annotated "Keep"
// (or " keep") is deleted by an upgrade that drops it, and its data goes with it.
import { describe, expect, it } from 'vitest';
import { collectDroppedPvcs } from '../../../src/checks/pvc-delete.ts';
import { orphanPvcCheck } from '../../../src/checks/orphan-pvc.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformStatefulSet } from '../../../src/cluster/transforms.ts';
import { parseManifest } from '../../../src/helm/manifest.ts';
import type { HelmRelease } from '../../../src/helm/release.ts';
import { pv, pvc } from '../../support/fixtures.ts';
import { devlakeManifest } from '../helm/helm-fixtures.ts';

const NS = 'devlake';
const LAKE_CLAIM = 'devlake-lake-config-devlake-lake-0';
const HELM = { 'meta.helm.sh/release-name': 'devlake', 'meta.helm.sh/release-namespace': NS };

function upgrade(manifest: string) {
  const release: HelmRelease = { name: 'devlake', namespace: NS, version: 2, status: 'pending-upgrade', manifest, chartName: 'devlake', chartVersion: '1', labels: {} };
  return { release, operation: 'upgrade' as const, manifest: parseManifest(manifest, NS) };
}

/** The live StatefulSet as the informer records it, from the object the API server serves. */
function liveStatefulSet(name: string, template: string, uid: string, policy: string) {
  return transformStatefulSet({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: NS, uid, creationTimestamp: '2024-01-01T00:00:00Z', annotations: { ...HELM, 'helm.sh/resource-policy': policy } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
      volumeClaimTemplates: [{ metadata: { name: template }, spec: {} }],
    },
  })!;
}

function cluster(lakePolicy: string, owned: boolean): ClusterModel {
  const model = new ClusterModel();
  model.replaceAll('statefulSet', [liveStatefulSet('devlake-mysql', 'devlake-mysql-data', 'uid-mysql', 'keep'), liveStatefulSet('devlake-lake', 'devlake-lake-config', 'uid-lake', lakePolicy)]);
  model.replaceAll('persistentVolume', [pv({ name: `pv-${LAKE_CLAIM}`, claimNamespace: NS, claimName: LAKE_CLAIM, reclaimPolicy: 'Delete' })]);
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

describe('an upgrade dropping a live object reads its helm.sh/resource-policy exactly, as Helm does', () => {
  for (const policy of ['Keep', ' keep', 'KEEP']) {
    it(`a dropped StatefulSet annotated "${policy}" is deleted, and the PVCs it owns with it: pvc-delete names them`, () => {
      const findings = collectDroppedPvcs(cluster(policy, true), upgrade(devlakeManifest({ withLake: false }))).findings;
      expect(findings.map((finding) => finding.object.name)).toEqual([LAKE_CLAIM]);
    });

    it(`a dropped StatefulSet annotated "${policy}" that owns no PVC leaves them behind: orphan-pvc names them`, () => {
      const findings = orphanPvcCheck(cluster(policy, false), upgrade(devlakeManifest({ withLake: false })));
      expect(findings.map((finding) => finding.object.name)).toEqual([LAKE_CLAIM]);
    });

    it(`a dropped PVC annotated "${policy}" on the live object is deleted: pvc-delete names it`, () => {
      const model = new ClusterModel();
      model.replaceAll('persistentVolume', [pv({ name: 'pv-old', claimNamespace: NS, claimName: 'devlake-old', reclaimPolicy: 'Delete' })]);
      model.replaceAll('persistentVolumeClaim', [pvc({ namespace: NS, name: 'devlake-old', volumeName: 'pv-old', annotations: { ...HELM, 'helm.sh/resource-policy': policy } })]);
      expect(collectDroppedPvcs(model, upgrade(devlakeManifest())).findings.map((finding) => finding.object.name)).toEqual(['devlake-old']);
    });
  }

  it('exactly "keep" leaves them: nothing reported', () => {
    expect(collectDroppedPvcs(cluster('keep', true), upgrade(devlakeManifest({ withLake: false }))).findings).toEqual([]);
    expect(orphanPvcCheck(cluster('keep', false), upgrade(devlakeManifest({ withLake: false })))).toEqual([]);
    const model = new ClusterModel();
    model.replaceAll('persistentVolume', [pv({ name: 'pv-old', claimNamespace: NS, claimName: 'devlake-old', reclaimPolicy: 'Delete' })]);
    model.replaceAll('persistentVolumeClaim', [pvc({ namespace: NS, name: 'devlake-old', volumeName: 'pv-old', annotations: { ...HELM, 'helm.sh/resource-policy': 'keep' } })]);
    expect(collectDroppedPvcs(model, upgrade(devlakeManifest())).findings).toEqual([]);
  });

  it('uninstall reads the manifest, trimmed and lower-cased: a manifest PVC marked " Keep " stays', () => {
    const manifest = parseManifest(
      ['apiVersion: v1', 'kind: PersistentVolumeClaim', 'metadata:', '  name: kept', '  annotations:', "    helm.sh/resource-policy: ' Keep '"].join('\n'),
      NS,
    );
    expect(manifest.persistentVolumeClaims).toEqual([expect.objectContaining({ name: 'kept', keep: true })]);
  });
});

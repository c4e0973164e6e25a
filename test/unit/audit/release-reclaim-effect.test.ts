// `audit --release` says, of each PVC `helm uninstall` would leave behind, what its PV's reclaim policy does with the
// data once the claim is deleted. Recycle on a PV no recycler serves (anything but an in-tree hostPath or NFS source:
// kube-controller-manager's recycleVolumeOperation, pkg/controller/volume/persistentvolume/pv_controller.go, finds no
// recyclable plugin, marks the PV Failed, "No recycler plugin found for the volume!") keeps the data, as Retain does:
// the audit must not print it as a plain "Recycle" (which reads as wiped), nor as the internal "Recycle (no recycler)".
import { describe, expect, it } from 'vitest';
import { releaseFindings } from '../../../src/audit/release.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { VolumeSource } from '../../../src/cluster/records.ts';
import { HELM_RELEASE_NAME_ANNOTATION, HELM_RELEASE_NAMESPACE_ANNOTATION } from '../../../src/kube.ts';
import { namespace, pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';

const NS = 'shop';
const KEPT = { [HELM_RELEASE_NAME_ANNOTATION]: 'db', [HELM_RELEASE_NAMESPACE_ANNOTATION]: NS, 'helm.sh/resource-policy': 'keep' };
const INSTALLED = { installed: true, revision: 2, status: 'deployed' } as const;

/**
 * Release shop/db: the claim data-db-0 of its live StatefulSet db (its pod db-0 mounting it) and a PVC Helm created
 * and a resource policy keeps, both on Recycle PVs of `source`.
 */
function cluster(source: VolumeSource): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('namespace', namespace({ name: NS }));
  const extra = source === 'nfs' ? { driver: '' } : {};
  model.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', helmReleaseName: 'db', helmReleaseNamespace: NS, selector: { app: 'db' } }));
  model.upsert('pod', pod({ namespace: NS, name: 'db-0', controllerKind: 'StatefulSet', claimNames: ['data-db-0'] }));
  model.upsert('persistentVolume', pv({ name: 'pv-data', source, ...extra, claimNamespace: NS, claimName: 'data-db-0', reclaimPolicy: 'Recycle' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-0', volumeName: 'pv-data', labels: { app: 'db' }, ownerReferences: [] }));
  model.upsert('persistentVolume', pv({ name: 'pv-kept', source, ...extra, claimNamespace: NS, claimName: 'kept', reclaimPolicy: 'Recycle' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'kept', volumeName: 'pv-kept', annotations: KEPT, ownerReferences: [] }));
  return model;
}

function reasons(model: ClusterModel): Record<string, string> {
  return Object.fromEntries(releaseFindings(model, NS, 'db', INSTALLED).findings.map((finding) => [finding.object.name, finding.reason]));
}

describe('audit --release: the reclaim policy of a PVC left behind, as the PV controller carries it out', () => {
  it('Recycle on a CSI PV reads as keeping the data on a Failed PV, for the claim of a StatefulSet and one a resource policy keeps', () => {
    const found = reasons(cluster('csi'));
    expect(Object.keys(found).sort()).toEqual(['data-db-0', 'kept']);
    for (const reason of Object.values(found)) {
      expect(reason).toContain("its PV's reclaim policy is Recycle, which no recycler serves: deleting the claim keeps the data on a Failed PV");
      expect(reason).not.toContain('(no recycler)');
      expect(reason).not.toMatch(/reclaim policy is Recycle\)/);
    }
  });

  it('Recycle on an NFS PV stays Recycle: its recycler wipes the volume once the claim is deleted', () => {
    for (const reason of Object.values(reasons(cluster('nfs')))) {
      expect(reason).toContain("(its PV's reclaim policy is Recycle, which wipes the data once the claim is deleted)");
    }
  });
});

// StatefulSet writes and what counts as Helm's own write, as the real controllers behave: a Helm upgrade re-creating a
// StatefulSet after `--cascade=orphan` condemns the adopted pods outside its ordinals, and a GitOps controller
// co-owning the release annotation is not Helm.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { collectDroppedPvcs } from '../../../src/checks/pvc-delete.ts';
import { collectOrphanPvc } from '../../../src/checks/orphan-pvc.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { namespace, pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';
import { pendingRevision, statefulSetManifest } from '../helm/helm-fixtures.ts';

const NS = 'shop';
const UID = 'uid-db';
const STS_KIND = { kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' }, resource: { group: 'apps', version: 'v1', resource: 'statefulsets' } };
const HELM_ANNOTATIONS = { 'meta.helm.sh/release-name': 'db', 'meta.helm.sh/release-namespace': NS };

function stsObject(replicas: number, extra: { managedFields?: unknown[] } = {}): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: NS, uid: UID, annotations: HELM_ANNOTATIONS, ...(extra.managedFields ? { managedFields: extra.managedFields } : {}) },
    spec: {
      replicas,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' },
      volumeClaimTemplates: [{ metadata: { name: 'data' } }],
    },
  };
}

/** Live Helm-managed StatefulSet db at `replicas`, pods db-0.. running, each PVC Bound to a PV with reclaim Delete. */
function cluster(replicas: number, options: { live?: boolean; podController?: string } = {}): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('namespace', namespace({ name: NS }));
  if (options.live !== false) {
    m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: UID, replicas, whenScaled: 'Delete', helmReleaseName: 'db', helmReleaseNamespace: NS }));
  }
  for (let ordinal = 0; ordinal < replicas; ordinal += 1) {
    const name = `data-db-${ordinal}`;
    m.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}` }));
    m.upsert('pod', pod({ namespace: NS, name: `db-${ordinal}`, claimNames: [name], controllerKind: options.podController ?? 'StatefulSet' }));
  }
  return m;
}

describe('a Helm upgrade re-creating a StatefulSet adopts orphaned pods outside its ordinals', () => {
  // The PVC-resize workflow the README documents: `kubectl delete sts db --cascade=orphan`, then `helm upgrade`.
  // Helm creates the missing StatefulSet; its controller adopts the orphaned pods db-0..db-4 (ClaimPods), condemns
  // db-2..db-4 (the chart declares 2 replicas; an autoscaler had raised them to 5), and under whenScaled: Delete
  // makes each the owner of its PVCs and deletes it (stateful_set_control.go, updateClaimOwnerRefForSetAndPod):
  // the garbage collector deletes data-db-2..4. The StatefulSet CREATE is Helm's own (not sent), so only the release
  // record can judge it, as collectClaimsDeletedByAdoption does at a CREATE outside Helm.
  it('names the PVCs of the adopted pods the new StatefulSet condemns', () => {
    const model = cluster(5, { live: false, podController: '' });
    const target = pendingRevision(statefulSetManifest({ replicas: 2, whenDeleted: 'Retain', whenScaled: 'Delete' }), { namespace: NS, version: 2 });
    // Nothing else at the record refuses it: the orphaned pods mount their own PVCs (in use, not orphans).
    expect(collectOrphanPvc(model, target).findings.filter((finding) => finding.severity === 'critical')).toEqual([]);
    const names = collectDroppedPvcs(model, target).findings.map((finding) => finding.object.name).sort();
    expect(names).toEqual(['data-db-2', 'data-db-3', 'data-db-4']);
  });
});

describe('a GitOps controller that co-owns the release annotation is not Helm', () => {
  // Server-side apply gives shared ownership of a field to every manager that applies the same value
  // (sigs.k8s.io/structured-merge-diff). An Argo CD (`argocd-controller`) or Flux kustomize-controller application
  // whose manifests were exported from a Helm-installed object carries meta.helm.sh/release-name, so the GitOps
  // manager owns the annotation next to Helm's `helm` entry. helm-writes.ts then takes every write of that manager
  // for Helm's own (ownsReleaseAnnotation), and its scale-down under whenScaled: Delete is judged nowhere: no release
  // record precedes an Argo CD sync.
  it("judges Argo CD's scale-down though its apply co-owns meta.helm.sh/release-name", () => {
    const validator = pvcDeleteValidator(defaultConfig());
    const argo: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
    const owned = (manager: string, operation: string) => ({
      manager,
      operation,
      apiVersion: 'apps/v1',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:meta.helm.sh/release-name': {}, 'f:meta.helm.sh/release-namespace': {} } }, 'f:spec': { 'f:replicas': {} } },
    });
    const managedFields = [owned('helm', 'Update'), owned('argocd-controller', 'Apply')];
    const sync: AdmissionRequest = {
      ...request({
        ...STS_KIND,
        operation: 'UPDATE',
        namespace: NS,
        name: 'db',
        userInfo: argo,
        object: stsObject(2, { managedFields }),
        oldObject: stsObject(5, { managedFields }),
      }),
      options: { kind: 'PatchOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'argocd-controller' },
    };
    // Control: with Helm alone owning the annotation the same sync is refused.
    const helmOnly = { ...sync, oldObject: stsObject(5, { managedFields: [owned('helm', 'Update')] }) };
    expect(validator.handle(helmOnly, context(cluster(5))).allowed).toBe(false);
    const decision = validator.handle(sync, context(cluster(5)));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message ?? '').toContain('data-db-4');
  });
});

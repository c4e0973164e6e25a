// A namespace's volume-guard.io/skip reaches the DELETEs of its Helm releases' PVCs and StatefulSets only: whether an
// object is a release's is read from who wrote its meta.helm.sh/release-name annotation (managedFields: Helm, or kubectl
// for Helm's adoption), not from the annotation alone, which a GitOps controller's apply may carry.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, releaseAnnotationManagedFields, request } from '../../support/admission.ts';
import { namespace, pv } from '../../support/fixtures.ts';

const config = defaultConfig();
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const NS = 'shop';
const RELEASE = { 'meta.helm.sh/release-name': 'whatever', 'meta.helm.sh/release-namespace': NS };

function claimDelete(annotations: Record<string, string>, managedFields: unknown[]): AdmissionRequest {
  return request({
    kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
    resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
    operation: 'DELETE',
    namespace: NS,
    name: 'uploads',
    userInfo: ARGO,
    oldObject: {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'uploads', namespace: NS, annotations, managedFields },
      spec: { volumeName: 'pv-uploads' },
      status: { phase: 'Bound' },
    },
  });
}

function model(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('persistentVolume', pv({ name: 'pv-uploads', claimNamespace: NS, claimName: 'uploads', reclaimPolicy: 'Delete' }));
  // The admin's skip for the namespace's Helm releases (a chart migration).
  m.upsert('namespace', namespace({ name: NS, annotations: { 'volume-guard.io/skip': 'orphan-pvc,pvc-delete', 'volume-guard.io/skip-by': 'admin' } }));
  return m;
}

describe("the namespace's Helm skip at a PVC DELETE", () => {
  it('is not reached by a release annotation another tool wrote', () => {
    const decide = (managedFields: unknown[]) => pvcDeleteValidator(config).handle(claimDelete(RELEASE, managedFields), context(model()));
    for (const forged of [releaseAnnotationManagedFields(RELEASE, 'argocd-controller'), []]) {
      const decision = decide(forged);
      expect(decision.allowed).toBe(false);
      expect(decision.warnings?.join(' ') ?? '').not.toContain('overridden by namespace shop');
    }
    // Written by Helm (or Flux's helm-controller), or by hand for Helm to adopt (kubectl annotate, then helm upgrade,
    // which leaves the equal annotations to their writer), the skip counts.
    for (const manager of ['helm', 'helm-controller', 'kubectl-annotate', 'kubectl-client-side-apply']) {
      const decision = decide(releaseAnnotationManagedFields(RELEASE, manager));
      expect(decision.allowed, manager).toBe(true);
      expect(decision.warnings?.join(' ') ?? '').toContain('overridden by namespace shop (Helm release whatever)');
    }
  });
});

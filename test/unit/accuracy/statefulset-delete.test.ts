// A StatefulSet with persistentVolumeClaimRetentionPolicy.whenDeleted: Delete (GA in Kubernetes 1.32): the
// StatefulSet controller makes the StatefulSet an owner of its pods' PVCs, so deleting the StatefulSet lets the
// garbage collector delete them (as itself), and the PV controller then reclaims each Bound PV by its policy. A
// GitOps prune of such a StatefulSet loses the data as surely as a prune of the PVC. With propagationPolicy Orphan
// (kubectl delete --cascade=orphan, the PVC-resize workflow) the garbage collector orphans the PVCs: nothing is lost.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, admissionReview, context, statefulSetDeleteRequest } from '../../support/admission.ts';
import { decodeAdmissionReview } from '../../../src/server/codec.ts';
import { pv, pvc } from '../../support/fixtures.ts';

const config = defaultConfig();
const validator = pvcDeleteValidator(config);
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const NS = 'shop';
const UID = '5e1f0c2a-0000-4000-8000-000000000001';

const statefulSetDelete = (user: UserInfo, whenDeleted: string, options?: Record<string, unknown>): AdmissionRequest =>
  statefulSetDeleteRequest({ namespace: NS, name: 'db', uid: UID, user, whenDeleted, ...(options ? { options } : {}) });

/** data-db-0 and data-db-1 owned by the StatefulSet (Delete PVs); data-db-5 left by an earlier scale-down, not owned. */
function model(approved: Record<string, string> = {}): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  const owner = [{ kind: 'StatefulSet', name: 'db', uid: UID }];
  for (const ordinal of [0, 1, 5]) {
    const name = `data-db-${ordinal}`;
    m.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}`, ownerReferences: ordinal === 5 ? [] : owner, annotations: ordinal === 1 ? approved : {} }));
  }
  return m;
}

describe('pvc-delete at a StatefulSet DELETE', () => {
  it('refuses Argo CD pruning a StatefulSet whose retention policy deletes its Bound PVCs, naming those it owns', () => {
    const decision = validator.handle(statefulSetDelete(ARGO, 'Delete'), context(model()));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    expect(message).toContain(`deletion of StatefulSet ${NS}/db by ${ARGO.username}`);
    expect(message).toContain(`PVC ${NS}/data-db-0`);
    expect(message).toContain(`PVC ${NS}/data-db-1`);
    expect(message).toContain('whenDeleted: Delete');
    expect(message).not.toContain('data-db-5');
  });

  it('allows what loses no data: --cascade=orphan, whenDeleted Retain, people by hand', () => {
    expect(validator.handle(statefulSetDelete(ARGO, 'Delete', { apiVersion: 'meta.k8s.io/v1', kind: 'DeleteOptions', propagationPolicy: 'Orphan' }), context(model())).allowed).toBe(true);
    expect(validator.handle(statefulSetDelete(ARGO, 'Retain'), context(model())).allowed).toBe(true);
    expect(validator.handle(statefulSetDelete(ADMIN, 'Delete'), context(model())).allowed).toBe(true);
    // Foreground and background propagation delete the dependents alike.
    expect(validator.handle(statefulSetDelete(ARGO, 'Delete', { propagationPolicy: 'Foreground' }), context(model())).allowed).toBe(false);
  });

  it("honors each PVC's volume-guard.io/delete=true with its writer", () => {
    const oneApproved = model({ 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'admin' });
    const decision = validator.handle(statefulSetDelete(ARGO, 'Delete'), context(oneApproved));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('data-db-0');
    expect(decision.status!.message).not.toContain('data-db-1');
  });
});

describe('the DeleteOptions of a DELETE reach the validator', () => {
  it('decodes request.options as the API server sends it', () => {
    const sent = { ...statefulSetDelete(ARGO, 'Delete'), options: { apiVersion: 'meta.k8s.io/v1', kind: 'DeleteOptions', propagationPolicy: 'Orphan' } };
    const decoded = decodeAdmissionReview(admissionReview(sent));
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.request.options).toEqual(sent.options);
    expect(validator.handle(decoded.request, context(model())).allowed).toBe(true);
    const withoutOptions = decodeAdmissionReview(admissionReview(statefulSetDelete(ARGO, 'Delete')));
    expect(withoutOptions.ok && withoutOptions.request.options).toBe(undefined);
  });
});

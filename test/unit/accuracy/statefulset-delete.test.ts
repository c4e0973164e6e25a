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
import { pv, pvc, statefulSet } from '../../support/fixtures.ts';
import type { StatefulSetRecord } from '../../../src/cluster/records.ts';
import { RESOURCE_SPECS, resourceLabel } from '../../../src/cluster/resources.ts';

const config = defaultConfig();
const validator = pvcDeleteValidator(config);
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const NS = 'shop';
const UID = '5e1f0c2a-0000-4000-8000-000000000001';

const statefulSetDelete = (user: UserInfo, whenDeleted: string, options?: Record<string, unknown>): AdmissionRequest =>
  statefulSetDeleteRequest({ namespace: NS, name: 'db', uid: UID, user, whenDeleted, ...(options ? { options } : {}) });

/**
 * data-db-0 and data-db-1 owned by the StatefulSet (Delete PVs); data-db-5 left by an earlier scale-down, not owned.
 * `ownerUid`: the uid their ownerReferences name ('' for none: the controller removed them under Retain).
 */
function model(approved: Record<string, string> = {}, ownerUid = UID): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  const owner = ownerUid === '' ? [] : [{ kind: 'StatefulSet', name: 'db', uid: ownerUid }];
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
    // The garbage collector ignores Helm's resource policy on the PVCs: the fix says what keeps them.
    const fix = message.replace(/\n\s+/g, ' ');
    expect(fix).toContain('Fix: back the data up, or keep the PVCs: delete the StatefulSet with --cascade=orphan, or set their PVs to reclaim policy Retain first');
    expect(fix).not.toContain('helm.sh/resource-policy');
  });

  it('allows what loses no data: --cascade=orphan, whenDeleted Retain, people by hand', () => {
    expect(validator.handle(statefulSetDelete(ARGO, 'Delete', { apiVersion: 'meta.k8s.io/v1', kind: 'DeleteOptions', propagationPolicy: 'Orphan' }), context(model())).allowed).toBe(true);
    expect(validator.handle(statefulSetDelete(ARGO, 'Retain'), context(model({}, ''))).allowed).toBe(true);
    expect(validator.handle(statefulSetDelete(ADMIN, 'Delete'), context(model())).allowed).toBe(true);
    // Foreground and background propagation delete the dependents alike.
    expect(validator.handle(statefulSetDelete(ARGO, 'Delete', { propagationPolicy: 'Foreground' }), context(model())).allowed).toBe(false);
  });

  it("reads the propagation as the API server does: options first, then the StatefulSet's own orphan finalizer", () => {
    const withFinalizer = (finalizer: string, options?: Record<string, unknown>): AdmissionRequest => {
      const sent = statefulSetDelete(ARGO, 'Delete', options);
      const old = sent.oldObject as { metadata: Record<string, unknown> };
      return { ...sent, oldObject: { ...old, metadata: { ...old.metadata, finalizers: [finalizer] } } };
    };
    // No policy in the DELETE: the object's `orphan` finalizer makes the garbage collector orphan the PVCs.
    expect(validator.handle(withFinalizer('orphan'), context(model())).allowed).toBe(true);
    // An explicit policy in the DELETE overrides the finalizer; foregroundDeletion deletes them.
    expect(validator.handle(withFinalizer('orphan', { propagationPolicy: 'Background' }), context(model())).allowed).toBe(false);
    expect(validator.handle(withFinalizer('orphan', { orphanDependents: false }), context(model())).allowed).toBe(false);
    expect(validator.handle(withFinalizer('foregroundDeletion'), context(model())).allowed).toBe(false);
  });

  it('reads StatefulSets to tell which owners stay: a stale StatefulSet informer makes the answer unknown', () => {
    // Another live StatefulSet owning a claim keeps it (the garbage collector drops only the gone owner's reference);
    // with StatefulSets stale that is unknown, and the stale policy answers, as for stale claims or PVs.
    const stale = (resource: string) => ({ synced: () => true, staleResources: () => [resource] });
    for (const resource of [resourceLabel(RESOURCE_SPECS.statefulSet), resourceLabel(RESOURCE_SPECS.persistentVolumeClaim)]) {
      const decision = validator.handle(statefulSetDelete(ARGO, 'Delete'), context(model(), { health: stale(resource) }));
      expect(decision.allowed).toBe(false);
      expect(decision.status!.message).toContain(`stale (${resource})`);
    }
    // A stale resource the answer does not read changes nothing.
    const nodes = validator.handle(statefulSetDelete(ARGO, 'Delete'), context(model(), { health: stale(resourceLabel(RESOURCE_SPECS.node)) }));
    expect(nodes.status?.message ?? '').not.toContain('stale');
  });

  it("honors each PVC's volume-guard.io/delete=true with its writer", () => {
    const oneApproved = model({ 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'admin' });
    const decision = validator.handle(statefulSetDelete(ARGO, 'Delete'), context(oneApproved));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('data-db-0');
    expect(decision.status!.message).not.toContain('data-db-1');
  });
});

describe('a StatefulSet being deleted with --cascade=orphan whose orphaning is undone before the garbage collector ran', () => {
  // The API server rewrites the GC finalizers of an object already being deleted from a second DELETE's options
  // (deletionFinalizersForGarbageCollection in the registry store): Background drops `orphan`, Foreground puts
  // `foregroundDeletion` in its place. An UPDATE may drop the finalizer too. Then the claims are deleted after all.
  const terminating = (finalizers: string[], options?: Record<string, unknown>): AdmissionRequest => {
    const sent = statefulSetDelete(ARGO, 'Delete', options);
    const old = sent.oldObject as { metadata: Record<string, unknown> };
    return { ...sent, oldObject: { ...old, metadata: { ...old.metadata, finalizers, deletionTimestamp: '2026-12-04T10:00:00Z' } } };
  };
  const update = (before: string[], after: string[] | undefined): AdmissionRequest => {
    const sent = terminating(before);
    const old = sent.oldObject as { metadata: Record<string, unknown> };
    const metadata = { ...old.metadata };
    if (after === undefined) delete metadata['finalizers'];
    else metadata['finalizers'] = after;
    const { options: _options, ...rest } = sent;
    return { ...rest, operation: 'UPDATE', object: { ...old, metadata } };
  };

  it('refuses a second DELETE that no longer orphans (Background, Foreground), naming the PVCs', () => {
    const background = validator.handle(terminating(['orphan'], { propagationPolicy: 'Background' }), context(model()));
    expect(background.allowed).toBe(false);
    expect(background.status!.message).toContain(`deletion of StatefulSet ${NS}/db (being deleted with --cascade=orphan) by ${ARGO.username}`);
    expect(background.status!.message).toContain(`PVC ${NS}/data-db-0`);
    expect(validator.handle(terminating(['orphan'], { propagationPolicy: 'Foreground' }), context(model())).allowed).toBe(false);
    expect(validator.handle(terminating(['orphan'], { orphanDependents: false }), context(model())).allowed).toBe(false);
  });

  it('passes a second DELETE that still orphans, one of a StatefulSet being deleted without the orphan finalizer, and claims already orphaned', () => {
    expect(validator.handle(terminating(['orphan'], { propagationPolicy: 'Orphan' }), context(model())).allowed).toBe(true);
    expect(validator.handle(terminating(['orphan']), context(model())).allowed).toBe(true);
    // Being deleted in the background or foreground already: the first DELETE was judged as deleting the claims.
    expect(validator.handle(terminating(['foregroundDeletion'], { propagationPolicy: 'Background' }), context(model())).allowed).toBe(true);
    // The garbage collector has orphaned the claims: nothing names the StatefulSet any more.
    expect(validator.handle(terminating(['orphan'], { propagationPolicy: 'Background' }), context(model({}, ''))).allowed).toBe(true);
  });

  it('refuses an UPDATE dropping the orphan finalizer (or trading it for foregroundDeletion); keeping it passes', () => {
    const dropped = validator.handle(update(['orphan'], undefined), context(model()));
    expect(dropped.allowed).toBe(false);
    expect(dropped.status!.message).toContain(`removal of the orphan finalizer of StatefulSet ${NS}/db (being deleted) by ${ARGO.username}`);
    expect(validator.handle(update(['orphan'], ['foregroundDeletion']), context(model())).allowed).toBe(false);
    expect(validator.handle(update(['orphan', 'example.com/hold'], ['example.com/hold']), context(model())).allowed).toBe(false);
    expect(validator.handle(update(['orphan', 'example.com/hold'], ['orphan']), context(model())).allowed).toBe(true);
  });

  it('asks the API server for those requests only', () => {
    const expression = validator.declaration.matchConditions?.[0]?.expression ?? '';
    expect(expression).toContain("has(oldObject.metadata.deletionTimestamp) ? (request.resource.resource == 'statefulsets'");
    expect(expression).toContain("'orphan' in oldObject.metadata.finalizers");
  });
});

describe('the garbage collector follows the PVCs\' ownerReferences, not the retention policy', () => {
  it('refuses the DELETE under whenDeleted: Retain while PVCs still name the StatefulSet as owner', () => {
    // The policy went back to Retain; the controller has not synced the claims yet (or never will: their pods are gone).
    const decision = validator.handle(statefulSetDelete(ARGO, 'Retain'), context(model()));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    expect(message).toContain(`PVC ${NS}/data-db-0`);
    expect(message).toContain(`PVC ${NS}/data-db-1`);
    expect(message).toContain('ownerReferences still name it (whenDeleted is Retain)');
    expect(message).not.toContain('data-db-5');
  });

  it('matches the owner by uid: a reference to an earlier StatefulSet of that name is not this one', () => {
    expect(validator.handle(statefulSetDelete(ARGO, 'Retain'), context(model({}, 'an-earlier-uid'))).allowed).toBe(true);
    expect(validator.handle(statefulSetDelete(ARGO, 'Delete'), context(model({}, 'an-earlier-uid'))).allowed).toBe(true);
  });

  it('passes with --cascade=orphan, or when the PVCs are approved', () => {
    const orphan = { propagationPolicy: 'Orphan' };
    expect(validator.handle(statefulSetDelete(ARGO, 'Retain', orphan), context(model())).allowed).toBe(true);
    const approved = { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'admin' };
    const oneApproved = validator.handle(statefulSetDelete(ARGO, 'Retain'), context(model(approved)));
    expect(oneApproved.allowed).toBe(false);
    expect(oneApproved.status!.message).not.toContain('data-db-1');
  });

  it('asks the API server for the DELETEs of StatefulSets with claim templates whatever their policy', () => {
    const expression = validator.declaration.matchConditions?.[0]?.expression ?? '';
    expect(expression).toContain("oldObject.spec.persistentVolumeClaimRetentionPolicy.whenDeleted == 'Delete') || ");
    expect(expression).toContain('size(oldObject.spec.volumeClaimTemplates) > 0');
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

describe('a PVC whose ownerReferences also name an owner that stays is kept by the garbage collector', () => {
  // attemptToDeleteItem deletes a dependent only when none of its owners is solid (found by name with the reference's
  // uid, and not deleting with foregroundDeletion); with one solid owner left it only drops the dangling references.
  const OTHER = '5e1f0c2a-0000-4000-8000-0000000000aa';
  const shared = (otherOwner: { kind: string; name: string; uid: string }, others: Partial<StatefulSetRecord>[] = []): ClusterModel => {
    const m = model();
    const claim = m.persistentVolumeClaim(NS, 'data-db-0')!;
    m.upsert('persistentVolumeClaim', { ...claim, ownerReferences: [...claim.ownerReferences, otherOwner] });
    for (const fields of others) m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'archive', uid: OTHER, claimTemplates: [], ...fields }));
    return m;
  };
  const archive = { kind: 'StatefulSet', name: 'archive', uid: OTHER };

  it('allows what only drops a reference: data-db-0 also owned by a live StatefulSet is not named, data-db-1 still is', () => {
    const decision = validator.handle(statefulSetDelete(ARGO, 'Delete'), context(shared(archive, [{}])));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain(`PVC ${NS}/data-db-1`);
    expect(decision.status!.message).not.toContain('data-db-0');
    // With data-db-1 approved, nothing is lost: the DELETE passes.
    const approved = shared(archive, [{}]);
    const one = approved.persistentVolumeClaim(NS, 'data-db-1')!;
    approved.upsert('persistentVolumeClaim', { ...one, annotations: { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'admin' } });
    const passes = validator.handle(statefulSetDelete(ARGO, 'Delete'), context(approved));
    expect(passes.allowed).toBe(true);
    expect(passes.status?.message ?? '').not.toContain('data-db-0');
  });

  it('still refuses when that other owner does not stay: gone, re-created (another uid), being deleted, or owned by the StatefulSet deleted', () => {
    for (const [what, m] of [
      ['absent', shared(archive)],
      ['re-created', shared(archive, [{ uid: 'a-later-uid' }])],
      ['being deleted', shared(archive, [{ deleting: true }])],
      ['owned by db', shared(archive, [{ ownerUids: [UID] }])],
    ] as const) {
      const decision = validator.handle(statefulSetDelete(ARGO, 'Delete'), context(m));
      expect(decision.allowed, what).toBe(false);
      expect(decision.status!.message, what).toContain(`PVC ${NS}/data-db-0`);
    }
    // Owned by something else (an operator's resource): the other owner still stays.
    const operated = validator.handle(statefulSetDelete(ARGO, 'Delete'), context(shared(archive, [{ ownerUids: ['operator-uid'] }])));
    expect(operated.status!.message).not.toContain('data-db-0');
  });

  it('stays conservative for owners it cannot see, and says so', () => {
    const decision = validator.handle(statefulSetDelete(ARGO, 'Delete'), context(shared({ kind: 'Database', name: 'shop', uid: 'db-cr-uid' })));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    expect(message).toContain(`PVC ${NS}/data-db-0`);
    expect(message).toContain(`PVC ${NS}/data-db-0: deleted with StatefulSet ${NS}/db (whenDeleted: Delete) unless its other owner Database shop stays (volume-guard cannot see it); bound to PV pv-data-db-0`);
  });
});

// A StatefulSet with persistentVolumeClaimRetentionPolicy.whenScaled: Delete: when a write leaves existing pods
// outside its ordinal range (fewer replicas, a new ordinals.start), the StatefulSet controller makes each condemned
// pod the owner of its PVCs, deletes the pod, and the garbage collector deletes the PVCs (as itself); the PV
// controller then reclaims each PV by its policy. PVCs of ordinals whose pod is already gone are left alone by the
// controller (it only fixes the claims of pods that exist). The automation that scaled down is seen only at its
// write of the StatefulSet (or of its scale subresource).
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';

const config = defaultConfig();
const validator = pvcDeleteValidator(config);
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const NS = 'shop';
const UID = '5e1f0c2a-0000-4000-8000-000000000002';
const STS_KIND = { kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' }, resource: { group: 'apps', version: 'v1', resource: 'statefulsets' } };

interface Shape {
  readonly replicas: number;
  readonly whenScaled?: string;
  readonly start?: number;
}

function stsObject({ replicas, whenScaled = 'Delete', start }: Shape): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: NS, uid: UID },
    spec: {
      replicas,
      ...(start !== undefined ? { ordinals: { start } } : {}),
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled },
      volumeClaimTemplates: [{ metadata: { name: 'data' } }],
    },
  };
}

function update(user: UserInfo, before: Shape, after: Shape): AdmissionRequest {
  return request({ ...STS_KIND, operation: 'UPDATE', namespace: NS, name: 'db', userInfo: user, object: stsObject(after), oldObject: stsObject(before) });
}

/** The scale subresource: an autoscaling/v1 Scale, whose spec.replicas is omitted at 0. */
function scale(user: UserInfo, before: number, after: number): AdmissionRequest {
  const scaleObject = (replicas: number) => ({
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name: 'db', namespace: NS, uid: UID },
    spec: replicas === 0 ? {} : { replicas },
  });
  return request({
    kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
    resource: { group: 'apps', version: 'v1', resource: 'statefulsets' },
    subResource: 'scale',
    operation: 'UPDATE',
    namespace: NS,
    name: 'db',
    userInfo: user,
    object: scaleObject(after),
    oldObject: scaleObject(before),
  });
}

/**
 * StatefulSet db at 3 replicas: pods db-0..db-2 with Bound PVCs on Delete PVs (data-db-1's PV is Retain), plus
 * data-db-5, left by an earlier scale-down under Retain, whose pod is gone.
 */
function model(options: { whenScaled?: string; approved?: string; podless?: number; start?: number } = {}): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  const start = options.start ?? 0;
  m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: UID, replicas: 3, ordinalsStart: start, whenScaled: options.whenScaled ?? 'Delete' }));
  for (const ordinal of [start, start + 1, start + 2, 5]) {
    const name = `data-db-${ordinal}`;
    const approved: Record<string, string> = options.approved === name ? { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'admin' } : {};
    m.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: ordinal === start + 1 ? 'Retain' : 'Delete' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}`, annotations: approved }));
    if (ordinal !== 5 && ordinal !== options.podless) {
      m.upsert('pod', pod({ namespace: NS, name: `db-${ordinal}`, claimNames: [name], controllerKind: 'StatefulSet' }));
    }
  }
  return m;
}

describe('pvc-delete at a StatefulSet scale-down (whenScaled: Delete)', () => {
  it("refuses Argo CD's controller lowering the replicas, naming the PVCs of the pods it scales away", () => {
    const decision = validator.handle(update(ARGO, { replicas: 3 }, { replicas: 1 }), context(model()));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    expect(message).toContain(`scale-down of StatefulSet ${NS}/db from 3 to 1 replica by ${ARGO.username}`);
    expect(message).toContain(`PVC ${NS}/data-db-2`);
    expect(message).toContain('whenScaled: Delete');
    // data-db-1 keeps its data (Retain), data-db-0 stays in range, data-db-5 has no pod: the controller leaves it.
    expect(message).not.toContain('data-db-1');
    expect(message).not.toContain('data-db-0');
    expect(message).not.toContain('data-db-5');
    expect(message).toContain('keep the replicas (or set whenScaled: Retain first)');
  });

  it('judges the scale subresource (kubectl scale, autoscalers) from the live StatefulSet, down to 0', () => {
    const decision = validator.handle(scale(ARGO, 3, 0), context(model()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain(`scale-down of StatefulSet ${NS}/db from 3 to 0 replicas`);
    expect(decision.status!.message).toContain('data-db-0');
    expect(decision.status!.message).toContain('data-db-2');
    // Retain in the live StatefulSet: the controller keeps the PVCs.
    expect(validator.handle(scale(ARGO, 3, 0), context(model({ whenScaled: 'Retain' }))).allowed).toBe(true);
    // Scaling up condemns nothing.
    expect(validator.handle(scale(ARGO, 3, 5), context(model())).allowed).toBe(true);
  });

  // The policy is the model's: a stale copy of the StatefulSet saying Retain must not pass a scale-down the live one,
  // turned to whenScaled: Delete since, makes delete the claims.
  it('gives a scale through the subresource the stale-model answer when the StatefulSets seen are stale', () => {
    const health = { synced: () => true, staleResources: () => ['statefulsets.apps'] };
    const decision = validator.handle(scale(ARGO, 3, 1), context(model({ whenScaled: 'Retain' }), { health }));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain(`cannot judge the scale-down of StatefulSet ${NS}/db from 3 to 1 replica by ${ARGO.username}`);
    expect(decision.status!.message).toContain('stale (statefulsets.apps)');
    // Another stale resource does not make the policy doubtful; raising the replicas condemns nothing.
    const podsStale = { synced: () => true, staleResources: () => ['pods'] };
    expect(validator.handle(scale(ARGO, 3, 1), context(model({ whenScaled: 'Retain' }), { health: podsStale })).allowed).toBe(true);
    expect(validator.handle(scale(ARGO, 3, 5), context(model({ whenScaled: 'Retain' }), { health })).allowed).toBe(true);
  });

  it('judges a policy turned to whenScaled: Delete in the same write that lowers the replicas', () => {
    const decision = validator.handle(update(ARGO, { replicas: 3, whenScaled: 'Retain' }, { replicas: 2, whenScaled: 'Delete' }), context(model({ whenScaled: 'Retain' })));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('data-db-2');
    // Lowering the replicas with the policy turned back to Retain deletes nothing.
    expect(validator.handle(update(ARGO, { replicas: 3 }, { replicas: 1, whenScaled: 'Retain' }), context(model())).allowed).toBe(true);
  });

  it('judges a move of ordinals.start, which condemns the low ordinals', () => {
    const decision = validator.handle(update(ARGO, { replicas: 3 }, { replicas: 3, start: 2 }), context(model()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('data-db-0');
    expect(decision.status!.message).not.toContain('data-db-2');
  });

  it('passes writes that condemn no pod, PVCs whose pod is gone, and people by hand (pvcDelete.others off)', () => {
    // The same shape, another field changed: nothing condemned by this write.
    expect(validator.handle(update(ARGO, { replicas: 3 }, { replicas: 3 }), context(model())).allowed).toBe(true);
    // Pod db-2 already gone: the controller never gives its PVC an owner, so it stays.
    expect(validator.handle(update(ARGO, { replicas: 3 }, { replicas: 2 }), context(model({ podless: 2 }))).allowed).toBe(true);
    expect(validator.handle(update(ADMIN, { replicas: 3 }, { replicas: 1 }), context(model())).allowed).toBe(true);
    const enforced = defaultConfig();
    const strict = { ...enforced, pvcDelete: { ...enforced.pvcDelete, others: 'enforce' as const } };
    expect(validator.handle(update(ADMIN, { replicas: 3 }, { replicas: 1 }), context(model(), { config: strict })).allowed).toBe(false);
  });

  it('leaves a StatefulSet Helm manages to its release record (judged there), but not its scale subresource', () => {
    const helmManaged = (shape: Shape) => {
      const object = stsObject(shape) as { metadata: Record<string, unknown> };
      return { ...object, metadata: { ...object.metadata, annotations: { 'meta.helm.sh/release-name': 'db', 'meta.helm.sh/release-namespace': NS } } };
    };
    const byHelm = request({ ...STS_KIND, operation: 'UPDATE', namespace: NS, name: 'db', userInfo: ARGO, object: helmManaged({ replicas: 1 }), oldObject: helmManaged({ replicas: 3 }) });
    expect(validator.handle(byHelm, context(model())).allowed).toBe(true);
    expect(validator.handle(scale(ARGO, 3, 1), context(model())).allowed).toBe(false);
    // kubectl's write of it (kubectl patch by a pipeline's account) was judged nowhere else.
    const byKubectl = { ...byHelm, options: { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl-patch' } };
    const decision = validator.handle(byKubectl, context(model()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('data-db-2');
  });

  it("judges a GitOps controller's or a UI's scale-down of a StatefulSet Helm installed; Helm's names and the annotation's owner pass", () => {
    const helmAnnotations = { 'meta.helm.sh/release-name': 'db', 'meta.helm.sh/release-namespace': NS };
    // As Helm's install leaves it: the release annotation owned by the manager that installed it.
    const helmManaged = (shape: Shape, installer?: string) => {
      const object = stsObject(shape) as { metadata: Record<string, unknown> };
      const fieldsV1 = { 'f:metadata': { 'f:annotations': { 'f:meta.helm.sh/release-name': {} } }, 'f:spec': { 'f:replicas': {} } };
      const managedFields = installer === undefined ? [] : [{ manager: installer, operation: 'Update', apiVersion: 'apps/v1', fieldsV1 }];
      return { ...object, metadata: { ...object.metadata, annotations: helmAnnotations, managedFields } };
    };
    const by = (fieldManager: string, installer?: string) => ({
      ...request({ ...STS_KIND, operation: 'UPDATE', namespace: NS, name: 'db', userInfo: ARGO, object: helmManaged({ replicas: 1 }), oldObject: helmManaged({ replicas: 3 }, installer) }),
      options: { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager },
    });
    for (const manager of ['kustomize-controller', 'argocd-controller', 'rancher']) {
      const decision = validator.handle(by(manager, 'helm'), context(model()));
      expect(decision.allowed, manager).toBe(false);
      expect(decision.status!.message).toContain('scale-down of StatefulSet shop/db from 3 to 1 replica');
      expect(decision.status!.message).toContain('data-db-2');
    }
    for (const manager of ['helm', 'Helm']) expect(validator.handle(by(manager), context(model())).allowed, manager).toBe(true);
    // Flux's helm-controller also writes without a record (drift correction): its own only after a record here
    // (statefulset-scale-down-helm-drift.test.ts).
    expect(validator.handle(by('helm-controller'), context(model())).allowed).toBe(false);
    // A tool built on Helm's library under its own name, which installed the release: Helm's write.
    expect(validator.handle(by('terraform-provider-helm_v2.17.0_x5', 'terraform-provider-helm_v2.17.0_x5'), context(model())).allowed).toBe(true);
  });

  it("honors each PVC's volume-guard.io/delete=true with its writer", () => {
    const decision = validator.handle(update(ARGO, { replicas: 3 }, { replicas: 0 }), context(model({ approved: 'data-db-2' })));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('data-db-0');
    expect(decision.status!.message).not.toContain('data-db-2');
    const allApproved = model({ approved: 'data-db-2' });
    expect(validator.handle(update(ARGO, { replicas: 3 }, { replicas: 2 }), context(allApproved)).allowed).toBe(true);
  });

  it("leaves claims the controller does not delete: held by another controller, or kept by another owner that stays", () => {
    const owned = (owners: { kind: string; name: string; uid: string; controller?: true }[]) => {
      const m = model();
      const claim = m.persistentVolumeClaim(NS, 'data-db-2')!;
      m.upsert('persistentVolumeClaim', { ...claim, ownerReferences: owners });
      return m;
    };
    // An operator's resource is the claim's controller: the StatefulSet controller leaves it alone (hasUnexpectedController).
    const operator = { kind: 'Database', name: 'shop-db', uid: 'u-database', controller: true as const };
    expect(validator.handle(update(ARGO, { replicas: 3 }, { replicas: 2 }), context(owned([operator]))).allowed).toBe(true);
    // A live StatefulSet also owns it (whenDeleted: Delete of another name): the garbage collector keeps it.
    const other = owned([{ kind: 'StatefulSet', name: 'archive', uid: 'u-archive' }]);
    other.upsert('statefulSet', statefulSet({ namespace: NS, name: 'archive', uid: 'u-archive' }));
    expect(validator.handle(update(ARGO, { replicas: 3 }, { replicas: 2 }), context(other)).allowed).toBe(true);
    // Its own references (to db, to pod db-2) are the controller's to rewrite: still deleted.
    const own = owned([{ kind: 'StatefulSet', name: 'db', uid: UID, controller: true }, { kind: 'Pod', name: 'db-2', uid: 'u-pod', controller: true }]);
    expect(validator.handle(update(ARGO, { replicas: 3 }, { replicas: 2 }), context(own)).allowed).toBe(false);
    // An owner of a kind volume-guard does not see, not a controller: named, with the caveat.
    const unseen = validator.handle(update(ARGO, { replicas: 3 }, { replicas: 2 }), context(owned([{ kind: 'Database', name: 'shop-db', uid: 'u-database' }])));
    expect(unseen.allowed).toBe(false);
    expect(unseen.status!.message).toContain('unless its other owner Database shop-db stays (volume-guard cannot see it)');
  });

  it('asks the API server only for scale-downs, ordinal moves and policies turned to Delete', () => {
    const expression = validator.declaration.matchConditions?.[0]?.expression ?? '';
    expect(expression).toContain("request.subResource == 'scale'");
    expect(expression).toContain('whenScaled');
    const resources = validator.declaration.rules.flatMap((rule) => ('resources' in rule ? rule.resources : []));
    expect(resources).toContain('statefulsets/scale');
  });
});

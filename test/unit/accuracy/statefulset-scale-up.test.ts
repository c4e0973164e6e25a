// A StatefulSet scaled up outside Helm (kubectl scale, an autoscaler through statefulsets/scale, a GitOps sync raising
// spec.replicas) claims the PVCs of the ordinals it adds, whatever they hold. Those older than the StatefulSet were
// left by an earlier StatefulSet of that name: re-attaching them is the adoption orphan-pvc refuses at a CREATE. Its
// own scale-down leftovers (younger than it) are meant to come back.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { statefulSetValidator } from '../../../src/admission/validators/statefulset.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ALICE, context, request, withModes } from '../../support/admission.ts';
import { pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';

const validator = statefulSetValidator(defaultConfig());
const NS = 'shop';
const CREATED = '2026-03-01T10:00:00Z';
const STS_RESOURCE = { group: 'apps', version: 'v1', resource: 'statefulsets' };

function stsObject(replicas: number, annotations: Record<string, string> = {}): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: NS, creationTimestamp: CREATED, annotations },
    spec: { replicas, volumeClaimTemplates: [{ metadata: { name: 'data' } }] },
  };
}

function update(before: number, after: number, annotations: Record<string, string> = {}): AdmissionRequest {
  return request({
    kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
    resource: STS_RESOURCE,
    operation: 'UPDATE',
    namespace: NS,
    name: 'db',
    userInfo: ALICE,
    object: stsObject(after, annotations),
    oldObject: stsObject(before, annotations),
  });
}

function scale(before: number, after: number, metadata: Record<string, string> = {}): AdmissionRequest {
  const scaleObject = (replicas: number) => ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'db', namespace: NS, ...metadata }, spec: replicas ? { replicas } : {} });
  return request({
    kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
    resource: STS_RESOURCE,
    subResource: 'scale',
    operation: 'UPDATE',
    namespace: NS,
    name: 'db',
    userInfo: ALICE,
    object: scaleObject(after),
    oldObject: scaleObject(before),
  });
}

/** Live db at 1 replica (created 2026-03-01); data-db-1 from January (an earlier db), data-db-2 from April (its own). */
function model(reuse = false, mounted = false): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', replicas: 1, creationTimestamp: CREATED }));
  const claims: Record<string, string> = { 'data-db-1': '2026-01-05T08:00:00Z', 'data-db-2': '2026-04-02T09:00:00Z' };
  for (const [name, creationTimestamp] of Object.entries(claims)) {
    const annotations: Record<string, string> = reuse ? { 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'admin' } : {};
    m.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Retain' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}`, creationTimestamp, annotations }));
  }
  if (mounted) m.upsert('pod', pod({ namespace: NS, name: 'restore', claimNames: ['data-db-1'] }));
  return m;
}

describe('orphan-pvc at a StatefulSet scale-up outside Helm', () => {
  it('refuses a scale-up re-attaching a PVC older than the StatefulSet, naming it', () => {
    for (const req of [update(1, 3), scale(1, 3)]) {
      const decision = validator.handle(req, context(model()));
      expect(decision.allowed).toBe(false);
      expect(decision.status!.message).toContain(`scale-up of StatefulSet ${NS}/db to 3 replicas`);
      expect(decision.status!.message).toContain(`PVC ${NS}/data-db-1`);
      expect(decision.status!.message).toContain('left by an earlier StatefulSet db');
      expect(decision.status!.message).not.toContain('data-db-2');
    }
  });

  it('passes a scale of a StatefulSet being deleted: its controller creates no pod and takes over no claim', () => {
    const m = model();
    m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', replicas: 1, creationTimestamp: CREATED, deleting: true }));
    expect(validator.handle(scale(1, 3), context(m)).allowed).toBe(true);
  });

  it('passes spec.replicas raised on a StatefulSet being deleted (kubectl edit during a foreground deletion), as the scale does', () => {
    // stateful_set_control.go updateStatefulSet: a StatefulSet with a deletionTimestamp gets its status written, nothing else.
    const deleting = { deletionTimestamp: '2026-03-02T10:00:00Z', finalizers: ['foregroundDeletion'] };
    const withMeta = (object: unknown): unknown => {
      const o = object as { metadata: Record<string, unknown> };
      return { ...o, metadata: { ...o.metadata, ...deleting } };
    };
    const m = model();
    m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', replicas: 1, creationTimestamp: CREATED, deleting: true }));
    const review = update(1, 3);
    expect(validator.handle({ ...review, object: withMeta(review.object), oldObject: withMeta(review.oldObject) }, context(m)).allowed).toBe(true);
    // Not even sent: the webhook's matchCondition leaves out an UPDATE of a StatefulSet being deleted.
    expect(validator.declaration.matchConditions?.[0]?.expression).toContain('!has(oldObject.metadata.deletionTimestamp)');
  });

  it('refuses a scale-up onto a PVC another pod mounts (db-1 would share the volume), naming that pod', () => {
    const decision = validator.handle(update(1, 3), context(model(false, true)));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain(`PVC ${NS}/data-db-1`);
    expect(decision.status!.message).toContain('pod restore mounts it too (both would share the volume)');
  });

  it('passes its own leftovers, scale-downs, PVCs in use by their own pod or approved for reuse, and Helm’s own writes', () => {
    expect(validator.handle(update(2, 3), context(model())).allowed).toBe(true);
    expect(validator.handle(scale(3, 1), context(model())).allowed).toBe(true);
    // Its own pod db-1, orphaned by --cascade=orphan (bare), mounts data-db-1: the StatefulSet adopts it, data and all.
    const orphaned = model();
    orphaned.upsert('pod', pod({ namespace: NS, name: 'db-1', claimNames: ['data-db-1'] }));
    expect(validator.handle(update(1, 3), context(orphaned)).allowed).toBe(true);
    const reused = validator.handle(scale(1, 3), context(model(true)));
    expect(reused.allowed).toBe(true);
    expect(reused.overrides).toEqual(['orphan-pvc']);
    const helm = { 'meta.helm.sh/release-name': 'db', 'meta.helm.sh/release-namespace': NS };
    expect(validator.handle(update(1, 3, helm), context(model())).allowed).toBe(true);
  });

  it('judges kubectl raising the replicas of a StatefulSet Helm manages (kubectl edit or patch: no release record saw it)', () => {
    const helm = { 'meta.helm.sh/release-name': 'db', 'meta.helm.sh/release-namespace': NS };
    const byKubectl = { ...update(1, 3, helm), options: { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl-edit' } };
    const decision = validator.handle(byKubectl, context(model()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain(`PVC ${NS}/data-db-1`);
    const byHelm = { ...update(1, 3, helm), options: { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'helm' } };
    expect(validator.handle(byHelm, context(model())).allowed).toBe(true);
  });

  it("judges a GitOps controller's or a UI's scale-up of a StatefulSet Helm manages; Helm's names and the annotation's owner pass", () => {
    const helm = { 'meta.helm.sh/release-name': 'db', 'meta.helm.sh/release-namespace': NS };
    const by = (fieldManager: string, oldObject?: unknown): AdmissionRequest => {
      const review = update(1, 3, helm);
      return { ...review, options: { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager }, ...(oldObject === undefined ? {} : { oldObject }) };
    };
    for (const manager of ['kustomize-controller', 'argocd-controller', 'rancher']) {
      const decision = validator.handle(by(manager), context(model()));
      expect(decision.allowed, manager).toBe(false);
      expect(decision.status!.message).toContain(`PVC ${NS}/data-db-1`);
    }
    for (const manager of ['helm', 'helm-controller', 'Helm']) expect(validator.handle(by(manager), context(model())).allowed, manager).toBe(true);
    // A tool built on Helm's library under its own name owns the release annotation it installed.
    const stored = stsObject(1, helm) as { metadata: Record<string, unknown> };
    const fieldsV1 = { 'f:metadata': { 'f:annotations': { 'f:meta.helm.sh/release-name': {} } } };
    const installed = { ...stored, metadata: { ...stored.metadata, managedFields: [{ manager: 'greenhouse', operation: 'Update', fieldsV1 }] } };
    expect(validator.handle(by('greenhouse', installed), context(model())).allowed).toBe(true);
    expect(validator.handle(by('argocd-controller', installed), context(model())).allowed).toBe(false);
  });

  it('asks the API server for writes of a Helm-managed StatefulSet unless their field manager is Helm-named or absent', () => {
    const expression = validator.declaration.matchConditions?.[0]?.expression ?? '';
    expect(expression).toContain(
      "!((!has(request.options) || request.options == null || !has(request.options.fieldManager) || request.options.fieldManager == '' || " +
        "request.options.fieldManager.startsWith('helm') || request.options.fieldManager.startsWith('Helm')) && has(object.metadata.annotations) && " +
        "'meta.helm.sh/release-name' in object.metadata.annotations",
    );
    expect(expression).not.toContain("startsWith('kubectl')");
  });
});

describe('orphan-pvc at a scale of a StatefulSet volume-guard has not seen yet', () => {
  // An earlier db left data-db-1 (January). A new db is applied with 1 replica (judged at its CREATE, passes), then
  // `kubectl scale sts db --replicas=3` comes before the informer delivered it: the Scale carries neither its claim
  // templates nor its ordinals, only its uid and creationTimestamp.
  const NEW = { uid: 'uid-new-db', creationTimestamp: '2026-05-01T12:00:00Z' };
  function leftovers(...extra: Parameters<typeof pvc>[0][]): ClusterModel {
    const m = new ClusterModel(VOLUME_SETS);
    for (const fields of [{ namespace: NS, name: 'data-db-1', creationTimestamp: '2026-01-05T08:00:00Z' }, ...extra]) m.upsert('persistentVolumeClaim', pvc(fields));
    return m;
  }

  it('refuses for a moment when a PVC named for an added ordinal exists, and says to retry', () => {
    for (const metadata of [NEW, {}]) {
      const decision = validator.handle(scale(1, 3, metadata), context(leftovers()));
      expect(decision.allowed).toBe(false);
      expect(decision.status!.message).toBe(
        `volume-guard refused the scale-up of StatefulSet ${NS}/db to 3 replicas: volume-guard has not seen StatefulSet ${NS}/db yet ` +
          `(created a moment ago), and PVC ${NS}/data-db-1 exists for the ordinals it adds: possibly left by an earlier StatefulSet of that name. ` +
          'Retry in a moment: it is judged once volume-guard sees the StatefulSet.',
      );
      expect(decision.deniedChecks).toEqual(['orphan-pvc']);
    }
  });

  it('so refuses a StatefulSet re-created under a name whose earlier one the model still holds (another uid)', () => {
    const m = leftovers();
    // The earlier db, gone, still in the model; data-db-1 still names it as owner (whenDeleted: Delete was not set).
    m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: 'uid-old-db', replicas: 2, creationTimestamp: '2025-12-01T00:00:00Z' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-1', creationTimestamp: '2026-01-05T08:00:00Z', ownerReferences: [{ kind: 'StatefulSet', name: 'db', uid: 'uid-old-db' }] }));
    expect(validator.handle(scale(1, 3, NEW), context(m)).allowed).toBe(false);
    // A Scale naming the uid the model holds is judged as usual: data-db-1 is that live db's own (it names it as owner).
    expect(validator.handle(scale(1, 3, { uid: 'uid-old-db', creationTimestamp: '2025-12-01T00:00:00Z' }), context(m)).allowed).toBe(true);
  });

  it("refuses for a moment a PVC another live StatefulSet claims, as a CREATE would if the names collide", () => {
    const m = new ClusterModel(VOLUME_SETS);
    // data-other-db-1: template data of StatefulSet other-db, or template data-other of db; its pod is gone.
    m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'other-db', replicas: 1 }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-other-db-1', creationTimestamp: '2026-01-05T08:00:00Z' }));
    expect(validator.handle(scale(1, 3, NEW), context(m)).status?.message).toContain(`PVC ${NS}/data-other-db-1 exists`);
  });

  it('passes without such PVCs: a brand-new StatefulSet, its own younger PVCs, other names and ordinals, PVCs in use or being deleted', () => {
    expect(validator.handle(scale(1, 3, NEW), context(new ClusterModel(VOLUME_SETS))).allowed).toBe(true);
    const spared = new ClusterModel(VOLUME_SETS);
    for (const fields of [
      { name: 'data-db-1', creationTimestamp: '2026-05-01T12:00:05Z' }, // created after it: its own
      { name: 'data-db-0', creationTimestamp: '2026-01-05T08:00:00Z' }, // not an added ordinal
      { name: 'data-db-3', creationTimestamp: '2026-01-05T08:00:00Z' }, // beyond the new replicas
      { name: 'data-cache-1', creationTimestamp: '2026-01-05T08:00:00Z' }, // another StatefulSet's name
      { name: 'data-db-01', creationTimestamp: '2026-01-05T08:00:00Z' }, // no ordinal the controller writes
      { name: 'logs-db-2', creationTimestamp: '2026-01-05T08:00:00Z', deleting: true },
    ]) {
      spared.upsert('persistentVolumeClaim', pvc({ namespace: NS, ...fields }));
    }
    // The claim's own pod db-2, orphaned by --cascade=orphan: the same workload carries on with its data.
    spared.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-db-2', creationTimestamp: '2026-01-05T08:00:00Z' }));
    spared.upsert('pod', pod({ namespace: NS, name: 'db-2', claimNames: ['data-db-2'] }));
    expect(validator.handle(scale(1, 3, NEW), context(spared)).allowed).toBe(true);
    // Scale-downs are never judged here.
    expect(validator.handle(scale(3, 1, NEW), context(leftovers())).allowed).toBe(true);
  });

  it("follows orphan-pvc's mode: off passes, warn warns", () => {
    const config = (mode: 'off' | 'warn') => ({ config: withModes({ 'orphan-pvc': mode }) });
    expect(validator.handle(scale(1, 3, NEW), context(leftovers(), config('off'))).allowed).toBe(true);
    const warned = validator.handle(scale(1, 3, NEW), context(leftovers(), config('warn')));
    expect(warned.allowed).toBe(true);
    expect(warned.warnings?.join(' ').replace(/\s+/g, ' ')).toContain(`PVC ${NS}/data-db-1 exists for the ordinals it adds`);
  });
});

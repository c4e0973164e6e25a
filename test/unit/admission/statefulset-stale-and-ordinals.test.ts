// StatefulSet DELETE and scale-downs as the StatefulSet controller and the garbage collector behave.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request, statefulSetDeleteRequest } from '../../support/admission.ts';
import { pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';

const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const NS = 'shop';
const UID = '5e1f0c2a-0000-4000-8000-0000000000aa';
const STS_KIND = { kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' }, resource: { group: 'apps', version: 'v1', resource: 'statefulsets' } };

describe('StatefulSet DELETE under whenDeleted: Retain while the PVCs volume-guard sees are stale', () => {
  // The retention policy is not what the garbage collector reads: claims keep their ownerReference to the
  // StatefulSet after whenDeleted turned Delete -> Retain until the controller syncs their pod (never for the
  // claims of pods already gone: stateful_set_utils.go isClaimOwnerUpToDate runs only for existing pods). Whether a
  // claim still names the StatefulSet is known only from a fresh PVC informer; with a stale one the answer must be
  // the stale-model policy (deny by default), as it is under whenDeleted: Delete.
  it('gives the stale-model answer, not an allow, when the PVCs are stale', () => {
    const validator = pvcDeleteValidator(defaultConfig());
    const health = { synced: () => true, staleResources: () => ['persistentvolumeclaims'] };
    const del = (whenDeleted: string): AdmissionRequest => statefulSetDeleteRequest({ namespace: NS, name: 'db', uid: UID, user: ARGO, whenDeleted });
    // Under Delete: denied, the view is stale.
    expect(validator.handle(del('Delete'), context(new ClusterModel(VOLUME_SETS), { health })).allowed).toBe(false);
    // Under Retain the same staleness must not pass it: a claim may still name it (the model cannot tell).
    const decision = validator.handle(del('Retain'), context(new ClusterModel(VOLUME_SETS), { health }));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('stale (persistentvolumeclaims)');
    // Fresh, with no claim naming it: passes.
    expect(validator.handle(del('Retain'), context(new ClusterModel(VOLUME_SETS))).allowed).toBe(true);
  });
});

describe('the fix of a refused ordinals.start move under whenScaled: Delete', () => {
  // A write moving spec.ordinals.start condemns the low ordinals though spec.replicas is unchanged
  // (stateful_set_control.go: pods outside [start, start+replicas) are condemned). "keep the replicas" is no fix:
  // the replicas are kept; what condemns the pods is the new start.
  it('names ordinals.start, not only the replicas, as what to keep', () => {
    const validator = pvcDeleteValidator(defaultConfig());
    const m = new ClusterModel(VOLUME_SETS);
    m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: UID, replicas: 3, whenScaled: 'Delete' }));
    for (const ordinal of [0, 1, 2]) {
      const name = `data-db-${ordinal}`;
      m.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name }));
      m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}` }));
      m.upsert('pod', pod({ namespace: NS, name: `db-${ordinal}`, claimNames: [name], controllerKind: 'StatefulSet' }));
    }
    const sts = (start: number) => ({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: NS, uid: UID },
      spec: { replicas: 3, ordinals: { start }, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' }, volumeClaimTemplates: [{ metadata: { name: 'data' } }] },
    });
    const decision = validator.handle(request({ ...STS_KIND, operation: 'UPDATE', namespace: NS, name: 'db', userInfo: ARGO, object: sts(2), oldObject: sts(0) }), context(m));
    expect(decision.allowed).toBe(false);
    const fix = decision.status!.message.replace(/\n\s+/g, ' ');
    expect(fix).toContain('move of StatefulSet shop/db to ordinals 2..4');
    expect(fix).toMatch(/Fix: [^\n]*ordinals\.start/);
  });
});

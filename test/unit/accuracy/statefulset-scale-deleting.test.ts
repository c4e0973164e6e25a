// A statefulsets/scale write on a StatefulSet that is being deleted. The StatefulSet controller
// does nothing but status for such a set (stateful_set_control.go updateStatefulSet: `if set.DeletionTimestamp != nil
// { return &status, nil }`), so no condemned pod's claim gets an owner reference and nothing is deleted by the scale.
// The same change written to the StatefulSet itself is not even sent (matchCondition: oldObject being deleted).
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { pod, pv, pvc, statefulSet } from '../../support/fixtures.ts';

const validator = pvcDeleteValidator(defaultConfig());
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const NS = 'shop';
const UID = 'u-db';

function scale(before: number, after: number): AdmissionRequest {
  const s = (replicas: number) => ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'db', namespace: NS, uid: UID }, spec: replicas === 0 ? {} : { replicas } });
  return request({
    kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
    resource: { group: 'apps', version: 'v1', resource: 'statefulsets' },
    subResource: 'scale',
    operation: 'UPDATE',
    namespace: NS,
    name: 'db',
    userInfo: ARGO,
    object: s(after),
    oldObject: s(before),
  });
}

function model(deleting: boolean): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: UID, replicas: 3, whenScaled: 'Delete', ...(deleting ? { deleting: true as const } : {}) }));
  for (const ordinal of [0, 1, 2]) {
    const name = `data-db-${ordinal}`;
    m.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}` }));
    m.upsert('pod', pod({ namespace: NS, name: `db-${ordinal}`, claimNames: [name], controllerKind: 'StatefulSet' }));
  }
  return m;
}

describe('pvc-delete: scale subresource of a StatefulSet being deleted', () => {
  it('refuses a live one (control)', () => {
    expect(validator.handle(scale(3, 1), context(model(false))).allowed).toBe(false);
  });
  it('passes one being deleted: its controller condemns nothing any more', () => {
    expect(validator.handle(scale(3, 1), context(model(true))).allowed).toBe(true);
  });
});

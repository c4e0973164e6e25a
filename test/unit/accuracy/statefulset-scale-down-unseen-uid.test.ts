// A statefulsets/scale write whose uid is not the StatefulSet the model holds under that name (re-created a moment ago
// after --cascade=orphan) is not judged on the earlier one's retention policy: the re-created one (whenScaled: Delete,
// the usual reason to re-create) scaled down 3 -> 1 while the model still shows the old one (whenScaled: Retain) is
// refused for a moment when the pods it scales away mount Bound claims whose PV says Delete, as the scale-up path
// refuses such an unseen StatefulSet (unseenByScale).
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

function scale(uid: string, before: number, after: number): AdmissionRequest {
  const s = (replicas: number) => ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'db', namespace: NS, uid }, spec: replicas === 0 ? {} : { replicas } });
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

describe('scale-down of a re-created StatefulSet the model has not seen', () => {
  it('is not passed on the earlier StatefulSet\'s whenScaled: Retain', () => {
    const m = new ClusterModel(VOLUME_SETS);
    m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: 'u-old', replicas: 3, whenScaled: 'Retain', deleting: true }));
    for (const ordinal of [0, 1, 2]) {
      const name = `data-db-${ordinal}`;
      m.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
      m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}` }));
      m.upsert('pod', pod({ namespace: NS, name: `db-${ordinal}`, claimNames: [name], controllerKind: 'StatefulSet' }));
    }
    expect(validator.handle(scale('u-new', 3, 1), context(m)).allowed).toBe(false);
  });
});

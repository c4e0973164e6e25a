// The "being deleted" pass of a statefulsets/scale write holds for the StatefulSet the Scale is of (its uid:
// scaleFromStatefulSet copies it): a record of an earlier StatefulSet of that name (deleted with --cascade=orphan, then
// re-applied, the usual way to change volumeClaimTemplates) still shown being deleted does not let the new one's
// scale-down through.
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

function model(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  // The model still shows the earlier StatefulSet (uid u-old) being deleted.
  m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: 'u-old', replicas: 3, whenScaled: 'Delete', deleting: true }));
  for (const ordinal of [0, 1, 2]) {
    const name = `data-db-${ordinal}`;
    m.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}` }));
    m.upsert('pod', pod({ namespace: NS, name: `db-${ordinal}`, claimNames: [name], controllerKind: 'StatefulSet' }));
  }
  return m;
}

describe('pvc-delete: scale of a StatefulSet whose earlier namesake the model shows being deleted', () => {
  it('does not pass the new StatefulSet (uid u-new) on the old record', () => {
    expect(validator.handle(scale('u-new', 3, 1), context(model())).allowed).toBe(false);
  });
});

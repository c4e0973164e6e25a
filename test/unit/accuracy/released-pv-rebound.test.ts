// A Released PV whose claimRef is pointed at the live re-created claim (its uid) in the same write that sets reclaim
// Delete: the PV controller's syncVolume finds the claim by claimRef, uid and spec.volumeName alike, and binds them
// ("all is bound"); it reclaims only when the claim is gone or another one. Nothing is lost: the write passes. A claimRef
// still naming the deleted claim's uid, or a claim asking for another PV, stays refused.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { pvc } from '../../support/fixtures.ts';

const validator = pvcDeleteValidator(defaultConfig());
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const PV_KIND = { kind: { group: '', version: 'v1', kind: 'PersistentVolume' }, resource: { group: '', version: 'v1', resource: 'persistentvolumes' } };

function pvObject(policy: string, phase: string, claimUid: string): unknown {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: 'pv-data' },
    spec: { persistentVolumeReclaimPolicy: policy, claimRef: { namespace: 'shop', name: 'data', uid: claimUid }, csi: { driver: 'driver.longhorn.io', volumeHandle: 'pv-data' } },
    status: { phase },
  };
}

function change(before: unknown, after: unknown): AdmissionRequest {
  return request({ ...PV_KIND, operation: 'UPDATE', name: 'pv-data', userInfo: ARGO, object: after, oldObject: before });
}

function withClaim(volumeName: string, deleting = false): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data', volumeName, uid: 'uid-new', phase: 'Pending', deleting }));
  return model;
}

describe('a Released PV handed to its re-created claim', () => {
  it('passes Retain → Delete in the write that points its claimRef at the live claim asking for it', () => {
    const decision = validator.handle(change(pvObject('Retain', 'Released', 'uid-old'), pvObject('Delete', 'Released', 'uid-new')), context(withClaim('pv-data')));
    expect(decision.status?.message).toBeUndefined();
    expect(decision.allowed).toBe(true);
  });

  it('refuses it while the claimRef still names the deleted claim', () => {
    const decision = validator.handle(change(pvObject('Retain', 'Released', 'uid-old'), pvObject('Delete', 'Released', 'uid-old')), context(withClaim('pv-data')));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('reclaim policy Retain → Delete');
  });

  it('refuses it when the live claim asks for another PV, or is being deleted', () => {
    for (const model of [withClaim('pv-other'), withClaim('pv-data', true)]) {
      const decision = validator.handle(change(pvObject('Retain', 'Released', 'uid-old'), pvObject('Delete', 'Released', 'uid-new')), context(model));
      expect(decision.allowed).toBe(false);
    }
  });
});

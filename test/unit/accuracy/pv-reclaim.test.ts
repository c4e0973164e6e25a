// The PV controller reclaims a PV whose claim is gone (phase Released, or Failed and retried) on every sync, by the
// reclaim policy it has then: turning Retain into Delete on a Released PV destroys the volume at once (Recycle wipes
// it). A Bound PV's policy change destroys nothing now (its claim's later DELETE is judged then), nor does an Available
// PV's (no claim to release). A PV DELETE is not judged at all: the backing volume is destroyed only once the PV is
// Released with reclaim Delete (HonorPVReclaimPolicy), i.e. when its claim goes.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { overrideGuardValidator } from '../../../src/admission/validators/override-guard.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, ALICE, context, request } from '../../support/admission.ts';
import { pvc } from '../../support/fixtures.ts';

const config = defaultConfig();
const validator = pvcDeleteValidator(config);
const FLUX: UserInfo = { username: 'system:serviceaccount:flux-system:kustomize-controller', groups: ['system:serviceaccounts'] };
const PV_KIND = { kind: { group: '', version: 'v1', kind: 'PersistentVolume' }, resource: { group: '', version: 'v1', resource: 'persistentvolumes' } };

function pvObject(policy: string, phase: string, annotations: Record<string, string> = {}, claimRef: boolean | 'no-uid' = true): unknown {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: 'pv-db', annotations },
    spec: {
      persistentVolumeReclaimPolicy: policy,
      ...(claimRef ? { claimRef: { namespace: 'shop', name: 'data-db-0', ...(claimRef === 'no-uid' ? {} : { uid: 'gone' }) } } : {}),
      csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-1' },
    },
    status: { phase },
  };
}

function change(user: UserInfo, before: string, after: string, phase = 'Released', annotations: Record<string, string> = {}, claimRef: boolean | 'no-uid' = true): AdmissionRequest {
  return request({
    ...PV_KIND,
    operation: 'UPDATE',
    name: 'pv-db',
    userInfo: user,
    object: pvObject(after, phase, annotations, claimRef),
    oldObject: pvObject(before, phase, {}, claimRef),
  });
}

const empty = () => context(new ClusterModel(VOLUME_SETS));

describe('pvc-delete at a PV reclaim policy change', () => {
  it('refuses automation turning a Released PV from Retain to Delete, saying the data goes at once', () => {
    const decision = validator.handle(change(FLUX, 'Retain', 'Delete'), empty());
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    expect(message).toContain(`change of PV pv-db's reclaim policy to Delete by ${FLUX.username}`);
    expect(message).toContain('PV whose claim is gone would be reclaimed');
    expect(message).toContain('shop/data-db-0 gone');
    expect(message).toContain('kubectl annotate pv pv-db volume-guard.io/delete=true');
    expect(message).toContain('keep the reclaim policy Retain until the data is backed up');
    expect(message).not.toContain('helm.sh/resource-policy');
    expect(validator.handle(change(FLUX, 'Retain', 'Recycle', 'Failed'), empty()).allowed).toBe(false);
  });

  it('passes what destroys nothing now: Bound or Available PVs, no claimRef, Delete to Retain, no change', () => {
    expect(validator.handle(change(FLUX, 'Retain', 'Delete', 'Bound'), empty()).allowed).toBe(true);
    expect(validator.handle(change(FLUX, 'Retain', 'Delete', 'Available'), empty()).allowed).toBe(true);
    // The same write drops the claimRef: the PV controller makes it Available, reclaiming nothing.
    expect(validator.handle(change(FLUX, 'Retain', 'Delete', 'Released', {}, false), empty()).allowed).toBe(true);
    // The claimRef's uid cleared (pre-bound to a claim name): the PV controller makes it Available for that name.
    expect(validator.handle(change(FLUX, 'Retain', 'Delete', 'Released', {}, 'no-uid'), empty()).allowed).toBe(true);
    expect(validator.handle(change(FLUX, 'Delete', 'Retain'), empty()).allowed).toBe(true);
    expect(validator.handle(change(FLUX, 'Delete', 'Delete'), empty()).allowed).toBe(true);
  });

  it('refuses it on a Bound PV whose claim is being deleted (its DELETE was judged under the old policy)', () => {
    const going = new ClusterModel(VOLUME_SETS);
    going.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-0', volumeName: 'pv-db', deleting: true }));
    const decision = validator.handle(change(FLUX, 'Retain', 'Delete', 'Bound'), context(going));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('its claim shop/data-db-0 is being deleted');
    const staying = new ClusterModel(VOLUME_SETS);
    staying.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-0', volumeName: 'pv-db' }));
    expect(validator.handle(change(FLUX, 'Retain', 'Delete', 'Bound'), context(staying)).allowed).toBe(true);
  });

  it('leaves people to pvcDelete.others (off by default), and enforces it when set', () => {
    expect(validator.handle(change(ADMIN, 'Retain', 'Delete'), empty()).allowed).toBe(true);
    const strict = { ...config, pvcDelete: { ...config.pvcDelete, others: 'enforce' as const } };
    expect(validator.handle(change(ALICE, 'Retain', 'Delete'), context(new ClusterModel(VOLUME_SETS), { config: strict })).allowed).toBe(false);
  });

  it("honors the PV's volume-guard.io/delete=true with its writer, and the override guard polices it on PVs", () => {
    const approved = { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-reason': 'restored elsewhere' };
    const decision = validator.handle(change(FLUX, 'Retain', 'Delete', 'Released', approved), empty());
    expect(decision.allowed).toBe(true);
    expect(decision.auditAnnotations?.['override-reason']).toBe('restored elsewhere');
    // Without its writer recorded it does not count.
    expect(validator.handle(change(FLUX, 'Retain', 'Delete', 'Released', { 'volume-guard.io/delete': 'true' }), empty()).allowed).toBe(false);
    const guard = overrideGuardValidator(config);
    const resources = guard.declaration.rules.flatMap((rule) => ('resources' in rule ? rule.resources : []));
    expect(resources).toContain('persistentvolumes');
    const byAlice = guard.handle(
      request({ ...PV_KIND, operation: 'UPDATE', name: 'pv-db', userInfo: ALICE, object: pvObject('Retain', 'Released', { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'alice' }), oldObject: pvObject('Retain', 'Released') }),
      empty(),
    );
    expect(byAlice.allowed).toBe(false);
  });
});

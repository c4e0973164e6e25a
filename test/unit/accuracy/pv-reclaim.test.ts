// The PV controller reclaims a PV whose claim is gone (phase Released, or Failed and retried) on every sync, by the
// reclaim policy it has then: turning Retain into Delete on a Released PV destroys the volume at once (Recycle wipes
// it). A Bound PV's policy change destroys nothing now while its claim (that uid) lives (its later DELETE is judged
// then), nor does the change of a PV bound to no claim by uid. The phase lags behind the claim: the PV controller's
// syncVolume releases and reclaims, in one sync, a PV of any phase whose claimRef names a claim that is gone or was
// re-created under another uid. A PV DELETE is not judged at all: the backing volume is destroyed only once the PV is
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

function pvObject(policy: string, phase: string, annotations: Record<string, string> = {}, claimRef: boolean | 'no-uid' | string = true): unknown {
  const uid = typeof claimRef === 'string' && claimRef !== 'no-uid' ? claimRef : 'gone';
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: 'pv-db', annotations },
    spec: {
      persistentVolumeReclaimPolicy: policy,
      ...(claimRef ? { claimRef: { namespace: 'shop', name: 'data-db-0', ...(claimRef === 'no-uid' ? {} : { uid }) } } : {}),
      // Recycle wipes only what a recycler serves (hostPath, NFS): a CSI PV under it is marked Failed, its data kept.
      ...(policy === 'Recycle' ? { nfs: { server: 'nfs.example', path: '/export/db' } } : { csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-1' } }),
    },
    status: { phase },
  };
}

function change(
  user: UserInfo,
  before: string,
  after: string,
  phase = 'Released',
  annotations: Record<string, string> = {},
  claimRef: boolean | 'no-uid' | string = true,
): AdmissionRequest {
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

  it('passes what destroys nothing now: PVs whose claim lives, no claimRef, Delete to Retain, no change', () => {
    const live = new ClusterModel(VOLUME_SETS);
    live.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-0', uid: 'uid-db-0', volumeName: 'pv-db' }));
    expect(validator.handle(change(FLUX, 'Retain', 'Delete', 'Bound', {}, 'uid-db-0'), context(live)).allowed).toBe(true);
    // Pre-bound by uid, the claim not bound yet: the PV controller binds them, reclaiming nothing.
    expect(validator.handle(change(FLUX, 'Retain', 'Delete', 'Available', {}, 'uid-db-0'), context(live)).allowed).toBe(true);
    // The same write drops the claimRef: the PV controller makes it Available, reclaiming nothing.
    expect(validator.handle(change(FLUX, 'Retain', 'Delete', 'Released', {}, false), empty()).allowed).toBe(true);
    // The claimRef's uid cleared (pre-bound to a claim name): the PV controller makes it Available for that name.
    expect(validator.handle(change(FLUX, 'Retain', 'Delete', 'Released', {}, 'no-uid'), empty()).allowed).toBe(true);
    expect(validator.handle(change(FLUX, 'Delete', 'Retain'), empty()).allowed).toBe(true);
    expect(validator.handle(change(FLUX, 'Delete', 'Delete'), empty()).allowed).toBe(true);
  });

  it('refuses it on a Bound PV whose claim is being deleted (its DELETE was judged under the old policy)', () => {
    const going = new ClusterModel(VOLUME_SETS);
    going.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-0', uid: 'uid-db-0', volumeName: 'pv-db', deleting: true }));
    const decision = validator.handle(change(FLUX, 'Retain', 'Delete', 'Bound', {}, 'uid-db-0'), context(going));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('its claim shop/data-db-0 is being deleted');
    const staying = new ClusterModel(VOLUME_SETS);
    staying.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-0', uid: 'uid-db-0', volumeName: 'pv-db' }));
    expect(validator.handle(change(FLUX, 'Retain', 'Delete', 'Bound', {}, 'uid-db-0'), context(staying)).allowed).toBe(true);
  });

  it('refuses it on a PV of any phase whose claim is gone or was re-created: the PV controller releases and reclaims it', () => {
    // Bound, its claim deleted before the PV controller caught up (it releases and reclaims in the same sync).
    const bound = validator.handle(change(FLUX, 'Retain', 'Delete', 'Bound'), empty());
    expect(bound.allowed).toBe(false);
    expect(bound.status!.message).toContain('Bound, but its claim shop/data-db-0 no longer exists');
    expect(bound.status!.message).toContain('reclaims it at its next sync');
    // A PV written with the claimRef of a claim long gone (a manifest exported with its uid, re-applied by GitOps).
    expect(validator.handle(change(FLUX, 'Retain', 'Delete', 'Available'), empty()).allowed).toBe(false);
    expect(validator.handle(change(FLUX, 'Retain', 'Recycle', 'Pending'), empty()).allowed).toBe(false);
    // The claim was deleted and a new one of that name created (a StatefulSet re-creating it): not the PV's claim.
    const recreated = new ClusterModel(VOLUME_SETS);
    recreated.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-0', uid: 'uid-new', volumeName: '', phase: 'Pending' }));
    const decision = validator.handle(change(FLUX, 'Retain', 'Delete', 'Bound', {}, 'uid-old'), context(recreated));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('the PVC of that name now is another one, uid uid-new');
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

// A statefulsets/scale write whose uid is not the StatefulSet the model holds under that name (re-created a moment ago
// after --cascade=orphan) is not judged on the earlier one's retention policy: the re-created one (whenScaled: Delete,
// the usual reason to re-create) scaled down 3 -> 1 while the model still shows the old one (whenScaled: Retain) is
// refused for a moment when the pods it scales away mount Bound claims whose PV says Delete, as the scale-up path
// refuses such an unseen StatefulSet (unseenByScale). The same when the model holds no StatefulSet of that name yet.
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

/** db's pods db-0..db-2 (orphaned: no owner, as `--cascade=orphan` leaves them) on Bound claims whose PV says Delete. */
function orphanedPods(m: ClusterModel): ClusterModel {
  for (const ordinal of [0, 1, 2]) {
    const name = `data-db-${ordinal}`;
    m.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: 'Delete' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}` }));
    m.upsert('pod', pod({ namespace: NS, name: `db-${ordinal}`, claimNames: [name] }));
  }
  return m;
}

describe('scale-down of a re-created StatefulSet the model has not seen', () => {
  it('is not passed on the earlier StatefulSet\'s whenScaled: Retain', () => {
    const m = new ClusterModel(VOLUME_SETS);
    m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', uid: 'u-old', replicas: 3, whenScaled: 'Retain', deleting: true }));
    expect(validator.handle(scale('u-new', 3, 1), context(orphanedPods(m))).allowed).toBe(false);
  });

  // The earlier one's DELETE reached the informer, the re-created one's CREATE not yet (delete --cascade=orphan,
  // re-create with whenScaled: Delete, kubectl scale): no StatefulSet of that name in the model at all.
  it('is refused for a moment when the model holds no StatefulSet of that name but its pods mount Delete claims', () => {
    const decision = validator.handle(scale('u-new', 3, 1), context(orphanedPods(new ClusterModel(VOLUME_SETS))));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('has not seen this StatefulSet shop/db yet');
    expect(decision.status?.message).toContain('shop/data-db-1, shop/data-db-2');
    expect(decision.status?.message.replace(/\s+/g, ' ')).toContain('whose PVs are deleted with them');
    expect(decision.status?.message).toContain('Retry in a moment');
  });

  it('passes when nothing of that name exists, as an unseen scale-up without leftover claims does', () => {
    expect(validator.handle(scale('u-new', 3, 1), context(new ClusterModel(VOLUME_SETS))).allowed).toBe(true);
  });

  it('gets the stale-model answer when the model is stale', () => {
    const health = { synced: () => true, staleResources: () => ['statefulsets.apps'] };
    const decision = validator.handle(scale('u-new', 3, 1), context(new ClusterModel(VOLUME_SETS), { health }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('stale (statefulsets.apps)');
    // A Scale is never Helm's write: the namespace's skip for Helm releases is not offered.
    expect(decision.status?.message).not.toContain('for an object of a Helm release there');
  });
});

// Flux's helm-controller uninstalls a release holding a RabbitmqCluster; the namespace's Helm skip covers it, so
// owner-delete allows the DELETE (judging the operator-made StatefulSet's claims too). The garbage collector then
// deletes the StatefulSet as itself: under pvcDelete.others: enforce it is not judged again (refused, the collector
// would retry for ever), nor are its claims after it. Without the owner's DELETE admitted, it is.
import type { AdmittedRemoval } from '../../../src/cluster/pending-removals.ts';
import { describe, expect, it } from 'vitest';
import type { UserInfo } from '../../../src/admission/types.ts';
import { ownerDeleteValidator } from '../../../src/admission/validators/owner-delete.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { context, releaseAnnotationManagedFields, request, statefulSetDeleteRequest } from '../../support/admission.ts';
import { namespace, pv, pvc, statefulSet } from '../../support/fixtures.ts';

const base = defaultConfig();
const strict: Config = { ...base, pvcDelete: { ...base.pvcDelete, others: 'enforce' } };
const FLUX_HELM: UserInfo = { username: 'system:serviceaccount:flux-system:helm-controller', groups: ['system:serviceaccounts'] };
const GC: UserInfo = { username: 'system:serviceaccount:kube-system:generic-garbage-collector', groups: ['system:serviceaccounts'] };
const NS = 'mq';
const release = { 'meta.helm.sh/release-name': 'mq', 'meta.helm.sh/release-namespace': NS };

const collectorDelete = () =>
  statefulSetDeleteRequest({
    namespace: NS,
    name: 'rabbit-server',
    uid: 'uid-sts',
    user: GC,
    whenDeleted: 'Delete',
    options: { propagationPolicy: 'Background' },
    ownerReferences: [{ apiVersion: 'rabbitmq.com/v1beta1', kind: 'RabbitmqCluster', name: 'rabbit', uid: 'uid-cr', controller: true }],
  });

describe('the garbage collector deleting the StatefulSet of an owner whose DELETE owner-delete allowed', () => {
  it('is not refused again under pvcDelete.others: enforce', () => {
    const m = new ClusterModel(VOLUME_SETS);
    m.upsert('namespace', namespace({ name: NS, annotations: { 'volume-guard.io/skip': 'pvc-delete', 'volume-guard.io/skip-by': 'admin' } }));
    m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'rabbit-server', uid: 'uid-sts', ownerUids: ['uid-cr'], controlled: true }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-rabbit-server-0', volumeName: 'pv-0', ownerReferences: [{ kind: 'StatefulSet', name: 'rabbit-server', uid: 'uid-sts', controller: true }] }));
    m.upsert('persistentVolume', pv({ name: 'pv-0', claimNamespace: NS, claimName: 'data-rabbit-server-0', reclaimPolicy: 'Delete' }));
    const removals: AdmittedRemoval[] = [];
    const owner = ownerDeleteValidator(strict).handle(
      request({
        kind: { group: 'rabbitmq.com', version: 'v1beta1', kind: 'RabbitmqCluster' },
        resource: { group: 'rabbitmq.com', version: 'v1beta1', resource: 'rabbitmqclusters' },
        operation: 'DELETE',
        namespace: NS,
        name: 'rabbit',
        userInfo: FLUX_HELM,
        oldObject: {
          apiVersion: 'rabbitmq.com/v1beta1',
          kind: 'RabbitmqCluster',
          metadata: { name: 'rabbit', namespace: NS, uid: 'uid-cr', annotations: release, managedFields: releaseAnnotationManagedFields(release, 'helm-controller') },
        },
        options: { propagationPolicy: 'Background' },
      }),
      context(m, { config: strict, removals }),
    );
    expect(owner.allowed).toBe(true);
    for (const removal of removals) m.admitRemoval(removal);
    // The RabbitmqCluster is gone; the collector deletes its StatefulSet (background: no finalizer on it).
    const gc = pvcDeleteValidator(strict).handle(
      collectorDelete(),
      context(m, { config: strict }),
    );
    expect(gc.status?.message ?? '').toBe('');
    expect(gc.allowed).toBe(true);
    // Unadmitted (another replica, or past its time), the same DELETE is judged.
    const fresh = new ClusterModel(VOLUME_SETS);
    fresh.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-rabbit-server-0', volumeName: 'pv-0', ownerReferences: [{ kind: 'StatefulSet', name: 'rabbit-server', uid: 'uid-sts', controller: true }] }));
    fresh.upsert('persistentVolume', pv({ name: 'pv-0', claimNamespace: NS, claimName: 'data-rabbit-server-0', reclaimPolicy: 'Delete' }));
    expect(pvcDeleteValidator(strict).handle(collectorDelete(), context(fresh, { config: strict })).allowed).toBe(false);
  });
});

// Argo CD prunes an operator's resource that is the controller owner of a StatefulSet whose claims name the
// StatefulSet (whenDeleted: Delete): the garbage collector deletes the StatefulSet (as itself) and then its claims.
// Judged at the prune, naming the claims and the StatefulSet that takes them.
import { describe, expect, it } from 'vitest';
import type { UserInfo } from '../../../src/admission/types.ts';
import { ownerDeleteValidator } from '../../../src/admission/validators/owner-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { namespace, pv, pvc, statefulSet } from '../../support/fixtures.ts';

const config = defaultConfig();
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const NS = 'mq';

describe('an operator resource owning a StatefulSet that owns Bound claims', () => {
  it("is refused at Argo CD's prune, as the garbage collector deletes the StatefulSet and then its claims", () => {
    const m = new ClusterModel(VOLUME_SETS);
    m.upsert('namespace', namespace({ name: NS }));
    const sts = statefulSet({ namespace: NS, name: 'rabbit-server', uid: 'uid-sts', ownerUids: ['uid-cr'], controlled: true });
    m.upsert('statefulSet', sts);
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name: 'data-rabbit-server-0', volumeName: 'pv-0', ownerReferences: [{ kind: 'StatefulSet', name: 'rabbit-server', uid: 'uid-sts', controller: true }] }));
    m.upsert('persistentVolume', pv({ name: 'pv-0', claimNamespace: NS, claimName: 'data-rabbit-server-0', reclaimPolicy: 'Delete' }));
    const del = request({
      kind: { group: 'rabbitmq.com', version: 'v1beta1', kind: 'RabbitmqCluster' },
      resource: { group: 'rabbitmq.com', version: 'v1beta1', resource: 'rabbitmqclusters' },
      operation: 'DELETE',
      namespace: NS,
      name: 'rabbit',
      userInfo: ARGO,
      oldObject: { apiVersion: 'rabbitmq.com/v1beta1', kind: 'RabbitmqCluster', metadata: { name: 'rabbit', namespace: NS, uid: 'uid-cr' } },
      options: { propagationPolicy: 'Foreground' },
    });
    const refused = ownerDeleteValidator(config).handle(del, context(m));
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toContain(`${NS}/data-rabbit-server-0`);
    expect(refused.status?.message).toContain(`StatefulSet ${NS}/rabbit-server, which RabbitmqCluster rabbit owns`);
    // Another owner keeping the StatefulSet (the collector deletes it only once none remains), it passes.
    m.upsert('statefulSet', { ...sts, ownerUids: ['uid-cr', 'uid-other'] });
    expect(ownerDeleteValidator(config).handle(del, context(m)).allowed).toBe(true);
    m.upsert('statefulSet', sts);
    // Orphaning, or the StatefulSet already being deleted (its own DELETE was judged), it passes.
    expect(ownerDeleteValidator(config).handle({ ...del, options: { propagationPolicy: 'Orphan' } }, context(m)).allowed).toBe(true);
    m.upsert('statefulSet', { ...sts, deleting: true });
    expect(ownerDeleteValidator(config).handle(del, context(m)).allowed).toBe(true);
  });
});

// With overrides.allowedGroups and allowedUsers empty (listed mode), nobody may write overrides and none counts:
// that holds for the overrides recorded per object or elsewhere too (a PVC's delete approval read at a Namespace
// DELETE, Harvester's annotation on an Upgrade draining a node), not only for those naming their writer.
import { describe, expect, it } from 'vitest';
import type { UserInfo } from '../../../src/admission/types.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, request } from '../../support/admission.ts';
import { detachedVolume, harvesterUpgrade, longhornNode, node, pv, pvc, replica } from '../../support/fixtures.ts';

const config = defaultConfig();
const nobody = { ...config, overrides: { mode: 'listed' as const, allowedGroups: [], allowedUsers: [] } };
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const APPROVAL = { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'admin' };

function shop(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('persistentVolume', pv({ name: 'pv-uploads', claimNamespace: 'shop', claimName: 'uploads', reclaimPolicy: 'Delete' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'uploads', volumeName: 'pv-uploads', annotations: APPROVAL }));
  return model;
}

const namespaceDelete = () =>
  request({
    kind: { group: '', version: 'v1', kind: 'Namespace' },
    resource: { group: '', version: 'v1', resource: 'namespaces' },
    operation: 'DELETE',
    namespace: 'shop',
    name: 'shop',
    userInfo: ARGO,
    oldObject: { metadata: { name: 'shop', annotations: {} } },
  });

describe('no override writers: no override counts, wherever it is recorded', () => {
  it("a PVC's delete approval waives a Namespace DELETE with writers configured, not without", () => {
    expect(pvcDeleteValidator(config).handle(namespaceDelete(), context(shop())).allowed).toBe(true);
    const decision = pvcDeleteValidator(nobody).handle(namespaceDelete(), context(shop(), { config: nobody }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('shop/uploads');
  });

  it("Harvester's annotation on an Upgrade draining the node waives its cordon with writers configured, not without", () => {
    const model = new ClusterModel(VOLUME_SETS);
    model.setLonghornInstalled(true);
    model.upsert('node', node({ name: 'w1' }));
    model.replaceAll('longhornNode', ['w1', 'w2'].map((name) => longhornNode({ name })));
    model.upsert('longhornVolume', detachedVolume({ name: 'parked', numberOfReplicas: 1, pvcNamespace: 'app', pvcName: 'parked' }));
    model.upsert('longhornReplica', replica({ volumeName: 'parked', nodeID: 'w1', currentState: 'stopped' }));
    model.upsert('harvesterUpgrade', harvesterUpgrade({ nodeStates: { w1: 'Pre-drained' } }));
    expect(nodeCordonValidator(config).handle(cordonRequest('w1'), context(model)).allowed).toBe(true);
    expect(nodeCordonValidator(nobody).handle(cordonRequest('w1'), context(model, { config: nobody })).allowed).toBe(false);
  });
});

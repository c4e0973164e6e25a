// Deletions that lose nothing: a Longhorn volume whose replicas never held data (longhorn-manager sets a replica's
// healthyAt once an engine has used it), and a claim whose PV's claimRef names another claim (the PV controller
// reclaims a PV by its claimRef's claim).
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { storageTeardownValidator } from '../../../src/admission/validators/storage-teardown.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, node, pv, pvc, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();
const pvcDelete = pvcDeleteValidator(config);
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const VOLUME_KIND = { kind: { group: 'longhorn.io', version: 'v1beta2', kind: 'Volume' }, resource: { group: 'longhorn.io', version: 'v1beta2', resource: 'volumes' } };
const PVC_KIND = { kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' }, resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' } };

function claimDelete(user: UserInfo, namespace: string, name: string, volumeName: string, ownerReferences: unknown[] = []): AdmissionRequest {
  return request({
    ...PVC_KIND, operation: 'DELETE', namespace, name, userInfo: user,
    oldObject: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace, uid: `uid-${namespace}-${name}`, ownerReferences }, spec: { volumeName }, status: { phase: 'Bound' } },
  });
}

const volumeDelete = (): AdmissionRequest =>
  request({
    ...VOLUME_KIND, operation: 'DELETE', namespace: 'longhorn-system', name: 'vol-new', userInfo: ARGO,
    oldObject: { apiVersion: 'longhorn.io/v1beta2', kind: 'Volume', metadata: { name: 'vol-new', namespace: 'longhorn-system' }, spec: { numberOfReplicas: 1 }, status: { state: 'detached' } },
  });

describe('Longhorn Volume DELETE of a volume that never held data', () => {
  // longhorn-manager sets a replica's spec.healthyAt only once an engine has it in RW mode (first attachment); a
  // volume whose replicas never had it was never written. volume-guard itself says so for a Replica DELETE
  // (collectReplicaDeletion: healthyAt '' "never held data").
  function model(): ClusterModel {
    const m = new ClusterModel(VOLUME_SETS);
    m.upsert('node', node({ name: 'node-1' }));
    m.upsert('longhornNode', longhornNode({ name: 'node-1' }));
    m.upsert('longhornVolume', volume({ name: 'vol-new', state: 'detached', robustness: 'unknown', currentNodeID: '', numberOfReplicas: 1 }));
    m.upsert('longhornReplica', replica({ volumeName: 'vol-new', nodeID: 'node-1', healthyAt: '', currentState: 'stopped', desireState: 'stopped' }));
    return m;
  }
  it('passes an Argo CD prune of it (nothing to lose), as a Replica DELETE of it passes', () => {
    const m = model();
    const replicaDelete = storageTeardownValidator(config).handle(
      request({
        kind: { group: 'longhorn.io', version: 'v1beta2', kind: 'Replica' }, resource: { group: 'longhorn.io', version: 'v1beta2', resource: 'replicas' },
        operation: 'DELETE', namespace: 'longhorn-system', name: 'vol-new-r-node-1', userInfo: ARGO,
        oldObject: { apiVersion: 'longhorn.io/v1beta2', kind: 'Replica', metadata: { name: 'vol-new-r-node-1', namespace: 'longhorn-system' }, spec: { volumeName: 'vol-new', nodeID: 'node-1', healthyAt: '', failedAt: '' }, status: { currentState: 'stopped' } },
      }),
      context(m),
    );
    expect(replicaDelete.allowed).toBe(true);
    const decision = pvcDelete.handle(volumeDelete(), context(m));
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
    // Once a replica held data (healthyAt set), the same prune is refused.
    m.upsert('longhornReplica', replica({ volumeName: 'vol-new', nodeID: 'node-1', currentState: 'stopped', desireState: 'stopped' }));
    expect(pvcDelete.handle(volumeDelete(), context(m)).allowed).toBe(false);
  });
});

describe('a PVC DELETE whose PV is bound to another claim', () => {
  // pv_controller.go deleteClaim enqueues the PV; syncVolume looks the claim up by the PV's claimRef
  // (other/data), finds it, and reclaims nothing. (syncBoundClaim meanwhile marks shop/data Lost: "volume bound to
  // another claim".) Deleting shop/data loses no data.
  it('passes an Argo CD prune of the misbound claim, and refuses the claim the PV names', () => {
    const m = new ClusterModel(VOLUME_SETS);
    m.upsert('persistentVolume', pv({ name: 'pv-1', claimNamespace: 'other', claimName: 'data', reclaimPolicy: 'Delete' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'other', name: 'data', volumeName: 'pv-1' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data', volumeName: 'pv-1' }));
    const decision = pvcDelete.handle(claimDelete(ARGO, 'shop', 'data', 'pv-1'), context(m));
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
    expect(pvcDelete.handle(claimDelete(ARGO, 'other', 'data', 'pv-1'), context(m)).allowed).toBe(false);
  });
});


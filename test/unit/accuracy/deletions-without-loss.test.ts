// Deletions that lose nothing: a Longhorn volume whose replicas never held data (longhorn-manager sets a replica's
// healthyAt once an engine has used it), deleted itself, with Longhorn's teardown or with its claim; and a claim
// whose PV's claimRef names another claim (the PV controller reclaims a PV by its claimRef's claim).
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { longhornSettingsValidator, storageTeardownValidator } from '../../../src/admission/validators/storage-teardown.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { RESOURCE_SPECS, resourceLabel } from '../../../src/cluster/resources.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, namespace, node, pv, pvc, replica, volume } from '../../support/fixtures.ts';

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


describe("Longhorn's teardown while its volumes never held data", () => {
  // The volumes a Volume DELETE and a Replica DELETE pass as losing nothing (above) are no reason to refuse Longhorn's
  // uninstall either: the same rule (neverHeldData) decides.
  const job = (): AdmissionRequest =>
    request({
      kind: { group: 'batch', version: 'v1', kind: 'Job' }, resource: { group: 'batch', version: 'v1', resource: 'jobs' },
      operation: 'CREATE', namespace: 'longhorn-system', name: 'longhorn-uninstall',
      object: { metadata: { name: 'longhorn-uninstall', namespace: 'longhorn-system' }, spec: { template: { spec: { containers: [{ name: 'longhorn-uninstall', image: 'longhornio/longhorn-manager:v1.7.2', command: ['longhorn-manager', 'uninstall', '--force'] }] } } } },
    });
  const flag = (): AdmissionRequest =>
    request({
      kind: { group: 'longhorn.io', version: 'v1beta2', kind: 'Setting' }, resource: { group: 'longhorn.io', version: 'v1beta2', resource: 'settings' },
      operation: 'UPDATE', namespace: 'longhorn-system', name: 'deleting-confirmation-flag',
      object: { metadata: { name: 'deleting-confirmation-flag' }, value: 'true' },
      oldObject: { metadata: { name: 'deleting-confirmation-flag' }, value: 'false' },
    });
  const namespaceDelete = (): AdmissionRequest =>
    request({
      kind: { group: '', version: 'v1', kind: 'Namespace' }, resource: { group: '', version: 'v1', resource: 'namespaces' },
      operation: 'DELETE', name: 'longhorn-system', oldObject: { metadata: { name: 'longhorn-system' } },
    });
  function model(): ClusterModel {
    const m = new ClusterModel(VOLUME_SETS);
    m.setLonghornInstalled(true);
    m.upsert('node', node({ name: 'node-1' }));
    m.upsert('longhornNode', longhornNode({ name: 'node-1' }));
    m.upsert('namespace', namespace({ name: 'longhorn-system' }));
    m.upsert('longhornVolume', volume({ name: 'vol-new', state: 'detached', robustness: 'unknown', currentNodeID: '', numberOfReplicas: 1 }));
    m.upsert('longhornReplica', replica({ volumeName: 'vol-new', nodeID: 'node-1', healthyAt: '', currentState: 'stopped', desireState: 'stopped' }));
    return m;
  }

  it("passes the uninstaller Job, the deleting-confirmation-flag and the namespace's DELETE", () => {
    const m = model();
    for (const [what, decision] of [
      ['job', storageTeardownValidator(config).handle(job(), context(m))],
      ['flag', longhornSettingsValidator(config).handle(flag(), context(m))],
      ['namespace', storageTeardownValidator(config).handle(namespaceDelete(), context(m))],
    ] as const) {
      expect(decision.status?.message ?? '', what).toBe('');
      expect(decision.allowed, what).toBe(true);
    }
  });

  it('still refuses for a volume that held data, is in use, or whose replicas are unknown', () => {
    const held = model();
    held.upsert('longhornReplica', replica({ volumeName: 'vol-new', nodeID: 'node-1', currentState: 'stopped', desireState: 'stopped' }));
    const attached = model();
    attached.upsert('longhornVolume', volume({ name: 'vol-new', state: 'attached', robustness: 'healthy', currentNodeID: 'node-1', numberOfReplicas: 1 }));
    const unknown = model();
    unknown.upsert('longhornVolume', volume({ name: 'vol-other', state: 'detached', robustness: 'unknown', currentNodeID: '', numberOfReplicas: 1 }));
    for (const [what, m, name] of [['held', held, 'vol-new'], ['attached', attached, 'vol-new'], ['replicas unknown', unknown, 'vol-other']] as const) {
      const decision = storageTeardownValidator(config).handle(job(), context(m));
      expect(decision.allowed, what).toBe(false);
      expect(decision.status?.message ?? '', what).toContain(name);
    }
  });

  it('answers by the stale policy when the replicas are stale', () => {
    const stale = { synced: () => true, staleResources: () => [resourceLabel(RESOURCE_SPECS.longhornReplica)] };
    expect(storageTeardownValidator(config).handle(job(), context(model(), { health: stale })).allowed).toBe(false);
    expect(longhornSettingsValidator(config).handle(flag(), context(model(), { health: stale })).allowed).toBe(false);
  });
});

describe("the deletion of a claim whose Longhorn volume never held data", () => {
  // Longhorn's StorageClass binds Immediately: the volume exists before any pod. Deleting the claim makes the CSI
  // provisioner delete that volume as Longhorn's service account: nothing is lost, as for the Volume DELETE above.
  function model(): ClusterModel {
    const m = new ClusterModel(VOLUME_SETS);
    m.setLonghornInstalled(true);
    m.upsert('node', node({ name: 'node-1' }));
    m.upsert('longhornNode', longhornNode({ name: 'node-1' }));
    m.upsert('namespace', namespace({ name: 'shop' }));
    m.upsert('longhornVolume', volume({ name: 'pvc-123', pvName: 'pvc-123', pvcNamespace: 'shop', pvcName: 'data', state: 'detached', robustness: 'unknown', currentNodeID: '', numberOfReplicas: 3 }));
    m.upsert('longhornReplica', replica({ volumeName: 'pvc-123', nodeID: 'node-1', healthyAt: '', currentState: 'stopped', desireState: 'stopped' }));
    m.upsert('persistentVolume', pv({ name: 'pvc-123', claimNamespace: 'shop', claimName: 'data', reclaimPolicy: 'Delete' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data', volumeName: 'pvc-123' }));
    return m;
  }
  const namespaceDelete = (): AdmissionRequest =>
    request({
      kind: { group: '', version: 'v1', kind: 'Namespace' }, resource: { group: '', version: 'v1', resource: 'namespaces' },
      operation: 'DELETE', name: 'shop', userInfo: ARGO, oldObject: { metadata: { name: 'shop' } },
    });

  it('passes an Argo CD prune of the PVC, and of its namespace', () => {
    const m = model();
    for (const [what, decision] of [
      ['pvc', pvcDelete.handle(claimDelete(ARGO, 'shop', 'data', 'pvc-123'), context(m))],
      ['namespace', pvcDelete.handle(namespaceDelete(), context(m))],
    ] as const) {
      expect(decision.status?.message ?? '', what).toBe('');
      expect(decision.allowed, what).toBe(true);
    }
  });

  it('refuses it once a replica held data, the volume is in use, or its replicas are unknown', () => {
    const held = model();
    held.upsert('longhornReplica', replica({ volumeName: 'pvc-123', nodeID: 'node-1', currentState: 'stopped', desireState: 'stopped' }));
    const attached = model();
    attached.upsert('longhornVolume', volume({ name: 'pvc-123', pvName: 'pvc-123', pvcNamespace: 'shop', pvcName: 'data', state: 'attaching', robustness: 'unknown', numberOfReplicas: 3 }));
    const unknown = model();
    unknown.remove('longhornReplica', 'longhorn-system/pvc-123-r-node-1');
    // Another driver's PV under the same name: its data is not Longhorn's to judge.
    const other = model();
    other.upsert('persistentVolume', pv({ name: 'pvc-123', claimNamespace: 'shop', claimName: 'data', reclaimPolicy: 'Delete', driver: 'ebs.csi.aws.com' }));
    for (const [what, m] of [['held', held], ['in use', attached], ['replicas unknown', unknown], ['other driver', other]] as const) {
      expect(pvcDelete.handle(claimDelete(ARGO, 'shop', 'data', 'pvc-123'), context(m)).allowed, `pvc, ${what}`).toBe(false);
      expect(pvcDelete.handle(namespaceDelete(), context(m)).allowed, `namespace, ${what}`).toBe(false);
    }
  });

  it('answers by the stale policy when the Longhorn replicas are stale', () => {
    const stale = { synced: () => true, staleResources: () => [resourceLabel(RESOURCE_SPECS.longhornReplica)] };
    expect(pvcDelete.handle(claimDelete(ARGO, 'shop', 'data', 'pvc-123'), context(model(), { health: stale })).allowed).toBe(false);
    expect(pvcDelete.handle(namespaceDelete(), context(model(), { health: stale })).allowed).toBe(false);
  });
});

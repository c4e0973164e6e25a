// Deleting a Longhorn volume that holds nothing its source does not: one being restored from a backup
// (status.restoreRequired, a DR volume on standby: status.isStandby) and the target of a clone while its copy runs
// (spec.dataSource vol:// or snap://, status.cloneStatus.state "" or "initiated"). Until Longhorn clears those,
// it attaches such a volume to no workload (manager AttachVolume "volume is pending restoring"; the clone ticket
// holds the volume through the copy), so only the restore or the copy wrote to it; the backup stays in the backup
// store and the source volume keeps its snapshot whatever happens to this volume (a Longhorn volume's deletion deletes
// its engine, replicas and snapshots, never a backup: volume_controller.go syncVolume). Deleting it, or its claim
// when the PV says Delete, loses nothing: an Argo CD prune of a restore stuck half way must pass.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { LonghornVolumeRecord } from '../../../src/cluster/records.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, namespace, node, pv, pvc, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();
const pvcDelete = pvcDeleteValidator(config);
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const VOLUME_KIND = { kind: { group: 'longhorn.io', version: 'v1beta2', kind: 'Volume' }, resource: { group: 'longhorn.io', version: 'v1beta2', resource: 'volumes' } };
const PVC_KIND = { kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' }, resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' } };

const RESTORING = { spec: { numberOfReplicas: 3, fromBackup: 's3://backups@us/?backup=b1&volume=db' }, status: { state: 'attached', robustness: 'degraded', restoreRequired: true } };
const CLONING = { spec: { numberOfReplicas: 3, dataSource: 'vol://pvc-src' }, status: { state: 'attached', robustness: 'degraded', cloneStatus: { sourceVolume: 'pvc-src', snapshot: 's1', state: 'initiated' } } };
const RESTORED = { spec: { numberOfReplicas: 3, fromBackup: 's3://backups@us/?backup=b1&volume=db' }, status: { state: 'attached', robustness: 'healthy', restoreRequired: false } };

const volumeDelete = (stored: { spec: object; status: object }): AdmissionRequest =>
  request({
    ...VOLUME_KIND, operation: 'DELETE', namespace: 'longhorn-system', name: 'pvc-123', userInfo: ARGO,
    oldObject: { apiVersion: 'longhorn.io/v1beta2', kind: 'Volume', metadata: { name: 'pvc-123', namespace: 'longhorn-system' }, ...stored },
  });

const claimDelete = (): AdmissionRequest =>
  request({
    ...PVC_KIND, operation: 'DELETE', namespace: 'shop', name: 'data', userInfo: ARGO,
    oldObject: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'shop', uid: 'uid-shop-data' }, spec: { volumeName: 'pvc-123' }, status: { phase: 'Bound' } },
  });

function model(fields: Partial<LonghornVolumeRecord>): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.setLonghornInstalled(true);
  m.upsert('namespace', namespace({ name: 'shop' }));
  for (const name of ['w1', 'w2']) {
    m.upsert('node', node({ name }));
    m.upsert('longhornNode', longhornNode({ name }));
  }
  m.upsert('longhornVolume', volume({ name: 'pvc-123', pvName: 'pvc-123', pvcNamespace: 'shop', pvcName: 'data', currentNodeID: 'w1', robustness: 'degraded', ...fields }));
  // The restore (or the copy) has written to its replica: healthyAt set.
  m.upsert('longhornReplica', replica({ volumeName: 'pvc-123', nodeID: 'w1' }));
  m.upsert('persistentVolume', pv({ name: 'pvc-123', claimNamespace: 'shop', claimName: 'data', reclaimPolicy: 'Delete' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data', volumeName: 'pvc-123' }));
  return m;
}

describe('deleting a Longhorn volume being restored, or a clone target mid-copy', () => {
  it('passes an Argo CD prune of the Volume', () => {
    for (const [what, stored, fields] of [
      ['restoring', RESTORING, { restoring: true }],
      ['cloning', CLONING, { cloning: true }],
    ] as const) {
      const decision = pvcDelete.handle(volumeDelete(stored), context(model(fields)));
      expect(decision.status?.message ?? '', what).toBe('');
      expect(decision.allowed, what).toBe(true);
    }
  });

  it('passes an Argo CD prune of its claim, whose PV says Delete', () => {
    for (const [what, fields] of [
      ['restoring', { restoring: true }],
      ['cloning', { cloning: true }],
    ] as const) {
      const decision = pvcDelete.handle(claimDelete(), context(model(fields)));
      expect(decision.status?.message ?? '', what).toBe('');
      expect(decision.allowed, what).toBe(true);
    }
  });

  it('refuses both once the restore completed (the flags cleared)', () => {
    expect(pvcDelete.handle(volumeDelete(RESTORED), context(model({}))).allowed).toBe(false);
    expect(pvcDelete.handle(claimDelete(), context(model({}))).allowed).toBe(false);
  });
});

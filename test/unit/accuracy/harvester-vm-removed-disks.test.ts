// Harvester: a VirtualMachine's disks are PVCs Harvester creates from the VM's volumeClaimTemplates annotation with
// no owner reference (harvester pkg/controller/master/virtualmachine vm_controller.go createPVCsFromAnnotation). When
// the VM is deleted, Harvester's VM controller deletes every PVC its `harvesterhci.io/removedPersistentVolumeClaims`
// annotation lists (cleanupPVCAndSnapshot -> removePVCInRemovedPVCsAnnotation), as Harvester's own service account.
// So a GitOps prune of such a VM takes those disks: the PVC DELETE that follows is Harvester's (pvcDelete.others,
// off), and the VM's own DELETE is the only place the automation is seen.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { ownerDeleteValidator } from '../../../src/admission/validators/owner-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';

const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };

function vmDelete(annotations: Record<string, string>, propagationPolicy = 'Background'): AdmissionRequest {
  return request({
    kind: { group: 'kubevirt.io', version: 'v1', kind: 'VirtualMachine' },
    resource: { group: 'kubevirt.io', version: 'v1', resource: 'virtualmachines' },
    operation: 'DELETE',
    namespace: 'vms',
    name: 'db-vm',
    userInfo: ARGO,
    oldObject: {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'db-vm', namespace: 'vms', uid: 'uid-vm', annotations },
      spec: { template: { spec: { volumes: [{ name: 'disk-0', persistentVolumeClaim: { claimName: 'db-vm-disk-0' } }] } } },
    },
    options: { propagationPolicy },
  });
}

function model(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('namespace', namespace({ name: 'vms' }));
  // Harvester's VM disk: no owner reference, Harvester's default StorageClass reclaims with Delete.
  m.upsert('persistentVolumeClaim', pvc({ namespace: 'vms', name: 'db-vm-disk-0', volumeName: 'pvc-1' }));
  m.upsert('persistentVolume', pv({ name: 'pvc-1', claimNamespace: 'vms', claimName: 'db-vm-disk-0', reclaimPolicy: 'Delete' }));
  return m;
}

describe('Argo CD pruning a Harvester VirtualMachine', () => {
  it('is refused when Harvester deletes its disks with it (removedPersistentVolumeClaims names a Bound PVC under Delete)', () => {
    const decision = ownerDeleteValidator(defaultConfig()).handle(
      vmDelete({ 'harvesterhci.io/removedPersistentVolumeClaims': 'db-vm-disk-0' }),
      context(model()),
    );
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message ?? '').toContain('db-vm-disk-0');
  });

  it('is refused with --cascade=orphan too: Harvester deletes the listed PVCs by name, not through the garbage collector', () => {
    const decision = ownerDeleteValidator(defaultConfig()).handle(
      vmDelete({ 'harvesterhci.io/removedPersistentVolumeClaims': 'db-vm-disk-0' }, 'Orphan'),
      context(model()),
    );
    expect(decision.allowed).toBe(false);
  });

  it('passes when the VM keeps its disks (no removedPersistentVolumeClaims)', () => {
    expect(ownerDeleteValidator(defaultConfig()).handle(vmDelete({}), context(model())).allowed).toBe(true);
  });
});

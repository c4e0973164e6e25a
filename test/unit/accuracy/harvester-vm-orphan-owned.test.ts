// A VirtualMachine DELETE that orphans its dependents is judged anyway when the VM lists disks in
// `harvesterhci.io/removedPersistentVolumeClaims` (Harvester's VM controller deletes those by name). But it is then
// judged for EVERY claim the VM owns by ownerReference too, though the orphan propagation keeps those: the garbage
// collector only drops the owner reference (kubernetes pkg/controller/garbagecollector orphanDependents). A VM owns
// PVCs directly once CDI's DataVolume garbage collection hands a DataVolume's PVC over to the DataVolume's owner (the
// VM), and Argo CD's `PrunePropagationPolicy=orphan` prunes with Orphan. Here the listed disk is retained (reclaim
// Retain, only warned about) while the owned, orphaned one is named as deleted and refused.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { ownerDeleteValidator } from '../../../src/admission/validators/owner-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { namespace, pv, pvc } from '../../support/fixtures.ts';

const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };

function vmDelete(annotations: Record<string, string>, propagationPolicy: string): AdmissionRequest {
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
      spec: { template: { spec: { volumes: [] } } },
    },
    options: { propagationPolicy },
  });
}

function model(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('namespace', namespace({ name: 'vms' }));
  // Listed for removal, but its PV retains the data.
  m.upsert('persistentVolumeClaim', pvc({ namespace: 'vms', name: 'scratch', volumeName: 'pv-s' }));
  m.upsert('persistentVolume', pv({ name: 'pv-s', claimNamespace: 'vms', claimName: 'scratch', reclaimPolicy: 'Retain' }));
  // Owned by the VM (CDI DataVolume GC adopted it to the VM), reclaim Delete: the Orphan DELETE keeps it.
  m.upsert(
    'persistentVolumeClaim',
    pvc({ namespace: 'vms', name: 'rootdisk', volumeName: 'pv-r', ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'db-vm', uid: 'uid-vm', controller: true }] }),
  );
  m.upsert('persistentVolume', pv({ name: 'pv-r', claimNamespace: 'vms', claimName: 'rootdisk', reclaimPolicy: 'Delete' }));
  return m;
}

describe('an orphaning VirtualMachine DELETE listing removed disks', () => {
  it('does not count the claims it owns by reference: the garbage collector orphans them', () => {
    const decision = ownerDeleteValidator(defaultConfig()).handle(vmDelete({ 'harvesterhci.io/removedPersistentVolumeClaims': 'scratch' }, 'Orphan'), context(model()));
    expect(decision.status?.message ?? '').not.toContain('rootdisk');
    expect(decision.allowed).toBe(true);
  });
  it('(control) without orphaning, the owned claim is judged', () => {
    const decision = ownerDeleteValidator(defaultConfig()).handle(vmDelete({ 'harvesterhci.io/removedPersistentVolumeClaims': 'scratch' }, 'Background'), context(model()));
    expect(decision.allowed).toBe(false);
  });
});

// Stopping a VM: KubeVirt's VM controller deletes the VMI, and virt-controller deletes the VMI's virt-launcher pod as
// soon as the VMI has a deletionTimestamp (kubevirt pkg/virt-controller/watch/vmi sync: `if vmi.DeletionTimestamp !=
// nil { c.deleteAllMatchingPods(vmi) }`), as its own service account (Harvester: harvester-system:kubevirt-controller).
// Harvester stops VMs this way on a node going into maintenance (maintain-mode-strategy Shutdown*, forced maintenance
// mode: nodedrain_controller.go findAndStopVM) and in the upgrade's pre-drain (vm-live-migrate-detector --shutdown),
// and a user stops a VM from the UI. Deleting the launcher pod takes no data anywhere: its Longhorn volume detaches
// and its replicas, the last one on that node included, stay where they are. No drain deletes as virt-controller.
import { describe, expect, it } from 'vitest';
import type { UserInfo } from '../../../src/admission/types.ts';
import { podDeleteValidator } from '../../../src/admission/validators/pod-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, longhornSetting, node, pod, pv, pvc, replica, volume } from '../../support/fixtures.ts';

const VIRT_CONTROLLER: UserInfo = {
  username: 'system:serviceaccount:harvester-system:kubevirt-controller',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:harvester-system', 'system:authenticated'],
};

/** h1 cordoned (maintenance mode); on it VM db's launcher pod, whose single-replica Longhorn volume lives on h1. */
function cluster(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.setLonghornInstalled(true);
  m.upsert('node', node({ name: 'h1', unschedulable: true }));
  for (const name of ['h2', 'h3']) m.upsert('node', node({ name }));
  for (const name of ['h1', 'h2', 'h3']) m.upsert('longhornNode', longhornNode({ name }));
  // The cordon passed: Longhorn moves the last copies off a draining node under this policy.
  m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
  m.upsert('longhornVolume', volume({ name: 'pvc-db', numberOfReplicas: 1, currentNodeID: 'h1', pvcNamespace: 'vms', pvcName: 'db-disk-0' }));
  m.upsert('longhornReplica', replica({ volumeName: 'pvc-db', nodeID: 'h1' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: 'vms', name: 'db-disk-0', volumeName: 'pvc-db' }));
  m.upsert('persistentVolume', pv({ name: 'pvc-db', claimNamespace: 'vms', claimName: 'db-disk-0', driver: 'driver.longhorn.io', source: 'csi' }));
  m.upsert('pod', pod({ namespace: 'vms', name: 'virt-launcher-db-abcde', nodeName: 'h1', controllerKind: 'VirtualMachineInstance', claimNames: ['db-disk-0'] }));
  return m;
}

const launcherDelete = (userInfo: UserInfo = VIRT_CONTROLLER) =>
  request({
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'DELETE',
    namespace: 'vms',
    name: 'virt-launcher-db-abcde',
    userInfo,
    oldObject: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'virt-launcher-db-abcde',
        namespace: 'vms',
        labels: { 'kubevirt.io': 'virt-launcher', 'vm.kubevirt.io/name': 'db' },
        ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', name: 'db', uid: 'u-vmi', controller: true }],
      },
      spec: { nodeName: 'h1', volumes: [{ name: 'disk-0', persistentVolumeClaim: { claimName: 'db-disk-0' } }] },
      status: { phase: 'Running' },
    },
  });

describe('stopping a VM on a cordoned Harvester node', () => {
  it("is not refused: virt-controller's DELETE of the launcher pod leaves the volume's only replica where it is", () => {
    const decision = podDeleteValidator(defaultConfig()).handle(launcherDelete(), context(cluster()));
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
  });

  it('is still refused for a person deleting the launcher pod (kubectl drain --disable-eviction)', () => {
    const alice: UserInfo = { username: 'alice', groups: ['system:authenticated'] };
    expect(podDeleteValidator(defaultConfig()).handle(launcherDelete(alice), context(cluster())).allowed).toBe(false);
  });
});

// The virt-controller exemption of pod-delete takes ANY namespace's `kubevirt-controller` service account:
// /^system:serviceaccount:[^:]+:kubevirt-controller$/. KubeVirt's virt-controller runs as that account in KubeVirt's
// install namespace only (kubevirt, Harvester's harvester-system: the operator's RBAC in
// pkg/virt-operator/resource/generate/rbac/controller.go binds it there). A namespace editor may create a
// ServiceAccount of that name in their own namespace and act as it (the `edit` role may impersonate service accounts
// of its namespace); its DELETE of a pod with a VirtualMachineInstance controller reference (which anyone creating or
// patching the pod can write) on a node being drained then passes unjudged, the node's last copy with it.
describe('a pod DELETE as a kubevirt-controller service account of another namespace', () => {
  it('is judged like any other user (only KubeVirt\'s own namespace runs virt-controller)', () => {
    const impostor: UserInfo = { username: 'system:serviceaccount:vms:kubevirt-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:vms', 'system:authenticated'] };
    expect(podDeleteValidator(defaultConfig()).handle(launcherDelete(impostor), context(cluster())).allowed).toBe(false);
  });
  it('still passes the real virt-controller', () => {
    expect(podDeleteValidator(defaultConfig()).handle(launcherDelete(), context(cluster())).allowed).toBe(true);
  });
});

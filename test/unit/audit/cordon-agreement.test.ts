// `audit --node n1` beside the node-cordon webhook's answer to the cordon of n1, over a battery of cluster states: the
// audit lists a cordon finding it does not mark accepted exactly when the webhook refuses the cordon, naming it.
import { describe, expect, it } from 'vitest';
import type { ClusterModel } from '../../../src/cluster/model.ts';
import { csiPV, harvesterUpgrade, harvesterUpgradePlan, hostPathPV, localPV, longhornSetting, machine, machineOwner, node, pod, pvc } from '../../support/fixtures.ts';
import { addVolume, cordonAndAudit, longhornCluster, storedSkip } from './cordon-agreement.ts';

const CASES: Record<string, (m: ClusterModel) => void> = {
  'last copy': (m) => addVolume(m, 'v', ['n1'], { numberOfReplicas: 3 }),
  'copy on another cordoned node': (m) => {
    addVolume(m, 'v', ['n1', 'n2']);
    m.upsert('node', node({ name: 'n2', unschedulable: true }));
  },
  'copy on another cordoned node, drain policy evicts': (m) => {
    addVolume(m, 'v', ['n1', 'n2']);
    m.upsert('node', node({ name: 'n2', unschedulable: true }));
    m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction-if-contains-last-replica'));
  },
  'last copy, drain policy evicts': (m) => {
    addVolume(m, 'v', ['n1'], { numberOfReplicas: 3 });
    m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
  },
  'strict-local, drain policy evicts': (m) => {
    addVolume(m, 'v', ['n1'], { numberOfReplicas: 1, strictLocal: true });
    m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
  },
  'copy on a down node': (m) => {
    addVolume(m, 'v', ['n1', 'n2']);
    m.upsert('node', node({ name: 'n2', ready: 'False', readySince: 0 }));
  },
  'target node down': (m) => {
    addVolume(m, 'v', ['n1'], { numberOfReplicas: 3 });
    m.upsert('node', node({ name: 'n1', ready: 'False', readySince: 0 }));
  },
  'target node cordoned already, copy elsewhere cordoned': (m) => {
    addVolume(m, 'v', ['n1', 'n2']);
    m.upsert('node', node({ name: 'n2', unschedulable: true }));
  },
  'copy on node with autoscaler drain taint': (m) => {
    addVolume(m, 'v', ['n1', 'n2']);
    m.upsert('node', node({ name: 'n2', unschedulable: true, leaving: true, cordoned: false }));
  },
  'node skip for last-replica': (m) => {
    addVolume(m, 'v', ['n1'], { numberOfReplicas: 3 });
    m.upsert('node', node({ name: 'n1', annotations: storedSkip('last-replica-on-node') }));
  },
  'node skip single-replica only, single replica volume': (m) => {
    addVolume(m, 'v', ['n1'], { numberOfReplicas: 1 });
    m.upsert('node', node({ name: 'n1', annotations: storedSkip('single-replica') }));
  },
  'node skip expired': (m) => {
    addVolume(m, 'v', ['n1'], { numberOfReplicas: 3 });
    m.upsert('node', node({ name: 'n1', annotations: storedSkip('*', { 'volume-guard.io/skip-until': '2020-01-01T00:00:00Z' }) }));
  },
  'node skip without skip-by': (m) => {
    addVolume(m, 'v', ['n1'], { numberOfReplicas: 3 });
    m.upsert('node', node({ name: 'n1', annotations: { 'volume-guard.io/skip': '*' } }));
  },
  'harvester draining n1, detached single replica': (m) => {
    addVolume(m, 'v', ['n1'], { numberOfReplicas: 1, state: 'detached', robustness: 'unknown', currentNodeID: '' });
    m.upsert('harvesterUpgrade', harvesterUpgrade({ nodeStates: { n1: 'Pre-drained' } }));
  },
  'harvester draining n1, attached single replica': (m) => {
    addVolume(m, 'v', ['n1'], { numberOfReplicas: 1 });
    m.upsert('harvesterUpgrade', harvesterUpgrade({ nodeStates: { n1: 'Pre-drained' } }));
  },
  'harvester draining n1 with skip annotation': (m) => {
    addVolume(m, 'v', ['n1'], { numberOfReplicas: 1 });
    m.upsert('harvesterUpgrade', harvesterUpgrade({ skipDetached: false, nodeStates: { n1: 'Pre-drained' }, annotations: storedSkip('single-replica') }));
  },
  'harvester in place, device-backed PV': (m) => {
    m.upsert('harvesterUpgrade', harvesterUpgrade({ skipDetached: false, nodeStates: { n1: 'Pre-drained' } }));
    m.upsert('persistentVolume', csiPV('lvm.driver.harvesterhci.io', { name: 'pv-lvm', pinnedNode: 'n1', claimName: 'c-lvm' }));
    m.upsert('persistentVolumeClaim', pvc({ name: 'c-lvm', volumeName: 'pv-lvm' }));
    m.upsert('pod', pod({ name: 'p', nodeName: 'n1', claimNames: ['c-lvm'], controllerKind: 'StatefulSet' }));
  },
  // Rancher cordons the node before Harvester's pre-drain hook: the node is still `Images preloaded` at the cordon.
  'harvester about to drain n1 (Images preloaded), detached single replica': (m) => {
    addVolume(m, 'v', ['n1'], { numberOfReplicas: 1, state: 'detached', robustness: 'unknown', currentNodeID: '' });
    m.upsert('harvesterUpgrade', harvesterUpgrade({ nodeStates: { n1: 'Images preloaded', n2: 'Images preloaded' } }));
  },
  'harvester about to drain n1 (ImagePreloaded), skip annotation on the UpgradePlan': (m) => {
    addVolume(m, 'v', ['n1'], { numberOfReplicas: 1 });
    m.upsert('harvesterUpgradePlan', harvesterUpgradePlan({ skipDetached: false, nodeStates: { n1: 'ImagePreloaded' }, annotations: storedSkip('single-replica') }));
  },
  'harvester about to drain n1 (Images preloaded), device-backed PV': (m) => {
    m.upsert('harvesterUpgrade', harvesterUpgrade({ skipDetached: false, nodeStates: { n1: 'Images preloaded' } }));
    m.upsert('persistentVolume', csiPV('lvm.driver.harvesterhci.io', { name: 'pv-lvm', pinnedNode: 'n1', claimName: 'c-lvm' }));
    m.upsert('persistentVolumeClaim', pvc({ name: 'c-lvm', volumeName: 'pv-lvm' }));
  },
  'harvester upgrading n1 paused (UpgradePaused), detached single replica': (m) => {
    addVolume(m, 'v', ['n1'], { numberOfReplicas: 1, state: 'detached', robustness: 'unknown', currentNodeID: '' });
    m.upsert('harvesterUpgrade', harvesterUpgrade({ nodeStates: { n1: 'UpgradePaused' } }));
  },
  'local PV in use': (m) => {
    m.upsert('persistentVolume', localPV({ name: 'pv-l', pinnedNode: 'n1', claimName: 'c-l' }));
    m.upsert('persistentVolumeClaim', pvc({ name: 'c-l', volumeName: 'pv-l' }));
    m.upsert('pod', pod({ name: 'p', nodeName: 'n1', claimNames: ['c-l'], controllerKind: 'StatefulSet' }));
  },
  'local PV unused': (m) => {
    m.upsert('persistentVolume', localPV({ name: 'pv-l', pinnedNode: 'n1', claimName: 'c-l' }));
    m.upsert('persistentVolumeClaim', pvc({ name: 'c-l', volumeName: 'pv-l' }));
  },
  'local PV Released retained': (m) => {
    m.upsert('persistentVolume', localPV({ name: 'pv-l', pinnedNode: 'n1', claimName: 'gone', phase: 'Released', reclaimPolicy: 'Retain' }));
  },
  'hostPath PV in use': (m) => {
    m.upsert('persistentVolume', hostPathPV({ name: 'pv-h', pinnedNode: 'n1', claimName: 'c-h' }));
    m.upsert('persistentVolumeClaim', pvc({ name: 'c-h', volumeName: 'pv-h' }));
    m.upsert('pod', pod({ name: 'p', nodeName: 'n1', claimNames: ['c-h'], controllerKind: 'StatefulSet' }));
  },
  'bare pod with hostPath': (m) => {
    m.upsert('pod', pod({ name: 'p', nodeName: 'n1', hostPaths: [{ path: '/data', writable: true }] }));
  },
  'historic claim, last copy': (m) => {
    addVolume(m, 'v', ['n1'], { numberOfReplicas: 3, pvcName: '', pvcNamespace: '', state: 'detached', robustness: 'unknown', currentNodeID: '' });
  },
  'degraded volume, copies on n1 and n2': (m) => {
    addVolume(m, 'v', ['n1', 'n2'], { numberOfReplicas: 3, robustness: 'degraded' });
  },
  'faulted volume': (m) => {
    addVolume(m, 'v', ['n1'], { numberOfReplicas: 3, robustness: 'faulted' });
  },
  // The drain of the node of a Machine being deleted carries the stored skip of the Machine's owner (rollout-owner.ts).
  'Machine of n1 being deleted, its MachineDeployment skips single-replica, detached single-replica volume': (m) => {
    addVolume(m, 'v', ['n1'], { state: 'detached', numberOfReplicas: 1 });
    m.upsert('machine', machine({ namespace: 'capi', name: 'm-1', nodeName: 'n1', machineDeployment: 'md-a', deleting: true }));
    m.upsert('machineDeployment', machineOwner({ namespace: 'capi', name: 'md-a', annotations: storedSkip('single-replica') }));
  },
  'Machine of n1 being deleted, its KubeadmControlPlane skips single-replica': (m) => {
    addVolume(m, 'v', ['n1'], { numberOfReplicas: 1 });
    m.upsert('machine', machine({ namespace: 'capi', name: 'cp-1', nodeName: 'n1', machineDeployment: '', controlPlane: 'kcp', deleting: true }));
    m.upsert('kubeadmControlPlane', machineOwner({ namespace: 'capi', name: 'kcp', annotations: storedSkip('single-replica') }));
  },
  'Machine of n1 being deleted, its MachineDeployment skips single-replica, last copy of a three-replica volume': (m) => {
    addVolume(m, 'v', ['n1'], { numberOfReplicas: 3 });
    m.upsert('machine', machine({ namespace: 'capi', name: 'm-1', nodeName: 'n1', machineDeployment: 'md-a', deleting: true }));
    m.upsert('machineDeployment', machineOwner({ namespace: 'capi', name: 'md-a', annotations: storedSkip('single-replica') }));
  },
  'Machine of n1 staying, its MachineDeployment skips single-replica': (m) => {
    addVolume(m, 'v', ['n1'], { numberOfReplicas: 1 });
    m.upsert('machine', machine({ namespace: 'capi', name: 'm-1', nodeName: 'n1', machineDeployment: 'md-a' }));
    m.upsert('machineDeployment', machineOwner({ namespace: 'capi', name: 'md-a', annotations: storedSkip('single-replica') }));
  },
  'Machine of n1 being deleted, its MachineDeployment skip without skip-by': (m) => {
    addVolume(m, 'v', ['n1'], { numberOfReplicas: 1 });
    m.upsert('machine', machine({ namespace: 'capi', name: 'm-1', nodeName: 'n1', machineDeployment: 'md-a', deleting: true }));
    m.upsert('machineDeployment', machineOwner({ namespace: 'capi', name: 'md-a', annotations: { 'volume-guard.io/skip': '*' } }));
  },
};

describe('audit --node n1 agrees with the cordon of n1', () => {
  for (const [name, setup] of Object.entries(CASES)) {
    it(name, () => {
      const model = longhornCluster();
      setup(model);
      const { decision, blocking, listed } = cordonAndAudit(model, 'n1');
      const summary = `webhook: ${decision.allowed ? 'allowed' : decision.status?.message}\naudit:\n${listed.join('\n')}`;
      expect(decision.allowed, summary).toBe(blocking.length === 0);
      for (const entry of blocking) expect(decision.status?.message ?? '', summary).toContain(entry.split(':')[1]!);
    });
  }
});

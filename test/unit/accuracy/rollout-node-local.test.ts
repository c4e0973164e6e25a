// A Cluster API rollout replaces nodes: the MachineDeployment (or KubeadmControlPlane) controller creates new Machines
// and deletes the old ones, each drained, then its infrastructure machine deleted with its disks. Data kept on an old
// node's own disks (a local PV pinned to it) is lost with it, as at a Machine DELETE. The rollout was admitted and
// then stalled half way, at the old MachineSet's scale-down (refused for that data), with new Machines already up.
// An upgrade that reboots nodes in place (system-upgrade-controller, Harvester) keeps their disks: not judged so.
import { describe, expect, it } from 'vitest';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, harvesterUpgradeRequest, request } from '../../support/admission.ts';
import { hostnameAffinity, localPV, machine, node, pod, pvc } from '../../support/fixtures.ts';

const config = defaultConfig();

/** cp-1, w-1, w-2; a local PV on w-1 mounted by db-0, one on cp-1; Machines of md-a (w-1), md-b (w-2), kcp (cp-1). */
function cluster(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  for (const name of ['cp-1', 'w-1', 'w-2']) model.upsert('node', node({ name, labels: { 'kubernetes.io/hostname': name } }));
  model.upsert('persistentVolume', localPV({ name: 'pv-db', pinnedNode: 'w-1', claimName: 'data-db-0', nodeAffinity: hostnameAffinity('w-1') }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'data-db-0', volumeName: 'pv-db', storageClassName: 'local-storage' }));
  model.upsert('pod', pod({ name: 'db-0', nodeName: 'w-1', controllerKind: 'StatefulSet', claimNames: ['data-db-0'] }));
  model.upsert('persistentVolume', localPV({ name: 'pv-cp', pinnedNode: 'cp-1', claimName: 'cp-data', nodeAffinity: hostnameAffinity('cp-1') }));
  model.replaceAll('machine', [
    machine({ name: 'md-a-1', nodeName: 'w-1', machineSet: 'md-a-x', machineDeployment: 'md-a' }),
    machine({ name: 'md-b-1', nodeName: 'w-2', machineSet: 'md-b-x', machineDeployment: 'md-b' }),
    machine({ name: 'cp-m-1', nodeName: 'cp-1', machineSet: '', machineDeployment: '', controlPlane: 'kcp' }),
  ]);
  return model;
}

function mdRollout(name: string) {
  const md = (version: string) => ({
    apiVersion: 'cluster.x-k8s.io/v1beta1',
    kind: 'MachineDeployment',
    metadata: { name, namespace: 'default' },
    spec: { replicas: 1, template: { spec: { version, clusterName: 'c1', bootstrap: { dataSecretName: 'b' }, infrastructureRef: { kind: 'M', name: 'm' } } } },
  });
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'MachineDeployment' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machinedeployments' },
    operation: 'UPDATE',
    namespace: 'default',
    name,
    object: md('v1.31.4'),
    oldObject: md('v1.30.8'),
  });
}

function kcpRollout() {
  const kcp = (version: string) => ({
    apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1',
    kind: 'KubeadmControlPlane',
    metadata: { name: 'kcp', namespace: 'default' },
    spec: { replicas: 1, version, machineTemplate: { infrastructureRef: { kind: 'M', name: 'm' } }, kubeadmConfigSpec: {} },
  });
  return request({
    kind: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta1', kind: 'KubeadmControlPlane' },
    resource: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta1', resource: 'kubeadmcontrolplanes' },
    operation: 'UPDATE',
    namespace: 'default',
    name: 'kcp',
    object: kcp('v1.31.4'),
    oldObject: kcp('v1.30.8'),
  });
}

const judge = (review: ReturnType<typeof request>) => upgradeValidator(config).handle(review, context(cluster()));

describe('a Cluster API rollout replaces its nodes with their disks', () => {
  it("md-a's rollout is refused for the local PV on w-1, naming it and the pod using it", () => {
    const decision = judge(mdRollout('md-a'));
    expect(decision.allowed).toBe(false);
    const message = decision.status?.message ?? '';
    expect(message).toContain('upgrading node w-1');
    expect(message).toContain('[node-local-volume]');
    expect(message).toContain('PV pv-db (PVC default/data-db-0, Pod default/db-0): local PV keeps the data of claim default/data-db-0 on node w-1 only, mounted by 1 pod');
    expect(message).not.toContain('pv-cp');
    expect(decision.checks).toEqual(['node-local-volume']);
  });

  it("md-b's rollout (w-2, nothing kept there) passes", () => {
    const decision = judge(mdRollout('md-b'));
    expect(decision.status?.message).toBeUndefined();
    expect(decision.allowed).toBe(true);
  });

  it("the control plane's rollout is refused for the local PV on cp-1", () => {
    const message = judge(kcpRollout()).status?.message ?? '';
    expect(message).toContain('[node-local-volume]');
    expect(message).toContain('pv-cp');
    expect(message).not.toContain('pv-db');
  });

  it('a rollout whose Machines have no known node, and upgrades rebooting nodes in place, judge no node-local data', () => {
    for (const review of [mdRollout('md-unknown'), harvesterUpgradeRequest()]) {
      const decision = judge(review);
      expect(decision.allowed).toBe(true);
      expect(decision.status?.message).toBeUndefined();
    }
  });
});

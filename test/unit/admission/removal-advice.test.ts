// Advice that fits what happens to the node and to Longhorn: a node a rollout replaces or a drain precedes the removal
// of is no maintenance that keeps its disk; a rebuild no node can take is not waited for; a volume whose other copies
// sit on cordoned nodes is healthy to Longhorn, which rebuilds nothing.
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest, request } from '../../support/admission.ts';
import { failedReplica, localPV, longhornNode, longhornSetting, machine, node, pod, pvc, replica, volume, volumeWithReplicas } from '../../support/fixtures.ts';

const config = defaultConfig();
/** The message on one line: wrapped fix lines joined. */
const flat = (text: string) => text.replace(/\n\s+/g, ' ');

describe('node-local data on a node being replaced or removed', () => {
  function withLocalPV(): ClusterModel {
    const model = new ClusterModel(VOLUME_SETS);
    model.upsert('node', node({ name: 'node-1' }));
    model.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'node-1', claimName: 'db-data' }));
    model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-local' }));
    model.upsert('pod', pod({ name: 'db-0', nodeName: 'node-1', claimNames: ['db-data'] }));
    return model;
  }

  it('a KubeadmControlPlane rollout replaces the node: its data is lost with it, no override for a reboot', () => {
    const model = withLocalPV();
    model.upsert('machine', machine({ namespace: 'capi', name: 'cp-1', nodeName: 'node-1', machineSet: '', machineDeployment: '', controlPlane: 'cp' }));
    const kcp = (version: string) => ({
      apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1',
      kind: 'KubeadmControlPlane',
      metadata: { name: 'cp', namespace: 'capi' },
      spec: { replicas: 1, version },
    });
    const decision = upgradeValidator(config).handle(
      request({
        kind: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta1', kind: 'KubeadmControlPlane' },
        resource: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta1', resource: 'kubeadmcontrolplanes' },
        operation: 'UPDATE',
        namespace: 'capi',
        name: 'cp',
        object: kcp('v1.31.0'),
        oldObject: kcp('v1.30.0'),
      }),
      context(model),
    );
    expect(decision.allowed).toBe(false);
    const message = flat(decision.status!.message);
    expect(message).toContain('lost with node-1: the node is replaced and its disks go');
    expect(message).toContain('Fix: node-1 is replaced with its disks: back the data up or move it to storage that is not on node-1 first.');
    expect(message).not.toContain('if it only reboots with its disk kept');
    expect(message).not.toContain('stranded on node-1');
  });

  it('an eviction from a node whose Machine is being deleted: lost with the node, no override for maintenance', () => {
    const model = withLocalPV();
    model.upsert('node', node({ name: 'node-1', unschedulable: true }));
    model.upsert('machine', machine({ namespace: 'capi', name: 'md-0-a-1', nodeName: 'node-1', deleting: true }));
    const decision = podEvictionValidator(config).handle(evictionRequest('db-0'), context(model));
    expect(decision.allowed).toBe(false);
    const message = flat(decision.status!.message);
    expect(message).toContain('lost with node-1: the node is removed and its disks go');
    expect(message).toContain('Fix: node-1 is removed with its disks: back the data up or move it to storage that is not on node-1 first.');
    expect(message).not.toContain("for maintenance that keeps node-1's disk, override");
    expect(message).not.toContain('stranded on node-1');
  });

  it('an eviction from a node that stays keeps its maintenance advice', () => {
    const model = withLocalPV();
    model.upsert('node', node({ name: 'node-1', unschedulable: true }));
    const message = flat(podEvictionValidator(config).handle(evictionRequest('db-0'), context(model)).status!.message);
    expect(message).toContain("for maintenance that keeps node-1's disk, override");
    expect(message).toContain('stranded on node-1');
  });
});

it('volume-health: with no other Longhorn node to rebuild on, the fix says so after "wait until rebuilt"', () => {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  for (const name of ['node-1', 'node-2']) {
    model.upsert('node', node({ name, ...(name === 'node-2' ? { ready: 'False' } : {}) }));
    model.upsert('longhornNode', longhornNode({ name, down: name === 'node-2' }));
  }
  model.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
  model.upsert('longhornVolume', volume({ name: 'pvc-bbb', numberOfReplicas: 2, robustness: 'degraded', pvcNamespace: 'bank', pvcName: 'ledger', currentNodeID: 'node-1' }));
  model.upsert('longhornReplica', replica({ volumeName: 'pvc-bbb', nodeID: 'node-1' }));
  model.upsert('longhornReplica', failedReplica({ volumeName: 'pvc-bbb', nodeID: 'node-2' }));
  const decision = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model));
  expect(decision.allowed).toBe(false);
  const message = flat(decision.status!.message);
  expect(message).toContain(
    'Fix: wait until Longhorn has rebuilt the replicas (robustness healthy); a replica that stays stopped, failed or on a missing disk ' +
      'needs repair in Longhorn first; then cordon node-1 again. But node-1 is the only Longhorn node that takes replicas, so Longhorn ' +
      'can make no second copy on another node: back the volume up',
  );
});

describe('last-replica-on-node: the other copies on cordoned nodes', () => {
  function cluster(): ClusterModel {
    const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
    model.setLonghornInstalled(true);
    for (const name of ['n1', 'n2', 'n3', 'n4']) {
      model.upsert('node', node({ name }));
      model.upsert('longhornNode', longhornNode({ name }));
    }
    return model;
  }
  function addVolume(model: ClusterModel, name: string, on: readonly string[]): void {
    const { volume: record, replicas } = volumeWithReplicas(name, on);
    model.upsert('longhornVolume', record);
    for (const each of replicas) model.upsert('longhornReplica', each);
  }
  const cordon = (model: ClusterModel) => flat(nodeCordonValidator(config).handle(cordonRequest('n1'), context(model)).status!.message);
  const audit = (model: ClusterModel) =>
    buildAuditReport({ model, scope: { kind: 'node', node: 'n1' }, cluster: { server: 's', context: 'c' }, generatedAt: 'now' }).findings.filter(
      (finding) => finding.check === 'last-replica-on-node',
    );

  it('says to uncordon those nodes (named) or raise numberOfReplicas, not to wait for a rebuild that never comes', () => {
    const model = cluster();
    addVolume(model, 'v', ['n1', 'n2']);
    addVolume(model, 'w', ['n1', 'n2', 'n3']);
    for (const name of ['n2', 'n3']) model.upsert('node', node({ name, unschedulable: true }));
    const fix =
      'Longhorn still counts the copies on cordoned or leaving nodes and rebuilds nothing: uncordon n2, n3 or finish their ' +
      'maintenance first, or raise numberOfReplicas to one more than the healthy replicas so Longhorn places a copy on a ' +
      'schedulable node, and wait until it is healthy; then cordon n1 again.';
    const message = cordon(model);
    expect(message).toContain(`Fix: ${fix}`);
    expect(message).not.toContain('let Longhorn rebuild');
    // The audit gives each finding its own: v's other copy is on n2 only.
    const byVolume = new Map(audit(model).map((finding) => [finding.object.name, finding.fix]));
    expect(byVolume.get('v')).toContain('uncordon n2 or finish its maintenance first');
    expect(byVolume.get('w')).toContain('uncordon n2, n3 or finish their maintenance first');
  });

  it('a copy on a node being removed counts the same', () => {
    const model = cluster();
    addVolume(model, 'v', ['n1', 'n2']);
    model.upsert('node', node({ name: 'n2', unschedulable: true }));
    model.upsert('machine', machine({ namespace: 'capi', name: 'md-0-a-2', nodeName: 'n2', deleting: true }));
    // An uncordon does not stop its Machine's deletion (rev-ux): its removal is what ends.
    expect(cordon(model)).toContain('finish the maintenance or removal of n2 first');
    expect(cordon(model)).not.toContain('uncordon n2');
  });

  it('beside volumes Longhorn rebuilds, both pieces of advice are given', () => {
    const model = cluster();
    addVolume(model, 'v', ['n1', 'n2']);
    addVolume(model, 'lonely', ['n1']);
    model.upsert('node', node({ name: 'n2', unschedulable: true }));
    const message = cordon(model);
    expect(message).toContain('let Longhorn rebuild a healthy replica on another node');
    expect(message).toContain('where the other copies are on cordoned or leaving nodes (Longhorn counts them and rebuilds nothing): uncordon n2');
    expect(audit(model).find((finding) => finding.object.name === 'lonely')?.fix).toContain('let Longhorn rebuild');
  });

  it('a copy on a node that is down is rebuilt by Longhorn: the usual advice', () => {
    const model = cluster();
    addVolume(model, 'v', ['n1', 'n2', 'n3']);
    model.upsert('node', node({ name: 'n2', unschedulable: true }));
    model.upsert('node', node({ name: 'n3', ready: 'False' }));
    model.upsert('longhornNode', longhornNode({ name: 'n3', down: true }));
    const message = cordon(model);
    expect(message).toContain('let Longhorn rebuild a healthy replica on another node');
    expect(message).not.toContain('uncordon');
  });
});

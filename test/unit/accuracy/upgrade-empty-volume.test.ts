// A volume of numberOfReplicas 1 created and never attached: its only replica never became healthy (healthyAt empty),
// so no node holds data of it. The cordon of that replica's node passes (single-replica's singleCopyNodes needs data
// there); a system-upgrade-controller Plan or a Cluster API rollout, which only cordons and drains those same nodes,
// must agree. Harvester's own upgrade webhook (checkSingleReplicaVolumes) refuses every volume whose
// spec.numberOfReplicas is 1, data or not: its Upgrade keeps refusing it, as Harvester would.
import { describe, expect, it } from 'vitest';
import { findingFix } from '../../../src/admission/messages.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { NO_DATA_TAG, SINGLE_REPLICA_TAGS_COUNT, VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, harvesterUpgradeRequest, request } from '../../support/admission.ts';
import { detachedVolume, longhornNode, machine, node, replica } from '../../support/fixtures.ts';

const config = defaultConfig();

function cluster(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  model.replaceAll('longhornNode', ['w1', 'w2', 'w3'].map((name) => longhornNode({ name })));
  for (const name of ['w1', 'w2', 'w3']) model.upsert('node', node({ name, labels: { 'kubernetes.io/hostname': name } }));
  model.upsert('longhornVolume', detachedVolume({ name: 'empty', numberOfReplicas: 1 }));
  model.upsert('longhornReplica', replica({ name: 'empty-r', volumeName: 'empty', nodeID: 'w1', healthyAt: '', currentState: 'stopped', desireState: 'stopped' }));
  model.replaceAll('machine', [machine({ name: 'md-a-1', nodeName: 'w1', machineSet: 'md-a-x', machineDeployment: 'md-a' })]);
  return model;
}

function planCreate(nodeSelector: unknown) {
  const object = {
    apiVersion: 'upgrade.cattle.io/v1',
    kind: 'Plan',
    metadata: { name: 'k3s-plan', namespace: 'system-upgrade' },
    spec: { version: 'v1.31.4+k3s1', concurrency: 1, nodeSelector },
  };
  return request({
    kind: { group: 'upgrade.cattle.io', version: 'v1', kind: 'Plan' },
    resource: { group: 'upgrade.cattle.io', version: 'v1', resource: 'plans' },
    operation: 'CREATE',
    namespace: 'system-upgrade',
    name: 'k3s-plan',
    object,
  });
}

function rollout() {
  const md = (version: string) => ({
    apiVersion: 'cluster.x-k8s.io/v1beta1',
    kind: 'MachineDeployment',
    metadata: { name: 'md-a', namespace: 'default' },
    spec: { replicas: 1, template: { spec: { version, clusterName: 'c1', bootstrap: { dataSecretName: 'b' }, infrastructureRef: { kind: 'M', name: 'm' } } } },
  });
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'MachineDeployment' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machinedeployments' },
    operation: 'UPDATE',
    namespace: 'default',
    name: 'md-a',
    object: md('v1.31.4'),
    oldObject: md('v1.30.8'),
  });
}

describe('a single-replica volume that never held data', () => {
  it('passes the cordon of its replica node, and so a Plan (every node, or that node) and a Cluster API rollout', () => {
    const model = cluster();
    expect(nodeCordonValidator(config).handle(cordonRequest('w1'), context(model)).allowed).toBe(true);
    for (const review of [planCreate({}), planCreate({ matchLabels: { 'kubernetes.io/hostname': 'w1' } }), rollout()]) {
      const decision = upgradeValidator(config).handle(review, context(model));
      expect(decision.status?.message).toBeUndefined();
      expect(decision.allowed).toBe(true);
    }
  });

  it("is still refused by a Harvester Upgrade, as Harvester's own check refuses every volume of numberOfReplicas 1", () => {
    const decision = upgradeValidator(config).handle(harvesterUpgradeRequest(), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('empty');
    // Nothing to lose: the refusal says why Harvester counts it, and advises no backup or wait.
    const message = (decision.status?.message ?? '').replace(/\s+/g, ' ');
    expect(message).toContain('never held data');
    expect(message).toContain('delete such a volume if it is not used');
    expect(message).not.toContain('wait until healthy');
    expect(message).not.toContain('back the data up');
    // The audit's situation-free fix says the same.
    const finding = { check: 'single-replica' as const, severity: 'critical' as const, object: { kind: 'Volume', name: 'empty' }, reason: '', tags: ['detached', NO_DATA_TAG] };
    expect(findingFix(finding)).toContain('delete such a volume if it is not used');
  });

  it('is refused by a Plan once its replica held data, and the model counts it under its tags as it changes', () => {
    const model = cluster();
    expect([...(model.volumeCountsByKey(SINGLE_REPLICA_TAGS_COUNT)?.keys() ?? [])]).toEqual([`detached ${NO_DATA_TAG}`]);
    model.upsert('longhornReplica', replica({ name: 'empty-r', volumeName: 'empty', nodeID: 'w1', currentState: 'stopped', desireState: 'stopped' }));
    expect([...(model.volumeCountsByKey(SINGLE_REPLICA_TAGS_COUNT)?.entries() ?? [])].filter(([, count]) => count > 0)).toEqual([['detached', 1]]);
    const decision = upgradeValidator(config).handle(planCreate({}), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('empty');
  });
});

// An upgrade that cordons and drains each node through evictions is, node by node, the cordons and drains volume-guard
// judges one at a time. Under Longhorn's node-drain-policy block-for-eviction (or its last-replica variant),
// longhorn-manager's node controller evicts the replicas off a cordoned node (shouldEvictReplica) and the
// instance-manager PodDisruptionBudget holds the drain until they are rebuilt elsewhere: the cordon of the node holding
// a single-replica volume passes with a warning, so the upgrade draining that node must too. What the cordon keeps
// refusing stays refused (a strict-local volume, a volume with no healthy copy), and so does an upgrade whose drain
// could never complete (no other Longhorn node for the replica) or that does not drain through evictions (a Plan
// without spec.drain, a Cluster API rollout whose drain is cut short).
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, harvesterUpgradeRequest, request } from '../../support/admission.ts';
import { failedReplica, longhornNode, longhornSetting, machine, node, pv, pvc, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();
const NODES = ['w1', 'w2', 'w3'];

/** Three nodes, Longhorn's node-drain-policy `policy`, volume `v` (claim app/data) with its only replica on w1. */
function cluster(policy: string | null = 'block-for-eviction', fields: Parameters<typeof volume>[0] = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  model.replaceAll('longhornNode', NODES.map((name) => longhornNode({ name })));
  for (const name of NODES) model.upsert('node', node({ name, labels: { 'kubernetes.io/hostname': name } }));
  if (policy !== null) model.upsert('longhornSetting', longhornSetting('node-drain-policy', policy));
  model.upsert('longhornVolume', volume({ name: 'v', numberOfReplicas: 1, currentNodeID: 'w1', pvName: 'v', pvcNamespace: 'app', pvcName: 'data', ...fields }));
  model.upsert('longhornReplica', replica({ volumeName: 'v', nodeID: 'w1' }));
  model.upsert('persistentVolume', pv({ name: 'v', driver: 'driver.longhorn.io', claimNamespace: 'app', claimName: 'data' } as never));
  model.upsert('persistentVolumeClaim', pvc({ namespace: 'app', name: 'data', volumeName: 'v' }));
  model.replaceAll('machine', [machine({ name: 'md-a-1', nodeName: 'w1', machineSet: 'md-a-x', machineDeployment: 'md-a' })]);
  return model;
}

function planCreate(spec: Record<string, unknown> = {}): AdmissionRequest {
  const object = {
    apiVersion: 'upgrade.cattle.io/v1',
    kind: 'Plan',
    metadata: { name: 'k3s-plan', namespace: 'system-upgrade' },
    spec: { version: 'v1.31.4+k3s1', concurrency: 1, nodeSelector: { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'Exists' }] }, ...spec },
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

function rollout(templateSpec: Record<string, unknown> = {}, templateAnnotations: Record<string, string> = {}): AdmissionRequest {
  const md = (version: string) => ({
    apiVersion: 'cluster.x-k8s.io/v1beta1',
    kind: 'MachineDeployment',
    metadata: { name: 'md-a', namespace: 'default' },
    spec: {
      replicas: 1,
      template: {
        metadata: { annotations: templateAnnotations },
        spec: { version, clusterName: 'c1', bootstrap: { dataSecretName: 'b' }, infrastructureRef: { kind: 'M', name: 'm' }, ...templateSpec },
      },
    },
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

const DRAINING_PLAN = planCreate({ drain: { force: true, ignoreDaemonSets: true } });
const upgrade = (model: ClusterModel, review: AdmissionRequest = harvesterUpgradeRequest()) => upgradeValidator(config).handle(review, context(model));
const cordon = (model: ClusterModel) => nodeCordonValidator(config).handle(cordonRequest('w1'), context(model));
const warnings = (decision: { warnings?: readonly string[] }) => (decision.warnings ?? []).join('\n');

describe('an upgrade draining through evictions under an evicting node-drain-policy', () => {
  it('allows, with a warning, what the cordon of the same node allows (Harvester Upgrade, both evicting policies)', () => {
    for (const policy of ['block-for-eviction', 'block-for-eviction-if-contains-last-replica']) {
      const model = cluster(policy);
      expect(cordon(model).allowed).toBe(true);
      const decision = upgrade(model);
      expect(decision.status?.message).toBeUndefined();
      expect(decision.allowed).toBe(true);
      expect(warnings(decision)).toContain('PVC app/data');
      expect(warnings(decision)).toContain(`node-drain-policy ${policy} moves it to another node`);
    }
  });

  it('allows a Plan with spec.drain and a MachineDeployment rollout whose drain is not cut short', () => {
    for (const review of [DRAINING_PLAN, rollout()]) {
      const decision = upgrade(cluster(), review);
      expect(decision.status?.message).toBeUndefined();
      expect(decision.allowed).toBe(true);
    }
  });

  it('keeps refusing under the default policy', () => {
    expect(upgrade(cluster(null)).allowed).toBe(false);
    expect(upgrade(cluster('block-if-contains-last-replica')).allowed).toBe(false);
  });

  it('keeps refusing a strict-local volume and a volume with no healthy copy, as the cordon does', () => {
    const strict = cluster('block-for-eviction', { strictLocal: true });
    expect(cordon(strict).allowed).toBe(false);
    expect(upgrade(strict).allowed).toBe(false);
    const failed = cluster('block-for-eviction', { robustness: 'faulted', currentNodeID: '', state: 'detached' });
    failed.upsert('longhornReplica', failedReplica({ volumeName: 'v', nodeID: 'w1' }));
    const decision = upgrade(failed);
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('[single-replica]');
  });

  it('keeps refusing when no other Longhorn node can take the replica (the drain would never complete)', () => {
    const model = cluster();
    model.replaceAll('longhornNode', [longhornNode({ name: 'w1' }), longhornNode({ name: 'w2', refusesReplicas: true }), longhornNode({ name: 'w3', refusesReplicas: true })]);
    expect(upgrade(model).allowed).toBe(false);
  });

  it('keeps refusing an upgrade that does not drain through evictions, saying why the policy does not count', () => {
    const cases: [AdmissionRequest, string][] = [
      [planCreate(), 'no spec.drain'],
      [planCreate({ drain: { disableEviction: true } }), 'disableEviction'],
      [rollout({ nodeDrainTimeout: '10m' }), 'node drain timeout'],
      [rollout({ deletion: { nodeDrainTimeoutSeconds: 600 } }), 'node drain timeout'],
      [rollout({}, { 'machine.cluster.x-k8s.io/exclude-node-draining': '' }), 'exclude-node-draining'],
    ];
    for (const [review, why] of cases) {
      const decision = upgrade(cluster(), review);
      expect(decision.allowed).toBe(false);
      expect(warnings(decision)).toContain(why);
    }
    const model = cluster();
    model.replaceAll('machine', [machine({ name: 'md-a-1', nodeName: 'w1', machineSet: 'md-a-x', machineDeployment: 'md-a', drainCutShort: 'excluded' })]);
    expect(upgrade(model, rollout()).allowed).toBe(false);
  });

  it('past the listed few, counts only the volumes that stay (every finding judged)', () => {
    const model = cluster();
    for (let index = 0; index < 30; index++) {
      model.upsert('longhornVolume', volume({ name: `m-${String(index).padStart(2, '0')}`, numberOfReplicas: 1, currentNodeID: 'w2' }));
      model.upsert('longhornReplica', replica({ volumeName: `m-${String(index).padStart(2, '0')}`, nodeID: 'w2' }));
    }
    model.upsert('longhornVolume', volume({ name: 'z-pinned', numberOfReplicas: 1, currentNodeID: 'w3', strictLocal: true }));
    model.upsert('longhornReplica', replica({ volumeName: 'z-pinned', nodeID: 'w3' }));
    const decision = upgrade(model);
    expect(decision.allowed).toBe(false);
    const message = decision.status?.message ?? '';
    expect(message).toContain('z-pinned');
    expect(message).not.toContain('m-00');
    expect(message).not.toMatch(/and \d+ more/);
    expect(warnings(decision)).toContain('31 Longhorn volumes keep a single replica');
  });
});

// An upgrade reboots or replaces only the nodes its controller acts on: system-upgrade-controller applies a Plan to
// the nodes its spec.nodeSelector selects (a k3s/RKE2 "server" plan to the control-plane nodes, an "agent" plan to
// the others), and a MachineDeployment rollout replaces that MachineDeployment's Machines only. A single-replica
// volume whose data is on nodes the upgrade leaves alone is not at risk from it (and numberOfReplicas 1 with copies
// on an upgraded and a spared node keeps the spared copy). A Plan whose selector matches no Node upgrades none and
// passes, as does one without a selector (the controller selects no node then). When volume-guard cannot tell which
// nodes (a malformed selector, a Longhorn node that is no known Node, a MachineDeployment without known Machines, any
// other kind), every node counts.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, harvesterUpgradeRequest, request } from '../../support/admission.ts';
import { failedReplica, longhornNode, machine, node, replica, volume, volumeWithReplicas } from '../../support/fixtures.ts';

const config = defaultConfig();
const CONTROL_PLANE = { 'node-role.kubernetes.io/control-plane': 'true' };

/**
 * cp-1 (control plane), w-1, w-2. vol-w1: numberOfReplicas 1 on w-1; vol-spread: numberOfReplicas 1 with copies
 * on w-1 and w-2; vol-degraded: 2 replicas on w-1 and w-2, degraded. Machines: md-a on w-1, md-b on w-2, md-cp on cp-1.
 */
function cluster() {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  model.upsert('node', node({ name: 'cp-1', labels: { ...CONTROL_PLANE, 'kubernetes.io/hostname': 'cp-1' } }));
  for (const name of ['w-1', 'w-2']) model.upsert('node', node({ name, labels: { 'kubernetes.io/hostname': name, pool: 'workers' } }));
  model.replaceAll('longhornNode', ['cp-1', 'w-1', 'w-2'].map((name) => longhornNode({ name })));
  const volumes = [
    volumeWithReplicas('vol-w1', ['w-1'], { numberOfReplicas: 1 }),
    volumeWithReplicas('vol-spread', ['w-1', 'w-2'], { numberOfReplicas: 1 }),
    volumeWithReplicas('vol-degraded', ['w-1', 'w-2'], { robustness: 'degraded' }),
  ];
  model.replaceAll('longhornVolume', volumes.map((v) => v.volume));
  model.replaceAll('longhornReplica', volumes.flatMap((v) => v.replicas));
  model.replaceAll('machine', [
    machine({ name: 'md-a-1', nodeName: 'w-1', machineSet: 'md-a-x', machineDeployment: 'md-a' }),
    machine({ name: 'md-b-1', nodeName: 'w-2', machineSet: 'md-b-x', machineDeployment: 'md-b' }),
    machine({ name: 'md-c-1', nodeName: '', machineSet: 'md-c-x', machineDeployment: 'md-c' }),
    machine({ name: 'cp-m-1', nodeName: 'cp-1', machineSet: '', machineDeployment: '', controlPlane: 'kcp' }),
  ]);
  return model;
}

function planCreate(nodeSelector: unknown, annotations: Record<string, string> = {}) {
  const object = {
    apiVersion: 'upgrade.cattle.io/v1',
    kind: 'Plan',
    metadata: { name: 'k3s-plan', namespace: 'system-upgrade', annotations },
    spec: { version: 'v1.31.4+k3s1', concurrency: 1, ...(nodeSelector === undefined ? {} : { nodeSelector }) },
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

function rollout(name: string) {
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

const judge = (review: ReturnType<typeof request>) => upgradeValidator(config).handle(review, context(cluster()));

describe('a system-upgrade-controller Plan is judged on the nodes it selects', () => {
  it('a control-plane plan passes while single-replica data is on workers only', () => {
    const decision = judge(planCreate({ matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'In', values: ['true'] }] }));
    expect(decision.status?.message).toBeUndefined();
    expect(decision.allowed).toBe(true);
  });

  it('a plan selecting w-1 is refused for vol-w1 and the degraded volume, not for the copy w-2 keeps', () => {
    const decision = judge(planCreate({ matchLabels: { 'kubernetes.io/hostname': 'w-1' } }));
    expect(decision.allowed).toBe(false);
    const message = decision.status?.message ?? '';
    expect(message).toContain('upgrading node w-1');
    expect(message).toContain('vol-w1');
    expect(message).toContain('vol-degraded');
    expect(message).not.toContain('vol-spread');
  });

  it('a plan selecting both workers is refused for vol-spread too', () => {
    const decision = judge(planCreate({ matchLabels: { pool: 'workers' }, matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' }] }));
    expect(decision.status?.message).toContain('vol-spread');
    expect(decision.status?.message).toContain('upgrading node w-1, w-2');
  });

  it('a volume with no copy on any node that is up (its replica on a node gone) is still reported: no copy is spared', () => {
    const model = cluster();
    const ghost = volumeWithReplicas('vol-ghost', ['node-gone'], { numberOfReplicas: 1 });
    model.upsert('longhornVolume', ghost.volume);
    for (const r of ghost.replicas) model.upsert('longhornReplica', r);
    const review = planCreate({ matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }] });
    const message = upgradeValidator(config).handle(review, context(model)).status?.message ?? '';
    expect(message).toContain('vol-ghost');
    expect(message).not.toContain('vol-w1');
  });

  // longhorn-manager's volume controller leaves a replica it cannot place unscheduled (spec.nodeID empty) and keeps
  // the volume degraded: that replica, like one still rebuilding (no healthyAt), holds no data on any node.
  it('a degraded volume whose copies are on spared nodes is not named, whatever its missing or rebuilding replicas', () => {
    const model = cluster();
    model.upsert('longhornVolume', volume({ name: 'vol-short', numberOfReplicas: 4, robustness: 'degraded', currentNodeID: 'w-2' }));
    model.upsert('longhornReplica', replica({ volumeName: 'vol-short', nodeID: 'cp-1' }));
    model.upsert('longhornReplica', replica({ volumeName: 'vol-short', nodeID: 'w-2' }));
    model.upsert('longhornReplica', replica({ volumeName: 'vol-short', nodeID: 'w-1', healthyAt: '' }));
    model.upsert('longhornReplica', replica({ name: 'vol-short-r-unscheduled', volumeName: 'vol-short', nodeID: '', diskID: '', healthyAt: '', desireState: 'stopped', currentState: '' }));
    const review = planCreate({ matchLabels: { 'kubernetes.io/hostname': 'w-1' } });
    const message = upgradeValidator(config).handle(review, context(model)).status?.message ?? '';
    expect(message).toContain('vol-degraded');
    expect(message).not.toContain('vol-short');
    // An upgrade of a node holding one of its copies still names it.
    const onW2 = upgradeValidator(config).handle(planCreate({ matchLabels: { 'kubernetes.io/hostname': 'w-2' } }), context(model));
    expect(onW2.status?.message).toContain('vol-short');
  });

  // A faulted volume has no healthy replica: its failed replicas that held data are what a salvage reads (as at a
  // cordon and a Replica DELETE). One on an upgraded node ties the volume to the upgrade, even with single-replica
  // waived; one whose failed replicas all sit on spared nodes is not named by volume-health.
  it('a faulted volume whose only data is in a failed replica on an upgraded node is named by volume-health', () => {
    const model = cluster();
    model.upsert('longhornVolume', volume({ name: 'vol-faulted', numberOfReplicas: 2, robustness: 'faulted', state: 'detached', currentNodeID: '' }));
    model.upsert('longhornReplica', failedReplica({ volumeName: 'vol-faulted', nodeID: 'w-1' }));
    model.upsert('longhornReplica', failedReplica({ volumeName: 'vol-faulted', nodeID: 'w-2', healthyAt: '' }));
    const skip = { 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-by': 'admin' };
    const onW1 = upgradeValidator(config).handle(planCreate({ matchLabels: { 'kubernetes.io/hostname': 'w-1' } }, skip), context(model));
    expect(onW1.allowed).toBe(false);
    expect(onW1.status?.message).toContain('[volume-health]');
    expect(onW1.status?.message).toContain('vol-faulted');
    // w-2's failed replica never held data; cp-1 holds none of it.
    for (const host of ['w-2', 'cp-1']) {
      const spared = upgradeValidator(config).handle(planCreate({ matchLabels: { 'kubernetes.io/hostname': host } }, skip), context(model));
      expect(spared.status?.message ?? '').not.toContain('vol-faulted');
    }
  });

  it('with a malformed selector every node counts', () => {
    const decision = judge(planCreate({ matchExpressions: [{ key: 'pool', operator: 'Near' }] }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('vol-spread');
    expect(decision.status?.message).not.toContain('upgrading node');
  });

  // plan.go NodeSelector(): LabelSelectorAsSelector(nil) is labels.Nothing(), which the hostname requirement added to
  // it leaves as is: system-upgrade-controller upgrades no node; adding a selector later is judged on what it selects.
  it('without a selector no node is upgraded: it passes', () => {
    const decision = judge(planCreate(undefined));
    expect(decision.status?.message).toBeUndefined();
    expect(decision.allowed).toBe(true);
  });

  // system-upgrade-controller lists the Nodes its selector matches: an agent plan applied beside the server plan on a
  // cluster of servers only upgrades no node. A node labelled to match later is not judged (a Node label write is no
  // upgrade).
  it('a plan whose selector matches no Node upgrades nothing: it passes', () => {
    for (const selector of [{ matchLabels: { pool: 'gpu' } }, { matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'In', values: ['false'] }] }]) {
      const decision = judge(planCreate(selector));
      expect(decision.status?.message).toBeUndefined();
      expect(decision.allowed).toBe(true);
    }
  });

  it('a Longhorn node that is no known Node has no labels to match: every node counts then', () => {
    const model = cluster();
    model.upsert('longhornNode', longhornNode({ name: 'w-3' }));
    const decision = upgradeValidator(config).handle(planCreate({ matchLabels: { pool: 'gpu' } }), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('vol-w1');
  });

  it('while the Nodes are stale, a plan selecting none of the known ones gets the stale policy', () => {
    const stale = { synced: () => true, staleResources: () => ['nodes'] };
    const decision = upgradeValidator(config).handle(planCreate({ matchLabels: { pool: 'gpu' } }), context(cluster(), { health: stale }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('stale');
  });


  // system-upgrade-controller's SelectConcurrentNodes adds `plan.upgrade.cattle.io/<plan> NotIn (disabled, latestHash)`
  // to the selector: a node marked disabled is never upgraded, one at the plan's current hash is not upgraded again.
  it("skips the nodes the plan's label marks disabled, and on an update that keeps the plan's hash those already at it", () => {
    const PLAN_LABEL = 'plan.upgrade.cattle.io/k3s-plan';
    const labelled = (marks: Record<string, string>) => {
      const model = cluster();
      for (const [name, mark] of Object.entries(marks)) {
        model.upsert('node', node({ name, labels: { 'kubernetes.io/hostname': name, pool: 'workers', [PLAN_LABEL]: mark } }));
      }
      return model;
    };
    const workers = { matchLabels: { pool: 'workers' } };
    // The hash DigestStatus gives the plan below (its version munged, no service account): the status holds it once
    // the controller has caught up, and volume-guard predicts it from the spec.
    const hashA = createHash('sha224').update('v1.31.4-k3s1').digest('hex');
    const run = (review: ReturnType<typeof request>, model: ClusterModel) => upgradeValidator(config).handle(review, context(model));

    const spared = run(planCreate(workers), labelled({ 'w-1': 'disabled' }));
    expect(spared.allowed).toBe(false);
    expect(spared.status?.message).toContain('upgrading node w-2');
    expect(spared.status?.message).not.toContain('vol-w1');
    expect(run(planCreate(workers), labelled({ 'w-1': 'disabled', 'w-2': 'disabled' })).allowed).toBe(true);

    const planUpdate = (spec: Record<string, unknown>) => {
      const plan = (extra: Record<string, unknown>) => ({
        apiVersion: 'upgrade.cattle.io/v1',
        kind: 'Plan',
        metadata: { name: 'k3s-plan', namespace: 'system-upgrade' },
        spec: { version: 'v1.31.4+k3s1', concurrency: 1, nodeSelector: workers, ...extra },
        status: { latestVersion: 'v1.31.4-k3s1', latestHash: hashA },
      });
      return request({
        kind: { group: 'upgrade.cattle.io', version: 'v1', kind: 'Plan' },
        resource: { group: 'upgrade.cattle.io', version: 'v1', resource: 'plans' },
        operation: 'UPDATE',
        namespace: 'system-upgrade',
        name: 'k3s-plan',
        object: plan(spec),
        oldObject: plan({}),
      });
    };
    const done = labelled({ 'w-1': hashA, 'w-2': hashA });
    // A higher concurrency on a plan applied everywhere starts nothing.
    expect(run(planUpdate({ concurrency: 2 }), done).status?.message).toBeUndefined();
    // w-1 is behind (an older hash): only it is upgraded.
    const behind = run(planUpdate({ concurrency: 2 }), labelled({ 'w-1': 'hash-old', 'w-2': hashA }));
    expect(behind.allowed).toBe(false);
    expect(behind.status?.message).toContain('upgrading node w-1');
    expect(behind.status?.message).toContain('vol-w1');
    // A new version is a new hash: every selected node again.
    const upgraded = run(planUpdate({ version: 'v1.32.0+k3s1' }), done);
    expect(upgraded.allowed).toBe(false);
    expect(upgraded.status?.message).toContain('upgrading node w-1, w-2');
    // A label other than the plan's own says nothing.
    expect(run(planCreate(workers), labelled({ 'w-1': 'hash-other', 'w-2': 'true' })).status?.message).toContain('upgrading node w-1, w-2');
  });
});

describe("a MachineDeployment rollout is judged on its Machines' nodes", () => {
  it("md-b's rollout (w-2) names no single-replica volume (vol-spread keeps its w-1 copy, vol-w1 is on w-1), only the degraded one", () => {
    const decision = judge(rollout('md-b'));
    expect(decision.allowed).toBe(false);
    const message = decision.status?.message ?? '';
    expect(message).toContain('[volume-health]');
    expect(message).not.toContain('[single-replica]');
    expect(message).toContain('upgrading node w-2');
  });

  it("md-a's rollout (w-1) is refused for vol-w1", () => {
    const message = judge(rollout('md-a')).status?.message ?? '';
    expect(message).toContain('[single-replica]');
    expect(message).toContain('vol-w1');
    expect(message).not.toContain('vol-spread');
  });

  // Cluster API's rolloutOnDelete scales old MachineSets down only as their Machines are deleted (each Machine DELETE
  // is judged on its own node) or replicas decrease: a template change under OnDelete replaces no Machine.
  it("md-a's template change under the OnDelete strategy (v1beta1 and v1beta2) replaces nothing: allowed", () => {
    const onDelete = (strategy: Record<string, unknown>) => {
      const review = rollout('md-a');
      const withStrategy = (object: unknown) => ({ ...(object as Record<string, unknown>), spec: { ...((object as { spec: Record<string, unknown> }).spec), ...strategy } });
      return { ...review, object: withStrategy(review.object), oldObject: withStrategy(review.oldObject) };
    };
    for (const strategy of [{ strategy: { type: 'OnDelete' } }, { rollout: { strategy: { type: 'OnDelete' } } }]) {
      const decision = judge(onDelete(strategy));
      expect(decision.status?.message).toBeUndefined();
      expect(decision.allowed).toBe(true);
    }
    // RollingUpdate spelt out is still a rollout.
    expect(judge(onDelete({ strategy: { type: 'RollingUpdate' } })).allowed).toBe(false);
  });

  it('a MachineDeployment with no Machine on a known node, and a Harvester Upgrade, count every node', () => {
    for (const review of [rollout('md-c'), rollout('md-unknown'), harvesterUpgradeRequest()]) {
      const message = upgradeValidator(config).handle(review, context(cluster())).status?.message ?? '';
      expect(message).toContain('vol-spread');
      expect(message).not.toContain('upgrading node');
    }
  });
});

describe("a KubeadmControlPlane rollout is judged on its Machines' nodes", () => {
  function kcpRollout(name: string) {
    const kcp = (version: string) => ({
      apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1',
      kind: 'KubeadmControlPlane',
      metadata: { name, namespace: 'default' },
      spec: { replicas: 1, version, machineTemplate: { infrastructureRef: { kind: 'M', name: 'm' } }, kubeadmConfigSpec: {} },
    });
    return request({
      kind: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta1', kind: 'KubeadmControlPlane' },
      resource: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta1', resource: 'kubeadmcontrolplanes' },
      operation: 'UPDATE',
      namespace: 'default',
      name,
      object: kcp('v1.31.4'),
      oldObject: kcp('v1.30.8'),
    });
  }

  it('passes while the single-replica data is on workers; one without known Machines counts every node', () => {
    const decision = judge(kcpRollout('kcp'));
    expect(decision.status?.message).toBeUndefined();
    expect(decision.allowed).toBe(true);
    expect(judge(kcpRollout('kcp-other')).status?.message).toContain('vol-w1');
  });
});

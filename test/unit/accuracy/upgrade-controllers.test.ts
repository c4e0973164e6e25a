// What the upgrade controllers really do with a request, read from their sources:
// - Cluster API's MachineDeployment controller only scales a paused MachineDeployment (sync: no new MachineSet),
//   rolls out on resume, and only tears down one being deleted (reconcileDelete); so does KubeadmControlPlane.
// - system-upgrade-controller resolves the channel only for a Plan without spec.version, and SelectConcurrentNodes
//   starts no node while spec.concurrency is 0 or absent.
import { describe, expect, it } from 'vitest';
import { upgradeMatchCondition } from '../../../src/admission/validators/upgrade-kinds.ts';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, harvesterUpgradeRequest, request } from '../../support/admission.ts';
import { longhornNode, machine, node, volumeWithReplicas } from '../../support/fixtures.ts';

const config = defaultConfig();

/** Nodes h-1..h-n; vol-single (numberOfReplicas 1, attached) and vol-idle (1, detached) on h-1; vol-three (3 wanted, 1 healthy on h-1, degraded). */
function harvester(nodes: number, extra: (model: ClusterModel) => void = () => {}) {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  const names = Array.from({ length: nodes }, (_, index) => `h-${index + 1}`);
  for (const name of names) model.upsert('node', node({ name, labels: { 'kubernetes.io/hostname': name } }));
  model.replaceAll('longhornNode', names.map((name) => longhornNode({ name })));
  const volumes = [
    volumeWithReplicas('vol-single', ['h-1'], { numberOfReplicas: 1 }),
    volumeWithReplicas('vol-idle', ['h-1'], { numberOfReplicas: 1, state: 'detached', currentNodeID: '' }),
    volumeWithReplicas('vol-three', ['h-1'], { numberOfReplicas: 3, robustness: 'degraded' }),
  ];
  model.replaceAll('longhornVolume', volumes.map((v) => v.volume));
  model.replaceAll('longhornReplica', volumes.flatMap((v) => v.replicas));
  extra(model);
  return model;
}

function upgradePlanRequest(annotations: Record<string, string> = {}) {
  return request({
    kind: { group: 'management.harvesterhci.io', version: 'v1beta1', kind: 'UpgradePlan' },
    resource: { group: 'management.harvesterhci.io', version: 'v1beta1', resource: 'upgradeplans' },
    operation: 'CREATE',
    name: 'hvst-plan-1',
    object: { apiVersion: 'management.harvesterhci.io/v1beta1', kind: 'UpgradePlan', metadata: { name: 'hvst-plan-1', annotations }, spec: { version: 'v1.6.0' } },
  });
}

describe('Harvester Upgrade', () => {
  // Harvester's own validator skips the single-replica check on a single-node cluster (and the degraded one below
  // three nodes). volume-guard stays stricter there: the node the upgrade reboots holds the only copy all the same.
  it('on a single-node cluster still refuses for single-replica volumes, attached and detached', () => {
    for (const review of [harvesterUpgradeRequest(), upgradePlanRequest()]) {
      const message = upgradeValidator(config).handle(review, context(harvester(1))).status?.message ?? '';
      expect(message).toContain('vol-single');
      expect(message).toContain('vol-idle');
    }
  });

  it('skipSingleReplicaDetachedVol "true" waives the detached volume only; another value waives nothing', () => {
    const skipped = upgradeValidator(config).handle(harvesterUpgradeRequest({ 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' }), context(harvester(2)));
    expect(skipped.status?.message).toContain('vol-single');
    expect(skipped.status?.message).not.toContain('vol-idle ');
    const other = upgradeValidator(config).handle(harvesterUpgradeRequest({ 'harvesterhci.io/skipSingleReplicaDetachedVol': 'yes' }), context(harvester(2)));
    expect(other.status?.message).toContain('vol-idle');
  });

  // The upgrade toolkit's UpgradePlan webhook (internal/webhook/v1beta1/upgradeplan_webhook.go) reads the same
  // annotation, exactly "true": detached single-replica volumes pass, active ones are refused whatever it says.
  it('skipSingleReplicaDetachedVol "true" on an UpgradePlan waives the detached volume only, as the toolkit does', () => {
    const key = 'harvesterhci.io/skipSingleReplicaDetachedVol';
    const skipped = upgradeValidator(config).handle(upgradePlanRequest({ [key]: 'true' }), context(harvester(2)));
    expect(skipped.allowed).toBe(false);
    expect(skipped.status?.message).toContain('vol-single');
    expect(skipped.status?.message).not.toContain('vol-idle ');
    expect(skipped.auditAnnotations?.['override-source']).toContain(key);
    const other = upgradeValidator(config).handle(upgradePlanRequest({ [key]: 'True' }), context(harvester(2)));
    expect(other.status?.message).toContain('vol-idle');
  });
});

// ------------------------------------------------------------------------------------------------ Cluster API

function capiCluster() {
  const model = harvester(3);
  model.replaceAll('machine', [
    machine({ name: 'md-a-1', nodeName: 'h-1', machineSet: 'md-a-x', machineDeployment: 'md-a' }),
    machine({ name: 'cp-1', nodeName: 'h-1', machineSet: '', machineDeployment: '', controlPlane: 'kcp' }),
  ]);
  return model;
}

type Spec = Record<string, unknown>;

function mdUpdate(oldSpec: Spec, newSpec: Spec, extra: { status?: Spec; deletionTimestamp?: string; apiVersion?: string } = {}) {
  const apiVersion = extra.apiVersion ?? 'cluster.x-k8s.io/v1beta1';
  const md = (spec: Spec) => ({
    apiVersion,
    kind: 'MachineDeployment',
    metadata: { name: 'md-a', namespace: 'default', ...(extra.deletionTimestamp ? { deletionTimestamp: extra.deletionTimestamp, finalizers: ['machinedeployment.cluster.x-k8s.io'] } : {}) },
    spec: { replicas: 1, clusterName: 'c1', template: { spec: { version: 'v1.30.8', clusterName: 'c1', bootstrap: { dataSecretName: 'b' }, infrastructureRef: { kind: 'M', name: 'm' } } }, ...spec },
    ...(extra.status ? { status: extra.status } : {}),
  });
  return request({
    kind: { group: 'cluster.x-k8s.io', version: apiVersion.split('/')[1] ?? 'v1beta1', kind: 'MachineDeployment' },
    resource: { group: 'cluster.x-k8s.io', version: apiVersion.split('/')[1] ?? 'v1beta1', resource: 'machinedeployments' },
    operation: 'UPDATE',
    namespace: 'default',
    name: 'md-a',
    object: md(newSpec),
    oldObject: md(oldSpec),
  });
}

const NEW_TEMPLATE = { template: { spec: { version: 'v1.31.4', clusterName: 'c1', bootstrap: { dataSecretName: 'b' }, infrastructureRef: { kind: 'M', name: 'm' } } } };
const judgeCapi = (review: ReturnType<typeof request>) => upgradeValidator(config).handle(review, context(capiCluster()));

describe('a paused MachineDeployment rolls nothing until resumed', () => {
  it('a template change while spec.paused is true passes; the same change unpaused is refused', () => {
    const paused = judgeCapi(mdUpdate({ paused: true }, { paused: true, ...NEW_TEMPLATE }));
    expect(paused.status?.message).toBeUndefined();
    expect(paused.allowed).toBe(true);
    // Pausing in the same write holds it back too.
    expect(judgeCapi(mdUpdate({}, { paused: true, ...NEW_TEMPLATE })).allowed).toBe(true);
    expect(judgeCapi(mdUpdate({}, NEW_TEMPLATE)).allowed).toBe(false);
  });

  it('resuming is refused while the status counts Machines not up to date (v1beta1 and v1beta2), passes when all are', () => {
    const resumeV1 = judgeCapi(mdUpdate({ paused: true, ...NEW_TEMPLATE }, { paused: false, ...NEW_TEMPLATE }, { status: { replicas: 1, updatedReplicas: 0 } }));
    expect(resumeV1.allowed).toBe(false);
    expect(resumeV1.status?.message).toContain('spec.paused no longer true');
    expect(resumeV1.status?.message).toContain('vol-single');
    const resumeV2 = judgeCapi(
      mdUpdate({ paused: true }, {}, { apiVersion: 'cluster.x-k8s.io/v1beta2', status: { replicas: 1, upToDateReplicas: 0 } }),
    );
    expect(resumeV2.allowed).toBe(false);
    const upToDate = judgeCapi(mdUpdate({ paused: true }, {}, { status: { replicas: 1, updatedReplicas: 1 } }));
    expect(upToDate.status?.message).toBeUndefined();
    expect(upToDate.allowed).toBe(true);
    // No status: the controller reported no Machine.
    expect(judgeCapi(mdUpdate({ paused: true }, {})).allowed).toBe(true);
  });

  it('leaving OnDelete for RollingUpdate rolls the Machines not up to date', () => {
    const status = { replicas: 1, updatedReplicas: 0 };
    const left = judgeCapi(mdUpdate({ strategy: { type: 'OnDelete' } }, { strategy: { type: 'RollingUpdate' } }, { status }));
    expect(left.allowed).toBe(false);
    expect(left.status?.message).toContain('spec.strategy.type no longer OnDelete');
    const leftV2 = judgeCapi(
      mdUpdate({ rollout: { strategy: { type: 'OnDelete' } } }, { rollout: { strategy: { type: 'RollingUpdate' } } }, { apiVersion: 'cluster.x-k8s.io/v1beta2', status: { replicas: 1, upToDateReplicas: 0 } }),
    );
    expect(leftV2.allowed).toBe(false);
    expect(judgeCapi(mdUpdate({ strategy: { type: 'OnDelete' } }, { strategy: { type: 'RollingUpdate' } }, { status: { replicas: 1, updatedReplicas: 1 } })).allowed).toBe(true);
  });

  it('the API server sends resumes and strategy changes to volume-guard (matchConditions)', () => {
    const cel = upgradeMatchCondition();
    expect(cel).toContain('object.spec.paused != oldObject.spec.paused');
    expect(cel).toContain('object.spec.strategy.type != oldObject.spec.strategy.type');
    expect(cel).toContain('object.spec.rollout.strategy.type != oldObject.spec.rollout.strategy.type');
  });
});

describe('a MachineDeployment scaled to zero replaces nothing', () => {
  it('a template change passes while spec and status replicas are 0; with a Machine reported it is refused', () => {
    const empty = judgeCapi(mdUpdate({ replicas: 0 }, { replicas: 0, ...NEW_TEMPLATE }, { status: { replicas: 0 } }));
    expect(empty.status?.message).toBeUndefined();
    expect(empty.allowed).toBe(true);
    // Scaled up in the same write: the new Machines get the new template, none is replaced.
    expect(judgeCapi(mdUpdate({ replicas: 0 }, { replicas: 2, ...NEW_TEMPLATE }, { status: { replicas: 0 } })).allowed).toBe(true);
    // Scaling down to 0 still in progress (a Machine left), or no status at all: judged.
    expect(judgeCapi(mdUpdate({ replicas: 0 }, { replicas: 0, ...NEW_TEMPLATE }, { status: { replicas: 1 } })).allowed).toBe(false);
    expect(judgeCapi(mdUpdate({ replicas: 0 }, { replicas: 0, ...NEW_TEMPLATE })).allowed).toBe(false);
  });
});

describe('a Cluster API object being deleted rolls nothing', () => {
  it('a MachineDeployment template change during its deletion passes', () => {
    const decision = judgeCapi(mdUpdate({}, NEW_TEMPLATE, { deletionTimestamp: '2026-12-04T10:00:00Z' }));
    expect(decision.status?.message).toBeUndefined();
    expect(decision.allowed).toBe(true);
  });

  it('a KubeadmControlPlane version change during its deletion passes, refused otherwise', () => {
    const kcp = (deleting: boolean) => {
      const object = (version: string) => ({
        apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1',
        kind: 'KubeadmControlPlane',
        metadata: { name: 'kcp', namespace: 'default', ...(deleting ? { deletionTimestamp: '2026-12-04T10:00:00Z' } : {}) },
        spec: { replicas: 1, version, machineTemplate: { infrastructureRef: { kind: 'M', name: 'm' } }, kubeadmConfigSpec: {} },
      });
      return request({
        kind: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta1', kind: 'KubeadmControlPlane' },
        resource: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta1', resource: 'kubeadmcontrolplanes' },
        operation: 'UPDATE',
        namespace: 'default',
        name: 'kcp',
        object: object('v1.31.4'),
        oldObject: object('v1.30.8'),
      });
    };
    expect(judgeCapi(kcp(true)).allowed).toBe(true);
    expect(judgeCapi(kcp(false)).allowed).toBe(false);
  });
});

// ------------------------------------------------------------------------------------------------ system-upgrade-controller

function plan(spec: Spec, status: Spec = {}) {
  return {
    apiVersion: 'upgrade.cattle.io/v1',
    kind: 'Plan',
    metadata: { name: 'k3s', namespace: 'system-upgrade' },
    spec: { nodeSelector: {}, upgrade: { image: 'rancher/k3s-upgrade' }, ...spec },
    status,
  };
}

function planRequest(operation: 'CREATE' | 'UPDATE', object: unknown, oldObject: unknown = null) {
  return request({
    kind: { group: 'upgrade.cattle.io', version: 'v1', kind: 'Plan' },
    resource: { group: 'upgrade.cattle.io', version: 'v1', resource: 'plans' },
    operation,
    namespace: 'system-upgrade',
    name: 'k3s',
    object,
    oldObject,
  });
}

describe('system-upgrade-controller', () => {
  it('creates no job for a plan being deleted: its change passes', () => {
    const deleting = (spec: Spec) => ({ ...plan(spec), metadata: { name: 'k3s', namespace: 'system-upgrade', deletionTimestamp: '2026-12-04T10:00:00Z', finalizers: ['example.com/hold'] } });
    const decision = judgeCapi(planRequest('UPDATE', deleting({ version: 'v1.32.0+k3s1', concurrency: 1 }), deleting({ version: 'v1.31.4+k3s1', concurrency: 1 })));
    expect(decision.status?.message).toBeUndefined();
    expect(decision.allowed).toBe(true);
  });

  it('ignores the channel of a plan with a version: a channel change re-runs nothing', () => {
    const pinned = judgeCapi(planRequest('UPDATE', plan({ version: 'v1.31.4+k3s1', channel: 'https://update.k3s.io/v1-release/channels/latest', concurrency: 1 }), plan({ version: 'v1.31.4+k3s1', channel: 'https://update.k3s.io/v1-release/channels/stable', concurrency: 1 })));
    expect(pinned.status?.message).toBeUndefined();
    expect(pinned.allowed).toBe(true);
    const channelOnly = judgeCapi(planRequest('UPDATE', plan({ channel: 'https://update.k3s.io/v1-release/channels/latest', concurrency: 1 }), plan({ channel: 'https://update.k3s.io/v1-release/channels/stable', concurrency: 1 })));
    expect(channelOnly.allowed).toBe(false);
    expect(channelOnly.status?.message).toContain('spec.channel changed');
  });

  it('starts no node from a plan created without a positive concurrency; raising it is judged', () => {
    for (const concurrency of [undefined, 0]) {
      const spec = { version: 'v1.31.4+k3s1', ...(concurrency === undefined ? {} : { concurrency }) };
      const created = judgeCapi(planRequest('CREATE', plan(spec)));
      expect(created.status?.message).toBeUndefined();
      expect(created.allowed).toBe(true);
    }
    expect(judgeCapi(planRequest('CREATE', plan({ version: 'v1.31.4+k3s1', concurrency: 1 }))).allowed).toBe(false);
    expect(judgeCapi(planRequest('UPDATE', plan({ version: 'v1.31.4+k3s1', concurrency: 1 }), plan({ version: 'v1.31.4+k3s1' }))).allowed).toBe(false);
    // Nodes already applying go on: a new version at concurrency 0 is judged.
    const applying = judgeCapi(planRequest('UPDATE', plan({ version: 'v1.32.0+k3s1', concurrency: 0 }), plan({ version: 'v1.31.4+k3s1', concurrency: 0 }, { applying: ['h-1'] })));
    expect(applying.allowed).toBe(false);
  });
});

describe("system-upgrade-controller's plan hash", () => {
  const update = (spec: Spec, oldSpec: Spec) => judgeCapi(planRequest('UPDATE', plan({ concurrency: 1, ...spec }), plan({ concurrency: 1, ...oldSpec })));

  it('takes the version as MungeVersion writes it: `+` spelt `-` re-runs nothing', () => {
    expect(update({ version: 'v1.31.4-k3s1' }, { version: 'v1.31.4+k3s1' }).allowed).toBe(true);
    expect(update({ version: 'v1.31.5+k3s1' }, { version: 'v1.31.4+k3s1' }).allowed).toBe(false);
  });

  it('takes the contents of the secrets not marked ignoreUpdates: their names count, not paths or ignored ones', () => {
    const base = { version: 'v1.31.4+k3s1' };
    const secret = (name: string, extra: Spec = {}) => ({ name, path: `/run/${name}`, ...extra });
    expect(update({ ...base, secrets: [secret('a', { path: '/elsewhere' })] }, { ...base, secrets: [secret('a')] }).allowed).toBe(true);
    expect(update({ ...base, secrets: [secret('a'), secret('b', { ignoreUpdates: true })] }, { ...base, secrets: [secret('a')] }).allowed).toBe(true);
    expect(update({ ...base, secrets: [] }, base).allowed).toBe(true);
    const added = update({ ...base, secrets: [secret('a'), secret('b')] }, { ...base, secrets: [secret('a')] });
    expect(added.allowed).toBe(false);
    expect(added.status?.message).toContain('spec.secrets changed');
    // ignoreUpdates turned off: its contents enter the hash.
    expect(update({ ...base, secrets: [secret('a')] }, { ...base, secrets: [secret('a', { ignoreUpdates: true })] }).allowed).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import { expandRules } from '../../../src/admission/rules.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { overrideGuardValidator } from '../../../src/admission/validators/override-guard.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { ADMIN, ALICE, context, cordonRequest, evictionRequest, harvesterUpgradeRequest, nodeObject, request } from '../../support/admission.ts';
import type { volume} from '../../support/fixtures.ts';
import { detachedVolume, harvesterUpgrade, harvesterUpgradePlan, localPV, longhornNode, node, pod, pvc, replica, volumeWithReplicas } from '../../support/fixtures.ts';

const config = defaultConfig();

function modelWith(setup: (model: ClusterModel) => void): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  setup(model);
  return model;
}

function addVolume(model: ClusterModel, v: { volume: ReturnType<typeof volume>; replicas: ReturnType<typeof replica>[] }): void {
  model.upsert('longhornVolume', v.volume);
  for (const r of v.replicas) {
    model.upsert('longhornReplica', r);
    // Longhorn knows every node that holds a replica (an unknown node is itself a health finding).
    if (!model.longhornNode(r.nodeID)) model.upsert('longhornNode', longhornNode({ name: r.nodeID }));
  }
}

function withMode(base: Config, check: keyof Config['checks'], mode: 'enforce' | 'warn' | 'off'): Config {
  return { ...base, checks: { ...base.checks, [check]: { mode } } };
}

describe('declarations', () => {
  it('every validator has a unique name and target', () => {
    const declarations = createValidators(config).map((v) => v.declaration);
    expect(new Set(declarations.map((d) => d.name)).size).toBe(declarations.length);
    expect(new Set(declarations.map((d) => d.target)).size).toBe(declarations.length);
    expect(declarations.map((d) => d.target)).toEqual([
      'upgrade',
      'node-cordon',
      'pod-eviction',
      'helm-release',
      'statefulset',
      'pvc-delete',
      'owner-delete',
      'overrides',
      'override-writer',
      'pod-delete',
      'machine',
      'storage-teardown',
      'longhorn-settings',
      'storage-upgrade',
    ]);
  });
  it('the upgrade rules follow the configured kinds', () => {
    const rules = expandRules(upgradeValidator(config).declaration.rules, config.upgrades.kinds);
    expect(rules.map((r) => `${r.apiGroups[0]}/${r.resources[0]}`)).toEqual(config.upgrades.kinds.map((k) => `${k.group}/${k.resource}`));
  });
});

describe('node cordon', () => {
  const validator = nodeCordonValidator(config);
  const model = modelWith((m) => {
    addVolume(m, volumeWithReplicas('vol-last', ['node-1', 'node-2'], {}, {}));
    // Only the node-1 replica of vol-last is healthy.
    m.upsert('longhornReplica', replica({ volumeName: 'vol-last', nodeID: 'node-2', failedAt: '2024-05-02T10:00:00Z' }));
    addVolume(m, volumeWithReplicas('vol-safe', ['node-1', 'node-2', 'node-3']));
    m.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'node-3', claimName: 'db-data' }));
    m.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-local' }));
    m.upsert('pod', pod({ name: 'db-0', nodeName: 'node-3', claimNames: ['db-data'] }));
  });

  it('passes every node update that is not a cordon', () => {
    const uncordon = cordonRequest('node-1');
    const decision = validator.handle({ ...uncordon, object: nodeObject('node-1', false), oldObject: nodeObject('node-1', true) }, context(model));
    expect(decision.allowed).toBe(true);
    const relabel = { ...uncordon, object: nodeObject('node-1', true), oldObject: nodeObject('node-1', true) };
    expect(validator.handle(relabel, context(model)).allowed).toBe(true);
  });

  it('denies the cordon of the node with the last healthy replica, naming the volume and its claim', () => {
    const decision = validator.handle(cordonRequest('node-1'), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('[last-replica-on-node]');
    expect(decision.status!.message).toContain('longhorn-system/vol-last');
    expect(decision.status!.message).toContain('default/vol-last-claim');
    expect(decision.status!.message).not.toContain('vol-safe');
  });

  it('denies the cordon of a node with a local PV in use, naming the pod', () => {
    const decision = validator.handle(cordonRequest('node-3'), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('[node-local-volume]');
    expect(decision.status!.message).toContain('pv-local');
    expect(decision.status!.message).toContain('default/db-0');
  });

  it('allows a node with nothing at risk', () => {
    expect(validator.handle(cordonRequest('node-9'), context(model)).allowed).toBe(true);
  });

  it('honors a stored skip annotation and counts it', () => {
    const annotations = {
      'volume-guard.io/skip': 'node-local-volume',
      'volume-guard.io/skip-reason': 'data backed up',
      'volume-guard.io/skip-by': 'admin',
    };
    const decision = validator.handle(cordonRequest('node-3', annotations, ALICE, annotations), context(model));
    expect(decision.allowed).toBe(true);
    expect(decision.overrides).toEqual(['node-local-volume']);
    expect(decision.auditAnnotations?.['override-reason']).toBe('data backed up');
    expect(decision.auditAnnotations?.['override-writer']).toBe('admin');
  });

  it('ignores a stored skip annotation with no recorded writer, or past its skip-until', () => {
    const unsigned = { 'volume-guard.io/skip': 'node-local-volume' };
    const noWriter = validator.handle(cordonRequest('node-3', unsigned, ALICE, unsigned), context(model));
    expect(noWriter.allowed).toBe(false);
    expect(noWriter.warnings?.join(' ')).toContain('no writer recorded');
    const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
    const expiring = { ...unsigned, 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-until': iso(-1000) };
    const expired = validator.handle(cordonRequest('node-3', expiring, ALICE, expiring), context(model));
    expect(expired.allowed).toBe(false);
    expect(expired.warnings?.join(' ')).toContain(`expired at ${expiring['volume-guard.io/skip-until']}`);
    const garbled = { ...expiring, 'volume-guard.io/skip-until': 'next week' };
    const unreadable = validator.handle(cordonRequest('node-3', garbled, ALICE, garbled), context(model));
    expect(unreadable.allowed).toBe(false);
    expect(unreadable.warnings?.join(' ')).toContain('not an RFC 3339 time');
    const later = { ...expiring, 'volume-guard.io/skip-until': iso(3_600_000) };
    const honored = validator.handle(cordonRequest('node-3', later, ALICE, later), context(model));
    expect(honored.allowed).toBe(true);
    expect(honored.auditAnnotations?.['override-until']).toBe(later['volume-guard.io/skip-until']);
  });

  it('ignores a skip annotation added in the same request by a user who may not write overrides', () => {
    const decision = validator.handle(cordonRequest('node-3', { 'volume-guard.io/skip': '*' }, ALICE, {}), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.warnings?.join(' ')).toContain('alice may not write overrides');
    const byAdmin = validator.handle(cordonRequest('node-3', { 'volume-guard.io/skip': '*' }, ADMIN, {}), context(model));
    expect(byAdmin.allowed).toBe(true);
  });

  it('warn mode lets the cordon through with warnings', () => {
    const decision = nodeCordonValidator(config).handle(cordonRequest('node-3'), context(model, { config: withMode(config, 'node-local-volume', 'warn') }));
    expect(decision.allowed).toBe(true);
    expect(decision.warnings?.join('\n')).toContain('pv-local');
  });

  it('denies by the stale policy when the model is stale, unless skip=* is honored', () => {
    const stale = { synced: () => true, staleResources: () => ['pods'] };
    const decision = validator.handle(cordonRequest('node-9'), context(model, { health: stale }));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('stale (pods)');
    const all = { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin' };
    expect(validator.handle(cordonRequest('node-9', all, ADMIN, all), context(model, { health: stale })).allowed).toBe(true);
    const unsigned = { 'volume-guard.io/skip': '*' };
    expect(validator.handle(cordonRequest('node-9', unsigned, ADMIN, unsigned), context(model, { health: stale })).allowed).toBe(false);
    const allowPolicy = { ...config, model: { ...config.model, stalePolicy: 'allow' as const } };
    expect(validator.handle(cordonRequest('node-9'), context(model, { health: stale, config: allowPolicy })).allowed).toBe(true);
  });

  it('before the first sync, says the view is not synced yet (not a stale list with brackets doubled)', () => {
    const unsynced = { synced: () => false, staleResources: () => [] };
    const message = validator.handle(cordonRequest('node-9'), context(model, { health: unsynced })).status?.message ?? '';
    expect(message).toContain("volume-guard's view of the cluster is not synced yet, so the risk of data loss is unknown");
    expect(message).not.toContain('((');
  });
});

describe('pod eviction', () => {
  const validator = podEvictionValidator(config);
  const model = modelWith((m) => {
    // The pods' node exists: a pod whose Node object is gone is deleted by the pod garbage collector anyway.
    m.upsert('node', node({ name: 'node-1' }));
    m.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'node-1', claimName: 'db-data' }));
    m.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-local' }));
    m.upsert('pod', pod({ name: 'db-0', nodeName: 'node-1', claimNames: ['db-data'] }));
    m.upsert('pod', pod({ name: 'web-0', nodeName: 'node-1', claimNames: [] }));
    addVolume(m, volumeWithReplicas('pv-lh', ['node-1'], { numberOfReplicas: 1 }));
    m.upsert('persistentVolumeClaim', pvc({ name: 'lh-data', volumeName: 'pv-lh' }));
    m.upsert('pod', pod({ name: 'app-0', nodeName: 'node-1', claimNames: ['lh-data'] }));
  });
  const evict = (name: string) => evictionRequest(name);

  it('denies evicting a pod whose local PV stays on the node', () => {
    const decision = validator.handle(evict('db-0'), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('pv-local');
  });
  it('denies evicting a pod whose Longhorn volume has its last healthy replica on the node', () => {
    const decision = validator.handle(evict('app-0'), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('[last-replica-on-node]');
  });
  it('allows pods without such volumes, and pods it does not know', () => {
    expect(validator.handle(evict('web-0'), context(model)).allowed).toBe(true);
    expect(validator.handle(evict('nope'), context(model)).allowed).toBe(true);
  });
  it('honors the skip annotation on the node being drained', () => {
    const skip = { 'volume-guard.io/skip': 'node-local-volume,last-replica-on-node' };
    model.upsert('node', node({ name: 'node-1', annotations: { ...skip, 'volume-guard.io/skip-by': 'admin' } }));
    expect(validator.handle(evict('db-0'), context(model)).allowed).toBe(true);
    model.upsert('node', node({ name: 'node-1', annotations: skip }));
    expect(validator.handle(evict('db-0'), context(model)).allowed).toBe(false);
    model.upsert('node', node({ name: 'node-1', annotations: {} }));
    expect(validator.handle(evict('db-0'), context(model)).allowed).toBe(false);
  });
});

describe('upgrade', () => {
  const validator = upgradeValidator(config);
  const upgrade = harvesterUpgradeRequest;

  it('denies with a detached single-replica volume; the Harvester annotation skips it', () => {
    const model = modelWith((m) => addVolume(m, volumeWithReplicas('vol-d', ['node-1'], { state: 'detached', robustness: 'unknown', currentNodeID: '', numberOfReplicas: 1 })));
    const decision = validator.handle(upgrade(), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('vol-d');
    const skipped = validator.handle(upgrade({ 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' }), context(model));
    expect(skipped.allowed).toBe(true);
    // Only exactly "true" counts.
    expect(validator.handle(upgrade({ 'harvesterhci.io/skipSingleReplicaDetachedVol': 'yes' }), context(model)).allowed).toBe(false);
  });

  it('says so when the Harvester annotation holds another value than "true" (Harvester\'s older validator took any)', () => {
    const model = modelWith((m) => addVolume(m, volumeWithReplicas('vol-d', ['node-1'], { state: 'detached', robustness: 'unknown', currentNodeID: '', numberOfReplicas: 1 })));
    for (const value of ['True', 'yes', '1']) {
      const decision = validator.handle(upgrade({ 'harvesterhci.io/skipSingleReplicaDetachedVol': value }), context(model));
      expect(decision.allowed).toBe(false);
      expect(decision.warnings).toContain(`volume-guard: harvesterhci.io/skipSingleReplicaDetachedVol="${value}" has no effect: only "true" is honored`);
    }
    // "true" (honored) and an empty value (Harvester's own "not set") say nothing of it.
    for (const value of ['true', '']) {
      const decision = validator.handle(upgrade({ 'harvesterhci.io/skipSingleReplicaDetachedVol': value }), context(model));
      expect((decision.warnings ?? []).join('\n')).not.toContain('has no effect');
    }
  });

  /** A system-upgrade-controller Plan CREATE in cattle-system, by Harvester's controller unless `username` says otherwise. */
  const sucPlan = (labels: Record<string, string>, fields: { name?: string; username?: string; spec: Record<string, unknown> }) =>
    request({
      kind: { group: 'upgrade.cattle.io', version: 'v1', kind: 'Plan' },
      resource: { group: 'upgrade.cattle.io', version: 'v1', resource: 'plans' },
      operation: 'CREATE',
      namespace: 'cattle-system',
      name: fields.name ?? 'p',
      userInfo: { username: fields.username ?? 'system:serviceaccount:harvester-system:harvester', groups: ['system:serviceaccounts'] },
      object: {
        apiVersion: 'upgrade.cattle.io/v1',
        kind: 'Plan',
        metadata: { name: fields.name ?? 'p', namespace: 'cattle-system', labels },
        spec: fields.spec,
      },
    });

  it("passes the system-upgrade-controller Plans a Harvester Upgrade creates for itself (judged at the Upgrade's creation)", () => {
    // Harvester's upgrade controller creates <upgrade>-prepare (image preload on every node, no cordon, no drain) and
    // its image cleanup plan in cattle-system, labelled harvesterhci.io/upgrade=<upgrade>.
    const prepare = { concurrency: 1, version: 'hvst-upgrade-1', serviceAccountName: 'system-upgrade-controller', nodeSelector: { matchLabels: { 'harvesterhci.io/managed': 'true' } } };
    const plan = (labels: Record<string, string>) => sucPlan(labels, { name: 'hvst-upgrade-1-prepare', spec: prepare });
    const model = modelWith((m) => {
      m.upsert('node', node({ name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1', 'harvesterhci.io/managed': 'true' } }));
      addVolume(m, volumeWithReplicas('vol-d', ['node-1'], { state: 'detached', robustness: 'unknown', currentNodeID: '', numberOfReplicas: 1 }));
      m.upsert('harvesterUpgrade', harvesterUpgrade({ name: 'hvst-upgrade-1', state: 'PreparingNodes' }));
    });
    const labels = { 'harvesterhci.io/upgrade': 'hvst-upgrade-1', 'harvesterhci.io/upgradeComponent': 'node' };
    expect(validator.handle(plan(labels), context(model)).allowed).toBe(true);
    // Naming no Upgrade volume-guard sees, or none at all, it is judged like any Plan.
    expect(validator.handle(plan({ 'harvesterhci.io/upgrade': 'hvst-upgrade-9' }), context(model)).allowed).toBe(false);
    expect(validator.handle(plan({}), context(model)).allowed).toBe(false);
    // The upgrade toolkit's Plans for an UpgradePlan (image-preload, node-upgrade with cordon and drain, cleanup).
    model.upsert('harvesterUpgradePlan', harvesterUpgradePlan({ name: 'hvst-upgrade-2', state: 'NodeUpgrading' }));
    const toolkit = { 'management.harvesterhci.io/upgrade-plan': 'hvst-upgrade-2', 'management.harvesterhci.io/upgrade-component': 'node-upgrade' };
    expect(validator.handle(plan(toolkit), context(model)).allowed).toBe(true);
    // Each label names its own kind: an Upgrade's label naming an UpgradePlan (or the reverse) is no step of it.
    expect(validator.handle(plan({ 'harvesterhci.io/upgrade': 'hvst-upgrade-2' }), context(model)).allowed).toBe(false);
    // Harvester makes them in cattle-system only: labelled so in another namespace, a Plan is judged like any other.
    expect(validator.handle({ ...plan(labels), namespace: 'system-upgrade' }, context(model)).allowed).toBe(false);
  });

  it('takes no label alone as proof that a Plan is a Harvester upgrade step', () => {
    const plan = (labels: Record<string, string>, fields: { username?: string; spec?: Record<string, unknown> } = {}) =>
      sucPlan(labels, { ...fields, spec: { concurrency: 1, version: 'v9', nodeSelector: {}, ...fields.spec } });
    const labels = { 'harvesterhci.io/upgrade': 'hvst-upgrade-1' };
    const drains = { cordon: true, drain: { force: true } };
    const withUpgrade = (fields: Parameters<typeof harvesterUpgrade>[0]) =>
      modelWith((m) => {
        m.upsert('node', node({ name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } }));
        addVolume(m, volumeWithReplicas('vol-d', ['node-1'], { state: 'detached', robustness: 'unknown', currentNodeID: '', numberOfReplicas: 1 }));
        m.upsert('harvesterUpgrade', harvesterUpgrade({ name: 'hvst-upgrade-1', ...fields }));
      });
    const running = withUpgrade({ state: 'UpgradingNodes' });
    expect(validator.handle(plan(labels, { spec: drains }), context(running)).allowed).toBe(true);
    // A person's Plan carrying the label is judged like any Plan.
    expect(validator.handle(plan(labels, { username: 'alice', spec: drains }), context(running)).allowed).toBe(false);
    expect(validator.handle(plan(labels, { username: 'alice' }), context(running)).allowed).toBe(false);
    // So is a service account of another namespace's (a GitOps controller applying it).
    expect(validator.handle(plan(labels, { username: 'system:serviceaccount:argocd:argocd-application-controller' }), context(running)).allowed).toBe(false);
    // An upgrade that is over passes only a Plan that neither cordons nor drains (its image cleanup).
    for (const state of ['Succeeded', 'Failed']) {
      const over = withUpgrade({ state });
      expect(validator.handle(plan(labels, { spec: drains }), context(over)).allowed, state).toBe(false);
      expect(validator.handle(plan(labels, { spec: { drain: { force: false } } }), context(over)).allowed, state).toBe(false);
      expect(validator.handle(plan(labels), context(over)).allowed, state).toBe(true);
    }
    // An Upgrade outside harvester-system is none of Harvester's.
    expect(validator.handle(plan(labels), context(withUpgrade({ namespace: 'default' }))).allowed).toBe(false);
    // An upgrade of a kind volume-guard does not police was never judged at its creation.
    const unpoliced = upgradeValidator({ ...config, upgrades: { ...config.upgrades, kinds: config.upgrades.kinds.filter((kind) => !kind.group.endsWith('harvesterhci.io')) } });
    expect(unpoliced.handle(plan(labels), context(running)).allowed).toBe(false);
  });

  it('the Harvester annotation does not skip an attached single-replica volume; volume-guard.io/skip does', () => {
    const model = modelWith((m) => {
      addVolume(m, volumeWithReplicas('vol-a', ['node-1'], { numberOfReplicas: 1 }));
      m.upsert('longhornVolume', detachedVolume({ name: 'vol-d', numberOfReplicas: 1 }));
    });
    const decision = validator.handle(upgrade({ 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' }), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('vol-a');
    expect(decision.status!.message).not.toContain('vol-d');
    expect(validator.handle(upgrade({ 'volume-guard.io/skip': 'single-replica' }), context(model)).allowed).toBe(true);
    const byAlice = validator.handle(upgrade({ 'volume-guard.io/skip': 'single-replica' }, ALICE), context(model));
    expect(byAlice.allowed).toBe(false);
  });

  it('denies on a stopped replica of an attached volume and a replica on a vanished disk', () => {
    const model = modelWith((m) => {
      addVolume(m, volumeWithReplicas('vol-s', ['node-1', 'node-2', 'node-3']));
      m.upsert('longhornReplica', replica({ volumeName: 'vol-s', nodeID: 'node-2', currentState: 'stopped' }));
    });
    const decision = validator.handle(upgrade(), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('[volume-health]');
    expect(decision.status!.message).toContain('vol-s');
    expect(decision.status!.message).toContain('node-2');
  });

  it('lists a few of thousands of risky volumes and counts the rest', () => {
    const model = modelWith((m) => {
      for (let i = 0; i < 3000; i++) addVolume(m, volumeWithReplicas(`vol-${i}`, ['node-1'], { numberOfReplicas: 1 }));
    });
    const decision = validator.handle(upgrade(), context(model));
    expect(decision.status!.message).toContain('3000 Longhorn volumes have a single copy');
    expect(decision.status!.message).toContain('and 2990 more');
  });

  it('an UPDATE that changes no version passes; one that does is checked', () => {
    const model = modelWith((m) => addVolume(m, volumeWithReplicas('vol-a', ['node-1'], { numberOfReplicas: 1 })));
    const plan = (version: string, spec: Record<string, unknown> = {}) => ({
      apiVersion: 'upgrade.cattle.io/v1',
      kind: 'Plan',
      metadata: { name: 'k3s', namespace: 'system-upgrade' },
      spec: { version, concurrency: 1, nodeSelector: {}, serviceAccountName: 'system-upgrade', ...spec },
    });
    const base = request({
      kind: { group: 'upgrade.cattle.io', version: 'v1', kind: 'Plan' },
      resource: { group: 'upgrade.cattle.io', version: 'v1', resource: 'plans' },
      operation: 'UPDATE',
      namespace: 'system-upgrade',
      name: 'k3s',
      object: plan('v1.30.1'),
      oldObject: plan('v1.30.1'),
    });
    expect(validator.handle(base, context(model)).allowed).toBe(true);
    expect(validator.handle({ ...base, object: plan('v1.31.0') }, context(model)).allowed).toBe(false);
    // The service account is in the plan's hash: every selected node is upgraded again.
    expect(validator.handle({ ...base, object: plan('v1.30.1', { serviceAccountName: 'upgrader' }) }, context(model)).allowed).toBe(false);
    expect(validator.handle({ ...base, operation: 'CREATE', oldObject: null, object: plan('v1.31.0') }, context(model)).allowed).toBe(false);
  });

  it("judges a change of a field the plan's upgrade.cattle.io/digest annotation puts in its hash, or of that list", () => {
    const model = modelWith((m) => addVolume(m, volumeWithReplicas('vol-a', ['node-1'], { numberOfReplicas: 1 })));
    const plan = (envs: unknown[], digest?: string) => ({
      apiVersion: 'upgrade.cattle.io/v1',
      kind: 'Plan',
      metadata: { name: 'k3s', namespace: 'system-upgrade', ...(digest === undefined ? {} : { annotations: { 'upgrade.cattle.io/digest': digest } }) },
      spec: { version: 'v1.30.1', concurrency: 1, nodeSelector: {}, upgrade: { image: 'rancher/k3s-upgrade', envs } },
    });
    const update = (object: unknown, oldObject: unknown) =>
      request({
        kind: { group: 'upgrade.cattle.io', version: 'v1', kind: 'Plan' },
        resource: { group: 'upgrade.cattle.io', version: 'v1', resource: 'plans' },
        operation: 'UPDATE',
        namespace: 'system-upgrade',
        name: 'k3s',
        object,
        oldObject,
      });
    const envs = [{ name: 'A', value: '1' }];
    const changed = [{ name: 'A', value: '2' }];
    // Without the annotation an env change re-runs nothing; with it, it does.
    expect(validator.handle(update(plan(changed), plan(envs)), context(model)).allowed).toBe(true);
    const refused = validator.handle(update(plan(changed, 'spec.upgrade.envs'), plan(envs, 'spec.upgrade.envs')), context(model));
    expect(refused.allowed).toBe(false);
    expect(refused.status!.message).toContain('upgrade.cattle.io/digest');
    expect(validator.handle(update(plan(envs, 'spec.upgrade.envs'), plan(envs, 'spec.upgrade.envs')), context(model)).allowed).toBe(true);
    // Adding a listed field changes the hash; listing a field that is absent writes nothing into it.
    expect(validator.handle(update(plan(envs, 'spec.upgrade.envs'), plan(envs)), context(model)).allowed).toBe(false);
    expect(validator.handle(update(plan(envs, 'spec.upgrade.missing'), plan(envs)), context(model)).allowed).toBe(true);
    // The webhook is sent every update of a plan carrying the annotation.
    expect(validator.declaration.matchConditions![0]!.expression).toContain("'upgrade.cattle.io/digest' in object.metadata.annotations");
  });

  it('Longhorn not installed: nothing to find', () => {
    const model = new ClusterModel(VOLUME_SETS);
    model.setLonghornInstalled(false);
    expect(validator.handle(upgrade(), context(model)).allowed).toBe(true);
  });
});

describe('override guard', () => {
  const validator = overrideGuardValidator(config);
  const model = modelWith(() => {});
  const annotate = (user: typeof ADMIN, next: Record<string, string>, previous: Record<string, string>) =>
    request({
      kind: { group: '', version: 'v1', kind: 'Node' },
      resource: { group: '', version: 'v1', resource: 'nodes' },
      operation: 'UPDATE',
      name: 'node-1',
      userInfo: user,
      object: nodeObject('node-1', false, next),
      oldObject: nodeObject('node-1', false, previous),
    });
  it('refuses a non-admin writing a skip annotation, naming who may', () => {
    const decision = validator.handle(annotate(ALICE, { 'volume-guard.io/skip': '*' }, {}), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('alice may not write annotation volume-guard.io/skip on Node node-1');
    expect(decision.status!.message).toContain('system:masters');
  });
  it('allows admins who record themselves as the writer, removals and unrelated writes', () => {
    const signed = validator.handle(annotate(ADMIN, { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin' }, {}), context(model));
    expect(signed.allowed).toBe(true);
    expect(signed.auditAnnotations?.['override-written']).toContain('by admin');
    expect(validator.handle(annotate(ALICE, {}, { 'volume-guard.io/skip': '*' }), context(model)).allowed).toBe(true);
    expect(validator.handle(annotate(ALICE, { team: 'a' }, {}), context(model)).allowed).toBe(true);
  });
  it("says a node's skip-evictions (read on namespaces only) has no effect, rather than checking its ids", () => {
    const written = validator.handle(
      annotate(ADMIN, { 'volume-guard.io/skip-evictions': 'node-local-volume', 'volume-guard.io/skip-by': 'admin' }, {}),
      context(model),
    );
    expect(written.allowed).toBe(true);
    expect(written.warnings?.join(' ').replace(/\s+/g, ' ')).toContain(
      'Node node-1 annotation volume-guard.io/skip-evictions has no effect: it is read on namespaces only',
    );
    expect(written.warnings?.join(' ')).not.toContain('skip-reason');
  });
  it('warns about a misspelt or mis-cased volume-guard.io key, which volume-guard never reads', () => {
    const typo = validator.handle(annotate(ALICE, { 'volume-guard.io/skipby': 'alice', 'volume-guard.io/Skip': '*' }, {}), context(model));
    expect(typo.allowed).toBe(true);
    const text = typo.warnings?.join(' ').replace(/\s+/g, ' ');
    expect(text).toContain('annotation volume-guard.io/skipby is no volume-guard key, ignored; did you mean volume-guard.io/skip-by?');
    expect(text).toContain('annotation volume-guard.io/Skip is no volume-guard key, ignored; did you mean volume-guard.io/skip?');
    // Unchanged, it is not commented on again; a key of volume-guard's is judged as before.
    const stored = { 'volume-guard.io/skipby': 'alice' };
    expect(validator.handle(annotate(ALICE, { ...stored, team: 'a' }, stored), context(model)).warnings ?? []).toEqual([]);
    expect(validator.handle(annotate(ALICE, { 'volume-guard.io/skip': '*' }, {}), context(model)).allowed).toBe(false);
  });
  it('says which check ids of a node or namespace skip no operation checks there', () => {
    const onNode = validator.handle(
      annotate(ADMIN, { 'volume-guard.io/skip': 'orphan-pvc,node-local-volume', 'volume-guard.io/skip-reason': 'x', 'volume-guard.io/skip-by': 'admin' }, {}),
      context(model),
    );
    expect(onNode.allowed).toBe(true);
    expect(onNode.warnings?.join(' ').replace(/\s+/g, ' ')).toContain('Node node-1 volume-guard.io/skip: orphan-pvc is never checked for a Node');
    const namespaceWrite = (annotations: Record<string, string>, name = 'shop') =>
      validator.handle(
        request({
          kind: { group: '', version: 'v1', kind: 'Namespace' },
          resource: { group: '', version: 'v1', resource: 'namespaces' },
          operation: 'UPDATE',
          name,
          namespace: name,
          userInfo: ADMIN,
          object: { metadata: { name, annotations: { ...annotations, 'volume-guard.io/skip-reason': 'x', 'volume-guard.io/skip-by': 'admin' } } },
          oldObject: { metadata: { name } },
        }),
        context(model),
      ).warnings?.join(' ').replace(/\s+/g, ' ') ?? '';
    expect(namespaceWrite({ 'volume-guard.io/skip': 'node-local-volume' })).toContain(
      'Namespace shop volume-guard.io/skip: node-local-volume is never checked for a Namespace; evictions of its pods read volume-guard.io/skip-evictions',
    );
    expect(namespaceWrite({ 'volume-guard.io/skip-evictions': 'orphan-pvc' })).toContain('volume-guard.io/skip-evictions: orphan-pvc is never checked');
    // Where they are read: nothing said; `*` names every check.
    expect(namespaceWrite({ 'volume-guard.io/skip': 'orphan-pvc,pvc-delete', 'volume-guard.io/skip-evictions': 'node-local-volume' })).not.toContain('never checked');
    expect(namespaceWrite({ 'volume-guard.io/skip': 'storage-teardown' }, 'longhorn-system')).not.toContain('never checked');
    expect(namespaceWrite({ 'volume-guard.io/skip': '*' })).not.toContain('never checked');
  });
  it('requires volume-guard.io/skip-by equal to the requesting user on every override write', () => {
    const missing = validator.handle(annotate(ADMIN, { 'volume-guard.io/skip': '*' }, {}), context(model));
    expect(missing.allowed).toBe(false);
    expect(missing.status!.message).toContain('volume-guard.io/skip-by=admin');
    const forged = validator.handle(annotate(ADMIN, { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'bob' }, {}), context(model));
    expect(forged.allowed).toBe(false);
    expect(forged.status!.message).toContain('it says "bob"');
    // Changing only the writer is a write of an override key too: it must name the requester.
    const stored = { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin' };
    expect(validator.handle(annotate(ADMIN, { ...stored, 'volume-guard.io/skip-by': 'bob' }, stored), context(model)).allowed).toBe(false);
    // Extending the expiry is too.
    const extended = { ...stored, 'volume-guard.io/skip-until': '2099-01-01T00:00:00Z' };
    expect(validator.handle(annotate(ALICE, extended, stored), context(model)).allowed).toBe(false);
  });
  it('polices the removal of skip-until while the override stays: it would make the override count for good', () => {
    const expired = { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-until': '2020-01-01T00:00:00Z' };
    const { 'volume-guard.io/skip-until': _until, ...revived } = expired;
    const byAlice = validator.handle(annotate(ALICE, revived, expired), context(model));
    expect(byAlice.allowed).toBe(false);
    expect(byAlice.status!.message).toContain('alice may not write the removal of annotation volume-guard.io/skip-until on Node node-1');
    // An allowed writer may, recording themselves.
    expect(validator.handle(annotate(ADMIN, revived, expired), context(model)).allowed).toBe(true);
    const byBob = { ...expired, 'volume-guard.io/skip-by': 'bob' };
    expect(validator.handle(annotate(ADMIN, { ...revived, 'volume-guard.io/skip-by': 'bob' }, byBob), context(model)).allowed).toBe(false);
    // Removing the whole override, or an expiry with nothing left to grant, stays free.
    expect(validator.handle(annotate(ALICE, {}, expired), context(model)).allowed).toBe(true);
    expect(validator.handle(annotate(ALICE, { 'volume-guard.io/skip-by': 'admin' }, expired), context(model)).allowed).toBe(true);
    // The webhook is called for it at all.
    expect(validator.declaration.matchConditions![0]!.expression).toContain("'volume-guard.io/skip-until', 'volume-guard.io/skip-reason'].exists(k, k in oldObject.metadata.annotations && !(k in object.metadata.annotations))");
  });
  it('polices the removal of skip-reason while the override stays: the audit would lose why it was given', () => {
    const stored = { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-reason': 'INC-42 disk swap' };
    const { 'volume-guard.io/skip-reason': _reason, ...stripped } = stored;
    const byAlice = validator.handle(annotate(ALICE, stripped, stored), context(model));
    expect(byAlice.allowed).toBe(false);
    expect(byAlice.status!.message).toContain('alice may not write the removal of annotation volume-guard.io/skip-reason on Node node-1');
    // Removing the whole override stays free.
    expect(validator.handle(annotate(ALICE, {}, stored), context(model)).allowed).toBe(true);
  });
  it('is called for namespaces/finalize too, which stores the metadata it is sent', () => {
    const resources = validator.declaration.rules.flatMap((rule) => ('resources' in rule ? rule.resources : []));
    expect(resources).toContain('namespaces/finalize');
  });
  it('refuses an unreadable skip-until and warns about one already past', () => {
    const base = { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin' };
    const bad = validator.handle(annotate(ADMIN, { ...base, 'volume-guard.io/skip-until': 'tomorrow' }, {}), context(model));
    expect(bad.allowed).toBe(false);
    expect(bad.status!.message).toContain('RFC 3339');
    for (const value of ['2026-02-30T00:00:00Z', '2026-01-01T00:00:00', '2026-01-01']) {
      expect(validator.handle(annotate(ADMIN, { ...base, 'volume-guard.io/skip-until': value }, {}), context(model)).allowed).toBe(false);
    }
    const past = validator.handle(annotate(ADMIN, { ...base, 'volume-guard.io/skip-until': '2000-01-01T00:00:00Z' }, {}), context(model));
    expect(past.allowed).toBe(true);
    expect(past.warnings?.join(' ')).toContain('has passed');
  });
  it("polices Harvester's skipSingleReplicaDetachedVol on an Upgrade: it waives the detached volumes at every drain", () => {
    const upgrade = (user: typeof ADMIN, next: Record<string, string>, previous: Record<string, string> | undefined) =>
      request({
        kind: { group: 'harvesterhci.io', version: 'v1beta1', kind: 'Upgrade' },
        resource: { group: 'harvesterhci.io', version: 'v1beta1', resource: 'upgrades' },
        operation: previous === undefined ? 'CREATE' : 'UPDATE',
        namespace: 'harvester-system',
        name: 'hvst-upgrade-1',
        userInfo: user,
        object: { apiVersion: 'harvesterhci.io/v1beta1', kind: 'Upgrade', metadata: { name: 'hvst-upgrade-1', namespace: 'harvester-system', annotations: next } },
        oldObject:
          previous === undefined
            ? null
            : { apiVersion: 'harvesterhci.io/v1beta1', kind: 'Upgrade', metadata: { name: 'hvst-upgrade-1', namespace: 'harvester-system', annotations: previous } },
      });
    const skip = { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' };
    // Added to a running upgrade by someone who may not write overrides: refused (Harvester reads it only at creation).
    const added = validator.handle(upgrade(ALICE, skip, {}), context(model));
    expect(added.allowed).toBe(false);
    expect(added.status!.message).toContain('alice may not write annotation harvesterhci.io/skipSingleReplicaDetachedVol on Upgrade harvester-system/hvst-upgrade-1');
    expect(validator.handle(upgrade(ALICE, skip, undefined), context(model)).allowed).toBe(false);
    // An allowed writer sets it as Harvester's UI does, without skip-by; the write is audited.
    const byAdmin = validator.handle(upgrade(ADMIN, skip, undefined), context(model));
    expect(byAdmin.allowed).toBe(true);
    expect(byAdmin.auditAnnotations?.['override-written']).toContain('harvesterhci.io/skipSingleReplicaDetachedVol on Upgrade harvester-system/hvst-upgrade-1 by admin');
    // Harvester's bookkeeping on an Upgrade that already carries it, and its removal, pass.
    expect(validator.handle(upgrade(ALICE, { ...skip, 'harvesterhci.io/upgradeState': 'UpgradingNodes' }, skip), context(model)).allowed).toBe(true);
    expect(validator.handle(upgrade(ALICE, {}, skip), context(model)).allowed).toBe(true);
    expect(validator.handle(upgrade(ALICE, { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'false' }, {}), context(model)).allowed).toBe(true);
    // The webhook is called for it at all.
    expect(validator.declaration.matchConditions![0]!.expression).toContain("object.metadata.annotations['harvesterhci.io/skipSingleReplicaDetachedVol'] == 'true'");
  });
  it("polices Harvester's skipSingleReplicaDetachedVol on an UpgradePlan (cluster-scoped) the same way", () => {
    const plan = (user: typeof ADMIN, next: Record<string, string>, previous: Record<string, string> | undefined) =>
      request({
        kind: { group: 'management.harvesterhci.io', version: 'v1beta1', kind: 'UpgradePlan' },
        resource: { group: 'management.harvesterhci.io', version: 'v1beta1', resource: 'upgradeplans' },
        operation: previous === undefined ? 'CREATE' : 'UPDATE',
        namespace: '',
        name: 'hvst-upgrade-2',
        userInfo: user,
        object: { apiVersion: 'management.harvesterhci.io/v1beta1', kind: 'UpgradePlan', metadata: { name: 'hvst-upgrade-2', annotations: next } },
        oldObject:
          previous === undefined
            ? null
            : { apiVersion: 'management.harvesterhci.io/v1beta1', kind: 'UpgradePlan', metadata: { name: 'hvst-upgrade-2', annotations: previous } },
      });
    const skip = { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' };
    const added = validator.handle(plan(ALICE, skip, {}), context(model));
    expect(added.allowed).toBe(false);
    expect(added.status!.message).toContain('alice may not write annotation harvesterhci.io/skipSingleReplicaDetachedVol on UpgradePlan hvst-upgrade-2');
    expect(validator.handle(plan(ALICE, skip, undefined), context(model)).allowed).toBe(false);
    expect(validator.handle(plan(ADMIN, skip, undefined), context(model)).allowed).toBe(true);
    expect(validator.handle(plan(ALICE, {}, skip), context(model)).allowed).toBe(true);
    expect(validator.declaration.matchConditions![0]!.expression).toContain("request.kind.group == 'management.harvesterhci.io' && request.kind.kind == 'UpgradePlan'");
  });
  it('with empty writer lists nobody may write overrides; mode rbac leaves it to RBAC', () => {
    const nobody = { ...config, overrides: { mode: 'listed' as const, allowedGroups: [], allowedUsers: [] } };
    const denied = overrideGuardValidator(nobody).handle(annotate(ADMIN, { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin' }, {}), context(model, { config: nobody }));
    expect(denied.allowed).toBe(false);
    expect(denied.status!.message).toContain('nobody may write overrides');
    const open = { ...config, overrides: { mode: 'rbac' as const, allowedGroups: [], allowedUsers: [] } };
    const byAlice = annotate(ALICE, { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'alice' }, {});
    expect(overrideGuardValidator(open).handle(byAlice, context(model, { config: open })).allowed).toBe(true);
  });
});

// Issue 12.9: Harvester's drains during an upgrade admitted with skipSingleReplicaDetachedVol, and Longhorn's
// node-drain-policy, as the cordon and eviction validators see them.
import { describe, expect, it } from 'vitest';
import { harvesterUpgradeDraining } from '../../../src/admission/longhorn-drain.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformHarvesterUpgrade, transformHarvesterUpgradePlan, transformLonghornNode, transformLonghornVolume, transformNode } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest, NODE_KIND, request } from '../../support/admission.ts';
import {
  detachedVolume,
  failedReplica,
  harvesterUpgrade,
  harvesterUpgradePlan,
  localPV,
  longhornNode,
  longhornSetting,
  node,
  pod,
  pv,
  pvc,
  replica,
  volume,
} from '../../support/fixtures.ts';

const config = defaultConfig();
const cordon = nodeCordonValidator(config);

/** On w1: the only copy of a detached single-replica volume, and of an attached one used by pod app/db-0. */
function cluster(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.setLonghornInstalled(true);
  m.replaceAll('longhornNode', ['w1', 'w2'].map((name) => longhornNode({ name })));
  // The Kubernetes Nodes too: a pod whose Node object is gone is deleted by the pod garbage collector anyway.
  for (const name of ['w1', 'w2']) m.upsert('node', transformNode(nodeWith(name, {}))!);
  m.upsert('longhornVolume', detachedVolume({ name: 'parked', numberOfReplicas: 1, pvcNamespace: 'app', pvcName: 'parked' }));
  m.upsert('longhornReplica', replica({ volumeName: 'parked', nodeID: 'w1', currentState: 'stopped' }));
  m.upsert('longhornVolume', volume({ name: 'live', numberOfReplicas: 1, currentNodeID: 'w1', pvName: 'live', pvcNamespace: 'app', pvcName: 'db' }));
  m.upsert('longhornReplica', replica({ volumeName: 'live', nodeID: 'w1' }));
  m.upsert('persistentVolume', pv({ name: 'live', claimNamespace: 'app', claimName: 'db' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: 'app', name: 'db', volumeName: 'live' }));
  m.upsert('pod', pod({ namespace: 'app', name: 'db-0', nodeName: 'w1', claimNames: ['db'] }));
  return m;
}

function checksOf(message: string): string[] {
  return [...message.matchAll(/\[([a-z-]+)\]/g)].map((match) => match[1]!);
}

describe('Harvester upgrade drains', () => {
  it('reads the upgrade state label, the annotation and the node states', () => {
    const record = transformHarvesterUpgrade({
      metadata: {
        name: 'hvst-upgrade-x',
        namespace: 'harvester-system',
        labels: { 'harvesterhci.io/upgradeState': 'UpgradingNodes' },
        annotations: { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' },
      },
      status: { nodeStatuses: { w1: { state: 'Pre-drained' }, w2: { state: 'Images preloaded' }, w3: {} } },
    });
    expect(record).toEqual({
      kind: 'Upgrade',
      namespace: 'harvester-system',
      name: 'hvst-upgrade-x',
      skipDetached: true,
      state: 'UpgradingNodes',
      nodeStates: { w1: 'Pre-drained', w2: 'Images preloaded' },
    });
    // Harvester accepts any non-empty value; its newer toolkit, like volume-guard, only "true".
    const loose = transformHarvesterUpgrade({ metadata: { name: 'u', annotations: { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'yes' } } });
    expect(loose?.skipDetached).toBe(false);
  });

  it.each<[string, Parameters<typeof harvesterUpgrade>[0], boolean]>([
    ['node pre-drained by an UpgradingNodes upgrade with the annotation', { nodeStates: { w1: 'Pre-drained' } }, true],
    ['node being pre-drained', { nodeStates: { w1: 'Pre-draining' } }, true],
    ['node post-draining', { nodeStates: { w1: 'Post-draining' } }, true],
    ['node only preloaded (not drained yet)', { nodeStates: { w1: 'Images preloaded' } }, false],
    ['node done', { nodeStates: { w1: 'Succeeded' } }, false],
    ['another node draining', { nodeStates: { w2: 'Pre-drained' } }, false],
    ['upgrade without the annotation', { skipDetached: false, nodeStates: { w1: 'Pre-drained' } }, false],
    ['upgrade already finished', { state: 'Succeeded', nodeStates: { w1: 'Pre-drained' } }, false],
  ])('%s', (_label, fields, draining) => {
    const m = cluster();
    m.upsert('harvesterUpgrade', harvesterUpgrade(fields));
    expect(harvesterUpgradeDraining(m, 'w1') !== undefined).toBe(draining);
  });

  // Harvester's upgrade toolkit (upgrade-toolkit api/v1beta1/upgradeplan_types.go): a cluster-scoped UpgradePlan in
  // phase NodeUpgrading, each node's state in status.nodeUpgradeStatuses, spelt without hyphens or spaces.
  it('reads an UpgradePlan: its phase, its nodes and the annotation ("true" only)', () => {
    const plan = transformHarvesterUpgradePlan({
      apiVersion: 'management.harvesterhci.io/v1beta1',
      kind: 'UpgradePlan',
      metadata: { name: 'hvst-upgrade-y', annotations: { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' } },
      spec: { version: 'v1.7.0' },
      status: { currentPhase: 'NodeUpgrading', nodeUpgradeStatuses: { w1: { state: 'PreDrained' }, w2: { state: 'ImagePreloaded', reason: '' } } },
    });
    expect(plan).toEqual({
      kind: 'UpgradePlan',
      namespace: '',
      name: 'hvst-upgrade-y',
      skipDetached: true,
      state: 'NodeUpgrading',
      nodeStates: { w1: 'PreDrained', w2: 'ImagePreloaded' },
    });
    const loose = transformHarvesterUpgradePlan({ metadata: { name: 'p', annotations: { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'yes' } } });
    expect(loose?.skipDetached).toBe(false);
  });

  it.each<[string, Parameters<typeof harvesterUpgradePlan>[0], boolean]>([
    ['node pre-drained by a NodeUpgrading plan with the annotation', { nodeStates: { w1: 'PreDrained' } }, true],
    ['node being pre-drained (tainted kubevirt.io/drain)', { nodeStates: { w1: 'PreDraining' } }, true],
    ['node post-draining', { nodeStates: { w1: 'PostDraining' } }, true],
    ['node waiting for its reboot', { nodeStates: { w1: 'WaitingReboot' } }, true],
    ['node paused before its pre-drain', { nodeStates: { w1: 'UpgradePaused' } }, false],
    ['node only preloaded (not drained yet)', { nodeStates: { w1: 'ImagePreloaded' } }, false],
    ['node done', { nodeStates: { w1: 'PostDrained' } }, false],
    ['single-node upgrade (no drain)', { nodeStates: { w1: 'SingleNodeUpgrading' } }, false],
    ["the Upgrade's spelling is not the plan's", { nodeStates: { w1: 'Pre-drained' } }, false],
    ['another node draining', { nodeStates: { w2: 'PreDrained' } }, false],
    ['plan without the annotation', { skipDetached: false, nodeStates: { w1: 'PreDrained' } }, false],
    ['plan upgrading the cluster, not the nodes', { state: 'ClusterUpgrading', nodeStates: { w1: 'PreDrained' } }, false],
    ['plan cleaning up', { state: 'CleaningUp', nodeStates: { w1: 'PreDrained' } }, false],
  ])('UpgradePlan: %s', (_label, fields, draining) => {
    const m = cluster();
    m.upsert('harvesterUpgradePlan', harvesterUpgradePlan(fields));
    expect(harvesterUpgradeDraining(m, 'w1') !== undefined).toBe(draining);
  });

  it('waives the detached single-replica volume for the cordon and evictions of a node an UpgradePlan drains', () => {
    const m = cluster();
    m.upsert('harvesterUpgradePlan', harvesterUpgradePlan({ nodeStates: { w1: 'PreDrained' } }));
    const decision = cordon.handle(cordonRequest('w1'), context(m));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('longhorn-system/live');
    expect(decision.status!.message).not.toContain('longhorn-system/parked');
    expect(decision.auditAnnotations?.['override-source']).toContain('Harvester UpgradePlan hvst-upgrade-2');
    m.remove('longhornVolume', 'longhorn-system/live');
    m.remove('longhornReplica', 'longhorn-system/live-r-w1');
    expect(cordon.handle(cordonRequest('w1'), context(m)).allowed).toBe(true);
    // Rancher's drain of the cordoned node: an eviction there gets the node-wide checks, waived the same way.
    m.upsert('node', node({ name: 'w1', unschedulable: true }));
    m.upsert('pod', pod({ namespace: 'app', name: 'web-0', nodeName: 'w1', claimNames: [] }));
    const evict = podEvictionValidator(config);
    expect(evict.handle(evictionRequest('web-0', { namespace: 'app' }), context(m)).allowed).toBe(true);
    m.remove('harvesterUpgradePlan', 'hvst-upgrade-2');
    expect(evict.handle(evictionRequest('web-0', { namespace: 'app' }), context(m)).status?.message).toContain('parked');
  });

  it('waives the detached single-replica volume for the cordon of a node the upgrade drains, and nothing else', () => {
    const plain = cordon.handle(cordonRequest('w1'), context(cluster()));
    expect(plain.allowed).toBe(false);
    expect(plain.status!.message).toContain('longhorn-system/parked');

    const m = cluster();
    m.upsert('harvesterUpgrade', harvesterUpgrade({ nodeStates: { w1: 'Pre-drained' } }));
    const decision = cordon.handle(cordonRequest('w1'), context(m));
    // The attached single-replica volume is still refused, as it was for the Upgrade itself.
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('longhorn-system/live');
    expect(decision.status!.message).not.toContain('longhorn-system/parked');
    expect(decision.auditAnnotations?.['override-source']).toContain('Harvester Upgrade harvester-system/hvst-upgrade-1');

    // With only the detached volume left, Harvester's cordon passes.
    m.remove('longhornVolume', 'longhorn-system/live');
    m.remove('longhornReplica', 'longhorn-system/live-r-w1');
    const passes = cordon.handle(cordonRequest('w1'), context(m));
    expect(passes.allowed).toBe(true);
    expect(passes.warnings?.join('\n')).toContain('overridden by Harvester Upgrade');
  });
});

describe("an admin's volume-guard.io/skip on a Harvester upgrade, carried to its drains", () => {
  const ADMIN_SKIP = { 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-reason': 'INC-7', 'volume-guard.io/skip-by': 'admin' };
  /** cluster() plus, on w2, the only copy of a volume of its own; the Upgrade names single-replica, not Harvester's annotation. */
  function upgrading(fields: Parameters<typeof harvesterUpgrade>[0] = {}): ClusterModel {
    const m = cluster();
    m.upsert('longhornVolume', volume({ name: 'other', numberOfReplicas: 1, currentNodeID: 'w2', pvcNamespace: 'app', pvcName: 'other' }));
    m.upsert('longhornReplica', replica({ volumeName: 'other', nodeID: 'w2' }));
    m.upsert('harvesterUpgrade', harvesterUpgrade({ skipDetached: false, annotations: ADMIN_SKIP, nodeStates: { w1: 'Pre-drained', w2: 'Images preloaded' }, ...fields }));
    return m;
  }

  it('reads the volume-guard.io annotations of an Upgrade and an UpgradePlan', () => {
    const annotations = { ...ADMIN_SKIP, 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true', 'other.io/x': 'y' };
    expect(transformHarvesterUpgrade({ metadata: { name: 'u', namespace: 'harvester-system', annotations } })?.annotations).toEqual(ADMIN_SKIP);
    expect(transformHarvesterUpgradePlan({ metadata: { name: 'p', annotations } })?.annotations).toEqual(ADMIN_SKIP);
    expect(transformHarvesterUpgrade({ metadata: { name: 'u' } })?.annotations).toBeUndefined();
  });

  it('waives the checks it names (single-replica with last-replica-on-node) at the cordon of a node it drains, naming the upgrade', () => {
    const m = upgrading();
    const decision = cordon.handle(cordonRequest('w1'), context(m));
    expect(decision.allowed).toBe(true);
    expect(decision.auditAnnotations?.['override-source']).toBe('Harvester Upgrade harvester-system/hvst-upgrade-1 (volume-guard.io/skip, draining node w1)');
    expect(decision.auditAnnotations?.['overridden-checks']).toBe('last-replica-on-node,single-replica');
    expect(decision.auditAnnotations?.['override-writer']).toBe('admin');
    expect(decision.auditAnnotations?.['override-reason']).toBe('INC-7');
    expect(decision.warnings?.join('\n')).toContain('overridden by Harvester Upgrade harvester-system/hvst-upgrade-1');
  });

  it("carries to the evictions of Harvester's drain of that node, for every pod there", () => {
    const m = upgrading();
    m.upsert('node', node({ name: 'w1', unschedulable: true }));
    const evict = podEvictionValidator(config);
    const decision = evict.handle(evictionRequest('db-0', { namespace: 'app' }), context(m));
    expect(decision.allowed).toBe(true);
    expect(decision.auditAnnotations?.['override-source']).toContain('Harvester Upgrade harvester-system/hvst-upgrade-1 (volume-guard.io/skip');
  });

  it('waives nothing on a node the upgrade is not draining, nor once the node or the upgrade is past it', () => {
    const evict = podEvictionValidator(config);
    for (const m of [
      upgrading({ nodeStates: { w1: 'Images preloading', w2: 'Pre-drained' } }),
      upgrading({ nodeStates: { w1: 'Succeeded' } }),
      upgrading({ state: 'Succeeded' }),
      upgrading({ state: 'Failed' }),
    ]) {
      const decision = cordon.handle(cordonRequest('w1'), context(m));
      expect(decision.allowed).toBe(false);
      expect(checksOf(decision.status!.message)).toEqual(['last-replica-on-node', 'single-replica']);
      expect(evict.handle(evictionRequest('db-0', { namespace: 'app' }), context(m)).allowed).toBe(false);
    }
    // About to be drained (Images preloaded): Rancher's cordon, made before Harvester's pre-drain hook, gets the skip;
    // the evictions, which come once the node is Pre-draining, do not yet.
    const preloaded = upgrading({ nodeStates: { w1: 'Images preloaded', w2: 'Pre-drained' } });
    expect(cordon.handle(cordonRequest('w1'), context(preloaded)).allowed).toBe(true);
    expect(evict.handle(evictionRequest('db-0', { namespace: 'app' }), context(preloaded)).allowed).toBe(false);
    // The node beside the one being drained, already upgraded, keeps its own risks refused: the skip carries to w1 only.
    const m = upgrading({ nodeStates: { w1: 'Pre-drained', w2: 'Succeeded' } });
    const other = cordon.handle(cordonRequest('w2'), context(m));
    expect(other.allowed).toBe(false);
    expect(other.status!.message).toContain('longhorn-system/other');
  });

  it('counts only as a stored override does: with its skip-by, before its skip-until, from allowed writers', () => {
    const unsigned = cordon.handle(cordonRequest('w1'), context(upgrading({ annotations: { 'volume-guard.io/skip': 'single-replica' } })));
    expect(unsigned.allowed).toBe(false);
    expect(unsigned.warnings?.join('\n')).toContain('no writer recorded');
    const expired = cordon.handle(
      cordonRequest('w1'),
      context(upgrading({ annotations: { ...ADMIN_SKIP, 'volume-guard.io/skip-until': '2020-01-01T00:00:00Z' } })),
    );
    expect(expired.allowed).toBe(false);
    const nobody = defaultConfig();
    const closed = { ...nobody, overrides: { ...nobody.overrides, allowedGroups: [], allowedUsers: [] } };
    expect(cordon.handle(cordonRequest('w1'), context(upgrading(), { config: closed })).allowed).toBe(false);
  });

  it("counts only while upgrades.kinds holds the upgrade's kind: else its writes never met the override guard", () => {
    // The override guard's rules for upgrade objects are one per configured kind: with Harvester's left out, anyone
    // who may write an Upgrade writes volume-guard.io/skip (and a skip-by naming anyone) unchecked.
    const base = defaultConfig();
    const withoutHarvester = { ...base, upgrades: { ...base.upgrades, kinds: base.upgrades.kinds.filter((kind) => !kind.group.includes('harvesterhci.io')) } };
    const evict = podEvictionValidator(withoutHarvester);
    const m = upgrading();
    expect(cordon.handle(cordonRequest('w1'), context(m, { config: withoutHarvester })).allowed).toBe(false);
    m.upsert('node', node({ name: 'w1', unschedulable: true }));
    expect(evict.handle(evictionRequest('db-0', { namespace: 'app' }), context(m, { config: withoutHarvester })).allowed).toBe(false);
    // Harvester's own annotation too (its setting takes an allowed writer): the detached copy stays refused.
    const detached = cluster();
    detached.upsert('harvesterUpgrade', harvesterUpgrade({ nodeStates: { w1: 'Pre-drained' } }));
    const refused = cordon.handle(cordonRequest('w1'), context(detached, { config: withoutHarvester }));
    expect(refused.allowed).toBe(false);
    expect(refused.status!.message).toContain('longhorn-system/parked');
    expect(cordon.handle(cordonRequest('w1'), context(detached)).status!.message).not.toContain('longhorn-system/parked');
    // With only the UpgradePlan's kind left out, an Upgrade still carries its skip.
    const withoutPlan = { ...base, upgrades: { ...base.upgrades, kinds: base.upgrades.kinds.filter((kind) => kind.kind !== 'UpgradePlan') } };
    expect(cordon.handle(cordonRequest('w1'), context(upgrading(), { config: withoutPlan })).allowed).toBe(true);
  });

  it('waives only the checks it names: volume-health named alone leaves the single copies refused', () => {
    const m = upgrading({ annotations: { ...ADMIN_SKIP, 'volume-guard.io/skip': 'volume-health' } });
    const decision = cordon.handle(cordonRequest('w1'), context(m));
    expect(decision.allowed).toBe(false);
    expect(checksOf(decision.status!.message)).toEqual(['last-replica-on-node', 'single-replica']);
  });

  it('carries from an UpgradePlan too', () => {
    const m = cluster();
    m.upsert('harvesterUpgradePlan', harvesterUpgradePlan({ skipDetached: false, annotations: ADMIN_SKIP, nodeStates: { w1: 'PreDrained' } }));
    const decision = cordon.handle(cordonRequest('w1'), context(m));
    expect(decision.allowed).toBe(true);
    expect(decision.auditAnnotations?.['override-source']).toBe('Harvester UpgradePlan hvst-upgrade-2 (volume-guard.io/skip, draining node w1)');
  });
});

describe("Longhorn's node-drain-policy", () => {
  it('with block-for-eviction, says the last copies will be moved instead of refusing the cordon', () => {
    const m = cluster();
    m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
    const decision = cordon.handle(cordonRequest('w1'), context(m));
    expect(decision.allowed).toBe(true);
    const warnings = decision.warnings?.join('\n') ?? '';
    expect(warnings).toContain('node w1 holds the only copy of 2 Longhorn volume(s)');
    expect(warnings).toContain("node-drain-policy block-for-eviction moves them");
  });

  it('counts every volume whose last copy Longhorn will move, past what the checks list', () => {
    const m = cluster();
    m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
    // 30 more: 20 single-replica volumes and 10 whose other copy is on w2, reported down by Longhorn.
    for (let i = 0; i < 30; i++) {
      const name = `v${String(i).padStart(2, '0')}`;
      m.upsert('longhornVolume', volume({ name, numberOfReplicas: i < 20 ? 1 : 2, currentNodeID: 'w1' }));
      m.upsert('longhornReplica', replica({ volumeName: name, nodeID: 'w1' }));
      if (i >= 20) m.upsert('longhornReplica', replica({ volumeName: name, nodeID: 'w2' }));
    }
    m.upsert('longhornNode', longhornNode({ name: 'w2', down: true }));
    const decision = cordon.handle(cordonRequest('w1'), context(m));
    expect(decision.allowed).toBe(true);
    expect(decision.warnings?.join('\n')).toContain('node w1 holds the only copy of 32 Longhorn volume(s): PVC app/parked, PVC app/db');
    expect(decision.warnings?.join('\n')).toContain('and 27 more');
  });

  // longhorn/longhorn#8753: a strict-local volume's replica has hardNodeAffinity to its node and can never be evicted;
  // with either eviction policy the drain waits on the instance-manager PDB for good, nothing is moved.
  it('keeps refusing the last copy of a strict-local volume: Longhorn cannot move it', () => {
    for (const policy of ['block-for-eviction', 'block-for-eviction-if-contains-last-replica']) {
      const m = cluster();
      m.upsert('longhornSetting', longhornSetting('node-drain-policy', policy));
      m.upsert('longhornVolume', volume({ name: 'pinned', numberOfReplicas: 1, currentNodeID: 'w1', strictLocal: true, pvcNamespace: 'app', pvcName: 'pinned' }));
      m.upsert('longhornReplica', replica({ volumeName: 'pinned', nodeID: 'w1' }));
      const decision = cordon.handle(cordonRequest('w1'), context(m));
      expect(decision.allowed).toBe(false);
      expect(decision.status!.message).toContain('app/pinned');
      expect(decision.status!.message).not.toContain('app/parked');
      expect(decision.warnings?.join('\n')).toContain('holds the only copy of 2 Longhorn volume(s): PVC app/parked, PVC app/db');
    }
  });

  it('reads spec.dataLocality strict-local into the volume record', () => {
    expect(transformLonghornVolume({ metadata: { name: 'v' }, spec: { dataLocality: 'strict-local' } })?.strictLocal).toBe(true);
    expect(transformLonghornVolume({ metadata: { name: 'v' }, spec: { dataLocality: 'best-effort' } })?.strictLocal).toBeUndefined();
  });

  it('keeps refusing what the policy does not protect: the default policy, node-local data, unhealthy volumes', () => {
    const m = cluster();
    m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-if-contains-last-replica'));
    expect(cordon.handle(cordonRequest('w1'), context(m)).allowed).toBe(false);

    m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction-if-contains-last-replica'));
    m.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'w1', claimNamespace: 'app', claimName: 'cache' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'app', name: 'cache', volumeName: 'pv-local' }));
    m.upsert('longhornVolume', volume({ name: 'sick', robustness: 'degraded' }));
    m.upsert('longhornReplica', replica({ volumeName: 'sick', nodeID: 'w1' }));
    m.upsert('longhornReplica', replica({ volumeName: 'sick', nodeID: 'w2' }));
    const decision = cordon.handle(cordonRequest('w1'), context(m));
    expect(decision.allowed).toBe(false);
    expect(checksOf(decision.status!.message)).toEqual(['volume-health', 'node-local-volume']);
  });

  it('lets the eviction of a pod whose only copy Longhorn will move through, with the warning, once the node is cordoned', () => {
    const eviction = podEvictionValidator(config);
    const evict = evictionRequest('db-0', { namespace: 'app' });
    expect(eviction.handle(evict, context(cluster())).allowed).toBe(false);
    const m = cluster();
    m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
    m.upsert('node', transformNode(nodeWith('w1', { unschedulable: true }))!);
    const decision = eviction.handle(evict, context(m));
    expect(decision.allowed).toBe(true);
    expect(decision.warnings?.join('\n')).toContain('app/db');
  });

  // Longhorn reads the Kubernetes Node's spec.unschedulable only ("node drain policy only takes effect on cordoned
  // nodes"): on a node that is not cordoned it evicts no replica, whatever the policy.
  it('refuses an eviction from a node that is not cordoned (a drain going on past a refused cordon), or only tainted', () => {
    const eviction = podEvictionValidator(config);
    const evict = evictionRequest('db-0', { namespace: 'app' });
    for (const policy of ['block-for-eviction', 'block-for-eviction-if-contains-last-replica']) {
      const m = cluster();
      m.upsert('longhornSetting', longhornSetting('node-drain-policy', policy));
      m.upsert('node', transformNode(nodeWith('w1', {}))!);
      const uncordoned = eviction.handle(evict, context(m));
      expect(uncordoned.allowed).toBe(false);
      expect(uncordoned.warnings?.join('\n') ?? '').not.toContain('moves them');
      m.upsert('node', transformNode(nodeWith('w1', { taints: [AUTOSCALER_TAINT] }))!);
      expect(eviction.handle(evict, context(m)).allowed).toBe(false);
      m.upsert('node', transformNode(nodeWith('w1', { unschedulable: true, taints: [AUTOSCALER_TAINT] }))!);
      expect(eviction.handle(evict, context(m)).allowed).toBe(true);
    }
  });

  it("refuses an autoscaler's drain taint on a node that stays schedulable; allows it on a cordoned one", () => {
    const m = cluster();
    m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
    const taintOnly = taintRequest('w1', {}, {});
    const refused = cordon.handle(taintOnly, context(m));
    expect(refused.allowed).toBe(false);
    expect(checksOf(refused.status!.message)).toContain('single-replica');
    const onCordoned = cordon.handle(taintRequest('w1', { unschedulable: true }, { unschedulable: true }), context(m));
    expect(onCordoned.allowed).toBe(true);
    expect(onCordoned.warnings?.join('\n')).toContain('moves them');
  });

  it('refuses the cordon of a node Longhorn reports down: it cancels evictions from a down node', () => {
    const m = cluster();
    m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
    m.upsert('longhornNode', longhornNode({ name: 'w1', down: true }));
    const decision = cordon.handle(cordonRequest('w1'), context(m));
    expect(decision.allowed).toBe(false);
    expect(decision.warnings?.join('\n') ?? '').not.toContain('moves them');
  });
});

const AUTOSCALER_TAINT = { key: 'ToBeDeletedByClusterAutoscaler', value: '1733130000', effect: 'NoSchedule' };

/** A Node object as the API server serves it. */
function nodeWith(name: string, spec: { unschedulable?: boolean; taints?: unknown[] }): unknown {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec, status: { conditions: [{ type: 'Ready', status: 'True' }] } };
}

/** An UPDATE adding the autoscaler's drain taint to a Node with this spec before and after (the cordon unchanged). */
function taintRequest(name: string, before: { unschedulable?: boolean }, after: { unschedulable?: boolean }) {
  return request({ ...NODE_KIND, operation: 'UPDATE', name, object: nodeWith(name, { ...after, taints: [AUTOSCALER_TAINT] }), oldObject: nodeWith(name, before) });
}

// Longhorn evicts a replica by rebuilding a new one elsewhere from a running healthy replica of the volume: a volume
// with no copy at all (its replicas failed, or its healthy one sits on a disk Longhorn reports not ready) cannot be
// rebuilt, so no node-drain-policy moves its data; the instance-manager PodDisruptionBudget holds the drain for good,
// as under the default policy (longhorn-manager canDeleteInstanceManagerPDB / shouldEvictReplica).
describe("Longhorn's node-drain-policy cannot move a volume without a copy", () => {
  /** w1 and w2 up; `dead` is faulted: both its replicas failed after holding data, one of them on w1. */
  function faulted(): ClusterModel {
    const m = new ClusterModel(VOLUME_SETS);
    m.setLonghornInstalled(true);
    m.replaceAll('longhornNode', ['w1', 'w2'].map((name) => longhornNode({ name })));
    m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
    m.upsert('longhornVolume', detachedVolume({ name: 'dead', numberOfReplicas: 2, robustness: 'faulted', pvName: 'dead', pvcNamespace: 'app', pvcName: 'dead' }));
    m.upsert('longhornReplica', failedReplica({ volumeName: 'dead', nodeID: 'w1' }));
    m.upsert('longhornReplica', failedReplica({ volumeName: 'dead', nodeID: 'w2' }));
    return m;
  }

  it('refuses the cordon of a node holding the only data of a faulted volume, under either eviction policy', () => {
    for (const policy of ['block-for-eviction', 'block-for-eviction-if-contains-last-replica']) {
      const m = faulted();
      m.upsert('longhornSetting', longhornSetting('node-drain-policy', policy));
      const decision = cordon.handle(cordonRequest('w1'), context(m));
      expect(decision.allowed).toBe(false);
      expect(decision.status!.message).toContain('longhorn-system/dead');
      expect(decision.warnings?.join('\n') ?? '').not.toContain('moves them');
    }
  });

  it('refuses the cordon for a healthy replica on a disk Longhorn reports not ready, and still moves a real copy', () => {
    const m = faulted();
    m.remove('longhornVolume', 'longhorn-system/dead');
    m.remove('longhornReplica', 'longhorn-system/dead-r-w1');
    m.remove('longhornReplica', 'longhorn-system/dead-r-w2');
    m.upsert('longhornNode', longhornNode({ name: 'w1', diskUUIDs: ['disk-w1', 'disk-w1b'], notReadyDiskUUIDs: ['disk-w1b'] }));
    m.upsert('longhornVolume', volume({ name: 'stuck', numberOfReplicas: 1, currentNodeID: 'w1', pvcNamespace: 'app', pvcName: 'stuck' }));
    m.upsert('longhornReplica', replica({ volumeName: 'stuck', nodeID: 'w1', diskID: 'disk-w1b' }));
    m.upsert('longhornVolume', volume({ name: 'fine', numberOfReplicas: 1, currentNodeID: 'w1', pvcNamespace: 'app', pvcName: 'fine' }));
    m.upsert('longhornReplica', replica({ volumeName: 'fine', nodeID: 'w1' }));
    const decision = cordon.handle(cordonRequest('w1'), context(m));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('app/stuck');
    expect(decision.status!.message).not.toContain('app/fine');
    expect(decision.warnings?.join('\n')).toContain('holds the only copy of 1 Longhorn volume(s): PVC app/fine');
  });

  // longhorn-manager's ListVolumePDBProtectedHealthyReplicasRO takes w2's replica (healthyAt set, failedAt empty, w2
  // not cordoned, its instance manager running) for a copy, whatever its disk: block-for-eviction-if-contains-last-replica
  // evicts nothing (shouldEvictReplica) and canDeleteInstanceManagerPDB lifts w1's budget, so w1 drains with the copy.
  function pairOnBadDisk(policy: string, w2: Partial<Parameters<typeof longhornNode>[0]> = { diskUUIDs: ['disk-w2'], notReadyDiskUUIDs: ['disk-w2'] }): ClusterModel {
    const m = faulted();
    m.remove('longhornVolume', 'longhorn-system/dead');
    m.remove('longhornReplica', 'longhorn-system/dead-r-w1');
    m.remove('longhornReplica', 'longhorn-system/dead-r-w2');
    m.upsert('longhornSetting', longhornSetting('node-drain-policy', policy));
    m.upsert('longhornNode', longhornNode({ name: 'w2', ...w2 }));
    m.upsert('longhornVolume', detachedVolume({ name: 'pair', numberOfReplicas: 2, pvcNamespace: 'app', pvcName: 'pair' }));
    m.upsert('longhornReplica', replica({ volumeName: 'pair', nodeID: 'w1', currentState: 'stopped' }));
    m.upsert('longhornReplica', replica({ volumeName: 'pair', nodeID: 'w2', currentState: 'stopped' }));
    return m;
  }

  it("refuses a last copy Longhorn takes as protected by another node's replica on a disk not ready or gone", () => {
    for (const w2 of [{ diskUUIDs: ['disk-w2'], notReadyDiskUUIDs: ['disk-w2'] }, { diskUUIDs: ['disk-w2-new'] }]) {
      const decision = cordon.handle(cordonRequest('w1'), context(pairOnBadDisk('block-for-eviction-if-contains-last-replica', w2)));
      expect(decision.allowed).toBe(false);
      expect(decision.status!.message).toContain('app/pair');
      expect(decision.warnings?.join('\n') ?? '').not.toContain('moves them');
    }
    // A requested eviction under the default policy: the budget is lifted before the rebuild is done.
    const requested = pairOnBadDisk('block-if-contains-last-replica');
    requested.upsert('longhornNode', longhornNode({ name: 'w1', evictionRequested: true }));
    expect(cordon.handle(cordonRequest('w1'), context(requested)).allowed).toBe(false);
  });

  it('still moves it under block-for-eviction, or when the other node is cordoned or down (no protected replica there)', () => {
    const all = cordon.handle(cordonRequest('w1'), context(pairOnBadDisk('block-for-eviction')));
    expect(all.allowed).toBe(true);
    expect(all.warnings?.join('\n')).toContain('PVC app/pair');
    const cordoned = pairOnBadDisk('block-for-eviction-if-contains-last-replica');
    cordoned.upsert('node', transformNode(nodeWith('w2', { unschedulable: true }))!);
    expect(cordon.handle(cordonRequest('w1'), context(cordoned)).allowed).toBe(true);
    const down = pairOnBadDisk('block-for-eviction-if-contains-last-replica', { down: true });
    expect(cordon.handle(cordonRequest('w1'), context(down)).allowed).toBe(true);
  });

  it("refuses the eviction of a pod whose volume's only data is a failed replica on the cordoned node", () => {
    const m = faulted();
    m.upsert('persistentVolume', pv({ name: 'dead', claimNamespace: 'app', claimName: 'dead' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'app', name: 'dead', volumeName: 'dead' }));
    m.upsert('pod', pod({ namespace: 'app', name: 'db-0', nodeName: 'w1', claimNames: ['dead'] }));
    m.upsert('node', transformNode(nodeWith('w1', { unschedulable: true }))!);
    m.upsert('node', transformNode(nodeWith('w2', {}))!);
    const decision = podEvictionValidator(config).handle(evictionRequest('db-0', { namespace: 'app' }), context(m));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('app/dead');
    expect(decision.warnings?.join('\n') ?? '').not.toContain('moves them');
  });
});

// Longhorn moves a replica by scheduling a new one elsewhere and rebuilding it (replenishReplicas, then the replica
// scheduler's getNodeInfo: Ready and Schedulable True, spec.allowScheduling, the volume's nodeSelector tags; a disk
// with allowScheduling, no evictionRequested, Schedulable True, the volume's diskSelector tags). With no such node, or
// with concurrent-replica-rebuild-per-node-limit 0 (no rebuild at all), the instance-manager PodDisruptionBudget holds
// the drain until that changes: nothing is lost, but the answer says the drain waits.
describe("Longhorn's node-drain-policy with nowhere to move a replica", () => {
  const policyCluster = (): ClusterModel => {
    const m = cluster();
    m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
    return m;
  };
  const cordonWarnings = (m: ClusterModel): string => {
    const decision = cordon.handle(cordonRequest('w1'), context(m));
    expect(decision.allowed).toBe(true);
    return decision.warnings?.join('\n') ?? '';
  };

  it('says nothing more while another node can take the replicas', () => {
    expect(cordonWarnings(policyCluster())).not.toContain('no other Longhorn node');
  });

  it('says the drain waits when every other Longhorn node refuses replicas', () => {
    const m = policyCluster();
    m.upsert('longhornNode', longhornNode({ name: 'w2', refusesReplicas: true }));
    const warnings = cordonWarnings(m);
    expect(warnings).toContain('node-drain-policy block-for-eviction moves them');
    expect(warnings).toContain('no other Longhorn node can take a replica of PVC app/parked, PVC app/db now');
    expect(warnings).toContain('the drain waits until one can');
    for (const line of warnings.split('\n')) expect(line.length).toBeLessThanOrEqual(120);
  });

  it('names only the volumes whose nodeSelector or diskSelector no other node matches', () => {
    const m = policyCluster();
    m.upsert('longhornNode', longhornNode({ name: 'w2', tags: ['ssd'], diskTags: [['hdd'], []] }));
    m.upsert('longhornVolume', volume({ name: 'live', numberOfReplicas: 1, currentNodeID: 'w1', pvName: 'live', pvcNamespace: 'app', pvcName: 'db', nodeSelector: ['nvme'] }));
    const warnings = cordonWarnings(m);
    expect(warnings).toContain('no other Longhorn node can take a replica of PVC app/db now');
    expect(warnings).not.toContain('PVC app/parked now');
    m.upsert('longhornVolume', volume({ name: 'live', numberOfReplicas: 1, currentNodeID: 'w1', pvName: 'live', pvcNamespace: 'app', pvcName: 'db', nodeSelector: ['ssd'], diskSelector: ['fast'] }));
    expect(cordonWarnings(m)).toContain('no other Longhorn node can take a replica of PVC app/db now');
    m.upsert('longhornNode', longhornNode({ name: 'w2', tags: ['ssd'], diskTags: [['fast', 'hdd']] }));
    expect(cordonWarnings(m)).not.toContain('no other Longhorn node');
  });

  it('a node down takes no replica', () => {
    const m = policyCluster();
    m.upsert('longhornNode', longhornNode({ name: 'w2', down: true }));
    expect(cordonWarnings(m)).toContain('no other Longhorn node can take a replica of');
  });

  it('says the drain waits while replica rebuilding is disabled', () => {
    const m = policyCluster();
    m.upsert('longhornSetting', longhornSetting('concurrent-replica-rebuild-per-node-limit', '0'));
    expect(cordonWarnings(m)).toContain("Longhorn's concurrent-replica-rebuild-per-node-limit is 0, so it rebuilds no replica");
    m.upsert('longhornSetting', longhornSetting('concurrent-replica-rebuild-per-node-limit', '5'));
    expect(cordonWarnings(m)).not.toContain('rebuilds no replica');
  });

  it("a drain's eviction says it too, and a requested eviction under the default policy", () => {
    const m = policyCluster();
    m.upsert('longhornNode', longhornNode({ name: 'w2', refusesReplicas: true }));
    m.upsert('node', transformNode(nodeWith('w1', { unschedulable: true }))!);
    const decision = podEvictionValidator(config).handle(evictionRequest('db-0', { namespace: 'app' }), context(m));
    expect(decision.allowed).toBe(true);
    expect(decision.warnings?.join('\n')).toContain('no other Longhorn node can take a replica of PVC app/parked, PVC app/db now');
    m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-if-contains-last-replica'));
    m.upsert('longhornNode', longhornNode({ name: 'w1', evictionRequested: true }));
    const requested = cordon.handle(cordonRequest('w1'), context(m));
    expect(requested.allowed).toBe(true);
    expect(requested.warnings?.join('\n')).toContain('the drain waits until one can');
  });

  it('reads what the replica scheduler reads from the Longhorn node and volume', () => {
    const ready = [{ type: 'Ready', status: 'True' }, { type: 'Schedulable', status: 'True' }];
    const diskReady = { conditions: [{ type: 'Ready', status: 'True' }, { type: 'Schedulable', status: 'True' }] };
    const lhNode = (spec: Record<string, unknown>, conditions = ready, disk: Record<string, unknown> = diskReady) =>
      transformLonghornNode({
        metadata: { name: 'w2', namespace: 'longhorn-system' },
        spec: { allowScheduling: true, tags: ['ssd'], disks: { d0: { allowScheduling: true, tags: ['fast'] }, d1: { allowScheduling: true } }, ...spec },
        status: { conditions, diskStatus: { d0: { diskUUID: 'u0', ...disk }, d1: { diskUUID: 'u1', ...disk } } },
      })!;
    const open = lhNode({});
    expect(open.refusesReplicas).toBeUndefined();
    expect(open.tags).toEqual(['ssd']);
    expect(open.diskTags).toEqual([['fast'], []]);
    // Cordoned under disable-scheduling-on-cordoned-node: Longhorn's Schedulable condition is False.
    expect(lhNode({}, [ready[0]!, { type: 'Schedulable', status: 'False' }]).refusesReplicas).toBe(true);
    expect(lhNode({}, [{ type: 'Ready', status: 'False' }, ready[1]!]).refusesReplicas).toBe(true);
    expect(lhNode({ allowScheduling: false }).refusesReplicas).toBe(true);
    expect(lhNode({ disks: { d0: { allowScheduling: false }, d1: { allowScheduling: true, evictionRequested: true } } }).refusesReplicas).toBe(true);
    expect(lhNode({}, ready, { conditions: [{ type: 'Schedulable', status: 'False' }] }).refusesReplicas).toBe(true);
    expect(transformLonghornVolume({ metadata: { name: 'v' }, spec: { nodeSelector: ['ssd'], diskSelector: ['fast', ''] } })).toMatchObject({
      nodeSelector: ['ssd'],
      diskSelector: ['fast'],
    });
    expect(transformLonghornVolume({ metadata: { name: 'v' }, spec: { nodeSelector: [] } })).not.toHaveProperty('nodeSelector');
  });
});

// longhorn-manager's node controller (shouldEvictReplica) evicts every replica of a Longhorn node or disk whose
// spec.evictionRequested is true, whatever the node-drain-policy; under the default policy the instance-manager
// PodDisruptionBudget of a cordoned node stays until each replica there has a healthy replica on another schedulable
// node (canDeleteInstanceManagerPDB), so the drain completes only once the evicted copies are rebuilt.
describe('an eviction requested on the Longhorn node or disk', () => {
  it('reads spec.evictionRequested of the node and of each disk (by its status UUID)', () => {
    const record = transformLonghornNode({
      metadata: { name: 'w1', namespace: 'longhorn-system' },
      spec: { evictionRequested: true, disks: { a: { evictionRequested: true }, b: { evictionRequested: false }, c: {} } },
      status: { diskStatus: { a: { diskUUID: 'uuid-a' }, b: { diskUUID: 'uuid-b' }, c: { diskUUID: 'uuid-c' } } },
    });
    expect(record?.evictionRequested).toBe(true);
    expect(record?.evictingDiskUUIDs).toEqual(['uuid-a']);
    const plain = transformLonghornNode({ metadata: { name: 'w1' }, spec: { disks: { a: {} } }, status: { diskStatus: { a: { diskUUID: 'uuid-a' } } } });
    expect(plain).not.toHaveProperty('evictionRequested');
    expect(plain).not.toHaveProperty('evictingDiskUUIDs');
  });

  it('under the default policy, lets the cordon of a node being evicted through with a warning', () => {
    const m = cluster();
    m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-if-contains-last-replica'));
    expect(cordon.handle(cordonRequest('w1'), context(m)).allowed).toBe(false);
    m.upsert('longhornNode', longhornNode({ name: 'w1', evictionRequested: true }));
    const decision = cordon.handle(cordonRequest('w1'), context(m));
    expect(decision.allowed).toBe(true);
    // Wrapped lines, read as one text.
    const warnings = (decision.warnings ?? []).join(' ').replace(/\s+/g, ' ');
    expect(warnings).toContain('node w1 holds the only copy of 2 Longhorn volume(s): PVC app/parked, PVC app/db');
    expect(warnings).toContain('Longhorn evicts them (evictionRequested on Longhorn node w1)');
    expect(warnings).toContain('node-drain-policy block-if-contains-last-replica holds the drain until they are rebuilt');
  });

  it('moves only the volumes whose replicas there sit on a disk being evicted', () => {
    const m = cluster();
    m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-if-contains-last-replica'));
    m.upsert('longhornNode', longhornNode({ name: 'w1', diskUUIDs: ['disk-w1', 'disk-w1b'], evictingDiskUUIDs: ['disk-w1b'] }));
    m.upsert('longhornReplica', replica({ volumeName: 'parked', nodeID: 'w1', currentState: 'stopped', diskID: 'disk-w1b' }));
    const decision = cordon.handle(cordonRequest('w1'), context(m));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('app/db');
    expect(decision.status!.message).not.toContain('app/parked');
    expect(decision.warnings?.join('\n')).toContain('holds the only copy of 1 Longhorn volume(s): PVC app/parked;');
    expect(decision.warnings?.join('\n')).toContain('evictionRequested on disks of Longhorn node w1');
  });

  it('keeps refusing under a policy that lets the drain go first, without the setting, or on a node not cordoned', () => {
    for (const policy of ['always-allow', 'allow-if-replica-is-stopped', undefined]) {
      const m = cluster();
      if (policy !== undefined) m.upsert('longhornSetting', longhornSetting('node-drain-policy', policy));
      m.upsert('longhornNode', longhornNode({ name: 'w1', evictionRequested: true }));
      const decision = cordon.handle(cordonRequest('w1'), context(m));
      expect(decision.allowed).toBe(false);
      expect(decision.warnings?.join('\n') ?? '').not.toContain('Longhorn evicts them');
    }
    const m = cluster();
    m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-if-contains-last-replica'));
    m.upsert('longhornNode', longhornNode({ name: 'w1', evictionRequested: true }));
    m.upsert('node', transformNode(nodeWith('w1', {}))!);
    const evict = evictionRequest('db-0', { namespace: 'app' });
    expect(podEvictionValidator(config).handle(evict, context(m)).allowed).toBe(false);
    m.upsert('node', transformNode(nodeWith('w1', { unschedulable: true }))!);
    const drained = podEvictionValidator(config).handle(evict, context(m));
    expect(drained.allowed).toBe(true);
    expect(drained.warnings?.join('\n')).toContain('Longhorn evicts them');
  });

  it('keeps refusing a NoExecute taint and a Node DELETE: neither waits on the PodDisruptionBudget', () => {
    const m = cluster();
    m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-if-contains-last-replica'));
    m.upsert('longhornNode', longhornNode({ name: 'w1', evictionRequested: true }));
    const noExecute = request({
      ...NODE_KIND,
      operation: 'UPDATE',
      name: 'w1',
      object: nodeWith('w1', { unschedulable: true, taints: [{ key: 'maintenance', value: '', effect: 'NoExecute' }] }),
      oldObject: nodeWith('w1', { unschedulable: true }),
    });
    expect(cordon.handle(noExecute, context(m)).allowed).toBe(false);
    const remove = request({ ...NODE_KIND, operation: 'DELETE', name: 'w1', oldObject: nodeWith('w1', { unschedulable: true }) });
    expect(cordon.handle(remove, context(m)).allowed).toBe(false);
  });
});

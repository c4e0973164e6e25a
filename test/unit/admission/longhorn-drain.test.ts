// Issue 12.9: Harvester's drains during an upgrade admitted with skipSingleReplicaDetachedVol, and Longhorn's
// node-drain-policy, as the cordon and eviction validators see them.
import { describe, expect, it } from 'vitest';
import { harvesterUpgradeDraining } from '../../../src/admission/longhorn-drain.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformHarvesterUpgrade, transformLonghornVolume, transformNode } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest, NODE_KIND, request } from '../../support/admission.ts';
import {
  detachedVolume,
  harvesterUpgrade,
  localPV,
  longhornNode,
  longhornSetting,
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

// A 2-node Harvester cluster (plus witness) keeps a volume of 3 replicas (Harvester's default) degraded for good:
// with replica node anti-affinity hard (Longhorn's default), the third replica has no node to go to. Its two healthy
// copies on the two nodes are laid out exactly like a healthy volume of 2 replicas, so an upgrade rolling one node at
// a time, a cordon or a drain keeps a copy: volume-health does not refuse them. Every other degraded layout still is.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { isShortOfNodesOnly, VOLUME_COUNTS, VOLUME_HEALTH_COUNT, VOLUME_HEALTH_SET, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { volumeContext } from '../../../src/checks/affected.ts';
import { collectVolumeHealth } from '../../../src/checks/volume-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformLonghornNode, transformLonghornVolume } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, harvesterUpgradeRequest } from '../../support/admission.ts';
import { longhornSetting, node, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();

/** A Longhorn node as longhorn-manager writes it: scheduling on, one disk taking replicas. */
function longhornNodeCR(name: string, fields: { allowScheduling?: boolean; tags?: string[]; ready?: string; schedulable?: string } = {}) {
  return transformLonghornNode({
    metadata: { name, namespace: 'longhorn-system' },
    spec: { allowScheduling: fields.allowScheduling ?? true, tags: fields.tags ?? [], disks: { 'default-disk': { allowScheduling: true, evictionRequested: false, tags: [] } } },
    status: {
      conditions: [
        { type: 'Ready', status: fields.ready ?? 'True', reason: fields.ready === 'False' ? 'KubernetesNodeNotReady' : '' },
        { type: 'Schedulable', status: fields.schedulable ?? 'True' },
      ],
      diskStatus: { 'default-disk': { diskUUID: `disk-${name}`, conditions: [{ type: 'Ready', status: 'True' }, { type: 'Schedulable', status: 'True' }] } },
    },
  })!;
}

const UNSCHEDULED = { nodeID: '', diskID: '', healthyAt: '', currentState: 'stopped' };

/** Two Harvester nodes h1, h2; volume `three` (3 replicas, degraded) with a healthy copy on each, its third never placed. */
function twoNodes(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['h1', 'h2']) {
    model.upsert('node', node({ name }));
    model.upsert('longhornNode', longhornNodeCR(name));
  }
  model.upsert('longhornVolume', volume({ name: 'three', numberOfReplicas: 3, robustness: 'degraded', currentNodeID: 'h1', pvcNamespace: 'vm', pvcName: 'disk-0' }));
  model.upsert('longhornReplica', replica({ volumeName: 'three', nodeID: 'h1', diskID: 'disk-h1' }));
  model.upsert('longhornReplica', replica({ volumeName: 'three', nodeID: 'h2', diskID: 'disk-h2' }));
  model.upsert('longhornReplica', replica({ volumeName: 'three', name: 'three-r-unscheduled', ...UNSCHEDULED }));
  return model;
}

const names = (model: ClusterModel, target: Parameters<typeof collectVolumeHealth>[1]) =>
  collectVolumeHealth(model, target).findings.map((finding) => finding.object.name);

function expectRefusedEverywhere(model: ClusterModel, volumeName = 'three'): void {
  expect(isShortOfNodesOnly(model.longhornVolume(volumeName)!, volumeContext(model, volumeName))).toBe(false);
  expect(names(model, {})).toContain(volumeName);
  expect(model.volumeSetSize(VOLUME_HEALTH_SET)).toBeGreaterThan(0);
}

describe('a volume degraded only because Longhorn has no node left for its missing replicas', () => {
  it('is no volume-health finding for an upgrade, a cordon, a drain or the audit', () => {
    const model = twoNodes();
    expect(isShortOfNodesOnly(model.longhornVolume('three')!, volumeContext(model, 'three'))).toBe(true);
    expect(model.volumeSetSize(VOLUME_HEALTH_SET)).toBe(0);
    expect(model.volumeCount(VOLUME_HEALTH_COUNT, 'h1')).toBe(0);
    expect(names(model, {})).toEqual([]);
    expect(names(model, { nodes: ['h1'] })).toEqual([]);
    expect(names(model, { node: 'h1' })).toEqual([]);
    expect(names(model, { node: 'h2' })).toEqual([]);
    expect(nodeCordonValidator(config).handle(cordonRequest('h1'), context(model)).allowed).toBe(true);
    expect(upgradeValidator(config).handle(harvesterUpgradeRequest(), context(model)).allowed).toBe(true);
  });

  it('still is while a node is cordoned for the upgrade (Longhorn then takes no replica there: a passing state)', () => {
    const model = twoNodes();
    model.upsert('node', node({ name: 'h1', unschedulable: true }));
    model.upsert('longhornNode', longhornNodeCR('h1', { schedulable: 'False' }));
    expect(names(model, { node: 'h2' })).toEqual([]);
  });

  it('is refused again when a third node could take a replica, and allowed once its scheduling is turned off', () => {
    const model = twoNodes();
    model.upsert('node', node({ name: 'h3' }));
    model.upsert('longhornNode', longhornNodeCR('h3'));
    expectRefusedEverywhere(model);
    expect(names(model, { node: 'h1' })).toEqual(['three']);
    // A down or cordoned third node still counts as a place: the missing replica is a passing shortage.
    model.upsert('longhornNode', longhornNodeCR('h3', { ready: 'False', schedulable: 'False' }));
    expectRefusedEverywhere(model);
    model.upsert('longhornNode', longhornNodeCR('h3', { allowScheduling: false }));
    expect(names(model, {})).toEqual([]);
    // A third node without the volume's node tag offers it no place either.
    model.upsert('longhornNode', longhornNodeCR('h3'));
    model.upsert('longhornVolume', volume({ name: 'three', numberOfReplicas: 3, robustness: 'degraded', currentNodeID: 'h1', nodeSelector: ['ssd'] }));
    for (const name of ['h1', 'h2']) model.upsert('longhornNode', longhornNodeCR(name, { tags: ['ssd'] }));
    expect(names(model, {})).toEqual([]);
  });

  it('is refused with soft anti-affinity (Longhorn would have placed the third replica beside another)', () => {
    const model = twoNodes();
    model.upsert('longhornSetting', longhornSetting('replica-soft-anti-affinity', 'true'));
    expectRefusedEverywhere(model);
    // The volume's own setting overrides Longhorn's.
    model.upsert('longhornVolume', volume({ name: 'three', numberOfReplicas: 3, robustness: 'degraded', currentNodeID: 'h1', replicaSoftAntiAffinity: 'disabled' }));
    expect(names(model, {})).toEqual([]);
    model.upsert('longhornSetting', longhornSetting('replica-soft-anti-affinity', 'false'));
    model.upsert('longhornVolume', volume({ name: 'three', numberOfReplicas: 3, robustness: 'degraded', currentNodeID: 'h1', replicaSoftAntiAffinity: 'enabled' }));
    expectRefusedEverywhere(model);
  });

  it('keeps every real risk refused', () => {
    // A replica still rebuilding on h2: one copy only.
    let model = twoNodes();
    model.upsert('longhornReplica', replica({ volumeName: 'three', nodeID: 'h2', diskID: 'disk-h2', healthyAt: '' }));
    expectRefusedEverywhere(model);
    expect(nodeCordonValidator(config).handle(cordonRequest('h1'), context(model)).allowed).toBe(false);
    // Both healthy copies on one node.
    model = twoNodes();
    model.remove('longhornReplica', 'longhorn-system/three-r-h2');
    model.upsert('longhornReplica', replica({ volumeName: 'three', name: 'three-r-h1b', nodeID: 'h1', diskID: 'disk-h1' }));
    expectRefusedEverywhere(model);
    // The other copy's node is down.
    model = twoNodes();
    model.upsert('longhornNode', longhornNodeCR('h2', { ready: 'False' }));
    expectRefusedEverywhere(model);
    // A copy stopped while the volume is attached.
    model = twoNodes();
    model.upsert('longhornReplica', replica({ volumeName: 'three', nodeID: 'h2', diskID: 'disk-h2', currentState: 'stopped' }));
    expect(names(model, { node: 'h2' })).toEqual(['three']);
    // Faulted, and a volume of 2 replicas degraded on two nodes (Longhorn has a place for nothing more: not short).
    model = twoNodes();
    model.upsert('longhornVolume', volume({ name: 'three', numberOfReplicas: 3, robustness: 'faulted', currentNodeID: 'h1' }));
    expectRefusedEverywhere(model);
    model = twoNodes();
    model.upsert('longhornVolume', volume({ name: 'three', numberOfReplicas: 2, robustness: 'degraded', currentNodeID: 'h1' }));
    expectRefusedEverywhere(model);
    // Longhorn nodes volume-guard does not see: nothing tells that no node is left.
    model = twoNodes();
    model.remove('longhornNode', 'longhorn-system/h2');
    expectRefusedEverywhere(model);
  });

  it('reads spec.replicaSoftAntiAffinity and the placement a Longhorn node offers whatever its state', () => {
    expect(transformLonghornVolume({ metadata: { name: 'v' }, spec: { replicaSoftAntiAffinity: 'disabled' } })?.replicaSoftAntiAffinity).toBe('disabled');
    expect(transformLonghornVolume({ metadata: { name: 'v' }, spec: { replicaSoftAntiAffinity: 'ignored' } })?.replicaSoftAntiAffinity).toBeUndefined();
    expect(longhornNodeCR('x', { ready: 'False', schedulable: 'False' }).placement).toEqual({ tags: [], diskTags: [[]] });
    expect(longhornNodeCR('x', { allowScheduling: false }).placement).toBeUndefined();
  });
});

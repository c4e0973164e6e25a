// A volume degraded only because Longhorn has no node left for its missing replicas
// (isShortOfNodesOnly) is judged by the places Longhorn's replica scheduler could use. That scheduler places a v1
// volume's replica only on a `filesystem` disk and a v2 (SPDK) volume's only on a `block` disk
// (longhorn-manager scheduler/replica_scheduler.go, filterNodeDisksForReplica: isV1EngineFilesystemDisk /
// isV2EngineBlockDisk). volume-guard counted every disk taking replicas, whatever its type: a v2 volume of 3 replicas
// on a cluster where only two nodes have a block disk (every node keeps its default filesystem disk) stays degraded
// for good, laid out like a healthy volume of 2, yet volume-guard refused every cordon of its nodes and every
// upgrade for it; and the same for a v1 volume when the third node offers only a block disk.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { volumeContext } from '../../../src/checks/affected.ts';
import { isShortOfNodesOnly, VOLUME_COUNTS, VOLUME_HEALTH_SET, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { collectVolumeHealth } from '../../../src/checks/volume-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformLonghornNode, transformLonghornVolume } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, harvesterUpgradeRequest } from '../../support/admission.ts';
import { node, replica } from '../../support/fixtures.ts';

const config = defaultConfig();

type Disk = 'filesystem' | 'block';

/** A Longhorn node as longhorn-manager writes it, with one disk of each given type, all taking replicas. */
function longhornNodeCR(name: string, disks: readonly Disk[]) {
  const spec: Record<string, unknown> = {};
  const status: Record<string, unknown> = {};
  for (const type of disks) {
    const disk = `${type}-disk`;
    spec[disk] = { type, path: type === 'block' ? '/dev/nvme0n1' : '/var/lib/longhorn', allowScheduling: true, evictionRequested: false, tags: [] };
    status[disk] = { diskUUID: `${type}-${name}`, type, conditions: [{ type: 'Ready', status: 'True' }, { type: 'Schedulable', status: 'True' }] };
  }
  return transformLonghornNode({
    metadata: { name, namespace: 'longhorn-system' },
    spec: { allowScheduling: true, tags: [], disks: spec },
    status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'Schedulable', status: 'True' }], diskStatus: status },
  })!;
}

/** A volume of 3 replicas on `dataEngine`, degraded, attached to h1, as longhorn-manager writes it. */
function volumeCR(dataEngine: 'v1' | 'v2') {
  return transformLonghornVolume({
    metadata: { name: 'three', namespace: 'longhorn-system' },
    spec: { numberOfReplicas: 3, dataEngine, dataLocality: 'disabled', replicaSoftAntiAffinity: 'ignored' },
    status: { state: 'attached', robustness: 'degraded', currentNodeID: 'h1', kubernetesStatus: { namespace: 'vm', pvcName: 'disk-0', pvName: 'three' } },
  })!;
}

/**
 * Nodes h1, h2, h3 (their disks given); volume `three` with healthy copies on h1 and h2 on disks of `copyDisk` type and
 * its third replica never placed.
 */
function cluster(dataEngine: 'v1' | 'v2', copyDisk: Disk, disks: Readonly<Record<'h1' | 'h2' | 'h3', readonly Disk[]>>): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['h1', 'h2', 'h3'] as const) {
    model.upsert('node', node({ name }));
    model.upsert('longhornNode', longhornNodeCR(name, disks[name]));
  }
  model.upsert('longhornVolume', volumeCR(dataEngine));
  model.upsert('longhornReplica', replica({ volumeName: 'three', nodeID: 'h1', diskID: `${copyDisk}-h1` }));
  model.upsert('longhornReplica', replica({ volumeName: 'three', nodeID: 'h2', diskID: `${copyDisk}-h2` }));
  model.upsert('longhornReplica', replica({ volumeName: 'three', name: 'three-r-unscheduled', nodeID: '', diskID: '', healthyAt: '', currentState: 'stopped' }));
  return model;
}

const names = (model: ClusterModel, target: Parameters<typeof collectVolumeHealth>[1]) =>
  collectVolumeHealth(model, target).findings.map((finding) => finding.object.name);

function expectShortOfNodes(model: ClusterModel): void {
  expect(isShortOfNodesOnly(model.longhornVolume('three')!, volumeContext(model, 'three'))).toBe(true);
  expect(model.volumeSetSize(VOLUME_HEALTH_SET)).toBe(0);
  expect(names(model, {})).toEqual([]);
  expect(names(model, { node: 'h1' })).toEqual([]);
  expect(nodeCordonValidator(config).handle(cordonRequest('h1'), context(model)).allowed).toBe(true);
  expect(upgradeValidator(config).handle(harvesterUpgradeRequest(), context(model)).allowed).toBe(true);
}

function expectRefused(model: ClusterModel): void {
  expect(isShortOfNodesOnly(model.longhornVolume('three')!, volumeContext(model, 'three'))).toBe(false);
  expect(names(model, { node: 'h1' })).toEqual(['three']);
}

describe('a degraded volume short of nodes for its data engine (Longhorn places v1 replicas on filesystem disks, v2 on block disks)', () => {
  it('a v2 volume whose third node has no block disk is short of nodes: its cordons and upgrades are not refused', () => {
    expectShortOfNodes(cluster('v2', 'block', { h1: ['filesystem', 'block'], h2: ['filesystem', 'block'], h3: ['filesystem'] }));
  });

  it('a v1 volume whose third node offers only a block disk is short of nodes as well', () => {
    expectShortOfNodes(cluster('v1', 'filesystem', { h1: ['filesystem'], h2: ['filesystem'], h3: ['block'] }));
  });

  it('still refuses when the third node has a disk of the volume\'s type (Longhorn will rebuild there)', () => {
    expectRefused(cluster('v2', 'block', { h1: ['filesystem', 'block'], h2: ['filesystem', 'block'], h3: ['filesystem', 'block'] }));
    expectRefused(cluster('v1', 'filesystem', { h1: ['filesystem'], h2: ['filesystem'], h3: ['filesystem', 'block'] }));
  });
});

// A healthy replica is a copy only where its data can still be read: on a node that exists and is up, on a disk
// that is still there. Longhorn schedules replicas only onto nodes it knows (a Longhorn node per Kubernetes node),
// and a node that neither Kubernetes nor Longhorn knows any more was deleted with its machine: its replicas are
// records, not data. A disk reformatted or replaced during a node replacement comes back with a new UUID (seed
// 002): the replica pointing at the old one holds nothing. Counting either as a copy let the eviction of the pod
// using the one real copy pass, and named no single-replica risk at an upgrade.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { collectLastReplicaOnNode } from '../../../src/checks/last-replica-on-node.ts';
import { LAST_COPY_COUNT, SINGLE_REPLICA_SET, VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { collectSingleReplica } from '../../../src/checks/single-replica.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest, harvesterUpgradeRequest } from '../../support/admission.ts';
import { longhornNode, node, pod, pvc, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();

/** vol-a: 2 replicas, healthy, on node-1 and `other`; its pod web-0 runs on node-1 (schedulable). */
function cluster(other: string, options: { coreNode?: boolean; longhornNode?: boolean; otherDisk?: string } = {}) {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  model.upsert('node', node({ name: 'node-1' }));
  model.upsert('longhornNode', longhornNode({ name: 'node-1' }));
  if (options.coreNode ?? true) model.upsert('node', node({ name: other }));
  if (options.longhornNode ?? true) model.upsert('longhornNode', longhornNode({ name: other }));
  model.upsert('longhornVolume', volume({ name: 'vol-a', numberOfReplicas: 2, currentNodeID: 'node-1' }));
  model.upsert('longhornReplica', replica({ volumeName: 'vol-a', nodeID: 'node-1' }));
  model.upsert(
    'longhornReplica',
    replica({ volumeName: 'vol-a', nodeID: other, ...(options.otherDisk === undefined ? {} : { diskID: options.otherDisk }) }),
  );
  model.upsert('persistentVolumeClaim', pvc({ name: 'vol-a-claim', volumeName: 'vol-a' }));
  model.upsert('pod', pod({ name: 'web-0', nodeName: 'node-1', controllerKind: 'StatefulSet', claimNames: ['vol-a-claim'] }));
  return model;
}

const evict = (model: ClusterModel) => podEvictionValidator(config).handle(evictionRequest('web-0'), context(model));

describe('a replica on a node that no longer exists is no copy', () => {
  it('neither a Node nor a Longhorn node: the copy on node-1 is the last one', () => {
    const model = cluster('node-gone', { coreNode: false, longhornNode: false });
    expect(model.nodeIsUp('node-gone')).toBe(false);
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'vol-a')).toBe(true);
    expect(model.volumeCount(LAST_COPY_COUNT, 'node-1')).toBe(1);
    const findings = collectLastReplicaOnNode(model, { node: 'node-1' }).findings;
    expect(findings.map((finding) => finding.object.name)).toEqual(['vol-a']);
    expect(findings[0]?.reason).toContain('on node node-gone, which no longer exists');
  });

  it('the eviction of the pod using that last copy is refused', () => {
    const decision = evict(cluster('node-gone', { coreNode: false, longhornNode: false }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('[last-replica-on-node]');
    expect(decision.status?.message).toContain('vol-a');
  });

  it('the cordon of node-1 is refused for it, and an upgrade names it as an effective single replica', () => {
    const model = cluster('node-gone', { coreNode: false, longhornNode: false });
    const cordon = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model));
    expect(cordon.allowed).toBe(false);
    expect(cordon.status?.message).toContain('[last-replica-on-node]');
    const single = collectSingleReplica(model, {}).findings;
    expect(single.map((finding) => finding.object.name)).toEqual(['vol-a']);
    expect(single[0]?.tags).toContain('effective');
    expect(single[0]?.reason).toContain('only 1 copy, on node node-1: the others are on node node-gone, which no longer exists');
    expect(upgradeValidator(config).handle(harvesterUpgradeRequest(), context(model)).allowed).toBe(false);
  });

  it('a node only Longhorn knows (its Node not listed yet, not down) keeps its copy', () => {
    const model = cluster('node-2', { coreNode: false });
    expect(model.nodeIsUp('node-2')).toBe(true);
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'vol-a')).toBe(false);
    expect(evict(model).allowed).toBe(true);
  });

  it('a Node Longhorn has no node for, while it lists node-1, keeps none: longhorn-manager takes it as deleted', () => {
    // datastore IsNodeDownOrDeleted answers true when the Longhorn node is NotFound: the replica launches nowhere.
    const model = cluster('node-2', { longhornNode: false });
    expect(model.nodeIsUp('node-2')).toBe(false);
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'vol-a')).toBe(true);
    expect(evict(model).allowed).toBe(false);
  });

  it('follows the node going: deleting its Longhorn node makes node-1 the last copy, re-adding it undoes that', () => {
    const model = cluster('node-2');
    expect(evict(model).allowed).toBe(true);
    model.remove('longhornNode', 'longhorn-system/node-2');
    expect(model.volumeCount(LAST_COPY_COUNT, 'node-1')).toBe(1);
    model.remove('node', 'node-2');
    expect(model.volumeCount(LAST_COPY_COUNT, 'node-1')).toBe(1);
    expect(evict(model).allowed).toBe(false);
    model.upsert('node', node({ name: 'node-2' }));
    expect(model.volumeCount(LAST_COPY_COUNT, 'node-1')).toBe(1);
    model.upsert('longhornNode', longhornNode({ name: 'node-2' }));
    expect(model.volumeCount(LAST_COPY_COUNT, 'node-1')).toBe(0);
    expect(evict(model).allowed).toBe(true);
  });
});

describe('a replica whose disk is gone from its node is no copy', () => {
  it('the disk UUID is not among node-2 disks: node-1 holds the last copy, its pod may not be evicted', () => {
    const model = cluster('node-2', { otherDisk: 'disk-reformatted-away' });
    expect(model.nodeIsUp('node-2')).toBe(true);
    expect(model.nodeIsUp('node-2', 'disk-reformatted-away')).toBe(false);
    expect(model.volumeCount(LAST_COPY_COUNT, 'node-1')).toBe(1);
    const decision = evict(model);
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('on node node-2, on disk disk-reformatted-away that is gone');
    // node-2 itself holds nothing to lose: its cordon is refused only for the volume's health (seed 002).
    const onNode2 = nodeCordonValidator(config).handle(cordonRequest('node-2'), context(model));
    expect(onNode2.status?.message).toContain('[volume-health]');
    expect(onNode2.status?.message).not.toContain('[last-replica-on-node]');
  });

  it('the disk back (same UUID): two copies again', () => {
    const model = cluster('node-2', { otherDisk: 'disk-x' });
    expect(evict(model).allowed).toBe(false);
    model.upsert('longhornNode', longhornNode({ name: 'node-2', diskUUIDs: ['disk-node-2', 'disk-x'] }));
    expect(model.volumeCount(LAST_COPY_COUNT, 'node-1')).toBe(0);
    expect(evict(model).allowed).toBe(true);
  });
});

describe('a Longhorn node that reports no disk yet', () => {
  it('says nothing about its replicas: they still count as copies', () => {
    const model = cluster('node-2');
    model.upsert('longhornNode', longhornNode({ name: 'node-2', diskUUIDs: [] }));
    expect(model.nodeIsUp('node-2', 'disk-node-2')).toBe(true);
    expect(model.volumeCount(LAST_COPY_COUNT, 'node-1')).toBe(0);
    expect(evict(model).allowed).toBe(true);
  });
});

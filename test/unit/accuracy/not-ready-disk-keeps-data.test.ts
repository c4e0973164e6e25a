// A disk Longhorn reports not ready keeps its replicas' data as far as volume-guard can tell.
// longhorn-manager controller/node_controller.go, findNotReadyAndReadyDiskMaps: when a disk's config file is missing
// ("Disk %v(%v) on node %v is not ready: cannot find disk config file, maybe due to a mount error") the disk turns
// Ready=False (DiskFilesystemChanged) and the diskUUID it recorded stays in status.diskStatus. Mounted again, the disk
// is Ready with the same UUID and its replicas are back. A disk reformatted in place has no config file either, and is
// reported alike: volume-guard cannot tell the two apart. So a replica there is no copy (it cannot serve), but its node
// is tied to the volume (the newest data may be there), and so are the failed replicas auto-salvage would bring back
// (all that is left if the disk was reformatted). Only a UUID gone from the node loses the data for sure.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { collectReplicaDeletion } from '../../../src/checks/storage-teardown.ts';
import { collectSingleReplica } from '../../../src/checks/single-replica.ts';
import { dataNodes, VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, request } from '../../support/admission.ts';
import { detachedVolume, failedReplica, longhornNode, node, replica } from '../../support/fixtures.ts';

const config = defaultConfig();

function cluster(notReady = true) {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['node-1', 'node-2', 'node-3']) {
    model.upsert('node', node({ name }));
    // node-1 rebooted and its data disk did not mount: Longhorn keeps its UUID and reports it not ready.
    model.upsert('longhornNode', longhornNode({ name, ...(name === 'node-1' && notReady ? { notReadyDiskUUIDs: ['disk-node-1'] } : {}) }));
  }
  model.upsert('longhornVolume', detachedVolume({ name: 'vol-a', numberOfReplicas: 2 }));
  // Healthy since 2024-05-01, never failed: the newest data, on the unmounted disk.
  model.upsert('longhornReplica', replica({ volumeName: 'vol-a', nodeID: 'node-1', currentState: 'stopped', desireState: 'stopped' }));
  // Failed on 2024-04-01, a month before: stale, but what auto-salvage brings back if node-1's disk was reformatted.
  model.upsert('longhornReplica', failedReplica({ volumeName: 'vol-a', nodeID: 'node-2', failedAt: '2024-04-01T00:00:00Z' }));
  return model;
}

const nodeDelete = (name: string) =>
  request({
    kind: { group: '', version: 'v1', kind: 'Node' },
    resource: { group: '', version: 'v1', resource: 'nodes' },
    operation: 'DELETE',
    name,
    oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name } },
  });

describe('a healthy replica on a disk Longhorn reports not ready', () => {
  it('is no copy, but its data is kept', () => {
    const model = cluster();
    expect(model.nodeIsUp('node-1', 'disk-node-1')).toBe(false);
    expect(model.replicaData('node-1', 'disk-node-1')).toBe('unsure');
    // A UUID gone from the node: the data is gone.
    expect(model.replicaData('node-1', 'disk-node-1-old')).toBe('gone');
    expect(model.replicaData('node-2', 'disk-node-2')).toBe('kept');
  });

  it('ties the volume to its node and to the node of the failed replica auto-salvage would bring back', () => {
    const model = cluster();
    const data = (name: string, disk?: string) => model.replicaData(name, disk);
    expect(dataNodes(model.replicasOfVolume('vol-a'), (name, disk) => model.nodeIsUp(name, disk), data)).toEqual(['node-1', 'node-2']);
    expect(collectSingleReplica(model, { node: 'node-1' }).findings.map((f) => f.object.name)).toEqual(['vol-a']);
    expect(collectSingleReplica(model, { node: 'node-2' }).findings.map((f) => f.object.name)).toEqual(['vol-a']);
  });

  it('refuses the Node DELETE of the node holding it', () => {
    const decision = nodeCordonValidator(config).handle(nodeDelete('node-1'), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('vol-a');
  });

  it('refuses the cordon of the node holding it, and says where the data may be', () => {
    const decision = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(cluster()));
    expect(decision.allowed).toBe(false);
    const message = decision.status?.message ?? '';
    expect(message).toContain('its healthy replica is on node node-1, on disk disk-node-1 that Longhorn reports not ready');
    expect(message.replace(/\s+/g, ' ')).toContain('older data in failed replicas on node node-2');
    // Nothing to rebuild from: the advice is the disk back, not a rebuild or a higher replica count.
    expect(message).toContain('bring back the node or disk holding its healthy replica');
    expect(message).toContain('mount it again');
    expect(message).not.toContain('wait until Longhorn has rebuilt');
    expect(message).not.toContain('its only copy is on');
    expect(message).toContain('no copy left: its data waits on nodes or disks that are down or not ready');
  });

  it('still refuses the cordon of the node holding the older failed replica (the disk may have been reformatted)', () => {
    expect(nodeCordonValidator(config).handle(cordonRequest('node-2'), context(cluster())).allowed).toBe(false);
  });

  it('refuses a DELETE of the older failed replica', () => {
    const model = cluster();
    const target = model.replicasOfVolume('vol-a').find((r) => r.nodeID === 'node-2')!;
    const findings = collectReplicaDeletion(model, { replica: target }).findings;
    expect(findings.map((f) => f.reason)).toEqual([
      `replica ${target.name} on node node-2 holds the only data sure to be left (the healthy replicas are on disks Longhorn reports not ready)`,
    ]);
  });

  it('once the disk is mounted again, the healthy replica is the copy and the stale failed one ties nothing', () => {
    const model = cluster(false);
    expect(collectSingleReplica(model, { node: 'node-2' }).findings).toEqual([]);
    expect(nodeCordonValidator(config).handle(cordonRequest('node-2'), context(model)).allowed).toBe(true);
    expect(nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model)).allowed).toBe(false);
  });

  it('a healthy replica on a ready disk of a down node hides the stale failed one, as before', () => {
    const model = cluster(false);
    model.upsert('node', node({ name: 'node-1', ready: 'Unknown' }));
    expect(collectSingleReplica(model, { node: 'node-2' }).findings).toEqual([]);
    expect(collectSingleReplica(model, { node: 'node-1' }).findings.map((f) => f.object.name)).toEqual(['vol-a']);
  });
});

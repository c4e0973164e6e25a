// A first list into an empty store takes a bulk path (each index built once): it must leave the model exactly as
// writing the same records one by one does, whatever kinds arrive in which order.
import { describe, expect, it } from 'vitest';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { RESOURCE_KINDS, type ModelSink, type RecordByKind, type ResourceKind } from '../../../src/cluster/records.ts';
import { SMALL_CLUSTER, syntheticCluster } from '../../support/fixtures.ts';

type Lists = { kind: ResourceKind; records: readonly RecordByKind[ResourceKind][] }[];

/** What syntheticCluster hands the model, recorded so it can be replayed in other ways. */
function recordedLists(): Lists {
  const lists: Lists = [];
  const recorder: ModelSink = {
    upsert: (kind, record) => lists.push({ kind, records: [record] }),
    remove: () => undefined,
    setLonghornInstalled: () => undefined,
    replaceAll: (kind, records) => lists.push({ kind, records }),
  };
  syntheticCluster(recorder, { ...SMALL_CLUSTER, riskFraction: 0.1 });
  return lists;
}

/** Every query the checks make, for every node, plus the stores and index sizes. */
function state(model: ClusterModel): unknown {
  const nodes = [...model.records('node')].map((node) => node.name);
  const names = (records: readonly { name: string }[]) => records.map((record) => record.name);
  return {
    sizes: model.internalSizes(),
    stores: RESOURCE_KINDS.map((kind) => [...model.records(kind)]),
    perNode: nodes.map((node) => ({
      replicas: names(model.replicasOnNode(node)),
      pinned: names(model.persistentVolumesPinnedTo(node)),
      pods: names(model.podsOnNode(node)),
    })),
    sets: model.volumeSetNames.map((set) => [...model.volumesInSet(set)].map((volume) => volume.name)),
    unpinned: [...model.unpinnedClaimedPersistentVolumeSources()],
    replicasOfVolumes: [...model.records('longhornVolume')].map((volume) => names(model.replicasOfVolume(volume.name))),
  };
}

describe('ClusterModel first lists', () => {
  const lists = recordedLists();

  it('leave the same model as writing each record one by one, in either order of kinds', () => {
    const bulk = new ClusterModel(VOLUME_SETS);
    for (const { kind, records } of lists) bulk.replaceAll(kind, records);
    const single = new ClusterModel(VOLUME_SETS);
    for (const { kind, records } of lists) for (const record of records) single.upsert(kind, record);
    expect(state(bulk)).toEqual(state(single));
    // Nodes last: PVs listed before the nodes their affinity names are pinned once the nodes arrive.
    const reversed = new ClusterModel(VOLUME_SETS);
    for (const { kind, records } of [...lists].reverse()) reversed.replaceAll(kind, records);
    const reversedSingle = new ClusterModel(VOLUME_SETS);
    for (const { kind, records } of [...lists].reverse()) for (const record of records) reversedSingle.upsert(kind, record);
    expect(state(reversed)).toEqual(state(reversedSingle));
    expect(bulk.persistentVolumesPinnedTo([...bulk.records('node')][0]!.name).length + [...bulk.pinnedPersistentVolumes()].length).toBeGreaterThan(0);
  });

  it('with two records under one key keep the later one, as single writes do', () => {
    const nodes = lists.find((list) => list.kind === 'node')!.records as RecordByKind['node'][];
    const first = nodes[0]!;
    const changed = { ...first, labels: { ...first.labels, extra: 'yes' } };
    const bulk = new ClusterModel(VOLUME_SETS);
    bulk.replaceAll('node', [...nodes, changed]);
    const single = new ClusterModel(VOLUME_SETS);
    for (const node of [...nodes, changed]) single.upsert('node', node);
    expect(state(bulk)).toEqual(state(single));
    expect(bulk.node(first.name)?.labels['extra']).toBe('yes');
    expect(bulk.nodesLabelled('extra', 'yes').map((node) => node.name)).toEqual([first.name]);
  });

  it('a second list of the same kind still removes what it no longer holds', () => {
    const pods = lists.find((list) => list.kind === 'pod')!.records as RecordByKind['pod'][];
    const model = new ClusterModel(VOLUME_SETS);
    model.replaceAll('pod', pods);
    model.replaceAll('pod', pods.slice(1));
    expect(model.count('pod')).toBe(pods.length - 1);
    expect(model.podsOnNode(pods[0]!.nodeName).includes(pods[0]!)).toBe(false);
  });
});

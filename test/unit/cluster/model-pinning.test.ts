// The model resolves each PV's pinned node from its affinity and the live Nodes' labels, and re-resolves only
// the PVs a node change can affect.
import { describe, expect, it } from 'vitest';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { NodeSelector, NodeSelectorTerm } from '../../../src/cluster/node-affinity.ts';
import type { PersistentVolumeRecord } from '../../../src/cluster/records.ts';
import { hostnameAffinity, localPV, node } from '../../support/fixtures.ts';

const zone = (value: string): NodeSelector => [
  { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: [value] }], matchFields: [] },
];

/** A PV whose affinity counts how often the model evaluates it. */
function countedPV(name: string, affinity: NodeSelector, reads: Map<string, number>): PersistentVolumeRecord {
  const counted = new Proxy(affinity as NodeSelectorTerm[], {
    get(target, property, receiver) {
      if (property === Symbol.iterator) reads.set(name, (reads.get(name) ?? 0) + 1);
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
  return localPV({ name, claimName: `${name}-claim`, pinnedNode: '', namedNode: '', nodeAffinity: counted });
}

const pinned = (model: ClusterModel, name: string): string | undefined => model.persistentVolume(name)?.pinnedNode;

describe('ClusterModel: PV pinning from live node labels', () => {
  it('pins a PV to the node whose labels match, in either arrival order', () => {
    const pvFirst = new ClusterModel();
    pvFirst.upsert('persistentVolume', localPV({ name: 'zfs', namedNode: '', nodeAffinity: hostnameAffinity('id-7', 'openebs.io/nodeid') }));
    expect(pinned(pvFirst, 'zfs')).toBe('');
    pvFirst.upsert('node', node({ name: 'worker-7', labels: { 'openebs.io/nodeid': 'id-7' } }));
    expect(pinned(pvFirst, 'zfs')).toBe('worker-7');
    expect(pvFirst.persistentVolumesPinnedTo('worker-7').map((pv) => pv.name)).toEqual(['zfs']);

    const nodeFirst = new ClusterModel();
    nodeFirst.upsert('node', node({ name: 'worker-7', labels: { 'openebs.io/nodeid': 'id-7' } }));
    nodeFirst.upsert('persistentVolume', localPV({ name: 'zfs', namedNode: '', nodeAffinity: hostnameAffinity('id-7', 'openebs.io/nodeid') }));
    expect(pinned(nodeFirst, 'zfs')).toBe('worker-7');
  });

  it('follows label changes, a second matching node, node removal (back to the named node)', () => {
    const model = new ClusterModel();
    model.upsert('node', node({ name: 'a', labels: { 'kubernetes.io/hostname': 'host-a' } }));
    model.upsert('persistentVolume', localPV({ name: 'pv', namedNode: 'host-a', nodeAffinity: hostnameAffinity('host-a') }));
    expect(pinned(model, 'pv')).toBe('a');

    // A second node with the same value: two candidates, pinned to neither.
    model.upsert('node', node({ name: 'b', labels: { 'kubernetes.io/hostname': 'host-a' } }));
    expect(pinned(model, 'pv')).toBe('');
    expect(model.persistentVolumesPinnedTo('a')).toEqual([]);

    // b relabelled: a is the only match again.
    model.upsert('node', node({ name: 'b', labels: { 'kubernetes.io/hostname': 'host-b' } }));
    expect(pinned(model, 'pv')).toBe('a');

    // a deleted: no live match, the node the affinity names (data left behind, for the audit).
    model.remove('node', 'a');
    expect(pinned(model, 'pv')).toBe('host-a');
    expect(model.persistentVolumesPinnedTo('host-a').map((pv) => pv.name)).toEqual(['pv']);

    // b takes the hostname: pinned to b.
    model.upsert('node', node({ name: 'b', labels: { 'kubernetes.io/hostname': 'host-a' } }));
    expect(pinned(model, 'pv')).toBe('b');
    model.remove('persistentVolume', 'pv');
    model.remove('node', 'b');
    const leftovers = Object.entries(model.internalSizes()).filter(([, size]) => size !== 0);
    expect(leftovers).toEqual([]);
  });

  it('never pins a zonal PV, however many nodes its zone has', () => {
    const model = new ClusterModel();
    model.upsert('node', node({ name: 'a', labels: { 'topology.kubernetes.io/zone': 'z1' } }));
    model.upsert('persistentVolume', localPV({ name: 'zonal', namedNode: '', nodeAffinity: zone('z1') }));
    expect(pinned(model, 'zonal')).toBe('');
    model.upsert('node', node({ name: 'b', labels: { 'topology.kubernetes.io/zone': 'z1' } }));
    expect(pinned(model, 'zonal')).toBe('');
  });

  it('re-evaluates only the PVs naming the changed node, and none on a cordon', () => {
    const reads = new Map<string, number>();
    const model = new ClusterModel();
    const nodes = Array.from({ length: 50 }, (_, i) =>
      node({ name: `n${i}`, labels: { 'kubernetes.io/hostname': `n${i}`, 'topology.kubernetes.io/zone': `z${i % 3}` } }),
    );
    model.replaceAll('node', nodes);
    const pvs = Array.from({ length: 500 }, (_, i) => countedPV(`pv${i}`, hostnameAffinity(`n${i % 50}`), reads));
    pvs.push(countedPV('zonal', zone('z1'), reads));
    model.replaceAll('persistentVolume', pvs);
    expect(pinned(model, 'pv7')).toBe('n7');
    reads.clear();

    // A cordon (spec.unschedulable) and annotation changes leave labels as they were: nothing is evaluated.
    model.upsert('node', { ...(nodes[7] as typeof nodes[number]), unschedulable: true, annotations: { 'volume-guard.io/skip': '*' } });
    expect(reads.size).toBe(0);

    // n7 relabelled: only the 10 PVs naming n7 are evaluated (the zonal one never is).
    model.upsert('node', node({ name: 'n7', labels: { 'kubernetes.io/hostname': 'renamed', 'topology.kubernetes.io/zone': 'z1' } }));
    expect([...reads.keys()].sort()).toEqual(
      Array.from({ length: 10 }, (_, k) => `pv${7 + 50 * k}`).sort(),
    );
    expect(pinned(model, 'pv7')).toBe(''); // no live match any more (and these records name no node)
    expect(model.persistentVolumesPinnedTo('n8')).toHaveLength(10);

    // A new node: only the PVs naming it.
    reads.clear();
    model.upsert('node', node({ name: 'n99', labels: { 'kubernetes.io/hostname': 'n3' } }));
    expect([...reads.keys()].sort()).toEqual(Array.from({ length: 10 }, (_, k) => `pv${3 + 50 * k}`).sort());
    expect(pinned(model, 'pv3')).toBe(''); // n3 and n99 both carry hostname n3
  });
});

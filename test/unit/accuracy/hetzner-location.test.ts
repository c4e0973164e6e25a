// a Hetzner Cloud volume's location (csi.hetzner.cloud/location) is a group of nodes, like a zone.
import { describe, expect, it } from 'vitest';
import { collectNodeLocalVolume, unlistedPinnedDrivers, DEFAULT_NODE_LOCAL_OPTIONS } from '../../../src/checks/node-local-volume.ts';
import { isGroupKey } from '../../../src/cluster/node-affinity.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { csiPV, node, pod, pvc } from '../../support/fixtures.ts';

const LOCATION = 'csi.hetzner.cloud/location';
const NODES = [
  node({ name: 'w1', labels: { 'kubernetes.io/hostname': 'w1', [LOCATION]: 'nbg1' } }),
  node({ name: 'w2', labels: { 'kubernetes.io/hostname': 'w2', [LOCATION]: 'fsn1' } }),
];

function model(): ClusterModel {
  const m = new ClusterModel();
  m.replaceAll('node', NODES);
  m.replaceAll('persistentVolume', [
    csiPV('csi.hetzner.cloud', {
      name: 'pv-data',
      claimNamespace: 'shop',
      claimName: 'data',
      pinnedNode: '',
      nodeAffinity: [{ matchExpressions: [{ key: LOCATION, operator: 'In', values: ['nbg1'] }], matchFields: [] }],
    }),
  ]);
  m.replaceAll('persistentVolumeClaim', [pvc({ namespace: 'shop', name: 'data', volumeName: 'pv-data' })]);
  m.replaceAll('pod', [
    pod({
      namespace: 'shop',
      name: 'app-7f9c-x2',
      nodeName: 'w1',
      controllerKind: 'ReplicaSet',
      claimNames: ['data'],
      hostPaths: [{ path: '/srv/uploads', writable: true }],
    }),
  ]);
  return m;
}

describe('csi.hetzner.cloud/location names a group of nodes', () => {
  it('is a group key', () => {
    expect(isGroupKey(LOCATION)).toBe(true);
  });

  it('does not pin a Hetzner volume to the only node of its location', () => {
    expect(model().persistentVolume('pv-data')?.pinnedNode).toBe('');
    expect([...unlistedPinnedDrivers(model(), 'w1', DEFAULT_NODE_LOCAL_OPTIONS.drivers).keys()]).toEqual([]);
  });

  it('refuses the cordon of w1 for the hostPath data of a Deployment pod whose Hetzner volume can follow it to a new nbg1 node', () => {
    const findings = collectNodeLocalVolume(model(), { node: 'w1' }).findings;
    expect(findings.map((f) => f.tags)).toEqual([['in-use', 'inline-hostPath']]);
  });
});

// Node-local CSI drivers pin each volume to its node by a topology key whose value is the node's own name, a label the
// driver's node plugin puts on every node: DirectPV `directpv.min.io/node`, csi-driver-lvm and Harvester's LVM
// `topology.lvm.csi/node`, Carina `topology.carina.storage.io/node`, PMEM-CSI `pmem-csi.intel.com/node`, HwameiStor
// `topology.lvm.hwameistor.io/node` and `topology.disk.hwameistor.io/node`. No node joining later carries another
// node's value, so such a PV holds its pod to that one node (VolumeBinding reads the PV's node affinity): a pod that
// also writes to a hostPath comes back to it after a drain, as with `kubernetes.io/hostname`, and the cordon's refusal
// names the PV, not the hostPath as data a controller would take elsewhere. A PV whose node is gone still names it.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { recreatedElsewhere } from '../../../src/checks/node-local-volume.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformNode, transformPersistentVolume, transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest } from '../../support/admission.ts';
import { pvc } from '../../support/fixtures.ts';

const config = defaultConfig();

const DRIVER_KEYS: readonly (readonly [driver: string, key: string])[] = [
  ['directpv-min-io', 'directpv.min.io/node'],
  ['lvm.driver.harvesterhci.io', 'topology.lvm.csi/node'],
  ['lvm.csi.metal-stack.io', 'topology.lvm.csi/node'],
  ['carina.storage.io', 'topology.carina.storage.io/node'],
  ['pmem-csi.intel.com', 'pmem-csi.intel.com/node'],
  ['lvm.hwameistor.io', 'topology.lvm.hwameistor.io/node'],
  ['disk.hwameistor.io', 'topology.disk.hwameistor.io/node'],
];

function rawNode(name: string, key: string) {
  return transformNode({
    metadata: { name, labels: { 'kubernetes.io/hostname': name, [key]: name } },
    spec: {},
    status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2020-01-01T00:00:00Z' }] },
  })!;
}

function rawPV(driver: string, key: string) {
  return transformPersistentVolume({
    metadata: { name: 'pv-cache' },
    spec: {
      csi: { driver, volumeHandle: 'vol-1' },
      claimRef: { namespace: 'default', name: 'cache' },
      persistentVolumeReclaimPolicy: 'Delete',
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key, operator: 'In', values: ['node-1'] }] }] } },
    },
    status: { phase: 'Bound' },
  })!;
}

/** The ReplicaSet pod cache-5d8-x1 on node-1, writing to hostPath /srv/cache and mounting claim `cache`. */
const cachePod = () =>
  transformPod({
    metadata: { name: 'cache-5d8-x1', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'cache-5d8', uid: 'u-rs', controller: true }] },
    spec: {
      nodeName: 'node-1',
      containers: [{ name: 'c', volumeMounts: [{ name: 'h', mountPath: '/h' }, { name: 'cache', mountPath: '/cache' }] }],
      volumes: [{ name: 'h', hostPath: { path: '/srv/cache' } }, { name: 'cache', persistentVolumeClaim: { claimName: 'cache' } }],
    },
    status: { phase: 'Running' },
  })!;

function modelOf(driver: string, key: string): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('node', rawNode('node-1', key));
  model.upsert('node', rawNode('node-2', key));
  model.upsert('persistentVolume', rawPV(driver, key));
  model.upsert('persistentVolumeClaim', pvc({ name: 'cache', volumeName: 'pv-cache', storageClassName: driver }));
  model.upsert('pod', cachePod());
  return model;
}

describe('a pod whose claim is bound to a PV pinned by its driver’s node topology key', () => {
  it.each(DRIVER_KEYS)('%s (%s): is recreated on no other node, its hostPath data stays with it', (driver, key) => {
    const model = modelOf(driver, key);
    expect(model.persistentVolume('pv-cache')?.pinnedNode).toBe('node-1');
    expect(recreatedElsewhere(model, model.pod('default', 'cache-5d8-x1')!, 'node-1')).toBe(false);
  });

  it('the cordon is refused for the PV, and says nothing of the hostPath going elsewhere (as with kubernetes.io/hostname)', () => {
    for (const [driver, key] of [...DRIVER_KEYS, ['rancher.io/local-path', 'kubernetes.io/hostname'] as const]) {
      const decision = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(modelOf(driver, key)));
      expect(decision.allowed, key).toBe(false);
      expect(decision.status?.message, key).toContain('pv-cache');
      expect(decision.status?.message, key).not.toContain('/srv/cache');
    }
  });

  it.each(DRIVER_KEYS)('%s (%s): a PV whose node is gone still names it, for the data left there', (driver, key) => {
    expect(rawPV(driver, key).namedNode).toBe('node-1');
  });
});

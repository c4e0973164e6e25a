// Longhorn's backing-image-ds pod (a Harvester VM image being downloaded, uploaded or exported from a volume):
// longhorn-manager's BackingImageDataSourceController creates `backing-image-ds-<name>` with spec.nodeName =
// bids.Spec.NodeID, owned (controller: true) by its BackingImageDataSource, mounting the Longhorn disk path
// (bids.Spec.DiskPath, e.g. /var/lib/longhorn/ or Harvester's /var/lib/harvester/defaultdisk) as a writable hostPath.
// It is recreated on that same node and disk (NodeID/DiskUUID are fixed in the bids spec), like the instance- and
// backing-image-manager pods: no pod "recreated elsewhere without its data".
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest } from '../../support/admission.ts';
import { longhornNode, node } from '../../support/fixtures.ts';

const config = defaultConfig();

const bidsPod = transformPod({
  metadata: {
    name: 'backing-image-ds-image-8xk2p',
    namespace: 'default',
    labels: { 'longhorn.io/component': 'backing-image-data-source', 'longhorn.io/backing-image-data-source': 'image-8xk2p' },
    ownerReferences: [
      { apiVersion: 'longhorn.io/v1beta2', kind: 'BackingImageDataSource', name: 'image-8xk2p', uid: 'u-1', controller: true, blockOwnerDeletion: true },
    ],
  },
  spec: {
    nodeName: 'node-1',
    restartPolicy: 'Never',
    containers: [{ name: 'backing-image-data-source', volumeMounts: [{ name: 'disk-path', mountPath: '/data/' }] }],
    volumes: [{ name: 'disk-path', hostPath: { path: '/var/lib/harvester/defaultdisk' } }],
  },
  status: { phase: 'Running' },
})!;

function cluster() {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  model.upsert('node', node({ name: 'node-1' }));
  model.upsert('node', node({ name: 'node-2' }));
  model.upsert('longhornNode', longhornNode({ name: 'node-1' }));
  model.upsert('pod', bidsPod);
  return model;
}

describe("Longhorn's backing-image-ds pod (a VM image being imported) keeps no data a drain moves", () => {
  it('the cordon of its node passes', () => {
    const cordon = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(cluster()));
    expect(cordon.status?.message).toBeUndefined();
    expect(cordon.allowed).toBe(true);
  });

  it('its eviction passes', () => {
    const eviction = podEvictionValidator(config).handle(evictionRequest(bidsPod.name), context(cluster()));
    expect(eviction.status?.message).toBeUndefined();
    expect(eviction.allowed).toBe(true);
  });
});

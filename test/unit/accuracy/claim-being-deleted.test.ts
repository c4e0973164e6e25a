// A node-local PV whose claim the user is already deleting: kubernetes.io/pvc-protection holds the claim only while a
// pod uses it (pvcprotection controller: the finalizer goes once no scheduled pod names the claim). Under reclaim
// Delete the PV controller then reclaims the PV and the data goes whatever a cordon or eviction is answered: refusing
// them saves nothing. Under Retain the data stays as a Released PV on the node, lost only with the node's disks.
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { collectNodeLocalVolume } from '../../../src/checks/node-local-volume.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest } from '../../support/admission.ts';
import { localPV, node, pod, pvc } from '../../support/fixtures.ts';

function cluster(reclaimPolicy: 'Delete' | 'Retain', deleting: boolean): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  model.upsert('node', node({ name: 'node-1' }));
  model.upsert('node', node({ name: 'node-2' }));
  model.upsert('persistentVolume', localPV({ name: 'pv-db', pinnedNode: 'node-1', claimName: 'db-data', reclaimPolicy }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-db', storageClassName: 'local-storage', deleting }));
  model.upsert('pod', pod({ name: 'db-0', nodeName: 'node-1', claimNames: ['db-data'], controllerKind: 'StatefulSet' }));
  return model;
}

describe('a node-local PV whose claim is being deleted', () => {
  for (const reclaimPolicy of ['Delete', 'Retain'] as const) {
    it(`reclaim ${reclaimPolicy}: the cordon of its node passes`, () => {
      expect(nodeCordonValidator(defaultConfig()).handle(cordonRequest('node-1'), context(cluster(reclaimPolicy, true))).allowed).toBe(true);
    });

    it(`reclaim ${reclaimPolicy}: the eviction of the pod holding the claim passes`, () => {
      expect(podEvictionValidator(defaultConfig()).handle(evictionRequest('db-0'), context(cluster(reclaimPolicy, true))).allowed).toBe(true);
    });
  }

  it('the same claim not being deleted still refuses both', () => {
    const model = cluster('Delete', false);
    expect(nodeCordonValidator(defaultConfig()).handle(cordonRequest('node-1'), context(model)).allowed).toBe(false);
    expect(podEvictionValidator(defaultConfig()).handle(evictionRequest('db-0'), context(model)).allowed).toBe(false);
  });

  it('reclaim Retain: the node removed for good still takes the data the PV keeps', () => {
    const findings = collectNodeLocalVolume(cluster('Retain', true), { node: 'node-1', removed: true }).findings;
    expect(findings.map((finding) => finding.object.name)).toEqual(['pv-db']);
  });

  it('reclaim Delete: the node removed for good loses nothing the claim keeps', () => {
    expect(collectNodeLocalVolume(cluster('Delete', true), { node: 'node-1', removed: true }).findings).toEqual([]);
  });
});

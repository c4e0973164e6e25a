// A single-node Harvester cluster (default StorageClass numberOfReplicas 3): its upgrade is refused for the single
// copy alone, not also as degraded (Longhorn can never rebuild there).
import { expect, it } from 'vitest';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, harvesterUpgradeRequest } from '../../support/admission.ts';
import { detachedVolume, longhornNode, node, replica, volume } from '../../support/fixtures.ts';

it('single node: attached VM volume (3 wanted, 1 possible) and a detached one', () => {
  const m = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  m.setLonghornInstalled(true);
  m.upsert('node', node({ name: 'harvester-01' }));
  m.upsert('longhornNode', longhornNode({ name: 'harvester-01', diskUUIDs: ['disk-harvester-01'], placement: { tags: [], diskTags: [[]] } }));
  const V = 'pvc-3f1c2a9e-8b7d-4c6e-9a1f-2b3c4d5e6f70';
  const W = 'pvc-9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a';
  m.upsert('longhornVolume', volume({ name: V, pvName: V, numberOfReplicas: 3, robustness: 'degraded', currentNodeID: 'harvester-01', pvcName: 'vm1-disk-0-abcde' }));
  m.upsert('longhornReplica', replica({ name: `${V}-r-1a2b3c4d`, volumeName: V, nodeID: 'harvester-01', diskID: 'disk-harvester-01' }));
  m.upsert('longhornVolume', detachedVolume({ name: W, pvName: W, numberOfReplicas: 3, pvcName: 'vm2-disk-0-fghij' }));
  m.upsert('longhornReplica', replica({ name: `${W}-r-5e6f7a8b`, volumeName: W, nodeID: 'harvester-01', diskID: 'disk-harvester-01', currentState: 'stopped' }));
  const d = upgradeValidator(defaultConfig()).handle(harvesterUpgradeRequest({ 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' }), context(m));
  expect(d.allowed).toBe(false);
  // The one risk is the single copy (single-replica); "degraded, wait until Longhorn has rebuilt" can never happen on
  // one node (Harvester's validator skips the degraded check below 3 nodes), and overriding needs a second check id.
  expect(d.status?.message).toContain('[single-replica]');
  expect(d.status?.message).not.toContain('[volume-health]');
});

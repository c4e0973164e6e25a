// A Harvester Upgrade created while a Longhorn volume is degraded but rebuilding (a new replica, spec.healthyAt still
// empty, catching up from the healthy ones): Harvester's own Upgrade validator refuses it on a cluster of 3 nodes or
// more ("there are degraded volumes, please check all volumes are healthy": hasDegradedVolume, pkg/webhook/resources/
// upgrade/validator.go), and Harvester upgrades every node in turn, the rebuild's sources included. volume-guard
// refuses it too (volume-health), naming the volume, and passes it once the rebuild is done (the volume healthy).
import { describe, expect, it } from 'vitest';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, harvesterUpgradeRequest } from '../../support/admission.ts';
import { longhornNode, node, replica, volumeWithReplicas } from '../../support/fixtures.ts';

function cluster(rebuilding: boolean): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['h-1', 'h-2', 'h-3']) {
    model.upsert('node', node({ name }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  const { volume, replicas } = volumeWithReplicas('vm-disk', ['h-1', 'h-2'], {
    numberOfReplicas: 3,
    state: 'attached',
    currentNodeID: 'h-1',
    robustness: rebuilding ? 'degraded' : 'healthy',
  });
  model.upsert('longhornVolume', volume);
  for (const each of replicas) model.upsert('longhornReplica', each);
  model.upsert('longhornReplica', replica({ volumeName: 'vm-disk', nodeID: 'h-3', ...(rebuilding ? { healthyAt: '' } : {}) }));
  return model;
}

describe('a Harvester Upgrade while a volume rebuilds a replica', () => {
  it('is refused for the degraded volume, as Harvester itself does, and passes once it is healthy', () => {
    const validator = upgradeValidator(defaultConfig());
    const refused = validator.handle(harvesterUpgradeRequest(), context(cluster(true)));
    expect(refused.allowed).toBe(false);
    expect(refused.deniedChecks).toEqual(['volume-health']);
    expect(refused.status?.message).toContain('vm-disk');
    expect(validator.handle(harvesterUpgradeRequest(), context(cluster(false))).allowed).toBe(true);
  });
});

// Harvester's upgrade validators classify a single-replica volume by status.state alone: creating, attached and
// attaching are active; every other state (detached, detaching, none yet) is what skipSingleReplicaDetachedVol skips.
// harvester pkg/webhook/resources/upgrade/validator.go checkActiveSingleReplicaVols; the upgrade toolkit's UpgradePlan
// validator (`switch volume.Status.State { case Creating, Attached, Attaching: active; default: detached }`).
// A detaching volume whose status.currentNodeID is not cleared yet is waived by Harvester, so by volume-guard too.
import { describe, expect, it } from 'vitest';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { attachmentTag, isVolumeAttached, VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { LonghornVolumeRecord } from '../../../src/cluster/records.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, harvesterUpgradeRequest } from '../../support/admission.ts';
import { longhornNode, node, volume, volumeWithReplicas } from '../../support/fixtures.ts';

const SKIP_DETACHED = { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' };

function cluster(fields: Partial<LonghornVolumeRecord>) {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['node-1', 'node-2', 'node-3']) {
    model.upsert('node', node({ name }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  const v = volumeWithReplicas('vol-d', ['node-1'], { numberOfReplicas: 1, robustness: 'unknown', ...fields });
  model.replaceAll('longhornVolume', [v.volume]);
  model.replaceAll('longhornReplica', v.replicas);
  return model;
}

describe("the tag Harvester's skipSingleReplicaDetachedVol reads follows Harvester's own rule", () => {
  it.each<[string, Partial<LonghornVolumeRecord>, 'attached' | 'detached']>([
    ['attached', { state: 'attached', currentNodeID: 'a' }, 'attached'],
    ['attaching', { state: 'attaching', currentNodeID: '' }, 'attached'],
    ['creating', { state: 'creating', currentNodeID: '' }, 'attached'],
    ['detaching, still on a node', { state: 'detaching', currentNodeID: 'a' }, 'detached'],
    ['detached', { state: 'detached', currentNodeID: '' }, 'detached'],
  ])('%s', (_label, fields, expected) => {
    expect(attachmentTag(volume(fields))).toBe(expected);
  });

  it('a detaching volume still on its node is in use all the same', () => {
    expect(isVolumeAttached(volume({ state: 'detaching', currentNodeID: 'a' }))).toBe(true);
  });

  it('waives a detaching single-replica volume whose currentNodeID is not cleared yet, as Harvester does', () => {
    const decision = upgradeValidator(defaultConfig()).handle(harvesterUpgradeRequest(SKIP_DETACHED), context(cluster({ state: 'detaching', currentNodeID: 'node-1' })));
    expect(decision.status?.message).toBeUndefined();
    expect(decision.allowed).toBe(true);
  });

  it('still refuses an attached one, as Harvester does', () => {
    const decision = upgradeValidator(defaultConfig()).handle(harvesterUpgradeRequest(SKIP_DETACHED), context(cluster({ state: 'attached', currentNodeID: 'node-1' })));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('vol-d');
  });
});

// A Harvester Upgrade created with harvesterhci.io/skipSingleReplicaDetachedVol: "true" by a user who may not write
// overrides (the Harvester UI's own user): the annotation is not honored, and the refusal says so and who may, rather
// than advise the annotation the request already carries.
import { describe, expect, it } from 'vitest';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, harvesterUpgradeRequest } from '../../support/admission.ts';
import { detachedVolume, longhornNode, node, replica } from '../../support/fixtures.ts';

const SKIP_DETACHED = { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' };
const UI_USER = { username: 'user-5g7xk', groups: ['system:authenticated', 'system:cattle:authenticated'] };
const ADVICE = 'or, as Harvester does, skip only detached volumes';

function clusterWithDetachedSingleReplica(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['h1', 'h2', 'h3']) {
    model.upsert('node', node({ name }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  model.upsert('longhornVolume', detachedVolume({ name: 'v', numberOfReplicas: 1 }));
  model.upsert('longhornReplica', replica({ volumeName: 'v', nodeID: 'h1', currentState: 'stopped' }));
  return model;
}

describe('Harvester skipSingleReplicaDetachedVol on an Upgrade', () => {
  it('set by a user who may not write overrides: the refusal says why it did not count and who may, and does not advise it again', () => {
    const decision = upgradeValidator(defaultConfig()).handle(harvesterUpgradeRequest(SKIP_DETACHED, UI_USER), context(clusterWithDetachedSingleReplica()));
    expect(decision.allowed).toBe(false);
    const message = decision.status?.message ?? '';
    expect(message).toContain(
      'harvesterhci.io/skipSingleReplicaDetachedVol: "true" is set, but user-5g7xk may not write overrides; ' +
        'overrides of data-loss checks are limited to groups system:masters',
    );
    expect(message).not.toContain(ADVICE);
  });

  it('set while nobody may write overrides: the refusal says so', () => {
    const config = defaultConfig();
    const nobody = { ...config, overrides: { ...config.overrides, allowedGroups: [], allowedUsers: [] } };
    const decision = upgradeValidator(nobody).handle(harvesterUpgradeRequest(SKIP_DETACHED, ADMIN), context(clusterWithDetachedSingleReplica(), { config: nobody }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('skipSingleReplicaDetachedVol: "true" is set, but');
    expect(decision.status?.message).toContain('nobody may write overrides (overrides.allowedGroups and allowedUsers are empty)');
    expect(decision.status?.message).not.toContain(ADVICE);
  });

  it('absent: still advised', () => {
    const decision = upgradeValidator(defaultConfig()).handle(harvesterUpgradeRequest({}, UI_USER), context(clusterWithDetachedSingleReplica()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain(`${ADVICE}: harvesterhci.io/skipSingleReplicaDetachedVol: "true"`);
  });

  it('set by an admin: honored', () => {
    const decision = upgradeValidator(defaultConfig()).handle(harvesterUpgradeRequest(SKIP_DETACHED, ADMIN), context(clusterWithDetachedSingleReplica()));
    expect(decision.allowed).toBe(true);
  });
});

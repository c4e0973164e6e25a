// A Longhorn volume with dataLocality strict-local keeps exactly one replica, on the node its engine runs on:
// longhorn-manager's volume webhook refuses any other numberOfReplicas for it (webhook/resources/volume/validator.go,
// validateReplicaCount: "number of replica count should be 1 when data locality is strict-local"), and refuses to
// turn strict-local into another mode unless the volume is detached (validateDataLocalityUpdate). So a refusal whose
// only advice is "raise numberOfReplicas to 2 or more" tells the operator to do what Longhorn refuses. The advice
// that works: detach it and change its dataLocality first (then raise numberOfReplicas), or back it up.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, harvesterUpgradeRequest } from '../../support/admission.ts';
import { longhornNode, node, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();
const flat = (text: string | undefined): string => (text ?? '').replace(/\s+/g, ' ');

function cluster(strictLocal: boolean) {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['w1', 'w2', 'w3']) {
    model.upsert('node', node({ name }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  model.upsert('longhornVolume', volume({ name: 'pinned', numberOfReplicas: 1, currentNodeID: 'w1', ...(strictLocal ? { strictLocal: true as const } : {}) }));
  model.upsert('longhornReplica', replica({ name: 'pinned-r1', volumeName: 'pinned', nodeID: 'w1' }));
  return model;
}

describe('the fix a refusal gives for a strict-local volume', () => {
  it('a cordon of its node says to detach it and change dataLocality before raising numberOfReplicas', () => {
    const decision = nodeCordonValidator(config).handle(cordonRequest('w1'), context(cluster(true)));
    expect(decision.allowed).toBe(false);
    const message = flat(decision.status?.message);
    expect(message).toContain('strict-local');
    expect(message).toContain('detach it');
    expect(message).toContain('dataLocality');
  });

  it('an upgrade refused for it says the same', () => {
    const decision = upgradeValidator(config).handle(harvesterUpgradeRequest(), context(cluster(true)));
    expect(decision.allowed).toBe(false);
    const message = flat(decision.status?.message);
    expect(message).toContain('strict-local');
    expect(message).toContain('dataLocality');
  });

  it('a volume that is not strict-local is not told about dataLocality', () => {
    const message = flat(nodeCordonValidator(config).handle(cordonRequest('w1'), context(cluster(false))).status?.message);
    expect(message).toContain('raise numberOfReplicas');
    expect(message).not.toContain('strict-local');
  });
});

describe('the audit fix of a strict-local volume', () => {
  it('is the strict-local one, for single-replica and last-replica-on-node alike', async () => {
    const { findingFix } = await import('../../../src/admission/messages.ts');
    const object = { kind: 'Volume', name: 'pinned', namespace: 'longhorn-system' } as const;
    for (const check of ['single-replica', 'last-replica-on-node'] as const) {
      const fix = findingFix({ check, severity: 'critical', object, reason: 'r', tags: ['attached', 'strict-local'], related: [] });
      expect(fix).toContain('strict-local');
      expect(fix).toContain('dataLocality');
    }
  });
});

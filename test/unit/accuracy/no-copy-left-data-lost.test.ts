// A single-replica volume whose only healthy replica is on a disk that is gone, with no failed replica that held data:
// no replica holds its data any more. Its refusal says so and advises a backup (Longhorn's salvage only clears failedAt
// on failed replicas, here there are none), not a salvage nor "its only copy is on one node".
import { describe, expect, it } from 'vitest';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { DATA_IN_FAILED_TAG, DATA_LOST_TAG, VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { collectSingleReplica } from '../../../src/checks/single-replica.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, harvesterUpgradeRequest } from '../../support/admission.ts';
import { longhornNode, node, replica, volume } from '../../support/fixtures.ts';

function cluster(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  m.setLonghornInstalled(true);
  m.replaceAll('node', ['n1', 'n2'].map((name) => node({ name, labels: { 'kubernetes.io/hostname': name } })));
  m.replaceAll('longhornNode', ['n1', 'n2'].map((name) => longhornNode({ name })));
  // x: numberOfReplicas 1, its only replica (healthy once, never failed) on a disk n1 no longer has. No failed replica.
  m.upsert('longhornVolume', volume({ name: 'x', numberOfReplicas: 1, state: 'detached', robustness: 'unknown', currentNodeID: '' }));
  m.upsert('longhornReplica', replica({ volumeName: 'x', nodeID: 'n1', diskID: 'disk-removed' }));
  return m;
}

describe('no copy left and no failed replica that held data', () => {
  it('is not tagged as data left in failed replicas', () => {
    const [finding] = collectSingleReplica(cluster(), {}).findings;
    expect(finding?.reason).toContain('no copy left');
    expect(finding?.tags, 'x has no failed replica: no data is left in failed replicas').not.toContain(DATA_IN_FAILED_TAG);
    expect(finding?.tags).toContain(DATA_LOST_TAG);
  });

  it('the refusal neither advises salvaging failed replicas nor says its only copy is on one node', () => {
    const decision = upgradeValidator(defaultConfig()).handle(harvesterUpgradeRequest(), context(cluster()));
    expect(decision.allowed).toBe(false);
    const message = (decision as { status?: { message?: string } }).status?.message ?? '';
    const singleReplica = message.slice(message.indexOf('[single-replica]'), message.indexOf('[volume-health]'));
    expect(singleReplica).not.toContain('salvage the volume from them');
    expect(singleReplica).not.toContain('its only copy is on one node');
    expect(singleReplica).toContain('no copy left: no replica holds its data any more');
    expect(singleReplica.replace(/\s+/g, ' ')).toContain('restore it from a backup, or delete the volume');
  });
});

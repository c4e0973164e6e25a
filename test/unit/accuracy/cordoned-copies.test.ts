// A copy on another node that is already cordoned does not protect a node's cordon or drain: Longhorn's
// instance-manager PodDisruptionBudgets count only copies on schedulable nodes, and `kubectl drain a b` cordons both
// nodes before draining either (README, What counts as a copy).
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest } from '../../support/admission.ts';
import { longhornNode, longhornSetting, node, pod, pv, pvc, volumeWithReplicas } from '../../support/fixtures.ts';

const config = defaultConfig();

/** vol-a: healthy copies on node-1 and node-2, attached on node-2; node-1 cordoned (drained first) unless told. */
function cluster(policy: string | undefined, node1Cordoned = true) {
  const { volume, replicas } = volumeWithReplicas('vol-a', ['node-1', 'node-2'], { currentNodeID: 'node-2' });
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  model.replaceAll('longhornNode', ['node-1', 'node-2', 'node-3'].map((name) => longhornNode({ name })));
  model.replaceAll('longhornVolume', [volume]);
  model.replaceAll('longhornReplica', replicas);
  if (policy !== undefined) model.replaceAll('longhornSetting', [longhornSetting('node-drain-policy', policy)]);
  model.upsert('node', node({ name: 'node-1', unschedulable: node1Cordoned }));
  model.upsert('node', node({ name: 'node-2' }));
  model.upsert('node', node({ name: 'node-3' }));
  model.upsert('persistentVolume', pv({ name: 'vol-a' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'vol-a-claim', volumeName: 'vol-a' }));
  model.upsert('pod', pod({ name: 'db-0', nodeName: 'node-2', controllerKind: 'StatefulSet', claimNames: ['vol-a-claim'] }));
  return model;
}

const message = (decision: { status?: { message: string } }) => decision.status?.message ?? '';

describe('copies on a node already cordoned', () => {
  it.each([
    ['always-allow', 'always-allow'],
    ['Longhorn\'s default', undefined],
  ] as const)(
    'refuse the cordon and the drain of the other node holding a copy (node-drain-policy %s)',
    (_name, policy) => {
      const model = cluster(policy);
      const cordon = nodeCordonValidator(config).handle(cordonRequest('node-2'), context(model));
      expect(cordon.allowed).toBe(false);
      expect(message(cordon)).toContain('last-replica-on-node');
      expect(message(cordon)).toContain('on node node-1, which is cordoned');
      model.upsert('node', node({ name: 'node-2', unschedulable: true }));
      const eviction = podEvictionValidator(config).handle(evictionRequest('db-0'), context(model));
      expect(eviction.allowed).toBe(false);
      expect(message(eviction)).toContain('which is cordoned');
    },
  );

  it("the refusal's heading and consequence do not say the volume has a single healthy copy when another is on a cordoned node", () => {
    const model = cluster('always-allow');
    const text = message(nodeCordonValidator(config).handle(cordonRequest('node-2'), context(model)));
    expect(text).toContain(
      '[last-replica-on-node] 1 Longhorn volume has its other healthy copies on cordoned or leaving nodes, the last one in service on node-2',
    );
    expect(text).toContain('\n  its only copy in service is on node-2: lost if node-2 does not come back or its disks are wiped\n');
    expect(text).not.toContain('only healthy replica on node-2');
    expect(text).not.toContain('its only healthy copy is on node-2');
  });

  it('pass when that node is schedulable again', () => {
    const model = cluster('always-allow', false);
    expect(nodeCordonValidator(config).handle(cordonRequest('node-2'), context(model)).allowed).toBe(true);
    model.upsert('node', node({ name: 'node-2', unschedulable: true }));
    expect(podEvictionValidator(config).handle(evictionRequest('db-0'), context(model)).allowed).toBe(true);
  });

  it('a cordon admitted a moment ago counts before the informers show it (kubectl drain node-1 node-2)', () => {
    const model = cluster('always-allow', false);
    model.allowCordon('node-1');
    expect(nodeCordonValidator(config).handle(cordonRequest('node-2'), context(model)).allowed).toBe(false);
  });

  it('under a policy that evicts the last copy, the cordon passes whether the other cordon is shown or just admitted', () => {
    const shown = cluster('block-for-eviction-if-contains-last-replica');
    expect(nodeCordonValidator(config).handle(cordonRequest('node-2'), context(shown)).allowed).toBe(true);
    const admitted = cluster('block-for-eviction-if-contains-last-replica', false);
    admitted.allowCordon('node-1');
    const decision = nodeCordonValidator(config).handle(cordonRequest('node-2'), context(admitted));
    expect(message(decision)).toBe('');
    expect(decision.allowed).toBe(true);
  });

  it('under a policy that moves the last copy before the drain goes on, the drain is warned, not refused', () => {
    const model = cluster('block-for-eviction-if-contains-last-replica');
    model.upsert('node', node({ name: 'node-2', unschedulable: true }));
    const eviction = podEvictionValidator(config).handle(evictionRequest('db-0'), context(model));
    expect(eviction.allowed).toBe(true);
    expect((eviction.warnings ?? []).join('\n')).toContain('vol-a');
  });
});

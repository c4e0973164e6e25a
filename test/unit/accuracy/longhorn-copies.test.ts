// Longhorn copies as longhorn-manager keeps them (controller/volume_controller.go, cleanupExtraHealthyReplicas):
// a volume with more healthy replicas than numberOfReplicas keeps them all unless replica auto-balance (disabled by
// default), data locality or an eviction asks for one to go. So a volume whose numberOfReplicas was lowered to 1
// can hold two healthy copies on two nodes: a drain of one of them leaves the other, and Longhorn's own
// node-drain-policy (block-if-contains-last-replica) lets it go. An upgrade that rolls every node is another matter:
// Longhorn deletes the failed replica of the first node once one healthy copy is left, and rebuilds none.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { collectSingleReplica } from '../../../src/checks/single-replica.ts';
import { SINGLE_REPLICA_COUNT, VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest, harvesterUpgradeRequest } from '../../support/admission.ts';
import { longhornNode, node, pod, volumeWithReplicas } from '../../support/fixtures.ts';

const config = defaultConfig();

/** vol-lowered: numberOfReplicas 1, healthy replicas on node-1 and node-2. vol-one: numberOfReplicas 1, on node-1 only. */
function cluster() {
  const lowered = volumeWithReplicas('vol-lowered', ['node-1', 'node-2'], { numberOfReplicas: 1 });
  const one = volumeWithReplicas('vol-one', ['node-1'], { numberOfReplicas: 1 });
  // With the per-node counts the server keeps (a cordon reads them past the listed few).
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  model.replaceAll('longhornNode', ['node-1', 'node-2'].map((name) => longhornNode({ name })));
  model.replaceAll('longhornVolume', [lowered.volume, one.volume]);
  model.replaceAll('longhornReplica', [...lowered.replicas, ...one.replicas]);
  for (const name of ['node-1', 'node-2', 'node-3']) model.upsert('node', node({ name }));
  return model;
}

describe('numberOfReplicas 1 with two healthy copies on two nodes', () => {
  it('a cordon of either node is no risk to it: the other node keeps a copy', () => {
    const model = cluster();
    const onNode2 = collectSingleReplica(model, { node: 'node-2' });
    expect(onNode2.findings.map((finding) => finding.object.name)).toEqual([]);
    expect(model.volumeCount(SINGLE_REPLICA_COUNT, 'node-2')).toBe(0);
    const cordon = nodeCordonValidator(config).handle(cordonRequest('node-2'), context(model));
    expect(cordon.status?.message).toBeUndefined();
    expect(cordon.allowed).toBe(true);
    // node-1 is still refused, for vol-one only.
    const onNode1 = collectSingleReplica(model, { node: 'node-1' });
    expect(onNode1.findings.map((finding) => finding.object.name)).toEqual(['vol-one']);
    expect(model.volumeCount(SINGLE_REPLICA_COUNT, 'node-1')).toBe(1);
  });

  it('once the other copy is on a node that is down, the cordon of the node with the last one is refused', () => {
    const model = cluster();
    model.upsert('node', node({ name: 'node-1', ready: 'False', readySince: Date.now() - 3_600_000 }));
    const onNode2 = collectSingleReplica(model, { node: 'node-2' });
    expect(onNode2.findings.map((finding) => finding.object.name)).toEqual(['vol-lowered']);
    expect(model.volumeCount(SINGLE_REPLICA_COUNT, 'node-2')).toBe(1);
    expect(nodeCordonValidator(config).handle(cordonRequest('node-2'), context(model)).allowed).toBe(false);
  });

  it('an upgrade is still refused for it, and the reason says where its copies are, not that it has one', () => {
    const model = cluster();
    const decision = upgradeValidator(config).handle(harvesterUpgradeRequest(), context(model));
    expect(decision.allowed).toBe(false);
    const finding = collectSingleReplica(model, {}).findings.find((f) => f.object.name === 'vol-lowered');
    expect(finding?.reason).not.toContain('only replica');
    expect(finding?.reason).toContain('node-1, node-2');
    expect(finding?.reason).toContain('numberOfReplicas is 1');
  });

  it('an eviction on the node being drained does not name it', () => {
    const model = cluster();
    model.upsert('node', node({ name: 'node-2', unschedulable: true }));
    model.upsert('pod', pod({ name: 'web-0', nodeName: 'node-2', controllerKind: 'ReplicaSet' }));
    const evicted = podEvictionValidator(config).handle(evictionRequest('web-0'), context(model));
    expect(evicted.allowed).toBe(true);
  });
});

describe('an upgrade refusal says what is true of numberOfReplicas 1 with several copies', () => {
  function lowered(extraSingles: number) {
    const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
    model.setLonghornInstalled(true);
    const nodes = ['node-1', 'node-2'];
    model.replaceAll('longhornNode', nodes.map((name) => longhornNode({ name })));
    for (const name of nodes) model.upsert('node', node({ name }));
    // vol-lowered last: past the listed few, the wording still sees it.
    const volumes = Array.from({ length: extraSingles }, (_, index) => volumeWithReplicas(`vol-one-${index}`, ['node-1'], { numberOfReplicas: 1 }));
    volumes.push(volumeWithReplicas('vol-lowered', nodes, { numberOfReplicas: 1 }));
    model.replaceAll('longhornVolume', volumes.map((v) => v.volume));
    model.replaceAll('longhornReplica', volumes.flatMap((v) => v.replicas));
    return model;
  }
  const refusal = (model: ClusterModel) => upgradeValidator(config).handle(harvesterUpgradeRequest(), context(model)).status?.message ?? '';

  it('alone: set to a single replica, not "a single copy", and no "only copy is on one node"', () => {
    const message = refusal(lowered(0));
    expect(message).toContain('[single-replica] 1 Longhorn volume is set to a single replica (numberOfReplicas 1)');
    expect(message).not.toContain('single copy');
    expect(message).not.toContain('its only copy');
    expect(message).toContain('a copy lost while nodes restart is not rebuilt');
    expect(message.replace(/\s+/g, ' ')).toContain('while it is 1, Longhorn replaces no copy that fails');
    expect(collectSingleReplica(lowered(0), {}).findings[0]?.tags).toEqual(['attached', 'several-copies']);
  });

  it('with single-copy volumes, listed or only counted, the summary covers both', () => {
    for (const extra of [1, 30]) {
      const message = refusal(lowered(extra));
      expect(message).toContain(`[single-replica] ${extra + 1} Longhorn volumes have a single copy of their data or numberOfReplicas 1`);
    }
  });

  it('once one of its copies is on a node that is down, it is a single copy again', () => {
    const model = lowered(0);
    model.upsert('node', node({ name: 'node-2', ready: 'False', readySince: Date.now() - 3_600_000 }));
    const message = refusal(model);
    expect(message).toContain('[single-replica] 1 Longhorn volume has a single copy of its data');
    expect(collectSingleReplica(model, {}).findings[0]?.tags).toEqual(['attached']);
  });
});

// Which replicas count as copies when a node is judged: a copy on another cordoned node does not (Longhorn's
// instance-manager PodDisruptionBudgets protect only copies on schedulable nodes, and `kubectl drain a b` cordons both
// before draining either); a node carrying an autoscaler's drain taint (cluster-autoscaler's
// ToBeDeletedByClusterAutoscaler, Karpenter's karpenter.sh/disrupted) is being removed with its disks, so its replicas
// are no copy another node can count on. The node judged itself is still judged on what it holds.
import { describe, expect, it } from 'vitest';
import { collectLastReplicaOnNode } from '../../../src/checks/last-replica-on-node.ts';
import { ADMITTED_CORDON_TTL_MS } from '../../../src/cluster/model.ts';
import { transformNode } from '../../../src/cluster/transforms.ts';
import { replica, volume } from '../../support/fixtures.ts';
import { clusterOf } from './helpers.ts';

function coreNode(name: string, spec: Record<string, unknown> = {}) {
  const record = transformNode({
    metadata: { name },
    spec,
    status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
  });
  if (record === undefined) throw new Error('node not read');
  return record;
}

/** vol-2: healthy replicas on w1 and w2; w2 as given. */
function scenario(w2: Record<string, unknown>) {
  const model = clusterOf({
    volumes: [volume({ name: 'vol-2', numberOfReplicas: 2, currentNodeID: 'w1' })],
    replicas: [replica({ volumeName: 'vol-2', nodeID: 'w1' }), replica({ volumeName: 'vol-2', nodeID: 'w2' })],
  });
  model.upsert('node', coreNode('w1'));
  model.upsert('node', coreNode('w2', w2));
  model.upsert('node', coreNode('w3'));
  return model;
}

const names = (found: { findings: readonly { object: { name: string } }[] }) => found.findings.map((finding) => finding.object.name);

describe('copies on cordoned and on leaving nodes', () => {
  it('a copy on another cordoned node is not counted: the node judged holds the last one', () => {
    const model = scenario({ unschedulable: true });
    expect(model.anyNodeCordoned()).toBe(true);
    const found = collectLastReplicaOnNode(model, { node: 'w1' });
    expect(names(found)).toEqual(['vol-2']);
    expect(found.findings[0]?.reason).toBe('only copy is on node w1 (its other healthy replicas are on node w2, which is cordoned)');
    expect(names(collectLastReplicaOnNode(model, { node: 'w1', volumes: ['vol-2'] }))).toEqual(['vol-2']);
    // The cordoned node itself is judged on what it holds: w1's copy is on a schedulable node.
    expect(names(collectLastReplicaOnNode(model, { node: 'w2' }))).toEqual([]);
    // Uncordoned, w2's copy counts again.
    model.upsert('node', coreNode('w2'));
    expect(model.anyNodeCordoned()).toBe(false);
    expect(names(collectLastReplicaOnNode(model, { node: 'w1' }))).toEqual([]);
  });

  it('a cordon volume-guard admitted counts before the informers show it, for a few seconds at most', () => {
    let now = Date.parse('2026-12-06T10:00:00Z');
    const model = clusterOf(
      {
        volumes: [volume({ name: 'vol-2', numberOfReplicas: 2, currentNodeID: 'w1' })],
        replicas: [replica({ volumeName: 'vol-2', nodeID: 'w1' }), replica({ volumeName: 'vol-2', nodeID: 'w2' })],
      },
      { now: () => now },
    );
    for (const name of ['w1', 'w2', 'w3']) model.upsert('node', coreNode(name));
    // `kubectl drain w2 w1`: w2's cordon admitted, its Node not yet updated by the informer.
    model.allowCordon('w2');
    expect(model.nodeCordoned('w2')).toBe(true);
    expect(names(collectLastReplicaOnNode(model, { node: 'w1' }))).toEqual(['vol-2']);
    // The informer shows it: the Node's own field says so from then on.
    model.upsert('node', coreNode('w2', { unschedulable: true }));
    model.upsert('node', coreNode('w2'));
    expect(model.nodeCordoned('w2')).toBe(false);
    expect(names(collectLastReplicaOnNode(model, { node: 'w1' }))).toEqual([]);
    // Never shown (another webhook refused it): forgotten after ADMITTED_CORDON_TTL_MS.
    model.allowCordon('w2');
    now += ADMITTED_CORDON_TTL_MS + 1;
    expect(model.anyNodeCordoned()).toBe(false);
    expect(names(collectLastReplicaOnNode(model, { node: 'w1' }))).toEqual([]);
  });

  it.each([
    [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1733130000', effect: 'NoSchedule' }],
    [{ key: 'karpenter.sh/disrupted', effect: 'NoSchedule' }],
  ])('a node an autoscaler is removing (%o) holds no copy the other node can count on', (taint) => {
    const model = scenario({ taints: [taint] });
    const found = collectLastReplicaOnNode(model, { node: 'w1' });
    expect(names(found)).toEqual(['vol-2']);
    expect(found.findings[0]?.reason).toBe('only copy is on node w1 (its other healthy replicas are on node w2, which an autoscaler is removing)');
    // The evicted pod's volume too.
    expect(names(collectLastReplicaOnNode(model, { node: 'w1', volumes: ['vol-2'] }))).toEqual(['vol-2']);
    // The node being removed is judged on what it holds: w1's copy remains, nothing is last there.
    expect(names(collectLastReplicaOnNode(model, { node: 'w2' }))).toEqual([]);
  });

  it('two nodes being removed: each holds the last copy the other cannot keep', () => {
    const taint = { key: 'ToBeDeletedByClusterAutoscaler', value: '1', effect: 'NoSchedule' };
    const model = scenario({ taints: [taint] });
    model.upsert('node', coreNode('w1', { taints: [taint] }));
    expect(names(collectLastReplicaOnNode(model, { node: 'w1' }))).toEqual(['vol-2']);
    expect(names(collectLastReplicaOnNode(model, { node: 'w2' }))).toEqual(['vol-2']);
  });

  it('the model knows in O(1) whether any node is leaving, and forgets a node once its taint or the node is gone', () => {
    const model = scenario({ taints: [{ key: 'karpenter.sh/disrupted', effect: 'NoSchedule' }] });
    expect(model.anyNodeLeaving()).toBe(true);
    model.upsert('node', coreNode('w2'));
    expect(model.anyNodeLeaving()).toBe(false);
    expect(names(collectLastReplicaOnNode(model, { node: 'w1' }))).toEqual([]);
    model.upsert('node', coreNode('w2', { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1', effect: 'NoSchedule' }] }));
    expect(model.anyNodeLeaving()).toBe(true);
    model.remove('node', 'w2');
    expect(model.anyNodeLeaving()).toBe(false);
  });
});

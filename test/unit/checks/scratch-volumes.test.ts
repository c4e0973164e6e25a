// A pod's generic ephemeral volume (`spec.volumes[].ephemeral`) backed by Longhorn: its claim is owned by the pod and
// the garbage collector deletes it (and the Longhorn volume) with the pod. An operation that takes the pod along — a
// drain of the pod's node, an upgrade reaching that node — deletes that scratch data by design, so none of the
// Longhorn checks reports it, whatever its replicas. A scratch volume whose pod keeps running on a node the operation
// spares is judged like any volume: losing its only copy breaks a running pod.
import { describe, expect, it } from 'vitest';
import { collectLastReplicaOnNode } from '../../../src/checks/last-replica-on-node.ts';
import { collectSingleReplica } from '../../../src/checks/single-replica.ts';
import { collectVolumeHealth } from '../../../src/checks/volume-health.ts';
import { pod, pvc, replica, volume } from '../../support/fixtures.ts';
import { clusterOf } from './helpers.ts';

const owner = [{ kind: 'Pod', name: 'cache-0', uid: 'u1' }];

/** vol-s: the scratch of pod cache-0 (on `podNode`), one replica on w1, degraded; vol-k: an ordinary claim's, the same. */
function scenario(podNode: string | undefined) {
  return clusterOf({
    volumes: [
      volume({ name: 'vol-s', numberOfReplicas: 1, robustness: 'degraded', currentNodeID: 'w1', pvcName: 'cache-0-scratch' }),
      volume({ name: 'vol-k', numberOfReplicas: 1, robustness: 'degraded', currentNodeID: 'w1', pvcName: 'data' }),
    ],
    replicas: [replica({ volumeName: 'vol-s', nodeID: 'w1' }), replica({ volumeName: 'vol-k', nodeID: 'w1' }), replica({ volumeName: 'other', nodeID: 'w2' })],
    pvcs: [pvc({ name: 'cache-0-scratch', volumeName: 'vol-s', ownerReferences: owner }), pvc({ name: 'data', volumeName: 'vol-k' })],
    pods: podNode === undefined ? [] : [pod({ name: 'cache-0', nodeName: podNode, claimNames: ['cache-0-scratch'], controllerKind: 'ReplicaSet' })],
  });
}

const names = (found: { findings: readonly { object: { name: string } }[] }) => found.findings.map((finding) => finding.object.name).sort();

describe('Longhorn scratch volumes of pods the operation takes along', () => {
  it('a drain of the pod\'s node: no single-replica, volume-health or last-replica finding for the scratch volume', () => {
    const model = scenario('w1');
    expect(names(collectSingleReplica(model, { node: 'w1' }))).toEqual(['vol-k']);
    expect(names(collectVolumeHealth(model, { node: 'w1' }))).toEqual(['vol-k']);
    expect(names(collectLastReplicaOnNode(model, { node: 'w1' }))).toEqual(['vol-k']);
  });

  it('an upgrade of every node, or of the pod\'s node, does not report the scratch volume', () => {
    const model = scenario('w1');
    expect(names(collectSingleReplica(model, {}))).toEqual(['vol-k']);
    expect(names(collectVolumeHealth(model, {}))).toEqual(['vol-k']);
    expect(names(collectSingleReplica(model, { nodes: ['w1'] }))).toEqual(['vol-k']);
    expect(names(collectVolumeHealth(model, { nodes: ['w1'] }))).toEqual(['vol-k']);
  });

  it('a pod gone (its claim waits for the garbage collector) or finished leaves only scratch behind', () => {
    expect(names(collectSingleReplica(scenario(undefined), { node: 'w1' }))).toEqual(['vol-k']);
    const finished = scenario('w2');
    finished.upsert('pod', pod({ name: 'cache-0', nodeName: 'w2', phase: 'Succeeded', claimNames: ['cache-0-scratch'], controllerKind: 'Job' }));
    expect(names(collectLastReplicaOnNode(finished, { node: 'w1' }))).toEqual(['vol-k']);
  });

  it('the pod running on a node the operation spares keeps using the volume: its only copy on the drained node is reported', () => {
    const model = scenario('w2');
    expect(names(collectSingleReplica(model, { node: 'w1' }))).toEqual(['vol-k', 'vol-s']);
    expect(names(collectVolumeHealth(model, { node: 'w1' }))).toEqual(['vol-k', 'vol-s']);
    expect(names(collectLastReplicaOnNode(model, { node: 'w1' }))).toEqual(['vol-k', 'vol-s']);
    // An upgrade of w1 only: the pod on w2 stays, its volume's only copy on w1 reboots.
    expect(names(collectSingleReplica(model, { nodes: ['w1'] }))).toEqual(['vol-k', 'vol-s']);
    // An upgrade of every node takes the pod too.
    expect(names(collectSingleReplica(model, {}))).toEqual(['vol-k']);
  });
});

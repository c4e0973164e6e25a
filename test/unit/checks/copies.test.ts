// Issue 12.1/12.2: a volume's copies are the distinct nodes holding a healthy replica whose node is up; failed
// replicas of a healthy volume are no risk. Predicates, the model's incremental sets, and the checks that use them.
import { describe, expect, it } from 'vitest';
import { ClusterModel, isCoreNodeDown } from '../../../src/cluster/model.ts';
import type { LonghornReplicaRecord, LonghornVolumeRecord, NodeRecord } from '../../../src/cluster/records.ts';
import { transformLonghornNode, transformNode } from '../../../src/cluster/transforms.ts';
import { collectLastReplicaOnNode } from '../../../src/checks/last-replica-on-node.ts';
import {
  copyNodes,
  countCopies,
  soleCopyNode,
  isSingleReplicaVolume,
  SINGLE_REPLICA_SET,
  VOLUME_HEALTH_SET,
  VOLUME_SETS,
} from '../../../src/checks/longhorn-health.ts';
import { collectSingleReplica } from '../../../src/checks/single-replica.ts';
import { collectVolumeHealth } from '../../../src/checks/volume-health.ts';
import type { VolumePredicate } from '../../../src/cluster/snapshot.ts';
import {
  detachedVolume,
  failedReplica,
  longhornNode,
  node,
  replica,
  volume,
} from '../../support/fixtures.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const GRACE = 30_000;
const on = (volumeName: string, nodeID: string, fields: Partial<LonghornReplicaRecord> = {}) =>
  replica({ volumeName, nodeID, name: `${volumeName}-${nodeID}-${fields.name ?? ''}`, ...fields });
const allUp = (): boolean => true;

/** A model with a settable clock, the real volume sets, Ready nodes w1..w3 and their Longhorn nodes. */
function modelAt(start = T0) {
  let now = start;
  const model = new ClusterModel(VOLUME_SETS, { nodeDownGraceMs: GRACE, now: () => now });
  model.setLonghornInstalled(true);
  model.replaceAll('node', ['w1', 'w2', 'w3'].map((name) => node({ name, readySince: T0 - 3_600_000 })));
  model.replaceAll('longhornNode', ['w1', 'w2', 'w3'].map((name) => longhornNode({ name })));
  return {
    model,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

function notReady(name: string, since: number, status = 'False'): NodeRecord {
  return node({ name, ready: status, readySince: since });
}

describe('copyNodes / countCopies', () => {
  it.each<[string, LonghornReplicaRecord[], (n: string) => boolean, string[]]>([
    ['three healthy replicas on three nodes', [on('v', 'w1'), on('v', 'w2'), on('v', 'w3')], allUp, ['w1', 'w2', 'w3']],
    ['two healthy replicas on one node are one copy', [on('v', 'w1', { name: 'a' }), on('v', 'w1', { name: 'b' })], allUp, ['w1']],
    ['a replica on a node that is down is no copy', [on('v', 'w1'), on('v', 'w2')], (n) => n !== 'w2', ['w1']],
    ['failed, deleting and rebuilding replicas are no copies', [
      failedReplica({ volumeName: 'v', nodeID: 'w1' }),
      on('v', 'w2', { deleting: true }),
      on('v', 'w3', { healthyAt: '' }),
    ], allUp, []],
    ['an unscheduled replica is no copy', [on('v', '', { diskID: '' })], allUp, []],
  ])('%s', (_label, replicas, nodeIsUp, expected) => {
    expect(copyNodes(replicas, nodeIsUp)).toEqual(expected);
    expect(countCopies(replicas, nodeIsUp)).toBe(expected.length);
    expect(countCopies(replicas, nodeIsUp, 2)).toBe(Math.min(2, expected.length));
    expect(soleCopyNode(replicas, nodeIsUp)).toBe(expected.length === 1 ? expected[0] : undefined);
  });

  it('soleCopyNode and countCopies agree with copyNodes, replicas on gone disks included', () => {
    let seed = 11;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const nodes = ['w1', 'w2', 'w3', ''];
    for (let round = 0; round < 500; round++) {
      const replicas = Array.from({ length: random(5) }, (_, i) => {
        const kind = random(6);
        const nodeID = nodes[random(nodes.length)]!;
        if (kind === 0) return failedReplica({ volumeName: 'v', nodeID, name: `r${i}` });
        if (kind === 1) return on('v', nodeID, { name: `${i}`, deleting: true });
        if (kind === 2) return on('v', nodeID, { name: `${i}`, healthyAt: '' });
        return on('v', nodeID, { name: `${i}`, diskID: random(4) === 0 ? 'gone' : 'disk-1' });
      });
      const down = new Set(nodes.filter(() => random(3) === 0));
      // A copy counts on a node that is up and on a disk still there (two replicas on one node can differ).
      const nodeIsUp = (name: string, diskID?: string) => !down.has(name) && diskID !== 'gone';
      const copies = copyNodes(replicas, nodeIsUp);
      expect(soleCopyNode(replicas, nodeIsUp)).toBe(copies.length === 1 ? copies[0] : undefined);
      expect(countCopies(replicas, nodeIsUp)).toBe(copies.length);
      expect(countCopies(replicas, nodeIsUp, 2)).toBe(Math.min(2, copies.length));
    }
  });

  it('makes a volume single-replica (effective) when its copies are one, whatever numberOfReplicas says', () => {
    const v = volume({ name: 'v', numberOfReplicas: 2 });
    expect(isSingleReplicaVolume(v, [on('v', 'w1'), on('v', 'w2')])).toBe(false);
    expect(isSingleReplicaVolume(v, [on('v', 'w1', { name: 'a' }), on('v', 'w1', { name: 'b' })])).toBe(true);
    expect(isSingleReplicaVolume(v, [on('v', 'w1'), on('v', 'w2')], (n) => n === 'w1')).toBe(true);
    // Every copy on nodes that are down: still data at risk, reported.
    expect(isSingleReplicaVolume(v, [on('v', 'w1'), on('v', 'w2')], () => false)).toBe(true);
  });
});

describe('node up or down', () => {
  // longhorn-manager's node controller (setReadyConditionForKubeNode) ignores a Ready False younger than its grace (a
  // kubelet restart) and takes Unknown (the node lifecycle controller's verdict after missed heartbeats) as down at once.
  it('is down past the grace when NotReady, at once when Unknown (as Longhorn)', () => {
    const since = T0;
    expect(isCoreNodeDown(notReady('n', since), since + GRACE - 1, GRACE)).toBe(false);
    expect(isCoreNodeDown(notReady('n', since), since + GRACE, GRACE)).toBe(true);
    expect(isCoreNodeDown(notReady('n', since, 'Unknown'), since, GRACE)).toBe(true);
    expect(isCoreNodeDown(notReady('n', since, 'Unknown'), since + GRACE, GRACE)).toBe(true);
    expect(isCoreNodeDown(node({ name: 'n', readySince: since }), since + 10 * GRACE, GRACE)).toBe(false);
    // No Ready condition at all (a Node object written by a tool): not judged down by volume-guard.
    expect(isCoreNodeDown(node({ name: 'n', ready: '', readySince: 0 }), since, GRACE)).toBe(false);
    expect(isCoreNodeDown(undefined, since, GRACE)).toBe(false);
  });

  it('reads the Ready condition of a core Node and Longhorn down reasons of a Longhorn node', () => {
    const record = transformNode({
      metadata: { name: 'w1' },
      status: { conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'Unknown', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
    });
    expect(record?.ready).toBe('Unknown');
    expect(record?.readySince).toBe(T0);
    expect(transformNode({ metadata: { name: 'w1' }, status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: 'garbage' }] } })?.readySince).toBe(0);
    const lh = (status: string, reason: string) =>
      transformLonghornNode({ metadata: { name: 'w1', namespace: 'longhorn-system' }, status: { conditions: [{ type: 'Ready', status, reason }] } })?.down;
    expect(lh('False', 'KubernetesNodeGone')).toBe(true);
    expect(lh('False', 'KubernetesNodeNotReady')).toBe(true);
    // The manager pod being down does not make the node's replicas unreachable (Longhorn's own test agrees).
    expect(lh('False', 'ManagerPodDown')).toBe(false);
    expect(lh('True', '')).toBe(false);
  });
});

describe('the model keeps copies current, incrementally', () => {
  function withVolumes(model: ClusterModel, volumes: LonghornVolumeRecord[], replicas: LonghornReplicaRecord[]) {
    model.replaceAll('longhornVolume', volumes);
    model.replaceAll('longhornReplica', replicas);
  }

  it('moves a volume into single-replica when the node of its other copy stays NotReady past the grace', () => {
    const { model, advance, now } = modelAt();
    withVolumes(model, [volume({ name: 'v', numberOfReplicas: 2 }), volume({ name: 'u', numberOfReplicas: 2 })], [
      on('v', 'w1'),
      on('v', 'w2'),
      on('u', 'w1'),
      on('u', 'w3'),
    ]);
    expect(model.volumeSetSize(SINGLE_REPLICA_SET)).toBe(0);
    model.upsert('node', notReady('w2', now()));
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'v')).toBe(false); // within the grace
    expect(model.nodeIsUp('w2')).toBe(true);
    advance(GRACE);
    expect(model.nodeIsUp('w2')).toBe(false);
    expect([...model.volumesInSet(SINGLE_REPLICA_SET)].map((v) => v.name)).toEqual(['v']);
    expect(model.internalSizes()['nodeDownDeadlines']).toBe(0);
    model.upsert('node', node({ name: 'w2', readySince: now() }));
    expect(model.volumeSetSize(SINGLE_REPLICA_SET)).toBe(0);
  });

  it('counts a node down at once when it has been NotReady for longer than the grace already', () => {
    const { model, now } = modelAt();
    withVolumes(model, [volume({ name: 'v', numberOfReplicas: 2 })], [on('v', 'w1'), on('v', 'w2')]);
    model.upsert('node', notReady('w2', now() - 5 * GRACE, 'Unknown'));
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'v')).toBe(true);
  });

  it('counts a node whose Ready turned Unknown down at once: the other copy is the last, as longhorn-manager judges', () => {
    const { model, now } = modelAt();
    withVolumes(model, [volume({ name: 'v', numberOfReplicas: 2 })], [on('v', 'w1'), on('v', 'w2')]);
    model.upsert('node', notReady('w2', now(), 'Unknown'));
    expect(model.nodeIsUp('w2')).toBe(false);
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'v')).toBe(true);
    expect(collectLastReplicaOnNode(model, { node: 'w1' }).findings.map((finding) => finding.object.name)).toEqual(['v']);
    expect(model.internalSizes()['nodeDownDeadlines']).toBe(0);
  });

  it('follows Longhorn reporting a node down', () => {
    const { model } = modelAt();
    withVolumes(model, [volume({ name: 'v', numberOfReplicas: 2 })], [on('v', 'w1'), on('v', 'w2')]);
    model.upsert('longhornNode', longhornNode({ name: 'w2', down: true }));
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'v')).toBe(true);
    model.upsert('longhornNode', longhornNode({ name: 'w2' }));
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'v')).toBe(false);
  });

  it('re-evaluates only the volumes with replicas on the node whose readiness changed', () => {
    const calls: string[] = [];
    const counting: VolumePredicate = (v, context) => {
      calls.push(v.name);
      return VOLUME_SETS[SINGLE_REPLICA_SET]!(v, context);
    };
    let now = T0;
    const model = new ClusterModel({ [SINGLE_REPLICA_SET]: counting }, { nodeDownGraceMs: GRACE, now: () => now });
    const nodes = Array.from({ length: 20 }, (_, i) => `n${i}`);
    model.replaceAll('node', nodes.map((name) => node({ name, readySince: T0 - 3_600_000 })));
    const volumes: LonghornVolumeRecord[] = [];
    const replicas: LonghornReplicaRecord[] = [];
    for (let i = 0; i < 200; i++) {
      volumes.push(volume({ name: `v${i}`, numberOfReplicas: 2 }));
      replicas.push(on(`v${i}`, `n${i % 20}`), on(`v${i}`, `n${(i + 1) % 20}`));
    }
    model.replaceAll('longhornVolume', volumes);
    model.replaceAll('longhornReplica', replicas);
    calls.length = 0;
    // A heartbeat-like write that does not change readiness re-evaluates nothing.
    model.upsert('node', { ...node({ name: 'n5', readySince: T0 - 3_600_000 }), annotations: { 'volume-guard.io/x': 'y' } });
    expect(calls).toEqual([]);
    model.upsert('node', notReady('n5', now));
    // 10 volumes have a replica on n5 as first, 10 as second node: 20 volumes, each once.
    expect(calls).toHaveLength(20);
    expect(new Set(calls).size).toBe(20);
    calls.length = 0;
    expect(model.volumeSetSize(SINGLE_REPLICA_SET)).toBe(0); // nothing expired: O(1), no evaluation
    expect(calls).toEqual([]);
    now += GRACE;
    expect(model.volumeSetSize(SINGLE_REPLICA_SET)).toBe(20);
    expect(calls).toHaveLength(20);
    calls.length = 0;
    expect(model.volumeSetSize(SINGLE_REPLICA_SET)).toBe(20);
    expect(calls).toEqual([]);
  });

  it('forgets a pending grace when the node is deleted or becomes Ready again', () => {
    const { model, now } = modelAt();
    model.upsert('node', notReady('w1', now()));
    expect(model.internalSizes()['nodeDownDeadlines']).toBe(1);
    model.upsert('node', node({ name: 'w1', readySince: now() }));
    expect(model.internalSizes()['nodeDownDeadlines']).toBe(0);
    model.upsert('node', notReady('w2', now()));
    model.remove('node', 'w2');
    expect(model.internalSizes()['nodeDownDeadlines']).toBe(0);
  });
});

describe('checks count copies per node that is up', () => {
  it('single-replica (upgrade): two healthy replicas on one node are one copy', () => {
    const { model } = modelAt();
    model.replaceAll('longhornVolume', [volume({ name: 'v', numberOfReplicas: 2, currentNodeID: 'w1' })]);
    model.replaceAll('longhornReplica', [on('v', 'w1', { name: 'a' }), on('v', 'w1', { name: 'b' })]);
    const { findings } = collectSingleReplica(model, {});
    expect(findings.map((f) => [f.object.name, f.object.node, f.tags])).toEqual([['v', 'w1', ['attached', 'effective']]]);
    expect(findings[0]?.reason).toBe('only 1 copy, on node w1: all 2 healthy replicas are there (attached to node w1)');
  });

  it('a detached volume whose other replica is on a powered-off node has one copy: cordon and upgrade see it', () => {
    const { model, now } = modelAt();
    model.replaceAll('longhornVolume', [detachedVolume({ name: 'v', numberOfReplicas: 2 })]);
    model.replaceAll('longhornReplica', [on('v', 'w1', { currentState: 'stopped' }), on('v', 'w2', { currentState: 'stopped' })]);
    model.upsert('node', notReady('w2', now() - 2 * GRACE, 'Unknown'));
    const upgrade = collectSingleReplica(model, {}).findings;
    expect(upgrade.map((f) => [f.object.name, f.tags])).toEqual([['v', ['detached', 'effective']]]);
    expect(upgrade[0]?.reason).toBe('only 1 copy, on node w1: the others are on node w2, down (detached)');
    const cordon = collectLastReplicaOnNode(model, { node: 'w1' }).findings;
    expect(cordon.map((f) => [f.object.name, f.reason])).toEqual([
      ['v', 'only copy is on node w1 (its other healthy replicas are on node w2, down)'],
    ]);
    expect(collectSingleReplica(model, { node: 'w1' }).findings.map((f) => f.object.name)).toEqual(['v']);
    // Cordoning the node that is already down takes no copy away.
    expect(collectLastReplicaOnNode(model, { node: 'w2' }).findings).toEqual([]);
    expect(collectSingleReplica(model, { node: 'w2' }).findings).toEqual([]);
  });

  it('a NotReady node within the grace still holds a copy', () => {
    const { model, now } = modelAt();
    model.replaceAll('longhornVolume', [volume({ name: 'v', numberOfReplicas: 2 })]);
    model.replaceAll('longhornReplica', [on('v', 'w1'), on('v', 'w2')]);
    model.upsert('node', notReady('w2', now() - 1_000));
    expect(collectLastReplicaOnNode(model, { node: 'w1' }).findings).toEqual([]);
  });
});

describe('failed replicas of a healthy volume are no risk (12.2)', () => {
  it('a failed replica whose disk, Longhorn node or core node is gone blocks neither upgrade nor cordon', () => {
    const { model } = modelAt();
    model.replaceAll('longhornVolume', [volume({ name: 'v', numberOfReplicas: 3 })]);
    model.replaceAll('longhornReplica', [
      on('v', 'w1'),
      on('v', 'w2'),
      on('v', 'w3'),
      failedReplica({ volumeName: 'v', nodeID: 'w3', name: 'v-old-disk', diskID: 'uuid-gone' }),
      failedReplica({ volumeName: 'v', nodeID: 'lost-node', name: 'v-lost' }),
    ]);
    expect(model.volumeSetSize(VOLUME_HEALTH_SET)).toBe(0);
    expect(model.volumeSetSize(SINGLE_REPLICA_SET)).toBe(0);
    expect(collectVolumeHealth(model, {}).findings).toEqual([]);
    for (const target of ['w1', 'w3', 'lost-node']) {
      expect(collectVolumeHealth(model, { node: target }).findings).toEqual([]);
      expect(collectLastReplicaOnNode(model, { node: target }).findings).toEqual([]);
      expect(collectSingleReplica(model, { node: target }).findings).toEqual([]);
    }
  });

  it("a node holding only a failed replica of a degraded volume is not tied to that volume's health", () => {
    const { model } = modelAt();
    model.replaceAll('longhornVolume', [volume({ name: 'v', robustness: 'degraded' })]);
    model.replaceAll('longhornReplica', [on('v', 'w1'), on('v', 'w2'), failedReplica({ volumeName: 'v', nodeID: 'w3', name: 'v-w3-old' })]);
    expect(collectVolumeHealth(model, { node: 'w3' }).findings).toEqual([]);
    expect(collectVolumeHealth(model, { node: 'w1' }).findings.map((f) => f.object.name)).toEqual(['v']);
    expect(collectVolumeHealth(model, {}).findings.map((f) => f.object.name)).toEqual(['v']);
  });

  it('keeps the seed-002 denials: a stuck stopped replica of an attached volume, a copy whose disk vanished', () => {
    const { model } = modelAt();
    model.replaceAll('longhornVolume', [volume({ name: 'stuck' }), volume({ name: 'disk' })]);
    model.replaceAll('longhornReplica', [
      on('stuck', 'w1'),
      on('stuck', 'w2', { currentState: 'stopped' }),
      on('stuck', 'w3'),
      on('disk', 'w1'),
      on('disk', 'w2', { diskID: 'uuid-before-reformat' }),
      on('disk', 'w3'),
    ]);
    const findings = collectVolumeHealth(model, {}).findings;
    expect(findings.map((f) => [f.object.name, f.tags[0]]).sort()).toEqual([
      ['disk', 'replica-disk-missing'],
      ['stuck', 'replica-stopped'],
    ]);
  });
});

describe('a replica on a disk Longhorn reports not ready is no copy', () => {
  // longhorn-manager's node controller keeps the diskUUID it recorded when the disk's filesystem changed (reformatted
  // in place, a new UUID on the disk) or its config file cannot be read, and sets the disk's Ready condition False:
  // the UUID still matches, the replicas there cannot start (their data may come back: not-ready-disk-keeps-data).
  it('cordoning the node with the only usable copy is reported, the lost one named', () => {
    const { model } = modelAt();
    model.upsert('longhornNode', longhornNode({ name: 'w2', notReadyDiskUUIDs: ['disk-w2'] }));
    model.replaceAll('longhornVolume', [detachedVolume({ name: 'v', numberOfReplicas: 2 })]);
    model.replaceAll('longhornReplica', [on('v', 'w1'), on('v', 'w2')]);
    expect(model.nodeIsUp('w2')).toBe(true);
    expect(model.nodeIsUp('w2', 'disk-w2')).toBe(false);
    const findings = collectLastReplicaOnNode(model, { node: 'w1' }).findings;
    expect(findings.map((f) => f.object.name)).toEqual(['v']);
    expect(findings[0]!.reason).toContain('on node w2, on disk disk-w2 that Longhorn reports not ready');
    expect(model.volumeSetSize(SINGLE_REPLICA_SET)).toBe(1);
  });

  it('a ready disk beside a not-ready one still holds a copy', () => {
    const { model } = modelAt();
    model.upsert('longhornNode', longhornNode({ name: 'w2', diskUUIDs: ['disk-w2', 'disk-w2b'], notReadyDiskUUIDs: ['disk-w2b'] }));
    model.replaceAll('longhornVolume', [detachedVolume({ name: 'v', numberOfReplicas: 2 })]);
    model.replaceAll('longhornReplica', [on('v', 'w1'), on('v', 'w2')]);
    expect(collectLastReplicaOnNode(model, { node: 'w1' }).findings).toEqual([]);
  });
});

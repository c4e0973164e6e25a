import { describe, expect, it } from 'vitest';
import type { LonghornReplicaRecord, LonghornVolumeRecord } from '../../../src/cluster/records.ts';
import type { VolumeContext } from '../../../src/cluster/snapshot.ts';
import {
  SINGLE_REPLICA_SET,
  VOLUME_HEALTH_SET,
  VOLUME_SETS,
  hasVolumeHealthProblem,
  isHealthyReplica,
  isSingleReplicaVolume,
  isVolumeAttached,
  volumeHealthProblems,
} from '../../../src/checks/longhorn-health.ts';
import { detachedVolume, failedReplica, longhornNode, replica, volume } from '../../support/fixtures.ts';
import { clusterOf } from './helpers.ts';

const stoppedHealthy = (nodeID: string): LonghornReplicaRecord =>
  replica({ nodeID, desireState: 'stopped', currentState: 'stopped' });
const neverHealthy = (nodeID: string): LonghornReplicaRecord =>
  replica({ nodeID, healthyAt: '', currentState: 'stopped', desireState: 'stopped' });

describe('isHealthyReplica', () => {
  it.each<[string, Partial<LonghornReplicaRecord>, boolean]>([
    ['healthy and running', {}, true],
    ['healthy and stopped (detached volume)', { currentState: 'stopped' }, true],
    ['never healthy (rebuilding)', { healthyAt: '' }, false],
    ['failed after being healthy', { failedAt: '2024-05-02T00:00:00Z' }, false],
    ['being deleted', { deleting: true }, false],
  ])('%s', (_label, fields, expected) => {
    expect(isHealthyReplica(replica(fields))).toBe(expected);
  });
});

describe('isVolumeAttached', () => {
  it.each<[string, Partial<LonghornVolumeRecord>, boolean]>([
    ['attached', { state: 'attached', currentNodeID: 'a' }, true],
    ['attaching', { state: 'attaching', currentNodeID: '' }, true],
    ['creating (Harvester counts it active)', { state: 'creating', currentNodeID: '' }, true],
    ['detaching, still on a node', { state: 'detaching', currentNodeID: 'a' }, true],
    ['detaching, off its node', { state: 'detaching', currentNodeID: '' }, false],
    ['detached', { state: 'detached', currentNodeID: '' }, false],
    ['no state yet, no node', { state: '', currentNodeID: '' }, false],
  ])('%s', (_label, fields, expected) => {
    expect(isVolumeAttached(volume(fields))).toBe(expected);
  });
});

describe('isSingleReplicaVolume', () => {
  it.each<[string, LonghornVolumeRecord, LonghornReplicaRecord[], boolean]>([
    ['numberOfReplicas 1, attached', volume({ numberOfReplicas: 1 }), [replica()], true],
    ['numberOfReplicas 1, detached (replica stopped)', detachedVolume({ numberOfReplicas: 1 }), [stoppedHealthy('a')], true],
    ['numberOfReplicas 1, creating with no replica yet', volume({ numberOfReplicas: 1, state: 'creating' }), [], true],
    ['3 healthy replicas', volume(), [replica({ nodeID: 'a' }), replica({ nodeID: 'b' }), replica({ nodeID: 'c' })], false],
    [
      '3 replicas of a detached volume, all stopped but healthy',
      detachedVolume(),
      [stoppedHealthy('a'), stoppedHealthy('b'), stoppedHealthy('c')],
      false,
    ],
    [
      '3 replicas, 1 healthy and 2 failed',
      volume({ robustness: 'degraded' }),
      [replica({ nodeID: 'a' }), failedReplica({ nodeID: 'b' }), failedReplica({ nodeID: 'c' })],
      true,
    ],
    [
      '3 replicas, 2 healthy and 1 failed',
      volume({ robustness: 'degraded' }),
      [replica({ nodeID: 'a' }), replica({ nodeID: 'b' }), failedReplica({ nodeID: 'c' })],
      false,
    ],
    [
      '3 replicas, 1 healthy and 2 being deleted',
      volume(),
      [replica({ nodeID: 'a' }), replica({ nodeID: 'b', deleting: true }), replica({ nodeID: 'c', deleting: true })],
      true,
    ],
    [
      '2 replicas, 1 healthy and 1 still rebuilding',
      volume({ numberOfReplicas: 2, robustness: 'degraded' }),
      [replica({ nodeID: 'a' }), neverHealthy('b')],
      true,
    ],
    [
      '3 replicas being created, none healthy yet: no data to lose',
      volume({ state: 'creating', robustness: 'unknown', currentNodeID: '' }),
      [neverHealthy('a'), neverHealthy('b'), neverHealthy('c')],
      false,
    ],
    ['3 replicas, no replica record yet', volume({ state: 'creating' }), [], false],
    [
      '3 replicas, all failed after holding data',
      volume({ robustness: 'faulted' }),
      [failedReplica({ nodeID: 'a' }), failedReplica({ nodeID: 'b' }), failedReplica({ nodeID: 'c' })],
      true,
    ],
    ['numberOfReplicas 1, volume being deleted', volume({ numberOfReplicas: 1, deleting: true }), [replica()], false],
    ['numberOfReplicas 1, state deleting', volume({ numberOfReplicas: 1, state: 'deleting' }), [replica()], false],
  ])('%s', (_label, v, replicas, expected) => {
    expect(isSingleReplicaVolume(v, replicas)).toBe(expected);
  });
});

function contextOf(replicas: LonghornReplicaRecord[], disks: Record<string, string[]> = {}): VolumeContext {
  return {
    replicas,
    diskUUIDsOf: (nodeName) => disks[nodeName] ?? (nodeName === 'gone' ? undefined : [`disk-${nodeName}`]),
    nodeIsUp: () => true,
    replicaData: () => 'kept',
  };
}

describe('volumeHealthProblems', () => {
  it.each<[string, LonghornVolumeRecord, LonghornReplicaRecord[], Record<string, string[]>, string[]]>([
    ['healthy attached volume', volume(), [replica({ nodeID: 'a' }), replica({ nodeID: 'b' })], {}, []],
    ['degraded', volume({ robustness: 'degraded' }), [replica()], {}, ['degraded']],
    ['faulted', volume({ robustness: 'faulted' }), [], {}, ['faulted']],
    ['unknown robustness of a detached volume', detachedVolume(), [stoppedHealthy('a')], {}, []],
    ['stopped replica of an attached volume', volume(), [replica({ nodeID: 'a' }), stoppedHealthy('b')], {}, ['replica-stopped']],
    ['stopped replica of an attaching volume', volume({ state: 'attaching' }), [stoppedHealthy('a')], {}, ['replica-stopped']],
    ['replica in error on an attached volume', volume(), [replica({ currentState: 'error' })], {}, ['replica-error']],
    ['stopped replicas of a detached volume', detachedVolume(), [stoppedHealthy('a'), stoppedHealthy('b')], {}, []],
    ['replica in error on a detached volume', detachedVolume(), [replica({ currentState: 'error' })], {}, []],
    ['failed and stopped replica (counted in robustness)', volume(), [failedReplica({ nodeID: 'b' })], {}, []],
    ['replica on a disk that no longer exists', volume(), [replica({ nodeID: 'a', diskID: 'old' })], {}, ['replica-disk-missing']],
    ['detached volume on a vanished disk', detachedVolume(), [stoppedHealthy('a')], { a: ['new'] }, ['replica-disk-missing']],
    // Issue 12.2: a failed replica is garbage Longhorn removes later, whatever happened to its disk or node.
    ['failed replica on a vanished disk', volume(), [failedReplica({ nodeID: 'a' })], { a: ['new'] }, []],
    ['failed replica on a node Longhorn does not know', volume(), [failedReplica({ nodeID: 'gone' })], {}, []],
    [
      'failed replica next to a healthy one whose disk vanished (seed 002)',
      volume(),
      [failedReplica({ nodeID: 'a' }), replica({ nodeID: 'b', diskID: 'old' })],
      {},
      ['replica-disk-missing'],
    ],
    ['rebuilding replica (never healthy) on a vanished disk', volume(), [replica({ healthyAt: '', diskID: 'old' })], {}, []],
    // A replica that never held data is no lost copy: one waiting for a rebuild slot (concurrent-replica-rebuild-per-node-
    // limit) beside the healthy ones (replica auto-balance, data locality, an eviction), or a new volume's first attach.
    [
      'replica waiting to be rebuilt beside healthy ones',
      volume(),
      [replica({ nodeID: 'a' }), replica({ nodeID: 'b' }), replica({ nodeID: 'c', healthyAt: '', currentState: 'stopped' })],
      {},
      [],
    ],
    ['first attach of a new volume', volume({ state: 'attaching' }), [replica({ healthyAt: '', currentState: 'stopped' })], {}, []],
    ['never-healthy replica in error', volume(), [replica({ nodeID: 'a' }), replica({ nodeID: 'c', healthyAt: '', currentState: 'error' })], {}, []],
    ['replica on a node Longhorn does not know', volume(), [replica({ nodeID: 'gone' })], {}, ['replica-node-unknown']],
    ['replica being deleted on a vanished disk', volume(), [replica({ diskID: 'old', deleting: true })], {}, []],
    ['unscheduled replica', volume(), [replica({ nodeID: '', diskID: '' })], {}, []],
    ['volume being deleted', volume({ robustness: 'faulted', deleting: true }), [replica({ diskID: 'old' })], {}, []],
    [
      'several problems at once, in order',
      volume({ robustness: 'degraded' }),
      [stoppedHealthy('a'), replica({ nodeID: 'b', diskID: 'old' }), replica({ nodeID: 'gone' })],
      {},
      ['degraded', 'replica-stopped', 'replica-disk-missing', 'replica-node-unknown'],
    ],
  ])('%s', (_label, v, replicas, disks, expected) => {
    const context = contextOf(replicas, disks);
    expect(volumeHealthProblems(v, context).map((p) => p.kind)).toEqual(expected);
    expect(hasVolumeHealthProblem(v, context)).toBe(expected.length > 0);
  });

  it('names the replica, node and disk in its descriptions', () => {
    const problems = volumeHealthProblems(
      volume({ robustness: 'degraded' }),
      contextOf([
        replica({ name: 'r-stopped', nodeID: 'w1', currentState: 'stopped' }),
        replica({ name: 'r-error', nodeID: 'w1', currentState: 'error' }),
        replica({ name: 'r-disk', nodeID: 'w2', diskID: 'uuid-old' }),
        failedReplica({ name: 'r-failed', nodeID: 'w2', diskID: 'uuid-old' }),
        replica({ name: 'r-node', nodeID: 'gone' }),
      ]),
    );
    expect(problems.map((p) => p.description)).toEqual([
      'robustness is degraded',
      'replica r-stopped is stopped on node w1 while the volume is attached',
      'replica r-error is in error on node w1',
      'replica r-disk on node w2 uses disk uuid-old, which no longer exists on that node',
      'replica r-node is on node gone, which Longhorn does not know',
    ]);
    expect(problems.map((p) => p.replica?.name)).toEqual([undefined, 'r-stopped', 'r-error', 'r-disk', 'r-node']);
  });
});

describe('VOLUME_SETS in the cluster model', () => {
  it('hold exactly the volumes the predicates pick, and follow a disk replacement (seed 002)', () => {
    const model = clusterOf({
      volumes: [
        volume({ name: 'ok' }),
        volume({ name: 'single', numberOfReplicas: 1 }),
        volume({ name: 'degraded', robustness: 'degraded' }),
      ],
      replicas: [
        replica({ volumeName: 'ok', nodeID: 'a' }),
        replica({ volumeName: 'ok', nodeID: 'b' }),
        replica({ volumeName: 'single', nodeID: 'a' }),
        replica({ volumeName: 'degraded', nodeID: 'a' }),
        replica({ volumeName: 'degraded', nodeID: 'b' }),
      ],
    });
    expect(Object.keys(VOLUME_SETS)).toEqual([SINGLE_REPLICA_SET, VOLUME_HEALTH_SET]);
    expect([...model.volumesInSet(SINGLE_REPLICA_SET)].map((v) => v.name)).toEqual(['single']);
    expect([...model.volumesInSet(VOLUME_HEALTH_SET)].map((v) => v.name)).toEqual(['degraded']);
    // Node b is rebuilt with a reformatted disk: its replicas now point at a disk that is gone.
    model.upsert('longhornNode', longhornNode({ name: 'b', diskUUIDs: ['disk-b-new'] }));
    expect([...model.volumesInSet(VOLUME_HEALTH_SET)].map((v) => v.name).sort()).toEqual(['degraded', 'ok']);
    model.upsert('longhornNode', longhornNode({ name: 'b' }));
    expect([...model.volumesInSet(VOLUME_HEALTH_SET)].map((v) => v.name)).toEqual(['degraded']);
  });
});

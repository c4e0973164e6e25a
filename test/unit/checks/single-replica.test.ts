import { describe, expect, it } from 'vitest';
import type { LonghornReplicaRecord, LonghornVolumeRecord } from '../../../src/cluster/records.ts';
import { collectSingleReplica, singleReplicaCheck } from '../../../src/checks/single-replica.ts';
import { detachedVolume, failedReplica, replica, volume } from '../../support/fixtures.ts';
import { clusterOf, withoutFullScans } from './helpers.ts';

interface Row {
  readonly label: string;
  readonly volume: LonghornVolumeRecord;
  readonly replicas: readonly LonghornReplicaRecord[];
  /** undefined: no finding. */
  readonly expected?: { readonly tags: readonly string[]; readonly node?: string; readonly reason: string };
}

const rows: Row[] = [
  {
    label: 'attached volume with numberOfReplicas 1',
    volume: volume({ name: 'v', numberOfReplicas: 1, currentNodeID: 'w2' }),
    replicas: [replica({ volumeName: 'v', nodeID: 'w1' })],
    expected: {
      tags: ['attached'],
      node: 'w1',
      reason: 'numberOfReplicas is 1, its only replica is on node w1 (attached to node w2)',
    },
  },
  {
    label: 'detached volume with numberOfReplicas 1 (seed 001)',
    volume: detachedVolume({ name: 'v', numberOfReplicas: 1 }),
    replicas: [replica({ volumeName: 'v', nodeID: 'w1', currentState: 'stopped' })],
    expected: { tags: ['detached'], node: 'w1', reason: 'numberOfReplicas is 1, its only replica is on node w1 (detached)' },
  },
  {
    label: 'volume being created with numberOfReplicas 1 and no replica yet',
    volume: volume({ name: 'v', numberOfReplicas: 1, state: 'creating', currentNodeID: '' }),
    replicas: [],
    expected: { tags: ['attached', 'no-data'], reason: 'numberOfReplicas is 1, no replica scheduled yet (creating)' },
  },
  {
    label: '3 replicas with 1 healthy',
    volume: volume({ name: 'v', robustness: 'degraded', currentNodeID: 'w1' }),
    replicas: [
      replica({ volumeName: 'v', nodeID: 'w1' }),
      failedReplica({ volumeName: 'v', nodeID: 'w2' }),
      failedReplica({ volumeName: 'v', nodeID: 'w3' }),
    ],
    expected: {
      tags: ['attached', 'effective'],
      node: 'w1',
      reason: 'only 1 of 3 replicas is healthy, on node w1 (attached to node w1)',
    },
  },
  {
    label: '3 replicas all failed after holding data',
    volume: volume({ name: 'v', robustness: 'faulted', state: 'attaching', currentNodeID: 'w1' }),
    replicas: [failedReplica({ volumeName: 'v', nodeID: 'w1' }), failedReplica({ volumeName: 'v', nodeID: 'w2' })],
    expected: {
      tags: ['attached', 'effective'],
      node: 'w1,w2',
      reason: 'no healthy replica out of 3, replicas left on node w1, w2 (attaching on node w1)',
    },
  },
  {
    label: '3 healthy replicas',
    volume: volume({ name: 'v' }),
    replicas: ['w1', 'w2', 'w3'].map((nodeID) => replica({ volumeName: 'v', nodeID })),
  },
  {
    label: 'detached volume with 3 stopped healthy replicas',
    volume: detachedVolume({ name: 'v' }),
    replicas: ['w1', 'w2', 'w3'].map((nodeID) => replica({ volumeName: 'v', nodeID, currentState: 'stopped' })),
  },
  {
    label: 'volume being created with 3 replicas, none healthy yet',
    volume: volume({ name: 'v', state: 'creating', currentNodeID: '' }),
    replicas: ['w1', 'w2', 'w3'].map((nodeID) => replica({ volumeName: 'v', nodeID, healthyAt: '' })),
  },
  {
    label: 'volume with numberOfReplicas 1 being deleted',
    volume: volume({ name: 'v', numberOfReplicas: 1, deleting: true }),
    replicas: [replica({ volumeName: 'v', nodeID: 'w1' })],
  },
];

describe('single-replica, cluster-wide (upgrade)', () => {
  it.each(rows)('$label', ({ volume: v, replicas, expected }) => {
    const model = clusterOf({ volumes: [v], replicas });
    const findings = singleReplicaCheck(withoutFullScans(model), {});
    if (expected === undefined) {
      expect(findings).toEqual([]);
      return;
    }
    expect(findings).toHaveLength(1);
    const [finding] = findings;
    expect(finding?.check).toBe('single-replica');
    expect(finding?.severity).toBe('critical');
    expect(finding?.object).toEqual({ kind: 'Volume', namespace: 'longhorn-system', name: 'v', node: expected.node });
    expect(finding?.tags).toEqual(expected.tags);
    expect(finding?.reason).toBe(expected.reason);
    expect(finding?.related).toEqual([{ kind: 'PersistentVolumeClaim', namespace: 'default', name: 'v-claim' }]);
  });

  it('omits the PVC when the volume has none', () => {
    const model = clusterOf({
      volumes: [volume({ name: 'v', numberOfReplicas: 1, pvcName: '', pvcNamespace: '' })],
      replicas: [replica({ volumeName: 'v' })],
    });
    expect(singleReplicaCheck(model, {})[0]?.related).toEqual([]);
  });

  it('reports nothing when Longhorn is not installed', () => {
    const model = clusterOf({
      volumes: [volume({ name: 'v', numberOfReplicas: 1 })],
      replicas: [replica({ volumeName: 'v' })],
      longhornInstalled: false,
    });
    expect(singleReplicaCheck(model, {})).toEqual([]);
  });

  it('caps what it builds, counts the rest, and skips waived facets without counting them', () => {
    const volumes = [
      volume({ name: 'a1', numberOfReplicas: 1 }),
      volume({ name: 'a2', numberOfReplicas: 1 }),
      detachedVolume({ name: 'd1', numberOfReplicas: 1 }),
      detachedVolume({ name: 'd2', numberOfReplicas: 1 }),
      detachedVolume({ name: 'd3', numberOfReplicas: 1 }),
    ];
    const model = clusterOf({ volumes, replicas: volumes.map((v) => replica({ volumeName: v.name })) });
    const capped = collectSingleReplica(model, {}, { limit: 2 });
    expect(capped.total).toBe(5);
    expect(capped.findings).toHaveLength(2);
    expect(singleReplicaCheck(model, { limit: 3 })).toHaveLength(3); // the plain check takes a limit too
    const attachedOnly = collectSingleReplica(model, {}, { skipTags: ['detached'] });
    expect(attachedOnly.total).toBe(2);
    expect(attachedOnly.findings.map((f) => f.object.name).sort()).toEqual(['a1', 'a2']);
  });
});

describe('single-replica on a node (cordon)', () => {
  const model = clusterOf({
    volumes: [
      volume({ name: 'single-w1', numberOfReplicas: 1 }),
      volume({ name: 'single-w2', numberOfReplicas: 1 }),
      volume({ name: 'effective', robustness: 'degraded' }),
      volume({ name: 'none-healthy', robustness: 'faulted' }),
      volume({ name: 'healthy' }),
    ],
    replicas: [
      replica({ volumeName: 'single-w1', nodeID: 'w1' }),
      replica({ volumeName: 'single-w2', nodeID: 'w2' }),
      replica({ volumeName: 'effective', nodeID: 'w1' }),
      failedReplica({ volumeName: 'effective', nodeID: 'w2' }),
      failedReplica({ volumeName: 'none-healthy', nodeID: 'w2' }),
      failedReplica({ volumeName: 'none-healthy', nodeID: 'w3' }),
      replica({ volumeName: 'healthy', nodeID: 'w1' }),
      replica({ volumeName: 'healthy', nodeID: 'w2' }),
    ],
  });

  it.each<[string, string[]]>([
    ['w1', ['effective', 'single-w1']],
    // The effective single-replica volume keeps its healthy copy on w1: its failed replica on w2 does not count.
    ['w2', ['none-healthy', 'single-w2']],
    ['w3', ['none-healthy']],
    ['w9', []],
  ])('node %s', (node, expected) => {
    const findings = singleReplicaCheck(withoutFullScans(model), { node });
    expect(findings.map((f) => f.object.name).sort()).toEqual(expected);
  });
});

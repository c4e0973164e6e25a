import { describe, expect, it } from 'vitest';
import type { LonghornReplicaRecord, LonghornVolumeRecord } from '../../../src/cluster/records.ts';
import {
  collectLastReplicaOnNode,
  lastReplicaOnNodeCheck,
  longhornVolumesOfClaims,
} from '../../../src/checks/last-replica-on-node.ts';
import { detachedVolume, failedReplica, pvc, replica, volume } from '../../support/fixtures.ts';
import { clusterOf, withoutFullScans } from './helpers.ts';

const on = (nodeID: string, fields: Partial<LonghornReplicaRecord> = {}) =>
  replica({ volumeName: 'v', nodeID, name: `v-${nodeID}`, ...fields });
const failedOn = (nodeID: string) => failedReplica({ volumeName: 'v', nodeID, name: `v-${nodeID}` });

describe('last-replica-on-node (cordon of w1)', () => {
  // Every case here has a single copy left: a single-replica volume as well (tag single-replica-volume).
  it.each<[string, LonghornVolumeRecord, LonghornReplicaRecord[], string[] | undefined]>([
    ['3 healthy replicas', volume({ name: 'v' }), [on('w1'), on('w2'), on('w3')], undefined],
    // Tagged single-replica-volume only when set to one replica: a volume left with one copy is no such volume.
    ['only healthy replica on w1', volume({ name: 'v' }), [on('w1'), failedOn('w2')], ['attached']],
    ['only healthy replica elsewhere', volume({ name: 'v' }), [failedOn('w1'), on('w2')], undefined],
    ['numberOfReplicas 1 on w1', volume({ name: 'v', numberOfReplicas: 1 }), [on('w1')], ['attached', 'single-replica-volume']],
    [
      'detached volume, its one stopped (healthy) replica on w1',
      detachedVolume({ name: 'v', numberOfReplicas: 1 }),
      [on('w1', { currentState: 'stopped' })],
      ['detached', 'single-replica-volume'],
    ],
    [
      'other healthy replica being deleted',
      volume({ name: 'v' }),
      [on('w1'), on('w2', { deleting: true })],
      ['attached'],
    ],
    ['other replica still rebuilding', volume({ name: 'v' }), [on('w1'), on('w2', { healthyAt: '' })], ['attached']],
    // spec.active false: a live migration's or engine upgrade's twin; Longhorn counts only active healthy replicas.
    ['other healthy replica inactive (spec.active false)', volume({ name: 'v' }), [on('w1'), on('w2', { inactive: true })], ['attached']],
    ['its inactive twin beside it on w1, a copy on w2', volume({ name: 'v' }), [on('w1'), on('w1', { name: 'v-w1-twin', inactive: true }), on('w2')], undefined],
    ['no healthy replica at all', volume({ name: 'v' }), [failedOn('w1')], undefined],
    ['volume being deleted', volume({ name: 'v', deleting: true }), [on('w1')], undefined],
  ])('%s', (_label, v, replicas, expectedTags) => {
    const findings = lastReplicaOnNodeCheck(withoutFullScans(clusterOf({ volumes: [v], replicas })), { node: 'w1' });
    if (expectedTags === undefined) {
      expect(findings).toEqual([]);
      return;
    }
    expect(findings).toEqual([
      {
        check: 'last-replica-on-node',
        severity: 'critical',
        object: { kind: 'Volume', namespace: 'longhorn-system', name: 'v', node: 'w1' },
        reason: 'only healthy replica is on node w1',
        tags: expectedTags,
        related: [
          { kind: 'PersistentVolumeClaim', namespace: 'default', name: 'v-claim' },
          { kind: 'Replica', namespace: 'longhorn-system', name: 'v-w1', node: 'w1' },
        ],
      },
    ]);
  });
});

describe('last-replica-on-node for given volumes (eviction)', () => {
  const model = clusterOf({
    volumes: [volume({ name: 'a' }), volume({ name: 'b' }), volume({ name: 'c' })],
    replicas: [
      replica({ volumeName: 'a', nodeID: 'w1' }),
      replica({ volumeName: 'b', nodeID: 'w1' }),
      replica({ volumeName: 'c', nodeID: 'w1' }),
      replica({ volumeName: 'c', nodeID: 'w2' }),
    ],
  });

  it('checks only the listed volumes, ignoring unknown and repeated names', () => {
    const findings = lastReplicaOnNodeCheck(model, { node: 'w1', volumes: ['b', 'c', 'missing', 'b'] });
    expect(findings.map((f) => f.object.name)).toEqual(['b']);
  });

  it('checks every volume with a replica on the node when none is listed, capped on request', () => {
    expect(lastReplicaOnNodeCheck(model, { node: 'w1' }).map((f) => f.object.name).sort()).toEqual(['a', 'b']);
    const capped = collectLastReplicaOnNode(model, { node: 'w1' }, { limit: 1 });
    expect(capped.findings).toHaveLength(1);
    expect(capped.total).toBe(2);
  });

  it("finds the Longhorn volumes behind a pod's claims", () => {
    const withClaims = clusterOf({
      volumes: [volume({ name: 'pvc-1', pvName: 'pvc-1' }), volume({ name: 'lh-2', pvName: 'pv-2' })],
      pvcs: [
        pvc({ name: 'one', volumeName: 'pvc-1' }),
        pvc({ name: 'two', volumeName: 'pv-2' }),
        pvc({ name: 'not-longhorn', volumeName: 'pv-local' }),
        pvc({ name: 'pending', volumeName: '' }),
      ],
    });
    const claims = ['one', 'two', 'not-longhorn', 'pending', 'missing', 'one'];
    expect(longhornVolumesOfClaims(withClaims, 'default', claims)).toEqual(['pvc-1', 'lh-2']);
    expect(longhornVolumesOfClaims(withClaims, 'other', claims)).toEqual([]);
  });

  it("leaves out a pod's generic ephemeral volume (its claim is owned by the pod and deleted with it)", () => {
    const scratchOwner = [{ kind: 'Pod', name: 'cache-0', uid: 'u1' }];
    const model = clusterOf({
      volumes: [
        volume({ name: 'pvc-s', pvName: 'pvc-s', pvcName: 'cache-0-scratch' }),
        volume({ name: 'pvc-k', pvName: 'pvc-k', pvcName: 'data' }),
      ],
      replicas: [replica({ volumeName: 'pvc-s', nodeID: 'w1' }), replica({ volumeName: 'pvc-k', nodeID: 'w1' })],
      pvcs: [pvc({ name: 'cache-0-scratch', volumeName: 'pvc-s', ownerReferences: scratchOwner }), pvc({ name: 'data', volumeName: 'pvc-k' })],
    });
    expect(longhornVolumesOfClaims(model, 'default', ['cache-0-scratch', 'data'])).toEqual(['pvc-k']);
    expect(lastReplicaOnNodeCheck(model, { node: 'w1' }).map((f) => f.object.name)).toEqual(['pvc-k']);
  });

  it('reports nothing when Longhorn is not installed', () => {
    const without = clusterOf({
      volumes: [volume({ name: 'a' })],
      replicas: [replica({ volumeName: 'a', nodeID: 'w1' })],
      longhornInstalled: false,
    });
    expect(lastReplicaOnNodeCheck(without, { node: 'w1' })).toEqual([]);
  });
});

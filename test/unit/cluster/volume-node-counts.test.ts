// The per-node counts the model keeps for a cordon's checks (issue 15): a capped check lists its first findings by
// walking the node's objects and takes the total from the model's count. These tests drive a model through random
// writes (volumes, replicas moving and failing, Longhorn nodes reported down, Nodes going NotReady past the grace,
// PVs bound, released, re-pinned by a node's labels, pods with inline data coming and going) and after each step
// compare, for every node, the capped answer with the uncapped walk (same listed findings, same total) and with a
// model that keeps no counts.
import { describe, expect, it } from 'vitest';
import { type CapOptions, type CappedFindings, NO_CAP } from '../../../src/checks/collect.ts';
import { collectLastReplicaOnNode } from '../../../src/checks/last-replica-on-node.ts';
import { LAST_COPY_COUNT, SINGLE_REPLICA_COUNT, VOLUME_HEALTH_COUNT, VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { collectNodeLocalVolume, nodeLocalOptions } from '../../../src/checks/node-local-volume.ts';
import { collectSingleReplica } from '../../../src/checks/single-replica.ts';
import { collectVolumeHealth } from '../../../src/checks/volume-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { ClusterSnapshot } from '../../../src/cluster/snapshot.ts';
import { csiPV, hostPathPV, hostnameAffinity, localPV, longhornNode, node, pick, pod, pvc, replica, seededRandom, volume } from '../../support/fixtures.ts';

const NODES = ['n1', 'n2', 'n3', 'n4'];
const GRACE_MS = 30_000;
const OPTIONS = nodeLocalOptions(['topolvm.io', 'rancher.io/local-path']);

type Collect = (snapshot: ClusterSnapshot, node: string, cap: CapOptions) => CappedFindings;
const CHECKS: Record<string, Collect> = {
  'last-replica-on-node': (snapshot, node, cap) => collectLastReplicaOnNode(snapshot, { node }, cap),
  'single-replica': (snapshot, node, cap) => collectSingleReplica(snapshot, { node }, cap),
  'volume-health': (snapshot, node, cap) => collectVolumeHealth(snapshot, { node }, cap),
  'node-local-volume': (snapshot, node, cap) => collectNodeLocalVolume(snapshot, { node }, cap, OPTIONS),
};


/** Applies one random write to both models (the same record to each). */
function randomStep(random: () => number, models: readonly ClusterModel[], clock: { now: number }): void {
  // Every random draw happens before a write: both models get the same records.
  const write = (apply: (model: ClusterModel) => void) => models.forEach(apply);
  const volumeName = `v${Math.floor(random() * 12)}`;
  const nodeName = pick(random, NODES);
  switch (Math.floor(random() * 11)) {
    case 0:
    case 1: {
      const state = pick(random, ['attached', 'detached', 'deleting'] as const);
      const record = volume({
        name: volumeName,
        numberOfReplicas: pick(random, [1, 2, 3]),
        state: state === 'deleting' ? 'attached' : state,
        robustness: pick(random, ['healthy', 'degraded', 'faulted', 'unknown']),
        currentNodeID: state === 'detached' ? '' : nodeName,
        deleting: state === 'deleting',
      });
      return write((model) => model.upsert('longhornVolume', record));
    }
    case 2:
      return write((model) => model.remove('longhornVolume', volumeName));
    case 3:
    case 4: {
      const record = replica({
        name: `${volumeName}-r${Math.floor(random() * 3)}`,
        volumeName,
        nodeID: random() < 0.05 ? '' : nodeName,
        healthyAt: random() < 0.85 ? '2024-05-01T10:00:00Z' : '',
        failedAt: random() < 0.15 ? '2024-05-02T10:00:00Z' : '',
        deleting: random() < 0.05,
        currentState: pick(random, ['running', 'running', 'stopped', 'error']),
        // A live migration's or engine upgrade's twin (spec.active false): no copy of its own.
        ...(random() < 0.1 ? { inactive: true as const } : {}),
      });
      return write((model) => model.upsert('longhornReplica', record));
    }
    case 5: {
      const name = `${volumeName}-r${Math.floor(random() * 3)}`;
      return write((model) => model.remove('longhornReplica', name));
    }
    case 6: {
      const record = longhornNode({ name: nodeName, down: random() < 0.3 });
      return write((model) => model.upsert('longhornNode', record));
    }
    case 7: {
      // Ready, or NotReady since a moment ago or since long before the grace; or the clock moves on.
      if (random() < 0.3) {
        clock.now += GRACE_MS / 2;
        return;
      }
      const ready = pick(random, ['True', 'False', 'Unknown'] as const);
      const record = node({
        name: nodeName,
        ready,
        readySince: ready === 'True' ? 0 : clock.now - pick(random, [0, GRACE_MS * 2]),
        labels: { 'kubernetes.io/hostname': random() < 0.85 ? nodeName : `${nodeName}-renamed` },
      });
      return write((model) => model.upsert('node', record));
    }
    case 8: {
      const name = `pv${Math.floor(random() * 30)}`;
      const fields = {
        name,
        nodeAffinity: random() < 0.9 ? hostnameAffinity(nodeName) : [],
        pinnedNode: '',
        phase: random() < 0.8 ? 'Bound' : pick(random, ['Released', 'Available']),
        claimName: random() < 0.9 ? `${name}-claim` : '',
      };
      const record = pick(random, [
        localPV(fields),
        hostPathPV(fields),
        csiPV('topolvm.io', fields),
        csiPV('ebs.csi.aws.com', fields),
        csiPV('rancher.io/local-path', { ...fields, source: 'hostPath' }),
      ]);
      return write((model) => model.upsert('persistentVolume', record));
    }
    case 9: {
      const name = `p${Math.floor(random() * 20)}`;
      const claim = `pv${Math.floor(random() * 30)}-claim`;
      const record = pod({
        name,
        nodeName,
        phase: pick(random, ['Running', 'Running', 'Succeeded']),
        claimNames: random() < 0.6 ? [claim] : [],
        controllerKind: pick(random, ['ReplicaSet', 'StatefulSet', '']),
        hostPaths: random() < 0.3 ? [{ path: '/srv/data', writable: true }] : [],
        emptyDirs: random() < 0.3 ? ['scratch'] : [],
      });
      if (record.claimNames.length > 0) {
        const claimRecord = pvc({ name: claim, volumeName: claim.replace(/-claim$/, '') });
        write((model) => model.upsert('persistentVolumeClaim', claimRecord));
      }
      return write((model) => model.upsert('pod', record));
    }
    default: {
      const key = `default/p${Math.floor(random() * 20)}`;
      return write((model) => model.remove('pod', key));
    }
  }
}

describe('per-node counts kept by the model', () => {
  it('give every capped cordon check the same listing and total as walking every object, through 40 random histories', () => {
    let compared = 0;
    // Per check: the comparisons where the walk found more than the listing (the counted path).
    const completedFromCounts: Record<string, number> = {};
    for (let seed = 1; seed <= 40; seed++) {
      const random = seededRandom(seed);
      const clock = { now: Date.parse('2026-12-01T00:00:00Z') };
      const counted = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS, nodeDownGraceMs: GRACE_MS, now: () => clock.now });
      const walked = new ClusterModel(VOLUME_SETS, { nodeDownGraceMs: GRACE_MS, now: () => clock.now });
      for (const model of [counted, walked]) model.setLonghornInstalled(true);
      for (let step = 0; step < 250; step++) {
        randomStep(random, [counted, walked], clock);
        if (step % 5 !== 4) continue;
        for (const nodeName of NODES) {
          for (const [check, collect] of Object.entries(CHECKS)) {
            // The reference: every object walked, on the model that keeps no counts.
            const full = collect(walked, nodeName, NO_CAP);
            for (const limit of [0, 1, 2]) {
              const capped = collect(counted, nodeName, { limit });
              const fallback = collect(walked, nodeName, { limit });
              const where = `seed ${seed} step ${step} ${check} on ${nodeName} limit ${limit}`;
              expect(capped.total, where).toBe(full.total);
              // The counted model lists the volumes it keeps per node in the order they came to be at risk, the
              // walk in the order of the objects on the node: the same number, each one the walk finds, none twice.
              expect(capped.findings, where).toHaveLength(Math.min(limit, full.total));
              const unmatched = full.findings.map((finding) => JSON.stringify(finding));
              for (const finding of capped.findings) {
                const at = unmatched.indexOf(JSON.stringify(finding));
                expect(at, `${where}: ${JSON.stringify(finding)} listed but not found by the walk, or twice`).toBeGreaterThanOrEqual(0);
                unmatched.splice(at, 1);
              }
              expect(fallback.total, where).toBe(full.total);
              expect(fallback.findings, where).toEqual(full.findings.slice(0, limit));
              compared++;
              if (full.total > limit) completedFromCounts[check] = (completedFromCounts[check] ?? 0) + 1;
            }
          }
        }
      }
    }
    // The histories must reach the counted path often, or the comparison proves little.
    expect(compared).toBeGreaterThan(30_000);
    for (const check of Object.keys(CHECKS)) expect(completedFromCounts[check] ?? 0, check).toBeGreaterThan(300);
  }, 90_000); // 40 histories of a few thousand events each: 18 s on a loaded 2-core machine, against 20 s by default

  it('count each volume under the nodes its check would report it for', () => {
    const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
    model.setLonghornInstalled(true);
    for (const name of ['n1', 'n2', 'n3']) model.upsert('longhornNode', longhornNode({ name }));
    model.upsert('longhornVolume', volume({ name: 'a', numberOfReplicas: 1 }));
    model.upsert('longhornReplica', replica({ name: 'a-r', volumeName: 'a', nodeID: 'n1' }));
    model.upsert('longhornVolume', volume({ name: 'b', robustness: 'degraded' }));
    model.upsert('longhornReplica', replica({ name: 'b-r1', volumeName: 'b', nodeID: 'n1' }));
    model.upsert('longhornReplica', replica({ name: 'b-r2', volumeName: 'b', nodeID: 'n2' }));
    model.upsert('longhornReplica', replica({ name: 'b-r3', volumeName: 'b', nodeID: 'n3', failedAt: '2024-05-02T10:00:00Z' }));
    expect([LAST_COPY_COUNT, SINGLE_REPLICA_COUNT, VOLUME_HEALTH_COUNT].map((name) => model.volumeCount(name, 'n1'))).toEqual([1, 1, 1]);
    expect(model.volumeCount(VOLUME_HEALTH_COUNT, 'n2')).toBe(1);
    // A failed replica does not tie its node to the volume.
    expect(model.volumeCount(VOLUME_HEALTH_COUNT, 'n3')).toBe(0);
    expect(model.volumeCount('no-such-count', 'n1')).toBeUndefined();
    model.upsert('longhornNode', longhornNode({ name: 'n1', down: true }));
    expect(model.volumeCount(LAST_COPY_COUNT, 'n1')).toBe(0);
    expect(model.volumeCount(LAST_COPY_COUNT, 'n2')).toBe(1);
    for (const name of ['a', 'b']) model.remove('longhornVolume', name);
    for (const name of ['a-r', 'b-r1', 'b-r2', 'b-r3']) model.remove('longhornReplica', name);
    for (const name of ['n1', 'n2', 'n3']) model.remove('longhornNode', name);
    // Nothing left behind once the volumes are gone.
    const sizes = model.internalSizes();
    for (const [key, size] of Object.entries(sizes)) if (key.startsWith('volumeCount.')) expect(size, key).toBe(0);
  });

  it('count bound PVs pinned to a node by kind, following binding, release and re-pinning', () => {
    const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
    model.upsert('node', node({ name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } }));
    model.upsert('persistentVolume', localPV({ name: 'l1', pinnedNode: '', nodeAffinity: hostnameAffinity('n1') }));
    model.upsert('persistentVolume', csiPV('topolvm.io', { name: 't1', nodeAffinity: hostnameAffinity('n1') }));
    model.upsert('persistentVolume', csiPV('topolvm.io', { name: 't2', nodeAffinity: hostnameAffinity('n1'), phase: 'Released' }));
    expect(Object.fromEntries(model.boundPersistentVolumeKindsPinnedTo('n1'))).toEqual({ 'local ': 1, 'csi topolvm.io': 1 });
    model.upsert('persistentVolume', csiPV('topolvm.io', { name: 't2', nodeAffinity: hostnameAffinity('n1') }));
    expect(model.boundPersistentVolumeKindsPinnedTo('n1').get('csi topolvm.io')).toBe(2);
    // The node's label changes: its PVs no longer pin to it.
    model.upsert('node', node({ name: 'n1', labels: { 'kubernetes.io/hostname': 'other' } }));
    expect(model.boundPersistentVolumeKindsPinnedTo('n1').size).toBe(0);
    model.upsert('node', node({ name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } }));
    expect(model.boundPersistentVolumeKindsPinnedTo('n1').get('csi topolvm.io')).toBe(2);
    for (const name of ['l1', 't1', 't2']) model.remove('persistentVolume', name);
    expect(model.internalSizes()['persistentVolume.boundPinnedKinds']).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { ClusterModel } from '../../src/cluster/model.ts';
import { RESOURCE_KINDS } from '../../src/cluster/records.ts';
import { lastReplicaOnNodeCheck } from '../../src/checks/last-replica-on-node.ts';
import { SINGLE_REPLICA_SET, VOLUME_HEALTH_SET, VOLUME_SETS } from '../../src/checks/longhorn-health.ts';
import { nodeLocalVolumeCheck } from '../../src/checks/node-local-volume.ts';
import { singleReplicaCheck } from '../../src/checks/single-replica.ts';
import { volumeHealthCheck } from '../../src/checks/volume-health.ts';
import { SMALL_CLUSTER, type SyntheticClusterOptions, seededRandom, syntheticCluster } from '../support/fixtures.ts';

const options: SyntheticClusterOptions = { ...SMALL_CLUSTER, riskFraction: 0.05 };

function build(overrides: Partial<SyntheticClusterOptions> = {}) {
  const model = new ClusterModel(VOLUME_SETS);
  const summary = syntheticCluster(model, { ...options, ...overrides });
  return { model, summary };
}

function dump(model: ClusterModel): string {
  return JSON.stringify(RESOURCE_KINDS.map((kind) => [...model.records(kind)]));
}

describe('seededRandom', () => {
  it('repeats its sequence for a seed and stays within [0, 1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const first = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(first);
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(first).size).toBeGreaterThan(990);
    expect(seededRandom(43)()).not.toBe(first[0]);
  });
});

describe('syntheticCluster', () => {
  it('builds the same cluster for the same seed, and another for another seed', () => {
    expect(dump(build().model)).toBe(dump(build().model));
    expect(dump(build({ seed: 2 }).model)).not.toBe(dump(build().model));
  });

  it('builds the requested sizes', () => {
    const { model, summary } = build();
    expect(summary.counts).toMatchObject({
      node: 50,
      longhornNode: 50,
      longhornVolume: 200,
      persistentVolume: 400,
      persistentVolumeClaim: 400,
      pod: 200,
    });
    // 3 replicas per volume, except the 4 single-replica volumes (2 attached, 2 detached) that have 1.
    expect(summary.counts.longhornReplica).toBe(200 * 3 - 4 * 2);
    for (const kind of RESOURCE_KINDS) expect(model.count(kind)).toBe(summary.counts[kind]);
    expect(summary.releases.length + summary.orphanedReleases.length).toBe(20);
    expect(model.longhornInstalled).toBe(true);
  });

  it('puts each kind of risk in the volume sets', () => {
    const { model, summary } = build();
    expect(summary.riskyVolumes).toBe(10);
    // Two each of: single attached, single detached, effective single (also degraded), degraded, disk missing.
    expect(model.volumeSetSize(SINGLE_REPLICA_SET)).toBe(6);
    expect(model.volumeSetSize(VOLUME_HEALTH_SET)).toBe(6);
    const tags = singleReplicaCheck(model, {}).map((f) => f.tags.join('+')).sort();
    expect(tags).toEqual(['attached', 'attached', 'attached+effective', 'attached+effective', 'detached', 'detached']);
    const problems = volumeHealthCheck(model, {}).flatMap((f) => f.tags.filter((t) => t !== 'attached'));
    expect(new Set(problems)).toEqual(new Set(['degraded', 'replica-disk-missing']));
  });

  it('gives a safe node where cordon and eviction checks pass', () => {
    const { model, summary } = build();
    const node = summary.safeNode;
    expect(model.replicasOnNode(node).length).toBeGreaterThan(0);
    expect(singleReplicaCheck(model, { node })).toEqual([]);
    expect(lastReplicaOnNodeCheck(model, { node })).toEqual([]);
    expect(nodeLocalVolumeCheck(model, { node })).toEqual([]);
    const podRef = summary.podOnSafeNode;
    expect(podRef).toBeDefined();
    const safePod = model.pod(podRef!.namespace, podRef!.name)!;
    expect(safePod.nodeName).toBe(node);
    const claim = model.persistentVolumeClaim(safePod.namespace, safePod.claimNames[0]!)!;
    expect(model.longhornVolumeOfPV(claim.volumeName)).toBeDefined();
  });

  it('gives a risky node where cordon and eviction checks find risks', () => {
    const { model, summary } = build();
    const node = summary.riskyNode;
    expect(lastReplicaOnNodeCheck(model, { node }).length).toBeGreaterThan(0);
    expect(singleReplicaCheck(model, { node }).length).toBeGreaterThan(0);
    const local = nodeLocalVolumeCheck(model, { node });
    expect(local.some((f) => f.tags.includes('in-use'))).toBe(true);
    const podRef = summary.localPodOnRiskyNode!;
    const evicted = model.pod(podRef.namespace, podRef.name)!;
    const claims = evicted.claimNames.map((name) => ({ namespace: evicted.namespace, name }));
    expect(nodeLocalVolumeCheck(model, { node: evicted.nodeName, claims })).toHaveLength(1);
  });

  it('gives installed releases with their StatefulSet, and uninstalled ones with PVCs left behind', () => {
    const { model, summary } = build();
    expect(summary.orphanedReleases.length).toBeGreaterThan(0);
    for (const release of summary.releases) {
      expect(model.statefulSetsOfRelease(release.namespace, release.name).map((s) => s.name)).toEqual([release.statefulSet]);
      expect(model.persistentVolumeClaimsOfRelease(release.namespace, release.name)).toHaveLength(release.replicas);
    }
    for (const release of summary.orphanedReleases) {
      expect(model.statefulSetsOfRelease(release.namespace, release.name)).toEqual([]);
      expect(model.persistentVolumeClaimsOfRelease(release.namespace, release.name).map((c) => c.name).sort()).toEqual(
        Array.from({ length: release.replicas }, (_, i) => `data-${release.statefulSet}-${i}`),
      );
    }
  });

  it('leaves no index entry behind when every kind is relisted empty', () => {
    const { model } = build({ namespaces: 2 }); // 200 PVCs per namespace: large buckets too
    for (const kind of RESOURCE_KINDS) model.replaceAll(kind, []);
    expect(Object.entries(model.internalSizes()).filter(([, size]) => size !== 0)).toEqual([]);
  });
});

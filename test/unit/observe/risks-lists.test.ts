// How the risk tracker takes a whole list (sink().replaceAll): a kind's first list notes every record as new without
// looking each one up, and the notes of one list mark each volume's nodes once and every node at most once (the model
// does not change between them). Whatever the path, the counts after a flush are those of the same records written
// one by one: random clusters built by first lists, by upserts in a random order, and by a relist over another cluster.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { RESOURCE_KINDS, recordKey, type ModelSink, type RecordByKind, type ResourceKind } from '../../../src/cluster/records.ts';
import { DELETE_KEY, REUSE_KEY, SKIP_BY_KEY, SKIP_KEY, SKIP_UNTIL_KEY } from '../../../src/override-keys.ts';
import { RiskTracker, type RiskCounts } from '../../../src/observe/risks.ts';
import { longhornNode, node, pick, pod, pvc, replica, seededRandom, statefulSet, volume } from '../../support/fixtures.ts';
import { chance, randomRecord, shuffled, type AnyRecord, type Random } from '../../support/random-records.ts';

const SEEDS = 150;
const NOW = Date.now();

function tracked(): { model: ClusterModel; tracker: RiskTracker; sink: ModelSink } {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  const tracker = new RiskTracker(model);
  const sink = tracker.sink();
  sink.setLonghornInstalled(true);
  return { model, tracker, sink };
}

/** Overrides on Nodes, Namespaces and PVCs, some with a writer, some expiring: what #countOverrides judges per object. */
function withOverrides(kind: ResourceKind, record: AnyRecord, random: Random): AnyRecord {
  if ((kind !== 'node' && kind !== 'namespace' && kind !== 'persistentVolumeClaim') || !chance(random, 0.5)) return record;
  const annotations: Record<string, string> = { ...(record as { annotations?: Record<string, string> }).annotations };
  if (kind === 'persistentVolumeClaim') annotations[pick(random, [REUSE_KEY, DELETE_KEY])] = 'true';
  else annotations[SKIP_KEY] = pick(random, ['*', 'orphan-pvc', 'single-replica,node-local-volume', 'last-replica-on-node']);
  if (chance(random, 0.7)) annotations[SKIP_BY_KEY] = 'admin';
  if (chance(random, 0.3)) annotations[SKIP_UNTIL_KEY] = new Date(NOW + 3_600_000).toISOString();
  return { ...record, annotations } as AnyRecord;
}

/** A random cluster: per kind, what an informer's list holds (one record per key). */
function randomCluster(random: Random): Map<ResourceKind, AnyRecord[]> {
  const cluster = new Map<ResourceKind, AnyRecord[]>();
  for (const kind of RESOURCE_KINDS) {
    const byKey = new Map<string, AnyRecord>();
    const count = Math.floor(random() * 10);
    for (let i = 0; i < count; i++) {
      const record = withOverrides(kind, randomRecord(kind, random, NOW), random);
      byKey.set(recordKey(record), record);
    }
    cluster.set(kind, [...byKey.values()]);
  }
  return cluster;
}

function listed(sink: ModelSink, cluster: Map<ResourceKind, AnyRecord[]>, random: Random): void {
  for (const kind of shuffled(random, RESOURCE_KINDS)) sink.replaceAll(kind, (cluster.get(kind) ?? []) as RecordByKind[typeof kind][]);
}

function flushed(tracker: RiskTracker): RiskCounts {
  expect(tracker.flush()).toBe(true);
  const counts = tracker.counts();
  // Maps compared as sorted entries: equal counts whatever order the namespaces came in.
  return { ...counts, orphanPvcs: new Map([...counts.orphanPvcs].sort()), activeOverrides: new Map([...counts.activeOverrides].sort()) };
}

describe('RiskTracker lists', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('counts a random cluster the same whether first lists, upserts one by one, or a relist over another cluster built it', () => {
    // The clock stands still at the records' NOW: the three builds are compared, not time passing between them. A
    // Node NotReady for just under the down grace went down between one build's flush and its counts on a loaded CI
    // machine (the model's sets follow the clock at every read), and the counts then differed by the nodes pending.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
    let nonZero = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const random = seededRandom(seed);
      const cluster = randomCluster(random);

      const bulk = tracked();
      listed(bulk.sink, cluster, random);
      const byLists = flushed(bulk.tracker);

      const single = tracked();
      // The Node list arrives at some point among the other writes (an informer's first act is its list): from then
      // on a Longhorn node without a Node is down, as in the lists' build.
      const writes = [...cluster].filter(([kind]) => kind !== 'node').flatMap(([kind, records]) => records.map((record) => [kind, record] as const));
      const shuffledWrites = shuffled(random, writes);
      const nodesAt = Math.floor(random() * (shuffledWrites.length + 1));
      shuffledWrites.forEach(([kind, record], index) => {
        if (index === nodesAt) single.sink.replaceAll('node', (cluster.get('node') ?? []) as RecordByKind['node'][]);
        single.sink.upsert(kind, record as RecordByKind[typeof kind]);
      });
      if (nodesAt === shuffledWrites.length) single.sink.replaceAll('node', (cluster.get('node') ?? []) as RecordByKind['node'][]);
      expect(flushed(single.tracker), `seed ${seed}: upserts`).toEqual(byLists);

      // The same cluster with some kinds listed otherwise first, flushed (the counts then describe it), then every
      // kind relisted: the diff path. Its Nodes keep their names (some of them, drawn afresh): a Node deleted while
      // its Longhorn node stays is down, history the model keeps and a build from scratch does not have.
      const relisted = tracked();
      const before = new Map<ResourceKind, AnyRecord[]>();
      for (const [kind, records] of cluster) {
        if (kind === 'node') {
          const nodes = records.filter(() => chance(random, 0.8));
          before.set(kind, nodes.map((record) => (chance(random, 0.3) ? { ...randomRecord('node', random, NOW), name: recordKey(record) } : record)));
        } else before.set(kind, chance(random, 0.3) ? (randomCluster(random).get(kind) ?? []) : records);
      }
      listed(relisted.sink, before, random);
      if (chance(random, 0.8)) relisted.tracker.flush();
      listed(relisted.sink, cluster, random);
      expect(flushed(relisted.tracker), `seed ${seed}: relist`).toEqual(byLists);

      if (Object.values(byLists.nodesBlocked).some((count) => count > 0)) nonZero++;
    }
    // The clusters drawn do block nodes (the comparison would pass vacuously otherwise).
    expect(nonZero).toBeGreaterThan(SEEDS / 4);
  });

  it('counts again when a relist brings a pod re-created under the same name with other claims', () => {
    const { tracker, sink } = tracked();
    sink.replaceAll('persistentVolumeClaim', [pvc({ namespace: 'a', name: 'data-db-0', labels: { 'app.kubernetes.io/instance': 'db' } })]);
    sink.replaceAll('pod', [pod({ namespace: 'a', name: 'web', claimNames: ['cache'] })]);
    expect(flushed(tracker).atRiskVolumes['orphan-pvc']).toBe(1);
    // The watch missed the DELETE and the CREATE: the relist shows the same name mounting the release's PVC.
    sink.replaceAll('pod', [pod({ namespace: 'a', name: 'web', claimNames: ['data-db-0'] })]);
    expect(flushed(tracker).atRiskVolumes['orphan-pvc']).toBe(0);
  });

  it('looks no record up on a kind first list, and diffs a relist (equal copies then mark nothing)', () => {
    const { model, tracker, sink } = tracked();
    const sets = Array.from({ length: 20 }, (_, i) => statefulSet({ namespace: 'shop', name: `db-${i}`, helmReleaseName: `db-${i}` }));
    const get = vi.spyOn(model, 'get');
    sink.replaceAll('statefulSet', sets);
    expect(get).not.toHaveBeenCalled();
    expect(tracker.pending).toBe(1);
    tracker.flush();
    sink.replaceAll('statefulSet', sets.map((set) => ({ ...set })));
    expect(get).toHaveBeenCalledTimes(sets.length);
    expect(tracker.pending).toBe(0);
  });

  it('marks every node once for a first list of Longhorn nodes taking replicas, not once per Longhorn node', () => {
    const { model, tracker, sink } = tracked();
    const names = Array.from({ length: 30 }, (_, i) => `n${i}`);
    sink.replaceAll('node', names.map((name) => node({ name })));
    tracker.flush();
    const records = vi.spyOn(model, 'records');
    sink.replaceAll('longhornNode', names.map((name) => longhornNode({ name, placement: { tags: [], diskTags: [[]] } })));
    expect(records.mock.calls.filter(([kind]) => kind === 'node')).toHaveLength(1);
    expect(tracker.pending).toBe(names.length);
  });

  it("walks each volume's replicas once per list, first or relisted", () => {
    const { model, tracker, sink } = tracked();
    const volumes = Array.from({ length: 10 }, (_, i) => volume({ name: `v${i}`, numberOfReplicas: 3 }));
    const replicas = volumes.flatMap((v) => [0, 1, 2].map((i) => replica({ name: `${v.name}-r${i}`, volumeName: v.name, nodeID: `n${i}` })));
    sink.replaceAll('longhornVolume', volumes);
    const walks = vi.spyOn(model, 'replicasOfVolume');
    sink.replaceAll('longhornReplica', replicas);
    expect(walks).toHaveBeenCalledTimes(volumes.length);
    expect(tracker.pending).toBe(3);
    tracker.flush();
    walks.mockClear();
    // Every replica moved: the diff notes each twice (from and to), each volume still walked once.
    sink.replaceAll('longhornReplica', replicas.map((r) => ({ ...r, nodeID: r.nodeID.replace('n', 'm') })));
    expect(walks).toHaveBeenCalledTimes(volumes.length);
    expect(tracker.pending).toBe(6);
  });
});

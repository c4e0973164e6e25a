// The model keeps its indexes, volume sets and counts current write by write. Whatever the writes (upserts that move a
// record between index buckets, removals, relists of any subset), every public query must answer as a model built from
// scratch with the same final records does (every CHECK_EVERY steps), and after every step the volume sets and counts
// hold what the checks' predicates judge of the records then. Seeded random churn over a small name space, so that
// records collide, move and come back often; a failure names its seed and step.
import { describe, expect, it } from 'vitest';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { RESOURCE_KINDS, REPLICA_SOFT_ANTI_AFFINITY, recordKey, type LonghornReplicaRecord, type NodeRecord, type ResourceKind } from '../../../src/cluster/records.ts';
import type { VolumeContext, VolumePredicate } from '../../../src/cluster/snapshot.ts';
import { LONGHORN_NAMESPACE, node, pick, seededRandom } from '../../support/fixtures.ts';
import {
  chance,
  CLAIMS,
  DISK_LABEL,
  DISK_LABEL_VALUES,
  DISKS,
  GRACE_MS,
  HOSTNAME_LABEL,
  NAMESPACES,
  NODES,
  OWNERS,
  PODS,
  PVS,
  randomRecord,
  RELEASES,
  shuffled,
  STATEFUL_SETS,
  UIDS,
  VOLUMES,
  WEIGHTED_KINDS,
  ZONE_LABEL,
  type AnyRecord,
  type Random,
} from '../../support/random-records.ts';

const SEEDS = 60;
const STEPS = 800;
/** Compared with a model built from scratch every this many steps, and at the end. */
const CHECK_EVERY = 400;
const START = Date.parse('2026-01-01T00:00:00Z');

/** Identity fields, and those the generator ties to them (a volume's own PV, a Machine's node). */
const KEPT_FIELDS = new Set(['name', 'namespace', 'kind', 'uid', 'pvName', 'nodeName']);

/**
 * `existing` with a few of its fields drawn afresh (from `fresh`, of any name): one small change at a time, such as
 * a Node's readySince alone, or a Longhorn node's placement alone. A Machine's node and a volume's PV stay its own.
 */
function tweaked(existing: AnyRecord, fresh: AnyRecord, random: Random): AnyRecord {
  const out: Record<string, unknown> = { ...existing };
  const from = fresh as unknown as Record<string, unknown>;
  const keys = new Set([...Object.keys(out), ...Object.keys(from)]);
  for (const key of keys) {
    if (KEPT_FIELDS.has(key) || !chance(random, 0.25)) continue;
    if (key in from) out[key] = from[key];
    else delete out[key];
  }
  // A pod's node is any node.
  if ('claimNames' in out && chance(random, 0.25)) out['nodeName'] = from['nodeName'];
  return out as unknown as AnyRecord;
}

/** Plain data with object keys sorted: two answers compare equal whatever order the indexes filed them in. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value instanceof Map) return canonical(Object.fromEntries(value));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([key, inner]) => [key, canonical(inner)]));
}

/** The answers of an iterable, in no particular order: sorted by their canonical text. */
function unordered(values: Iterable<unknown>): string[] {
  return [...values].map((value) => JSON.stringify(canonical(value))).sort();
}

/** Every public query of the model over the whole name space. */
function answers(model: ClusterModel): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const nodeNames = [...NODES, 'lh-only', 'gone', ''];
  for (const kind of RESOURCE_KINDS) {
    out[`count ${kind}`] = model.count(kind);
    out[`records ${kind}`] = unordered(model.records(kind));
  }
  for (const name of VOLUMES) {
    out[`longhornVolume ${name}`] = canonical(model.longhornVolume(name));
    out[`replicasOfVolume ${name}`] = unordered(model.replicasOfVolume(name));
  }
  for (const name of PVS) out[`longhornVolumeOfPV ${name}`] = canonical(model.longhornVolumeOfPV(name));
  out['longhornVolumes'] = unordered(model.longhornVolumes());
  for (const set of model.volumeSetNames) {
    out[`volumesInSet ${set}`] = unordered(model.volumesInSet(set));
    out[`volumeSetSize ${set}`] = model.volumeSetSize(set);
    for (const name of VOLUMES) out[`volumeInSet ${set} ${name}`] = model.volumeInSet(set, name);
  }
  for (const count of Object.keys(VOLUME_COUNTS)) {
    const byKey = model.volumeCountsByKey(count);
    out[`volumeCountsByKey ${count}`] = canonical(byKey);
    for (const key of new Set([...(byKey?.keys() ?? []), ...nodeNames])) {
      out[`volumeCount ${count} ${key}`] = model.volumeCount(count, key);
      out[`volumesCountedUnder ${count} ${key}`] = unordered(model.volumesCountedUnder(count, key));
    }
  }
  for (const name of nodeNames) {
    out[`replicasOnNode ${name}`] = unordered(model.replicasOnNode(name));
    out[`longhornNode ${name}`] = canonical(model.longhornNode(name));
    out[`node ${name}`] = canonical(model.node(name));
    out[`nodeCordoned ${name}`] = model.nodeCordoned(name);
    out[`nodeLeaving ${name}`] = model.nodeLeaving(name);
    out[`machineRemovingNode ${name}`] = canonical(model.machineRemovingNode(name));
    out[`persistentVolumesPinnedTo ${name}`] = unordered(model.persistentVolumesPinnedTo(name));
    out[`boundPersistentVolumeKindsPinnedTo ${name}`] = canonical(model.boundPersistentVolumeKindsPinnedTo(name));
    out[`unpinnedPersistentVolumesNaming ${name}`] = unordered(model.unpinnedPersistentVolumesNaming(name));
    out[`podsOnNode ${name}`] = unordered(model.podsOnNode(name));
    out[`podsWithInlineDataOnNode ${name}`] = unordered(model.podsWithInlineDataOnNode(name));
    out[`upgradeJobPodsFor ${name}`] = unordered(model.upgradeJobPodsFor(name));
    for (const disk of ['', ...DISKS]) {
      out[`nodeIsUp ${name} ${disk}`] = model.nodeIsUp(name, disk);
      out[`replicaData ${name} ${disk}`] = model.replicaData(name, disk);
    }
  }
  out['longhornNodes'] = unordered(model.longhornNodes());
  out['nodes'] = unordered(model.nodes());
  out['anyNodeLeaving'] = model.anyNodeLeaving();
  out['anyNodeCordoned'] = model.anyNodeCordoned();
  for (const name of [REPLICA_SOFT_ANTI_AFFINITY, 'node-drain-policy']) out[`longhornSetting ${name}`] = canonical(model.longhornSetting(name));
  out['harvesterUpgrades'] = unordered(model.harvesterUpgrades());
  for (const [key, values] of [
    [HOSTNAME_LABEL, NODES],
    [DISK_LABEL, DISK_LABEL_VALUES],
    [ZONE_LABEL, ['za', 'zb']],
  ] as const) {
    for (const value of values) out[`nodesLabelled ${key}=${value}`] = unordered(model.nodesLabelled(key, value));
  }
  for (const name of PVS) {
    out[`persistentVolume ${name}`] = canonical(model.persistentVolume(name));
    out[`lostClaimsNaming ${name}`] = unordered(model.lostClaimsNaming(name));
  }
  out['pinnedPersistentVolumes'] = unordered(model.pinnedPersistentVolumes());
  out['nodesNamedByUnpinnedPersistentVolumes'] = unordered(model.nodesNamedByUnpinnedPersistentVolumes());
  out['unpinnedClaimedPersistentVolumeSources'] = unordered(model.unpinnedClaimedPersistentVolumeSources());
  out['hasPodScratchClaims'] = model.hasPodScratchClaims();
  for (const ns of [...NAMESPACES, 'capi', 'other']) {
    out[`namespace ${ns}`] = canonical(model.namespace(ns));
    out[`persistentVolumeClaimsIn ${ns}`] = unordered(model.persistentVolumeClaimsIn(ns));
    out[`machineDrainRulesIn ${ns}`] = unordered(model.machineDrainRulesIn(ns));
    for (const name of CLAIMS) {
      out[`persistentVolumeClaim ${ns}/${name}`] = canonical(model.persistentVolumeClaim(ns, name));
      out[`podsUsingClaim ${ns}/${name}`] = unordered(model.podsUsingClaim(ns, name));
    }
    for (const name of PODS) out[`pod ${ns}/${name}`] = canonical(model.pod(ns, name));
    for (const name of STATEFUL_SETS) out[`statefulSet ${ns}/${name}`] = canonical(model.statefulSet(ns, name));
    for (const release of RELEASES) {
      out[`persistentVolumeClaimsOfRelease ${ns}/${release}`] = unordered(model.persistentVolumeClaimsOfRelease(ns, release));
      out[`persistentVolumeClaimsAnnotatedForRelease ${ns}/${release}`] = unordered(model.persistentVolumeClaimsAnnotatedForRelease(ns, release));
      out[`statefulSetsOfRelease ${ns}/${release}`] = unordered(model.statefulSetsOfRelease(ns, release));
      out[`namespacesAnnotatedForRelease ${ns}/${release}`] = unordered(model.namespacesAnnotatedForRelease(ns, release));
    }
  }
  for (const uid of UIDS) {
    out[`persistentVolumeClaimsOwnedBy ${uid}`] = unordered(model.persistentVolumeClaimsOwnedBy(uid));
    out[`statefulSetsOwnedBy ${uid}`] = unordered(model.statefulSetsOwnedBy(uid));
    out[`namespacesOwnedBy ${uid}`] = unordered(model.namespacesOwnedBy(uid));
  }
  for (const [owner, names] of [
    ['MachineSet', ['md-0-abc', 'md-1-abc']],
    ['MachineDeployment', ['md-0', 'md-1']],
    ['KubeadmControlPlane', ['cp-0']],
  ] as const) {
    for (const name of names) out[`machinesOf ${owner} ${name}`] = unordered(model.machinesOf('capi', owner, name));
  }
  for (const name of ['c1', 'c2']) {
    out[`clusterApiCluster ${name}`] = canonical(model.clusterApiCluster('capi', name));
    out[`controlPlaneMachinesOf ${name}`] = unordered(model.controlPlaneMachinesOf('capi', name));
  }
  for (const owner of ['MachineDeployment', 'KubeadmControlPlane'] as const) {
    for (const name of OWNERS) out[`machineOwner ${owner} ${name}`] = canonical(model.machineOwner('capi', owner, name));
  }
  // Last: the reads above settle the grace deadlines that ran out. Equal sizes: no index entry left behind either.
  out['internalSizes'] = model.internalSizes();
  return out;
}

const VOLUME_SET_QUERIES = /^(volumesInSet|volumeSetSize|volumeInSet|volumeCountsByKey|volumeCount|volumesCountedUnder) /;
const VOLUME_SET_SIZES = /^(volumeSet\.|volumeCount\.|nodeDownDeadlines$)/;

/** The answers that do not depend on the model keeping volume sets and counts (and their grace deadlines). */
function withoutVolumeSets(all: Record<string, unknown>): Record<string, unknown> {
  const out = Object.fromEntries(Object.entries(all).filter(([key]) => !VOLUME_SET_QUERIES.test(key)));
  const sizes = Object.entries(all['internalSizes'] as Record<string, number>);
  out['internalSizes'] = Object.fromEntries(sizes.filter(([key]) => !VOLUME_SET_SIZES.test(key)));
  return out;
}

/**
 * The volume sets and counts as the checks' predicates judge the model's records now, beside what the model keeps:
 * cheap enough for every step, where a stale membership shows before a later write to the volume heals it.
 */
function volumeSetsNow(model: ClusterModel): { kept: unknown; judged: unknown } {
  const context: VolumeContext & { replicas: readonly LonghornReplicaRecord[] } = {
    replicas: [],
    diskUUIDsOf: (name) => model.longhornNode(name)?.diskUUIDs,
    nodeIsUp: (name, disk) => model.nodeIsUp(name, disk),
    replicaData: (name, disk) => model.replicaData(name, disk),
    scheduling: () => ({ nodes: model.longhornNodes(), setting: (name) => model.longhornSetting(name)?.value ?? '' }),
  };
  const kept: Record<string, unknown> = {};
  const judged: Record<string, unknown> = {};
  const volumes = [...model.longhornVolumes()].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const [set, predicate] of Object.entries(VOLUME_SETS)) {
    kept[set] = volumes.filter((volume) => model.volumeInSet(set, volume.name)).map((volume) => volume.name);
    judged[set] = volumes
      .filter((volume) => {
        context.replicas = model.replicasOfVolume(volume.name);
        return predicate(volume, context);
      })
      .map((volume) => volume.name);
  }
  for (const [name, count] of Object.entries(VOLUME_COUNTS)) {
    kept[name] = [...(model.volumeCountsByKey(name) ?? [])].sort();
    const counts = new Map<string, number>();
    for (const volume of volumes) {
      context.replicas = model.replicasOfVolume(volume.name);
      if (count.inSet !== undefined && !(VOLUME_SETS[count.inSet] as VolumePredicate)(volume, context)) continue;
      for (const key of count.keys(volume, context)) counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    judged[name] = [...counts].sort();
  }
  return { kept, judged };
}

/** The records an informer would hold now, per kind, by store key. */
type Truth = Map<ResourceKind, Map<string, AnyRecord>>;

/** With the checks' volume sets and counts, as served; or without (a model tools and tests build), every fourth seed. */
function newModel(clock: () => number, evaluates: boolean): ClusterModel {
  return evaluates
    ? new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS, nodeDownGraceMs: GRACE_MS, now: clock })
    : new ClusterModel({}, { nodeDownGraceMs: GRACE_MS, now: clock });
}

/**
 * A model given the final records at once: by a first list of each kind, or record by record in a random order. Then
 * what the model keeps of history: whether a Node list arrived (`nodesListed`: from then on a Longhorn node without a
 * Node is down), and the Nodes it saw deleted while their Longhorn node stays (`gone`), each registered and deleted
 * again.
 */
function rebuilt(truth: Truth, gone: ReadonlySet<string>, nodesListed: boolean, clock: () => number, random: Random): ClusterModel {
  const model = newModel(clock, true);
  const kinds = shuffled(random, RESOURCE_KINDS);
  const nodes = [...(truth.get('node')?.values() ?? [])] as NodeRecord[];
  if (chance(random, 0.5)) {
    for (const kind of kinds) {
      if (kind === 'node' && !nodesListed) for (const record of nodes) model.upsert('node', record);
      else model.replaceAll(kind, [...(truth.get(kind)?.values() ?? [])]);
    }
  } else {
    const all = kinds.flatMap((kind) => [...(truth.get(kind)?.values() ?? [])].map((record) => [kind, record] as const));
    for (const [kind, record] of shuffled(random, all)) model.upsert(kind, record);
    if (nodesListed) model.replaceAll('node', nodes);
  }
  for (const name of gone) {
    model.upsert('node', node({ name }));
    model.remove('node', name);
  }
  return model;
}

function churn(seed: number): void {
  const random = seededRandom(seed);
  let now = START;
  const clock = (): number => now;
  const evaluates = seed % 4 !== 3;
  const model = newModel(clock, evaluates);
  model.setLonghornInstalled(true);
  const truth: Truth = new Map(RESOURCE_KINDS.map((kind) => [kind, new Map<string, AnyRecord>()]));
  const keyOf = (record: AnyRecord): string => recordKey(record);
  const held = (kind: ResourceKind): Map<string, AnyRecord> => truth.get(kind)!;
  /** Nodes the model held and lost while their Longhorn node stayed: down until they register again or it goes. */
  const gone = new Set<string>();
  let nodesListed = false;
  const lost = (kind: ResourceKind, key: string): void => {
    const name = key.slice(key.lastIndexOf('/') + 1);
    if (kind === 'longhornNode') gone.delete(name);
    else if (kind === 'node' && held('longhornNode').has(`${LONGHORN_NAMESPACE}/${name}`)) gone.add(name);
  };

  for (let step = 1; step <= STEPS; step++) {
    // Time passes: nodes NotReady within the grace become down.
    if (chance(random, 0.1)) now += Math.floor(random() * GRACE_MS * 0.6);
    const kind = pick(random, WEIGHTED_KINDS);
    const roll = random();
    if (roll < 0.7) {
      // An upsert: a fresh record, one held with a few fields changed, or an equal copy of one held (a relist's copy,
      // which changes nothing).
      const existing = [...held(kind).values()];
      const which = random();
      const record =
        existing.length === 0 || which < 0.4
          ? randomRecord(kind, random, now)
          : which < 0.85
            ? tweaked(pick(random, existing), randomRecord(kind, random, now), random)
            : structuredClone(pick(random, existing));
      model.upsert(kind, record);
      if (kind === 'node') gone.delete(record.name);
      held(kind).set(keyOf(record), record);
    } else if (roll < 0.85) {
      const keys = [...held(kind).keys()];
      // Sometimes a record the model does not hold.
      const key = keys.length > 0 && chance(random, 0.9) ? pick(random, keys) : keyOf(randomRecord(kind, random, now));
      model.remove(kind, key);
      if (held(kind).delete(key)) lost(kind, key);
    } else {
      // A relist: some of what is held, some of it changed, some new; now and then nothing, or a key twice.
      const list: AnyRecord[] = [];
      if (!chance(random, 0.1)) {
        for (const record of held(kind).values()) {
          if (chance(random, 0.7)) list.push(chance(random, 0.8) ? record : randomRecord(kind, random, now));
        }
        const added = Math.floor(random() * 3);
        for (let i = 0; i < added; i++) list.push(randomRecord(kind, random, now));
        if (list.length > 0 && chance(random, 0.1)) list.push(tweaked(pick(random, list), randomRecord(kind, random, now), random));
      }
      const relisted = shuffled(random, list);
      model.replaceAll(kind, relisted);
      // Two records under one key: the later one stays.
      const next = new Map(relisted.map((record) => [keyOf(record), record]));
      for (const key of held(kind).keys()) if (!next.has(key)) lost(kind, key);
      if (kind === 'node') {
        nodesListed = true;
        for (const record of relisted) gone.delete(record.name);
      }
      truth.set(kind, next);
    }
    if (evaluates) {
      const { kept, judged } = volumeSetsNow(model);
      if (JSON.stringify(kept) !== JSON.stringify(judged)) expect(kept, `seed ${seed}, step ${step}: volume sets and counts`).toEqual(judged);
    }
    if (step % CHECK_EVERY === 0) {
      // The reference keeps the volume sets: a model without them must answer every other query alike.
      const expected = answers(rebuilt(truth, gone, nodesListed, clock, random));
      const actual = answers(model);
      if (evaluates) expect(actual, `seed ${seed}, step ${step}`).toEqual(expected);
      else expect(withoutVolumeSets(actual), `seed ${seed}, step ${step}, without volume sets`).toEqual(withoutVolumeSets(expected));
    }
  }
}

describe('ClusterModel under random churn', () => {
  it(`answers every query as a model built from scratch (${SEEDS} seeds × ${STEPS} steps)`, () => {
    for (let seed = 1; seed <= SEEDS; seed++) churn(seed);
  });
});

// The model keeps its indexes, volume sets and counts current write by write. Whatever the writes (upserts that move a
// record between index buckets, removals, relists of any subset), every public query must answer as a model built from
// scratch with the same final records does (every CHECK_EVERY steps), and after every step the volume sets and counts
// hold what the checks' predicates judge of the records then. Seeded random churn over a small name space, so that
// records collide, move and come back often; a failure names its seed and step.
import { describe, expect, it } from 'vitest';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import {
  RESOURCE_KINDS,
  REPLICA_SOFT_ANTI_AFFINITY,
  recordKey,
  type LonghornReplicaRecord,
  type LonghornVolumeRecord,
  type NodeSelector,
  type OwnerRef,
  type RecordByKind,
  type ResourceKind,
  type VolumeSource,
} from '../../../src/cluster/records.ts';
import type { VolumeContext, VolumePredicate } from '../../../src/cluster/snapshot.ts';
import { HELM_RELEASE_NAME_ANNOTATION, HELM_RELEASE_NAMESPACE_ANNOTATION } from '../../../src/kube.ts';
import {
  clusterApiCluster,
  harvesterUpgrade,
  LONGHORN_NAMESPACE,
  harvesterUpgradePlan,
  longhornNode,
  longhornSetting,
  machine,
  machineDrainRule,
  machineOwner,
  namespace,
  node,
  pick,
  pod,
  pv,
  pvc,
  replica,
  seededRandom,
  statefulSet,
  volume,
} from '../../support/fixtures.ts';

const SEEDS = 60;
const STEPS = 800;
/** Compared with a model built from scratch every this many steps, and at the end. */
const CHECK_EVERY = 400;
const GRACE_MS = 30_000;
const START = Date.parse('2026-01-01T00:00:00Z');

const NODES = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'];
const VOLUMES = ['v0', 'v1', 'v2', 'v3', 'v4', 'v5'];
const REPLICAS = Array.from({ length: 14 }, (_, i) => `r${i}`);
const DISKS = [...NODES.map((n) => `disk-${n}`), 'disk-new'];
/** PVs of Longhorn volumes (`pv-v0`...: a volume's pvName is its own, never another's) and others; `v0`, `v1` as well. */
const PVS = ['pv-v0', 'pv-v1', 'pv-v2', 'pv-v3', 'pv0', 'pv1', 'v0', 'v1'];
const NAMESPACES = ['a', 'b', 'c'];
const CLAIMS = ['c0', 'c1', 'c2', 'c3', 'c4'];
const PODS = ['p0', 'p1', 'p2', 'p3', 'p4'];
const STATEFUL_SETS = ['s0', 's1', 's2'];
const RELEASES = ['rel0', 'rel1', 'rel2'];
const UIDS = ['u0', 'u1', 'u2', 'u3'];
const MACHINES = ['m0', 'm1', 'm2', 'm3'];
const OWNERS = ['md-0', 'md-1', 'cp-0'];
const DISK_LABEL = 'example.com/disk';
const DISK_LABEL_VALUES = ['ssd-1', 'ssd-2'];
const ZONE_LABEL = 'topology.kubernetes.io/zone';
const HOSTNAME_LABEL = 'kubernetes.io/hostname';
const TAGS = ['fast', 'slow'];

/** The kinds written, those the volume sets and pinning read thrice as often as the others. */
const WEIGHTED_KINDS: readonly ResourceKind[] = RESOURCE_KINDS.flatMap((kind) =>
  ['longhornVolume', 'longhornReplica', 'longhornNode', 'longhornSetting', 'node', 'persistentVolume'].includes(kind) ? [kind, kind, kind] : [kind],
);

type Random = () => number;
type AnyRecord = RecordByKind[ResourceKind];

const chance = (random: Random, p: number): boolean => random() < p;
const some = <T>(random: Random, values: readonly T[], p: number): T[] => values.filter(() => chance(random, p));

/** A copy of `values` in a random order (Fisher-Yates). */
function shuffled<T>(random: Random, values: readonly T[]): T[] {
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** A fresh record of `kind` under a name of the small name space: every field a bucket or a volume set reads drawn. */
function randomRecord(kind: ResourceKind, random: Random, now: number): AnyRecord {
  switch (kind) {
    case 'longhornVolume': {
      const name = pick(random, VOLUMES);
      const fields: { -readonly [K in keyof LonghornVolumeRecord]?: LonghornVolumeRecord[K] } = {
        name,
        numberOfReplicas: 1 + Math.floor(random() * 3),
        state: pick(random, ['attached', 'detached', 'attaching', '']),
        robustness: pick(random, ['healthy', 'degraded', 'degraded', 'faulted', 'unknown']),
        currentNodeID: pick(random, ['', ...NODES]),
        // Longhorn binds a PV to one volume: two volumes naming one PV do not happen (longhornVolumeOfPV takes either).
        pvName: pick(random, ['', name, `pv-${name}`]),
        deleting: chance(random, 0.1),
      };
      if (chance(random, 0.2)) fields.strictLocal = true;
      if (chance(random, 0.2)) fields.nodeSelector = some(random, TAGS, 0.5);
      if (chance(random, 0.2)) fields.diskSelector = some(random, TAGS, 0.5);
      if (chance(random, 0.2)) fields.replicaSoftAntiAffinity = pick(random, ['enabled', 'disabled'] as const);
      return volume(fields);
    }
    case 'longhornReplica': {
      const nodeID = chance(random, 0.9) ? pick(random, NODES) : pick(random, ['', 'gone']);
      const failed = chance(random, 0.15);
      return replica({
        name: pick(random, REPLICAS),
        volumeName: pick(random, VOLUMES),
        nodeID,
        diskID: chance(random, 0.8) ? `disk-${nodeID}` : pick(random, DISKS),
        healthyAt: chance(random, 0.9) ? '2024-05-01T10:00:00Z' : '',
        failedAt: failed ? '2024-05-02T10:00:00Z' : '',
        currentState: chance(random, 0.8) ? 'running' : pick(random, ['stopped', 'error', '']),
        deleting: chance(random, 0.1),
        ...(chance(random, 0.1) ? { inactive: true as const } : {}),
      });
    }
    case 'longhornNode': {
      const name = pick(random, [...NODES, 'lh-only']);
      const disks = chance(random, 0.8) ? [`disk-${name}`] : some(random, DISKS, 0.3);
      return longhornNode({
        name,
        diskUUIDs: disks,
        down: chance(random, 0.15),
        ...(chance(random, 0.15) ? { notReadyDiskUUIDs: disks.slice(0, 1) } : {}),
        ...(chance(random, 0.1) ? { refusesReplicas: true as const } : {}),
        // Few nodes taking replicas, so that a degraded volume is often short of nodes (isShortOfNodesOnly).
        ...(chance(random, 0.3) ? { placement: { tags: some(random, TAGS, 0.5), diskTags: [some(random, TAGS, 0.3)] } } : {}),
      });
    }
    case 'longhornSetting':
      return longhornSetting(pick(random, [REPLICA_SOFT_ANTI_AFFINITY, 'node-drain-policy']), pick(random, ['true', 'false', '']));
    case 'harvesterUpgrade':
      return harvesterUpgrade({ name: pick(random, ['h0', 'h1']), state: pick(random, ['UpgradingNodes', 'Succeeded']) });
    case 'harvesterUpgradePlan':
      return harvesterUpgradePlan({ name: pick(random, ['hp0', 'hp1']), state: pick(random, ['NodeUpgrading', 'Succeeded']) });
    case 'node': {
      const name = pick(random, NODES);
      const labels: Record<string, string> = {};
      // Usually its own name; sometimes another node's (two nodes claiming one hostname pin neither), or none.
      if (chance(random, 0.85)) labels[HOSTNAME_LABEL] = chance(random, 0.9) ? name : pick(random, NODES);
      if (chance(random, 0.5)) labels[DISK_LABEL] = pick(random, DISK_LABEL_VALUES);
      if (chance(random, 0.5)) labels[ZONE_LABEL] = pick(random, ['za', 'zb']);
      const leaving = chance(random, 0.15);
      return node({
        name,
        unschedulable: chance(random, 0.2),
        ready: pick(random, ['True', 'True', 'False', 'Unknown', '']),
        readySince: chance(random, 0.1) ? 0 : now - Math.floor(random() * 2 * GRACE_MS),
        labels,
        ...(leaving ? { leaving: true, cordoned: chance(random, 0.5) } : {}),
        // A taint alone may change (where an evicted pod's replacement lands): the stored record must follow.
        ...(chance(random, 0.25) ? { taints: [{ key: 'dedicated', value: pick(random, ['infra', 'db']), effect: pick(random, ['NoSchedule', 'NoExecute'] as const) }] } : {}),
      });
    }
    case 'persistentVolume': {
      const target = pick(random, NODES);
      const affinity: NodeSelector = pick(random, [
        [],
        [{ matchExpressions: [{ key: HOSTNAME_LABEL, operator: 'In', values: [target] }], matchFields: [] }],
        [{ matchExpressions: [{ key: DISK_LABEL, operator: 'In', values: [pick(random, DISK_LABEL_VALUES)] }], matchFields: [] }],
        [{ matchExpressions: [], matchFields: [{ key: 'metadata.name', operator: 'In', values: [target] }] }],
        [
          {
            matchExpressions: [
              { key: HOSTNAME_LABEL, operator: 'In', values: [target, pick(random, NODES)] },
              { key: ZONE_LABEL, operator: 'In', values: ['za'] },
            ],
            matchFields: [],
          },
        ],
        [{ matchExpressions: [{ key: ZONE_LABEL, operator: 'In', values: ['zb'] }], matchFields: [] }],
      ]);
      const source: VolumeSource = pick(random, ['local', 'hostPath', 'csi', 'other']);
      const claimed = chance(random, 0.8);
      return pv({
        name: pick(random, PVS),
        source,
        driver: source === 'csi' ? pick(random, ['driver.longhorn.io', 'topolvm.io']) : '',
        nodeAffinity: affinity,
        namedNode: affinity.length > 0 && chance(random, 0.7) ? target : '',
        pinnedNode: '',
        claimNamespace: claimed ? pick(random, NAMESPACES) : '',
        claimName: claimed ? pick(random, CLAIMS) : '',
        phase: pick(random, ['Bound', 'Bound', 'Released', 'Available']),
      });
    }
    case 'persistentVolumeClaim': {
      const labels: Record<string, string> = {};
      if (chance(random, 0.4)) labels['app.kubernetes.io/instance'] = pick(random, RELEASES);
      if (chance(random, 0.3)) labels['release'] = pick(random, [...RELEASES, '']);
      const annotations: Record<string, string> = {};
      if (chance(random, 0.4)) annotations[HELM_RELEASE_NAME_ANNOTATION] = pick(random, [...RELEASES, '']);
      if (chance(random, 0.3)) annotations[HELM_RELEASE_NAMESPACE_ANNOTATION] = pick(random, ['', ...NAMESPACES]);
      const owners: OwnerRef[] = some(random, UIDS, 0.25).map((uid) => ({ kind: pick(random, ['Pod', 'StatefulSet', 'Tenant']), name: uid, uid }));
      // The same owner twice is filed once.
      if (owners.length > 0 && chance(random, 0.1)) owners.push(owners[0]!);
      return pvc({
        namespace: pick(random, NAMESPACES),
        name: pick(random, CLAIMS),
        volumeName: pick(random, ['', ...PVS]),
        phase: pick(random, ['Bound', 'Pending', 'Lost']),
        labels,
        annotations,
        ownerReferences: owners,
        deleting: chance(random, 0.1),
      });
    }
    case 'pod': {
      const claims = some(random, CLAIMS, 0.25);
      if (claims.length > 0 && chance(random, 0.1)) claims.push(claims[0]!);
      return pod({
        namespace: pick(random, NAMESPACES),
        name: pick(random, PODS),
        nodeName: pick(random, ['', ...NODES]),
        phase: pick(random, ['Running', 'Pending', 'Succeeded']),
        claimNames: claims,
        hostPaths: chance(random, 0.2) ? [{ path: '/var/data', writable: chance(random, 0.5) }] : [],
        emptyDirs: chance(random, 0.2) ? ['scratch'] : [],
        ...(chance(random, 0.2) ? { noScheduleTolerations: [{ key: 'dedicated', operator: pick(random, ['Exists', 'Equal']), value: '' }] } : {}),
        ...(chance(random, 0.2) ? { upgradeJob: { node: pick(random, NODES), plan: 'k3s-agent', serviceAccount: 'system-upgrade', image: 'rancher/k3s-upgrade:v1.31.4-k3s1' } } : {}),
      });
    }
    case 'statefulSet': {
      const helm = chance(random, 0.5);
      return statefulSet({
        namespace: pick(random, NAMESPACES),
        name: pick(random, STATEFUL_SETS),
        replicas: Math.floor(random() * 3),
        helmReleaseName: helm ? pick(random, RELEASES) : '',
        helmReleaseNamespace: helm && chance(random, 0.5) ? pick(random, NAMESPACES) : '',
        ...(chance(random, 0.3) ? { ownerUids: some(random, UIDS, 0.5) } : {}),
        ...(chance(random, 0.1) ? { deleting: true as const } : {}),
      });
    }
    case 'namespace':
      return namespace({
        name: pick(random, NAMESPACES),
        ...(chance(random, 0.3) ? { ownerUids: some(random, UIDS, 0.5) } : {}),
        ...(chance(random, 0.2) ? { labels: { team: pick(random, ['x', 'y']) } } : {}),
      });
    case 'machine': {
      // One Machine per node, as Cluster API runs them (machineRemovingNode names either of two).
      const index = Math.floor(random() * MACHINES.length);
      return machine({
        namespace: 'capi',
        name: MACHINES[index]!,
        nodeName: pick(random, ['', NODES[index]!, NODES[index + MACHINES.length] ?? '']),
        machineSet: pick(random, ['', 'md-0-abc', 'md-1-abc']),
        machineDeployment: pick(random, ['', 'md-0', 'md-1']),
        controlPlane: pick(random, ['', '', 'cp-0']),
        deleting: chance(random, 0.2),
      });
    }
    case 'machineDrainRule':
      return machineDrainRule({ namespace: pick(random, ['capi', 'other']), name: pick(random, ['d0', 'd1']), behavior: pick(random, ['Skip', 'Drain']) });
    case 'clusterApiCluster':
      return clusterApiCluster({ namespace: 'capi', name: pick(random, ['c1', 'c2']), labels: chance(random, 0.5) ? { env: 'prod' } : {} });
    case 'machineDeployment':
    case 'kubeadmControlPlane':
      return machineOwner({
        namespace: 'capi',
        name: pick(random, OWNERS),
        ...(chance(random, 0.3) ? { annotations: { 'volume-guard.io/skip': 'last-replica-on-node' } } : {}),
      });
  }
}

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
      out[`replicaDataKept ${name} ${disk}`] = model.replicaDataKept(name, disk);
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
  for (const name of PVS) out[`persistentVolume ${name}`] = canonical(model.persistentVolume(name));
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
  for (const name of ['c1', 'c2']) out[`clusterApiCluster ${name}`] = canonical(model.clusterApiCluster('capi', name));
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
    replicaDataKept: (name, disk) => model.replicaDataKept(name, disk),
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
 * the one thing the model keeps of history: the Nodes it saw deleted while their Longhorn node stays (`gone`), each
 * registered and deleted again.
 */
function rebuilt(truth: Truth, gone: ReadonlySet<string>, clock: () => number, random: Random): ClusterModel {
  const model = newModel(clock, true);
  const kinds = shuffled(random, RESOURCE_KINDS);
  if (chance(random, 0.5)) {
    for (const kind of kinds) model.replaceAll(kind, [...(truth.get(kind)?.values() ?? [])]);
  } else {
    const all = kinds.flatMap((kind) => [...(truth.get(kind)?.values() ?? [])].map((record) => [kind, record] as const));
    for (const [kind, record] of shuffled(random, all)) model.upsert(kind, record);
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
      if (kind === 'node') for (const record of relisted) gone.delete(record.name);
      truth.set(kind, next);
    }
    if (evaluates) {
      const { kept, judged } = volumeSetsNow(model);
      if (JSON.stringify(kept) !== JSON.stringify(judged)) expect(kept, `seed ${seed}, step ${step}: volume sets and counts`).toEqual(judged);
    }
    if (step % CHECK_EVERY === 0) {
      // The reference keeps the volume sets: a model without them must answer every other query alike.
      const expected = answers(rebuilt(truth, gone, clock, random));
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

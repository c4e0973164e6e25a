// Record builders with defaults, shared by unit tests and benchmarks, and a deterministic synthetic cluster.
// No dependencies beyond the record types: benchmarks import this file as is.

import type {
  HarvesterUpgradeRecord,
  LonghornNodeRecord,
  LonghornReplicaRecord,
  LonghornSettingRecord,
  LonghornVolumeRecord,
  MachineRecord,
  MachineDrainRuleRecord,
  ClusterApiClusterRecord,
  MachineOwnerRecord,
  ModelSink,
  NamespaceRecord,
  NodeRecord,
  PersistentVolumeClaimRecord,
  PersistentVolumeRecord,
  PodRecord,
  ResourceKind,
  StatefulSetRecord,
} from '../../src/cluster/records.ts';

export const LONGHORN_NAMESPACE = 'longhorn-system';
export const HEALTHY_AT = '2024-05-01T10:00:00Z';
export const FAILED_AT = '2024-05-02T10:00:00Z';

/** Shared by records without labels or annotations, as the informers' transforms share theirs. */
const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/** The disk UUID `longhornNode()` gives a node by default, and `replica()` expects on its node. */
export function defaultDiskUUID(nodeName: string): string {
  return `disk-${nodeName}`;
}

// ------------------------------------------------------------------------------------------------ builders

/** A healthy attached Longhorn volume with 3 replicas, bound to PVC `default/<name>-claim`. */
export function volume(fields: Partial<LonghornVolumeRecord> = {}): LonghornVolumeRecord {
  const name = fields.name ?? 'vol-1';
  return {
    namespace: LONGHORN_NAMESPACE,
    name,
    numberOfReplicas: 3,
    state: 'attached',
    robustness: 'healthy',
    currentNodeID: 'node-1',
    pvName: name,
    pvcNamespace: 'default',
    pvcName: `${name}-claim`,
    deleting: false,
    ...fields,
  };
}

/** A detached volume: no node, robustness unknown (what Longhorn reports for a detached volume). */
export function detachedVolume(fields: Partial<LonghornVolumeRecord> = {}): LonghornVolumeRecord {
  return volume({ state: 'detached', robustness: 'unknown', currentNodeID: '', ...fields });
}

/** A healthy running replica of `vol-1` on `node-1`, on that node's default disk. Named `<volume>-r-<node>`. */
export function replica(fields: Partial<LonghornReplicaRecord> = {}): LonghornReplicaRecord {
  const volumeName = fields.volumeName ?? 'vol-1';
  const nodeID = fields.nodeID ?? 'node-1';
  return {
    namespace: LONGHORN_NAMESPACE,
    name: `${volumeName}-r-${nodeID}`,
    volumeName,
    nodeID,
    diskID: defaultDiskUUID(nodeID),
    healthyAt: HEALTHY_AT,
    failedAt: '',
    desireState: 'running',
    currentState: 'running',
    deleting: false,
    ...fields,
  };
}

/** A replica that failed after having been healthy (Longhorn keeps healthyAt and sets failedAt). */
export function failedReplica(fields: Partial<LonghornReplicaRecord> = {}): LonghornReplicaRecord {
  return replica({ failedAt: FAILED_AT, desireState: 'stopped', currentState: 'stopped', ...fields });
}

export function longhornNode(fields: Partial<LonghornNodeRecord> = {}): LonghornNodeRecord {
  const name = fields.name ?? 'node-1';
  return { namespace: LONGHORN_NAMESPACE, name, diskUUIDs: [defaultDiskUUID(name)], down: false, ...fields };
}

/** A Ready node (Ready since 2024-05-01). */
export function node(fields: Partial<NodeRecord> = {}): NodeRecord {
  return { name: 'node-1', unschedulable: false, ready: 'True', readySince: Date.parse(HEALTHY_AT), annotations: {}, labels: {}, ...fields };
}

/** A Harvester Upgrade admitted with skipSingleReplicaDetachedVol, upgrading its nodes. */
export function harvesterUpgrade(fields: Partial<HarvesterUpgradeRecord> = {}): HarvesterUpgradeRecord {
  return { kind: 'Upgrade', namespace: 'harvester-system', name: 'hvst-upgrade-1', skipDetached: true, state: 'UpgradingNodes', nodeStates: {}, ...fields };
}

/** A Harvester upgrade toolkit UpgradePlan admitted with skipSingleReplicaDetachedVol, upgrading its nodes. */
export function harvesterUpgradePlan(fields: Partial<HarvesterUpgradeRecord> = {}): HarvesterUpgradeRecord {
  return { kind: 'UpgradePlan', namespace: '', name: 'hvst-upgrade-2', skipDetached: true, state: 'NodeUpgrading', nodeStates: {}, ...fields };
}

/** A Longhorn setting (`node-drain-policy`...) with its value. */
export function longhornSetting(name: string, value: string): LonghornSettingRecord {
  return { namespace: LONGHORN_NAMESPACE, name, value };
}

export function namespace(fields: Partial<NamespaceRecord> = {}): NamespaceRecord {
  return { name: 'default', annotations: {}, ...fields };
}

/** A bound network CSI PV (not pinned), claimed by `default/<name>-claim`. */
export function pv(fields: Partial<PersistentVolumeRecord> = {}): PersistentVolumeRecord {
  const name = fields.name ?? 'pv-1';
  return {
    name,
    source: 'csi',
    driver: 'driver.longhorn.io',
    storageClassName: 'longhorn',
    pinnedNode: '',
    claimNamespace: 'default',
    claimName: `${name}-claim`,
    phase: 'Bound',
    reclaimPolicy: 'Delete',
    nodeAffinity: [],
    ...fields,
    // Without an affinity the model keeps the node the PV names: a fixture's pinnedNode stays as given.
    namedNode: fields.namedNode ?? fields.pinnedNode ?? '',
  };
}

/** spec.nodeAffinity.required of a PV pinned to `node` by `kubernetes.io/hostname` (or another key). */
export function hostnameAffinity(node: string, key = 'kubernetes.io/hostname'): PersistentVolumeRecord['nodeAffinity'] {
  return [{ matchExpressions: [{ key, operator: 'In', values: [node] }], matchFields: [] }];
}

/** A bound `local` PV pinned to `node-1` (static local provisioner). */
export function localPV(fields: Partial<PersistentVolumeRecord> = {}): PersistentVolumeRecord {
  return pv({ source: 'local', driver: '', storageClassName: 'local-storage', pinnedNode: 'node-1', ...fields });
}

/** A bound `hostPath` PV pinned to `node-1`, as Rancher's local-path provisioner creates them. */
export function hostPathPV(fields: Partial<PersistentVolumeRecord> = {}): PersistentVolumeRecord {
  return pv({
    source: 'hostPath',
    driver: 'rancher.io/local-path',
    storageClassName: 'local-path',
    pinnedNode: 'node-1',
    ...fields,
  });
}

/** A bound CSI PV of the given driver; pass `pinnedNode` for a node-pinned one. */
export function csiPV(driver: string, fields: Partial<PersistentVolumeRecord> = {}): PersistentVolumeRecord {
  return pv({ source: 'csi', driver, storageClassName: driver, ...fields });
}

/** A bound PVC `default/claim-1`. */
export function pvc(fields: Partial<PersistentVolumeClaimRecord> = {}): PersistentVolumeClaimRecord {
  const name = fields.name ?? 'claim-1';
  return {
    namespace: 'default',
    name,
    uid: `uid-pvc-${fields.namespace ?? 'default'}-${name}`,
    volumeName: `pv-${name}`,
    phase: 'Bound',
    storageClassName: 'longhorn',
    labels: {},
    annotations: {},
    ownerReferences: [],
    creationTimestamp: HEALTHY_AT,
    deleting: false,
    ...fields,
  };
}

/** A running pod `default/pod-1` on `node-1` mounting no claim. */
export function pod(fields: Partial<PodRecord> = {}): PodRecord {
  return {
    namespace: 'default',
    name: 'pod-1',
    nodeName: 'node-1',
    phase: 'Running',
    deleting: false,
    claimNames: [],
    controllerKind: '',
    hostPaths: [],
    emptyDirs: [],
    nodeSelector: [],
    ...fields,
  };
}

/** A StatefulSet `default/db` with claim template `data`, not Helm-managed. */
export function machine(fields: Partial<MachineRecord> = {}): MachineRecord {
  return {
    namespace: 'default',
    name: 'machine-1',
    nodeName: 'node-1',
    machineSet: 'md-1-abc',
    machineDeployment: 'md-1',
    controlPlane: '',
    deleteMarked: false,
    unhealthy: false,
    updatingInPlace: false,
    deleting: false,
    clusterName: 'c1',
    labels: {},
    ...fields,
  };
}

/** A Cluster API MachineDrainRule `default/skip-longhorn` skipping Longhorn's instance-manager pods on every Machine. */
export function machineDrainRule(fields: Partial<MachineDrainRuleRecord> = {}): MachineDrainRuleRecord {
  return {
    namespace: 'default',
    name: 'skip-longhorn',
    behavior: 'Skip',
    machines: [],
    pods: [{ selector: { matchLabels: { 'longhorn.io/component': 'instance-manager' }, matchExpressions: [] } }],
    ...fields,
  };
}

/** A Cluster API MachineDeployment (or KubeadmControlPlane) `default/md-a`, without annotations. */
export function machineOwner(fields: Partial<MachineOwnerRecord> = {}): MachineOwnerRecord {
  return { namespace: 'default', name: 'md-a', ...fields };
}

/** A Cluster API Cluster `default/c1`. */
export function clusterApiCluster(fields: Partial<ClusterApiClusterRecord> = {}): ClusterApiClusterRecord {
  return { namespace: 'default', name: 'c1', labels: {}, ...fields };
}

export function statefulSet(fields: Partial<StatefulSetRecord> = {}): StatefulSetRecord {
  const name = fields.name ?? 'db';
  return {
    namespace: 'default',
    name,
    uid: `uid-sts-${fields.namespace ?? 'default'}-${name}`,
    replicas: 1,
    ordinalsStart: 0,
    creationTimestamp: '',
    whenScaled: 'Retain',
    claimTemplates: ['data'],
    selector: { 'app.kubernetes.io/name': name },
    helmReleaseName: '',
    helmReleaseNamespace: '',
    helmKeep: false,
    ...fields,
  };
}

/**
 * A volume with one replica per entry of `replicaNodes` (healthy unless `replicaFields` says otherwise), and
 * numberOfReplicas equal to the number of nodes unless `volumeFields` sets it.
 */
export function volumeWithReplicas(
  name: string,
  replicaNodes: readonly string[],
  volumeFields: Partial<LonghornVolumeRecord> = {},
  replicaFields: Partial<LonghornReplicaRecord> = {},
): { volume: LonghornVolumeRecord; replicas: LonghornReplicaRecord[] } {
  return {
    volume: volume({ name, numberOfReplicas: replicaNodes.length, currentNodeID: replicaNodes[0] ?? '', ...volumeFields }),
    replicas: replicaNodes.map((nodeID) => replica({ volumeName: name, nodeID, ...replicaFields })),
  };
}

// ------------------------------------------------------------------------------------- synthetic cluster

/** Mulberry32: a small seeded PRNG, so a synthetic cluster is the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One of `values`, drawn with `random` (seededRandom). */
export function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)] as T;
}

/**
 * A flat copy of a concatenated string. Concatenation builds ropes, which cost more memory than the flat
 * strings JSON.parse gives the informers; the synthetic cluster's memory figures must match the real thing.
 */
export function flat(value: string): string {
  let out = '';
  for (let start = 0; start < value.length; start += 4096) {
    const codes: number[] = [];
    for (let i = start; i < Math.min(value.length, start + 4096); i++) codes.push(value.charCodeAt(i));
    out += String.fromCharCode(...codes);
  }
  return out;
}

export interface SyntheticClusterOptions {
  readonly nodes: number;
  /** Longhorn volumes; the first `min(volumes, pvs)` PVs and PVCs are theirs. */
  readonly volumes: number;
  readonly replicasPerVolume: number;
  /** PersistentVolumes, each bound to its own PVC: `pvs` PVs plus `pvs` PVCs. */
  readonly pvs: number;
  /** Pods; the first min(pods, pvs) mount one claim each, spread evenly over all claims. */
  readonly pods: number;
  /** Helm-managed StatefulSets, 1–3 replicas each with claim template `data` (their PVCs count in `pvs`). */
  readonly statefulSets: number;
  /**
   * Fraction of Longhorn volumes at risk (single replica attached/detached, effective single replica, degraded,
   * replica on a vanished disk, in turn), and of Helm releases uninstalled with their PVCs left behind.
   */
  readonly riskFraction: number;
  /** Fraction of the non-Longhorn PVs that are node-local (local, hostPath, TopoLVM); default 0.5. */
  readonly localFraction?: number;
  /** Default: one per 500 PVCs, at least 1. */
  readonly namespaces?: number;
  readonly seed?: number;
}

/** The small cluster of issue 8's scale comparison. */
export const SMALL_CLUSTER: SyntheticClusterOptions = {
  nodes: 50,
  volumes: 200,
  replicasPerVolume: 3,
  pvs: 400,
  pods: 200,
  statefulSets: 20,
  riskFraction: 0.02,
};

/** The large cluster of issue 8: 5,000 nodes, 20,000 volumes, 60,000 replicas, 50,000 PVs and PVCs... */
export const LARGE_CLUSTER: SyntheticClusterOptions = {
  nodes: 5_000,
  volumes: 20_000,
  replicasPerVolume: 3,
  pvs: 50_000,
  pods: 20_000,
  statefulSets: 2_000,
  riskFraction: 0.02,
};

export interface ObjectRef {
  readonly namespace: string;
  readonly name: string;
}

export interface HelmReleaseRef {
  readonly namespace: string;
  readonly name: string;
  readonly statefulSet: string;
  readonly replicas: number;
}

export interface SyntheticClusterSummary {
  readonly counts: Readonly<Record<ResourceKind, number>>;
  readonly nodeNames: readonly string[];
  /** Holds replicas of healthy volumes only and no node-local PV: a cordon there is allowed. */
  readonly safeNode: string;
  /** Holds the only healthy replica of some volumes and node-local PVs in use: a cordon there is denied. */
  readonly riskyNode: string;
  readonly riskyVolumes: number;
  /** A pod on the safe node mounting a healthy Longhorn volume (eviction allowed), when the sizes allow one. */
  readonly podOnSafeNode: ObjectRef | undefined;
  /** A pod on the risky node mounting a node-local PV (eviction denied), when the sizes allow one. */
  readonly localPodOnRiskyNode: ObjectRef | undefined;
  /** Releases installed with their StatefulSet (upgrading one is allowed). */
  readonly releases: readonly HelmReleaseRef[];
  /** Releases uninstalled with their PVCs left behind (installing one again must be denied). */
  readonly orphanedReleases: readonly HelmReleaseRef[];
}

type RiskKind = 'single-attached' | 'single-detached' | 'effective-single' | 'degraded' | 'disk-missing';
const RISK_KINDS: readonly RiskKind[] = [
  'single-attached',
  'single-detached',
  'effective-single',
  'degraded',
  'disk-missing',
];

/** Indices 0..total-1 spread evenly, `round(total * fraction)` of them. */
function evenlySpread(total: number, fraction: number): Set<number> {
  const count = Math.min(total, Math.round(total * fraction));
  const chosen = new Set<number>();
  for (let k = 0; k < count; k++) chosen.add(Math.floor((k * total) / count));
  return chosen;
}

/**
 * node-1 carrying `annotations` (an override, say), with a local PV in use there by pod db-0 through claim `data`: a
 * node-local-volume risk at its cordon.
 */
export function addNodeWithLocalPvInUse(model: ModelSink, annotations: Record<string, string>): void {
  model.upsert('node', node({ name: 'node-1', annotations }));
  model.upsert('persistentVolume', localPV({ name: 'pv-1', pinnedNode: 'node-1', claimName: 'data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'data', volumeName: 'pv-1' }));
  model.upsert('pod', pod({ name: 'db-0', nodeName: 'node-1', claimNames: ['data'] }));
}

/**
 * Fills `model` (through replaceAll, like an informer's first list) with a deterministic synthetic cluster.
 * Node 0 is the safe node and node 1 the risky one; everything else is placed by a seeded PRNG.
 */
export function syntheticCluster(model: ModelSink, options: SyntheticClusterOptions): SyntheticClusterSummary {
  const random = seededRandom(options.seed ?? 1);
  const hex = (length: number): string => {
    let out = '';
    while (out.length < length) out += Math.floor(random() * 0x100000000).toString(16).padStart(8, '0');
    return out.slice(0, length);
  };
  const uuid = (): string => {
    const h = hex(32);
    return flat(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`);
  };
  const pick = (from: number, to: number): number => from + Math.floor(random() * (to - from));

  const nodeCount = Math.max(1, options.nodes);
  const width = String(nodeCount - 1).length;
  const nodeNames = Array.from({ length: nodeCount }, (_, i) => `node-${String(i).padStart(width, '0')}`);
  const safeNode = nodeNames[0] as string;
  const riskyIndex = nodeCount > 1 ? 1 : 0;
  const riskyNode = nodeNames[riskyIndex] as string;
  /** A node that is not the safe one (when there is more than one node). */
  const unsafeNodeIndex = (): number => (nodeCount > 1 ? pick(1, nodeCount) : 0);
  const nodes: NodeRecord[] = nodeNames.map((name) => ({
    name,
    unschedulable: false,
    ready: 'True',
    readySince: 0,
    annotations: NO_LABELS,
    labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': `zone-${name.slice(-1)}` },
  }));
  const longhornNodes: LonghornNodeRecord[] = nodeNames.map((name) => ({
    namespace: LONGHORN_NAMESPACE,
    name,
    diskUUIDs: [uuid()],
    down: false,
    // Scheduling on, one disk taking replicas, as longhorn-manager reports a node.
    placement: { tags: [], diskTags: [[]] },
  }));
  const diskOf = (nodeIndex: number): string => (longhornNodes[nodeIndex] as LonghornNodeRecord).diskUUIDs[0] as string;

  const pvCount = Math.max(0, options.pvs);
  const namespaceCount = Math.max(1, options.namespaces ?? Math.round(pvCount / 500));
  const namespaceNames = Array.from({ length: namespaceCount }, (_, i) => `ns-${i}`);
  const namespaces: NamespaceRecord[] = namespaceNames.map((name) => ({ name, annotations: NO_LABELS }));
  const namespaceOf = (i: number): string => namespaceNames[i % namespaceCount] as string;

  // Claims: the Helm StatefulSets' first, then plain ones. Claim i is bound to PV i.
  interface ClaimPlan {
    namespace: string;
    name: string;
    labels: Readonly<Record<string, string>>;
  }
  const claims: ClaimPlan[] = [];
  const statefulSets: StatefulSetRecord[] = [];
  const releases: HelmReleaseRef[] = [];
  const orphanedReleases: HelmReleaseRef[] = [];
  const orphaned = evenlySpread(options.statefulSets, options.riskFraction);
  for (let j = 0; j < options.statefulSets && claims.length < pvCount; j++) {
    const ns = namespaceOf(j);
    const release = `release-${j}`;
    const stsName = `${release}-db`;
    const replicas = 1 + (j % 3);
    const ref: HelmReleaseRef = { namespace: ns, name: release, statefulSet: stsName, replicas };
    for (let ordinal = 0; ordinal < replicas && claims.length < pvCount; ordinal++) {
      claims.push({
        namespace: ns,
        name: flat(`data-${stsName}-${ordinal}`),
        labels: { 'app.kubernetes.io/instance': release, 'app.kubernetes.io/name': 'db' },
      });
    }
    if (orphaned.has(j)) {
      orphanedReleases.push(ref);
      continue;
    }
    releases.push(ref);
    statefulSets.push({
      namespace: ns,
      name: stsName,
      uid: uuid(),
      replicas,
      ordinalsStart: 0,
      creationTimestamp: '',
      whenScaled: 'Retain',
      claimTemplates: ['data'],
      selector: { 'app.kubernetes.io/instance': release, 'app.kubernetes.io/name': 'db' },
      helmReleaseName: release,
      helmReleaseNamespace: ns,
      helmKeep: false,
    });
  }
  for (let i = claims.length; i < pvCount; i++) {
    claims.push({ namespace: namespaceOf(i), name: flat(`claim-${i}`), labels: NO_LABELS });
  }

  // Pods: pod p mounts claim floor(p * claims / mounting pods), so mounted claims spread over every kind of PV.
  const mountingPods = Math.min(options.pods, claims.length);
  const podOfClaim = new Map<number, number>();
  for (let p = 0; p < mountingPods; p++) podOfClaim.set(Math.floor((p * claims.length) / mountingPods), p);
  const podNodeOfClaim = new Map<number, number>();

  // Longhorn volumes, their replicas and PVs.
  const volumeCount = Math.max(0, options.volumes);
  const risky = evenlySpread(volumeCount, options.riskFraction);
  const volumes: LonghornVolumeRecord[] = [];
  const replicas: LonghornReplicaRecord[] = [];
  const pvs: PersistentVolumeRecord[] = [];
  const pvNames: string[] = [];
  const replicaCount = Math.max(1, Math.min(options.replicasPerVolume, nodeCount));
  let riskOrdinal = 0;
  let safeNodeHasLonghornPod = false;
  for (let i = 0; i < volumeCount; i++) {
    const name = flat(`pvc-${uuid()}`);
    const claim = i < claims.length ? claims[i] : undefined;
    const mounted = podOfClaim.has(i);
    const riskKind = risky.has(i) ? RISK_KINDS[riskOrdinal % RISK_KINDS.length] : undefined;
    const copies = riskKind === 'single-attached' || riskKind === 'single-detached' ? 1 : replicaCount;
    // Risky volumes stay off the safe node; every fourth one keeps its first (healthy) replica on the risky
    // node. The first healthy mounted volume is attached on the safe node (an eviction there is allowed).
    let first: number;
    if (riskKind !== undefined) {
      first = riskOrdinal % 4 === 0 ? riskyIndex : unsafeNodeIndex();
      riskOrdinal++;
    } else if (mounted && !safeNodeHasLonghornPod) {
      first = 0;
      safeNodeHasLonghornPod = true;
    } else {
      first = pick(0, nodeCount);
    }
    const stride = Math.max(1, Math.floor(nodeCount / copies));
    const replicaNodes: number[] = [];
    for (let k = 0; k < copies; k++) {
      let candidate = (first + k * stride) % nodeCount;
      while (replicaNodes.includes(candidate) || (riskKind !== undefined && candidate === 0 && nodeCount > copies)) {
        candidate = (candidate + 1) % nodeCount;
      }
      replicaNodes.push(candidate);
    }
    // Risky volumes other than the detached kind are attached: a detached volume's robustness is unknown.
    const attached = riskKind === undefined ? mounted : riskKind !== 'single-detached';
    const attachedNode = replicaNodes[0] as number;
    if (mounted) podNodeOfClaim.set(i, attachedNode);
    const failedCopies = riskKind === 'effective-single' ? copies - 1 : riskKind === 'degraded' ? 1 : 0;
    volumes.push({
      namespace: LONGHORN_NAMESPACE,
      name,
      numberOfReplicas: copies,
      state: attached ? 'attached' : 'detached',
      robustness: !attached ? 'unknown' : failedCopies > 0 ? 'degraded' : 'healthy',
      currentNodeID: attached ? (nodeNames[attachedNode] as string) : '',
      pvName: claim ? name : '',
      pvcNamespace: claim ? claim.namespace : '',
      pvcName: claim ? claim.name : '',
      deleting: false,
    });
    replicaNodes.forEach((nodeIndex, k) => {
      // Failed copies are the last ones, so the first replica (on the risky node, for some) stays healthy.
      const failed = k >= copies - failedCopies;
      const running = attached && !failed;
      replicas.push({
        namespace: LONGHORN_NAMESPACE,
        name: flat(`${name}-r-${hex(8)}`),
        volumeName: name,
        nodeID: nodeNames[nodeIndex] as string,
        diskID: riskKind === 'disk-missing' && k === copies - 1 ? uuid() : diskOf(nodeIndex),
        healthyAt: HEALTHY_AT,
        failedAt: failed ? FAILED_AT : '',
        desireState: running ? 'running' : 'stopped',
        currentState: running ? 'running' : 'stopped',
        deleting: false,
      });
    });
    if (claim) {
      pvNames.push(name);
      pvs.push({
        name,
        source: 'csi',
        driver: 'driver.longhorn.io',
        storageClassName: 'longhorn',
        pinnedNode: '',
        claimNamespace: claim.namespace,
        claimName: claim.name,
        phase: 'Bound',
        reclaimPolicy: 'Delete',
        nodeAffinity: [],
        namedNode: '',
      });
    }
  }

  // The other PVs: node-local ones (never on the safe node; every tenth on the risky node) and network ones.
  const firstOtherPV = pvs.length;
  const localPVs = evenlySpread(claims.length - firstOtherPV, options.localFraction ?? 0.5);
  let localOrdinal = 0;
  for (let i = firstOtherPV; i < claims.length; i++) {
    const claim = claims[i] as ClaimPlan;
    const name = flat(`pvc-${uuid()}`);
    pvNames.push(name);
    const base = {
      name,
      claimNamespace: claim.namespace,
      claimName: claim.name,
      phase: 'Bound',
      reclaimPolicy: 'Delete',
    };
    if (!localPVs.has(i - firstOtherPV)) {
      // A zonal network disk: its affinity names a zone of several nodes, which never pins.
      const zone = `zone-${i % 10}`;
      const nodeAffinity = [
        { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: [zone] }], matchFields: [] },
      ];
      pvs.push({ ...base, source: 'csi', driver: 'ebs.csi.aws.com', storageClassName: 'gp3', pinnedNode: '', nodeAffinity, namedNode: '' });
      if (podOfClaim.has(i)) podNodeOfClaim.set(i, unsafeNodeIndex());
      continue;
    }
    const nodeIndex = localOrdinal % 10 === 0 ? riskyIndex : unsafeNodeIndex();
    const flavour = localOrdinal % 3;
    localOrdinal++;
    const pinnedNode = nodeNames[nodeIndex] as string;
    if (podOfClaim.has(i)) podNodeOfClaim.set(i, nodeIndex);
    // Pinned as provisioners do it, by a node-affinity term the model resolves against the nodes' labels.
    const pinned = { pinnedNode, namedNode: pinnedNode, nodeAffinity: hostnameAffinity(pinnedNode) };
    if (flavour === 0) {
      pvs.push({ ...base, source: 'local', driver: '', storageClassName: 'local-storage', ...pinned });
    } else if (flavour === 1) {
      pvs.push({ ...base, source: 'hostPath', driver: 'rancher.io/local-path', storageClassName: 'local-path', ...pinned });
    } else {
      pvs.push({ ...base, source: 'csi', driver: 'topolvm.io', storageClassName: 'topolvm', ...pinned });
    }
  }

  const pvcs: PersistentVolumeClaimRecord[] = claims.map((claim, i) => ({
    namespace: claim.namespace,
    name: claim.name,
    uid: uuid(),
    volumeName: pvNames[i] as string,
    phase: 'Bound',
    storageClassName: (pvs[i] as PersistentVolumeRecord).storageClassName,
    labels: claim.labels,
    annotations: NO_LABELS,
    ownerReferences: [],
    creationTimestamp: HEALTHY_AT,
    deleting: false,
  }));

  const pods: PodRecord[] = [];
  let podOnSafeNode: ObjectRef | undefined;
  let localPodOnRiskyNode: ObjectRef | undefined;
  for (let p = 0; p < options.pods; p++) {
    const claimIndex = p < mountingPods ? Math.floor((p * claims.length) / mountingPods) : -1;
    const claim = claims[claimIndex];
    const nodeIndex = claim === undefined ? pick(0, nodeCount) : (podNodeOfClaim.get(claimIndex) ?? unsafeNodeIndex());
    const record: PodRecord = {
      namespace: claim?.namespace ?? namespaceOf(p),
      name: flat(`pod-${p}`),
      nodeName: nodeNames[nodeIndex] as string,
      phase: 'Running',
      deleting: false,
      claimNames: claim === undefined ? [] : [claim.name],
      controllerKind: claim === undefined ? 'ReplicaSet' : 'StatefulSet',
      hostPaths: [],
      emptyDirs: [],
      nodeSelector: [],
    };
    pods.push(record);
    if (claim === undefined) continue;
    if (podOnSafeNode === undefined && nodeIndex === 0 && claimIndex < volumeCount) {
      podOnSafeNode = { namespace: record.namespace, name: record.name };
    }
    const boundPV = pvs[claimIndex] as PersistentVolumeRecord;
    if (localPodOnRiskyNode === undefined && boundPV.pinnedNode === riskyNode) {
      localPodOnRiskyNode = { namespace: record.namespace, name: record.name };
    }
  }

  model.setLonghornInstalled(true);
  model.replaceAll('namespace', namespaces);
  model.replaceAll('node', nodes);
  model.replaceAll('longhornNode', longhornNodes);
  model.replaceAll('longhornVolume', volumes);
  model.replaceAll('longhornReplica', replicas);
  model.replaceAll('persistentVolume', pvs);
  model.replaceAll('persistentVolumeClaim', pvcs);
  model.replaceAll('pod', pods);
  model.replaceAll('statefulSet', statefulSets);

  return {
    counts: {
      longhornVolume: volumes.length,
      longhornReplica: replicas.length,
      longhornNode: longhornNodes.length,
      longhornSetting: 0,
      harvesterUpgrade: 0,
      harvesterUpgradePlan: 0,
      node: nodes.length,
      persistentVolume: pvs.length,
      persistentVolumeClaim: pvcs.length,
      pod: pods.length,
      statefulSet: statefulSets.length,
      machine: 0,
      machineDrainRule: 0,
      clusterApiCluster: 0,
      machineDeployment: 0,
      kubeadmControlPlane: 0,
      namespace: namespaces.length,
    },
    nodeNames,
    safeNode,
    riskyNode,
    riskyVolumes: risky.size,
    podOnSafeNode,
    localPodOnRiskyNode,
    releases,
    orphanedReleases,
  };
}

// Random records of every kind over a small name space, so that records collide, move and come back often: the
// generator of the model's churn test (test/unit/cluster/model-churn.test.ts), shared with the risk tracker's tests.
import {
  RESOURCE_KINDS,
  REPLICA_SOFT_ANTI_AFFINITY,
  type LonghornVolumeRecord,
  type NodeSelector,
  type OwnerRef,
  type RecordByKind,
  type ResourceKind,
  type VolumeSource,
} from '../../src/cluster/records.ts';
import { HELM_RELEASE_NAME_ANNOTATION, HELM_RELEASE_NAMESPACE_ANNOTATION } from '../../src/kube.ts';
import {
  clusterApiCluster,
  harvesterUpgrade,
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
  statefulSet,
  volume,
} from './fixtures.ts';

/** How long a NotReady node stays up (the model's nodeDownGraceMs in the churn test); readySince is drawn within 2×. */
export const GRACE_MS = 30_000;

export const NODES = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'];
export const VOLUMES = ['v0', 'v1', 'v2', 'v3', 'v4', 'v5'];
const REPLICAS = Array.from({ length: 14 }, (_, i) => `r${i}`);
export const DISKS = [...NODES.map((n) => `disk-${n}`), 'disk-new'];
/** PVs of Longhorn volumes (`pv-v0`...: a volume's pvName is its own, never another's) and others; `v0`, `v1` as well. */
export const PVS = ['pv-v0', 'pv-v1', 'pv-v2', 'pv-v3', 'pv0', 'pv1', 'v0', 'v1'];
export const NAMESPACES = ['a', 'b', 'c'];
export const CLAIMS = ['c0', 'c1', 'c2', 'c3', 'c4'];
export const PODS = ['p0', 'p1', 'p2', 'p3', 'p4'];
export const STATEFUL_SETS = ['s0', 's1', 's2'];
export const RELEASES = ['rel0', 'rel1', 'rel2'];
export const UIDS = ['u0', 'u1', 'u2', 'u3'];
const MACHINES = ['m0', 'm1', 'm2', 'm3'];
export const OWNERS = ['md-0', 'md-1', 'cp-0'];
export const DISK_LABEL = 'example.com/disk';
export const DISK_LABEL_VALUES = ['ssd-1', 'ssd-2'];
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';
const TAGS = ['fast', 'slow'];

/** The kinds written, those the volume sets and pinning read thrice as often as the others. */
export const WEIGHTED_KINDS: readonly ResourceKind[] = RESOURCE_KINDS.flatMap((kind) =>
  ['longhornVolume', 'longhornReplica', 'longhornNode', 'longhornSetting', 'node', 'persistentVolume'].includes(kind) ? [kind, kind, kind] : [kind],
);

export type Random = () => number;
export type AnyRecord = RecordByKind[ResourceKind];

export const chance = (random: Random, p: number): boolean => random() < p;
const some = <T>(random: Random, values: readonly T[], p: number): T[] => values.filter(() => chance(random, p));

/** A copy of `values` in a random order (Fisher-Yates). */
export function shuffled<T>(random: Random, values: readonly T[]): T[] {
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** A fresh record of `kind` under a name of the small name space: every field a bucket or a volume set reads drawn. */
export function randomRecord(kind: ResourceKind, random: Random, now: number): AnyRecord {
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
      if (chance(random, 0.1)) fields.restoring = true;
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
        // Salvaged after every replica failed, no engine has run it since (not a copy until one does).
        ...(!failed && chance(random, 0.05) ? { lastFailedAt: '2024-05-02T10:00:00Z' } : {}),
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
        ...(chance(random, 0.3) ? { helmReleaseName: pick(random, RELEASES), helmReleaseNamespace: pick(random, NAMESPACES) } : {}),
      });
    case 'machine': {
      // One Machine per node, as Cluster API runs them (machineRemovingNode names either of two).
      const index = Math.floor(random() * MACHINES.length);
      const controlPlane = pick(random, ['', '', 'cp-0']);
      return machine({
        namespace: 'capi',
        name: MACHINES[index]!,
        nodeName: pick(random, ['', NODES[index]!, NODES[index + MACHINES.length] ?? '']),
        machineSet: pick(random, ['', 'md-0-abc', 'md-1-abc']),
        machineDeployment: pick(random, ['', 'md-0', 'md-1']),
        controlPlane,
        deleting: chance(random, 0.2),
        clusterName: pick(random, ['c1', 'c2', '']),
        labels: controlPlane === '' ? {} : { 'cluster.x-k8s.io/control-plane': '' },
      });
    }
    case 'machineDrainRule':
      return machineDrainRule({ namespace: pick(random, ['capi', 'other']), name: pick(random, ['d0', 'd1']), behavior: pick(random, ['Skip', 'Drain']) });
    case 'clusterApiCluster':
      return clusterApiCluster({
        namespace: 'capi',
        name: pick(random, ['c1', 'c2']),
        labels: chance(random, 0.5) ? { env: 'prod' } : {},
        ...(chance(random, 0.5) ? { controlPlaneRef: { kind: 'KubeadmControlPlane', name: pick(random, OWNERS) } } : {}),
      });
    case 'machineDeployment':
    case 'kubeadmControlPlane':
      return machineOwner({
        namespace: 'capi',
        name: pick(random, OWNERS),
        ...(chance(random, 0.3) ? { annotations: { 'volume-guard.io/skip': 'last-replica-on-node' } } : {}),
        ...(chance(random, 0.2) ? { deleting: true as const } : {}),
      });
  }
}

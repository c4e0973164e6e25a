// One small cluster with every kind of risk and override the audit reports, shared by the report and golden tests.
import { ClusterModel } from '../../../src/cluster/model.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import type { OverrideCarrier } from '../../../src/audit/overrides.ts';
import type { RecordByKind, ResourceKind } from '../../../src/cluster/records.ts';
import {
  detachedVolume,
  failedReplica,
  hostPathPV,
  localPV,
  longhornNode,
  namespace,
  node,
  pod,
  pv,
  pvc,
  replica,
  statefulSet,
  volume,
} from '../../support/fixtures.ts';

export const GENERATED_AT = '2026-01-15T08:00:00.000Z';

/**
 * The Helm release records the whole-cluster audit lists (latest revision each): shop installed, devlake uninstalled
 * with --keep-history (seed 000: its MySQL claims stayed behind).
 */
export const RELEASE_RECORDS = [
  { namespace: 'shop', name: 'shop', revisions: [{ version: 3, status: 'deployed', store: 'Secret' as const }] },
  { namespace: 'devlake', name: 'devlake', revisions: [{ version: 2, status: 'uninstalled', store: 'Secret' as const }] },
];
export const CLUSTER = { server: 'https://10.0.0.1:6443', context: 'admin@prod' } as const;

type Records = { [K in ResourceKind]?: RecordByKind[K][] };

export function goldenRecords(): Records {
  return {
    node: [
      node({
        name: 'node-1',
        annotations: {
          'volume-guard.io/skip': 'node-local-volume',
          'volume-guard.io/skip-reason': 'disk swap approved, INC-42',
          'volume-guard.io/skip-by': 'alice@example.com',
          'volume-guard.io/skip-until': '2099-01-15T18:00:00Z',
        },
      }),
      node({ name: 'node-2' }),
      node({ name: 'node-3' }),
    ],
    namespace: [
      namespace({ name: 'default' }),
      namespace({
        name: 'shop',
        annotations: { 'volume-guard.io/skip': 'orphan-pvc,typo-check', 'volume-guard.io/skip-evictions': 'node-local-volume', 'volume-guard.io/skip-by': 'bob' },
      }),
      namespace({ name: 'devlake' }),
    ],
    longhornNode: [
      longhornNode({ name: 'node-1' }),
      longhornNode({ name: 'node-2' }),
      // Seed 002: node-3's disk was reformatted, its UUID changed.
      longhornNode({ name: 'node-3', diskUUIDs: ['disk-node-3-new'] }),
    ],
    longhornVolume: [
      detachedVolume({ name: 'vol-single', numberOfReplicas: 1, pvcNamespace: 'shop', pvcName: 'orders' }),
      volume({ name: 'vol-effective', robustness: 'degraded', currentNodeID: 'node-2', pvcNamespace: 'shop', pvcName: 'carts' }),
      volume({ name: 'vol-disk', currentNodeID: 'node-1', pvcNamespace: 'default', pvcName: 'logs' }),
      volume({ name: 'vol-ok', currentNodeID: 'node-2', pvcNamespace: 'default', pvcName: 'ok' }),
      // A statically provisioned volume an admin let a GitOps prune delete, and forgot.
      volume({
        name: 'vol-static',
        currentNodeID: 'node-2',
        pvName: '',
        pvcNamespace: '',
        pvcName: '',
        annotations: { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-reason': 'decommissioned, INC-7', 'volume-guard.io/skip-by': 'erin' },
      }),
    ],
    longhornReplica: [
      replica({ volumeName: 'vol-single', nodeID: 'node-1', currentState: 'stopped' }),
      replica({ volumeName: 'vol-effective', nodeID: 'node-2' }),
      failedReplica({ volumeName: 'vol-effective', nodeID: 'node-1' }),
      failedReplica({ volumeName: 'vol-effective', nodeID: 'node-3', diskID: 'disk-node-3-new' }),
      replica({ volumeName: 'vol-disk', nodeID: 'node-1' }),
      replica({ volumeName: 'vol-disk', nodeID: 'node-2' }),
      replica({ volumeName: 'vol-disk', nodeID: 'node-3' }),
      replica({ volumeName: 'vol-ok', nodeID: 'node-1' }),
      replica({ volumeName: 'vol-ok', nodeID: 'node-2' }),
      replica({ volumeName: 'vol-ok', nodeID: 'node-3', diskID: 'disk-node-3-new' }),
    ],
    persistentVolume: [
      localPV({ name: 'pv-mysql', pinnedNode: 'node-1', claimNamespace: 'shop', claimName: 'mysql-data' }),
      // Pinned to a node that no longer exists: its data is wherever that machine went.
      hostPathPV({ name: 'pv-cache', pinnedNode: 'node-gone', claimNamespace: 'default', claimName: 'cache' }),
      pv({ name: 'pv-shop-0', claimNamespace: 'shop', claimName: 'data-shop-db-0', reclaimPolicy: 'Retain' }),
      // Released, its delete approval written without a writer: listed, not honored.
      pv({ name: 'pv-released', claimNamespace: 'shop', claimName: 'gone', phase: 'Released', reclaimPolicy: 'Retain', annotations: { 'volume-guard.io/delete': 'true' } }),
    ],
    persistentVolumeClaim: [
      pvc({ namespace: 'shop', name: 'mysql-data', volumeName: 'pv-mysql' }),
      pvc({ namespace: 'default', name: 'cache', volumeName: 'pv-cache', labels: { 'volume-guard.io/skip': 'node-local-volume' } }),
      // DevLake, uninstalled: its MySQL claims stayed behind (seed 000).
      pvc({ namespace: 'devlake', name: 'data-devlake-mysql-0', volumeName: 'pv-dl-0', labels: { 'app.kubernetes.io/instance': 'devlake' } }),
      pvc({
        namespace: 'devlake',
        name: 'data-devlake-mysql-1',
        volumeName: 'pv-dl-1',
        labels: { 'app.kubernetes.io/instance': 'devlake' },
        annotations: { 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-reason': 'restore from yesterday', 'volume-guard.io/skip-by': 'carol' },
      }),
      // Shop, installed: its StatefulSet claims these.
      pvc({ namespace: 'shop', name: 'data-shop-db-0', volumeName: 'pv-shop-0', labels: { 'app.kubernetes.io/instance': 'shop' } }),
      pvc({
        namespace: 'shop',
        name: 'shop-uploads',
        volumeName: 'pv-shop-up',
        labels: { 'app.kubernetes.io/instance': 'shop' },
        annotations: { 'meta.helm.sh/release-name': 'shop', 'meta.helm.sh/release-namespace': 'shop' },
      }),
      pvc({ namespace: 'shop', name: 'old-export', volumeName: '', labels: { release: 'shop' } }),
    ],
    pod: [pod({ namespace: 'shop', name: 'mysql-0', nodeName: 'node-1', claimNames: ['mysql-data'] })],
    statefulSet: [
      statefulSet({
        namespace: 'shop',
        name: 'shop-db',
        claimTemplates: ['data'],
        selector: { 'app.kubernetes.io/instance': 'shop' },
        helmReleaseName: 'shop',
        helmReleaseNamespace: 'shop',
      }),
    ],
  };
}

/** A model filled from records, kinds in the given order (the report must not depend on it). */
export function modelOf(records: Records, options: { longhornInstalled?: boolean; reverse?: boolean } = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(options.longhornInstalled ?? true);
  const kinds = Object.keys(records) as ResourceKind[];
  for (const kind of options.reverse ? [...kinds].reverse() : kinds) {
    const list = [...(records[kind] ?? [])];
    if (options.reverse) list.reverse();
    // One upsert at a time, as watch events arrive.
    for (const record of list) model.upsert(kind, record as RecordByKind[typeof kind]);
  }
  return model;
}

export function goldenModel(options: { reverse?: boolean } = {}): ClusterModel {
  return modelOf(goldenRecords(), options);
}

export const UPGRADE_OBJECTS: readonly OverrideCarrier[] = [
  {
    kind: 'Upgrade',
    namespace: 'harvester-system',
    name: 'hvst-upgrade-v1-4',
    annotations: {
      'harvesterhci.io/skipSingleReplicaDetachedVol': 'true',
      'volume-guard.io/skip': 'single-replica, bogus',
      'volume-guard.io/skip-reason': 'upgrade window 2026-01-10',
    },
    labels: {},
    appliesTo: 'the creation of this Upgrade, and the cordons and drains of its nodes while it upgrades them',
    harvesterUpgrade: true,
  },
  {
    kind: 'Plan',
    namespace: 'system-upgrade',
    name: 'k3s-server',
    annotations: { 'volume-guard.io/skip-by': 'system:serviceaccount:fleet:deployer', 'volume-guard.io/skip-until': '2026-01-01T00:00:00Z' },
    labels: { 'volume-guard.io/skip': '*' },
    appliesTo: 'every change of this Plan that starts a rollout',
  },
];

// Builds small models for the check tests.

import { ClusterModel, type ClusterModelOptions } from '../../../src/cluster/model.ts';
import type {
  LonghornNodeRecord,
  LonghornReplicaRecord,
  LonghornVolumeRecord,
  PersistentVolumeClaimRecord,
  PersistentVolumeRecord,
  PodRecord,
} from '../../../src/cluster/records.ts';
import type { ClusterSnapshot } from '../../../src/cluster/snapshot.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { longhornNode } from '../../support/fixtures.ts';

export interface ClusterRecords {
  readonly volumes?: readonly LonghornVolumeRecord[];
  readonly replicas?: readonly LonghornReplicaRecord[];
  /** Default: one Longhorn node per replica node, with the disk `replica()` expects. */
  readonly longhornNodes?: readonly LonghornNodeRecord[];
  readonly pvs?: readonly PersistentVolumeRecord[];
  readonly pvcs?: readonly PersistentVolumeClaimRecord[];
  readonly pods?: readonly PodRecord[];
  readonly longhornInstalled?: boolean;
}

export function clusterOf(records: ClusterRecords, options: ClusterModelOptions = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, options);
  model.setLonghornInstalled(records.longhornInstalled ?? true);
  const replicas = records.replicas ?? [];
  const nodes =
    records.longhornNodes ??
    [...new Set(replicas.map((r) => r.nodeID).filter((n) => n !== ''))].map((name) => longhornNode({ name }));
  model.replaceAll('longhornNode', nodes);
  model.replaceAll('longhornVolume', records.volumes ?? []);
  model.replaceAll('longhornReplica', replicas);
  model.replaceAll('persistentVolume', records.pvs ?? []);
  model.replaceAll('persistentVolumeClaim', records.pvcs ?? []);
  model.replaceAll('pod', records.pods ?? []);
  return model;
}

/** The snapshot, refusing the queries that walk every volume or record: a cluster-wide check must use sets. */
export function withoutFullScans(snapshot: ClusterSnapshot): ClusterSnapshot {
  return new Proxy(snapshot, {
    get(target, property) {
      if (property === 'longhornVolumes' || property === 'records' || property === 'pinnedPersistentVolumes') {
        return () => {
          throw new Error(`full scan through ${String(property)}()`);
        };
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

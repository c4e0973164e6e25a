import type { ClusterSnapshot, ModelHealth } from '../../src/cluster/snapshot.ts';

const none: readonly never[] = Object.freeze([]);

/** A cluster with nothing in it: for tests of the server and the decision path that need no model. */
export const EMPTY_SNAPSHOT: ClusterSnapshot = {
  longhornInstalled: false,
  count: () => 0,
  longhornVolume: () => undefined,
  longhornVolumeOfPV: () => undefined,
  longhornVolumes: () => none,
  volumesInSet: () => none,
  volumeSetSize: () => 0,
  volumeCount: () => undefined,
  volumeCountsByKey: () => undefined,
  volumesCountedUnder: () => none,
  replicasOfVolume: () => none,
  replicasOnNode: () => none,
  longhornNode: () => undefined,
  longhornNodes: () => none,
  longhornSetting: () => undefined,
  nodeIsUp: () => true,
  replicaDataKept: () => true,
  harvesterUpgrades: () => none,
  node: () => undefined,
  nodes: () => none,
  anyNodeLeaving: () => false,
  nodeLeaving: () => undefined,
  cordonRefused: () => false,
  nodesLabelled: () => none,
  namespace: () => undefined,
  persistentVolume: () => undefined,
  persistentVolumesPinnedTo: () => none,
  boundPersistentVolumeKindsPinnedTo: () => new Map(),
  pinnedPersistentVolumes: () => none,
  unpinnedClaimedPersistentVolumeSources: () => none,
  persistentVolumeClaim: () => undefined,
  hasPodScratchClaims: () => false,
  persistentVolumeClaimsIn: () => none,
  persistentVolumeClaimsOfRelease: () => none,
  pod: () => undefined,
  podsUsingClaim: () => none,
  podsOnNode: () => none,
  podsWithInlineDataOnNode: () => none,
  statefulSet: () => undefined,
  statefulSetsOfRelease: () => none,
  deletionAdmitted: () => false,
  machineRemovalAdmitted: () => false,
  machinesOf: () => none,
  machineDrainRulesIn: () => none,
  clusterApiCluster: () => undefined,
};

/** Always synced, never stale. */
export const ALWAYS_SYNCED: ModelHealth = {
  synced: () => true,
  staleResources: () => none,
};

// The API resources volume-guard watches: one informer each. permissions.ts derives the RBAC rules
// from this same table, so what the service account may read is exactly what the informers read.

import type { RecordByKind, ResourceKind } from './records.ts';
import {
  transformHarvesterUpgrade,
  transformHarvesterUpgradePlan,
  transformLonghornNode,
  transformLonghornReplica,
  transformLonghornSetting,
  transformLonghornVolume,
  transformClusterApiCluster,
  transformMachine,
  transformMachineDrainRule,
  transformMachineOwner,
  transformNamespace,
  transformNode,
  transformPersistentVolume,
  transformPersistentVolumeClaim,
  transformPod,
  transformStatefulSet,
} from './transforms.ts';
import { objectAt, stringAt } from '../json.ts';

export const LONGHORN_GROUP = 'longhorn.io';
export const LONGHORN_VERSION = 'v1beta2';
export const DEFAULT_LONGHORN_NAMESPACE = 'longhorn-system';
export const CLUSTER_API_GROUP = 'cluster.x-k8s.io';
export const CLUSTER_API_CONTROL_PLANE_GROUP = 'controlplane.cluster.x-k8s.io';
/** Cluster API's current version (CAPI v1.11 introduced it and deprecated v1beta1). */
export const CLUSTER_API_VERSION = 'v1beta2';
/** Read when CLUSTER_API_VERSION answers 404: Cluster API before v1.11 serves only v1beta1. */
export const CLUSTER_API_OLDER_VERSIONS: readonly string[] = ['v1beta1'];

export interface ResourceSpec<K extends ResourceKind = ResourceKind> {
  readonly kind: K;
  /** '' for the core group. */
  readonly apiGroup: string;
  readonly version: string;
  /**
   * Older versions, newest first, listed when `version` answers 404 (a Cluster API before v1.11). Every list tries
   * `version` first, so the newest served version is read again once the server serves it.
   */
  readonly olderVersions?: readonly string[];
  /** Plural resource name, as in RBAC rules and URLs. */
  readonly resource: string;
  /**
   * Where it is listed: every namespace (or cluster-scoped) for core kinds; only Longhorn's namespace
   * for Longhorn kinds.
   */
  readonly scope: 'cluster' | 'longhornNamespace';
  /** A CRD that may not be installed: a 404 on list means "absent", not an error. */
  readonly optional: boolean;
  readonly transform: (raw: unknown) => RecordByKind[K] | undefined;
}

function spec<K extends ResourceKind>(resourceSpec: ResourceSpec<K>): ResourceSpec<K> {
  return resourceSpec;
}

export const RESOURCE_SPECS: { readonly [K in ResourceKind]: ResourceSpec<K> } = {
  node: spec({ kind: 'node', apiGroup: '', version: 'v1', resource: 'nodes', scope: 'cluster', optional: false, transform: transformNode }),
  namespace: spec({
    kind: 'namespace',
    apiGroup: '',
    version: 'v1',
    resource: 'namespaces',
    scope: 'cluster',
    optional: false,
    transform: transformNamespace,
  }),
  persistentVolume: spec({
    kind: 'persistentVolume',
    apiGroup: '',
    version: 'v1',
    resource: 'persistentvolumes',
    scope: 'cluster',
    optional: false,
    transform: transformPersistentVolume,
  }),
  persistentVolumeClaim: spec({
    kind: 'persistentVolumeClaim',
    apiGroup: '',
    version: 'v1',
    resource: 'persistentvolumeclaims',
    scope: 'cluster',
    optional: false,
    transform: transformPersistentVolumeClaim,
  }),
  pod: spec({ kind: 'pod', apiGroup: '', version: 'v1', resource: 'pods', scope: 'cluster', optional: false, transform: transformPod }),
  statefulSet: spec({
    kind: 'statefulSet',
    apiGroup: 'apps',
    version: 'v1',
    resource: 'statefulsets',
    scope: 'cluster',
    optional: false,
    transform: transformStatefulSet,
  }),
  longhornVolume: spec({
    kind: 'longhornVolume',
    apiGroup: LONGHORN_GROUP,
    version: LONGHORN_VERSION,
    resource: 'volumes',
    scope: 'longhornNamespace',
    optional: true,
    transform: transformLonghornVolume,
  }),
  longhornReplica: spec({
    kind: 'longhornReplica',
    apiGroup: LONGHORN_GROUP,
    version: LONGHORN_VERSION,
    resource: 'replicas',
    scope: 'longhornNamespace',
    optional: true,
    transform: transformLonghornReplica,
  }),
  longhornNode: spec({
    kind: 'longhornNode',
    apiGroup: LONGHORN_GROUP,
    version: LONGHORN_VERSION,
    resource: 'nodes',
    scope: 'longhornNamespace',
    optional: true,
    transform: transformLonghornNode,
  }),
  longhornSetting: spec({
    kind: 'longhornSetting',
    apiGroup: LONGHORN_GROUP,
    version: LONGHORN_VERSION,
    resource: 'settings',
    scope: 'longhornNamespace',
    optional: true,
    transform: transformLonghornSetting,
  }),
  // Harvester's upgrades (harvester-system): read to recognise the drains of an upgrade admitted with
  // skipSingleReplicaDetachedVol. Absent outside Harvester.
  harvesterUpgrade: spec({
    kind: 'harvesterUpgrade',
    apiGroup: 'harvesterhci.io',
    version: 'v1beta1',
    resource: 'upgrades',
    scope: 'cluster',
    optional: true,
    transform: transformHarvesterUpgrade,
  }),
  // Harvester's upgrade toolkit plans (cluster-scoped), the same for its UpgradePlan. Absent outside Harvester.
  harvesterUpgradePlan: spec({
    kind: 'harvesterUpgradePlan',
    apiGroup: 'management.harvesterhci.io',
    version: 'v1beta1',
    resource: 'upgradeplans',
    scope: 'cluster',
    optional: true,
    transform: transformHarvesterUpgradePlan,
  }),
  // Which node each Machine runs, for the scale-down of a MachineDeployment or MachineSet (Cluster API's own
  // CRD: absent on clusters it does not manage).
  machine: spec({
    kind: 'machine',
    apiGroup: CLUSTER_API_GROUP,
    version: CLUSTER_API_VERSION,
    olderVersions: CLUSTER_API_OLDER_VERSIONS,
    resource: 'machines',
    scope: 'cluster',
    optional: true,
    transform: transformMachine,
  }),
  // How Cluster API drains a Machine's node: a rule skipping Longhorn's instance-manager pods leaves the drain
  // without the PodDisruptionBudget Longhorn's node-drain-policy holds it with (Cluster API >= 1.9; absent before).
  machineDrainRule: spec({
    kind: 'machineDrainRule',
    apiGroup: CLUSTER_API_GROUP,
    version: CLUSTER_API_VERSION,
    olderVersions: CLUSTER_API_OLDER_VERSIONS,
    resource: 'machinedrainrules',
    scope: 'cluster',
    optional: true,
    transform: transformMachineDrainRule,
  }),
  // The Clusters' labels, which a MachineDrainRule's clusterSelector reads.
  clusterApiCluster: spec({
    kind: 'clusterApiCluster',
    apiGroup: CLUSTER_API_GROUP,
    version: CLUSTER_API_VERSION,
    olderVersions: CLUSTER_API_OLDER_VERSIONS,
    resource: 'clusters',
    scope: 'cluster',
    optional: true,
    transform: transformClusterApiCluster,
  }),
  // The owners whose rollouts and scale-downs remove Machines: their own `volume-guard.io/skip`, accepted for that
  // MachineDeployment or KubeadmControlPlane, carries to the MachineSet scale-downs, Machine DELETEs and node drains
  // that carry them out (rollout-owner.ts rolloutOwnerSkip).
  machineDeployment: spec({
    kind: 'machineDeployment',
    apiGroup: CLUSTER_API_GROUP,
    version: CLUSTER_API_VERSION,
    olderVersions: CLUSTER_API_OLDER_VERSIONS,
    resource: 'machinedeployments',
    scope: 'cluster',
    optional: true,
    transform: transformMachineOwner,
  }),
  kubeadmControlPlane: spec({
    kind: 'kubeadmControlPlane',
    apiGroup: CLUSTER_API_CONTROL_PLANE_GROUP,
    version: CLUSTER_API_VERSION,
    olderVersions: CLUSTER_API_OLDER_VERSIONS,
    resource: 'kubeadmcontrolplanes',
    scope: 'cluster',
    optional: true,
    transform: transformMachineOwner,
  }),
};

/** `pods`, `statefulsets.apps`, `volumes.longhorn.io`: how logs, metrics and staleness name a resource. */
export function resourceLabel(resourceSpec: ResourceSpec): string {
  return resourceSpec.apiGroup === '' ? resourceSpec.resource : `${resourceSpec.resource}.${resourceSpec.apiGroup}`;
}

/** The collection URL path an informer lists and watches (at `version`, by default the spec's own). */
export function collectionPath(resourceSpec: ResourceSpec, longhornNamespace: string, version: string = resourceSpec.version): string {
  const prefix = resourceSpec.apiGroup === '' ? `/api/${version}` : `/apis/${resourceSpec.apiGroup}/${version}`;
  const namespace = resourceSpec.scope === 'longhornNamespace' ? `/namespaces/${encodeURIComponent(longhornNamespace)}` : '';
  return `${prefix}${namespace}/${resourceSpec.resource}`;
}

/** Every collection path an informer may read: its version's first, then its older versions'. */
export function collectionPaths(resourceSpec: ResourceSpec, longhornNamespace: string): readonly string[] {
  return [resourceSpec.version, ...(resourceSpec.olderVersions ?? [])].map((version) => collectionPath(resourceSpec, longhornNamespace, version));
}

/** The store key of a raw object (same as recordKey of its record). */
export function keyOfObject(raw: unknown): string | undefined {
  const metadata = objectAt(raw, 'metadata');
  const name = stringAt(metadata, 'name');
  if (name === '') return undefined;
  const namespace = stringAt(metadata, 'namespace');
  return namespace !== '' ? `${namespace}/${name}` : name;
}

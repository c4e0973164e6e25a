// Raw API objects → slim records. Pure functions: input is the JSON the API server sent (a list item or a
// watch event object), narrowed field by field; output keeps only what the checks read (see records.ts).
// Each returns undefined when the object has no name (nothing could key it), never throws.

import { parseLabelSelector } from './label-selector.ts';
import { NOT_READY_TAINT_KEY, UNREACHABLE_TAINT_KEY, UNSCHEDULABLE_TAINT_KEY } from './taints.ts';
import { NODE_IDENTITY_KEYS, NO_NODE_SELECTOR, parseNodeSelector, persistentVolumeNodeSelector, podNodeSelector, type NodeSelector } from './node-affinity.ts';
import {
  ANNOTATION_PREFIX,
  type HarvesterUpgradeRecord,
  RELEASE_LABELS,
  RESTORED_BY_VELERO_LABEL,
  type HostPathMount,
  type HostPortRecord,
  type ClusterApiClusterRecord,
  type LabelSelectorRecord,
  type LabelSelectorRequirement,
  type Labels,
  type MachineDrainRuleRecord,
  type MachineOwnerRecord,
  type LonghornNodeRecord,
  type LonghornReplicaRecord,
  type LonghornSettingRecord,
  type LonghornVolumeRecord,
  type MachineRecord,
  type NamespaceRecord,
  type NodeRecord,
  ownerGroup,
  isCustomResourceGroup,
  ownerTypeOf,
  type OwnerRef,
  type PersistentVolumeClaimRecord,
  type PersistentVolumeRecord,
  type PodAffinityTermRecord,
  type PodRecord,
  type Taint,
  type Toleration,
  type StatefulSetRecord,
  type SystemUpgradeJob,
  type VolumeSource,
} from './records.ts';
import {
  EMPTY_STRING_MAP,
  arrayAt,
  booleanAt,
  isObject,
  numberAt,
  objectAt,
  objectPath,
  stringAt,
  stringMapAt,
  type JsonObject,
} from '../json.ts';
import { HELM_RELEASE_NAME_ANNOTATION, HELM_RELEASE_NAMESPACE_ANNOTATION, HELM_RESOURCE_POLICY_ANNOTATION } from '../kube.ts';

export { tolerationMatches } from './taints.ts';

/** Labels charts put on what a release creates (the StatefulSet selector usually carries one of them). */
export const PROVISIONED_BY_ANNOTATION = 'pv.kubernetes.io/provisioned-by';

// Strings that repeat across thousands of records (namespaces, node names, phases, storage classes)
// are shared through this pool, so each distinct value is stored once. Bounded: past the cap, strings
// are simply not shared.
const INTERN_CAP = 50_000;
const internPool = new Map<string, string>();


/** The labels a PVC record keeps: the release's (orphan-pvc) and Velero's restore mark (pvc-delete). */
const PVC_LABELS: readonly string[] = [...RELEASE_LABELS, RESTORED_BY_VELERO_LABEL];

export function intern(value: string): string {
  if (value === '') return '';
  const shared = internPool.get(value);
  if (shared !== undefined) return shared;
  if (internPool.size < INTERN_CAP) internPool.set(value, value);
  return value;
}

// Node affinities repeat too (every zonal disk of a zone has the same one): equal selectors share one object.
const SELECTOR_CAP = 10_000;
const selectorPool = new Map<string, NodeSelector>();

export function sharedSelector(selector: NodeSelector): NodeSelector {
  if (selector.length === 0) return NO_NODE_SELECTOR;
  const key = JSON.stringify(selector);
  const shared = selectorPool.get(key);
  if (shared !== undefined) return shared;
  const interned: NodeSelector = selector.map((term) => ({
    matchExpressions: term.matchExpressions.map((r) => ({ key: intern(r.key), operator: intern(r.operator), values: r.values.map(intern) })),
    matchFields: term.matchFields.map((r) => ({ key: intern(r.key), operator: intern(r.operator), values: r.values.map(intern) })),
  }));
  if (selectorPool.size < SELECTOR_CAP) selectorPool.set(key, interned);
  return interned;
}

function metadataOf(raw: unknown): JsonObject | undefined {
  return objectAt(raw, 'metadata');
}

function isDeleting(metadata: JsonObject): boolean {
  return stringAt(metadata, 'deletionTimestamp') !== '';
}

/** Only entries whose key starts with one of the prefixes or is one of the exact keys. */
function pickEntries(
  map: Readonly<Record<string, string>>,
  prefixes: readonly string[],
  exactKeys: readonly string[] = [],
): Readonly<Record<string, string>> {
  let picked: Record<string, string> | undefined;
  for (const [key, value] of Object.entries(map)) {
    if (exactKeys.includes(key) || prefixes.some((prefix) => key.startsWith(prefix))) {
      picked ??= {};
      picked[key] = value;
    }
  }
  return picked ?? EMPTY_STRING_MAP;
}

function guardAnnotations(metadata: JsonObject): Readonly<Record<string, string>> {
  return pickEntries(stringMapAt(metadata, 'annotations'), [ANNOTATION_PREFIX]);
}

/** The condition of that type in status.conditions, undefined when absent. */
/** `{ annotations }` with the `volume-guard.io/` ones, or nothing when there are none (most PVs and volumes). */
function optionalAnnotations(metadata: JsonObject): { annotations?: Readonly<Record<string, string>> } {
  const annotations = guardAnnotations(metadata);
  return annotations === EMPTY_STRING_MAP ? {} : { annotations };
}

/** The condition of `type` in `status.conditions`, or in `conditions` itself with `inStatus` false (a disk status). */
function conditionOf(raw: unknown, type: string, inStatus = true): JsonObject | undefined {
  for (const condition of arrayAt(inStatus ? objectAt(raw, 'status') : raw, 'conditions')) {
    if (isObject(condition) && stringAt(condition, 'type') === type) return condition;
  }
  return undefined;
}

/** An RFC 3339 time in epoch milliseconds, 0 when absent or unreadable. */
function timeMs(value: string): number {
  const parsed = value === '' ? Number.NaN : Date.parse(value);
  return Number.isFinite(parsed) ? parsed : 0;
}

/**
 * Taints with which an autoscaler takes a node out instead of cordoning it, then evicts its pods and deletes the
 * node: cluster-autoscaler's `ToBeDeletedByClusterAutoscaler`, Karpenter's `karpenter.sh/disrupted` (v1) and
 * `karpenter.sh/disruption` (before v1). A node carrying one is being drained, as a cordoned one is.
 */
export const DRAIN_TAINT_KEYS: readonly string[] = ['ToBeDeletedByClusterAutoscaler', 'karpenter.sh/disrupted', 'karpenter.sh/disruption'];

/** The node's drain taints (NoSchedule or NoExecute, DRAIN_TAINT_KEYS), undefined when it carries none. */
function drainTaintsOf(spec: JsonObject | undefined): readonly Taint[] | undefined {
  let drain: Taint[] | undefined;
  for (const taint of arrayAt(spec, 'taints')) {
    const effect = stringAt(taint, 'effect');
    const key = stringAt(taint, 'key');
    if (!DRAIN_TAINT_KEYS.includes(key) || (effect !== 'NoSchedule' && effect !== 'NoExecute')) continue;
    (drain ??= []).push({ key: intern(key), value: stringAt(taint, 'value'), effect });
  }
  return drain;
}

/** At most this many taints are kept per node (NodeRecord.taints): nodes carry a handful. */
export const MAX_NODE_TAINTS = 32;

/** Taint keys a NodeRecord field stands for: the cordon, the Ready condition, the autoscalers' drain taints. */
const FIELD_TAINT_KEYS: readonly string[] = [UNSCHEDULABLE_TAINT_KEY, NOT_READY_TAINT_KEY, UNREACHABLE_TAINT_KEY, ...DRAIN_TAINT_KEYS];

/** NodeRecord.taints and taintsCut: the NoSchedule / NoExecute taints no field stands for, at most MAX_NODE_TAINTS. */
function taintsOf(spec: JsonObject | undefined): Pick<NodeRecord, 'taints' | 'taintsCut'> {
  let taints: Taint[] | undefined;
  for (const taint of arrayAt(spec, 'taints')) {
    const effect = stringAt(taint, 'effect');
    if (effect !== 'NoSchedule' && effect !== 'NoExecute') continue;
    const key = stringAt(taint, 'key');
    if (FIELD_TAINT_KEYS.includes(key)) continue;
    taints ??= [];
    if (taints.length === MAX_NODE_TAINTS) return { taints, taintsCut: true };
    taints.push({ key: intern(key), value: intern(stringAt(taint, 'value')), effect });
  }
  return taints === undefined ? {} : { taints };
}

export function transformNode(raw: unknown): NodeRecord | undefined {
  const metadata = metadataOf(raw);
  const name = stringAt(metadata, 'name');
  if (!metadata || name === '') return undefined;
  const ready = conditionOf(raw, 'Ready');
  const spec = objectAt(raw, 'spec');
  const drainTaints = drainTaintsOf(spec);
  const leaving = drainTaints !== undefined;
  const cordoned = spec?.['unschedulable'] === true;
  const providerID = stringAt(spec, 'providerID');
  return {
    name: intern(name),
    unschedulable: cordoned || leaving,
    ready: intern(stringAt(ready, 'status')),
    readySince: timeMs(stringAt(ready, 'lastTransitionTime')),
    annotations: guardAnnotations(metadata),
    labels: internedMap(stringMapAt(metadata, 'labels')),
    ...(drainTaints !== undefined ? { leaving, cordoned, drainTaints } : {}),
    ...taintsOf(spec),
    ...(providerID !== '' ? { providerID } : {}),
  };
}

/** Label keys and values repeat across nodes (zones, roles, OS): shared through the intern pool. */
function internedMap(map: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  if (map === EMPTY_STRING_MAP) return map;
  const interned: Record<string, string> = {};
  for (const [key, value] of Object.entries(map)) interned[intern(key)] = intern(value);
  return interned;
}

export function transformNamespace(raw: unknown): NamespaceRecord | undefined {
  const metadata = metadataOf(raw);
  const name = stringAt(metadata, 'name');
  if (!metadata || name === '') return undefined;
  const labels = stringMapAt(metadata, 'labels');
  const annotations = stringMapAt(metadata, 'annotations');
  const releaseName = annotations[HELM_RELEASE_NAME_ANNOTATION] ?? '';
  const releaseNamespace = annotations[HELM_RELEASE_NAMESPACE_ANNOTATION] ?? '';
  return {
    name: intern(name),
    annotations: guardAnnotations(metadata),
    ...(isDeleting(metadata) ? { deleting: true } : {}),
    ...(labels === EMPTY_STRING_MAP ? {} : { labels: internedMap(labels) }),
    ...ownerUidsOf(metadata),
    ...(releaseName === '' ? {} : { helmReleaseName: intern(releaseName) }),
    ...(releaseNamespace === '' ? {} : { helmReleaseNamespace: intern(releaseNamespace) }),
    ...(annotations[HELM_RESOURCE_POLICY_ANNOTATION] === 'keep' ? { helmKeep: true } : {}),
  };
}

function volumeSourceOf(spec: JsonObject | undefined): VolumeSource {
  if (objectAt(spec, 'local')) return 'local';
  if (objectAt(spec, 'hostPath')) return 'hostPath';
  if (objectAt(spec, 'nfs')) return 'nfs';
  if (objectAt(spec, 'csi')) return 'csi';
  return 'other';
}

/**
 * The single node a NodeSelectorTerm selects by node identity (NODE_IDENTITY_KEYS, metadata.name), '' when it
 * selects none or several. Pinning is decided from the live nodes' labels whatever the key (node-affinity.ts); this
 * names the node of a PV whose affinity matches no live node, so data left behind by a deleted node is still found.
 */
function nodeOfTerm(term: unknown): string {
  const candidates = new Set<string>();
  for (const expression of arrayAt(term, 'matchExpressions')) {
    if (!NODE_IDENTITY_KEYS.includes(stringAt(expression, 'key'))) continue;
    const node = singleInValue(expression);
    if (node === undefined) return '';
    candidates.add(node);
  }
  for (const field of arrayAt(term, 'matchFields')) {
    if (stringAt(field, 'key') !== 'metadata.name') continue;
    const node = singleInValue(field);
    if (node === undefined) return '';
    candidates.add(node);
  }
  // Two different nodes ANDed in one term select nothing: not pinned to one node either.
  return candidates.size === 1 ? [...candidates][0]! : '';
}

/** The value of an `In [value]` requirement, undefined for any other operator or value count. */
function singleInValue(requirement: unknown): string | undefined {
  if (stringAt(requirement, 'operator') !== 'In') return undefined;
  const values = arrayAt(requirement, 'values');
  if (values.length !== 1 || typeof values[0] !== 'string' || values[0] === '') return undefined;
  return values[0];
}

/**
 * The node the affinity names by a node-name key or metadata.name in every term (terms are ORed: all must name
 * the same single node), '' otherwise. The model decides pinning from the live nodes' labels; this is the
 * answer when no live node matches.
 */
export function namedNodeOf(spec: JsonObject | undefined): string {
  const terms = arrayAt(objectPath(spec, 'nodeAffinity', 'required'), 'nodeSelectorTerms');
  if (terms.length === 0) return '';
  let pinned = '';
  for (const term of terms) {
    const node = nodeOfTerm(term);
    if (node === '' || (pinned !== '' && node !== pinned)) return '';
    pinned = node;
  }
  return pinned;
}

export function transformPersistentVolume(raw: unknown): PersistentVolumeRecord | undefined {
  const metadata = metadataOf(raw);
  const name = stringAt(metadata, 'name');
  if (!metadata || name === '') return undefined;
  const spec = objectAt(raw, 'spec');
  const claimRef = objectAt(spec, 'claimRef');
  const csiDriver = stringAt(objectAt(spec, 'csi'), 'driver');
  const provisionedBy = stringMapAt(metadata, 'annotations')[PROVISIONED_BY_ANNOTATION] ?? '';
  const namedNode = intern(namedNodeOf(spec));
  return {
    name,
    source: volumeSourceOf(spec),
    driver: intern(csiDriver !== '' ? csiDriver : provisionedBy),
    storageClassName: intern(stringAt(spec, 'storageClassName')),
    nodeAffinity: sharedSelector(persistentVolumeNodeSelector(parseNodeSelector(objectPath(spec, 'nodeAffinity', 'required')))),
    namedNode,
    pinnedNode: namedNode,
    claimNamespace: intern(stringAt(claimRef, 'namespace')),
    claimName: stringAt(claimRef, 'name'),
    phase: intern(stringAt(objectAt(raw, 'status'), 'phase')),
    reclaimPolicy: intern(stringAt(spec, 'persistentVolumeReclaimPolicy')),
    ...hostDirectoryOf(spec),
    ...optionalAnnotations(metadata),
  };
}

/** A `hostPath` or `local` PV's directory on the node, normalised (PersistentVolumeRecord.hostDirectory). */
function hostDirectoryOf(spec: JsonObject | undefined): { hostDirectory?: string } {
  const path = stringAt(objectAt(spec, 'local') ?? objectAt(spec, 'hostPath'), 'path');
  return path === '' ? {} : { hostDirectory: normaliseHostPath(path) };
}

function ownerReferencesOf(metadata: JsonObject): readonly OwnerRef[] {
  const refs = arrayAt(metadata, 'ownerReferences');
  if (refs.length === 0) return EMPTY_LIST;
  const owners: OwnerRef[] = [];
  for (const ref of refs) {
    if (!isObject(ref)) continue;
    const apiVersion = stringAt(ref, 'apiVersion');
    const owner = {
      ...(apiVersion === '' ? {} : { apiVersion: intern(apiVersion) }),
      kind: intern(stringAt(ref, 'kind')),
      name: stringAt(ref, 'name'),
      uid: stringAt(ref, 'uid'),
    };
    owners.push(ref['controller'] === true ? { ...owner, controller: true } : owner);
  }
  return owners;
}

const EMPTY_LIST: readonly never[] = Object.freeze([]);

export function transformPersistentVolumeClaim(raw: unknown): PersistentVolumeClaimRecord | undefined {
  const metadata = metadataOf(raw);
  const name = stringAt(metadata, 'name');
  if (!metadata || name === '') return undefined;
  const spec = objectAt(raw, 'spec');
  return {
    namespace: intern(stringAt(metadata, 'namespace')),
    name,
    uid: stringAt(metadata, 'uid'),
    volumeName: stringAt(spec, 'volumeName'),
    phase: intern(stringAt(objectAt(raw, 'status'), 'phase')),
    storageClassName: intern(stringAt(spec, 'storageClassName')),
    labels: pickEntries(stringMapAt(metadata, 'labels'), [ANNOTATION_PREFIX], PVC_LABELS),
    annotations: pickEntries(stringMapAt(metadata, 'annotations'), [ANNOTATION_PREFIX], [
      HELM_RELEASE_NAME_ANNOTATION,
      HELM_RELEASE_NAMESPACE_ANNOTATION,
      HELM_RESOURCE_POLICY_ANNOTATION,
    ]),
    ownerReferences: ownerReferencesOf(metadata),
    creationTimestamp: stringAt(metadata, 'creationTimestamp'),
    deleting: isDeleting(metadata),
  };
}

/**
 * Claims a pod mounts: `persistentVolumeClaim.claimName` volumes, and generic ephemeral volumes, whose
 * PVC the ephemeral-volume controller names `<pod>-<volume>`.
 */
export function claimNamesOfPod(podName: string, spec: JsonObject | undefined): readonly string[] {
  const volumes = arrayAt(spec, 'volumes');
  let claims: string[] | undefined;
  for (const volume of volumes) {
    const claimName = stringAt(objectAt(volume, 'persistentVolumeClaim'), 'claimName');
    const volumeName = stringAt(volume, 'name');
    const claim = claimName !== '' ? claimName : objectAt(volume, 'ephemeral') && volumeName !== '' ? `${podName}-${volumeName}` : '';
    if (claim === '') continue;
    claims ??= [];
    if (!claims.includes(claim)) claims.push(claim);
  }
  return claims ?? EMPTY_LIST;
}

/** The annotation the kubelet puts on the mirror pod of a static pod. */
export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

/**
 * Longhorn's per-node managers (longhorn.io): their controllers create each pod with `spec.nodeName` set to their own
 * node, and the pod's writable hostPath is Longhorn's disk (/var/lib/longhorn), whose replicas the Longhorn checks
 * judge. `kubectl drain` evicts them (Longhorn's PodDisruptionBudgets gate that), and they come back to that node.
 * A BackingImageDataSource's pod (`backing-image-ds-<name>`: a Harvester VM image downloaded, uploaded or exported)
 * too: created on the node and disk its spec fixes; evicted, it restarts the transfer there.
 */
const LONGHORN_NODE_MANAGERS: ReadonlySet<string> = new Set(['InstanceManager', 'BackingImageManager', 'BackingImageDataSource']);

/** Owner kinds whose pods always come back to the same node: their inline data is never moved. */
const SAME_NODE_CONTROLLERS: ReadonlySet<string> = new Set(['DaemonSet', 'Node', ...LONGHORN_NODE_MANAGERS]);

/** Host paths that are not data: a socket or character device the pod talks to. */
const NON_DATA_HOST_PATH_TYPES: ReadonlySet<string> = new Set(['Socket', 'CharDevice']);

function controllerKindOf(metadata: JsonObject): string {
  if (stringMapAt(metadata, 'annotations')[MIRROR_POD_ANNOTATION] !== undefined) return 'Node';
  const ref = controllerRefOf(metadata);
  if (ref === undefined) return '';
  const kind = stringAt(ref, 'kind');
  // A Node as controller without the mirror annotation is no static pod's mirror: the kubelet recreates only its
  // manifests' pods (mirrors carry the annotation), and nothing recreates a pod for a Node owner. kubectl drain's
  // mirror filter reads the annotation only, so it evicts such a pod: judged as the bare pod it is.
  if (kind === 'Node') return '';
  // Another project's InstanceManager is not Longhorn's: named with its API group, it is no same-node controller.
  if (LONGHORN_NODE_MANAGERS.has(kind) && !stringAt(ref, 'apiVersion').startsWith('longhorn.io/')) {
    return intern(`${kind}.${stringAt(ref, 'apiVersion').split('/')[0] ?? ''}`);
  }
  return intern(kind);
}

/** The first owner reference marked `controller: true` (the API server allows one). */
function controllerRefOf(metadata: JsonObject | undefined): JsonObject | undefined {
  for (const ref of arrayAt(metadata, 'ownerReferences')) if (isObject(ref) && ref['controller'] === true) return ref;
  return undefined;
}

/** `/a//b/./c/` → `/a/b/c`; `..` segments are resolved, never above `/`. */
export function normaliseHostPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`;
}

/** Volume name → whether some container mounts it without readOnly (absent: no container mounts it). */
function mountModes(spec: JsonObject | undefined): Map<string, boolean> {
  const modes = new Map<string, boolean>();
  for (const list of ['initContainers', 'containers', 'ephemeralContainers']) {
    for (const container of arrayAt(spec, list)) {
      for (const mount of arrayAt(container, 'volumeMounts')) {
        const volume = stringAt(mount, 'name');
        if (volume === '') continue;
        const writable = !(isObject(mount) && mount['readOnly'] === true);
        modes.set(volume, (modes.get(volume) ?? false) || writable);
      }
    }
  }
  return modes;
}

/**
 * An emptyDir medium backed by memory, not the node's disk: `Memory` (tmpfs), `HugePages` and `HugePages-<size>`
 * (hugetlbfs; core/v1 StorageMediumHugePages and StorageMediumHugePagesPrefix). '' is the node's default medium, its disk.
 */
export function isMemoryMedium(medium: string): boolean {
  return medium === 'Memory' || medium === 'HugePages' || medium.startsWith('HugePages-');
}

/** The inline data a pod keeps on its node: hostPath volumes, and for StatefulSet pods writable disk-backed emptyDirs. */
export function inlineDataOfPod(
  controllerKind: string,
  spec: JsonObject | undefined,
): { hostPaths: readonly HostPathMount[]; emptyDirs: readonly string[]; nodeSelector: NodeSelector } {
  let hostPaths: HostPathMount[] | undefined;
  let emptyDirs: string[] | undefined;
  let mountsClaim = false;
  if (!SAME_NODE_CONTROLLERS.has(controllerKind)) {
    let modes: Map<string, boolean> | undefined;
    for (const volume of arrayAt(spec, 'volumes')) {
      if (!mountsClaim && objectAt(volume, 'persistentVolumeClaim') !== undefined) mountsClaim = true;
      const hostPath = objectAt(volume, 'hostPath');
      const emptyDir = objectAt(volume, 'emptyDir');
      if (hostPath === undefined && (emptyDir === undefined || controllerKind !== 'StatefulSet')) continue;
      modes ??= mountModes(spec);
      const name = stringAt(volume, 'name');
      if (hostPath !== undefined) {
        const path = stringAt(hostPath, 'path');
        if (path === '' || NON_DATA_HOST_PATH_TYPES.has(stringAt(hostPath, 'type'))) continue;
        hostPaths ??= [];
        hostPaths.push({ path: normaliseHostPath(path), writable: modes.get(name) === true });
      } else if (modes.get(name) === true && !isMemoryMedium(stringAt(emptyDir, 'medium'))) {
        // A memory-backed emptyDir (tmpfs, hugetlbfs): a reboot of the node empties it too, so no drain decision keeps it.
        emptyDirs ??= [];
        emptyDirs.push(name);
      }
    }
  }
  return {
    hostPaths: hostPaths ?? EMPTY_LIST,
    emptyDirs: emptyDirs ?? EMPTY_LIST,
    // Also for a pod mounting a claim: a restart eviction passes only when the new pod fits its node again.
    nodeSelector: hostPaths !== undefined || emptyDirs !== undefined || mountsClaim ? sharedSelector(podNodeSelector(spec)) : NO_NODE_SELECTOR,
  };
}

/**
 * The taint keys that report a node's condition rather than decide to empty it: the node lifecycle controller, the
 * kubelet and cloud providers set them (k8s.io/api core/v1 well_known_taints.go, k8s.io/cloud-provider
 * api/well_known_taints.go), a CNI's operator while the node's agent starts, and out-of-service is set for a node
 * already shut down. Exact keys, not their prefixes:
 * the taint manager deletes pods for any NoExecute taint, so `node.kubernetes.io/<anything>:NoExecute` empties a node
 * like any other key. The cordon webhook exempts them only with the effect they are set with (node-cordon.ts
 * isEmptyingTaint): a condition key written by hand with NoExecute empties a node too.
 */
export const CONDITION_TAINT_KEYS: readonly string[] = [
  'node.kubernetes.io/not-ready',
  'node.kubernetes.io/unreachable',
  'node.kubernetes.io/unschedulable',
  'node.kubernetes.io/memory-pressure',
  'node.kubernetes.io/disk-pressure',
  'node.kubernetes.io/pid-pressure',
  'node.kubernetes.io/network-unavailable',
  'node.kubernetes.io/memory-contention-pressure',
  'node.kubernetes.io/disk-contention-pressure',
  'node.kubernetes.io/kubepods-memory-contention-pressure',
  'node.kubernetes.io/kubepods-disk-contention-pressure',
  'node.kubernetes.io/out-of-service',
  'node.cloudprovider.kubernetes.io/uninitialized',
  'node.cloudprovider.kubernetes.io/shutdown',
  // Cilium's operator sets it (NoSchedule, `set-cilium-node-taints`, on by default) while a node's agent is not ready,
  // at each agent restart or reboot, and removes it once the agent is: it keeps new pods off a node without
  // networking and moves nothing.
  'node.cilium.io/agent-not-ready',
];

export function isConditionTaintKey(key: string): boolean {
  return CONDITION_TAINT_KEYS.includes(key);
}

/**
 * The condition taints Kubernetes itself sets with NoExecute: the node lifecycle controller's, for a node not ready or
 * unreachable. Every pod tolerates them for 300 s (DefaultTolerationSeconds) and the controller takes them off a Ready
 * node within seconds, so written by hand on a healthy node they empty nothing. Every other condition key is set with
 * NoSchedule only: with NoExecute (`kubectl taint node w1 node.kubernetes.io/disk-pressure:NoExecute`) nothing
 * takes it off, no pod tolerates it, and the taint manager deletes every pod at once, as for any other key.
 */
export const NO_EXECUTE_CONDITION_TAINT_KEYS: readonly string[] = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'];

/**
 * The tolerations a NoExecute taint is matched against (PodRecord.noExecuteTolerations), in order and with their
 * seconds: the taint manager takes the first matching each taint. Those with another effect never match a NoExecute
 * taint, so leaving them out keeps which one matches first.
 */
function noExecuteTolerationsOf(spec: JsonObject | undefined): { noExecuteTolerations?: readonly Toleration[] } {
  let tolerations: Toleration[] | undefined;
  for (const toleration of arrayAt(spec, 'tolerations')) {
    const effect = stringAt(toleration, 'effect');
    if (effect !== '' && effect !== 'NoExecute') continue;
    const key = stringAt(toleration, 'key');
    // Never judged with NoExecute (and on nearly every pod: DefaultTolerationSeconds' 300 s): not kept. Such a
    // toleration matches only its own key, so dropping it changes no other taint's first match. A toleration of
    // another condition key counts, as the taint manager reads it, when that key is written with NoExecute
    // (disk-pressure, out-of-service).
    if (NO_EXECUTE_CONDITION_TAINT_KEYS.includes(key)) continue;
    const seconds = isObject(toleration) ? toleration['tolerationSeconds'] : undefined;
    tolerations ??= [];
    tolerations.push({
      key: intern(key),
      operator: intern(stringAt(toleration, 'operator')),
      value: intern(stringAt(toleration, 'value')),
      // Anything but a number (never from the API server) reads as 0: evicted at once, the cautious reading.
      ...(seconds === undefined || seconds === null ? {} : { tolerationSeconds: typeof seconds === 'number' ? seconds : 0 }),
    });
  }
  return tolerations === undefined ? {} : { noExecuteTolerations: tolerations };
}

// Pods of one controller share their tolerations: equal lists share one array.
const TOLERATIONS_CAP = 10_000;
const tolerationsPool = new Map<string, readonly Toleration[]>();

function sharedTolerations(tolerations: readonly Toleration[]): readonly Toleration[] {
  const key = JSON.stringify(tolerations);
  const shared = tolerationsPool.get(key);
  if (shared !== undefined) return shared;
  if (tolerationsPool.size < TOLERATIONS_CAP) tolerationsPool.set(key, tolerations);
  return tolerations;
}

/**
 * The tolerations a NoSchedule taint is matched against (PodRecord.noScheduleTolerations): effect NoSchedule or
 * none, whatever the key (the scheduler reads them all); tolerationSeconds means nothing to them.
 */
function noScheduleTolerationsOf(spec: JsonObject | undefined): { noScheduleTolerations?: readonly Toleration[] } {
  let tolerations: Toleration[] | undefined;
  for (const toleration of arrayAt(spec, 'tolerations')) {
    const effect = stringAt(toleration, 'effect');
    if (effect !== '' && effect !== 'NoSchedule') continue;
    tolerations ??= [];
    tolerations.push({ key: intern(stringAt(toleration, 'key')), operator: intern(stringAt(toleration, 'operator')), value: intern(stringAt(toleration, 'value')) });
  }
  return tolerations === undefined ? {} : { noScheduleTolerations: sharedTolerations(tolerations) };
}

export function transformPod(raw: unknown): PodRecord | undefined {
  const metadata = metadataOf(raw);
  const name = stringAt(metadata, 'name');
  if (!metadata || name === '') return undefined;
  const spec = objectAt(raw, 'spec');
  const controllerKind = controllerKindOf(metadata);
  const claimNames = claimNamesOfPod(name, spec);
  const inline = inlineDataOfPod(controllerKind, spec);
  // Where its replacement may go matters only for a pod keeping data on its node (inline, or through a claim) that
  // its controller does not bring back there anyway: the tolerations that decide it are kept for those alone.
  const placed = inline.hostPaths.length > 0 || inline.emptyDirs.length > 0 || (claimNames.length > 0 && !SAME_NODE_CONTROLLERS.has(controllerKind));
  return {
    namespace: intern(stringAt(metadata, 'namespace')),
    name,
    nodeName: intern(stringAt(spec, 'nodeName')),
    phase: intern(stringAt(objectAt(raw, 'status'), 'phase')),
    deleting: isDeleting(metadata),
    claimNames,
    controllerKind,
    ...inline,
    ...noExecuteTolerationsOf(spec),
    ...(placed ? noScheduleTolerationsOf(spec) : {}),
    ...instanceManagerLabelsOf(metadata),
    ...(inline.hostPaths.length > 0 ? { ...antiAffinityOf(metadata, spec), ...hostPortsOf(spec) } : {}),
    ...upgradeJobOf(metadata, spec),
  };
}

/**
 * The host ports a pod's containers bind (PodRecord.hostPorts), as the scheduler's NodePorts filter reads them
 * (getContainerPorts: spec.containers' ports; a hostPort of 0 binds nothing). Protocol TCP and host IP 0.0.0.0 when
 * unset (HostPortInfo's sanitize).
 */
function hostPortsOf(spec: JsonObject | undefined): { hostPorts?: readonly HostPortRecord[] } {
  let ports: HostPortRecord[] | undefined;
  for (const container of arrayAt(spec, 'containers')) {
    for (const entry of arrayAt(container, 'ports')) {
      const port = numberAt(entry, 'hostPort') ?? 0;
      if (port <= 0) continue;
      ports ??= [];
      ports.push({ protocol: intern(stringAt(entry, 'protocol') || 'TCP'), ip: intern(stringAt(entry, 'hostIP') || '0.0.0.0'), port });
    }
  }
  return ports === undefined ? {} : { hostPorts: ports };
}

/**
 * A hostPath pod's required pod anti-affinity terms (PodRecord.antiAffinity) and, with them, its labels: what keeps
 * the replacement of another replica off its node. None without such terms (nor for a Longhorn instance manager, whose
 * hostPaths are never kept: a same-node controller's).
 */
function antiAffinityOf(metadata: JsonObject | undefined, spec: JsonObject | undefined): { labels?: Labels; antiAffinity?: readonly PodAffinityTermRecord[] } {
  const raw = arrayAt(objectPath(spec, 'affinity', 'podAntiAffinity'), 'requiredDuringSchedulingIgnoredDuringExecution');
  if (raw.length === 0) return {};
  const labels = stringMapAt(metadata, 'labels');
  const namespace = stringAt(metadata, 'namespace');
  const terms: PodAffinityTermRecord[] = [];
  for (const term of raw) {
    const selector = parseLabelSelector(objectAt(term, 'labelSelector'));
    // The API server adds the pod's own value of each matchLabelKeys key (In) and mismatchLabelKeys key (NotIn) to the
    // selector (pod strategy's applyMatchLabelKeysAndMismatchLabelKeys); added again, they change nothing.
    const extra: LabelSelectorRequirement[] = [];
    for (const [field, operator] of [['matchLabelKeys', 'In'], ['mismatchLabelKeys', 'NotIn']] as const) {
      for (const key of arrayAt(term, field)) {
        if (typeof key === 'string' && Object.hasOwn(labels, key)) extra.push({ key: intern(key), operator, values: [intern(labels[key]!)] });
      }
    }
    const namespaceSelector = objectAt(term, 'namespaceSelector');
    const listed = arrayAt(term, 'namespaces').filter((value): value is string => typeof value === 'string' && value !== '');
    const anyNamespace = namespaceSelector !== undefined && Object.keys(namespaceSelector).length === 0;
    terms.push({
      selector: selector === undefined ? undefined : extra.length === 0 ? selector : { matchLabels: selector.matchLabels, matchExpressions: [...selector.matchExpressions, ...extra] },
      namespaces: (listed.length === 0 && namespaceSelector === undefined ? [namespace] : listed).map(intern),
      ...(anyNamespace ? { anyNamespace } : {}),
      topologyKey: intern(stringAt(term, 'topologyKey')),
    });
  }
  return { labels: internedMap(labels), antiAffinity: terms };
}

/**
 * Labels system-upgrade-controller puts on its Jobs' pods (job.go New): the controller that made it, the node a Job
 * upgrades, and its Plan.
 */
export const SYSTEM_UPGRADE_CONTROLLER_LABEL = 'upgrade.cattle.io/controller';
export const SYSTEM_UPGRADE_NODE_LABEL = 'upgrade.cattle.io/node';
export const SYSTEM_UPGRADE_PLAN_LABEL = 'upgrade.cattle.io/plan';

/** The container of a system-upgrade-controller Job's pod that runs the Plan's `spec.upgrade` image. */
const SYSTEM_UPGRADE_CONTAINER = 'upgrade';

/**
 * A system-upgrade-controller Job's pod's node, Plan, service account and upgrade image (PodRecord.upgradeJob); none
 * for any other pod. Only a pod carrying what the controller always sets: the labels `upgrade.cattle.io/controller`,
 * `/node` and `/plan`, a controlling Job named as the controller names the Job applying that Plan on that node
 * (isUpgradeJobName), and no node or that node (its required node affinity pins it there): a pod merely labelled with
 * the node, or scheduled elsewhere, is no upgrade of it.
 */
function upgradeJobOf(metadata: JsonObject | undefined, spec: JsonObject | undefined): { upgradeJob?: SystemUpgradeJob } {
  const labels = stringMapAt(metadata, 'labels');
  const node = labels[SYSTEM_UPGRADE_NODE_LABEL] ?? '';
  if (node === '') return {};
  const plan = labels[SYSTEM_UPGRADE_PLAN_LABEL] ?? '';
  if (plan === '' || (labels[SYSTEM_UPGRADE_CONTROLLER_LABEL] ?? '') === '') return {};
  const nodeName = stringAt(spec, 'nodeName');
  if (nodeName !== '' && nodeName !== node) return {};
  if (!isUpgradeJobName(controllingJobName(metadata), plan, node)) return {};
  // The API server's ServiceAccount admission sets `default` when the pod names none.
  const serviceAccount = stringAt(spec, 'serviceAccountName');
  const upgrade = arrayAt(spec, 'containers').find((container) => stringAt(container, 'name') === SYSTEM_UPGRADE_CONTAINER);
  return {
    upgradeJob: {
      node: intern(node),
      plan: intern(plan),
      serviceAccount: intern(serviceAccount === '' ? 'default' : serviceAccount),
      image: intern(stringAt(upgrade, 'image')),
    },
  };
}

/** The name of the pod's controlling owner when it is a batch Job, '' otherwise. */
function controllingJobName(metadata: JsonObject | undefined): string {
  const ref = controllerRefOf(metadata);
  return ref !== undefined && stringAt(ref, 'kind') === 'Job' && stringAt(ref, 'apiVersion').startsWith('batch/') ? stringAt(ref, 'name') : '';
}

const LOWER_HEX = /^[0-9a-f]*$/;

/**
 * Whether `name` is the name system-upgrade-controller gives the Job applying `plan` on `node`: the words `apply`,
 * the Plan, `on`, the node, `with` and the Plan's latest hash (56 hex digits) joined by `-` (wrangler's
 * SafeConcatName), the node's name up to its first dot in current releases, whole in older ones. A joined name of 64
 * characters or more (always, with that hash) is cut to its first 57 characters, `-` and 5 hex digits of its sha256,
 * or, when the 57th character is no lowercase letter or digit, to its first 56, `-` and 6 (older releases: always 57
 * and 5). The hash is not recomputed: the cut keeps only the start of the Plan's.
 */
export function isUpgradeJobName(name: string, plan: string, node: string): boolean {
  const targets = new Set([node, node.split('.')[0] ?? node]);
  for (const target of targets) {
    const prefix = `apply-${plan}-on-${target}-with-`;
    // Whole: shorter than 64 characters.
    if (name.length < 64 && name.length > prefix.length && name.startsWith(prefix) && LOWER_HEX.test(name.slice(prefix.length))) return true;
    if (name.length !== 63) continue;
    for (const kept of [57, 56]) {
      if (name[kept] !== '-' || !LOWER_HEX.test(name.slice(kept + 1))) continue;
      const head = name.slice(0, kept);
      if (head.length <= prefix.length ? prefix.startsWith(head) : head.startsWith(prefix) && LOWER_HEX.test(head.slice(prefix.length))) return true;
    }
  }
  return false;
}

/** Longhorn's label naming the component a pod runs; `instance-manager` on the pods its PodDisruptionBudgets cover. */
export const LONGHORN_COMPONENT_LABEL = 'longhorn.io/component';
export const LONGHORN_INSTANCE_MANAGER = 'instance-manager';

/** A Longhorn instance-manager pod's labels (PodRecord.labels); none for any other pod. */
function instanceManagerLabelsOf(metadata: JsonObject | undefined): { labels?: Readonly<Record<string, string>> } {
  const labels = stringMapAt(metadata, 'labels');
  return labels[LONGHORN_COMPONENT_LABEL] === LONGHORN_INSTANCE_MANAGER ? { labels: internedMap(labels) } : {};
}

/** The finalizer the API server sets for a DELETE with propagationPolicy Orphan (the garbage collector's `orphan`). */
const ORPHAN_FINALIZER = 'orphan';

export function transformStatefulSet(raw: unknown): StatefulSetRecord | undefined {
  const metadata = metadataOf(raw);
  const name = stringAt(metadata, 'name');
  if (!metadata || name === '') return undefined;
  const spec = objectAt(raw, 'spec');
  const annotations = stringMapAt(metadata, 'annotations');
  const templates: string[] = [];
  for (const template of arrayAt(spec, 'volumeClaimTemplates')) {
    const templateName = stringAt(objectAt(template, 'metadata'), 'name');
    if (templateName !== '') templates.push(templateName);
  }
  return {
    namespace: intern(stringAt(metadata, 'namespace')),
    name,
    uid: stringAt(metadata, 'uid'),
    // The API server defaults spec.replicas to 1; an absent field means the default.
    replicas: numberAt(spec, 'replicas') ?? 1,
    ordinalsStart: numberAt(objectAt(spec, 'ordinals'), 'start') ?? 0,
    creationTimestamp: stringAt(metadata, 'creationTimestamp'),
    whenScaled: stringAt(objectAt(spec, 'persistentVolumeClaimRetentionPolicy'), 'whenScaled') === 'Delete' ? 'Delete' : 'Retain',
    claimTemplates: templates.length > 0 ? templates : EMPTY_LIST,
    selector: stringMapAt(objectAt(spec, 'selector'), 'matchLabels'),
    helmReleaseName: annotations[HELM_RELEASE_NAME_ANNOTATION] ?? '',
    helmReleaseNamespace: intern(annotations[HELM_RELEASE_NAMESPACE_ANNOTATION] ?? ''),
    // An upgrade that drops it reads the live annotation and compares it exactly (pvc-delete's hasLiveKeepPolicy).
    helmKeep: annotations[HELM_RESOURCE_POLICY_ANNOTATION] === 'keep',
    ...(annotations[HELM_RESOURCE_POLICY_ANNOTATION] !== undefined ? { helmPolicy: true as const } : {}),
    ...releaseSetsOf(metadata),
    ...optionalAnnotations(metadata),
    ...(isDeleting(metadata) ? { deleting: true as const } : {}),
    ...(isDeleting(metadata) && arrayAt(metadata, 'finalizers').includes(ORPHAN_FINALIZER) ? { orphaning: true as const } : {}),
    ...ownerUidsOf(metadata),
    ...(ownerReferencesOf(metadata).some((ref) => ref.controller === true) ? { controlled: true as const } : {}),
  };
}

const RELEASE_NAME_FIELD = `f:${HELM_RELEASE_NAME_ANNOTATION}`;

/**
 * The fields (FieldsV1) of one metadata.managedFields entry when that entry owns the Helm release annotation
 * (`f:metadata` → `f:annotations` → `f:meta.helm.sh/release-name`): the manager that set it, Helm or a tool built on
 * Helm's library under a name of its own. Undefined for any other entry.
 */
export function releaseAnnotationOwnerFields(entry: unknown): JsonObject | undefined {
  const fields = objectAt(entry, 'fieldsV1');
  const annotations = objectAt(objectAt(fields, 'f:metadata'), 'f:annotations');
  return annotations !== undefined && Object.hasOwn(annotations, RELEASE_NAME_FIELD) ? fields : undefined;
}

/**
 * StatefulSetRecord.releaseSets: the spec fields owned (metadata.managedFields, FieldsV1) by a field manager that also
 * owns the Helm release annotation, whatever that manager is called (`helm`, Flux's `helm-controller`, ...). Entries
 * of a subresource (`kubectl scale`, an autoscaler) never own the annotation. Omitted when no such field.
 */
function releaseSetsOf(metadata: JsonObject): { releaseSets?: StatefulSetRecord['releaseSets'] } {
  let replicas = false;
  let ordinalsStart = false;
  let whenScaled = false;
  for (const entry of arrayAt(metadata, 'managedFields')) {
    const spec = objectAt(releaseAnnotationOwnerFields(entry), 'f:spec');
    if (spec === undefined) continue;
    replicas ||= Object.hasOwn(spec, 'f:replicas');
    const ordinals = objectAt(spec, 'f:ordinals');
    ordinalsStart ||= ordinals !== undefined && Object.hasOwn(ordinals, 'f:start');
    const retention = objectAt(spec, 'f:persistentVolumeClaimRetentionPolicy');
    whenScaled ||= retention !== undefined && Object.hasOwn(retention, 'f:whenScaled');
  }
  if (!replicas && !ordinalsStart && !whenScaled) return {};
  return {
    releaseSets: {
      ...(replicas ? { replicas: true as const } : {}),
      ...(ordinalsStart ? { ordinalsStart: true as const } : {}),
      ...(whenScaled ? { whenScaled: true as const } : {}),
    },
  };
}

/**
 * The uids of an object's ownerReferences and their `<apiVersion>/<Kind>` (ownerTypeOf), as optional fields (omitted
 * when there are none; the types also when no owner is of a group a CRD may define: only a CRD's DELETE reads them).
 */
function ownerUidsOf(metadata: JsonObject): { ownerUids?: readonly string[]; ownerTypes?: readonly string[] } {
  const refs = ownerReferencesOf(metadata);
  if (refs.length === 0) return {};
  const uids = [...new Set(refs.flatMap((ref) => (ref.uid === '' ? [] : [ref.uid])))];
  // All of them, when one is a custom resource's: another kind's owner keeps the object (dependentsOfKind).
  const custom = refs.some((ref) => isCustomResourceGroup(ownerGroup(ref.apiVersion)));
  const types = custom ? [...new Set(refs.map((ref) => intern(ownerTypeOf(ref.apiVersion, ref.kind))))] : [];
  return { ...(uids.length > 0 ? { ownerUids: uids } : {}), ...(types.length > 0 ? { ownerTypes: types } : {}) };
}

export function transformLonghornVolume(raw: unknown): LonghornVolumeRecord | undefined {
  const metadata = metadataOf(raw);
  const name = stringAt(metadata, 'name');
  if (!metadata || name === '') return undefined;
  const spec = objectAt(raw, 'spec');
  const status = objectAt(raw, 'status');
  const kubernetesStatus = objectAt(status, 'kubernetesStatus');
  return {
    namespace: intern(stringAt(metadata, 'namespace')),
    name,
    // Longhorn defaults an unset count to its `default-replica-count` setting (3 out of the box); 0
    // here means "not stated", which no check may read as "more than one".
    numberOfReplicas: numberAt(spec, 'numberOfReplicas') ?? 0,
    state: intern(stringAt(status, 'state')),
    robustness: intern(stringAt(status, 'robustness')),
    currentNodeID: intern(stringAt(status, 'currentNodeID')),
    pvName: stringAt(kubernetesStatus, 'pvName'),
    // Longhorn keeps the claim's name once the PV is no longer bound and marks it historic with lastPVCRefAt: no
    // claim holds the volume then (a claim of that name now may be another volume's).
    ...claimOfKubernetesStatus(kubernetesStatus),
    deleting: isDeleting(metadata),
    ...(stringAt(spec, 'dataLocality') === 'strict-local' ? { strictLocal: true as const } : {}),
    ...optionalTags('nodeSelector', spec),
    ...optionalTags('diskSelector', spec),
    ...softAntiAffinityOf(spec),
    ...((stringAt(spec, 'dataEngine') || stringAt(spec, 'backendStoreDriver')) === 'v2' ? { dataEngine: 'v2' as const } : {}),
    ...(booleanAt(status, 'restoreRequired') || booleanAt(status, 'isStandby') ? { restoring: true as const } : {}),
    ...(isCloneCopyInProgress(stringAt(spec, 'dataSource'), stringAt(objectAt(status, 'cloneStatus'), 'state')) ? { cloning: true as const } : {}),
    ...optionalAnnotations(metadata),
  };
}

/**
 * Whether a Longhorn volume is the target of a clone whose copy has not completed (LonghornVolumeRecord.cloning):
 * its data source names a volume (`vol://<name>`) or a snapshot of one (`snap://<name>/<snapshot>`), split on `://`
 * into exactly two parts as longhorn-manager's types.IsDataFromVolume does, and the clone state is `` or `initiated`.
 */
function isCloneCopyInProgress(dataSource: string, cloneState: string): boolean {
  if (cloneState !== '' && cloneState !== 'initiated') return false;
  const parts = dataSource.split('://');
  if (parts.length !== 2) return false;
  const [prefix, rest] = parts as [string, string];
  if (prefix === 'vol') return rest !== '';
  if (prefix !== 'snap') return false;
  const slash = rest.indexOf('/');
  return slash > 0 && slash < rest.length - 1;
}

/** The claim a Longhorn volume's status names while its PV is bound to it; none once Longhorn marks it historic. */
function claimOfKubernetesStatus(kubernetesStatus: JsonObject | undefined): Pick<LonghornVolumeRecord, 'pvcNamespace' | 'pvcName'> {
  if (stringAt(kubernetesStatus, 'lastPVCRefAt') !== '') return { pvcNamespace: '', pvcName: '' };
  return { pvcNamespace: intern(stringAt(kubernetesStatus, 'namespace')), pvcName: stringAt(kubernetesStatus, 'pvcName') };
}

/** A volume's spec.replicaSoftAntiAffinity when it overrides the setting (LonghornVolumeRecord). */
function softAntiAffinityOf(spec: JsonObject | undefined): Pick<LonghornVolumeRecord, 'replicaSoftAntiAffinity'> {
  const value = stringAt(spec, 'replicaSoftAntiAffinity');
  return value === 'enabled' || value === 'disabled' ? { replicaSoftAntiAffinity: value } : {};
}

/** The non-empty strings of a Longhorn tag list (`spec.tags`, a volume's `spec.nodeSelector`). */
function tagsAt(value: unknown, key: string): string[] {
  const tags: string[] = [];
  for (const tag of arrayAt(value, key)) if (typeof tag === 'string' && tag !== '' && !tags.includes(tag)) tags.push(tag);
  return tags;
}

/** `{ [key]: tags }` when the list at `key` has any, or nothing. */
function optionalTags<K extends string>(key: K, value: unknown): Partial<Record<K, readonly string[]>> {
  const tags = tagsAt(value, key);
  const result: Partial<Record<K, readonly string[]>> = {};
  if (tags.length > 0) result[key] = tags;
  return result;
}

export function transformLonghornReplica(raw: unknown): LonghornReplicaRecord | undefined {
  const metadata = metadataOf(raw);
  const name = stringAt(metadata, 'name');
  if (!metadata || name === '') return undefined;
  const spec = objectAt(raw, 'spec');
  return {
    namespace: intern(stringAt(metadata, 'namespace')),
    name,
    volumeName: stringAt(spec, 'volumeName'),
    nodeID: intern(stringAt(spec, 'nodeID')),
    diskID: intern(stringAt(spec, 'diskID')),
    healthyAt: stringAt(spec, 'healthyAt'),
    failedAt: stringAt(spec, 'failedAt'),
    desireState: intern(stringAt(spec, 'desireState')),
    currentState: intern(stringAt(objectAt(raw, 'status'), 'currentState')),
    deleting: isDeleting(metadata),
    // Only an explicit false: a replica written without the field (older tools, hand-made) is active.
    ...(spec?.['active'] === false ? { inactive: true as const } : {}),
    ...unconfirmedSinceFailure(spec),
  };
}

/**
 * A replica's `lastFailedAt` while it has not served since that failure (LonghornReplicaRecord.lastFailedAt): its
 * failedAt is empty, lastFailedAt is set, and lastHealthyAt is not strictly after it. longhorn-manager's
 * isSafeAsLastReplica compares them with util.TimestampAfterTimestamp, which fails (not safe) when either does not
 * parse.
 */
function unconfirmedSinceFailure(spec: JsonObject | undefined): Pick<LonghornReplicaRecord, 'lastFailedAt'> {
  const lastFailedAt = stringAt(spec, 'lastFailedAt');
  if (lastFailedAt === '' || stringAt(spec, 'failedAt') !== '') return {};
  const failed = Date.parse(lastFailedAt);
  const healthy = Date.parse(stringAt(spec, 'lastHealthyAt'));
  return !Number.isNaN(failed) && !Number.isNaN(healthy) && healthy > failed ? {} : { lastFailedAt };
}

export function transformLonghornNode(raw: unknown): LonghornNodeRecord | undefined {
  const metadata = metadataOf(raw);
  const name = stringAt(metadata, 'name');
  if (!metadata || name === '') return undefined;
  const spec = objectAt(raw, 'spec');
  const diskSpecs = objectAt(spec, 'disks');
  const diskStatus = objectPath(raw, 'status', 'diskStatus');
  const uuids: string[] = [];
  const notReady: string[] = [];
  const evicting: string[] = [];
  for (const [diskName, disk] of Object.entries(diskStatus ?? {})) {
    const uuid = stringAt(disk, 'diskUUID');
    if (uuid === '' || uuids.includes(uuid)) continue;
    uuids.push(intern(uuid));
    // The node controller keeps a disk's recorded UUID when the disk no longer matches it (DiskFilesystemChanged)
    // or cannot be read: only the Ready condition says its replicas' data is out of reach.
    if (stringAt(conditionOf(disk, 'Ready', false), 'status') === 'False') notReady.push(uuid);
    // The spec names the disk, the status its UUID (what a replica's spec.diskID holds).
    if (objectAt(diskSpecs, diskName)?.['evictionRequested'] === true) evicting.push(uuid);
  }
  const ready = conditionOf(raw, 'Ready');
  const reason = stringAt(ready, 'reason');
  // Longhorn's replica scheduler (getNodeInfo, then its disk filter): which disks could take a new replica.
  const diskTags: string[][] = [];
  // The disks its spec offers, whatever their state now (LonghornNodeRecord.placement), by type: Longhorn's replica
  // scheduler places a v1 volume's replica on a `filesystem` disk only (the type's default), a v2 volume's on a `block`
  // disk only (filterNodeDisksForReplica).
  const configuredDiskTags: string[][] = [];
  const configuredBlockDiskTags: string[][] = [];
  for (const [diskName, disk] of Object.entries(diskSpecs ?? {})) {
    if (!isObject(disk) || disk['allowScheduling'] !== true || disk['evictionRequested'] === true) continue;
    (stringAt(disk, 'type') === 'block' ? configuredBlockDiskTags : configuredDiskTags).push(tagsAt(disk, 'tags'));
    if (stringAt(conditionOf(objectAt(diskStatus, diskName), 'Schedulable', false), 'status') !== 'True') continue;
    diskTags.push(tagsAt(disk, 'tags'));
  }
  const configured =
    spec?.['allowScheduling'] === true &&
    spec['evictionRequested'] !== true &&
    !isDeleting(metadata) &&
    configuredDiskTags.length + configuredBlockDiskTags.length > 0;
  const refuses =
    stringAt(ready, 'status') !== 'True' ||
    stringAt(conditionOf(raw, 'Schedulable'), 'status') !== 'True' ||
    spec?.['allowScheduling'] !== true ||
    isDeleting(metadata) ||
    diskTags.length === 0;
  const nodeTags = optionalTags('tags', spec);
  return {
    namespace: intern(stringAt(metadata, 'namespace')),
    name: intern(name),
    diskUUIDs: uuids.length > 0 ? uuids : EMPTY_LIST,
    ...(notReady.length > 0 ? { notReadyDiskUUIDs: notReady } : {}),
    ...(spec?.['evictionRequested'] === true ? { evictionRequested: true as const } : {}),
    ...(evicting.length > 0 ? { evictingDiskUUIDs: evicting } : {}),
    down: stringAt(ready, 'status') === 'False' && LONGHORN_NODE_DOWN_REASONS.includes(reason),
    ...(refuses ? { refusesReplicas: true as const } : {}),
    ...(refuses ? {} : nodeTags),
    ...(!refuses && diskTags.some((tags) => tags.length > 0) ? { diskTags } : {}),
    ...(configured
      ? {
          placement: {
            tags: tagsAt(spec, 'tags'),
            diskTags: configuredDiskTags,
            ...(configuredBlockDiskTags.length > 0 ? { blockDiskTags: configuredBlockDiskTags } : {}),
          },
        }
      : {}),
  };
}

/** The Ready-condition reasons with which Longhorn declares a node down or deleted (its IsNodeDownOrDeleted). */
export const LONGHORN_NODE_DOWN_REASONS: readonly string[] = ['KubernetesNodeGone', 'KubernetesNodeNotReady'];

/** A Longhorn Setting keeps its value at the top level of the object, not under spec. */
export function transformLonghornSetting(raw: unknown): LonghornSettingRecord | undefined {
  const metadata = metadataOf(raw);
  const name = stringAt(metadata, 'name');
  if (!metadata || name === '') return undefined;
  return { namespace: intern(stringAt(metadata, 'namespace')), name: intern(name), value: stringAt(raw, 'value') };
}

export const HARVESTER_SKIP_DETACHED_ANNOTATION = 'harvesterhci.io/skipSingleReplicaDetachedVol';
export const HARVESTER_UPGRADE_STATE_LABEL = 'harvesterhci.io/upgradeState';

export function transformHarvesterUpgrade(raw: unknown): HarvesterUpgradeRecord | undefined {
  const metadata = metadataOf(raw);
  const name = stringAt(metadata, 'name');
  if (!metadata || name === '') return undefined;
  return {
    kind: 'Upgrade',
    namespace: intern(stringAt(metadata, 'namespace')),
    name,
    skipDetached: stringMapAt(metadata, 'annotations')[HARVESTER_SKIP_DETACHED_ANNOTATION] === 'true',
    state: intern(stringMapAt(metadata, 'labels')[HARVESTER_UPGRADE_STATE_LABEL] ?? ''),
    nodeStates: nodeStatesAt(raw, 'nodeStatuses'),
    ...optionalAnnotations(metadata),
  };
}

/**
 * Harvester's upgrade toolkit UpgradePlan (management.harvesterhci.io/v1beta1, cluster-scoped): its phase is
 * `status.currentPhase`, each node's state `status.nodeUpgradeStatuses[<node>].state` (upgrade-toolkit
 * api/v1beta1/upgradeplan_types.go); its webhook reads the same skipSingleReplicaDetachedVol annotation, "true" only.
 */
export function transformHarvesterUpgradePlan(raw: unknown): HarvesterUpgradeRecord | undefined {
  const metadata = metadataOf(raw);
  const name = stringAt(metadata, 'name');
  if (!metadata || name === '') return undefined;
  return {
    kind: 'UpgradePlan',
    namespace: '',
    name,
    skipDetached: stringMapAt(metadata, 'annotations')[HARVESTER_SKIP_DETACHED_ANNOTATION] === 'true',
    state: intern(stringAt(objectPath(raw, 'status'), 'currentPhase')),
    nodeStates: nodeStatesAt(raw, 'nodeUpgradeStatuses'),
    ...optionalAnnotations(metadata),
  };
}

/** `status.<field>[<node>].state` of a Harvester upgrade, by node. */
function nodeStatesAt(raw: unknown, field: string): Readonly<Record<string, string>> {
  const nodeStates: Record<string, string> = {};
  for (const [node, status] of Object.entries(objectPath(raw, 'status', field) ?? {})) {
    const state = stringAt(status, 'state');
    if (state !== '') nodeStates[node] = intern(state);
  }
  return Object.keys(nodeStates).length > 0 ? nodeStates : EMPTY_STRING_MAP;
}

export const MACHINE_SET_LABEL = 'cluster.x-k8s.io/set-name';
export const MACHINE_DEPLOYMENT_LABEL = 'cluster.x-k8s.io/deployment-name';
/** The label a control plane provider (KubeadmControlPlane) puts on its Machines. */
export const MACHINE_CONTROL_PLANE_LABEL = 'cluster.x-k8s.io/control-plane-name';
/** Cluster API removes Machines carrying this annotation first when their MachineSet scales down. */
export const DELETE_MACHINE_ANNOTATION = 'cluster.x-k8s.io/delete-machine';

/** A Cluster API Machine (v1beta1 and v1beta2 alike: both name the node in status.nodeRef.name). */
/** Machine conditions whose `False` makes Cluster API remove the Machine early at a scale-down (v1beta2 types). */
const MACHINE_HEALTH_CONDITIONS: readonly string[] = ['NodeHealthy', 'HealthCheckSucceeded'];

/** Cluster API (v1.12+) marks a Machine updating in place with this annotation, or a pending UpdateMachine hook. */
const UPDATE_IN_PROGRESS_ANNOTATION = 'in-place-updates.internal.cluster.x-k8s.io/update-in-progress';
const PENDING_HOOKS_ANNOTATION = 'runtime.cluster.x-k8s.io/pending-hooks';

function isUpdatingInPlace(annotations: Readonly<Record<string, string>>): boolean {
  if (annotations[UPDATE_IN_PROGRESS_ANNOTATION] !== undefined) return true;
  return (annotations[PENDING_HOOKS_ANNOTATION] ?? '').split(',').some((hook) => hook.trim() === 'UpdateMachine');
}

/** Cluster API's Machine controller neither cordons nor drains the node of a Machine carrying this annotation. */
export const EXCLUDE_NODE_DRAINING_ANNOTATION = 'machine.cluster.x-k8s.io/exclude-node-draining';

/**
 * Whether the Machine's node may be deleted before its drain completes (MachineRecord.drainCutShort), as Cluster API's
 * isNodeDrainAllowed reads it: the exclude annotation, or a positive node drain timeout (v1beta2 seconds; v1beta1 a
 * Go duration string, "0s" and the like meaning none).
 */
function drainCutShortOf(raw: unknown, annotations: Readonly<Record<string, string>>): MachineRecord['drainCutShort'] {
  if (annotations[EXCLUDE_NODE_DRAINING_ANNOTATION] !== undefined) return 'excluded';
  const seconds = numberAt(objectPath(raw, 'spec', 'deletion'), 'nodeDrainTimeoutSeconds');
  if (seconds !== undefined && seconds > 0) return 'timeout';
  // A Go duration: Cluster API waits for good when it is not positive ("0s", "-5m").
  const duration = stringAt(objectAt(raw, 'spec'), 'nodeDrainTimeout').trim();
  return !duration.startsWith('-') && /[1-9]/.test(duration) ? 'timeout' : undefined;
}

export function transformMachine(raw: unknown): MachineRecord | undefined {
  const metadata = metadataOf(raw);
  const name = stringAt(metadata, 'name');
  if (!metadata || name === '') return undefined;
  const labels = stringMapAt(metadata, 'labels');
  const drainCutShort = drainCutShortOf(raw, stringMapAt(metadata, 'annotations'));
  const nodeName = intern(stringAt(objectPath(raw, 'status', 'nodeRef'), 'name'));
  const providerID = nodeName === '' ? stringAt(objectAt(raw, 'spec'), 'providerID') : '';
  return {
    namespace: intern(stringAt(metadata, 'namespace')),
    name,
    nodeName,
    ...(providerID !== '' ? { providerID } : {}),
    machineSet: intern(labels[MACHINE_SET_LABEL] ?? ''),
    machineDeployment: intern(labels[MACHINE_DEPLOYMENT_LABEL] ?? ''),
    controlPlane: intern(labels[MACHINE_CONTROL_PLANE_LABEL] ?? ''),
    deleteMarked: stringMapAt(metadata, 'annotations')[DELETE_MACHINE_ANNOTATION] !== undefined,
    unhealthy: MACHINE_HEALTH_CONDITIONS.some((type) => stringAt(conditionOf(raw, type), 'status') === 'False'),
    updatingInPlace: isUpdatingInPlace(stringMapAt(metadata, 'annotations')),
    deleting: isDeleting(metadata),
    ...(drainCutShort ? { drainCutShort } : {}),
    clusterName: intern(stringAt(objectAt(raw, 'spec'), 'clusterName') || (labels[MACHINE_CLUSTER_LABEL] ?? '')),
    labels: internedMap(labels),
  };
}

/** The label Cluster API puts on every Machine, naming its Cluster (spec.clusterName says the same). */
export const MACHINE_CLUSTER_LABEL = 'cluster.x-k8s.io/cluster-name';

/** A Cluster API MachineDrainRule (v1beta1 and v1beta2 share its spec). */
export function transformMachineDrainRule(raw: unknown): MachineDrainRuleRecord | undefined {
  const metadata = metadataOf(raw);
  const name = stringAt(metadata, 'name');
  if (!metadata || name === '') return undefined;
  const spec = objectAt(raw, 'spec');
  const selectors = <K extends string>(key: string, first: 'selector', second: K) =>
    arrayAt(spec, key).map((entry) => {
      const selector = parseLabelSelector(objectAt(entry, first));
      const other = parseLabelSelector(objectAt(entry, second));
      return { ...(selector ? { selector } : {}), ...(other ? { [second]: other } : {}) } as { selector?: LabelSelectorRecord } & Partial<Record<K, LabelSelectorRecord>>;
    });
  return {
    namespace: intern(stringAt(metadata, 'namespace')),
    name,
    behavior: intern(stringAt(objectAt(spec, 'drain'), 'behavior')),
    machines: selectors('machines', 'selector', 'clusterSelector'),
    pods: selectors('pods', 'selector', 'namespaceSelector'),
  };
}

/** A Cluster API MachineDeployment or KubeadmControlPlane: its name and `volume-guard.io/` annotations. */
export function transformMachineOwner(raw: unknown): MachineOwnerRecord | undefined {
  const metadata = metadataOf(raw);
  const name = stringAt(metadata, 'name');
  if (!metadata || name === '') return undefined;
  return { namespace: intern(stringAt(metadata, 'namespace')), name, ...optionalAnnotations(metadata), ...(isDeleting(metadata) ? { deleting: true as const } : {}) };
}

/** A Cluster API Cluster: its labels, whether it is being deleted, its control plane object. */
export function transformClusterApiCluster(raw: unknown): ClusterApiClusterRecord | undefined {
  const metadata = metadataOf(raw);
  const name = stringAt(metadata, 'name');
  if (!metadata || name === '') return undefined;
  // v1beta1 and v1beta2 both name the kind and name (apiVersion or apiGroup beside them).
  const reference = objectPath(raw, 'spec', 'controlPlaneRef');
  const controlPlaneRef =
    stringAt(reference, 'kind') !== '' && stringAt(reference, 'name') !== '' ? { kind: intern(stringAt(reference, 'kind')), name: stringAt(reference, 'name') } : undefined;
  return {
    namespace: intern(stringAt(metadata, 'namespace')),
    name,
    labels: internedMap(stringMapAt(metadata, 'labels')),
    ...(isDeleting(metadata) ? { deleting: true } : {}),
    ...(controlPlaneRef ? { controlPlaneRef } : {}),
    ...(booleanAt(objectAt(raw, 'spec'), 'paused') ? { paused: true } : {}),
  };
}

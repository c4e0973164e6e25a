// Required node affinity, evaluated like the scheduler does (k8s.io/component-helpers nodeaffinity semantics),
// and the question volume-guard asks of it: can this PV (or pod) only ever run on one node?
//
// Semantics implemented:
// - terms are ORed; inside a term every matchExpressions / matchFields requirement is ANDed;
// - a term with no requirement matches no node; a term with an invalid requirement matches no node (the
//   scheduler drops it with a parse error) — neither makes the other terms fail;
// - In / NotIn need at least one value, Exists / DoesNotExist none, Gt / Lt exactly one integer; a node label
//   compared by Gt / Lt must parse as an integer too, else the requirement is not met;
// - NotIn and DoesNotExist match nodes that lack the key;
// - matchFields support only `metadata.name` with In or NotIn and exactly one value.
//
// "Can only ever run on node N" needs more than "N is the one node matching today": every term must name its
// nodes (an In on a node-identity-like key, or for a pod metadata.name), so that a node joining later cannot match it.
// A zone, region, rack, OS, architecture, instance type or node pool names groups of nodes, never one node: a PV whose
// only live match is the single node of its zone is not pinned (the next node of that zone could mount it).
// For a PV any other key works as an identity (kubernetes.io/hostname, openebs.io/nodeid, topology.topolvm.io/node,
// ...): its driver labels each node with its own value, and a wrong guess only reports the PV on its node anyway.
// A pod is pinned only by a node's identity (NODE_IDENTITY_KEYS, metadata.name): a label such as `disktype: ssd` that
// one node carries today names a group, and a pod drained off that node goes Pending until an autoscaler adds a
// matching node, where it starts without the data it left behind.

import type { Labels, NodeRecord, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm } from './records.ts';
import { arrayAt, isObject, stringAt, stringMapAt } from '../json.ts';

export type { NodeSelector, NodeSelectorRequirement, NodeSelectorTerm } from './records.ts';

export const NO_NODE_SELECTOR: NodeSelector = Object.freeze([]);
const NO_REQUIREMENTS: readonly NodeSelectorRequirement[] = Object.freeze([]);

/** The field key matchFields support. */
export const NODE_NAME_FIELD = 'metadata.name';

/**
 * Label keys that name a group of nodes, never a single one: an In on them does not pin. Matched on the whole
 * key, or on its name part after the last `/` (topology.ebs.csi.aws.com/zone, topology.gke.io/zone, ...).
 */
const GROUP_KEY_NAMES: ReadonlySet<string> = new Set([
  'zone',
  'region',
  'rack',
  'instance-type',
  'os',
  'arch',
  // Capacity kinds and machine families: spot or on-demand, a family of instance types.
  'capacity-type',
  'capacitytype',
  'gke-spot',
  'gke-preemptible',
  'scalesetpriority',
  'lifecycle',
  'machine-family',
  'location',
]);
/**
 * Zones, regions and node pools, whatever a provider calls them (GKE's gke-nodepool, AKS's agentpool, DigitalOcean's node-pool, IBM's
 * worker-pool-name, EKS's nodegroup, eksctl's nodegroup-name, Linode's pool-id, Alibaba's nodepool-id, kOps's
 * instancegroup): matched on the end of the key's last segment. A surge upgrade of a pool adds a node to it before
 * draining the old one, so a pool of one node today pins nothing.
 */
const GROUP_KEY_SUFFIXES: readonly string[] = [
  // Zones and regions under any name: vSphere CSI's k8s-zone and k8s-region, EKS's zone-id, availability-zone, and
  // locations (Hetzner's csi.hetzner.cloud/location, which its CSI driver pins every volume to and its autoscaler
  // labels new nodes with; not allocation or colocation).
  'zone',
  'region',
  'zone-id',
  '-location',
  'pool',
  'pool-name',
  'pool-id',
  'nodegroup',
  'node-group',
  'nodegroup-name',
  'instancegroup',
  'instance-group',
];
const GROUP_KEY_PREFIXES: readonly string[] = [
  'node-role.kubernetes.io/',
  'failure-domain.beta.kubernetes.io/',
  // Node Feature Discovery: hardware features shared by many nodes (and up to hundreds of labels per node).
  'feature.node.kubernetes.io/',
  // Karpenter's AWS instance labels (instance-family, -size, -cpu, ...): properties of instance types.
  'karpenter.k8s.aws/',
];

/**
 * Node-affinity keys whose value is, by default, the node's own name or id: each node carries its own value.
 * - kubernetes.io/hostname: well-known label; local static provisioner, Rancher local-path, OpenEBS LocalPV hostpath/device
 * - openebs.io/nodename: OpenEBS LocalPV LVM and ZFS (their default CSI topology key)
 * - openebs.io/nodeid: OpenEBS LocalPV-ZFS
 * - topology.topolvm.io/node, topology.topolvm.cybozu.com/node (before TopoLVM 0.17): TopoLVM
 * - topology.hostpath.csi/node: the Kubernetes CSI hostpath driver
 * - the node topology keys of node-local CSI drivers, whose node plugin labels each node with its own name: MinIO
 *   DirectPV, csi-driver-lvm (metal-stack, Harvester's LVM), Carina, Intel PMEM-CSI, HwameiStor LVM and disk
 * `topology.kubernetes.io/hostname` is not a well-known label and no provisioner we know sets it.
 */
export const NODE_IDENTITY_KEYS: readonly string[] = [
  'kubernetes.io/hostname',
  'openebs.io/nodename',
  'openebs.io/nodeid',
  'topology.topolvm.io/node',
  'topology.topolvm.cybozu.com/node',
  'topology.hostpath.csi/node',
  'directpv.min.io/node',
  'topology.lvm.csi/node',
  'topology.carina.storage.io/node',
  'pmem-csi.intel.com/node',
  'topology.lvm.hwameistor.io/node',
  'topology.disk.hwameistor.io/node',
];

export function isNodeIdentityKey(key: string): boolean {
  return NODE_IDENTITY_KEYS.includes(key);
}

/** Which label keys may name a single node: any but a group key (a PV's affinity), or identity keys only (a pod's). */
export type PinningKeys = 'not-group' | 'identity';

function pinsBy(key: string, keys: PinningKeys): boolean {
  return keys === 'identity' ? isNodeIdentityKey(key) : !isGroupKey(key);
}

export function isGroupKey(key: string): boolean {
  if (GROUP_KEY_PREFIXES.some((prefix) => key.startsWith(prefix))) return true;
  const name = key.slice(key.lastIndexOf('/') + 1).toLowerCase();
  return GROUP_KEY_NAMES.has(name) || GROUP_KEY_SUFFIXES.some((suffix) => name.endsWith(suffix));
}

// ------------------------------------------------------------------------------------------------ parsing

function requirementsAt(term: unknown, key: string): readonly NodeSelectorRequirement[] {
  const raw = arrayAt(term, key);
  if (raw.length === 0) return NO_REQUIREMENTS;
  const requirements: NodeSelectorRequirement[] = [];
  for (const item of raw) {
    // A malformed item is kept as an invalid requirement: the term then matches nothing, as in the scheduler.
    const values = arrayAt(item, 'values').map((value) => (typeof value === 'string' ? value : '\u0000'));
    requirements.push({ key: stringAt(item, 'key'), operator: stringAt(item, 'operator'), values });
  }
  return requirements;
}

/** `spec.nodeAffinity.required` of a PV, or `requiredDuringSchedulingIgnoredDuringExecution` of a pod. */
export function parseNodeSelector(required: unknown): NodeSelector {
  if (!isObject(required)) return NO_NODE_SELECTOR;
  const terms = arrayAt(required, 'nodeSelectorTerms');
  if (terms.length === 0) return NO_NODE_SELECTOR;
  return terms.map((term) => ({
    matchExpressions: requirementsAt(term, 'matchExpressions'),
    matchFields: requirementsAt(term, 'matchFields'),
  }));
}

/** A field requirement every node name meets: what a valid one is to a PV, whose Node has no name. */
const ANY_NODE_NAME: NodeSelectorRequirement = { key: NODE_NAME_FIELD, operator: 'NotIn', values: ['\u0001'] };

/**
 * A PV's node affinity as the scheduler's volume binding and the kubelet read it (storage helpers'
 * CheckNodeAffinity): against a Node made of the node's labels only, with no name. The scheduler's term matching
 * skips `matchFields` when the Node has no fields (nodeaffinity's nodeSelectorTerm.match), so a valid
 * `metadata.name` requirement, In or NotIn, restricts nothing: the term matches every node its labels allow. An
 * invalid one still makes the term match nothing. Rewritten so that evaluation and pinning read it unchanged.
 */
export function persistentVolumeNodeSelector(selector: NodeSelector): NodeSelector {
  if (selector.every((term) => term.matchFields.length === 0)) return selector;
  return selector.map((term) => {
    if (term.matchFields.length === 0 || !term.matchFields.every(validFieldRequirement)) return term;
    return { matchExpressions: term.matchExpressions, matchFields: [ANY_NODE_NAME] };
  });
}

/**
 * A pod's scheduling constraint on nodes: spec.nodeSelector ANDed with the required node affinity (each term
 * gets the nodeSelector's labels as In requirements; an empty term stays empty). Empty when the pod may run anywhere.
 */
export function podNodeSelector(spec: unknown): NodeSelector {
  const nodeSelector = stringMapAt(spec, 'nodeSelector');
  const selectorRequirements: NodeSelectorRequirement[] = Object.entries(nodeSelector).map(([key, value]) => ({
    key,
    operator: 'In',
    values: [value],
  }));
  const required = isObject(spec)
    ? (spec['affinity'] as { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: unknown } } | undefined)
    : undefined;
  const affinity = parseNodeSelector(isObject(required) ? required.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution : undefined);
  if (affinity.length === 0) {
    return selectorRequirements.length === 0
      ? NO_NODE_SELECTOR
      : [{ matchExpressions: selectorRequirements, matchFields: NO_REQUIREMENTS }];
  }
  if (selectorRequirements.length === 0) return affinity;
  // An empty term matches no node (the scheduler skips it): the nodeSelector's labels must not make it match theirs.
  return affinity.map((term) =>
    term.matchExpressions.length === 0 && term.matchFields.length === 0
      ? term
      : { matchExpressions: [...term.matchExpressions, ...selectorRequirements], matchFields: term.matchFields },
  );
}

// --------------------------------------------------------------------------------------------- evaluation

const INTEGER = /^[+-]?\d+$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A base-10 int64, as Go's strconv.ParseInt(text, 10, 64) reads it; undefined otherwise. */
function parseInteger(text: string): bigint | undefined {
  if (!INTEGER.test(text)) return undefined;
  const value = BigInt(text);
  return value < INT64_MIN || value > INT64_MAX ? undefined : value;
}

/** Whether a label requirement is well formed (the scheduler refuses the whole term otherwise). */
function validLabelRequirement(requirement: NodeSelectorRequirement): boolean {
  if (requirement.key === '') return false;
  switch (requirement.operator) {
    case 'In':
    case 'NotIn':
      return requirement.values.length > 0 && !requirement.values.includes('\u0000');
    case 'Exists':
    case 'DoesNotExist':
      return requirement.values.length === 0;
    case 'Gt':
    case 'Lt':
      return requirement.values.length === 1 && parseInteger(requirement.values[0] as string) !== undefined;
    default:
      return false;
  }
}

function validFieldRequirement(requirement: NodeSelectorRequirement): boolean {
  return (
    requirement.key === NODE_NAME_FIELD &&
    (requirement.operator === 'In' || requirement.operator === 'NotIn') &&
    requirement.values.length === 1 &&
    requirement.values[0] !== '\u0000'
  );
}

/** A term the scheduler can use: at least one requirement, all of them well formed. */
export function isValidTerm(term: NodeSelectorTerm): boolean {
  if (term.matchExpressions.length === 0 && term.matchFields.length === 0) return false;
  return term.matchExpressions.every(validLabelRequirement) && term.matchFields.every(validFieldRequirement);
}

function labelRequirementMatches(requirement: NodeSelectorRequirement, labels: Labels): boolean {
  const has = Object.hasOwn(labels, requirement.key);
  const value = has ? (labels[requirement.key] as string) : '';
  switch (requirement.operator) {
    case 'In':
      return has && requirement.values.includes(value);
    case 'NotIn':
      return !has || !requirement.values.includes(value);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has) return false;
      const actual = parseInteger(value);
      const bound = parseInteger(requirement.values[0] ?? '');
      if (actual === undefined || bound === undefined) return false;
      return requirement.operator === 'Gt' ? actual > bound : actual < bound;
    }
    default:
      return false;
  }
}

function fieldRequirementMatches(requirement: NodeSelectorRequirement, nodeName: string): boolean {
  const value = requirement.values[0];
  return requirement.operator === 'In' ? nodeName === value : nodeName !== value;
}

export function termMatches(term: NodeSelectorTerm, node: Pick<NodeRecord, 'name' | 'labels'>): boolean {
  if (!isValidTerm(term)) return false;
  return (
    term.matchExpressions.every((requirement) => labelRequirementMatches(requirement, node.labels)) &&
    term.matchFields.every((requirement) => fieldRequirementMatches(requirement, node.name))
  );
}

/** Whether the node satisfies the selector (no terms: every node does). */
export function selectorMatches(selector: NodeSelector, node: Pick<NodeRecord, 'name' | 'labels'>): boolean {
  if (selector.length === 0) return true;
  return selector.some((term) => termMatches(term, node));
}

// ---------------------------------------------------------------------------------------------- pinning

/**
 * The requirement that bounds a term to nodes named by value, as `key` (a label key, or metadata.name) and
 * `values`: a metadata.name In, else an In on a key that is not a group key (`keys` 'identity': on an identity
 * key). Undefined when the term is open (a node joining later could match it). An invalid term matches nothing: it
 * returns null (closed, no nodes).
 */
export function termAnchor(
  term: NodeSelectorTerm,
  keys: PinningKeys = 'not-group',
): { readonly key: string; readonly values: readonly string[] } | null | undefined {
  if (!isValidTerm(term)) return null;
  for (const field of term.matchFields) {
    if (field.operator === 'In') return { key: NODE_NAME_FIELD, values: field.values };
  }
  let anchor: NodeSelectorRequirement | undefined;
  for (const requirement of term.matchExpressions) {
    if (requirement.operator !== 'In' || !pinsBy(requirement.key, keys)) continue;
    // Prefer the requirement naming the fewest nodes (kubernetes.io/hostname with one value over a list).
    if (anchor === undefined || requirement.values.length < anchor.values.length) anchor = requirement;
  }
  return anchor === undefined ? undefined : { key: anchor.key, values: anchor.values };
}

/** `key=value` bucket keys of an anchored selector, undefined when some term is open (never pinned). */
export function anchorKeys(selector: NodeSelector): readonly string[] | undefined {
  if (selector.length === 0) return undefined;
  const keys: string[] = [];
  for (const term of selector) {
    const anchor = termAnchor(term);
    if (anchor === undefined) return undefined;
    if (anchor === null) continue;
    for (const value of anchor.values) {
      const key = `${anchor.key}=${value}`;
      if (!keys.includes(key)) keys.push(key);
    }
  }
  return keys;
}

/** How the evaluator reads live nodes: by name, and by `key=value` label (keys that are not group keys). */
export interface NodeLookup {
  node(name: string): NodeRecord | undefined;
  nodesLabelled(key: string, value: string): readonly NodeRecord[];
}

/**
 * The one live node a PV's affinity can ever match, '' when it is open (some term could match a node joining
 * later), matches several live nodes, or matches none (then `fallback`, the node the selector names by
 * hostname or metadata.name, for data left behind by a deleted node). Cost: O(nodes under the anchors).
 * With `lands`, only the live nodes it accepts count as matches: where a pod's replacement is scheduled now (a node
 * cordoned, not Ready or tainted against the pod takes none; see taints.ts).
 */
export function pinnedNodeOf(selector: NodeSelector, nodes: NodeLookup, fallback = '', lands?: (node: NodeRecord) => boolean): string {
  return pinnedBy(selector, nodes, fallback, 'not-group', lands);
}

/**
 * The one live node a pod's nodeSelector and required node affinity can ever match, '' otherwise: as pinnedNodeOf,
 * but only metadata.name and node identity keys pin. A shared label (`disktype: ssd`) that one node carries today
 * does not: the pod, drained, stays Pending until an autoscaler adds a node carrying it, and starts there.
 */
export function pinnedPodNodeOf(selector: NodeSelector, nodes: NodeLookup): string {
  return pinnedBy(selector, nodes, '', 'identity');
}

/**
 * The one live node a selector can ever match by the identity rule of pinnedPodNodeOf, `fallback` when it matches no
 * live node: whether a pod comes back to a node through its claim's PV once that node is unschedulable (a PV pinned by
 * a shared label one node carries today lets the drained pod start on the next node carrying it).
 */
export function pinnedByIdentityOf(selector: NodeSelector, nodes: NodeLookup, fallback = ''): string {
  return pinnedBy(selector, nodes, fallback, 'identity');
}

/**
 * What a selector's anchors find among the live nodes: `unanchored` when some term could match a node joining later
 * (no anchor), `several` when two live nodes match, else the one live match (undefined: none) and whether, by identity,
 * some anchor names a node that is not live (it may join, again, and match).
 */
type AnchoredMatch =
  | { readonly kind: 'unanchored' | 'several' }
  | { readonly kind: 'matched'; readonly node: string | undefined; readonly namesAbsentNode: boolean };

const UNANCHORED: AnchoredMatch = Object.freeze({ kind: 'unanchored' });
const SEVERAL: AnchoredMatch = Object.freeze({ kind: 'several' });

function anchoredMatch(selector: NodeSelector, nodes: NodeLookup, keys: PinningKeys, lands?: (node: NodeRecord) => boolean): AnchoredMatch {
  let match: string | undefined;
  let namesAbsentNode = false;
  for (const term of selector) {
    const anchor = termAnchor(term, keys);
    if (anchor === undefined) return UNANCHORED;
    if (anchor === null) continue;
    for (const value of anchor.values) {
      const candidates =
        anchor.key === NODE_NAME_FIELD ? optional(nodes.node(value)) : nodes.nodesLabelled(anchor.key, value);
      if (candidates.length === 0 && keys === 'identity') namesAbsentNode = true;
      for (const candidate of candidates) {
        if (candidate.name === match || !termMatches(term, candidate) || (lands !== undefined && !lands(candidate))) continue;
        if (match !== undefined) return SEVERAL;
        match = candidate.name;
      }
    }
  }
  return { kind: 'matched', node: match, namesAbsentNode };
}

function pinnedBy(selector: NodeSelector, nodes: NodeLookup, fallback: string, keys: PinningKeys, lands?: (node: NodeRecord) => boolean): string {
  if (selector.length === 0) return fallback;
  const found = anchoredMatch(selector, nodes, keys, lands);
  if (found.kind !== 'matched') return '';
  // No live match: the fallback (the node a PV names, for data left behind by a deleted node; '' for a pod).
  if (found.node === undefined) return fallback;
  // By identity: a value naming no live node (kubernetes.io/hostname In [node-1, node-3], node-3 gone) is a node that
  // may join (again) and match, so the selector pins nothing. A PV's wider rule names its one live match (PVs unchanged).
  return found.namesAbsentNode ? '' : found.node;
}

/**
 * Whether a pod with this nodeSelector / required node affinity can never be scheduled again: every term names its
 * nodes by identity (metadata.name, a node identity key) or is invalid, every node named is live, and none of them
 * matches its term (kubernetes.io/hostname=node-1 with disktype=ssd, node-1 no longer labelled ssd). A node joining
 * later cannot match: it would need the name of a node already there. The pod stays Pending until a node's labels change.
 */
export function podMatchesNoNodeEver(selector: NodeSelector, nodes: NodeLookup): boolean {
  if (selector.length === 0) return false;
  const found = anchoredMatch(selector, nodes, 'identity');
  return found.kind === 'matched' && found.node === undefined && !found.namesAbsentNode;
}

function optional(node: NodeRecord | undefined): readonly NodeRecord[] {
  return node === undefined ? NO_NODES : [node];
}

const NO_NODES: readonly NodeRecord[] = Object.freeze([]);

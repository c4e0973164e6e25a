// Which changes to which objects make a controller replace or reboot machines: one table per kind. It drives the
// upgrade validator (what is judged) and its webhook's matchConditions (what the API server sends), and the
// README's "Which changes are upgrades" section is written from it (a test holds them equal).
import { field, isRecord } from '../objects.ts';

/** How two values of a rollout field are compared. */
export type Comparison =
  /** Any difference, structurally (key order aside). */
  | 'value'
  /**
   * A reference to a template object (`{apiVersion|apiGroup, kind, name, namespace?}`): compared by API group,
   * kind and name, as Cluster API does (a new apiVersion of the same template, or its namespace spelt out, rolls
   * nothing).
   */
  | 'ref'
  /** A bootstrap block `{configRef, dataSecretName}`: configRef as a `ref`, dataSecretName as a value. */
  | 'bootstrap'
  /** A time to roll at (`rolloutAfter`): set or changed counts; removing it rolls nothing. */
  | 'set'
  /**
   * A bound on how many nodes are upgraded at once (system-upgrade-controller's `concurrency`): only a higher
   * effective value counts, as a lower one starts no node and the nodes already upgrading finish either way.
   * Absent, null, 0 and negative values all mean 0 (the controller starts no node); a value that is not a number
   * counts on any change.
   */
  | 'increase'
  /**
   * A field that holds the rollout back while it has the value `from` (a MachineDeployment's `spec.paused: true`,
   * its `OnDelete` strategy): leaving that value counts when the old object's status says some Machines are not up
   * to date (`status.replicas` above the up-to-date count), as the template change made meanwhile rolls them now.
   */
  | 'release'
  /**
   * system-upgrade-controller's `spec.secrets`: its plan hash takes the contents of the secrets not marked
   * `ignoreUpdates`, in order, so only their names count (a path, a mode or an ignored secret re-runs nothing).
   */
  | 'secrets'
  /** A version the controller munges before hashing it (`+` read as `-`: system-upgrade-controller's MungeVersion). */
  | 'munged';

/** A part of a rollout field the controller ignores when deciding whether machines are out of date. */
export interface IgnoredPath {
  /** Path below the rollout field, e.g. ['joinConfiguration', 'discovery']. */
  readonly path: readonly string[];
  /**
   * Only where the CRD serves one of these API versions, as the objects' `apiVersion` or the version the client wrote
   * in shows (the controller releases serving it ignore the path); absent: every release ignores it.
   */
  readonly versions?: readonly string[];
}

export interface RolloutField {
  /** Path from the object's root, e.g. ['spec', 'template', 'spec', 'version']. */
  readonly path: readonly string[];
  readonly compare: Comparison;
  /** The API versions that have this field, for the README. */
  readonly versions: string;
  /** Sub-paths whose changes roll nothing (a versioned one only when both objects are of one of its versions). */
  readonly ignored?: readonly IgnoredPath[];
  /** With `release`: the value that holds the rollout back. */
  readonly from?: string | boolean;
  /**
   * A field the controller reads only while this other field (path from the root) is empty in the new object: a
   * change counts only then (system-upgrade-controller resolves `spec.channel` only for a plan without `spec.version`).
   */
  readonly unlessSet?: readonly string[];
  /** Empty values the controller reads as absent: a change that only adds or removes one rolls nothing. */
  readonly emptyAsAbsent?: EmptyAsAbsent;
}

/**
 * Cluster API's dropOmittableFields: an empty list, or an empty map under one of `maps`, is the same as none (both
 * render to the same kubeadm and cloud-init files), except the lists under `keepLists` (`taints: []` means no taint,
 * an absent one kubeadm's default). Its v1beta1 webhooks strip them before storing instead.
 */
export interface EmptyAsAbsent {
  readonly keepLists: readonly string[];
  readonly maps: readonly string[];
}

export interface UpgradeKindTable {
  readonly group: string;
  readonly kind: string;
  /** CREATE starts machines restarting (an upgrade plan); false: a new object only adds machines. */
  readonly createIsUpgrade: boolean;
  /** An UPDATE that changes any of these starts a rollout. Labels, annotations and status never do. */
  readonly fields: readonly RolloutField[];
  /**
   * An annotation listing more rollout fields (comma-separated dotted paths, read from the object itself), as
   * system-upgrade-controller's `upgrade.cattle.io/digest`: a change of one of them, or of the list, starts a rollout.
   */
  readonly digestAnnotation?: string;
  /**
   * An UPDATE of an object already being deleted (metadata.deletionTimestamp set) starts nothing: its controller
   * only tears it down (Cluster API's reconcileDelete deletes the MachineSets or Machines, judged there), or skips
   * it (system-upgrade-controller's generating handler creates no job for a Plan being deleted).
   */
  readonly deletingRollsNothing?: boolean;
  /**
   * An UPDATE of an object whose old version has no Machine to replace (`spec.replicas` and `status.replicas` both
   * 0: a pool scaled to zero) starts nothing: Machines created later, in the same write or after, get the new template.
   */
  readonly emptyRollsNothing?: boolean;
  /** What the controller does, for the README. */
  readonly note: string;
}

const value = (versions: string, ...path: string[]): RolloutField => ({ path, compare: 'value', versions });
const ref = (versions: string, ...path: string[]): RolloutField => ({ path, compare: 'ref', versions });
const whenSet = (versions: string, ...path: string[]): RolloutField => ({ path, compare: 'set', versions });
const increase = (versions: string, ...path: string[]): RolloutField => ({ path, compare: 'increase', versions });
const release = (versions: string, from: string | boolean, ...path: string[]): RolloutField => ({ path, compare: 'release', versions, from });

/**
 * What KubeadmControlPlane's up-to-date check (matchesKubeadmConfig) blanks on both the desired and the Machine's
 * KubeadmConfig before comparing. Discovery only matters for the next join, in every controller release. DNS is
 * reconciled in the workload cluster in place: skipped since Cluster API 1.7, v1beta1 releases included (their
 * matchClusterConfiguration blanks it; 1.6 and older compared it). controlPlaneEndpoint comes from the Cluster:
 * skipped by the releases serving v1beta2 (1.11 on), compared by older ones serving only v1beta1. The control-plane
 * component health-check timeout (init/joinConfiguration.timeouts.controlPlaneComponentHealthCheckSeconds, which
 * v1beta1's clusterConfiguration.apiServer.timeoutForControlPlane converts to) only serves the next join: skipped by
 * PrepareKubeadmConfigsForDiff since Cluster API PR #13026 and its 1.11 backport #13030 (issue #13017); the 1.11
 * patch releases before that backport still rolled on it.
 */
const KUBEADM_EMPTY_AS_ABSENT: EmptyAsAbsent = { keepLists: ['taints'], maps: ['extraArgs', 'kubeletExtraArgs', 'featureGates'] };

const KUBEADM_CONFIG_SPEC_IGNORED: readonly IgnoredPath[] = [
  { path: ['joinConfiguration', 'discovery'] },
  { path: ['clusterConfiguration', 'dns'] },
  { path: ['clusterConfiguration', 'controlPlaneEndpoint'], versions: ['v1beta2'] },
  { path: ['initConfiguration', 'timeouts', 'controlPlaneComponentHealthCheckSeconds'], versions: ['v1beta2'] },
  { path: ['joinConfiguration', 'timeouts', 'controlPlaneComponentHealthCheckSeconds'], versions: ['v1beta2'] },
  { path: ['clusterConfiguration', 'apiServer', 'timeoutForControlPlane'], versions: ['v1beta2'] },
  // Read by `kubeadm init` only: the releases serving v1beta2 compare every Machine as a joining one first
  // (matchesKubeadmConfig), converting the init Machine's InitConfiguration to a JoinConfiguration without its tokens.
  { path: ['initConfiguration', 'bootstrapTokens'], versions: ['v1beta2'] },
];

/** Cluster API's MachineDeployment rollout fields of the machine template (its MachineTemplateUpToDate). */
const MACHINE_TEMPLATE_FIELDS: readonly RolloutField[] = [
  value('v1beta1, v1beta2', 'spec', 'template', 'spec', 'version'),
  { path: ['spec', 'template', 'spec', 'bootstrap'], compare: 'bootstrap', versions: 'v1beta1, v1beta2' },
  ref('v1beta1, v1beta2', 'spec', 'template', 'spec', 'infrastructureRef'),
  value('v1beta1, v1beta2', 'spec', 'template', 'spec', 'failureDomain'),
];

export const UPGRADE_KIND_TABLES: readonly UpgradeKindTable[] = [
  {
    group: 'harvesterhci.io',
    kind: 'Upgrade',
    createIsUpgrade: true,
    fields: [],
    note: 'Harvester upgrades every node in turn once the Upgrade exists; later updates are its own bookkeeping.',
  },
  {
    group: 'management.harvesterhci.io',
    kind: 'UpgradePlan',
    createIsUpgrade: true,
    fields: [],
    note: "Harvester's newer upgrade toolkit: the plan starts on creation.",
  },
  {
    group: 'upgrade.cattle.io',
    kind: 'Plan',
    createIsUpgrade: true,
    fields: [
      { path: ['spec', 'version'], compare: 'munged', versions: 'v1' },
      { ...value('v1', 'spec', 'channel'), unlessSet: ['spec', 'version'] },
      value('v1', 'spec', 'nodeSelector'),
      increase('v1', 'spec', 'concurrency'),
      { path: ['spec', 'secrets'], compare: 'secrets', versions: 'v1' },
      value('v1', 'spec', 'serviceAccountName'),
    ],
    digestAnnotation: 'upgrade.cattle.io/digest',
    note:
      'system-upgrade-controller cordons, drains and upgrades every node the plan selects whose plan hash ' +
      '(resolved version, service account, secrets) it has not applied yet: a new version, channel, service ' +
      'account or secret re-runs it, a new node selector reaches other nodes, a higher concurrency drains more ' +
      'nodes at once (concurrency is not in the hash: lowering it re-runs nothing and stops no node already upgrading). ' +
      'A plan with `spec.version` never resolves its channel, so a channel change re-runs nothing then. A plan ' +
      'without a positive concurrency (none, or 0) starts no node, only those already applying (`status.applying`) ' +
      'go on: a change is judged on those only, with none applying its creation or change passes, and raising the ' +
      'concurrency is judged. A plan being deleted creates no job (its generating handler skips it).',
    deletingRollsNothing: true,
  },
  {
    group: 'cluster.x-k8s.io',
    kind: 'MachineDeployment',
    createIsUpgrade: false,
    fields: [
      ...MACHINE_TEMPLATE_FIELDS,
      whenSet('v1beta1', 'spec', 'rolloutAfter'),
      whenSet('v1beta2', 'spec', 'rollout', 'after'),
      release('v1beta1, v1beta2', true, 'spec', 'paused'),
      release('v1beta1', 'OnDelete', 'spec', 'strategy', 'type'),
      release('v1beta2', 'OnDelete', 'spec', 'rollout', 'strategy', 'type'),
    ],
    note:
      'A change of the machine template rolls every Machine (a new MachineSet, the old one scaled down); template ' +
      'labels, annotations, readinessGates and node drain/deletion/volume-detach timeouts are propagated in place; ' +
      'a replicas decrease removes Machines (judged per Machine, see Cluster API machine deletion). Under the OnDelete ' +
      'strategy (`spec.strategy.type`, v1beta2 `spec.rollout.strategy.type`) no change is an upgrade: a Machine is ' +
      'replaced only once deleted, and each Machine DELETE is judged on its node. While `spec.paused` is true ' +
      'the controller only scales: a template change rolls nothing yet. Resuming it, or leaving OnDelete, rolls ' +
      'the Machines not up to date, which its status counts (`status.replicas` above `status.upToDateReplicas`, ' +
      'v1beta1 `status.updatedReplicas`). A MachineDeployment being deleted rolls nothing, nor one scaled to zero.',
    deletingRollsNothing: true,
    emptyRollsNothing: true,
  },
  {
    group: 'cluster.x-k8s.io',
    kind: 'MachineSet',
    createIsUpgrade: false,
    fields: [],
    note:
      'A MachineSet never replaces its Machines: a template change only shapes Machines created later (scale-up, ' +
      'remediation). Its replicas decrease removes Machines (see Cluster API machine deletion).',
  },
  {
    group: 'controlplane.cluster.x-k8s.io',
    kind: 'KubeadmControlPlane',
    createIsUpgrade: false,
    fields: [
      value('v1beta1, v1beta2', 'spec', 'version'),
      { ...value('v1beta1, v1beta2', 'spec', 'kubeadmConfigSpec'), ignored: KUBEADM_CONFIG_SPEC_IGNORED, emptyAsAbsent: KUBEADM_EMPTY_AS_ABSENT },
      ref('v1beta1', 'spec', 'machineTemplate', 'infrastructureRef'),
      ref('v1beta2', 'spec', 'machineTemplate', 'spec', 'infrastructureRef'),
      whenSet('v1beta1', 'spec', 'rolloutAfter'),
      value('v1beta1', 'spec', 'rolloutBefore'),
      whenSet('v1beta2', 'spec', 'rollout', 'after'),
      value('v1beta2', 'spec', 'rollout', 'before'),
    ],
    note:
      'KCP replaces control-plane Machines one by one when the version, the kubeadm configuration or the ' +
      'infrastructure template changes, after rolloutAfter, or for certificates expiring within rolloutBefore; ' +
      'machine template metadata, readinessGates and deletion timeouts are propagated in place. Its up-to-date ' +
      'check blanks the join discovery (used by the next join only), the DNS add-on (updated in place; since ' +
      'Cluster API 1.7) and, in the releases serving v1beta2, the control-plane endpoint and the control-plane ' +
      'component health-check timeout (used by the next join only; v1beta1 `apiServer.timeoutForControlPlane` ' +
      'converts to it; 1.11 patch releases before the fix of Cluster API issue #13017 still roll on it, unjudged). A ' +
      'KubeadmControlPlane being deleted rolls nothing.',
    deletingRollsNothing: true,
  },
];

export function upgradeKindTable(group: string, kind: string): UpgradeKindTable | undefined {
  return UPGRADE_KIND_TABLES.find((table) => table.group === group && table.kind === kind);
}

/** Whether `key: value` in an object reads as absent under `empty` (an empty list or, for the maps named, object). */
function absentWhenEmpty(empty: EmptyAsAbsent, key: string, value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0 && !empty.keepLists.includes(key);
  return isRecord(value) && Object.keys(value).length === 0 && empty.maps.includes(key);
}

/**
 * Structural equality of two JSON values, without recursion: the API server accepts objects nested up to 10,000
 * levels, and JSON.stringify overflows the stack a few thousand levels down. Key order does not matter; with
 * `empty`, a key whose value it reads as absent counts as missing at any depth.
 */
export function sameJson(a: unknown, b: unknown, empty?: EmptyAsAbsent): boolean {
  const pending: [unknown, unknown][] = [[a, b]];
  for (let pair = pending.pop(); pair !== undefined; pair = pending.pop()) {
    const [left, right] = pair;
    if (left === right) continue;
    if (typeof left !== 'object' || typeof right !== 'object' || left === null || right === null) return false;
    if (Array.isArray(left) || Array.isArray(right)) {
      if (!Array.isArray(left) || !Array.isArray(right) || left.length !== right.length) return false;
      left.forEach((item: unknown, index) => pending.push([item, right[index]]));
      continue;
    }
    const leftRecord = left as Record<string, unknown>;
    const rightRecord = right as Record<string, unknown>;
    const present = (record: Record<string, unknown>) => Object.keys(record).filter((key) => empty === undefined || !absentWhenEmpty(empty, key, record[key]));
    const keys = present(leftRecord);
    if (keys.length !== present(rightRecord).length) return false;
    for (const key of keys) {
      if (!Object.hasOwn(rightRecord, key) || (empty !== undefined && absentWhenEmpty(empty, key, rightRecord[key]))) return false;
      pending.push([leftRecord[key], rightRecord[key]]);
    }
  }
  return true;
}

/** `{group, kind, name}` of an object reference, whether it names `apiVersion` (v1beta1) or `apiGroup` (v1beta2). */
function refIdentity(reference: unknown): unknown {
  if (!isRecord(reference)) return reference;
  const apiVersion = typeof reference['apiVersion'] === 'string' ? reference['apiVersion'] : '';
  const group = typeof reference['apiGroup'] === 'string' ? reference['apiGroup'] : apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  return { group, kind: reference['kind'] ?? '', name: reference['name'] ?? '' };
}

function bootstrapIdentity(bootstrap: unknown): unknown {
  if (!isRecord(bootstrap)) return bootstrap;
  return { configRef: bootstrap['configRef'] === undefined ? undefined : refIdentity(bootstrap['configRef']), dataSecretName: bootstrap['dataSecretName'] };
}

/** system-upgrade-controller's MungeVersion (`+` made `-`): the version as status.latestVersion holds it and the plan hash takes it. */
export function mungeVersion(version: string): string {
  return version.replaceAll('+', '-');
}

function identity(compare: Comparison, value: unknown): unknown {
  if (compare === 'ref') return refIdentity(value);
  if (compare === 'bootstrap') return bootstrapIdentity(value);
  if (compare === 'munged') return value === undefined || value === null ? '' : typeof value === 'string' ? mungeVersion(value) : value;
  if (compare === 'secrets' && (value === undefined || value === null)) return [];
  if (compare === 'secrets' && Array.isArray(value)) {
    return value.filter((secret) => !(isRecord(secret) && secret['ignoreUpdates'] === true)).map((secret) => (isRecord(secret) ? secret['name'] : secret));
  }
  return value;
}

function isSetValue(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}

/**
 * Whether a MachineDeployment's status counts Machines not up to date: `status.replicas` above the up-to-date count
 * (v1beta2 `status.upToDateReplicas`, v1beta1 `status.v1beta2.upToDateReplicas` or `status.updatedReplicas`; none
 * of them: none is up to date). No status replicas: the controller reported no Machine, nothing to roll.
 */
function notAllUpToDate(object: unknown): boolean {
  // A status the controller wrote before the latest spec change (status.observedGeneration behind
  // metadata.generation: it has not reconciled since, e.g. while its Cluster is paused) still counts the Machines of
  // the previous template as up to date.
  const generation = field(object, 'metadata', 'generation');
  const observed = field(object, 'status', 'observedGeneration');
  if (typeof generation === 'number' && !(typeof observed === 'number' && observed >= generation)) return true;
  const replicas = field(object, 'status', 'replicas');
  if (typeof replicas !== 'number' || replicas <= 0) return false;
  const upToDate = [field(object, 'status', 'upToDateReplicas'), field(object, 'status', 'v1beta2', 'upToDateReplicas'), field(object, 'status', 'updatedReplicas')].find(
    (count): count is number => typeof count === 'number',
  );
  return (upToDate ?? 0) < replicas;
}

/**
 * Whether the new object holds every rollout back: a `release` field at its holding value (a paused
 * MachineDeployment, the OnDelete strategy), or, for a kind whose controller only tears down what is being
 * deleted, a deletionTimestamp; or the old object has no Machine to replace (emptyRollsNothing).
 */
export function rolloutHeld(table: UpgradeKindTable, object: unknown, oldObject: unknown): boolean {
  if (table.deletingRollsNothing === true && (isSetValue(field(oldObject, 'metadata', 'deletionTimestamp')) || isSetValue(field(object, 'metadata', 'deletionTimestamp')))) return true;
  if (table.emptyRollsNothing === true && field(oldObject, 'spec', 'replicas') === 0 && field(oldObject, 'status', 'replicas') === 0) return true;
  return table.fields.some((rollout) => rollout.compare === 'release' && field(object, ...rollout.path) === rollout.from);
}

/** How many nodes a concurrency lets the controller start; undefined when it is not a number. */
function effectiveCount(value: unknown): number | undefined {
  if (value === undefined || value === null) return 0;
  return typeof value === 'number' ? Math.max(0, value) : undefined;
}

/** The API version of an object (`group/version` → version), '' when it has none. */
function versionOf(object: unknown): string {
  const apiVersion = field(object, 'apiVersion');
  return typeof apiVersion === 'string' ? apiVersion.slice(apiVersion.lastIndexOf('/') + 1) : '';
}

/**
 * A copy of value without the leaf at path (copied along the path only); value itself when the path is absent. A
 * parent the removal leaves empty goes too: the controller's Go structs read an empty object and an absent one alike
 * (a DNS-only `clusterConfiguration` compares as no `clusterConfiguration`).
 */
function withoutPath(value: unknown, path: readonly string[]): unknown {
  const [head, ...rest] = path;
  if (head === undefined || !isRecord(value) || !Object.hasOwn(value, head)) return value;
  const copy: Record<string, unknown> = { ...value };
  const inner = rest.length === 0 ? undefined : withoutPath(value[head], rest);
  if (inner === undefined || (isRecord(inner) && Object.keys(inner).length === 0)) delete copy[head];
  else copy[head] = inner;
  return copy;
}

/** The field's value with the sub-paths its controller ignores removed (`versions`: the API versions the CRD serves, as seen). */
function comparedValue(rollout: RolloutField, object: unknown, versions: readonly string[]): unknown {
  let value = field(object, ...rollout.path);
  for (const ignored of rollout.ignored ?? []) {
    if (ignored.versions === undefined || ignored.versions.some((version) => versions.includes(version))) value = withoutPath(value, ignored.path);
  }
  return value;
}

/**
 * The rollout fields this update changes (by the table's comparison). `requestVersion`: the version the client
 * wrote in when the API server converted the object (AdmissionRequest.requestVersion); a CRD serving it runs a
 * controller release that reads that version, whatever version the webhook is registered for.
 */
export function changedRolloutFields(table: UpgradeKindTable, object: unknown, oldObject: unknown, requestVersion?: string): RolloutField[] {
  // A versioned ignored sub-path only counts as ignored when both objects are of a version whose controllers ignore it
  // (or the client wrote in one: Equivalent matching converted it to the registered version).
  const version = versionOf(object) === versionOf(oldObject) ? versionOf(object) : '';
  const versions = requestVersion === undefined ? [version] : [version, requestVersion];
  const changed = table.fields.filter((rollout) => {
    const next = comparedValue(rollout, object, versions);
    const previous = comparedValue(rollout, oldObject, versions);
    if (rollout.compare === 'set' && (next === undefined || next === null)) return false;
    if (rollout.unlessSet !== undefined && isSetValue(field(object, ...rollout.unlessSet))) return false;
    if (rollout.compare === 'release') return previous === rollout.from && next !== rollout.from && notAllUpToDate(oldObject);
    if (rollout.compare === 'increase') {
      const [nextCount, previousCount] = [effectiveCount(next), effectiveCount(previous)];
      if (nextCount !== undefined && previousCount !== undefined) return nextCount > previousCount;
    }
    return !sameJson(identity(rollout.compare, next), identity(rollout.compare, previous), rollout.emptyAsAbsent);
  });
  if (table.digestAnnotation !== undefined && digestInput(object, table.digestAnnotation) !== digestInput(oldObject, table.digestAnnotation)) {
    changed.push({ path: ['metadata', 'annotations', table.digestAnnotation], compare: 'value', versions: 'v1' });
  }
  return changed;
}

/**
 * A value along a dotted path as wrangler's GetValue reads it (system-upgrade-controller's digest paths): a key of an
 * object, or a list's index.
 */
function digestValueAt(object: unknown, path: readonly string[]): unknown {
  let current = object;
  for (const key of path) {
    if (Array.isArray(current)) current = /^\+?\d+$/.test(key) ? (current as unknown[])[Number(key)] : undefined;
    else if (isRecord(current)) current = current[key];
    else return undefined;
  }
  return current;
}

/** JSON with every object's keys sorted: Go prints a map's keys sorted, whatever order the object came in. */
function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => (isRecord(inner) ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : inner));
}

/**
 * What one digest path adds to the hash: wrangler's ToString, i.e. a list only by its first item (nothing for an empty
 * one), nothing for an absent value, and the text trimmed (a string as is, anything else as JSON with sorted keys).
 */
function hashedText(value: unknown): string {
  const single: unknown = Array.isArray(value) ? (value as unknown[])[0] : value;
  if (single === undefined || single === null) return '';
  return (typeof single === 'string' ? single : sortedJson(single)).trim();
}

/**
 * What the digest annotation adds to the controller's plan hash: the values of the paths it lists, one after the
 * other, as system-upgrade-controller's addToHashFromAnnotation writes them (hashedText).
 */
function digestInput(object: unknown, annotation: string): string {
  const annotations = field(object, 'metadata', 'annotations');
  const list = isRecord(annotations) && typeof annotations[annotation] === 'string' ? annotations[annotation] : '';
  if (list === '') return '';
  return list
    .split(',')
    .map((entry) => hashedText(digestValueAt(object, entry.split('.'))))
    .join('');
}

/** A kind the table does not know (configured by the user): any change of `spec` counts. */
export const UNKNOWN_KIND_FIELDS: readonly RolloutField[] = [value('any', 'spec')];

// ---- CEL for the webhook's matchConditions: a superset of what the validator judges ----

function hasPath(root: string, path: readonly string[]): string {
  return path.map((_segment, index) => `has(${root}.${path.slice(0, index + 1).join('.')})`).join(' && ');
}

/**
 * CEL: the field differs between object and oldObject (whole value, any direction: the validator refines ref
 * comparisons, removals of a `set` time, decreases of an `increase` count and ignored sub-paths, so the API
 * server sends a superset of what it judges: the KubeadmControlPlane's whole kubeadmConfigSpec, say).
 */
export function fieldChangedCel(path: readonly string[]): string {
  const inNew = hasPath('object', path);
  const inOld = hasPath('oldObject', path);
  const access = path.join('.');
  return `((${inNew}) != (${inOld}) || ((${inNew}) && object.${access} != oldObject.${access}))`;
}

function kindIs(table: Pick<UpgradeKindTable, 'group' | 'kind'>): string {
  return `(request.kind.group == '${table.group}' && request.kind.kind == '${table.kind}')`;
}

/**
 * CEL: this request may start an upgrade. CREATE always reaches volume-guard (the rules list CREATE only for kinds
 * configured with it); an UPDATE of a known kind only when a rollout field changes; an UPDATE of a kind the table
 * does not know (added in the configuration) always.
 */
export function upgradeMatchCondition(): string {
  const known = UPGRADE_KIND_TABLES.map(kindIs).join(' || ');
  const changes = UPGRADE_KIND_TABLES.filter((table) => table.fields.length > 0).map((table) => {
    const fields = table.fields.map((rollout) => fieldChangedCel(rollout.path));
    // The paths a digest annotation lists are read from the object: every update of an object carrying it is sent.
    if (table.digestAnnotation !== undefined) {
      for (const root of ['object', 'oldObject']) fields.push(`(has(${root}.metadata.annotations) && '${table.digestAnnotation}' in ${root}.metadata.annotations)`);
    }
    return `(${kindIs(table)} && (${fields.join(' || ')}))`;
  });
  return [`request.operation == 'CREATE'`, `!(${known})`, ...changes].join(' || ');
}

const COMPARISON_TEXT: Readonly<Record<Comparison, string>> = {
  value: '',
  ref: ' (by group, kind and name)',
  bootstrap: ' (by group, kind and name)',
  set: ' set or changed (removing it rolls nothing)',
  increase: ' raised (absent counts as 0, which starts no node; lowering or removing it rolls nothing)',
  release: '',
  secrets: ' (the names of those not marked `ignoreUpdates`, in order: their contents are in the plan hash)',
  munged: ' (`+` read as `-`, as the controller does)',
};

/** `, except `a`; where v1beta2 is served also `b`, `c``: the ignored sub-paths, grouped by their versions. */
function ignoredText(rollout: RolloutField): string {
  const byVersions = new Map<string, string[]>();
  for (const ignored of rollout.ignored ?? []) {
    const versions = ignored.versions?.join(', ') ?? '';
    byVersions.set(versions, [...(byVersions.get(versions) ?? []), `\`${ignored.path.join('.')}\``]);
  }
  const groups = [...byVersions].map(([versions, paths]) => (versions ? `where ${versions} is served (the objects' or the client's version) also ${paths.join(', ')}` : paths.join(', ')));
  return groups.length ? `, except ${groups.join('; ')}` : '';
}

/** `; an empty list (not `taints`) or empty `extraArgs` reads as absent`: what emptyAsAbsent drops. */
function emptyText(rollout: RolloutField): string {
  const empty = rollout.emptyAsAbsent;
  if (empty === undefined) return '';
  const quoted = (keys: readonly string[]) => keys.map((key) => `\`${key}\``).join(', ');
  const kept = empty.keepLists.length ? ` (but ${quoted(empty.keepLists)})` : '';
  const maps = empty.maps.length ? ` or an empty ${quoted(empty.maps)}` : '';
  return `; an empty list${kept}${maps} reads as absent`;
}

/** The README table: one block per kind. */
export function upgradeTablesMarkdown(): string {
  const lines: string[] = [];
  for (const table of UPGRADE_KIND_TABLES) {
    lines.push(`**${table.kind}** (\`${table.group}\`): ${table.note}`, '', '| request | upgrade? |', '|---|---|');
    lines.push(`| CREATE | ${table.createIsUpgrade ? 'yes' : 'no'} |`);
    for (const rollout of table.fields) {
      const change =
        rollout.compare === 'release'
          ? ` from \`${String(rollout.from)}\` to another value, while the status counts Machines not up to date`
          : COMPARISON_TEXT[rollout.compare];
      const unless = rollout.unlessSet === undefined ? '' : `, when \`${rollout.unlessSet.join('.')}\` is empty`;
      lines.push(`| UPDATE of \`${rollout.path.join('.')}\`${change} (${rollout.versions})${ignoredText(rollout)}${emptyText(rollout)}${unless} | yes |`);
    }
    for (const rollout of table.fields.filter((entry) => entry.compare === 'release')) {
      lines.push(`| UPDATE of anything while \`${rollout.path.join('.')}\` is \`${String(rollout.from)}\` (${rollout.versions}) | no |`);
    }
    if (table.deletingRollsNothing === true) lines.push('| UPDATE of an object being deleted (`metadata.deletionTimestamp` set) | no |');
    if (table.emptyRollsNothing === true) lines.push('| UPDATE of an object with no Machine (`spec.replicas` and `status.replicas` 0 before the write) | no |');
    if (table.digestAnnotation !== undefined) {
      lines.push(
        `| UPDATE of a field the annotation \`${table.digestAnnotation}\` lists (e.g. \`spec.upgrade.image\`), or of that list, as the ` +
          'controller hashes it: a list by its first item only (`spec.upgrade.envs`: the first env), a string trimmed | yes |',
      );
    }
    lines.push('| UPDATE of anything else (labels, annotations, status, other fields) | no |', '');
  }
  return lines.join('\n').trimEnd();
}

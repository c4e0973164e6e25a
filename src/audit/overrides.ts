// Lingering overrides: skip and reuse keys still present on objects. An override written for one maintenance
// window keeps waiving checks until someone removes it, so the audit lists every one with its reason.

import { compareText } from '../text.ts';
import { OVERRIDE_KEYS } from '../override-keys.ts';
import {
  DELETE_KEY,
  HARVESTER_SKIP_DETACHED_KEY,
  nobodyMayWrite,
  overrideLifecycle,
  parseSkip,
  REUSE_KEY,
  SKIP_BY_KEY,
  SKIP_EVICTIONS_KEY,
  SKIP_KEY,
  SKIP_REASON_KEY,
  SKIP_UNTIL_KEY,
  skipFrom,
  unlistedWriter,
  whyNotHonored,
  type OverrideWriters,
} from '../admission/overrides.ts';
import { plansReading, type PlanIdReading } from '../admission/plans.ts';
import { DELETING_OWNERS, SCALING_OWNERS, type RolloutOwnerKind } from '../admission/rollout-owner.ts';
import { type Labels, type NamespaceRecord, type NodeRecord, type PersistentVolumeClaimRecord } from '../cluster/records.ts';
import type { CheckId } from '../checks/types.ts';
import { defaultConfig } from '../config.ts';
import type { AuditModel } from './model.ts';
import type { LingeringOverride } from './types.ts';

/** An object that may carry overrides, with what volume-guard consults them for. */
export interface OverrideCarrier {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly annotations: Labels;
  readonly labels: Labels;
  /** When volume-guard reads a skip on this object: `cordon and drain of this node`. */
  readonly appliesTo: string;
  /**
   * No validator reads `volume-guard.io/skip` on it (a PVC, a PV, a Longhorn volume): its skip is listed, with no
   * check skipped, whoever wrote it.
   */
  readonly skipReadByNone?: boolean;
  /** Harvester's skipSingleReplicaDetachedVol is honored on it (a harvesterhci.io upgrade kind). */
  readonly harvesterUpgrade?: boolean;
  /** volume-guard.io/reuse means something on it (a PVC). */
  readonly reusable?: boolean;
  /**
   * What volume-guard.io/delete: "true" approves on it (a PVC, a PV, a Longhorn Volume: pvc-delete reads it there),
   * as `effect` and `appliesTo`; absent where the key means nothing.
   */
  readonly deleteApproval?: { readonly effect: string; readonly appliesTo: string };
  /** What volume-guard.io/skip-evictions waives on it (a namespace); absent where it means nothing. */
  readonly evictionsAppliesTo?: string;
  /**
   * volume-guard reads its overrides as annotations only (a Node, a Namespace): a `volume-guard.io/` label on it is
   * listed as not honored, so nobody relies on it.
   */
  readonly labelsIgnored?: boolean;
  /**
   * A Helm release label: its writer is whoever runs helm, judged in that very request (with the revision it is
   * scoped to), so no `volume-guard.io/skip-by` is kept or required for it. Listed as lingering: it waives nothing
   * in a later revision.
   */
  readonly writtenByRequester?: boolean;
  /**
   * With writtenByRequester: why it waives nothing now (default: what Helm does with a release label). A
   * StatefulSet's skip is read at its CREATE only, from whoever creates it.
   */
  readonly requesterNote?: string;
}

const NO_LABELS: Labels = Object.freeze({});

/** What qualifies an override (its reason, writer, expiry), not an override itself. */
const LIFECYCLE_KEYS: readonly string[] = [SKIP_REASON_KEY, SKIP_BY_KEY, SKIP_UNTIL_KEY];

let defaultWriters: OverrideWriters | undefined;

/**
 * Who may write overrides when the caller knows no configuration: the webhook's default (`overrides` of the default
 * configuration), so an omitted setting never honors what the webhook would not.
 */
export function defaultOverrideWriters(): OverrideWriters {
  return (defaultWriters ??= defaultConfig().overrides);
}

/**
 * Whose Machine DELETEs read a KubeadmControlPlane's skip when the caller knows no configuration: the default
 * configuration's `clusterApi.controlPlaneUsers`.
 */
export function defaultControlPlaneUsers(): readonly string[] {
  return defaultConfig().clusterApi.controlPlaneUsers;
}

/** What each operation whose plan reads a node's skip does to that node, as the audit says it. */
const NODE_SKIP_READ_FOR: Record<PlanIdReading<'node'>, string> = {
  'node-cordon': 'cordon or NoSchedule/NoExecute taint of this node',
  'node-delete': 'its Node DELETE',
  eviction: 'evictions of its pods',
  'eviction-draining': 'evictions of its pods',
  'pod-delete': 'DELETEs of its pods while it is drained',
  'machine-delete': 'deletion of its Machine',
  'machine-scale-down': 'scale-downs that may remove its Machine',
};

/** When a node's skip is read: every operation whose plan names it (the type holds the table to the plans). */
const NODE_APPLIES_TO = [...new Set(plansReading('node').map((id) => NODE_SKIP_READ_FOR[id as PlanIdReading<'node'>]))].join('; ');
/**
 * What each operation whose plan reads a Machine owner's stored skip (rollout-owner.ts) does, for this owner kind;
 * undefined where its validator reads that kind's skip for none (a MachineDeployment's at a Machine DELETE).
 */
const MACHINE_OWNER_SKIP_READ_FOR: Record<PlanIdReading<'machine-owner'>, (owner: RolloutOwnerKind, controlPlaneUsers: readonly string[]) => string | undefined> = {
  'node-cordon': () => 'the cordon and NoSchedule/NoExecute taints of the node of one of its Machines being deleted',
  eviction: () => "evictions of that node's pods",
  'eviction-draining': () => "evictions of that node's pods",
  'pod-delete': () => "DELETEs of that node's pods while it is drained",
  'node-delete': () => 'the DELETE of that Node once its infrastructure is gone',
  'machine-delete': (owner, controlPlaneUsers) =>
    !DELETING_OWNERS.includes(owner)
      ? undefined
      : controlPlaneUsers.length === 0
        ? 'no DELETE of its Machines (clusterApi.controlPlaneUsers is empty: read by no one)'
        : 'DELETEs of its Machines by its controller (clusterApi.controlPlaneUsers), and a drain cut short of one being deleted',
  'machine-scale-down': (owner) => (SCALING_OWNERS.includes(owner) ? 'scale-downs of its MachineSets (its rollouts and scale-downs carried out)' : undefined),
};

/**
 * When the skip of a MachineDeployment or KubeadmControlPlane is read: its own rollouts (`rollouts`: its UPDATEs are
 * guarded, else its creation) and scale-downs (from the request), then, as stored, every operation whose plan reads the Machine owner's skip (the type holds the table to
 * the plans), where `single-replica` also waives last-replica-on-node of single-replica volumes.
 */
export function machineOwnerAppliesTo(owner: RolloutOwnerKind, rollouts: boolean, controlPlaneUsers: readonly string[] = defaultControlPlaneUsers()): string {
  const carried = [
    ...new Set(
      plansReading('machine-owner').flatMap((id) => MACHINE_OWNER_SKIP_READ_FOR[id as PlanIdReading<'machine-owner'>](owner, controlPlaneUsers) ?? []),
    ),
  ];
  return (
    `${rollouts ? `every change of this ${owner} that starts a rollout` : `the creation of this ${owner}`}, and its scale-downs (not through the scale subresource); ` +
    `as stored: ${carried.join('; ')} ` +
    `(single-replica there also skips last-replica-on-node for volumes set to a single replica)`
  );
}

const NAMESPACE_APPLIES_TO =
  'Helm releases in this namespace, the DELETEs of their PVCs and StatefulSets, and the scale-downs of their ' +
  "StatefulSets by Flux's helm-controller where no release record was seen; this namespace's DELETE " +
  '(not evictions or pod deletes: see volume-guard.io/skip-evictions)';
const NAMESPACE_EVICTIONS_APPLIES_TO = 'evictions (drains) and drain pod deletes of pods in this namespace';
const PVC_SKIP_APPLIES_TO = `nothing: no validator reads a skip on a PVC (orphan-pvc reads ${REUSE_KEY})`;
const PVC_REUSE_APPLIES_TO = 'Helm installs that would adopt this PVC';
/** Where pvc-delete reads `volume-guard.io/delete: "true"`, per kind (the pvc-delete validator and the release record). */
const PVC_DELETE_APPROVAL = {
  effect: 'approves deleting it with its data (pvc-delete)',
  appliesTo:
    'its DELETE by automation identities, with its namespace or StatefulSet (whenDeleted: Delete), by a scale-down ' +
    '(whenScaled: Delete), and a Helm upgrade that deletes it',
};
const PV_DELETE_APPROVAL = {
  effect: 'approves turning its reclaim policy to Delete or Recycle, which reclaims its data (pvc-delete)',
  appliesTo: 'a change of its reclaim policy to Delete or Recycle once its claim is gone or being deleted',
};
const VOLUME_DELETE_APPROVAL = {
  effect: 'approves deleting this Longhorn volume with its data (pvc-delete)',
  appliesTo: "its DELETE by automation identities (Longhorn's own deletes are never judged)",
};
const PV_SKIP_APPLIES_TO = `nothing: no validator reads a skip on a PV (pvc-delete reads ${DELETE_KEY})`;
const VOLUME_SKIP_APPLIES_TO = `nothing: no validator reads a skip on a Longhorn volume (pvc-delete reads ${DELETE_KEY})`;

function describeSkip(value: string, checks: readonly CheckId[], unknown: readonly string[]): string {
  const entries = value.split(',').map((entry) => entry.trim());
  let effect: string;
  if (entries.includes('*')) effect = 'skips every check';
  else if (checks.length === 0) effect = 'not honored: names no check';
  else effect = `skips ${checks.join(', ')}`;
  return unknown.length > 0 ? `${effect}; unknown entries ignored: ${unknown.join(', ')}` : effect;
}

function objectOf(carrier: OverrideCarrier): LingeringOverride['object'] {
  return carrier.namespace
    ? { kind: carrier.kind, namespace: carrier.namespace, name: carrier.name }
    : { kind: carrier.kind, name: carrier.name };
}

/**
 * Why the writer and expiry keys on an object, or the writer settings, void its overrides, in the webhook's order
 * (whyNotHonored: expired, no writer recorded, nobody may write, a writer the settings never allowed); undefined when
 * they count. A recorded writer is otherwise not checked against the settings, as in the webhook: the override guard
 * judged that user when it was written. `recordedOnly`: the key counts only through whyNotHonored with its recorded
 * writer (not a PVC's approval, which the checks also read per object without the settings: unlistedWriter is left
 * out, so the audit never calls inert what some operation still honors).
 */
function lifecycleProblem(annotations: Labels, now: number, writers: OverrideWriters, recordedOnly: boolean): string | undefined {
  const lifecycle = overrideLifecycle(annotations, now);
  if (lifecycle.expiredOrInvalid) return lifecycle.expiredOrInvalid;
  if (lifecycle.writer === '') return `no writer recorded (${SKIP_BY_KEY})`;
  return nobodyMayWrite(writers) ?? (recordedOnly ? unlistedWriter(lifecycle.writer, writers) : undefined);
}

/** The overrides one object carries, annotations first, honored or not under `writers` as the webhook would. */
export function overridesOf(carrier: OverrideCarrier, now: number = Date.now(), writers: OverrideWriters = defaultOverrideWriters()): LingeringOverride[] {
  const found: LingeringOverride[] = [];
  // The writer and expiry are annotations whatever field holds the override.
  const lifecycle = overrideLifecycle(carrier.annotations, now);
  const nobody = nobodyMayWrite(writers);
  // A release label on the latest revision waives nothing in the next one: Helm copies it forward, and it counts
  // only in the revision volume-guard.io/skip-revision names (set by whoever runs helm for it).
  const requesterProblem = carrier.writtenByRequester
    ? (lifecycle.expiredOrInvalid ??
      nobody ??
      carrier.requesterNote ??
      'Helm copies it into later revisions, where it counts only with volume-guard.io/skip-revision naming the revision')
    : undefined;
  const problem = carrier.writtenByRequester ? requesterProblem : lifecycleProblem(carrier.annotations, now, writers, true);
  // A PVC's reuse and delete approvals: read per object by the checks too (without the writer settings).
  const approvalProblem = carrier.writtenByRequester ? requesterProblem : lifecycleProblem(carrier.annotations, now, writers, false);
  const isPvcApproval = (key: string): boolean => key === REUSE_KEY || (key === DELETE_KEY && carrier.kind === 'PersistentVolumeClaim');
  const fields = [
    ['annotation', carrier.annotations],
    ['label', carrier.labels],
  ] as const;
  for (const [field, values] of fields) {
    const other = field === 'annotation' ? carrier.labels : carrier.annotations;
    const reason = values[SKIP_REASON_KEY] ?? other[SKIP_REASON_KEY] ?? '';
    const add = (key: string, value: string, checks: readonly CheckId[], unknown: readonly string[], effect: string, appliesTo: string): void => {
      // Harvester's own annotation carries no skip-by (none is required of it); it still counts for nobody when
      // nobody may write overrides, as in the webhook.
      const why = key === HARVESTER_SKIP_DETACHED_KEY ? nobody : isPvcApproval(key) ? approvalProblem : problem;
      const voided = why !== undefined && checks.length > 0;
      found.push({
        object: objectOf(carrier),
        field,
        key,
        value,
        checks: voided ? [] : [...checks],
        unknown: [...unknown],
        effect: voided ? `not honored: ${why}; would ${effect.replace(/^skips/, 'skip').replace(/^approves/, 'approve')}` : effect,
        appliesTo,
        reason,
        writer: lifecycle.writer,
        until: lifecycle.until,
      });
    };
    if (field === 'label' && carrier.labelsIgnored) {
      // As a PVC's reuse label: listed, not honored (the writer and expiry keys go with the override they qualify).
      for (const [key, value] of Object.entries(values)) {
        if (!OVERRIDE_KEYS.includes(key) || LIFECYCLE_KEYS.includes(key)) continue;
        const unknown = key === SKIP_KEY || key === SKIP_EVICTIONS_KEY ? parseSkip(value).unknown : [];
        add(key, value, [], unknown, 'not honored: only the annotation counts', `nothing: volume-guard reads the overrides of a ${carrier.kind} as annotations only`);
      }
      continue;
    }
    const skip = values[SKIP_KEY];
    if (skip !== undefined) {
      const parsed = parseSkip(skip);
      const named = describeSkip(skip, parsed.checks, parsed.unknown);
      if (carrier.skipReadByNone) {
        add(SKIP_KEY, skip, [], parsed.unknown, `skips no check (${named.replace(/^skips/, 'it names')})`, carrier.appliesTo);
      } else {
        add(SKIP_KEY, skip, parsed.checks, parsed.unknown, named, carrier.appliesTo);
      }
    }
    const evictions = carrier.evictionsAppliesTo !== undefined && field === 'annotation' ? values[SKIP_EVICTIONS_KEY] : undefined;
    if (evictions !== undefined) {
      const parsed = parseSkip(evictions);
      add(SKIP_EVICTIONS_KEY, evictions, parsed.checks, parsed.unknown, describeSkip(evictions, parsed.checks, parsed.unknown), carrier.evictionsAppliesTo!);
    }
    const reuse = carrier.reusable ? values[REUSE_KEY] : undefined;
    // The orphan-pvc check reads the annotation only; a label of that name is listed so nobody relies on it.
    if (reuse !== undefined) {
      const honored = reuse === 'true' && field === 'annotation';
      const effect = honored
        ? 'approves re-use of its data: orphan-pvc does not block an install that adopts it'
        : field === 'label'
          ? 'not honored: only the annotation counts'
          : 'not honored: the value must be "true"';
      add(REUSE_KEY, reuse, honored ? ['orphan-pvc'] : [], [], effect, PVC_REUSE_APPLIES_TO);
    }
    // pvc-delete reads the annotation only; a label of that name is listed so nobody relies on it.
    const deletable = carrier.deleteApproval ? values[DELETE_KEY] : undefined;
    if (deletable !== undefined && carrier.deleteApproval) {
      const honored = deletable === 'true' && field === 'annotation';
      const effect = honored
        ? carrier.deleteApproval.effect
        : field === 'label'
          ? 'not honored: only the annotation counts'
          : 'not honored: the value must be "true"';
      add(DELETE_KEY, deletable, honored ? ['pvc-delete'] : [], [], effect, carrier.deleteApproval.appliesTo);
    }
    const harvester = carrier.harvesterUpgrade && field === 'annotation' ? values[HARVESTER_SKIP_DETACHED_KEY] : undefined;
    if (harvester !== undefined) {
      const honored = harvester === 'true';
      const effect = honored ? 'skips detached single-replica volumes' : 'not honored: the value must be "true"';
      add(HARVESTER_SKIP_DETACHED_KEY, harvester, honored ? ['single-replica'] : [], [], effect, carrier.appliesTo);
    }
  }
  return found;
}

const KIND_ORDER: readonly string[] = ['Node', 'Namespace', 'PersistentVolume', 'PersistentVolumeClaim', 'StatefulSet', 'Volume'];

function kindRank(kind: string): number {
  const rank = KIND_ORDER.indexOf(kind);
  return rank < 0 ? KIND_ORDER.length : rank;
}

/** Nodes, namespaces, PVs, PVCs, StatefulSets, Longhorn volumes, then upgrade kinds by name; then namespace, name, annotation before label, key. */
export function compareOverrides(a: LingeringOverride, b: LingeringOverride): number {
  return (
    kindRank(a.object.kind) - kindRank(b.object.kind) ||
    compareText(a.object.kind, b.object.kind) ||
    compareText(a.object.namespace ?? '', b.object.namespace ?? '') ||
    compareText(a.object.name, b.object.name) ||
    compareText(a.field, b.field) ||
    compareText(a.key, b.key)
  );
}

/**
 * Its labels named as an override key, NO_LABELS when none (a Node keeps every label). Other `volume-guard.io/` labels
 * (`volume-guard.io/test=probe` on the test harness's probe node, a webhook's test selector) are no override, even
 * written by mistake: listing them as "not honored" overrides would send an admin looking for a skip nobody wrote.
 */
function overrideLabels(labels: Labels | undefined): Labels {
  if (labels === undefined) return NO_LABELS;
  const keys = Object.keys(labels).filter((key) => OVERRIDE_KEYS.includes(key));
  return keys.length === 0 ? NO_LABELS : Object.fromEntries(keys.map((key) => [key, labels[key] ?? '']));
}

/**
 * A Node as an override carrier (its annotations; its `volume-guard.io/` labels, read by nothing, listed as such), as
 * the audit lists it and the risk gauges count it.
 */
export function nodeCarrier(node: Pick<NodeRecord, 'name' | 'annotations'> & { readonly labels?: Labels }): OverrideCarrier {
  return { kind: 'Node', name: node.name, annotations: node.annotations, labels: overrideLabels(node.labels), appliesTo: NODE_APPLIES_TO, labelsIgnored: true };
}

/** A Namespace as an override carrier: its `skip` and `skip-evictions` annotations (its labels, read by nothing). */
export function namespaceCarrier(namespace: Pick<NamespaceRecord, 'name' | 'annotations' | 'labels'>): OverrideCarrier {
  return {
    kind: 'Namespace',
    name: namespace.name,
    annotations: namespace.annotations,
    labels: overrideLabels(namespace.labels),
    appliesTo: NAMESPACE_APPLIES_TO,
    evictionsAppliesTo: NAMESPACE_EVICTIONS_APPLIES_TO,
    labelsIgnored: true,
  };
}

/** A PVC as an override carrier: annotations and labels, its reuse approval and its delete approval (pvc-delete). */
export function claimCarrier(claim: Pick<PersistentVolumeClaimRecord, 'namespace' | 'name' | 'annotations' | 'labels'>): OverrideCarrier {
  return {
    kind: 'PersistentVolumeClaim',
    namespace: claim.namespace,
    name: claim.name,
    annotations: claim.annotations,
    labels: claim.labels,
    appliesTo: PVC_SKIP_APPLIES_TO,
    skipReadByNone: true,
    reusable: true,
    deleteApproval: PVC_DELETE_APPROVAL,
  };
}

/**
 * The override carriers the model knows: nodes and namespaces (annotations), PVCs (annotations and labels), PVs and
 * Longhorn volumes (annotations: the delete approval pvc-delete reads on them).
 */
export function modelCarriers(model: AuditModel): OverrideCarrier[] {
  const carriers: OverrideCarrier[] = [];
  for (const node of model.records('node')) {
    const carrier = nodeCarrier(node);
    if (Object.keys(carrier.annotations).length === 0 && Object.keys(carrier.labels).length === 0) continue;
    carriers.push(carrier);
  }
  for (const namespace of model.records('namespace')) {
    const carrier = namespaceCarrier(namespace);
    if (Object.keys(carrier.annotations).length === 0 && Object.keys(carrier.labels).length === 0) continue;
    carriers.push(carrier);
  }
  for (const claim of model.records('persistentVolumeClaim')) {
    const hasKey = [SKIP_KEY, REUSE_KEY, DELETE_KEY].some((key) => claim.annotations[key] !== undefined || claim.labels[key] !== undefined);
    if (!hasKey) continue;
    carriers.push(claimCarrier(claim));
  }
  // A StatefulSet's skip is read at its CREATE outside Helm, from the request (its writer is the creator): it
  // waives nothing later, but a re-create from the same manifest (a GitOps sync, kubectl apply) reads it again.
  for (const statefulSet of model.records('statefulSet')) {
    if (statefulSet.annotations?.[SKIP_KEY] === undefined) continue;
    carriers.push({
      kind: 'StatefulSet',
      namespace: statefulSet.namespace,
      name: statefulSet.name,
      annotations: statefulSet.annotations,
      labels: NO_LABELS,
      appliesTo: 'its CREATE outside Helm only (a re-create from the same manifest, e.g. a GitOps sync, reads it again)',
      writtenByRequester: true,
      requesterNote: 'read only when the StatefulSet is created, from whoever creates it',
    });
  }
  // PVs and Longhorn volumes keep only their volume-guard.io/ annotations (no labels) in the model.
  const carries = (annotations: Labels | undefined): annotations is Labels =>
    annotations !== undefined && (annotations[SKIP_KEY] !== undefined || annotations[DELETE_KEY] !== undefined);
  for (const pv of model.records('persistentVolume')) {
    if (!carries(pv.annotations)) continue;
    carriers.push({
      kind: 'PersistentVolume',
      name: pv.name,
      annotations: pv.annotations,
      labels: NO_LABELS,
      appliesTo: PV_SKIP_APPLIES_TO,
      skipReadByNone: true,
      deleteApproval: PV_DELETE_APPROVAL,
    });
  }
  for (const volume of model.records('longhornVolume')) {
    if (!carries(volume.annotations)) continue;
    carriers.push({
      kind: 'Volume',
      namespace: volume.namespace,
      name: volume.name,
      annotations: volume.annotations,
      labels: NO_LABELS,
      appliesTo: VOLUME_SKIP_APPLIES_TO,
      skipReadByNone: true,
      deleteApproval: VOLUME_DELETE_APPROVAL,
    });
  }
  return carriers;
}

/** Every lingering override on the model's objects and the given upgrade objects, sorted; `skip-until` judged at `now` (the report's time). */
export function lingeringOverrides(
  model: AuditModel,
  upgradeObjects: readonly OverrideCarrier[] = [],
  writers: OverrideWriters = defaultOverrideWriters(),
  now: number = Date.now(),
): LingeringOverride[] {
  const found: LingeringOverride[] = [];
  for (const carrier of [...modelCarriers(model), ...upgradeObjects]) found.push(...overridesOf(carrier, now, writers));
  return found.sort(compareOverrides);
}

/** A skip in `annotations` that covers `check` and counts: read and judged as the webhook reads a stored one. */
function honoredSkipCovers(annotations: Labels | undefined, check: CheckId, now: number, writers: OverrideWriters): boolean {
  const source = skipFrom('', annotations, undefined, { now });
  return source !== undefined && source.checks.includes(check) && whyNotHonored(source, writers) === undefined;
}

/** The skip on a node covering `check`, as `annotation volume-guard.io/skip on Node n1`; undefined when none. */
export function nodeSkipCovering(model: AuditModel, node: string, check: CheckId, writers: OverrideWriters = defaultOverrideWriters(), now: number = Date.now()): string | undefined {
  return honoredSkipCovers(model.node(node)?.annotations, check, now, writers) ? `annotation ${SKIP_KEY} on Node ${node}` : undefined;
}

/** The skip on a namespace covering `check` (for Helm releases); undefined when none. */
export function namespaceSkipCovering(
  model: AuditModel,
  namespace: string,
  check: CheckId,
  writers: OverrideWriters = defaultOverrideWriters(),
  now: number = Date.now(),
): string | undefined {
  return honoredSkipCovers(model.namespace(namespace)?.annotations, check, now, writers) ? `annotation ${SKIP_KEY} on Namespace ${namespace}` : undefined;
}

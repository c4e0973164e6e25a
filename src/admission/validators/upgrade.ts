// Upgrades: every node is rebooted or replaced in turn, so any volume whose data lives in one place, or that is
// already short of healthy copies, can be lost. The guarded kinds come from config.upgrades.kinds.
import { createHash } from 'node:crypto';
import type { Config } from '../../config.ts';
import { skipOnReviewedObject, staleModelDecision } from '../context.ts';
import { annotateHint } from '../decide.ts';
import { parseLabelSelector, labelSelectorMatches, labelSelectorValid } from '../../cluster/label-selector.ts';
import { onlyLonghornNode, soleReplicaNode, wrap } from '../messages.ts';
import { field, metaOf } from '../objects.ts';
import type { HarvesterUpgradeRecord, ResourceKind } from '../../cluster/records.ts';
import type { ClusterSnapshot } from '../../cluster/snapshot.ts';
import { harvesterUpgradePoliced } from '../longhorn-drain.ts';
import { rolloutOwnerNodes } from '../rollout-owner.ts';
import { HARVESTER_SKIP_DETACHED_KEY, isHarvesterUpgradeKind, taggedChecks, type OverrideSource } from '../overrides.ts';
import { judgeByPlan, type PlanJudgement } from '../plan-judge.ts';
import { PLANS, readOverrides, UPGRADE_CHECK_RESOURCES, type UpgradeTarget } from '../plans.ts';
import { allowed, type AdmissionRequest, type WebhookDeclaration } from '../types.ts';
import type { Validator } from '../validator.ts';
import { changedRolloutFields, mungeVersion, rolloutHeld, type RolloutField, UNKNOWN_KIND_FIELDS, upgradeKindTable, upgradeMatchCondition } from './upgrade-kinds.ts';

/**
 * Whether this request starts an upgrade, by the kind's table (UPGRADE_KIND_TABLES): undefined when it does not,
 * else what starts it (`creation`, or the changed fields). An update the controller acts on with no rollout
 * (rolloutHeld: a paused MachineDeployment; the OnDelete strategy, whose Machines are replaced only as each Machine
 * DELETE, judged by the machine webhook, takes them; a MachineDeployment scaled to zero; a Cluster API object or
 * Plan being deleted) starts nothing.
 */
export function rolloutCause(request: AdmissionRequest): string | undefined {
  const table = upgradeKindTable(request.kind.group, request.kind.kind);
  if (request.operation === 'CREATE') return !table || table.createIsUpgrade ? 'creation' : undefined;
  if (request.operation !== 'UPDATE') return undefined;
  if (table !== undefined && rolloutHeld(table, request.object, request.oldObject)) return undefined;
  const changed = changedRolloutFields(table ?? { group: '', kind: '', createIsUpgrade: true, fields: UNKNOWN_KIND_FIELDS, note: '' }, request.object, request.oldObject, request.requestVersion);
  return changed.length ? describeChanges(changed) : undefined;
}

/** `spec.version, spec.channel changed`; a field that held the rollout back: `spec.paused no longer true`. */
function describeChanges(changed: readonly RolloutField[]): string {
  const values = changed.filter((rollout) => rollout.compare !== 'release').map((rollout) => rollout.path.join('.'));
  const released = changed.filter((rollout) => rollout.compare === 'release').map((rollout) => `${rollout.path.join('.')} no longer ${String(rollout.from)}`);
  const parts = [...(values.length ? [`${values.join(', ')} changed`] : []), ...released];
  return released.length ? `${parts.join(', ')}; its Machines not up to date are replaced` : parts.join(', ');
}

/** The Plan fields whose change leaves system-upgrade-controller's plan hash (status.latestHash) as it was. */
const PLAN_HASH_NEUTRAL_FIELDS: readonly string[] = ['spec.nodeSelector', 'spec.concurrency'];

/**
 * The hash the nodes a Plan has already upgraded carry, when volume-guard can tell: the one it predicts from the new
 * spec (predictedPlanHash), else the old status.latestHash when this update leaves the hash as it was (only the
 * selector or the concurrency changed) and that status was written for the current version. The controller
 * recomputes the hash from the spec on every pass: a status older than the last version change names the previous
 * hash, whose nodes are upgraded again.
 */
function currentPlanHash(request: AdmissionRequest): string | undefined {
  return predictedPlanHash(request.object) ?? unchangedPlanHash(request);
}

/**
 * status.latestHash of the old Plan when this update keeps it (only hash-neutral fields changed) and the status is
 * current: its latestVersion is MungeVersion(spec.version), when spec.version is set (a channel's resolved version
 * cannot be checked). Else undefined (a new version, channel, service account, secret or digest field makes a new
 * hash, which every selected node is upgraded to).
 */
function unchangedPlanHash(request: AdmissionRequest): string | undefined {
  if (request.operation !== 'UPDATE') return undefined;
  const table = upgradeKindTable(request.kind.group, request.kind.kind);
  if (!table) return undefined;
  const changed = changedRolloutFields(table, request.object, request.oldObject, request.requestVersion).map((rollout) => rollout.path.join('.'));
  if (!changed.every((path) => PLAN_HASH_NEUTRAL_FIELDS.includes(path))) return undefined;
  const version = field(request.object, 'spec', 'version');
  if (nonEmptyString(version) && field(request.oldObject, 'status', 'latestVersion') !== mungeVersion(version)) return undefined;
  const hash = field(request.oldObject, 'status', 'latestHash');
  return nonEmptyString(hash) ? hash : undefined;
}

/** system-upgrade-controller's digest annotation: the Plan fields it names are hashed too (not reproduced here). */
const PLAN_DIGEST_ANNOTATION = 'upgrade.cattle.io/digest';

/**
 * The hash system-upgrade-controller will give this Plan (status.latestHash), when volume-guard can reproduce it:
 * with `spec.version` set (it wins over a channel), no secrets (their contents count, and volume-guard reads no
 * Secret) and no digest annotation, DigestStatus hashes (SHA-224) the version with `+` made `-` (MungeVersion), then
 * the service account's name. Nodes already labelled with it were upgraded by an earlier Plan of this name and
 * spec (node labels outlive a deleted Plan): SelectConcurrentNodes skips them.
 */
function predictedPlanHash(plan: unknown): string | undefined {
  const version = field(plan, 'spec', 'version');
  if (!nonEmptyString(version)) return undefined;
  const secrets = field(plan, 'spec', 'secrets');
  if (Array.isArray(secrets) ? secrets.length > 0 : secrets !== undefined && secrets !== null) return undefined;
  if (nonEmptyString(metaOf(plan)?.annotations[PLAN_DIGEST_ANNOTATION])) return undefined;
  const serviceAccount = field(plan, 'spec', 'serviceAccountName');
  return createHash('sha224')
    .update(mungeVersion(version))
    .update(typeof serviceAccount === 'string' ? serviceAccount : '')
    .digest('hex');
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

/** The label system-upgrade-controller selects nodes by and names them with in status.applying. */
const HOSTNAME_LABEL = 'kubernetes.io/hostname';

/**
 * The nodes an upgrade reboots or replaces, when volume-guard can tell: the nodes a system-upgrade-controller Plan's
 * `spec.nodeSelector` selects among those with a `kubernetes.io/hostname` label (its NodeSelector requires one), but
 * those its label `plan.upgrade.cattle.io/<plan>` marks `disabled` or at the plan's current hash
 * (SelectConcurrentNodes skips both), and, while its concurrency starts no node, those not already applying; the
 * nodes of a MachineDeployment's or KubeadmControlPlane's Machines (by their `cluster.x-k8s.io/deployment-name` /
 * `control-plane-name` labels). A MachineDeployment or KubeadmControlPlane rollout replaces those nodes, disks and
 * all (rolloutReplacesNodes). Empty when the Plan upgrades no node: it has no selector (LabelSelectorAsSelector(nil)
 * selects nothing), or its selector matches only nodes it skips, or no Node (when every Longhorn node is a known
 * Node). Undefined (every node) for the other kinds, a malformed selector, one matching no Node while some Longhorn
 * node is no known Node, and Machines none of which has a node yet.
 */
export function upgradedNodes(request: AdmissionRequest, snapshot: ClusterSnapshot): readonly string[] | undefined {
  const { group, kind } = request.kind;
  const name = request.name || metaOf(request.object)?.name || '';
  let nodes: string[] = [];
  if (group === 'upgrade.cattle.io' && kind === 'Plan') {
    // SelectConcurrentNodes keeps the nodes in status.applying and adds others only while fewer than spec.concurrency
    // are selected: with none (0, absent) it starts no node, and only those already applying go on.
    const applyingOnly = startsNodes(field(request.object, 'spec', 'concurrency')) ? undefined : new Set(applyingNodes(request.oldObject));
    if (applyingOnly?.size === 0) return [];
    // No selector is LabelSelectorAsSelector(nil), labels.Nothing(): no node; adding one later is judged then.
    const rawSelector = field(request.object, 'spec', 'nodeSelector');
    if (rawSelector === undefined || rawSelector === null) return [];
    const selector = parseLabelSelector(rawSelector);
    if (selector === undefined || !labelSelectorValid(selector)) return undefined;
    const planLabel = `plan.upgrade.cattle.io/${name}`;
    const skipped = new Set(['disabled', currentPlanHash(request) ?? 'disabled']);
    let selected = 0;
    for (const node of snapshot.nodes()) {
      // NodeSelector() adds `kubernetes.io/hostname Exists`; status.applying names nodes by that label's value.
      const hostname = node.labels[HOSTNAME_LABEL];
      if (hostname === undefined || !labelSelectorMatches(selector, node.labels)) continue;
      if (applyingOnly !== undefined && !applyingOnly.has(hostname)) continue;
      selected++;
      const mark = node.labels[planLabel];
      if (mark === undefined || !skipped.has(mark)) nodes.push(node.name);
    }
    // Selecting only nodes it skips, or no node at all (an agent plan on a cluster of servers only): it upgrades none,
    // as far as volume-guard sees every node holding Longhorn data as a Node with labels to match.
    if (selected > 0 && nodes.length === 0) return [];
    if (selected === 0 && everyLonghornNodeKnown(snapshot)) return [];
  } else if (isClusterApiRollout(request)) {
    nodes = rolloutOwnerNodes(snapshot, request.namespace, kind === 'MachineDeployment' ? kind : 'KubeadmControlPlane', name);
  }
  return nodes.length === 0 ? undefined : [...new Set(nodes)];
}

/**
 * Whether this is a Cluster API rollout (a MachineDeployment's or KubeadmControlPlane's UPDATE), which replaces the
 * nodes of its Machines: each new Machine joins, then an old one is deleted, its node and disks with it (the
 * MachineDeployment scales the old MachineSet down, KubeadmControlPlane deletes the outdated Machine). Its upgraded
 * nodes are then judged as at their removal for the data pinned to them (node-local-volume).
 */
function rolloutReplacesNodes(request: AdmissionRequest): boolean {
  if (!isClusterApiRollout(request)) return false;
  const table = upgradeKindTable(request.kind.group, request.kind.kind);
  if (table === undefined) return true;
  // A certificate window alone (KCP's rolloutBefore.certificatesExpiryDays) replaces only the Machines whose
  // certificates expire within it, which volume-guard cannot see: not judged as removing every node's disks.
  const changed = changedRolloutFields(table, request.object, request.oldObject, request.requestVersion);
  return !changed.every((rollout) => CERTIFICATE_WINDOW_PATHS.includes(rollout.path.join('.')));
}

/** A MachineDeployment's or KubeadmControlPlane's UPDATE: what it rolls reaches the nodes of its Machines only. */
function isClusterApiRollout(request: AdmissionRequest): boolean {
  const { group, kind } = request.kind;
  return (
    request.operation === 'UPDATE' &&
    ((group === 'cluster.x-k8s.io' && kind === 'MachineDeployment') || (group === 'controlplane.cluster.x-k8s.io' && kind === 'KubeadmControlPlane'))
  );
}

/** KubeadmControlPlane's certificate expiry window (v1beta1, v1beta2). */
const CERTIFICATE_WINDOW_PATHS: readonly string[] = ['spec.rolloutBefore', 'spec.rollout.before'];

/** Whether every Longhorn node is a Node volume-guard knows, so that a selector matching none of the Nodes spares it. */
function everyLonghornNodeKnown(snapshot: ClusterSnapshot): boolean {
  for (const longhornNode of snapshot.longhornNodes()) if (snapshot.node(longhornNode.name) === undefined) return false;
  return true;
}

/** Whether a Plan's concurrency lets system-upgrade-controller start a node: a positive number (a value that is no number: assume so). */
function startsNodes(concurrency: unknown): boolean {
  if (concurrency === undefined || concurrency === null) return false;
  return typeof concurrency !== 'number' || concurrency > 0;
}

/** The nodes a Plan is being applied on now (status.applying). */
function applyingNodes(plan: unknown): string[] {
  const applying = field(plan, 'status', 'applying');
  return Array.isArray(applying) ? applying.filter((name): name is string => typeof name === 'string' && name !== '') : [];
}

/**
 * What the upgrade webhook judges of this request (undefined: it starts no guarded upgrade, allowed), for
 * `judgeByPlan` with PLANS.upgrade. With the snapshot, an upgrade of some nodes only is judged on those.
 */
export function upgradeJudgement(
  kinds: Config['upgrades']['kinds'],
  request: AdmissionRequest,
  snapshot?: ClusterSnapshot,
  fresh: (resources: readonly ResourceKind[]) => boolean = () => true,
): PlanJudgement<UpgradeTarget> | undefined {
  const guarded = kinds.find(
    (kind) => kind.group === request.kind.group && kind.kind === request.kind.kind && kind.operations.includes(request.operation),
  );
  const cause = guarded ? rolloutCause(request) : undefined;
  if (!guarded || cause === undefined) return undefined;
  // A step of a Harvester Upgrade judged at its creation (its image preload and cleanup Plans): its own bookkeeping,
  // as far as a fresh view of the Harvester upgrades tells (a stale one may show an upgrade that is over).
  if (snapshot !== undefined && harvesterUpgradeStep(request, snapshot, kinds) !== undefined && fresh(HARVESTER_UPGRADE_RESOURCES)) return undefined;
  const name = request.name || metaOf(request.object)?.name || '(generated name)';
  const ref = request.namespace ? `${request.namespace}/${name}` : name;
  const action = cause === 'creation' ? `creation of ${guarded.kind} ${ref}` : `change of ${guarded.kind} ${ref} (${cause})`;
  const skip = skipOnReviewedObject(request, `${guarded.kind} ${ref}`);
  // Harvester's own annotation on its Upgrade or UpgradePlan, honored the way its upgrade toolkit does: exactly
  // "true", detached volumes only.
  const harvesterAnnotation = (): OverrideSource | undefined => {
    const annotations = metaOf(request.object)?.annotations ?? {};
    if (!isHarvesterUpgradeKind(guarded.group, guarded.kind) || annotations[HARVESTER_SKIP_DETACHED_KEY] !== 'true') return undefined;
    const before = metaOf(request.oldObject)?.annotations?.[HARVESTER_SKIP_DETACHED_KEY];
    return {
      where: `annotation ${HARVESTER_SKIP_DETACHED_KEY}`,
      checks: [],
      tags: [{ check: 'single-replica', tag: 'detached' }],
      reason: annotations['volume-guard.io/skip-reason'] ?? '',
      ...(before === 'true' ? {} : { writer: request.userInfo }),
    };
  };
  const overrides = readOverrides(PLANS.upgrade, { object: () => skip.source, 'harvester-annotation': harvesterAnnotation });
  // A narrower (tag) override must see every finding of its check to tell which remain, and to audit what it
  // skipped: those checks count what the honored tag overrides waive instead of building it (judgeByPlan); the
  // other checks stay capped.
  const tagged = taggedChecks(overrides);
  const selected = snapshot === undefined ? undefined : upgradedNodes(request, snapshot);
  // A Cluster API rollout's nodes are its Machines': read from the Machines, which the stale policy then covers.
  const nodeReads: readonly ResourceKind[] = isClusterApiRollout(request) ? ['node', 'machine'] : ['node'];
  // The controller starts nothing (no node selected, or every one excluded or already upgraded), as far as a fresh
  // view of the Nodes (and Machines) tells: with a stale one, every node counts and the stale policy answers.
  if (selected?.length === 0 && fresh(nodeReads)) return undefined;
  const nodes = selected?.length === 0 ? undefined : selected;
  const replaced = nodes !== undefined && rolloutReplacesNodes(request);
  // Harvester's own upgrade check refuses every volume of numberOfReplicas 1, data or not: its upgrades mirror it.
  // The others skip a volume that never held data, as the cordons of their nodes do.
  const heldDataOnly = !isHarvesterUpgradeKind(guarded.group, guarded.kind);
  const resource = guarded.group ? `${guarded.resource}.${guarded.group}` : guarded.resource;
  return {
    action: nodes === undefined ? action : `${action}, upgrading node ${describeNodes(nodes)}`,
    ...(nodeReads.includes('machine') ? { reads: [...UPGRADE_CHECK_RESOURCES, 'machine'] } : {}),
    target: { ...(nodes === undefined ? {} : { nodes, ...(replaced ? { replaced } : {}) }), ...(heldDataOnly ? { heldDataOnly } : {}) },
    overrides,
    unlimited: tagged,
    listingFirst: true,
    overrideHint: annotateHint(guarded.resource, request.name, request.namespace || undefined),
    // The advice annotates this object (or, refused at its CREATE, its manifest): it keeps the object's own skip.
    reviewed: {
      resources: [resource, guarded.resource],
      name,
      ...(request.namespace ? { namespace: request.namespace } : {}),
      annotations: metaOf(request.operation === 'CREATE' ? request.object : request.oldObject)?.annotations ?? {},
    },
    warnings: [...skip.warnings, ...harvesterValueWarnings(guarded, request.object)],
    situation: {
      kind: 'upgrade',
      operation: request.operation === 'CREATE' ? 'CREATE' : 'UPDATE',
      resource,
      kindName: guarded.kind,
      name,
      ...(request.namespace ? { namespace: request.namespace } : {}),
      ...(replaced ? { replacesNodes: replaced } : {}),
      ...(snapshot === undefined ? {} : { noOtherReplicaNode: soleReplicaNode(snapshot), noOtherLonghornNode: onlyLonghornNode(snapshot) }),
    },
  };
}

/** What harvesterUpgradeStep reads. */
const HARVESTER_UPGRADE_RESOURCES: readonly ResourceKind[] = ['harvesterUpgrade', 'harvesterUpgradePlan'];

/** Where Harvester creates the system-upgrade-controller Plans of its upgrades (its sucNamespace). */
const HARVESTER_PLAN_NAMESPACE = 'cattle-system';

/**
 * The labels Harvester puts on the system-upgrade-controller Plans it creates for an upgrade, with the upgrade's name:
 * its Upgrade controller (`harvesterhci.io/upgrade`), its upgrade toolkit for an UpgradePlan
 * (`management.harvesterhci.io/upgrade-plan`).
 */
export const HARVESTER_UPGRADE_LABELS = { Upgrade: 'harvesterhci.io/upgrade', UpgradePlan: 'management.harvesterhci.io/upgrade-plan' } as const;

/** Where Harvester keeps its Upgrades (an UpgradePlan is cluster-scoped). */
const HARVESTER_UPGRADE_NAMESPACE = 'harvester-system';
/** The states (an Upgrade's upgradeState label, an UpgradePlan's currentPhase) of an upgrade that is over. */
const HARVESTER_UPGRADE_OVER = new Set(['Succeeded', 'Failed']);

/** Whether a Plan cordons or drains the nodes it upgrades (spec.cordon true, or a spec.drain). */
function cordonsOrDrains(object: unknown): boolean {
  const drain = field(object, 'spec', 'drain');
  return field(object, 'spec', 'cordon') === true || (drain !== undefined && drain !== null);
}

/**
 * The Harvester upgrade whose step this system-upgrade-controller Plan is, or undefined. Harvester's controllers
 * create them in cattle-system as the upgrade goes, labelled with its name (the Upgrade controller's
 * `<upgrade>-prepare`, which preloads the new images on every node, and its image cleanup plan once the upgrade is
 * over; the upgrade toolkit's image-preload and node-upgrade plans): the upgrade was judged at its creation, with its
 * overrides, and the drains of its nodes are judged one by one, so refusing its steps would only fail the upgrade it
 * let start. A step only when every one holds, since the label alone is no proof:
 * - the upgrade is one volume-guard sees and polices (its kind in `upgrades.kinds`: judged at its creation), an
 *   Upgrade in harvester-system;
 * - a service account of harvester-system asks (Harvester's controllers create these; a person's labelled Plan, or
 *   a GitOps controller's, is judged like any Plan);
 * - the upgrade is not over (Succeeded, Failed), but for a Plan that neither cordons nor drains (the image cleanup).
 */
export function harvesterUpgradeStep(
  request: AdmissionRequest,
  snapshot: ClusterSnapshot,
  kinds: Config['upgrades']['kinds'],
): HarvesterUpgradeRecord | undefined {
  if (request.kind.group !== 'upgrade.cattle.io' || request.kind.kind !== 'Plan' || request.namespace !== HARVESTER_PLAN_NAMESPACE) return undefined;
  if (!request.userInfo.username.startsWith(`system:serviceaccount:${HARVESTER_UPGRADE_NAMESPACE}:`)) return undefined;
  const labels = metaOf(request.object)?.labels ?? {};
  for (const upgrade of snapshot.harvesterUpgrades()) {
    const name = labels[HARVESTER_UPGRADE_LABELS[upgrade.kind]];
    if (name === undefined || name === '' || upgrade.name !== name) continue;
    if (upgrade.kind === 'Upgrade' && upgrade.namespace !== HARVESTER_UPGRADE_NAMESPACE) continue;
    if (!harvesterUpgradePoliced(upgrade, kinds)) continue;
    if (HARVESTER_UPGRADE_OVER.has(upgrade.state) && cordonsOrDrains(request.object)) continue;
    return upgrade;
  }
  return undefined;
}

/**
 * A warning when Harvester's skipSingleReplicaDetachedVol on a Harvester upgrade holds a value other than "true"
 * (Harvester's older validator took any non-empty value, so `True` or `yes` are written): volume-guard honors "true"
 * only, as the upgrade toolkit does, and says so rather than refuse the detached volumes without a word.
 */
function harvesterValueWarnings(kind: { group: string; kind: string }, object: unknown): string[] {
  if (!isHarvesterUpgradeKind(kind.group, kind.kind)) return [];
  const value = metaOf(object)?.annotations?.[HARVESTER_SKIP_DETACHED_KEY];
  if (value === undefined || value === '' || value === 'true') return [];
  return wrap(`volume-guard: ${HARVESTER_SKIP_DETACHED_KEY}="${value}" has no effect: only "true" is honored`);
}

export function upgradeValidator(config: Config): Validator {
  const kinds = config.upgrades.kinds;
  const declaration: WebhookDeclaration = {
    name: 'upgrade.volume-guard.io',
    target: 'upgrade',
    rules: [{ upgradeKinds: { scope: '*' } }],
    // Only creations and the updates that start a rollout (labels, annotations, replicas and the like do not).
    matchConditions: [{ name: 'starts-rollout', expression: upgradeMatchCondition() }],
  };
  return {
    declaration,
    handle(request, context) {
      const fresh = (resources: readonly ResourceKind[]): boolean => staleModelDecision(context, 'upgrade', [], resources) === undefined;
      const judgement = upgradeJudgement(kinds, request, context.snapshot, fresh);
      return judgement === undefined ? allowed() : judgeByPlan(context, PLANS.upgrade, judgement);
    },
  };
}

/** `n1, n2, n3`, or the first three and how many more. */
function describeNodes(nodes: readonly string[]): string {
  return nodes.length <= 3 ? nodes.join(', ') : `${nodes.slice(0, 3).join(', ')} and ${nodes.length - 3} more`;
}

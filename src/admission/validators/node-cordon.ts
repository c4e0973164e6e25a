// Node updates and deletions that start emptying a node: a cordon (`spec.unschedulable` turning true), a new
// NoSchedule taint (what a cordon is underneath; autoscalers such as cluster-autoscaler and Karpenter, and operators
// with `kubectl taint`, start emptying a node this way), a new NoExecute taint (the taint manager deletes every pod
// that does not tolerate it, at once, without the eviction API), and the deletion of the Node object. Denied while
// the node holds data that exists nowhere else: the last healthy replica of a Longhorn volume, a single-replica
// volume, node-local data. A NoSchedule taint that only dedicates a node is judged too, as a cordon would be: it
// cannot be told from the first step of a drain; the node's override lets it through.
import type { Config } from '../../config.ts';
import { isEnabled, skipOnReviewedObject, unknownWarnings, type CheckResults } from '../context.ts';
import { annotateHint } from '../decide.ts';
import {
  applyLonghornDrainPolicy,
  drainMovesReplicas,
  harvesterDrainOverride,
  harvesterUpgradeSkip,
  inPlaceUpgradeOf,
  isRebootIdentity,
  withoutDataKeptInPlace,
  type HarvesterStep,
} from '../longhorn-drain.ts';
import { onlyLonghornNode, soleReplicaNode, wrap } from '../messages.ts';
import { nodeLocalOptionsOf, unlistedPinnedDrivers } from '../../checks/node-local-volume.ts';
import type { Situation } from '../messages.ts';
import type { AffectedObject, CheckId } from '../../checks/types.ts';
import type { LeavingWith } from '../../checks/last-replica-on-node.ts';
import type { ClusterSnapshot } from '../../cluster/snapshot.ts';
import { judgeByPlan, type AdjustedFindings, type PlanJudgement } from '../plan-judge.ts';
import { PLANS, readOverrides, type NodeTarget, type OverridePlace, type OverrideReaders, type PlaceOf, type Plan } from '../plans.ts';
import {
  CONDITION_TAINT_KEYS,
  EXCLUDE_NODE_DRAINING_ANNOTATION,
  isConditionTaintKey,
  NO_EXECUTE_CONDITION_TAINT_KEYS,
  tolerationMatches,
  transformNode,
} from '../../cluster/transforms.ts';
import { field, isRecord, isUnschedulable, metaOf } from '../objects.ts';
import { drainingMachineOwnerSkip, ownerSkipReading } from '../rollout-owner.ts';
import { skipFrom, taggedChecks } from '../overrides.ts';
import { allowed, type Decision, type UserInfo, type WebhookDeclaration } from '../types.ts';
import type { ValidationContext, Validator } from '../validator.ts';

/** The taint effect that empties a node: the taint manager deletes the pods that do not tolerate it. */
export const EVICTING_TAINT_EFFECT = 'NoExecute';

/** Taint effects judged like a cordon: NoSchedule keeps work off the node (a cordon is one), NoExecute empties it. */
export const EMPTYING_TAINT_EFFECTS: readonly string[] = ['NoSchedule', EVICTING_TAINT_EFFECT];

/** Condition taints (transforms.ts): they report a state; refusing them would only hide it. */
export { CONDITION_TAINT_KEYS };

export interface Taint {
  readonly key: string;
  readonly value: string;
  readonly effect: string;
}

function taintsOf(node: unknown): Taint[] {
  const list = field(node, 'spec', 'taints');
  if (!Array.isArray(list)) return [];
  return list.filter(isRecord).map((taint) => ({
    key: typeof taint['key'] === 'string' ? taint['key'] : '',
    value: typeof taint['value'] === 'string' ? taint['value'] : '',
    effect: typeof taint['effect'] === 'string' ? taint['effect'] : '',
  }));
}

/** The condition taints Kubernetes itself sets with NoExecute (transforms.ts). */
export { NO_EXECUTE_CONDITION_TAINT_KEYS };

/**
 * Set with NoExecute by an admin for a node shut down (non-graceful node shutdown): its pods are already gone. On a
 * node still reporting Ready it is a drain like any other NoExecute taint.
 */
export const OUT_OF_SERVICE_TAINT_KEY = 'node.kubernetes.io/out-of-service';

/**
 * A taint volume-guard judges: NoSchedule or NoExecute, and not a condition taint with the effect Kubernetes sets it
 * with (NoSchedule for every condition key; NoExecute for not-ready and unreachable; out-of-service on a node not
 * Ready). `nodeReady`: the Node reports Ready True once updated.
 */
export function isEmptyingTaint(taint: Pick<Taint, 'key' | 'effect'>, nodeReady = false): boolean {
  if (!EMPTYING_TAINT_EFFECTS.includes(taint.effect)) return false;
  if (!isConditionTaintKey(taint.key)) return true;
  if (taint.effect === 'NoSchedule' || NO_EXECUTE_CONDITION_TAINT_KEYS.includes(taint.key)) return false;
  return taint.key === OUT_OF_SERVICE_TAINT_KEY ? nodeReady : true;
}

/** Whether a Node object reports its Ready condition True. */
export function reportsReady(node: unknown): boolean {
  const conditions = field(node, 'status', 'conditions');
  return Array.isArray(conditions) && conditions.some((condition) => isRecord(condition) && condition['type'] === 'Ready' && condition['status'] === 'True');
}

/**
 * The judged taints this update adds: same key and effect absent before, or, for NoExecute, present with another value
 * (the taint manager evicts every pod whose tolerations no longer match the node's taints: one tolerating `key=a`
 * with operator Equal does not tolerate `key=b`). A new value of a NoSchedule taint moves nothing.
 */
export function addedEmptyingTaints(object: unknown, oldObject: unknown): Taint[] {
  const before = taintsOf(oldObject);
  const ready = reportsReady(object);
  return taintsOf(object).filter(
    (taint) =>
      isEmptyingTaint(taint, ready) &&
      !before.some((old) => old.key === taint.key && old.effect === taint.effect && (taint.effect !== 'NoExecute' || old.value === taint.value)),
  );
}

const quoted = (keys: readonly string[]): string => `[${keys.map((key) => `'${key}'`).join(', ')}]`;
const READY_CEL = "(has(object.status) && has(object.status.conditions) && object.status.conditions.exists(c, c.type == 'Ready' && c.status == 'True'))";
const CONDITION_KEY_CEL =
  `!(t.key in ${quoted(CONDITION_TAINT_KEYS)} && (t.effect == 'NoSchedule' || t.key in ${quoted(NO_EXECUTE_CONDITION_TAINT_KEYS)} || ` +
  `(t.key == '${OUT_OF_SERVICE_TAINT_KEY}' && !${READY_CEL})))`;
const EFFECT_CEL = EMPTYING_TAINT_EFFECTS.map((effect) => `t.effect == '${effect}'`).join(' || ');

/** CEL for the matchConditions: a cordon, a judged taint added, or a Node DELETE. Mirrors handle(). */
export const NODE_EMPTYING_CEL =
  "request.operation == 'DELETE' || " +
  '(has(object.spec) && has(object.spec.unschedulable) && object.spec.unschedulable == true && ' +
  '!(has(oldObject.spec) && has(oldObject.spec.unschedulable) && oldObject.spec.unschedulable == true)) || ' +
  `(has(object.spec) && has(object.spec.taints) && object.spec.taints.exists(t, (${EFFECT_CEL}) && ${CONDITION_KEY_CEL} && ` +
  '!(has(oldObject.spec) && has(oldObject.spec.taints) && oldObject.spec.taints.exists(o, o.key == t.key && o.effect == t.effect && ' +
  "(t.effect != 'NoExecute' || (has(o.value) ? o.value : '') == (has(t.value) ? t.value : ''))))))";

const declaration: WebhookDeclaration = {
  name: 'node-cordon.volume-guard.io',
  target: 'node-cordon',
  rules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['nodes'], operations: ['UPDATE', 'DELETE'], scope: 'Cluster' }],
  // Nodes are updated all the time (kubelet, labels): the API server only calls us when the node starts emptying.
  matchConditions: [{ name: 'empties-node', expression: NODE_EMPTYING_CEL }],
};

/**
 * How Cluster API's drain of a Machine's node stops short of Longhorn's hold: no drain (`excluded`), a node drain
 * timeout (`timeout`), or a drain that skips Longhorn's instance-manager pods (`skipped`: why, naming the rule or label).
 */
export type DrainCutShort = 'excluded' | 'timeout' | { readonly skipped: string } | { readonly undrained: string };

/** The plans of a node leaving service. */
type NodePlanId = 'node-cordon' | 'node-delete' | 'machine-delete' | 'machine-scale-down';

/**
 * Judges taking `node` out of service (a cordon, a taint, a deletion of its Node or Machine) with the node-wide
 * checks and the given overrides.
 */
export function judgeNodeRemoval<Id extends NodePlanId>(
  context: ValidationContext,
  input: {
    node: string;
    action: string;
    /** The plan's override readers but Harvester's drains (read here, for every plan). */
    overrides: Omit<OverrideReaders<PlaceOf<(typeof PLANS)[Id]>>, 'harvester-drain' | 'harvester-upgrade-skip'>;
    overrideHint: string;
    warnings?: readonly string[];
    /** Omitted: the cordon advice (annotate the node); pass null to keep `overrideHint` as the advice. */
    situation?: Situation | null;
    /** With the cordon advice, the step after the fix when it is not the node's cordon or removal (Situation.again). */
    again?: string;
    /** With the cordon advice: how the request comes to take the node, a line of its own (Situation.how). */
    how?: string;
    /** Advise `overrideHint` as the override all the same (Judgement.overrideFromHint). */
    overrideFromHint?: boolean;
    /** With the cordon advice: the update added taints without cordoning (Situation.taint). */
    taint?: 'NoSchedule' | 'NoExecute';
    /**
     * The update only cordons the node (spec.unschedulable, no taint added): what Rancher's machine drain handler does
     * first, before Harvester's pre-drain hook, so a Harvester upgrade about to drain the node counts too (HarvesterStep).
     */
    cordonOnly?: boolean;
    /**
     * Who asks, for a cordon only (`cordonOnly`): a system-upgrade-controller Job's service account cordoning the node
     * its Job upgrades makes it the Plan's in-place upgrade (longhorn-drain.ts systemUpgradeInPlace), and a reboot daemon
     * of `reboots.users`/`reboots.groups` (kured) a reboot in place (isRebootIdentity).
     */
    requester?: UserInfo;
    /** With the cordon advice: the node has no Node object left, so none to annotate (Situation.nodeGone). */
    nodeGone?: { readonly owner?: string };
    /**
     * The update only adds NoExecute taints (no cordon, no NoSchedule taint): the taint manager deletes the pods that do
     * not tolerate them; pods tolerating them all for good stay, with the data they use.
     */
    onlyNoExecute?: readonly Taint[];
    /**
     * The update adds a NoExecute taint: the taint manager deletes pods directly, past every PodDisruptionBudget, so
     * Longhorn's node-drain-policy cannot hold the drain while it moves replicas.
     */
    deletesPods?: boolean;
    /**
     * Cluster API deletes the Machine's node without waiting for its drain to complete (MachineRecord.drainCutShort), or
     * its drain skips Longhorn's instance-manager pods (`skipped`: why), so their PodDisruptionBudget never holds it:
     * Longhorn's node-drain-policy, which acts by holding the drain, cannot keep its last copies.
     */
    drainCutShort?: DrainCutShort;
    /**
     * Whether the Node is cordoned (spec.unschedulable) once the operation is done: Longhorn's node-drain-policy moves
     * replicas off cordoned nodes only. Default true: a Machine's deletion or scale-down cordons the node first.
     */
    cordoned?: boolean;
    /**
     * A cordon or taint update leaves an autoscaler's drain taint on the node (DRAIN_TAINT_KEYS): cluster-autoscaler
     * and Karpenter drain it, then delete its instance. The DELETE and scale-down plans always remove their node.
     */
    removed?: boolean;
    /** Other nodes the same operation may remove (a Cluster API scale-down): their copies are no copy to count on. */
    leavingWith?: LeavingWith;
    /**
     * The Node as stored (the request's oldObject): the advice annotating it fits its own override from these
     * annotations rather than the model's, which may lag a fresh `kubectl annotate` (fitOverrideToStored).
     */
    reviewed?: PlanJudgement<NodeTarget>['reviewed'];
    /**
     * Which operation, from the plan table. Every one but a Node DELETE drains the node through the eviction API
     * (cordon, taint, a Machine's deletion), so Longhorn's node-drain-policy can move its last copies first
     * (issue 12.9).
     */
    plan: Id;
  },
): Decision {
  const { snapshot } = context;
  const plan: Plan<NodeTarget, OverridePlace> = PLANS[input.plan];
  // Rancher cordons a node a Harvester upgrade drains before the pre-drain hook: a cordon alone counts from there.
  const step: HarvesterStep = input.plan === 'node-cordon' && input.cordonOnly === true ? 'cordon' : 'drain';
  // Issue 12.9: a drain of this node by a Harvester upgrade admitted with skipSingleReplicaDetachedVol.
  const harvester = harvesterDrainOverride(snapshot, input.node, context.config.upgrades.kinds, step);
  // The type of `input.overrides` holds a reader for each of the plan's other places.
  // An admin's skip on that upgrade, accepted at its creation, carries to the drains of its nodes.
  const upgradeSkip = harvesterUpgradeSkip(snapshot, input.node, context.now, context.config.upgrades.kinds, step);
  const readers = { ...input.overrides, 'harvester-drain': () => harvester, 'harvester-upgrade-skip': () => upgradeSkip } as unknown as OverrideReaders<OverridePlace>;
  const overrides = readOverrides(plan, readers);
  // Node or Machine DELETE, a scale-down, an autoscaler's drain taint: the node goes with its disks (plans.ts NodeTarget).
  const removed = input.plan !== 'node-cordon' || input.removed === true;
  // A pod tolerating the NoExecute taint stays only as long as its node does.
  const tainted = !removed && input.onlyNoExecute !== undefined && input.onlyNoExecute.length > 0 ? input.onlyNoExecute : undefined;
  // A Harvester upgrade reboots the node in place, and a system-upgrade-controller Plan's Job, or a reboot daemon (kured),
  // cordons it before upgrading or rebooting it in place (its cordon only: a taint is no step of it): the PVs pinned to
  // it are there when it is back. Not for a node being removed, by this request or one admitted before
  // (ClusterSnapshot.nodeLeaving).
  const requester = input.plan === 'node-cordon' && input.cordonOnly === true ? input.requester : undefined;
  const rebooter = requester !== undefined && isRebootIdentity(requester, context.config.reboots) ? requester.username : undefined;
  const inPlace =
    removed || snapshot.nodeLeaving(input.node) !== undefined
      ? undefined
      : inPlaceUpgradeOf(snapshot, input.node, {
          kinds: context.config.upgrades.kinds,
          step,
          ...(requester !== undefined ? { username: requester.username } : {}),
          ...(rebooter !== undefined ? { rebooter } : {}),
        });
  // A tag override (Harvester's detached volumes, a Machine owner's single-replica volumes) must see every finding of
  // its checks. Which findings stay with tolerating pods, or through the reboot, is decided finding by finding:
  // node-local-volume builds them all then.
  const tagged = taggedChecks(overrides);
  const unlimited: readonly CheckId[] | false = tainted || inPlace ? [...tagged, 'node-local-volume'] : tagged.length > 0 ? tagged : false;
  // A Node DELETE drains nothing, and a NoExecute taint deletes pods past PodDisruptionBudgets: Longhorn's
  // node-drain-policy has no say in either.
  const drainPolicy = input.plan !== 'node-delete' && input.deletesPods !== true && input.drainCutShort === undefined;
  // Said when the policy would otherwise have moved the copies: the operator set it to make such removals safe.
  const cutShort =
    input.drainCutShort !== undefined && drainMovesReplicas(snapshot, input.node, input.cordoned ?? true)
      ? [
          ...wrap(`volume-guard: Longhorn's node-drain-policy cannot keep the last copies on node ${input.node}:`),
          ...wrap(
            input.drainCutShort === 'excluded'
              ? `Cluster API deletes it without a drain (annotation ${EXCLUDE_NODE_DRAINING_ANNOTATION})`
              : input.drainCutShort === 'timeout'
                ? 'Cluster API deletes it once its node drain timeout is past, drained or not'
                : 'undrained' in input.drainCutShort
                  ? input.drainCutShort.undrained
                  : `${input.drainCutShort.skipped}, so the drain does not wait on Longhorn's instance-manager PodDisruptionBudget`,
          ),
        ]
      : [];
  const warnings = [...(input.warnings ?? []), ...cutShort];
  return judgeByPlan(context, plan, {
    action: input.action,
    target: { node: input.node, ...(removed ? { removed } : {}), ...(input.leavingWith ? { leavingWith: input.leavingWith } : {}) },
    overrides,
    overrideHint: input.overrideHint,
    ...(warnings.length > 0 ? { warnings } : {}),
    ...(input.situation === null
      ? {}
      : {
          situation: input.situation ?? {
            kind: 'cordon',
            node: input.node,
            ...(removed ? { removed } : {}),
            ...(input.again ? { again: input.again } : {}),
            ...(input.how ? { how: input.how } : {}),
            ...(input.taint ? { taint: input.taint } : {}),
            ...(input.nodeGone ? { nodeGone: input.nodeGone } : {}),
            noOtherReplicaNode: soleReplicaNode(snapshot, input.node),
            noOtherLonghornNode: onlyLonghornNode(snapshot, input.node),
          },
        }),
    ...(input.overrideFromHint === true ? { overrideFromHint: true } : {}),
    unlimited,
    ...(input.reviewed ? { reviewed: input.reviewed } : {}),
    // Longhorn's drain policy reads the listed findings and counts the rest; the tolerated data, node-local-volume.
    listingFirst: true,
    ...(drainPolicy || tainted || inPlace
      ? {
          adjust: (results: CheckResults) => {
            const kept = inPlace ? withoutDataKeptInPlace(snapshot, inPlace, input.node, results) : undefined;
            const staying = kept ?? results;
            const drained = drainPolicy
              ? applyLonghornDrainPolicy(snapshot, input.node, staying, { cordoned: input.cordoned ?? true })
              : { findings: staying.findings, totals: staying.totals, warnings: [] };
            const adjusted = kept && kept.warnings.length > 0 ? { ...drained, warnings: [...drained.warnings, ...kept.warnings] } : drained;
            return tainted ? withoutToleratedData(snapshot, adjusted, tainted) : adjusted;
          },
        }
      : {}),
  });
}

/**
 * Whether the pod named stays on its node under these NoExecute taints, as the taint manager reads its tolerations
 * (GetMatchingTolerations, then getMinTolerationTime): for each taint only the first toleration matching it counts,
 * and it must have no tolerationSeconds. A first match with seconds gets the pod deleted once they are past, even
 * when a later toleration would tolerate the taint for good: its data is lost all the same.
 */
function toleratesAll(snapshot: ClusterSnapshot, ref: AffectedObject, taints: readonly Taint[]): boolean {
  const pod = ref.namespace === undefined ? undefined : snapshot.pod(ref.namespace, ref.name);
  if (pod === undefined) return false;
  const tolerations = pod.noExecuteTolerations ?? [];
  return taints.every((taint) => {
    const first = tolerations.find((toleration) => tolerationMatches(toleration, taint));
    return first !== undefined && first.tolerationSeconds === undefined;
  });
}

/**
 * Drops the node-local findings whose data stays in use where it is: a pod writing inline data, or every pod
 * mounting a local PV, tolerates the NoExecute taints, so the taint manager leaves it. Data no pod uses (tag
 * `unused`) and the Longhorn checks stay: the node is being emptied of everything else.
 */
function withoutToleratedData(snapshot: ClusterSnapshot, adjusted: AdjustedFindings, taints: readonly Taint[]): AdjustedFindings {
  let dropped = 0;
  const findings = adjusted.findings.filter((finding) => {
    if (finding.check !== 'node-local-volume' || !finding.tags.includes('in-use')) return true;
    const pods = finding.object.kind === 'Pod' ? [finding.object] : (finding.related ?? []).filter((object) => object.kind === 'Pod');
    const stays = pods.length > 0 && pods.every((pod) => toleratesAll(snapshot, pod, taints));
    if (stays) dropped++;
    return !stays;
  });
  if (dropped === 0) return adjusted;
  const totals = { ...adjusted.totals };
  if (totals['node-local-volume'] !== undefined) totals['node-local-volume'] -= dropped;
  return { ...adjusted, findings, totals };
}

/** The Node under review as stored, for the advice annotating it (`kubectl annotate node <name>`). */
function storedNode(name: string, annotations: Readonly<Record<string, string>> | undefined): PlanJudgement<NodeTarget>['reviewed'] {
  return { resources: ['node'], name, annotations: annotations ?? {} };
}

/**
 * What the operator is told of PVs pinned to the node by a CSI driver not listed as node-local: judged as network
 * storage, they pass; if the driver keeps data on the node, it belongs in nodeLocal.csiDrivers.
 */
function unlistedDriverWarnings(context: ValidationContext, node: string): string[] {
  // With node-local-volume off no PV is judged as either: the warning would tell of a judgement not made.
  if (!isEnabled(context, 'node-local-volume')) return [];
  const unlisted = unlistedPinnedDrivers(context.snapshot, node, nodeLocalOptionsOf(context.config).drivers);
  const warnings: string[] = [];
  for (const [driver, count] of unlisted) {
    warnings.push(
      ...wrap(
        `volume-guard: ${count === 1 ? '1 PV' : `${count} PVs`} on ${node} pinned to it by CSI driver ${driver}, judged as network storage: ` +
          'if that driver keeps data on the node, add it to nodeLocal.csiDrivers',
      ),
    );
  }
  return warnings;
}

/** The cloud node lifecycle controller, with service-account credentials (node-controller) or as the CCM itself. */
const CLOUD_NODE_DELETERS: readonly string[] = ['system:serviceaccount:kube-system:node-controller', 'system:cloud-controller-manager'];

export function nodeCordonValidator(_config: Config): Validator {
  return {
    declaration,
    handle(request, context) {
      const node = request.name;
      if (request.operation === 'DELETE') {
        // The cloud node lifecycle controller deletes a Node only once its cloud reports the instance gone, disks
        // and all (cloud-provider's ensureNodeExistsByProviderID): refusing keeps nothing and leaves its pods stuck.
        // (Known to the model and not Ready there: a node it has not seen is judged, stale model and all.)
        const known = context.snapshot.node(node);
        if (CLOUD_NODE_DELETERS.includes(request.userInfo.username) && known !== undefined && known.ready !== 'True') return allowed();
        // The stored annotations were written under the override guard.
        const annotations = metaOf(request.oldObject)?.annotations;
        // Once allowed, `kubectl delete node a b` judges b with a's copies gone.
        context.removing({ kind: 'node', name: node, how: 'deleted' });
        return judgeNodeRemoval(context, {
          node,
          action: `deletion of node ${node}`,
          plan: 'node-delete',
          // Cluster API deletes the Node of a Machine being deleted last: the skip its drain carried carries here too.
          overrides: { node: () => skipFrom(`node ${node}`, annotations, undefined, { now: context.now }), 'machine-owner': () => drainingMachineOwnerSkip(ownerSkipReading(context), node) },
          overrideHint: annotateHint('node', node),
          warnings: [...unknownWarnings(`node ${node}`, annotations), ...unlistedDriverWarnings(context, node)],
          reviewed: storedNode(node, annotations),
        });
      }
      if (request.operation !== 'UPDATE') return allowed();
      const cordon = isUnschedulable(request.object) && !isUnschedulable(request.oldObject);
      const taints = addedEmptyingTaints(request.object, request.oldObject);
      // Every other Node update passes untouched (matchConditions aside, e.g. on older clusters).
      if (!cordon && taints.length === 0) return allowed();
      if (cordon) context.cordoning(node);
      const what = [
        ...(cordon ? ['cordon'] : []),
        ...taints.map((taint) => `taint ${taint.key}${taint.value ? `=${taint.value}` : ''}:${taint.effect}`),
      ].join(' and ');
      const skip = skipOnReviewedObject(request, `node ${node}`, 'annotations', context.now);
      const noExecute = taints.filter((taint) => taint.effect === EVICTING_TAINT_EFFECT);
      // An autoscaler's drain taint on the node once updated: it is scaled away, not only emptied.
      const removed = transformNode(request.object)?.leaving === true;
      if (removed) context.removing({ kind: 'node', name: node, how: 'autoscaler' });
      return judgeNodeRemoval(context, {
        node,
        action: `${what} of node ${node}`,
        plan: 'node-cordon',
        ...(!cordon && noExecute.length === taints.length ? { onlyNoExecute: noExecute } : {}),
        ...(!cordon ? { taint: noExecute.length > 0 ? ('NoExecute' as const) : ('NoSchedule' as const) } : {}),
        ...(cordon && taints.length === 0 ? { cordonOnly: true, requester: request.userInfo } : {}),
        deletesPods: noExecute.length > 0,
        cordoned: isUnschedulable(request.object),
        removed,
        // The drain of a Machine being deleted (Cluster API's Machine controller cordons first) carries its owner's skip.
        overrides: { node: () => skip.source, 'machine-owner': () => drainingMachineOwnerSkip(ownerSkipReading(context), node) },
        overrideHint: annotateHint('node', node),
        warnings: [...skip.warnings, ...unlistedDriverWarnings(context, node)],
        reviewed: storedNode(node, metaOf(request.oldObject)?.annotations),
      });
    },
  };
}

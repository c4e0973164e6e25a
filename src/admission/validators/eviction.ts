// Pod eviction: what `kubectl drain` does for every pod, and the real gate of a drain (kubectl prints a refused
// cordon and goes on evicting). Two layers:
// - the evicted pod's own data stays behind on its node (a node-local PV, a Longhorn volume whose only healthy
//   replica is there): refused whatever the node's state, since a drain of a schedulable node looks the same;
// - on an unschedulable node (being drained) every eviction gets the node-wide checks of a cordon, with the
//   node's overrides: the node may have been cordoned before volume-guard saw it, or its override removed since. So
//   does an eviction by a user whose cordon of the still schedulable node volume-guard has just refused: kubectl
//   drain prints the refusal and goes on evicting. A dry-run eviction by a user whose dry-run cordon of the node was
//   just allowed is judged as on the node cordoned: `kubectl drain --dry-run=server` previews the real drain.
// Pods that come back to their node (running DaemonSet pods, static pods' mirrors) take nothing off it and are
// no step of a drain (kubectl drain never evicts them): they pass. A finished pod uses none of its volumes: on a
// schedulable node its removal moves no data; on a node being drained its eviction is a drain step like any other.
// Identities configured as restarters (descheduler, VPA) may evict, from a schedulable node, a pod whose data
// follows it back: a PV pinned to that node (the pod can only come back there), a node-local PV no affinity pins when
// no other node would take the recreated pod now, or a Longhorn volume.
import { comesBackToItsNode, hasInlineData, isFinishedPod, nodeLocalOptionsOf, recreatedElsewhere } from '../../checks/node-local-volume.ts';
import { dataNamespaces } from '../../checks/affected.ts';
import type { Finding } from '../../checks/types.ts';
import { selectorMatches } from '../../cluster/node-affinity.ts';
import { type NodeRecord, type PodRecord, type ResourceKind } from '../../cluster/records.ts';
import { landingRefusal, podLandsOn } from '../../cluster/taints.ts';
import type { Config } from '../../config.ts';
import { describeUser, namespaceGoing, staleModelDecision, staleReads, type CheckResults, unknownWarnings } from '../context.ts';
import { annotateHint } from '../decide.ts';
import { onlyLonghornNode, soleReplicaNode, wrap } from '../messages.ts';
import {
  applyLonghornDrainPolicy,
  harvesterDrainOverride,
  harvesterUpgradeSkip,
  inPlaceUpgradeOf,
  isRebootIdentity,
  keptInPlace,
  withoutDataKeptInPlace,
  type InPlaceUpgrade,
} from '../longhorn-drain.ts';
import { unknownEntryWarnings } from '../override-feedback.ts';
import { parseSkip, SKIP_EVICTIONS_KEY, skipFrom, taggedChecks } from '../overrides.ts';
import { allowed, type Decision, type UserInfo, type WebhookDeclaration } from '../types.ts';
import { judgeByPlan, type AdjustedFindings, type PlanJudgement } from '../plan-judge.ts';
import { MACHINE_OWNER_RESOURCES, NODE_CHECK_RESOURCES, PLANS, planFindings, POD_DATA_RESOURCES, readOverrides, type PodTarget } from '../plans.ts';
import { drainingMachineOwnerSkip, ownerSkipReading } from '../rollout-owner.ts';
import type { ValidationContext, Validator } from '../validator.ts';
import { WITHHELD_TAG, withheldReason } from '../withheld.ts';

const declaration: WebhookDeclaration = {
  name: 'pod-eviction.volume-guard.io',
  target: 'pod-eviction',
  rules: [
    { apiGroups: [''], apiVersions: ['v1'], resources: ['pods/eviction'], operations: ['CREATE'], scope: 'Namespaced' },
  ],
  workload: 'pods',
};

export function isRestartIdentity(user: UserInfo, config: Config): boolean {
  const { restartUsers, restartGroups } = config.evictions;
  return restartUsers.includes(user.username) || user.groups.some((group) => restartGroups.includes(group));
}

/**
 * Data that follows a restarted pod: a PV pinned to the pod's node, or a Longhorn volume reachable from anywhere.
 * A node-local PV that no affinity pins (tag `unpinned`) keeps its data where the pod runs: it follows only a pod that
 * comes straight back (`comesStraightBack`: no other node would take it now).
 */
function followsRestartedPod(finding: Finding, comesStraightBack: () => boolean): boolean {
  if (finding.check === 'last-replica-on-node') return true;
  if (finding.object.kind !== 'PersistentVolume') return false;
  return !finding.tags.includes('unpinned') || comesStraightBack();
}

/**
 * Owners under which a record of a pod's name stands for no other pod that matters: controllers giving their pods
 * generated names (GetPodFromTemplate's generateName), and the kubelet for a static pod's mirror (its successor is
 * that static pod's, on the same node).
 */
const UNAMBIGUOUS_NAME_OWNERS: ReadonlySet<string> = new Set(['ReplicaSet', 'ReplicationController', 'Job', 'DaemonSet', 'Node']);

/**
 * The live pod of the name may be a newer one than this record shows gone (being deleted, or finished): a StatefulSet
 * recreates a deleted or Failed pod under its name on the same claims, and so do a bare pod's re-creators and
 * operators that name their pods (a CloudNativePG or Strimzi pod set). Only the owners above rule it out.
 */
function mayBeEarlierPodOfName(pod: PodRecord): boolean {
  return (pod.deleting || isFinishedPod(pod)) && !UNAMBIGUOUS_NAME_OWNERS.has(pod.controllerKind);
}

export interface PodRemoval {
  /** `eviction of pod ns/name`, `deletion of pod ns/name`. */
  readonly action: string;
  readonly namespace: string;
  readonly name: string;
  /** What the request says about the pod when the model does not know it (a pod DELETE carries it). */
  readonly pod: PodRecord | undefined;
  /**
   * `pod` is the model's record of the name (an eviction names no uid), not the request's own pod (a DELETE's
   * oldObject): while the pods view is stale it may be an earlier pod of that name.
   */
  readonly podFromModel: boolean;
  readonly user: UserInfo;
  /** Run the node-wide checks when the node is unschedulable (evictions); pod DELETEs judge the pod's own data. */
  readonly nodeWide: boolean;
  /** Its plan when the node is schedulable (on an unschedulable node an eviction gets the node-wide plan). */
  readonly plan: 'eviction' | 'pod-delete';
  /** Evictions by restart identities may pass for data that follows the pod. */
  readonly restartAllowed: boolean;
  /**
   * Through the eviction API, so Longhorn's instance-manager PodDisruptionBudgets (its node-drain-policy) hold the
   * drain while replicas move (issue 12.9). False for a DELETE, which no PodDisruptionBudget sees.
   */
  readonly evicted: boolean;
  /**
   * The requester's cordon of the pod's node was refused moments ago (ClusterSnapshot.cordonRefused): kubectl drain
   * prints the refusal and goes on evicting the pods of the still schedulable node, so its evictions are judged as on
   * a node being drained (its DELETEs, `--disable-eviction`, as the pod's own data on a node being drained).
   */
  readonly cordonRefused?: boolean;
  /**
   * A dry run by a user whose dry-run cordon of the pod's node was just allowed (ClusterSnapshot.dryRunCordonAllowed):
   * `kubectl drain --dry-run=server` previews the drain of the node cordoned, so it is judged as on a node being
   * drained, and cordoned for Longhorn's node-drain-policy.
   */
  readonly dryRunCordoned?: boolean;
}

/** Judges a pod leaving its node (an eviction, or a DELETE on a node being drained). */
export function judgePodRemoval(context: ValidationContext, removal: PodRemoval): Decision {
  const { snapshot } = context;
  const pod = removal.pod;
  // A pod's volumes and node never change, but a name outlives its pod: a record of the name shown gone may be an
  // earlier pod, so the answer reads the pods' view, and a stale one gives the stale-model answer (judgeByPlan).
  const earlierPodPossible = removal.podFromModel && pod !== undefined && mayBeEarlierPodOfName(pod);
  // Already being deleted: it goes whatever this answer says (kubectl drain evicts it again and waits for it). Unless
  // the record is stale and the live pod may be its replacement: judged below, by the stale-model policy.
  if (pod?.deleting === true && !(earlierPodPossible && staleReads(context, ['pod']).length > 0)) return allowed();
  // Its namespace is being deleted: the namespace controller deletes the pod, its controller and its claims whatever
  // this answer says (the claims were judged at the Namespace DELETE), and recreates nothing elsewhere. Refusing only
  // leaves the namespace stuck Terminating. (An eviction there never gets here: NamespaceLifecycle refuses creates.)
  if (namespaceGoing(context, removal.namespace)) return allowed();
  const node = pod?.nodeName ?? '';
  const nodeRecord = node ? snapshot.node(node) : undefined;
  // Its Node object is gone: the pod garbage collector force-deletes every pod bound to a node name that no longer
  // exists, after a 40 s quarantine and a fresh read of the node (kubernetes pkg/controller/podgc, gcOrphaned), as
  // pod-garbage-collector, whose DELETEs pass. The pod goes whatever this answer says, and its data stays where it was
  // (judged when the Node was deleted): the same answer as the DELETE of that pod (pod-delete.ts). A stale view of
  // the nodes may just not show the node yet, and a stale view of the pods may show an earlier pod of the name.
  if (node !== '' && nodeRecord === undefined) {
    const stale = staleModelDecision(context, `${removal.action} on node ${node}`, [], removal.podFromModel ? ['node', 'pod'] : ['node'], [
      `none: retry once volume-guard has seen node ${node} (no Node object: the pod garbage collector deletes its pods)`,
    ]);
    return stale ?? allowed();
  }
  // Cordoned, or its cordon just admitted and not yet shown by the informers (nodeCordoned): kubectl drain evicts, or
  // with --disable-eviction DELETEs, as soon as its cordon PATCH is answered.
  const draining =
    nodeRecord?.unschedulable === true || (nodeRecord !== undefined && snapshot.nodeCordoned(node)) || removal.cordonRefused === true || removal.dryRunCordoned === true;
  // The admin allows a drain on the node (stored, so guarded when written) or on the pod's namespace, with its own
  // key there: a namespace's volume-guard.io/skip is for Helm releases and never waives evictions or pod deletes.
  const nodeSkip = skipFrom(`node ${node}`, nodeRecord?.annotations, undefined, { now: context.now });
  const namespaceSkip = skipFrom(`namespace ${removal.namespace} (${SKIP_EVICTIONS_KEY})`, snapshot.namespace(removal.namespace)?.annotations, undefined, {
    key: SKIP_EVICTIONS_KEY,
    now: context.now,
  });
  const warnings = [
    ...unknownWarnings(`node ${node}`, nodeRecord?.annotations),
    ...unknownEntryWarnings(`namespace ${removal.namespace}`, parseSkip(snapshot.namespace(removal.namespace)?.annotations[SKIP_EVICTIONS_KEY]).unknown, SKIP_EVICTIONS_KEY),
  ];

  // A DaemonSet pod or a mirror pod comes back where it was: nothing leaves the node, nothing is drained.
  const staysOnNode = pod !== undefined && comesBackToItsNode(pod);
  // Its own data counts for a pod whose containers run (a finished pod uses no volume) and that moves.
  const ownData = pod !== undefined && !staysOnNode && !isFinishedPod(pod);
  // Staleness matters only for what this answer reads. A known pod's volumes and node never change (per pod: see
  // earlierPodPossible).
  const nodeWide = removal.nodeWide && draining && !staysOnNode;
  // The node-wide checks find the data of every namespace on the node: the namespace's override waives its own only.
  // Scoped so even when only the pod's own data is judged: the snapshot saying so may be stale, and a stale model
  // is passed only by an override that reaches every namespace (staleModelDecision).
  const namespaceOverride = namespaceSkip ? { ...namespaceSkip, namespace: removal.namespace } : undefined;
  const dependsOn: ResourceKind[] = ['node'];
  if (!pod) dependsOn.push(...POD_DATA_RESOURCES);
  else if (ownData && pod.claimNames.length > 0) dependsOn.push(...POD_DATA_RESOURCES);
  // Inline data (hostPath, emptyDir) is on the pod record itself, and its pinning on the node's labels; whether it
  // goes with the node, on the node's Cluster API Machine.
  else if (ownData && hasInlineData(pod)) dependsOn.push('machine');
  if (nodeWide) dependsOn.push(...NODE_CHECK_RESOURCES);
  if (nodeSkip || namespaceSkip || nodeWide) dependsOn.push('namespace');
  if (earlierPodPossible) dependsOn.push('pod');
  // Issue 12.9: Harvester's own drains during an upgrade admitted with skipSingleReplicaDetachedVol.
  const harvester = node ? harvesterDrainOverride(snapshot, node, context.config.upgrades.kinds) : undefined;
  // An admin's skip on that upgrade, accepted at its creation, carries to the drains of its nodes.
  const upgradeSkip = node ? harvesterUpgradeSkip(snapshot, node, context.now, context.config.upgrades.kinds) : undefined;
  // The skip of a Cluster API MachineDeployment or KubeadmControlPlane whose Machine on the node is being deleted:
  // its Machine controller drains the node as the next step of the removal the admin accepted.
  const machineOwnerSkip = drainingMachineOwnerSkip(ownerSkipReading(context), node);
  // A Harvester upgrade reboots the node in place, a system-upgrade-controller Plan's Job (evicting or deleting as its
  // service account) upgrades it in place, and a reboot daemon (kured: reboots.users/groups) drains a node it cordoned
  // and reboots it: the PVs pinned to it are there when it is back (not removed). A reboot daemon drains only a node
  // being drained (cordoned, its cordon just admitted, refused, or for a preview its dry run): its eviction from a
  // schedulable node is no step of a reboot.
  const cordonedForReboot = draining || (node !== '' && snapshot.nodeCordoned(node));
  const rebooter = cordonedForReboot && isRebootIdentity(removal.user, context.config.reboots) ? removal.user.username : undefined;
  const inPlace =
    node !== '' && snapshot.nodeLeaving(node) === undefined
      ? inPlaceUpgradeOf(snapshot, node, { kinds: context.config.upgrades.kinds, username: removal.user.username, ...(rebooter !== undefined ? { rebooter } : {}) })
      : undefined;
  if (harvester || upgradeSkip || inPlace || nodeWide) dependsOn.push('harvesterUpgrade', 'harvesterUpgradePlan');
  if (inPlace?.by === 'system-upgrade-controller') dependsOn.push('pod');
  if (machineOwnerSkip) dependsOn.push('machine', ...MACHINE_OWNER_RESOURCES);
  if (removal.evicted && (nodeWide || pod === undefined || (ownData && pod.claimNames.length > 0))) dependsOn.push('longhornSetting');
  // A pod volume-guard has never seen (with a fresh model) or not bound to a node has no data on a node; on a
  // schedulable node, neither has a pod without claims or inline data, a finished pod or one that comes back.
  // The node is removed after this drain, its disks with it (ClusterSnapshot.nodeLeaving): an autoscaler's drain taint,
  // its Cluster API Machine being deleted (the Machine controller cordons and evicts, then deletes the infrastructure
  // machine), or a Node or Machine DELETE volume-guard has just admitted. Nothing comes back to data kept there.
  const removed = node !== '' && snapshot.nodeLeaving(node) !== undefined;
  // No drain in sight (schedulable, no refused or dry-run cordon) and not leaving: a restart (the descheduler, VPA, an
  // admin's eviction). The recreated pod is scheduled at once, back on the one live node its placement matches even
  // by a label others could carry (node-local-volume's recreatedElsewhere): no autoscaler is asked for a node.
  const staysSchedulable = nodeRecord !== undefined && !draining && !removed;
  const target: PodTarget | undefined =
    !pod || node === '' || (!nodeWide && (!ownData || (pod.claimNames.length === 0 && !hasInlineData(pod))))
      ? undefined
      : removed
        ? { node, pod, removed }
        : staysSchedulable
          ? { node, pod, staysSchedulable }
          : { node, pod };
  // A restart identity's eviction of a pod with data of its own: why it is no restart, when it is not (said in a
  // refusal). Worded only for restart identities (none by default).
  const notRestart =
    removal.restartAllowed && pod !== undefined && target !== undefined && nodeRecord !== undefined && isRestartIdentity(removal.user, context.config)
      ? whyNotRestart(context, pod, node, nodeRecord, draining)
      : undefined;
  // The three plans read the same places (a node, the pod's namespace, a deleting Machine's owner, Harvester's drain).
  const plan = nodeWide ? PLANS['eviction-draining'] : PLANS[removal.plan];
  const overrides = readOverrides(plan, {
    node: () => nodeSkip,
    'namespace-evictions': () => namespaceOverride,
    'machine-owner': () => machineOwnerSkip,
    'harvester-drain': () => harvester,
    'harvester-upgrade-skip': () => upgradeSkip,
  });
  const tagged = taggedChecks(overrides);
  // The node-wide checks answer for the whole node: the action says it is being drained, and when none of the risks is
  // the evicted pod's own data, that it is the node's data that refuses it (kubectl drain prints it per pod).
  const drained = nodeWide ? ` (node ${node} is being drained${removal.cordonRefused === true ? ': your cordon of it was refused' : ''}` : '';
  const judgement: PlanJudgement<PodTarget> = {
    action: nodeWide ? `${removal.action}${drained})` : removal.action,
    target,
    overrides,
    overrideHint: annotateHint('node', node),
    warnings,
    situation: {
      kind: 'eviction',
      node,
      namespace: removal.namespace,
      pod: removal.name,
      ...(removed ? { removed } : {}),
      ...(notRestart === undefined ? {} : { notRestart }),
      noOtherReplicaNode: soleReplicaNode(snapshot, node),
      noOtherLonghornNode: onlyLonghornNode(snapshot, node),
    },
    // Repeats are harmless: only membership is read (staleModelDecision), and only when the model is stale.
    reads: dependsOn,
    // A namespace's override on the node-wide checks judges each finding by its namespace: every one is built.
    // So does a tag override (Harvester's detached volumes, a Machine owner's single-replica volumes) for the checks it
    // narrows, and an in-place upgrade (Harvester's, a system-upgrade-controller Plan's), for the node-local PVs it keeps.
    unlimited:
      namespaceOverride?.namespace !== undefined
        ? true
        : tagged.length > 0 || inPlace
          ? [...tagged, ...(inPlace ? (['node-local-volume'] as const) : [])]
          : false,
    adjust: (results) => {
      // On a node being drained the node-wide checks find everything there, capped at the few a denial lists: the
      // evicted pod's own data (what `kubectl drain` prints this refusal for) is listed first, even past that cap.
      // A finished pod or one the model has not seen has no data of its own here: its namespace's still come first.
      const own = nodeWide ? (ownData && target !== undefined ? ownFirst(context, { node, pod, ...(removed ? { removed } : {}) }) : () => []) : undefined;
      const { ownListed, ...adjusted } = adjustRemoval(context, removal, node, draining, nodeWide, results, own, inPlace);
      if (!nodeWide || ownListed || adjusted.findings.length === 0) return adjusted;
      return { ...adjusted, action: `${removal.action}${drained}; data on ${node} refuses it, none of it this pod's)` };
    },
  };
  return nodeWide ? judgeByPlan(context, PLANS['eviction-draining'], judgement) : judgeByPlan(context, PLANS[removal.plan], judgement);
}

/**
 * Why a restart identity's eviction is judged as no restart, as adjustRemoval decides it: the node drained, removed,
 * no longer matching the pod's nodeSelector, or refusing it (landingRefusal). A PV pinned to the node keeps the
 * recreated pod Pending there. Undefined when the pod would come back.
 */
function whyNotRestart(context: ValidationContext, pod: PodRecord, node: string, nodeRecord: NodeRecord, draining: boolean): string | undefined {
  const pinned = 'its local data pins it there, so it would stay Pending';
  if (context.snapshot.nodeLeaving(node) !== undefined) return `${node} is being removed, its disks with it`;
  if (draining) return `${node} is cordoned: a drain, not a restart`;
  if (!selectorMatches(pod.nodeSelector, nodeRecord)) return `${node} no longer matches the pod's nodeSelector; ${pinned}`;
  const refusal = landingRefusal(pod, nodeRecord);
  if (refusal !== undefined) return `${refusal}; ${pinned}`;
  // Its node takes it back, but so could another (recreatedElsewhere): data no affinity pins to this node (an inline
  // hostPath, a node-local PV no affinity pins) stays behind.
  if (pod.controllerKind !== '' && recreatedElsewhere(context.snapshot, pod, node, true)) {
    return `another node could take the recreated pod, away from the data it keeps on ${node}`;
  }
  return undefined;
}

/** Longhorn's node-drain-policy (evictions only), then restart identities whose pod's data follows it back. */
function adjustRemoval(
  context: ValidationContext,
  removal: PodRemoval,
  node: string,
  draining: boolean,
  nodeWide: boolean,
  results: CheckResults,
  own?: () => readonly Finding[],
  inPlace?: InPlaceUpgrade,
): AdjustedFindings & { readonly ownListed: boolean } {
  // The node-wide checks find the data of every namespace on the node; the requester (and the Event written in the
  // pod's namespace) learns the names of its own namespace's objects only. Data no pod or claim of any namespace
  // names (a Longhorn volume or a PV without a claim) belongs to no tenant: named, so the drain can be acted on.
  const nameable = (finding: Finding): boolean =>
    !nodeWide || dataNamespaces(finding).every((namespace) => namespace === removal.namespace);
  // Issue 12.9: Longhorn's node-drain-policy moving the last copies itself (evictions only).
  const nodeRecord = context.snapshot.node(node);
  // Cordoned, or its cordon just admitted (kubectl drain evicts right after cordoning), or for a preview its dry run.
  const drainOptions = { cordoned: removal.dryRunCordoned === true || context.snapshot.nodeCordoned(node), nameable };
  // An in-place upgrade or reboot (Harvester's, a system-upgrade-controller Plan's, a reboot daemon's) keeps the PVs
  // pinned to the node.
  // Said for the evicted pod's own PVs only: the cordon said it for the node, and a drain evicts every pod.
  const usedByPod = (finding: Finding): boolean =>
    (finding.related ?? []).some((object) => object.kind === 'Pod' && object.namespace === removal.namespace && object.name === removal.name);
  const kept = inPlace ? withoutDataKeptInPlace(context.snapshot, inPlace, node, results, { nameable, concerns: usedByPod }) : undefined;
  const staying = kept ?? results;
  const drain = removal.evicted
    ? applyLonghornDrainPolicy(context.snapshot, node, staying, drainOptions)
    : { findings: staying.findings, totals: staying.totals, warnings: [] };
  const warnings = [...drain.warnings, ...(kept?.warnings ?? [])];
  // The pod's own findings pass the same policy: a volume Longhorn moves off is no risk to list first.
  const ownKept = (): readonly Finding[] => {
    const mine = inPlace ? own!().filter((finding) => !keptInPlace(context.snapshot, inPlace, node, finding)) : own!();
    if (!removal.evicted || mine.length === 0) return mine;
    const totals: Partial<Record<Finding['check'], number>> = {};
    for (const finding of mine) totals[finding.check] = (totals[finding.check] ?? 0) + 1;
    return applyLonghornDrainPolicy(context.snapshot, node, { findings: [...mine], totals }, drainOptions).findings;
  };
  // Whether the evicted pod's own data is among the risks listed (the node-wide checks find the node's).
  let ownListed = false;
  let ordered = drain.findings;
  if (nodeWide && own !== undefined && drain.findings.length > 0) {
    const mine = ownKept();
    ordered = ownDataFirst(drain.findings, drain.totals, mine, nameable);
    const keys = new Set(mine.map(findingKey));
    ownListed = keys.size > 0 && ordered.some((finding) => keys.has(findingKey(finding)));
  }
  let findings: readonly Finding[] = nodeWide ? ordered.map((finding) => (nameable(finding) ? finding : withheld(finding, node))) : ordered;
  let totals = drain.totals;
  const auditAnnotations: Record<string, string> = {};
  // A node being removed (its Machine deleted, an autoscaler's taint) takes the data with it: nothing comes back to it.
  // A pod whose node no longer matches its nodeSelector or required affinity (what the descheduler's
  // RemovePodsViolatingNodeAffinity evicts) comes back nowhere: its PV pins it to a node the scheduler now refuses.
  // A node with no Node object (deleted, or not yet seen) takes nothing back.
  const restartable =
    !draining &&
    context.snapshot.nodeLeaving(node) === undefined &&
    (removal.pod === undefined || (nodeRecord !== undefined && selectorMatches(removal.pod.nodeSelector, nodeRecord)));
  // Nor does it come back to a node that refuses it now, though its labels still match (podLandsOn): a NoSchedule or
  // NoExecute taint it does not tolerate (what RemovePodsViolatingNodeTaints evicts for), or the node not Ready (its
  // condition taint). Its PV pins it there: Pending, for good or until the node is back. A Longhorn volume follows
  // the pod to whichever node takes it.
  const landsBack = removal.pod === undefined || (nodeRecord !== undefined && podLandsOn(removal.pod, nodeRecord));
  // The pod's controller recreates it at once and the scheduler can place it on no other node now (the cluster's only
  // node; the other nodes its selector and its PVs' affinity allow cordoned, not Ready or tainted against it): it lands
  // back beside the data of a PV no affinity pins (recreatedElsewhere, as for an inline hostPath). A pod nothing
  // recreates leaves that data with no pod to say where it is.
  let straightBack: boolean | undefined;
  const comesStraightBack = (): boolean =>
    (straightBack ??= removal.pod !== undefined && removal.pod.controllerKind !== '' && !recreatedElsewhere(context.snapshot, removal.pod, node, true));
  const follows = (finding: Finding): boolean =>
    followsRestartedPod(finding, comesStraightBack) && (landsBack || finding.check === 'last-replica-on-node');
  if (removal.restartAllowed && restartable && findings.length > 0 && isRestartIdentity(removal.user, context.config)) {
    const following = findings.filter(follows);
    if (following.length > 0) {
      findings = findings.filter((finding) => !follows(finding));
      // A pod has few volumes: these checks ran below their cap, so the findings are complete.
      totals = {};
      // Wrapped, not cut: the volumes' names come last and are what the operator reads (the decision fits the
      // warnings to the API server's total, fitWarnings).
      warnings.push(
        ...wrap(
          `volume-guard: ${removal.action} allowed as a restart by ${describeUser(removal.user)}: ` +
            `its data (${following.map((f) => f.object.name).join(', ')}) stays reachable where it comes back`,
        ),
      );
      auditAnnotations['restart-eviction'] = following.map((f) => f.object.name).join(',');
    }
  }
  return { findings, totals, warnings, auditAnnotations, ownListed };
}

/** The evicted pod's own findings (the eviction plan's checks, uncapped: a pod has few volumes), built when asked. */
function ownFirst(context: ValidationContext, target: PodTarget): () => readonly Finding[] {
  let built: readonly Finding[] | undefined;
  return () => (built ??= planFindings(PLANS.eviction, context.snapshot, target, { nodeLocal: nodeLocalOptionsOf(context.config) }));
}

const findingKey = (finding: Finding): string =>
  `${finding.check}\u0000${finding.object.kind}\u0000${finding.object.namespace ?? ''}\u0000${finding.object.name}`;

/**
 * The node-wide findings of an eviction on a node being drained, in the order its answer lists them: the evicted
 * pod's own data first, then its namespace's (and data of no namespace), then other namespaces' (named only as
 * counted risks). A finding of the pod's own that the cap left unbuilt is put in front when its check was cut (the
 * totals count it already), never added to a check that found nothing of it.
 */
export function ownDataFirst(
  findings: readonly Finding[],
  totals: Readonly<Partial<Record<Finding['check'], number>>>,
  own: readonly Finding[],
  nameable: (finding: Finding) => boolean,
): readonly Finding[] {
  if (own.length === 0 && findings.every(nameable)) return findings;
  const built = new Map<string, Finding>();
  const perCheck = new Map<Finding['check'], number>();
  for (const finding of findings) {
    built.set(findingKey(finding), finding);
    perCheck.set(finding.check, (perCheck.get(finding.check) ?? 0) + 1);
  }
  const first: Finding[] = [];
  const taken = new Set<string>();
  for (const finding of own) {
    const key = findingKey(finding);
    if (taken.has(key)) continue;
    const existing = built.get(key);
    if (existing !== undefined) {
      first.push(existing);
      taken.add(key);
      continue;
    }
    const count = perCheck.get(finding.check) ?? 0;
    const total = totals[finding.check] ?? count;
    if (count > 0 && total > count) {
      first.push(finding);
      taken.add(key);
      perCheck.set(finding.check, count + 1);
    }
  }
  const rest = findings.filter((finding) => !taken.has(findingKey(finding)));
  return [...first, ...rest.filter(nameable), ...rest.filter((finding) => !nameable(finding))];
}

export function podEvictionValidator(_config: Config): Validator {
  return {
    declaration,
    handle(request, context) {
      const pod = context.snapshot.pod(request.namespace, request.name);
      const node = pod?.nodeName ?? '';
      // kubectl drain goes on after its cordon was refused: the node stays schedulable, and its evictions (by the same
      // credentials, within the window) are the drain's, so they get the node-wide checks: data no evicted pod uses
      // (an unused local PV, a detached single-replica volume) refuses them as it refused the cordon.
      // kubectl drain --dry-run=server: its cordon was a dry run too, so the node it previews the drain of is cordoned.
      const dryRunCordoned = request.dryRun && node !== '' && context.snapshot.dryRunCordonAllowed(node, request.userInfo.username);
      const cordonRefused =
        node !== '' &&
        !dryRunCordoned &&
        context.snapshot.node(node)?.unschedulable === false &&
        context.snapshot.cordonRefused(node, request.userInfo.username, request.dryRun);
      return judgePodRemoval(context, {
        // judgePodRemoval adds that the node is being drained, when it is (the cordon refused says so).
        action: `eviction of pod ${request.namespace}/${request.name}`,
        namespace: request.namespace,
        name: request.name,
        pod,
        podFromModel: true,
        user: request.userInfo,
        nodeWide: true,
        plan: 'eviction',
        restartAllowed: true,
        evicted: true,
        ...(cordonRefused ? { cordonRefused } : {}),
        ...(dryRunCordoned ? { dryRunCordoned } : {}),
      });
    },
  };
}

/**
 * A finding about another namespace's data, as an eviction's answer states it: what kind of risk, on which node,
 * naming nothing of that namespace (no claim, pod, PV or volume name). `volume-guard audit --node` lists them.
 */
export function withheld(finding: Finding, node: string): Finding {
  const kind = finding.object.kind;
  const object = { kind, name: 'of another namespace', node };
  const reasons: Record<Finding['check'], string> = {
    'last-replica-on-node': `its only healthy copy is on node ${node}`,
    'single-replica': `a single copy of its data, on node ${node}`,
    'volume-health': `not healthy, with a copy on node ${node}`,
    'node-local-volume': finding.tags.includes('node-removed')
      ? kind === 'Pod'
        ? `writes to a hostPath on node ${node}, which is removed with its disks`
        : `keeps data on node ${node}, which is removed with its disks`
      : finding.tags.includes('inline-hostPath')
      ? `writes to a hostPath on node ${node}; its controller would recreate it elsewhere`
      : finding.tags.includes('emptyDir')
        ? 'StatefulSet pod keeps data in an emptyDir, emptied when the pod is evicted'
        : finding.tags.includes('unpinned')
          ? `keeps data on node ${node}, where its pod runs`
          : `keeps data on node ${node} only`,
    // Never found on a node: worded all the same, naming nothing.
    'orphan-pvc': `data at risk on node ${node}`,
    'pvc-delete': `data at risk on node ${node}`,
    'storage-teardown': `data at risk on node ${node}`,
  };
  return {
    check: finding.check,
    severity: finding.severity,
    object,
    reason: withheldReason(reasons[finding.check], `volume-guard audit --node ${node}`),
    tags: [...finding.tags, WITHHELD_TAG],
  };
}

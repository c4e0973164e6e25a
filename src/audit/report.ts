// From the cluster model to the audit report: pure (no I/O, no clock), so the same model always gives the same
// report. The checks are the webhook's own, run on the same targets its validators use.

import { compareText } from '../text.ts';
import { ANNOTATED_KINDS, annotateHint, fitOverrideToStored, overrideCovers, type StoredAnnotations } from '../admission/decide.ts';
import { fewNamed, findingFix, plural, soleLonghornNodeFix } from '../admission/messages.ts';
import {
  HARVESTER_SKIP_DETACHED_KEY,
  isHarvesterUpgradeKind,
  parseSkip,
  REUSE_KEY,
  reuseApprovalSource,
  SKIP_BY_KEY,
  SKIP_EVICTIONS_KEY,
  SKIP_KEY,
  SKIP_REASON_KEY,
  skipFrom,
  whyNotHonored,
  type OverrideSource,
  type OverrideWriters,
} from '../admission/overrides.ts';
import {
  harvesterDrainOverride,
  harvesterUpgradeInPlace,
  harvesterUpgradeSkip,
  keptOnNodeThroughReboot,
  movedByDrainPolicy,
  upgradeName,
  type HarvesterStep,
  type PolicedKinds,
} from '../admission/longhorn-drain.ts';
import { PLANS, planFindings, type PlanOptions } from '../admission/plans.ts';
import {
  DELETING_OWNERS,
  drainingMachineOwnerSkip,
  rolloutOwnerNodes,
  rolloutOwnerPoliced,
  rolloutOwnerResource,
  rolloutOwnerTarget,
  type RolloutOwnerKind,
} from '../admission/rollout-owner.ts';
import { dataNamespaces } from '../checks/affected.ts';
import { NO_DATA_TAG } from '../checks/longhorn-health.ts';
import { DEFAULT_NODE_LOCAL_OPTIONS, type NodeLocalOptions } from '../checks/node-local-volume.ts';
import { mountedByLivePod, mountedReleaseLabelled, REUSE_APPROVED_TAG } from '../checks/orphan-pvc.ts';
import { drainEvictsReplicas, NODE_DRAIN_POLICY } from '../checks/storage-teardown.ts';
import { CHECK_IDS, objectRef, type CheckId, type Finding } from '../checks/types.ts';
import { RELEASE_LABELS, RESOURCE_KINDS, type MachineRecord, type ResourceKind } from '../cluster/records.ts';
import type { CheckMode } from '../config.ts';
import { HELM_RELEASE_NAME_ANNOTATION, HELM_RELEASE_NAMESPACE_ANNOTATION, HELM_RESOURCE_POLICY_ANNOTATION } from '../kube.ts';
import { auditedNodes, type AuditModel } from './model.ts';
import { compareOverrides, defaultControlPlaneUsers, defaultOverrideWriters, lingeringOverrides, namespaceSkipCovering, nodeSkipCovering, type OverrideCarrier } from './overrides.ts';
import { KEPT_BY_POLICY_TAG, releaseFindings, releaseState } from './release.ts';
import { acceptedEverywhere, risksOf } from './risks.ts';
import {
  AUDIT_API_VERSION,
  type AuditDistinctCounts,
  type AuditFinding,
  type AuditReport,
  type AuditScope,
  type AuditScopeSummary,
  type AuditSummary,
  type LingeringOverride,
  type ReleaseRevision,
} from './types.ts';
import { WRITER_PLACEHOLDER } from '../override-keys.ts';

export interface AuditInput {
  readonly model: AuditModel;
  readonly scope: AuditScope;
  readonly cluster: { readonly server: string; readonly context: string };
  /** Objects of the guarded upgrade kinds, read with the admin's credentials, for their overrides. */
  readonly upgradeObjects?: readonly OverrideCarrier[];
  /** Notes from loading (an upgrade kind that could not be listed...). */
  readonly notes?: readonly string[];
  /** RFC 3339 time of the report, given by the caller (the builder reads no clock). */
  readonly generatedAt: string;
  /** The configured check modes: `off` checks are not reported, `warn` findings are marked. Default: all enforce. */
  readonly modes?: Readonly<Partial<Record<CheckId, CheckMode>>>;
  /** What counts as node-local data (the configuration's `nodeLocal`); the defaults when absent. */
  readonly nodeLocal?: NodeLocalOptions;
  /**
   * The configuration's `upgrades.kinds`: a Harvester upgrade of a kind outside them carries no override to the drains
   * of its nodes (its writes are never policed: longhorn-drain.ts). Default: every kind.
   */
  readonly upgradeKinds?: PolicedKinds;
  /**
   * The configuration's `clusterApi`: only the Machine DELETEs of `controlPlaneUsers` read a KubeadmControlPlane's
   * skip (machine.ts), so with none its removal findings name no override. Default: the default configuration's.
   */
  readonly clusterApi?: { readonly controlPlaneUsers: readonly string[] };
  /**
   * Every Helm release's latest revision, listed metadata-only (cluster-wide audits): the releases not installed that
   * PVCs are labelled for are audited as `--release` audits them. Absent: not listed, a note says to use --release.
   */
  readonly releaseRecords?: readonly { readonly namespace: string; readonly name: string; readonly revisions: readonly ReleaseRevision[] }[];
  /** Releases whose latest revision carries release-label overrides (cluster-wide audits; --release reads its own). */
  readonly releaseLabels?: readonly { readonly namespace: string; readonly name: string; readonly revisions: readonly ReleaseRevision[] }[];
  /**
   * The configuration's `overrides` (who may write them): with none allowed no override counts, as in the webhook.
   * Default: the default configuration's.
   */
  readonly writers?: OverrideWriters;
  /** The --config file the options above come from; absent: the default configuration (said in a note). */
  readonly configFile?: string;
}

/**
 * The note of an audit judged without --config: the deployed webhook runs with the chart's ConfigMap (named after
 * the release, `<release>-volume-guard` or `volume-guard`; key config.yaml), whose settings may differ. Its commands
 * are in backticks, as in other notes: the table keeps each whole or wraps it with shell continuations.
 */
export const DEFAULT_CONFIG_NOTE =
  "judged with the default configuration, not necessarily the webhook's (longhorn.namespace, nodeLocal, check modes, overrides, upgrades.kinds): " +
  'to judge as it does, save the ConfigMap the chart runs it with and pass it: ' +
  "`kubectl get configmap -n NAMESPACE NAME -o jsonpath='{.data.config\\.yaml}' > volume-guard.yaml && volume-guard audit --config volume-guard.yaml` " +
  "(NAME: the chart's fullname, volume-guard or RELEASE-volume-guard; `kubectl get configmap -A -l app.kubernetes.io/name=volume-guard` lists it)";

/** A finding before it is given its operation, fix and override. */
interface Placed {
  readonly finding: Finding;
  /** What it blocks: an upgrade, the cordon of a node, the re-install of a release. */
  readonly operation: Operation;
  /**
   * An upgrade finding about a Longhorn volume whose data is only on nodes without a Node object: the node (and the
   * Cluster API Machine still naming it) whose loss its fix speaks of, not a numberOfReplicas Longhorn cannot act on.
   */
  readonly stranded?: { readonly node: string; readonly machine?: string };
}

type Operation =
  | { readonly kind: 'upgrade' }
  /**
   * A Harvester Upgrade or UpgradePlan only: a numberOfReplicas-1 volume that never held data (NO_DATA_TAG), which
   * Harvester's own upgrade check refuses and the other upgrades skip. `policed`: a Harvester kind is in the
   * configuration's `upgrades.kinds`, so volume-guard refuses it too.
   */
  | { readonly kind: 'harvester-upgrade'; readonly policed: boolean }
  /**
   * A rollout of a Cluster API MachineDeployment or KubeadmControlPlane whose kind is in `upgrades.kinds`: it replaces
   * the nodes of its Machines with their disks, and the upgrade webhook refuses it for the node-local data there
   * (plans.ts PLANS.upgrade, `replaced`), reading the skip on that object.
   */
  | { readonly kind: 'rollout'; readonly owner: RolloutOwnerKind; readonly namespace: string; readonly name: string }
  | { readonly kind: 'cordon'; readonly node: string }
  /**
   * `machine`: the Cluster API Machine (namespace/name) still naming a node that has no Node object left; `owner`: its
   * KubeadmControlPlane as kubectl names it (`kubeadmcontrolplanes.controlplane.cluster.x-k8s.io cp -n capi`), whose
   * skip is read for that controller's own DELETE of the Machine (machine.ts judgeMachineDelete), when policed.
   */
  | { readonly kind: 'removal'; readonly node: string; readonly machine?: string; readonly owner?: { readonly resource: string; readonly name: string; readonly namespace: string } }
  /** A Node DELETE, which drains nothing: what Longhorn's node-drain-policy moves in a drain is lost there. */
  | { readonly kind: 'node-delete'; readonly node: string }
  /** The drain and removal of a node whose Cluster API Machine is being deleted: its evictions, not its cordon. */
  | { readonly kind: 'machine-drain'; readonly node: string }
  /** Data on a node without a Node object: no operation volume-guard judges is refused for it. */
  | { readonly kind: 'gone'; readonly node: string }
  | { readonly kind: 'release'; readonly namespace: string; readonly name: string };

/** The tag of findings about data on a node that no longer exists (operation `gone`). */
export const NODE_GONE_TAG = 'node-gone';

function describeOperation(operation: Operation): string {
  switch (operation.kind) {
    case 'upgrade':
      return 'upgrade';
    case 'harvester-upgrade':
      return 'Harvester upgrade (Upgrade, UpgradePlan)';
    case 'rollout':
      return `rollout of ${operation.owner} ${operation.namespace}/${operation.name}`;
    case 'cordon':
      return `cordon/drain of node ${operation.node}`;
    case 'removal':
      return `removal of node ${operation.node} (Node or Machine DELETE, scale-down, autoscaler)`;
    case 'node-delete':
      return `Node DELETE of node ${operation.node} (nothing is drained first)`;
    case 'machine-drain':
      return `drain and removal of node ${operation.node} (its Cluster API Machine is being deleted)`;
    case 'gone':
      return `no operation (node ${operation.node} no longer exists)`;
    case 'release':
      return `re-install of Helm release ${operation.namespace}/${operation.name}`;
  }
}

/**
 * The operations `audit --node` fails the exit code for: its cordon, and on a node whose Cluster API Machine is being
 * deleted the drain's evictions; what only the node's removal (a Node or Machine DELETE) would hit is listed beside
 * them and does not. A node with no Node object has nothing to cordon or drain: its removal (the DELETE of a Cluster
 * API Machine still naming it, refused for its data) counts then.
 */
export function nodeExitOperations(scope: { readonly node: string; readonly withoutNodeObject?: true }): readonly string[] {
  const { node } = scope;
  return [
    describeOperation({ kind: 'cordon', node }),
    describeOperation({ kind: 'machine-drain', node }),
    ...(scope.withoutNodeObject === true ? [describeOperation({ kind: 'removal', node })] : []),
  ];
}

/** The operations of each kind, one per form, placeholders for its node (N) and release or object (NS/NAME). */
const OPERATION_EXAMPLES: { readonly [K in Operation['kind']]: readonly Extract<Operation, { kind: K }>[] } = {
  upgrade: [{ kind: 'upgrade' }],
  'harvester-upgrade': [{ kind: 'harvester-upgrade', policed: true }],
  rollout: [
    { kind: 'rollout', owner: 'MachineDeployment', namespace: 'NS', name: 'NAME' },
    { kind: 'rollout', owner: 'KubeadmControlPlane', namespace: 'NS', name: 'NAME' },
  ],
  cordon: [{ kind: 'cordon', node: 'N' }],
  'machine-drain': [{ kind: 'machine-drain', node: 'N' }],
  removal: [{ kind: 'removal', node: 'N' }],
  'node-delete': [{ kind: 'node-delete', node: 'N' }],
  gone: [{ kind: 'gone', node: 'N' }],
  release: [{ kind: 'release', namespace: 'NS', name: 'NAME' }],
};

/**
 * Every form a finding's `operation` takes, N standing for a node and NS/NAME for a Helm release or a Cluster API
 * object: what schemas/audit-v1.schema.json lists (a test holds them equal).
 */
export const OPERATION_FORMS: readonly string[] = Object.values(OPERATION_EXAMPLES).flat().map(describeOperation);

/** The object whose `volume-guard.io/skip` an operation reads, as `kubectl annotate` names it; undefined: none. */
interface SkipTarget {
  readonly resource: string;
  readonly name: string;
  readonly namespace?: string;
}

function skipTargetOf(operation: Operation): SkipTarget | undefined {
  switch (operation.kind) {
    case 'cordon':
    case 'node-delete':
    case 'machine-drain':
      return { resource: 'node', name: operation.node };
    case 'removal':
      if (operation.machine === undefined) return { resource: 'node', name: operation.node };
      return operation.owner === undefined ? undefined : { resource: operation.owner.resource, name: operation.owner.name, namespace: operation.owner.namespace };
    case 'rollout':
      return { resource: rolloutOwnerResource(operation.owner), name: operation.name, namespace: operation.namespace };
    default:
      return undefined;
  }
}

const targetKey = (target: SkipTarget): string => `${target.resource}\u0000${target.namespace ?? ''}\u0000${target.name}`;

/**
 * How the skip commands of a report are written: per object annotated, every check refused there (a skip holds one
 * list: a command per check would each replace the one before), fitted to the object's stored annotations as the
 * webhook's refusals are (fitOverrideToStored: the checks its own skip waives kept, --overwrite over a value).
 */
interface SkipCommands {
  /** Per target (targetKey): the checks of the findings refused there, in check order. */
  readonly refused: ReadonlyMap<string, ReadonlySet<CheckId>>;
  readonly stored: StoredAnnotations;
  readonly now: number;
  /** Whose stored skips count (a skip of a writer that does not keeps none of its checks). */
  readonly writers: OverrideWriters;
}

function skipCommand(resource: string, ref: string, check: CheckId, namespace: string | undefined, commands: SkipCommands): string {
  const refused = commands.refused.get(targetKey({ resource, name: ref, ...(namespace !== undefined ? { namespace } : {}) }));
  const checks = CHECK_IDS.filter((id) => id === check || refused?.has(id) === true).join(',');
  const command = annotateHint(resource, ref, namespace).replace(/^run: /, '').replace('<checks>', checks);
  return fitOverrideToStored([command], commands.stored, commands.now, commands.writers).join(' ');
}

function overrideCommand(finding: Finding, operation: Operation, commands: SkipCommands): string {
  switch (operation.kind) {
    case 'upgrade': {
      // The upgrade object usually does not exist yet: the annotations go into the manifest that creates it.
      const annotate = `annotate the upgrade object (Upgrade, UpgradePlan, Plan, MachineDeployment, KubeadmControlPlane) with ${SKIP_KEY}=${finding.check} ${SKIP_REASON_KEY}="<why>" ${SKIP_BY_KEY}=${WRITER_PLACEHOLDER}`;
      return finding.check === 'single-replica' && finding.tags.includes('detached')
        ? `${annotate}; on a Harvester Upgrade or UpgradePlan, ${HARVESTER_SKIP_DETACHED_KEY}=true skips detached volumes only`
        : annotate;
    }
    case 'harvester-upgrade': {
      if (!operation.policed) {
        return `none: no Harvester upgrade kind is in upgrades.kinds, so volume-guard refuses no upgrade for it (Harvester's own upgrade check still does)`;
      }
      const annotate = `annotate the Harvester Upgrade or UpgradePlan with ${SKIP_KEY}=${finding.check} ${SKIP_REASON_KEY}="<why>" ${SKIP_BY_KEY}=${WRITER_PLACEHOLDER}`;
      return finding.tags.includes('detached') ? `${annotate}, or ${HARVESTER_SKIP_DETACHED_KEY}=true (detached volumes only)` : annotate;
    }
    case 'rollout':
      return skipCommand(rolloutOwnerResource(operation.owner), operation.name, finding.check, operation.namespace, commands);
    case 'removal':
      // No Node left to annotate: the data goes, or the node comes back (the fix). Only a KubeadmControlPlane's skip is
      // read then, for its controller's own DELETE of the Machine (not a person's), as the webhook's refusal says.
      if (operation.machine !== undefined) {
        const none = `there is no Node ${operation.node} to annotate`;
        const { owner } = operation;
        if (owner !== undefined) {
          return `${skipCommand(owner.resource, owner.name, finding.check, owner.namespace, commands)} (${none}; read for its controller's own DELETE of Machine ${operation.machine}, not a person's)`;
        }
        return `none: ${none}, and no other override is read for Machine ${operation.machine}'s DELETE: act on the fix, then delete Machine ${operation.machine} again`;
      }
      return skipCommand('node', operation.node, finding.check, undefined, commands);
    case 'cordon':
    case 'node-delete':
    case 'machine-drain':
      return skipCommand('node', operation.node, finding.check, undefined, commands);
    case 'gone':
      return `none: no operation is refused for it (there is no Node ${operation.node} to cordon, drain or delete)`;
    case 'release':
      return finding.object.kind === 'PersistentVolumeClaim'
        ? `kubectl annotate pvc ${finding.object.name} -n ${finding.object.namespace ?? operation.namespace} ${REUSE_KEY}=true ${SKIP_BY_KEY}=${WRITER_PLACEHOLDER} (only if its data is meant to be reused)`
        : `helm install ${operation.name} -n ${operation.namespace} --labels ${SKIP_KEY}=orphan-pvc ...`;
  }
}

/** What the webhook honors as it does (whyNotHonored): the configured kinds and writers, at the report's time. */
interface Honoring {
  readonly kinds: PolicedKinds | undefined;
  readonly writers: OverrideWriters;
  /** Epoch ms of the report (generatedAt): when a `skip-until` is judged. */
  readonly now: number;
}

function overriddenBy(model: AuditModel, finding: Finding, operation: Operation, honoring: Honoring): string | undefined {
  switch (operation.kind) {
    case 'upgrade':
    case 'harvester-upgrade':
      // Upgrade overrides live on an upgrade object that does not exist before the upgrade is started.
      return undefined;
    case 'gone':
      return undefined;
    case 'rollout':
      return rolloutSkipCovering(model, operation, finding, honoring);
    case 'cordon':
    case 'removal':
    case 'node-delete':
    case 'machine-drain':
      // In the node plan's order: the node's skip, the owner's of its Machine being deleted, Harvester's drains.
      return (
        nodeSkipCovering(model, operation.node, finding.check, honoring.writers, honoring.now) ??
        machineOwnerCovering(model, operation.node, finding, honoring) ??
        harvesterDrainCovering(model, operation.node, finding, honoring, operation.kind === 'cordon' ? 'cordon' : 'drain')
      );
    case 'release':
      if (finding.tags.includes(REUSE_APPROVED_TAG) && whyNotHonored(reuseApprovalSource(), honoring.writers) === undefined) {
        return `annotation ${REUSE_KEY} on PersistentVolumeClaim ${objectRef(finding.object)}`;
      }
      return namespaceSkipCovering(model, operation.namespace, finding.check, honoring.writers, honoring.now);
  }
}

/** Where `source` is, when it waives `finding` and counts, as the webhook judges it; undefined otherwise. */
function honoredWhere(source: OverrideSource | undefined, finding: Finding, writers: OverrideWriters): string | undefined {
  return source !== undefined && overrideCovers(source, finding) && whyNotHonored(source, writers) === undefined ? source.where : undefined;
}

/**
 * The stored skip of the MachineDeployment or KubeadmControlPlane whose rollout is judged: the upgrade webhook reads
 * the skip on the object it reviews (skipOnReviewedObject), with its recorded writer when the change leaves it as it is.
 */
function rolloutSkipCovering(model: AuditModel, operation: Extract<Operation, { kind: 'rollout' }>, finding: Finding, { now, writers }: Honoring): string | undefined {
  const { owner, namespace, name } = operation;
  const annotations = model.machineOwner(namespace, owner, name)?.annotations;
  return honoredWhere(skipFrom(`annotation ${SKIP_KEY} on ${owner} ${namespace}/${name}`, annotations, undefined, { now }), finding, writers);
}

/**
 * The skip of the MachineDeployment or KubeadmControlPlane owning the node's Machine being deleted, carried to the
 * node's cordon and drain (rollout-owner.ts drainingMachineOwnerSkip), `single-replica` there also waiving
 * last-replica-on-node of single-replica volumes: the Machine controller drains the node as the next step of the
 * removal the admin accepted, and so does Cluster API's Node DELETE that ends it. A node whose Machine stays has no
 * such skip.
 */
function machineOwnerCovering(model: AuditModel, node: string, finding: Finding, { kinds, writers }: Honoring): string | undefined {
  return honoredWhere(drainingMachineOwnerSkip({ snapshot: model, kinds }, node), finding, writers);
}

/**
 * A Harvester Upgrade admitted with skipSingleReplicaDetachedVol that is draining the node waives its detached
 * single-replica findings at the node's cordon and drain (longhorn-drain.ts harvesterDrainOverride), and one carrying
 * an admin's honored `volume-guard.io/skip` the checks it names (harvesterUpgradeSkip), as the webhook. For the
 * node's `cordon`, also one about to drain it (Images preloaded: Rancher cordons before Harvester's pre-drain hook,
 * and Harvester's evictions come in the draining states, where they are waived too).
 */
function harvesterDrainCovering(model: AuditModel, node: string, finding: Finding, { kinds, writers }: Honoring, step: HarvesterStep): string | undefined {
  return (
    honoredWhere(harvesterDrainOverride(model, node, kinds, step), finding, writers) ??
    honoredWhere(harvesterUpgradeSkip(model, node, undefined, kinds, step), finding, writers)
  );
}

/**
 * The advice for data on a node that no longer exists: nothing volume-guard judges can lose it now, it is lost already
 * or waits on that machine's disks.
 */
function goneNodeFix(node: string, finding: Finding, machine?: string): string {
  const what = finding.object.kind === 'PersistentVolume' ? 'delete the PV (and its claim)' : `delete the ${finding.object.kind} that still points at it`;
  const waiting = machine === undefined ? '' : ` (Machine ${machine}'s DELETE is refused while it is there)`;
  return (
    `node ${node} no longer exists: if its machine and disks are gone, the data is lost: ${what} so nothing waits for it${waiting}; ` +
    `if the machine is still there, bring it back as node ${node} (same name) to reach the data`
  );
}

function toAuditFinding(
  { finding, operation, stranded }: Placed,
  accepted: string | undefined,
  warnMode: boolean,
  commands: SkipCommands,
  soleLonghornNode: string | undefined,
): AuditFinding {
  const gone = operation.kind === 'gone';
  // No operation is refused for it (refusable): a warning, failing the exit code only with --strict.
  const unrefused = gone || (operation.kind === 'harvester-upgrade' && !operation.policed);
  return {
    check: finding.check,
    severity: unrefused ? 'warning' : finding.severity,
    object: finding.object,
    reason: finding.reason,
    tags: gone ? [...finding.tags, NODE_GONE_TAG] : finding.tags,
    related: finding.related ?? [],
    operation: describeOperation(operation),
    fix: gone
      ? goneNodeFix(operation.node, finding)
      : operation.kind === 'removal' && operation.machine !== undefined
        ? goneNodeFix(operation.node, finding, operation.machine)
        : stranded !== undefined
          ? goneNodeFix(stranded.node, finding, stranded.machine)
          : ((soleLonghornNode === undefined ? undefined : soleLonghornNodeFix(finding, soleLonghornNode)) ?? findingFix(finding)),
    override: overrideCommand(finding, operation, commands),
    ...(accepted !== undefined ? { overriddenBy: accepted } : {}),
    ...(warnMode ? { mode: 'warn' as const } : {}),
  };
}

/** The cluster's one Longhorn node, in any state; undefined with none or several (the fixes then stand as they are). */
function onlyLonghornNodeName(model: AuditModel): string | undefined {
  let only: string | undefined;
  for (const longhorn of model.longhornNodes()) {
    if (only !== undefined) return undefined;
    only = longhorn.name;
  }
  return only;
}

const SEVERITY_RANK = { critical: 0, warning: 1 } as const;

/** Check order, critical first, then node, namespace, name, kind, operation: the same report for the same model. */
export function compareFindings(a: AuditFinding, b: AuditFinding): number {
  return (
    CHECK_IDS.indexOf(a.check) - CHECK_IDS.indexOf(b.check) ||
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
    compareText(a.object.node ?? '', b.object.node ?? '') ||
    compareText(a.object.namespace ?? '', b.object.namespace ?? '') ||
    compareText(a.object.name, b.object.name) ||
    compareText(a.object.kind, b.object.kind) ||
    compareText(a.operation, b.operation)
  );
}

/**
 * What the operations on one node hit, the findings Longhorn's node-drain-policy takes care of in a drain, and the
 * note for the PVs a Harvester upgrade draining the node keeps through its reboot.
 */
interface NodeAudit {
  readonly placed: Placed[];
  readonly moved: Finding[];
  readonly notes: string[];
}

/**
 * One finding's identity across plans run on other targets (a cordon, a removal): the whole finding, not only its
 * object. One object can have two findings of one check (a StatefulSet pod's emptyDir warning at the cordon, its
 * hostPath data lost at the removal): only the same finding found again is the same.
 */
function findingKey(finding: Finding): string {
  const { check, severity, object, reason, tags } = finding;
  return JSON.stringify([check, severity, object.kind, object.namespace ?? '', object.name, object.node ?? '', reason, tags]);
}

/**
 * What the operations on `node` hit, each finding under the operation the webhook refuses for it:
 * - its cordon, as the node-cordon validator judges it (node-cordon.ts judgeNodeRemoval): the node plan's checks, the
 *   last copies Longhorn's node-drain-policy moves away in a drain left out (a note), and, under an autoscaler's drain
 *   taint, judged as the node's removal;
 * - on a node whose Cluster API Machine is being deleted, what the drain's evictions are refused for beyond the cordon
 *   (the eviction validator judges them as the node's removal: ClusterSnapshot.nodeLeaving), while the cordon is not;
 * - what removing the node for good adds (a Node or Machine DELETE, a scale-down, an autoscaler): the hostPath data of
 *   pods that would have come back to it, its retained Released node-local PVs, PVs whose claim is being deleted, the
 *   device-backed PVs a Harvester upgrade keeps through its in-place reboot (its drain is not refused for them);
 * - what only a Node DELETE is refused for, which drains nothing: the last copies the drain policy would move.
 * A node with no Node object (named only by replicas or PVs) has nothing to cordon, drain or delete: what its loss
 * takes is reported under operation `gone`.
 */
function nodeOperations(model: AuditModel, node: string, options: PlanOptions, kinds: PolicedKinds | undefined, controlPlaneRead: boolean): NodeAudit {
  if (model.node(node) === undefined) {
    // A Cluster API Machine still naming the node: its DELETE (a MachineHealthCheck remediating NodeNotFound, a
    // scale-down) is judged as the node's removal (machine.ts judgeMachineDelete), whether the Node exists or not.
    const machine = machineNaming(model, node);
    // Its owner's skip is read only for the DELETEs of clusterApi.controlPlaneUsers: none when they are none.
    const owner = machine === undefined || !controlPlaneRead ? undefined : rolloutOwnerTarget({ snapshot: model, kinds }, machine, DELETING_OWNERS);
    const operation: Operation =
      machine === undefined ? { kind: 'gone', node } : { kind: 'removal', node, machine: `${machine.namespace}/${machine.name}`, ...(owner ? { owner } : {}) };
    const placed = planFindings(PLANS['node-delete'], model, { node, removed: true }, options).map((finding) => ({ finding, operation }));
    return { placed, moved: [], notes: [] };
  }
  // An autoscaler's drain taint: the cordon itself is judged as the node's removal (node-cordon.ts). A Machine being
  // deleted: the cordon is not, the drain's evictions are (eviction.ts), and so is the Node DELETE that ends it.
  const autoscaler = model.node(node)?.leaving === true;
  const machine = !autoscaler && model.nodeLeaving(node) !== undefined;
  const leaving = autoscaler || machine;
  const found = planFindings(PLANS['node-cordon'], model, autoscaler ? { node, removed: true } : { node }, options);
  const moved = movedByDrainPolicy(model, node, found, { cordoned: true });
  // A Harvester upgrade draining the node reboots it in place: its cordon and drain are not refused for the
  // device-backed PVs pinned to it (longhorn-drain.ts withoutDataKeptInPlace), which a note says instead. From its
  // cordon on, which Rancher makes before Harvester's pre-drain hook (HarvesterStep).
  const upgrade = leaving ? undefined : harvesterUpgradeInPlace(model, node, kinds, 'cordon');
  const kept = upgrade === undefined ? [] : found.filter((finding) => keptOnNodeThroughReboot(model, finding));
  const notes =
    upgrade === undefined || kept.length === 0
      ? []
      : [
          `${upgradeName(upgrade)} upgrades node ${node} in place: ${plural(kept.length, 'node-local PV', 'node-local PVs')} ` +
            `(${fewNamed(kept.map((finding) => finding.object.name))}) ${kept.length === 1 ? 'stays' : 'stay'} on its disks, ` +
            `so its cordon and drain are not refused for ${kept.length === 1 ? 'it' : 'them'}; its removal (a Node or Machine DELETE) would lose ${kept.length === 1 ? 'it' : 'them'}`,
        ];
  const cordon: Operation = { kind: 'cordon', node };
  const placed: Placed[] = found.filter((finding) => !moved.includes(finding) && !kept.includes(finding)).map((finding) => ({ finding, operation: cordon }));
  // What the upgrade keeps through its reboot is not kept through the node's removal: listed there.
  const known = new Set(found.filter((finding) => !kept.includes(finding)).map(findingKey));
  if (machine) {
    const drain: Operation = { kind: 'machine-drain', node };
    for (const finding of planFindings(PLANS['node-cordon'], model, { node, removed: true }, options)) {
      if (!known.has(findingKey(finding))) {
        known.add(findingKey(finding));
        placed.push({ finding, operation: drain });
      }
    }
  }
  // A Node DELETE drains nothing: Longhorn's drain policy moves no copy first (node-cordon.ts drainPolicy).
  const deletion: Operation = { kind: 'node-delete', node };
  for (const finding of moved) placed.push({ finding, operation: deletion });
  if (!autoscaler) {
    const removal: Operation = { kind: 'removal', node };
    for (const finding of planFindings(PLANS['node-delete'], model, { node, removed: true }, options, ['node-local-volume'])) {
      if (!known.has(findingKey(finding))) placed.push({ finding, operation: removal });
    }
  }
  return { placed, moved, notes };
}

/** What judging a node's refusals as `audit --node` needs: the configuration's settings, and the time overrides are judged at. */
export interface NodeRefusalInput {
  readonly nodeLocal?: NodeLocalOptions;
  readonly upgradeKinds?: PolicedKinds;
  readonly writers?: OverrideWriters;
  /** Epoch ms. */
  readonly now: number;
}

/**
 * Per check, the critical findings `audit --node` lists under the node's cordon, and the drain of a node whose Cluster
 * API Machine is being deleted (nodeExitOperations), that no override accepts: what its cordon or drain is refused
 * for now. Checks in any mode (the caller reads the modes). 0 for a node with no Node object (nothing
 * to cordon or drain). The risk gauges read it for the nodes an upgrade or a Machine's owner carries overrides to.
 */
export function refusedOnNode(model: AuditModel, node: string, input: NodeRefusalInput): Record<CheckId, number> {
  const refused = zeroByCheck();
  if (model.node(node) === undefined) return refused;
  const honoring: Honoring = { kinds: input.upgradeKinds, writers: input.writers ?? defaultOverrideWriters(), now: input.now };
  const { placed } = nodeOperations(model, node, { nodeLocal: input.nodeLocal ?? DEFAULT_NODE_LOCAL_OPTIONS }, input.upgradeKinds, false);
  for (const { finding, operation } of placed) {
    if (operation.kind !== 'cordon' && operation.kind !== 'machine-drain') continue;
    if (finding.severity === 'critical' && overriddenBy(model, finding, operation, honoring) === undefined) refused[finding.check] += 1;
  }
  return refused;
}

/**
 * The first (by namespace/name) Cluster API Machine not being deleted that names `node` in status.nodeRef: its DELETE
 * is still to be judged. One being deleted was judged already (its DELETE passed, or the webhook was not asked).
 */
function machineNaming(model: AuditModel, node: string): MachineRecord | undefined {
  const named: MachineRecord[] = [];
  for (const machine of model.records('machine')) if (machine.nodeName === node && !machine.deleting) named.push(machine);
  return named.sort((a, b) => compareText(a.namespace, b.namespace) || compareText(a.name, b.name))[0];
}

/** The note for last copies Longhorn moves off a drained node (the webhook's warning): not refused by a cordon or drain. */
function drainPolicyNote(model: AuditModel, moved: readonly Finding[], where: string): string[] {
  if (moved.length === 0) return [];
  const volumes = new Set(moved.map((finding) => finding.object.name)).size;
  const policy = model.longhornSetting(NODE_DRAIN_POLICY)?.value ?? '';
  const many = `${volumes} Longhorn volume${volumes === 1 ? '' : 's'} on ${where}`;
  // The policy itself evicts, or the admin requested an eviction on those nodes or disks (the policy holds the drain).
  const how = drainEvictsReplicas(model)
    ? `Longhorn's node-drain-policy ${policy} moves the only copy of ${many} to other nodes before a drain completes`
    : `Longhorn evicts the only copy of ${many} (evictionRequested on its Longhorn node or disk) and its node-drain-policy ${policy} holds a drain until they are rebuilt on other nodes`;
  return [
    `${how}: ` +
      `a cordon or drain is not refused for ${volumes === 1 ? 'it' : 'them'} (keep kubectl drain's evictions on); a Node DELETE drains nothing and would lose ${volumes === 1 ? 'it' : 'them'}`,
  ];
}

/**
 * The whole cluster: what an upgrade hits (its plan, cluster-wide), what each Cluster API rollout adds on the nodes it
 * replaces (rolloutFindings), plus what cordoning or removing each node would hit, as `--node` reports it (the node plan, every check of it): a finding that blocks the upgrade and the cordons of
 * the nodes holding its copies is listed under each, each with the override of its operation. A numberOfReplicas-1
 * volume that never held data (NO_DATA_TAG) blocks Harvester's upgrades only (upgrade.ts upgradeJudgement
 * heldDataOnly): refused when a Harvester kind is in `upgrades.kinds`. A node with no Node object and no Machine naming
 * it blocks no operation: what its loss takes is listed for it as `--node` lists it, and an upgrade finding about a
 * volume whose data is only on such nodes gets their fix.
 */
function clusterFindings(
  model: AuditModel,
  nodes: readonly string[],
  options: PlanOptions,
  notes: string[],
  kinds: PolicedKinds | undefined,
  controlPlaneRead: boolean,
): Placed[] {
  const upgrade: Operation = { kind: 'upgrade' };
  const harvester: Operation = { kind: 'harvester-upgrade', policed: kinds === undefined || kinds.some(({ group, kind }) => isHarvesterUpgradeKind(group, kind)) };
  const upgrades: Placed[] = planFindings(PLANS.upgrade, model, {}, options).map((finding) => ({
    finding,
    operation: finding.check === 'single-replica' && finding.tags.includes(NO_DATA_TAG) ? harvester : upgrade,
  }));
  const placed: Placed[] = [];
  const moved: Finding[] = [];
  let movedNodes = 0;
  for (const node of nodes) {
    const audit = nodeOperations(model, node, options, kinds, controlPlaneRead);
    placed.push(...audit.placed);
    notes.push(...audit.notes);
    moved.push(...audit.moved);
    if (audit.moved.length > 0) movedNodes += 1;
  }
  notes.push(...drainPolicyNote(model, moved, movedNodes === 1 ? 'one node' : `${movedNodes} nodes`));
  // The Longhorn volumes whose data only nodes without a Node object hold: the first such node, by name.
  const stranded = new Map<string, { node: string; machine?: string }>();
  for (const { finding, operation } of placed) {
    if (finding.object.kind !== 'Volume' || stranded.has(finding.object.name)) continue;
    if (operation.kind === 'gone') stranded.set(finding.object.name, { node: operation.node });
    else if (operation.kind === 'removal' && operation.machine !== undefined) stranded.set(finding.object.name, { node: operation.node, machine: operation.machine });
  }
  const fitted = upgrades.map((entry) => {
    const where = entry.finding.object.kind === 'Volume' ? stranded.get(entry.finding.object.name) : undefined;
    return where === undefined ? entry : { ...entry, stranded: where };
  });
  return [...fitted, ...rolloutFindings(model, options, kinds), ...placed];
}

const ROLLOUT_OWNER_RECORDS = { MachineDeployment: 'machineDeployment', KubeadmControlPlane: 'kubeadmControlPlane' } as const satisfies Record<RolloutOwnerKind, ResourceKind>;

/**
 * What the rollout of each MachineDeployment and KubeadmControlPlane of a kind in `upgrades.kinds` is refused for
 * beyond the upgrade's cluster-wide findings: the node-local data on the nodes of its Machines, which the rollout
 * replaces with their disks, as the upgrade webhook judges it (upgrade.ts upgradedNodes, target `replaced`). Its
 * single-replica and volume-health findings are among those listed under `upgrade`: not listed again per object.
 */
function rolloutFindings(model: AuditModel, options: PlanOptions, kinds: PolicedKinds | undefined): Placed[] {
  const placed: Placed[] = [];
  for (const owner of Object.keys(ROLLOUT_OWNER_RECORDS) as RolloutOwnerKind[]) {
    if (!rolloutOwnerPoliced(owner, kinds)) continue;
    for (const { namespace, name } of model.records(ROLLOUT_OWNER_RECORDS[owner])) {
      const nodes = rolloutOwnerNodes(model, namespace, owner, name);
      if (nodes.length === 0) continue;
      const operation: Operation = { kind: 'rollout', owner, namespace, name };
      // A PV whose affinity allows several of its nodes is found at each: listed once.
      const known = new Set<string>();
      for (const finding of planFindings(PLANS.upgrade, model, { nodes, replaced: true }, options, ['node-local-volume'])) {
        const key = findingKey(finding);
        if (known.has(key)) continue;
        known.add(key);
        placed.push({ finding, operation });
      }
    }
  }
  return placed;
}

/**
 * The tag of a release finding whose release has no record in its namespace: a plain `helm uninstall` deleted them all
 * (seed 000), or they are kept elsewhere (Flux's helm-controller, storageNamespace), or the label is another tool's.
 */
export const NO_RELEASE_RECORD_TAG = 'no-release-record';

/**
 * The releases PVCs are labelled for (`app.kubernetes.io/instance`, `release`: the labels orphan-pvc reads), or
 * annotated for by Helm and kept by `helm.sh/resource-policy`, that are not installed, each audited as `--release`
 * audits it: what installing it again would hit (seed 000), with the severity `--release` and the webhook give it.
 * One with no record at all is judged the same: plain `helm uninstall` deletes every record, exactly seed 000 (tag
 * no-release-record). Only the claims a live StatefulSet still uses, and those of its release-labelled rule or kept
 * by the policy that a live pod mounts, are left out for it (an Argo CD application's: it sets
 * app.kubernetes.io/instance too; a release whose records are kept elsewhere); seed 000's leftover is mounted by nothing.
 */
function releasesNotInstalled(model: AuditModel, records: NonNullable<AuditInput['releaseRecords']>, notes: string[]): Placed[] {
  const key = (namespace: string, name: string): string => `${namespace}\u0000${name}`;
  const known = new Map(records.map((record) => [key(record.namespace, record.name), record.revisions]));
  const labelled = new Map<string, { namespace: string; name: string }>();
  for (const claim of model.records('persistentVolumeClaim')) {
    for (const label of RELEASE_LABELS) {
      const name = claim.labels[label];
      if (name !== undefined && name !== '') labelled.set(key(claim.namespace, name), { namespace: claim.namespace, name });
    }
    // One Helm created for a release and its resource policy kept: the release its annotations name.
    const name = claim.annotations[HELM_RELEASE_NAME_ANNOTATION];
    if (name !== undefined && name !== '' && claim.annotations[HELM_RESOURCE_POLICY_ANNOTATION] !== undefined) {
      const namespace = claim.annotations[HELM_RELEASE_NAMESPACE_ANNOTATION] || claim.namespace;
      labelled.set(key(namespace, name), { namespace, name });
    }
  }
  const releases = [...labelled.values()].sort((a, b) => compareText(a.namespace, b.namespace) || compareText(a.name, b.name));
  const placed: Placed[] = [];
  for (const { namespace, name } of releases) {
    const revisions = known.get(key(namespace, name));
    const state = releaseState(revisions ?? []);
    if (state.installed) continue;
    const operation: Operation = { kind: 'release', namespace, name };
    const audit = releaseFindings(model, namespace, name, state);
    notes.push(...audit.notes);
    let unrecorded = 0;
    for (const finding of audit.findings) {
      if (revisions !== undefined) placed.push({ finding, operation });
      // Without a record, PVCs something live still claims or mounts are no leftover of a release (an Argo CD
      // application's: the label is its tracking label).
      else if (!finding.tags.includes('left-behind') && !mountedReleaseLabelled(model, finding) && !mountedKept(model, finding)) {
        placed.push({ finding: { ...finding, tags: [...finding.tags, NO_RELEASE_RECORD_TAG] }, operation });
        unrecorded += 1;
      }
    }
    // Said once per release: its findings read like an uninstalled release's, and the reader should know it may not be.
    if (unrecorded > 0) notes.push(noRecordNote(namespace, name));
  }
  return placed;
}

/**
 * A finding about a PVC Helm created for the release and its resource policy keeps, which a live pod mounts: with no
 * record of the release seen, it may be installed with its records kept elsewhere (Flux storageNamespace), using it.
 */
function mountedKept(model: AuditModel, finding: Finding): boolean {
  return (
    finding.object.kind === 'PersistentVolumeClaim' &&
    finding.tags.includes(KEPT_BY_POLICY_TAG) &&
    mountedByLivePod(model, { namespace: finding.object.namespace ?? '', name: finding.object.name })
  );
}

/** The note for a release PVCs are labelled for with no Helm record in its namespace (NO_RELEASE_RECORD_TAG). */
export function noRecordNote(namespace: string, name: string): string {
  return (
    `no Helm record of ${namespace}/${name}: plain \`helm uninstall\` removed its records, or they are kept elsewhere ` +
    `(Flux storageNamespace), or the label is another tool's (Argo CD)`
  );
}

function objectCounts(model: AuditModel): Record<ResourceKind, number> {
  const counts = {} as Record<ResourceKind, number>;
  for (const kind of RESOURCE_KINDS) counts[kind] = model.count(kind);
  return counts;
}

/** The totals: one per finding (audit/v1's fields), and in `distinct` each risk once, however many operations it blocks. */
function summarize(findings: readonly AuditFinding[], overrides: number): AuditSummary {
  const byCheck = zeroByCheck();
  let critical = 0;
  let overridden = 0;
  for (const finding of findings) {
    byCheck[finding.check] += 1;
    if (finding.severity === 'critical') critical += 1;
    if (finding.overriddenBy !== undefined) overridden += 1;
  }
  return { risks: findings.length, critical, warning: findings.length - critical, overridden, byCheck, overrides, distinct: distinctCounts(findings) };
}

function distinctCounts(findings: readonly AuditFinding[]): AuditDistinctCounts {
  const byCheck = zeroByCheck();
  const risks = risksOf(findings);
  let critical = 0;
  let overridden = 0;
  for (const risk of risks) {
    byCheck[risk.finding.check] += 1;
    if (risk.finding.severity === 'critical') critical += 1;
    if (acceptedEverywhere(risk)) overridden += 1;
  }
  return { risks: risks.length, critical, warning: risks.length - critical, overridden, byCheck };
}

function zeroByCheck(): Record<CheckId, number> {
  const byCheck = {} as Record<CheckId, number>;
  for (const id of CHECK_IDS) byCheck[id] = 0;
  return byCheck;
}

export function buildAuditReport(input: AuditInput): AuditReport {
  const { model, scope } = input;
  const options: PlanOptions = { nodeLocal: input.nodeLocal ?? DEFAULT_NODE_LOCAL_OPTIONS };
  const controlPlaneRead = (input.clusterApi?.controlPlaneUsers ?? defaultControlPlaneUsers()).length > 0;
  const notes: string[] = [];
  let placed: Placed[];
  let scopeSummary: AuditScopeSummary;
  switch (scope.kind) {
    case 'cluster': {
      const nodes = auditedNodes(model);
      placed = clusterFindings(model, nodes, options, notes, input.upgradeKinds, controlPlaneRead);
      scopeSummary = { kind: 'cluster', nodes: nodes.length };
      if (input.releaseRecords === undefined) {
        notes.push('orphan-pvc is checked per Helm release: run `volume-guard audit --release NAMESPACE/NAME` before re-installing one');
      } else {
        placed.push(...releasesNotInstalled(model, input.releaseRecords, notes));
      }
      break;
    }
    case 'node': {
      const audit = nodeOperations(model, scope.node, options, input.upgradeKinds, controlPlaneRead);
      placed = audit.placed;
      notes.push(...drainPolicyNote(model, audit.moved, `node ${scope.node}`), ...audit.notes);
      scopeSummary = { kind: 'node', node: scope.node, ...(model.node(scope.node) === undefined ? { withoutNodeObject: true as const } : {}) };
      break;
    }
    case 'release': {
      const state = releaseState(scope.revisions);
      const operation: Operation = { kind: 'release', namespace: scope.namespace, name: scope.name };
      const audit = releaseFindings(model, scope.namespace, scope.name, state);
      placed = audit.findings.map((finding) => ({ finding, operation }));
      notes.push(...audit.notes);
      scopeSummary = {
        kind: 'release',
        namespace: scope.namespace,
        name: scope.name,
        installed: state.installed,
        ...(state.revision !== undefined ? { revision: state.revision } : {}),
        ...(state.status !== undefined ? { status: state.status } : {}),
      };
      break;
    }
  }
  const modes = input.modes ?? {};
  const generated = Date.parse(input.generatedAt);
  // Overrides are judged at the report's time, as it says (an unreadable one: now).
  const now = Number.isNaN(generated) ? Date.now() : generated;
  const honoring: Honoring = { kinds: input.upgradeKinds, writers: input.writers ?? defaultOverrideWriters(), now };
  const judged = placed
    .filter((entry) => modes[entry.finding.check] !== 'off')
    .map((entry) => ({ entry, accepted: overriddenBy(model, entry.finding, entry.operation, honoring), warn: modes[entry.finding.check] === 'warn' }));
  // The checks refused per object a skip command annotates: each command names them all.
  const refused = new Map<string, Set<CheckId>>();
  for (const { entry, accepted, warn } of judged) {
    const target = skipTargetOf(entry.operation);
    if (target === undefined || accepted !== undefined || warn) continue;
    const key = targetKey(target);
    refused.set(key, (refused.get(key) ?? new Set()).add(entry.finding.check));
  }
  const commands: SkipCommands = {
    refused,
    stored: (resource, name, namespace) => ANNOTATED_KINDS[resource]?.stored(model, name, namespace),
    now,
    writers: honoring.writers,
  };
  const soleLonghornNode = onlyLonghornNodeName(model);
  const reported = judged.map(({ entry, accepted, warn }) => ({ entry, audited: toAuditFinding(entry, accepted, warn, commands, soleLonghornNode) }));
  const unaccepted = reported.filter(({ audited }) => audited.overriddenBy === undefined).map(({ entry }) => entry);
  notes.push(...namespaceEvictionSkipNotes(model, unaccepted, honoring.writers, now));
  if (scope.kind === 'node') notes.push(...removalNote(model, scope.node, reported.map(({ entry }) => entry)));
  if (!model.longhornInstalled && scope.kind !== 'release') {
    notes.push('Longhorn is not installed: single-replica, volume-health and last-replica-on-node had nothing to check');
  }
  notes.push(...(input.notes ?? []));

  const off = CHECK_IDS.filter((id) => modes[id] === 'off');
  if (off.length > 0) notes.push(`not reported, mode off in the configuration: ${off.join(', ')}`);
  if (input.configFile === undefined) notes.push(DEFAULT_CONFIG_NOTE);
  const findings = reported.map(({ audited }) => audited).sort(compareFindings);
  // One sorted list, the release labels' records among the rest.
  const overrides = [
    ...lingeringOverrides(model, input.upgradeObjects, honoring.writers, now),
    ...(scope.kind === 'release' ? releaseLabelOverrides(scope) : []),
    ...(input.releaseLabels ?? []).flatMap((release) => releaseLabelOverrides(release)),
  ].sort(compareOverrides);
  return {
    apiVersion: AUDIT_API_VERSION,
    generatedAt: input.generatedAt,
    cluster: {
      server: input.cluster.server,
      context: input.cluster.context,
      longhornInstalled: model.longhornInstalled,
      objects: objectCounts(model),
    },
    scope: scopeSummary,
    summary: summarize(findings, overrides.length),
    findings,
    overrides,
    notes,
    config: input.configFile === undefined ? { source: 'default' } : { source: 'file', file: input.configFile },
  };
}

/**
 * The cordon findings of a node already cordoned or being removed that a namespace's honored
 * `volume-guard.io/skip-evictions` waives at the evictions and drain pod DELETEs of its own pods (the eviction
 * validator's `namespace-evictions` place: findings about that namespace's data alone, isDataOfNamespace), one note per
 * node and namespace. A note, not `overriddenBy`: the findings are the cordon's (`--node` reports what the cordon and
 * drain of the node hit, as the node-cordon plan judges it), which reads no namespace's override, and the drain still
 * stops on them at a cordon or taint still to come, at the node's removal, and, while the node is cordoned, at the
 * evictions of other namespaces' pods, which judge every volume on it.
 */
function namespaceEvictionSkipNotes(model: AuditModel, unaccepted: readonly Placed[], writers: OverrideWriters, now: number): string[] {
  const waived = new Map<string, { node: string; namespace: string; where: string; findings: Finding[] }>();
  for (const { finding, operation } of unaccepted) {
    // The drain's own findings on a node whose Machine is being deleted are judged at these evictions too.
    if (operation.kind !== 'cordon' && operation.kind !== 'machine-drain') continue;
    const { node } = operation;
    const cordonedOrLeaving = model.node(node)?.unschedulable === true || model.node(node)?.leaving === true || model.nodeLeaving(node) !== undefined;
    const [namespace, ...others] = dataNamespaces(finding);
    if (!cordonedOrLeaving || namespace === undefined || others.length > 0) continue;
    const source = skipFrom(`annotation ${SKIP_EVICTIONS_KEY} on Namespace ${namespace}`, model.namespace(namespace)?.annotations, undefined, { key: SKIP_EVICTIONS_KEY, now });
    const where = source === undefined ? undefined : honoredWhere({ ...source, namespace }, finding, writers);
    if (where === undefined) continue;
    const key = `${node}\u0000${namespace}`;
    const entry = waived.get(key) ?? { node, namespace, where, findings: [] };
    entry.findings.push(finding);
    waived.set(key, entry);
  }
  return [...waived.values()].map(({ node, namespace, where, findings }) => {
    const checks = CHECK_IDS.filter((check) => findings.some((finding) => finding.check === check));
    const objects = [...new Set(findings.map((finding) => finding.object.name))].sort(compareText);
    return (
      `${plural(findings.length, 'finding', 'findings')} of node ${node} about namespace ${namespace}'s data (${checks.join(', ')}: ${fewNamed(objects)}) ` +
      `${findings.length === 1 ? 'passes' : 'pass'} at the evictions and drain pod deletes of ${namespace}'s pods (${where}); ` +
      `not at a cordon or taint of the node, its removal, or the evictions of other namespaces' pods while it is cordoned`
    );
  });
}

/**
 * With --node: what deleting the node would hit beyond its cordon and drain (operations `removal` and `node-delete`),
 * shown, but not failing the exit code, which says what its cordon and drain hit. A node with no Node object has no
 * cordon or drain: what the DELETE of a Cluster API Machine still naming it is refused for fails the exit code.
 */
function removalNote(model: AuditModel, node: string, placed: readonly Placed[]): string[] {
  const removals = placed.flatMap(({ operation }) => (operation.kind === 'removal' || operation.kind === 'node-delete' ? [operation] : []));
  const removal = removals.length;
  if (removal === 0) return [];
  const machine = removals.find((operation) => operation.kind === 'removal' && operation.machine !== undefined);
  if (model.node(node) === undefined && machine?.kind === 'removal') {
    return [
      `node ${node} has no Node object, so nothing to cordon or drain: ${plural(removal, 'finding', 'findings')} under its removal ` +
        `${removal === 1 ? 'is' : 'are'} what the DELETE of Cluster API Machine ${machine.machine ?? ''} is refused for, and ${removal === 1 ? 'fails' : 'fail'} the exit code`,
    ];
  }
  return [
    `${plural(removal, 'finding', 'findings')} under the removal or Node DELETE of node ${node} ${removal === 1 ? 'is' : 'are'} what deleting the node would hit: ` +
      `its cordon and drain are not refused for ${removal === 1 ? 'it' : 'them'}, so ${removal === 1 ? 'it does' : 'they do'} not fail the exit code (with --strict ${removal === 1 ? 'it does' : 'they do'})`,
  ];
}

/**
 * A `volume-guard.io/skip` release label on the latest revision: Helm copies it into every later revision, where
 * volume-guard does not honor it (it counts only in the revision `volume-guard.io/skip-revision` names). Listed so
 * it can be removed.
 */
function releaseLabelOverrides(scope: { readonly namespace: string; readonly name: string; readonly revisions: readonly ReleaseRevision[] }): LingeringOverride[] {
  let latest: ReleaseRevision | undefined;
  for (const revision of scope.revisions) {
    if (Number.isFinite(revision.version) && (latest === undefined || revision.version > latest.version)) latest = revision;
  }
  const value = latest?.labels?.[SKIP_KEY];
  if (latest === undefined || value === undefined) return [];
  const parsed = parseSkip(value);
  const scopedTo = latest.labels?.['volume-guard.io/skip-revision'];
  return [
    {
      object: { kind: latest.store ?? 'Secret', namespace: scope.namespace, name: `sh.helm.release.v1.${scope.name}.v${latest.version}` },
      field: 'label',
      key: SKIP_KEY,
      value,
      checks: [],
      unknown: [...parsed.unknown],
      effect:
        `lingering: Helm copies it into later revisions, where it is not honored` +
        `${scopedTo !== undefined ? ` (it counted in revision ${scopedTo} only)` : ''}; ` +
        `remove with helm upgrade --labels ${SKIP_KEY}=null,volume-guard.io/skip-revision=null`,
      appliesTo: `the Helm release revision named by volume-guard.io/skip-revision only`,
      reason: latest.labels?.[SKIP_REASON_KEY] ?? '',
      // A release label's writer is whoever ran helm for the revision it counted in; no skip-by is kept for it.
      writer: '',
      until: '',
    },
  ];
}

// Pod eviction: what `kubectl drain` does for every pod, and the real gate of a drain (kubectl prints a refused
// cordon and goes on evicting). Two layers:
// - the evicted pod's own data stays behind on its node (a node-local PV, a Longhorn volume whose only healthy
//   replica is there): refused whatever the node's state, since a drain of a schedulable node looks the same;
// - on an unschedulable node (being drained) every eviction gets the node-wide checks of a cordon, with the
//   node's overrides: the node may have been cordoned before volume-guard saw it, or its override removed since.
// Identities configured as restarters (descheduler, VPA) may evict, from a schedulable node, a pod whose data
// follows it back: a PV pinned to that node (the pod can only come back there) or a Longhorn volume.
import { collectLastReplicaOnNode, longhornVolumesOfClaims } from '../../checks/last-replica-on-node.ts';
import { collectNodeLocalVolume, hasInlineData, nodeLocalOptionsOf } from '../../checks/node-local-volume.ts';
import type { Finding } from '../../checks/types.ts';
import type { PodRecord, ResourceKind } from '../../cluster/records.ts';
import type { Config } from '../../config.ts';
import { CheckResults, decide, describeUser, staleModelDecision, unknownWarnings } from '../context.ts';
import { annotateHint } from '../decide.ts';
import { truncate } from '../messages.ts';
import { applyLonghornDrainPolicy, harvesterDrainOverride, HARVESTER_WAIVED_CHECKS } from '../longhorn-drain.ts';
import { SKIP_EVICTIONS_KEY, skipFrom, type OverrideSource } from '../overrides.ts';
import { allowed, type Decision, type UserInfo, type WebhookDeclaration } from '../types.ts';
import type { ValidationContext, Validator } from '../validator.ts';
import { NODE_CHECK_RESOURCES, runNodeChecks } from './node-cordon.ts';

const declaration: WebhookDeclaration = {
  name: 'pod-eviction.volume-guard.io',
  target: 'pod-eviction',
  rules: [
    { apiGroups: [''], apiVersions: ['v1'], resources: ['pods/eviction'], operations: ['CREATE'], scope: 'Namespaced' },
  ],
  workload: 'pods',
};

/** What the pod-level checks read. */
const POD_DATA_RESOURCES: readonly ResourceKind[] = [
  'node',
  'pod',
  'persistentVolume',
  'persistentVolumeClaim',
  'longhornVolume',
  'longhornReplica',
];

export function isRestartIdentity(user: UserInfo, config: Config): boolean {
  const { restartUsers, restartGroups } = config.evictions;
  return restartUsers.includes(user.username) || user.groups.some((group) => restartGroups.includes(group));
}

/** Data that follows a restarted pod: a PV pinned to the pod's node, or a Longhorn volume reachable from anywhere. */
function followsRestartedPod(finding: Finding): boolean {
  return finding.object.kind === 'PersistentVolume' || finding.check === 'last-replica-on-node';
}

export interface PodRemoval {
  /** `eviction of pod ns/name`, `deletion of pod ns/name`. */
  readonly action: string;
  readonly namespace: string;
  readonly name: string;
  /** What the request says about the pod when the model does not know it (a pod DELETE carries it). */
  readonly pod: PodRecord | undefined;
  readonly user: UserInfo;
  /** Run the node-wide checks when the node is unschedulable (evictions); pod DELETEs judge the pod's own data. */
  readonly nodeWide: boolean;
  /** Evictions by restart identities may pass for data that follows the pod. */
  readonly restartAllowed: boolean;
  /**
   * Through the eviction API, so Longhorn's instance-manager PodDisruptionBudgets (its node-drain-policy) hold the
   * drain while replicas move (issue 12.9). False for a DELETE, which no PodDisruptionBudget sees.
   */
  readonly evicted: boolean;
}

/** Judges a pod leaving its node (an eviction, or a DELETE on a node being drained). */
export function judgePodRemoval(context: ValidationContext, removal: PodRemoval): Decision {
  const { snapshot } = context;
  const pod = removal.pod;
  const node = pod?.nodeName ?? '';
  const nodeRecord = node ? snapshot.node(node) : undefined;
  const draining = nodeRecord?.unschedulable === true;
  // The admin allows a drain on the node (stored, so guarded when written) or on the pod's namespace, with its own
  // key there: a namespace's volume-guard.io/skip is for Helm releases and never waives evictions or pod deletes.
  const overrides: OverrideSource[] = [];
  const nodeSkip = skipFrom(`node ${node}`, nodeRecord?.annotations, undefined, { now: context.now });
  if (nodeSkip) overrides.push(nodeSkip);
  const namespaceSkip = skipFrom(`namespace ${removal.namespace} (${SKIP_EVICTIONS_KEY})`, snapshot.namespace(removal.namespace)?.annotations, undefined, {
    key: SKIP_EVICTIONS_KEY,
    now: context.now,
  });
  if (namespaceSkip) overrides.push(namespaceSkip);
  const warnings = unknownWarnings(`node ${node}`, nodeRecord?.annotations);

  // Staleness matters only for what this answer reads. A known pod's volumes and node never change.
  const nodeWide = removal.nodeWide && draining;
  const dependsOn: ResourceKind[] = ['node'];
  if (!pod) dependsOn.push(...POD_DATA_RESOURCES);
  else if (pod.claimNames.length > 0) dependsOn.push(...POD_DATA_RESOURCES);
  // Inline data (hostPath, emptyDir) is on the pod record itself, and its pinning on the node's labels.
  if (nodeWide) dependsOn.push(...NODE_CHECK_RESOURCES);
  if (overrides.length > 0 || nodeWide) dependsOn.push('namespace');
  // Issue 12.9: Harvester's own drains during an upgrade admitted with skipSingleReplicaDetachedVol.
  const harvester = node ? harvesterDrainOverride(snapshot, node) : undefined;
  if (harvester) overrides.push(harvester);
  if (harvester || nodeWide) dependsOn.push('harvesterUpgrade');
  if (removal.evicted && (nodeWide || pod === undefined || pod.claimNames.length > 0)) dependsOn.push('longhornSetting');
  const stale = staleModelDecision(context, removal.action, overrides, [...new Set(dependsOn)]);
  if (stale) return stale;
  // A pod volume-guard has never seen (with a fresh model) or not bound to a node has no data on a node; on a
  // schedulable node, neither has a pod without claims or inline data.
  if (!pod || node === '') return allowed(warnings);
  if (!nodeWide && pod.claimNames.length === 0 && !hasInlineData(pod)) return allowed(warnings);

  let results: CheckResults;
  if (nodeWide) {
    results = runNodeChecks(context, node, new CheckResults(context, harvester ? HARVESTER_WAIVED_CHECKS : false));
  } else {
    const claims = pod.claimNames.map((name) => ({ namespace: pod.namespace, name }));
    const volumes = longhornVolumesOfClaims(snapshot, pod.namespace, pod.claimNames);
    results = new CheckResults(context, harvester ? HARVESTER_WAIVED_CHECKS : false)
      .run('node-local-volume', (cap) => collectNodeLocalVolume(snapshot, { node, claims, pod }, cap, nodeLocalOptionsOf(context.config)))
      .run('last-replica-on-node', (cap) => collectLastReplicaOnNode(snapshot, { node, volumes }, cap));
  }
  // Issue 12.9: Longhorn's node-drain-policy moving the last copies itself (evictions only).
  const drain = removal.evicted ? applyLonghornDrainPolicy(snapshot, node, results) : { findings: results.findings, totals: results.totals, warnings: [] };
  warnings.push(...drain.warnings);
  let findings: readonly Finding[] = drain.findings;
  let totals = drain.totals;
  const auditAnnotations: Record<string, string> = {};
  if (removal.restartAllowed && !draining && findings.length > 0 && isRestartIdentity(removal.user, context.config)) {
    const following = findings.filter(followsRestartedPod);
    if (following.length > 0) {
      findings = findings.filter((finding) => !followsRestartedPod(finding));
      // A pod has few volumes: these checks ran below their cap, so the findings are complete.
      totals = {};
      warnings.push(
        truncate(
          `volume-guard: ${removal.action} allowed as a restart by ${describeUser(removal.user)}: ` +
            `its data (${following.map((f) => f.object.name).join(', ')}) stays reachable where it comes back`,
        ),
      );
      auditAnnotations['restart-eviction'] = following.map((f) => f.object.name).join(',');
    }
  }
  const decision = decide(context, {
    action: removal.action,
    findings,
    totals,
    overrides,
    overrideHint: annotateHint('node', node),
    warnings,
    situation: { kind: 'eviction', node, namespace: removal.namespace, pod: removal.name },
  });
  if (Object.keys(auditAnnotations).length === 0) return decision;
  return { ...decision, auditAnnotations: { ...decision.auditAnnotations, ...auditAnnotations } };
}

export function podEvictionValidator(_config: Config): Validator {
  return {
    declaration,
    handle(request, context) {
      return judgePodRemoval(context, {
        action: `eviction of pod ${request.namespace}/${request.name}`,
        namespace: request.namespace,
        name: request.name,
        pod: context.snapshot.pod(request.namespace, request.name),
        user: request.userInfo,
        nodeWide: true,
        restartAllowed: true,
        evicted: true,
      });
    },
  };
}

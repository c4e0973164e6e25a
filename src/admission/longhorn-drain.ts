// What the cordon and eviction validators take from the storage system about a drain (issue 12.9):
// - Harvester: once an Upgrade was admitted with skipSingleReplicaDetachedVol "true", the cordons and drains
//   Harvester (through Rancher) performs for it must not be refused for the same detached single-replica volumes,
//   or the upgrade stalls half way. Harvester marks the upgrade `harvesterhci.io/upgradeState: UpgradingNodes` and
//   tracks each node in `status.nodeStatuses[<node>].state`; Rancher cordons and drains a node once Harvester's
//   pre-drain job for it completed (Pre-draining → Pre-drained), and the node stays drained through Post-draining
//   and Waiting Reboot. A cordon or drain of a node in one of those states during such an upgrade is taken as
//   Harvester's, and gets the same waiver the Upgrade got.
// - Longhorn's node-drain-policy: with block-for-eviction (or its last-replica variant) Longhorn moves the replicas
//   off a draining node (its instance-manager PodDisruptionBudget holds the drain until they are rebuilt
//   elsewhere), so a last copy on the node is not lost by the drain: said as a warning, not refused. Longhorn does
//   so only while the Kubernetes Node is cordoned (spec.unschedulable: a drain taint alone, or evictions from a node
//   not cordoned, move nothing) and not down (it cancels evictions from a down node). A strict-local volume's
//   replica is pinned to its node and never moved (longhorn/longhorn#8753): its last copy stays refused.
import type { CheckResults } from './context.ts';
import { collectLastReplicaOnNode } from '../checks/last-replica-on-node.ts';
import { collectSingleReplica } from '../checks/single-replica.ts';
import { drainEvictsReplicas, NODE_DRAIN_POLICY } from '../checks/storage-teardown.ts';
import type { CheckId, Finding } from '../checks/types.ts';
import type { HarvesterUpgradeRecord } from '../cluster/records.ts';
import type { ClusterSnapshot } from '../cluster/snapshot.ts';
import { wrap } from './messages.ts';
import { HARVESTER_SKIP_DETACHED_KEY, type OverrideSource } from './overrides.ts';

/** Harvester's node states from its pre-drain hook to the node's reboot: the node is cordoned and drained. */
export const HARVESTER_DRAINING_NODE_STATES: readonly string[] = ['Pre-draining', 'Pre-drained', 'Post-draining', 'Waiting Reboot'];
export const HARVESTER_UPGRADING_NODES = 'UpgradingNodes';

/** The checks whose detached single-replica findings Harvester's annotation waives on a node it drains. */
export const HARVESTER_WAIVED_CHECKS: readonly CheckId[] = ['single-replica', 'last-replica-on-node'];

/** The running Harvester Upgrade with skipSingleReplicaDetachedVol "true" that is draining `node`, if any. */
export function harvesterUpgradeDraining(snapshot: ClusterSnapshot, node: string): HarvesterUpgradeRecord | undefined {
  for (const upgrade of snapshot.harvesterUpgrades()) {
    if (!upgrade.skipDetached || upgrade.state !== HARVESTER_UPGRADING_NODES) continue;
    const state = upgrade.nodeStates[node];
    if (state !== undefined && HARVESTER_DRAINING_NODE_STATES.includes(state)) return upgrade;
  }
  return undefined;
}

/**
 * The override a cordon or eviction on `node` gets from a Harvester Upgrade draining it: the detached
 * single-replica findings, as the Upgrade itself. The annotation is read from the stored Upgrade (its CREATE went
 * through volume-guard's upgrade webhook).
 */
export function harvesterDrainOverride(snapshot: ClusterSnapshot, node: string): OverrideSource | undefined {
  const upgrade = harvesterUpgradeDraining(snapshot, node);
  if (upgrade === undefined) return undefined;
  return {
    where: `Harvester Upgrade ${upgrade.namespace}/${upgrade.name} (${HARVESTER_SKIP_DETACHED_KEY}, draining node ${node})`,
    checks: [],
    tags: HARVESTER_WAIVED_CHECKS.map((check) => ({ check, tag: 'detached' })),
    reason: 'the Upgrade was admitted with skipSingleReplicaDetachedVol',
  };
}

/** Every finding of the evicted checks that ran (those with findings listed), in the order they ran. */
function everyEvictedFinding(snapshot: ClusterSnapshot, node: string, listed: readonly Finding[]): Finding[] {
  const ran = [...new Set(listed.map((finding) => finding.check))];
  return ran.flatMap((check) =>
    check === 'single-replica' ? collectSingleReplica(snapshot, { node }).findings : collectLastReplicaOnNode(snapshot, { node }).findings,
  );
}

/** The checks whose findings are about a last copy on the node, which Longhorn's eviction policy moves away. */
const EVICTED_CHECKS: readonly CheckId[] = ['single-replica', 'last-replica-on-node'];

export interface DrainAdjusted {
  readonly findings: readonly Finding[];
  readonly totals: Readonly<Partial<Record<CheckId, number>>>;
  readonly warnings: readonly string[];
}

/**
 * With a node-drain-policy that evicts replicas, the last-copy findings of a drain are not refused: Longhorn rebuilds
 * those replicas elsewhere before the drain may finish. They become one warning line per volume (the first few).
 * Everything else (node-local data, unhealthy volumes) stays as found.
 */
/** Whether Longhorn's node-drain-policy moves last copies off `node` in a drain: it evicts, the node is cordoned and up. */
export function drainMovesReplicas(snapshot: ClusterSnapshot, node: string, cordoned: boolean): boolean {
  return cordoned && snapshot.nodeIsUp(node) && drainEvictsReplicas(snapshot);
}

/** A strict-local volume's replica has hardNodeAffinity to its node: Longhorn cannot evict it. */
function pinnedToNode(snapshot: ClusterSnapshot, finding: Finding): boolean {
  return snapshot.longhornVolume(finding.object.name)?.strictLocal === true;
}

/**
 * Of a drain's uncapped findings, those Longhorn's node-drain-policy takes care of (their volumes' last copies are
 * rebuilt elsewhere before the drain completes): what applyLonghornDrainPolicy turns into a warning. For the
 * audit and the risk gauges, which judge a cordon as the webhook does.
 */
export function movedByDrainPolicy(snapshot: ClusterSnapshot, node: string, findings: readonly Finding[], options: { readonly cordoned: boolean }): Finding[] {
  if (!drainMovesReplicas(snapshot, node, options.cordoned)) return [];
  return findings.filter((finding) => EVICTED_CHECKS.includes(finding.check) && !pinnedToNode(snapshot, finding));
}

export function applyLonghornDrainPolicy(
  snapshot: ClusterSnapshot,
  node: string,
  results: CheckResults,
  options: {
    /** Whether the Node is cordoned (spec.unschedulable) once the request is done: Longhorn acts on nothing else. */
    readonly cordoned: boolean;
    /** Whether a volume may be named to the requester (an eviction names none of another namespace); default all. */
    readonly nameable?: (finding: Finding) => boolean;
  },
): DrainAdjusted {
  const nameable = options.nameable ?? (() => true);
  if (!drainMovesReplicas(snapshot, node, options.cordoned)) return { findings: results.findings, totals: results.totals, warnings: [] };
  const policy = snapshot.longhornSetting(NODE_DRAIN_POLICY)?.value ?? '';
  const listed = results.findings.filter((finding) => EVICTED_CHECKS.includes(finding.check));
  if (listed.length === 0) return { findings: results.findings, totals: results.totals, warnings: [] };
  // The checks list a capped number of findings; past the cap, the volumes are named from every finding (walking
  // the node's replicas once is fine here).
  const capped = EVICTED_CHECKS.some((check) => (results.totals[check] ?? 0) > listed.filter((finding) => finding.check === check).length);
  const every = capped ? everyEvictedFinding(snapshot, node, listed) : listed;
  // A strict-local volume's last copy stays: its finding is kept.
  const pinned = (finding: Finding): boolean => pinnedToNode(snapshot, finding);
  const moved = every.filter((finding) => !pinned(finding));
  if (moved.length === 0) return { findings: results.findings, totals: results.totals, warnings: [] };
  const totals: Partial<Record<CheckId, number>> = { ...results.totals };
  for (const check of EVICTED_CHECKS) {
    const staying = every.filter((finding) => finding.check === check && pinned(finding)).length;
    if (staying > 0) totals[check] = staying;
    else delete totals[check];
  }
  // Named by their PVC when they have one: the name operators know.
  const nameOf = (finding: Finding): string => {
    const claim = finding.related?.find((object) => object.kind === 'PersistentVolumeClaim');
    return claim ? `PVC ${claim.namespace ?? ''}/${claim.name}` : `volume ${finding.object.name}`;
  };
  const volumes = [...new Set(moved.filter(nameable).map(nameOf))];
  const hidden = moved.filter((finding) => !nameable(finding)).length;
  const count = volumes.length + hidden;
  const named = volumes.slice(0, 5).join(', ');
  const unnamed = Math.max(0, volumes.length - 5) + hidden;
  const more = unnamed === 0 ? '' : volumes.length === 0 ? `${unnamed} of other namespaces` : ` and ${unnamed} more`;
  return {
    findings: results.findings.filter((finding) => !EVICTED_CHECKS.includes(finding.check) || pinned(finding)),
    totals,
    // Wrapped, not cut: the count of what is not named comes last.
    warnings: [
      ...wrap(`volume-guard: node ${node} holds the only copy of ${count} Longhorn volume(s): ${named}${more};`),
      ...wrap(`Longhorn's node-drain-policy ${policy} moves them to other nodes before the drain completes (keep kubectl drain's evictions on)`),
    ],
  };
}

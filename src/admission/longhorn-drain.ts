// What the cordon and eviction validators take from the storage system about a drain (issue 12.9):
// - Harvester: once an Upgrade (or its upgrade toolkit's UpgradePlan) was admitted with skipSingleReplicaDetachedVol
//   "true", the cordons and drains Harvester (through Rancher) performs for it must not be refused for the same
//   detached single-replica volumes, or the upgrade stalls half way. Harvester marks an Upgrade
//   `harvesterhci.io/upgradeState: UpgradingNodes` and tracks each node in `status.nodeStatuses[<node>].state`; an
//   UpgradePlan says `status.currentPhase: NodeUpgrading` and tracks each node in
//   `status.nodeUpgradeStatuses[<node>].state`. Its pre-drain job taints the node `kubevirt.io/drain:NoSchedule`
//   (KubeVirt migrates the VMs off), Rancher cordons and drains the node once that job completed (Pre-draining →
//   Pre-drained; the toolkit: PreDraining → PreDrained), and the node stays drained through Post-draining and
//   Waiting Reboot (PostDraining, WaitingReboot). A cordon or drain of a node in one of those states during such an
//   upgrade is taken as Harvester's, and gets the same waiver the upgrade got. So is a cordon alone (no taint added) of
//   a node still `Images preloaded` (ImagePreloaded): Rancher's machine drain handler cordons the node first and writes
//   its rke.cattle.io/pre-drain annotation only once the cordon succeeded, and Harvester starts the pre-drain job (the
//   node turns Pre-draining) only once it sees that annotation. A cordon moves no data; the taints and evictions after
//   it come in the draining states. An admin's `volume-guard.io/skip` on that upgrade (policed by the override guard
//   at its creation and at every later write) carries the same way.
// - Longhorn's node-drain-policy: with block-for-eviction (or its last-replica variant) Longhorn moves the replicas
//   off a draining node (its instance-manager PodDisruptionBudget holds the drain until they are rebuilt
//   elsewhere), so a last copy on the node is not lost by the drain: said as a warning, not refused. Longhorn does
//   so only while the Kubernetes Node is cordoned (spec.unschedulable: a drain taint alone, or evictions from a node
//   not cordoned, move nothing) and not down (it cancels evictions from a down node). A strict-local volume's
//   replica is pinned to its node and never moved (longhorn/longhorn#8753): its last copy stays refused. So is the
//   data of a volume with no copy left (failed replicas, a healthy one on a disk gone or not ready): Longhorn evicts
//   by rebuilding from a running healthy replica, and there is none.
// - An eviction the admin requested on the Longhorn node or disk (`spec.evictionRequested`, Longhorn's documented
//   step before removing a node) moves the replicas whatever the policy; under a policy whose PodDisruptionBudget holds
//   a drain while a replica has no healthy copy on another schedulable node (the default block-if-contains-last-replica
//   and the two eviction policies), the drain of a cordoned node completes only once they are rebuilt: a warning too.
// - Longhorn moves a replica by scheduling a new one on another node and rebuilding it there. When its replica
//   scheduler has no other node for it (none Ready, Schedulable, allowScheduling, carrying the volume's nodeSelector
//   tags, with a disk that takes replicas and carries its diskSelector tags), or replica rebuilding is disabled
//   (concurrent-replica-rebuild-per-node-limit 0), the instance-manager PodDisruptionBudget holds the drain until that
//   changes: no data is lost, and the warning says the drain waits.
import { collectLastReplicaOnNode } from '../checks/last-replica-on-node.ts';
import { countCopies, isHealthyReplica } from '../checks/longhorn-health.ts';
import { collectSingleReplica } from '../checks/single-replica.ts';
import { drainEvictsReplicas, NODE_DRAIN_POLICY } from '../checks/storage-teardown.ts';
import type { CheckId, Finding } from '../checks/types.ts';
import type { HarvesterUpgradeRecord, LonghornVolumeRecord } from '../cluster/records.ts';
import type { ClusterSnapshot } from '../cluster/snapshot.ts';
import type { Config } from '../config.ts';
import type { UserInfo } from '../kube.ts';
import { fewNamed, plural, wrap } from './messages.ts';
import { HARVESTER_SKIP_DETACHED_KEY, HARVESTER_UPGRADE_KINDS, SKIP_KEY, skipFrom, type OverrideSource } from './overrides.ts';

/**
 * Per Harvester upgrade kind: the state (Upgrade: label harvesterhci.io/upgradeState; UpgradePlan:
 * status.currentPhase) while its nodes are upgraded, and its node states from the pre-drain hook to the node's
 * reboot, while the node is tainted, cordoned and drained (harvester pkg/controller/master/upgrade; upgrade-toolkit
 * api/v1beta1/upgradeplan_types.go).
 */
export const HARVESTER_DRAINING: Readonly<
  Record<HarvesterUpgradeRecord['kind'], { readonly upgrading: string; readonly nodeStates: readonly string[]; readonly cordonStates: readonly string[] }>
> = {
  Upgrade: { upgrading: 'UpgradingNodes', nodeStates: ['Pre-draining', 'Pre-drained', 'Post-draining', 'Waiting Reboot'], cordonStates: ['Images preloaded'] },
  UpgradePlan: { upgrading: 'NodeUpgrading', nodeStates: ['PreDraining', 'PreDrained', 'PostDraining', 'WaitingReboot'], cordonStates: ['ImagePreloaded'] },
};

/**
 * Which of Harvester's steps on a node is judged: `cordon`, an update that only cordons it (what Rancher's machine
 * drain handler does first, before the pre-drain hook: `cordonStates` count too); `drain`, anything else (a taint,
 * an eviction, a pod delete, a cordon adding a taint, a removal): the draining states only.
 */
export type HarvesterStep = 'cordon' | 'drain';

/** The checks whose detached single-replica findings Harvester's annotation waives on a node it drains. */
export const HARVESTER_WAIVED_CHECKS: readonly CheckId[] = ['single-replica', 'last-replica-on-node'];

/**
 * Whether the Harvester upgrade is draining `node` now: upgrading its nodes, that node between pre-drain and reboot,
 * or, for its cordon, about to be pre-drained (the `cordonStates`: Rancher cordons before Harvester's pre-drain hook).
 * Not UpgradePaused: Harvester pauses a node only once Rancher wrote its pre-drain annotation, after the cordon.
 */
function drains(upgrade: HarvesterUpgradeRecord, node: string, step: HarvesterStep): boolean {
  const draining = HARVESTER_DRAINING[upgrade.kind];
  if (upgrade.state !== draining.upgrading) return false;
  const state = upgrade.nodeStates[node];
  if (state === undefined) return false;
  return draining.nodeStates.includes(state) || (step === 'cordon' && draining.cordonStates.includes(state));
}

/** The kinds whose writes the override guard sees: `upgrades.kinds` of the configuration (its upgrade-kinds rules). */
export type PolicedKinds = readonly { readonly group: string; readonly kind: string }[];

/**
 * Whether volume-guard polices the writes of this upgrade's kind (it is in `upgrades.kinds`): the override guard's
 * rules for upgrade objects are one per configured kind, so on a kind left out of them anyone who may write the
 * object writes its overrides unchecked, `skip-by` included. Such an override counts for nobody (as a
 * MachineDeployment's own skip, machine.ts). Without `kinds` (callers that know no configuration), every kind.
 */
export function harvesterUpgradePoliced(upgrade: HarvesterUpgradeRecord, kinds: PolicedKinds | undefined): boolean {
  if (kinds === undefined) return true;
  const group = HARVESTER_UPGRADE_KINDS.find((known) => known.kind === upgrade.kind)?.group;
  return kinds.some((configured) => configured.group === group && configured.kind === upgrade.kind);
}

/**
 * The running Harvester Upgrade or UpgradePlan with skipSingleReplicaDetachedVol "true" that is draining `node`, if
 * any; for a `cordon`, one about to (HarvesterStep).
 */
export function harvesterUpgradeDraining(snapshot: ClusterSnapshot, node: string, kinds?: PolicedKinds, step: HarvesterStep = 'drain'): HarvesterUpgradeRecord | undefined {
  for (const upgrade of snapshot.harvesterUpgrades()) if (upgrade.skipDetached && drains(upgrade, node, step) && harvesterUpgradePoliced(upgrade, kinds)) return upgrade;
  return undefined;
}

/** `Harvester Upgrade harvester-system/hvst-upgrade-x`, `Harvester UpgradePlan hvst-upgrade-y`. */
export function upgradeName(upgrade: HarvesterUpgradeRecord): string {
  return `Harvester ${upgrade.kind} ${upgrade.namespace ? `${upgrade.namespace}/` : ''}${upgrade.name}`;
}

/**
 * The override a cordon or eviction on `node` gets from a Harvester Upgrade draining it: the detached
 * single-replica findings, as the Upgrade itself. The annotation is read from the stored Upgrade (its CREATE went
 * through volume-guard's upgrade webhook).
 */
export function harvesterDrainOverride(snapshot: ClusterSnapshot, node: string, kinds?: PolicedKinds, step: HarvesterStep = 'drain'): OverrideSource | undefined {
  const upgrade = harvesterUpgradeDraining(snapshot, node, kinds, step);
  if (upgrade === undefined) return undefined;
  return {
    where: `${upgradeName(upgrade)} (${HARVESTER_SKIP_DETACHED_KEY}, draining node ${node})`,
    checks: [],
    tags: HARVESTER_WAIVED_CHECKS.map((check) => ({ check, tag: 'detached' })),
    reason: `the ${upgrade.kind} was admitted with skipSingleReplicaDetachedVol`,
  };
}

/**
 * The checks an Upgrade's skip waives at the drains of its nodes: those it names, and with single-replica also
 * last-replica-on-node (a single copy on the node being drained is what both report there, as for Harvester's
 * annotation).
 */
export function carriedChecks(checks: readonly CheckId[]): CheckId[] {
  const carried = [...checks];
  if (carried.includes('single-replica') && !carried.includes('last-replica-on-node')) carried.push('last-replica-on-node');
  return carried;
}

/**
 * The admin's `volume-guard.io/skip` on a Harvester Upgrade or UpgradePlan draining `node`, carried to that node's
 * cordon, taints, evictions and drain pod deletes while the upgrade drains it (the first such upgrade carrying one), and
 * to its cordon alone just before (HarvesterStep).
 * Read from the stored object: its writes went through the override guard, so it counts with its recorded
 * `skip-by` and until its `skip-until`, as any stored override (whyNotHonored).
 */
export function harvesterUpgradeSkip(snapshot: ClusterSnapshot, node: string, now?: number, kinds?: PolicedKinds, step: HarvesterStep = 'drain'): OverrideSource | undefined {
  for (const upgrade of snapshot.harvesterUpgrades()) {
    if (upgrade.annotations?.[SKIP_KEY] === undefined || !drains(upgrade, node, step) || !harvesterUpgradePoliced(upgrade, kinds)) continue;
    const source = skipFrom(`${upgradeName(upgrade)} (${SKIP_KEY}, draining node ${node})`, upgrade.annotations, undefined, now === undefined ? {} : { now });
    if (source === undefined) continue;
    return { ...source, checks: carriedChecks(source.checks) };
  }
  return undefined;
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

/** Findings and the totals they were counted with (CheckResults, or what an earlier adjustment left). */
export interface FindingsAndTotals {
  readonly findings: readonly Finding[];
  readonly totals: Readonly<Partial<Record<CheckId, number>>>;
}

export interface DrainAdjusted {
  readonly findings: readonly Finding[];
  readonly totals: Readonly<Partial<Record<CheckId, number>>>;
  readonly warnings: readonly string[];
}

/**
 * The node-drain-policy values under which the instance-manager PodDisruptionBudget of a cordoned node holds the drain
 * while a replica there has no healthy replica of its volume on another schedulable node (longhorn-manager's
 * canDeleteInstanceManagerPDB): an eviction requested on the Longhorn node or disk then completes before the drain
 * does. allow-if-replica-is-stopped lets the drain go past stopped replicas (a detached volume's), always-allow past
 * all; an unseen setting is taken as protecting nothing.
 */
const HOLDING_POLICIES: readonly string[] = ['block-if-contains-last-replica', 'block-for-eviction-if-contains-last-replica', 'block-for-eviction'];

/** Whether the admin asked Longhorn to evict replicas off `node` (its Longhorn node, or one of its disks). */
function evictionRequestedOn(snapshot: ClusterSnapshot, node: string): boolean {
  const longhornNode = snapshot.longhornNode(node);
  return longhornNode?.evictionRequested === true || (longhornNode?.evictingDiskUUIDs?.length ?? 0) > 0;
}

/**
 * Whether a requested eviction covers the volume's data on `node`: eviction was requested for the whole Longhorn node,
 * or each of the volume's healthy replicas there sits on a disk whose eviction was requested.
 */
function evictionRequestedFor(snapshot: ClusterSnapshot, node: string, volumeName: string): boolean {
  const longhornNode = snapshot.longhornNode(node);
  if (longhornNode?.evictionRequested === true) return true;
  const disks = longhornNode?.evictingDiskUUIDs;
  if (disks === undefined) return false;
  const there = snapshot.replicasOfVolume(volumeName).filter((replica) => replica.nodeID === node && isHealthyReplica(replica));
  return there.length > 0 && there.every((replica) => disks.includes(replica.diskID));
}

/** Whether the node-drain-policy holds a drain until a requested eviction has rebuilt the node's last copies elsewhere. */
function policyHoldsDrain(snapshot: ClusterSnapshot): boolean {
  return HOLDING_POLICIES.includes(snapshot.longhornSetting(NODE_DRAIN_POLICY)?.value ?? '');
}

/**
 * Whether Longhorn moves last copies off `node` in a drain before the drain completes, for some volume: the node is
 * cordoned (Longhorn's drain policy acts on cordoned nodes only, and only then lifts the instance-manager
 * PodDisruptionBudget) and up (it cancels evictions from a down node), and either its node-drain-policy evicts
 * (block-for-eviction, its last-replica variant) or the admin requested an eviction on the node or a disk of it under
 * a policy that holds the drain until it is done.
 */
export function drainMovesReplicas(snapshot: ClusterSnapshot, node: string, cordoned: boolean): boolean {
  if (!cordoned || !snapshot.nodeIsUp(node)) return false;
  return drainEvictsReplicas(snapshot) || (evictionRequestedOn(snapshot, node) && policyHoldsDrain(snapshot));
}

/** Whether Longhorn moves this finding's volume off `node` before a drain completes (drainMovesReplicas holds). */
function movedOff(snapshot: ClusterSnapshot, node: string, finding: Finding): boolean {
  if (!EVICTED_CHECKS.includes(finding.check) || staysOnNode(snapshot, finding) || longhornSeesAnotherCopy(snapshot, node, finding.object.name)) {
    return false;
  }
  return drainEvictsReplicas(snapshot) || evictionRequestedFor(snapshot, node, finding.object.name);
}

/**
 * Whether longhorn-manager takes a replica of the volume on another node for a healthy one that protects the copy on
 * `node`, though volume-guard counts no copy there (the copy on `node` is a finding: the other one sits on a disk gone
 * or not ready, is being deleted, or its node is being removed). Its ListVolumePDBProtectedHealthyReplicasRO counts a
 * replica with `healthyAt` set and `failedAt` empty on a node not cordoned whose instance manager runs, and asks
 * nothing of its disk or deletion. block-for-eviction-if-contains-last-replica then requests no eviction
 * (shouldEvictReplica: a PDB-protected replica on another node), and the instance-manager PodDisruptionBudget of the
 * drained node is lifted (canDeleteInstanceManagerPDB) under every policy but block-for-eviction, which holds it while
 * any replica is left on the node: the drain completes with the only copy still on it, or before a requested eviction
 * has rebuilt it elsewhere. Its instance manager is taken to run on a node volume-guard sees up.
 */
function longhornSeesAnotherCopy(snapshot: ClusterSnapshot, node: string, volumeName: string): boolean {
  if (snapshot.longhornSetting(NODE_DRAIN_POLICY)?.value === 'block-for-eviction') return false;
  for (const replica of snapshot.replicasOfVolume(volumeName)) {
    if (replica.nodeID === '' || replica.nodeID === node || replica.healthyAt === '' || replica.failedAt !== '') continue;
    // Cordoned, or its cordon just admitted (`kubectl drain a b`): Longhorn counts no copy there.
    if (snapshot.nodeCordoned(replica.nodeID)) continue;
    if (snapshot.nodeIsUp(replica.nodeID)) return true;
  }
  return false;
}

/** Why Longhorn moves the last copies off `node` (drainMovesReplicas holds): its policy, or a requested eviction. */
export function drainMoveReason(snapshot: ClusterSnapshot, node: string): string {
  const policy = snapshot.longhornSetting(NODE_DRAIN_POLICY)?.value ?? '';
  if (drainEvictsReplicas(snapshot)) return `Longhorn's node-drain-policy ${policy} moves them to other nodes before the drain completes`;
  const where = snapshot.longhornNode(node)?.evictionRequested === true ? `Longhorn node ${node}` : `disks of Longhorn node ${node}`;
  return `Longhorn evicts them (evictionRequested on ${where}) and its node-drain-policy ${policy} holds the drain until they are rebuilt on other nodes`;
}

/**
 * Whether Longhorn cannot move the volume's data off the node, whatever its policy: a strict-local volume's replica has
 * hardNodeAffinity to its node (longhorn/longhorn#8753); and a volume with no copy at all (its replicas failed, or its
 * healthy ones sit on disks or nodes that are gone or not ready) has no running healthy replica to rebuild a new one
 * from, which is how Longhorn evicts. The drain then waits on the instance-manager PodDisruptionBudget for good.
 */
function staysOnNode(snapshot: ClusterSnapshot, finding: Finding): boolean {
  const volume = snapshot.longhornVolume(finding.object.name);
  if (volume === undefined) return true;
  if (volume.strictLocal === true) return true;
  return countCopies(snapshot.replicasOfVolume(volume.name), (nodeName, diskID) => snapshot.nodeIsUp(nodeName, diskID), 1) === 0;
}

/**
 * Of a drain's uncapped findings, those Longhorn's node-drain-policy takes care of (their volumes' last copies are
 * rebuilt elsewhere before the drain completes): what applyLonghornDrainPolicy turns into a warning. For the
 * audit and the risk gauges, which judge a cordon as the webhook does.
 */
export function movedByDrainPolicy(snapshot: ClusterSnapshot, node: string, findings: readonly Finding[], options: { readonly cordoned: boolean }): Finding[] {
  if (!drainMovesReplicas(snapshot, node, options.cordoned)) return [];
  return findings.filter((finding) => movedOff(snapshot, node, finding));
}

/** Longhorn's per-node cap on concurrent replica rebuilds; at 0 its volume controller rebuilds no replica at all. */
export const CONCURRENT_REBUILD_LIMIT = 'concurrent-replica-rebuild-per-node-limit';

/** Whether every tag of `wanted` is among `tags` (Longhorn's IsSelectorsInTags). */
function hasTags(tags: readonly string[] | undefined, wanted: readonly string[] | undefined): boolean {
  return (wanted ?? []).every((tag) => tags?.includes(tag) === true);
}

/**
 * Whether Longhorn's replica scheduler could place a new replica of the volume on a Longhorn node other than `node`:
 * one that does not refuse replicas (LonghornNodeRecord.refusesReplicas), carries the volume's nodeSelector tags, and
 * has a disk that takes replicas carrying its diskSelector tags. Anti-affinity, free space and the engine image are
 * not judged, so "no" is said only when no node passes even this; undefined while volume-guard does not know the
 * Longhorn node being drained (its Longhorn nodes unseen).
 */
function hasReplicaDestination(snapshot: ClusterSnapshot, node: string, volume: LonghornVolumeRecord): boolean | undefined {
  if (snapshot.longhornNode(node) === undefined) return undefined;
  for (const other of snapshot.longhornNodes()) {
    if (other.name === node || other.refusesReplicas === true || other.down || !hasTags(other.tags, volume.nodeSelector)) continue;
    if ((volume.diskSelector ?? []).length === 0 || (other.diskTags ?? []).some((tags) => hasTags(tags, volume.diskSelector))) return true;
  }
  return false;
}

/**
 * The warning for the moved volumes Longhorn cannot move now, or none: the drain then waits on the instance-manager
 * PodDisruptionBudget until it can. `names` names a volume, or gives undefined for one of another namespace.
 */
function stuckWarning(snapshot: ClusterSnapshot, node: string, moved: readonly Finding[], names: (finding: Finding) => string | undefined): string[] {
  if (snapshot.longhornSetting(CONCURRENT_REBUILD_LIMIT)?.value.trim() === '0') {
    return wrap(`volume-guard: Longhorn's ${CONCURRENT_REBUILD_LIMIT} is 0, so it rebuilds no replica: the drain waits until it is raised`);
  }
  const stuck = moved.filter((finding) => {
    const volume = snapshot.longhornVolume(finding.object.name);
    return volume !== undefined && hasReplicaDestination(snapshot, node, volume) === false;
  });
  if (stuck.length === 0) return [];
  const named = [...new Set(stuck.flatMap((finding) => names(finding) ?? []))];
  const hidden = new Set(stuck.filter((finding) => names(finding) === undefined).map((finding) => finding.object.name)).size;
  const which = fewNamed(named, hidden, 'volume(s) of other namespaces');
  return wrap(
    `volume-guard: no other Longhorn node can take a replica of ${which} now (none is ready, schedulable ` +
      `and tagged for it, with a disk taking replicas): the drain waits until one can`,
  );
}

export function applyLonghornDrainPolicy(
  snapshot: ClusterSnapshot,
  node: string,
  results: FindingsAndTotals,
  options: {
    /** Whether the Node is cordoned (spec.unschedulable) once the request is done: Longhorn acts on nothing else. */
    readonly cordoned: boolean;
    /** Whether a volume may be named to the requester (an eviction names none of another namespace); default all. */
    readonly nameable?: (finding: Finding) => boolean;
  },
): DrainAdjusted {
  const nameable = options.nameable ?? (() => true);
  if (!drainMovesReplicas(snapshot, node, options.cordoned)) return { findings: results.findings, totals: results.totals, warnings: [] };
  const listed = results.findings.filter((finding) => EVICTED_CHECKS.includes(finding.check));
  if (listed.length === 0) return { findings: results.findings, totals: results.totals, warnings: [] };
  // The checks list a capped number of findings; past the cap, the volumes are named from every finding (walking
  // the node's replicas once is fine here).
  const capped = EVICTED_CHECKS.some((check) => (results.totals[check] ?? 0) > listed.filter((finding) => finding.check === check).length);
  const every = capped ? everyEvictedFinding(snapshot, node, listed) : listed;
  // A strict-local volume's last copy, the data of a volume with no copy, or (a requested eviction) a volume whose
  // replica there is not being evicted, stays: its finding is kept.
  const pinned = (finding: Finding): boolean => !movedOff(snapshot, node, finding);
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
  const stuck = stuckWarning(snapshot, node, moved, (finding) => (nameable(finding) ? nameOf(finding) : undefined));
  // A volume of another namespace is counted once, though both last-copy checks may report it.
  const hidden = new Set(moved.filter((finding) => !nameable(finding)).map((finding) => finding.object.name)).size;
  const count = volumes.length + hidden;
  return {
    findings: results.findings.filter((finding) => !EVICTED_CHECKS.includes(finding.check) || pinned(finding)),
    totals,
    // Wrapped, not cut: the count of what is not named comes last.
    warnings: [
      ...wrap(`volume-guard: node ${node} holds the only copy of ${count} Longhorn volume(s): ${fewNamed(volumes, hidden)};`),
      ...wrap(`${drainMoveReason(snapshot, node)} (keep kubectl drain's evictions on)`),
      ...stuck,
    ],
  };
}

/**
 * The Harvester Upgrade or UpgradePlan (of a kind volume-guard polices) draining `node` now (for a `cordon`, about to:
 * HarvesterStep), whatever its annotations.
 * Harvester upgrades a node in place: it drains it (non-migratable VMs are powered off, restored after the reboot when
 * its upgrade-config restoreVM is on), writes the new OS image and reboots it; the node comes back with its disks and
 * is uncordoned. Undefined for a node being removed (the caller's judgement): nothing comes back then.
 */
export function harvesterUpgradeInPlace(snapshot: ClusterSnapshot, node: string, kinds?: PolicedKinds, step: HarvesterStep = 'drain'): HarvesterUpgradeRecord | undefined {
  for (const upgrade of snapshot.harvesterUpgrades()) if (drains(upgrade, node, step) && harvesterUpgradePoliced(upgrade, kinds)) return upgrade;
  return undefined;
}

/**
 * Node-local CSI drivers that keep each volume on a block device of the node (a logical volume, a ZFS dataset, a
 * whole disk, persistent memory), which an in-place upgrade leaves alone and the driver stages again after the reboot.
 * A directory on the host's filesystem (a hostPath or `local` PV, local-path, the hostpath and rawfile CSI drivers)
 * is not among them: Harvester's OS is immutable, and outside its persistent paths what was written under /var, /etc
 * or /srv is gone after a reboot, as is a mount an admin made by hand.
 */
export const DEVICE_BACKED_DRIVERS: readonly string[] = [
  'lvm.driver.harvesterhci.io',
  'topolvm.io',
  'topolvm.cybozu.com',
  'local.csi.openebs.io',
  'zfs.csi.openebs.io',
  'device.csi.openebs.io',
  'lvm.csi.metal-stack.io',
  'directpv-min-io',
  'carina.storage.io',
  'pmem-csi.intel.com',
  'lvm.hwameistor.io',
  'disk.hwameistor.io',
];

/**
 * A node-local finding whose data stays on the node's disks through an in-place reboot and whose pods can run nowhere
 * else: a PV of a device-backed driver (DEVICE_BACKED_DRIVERS) pinned to the node. Not a PV no affinity pins (its
 * pod may come back elsewhere), nor a pod's inline hostPath or emptyDir. Its pods wait, Pending, for the node.
 */
export function keptOnNodeThroughReboot(snapshot: ClusterSnapshot, finding: Finding): boolean {
  if (finding.check !== 'node-local-volume' || finding.object.kind !== 'PersistentVolume' || finding.tags.includes('unpinned')) return false;
  const pv = snapshot.persistentVolume(finding.object.name);
  return pv !== undefined && pv.source === 'csi' && DEVICE_BACKED_DRIVERS.includes(pv.driver);
}

/**
 * An upgrade or reboot taking a node down and bringing it back with its disks, whose cordon or drain of the node is
 * judged so: a Harvester upgrade draining it (harvesterUpgradeInPlace), a system-upgrade-controller Plan's Job cordoning
 * or draining it as the Job's service account (systemUpgradeInPlace), or a reboot daemon (kured) cordoning or draining
 * it as an identity of `reboots.users`/`reboots.groups` (isRebootIdentity).
 */
export type InPlaceUpgrade =
  | { readonly by: 'harvester'; readonly upgrade: HarvesterUpgradeRecord }
  | { readonly by: 'system-upgrade-controller'; readonly namespace: string; readonly plan: string; readonly image: string }
  | { readonly by: 'reboot'; readonly user: string };

/**
 * Whether the requester is a configured reboot daemon (`reboots.users`, `reboots.groups`: kured's service account).
 * Such a daemon cordons the node (kured: kubectl's drain library, a cordon alone), evicts its pods, reboots it and
 * uncordons it once it is back: its cordon, and its evictions and pod DELETEs on the node once cordoned, are that
 * reboot's steps (the callers' judgement). None by default.
 */
export function isRebootIdentity(user: UserInfo, reboots: Config['reboots']): boolean {
  return reboots.users.includes(user.username) || user.groups.some((group) => reboots.groups.includes(group));
}

const SERVICE_ACCOUNT_USER_PREFIX = 'system:serviceaccount:';

/**
 * The system-upgrade-controller Plan whose Job is upgrading `node`, when `username` is that Job's service account
 * (`system:serviceaccount:<Job's namespace>:<its pod's serviceAccountName>`): the Job's init container runs
 * `kubectl cordon <node>` or `kubectl drain <node>` as it, then replaces the k3s/RKE2 binary (or the OS) and restarts
 * the node in place, its disks kept. A running pod of that Job for `node` must exist (not finished, not being deleted;
 * PodRecord.upgradeJob: shaped as the controller makes it, not merely labelled): the same account cordoning another
 * node, or after its Job ended, is judged as anyone.
 */
export function systemUpgradeInPlace(snapshot: ClusterSnapshot, node: string, username: string): InPlaceUpgrade | undefined {
  if (!username.startsWith(SERVICE_ACCOUNT_USER_PREFIX)) return undefined;
  const parts = username.slice(SERVICE_ACCOUNT_USER_PREFIX.length).split(':');
  if (parts.length !== 2) return undefined;
  const [namespace, account] = parts as [string, string];
  for (const pod of snapshot.upgradeJobPodsFor(node)) {
    const job = pod.upgradeJob;
    if (job !== undefined && pod.controllerKind === 'Job' && pod.namespace === namespace && job.serviceAccount === account) {
      return { by: 'system-upgrade-controller', namespace, plan: job.plan, image: job.image };
    }
  }
  return undefined;
}

/**
 * The in-place upgrade or reboot a cordon or drain of `node` is a step of: a Harvester upgrade draining it (for a
 * `cordon`, about to: HarvesterStep), else, for a requester `username`, the system-upgrade-controller Plan whose Job runs
 * as it, else a reboot by `rebooter` (the requester, when the caller judged the request a reboot daemon's step:
 * isRebootIdentity). Harvester's comes first: on its immutable OS only block devices come back, whoever cordons; a
 * Plan's Job next, whose image says what its reboot keeps. Not for a node being removed (the caller's judgement):
 * nothing comes back then.
 */
export function inPlaceUpgradeOf(
  snapshot: ClusterSnapshot,
  node: string,
  options: { readonly kinds?: PolicedKinds; readonly step?: HarvesterStep; readonly username?: string; readonly rebooter?: string },
): InPlaceUpgrade | undefined {
  const harvester = harvesterUpgradeInPlace(snapshot, node, options.kinds, options.step);
  if (harvester !== undefined) return { by: 'harvester', upgrade: harvester };
  const plan = options.username === undefined ? undefined : systemUpgradeInPlace(snapshot, node, options.username);
  if (plan !== undefined) return plan;
  return options.rebooter === undefined ? undefined : { by: 'reboot', user: options.rebooter };
}

/** `Harvester Upgrade harvester-system/hvst-upgrade-x`, `Plan system-upgrade/k3s-agent`, a reboot daemon's user name. */
export function inPlaceUpgradeName(upgrade: InPlaceUpgrade): string {
  if (upgrade.by === 'harvester') return upgradeName(upgrade.upgrade);
  return upgrade.by === 'reboot' ? upgrade.user : `Plan ${upgrade.namespace}/${upgrade.plan}`;
}

/**
 * The images of system-upgrade-controller upgrades that replace the k3s or RKE2 binary and restart it, the node's OS and
 * filesystems left as they are (the k3s and RKE2 automated-upgrade Plans'): `rancher/k3s-upgrade`, `rancher/rke2-upgrade`.
 */
export const DISTRIBUTION_UPGRADE_IMAGES: readonly string[] = ['rancher/k3s-upgrade', 'rancher/rke2-upgrade'];

/**
 * Whether a system-upgrade-controller Job's upgrade image (`registry.example:5000/rancher/k3s-upgrade:v1.31.4-k3s1`) is
 * one of DISTRIBUTION_UPGRADE_IMAGES, from any registry or mirror path, at any tag or digest.
 */
export function upgradesDistributionOnly(image: string): boolean {
  const at = image.indexOf('@');
  let repository = at === -1 ? image : image.slice(0, at);
  const colon = repository.lastIndexOf(':');
  if (colon > repository.lastIndexOf('/')) repository = repository.slice(0, colon);
  return DISTRIBUTION_UPGRADE_IMAGES.some((name) => repository === name || repository.endsWith(`/${name}`));
}

/**
 * Where k3s keeps its state, its local-path PVs included (`/var/lib/rancher/k3s/storage`): among the persistent paths
 * of the immutable OSes system-upgrade-controller also upgrades with a reboot (Elemental, k3OS, Kairos).
 */
export const RANCHER_STATE_DIRECTORY = '/var/lib/rancher';

/** Whether the normalised `path` is `directory` or under it. */
function isUnder(path: string, directory: string): boolean {
  return path === directory || path.startsWith(`${directory}/`);
}

/**
 * Whether the node-local finding's data is on `node` when the upgrade brings it back, its pods able to run nowhere else
 * meanwhile: for Harvester, keptOnNodeThroughReboot (its immutable OS keeps block devices only). For a reboot daemon's
 * reboot, which boots the same system again, and for a system-upgrade-controller Plan whose Job's image upgrades k3s or
 * RKE2 only (upgradesDistributionOnly), which keeps the node's filesystems: any node-local PV pinned to the node
 * (`local`, a hostPath PV with node affinity such as local-path's, a node-local CSI driver's). For another Plan, an OS
 * image written and rebooted into (Elemental, k3OS, Kairos): a directory PV under /var/lib/rancher (a persistent path
 * there) or a device-backed PV (keptOnNodeThroughReboot); elsewhere, what was written outside the persistent paths is
 * gone after the reboot. Never a PV no affinity pins, nor a pod's inline data (a hostPath its controller recreates
 * elsewhere, a StatefulSet's emptyDir).
 */
export function keptInPlace(snapshot: ClusterSnapshot, upgrade: InPlaceUpgrade, node: string, finding: Finding): boolean {
  if (upgrade.by === 'harvester') return keptOnNodeThroughReboot(snapshot, finding);
  if (finding.check !== 'node-local-volume' || finding.object.kind !== 'PersistentVolume') return false;
  if (finding.tags.includes('unpinned') || finding.tags.includes('node-removed')) return false;
  const pv = snapshot.persistentVolume(finding.object.name);
  if (pv === undefined || pv.pinnedNode !== node) return false;
  if (upgrade.by === 'reboot' || upgradesDistributionOnly(upgrade.image)) return true;
  const directory = pv.source === 'hostPath' || pv.source === 'local' ? pv.hostDirectory : undefined;
  if (directory !== undefined && isUnder(directory, RANCHER_STATE_DIRECTORY)) return true;
  return keptOnNodeThroughReboot(snapshot, finding);
}

/**
 * The findings of a drain made for an in-place upgrade, without the node-local PVs pinned to the node that the upgrade
 * keeps (keptInPlace): said as a warning, about those `concerns` selects (default all; an eviction: the evicted pod's
 * own), named where `nameable` (default all). Every node-local finding must be built (the caller's `unlimited`), so
 * that the total left is exact.
 */
export function withoutDataKeptInPlace(
  snapshot: ClusterSnapshot,
  upgrade: InPlaceUpgrade,
  node: string,
  results: FindingsAndTotals,
  options: { readonly nameable?: (finding: Finding) => boolean; readonly concerns?: (finding: Finding) => boolean } = {},
): DrainAdjusted {
  const kept = results.findings.filter((finding) => keptInPlace(snapshot, upgrade, node, finding));
  if (kept.length === 0) return { findings: results.findings, totals: results.totals, warnings: [] };
  const totals: Partial<Record<CheckId, number>> = { ...results.totals };
  const left = (totals['node-local-volume'] ?? kept.length) - kept.length;
  if (left > 0) totals['node-local-volume'] = left;
  else delete totals['node-local-volume'];
  const findings = results.findings.filter((finding) => !kept.includes(finding));
  const said = options.concerns ? kept.filter(options.concerns) : kept;
  if (said.length === 0) return { findings, totals, warnings: [] };
  const nameable = options.nameable ?? (() => true);
  const named = said.filter(nameable).map((finding) => finding.object.name);
  const one = said.length === 1;
  return {
    findings,
    totals,
    warnings: [
      ...wrap(
        upgrade.by === 'reboot'
          ? `volume-guard: ${upgrade.user} (reboots.users/groups) reboots node ${node} in place:`
          : `volume-guard: ${inPlaceUpgradeName(upgrade)} upgrades node ${node} in place${upgrade.by === 'harvester' ? ' and reboots it' : ''}:`,
      ),
      ...wrap(
        `${plural(said.length, 'node-local PV stays', 'node-local PVs stay')} on its disks (${fewNamed(named, said.length - named.length)}); ` +
          `pods using ${one ? 'it' : 'them'} wait until the node is back`,
      ),
    ],
  };
}

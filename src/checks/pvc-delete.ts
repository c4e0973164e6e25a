// pvc-delete: PVCs deleted by tooling with the data on their volume.
//
//  - dropped-by-upgrade: a Helm upgrade or rollback whose manifest no longer declares a PVC the release created
//    (annotated `meta.helm.sh/release-name` for it, in any namespace), Bound, without `helm.sh/resource-policy: keep` on the live
//    object (what Helm reads before deleting, compared exactly). Helm deletes it once the new revision is applied. Judged at the
//    release record, before Helm touches anything. Likewise the Bound PVCs a StatefulSet it drops owns (retention
//    policy whenDeleted: Delete): the garbage collector deletes them with the StatefulSet (deleted-with-statefulset).
//    A StatefulSet an operator made (a controller owner reference) is not dropped by any upgrade, whatever annotations
//    it copied from its resource (liveStatefulSetsOfRelease); nor is a PVC an operator holds (heldByOperator).
//    Likewise the Bound PVCs of a Namespace the release created (annotated for it) that the manifest no longer
//    declares, not kept by its live object: Helm deletes it, and the namespace controller every PVC in it
//    (deleted-with-namespace).
//  - deleted-by-automation: a DELETE of a Bound PVC whose PV has reclaim policy Delete (the provisioner destroys the
//    volume with it), by a GitOps controller pruning what left its source (judged in the pvc-delete validator).
//  - deleted-with-namespace / deleted-with-statefulset: a DELETE of a namespace holding such PVCs (the namespace
//    controller deletes every PVC in it) or of a StatefulSet owning them (their ownerReferences name its uid, as
//    retention policy whenDeleted: Delete makes them; the garbage collector deletes them). Both delete as themselves: the automation that pruned the Namespace or the
//    StatefulSet is only seen at its DELETE.
//  - deleted-by-scale-down: a StatefulSet UPDATE (or a write of its scale subresource) that leaves existing pods
//    outside its ordinal range (fewer replicas, a new spec.ordinals.start) while its retention policy says
//    whenScaled: Delete: the StatefulSet controller deletes those pods' PVCs (through the garbage collector).
//  - at uninstall (never refused): which templated PVCs Helm is about to delete, and what their reclaim policy does.
//
// A PV with reclaim policy Retain keeps the data after its claim goes (the PV turns Released and can be re-bound
// by hand): nothing is lost, so a drop by an upgrade (dropped-by-upgrade, deleted-with-statefulset) is a warning
// that says where the data stays and how to reuse or free it, as a GitOps prune of the same claim is not reported
// at all. Delete and Recycle (and a PV volume-guard does not know) are refused.
import type { PersistentVolumeClaimRecord, PodRecord, StatefulSetRecord, VolumeSource } from '../cluster/records.ts';
import { ownerGroup, ownerVersion, RESTORED_BY_VELERO_LABEL, splitOwnerType } from '../cluster/records.ts';
import type { ClusterSnapshot } from '../cluster/snapshot.ts';
import type { ManifestStatefulSet, ParsedManifest } from '../helm/manifest.ts';
import type { HelmRelease, ReleaseOperation } from '../helm/release.ts';
import { HELM_RESOURCE_POLICY_ANNOTATION } from '../kube.ts';
import { claimOf, ordinalInRange } from '../helm/claims.ts';
import { claimObject, isPodScratchClaim } from './affected.ts';
import { LONGHORN_CSI_DRIVER } from './last-replica-on-node.ts';
import { deletionLosesNothing } from './longhorn-health.ts';
import { claimReclaimPolicy, liveStatefulSetsOfRelease, ordinalRange, replicaCount, sizeAfterHelm } from './orphan-pvc.ts';
import { stayingOwner } from './owners.ts';
import { effectiveReclaimPolicy, reclaimKeepsData, RECYCLE_WITHOUT_RECYCLER, RECYCLE_WITHOUT_RECYCLER_TAG, recyclerServes } from './reclaim.ts';
import { type CapOptions, type CappedFindings, FindingCollector, NO_CAP } from './collect.ts';
import { isDeleteApproved } from '../override-keys.ts';
import type { AffectedObject, Finding } from './types.ts';

export { DELETE_KEY as DELETE_APPROVED_KEY } from '../override-keys.ts';

/** reclaim-policy-changed of a PV being created with that policy (no earlier one): its advice is a manifest's. */
export const PV_CREATED_TAG = 'pv-created';

/** A finding about a PVC that carries a counting `volume-guard.io/delete: "true"` (waived by that approval). */
export const DELETE_APPROVED_TAG = 'delete-approved';

/** deleted-by-scale-down of an orphaned pod a StatefulSet being created adopts (not one it ran). */
export const ADOPTED_PODS_TAG = 'adopted-pods';

/** deleted-by-scale-down of a write moving spec.ordinals.start: the fix is to keep the start, not only the replicas. */
export const ORDINALS_MOVED_TAG = 'ordinals-moved';

/**
 * Whether an upgrade or rollback that drops this live object leaves it: Helm's kube client compares the live
 * annotation exactly (`Keep` or ` keep` are deleted). Only uninstall trims and lower-cases, and it reads the
 * release's manifest (src/helm/manifest.ts).
 */
export function hasLiveKeepPolicy(annotations: Readonly<Record<string, string>>): boolean {
  return annotations[HELM_RESOURCE_POLICY_ANNOTATION] === 'keep';
}

export function isBound(claim: Pick<PersistentVolumeClaimRecord, 'phase' | 'volumeName'>): boolean {
  return claim.phase === 'Bound' && claim.volumeName !== '';
}

/**
 * For a claim deleted under reclaim policy Retain: its PV keeps the data, Released, until someone reuses or deletes it.
 * The PV controller never binds a Released PV again by itself: its claimRef still names the deleted claim's uid.
 */
export function retainedPvAdvice(volumeName: string): string {
  return (
    `reclaim policy Retain keeps the data on PV ${volumeName}, Released: to reuse it, kubectl patch pv ${volumeName} ` +
    `-p '{"spec":{"claimRef":null}}' and bind a new PVC with spec.volumeName: ${volumeName}; if not needed, kubectl delete pv ${volumeName}, then its disk`
  );
}

/**
 * How grave a claim's deletion is: critical unless its PV keeps the data (Retain, or a Recycle no recycler serves:
 * reclaimKeepsData; an unknown PV is critical).
 */
function droppedSeverity(reclaimPolicy: string): Finding['severity'] {
  return reclaimKeepsData(reclaimPolicy) ? 'warning' : 'critical';
}

/** What deleting the claim does to its volume's data, from the PV's reclaim policy. */
export function reclaimEffect(reclaimPolicy: string): string {
  switch (reclaimPolicy) {
    case 'Delete':
      return 'reclaim policy Delete destroys the volume and its data';
    case 'Retain':
      return 'reclaim policy Retain keeps the data on a Released PV, rebound only by hand';
    case 'Recycle':
      return 'reclaim policy Recycle wipes the data';
    case RECYCLE_WITHOUT_RECYCLER:
      return 'reclaim policy Recycle, but no recycler serves this volume (only hostPath and NFS have one): the PV controller marks the PV Failed and the data stays on it';
    default:
      return 'reclaim policy unknown';
  }
}

/**
 * Held by a controller other than the StatefulSet controller (whose controller references name a StatefulSet or a
 * Pod): an operator made the claim for a resource of its own and copied that resource's annotations onto it, Helm's
 * release annotations included (rabbitmq's cluster-operator gives the claim template of StatefulSet `<name>-server`
 * the RabbitmqCluster's annotations and a controller reference to it). Helm sets no owner references, so no manifest
 * rendered it and no upgrade deletes it. A claim Helm rendered that the StatefulSet controller adopted (a name of its
 * claims, whenDeleted: Delete) is still Helm's to delete when a revision drops it.
 */
function heldByOperator(claim: PersistentVolumeClaimRecord): boolean {
  return claim.ownerReferences.some((owner) => owner.controller === true && owner.kind !== 'StatefulSet' && owner.kind !== 'Pod');
}

export interface DroppedPvcTarget {
  readonly release: HelmRelease;
  readonly operation: ReleaseOperation;
  /**
   * The new revision's manifest, already limited to the release's namespace and the objects elsewhere whose live
   * object is annotated for the release (helm-release.ts, judgedObjects).
   */
  readonly manifest: ParsedManifest;
  /**
   * Epoch ms, for the expiry of the PVCs' delete approvals: a PVC with a counting `volume-guard.io/delete: "true"`
   * is tagged `delete-approved` (waived as at the PVC or StatefulSet DELETE Helm then makes). Omitted: not read.
   */
  readonly now?: number;
}

/** The finding's tags, plus `delete-approved` when the claim carries a counting delete approval at `now`. */
/** The tag naming a dropped claim's PV reclaim policy (`reclaim-delete`, `reclaim-retain`, `reclaim-unknown`). */
function reclaimTag(reclaimPolicy: string): string {
  if (reclaimPolicy === RECYCLE_WITHOUT_RECYCLER) return RECYCLE_WITHOUT_RECYCLER_TAG;
  return `reclaim-${(reclaimPolicy || 'unknown').toLowerCase()}`;
}

function withApproval(tags: string[], claim: PersistentVolumeClaimRecord, now: number | undefined): string[] {
  if (now !== undefined && isDeleteApproved(claim.annotations, now)) tags.push(DELETE_APPROVED_TAG);
  return tags;
}

/** What an upgrade's deletion of the claim does to its data: under Retain, where it stays and what to do with it. */
function droppedEffect(reclaimPolicy: string, volumeName: string): string {
  return reclaimPolicy === 'Retain' ? retainedPvAdvice(volumeName) : reclaimEffect(reclaimPolicy);
}

/**
 * dropped-by-upgrade (and deleted-with-statefulset, deleted-with-namespace) findings for an upgrade or rollback; for an
 * install too, the claims a StatefulSet it adopts deletes as it scales down (deleted-by-scale-down).
 */
export function collectDroppedPvcs(snapshot: ClusterSnapshot, target: DroppedPvcTarget, cap: CapOptions = NO_CAP): CappedFindings {
  const collector = new FindingCollector(cap);
  addClaimsDeletedByHooks(snapshot, target, collector);
  // A StatefulSet Helm creates (none of that name is live: an install, or an upgrade after `kubectl delete sts
  // --cascade=orphan`, the PVC-resize workflow) adopts the orphaned pods named for it; under whenScaled: Delete the
  // controller condemns those outside its ordinals at once, and their PVCs go with them.
  for (const declared of target.manifest.statefulSets) {
    if (snapshot.statefulSet(declared.namespace, declared.name) !== undefined) continue;
    addClaimsDeletedByAdoption(snapshot, declared, target.now, collector);
  }
  const { release, manifest, now } = target;
  const operation = target.operation === 'rollback' ? 'this rollback' : target.operation === 'install' ? 'this install' : 'this upgrade';
  const liveSets = target.operation === 'install' ? [] : liveStatefulSetsOfRelease(snapshot, release, manifest);
  // A live StatefulSet the manifest declares that is not the release's yet: Helm adopts it (an install over one annotated
  // for the release, kept at an earlier uninstall; --take-ownership at an install or upgrade) and writes the rendered
  // spec over it (install.go performInstall, upgrade.go: KubeClient.Update of the adopted objects), scaling it as the
  // release's own below. A rollback does not adopt: Helm's update fails on an object the current revision lacks.
  if (target.operation !== 'rollback') {
    const ofRelease = new Set(liveSets.map((s) => s.uid));
    for (const next of manifest.statefulSets) {
      const live = snapshot.statefulSet(next.namespace, next.name);
      // One going (being deleted, or its DELETE admitted: helm uninstall then install) is created anew, as above.
      if (live === undefined || live.deleting === true || snapshot.deletionAdmitted(live.uid) || ofRelease.has(live.uid)) continue;
      addClaimsDeletedByHelmScaleDown(snapshot, live, next, operation, now, collector);
    }
  }
  if (target.operation === 'install') return collector.result();
  const declared = new Set(manifest.persistentVolumeClaims.map((claim) => `${claim.namespace}/${claim.name}`));
  const declaredIn = (statefulSet: StatefulSetRecord): ManifestStatefulSet | undefined =>
    manifest.statefulSets.find((s) => s.namespace === statefulSet.namespace && s.name === statefulSet.name);
  // Every StatefulSet Helm deletes here: a claim another of them also owns goes all the same.
  const going: ReadonlySet<string> = new Set(liveSets.filter((s) => declaredIn(s) === undefined && !s.helmKeep).map((s) => s.uid));
  // The claims already named (by the StatefulSet they go with, or dropped themselves): each is named once.
  const deletedWith = new Set<string>();
  // A StatefulSet the new manifest drops is deleted by Helm; the PVCs it owns (its retention policy's whenDeleted:
  // Delete made it their owner) go with it through the garbage collector, unless another owner stays.
  for (const live of liveSets) {
    const next = declaredIn(live);
    if (next !== undefined) {
      addClaimsDeletedByHelmScaleDown(snapshot, live, next, operation, now, collector);
      continue;
    }
    if (live.helmKeep) continue;
    for (const claim of snapshot.persistentVolumeClaimsIn(live.namespace)) {
      if (claim.deleting || !isBound(claim)) continue;
      if (!claim.ownerReferences.some((owner) => owner.kind === 'StatefulSet' && owner.uid === live.uid)) continue;
      // Kept while an owner stays; owned by two StatefulSets this drops, one finding.
      if (stayingOwner(snapshot, claim, going) !== undefined || deletedWith.has(`${claim.namespace}/${claim.name}`)) continue;
      deletedWith.add(`${claim.namespace}/${claim.name}`);
      const reclaimPolicy = effectiveReclaimPolicy(snapshot.persistentVolume(claim.volumeName));
      const tags = withApproval(['deleted-with-statefulset', reclaimTag(reclaimPolicy)], claim, now);
      if (!collector.admit(tags)) continue;
      collector.add({
        check: 'pvc-delete',
        severity: droppedSeverity(reclaimPolicy),
        object: claimObject(claim),
        reason:
          `${operation} drops StatefulSet ${live.name}, which this PVC names as owner: the garbage collector deletes it with it` +
          `${unjudgedOwners(claim, going)}; ${droppedEffect(reclaimPolicy, claim.volumeName)}`,
        tags,
        related: [{ kind: 'PersistentVolume', name: claim.volumeName }],
      });
    }
  }
  // Helm deletes what it rendered wherever it rendered it (a template may set another metadata.namespace): the claims
  // annotated for the release in any namespace.
  for (const claim of snapshot.persistentVolumeClaimsAnnotatedForRelease(release.namespace, release.name)) {
    if (claim.deleting || !isBound(claim) || heldByOperator(claim)) continue;
    if (declared.has(`${claim.namespace}/${claim.name}`) || hasLiveKeepPolicy(claim.annotations)) continue;
    const reclaimPolicy = effectiveReclaimPolicy(snapshot.persistentVolume(claim.volumeName));
    const tags = withApproval(['dropped-by-upgrade', reclaimTag(reclaimPolicy)], claim, now);
    if (!collector.admit(tags)) continue;
    const related: AffectedObject[] = [{ kind: 'PersistentVolume', name: claim.volumeName }];
    // A copy Velero restored into another namespace (`--namespace-mappings`) keeps the annotations though no revision
    // rendered it there: said, not refused, as the previous revision's manifest, which would tell, is not read. A
    // claim a template put there (a chart's namespaceOverride) is refused like one of the release's own namespace.
    const elsewhere = claim.namespace !== release.namespace && claim.labels[RESTORED_BY_VELERO_LABEL] !== undefined;
    deletedWith.add(`${claim.namespace}/${claim.name}`);
    collector.add({
      check: 'pvc-delete',
      severity: elsewhere ? 'warning' : droppedSeverity(reclaimPolicy),
      object: claimObject(claim),
      reason: elsewhere
        ? `restored by Velero, annotated for release ${release.namespace}/${release.name}: if a revision rendered it here, ${operation} no longer declares it, so Helm deletes it; ${droppedEffect(reclaimPolicy, claim.volumeName)}`
        : `${operation} no longer declares it, so Helm deletes it; ${droppedEffect(reclaimPolicy, claim.volumeName)}`,
      tags,
      related,
    });
  }
  // A Namespace a revision rendered (`createNamespace`-style values) is deleted like any object the new manifest
  // drops (kube.Client.Update), and the namespace controller deletes every PVC in it, whatever annotates them.
  for (const namespace of snapshot.namespacesAnnotatedForRelease(release.namespace, release.name)) {
    if (namespace.deleting === true || namespace.helmKeep === true) continue;
    if ((manifest.namespaces ?? []).some((declared) => declared.name === namespace.name)) continue;
    for (const claim of snapshot.persistentVolumeClaimsIn(namespace.name)) {
      if (!lostWithNamespace(claim) || deletedWith.has(`${claim.namespace}/${claim.name}`)) continue;
      const reclaimPolicy = effectiveReclaimPolicy(snapshot.persistentVolume(claim.volumeName));
      const tags = withApproval(['deleted-with-namespace', reclaimTag(reclaimPolicy)], claim, now);
      if (!collector.admit(tags)) continue;
      collector.add({
        check: 'pvc-delete',
        severity: droppedSeverity(reclaimPolicy),
        object: claimObject(claim),
        reason:
          `${operation} no longer declares Namespace ${namespace.name}: Helm deletes it, and the namespace controller every PVC in it; ` +
          droppedEffect(reclaimPolicy, claim.volumeName),
        tags,
        related: [
          { kind: 'Namespace', name: namespace.name },
          { kind: 'PersistentVolume', name: claim.volumeName },
        ],
      });
    }
  }
  return collector.result();
}

/**
 * A live StatefulSet Helm keeps and writes the new spec over: under whenScaled: Delete the StatefulSet controller
 * deletes the PVCs of the pods it then scales away (fewer replicas declared, a new ordinals.start, or the policy turned
 * to Delete). A field the chart does not set keeps its live value (three-way merge and server-side apply alike),
 * unless the release set it before: Helm then removes it and the API server's default takes its place (releaseSets).
 */
function addClaimsDeletedByHelmScaleDown(
  snapshot: ClusterSnapshot,
  live: StatefulSetRecord,
  next: ManifestStatefulSet,
  operation: string,
  now: number | undefined,
  collector: FindingCollector,
): void {
  const set = live.releaseSets ?? {};
  const { replicas, ordinalsStart } = sizeAfterHelm(next, live);
  const whenScaled = next.whenScaledDeclared ? next.retentionPolicy.whenScaled : set.whenScaled ? 'Retain' : live.whenScaled;
  const changes = replicas < live.replicas || ordinalsStart !== live.ordinalsStart || live.whenScaled !== 'Delete';
  if (whenScaled !== 'Delete' || !changes) return;
  const target = {
    namespace: live.namespace,
    name: live.name,
    uid: live.uid,
    claimTemplates: live.claimTemplates,
    replicas,
    ordinalsStart,
    ...(ordinalsStart !== live.ordinalsStart ? { ordinalsMoved: true as const } : {}),
    ...(now !== undefined ? { now } : {}),
  };
  const change =
    !next.replicasDeclared && replicas !== live.replicas
      ? `${operation} no longer declares the replicas the release set on StatefulSet ${live.name}: Helm removes them, ${replicas} remains; `
      : ordinalsStart !== live.ordinalsStart
        ? // The controller runs ordinals start..start+replicas-1 (stateful_set_utils.go getStartOrdinal): say where they go.
          `${operation} moves StatefulSet ${live.name}'s ordinals to ${ordinalRange({ replicas, ordinalsStart })}; `
        : `${operation} sets StatefulSet ${live.name} to ${replicaCount(replicas)}; `;
  addClaimsDeletedByScaleDown(snapshot, target, collector, change);
}

/**
 * A claim a namespace's deletion takes with its data: Bound, not already being deleted, and not a pod's generic
 * ephemeral volume (or a claim a judged scale-down handed to its pod), which the garbage collector deletes with the
 * pod whatever becomes of the namespace, so no choice made about the namespace keeps its data.
 */
function lostWithNamespace(claim: PersistentVolumeClaimRecord): boolean {
  return !claim.deleting && isBound(claim) && !isPodScratchClaim(claim);
}

/** A hook PVC of a later operation (`helm test`, `helm uninstall`) named like one of the release's own claims. */
export interface LaterHookCollision {
  readonly namespace: string;
  readonly name: string;
  /** test, pre-delete or post-delete. */
  readonly event: string;
  readonly policy: 'before-hook-creation' | 'hook-succeeded';
  /** What else claims that name: '' for a PVC the manifest declares, else the StatefulSet whose claim it is. */
  readonly statefulSet: string;
}

/** A hook whose object Helm deletes before creating it again: before-hook-creation, Helm's default when none is set. */
function deletedBeforeCreation(hook: { readonly deletePolicies: readonly string[] }): boolean {
  return hook.deletePolicies.length === 0 || hook.deletePolicies.includes('before-hook-creation');
}

const LATER_HOOK_EVENTS: readonly string[] = ['test', 'pre-delete', 'post-delete'];

/**
 * The chart's hook PVCs of `helm test` (release_testing.go) and `helm uninstall` (pre-delete, post-delete) named like a
 * PVC the manifest declares or a claim of one of its StatefulSets (any ordinal). Those hooks run with no record write
 * volume-guard could judge first (execHook deletes a before-hook-creation object before it records the run, and a test
 * run keeps the status deployed), so the collision is said when the revision declaring it is installed or upgraded:
 * the hook deletes the release's data claim (before-hook-creation, the default; or hook-succeeded once Helm 4 took it
 * over server-side: uninstall hooks always, test hooks of a server-side revision).
 */
export function laterHookCollisions(manifest: ParsedManifest, applyMethod: string | undefined): LaterHookCollision[] {
  const collisions: LaterHookCollision[] = [];
  const seen = new Set<string>();
  for (const hook of manifest.hookClaims ?? []) {
    for (const event of hook.events.filter((e) => LATER_HOOK_EVENTS.includes(e))) {
      const beforeCreation = deletedBeforeCreation(hook);
      const serverSide = event !== 'test' || applyMethod === 'ssa';
      if (!beforeCreation && !(serverSide && hook.deletePolicies.includes('hook-succeeded'))) continue;
      const key = `${hook.namespace}/${hook.name}`;
      if (seen.has(key)) continue;
      const declared = manifest.persistentVolumeClaims.some((claim) => claim.namespace === hook.namespace && claim.name === hook.name);
      const claimant = declared
        ? undefined
        : manifest.statefulSets.find((s) => s.namespace === hook.namespace && claimOf(hook.name, s) !== undefined);
      if (!declared && claimant === undefined) continue;
      seen.add(key);
      collisions.push({
        namespace: hook.namespace,
        name: hook.name,
        event,
        policy: beforeCreation ? 'before-hook-creation' : 'hook-succeeded',
        statefulSet: claimant?.name ?? '',
      });
    }
  }
  return collisions;
}

/** The hook events each operation runs (pkg/action install.go, upgrade.go, rollback.go). */
const HOOK_EVENTS: Readonly<Record<ReleaseOperation, readonly string[]>> = {
  install: ['pre-install', 'post-install'],
  upgrade: ['pre-upgrade', 'post-upgrade'],
  rollback: ['pre-rollback', 'post-rollback'],
};

/**
 * deleted-by-hook: a PVC the chart renders as a hook of this operation whose delete policy is before-hook-creation
 * (Helm's default when the chart sets none) is deleted by Helm before it creates the hook again, if it exists
 * (execHook, deleteHookByPolicy: Helm 3 and 4). helm.sh/resource-policy is not read for hooks, and the new PVC is
 * empty. Bound PVCs only, as for dropped-by-upgrade; a PVC already being deleted is not reported.
 * A revision Helm 4 applies server-side (record `apply_method: ssa`) also creates its hooks by server-side apply,
 * which takes an existing PVC over instead of failing on it as a create does (Helm 3, and Helm 4's `csa`), so a hook
 * PVC whose policy is hook-succeeded is deleted once its hooks ran (and when a later hook fails: execHook deletes the
 * hooks that succeeded before it), with the data it held (measured with Helm 4.3.2; Helm 3.21 fails "already exists").
 */
function addClaimsDeletedByHooks(snapshot: ClusterSnapshot, target: DroppedPvcTarget, collector: FindingCollector): void {
  const events = HOOK_EVENTS[target.operation];
  const serverSide = target.release.applyMethod === 'ssa';
  const reported = new Set<string>();
  for (const hook of target.manifest.hookClaims ?? []) {
    const event = hook.events.find((e) => events.includes(e));
    if (event === undefined) continue;
    const defaulted = hook.deletePolicies.length === 0;
    const beforeCreation = deletedBeforeCreation(hook);
    if (!beforeCreation && !(serverSide && hook.deletePolicies.includes('hook-succeeded'))) continue;
    const key = `${hook.namespace}/${hook.name}`;
    if (reported.has(key)) continue;
    reported.add(key);
    const claim = snapshot.persistentVolumeClaim(hook.namespace, hook.name);
    if (claim === undefined || claim.deleting || !isBound(claim)) continue;
    const reclaimPolicy = effectiveReclaimPolicy(snapshot.persistentVolume(claim.volumeName));
    const tags = withApproval(['deleted-by-hook', reclaimTag(reclaimPolicy)], claim, target.now);
    if (!collector.admit(tags)) continue;
    collector.add({
      check: 'pvc-delete',
      severity: 'critical',
      object: claimObject(claim),
      reason:
        (beforeCreation
          ? `Helm deletes it to re-create it empty as the chart's ${event} hook (before-hook-creation${defaulted ? ', the default' : ''}); `
          : `Helm 4 applies the chart's ${event} hook over it server-side, then deletes it (hook-succeeded); `) + shortReclaimEffect(reclaimPolicy),
      tags,
      related: [{ kind: 'PersistentVolume', name: claim.volumeName }],
    });
  }
}

/** The same, short enough for a warning line. */
export function shortReclaimEffect(reclaimPolicy: string): string {
  switch (reclaimPolicy) {
    case 'Delete':
      return 'reclaim Delete: data destroyed';
    case 'Retain':
      return 'reclaim Retain: data kept on a Released PV';
    case 'Recycle':
      return 'reclaim Recycle: data wiped';
    case RECYCLE_WITHOUT_RECYCLER:
      return 'reclaim Recycle, no recycler for it: data kept on a Failed PV';
    default:
      return 'reclaim policy unknown';
  }
}

/** A PVC `helm uninstall` deletes (declared by the release's manifest without keep), for the uninstall warning. */
export interface DeletedByUninstall {
  readonly namespace: string;
  readonly name: string;
  readonly volumeName: string;
  readonly reclaimPolicy: string;
}

/**
 * The existing PVCs the manifest declares that Helm deletes at uninstall. Uninstall reads keep from the release's
 * manifest only (an upgrade reads the live object): a keep annotation added to the live PVC by hand does not save it.
 */
export function pvcsHelmDeletes(snapshot: ClusterSnapshot, manifest: ParsedManifest): DeletedByUninstall[] {
  const deleted: DeletedByUninstall[] = [];
  for (const declared of manifest.persistentVolumeClaims) {
    if (declared.keep) continue;
    const claim = snapshot.persistentVolumeClaim(declared.namespace, declared.name);
    if (claim === undefined || claim.deleting) continue;
    const reclaimPolicy = claimReclaimPolicy(snapshot, claim);
    deleted.push({ namespace: claim.namespace, name: claim.name, volumeName: claim.volumeName, reclaimPolicy });
  }
  return deleted;
}

/** The manifest declares Namespace `namespace` with no helm.sh/resource-policy: `helm uninstall` deletes it. */
export function uninstallDeletesNamespace(manifest: ParsedManifest, namespace: string): boolean {
  return (manifest.namespaces ?? []).some((declared) => declared.name === namespace && !declared.keep);
}

/**
 * The existing PVCs of `namespace` when the manifest declares that Namespace and Helm deletes it at uninstall (no
 * helm.sh/resource-policy on its document): the namespace controller then deletes every PVC in it. [] otherwise.
 */
export function pvcsDeletedWithNamespace(snapshot: ClusterSnapshot, manifest: ParsedManifest, namespace: string): DeletedByUninstall[] {
  if (!uninstallDeletesNamespace(manifest, namespace)) return [];
  const deleted: DeletedByUninstall[] = [];
  for (const claim of snapshot.persistentVolumeClaimsIn(namespace)) {
    if (claim.deleting) continue;
    deleted.push({ namespace: claim.namespace, name: claim.name, volumeName: claim.volumeName, reclaimPolicy: claimReclaimPolicy(snapshot, claim) });
  }
  return deleted;
}

/** A PVC a `helm uninstall` hook (pre-delete, post-delete) deletes, for the uninstall warning. */
export interface DeletedByUninstallHook extends DeletedByUninstall {
  /** The hook's event: pre-delete or post-delete. */
  readonly event: string;
  /**
   * before-hook-creation (or no policy, Helm's default): Helm 3 and 4 delete it before creating the hook, which is
   * then a new, empty PVC. hook-succeeded alone: Helm 4 applies the hook over it server-side and deletes it once the
   * hooks ran; Helm 3 fails to create the hook on it (already exists) and leaves it.
   */
  readonly policy: 'before-hook-creation' | 'hook-succeeded';
}

const UNINSTALL_HOOK_EVENTS: readonly string[] = ['pre-delete', 'post-delete'];

/**
 * The existing PVCs that `helm uninstall` deletes through the chart's delete hooks (pkg/action/uninstall.go runs
 * execHook for pre-delete and post-delete; hooks.go deletes a hook's object before creating it under
 * before-hook-creation, the default). Helm 4 creates uninstall hooks server-side whatever the release's apply method
 * (uninstall.go passes serverSideApply true), so an existing PVC is taken over and a hook-succeeded policy deletes it.
 * helm.sh/resource-policy is not read for hooks. `--no-hooks` cannot be seen.
 */
export function pvcsUninstallHooksDelete(snapshot: ClusterSnapshot, manifest: ParsedManifest): DeletedByUninstallHook[] {
  const deleted: DeletedByUninstallHook[] = [];
  const listed = new Set<string>();
  for (const hook of manifest.hookClaims ?? []) {
    const event = hook.events.find((e) => UNINSTALL_HOOK_EVENTS.includes(e));
    if (event === undefined) continue;
    const beforeCreation = deletedBeforeCreation(hook);
    if (!beforeCreation && !hook.deletePolicies.includes('hook-succeeded')) continue;
    const key = `${hook.namespace}/${hook.name}`;
    if (listed.has(key)) continue;
    const claim = snapshot.persistentVolumeClaim(hook.namespace, hook.name);
    if (claim === undefined || claim.deleting) continue;
    listed.add(key);
    const reclaimPolicy = claimReclaimPolicy(snapshot, claim);
    deleted.push({
      namespace: claim.namespace,
      name: claim.name,
      volumeName: claim.volumeName,
      reclaimPolicy,
      event,
      policy: beforeCreation ? 'before-hook-creation' : 'hook-succeeded',
    });
  }
  return deleted;
}

/** A PVC the garbage collector deletes with a StatefulSet `helm uninstall` deletes (retention whenDeleted: Delete). */
export interface DeletedWithStatefulSet extends DeletedByUninstall {
  readonly statefulSet: string;
}

/**
 * The PVCs owned by the live StatefulSets the manifest declares without keep (uninstall deletes what the release's
 * manifest declares, reading keep from it): the StatefulSet controller made each StatefulSet an owner of its PVCs
 * (retention policy whenDeleted: Delete), so the garbage collector deletes them with it (unless Helm was run with
 * --cascade=orphan).
 */
export function pvcsDeletedWithStatefulSets(snapshot: ClusterSnapshot, manifest: ParsedManifest): DeletedWithStatefulSet[] {
  const deleted: DeletedWithStatefulSet[] = [];
  const going: StatefulSetRecord[] = [];
  for (const declared of manifest.statefulSets) {
    if (declared.keep) continue;
    const live = snapshot.statefulSet(declared.namespace, declared.name);
    if (live !== undefined) going.push(live);
  }
  const goingUids: ReadonlySet<string> = new Set(going.map((s) => s.uid));
  const listed = new Set<string>();
  for (const live of going) {
    for (const claim of snapshot.persistentVolumeClaimsIn(live.namespace)) {
      if (claim.deleting || !claim.ownerReferences.some((owner) => owner.kind === 'StatefulSet' && owner.uid === live.uid)) continue;
      // Another owner that stays (a StatefulSet the release does not delete): the garbage collector keeps it. Owned
      // by two StatefulSets the release deletes: listed once.
      if (stayingOwner(snapshot, claim, goingUids) !== undefined || listed.has(`${claim.namespace}/${claim.name}`)) continue;
      listed.add(`${claim.namespace}/${claim.name}`);
      const reclaimPolicy = claimReclaimPolicy(snapshot, claim);
      deleted.push({ namespace: claim.namespace, name: claim.name, volumeName: claim.volumeName, reclaimPolicy, statefulSet: live.name });
    }
  }
  return deleted;
}

/**
 * The reclaim policy the PV controller applies once this claim is gone: its PV's, '' when the PV is unknown or its
 * claimRef names another claim (syncVolume finds the PV's claim by that claimRef: deleting a claim whose PV is bound
 * to another reclaims nothing; the PV controller marks such a claim Lost).
 */
export function reclaimedWith(snapshot: ClusterSnapshot, claim: { readonly namespace: string; readonly name: string; readonly volumeName: string }): string {
  const volume = snapshot.persistentVolume(claim.volumeName);
  if (volume === undefined) return '';
  if (volume.claimName !== '' && (volume.claimName !== claim.name || volume.claimNamespace !== claim.namespace)) return '';
  return effectiveReclaimPolicy(volume);
}

/** Delete or Recycle: the reclaim policies that destroy a PV's data once its claim is gone. */
export type DestroyingPolicy = 'Delete' | 'Recycle';

/** The policy reclaimedWith finds when it destroys the data (Delete, Recycle), else undefined. */
function destroyingPolicy(snapshot: ClusterSnapshot, claim: Pick<PersistentVolumeClaimRecord, 'namespace' | 'name' | 'volumeName'>): DestroyingPolicy | undefined {
  const policy = reclaimedWith(snapshot, claim);
  return policy === 'Delete' || policy === 'Recycle' ? policy : undefined;
}

/**
 * What this claim's deletion destroys: its PV's reclaim policy when it destroys the data (destroyingPolicy), unless
 * the PV is Longhorn's and its volume has nothing to lose (deletionLosesNothing, as at its own Volume DELETE: the CSI
 * provisioner deletes it with its claim, as Longhorn's service account). Reads Longhorn's volumes and replicas.
 */
export function reclaimLoss(snapshot: ClusterSnapshot, claim: Pick<PersistentVolumeClaimRecord, 'namespace' | 'name' | 'volumeName'>): DestroyingPolicy | undefined {
  const policy = destroyingPolicy(snapshot, claim);
  if (policy === undefined || snapshot.persistentVolume(claim.volumeName)?.driver !== LONGHORN_CSI_DRIVER) return policy;
  const volume = snapshot.longhornVolumeOfPV(claim.volumeName);
  return volume !== undefined && deletionLosesNothing(volume, snapshot.replicasOfVolume(volume.name)) ? undefined : policy;
}

/** The fields of a PVC under DELETE, read from the request's oldObject. */
export interface DeletedClaim {
  readonly namespace: string;
  readonly name: string;
  readonly phase: string;
  readonly volumeName: string;
  /** A configured automation identity (a GitOps controller) deletes it: a prune. */
  readonly byAutomation?: boolean;
}

/**
 * deleted-by-automation: the claim is Bound and its PV (from the model) has reclaim policy Delete or Recycle, so the
 * delete destroys the data. A claim whose PV volume-guard does not know, or that keeps its data, is not reported.
 */
export function collectPvcDelete(snapshot: ClusterSnapshot, claim: DeletedClaim, cap: CapOptions = NO_CAP): CappedFindings {
  const collector = new FindingCollector(cap);
  if (!isBound(claim)) return collector.result();
  const reclaimPolicy = reclaimLoss(snapshot, claim);
  if (reclaimPolicy === undefined) return collector.result();
  const tags = ['deleted-by-automation', `reclaim-${reclaimPolicy.toLowerCase()}`];
  // A GitOps prune: the fix says how its tool keeps the PVC (a person's or the garbage collector's DELETE is no prune).
  if (claim.byAutomation === true) tags.push('by-automation');
  if (collector.admit(tags)) {
    const finding: Finding = {
      check: 'pvc-delete',
      severity: 'critical',
      object: claimObject(claim),
      reason: `Bound to PV ${claim.volumeName}; ${reclaimEffect(reclaimPolicy)}`,
      tags,
      related: [{ kind: 'PersistentVolume', name: claim.volumeName }],
    };
    collector.add(finding);
  }
  return collector.result();
}

/**
 * A namespace, a StatefulSet or any other owner (an operator's resource, such as a CloudNativePG Cluster) under
 * DELETE, and with it PVCs: of that namespace, or those naming the owner. `namespace` is '' for a cluster-scoped owner.
 */
export interface DeletedWithTarget {
  readonly namespace: string;
  /**
   * Only the PVCs whose ownerReferences name this owner's uid (what the garbage collector follows; a namespaced
   * owner's in its own namespace, a cluster-scoped one's anywhere); omitted: every PVC (a namespace). policyDeletes:
   * a StatefulSet's retention policy says whenDeleted: Delete (the usual reason). byAutomation: a GitOps controller
   * deletes it (a prune): its findings are tagged `by-automation`, so the fix says how such a tool keeps the PVCs (it
   * takes no kubectl flag).
   */
  readonly owner?: {
    readonly kind: string;
    readonly name: string;
    readonly uid: string;
    readonly policyDeletes?: boolean;
    readonly byAutomation?: boolean;
    /**
     * The StatefulSets the owner owns, which the garbage collector deletes with it (background, as the owner's own
     * DELETE propagates), their claims with them: those their ownerReferences name (whenDeleted: Delete).
     */
    readonly statefulSets?: readonly { readonly namespace: string; readonly name: string; readonly uid: string }[];
    /**
     * The Namespaces a cluster-scoped owner owns (Capsule puts an owner reference to the Tenant on each of its
     * namespaces), which the garbage collector deletes with it: the namespace controller then deletes every PVC in them.
     */
    readonly namespaces?: readonly string[];
    /**
     * Claims of the owner's namespace its own controller deletes by name when it goes, whatever owner references say
     * (a Harvester VirtualMachine's `harvesterhci.io/removedPersistentVolumeClaims`), with the annotation listing them.
     */
    readonly named?: { readonly annotation: string; readonly claims: readonly string[]; readonly only?: true };
  };
  /** Epoch ms, for the expiry of the PVCs' delete approvals. */
  readonly now: number;
}

/**
 * The claims whose ownerReferences name this uid, as the garbage collector sees them: it tracks owners by uid alone
 * (a reference whose kind or name no longer resolves to that uid is dangling, and a claim left with no live owner is
 * deleted all the same), and a namespaced owner (`namespace` not '') counts only for claims of its own namespace (a
 * reference across namespaces names no owner to it). A cluster-scoped owner's claims may be in any namespace.
 */
export function claimsOwnedBy(snapshot: ClusterSnapshot, uid: string, namespace: string): readonly PersistentVolumeClaimRecord[] {
  const claims = snapshot.persistentVolumeClaimsOwnedBy(uid);
  return namespace === '' || claims.length === 0 ? claims : claims.filter((claim) => claim.namespace === namespace);
}

/**
 * The dependent of an owner through which its DELETE takes a claim: a StatefulSet (`namespace/name`) or a Namespace;
 * or `Annotation`: the owner's controller deletes the claim by name, as listed in that annotation (`name`) of the owner.
 */
export interface TakenVia {
  readonly kind: 'StatefulSet' | 'Namespace' | 'Annotation';
  readonly name: string;
}

/**
 * The claims an owner's DELETE takes, each once: every claim of the Namespaces it owns that the garbage collector
 * deletes with it (not a pod's scratch claim, gone with its pod whatever is decided), whatever owns them (the
 * namespace controller deletes them all), then those naming it (claimsOwnedBy), then those naming one of the
 * StatefulSets it owns that the garbage collector deletes with it; mapped to the dependent that takes them.
 */
export function claimsTakenWith(
  snapshot: ClusterSnapshot,
  uid: string,
  namespace: string,
  statefulSets: NonNullable<DeletedWithTarget['owner']>['statefulSets'] = [],
  namespaces: NonNullable<DeletedWithTarget['owner']>['namespaces'] = [],
  named?: NonNullable<DeletedWithTarget['owner']>['named'],
): ReadonlyMap<PersistentVolumeClaimRecord, TakenVia | undefined> {
  // `only`: the DELETE orphans, so the garbage collector keeps what it would take; the claims named still go.
  const taken = named?.only ? new Map<PersistentVolumeClaimRecord, TakenVia | undefined>() : claimsTakenVia(snapshot, claimsOwnedBy(snapshot, uid, namespace), statefulSets, namespaces);
  if (named === undefined || named.claims.length === 0 || namespace === '') return taken;
  const withNamed = new Map(taken);
  for (const name of named.claims) {
    const claim = snapshot.persistentVolumeClaim(namespace, name);
    if (claim !== undefined && !withNamed.has(claim)) withNamed.set(claim, { kind: 'Annotation', name: named.annotation });
  }
  return withNamed;
}

/**
 * claimsTakenWith for any set of owners going at once: every claim of the Namespaces they own, then the claims naming
 * one of them (`direct`), then those naming one of the StatefulSets they own; each once, mapped to the dependent that
 * takes it.
 */
function claimsTakenVia(
  snapshot: ClusterSnapshot,
  direct: Iterable<PersistentVolumeClaimRecord>,
  statefulSets: NonNullable<DeletedWithTarget['owner']>['statefulSets'] = [],
  namespaces: NonNullable<DeletedWithTarget['owner']>['namespaces'] = [],
): ReadonlyMap<PersistentVolumeClaimRecord, TakenVia | undefined> {
  const taken = new Map<PersistentVolumeClaimRecord, TakenVia | undefined>();
  for (const owned of namespaces) {
    for (const claim of snapshot.persistentVolumeClaimsIn(owned)) if (!isPodScratchClaim(claim)) taken.set(claim, { kind: 'Namespace', name: owned });
  }
  for (const claim of direct) if (!taken.has(claim)) taken.set(claim, undefined);
  for (const dependent of statefulSets) {
    const via: TakenVia = { kind: 'StatefulSet', name: `${dependent.namespace}/${dependent.name}` };
    for (const claim of claimsOwnedBy(snapshot, dependent.uid, dependent.namespace)) if (!taken.has(claim)) taken.set(claim, via);
  }
  return taken;
}

/** A CRD under DELETE, read from the request's oldObject: spec.group, its kind, spec.scope, its served versions. */
export interface DeletedKindTarget {
  /** The CRD's name (`clusters.postgresql.cnpg.io`). */
  readonly crd: string;
  readonly group: string;
  /** status.acceptedNames.kind (the kind it serves), else spec.names.kind. */
  readonly kind: string;
  /** spec.scope is Namespaced: an object of the kind owns dependents of its own namespace only, never a Namespace. */
  readonly namespaced: boolean;
  /**
   * spec.versions[].served: an owner reference naming another version is never resolved by the garbage collector,
   * which retries it forever and deletes nothing (kubernetes/kubernetes#102641). Undefined: unknown, every one counts.
   */
  readonly served: readonly string[] | undefined;
  /** Epoch ms, for the expiry of the PVCs' delete approvals. */
  readonly now: number;
  /** dependentsOfKind of this target, when the validator computed it already (it reads them for its advice). */
  readonly dependents?: KindDependents;
}

/** What a CRD's DELETE takes along: the objects of its kind that own something, and the claims that go with them. */
export interface KindDependents {
  /** The uids of the objects of the kind that PVCs, StatefulSets or Namespaces name as owner. */
  readonly owners: ReadonlySet<string>;
  readonly statefulSets: readonly { readonly namespace: string; readonly name: string; readonly uid: string }[];
  readonly namespaces: readonly string[];
  readonly taken: ReadonlyMap<PersistentVolumeClaimRecord, TakenVia | undefined>;
}

/**
 * The dependents a CRD's DELETE takes: the CRD finalizer deletes every object of its group and kind straight in storage
 * (DeleteCollection, no admission), then the garbage collector deletes what no remaining owner keeps. Owner references
 * are matched by group and kind (a `Cluster` kind exists in several groups), and counted only through a served version
 * (`served`; the collector cannot resolve another: the dependent stays). A StatefulSet or Namespace counts when every
 * owner it names is of that kind (another kind's owner keeps it) and it is not being deleted already; a Namespace only
 * for a cluster-scoped kind (the collector never resolves a cluster-scoped dependent's reference to a namespaced
 * owner). The claims are those of claimsTakenWith, for all these owners at once, but for those of a namespace being
 * deleted (the namespace controller deletes them whatever is decided, as for owner-delete).
 */
export function dependentsOfKind(snapshot: ClusterSnapshot, target: Pick<DeletedKindTarget, 'group' | 'kind' | 'namespaced' | 'served'>): KindDependents {
  const { group, kind, namespaced, served } = target;
  const isServed = (apiVersion: string | undefined): boolean => served === undefined || served.includes(ownerVersion(apiVersion));
  const owners = new Set<string>();
  const direct: PersistentVolumeClaimRecord[] = [];
  for (const claim of snapshot.persistentVolumeClaimsOwnedByKind(group, kind)) {
    const refs = claim.ownerReferences.filter((ref) => ref.kind === kind && ownerGroup(ref.apiVersion) === group);
    if (!refs.every((ref) => isServed(ref.apiVersion))) continue;
    direct.push(claim);
    for (const ref of refs) if (ref.uid !== '') owners.add(ref.uid);
  }
  const onlyOfKind = (record: { readonly ownerTypes?: readonly string[] }): boolean =>
    (record.ownerTypes ?? []).every((type) => {
      const owner = splitOwnerType(type);
      return owner.kind === kind && ownerGroup(owner.apiVersion) === group && isServed(owner.apiVersion);
    });
  const statefulSets = snapshot
    .statefulSetsOwnedByKind(group, kind)
    .filter((set) => set.deleting !== true && set.orphaning !== true && onlyOfKind(set))
    .map((set) => {
      for (const uid of set.ownerUids ?? []) owners.add(uid);
      return { namespace: set.namespace, name: set.name, uid: set.uid };
    });
  const namespaces = namespaced
    ? []
    : snapshot
        .namespacesOwnedByKind(group, kind)
        .filter((owned) => owned.deleting !== true && onlyOfKind(owned))
        .map((owned) => {
          for (const uid of owned.ownerUids ?? []) owners.add(uid);
          return owned.name;
        });
  const taken = new Map<PersistentVolumeClaimRecord, TakenVia | undefined>();
  if (direct.length + statefulSets.length + namespaces.length === 0) return { owners, statefulSets, namespaces, taken };
  for (const [claim, via] of claimsTakenVia(snapshot, direct, statefulSets, namespaces)) {
    if (snapshot.namespace(claim.namespace)?.deleting !== true) taken.set(claim, via);
  }
  return { owners, statefulSets, namespaces, taken };
}

/** `Cluster shop/db`: the first owner of the claim of that group and kind, as the reason names it. */
function ownerOfKind(claim: PersistentVolumeClaimRecord, group: string, kind: string): string {
  const ref = claim.ownerReferences.find((owner) => owner.kind === kind && ownerGroup(owner.apiVersion) === group);
  return ref === undefined ? `a ${kind}` : `${kind} ${claim.namespace}/${ref.name}`;
}

/**
 * deleted-with-crd: the Bound PVCs (not already being deleted) whose PV has reclaim policy Delete or Recycle that go
 * when a CRD's DELETE removes every object of its kind (dependentsOfKind): the garbage collector deletes them, then
 * the PV controller reclaims their volumes. A PVC approved with `volume-guard.io/delete: "true"` is tagged
 * `delete-approved`.
 */
export function collectClaimsDeletedWithKind(snapshot: ClusterSnapshot, target: DeletedKindTarget, cap: CapOptions = NO_CAP): CappedFindings {
  const collector = new FindingCollector(cap);
  const dependents = target.dependents ?? dependentsOfKind(snapshot, target);
  const going: ReadonlySet<string> = new Set([...dependents.owners, ...dependents.statefulSets.map((set) => set.uid)]);
  for (const [claim, via] of dependents.taken) {
    if (claim.deleting || !isBound(claim)) continue;
    const ownersCount = via?.kind !== 'Namespace';
    if (ownersCount && stayingOwner(snapshot, claim, going) !== undefined) continue;
    const reclaimPolicy = reclaimLoss(snapshot, claim);
    if (reclaimPolicy === undefined) continue;
    const tags = ['deleted-with-crd', `reclaim-${reclaimPolicy.toLowerCase()}`];
    if (isDeleteApproved(claim.annotations, target.now)) tags.push(DELETE_APPROVED_TAG);
    if (!collector.admit(tags)) continue;
    const unless = ownersCount ? unjudgedOwners(claim, going) : '';
    // The CRD's consequence (every object of its kind goes, and what they own) is the verdict's, said once
    // (storage-teardown.ts judgeCrdDelete): each line names only the way the claim goes (its PV is the related object).
    const cause =
      via?.kind === 'Namespace'
        ? `in Namespace ${via.name}, which a ${target.kind} owns (the namespace controller deletes every PVC in it)`
        : via !== undefined
          ? `owned by StatefulSet ${via.name}, which a ${target.kind} owns (whenDeleted: Delete)`
          : `owned by ${ownerOfKind(claim, target.group, target.kind)}`;
    collector.add({
      check: 'pvc-delete',
      severity: 'critical',
      object: claimObject(claim),
      reason: `${cause}${unless}; reclaim ${reclaimPolicy}`,
      tags,
      related: [{ kind: 'PersistentVolume', name: claim.volumeName }],
    });
  }
  return collector.result();
}

/** Why an owner's DELETE takes a claim: with it, or with the dependent `via` that it owns; `unless`: unjudgedOwners. */
function deletedWithOwner(namespace: string, owner: NonNullable<DeletedWithTarget['owner']>, via: TakenVia | undefined, unless: string): string {
  if (via?.kind === 'Annotation') {
    return `deleted with ${owner.kind} ${namespace}/${owner.name}, whose annotation ${via.name} lists it (its controller deletes it by name)`;
  }
  if (via?.kind === 'Namespace') {
    return `deleted with Namespace ${via.name}, which ${owner.kind} ${owner.name} owns (the garbage collector deletes it, and the namespace controller every PVC in it)`;
  }
  if (via !== undefined) return `deleted with StatefulSet ${via.name}, which ${owner.kind} ${owner.name} owns (the garbage collector deletes both; whenDeleted: Delete)`;
  if (owner.kind !== 'StatefulSet') {
    return `deleted with ${owner.kind} ${namespace === '' ? '' : `${namespace}/`}${owner.name}, which its ownerReferences name (the garbage collector deletes it)`;
  }
  if (owner.policyDeletes === false) return `deleted with StatefulSet ${namespace}/${owner.name}: its ownerReferences still name it (whenDeleted is Retain)`;
  return `deleted with StatefulSet ${namespace}/${owner.name} (${unless === '' ? 'persistentVolumeClaimRetentionPolicy ' : ''}whenDeleted: Delete)`;
}

/**
 * For a claim whose other owners volume-guard cannot judge (kinds other than StatefulSet): ` unless its other owner
 * Database shop stays (volume-guard cannot see it)`, for the reason; '' when there are none.
 */
function unjudgedOwners(claim: Pick<PersistentVolumeClaimRecord, 'ownerReferences'>, going: ReadonlySet<string>): string {
  const others = claim.ownerReferences.filter((ref) => ref.kind !== 'StatefulSet' && ref.uid !== '' && !going.has(ref.uid));
  if (others.length === 0) return '';
  const first = others[0]!;
  const named = others.length === 1 ? `its other owner ${first.kind} ${first.name}` : `one of its other owners (${first.kind} ${first.name}, ${others.length - 1} more)`;
  return ` unless ${named} stays (volume-guard cannot see it)`;
}

/**
 * deleted-with-namespace / deleted-with-statefulset: the Bound PVCs (not already being deleted) whose PV has reclaim
 * policy Delete or Recycle, that the namespace controller (every PVC of a deleted namespace) or the garbage collector
 * (the PVCs a deleted StatefulSet owns) deletes, then the PV controller reclaims. A PVC approved with
 * `volume-guard.io/delete: "true"` (writer recorded, not expired) is tagged `delete-approved`.
 */
export function collectClaimsDeletedWith(snapshot: ClusterSnapshot, target: DeletedWithTarget, cap: CapOptions = NO_CAP): CappedFindings {
  const collector = new FindingCollector(cap);
  const owner = target.owner;
  const going: ReadonlySet<string> = new Set(owner ? [owner.uid, ...(owner.statefulSets ?? []).map((dependent) => dependent.uid)] : []);
  const taken = owner ? claimsTakenWith(snapshot, owner.uid, target.namespace, owner.statefulSets, owner.namespaces, owner.named) : undefined;
  const claims = taken ? taken.keys() : snapshot.persistentVolumeClaimsIn(target.namespace);
  for (const claim of claims) {
    if (owner ? claim.deleting || !isBound(claim) : !lostWithNamespace(claim)) continue;
    const via = taken?.get(claim);
    // The namespace controller deletes every claim of a deleted namespace, whatever owners it has; an owner's controller
    // deletes the claims it lists by name, whatever owners they have.
    const ownersCount = owner !== undefined && via?.kind !== 'Namespace' && via?.kind !== 'Annotation';
    if (ownersCount && stayingOwner(snapshot, claim, going) !== undefined) continue;
    const reclaimPolicy = reclaimLoss(snapshot, claim);
    if (reclaimPolicy === undefined) continue;
    const tags = [!owner ? 'deleted-with-namespace' : owner.kind === 'StatefulSet' ? 'deleted-with-statefulset' : 'deleted-with-owner', `reclaim-${reclaimPolicy.toLowerCase()}`];
    if (owner?.byAutomation === true) tags.push('by-automation');
    if (isDeleteApproved(claim.annotations, target.now)) tags.push(DELETE_APPROVED_TAG);
    if (!collector.admit(tags)) continue;
    const unless = ownersCount ? unjudgedOwners(claim, going) : '';
    const cause = owner ? deletedWithOwner(target.namespace, owner, via, unless) : `deleted with namespace ${target.namespace}`;
    collector.add({
      check: 'pvc-delete',
      severity: 'critical',
      object: claimObject(claim),
      reason: `${cause}${unless}; bound to PV ${claim.volumeName}, ${reclaimEffect(reclaimPolicy)}`,
      tags,
      related: [{ kind: 'PersistentVolume', name: claim.volumeName }],
    });
  }
  return collector.result();
}

/** A StatefulSet write that leaves pods outside its ordinal range while its retention policy says whenScaled: Delete. */
export interface ScaledDownTarget {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly claimTemplates: readonly string[];
  /** The ordinal range after the write: start..start+replicas-1. */
  readonly replicas: number;
  readonly ordinalsStart: number;
  /** The write moves spec.ordinals.start (the pods below the new start are condemned): tagged ORDINALS_MOVED_TAG. */
  readonly ordinalsMoved?: true;
  /** Epoch ms, for the expiry of the PVCs' delete approvals; omitted where those approvals are not read. */
  readonly now?: number;
}

/**
 * deleted-by-scale-down: with whenScaled: Delete, the StatefulSet controller gives each PVC of a pod outside the
 * ordinal range (a "condemned" pod, one that exists) an owner reference to that pod, then deletes the pod, and the
 * garbage collector deletes the PVC with it. Reported: such PVCs, Bound, whose PV's reclaim policy destroys the data.
 * PVCs of ordinals whose pod is already gone are not touched by the controller (kept), and neither are PVCs owned by
 * an earlier StatefulSet of the same name or held by another controller (`controller: true`: the controller leaves
 * claims with a conflicting owner alone, hasUnexpectedController in stateful_set_utils.go). A claim another owner
 * keeps (a live StatefulSet volume-guard sees) outlives the pod: the garbage collector only drops the pod's reference.
 */
export function collectClaimsDeletedByScaleDown(snapshot: ClusterSnapshot, target: ScaledDownTarget, cap: CapOptions = NO_CAP): CappedFindings {
  const collector = new FindingCollector(cap);
  addClaimsDeletedByScaleDown(snapshot, target, collector, '', { lossOf: reclaimLoss });
  return collector.result();
}

/**
 * deleted-by-scale-down, at the CREATE of a StatefulSet (outside Helm) with whenScaled: Delete: the controller adopts
 * the orphaned pods named for it (ClaimPods: no controller, not being deleted), those left running by an earlier
 * StatefulSet of that name deleted with `--cascade=orphan`. Those outside the new ordinal range (a manifest declaring
 * fewer replicas than ran, e.g. after an autoscaler raised them, or other ordinals) are condemned at once, and their
 * PVCs deleted with them. The re-create itself (to change an immutable field) keeps the pods it covers.
 */
export function collectClaimsDeletedByAdoption(snapshot: ClusterSnapshot, statefulSet: ManifestStatefulSet, now: number, cap: CapOptions = NO_CAP): CappedFindings {
  const collector = new FindingCollector(cap);
  addClaimsDeletedByAdoption(snapshot, statefulSet, now, collector);
  return collector.result();
}

/** collectClaimsDeletedByAdoption's findings into `collector`. */
function addClaimsDeletedByAdoption(snapshot: ClusterSnapshot, statefulSet: ManifestStatefulSet, now: number | undefined, collector: FindingCollector): void {
  if (statefulSet.retentionPolicy.whenScaled !== 'Delete') return;
  const target: ScaledDownTarget = {
    namespace: statefulSet.namespace,
    name: statefulSet.name,
    // Not created yet: a claim naming a StatefulSet of this name names an earlier one (stale; the controller leaves it).
    uid: '',
    claimTemplates: statefulSet.claimTemplates,
    replicas: statefulSet.replicas,
    ordinalsStart: statefulSet.ordinalsStart,
    ...(now === undefined ? {} : { now }),
  };
  const last = statefulSet.ordinalsStart + statefulSet.replicas - 1;
  const range = statefulSet.replicas > 0 ? `ordinals ${statefulSet.ordinalsStart}..${last}` : 'no replicas';
  addClaimsDeletedByScaleDown(snapshot, target, collector, `StatefulSet ${statefulSet.name} adopts the orphaned pods named for it, and has ${range}; `, { adopting: true });
}

/**
 * The scale-down findings into `collector`; `cause` (e.g. "this upgrade lowers ...; ") opens each reason. The
 * condemned pods are the StatefulSet's own, or with `adopting` the orphans it is about to adopt. `lossOf`: what a
 * claim's deletion destroys; by default its reclaim policy alone (destroyingPolicy), as at a Helm release record or a
 * StatefulSet CREATE, whose answer does not wait on Longhorn's view; reclaimLoss where the plan reads Longhorn's volumes.
 */
function addClaimsDeletedByScaleDown(
  snapshot: ClusterSnapshot,
  target: ScaledDownTarget,
  collector: FindingCollector,
  cause: string,
  { adopting = false, lossOf = destroyingPolicy }: { readonly adopting?: boolean; readonly lossOf?: typeof reclaimLoss } = {},
): void {
  if (target.claimTemplates.length === 0) return;
  const range = { replicas: target.replicas, ordinalsStart: target.ordinalsStart };
  const condemnable = (pod: PodRecord): boolean => (adopting ? pod.controllerKind === '' && !pod.deleting : pod.controllerKind === 'StatefulSet');
  for (const claim of snapshot.persistentVolumeClaimsIn(target.namespace)) {
    if (claim.deleting || !isBound(claim)) continue;
    const ref = claimOf(claim.name, { name: target.name, claimTemplates: target.claimTemplates });
    if (ref === undefined || ordinalInRange(ref.ordinal, range)) continue;
    const podName = `${target.name}-${ref.ordinal}`;
    const condemned = snapshot.podsUsingClaim(target.namespace, claim.name).some((pod) => pod.name === podName && condemnable(pod));
    if (!condemned) continue;
    if (claim.ownerReferences.some((owner) => owner.kind === 'StatefulSet' && owner.name === target.name && owner.uid !== target.uid)) continue;
    // The controller scrubs its own references (to the StatefulSet and to the pod, by name) and makes the pod the
    // claim's controller; the garbage collector then deletes the claim with the pod only when no other owner remains.
    const others = claim.ownerReferences.filter(
      (owner) => !(owner.kind === 'StatefulSet' && owner.name === target.name) && !(owner.kind === 'Pod' && owner.name === podName),
    );
    // Another controller holds the claim: the StatefulSet controller leaves it alone (hasUnexpectedController).
    if (others.some((owner) => owner.controller === true)) continue;
    if (stayingOwner(snapshot, { namespace: claim.namespace, ownerReferences: others }, new Set(target.uid === '' ? [] : [target.uid])) !== undefined) continue;
    const reclaimPolicy = lossOf(snapshot, claim);
    if (reclaimPolicy === undefined) continue;
    const tags = ['deleted-by-scale-down', `reclaim-${reclaimPolicy.toLowerCase()}`];
    // Orphans a StatefulSet being created adopts: the advice is to declare the replicas they run, not to keep them.
    if (adopting) tags.push(ADOPTED_PODS_TAG);
    if (target.ordinalsMoved === true) tags.push(ORDINALS_MOVED_TAG);
    if (target.now !== undefined && isDeleteApproved(claim.annotations, target.now)) tags.push(DELETE_APPROVED_TAG);
    if (!collector.admit(tags)) continue;
    collector.add({
      check: 'pvc-delete',
      severity: 'critical',
      object: claimObject(claim),
      reason:
        `${cause}pod ${podName} is scaled away and StatefulSet ${target.name} deletes its PVCs (whenScaled: Delete)` +
        `${unjudgedOwners({ ownerReferences: others }, new Set())}; bound to PV ${claim.volumeName}, ${reclaimEffect(reclaimPolicy)}`,
      tags,
      related: [
        { kind: 'PersistentVolume', name: claim.volumeName },
        { kind: 'Pod', namespace: target.namespace, name: podName },
      ],
    });
  }
}

/** A PV write that turns its reclaim policy to Delete or Recycle, read from the request. */
export interface ReclaimChangeTarget {
  readonly name: string;
  /** spec.claimRef after the write. */
  readonly claimNamespace: string;
  readonly claimName: string;
  /** spec.claimRef.uid: the one claim the PV is bound to (a claim of that name with another uid is not it). */
  readonly claimUid: string;
  /** status.phase: Released or Failed (its claim is gone), else any phase (its claim may be gone or being deleted). */
  readonly phase: string;
  /** The policy after the write: Delete or Recycle. */
  readonly reclaimPolicy: string;
  readonly previousPolicy: string;
  /** An UPDATE that re-points spec.claimRef (namespace, name or uid); judged when the policy stays as it was. */
  readonly claimRefChanged?: boolean;
  /** The PV carries a counting `volume-guard.io/delete: "true"`. */
  readonly approved: boolean;
  /** The PV carries `pv.kubernetes.io/provisioned-by` (the PV controller's AnnDynamicallyProvisioned). */
  readonly dynamicallyProvisioned?: boolean;
  /** A CREATE: the PV is new, created with this policy (none before it). */
  readonly created?: boolean;
  /** The PV's volume source: under Recycle only a hostPath or NFS one is wiped (recyclerServes). Omitted: not known. */
  readonly source?: VolumeSource;
}

/**
 * reclaim-policy-changed: the PV controller reclaims a PV whose claim is gone (Released, or Failed and retried) on
 * every sync, by the policy it has then. Turning Retain into Delete (or Recycle) on such a PV destroys (or wipes) the
 * data at once: the PV was Released precisely because its data was being kept. The phase lags: syncVolume
 * (pkg/controller/volume/persistentvolume/pv_controller.go) looks the claimRef up by name and takes a claim of that
 * name with another uid for a deleted one; with no such claim it sets any phase (Bound, Available, Pending) to
 * Released and reclaims the PV in the same sync. So a PV whose claimRef names a claim that is gone, or was re-created
 * since (a new uid), is reclaimed at its next sync (15 s) whatever its phase says.
 */
export function collectReclaimChange(snapshot: ClusterSnapshot, target: ReclaimChangeTarget, cap: CapOptions = NO_CAP): CappedFindings {
  const collector = new FindingCollector(cap);
  if (target.reclaimPolicy !== 'Delete' && target.reclaimPolicy !== 'Recycle') return collector.result();
  // Recycle on a PV no recycler serves: the PV controller marks it Failed, the data kept (effectiveReclaimPolicy).
  if (target.reclaimPolicy === 'Recycle' && target.source !== undefined && !recyclerServes(target.source)) return collector.result();
  const named = snapshot.persistentVolumeClaim(target.claimNamespace, target.claimName);
  // A Released PV whose claimRef names a live claim by its uid, that claim asking for this PV: the PV controller
  // binds them again at its next sync ("all is bound") and reclaims nothing, whatever the phase said (how retained
  // data is handed to a re-created claim).
  const rebound =
    named !== undefined && !named.deleting && target.claimUid !== '' && named.uid === target.claimUid && named.volumeName === target.name;
  const released = (target.phase === 'Released' || target.phase === 'Failed') && !rebound;
  const claim = released ? undefined : named;
  // Not Released yet, its claim gone (or re-created: another uid): released and reclaimed at the next sync.
  const claimGone = !released && (claim === undefined || (target.claimUid !== '' && claim.uid !== '' && claim.uid !== target.claimUid));
  // Its claim bound to another PV: a dynamically provisioned PV under Delete is released and deleted at the next sync
  // ("the claim got bound elsewhere, this volume is not needed"); any other is only unbound (Available), data kept.
  const boundElsewhere =
    !released &&
    !claimGone &&
    claim !== undefined &&
    claim.volumeName !== '' &&
    claim.volumeName !== target.name &&
    target.reclaimPolicy === 'Delete' &&
    target.dynamicallyProvisioned === true;
  // Its claim being deleted (held by pvc-protection while a pod uses it): its DELETE was judged under the old policy;
  // once the claim is gone the PV is reclaimed by the new one.
  const claimGoing = !released && !claimGone && !boundElsewhere && claim?.deleting === true;
  // Its policy kept, its claimRef re-pointed: only a claim gone (or re-created) is this write's doing; a Released
  // PV or a claim being deleted meets the same policy as before.
  const repointed = target.reclaimPolicy === target.previousPolicy;
  if (repointed ? !claimGone && !boundElsewhere : !released && !claimGone && !boundElsewhere && !claimGoing) return collector.result();
  const tags = ['reclaim-policy-changed', `reclaim-${target.reclaimPolicy.toLowerCase()}`];
  if (repointed) tags.push('claim-ref-changed');
  if (target.created === true) tags.push(PV_CREATED_TAG);
  if (target.approved) tags.push(DELETE_APPROVED_TAG);
  const claimRef = `${target.claimNamespace}/${target.claimName}`;
  // A new PV has no phase yet and no earlier policy: said as what it is created with.
  const created = target.created === true && !repointed;
  const state = created && claimGone
    ? claim === undefined
      ? `its claim ${claimRef} no longer exists`
      : `its claim ${claimRef} was deleted (the PVC of that name now is another one, uid ${claim.uid})`
    : released
    ? `${target.phase}, its claim ${claimRef} gone`
    : boundElsewhere
      ? `${target.phase || 'no phase yet'}, but its claim ${claimRef} is bound to PV ${claim.volumeName}`
      : claimGoing
      ? `its claim ${claimRef} is being deleted`
      : claim === undefined
        ? `${target.phase || 'no phase yet'}, but its claim ${claimRef} no longer exists`
        : `${target.phase || 'no phase yet'}, but its claim ${claimRef} was deleted (the PVC of that name now is another one, uid ${claim.uid})`;
  const when = claimGoing ? 'when the claim goes' : released ? 'at once' : 'at its next sync (it releases it first)';
  if (collector.admit(tags)) {
    collector.add({
      check: 'pvc-delete',
      severity: 'critical',
      object: { kind: 'PersistentVolume', name: target.name },
      reason:
        `${state}; ${repointed ? `claimRef re-pointed under reclaim policy ${target.reclaimPolicy}` : created ? `created with reclaim policy ${target.reclaimPolicy}` : `reclaim policy ${target.previousPolicy || 'unset'} → ${target.reclaimPolicy}`}: ` +
        `the PV controller reclaims it ${when} ` +
        `and ${target.reclaimPolicy === 'Delete' ? 'destroys the volume and its data' : 'wipes the data'}`,
      tags,
      related: [{ kind: 'PersistentVolumeClaim', namespace: target.claimNamespace, name: target.claimName }],
    });
  }
  return collector.result();
}

/** A Longhorn Volume under DELETE, read from the request's oldObject. */
export interface DeletedLonghornVolume {
  readonly namespace: string;
  readonly name: string;
  /** status.kubernetesStatus: the PV and PVC it backs, '' when none. */
  readonly pvName: string;
  readonly pvcNamespace: string;
  readonly pvcName: string;
  /** status.state and status.robustness as stored: whether it is in use now (neverHeldData). */
  readonly state: string;
  readonly robustness: string;
  /** As stored: being restored from a backup, or a clone target mid-copy (LonghornVolumeRecord; deletionLosesNothing). */
  readonly restoring?: true;
  readonly cloning?: true;
  /** The volume carries a counting `volume-guard.io/delete: "true"`. */
  readonly approved: boolean;
}

/**
 * volume-deleted: deleting a Longhorn Volume object makes Longhorn delete its replicas and their data, whatever the
 * PV or PVC in front of it says (a GitOps prune of statically provisioned Longhorn volumes). Longhorn's own deletes
 * (the reclaim of a PVC whose PV says Delete, its UI) are not judged: they come from Longhorn's service account. Not
 * reported: a volume the model knows whose replicas never held data, its stored status showing no use (neverHeldData:
 * created and never attached, as a DELETE of each of its replicas passes); a volume whose stored status says it is
 * being restored from a backup or is a clone target mid-copy (deletionLosesNothing: its backup or source keeps it).
 */
export function collectLonghornVolumeDelete(snapshot: ClusterSnapshot, target: DeletedLonghornVolume, cap: CapOptions = NO_CAP): CappedFindings {
  const collector = new FindingCollector(cap);
  // Restoring or mid-copy as stored is enough (its backup or source keeps it); never holding data needs its replicas known.
  const known = snapshot.longhornVolume(target.name) !== undefined;
  if (deletionLosesNothing(target, known ? snapshot.replicasOfVolume(target.name) : [])) return collector.result();
  const tags = ['volume-deleted'];
  if (target.approved) tags.push(DELETE_APPROVED_TAG);
  if (collector.admit(tags)) {
    const related: AffectedObject[] = [];
    if (target.pvcName !== '') related.push({ kind: 'PersistentVolumeClaim', namespace: target.pvcNamespace, name: target.pvcName });
    if (target.pvName !== '') related.push({ kind: 'PersistentVolume', name: target.pvName });
    const user = target.pvcName !== '' ? `; PVC ${target.pvcNamespace}/${target.pvcName} loses its data` : target.pvName !== '' ? `; PV ${target.pvName} loses its data` : '';
    collector.add({
      check: 'pvc-delete',
      severity: 'critical',
      object: { kind: 'Volume', namespace: target.namespace, name: target.name },
      reason: `Longhorn deletes the volume's replicas and data with it${user}`,
      tags,
      related,
    });
  }
  return collector.result();
}

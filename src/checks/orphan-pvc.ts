// orphan-pvc: PVCs a Helm release would silently adopt with old data, or leave behind (seed 000, DevLake).
//
// The StatefulSet controller reuses any PVC named `<template>-<statefulset>-<ordinal>`, whatever it holds, and
// Helm never deletes those PVCs. So `helm uninstall` then `helm install` of the same chart re-attaches the old
// database, and an upgrade that drops a StatefulSet (or renames a claim template) strands its data. The check runs
// at the CREATE of a pending release revision, before Helm touches any resource, so a denial aborts cleanly.
//
// Rules, for a release being installed, upgraded or rolled back:
//  - statefulset-claim: a PVC one of the manifest's StatefulSets will claim exists with no live owner. Owned means
//    a live StatefulSet of the same name that has that claim template (a plain `helm upgrade` passes; a PVC named
//    for a template the live StatefulSet does not have was left by an older shape of it), or an ownerReference to
//    a live StatefulSet (uid checked) or Pod, or to a kind the snapshot cannot see (its garbage collector's call).
//    At a rollback, a PVC labelled for the release is its own data being restored (`helm rollback` after
//    `helm uninstall --keep-history`, or of an upgrade that dropped the StatefulSet): a warning, never a denial. So
//    is, at an upgrade, one labelled or annotated for the release and created after its first install
//    (`info.first_deployed`, which Helm copies into every upgrade): `helm upgrade` re-creating a StatefulSet someone
//    deleted by hand.
//  - release-labelled (install only): PVCs labelled `app.kubernetes.io/instance` or `release` = the release,
//    existing before its first revision, unless owned as above (a live owner reference, or a live StatefulSet of
//    a name the manifest declares claims it).
//  - adopted-by-helm (install; upgrade, below): a PVC the manifest declares that already exists annotated for this release
//    and kept by `helm.sh/resource-policy` (any value: only such a document outlives `helm uninstall`); Helm adopts it
//    silently. One without the policy is a failed install's own (`helm install --replace` retrying it): not reported.
//    One bound and annotated for no release: Helm fails the install over it before writing the record, unless run with
//    `--take-ownership` (Helm 3.17+, 4: install.go checks with requireAdoption instead of existingResourceConflict), so
//    a record declaring it means Helm takes it over with its old data; a warning only while a live pod mounts it (a
//    running app moved under Helm). One annotated for another release: a take-over, warned about by the validator.
//    At an upgrade (claimsAdoptedByUpgrade), which adopts what the previous revision did not render: an unannotated
//    bound one as at an install; one annotated for the release and kept, created before its first install and mounted
//    by no pod (volume-guard cannot read the previous revision: a release using it has a pod mounting it).
//  - dropped-statefulset / renamed-claim-template (upgrade, rollback): live StatefulSets Helm annotated for this
//    release (not one with a controller owner reference: an operator made it and copied its resource's annotations,
//    liveStatefulSetsOfRelease) that the new manifest drops, or whose claim templates it no longer has: their PVCs
//    are left behind (the StatefulSet itself, as a warning, when none of its PVCs exists yet). volumeClaimTemplates
//    are immutable, so the API server refuses a renamed template and the upgrade fails half applied; the way through
//    (deleting the StatefulSet, often with --cascade=orphan, and upgrading again) strands the PVCs. Refused before
//    either happens.
// PVCs being deleted are never reported (a pod cannot mount them any more), nor PVCs their own StatefulSet pod
// (`<statefulset>-<ordinal>`) mounts: their data is in use by the same workload, not orphaned (the PVC-resize workflow
// deletes a StatefulSet with `--cascade=orphan` and re-creates it, or runs `helm upgrade`, while its pods keep running).
// A pod whose StatefulSet is gone is not live: the garbage collector deletes it next (inUseByItsStatefulPod). Any
// other pod mounting the PVC (a backup Job's, a debug pod, another release's Deployment using it as existingClaim)
// does not exempt it: the StatefulSet controller claims it by name all the same, and the finding says that pod would
// share the volume. The previous revision is not needed:
// the live StatefulSets Helm annotated stand for it (and volume-guard may not read Secrets anyway).
// A claim still Pending is judged like a bound one: a PV made for it (a restore, a pre-provisioned volume) may bind
// it at any moment, and the claim the next StatefulSet adopts keeps the old one's class, size and selected node (a
// WaitForFirstConsumer claim stays tied to a node that may be gone). The admin decides: `volume-guard.io/reuse:
// "true"`, or delete it. Its reason says it is not yet bound rather than speak of old data.
// A claim in phase Lost holds no data (isLost): adopting it is a warning, never a denial.
//
// A PVC annotated `volume-guard.io/reuse: "true"` is still reported, tagged `reuse-approved`: the admin declared
// its data is meant to be reused, and the validator honors that as an override, so it is audited and counted
// like any other (writes of that annotation are policed by the override guard).

import { RELEASE_LABELS, type PersistentVolumeClaimRecord, type PodRecord, type StatefulSetRecord } from '../cluster/records.ts';
import type { ClusterSnapshot } from '../cluster/snapshot.ts';
import { claimCount, claimName, claimOf, ordinalInRange } from '../helm/claims.ts';
import type { ManifestStatefulSet, ParsedManifest } from '../helm/manifest.ts';
import { parseManifest } from '../helm/manifest.ts';
import type { HelmRelease, ReleaseOperation } from '../helm/release.ts';
import { HELM_RELEASE_NAME_ANNOTATION, HELM_RELEASE_NAMESPACE_ANNOTATION, HELM_RESOURCE_POLICY_ANNOTATION } from '../kube.ts';
import { isReuseApproved as reuseApprovedIn, overrideLifecycle, REUSE_KEY, SKIP_BY_KEY } from '../override-keys.ts';
import { claimObject } from './affected.ts';
import { stayingOwner } from './owners.ts';
import { type CapOptions, type CappedFindings, FindingCollector, NO_CAP } from './collect.ts';
import { effectiveReclaimPolicy } from './reclaim.ts';
import type { AffectedObject, Check, Finding } from './types.ts';
import { plural } from '../text.ts';

export const REUSE_APPROVED_TAG = 'reuse-approved';
/** A statefulset-claim finding whose PVC another live StatefulSet claims under the same name (otherClaimant). */
export const SHARED_CLAIM_TAG = 'shared-claim';
/** A finding whose PVC no PV is bound to (unboundNote): taken over as a claim, with no old data yet. */
export const UNBOUND_TAG = 'unbound';

export type OrphanPvcRule =
  | 'statefulset-claim'
  | 'release-labelled'
  | 'adopted-by-helm'
  | 'dropped-statefulset'
  | 'renamed-claim-template';

/** The rules about a PVC being adopted with old data (the others are about PVCs an upgrade strands). */
const ADOPTION_RULES: readonly OrphanPvcRule[] = ['statefulset-claim', 'release-labelled', 'adopted-by-helm'];

export interface OrphanPvcTarget {
  /** The revision being created (decoded from the release Secret in the request). */
  readonly release: HelmRelease;
  readonly operation: ReleaseOperation;
  /** parseManifest(release.manifest, release.namespace); parsed once by the caller, which handles its errors. */
  readonly manifest: ParsedManifest;
  /** Build at most this many findings (same as CapOptions.limit, for callers of the plain check). */
  readonly limit?: number;
  /**
   * StatefulSets the manifest renders in another namespace than the release's (a template's own metadata.namespace)
   * whose live object Helm has not annotated for this release, left out of `manifest`: only the PVCs they would claim
   * are judged (statefulset-claim). Their findings are about another namespace's data: the caller withholds the names.
   */
  readonly elsewhere?: readonly ManifestStatefulSet[];
  /**
   * An upgrade retrying an install at the same revision that volume-guard refused (helm-release.ts, RefusedInstalls):
   * judged by the install's adoption rules as well as the upgrade's. `helm install --replace` goes on over an
   * uninstalled revision (marked superseded) or a failed one (left as it is), so the retry `helm upgrade --install`
   * upgrades from whatever revision is deployed: none after an uninstall, an earlier one after a failed upgrade.
   */
  readonly retriedInstall?: boolean;
  /**
   * `manifest` stands in for a chart not seen (the audit of a release: its live StatefulSets only). A PVC labelled
   * for the release that a live pod mounts is judged all the same then: the chart may claim it.
   */
  readonly chartUnseen?: boolean;
}

/** The admin's `volume-guard.io/reuse: "true"` on the PVC, with its writer recorded and not expired. */
export function isReuseApproved(claim: PersistentVolumeClaimRecord): boolean {
  return reuseApprovedIn(claim.annotations);
}

/**
 * An ownerReference whose owner is alive: a StatefulSet with that uid, a Pod of that name, or a kind not modelled.
 * `replaced`: a StatefulSet name whose live object the model has not seen yet (a re-created one, replacedStatefulSet):
 * a reference to that name is to an earlier StatefulSet, gone whatever the model still holds.
 */
function hasLiveOwnerReference(snapshot: ClusterSnapshot, claim: PersistentVolumeClaimRecord, replaced?: string): boolean {
  return claim.ownerReferences.some((owner) => {
    if (owner.kind === 'StatefulSet') return owner.name !== replaced && snapshot.statefulSet(claim.namespace, owner.name)?.uid === owner.uid;
    if (owner.kind === 'Pod') return snapshot.pod(claim.namespace, owner.name) !== undefined;
    return true;
  });
}

/**
 * The claim is in use by its own StatefulSet pod: a pod named `<statefulset>-<ordinal>` for claim
 * `<template>-<statefulset>-<ordinal>`, that has not finished, whose controller is a StatefulSet of that name still
 * there (or being deleted with the `orphan` finalizer), or orphaned (isOrphanedStatefulPod). The same workload carries
 * on with its data: a plain `helm upgrade`, or the PVC-resize workflow (`kubectl delete sts --cascade=orphan`, then
 * re-create or `helm upgrade`: the StatefulSet of that name adopts the pods, claims and all). A pod being deleted while
 * a controller still owns it does not count: it goes with its controller (`helm uninstall` or a plain `kubectl delete
 * sts` leaves the pods terminating for their grace period, and the garbage collector deletes them with their owner
 * reference in place), so an install right after it would adopt the PVC all the same. Nor does one whose StatefulSet
 * is already gone (goesWithItsStatefulSet). Pods orphaned by `--cascade=orphan` lose that reference and still count,
 * even while deleted by hand.
 * Any other pod mounting the claim (a backup Job's, a debug pod, another workload using it as an existing claim) does
 * not: the StatefulSet controller claims `<template>-<statefulset>-<ordinal>` by name whoever mounts it
 * (getPersistentVolumeClaims and createMissingPersistentVolumeClaims look at no pod), so the new StatefulSet's pod
 * comes up on the old data, shared with that pod (otherLiveMounter names it).
 */
export function inUseByItsStatefulPod(snapshot: ClusterSnapshot, claim: Pick<PersistentVolumeClaimRecord, 'namespace' | 'name'>, replaced?: string): boolean {
  return snapshot
    .podsUsingClaim(claim.namespace, claim.name)
    .some(
      (pod) =>
        isOwnStatefulPod(pod, claim.name) && ((keepsClaimsInUse(pod) && !goesWithItsStatefulSet(snapshot, pod, replaced)) || isOrphanedStatefulPod(pod, claim.name)),
    );
}

/**
 * A pod that mounts the claim and keeps running on, though not the claim's own StatefulSet pod (inUseByItsStatefulPod):
 * a StatefulSet adopting the claim would share the volume with it. Undefined when none.
 */
export function otherLiveMounter(snapshot: ClusterSnapshot, claim: Pick<PersistentVolumeClaimRecord, 'namespace' | 'name'>, replaced?: string): PodRecord | undefined {
  return snapshot
    .podsUsingClaim(claim.namespace, claim.name)
    .find((pod) => !isOwnStatefulPod(pod, claim.name) && keepsClaimsInUse(pod) && !goesWithItsStatefulSet(snapshot, pod, replaced));
}

/**
 * A pod that keeps its claims in use mounts the claim (its own StatefulSet pod or any other, one going with a deleted
 * StatefulSet aside): the data is in use now, whatever tool deployed it (an Argo CD application's Deployment).
 */
export function mountedByLivePod(snapshot: ClusterSnapshot, claim: Pick<PersistentVolumeClaimRecord, 'namespace' | 'name'>): boolean {
  return snapshot.podsUsingClaim(claim.namespace, claim.name).some((pod) => keepsClaimsInUse(pod) && !goesWithItsStatefulSet(snapshot, pod));
}

/**
 * A finding of the release-labelled rule (a PVC labelled for the release, owned by nothing live, claimed by no live
 * StatefulSet) whose PVC a live pod mounts: what the audit and the orphan-PVC gauge leave out when the label may be
 * another tool's (Argo CD tracks its applications by app.kubernetes.io/instance). The webhook, which sees the chart,
 * does not report it at all (candidatesFor).
 */
export function mountedReleaseLabelled(snapshot: ClusterSnapshot, finding: Pick<Finding, 'object' | 'tags'>): boolean {
  return (
    finding.object.kind === 'PersistentVolumeClaim' &&
    finding.tags.includes('release-labelled') &&
    mountedByLivePod(snapshot, { namespace: finding.object.namespace ?? '', name: finding.object.name })
  );
}

/** `; pod X mounts it too (...)`, for the reason of a finding whose PVC another pod mounts; '' when none does. */
function sharedWithPod(snapshot: ClusterSnapshot, claim: Pick<PersistentVolumeClaimRecord, 'namespace' | 'name'>, replaced?: string): string {
  const other = otherLiveMounter(snapshot, claim, replaced);
  return other === undefined ? '' : `; pod ${other.name} mounts it too (both would share the volume)`;
}

/**
 * Named `<statefulset>-<ordinal>` for the claim `<template>-<that name>`, and controlled by a StatefulSet (the one its
 * name spells, see goesWithItsStatefulSet) or by nothing: the pod the claim was made for.
 */
function isOwnStatefulPod(pod: Pick<PodRecord, 'name' | 'controllerKind'>, claimName: string): boolean {
  return (pod.controllerKind === 'StatefulSet' || pod.controllerKind === '') && STATEFUL_POD_NAME.test(pod.name) && claimName.endsWith(`-${pod.name}`);
}

/** A StatefulSet pod's name: `<statefulset>-<ordinal>`, the ordinal without leading zeros. */
const STATEFUL_POD_NAME = /^(.+)-(?:0|[1-9][0-9]*)$/;

/**
 * The pod's controller is a StatefulSet that is gone, or being deleted without the `orphan` finalizer: the garbage
 * collector deletes the pod next, and the next StatefulSet of that name re-attaches its claims. `helm uninstall` and
 * `kubectl delete sts` delete with background propagation: the StatefulSet object goes at once, and its pods run on,
 * not yet deleting, until the garbage collector gets to them (seed 000). The record names only the controller's
 * kind, so the StatefulSet is the one the pod's name spells. `--cascade=orphan` keeps the object (finalizer
 * `orphan`) until the garbage collector has removed the pods' owner references: they are bare pods by then, and
 * keep their claims in use. `replaced`: a StatefulSet name whose copy in the model is gone (replacedStatefulSet).
 */
function goesWithItsStatefulSet(snapshot: ClusterSnapshot, pod: Pick<PodRecord, 'namespace' | 'name' | 'controllerKind'>, replaced?: string): boolean {
  if (pod.controllerKind !== 'StatefulSet') return false;
  const statefulSetName = STATEFUL_POD_NAME.exec(pod.name)?.[1];
  if (statefulSetName === undefined) return false; // not a name the StatefulSet controller gives: left as in use
  if (statefulSetName === replaced) return true;
  const controller = snapshot.statefulSet(pod.namespace, statefulSetName);
  return controller === undefined || (controller.deleting === true && controller.orphaning !== true);
}

/**
 * How a StatefulSet of a name the model holds is being created, for replacedStatefulSet: `proven` (a Scale of another
 * uid: one of that name was created since the copy held), `created` (its CREATE), `record` (a Helm release record).
 */
type Replacement = 'proven' | 'created' | 'record';

/**
 * The name of a StatefulSet the model still holds that is gone, its pods with it (goesWithItsStatefulSet), as one of
 * that name is created: always when `proven`; once volume-guard has admitted its DELETE (deletionAdmitted: `kubectl
 * replace --force`, Argo CD `Replace=true,Force=true`, a delete then an apply, `helm uninstall` then `helm install`);
 * at its CREATE also once the copy held is being deleted. A CREATE of a name whose StatefulSet is live in the model
 * is no replacement: the API server answers it AlreadyExists (admission runs before storage), and its pods' claims are
 * in use. Undefined when none is held, or when it is being orphaned (`--cascade=orphan`, the PVC-resize recipe; shown
 * by the informer, or said by the DELETE admitted): its pods run on bare, their claims in use.
 */
function replacedStatefulSet(snapshot: ClusterSnapshot, namespace: string, name: string, how: Replacement): string | undefined {
  const held = snapshot.statefulSet(namespace, name);
  if (held === undefined || held.orphaning === true || snapshot.orphaningAdmitted(held.uid)) return undefined;
  const gone = how === 'proven' || snapshot.deletionAdmitted(held.uid) || (how === 'created' && held.deleting === true);
  return gone ? name : undefined;
}

/**
 * The claim's own StatefulSet pod (`<statefulset>-<ordinal>` for claim `<template>-<statefulset>-<ordinal>`), orphaned by
 * `--cascade=orphan` and not being deleted, even finished (evicted, failed): the StatefulSet re-created under that name
 * adopts it (ClaimPods looks at no phase) and replaces it with the same claim, the data the pod used all along.
 */
function isOrphanedStatefulPod(pod: Pick<PodRecord, 'name' | 'deleting' | 'controllerKind'>, claimName: string): boolean {
  return pod.controllerKind === '' && !pod.deleting && STATEFUL_POD_NAME.test(pod.name) && claimName.endsWith(`-${pod.name}`);
}

/**
 * The pod's claims count as in use, as far as the pod alone tells (see inUseByItsStatefulPod, which also asks whether
 * it is the claim's own StatefulSet pod and whether its StatefulSet is still there).
 */
export function keepsClaimsInUse(pod: Pick<PodRecord, 'phase' | 'deleting' | 'controllerKind'>): boolean {
  return pod.phase !== 'Succeeded' && pod.phase !== 'Failed' && !(pod.deleting && pod.controllerKind !== '');
}

/**
 * Both versions of a pod read the same to inUseByItsStatefulPod and otherLiveMounter (given the same StatefulSets): what
 * risks.ts re-evaluates on. The claims too: a pod's volumes never change, but a relist after a missed watch event
 * brings a pod re-created under the same name as an update.
 */
export function sameClaimUse(before: PodRecord, after: PodRecord): boolean {
  return (
    keepsClaimsInUse(before) === keepsClaimsInUse(after) &&
    before.controllerKind === after.controllerKind &&
    before.deleting === after.deleting &&
    sameClaims(before.claimNames, after.claimNames)
  );
}

function sameClaims(before: readonly string[], after: readonly string[]): boolean {
  return before === after || (before.length === after.length && before.every((name, i) => name === after[i]));
}

/** A live StatefulSet of one of these names (in the PVC's namespace) claims the PVC through one of its templates. */
function claimedByLiveStatefulSet(snapshot: ClusterSnapshot, claim: PersistentVolumeClaimRecord, names: Iterable<string>): boolean {
  for (const name of names) {
    const live = snapshot.statefulSet(claim.namespace, name);
    if (live !== undefined && claimOf(claim.name, live) !== undefined) return true;
  }
  return false;
}

/**
 * Some live StatefulSet of the PVC's namespace claims it (its name is `<template>-<statefulset>-<ordinal>` of one
 * of that StatefulSet's templates, any ordinal): its data belongs to that StatefulSet, whatever release labels the
 * PVC kept from when it was created (a StatefulSet another release took over with `helm --take-ownership`, one kept
 * by `helm.sh/resource-policy: keep`, one no release manages). Every split of the name is tried.
 */
export function claimedByAnyLiveStatefulSet(snapshot: ClusterSnapshot, claim: Pick<PersistentVolumeClaimRecord, 'namespace' | 'name'>): StatefulSetRecord | undefined {
  const ordinalAt = claim.name.lastIndexOf('-');
  for (let dash = claim.name.indexOf('-'); dash >= 0 && dash < ordinalAt; dash = claim.name.indexOf('-', dash + 1)) {
    const live = snapshot.statefulSet(claim.namespace, claim.name.slice(dash + 1, ordinalAt));
    if (live !== undefined && claimOf(claim.name, live) !== undefined) return live;
  }
  return undefined;
}

/**
 * A live StatefulSet not named `except`, not being deleted, whose own name and claim templates also spell the PVC's
 * name: `data-a-b-0` is template `data` of StatefulSet `a-b` and template `data-a` of `b`. Each controller mounts
 * whatever PVC bears the name (it never checks who created it), so both would mount one volume: the other
 * StatefulSet's data, written by two workloads.
 */
export function otherClaimant(snapshot: ClusterSnapshot, claim: Pick<PersistentVolumeClaimRecord, 'namespace' | 'name'>, except: string): StatefulSetRecord | undefined {
  const ordinalAt = claim.name.lastIndexOf('-');
  for (let dash = claim.name.indexOf('-'); dash >= 0 && dash < ordinalAt; dash = claim.name.indexOf('-', dash + 1)) {
    const name = claim.name.slice(dash + 1, ordinalAt);
    if (name === except) continue;
    const live = snapshot.statefulSet(claim.namespace, name);
    if (live !== undefined && live.deleting !== true && claimOf(claim.name, live) !== undefined) return live;
  }
  return undefined;
}

/** The reason of a shared-claim finding: `adopter` would mount the PVC `other` claims. */
function sharedReason(adopter: string, other: string): string {
  return `also the claim of live StatefulSet ${other} (the names collide); StatefulSet ${adopter} would mount ${other}'s volume and data`;
}

/** Existing PVCs named for one of `templates` of StatefulSet `name`, any ordinal the filter accepts. */
function existingClaims(
  snapshot: ClusterSnapshot,
  namespace: string,
  name: string,
  templates: readonly string[],
  acceptOrdinal: (ordinal: number) => boolean,
): { claim: PersistentVolumeClaimRecord; template: string }[] {
  const found: { claim: PersistentVolumeClaimRecord; template: string }[] = [];
  for (const claim of snapshot.persistentVolumeClaimsIn(namespace)) {
    const ref = claimOf(claim.name, { name, claimTemplates: templates });
    if (ref !== undefined && acceptOrdinal(ref.ordinal)) found.push({ claim, template: ref.template });
  }
  return found;
}

/**
 * The replicas and ordinals.start of a StatefulSet the manifest declares once Helm has written it over the live one:
 * a field the chart does not declare keeps its live value (three-way merge and server-side apply alike), unless the
 * release set it before (releaseSets): Helm then removes it and the API server's default takes its place, 1 replica,
 * ordinals from 0 (stateful_set_utils.go getStartOrdinal).
 */
export function sizeAfterHelm(next: ManifestStatefulSet, live: StatefulSetRecord): { replicas: number; ordinalsStart: number } {
  const set = live.releaseSets ?? {};
  return {
    replicas: next.replicasDeclared ? next.replicas : set.replicas ? 1 : live.replicas,
    ordinalsStart: next.ordinalsDeclared ? next.ordinalsStart : set.ordinalsStart ? 0 : live.ordinalsStart,
  };
}

/** `1 replica`, `3 replicas`. */
export function replicaCount(replicas: number): string {
  return plural(replicas, 'replica', 'replicas');
}

/** The ordinals a StatefulSet runs, `start..end`: start..start+replicas-1 (stateful_set_utils.go getStartOrdinal, getEndOrdinal). */
export function ordinalRange(size: { readonly replicas: number; readonly ordinalsStart: number }): string {
  return `${size.ordinalsStart}..${size.ordinalsStart + size.replicas - 1}`;
}

/**
 * What a write that makes a StatefulSet claim ordinals it did not run does, for a reason: `raising it to 3 replicas`
 * (or `scaling`) when only the replicas rise, `moving its ordinals to 0..2` when ordinals.start moves (the replicas
 * alone would not say which ordinals it runs).
 */
export function claimingChange(
  subject: string,
  after: { readonly replicas: number; readonly ordinalsStart: number },
  previousStart: number,
  verb: 'raising' | 'scaling',
): string {
  if (after.ordinalsStart !== previousStart) return `moving ${subject === 'it' ? 'its' : `${subject}'s`} ordinals to ${ordinalRange(after)}`;
  return `${verb} ${subject} to ${replicaCount(after.replicas)}`;
}

/** The PVCs the manifest StatefulSet will claim that exist now: by name lookup or namespace scan, whichever is smaller. */
function claimsOfManifestStatefulSet(
  snapshot: ClusterSnapshot,
  statefulSet: ManifestStatefulSet,
): { claim: PersistentVolumeClaimRecord; template: string }[] {
  const inNamespace = snapshot.persistentVolumeClaimsIn(statefulSet.namespace).length;
  if (claimCount(statefulSet) > inNamespace) {
    return existingClaims(snapshot, statefulSet.namespace, statefulSet.name, statefulSet.claimTemplates, (ordinal) =>
      ordinalInRange(ordinal, statefulSet),
    );
  }
  const found: { claim: PersistentVolumeClaimRecord; template: string }[] = [];
  for (const template of statefulSet.claimTemplates) {
    for (let ordinal = statefulSet.ordinalsStart; ordinal < statefulSet.ordinalsStart + statefulSet.replicas; ordinal += 1) {
      const claim = snapshot.persistentVolumeClaim(statefulSet.namespace, claimName(template, statefulSet.name, ordinal));
      if (claim !== undefined) found.push({ claim, template });
    }
  }
  return found;
}

/** Both API timestamps known (RFC 3339, UTC, same layout) and the first strictly earlier. */
function olderThan(created: string, than: string): boolean {
  return created !== '' && than !== '' && created < than;
}

/** RFC 3339 as Go writes a time.Time (fractional seconds optional, any offset). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch, rounded down; undefined when not RFC 3339. */
function instant(time: string): number | undefined {
  if (!RFC3339.test(time)) return undefined;
  // Date.parse reads at most milliseconds: Go writes nanoseconds.
  const ms = Date.parse(time.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * An object created (API server time, whole seconds) at or after `time` (a release's first_deployed, which Helm writes
 * with sub-second precision before it creates anything), compared at the API server's one-second resolution: a PVC the
 * release made in the second of its first install counts. False when either is missing or unreadable.
 */
function createdSince(created: string, time: string | undefined): boolean {
  const createdAt = instant(created);
  const at = time === undefined ? undefined : instant(time);
  return createdAt !== undefined && at !== undefined && createdAt >= Math.floor(at / 1000) * 1000;
}

/**
 * The claim is in phase Lost: the PV controller's syncBoundClaim sets it when the PV the claim was bound to no longer
 * exists (or is bound to another claim), and it holds no data then. The kubelet mounts only a Bound claim, so a pod
 * of the StatefulSet adopting it does not start until it is deleted: nothing is lost, and adoption is only said
 * (lostClaim). Only the phase tells: a volumeName the model has no PV for may be one its informer has not yet seen.
 */
export function isLost(claim: Pick<PersistentVolumeClaimRecord, 'phase'>): boolean {
  return claim.phase === 'Lost';
}

/**
 * A Lost claim whose data is gone for good: its PV is not there, or is bound to another claim. One whose PV is back
 * (re-created without a claimRef, or with this claim's) is bound again by the PV controller's next sync
 * (syncBoundClaim), old data and all: judged like a bound claim.
 */
function lostForGood(snapshot: ClusterSnapshot, claim: PersistentVolumeClaimRecord): boolean {
  if (!isLost(claim)) return false;
  const volume = claim.volumeName === '' ? undefined : snapshot.persistentVolume(claim.volumeName);
  if (volume === undefined) return true;
  return volume.claimName !== '' && (volume.claimName !== claim.name || volume.claimNamespace !== claim.namespace);
}

/** An adoption candidate for a Lost claim, as a warning: no data to re-attach, but a pod that would not start. */
function lostClaim(candidate: Candidate): Candidate {
  const who = candidate.statefulSet === undefined ? 'a pod mounting it' : `StatefulSet ${candidate.statefulSet.name}'s pod`;
  return { ...candidate, severity: 'warning', reason: lostReason(candidate.claim, who), lost: true };
}

/** The reason of a finding for a Lost claim that `who` (a pod, a StatefulSet's pod) would mount. */
function lostReason(claim: Pick<PersistentVolumeClaimRecord, 'volumeName'>, who: string): string {
  const pv = claim.volumeName === '' ? 'its PV' : `its PV ${claim.volumeName}`;
  return `phase Lost (it lost ${pv}): it holds no data to re-attach, but ${who} will not start until this claim is deleted`;
}

/**
 * ', not yet bound' for a claim no PV is bound to (it holds no data yet, though a PV may still bind it: judged all
 * the same), '' for a bound one: what a reason says of the claim before what adopting it takes (adoptionTakes).
 */
function unboundNote(claim: Pick<PersistentVolumeClaimRecord, 'volumeName'>): string {
  return isUnbound(claim) ? ', not yet bound' : '';
}

/** No PV is bound to the claim: it holds no data yet. */
function isUnbound(claim: Pick<PersistentVolumeClaimRecord, 'volumeName'>): boolean {
  return claim.volumeName === '';
}

/** What a StatefulSet adopting the claim takes, for its reason: a bound one's old data, else the claim itself. */
function adoptionTakes(claim: Pick<PersistentVolumeClaimRecord, 'volumeName'>): string {
  return isUnbound(claim) ? 'would take it over' : 'would re-attach its old data';
}

/** Receives a live StatefulSet whose claims would be stranded but of which no PVC exists yet. */
type StatefulSetSink = (statefulSet: StatefulSetRecord, rule: OrphanPvcRule, reason: string) => void;

interface Candidate {
  readonly claim: PersistentVolumeClaimRecord;
  readonly rule: OrphanPvcRule;
  readonly reason: string;
  readonly statefulSet?: AffectedObject;
  /** 'warning': reported, never denying (a rollback restoring the release's own data). Default critical. */
  readonly severity?: 'warning';
  /** Another live StatefulSet claims it (otherClaimant): reported even while its pods mount it. */
  readonly shared?: true;
  /** Lost for good (lostForGood): its PV gone, named by the reason only. */
  readonly lost?: true;
  /** The StatefulSet re-created whose copy in the model is gone (replacedStatefulSet): its pods keep nothing in use. */
  readonly replaced?: string;
}

/** Labelled for the release (`app.kubernetes.io/instance` or `release`): the StatefulSet's selector labels. */
function labelledForRelease(claim: PersistentVolumeClaimRecord, release: HelmRelease): boolean {
  return RELEASE_LABELS.some((label) => claim.labels[label] === release.name);
}

/** Labelled or annotated (`meta.helm.sh/release-name`) for the release. */
function ofRelease(claim: PersistentVolumeClaimRecord, release: HelmRelease): boolean {
  return labelledForRelease(claim, release) || isAnnotatedForRelease(claim, release);
}

function statefulSetObject(namespace: string, name: string): AffectedObject {
  return { kind: 'StatefulSet', namespace, name };
}

function isAnnotatedForRelease(claim: PersistentVolumeClaimRecord, release: HelmRelease): boolean {
  const namespace = claim.annotations[HELM_RELEASE_NAMESPACE_ANNOTATION];
  return (
    claim.annotations[HELM_RELEASE_NAME_ANNOTATION] === release.name &&
    (namespace === undefined || namespace === release.namespace)
  );
}

/**
 * The live StatefulSets annotated for the release (`meta.helm.sh/release-name`, `-namespace`), in its namespace or any
 * namespace its manifest uses, operators' included (see liveStatefulSetsOfRelease).
 */
function annotatedStatefulSetsOfRelease(snapshot: ClusterSnapshot, release: HelmRelease, manifest: ParsedManifest): StatefulSetRecord[] {
  const found = new Map<string, StatefulSetRecord>();
  const namespaces = new Set([release.namespace, ...manifest.statefulSets.map((s) => s.namespace)]);
  for (const namespace of namespaces) {
    for (const statefulSet of snapshot.statefulSetsOfRelease(namespace, release.name)) {
      const releaseNamespace = statefulSet.helmReleaseNamespace || statefulSet.namespace;
      if (releaseNamespace === release.namespace) found.set(`${statefulSet.namespace}/${statefulSet.name}`, statefulSet);
    }
  }
  return [...found.values()];
}

/**
 * The live StatefulSets Helm annotated for the release, in its namespace or any namespace its manifest uses: those an
 * upgrade that no longer renders them deletes (Helm deletes what its previous manifest rendered and the new one does
 * not). One with a controller owner reference is left out: an operator made it for a resource of its own and copied
 * that resource's annotations onto it, Helm's release annotations included (rabbitmq's cluster-operator makes
 * StatefulSet `<name>-server` for a RabbitmqCluster a chart renders). No manifest rendered it (Helm sets no owner
 * references), so no upgrade deletes it: its fate is its controller's, which volume-guard does not model.
 */
export function liveStatefulSetsOfRelease(snapshot: ClusterSnapshot, release: HelmRelease, manifest: ParsedManifest): StatefulSetRecord[] {
  return annotatedStatefulSetsOfRelease(snapshot, release, manifest).filter((statefulSet) => statefulSet.controlled !== true);
}

function claimsLeftByUpgrade(
  snapshot: ClusterSnapshot,
  target: OrphanPvcTarget,
  add: (candidate: Candidate) => void,
  addStatefulSet: StatefulSetSink,
): void {
  const operation = target.operation === 'rollback' ? 'this rollback' : 'this upgrade';
  const ofRelease = liveStatefulSetsOfRelease(snapshot, target.release, target.manifest);
  const declaredIn = (s: StatefulSetRecord): boolean => target.manifest.statefulSets.some((m) => m.namespace === s.namespace && m.name === s.name);
  const dropped = new Set(ofRelease.filter((s) => !declaredIn(s) && !s.helmKeep).map((s) => s.uid));
  /** Another live StatefulSet that stays claims it under the same name (otherClaimant): still in use, not stranded. */
  const claimedByStaying = (claim: PersistentVolumeClaimRecord, name: string): boolean => {
    const other = otherClaimant(snapshot, claim, name);
    return other !== undefined && !dropped.has(other.uid);
  };
  for (const live of ofRelease) {
    if (live.claimTemplates.length === 0) continue;
    const next = target.manifest.statefulSets.find((s) => s.namespace === live.namespace && s.name === live.name);
    // Helm does not delete a dropped StatefulSet whose live object says helm.sh/resource-policy: keep: it stays, with its PVCs.
    if (next === undefined && live.helmKeep) continue;
    const removed = next === undefined ? live.claimTemplates : live.claimTemplates.filter((t) => !next.claimTemplates.includes(t));
    if (removed.length === 0) continue;
    const rule: OrphanPvcRule = next === undefined ? 'dropped-statefulset' : 'renamed-claim-template';
    // Every ordinal: PVCs kept from scale-downs are stranded too. A PVC owned by the StatefulSet itself
    // (retention policy whenDeleted: Delete) is garbage-collected with it instead.
    const existing = existingClaims(snapshot, live.namespace, live.name, removed, () => true);
    const stranded = existing.filter(
      ({ claim }) => !claim.ownerReferences.some((owner) => owner.kind === 'StatefulSet' && owner.uid === live.uid) && !claimedByStaying(claim, live.name),
    );
    for (const { claim, template } of stranded) {
      add({
        claim,
        rule,
        reason:
          next === undefined
            ? `${operation} drops StatefulSet ${live.name}; its PVC and data would be left behind`
            : `${operation} removes claim template ${template} from StatefulSet ${live.name} (immutable: the API server refuses ` +
              'the change, and re-creating the StatefulSet to force it leaves this PVC behind)',
        statefulSet: statefulSetObject(live.namespace, live.name),
      });
    }
    if (existing.length === 0) {
      addStatefulSet(
        live,
        rule,
        next === undefined
          ? `dropped by ${operation}; PVCs it created would be left behind`
          : `${operation} removes its claim templates ${removed.join(', ')}; PVCs they create would be left behind`,
      );
    }
  }
}

/**
 * The claim is the release's own data, as far as the record tells: at a rollback, labelled for the release (`helm
 * rollback` restores an earlier revision on purpose); at an upgrade (not the retry of a refused install, which carries
 * the first install's first_deployed), labelled or annotated for it and created since its first install
 * (`info.first_deployed`, which Helm copies into every upgrade; an install over an uninstalled release sets it anew,
 * so an earlier install's leftovers predate it; createdSince counts the second it falls in).
 */
function ownDataOfRelease(target: OrphanPvcTarget, claim: PersistentVolumeClaimRecord): boolean {
  const { release } = target;
  if (target.operation === 'rollback') return labelledForRelease(claim, release);
  return (
    target.operation === 'upgrade' &&
    target.retriedInstall !== true &&
    ofRelease(claim, release) &&
    createdSince(claim.creationTimestamp, release.firstDeployed)
  );
}

function candidatesFor(
  snapshot: ClusterSnapshot,
  target: OrphanPvcTarget,
  addStatefulSet: StatefulSetSink,
): Map<string, { candidate: Candidate; rules: OrphanPvcRule[] }> {
  const { release, manifest } = target;
  const candidates = new Map<string, { candidate: Candidate; rules: OrphanPvcRule[] }>();
  const addCandidate = (found: Candidate): void => {
    let candidate = found;
    if (candidate.claim.deleting) return;
    // Adoption needs an orphan; a PVC its own StatefulSet pod mounts is in use. (The pods of a StatefulSet an upgrade
    // drops go with it, so the upgrade rules still report their PVCs.) Any other pod mounting it is not a reason to pass:
    // the reason names it (both would share the volume).
    // A shared claim is mounted by the other StatefulSet's pods: that is the risk, not a reason to pass.
    const adoption = ADOPTION_RULES.includes(candidate.rule) && candidate.shared !== true;
    if (adoption && inUseByItsStatefulPod(snapshot, candidate.claim, candidate.replaced)) return;
    // Shared or not: a Lost claim holds no one's data.
    if (ADOPTION_RULES.includes(candidate.rule) && lostForGood(snapshot, candidate.claim)) candidate = lostClaim(candidate);
    const key = `${candidate.claim.namespace}/${candidate.claim.name}`;
    const existing = candidates.get(key);
    if (existing === undefined) {
      const withPod = adoption ? sharedWithPod(snapshot, candidate.claim, candidate.replaced) : '';
      candidates.set(key, { candidate: withPod === '' ? candidate : { ...candidate, reason: candidate.reason + withPod }, rules: [candidate.rule] });
    }
    else if (!existing.rules.includes(candidate.rule)) existing.rules.push(candidate.rule);
  };

  for (const declared of [...manifest.statefulSets, ...(target.elsewhere ?? [])]) {
    // A copy held whose DELETE volume-guard just admitted is gone: Helm creates the StatefulSet anew.
    const replaced = replacedStatefulSet(snapshot, declared.namespace, declared.name, 'record');
    const live = replaced === undefined ? snapshot.statefulSet(declared.namespace, declared.name) : undefined;
    // Helm patches a live one: the ordinals it runs afterwards keep what the chart leaves undeclared (sizeAfterHelm).
    const statefulSet = live === undefined ? declared : { ...declared, ...sizeAfterHelm(declared, live) };
    const add = (candidate: Candidate): void => addCandidate(replaced === undefined ? candidate : { ...candidate, replaced });
    for (const { claim } of claimsOfManifestStatefulSet(snapshot, statefulSet)) {
      const ownedLive = hasLiveOwnerReference(snapshot, claim, replaced);
      if (live !== undefined && claimedByLiveStatefulSet(snapshot, claim, [statefulSet.name])) {
        if (ownedLive) continue;
        // Claimed by the live StatefulSet, but at an ordinal it does not run now and older than it: left by an earlier
        // StatefulSet of that name; raising the replicas re-attaches it (the live one's own scale-down leftovers are
        // younger than it and meant to come back).
        const ref = claimOf(claim.name, live);
        if (ref === undefined || ordinalInRange(ref.ordinal, live) || !olderThan(claim.creationTimestamp, live.creationTimestamp)) continue;
        // The release's own claim (as below: a rollback's, or one made since its first install), kept by whenScaled
        // Retain from before the StatefulSet was re-created (`kubectl delete sts --cascade=orphan`, then `helm
        // upgrade`): Kubernetes keeps it so that a scale-up reuses it. Said, not refused.
        if (ownDataOfRelease(target, claim)) {
          add({
            claim,
            rule: 'statefulset-claim',
            reason: `kept from an earlier StatefulSet ${statefulSet.name} of this release${unboundNote(claim)}; ${claimingChange(`StatefulSet ${statefulSet.name}`, statefulSet, live.ordinalsStart, 'raising')} re-attaches it (the release's own)`,
            statefulSet: statefulSetObject(statefulSet.namespace, statefulSet.name),
            severity: 'warning',
          });
          continue;
        }
        add({
          claim,
          rule: 'statefulset-claim',
          reason: `left by an earlier StatefulSet ${statefulSet.name}${unboundNote(claim)}; ${claimingChange('it', statefulSet, live.ordinalsStart, 'raising')} ${adoptionTakes(claim)}`,
          statefulSet: statefulSetObject(statefulSet.namespace, statefulSet.name),
        });
        continue;
      }
      // Not the StatefulSet's own claim yet: one another live StatefulSet claims under the same name is theirs, in
      // use or kept for its scale-up, whoever owns it (whenDeleted: Delete names that StatefulSet).
      const other = otherClaimant(snapshot, claim, statefulSet.name);
      if (other !== undefined) {
        add({
          claim,
          rule: 'statefulset-claim',
          reason: sharedReason(statefulSet.name, other.name),
          statefulSet: statefulSetObject(statefulSet.namespace, statefulSet.name),
          shared: true,
        });
        continue;
      }
      if (ownedLive) continue;
      if (target.operation === 'rollback' && labelledForRelease(claim, release)) {
        // `helm rollback` restores an earlier revision on purpose (after `helm uninstall --keep-history`, or of an
        // upgrade that dropped the StatefulSet): the release's own PVC coming back is what it asks for. Said, not refused.
        add({
          claim,
          rule: 'statefulset-claim',
          reason: `this rollback restores StatefulSet ${statefulSet.name}, which re-attaches this release's earlier data`,
          statefulSet: statefulSetObject(statefulSet.namespace, statefulSet.name),
          severity: 'warning',
        });
        continue;
      }
      if (
        target.operation === 'upgrade' &&
        target.retriedInstall !== true &&
        ofRelease(claim, release) &&
        createdSince(claim.creationTimestamp, release.firstDeployed)
      ) {
        // The release's own data, made since its first install: `helm upgrade` re-creating a StatefulSet deleted by hand
        // (Helm creates what it finds missing), or one an earlier upgrade dropped. Said, as at a rollback. Leftovers of
        // an earlier install predate first_deployed: `install --replace` and `upgrade --install` over an uninstalled
        // release start it anew. Not for the retry of a refused install: it carries the first install's first_deployed.
        add({
          claim,
          rule: 'statefulset-claim',
          reason: `this upgrade re-creates StatefulSet ${statefulSet.name}, which re-attaches this release's own data (created since its first install)`,
          statefulSet: statefulSetObject(statefulSet.namespace, statefulSet.name),
          severity: 'warning',
        });
        continue;
      }
      // Labelled or annotated for the release: an earlier install's. Nothing else ties a claim to a release (a
      // StatefulSet's claims carry its selector labels, often not the release's): it is only known to have no owner.
      const whose = ofRelease(claim, release) ? 'left by an earlier release' : 'exists with no owner';
      add({
        claim,
        rule: 'statefulset-claim',
        reason: `${whose}${unboundNote(claim)}; the StatefulSet ${statefulSet.name} ${adoptionTakes(claim)}`,
        statefulSet: statefulSetObject(statefulSet.namespace, statefulSet.name),
      });
    }
  }

  if (target.operation === 'install' || target.retriedInstall === true) {
    for (const declared of manifest.persistentVolumeClaims) {
      const claim = snapshot.persistentVolumeClaim(declared.namespace, declared.name);
      if (claim === undefined) continue;
      if (claim.annotations[HELM_RELEASE_NAME_ANNOTATION] === undefined) {
        // No Helm release's: Helm fails an install over it before writing any record (existingResourceConflict), unless
        // run with --take-ownership (Helm 3.17+, 4), which takes it over, data and all. A bound one holds that data:
        // refused while nothing uses it; one a live pod mounts is a running app moved under Helm (said, not refused).
        if (isUnbound(claim)) continue;
        // (addCandidate() names the pod mounting it.)
        const inUse = otherLiveMounter(snapshot, claim) !== undefined;
        // Let through (in use, or approved for reuse), it is the release's from now on: an install failing under --atomic (Helm 4:
        // --rollback-on-failure) uninstalls at once (install.go failRelease), and an uninstall deletes every document
        // without helm.sh/resource-policy (uninstall.go filterManifestsToKeep), this PVC and its data with it.
        const deletedLater = declared.keep
          ? ''
          : '; Helm then deletes it at helm uninstall, and at once if this install fails under --atomic ' +
            '(Helm 4: --rollback-on-failure), unless the chart marks it helm.sh/resource-policy: keep';
        addCandidate({
          claim,
          rule: 'adopted-by-helm',
          reason: inUse
            ? `exists, not Helm's, in use: this install takes it over (--take-ownership), data and all${deletedLater}`
            : `exists, not Helm's: this install takes it over (--take-ownership) with its old data${deletedLater}`,
          ...(inUse ? { severity: 'warning' as const } : {}),
        });
        continue;
      }
      if (!isAnnotatedForRelease(claim, release)) continue;
      // Only a document carrying helm.sh/resource-policy (any value: Helm deletes the others) outlives `helm
      // uninstall`, and Helm writes the annotation onto the live object. Without it, the PVC is a failed install's
      // own, re-adopted by `helm install --replace` retrying it: nothing earlier to take over.
      if (claim.annotations[HELM_RESOURCE_POLICY_ANNOTATION] === undefined) continue;
      addCandidate({
        claim,
        rule: 'adopted-by-helm',
        reason: isUnbound(claim)
          ? `kept from an earlier install of release ${release.name}${unboundNote(claim)}; Helm would adopt it`
          : `kept from an earlier install of release ${release.name}; Helm would adopt it with its old data`,
      });
    }
    for (const claim of snapshot.persistentVolumeClaimsOfRelease(release.namespace, release.name)) {
      // Claimed by a live StatefulSet (one the manifest declares, or another: taken over by another release with
      // helm --take-ownership, kept by resource-policy keep): in use by it, not a leftover this install adopts.
      if (claimedByAnyLiveStatefulSet(snapshot, claim) !== undefined || hasLiveOwnerReference(snapshot, claim)) continue;
      // Helm's own object of this release that no uninstall kept (adopted-by-helm): a failed install's, live.
      if (isAnnotatedForRelease(claim, release) && claim.annotations[HELM_RESOURCE_POLICY_ANNOTATION] === undefined) continue;
      // In use by a live pod (an Argo CD application's: app.kubernetes.io/instance is its tracking label). Helm
      // creates only what it rendered: one the chart's StatefulSets or documents claim is judged by their rules
      // above, and nothing else in the release takes it over.
      if (target.chartUnseen !== true && mountedByLivePod(snapshot, claim)) continue;
      const notRun = target.chartUnseen === true ? undefined : claimAtOrdinalNotRun(manifest, claim);
      addCandidate({
        claim,
        rule: 'release-labelled',
        reason:
          notRun !== undefined
            ? `labelled for release ${release.name} but owned by nothing live${unboundNote(claim)}; ${notRun}: a later scale-up or ordinals change ${adoptionTakes(claim)}`
            : isUnbound(claim)
              ? `labelled for release ${release.name} but owned by nothing live${unboundNote(claim)}; this install may take it over`
              : `labelled for release ${release.name} but owned by nothing live; this install may reuse its old data`,
      });
    }
  }
  if (target.operation === 'upgrade' && target.retriedInstall !== true) claimsAdoptedByUpgrade(snapshot, target, addCandidate);
  if (target.operation !== 'install') claimsLeftByUpgrade(snapshot, target, addCandidate, addStatefulSet);
  return candidates;
}

/**
 * `the claim of StatefulSet db at ordinal 0, which this install does not run (ordinals 1..1)` when the PVC is named
 * `<template>-<statefulset>-<ordinal>` for a StatefulSet the manifest declares in its namespace, at an ordinal outside
 * the declared ones (fewer replicas, or ordinals.start past it): the StatefulSet controller creates and mounts only the
 * claims of the ordinals it runs (stateful_set_utils.go getStartOrdinal, getEndOrdinal), so the install itself does not
 * take it over; a later scale-up or ordinals change does. Undefined otherwise.
 */
function claimAtOrdinalNotRun(manifest: ParsedManifest, claim: PersistentVolumeClaimRecord): string | undefined {
  for (const statefulSet of manifest.statefulSets) {
    if (statefulSet.namespace !== claim.namespace) continue;
    const ref = claimOf(claim.name, statefulSet);
    if (ref === undefined || ordinalInRange(ref.ordinal, statefulSet)) continue;
    const runs = statefulSet.replicas === 0 ? '0 replicas' : `ordinals ${ordinalRange(statefulSet)}`;
    return `the claim of StatefulSet ${statefulSet.name} at ordinal ${ref.ordinal}, which this install does not run (${runs})`;
  }
  return undefined;
}

/**
 * How long before a release's first_deployed a PVC must have been created to be taken for an earlier install's: the
 * record's time is the Helm client's clock, the PVC's the API server's, and a client running ahead would make the
 * release's own PVC, created just after its install, look older than it.
 */
const FIRST_DEPLOYED_MARGIN_MS = 5 * 60_000;

/** Created (API server time, whole seconds) more than FIRST_DEPLOYED_MARGIN_MS before `time`; false when either is unreadable. */
function createdLongBefore(created: string, time: string | undefined): boolean {
  const createdAt = instant(created);
  const at = time === undefined ? undefined : instant(time);
  return createdAt !== undefined && at !== undefined && createdAt + 1000 + FIRST_DEPLOYED_MARGIN_MS <= at;
}

/**
 * adopted-by-helm at an upgrade. Helm's upgrade adopts an existing object the previous revision did not render when it
 * carries this release's annotations (existingResourceConflict), and any with `--take-ownership` (requireAdoption); it
 * fails on the others before writing the record. volume-guard cannot read the previous revision, so:
 *  - a bound PVC the manifest declares that no Helm release annotated: a revision that rendered it would have
 *    annotated it (since Helm 3.2), so this upgrade takes it over (--take-ownership), data and all, as at an install.
 *    A warning while a live pod mounts it (a running app moved under Helm), or when it was created after the release's
 *    first install: the release's own (rendered by a Helm older than 3.2, which set no annotations; a claim of its
 *    StatefulSet declared now as a document) or one made by hand since.
 *  - one annotated for this release, kept by `helm.sh/resource-policy` (any value), created before the release's first
 *    install (FIRST_DEPLOYED_MARGIN_MS, first_deployed readable): kept from an earlier install of that name. If this
 *    release's install declared it, that install was judged on it (adopted-by-helm); if only this upgrade does, it is
 *    adopted now, silently. What tells them apart: a release using it has a pod mounting it, so one no live pod mounts
 *    is refused (the reuse approval waives it for good), one mounted passes.
 * A rollback is not judged so: Helm's update fails on an existing object the current revision does not render.
 */
function claimsAdoptedByUpgrade(snapshot: ClusterSnapshot, target: OrphanPvcTarget, add: (candidate: Candidate) => void): void {
  const { release, manifest } = target;
  for (const declared of manifest.persistentVolumeClaims) {
    const claim = snapshot.persistentVolumeClaim(declared.namespace, declared.name);
    if (claim === undefined || isUnbound(claim)) continue;
    if (claim.annotations[HELM_RELEASE_NAME_ANNOTATION] === undefined) {
      const inUse = otherLiveMounter(snapshot, claim) !== undefined;
      const since = createdSince(claim.creationTimestamp, release.firstDeployed);
      add({
        claim,
        rule: 'adopted-by-helm',
        reason: since
          ? `exists, not Helm's, created since this release's first install: this upgrade takes it over (--take-ownership)`
          : inUse
            ? `exists, not Helm's, in use: this upgrade takes it over (--take-ownership), data and all`
            : `exists, not Helm's: this upgrade takes it over (--take-ownership) with its old data`,
        ...(since || inUse ? { severity: 'warning' as const } : {}),
      });
      continue;
    }
    if (!isAnnotatedForRelease(claim, release) || claim.annotations[HELM_RESOURCE_POLICY_ANNOTATION] === undefined) continue;
    if (!createdLongBefore(claim.creationTimestamp, release.firstDeployed) || mountedByLivePod(snapshot, claim)) continue;
    add({
      claim,
      rule: 'adopted-by-helm',
      reason:
        `kept from an earlier install of release ${release.name} (created before this one's first_deployed), mounted by no pod; ` +
        'unless the previous revision declared it, this upgrade adopts it with its old data',
    });
  }
}

/**
 * Why a reuse approval the PVC carries does not count, for its finding's reason ('' when it carries none, or it
 * counts): an admin who wrote `reuse: "True"` or forgot `skip-by` reads why the refusal still names the PVC.
 */
export function unhonoredReuse(annotations: Readonly<Record<string, string>>, now: number = Date.now()): string {
  const value = annotations[REUSE_KEY];
  if (value === undefined || reuseApprovedIn(annotations, now)) return '';
  // Quoted as JSON: a value holding a line break or quotes stays on the finding's line.
  if (value !== 'true') return `reuse: ${JSON.stringify(value.slice(0, 12))}${value.length > 12 ? '…' : ''} ignored, only "true" counts`;
  const lifecycle = overrideLifecycle(annotations, now);
  if (lifecycle.writer === '') return `reuse ignored: no ${SKIP_BY_KEY}`;
  return `reuse ignored: ${lifecycle.expiredOrInvalid ?? 'not honored'}`;
}

function pvcFinding(candidate: Candidate, tags: readonly string[]): Finding {
  const { claim } = candidate;
  const related: AffectedObject[] = [];
  // A Lost claim's PV is gone: its reason names it, as no object affected.
  if (claim.volumeName !== '' && candidate.lost !== true) related.push({ kind: 'PersistentVolume', name: claim.volumeName });
  if (candidate.statefulSet !== undefined) related.push(candidate.statefulSet);
  // The note first: a finding's line is cut at its end when long, and the note answers the admin who approved it.
  const unhonored = unhonoredReuse(claim.annotations);
  const reason = unhonored === '' ? candidate.reason : `${unhonored}; ${candidate.reason}`;
  const worded = isUnbound(claim) && candidate.lost !== true ? [...tags, UNBOUND_TAG] : tags;
  return { check: 'orphan-pvc', severity: candidate.severity ?? 'critical', object: claimObject(claim), reason, tags: worded, related };
}

/**
 * The orphan-pvc findings for a release revision, at most `cap.limit` built (all counted). Tags: the rule(s)
 * that found it, plus `reuse-approved` when the PVC carries `volume-guard.io/reuse: "true"`, `unbound` when no PV
 * is bound to it.
 */
export function collectOrphanPvc(snapshot: ClusterSnapshot, target: OrphanPvcTarget, cap: CapOptions = NO_CAP): CappedFindings {
  const collector = new FindingCollector(cap, target.limit);
  const statefulSetFindings: Finding[] = [];
  const addStatefulSet = (statefulSet: StatefulSetRecord, rule: OrphanPvcRule, reason: string): void => {
    statefulSetFindings.push({
      check: 'orphan-pvc',
      severity: 'warning',
      object: statefulSetObject(statefulSet.namespace, statefulSet.name),
      reason,
      tags: [rule],
    });
  };
  for (const { candidate, rules } of candidatesFor(snapshot, target, addStatefulSet).values()) {
    const tags: string[] = [...rules];
    if (candidate.shared === true) tags.push(SHARED_CLAIM_TAG);
    if (isReuseApproved(candidate.claim)) tags.push(REUSE_APPROVED_TAG);
    if (collector.admit(tags)) collector.add(pvcFinding(candidate, tags));
  }
  for (const finding of statefulSetFindings) {
    if (collector.admit(finding.tags)) collector.add(finding);
  }
  return collector.result();
}

/** A statefulset-claim finding for a PVC a StatefulSet would re-attach (tagged reuse-approved when approved), if admitted. */
function addStatefulSetClaim(
  snapshot: ClusterSnapshot,
  collector: FindingCollector,
  claim: PersistentVolumeClaimRecord,
  namespace: string,
  statefulSetName: string,
  reason: string,
  shared = false,
  severity?: 'warning',
): void {
  const tags: string[] = ['statefulset-claim'];
  if (shared) tags.push(SHARED_CLAIM_TAG);
  if (isReuseApproved(claim)) tags.push(REUSE_APPROVED_TAG);
  if (!collector.admit(tags)) return;
  const candidate: Candidate = {
    claim,
    rule: 'statefulset-claim',
    reason,
    statefulSet: statefulSetObject(namespace, statefulSetName),
    ...(severity === undefined ? {} : { severity }),
  };
  collector.add(pvcFinding(lostForGood(snapshot, claim) ? lostClaim(candidate) : candidate, tags));
}

/**
 * orphan-pvc for a StatefulSet created outside Helm (kubectl apply, kustomize, Argo CD and Flux rendering charts):
 * the PVCs it will claim at its declared size that already exist with no live owner, no pod mounting them and no
 * deletion pending. The StatefulSet controller would attach each one, old data included. Tagged `statefulset-claim`
 * (and `reuse-approved` when annotated so).
 */
export function collectStatefulSetAdoption(
  snapshot: ClusterSnapshot,
  statefulSet: ManifestStatefulSet,
  cap: CapOptions = NO_CAP,
): CappedFindings {
  const collector = new FindingCollector(cap);
  // A live StatefulSet of the same name cannot exist at its CREATE: one the model holds is gone, unless being orphaned.
  const replaced = replacedStatefulSet(snapshot, statefulSet.namespace, statefulSet.name, 'created');
  for (const { claim } of claimsOfManifestStatefulSet(snapshot, statefulSet)) {
    if (claim.deleting) continue;
    // One of another name may claim it too.
    const other = otherClaimant(snapshot, claim, statefulSet.name);
    if (other !== undefined) {
      addStatefulSetClaim(snapshot, collector, claim, statefulSet.namespace, statefulSet.name, sharedReason(statefulSet.name, other.name), true);
      continue;
    }
    if (hasLiveOwnerReference(snapshot, claim, replaced) || inUseByItsStatefulPod(snapshot, claim, replaced)) continue;
    const withPod = sharedWithPod(snapshot, claim, replaced);
    addStatefulSetClaim(
      snapshot,
      collector,
      claim,
      statefulSet.namespace,
      statefulSet.name,
      withPod === ''
        ? `exists with no owner and no pod using it${unboundNote(claim)}; StatefulSet ${statefulSet.name} ${adoptionTakes(claim)}`
        : `exists with no owner and no pod of its own using it${unboundNote(claim)}; StatefulSet ${statefulSet.name} ${adoptionTakes(claim)}${withPod}`,
    );
  }
  return collector.result();
}

export const orphanPvcCheck: Check<OrphanPvcTarget> = (snapshot, target) => collectOrphanPvc(snapshot, target).findings;

// ------------------------------------------------------------------------------------------------ uninstall

export type LeftBehindReason = 'statefulset-claim' | 'release-labelled' | 'resource-policy-keep';

/** A PVC that `helm uninstall` of the release leaves in the cluster, with its data. */
export interface LeftBehindPvc {
  readonly namespace: string;
  readonly name: string;
  /** The bound PV, '' when unbound. */
  readonly volumeName: string;
  /** That PV's persistentVolumeReclaimPolicy (Retain keeps the data even after the PVC is deleted), '' when unknown. */
  readonly reclaimPolicy: string;
  readonly why: LeftBehindReason;
  /** The StatefulSet that claimed it, for `statefulset-claim`. */
  readonly statefulSet?: string;
}

/**
 * The reclaim policy of the PV a claim is bound to, as the PV controller carries it out ('' unbound or its PV unseen):
 * what happens to its data (effectiveReclaimPolicy).
 */
export function claimReclaimPolicy(snapshot: ClusterSnapshot, claim: PersistentVolumeClaimRecord): string {
  return claim.volumeName === '' ? '' : effectiveReclaimPolicy(snapshot.persistentVolume(claim.volumeName));
}

/**
 * The PVCs that uninstalling this release leaves behind, for the warning at its `uninstalling` UPDATE (an uninstall
 * cannot be stopped cleanly, so it is never denied): PVCs of its StatefulSets (from the manifest and the live ones
 * Helm annotated for it), manifest PVCs marked `helm.sh/resource-policy: keep`, and other PVCs labelled for the
 * release. Left out: PVCs Helm deletes (declared in the manifest without keep), PVCs the garbage collector deletes
 * with their StatefulSet (retention policy whenDeleted: Delete sets that owner reference), PVCs being deleted, and the
 * claims of a live StatefulSet the manifest marks `helm.sh/resource-policy` (Helm leaves it: they stay with it).
 * Throws ManifestError when `manifest` is omitted and the release's manifest cannot be parsed.
 */
export function pvcsLeftBehind(
  snapshot: ClusterSnapshot,
  release: HelmRelease,
  manifest: ParsedManifest = parseManifest(release.manifest, release.namespace),
): LeftBehindPvc[] {
  const left = new Map<string, LeftBehindPvc>();
  const deletedByHelm = manifest.persistentVolumeClaims.filter((p) => !p.keep).map((p) => `${p.namespace}/${p.name}`);
  const keptStatefulSets = new Set(manifest.statefulSets.filter((s) => s.keep).map((s) => `${s.namespace}/${s.name}`));
  // Kept and live: Helm leaves the StatefulSet, whose pods go on using its claims (a later install adopts it). One
  // already gone or being deleted keeps nothing: its claims are left behind.
  const stayingStatefulSets = new Set<string>();
  for (const s of manifest.statefulSets) {
    const live = s.keep ? snapshot.statefulSet(s.namespace, s.name) : undefined;
    if (live !== undefined && live.deleting !== true) stayingStatefulSets.add(`${s.namespace}/${s.name}`);
  }
  /** PVCs that go with the release: declared without keep (Helm deletes them) or owned by a deleted StatefulSet. */
  const goesAway = new Set(deletedByHelm);
  const add = (claim: PersistentVolumeClaimRecord, why: LeftBehindReason, statefulSet?: string): void => {
    const key = `${claim.namespace}/${claim.name}`;
    if (claim.deleting || left.has(key) || goesAway.has(key)) return;
    const reclaimPolicy = claimReclaimPolicy(snapshot, claim);
    left.set(key, {
      namespace: claim.namespace,
      name: claim.name,
      volumeName: claim.volumeName,
      reclaimPolicy,
      why,
      ...(statefulSet !== undefined ? { statefulSet } : {}),
    });
  };

  const statefulSets = new Map<string, { namespace: string; name: string; claimTemplates: readonly string[] }>();
  for (const s of manifest.statefulSets) {
    // Taken over by another release (helm --take-ownership): its PVCs are that release's data, not left behind
    // by this one (Helm 4 leaves the StatefulSet to its owner; the uninstall warning says what Helm 3 does).
    const live = snapshot.statefulSet(s.namespace, s.name);
    if (live !== undefined && otherOwner(live.helmReleaseName, live.helmReleaseNamespace, live.namespace, release) !== undefined) continue;
    statefulSets.set(`${s.namespace}/${s.name}`, s);
  }
  // Operators' StatefulSets annotated for the release count too (annotatedStatefulSetsOfRelease): the uninstall deletes
  // the release's resource they were made for, and the garbage collector them with it, their PVCs left behind.
  for (const s of annotatedStatefulSetsOfRelease(snapshot, release, manifest)) {
    const key = `${s.namespace}/${s.name}`;
    const declared = statefulSets.get(key);
    const claimTemplates = [...new Set([...(declared?.claimTemplates ?? []), ...s.claimTemplates])];
    statefulSets.set(key, { namespace: s.namespace, name: s.name, claimTemplates });
  }
  // The StatefulSets the uninstall deletes: a claim one of them owns goes with it, unless another owner stays.
  const going = new Set<string>();
  for (const [key, statefulSet] of statefulSets) {
    const liveUid = snapshot.statefulSet(statefulSet.namespace, statefulSet.name)?.uid;
    if (liveUid !== undefined && !keptStatefulSets.has(key)) going.add(liveUid);
  }
  for (const [key, statefulSet] of statefulSets) {
    if (stayingStatefulSets.has(key)) continue;
    const liveUid = snapshot.statefulSet(statefulSet.namespace, statefulSet.name)?.uid;
    const deletedWithStatefulSet = (claim: PersistentVolumeClaimRecord): boolean =>
      !keptStatefulSets.has(key) &&
      liveUid !== undefined &&
      claim.ownerReferences.some((owner) => owner.kind === 'StatefulSet' && owner.uid === liveUid) &&
      stayingOwner(snapshot, claim, going) === undefined;
    for (const { claim } of existingClaims(snapshot, statefulSet.namespace, statefulSet.name, statefulSet.claimTemplates, () => true)) {
      // Also the claim of a StatefulSet outside the release (the names collide): it stays in use there.
      const other = otherClaimant(snapshot, claim, statefulSet.name);
      if (other !== undefined && !statefulSets.has(`${other.namespace}/${other.name}`)) continue;
      if (deletedWithStatefulSet(claim)) goesAway.add(`${claim.namespace}/${claim.name}`);
      else add(claim, 'statefulset-claim', statefulSet.name);
    }
  }
  for (const declared of manifest.persistentVolumeClaims) {
    const claim = declared.keep ? snapshot.persistentVolumeClaim(declared.namespace, declared.name) : undefined;
    if (claim !== undefined) add(claim, 'resource-policy-keep');
  }
  for (const claim of snapshot.persistentVolumeClaimsOfRelease(release.namespace, release.name)) {
    // A live StatefulSet the release does not have claims it (taken over by another release, or kept), or one of its
    // own it keeps: it stays with that StatefulSet, in use, not left behind for this release's next install.
    const owner = claimedByAnyLiveStatefulSet(snapshot, claim);
    const ownerKey = owner === undefined ? undefined : `${owner.namespace}/${owner.name}`;
    if (ownerKey !== undefined && (!statefulSets.has(ownerKey) || stayingStatefulSets.has(ownerKey))) continue;
    // Annotated for another release (taken over with helm --take-ownership): that release's, which this one's next
    // install cannot adopt (Helm refuses an object another release owns).
    if (otherOwner(claim.annotations[HELM_RELEASE_NAME_ANNOTATION] ?? '', claim.annotations[HELM_RELEASE_NAMESPACE_ANNOTATION] ?? '', claim.namespace, release) !== undefined) continue;
    add(claim, 'release-labelled');
  }
  return [...left.values()];
}

/** A StatefulSet write raising its replicas (or moving its ordinals), outside Helm. */
export interface ScaleUpTarget {
  readonly namespace: string;
  readonly name: string;
  readonly claimTemplates: readonly string[];
  readonly replicas: number;
  readonly ordinalsStart: number;
  readonly previousReplicas: number;
  readonly previousStart: number;
  /** The StatefulSet's metadata.creationTimestamp. */
  readonly createdAt: string;
  /**
   * The Helm release the StatefulSet is annotated for (`meta.helm.sh/release-name`, `-namespace`, defaulting to the
   * StatefulSet's namespace), when it is: its claims labelled for that release are the release's own (ownedByRelease).
   */
  readonly helmRelease?: { readonly name: string; readonly namespace: string };
}

/**
 * orphan-pvc for a StatefulSet scaled up outside Helm (kubectl scale, an autoscaler, a GitOps sync): the PVCs at the
 * ordinals it newly claims that are older than the StatefulSet (left by an earlier one of that name), with no live
 * owner, no pod mounting them, no deletion pending. Its own scale-down leftovers are younger than it: they are meant
 * to come back. Tagged `statefulset-claim` (and `reuse-approved`).
 * One labelled (`app.kubernetes.io/instance` or `release`) for the Helm release the StatefulSet is annotated for, in
 * that release's namespace, is a warning only: the release's own claim, kept by whenScaled Retain from before the
 * StatefulSet was re-created (`kubectl delete sts --cascade=orphan`, then `helm upgrade`), which Kubernetes keeps so
 * that a scale-up reuses it. The release's first_deployed, which at its record tells its own claims from an earlier
 * install's, is not in the model (volume-guard reads no Secret); what stands for it: that release's install was
 * refused over every PVC labelled for it that existed then (release-labelled), so one still there was made by the
 * release, or taken over with an admin's approval or override.
 */
export function collectScaleUpAdoption(snapshot: ClusterSnapshot, target: ScaleUpTarget, cap: CapOptions = NO_CAP): CappedFindings {
  const collector = new FindingCollector(cap);
  const before = { replicas: target.previousReplicas, ordinalsStart: target.previousStart };
  const after = { replicas: target.replicas, ordinalsStart: target.ordinalsStart };
  for (const { claim } of existingClaims(snapshot, target.namespace, target.name, target.claimTemplates, (o) => ordinalInRange(o, after) && !ordinalInRange(o, before))) {
    if (claim.deleting) continue;
    const other = otherClaimant(snapshot, claim, target.name);
    if (other !== undefined) {
      addStatefulSetClaim(snapshot, collector, claim, target.namespace, target.name, sharedReason(target.name, other.name), true);
      continue;
    }
    if (!olderThan(claim.creationTimestamp, target.createdAt)) continue;
    if (hasLiveOwnerReference(snapshot, claim) || inUseByItsStatefulPod(snapshot, claim)) continue;
    const release = target.helmRelease;
    if (release !== undefined && release.namespace === claim.namespace && RELEASE_LABELS.some((label) => claim.labels[label] === release.name)) {
      addStatefulSetClaim(
        snapshot,
        collector,
        claim,
        target.namespace,
        target.name,
        `kept from an earlier StatefulSet ${target.name}, labelled for its Helm release ${release.name}${unboundNote(claim)}; ` +
          `${claimingChange(`StatefulSet ${target.name}`, after, target.previousStart, 'scaling')} re-attaches it (that release's own)${sharedWithPod(snapshot, claim)}`,
        false,
        'warning',
      );
      continue;
    }
    addStatefulSetClaim(
      snapshot,
      collector,
      claim,
      target.namespace,
      target.name,
      `left by an earlier StatefulSet ${target.name}${unboundNote(claim)}; ${claimingChange('it', after, target.previousStart, 'scaling')} ${adoptionTakes(claim)}${sharedWithPod(snapshot, claim)}`,
    );
  }
  return collector.result();
}

/**
 * The PVCs a scale-up of a StatefulSet volume-guard has not seen yet (created a moment ago) may re-attach, as far as
 * their names tell without its claim templates: named `<template>-<name>-<ordinal>` for an ordinal `acceptOrdinal`
 * takes, created before the StatefulSet (`createdAt`, when known: its own scale-down leftovers are younger), not
 * being deleted, and either claimed by another live StatefulSet through its templates (the names may collide) or with
 * no live owner (a StatefulSet of that name the model holds is an earlier one) and not in use by its own StatefulSet
 * pod. What collectScaleUpAdoption may refuse once the model has the StatefulSet.
 */
export function claimsNamedForUnseenStatefulSet(
  snapshot: ClusterSnapshot,
  namespace: string,
  name: string,
  acceptOrdinal: (ordinal: number) => boolean,
  createdAt: string,
): PersistentVolumeClaimRecord[] {
  const middle = `-${name}-`;
  const found: PersistentVolumeClaimRecord[] = [];
  // The one of that name the model holds, if any, is an earlier one (created before it): its pods go with it, unless orphaned.
  const replaced = replacedStatefulSet(snapshot, namespace, name, 'proven');
  for (const claim of snapshot.persistentVolumeClaimsIn(namespace)) {
    const at = claim.name.lastIndexOf(middle);
    if (at <= 0 || claim.deleting) continue;
    const ref = claimOf(claim.name, { name, claimTemplates: [claim.name.slice(0, at)] });
    if (ref === undefined || !acceptOrdinal(ref.ordinal)) continue;
    if (createdAt !== '' && !olderThan(claim.creationTimestamp, createdAt)) continue;
    // Another live StatefulSet's claim is refused in use or not (its name may be this one's too), as at a CREATE.
    if (otherClaimant(snapshot, claim, name) === undefined && (hasLiveOwnerReference(snapshot, claim, name) || inUseByItsStatefulPod(snapshot, claim, replaced))) continue;
    found.push(claim);
  }
  return found;
}

// ------------------------------------------------------------------------------------------------ ownership

/** A StatefulSet or PVC a release's manifest declares whose live object Helm annotated for another release. */
export interface OwnedElsewhere {
  readonly kind: 'StatefulSet' | 'PersistentVolumeClaim';
  readonly namespace: string;
  readonly name: string;
  /** The release the live object is annotated for (`meta.helm.sh/release-name`), `ns/name`. */
  readonly owner: string;
}

function otherOwner(name: string, namespace: string, objectNamespace: string, release: HelmRelease): string | undefined {
  if (name === '') return undefined;
  const ownerNamespace = namespace || objectNamespace;
  return name === release.name && ownerNamespace === release.namespace ? undefined : `${ownerNamespace}/${name}`;
}

/**
 * The manifest's StatefulSets and PVCs that live now annotated for another Helm release: taken over with
 * `helm --take-ownership` (Helm 3.17+, 4), by this release from another one at an install or upgrade, or from this
 * release by another one at its uninstall. Helm deletes what the previous revision rendered and the new one does
 * not, whoever owns it now (upgrades, Helm 3 and 4; uninstalls, Helm 3: Helm 4 skips objects another release owns).
 */
export function ownedByOtherReleases(snapshot: ClusterSnapshot, release: HelmRelease, manifest: ParsedManifest): OwnedElsewhere[] {
  const found: OwnedElsewhere[] = [];
  for (const declared of manifest.statefulSets) {
    const live = snapshot.statefulSet(declared.namespace, declared.name);
    const owner = live && otherOwner(live.helmReleaseName, live.helmReleaseNamespace, live.namespace, release);
    if (owner) found.push({ kind: 'StatefulSet', namespace: declared.namespace, name: declared.name, owner });
  }
  for (const declared of manifest.persistentVolumeClaims) {
    const live = snapshot.persistentVolumeClaim(declared.namespace, declared.name);
    const owner =
      live && otherOwner(live.annotations[HELM_RELEASE_NAME_ANNOTATION] ?? '', live.annotations[HELM_RELEASE_NAMESPACE_ANNOTATION] ?? '', live.namespace, release);
    if (owner) found.push({ kind: 'PersistentVolumeClaim', namespace: declared.namespace, name: declared.name, owner });
  }
  return found;
}

/**
 * At an upgrade or rollback: live StatefulSets of the release's namespace that the new manifest does not render, now
 * annotated for another release, whose PVCs carry this release's label, and PVCs labelled for this release, now
 * annotated for another release, that it does not render: most likely taken over from this release
 * (`helm --take-ownership`). If the previous revision still rendered one, Helm deletes it now (it deletes what the
 * last revision rendered, whoever owns it: Helm 3 and 4). volume-guard cannot read that revision: a warning.
 */
export function takenOverFromRelease(snapshot: ClusterSnapshot, release: HelmRelease, manifest: ParsedManifest): OwnedElsewhere[] {
  const rendered = new Set(manifest.statefulSets.map((s) => `${s.namespace}/${s.name}`));
  const declared = new Set(manifest.persistentVolumeClaims.map((p) => `${p.namespace}/${p.name}`));
  const found = new Map<string, OwnedElsewhere>();
  for (const claim of snapshot.persistentVolumeClaimsOfRelease(release.namespace, release.name)) {
    // A PVC document now annotated for another release, still labelled for this one: taken over the same way.
    const claimOwner = otherOwner(claim.annotations[HELM_RELEASE_NAME_ANNOTATION] ?? '', claim.annotations[HELM_RELEASE_NAMESPACE_ANNOTATION] ?? '', claim.namespace, release);
    if (claimOwner !== undefined && !declared.has(`${claim.namespace}/${claim.name}`)) {
      // Kept by its live `helm.sh/resource-policy: keep` (exactly): Helm reads it there and deletes nothing.
      if (claim.annotations[HELM_RESOURCE_POLICY_ANNOTATION] === 'keep') continue;
      found.set(`PersistentVolumeClaim ${claim.namespace}/${claim.name}`, { kind: 'PersistentVolumeClaim', namespace: claim.namespace, name: claim.name, owner: claimOwner });
      continue;
    }
    const live = claimedByAnyLiveStatefulSet(snapshot, claim);
    if (live === undefined || rendered.has(`${live.namespace}/${live.name}`)) continue;
    const owner = otherOwner(live.helmReleaseName, live.helmReleaseNamespace, live.namespace, release);
    if (owner === undefined || live.helmReleaseName === '') continue;
    // Kept by its live `helm.sh/resource-policy: keep` (exactly), as a taken-over PVC above: Helm deletes nothing.
    if (live.helmKeep) continue;
    found.set(`${live.namespace}/${live.name}`, { kind: 'StatefulSet', namespace: live.namespace, name: live.name, owner });
  }
  return [...found.values()];
}

/** A PVC approved for reuse that a StatefulSet created by this revision adopts under whenDeleted: Delete. */
export interface ReusedIntoDeletingStatefulSet {
  readonly namespace: string;
  readonly name: string;
  readonly statefulSet: string;
}

/**
 * The PVCs carrying a counting `volume-guard.io/reuse` that a StatefulSet this revision creates (none of that name is
 * live) will claim while its retention says whenDeleted: Delete. The StatefulSet controller makes the StatefulSet an
 * owner of every claim of its pods under that policy, adopted ones included (updateClaimOwnerRefForSetAndPod), so the
 * reused data goes with the StatefulSet: at `helm uninstall`, and when an install or upgrade that fails is undone
 * (`--atomic`, `--rollback-on-failure`, Flux's remediation uninstalling or rolling back). Nothing is lost by the
 * revision itself: said, not refused.
 */
export function reusedIntoDeletingStatefulSets(snapshot: ClusterSnapshot, manifest: ParsedManifest, now: number = Date.now()): ReusedIntoDeletingStatefulSet[] {
  const found: ReusedIntoDeletingStatefulSet[] = [];
  for (const statefulSet of manifest.statefulSets) {
    if (statefulSet.retentionPolicy.whenDeleted !== 'Delete' || snapshot.statefulSet(statefulSet.namespace, statefulSet.name) !== undefined) continue;
    for (const { claim } of claimsOfManifestStatefulSet(snapshot, statefulSet)) {
      if (claim.deleting || hasLiveOwnerReference(snapshot, claim) || !reuseApprovedIn(claim.annotations, now)) continue;
      found.push({ namespace: claim.namespace, name: claim.name, statefulSet: statefulSet.name });
    }
  }
  return found;
}

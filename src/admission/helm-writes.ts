// Which writes of an object Helm manages count as Helm's own. Helm annotates every object it creates for a release
// (`meta.helm.sh/release-name`, `-namespace`), and a Helm upgrade is judged at its release record, before Helm
// touches anything: judging Helm's later writes again could refuse one half way and leave the upgrade half applied.
// The annotation stays on the object, though, whoever writes it next: `kubectl set image`, Flux's
// kustomize-controller or Argo CD taking the object over, Rancher, Lens, Terraform, any client-go tool. None of them
// is judged at a release record, so the annotation alone must not pass them. Helm is recognised by the request's
// field manager (`request.options.fieldManager`):
// - a name starting with `helm` (any case): Helm names itself by its binary (`helm`; Helm 4 pins `helm`), Flux's
//   helm-controller `helm-controller` (Helm's pkg/kube getManagedFieldsManager, helm-controller's main);
// - the manager that owns the release annotation in the stored object's metadata.managedFields: a tool built on
//   Helm's library under a name of its own (it set the annotation when it installed the release). Only an UPDATE
//   has a stored object (oldObject); a CREATE under such a name is judged;
// - none at all: Helm before 3.7 sent none, and nothing in the request tells it from another client that sends none
//   (some UIs). Taken as Helm's, as before; the README says so.
// kubectl's managers (`kubectl-set`, `kubectl-edit`, `kubectl-patch`, `kubectl-client-side-apply`, `kubectl` for
// server-side apply, ...) are never Helm's, even when they own the annotation (`kubectl annotate` to let Helm adopt an
// object). A client may pass any field manager: documented in the README.
// One Helm-named writer also writes without a release record: Flux's helm-controller corrects drift
// (`driftDetection.mode: enabled`) by patching the drifted objects of a release as `helm-controller`, and that
// patch was judged nowhere (AdmittedReleases).
import { PendingRemovals } from '../cluster/pending-removals.ts';
import { releaseAnnotationOwnerFields } from '../cluster/transforms.ts';
import { arrayAt, objectAt, stringAt } from '../json.ts';
import { HELM_RELEASE_NAME_ANNOTATION, HELM_RELEASE_NAMESPACE_ANNOTATION } from '../kube.ts';
import { stringField, type StringMap } from './objects.ts';
import type { AdmissionRequest } from './types.ts';

/** kubectl's field managers: `kubectl` itself (server-side apply) and every `kubectl-<command>`. */
const KUBECTL_FIELD_MANAGER = /^kubectl(?:-|$)/;
/**
 * Helm's field managers by name: `helm`, `helm-controller`, `Helm`..., and tools built on Helm's library whose name
 * does not stay the same from one release of theirs to the next or is their binary's (so ownership of the release
 * annotation, recorded under an earlier name, would not tell): Terraform's Helm provider
 * (`terraform-provider-helm_v2.13.0_x5`), Rancher Fleet's agent (`fleetagent`, which runs Harvester's upgrades), Zarf.
 */
const HELM_FIELD_MANAGER = /^(?:helm|terraform-provider-helm|fleetagent|zarf)/i;

/**
 * CEL for a matchCondition: the request names Helm as its field manager, or names none (request.options may be
 * null). Case-sensitive where the handler is not (`HELM` is sent and decided there): it may only let through less.
 */
export const HELM_OR_NO_FIELD_MANAGER_CEL =
  "(!has(request.options) || request.options == null || !has(request.options.fieldManager) || request.options.fieldManager == '' || " +
  "request.options.fieldManager.startsWith('helm') || request.options.fieldManager.startsWith('Helm'))";

/** What tells Helm's write: the field manager, and the stored object (absent at a CREATE). */
type HelmWriteRequest = Pick<AdmissionRequest, 'options'> & Partial<Pick<AdmissionRequest, 'oldObject'>>;

/** The request's field manager (`request.options.fieldManager`), '' when none was sent. */
export function fieldManagerOf(request: Pick<AdmissionRequest, 'options'>): string {
  return stringField(request.options, 'fieldManager');
}

/** The write was made by a kubectl command (see the file's comment). */
export function writtenWithKubectl(request: Pick<AdmissionRequest, 'options'>): boolean {
  return KUBECTL_FIELD_MANAGER.test(fieldManagerOf(request));
}

/** `manager` owns the Helm release annotation in the object's metadata.managedFields. */
export function ownsReleaseAnnotation(object: unknown, manager: string): boolean {
  return releaseAnnotationOwnedBy(object, (owner) => owner === manager);
}

/** A manager `matches` accepts owns the Helm release annotation in the object's metadata.managedFields. */
function releaseAnnotationOwnedBy(object: unknown, matches: (manager: string) => boolean): boolean {
  for (const entry of arrayAt(objectAt(object, 'metadata'), 'managedFields')) {
    if (matches(stringAt(entry, 'manager')) && releaseAnnotationOwnerFields(entry) !== undefined) return true;
  }
  return false;
}

/**
 * The write was made by Helm or a tool built on its library (see the file's comment). Owning the release annotation
 * beside a Helm-named manager does not count: server-side apply makes every manager applying the same value a
 * co-owner, so that is a later applier (Argo CD, Flux's kustomize-controller applying an exported manifest), not the
 * tool that installed the release.
 */
export function writtenByHelm(request: HelmWriteRequest): boolean {
  const manager = fieldManagerOf(request);
  if (manager === '' || HELM_FIELD_MANAGER.test(manager)) return true;
  return (
    !KUBECTL_FIELD_MANAGER.test(manager) &&
    ownsReleaseAnnotation(request.oldObject, manager) &&
    !releaseAnnotationOwnedBy(request.oldObject, (owner) => HELM_FIELD_MANAGER.test(owner))
  );
}

/**
 * Annotated by Helm for a release of its own namespace (Helm writes both annotations on every object it creates).
 * A release record is judged in its own namespace only, so an object a release creates in another namespace is not
 * covered by it. Without `namespace`, any release counts.
 */
export function isHelmManaged(annotations: StringMap, namespace?: string): boolean {
  const releaseNamespace = annotations[HELM_RELEASE_NAMESPACE_ANNOTATION];
  return (
    (annotations[HELM_RELEASE_NAME_ANNOTATION] ?? '') !== '' &&
    (namespace === undefined || releaseNamespace === undefined || releaseNamespace === namespace)
  );
}

/**
 * Annotated for a release of `namespace` by Helm, or by hand for Helm to adopt: a Helm-named or kubectl field manager
 * owns the release annotation in the stored object's managedFields (Helm's documented adoption is `kubectl annotate`
 * then `helm upgrade`, whose patch leaves equal annotations to their writer). The annotation alone is no proof: a
 * GitOps controller's apply (argocd-controller, kustomize-controller, which cannot name another manager) would extend
 * the namespace's skip for its Helm releases to what it prunes.
 */
export function isAnnotatedByHelm(object: unknown, annotations: StringMap, namespace?: string): boolean {
  return isHelmManaged(annotations, namespace) && releaseAnnotationOwnedBy(object, (owner) => HELM_FIELD_MANAGER.test(owner) || KUBECTL_FIELD_MANAGER.test(owner));
}

/** Helm's own write of an object it manages: judged at the release record, not here (see the file's comment). */
export function isHelmsOwnWrite(request: HelmWriteRequest, annotations: StringMap, namespace?: string): boolean {
  return isHelmManaged(annotations, namespace) && writtenByHelm(request);
}

/** Flux's helm-controller: its upgrades write a release record first, its drift correction none. */
export const FLUX_HELM_CONTROLLER_FIELD_MANAGER = 'helm-controller';

/**
 * How long an admitted release record makes the release's `helm-controller` writes count as Helm's own: Helm writes
 * the objects right after the pre-upgrade hooks, which run within the operation's timeout (helm-controller's
 * `spec.timeout`, 5 minutes by default). No longer: a drift correction at the next reconcile (`spec.interval`,
 * often 5 to 10 minutes) writes as the same manager, and must be judged.
 */
export const ADMITTED_RELEASE_TTL_MS = 5 * 60_000;
/** At most this many admitted releases are remembered; past it the oldest is forgotten. */
export const MAX_ADMITTED_RELEASES = 1024;

/**
 * The releases (release namespace and name) of which this volume-guard pod allowed an install, upgrade or rollback
 * record in the last ADMITTED_RELEASE_TTL_MS (not a dry run). Flux's helm-controller writes as `helm-controller`
 * both when it upgrades (after its record, judged there) and when it corrects drift (no record at all: reverting an
 * autoscaler's or `kubectl scale`'s replicas under whenScaled: Delete deletes claims). A `helm-controller` write
 * counts as Helm's own only while its release is remembered here; otherwise it is judged, by the overrides the
 * record honors too (the PVCs' approvals, the namespace's skip: helm-controller sets no release labels), so that an
 * upgrade whose record another volume-guard replica allowed gets the same answer at its StatefulSet write.
 * In memory, per pod.
 */
export class AdmittedReleases {
  readonly #entries: PendingRemovals<true>;

  constructor(ttlMs = ADMITTED_RELEASE_TTL_MS, maxEntries = MAX_ADMITTED_RELEASES) {
    this.#entries = new PendingRemovals<true>(ttlMs, maxEntries);
  }

  admitted(namespace: string, name: string, now: number): void {
    this.#entries.set(admittedKey(namespace, name), true, now);
  }

  /** A record of the release `namespace/name` was allowed here in the last ADMITTED_RELEASE_TTL_MS. */
  recently(namespace: string, name: string, now: number): boolean {
    if (this.#entries.size === 0) return false;
    this.#entries.expire(now);
    return this.#entries.get(admittedKey(namespace, name)) === true;
  }
}

const admittedKey = (namespace: string, name: string): string => `${namespace}\0${name}`;

/** The pod's: the helm-release validator records into it, the pvc-delete validator reads it. */
export const ADMITTED_RELEASES = new AdmittedReleases();

/**
 * Helm's own write (isHelmsOwnWrite) that its release record covers: any Helm-named writer's but Flux's
 * helm-controller's when this pod allowed no record of the release lately (AdmittedReleases): its drift correction.
 */
export function isHelmsRecordedWrite(
  request: HelmWriteRequest,
  annotations: StringMap,
  namespace: string,
  admitted: AdmittedReleases,
  now: number,
): boolean {
  if (!isHelmsOwnWrite(request, annotations, namespace)) return false;
  if (fieldManagerOf(request) !== FLUX_HELM_CONTROLLER_FIELD_MANAGER) return true;
  return admitted.recently(namespace, annotations[HELM_RELEASE_NAME_ANNOTATION] ?? '', now);
}

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

// Which writes of an object Helm manages count as Helm's own. Helm annotates every object it creates for a release
// (`meta.helm.sh/release-name`, `-namespace`), and a Helm upgrade is judged at its release record, before Helm
// touches anything: judging Helm's later writes again could refuse one half way and leave the upgrade half applied.
// The annotation stays on the object, though, so it alone would also pass `kubectl set image`, `kubectl edit`,
// `kubectl patch` or `kubectl rollout undo` on that object, which no release record ever judged. Every kubectl
// command names itself in the request's field manager (`kubectl-set`, `kubectl-edit`, `kubectl-patch`,
// `kubectl-client-side-apply`, `kubectl` for server-side apply, ...); Helm names the binary it runs as (`helm`) and
// tools built on Helm's library their own (Flux's `helm-controller`). So a write with a kubectl field manager is
// judged as if Helm did not manage the object. (A client may pass any field manager: documented in the README.)
import { HELM_RELEASE_NAME_ANNOTATION, HELM_RELEASE_NAMESPACE_ANNOTATION } from '../kube.ts';
import { stringField, type StringMap } from './objects.ts';
import type { AdmissionRequest } from './types.ts';

/** kubectl's field managers: `kubectl` itself (server-side apply) and every `kubectl-<command>`. */
const KUBECTL_FIELD_MANAGER = /^kubectl(?:-|$)/;

/** CEL for a matchCondition: the request was made with a kubectl field manager (request.options may be null). */
export const KUBECTL_WRITE_CEL =
  "(has(request.options) && request.options != null && has(request.options.fieldManager) && request.options.fieldManager.startsWith('kubectl'))";

/** The request's field manager (`request.options.fieldManager`), '' when none was sent. */
export function fieldManagerOf(request: Pick<AdmissionRequest, 'options'>): string {
  return stringField(request.options, 'fieldManager');
}

/** The write was made by a kubectl command (see the file's comment). */
export function writtenWithKubectl(request: Pick<AdmissionRequest, 'options'>): boolean {
  return KUBECTL_FIELD_MANAGER.test(fieldManagerOf(request));
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

/** Helm's own write of an object it manages: judged at the release record, not here (see the file's comment). */
export function isHelmsOwnWrite(request: Pick<AdmissionRequest, 'options'>, annotations: StringMap, namespace?: string): boolean {
  return isHelmManaged(annotations, namespace) && !writtenWithKubectl(request);
}

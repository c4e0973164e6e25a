// The Kubernetes and Helm vocabulary every layer shares: admission operations, the requesting user, and the
// annotations Helm writes on the objects of a release. A leaf module: it imports nothing, so src/checks,
// src/cluster and src/config can use it without reaching up into src/admission.

/** Every operation an admission webhook can be called for. */
export const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] as const;

export type Operation = (typeof OPERATIONS)[number];

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

export interface GroupVersionResource {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
}

export interface UserInfo {
  readonly username: string;
  readonly uid?: string;
  readonly groups: readonly string[];
}

/** The user as a message names them. */
export function describeUser(user: Pick<UserInfo, 'username'>): string {
  return user.username || 'an unknown user';
}

/** Helm's annotations on every object of a release (Helm ≥ 3.2 adopts objects that carry them). */
export const HELM_RELEASE_NAME_ANNOTATION = 'meta.helm.sh/release-name';
export const HELM_RELEASE_NAMESPACE_ANNOTATION = 'meta.helm.sh/release-namespace';
/** `keep`: Helm leaves the object behind on uninstall and on upgrades that drop it (compared trimmed, lower-cased). */
export const HELM_RESOURCE_POLICY_ANNOTATION = 'helm.sh/resource-policy';

/**
 * Owner kinds the StatefulSet controller makes the controller of a claim it did not create, a claim Helm created
 * included: under a retention policy it adds a controller reference to the StatefulSet, or to the pod it scales away
 * (updateClaimOwnerRefForSetAndPod, addControllerRef). Such a reference says nothing of who created the claim.
 */
const CLAIM_ADOPTING_KINDS: readonly unknown[] = ['StatefulSet', 'Pod'];

/**
 * Helm's release annotations count only on an object no controller owns (but for the StatefulSet controller's claim
 * references above). Helm never sets an ownerReference on what it creates; an operator that copies its resource's
 * annotations onto what it builds (rabbitmq/cluster-operator: onto its StatefulSet and claim template, whose PVCs get
 * them from the template) makes that resource their controller. Such an object is in no revision's manifest: Helm
 * never writes nor deletes it, and no release record judges it.
 */
export function helmAnnotationsCount(ownerReferences: readonly unknown[]): boolean {
  return !ownerReferences.some(
    (ref) => typeof ref === 'object' && ref !== null && 'controller' in ref && ref.controller === true && !('kind' in ref && CLAIM_ADOPTING_KINDS.includes(ref.kind)),
  );
}

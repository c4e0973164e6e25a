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

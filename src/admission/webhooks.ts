// Validators' declarations → a ValidatingWebhookConfiguration and a MutatingWebhookConfiguration. Used to register
// volume-guard in tests and the local cluster; the chart renders the same shapes from the generated
// charts/volume-guard/files/webhooks.json.
import type { GuardedUpgradeKind } from '../config.ts';
import { celString, expandRules } from './rules.ts';
import { webhookPath, type LabelSelector, type MatchCondition, type WebhookDeclaration, type WorkloadKind } from './types.ts';

/** Namespaces whose objects volume-guard never judges (besides its own, added by the caller). */
export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system', 'kube-node-lease'];

/**
 * Namespaces other workloads share, never excluded as a whole even when volume-guard runs there: `default` (a `helm
 * install` without `-n` lands there), the namespaces of Harvester, Longhorn, Rancher, Fleet, Flux and Argo CD (whose
 * evictions and release records volume-guard judges: Longhorn's instance managers, Harvester's umbrella release), and
 * `kube-public`. There only its own pods and release records are skipped, by name.
 */
export const SHARED_NAMESPACES: readonly string[] = [
  'default',
  'kube-public',
  'harvester-system',
  'longhorn-system',
  'cattle-system',
  'cattle-fleet-system',
  'flux-system',
  'argocd',
];

/** The labels every object of the chart carries (`volume-guard.labels`): with the release's instance, its own objects. */
export const PART_OF_LABEL = 'app.kubernetes.io/part-of';
export const INSTANCE_LABEL = 'app.kubernetes.io/instance';
export const PART_OF = 'volume-guard';

export interface WebhookClient {
  /** `https://host:port` for a URL client config. */
  readonly url?: string;
  readonly service?: { readonly name: string; readonly namespace: string; readonly port: number };
  readonly caBundle?: string;
}

export interface WebhookOptions {
  readonly configurationName: string;
  readonly client: WebhookClient;
  /** What the declarations' upgrade-kinds entries stand for: `config.upgrades.kinds`. */
  readonly upgradeKinds: readonly GuardedUpgradeKind[];
  readonly failurePolicy?: 'Fail' | 'Ignore';
  readonly timeoutSeconds?: number;
  /** Namespaces workload webhooks skip besides the system ones. */
  readonly excludeNamespaces?: readonly string[];
  /** Omit matchConditions (Kubernetes before 1.28). */
  readonly matchConditions?: boolean;
  /**
   * Workload webhooks leave volume-guard's own namespace out (default true), unless it is one of SHARED_NAMESPACES.
   * false: only its own pods and release records are skipped, by name (matchConditions). Without matchConditions the
   * namespace is always left out: nothing else keeps volume-guard from blocking itself.
   */
  readonly excludeOwnNamespace?: boolean;
  /**
   * Where volume-guard itself runs: its namespace, the name prefix of its pods and its Helm release. Workload
   * webhooks skip its whole namespace (not a shared one, SHARED_NAMESPACES, nor with excludeOwnNamespace false) and
   * its own pods and release records by name (matchCondition); the owner-delete webhook skips the DELETEs of its own
   * objects (`ownObjects`).
   */
  readonly self?: SelfIdentity;
}

export interface SelfIdentity {
  readonly namespace: string;
  /** The name of volume-guard's Deployment (the chart's fullname): its pods are named after it. */
  readonly deployment: string;
  /** volume-guard's Helm release name ('' when not installed by Helm). */
  readonly release: string;
  /**
   * Other namespaces its release records may be kept in (`helm.storageNamespaces`): Flux's helm-controller writes
   * them to the HelmRelease's namespace (or `spec.storageNamespace`), e.g. flux-system.
   */
  readonly storageNamespaces?: readonly string[];
  /**
   * The objects its Helm release may consist of (the chart's `volume-guard.ownObjects`: every object the chart can
   * render for it, whatever the values turn on, so that an upgrade turning one off deletes it unjudged): the
   * owner-delete webhook skips the DELETEs of exactly these. None: it skips nothing.
   */
  readonly ownObjects?: readonly OwnObject[];
}

/** One object of volume-guard's release, as an admission request names it. */
export interface OwnObject {
  /** '' for a cluster-scoped object. */
  readonly namespace: string;
  /** The API group ('' for the core group). */
  readonly group: string;
  /** The resource (plural, lower case): `configmaps`, `clusterroles`. */
  readonly resource: string;
  readonly name: string;
}

/** `<namespace>/<group>/<resource>/<name>`, as the owner-delete condition forms it from a request (none holds a `/`). */
export function ownObjectKey(object: OwnObject): string {
  return `${object.namespace}/${object.group}/${object.resource}/${object.name}`;
}

/** `text` as a regular expression matching exactly it (the characters Go's regexp.QuoteMeta escapes; RE2 reads them alike). */
export function regexLiteral(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The API server cuts a generateName to 63 - 5 characters before appending 5 random ones. */
const GENERATE_NAME_BASE = 58;
/** A pod-template-hash: a 32-bit number's decimal digits re-encoded one for one (1-10 characters). */
const TEMPLATE_HASH_MAX = 10;

/**
 * Exactly the names of the pods of Deployment `name`: its ReplicaSets are `<name>-<pod-template-hash>`, their pods
 * get generateName `<replicaset>-`, cut to 58 characters, plus 5 random characters. A long name is cut within
 * the hash or the name itself; each such form is one alternative.
 */
export function deploymentPodNamePattern(name: string): string {
  const length = name.length;
  const quoted = regexLiteral(name);
  const forms: string[] = [];
  // `<name>-<hash>-` within 58 characters: the hash is at most 56 - length long.
  if (length + 3 <= GENERATE_NAME_BASE) forms.push(`${quoted}-[a-z0-9]{1,${Math.min(TEMPLATE_HASH_MAX, GENERATE_NAME_BASE - 2 - length)}}-[a-z0-9]{5}`);
  // Longer: the first 58 characters of `<name>-<hash>-`, then 5 random ones (63 in all).
  if (length + 2 + TEMPLATE_HASH_MAX > GENERATE_NAME_BASE && length + 1 <= GENERATE_NAME_BASE) forms.push(`${quoted}-[a-z0-9]{${63 - length - 1}}`);
  if (length + 1 > GENERATE_NAME_BASE) forms.push(`${regexLiteral(name.slice(0, GENERATE_NAME_BASE))}[a-z0-9]{5}`);
  return forms.length === 1 ? `^${forms[0]}$` : `^(?:${forms.join('|')})$`;
}

/** Exactly the names of a Helm release's records: `sh.helm.release.v1.<release>.v<revision>`. */
export function helmReleaseRecordPattern(release: string): string {
  return `^sh\\.helm\\.release\\.v1\\.${regexLiteral(release)}\\.v[0-9]+$`;
}

/** The names of volume-guard's own objects a workload webhook sees, as a regular expression (RE2, for CEL's matches()). */
export function selfNamePattern(workload: WorkloadKind, self: SelfIdentity): string {
  return workload === 'pods' ? deploymentPodNamePattern(self.deployment) : helmReleaseRecordPattern(self.release);
}

/**
 * The namespaces a workload webhook skips volume-guard's own objects in: its pods are in its namespace; its release
 * records there or, installed by a Helm SDK user (Flux), in a storage namespace. Were such a record judged, a
 * volume-guard that is down could never be repaired by Flux (its record's CREATE refused under failurePolicy Fail).
 */
export function selfNamespaces(workload: WorkloadKind, self: SelfIdentity): string[] {
  return workload === 'pods' ? [self.namespace] : [...new Set([self.namespace, ...(self.storageNamespaces ?? [])])];
}

/**
 * The matchCondition that keeps a workload webhook off volume-guard's own pods or release (the chart renders the same).
 * Exact names, not prefixes: another release `<release>.x` in the namespace, or a StatefulSet `<fullname>-db`, is judged.
 * A collection DELETE (the namespace controller's) is admitted item by item with no request.name: CEL then has no such
 * key, and an error there would fail the whole condition list, so the item is judged like any other.
 */
export function selfExclusionCondition(workload: WorkloadKind, self: SelfIdentity): MatchCondition {
  const namespaces = selfNamespaces(workload, self);
  const inNamespace =
    workload === 'pods' ? `request.namespace == ${celString(self.namespace)}` : `request.namespace in [${namespaces.map(celString).join(', ')}]`;
  return {
    name: 'not-volume-guard-itself',
    expression: `!(${inNamespace} && has(request.name) && request.name.matches(${celString(selfNamePattern(workload, self))}))`,
  };
}

/**
 * The matchCondition that keeps the owner-delete webhook (every DELETE by automation) off volume-guard's own objects:
 * exactly the objects of its release (`self.ownObjects`: namespace, group, resource and name), and only while they
 * carry the chart's labels (part-of volume-guard, this release's instance). Helm deletes the Service early in an
 * uninstall; every later DELETE would then go to a webhook nobody serves and fail, so a Flux or Argo CD uninstall of
 * volume-guard would only pass on a retry. Labels alone skip nothing: anyone may set them, on an object in the release
 * namespace (`default`) or on a cluster-scoped owner (a Capsule Tenant), whose PVCs a prune would then take unjudged.
 * On DELETE `object` is null: the labels are read from `oldObject`; a cluster-scoped request has no namespace, and the
 * items of a collection DELETE no name (they are judged).
 */
export function ownObjectsCondition(self: SelfIdentity): MatchCondition {
  const labels = 'oldObject.metadata.labels';
  const label = (key: string, value: string) => `${celString(key)} in ${labels} && ${labels}[${celString(key)}] == ${celString(value)}`;
  const keys = [...new Set((self.ownObjects ?? []).map(ownObjectKey))].sort();
  const key = "(has(request.namespace) ? request.namespace : '') + '/' + request.resource.group + '/' + request.resource.resource + '/' + request.name";
  return {
    name: 'not-volume-guard-objects',
    expression:
      `!(oldObject != null && has(request.name) && (${key}) in [${keys.map(celString).join(', ')}] && ` +
      `has(${labels}) && ${label(PART_OF_LABEL, PART_OF)} && ${label(INSTANCE_LABEL, self.release)})`,
  };
}

/** The conditions webhookConfiguration adds to a declaration's own for volume-guard itself (`self`). */
export function selfConditions(declaration: WebhookDeclaration, self: SelfIdentity): MatchCondition[] {
  return [
    ...(declaration.workload ? [selfExclusionCondition(declaration.workload, self)] : []),
    ...(declaration.ownObjects && self.release !== '' && self.ownObjects?.length ? [ownObjectsCondition(self)] : []),
  ];
}

/**
 * The namespaces a workload webhook's namespaceSelector leaves out besides the system ones: `excludeNamespaces` and
 * volume-guard's own, unless that is shared (SHARED_NAMESPACES) or `excludeOwnNamespace` is false, where matchConditions
 * skip its own objects by name; without matchConditions always.
 */
export function excludedNamespaces(
  excludeNamespaces: readonly string[],
  self: SelfIdentity | undefined,
  matchConditions: boolean,
  excludeOwnNamespace = true,
): string[] {
  const own = self && (!matchConditions || (excludeOwnNamespace && !SHARED_NAMESPACES.includes(self.namespace))) ? [self.namespace] : [];
  return [...new Set([...excludeNamespaces, ...own])];
}

/**
 * The declaration's namespaceSelector with the system-namespace exclusion merged in (workload webhooks only). A Helm
 * storage namespace (`helm.storageNamespaces`) is never left out of the helm-release webhook: the records kept there
 * are releases of other namespaces (Flux), judged only if the webhook sees them; volume-guard's own are skipped by name.
 */
export function namespaceSelectorFor(declaration: WebhookDeclaration, exclude: readonly string[], storageNamespaces: readonly string[] = []): LabelSelector | undefined {
  const own = declaration.namespaceSelector ?? {};
  if (!declaration.workload) return declaration.namespaceSelector;
  const kept = declaration.workload === 'helm-releases' ? storageNamespaces : [];
  return {
    ...(own.matchLabels ? { matchLabels: own.matchLabels } : {}),
    matchExpressions: [
      ...(own.matchExpressions ?? []),
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...new Set([...SYSTEM_NAMESPACES, ...exclude])].filter((namespace) => !kept.includes(namespace)) },
    ],
  };
}

/** One webhook of a configuration, as the API server reads it. */
function webhookEntry(declaration: WebhookDeclaration, options: WebhookOptions): Record<string, unknown> {
  const path = webhookPath(declaration);
  const clientConfig = options.client.service ? { service: { ...options.client.service, path } } : { url: `${options.client.url}${path}` };
  const withConditions = options.matchConditions !== false;
  const self = options.self;
  const conditions = [...(declaration.matchConditions ?? []), ...(self && withConditions ? selfConditions(declaration, self) : [])];
  const namespaceSelector = namespaceSelectorFor(
    declaration,
    excludedNamespaces(options.excludeNamespaces ?? [], self, withConditions, options.excludeOwnNamespace ?? true),
    withConditions ? (self?.storageNamespaces ?? []) : [],
  );
  return {
    name: declaration.name,
    clientConfig: { ...clientConfig, ...(options.client.caBundle ? { caBundle: options.client.caBundle } : {}) },
    rules: expandRules(declaration.rules, options.upgradeKinds),
    ...(declaration.objectSelector ? { objectSelector: declaration.objectSelector } : {}),
    ...(namespaceSelector ? { namespaceSelector } : {}),
    ...(withConditions && conditions.length ? { matchConditions: conditions } : {}),
    // A mutating step never gates: the validating webhooks do (MUTATING_WEBHOOK_SETTINGS).
    failurePolicy: declaration.mutating ? MUTATING_WEBHOOK_SETTINGS.failurePolicy : (options.failurePolicy ?? 'Fail'),
    timeoutSeconds: options.timeoutSeconds ?? 5,
    sideEffects: 'None',
    matchPolicy: 'Equivalent',
    ...(declaration.mutating ? { reinvocationPolicy: MUTATING_WEBHOOK_SETTINGS.reinvocationPolicy } : {}),
    admissionReviewVersions: ['v1'],
  };
}

/**
 * How every mutating webhook is registered: Ignore, as the validating webhook it prepares a write for stays the gate
 * (an outage of the mutating step only brings back that webhook's refusal); Never, as nothing it sets is another
 * webhook's to change back.
 */
export const MUTATING_WEBHOOK_SETTINGS = { failurePolicy: 'Ignore', reinvocationPolicy: 'Never' } as const;

/** The ValidatingWebhookConfiguration of the validating declarations (the mutating ones are left out). */
export function webhookConfiguration(declarations: readonly WebhookDeclaration[], options: WebhookOptions): Record<string, unknown> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: options.configurationName },
    webhooks: declarations.filter((declaration) => !declaration.mutating).map((declaration) => webhookEntry(declaration, options)),
  };
}

/**
 * The MutatingWebhookConfiguration of the mutating declarations (WebhookDeclaration.mutating), same name and client
 * as the validating one; `options.failurePolicy` does not apply (MUTATING_WEBHOOK_SETTINGS).
 */
export function mutatingWebhookConfiguration(declarations: readonly WebhookDeclaration[], options: WebhookOptions): Record<string, unknown> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: options.configurationName },
    webhooks: declarations.filter((declaration) => declaration.mutating).map((declaration) => webhookEntry(declaration, options)),
  };
}

// The contract between the HTTP layer and the validators, shaped after admission.k8s.io/v1.

import type { GroupVersionKind, GroupVersionResource, Operation, UserInfo } from '../kube.ts';

export type { GroupVersionKind, GroupVersionResource, Operation, UserInfo } from '../kube.ts';

/** A decoded, schema-checked AdmissionReview request. Objects stay `unknown` until a validator narrows them. */
export interface AdmissionRequest {
  readonly uid: string;
  readonly kind: GroupVersionKind;
  readonly resource: GroupVersionResource;
  /**
   * The API version the client wrote in (request.requestKind), only when the API server converted the object to
   * another (matchPolicy Equivalent): a CRD serves that version, which says which releases of its controller run.
   */
  readonly requestVersion?: string;
  readonly subResource?: string;
  /**
   * request.name; for a DELETE of a collection (`DELETE .../nodes?labelSelector=...`), which the API server admits
   * item by item with no name, the name of the item deleted (oldObject's), so no check reads it as nameless.
   */
  readonly name: string;
  readonly namespace: string;
  readonly operation: Operation;
  readonly userInfo: UserInfo;
  /** null on DELETE */
  readonly object: unknown;
  /** null on CREATE */
  readonly oldObject: unknown;
  readonly dryRun: boolean;
  /** request.options as sent (a DELETE's DeleteOptions: propagationPolicy), absent when the API server sent none. */
  readonly options?: unknown;
  /**
   * The strings the decoder set aside (the validator's `elide` paths) as their JSON tokens; where each was, the
   * object holds a placeholder that `elidedToken` (src/json-bytes.ts) maps back. Absent when none was. In the server
   * they are views into the request's body, valid in the validator's first turn only: the server gives a large
   * body's memory back once that turn ends. Read them then, or hand them to the manifest pool, which keeps them.
   */
  readonly elided?: readonly Uint8Array<ArrayBuffer>[];
}

export interface Status {
  readonly code: number;
  readonly reason?: string;
  readonly message: string;
}

/** What a validator decides; the codec adds the uid and wraps it in an AdmissionReview. */
export interface Decision {
  readonly allowed: boolean;
  readonly status?: Status;
  readonly warnings?: readonly string[];
  readonly auditAnnotations?: Readonly<Record<string, string>>;
  /** For logs and metrics only: which checks produced findings, which overrides were honored. */
  readonly checks?: readonly string[];
  readonly overrides?: readonly string[];
  /** For metrics: the checks that made this a denial (`stale-model` when the state was unknown). */
  readonly deniedChecks?: readonly string[];
  /**
   * The overrides behind `auditAnnotations`, so a request judged in parts (a scale-down, node by node) can record
   * every one of them rather than the last part's (decide.ts combinedOverrideAudit).
   */
  readonly honored?: readonly HonoredOverride[];
  /**
   * A mutating webhook's change to the object (WebhookDeclaration.mutating), with `allowed` only: encoded as
   * `patchType: JSONPatch` and the patch's JSON in base64. Absent or empty: no change.
   */
  readonly patch?: readonly JsonPatchOperation[];
}

/** One operation of a JSON Patch (RFC 6902); `path` is a JSON pointer (RFC 6901: `~` as `~0`, `/` as `~1`). */
export interface JsonPatchOperation {
  readonly op: 'add' | 'replace';
  readonly path: string;
  readonly value: unknown;
}

/** `key` as one JSON-pointer segment (RFC 6901). */
export function pointerSegment(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** An override a decision honored, as its audit annotations record it. */
export interface HonoredOverride {
  /** Where it was read: `node worker-1`. */
  readonly where: string;
  /** `volume-guard.io/skip-reason`, '' when none; an approval's objects' reasons joined by `; `. */
  readonly reason: string;
  /** The requester, or the recorded `volume-guard.io/skip-by`; an approval's objects' distinct writers. */
  readonly writers?: readonly string[];
  /** `volume-guard.io/skip-until`, when set; an approval's objects' distinct ones. */
  readonly until?: readonly string[];
  readonly checks: readonly string[];
  /** How many findings it accepted. */
  readonly count: number;
}

export function allowed(warnings: readonly string[] = [], auditAnnotations?: Record<string, string>): Decision {
  return { allowed: true, ...(warnings.length ? { warnings } : {}), ...(auditAnnotations ? { auditAnnotations } : {}) };
}

export function denied(message: string, extra: Omit<Decision, 'allowed' | 'status'> = {}): Decision {
  return { ...extra, allowed: false, status: { code: 403, reason: 'Forbidden', message } };
}

// ---- What a validator serves: the single source for the webhook configuration in the chart. ----

export interface RuleWithOperations {
  readonly apiGroups: readonly string[];
  readonly apiVersions: readonly string[];
  readonly resources: readonly string[];
  readonly operations: readonly Operation[];
  readonly scope?: 'Cluster' | 'Namespaced' | '*';
}

/**
 * Stands in a webhook's rules for one rule per entry of `config.upgrades.kinds` (group, version, resource), with the
 * kind's own operations or, when set, these. Expanded by expandRules (src/admission/rules.ts) for a configuration;
 * the chart renders it from `.Values.config.upgrades.kinds`, so a kind added in values is both judged by
 * volume-guard and sent to it by the API server.
 */
export interface UpgradeKindsRule {
  readonly upgradeKinds: {
    readonly operations?: readonly Operation[];
    readonly scope?: RuleWithOperations['scope'];
    /** `status`: the rule names each kind's status subresource (`plans/status`). */
    readonly subresource?: string;
  };
}

/** A rule as a validator declares it: a plain rule, or the configured upgrade kinds. */
export type DeclaredRule = RuleWithOperations | UpgradeKindsRule;

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly {
    readonly key: string;
    readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    readonly values?: readonly string[];
  }[];
}

export interface MatchCondition {
  readonly name: string;
  readonly expression: string;
}

export interface WebhookDeclaration {
  /** The webhook's name in the ValidatingWebhookConfiguration, e.g. `node-cordon.volume-guard.io`. */
  readonly name: string;
  /** The URL path segment: served at POST /validate/<target>. */
  readonly target: string;
  /** Upgrade kinds as a symbolic entry (UpgradeKindsRule): the chart generator writes it as it is. */
  readonly rules: readonly DeclaredRule[];
  readonly objectSelector?: LabelSelector;
  /** Namespaced resources only; the chart adds the system-namespace exclusions to workload webhooks. */
  readonly namespaceSelector?: LabelSelector;
  readonly matchConditions?: readonly MatchCondition[];
  /**
   * A webhook about workloads (pods, Helm release records): it skips the system namespaces and volume-guard's own
   * namespace (not a shared one, SHARED_NAMESPACES, such as `default` or `harvester-system`: there only its own pods
   * or release records, by name), and its release records where a Helm SDK user keeps them (`helm.storageNamespaces`),
   * so volume-guard never blocks itself.
   * Other webhooks (upgrade CRs, Machines, nodes, overrides) see every namespace: an upgrade CR in the namespace
   * volume-guard runs in (e.g. harvester-system) is still checked.
   */
  readonly workload?: WorkloadKind;
  /**
   * The webhook is called for the DELETE of any object, volume-guard's own included (owner-delete): it skips exactly
   * the objects of volume-guard's release (SelfIdentity.ownObjects) while they carry the chart's labels, so an
   * uninstall of volume-guard by automation (Flux, Argo CD), or an upgrade turning one of its objects off, does not
   * send their DELETEs to a webhook that may be down.
   */
  readonly ownObjects?: boolean;
  /**
   * A mutating webhook: served at POST /mutate/<target> and registered in the MutatingWebhookConfiguration
   * (failurePolicy Ignore, reinvocationPolicy Never), never refusing; its decisions may carry a patch. Its target
   * shares one namespace with the validating webhooks'.
   */
  readonly mutating?: boolean;
}

/** Where the API server calls a webhook: /validate/<target>, or /mutate/<target> for a mutating one. */
export function webhookPath(declaration: Pick<WebhookDeclaration, 'target' | 'mutating'>): string {
  return `${declaration.mutating ? '/mutate/' : '/validate/'}${declaration.target}`;
}

/** What a workload webhook's self-exclusion matches: volume-guard's own pods, or its own Helm release records. */
export type WorkloadKind = 'pods' | 'helm-releases';

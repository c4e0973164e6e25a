// Validators' declarations → a ValidatingWebhookConfiguration. Used to register volume-guard in tests and the
// local cluster; the chart renders the same shape from the generated charts/volume-guard/files/webhooks.json.
import type { GuardedUpgradeKind } from '../config.ts';
import { expandRules } from './rules.ts';
import type { LabelSelector, MatchCondition, WebhookDeclaration, WorkloadKind } from './types.ts';

/** Namespaces whose objects volume-guard never judges (besides its own, added by the caller). */
export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system', 'kube-node-lease'];

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
   * Where volume-guard itself runs: its namespace, the name prefix of its pods and its Helm release. Workload
   * webhooks skip exactly those objects (by matchCondition), or the whole namespace without matchConditions.
   */
  readonly self?: SelfIdentity;
}

export interface SelfIdentity {
  readonly namespace: string;
  /** `<fullname>-`: every pod of volume-guard's Deployment. */
  readonly podPrefix: string;
  /** volume-guard's Helm release name ('' when not installed by Helm). */
  readonly release: string;
}

/** The name prefix of volume-guard's own objects a workload webhook sees. */
export function selfNamePrefix(workload: WorkloadKind, self: SelfIdentity): string {
  return workload === 'pods' ? self.podPrefix : `sh.helm.release.v1.${self.release}.v`;
}

/**
 * The matchCondition that keeps a workload webhook off volume-guard's own pods or release (the chart renders the same).
 * A collection DELETE (the namespace controller's) is admitted item by item with no request.name: CEL then has no such
 * key, and an error there would fail the whole condition list, so the item is judged like any other.
 */
export function selfExclusionCondition(workload: WorkloadKind, self: SelfIdentity): MatchCondition {
  return {
    name: 'not-volume-guard-itself',
    expression: `!(request.namespace == '${self.namespace}' && has(request.name) && request.name.startsWith('${selfNamePrefix(workload, self)}'))`,
  };
}

/** The declaration's namespaceSelector with the system-namespace exclusion merged in (workload webhooks only). */
export function namespaceSelectorFor(declaration: WebhookDeclaration, exclude: readonly string[]): LabelSelector | undefined {
  const own = declaration.namespaceSelector ?? {};
  if (!declaration.workload) return declaration.namespaceSelector;
  return {
    ...(own.matchLabels ? { matchLabels: own.matchLabels } : {}),
    matchExpressions: [
      ...(own.matchExpressions ?? []),
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...SYSTEM_NAMESPACES, ...exclude] },
    ],
  };
}

export function webhookConfiguration(declarations: readonly WebhookDeclaration[], options: WebhookOptions): Record<string, unknown> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: options.configurationName },
    webhooks: declarations.map((declaration) => {
      const path = `/validate/${declaration.target}`;
      const clientConfig = options.client.service
        ? { service: { ...options.client.service, path } }
        : { url: `${options.client.url}${path}` };
      const withConditions = options.matchConditions !== false;
      const self = options.self;
      const conditions = [
        ...(declaration.matchConditions ?? []),
        ...(declaration.workload && self && withConditions ? [selfExclusionCondition(declaration.workload, self)] : []),
      ];
      const exclude = [...(options.excludeNamespaces ?? []), ...(self && !withConditions ? [self.namespace] : [])];
      const namespaceSelector = namespaceSelectorFor(declaration, exclude);
      return {
        name: declaration.name,
        clientConfig: { ...clientConfig, ...(options.client.caBundle ? { caBundle: options.client.caBundle } : {}) },
        rules: expandRules(declaration.rules, options.upgradeKinds),
        ...(declaration.objectSelector ? { objectSelector: declaration.objectSelector } : {}),
        ...(namespaceSelector ? { namespaceSelector } : {}),
        ...(withConditions && conditions.length ? { matchConditions: conditions } : {}),
        failurePolicy: options.failurePolicy ?? 'Fail',
        timeoutSeconds: options.timeoutSeconds ?? 5,
        sideEffects: 'None',
        matchPolicy: 'Equivalent',
        admissionReviewVersions: ['v1'],
      };
    }),
  };
}

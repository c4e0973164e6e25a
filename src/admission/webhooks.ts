// Validators' declarations → a ValidatingWebhookConfiguration. Used to register volume-guard in tests and the
// local cluster; the chart renders the same shape from the generated charts/volume-guard/files/webhooks.json.
import type { LabelSelector, WebhookDeclaration } from './types.ts';

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
  readonly failurePolicy?: 'Fail' | 'Ignore';
  readonly timeoutSeconds?: number;
  /** Namespaces to exclude besides the system ones (volume-guard's own). */
  readonly excludeNamespaces?: readonly string[];
  /** Omit matchConditions (Kubernetes before 1.30). */
  readonly matchConditions?: boolean;
}

/** The declaration's namespaceSelector with the system-namespace exclusion merged in. */
export function namespaceSelectorFor(declaration: WebhookDeclaration, exclude: readonly string[]): LabelSelector {
  const own = declaration.namespaceSelector ?? {};
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
      return {
        name: declaration.name,
        clientConfig: { ...clientConfig, ...(options.client.caBundle ? { caBundle: options.client.caBundle } : {}) },
        rules: declaration.rules,
        ...(declaration.objectSelector ? { objectSelector: declaration.objectSelector } : {}),
        namespaceSelector: namespaceSelectorFor(declaration, options.excludeNamespaces ?? []),
        ...(options.matchConditions !== false && declaration.matchConditions?.length
          ? { matchConditions: declaration.matchConditions }
          : {}),
        failurePolicy: options.failurePolicy ?? 'Fail',
        timeoutSeconds: options.timeoutSeconds ?? 5,
        sideEffects: 'None',
        matchPolicy: 'Equivalent',
        admissionReviewVersions: ['v1'],
      };
    }),
  };
}

// The objects a render of the chart holds, as admission requests name them (namespace, group, resource, name): what
// the owner-delete webhook's `not-volume-guard-objects` condition must list (ownObjectsCondition). Read from the
// rendered objects themselves, so a template adding an object the chart's `volume-guard.ownObjects` does not list
// makes the rendered condition differ from the expected one.
import type { OwnObject } from '../../src/admission/webhooks.ts';

/** `<apiVersion> <kind>` of every kind the chart renders, and its resource. A new kind must be added here. */
const RESOURCES: Readonly<Record<string, string>> = {
  'v1 ConfigMap': 'configmaps',
  'v1 Secret': 'secrets',
  'v1 Service': 'services',
  'v1 ServiceAccount': 'serviceaccounts',
  'apps/v1 Deployment': 'deployments',
  'policy/v1 PodDisruptionBudget': 'poddisruptionbudgets',
  'networking.k8s.io/v1 NetworkPolicy': 'networkpolicies',
  'rbac.authorization.k8s.io/v1 ClusterRole': 'clusterroles',
  'rbac.authorization.k8s.io/v1 ClusterRoleBinding': 'clusterrolebindings',
  'admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration': 'validatingwebhookconfigurations',
  'admissionregistration.k8s.io/v1 MutatingWebhookConfiguration': 'mutatingwebhookconfigurations',
  'cert-manager.io/v1 Issuer': 'issuers',
  'cert-manager.io/v1 Certificate': 'certificates',
  'monitoring.coreos.com/v1 ServiceMonitor': 'servicemonitors',
  'monitoring.coreos.com/v1 PrometheusRule': 'prometheusrules',
};

interface Rendered {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
}

/** The rendered objects as OwnObjects; throws on a kind not known here (add it, and to `volume-guard.ownObjects`). */
export function ownObjectsOf(objects: readonly Rendered[]): OwnObject[] {
  return objects.map((object) => {
    const resource = RESOURCES[`${object.apiVersion} ${object.kind}`];
    if (resource === undefined) throw new Error(`the chart renders ${object.apiVersion} ${object.kind}: add it to test/support/chart-objects.ts and volume-guard.ownObjects`);
    const group = object.apiVersion.includes('/') ? object.apiVersion.slice(0, object.apiVersion.indexOf('/')) : '';
    return { namespace: object.metadata.namespace ?? '', group, resource, name: object.metadata.name };
  });
}

/** The names a release's objects take from its values, besides the release and its namespace. */
export interface ObjectNames {
  readonly fullnameOverride?: string;
  readonly serviceAccountName?: string;
  readonly dashboardNamespace?: string;
}

/** A PEM block the chart takes as clientAuth.caBundle (it checks the form, not the certificate). */
const CA_BUNDLE = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUTest\n-----END CERTIFICATE-----\n';

/**
 * Value sets whose renders hold, together, every object the chart can render for a release with these names, whatever
 * its toggles: every optional object on, in both TLS modes, and the service account and dashboard also under the names
 * set. The owner-delete webhook must skip all of them: an upgrade turning one off (networkPolicy.enabled=false) has
 * Helm delete it after the new webhook configuration is in place, while volume-guard may be down.
 */
export function everyObjectValues(names: ObjectNames = {}): object[] {
  const every = {
    ...(names.fullnameOverride ? { fullnameOverride: names.fullnameOverride } : {}),
    replicaCount: 2,
    podDisruptionBudget: { enabled: true },
    serviceAccount: { create: true },
    rbac: { create: true, auditRole: { create: true } },
    config: { events: { enabled: true } },
    serviceMonitor: { enabled: true },
    prometheusRule: { enabled: true },
    grafanaDashboard: { enabled: true },
    networkPolicy: { enabled: true, apiServerCIDRs: ['10.0.0.0/24'] },
    clientAuth: { enabled: true, caBundle: CA_BUNDLE },
  };
  return [
    { ...every, tls: { certManager: { enabled: true } } },
    { ...every, tls: { certManager: { enabled: false } } },
    ...(names.serviceAccountName ? [{ ...every, serviceAccount: { create: true, name: names.serviceAccountName } }] : []),
    ...(names.dashboardNamespace ? [{ ...every, grafanaDashboard: { enabled: true, namespace: names.dashboardNamespace } }] : []),
  ];
}

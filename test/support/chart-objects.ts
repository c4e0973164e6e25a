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

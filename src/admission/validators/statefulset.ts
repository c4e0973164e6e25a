// StatefulSets created outside Helm: `kubectl apply`, kustomize, Argo CD and Flux's kustomize-controller (which
// render charts with `helm template` and create the objects themselves). The StatefulSet controller attaches every
// existing PVC named `<template>-<statefulset>-<ordinal>`, whatever data it holds, so a StatefulSet created where an
// earlier one left its PVCs comes up on the old data. Its CREATE is denied under orphan-pvc, naming those PVCs,
// unless each is annotated `volume-guard.io/reuse: "true"` (or the StatefulSet carries an honored skip).
//
// A StatefulSet Helm creates carries `meta.helm.sh/release-name` (and `-namespace`): it was judged at its release
// record, before Helm created anything, and is not judged twice, unless it lands outside the release's namespace
// (a release record is judged in its own namespace only). (Anyone may write that annotation; a hand-written one only moves the
// judgement to a release record that does not exist. Documented in the README.)
import type { Config } from '../../config.ts';
import { statefulSetFromObject } from '../../helm/manifest.ts';
import { HELM_RELEASE_NAME_ANNOTATION, HELM_RELEASE_NAMESPACE_ANNOTATION } from '../../kube.ts';
import { skipOnReviewedObject } from '../context.ts';
import { metaOf } from '../objects.ts';
import { REUSE_KEY, reuseApprovalSource, SKIP_BY_KEY, SKIP_KEY, SKIP_REASON_KEY } from '../overrides.ts';
import { judgeByPlan } from '../plan-judge.ts';
import { PLANS, readOverrides } from '../plans.ts';
import { allowed, type WebhookDeclaration } from '../types.ts';
import type { Validator } from '../validator.ts';

const declaration: WebhookDeclaration = {
  name: 'statefulset.volume-guard.io',
  target: 'statefulset',
  rules: [{ apiGroups: ['apps'], apiVersions: ['v1'], resources: ['statefulsets'], operations: ['CREATE'], scope: 'Namespaced' }],
  // Only StatefulSets that claim storage and that Helm did not create.
  matchConditions: [
    {
      name: 'claims-storage-outside-helm',
      expression:
        "has(object.spec.volumeClaimTemplates) && size(object.spec.volumeClaimTemplates) > 0 && " +
        `!(has(object.metadata.annotations) && '${HELM_RELEASE_NAME_ANNOTATION}' in object.metadata.annotations && ` +
        `(!('${HELM_RELEASE_NAMESPACE_ANNOTATION}' in object.metadata.annotations) || ` +
        `object.metadata.annotations['${HELM_RELEASE_NAMESPACE_ANNOTATION}'] == request.namespace))`,
    },
  ],
};

/**
 * Annotated by Helm for a release of its own namespace (Helm writes both annotations on every object it creates).
 * A release record is judged in its own namespace only, so a StatefulSet a release creates in another namespace is
 * judged here, at its CREATE.
 */
export function isHelmManaged(annotations: Readonly<Record<string, string>>, namespace: string): boolean {
  const releaseNamespace = annotations[HELM_RELEASE_NAMESPACE_ANNOTATION];
  return (annotations[HELM_RELEASE_NAME_ANNOTATION] ?? '') !== '' && (releaseNamespace === undefined || releaseNamespace === namespace);
}

export function statefulSetValidator(_config: Config): Validator {
  return {
    declaration,
    handle(request, context) {
      if (request.operation !== 'CREATE') return allowed();
      const meta = metaOf(request.object);
      if (!meta || isHelmManaged(meta.annotations, request.namespace)) return allowed();
      const statefulSet = statefulSetFromObject(request.object, request.namespace);
      // The object's namespace is the request's; a different one in the body is not where it is created.
      if (!statefulSet || statefulSet.claimTemplates.length === 0) return allowed();
      const target = { ...statefulSet, namespace: request.namespace };
      const action = `creation of StatefulSet ${target.namespace}/${target.name}`;

      const where = `StatefulSet ${target.namespace}/${target.name}`;
      const { source, warnings } = skipOnReviewedObject(request, where);
      const plan = PLANS.statefulset;
      return judgeByPlan(context, plan, {
        action,
        target,
        overrides: readOverrides(plan, { object: () => source, 'pvc-reuse': reuseApprovalSource }),
        unlimited: true,
        overrideHint:
          `annotate the PVCs ${REUSE_KEY}=true ${SKIP_BY_KEY}=<your user name> if their data is meant to be reused, delete them ` +
          `(kubectl delete pvc -n ${target.namespace} ...) if it is not, or add the annotations ${SKIP_KEY}=<checks> ` +
          `${SKIP_REASON_KEY}="<why>" ${SKIP_BY_KEY}=<your user name> to the StatefulSet`,
        warnings,
      });
    },
  };
}

// StatefulSets created outside Helm: `kubectl apply`, kustomize, Argo CD and Flux's kustomize-controller (which
// render charts with `helm template` and create the objects themselves). The StatefulSet controller attaches every
// existing PVC named `<template>-<statefulset>-<ordinal>`, whatever data it holds, so a StatefulSet created where an
// earlier one left its PVCs comes up on the old data. Its CREATE is denied under orphan-pvc, naming those PVCs,
// unless each is annotated `volume-guard.io/reuse: "true"` (or the StatefulSet carries an honored skip).
// Re-created after `--cascade=orphan` under whenScaled: Delete, it adopts the old one's running pods and at once
// condemns those outside its ordinals, whose PVCs then go: pvc-delete, in the mode for its writer (as a scale-down).
//
// A StatefulSet Helm creates carries `meta.helm.sh/release-name` (and `-namespace`): it was judged at its release
// record, before Helm created anything, and is not judged twice, unless it lands outside the release's namespace
// (a release record is judged in its own namespace only), or someone other than Helm wrote it: kubectl, a GitOps
// controller, a UI (recognised by the field manager: src/admission/helm-writes.ts).
//
// Scale-ups outside Helm (kubectl scale, an autoscaler, a GitOps sync raising spec.replicas): the controller claims the
// added ordinals' PVCs the same way; those older than the StatefulSet were left by an earlier one of that name and are
// judged like at a CREATE (its own scale-down leftovers are younger than it, and meant to come back). (Any client may
// write that annotation and a field manager of its choosing; documented in the README.) A Scale carries neither the
// claim templates nor the ordinals: a scale of a StatefulSet the model has not seen yet (`kubectl apply`, then `kubectl
// scale` before the informer delivered it) is refused for a moment when PVCs named for the added ordinals exist.
import { claimsNamedForUnseenStatefulSet, ordinalRange, replicaCount, type ScaleUpTarget } from '../../checks/orphan-pvc.ts';
import { beingDeletedScaled, scaledStatefulSetUid } from './pvc-delete.ts';
import type { Config } from '../../config.ts';
import { statefulSetFromObject } from '../../helm/manifest.ts';
import { HELM_RELEASE_NAME_ANNOTATION, HELM_RELEASE_NAMESPACE_ANNOTATION } from '../../kube.ts';
import { checkModes, pvcDeleteModeFor, skipOnReviewedObject, staleModelDecision } from '../context.ts';
import { HELM_OR_NO_FIELD_MANAGER_CEL, isHelmsOwnWrite } from '../helm-writes.ts';
import { field, metaOf, stringField } from '../objects.ts';
import { DELETE_KEY, deleteApprovalSource, mayWriteOverrides, OVERRIDE_KEYS, REUSE_KEY, reuseApprovalSource, SKIP_BY_KEY, SKIP_KEY, SKIP_REASON_KEY } from '../overrides.ts';
import { wrap } from '../messages.ts';
import { judgeByPlan, staleOverride } from '../plan-judge.ts';
import { PLANS, readOverrides } from '../plans.ts';
import { allowed, denied, type AdmissionRequest, type Decision, type UserInfo, type WebhookDeclaration } from '../types.ts';
import type { ValidationContext, Validator } from '../validator.ts';
import { WRITER_PLACEHOLDER } from '../../override-keys.ts';

/**
 * CEL: a StatefulSet that claims storage, unless Helm wrote it for a release of its own namespace, as far as CEL can
 * tell: a field manager starting with `helm`/`Helm`, or none. Any other manager's write of a StatefulSet Helm manages
 * is sent, and the handler decides (a tool built on Helm's library owns the release annotation in managedFields:
 * src/admission/helm-writes.ts).
 */
const CLAIMS_OUTSIDE_HELM =
  "has(object.spec.volumeClaimTemplates) && size(object.spec.volumeClaimTemplates) > 0 && " +
  `!(${HELM_OR_NO_FIELD_MANAGER_CEL} && has(object.metadata.annotations) && '${HELM_RELEASE_NAME_ANNOTATION}' in object.metadata.annotations && ` +
  `(!('${HELM_RELEASE_NAMESPACE_ANNOTATION}' in object.metadata.annotations) || ` +
  `object.metadata.annotations['${HELM_RELEASE_NAMESPACE_ANNOTATION}'] == request.namespace))`;
/** spec.replicas in CEL: a Scale omits 0; a StatefulSet's is defaulted to 1 before admission. */
const replicas = (object: string): string => `(has(${object}.spec) && has(${object}.spec.replicas) ? ${object}.spec.replicas : 0)`;
const start = (object: string): string =>
  `(has(${object}.spec.ordinals) && has(${object}.spec.ordinals.start) ? ${object}.spec.ordinals.start : 0)`;

const declaration: WebhookDeclaration = {
  name: 'statefulset.volume-guard.io',
  target: 'statefulset',
  rules: [
    { apiGroups: ['apps'], apiVersions: ['v1'], resources: ['statefulsets'], operations: ['CREATE'], scope: 'Namespaced' },
    // Scale-ups claim the ordinals they add: a PVC an earlier StatefulSet of that name left there is re-attached.
    { apiGroups: ['apps'], apiVersions: ['v1'], resources: ['statefulsets', 'statefulsets/scale'], operations: ['UPDATE'], scope: 'Namespaced' },
  ],
  // CREATE: StatefulSets that claim storage and that Helm did not create. UPDATE: writes raising the replicas (or
  // moving ordinals.start) of such a StatefulSet not being deleted, and scale subresource writes raising the replicas
  // (a Scale has no deletionTimestamp: the handler reads the model for those).
  matchConditions: [
    {
      name: 'claims-storage-outside-helm',
      expression:
        `request.operation == 'CREATE' ? (${CLAIMS_OUTSIDE_HELM}) : ` +
        `(oldObject != null && (has(request.subResource) && request.subResource == 'scale' ? ${replicas('object')} > ${replicas('oldObject')} : ` +
        `((!has(request.subResource) || request.subResource == '') && !has(oldObject.metadata.deletionTimestamp) && ${CLAIMS_OUTSIDE_HELM} && ` +
        `(${replicas('object')} > ${replicas('oldObject')} || ${start('object')} != ${start('oldObject')}))))`,
    },
  ],
};

export function statefulSetValidator(_config: Config): Validator {
  return {
    declaration,
    handle(request, context) {
      if (request.operation === 'UPDATE') return judgeScaleUp(request, context);
      if (request.operation !== 'CREATE') return allowed();
      const meta = metaOf(request.object);
      if (!meta || isHelmsOwnWrite(request, meta.annotations, request.namespace)) return allowed();
      const statefulSet = statefulSetFromObject(request.object, request.namespace);
      // The object's namespace is the request's; a different one in the body is not where it is created.
      if (!statefulSet || statefulSet.claimTemplates.length === 0) return allowed();
      const target = { ...statefulSet, namespace: request.namespace, now: context.now };
      const action = `creation of StatefulSet ${target.namespace}/${target.name}`;

      const where = `StatefulSet ${target.namespace}/${target.name}`;
      const { source, warnings } = skipOnReviewedObject(request, where);
      const plan = PLANS.statefulset;
      return judgeByPlan(context, plan, {
        action,
        target,
        overrides: readOverrides(plan, { object: () => source, 'pvc-reuse': reuseApprovalSource, 'pvc-delete': deleteApprovalSource }),
        // The PVCs of adopted pods it scales away are deleted by the controller, judged like a scale-down by its writer.
        modes: { 'pvc-delete': pvcDeleteModeFor(request.userInfo, context.config) },
        unlimited: true,
        // One line per way out, each a command with the PVCs refused filled in (decide.ts fills `<pvcs:check>`).
        overrideHint:
          `data meant to be reused: kubectl annotate pvc -n ${target.namespace} <pvcs:orphan-pvc> ${REUSE_KEY}=true ` +
          `${SKIP_BY_KEY}=${WRITER_PLACEHOLDER}; obsolete: kubectl delete pvc -n ${target.namespace} <pvcs:orphan-pvc>\n` +
          `adopted pods' PVCs that may go: kubectl annotate pvc -n ${target.namespace} <pvcs:pvc-delete> ${DELETE_KEY}=true ` +
          `${SKIP_BY_KEY}=${WRITER_PLACEHOLDER}; or declare the replicas those pods run\n` +
          // YAML lines for the manifest, as an upgrade object's CREATE says them: the object is not there to annotate.
          `or add to the StatefulSet's metadata.annotations in its manifest, then create it again:\n` +
          `  ${SKIP_KEY}: "<checks>"\n  ${SKIP_REASON_KEY}: "<why>"\n  ${SKIP_BY_KEY}: "<your user name>"`,
        warnings: [...warnings, ...(controllerMayWriteOverrides(context.config) ? [] : claimTemplateOverrideWarnings(request.object, where))],
      });
    },
  };
}

/** The identities kube-controller-manager creates a StatefulSet's PVCs as (with and without --use-service-account-credentials). */
const STATEFULSET_CONTROLLER_IDENTITIES: readonly UserInfo[] = [
  { username: 'system:serviceaccount:kube-system:statefulset-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] },
  { username: 'system:kube-controller-manager', groups: ['system:authenticated'] },
];

/** Whether the override guard lets the StatefulSet controller write overrides (overrides.mode rbac, or it is listed): its PVCs then pass. */
function controllerMayWriteOverrides(config: Config): boolean {
  return STATEFULSET_CONTROLLER_IDENTITIES.every((user) => mayWriteOverrides(user, config.overrides));
}

/**
 * Override keys in the claim templates: the StatefulSet controller copies a template's metadata into each PVC it
 * creates (getPersistentVolumeClaims: the template deep-copied), as its own identity, and the override guard refuses
 * that CREATE (the controller may not write overrides): its pods stay Pending. Said here, where the manifest's writer
 * reads it, rather than only in the StatefulSet's FailedCreate events.
 */
function claimTemplateOverrideWarnings(object: unknown, where: string): string[] {
  const templates = field(object, 'spec', 'volumeClaimTemplates');
  if (!Array.isArray(templates)) return [];
  const keys = new Set<string>();
  for (const template of templates) {
    const meta = metaOf(template);
    for (const key of OVERRIDE_KEYS) if (meta?.annotations?.[key] !== undefined || meta?.labels?.[key] !== undefined) keys.add(key);
  }
  if (keys.size === 0) return [];
  return wrap(
    `volume-guard: ${where} has ${[...keys].join(', ')} in its volumeClaimTemplates: the StatefulSet controller copies ` +
      `them into each PVC it creates and volume-guard refuses that (the controller may not write overrides), so its pods ` +
      `stay Pending; remove them from the templates and annotate the PVCs once they exist`,
  );
}

function countField(object: unknown, fallback: number, ...path: string[]): number {
  const value = field(object, ...path);
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : fallback;
}

/** What a StatefulSet UPDATE or scale write newly claims; undefined when it claims nothing new or Helm wrote it. */
export function scaleUpOf(request: AdmissionRequest, context: ValidationContext): ScaleUpTarget | undefined {
  const { namespace } = request;
  const name = request.name || stringField(request.oldObject, 'metadata', 'name');
  if (request.subResource === 'scale') {
    const live = context.snapshot.statefulSet(namespace, name);
    const replicas = countField(request.object, 0, 'spec', 'replicas');
    const previousReplicas = countField(request.oldObject, 0, 'spec', 'replicas');
    // A StatefulSet being deleted creates no pod and takes over no claim (its controller only writes its status).
    if (live === undefined || beingDeletedScaled(live, request) || live.claimTemplates.length === 0 || replicas <= previousReplicas) return undefined;
    return {
      namespace,
      name,
      claimTemplates: live.claimTemplates,
      replicas,
      ordinalsStart: live.ordinalsStart,
      previousReplicas,
      previousStart: live.ordinalsStart,
      createdAt: live.creationTimestamp,
      ...helmReleaseOf(live.helmReleaseName, live.helmReleaseNamespace, namespace),
    };
  }
  if ((request.subResource ?? '') !== '') return undefined;
  // Being deleted (a foreground deletion waiting on its pods): as for the scale above, its controller only writes status.
  if (stringField(request.oldObject, 'metadata', 'deletionTimestamp') !== '') return undefined;
  const meta = metaOf(request.object);
  // Helm's own write: judged at its release record (anyone else's writes of it are judged here).
  if (!meta || isHelmsOwnWrite(request, meta.annotations, namespace)) return undefined;
  const statefulSet = statefulSetFromObject(request.object, namespace);
  if (!statefulSet || statefulSet.claimTemplates.length === 0) return undefined;
  const previousReplicas = countField(request.oldObject, 1, 'spec', 'replicas');
  const previousStart = countField(request.oldObject, 0, 'spec', 'ordinals', 'start');
  const previous = metaOf(request.oldObject);
  if (statefulSet.replicas <= previousReplicas && statefulSet.ordinalsStart === previousStart) return undefined;
  return {
    namespace,
    name,
    claimTemplates: statefulSet.claimTemplates,
    replicas: statefulSet.replicas,
    ordinalsStart: statefulSet.ordinalsStart,
    previousReplicas,
    previousStart,
    createdAt: stringField(request.oldObject, 'metadata', 'creationTimestamp'),
    ...helmReleaseOf(
      previous?.annotations[HELM_RELEASE_NAME_ANNOTATION] ?? '',
      previous?.annotations[HELM_RELEASE_NAMESPACE_ANNOTATION] ?? '',
      namespace,
    ),
  };
}

/** ScaleUpTarget.helmRelease: the release the StatefulSet (as stored) is annotated for, if any. */
function helmReleaseOf(name: string, releaseNamespace: string, namespace: string): Pick<ScaleUpTarget, 'helmRelease'> {
  return name === '' ? {} : { helmRelease: { name, namespace: releaseNamespace || namespace } };
}

/**
 * The StatefulSet a scale subresource write names is not the one the model holds (none of that name, or one of
 * another uid: the Scale carries the StatefulSet's uid and creationTimestamp): created a moment ago, the informer
 * not there yet.
 */
function unseenByScale(request: AdmissionRequest, context: ValidationContext): boolean {
  if (request.subResource !== 'scale') return false;
  const name = request.name || stringField(request.oldObject, 'metadata', 'name');
  const live = context.snapshot.statefulSet(request.namespace, name);
  if (live === undefined) return true;
  const uid = scaledStatefulSetUid(request);
  return uid !== '' && uid !== live.uid;
}

/** PVCs a refusal of an unseen StatefulSet's scale-up names at most. */
const MAX_NAMED_CLAIMS = 3;

/**
 * A scale-up through `statefulsets/scale` of a StatefulSet the model has not seen yet (unseenByScale): without its
 * claim templates it cannot be judged, so it is refused, for a moment, when PVCs named for the ordinals it adds may be
 * an earlier StatefulSet's (claimsNamedForUnseenStatefulSet; ordinals.start, not in a Scale either, is taken as 0,
 * the default); retried once the informer has it, it is judged as usual. Without such PVCs it passes: an autoscaler
 * of a brand-new StatefulSet is not held. orphan-pvc's mode applies (off: passes; warn: a warning).
 */
function judgeUnseenScaleUp(request: AdmissionRequest, context: ValidationContext): Decision {
  const mode = checkModes(context)['orphan-pvc'];
  const replicas = countField(request.object, 0, 'spec', 'replicas');
  const previousReplicas = countField(request.oldObject, 0, 'spec', 'replicas');
  if (mode === 'off' || replicas <= previousReplicas) return allowed();
  const { namespace } = request;
  const name = request.name || stringField(request.oldObject, 'metadata', 'name');
  const action = `scale-up of StatefulSet ${namespace}/${name} to ${replicaCount(replicas)}`;
  const plan = PLANS['statefulset-scale-up'];
  const stale = staleModelDecision(context, action, [], plan.reads, () => staleOverride(plan.overrides, { overrideHint: '' }));
  if (stale) return stale;
  const createdAt = stringField(request.object, 'metadata', 'creationTimestamp') || stringField(request.oldObject, 'metadata', 'creationTimestamp');
  const claims = claimsNamedForUnseenStatefulSet(context.snapshot, namespace, name, (ordinal) => ordinal >= previousReplicas && ordinal < replicas, createdAt);
  if (claims.length === 0) return allowed();
  const named = claims.slice(0, MAX_NAMED_CLAIMS).map((claim) => `${namespace}/${claim.name}`).join(', ');
  const more = claims.length > MAX_NAMED_CLAIMS ? ` and ${claims.length - MAX_NAMED_CLAIMS} more` : '';
  const why =
    `volume-guard has not seen StatefulSet ${namespace}/${name} yet (created a moment ago), and ${claims.length === 1 ? 'PVC' : 'PVCs'} ` +
    `${named}${more} ${claims.length === 1 ? 'exists' : 'exist'} for the ordinals it adds: possibly left by an earlier StatefulSet of that name`;
  if (mode === 'warn') return { ...allowed(wrap(`volume-guard: ${why}; ${action} not checked`)), checks: ['orphan-pvc'] };
  return denied(`volume-guard refused the ${action}: ${why}. Retry in a moment: it is judged once volume-guard sees the StatefulSet.`, {
    checks: ['orphan-pvc'],
    deniedChecks: ['orphan-pvc'],
  });
}

/**
 * The operation a scale-up target stands for, as a refusal names it: a move of ordinals.start (the ordinals it runs
 * afterwards), else a scale-up (the replicas).
 */
function scaleUpAction(target: ScaleUpTarget): string {
  const statefulSet = `StatefulSet ${target.namespace}/${target.name}`;
  if (target.ordinalsStart !== target.previousStart) return `move of ${statefulSet} to ordinals ${ordinalRange(target)}`;
  return `scale-up of ${statefulSet} to ${replicaCount(target.replicas)}`;
}

/** A scale-up outside Helm onto PVCs an earlier StatefulSet of that name left: judged like its CREATE, by PVC approvals. */
function judgeScaleUp(request: AdmissionRequest, context: ValidationContext): Decision {
  if (unseenByScale(request, context)) return judgeUnseenScaleUp(request, context);
  const target = scaleUpOf(request, context);
  if (target === undefined) return allowed();
  const plan = PLANS['statefulset-scale-up'];
  return judgeByPlan(context, plan, {
    action: scaleUpAction(target),
    target,
    overrides: readOverrides(plan, { 'pvc-reuse': reuseApprovalSource }),
    unlimited: true,
    overrideHint:
      `data meant to be reused: kubectl annotate pvc -n ${target.namespace} <pvcs> ${REUSE_KEY}=true ${SKIP_BY_KEY}=${WRITER_PLACEHOLDER}; ` +
      `obsolete: kubectl delete pvc -n ${target.namespace} <pvcs>`,
  });
}

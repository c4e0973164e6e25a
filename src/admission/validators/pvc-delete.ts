// PVC DELETE by tooling (check pvc-delete): a GitOps controller pruning a PVC that left its source (Argo CD's
// application controller, Flux's kustomize- and helm-controller by default; `pvcDelete.automationUsers`/`Groups`)
// deletes the data with it when the PV's reclaim policy is Delete. Refused unless the PVC carries
// `volume-guard.io/delete: "true"` (written by an allowed override writer: the override guard polices the key), with
// its writer recorded in `volume-guard.io/skip-by` and not past `volume-guard.io/skip-until`, like a reuse approval.
// Anyone else deleting a PVC gets `pvcDelete.others` (off by default: people deleting by hand mean it).
// A Namespace DELETE is judged the same way for the PVCs in it (the namespace controller deletes them all), and a
// StatefulSet DELETE for the PVCs it owns when its retention policy says whenDeleted: Delete (the garbage collector
// deletes them, unless the DELETE orphans dependents). Both delete as themselves, so the automation that pruned the
// Namespace or StatefulSet is seen only here. Overrides there: each PVC's `volume-guard.io/delete: "true"`, and for a
// namespace its own `volume-guard.io/skip` (the override guard polices namespaces, not StatefulSets).
import { DELETE_APPROVED_KEY } from '../../checks/pvc-delete.ts';
import type { CheckMode, Config } from '../../config.ts';
import { describeUser } from '../../kube.ts';
import { unknownWarnings } from '../context.ts';
import { field, metaOf, stringField } from '../objects.ts';
import { deleteApprovalSource, overrideLifecycle, SKIP_BY_KEY, SKIP_REASON_KEY, skipFrom, type OverrideSource } from '../overrides.ts';
import { judgeByPlan } from '../plan-judge.ts';
import { PLANS, readOverrides } from '../plans.ts';
import { allowed, type AdmissionRequest, type Decision, type UserInfo, type WebhookDeclaration } from '../types.ts';
import type { ValidationContext, Validator } from '../validator.ts';

const declaration: WebhookDeclaration = {
  name: 'pvc-delete.volume-guard.io',
  target: 'pvc-delete',
  rules: [
    { apiGroups: [''], apiVersions: ['v1'], resources: ['persistentvolumeclaims'], operations: ['DELETE'], scope: 'Namespaced' },
    { apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces'], operations: ['DELETE'], scope: 'Cluster' },
    { apiGroups: ['apps'], apiVersions: ['v1'], resources: ['statefulsets'], operations: ['DELETE'], scope: 'Namespaced' },
  ],
  // What can take claims with it: a Bound claim, a namespace, a StatefulSet whose retention policy deletes its claims;
  // an object being deleted already is past deciding (a second DELETE changes nothing).
  matchConditions: [
    {
      name: 'deletes-bound-claims',
      expression:
        "oldObject != null && !has(oldObject.metadata.deletionTimestamp) && ((request.resource.resource == 'persistentvolumeclaims' && " +
        "has(oldObject.status) && has(oldObject.status.phase) && oldObject.status.phase == 'Bound') || " +
        "request.resource.resource == 'namespaces' || (request.resource.resource == 'statefulsets' && " +
        'has(oldObject.spec.persistentVolumeClaimRetentionPolicy) && has(oldObject.spec.persistentVolumeClaimRetentionPolicy.whenDeleted) && ' +
        "oldObject.spec.persistentVolumeClaimRetentionPolicy.whenDeleted == 'Delete'))",
    },
  ],
};

export function isAutomation(user: UserInfo, config: Config): boolean {
  return config.pvcDelete.automationUsers.includes(user.username) || user.groups.some((group) => config.pvcDelete.automationGroups.includes(group));
}

export function pvcDeleteValidator(_config: Config): Validator {
  return {
    declaration,
    handle(request, context) {
      if (request.operation !== 'DELETE') return allowed();
      const old = request.oldObject;
      const meta = metaOf(old);
      if (!meta) return allowed();
      const { config } = context;
      const automation = isAutomation(request.userInfo, config);
      const mode = automation ? config.checks['pvc-delete'].mode : config.pvcDelete.others;
      if (mode === 'off') return allowed();
      // Already being deleted (a finalizer such as kubernetes.io/pvc-protection holds it): the first DELETE decided.
      if (stringField(old, 'metadata', 'deletionTimestamp') !== '') return allowed();
      if (request.resource.resource === 'namespaces') return judgeNamespaceDelete(request, context, meta.annotations, mode, automation);
      if (request.resource.resource === 'statefulsets') return judgeStatefulSetDelete(request, context, mode, automation);
      const name = request.name || meta.name;
      const claim = {
        namespace: request.namespace,
        name,
        phase: stringField(old, 'status', 'phase'),
        volumeName: stringField(old, 'spec', 'volumeName'),
      };
      const action = `deletion of PVC ${request.namespace}/${name} by ${describeUser(request.userInfo)}`;
      const deleteApproval = (): OverrideSource | undefined => {
        if (meta.annotations[DELETE_APPROVED_KEY] !== 'true') return undefined;
        // Stored, so guarded when written: it counts with its recorded writer and until its expiry.
        const lifecycle = overrideLifecycle(meta.annotations, context.now);
        return {
          where: `annotation ${DELETE_APPROVED_KEY} on PVC ${request.namespace}/${name}`,
          checks: ['pvc-delete'],
          reason: meta.annotations[SKIP_REASON_KEY] ?? '',
          recordedBy: lifecycle.writer,
          ...(lifecycle.until ? { until: lifecycle.until } : {}),
          ...(lifecycle.expiredOrInvalid ? { ignored: lifecycle.expiredOrInvalid } : {}),
        };
      };
      const plan = PLANS['pvc-delete'];
      return judgeByPlan(context, plan, {
        action,
        target: claim,
        overrides: readOverrides(plan, { 'pvc-delete': deleteApproval }),
        modes: { 'pvc-delete': mode },
        overrideHint:
          `back the data up, then run: kubectl annotate pvc ${name} -n ${request.namespace} ${DELETE_APPROVED_KEY}=true ` +
          `${SKIP_REASON_KEY}="<why>" ${SKIP_BY_KEY}=<your user name> and let ${automation ? 'the controller retry' : 'the delete be retried'}`,
      });
    },
  };
}

/** A Namespace DELETE: the Bound PVCs in it whose PV's reclaim policy destroys the data. */
function judgeNamespaceDelete(
  request: AdmissionRequest,
  context: ValidationContext,
  annotations: Readonly<Record<string, string>>,
  mode: CheckMode,
  automation: boolean,
): Decision {
  const namespace = request.name;
  const plan = PLANS['namespace-delete'];
  return judgeByPlan(context, plan, {
    action: `deletion of namespace ${namespace} by ${describeUser(request.userInfo)}`,
    target: { namespace, now: context.now },
    // Stored, so guarded when written: the namespace's skip, with its recorded writer and expiry.
    overrides: readOverrides(plan, { object: () => skipFrom(`namespace ${namespace}`, annotations, undefined, { now: context.now }), 'pvc-delete': deleteApprovalSource }),
    warnings: unknownWarnings(`namespace ${namespace}`, annotations),
    modes: { 'pvc-delete': mode },
    unlimited: ['pvc-delete'],
    overrideHint:
      `back the data up, then mark each PVC that may go: kubectl annotate pvc <name> -n ${namespace} ${DELETE_APPROVED_KEY}=true ` +
      `${SKIP_BY_KEY}=<your user name>, and let ${automation ? 'the controller retry' : 'the delete be retried'}`,
  });
}

/** Whether a DELETE orphans the object's dependents (propagationPolicy Orphan: kubectl delete --cascade=orphan). */
export function orphansDependents(options: unknown): boolean {
  return stringField(options, 'propagationPolicy') === 'Orphan' || field(options, 'orphanDependents') === true;
}

/**
 * A StatefulSet DELETE whose retention policy deletes its claims (whenDeleted: Delete): the garbage collector deletes
 * the PVCs the StatefulSet owns, unless the DELETE orphans them.
 */
function judgeStatefulSetDelete(request: AdmissionRequest, context: ValidationContext, mode: CheckMode, automation: boolean): Decision {
  const old = request.oldObject;
  const name = request.name || stringField(old, 'metadata', 'name');
  if (stringField(old, 'spec', 'persistentVolumeClaimRetentionPolicy', 'whenDeleted') !== 'Delete' || orphansDependents(request.options)) {
    return allowed();
  }
  const plan = PLANS['statefulset-delete'];
  return judgeByPlan(context, plan, {
    action: `deletion of StatefulSet ${request.namespace}/${name} by ${describeUser(request.userInfo)}`,
    target: { namespace: request.namespace, owner: { kind: 'StatefulSet', name, uid: stringField(old, 'metadata', 'uid') }, now: context.now },
    overrides: readOverrides(plan, { 'pvc-delete': deleteApprovalSource }),
    modes: { 'pvc-delete': mode },
    unlimited: ['pvc-delete'],
    overrideHint:
      `back the data up, then mark each PVC that may go: kubectl annotate pvc <name> -n ${request.namespace} ${DELETE_APPROVED_KEY}=true ` +
      `${SKIP_BY_KEY}=<your user name>, or delete with --cascade=orphan to keep the PVCs, and let ` +
      `${automation ? 'the controller retry' : 'the delete be retried'}`,
  });
}

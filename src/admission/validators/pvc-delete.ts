// PVC DELETE by tooling (check pvc-delete): a GitOps controller pruning a PVC that left its source (Argo CD's
// application controller, Flux's kustomize- and helm-controller by default; `pvcDelete.automationUsers`/`Groups`)
// deletes the data with it when the PV's reclaim policy is Delete. Refused unless the PVC carries
// `volume-guard.io/delete: "true"` (written by an allowed override writer: the override guard polices the key), with
// its writer recorded in `volume-guard.io/skip-by` and not past `volume-guard.io/skip-until`, like a reuse approval.
// Anyone else deleting a PVC gets `pvcDelete.others` (off by default: people deleting by hand mean it).
// A Namespace DELETE is judged the same way for the PVCs in it (the namespace controller deletes them all), and a
// StatefulSet DELETE for the PVCs it owns: those whose ownerReferences name its uid, which whenDeleted: Delete makes
// the StatefulSet controller add (the garbage collector deletes them, unless the DELETE orphans dependents). Both
// delete as themselves, so the automation that pruned the Namespace or StatefulSet is seen only here. Overrides there: each PVC's `volume-guard.io/delete: "true"`, and for a
// namespace its own `volume-guard.io/skip` (the override guard polices namespaces, not StatefulSets). Any other
// owner's DELETE by automation (an operator's resource) is judged the same way by its own webhook (owner-delete.ts).
// A PV UPDATE turning the reclaim policy of a PV whose claim is gone (Released) to Delete or Recycle is judged the
// same way (the PV controller reclaims it at once); its approval is `volume-guard.io/delete: "true"` on the PV. A PV
// DELETE is not judged: the backing volume is destroyed only once the PV is Released with reclaim Delete (the PV
// controller, or the external-provisioner's finalizer, HonorPVReclaimPolicy), i.e. when its claim goes, and that is
// judged where it happens.
// A Longhorn Volume DELETE is judged the same way (Longhorn deletes its data), except Longhorn's own.
// A StatefulSet UPDATE (or a write of its scale subresource) that leaves existing pods outside its ordinal range while
// its retention policy says whenScaled: Delete is judged the same way for those pods' PVCs: the StatefulSet controller
// and the garbage collector delete them as themselves.
import { claimsOwnedBy, DELETE_APPROVED_KEY, type DeletedLonghornVolume, isBound, reclaimLoss, type ReclaimChangeTarget, type ScaledDownTarget } from '../../checks/pvc-delete.ts';
import { replicaCount } from '../../checks/orphan-pvc.ts';
import { RECYCLABLE_SOURCES } from '../../checks/reclaim.ts';
import { claimOf } from '../../helm/claims.ts';
import { statefulSetFromObject } from '../../helm/manifest.ts';
import { ADMITTED_RELEASES, type AdmittedReleases, fieldManagerOf, FLUX_HELM_CONTROLLER_FIELD_MANAGER, isAnnotatedByHelm, isHelmsOwnWrite, isHelmsRecordedWrite } from '../helm-writes.ts';
import { celString, celValueOr } from '../rules.ts';
import { longhornServiceAccount } from './storage-teardown.ts';
import type { CheckMode, Config } from '../../config.ts';
import { describeUser, HELM_RELEASE_NAME_ANNOTATION, type UserInfo } from '../../kube.ts';
import { isAutomation, namespaceGoing, staleModelDecision, staleReads, unknownWarnings } from '../context.ts';
import { CONTROLLER_MANAGER_USER } from './pod-delete.ts';
import { field, finalizersOf, metaOf, stringField } from '../objects.ts';
import { isDeleteApproved } from '../../override-keys.ts';
import { deleteApprovalSource, mayWriteOverrides, overrideLifecycle, SKIP_BY_KEY, SKIP_REASON_KEY, skipFrom, whoMayWriteOverrides, type OverrideSource } from '../overrides.ts';
import { judgeByPlan, staleOverride } from '../plan-judge.ts';
import { annotateHint } from '../decide.ts';
import { PLANS, readOverrides } from '../plans.ts';
import { wrap } from '../messages.ts';
import { allowed, denied, type AdmissionRequest, type Decision, type RuleWithOperations, type WebhookDeclaration } from '../types.ts';
import type { ClusterSnapshot } from '../../cluster/snapshot.ts';
import { PROVISIONED_BY_ANNOTATION, transformLonghornVolume, transformPersistentVolume } from '../../cluster/transforms.ts';
import type { ValidationContext, Validator } from '../validator.ts';
import { WRITER_PLACEHOLDER } from '../../override-keys.ts';

/** A StatefulSet's ordinals.start in CEL, 0 when absent. */
const start = (object: string): string =>
  `(has(${object}.spec.ordinals) && has(${object}.spec.ordinals.start) ? ${object}.spec.ordinals.start : 0)`;
/** spec.replicas in CEL: a Scale omits 0; a StatefulSet's is defaulted to 1 before admission. */
const replicas = (object: string): string => `(has(${object}.spec) && has(${object}.spec.replicas) ? ${object}.spec.replicas : 0)`;
const whenScaled = (object: string): string =>
  `(has(${object}.spec.persistentVolumeClaimRetentionPolicy) && has(${object}.spec.persistentVolumeClaimRetentionPolicy.whenScaled) ? ` +
  `${object}.spec.persistentVolumeClaimRetentionPolicy.whenScaled : 'Retain')`;

/**
 * (request.subResource is absent, not '', on a request for the resource itself.)
 * The UPDATEs that can condemn pods whose PVCs the controller then deletes: a scale subresource write lowering the
 * replicas (the retention policy is read from the model), or a StatefulSet write ending at whenScaled: Delete that
 * lowers the replicas, moves ordinals.start or turns whenScaled to Delete.
 */
const SCALE_DOWN_CONDITION =
  "request.resource.resource == 'statefulsets' && (has(request.subResource) && request.subResource == 'scale' ? " +
  `${replicas('object')} < ${replicas('oldObject')} : ` +
  `((!has(request.subResource) || request.subResource == '') && ${whenScaled('object')} == 'Delete' && (${replicas('object')} < ${replicas('oldObject')} || ` +
  `${start('object')} != ${start('oldObject')} || ${whenScaled('oldObject')} != 'Delete')))`;

/**
 * CEL: the PV's reclaim policy destroys its volume once the PV is released: Delete, or Recycle on a source a recycler
 * serves (RECYCLABLE_SOURCES; on any other the PV controller marks the PV Failed with its data: effectiveReclaimPolicy).
 */
const DESTROYING_POLICY =
  "has(object.spec.persistentVolumeReclaimPolicy) && (object.spec.persistentVolumeReclaimPolicy == 'Delete' || " +
  `(object.spec.persistentVolumeReclaimPolicy == 'Recycle' && (${RECYCLABLE_SOURCES.map((source) => `has(object.spec.${source})`).join(' || ')})))`;
/** CEL: the PV names its claim by uid (without it the PV controller keeps the PV Available for that claim name). */
const CLAIM_REF_BY_UID = "has(object.spec.claimRef) && has(object.spec.claimRef.uid) && object.spec.claimRef.uid != ''";

/** CEL: the write re-points the PV's claimRef (another claim, or the same name under another uid). */
const CLAIM_REF_CHANGED = ['namespace', 'name', 'uid']
  .map((field) => `${celValueOr('oldObject', ['spec', 'claimRef', field], "''")} != ${celValueOr('object', ['spec', 'claimRef', field], "''")}`)
  .join(' || ');

/**
 * Who binds PVs: the PV controller writes the claimRef of every PV it binds (its own service account under
 * --use-service-account-credentials, else kube-controller-manager's identity), and kube-scheduler's VolumeBinding
 * plugin that of every static PV it binds to a WaitForFirstConsumer claim (binder.go bindAPIUpdate), often before
 * volume-guard has seen the claim it just read. Their binds are never judged.
 */
export const PV_CONTROLLER_USERS: readonly string[] = [
  'system:serviceaccount:kube-system:persistent-volume-binder',
  CONTROLLER_MANAGER_USER,
  'system:kube-scheduler',
];

/**
 * A PV bound to a claim by uid (without the uid the PV controller makes it Available for that claim name instead of
 * reclaiming it), its reclaim policy turned to Delete or Recycle, in any phase: Released or Failed (its claim is gone),
 * or a phase the PV controller has not caught up with (its claim gone, re-created, or being deleted: the model says).
 * Or a claimRef re-pointed under such a policy (an exported PV applied over a live one, a hand edit): its claim gone
 * or re-created, the PV is released and reclaimed at the next sync all the same. Sent for anyone but the PV
 * controller (its binds write the claimRef): an automation identity's always, anyone else's while
 * `pvcDelete.others` is not off (the mode decides, as in the handler).
 */
const reclaimCondition = (config: Config): string =>
  `${DESTROYING_POLICY} && ${CLAIM_REF_BY_UID} && (` +
  '(!has(oldObject.spec.persistentVolumeReclaimPolicy) || oldObject.spec.persistentVolumeReclaimPolicy != object.spec.persistentVolumeReclaimPolicy) || ' +
  `((${CLAIM_REF_CHANGED}) && !(request.userInfo.username in [${PV_CONTROLLER_USERS.map(celString).join(', ')}]) && ` +
  `(${automationCondition(config)} || ${celString(config.pvcDelete.others)} != 'off')))`;

/**
 * A PV CREATE by a person while `pvcDelete.others` judges people: restoring an exported PV by hand loses its data at
 * the PV controller's first sync just the same. Not a provisioner's, which creates every dynamically provisioned PV
 * so, for a claim the model may not show yet: a service account (CSI external-provisioner, the PV controller under
 * --use-service-account-credentials), a node, kube-controller-manager or kube-scheduler (PV_CONTROLLER_USERS). Other
 * `system:` names are people: k3s, RKE2 and OpenShift issue the admin kubeconfig as `system:admin`.
 */
const PERSON_PV_CREATE = (config: Config): string =>
  "(!request.userInfo.username.startsWith('system:serviceaccount:') && !request.userInfo.username.startsWith('system:node:') && " +
  `!(request.userInfo.username in [${PV_CONTROLLER_USERS.map(celString).join(', ')}]) && ` +
  "!(has(request.userInfo.groups) && request.userInfo.groups.exists(g, g == 'system:serviceaccounts')) && " +
  `${celString(config.pvcDelete.others)} != 'off')`;

/** What PERSON_PV_CREATE says, for the handler (and API servers without matchConditions). */
function isPersonPvCreate(user: UserInfo, config: Config): boolean {
  if (config.pvcDelete.others === 'off') return false;
  if (user.username.startsWith('system:serviceaccount:') || user.username.startsWith('system:node:')) return false;
  if (PV_CONTROLLER_USERS.includes(user.username)) return false;
  return !user.groups.includes('system:serviceaccounts');
}

/**
 * A PV created with a reclaim policy that destroys and a `claimRef` naming a claim by uid (an exported PV applied
 * again, from a backup or a GitOps repository): when that claim is gone or was re-created under another uid, the PV
 * controller's first sync releases the PV and reclaims it (judgeReclaimChange, from no policy). Sent for an automation
 * identity (automationCondition) or a person (PERSON_PV_CREATE): a webhook failing closed must not hold provisioning
 * up in an outage.
 */
const PV_CREATE_CONDITION =
  "request.resource.resource == 'persistentvolumes' && (!has(request.subResource) || request.subResource == '') && " +
  `${DESTROYING_POLICY} && ${CLAIM_REF_BY_UID}`;

/**
 * A StatefulSet already being deleted with the `orphan` finalizer (a DELETE with --cascade=orphan, judged then) whose
 * orphaning this request undoes before the garbage collector has orphaned its claims: a second DELETE (the API server
 * rewrites the GC finalizers from its options: Background drops `orphan`, Foreground puts `foregroundDeletion` in its
 * place; deletionFinalizersForGarbageCollection), or an UPDATE dropping the finalizer. The controller then deletes
 * the claims after all. Only `orphan` is looked for here; the handler reads the options (orphansDependents).
 */
const REOPENS_CASCADE =
  "request.resource.resource == 'statefulsets' && (!has(request.subResource) || request.subResource == '') && " +
  "has(oldObject.metadata.finalizers) && 'orphan' in oldObject.metadata.finalizers && " +
  "(request.operation == 'DELETE' || !has(object.metadata.finalizers) || !('orphan' in object.metadata.finalizers))";

/** CEL: the requester is a configured automation identity (isAutomation). */
export function automationCondition(config: Config): string {
  const users = config.pvcDelete.automationUsers.map(celString).join(', ');
  const groups = config.pvcDelete.automationGroups.map(celString).join(', ');
  return `(request.userInfo.username in [${users}] || (has(request.userInfo.groups) && request.userInfo.groups.exists(g, g in [${groups}])))`;
}

/** What the webhook is called for; matchConditions narrow it to what can take claims with it. */
const RULES: readonly RuleWithOperations[] = [
  { apiGroups: [''], apiVersions: ['v1'], resources: ['persistentvolumeclaims'], operations: ['DELETE'], scope: 'Namespaced' },
  { apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces'], operations: ['DELETE'], scope: 'Cluster' },
  { apiGroups: ['apps'], apiVersions: ['v1'], resources: ['statefulsets'], operations: ['DELETE'], scope: 'Namespaced' },
  // Scale-downs: the StatefulSet controller deletes the PVCs of the pods it scales away (whenScaled: Delete).
  { apiGroups: ['apps'], apiVersions: ['v1'], resources: ['statefulsets', 'statefulsets/scale'], operations: ['UPDATE'], scope: 'Namespaced' },
  // A Released PV's reclaim policy turned to Delete: the PV controller destroys the volume at once. And a PV
  // created (re-applied) with Delete and a claimRef to a claim that is gone: the same at its first sync.
  { apiGroups: [''], apiVersions: ['v1'], resources: ['persistentvolumes'], operations: ['CREATE', 'UPDATE'], scope: 'Cluster' },
  // A Longhorn Volume deleted: Longhorn deletes its replicas and data.
  { apiGroups: ['longhorn.io'], apiVersions: ['*'], resources: ['volumes'], operations: ['DELETE'], scope: 'Namespaced' },
];

/** The resources whose DELETE this webhook judges, as `<group>/<resource>` (the owner-delete webhook leaves them out). */
export const PVC_DELETE_DELETES: readonly string[] = RULES.filter((rule) => rule.operations.includes('DELETE')).flatMap((rule) =>
  rule.apiGroups.flatMap((group) => rule.resources.map((resource) => `${group}/${resource}`)),
);

/** Built from the configuration: Longhorn's own service account is left out by name (its deletes are its reclaims). */
const declarationFor = (config: Config): WebhookDeclaration => ({
  name: 'pvc-delete.volume-guard.io',
  target: 'pvc-delete',
  rules: RULES,
  // What can take claims with it: a Bound claim, a namespace, a StatefulSet whose claims may name it as their owner;
  // an object being deleted already is past deciding (a second DELETE changes nothing).
  matchConditions: [
    {
      name: 'deletes-bound-claims',
      expression:
        `oldObject == null ? (request.operation == 'CREATE' && ${PV_CREATE_CONDITION} && (${automationCondition(config)} || ${PERSON_PV_CREATE(config)})) : ` +
        `(has(oldObject.metadata.deletionTimestamp) ? (${REOPENS_CASCADE}) : (request.operation == 'UPDATE' ? ` +
        `(request.resource.resource == 'persistentvolumes' ? (${reclaimCondition(config)}) : (${SCALE_DOWN_CONDITION})) : ` +
        "((request.resource.group == 'longhorn.io' && request.resource.resource == 'volumes' && " +
        `request.userInfo.username != ${celString(longhornServiceAccount(config))}) || ` +
        "(request.resource.resource == 'persistentvolumeclaims' && " +
        "has(oldObject.status) && has(oldObject.status.phase) && oldObject.status.phase == 'Bound') || " +
        "request.resource.resource == 'namespaces' || (request.resource.resource == 'statefulsets' && " +
        '((has(oldObject.spec.persistentVolumeClaimRetentionPolicy) && has(oldObject.spec.persistentVolumeClaimRetentionPolicy.whenDeleted) && ' +
        "oldObject.spec.persistentVolumeClaimRetentionPolicy.whenDeleted == 'Delete') || " +
        // Under Retain its claims may still name it as owner (see judgeStatefulSetDelete): only the model knows.
        '(has(oldObject.spec.volumeClaimTemplates) && size(oldObject.spec.volumeClaimTemplates) > 0))))))',
    },
  ],
});

/**
 * The `volume-guard.io/delete: "true"` on an object (`what`: `PVC ns/name`, `PV name`...) as an override source, or
 * undefined when it is not there. Stored, so guarded when written: it counts with its recorded writer and until
 * its expiry (isDeleteApproved).
 */
function deleteApprovalOn(annotations: Readonly<Record<string, string>>, now: number, what: string): OverrideSource | undefined {
  const value = annotations[DELETE_APPROVED_KEY];
  if (value === undefined || value === '') return undefined;
  const lifecycle = overrideLifecycle(annotations, now);
  // Another value (`True`, `yes`) approves nothing: said, not passed over in silence.
  const ignored = value === 'true' ? lifecycle.expiredOrInvalid : `its value is "${value}": only "true" is honored`;
  return {
    where: `annotation ${DELETE_APPROVED_KEY} on ${what}`,
    checks: ['pvc-delete'],
    reason: annotations[SKIP_REASON_KEY] ?? '',
    recordedBy: lifecycle.writer,
    ...(lifecycle.until ? { until: lifecycle.until } : {}),
    ...(ignored ? { ignored } : {}),
  };
}

/**
 * The namespace's `volume-guard.io/skip` for an object Helm manages for a release of that namespace (a PVC or
 * StatefulSet annotated `meta.helm.sh/release-name` by Helm: isAnnotatedByHelm): a Helm upgrade that drops it was
 * judged at its release record, where that skip counts, and Helm's DELETE of it must get the same answer (Flux's
 * helm-controller deletes as an automation identity). Undefined for anything else: the namespace skip is read for
 * Helm releases only.
 */
export function helmNamespaceSkip(context: ValidationContext, namespace: string, object: unknown, annotations: Readonly<Record<string, string>>): OverrideSource | undefined {
  if (!helmManagedIn(namespace, object, annotations)) return undefined;
  return skipFrom(`namespace ${namespace} (Helm release ${annotations[HELM_RELEASE_NAME_ANNOTATION] ?? ''})`, context.snapshot.namespace(namespace)?.annotations, undefined, {
    now: context.now,
  });
}

/** The plan's override places that apply to this object: the namespace's skip only for an object of a Helm release. */
export function helmPlaces<Place extends string>(places: readonly Place[], object: unknown, annotations: Readonly<Record<string, string>>, namespace: string): readonly Place[] {
  return helmManagedIn(namespace, object, annotations) ? places : places.filter((place) => place !== 'namespace-helm');
}

/** A namespaced object Helm manages for a release of its namespace (isAnnotatedByHelm; a cluster-scoped one has no namespace skip). */
function helmManagedIn(namespace: string, object: unknown, annotations: Readonly<Record<string, string>>): boolean {
  return namespace !== '' && isAnnotatedByHelm(object, annotations, namespace);
}

export function pvcDeleteValidator(config: Config, admitted: AdmittedReleases = ADMITTED_RELEASES): Validator {
  return {
    declaration: declarationFor(config),
    handle(request, context) {
      const scaling = request.operation === 'UPDATE' && request.resource.resource === 'statefulsets';
      const reclaiming =
        (request.operation === 'UPDATE' || request.operation === 'CREATE') && request.resource.resource === 'persistentvolumes' && (request.subResource ?? '') === '';
      if (request.operation !== 'DELETE' && !scaling && !reclaiming) return allowed();
      const old = request.operation === 'CREATE' ? request.object : request.oldObject;
      const meta = metaOf(old);
      if (!meta) return allowed();
      // Once allowed (whatever this check's mode, orphaning or not), `kubectl delete sts a b` judges b with a no
      // longer owning the PVCs they share: the garbage collector keeps a PVC only while one of its owners stays.
      if (request.operation === 'DELETE' && request.resource.resource === 'statefulsets' && (request.subResource ?? '') === '') {
        const uid = stringField(old, 'metadata', 'uid');
        const orphaning = orphansDependents(request.options, old) ? { orphaning: true as const } : {};
        if (uid !== '') context.removing({ kind: 'statefulSet', namespace: request.namespace, name: request.name || meta.name, uid, ...orphaning });
      }
      // The garbage collector deletes a claim only once none of its owners remains. Owners whose removal
      // volume-guard judges (a StatefulSet's DELETE, gone or going; a pod's claim is its scratch, or was handed to it
      // by a judged scale-down) were the decision: judging it again under `pvcDelete.others: enforce` would hold the
      // claim for ever, its owner gone. An operator's resource (its DELETE judged only when automation makes it:
      // owner-delete.ts), or a stale reference to a StatefulSet whose name another uid holds now (a re-applied
      // manifest), leaves the claim judged here.
      if (
        request.operation === 'DELETE' &&
        request.resource.resource === 'persistentvolumeclaims' &&
        isGarbageCollector(request.userInfo.username) &&
        ownersWereJudged(request.oldObject, context.snapshot, request.namespace, staleReads(context, ['statefulSet']).length === 0)
      ) {
        return allowed();
      }
      const { config } = context;
      const automation = isAutomation(request.userInfo, config);
      const mode = automation ? config.checks['pvc-delete'].mode : config.pvcDelete.others;
      if (mode === 'off') return allowed();
      // Already being deleted (a finalizer such as kubernetes.io/pvc-protection holds it): the first DELETE decided,
      // unless this request undoes the orphaning of a StatefulSet's claims that decision rested on.
      const reopening = reopensCascade(request);
      if (stringField(old, 'metadata', 'deletionTimestamp') !== '' && !reopening) return allowed();
      // In a namespace being deleted the namespace controller deletes every PVC (and StatefulSet, and in Longhorn's
      // namespace every Longhorn Volume) whatever this answer says; its claims were judged at the Namespace DELETE
      // (Longhorn's volumes by storage-teardown), and refusing only leaves it stuck Terminating.
      const inNamespace =
        request.resource.resource === 'persistentvolumeclaims' ||
        request.resource.resource === 'statefulsets' ||
        (request.resource.group === 'longhorn.io' && request.resource.resource === 'volumes');
      if (request.operation === 'DELETE' && inNamespace && namespaceGoing(context, request.namespace)) return allowed();
      if (reopening) return judgeStatefulSetDelete(request, context, mode, automation);
      if (scaling) return judgeScaleDown(request, context, mode, automation, admitted);
      // A PV CREATE by anyone but automation or a person is not judged (PV_CREATE_CONDITION: provisioners create PVs so).
      if (reclaiming && request.operation === 'CREATE' && !automation && !isPersonPvCreate(request.userInfo, config)) return allowed();
      if (reclaiming) return judgeReclaimChange(request, context, mode, automation);
      if (request.resource.group === 'longhorn.io') return judgeLonghornVolumeDelete(request, context, meta.annotations, mode, automation);
      if (request.resource.resource === 'namespaces') return judgeNamespaceDelete(request, context, meta.annotations, mode, automation);
      if (request.resource.resource === 'statefulsets') return judgeStatefulSetDelete(request, context, mode, automation);
      const name = request.name || meta.name;
      // A pod's own claim (a generic ephemeral volume, or one a judged scale-down handed to its pod): the garbage
      // collector deletes it with the pod whatever is answered, and kubernetes.io/pvc-protection keeps it until then,
      // so its DELETE loses nothing the pod's end does not (as for a namespace's: lostWithNamespace).
      if (ownedOnlyByPods(old)) return allowed();
      const claim = {
        namespace: request.namespace,
        name,
        phase: stringField(old, 'status', 'phase'),
        volumeName: stringField(old, 'spec', 'volumeName'),
        ...(automation ? { byAutomation: true } : {}),
      };
      const action = `deletion of PVC ${request.namespace}/${name} by ${describeUser(request.userInfo)}`;
      const deleteApproval = (): OverrideSource | undefined =>
        deleteApprovalOn(meta.annotations, context.now, `PVC ${request.namespace}/${name}`);
      const plan = PLANS['pvc-delete'];
      return judgeByPlan(context, plan, {
        action,
        target: claim,
        overrides: readOverrides(plan, { 'pvc-delete': deleteApproval, 'namespace-helm': () => helmNamespaceSkip(context, request.namespace, old, meta.annotations) }),
        stalePlaces: helmPlaces(plan.overrides, old, meta.annotations, request.namespace),
        modes: { 'pvc-delete': mode },
        // The advice annotating the PVC fits it as the request says it is stored (the model may lag an annotate).
        reviewed: { resources: ['pvc'], name, namespace: request.namespace, annotations: meta.annotations },
        overrideHint:
          `back the data up, then run: kubectl annotate pvc ${name} -n ${request.namespace} ${DELETE_APPROVED_KEY}=true ` +
          `${SKIP_REASON_KEY}="<why>" ${SKIP_BY_KEY}=${WRITER_PLACEHOLDER} and let ${automation ? 'the controller retry' : 'the delete be retried'}`,
      });
    },
  };
}

/** Whether the object has owners, all of them core Pods (isPodScratchClaim, read from the request). */
function ownedOnlyByPods(object: unknown): boolean {
  const owners = field(object, 'metadata', 'ownerReferences');
  if (!Array.isArray(owners) || owners.length === 0) return false;
  return owners.every((owner: unknown) => stringField(owner, 'kind') === 'Pod' && stringField(owner, 'apiVersion') === 'v1');
}

/** Whether the object has owners, each one whose DELETE volume-guard admitted a moment ago (deletionAdmitted). */
function ownedOnlyByAdmittedDeletions(object: unknown, snapshot: ClusterSnapshot): boolean {
  const owners = field(object, 'metadata', 'ownerReferences');
  if (!Array.isArray(owners) || owners.length === 0) return false;
  return owners.every((owner: unknown) => {
    const uid = stringField(owner, 'uid');
    return uid !== '' && snapshot.deletionAdmitted(uid);
  });
}

/** The garbage collector: its service account, or kube-controller-manager without per-controller credentials. */
const GARBAGE_COLLECTORS: readonly string[] = ['system:serviceaccount:kube-system:generic-garbage-collector', CONTROLLER_MANAGER_USER];

function isGarbageCollector(username: string): boolean {
  return GARBAGE_COLLECTORS.includes(username);
}

/**
 * Whether the claim has owners whose removal volume-guard judges: a Pod (core), an owner whose DELETE it admitted in
 * the last PENDING_REMOVAL_TTL_MS (a StatefulSet's; another kind's through owner-delete), or a StatefulSet (apps) that
 * is gone or that it sees being deleted under the reference's uid; not one whose name a live StatefulSet of another
 * uid holds (a stale reference: nothing of it was judged).
 */
function ownersWereJudged(object: unknown, snapshot: ClusterSnapshot, namespace: string, statefulSetsFresh: boolean): boolean {
  const owners = field(object, 'metadata', 'ownerReferences');
  if (!Array.isArray(owners) || owners.length === 0) return false;
  return owners.every((owner: unknown) => {
    const kind = stringField(owner, 'kind');
    const group = stringField(owner, 'apiVersion').split('/').slice(0, -1).join('/');
    if (kind === 'Pod' && group === '') return true;
    const uid = stringField(owner, 'uid');
    // A DELETE volume-guard admitted a moment ago (a StatefulSet's, or another owner's through owner-delete).
    if (uid !== '' && snapshot.deletionAdmitted(uid)) return true;
    if (kind !== 'StatefulSet' || group !== 'apps' || uid === '') return false;
    // What follows reads the StatefulSets: a stale view of them (one created meanwhile under that name, with another
    // uid) decides nothing, and the claim gets the stale-model answer (the plan reads statefulSet for this).
    if (!statefulSetsFresh) return false;
    // Gone (a background DELETE removes it at once, and the admitted record ends when the informer sees it go; the
    // other replica never had it), or being deleted. A live StatefulSet of that name under another uid means the
    // reference is stale: a manifest exported with its claims and re-applied, whose claims the garbage collector
    // deletes at once though no deletion was ever judged.
    const live = snapshot.statefulSet(namespace, stringField(owner, 'name'));
    return live === undefined || (live.uid === uid && live.deleting === true);
  });
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
  // The garbage collector deleting it after an owner's DELETE volume-guard allowed (a Capsule Tenant's: owner-delete
  // judged the claims in it).
  if (isGarbageCollector(request.userInfo.username) && ownedOnlyByAdmittedDeletions(request.oldObject, context.snapshot)) return allowed();
  const plan = PLANS['namespace-delete'];
  return judgeByPlan(context, plan, {
    action: `deletion of namespace ${namespace} by ${describeUser(request.userInfo)}`,
    target: { namespace, now: context.now },
    // Stored, so guarded when written: the namespace's skip, with its recorded writer and expiry.
    overrides: readOverrides(plan, { object: () => skipFrom(`namespace ${namespace}`, annotations, undefined, { now: context.now }), 'pvc-delete': deleteApprovalSource }),
    warnings: unknownWarnings(`namespace ${namespace}`, annotations),
    modes: { 'pvc-delete': mode },
    unlimited: ['pvc-delete'],
    reviewed: { resources: ['namespace'], name: namespace, annotations },
    overrideHint:
      // Every PVC of the namespace goes with it: `--all` approves what it deletes when the names do not fit.
      `back the data up, then mark each PVC that may go: kubectl annotate pvc <pvcs|--all> -n ${namespace} ${DELETE_APPROVED_KEY}=true ` +
      `${SKIP_BY_KEY}=${WRITER_PLACEHOLDER}, and let ${automation ? 'the controller retry' : 'the delete be retried'}\n` +
      `or, for every PVC in it: ${annotateHint('namespace', namespace).replace(/^run: /, '')}`,
  });
}

/**
 * Whether a DELETE orphans the object's dependents, as the API server decides it (shouldOrphanDependents in
 * k8s.io/apiserver's registry store): the DeleteOptions first (orphanDependents, then propagationPolicy: Orphan is
 * kubectl delete --cascade=orphan), else the object's own finalizers (`orphan` keeps them, `foregroundDeletion`
 * does not), else the resource's default (`orphansByDefault`; apps/v1 and custom resources: delete them).
 */
export function orphansDependents(options: unknown, object: unknown, orphansByDefault = false): boolean {
  const orphan = field(options, 'orphanDependents');
  if (typeof orphan === 'boolean') return orphan;
  const policy = stringField(options, 'propagationPolicy');
  if (policy === 'Orphan') return true;
  if (policy === 'Background' || policy === 'Foreground') return false;
  for (const finalizer of finalizersOf(object)) {
    if (finalizer === 'orphan') return true;
    if (finalizer === 'foregroundDeletion') return false;
  }
  return orphansByDefault;
}

/** What REOPENS_CASCADE says, for the handler (and API servers without matchConditions). */
function reopensCascade(request: AdmissionRequest): boolean {
  if (request.resource.resource !== 'statefulsets' || (request.subResource ?? '') !== '') return false;
  if (stringField(request.oldObject, 'metadata', 'deletionTimestamp') === '' || !finalizersOf(request.oldObject).includes(ORPHAN_FINALIZER)) return false;
  if (request.operation === 'DELETE') return true;
  return request.operation === 'UPDATE' && !finalizersOf(request.object).includes(ORPHAN_FINALIZER);
}

export const ORPHAN_FINALIZER = 'orphan';

/**
 * A StatefulSet DELETE: the garbage collector deletes the PVCs whose ownerReferences name the StatefulSet's uid,
 * unless the DELETE orphans them. The retention policy is not what it reads: the StatefulSet controller adds that
 * reference under whenDeleted: Delete and removes it under Retain only when it next syncs the claim's pod (never for
 * the claims of pods already gone), and anyone may have added one. So Delete, or any live claim naming the uid.
 */
function judgeStatefulSetDelete(request: AdmissionRequest, context: ValidationContext, mode: CheckMode, automation: boolean): Decision {
  const old = request.oldObject;
  const name = request.name || stringField(old, 'metadata', 'name');
  const uid = stringField(old, 'metadata', 'uid');
  // An UPDATE of a StatefulSet being deleted (reopensCascade): its finalizers once written decide, as for a DELETE
  // without options.
  const update = request.operation === 'UPDATE';
  if (update ? orphansDependents(undefined, request.object) : orphansDependents(request.options, old)) return allowed();
  const policyDeletes = stringField(old, 'spec', 'persistentVolumeClaimRetentionPolicy', 'whenDeleted') === 'Delete';
  // Whether a claim still names it is the PVCs' view: a stale one gets the stale-model answer (judgeByPlan).
  if (!policyDeletes && claimsOwnedBy(context.snapshot, uid, request.namespace).length === 0 && staleReads(context, ['persistentVolumeClaim']).length === 0) {
    return allowed();
  }
  // The garbage collector deleting it after an owner's DELETE volume-guard allowed (owner-delete judged its claims).
  if (!update && isGarbageCollector(request.userInfo.username) && ownedOnlyByAdmittedDeletions(old, context.snapshot)) {
    context.removing({ kind: 'statefulSet', namespace: request.namespace, name, uid });
    return allowed();
  }
  const plan = PLANS['statefulset-delete'];
  return judgeByPlan(context, plan, {
    action: update
      ? `removal of the orphan finalizer of StatefulSet ${request.namespace}/${name} (being deleted) by ${describeUser(request.userInfo)}`
      : `deletion of StatefulSet ${request.namespace}/${name}${stringField(old, 'metadata', 'deletionTimestamp') !== '' ? ' (being deleted with --cascade=orphan)' : ''} by ${describeUser(request.userInfo)}`,
    target: { namespace: request.namespace, owner: { kind: 'StatefulSet', name, uid, policyDeletes, ...(automation ? { byAutomation: true } : {}) }, now: context.now },
    overrides: readOverrides(plan, {
      'pvc-delete': deleteApprovalSource,
      'namespace-helm': () => helmNamespaceSkip(context, request.namespace, old, metaOf(old)?.annotations ?? {}),
    }),
    stalePlaces: helmPlaces(plan.overrides, old, metaOf(old)?.annotations ?? {}, request.namespace),
    modes: { 'pvc-delete': mode },
    unlimited: ['pvc-delete'],
    overrideHint:
      `back the data up, then mark each PVC that may go: kubectl annotate pvc <pvcs> -n ${request.namespace} ${DELETE_APPROVED_KEY}=true ` +
      `${SKIP_BY_KEY}=${WRITER_PLACEHOLDER}, or delete with --cascade=orphan to keep the PVCs, and let ` +
      `${automation ? `the controller retry (${orphaningPrune(request.userInfo.username)})` : 'the delete be retried'}`,
  });
}

/**
 * How a GitOps tool's prune keeps the PVCs a StatefulSet (or another `kind`) owns, as `--cascade=orphan` does for
 * kubectl (a controller takes no flag): Argo CD's sync option PrunePropagationPolicy=orphan, or Flux leaving the
 * object out of its prune; both when the requester is neither tool's known account.
 */
export function orphaningPrune(username: string, kind = 'StatefulSet'): string {
  const argo = "Argo CD: set the Application's sync option PrunePropagationPolicy=orphan";
  const flux = `Flux: annotate the ${kind} in Git kustomize.toolkit.fluxcd.io/prune: disabled, then delete it with --cascade=orphan`;
  const how = /argocd|openshift-gitops/.test(username) ? argo : username.startsWith('system:serviceaccount:flux-system:') ? flux : `${argo}; ${flux}`;
  return `a GitOps prune takes no --cascade flag; to keep the PVCs, ${how}`;
}

/** A count from an object field: a non-negative integer, or `fallback` when absent or not one. */
function countField(object: unknown, fallback: number, ...path: string[]): number {
  const value = field(object, ...path);
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : fallback;
}

/** The StatefulSet volume-guard sees is being deleted and is the one this Scale is of (same uid, or a Scale without one). */
export function beingDeletedScaled(live: { readonly deleting?: boolean; readonly uid: string }, request: AdmissionRequest): boolean {
  if (live.deleting !== true) return false;
  const uid = scaledStatefulSetUid(request);
  return uid === '' || uid === live.uid;
}

/** The uid of the StatefulSet a `statefulsets/scale` write is of: the API server copies it into the Scale. */
export function scaledStatefulSetUid(request: AdmissionRequest): string {
  return stringField(request.object, 'metadata', 'uid') || stringField(request.oldObject, 'metadata', 'uid');
}

/** PVCs a refusal of an unseen StatefulSet's scale-down names at most. */
const MAX_UNSEEN_NAMED = 3;

/**
 * A scale-down through `statefulsets/scale` of a StatefulSet volume-guard has not seen: none of that name (the
 * earlier one's DELETE reached the informer, the re-created one's CREATE not yet), or another one under that name
 * (the Scale's uid differs): re-created a moment ago, after `kubectl delete sts --cascade=orphan`. Its retention
 * policy and claim templates are not known, so it is refused for a moment when the pods it scales away mount Bound
 * claims whose PV says Delete or Recycle (`<template>-<name>-<ordinal>` for the pod `<name>-<ordinal>`, ordinals from
 * 0: not in a Scale either; the pods of a `--cascade=orphan` DELETE have no owner any more, so none is asked for);
 * retried once the informer has it, it is judged as usual. Without such claims it passes, as an unseen scale-up
 * without leftover claims does (statefulset.ts, judgeUnseenScaleUp). A stale model gets the stale-model answer first.
 * Undefined when it is the one held.
 */
function unseenScaleDown(request: AdmissionRequest, context: ValidationContext, mode: CheckMode): Decision | undefined {
  if (request.subResource !== 'scale' || mode === 'off') return undefined;
  const { namespace } = request;
  const name = request.name || stringField(request.oldObject, 'metadata', 'name');
  const live = context.snapshot.statefulSet(namespace, name);
  const uid = scaledStatefulSetUid(request);
  if (live !== undefined && (uid === '' || uid === live.uid)) return undefined;
  const replicas = countField(request.object, 0, 'spec', 'replicas');
  const before = countField(request.oldObject, 0, 'spec', 'replicas');
  if (replicas >= before) return undefined;
  const action = `scale-down of StatefulSet ${namespace}/${name} from ${before} to ${replicaCount(replicas)}`;
  const plan = PLANS['statefulset-scale-down'];
  const stale = staleModelDecision(context, `${action} by ${describeUser(request.userInfo)}`, [], plan.reads, () =>
    // A Scale is never Helm's write: the namespace's skip for Helm releases does not reach it.
    staleOverride(
      plan.overrides.filter((place) => place !== 'namespace-helm'),
      { overrideHint: '' },
    ),
  );
  if (stale) return stale;
  const middle = `-${name}-`;
  const claims = context.snapshot.persistentVolumeClaimsIn(namespace).filter((claim) => {
    const at = claim.name.lastIndexOf(middle);
    if (at <= 0 || claim.deleting || !isBound(claim)) return false;
    const ref = claimOf(claim.name, { name, claimTemplates: [claim.name.slice(0, at)] });
    if (ref === undefined || ref.ordinal < replicas || ref.ordinal >= before) return false;
    const pod = context.snapshot.pod(namespace, `${name}-${ref.ordinal}`);
    if (pod === undefined || !pod.claimNames.includes(claim.name)) return false;
    return reclaimLoss(context.snapshot, claim) !== undefined;
  });
  if (claims.length === 0) return undefined;
  const named = claims.slice(0, MAX_UNSEEN_NAMED).map((claim) => `${namespace}/${claim.name}`).join(', ');
  const more = claims.length > MAX_UNSEEN_NAMED ? ` and ${claims.length - MAX_UNSEEN_NAMED} more` : '';
  const why =
    `volume-guard has not seen this StatefulSet ${namespace}/${name} yet (created a moment ago), and the pods it scales away ` +
    `mount ${named}${more}, ${claims.length === 1 ? 'whose PV is deleted with it' : 'whose PVs are deleted with them'} if its retention policy says whenScaled: Delete`;
  if (mode === 'warn') return { ...allowed(wrap(`volume-guard: ${why}; ${action} not checked`)), checks: ['pvc-delete'] };
  return denied(`volume-guard refused the ${action}: ${why}. Retry in a moment: it is judged once volume-guard sees the StatefulSet.`, {
    checks: ['pvc-delete'],
    deniedChecks: ['pvc-delete'],
  });
}

/** What a StatefulSet write or scale does to its ordinal range, when the controller would delete PVCs for it. */
export function scaleDownOf(
  request: AdmissionRequest,
  context: ValidationContext,
  admitted: AdmittedReleases = ADMITTED_RELEASES,
): (ScaledDownTarget & { readonly change: string }) | undefined {
  const { namespace } = request;
  const name = request.name || stringField(request.oldObject, 'metadata', 'name');
  if (request.subResource === 'scale') {
    // A Scale carries only the replicas (0 is omitted); the StatefulSet's policy, ordinals and templates come from the model.
    const replicas = countField(request.object, 0, 'spec', 'replicas');
    const before = countField(request.oldObject, 0, 'spec', 'replicas');
    const live = context.snapshot.statefulSet(namespace, name);
    // A StatefulSet being deleted is only given its status by its controller (updateStatefulSet returns first):
    // no condemned pod's claim is given an owner reference, so its scale deletes nothing. Only the one the Scale is
    // of (its uid): a StatefulSet re-created under that name after `--cascade=orphan` is judged on its own.
    if (replicas >= before || live === undefined || beingDeletedScaled(live, request) || live.whenScaled !== 'Delete') return undefined;
    return {
      namespace,
      name,
      uid: live.uid,
      claimTemplates: live.claimTemplates,
      replicas,
      ordinalsStart: live.ordinalsStart,
      now: context.now,
      change: `scale-down of StatefulSet ${namespace}/${name} from ${before} to ${replicaCount(replicas)}`,
    };
  }
  if ((request.subResource ?? '') !== '') return undefined;
  // Helm's own write (helm upgrade/rollback, Flux's helm-controller): judged at its release record, before Helm
  // touched anything; refusing it here would leave the upgrade half applied. (Helm never writes the scale subresource.)
  // Anyone else's writes of it (kubectl, a GitOps controller, a UI: src/admission/helm-writes.ts) were judged nowhere
  // else: judged here; so is helm-controller's without a record this pod allowed lately (its drift correction).
  if (isHelmsRecordedWrite(request, metaOf(request.object)?.annotations ?? {}, namespace, admitted, context.now)) return undefined;
  const policy = (object: unknown): string =>
    stringField(object, 'spec', 'persistentVolumeClaimRetentionPolicy', 'whenScaled') === 'Delete' ? 'Delete' : 'Retain';
  if (policy(request.object) !== 'Delete') return undefined;
  const replicas = countField(request.object, 1, 'spec', 'replicas');
  const before = countField(request.oldObject, 1, 'spec', 'replicas');
  const start = countField(request.object, 0, 'spec', 'ordinals', 'start');
  const startBefore = countField(request.oldObject, 0, 'spec', 'ordinals', 'start');
  let change: string;
  if (replicas < before) change = `scale-down of StatefulSet ${namespace}/${name} from ${before} to ${replicaCount(replicas)}`;
  else if (start !== startBefore) change = `move of StatefulSet ${namespace}/${name} to ordinals ${start}..${start + replicas - 1}`;
  else if (policy(request.oldObject) !== 'Delete') change = `change of StatefulSet ${namespace}/${name} to whenScaled: Delete`;
  else return undefined;
  const statefulSet = statefulSetFromObject(request.object, namespace);
  return {
    namespace,
    name,
    uid: stringField(request.oldObject, 'metadata', 'uid'),
    claimTemplates: statefulSet?.claimTemplates ?? [],
    replicas,
    ordinalsStart: start,
    ...(start !== startBefore ? { ordinalsMoved: true as const } : {}),
    now: context.now,
    change,
  };
}

/**
 * A StatefulSet UPDATE or scale that condemns pods while its retention policy says whenScaled: Delete: the
 * StatefulSet controller deletes their PVCs (as itself), so the automation that scaled down is seen only here.
 */
function judgeScaleDown(request: AdmissionRequest, context: ValidationContext, mode: CheckMode, automation: boolean, admitted: AdmittedReleases): Decision {
  const unseen = unseenScaleDown(request, context, mode);
  if (unseen !== undefined) return unseen;
  const target = scaleDownOf(request, context, admitted);
  // A Scale lowering the replicas of a StatefulSet whose policy the model says keeps its claims: a stale copy of it
  // may say Retain when the live one says Delete. Then the stale-model answer, as for one that says Delete.
  const staleScale = target === undefined && lowersScaleOnStaleModel(request, context);
  if (target === undefined && !staleScale) return allowed();
  const plan = PLANS['statefulset-scale-down'];
  const name = request.name || stringField(request.oldObject, 'metadata', 'name');
  const change =
    target?.change ??
    `scale-down of StatefulSet ${request.namespace}/${name} from ${countField(request.oldObject, 0, 'spec', 'replicas')} to ` +
      `${replicaCount(countField(request.object, 0, 'spec', 'replicas'))}`;
  // Helm's write judged here (helm-controller's, without a record this pod allowed: isHelmsRecordedWrite) gets the
  // overrides its release record honors: the PVCs' approvals and the namespace's skip. Its upgrade's record allowed
  // by another volume-guard replica so gets the same answer here; its drift correction is judged like an upgrade.
  const old = request.oldObject;
  const oldAnnotations = metaOf(old)?.annotations ?? {};
  const helmWrite = (request.subResource ?? '') === '' && isHelmsOwnWrite(request, metaOf(request.object)?.annotations ?? {}, request.namespace);
  const driftCorrection = helmWrite && fieldManagerOf(request) === FLUX_HELM_CONTROLLER_FIELD_MANAGER;
  return judgeByPlan(context, plan, {
    action: `${change} by ${describeUser(request.userInfo)}`,
    // Undefined only with a stale model: judgeByPlan answers by the stale-model policy before reading it.
    target,
    overrides: readOverrides(plan, {
      'pvc-delete': deleteApprovalSource,
      'namespace-helm': () => (helmWrite ? helmNamespaceSkip(context, request.namespace, old, oldAnnotations) : undefined),
    }),
    stalePlaces: helmWrite ? helmPlaces(plan.overrides, old, oldAnnotations, request.namespace) : plan.overrides.filter((place) => place !== 'namespace-helm'),
    modes: { 'pvc-delete': mode },
    unlimited: ['pvc-delete'],
    overrideHint:
      `back the data up, then mark each PVC that may go: kubectl annotate pvc <pvcs> -n ${request.namespace} ${DELETE_APPROVED_KEY}=true ` +
      `${SKIP_BY_KEY}=${WRITER_PLACEHOLDER}, or set whenScaled: Retain ${driftCorrection ? "in the HelmRelease's values" : 'first'} to keep them, and let ` +
      `${automation ? 'the controller retry' : 'the change be retried'}` +
      (driftCorrection
        ? `\nor, if Flux corrects drift of a HelmRelease: declare the live replicas in its values, ` +
          'or add /spec/replicas to its spec.driftDetection.ignore paths'
        : ''),
  });
}

/**
 * A `statefulsets/scale` write lowering the replicas while the StatefulSets the model holds are stale: scaleDownOf
 * read the retention policy from a copy that may be out of date. (A StatefulSet write carries its own policy; a
 * StatefulSet being deleted stays so, and its scale deletes nothing.)
 */
function lowersScaleOnStaleModel(request: AdmissionRequest, context: ValidationContext): boolean {
  if (request.subResource !== 'scale') return false;
  if (countField(request.object, 0, 'spec', 'replicas') >= countField(request.oldObject, 0, 'spec', 'replicas')) return false;
  const live = context.snapshot.statefulSet(request.namespace, request.name || stringField(request.oldObject, 'metadata', 'name'));
  if (live !== undefined && beingDeletedScaled(live, request)) return false;
  return staleReads(context, ['statefulSet']).length > 0;
}

/**
 * A PV write turning the reclaim policy of a Released (or Failed) PV to Delete or Recycle: the PV controller reclaims
 * it at once, as itself. Approved by `volume-guard.io/delete: "true"` on the PV (policed by the override guard, so it
 * counts with its recorded writer and until its expiry, whether stored before or written in this very write).
 */
function judgeReclaimChange(request: AdmissionRequest, context: ValidationContext, mode: CheckMode, automation: boolean): Decision {
  const object = request.object;
  const name = request.name || stringField(object, 'metadata', 'name');
  const annotations = metaOf(object)?.annotations ?? {};
  const created = request.operation === 'CREATE';
  const persistentVolume = transformPersistentVolume(object);
  const claimRefOf = (pv: unknown): string =>
    ['namespace', 'name', 'uid'].map((field) => stringField(pv, 'spec', 'claimRef', field)).join('/');
  const target: ReclaimChangeTarget = {
    name,
    claimNamespace: stringField(object, 'spec', 'claimRef', 'namespace'),
    claimName: stringField(object, 'spec', 'claimRef', 'name'),
    claimUid: stringField(object, 'spec', 'claimRef', 'uid'),
    // A new PV's status is the API server's (Pending), whatever the applied manifest said.
    phase: created ? '' : stringField(object, 'status', 'phase'),
    reclaimPolicy: stringField(object, 'spec', 'persistentVolumeReclaimPolicy'),
    previousPolicy: stringField(request.oldObject, 'spec', 'persistentVolumeReclaimPolicy'),
    claimRefChanged: !created && claimRefOf(request.oldObject) !== claimRefOf(object),
    approved: isDeleteApproved(annotations, context.now),
    dynamicallyProvisioned: annotations[PROVISIONED_BY_ANNOTATION] !== undefined,
    ...(created ? { created: true } : {}),
    // Read as the model reads a PV: under Recycle only a hostPath or NFS source is wiped.
    ...(persistentVolume === undefined ? {} : { source: persistentVolume.source }),
  };
  if (stringField(object, 'metadata', 'deletionTimestamp') !== '' || target.claimUid === '') return allowed();
  // A re-pointed claimRef is judged for anyone but the PV controller (reclaimCondition: it binds so), under the
  // requester's mode (automation's, or `pvcDelete.others`: the caller's).
  const repointed = target.reclaimPolicy === target.previousPolicy;
  if (repointed && !(target.claimRefChanged && !PV_CONTROLLER_USERS.includes(request.userInfo.username))) return allowed();
  const approval = (): OverrideSource | undefined => deleteApprovalOn(annotations, context.now, `PV ${name}`);
  const plan = PLANS['pv-reclaim'];
  return judgeByPlan(context, plan, {
    action: created
      ? `creation of PV ${name} with reclaim policy ${target.reclaimPolicy} by ${describeUser(request.userInfo)}`
      : repointed
        ? `change of PV ${name}'s claimRef to ${target.claimNamespace}/${target.claimName} by ${describeUser(request.userInfo)}`
        : `change of PV ${name}'s reclaim policy to ${target.reclaimPolicy} by ${describeUser(request.userInfo)}`,
    target,
    overrides: readOverrides(plan, { 'pv-delete': approval }),
    modes: { 'pvc-delete': mode },
    // A CREATE: the PV does not exist yet, so the approval goes in the manifest (the Fix says how to create it safely).
    overrideHint: created
      ? `if its data may go, ${createdApproval(request.userInfo, context.config, automation)}`
      : repointed
        ? `apply the PV without spec.claimRef (its live one stays), or with the uid of the live claim; if its data may go: ` +
          `kubectl annotate pv ${name} ${DELETE_APPROVED_KEY}=true ${SKIP_REASON_KEY}="<why>" ${SKIP_BY_KEY}=${WRITER_PLACEHOLDER}, and let ` +
          `${automation ? 'the controller retry' : 'the change be retried'}`
        : `keep reclaim policy ${target.previousPolicy || 'Retain'} until the data is backed up or rebound; if it may go: kubectl annotate pv ${name} ` +
        `${DELETE_APPROVED_KEY}=true ${SKIP_REASON_KEY}="<why>" ${SKIP_BY_KEY}=${WRITER_PLACEHOLDER}, and let ` +
        `${automation ? 'the controller retry' : 'the change be retried'}`,
  });
}

/**
 * How a PV CREATE refused may go ahead with its data reclaimed. An automation identity's or a person's is judged
 * (PV_CREATE_CONDITION), and the override guard takes the approval it writes only from an override writer naming
 * itself as skip-by; one that may not write overrides is told the ways that work: an override writer's CREATE, or
 * allowing the controller.
 */
function createdApproval(user: UserInfo, config: Config, automation: boolean): string {
  const annotations = (by: string) => `${DELETE_APPROVED_KEY}: "true", ${SKIP_REASON_KEY}: "<why>" and ${SKIP_BY_KEY}: ${by}`;
  const approval = (by: string) => `add the annotations ${annotations(by)} to the PV`;
  if (!automation) {
    if (mayWriteOverrides(user, config.overrides)) return `add the annotations ${annotations(user.username)} to the PV's metadata.annotations and create it again`;
    // Named as configured (overrides.allowedGroups/allowedUsers): the default is group system:masters, not a user list.
    return `ask an override writer (${whoMayWriteOverrides(config.overrides).text}) to create it with the annotations ${annotations('<their user name>')}`;
  }
  if (mayWriteOverrides(user, config.overrides)) return `${approval(user.username)} and let the controller retry`;
  return (
    `create it by hand (a person's PV CREATE is judged only under pvcDelete.others), or allow ${user.username} in ` +
    `overrides.allowedUsers and ${approval(user.username)}`
  );
}

/**
 * A Longhorn Volume DELETE: Longhorn deletes its replicas and data. Longhorn's own service account (the reclaim of a
 * PVC whose PV says Delete, a delete from Longhorn's UI) is never judged: that PVC's DELETE was, and its UI is used by
 * hand. Approved by `volume-guard.io/delete: "true"` on the volume (policed by the override guard).
 */
function judgeLonghornVolumeDelete(
  request: AdmissionRequest,
  context: ValidationContext,
  annotations: Readonly<Record<string, string>>,
  mode: CheckMode,
  automation: boolean,
): Decision {
  if (request.resource.resource !== 'volumes' || request.userInfo.username === longhornServiceAccount(context.config)) return allowed();
  const old = request.oldObject;
  const name = request.name || stringField(old, 'metadata', 'name');
  // The claim as the model reads it: none once Longhorn marks it historic (lastPVCRefAt).
  const record = transformLonghornVolume(old);
  const target: DeletedLonghornVolume = {
    namespace: request.namespace,
    name,
    pvName: stringField(old, 'status', 'kubernetesStatus', 'pvName'),
    pvcNamespace: record?.pvcNamespace ?? '',
    pvcName: record?.pvcName ?? '',
    // As stored: an engine on it now means data, whatever replicas the model last saw (collectLonghornVolumeDelete).
    state: stringField(old, 'status', 'state'),
    robustness: stringField(old, 'status', 'robustness'),
    ...(record?.restoring === true ? { restoring: true as const } : {}),
    ...(record?.cloning === true ? { cloning: true as const } : {}),
    approved: isDeleteApproved(annotations, context.now),
  };
  const approval = (): OverrideSource | undefined =>
    deleteApprovalOn(annotations, context.now, `Longhorn volume ${request.namespace}/${name}`);
  const plan = PLANS['longhorn-volume-delete'];
  return judgeByPlan(context, plan, {
    action: `deletion of Longhorn volume ${request.namespace}/${name} by ${describeUser(request.userInfo)}`,
    target,
    overrides: readOverrides(plan, { 'volume-delete': approval }),
    modes: { 'pvc-delete': mode },
    reviewed: { resources: ['volumes.longhorn.io'], name, namespace: request.namespace, annotations },
    overrideHint:
      `back the data up, then run: kubectl annotate volumes.longhorn.io ${name} -n ${request.namespace} ${DELETE_APPROVED_KEY}=true ` +
      `${SKIP_REASON_KEY}="<why>" ${SKIP_BY_KEY}=${WRITER_PLACEHOLDER} and let ${automation ? 'the controller retry' : 'the delete be retried'}`,
  });
}

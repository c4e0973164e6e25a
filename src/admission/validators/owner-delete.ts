// Any object's DELETE by automation (check pvc-delete): an operator's resource that owns PVCs (a CloudNativePG
// `Cluster` is the controller owner of its instances' claims) pruned by a GitOps controller takes them with it: the
// garbage collector deletes each claim once none of its owners remains, and the PV controller then reclaims the
// volume. The collector deletes as itself (its PVC DELETE gets `pvcDelete.others`), so the automation is seen only
// here, at the owner's DELETE, judged like a StatefulSet's for the PVCs it owns (plan owner-delete). Likewise a
// cluster-scoped owner of Namespaces (a Capsule Tenant, a Kubeflow Profile): the collector deletes them with it (its
// Namespace DELETE gets `pvcDelete.others`), and the namespace controller every PVC in them.
//
// One rule for every resource, narrowed by a matchCondition to the automation identities (`pvcDelete.automationUsers`
// / `Groups`: the volume of such DELETEs is a GitOps tool's prunes) and to the resources judged nowhere else: the
// pvc-delete webhook judges PVC, Namespace, StatefulSet and Longhorn Volume DELETEs, and a Pod's claims are its
// scratch (generic ephemeral volumes), gone with it whatever is decided. An object owning no PVC and no StatefulSet
// (nearly all) passes after a lookup of each (and of the Namespaces a cluster-scoped one owns). Its own webhook, so
// that its failure policy can be chosen apart (`webhook.failurePolicyOverrides.owner-delete`).
import { claimsTakenWith, DELETE_APPROVED_KEY } from '../../checks/pvc-delete.ts';
import type { Config } from '../../config.ts';
import { describeUser } from '../../kube.ts';
import { isAutomation, namespaceGoing, staleModelDecision, staleReads } from '../context.ts';
import { finalizersOf, metaOf, stringField } from '../objects.ts';
import { deleteApprovalSource, SKIP_BY_KEY } from '../overrides.ts';
import { judgeByPlan } from '../plan-judge.ts';
import { PLANS, readOverrides } from '../plans.ts';
import { celString } from '../rules.ts';
import { allowed, type GroupVersionResource, type WebhookDeclaration } from '../types.ts';
import type { Validator } from '../validator.ts';
import type { ClusterSnapshot } from '../../cluster/snapshot.ts';
import { automationCondition, helmNamespaceSkip, helmPlaces, ORPHAN_FINALIZER, orphansDependents, orphaningPrune, PVC_DELETE_DELETES } from './pvc-delete.ts';
import { WRITER_PLACEHOLDER } from '../../override-keys.ts';

/** `<group>/<resource>` of the DELETEs judged elsewhere: pvc-delete's, pods (their claims are scratch), CRDs (storage-teardown's crd-delete). */
const JUDGED_ELSEWHERE: ReadonlySet<string> = new Set([...PVC_DELETE_DELETES, '/pods', 'apiextensions.k8s.io/customresourcedefinitions']);

/**
 * `<group>/<version>/<resource>` whose DELETE orphans dependents when neither its options nor the object's finalizers
 * say (their registry's DefaultGarbageCollectionPolicy, kept for compatibility): batch/v1 Jobs and v1
 * ReplicationControllers. Every other resource, custom resources included, deletes them.
 */
const ORPHANS_BY_DEFAULT: ReadonlySet<string> = new Set(['batch/v1/jobs', '/v1/replicationcontrollers']);

const resourceKey = (resource: GroupVersionResource): string => `${resource.group}/${resource.resource}`;

/**
 * Sent: an automation identity's DELETE of a resource judged nowhere else, not already being deleted (a second DELETE
 * changes nothing) unless it still carries the `orphan` finalizer of an orphaning DELETE, whose options a second
 * DELETE may rewrite (the handler reads them).
 */
function conditionFor(config: Config): string {
  const elsewhere = [...JUDGED_ELSEWHERE].map(celString).join(', ');
  return (
    `oldObject != null && ${automationCondition(config)} && !((request.resource.group + '/' + request.resource.resource) in [${elsewhere}]) && ` +
    `(!has(oldObject.metadata.deletionTimestamp) || (has(oldObject.metadata.finalizers) && ${celString(ORPHAN_FINALIZER)} in oldObject.metadata.finalizers))`
  );
}

const declarationFor = (config: Config): WebhookDeclaration => ({
  name: 'owner-delete.volume-guard.io',
  target: 'owner-delete',
  // Every resource (not its subresources), namespaced or cluster-scoped: a cluster-scoped owner's claims may be in any namespace.
  rules: [{ apiGroups: ['*'], apiVersions: ['*'], resources: ['*'], operations: ['DELETE'], scope: '*' }],
  matchConditions: [{ name: 'automation-deletes-owner', expression: conditionFor(config) }],
  // volume-guard's own objects: their DELETEs in its uninstall must not wait on the webhook being removed.
  ownObjects: true,
});

/**
 * The StatefulSets an owner owns that the garbage collector deletes with it, their claims under whenDeleted: Delete
 * with them (an operator's resource making a StatefulSet: rabbitmq's RabbitmqCluster): not one being deleted already
 * (its own DELETE was judged), one carrying the `orphan` finalizer (the collector orphans its dependents), one another
 * owner keeps (the collector deletes a dependent only once none of its owners remains), nor one in another namespace
 * than a namespaced owner (no owner to the collector).
 */
function ownedStatefulSets(snapshot: ClusterSnapshot, uid: string, namespace: string): { readonly namespace: string; readonly name: string; readonly uid: string }[] {
  const owned = snapshot.statefulSetsOwnedBy(uid);
  if (owned.length === 0) return [];
  return owned
    .filter(
      (set) =>
        set.deleting !== true &&
        set.orphaning !== true &&
        (namespace === '' || set.namespace === namespace) &&
        (set.ownerUids ?? []).every((other) => other === uid || snapshot.deletionAdmitted(other)),
    )
    .map((set) => ({ namespace: set.namespace, name: set.name, uid: set.uid }));
}

/**
 * The Namespaces a cluster-scoped owner owns that the garbage collector deletes with it: not one being deleted
 * already (its own DELETE was judged), nor one another owner keeps (as for StatefulSets). A namespaced owner owns
 * none: the collector never resolves a cluster-scoped dependent's reference to a namespaced owner.
 */
function ownedNamespaces(snapshot: ClusterSnapshot, uid: string, namespace: string): string[] {
  if (namespace !== '') return [];
  return snapshot
    .namespacesOwnedBy(uid)
    .filter((owned) => owned.deleting !== true && (owned.ownerUids ?? []).every((other) => other === uid || snapshot.deletionAdmitted(other)))
    .map((owned) => owned.name);
}

/**
 * Harvester's VirtualMachine: its disks are PVCs Harvester made with no owner reference, and when the VM goes Harvester's
 * VM controller deletes those its `harvesterhci.io/removedPersistentVolumeClaims` lists (comma-separated names in the
 * VM's namespace; harvester pkg/controller/master/virtualmachine vm_controller.go removePVCInRemovedPVCsAnnotation),
 * whatever the DELETE's propagation policy: its finalizer runs on any DELETE.
 */
const HARVESTER_REMOVED_PVCS_KEY = 'harvesterhci.io/removedPersistentVolumeClaims';

/** The claims the controller of the object under DELETE deletes by name with it (a Harvester VirtualMachine's removed disks). */
function namedClaims(request: { readonly kind: { readonly group: string; readonly kind: string } }, old: unknown): { annotation: string; claims: string[] } | undefined {
  if (request.kind.group !== 'kubevirt.io' || request.kind.kind !== 'VirtualMachine') return undefined;
  const listed = metaOf(old)?.annotations?.[HARVESTER_REMOVED_PVCS_KEY];
  if (listed === undefined) return undefined;
  const claims = listed.split(',').map((name) => name.trim()).filter((name) => name !== '');
  return claims.length === 0 ? undefined : { annotation: HARVESTER_REMOVED_PVCS_KEY, claims };
}

/** What the lookups of what an owner takes along read. */
const OWNERSHIP_READS = ['persistentVolumeClaim', 'statefulSet', 'namespace'] as const;

export function ownerDeleteValidator(config: Config): Validator {
  return {
    declaration: declarationFor(config),
    handle(request, context) {
      if (request.operation !== 'DELETE' || (request.subResource ?? '') !== '') return allowed();
      // What the matchCondition says, again for an API server without matchConditions (every DELETE arrives).
      if (JUDGED_ELSEWHERE.has(resourceKey(request.resource)) || !isAutomation(request.userInfo, context.config)) return allowed();
      const old = request.oldObject;
      const uid = stringField(old, 'metadata', 'uid');
      const { namespace } = request;
      // The two lookups every such DELETE pays (three for a cluster-scoped object): nearly every object owns no PVC,
      // no StatefulSet and no Namespace.
      const statefulSets = uid === '' ? [] : ownedStatefulSets(context.snapshot, uid, namespace);
      const namespaces = uid === '' ? [] : ownedNamespaces(context.snapshot, uid, namespace);
      const byDefault = ORPHANS_BY_DEFAULT.has(`${request.resource.group}/${request.resource.version}/${request.resource.resource}`);
      const orphaning = orphansDependents(request.options, old, byDefault);
      const listed = namedClaims(request, old);
      // Orphaning keeps what the garbage collector would delete: only the claims the owner's controller deletes by name go.
      const named = listed && orphaning ? { ...listed, only: true as const } : listed;
      const owned = uid === '' ? [] : [...claimsTakenWith(context.snapshot, uid, namespace, statefulSets, namespaces, named).keys()];
      // Being deleted already: the first DELETE decided, unless it orphaned and this one's options undo that. (Nothing
      // recorded: a repeat of a DELETE nothing judged must not pass the garbage collector's DELETEs that follow.)
      const deleting = stringField(old, 'metadata', 'deletionTimestamp') !== '';
      if (deleting && !finalizersOf(old).includes(ORPHAN_FINALIZER)) return allowed();
      // Orphaning keeps what the garbage collector would delete, not what the owner's controller deletes by name.
      if (orphaning && named === undefined) return allowed();
      if (owned.length === 0) {
        // Nothing owned, as a stale view of the claims, StatefulSets or Namespaces says: one made (or owned) since is not
        // in it. The stale policy answers, as for the DELETEs that find something (which pass with the check off, or in
        // a namespace being deleted, before any stale answer).
        if (uid === '' || staleReads(context, OWNERSHIP_READS).length === 0) return allowed();
        if (context.config.checks['pvc-delete'].mode === 'off' || (namespace !== '' && namespaceGoing(context, namespace))) return allowed();
        const stale = staleModelDecision(
          context,
          `deletion of ${request.kind.kind} ${namespace === '' ? '' : `${namespace}/`}${request.name || stringField(old, 'metadata', 'name')} by ${describeUser(request.userInfo)}`,
          [],
          OWNERSHIP_READS,
          ['none: retry once volume-guard sees the PVCs, StatefulSets and Namespaces again'],
        );
        return stale ?? allowed();
      }
      // Once allowed (whatever this check's mode), the garbage collector's DELETEs of what it owns follow as itself:
      // judged here (pvc-delete.ts ownersWereJudged, ownedOnlyByAdmittedDeletions), not again under pvcDelete.others.
      context.removing({ kind: 'owner', uid });
      const mode = context.config.checks['pvc-delete'].mode;
      if (mode === 'off') return allowed();
      // In a namespace being deleted the namespace controller deletes its claims anyway: judged at the Namespace DELETE.
      if (namespace !== '' && namespaceGoing(context, namespace)) return allowed();
      const name = request.name || stringField(old, 'metadata', 'name');
      const kind = request.kind.kind;
      const annotations = metaOf(old)?.annotations ?? {};
      const plan = PLANS['owner-delete'];
      // A cluster-scoped owner's claims may be in several namespaces: one command each then (the denial names them ns/name).
      const claimNamespaces = new Set(owned.map((claim) => claim.namespace));
      const marking =
        claimNamespaces.size === 1 ? `kubectl annotate pvc <pvcs> -n ${[...claimNamespaces][0]!}` : 'kubectl annotate pvc "<pvc>" -n "<its namespace>"';
      return judgeByPlan(context, plan, {
        action:
          `deletion of ${kind} ${namespace === '' ? '' : `${namespace}/`}${name}${deleting ? ' (being deleted with --cascade=orphan)' : ''} ` +
          `by ${describeUser(request.userInfo)}`,
        target: {
          namespace,
          owner: {
            kind,
            name,
            uid,
            byAutomation: true,
            ...(statefulSets.length > 0 ? { statefulSets } : {}),
            ...(namespaces.length > 0 ? { namespaces } : {}),
            ...(named !== undefined ? { named } : {}),
          },
          now: context.now,
        },
        overrides: readOverrides(plan, {
          'pvc-delete': deleteApprovalSource,
          'namespace-helm': () => helmNamespaceSkip(context, namespace, old, annotations),
        }),
        stalePlaces: helmPlaces(plan.overrides, old, annotations, namespace),
        modes: { 'pvc-delete': mode },
        unlimited: ['pvc-delete'],
        overrideHint:
          `back the data up, then mark each PVC that may go: ${marking} ${DELETE_APPROVED_KEY}=true ${SKIP_BY_KEY}=${WRITER_PLACEHOLDER}, ` +
          `or delete it with --cascade=orphan to keep the PVCs, and let the controller retry (${orphaningPrune(request.userInfo.username, kind)})`,
      });
    },
  };
}

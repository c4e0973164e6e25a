// Cluster API machine removal: a Machine DELETE drains and deletes its node (status.nodeRef), and a replicas
// decrease of a MachineDeployment, MachineSet or KubeadmControlPlane (also through their scale subresource, as the
// cluster autoscaler does) deletes Machines. Either gets the cordon checks of every node that may go.
//
// Which Machines a scale-down removes is Cluster API's choice (its MachineSet delete policy: Random by default,
// Newest, Oldest). Every policy removes first the Machines already being deleted, then those annotated
// `cluster.x-k8s.io/delete-machine`, then those updating in place, then the unhealthy ones (no node, NodeHealthy or
// HealthCheckSucceeded False), by name within each rank. So when those ranked Machines cover the removal, only the nodes it reaches can go.
// Past them, Random (despite its name) ranks every healthy Machine equal and so also takes them by name
// (randomDeletionOrder and sortableMachines in machineset_deletion_order.go): with the order read from the request,
// exactly the Machines it reaches go. Under Newest/Oldest (creation times) or an unknown order (the scale
// subresource carries none) any Machine of the set can, and every one of their nodes is checked. A MachineDeployment
// in the middle of a rollout (Machines in several MachineSets) is scaled across its sets: every Machine can go.
// A KubeadmControlPlane deletes one Machine at a time, after any already being deleted: those marked
// `cluster.x-k8s.io/delete-machine` first, else (outdated, unhealthy, then the oldest in the failure domain holding
// the most) any of its Machines (selectMachineForScaleDown).
//
// Overrides: the node's `volume-guard.io/skip` (Machine and MachineSet annotations are written by Cluster API's
// controllers, which copy them from templates, so volume-guard cannot police who wrote them), and for a
// MachineDeployment or KubeadmControlPlane guarded as an upgrade kind, its own: on its own scale-down, and as stored
// at the steps that carry out its rollouts and scale-downs (its MachineSets' scale-downs, its Machines' DELETEs; the
// drains of its Machines being deleted, judged by the node and eviction webhooks: rollout-owner.ts).
//
// A drain under way ends without a request on the Machine: Cluster API asks again at every pass whether to drain
// (isDeleteNodeAllowed: the Cluster or its KubeadmControlPlane being deleted, no control-plane Machine active) and
// which pods (the MachineDrainRules, the pods' cluster.x-k8s.io/drain label). The requests changing those are judged
// on the nodes of the Machines whose held drain they end (judgeDrainsEnded).
import { MACHINE_CONTROL_PLANE_ROLE_LABEL, clusterApiLabelValue, type ClusterApiClusterRecord, type MachineRecord } from '../../cluster/records.ts';
import {
  DELETE_MACHINE_ANNOTATION,
  EXCLUDE_NODE_DRAINING_ANNOTATION,
  LONGHORN_COMPONENT_LABEL,
  LONGHORN_INSTANCE_MANAGER,
  MACHINE_CLUSTER_LABEL,
  transformMachine,
  transformMachineDrainRule,
} from '../../cluster/transforms.ts';
import type { Config } from '../../config.ts';
import { describeUser, skipOnReviewedObject, staleModelDecision, staleReads } from '../context.ts';
import { annotateHint, combinedOverrideAudit, fitOverrideToStored, type StoredAnnotations } from '../decide.ts';
import { field, metaOf, stringField } from '../objects.ts';
import { mayWriteOverrides, skipFrom, whoMayWriteOverrides, type OverrideSource } from '../overrides.ts';
import { SKIP_BY_KEY, SKIP_KEY, SKIP_REASON_KEY, WRITER_PLACEHOLDER } from '../../override-keys.ts';
import { MAX_DENIAL_LENGTH, OVERRIDE_HEADING, wrap } from '../messages.ts';
import { allowed, denied, type AdmissionRequest, type Decision, type WebhookDeclaration } from '../types.ts';
import type { ValidationContext, Validator } from '../validator.ts';
import { staleOverride } from '../plan-judge.ts';
import { PLANS } from '../plans.ts';
import { celString, celValueOr } from '../rules.ts';
import { DELETING_OWNERS, ownerSkipReading, rolloutOwnerSkip, rolloutOwnerTarget, SCALING_OWNERS, skipCarriedByRelabel } from '../rollout-owner.ts';
import { instanceManagerDrainSkip, POD_DRAIN_LABEL, type DrainInputsChange } from './machine-drain-rules.ts';
import { judgeNodeRemoval, type DrainCutShort } from './node-cordon.ts';
import { compareText } from '../../text.ts';

const GROUP = 'cluster.x-k8s.io';
/** Machines as kubectl takes them, fully qualified like every CRD of the advice. */
const MACHINE_RESOURCE = `machines.${GROUP}`;
/**
 * A refused scale-down names the Machines whose nodes pass, to mark for removal instead, when it removes at most this
 * many (a command over more would not fit a line); past that, `<name>`.
 */
const MAX_NAMED_MACHINES = 10;
const CONTROL_PLANE_GROUP = 'controlplane.cluster.x-k8s.io';

/**
 * CEL: a pod UPDATE changing its drain label; else a DELETE (a Machine's, a Cluster's, a KubeadmControlPlane's, a
 * MachineDrainRule's), a MachineDrainRule's CREATE or UPDATE, or a replicas decrease (main resource or scale
 * subresource). Mirrors handle(). A Scale (autoscaling/v1, `replicas,omitempty`) omits 0: `kubectl scale
 * --replicas=0` and an autoscaler scaling a set to zero send `spec: {}`, and a Scale that had 0 before sends none in
 * oldObject either (no decrease).
 */
/**
 * CEL: an UPDATE of a Machine already being deleted, with a node, that cuts its drain short: it adds the
 * exclude-node-draining annotation, or changes its node drain timeout (v1beta2 spec.deletion.nodeDrainTimeoutSeconds,
 * v1beta1 spec.nodeDrainTimeout; Cluster API's MachineSet and KubeadmControlPlane controllers copy it to Machines being
 * deleted), or changes its labels (a MachineDrainRule's machine selectors read them). The Machine controller reads
 * them again at every reconcile, so its DELETE, judged while the drain was to wait, no longer holds. The handler tells
 * a shorter cut from a longer one, and a label change making a Skip rule apply from one that does not.
 */
const DRAIN_CUT_CEL =
  "request.resource.resource == 'machines' && has(oldObject.metadata.deletionTimestamp) && " +
  'has(oldObject.status) && has(oldObject.status.nodeRef) && (' +
  `(has(object.metadata.annotations) && '${EXCLUDE_NODE_DRAINING_ANNOTATION}' in object.metadata.annotations && ` +
  `!(has(oldObject.metadata.annotations) && '${EXCLUDE_NODE_DRAINING_ANNOTATION}' in oldObject.metadata.annotations)) || ` +
  `${celValueOr('object', ['spec', 'deletion', 'nodeDrainTimeoutSeconds'], '0')} != ${celValueOr('oldObject', ['spec', 'deletion', 'nodeDrainTimeoutSeconds'], '0')} || ` +
  `${celValueOr('object', ['spec', 'nodeDrainTimeout'], "''")} != ${celValueOr('oldObject', ['spec', 'nodeDrainTimeout'], "''")} || ` +
  'has(object.metadata.labels) != has(oldObject.metadata.labels) || (has(object.metadata.labels) && object.metadata.labels != oldObject.metadata.labels))';

/** A label of the object as the request leaves it, or of the old one; '' when absent. */
const celLabel = (object: 'object' | 'oldObject', key: string): string =>
  `(has(${object}.metadata.labels) && '${key}' in ${object}.metadata.labels ? ${object}.metadata.labels['${key}'] : '')`;

/**
 * CEL: a pod UPDATE changing its Cluster API drain label (POD_DRAIN_LABEL), or any label of a Longhorn instance-manager
 * pod (a MachineDrainRule's pod selectors read them).
 */
const DRAIN_LABEL_CEL =
  `request.operation == 'UPDATE' && (${celLabel('object', POD_DRAIN_LABEL)} != ${celLabel('oldObject', POD_DRAIN_LABEL)} || ` +
  `((${celLabel('object', LONGHORN_COMPONENT_LABEL)} == '${LONGHORN_INSTANCE_MANAGER}' || ${celLabel('oldObject', LONGHORN_COMPONENT_LABEL)} == '${LONGHORN_INSTANCE_MANAGER}') && ` +
  '(has(object.metadata.labels) != has(oldObject.metadata.labels) || (has(object.metadata.labels) && object.metadata.labels != oldObject.metadata.labels))))';

/** CEL: the object's labels changed. */
const LABELS_CHANGED_CEL = '(has(object.metadata.labels) != has(oldObject.metadata.labels) || (has(object.metadata.labels) && object.metadata.labels != oldObject.metadata.labels))';

/**
 * CEL: what the machine webhook is sent. Of the Namespaces, only label changes of Longhorn's own (a rule's pod
 * namespaceSelector reads them for its instance managers): every other Namespace's edits stay off the webhook.
 */
export const machineRemovalCel = (longhornNamespace: string): string =>
  `request.resource.resource == 'pods' ? (${DRAIN_LABEL_CEL}) : ` +
  `request.resource.resource == 'namespaces' ? (request.operation == 'UPDATE' && request.name == ${celString(longhornNamespace)} && ${LABELS_CHANGED_CEL}) : ` +
  `request.resource.resource == 'clusters' ? (request.operation == 'DELETE' || ${LABELS_CHANGED_CEL}) : ` +
  "(request.operation == 'DELETE' || request.resource.resource == 'machinedrainrules' || (request.resource.resource == 'machines' ? " +
  `(${DRAIN_CUT_CEL}) : ` +
  "(has(oldObject.spec) && has(oldObject.spec.replicas) && " +
  '(has(object.spec) && has(object.spec.replicas) ? object.spec.replicas < oldObject.spec.replicas : ' +
  "(has(request.subResource) && request.subResource == 'scale' && oldObject.spec.replicas > 0)))))";

const machineDeclaration = (config: Config): WebhookDeclaration => ({
  name: 'machine.volume-guard.io',
  target: 'machine',
  rules: [
    // Every served version: v1beta1 and v1beta2 both name the node in status.nodeRef.name. UPDATEs only of a Machine
    // being deleted whose drain they cut short (DRAIN_CUT_CEL).
    { apiGroups: [GROUP], apiVersions: ['*'], resources: ['machines'], operations: ['DELETE', 'UPDATE'], scope: 'Namespaced' },
    {
      apiGroups: [GROUP],
      apiVersions: ['*'],
      resources: ['machinedeployments', 'machinedeployments/scale', 'machinesets', 'machinesets/scale'],
      operations: ['UPDATE'],
      scope: 'Namespaced',
    },
    {
      apiGroups: [CONTROL_PLANE_GROUP],
      apiVersions: ['*'],
      resources: ['kubeadmcontrolplanes', 'kubeadmcontrolplanes/scale'],
      operations: ['UPDATE'],
      scope: 'Namespaced',
    },
    // A Cluster's or KubeadmControlPlane's DELETE ends the drain of the Cluster's Machines being deleted
    // (isDeleteNodeAllowed: errClusterIsBeingDeleted, errControlPlaneIsBeingDeleted).
    // (and a Cluster's labels changed, read by the rules' clusterSelector: UPDATE)
    { apiGroups: [GROUP], apiVersions: ['*'], resources: ['clusters'], operations: ['UPDATE', 'DELETE'], scope: 'Namespaced' },
    { apiGroups: [CONTROL_PLANE_GROUP], apiVersions: ['*'], resources: ['kubeadmcontrolplanes'], operations: ['DELETE'], scope: 'Namespaced' },
    // A MachineDeployment's or MachineSet's DELETE removes every Machine it holds (its finalizer's ordered cleanup).
    { apiGroups: [GROUP], apiVersions: ['*'], resources: ['machinedeployments', 'machinesets'], operations: ['DELETE'], scope: 'Namespaced' },
    // Cluster API's drain reads its namespace's MachineDrainRules at every pass: a write may make it skip Longhorn.
    { apiGroups: [GROUP], apiVersions: ['*'], resources: ['machinedrainrules'], operations: ['CREATE', 'UPDATE', 'DELETE'], scope: 'Namespaced' },
    // ... and the pods' drain label: only UPDATEs changing it are sent (DRAIN_LABEL_CEL).
    { apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['UPDATE'], scope: 'Namespaced' },
    // ... and Longhorn's namespace's labels (the rules' pod namespaceSelector): only UPDATEs changing them are sent.
    { apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces'], operations: ['UPDATE'], scope: 'Cluster' },
  ],
  matchConditions: [{ name: 'removes-machines', expression: machineRemovalCel(config.longhorn.namespace) }],
});

function nodeSkip(context: ValidationContext, node: string): OverrideSource | undefined {
  return skipFrom(`node ${node}`, context.snapshot.node(node)?.annotations, undefined, { now: context.now });
}

/** spec.replicas; a Scale (`scale`: the subresource) without it says 0, which its JSON omits. */
function replicasOf(object: unknown, scale: boolean): number | undefined {
  const value = field(object, 'spec', 'replicas');
  if (value === undefined && scale) return 0;
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

/**
 * A Machine's rank in Cluster API's delete priority, the same under every delete order (Random, Newest, Oldest):
 * being deleted, marked `cluster.x-k8s.io/delete-machine`, updating in place, unhealthy (no node yet, or
 * `NodeHealthy` / `HealthCheckSucceeded` False); undefined for the healthy rest, whose order depends on the policy.
 */
function deleteRank(machine: MachineRecord & { readonly noNodeRef?: true }): number | undefined {
  if (machine.deleting) return 0;
  if (machine.deleteMarked) return 1;
  if (machine.updatingInPlace) return 2;
  if (machine.nodeName === '' || machine.noNodeRef === true || machine.unhealthy) return 3;
  return undefined;
}

/** The rank Random gives every healthy Machine: after the ranked ones, all equal (so by name). */
const RANDOM_HEALTHY_RANK = 4;

/**
 * The Machines a scale-down to `replicas` may remove, and whether Cluster API's choice is narrowed. The ranked
 * Machines (deleteRank) go first, by rank then by name (Cluster API's tie-break); when they cover the removal,
 * exactly the ones it reaches go, and under the Random order (`randomOrder`) the healthy rest follow by name. To zero,
 * all of them go. Otherwise any live Machine may.
 */
export function scaleDownCandidates(
  machines: readonly (MachineRecord & { readonly noNodeRef?: true })[],
  replicas: number,
  spreadOverSets: boolean,
  randomOrder = false,
): { readonly candidates: readonly MachineRecord[]; readonly narrowed: boolean; readonly removed: number } {
  const removed = machines.length - replicas;
  if (removed <= 0) return { candidates: [], narrowed: true, removed: 0 };
  const hasNode = (machine: MachineRecord): boolean => !machine.deleting && machine.nodeName !== '';
  const live = machines.filter(hasNode);
  // To zero every Machine goes, whatever the order (getMachinesToDeletePrioritized returns them all), in every set.
  if (replicas === 0) return { candidates: live, narrowed: true, removed };
  if (!spreadOverSets) {
    const ranked = machines
      .map((machine) => ({ machine, rank: deleteRank(machine) ?? (randomOrder ? RANDOM_HEALTHY_RANK : undefined) }))
      .filter((entry): entry is { machine: MachineRecord; rank: number } => entry.rank !== undefined)
      .sort((a, b) => a.rank - b.rank || (a.machine.name < b.machine.name ? -1 : a.machine.name > b.machine.name ? 1 : 0));
    if (ranked.length >= removed) {
      return { candidates: ranked.slice(0, removed).map((entry) => entry.machine).filter(hasNode), narrowed: true, removed };
    }
  }
  return { candidates: live, narrowed: false, removed };
}

/**
 * The Machines a KubeadmControlPlane scale-down to `replicas` may remove. It waits for the Machines already being
 * deleted (their DELETE was judged), then removes one at a time those marked `cluster.x-k8s.io/delete-machine`
 * while any is left, choosing among them by failure domain and age (not by name); past them, any of its Machines.
 * `pool`: the Machines the removal is drawn from (candidates or not, their copies may go with it).
 */
export function controlPlaneScaleDownCandidates(
  machines: readonly MachineRecord[],
  replicas: number,
): { readonly candidates: readonly MachineRecord[]; readonly narrowed: boolean; readonly removed: number; readonly pool: readonly MachineRecord[] } {
  // The Machines being deleted count among its replicas until they are gone: the rest to choose is the live ones above.
  const live = machines.filter((machine) => !machine.deleting);
  const toChoose = live.length - replicas;
  if (toChoose <= 0) return { candidates: [], narrowed: true, removed: 0, pool: [] };
  const marked = live.filter((machine) => machine.deleteMarked);
  const pool = marked.length >= toChoose ? marked : live;
  return { candidates: pool.filter((machine) => machine.nodeName !== ''), narrowed: pool.length === toChoose, removed: toChoose, pool };
}

/**
 * Whether the set removes Machines in Cluster API's Random order (its default: empty or "Random"; getDeletePriorityFunc),
 * read from the object under review: a MachineSet's `spec.deletion.order` (v1beta2) or
 * `spec.deletePolicy` (v1beta1); a MachineDeployment's `spec.deletion.order` (v1beta2) or
 * `spec.strategy.rollingUpdate.deletePolicy` (v1beta1), which it copies to its MachineSets. The Scale object of the
 * scale subresource carries neither: unknown.
 */
function deletesInRandomOrder(request: AdmissionRequest, owner: 'MachineDeployment' | 'MachineSet'): boolean {
  if (request.subResource === 'scale') return false;
  const v1beta1 = owner === 'MachineSet' ? field(request.object, 'spec', 'deletePolicy') : field(request.object, 'spec', 'strategy', 'rollingUpdate', 'deletePolicy');
  const order = field(request.object, 'spec', 'deletion', 'order') ?? v1beta1 ?? '';
  return order === '' || order === 'Random';
}

/**
 * A change the request under review makes, read as already done (Cluster API re-reads all three at every reconcile of
 * a Machine being deleted: reconcileDelete calls isDeleteNodeAllowed each time): the Cluster being deleted, its
 * KubeadmControlPlane being deleted, a control-plane Machine no longer active (each as `namespace/name`); and what
 * its drain reads at every pass (drain.go GetPodsForEviction): the MachineDrainRules, the pods' labels.
 */
interface ReviewedChange extends DrainInputsChange {
  readonly clusterDeleted?: string;
  readonly controlPlaneDeleted?: string;
  readonly machineLeaving?: string;
}

/**
 * How Cluster API's drain of the Machine's node stops short of Longhorn's PodDisruptionBudget: no drain at all (the
 * exclude annotation), a drain skipping Longhorn's instance-manager pods (a MachineDrainRule or the pods'
 * `cluster.x-k8s.io/drain` label), or a node drain timeout; undefined when it drains them and waits. With `change`:
 * once that change is made.
 */
function drainCutShortFor(context: ValidationContext, machine: MachineRecord, change: ReviewedChange = {}): DrainCutShort | undefined {
  if (machine.drainCutShort === 'excluded') return 'excluded';
  // A Cluster being deleted: Cluster API deletes its Machines without the drain (isDeleteNodeAllowed returns
  // errClusterIsBeingDeleted, reconcileDelete skips the pre-drain hooks, drain and volume detach wait).
  const owningCluster = context.snapshot.clusterApiCluster(machine.namespace, machine.clusterName);
  if (owningCluster !== undefined && (owningCluster.deleting === true || change.clusterDeleted === `${owningCluster.namespace}/${owningCluster.name}`)) {
    return { undrained: `Cluster ${owningCluster.namespace}/${owningCluster.name} is being deleted: Cluster API deletes its Machines without draining their nodes` };
  }
  const controlPlane = owningCluster === undefined ? undefined : controlPlaneDrainSkip(context, machine, owningCluster, change);
  if (controlPlane !== undefined) return { undrained: controlPlane };
  const skipped = instanceManagerDrainSkip(context.snapshot, machine, context.config.longhorn.namespace, change);
  return skipped !== undefined ? { skipped } : machine.drainCutShort;
}

/**
 * Why Cluster API will not drain the Machine's node for its Cluster's control plane, or undefined: the Cluster's
 * control plane object (a KubeadmControlPlane here) is being deleted (errControlPlaneIsBeingDeleted), or no other
 * control-plane Machine of the Cluster stays active (errNoControlPlaneNodes: it counts those not being deleted, and
 * this one is by then). Said only with a control-plane Machine of the Cluster in view (this one or another): with
 * none, the control plane may be managed outside the Cluster (EKS, AKS: no such Machines, and Cluster API drains).
 */
function controlPlaneDrainSkip(context: ValidationContext, machine: MachineRecord, cluster: ClusterApiClusterRecord, change: ReviewedChange): string | undefined {
  const reference = cluster.controlPlaneRef;
  const clusterName = `${cluster.namespace}/${cluster.name}`;
  if (
    reference?.kind === 'KubeadmControlPlane' &&
    (change.controlPlaneDeleted === `${cluster.namespace}/${reference.name}` ||
      context.snapshot.machineOwner(cluster.namespace, 'KubeadmControlPlane', clusterApiLabelValue(reference.name))?.deleting === true)
  ) {
    return `KubeadmControlPlane ${cluster.namespace}/${reference.name} of Cluster ${clusterName} is being deleted: Cluster API deletes the Cluster's Machines without draining their nodes`;
  }
  const controlPlaneMachines = context.snapshot.controlPlaneMachinesOf(machine.namespace, machine.clusterName);
  const last = machine.labels[MACHINE_CONTROL_PLANE_ROLE_LABEL] !== undefined;
  if (!last && controlPlaneMachines.length === 0) return undefined;
  const active = controlPlaneMachines.some(
    (other) =>
      other.name !== machine.name &&
      !other.deleting &&
      change.machineLeaving !== `${other.namespace}/${other.name}` &&
      !context.snapshot.machineRemovalAdmitted(other.namespace, other.name),
  );
  if (active) return undefined;
  // A control-plane Machine already being deleted is no longer the last active one: none is.
  return last && !machine.deleting
    ? `Machine ${machine.namespace}/${machine.name} is the last active control-plane Machine of Cluster ${clusterName}: Cluster API deletes it without draining its node`
    : `no control-plane Machine of Cluster ${clusterName} stays active: Cluster API deletes Machine ${machine.namespace}/${machine.name} without draining its node`;
}

/** Where the Machines whose drain a request may end are: those of a namespace, or the one removing a node. */
type DrainScope = { readonly namespace: string } | { readonly node: string } | { readonly everywhere: true };

/**
 * The Machines of the scope whose drain is under way (being deleted, or their removal just admitted, their Node
 * still there) and drained in full (Longhorn's PodDisruptionBudget can hold it), whose drain `change` ends: each with
 * why Cluster API no longer drains it.
 */
function drainsEndedBy(context: ValidationContext, scope: DrainScope, change: ReviewedChange): { readonly machine: MachineRecord; readonly why: DrainCutShort }[] {
  const ended: { machine: MachineRecord; why: DrainCutShort }[] = [];
  const nodes = 'node' in scope ? (context.snapshot.node(scope.node) ? [scope.node] : []) : Array.from(context.snapshot.nodes(), (node) => node.name);
  for (const node of nodes) {
    const removing = context.snapshot.machineRemovingNode(node);
    if (removing === undefined || ('namespace' in scope && removing.namespace !== scope.namespace) || change.machineLeaving === `${removing.namespace}/${removing.name}`) continue;
    const machine = { ...removing, nodeName: node };
    if (drainCutShortFor(context, machine) !== undefined) continue;
    const why = drainCutShortFor(context, machine, change);
    if (why !== undefined) ended.push({ machine, why });
  }
  return ended.sort((a, b) => compareText(a.machine.name, b.machine.name));
}

/**
 * A request that ends the drain of Machines being deleted (drainsEndedBy): judged as each one's removal with its
 * drain as it then is, with the overrides its DELETE and a drain cut read (the node's skip, its owner's). The first
 * refusal is the answer; all passing, the request passes with their warnings.
 */
function judgeDrainsEnded(context: ValidationContext, input: { readonly scope: DrainScope; readonly change: ReviewedChange; readonly what: string; readonly again: string }): Decision {
  const passed: Decision[] = [];
  for (const { machine, why } of drainsEndedBy(context, input.scope, input.change)) {
    const node = machine.nodeName;
    const decision = judgeNodeRemoval(context, {
      node,
      action: `${input.what}, which ends the drain of Machine ${machine.namespace}/${machine.name} (node ${node}), being deleted`,
      plan: 'machine-delete',
      drainCutShort: why,
      overrides: { node: () => nodeSkip(context, node), 'machine-owner': () => rolloutOwnerSkip(ownerSkipReading(context), machine, DELETING_OWNERS) },
      overrideHint: annotateHint('node', node),
      again: input.again,
    });
    if (!decision.allowed) return decision;
    passed.push(decision);
  }
  if (passed.length === 0) return allowed();
  return allowedAsOne(passed);
}

/** The owners whose DELETE removes every Machine they hold, by the resource deleted. */
const MACHINE_OWNERS = { machinedeployments: 'MachineDeployment', machinesets: 'MachineSet', kubeadmcontrolplanes: 'KubeadmControlPlane' } as const;

/**
 * The DELETE of a Cluster, KubeadmControlPlane, MachineDeployment or MachineSet. Once a Cluster or KubeadmControlPlane is
 * being deleted, Cluster API drains none of the Cluster's Machines (errClusterIsBeingDeleted,
 * errControlPlaneIsBeingDeleted), those already draining included. Each of them being deleted also removes every
 * Machine it holds (judgeOwnedMachinesRemoval). clusterctl move's DELETE, and a second DELETE of an object already
 * being deleted, pass.
 */
function judgeOwnerDelete(request: AdmissionRequest, context: ValidationContext): Decision {
  if (stringField(request.oldObject, 'metadata', 'deletionTimestamp') !== '') return allowed();
  if (deletedForMove(request, context)) return allowed();
  const name = request.name || stringField(request.oldObject, 'metadata', 'name');
  const ref = `${request.namespace}/${name}`;
  const resource = request.resource.resource;
  const owner = Object.hasOwn(MACHINE_OWNERS, resource) ? MACHINE_OWNERS[resource as keyof typeof MACHINE_OWNERS] : undefined;
  const what = `deletion of ${owner ?? 'Cluster'} ${ref}`;
  const again = `delete ${owner ?? 'Cluster'} ${ref} again`;
  const ended =
    owner === undefined || owner === 'KubeadmControlPlane'
      ? judgeDrainsEnded(context, { scope: { namespace: request.namespace }, change: owner === undefined ? { clusterDeleted: ref } : { controlPlaneDeleted: ref }, what, again })
      : allowed();
  if (!ended.allowed) return ended;
  const removed = judgeOwnedMachinesRemoval(context, { owner: owner ?? 'Cluster', namespace: request.namespace, name, what, again });
  return removed.allowed ? bothAllowed(removed, ended) : removed;
}

/**
 * The removal of every Machine a KubeadmControlPlane, MachineDeployment, MachineSet or Cluster being deleted holds, each
 * with its node and disks, as a scale to zero removes them: the MachineDeployment's and MachineSet's finalizers make
 * their controllers delete their MachineSets and Machines whatever the propagation policy (MachineDeploymentFinalizer,
 * "ordered cleanup"), each Machine drained as any; KubeadmControlPlane's reconcileDelete, once the Cluster's other
 * Machines are gone, removes its pre-terminate hook and deletes its Machines at once, undrained; a Cluster's
 * reconcileDelete deletes its MachineDeployments, MachineSets and worker Machines, then its control plane, and the
 * Machine controller drains none of them (errClusterIsBeingDeleted). The deletion cannot be
 * taken back, so refusing the Machine DELETEs that follow would only leave it stuck half way (a control plane past its
 * etcd quorum): it is judged here. The first refusal in full, every other Machine whose node holds data at risk named
 * after it; the overrides the Machine DELETEs would read (the node's skip, a KubeadmControlPlane's stored one).
 */
function judgeOwnedMachinesRemoval(
  context: ValidationContext,
  input: {
    readonly owner: (typeof MACHINE_OWNERS)[keyof typeof MACHINE_OWNERS] | 'Cluster';
    readonly namespace: string;
    readonly name: string;
    readonly what: string;
    readonly again: string;
  },
): Decision {
  const { owner, namespace, name } = input;
  const stale = staleModelDecision(context, input.what, [], ['machine']);
  if (stale) return stale;
  // A Machine without status.nodeRef yet drains and deletes the Node its providerID names, as at its own DELETE.
  const machines = (owner === 'Cluster' ? context.snapshot.machinesOfCluster(namespace, name) : context.snapshot.machinesOf(namespace, owner, name))
    .filter((machine) => !machine.deleting)
    .map((machine) => (machine.nodeName === '' && machine.providerID !== undefined ? { ...machine, nodeName: nodeOfProviderID(context, machine.providerID) } : machine))
    .filter((machine) => machine.nodeName !== '');
  const removedNodes = new Set(machines.map((machine) => machine.nodeName));
  const undrained: DrainCutShort | undefined =
    owner === 'KubeadmControlPlane'
      ? { undrained: `KubeadmControlPlane ${namespace}/${name} is being deleted: it deletes its Machines without draining their nodes` }
      : owner === 'Cluster'
        ? { undrained: `Cluster ${namespace}/${name} is being deleted: Cluster API deletes its Machines without draining their nodes` }
        : undefined;
  const passed: Decision[] = [];
  const alsoAtRisk: OtherAtRisk[] = [];
  let refusal: Decision | undefined;
  let refusedNode = '';
  for (const machine of machines) {
    // Once allowed, the Machine DELETEs its controller then sends were judged here.
    context.removing({ kind: 'machine', namespace, name: machine.name, node: machine.nodeName });
    const others = new Set([...removedNodes].filter((node) => node !== machine.nodeName));
    const drainCutShort = undrained ?? drainCutShortFor(context, machine);
    const decision = judgeNodeRemoval(context, {
      node: machine.nodeName,
      leavingWith: { nodes: others, atMost: others.size },
      action: `${input.what}, which removes Machine ${machine.name} on node ${machine.nodeName}`,
      plan: 'machine-delete',
      ...(drainCutShort ? { drainCutShort } : {}),
      overrides: { node: () => nodeSkip(context, machine.nodeName), 'machine-owner': () => rolloutOwnerSkip(ownerSkipReading(context), machine, DELETING_OWNERS) },
      overrideHint: annotateHint('node', machine.nodeName),
      how: `Cluster API deletes every Machine of the ${owner}.`,
      again: input.again,
    });
    if (decision.allowed) passed.push(decision);
    else if (refusal === undefined) [refusal, refusedNode] = [decision, machine.nodeName];
    else alsoAtRisk.push({ machine: machine.name, node: machine.nodeName, checks: decision.deniedChecks ?? [] });
  }
  if (refusal) return withOthersAtRisk(refusal, alsoAtRisk, refusedNode);
  return allowedAsOne(passed);
}

/**
 * A control-plane Machine's DELETE that leaves no control-plane Machine of its Cluster active: Cluster API then
 * drains none of the Cluster's Machines being deleted (errNoControlPlaneNodes), those already draining included.
 */
function judgeControlPlaneLeaving(request: AdmissionRequest, context: ValidationContext): Decision {
  const machine = request.oldObject;
  if (stringField(machine, 'metadata', 'deletionTimestamp') !== '') return allowed();
  const record = transformMachine(machine);
  if (record === undefined || record.labels[MACHINE_CONTROL_PLANE_ROLE_LABEL] === undefined) return allowed();
  const name = request.name || record.name;
  const node = record.nodeName === '' ? '' : ` (node ${record.nodeName})`;
  return judgeDrainsEnded(context, {
    scope: { namespace: request.namespace },
    change: { machineLeaving: `${request.namespace}/${name}` },
    what: `deletion of Machine ${request.namespace}/${name}${node}`,
    again: `delete Machine ${request.namespace}/${name} again`,
  });
}

/**
 * A MachineDrainRule's CREATE, UPDATE or DELETE: Cluster API's drain lists its namespace's rules at every pass
 * (GetPodsForEviction, getMatchingMachineDrainRules), so a rule that now makes it skip Longhorn's instance-manager pods
 * ends the hold of their PodDisruptionBudget on the drains under way.
 */
function judgeDrainRuleWrite(request: AdmissionRequest, context: ValidationContext): Decision {
  const written = request.operation === 'DELETE' ? undefined : transformMachineDrainRule(request.object);
  const name = request.name || written?.name || stringField(request.oldObject, 'metadata', 'name');
  const rules = [...context.snapshot.machineDrainRulesIn(request.namespace).filter((rule) => rule.name !== name), ...(written ? [written] : [])];
  const ref = `${request.namespace}/${name}`;
  const verb = request.operation === 'CREATE' ? 'creation' : request.operation === 'DELETE' ? 'deletion' : 'update';
  return judgeDrainsEnded(context, {
    scope: { namespace: request.namespace },
    change: { rules: { namespace: request.namespace, rules } },
    what: `${verb} of MachineDrainRule ${ref}`,
    again: `${request.operation === 'CREATE' ? 'create' : request.operation === 'DELETE' ? 'delete' : 'update'} MachineDrainRule ${ref} again`,
  });
}

/**
 * A pod UPDATE changing its `cluster.x-k8s.io/drain` label, or the labels of a Longhorn instance manager: Cluster
 * API's drain reads them at every pass (drainLabelFilter, then the MachineDrainRules' pod selectors), so `skip` on an
 * instance-manager pod of a node being drained, or a label a Skip rule selects, ends the hold of its
 * PodDisruptionBudget on that drain.
 */
function judgeDrainLabel(request: AdmissionRequest, context: ValidationContext): Decision {
  const meta = metaOf(request.object);
  const node = stringField(request.object, 'spec', 'nodeName');
  if (meta === undefined || node === '') return allowed();
  const name = request.name || meta.name;
  const value = meta.labels[POD_DRAIN_LABEL];
  const drainLabelChanged = value !== metaOf(request.oldObject)?.labels[POD_DRAIN_LABEL];
  const label = !drainLabelChanged ? 'labels changed' : value === undefined ? `label ${POD_DRAIN_LABEL} removed` : `label ${POD_DRAIN_LABEL}=${value}`;
  return judgeDrainsEnded(context, {
    scope: { node },
    change: { pod: { namespace: request.namespace, name, labels: { ...meta.labels } } },
    what: `${label} on pod ${request.namespace}/${name}`,
    again: `label pod ${request.namespace}/${name} again`,
  });
}

/**
 * A Cluster's or a Namespace's labels changed: the MachineDrainRules' clusterSelector and pod namespaceSelector read
 * them at every pass, so a label may make a Skip rule apply to the drains under way.
 */
function judgeRelabel(request: AdmissionRequest, context: ValidationContext): Decision {
  const meta = metaOf(request.object);
  if (meta === undefined) return allowed();
  const name = request.name || meta.name;
  const labels = { ...meta.labels };
  const cluster = request.resource.resource === 'clusters';
  // Only Longhorn's namespace holds the instance managers a rule's namespaceSelector could come to skip.
  if (!cluster && name !== context.config.longhorn.namespace) return allowed();
  const what = cluster ? `Cluster ${request.namespace}/${name}` : `Namespace ${name}`;
  return judgeDrainsEnded(context, {
    scope: cluster ? { namespace: request.namespace } : { everywhere: true },
    change: cluster ? { cluster: { namespace: request.namespace, name, labels } } : { namespace: { name, labels } },
    what: `labels changed on ${what}`,
    again: `label ${what} again`,
  });
}

/**
 * The annotation `clusterctl move` puts on every object it deletes from the source cluster once the target holds it
 * (clusterctl api/v1alpha3 DeleteForMoveAnnotation, "to help any validation webhook" tell such a DELETE apart).
 */
const DELETE_FOR_MOVE_ANNOTATION = 'clusterctl.cluster.x-k8s.io/delete-for-move';

/**
 * A DELETE that `clusterctl move` makes in the source cluster (a Machine's, a MachineSet's, a MachineDeployment's, a
 * KubeadmControlPlane's, the Cluster's): it pauses the Cluster (spec.paused), creates the objects in the target, then
 * per object adds the delete-for-move annotation, strips the finalizers and deletes it (mover.go move,
 * deleteSourceObject). With no finalizer the object is gone at once and no controller runs its deletion (nor would
 * one, the Cluster paused): no drain, no Machine or infrastructure machine deleted, no node removed; the target
 * cluster manages them now. The annotation alone is anyone's write, so all three must hold: the annotation, no
 * finalizer left, and the Cluster paused (the Cluster under review as its stored object says; else the object's
 * Cluster, `spec.clusterName` or its `cluster.x-k8s.io/cluster-name` label, as a fresh view of the Clusters shows).
 * An object that keeps a finalizer is deleted for real once its Cluster is resumed, and is judged as such.
 */
function deletedForMove(request: AdmissionRequest, context: ValidationContext): boolean {
  const meta = metaOf(request.oldObject);
  if (meta === undefined || meta.annotations[DELETE_FOR_MOVE_ANNOTATION] === undefined) return false;
  const finalizers = field(request.oldObject, 'metadata', 'finalizers');
  if (Array.isArray(finalizers) && finalizers.length > 0) return false;
  if (request.resource.resource === 'clusters') return field(request.oldObject, 'spec', 'paused') === true;
  const clusterName = stringField(request.oldObject, 'spec', 'clusterName') || (meta.labels[MACHINE_CLUSTER_LABEL] ?? '');
  if (clusterName === '') return false;
  // A stale view may still show a Cluster paused that has been resumed since: judged as any removal then.
  if (staleReads(context, ['clusterApiCluster']).length > 0) return false;
  return context.snapshot.clusterApiCluster(request.namespace, clusterName)?.paused === true;
}

/**
 * The answers allowing the parts of one request (each node it removes, each drain it ends), as one: their warnings, the
 * overrides they honored and checked, each once.
 */
function allowedAsOne(parts: readonly Decision[]): Decision {
  const result = { ...allowed([...new Set(parts.flatMap((part) => part.warnings ?? []))]), ...combinedOverrideAudit(parts) };
  const overrides = [...new Set(parts.flatMap((part) => part.overrides ?? []))];
  return overrides.length > 0 ? { ...result, overrides } : result;
}

/** Two answers allowing one request, as one: the first's, with the second's warnings and honored overrides added. */
function bothAllowed(first: Decision, second: Decision): Decision {
  if ((second.warnings ?? []).length === 0 && second.honored === undefined) return first;
  return { ...first, ...allowedAsOne([first, second]) };
}

/** The Machine's DELETE: its own node's removal, then the drains it ends. */
function judgeMachineDeleteAndDrains(request: AdmissionRequest, context: ValidationContext): Decision {
  // clusterctl move takes the Machine object only: its node stays, and so does every drain under way.
  if (deletedForMove(request, context)) return allowed();
  const own = judgeMachineDelete(request, context);
  if (!own.allowed) return own;
  const others = judgeControlPlaneLeaving(request, context);
  return others.allowed ? bothAllowed(own, others) : others;
}

function judgeMachineDelete(request: AdmissionRequest, context: ValidationContext): Decision {
  const machine = request.oldObject;
  if (stringField(machine, 'metadata', 'deletionTimestamp') !== '') return allowed();
  // Without status.nodeRef yet, Cluster API looks the Node up by spec.providerID and drains and deletes it all the
  // same (isDeleteNodeAllowed).
  const providerID = stringField(machine, 'spec', 'providerID');
  const node = stringField(machine, 'status', 'nodeRef', 'name') || nodeOfProviderID(context, providerID);
  // A Machine whose node never joined takes no data with it; with the nodes stale, a providerID naming none may name
  // one volume-guard has not seen yet.
  if (node === '' && providerID !== '' && staleReads(context, ['node']).length > 0) {
    const name = request.name || stringField(machine, 'metadata', 'name');
    const stale = staleModelDecision(context, `deletion of Machine ${request.namespace}/${name}`, [], ['node']);
    if (stale) return stale;
  }
  if (node === '') return allowed();
  // A collection DELETE (`kubectl delete machines --all`) is admitted per item, the name only in the object.
  const name = request.name || stringField(machine, 'metadata', 'name');
  // The scale-down that named this Machine was judged with its node, and passed (a MachineDeployment's or
  // KubeadmControlPlane's own skip among what could pass it): its controller's DELETE carries that answer out.
  // Only a Machine that scale-down recorded (not one whose labels say its owner), and only in this server's memory.
  if (context.snapshot.machineRemovalAdmitted(request.namespace, name)) return allowed();
  // Once allowed, `kubectl delete machine a b` judges b with a's node gone.
  context.removing({ kind: 'machine', namespace: request.namespace, name, node });
  const transformed = transformMachine(machine);
  const record = transformed === undefined ? undefined : { ...transformed, nodeName: node };
  const drainCutShort = record ? drainCutShortFor(context, record) : undefined;
  // The owner's skip is for its own DELETEs (KubeadmControlPlane's controller, clusterApi.controlPlaneUsers): a
  // person's `kubectl delete machine`, or another controller's DELETE, is no step of the rollout the admin accepted.
  const ownerRead = record !== undefined && context.config.clusterApi.controlPlaneUsers.includes(request.userInfo.username);
  // No Node left (a MachineHealthCheck remediating NodeNotFound, a person cleaning up): its skip cannot be written, and
  // only the owner's, when read, can pass the DELETE. Not said while the model's nodes are stale.
  const gone = nodeGone(context, node);
  const owner = gone && ownerRead ? rolloutOwnerTarget(ownerSkipReading(context), record, DELETING_OWNERS) : undefined;
  const ownerRef = owner === undefined ? undefined : `${owner.resource} ${owner.name} -n ${owner.namespace}`;
  return judgeNodeRemoval(context, {
    node,
    action: `deletion of Machine ${request.namespace}/${name} (node ${node})`,
    plan: 'machine-delete',
    ...(drainCutShort ? { drainCutShort } : {}),
    overrides: {
      node: () => nodeSkip(context, node),
      'machine-owner': () => (ownerRead ? rolloutOwnerSkip(ownerSkipReading(context), record, DELETING_OWNERS) : undefined),
    },
    overrideHint: owner !== undefined ? annotateHint(owner.resource, owner.name, owner.namespace) : gone ? `none: there is no Node ${node} to annotate` : annotateHint('node', node),
    again: `delete Machine ${request.namespace}/${name} again`,
    ...(gone ? { nodeGone: ownerRef !== undefined ? { owner: ownerRef } : {} } : {}),
  });
}

/** The Node whose spec.providerID is `providerID`, as Cluster API's getNode finds it; '' when none (or none given). */
function nodeOfProviderID(context: ValidationContext, providerID: string): string {
  if (providerID === '') return '';
  for (const candidate of context.snapshot.nodes()) if (candidate.providerID === providerID) return candidate.name;
  return '';
}

/** How far a Machine's drain is cut short: not at all, after a timeout, not drained at all. */
const DRAIN_CUT_RANK = { none: 0, timeout: 1, excluded: 2 } as const;

/**
 * An UPDATE of a Machine being deleted that cuts its drain shorter than when its DELETE was judged (the exclude
 * annotation added after the drain stalled on a refused eviction, a node drain timeout copied down from its
 * MachineDeployment): Cluster API stops draining and deletes the infrastructure machine, disks and all. Judged as
 * the Machine's removal with the drain as it now is.
 */
/** The Machine's Node no longer exists, as a current view of the nodes says (never said while they are stale). */
function nodeGone(context: ValidationContext, node: string): boolean {
  return context.snapshot.node(node) === undefined && staleReads(context, ['node']).length === 0;
}

function judgeDrainCut(request: AdmissionRequest, context: ValidationContext): Decision {
  const before = transformMachine(request.oldObject);
  const after = transformMachine(request.object);
  if (before === undefined || after === undefined || !before.deleting || before.nodeName === '') return allowed();
  const node = before.nodeName;
  // No Node left: the Machine controller drains nothing (a node it cannot find is skipped), so cutting the drain short
  // changes nothing; the Machine's DELETE was judged for the data left there. Not said while the nodes are stale.
  if (nodeGone(context, node)) return allowed();
  // Its owner labels now name a KubeadmControlPlane or MachineDeployment whose skip the drain of its node would carry:
  // an override write (Cluster API never relabels a Machine being deleted).
  const carried = skipCarriedByRelabel(ownerSkipReading(context), before, after, node);
  const name = request.name || before.name;
  if (carried !== undefined && !mayWriteOverrides(request.userInfo, context.config.overrides)) {
    const who = whoMayWriteOverrides(context.config.overrides);
    return denied(
      [
        ...wrap(
          `volume-guard: ${describeUser(request.userInfo)} may not relabel Machine ${request.namespace}/${name}, being deleted: ` +
            `the drain of its node ${node} would carry the ${SKIP_KEY} of ${carried.where.replace(/ \(.*$/, '')} (${carried.checks.join(', ')}).`,
        ),
        ...wrap(`Cluster API does not relabel a Machine being deleted; ${who.text}.`),
      ].join('\n'),
    );
  }
  const written = carried === undefined ? undefined : { 'override-written': `${carried.where} by ${describeUser(request.userInfo)}` };
  const rankRose = DRAIN_CUT_RANK[after.drainCutShort ?? 'none'] > DRAIN_CUT_RANK[before.drainCutShort ?? 'none'];
  // Its labels changed: a MachineDrainRule whose machine selectors now match it may make the drain skip Longhorn
  // (machineDrainRuleAppliesToMachine, read at every pass). Cluster API counts the active control-plane Machines
  // whatever this one's labels say, so a control-plane label put on it changes nothing there but the owner whose
  // skip its drain carries (above).
  const cut = rankRose ? undefined : drainCutShortFor(context, after);
  const skipBegins = typeof cut === 'object' && 'skipped' in cut && drainCutShortFor(context, before) === undefined;
  if (!rankRose && !skipBegins) return allowed([], written);
  const drainCutShort = drainCutShortFor(context, after);
  const how = !rankRose ? 'its labels changed' : after.drainCutShort === 'excluded' ? `annotation ${EXCLUDE_NODE_DRAINING_ANNOTATION} added` : 'a node drain timeout set';
  return judgeNodeRemoval(context, {
    node,
    action: `drain cut short of Machine ${request.namespace}/${name} (node ${node}), being deleted: ${how}`,
    plan: 'machine-delete',
    ...(drainCutShort ? { drainCutShort } : {}),
    overrides: { node: () => nodeSkip(context, node), 'machine-owner': () => rolloutOwnerSkip(ownerSkipReading(context), before, DELETING_OWNERS) },
    overrideHint: annotateHint('node', node),
  });
}

function judgeScaleDown(request: AdmissionRequest, context: ValidationContext, config: Config): Decision {
  const scaleSubresource = request.subResource === 'scale';
  const before = replicasOf(request.oldObject, scaleSubresource);
  const after = replicasOf(request.object, scaleSubresource);
  if (before === undefined || after === undefined || after >= before) return allowed();
  const resource = request.resource.resource;
  const owner =
    resource === 'machinedeployments' ? 'MachineDeployment' : resource === 'machinesets' ? 'MachineSet' : resource === 'kubeadmcontrolplanes' ? 'KubeadmControlPlane' : undefined;
  if (!owner) return allowed();
  const ref = `${request.namespace}/${request.name}`;
  const scale = `scale-down of ${owner} ${ref} from ${before} to ${after}`;
  // A MachineDeployment's or KubeadmControlPlane's own override counts when volume-guard polices its writes (a
  // guarded upgrade kind).
  let ownSkip: OverrideSource | undefined;
  const warnings: string[] = [];
  const policed = config.upgrades.kinds.some((kind) => kind.group === request.resource.group && kind.resource === resource);
  if (owner !== 'MachineSet' && request.subResource !== 'scale' && policed) {
    const skip = skipOnReviewedObject(request, `${owner} ${ref}`, 'annotations', context.now);
    ownSkip = skip.source;
    warnings.push(...skip.warnings);
  }
  const overrides: OverrideSource[] = ownSkip ? [ownSkip] : [];
  // (Through the scale subresource the Scale object carries no annotations: the node overrides still count.)
  // Unjudged, only the owner's own skip passes (the nodes' are read per Machine, which is not known then).
  // The command keeps the object's own stored override (--overwrite, a fresh skip-until after a lapsed one).
  const stored: StoredAnnotations = () => metaOf(request.oldObject)?.annotations ?? {};
  const unjudgedOverride = (): readonly string[] =>
    owner !== 'MachineSet' && request.subResource !== 'scale' && policed
      ? fitOverrideToStored(staleOverride([], { overrideHint: annotateHint(`${resource}.${request.resource.group}`, request.name, request.namespace) }), stored, context.now, context.config.overrides)
      : [`none through ${request.subResource === 'scale' ? 'the scale subresource' : `a ${owner}`}: retry once volume-guard sees the cluster again`];
  const stale = staleModelDecision(context, scale, overrides, PLANS['machine-scale-down'].reads, unjudgedOverride);
  if (stale) return stale;

  // A Machine without status.nodeRef still ranks as unhealthy (no node yet to Cluster API's delete order), but its
  // deletion drains and deletes the Node its providerID names: judged on that node.
  const machines = context.snapshot.machinesOf(request.namespace, owner, request.name).map((machine) => {
    const found = machine.nodeName === '' && machine.providerID !== undefined ? nodeOfProviderID(context, machine.providerID) : '';
    return found === '' ? machine : { ...machine, nodeName: found, noNodeRef: true as const };
  });
  const sets = new Set(machines.filter((machine) => !machine.deleting).map((machine) => machine.machineSet));
  const controlPlane = owner === 'KubeadmControlPlane';
  const randomOrder = !controlPlane && deletesInRandomOrder(request, owner);
  const { candidates, narrowed, removed, pool } = controlPlane
    ? controlPlaneScaleDownCandidates(machines, after)
    : { ...scaleDownCandidates(machines, after, owner === 'MachineDeployment' && sets.size > 1, randomOrder), pool: machines.filter((machine) => !machine.deleting) };
  // Nothing volume-guard can see goes (or only Machines without a node).
  if (removed === 0 || candidates.length === 0) return allowed(warnings);
  // Once allowed, the Machines Cluster API is known to remove count as removed before the informers show them
  // deleted; when any may go, none is recorded.
  if (narrowed) for (const machine of candidates) context.removing({ kind: 'machine', namespace: request.namespace, name: machine.name, node: machine.nodeName });
  // Which Machines go, said on a line of its own under the verdict (Situation.how).
  const choice = controlPlane
    ? pool.length < machines.filter((machine) => !machine.deleting).length
      ? `The ${owner} removes ${removed} of the Machines marked ${DELETE_MACHINE_ANNOTATION}.`
      : `The ${owner} may remove any of its Machines (fewer than ${removed} marked ${DELETE_MACHINE_ANNOTATION}).`
    : after === 0
      ? `Cluster API removes every Machine of the ${owner}.`
      : narrowed
        ? `Cluster API removes the Machines marked ${DELETE_MACHINE_ANNOTATION}, updating in place or unhealthy first` +
          (randomOrder ? ', then the others by name (deletion order Random).' : '.')
        : `Cluster API may remove any of its Machines (fewer than ${removed} marked ${DELETE_MACHINE_ANNOTATION}).`;
  const allWarnings = [...warnings];
  const checkedOverrides: string[] = [];
  // Every node's answer: each may honor its own override, and the audit records them all.
  const passed: Decision[] = [];
  // The first refusal is told in full; every other Machine the scale-down may remove with data at risk is named
  // after it (a scale to zero takes them all: fixing one node at a time would be refused node after node).
  let refusal: Decision | undefined;
  let refusedNode = '';
  const alsoAtRisk: OtherAtRisk[] = [];
  // The copies on the other nodes this scale-down removes are no copy to count on: all of them when Cluster API's
  // choice is known, any `removed - 1` of the set's other nodes when it is not.
  const removedNodes = new Set((narrowed ? candidates : pool).map((machine) => machine.nodeName).filter((node) => node !== ''));
  const atMost = narrowed ? removedNodes.size : removed - 1;
  // The Machines whose nodes passed: safe to mark for removal instead of those refused.
  const safe: MachineRecord[] = [];
  // To mark instead (names), or none when a scale to zero takes every Machine: only the node's override is left.
  // Its placeholders as every denial's override words them (overrideLines).
  const nodeOverride = (node: string): string => `kubectl annotate node ${node} ${SKIP_KEY}=<checks> ${SKIP_REASON_KEY}="<why>" ${SKIP_BY_KEY}=${WRITER_PLACEHOLDER}`;
  const markHint = (machine: MachineRecord, instead: string | undefined): string =>
    instead === undefined
      ? nodeOverride(machine.nodeName)
      : `annotate the ${removed === 1 ? 'Machine' : 'Machines'} to remove instead: kubectl annotate ${MACHINE_RESOURCE} ${instead} ` +
        `-n ${request.namespace} ${DELETE_MACHINE_ANNOTATION}=yes, or ${nodeOverride(machine.nodeName)}`;
  const judge = (machine: MachineRecord, others: ReadonlySet<string>, instead: string | undefined, warnings: readonly string[]): Decision => {
    const drainCutShort = drainCutShortFor(context, machine);
    return judgeNodeRemoval(context, {
      node: machine.nodeName,
      leavingWith: { nodes: others, atMost },
      action: `${scale}, which ${narrowed ? 'removes' : 'may remove'} Machine ${machine.name} on node ${machine.nodeName}`,
      plan: 'machine-scale-down',
      ...(drainCutShort ? { drainCutShort } : {}),
      // A MachineSet's scale-down (its MachineDeployment's rollout or scale-down carried out) reads that owner's skip;
      // a MachineDeployment's or KubeadmControlPlane's reads its own from the request.
      overrides: {
        object: () => ownSkip,
        node: () => nodeSkip(context, machine.nodeName),
        // Only for a MachineSet its MachineDeployment controls: a standalone one's Machines take whatever
        // deployment-name label it carries.
        'machine-owner': () =>
          owner === 'MachineSet' && controllingDeployment !== undefined && machine.machineDeployment === controllingDeployment
            ? rolloutOwnerSkip(ownerSkipReading(context), machine, SCALING_OWNERS)
            : undefined,
      },
      overrideHint: markHint(machine, instead),
      warnings,
      // Worded as the node's removal, with the Machines marked instead (or the node's skip) as the override.
      how: choice,
      again: `scale ${owner} ${ref} to ${after} again`,
      overrideFromHint: true,
    });
  };
  const controllingDeployment = owner === 'MachineSet' ? deploymentControlling(request) : undefined;
  const unnamed = after === 0 ? undefined : '<name>';
  let refusedMachine: MachineRecord | undefined;
  let refusedWarnings: readonly string[] = [];
  for (const machine of candidates) {
    const others = new Set([...removedNodes].filter((node) => node !== machine.nodeName));
    const warnings = refusal ? [] : [...allWarnings];
    const decision = judge(machine, others, unnamed, warnings);
    if (!decision.allowed) {
      if (refusal === undefined) [refusal, refusedNode, refusedMachine, refusedWarnings] = [decision, machine.nodeName, machine, warnings];
      else alsoAtRisk.push({ machine: machine.name, node: machine.nodeName, checks: decision.deniedChecks ?? [] });
      continue;
    }
    safe.push(machine);
    if (refusal) continue;
    allWarnings.splice(0, allWarnings.length, ...(decision.warnings ?? []));
    checkedOverrides.push(...(decision.overrides ?? []));
    passed.push(decision);
  }
  if (refusal && refusedMachine !== undefined && unnamed !== undefined && removed <= MAX_NAMED_MACHINES) {
    // Cluster API's choice known, the set's other Machines were not judged: those whose nodes pass the removal (with
    // the copies of every Machine it was to remove counted gone) may be marked instead.
    if (narrowed) {
      const chosen = new Set(candidates.map((machine) => machine.name));
      for (const machine of pool) {
        if (safe.length >= removed) break;
        if (chosen.has(machine.name) || machine.nodeName === '' || machine.deleting) continue;
        if (judge(machine, removedNodes, unnamed, []).allowed) safe.push(machine);
      }
    }
    const instead = safe.length >= removed ? safe.slice(0, removed).map((machine) => machine.name).join(' ') : undefined;
    refusal = judge(refusedMachine, new Set([...removedNodes].filter((node) => node !== refusedNode)), instead, refusedWarnings);
  }
  if (refusal) return withOthersAtRisk(refusal, alsoAtRisk, refusedNode);
  const result = { ...allowed(allWarnings), ...combinedOverrideAudit(passed) };
  return checkedOverrides.length ? { ...result, overrides: [...new Set(checkedOverrides)] } : result;
}

/**
 * The MachineDeployment controlling the MachineSet under review, as stored and as written (its controller
 * ownerReference, kind MachineDeployment of cluster.x-k8s.io): the MachineDeployment controller creates its MachineSets
 * with that reference (getNewMachineSet) and scales only those it controls (getMachineSetsForDeployment keeps the
 * MachineSets metav1.IsControlledBy it, adopting a matching orphan first by adding the reference), patching the
 * MachineSet itself. The `cluster.x-k8s.io/deployment-name` label proves nothing: Machines copy it from their
 * MachineSet's own labels (machineLabelsFromMachineSet), which anyone writing a MachineSet sets. Undefined through the
 * scale subresource (a Scale has no owners) and for a MachineSet no MachineDeployment controls.
 */
function deploymentControlling(request: AdmissionRequest): string | undefined {
  if (request.subResource !== undefined && request.subResource !== '') return undefined;
  const controller = (object: unknown): string | undefined => {
    const refs = field(object, 'metadata', 'ownerReferences');
    if (!Array.isArray(refs)) return undefined;
    const ref: unknown = refs.find((entry: unknown) => field(entry, 'controller') === true);
    const apiVersion = field(ref, 'apiVersion');
    const name = field(ref, 'name');
    const group = typeof apiVersion === 'string' ? apiVersion.slice(0, Math.max(0, apiVersion.lastIndexOf('/'))) : '';
    return field(ref, 'kind') === 'MachineDeployment' && group === GROUP && typeof name === 'string' && name !== '' ? name : undefined;
  };
  const stored = controller(request.oldObject);
  return stored !== undefined && controller(request.object) === stored ? stored : undefined;
}

/** Another Machine a refused scale-down may remove whose node holds data at risk. */
export interface OtherAtRisk {
  readonly machine: string;
  readonly node: string;
  readonly checks: readonly string[];
}

/**
 * The refusal of a scale-down, with the other Machines it may remove whose nodes hold data at risk named before the
 * override (as many as fit the denial's length, then "and N more"; `volume-guard audit --node NODE` tells each one's
 * risks), and its headline counting them all: `...: risks of data loss on 3 Machines' nodes (2 on w1).`
 * rather than the first node's risks alone (`node`: that node). A refusal for an unknown state (stale model) is
 * returned as it is.
 */
export function withOthersAtRisk(refusal: Decision, others: readonly OtherAtRisk[], node: string): Decision {
  const message = refusal.status?.message;
  if (message === undefined || others.length === 0 || (refusal.deniedChecks ?? []).includes('stale-model')) return refusal;
  const headline = wholeScaleDownHeadline(message, others.length + 1, node);
  const heading = `Other Machines it may remove with data at risk (${others.length}; volume-guard audit --node NODE for each):`;
  const lines = others.map((other) => `  ${other.machine} on node ${other.node} [${other.checks.join(', ')}]`);
  // Lines listed while they fit, keeping room for the "and N more" line that ends a cut listing.
  let room = MAX_DENIAL_LENGTH - message.length - (headline.text.length - headline.replaced) - heading.length - 1;
  const listed: string[] = [];
  for (const [index, line] of lines.entries()) {
    const more = index < lines.length - 1 ? `  and ${lines.length - index - 1} more`.length + 1 : 0;
    if (line.length + 1 + more > room) break;
    listed.push(line);
    room -= line.length + 1;
  }
  if (listed.length < lines.length) listed.push(`  and ${lines.length - listed.length} more`);
  if (room < 0) return refusal;
  const at = message.indexOf(`\n${OVERRIDE_HEADING}`);
  const [before, after] = at < 0 ? [message, ''] : [message.slice(0, at), message.slice(at)];
  const body = headline.text + before.slice(headline.replaced);
  const deniedChecks = [...new Set([...(refusal.deniedChecks ?? []), ...others.flatMap((other) => other.checks)])];
  return { ...refusal, status: { ...refusal.status!, message: [body, heading, ...listed].join('\n') + after }, deniedChecks };
}

/** The verdict's count, as verdictLine ends the first line: `: 1 risk of data loss.` */
const VERDICT_COUNT = /: (\d+) risks? of data loss\.$/;

/**
 * The first line of a scale-down's refusal recounted for `machines` Machines whose nodes hold data at risk, keeping
 * the first node's count: its text, and how many characters of the message it replaces (0, none, when the first line
 * does not end as verdictLine words it).
 */
function wholeScaleDownHeadline(message: string, machines: number, node: string): { readonly text: string; readonly replaced: number } {
  const end = message.indexOf('\n');
  const first = end < 0 ? message : message.slice(0, end);
  const count = VERDICT_COUNT.exec(first);
  if (count === null) return { text: '', replaced: 0 };
  return { text: `${first.slice(0, count.index)}: risks of data loss on ${machines} Machines' nodes (${count[1]} on ${node}).`, replaced: first.length };
}

export function machineValidator(config: Config): Validator {
  return {
    declaration: machineDeclaration(config),
    handle(request, context) {
      if (request.resource.group === '' && request.resource.resource === 'pods') return request.operation === 'UPDATE' ? judgeDrainLabel(request, context) : allowed();
      if (request.resource.group === '' && request.resource.resource === 'namespaces') return request.operation === 'UPDATE' ? judgeRelabel(request, context) : allowed();
      if (request.operation === 'UPDATE' && request.resource.resource === 'clusters') return judgeRelabel(request, context);
      const groups = [GROUP, CONTROL_PLANE_GROUP];
      if (!groups.includes(request.kind.group) && !groups.includes(request.resource.group)) return allowed();
      if (request.operation === 'DELETE' && request.resource.resource === 'machines') return judgeMachineDeleteAndDrains(request, context);
      if (request.resource.resource === 'machinedrainrules') return judgeDrainRuleWrite(request, context);
      if (request.operation === 'DELETE' && (request.resource.resource === 'clusters' || Object.hasOwn(MACHINE_OWNERS, request.resource.resource))) {
        return judgeOwnerDelete(request, context);
      }
      if (request.operation === 'UPDATE' && request.resource.resource === 'machines') return judgeDrainCut(request, context);
      if (request.operation === 'UPDATE') return judgeScaleDown(request, context, config);
      return allowed();
    },
  };
}

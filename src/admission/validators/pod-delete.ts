// Pod DELETE on a node being drained: `kubectl drain --disable-eviction` (and scripts) delete pods instead of
// evicting them, which no PodDisruptionBudget and no eviction webhook sees. On an unschedulable node, a DELETE of
// a pod whose data stays behind on that node (node-local PV, the last healthy replica of its Longhorn volume)
// gets the eviction's pod checks, with the same overrides. So does one on a node whose cordon volume-guard has just
// refused (not a dry run): kubectl drain prints the refusal and goes on DELETEing the pods of the still schedulable
// node, then reports it drained. A dry-run DELETE by a user whose dry-run cordon of the node was just allowed is judged
// as on the node cordoned (`kubectl drain --disable-eviction --dry-run=server` previews the real drain). On any other
// schedulable node a pod DELETE is a restart (the pod's controller recreates it) and passes. So does a DELETE by
// kube-controller-manager's own controllers, on any node: the garbage collector removing the pods of a deleted
// StatefulSet or ReplicaSet (`helm uninstall`, `kubectl delete sts`), a StatefulSet or ReplicaSet scaling down or
// replacing a pod, a Job's cleanup, the pod GC, the taint manager. No drain deletes as them (kubectl drain deletes as
// its user, Cluster API and Harvester evict), and none of them takes the pod's data anywhere: its claims stay, and a
// pod they recreate lands where its volumes allow.
import { transformPod } from '../../cluster/transforms.ts';
import type { Config } from '../../config.ts';
import { hasInlineData } from '../../checks/node-local-volume.ts';
import { staleModelDecision } from '../context.ts';
import { field, stringField } from '../objects.ts';
import { celString } from '../rules.ts';
import { allowed, type UserInfo, type WebhookDeclaration } from '../types.ts';
import type { Validator } from '../validator.ts';
import { judgePodRemoval } from './eviction.ts';

/**
 * The kube-controller-manager controllers that delete pods, by the service accounts they run as with
 * `--use-service-account-credentials` (kubeadm and most distributions; the taint manager runs as node-controller).
 */
export const CONTROLLER_POD_DELETERS: readonly string[] = [
  'generic-garbage-collector',
  'statefulset-controller',
  'replicaset-controller',
  'replication-controller',
  'job-controller',
  'daemon-set-controller',
  'pod-garbage-collector',
  'namespace-controller',
  'node-controller',
  // DRA device taints (DeviceTaintRule, NoExecute): the pods using a tainted device.
  'device-taint-eviction-controller',
].map((name) => `system:serviceaccount:kube-system:${name}`);

/** kube-controller-manager itself: its controllers run as it without `--use-service-account-credentials`. */
export const CONTROLLER_MANAGER_USER = 'system:kube-controller-manager';

/** Every identity kube-controller-manager deletes pods as. */
const CONTROLLER_MANAGER_USERS: readonly string[] = [CONTROLLER_MANAGER_USER, ...CONTROLLER_POD_DELETERS];

/** A pod DELETE by kube-controller-manager (a controller's cleanup, scale-down or replacement), never a drain's. */
export function isControllerManager(user: UserInfo): boolean {
  return CONTROLLER_MANAGER_USERS.includes(user.username);
}

/**
 * CEL: a DELETE of a pod bound to a node, not already terminating (the kubelet's final DELETE), that mounts a
 * claim or an inline hostPath, or is a StatefulSet's pod with an emptyDir: the only pods that can keep data on their
 * node (node-local-volume reads a StatefulSet pod's disk-backed emptyDir as its state, `nodeLocal.statefulSetEmptyDir`;
 * the handler leaves out memory-backed ones). Mirrors the handler's filter.
 */
export const POD_DELETE_CEL =
  "request.operation == 'DELETE' && oldObject != null && has(oldObject.spec) && has(oldObject.spec.nodeName) && " +
  // kube-controller-manager's deletes always pass (isControllerManager): not sent, so an outage of volume-guard never
  // holds up a rollout of the DaemonSet or workload that would end it (a CNI's, Longhorn's).
  `!(request.userInfo.username in [${CONTROLLER_MANAGER_USERS.map(celString).join(', ')}]) && ` +
  '!has(oldObject.metadata.deletionTimestamp) && has(oldObject.spec.volumes) && ' +
  '(oldObject.spec.volumes.exists(v, has(v.persistentVolumeClaim) || has(v.hostPath)) || ' +
  "(oldObject.spec.volumes.exists(v, has(v.emptyDir)) && has(oldObject.metadata.ownerReferences) && " +
  "oldObject.metadata.ownerReferences.exists(o, o.kind == 'StatefulSet' && has(o.controller) && o.controller)))";

const declaration: WebhookDeclaration = {
  name: 'pod-delete.volume-guard.io',
  target: 'pod-delete',
  rules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['DELETE'], scope: 'Namespaced' }],
  matchConditions: [{ name: 'pod-with-node-data', expression: POD_DELETE_CEL }],
  workload: 'pods',
};

/** virt-controller's service account where KubeVirt installs it: upstream `kubevirt`, Harvester, OpenShift Virtualization. */
const VIRT_CONTROLLER_USERS: readonly string[] = ['kubevirt', 'harvester-system', 'openshift-cnv'].map(
  (namespace) => `system:serviceaccount:${namespace}:kubevirt-controller`,
);

/**
 * KubeVirt's virt-controller deleting a VMI's launcher pod: it does so as soon as the VMI is being deleted (a VM
 * stopped, restarted or deleted; kubevirt pkg/virt-controller/watch/vmi sync, deleteAllMatchingPods), as its
 * `kubevirt-controller` service account in KubeVirt's namespace (`kubevirt`, Harvester's `harvester-system`). Harvester
 * stops VMs so on a node going into maintenance and in an upgrade's pre-drain, after or while the node is cordoned. A
 * VM stop moves no data (its volumes detach, their replicas and LVs stay), and no drain deletes as virt-controller.
 */
function isVirtControllerStoppingVmi(user: UserInfo, pod: unknown): boolean {
  // Only KubeVirt's own install namespaces: anyone may name a service account kubevirt-controller in their namespace.
  if (!VIRT_CONTROLLER_USERS.includes(user.username)) return false;
  const owners = field(pod, 'metadata', 'ownerReferences');
  return (
    Array.isArray(owners) &&
    owners.some(
      (owner: unknown) =>
        stringField(owner, 'kind') === 'VirtualMachineInstance' && stringField(owner, 'apiVersion').startsWith('kubevirt.io/') && field(owner, 'controller') === true,
    )
  );
}

function isTerminating(object: unknown): boolean {
  const metadata = (object as { metadata?: { deletionTimestamp?: unknown } } | null)?.metadata;
  return typeof metadata?.deletionTimestamp === 'string' && metadata.deletionTimestamp !== '';
}

export function podDeleteValidator(_config: Config): Validator {
  return {
    declaration,
    handle(request, context) {
      if (request.operation !== 'DELETE' || isTerminating(request.oldObject)) return allowed();
      // The garbage collector, a StatefulSet or ReplicaSet controller, the pod GC: no step of a drain.
      if (isControllerManager(request.userInfo)) return allowed();
      // KubeVirt stopping a VM: no step of a drain either.
      if (isVirtControllerStoppingVmi(request.userInfo, request.oldObject)) return allowed();
      // The request carries the pod as it is; the model may not have seen it yet.
      const requested = transformPod(request.oldObject);
      const pod = requested ?? context.snapshot.pod(request.namespace, request.name);
      if (!pod || pod.nodeName === '') return allowed();
      // Only a node being drained (cordoned, or its cordon just refused): anywhere else deleting a pod restarts it.
      // A pod of a Node already gone (the pod garbage collector's DELETE) passes as before: its data went with the node.
      const node = context.snapshot.node(pod.nodeName);
      if (node === undefined) {
        // Unknown to a stale view of the nodes: it may be a node being drained volume-guard has not seen yet. A pod
        // keeping data on its node then gets the stale-model answer, as its eviction would.
        const keepsData = pod.claimNames.length > 0 || hasInlineData(pod);
        const stale = keepsData
          ? staleModelDecision(context, `deletion of pod ${request.namespace}/${request.name} on node ${pod.nodeName}`, [], ['node'], [
              `none: retry once volume-guard has seen node ${pod.nodeName} (a pod DELETE is judged only on a node being drained)`,
            ])
          : undefined;
        return stale ?? allowed();
      }
      // `kubectl drain --disable-eviction --dry-run=server`: its allowed dry-run cordon leaves the node schedulable.
      const dryRunCordoned = request.dryRun && context.snapshot.dryRunCordonAllowed(pod.nodeName, request.userInfo.username);
      // Its cordon just admitted counts as cordoned (nodeCordoned): kubectl drain --disable-eviction DELETEs the pods as
      // soon as its cordon PATCH is answered, before the informers may show it.
      const cordoned = node.unschedulable || context.snapshot.nodeCordoned(pod.nodeName) || dryRunCordoned;
      if (!cordoned && !context.snapshot.cordonRefused(pod.nodeName, request.userInfo.username, request.dryRun)) return allowed();
      const cordonRefused = !cordoned;
      const draining = cordoned ? 'being drained' : `being drained: your cordon of it was refused`;
      return judgePodRemoval(context, {
        action: `deletion of pod ${request.namespace}/${request.name} on node ${pod.nodeName} (${draining})`,
        namespace: request.namespace,
        name: request.name,
        pod,
        podFromModel: requested === undefined,
        user: request.userInfo,
        nodeWide: false,
        plan: 'pod-delete',
        restartAllowed: false,
        evicted: false,
        // The node stays schedulable, but its drain is under way: judged as on a node being drained.
        ...(cordonRefused ? { cordonRefused } : {}),
        ...(dryRunCordoned ? { dryRunCordoned } : {}),
      });
    },
  };
}

// Pod DELETE on a node being drained: `kubectl drain --disable-eviction` (and scripts) delete pods instead of
// evicting them, which no PodDisruptionBudget and no eviction webhook sees. On an unschedulable node, a DELETE of
// a pod whose data stays behind on that node (node-local PV, the last healthy replica of its Longhorn volume)
// gets the eviction's pod checks, with the same overrides. So does one on a node whose cordon volume-guard has just
// refused (not a dry run): kubectl drain prints the refusal and goes on DELETEing the pods of the still schedulable
// node, then reports it drained. On any other schedulable node a pod DELETE is a restart (the pod's controller
// recreates it) and passes.
import { transformPod } from '../../cluster/transforms.ts';
import type { Config } from '../../config.ts';
import { allowed, type WebhookDeclaration } from '../types.ts';
import type { Validator } from '../validator.ts';
import { judgePodRemoval } from './eviction.ts';

/**
 * CEL: a DELETE of a pod bound to a node, not already terminating (the kubelet's final DELETE), that mounts a
 * claim or an inline hostPath, or is a StatefulSet's pod with an emptyDir: the only pods that can keep data on their
 * node (node-local-volume reads a StatefulSet pod's disk-backed emptyDir as its state, `nodeLocal.statefulSetEmptyDir`;
 * the handler leaves out memory-backed ones). Mirrors the handler's filter.
 */
export const POD_DELETE_CEL =
  "request.operation == 'DELETE' && oldObject != null && has(oldObject.spec) && has(oldObject.spec.nodeName) && " +
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

function isTerminating(object: unknown): boolean {
  const metadata = (object as { metadata?: { deletionTimestamp?: unknown } } | null)?.metadata;
  return typeof metadata?.deletionTimestamp === 'string' && metadata.deletionTimestamp !== '';
}

export function podDeleteValidator(_config: Config): Validator {
  return {
    declaration,
    handle(request, context) {
      if (request.operation !== 'DELETE' || isTerminating(request.oldObject)) return allowed();
      // The request carries the pod as it is; the model may not have seen it yet.
      const pod = transformPod(request.oldObject) ?? context.snapshot.pod(request.namespace, request.name);
      if (!pod || pod.nodeName === '') return allowed();
      // Only a node being drained (cordoned, or its cordon just refused): anywhere else deleting a pod restarts it.
      // A pod of a Node already gone (the pod garbage collector's DELETE) passes as before: its data went with the node.
      const node = context.snapshot.node(pod.nodeName);
      if (node === undefined) return allowed();
      const cordoned = node.unschedulable;
      if (!cordoned && !context.snapshot.cordonRefused(pod.nodeName, request.userInfo.username, request.dryRun)) return allowed();
      const draining = cordoned ? 'being drained' : `being drained: your cordon of it was refused`;
      return judgePodRemoval(context, {
        action: `deletion of pod ${request.namespace}/${request.name} on node ${pod.nodeName} (${draining})`,
        namespace: request.namespace,
        name: request.name,
        pod,
        user: request.userInfo,
        nodeWide: false,
        plan: 'pod-delete',
        restartAllowed: false,
        evicted: false,
      });
    },
  };
}

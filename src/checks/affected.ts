// How the checks name Kubernetes and Longhorn objects in findings.

import type {
  LonghornReplicaRecord,
  LonghornVolumeRecord,
  PersistentVolumeClaimRecord,
  PodRecord,
} from '../cluster/records.ts';
import { isPodScratchClaim } from '../cluster/records.ts';
import type { ClusterSnapshot, VolumeContext } from '../cluster/snapshot.ts';
import { LONGHORN_COMPONENT_LABEL, LONGHORN_INSTANCE_MANAGER, tolerationMatches } from '../cluster/transforms.ts';
import type { AffectedObject, Finding } from './types.ts';
import { isVolumeAttached } from './longhorn-health.ts';

export function volumeObject(volume: LonghornVolumeRecord, node: string | undefined): AffectedObject {
  return node === undefined || node === ''
    ? { kind: 'Volume', namespace: volume.namespace, name: volume.name }
    : { kind: 'Volume', namespace: volume.namespace, name: volume.name, node };
}

export function replicaObject(replica: LonghornReplicaRecord): AffectedObject {
  return replica.nodeID === ''
    ? { kind: 'Replica', namespace: replica.namespace, name: replica.name }
    : { kind: 'Replica', namespace: replica.namespace, name: replica.name, node: replica.nodeID };
}

/** The PVC bound to a Longhorn volume (status.kubernetesStatus), the name users know it by. */
export function claimOfVolume(volume: LonghornVolumeRecord): AffectedObject | undefined {
  if (volume.pvcName === '') return undefined;
  return { kind: 'PersistentVolumeClaim', namespace: volume.pvcNamespace, name: volume.pvcName };
}

export { isPodScratchClaim } from '../cluster/records.ts';

/**
 * Whether a Longhorn volume is a pod's scratch (its claim is a generic ephemeral volume's, isPodScratchClaim) that the
 * operation deletes anyway: its pod runs on a node the operation takes (`taken`), so the pod goes and the garbage
 * collector deletes the claim and the volume with it; or its pod is gone, finished, being deleted or not scheduled.
 * A scratch volume whose pod keeps running on a node the operation spares is not: the pod would lose its volume's
 * data while it runs, and is judged like any volume.
 */
export function isScratchVolumeTaken(snapshot: ClusterSnapshot, volume: LonghornVolumeRecord, taken: (node: string) => boolean): boolean {
  // Without any pod scratch claim in the cluster (the usual case), no lookup of the volume's claim.
  if (volume.pvcName === '' || !snapshot.hasPodScratchClaims()) return false;
  const claim = snapshot.persistentVolumeClaim(volume.pvcNamespace, volume.pvcName);
  if (claim === undefined || !isPodScratchClaim(claim)) return false;
  const owner = claim.ownerReferences[0];
  const pod = owner === undefined ? undefined : snapshot.pod(claim.namespace, owner.name);
  if (pod === undefined || pod.nodeName === '' || pod.deleting || pod.phase === 'Succeeded' || pod.phase === 'Failed') return true;
  return taken(pod.nodeName);
}

/** Every node: a cluster-wide upgrade takes them all. */
const EVERY_NODE_TAKEN = (): boolean => true;

/**
 * The nodes an operation takes, as isScratchVolumeTaken reads them: the one node of a cordon or drain (`node`), the
 * nodes an upgrade reaches (`nodes`), or every node (a cluster-wide upgrade).
 */
export function nodesTakenBy(target: { readonly node?: string; readonly nodes?: readonly string[] }): (node: string) => boolean {
  const { node, nodes } = target;
  if (node !== undefined) return (name) => name === node;
  if (nodes === undefined) return EVERY_NODE_TAKEN;
  const upgraded = new Set(nodes);
  return (name) => upgraded.has(name);
}

export function claimObject(claim: Pick<PersistentVolumeClaimRecord, 'namespace' | 'name'>): AffectedObject {
  return { kind: 'PersistentVolumeClaim', namespace: claim.namespace, name: claim.name };
}

export function podObject(pod: PodRecord): AffectedObject {
  return pod.nodeName === ''
    ? { kind: 'Pod', namespace: pod.namespace, name: pod.name }
    : { kind: 'Pod', namespace: pod.namespace, name: pod.name, node: pod.nodeName };
}

export { attachmentTag } from './longhorn-health.ts';

/** `attached to node worker-2`, `attaching`, `creating`, `detached`. */
export function describeAttachment(volume: LonghornVolumeRecord): string {
  if (volume.currentNodeID !== '') {
    return volume.state === 'attached' || volume.state === ''
      ? `attached to node ${volume.currentNodeID}`
      : `${volume.state} on node ${volume.currentNodeID}`;
  }
  if (isVolumeAttached(volume)) return volume.state;
  return 'detached';
}

/** Distinct values in first-seen order. */
export function distinct(values: Iterable<string>): string[] {
  return [...new Set(values)];
}

/**
 * The NoExecute taints of the node that the taint manager deletes its Longhorn instance-manager pods for: those kept in
 * its record (NodeRecord.taints), when no instance-manager pod there (running, not being deleted) tolerates every one
 * of them for good (for each taint its first matching toleration has no tolerationSeconds, as tainteviction
 * processPodOnNode reads them). Their replicas then stop, and Longhorn counts them no more (its
 * ListVolumePDBProtectedHealthyReplicasRO skips a replica whose instance manager is not running). Empty: none.
 */
export function instanceManagerEvictingTaints(snapshot: ClusterSnapshot, node: string): readonly string[] {
  const taints = (snapshot.node(node)?.taints ?? []).filter((taint) => taint.effect === 'NoExecute');
  if (taints.length === 0) return [];
  const tolerated = snapshot.podsOnNode(node).some((pod) => {
    if (pod.labels?.[LONGHORN_COMPONENT_LABEL] !== LONGHORN_INSTANCE_MANAGER || pod.deleting || pod.phase === 'Succeeded' || pod.phase === 'Failed') return false;
    const tolerations = pod.noExecuteTolerations ?? [];
    return taints.every((taint) => {
      const first = tolerations.find((toleration) => tolerationMatches(toleration, taint));
      return first !== undefined && first.tolerationSeconds === undefined;
    });
  });
  return tolerated ? [] : taints.map((taint) => `${taint.key}${taint.value === '' ? '' : `=${taint.value}`}:NoExecute`);
}

/**
 * Where a healthy replica that is no copy (ClusterSnapshot.nodeIsUp) sits, and why it does not count:
 * `on node w2, down`, `on node w2, which no longer exists`, `on node w2, whose Node object was deleted`, `on node w2,
 * on disk <uuid> that is gone`, `on node w2, which an autoscaler is removing`, `on node w2, which is being deleted`,
 * `on node w2, which is cordoned`.
 */
export function lostCopyPlace(snapshot: ClusterSnapshot, replica: LonghornReplicaRecord): string {
  const node = replica.nodeID;
  const longhornNode = snapshot.longhornNode(node);
  if (snapshot.node(node) === undefined && longhornNode === undefined) return `on node ${node}, which no longer exists`;
  // A Node without a Longhorn node (while Longhorn lists others): longhorn-manager takes it as deleted.
  if (longhornNode === undefined && !snapshot.nodeIsUp(node)) return `on node ${node}, which Longhorn does not know`;
  if (!snapshot.nodeIsUp(node)) {
    // Its Node seen deleted, its Longhorn node not reported down yet.
    return snapshot.node(node) === undefined && longhornNode?.down === false ? `on node ${node}, whose Node object was deleted` : `on node ${node}, down`;
  }
  if (snapshot.replicaData(node, replica.diskID) === 'unsure') {
    return `on node ${node}, on disk ${replica.diskID} that Longhorn reports not ready`;
  }
  if (!snapshot.nodeIsUp(node, replica.diskID)) return `on node ${node}, on disk ${replica.diskID} that is gone`;
  // Only last-replica-on-node counts no copy there (another node's, at a drain).
  const leaving = snapshot.nodeLeaving(node);
  if (leaving === 'autoscaler') return `on node ${node}, which an autoscaler is removing`;
  if (leaving === 'machine') return `on node ${node}, whose Cluster API Machine is being deleted`;
  if (leaving === 'deleted') return `on node ${node}, which is being deleted`;
  if (snapshot.nodeCordoned(node)) return `on node ${node}, which is cordoned`;
  const tainted = instanceManagerEvictingTaints(snapshot, node);
  if (tainted.length > 0) return `on node ${node}, whose taint ${tainted.join(', ')} deletes Longhorn's instance-manager pod there`;
  return `on node ${node}, on disk ${replica.diskID} that is gone`;
}

/** The places of the replicas that are no copy, each said once: `on node w2, down; on node w3, which no longer exists`. */
export function lostCopyPlaces(replicas: readonly LonghornReplicaRecord[], place: (replica: LonghornReplicaRecord) => string): string {
  return distinct(replicas.map(place)).join('; ');
}

/** The predicates' view of one volume, read from a snapshot. */
export function volumeContext(snapshot: ClusterSnapshot, volumeName: string): VolumeContext {
  return {
    replicas: snapshot.replicasOfVolume(volumeName),
    diskUUIDsOf: (nodeName) => snapshot.longhornNode(nodeName)?.diskUUIDs,
    nodeIsUp: (nodeName, diskID) => snapshot.nodeIsUp(nodeName, diskID),
    replicaData: (nodeName, diskID) => snapshot.replicaData(nodeName, diskID),
    scheduling: () => ({
      get nodes() {
        return snapshot.longhornNodes();
      },
      setting: (name) => snapshot.longhornSetting(name)?.value ?? '',
    }),
  };
}

/** Kinds whose namespace is the namespace of the data a finding is about (a Longhorn Volume's is Longhorn's own). */
const DATA_KINDS: readonly string[] = ['Pod', 'PersistentVolumeClaim'];

/**
 * The namespaces whose data a finding is about: those of the pods and claims it names (object and related), in
 * first-seen order. None for data no claim or pod names (a Longhorn volume without a PVC).
 */
export function dataNamespaces(finding: Pick<Finding, 'object' | 'related'>): string[] {
  const namespaces: string[] = [];
  for (const object of [finding.object, ...(finding.related ?? [])]) {
    if (!DATA_KINDS.includes(object.kind) || object.namespace === undefined || object.namespace === '') continue;
    if (!namespaces.includes(object.namespace)) namespaces.push(object.namespace);
  }
  return namespaces;
}

/** Whether the finding is about data of `namespace` only (dataNamespaces is that namespace alone). */
export function isDataOfNamespace(finding: Pick<Finding, 'object' | 'related'>, namespace: string): boolean {
  const namespaces = dataNamespaces(finding);
  return namespaces.length === 1 && namespaces[0] === namespace;
}

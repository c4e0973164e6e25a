// What the audit reads: the cluster model's indexed queries plus a walk over every record of a kind (nodes,
// namespaces, PVCs), which the webhook never needs but a report over the whole cluster does.

import { compareText } from '../text.ts';
import type { RecordByKind, ResourceKind } from '../cluster/records.ts';
import type { ClusterSnapshot } from '../cluster/snapshot.ts';

export interface AuditModel extends ClusterSnapshot {
  records<K extends ResourceKind>(kind: K): Iterable<RecordByKind[K]>;
}

/**
 * Every node the per-node checks must look at, sorted: Node objects, plus nodes named only by Longhorn replicas,
 * pinned PVs or the open affinity of unpinned PVs (a node deleted while its data stayed behind is exactly what an
 * audit should surface).
 */
export function auditedNodes(model: AuditModel): string[] {
  const nodes = new Set<string>();
  for (const node of model.records('node')) nodes.add(node.name);
  for (const replica of model.records('longhornReplica')) if (replica.nodeID !== '') nodes.add(replica.nodeID);
  for (const pv of model.pinnedPersistentVolumes()) if (pv.pinnedNode !== '') nodes.add(pv.pinnedNode);
  for (const node of model.nodesNamedByUnpinnedPersistentVolumes()) nodes.add(node);
  return [...nodes].sort(compareText);
}

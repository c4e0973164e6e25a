// The heap the server's model holds per kind, measured last by emptying the model kind by kind (destructive).

import { RESOURCE_KINDS, type ResourceKind } from '../../../src/cluster/records.ts';
import type { RiskTrackedModel } from '../../../src/server/cluster-dependencies.ts';
import type { KindBytes } from './protocol.ts';

/** Objects that hold others' references (pods name claims, replicas volumes) go first, nodes last. */
export const REMOVAL_ORDER: readonly ResourceKind[] = [
  'pod',
  'statefulSet',
  'persistentVolumeClaim',
  'persistentVolume',
  'longhornReplica',
  'longhornVolume',
  'longhornNode',
  'longhornSetting',
  'harvesterUpgrade',
  'harvesterUpgradePlan',
  'machine',
  'machineDrainRule',
  'clusterApiCluster',
  'machineDeployment',
  'kubeadmControlPlane',
  'namespace',
  'node',
];

/**
 * Heap per kind, emptying the model kind by kind through the tracker's sink (its flush after each kind, so what
 * the tracker held for those objects goes with them). A kind whose removal freed no heap the collector could show
 * (the heap read no lower after it: what else the process allocated meanwhile outweighed it) is reported as not
 * measurable (null), not as a clamped 0.
 */
export function bytesPerKind({ model, sink, risks }: Pick<RiskTrackedModel, 'model' | 'sink' | 'risks'>, heapUsed: () => number): KindBytes[] {
  const kinds: KindBytes[] = [];
  let before = heapUsed();
  for (const kind of [...REMOVAL_ORDER, ...RESOURCE_KINDS.filter((kind) => !REMOVAL_ORDER.includes(kind))]) {
    const count = model.count(kind);
    if (count === 0) continue;
    sink.replaceAll(kind, []);
    risks.flush();
    const after = heapUsed();
    const bytes = before - after > 0 ? before - after : null;
    kinds.push({ kind, count, bytes, bytesPerObject: bytes === null ? null : Math.round(bytes / count) });
    before = after;
  }
  return kinds;
}

// A cluster named the way real ones are (cloud node names, Longhorn volumes named after their PV's uid, long
// namespaces and claims), for the table's layout tests: the golden cluster's short names hide overflowing lines.
import type { AuditReport, AuditScope } from '../../../src/audit/types.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { detachedVolume, failedReplica, hostPathPV, localPV, longhornNode, namespace, node, pod, pvc, replica, volume } from '../../support/fixtures.ts';
import { CLUSTER, GENERATED_AT, modelOf } from './golden-cluster.ts';

export const NODE_A = 'ip-10-0-12-34.eu-west-1.compute.internal';
export const NODE_B = 'ip-10-0-56-78.eu-west-1.compute.internal';
export const NODE_C = 'ip-10-0-90-12.eu-west-1.compute.internal';
export const SINGLE = 'pvc-3f2a9c1e-8b7d-4e21-9a3c-5d6e7f809a1b';
const DEGRADED = 'pvc-7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f';

export function realisticReport(scope: AuditScope): AuditReport {
  const model = modelOf({
    node: [
      node({
        name: NODE_A,
        annotations: {
          'volume-guard.io/skip': 'node-local-volume',
          'volume-guard.io/skip-reason': 'kernel patch, disk kept, CHG-20260115-0042',
          'volume-guard.io/skip-by': 'system:serviceaccount:platform-automation:maintenance-runner',
        },
      }),
      node({ name: NODE_B }),
      node({ name: NODE_C }),
    ],
    namespace: [namespace({ name: 'payments-production' }), namespace({ name: 'observability-platform' })],
    longhornNode: [longhornNode({ name: NODE_A }), longhornNode({ name: NODE_B }), longhornNode({ name: NODE_C })],
    longhornVolume: [
      detachedVolume({ name: SINGLE, numberOfReplicas: 1, pvName: SINGLE, pvcNamespace: 'payments-production', pvcName: 'data-postgresql-primary-0' }),
      volume({ name: DEGRADED, robustness: 'degraded', currentNodeID: NODE_A, pvName: DEGRADED, pvcNamespace: 'observability-platform', pvcName: 'storage-prometheus-kube-prometheus-stack-0' }),
    ],
    longhornReplica: [
      replica({ volumeName: SINGLE, nodeID: NODE_A, name: `${SINGLE}-r-1a2b3c4d`, currentState: 'stopped' }),
      replica({ volumeName: DEGRADED, nodeID: NODE_A, name: `${DEGRADED}-r-5e6f7a8b` }),
      failedReplica({ volumeName: DEGRADED, nodeID: NODE_B, name: `${DEGRADED}-r-9c0d1e2f` }),
      failedReplica({ volumeName: DEGRADED, nodeID: NODE_C, name: `${DEGRADED}-r-3a4b5c6d` }),
    ],
    persistentVolume: [
      localPV({ name: 'local-pv-2b9f0c3d', pinnedNode: NODE_A, claimNamespace: 'payments-production', claimName: 'data-redis-cluster-shard-2-replica-1' }),
      hostPathPV({ name: 'pvc-0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b', pinnedNode: NODE_A, claimNamespace: 'observability-platform', claimName: 'loki-write-cache' }),
    ],
    persistentVolumeClaim: [
      pvc({ namespace: 'payments-production', name: 'data-redis-cluster-shard-2-replica-1', volumeName: 'local-pv-2b9f0c3d' }),
      pvc({ namespace: 'observability-platform', name: 'loki-write-cache', volumeName: 'pvc-0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b' }),
      pvc({ namespace: 'payments-production', name: 'data-postgresql-primary-0', volumeName: SINGLE }),
    ],
    pod: [pod({ namespace: 'payments-production', name: 'redis-cluster-shard-2-replica-1', nodeName: NODE_A, claimNames: ['data-redis-cluster-shard-2-replica-1'] })],
  });
  return buildAuditReport({ model, scope, cluster: CLUSTER, generatedAt: GENERATED_AT });
}

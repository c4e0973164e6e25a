// The audit's fix for a volume on a cluster with one Longhorn node: Longhorn places a volume's replicas on different
// nodes (replica-soft-anti-affinity is false by default: longhorn-manager scheduler/replica_scheduler.go skips nodes
// that already hold a replica of the volume), so raising numberOfReplicas or waiting for a rebuild never gives a
// second copy there. The webhook's refusal of the same cordon says so (messages.ts soleNodeFix); the audit must not
// advise the raise that cannot work.
import { describe, expect, it } from 'vitest';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { detachedVolume, longhornNode, node, replica, volume } from '../../support/fixtures.ts';
import { CLUSTER, GENERATED_AT, modelOf } from './golden-cluster.ts';

function fixes(longhornNodes: readonly string[]): Map<string, string> {
  const model = modelOf({
    node: longhornNodes.map((name) => node({ name })),
    longhornNode: longhornNodes.map((name) => longhornNode({ name })),
    longhornVolume: [detachedVolume({ name: 'vm-disk', numberOfReplicas: 1 }), volume({ name: 'db', numberOfReplicas: 1 })],
    longhornReplica: [
      replica({ volumeName: 'vm-disk', nodeID: 'worker-1', desireState: 'stopped', currentState: 'stopped' }),
      replica({ volumeName: 'db', nodeID: 'worker-1' }),
    ],
  });
  const report = buildAuditReport({ model, scope: { kind: 'node', node: 'worker-1' }, cluster: CLUSTER, generatedAt: GENERATED_AT });
  return new Map(report.findings.map((finding) => [`${finding.check} ${finding.object.name}`, finding.fix]));
}

describe('audit: the fix on a cluster with one Longhorn node', () => {
  it('advises a backup, not a raise of numberOfReplicas that Longhorn cannot place', () => {
    const found = fixes(['worker-1']);
    expect([...found.keys()].sort()).toEqual(['last-replica-on-node db', 'last-replica-on-node vm-disk', 'single-replica db', 'single-replica vm-disk']);
    for (const [key, fix] of found) {
      expect(fix, key).not.toMatch(/raise|rebuild a healthy replica/);
      expect(fix, key).toMatch(/worker-1 is the only Longhorn node/);
      expect(fix, key).toMatch(/back the volume up/);
    }
  });

  it('keeps the raise where another Longhorn node can take the second copy', () => {
    const found = fixes(['worker-1', 'worker-2']);
    expect(found.get('single-replica vm-disk')).toMatch(/raise numberOfReplicas to 2/);
    expect(found.get('last-replica-on-node db')).toMatch(/rebuild a healthy replica on another node/);
  });
});

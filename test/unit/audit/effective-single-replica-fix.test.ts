// The audit's fix for a volume left with one healthy replica while its numberOfReplicas is already 2 or more
// (single-replica's "effective" finding): Longhorn's volume controller rebuilds toward spec.numberOfReplicas on its
// own (longhorn-manager controller/volume_controller.go replenishReplicas), so the advice is to wait for (or repair)
// that rebuild, as the webhook's refusal says; "raise numberOfReplicas to 2" names a change already made.
import { describe, expect, it } from 'vitest';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { failedReplica, longhornNode, node, replica, volume } from '../../support/fixtures.ts';
import { CLUSTER, GENERATED_AT, modelOf } from './golden-cluster.ts';

describe('audit: the fix of an effective single replica', () => {
  it('says to wait for the rebuild, not to raise a numberOfReplicas already 2', () => {
    const model = modelOf({
      node: [node({ name: 'w1' }), node({ name: 'w2' }), node({ name: 'w3' })],
      longhornNode: [longhornNode({ name: 'w1' }), longhornNode({ name: 'w2' }), longhornNode({ name: 'w3' })],
      longhornVolume: [volume({ name: 'vol-a', numberOfReplicas: 2, robustness: 'degraded', currentNodeID: 'w2' })],
      longhornReplica: [replica({ volumeName: 'vol-a', nodeID: 'w2' }), failedReplica({ volumeName: 'vol-a', nodeID: 'w1' })],
    });
    const report = buildAuditReport({ model, scope: { kind: 'cluster' }, cluster: CLUSTER, generatedAt: GENERATED_AT });
    const fixes = report.findings.filter((finding) => finding.check === 'single-replica').map((finding) => finding.fix);
    expect(fixes.length).toBeGreaterThan(0);
    for (const fix of fixes) {
      expect(fix).not.toMatch(/raise numberOfReplicas/);
      expect(fix).toMatch(/numberOfReplicas is already 2 or more: wait until Longhorn has rebuilt the missing replicas/);
    }
  });
});

// The whole-cluster audit beside the webhook on two Longhorn volumes an upgrade's plain listing misjudged: one of
// numberOfReplicas 1 that never held data (only Harvester's upgrades refuse it), and one whose only data is on a
// Longhorn node whose Node is gone (the cluster scope lists it as `--node` does, and its fix is the gone node's).
import { describe, expect, it } from 'vitest';
import { refusable } from '../../../src/audit/policyreport.ts';
import { buildAuditReport, type AuditInput } from '../../../src/audit/report.ts';
import type { AuditFinding } from '../../../src/audit/types.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { DEFAULT_UPGRADE_KINDS } from '../../../src/config.ts';
import { isHarvesterUpgradeKind } from '../../../src/override-keys.ts';
import { longhornNode, node, replica, volume } from '../../support/fixtures.ts';

function audit(model: ClusterModel, extra: Partial<AuditInput> = {}): readonly AuditFinding[] {
  return buildAuditReport({ model, scope: { kind: 'cluster' }, cluster: { server: 's', context: 'c' }, generatedAt: '2026-01-01T00:00:00Z', ...extra }).findings;
}

/** Nodes `nodes` with their Longhorn nodes, plus Longhorn nodes `goneNodes` whose Node is gone (the Node list arrived). */
function cluster(nodes: readonly string[], goneNodes: readonly string[] = []): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  model.replaceAll('node', nodes.map((name) => node({ name })));
  model.replaceAll('longhornNode', [...nodes, ...goneNodes].map((name) => longhornNode({ name })));
  return model;
}

describe('a numberOfReplicas-1 volume that never held data', () => {
  const empty = (): ClusterModel => {
    const model = cluster(['n1']);
    model.upsert('longhornVolume', volume({ name: 'e', numberOfReplicas: 1, state: 'detached', currentNodeID: '' }));
    model.upsert('longhornReplica', replica({ volumeName: 'e', nodeID: 'n1', healthyAt: '', desireState: 'stopped', currentState: 'stopped' }));
    return model;
  };

  it('blocks only a Harvester upgrade, whose override is named', () => {
    const findings = audit(empty(), { upgradeKinds: DEFAULT_UPGRADE_KINDS });
    expect(findings.map((f) => [f.check, f.object.name, f.operation, f.severity])).toEqual([
      ['single-replica', 'e', 'Harvester upgrade (Upgrade, UpgradePlan)', 'critical'],
    ]);
    expect(findings[0]?.override).toMatch(/^annotate the Harvester Upgrade or UpgradePlan with volume-guard\.io\/skip=single-replica /);
    expect(findings[0]?.override).not.toMatch(/MachineDeployment|KubeadmControlPlane|\bPlan\b/);
  });

  it('is refused for nothing when no Harvester kind is guarded: a warning, no override', () => {
    const kinds = DEFAULT_UPGRADE_KINDS.filter(({ group, kind }) => !isHarvesterUpgradeKind(group, kind));
    const findings = audit(empty(), { upgradeKinds: kinds });
    expect(findings.map((f) => [f.check, f.operation, f.severity])).toEqual([['single-replica', 'Harvester upgrade (Upgrade, UpgradePlan)', 'warning']]);
    expect(findings.filter(refusable)).toEqual([]);
    expect(findings[0]?.override).toMatch(/^none: /);
  });
});

describe('a volume whose only healthy replica is on a Longhorn node whose Node is gone', () => {
  const stranded = (): ClusterModel => {
    const model = cluster(['n1', 'n2'], ['n3']);
    model.upsert('longhornVolume', volume({ name: 'v', numberOfReplicas: 2, state: 'detached', currentNodeID: '' }));
    model.upsert('longhornReplica', replica({ volumeName: 'v', nodeID: 'n3' }));
    model.upsert('longhornReplica', replica({ volumeName: 'v', nodeID: 'n1', healthyAt: '' }));
    return model;
  };

  it('is listed for the gone node by the whole cluster as by --node', () => {
    const model = stranded();
    const gone = (findings: readonly AuditFinding[]): string[] =>
      findings.filter((f) => f.operation === 'no operation (node n3 no longer exists)').map((f) => `${f.check}:${f.object.name}:${f.severity}:${f.fix}`);
    const node = buildAuditReport({ model, scope: { kind: 'node', node: 'n3' }, cluster: { server: 's', context: 'c' }, generatedAt: '2026-01-01T00:00:00Z' });
    expect(gone(node.findings)).toHaveLength(1);
    expect(gone(audit(model))).toEqual(gone(node.findings));
  });

  it("gives its upgrade finding the gone node's fix, not a numberOfReplicas Longhorn cannot act on", () => {
    const upgrade = audit(stranded()).filter((f) => f.operation === 'upgrade');
    expect(upgrade.map((f) => `${f.check}:${f.object.name}`)).toEqual(['single-replica:v']);
    expect(upgrade[0]?.fix).toContain('bring it back as node n3 (same name) to reach the data');
    expect(upgrade[0]?.fix).not.toContain('numberOfReplicas');
  });
});

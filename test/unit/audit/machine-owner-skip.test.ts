// The stored skip of a Cluster API MachineDeployment or KubeadmControlPlane reaches the cordon and drain of the node of
// one of its Machines being deleted (rollout-owner.ts drainingMachineOwnerSkip), `single-replica` there also waiving
// last-replica-on-node of single-replica volumes. The webhook lets that cordon through: the audit marks those findings
// accepted by the owner, in `--node` and the whole-cluster audit, as it does those of a node's own skip.
import { describe, expect, it } from 'vitest';
import { policyReports } from '../../../src/audit/policyreport.ts';
import { buildAuditReport, type AuditInput } from '../../../src/audit/report.ts';
import type { AuditReport } from '../../../src/audit/types.ts';
import { DEFAULT_UPGRADE_KINDS } from '../../../src/config.ts';
import type { ClusterModel } from '../../../src/cluster/model.ts';
import { machine, machineOwner } from '../../support/fixtures.ts';
import { addVolume, longhornCluster, storedSkip } from './cordon-agreement.ts';

const MD_SKIP = 'MachineDeployment capi/md-a (volume-guard.io/skip, owning Machine m-1, draining node n1)';

/** A detached single-replica volume on n1, whose Machine m-1 of MachineDeployment capi/md-a is being deleted. */
function drainedMachine(skip: Record<string, string> = storedSkip('single-replica'), deleting = true): ClusterModel {
  const model = longhornCluster();
  addVolume(model, 'vol-s', ['n1'], { state: 'detached', numberOfReplicas: 1 });
  model.upsert('machine', machine({ namespace: 'capi', name: 'm-1', nodeName: 'n1', machineDeployment: 'md-a', deleting }));
  model.upsert('machineDeployment', machineOwner({ namespace: 'capi', name: 'md-a', annotations: skip }));
  return model;
}

function audit(model: ClusterModel, scope: AuditInput['scope'], extra: Partial<AuditInput> = {}): AuditReport {
  return buildAuditReport({ model, scope, cluster: { server: 's', context: 'c' }, generatedAt: '2026-01-01T00:00:00Z', ...extra });
}

const accepted = (report: AuditReport): string[] => report.findings.map((finding) => `${finding.check} ${finding.object.name}: ${finding.overriddenBy ?? '-'}`);

describe('audit: a Machine owner skip carried to the drain of its node', () => {
  it('--node marks the cordon findings accepted by the MachineDeployment, last-replica-on-node by the single-replica-volume tag', () => {
    const report = audit(drainedMachine(), { kind: 'node', node: 'n1' });
    expect(accepted(report)).toEqual([`single-replica vol-s: ${MD_SKIP}`, `last-replica-on-node vol-s: ${MD_SKIP}`]);
    expect(report.summary.overridden).toBe(2);
    const results = policyReports(report).flatMap((object) => object.results);
    expect(results.map((result) => result.result)).toEqual(['skip', 'skip']);
  });

  it("the whole-cluster audit marks the node's findings accepted, as --node does (single-replica is the upgrade's too)", () => {
    const report = audit(drainedMachine(), { kind: 'cluster' });
    const perNode = report.findings.filter((finding) => finding.operation === 'cordon/drain of node n1');
    expect(perNode.map((finding) => `${finding.check} ${finding.overriddenBy ?? '-'}`)).toEqual([`single-replica ${MD_SKIP}`, `last-replica-on-node ${MD_SKIP}`]);
    // An upgrade's findings are accepted on the upgrade object it creates, not by a MachineDeployment's skip.
    expect(report.findings.find((finding) => finding.operation === 'upgrade')?.overriddenBy).toBeUndefined();
  });

  it('single-replica does not waive last-replica-on-node of a volume set to more replicas', () => {
    const model = drainedMachine();
    addVolume(model, 'vol-3', ['n1'], { numberOfReplicas: 3 });
    const report = audit(model, { kind: 'node', node: 'n1' });
    const lastCopy = report.findings.find((finding) => finding.check === 'last-replica-on-node' && finding.object.name === 'vol-3');
    expect(lastCopy).toBeDefined();
    expect(lastCopy?.overriddenBy).toBeUndefined();
  });

  it('a KubeadmControlPlane skip counts the same way', () => {
    const model = longhornCluster();
    addVolume(model, 'vol-s', ['n1'], { numberOfReplicas: 1 });
    model.upsert('machine', machine({ namespace: 'capi', name: 'cp-1', nodeName: 'n1', machineDeployment: '', controlPlane: 'kcp', deleting: true }));
    model.upsert('kubeadmControlPlane', machineOwner({ namespace: 'capi', name: 'kcp', annotations: storedSkip('last-replica-on-node') }));
    const report = audit(model, { kind: 'node', node: 'n1' });
    expect(report.findings.find((finding) => finding.check === 'last-replica-on-node')?.overriddenBy).toBe(
      'KubeadmControlPlane capi/kcp (volume-guard.io/skip, owning Machine cp-1, draining node n1)',
    );
    expect(report.findings.find((finding) => finding.check === 'single-replica')?.overriddenBy).toBeUndefined();
  });

  it('not for a Machine that stays, an owner skip without a recorded writer, an owner kind not policed, or when nobody may write overrides', () => {
    const none = (report: AuditReport): void => expect(report.findings.every((finding) => finding.overriddenBy === undefined), accepted(report).join('\n')).toBe(true);
    none(audit(drainedMachine(storedSkip('single-replica'), false), { kind: 'node', node: 'n1' }));
    none(audit(drainedMachine({ 'volume-guard.io/skip': 'single-replica' }), { kind: 'node', node: 'n1' }));
    const withoutMachineDeployments = DEFAULT_UPGRADE_KINDS.filter((kind) => kind.kind !== 'MachineDeployment');
    none(audit(drainedMachine(), { kind: 'node', node: 'n1' }, { upgradeKinds: withoutMachineDeployments }));
    none(audit(drainedMachine(), { kind: 'node', node: 'n1' }, { writers: { mode: 'listed', allowedGroups: [], allowedUsers: [] } }));
  });
});

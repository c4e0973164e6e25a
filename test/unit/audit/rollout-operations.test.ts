// A Cluster API MachineDeployment or KubeadmControlPlane rollout replaces the nodes of its Machines with their disks:
// the upgrade webhook refuses it for the node-local data there (PLANS.upgrade, `replaced`), reading the skip on that
// object. The whole-cluster audit lists that data under `rollout of MachineDeployment NS/NAME`, with that object's
// skip as its override: a node's skip, which the rollout does not read, does not make the risk accepted everywhere.
import { describe, expect, it } from 'vitest';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { policyReports } from '../../../src/audit/policyreport.ts';
import { buildAuditReport, type AuditInput } from '../../../src/audit/report.ts';
import { failingFindings } from '../../../src/audit/run.ts';
import type { AuditReport } from '../../../src/audit/types.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { DEFAULT_UPGRADE_KINDS, defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { localPV, machine, machineOwner, node, pod, pvc } from '../../support/fixtures.ts';

const SKIP = { 'volume-guard.io/skip': 'node-local-volume', 'volume-guard.io/skip-by': 'admin' };
const MD_ROLLOUT = 'rollout of MachineDeployment default/md-a';

/** A change of MachineDeployment `name`'s Kubernetes version (a rollout), the object carrying `annotations`. */
function rollout(name: string, annotations: Record<string, string> = {}) {
  const md = (version: string) => ({
    apiVersion: 'cluster.x-k8s.io/v1beta1',
    kind: 'MachineDeployment',
    metadata: { name, namespace: 'default', annotations },
    spec: { replicas: 1, template: { spec: { version, clusterName: 'c1', bootstrap: { dataSecretName: 'b' }, infrastructureRef: { kind: 'M', name: 'm' } } } },
  });
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'MachineDeployment' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machinedeployments' },
    operation: 'UPDATE',
    namespace: 'default',
    name,
    object: md('v1.31.4'),
    oldObject: md('v1.30.8'),
  });
}

/**
 * n1 (Machine md-a-1 of MachineDeployment md-a) holds local PV pv-l, in use by StatefulSet pod p; n2 (Machine md-b-1
 * of md-b) holds nothing.
 */
function cluster(annotations: { n1?: Record<string, string>; mdA?: Record<string, string> } = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.replaceAll('node', ['n1', 'n2'].map((name) => node({ name, labels: { 'kubernetes.io/hostname': name }, annotations: name === 'n1' ? (annotations.n1 ?? {}) : {} })));
  model.replaceAll('machine', [
    machine({ name: 'md-a-1', nodeName: 'n1', machineSet: 'md-a-x', machineDeployment: 'md-a' }),
    machine({ name: 'md-b-1', nodeName: 'n2', machineSet: 'md-b-x', machineDeployment: 'md-b' }),
  ]);
  model.replaceAll('machineDeployment', [
    machineOwner({ namespace: 'default', name: 'md-a', ...(annotations.mdA ? { annotations: annotations.mdA } : {}) }),
    machineOwner({ namespace: 'default', name: 'md-b' }),
  ]);
  model.upsert('persistentVolume', localPV({ name: 'pv-l', pinnedNode: 'n1', claimName: 'c-l' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'c-l', volumeName: 'pv-l' }));
  model.upsert('pod', pod({ name: 'p', nodeName: 'n1', claimNames: ['c-l'], controllerKind: 'StatefulSet' }));
  return model;
}

const audit = (model: ClusterModel, extra: Partial<AuditInput> = {}): AuditReport =>
  buildAuditReport({ model, scope: { kind: 'cluster' }, cluster: { server: 's', context: 'c' }, generatedAt: '2026-01-15T08:00:00.000Z', ...extra });

const described = (report: AuditReport): string[] =>
  report.findings.map((f) => `${f.check} ${f.object.name} | ${f.operation} | ${f.overriddenBy ?? '-'}`);

describe('whole-cluster audit: a Cluster API rollout refused for the node-local data on its nodes', () => {
  it('lists the data under the rollout of the MachineDeployment whose Machine holds it, with that object as override', () => {
    const model = cluster();
    const decision = upgradeValidator(defaultConfig()).handle(rollout('md-a'), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.deniedChecks).toContain('node-local-volume');
    const report = audit(model);
    const rolledOut = report.findings.filter((f) => f.operation.startsWith('rollout of '));
    // One operation for md-a; md-b's node holds nothing, so its rollout lists nothing.
    expect(rolledOut.map((f) => `${f.check} ${f.object.name} ${f.severity} | ${f.operation}`)).toEqual([`node-local-volume pv-l critical | ${MD_ROLLOUT}`]);
    expect(rolledOut[0]?.override).toMatch(/^kubectl annotate machinedeployments\.cluster\.x-k8s\.io md-a -n default volume-guard\.io\/skip=node-local-volume /);
    expect(failingFindings(report, false)).toBeGreaterThan(0);
  });

  it("a node's skip, which the rollout does not read: the risk is not accepted everywhere, and the PolicyReport fails it", () => {
    const model = cluster({ n1: SKIP });
    expect(upgradeValidator(defaultConfig()).handle(rollout('md-a'), context(model)).allowed).toBe(false);
    const report = audit(model);
    expect(described(report).filter((line) => line.startsWith('node-local-volume pv-l'))).toContain(`node-local-volume pv-l | ${MD_ROLLOUT} | -`);
    expect(report.summary.distinct?.overridden, described(report).join('\n')).toBe(0);
    expect(failingFindings(report, false)).toBeGreaterThan(0);
    const results = policyReports(report).flatMap((object) => object.results);
    expect(results.filter((result) => result.resources?.some((resource) => resource.name === 'pv-l')).map((result) => result.result)).toEqual(['fail']);
  });

  it("the MachineDeployment's own skip accepts the rollout, as the webhook does; with the node's too, the risk is accepted everywhere", () => {
    const model = cluster({ mdA: SKIP });
    expect(upgradeValidator(defaultConfig()).handle(rollout('md-a', SKIP), context(model)).allowed).toBe(true);
    const report = audit(model);
    expect(described(report).filter((line) => line.includes(MD_ROLLOUT))).toEqual([
      `node-local-volume pv-l | ${MD_ROLLOUT} | annotation volume-guard.io/skip on MachineDeployment default/md-a`,
    ]);
    // The cordon and removal of n1 still refuse it.
    expect(report.summary.distinct?.overridden).toBe(0);
    expect(audit(cluster({ mdA: SKIP, n1: SKIP })).summary.distinct?.overridden).toBe(1);
  });

  it('a KubeadmControlPlane rollout is listed the same way', () => {
    const model = cluster();
    model.replaceAll('machine', [machine({ name: 'cp-1', nodeName: 'n1', machineSet: '', machineDeployment: '', controlPlane: 'kcp' })]);
    model.replaceAll('kubeadmControlPlane', [machineOwner({ namespace: 'default', name: 'kcp' })]);
    const report = audit(model);
    const rolledOut = report.findings.filter((f) => f.operation.startsWith('rollout of '));
    expect(rolledOut.map((f) => `${f.object.name} | ${f.operation}`)).toEqual(['pv-l | rollout of KubeadmControlPlane default/kcp']);
    expect(rolledOut[0]?.override).toMatch(/^kubectl annotate kubeadmcontrolplanes\.controlplane\.cluster\.x-k8s\.io kcp -n default /);
  });

  it('not for an owner kind outside upgrades.kinds, whose rollouts the webhook does not judge', () => {
    const upgradeKinds = DEFAULT_UPGRADE_KINDS.filter((kind) => kind.kind !== 'MachineDeployment');
    const report = audit(cluster(), { upgradeKinds });
    expect(report.findings.filter((f) => f.operation.startsWith('rollout of '))).toEqual([]);
  });
});

// `volume-guard audit` lists the node-local data a Cluster API rollout is refused for under that rollout, with the
// MachineDeployment's own skip as its override, as the upgrade webhook judges it: through the real API server with
// the real kubectl and CLI, a MachineDeployment whose Machine's node holds a local PV in use. The node's skip, which
// the rollout does not read, does not accept the risk everywhere; the MachineDeployment's own skip does.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, paths, run, type CommandResult } from '../harness/cluster.ts';
import { apply, createPodOnLocalVolume, deleteObjects, ensureNamespace, eventually, must, patchStatus } from '../harness/scenario.ts';
import type { AuditReport } from '../../src/audit/types.ts';

const NODE_BIN = join(paths.root, 'node_modules', '.bin', 'node');
const CLI = join(paths.root, 'src', 'cli.ts');
const NS = 'e2e-audit-rollout';
const NODE = 'ar-n1';
const MD = 'ar-md';
const OPERATION = `rollout of MachineDeployment ${NS}/${MD}`;

function audit(): Promise<CommandResult> {
  return run(NODE_BIN, [CLI, 'audit', '--kubeconfig', paths.kubeconfig, '-o', 'json']);
}

async function report(): Promise<AuditReport> {
  const result = await audit();
  expect([0, 1], result.stderr).toContain(result.code);
  return JSON.parse(result.stdout) as AuditReport;
}

describe('audit: a MachineDeployment rollout over a node holding a local PV', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createPodOnLocalVolume({ pod: 'ar-db-0', node: NODE, namespace: NS, pv: 'ar-local-pv', claim: 'ar-data' });
    await apply(
      {
        apiVersion: 'cluster.x-k8s.io/v1beta1',
        kind: 'MachineDeployment',
        metadata: { name: MD, namespace: NS },
        spec: {
          clusterName: 'c1',
          replicas: 1,
          selector: { matchLabels: { md: MD } },
          template: {
            metadata: { labels: { md: MD } },
            spec: {
              clusterName: 'c1',
              version: 'v1.30.1',
              bootstrap: { configRef: { apiVersion: 'bootstrap.cluster.x-k8s.io/v1beta1', kind: 'KubeadmConfigTemplate', name: MD } },
              infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'DockerMachineTemplate', name: MD },
            },
          },
        },
      },
      {
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Machine',
        metadata: { name: `${MD}-m1`, namespace: NS, labels: { 'cluster.x-k8s.io/set-name': `${MD}-x`, 'cluster.x-k8s.io/deployment-name': MD } },
        spec: { clusterName: 'c1' },
      },
    );
    await patchStatus('machines.cluster.x-k8s.io', `${MD}-m1`, { nodeRef: { name: NODE } }, NS);
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(
      ['machinedeployments.cluster.x-k8s.io', MD, '-n', NS],
      ['machines.cluster.x-k8s.io', `${MD}-m1`, '-n', NS],
      ['pod', 'ar-db-0', '-n', NS, '--grace-period=0', '--force'],
      ['pvc', 'ar-data', '-n', NS],
      ['pv', 'ar-local-pv'],
      ['node', NODE],
    );
  });

  it('lists the PV under the rollout the webhook refuses, with the MachineDeployment as override', async () => {
    const bump = () => kubectl(['patch', 'md', MD, '-n', NS, '--type=merge', '--dry-run=server', '-p', '{"spec":{"template":{"spec":{"version":"v1.31.0"}}}}']);
    const refused = await eventually(bump, (r) => r.stderr.includes('ar-local-pv'));
    expect(refused.code).not.toBe(0);
    const listed = (await report()).findings.filter((finding) => finding.operation === OPERATION);
    expect(listed.map((finding) => finding.object.name)).toContain('ar-local-pv');
    expect(listed.every((finding) => finding.override.includes('machinedeployments.cluster.x-k8s.io'))).toBe(true);
  });

  it("the node's skip does not accept it under the rollout; the MachineDeployment's own skip does", async () => {
    await must(kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-reason=E2E-AR', 'volume-guard.io/skip-by=admin']), 'node skip');
    let listed = (await report()).findings.filter((finding) => finding.operation === OPERATION && finding.object.name === 'ar-local-pv');
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((finding) => finding.overriddenBy === undefined)).toBe(true);
    await must(
      kubectl(['annotate', 'md', MD, '-n', NS, 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-reason=E2E-AR', 'volume-guard.io/skip-by=admin']),
      'MachineDeployment skip',
    );
    listed = (await report()).findings.filter((finding) => finding.operation === OPERATION && finding.object.name === 'ar-local-pv');
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((finding) => finding.overriddenBy !== undefined)).toBe(true);
  });
});

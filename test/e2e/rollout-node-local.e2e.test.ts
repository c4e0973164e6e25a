// A MachineDeployment rollout replaces its Machines' nodes with their disks, through the real API server and kubectl:
// with a local PV bound on the node of one Machine, bumping that MachineDeployment's template is refused up front,
// naming the PV (before: admitted, then stalled at the old MachineSet's scale-down); another MachineDeployment whose
// node keeps nothing rolls.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, createBoundLocalVolume, createNode, deleteObjects, ensureNamespace, eventually, patchStatus } from '../harness/scenario.ts';

const NS = 'e2e-rollout-local';

async function machineDeployment(md: string, node: string): Promise<void> {
  await apply(
    {
      apiVersion: 'cluster.x-k8s.io/v1beta1',
      kind: 'MachineDeployment',
      metadata: { name: md, namespace: NS },
      spec: {
        clusterName: 'c1',
        replicas: 1,
        selector: { matchLabels: { md } },
        template: {
          metadata: { labels: { md } },
          spec: {
            clusterName: 'c1',
            version: 'v1.30.1',
            bootstrap: { configRef: { apiVersion: 'bootstrap.cluster.x-k8s.io/v1beta1', kind: 'KubeadmConfigTemplate', name: md } },
            infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'DockerMachineTemplate', name: md },
          },
        },
      },
    },
    {
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'Machine',
      metadata: { name: `${md}-m1`, namespace: NS, labels: { 'cluster.x-k8s.io/set-name': `${md}-x`, 'cluster.x-k8s.io/deployment-name': md } },
      spec: { clusterName: 'c1' },
    },
  );
  await patchStatus('machines.cluster.x-k8s.io', `${md}-m1`, { nodeRef: { name: node } }, NS);
}

const bump = (md: string) =>
  kubectl(['patch', 'md', md, '-n', NS, '--type=merge', '--dry-run=server', '-p', '{"spec":{"template":{"spec":{"version":"v1.31.0"}}}}']);

describe('a MachineDeployment rollout replacing a node that keeps a local PV', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode('rl-w1');
    await createNode('rl-w2');
    await createBoundLocalVolume({ pv: 'rl-local-pv', node: 'rl-w1', namespace: NS, claim: 'db-data' });
    await machineDeployment('rl-md-1', 'rl-w1');
    await machineDeployment('rl-md-2', 'rl-w2');
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(
      ['machinedeployments.cluster.x-k8s.io', '--all', '-n', NS],
      ['machines.cluster.x-k8s.io', '--all', '-n', NS],
      ['pvc', 'db-data', '-n', NS, '--wait=false'],
      ['pv', 'rl-local-pv', '--wait=false'],
      ['node', 'rl-w1', 'rl-w2'],
    );
  });

  it('is refused up front, naming the PV; a rollout of a node keeping nothing passes', async () => {
    const refused = await eventually(() => bump('rl-md-1'), (r) => r.stderr.includes('rl-local-pv'));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('admission webhook "upgrade.volume-guard.io" denied the request');
    expect(refused.stderr).toContain('upgrading node rl-w1');
    expect(refused.stderr).toContain('[node-local-volume]');
    expect(refused.stderr).toContain(`local PV keeps the data of claim ${NS}/db-data on node rl-w1 only`);
    const passed = await bump('rl-md-2');
    expect(passed.stderr).not.toContain('denied');
    expect(passed.code).toBe(0);
  });
});

// A system-upgrade-controller Plan upgrades the nodes its spec.nodeSelector selects, and only those: through the
// real API server and kubectl, a "server" Plan for the control-plane node passes while a single-replica Longhorn
// volume lives on a worker, and the "agent" Plan selecting that worker is refused for it, saying which nodes it
// upgrades. A Plan whose selector matches no node upgrades none and passes. A MachineDeployment's rollout is
// judged on the nodes of its Machines.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, tempFile } from '../harness/cluster.ts';
import { apply, createLonghornNode, createLonghornVolume, createNode, deleteObjects, ensureNamespace, eventually, LONGHORN_NS, must, patchStatus, setNodeReady } from '../harness/scenario.ts';

const NS = 'e2e-upgrade-scope';
const ROLE = 'e2e-upgrade-scope/role';

async function planDryRun(name: string, nodeSelector: Record<string, unknown>, annotations: Record<string, string> = {}) {
  const plan = {
    apiVersion: 'upgrade.cattle.io/v1',
    kind: 'Plan',
    metadata: { name, namespace: NS, annotations },
    spec: { version: 'v1.31.4+k3s1', concurrency: 1, serviceAccountName: 'system-upgrade', nodeSelector, upgrade: { image: 'rancher/k3s-upgrade' } },
  };
  const file = await tempFile(`us-plan-${name}-${process.pid}.json`, JSON.stringify(plan));
  return kubectl(['create', '-f', file, '--dry-run=server']);
}

describe('a Plan is judged on the nodes it selects', () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await ensureNamespace(NS);
    await createNode('us-cp', { [ROLE]: 'server' });
    await createNode('us-w1', { [ROLE]: 'agent' });
    for (const node of ['us-cp', 'us-w1']) {
      await setNodeReady(node, 'True');
      await createLonghornNode(node);
    }
    await createLonghornVolume({ name: 'us-single', numberOfReplicas: 1, replicas: [{ node: 'us-w1' }], claim: { namespace: NS, name: 'db-data' } });
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(
      ['machinedeployments.cluster.x-k8s.io', '--all', '-n', NS],
      ['machines.cluster.x-k8s.io', '--all', '-n', NS],
      ['replicas.longhorn.io', '-l', 'longhornvolume=us-single', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 'us-single', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', 'us-cp', 'us-w1', '-n', LONGHORN_NS],
      ['node', 'us-cp', 'us-w1'],
    );
  });

  it('the agent plan (us-w1) is refused for the volume there; the server plan (us-cp) passes', async () => {
    const agent = await eventually(() => planDryRun('agent', { matchLabels: { [ROLE]: 'agent' } }), (r) => r.stderr.includes('us-single'));
    expect(agent.code).not.toBe(0);
    expect(agent.stderr).toContain('admission webhook "upgrade.volume-guard.io" denied the request');
    expect(agent.stderr).toContain('upgrading node us-w1');
    expect(agent.stderr).toContain('[single-replica]');
    const server = await planDryRun('server', { matchExpressions: [{ key: ROLE, operator: 'In', values: ['server'] }] });
    expect(server.stderr).not.toContain('denied');
    expect(server.code).toBe(0);
  });

  it('skips a node labelled plan.upgrade.cattle.io/<plan>=disabled, as system-upgrade-controller does', async () => {
    await eventually(() => planDryRun('agent', { matchLabels: { [ROLE]: 'agent' } }), (r) => r.stderr.includes('us-single'));
    await must(kubectl(['label', 'node', 'us-w1', 'plan.upgrade.cattle.io/agent=disabled']), 'disable');
    try {
      const skipped = await eventually(() => planDryRun('agent', { matchLabels: { [ROLE]: 'agent' } }), (r) => r.code === 0);
      expect(skipped.stderr).not.toContain('denied');
      expect(skipped.code).toBe(0);
    } finally {
      await must(kubectl(['label', 'node', 'us-w1', 'plan.upgrade.cattle.io/agent-']), 'enable');
    }
  });

  it('a Plan applied again with the same version skips the nodes already labelled with its hash', async () => {
    await eventually(() => planDryRun('agent', { matchLabels: { [ROLE]: 'agent' } }), (r) => r.stderr.includes('us-single'));
    // What system-upgrade-controller labels a node it upgraded with (SHA-224 of the version, + made -, and the
    // service account), left on the node when the Plan is deleted.
    const hash = createHash('sha224').update('v1.31.4-k3s1').update('system-upgrade').digest('hex');
    await must(kubectl(['label', 'node', 'us-w1', `plan.upgrade.cattle.io/agent=${hash}`]), 'upgraded mark');
    try {
      const again = await eventually(() => planDryRun('agent', { matchLabels: { [ROLE]: 'agent' } }), (r) => r.code === 0);
      expect(again.stderr).not.toContain('denied');
      // A new version is upgraded over that mark.
      const plan = { apiVersion: 'upgrade.cattle.io/v1', kind: 'Plan', metadata: { name: 'agent', namespace: NS }, spec: { version: 'v1.32.0+k3s1', concurrency: 1, serviceAccountName: 'system-upgrade', nodeSelector: { matchLabels: { [ROLE]: 'agent' } }, upgrade: { image: 'rancher/k3s-upgrade' } } };
      const file = await tempFile(`us-plan-agent-new-${process.pid}.json`, JSON.stringify(plan));
      const newer = await kubectl(['create', '-f', file, '--dry-run=server']);
      expect(newer.code).not.toBe(0);
      expect(newer.stderr).toContain('us-single');
    } finally {
      await must(kubectl(['label', 'node', 'us-w1', 'plan.upgrade.cattle.io/agent-']), 'unmark');
    }
  });

  it("a faulted volume's failed replica that held data ties it to the upgraded node (volume-health), single-replica waived", async () => {
    await createLonghornVolume({ name: 'us-faulted', numberOfReplicas: 2, state: 'detached', robustness: 'faulted', replicas: [{ node: 'us-cp' }] });
    // Healthy once, failed since: all a salvage has to read.
    await must(
      kubectl(['patch', 'replicas.longhorn.io', 'us-faulted-r-0', '-n', LONGHORN_NS, '--type=merge', '-p', JSON.stringify({ spec: { failedAt: '2026-01-02T00:00:00Z' } })]),
      'fail replica',
    );
    try {
      const skip = { 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-reason': 'e2e', 'volume-guard.io/skip-by': 'admin' };
      const server = await eventually(() => planDryRun('server', { matchLabels: { [ROLE]: 'server' } }, skip), (r) => r.stderr.includes('us-faulted'));
      expect(server.code).not.toBe(0);
      expect(server.stderr).toContain('upgrading node us-cp');
      expect(server.stderr).toContain('[volume-health]');
      // The agent plan upgrades us-w1 only: none of us-faulted's data is there.
      const agent = await planDryRun('agent', { matchLabels: { [ROLE]: 'agent' } }, skip);
      expect(agent.stderr).not.toContain('us-faulted');
      expect(agent.code).toBe(0);
    } finally {
      await deleteObjects(['replicas.longhorn.io', '-l', 'longhornvolume=us-faulted', '-n', LONGHORN_NS], ['volumes.longhorn.io', 'us-faulted', '-n', LONGHORN_NS]);
    }
  });

  it('a selector matching no node upgrades none and passes', async () => {
    const none = await planDryRun('gpu', { matchLabels: { [ROLE]: 'gpu' } });
    expect(none.stderr).not.toContain('denied');
    expect(none.code).toBe(0);
  });

  it('a Plan without spec.nodeSelector selects no node (LabelSelectorAsSelector(nil)) and passes; `{}` selects them all', async () => {
    const plan = { apiVersion: 'upgrade.cattle.io/v1', kind: 'Plan', metadata: { name: 'unselected', namespace: NS }, spec: { version: 'v1.31.4+k3s1', concurrency: 1, serviceAccountName: 'system-upgrade', upgrade: { image: 'rancher/k3s-upgrade' } } };
    const file = await tempFile(`us-plan-unselected-${process.pid}.json`, JSON.stringify(plan));
    const unselected = await kubectl(['create', '-f', file, '--dry-run=server']);
    expect(unselected.stderr).not.toContain('denied');
    expect(unselected.code).toBe(0);
    const all = await planDryRun('everyone', {});
    expect(all.code).not.toBe(0);
    expect(all.stderr).toContain('us-single');
  });

  it('a Plan reaching only other nodes passes while the single copy waits on a node that is down', async () => {
    await setNodeReady('us-w1', 'Unknown');
    try {
      // us-w1's volume has no copy on a node that is up, but its data waits on us-w1's disk whatever us-cp's upgrade does.
      const server = await eventually(
        () => planDryRun('server-while-w1-down', { matchLabels: { [ROLE]: 'server' } }),
        (r) => r.code === 0,
      );
      expect(server.stderr).not.toContain('denied');
      expect(server.code).toBe(0);
      const agent = await planDryRun('agent-while-w1-down', { matchLabels: { [ROLE]: 'agent' } });
      expect(agent.code).not.toBe(0);
      expect(agent.stderr).toContain('us-single');
    } finally {
      await setNodeReady('us-w1', 'True');
    }
  });

  it("a MachineDeployment rollout is judged on its Machines' nodes", async () => {
    for (const [md, node] of [['us-md-cp', 'us-cp'], ['us-md-w', 'us-w1']] as const) {
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
    const refused = await eventually(() => bump('us-md-w'), (r) => r.stderr.includes('upgrading node us-w1'));
    expect(refused.stderr).toContain('us-single');
    const passed = await eventually(() => bump('us-md-cp'), (r) => r.code === 0);
    expect(passed.stderr).not.toContain('denied');
  });
});

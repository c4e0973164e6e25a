// What the controllers do with a write, through the real API server and kubectl: a paused MachineDeployment
// rolls nothing, so its template change passes, and its resume is refused while its status counts Machines not up to
// date (Cluster API's sync only scales a paused one); a MachineDeployment being deleted rolls nothing; a
// system-upgrade-controller Plan with spec.version never resolves its channel, hashes the version munged and only
// the secrets not marked ignoreUpdates, creates no job for one being deleted, and one without a positive
// concurrency starts no node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, tempFile } from '../harness/cluster.ts';
import { apply, createLonghornNode, createLonghornVolume, createNode, deleteObjects, ensureNamespace, eventually, LONGHORN_NS, must, patchStatus, setNodeReady } from '../harness/scenario.ts';

const NS = 'e2e-upgrade-controllers';
const NODE = 'uc-w1';
const DENIED = 'admission webhook "upgrade.volume-guard.io" denied the request';

function machineDeployment(name: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'cluster.x-k8s.io/v1beta1',
    kind: 'MachineDeployment',
    metadata: { name, namespace: NS },
    spec: {
      clusterName: 'c1',
      replicas: 1,
      selector: { matchLabels: { md: name } },
      template: {
        metadata: { labels: { md: name } },
        spec: {
          clusterName: 'c1',
          version: 'v1.30.1',
          bootstrap: { configRef: { apiVersion: 'bootstrap.cluster.x-k8s.io/v1beta1', kind: 'KubeadmConfigTemplate', name } },
          infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'DockerMachineTemplate', name },
        },
      },
      ...extra,
    },
  };
}

/** A MachineDeployment with one Machine on uc-w1, its status as Cluster API reports it. */
async function createMachineDeployment(name: string, extra: Record<string, unknown> = {}) {
  await apply(machineDeployment(name, extra), {
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'Machine',
    metadata: { name: `${name}-m1`, namespace: NS, labels: { 'cluster.x-k8s.io/set-name': `${name}-x`, 'cluster.x-k8s.io/deployment-name': name } },
    spec: { clusterName: 'c1' },
  });
  await patchStatus('machines.cluster.x-k8s.io', `${name}-m1`, { nodeRef: { name: NODE } }, NS);
  await patchStatus('machinedeployments.cluster.x-k8s.io', name, { replicas: 1, updatedReplicas: 1 }, NS);
}

const patchMd = (name: string, patch: unknown, dryRun = true) =>
  kubectl(['patch', 'md', name, '-n', NS, '--type=merge', ...(dryRun ? ['--dry-run=server'] : []), '-p', JSON.stringify(patch)]);
const NEW_VERSION = { spec: { template: { spec: { version: 'v1.31.0' } } } };

const POOL = { 'e2e-upgrade-controllers/pool': 'w' };

function plan(name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: 'upgrade.cattle.io/v1',
    kind: 'Plan',
    metadata: { name, namespace: NS },
    spec: { serviceAccountName: 'system-upgrade', nodeSelector: { matchLabels: POOL }, upgrade: { image: 'rancher/k3s-upgrade' }, ...spec },
  };
}

async function createPlanDryRun(spec: Record<string, unknown>) {
  const file = await tempFile(`uc-plan-${process.pid}.json`, JSON.stringify(plan('uc-new', spec)));
  return kubectl(['create', '-f', file, '--dry-run=server']);
}

const patchPlan = (spec: Record<string, unknown>) =>
  kubectl(['patch', 'plan.upgrade.cattle.io', 'uc-pinned', '-n', NS, '--type=merge', '--dry-run=server', '-p', JSON.stringify({ spec })]);

describe('upgrade controllers: what really rolls', () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await ensureNamespace(NS);
    await createNode(NODE, POOL);
    await setNodeReady(NODE, 'True');
    await createLonghornNode(NODE);
    // Created before the volume exists: nothing to refuse yet.
    await apply(plan('uc-pinned', { version: 'v1.31.4+k3s1', channel: 'https://update.k3s.io/v1-release/channels/stable', concurrency: 1 }));
    await createLonghornVolume({ name: 'uc-single', numberOfReplicas: 1, replicas: [{ node: NODE }], claim: { namespace: NS, name: 'db-data' } });
  }, 120_000);

  afterAll(async () => {
    for (const md of ['uc-paused', 'uc-deleting']) {
      await kubectl(['patch', 'md', md, '-n', NS, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    }
    await deleteObjects(
      ['machinedeployments.cluster.x-k8s.io', '--all', '-n', NS],
      ['machines.cluster.x-k8s.io', '--all', '-n', NS],
      ['plans.upgrade.cattle.io', '--all', '-n', NS],
      ['replicas.longhorn.io', '-l', 'longhornvolume=uc-single', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 'uc-single', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', NODE, '-n', LONGHORN_NS],
      ['node', NODE],
    );
  });

  it('a paused MachineDeployment takes a template change; resuming it with Machines not up to date is refused', async () => {
    await createMachineDeployment('uc-paused', { paused: true });
    // Unpaused, the same change is refused (the model has caught up once it is).
    await createMachineDeployment('uc-running');
    const running = await eventually(() => patchMd('uc-running', NEW_VERSION), (r) => r.stderr.includes('uc-single'));
    expect(running.stderr).toContain(DENIED);

    const paused = await patchMd('uc-paused', NEW_VERSION, false);
    expect(paused.stderr).not.toContain('denied');
    expect(paused.code).toBe(0);
    // Cluster API's sync finds no MachineSet for the new template: none of its Machines is up to date.
    await patchStatus('machinedeployments.cluster.x-k8s.io', 'uc-paused', { replicas: 1, updatedReplicas: 0 }, NS);
    const resume = await patchMd('uc-paused', { spec: { paused: false } });
    expect(resume.code).not.toBe(0);
    expect(resume.stderr).toContain(DENIED);
    expect(resume.stderr).toContain('spec.paused no longer true');
    expect(resume.stderr).toContain('upgrading node uc-w1');
    expect(resume.stderr).toContain('uc-single');
    // All up to date, as the controller reports once it has reconciled the latest spec (observedGeneration): resuming
    // rolls nothing.
    const generation = Number((await must(kubectl(['get', 'md', 'uc-paused', '-n', NS, '-o', 'jsonpath={.metadata.generation}']), 'generation')).stdout);
    await patchStatus('machinedeployments.cluster.x-k8s.io', 'uc-paused', { replicas: 1, updatedReplicas: 1, observedGeneration: generation }, NS);
    await must(patchMd('uc-paused', { spec: { paused: false } }), 'resume with every Machine up to date');
  });

  it('a MachineDeployment being deleted takes a template change', async () => {
    await createMachineDeployment('uc-deleting');
    await must(kubectl(['patch', 'md', 'uc-deleting', '-n', NS, '--type=merge', '-p', '{"metadata":{"finalizers":["machinedeployment.cluster.x-k8s.io"]}}']), 'finalizer');
    await eventually(() => patchMd('uc-deleting', NEW_VERSION), (r) => r.stderr.includes('uc-single'));
    // Its DELETE removes its Machine and the node's only copy with it: let through by the node's skip, then taken off.
    const skip = ['volume-guard.io/skip=*', 'volume-guard.io/skip-reason=retiring uc-deleting', 'volume-guard.io/skip-by=admin'];
    await must(kubectl(['annotate', 'node', NODE, '--overwrite', ...skip]), 'skip the node');
    await eventually(() => kubectl(['delete', 'md', 'uc-deleting', '-n', NS, '--wait=false']), (r) => r.code === 0);
    await must(kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip-', 'volume-guard.io/skip-reason-', 'volume-guard.io/skip-by-']), 'unskip the node');
    const changed = await patchMd('uc-deleting', NEW_VERSION);
    expect(changed.stderr).not.toContain('denied');
    expect(changed.code).toBe(0);
  });

  it('a Plan: a channel change under spec.version, and a creation without concurrency, pass', async () => {
    const version = await eventually(() => patchPlan({ version: 'v1.32.0+k3s1' }), (r) => r.stderr.includes('uc-single'));
    expect(version.stderr).toContain(DENIED);
    expect(version.stderr).toContain('spec.version changed');
    const channel = await patchPlan({ channel: 'https://update.k3s.io/v1-release/channels/latest' });
    expect(channel.stderr).not.toContain('denied');
    expect(channel.code).toBe(0);
    // The plan hash takes the version munged (+ as -) and the contents of the secrets not marked ignoreUpdates.
    await must(patchPlan({ version: 'v1.31.4-k3s1' }), 'the same version munged');
    await must(patchPlan({ secrets: [{ name: 'registry-ca', path: '/run/ca', ignoreUpdates: true }] }), 'an ignored secret');
    // Without the version the channel is resolved: a new channel re-runs the plan.
    const unpinned = await patchPlan({ version: null, channel: 'https://update.k3s.io/v1-release/channels/latest' });
    expect(unpinned.stderr).toContain(DENIED);

    // A plan being deleted gets no job: raising its concurrency passes.
    await apply({ ...plan('uc-gone', { version: 'v1.31.4+k3s1', concurrency: 0 }), metadata: { name: 'uc-gone', namespace: NS, finalizers: ['e2e.volume-guard.io/hold'] } });
    const raise = () => kubectl(['patch', 'plan.upgrade.cattle.io', 'uc-gone', '-n', NS, '--type=merge', '--dry-run=server', '-p', '{"spec":{"concurrency":2}}']);
    expect((await raise()).stderr).toContain(DENIED);
    await must(kubectl(['delete', 'plan.upgrade.cattle.io', 'uc-gone', '-n', NS, '--wait=false']), 'delete plan');
    await must(raise(), 'concurrency of a plan being deleted');
    await must(kubectl(['patch', 'plan.upgrade.cattle.io', 'uc-gone', '-n', NS, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']), 'release plan');

    const refused = await createPlanDryRun({ version: 'v1.31.4+k3s1', concurrency: 1 });
    expect(refused.stderr).toContain(DENIED);
    const idle = await createPlanDryRun({ version: 'v1.31.4+k3s1' });
    expect(idle.stderr).not.toContain('denied');
    expect(idle.code).toBe(0);
  });
});

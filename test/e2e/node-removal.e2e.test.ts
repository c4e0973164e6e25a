// Removing a node for good against emptying it for a while, through the real API server and the real kubectl: a bare
// pod writing to a hostPath on the node (no controller recreates it anywhere: it was never judged at a cordon) loses
// that data only when the node itself goes, with its disks. `kubectl delete node` and the cluster autoscaler's drain
// taint are refused, naming the pod; a cordon of the same node passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, tempFile } from '../harness/cluster.ts';
import { apply, createNode, deleteObjects, ensureNamespace, eventually, must, patchStatus } from '../harness/scenario.ts';

const NS = 'e2e-node-removal';
const NODE = 'nr-node';
const POD = 'nr-scratch';

describe('a node removed for good takes the hostPath data of a bare pod with it', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(NODE);
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: POD, namespace: NS },
      spec: {
        nodeName: NODE,
        automountServiceAccountToken: false,
        containers: [{ name: 'app', image: 'registry.invalid/app:1', volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] }],
        volumes: [{ name: 'scratch', hostPath: { path: '/data/nr-scratch', type: 'DirectoryOrCreate' } }],
      },
    });
    await patchStatus('pod', POD, { phase: 'Running' }, NS);
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(['pod', POD, '-n', NS, '--grace-period=0', '--force'], ['node', NODE]);
  });

  it('kubectl delete node is refused, naming the pod and saying the node goes with its disks', async () => {
    const refused = await eventually(() => kubectl(['delete', 'node', NODE, '--dry-run=server']), (r) => r.code !== 0);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('denied the request');
    expect(refused.stderr).toContain('[node-local-volume]');
    expect(refused.stderr).toContain(`${NS}/${POD}`);
    expect(refused.stderr).toContain('The node is removed, not only emptied');
  });

  it("the cluster autoscaler's drain taint is refused the same; a cordon of the node passes", async () => {
    const tainted = await kubectl(['taint', 'node', NODE, 'ToBeDeletedByClusterAutoscaler=1764800000:NoSchedule', '--dry-run=server']);
    expect(tainted.code).not.toBe(0);
    expect(tainted.stderr).toContain(`${NS}/${POD}`);
    const cordoned = await kubectl(['cordon', NODE, '--dry-run=server']);
    expect(cordoned.code, cordoned.stderr).toBe(0);
    expect(cordoned.stderr).not.toContain('denied');
  });
});

// Cluster API's Machine deletion cordons the node and evicts its pods (its drain), then deletes the infrastructure
// machine and the Node: the evictions of that drain are steps of a removal, as under an autoscaler's drain taint. The
// Machine's DELETE passed (nothing at risk then); a bare pod writing to a hostPath was started on the node afterwards.
describe("evictions during a Cluster API Machine's deletion judge the node's removal", () => {
  const MNS = 'e2e-node-removal-machine';
  const MNODE = 'nrm-node';
  const MACHINE = 'nrm-machine';
  const machinePath = ['machines.cluster.x-k8s.io', MACHINE, '-n', MNS];

  beforeAll(async () => {
    await ensureNamespace(MNS);
    await createNode(MNODE);
    await apply({
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'Machine',
      metadata: { name: MACHINE, namespace: MNS, finalizers: ['machine.cluster.x-k8s.io'] },
      spec: { clusterName: 'c1' },
    });
    await patchStatus('machines.cluster.x-k8s.io', MACHINE, { nodeRef: { name: MNODE } }, MNS);
    // Held by its finalizer, as the Machine controller holds it while it drains the node.
    const deleted = await eventually(() => kubectl(['delete', ...machinePath, '--wait=false']), (r) => r.code === 0);
    expect(deleted.code, deleted.stderr).toBe(0);
    await must(kubectl(['cordon', MNODE]), 'cordon (the Machine controller cordons first)');
    for (const [name, volumes, mounts] of [
      ['nrm-scratch', [{ name: 'scratch', hostPath: { path: '/data/nrm-scratch', type: 'DirectoryOrCreate' } }], [{ name: 'scratch', mountPath: '/scratch' }]],
      ['nrm-web', [], []],
    ] as const) {
      await apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: MNS },
        spec: { nodeName: MNODE, automountServiceAccountToken: false, containers: [{ name: 'app', image: 'registry.invalid/app:1', volumeMounts: mounts }], volumes },
      });
      await patchStatus('pod', name, { phase: 'Running' }, MNS);
    }
  }, 120_000);

  afterAll(async () => {
    await kubectl(['patch', ...machinePath, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await deleteObjects(['pod', '--all', '-n', MNS, '--grace-period=0', '--force'], ['node', MNODE]);
  });

  it("refuses the drain's evictions, naming the bare pod whose hostPath data goes with the node", async () => {
    const evict = async (pod: string) => {
      const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: MNS }, deleteOptions: { dryRun: ['All'] } };
      const file = await tempFile(`nrm-evict-${pod}-${process.pid}.json`, JSON.stringify(eviction));
      return kubectl(['create', '--raw', `/api/v1/namespaces/${MNS}/pods/${pod}/eviction`, '-f', file]);
    };
    const refused = await eventually(() => evict('nrm-web'), (r) => r.code !== 0);
    expect(refused.stderr).toContain('admission webhook "pod-eviction.volume-guard.io" denied the request');
    expect(refused.stderr).toContain('[node-local-volume]');
    expect(refused.stderr).toContain(`${MNS}/nrm-scratch`);
    expect(refused.stderr).toContain('goes with its disks');
    expect((await evict('nrm-scratch')).code).not.toBe(0);
    // Once the Machine is gone (its finalizer off) the node is only cordoned: a bare pod comes back to nothing, but
    // nothing removes its data either, and the eviction passes.
    await must(kubectl(['patch', ...machinePath, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']), 'release the Machine');
    const passed = await eventually(() => evict('nrm-web'), (r) => r.code === 0);
    expect(passed.code, passed.stderr).toBe(0);
  });
});

// `kubectl delete machinedeployment` (or machineset) removes every Machine it holds: Cluster API's finalizers delete
// its MachineSets and Machines whatever the propagation policy, and the deletion cannot be taken back. Through the
// real API server and kubectl: the DELETE is refused naming the Machine whose node keeps a local PV in use (also with
// --cascade=orphan), passes once that node carries its skip; clusterctl move's DELETE (annotated delete-for-move, no
// finalizer, its Cluster paused) passes without it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, createNode, createPodOnLocalVolume, deleteObjects, ensureNamespace, eventually, must, patchStatus, setNodeReady } from '../harness/scenario.ts';

const NS = 'e2e-machine-owner-delete';
const DATA_NODE = 'mod-node-data';
const EMPTY_NODE = 'mod-node-empty';
const MACHINES = 'machines.cluster.x-k8s.io';
const DEPLOYMENTS = 'machinedeployments.cluster.x-k8s.io';
const SETS = 'machinesets.cluster.x-k8s.io';
const CLUSTERS = 'clusters.cluster.x-k8s.io';
const OWNED = { 'cluster.x-k8s.io/cluster-name': 'c1', 'cluster.x-k8s.io/deployment-name': 'md-0', 'cluster.x-k8s.io/set-name': 'md-0-a' };

const dryRun = (resource: string, name: string, ...flags: string[]) => kubectl(['delete', resource, name, '-n', NS, '--dry-run=server', ...flags]);
const flat = (text: string) => text.replace(/\s+/g, ' ');

describe('the DELETE of a MachineDeployment or MachineSet', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    for (const node of [DATA_NODE, EMPTY_NODE]) {
      await createNode(node);
      await setNodeReady(node, 'True');
    }
    await createPodOnLocalVolume({ pod: 'ledger-0', node: DATA_NODE, namespace: NS, pv: 'mod-pv', claim: 'ledger' });
    await apply(
      { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster', metadata: { name: 'c1', namespace: NS }, spec: {} },
      {
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'MachineDeployment',
        metadata: { name: 'md-0', namespace: NS, labels: { 'cluster.x-k8s.io/cluster-name': 'c1' } },
        spec: { clusterName: 'c1', replicas: 2, template: { spec: { clusterName: 'c1', version: 'v1.36.3' } } },
      },
      { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'MachineSet', metadata: { name: 'md-0-a', namespace: NS, labels: OWNED }, spec: { clusterName: 'c1', replicas: 2 } },
      { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Machine', metadata: { name: 'md-0-a-1', namespace: NS, labels: OWNED }, spec: { clusterName: 'c1' } },
      { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Machine', metadata: { name: 'md-0-a-2', namespace: NS, labels: OWNED }, spec: { clusterName: 'c1' } },
    );
    await patchStatus(MACHINES, 'md-0-a-1', { nodeRef: { name: DATA_NODE } }, NS);
    await patchStatus(MACHINES, 'md-0-a-2', { nodeRef: { name: EMPTY_NODE } }, NS);
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(
      [MACHINES, 'md-0-a-1', 'md-0-a-2', '-n', NS],
      [SETS, 'md-0-a', '-n', NS],
      [DEPLOYMENTS, 'md-0', '-n', NS],
      [CLUSTERS, 'c1', '-n', NS],
      ['pod', 'ledger-0', '-n', NS, '--force', '--grace-period=0'],
      ['pvc', 'ledger', '-n', NS],
      ['pv', 'mod-pv'],
      ['node', DATA_NODE, EMPTY_NODE],
    );
  });

  it('is refused naming the Machine whose node keeps data (orphaning too), and passes with that node skipped', async () => {
    for (const [resource, name, kind] of [
      [DEPLOYMENTS, 'md-0', 'MachineDeployment'],
      [SETS, 'md-0-a', 'MachineSet'],
    ] as const) {
      const refused = await eventually(() => dryRun(resource, name), (r) => r.code !== 0 && r.stderr.includes('machine.volume-guard.io'));
      expect(flat(refused.stderr)).toContain(`deletion of ${kind} ${NS}/${name}, which removes Machine md-0-a-1 on node ${DATA_NODE}`);
      expect(refused.stderr).toContain('mod-pv');
      expect((await dryRun(resource, name, '--cascade=orphan')).code).not.toBe(0);
    }
    await must(
      kubectl(['annotate', 'node', DATA_NODE, '--overwrite', 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-reason=retiring the pool', 'volume-guard.io/skip-by=admin']),
      'skip the data node',
    );
    await eventually(() => dryRun(DEPLOYMENTS, 'md-0'), (r) => r.code === 0);
    await must(kubectl(['annotate', 'node', DATA_NODE, 'volume-guard.io/skip-', 'volume-guard.io/skip-reason-', 'volume-guard.io/skip-by-']), 'remove the skip');
    await eventually(() => dryRun(DEPLOYMENTS, 'md-0'), (r) => r.code !== 0);
  });

  it("passes as clusterctl move's DELETE: the Cluster paused, the object annotated delete-for-move", async () => {
    const annotate = JSON.stringify([{ op: 'add', path: '/metadata/annotations', value: { 'clusterctl.cluster.x-k8s.io/delete-for-move': '' } }]);
    await must(kubectl(['patch', DEPLOYMENTS, 'md-0', '-n', NS, '--type=json', '-p', annotate]), 'annotate the MachineDeployment delete-for-move');
    // Not paused yet: anyone's annotation, judged as before.
    await eventually(() => dryRun(DEPLOYMENTS, 'md-0'), (r) => r.code !== 0 && r.stderr.includes('machine.volume-guard.io'));
    await must(kubectl(['patch', CLUSTERS, 'c1', '-n', NS, '--type=merge', '-p', '{"spec":{"paused":true}}']), 'pause the Cluster');
    await eventually(() => dryRun(DEPLOYMENTS, 'md-0'), (r) => r.code === 0);
  });
});

// `clusterctl move` out of a self-hosted management cluster, through the real API server and kubectl, with clusterctl's
// own writes (mover.go): pause the Cluster, annotate each Machine `clusterctl.cluster.x-k8s.io/delete-for-move` (its
// JSON patch), strip its finalizers, delete it. That DELETE removes no node, so it passes although the node keeps a
// local PV in use. Short of any of the three (Cluster paused, annotation, no finalizer) it is refused as the node's
// removal, as before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, createNode, createPodOnLocalVolume, deleteObjects, ensureNamespace, eventually, must, patchStatus, setNodeReady } from '../harness/scenario.ts';

const NS = 'e2e-machine-move';
const NODE = 'mmv-node';
const MACHINES = 'machines.cluster.x-k8s.io';
const CLUSTERS = 'clusters.cluster.x-k8s.io';
const MACHINE_FINALIZER = 'machine.cluster.x-k8s.io';
const CLUSTER_FINALIZER = 'cluster.cluster.x-k8s.io';

const dryRunDelete = () => kubectl(['delete', MACHINES, 'm1', '-n', NS, '--dry-run=server']);
const flat = (text: string) => text.replace(/\s+/g, ' ');

describe('a Machine deleted by clusterctl move', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(NODE);
    await setNodeReady(NODE, 'True');
    await createPodOnLocalVolume({ pod: 'ledger-0', node: NODE, namespace: NS, pv: 'mmv-pv', claim: 'ledger' });
    await apply(
      { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster', metadata: { name: 'c1', namespace: NS, finalizers: [CLUSTER_FINALIZER] }, spec: {} },
      {
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Machine',
        metadata: { name: 'm1', namespace: NS, labels: { 'cluster.x-k8s.io/cluster-name': 'c1' }, finalizers: [MACHINE_FINALIZER] },
        spec: { clusterName: 'c1' },
      },
    );
    await patchStatus(MACHINES, 'm1', { nodeRef: { name: NODE } }, NS);
  }, 120_000);

  afterAll(async () => {
    await kubectl(['patch', MACHINES, 'm1', '-n', NS, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await kubectl(['patch', CLUSTERS, 'c1', '-n', NS, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await deleteObjects(
      [MACHINES, 'm1', '-n', NS],
      [CLUSTERS, 'c1', '-n', NS],
      ['pod', 'ledger-0', '-n', NS, '--force', '--grace-period=0'],
      ['pvc', 'ledger', '-n', NS],
      ['pv', 'mmv-pv'],
      ['node', NODE],
    );
  });

  it('is refused until the Cluster is paused and the Machine annotated and stripped of its finalizers; then passes, the node stays', async () => {
    // A plain DELETE: the node goes with its local PV in use.
    const plain = await eventually(dryRunDelete, (r) => r.code !== 0 && r.stderr.includes('machine.volume-guard.io'));
    expect(flat(plain.stderr)).toContain(`deletion of Machine ${NS}/m1 (node ${NODE})`);
    // clusterctl's writes on the Machine, with the Cluster not paused: anyone's write, judged as before.
    const annotate = JSON.stringify([{ op: 'add', path: '/metadata/annotations', value: { 'clusterctl.cluster.x-k8s.io/delete-for-move': '' } }]);
    await must(kubectl(['patch', MACHINES, 'm1', '-n', NS, '--type=json', '-p', annotate]), 'annotate the Machine delete-for-move');
    await must(kubectl(['patch', MACHINES, 'm1', '-n', NS, '--type=merge', '-p', '{"metadata":{"finalizers":[]}}']), 'strip its finalizers');
    await eventually(dryRunDelete, (r) => r.code !== 0 && flat(r.stderr).includes(`deletion of Machine ${NS}/m1 (node ${NODE})`));
    // The Cluster paused, as clusterctl does before it deletes anything: the DELETE passes.
    await must(kubectl(['patch', CLUSTERS, 'c1', '-n', NS, '--type=merge', '-p', '{"spec":{"paused":true}}']), 'pause the Cluster');
    await eventually(dryRunDelete, (r) => r.code === 0);
    await must(kubectl(['delete', MACHINES, 'm1', '-n', NS]), 'delete Machine m1 as clusterctl move does');
    expect((await kubectl(['get', MACHINES, 'm1', '-n', NS])).code).not.toBe(0);
    // Its node was not counted as going: a cordon of it is still judged on the local PV in use.
    const cordon = await kubectl(['cordon', NODE, '--dry-run=server']);
    expect(cordon.stderr).toContain('denied the request');
  });

  it('is refused while the Machine keeps a finalizer, the Cluster paused (deleted for real once resumed)', async () => {
    await apply({
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'Machine',
      metadata: {
        name: 'm1',
        namespace: NS,
        labels: { 'cluster.x-k8s.io/cluster-name': 'c1' },
        annotations: { 'clusterctl.cluster.x-k8s.io/delete-for-move': '' },
        finalizers: [MACHINE_FINALIZER],
      },
      spec: { clusterName: 'c1' },
    });
    await patchStatus(MACHINES, 'm1', { nodeRef: { name: NODE } }, NS);
    await eventually(dryRunDelete, (r) => r.code !== 0 && flat(r.stderr).includes(`deletion of Machine ${NS}/m1 (node ${NODE})`));
  });
});

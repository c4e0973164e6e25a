// A Machine being deleted whose drain is cut short afterwards: its DELETE passed (its node held nothing then), the
// drain then stalls on a refused eviction, and someone adds machine.cluster.x-k8s.io/exclude-node-draining to get past
// it. Cluster API reads the annotation at every reconcile and deletes the infrastructure machine, disks and all,
// undrained. Through the real API server and kubectl: that annotation is refused, naming the local PV; an UPDATE of
// the Machine that cuts nothing (a label) passes, and so does the annotation once the node carries an override.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, createNode, createPodOnLocalVolume, deleteObjects, ensureNamespace, eventually, must, patchStatus } from '../harness/scenario.ts';

const NS = 'e2e-machine-drain-cut';
const NODE = 'mdc-node';
const MACHINE = 'mdc-machine';
const machine = ['machines.cluster.x-k8s.io', MACHINE, '-n', NS];

describe('a Machine being deleted: cutting its drain short is judged as its removal', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(NODE);
    await apply({ apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Machine', metadata: { name: MACHINE, namespace: NS, finalizers: ['machine.cluster.x-k8s.io'] }, spec: { clusterName: 'c1' } });
    // Deleted before it names its node (nothing to judge then), held by its finalizer as the Machine controller holds it.
    await must(kubectl(['delete', ...machine, '--wait=false']), 'delete the Machine');
    await patchStatus('machines.cluster.x-k8s.io', MACHINE, { nodeRef: { name: NODE } }, NS);
    await createPodOnLocalVolume({ pod: 'db-0', node: NODE, namespace: NS, pv: 'mdc-pv', claim: 'data-db-0' });
  }, 120_000);

  afterAll(async () => {
    await kubectl(['patch', ...machine, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await deleteObjects(['pod', '--all', '-n', NS, '--grace-period=0', '--force'], ['pvc', '--all', '-n', NS], ['pv', 'mdc-pv'], ['node', NODE]);
  });

  it('refuses the exclude-node-draining annotation, naming the local PV; passes a label', async () => {
    const refused = await eventually(
      () => kubectl(['annotate', ...machine, 'machine.cluster.x-k8s.io/exclude-node-draining=', '--dry-run=server']),
      (r) => r.code !== 0,
      30_000,
    );
    expect(refused.stderr).toContain('admission webhook "machine.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(`drain cut short of Machine ${NS}/${MACHINE} (node ${NODE}), being deleted`);
    expect(refused.stderr).toContain('mdc-pv');
    const labelled = await kubectl(['label', ...machine, 'e2e=yes', '--dry-run=server']);
    expect(labelled.code, labelled.stderr).toBe(0);
  });

  it('passes it once the node carries an override', async () => {
    await must(kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip=*', 'volume-guard.io/skip-reason=disk replaced', 'volume-guard.io/skip-by=admin']), 'override');
    const allowed = await eventually(
      () => kubectl(['annotate', ...machine, 'machine.cluster.x-k8s.io/exclude-node-draining=', '--dry-run=server']),
      (r) => r.code === 0,
      30_000,
    );
    expect(allowed.code, allowed.stderr).toBe(0);
  });
});

// `kubectl scale --replicas=0` of a MachineSet or MachineDeployment sends a Scale whose `spec.replicas` is omitted
// (autoscaling/v1, omitempty): through the real API server, the webhook's matchCondition and the handler both read it
// as 0, and the removal of every Machine is refused while a node of the set holds data, naming every Machine whose
// node holds data (not only the first). A collection DELETE of the
// Machines is admitted item by item (older API servers name no item in the request): refused naming the Machine.
// A scale-down the MachineDeployment's own override passes carries to the DELETE of the Machine it named (its
// controller's next step), and to no other Machine. A scale to zero removes every Machine, whatever the order (the
// scale subresource carries none): passed by that skip, it carries to the DELETE of each of them, once the MachineSet
// is the MachineDeployment's (its controller reference) and scaled through the main resource, as its controller does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, createNode, createPodOnLocalVolume, deleteObjects, ensureNamespace, eventually, patchStatus } from '../harness/scenario.ts';

const NS = 'e2e-machine-zero';
const DATA = 'mz-data';
const DATA2 = 'mz-data2';
const CLEAN = 'mz-clean';
const SET = 'mz-ms';
const DEPLOYMENT = 'mz-md';

const machine = (name: string) => ({
  apiVersion: 'cluster.x-k8s.io/v1beta2',
  kind: 'Machine',
  metadata: { name, namespace: NS, labels: { 'cluster.x-k8s.io/set-name': SET, 'cluster.x-k8s.io/deployment-name': DEPLOYMENT, pool: 'mz' } },
  spec: { clusterName: 'c1' },
});

const denied = (stderr: string) => stderr.includes('admission webhook "machine.volume-guard.io" denied the request');

describe('Cluster API: scale to zero and collection DELETEs of Machines', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(CLEAN);
    await createPodOnLocalVolume({ pod: 'db-0', node: DATA, namespace: NS, pv: 'mz-data-pv', claim: 'data-db-0' });
    await createPodOnLocalVolume({ pod: 'db-1', node: DATA2, namespace: NS, pv: 'mz-data2-pv', claim: 'data-db-1' });
    await apply(
      machine('mz-a-clean'),
      machine('mz-b-data'),
      machine('mz-c-data2'),
      { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'MachineSet', metadata: { name: SET, namespace: NS }, spec: { clusterName: 'c1', replicas: 3 } },
      {
        apiVersion: 'cluster.x-k8s.io/v1beta1',
        kind: 'MachineDeployment',
        metadata: { name: DEPLOYMENT, namespace: NS },
        spec: {
          clusterName: 'c1',
          replicas: 3,
          selector: { matchLabels: { pool: 'mz' } },
          template: {
            metadata: { labels: { pool: 'mz' } },
            spec: {
              clusterName: 'c1',
              version: 'v1.30.1',
              bootstrap: { configRef: { apiVersion: 'bootstrap.cluster.x-k8s.io/v1beta1', kind: 'KubeadmConfigTemplate', name: 'mz' } },
              infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'DockerMachineTemplate', name: 'mz' },
            },
          },
        },
      },
    );
    await patchStatus('machines.cluster.x-k8s.io', 'mz-a-clean', { nodeRef: { name: CLEAN } }, NS);
    await patchStatus('machines.cluster.x-k8s.io', 'mz-b-data', { nodeRef: { name: DATA } }, NS);
    await patchStatus('machines.cluster.x-k8s.io', 'mz-c-data2', { nodeRef: { name: DATA2 } }, NS);
  }, 120_000);

  afterAll(async () => {
    for (const node of [DATA, DATA2, CLEAN]) {
      await kubectl(['annotate', 'node', node, '--overwrite', 'volume-guard.io/skip=*', 'volume-guard.io/skip-reason=e2e cleanup', 'volume-guard.io/skip-by=admin']);
    }
    await eventually(() => kubectl(['delete', 'machines.cluster.x-k8s.io', '--all', '-n', NS]), (r) => r.code === 0);
    await deleteObjects(
      ['machinedeployments.cluster.x-k8s.io', '--all', '-n', NS],
      ['machinesets.cluster.x-k8s.io', '--all', '-n', NS],
      ['pod', '--all', '-n', NS, '--grace-period=0', '--force'],
      ['pvc', '--all', '-n', NS],
      ['pv', 'mz-data-pv', 'mz-data2-pv'],
      ['node', DATA, DATA2, CLEAN],
    );
  });

  it.each([
    ['machinesets.cluster.x-k8s.io', SET, 'MachineSet'],
    ['machinedeployments.cluster.x-k8s.io', DEPLOYMENT, 'MachineDeployment'],
  ])('kubectl scale %s --replicas=0 is refused naming every node holding data', async (resource, name, kind) => {
    const refused = await eventually(() => kubectl(['scale', resource, name, '-n', NS, '--replicas=0', '--dry-run=server']), (r) => r.code !== 0);
    expect(denied(refused.stderr), refused.stderr).toBe(true);
    expect(refused.stderr).toContain(`scale-down of ${kind} ${NS}/${name} from 3 to 0`);
    expect(refused.stderr).toContain(`mz-b-data on node ${DATA}`);
    // The headline counts both Machines' nodes, not only the one told in full.
    expect(refused.stderr).toMatch(new RegExp(`mz-b-data on node ${DATA}: risks of data loss on 2 Machines' nodes \\(\\d+ on ${DATA}\\)\\.`));
    expect(refused.stderr).toContain('mz-data-pv');
    expect(refused.stderr).toContain('Other Machines it may remove with data at risk (1;');
    expect(refused.stderr).toContain(`mz-c-data2 on node ${DATA2} [node-local-volume]`);
    expect(refused.stderr).not.toContain('mz-a-clean');
  });

  it('a collection DELETE of the Machines is refused, naming the Machine of the node holding data', async () => {
    // kubectl delete -l deletes one by one by name; this is the API's collection DELETE.
    const refused = await kubectl(['delete', '--raw', `/apis/cluster.x-k8s.io/v1beta2/namespaces/${NS}/machines?labelSelector=pool%3Dmz&dryRun=All`]);
    expect(refused.code).not.toBe(0);
    expect(denied(refused.stderr), refused.stderr).toBe(true);
    expect(refused.stderr).toContain(`deletion of Machine ${NS}/mz-b-data (node ${DATA})`);
  });

  it("a scale-down passed by the MachineDeployment's own skip passes the DELETE of the Machine it named, no other", async () => {
    await kubectl(['annotate', 'machines.cluster.x-k8s.io', 'mz-b-data', '-n', NS, 'cluster.x-k8s.io/delete-machine=yes']);
    // Once the model has the mark, the MachineSet's own scale-down (no override of its own) names that Machine.
    const named = await eventually(
      () => kubectl(['scale', 'machinesets.cluster.x-k8s.io', SET, '-n', NS, '--replicas=2', '--dry-run=server']),
      (r) => r.stderr.includes(`such as mz-b-data on node ${DATA}`),
    );
    expect(denied(named.stderr), named.stderr).toBe(true);
    const skip = ['volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-reason=data moved off', 'volume-guard.io/skip-by=admin'];
    const md = ['machinedeployments.cluster.x-k8s.io', DEPLOYMENT, '-n', NS];
    const scaled = await kubectl(['annotate', ...md, ...skip]).then(() => kubectl(['patch', ...md, '--type=merge', '-p', '{"spec":{"replicas":2}}']));
    expect(scaled.code, scaled.stderr).toBe(0);
    const carried = await kubectl(['delete', 'machines.cluster.x-k8s.io', 'mz-b-data', '-n', NS, '--dry-run=server']);
    expect(carried.code, carried.stderr).toBe(0);
    const other = await kubectl(['delete', 'machines.cluster.x-k8s.io', 'mz-c-data2', '-n', NS, '--dry-run=server']);
    expect(denied(other.stderr), other.stderr).toBe(true);
  });

  it("a scale to zero passed by the MachineDeployment's skip passes the DELETE of every Machine of the set", async () => {
    // The MachineDeployment's skip (previous case) is stored. The MachineSet is no MachineDeployment's yet, whatever
    // its Machines' deployment-name label says: its scale-down is refused, through the main resource as through the
    // scale subresource.
    const set = ['machinesets.cluster.x-k8s.io', SET, '-n', NS];
    const toZero = ['patch', ...set, '--type=merge', '-p', '{"spec":{"replicas":0}}'];
    const standalone = await kubectl([...toZero, '--dry-run=server']);
    expect(denied(standalone.stderr), standalone.stderr).toBe(true);
    // Once the MachineDeployment controls it (the reference its controller creates its MachineSets with, or adds when
    // adopting one), the controller's own patch to zero carries the MachineDeployment's skip to its Machines.
    const uid = await kubectl(['get', 'machinedeployments.cluster.x-k8s.io', DEPLOYMENT, '-n', NS, '-o', 'jsonpath={.metadata.uid}']);
    const owner = { apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'MachineDeployment', name: DEPLOYMENT, uid: uid.stdout, controller: true, blockOwnerDeletion: true };
    const adopted = await kubectl(['patch', ...set, '--type=merge', '-p', JSON.stringify({ metadata: { ownerReferences: [owner] } })]);
    expect(adopted.code, adopted.stderr).toBe(0);
    // A Scale shows no owner: `kubectl scale` of the MachineSet is no step of the MachineDeployment's.
    const viaScale = await eventually(() => kubectl(['scale', ...set, '--replicas=0', '--dry-run=server']), (r) => r.code !== 0);
    expect(denied(viaScale.stderr), viaScale.stderr).toBe(true);
    const scaled = await eventually(() => kubectl(toZero), (r) => r.code === 0);
    expect(scaled.code, scaled.stderr).toBe(0);
    const carried = await kubectl(['delete', 'machines.cluster.x-k8s.io', 'mz-c-data2', '-n', NS, '--dry-run=server']);
    expect(carried.code, carried.stderr).toBe(0);
  });
});

// A node removed for good versus one only emptied. A Node DELETE (pod GC then force-deletes its pods), a Cluster API
// Machine DELETE or scale-down (drain, then the infrastructure machine and its disks are deleted), and an
// autoscaler's drain taint (cluster-autoscaler and Karpenter drain, then delete the instance) leave no node to come
// back to: a pod pinned to the node, or a bare pod, loses the hostPath data it writes there. A cordon, a drain or a
// dedicating taint only empties the node for a while: such a pod comes back to its data, and passes as before.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { machineValidator } from '../../../src/admission/validators/machine.ts';
import { podDeleteValidator } from '../../../src/admission/validators/pod-delete.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { collectNodeLocalVolume } from '../../../src/checks/node-local-volume.ts';
import { podNodeSelector } from '../../../src/cluster/node-affinity.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { PodRecord } from '../../../src/cluster/records.ts';
import { transformNode } from '../../../src/cluster/transforms.ts';
import { RESOURCE_SPECS, resourceLabel } from '../../../src/cluster/resources.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, evictionRequest, request } from '../../support/admission.ts';
import { hostnameAffinity, localPV, machine, node, pod, pvc } from '../../support/fixtures.ts';

const config = defaultConfig();

const bare = (fields: Partial<PodRecord> = {}): PodRecord =>
  pod({ namespace: 'default', name: 'scratch', nodeName: 'node-1', controllerKind: '', hostPaths: [{ path: '/data/scratch', writable: true }], ...fields });

/** A StatefulSet pod pinned to node-1 by its nodeSelector, writing to a hostPath there. */
const pinned = (fields: Partial<PodRecord> = {}): PodRecord =>
  pod({
    namespace: 'default',
    name: 'store-0',
    nodeName: 'node-1',
    controllerKind: 'StatefulSet',
    nodeSelector: podNodeSelector({ nodeSelector: { 'kubernetes.io/hostname': 'node-1' } }),
    hostPaths: [{ path: '/srv/store', writable: true }],
    ...fields,
  });

function cluster(pods: readonly PodRecord[], taints: unknown[] = []): ClusterModel {
  const model = new ClusterModel();
  const first = transformNode({ metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } }, spec: { taints } });
  if (first === undefined) throw new Error('node not read');
  model.upsert('node', first);
  model.upsert('node', node({ name: 'node-2', labels: { 'kubernetes.io/hostname': 'node-2' } }));
  for (const p of pods) model.upsert('pod', p);
  return model;
}

const nodeDelete = (): AdmissionRequest =>
  request({
    kind: { group: '', version: 'v1', kind: 'Node' },
    resource: { group: '', version: 'v1', resource: 'nodes' },
    operation: 'DELETE',
    name: 'node-1',
    oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } },
  });

const nodeUpdate = (spec: Record<string, unknown>): AdmissionRequest =>
  request({
    kind: { group: '', version: 'v1', kind: 'Node' },
    resource: { group: '', version: 'v1', resource: 'nodes' },
    operation: 'UPDATE',
    name: 'node-1',
    object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, spec },
    oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, spec: {} },
  });

const machineDelete = (): AdmissionRequest =>
  request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
    operation: 'DELETE',
    namespace: 'capi',
    name: 'm1',
    oldObject: { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Machine', metadata: { name: 'm1', namespace: 'capi' }, status: { nodeRef: { name: 'node-1' } } },
  });

const machineSetScaleDown = (): AdmissionRequest =>
  request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'MachineSet' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machinesets' },
    operation: 'UPDATE',
    namespace: 'capi',
    name: 'ms-0',
    object: { metadata: { name: 'ms-0' }, spec: { replicas: 1 } },
    oldObject: { metadata: { name: 'ms-0' }, spec: { replicas: 2 } },
  });

function withMachines(model: ClusterModel): ClusterModel {
  // m1 is marked for deletion: the scale-down removes node-1.
  model.upsert('machine', machine({ namespace: 'capi', name: 'm1', nodeName: 'node-1', machineSet: 'ms-0', deleteMarked: true }));
  model.upsert('machine', machine({ namespace: 'capi', name: 'm2', nodeName: 'node-2', machineSet: 'ms-0' }));
  return model;
}

const CA_TAINT = { key: 'ToBeDeletedByClusterAutoscaler', value: '1733130000', effect: 'NoSchedule' };
const KARPENTER_TAINT = { key: 'karpenter.sh/disrupted', effect: 'NoSchedule' };

describe('node-local-volume: a removed node takes the hostPath data of pods that would have come back to it', () => {
  it.each<[string, PodRecord]>([
    ['a bare pod', bare()],
    ['a pod pinned by its nodeSelector', pinned()],
  ])('%s: found when the node is removed, not when it is only emptied', (_name, writer) => {
    const model = cluster([writer]);
    expect(collectNodeLocalVolume(model, { node: 'node-1' }).findings).toEqual([]);
    const [finding, ...rest] = collectNodeLocalVolume(model, { node: 'node-1', removed: true }).findings;
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({ object: { kind: 'Pod', name: writer.name, node: 'node-1' }, tags: ['in-use', 'inline-hostPath', 'node-removed'] });
    expect(finding?.reason).toContain('node node-1 is removed and that data goes with its disks');
  });

  it('a pod pinned by a claim on a local PV of the node: the PV and the hostPath data are both found', () => {
    const model = cluster([pinned({ nodeSelector: podNodeSelector({}), claimNames: ['data'] })]);
    model.upsert('persistentVolume', localPV({ name: 'pv-1', pinnedNode: 'node-1', claimName: 'data', nodeAffinity: hostnameAffinity('node-1') }));
    model.upsert('persistentVolumeClaim', pvc({ name: 'data', volumeName: 'pv-1' }));
    const kinds = (removed: boolean) => collectNodeLocalVolume(model, { node: 'node-1', removed }).findings.map((f) => f.object.kind);
    expect(kinds(false)).toEqual(['PersistentVolume']);
    expect(kinds(true)).toEqual(['PersistentVolume', 'Pod']);
  });

  it.each<[string, Partial<PodRecord>]>([
    ['a DaemonSet pod (the node’s own agent state)', { controllerKind: 'DaemonSet' }],
    ['a static pod', { controllerKind: 'Node' }],
    ['a read-only mount', { hostPaths: [{ path: '/data/scratch', writable: false }] }],
    ['a system path', { hostPaths: [{ path: '/var/log/app', writable: true }] }],
    ['a finished pod', { phase: 'Succeeded' }],
  ])('%s: nothing found even when the node is removed', (_name, fields) => {
    expect(collectNodeLocalVolume(cluster([bare(fields)]), { node: 'node-1', removed: true }).findings).toEqual([]);
  });
});

describe('validators: removal versus emptying', () => {
  const nodes = nodeCordonValidator(config);
  const machines = machineValidator(config);

  it.each<[string, PodRecord]>([
    ['bare pod', bare()],
    ['pinned pod', pinned()],
  ])('Node DELETE with a %s writing a hostPath is refused; its cordon is not', (_name, writer) => {
    const model = cluster([writer]);
    const removal = nodes.handle(nodeDelete(), context(model));
    expect(removal.allowed).toBe(false);
    expect(removal.status?.message).toContain('[node-local-volume]');
    expect(removal.status?.message).toContain(writer.name);
    expect(removal.status?.message).toContain('node-1 is removed with its disks');
    expect(nodes.handle(nodeUpdate({ unschedulable: true }), context(model)).allowed).toBe(true);
    expect(nodes.handle(nodeUpdate({ taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }), context(model)).allowed).toBe(true);
  });

  it('a removal is worded as one; a cordon keeps its wording', () => {
    const model = cluster([bare(), pod({ namespace: 'default', name: 'cache', nodeName: 'node-1', controllerKind: 'ReplicaSet', hostPaths: [{ path: '/srv/cache', writable: true }] })]);
    const removal = nodes.handle(nodeDelete(), context(model)).status?.message ?? '';
    expect(removal).toContain('The node is removed, not only emptied: what is kept on its disks goes with it.');
    expect(removal).toContain('lost with node-1: the node is removed and its disks go');
    expect(removal).not.toContain('if it only reboots');
    const cordon = nodes.handle(nodeUpdate({ unschedulable: true }), context(model)).status?.message ?? '';
    expect(cordon).toContain('The cordon itself loses nothing');
    expect(cordon).toContain('cache');
    expect(cordon).not.toContain('scratch');
  });

  it('Node DELETE with only a DaemonSet writing a hostPath passes', () => {
    expect(nodes.handle(nodeDelete(), context(cluster([bare({ controllerKind: 'DaemonSet' })]))).allowed).toBe(true);
  });

  it.each([[CA_TAINT], [KARPENTER_TAINT]])('an autoscaler drain taint %o removes the node: refused', (taint) => {
    const model = cluster([pinned()]);
    const decision = nodes.handle(nodeUpdate({ taints: [taint] }), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('store-0');
  });

  it('Machine DELETE and a MachineSet scale-down reaching node-1 are refused', () => {
    const model = withMachines(cluster([bare()]));
    const removal = machines.handle(machineDelete(), context(model));
    expect(removal.allowed).toBe(false);
    expect(removal.status?.message).toContain('scratch');
    expect(machines.handle(machineSetScaleDown(), context(model)).allowed).toBe(false);
  });

  it('evictions on a node carrying an autoscaler drain taint judge its removal; on a cordoned node, its emptying', () => {
    const evictions = podEvictionValidator(config);
    const other = pod({ namespace: 'default', name: 'web-1', nodeName: 'node-1', controllerKind: 'ReplicaSet' });
    const leaving = cluster([pinned(), other], [CA_TAINT]);
    const evicted = evictions.handle(evictionRequest('web-1'), context(leaving));
    expect(evicted.allowed).toBe(false);
    expect(evicted.status?.message).toContain('store-0');
    const cordoned = cluster([pinned(), other]);
    cordoned.upsert('node', node({ name: 'node-1', unschedulable: true, labels: { 'kubernetes.io/hostname': 'node-1' } }));
    expect(evictions.handle(evictionRequest('web-1'), context(cordoned)).allowed).toBe(true);
  });

  it("evictions on a node whose Cluster API Machine is being deleted judge its removal (the Machine controller's drain)", () => {
    // Cluster API's Machine deletion cordons the node, evicts its pods, then deletes the infrastructure machine and
    // the Node: like an autoscaler's drain taint, nothing comes back to the hostPath data of a pinned or bare pod.
    const evictions = podEvictionValidator(config);
    const other = pod({ namespace: 'default', name: 'web-1', nodeName: 'node-1', controllerKind: 'ReplicaSet' });
    const draining = (deleting: boolean): ClusterModel => {
      const model = cluster([pinned(), bare(), other]);
      model.upsert('node', node({ name: 'node-1', unschedulable: true, labels: { 'kubernetes.io/hostname': 'node-1' } }));
      model.upsert('machine', machine({ namespace: 'capi', name: 'm1', nodeName: 'node-1', deleting }));
      return model;
    };
    const removal = evictions.handle(evictionRequest('web-1'), context(draining(true)));
    expect(removal.allowed).toBe(false);
    expect(removal.status?.message).toContain('store-0');
    expect(removal.status?.message).toContain('scratch');
    // The bare pod's own eviction, and its DELETE (kubectl drain --disable-eviction), too.
    expect(evictions.handle(evictionRequest('scratch'), context(draining(true))).allowed).toBe(false);
    const deletes = podDeleteValidator(config);
    const podDelete = (name: string, p: PodRecord): AdmissionRequest =>
      request({
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        operation: 'DELETE',
        name,
        namespace: 'default',
        oldObject: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace: 'default' },
          spec: { nodeName: 'node-1', volumes: [{ name: 'data', hostPath: { path: p.hostPaths[0]?.path } }], containers: [{ name: 'c', volumeMounts: [{ name: 'data', mountPath: '/d' }] }] },
        },
      });
    expect(deletes.handle(podDelete('scratch', bare()), context(draining(true))).allowed).toBe(false);
    // A Machine not being deleted: the node is only emptied for a while, and both pods come back to their data.
    expect(evictions.handle(evictionRequest('web-1'), context(draining(false))).allowed).toBe(true);
    expect(deletes.handle(podDelete('scratch', bare()), context(draining(false))).allowed).toBe(true);
  });

  it('reads the Machines to tell a removal: with them stale, a pod with inline data on a drained node is unknown', () => {
    // A Machine deleted while its informer lags looks like a Machine staying: the answer reads it, so the stale
    // policy answers (refused by default) instead of an allow of what the infrastructure machine's deletion takes.
    const model = cluster([bare()]);
    model.upsert('node', node({ name: 'node-1', unschedulable: true, labels: { 'kubernetes.io/hostname': 'node-1' } }));
    model.upsert('machine', machine({ namespace: 'capi', name: 'm1', nodeName: 'node-1', deleting: false }));
    const staleMachines = { synced: () => true, staleResources: () => [resourceLabel(RESOURCE_SPECS.machine)] };
    const podDelete = request({
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'DELETE',
      name: 'scratch',
      namespace: 'default',
      oldObject: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'scratch', namespace: 'default' },
        spec: { nodeName: 'node-1', volumes: [{ name: 'data', hostPath: { path: bare().hostPaths[0]?.path } }], containers: [{ name: 'c', volumeMounts: [{ name: 'data', mountPath: '/d' }] }] },
      },
    });
    const deletes = podDeleteValidator(config);
    expect(deletes.handle(podDelete, context(model)).allowed).toBe(true);
    const stale = deletes.handle(podDelete, context(model, { health: staleMachines }));
    expect(stale.allowed).toBe(false);
    expect(stale.status?.message).toContain(`stale (${resourceLabel(RESOURCE_SPECS.machine)})`);
    const evicted = podEvictionValidator(config).handle(evictionRequest('scratch'), context(model, { health: staleMachines }));
    expect(evicted.allowed).toBe(false);
    expect(evicted.status?.message).toContain('stale');
  });
});

// cloud-provider's node lifecycle controller deletes a Node only once the cloud reports its instance gone
// (ensureNodeExistsByProviderID): the disks are gone already. Refusing kept nothing and left the pods stuck.
describe('Node DELETE by the cloud node lifecycle controller', () => {
  const NODE_CONTROLLER = { username: 'system:serviceaccount:kube-system:node-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system'] };
  const deleteNode = (user = NODE_CONTROLLER): AdmissionRequest =>
    request({
      kind: { group: '', version: 'v1', kind: 'Node' },
      resource: { group: '', version: 'v1', resource: 'nodes' },
      operation: 'DELETE',
      name: 'node-1',
      userInfo: user,
      oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, spec: { providerID: 'aws:///eu-west-1a/i-0abc' } },
    });
  function withLocalPv(ready: string): ClusterModel {
    const model = new ClusterModel();
    model.upsert('node', node({ name: 'node-1', ready, readySince: Date.now() - 3_600_000 }));
    model.upsert('node', node({ name: 'node-2' }));
    model.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'node-1', claimName: 'db-data' }));
    model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-local' }));
    model.upsert('pod', pod({ name: 'db-0', nodeName: 'node-1', claimNames: ['db-data'] }));
    return model;
  }

  it('of an unreachable node: passes, where a person deleting it is refused', () => {
    const validator = nodeCordonValidator(config);
    expect(validator.handle(deleteNode(), context(withLocalPv('Unknown'))).allowed).toBe(true);
    const byHand = validator.handle(deleteNode({ username: 'admin', groups: ['system:masters'] }), context(withLocalPv('Unknown')));
    expect(byHand.allowed).toBe(false);
    expect(byHand.status!.message).toContain('pv-local');
  });

  it('of a node still Ready: judged as any removal', () => {
    expect(nodeCordonValidator(config).handle(deleteNode(), context(withLocalPv('True'))).allowed).toBe(false);
  });
});

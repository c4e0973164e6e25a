// Node-local data under cordon, eviction and pod DELETE, from the objects as the API server holds them (transformed
// like the informers do), answered by the validators: where the answer must follow what the scheduler, the
// provisioners and the controllers really do.
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podDeleteValidator } from '../../../src/admission/validators/pod-delete.ts';
import type { Decision } from '../../../src/admission/types.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import {
  isMemoryMedium,
  transformNode,
  transformPersistentVolume,
  transformPersistentVolumeClaim,
  transformPod,
} from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest, request } from '../../support/admission.ts';

type Json = Record<string, unknown>;

const config = defaultConfig();

function nodeObject(name: string, labels: Record<string, string> = {}): Json {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } }, spec: {} };
}

function affinity(key: string, values: string[]): Json {
  return { required: { nodeSelectorTerms: [{ matchExpressions: [{ key, operator: 'In', values }] }] } };
}

/** A Bound PV claimed by default/<claim>, and its Bound PVC. */
function boundPair(pv: string, claim: string, spec: Json, annotations: Record<string, string> = {}): [Json, Json] {
  return [
    { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: pv, annotations }, spec: { claimRef: { namespace: 'default', name: claim }, ...spec }, status: { phase: 'Bound' } },
    { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: claim, namespace: 'default', uid: `uid-${claim}` }, spec: { volumeName: pv }, status: { phase: 'Bound' } },
  ];
}

const REPLICA_SET = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'app-5d', uid: 'uid-rs', controller: true };
const STATEFUL_SET = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'uid-sts', controller: true };

/** A running pod on `node` mounting every volume writable. */
function podObject(name: string, node: string, volumes: Json[], owner?: Json): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', ...(owner ? { ownerReferences: [owner] } : {}) },
    spec: { nodeName: node, volumes, containers: [{ name: 'c', image: 'i', volumeMounts: volumes.map((v) => ({ name: v['name'], mountPath: `/${String(v['name'])}` })) }] },
    status: { phase: 'Running' },
  };
}

const claimVolume = (claim: string): Json => ({ name: 'data', persistentVolumeClaim: { claimName: claim } });

function cluster(objects: { nodes: Json[]; pairs?: [Json, Json][]; pods?: Json[] }): ClusterModel {
  const model = new ClusterModel();
  for (const node of objects.nodes) model.upsert('node', transformNode(node)!);
  for (const [pv, pvc] of objects.pairs ?? []) {
    model.upsert('persistentVolume', transformPersistentVolume(pv)!);
    model.upsert('persistentVolumeClaim', transformPersistentVolumeClaim(pvc)!);
  }
  for (const pod of objects.pods ?? []) model.upsert('pod', transformPod(pod)!);
  return model;
}

const cordon = (model: ClusterModel, node: string): Decision => nodeCordonValidator(config).handle(cordonRequest(node), context(model));
const evict = (model: ClusterModel, pod: string): Decision => podEvictionValidator(config).handle(evictionRequest(pod), context(model));

const TWO_NODES = [nodeObject('w1'), nodeObject('w2')];

describe('PVs of Rancher local-path: per node, or on a shared filesystem', () => {
  const provisioned = { 'pv.kubernetes.io/provisioned-by': 'rancher.io/local-path' };

  it('passes a PV of its sharedFileSystemPath mode (no node affinity): every node mounts that filesystem', () => {
    // local-path-provisioner sets no nodeAffinity in this mode ("path is accessible from any node"), ReadWriteMany allowed.
    const shared = boundPair('pvc-shared', 'shared', { hostPath: { path: '/mnt/nfs/pvc-shared' }, accessModes: ['ReadWriteMany'] }, provisioned);
    const model = cluster({ nodes: TWO_NODES, pairs: [shared], pods: [podObject('app-1', 'w1', [claimVolume('shared')], REPLICA_SET)] });
    expect(cordon(model, 'w1')).toMatchObject({ allowed: true });
    expect(evict(model, 'app-1')).toMatchObject({ allowed: true });
  });

  it('refuses a PV of its per-node mode, pinned by kubernetes.io/hostname', () => {
    const pinned = boundPair('pvc-local', 'local', { hostPath: { path: '/opt/local-path-provisioner/pvc-local' }, nodeAffinity: affinity('kubernetes.io/hostname', ['w1']) }, provisioned);
    const model = cluster({ nodes: TWO_NODES, pairs: [pinned], pods: [podObject('app-1', 'w1', [claimVolume('local')], REPLICA_SET)] });
    const decision = evict(model, 'app-1');
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('hostPath PV keeps the data of claim default/local on node w1 only');
    expect(cordon(model, 'w1').allowed).toBe(false);
  });

  it('still refuses a hostPath PV without affinity from another provisioner (minikube): its data is where its pod runs', () => {
    const minikube = boundPair('pvc-mk', 'mk', { hostPath: { path: '/tmp/hostpath-provisioner/default/mk' } }, { 'pv.kubernetes.io/provisioned-by': 'k8s.io/minikube-hostpath' });
    const model = cluster({ nodes: TWO_NODES, pairs: [minikube], pods: [podObject('app-1', 'w1', [claimVolume('mk')], REPLICA_SET)] });
    const decision = evict(model, 'app-1');
    expect(decision.allowed).toBe(false);
    // Not "stranded": nothing keeps the pod on w1, and on another node the same path holds none of this data.
    expect(decision.status?.message).toContain('no affinity keeps its pod on w1, elsewhere the path is empty');
    expect(decision.status?.message).not.toContain('can run nowhere else');
  });
});

describe('another namespace\'s data on a node being drained, withheld', () => {
  it('says where an unpinned PV keeps its data: on the node of its pod, not "only" there', () => {
    const minikube: [Json, Json] = [
      { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pvc-mk', annotations: { 'pv.kubernetes.io/provisioned-by': 'k8s.io/minikube-hostpath' } }, spec: { hostPath: { path: '/tmp/hostpath-provisioner/shop/mk' }, claimRef: { namespace: 'shop', name: 'mk' } }, status: { phase: 'Bound' } },
      { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'mk', namespace: 'shop', uid: 'uid-mk' }, spec: { volumeName: 'pvc-mk' }, status: { phase: 'Bound' } },
    ];
    const shopPod = { ...podObject('db-0', 'w1', [claimVolume('mk')], STATEFUL_SET), metadata: { name: 'db-0', namespace: 'shop', ownerReferences: [STATEFUL_SET] } };
    const drained = cluster({
      nodes: [{ ...nodeObject('w1'), spec: { unschedulable: true } }, nodeObject('w2')],
      pairs: [minikube],
      pods: [shopPod, podObject('web-1', 'w1', [], REPLICA_SET)],
    });
    const message = evict(drained, 'web-1').status?.message ?? '';
    expect(message).toContain('PV of another namespace: keeps data on node w1, where its pod runs (names withheld');
    expect(message).not.toContain('pvc-mk');
  });
});

describe('what pins a PV to one node (the scheduler reads its affinity against the nodes)', () => {
  it('a zonal disk is not node-local, a TopoLVM volume pinned by topology.topolvm.io/node is', () => {
    const zone = { 'topology.kubernetes.io/zone': 'z1' };
    const nodes = [nodeObject('w1', { ...zone, 'topology.topolvm.io/node': 'w1' }), nodeObject('w2', { ...zone, 'topology.topolvm.io/node': 'w2' })];
    const ebs = boundPair('pv-ebs', 'ebs', { csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-1' }, nodeAffinity: affinity('topology.kubernetes.io/zone', ['z1']) });
    const lvm = boundPair('pv-lvm', 'lvm', { csi: { driver: 'topolvm.io', volumeHandle: 'lv-1' }, nodeAffinity: affinity('topology.topolvm.io/node', ['w1']) });
    const zonal = cluster({ nodes, pairs: [ebs], pods: [podObject('app-1', 'w1', [claimVolume('ebs')], REPLICA_SET)] });
    expect(cordon(zonal, 'w1')).toMatchObject({ allowed: true });
    expect(evict(zonal, 'app-1')).toMatchObject({ allowed: true });
    const local = cluster({ nodes, pairs: [lvm], pods: [podObject('app-1', 'w1', [claimVolume('lvm')], REPLICA_SET)] });
    expect(evict(local, 'app-1').status?.message).toContain('topolvm.io PV keeps the data of claim default/lvm on node w1 only');
  });

  it('a MinIO DirectPV volume is node-local: its CSI topology term pins it by directpv.min.io/node', () => {
    // DirectPV's node server reports identity, node, rack, region and zone segments: one term, every key ANDed.
    const labels = (name: string) => ({
      'directpv.min.io/identity': 'directpv-min-io',
      'directpv.min.io/node': name,
      'directpv.min.io/rack': 'default',
      'directpv.min.io/region': 'default',
      'directpv.min.io/zone': 'default',
    });
    const topology = {
      required: {
        nodeSelectorTerms: [
          { matchExpressions: Object.entries(labels('w1')).map(([key, value]) => ({ key, operator: 'In', values: [value] })) },
        ],
      },
    };
    const directpv = boundPair('pvc-minio-0', 'data-minio-0', { csi: { driver: 'directpv-min-io', volumeHandle: 'pvc-minio-0' }, nodeAffinity: topology });
    const model = cluster({
      nodes: [nodeObject('w1', labels('w1')), nodeObject('w2', labels('w2'))],
      pairs: [directpv],
      pods: [podObject('minio-0', 'w1', [claimVolume('data-minio-0')], STATEFUL_SET)],
    });
    expect(model.persistentVolume('pvc-minio-0')?.pinnedNode).toBe('w1');
    const decision = cordon(model, 'w1');
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('directpv-min-io PV keeps the data of claim default/data-minio-0 on node w1 only');
    expect(cordon(model, 'w2')).toMatchObject({ allowed: true });
  });

  // CSI drivers keeping volumes on one node's disks or memory, each pinning its PVs by its own topology key: Harvester's
  // LVM local storage (harvester/csi-driver-lvm), Alibaba Cloud ACK local volumes, Carina, Intel PMEM-CSI, HwameiStor's
  // LVM and raw disk volumes.
  it.each([
    ['lvm.driver.harvesterhci.io', 'topology.lvm.csi/node'],
    ['localplugin.csi.alibabacloud.com', 'kubernetes.io/hostname'],
    ['carina.storage.io', 'topology.carina.storage.io/node'],
    ['pmem-csi.intel.com', 'pmem-csi.intel.com/node'],
    ['lvm.hwameistor.io', 'topology.lvm.hwameistor.io/node'],
    ['disk.hwameistor.io', 'topology.disk.hwameistor.io/node'],
  ])('a %s volume is node-local: pinned by %s', (driver, key) => {
    const pair = boundPair('pv-vm-disk', 'vm-disk', { csi: { driver, volumeHandle: 'h-1' }, nodeAffinity: affinity(key, ['w1']) });
    const model = cluster({
      nodes: [nodeObject('w1', { [key]: 'w1' }), nodeObject('w2', { [key]: 'w2' })],
      pairs: [pair],
      pods: [podObject('vm-0', 'w1', [claimVolume('vm-disk')], REPLICA_SET)],
    });
    const decision = cordon(model, 'w1');
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain(`${driver} PV keeps the data of claim default/vm-disk on node w1 only`);
    expect(evict(model, 'vm-0').allowed).toBe(false);
    expect(cordon(model, 'w2')).toMatchObject({ allowed: true });
  });

  it('a local PV whose affinity lists two live nodes is not pinned: its data is where its pod runs', () => {
    // The scheduler may start the pod on w2, whose /mnt/disks/a is another disk: judged on the node of the pod.
    const both = boundPair('pv-two', 'two', { local: { path: '/mnt/disks/a' }, nodeAffinity: affinity('kubernetes.io/hostname', ['w1', 'w2']) });
    const model = cluster({ nodes: TWO_NODES, pairs: [both], pods: [podObject('app-1', 'w1', [claimVolume('two')], REPLICA_SET)] });
    expect(cordon(model, 'w2')).toMatchObject({ allowed: true });
    expect(cordon(model, 'w1').status?.message).toContain('local PV keeps the data of claim default/two on node w1, where its pod runs');
  });

  it('the same PV is pinned once the other node it lists is gone: only w1 can mount it', () => {
    const both = boundPair('pv-two', 'two', { local: { path: '/mnt/disks/a' }, nodeAffinity: affinity('kubernetes.io/hostname', ['w1', 'w2']) });
    const model = cluster({ nodes: [nodeObject('w1')], pairs: [both], pods: [podObject('app-1', 'w1', [claimVolume('two')], REPLICA_SET)] });
    const decision = evict(model, 'app-1');
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('local PV keeps the data of claim default/two on node w1 only');
  });

  it('a hostPath PV whose affinity no node can match (an empty term) declares nothing: its data is where its pod runs', () => {
    const empty = boundPair('pv-empty', 'empty', { hostPath: { path: '/data/e' }, nodeAffinity: { required: { nodeSelectorTerms: [{}] } } });
    const model = cluster({ nodes: TWO_NODES, pairs: [empty], pods: [podObject('app-1', 'w1', [claimVolume('empty')], REPLICA_SET)] });
    expect(evict(model, 'app-1').status?.message).toContain('hostPath PV keeps the data of claim default/empty on node w1, where its pod runs');
  });
});

describe('StatefulSet emptyDirs: disk-backed only', () => {
  it('names the memory-backed media: Memory and hugepages', () => {
    expect(['Memory', 'HugePages', 'HugePages-2Mi', 'HugePages-1Gi'].every(isMemoryMedium)).toBe(true);
    expect(['', 'Disk', 'hugepages'].some(isMemoryMedium)).toBe(false);
  });

  it.each<[string, Json, boolean]>([
    ['default medium (the node disk)', {}, true],
    ['Memory (tmpfs)', { medium: 'Memory' }, false],
    ['HugePages (hugetlbfs)', { medium: 'HugePages' }, false],
    ['HugePages-2Mi (hugetlbfs)', { medium: 'HugePages-2Mi' }, false],
  ])('%s', (_label, emptyDir, warned) => {
    const model = cluster({ nodes: TWO_NODES, pods: [podObject('db-0', 'w1', [{ name: 'scratch', emptyDir }], STATEFUL_SET)] });
    const decision = cordon(model, 'w1');
    expect(decision.allowed).toBe(true);
    const text = (decision.warnings ?? []).join('\n');
    if (warned) expect(text).toContain('Pod default/db-0: StatefulSet pod keeps data in emptyDir scratch');
    else expect(text).not.toContain('emptyDir');
  });
});

describe('pods that take nothing off the node', () => {
  const pinned = boundPair('pv-w1', 'w1-data', { local: { path: '/mnt/disks/a' }, nodeAffinity: affinity('kubernetes.io/hostname', ['w1']) });
  const finished = (pod: Json, phase: string): Json => ({ ...pod, status: { phase } });

  it('passes the eviction and the DELETE of a finished pod on a schedulable node; its PV still refuses the cordon', () => {
    const done = finished(podObject('job-1', 'w1', [claimVolume('w1-data')], { apiVersion: 'batch/v1', kind: 'Job', name: 'j', uid: 'uid-j', controller: true }), 'Succeeded');
    const model = cluster({ nodes: TWO_NODES, pairs: [pinned], pods: [done] });
    expect(evict(model, 'job-1')).toMatchObject({ allowed: true });
    const cordoned = cordon(model, 'w1');
    expect(cordoned.allowed).toBe(false);
    expect(cordoned.status?.message).toContain('not mounted by any pod');
  });

  it('passes a DaemonSet pod and a mirror pod, which come back to their node', () => {
    const daemon = podObject('agent-x', 'w1', [{ name: 'state', hostPath: { path: '/srv/agent' } }], { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'uid-ds', controller: true });
    const mirror = podObject('etcd-w1', 'w1', [{ name: 'etcd', hostPath: { path: '/srv/etcd' } }]);
    (mirror['metadata'] as Json)['annotations'] = { 'kubernetes.io/config.mirror': 'hash' };
    const model = cluster({ nodes: TWO_NODES, pods: [daemon, mirror] });
    expect(evict(model, 'agent-x')).toMatchObject({ allowed: true });
    expect(evict(model, 'etcd-w1')).toMatchObject({ allowed: true });
    expect(cordon(model, 'w1')).toMatchObject({ allowed: true });
  });

  it('passes a pod DELETE on a schedulable node (a restart), refuses it on the node being drained', () => {
    const user = podObject('app-1', 'w1', [claimVolume('w1-data')], REPLICA_SET);
    const deleteRequest = request({
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'DELETE',
      namespace: 'default',
      name: 'app-1',
      oldObject: user,
    });
    const schedulable = cluster({ nodes: TWO_NODES, pairs: [pinned], pods: [user] });
    expect(podDeleteValidator(config).handle(deleteRequest, context(schedulable))).toMatchObject({ allowed: true });
    const drained = cluster({ nodes: [{ ...nodeObject('w1'), spec: { unschedulable: true } }, nodeObject('w2')], pairs: [pinned], pods: [user] });
    const decision = podDeleteValidator(config).handle(deleteRequest, context(drained));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('local PV keeps the data of claim default/w1-data on node w1 only');
  });
});

describe('claims and pods not yet placed', () => {
  it('passes a WaitForFirstConsumer claim not yet bound and the local PV still Available: no data yet', () => {
    const available = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'local-pv-free' },
      spec: { local: { path: '/mnt/disks/free' }, nodeAffinity: affinity('kubernetes.io/hostname', ['w1']), storageClassName: 'local-storage' },
      status: { phase: 'Available' },
    };
    const pending = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'wffc', namespace: 'default', uid: 'uid-wffc', annotations: { 'volume.kubernetes.io/selected-node': 'w1' } },
      spec: { storageClassName: 'local-storage' },
      status: { phase: 'Pending' },
    };
    const model = cluster({ nodes: TWO_NODES, pairs: [[available, pending]], pods: [podObject('app-1', 'w1', [claimVolume('wffc')], REPLICA_SET)] });
    expect(cordon(model, 'w1')).toMatchObject({ allowed: true });
    expect(evict(model, 'app-1')).toMatchObject({ allowed: true });
  });

  it('counts a pod not yet scheduled as a user of the local PV it waits for; its own eviction moves nothing', () => {
    const pinned = boundPair('pv-w1', 'w1-data', { local: { path: '/mnt/disks/a' }, nodeAffinity: affinity('kubernetes.io/hostname', ['w1']) });
    const unscheduled = { ...podObject('app-1', '', [claimVolume('w1-data')], REPLICA_SET), status: { phase: 'Pending' } };
    const model = cluster({ nodes: TWO_NODES, pairs: [pinned], pods: [unscheduled] });
    expect(cordon(model, 'w1').status?.message).toContain('local PV keeps the data of claim default/w1-data on node w1 only, mounted by 1 pod');
    expect(evict(model, 'app-1')).toMatchObject({ allowed: true });
  });
});

// Node-local data through the real API server with the real kubectl (issues 12.3-12.5, 20.6): pinning decided by
// evaluating PV node affinity against the live Nodes' labels (any key: OpenEBS ZFS-LocalPV's openebs.io/nodeid),
// zonal PVs never pinned, pods writing to an inline hostPath their controller would move, system paths and
// DaemonSet pods left alone, and StatefulSet emptyDirs warned about.
// No scheduler or kubelet here: Nodes and Pods (with nodeName) are written as those would write them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, tempFile } from '../harness/cluster.ts';
import { apply, applyBoundPair, deleteObjects, ensureNamespace, eventually, isUnschedulable, must, patchStatus } from '../harness/scenario.ts';

const NS = 'node-local';
const ZFS_NODE = 'nl-zfs';
const ZONE_NODES = ['nl-zone-a', 'nl-zone-b'];
const HOST_NODE = 'nl-host';
const DRAIN_NODE = 'nl-drain';
const SAFE_NODE = 'nl-safe';
const MINIKUBE_NODE = 'nl-minikube';
const SHARED_NODE = 'nl-shared';
const DIRECTPV_NODE = 'nl-directpv';
const NODES = [ZFS_NODE, ...ZONE_NODES, HOST_NODE, DRAIN_NODE, SAFE_NODE, MINIKUBE_NODE, SHARED_NODE, DIRECTPV_NODE];

/** The topology labels MinIO DirectPV's node server reports for a node (one CSI topology segment each). */
function directpvLabels(name: string): Record<string, string> {
  return {
    'directpv.min.io/identity': 'directpv-min-io',
    'directpv.min.io/node': name,
    'directpv.min.io/rack': 'default',
    'directpv.min.io/region': 'default',
    'directpv.min.io/zone': 'default',
  };
}

function node(name: string, labels: Record<string, string>, unschedulableNow = false): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
    ...(unschedulableNow ? { spec: { unschedulable: true } } : {}),
  };
}

/** A bound PV/PVC pair with the given source and required node affinity (none when empty). */
async function boundVolume(options: {
  pv: string;
  claim: string;
  source: Record<string, unknown>;
  affinity: unknown[];
  annotations?: Record<string, string>;
  accessModes?: string[];
}): Promise<void> {
  await applyBoundPair(
    {
      metadata: { name: options.pv, ...(options.annotations ? { annotations: options.annotations } : {}) },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: options.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: 'nl',
        ...options.source,
        ...(options.affinity.length > 0 ? { nodeAffinity: { required: { nodeSelectorTerms: options.affinity } } } : {}),
      },
    },
    { name: options.claim, namespace: NS, storageClassName: 'nl' },
  );
}

interface PodOptions {
  name: string;
  node: string;
  owner?: { kind: string; name: string; apiVersion: string };
  hostPaths?: { path: string; readOnly?: boolean }[];
  emptyDir?: boolean;
  /** A Memory emptyDir at /dev/shm (tmpfs: emptied by a reboot too, never reported). */
  shm?: boolean;
  /** A HugePages-2Mi emptyDir (hugetlbfs: memory, never reported), with the hugepages request it needs. */
  hugePages?: boolean;
  nodeSelector?: Record<string, string>;
  claims?: string[];
}

const HUGE_PAGES_RESOURCES = { memory: '64Mi', 'hugepages-2Mi': '4Mi' };

/** apps/v1beta2 is no longer served: owner references under it are never resolved. */
const UNSERVED_VERSION: Readonly<Record<string, string>> = { ReplicaSet: 'apps/v1beta2', DaemonSet: 'apps/v1beta2', StatefulSet: 'apps/v1beta2' };

/** A running pod on `node` as its controller and the kubelet would leave it. */
async function runningPod(options: PodOptions): Promise<void> {
  const hostPaths = options.hostPaths ?? [];
  const volumes: unknown[] = hostPaths.map((h, i) => ({ name: `h${i}`, hostPath: { path: h.path, type: 'DirectoryOrCreate' } }));
  const mounts: unknown[] = hostPaths.map((h, i) => ({ name: `h${i}`, mountPath: `/h${i}`, ...(h.readOnly ? { readOnly: true } : {}) }));
  if (options.emptyDir) {
    volumes.push({ name: 'state', emptyDir: {} });
    mounts.push({ name: 'state', mountPath: '/var/lib/app' });
  }
  if (options.shm) {
    volumes.push({ name: 'shm', emptyDir: { medium: 'Memory' } });
    mounts.push({ name: 'shm', mountPath: '/dev/shm' });
  }
  if (options.hugePages) {
    volumes.push({ name: 'hugepages', emptyDir: { medium: 'HugePages-2Mi' } });
    mounts.push({ name: 'hugepages', mountPath: '/hugepages' });
  }
  for (const [i, claimName] of (options.claims ?? []).entries()) {
    volumes.push({ name: `c${i}`, persistentVolumeClaim: { claimName } });
    mounts.push({ name: `c${i}`, mountPath: `/c${i}` });
  }
  const owner = options.owner;
  await apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: options.name,
      namespace: NS,
      ...(owner
        ? {
            // The owners do not exist here. Under an API version the cluster does not serve, kube-controller-manager's
            // garbage collector cannot resolve them and leaves the pods alone (it would delete them otherwise, and a
            // pod being deleted is no longer judged: it goes whatever the answer). Only the owner's kind is read.
            ownerReferences: [
              { ...owner, apiVersion: UNSERVED_VERSION[owner.kind] ?? owner.apiVersion, uid: `0b3c6a4e-0000-4000-8000-${String(options.name.length).padStart(12, '0')}`, controller: true },
            ],
          }
        : {}),
    },
    spec: {
      nodeName: options.node,
      ...(options.nodeSelector ? { nodeSelector: options.nodeSelector } : {}),
      automountServiceAccountToken: false,
      containers: [
        {
          name: 'app',
          image: 'registry.invalid/app:1',
          volumeMounts: mounts,
          ...(options.hugePages ? { resources: { requests: HUGE_PAGES_RESOURCES, limits: HUGE_PAGES_RESOURCES } } : {}),
        },
      ],
      volumes,
    },
  });
  await patchStatus('pod', options.name, { phase: 'Running' }, NS);
}

/** Dry-run cordons until the model answers as expected, then the real cordon. */
async function cordonWhen(nodeName: string, ready: (stderr: string) => boolean, timeoutMs?: number) {
  await eventually(() => kubectl(['cordon', nodeName, '--dry-run=server']), (r) => ready(r.stderr), timeoutMs);
  return kubectl(['cordon', nodeName]);
}

describe('node-local data: pinning by live node labels, inline hostPath, emptyDir', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await apply(
      node(ZONE_NODES[0] as string, { 'topology.kubernetes.io/zone': 'nl-z1' }),
      node(ZONE_NODES[1] as string, { 'topology.kubernetes.io/zone': 'nl-z1' }),
      node(HOST_NODE, {}),
      node(SAFE_NODE, {}),
      node(DRAIN_NODE, {}, true),
      node(MINIKUBE_NODE, {}),
      node(SHARED_NODE, {}),
      node(DIRECTPV_NODE, directpvLabels(DIRECTPV_NODE)),
      // Last: once the ZFS PV is denied, every node above is in the model too.
      node(ZFS_NODE, { 'openebs.io/nodeid': 'zfs-host-17' }),
    );
    // A node-local (local) PV whose affinity names a zone of two nodes: it can mount on either, so not pinned.
    await boundVolume({
      pv: 'nl-zonal-pv',
      claim: 'zonal-data',
      source: { local: { path: '/mnt/zonal' } },
      affinity: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['nl-z1'] }] }],
    });
    // OpenEBS ZFS-LocalPV pins by its own key, whose value is not the node's name.
    await boundVolume({
      pv: 'nl-zfs-pv',
      claim: 'zfs-data',
      source: { csi: { driver: 'zfs.csi.openebs.io', volumeHandle: 'pvc-zfs-1', fsType: 'zfs' } },
      affinity: [{ matchExpressions: [{ key: 'openebs.io/nodeid', operator: 'In', values: ['zfs-host-17'] }] }],
    });
    // minikube's hostpath provisioner: a hostPath PV with no node affinity; its data is where its pod runs.
    await boundVolume({
      pv: 'nl-minikube-pv',
      claim: 'minikube-data',
      source: { hostPath: { path: '/tmp/hostpath-provisioner/node-local/minikube-data' } },
      affinity: [],
    });
    await runningPod({ name: 'minikube-app', node: MINIKUBE_NODE, claims: ['minikube-data'] });
    // MinIO DirectPV: a drive of one node, pinned by the CSI topology term the external-provisioner writes.
    await boundVolume({
      pv: 'nl-directpv-pv',
      claim: 'directpv-data',
      source: { csi: { driver: 'directpv-min-io', volumeHandle: 'pvc-directpv-1', fsType: 'xfs' } },
      affinity: [{ matchExpressions: Object.entries(directpvLabels(DIRECTPV_NODE)).map(([key, value]) => ({ key, operator: 'In', values: [value] })) }],
    });
    // Rancher local-path in its sharedFileSystemPath mode: no node affinity, the path is a filesystem every node mounts.
    await boundVolume({
      pv: 'nl-shared-pv',
      claim: 'shared-data',
      source: { hostPath: { path: '/mnt/nfs/pvc-shared_node-local_shared-data' } },
      affinity: [],
      annotations: { 'pv.kubernetes.io/provisioned-by': 'rancher.io/local-path' },
      accessModes: ['ReadWriteMany'],
    });
    const replicaSet = (name: string) => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name });
    // A ReplicaSet pod on that drive that also writes to a hostPath: its PV holds it to nl-directpv (DirectPV's node key
    // is the node's name), so the hostPath data comes back with it and only the PV refuses the cordon.
    await runningPod({ name: 'minio-5c-x1', node: DIRECTPV_NODE, owner: replicaSet('minio-5c'), claims: ['directpv-data'], hostPaths: [{ path: '/srv/nl-minio' }] });
    await runningPod({ name: 'cache-6d9f-abcde', node: HOST_NODE, owner: replicaSet('cache-6d9f'), hostPaths: [{ path: '/srv/nl-cache' }] });
    await runningPod({ name: 'cache-6d9f-drain', node: DRAIN_NODE, owner: replicaSet('cache-6d9f'), hostPaths: [{ path: '/srv/nl-cache' }] });
    // On the safe node: a DaemonSet pod writing to a host path, a ReplicaSet pod writing only under /var/log and
    // reading /srv read-only, a bare pod; then (last) a StatefulSet pod keeping state in an emptyDir.
    await runningPod({ name: 'agent-x1', node: SAFE_NODE, owner: { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent' }, hostPaths: [{ path: '/srv/agent' }] });
    await runningPod({
      name: 'shipper-7c-x2',
      node: SAFE_NODE,
      owner: replicaSet('shipper-7c'),
      hostPaths: [{ path: '/var/log/shipper' }, { path: '/srv/shared', readOnly: true }],
    });
    await runningPod({ name: 'debug', node: SAFE_NODE, hostPaths: [{ path: '/srv/debug' }] });
    // A Deployment pod that can only ever run on this node (nodeSelector on its hostname) comes back to its data.
    await runningPod({ name: 'pinned-5b-x3', node: SAFE_NODE, owner: replicaSet('pinned-5b'), hostPaths: [{ path: '/srv/pinned' }], nodeSelector: { 'kubernetes.io/hostname': SAFE_NODE } });
    await runningPod({ name: 'queue-0', node: SAFE_NODE, owner: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'queue' }, emptyDir: true, shm: true });
    // On the shared node: a ReplicaSet pod on the shared-filesystem PV, a StatefulSet pod with a hugepages emptyDir,
    // then (last) a StatefulSet pod with a disk emptyDir, whose warning shows the model has seen the others.
    await runningPod({ name: 'web-4f-x1', node: SHARED_NODE, owner: replicaSet('web-4f'), claims: ['shared-data'] });
    await runningPod({ name: 'dpdk-0', node: SHARED_NODE, owner: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'dpdk' }, hugePages: true });
    await runningPod({ name: 'kv-0', node: SHARED_NODE, owner: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'kv' }, emptyDir: true });
  });

  afterAll(async () => {
    for (const name of NODES) await kubectl(['uncordon', name]);
    await deleteObjects(
      ['pod', '--all', '-n', NS, '--grace-period=0', '--force'],
      ['pvc', '--all', '-n', NS],
      ['pv', 'nl-zonal-pv', 'nl-zfs-pv', 'nl-minikube-pv', 'nl-shared-pv', 'nl-directpv-pv'],
      ['node', ...NODES],
    );
  });

  it('denies cordoning the node a custom topology key pins a node-local PV to', async () => {
    const result = await cordonWhen(ZFS_NODE, (stderr) => stderr.includes('denied'));
    expect(result.stderr).toContain('admission webhook "node-cordon.volume-guard.io" denied the request');
    expect(result.stderr).toContain('[node-local-volume]');
    expect(result.stderr).toContain('PV nl-zfs-pv (PVC node-local/zfs-data)');
    expect(result.stderr).toContain('zfs.csi.openebs.io PV keeps the data of claim node-local/zfs-data on node nl-zfs only');
    expect(await isUnschedulable(ZFS_NODE)).toBe(false);
  });

  it('denies cordoning the node whose drive holds a MinIO DirectPV volume', async () => {
    // The pod is written after the ZFS PV the first case waits for: the model may take a while more to show it.
    const result = await cordonWhen(DIRECTPV_NODE, (stderr) => stderr.includes('mounted by 1 pod'), 60_000);
    expect(result.stderr).toContain('directpv-min-io PV keeps the data of claim node-local/directpv-data on node nl-directpv only, mounted by 1 pod');
    // Its pod's hostPath is not data a controller would take elsewhere: the PV brings the pod back to this node.
    expect(result.stderr).not.toContain('/srv/nl-minio');
    expect(await isUnschedulable(DIRECTPV_NODE)).toBe(false);
  });

  it('allows cordoning a node of a zone whose node-local PV could mount on another node of the zone', async () => {
    // The ZFS denial above proves the model holds the zonal PV and both zone nodes (written before).
    await eventually(() => kubectl(['cordon', ZFS_NODE, '--dry-run=server']), (r) => r.stderr.includes('denied'));
    const result = await kubectl(['cordon', ZONE_NODES[0] as string]);
    expect(result.stderr).not.toContain('denied');
    expect(result.stderr).not.toContain('nl-zonal-pv');
    expect(await isUnschedulable(ZONE_NODES[0] as string)).toBe(true);
  });

  it('denies cordoning a node where a ReplicaSet pod writes to an inline hostPath, naming pod and path', async () => {
    const result = await cordonWhen(HOST_NODE, (stderr) => stderr.includes('denied'));
    expect(result.stderr).toContain('[node-local-volume]');
    expect(result.stderr).toContain('Pod node-local/cache-6d9f-abcde: writes to hostPath /srv/nl-cache; its ReplicaSet would recreate it on another node');
    expect(await isUnschedulable(HOST_NODE)).toBe(false);
  });

  it('denies cordoning the node where a pod writes to a hostPath PV that no affinity pins', async () => {
    const result = await cordonWhen(MINIKUBE_NODE, (stderr) => stderr.includes('denied'));
    expect(result.stderr).toContain('PV nl-minikube-pv (PVC node-local/minikube-data, Pod node-local/minikube-app)');
    expect(result.stderr).toContain('keeps the data of claim node-local/minikube-data on node nl-minikube, where its pod runs');
    // Nothing keeps the pod on the node: its data is lost when it moves, not stranded where it can only come back.
    expect(result.stderr).toContain('lost to a pod that moves: no affinity keeps its pod on nl-minikube, elsewhere the path is empty');
    expect(result.stderr).not.toContain('can run nowhere else');
    expect(await isUnschedulable(MINIKUBE_NODE)).toBe(false);
  });

  it("denies kubectl drain's eviction of a ReplicaSet pod writing to a hostPath", async () => {
    const drained = await eventually(
      () => kubectl(['drain', DRAIN_NODE, '--ignore-daemonsets', '--delete-emptydir-data', '--force', '--timeout=15s'], { timeoutMs: 60_000 }),
      (r) => r.stderr.includes('denied'),
    );
    expect(drained.code).not.toBe(0);
    expect(drained.stderr).toContain('admission webhook "pod-eviction.volume-guard.io" denied the request');
    expect(drained.stderr).toContain('/srv/nl-cache');
    expect((await kubectl(['get', 'pod', 'cache-6d9f-drain', '-n', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}'])).stdout).toBe('');
  });

  it('allows cordoning a node with DaemonSet, /var/log, read-only, bare-pod and node-pinned host paths, warning about the StatefulSet emptyDir', async () => {
    const result = await cordonWhen(SAFE_NODE, (stderr) => stderr.includes('emptyDir'));
    expect(result.stderr).not.toContain('denied');
    expect(result.stderr).toContain('Warning: volume-guard [node-local-volume]');
    expect(result.stderr).toContain('Pod node-local/queue-0: StatefulSet pod keeps data in emptyDir state,');
    expect(result.stderr).not.toContain('shm');
    for (const allowed of ['agent-x1', 'shipper-7c-x2', 'debug', 'pinned-5b', '/var/log', '/srv']) expect(result.stderr).not.toContain(allowed);
    expect(await isUnschedulable(SAFE_NODE)).toBe(true);
  });

  it('warns when kubectl drain --disable-eviction deletes the StatefulSet pod keeping data in an emptyDir', async () => {
    // The pod mounts no claim and no hostPath: only its owner kind makes it one whose DELETE is judged.
    expect(await isUnschedulable(SAFE_NODE)).toBe(true);
    const result = await must(kubectl(['delete', 'pod', 'queue-0', '-n', NS, '--dry-run=server']), 'dry-run delete of queue-0');
    expect(result.stderr).toContain('Warning: volume-guard [node-local-volume]');
    expect(result.stderr).toContain('StatefulSet pod keeps data in emptyDir state');
    expect(result.stderr).not.toContain('shm');
    expect(result.stdout).toContain('pod "queue-0" deleted');
  });

  it("allows the cordon and evictions of a node whose PV is on local-path's shared filesystem; no warning for hugepages", async () => {
    const result = await cordonWhen(SHARED_NODE, (stderr) => stderr.includes('kv-0'));
    expect(result.stderr).not.toContain('denied');
    expect(result.stderr).toContain('Pod node-local/kv-0: StatefulSet pod keeps data in emptyDir state,');
    for (const passed of ['nl-shared-pv', 'web-4f-x1', 'dpdk-0', 'hugepages']) expect(result.stderr).not.toContain(passed);
    expect(await isUnschedulable(SHARED_NODE)).toBe(true);
    const body = await tempFile('nl-evict-web-4f-x1.json', JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-4f-x1', namespace: NS } }));
    const evicted = await must(kubectl(['create', '--raw', `/api/v1/namespaces/${NS}/pods/web-4f-x1/eviction`, '-f', body]), 'eviction of the shared-filesystem pod');
    expect(evicted.stderr).not.toContain('nl-shared-pv');
  });

  it('allows evicting the DaemonSet pod and warns when evicting the StatefulSet pod', async () => {
    const evict = async (pod: string) => {
      const body = await tempFile(`nl-evict-${pod}.json`, JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: NS } }));
      return kubectl(['create', '--raw', `/api/v1/namespaces/${NS}/pods/${pod}/eviction`, '-f', body]);
    };
    const daemon = await must(evict('agent-x1'), 'eviction of the DaemonSet pod');
    expect(daemon.stderr).not.toContain('denied');
    const queue = await must(evict('queue-0'), 'eviction of the StatefulSet pod');
    expect(queue.stderr).toContain('emptyDir state');
  });
});

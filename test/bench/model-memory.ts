// Memory of the cluster model per 10,000 objects: PVCs, and Longhorn replicas (with their volumes).
//
//   ./node_modules/.bin/node --expose-gc test/bench/model-memory.ts [--count N]
//
// Objects are generated as the API server sends them (JSON text with managedFields, labels,
// annotations, status), parsed, transformed into slim records and written to a ClusterModel built with
// the checks' volume sets, exactly as the informers do. The figure is the retained heap after full GCs:
// heapUsed with the model filled minus heapUsed with it empty. For comparison, the same objects kept
// whole (what an informer cache of full objects, like client-node's ListWatch, would hold).
// Prints one JSON object.

import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ClusterModel } from '../../src/cluster/model.ts';
import type { ResourceKind } from '../../src/cluster/records.ts';
import { transformLonghornReplica, transformLonghornVolume, transformPersistentVolumeClaim } from '../../src/cluster/transforms.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../src/checks/longhorn-health.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  process.stderr.write('run with --expose-gc: ./node_modules/.bin/node --expose-gc test/bench/model-memory.ts\n');
  process.exit(2);
}

const { values } = parseArgs({ options: { count: { type: 'string', default: '10000' } } });
const COUNT = Number(values.count);
const NAMESPACES = 50;
const NODES = 20;
const MANAGED_FIELDS_TIME = '2025-03-01T10:00:00Z';

function fullGc(): void {
  for (let i = 0; i < 6; i += 1) gc!();
}

function heapUsed(): number {
  fullGc();
  return process.memoryUsage().heapUsed;
}

function pvcJson(i: number): string {
  const namespace = `team-${i % NAMESPACES}`;
  const release = `app-${i % 500}`;
  const name = `data-${release}-${i}`;
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name,
      namespace,
      uid: randomUUID(),
      resourceVersion: String(100_000 + i),
      creationTimestamp: '2025-03-01T10:00:00Z',
      labels: { 'app.kubernetes.io/instance': release, 'app.kubernetes.io/name': 'postgresql', 'app.kubernetes.io/component': 'primary' },
      annotations: {
        'pv.kubernetes.io/bind-completed': 'yes',
        'pv.kubernetes.io/bound-by-controller': 'yes',
        'volume.beta.kubernetes.io/storage-provisioner': 'driver.longhorn.io',
        'volume.kubernetes.io/storage-provisioner': 'driver.longhorn.io',
      },
      finalizers: ['kubernetes.io/pvc-protection'],
      ownerReferences: i % 2 === 0 ? [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: release, uid: randomUUID(), controller: true }] : undefined,
      managedFields: [
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          apiVersion: 'v1',
          time: MANAGED_FIELDS_TIME,
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': { 'f:annotations': { '.': {}, 'f:pv.kubernetes.io/bind-completed': {}, 'f:pv.kubernetes.io/bound-by-controller': {} } },
            'f:spec': { 'f:volumeName': {} },
          },
        },
        { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: MANAGED_FIELDS_TIME, fieldsType: 'FieldsV1', subresource: 'status', fieldsV1: { 'f:status': { 'f:accessModes': {}, 'f:capacity': { '.': {}, 'f:storage': {} }, 'f:phase': {} } } },
      ],
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '8Gi' } },
      storageClassName: 'longhorn',
      volumeMode: 'Filesystem',
      volumeName: `pvc-${randomUUID()}`,
    },
    status: { accessModes: ['ReadWriteOnce'], capacity: { storage: '8Gi' }, phase: 'Bound' },
  });
}

function volumeJson(volume: string, i: number): string {
  return JSON.stringify({
    apiVersion: 'longhorn.io/v1beta2',
    kind: 'Volume',
    metadata: {
      name: volume,
      namespace: 'longhorn-system',
      uid: randomUUID(),
      resourceVersion: String(200_000 + i),
      creationTimestamp: '2025-03-01T10:00:00Z',
      finalizers: ['longhorn.io'],
      labels: { longhornvolume: volume, 'recurring-job-group.longhorn.io/default': 'enabled' },
    },
    spec: {
      accessMode: 'rwo',
      dataEngine: 'v1',
      dataLocality: 'disabled',
      frontend: 'blockdev',
      numberOfReplicas: 3,
      size: '8589934592',
      staleReplicaTimeout: 30,
      nodeID: `worker-${i % NODES}`,
    },
    status: {
      state: 'attached',
      robustness: 'healthy',
      currentNodeID: `worker-${i % NODES}`,
      actualSize: 1234567,
      kubernetesStatus: { namespace: `team-${i % NAMESPACES}`, pvcName: `data-app-${i}`, pvName: volume, pvStatus: 'Bound', workloadsStatus: [{ podName: `app-${i}-0`, podStatus: 'Running', workloadName: `app-${i}`, workloadType: 'StatefulSet' }] },
      conditions: [
        { type: 'Scheduled', status: 'True', lastProbeTime: '', lastTransitionTime: '2025-03-01T10:00:00Z', reason: '', message: '' },
        { type: 'Restore', status: 'False', lastProbeTime: '', lastTransitionTime: '2025-03-01T10:00:00Z', reason: '', message: '' },
      ],
    },
  });
}

function replicaJson(volume: string, replica: number, i: number, diskUUIDs: readonly string[]): string {
  const node = (i + replica) % NODES;
  return JSON.stringify({
    apiVersion: 'longhorn.io/v1beta2',
    kind: 'Replica',
    metadata: {
      name: `${volume}-r-${randomUUID().slice(0, 8)}`,
      namespace: 'longhorn-system',
      uid: randomUUID(),
      resourceVersion: String(300_000 + i * 3 + replica),
      creationTimestamp: '2025-03-01T10:00:00Z',
      finalizers: ['longhorn.io'],
      labels: { longhorndiskuuid: diskUUIDs[node]!, longhornnode: `worker-${node}`, longhornvolume: volume },
      ownerReferences: [{ apiVersion: 'longhorn.io/v1beta2', kind: 'Volume', name: volume, uid: randomUUID() }],
    },
    spec: {
      active: true,
      dataDirectoryName: `${volume}-${randomUUID().slice(0, 8)}`,
      dataEngine: 'v1',
      desireState: 'running',
      diskID: diskUUIDs[node],
      diskPath: '/var/lib/longhorn/',
      engineName: `${volume}-e-0`,
      failedAt: '',
      healthyAt: '2025-03-01T10:01:00Z',
      image: 'longhornio/longhorn-engine:v1.7.2',
      nodeID: `worker-${node}`,
      volumeName: volume,
      volumeSize: '8589934592',
    },
    status: { currentState: 'running', instanceManagerName: `instance-manager-${node}`, ip: `10.42.${node}.${i % 250}`, port: 10000 + (i % 1000), started: true, storageIP: `10.42.${node}.${i % 250}` },
  });
}

interface Figure {
  readonly objects: number;
  /** Retained heap of the model holding them, bytes. */
  readonly modelBytes: number;
  readonly modelBytesPerObject: number;
  /** Retained heap of the same objects kept whole, bytes. */
  readonly fullObjectsBytes: number;
  readonly fullObjectsBytesPerObject: number;
  /** Average size of one object's JSON as the API server sends it. */
  readonly wireBytesPerObject: number;
}

/** Heap retained by what `build` returns. */
function retained(build: () => unknown): { bytes: number; value: unknown } {
  const before = heapUsed();
  const value = build();
  const after = heapUsed();
  return { bytes: after - before, value };
}

function measure(countedKind: ResourceKind, documents: () => { kind: ResourceKind; json: string }[]): Figure {
  let wireBytes = 0;
  let counted = 0;
  const model = retained(() => {
    const instance = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
    for (const { kind, json } of documents()) {
      const raw: unknown = JSON.parse(json);
      if (kind === countedKind) {
        wireBytes += Buffer.byteLength(json);
        counted += 1;
      }
      if (kind === 'persistentVolumeClaim') instance.upsert(kind, transformPersistentVolumeClaim(raw)!);
      else if (kind === 'longhornVolume') instance.upsert(kind, transformLonghornVolume(raw)!);
      else if (kind === 'longhornReplica') instance.upsert(kind, transformLonghornReplica(raw)!);
    }
    if (instance.count(countedKind) !== counted) throw new Error('model lost objects');
    return instance;
  });
  const full = retained(() => documents().filter((document) => document.kind === countedKind).map((document): unknown => JSON.parse(document.json)));
  // Keep both alive until both are measured.
  if (!model.value || !full.value) throw new Error('unreachable');
  return {
    objects: counted,
    modelBytes: model.bytes,
    modelBytesPerObject: Math.round(model.bytes / counted),
    fullObjectsBytes: full.bytes,
    fullObjectsBytesPerObject: Math.round(full.bytes / counted),
    wireBytesPerObject: Math.round(wireBytes / counted),
  };
}

// Documents are generated once (outside the measured region) and parsed inside it, so the measured heap
// holds only what the model (or the full-object cache) keeps.
const pvcDocuments = Array.from({ length: COUNT }, (_, i) => ({ kind: 'persistentVolumeClaim' as const, json: pvcJson(i) }));
const diskUUIDs = Array.from({ length: NODES }, () => randomUUID());
const replicaDocuments: { kind: ResourceKind; json: string }[] = [];
const volumeDocuments: { kind: ResourceKind; json: string }[] = [];
for (let i = 0; replicaDocuments.length < COUNT; i += 1) {
  const volume = `pvc-${randomUUID()}`;
  volumeDocuments.push({ kind: 'longhornVolume', json: volumeJson(volume, i) });
  for (let replica = 0; replica < 3 && replicaDocuments.length < COUNT; replica += 1) {
    replicaDocuments.push({ kind: 'longhornReplica', json: replicaJson(volume, replica, i, diskUUIDs) });
  }
}

const pvcs = measure('persistentVolumeClaim', () => pvcDocuments);
// Replicas are measured without their volumes (the volumes' own cost is a separate figure), but a model
// holding replicas always holds their volumes, which the replica indexes and volume sets refer to.
const volumesOnly = measure('longhornVolume', () => volumeDocuments);
const replicasAndVolumes = measure('longhornReplica', () => [...volumeDocuments, ...replicaDocuments]);
const replicaBytes = replicasAndVolumes.modelBytes - volumesOnly.modelBytes;

const result = {
  node: process.version,
  count: COUNT,
  persistentVolumeClaims: pvcs,
  longhornVolumes: volumesOnly,
  longhornReplicas: {
    objects: replicasAndVolumes.objects,
    volumes: volumeDocuments.length,
    modelBytes: replicaBytes,
    modelBytesPerObject: Math.round(replicaBytes / replicasAndVolumes.objects),
    fullObjectsBytes: replicasAndVolumes.fullObjectsBytes,
    fullObjectsBytesPerObject: replicasAndVolumes.fullObjectsBytesPerObject,
    wireBytesPerObject: replicasAndVolumes.wireBytesPerObject,
  },
  per10000: {
    persistentVolumeClaimsMiB: +((pvcs.modelBytesPerObject * 10_000) / 2 ** 20).toFixed(2),
    longhornReplicasMiB: +(((replicaBytes / replicasAndVolumes.objects) * 10_000) / 2 ** 20).toFixed(2),
    longhornVolumesMiB: +((volumesOnly.modelBytesPerObject * 10_000) / 2 ** 20).toFixed(2),
    fullPersistentVolumeClaimsMiB: +((pvcs.fullObjectsBytesPerObject * 10_000) / 2 ** 20).toFixed(2),
    fullLonghornReplicasMiB: +((replicasAndVolumes.fullObjectsBytesPerObject * 10_000) / 2 ** 20).toFixed(2),
  },
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);

// Slim records rendered back into the JSON an informer's watch receives (the object as the API server stores it:
// the fields the transforms read, plus the metadata bulk real objects carry), so that the bench can time a watch
// event the whole way: JSON.parse → the kind's transform → the model. transform(render(record)) gives the record
// back (test/unit/bench-events.test.ts). Kinds or records without a renderer here are timed from the model on.

import type { RecordByKind, ResourceKind, NodeSelector } from '../../../src/cluster/records.ts';
import { HELM_RELEASE_NAME_ANNOTATION, HELM_RELEASE_NAMESPACE_ANNOTATION } from '../../../src/kube.ts';
import { PROVISIONED_BY_ANNOTATION } from '../../../src/cluster/transforms.ts';

const TIME = '2025-03-01T10:00:00Z';
const DELETED_AT = '2025-03-02T10:00:00Z';

/** What every object carries that no transform reads: uid, resourceVersion, managed fields. */
function metadata(record: { name: string; namespace?: string }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: record.name,
    ...(record.namespace ? { namespace: record.namespace } : {}),
    uid: `5f1e2d3c-0000-4000-8000-${String(record.name.length).padStart(12, '0')}`,
    resourceVersion: '123456789',
    creationTimestamp: TIME,
    managedFields: [
      { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: TIME, fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { '.': {} } }, 'f:spec': { '.': {} } } },
      { manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: TIME, fieldsType: 'FieldsV1', subresource: 'status', fieldsV1: { 'f:status': { 'f:conditions': {} } } },
    ],
    ...extra,
  };
}

const deletion = (deleting: boolean) => (deleting ? { deletionTimestamp: DELETED_AT, finalizers: ['longhorn.io'] } : {});

function selectorTerms(selector: NodeSelector): unknown[] {
  return selector.map((term) => ({
    ...(term.matchExpressions.length ? { matchExpressions: term.matchExpressions.map((r) => ({ key: r.key, operator: r.operator, values: [...r.values] })) } : {}),
    ...(term.matchFields.length ? { matchFields: term.matchFields.map((r) => ({ key: r.key, operator: r.operator, values: [...r.values] })) } : {}),
  }));
}

type Renderer<K extends ResourceKind> = (record: RecordByKind[K]) => unknown;

export const RAW_RENDERERS: { readonly [K in ResourceKind]?: Renderer<K> } = {
  longhornVolume: (v) => ({
    apiVersion: 'longhorn.io/v1beta2',
    kind: 'Volume',
    metadata: metadata(v, { labels: { longhornvolume: v.name }, ...deletion(v.deleting) }),
    spec: { numberOfReplicas: v.numberOfReplicas, accessMode: 'rwo', dataEngine: 'v1', dataLocality: 'disabled', frontend: 'blockdev', size: '8589934592' },
    status: {
      state: v.state,
      robustness: v.robustness,
      currentNodeID: v.currentNodeID,
      actualSize: 1234567,
      kubernetesStatus: { namespace: v.pvcNamespace, pvcName: v.pvcName, pvName: v.pvName, pvStatus: 'Bound', workloadsStatus: [] },
      conditions: [{ type: 'Scheduled', status: 'True', lastTransitionTime: TIME, reason: '', message: '' }],
    },
  }),
  longhornReplica: (r) => ({
    apiVersion: 'longhorn.io/v1beta2',
    kind: 'Replica',
    metadata: metadata(r, { labels: { longhornnode: r.nodeID, longhornvolume: r.volumeName }, ...deletion(r.deleting) }),
    spec: { volumeName: r.volumeName, nodeID: r.nodeID, diskID: r.diskID, healthyAt: r.healthyAt, failedAt: r.failedAt, desireState: r.desireState, active: true, dataEngine: 'v1', image: 'longhornio/longhorn-engine:v1.7.2' },
    status: { currentState: r.currentState, instanceManagerName: `instance-manager-${r.nodeID}`, started: true },
  }),
  longhornNode: (n) => ({
    apiVersion: 'longhorn.io/v1beta2',
    kind: 'Node',
    metadata: metadata(n),
    // A node refusing replicas is rendered with scheduling turned off (allowScheduling false), the others as
    // longhorn-manager reports a node and disks that take replicas (Schedulable True), with their tags.
    spec: {
      allowScheduling: n.refusesReplicas !== true,
      tags: [...(n.tags ?? [])],
      disks: Object.fromEntries(n.diskUUIDs.map((_uuid, i) => [`disk-${i}`, { path: `/var/lib/longhorn-${i}`, allowScheduling: true, tags: [...(n.diskTags?.[i] ?? [])] }])),
    },
    status: {
      diskStatus: Object.fromEntries(
        n.diskUUIDs.map((uuid, i) => [
          `disk-${i}`,
          { diskUUID: uuid, storageAvailable: 1e11, storageMaximum: 2e11, conditions: [{ type: 'Ready', status: 'True' }, { type: 'Schedulable', status: 'True' }] },
        ]),
      ),
      conditions: [
        { type: 'Ready', status: n.down ? 'False' : 'True', reason: n.down ? 'KubernetesNodeNotReady' : '', lastTransitionTime: TIME },
        { type: 'Schedulable', status: 'True', reason: '', lastTransitionTime: TIME },
      ],
    },
  }),
  node: (n) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: metadata(n, { labels: { ...n.labels }, annotations: { ...n.annotations, 'node.alpha.kubernetes.io/ttl': '0' } }),
    spec: n.unschedulable ? { unschedulable: true, podCIDR: '10.42.0.0/24' } : { podCIDR: '10.42.0.0/24' },
    status: {
      conditions: n.ready === '' ? [] : [{ type: 'Ready', status: n.ready, lastTransitionTime: n.readySince ? new Date(n.readySince).toISOString() : '', reason: 'KubeletReady' }],
      nodeInfo: { kubeletVersion: 'v1.33.1', osImage: 'Ubuntu 24.04', containerRuntimeVersion: 'containerd://2.0.0' },
    },
  }),
  persistentVolume: (pv) => {
    const source =
      pv.source === 'local'
        ? { local: { path: pv.hostDirectory ?? `/mnt/disks/${pv.name}` } }
        : pv.source === 'hostPath'
          ? { hostPath: { path: pv.hostDirectory ?? `/data/${pv.name}` } }
          : pv.source === 'csi'
            ? { csi: { driver: pv.driver, volumeHandle: pv.name } }
            : { nfs: { server: 'nfs.example.com', path: `/exports/${pv.name}` } };
    const provisioner = pv.source !== 'csi' && pv.driver !== '' ? { annotations: { [PROVISIONED_BY_ANNOTATION]: pv.driver } } : {};
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: metadata(pv, provisioner),
      spec: {
        ...source,
        capacity: { storage: '8Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: pv.storageClassName,
        persistentVolumeReclaimPolicy: pv.reclaimPolicy,
        ...(pv.claimName ? { claimRef: { kind: 'PersistentVolumeClaim', namespace: pv.claimNamespace, name: pv.claimName } } : {}),
        ...(pv.nodeAffinity.length ? { nodeAffinity: { required: { nodeSelectorTerms: selectorTerms(pv.nodeAffinity) } } } : {}),
      },
      status: { phase: pv.phase },
    };
  },
  persistentVolumeClaim: (c) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      ...metadata(c, { labels: { ...c.labels }, annotations: { ...c.annotations, 'pv.kubernetes.io/bind-completed': 'yes' }, ...deletion(c.deleting) }),
      uid: c.uid,
      creationTimestamp: c.creationTimestamp,
      ...(c.ownerReferences.length ? { ownerReferences: c.ownerReferences.map((o) => ({ apiVersion: 'apps/v1', kind: o.kind, name: o.name, uid: o.uid })) } : {}),
    },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '8Gi' } }, storageClassName: c.storageClassName, volumeName: c.volumeName },
    status: { phase: c.phase },
  }),
  pod: (p) => {
    // Inline data (hostPath, emptyDir) is not rendered: such pods are timed from the model on.
    if (p.hostPaths.length > 0 || p.emptyDirs.length > 0) return undefined;
    const controller = p.controllerKind === '' ? {} : { ownerReferences: [{ apiVersion: 'apps/v1', kind: p.controllerKind, name: 'owner', uid: 'uid-owner', controller: true }] };
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: metadata(p, { labels: { app: 'bench' }, ...controller }),
      spec: {
        nodeName: p.nodeName,
        volumes: p.claimNames.map((claim, i) => ({ name: `data-${i}`, persistentVolumeClaim: { claimName: claim } })),
        containers: [{ name: 'main', image: 'registry.example.com/app:v1', volumeMounts: p.claimNames.map((_, i) => ({ name: `data-${i}`, mountPath: `/data/${i}` })) }],
      },
      status: { phase: p.phase, podIP: '10.42.0.10' },
    };
  },
  statefulSet: (s) => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: {
      ...metadata(s, {
        annotations: s.helmReleaseName ? { [HELM_RELEASE_NAME_ANNOTATION]: s.helmReleaseName, [HELM_RELEASE_NAMESPACE_ANNOTATION]: s.helmReleaseNamespace } : {},
      }),
      uid: s.uid,
      creationTimestamp: s.creationTimestamp === '' ? undefined : s.creationTimestamp,
    },
    spec: {
      replicas: s.replicas,
      ...(s.ordinalsStart === 0 ? {} : { ordinals: { start: s.ordinalsStart } }),
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: s.whenScaled },
      selector: { matchLabels: { ...s.selector } },
      volumeClaimTemplates: s.claimTemplates.map((name) => ({ metadata: { name }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '8Gi' } } } })),
    },
  }),
};

/** The record as the API server's JSON, or undefined when this kind or record is not rendered. */
export function renderRaw<K extends ResourceKind>(kind: K, record: RecordByKind[K]): unknown {
  const render = RAW_RENDERERS[kind] as Renderer<K> | undefined;
  return render?.(record);
}

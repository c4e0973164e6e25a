// Building realistic cluster states on the harness's real API server with the real kubectl. kube-controller-manager
// runs beside it (StatefulSet claims, PV binding, garbage collection, namespaces, protection finalizers); there is
// no scheduler, kubelet, provisioner or Longhorn manager, so the objects they would write, and the status they
// would report, are written the way they would write them.
import { kubectl, tempFile, type CommandResult } from './cluster.ts';

export const LONGHORN_NS = 'longhorn-system';

let fileCounter = 0;

export async function must(result: Promise<CommandResult>, what: string): Promise<CommandResult> {
  const done = await result;
  if (done.code !== 0) throw new Error(`${what} failed (exit ${done.code}): ${done.stderr || done.stdout}`);
  return done;
}

/** kubectl apply of objects given as JS values. */
export async function apply(...objects: unknown[]): Promise<void> {
  const file = await tempFile(`apply-${process.pid}-${++fileCounter}.json`, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  await must(kubectl(['apply', '-f', file]), `kubectl apply ${file}`);
}

/** Writes the status subresource, as the owning controller would. */
export async function patchStatus(resource: string, name: string, status: unknown, namespace?: string): Promise<void> {
  const ns = namespace ? ['-n', namespace] : [];
  await must(
    kubectl(['patch', resource, name, ...ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]),
    `status of ${resource} ${name}`,
  );
}

/** Sets a Node's Ready condition as its kubelet would, in that state `since` (default: an hour ago). */
export async function setNodeReady(
  node: string,
  status: 'True' | 'False' | 'Unknown',
  since = new Date(Date.now() - 3_600_000).toISOString(),
): Promise<void> {
  await patchStatus('node', node, {
    conditions: [{ type: 'Ready', status, reason: status === 'True' ? 'KubeletReady' : 'NodeStatusUnknown', message: 'set by the test', lastHeartbeatTime: since, lastTransitionTime: since }],
  });
}

export async function ensureNamespace(name: string, annotations: Record<string, string> = {}): Promise<void> {
  await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, annotations } });
}

export async function createNode(name: string, labels: Record<string, string> = {}): Promise<void> {
  await apply({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } } });
}

/** A `local` PV pinned to `node`, bound to `namespace/claim` (PV and PVC both reported Bound). */
export async function createBoundLocalVolume(options: { pv: string; node: string; namespace: string; claim: string; storageClass?: string }): Promise<void> {
  const storageClassName = options.storageClass ?? 'local-storage';
  await applyBoundPair(
    {
      metadata: { name: options.pv },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName,
        local: { path: `/mnt/disks/${options.pv}` },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [options.node] }] }],
          },
        },
      },
    },
    { name: options.claim, namespace: options.namespace, storageClassName },
  );
}

/**
 * A PV and its claim, bound as the PV controller leaves them: the claim first, then the PV reserved for it by
 * uid, both reported Bound. A PV whose claimRef lacks the uid is only pre-bound: kube-controller-manager's PV
 * controller (running in every test cluster) sets it Available until it completes the binding, up to a resync
 * period later, and a check reading the PV in between would not see it bound.
 */
export async function applyBoundPair(
  pv: { metadata: { name: string; annotations?: Record<string, string> }; spec: Record<string, unknown> },
  claim: { name: string; namespace: string; storageClassName: string; annotations?: Record<string, string> },
): Promise<void> {
  await apply({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: claim.name, namespace: claim.namespace, ...(claim.annotations ? { annotations: claim.annotations } : {}) },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName: claim.storageClassName, volumeName: pv.metadata.name, resources: { requests: { storage: '1Gi' } } },
  });
  const uid = (await must(kubectl(['get', 'pvc', claim.name, '-n', claim.namespace, '-o', 'jsonpath={.metadata.uid}']), `uid of PVC ${claim.name}`)).stdout;
  await apply({ apiVersion: 'v1', kind: 'PersistentVolume', ...pv, spec: { ...pv.spec, claimRef: { namespace: claim.namespace, name: claim.name, uid } } });
  await patchStatus('pv', pv.metadata.name, { phase: 'Bound' });
  await patchStatus('pvc', claim.name, { phase: 'Bound' }, claim.namespace);
}


/**
 * A running ReplicaSet pod on `node`, placed by `nodeSelector`, writing to an inline hostPath at `path`. Its owner is
 * named under an API version the cluster does not serve, so the garbage collector leaves the pod alone.
 */
export async function createReplicaSetHostPathPod(options: {
  name: string;
  namespace: string;
  node: string;
  nodeSelector: Record<string, string>;
  replicaSet: string;
  uid: string;
  image: string;
  mountPath: string;
  path: string;
  /** Its labels, spec.affinity and the ports of its container, when it has some. */
  labels?: Record<string, string>;
  affinity?: Record<string, unknown>;
  ports?: readonly Record<string, unknown>[];
}): Promise<void> {
  await apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: options.name,
      namespace: options.namespace,
      ...(options.labels === undefined ? {} : { labels: options.labels }),
      ownerReferences: [{ apiVersion: 'apps/v1beta2', kind: 'ReplicaSet', name: options.replicaSet, uid: options.uid, controller: true }],
    },
    spec: {
      nodeName: options.node,
      nodeSelector: options.nodeSelector,
      ...(options.affinity === undefined ? {} : { affinity: options.affinity }),
      automountServiceAccountToken: false,
      containers: [
        { name: 'app', image: options.image, ...(options.ports === undefined ? {} : { ports: options.ports }), volumeMounts: [{ name: 'h', mountPath: options.mountPath }] },
      ],
      volumes: [{ name: 'h', hostPath: { path: options.path, type: 'DirectoryOrCreate' } }],
    },
  });
  await patchStatus('pod', options.name, { phase: 'Running' }, options.namespace);
}
/**
 * A running pod on `node` mounting the claims (as if scheduled and started). A pod a controller already created
 * (a StatefulSet's, Pending: no scheduler in the default cluster) is bound to the node through the binding
 * subresource, as the scheduler does. The Node is created when missing (the pod GC deletes pods of absent nodes).
 */
export async function createPod(options: { name: string; namespace: string; node: string; claims?: string[] }): Promise<void> {
  const claims = options.claims ?? [];
  if ((await kubectl(['get', 'node', options.node])).code !== 0) await createNode(options.node);
  const existing = await kubectl(['get', 'pod', options.name, '-n', options.namespace, '-o', 'jsonpath={.spec.nodeName}']);
  if (existing.code === 0) {
    if (existing.stdout === '') {
      const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: options.name, namespace: options.namespace }, target: { apiVersion: 'v1', kind: 'Node', name: options.node } };
      await must(
        kubectl(['create', '--raw', `/api/v1/namespaces/${options.namespace}/pods/${options.name}/binding`, '-f', '-'], { input: JSON.stringify(binding) }),
        `bind pod ${options.namespace}/${options.name} to ${options.node}`,
      );
    }
  } else {
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: options.name, namespace: options.namespace },
      spec: {
        nodeName: options.node,
        automountServiceAccountToken: false,
        containers: [{ name: 'app', image: 'registry.invalid/app:1', volumeMounts: claims.map((_claim, i) => ({ name: `v${i}`, mountPath: `/data/${i}` })) }],
        volumes: claims.map((claim, i) => ({ name: `v${i}`, persistentVolumeClaim: { claimName: claim } })),
      },
    });
  }
  await patchStatus('pod', options.name, { phase: 'Running' }, options.namespace);
}

/** A pod on `node` using a bound local PV there: the data a cordon or a drain of that node would strand. */
export async function createPodOnLocalVolume(options: { pod: string; node: string; namespace: string; pv: string; claim: string }): Promise<void> {
  await createBoundLocalVolume({ pv: options.pv, node: options.node, namespace: options.namespace, claim: options.claim });
  await createPod({ name: options.pod, namespace: options.namespace, node: options.node, claims: [options.claim] });
}

/** Whether the node is cordoned: `kubectl cordon` prints a refusal but exits 0, so the node tells. */
export async function isUnschedulable(node: string): Promise<boolean> {
  return (await kubectl(['get', 'node', node, '-o', 'jsonpath={.spec.unschedulable}'])).stdout === 'true';
}

export interface LonghornReplicaSpec {
  readonly node: string;
  readonly healthy?: boolean;
  readonly state?: string;
  readonly diskID?: string;
}

/** The disk UUID the harness's Longhorn nodes report for `node`. */
export function diskUUID(node: string): string {
  return `disk-${node}`;
}

/** Kubernetes Nodes reporting Ready for an hour, each with its Longhorn node (one default disk): copies there count. */
export async function readyLonghornNodes(nodes: readonly string[]): Promise<void> {
  for (const node of nodes) {
    await createNode(node);
    await setNodeReady(node, 'True');
    await createLonghornNode(node);
  }
}

/** A Longhorn node object with one disk (diskStatus as longhorn-manager reports it). */
export async function createLonghornNode(node: string, disks: string[] = [diskUUID(node)]): Promise<void> {
  await apply({
    apiVersion: 'longhorn.io/v1beta2',
    kind: 'Node',
    metadata: { name: node, namespace: LONGHORN_NS },
    spec: { allowScheduling: true, disks: Object.fromEntries(disks.map((_uuid, i) => [`disk-${i}`, { path: `/var/lib/longhorn-${i}`, allowScheduling: true }])) },
  });
  // Ready and Schedulable, as longhorn-manager reports a node and disks that take replicas.
  const conditions = [
    { type: 'Ready', status: 'True' },
    { type: 'Schedulable', status: 'True' },
  ];
  await patchStatus(
    'nodes.longhorn.io',
    node,
    { conditions, diskStatus: Object.fromEntries(disks.map((uuid, i) => [`disk-${i}`, { diskUUID: uuid, conditions }])) },
    LONGHORN_NS,
  );
}

/**
 * A Longhorn volume with its replicas, bound to a PV/PVC of the same name when `claim` is given
 * (as the Longhorn CSI driver names them).
 */
export async function createLonghornVolume(options: {
  name: string;
  numberOfReplicas?: number;
  state?: 'attached' | 'detached' | 'attaching';
  robustness?: string;
  attachedNode?: string;
  replicas: LonghornReplicaSpec[];
  claim?: { namespace: string; name: string };
}): Promise<void> {
  const state = options.state ?? 'attached';
  await apply({
    apiVersion: 'longhorn.io/v1beta2',
    kind: 'Volume',
    metadata: { name: options.name, namespace: LONGHORN_NS },
    spec: { numberOfReplicas: options.numberOfReplicas ?? options.replicas.length, dataLocality: 'disabled' },
  });
  await patchStatus(
    'volumes.longhorn.io',
    options.name,
    {
      state,
      robustness: options.robustness ?? (state === 'detached' ? 'unknown' : 'healthy'),
      currentNodeID: state === 'detached' ? '' : (options.attachedNode ?? options.replicas[0]?.node ?? ''),
      kubernetesStatus: options.claim
        ? { namespace: options.claim.namespace, pvcName: options.claim.name, pvName: options.name, workloadsStatus: [] }
        : {},
    },
    LONGHORN_NS,
  );
  for (const [i, replica] of options.replicas.entries()) {
    const name = `${options.name}-r-${i}`;
    const healthy = replica.healthy ?? true;
    await apply({
      apiVersion: 'longhorn.io/v1beta2',
      kind: 'Replica',
      metadata: { name, namespace: LONGHORN_NS, labels: { longhornvolume: options.name, longhornnode: replica.node } },
      spec: {
        volumeName: options.name,
        nodeID: replica.node,
        diskID: replica.diskID ?? diskUUID(replica.node),
        healthyAt: healthy ? '2026-01-01T00:00:00Z' : '',
        failedAt: healthy ? '' : '2026-01-02T00:00:00Z',
        desireState: state === 'detached' ? 'stopped' : 'running',
      },
    });
    await patchStatus(
      'replicas.longhorn.io',
      name,
      { currentState: replica.state ?? (state === 'detached' ? 'stopped' : 'running') },
      LONGHORN_NS,
    );
  }
}

/**
 * Deletes everything the scenario helpers create with this label or name; ignores what is already gone. A target
 * volume-guard refuses (a Longhorn replica that is still its volume's last copy, listed before its volume) is tried
 * again after the others, until volume-guard has seen them go (bounded).
 */
export async function deleteObjects(...args: string[][]): Promise<void> {
  const refused: string[][] = [];
  for (const target of args) {
    const result = await kubectl(['delete', ...target, '--ignore-not-found', '--wait=false']);
    if (result.code !== 0 && result.stderr.includes('denied the request')) refused.push(target);
  }
  for (const target of refused) {
    await eventually(
      () => kubectl(['delete', ...target, '--ignore-not-found', '--wait=false']),
      (result) => result.code === 0 || !result.stderr.includes('denied the request'),
      10_000,
    );
  }
}

/**
 * Runs `sample` over and over, `pauseMs` apart, until `stop()`, which returns every result in order: what a probe
 * saw while something else happened (a rollout, a drain, a certificate change).
 */
export function sampleUntilStopped<T>(sample: () => Promise<T>, pauseMs: number): { readonly count: () => number; readonly stop: () => Promise<T[]> } {
  let stopped = false;
  const samples: T[] = [];
  const loop = (async () => {
    while (!stopped) {
      samples.push(await sample());
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  })();
  return {
    count: () => samples.length,
    stop: async () => {
      stopped = true;
      await loop;
      return samples;
    },
  };
}

/** Retries `attempt` until it returns true (the model follows the API server by a watch event or two). */
export async function eventually<T>(attempt: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await attempt();
    if (accept(last) || Date.now() > deadline) return last;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/**
 * Deletes a PV of this name left by an earlier run: the PV controller keeps a Released PV reserved for the claim
 * (by uid) it was bound to, so re-applying it for a new claim of the same name would never bind.
 */
export async function removeLeftoverPv(name: string): Promise<void> {
  const phase = (await kubectl(['get', 'pv', name, '-o', 'jsonpath={.status.phase}'])).stdout;
  if (phase === 'Released' || phase === 'Failed') await kubectl(['delete', 'pv', name, '--ignore-not-found', '--timeout=60s']);
}

/**
 * The PVCs of a live StatefulSet, `<template>-<sts>-<ordinal>`, are created by the StatefulSet controller
 * (kube-controller-manager runs in every test cluster); no provisioner runs, so each gets a Retain PV reserved for
 * it (claimRef with its uid), as a provisioner would create one, and the PV controller binds the two. Resolves
 * the claims' names once all are Bound. (With OrderedReady, ordinal 1 only comes once pod 0 is Ready.)
 */
export async function createStatefulSetClaims(namespace: string, statefulSet: string, timeoutMs = 60_000): Promise<string[]> {
  const got = await must(kubectl(['get', 'statefulset', statefulSet, '-n', namespace, '-o', 'json']), `get statefulset ${statefulSet}`);
  const sts = JSON.parse(got.stdout) as { spec: { replicas?: number; volumeClaimTemplates?: { metadata: { name: string } }[] } };
  const names: string[] = [];
  for (let ordinal = 0; ordinal < (sts.spec.replicas ?? 1); ordinal++) {
    for (const template of sts.spec.volumeClaimTemplates ?? []) {
      const name = `${template.metadata.name}-${statefulSet}-${ordinal}`;
      const pvName = `pv-${namespace}-${name}`.slice(0, 63);
      const claim = await eventually(
        () => kubectl(['get', 'pvc', name, '-n', namespace, '-o', 'jsonpath={.metadata.uid} {.spec.storageClassName}']),
        (r) => r.code === 0,
        timeoutMs,
      );
      if (claim.code !== 0) throw new Error(`the StatefulSet controller did not create PVC ${namespace}/${name} within ${timeoutMs / 1000} s`);
      const [uid, storageClassName = ''] = claim.stdout.split(' ');
      await removeLeftoverPv(pvName);
      await apply({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: pvName }, spec: { ...csiVolumeSpec(pvName, 'Retain', storageClassName), claimRef: { namespace, name, uid } } });
      const bound = await eventually(() => kubectl(['get', 'pvc', name, '-n', namespace, '-o', 'jsonpath={.status.phase}']), (r) => r.stdout === 'Bound', timeoutMs);
      if (bound.stdout !== 'Bound') throw new Error(`PVC ${namespace}/${name} not bound to ${pvName} within ${timeoutMs / 1000} s (${bound.stdout || bound.stderr})`);
      names.push(name);
    }
  }
  return names;
}

/** The spec of a 1 GiB network-attached (CSI) PV, as a provisioner creates it (claimRef added by the caller). */
export function csiVolumeSpec(name: string, reclaimPolicy: 'Retain' | 'Delete', storageClassName: string): Record<string, unknown> {
  return {
    capacity: { storage: '1Gi' },
    accessModes: ['ReadWriteOnce'],
    persistentVolumeReclaimPolicy: reclaimPolicy,
    storageClassName,
    csi: { driver: 'pd.csi.storage.gke.io', volumeHandle: name },
  };
}

/** A Bound PVC with a PV of the given reclaim policy, as a provisioner would leave it. */
export async function boundClaim(namespace: string, name: string, reclaimPolicy: 'Retain' | 'Delete', annotations: Record<string, string> = {}): Promise<void> {
  const pvName = `pv-${namespace}-${name}`.slice(0, 63);
  await removeLeftoverPv(pvName);
  await applyBoundPair({ metadata: { name: pvName }, spec: csiVolumeSpec(pvName, reclaimPolicy, 'standard') }, { name, namespace, storageClassName: 'standard', annotations });
}

/**
 * A Bound claim `namespace/claim` owned by the live StatefulSet `statefulSet`, as the StatefulSet controller writes
 * it under retention whenDeleted: Delete (no pod: no scheduler or kubelet here), with its PV (csi, `reclaimPolicy`)
 * reserved for it by uid, as the PV controller leaves a bound pair.
 */
export async function ownedBoundClaim(options: {
  namespace: string;
  statefulSet: string;
  claim: string;
  reclaimPolicy: 'Retain' | 'Delete';
  labels?: Record<string, string>;
}): Promise<string> {
  const { namespace, claim } = options;
  const pvName = `pv-${namespace}-${claim}`.slice(0, 63);
  const uid = (await must(kubectl(['get', 'statefulset', options.statefulSet, '-n', namespace, '-o', 'jsonpath={.metadata.uid}']), 'uid')).stdout;
  await removeLeftoverPv(pvName);
  await apply({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: claim,
      namespace,
      labels: options.labels ?? {},
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: options.statefulSet, uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'standard', volumeName: pvName, resources: { requests: { storage: '1Gi' } } },
  });
  const claimUid = (await must(kubectl(['get', 'pvc', claim, '-n', namespace, '-o', 'jsonpath={.metadata.uid}']), 'claim uid')).stdout;
  await apply({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: pvName },
    spec: { ...csiVolumeSpec(pvName, options.reclaimPolicy, 'standard'), claimRef: { namespace, name: claim, uid: claimUid } },
  });
  await patchStatus('pv', pvName, { phase: 'Bound' });
  await patchStatus('pvc', claim, { phase: 'Bound' }, namespace);
  return pvName;
}

/** volume_guard_model_objects for a resource (e.g. `persistentvolumeclaims`), read from the guard's metrics. */
export async function modelCount(opsUrl: string, resource: string): Promise<number> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`volume_guard_model_objects{resource="${resource}"}`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** How many objects of `resource` the API server lists, all namespaces (terminating ones included, as in the model). */
async function apiCount(resource: string): Promise<number> {
  const listed = await must(kubectl(['get', resource, '--all-namespaces', '-o', 'name']), `list ${resource}`);
  return listed.stdout.split('\n').filter((line) => line !== '').length;
}

/**
 * Runs `change`, then waits until the guard's model holds as many `resource` objects as the API server lists. Counting
 * against the API server rather than "one more than before" keeps the wait right while controllers finish earlier work
 * (a PVC whose pvc-protection finalizer goes away after a helm uninstall, a pod the garbage collector removes).
 */
export async function changeAndWait(opsUrl: string, resource: string, change: () => Promise<unknown>): Promise<void> {
  await change();
  let last = { api: 0, model: -1 };
  const synced = await eventually(
    async () => {
      const api = await apiCount(resource);
      last = { api, model: await modelCount(opsUrl, resource) };
      return last.api === last.model;
    },
    (equal) => equal,
  );
  if (!synced) throw new Error(`volume-guard's model holds ${last.model} ${resource}, the API server lists ${last.api}`);
}

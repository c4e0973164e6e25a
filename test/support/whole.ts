// Helpers for end-to-end tests on the whole cluster (test/harness/node.ts): real controllers, a real node running
// real containers from the local images, KWOK fake nodes. Tests using them skip when the cluster is not whole.
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WholeClusterInfo } from '../harness/cluster.ts';
import { kubectl } from '../harness/cluster.ts';
import { FAKE_NODE_TOLERATION } from '../harness/node.ts';
import { apply, must } from '../harness/scenario.ts';

export const LOCAL_STORAGE_CLASS = 'vg-local';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The real node's `local` StorageClass: no provisioner, bound when the first pod is scheduled. */
export async function ensureLocalStorageClass(): Promise<void> {
  await apply({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: LOCAL_STORAGE_CLASS },
    provisioner: 'kubernetes.io/no-provisioner',
    volumeBindingMode: 'WaitForFirstConsumer',
    reclaimPolicy: 'Retain',
  });
}

/** A real node: the first (WholeClusterInfo) or the second (SecondNodeInfo of test/harness/node.ts). */
export type RealNode = Pick<WholeClusterInfo, 'nodeName' | 'localVolumeDir'>;

/** A `local` PV on a real node backed by a fresh directory under that node's local volume dir; returns the dir. */
export async function createLocalPv(node: RealNode, name: string, size = '1Gi'): Promise<string> {
  const dir = join(node.localVolumeDir, name);
  await mkdir(dir, { recursive: true });
  await ensureLocalStorageClass();
  await apply({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name },
    spec: {
      capacity: { storage: size },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Retain',
      storageClassName: LOCAL_STORAGE_CLASS,
      local: { path: dir },
      nodeAffinity: {
        required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node.nodeName] }] }] },
      },
    },
  });
  return dir;
}

/** Polls `kubectl get <args> -o jsonpath=<path>` until `accept` holds; returns the last value. */
export async function waitJsonpath(args: readonly string[], path: string, accept: (v: string) => boolean, timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const r = await kubectl(['get', ...args, '-o', `jsonpath=${path}`], { timeoutMs: 15_000 });
    last = r.code === 0 ? r.stdout : `(error: ${r.stderr.trim()})`;
    if (r.code === 0 && accept(last)) return last;
    if (Date.now() > deadline) throw new Error(`kubectl get ${args.join(' ')} ${path}: still ${JSON.stringify(last)} after ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}

export async function waitPodRunning(namespace: string, name: string, timeoutMs = 90_000): Promise<void> {
  await waitJsonpath(['pod', name, '-n', namespace], '{.status.phase}', (v) => v === 'Running', timeoutMs);
}

/** A pod spec fragment for busybox on the real node: no pulls. */
export function busyboxContainer(whole: WholeClusterInfo, name: string, script: string, mounts: { name: string; mountPath: string }[] = []) {
  return { name, image: whole.images.busybox, imagePullPolicy: 'Never', command: ['sh', '-c', script], volumeMounts: mounts };
}

/**
 * StatefulSet `db` (one replica, busybox running `script`) whose claim `data` (1Gi, the local StorageClass) is
 * mounted at /data: its pod lands on the real node whose local PV the claim binds (createLocalPv).
 */
export function localDbStatefulSet(whole: WholeClusterInfo, namespace: string, script: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace },
    spec: {
      serviceName: 'db',
      replicas: 1,
      selector: { matchLabels: { app: 'db' } },
      template: {
        metadata: { labels: { app: 'db' } },
        spec: { terminationGracePeriodSeconds: 1, containers: [busyboxContainer(whole, 'db', script, [{ name: 'data', mountPath: '/data' }])] },
      },
      volumeClaimTemplates: [
        { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: LOCAL_STORAGE_CLASS, resources: { requests: { storage: '1Gi' } } } },
      ],
    },
  };
}

export const fakeNodeToleration = FAKE_NODE_TOLERATION;

/**
 * A Deployment of `replicas` pods on KWOK fake nodes, spread one per node where it can be (preferred anti-affinity),
 * waited until all are ready. The image is never pulled: KWOK only pretends to run it.
 */
export async function spreadOverFakeNodes(namespace: string, name: string, replicas: number): Promise<void> {
  await apply({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          nodeSelector: { type: 'kwok' },
          tolerations: [fakeNodeToleration],
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: name } } } },
              ],
            },
          },
          containers: [{ name: 'app', image: `registry.invalid/${name}:1` }],
        },
      },
    },
  });
  await waitJsonpath(['deployment', name, '-n', namespace], '{.status.readyReplicas}', (v) => v === String(replicas));
}

/** Waits until the file exists and holds `expected`. */
export async function waitFileContent(file: string, expected: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(file) && (await readFile(file, 'utf8')) === expected) return;
    if (Date.now() > deadline) throw new Error(`${file} does not hold ${JSON.stringify(expected)} after ${timeoutMs / 1000} s`);
    await sleep(300);
  }
}

/** Deletes a namespace and waits until it is gone (the namespace controller runs in the whole cluster). */
export async function deleteNamespaceAndWait(namespace: string, timeoutMs = 120_000): Promise<void> {
  await kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
  const deadline = Date.now() + timeoutMs;
  while ((await kubectl(['get', 'namespace', namespace])).code === 0) {
    if (Date.now() > deadline) throw new Error(`namespace ${namespace} still there after ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}

/** Creates a namespace and waits for its "default" ServiceAccount (the token controller creates it). */
export async function freshNamespace(namespace: string): Promise<void> {
  await deleteNamespaceAndWait(namespace);
  await must(kubectl(['create', 'namespace', namespace]), `create namespace ${namespace}`);
  await waitJsonpath(['serviceaccount', 'default', '-n', namespace], '{.metadata.name}', (v) => v === 'default', 30_000);
}

/**
 * Cuts a fake node's kubelet off from the API server, as a network partition would: a ValidatingAdmissionPolicy
 * (in-tree CEL, no webhook) refuses the renewals of its Lease and every status write reporting it Ready, which is
 * all KWOK sends for it. kube-controller-manager's node lifecycle then sees no heartbeat and turns its Ready
 * condition Unknown after its grace period (that write, Ready=Unknown, passes). Returns the heal function.
 */
export async function partitionNode(node: string): Promise<() => Promise<void>> {
  const name = `vg-test-partition-${node}`;
  await apply(
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            { apiGroups: ['coordination.k8s.io'], apiVersions: ['v1'], resources: ['leases'], operations: ['UPDATE'] },
            { apiGroups: [''], apiVersions: ['v1'], resources: ['nodes/status'], operations: ['UPDATE'] },
          ],
        },
        matchConditions: [{ name: 'this-node', expression: `object.metadata.name == ${JSON.stringify(node)}` }],
        validations: [
          {
            expression:
              "!(request.resource.resource == 'leases' && request.namespace == 'kube-node-lease') && " +
              "!(request.resource.resource == 'nodes' && has(object.status.conditions) && object.status.conditions.exists(c, c.type == 'Ready' && c.status == 'True'))",
            message: `test partition: the kubelet of ${node} cannot reach the API server`,
          },
        ],
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name },
      spec: { policyName: name, validationActions: ['Deny'] },
    },
  );
  return async () => {
    await kubectl(['delete', 'validatingadmissionpolicybinding,validatingadmissionpolicy', name, '--ignore-not-found']);
    // A kubelet retries its status every 10 s; KWOK drops a refused write and only looks at the node again on its
    // next change: an annotation is that change (its stages then report Ready again). Repeated every 10 s, as the
    // API server may still apply the deleted policy for a moment.
    const deadline = Date.now() + 240_000;
    while (Date.now() < deadline) {
      await kubectl(['annotate', 'node', node, `vg-test/reconnected=${Date.now()}`, '--overwrite']);
      for (let i = 0; i < 20; i++) {
        if ((await nodeReadyStatus(node)) === 'True') return;
        await sleep(500);
      }
    }
  };
}

/** The Ready condition's status of a node ('True', 'False', 'Unknown'). */
export async function nodeReadyStatus(node: string): Promise<string> {
  return (await kubectl(['get', 'node', node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout;
}

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

/** A `local` PV on the real node backed by a fresh directory under the cluster's local volume dir; returns the dir. */
export async function createLocalPv(whole: WholeClusterInfo, name: string, size = '1Gi'): Promise<string> {
  const dir = join(whole.localVolumeDir, name);
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
        required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [whole.nodeName] }] }] },
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

export const fakeNodeToleration = FAKE_NODE_TOLERATION;

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

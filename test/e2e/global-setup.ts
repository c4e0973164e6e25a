// Before the end-to-end suite: the real API server with kube-controller-manager (built on first use; the whole
// cluster when asked for), volume-guard serving from the working tree against it, and the webhooks registered and
// verified to be called. After: volume-guard stopped again (the cluster keeps running: `cluster:down` stops it).
import type { TestProject } from 'vitest/node';
import type { ClusterInfo } from '../harness/cluster.ts';
import { ensureDefaultCluster, ensureWholeCluster, wholeRequested } from '../harness/node.ts';
import { registerWebhooks, removeStaleRegistrations, startGuard, unregisterWebhooks, type GuardInstance } from '../harness/guard.ts';

export interface ProvidedGuard {
  readonly url: string;
  readonly opsUrl: string;
  readonly logFile: string;
  readonly caPem: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ClusterInfo;
    guard: ProvidedGuard;
  }
}

let guard: GuardInstance | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`[e2e setup] ${line}\n`);
  // The whole cluster (controllers, a real node, KWOK) when asked for (VG_WHOLE_CLUSTER=1 or `cluster:up --whole`);
  // else the API server with kube-controller-manager (test/harness/node.ts ensureDefaultCluster).
  const cluster = wholeRequested() ? await ensureWholeCluster({ log }) : await ensureDefaultCluster({ log });

  await removeStaleRegistrations();
  guard = await startGuard(cluster, { name: `e2e-${process.pid}` });
  await registerWebhooks(guard);
  log(`volume-guard registered at ${guard.url} (${Math.round((Date.now() - started) / 1000)} s)`);
  project.provide('cluster', cluster);
  project.provide('guard', { url: guard.url, opsUrl: guard.opsUrl, logFile: guard.logFile, caPem: guard.caPem });
  return async () => {
    await unregisterWebhooks().catch(() => undefined);
    await guard?.stop();
  };
}

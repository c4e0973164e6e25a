// The volume-guard that `npm run cluster:up` leaves running against the local cluster, registered as its webhook,
// so kubectl and helm can be tried on a guarded cluster by hand. `cluster:down` stops it.
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { paths, type ClusterInfo, type Log } from '../test/harness/cluster.ts';
import { registerWebhooks, startGuard, unregisterWebhooks, waitFor } from '../test/harness/guard.ts';

export const LOCAL_GUARD_NAME = 'local';
export const LOCAL_WEBHOOK_CONFIGURATION = 'volume-guard-local';
const dir = join(paths.dir, 'guard', LOCAL_GUARD_NAME);

export interface LocalGuard {
  readonly url: string;
  readonly opsUrl: string;
  readonly logFile: string;
}

function runningPid(): number | undefined {
  const pidFile = join(dir, 'pid');
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export function localGuard(): LocalGuard | undefined {
  if (runningPid() === undefined) return undefined;
  return JSON.parse(readFileSync(join(dir, 'instance.json'), 'utf8')) as LocalGuard;
}

/** Starts (or reuses) the local volume-guard and registers it; idempotent. */
export async function ensureLocalGuard(cluster: ClusterInfo, log: Log): Promise<LocalGuard> {
  const running = localGuard();
  if (running) {
    log(`volume-guard: already running (${running.url}, log ${running.logFile})`);
    return running;
  }
  log('volume-guard: starting from the working tree …');
  const guard = await startGuard(cluster, { name: LOCAL_GUARD_NAME, detached: true });
  log('volume-guard: registering the webhook configurations and waiting until the API server calls them …');
  await registerWebhooks(guard, { name: LOCAL_WEBHOOK_CONFIGURATION });
  log(`volume-guard: serving ${guard.url}, metrics ${guard.opsUrl}/metrics, log ${guard.logFile}`);
  return { url: guard.url, opsUrl: guard.opsUrl, logFile: guard.logFile };
}

/** Unregisters (while the API server still runs) and stops the local volume-guard; idempotent. */
export async function stopLocalGuard(log: Log, options: { apiServerRunning: boolean }): Promise<void> {
  if (options.apiServerRunning) await unregisterWebhooks(LOCAL_WEBHOOK_CONFIGURATION);
  const pid = runningPid();
  if (pid === undefined) return;
  process.kill(pid, 'SIGTERM');
  await waitFor(`volume-guard (pid ${pid}) to exit`, 20_000, async () => runningPid() === undefined).catch(() => process.kill(pid, 'SIGKILL'));
  await rm(join(dir, 'pid'), { force: true });
  log(`volume-guard: stopped (pid ${pid})`);
}

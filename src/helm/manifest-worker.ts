// Worker thread body of the manifest pool: reads one release record per message.
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { MANIFEST_WORKER_NICE, WORKER_COLLECT_AFTER_BYTES, WORKER_COLLECT_NOW_BYTES, WORKER_COLLECT_AFTER_IDLE_MS, WORKER_COMPACT_AFTER_IDLE_MS } from './manifest-pool.ts';
import { readRelease, type ReadOutcome, type ReadReleaseJob } from './read-release.ts';
import { garbageCollector, heldBytes, MemoryKeeper } from './worker-memory.ts';

try {
  setPriority(MANIFEST_WORKER_NICE);
} catch {
  // Not allowed here (a restrictive seccomp profile): same priority as the event loop.
}

const gc = garbageCollector();
const keeper = gc
  ? new MemoryKeeper({
      gc,
      held: heldBytes,
      collectAfterBytes: WORKER_COLLECT_AFTER_BYTES,
      collectNowBytes: WORKER_COLLECT_NOW_BYTES,
      idleCollectMs: WORKER_COLLECT_AFTER_IDLE_MS,
      idleCompactMs: WORKER_COMPACT_AFTER_IDLE_MS,
    })
  : undefined;

interface JobMessage {
  readonly id: number;
  readonly job: ReadReleaseJob;
}

parentPort?.on('message', (message: JobMessage) => {
  keeper?.beforeRecord();
  let outcome: ReadOutcome;
  try {
    outcome = readRelease(message.job);
  } catch {
    // Unexpected (a stack overflow on absurd input lands in parseManifest's own handler): never the payload.
    outcome = { ok: false, failure: 'worker', reason: 'release record could not be read' };
  }
  parentPort?.postMessage({ id: message.id, outcome });
  keeper?.afterRecord();
});

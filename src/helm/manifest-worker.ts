// Worker thread body of the manifest pool: reads one release record per message.
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { MANIFEST_WORKER_NICE, WORKER_COLLECT_AFTER_BYTES, WORKER_COMPACT_AFTER_IDLE_MS } from './manifest-pool.ts';
import { readRelease, type ReadOutcome, type ReadReleaseJob } from './read-release.ts';
import { collectAfterGrowth, garbageCollector, heldBytes } from './worker-memory.ts';

try {
  setPriority(MANIFEST_WORKER_NICE);
} catch {
  // Not allowed here (a restrictive seccomp profile): same priority as the event loop.
}

const gc = garbageCollector();
const afterRecord = gc ? collectAfterGrowth({ collect: gc.collect, held: heldBytes, afterBytes: WORKER_COLLECT_AFTER_BYTES }) : () => false;
/** Runs while the worker waits for its next record: a worker idle that long gives its heap's spare pages back. */
let compaction: NodeJS.Timeout | undefined;

interface JobMessage {
  readonly id: number;
  readonly job: ReadReleaseJob;
}

parentPort?.on('message', (message: JobMessage) => {
  if (compaction) clearTimeout(compaction);
  let outcome: ReadOutcome;
  try {
    outcome = readRelease(message.job);
  } catch {
    // Unexpected (a stack overflow on absurd input lands in parseManifest's own handler): never the payload.
    outcome = { ok: false, failure: 'worker', reason: 'release record could not be read' };
  }
  parentPort?.postMessage({ id: message.id, outcome });
  // After the answer went out: the collection (a few ms) delays only this worker's next record.
  afterRecord();
  if (gc) compaction = setTimeout(gc.compact, WORKER_COMPACT_AFTER_IDLE_MS);
});

// A stand-in manifest worker for the pool's scheduling tests: it answers each record at once with its thread id and
// the number of compactions it was asked for, announces a collection after every record, and ends that collection
// COLLECT_MS later (or VOLUME_GUARD_TEST_COLLECT_MS). The real worker's reading is tested in manifest-pool.test.ts.
// A record whose object is `{ readMs }` stands for one that takes that long to read: the thread is blocked that long
// (as by a costly parse, without using the CPU), then answers without collecting; `{ crash: true }` ends the thread.
import { parentPort, threadId } from 'node:worker_threads';
import type { WorkerReply, WorkerRequest } from '../../../src/helm/manifest-pool.ts';

export const COLLECT_MS = 300;
/** A test may shorten the collection for the workers it starts. */
const collectMs = Number(process.env.VOLUME_GUARD_TEST_COLLECT_MS) || COLLECT_MS;
let compactions = 0;

parentPort?.on('message', (message: WorkerRequest) => {
  if ('compact' in message) {
    compactions++;
    parentPort?.postMessage({ collected: true } satisfies WorkerReply);
    return;
  }
  const reason = JSON.stringify({ threadId, compactions });
  const object = message.job.object as { readMs?: number; crash?: boolean } | null;
  if (object?.crash === true) process.exit(1);
  if (typeof object?.readMs === 'number') {
    if (object.readMs > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, object.readMs);
    parentPort?.postMessage({ id: message.id, outcome: { ok: false, failure: 'decode', reason }, collecting: false } satisfies WorkerReply);
    return;
  }
  parentPort?.postMessage({ id: message.id, outcome: { ok: false, failure: 'decode', reason }, collecting: true } satisfies WorkerReply);
  // Blocks the thread as a real collection does: a record sent meanwhile waits in the port.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, collectMs);
  parentPort?.postMessage({ collected: true } satisfies WorkerReply);
});

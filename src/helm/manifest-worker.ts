// Worker thread body of the manifest pool: reads one release record per message.
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { MANIFEST_WORKER_NICE, WORKER_COLLECT_AFTER_BYTES, type WorkerReply, type WorkerRequest } from './manifest-pool.ts';
import { readRelease, type ReadOutcome } from './read-release.ts';
import { garbageCollector, growthCollector, heldBytes } from './worker-memory.ts';

try {
  setPriority(MANIFEST_WORKER_NICE);
} catch {
  // Not allowed here (a restrictive seccomp profile): same priority as the event loop.
}

const gc = garbageCollector();
const growth = gc ? growthCollector({ collect: gc.collect, held: heldBytes, afterBytes: WORKER_COLLECT_AFTER_BYTES }) : undefined;

parentPort?.on('message', (message: WorkerRequest) => {
  if ('compact' in message) {
    gc?.compact();
    parentPort?.postMessage({ collected: true } satisfies WorkerReply);
    return;
  }
  let outcome: ReadOutcome;
  try {
    outcome = readRelease(message.job);
  } catch {
    // Unexpected (a stack overflow on absurd input lands in parseManifest's own handler): never the payload.
    outcome = { ok: false, failure: 'worker', reason: 'release record could not be read' };
  }
  // The answer goes out first; a collection after it (a few ms) is announced, so the pool gives the next record to
  // another worker meanwhile instead of making it wait here. Otherwise the record's garbage is scavenged once this
  // handler has returned, when all of it is dead (GarbageCollector.scavenge: 1 MB releases read in about a third
  // less CPU, measured); scavenged from within, the record and the outcome still referenced here would be copied and
  // promoted (some 40 KB a 100 KB release, measured), filling the old generation for the next full collection.
  // An immediate runs before the next message is taken.
  const collecting = growth?.due() ?? false;
  parentPort?.postMessage({ id: message.id, outcome, collecting } satisfies WorkerReply);
  if (collecting) {
    growth?.collect();
    parentPort?.postMessage({ collected: true } satisfies WorkerReply);
  } else if (gc) {
    setImmediate(gc.scavenge);
  }
});

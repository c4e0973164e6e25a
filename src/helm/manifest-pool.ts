// A small pool of worker threads that read release records (decode + manifest parse) off the event loop.
//
// - Bounded: at most `workers` records are read at once; at most `queue` wait; more are answered `busy` at once.
// - Fair between namespaces (the namespace a record is stored in: whoever can write Secrets there sent it), yet
//   work-conserving. A namespace's share is `workers - 1` workers (1 of the default 2; with one worker, that one).
//   Its records take a free worker beyond its share while no other namespace has a record waiting (a burst of one
//   namespace, as Flux's flux-system or helmfile send, uses every worker), unless it is suspect: one of its records
//   held a worker for half the deadline or more, or crashed it, within SUSPECT_NAMESPACE_MS (10 minutes, renewed by
//   each such record). A suspect namespace holds its share at most. Records beyond what may be taken wait; waiting
//   records are taken namespace by namespace, the one served longest ago first. With the queue full, a record from a
//   namespace with fewer waiting takes the place of the newest record of the namespace with most waiting, which is
//   refused `busy` naming it.
// - Deadline: a record not read within `deadlineMs` of its arrival (waiting included, a thread's start-up not: a
//   record handed to a starting thread goes on with what was left of its deadline once the thread is online) is
//   answered `timeout`; a worker still busy with it is terminated and replaced. The deadline counts waiting so that
//   a refusal with its reason reaches the API server within its webhook timeout (the chart keeps that above the
//   deadline).
// - What a hostile namespace costs the others, with two workers or more: a record that held a worker for half the
//   deadline or more makes its namespace suspect when it is answered or times out. Only its first costly records
//   (as many as it sends at once to an idle pool) can hold every worker, for one deadline at most, and records of
//   other namespaces arriving meanwhile may be refused `timeout`: once, and again only after 10 minutes without a
//   costly record. Otherwise a record of another namespace waits under half a deadline for a worker (round-robin:
//   the next one free is its) and has the rest to be read. Suspect, the namespace holds `workers - 1` workers, and
//   the others are read on the last one. What remains: namespaces acting together (as many as there are workers)
//   can hold every worker, each costly record for up to a deadline; more workers raise that number. With one worker
//   there is no such bound: each costly record holds it for up to a deadline, and records of other namespaces waiting
//   behind it are refused (they are at least next).
// - Workers start on first use, are unref'd (they never keep the process alive) and have a heap limit.
// - A worker idle for `idleMs` (default WORKER_IDLE_MS) exits: each costs some 30-45 MB of memory just by running,
//   and Helm releases come in bursts; the next record starts one again (its start-up not counted in the deadline).
// - A worker collects its garbage after a record that left much of it, and shrinks its heap after a second without
//   records (manifest-worker.ts, worker-memory.ts). While it collects it takes no record: the next one goes to
//   another worker, or waits for the first one free, instead of waiting behind the collection. It does not wait
//   for a thread started for it: a collection ends sooner than a thread starts.
// - Workers run at a lower CPU priority than the event loop (MANIFEST_WORKER_NICE).
import { Worker } from 'node:worker_threads';
import { formatBytes } from './release.ts';
import type { ReadOutcome, ReadReleaseJob } from './read-release.ts';
import { spansItsBuffer } from '../json-bytes.ts';

export interface ManifestPoolOptions {
  readonly workers: number;
  readonly deadlineMs: number;
  readonly queue: number;
  /** Heap limit of each worker (default 256 MiB): a record beyond it fails alone. */
  readonly maxHeapMb?: number;
  /** A worker without a record for this long exits (default WORKER_IDLE_MS). */
  readonly idleMs?: number;
  /** A worker without a record for this long shrinks its heap (default WORKER_COMPACT_AFTER_IDLE_MS). */
  readonly compactAfterIdleMs?: number;
  /** The worker's script (tests: a scripted stand-in for the pool's own scheduling); default manifest-worker. */
  readonly workerUrl?: URL;
  /** How long a namespace stays suspect after a costly record (default SUSPECT_NAMESPACE_MS). */
  readonly suspectMs?: number;
}

interface Pending {
  readonly id: number;
  job: ReadReleaseJob;
  /** The namespace it is counted against: the one its record is stored in. */
  readonly namespace: string;
  readonly resolve: (outcome: ReadOutcome) => void;
  /** When it arrived (performance.now()): its deadline counts from here, a thread's start-up left out. */
  readonly arrivedAt: number;
  timer?: NodeJS.Timeout;
  settled: boolean;
  /** A worker has it (counted in its namespace's `reading`). */
  reading: boolean;
  /** How long it waited before a worker took it. */
  waitedMs?: number;
  /** When its worker began reading it (the thread online and the record sent). */
  readingSince?: number;
}

/** A namespace with records in the pool: those waiting, in order, and how many workers its records hold. */
interface NamespaceShare {
  readonly waiting: Pending[];
  reading: number;
  /** When a worker last took one of its records (the pool's count of records taken): the longest ago goes first. */
  servedAt: number;
}

/** What the pool sends a worker: a record to read, or (after a while without records) the order to shrink its heap. */
export type WorkerRequest = { readonly id: number; readonly job: ReadReleaseJob } | { readonly compact: true };

/** What a worker answers: a record's outcome (and whether it collects now), or that its collection is over. */
export type WorkerReply = { readonly id: number; readonly outcome: ReadOutcome; readonly collecting: boolean } | { readonly collected: true };

interface Slot {
  readonly worker: Worker;
  current?: Pending;
  /** The worker is collecting its garbage: it takes no record until it says it is done. */
  collecting: boolean;
  /** Running while the worker has no record: it exits when this fires. */
  idle?: NodeJS.Timeout;
  /** Running while the worker has no record: it shrinks its heap when this fires. */
  compaction?: NodeJS.Timeout;
  /** The worker has shrunk its heap since its last record (once per idle spell is enough). */
  compacted: boolean;
  /** The thread has started: until then its start-up time is not counted against a record's deadline. */
  online: boolean;
}

/**
 * The nice value each worker gives its own thread. Reading manifests is background work: on Linux a nice value
 * belongs to a thread, so a worker yields the CPU to the event loop (every other admission's answer) whenever both
 * want it, and uses it fully otherwise. Raising one's own value needs no privilege; where it is refused, the worker
 * runs as before. 19, the lowest priority (a CPU share of about 1.5 % against the event loop, 10 % at nice 10):
 * measured side by side (npm run bench -- --quick --sections pressure, three pairs, 2026-12-02), cordon client p99
 * under Helm load 7.5-13.7 ms instead of 11.3-23.4 ms, with as many Helm releases answered.
 */
export const MANIFEST_WORKER_NICE = 19;

/**
 * A worker collects its garbage once what it holds (heap used and Buffers) has grown by this much since its last
 * collection (src/helm/worker-memory.ts): a 1 MB release leaves some 9 MB behind, which V8 would otherwise let
 * reach about 64 MiB per worker before collecting it.
 */
export const WORKER_COLLECT_AFTER_BYTES = 16 * 1024 * 1024;

/**
 * A worker without a record for this long shrinks its heap (a memory-reducing collection: 24-26 → 10 MB of heap pages
 * after 1 MB and hostile 2 MiB manifests; too slow to run after every record).
 */
export const WORKER_COMPACT_AFTER_IDLE_MS = 1_000;

/** How long a worker waits for its next record before it exits. */
export const WORKER_IDLE_MS = 30_000;

/**
 * How long a namespace stays suspect after one of its records held a worker for half the deadline or more (read
 * slowly, or timed out while read) or crashed its worker: meanwhile its records hold at most `workers - 1` workers.
 * Ten minutes: a Helm install, upgrade or rollback with its retries is over by then, so a namespace under attack
 * stays capped for the attack's length (each costly record starts the ten minutes again), and one that had a single
 * large release is capped for a while only, which costs it nothing unless it sends a burst.
 */
export const SUSPECT_NAMESPACE_MS = 10 * 60_000;

const here = import.meta.url;
/** The worker's file next to this one: .ts when running from source (Node strips types), .js once built. */
const WORKER_URL = new URL(here.endsWith('.ts') ? './manifest-worker.ts' : './manifest-worker.js', here);

export class ManifestPool {
  readonly #options: ManifestPoolOptions;
  readonly #slots = new Set<Slot>();
  /** The namespaces with records waiting or being read. */
  readonly #namespaces = new Map<string, NamespaceShare>();
  /** Records waiting, across namespaces. */
  #waitingCount = 0;
  /** Records taken by a worker so far: the clock of NamespaceShare.servedAt. */
  #served = 0;
  #nextId = 1;
  #closed = false;

  constructor(options: ManifestPoolOptions) {
    this.#options = options;
  }

  /**
   * Namespaces suspect until (performance.now()): one of their records held a worker for half the deadline or more,
   * or crashed it.
   */
  readonly #suspectUntil = new Map<string, number>();

  /**
   * A namespace's share of the workers: all but one (at least one), so that one is left for the others. A suspect
   * namespace's records hold no more; another's may hold more while no other namespace has a record waiting.
   */
  get #perNamespace(): number {
    return Math.max(1, this.#options.workers - 1);
  }

  /** Whether a worker may take (another) record of this namespace now. */
  #mayTake(namespace: string): boolean {
    const share = this.#namespaces.get(namespace);
    if ((share?.reading ?? 0) < this.#perNamespace) return true;
    // Beyond its share: only a namespace not suspect, and only while no other namespace has a record waiting (a
    // record arriving later waits for the first worker free, under half a deadline: see #settle).
    return !this.#isSuspect(namespace) && this.#waitingCount === (share?.waiting.length ?? 0);
  }

  #isSuspect(namespace: string): boolean {
    const until = this.#suspectUntil.get(namespace);
    if (until === undefined) return false;
    if (until > performance.now()) return true;
    this.#suspectUntil.delete(namespace);
    return false;
  }

  #markSuspect(namespace: string): void {
    const now = performance.now();
    for (const [name, until] of this.#suspectUntil) if (until <= now) this.#suspectUntil.delete(name);
    this.#suspectUntil.set(namespace, now + (this.#options.suspectMs ?? SUSPECT_NAMESPACE_MS));
  }

  /** Reads one record; never rejects. */
  read(job: ReadReleaseJob): Promise<ReadOutcome> {
    return new Promise((resolve) => {
      if (this.#closed) {
        resolve({ ok: false, failure: 'busy', reason: 'volume-guard is shutting down' });
        return;
      }
      const pending: Pending = { id: this.#nextId++, job, namespace: job.namespace, resolve, arrivedAt: performance.now(), settled: false, reading: false };
      pending.timer = setTimeout(() => this.#expire(pending), this.#options.deadlineMs);
      if (!this.#mayTake(pending.namespace)) {
        // Its namespace holds its share of the workers (or more, and others wait): the record waits its turn.
        this.#waitOrRefuse(pending);
        return;
      }
      const idle = this.#withoutRecord(false);
      const collecting = this.#withoutRecord(true);
      if (idle?.online) {
        this.#dispatch(idle, pending);
      } else if (collecting && this.#waitingCount < this.#options.queue) {
        // A worker ending its collection (a few ms) takes the record sooner than a thread started for it now
        // (100-200 ms here). One is started meanwhile, without a record, if there is room: whichever is free first
        // takes it, and the pool keeps its capacity for a burst.
        this.#wait(pending);
        if (!idle && this.#slots.size < this.#options.workers) this.#spawn();
      } else if (idle) {
        this.#dispatch(idle, pending);
      } else if (this.#slots.size < this.#options.workers) {
        this.#dispatch(this.#spawn(), pending);
      } else if (collecting && this.#waitingCount >= this.#options.queue) {
        // The queue is full but a worker is only collecting: the record waits in its port, not refused.
        this.#dispatch(collecting, pending);
      } else {
        this.#waitOrRefuse(pending);
      }
    });
  }

  /**
   * A record waits if there is room. With the queue full, the namespace with the most records waiting (two more
   * than this one's at least) gives up its newest: one namespace cannot fill the queue to have the others refused.
   */
  #waitOrRefuse(pending: Pending): void {
    if (this.#waitingCount >= this.#options.queue) {
      const own = this.#namespaces.get(pending.namespace)?.waiting.length ?? 0;
      let most: [string, NamespaceShare] | undefined;
      for (const entry of this.#namespaces) if (entry[1].waiting.length > (most?.[1].waiting.length ?? 0)) most = entry;
      if (most === undefined || most[0] === pending.namespace || most[1].waiting.length < own + 2) {
        this.#settle(pending, {
          ok: false,
          failure: 'busy',
          reason: `volume-guard is busy reading ${this.#options.workers + this.#waitingCount} other release records; retry`,
        });
        return;
      }
      const [namespace, share] = most;
      const dropped = share.waiting.pop()!;
      this.#waitingCount--;
      this.#settle(dropped, {
        ok: false,
        failure: 'busy',
        reason: `volume-guard is busy: namespace ${namespace} has ${share.waiting.length} other release records waiting to be read; retry`,
      });
    }
    this.#wait(pending);
  }

  /**
   * A record waits: its token, if a view into the request's body, is copied, so that the body need not outlive the
   * request's first turn (the server gives a large body's memory back then). A record sent at once hands its token's
   * buffer, body and all, to the worker instead (#dispatch).
   */
  #wait(pending: Pending): void {
    const token = pending.job.releaseToken;
    if (token !== undefined && !spansItsBuffer(token)) pending.job = { ...pending.job, releaseToken: new Uint8Array(token) };
    this.#share(pending.namespace).waiting.push(pending);
    this.#waitingCount++;
  }

  #share(namespace: string): NamespaceShare {
    let share = this.#namespaces.get(namespace);
    if (share === undefined) {
      share = { waiting: [], reading: 0, servedAt: 0 };
      this.#namespaces.set(namespace, share);
    }
    return share;
  }

  /** A namespace with nothing waiting or being read is forgotten. */
  #forgetIfDone(namespace: string): void {
    const share = this.#namespaces.get(namespace);
    if (share && share.reading === 0 && share.waiting.length === 0) this.#namespaces.delete(namespace);
  }

  /**
   * The next record a free worker takes: the first waiting of the namespace served longest ago among those that may
   * have one more (#mayTake: round-robin between namespaces); undefined when none may have one now.
   */
  #take(): Pending | undefined {
    let chosen: NamespaceShare | undefined;
    for (const [namespace, share] of this.#namespaces) {
      if (share.waiting.length === 0 || !this.#mayTake(namespace)) continue;
      if (chosen === undefined || share.servedAt < chosen.servedAt) chosen = share;
    }
    const pending = chosen?.waiting.shift();
    if (pending) this.#waitingCount--;
    return pending;
  }

  /** V8 heap statistics of each worker running now (measurements and tests). */
  async heapStatistics(): Promise<{ readonly usedBytes: number; readonly totalBytes: number; readonly externalBytes: number; readonly mallocedBytes: number }[]> {
    const online = [...this.#slots].filter((slot) => slot.online);
    const stats = await Promise.all(online.map((slot) => slot.worker.getHeapStatistics().catch(() => undefined)));
    return stats
      .filter((entry) => entry !== undefined)
      .map((entry) => ({ usedBytes: entry.used_heap_size, totalBytes: entry.total_heap_size, externalBytes: entry.external_memory, mallocedBytes: entry.malloced_memory }));
  }

  /** Workers running now (for tests and metrics). */
  get size(): number {
    return this.#slots.size;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const share of [...this.#namespaces.values()]) {
      for (const pending of share.waiting.splice(0)) this.#settle(pending, { ok: false, failure: 'busy', reason: 'volume-guard is shutting down' });
    }
    this.#waitingCount = 0;
    const slots = [...this.#slots];
    this.#slots.clear();
    await Promise.all(slots.map(async (slot) => {
      this.#clearTimers(slot);
      if (slot.current) this.#settle(slot.current, { ok: false, failure: 'busy', reason: 'volume-guard is shutting down' });
      await slot.worker.terminate();
    }));
  }

  #spawn(): Slot {
    const worker = new Worker(this.#options.workerUrl ?? WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: this.#options.maxHeapMb ?? 256 } });
    worker.unref();
    const slot: Slot = { worker, online: false, collecting: false, compacted: false };
    worker.once('online', () => {
      slot.online = true;
      if (slot.current === undefined && !slot.collecting) this.#next(slot);
    });
    worker.on('message', (message: WorkerReply) => {
      if ('collected' in message) {
        if (!slot.collecting) return;
        slot.collecting = false;
        if (slot.current === undefined) this.#next(slot);
        return;
      }
      const current = slot.current;
      if (current === undefined || current.id !== message.id) return;
      slot.current = undefined;
      this.#settle(current, message.outcome);
      slot.collecting = message.collecting;
      if (!slot.collecting) this.#next(slot);
      // Its namespace may now have a record for a worker left idle while it held its share.
      this.#startWaiting();
    });
    const fail = (): void => {
      this.#clearTimers(slot);
      if (!this.#slots.delete(slot)) return;
      const current = slot.current;
      slot.current = undefined;
      if (current) {
        this.#markSuspect(current.namespace);
        const heap = formatBytes((this.#options.maxHeapMb ?? 256) * 1024 * 1024);
        this.#settle(current, { ok: false, failure: 'worker', reason: `reading the release record failed (it may need more than ${heap})` });
      }
      this.#drainToNewWorker();
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    this.#slots.add(slot);
    return slot;
  }

  /**
   * A worker without a record that is (or is not) collecting: one that can take a record now, or once done. One
   * whose thread has started comes first.
   */
  #withoutRecord(collecting: boolean): Slot | undefined {
    let starting: Slot | undefined;
    for (const slot of this.#slots) {
      if (slot.current !== undefined || slot.collecting !== collecting) continue;
      if (slot.online) return slot;
      starting ??= slot;
    }
    return starting;
  }

  #clearTimers(slot: Slot): void {
    if (slot.idle) clearTimeout(slot.idle);
    if (slot.compaction) clearTimeout(slot.compaction);
    slot.idle = undefined;
    slot.compaction = undefined;
  }

  #dispatch(slot: Slot, pending: Pending): void {
    this.#clearTimers(slot);
    slot.compacted = false;
    slot.current = pending;
    const share = this.#share(pending.namespace);
    share.reading++;
    share.servedAt = ++this.#served;
    pending.reading = true;
    const now = performance.now();
    pending.waitedMs = now - pending.arrivedAt;
    if (slot.online) {
      pending.readingSince = now;
    } else {
      // A thread starting (once per worker, or after one was replaced) is the pool's cost, not the record's: its
      // deadline stops meanwhile, and goes on from where it was (what it waited before is not given back).
      if (pending.timer) clearTimeout(pending.timer);
      const left = Math.max(0, this.#options.deadlineMs - pending.waitedMs);
      slot.worker.once('online', () => {
        if (pending.settled) return;
        pending.readingSince = performance.now();
        pending.timer = setTimeout(() => this.#expire(pending), left);
      });
    }
    try {
      // The token's buffer (the request's body, or a copy of the token made when it waited) is this record's alone:
      // handed over to the worker, not copied.
      const token = pending.job.releaseToken;
      slot.worker.postMessage({ id: pending.id, job: pending.job } satisfies WorkerRequest, token === undefined ? [] : [token.buffer]);
    } catch (error) {
      // Structured cloning refuses what it cannot copy (an object nested thousands of levels deep overflows its
      // stack): the record is unreadable, the worker untouched and free for the next one.
      slot.current = undefined;
      const why = error instanceof RangeError ? 'it is nested too deeply' : 'it cannot be copied to a reader';
      this.#settle(pending, { ok: false, failure: 'decode', reason: `release record not readable: ${why}` });
      this.#next(slot);
    }
  }

  #next(slot: Slot): void {
    const pending = this.#take();
    if (pending) this.#dispatch(slot, pending);
    else if (!slot.collecting) this.#idle(slot);
  }

  /** Free workers (started, not collecting) take what may be taken now. */
  #startWaiting(): void {
    if (this.#waitingCount === 0) return;
    for (const slot of this.#slots) {
      if (!slot.online || slot.current !== undefined || slot.collecting) continue;
      const pending = this.#take();
      if (pending === undefined) return;
      this.#dispatch(slot, pending);
    }
  }

  /**
   * Nothing waiting for this worker: it shrinks its heap after a while without records, and exits after longer.
   * Timers already running keep running (after a compaction the exit timer still counts from the last record).
   */
  #idle(slot: Slot): void {
    if (!slot.compacted && slot.compaction === undefined) {
      slot.compaction = setTimeout(() => {
        slot.compaction = undefined;
        if (slot.current !== undefined || slot.collecting || !this.#slots.has(slot)) return;
        slot.collecting = true;
        slot.compacted = true;
        slot.worker.postMessage({ compact: true } satisfies WorkerRequest);
      }, this.#options.compactAfterIdleMs ?? WORKER_COMPACT_AFTER_IDLE_MS);
      slot.compaction.unref();
    }
    if (slot.idle !== undefined) return;
    slot.idle = setTimeout(() => {
      if (slot.current !== undefined || !this.#slots.delete(slot)) return;
      void slot.worker.terminate();
    }, this.#options.idleMs ?? WORKER_IDLE_MS);
    slot.idle.unref();
  }

  /**
   * A worker is gone: records waiting go first to a started worker left free (one a suspect namespace's records may
   * not have held), then to a thread started for them.
   */
  #drainToNewWorker(): void {
    if (this.#closed) return;
    this.#startWaiting();
    if (this.#waitingCount === 0 || this.#slots.size >= this.#options.workers) return;
    this.#next(this.#spawn());
  }

  #expire(pending: Pending): void {
    if (pending.settled) return;
    const share = this.#namespaces.get(pending.namespace);
    const waitingAt = share?.waiting.indexOf(pending) ?? -1;
    if (waitingAt >= 0) {
      share!.waiting.splice(waitingAt, 1);
      this.#waitingCount--;
    }
    // Read too long (after waiting most of its deadline, perhaps); or waiting while its own namespace held its share
    // of the workers, or while other namespaces held them all.
    const waitedMs = Math.round(pending.waitedMs ?? 0);
    const why =
      waitingAt < 0
        ? waitedMs * 2 > this.#options.deadlineMs
          ? `it waited ${waitedMs} ms of them for a worker`
          : 'its manifest is too costly to read'
        : share!.reading >= this.#perNamespace
          ? `waiting behind other release records of namespace ${pending.namespace}`
          : 'waiting for a worker';
    const slot = [...this.#slots].find((candidate) => candidate.current === pending);
    this.#settle(pending, { ok: false, failure: 'timeout', reason: `release record not read within ${this.#options.deadlineMs} ms (${why})` });
    if (slot) {
      // The worker is stuck in this record: replace it. Its exit handler finds no current job.
      slot.current = undefined;
      this.#slots.delete(slot);
      void slot.worker.terminate();
      this.#drainToNewWorker();
    }
  }

  #settle(pending: Pending, outcome: ReadOutcome): void {
    if (pending.settled) return;
    pending.settled = true;
    if (pending.timer) clearTimeout(pending.timer);
    if (pending.reading) {
      pending.reading = false;
      const share = this.#namespaces.get(pending.namespace);
      if (share) share.reading--;
      // A record that held its worker for half the deadline or more (answered or not) makes its namespace suspect.
      // So a namespace not suspect holds a worker under half a deadline per record, and a record of another namespace
      // waiting for one of them has half its deadline or more left when it gets it. A record that times out while
      // read after waiting most of its deadline does not count: waiting says nothing of its cost.
      if (pending.readingSince !== undefined && (performance.now() - pending.readingSince) * 2 >= this.#options.deadlineMs) {
        this.#markSuspect(pending.namespace);
      }
    }
    this.#forgetIfDone(pending.namespace);
    pending.resolve(outcome);
  }
}

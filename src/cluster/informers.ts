// One list+watch loop per resource, feeding slim records into the model. Why not client-node's
// ListWatch: its cache keeps every full object (memory grows with object size), it lists without
// pagination or bookmarks, and after any error other than 410 it stops for good and leaves the restart to
// the caller. This loop keeps nothing but the resourceVersion; the model holds the records.
//
// Lifecycle of an informer: list (paginated) → replaceAll → watch from the list's resourceVersion with
// bookmarks → on a normal end, watch again from the last resourceVersion; on 410 Gone or "Too large resource
// version" (the server's revision is behind it: etcd restored from a backup), list again (the model drops what
// vanished); on any other error, back off (exponential, full jitter) and resume.
// A watchdog proves a quiet watch current, restarts one that is truly dead, restarts any phase that takes
// longer than it possibly should, and triggers the periodic safety relist.
//
// Quiet watches. The API server sends bookmarks on an idle watch only once its watch cache has seen an event of
// that resource (or a progress notification from etcd, every few minutes at best): on an idle cluster a watch of a
// resource nobody wrote since the API server started stays silent until its timeout, and that is healthy. So
// silence alone is never a reason to restart. After `stallMs / 2` without an event the watchdog sends a probe: a
// watch from the same resourceVersion that the server ends after a second. A probe that receives nothing proves
// the model current (nothing changed since that resourceVersion); one that receives events the open watch did not
// deliver within a grace period proves that watch dead (a half-open connection), and it is restarted. A watch that
// outlives its own server-side timeout by `stallMs` without ending is dead too.
//
// What proves the model current. Not a watch's HTTP 200: the API server reports 410 Gone (and other errors) as an
// ERROR event inside a 200 stream. Proof is a list, a watch event or bookmark, a probe that stayed quiet for its whole
// server-side timeout, or a watch that ended cleanly after delivering something or lasting that long. A quiet probe
// counts only once the watch's server is known to have reached its resourceVersion (#reached): a Kubernetes 1.36 API
// server accepts and keeps silent a watch from a resourceVersion beyond its revision (etcd restored from a backup).
// A watch that connects while the model is unproven (after an outage) is probed at once, so a quiet resource is
// current again about a second after the API server is back.
//
// Optional resources (Longhorn's, Cluster API's, Harvester's CRDs) may answer 404 Not Found. The API server also does
// that for a while for custom resources it serves (right after a restart, before its CRD informer has synced), so a 404
// is absence only once confirmed. One that was listed before keeps its objects and fails like any error (backoff, its
// age keeps growing, so the stale policy applies) until 404s have come for `2 × absentPollMs`; only then is it emptied.
// One never seen is absent (not installed) after a second 404 STARTUP_ABSENT_CONFIRM_MS later; readiness waits for it.
// A resource with older versions (Cluster API's: v1beta1 before CAPI v1.11) is read at the newest one the server
// serves: each list tries the newest first and, on a 404, the older ones; it is absent only when none is served.
// Longhorn's kinds come together: when one is served, an absent sibling looks again at once, and then every 10 s
// rather than every 30 s (CRDs established between two polls). A partial install still reads as installed, the absent
// kinds as empty and current (test/e2e/informers.e2e.test.ts holds it).

import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Backoff } from './backoff.ts';
import { isExpired, isNotFound, isResourceVersionTooLarge, type KubeClient, type WatchEventType } from './kube-client.ts';
import type { ModelSink, RecordByKind, ResourceKind } from './records.ts';
import { RESOURCE_KINDS } from './records.ts';
import type { ModelHealth } from './snapshot.ts';
import { collectionPath, collectionPaths, keyOfObject, LONGHORN_GROUP, RESOURCE_SPECS, resourceLabel, type ResourceSpec } from './resources.ts';
import { objectAt, stringAt } from '../json.ts';
import { DEFAULT_WATCH_STALL_MS, PROBE_TIMEOUT_SECONDS } from './watch-timing.ts';

export type RestartReason =
  /** 410 Gone: the resourceVersion was compacted away; relist. */
  | 'expired'
  /** Any other list/watch failure; back off, then resume. */
  | 'error'
  /** The watchdog found no progress for too long (a silent watch, a hung request). */
  | 'stalled'
  /** The periodic safety relist. */
  | 'resync'
  /** The server ended the watch normally (its timeout); watch again from the last resourceVersion. */
  | 'closed';

export const RESTART_REASONS: readonly RestartReason[] = ['expired', 'error', 'stalled', 'resync', 'closed'];

export interface InformerTimings {
  /** Items per list page. */
  readonly pageSize: number;
  /** Periodic full relist; 0 disables it. */
  readonly resyncMs: number;
  /** Watches ask the server to end after a random time in [min, 2·min) seconds, as client-go does. */
  readonly minWatchTimeoutSeconds: number;
  /**
   * After half of this without an event a connected watch is probed (see Quiet watches above); a watch that
   * outlives its server-side timeout by this much is dead. Also bounds how long a connected watch counts as
   * "known current" since its last event or successful probe.
   */
  readonly stallMs: number;
  /** How often an absent optional resource (Longhorn CRDs) is looked for again. */
  readonly absentPollMs: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  /** Per list page; also what the watchdog allows a list to go without progress. */
  readonly requestTimeoutMs: number;
  readonly watchdogIntervalMs: number;
}

export const DEFAULT_TIMINGS: InformerTimings = {
  pageSize: 500,
  resyncMs: 10 * 60_000,
  minWatchTimeoutSeconds: 300,
  stallMs: DEFAULT_WATCH_STALL_MS,
  absentPollMs: 30_000,
  backoffBaseMs: 200,
  // Not client-go's 30 s: the first informer to reach a returning API server wakes the others (InformerSet), so
  // the cap bounds how long the model goes unwatched after an outage. Failing, each informer sends about one request every 5 s.
  backoffCapMs: 10_000,
  requestTimeoutMs: 60_000,
  watchdogIntervalMs: 1_000,
};

/** Milliseconds on a clock that never steps back (the informers' default). */
const monotonicNow = (): number => performance.now();

/** A watch that lasted at least this long before failing counts as having worked: backoff starts over. */
const HEALTHY_WATCH_MS = 10_000;
/** How long the open watch may lag behind an event a probe saw before it counts as dead. */
const PROBE_GRACE_MS = 2_000;
/** At startup, how long after a first 404 a second one confirms an optional resource absent (at most absentPollMs). */
const STARTUP_ABSENT_CONFIRM_MS = 1_000;

type Phase = 'idle' | 'listing' | 'watching' | 'backoff' | 'absent' | 'stopped';

export interface InformerStatus {
  readonly kind: ResourceKind;
  readonly resource: string;
  readonly phase: Phase;
  /** The first list (or, for an optional resource, the first "absent" answer) has completed. */
  readonly synced: boolean;
  /** Optional resources: whether the server serves them; undefined until known. Always true otherwise. */
  readonly present: boolean | undefined;
  readonly connected: boolean;
  /** Milliseconds since the model last provably matched the server for this resource; Infinity before sync. */
  readonly ageMs: number;
  readonly consecutiveFailures: number;
  /** Where a resumed watch would start ('' = the next attempt lists). */
  readonly resourceVersion: string;
}

type AbortReason = 'stalled' | 'resync' | 'expired' | 'stopped' | 'look-again';

class InformerAbort extends Error {
  readonly reason: AbortReason;
  constructor(reason: AbortReason) {
    super(`informer ${reason}`);
    this.reason = reason;
  }
}

/** The model rejected a write: the informer's view may have diverged, so it relists. */
class SinkError extends Error {
  constructor(cause: unknown) {
    super(`model write failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

interface InformerDependencies {
  readonly client: KubeClient;
  readonly sink: ModelSink;
  readonly log: Logger;
  readonly timings: InformerTimings;
  readonly longhornNamespace: string;
  readonly now: () => number;
  readonly random: () => number;
  readonly onRestart: (resource: string, reason: RestartReason) => void;
  readonly onPresence: (kind: ResourceKind, present: boolean) => void;
  /**
   * Whether a sibling of this optional resource is served (another Longhorn kind): then its own absence may be CRDs
   * still being established, so it looks again sooner.
   */
  readonly siblingServed: (kind: ResourceKind) => boolean;
  /** This informer reached the API server again after failing (InformerSet wakes the others). */
  readonly onRecovered: (resource: string) => void;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class Informer<K extends ResourceKind> {
  readonly spec: ResourceSpec<K>;
  readonly resource: string;
  /** Where it may be read, newest version first (collectionPaths). */
  readonly paths: readonly string[];
  /** Which of `paths` the last list read: the watch and its probes follow it. */
  #pathIndex = 0;
  readonly #deps: InformerDependencies;
  readonly #backoff: Backoff;
  #phase: Phase = 'idle';
  #lastProgressAt = 0;
  #lastSuccessAt = 0;
  #synced = false;
  #connected = false;
  #present: boolean | undefined;
  #resourceVersion = '';
  #needList = true;
  #nextResyncAt = Number.POSITIVE_INFINITY;
  #stopped = false;
  #current: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #loopExited = false;
  #failingSince: number | undefined;
  #consecutiveExpired = 0;
  /** The first of the 404s in a row an optional resource answered, not yet confirmed absent. */
  #notFoundSince: number | undefined;
  /** Events (bookmarks included) the open watch delivered: a probe compares against it. */
  #watchEvents = 0;
  /**
   * The server of the open watch has reached its resourceVersion: it delivered an event or bookmark (each past it), or
   * a list asked for no older than it answered. Until then a quiet probe proves nothing: a Kubernetes 1.36 API server
   * accepts a watch from a resourceVersion it has not reached (etcd restored from a backup, its revision gone back) and
   * keeps it, and every probe from there, silent.
   */
  #reached = false;
  /** When the open watch should have been ended by the server (its timeoutSeconds), plus stallMs. */
  #watchDeadline = Number.POSITIVE_INFINITY;
  #probe: AbortController | undefined;
  /** A probe saw events: the open watch must deliver one by `at`, beyond `events`. */
  #suspect: { readonly at: number; readonly events: number } | undefined;
  /** Quiet-watch probes sent, and how many found the open watch behind. */
  probes = 0;

  constructor(spec: ResourceSpec<K>, deps: InformerDependencies) {
    this.spec = spec;
    this.resource = resourceLabel(spec);
    this.paths = collectionPaths(spec, deps.longhornNamespace);
    this.#deps = deps;
    this.#backoff = new Backoff(deps.timings.backoffBaseMs, deps.timings.backoffCapMs, deps.random);
    if (!spec.optional) this.#present = true;
  }

  start(): void {
    if (this.#loop || this.#stopped) return;
    this.#loopExited = false;
    this.#loop = this.#run().then(
      () => {
        this.#loopExited = true;
      },
      (error: unknown) => {
        this.#loopExited = true;
        this.#deps.log.error({ resource: this.resource, err: errorMessage(error) }, 'informer loop failed');
      },
    );
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#current?.abort(new InformerAbort('stopped'));
    await this.#loop;
    this.#enter('stopped');
    this.#connected = false;
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** The collection path it lists and watches: its newest version's, or an older one's the server serves instead. */
  get path(): string {
    return this.paths[this.#pathIndex] ?? collectionPath(this.spec, this.#deps.longhornNamespace);
  }

  /** The resourceVersion a resumed watch would start from ('' = the next attempt lists). */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  ageMs(now: number): number {
    if (!this.#synced) return Number.POSITIVE_INFINITY;
    const sinceSuccess = Math.max(0, now - this.#lastSuccessAt);
    // An open watch delivers every change as it happens; a bookmark, or a quiet-watch probe that found nothing
    // new, proves it current as of then: while that is recent the model is current, however quiet the cluster.
    if (this.#connected && this.#phase === 'watching' && sinceSuccess <= this.#deps.timings.stallMs) return 0;
    if (this.#present === false) {
      // Likewise an optional resource confirmed absent is current, while it waits for its next look and during that
      // look, until the look is overdue.
      const { absentPollMs, requestTimeoutMs } = this.#deps.timings;
      if ((this.#phase === 'absent' || this.#phase === 'listing') && sinceSuccess <= absentPollMs + requestTimeoutMs) return 0;
    }
    return sinceSuccess;
  }

  status(now: number): InformerStatus {
    return {
      kind: this.spec.kind,
      resource: this.resource,
      phase: this.#phase,
      synced: this.#synced,
      present: this.#present,
      connected: this.#connected,
      ageMs: this.ageMs(now),
      consecutiveFailures: this.#backoff.failures,
      resourceVersion: this.#resourceVersion,
    };
  }

  /**
   * Another informer reached the API server again: a backoff pause ends now instead of running out its delay.
   * After an outage the delays have grown to tens of seconds; the model would meanwhile miss every change to this
   * resource without counting as stale (model.maxStalenessSeconds), and an API server restart is what a control
   * plane upgrade does, right before its drains.
   */
  retrySoon(): void {
    if (this.#stopped || this.#phase !== 'backoff') return;
    this.#current?.abort();
  }

  /** A sibling became served (InformerSet): an absent resource lists now rather than at its next poll. */
  lookAgain(): void {
    if (this.#stopped || this.#phase !== 'absent') return;
    this.#current?.abort(new InformerAbort('look-again'));
  }

  /** Called by the watchdog: aborts whatever has gone on for longer than it can legitimately take. */
  checkProgress(now: number): void {
    if (this.#stopped) return;
    if (this.#loopExited) {
      this.#deps.log.error({ resource: this.resource }, 'informer loop exited unexpectedly; restarting it');
      this.#loop = undefined;
      this.start();
      return;
    }
    const { stallMs, requestTimeoutMs, backoffCapMs, absentPollMs } = this.#deps.timings;
    const sinceProgress = now - this.#lastProgressAt;
    let stalled = false;
    let why = 'made no progress';
    switch (this.#phase) {
      case 'watching':
        // Connecting gets a request's time.
        if (!this.#connected) {
          stalled = sinceProgress > Math.min(stallMs, requestTimeoutMs);
          break;
        }
        if (now >= this.#nextResyncAt) {
          this.#current?.abort(new InformerAbort('resync'));
          return;
        }
        if (this.#suspect && this.#watchEvents > this.#suspect.events) this.#suspect = undefined;
        if (this.#suspect && now >= this.#suspect.at) {
          stalled = true;
          why = 'missed events a probe saw (its connection is dead)';
        } else if (now > this.#watchDeadline) {
          stalled = true;
          why = 'outlived its server-side timeout without ending (its connection is dead)';
        } else if (now - this.#lastSuccessAt > stallMs / 2 && this.#probe === undefined && this.#suspect === undefined) {
          // Silence is no failure: ask the server whether anything changed since.
          this.#probeQuietWatch();
        }
        break;
      case 'listing':
        stalled = sinceProgress > 2 * requestTimeoutMs;
        break;
      case 'backoff':
        stalled = sinceProgress > 2 * backoffCapMs + 1_000;
        break;
      case 'absent':
        stalled = sinceProgress > 2 * absentPollMs + 1_000;
        break;
      default:
        break;
    }
    if (stalled) {
      this.#deps.log.warn({ resource: this.resource, phase: this.#phase, silentMs: sinceProgress }, `informer ${why}; restarting it`);
      this.#current?.abort(new InformerAbort('stalled'));
    }
  }

  /**
   * Watches from the open watch's resourceVersion for a second. Nothing received in the whole second, and a clean end:
   * the model is current as of the probe (a probe cut short proves nothing). Events received: the open watch must deliver some too within PROBE_GRACE_MS, or the watchdog restarts it.
   * A probe that fails proves nothing (the age keeps growing, and the watch deadline still applies); one answered
   * 410 Gone means the watch can no longer be resumed: relist now.
   */
  #probeQuietWatch(): void {
    const { client, now, timings, log } = this.#deps;
    const controller = new AbortController();
    this.#probe = controller;
    this.probes += 1;
    const startedAt = now();
    const eventsBefore = this.#watchEvents;
    const resourceVersion = this.#resourceVersion;
    let seen = 0;
    let watchedAt = 0;
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(timings.requestTimeoutMs)]);
    // First, once per watch connection, whether its server has reached the resourceVersion at all (#reached): one
    // object, no older than it. A server behind it answers "Too large resource version" after waiting 3 s.
    const reached = this.#reached
      ? Promise.resolve()
      : client.list(this.path, { limit: 1, resourceVersion, resourceVersionMatch: 'NotOlderThan', signal }).then(() => {
          if (this.#probe === controller && this.#resourceVersion === resourceVersion) this.#reached = true;
        });
    reached
      .then(() => {
        watchedAt = now();
        return client.watch(
          this.path,
          { resourceVersion, timeoutSeconds: PROBE_TIMEOUT_SECONDS, signal },
          { onConnected: () => {}, onEvent: (type) => (seen += type === 'BOOKMARK' ? 0 : 1) },
        );
      })
      .then(
        () => {
          if (this.#probe !== controller) return;
          this.#probe = undefined;
          if (seen === 0) {
            // Ended by the server's timeout, not early (a proxy closing streams): only then did the quiet mean something.
            if (now() - watchedAt >= PROBE_TIMEOUT_SECONDS * 1000) this.#markSuccess(startedAt);
            else log.debug({ resource: this.resource }, 'quiet-watch probe ended early; proves nothing');
          }
          else if (this.#watchEvents === eventsBefore) this.#suspect = { at: now() + PROBE_GRACE_MS, events: eventsBefore };
        },
        (error: unknown) => {
          if (this.#probe !== controller) return;
          this.#probe = undefined;
          if (isExpired(error) || isResourceVersionTooLarge(error)) {
            log.info({ resource: this.resource, err: errorMessage(error) }, 'resourceVersion of a quiet watch unavailable; relisting');
            // Not a clean end: the open watch can no longer be resumed, so it proves nothing since its last proof.
            this.#current?.abort(new InformerAbort('expired'));
          } else {
            log.debug({ resource: this.resource, err: errorMessage(error) }, 'quiet-watch probe failed');
          }
        },
      );
  }

  #endProbe(): void {
    this.#probe?.abort();
    this.#probe = undefined;
    this.#suspect = undefined;
    this.#reached = false;
    this.#watchDeadline = Number.POSITIVE_INFINITY;
  }

  #enter(phase: Phase): void {
    this.#phase = phase;
    this.#lastProgressAt = this.#deps.now();
  }

  #markSuccess(at: number = this.#deps.now()): void {
    this.#lastSuccessAt = Math.max(this.#lastSuccessAt, at);
    this.#lastProgressAt = Math.max(this.#lastProgressAt, at);
  }

  #restart(reason: RestartReason): void {
    this.#deps.onRestart(this.resource, reason);
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const operation = new AbortController();
      this.#current = operation;
      let watchStartedAt = 0;
      let watchConnectedAt = 0;
      let watchDelivered = false;
      try {
        if (this.#needList) {
          this.#enter('listing');
          const outcome = await this.#list(operation.signal);
          if (outcome !== 'listed') {
            this.#enter('absent');
            const { absentPollMs, backoffCapMs } = this.#deps.timings;
            // Absent while a sibling is served (CRDs still being established?): look again as soon as a failing one would.
            const pollMs = this.#deps.siblingServed(this.spec.kind) ? Math.min(absentPollMs, backoffCapMs) : absentPollMs;
            await sleep(outcome === 'absent' ? pollMs : Math.min(pollMs, STARTUP_ABSENT_CONFIRM_MS), undefined, { signal: operation.signal });
            continue;
          }
        }
        this.#enter('watching');
        watchStartedAt = this.#deps.now();
        const timeoutSeconds = Math.floor(this.#deps.timings.minWatchTimeoutSeconds * (1 + this.#deps.random()));
        await this.#deps.client.watch(
          this.path,
          {
            resourceVersion: this.#resourceVersion,
            timeoutSeconds,
            signal: operation.signal,
          },
          {
            onConnected: () => {
              watchConnectedAt = this.#deps.now();
              this.#watchDeadline = watchConnectedAt + timeoutSeconds * 1000 + this.#deps.timings.stallMs;
              this.#onConnected();
            },
            onEvent: (type, object) => {
              watchDelivered = true;
              this.#onEvent(type, object);
            },
          },
        );
        this.#endWatch(true, watchConnectedAt, watchDelivered);
        // The server ended the watch on its timeout: resume from where it left off. A watch that ends at
        // once without a single event is no success, though (a proxy closing every stream): back off.
        this.#restart('closed');
        if (watchDelivered || this.#deps.now() - watchStartedAt >= 1_000) {
          this.#backoff.reset();
        } else {
          await this.#pause(operation, this.#backoff.next());
        }
      } catch (error) {
        const abort = operation.signal.aborted && operation.signal.reason instanceof InformerAbort ? operation.signal.reason.reason : undefined;
        this.#endWatch(abort === 'resync', watchConnectedAt, watchDelivered);
        if (this.#stopped) break;
        // Woken from an absent wait (lookAgain): list now, the 404s in a row still counting.
        if (abort === 'look-again') continue;
        // 404s count toward a served resource's confirmed absence only in a row: anything else answered in between
        // (the API server down, a 410) starts the count again.
        if (!isNotFound(error)) this.#notFoundSince = undefined;
        if (watchConnectedAt > 0 && (watchDelivered || this.#deps.now() - watchConnectedAt >= HEALTHY_WATCH_MS)) this.#backoff.reset();
        if (abort === 'resync') {
          this.#restart('resync');
          this.#needList = true;
          this.#deps.log.debug({ resource: this.resource }, 'periodic relist');
          continue;
        }
        if (abort === 'stalled') {
          this.#restart('stalled');
          continue;
        }
        // 410 Gone, or a resourceVersion beyond the server's revision (etcd restored from a backup): resuming from it
        // cannot work, list again (client-go's reflector does the same for both).
        const tooLarge = isResourceVersionTooLarge(error);
        if (abort === 'expired' || isExpired(error) || tooLarge) {
          this.#restart('expired');
          this.#needList = true;
          this.#resourceVersion = '';
          this.#consecutiveExpired += 1;
          this.#deps.log.info(
            { resource: this.resource, err: errorMessage(error) },
            tooLarge ? 'resourceVersion beyond the API server\'s revision (etcd restored?); relisting' : 'resourceVersion expired; relisting',
          );
          // One expiry is routine; expiring again right away means something keeps failing: slow down.
          if (this.#consecutiveExpired > 1) await this.#pause(new AbortController(), this.#backoff.next());
          continue;
        }
        // A model write failed, or the resource answered 404 (its CRD deleted, or not served yet after an API server
        // restart): what the model holds can only be trusted again after a full list.
        if (error instanceof SinkError || isNotFound(error)) this.#needList = true;
        this.#restart('error');
        const delayMs = this.#backoff.next();
        this.#failingSince ??= this.#deps.now();
        const context = { resource: this.resource, err: errorMessage(error), retryInMs: delayMs, failures: this.#backoff.failures };
        if (this.#backoff.failures === 1) this.#deps.log.warn(context, 'informer failed; retrying with backoff');
        else this.#deps.log.debug(context, 'informer still failing');
        await this.#pause(new AbortController(), delayMs);
      }
    }
  }

  /**
   * The watch is over. When it ended cleanly (the server's timeout, our own resync) while it was alive, the
   * model was current up to this moment: counting that keeps a quiet resource from looking stale while it
   * relists or re-watches. Alive means proven recently, and the watch delivered something or lasted as long as a
   * probe: one closed at once with nothing in it (a proxy ending every stream) proves nothing. A watch that broke
   * proves nothing about the time since its last event.
   */
  #endWatch(clean: boolean, connectedAt: number, delivered: boolean): void {
    const now = this.#deps.now();
    const lasted = connectedAt > 0 && now - connectedAt >= PROBE_TIMEOUT_SECONDS * 1000;
    if (clean && this.#connected && (delivered || lasted) && now - this.#lastSuccessAt <= this.#deps.timings.stallMs) this.#markSuccess(now);
    this.#connected = false;
    this.#endProbe();
  }

  /** Waits in the backoff phase; stop() and the watchdog can cut it short. */
  async #pause(controller: AbortController, delayMs: number): Promise<void> {
    if (this.#stopped) return;
    this.#current = controller;
    this.#enter('backoff');
    try {
      await sleep(delayMs, undefined, { signal: controller.signal });
    } catch {
      // Aborted: the loop looks at #stopped next.
    }
  }

  /** 'unconfirmed': a first 404 of a resource never seen, to be looked at again shortly (STARTUP_ABSENT_CONFIRM_MS). */
  async #list(signal: AbortSignal): Promise<'listed' | 'absent' | 'unconfirmed'> {
    const { client, timings, now, log } = this.#deps;
    const startedAt = now();
    const records: RecordByKind[K][] = [];
    let continueToken = '';
    let resourceVersion = '';
    // The newest version first, every time: once the server serves it (a Cluster API upgraded to v1.11), it is read.
    let pathIndex = 0;
    let limit = timings.pageSize;
    let pages = 0;
    for (;;) {
      let page;
      try {
        page = await client.list(this.paths[pathIndex] ?? this.path, { limit, continueToken, signal });
      } catch (error) {
        if (isExpired(error) && continueToken !== '') {
          // The continue token outlived its first page's revision (etcd compacted it: the list took longer than the
          // API server keeps history). Listing page by page again would end the same way while the list is that slow:
          // one list without pages instead, as client-go's pager does (FullListIfExpired, tools/pager/pager.go).
          log.info({ resource: this.resource, pages, err: errorMessage(error) }, 'list expired between pages; listing in one request');
          records.length = 0;
          continueToken = '';
          limit = 0;
          continue;
        }
        if (isNotFound(error) && continueToken === '') {
          // Not served at this version: an older one may be (Cluster API before v1.11 serves only v1beta1).
          if (pathIndex + 1 < this.paths.length) {
            pathIndex += 1;
            continue;
          }
          if (this.spec.optional) {
            const outcome = this.#notFound();
            if (outcome !== 'error') return outcome;
          }
        }
        throw error;
      }
      for (const item of page.items) {
        const record = this.spec.transform(item);
        if (record) records.push(record);
      }
      resourceVersion = page.resourceVersion;
      continueToken = page.continueToken;
      pages += 1;
      this.#lastProgressAt = now();
      if (continueToken === '') break;
    }
    if (pathIndex !== this.#pathIndex) {
      const version = [this.spec.version, ...(this.spec.olderVersions ?? [])][pathIndex];
      log.info({ resource: this.resource, version }, pathIndex > 0 ? `${this.spec.version} not served; reading ${version}` : `${version} served again; reading it`);
    }
    this.#pathIndex = pathIndex;

    this.#write(() => this.#deps.sink.replaceAll(this.spec.kind, records));
    if (this.#notFoundSince !== undefined) log.info({ resource: this.resource }, 'resource is served again (the 404s were not its removal)');
    this.#notFoundSince = undefined;
    this.#resourceVersion = resourceVersion;
    this.#needList = false;
    this.#markSuccess();
    this.#nextResyncAt = timings.resyncMs > 0 ? now() + timings.resyncMs * (1 + 0.1 * this.#deps.random()) : Number.POSITIVE_INFINITY;
    const context = { resource: this.resource, objects: records.length, ms: now() - startedAt };
    if (!this.#synced) log.info(context, 'informer synced');
    else log.debug(context, 'informer relisted');
    this.#synced = true;
    this.#setPresent(true);
    return 'listed';
  }

  /**
   * An optional resource's list answered 404: absent once confirmed ('absent'), to be looked at again shortly
   * ('unconfirmed', a resource never seen), or, for one that was served, an error like any other ('error': the
   * objects stay, the age grows, the informer backs off and lists again).
   */
  #notFound(): 'absent' | 'unconfirmed' | 'error' {
    const { now, timings, log } = this.#deps;
    const at = now();
    if (this.#present === false) {
      this.#becameAbsent(); // still absent: a confirmed look
      return 'absent';
    }
    const first = this.#notFoundSince === undefined;
    this.#notFoundSince ??= at;
    const served = this.#present === true;
    const confirmAfterMs = served ? 2 * timings.absentPollMs : Math.min(timings.absentPollMs, STARTUP_ABSENT_CONFIRM_MS);
    if (at - this.#notFoundSince >= confirmAfterMs) {
      this.#becameAbsent();
      return 'absent';
    }
    if (!served) return 'unconfirmed';
    if (first) {
      log.warn(
        { resource: this.resource, confirmAfterMs },
        'resource answered 404 Not Found after being served; its objects are kept (stale after model.maxStalenessSeconds) until its absence is confirmed',
      );
    }
    return 'error';
  }

  #becameAbsent(): void {
    this.#write(() => this.#deps.sink.replaceAll(this.spec.kind, []));
    this.#notFoundSince = undefined;
    this.#resourceVersion = '';
    this.#needList = true;
    this.#markSuccess();
    this.#synced = true;
    this.#setPresent(false);
  }

  #setPresent(present: boolean): void {
    if (!this.spec.optional || this.#present === present) return;
    this.#present = present;
    this.#deps.log.info({ resource: this.resource, present }, present ? 'resource is served' : 'resource is not served (CRD absent)');
    this.#deps.onPresence(this.spec.kind, present);
  }

  #onConnected(): void {
    this.#connected = true;
    // HTTP 200 proves nothing yet: a 410 Gone (or another error) comes as an ERROR event in this stream. The first
    // event or bookmark does (#onEvent); a quiet resource is proven by a probe, sent now if the model is unproven
    // for a while (after an outage) rather than after the watchdog's half-stall wait.
    if (this.#deps.now() - this.#lastSuccessAt > this.#deps.timings.stallMs / 2 && this.#probe === undefined) this.#probeQuietWatch();
    if (this.#failingSince !== undefined) {
      this.#deps.log.info(
        { resource: this.resource, failures: this.#backoff.failures, downMs: this.#deps.now() - this.#failingSince },
        'informer recovered',
      );
      this.#failingSince = undefined;
      this.#deps.onRecovered(this.resource);
    }
  }

  #onEvent(type: WatchEventType, object: unknown): void {
    if (type === 'DELETED') {
      const key = keyOfObject(object);
      if (key !== undefined) this.#write(() => this.#deps.sink.remove(this.spec.kind, key));
    } else if (type !== 'BOOKMARK') {
      const record = this.spec.transform(object);
      if (record) this.#write(() => this.#deps.sink.upsert(this.spec.kind, record));
    }
    const resourceVersion = stringAt(objectAt(object, 'metadata'), 'resourceVersion');
    if (resourceVersion !== '') this.#resourceVersion = resourceVersion;
    this.#watchEvents += 1;
    // Events and bookmarks come only past the watch's resourceVersion: its server has reached it.
    this.#reached = true;
    // An event (not an ERROR: those reject the watch) is the stream working: 410s in a row are over.
    this.#consecutiveExpired = 0;
    this.#markSuccess();
  }

  #write(write: () => void): void {
    try {
      write();
    } catch (error) {
      throw new SinkError(error);
    }
  }
}

export interface InformerSetOptions {
  readonly client: KubeClient;
  readonly sink: ModelSink;
  readonly log: Logger;
  readonly longhornNamespace: string;
  readonly timings?: Partial<InformerTimings>;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly onRestart?: (resource: string, reason: RestartReason) => void;
}

/** Every informer of the model, their watchdog, and the model's health as seen from them. */
export class InformerSet implements ModelHealth {
  readonly informers: readonly Informer<ResourceKind>[];
  readonly timings: InformerTimings;
  readonly #sink: ModelSink;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #presence = new Map<ResourceKind, boolean>();
  #longhornInstalled: boolean | undefined;
  #watchdog: NodeJS.Timeout | undefined;

  constructor(options: InformerSetOptions) {
    this.timings = { ...DEFAULT_TIMINGS, ...options.timings };
    this.#sink = options.sink;
    this.#log = options.log;
    // Monotonic: freshness and backoff are durations, and a wall clock stepped back (an NTP correction) would make an
    // outage look current until it caught up with the last success.
    this.#now = options.now ?? monotonicNow;
    const deps: InformerDependencies = {
      client: options.client,
      sink: options.sink,
      log: options.log,
      timings: this.timings,
      longhornNamespace: options.longhornNamespace,
      now: this.#now,
      random: options.random ?? Math.random,
      onRestart: options.onRestart ?? (() => {}),
      onPresence: (kind, present) => this.#onPresence(kind, present),
      siblingServed: (kind) => RESOURCE_SPECS[kind].apiGroup === LONGHORN_GROUP && this.#longhornInstalled === true,
      // The API server answers again: the informers still waiting out their backoff retry now, not up to
      // backoffCapMs later. Failures of their own (a 403, a resource the server breaks) back off again as before.
      onRecovered: (resource) => {
        for (const informer of this.informers) if (informer.resource !== resource) informer.retrySoon();
      },
    };
    this.informers = RESOURCE_KINDS.map((kind) => new Informer<ResourceKind>(RESOURCE_SPECS[kind], deps));
  }

  start(): void {
    for (const informer of this.informers) informer.start();
    this.#watchdog ??= setInterval(() => {
      const now = this.#now();
      for (const informer of this.informers) informer.checkProgress(now);
    }, this.timings.watchdogIntervalMs);
    this.#watchdog.unref();
  }

  async stop(): Promise<void> {
    if (this.#watchdog) clearInterval(this.#watchdog);
    this.#watchdog = undefined;
    await Promise.all(this.informers.map((informer) => informer.stop()));
  }

  informer(kind: ResourceKind): Informer<ResourceKind> {
    const found = this.informers.find((informer) => informer.spec.kind === kind);
    if (!found) throw new Error(`no informer for ${kind}`);
    return found;
  }

  synced(): boolean {
    return this.informers.every((informer) => informer.synced);
  }

  staleResources(maxAgeMs: number, now: number = this.#now()): readonly string[] {
    return this.informers.filter((informer) => informer.ageMs(now) > maxAgeMs).map((informer) => informer.resource);
  }

  statuses(now: number = this.#now()): readonly InformerStatus[] {
    return this.informers.map((informer) => informer.status(now));
  }

  /** Longhorn counts as installed when any of its resources is served (a partial install is not "absent"). */
  #onPresence(kind: ResourceKind, present: boolean): void {
    // Other optional resources (Cluster API's Machines, Harvester's upgrades) say nothing about Longhorn.
    if (RESOURCE_SPECS[kind].apiGroup !== LONGHORN_GROUP) return;
    this.#presence.set(kind, present);
    // Longhorn's CRDs come together: a sibling confirmed absent a moment ago (between its polls, or on a 404 at startup)
    // looks again now rather than up to absentPollMs later.
    if (present) {
      for (const informer of this.informers) if (informer.spec.kind !== kind && informer.spec.apiGroup === LONGHORN_GROUP) informer.lookAgain();
    }
    const installed = [...this.#presence.values()].some(Boolean);
    if (installed === this.#longhornInstalled) return;
    this.#longhornInstalled = installed;
    this.#log.info({ installed }, installed ? 'Longhorn detected' : 'Longhorn not installed');
    this.#sink.setLonghornInstalled(installed);
  }
}

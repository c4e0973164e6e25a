// Kubernetes Events (events.k8s.io/v1) for denied requests, on the object they concern, so that `kubectl describe
// node` / `describe pod` and cluster UIs show why an upgrade controller's cordon or an automated drain is stuck
// (the requester's own log is rarely read). Never on the admission path: record() is O(1) and only queues (a
// bounded queue: when full, new denials are dropped and counted); a background worker writes, rate-limited by a
// token bucket, and aggregates repeats of the same denial into one Event whose `series` count it patches.

import type { AdmissionRequest, Decision } from '../admission/types.ts';
import { objectAt } from '../json.ts';

export const EVENT_REASON = 'DataLossRisk';
export const REPORTING_CONTROLLER = 'volume-guard.io/admission';
/** events.k8s.io/v1 limits note to 1 kB. */
const MAX_NOTE = 1024;

export interface ObjectReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly uid?: string;
}

export interface EventObject {
  readonly apiVersion: 'events.k8s.io/v1';
  readonly kind: 'Event';
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly eventTime: string;
  readonly reportingController: string;
  readonly reportingInstance: string;
  readonly action: string;
  readonly reason: string;
  readonly regarding: ObjectReference;
  readonly note: string;
  readonly type: 'Warning';
}

/** Where events go: the API server in production (event-writer.ts). */
export interface EventSink {
  create(event: EventObject): Promise<void>;
  /** Merge-patches the series of an event created before. */
  patchSeries(namespace: string, name: string, series: { count: number; lastObservedTime: string }): Promise<void>;
  /** The uid of a pod, for an eviction's event (kubectl describe matches on it); undefined when unknown. */
  podUid?(namespace: string, name: string): Promise<string | undefined>;
}

export type EventOutcome = 'created' | 'aggregated' | 'patched' | 'dropped' | 'failed';

export interface EventRecorderOptions {
  readonly sink: EventSink;
  /** The pod's name, in reportingInstance. */
  readonly instance: string;
  /** Denials waiting to be written; more are dropped [256]. */
  readonly maxQueue?: number;
  /** Sustained writes per second [5], and the burst above it [20]. */
  readonly writesPerSecond?: number;
  readonly burst?: number;
  /** Repeats of a denial within this window go into one event's series [10 min]. */
  readonly aggregationWindowMs?: number;
  /** An aggregated event's count is patched at most this often [30 s]. */
  readonly patchIntervalMs?: number;
  /** Worker tick [200 ms]. */
  readonly tickMs?: number;
  readonly clock?: () => number;
  /** Counts each outcome (a metric). */
  readonly onOutcome?: (outcome: EventOutcome) => void;
  readonly onError?: (error: unknown) => void;
}

interface Pending {
  readonly key: string;
  readonly regarding: ObjectReference;
  readonly eventNamespace: string;
  readonly action: string;
  readonly note: string;
  readonly at: number;
}

interface Aggregate {
  readonly namespace: string;
  readonly name: string;
  readonly firstAt: number;
  count: number;
  lastAt: number;
  patchedCount: number;
  lastPatchAt: number;
}

function stringAtPath(value: unknown, ...path: string[]): string {
  let current: unknown = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return '';
    current = (current as Record<string, unknown>)[key];
  }
  return typeof current === 'string' ? current : '';
}

/** RFC 3339 with microseconds, as MicroTime wants. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function actionOf(request: AdmissionRequest): string {
  if (request.subResource === 'eviction') return 'Evict';
  if (request.resource.resource === 'nodes') return request.operation === 'DELETE' ? 'Delete' : 'Cordon';
  if (request.operation === 'CREATE') return 'Create';
  if (request.operation === 'DELETE') return 'Delete';
  return 'Update';
}

/** The object the denial concerns: the pod of an eviction, else the object under review. */
export function regardingOf(request: AdmissionRequest): ObjectReference | undefined {
  // A Namespace is cluster-scoped, though the API server hands its own name as the request's namespace (requestinfo.go
  // reads /api/v1/namespaces/NAME so): kubectl describe namespace looks for events with no involvedObject namespace.
  const clusterScoped = request.kind.group === '' && request.kind.kind === 'Namespace';
  const namespace = request.namespace === '' || clusterScoped ? undefined : request.namespace;
  if (request.subResource === 'eviction') {
    return { apiVersion: 'v1', kind: 'Pod', name: request.name, ...(namespace ? { namespace } : {}) };
  }
  const object = request.object ?? request.oldObject;
  const name = request.name || stringAtPath(object, 'metadata', 'name');
  if (name === '') return undefined;
  const uid = stringAtPath(request.oldObject, 'metadata', 'uid') || stringAtPath(request.object, 'metadata', 'uid');
  const group = request.kind.group;
  return {
    apiVersion: group === '' ? request.kind.version : `${group}/${request.kind.version}`,
    kind: request.kind.kind,
    name,
    ...(namespace ? { namespace } : {}),
    ...(uid !== '' ? { uid } : {}),
  };
}

/** A check's headline in a denial (`[node-local-volume] 2 objects keep data only on node-1`): counts, no names. */
const HEADLINE = /^\[[a-z-]+\] /;

/** Kinds whose denials name objects of their own namespace only (an eviction's already withholds the others). */
const OWN_NAMESPACE_KINDS: readonly string[] = ['Pod', 'PersistentVolumeClaim', 'StatefulSet'];

/**
 * The denial for the Event's note. An Event lives in the namespace of the object it is about ("default" for a Node),
 * read by more people than could see the objects a denial of a node, an upgrade or a Longhorn object names (PVCs and
 * pods of every namespace): there the note keeps the summary and each check's headline, and says the objects were
 * named to the requester.
 */
function noteMessage(decision: Decision, regarding: ObjectReference): string {
  const message = decision.status?.message ?? 'denied';
  if (regarding.namespace !== undefined && OWN_NAMESPACE_KINDS.includes(regarding.kind)) return message;
  const lines = message.split('\n');
  const kept = lines.filter((line, index) => index === 0 || HEADLINE.test(line));
  return kept.length === lines.length ? message : `${kept.join('\n')}\n(objects named to the requester only)`;
}

function noteOf(request: AdmissionRequest, decision: Decision, regarding: ObjectReference): string {
  const message = noteMessage(decision, regarding).replace(/\s+/g, ' ').trim();
  const note = `${actionOf(request).toLowerCase()} by ${request.userInfo.username || 'unknown'} denied: ${message}`;
  return fitNote(note);
}

/** The API server measures a note in bytes (UTF-8): cut on a character, leaving room for the "…" (3 bytes). */
function fitNote(note: string): string {
  if (Buffer.byteLength(note) <= MAX_NOTE) return note;
  const room = MAX_NOTE - Buffer.byteLength('…');
  let bytes = 0;
  let end = 0;
  for (const char of note) {
    const size = Buffer.byteLength(char);
    if (bytes + size > room) break;
    bytes += size;
    end += char.length;
  }
  return `${note.slice(0, end)}…`;
}

function randomSuffix(): string {
  return Math.floor(Math.random() * 0x1_0000_0000).toString(16).padStart(8, '0') + Math.floor(Math.random() * 0x1_0000_0000).toString(16).padStart(8, '0');
}

export class EventRecorder {
  readonly #options: EventRecorderOptions;
  readonly #clock: () => number;
  readonly #queue: Pending[] = [];
  readonly #aggregates = new Map<string, Aggregate>();
  #tokens: number;
  #lastRefill: number;
  #timer: NodeJS.Timeout | undefined;
  #working: Promise<void> | undefined;
  #stopped = false;

  constructor(options: EventRecorderOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.#tokens = options.burst ?? 20;
    this.#lastRefill = this.#clock();
  }

  /**
   * Queues an event for a denied request (allowed and dry-run requests, and Helm release records, are ignored).
   * Synchronous and O(1): safe to call right after answering the API server.
   */
  record(request: AdmissionRequest, decision: Decision): void {
    if (this.#stopped || decision.allowed || request.dryRun) return;
    // Helm shows its own refusal; an event on a release record helps nobody.
    if (request.resource.resource === 'secrets' || isHelmConfigMapRecord(request)) return;
    const regarding = regardingOf(request);
    if (regarding === undefined) return;
    if (this.#queue.length >= (this.#options.maxQueue ?? 256)) {
      this.#options.onOutcome?.('dropped');
      return;
    }
    const note = noteOf(request, decision, regarding);
    const action = actionOf(request);
    const key = `${regarding.apiVersion}/${regarding.kind}/${regarding.namespace ?? ''}/${regarding.name}/${action}/${note}`;
    // Events of cluster-scoped objects live in "default", as the kubelet and the scheduler put them.
    this.#queue.push({ key, regarding, eventNamespace: regarding.namespace ?? 'default', action, note, at: this.#clock() });
  }

  get queued(): number {
    return this.#queue.length;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.tick(), this.#options.tickMs ?? 200);
    this.#timer.unref();
  }

  /** Stops the worker after the write in progress (queued events are dropped). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#working;
  }

  /** One round of the worker: write what the rate allows, patch aggregated counts. Exposed for tests. */
  tick(): Promise<void> {
    this.#working ??= this.#work().finally(() => {
      this.#working = undefined;
    });
    return this.#working;
  }

  #take(): boolean {
    const now = this.#clock();
    const rate = this.#options.writesPerSecond ?? 5;
    const burst = this.#options.burst ?? 20;
    this.#tokens = Math.min(burst, this.#tokens + ((now - this.#lastRefill) / 1000) * rate);
    this.#lastRefill = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  async #work(): Promise<void> {
    const window = this.#options.aggregationWindowMs ?? 10 * 60_000;
    const patchInterval = this.#options.patchIntervalMs ?? 30_000;
    while (this.#queue.length > 0 && !this.#stopped) {
      const next = this.#queue[0] as Pending;
      const existing = this.#aggregates.get(next.key);
      if (existing !== undefined && next.at - existing.firstAt < window) {
        // A repeat: counted now, written with the next patch.
        this.#queue.shift();
        existing.count += 1;
        existing.lastAt = next.at;
        this.#options.onOutcome?.('aggregated');
        continue;
      }
      if (!this.#take()) break;
      this.#queue.shift();
      await this.#create(next);
    }
    const now = this.#clock();
    for (const [key, aggregate] of this.#aggregates) {
      if (this.#stopped) return;
      if (aggregate.count > aggregate.patchedCount && now - aggregate.lastPatchAt >= patchInterval) {
        if (!this.#take()) break;
        aggregate.lastPatchAt = now;
        const count = aggregate.count;
        try {
          await this.#options.sink.patchSeries(aggregate.namespace, aggregate.name, { count, lastObservedTime: microTime(aggregate.lastAt) });
          aggregate.patchedCount = count;
          this.#options.onOutcome?.('patched');
        } catch (error) {
          this.#options.onOutcome?.('failed');
          this.#options.onError?.(error);
        }
      } else if (now - aggregate.firstAt >= window && aggregate.count === aggregate.patchedCount) {
        this.#aggregates.delete(key);
      }
    }
  }

  async #create(pending: Pending): Promise<void> {
    let regarding = pending.regarding;
    try {
      if (regarding.kind === 'Pod' && regarding.uid === undefined && regarding.namespace !== undefined && this.#options.sink.podUid) {
        const uid = await this.#options.sink.podUid(regarding.namespace, regarding.name);
        if (uid !== undefined) regarding = { ...regarding, uid };
      }
      const name = `${regarding.name.slice(0, 200)}.${randomSuffix()}`;
      await this.#options.sink.create({
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name, namespace: pending.eventNamespace },
        eventTime: microTime(pending.at),
        reportingController: REPORTING_CONTROLLER,
        reportingInstance: this.#options.instance.slice(0, 128) || 'volume-guard',
        action: pending.action,
        reason: EVENT_REASON,
        regarding,
        note: pending.note,
        type: 'Warning',
      });
      this.#aggregates.set(pending.key, { namespace: pending.eventNamespace, name, firstAt: pending.at, count: 1, lastAt: pending.at, patchedCount: 1, lastPatchAt: pending.at });
      // Bounded: the oldest aggregate goes first (Maps iterate in insertion order).
      if (this.#aggregates.size > 1_000) {
        const oldest = this.#aggregates.keys().next().value;
        if (oldest !== undefined) this.#aggregates.delete(oldest);
      }
      this.#options.onOutcome?.('created');
    } catch (error) {
      this.#options.onOutcome?.('failed');
      this.#options.onError?.(error);
    }
  }
}

/**
 * A release record of Helm's ConfigMap driver (`owner: helm` holding `data.release`, what Helm reads as one): skipped
 * like the Secret driver's. Other ConfigMaps keep their Events (a refused write of Longhorn's default settings).
 */
function isHelmConfigMapRecord(request: AdmissionRequest): boolean {
  if (request.resource.resource !== 'configmaps') return false;
  const object = request.object ?? request.oldObject;
  return objectAt(objectAt(object, 'metadata'), 'labels')?.['owner'] === 'helm' && objectAt(object, 'data')?.['release'] !== undefined;
}

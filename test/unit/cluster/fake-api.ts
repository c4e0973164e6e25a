// An in-memory stand-in for the API server's list/watch semantics, for the informer unit tests: global
// resourceVersions, paginated lists with continue tokens, watches that replay history from a
// resourceVersion, bookmarks, compaction (410 Gone), 404 for unserved resources, and injected failures.
// The e2e tests check the same behaviour against the real kube-apiserver.

import { KubeApiError, type KubeClient, type ListOptions, type ListPage, type WatchHandlers, type WatchOptions } from '../../../src/cluster/kube-client.ts';
import { RESOURCE_KINDS, recordKey, type ModelSink, type RecordByKind, type ResourceKind } from '../../../src/cluster/records.ts';

interface RawObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string; [key: string]: unknown };
  [key: string]: unknown;
}

interface StoredEvent {
  readonly resourceVersion: number;
  readonly path: string;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: RawObject;
}

interface OpenWatch {
  readonly path: string;
  readonly handlers: WatchHandlers;
  end(): void;
  fail(error: unknown): void;
}

function keyOf(object: RawObject): string {
  return object.metadata.namespace ? `${object.metadata.namespace}/${object.metadata.name}` : object.metadata.name;
}

export class FakeApi implements KubeClient {
  resourceVersion = 1000;
  readonly #objects = new Map<string, Map<string, RawObject>>();
  readonly #history: StoredEvent[] = [];
  #compactedThrough = 0;
  readonly #watches = new Set<OpenWatch>();
  /** Paths answering 404 (a CRD that is not installed). */
  readonly notServed = new Set<string>();
  /** Errors the next list/watch calls throw, in order (any path). */
  readonly failNext: unknown[] = [];
  /** While set, every call fails like a refused connection. */
  unreachable = false;
  /** Watches that connect but never deliver anything (a half-open connection). */
  silentWatches = false;
  /** While set, lists wait for it before answering (a slow list). */
  listGate: Promise<void> | undefined;
  readonly listCalls: { path: string; continueToken: string }[] = [];
  readonly watchCalls: { path: string; resourceVersion: string }[] = [];

  put(path: string, object: RawObject): RawObject {
    const collection = this.#collection(path);
    const key = keyOf(object);
    const type = collection.has(key) ? 'MODIFIED' : 'ADDED';
    const stored: RawObject = { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.resourceVersion) } };
    collection.set(key, stored);
    this.#record({ resourceVersion: this.resourceVersion, path, type, object: stored });
    return stored;
  }

  delete(path: string, key: string): void {
    const collection = this.#collection(path);
    const existing = collection.get(key);
    if (!existing) throw new Error(`no ${key} in ${path}`);
    collection.delete(key);
    const tombstone: RawObject = { ...existing, metadata: { ...existing.metadata, resourceVersion: String(++this.resourceVersion) } };
    this.#record({ resourceVersion: this.resourceVersion, path, type: 'DELETED', object: tombstone });
  }

  /** Deletes without any watch event (what a missed event looks like to a client). */
  deleteSilently(path: string, key: string): void {
    this.#collection(path).delete(key);
    this.resourceVersion += 1;
  }

  keys(path: string): string[] {
    return [...this.#collection(path).keys()].sort();
  }

  /** Forgets history: a watch from any resourceVersion up to now answers 410 Gone. */
  compact(): void {
    this.#compactedThrough = this.resourceVersion;
    this.#history.length = 0;
  }

  bookmark(path?: string): void {
    for (const watch of this.#watches) {
      if (path === undefined || watch.path === path) {
        watch.handlers.onEvent('BOOKMARK', { kind: 'Bookmark', metadata: { resourceVersion: String(this.resourceVersion) } });
      }
    }
  }

  /** Ends every open watch normally (the server's timeoutSeconds). */
  closeWatches(): void {
    for (const watch of [...this.#watches]) watch.end();
  }

  /** Breaks every open watch (the connection drops). */
  breakWatches(): void {
    for (const watch of [...this.#watches]) watch.fail(new Error('socket hang up'));
  }

  /** Sends an ERROR event (e.g. 410) on every open watch, which the server follows by closing it. */
  errorEvent(code: number, reason: string): void {
    for (const watch of [...this.#watches]) watch.fail(new KubeApiError(code, reason, `error event ${code}`));
  }

  get openWatches(): number {
    return this.#watches.size;
  }

  async list(path: string, options: ListOptions): Promise<ListPage> {
    options.signal.throwIfAborted();
    this.listCalls.push({ path, continueToken: options.continueToken ?? '' });
    this.#failIfAsked(path);
    if (this.listGate) {
      const aborted = new Promise<never>((_resolve, reject) => options.signal.addEventListener('abort', () => reject(options.signal.reason), { once: true }));
      await Promise.race([this.listGate, aborted]);
    }
    const all = [...this.#collection(path).values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    const offset = options.continueToken ? Number(options.continueToken.split(':')[0]) : 0;
    const listedAt = options.continueToken ? options.continueToken.split(':')[1]! : String(this.resourceVersion);
    const items = all.slice(offset, offset + options.limit);
    const next = offset + options.limit < all.length ? `${offset + options.limit}:${listedAt}` : '';
    await Promise.resolve();
    return { items: structuredClone(items), resourceVersion: listedAt, continueToken: next };
  }

  async watch(path: string, options: WatchOptions, handlers: WatchHandlers): Promise<void> {
    options.signal.throwIfAborted();
    this.watchCalls.push({ path, resourceVersion: options.resourceVersion });
    this.#failIfAsked(path);
    const from = Number(options.resourceVersion);
    if (options.resourceVersion !== '' && from < this.#compactedThrough) {
      throw new KubeApiError(410, 'Expired', `too old resource version: ${from} (${this.#compactedThrough})`);
    }
    await Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const watch: OpenWatch = {
        path,
        handlers,
        end: () => {
          this.#watches.delete(watch);
          resolve();
        },
        fail: (error) => {
          this.#watches.delete(watch);
          reject(error);
        },
      };
      options.signal.addEventListener('abort', () => watch.fail(options.signal.reason), { once: true });
      this.#watches.add(watch);
      handlers.onConnected();
      if (this.silentWatches) return;
      for (const event of this.#history) {
        if (event.path === path && event.resourceVersion > from) handlers.onEvent(event.type, structuredClone(event.object));
      }
    });
  }

  #failIfAsked(path: string): void {
    if (this.unreachable) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
    const injected = this.failNext.shift();
    if (injected !== undefined) throw injected;
    if (this.notServed.has(path)) throw new KubeApiError(404, 'NotFound', 'the server could not find the requested resource');
  }

  #collection(path: string): Map<string, RawObject> {
    let collection = this.#objects.get(path);
    if (!collection) {
      collection = new Map();
      this.#objects.set(path, collection);
    }
    return collection;
  }

  #record(event: StoredEvent): void {
    this.#history.push(event);
    if (this.silentWatches) return;
    for (const watch of this.#watches) {
      if (watch.path === event.path) {
        try {
          watch.handlers.onEvent(event.type, structuredClone(event.object));
        } catch (error) {
          watch.fail(error);
        }
      }
    }
  }
}

/** A model stand-in: one map per kind, plus what the informers told it. */
export class RecordingSink implements ModelSink {
  readonly stores = new Map<ResourceKind, Map<string, RecordByKind[ResourceKind]>>(RESOURCE_KINDS.map((kind) => [kind, new Map()]));
  longhornInstalled: boolean | undefined;
  replaceAllCalls = 0;
  /** When set, the next write throws this. */
  failNextWrite: Error | undefined;

  upsert<K extends ResourceKind>(kind: K, record: RecordByKind[K]): void {
    this.#maybeFail();
    this.stores.get(kind)!.set(recordKey(record), record);
  }

  remove(kind: ResourceKind, key: string): void {
    this.#maybeFail();
    this.stores.get(kind)!.delete(key);
  }

  replaceAll<K extends ResourceKind>(kind: K, records: readonly RecordByKind[K][]): void {
    this.#maybeFail();
    this.replaceAllCalls += 1;
    this.stores.set(kind, new Map(records.map((record) => [recordKey(record), record])));
  }

  setLonghornInstalled(installed: boolean): void {
    this.longhornInstalled = installed;
  }

  count(kind: ResourceKind): number {
    return this.stores.get(kind)!.size;
  }

  keys(kind: ResourceKind): string[] {
    return [...this.stores.get(kind)!.keys()].sort();
  }

  get<K extends ResourceKind>(kind: K, key: string): RecordByKind[K] | undefined {
    return this.stores.get(kind)!.get(key) as RecordByKind[K] | undefined;
  }

  #maybeFail(): void {
    const failure = this.failNextWrite;
    if (failure) {
      this.failNextWrite = undefined;
      throw failure;
    }
  }
}

// An in-memory API server for informer tests, one collection per URL path: resourceVersions, list pages with continue
// tokens, watches that replay from a resourceVersion and deliver each change, and a 404 for a collection not served
// (a CRD absent, or an API version the server does not serve). Set `served` to switch a collection on and off.
import { KubeApiError, type KubeClient, type ListOptions, type ListPage, type WatchHandlers, type WatchOptions } from '../../src/cluster/kube-client.ts';

export interface FakeObject {
  readonly metadata: { readonly name: string; readonly namespace?: string; resourceVersion?: string; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

interface FakeEvent {
  readonly resourceVersion: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: FakeObject;
}

export interface FakeCollection {
  readonly objects: Map<string, FakeObject>;
  readonly events: FakeEvent[];
  /** false: every list and watch answers 404 Not Found. */
  served: boolean;
  readonly watchers: Set<(event: FakeEvent) => void>;
}

const keyOf = (object: FakeObject): string =>
  object.metadata.namespace ? `${object.metadata.namespace}/${object.metadata.name}` : object.metadata.name;

const notFound = (): KubeApiError => new KubeApiError(404, 'NotFound', 'the server could not find the requested resource');

export class FakeApiServer implements KubeClient {
  #resourceVersion = 100;
  readonly #collections = new Map<string, FakeCollection>();
  /** Every list request (each page), in order. */
  readonly lists: { readonly path: string; readonly continueToken: string }[] = [];

  collection(path: string): FakeCollection {
    let found = this.#collections.get(path);
    if (!found) {
      found = { objects: new Map(), events: [], served: true, watchers: new Set() };
      this.#collections.set(path, found);
    }
    return found;
  }

  /** Creates or replaces an object, and tells the open watches. */
  put(path: string, object: FakeObject): void {
    const collection = this.collection(path);
    this.#resourceVersion += 1;
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(this.#resourceVersion);
    const type = collection.objects.has(keyOf(stored)) ? 'MODIFIED' : 'ADDED';
    collection.objects.set(keyOf(stored), stored);
    const event: FakeEvent = { resourceVersion: this.#resourceVersion, type, object: stored };
    collection.events.push(event);
    for (const watcher of collection.watchers) watcher(event);
  }

  async list(path: string, options: ListOptions): Promise<ListPage> {
    this.lists.push({ path, continueToken: options.continueToken ?? '' });
    const collection = this.collection(path);
    if (!collection.served) throw notFound();
    const offset = options.continueToken ? Number(options.continueToken) : 0;
    const items = [...collection.objects.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    const limit = options.limit > 0 ? options.limit : items.length; // 0: no pages
    const page = items.slice(offset, offset + limit).map((item) => structuredClone(item));
    const next = offset + limit < items.length ? String(offset + limit) : '';
    return { items: page, resourceVersion: String(this.#resourceVersion), continueToken: next };
  }

  /** Replays the events after the resourceVersion, then delivers each new one until aborted. */
  async watch(path: string, options: WatchOptions, handlers: WatchHandlers): Promise<void> {
    const collection = this.collection(path);
    if (!collection.served) throw notFound();
    handlers.onConnected();
    const from = Number(options.resourceVersion);
    for (const event of collection.events) if (event.resourceVersion > from) handlers.onEvent(event.type, structuredClone(event.object));
    return new Promise<void>((_, reject) => {
      const deliver = (event: FakeEvent): void => {
        try {
          handlers.onEvent(event.type, structuredClone(event.object));
        } catch (error) {
          collection.watchers.delete(deliver);
          reject(error);
        }
      };
      collection.watchers.add(deliver);
      options.signal.addEventListener(
        'abort',
        () => {
          collection.watchers.delete(deliver);
          reject(options.signal.reason ?? new Error('aborted'));
        },
        { once: true },
      );
    });
  }
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { HttpKubeClient, isExpired, isNotFound, isResourceVersionTooLarge, KubeApiError, type WatchEventType } from '../../../src/cluster/kube-client.ts';
import { Backoff } from '../../../src/cluster/backoff.ts';

// A loopback HTTP server standing in for the API server's wire format (JSON lists, Status errors, and
// newline-delimited watch events split across arbitrary chunks).
type Handler = (request: http.IncomingMessage, response: http.ServerResponse) => void;
let handler: Handler = (_request, response) => response.end();
let server: http.Server;
let client: HttpKubeClient;
const seen: { url: string; authorization: string | undefined }[] = [];

beforeAll(async () => {
  server = http.createServer((request, response) => {
    seen.push({ url: request.url ?? '', authorization: request.headers.authorization });
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'local', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'tester', token: 'secret-token' }],
    contexts: [{ name: 'ctx', cluster: 'local', user: 'tester' }],
    currentContext: 'ctx',
  });
  client = new HttpKubeClient(kubeConfig, 300);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const status = (code: number, reason: string, message: string) => JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });

describe('HttpKubeClient.list', () => {
  it('asks for one page with limit/continue and returns its items, resourceVersion and continue token', async () => {
    handler = (_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: '77', continue: 'next-token' }, items: [{ metadata: { name: 'p' } }] }));
    };
    const page = await client.list('/api/v1/pods', { limit: 500, continueToken: 'tok', signal: new AbortController().signal });
    expect(page).toEqual({ items: [{ metadata: { name: 'p' } }], resourceVersion: '77', continueToken: 'next-token' });
    const request = new URL(seen.at(-1)!.url, 'http://x');
    expect(request.pathname).toBe('/api/v1/pods');
    expect(request.searchParams.get('limit')).toBe('500');
    expect(request.searchParams.get('continue')).toBe('tok');
    expect(seen.at(-1)!.authorization).toBe('Bearer secret-token');
  });

  it('asks for the whole collection, without limit, when the limit is 0', async () => {
    handler = (_request, response) => response.end(JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: '7' }, items: [] }));
    await client.list('/api/v1/pods', { limit: 0, signal: new AbortController().signal });
    expect(new URL(seen.at(-1)!.url, 'http://x').searchParams.has('limit')).toBe(false);
  });

  it('turns Status errors into KubeApiError: 410 is expired, 404 is not found', async () => {
    handler = (_request, response) => {
      response.statusCode = 410;
      response.end(status(410, 'Expired', 'The provided continue parameter is too old'));
    };
    const expired = await client.list('/api/v1/pods', { limit: 1, signal: new AbortController().signal }).catch((error: unknown) => error);
    expect(expired).toBeInstanceOf(KubeApiError);
    expect(isExpired(expired)).toBe(true);
    expect((expired as KubeApiError).message).toContain('too old');

    handler = (_request, response) => {
      response.statusCode = 404;
      response.end('404 page not found');
    };
    const missing = await client.list('/apis/longhorn.io/v1beta2/namespaces/x/volumes', { limit: 1, signal: new AbortController().signal }).catch((error: unknown) => error);
    expect(isNotFound(missing)).toBe(true);
    expect(isExpired(missing)).toBe(false);
  });

  it('gives up on a list that takes longer than the request timeout', async () => {
    handler = () => {
      /* never answers */
    };
    await expect(client.list('/api/v1/pods', { limit: 1, signal: new AbortController().signal })).rejects.toThrow();
  });
});

describe('HttpKubeClient.watch', () => {
  const collect = () => {
    const events: { type: WatchEventType; name: string }[] = [];
    let connected = false;
    return {
      events,
      get connected() {
        return connected;
      },
      handlers: {
        onConnected: () => {
          connected = true;
        },
        onEvent: (type: WatchEventType, object: unknown) => {
          events.push({ type, name: (object as { metadata: { name?: string; resourceVersion?: string } }).metadata.name ?? `rv${(object as { metadata: { resourceVersion: string } }).metadata.resourceVersion}` });
        },
      },
    };
  };

  it('asks for bookmarks from a resourceVersion and parses events split across chunks', async () => {
    handler = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const lines =
        [
          { type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '11' } } },
          { type: 'MODIFIED', object: { metadata: { name: 'ü-b', resourceVersion: '12' } } },
          { type: 'BOOKMARK', object: { metadata: { resourceVersion: '13' } } },
          { type: 'DELETED', object: { metadata: { name: 'a', resourceVersion: '14' } } },
        ]
          .map((event) => JSON.stringify(event))
          .join('\n') + '\n';
      const bytes = Buffer.from(lines);
      // Split in odd places, including inside the two-byte "ü".
      const cut = bytes.indexOf(Buffer.from('ü')) + 1;
      response.write(bytes.subarray(0, 7));
      response.write(bytes.subarray(7, cut));
      response.write(bytes.subarray(cut));
      response.end();
    };
    const sink = collect();
    await client.watch('/api/v1/pods', { resourceVersion: '10', timeoutSeconds: 300, signal: new AbortController().signal }, sink.handlers);
    expect(sink.connected).toBe(true);
    expect(sink.events).toEqual([
      { type: 'ADDED', name: 'a' },
      { type: 'MODIFIED', name: 'ü-b' },
      { type: 'BOOKMARK', name: 'rv13' },
      { type: 'DELETED', name: 'a' },
    ]);
    const request = new URL(seen.at(-1)!.url, 'http://x');
    expect(Object.fromEntries(request.searchParams)).toEqual({ watch: 'true', allowWatchBookmarks: 'true', resourceVersion: '10', timeoutSeconds: '300' });
  });

  it('rejects with an expired error on a 410 ERROR event', async () => {
    handler = (_request, response) => {
      response.writeHead(200);
      response.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 1 (500)' } }) + '\n');
    };
    const error = await client.watch('/api/v1/pods', { resourceVersion: '1', timeoutSeconds: 300, signal: new AbortController().signal }, collect().handlers).catch((e: unknown) => e);
    expect(isExpired(error)).toBe(true);
  });

  it('recognises "Too large resource version" (504 Timeout, cause ResourceVersionTooLarge) in an ERROR event, and from servers before 1.18.6 by its message', async () => {
    // storage.NewTooLargeResourceVersionError (k8s.io/apiserver/pkg/storage/errors.go); a StatusCause's type is sent as "reason".
    const current = { kind: 'Status', code: 504, reason: 'Timeout', message: 'Too large resource version: 5000, current: 900', details: { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 } };
    const older = { kind: 'Status', code: 504, reason: 'Timeout', message: 'Timeout: Too large resource version: 5000, current: 900' };
    for (const object of [current, older]) {
      handler = (_request, response) => {
        response.writeHead(200);
        response.end(JSON.stringify({ type: 'ERROR', object }) + '\n');
      };
      const error = await client.watch('/api/v1/pods', { resourceVersion: '5000', timeoutSeconds: 300, signal: new AbortController().signal }, collect().handlers).catch((e: unknown) => e);
      expect(isResourceVersionTooLarge(error)).toBe(true);
      expect(isExpired(error)).toBe(false);
    }
    expect(isResourceVersionTooLarge(new KubeApiError(504, 'Timeout', 'request timed out'))).toBe(false);
  });

  it('rejects with the status of a refused watch without calling onConnected', async () => {
    handler = (_request, response) => {
      response.statusCode = 403;
      response.end(status(403, 'Forbidden', 'pods is forbidden'));
    };
    const sink = collect();
    const error = await client.watch('/api/v1/pods', { resourceVersion: '1', timeoutSeconds: 300, signal: new AbortController().signal }, sink.handlers).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).statusCode).toBe(403);
    expect(sink.connected).toBe(false);
  });

  it('rejects when the connection drops mid-stream, and when aborted', async () => {
    handler = (_request, response) => {
      response.writeHead(200);
      response.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } }) + '\n');
      setTimeout(() => response.socket?.destroy(), 20);
    };
    const sink = collect();
    await expect(client.watch('/api/v1/pods', { resourceVersion: '1', timeoutSeconds: 300, signal: new AbortController().signal }, sink.handlers)).rejects.toThrow();
    expect(sink.events).toEqual([{ type: 'ADDED', name: 'a' }]);

    handler = (_request, response) => {
      response.writeHead(200);
      response.write('\n');
    };
    const controller = new AbortController();
    const watching = client.watch('/api/v1/pods', { resourceVersion: '1', timeoutSeconds: 300, signal: controller.signal }, collect().handlers);
    setTimeout(() => controller.abort(new Error('stop now')), 20);
    await expect(watching).rejects.toThrow();
  });

  it('fails the watch when a handler throws', async () => {
    handler = (_request, response) => {
      response.writeHead(200);
      response.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } }) + '\n');
    };
    const failure = new Error('model refused');
    const error = await client
      .watch('/api/v1/pods', { resourceVersion: '1', timeoutSeconds: 300, signal: new AbortController().signal }, {
        onConnected: () => {},
        onEvent: () => {
          throw failure;
        },
      })
      .catch((e: unknown) => e);
    expect(error).toBe(failure);
  });
});

describe('Backoff', () => {
  it('doubles its ceiling from the base up to the cap, with full jitter below it', () => {
    const top = new Backoff(200, 30_000, () => 0.999999);
    const delays = Array.from({ length: 10 }, () => top.next());
    expect(delays.map((delay) => Math.round(delay / 100) * 100)).toEqual([200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
    const bottom = new Backoff(200, 30_000, () => 0);
    expect(bottom.next()).toBe(0);
    const half = new Backoff(200, 30_000, () => 0.5);
    half.next();
    expect(half.next()).toBe(200);
    expect(half.failures).toBe(2);
    half.reset();
    expect(half.failures).toBe(0);
    expect(half.next()).toBe(100);
    expect(new Backoff(200, 30_000).ceilingMs(5_000)).toBe(30_000);
  });
});

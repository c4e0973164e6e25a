// Load generation with autocannon (HTTP/1.1 keep-alive, pipelining 1), run in this process while the server
// under test runs in another. Latency per response is taken from autocannon's `response` events, which carry
// it with sub-millisecond resolution (its own histogram rounds to whole milliseconds).

import autocannon, { type AutocannonClient, type AutocannonRequest } from 'autocannon';
import { summarize, type LatencySummary } from './stats.ts';

export interface LoadOptions {
  readonly url: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** A request sequence per connection (connection index given), cycled through. Overrides method/body. */
  readonly requestsFor?: (connection: number) => AutocannonRequest[];
  readonly connections: number;
  readonly durationSeconds: number;
  readonly timeoutSeconds?: number;
  /** The client certificate each connection presents (a server with client authentication). */
  readonly clientCertificate?: { readonly cert: string; readonly key: string };
}

export interface LoadResult {
  readonly connections: number;
  readonly durationSeconds: number;
  readonly requests: number;
  /** Completed 2xx responses per second. */
  readonly requestsPerSecond: number;
  /** Client-side latency, µs. */
  readonly latency: LatencySummary;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly statusCodes: Readonly<Record<string, number>>;
}

/** A run's result from what its client counted: `started` is when it began (performance.now()), latencies in µs. */
export function loadResult(run: {
  readonly connections: number;
  readonly started: number;
  readonly latencies: readonly number[];
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly statusCodes: Readonly<Record<string, number>>;
}): LoadResult {
  const elapsed = (performance.now() - run.started) / 1000;
  return {
    connections: run.connections,
    durationSeconds: Math.round(elapsed * 100) / 100,
    requests: run.latencies.length,
    requestsPerSecond: Math.round(run.ok / elapsed),
    latency: summarize(run.latencies),
    non2xx: run.non2xx,
    errors: run.errors,
    timeouts: run.timeouts,
    statusCodes: run.statusCodes,
  };
}

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const latencies: number[] = [];
    let ok = 0;
    let started = 0;
    let connectionIndex = 0;
    const requestsFor = options.requestsFor;
    const instance = autocannon(
      {
        url: options.url,
        method: options.method ?? 'POST',
        headers: options.headers ?? { 'content-type': 'application/json' },
        ...(options.body === undefined ? {} : { body: options.body }),
        connections: options.connections,
        pipelining: 1,
        duration: options.durationSeconds,
        timeout: options.timeoutSeconds ?? 10,
        ...(options.clientCertificate ? { tlsOptions: { cert: options.clientCertificate.cert, key: options.clientCertificate.key } } : {}),
        // Stop close to the requested duration (the run ends on a sampling tick).
        sampleInt: Math.min(1000, Math.max(100, Math.round(options.durationSeconds * 250))),
        ...(requestsFor ? { setupClient: (client: AutocannonClient) => client.setRequests(requestsFor(connectionIndex++)) } : {}),
      },
      (error, result) => {
        if (error) {
          reject(error);
          return;
        }
        resolve(
          loadResult({
            connections: options.connections,
            started,
            latencies,
            ok,
            non2xx: result.non2xx,
            errors: result.errors,
            timeouts: result.timeouts,
            statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, stat]) => [code, stat.count])),
          }),
        );
      },
    );
    started = performance.now();
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
      latencies.push(responseTimeMs * 1000);
      if (statusCode >= 200 && statusCode < 300) ok++;
    });
  });
}

// The pressure section's steady cordon stream (open-loop, node:https), and the child process it runs in.
//
// Run in its own process (`steadyLoadInChild`), as the API server is a separate client of the webhook in reality:
// in the benchmark's own process its timers and response handling wait behind the Helm streams' autocannon clients,
// which shows up as cordon latency the server never caused. `steadyLoad` in the benchmark's process is still
// measured beside it (the figure before 2026-12-02) so the two can be compared.

import { fork } from 'node:child_process';
import { Agent, request as httpsRequest } from 'node:https';
import { fileURLToPath } from 'node:url';
import { loadResult, type LoadResult } from './load.ts';
import { summarize, type LatencySummary } from './stats.ts';

/**
 * A steady run's result. `latency` is taken from the moment each request was due (what the target reads);
 * `fromSend` from the moment the client's timer actually sent it, and `sendLateness` how late that timer was: the
 * client's own share (its process waking up), which no server can remove.
 */
export interface SteadyLoadResult extends LoadResult {
  readonly fromSend: LatencySummary;
  readonly sendLateness: LatencySummary;
}

export interface SteadyLoadOptions {
  readonly url: string;
  readonly body: string;
  readonly caPem: string;
  readonly rate: number;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly timeoutMs: number;
}

/**
 * Open-loop steady load: a request every 1000/rate ms whether or not the previous ones were answered (so a stalled
 * server shows up as latency, not as fewer requests sent), over at most `connections` keep-alive connections.
 * Latency is taken from the moment a request was due, so waiting for a free connection counts.
 */
export function steadyLoad(options: SteadyLoadOptions, sharedAgent?: Agent): Promise<SteadyLoadResult> {
  // A shared agent keeps its connections (and the TLS sessions) for the next run; an own one is closed at the end.
  const agent = sharedAgent ?? new Agent({ keepAlive: true, maxSockets: options.connections, ca: options.caPem });
  const body = Buffer.from(options.body);
  const url = new URL(options.url);
  const latencies: number[] = [];
  const fromSend: number[] = [];
  const lateness: number[] = [];
  const statusCodes: Record<string, number> = {};
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let timeouts = 0;
  const total = Math.max(1, Math.round(options.rate * options.durationSeconds));
  const started = performance.now();
  const one = (due: number) =>
    new Promise<void>((resolve) => {
      const sentAt = performance.now();
      lateness.push((sentAt - due) * 1000);
      const req = httpsRequest(
        { agent, hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length }, timeout: options.timeoutMs },
        (response) => {
          response.resume();
          response.on('end', () => {
            const end = performance.now();
            latencies.push((end - due) * 1000);
            fromSend.push((end - sentAt) * 1000);
            const code = String(response.statusCode);
            statusCodes[code] = (statusCodes[code] ?? 0) + 1;
            if ((response.statusCode ?? 0) >= 200 && (response.statusCode ?? 0) < 300) ok++;
            else non2xx++;
            resolve();
          });
        },
      );
      let timedOut = false;
      req.on('timeout', () => {
        timedOut = true;
        timeouts++;
        req.destroy(new Error('timeout'));
      });
      req.on('error', () => {
        if (!timedOut) errors++;
        resolve();
      });
      req.end(body);
    });
  const pending: Promise<void>[] = [];
  return new Promise((resolve) => {
    let sent = 0;
    const tick = () => {
      const now = performance.now();
      // Send every request that is due (a late timer catches up), then sleep until the next one.
      while (sent < total && started + (sent * 1000) / options.rate <= now) {
        pending.push(one(started + (sent * 1000) / options.rate));
        sent++;
      }
      if (sent < total) {
        setTimeout(tick, Math.max(0, started + (sent * 1000) / options.rate - performance.now()));
        return;
      }
      void Promise.all(pending).then(() => {
        if (sharedAgent === undefined) agent.destroy();
        resolve({
          ...loadResult({ connections: options.connections, started, latencies, ok, non2xx, errors, timeouts, statusCodes }),
          fromSend: summarize(fromSend),
          sendLateness: summarize(lateness),
        });
      });
    };
    tick();
  });
}

type SteadyChildMessage = { readonly type: 'ready' } | { readonly type: 'result'; readonly result: SteadyLoadResult } | { readonly type: 'error'; readonly message: string };

const SELF = fileURLToPath(import.meta.url);

/** How long the child sends the same stream before it says it is ready (connections opened, code warmed up). */
const CHILD_WARMUP_SECONDS = 0.5;

/**
 * The steady load of `options`, sent from a child process of its own: started once the child has loaded and sent
 * the same stream for CHILD_WARMUP_SECONDS (its connections open, its code warmed up: a cold client's first
 * requests would otherwise be the p99), so its start-up does not count; resolves with the child's LoadResult.
 */
export function steadyLoadInChild(options: SteadyLoadOptions): { readonly ready: Promise<void>; start(): Promise<SteadyLoadResult> } {
  const child = fork(SELF, ['--steady-child'], { execPath: process.execPath, execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise<never>((_resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`steady load child exited (${code}) before its result`)));
  });
  exited.catch(() => undefined);
  const next = <T extends SteadyChildMessage['type']>(type: T): Promise<Extract<SteadyChildMessage, { type: T }>> =>
    Promise.race([
      new Promise<Extract<SteadyChildMessage, { type: T }>>((resolve, reject) => {
        const onMessage = (message: SteadyChildMessage) => {
          if (message.type === 'error') reject(new Error(`steady load child failed: ${message.message}`));
          else if (message.type === type) resolve(message as Extract<SteadyChildMessage, { type: T }>);
          else return;
          child.off('message', onMessage);
        };
        child.on('message', onMessage);
      }),
      exited,
    ]);
  const ready = next('ready').then(() => undefined);
  child.send({ type: 'warm', options });
  return {
    ready,
    async start() {
      await ready;
      const result = next('result');
      child.send({ type: 'start', options });
      try {
        return (await result).result;
      } finally {
        child.kill();
      }
    },
  };
}

if (process.argv[2] === '--steady-child' && process.send) {
  let agent: Agent | undefined;
  process.on('message', (message: { type: string; options: SteadyLoadOptions }) => {
    const options = message.options;
    agent ??= new Agent({ keepAlive: true, maxSockets: options.connections, ca: options.caPem });
    const run = message.type === 'warm' ? steadyLoad({ ...options, durationSeconds: CHILD_WARMUP_SECONDS }, agent) : steadyLoad(options, agent);
    run.then(
      (result) => process.send?.((message.type === 'warm' ? { type: 'ready' } : { type: 'result', result }) satisfies SteadyChildMessage),
      (error: unknown) => process.send?.({ type: 'error', message: String(error) } satisfies SteadyChildMessage),
    );
  });
}

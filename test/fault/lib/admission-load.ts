// Load for the fault tests and the soak: autocannon for volume, and a request loop that accounts for every single
// request (answered, refused before connecting, or failed after it was sent), which autocannon does not: it
// silently re-sends what was in flight on a connection the server ended.
import { createRequire } from 'node:module';
import { Agent, request as httpsRequest } from 'node:https';
import type { AgentOptions } from 'node:https';
import { connect as netConnect } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { UserInfo } from '../../../src/admission/types.ts';
import { cordonReviewBody } from '../../support/admission.ts';

/** Who sends the load's reviews. */
export const LOAD_USER: UserInfo = { username: 'system:serviceaccount:kube-system:load', groups: ['system:authenticated'] };

/** A real AdmissionReview of a cordon (`kubectl cordon` arrives as this UPDATE), as a request body. */
export function cordonReview(node: string, uid = 'load-cordon'): string {
  return cordonReviewBody(node, { uid, user: LOAD_USER });
}

export interface AdmissionAnswer {
  readonly uid: string;
  readonly allowed: boolean;
  readonly message: string;
}

export function parseAnswer(body: string): AdmissionAnswer {
  const review = JSON.parse(body) as { response: { uid: string; allowed: boolean; status?: { message?: string } } };
  return { uid: review.response.uid, allowed: review.response.allowed, message: review.response.status?.message ?? '' };
}

/** One request on a new, verified connection; rejects on anything but a 200 AdmissionReview. */
export function postReview(options: { port: number; ca: string; path: string; body: string }): Promise<AdmissionAnswer> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      {
        host: '127.0.0.1',
        port: options.port,
        path: options.path,
        method: 'POST',
        ca: options.ca,
        servername: 'localhost',
        agent: false,
        headers: { 'content-type': 'application/json' },
        timeout: 15_000,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('error', reject);
        response.on('end', () => {
          if (response.statusCode !== 200) return reject(new Error(`HTTP ${response.statusCode}: ${body.slice(0, 200)}`));
          try {
            resolve(parseAnswer(body));
          } catch (error) {
            reject(error as Error);
          }
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('request timed out after 15 s')));
    request.on('error', reject);
    request.end(options.body);
  });
}

// ---- autocannon ----

/** The part of autocannon's result the tests read (the package ships no types). */
export interface AutocannonResult {
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly '2xx': number;
  readonly resets: number;
  readonly totalRequests: number;
  readonly totalCompletedRequests: number;
  readonly duration: number;
  readonly latency: { readonly p50: number; readonly p99: number; readonly max: number; readonly average: number };
  readonly requests: { readonly average: number };
}

interface AutocannonInstance {
  stop(): void;
}

type Autocannon = (options: Record<string, unknown>, callback: (error: Error | null, result: AutocannonResult) => void) => AutocannonInstance;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export interface AutocannonLoad {
  readonly result: Promise<AutocannonResult>;
  stop(): void;
}

export interface AutocannonOptions {
  /** https://127.0.0.1:PORT/validate/node-cordon */
  readonly url: string;
  readonly body: string;
  readonly connections?: number;
  /** Requests per second over all connections; unlimited when absent. */
  readonly overallRate?: number;
  /** Reconnect (a new TLS handshake) after this many requests per connection. */
  readonly reconnectRate?: number;
  /** Seconds; runs until stop() when absent. */
  readonly durationSeconds?: number;
}

/** Steady POST load of one body. autocannon does not verify the certificate: the request loop does that. */
export function startAutocannon(options: AutocannonOptions): AutocannonLoad {
  let instance: AutocannonInstance | undefined;
  const result = new Promise<AutocannonResult>((resolve, reject) => {
    instance = autocannon(
      {
        url: options.url,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: options.body,
        connections: options.connections ?? 10,
        duration: options.durationSeconds ?? 24 * 3600,
        timeout: 10,
        ...(options.overallRate ? { overallRate: options.overallRate } : {}),
        ...(options.reconnectRate ? { reconnectRate: options.reconnectRate } : {}),
      },
      (error, value) => (error ? reject(error) : resolve(value)),
    );
  });
  return { result, stop: () => instance?.stop() };
}

// ---- the accounting request loop ----

export interface LoopOptions {
  readonly host?: string;
  readonly port: number;
  readonly path: string;
  readonly body: string;
  /** CA certificates the client trusts: every response comes over a verified connection. */
  readonly ca: string | readonly string[];
  /** Parallel requests in flight. */
  readonly concurrency: number;
  /** Keep connections alive (an https.Agent shared by the workers), or a new connection per request. */
  readonly keepAlive: boolean;
  /** Pause between a worker's requests. */
  readonly pauseMs?: number;
  /** Called with each answer, e.g. to check the decision. */
  readonly onAnswer?: (answer: AdmissionAnswer, at: number) => void;
}

export interface LoopFailure {
  readonly at: number;
  readonly code: string;
  readonly message: string;
}

export interface LoopStats {
  /** Requests answered 200 with an AdmissionReview. */
  readonly answered: number;
  /**
   * Connections that never came up, so nothing was sent: refused (the listener was closed), or reset before the
   * TLS handshake finished (queued in the kernel as the listener closed). Not in-flight failures.
   */
  readonly refused: number;
  /** Of `refused`, those reset rather than refused. */
  readonly resetBeforeSent: number;
  /** Requests that were sent and got no valid answer: resets, hang-ups, TLS errors, non-200, bad bodies. */
  readonly failures: readonly LoopFailure[];
  /** Server certificate serials seen, in order of first appearance. */
  readonly serials: readonly string[];
  /** Latencies (ms) of answered requests. */
  readonly latencies: readonly number[];
  /** Times (epoch ms) of answered requests. */
  readonly answeredAt: readonly number[];
}

export class RequestLoop {
  readonly #options: LoopOptions;
  readonly #agent: Agent | undefined;
  #running = false;
  #workers: Promise<void>[] = [];
  #answered = 0;
  #refused = 0;
  #resetBeforeSent = 0;
  readonly #failures: LoopFailure[] = [];
  readonly #serials: string[] = [];
  readonly #latencies: number[] = [];
  readonly #answeredAt: number[] = [];

  constructor(options: LoopOptions, agentOptions: AgentOptions = {}) {
    this.#options = options;
    this.#agent = options.keepAlive ? new Agent({ keepAlive: true, maxSockets: options.concurrency, ...agentOptions }) : undefined;
  }

  start(): this {
    this.#running = true;
    for (let index = 0; index < this.#options.concurrency; index += 1) this.#workers.push(this.#work());
    return this;
  }

  /** Stops after the requests in flight have settled. */
  async stop(): Promise<LoopStats> {
    this.#running = false;
    await Promise.all(this.#workers);
    this.#agent?.destroy();
    return this.stats();
  }

  stats(): LoopStats {
    return {
      answered: this.#answered,
      refused: this.#refused,
      resetBeforeSent: this.#resetBeforeSent,
      failures: [...this.#failures],
      serials: [...this.#serials],
      latencies: [...this.#latencies],
      answeredAt: [...this.#answeredAt],
    };
  }

  async #work(): Promise<void> {
    while (this.#running) {
      const outcome = await this.#once();
      if (outcome !== 'answered') await sleep(20);
      else if (this.#options.pauseMs) await sleep(this.#options.pauseMs);
    }
  }

  #once(): Promise<'answered' | 'refused' | 'failed'> {
    const options = this.#options;
    const started = performance.now();
    return new Promise((resolve) => {
      let connected = false;
      const fail = (code: string, message: string) => {
        this.#failures.push({ at: Date.now(), code, message });
        resolve('failed');
      };
      const request = httpsRequest(
        {
          host: options.host ?? '127.0.0.1',
          port: options.port,
          path: options.path,
          method: 'POST',
          ca: options.ca as string | string[],
          servername: 'localhost',
          agent: this.#agent ?? false,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(options.body) },
          timeout: 15_000,
        },
        (response) => {
          const socket = response.socket as TLSSocket;
          const serial = socket.getPeerCertificate?.()?.serialNumber?.toUpperCase();
          if (serial && !this.#serials.includes(serial)) this.#serials.push(serial);
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? 'response-error', error.message));
          response.on('end', () => {
            if (response.statusCode !== 200) return fail(`HTTP ${response.statusCode}`, body.slice(0, 200));
            let answer: AdmissionAnswer;
            try {
              answer = parseAnswer(body);
            } catch {
              return fail('bad-body', body.slice(0, 200));
            }
            this.#answered += 1;
            this.#latencies.push(performance.now() - started);
            this.#answeredAt.push(Date.now());
            options.onAnswer?.(answer, Date.now());
            resolve('answered');
          });
        },
      );
      request.on('socket', (socket) => {
        // The request is sent once TLS is up: at once on a reused keep-alive socket, after the handshake on a new one.
        if (!socket.connecting && (socket as TLSSocket).encrypted) connected = true;
        else socket.once('secureConnect', () => (connected = true));
      });
      request.on('timeout', () => request.destroy(new Error('request timed out after 15 s')));
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (!connected) {
          // Refused, or reset while connecting (a connection queued as the listener closed): nothing was sent.
          if (error.code !== 'ECONNREFUSED') this.#resetBeforeSent += 1;
          this.#refused += 1;
          resolve('refused');
        } else {
          fail(error.code ?? 'error', error.message);
        }
      });
      request.end(options.body);
    });
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a TCP connection to the port is accepted right now. */
export function tcpAccepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;

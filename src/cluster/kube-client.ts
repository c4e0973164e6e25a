// The two API calls informers make — a paginated list and a watch stream — over node:http(s), with the
// credentials, CA and agent that @kubernetes/client-node derives from a KubeConfig, or the small service-account loader in a pod. Objects are handed
// over as parsed JSON (`unknown`) so callers transform them straight into slim records; nothing here
// keeps them.

import http from 'node:http';
import https from 'node:https';
import { TLSSocket } from 'node:tls';
import type { ApiCredentials } from './kubeconfig.ts';
import { arrayAt, isObject, numberAt, objectAt, stringAt } from '../json.ts';

/** An API error with the HTTP status and, when the server sent a Status object, its reason. */
export class KubeApiError extends Error {
  readonly statusCode: number;
  readonly reason: string;
  /** The types of the Status's `details.causes` (e.g. ResourceVersionTooLarge). */
  readonly causes: readonly string[];
  constructor(statusCode: number, reason: string, message: string, causes: readonly string[] = []) {
    super(message);
    this.name = 'KubeApiError';
    this.statusCode = statusCode;
    this.reason = reason;
    this.causes = causes;
  }
}

/** 410 Gone: the resourceVersion (or continue token) is older than what the server still keeps. */
export function isExpired(error: unknown): boolean {
  return error instanceof KubeApiError && (error.statusCode === 410 || error.reason === 'Expired' || error.reason === 'Gone');
}

/** What the API server says of a resourceVersion beyond its current revision (storage.NewTooLargeResourceVersionError). */
const TOO_LARGE_RESOURCE_VERSION = 'Too large resource version';

/**
 * 504 "Too large resource version": the server has not reached the resourceVersion asked for. Its watch cache lags
 * (it waited 3 s for it), or etcd was restored from a backup and its revision went back: then resuming from that
 * resourceVersion fails until the revision catches up. Like client-go's reflector (isTooLargeResourceVersionError in
 * tools/cache/reflector.go), the informers treat it as a 410: that resourceVersion is unavailable, list again.
 * Servers before 1.18.6 give no cause type, only the message.
 */
export function isResourceVersionTooLarge(error: unknown): boolean {
  if (!(error instanceof KubeApiError)) return false;
  if (error.causes.includes('ResourceVersionTooLarge')) return true;
  return error.statusCode === 504 && error.message.includes(TOO_LARGE_RESOURCE_VERSION);
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 404;
}

export interface ListOptions {
  /** Items per page; 0 asks for the whole collection in one response. */
  readonly limit: number;
  readonly continueToken?: string;
  /**
   * With resourceVersionMatch NotOlderThan: a list at least as new as this resourceVersion. A server that has not
   * reached it answers "Too large resource version" (isResourceVersionTooLarge). Omitted: the newest, from etcd.
   */
  readonly resourceVersion?: string;
  readonly resourceVersionMatch?: 'NotOlderThan';
  readonly signal: AbortSignal;
}

export interface ListPage {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
  /** '' on the last page. */
  readonly continueToken: string;
}

export interface WatchOptions {
  readonly resourceVersion: string;
  /** Server-side duration of the watch; the server ends the stream normally afterwards. */
  readonly timeoutSeconds: number;
  readonly signal: AbortSignal;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchHandlers {
  /** The server accepted the watch (HTTP 200): the connection is healthy from here on. */
  onConnected(): void;
  onEvent(type: WatchEventType, object: unknown): void;
}

export interface KubeClient {
  list(path: string, options: ListOptions): Promise<ListPage>;
  /**
   * Streams events until the server ends the watch (resolves) or it fails (rejects: KubeApiError for an
   * error status or an ERROR event — 410 included —, anything else for transport errors and aborts).
   */
  watch(path: string, options: WatchOptions, handlers: WatchHandlers): Promise<void>;
}

const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** How the API server's audit log and metrics name this client. */
const USER_AGENT = 'volume-guard/cluster-model';

function errorFromStatus(statusCode: number, status: unknown, fallback: string): KubeApiError {
  const code = numberAt(status, 'code') ?? statusCode;
  const message = stringAt(status, 'message') || fallback;
  const causes = arrayAt(objectAt(status, 'details'), 'causes').flatMap((cause) => {
    const type = stringAt(cause, 'reason') || (stringAt(cause, 'message') === TOO_LARGE_RESOURCE_VERSION ? 'ResourceVersionTooLarge' : '');
    return type === '' ? [] : [type];
  });
  return new KubeApiError(code, stringAt(status, 'reason'), message, causes);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A KubeClient over API credentials: the in-cluster service account or a kubeconfig file alike. */
export class HttpKubeClient implements KubeClient {
  readonly #kubeConfig: ApiCredentials;
  readonly #requestTimeoutMs: number;
  readonly #connectTimeoutMs: number | undefined;

  /**
   * requestTimeoutMs bounds each list page (watches are bounded by the informers' watchdog instead); connectTimeoutMs,
   * when given, each new connection (boundConnect).
   */
  constructor(kubeConfig: ApiCredentials, requestTimeoutMs = 60_000, connectTimeoutMs?: number) {
    this.#kubeConfig = kubeConfig;
    this.#requestTimeoutMs = requestTimeoutMs;
    this.#connectTimeoutMs = connectTimeoutMs;
  }

  async list(path: string, options: ListOptions): Promise<ListPage> {
    // limit 0: the whole collection in one response (no pages).
    const query: Record<string, string> = options.limit > 0 ? { limit: String(options.limit) } : {};
    if (options.continueToken) query['continue'] = options.continueToken;
    if (options.resourceVersion !== undefined) query['resourceVersion'] = options.resourceVersion;
    if (options.resourceVersionMatch !== undefined) query['resourceVersionMatch'] = options.resourceVersionMatch;
    const signal = AbortSignal.any([options.signal, AbortSignal.timeout(this.#requestTimeoutMs)]);
    const response = await this.#get(path, query, signal);
    const body = await readBody(response, Number.POSITIVE_INFINITY);
    const parsed = parseJson(body);
    if (response.statusCode !== 200) {
      throw errorFromStatus(response.statusCode ?? 0, parsed, `list ${path}: HTTP ${response.statusCode}`);
    }
    if (!isObject(parsed)) throw new Error(`list ${path}: response is not a JSON object`);
    const metadata = objectAt(parsed, 'metadata');
    return {
      items: arrayAt(parsed, 'items'),
      resourceVersion: stringAt(metadata, 'resourceVersion'),
      continueToken: stringAt(metadata, 'continue'),
    };
  }

  async watch(path: string, options: WatchOptions, handlers: WatchHandlers): Promise<void> {
    const query = {
      watch: 'true',
      allowWatchBookmarks: 'true',
      resourceVersion: options.resourceVersion,
      timeoutSeconds: String(options.timeoutSeconds),
    };
    const response = await this.#get(path, query, options.signal);
    if (response.statusCode !== 200) {
      const body = await readBody(response, MAX_ERROR_BODY_BYTES);
      throw errorFromStatus(response.statusCode ?? 0, parseJson(body), `watch ${path}: HTTP ${response.statusCode}`);
    }
    handlers.onConnected();
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      let failed = false;
      const fail = (error: unknown): void => {
        if (failed) return;
        failed = true;
        response.destroy();
        reject(error);
      };
      const handleLine = (line: string): void => {
        if (line.trim() === '') return;
        const event = parseJson(line);
        const type = stringAt(event, 'type');
        const object = objectAt(event, 'object');
        if (type === 'ERROR') {
          fail(errorFromStatus(500, object, `watch ${path}: error event`));
        } else if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED' || type === 'BOOKMARK') {
          handlers.onEvent(type, object);
        } else {
          fail(new Error(`watch ${path}: unreadable event`));
        }
      };
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffered += chunk;
        let newline = buffered.indexOf('\n');
        while (newline >= 0 && !failed) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          try {
            handleLine(line);
          } catch (error) {
            // A handler that throws (the model refused a record) fails the watch like a transport error.
            fail(error);
          }
          newline = buffered.indexOf('\n');
        }
      });
      response.on('end', () => {
        if (failed) return;
        if (buffered.trim() !== '') {
          try {
            handleLine(buffered);
          } catch (error) {
            fail(error);
            return;
          }
        }
        if (!failed) resolve();
      });
      response.on('error', fail);
      // A socket closed before the end of the body ("aborted") surfaces as 'close' without 'end'.
      response.on('close', () => {
        if (!response.complete) fail(options.signal.aborted ? options.signal.reason : new Error(`watch ${path}: connection closed`));
      });
    });
  }

  async #get(path: string, query: Readonly<Record<string, string>>, signal: AbortSignal): Promise<http.IncomingMessage> {
    const cluster = this.#kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/+$/, '') + path);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    const options: https.RequestOptions = await kubeconfigOptions(this.#kubeConfig);
    signal.throwIfAborted();
    const transport = url.protocol === 'http:' ? http : https;
    return await new Promise<http.IncomingMessage>((resolve, reject) => {
      const request = transport.request(url, {
        ...options,
        method: 'GET',
        headers: { ...options.headers, Accept: 'application/json', 'User-Agent': USER_AGENT },
        signal,
      });
      boundConnect(request, this.#connectTimeoutMs);
      request.on('response', resolve);
      request.on('error', (error) => reject(naming(error, url.origin)));
      request.end();
    });
  }
}

/**
 * Bounds how long `request` may take to connect (the TCP connection, then over https the TLS handshake) to `ms`
 * (undefined: no bound). A server whose packets are dropped (a firewall, a wrong address on a routed network) would
 * otherwise hold it for the system's connect timeout, minutes, or the whole request. It fails with code ETIMEDOUT,
 * saying which step did not finish. A socket already connected (kept alive, or a proxy's tunnel) is not bounded.
 */
export function boundConnect(request: http.ClientRequest, ms: number | undefined): void {
  if (ms === undefined) return;
  request.once('socket', (socket) => {
    if (!socket.connecting) return;
    const tls = socket instanceof TLSSocket;
    const timer = setTimeout(() => {
      const step = socket.connecting ? 'no TCP connection' : 'TLS handshake not done';
      const error: NodeJS.ErrnoException = new Error(`${step} within ${Math.round(ms / 100) / 10} s`);
      error.code = 'ETIMEDOUT';
      request.destroy(error);
    }, ms);
    socket.once(tls ? 'secureConnect' : 'connect', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
  });
}

/**
 * A transport error (refused, unresolvable, bad certificate) that names the server it tried, keeping its `code`;
 * aborts are passed on untouched.
 */
export function naming(error: Error, server: string): Error {
  if (error.name === 'AbortError' || error.message.includes(server)) return error;
  const named: NodeJS.ErrnoException = new Error(`${server}: ${error.message}`, { cause: error });
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined) named.code = code;
  return named;
}

async function readBody(response: http.IncomingMessage, maxBytes: number): Promise<string> {
  response.setEncoding('utf8');
  let body = '';
  for await (const chunk of response) {
    body += String(chunk);
    if (body.length > maxBytes) {
      response.destroy();
      break;
    }
  }
  return body;
}

/**
 * The kubeconfig's user and server could not be turned into a request: an exec credential plugin failed (an expired
 * login), a token or certificate file is missing, an `http://` server without insecure-skip-tls-verify. Retrying does
 * not help; a one-shot command (the audit) stops on it.
 */
export class KubeconfigError extends Error {
  override readonly name = 'KubeconfigError';
}

/** The request options the kubeconfig's current user and cluster give (KubeconfigError when they cannot). */
export async function kubeconfigOptions(kubeConfig: Pick<ApiCredentials, 'applyToHTTPSOptions'>): Promise<https.RequestOptions> {
  const options: https.RequestOptions = {};
  try {
    await kubeConfig.applyToHTTPSOptions(options);
  } catch (error) {
    throw new KubeconfigError(error instanceof Error ? error.message : String(error), { cause: error });
  }
  return options;
}

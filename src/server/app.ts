// The two Fastify apps: admission (HTTPS in production, POST /validate/<target>, /mutate/<target>) and ops (plain HTTP: probes
// and metrics). Built without listening, so tests drive them with inject().

import { createServer as createHttpServer, IncomingMessage as NodeIncomingMessage } from 'node:http';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer, ServerOptions as HttpsServerOptions } from 'node:https';
import type { X509Certificate } from 'node:crypto';
import { TLSSocket } from 'node:tls';
import { chainsTo } from './tls.ts';
import { LogController, fastify as Fastify } from 'fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { jsonLineWriter } from '../logging.ts';
import type { ValidatorRegistry } from '../admission/registry.ts';
import type { AdmissionRequest, Decision } from '../admission/types.ts';
import type { ValidationContext, Validator } from '../admission/validator.ts';
import type { AdmittedRemoval, RemovalRecorder } from '../cluster/pending-removals.ts';
import type { ClusterSnapshot, ModelHealth } from '../cluster/snapshot.ts';
import type { Config } from '../config.ts';
import { spansItsBuffer } from '../json-bytes.ts';
import { boundDecision, decodeAdmissionReviewBody, encodeAdmissionResponseJson, outcomeOf, type ElideOptions } from './codec.ts';
import type { ServerMetrics } from './metrics.ts';
import type { AdmissionOutcome } from './metrics.ts';

export const INTERNAL_ERROR_MESSAGE = 'volume-guard internal error (a bug): see its logs';

/**
 * The body of every HTTP 500 (a validator or the server itself failed): a metav1.Status, nothing of the error. The
 * API server's client keeps a non-Status body only for text/* content types, so a JSON body of another shape reached
 * kubectl as `an error on the server ("unknown")`; a Status's message is what it shows. `uid`: the request's, to find
 * its log line.
 */
export function internalErrorPayload(uid?: string): string {
  const message = uid === undefined || uid === '' ? INTERNAL_ERROR_MESSAGE : `${INTERNAL_ERROR_MESSAGE}, uid ${logged(uid)}`;
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 500, reason: 'InternalError', message });
}

const INTERNAL_ERROR_PAYLOAD = internalErrorPayload();

const VALIDATE_PREFIX = '/validate/';
const MUTATE_PREFIX = '/mutate/';

/** Label used for targets nobody serves, so random paths cannot grow the metric's cardinality. */
const UNKNOWN_TARGET_LABEL = 'unknown';

export type AdmissionApp = FastifyInstance<HttpServer | HttpsServer>;
export type OpsApp = FastifyInstance<HttpServer>;

/** The caller's certificate chain, leaf first ([] without a certificate). */
function peerChain(socket: TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let current = socket.getPeerX509Certificate();
  while (current && chain.length < 10) {
    chain.push(current);
    const issuer: X509Certificate | undefined = current.issuerCertificate;
    if (!issuer || issuer.fingerprint256 === current.fingerprint256) break;
    current = issuer;
  }
  return chain;
}

/**
 * The TCP socket a server-side TLS socket wraps: what the server's 'connection' event gave, in the same turn as the
 * secure context the handshake then used. Node keeps it as `_parent`; without it, the TLS socket itself (then no
 * handshake bundle is known, and only certificates a CA of the bundle issued directly pass).
 */
function acceptedSocket(socket: TLSSocket): object {
  const parent = (socket as unknown as { readonly _parent?: unknown })._parent;
  return typeof parent === 'object' && parent !== null ? parent : socket;
}

/** Subject CN and DNS SANs of the caller's TLS client certificate; [] without one. */
export function peerNames(socket: unknown): string[] {
  if (!(socket instanceof TLSSocket)) return [];
  const peer = socket.getPeerCertificate();
  if (!peer || Object.keys(peer).length === 0) return [];
  const names: string[] = [];
  const cn = peer.subject?.CN;
  if (typeof cn === 'string') names.push(cn);
  else if (Array.isArray(cn)) names.push(...(cn as string[]));
  for (const entry of (peer.subjectaltname ?? '').split(', ')) {
    if (entry.startsWith('DNS:')) names.push(entry.slice(4));
  }
  return names;
}

export interface AdmissionAppOptions {
  readonly config: Config;
  readonly registry: ValidatorRegistry;
  readonly snapshot: ClusterSnapshot;
  readonly health: ModelHealth;
  /** Where allowed removals are recorded (the model); undefined: nothing is. */
  readonly removals?: RemovalRecorder;
  readonly metrics: ServerMetrics;
  readonly log: Logger;
  /** TLS options for the HTTPS server; without them the app serves plain HTTP (tests only). */
  readonly https?: HttpsServerOptions;
  /** True once shutdown began: responses then carry `Connection: close` so clients move elsewhere. */
  readonly shuttingDown?: () => boolean;
  /** Node server timeouts (see serve.ts for the chosen values). */
  readonly keepAliveTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly clock?: () => number;
  /** Called once the response is sent, with the request and its decision (Events for denials); must not block. */
  readonly onDecision?: (request: AdmissionRequest, decision: Decision) => void;
  /** The client CA bundle in force (hot-reloaded); undefined: not checked per request. */
  readonly clientCertificateAuthorities?: () => readonly X509Certificate[] | undefined;
  /**
   * Serve admission requests that qualify on the listening server without Fastify's router and hooks (default
   * true; same answers). inject() always goes through Fastify; tests turn this off to compare.
   */
  readonly fastPath?: boolean;
}

/** What the request hooks learn about one admission request, for its log line and metrics. */
interface AdmissionTrace {
  targetLabel: string;
  operation: string;
  outcome: AdmissionOutcome;
  request: AdmissionRequest | undefined;
  decision: Decision | undefined;
  overrides: readonly string[] | undefined;
  reason: string | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    admissionTrace: AdmissionTrace | null;
  }
}

/** Keep client-facing reasons on one line and short. */
function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

function clientErrorReason(error: FastifyError, bodyLimitBytes: number): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `request body exceeds ${bodyLimitBytes} bytes (admission.bodyLimitBytes)`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'invalid Content-Type header (expected application/json)';
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'request body length does not match Content-Length';
    default:
      return oneLine(error.message || 'bad request');
  }
}

function sendBadRequest(request: FastifyRequest, reply: FastifyReply, reason: string): FastifyReply {
  const trace = request.admissionTrace;
  if (trace) {
    trace.outcome = 'invalid';
    trace.reason = reason;
  }
  return reply.code(400).type('application/json; charset=utf-8').send({ error: reason });
}

export function buildAdmissionApp(options: AdmissionAppOptions): AdmissionApp {
  const { config, registry, snapshot, health, metrics, log } = options;
  const bodyLimit = config.admission.bodyLimitBytes;
  const clock = options.clock ?? Date.now;
  const keepAliveTimeout = options.keepAliveTimeoutMs ?? 120_000;
  const requestTimeout = options.requestTimeoutMs ?? 30_000;

  // With a client CA the handshake already refused callers without a certificate of that CA. Each request is
  // checked again against the current bundle (a keep-alive connection outlives a rotated-out CA) and, with names
  // configured, a certificate of that CA issued to anyone else (a node, a user) is refused too.
  const clientNames = config.admission.tls.clientNames;
  const clientCas = options.clientCertificateAuthorities;
  const checkCallers = options.https !== undefined && config.admission.tls.clientCaFile !== '';
  // The client CA bundle each connection's handshake verified its certificate against: the one in force when the
  // connection was accepted (setSecureContext swaps it in the same turn as the bundle clientCas returns).
  const handshakeCas = new WeakMap<object, readonly X509Certificate[] | undefined>();
  const verifiedAtHandshake = (socket: TLSSocket, cas: readonly X509Certificate[]): boolean =>
    socket.authorized && handshakeCas.get(acceptedSocket(socket)) === cas;
  const judgeCaller = (socket: unknown, cas: readonly X509Certificate[] | undefined): CallerRefusal | undefined => {
    // Node (24) gives a server no intermediate of the caller's chain: a certificate an intermediate issued is taken
    // as the handshake verified it, while the bundle it was verified against is still the one in force; once the
    // bundle changed, only a certificate a CA of it issued directly passes, and the refusal closes the connection,
    // whose next handshake verifies the whole chain against the new bundle.
    if (cas && !(socket instanceof TLSSocket && (chainsTo(peerChain(socket), cas) || verifiedAtHandshake(socket, cas)))) return { why: 'ca' };
    const names = peerNames(socket);
    if (clientNames.length === 0 || names.some((name) => clientNames.includes(name))) return undefined;
    return { why: 'name', names };
  };
  // A connection's certificate is fixed once its handshake is done (renegotiation is refused, see serverFactory), so
  // its verdict holds until the CA bundle is reloaded (a new array): checking the chain's signature again on every
  // request of a kept-alive connection cost about as much as judging an allowed request (docs/performance.md).
  const verdicts = new WeakMap<TLSSocket, { readonly cas: readonly X509Certificate[] | undefined; readonly refusal: CallerRefusal | undefined }>();
  const callerRefusal = (socket: unknown): CallerRefusal | undefined => {
    const cas = clientCas?.();
    if (!(socket instanceof TLSSocket)) return judgeCaller(socket, cas);
    const known = verdicts.get(socket);
    if (known !== undefined && known.cas === cas) return known.refusal;
    const refusal = judgeCaller(socket, cas);
    verdicts.set(socket, { cas, refusal });
    return refusal;
  };

  // Request body bytes received and not yet answered, across all connections, against
  // admission.maxInflightBodyBytes. Counted as they arrive (BudgetedRequest.push), not as declared: a Content-Length
  // alone holds no memory, and a budget charged by it would let a few header-only connections refuse everyone.
  const refuseBusy = busyRefuser(config.admission.maxInflightBodyBytes, metrics, log, clock);
  const budget: BodyBudget = { inflight: 0, max: config.admission.maxInflightBodyBytes, refuse: refuseBusy };
  metrics.inflightBodyBytes.read = () => budget.inflight;
  const BudgetedRequest = budgetedRequestClass(budget);
  // Shared by every response (no closure per request); given back once.
  function giveBackBody(this: ServerResponse): void {
    const request = this.req as BudgetedIncoming;
    if (!request.bodyReleased) releaseHeld(request, budget);
  }

  const refusedHandshake = handshakeRefuser(log, clock);

  // The listening server's request listener: the fast path first (when enabled), Fastify for everything else. Both
  // read bodies through BudgetedRequest, so they share the budget (a 404 reads its body too); inject() does not.
  let fastPath: FastPath | undefined;
  const serverFactory = (fastifyHandler: RequestListener) => {
    const listener = (request: IncomingMessage, response: ServerResponse): void => {
      // A body may follow: what it holds is given back when the response closes (answered, the caller gone, timed out).
      if (request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined) {
        (request as BudgetedIncoming).answeredByListener = true;
        response.on('close', giveBackBody);
      }
      if (fastPath === undefined || !fastPath(request, response)) fastifyHandler(request, response);
    };
    const server = options.https
      ? createHttpsServer({ ...options.https, IncomingMessage: BudgetedRequest }, listener)
      : createHttpServer({ IncomingMessage: BudgetedRequest }, listener);
    // `Expect: 100-continue`: Node would invite the body (100 Continue) before anyone looked at the request. A body
    // declared over the limit is not invited: Fastify answers it as any oversize body, a 400 with Connection: close,
    // before reading any of it. Any other request is invited and served as usual.
    server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
      if (!(Number(request.headers['content-length']) > bodyLimit)) response.writeContinue();
      listener(request, response);
    });
    // A TLS 1.2 renegotiation could change a connection's certificate after its verdict was kept: refused (the API
    // server never renegotiates).
    if (checkCallers) {
      server.on('connection', (accepted: object) => handshakeCas.set(accepted, clientCas?.()));
      server.on('secureConnection', (socket: TLSSocket) => socket.disableRenegotiation());
      // A caller refused at the handshake (no client certificate, another CA) never reaches a route: without this line
      // an API server whose admission configuration lacks the certificate fails every call while this log stays silent.
      server.on('tlsClientError', refusedHandshake);
    }
    // What Fastify sets on the servers it creates itself.
    server.keepAliveTimeout = keepAliveTimeout;
    server.requestTimeout = requestTimeout;
    // Node enforces the request timeout only once the headers timeout (60 s by default) has passed too: a body that
    // stalled was held for 60 s, not requestTimeout. As Node derives it when requestTimeout is given at construction.
    server.headersTimeout = Math.min(server.headersTimeout, requestTimeout);
    server.setTimeout(0);
    return server;
  };

  const common = {
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    // During shutdown keep answering requests that arrive on open connections (with Connection: close)
    // instead of 503s, which the API server would turn into failed admissions.
    return503OnClosing: false,
    keepAliveTimeout,
    requestTimeout,
    routerOptions: { maxParamLength: 100 },
    serverFactory,
    // Malformed URLs and over-long targets: same 400 shape as every other bad input.
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) =>
      reply
        .code(400)
        .send({ error: error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'target name too long' : 'malformed request URL' }),
  };
  // `https` only tells Fastify the protocol for its "listening" line: serverFactory makes the server.
  const fastifyOptions = options.https ? { ...common, https: options.https } : common;
  const app = Fastify(fastifyOptions as Parameters<typeof Fastify>[0]) as unknown as AdmissionApp;

  app.decorateRequest('admissionTrace', null);

  if (checkCallers) {
    app.addHook('onRequest', (request, reply, done) => {
      const refusal = callerRefusal(request.raw.socket);
      if (refusal === undefined) return done();
      if (refusal.why === 'ca') request.log.warn('admission caller refused: client certificate no longer issued by the client CA');
      else request.log.warn({ clientNames: refusal.names.slice(0, 5) }, 'admission caller refused: client certificate name not allowed');
      reply.header('connection', 'close').code(403).send({ error: 'client certificate not allowed' });
    });
  }

  // Bodies are read as raw bytes whatever their Content-Type, with the size limit enforced while streaming.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));

  // Checked when the response goes out, so requests that began before shutdown also release their connection.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (options.shuttingDown?.()) reply.header('connection', 'close');
    done(null, payload);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status < 500) {
      // Unread bytes of an oversize body would otherwise keep flowing on this connection.
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') reply.header('connection', 'close');
      return sendBadRequest(request, reply, clientErrorReason(error, bodyLimit));
    }
    request.log.error({ err: error, url: request.url }, 'unexpected error in the admission server');
    if (request.admissionTrace) request.admissionTrace.outcome = 'errored';
    return reply.code(500).type(JSON_CONTENT_TYPE).send(INTERNAL_ERROR_PAYLOAD);
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route ${request.method} ${oneLine(request.url)} (admission is POST /validate/<target> or /mutate/<target>)` }),
  );

  const recordAdmission = admissionRecorder(metrics, log, options.onDecision);
  const admit = admissionCore({ snapshot, health, config, log, clock, metrics, removals: options.removals });

  app.addHook('onResponse', (request, reply, done) => {
    const trace = request.admissionTrace;
    if (trace) recordAdmission(trace, reply.elapsedTime, reply.statusCode);
    done();
  });

  // Validating webhooks at /validate/<target>, the mutating ones at /mutate/<target>: one registry, one core.
  for (const [prefix, mutating] of [[VALIDATE_PREFIX, false], [MUTATE_PREFIX, true]] as const) {
    app.post<{ Params: { target: string } }>(
      `${prefix}:target`,
      {
        onRequest: (request, reply, done) => {
          const target = request.params.target;
          const known = registry.get(target, mutating) !== undefined;
          request.admissionTrace = newTrace(known ? target : UNKNOWN_TARGET_LABEL);
          if (!known) {
            const served = registry.targets(mutating).join(', ') || 'none';
            // Answered before the body is read; the connection closes so the body is not drained.
            reply.header('connection', 'close');
            sendBadRequest(request, reply, `unknown target ${JSON.stringify(oneLine(target))} (served: ${served})`);
            return;
          }
          done();
        },
      },
      async (request, reply) => {
        const body = request.body;
        const answer = await admit(registry.get(request.params.target, mutating)!, Buffer.isBuffer(body) ? body : EMPTY_BODY, request.admissionTrace!);
        return reply.code(answer.status).type(JSON_CONTENT_TYPE).send(answer.payload);
      },
    );
  }

  if (options.fastPath ?? true) {
    fastPath = fastPathHandler({
      registry,
      bodyLimit,
      admit,
      record: recordAdmission,
      shuttingDown: options.shuttingDown ?? (() => false),
      callerAllowed: checkCallers ? (socket) => callerRefusal(socket) === undefined : undefined,
      log,
    });
  }

  return app;
}

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/** The body budget of one admission server: bytes received and not yet answered, its bound, what refuses past it. */
interface BodyBudget {
  inflight: number;
  readonly max: number;
  readonly refuse: (request: IncomingMessage, inflight: number) => void;
}

/** A request whose body bytes count against a BodyBudget as Node's parser pushes them (before any reader sees them). */
interface BudgetedIncoming extends IncomingMessage {
  heldBodyBytes: number;
  /** Its response closed: what it held is given back, and bytes arriving after (a body Node dumps) are not counted. */
  bodyReleased: boolean;
  /** The listener took it: its response's 'close' gives its bytes back (giveBackBody). */
  answeredByListener: boolean;
}

function budgetedRequestClass(budget: BodyBudget): typeof IncomingMessage {
  // Node answers some requests without the listener ever seeing them (an `Expect:` other than 100-continue, 417; no
  // Host, 400): no response 'close' of ours gives their bytes back, so the request's own 'close' does. (A request the
  // listener took keeps its bytes counted until its response closes: its body is held while it is judged.) Shared by
  // every request (no closure per request); given back once.
  function giveBack(this: BudgetedIncoming): void {
    if (!this.bodyReleased) releaseHeld(this, budget);
  }
  return class BudgetedRequest extends NodeIncomingMessage implements BudgetedIncoming {
    heldBodyBytes = 0;
    bodyReleased = false;
    answeredByListener = false;

    override push(chunk: unknown, encoding?: BufferEncoding): boolean {
      if (chunk !== null && !this.bodyReleased && typeof chunk === 'object' && chunk instanceof Uint8Array) {
        if (budget.inflight + chunk.length > budget.max) {
          // Past the budget: this request's bytes are given back and the request is dropped as a caller hanging up
          // would (both paths answer nothing more to a destroyed socket); the API server sees the call fail.
          budget.refuse(this, budget.inflight);
          releaseHeld(this, budget);
          this.destroy();
          return false;
        }
        if (this.heldBodyBytes === 0 && !this.answeredByListener) this.once('close', giveBack);
        budget.inflight += chunk.length;
        this.heldBodyBytes += chunk.length;
      }
      return super.push(chunk, encoding);
    }
  };
}

function releaseHeld(request: BudgetedIncoming, budget: BodyBudget): void {
  budget.inflight -= request.heldBodyBytes;
  request.heldBodyBytes = 0;
  request.bodyReleased = true;
}

/** At most one warn line per this long about callers refused at the TLS handshake. */
const HANDSHAKE_LOG_INTERVAL_MS = 60_000;

/**
 * Logs a TLS handshake the admission port refused (client certificate missing or not of the client CA) at warn, at
 * most once per HANDSHAKE_LOG_INTERVAL_MS, with how many were refused since the last such line.
 */
function handshakeRefuser(log: Logger, clock: () => number): (error: Error, socket: TLSSocket) => void {
  let refusedSinceLine = 0;
  let lastLine = -Infinity;
  return (error, socket) => {
    // Only a certificate problem: a socket closed or timed out before its handshake (a TCP probe, a scanner) is none.
    const reason = (error as { reason?: string }).reason || error.message || '';
    if (!/certificate|unknown ca|\bca\b/i.test(reason)) return;
    refusedSinceLine += 1;
    const now = clock();
    if (now - lastLine < HANDSHAKE_LOG_INTERVAL_MS) return;
    log.warn(
      { refused: refusedSinceLine, remoteAddress: socket.remoteAddress, reason: oneLine((error as { reason?: string }).reason || error.message || 'handshake failed') },
      'admission caller refused at the TLS handshake: no client certificate of admission.tls.clientCaFile (is the API server given its webhook client certificate? README, Security)',
    );
    lastLine = now;
    refusedSinceLine = 0;
  };
}

/** At most one warn line per this long about refused requests; the counter has them all. */
const BUSY_LOG_INTERVAL_MS = 10_000;

/**
 * Counts a request dropped past the body budget (volume_guard_admission_bodies_refused_total) and logs at warn at
 * most once per BUSY_LOG_INTERVAL_MS, with how many were dropped since the last such line.
 */
function busyRefuser(maxInflight: number, metrics: ServerMetrics, log: Logger, clock: () => number): (request: IncomingMessage, inflight: number) => void {
  let refusedSinceLine = 0;
  let lastLine = -Infinity;
  return (_request, inflight) => {
    metrics.bodiesRefused.inc();
    refusedSinceLine += 1;
    const now = clock();
    if (now - lastLine >= BUSY_LOG_INTERVAL_MS) {
      log.warn(
        { refused: refusedSinceLine, inflightBodyBytes: inflight, maxInflightBodyBytes: maxInflight },
        'admission requests dropped: request body bytes in flight reached admission.maxInflightBodyBytes',
      );
      lastLine = now;
      refusedSinceLine = 0;
    }
  };
}
/** Takes the request (true) or leaves it to Fastify (false, having read nothing of it). */
type FastPath = (request: IncomingMessage, response: ServerResponse) => boolean;
type CallerRefusal = { readonly why: 'ca' } | { readonly why: 'name'; readonly names: readonly string[] };

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
const EMPTY_BODY = Buffer.alloc(0);

function newTrace(targetLabel: string): AdmissionTrace {
  return { targetLabel, operation: 'unknown', outcome: 'invalid', request: undefined, decision: undefined, overrides: undefined, reason: undefined };
}

/** What the admission core answers: the HTTP status and the JSON text of the body. */
interface AdmissionAnswer {
  readonly status: number;
  readonly payload: string;
}

function badRequest(trace: AdmissionTrace, reason: string): AdmissionAnswer {
  trace.outcome = 'invalid';
  trace.reason = reason;
  return { status: 400, payload: JSON.stringify({ error: reason }) };
}

interface CoreOptions {
  readonly snapshot: ClusterSnapshot;
  readonly removals: RemovalRecorder | undefined;
  readonly health: ModelHealth;
  readonly config: Config;
  readonly log: Logger;
  readonly clock: () => number;
  readonly metrics: ServerMetrics;
}

/**
 * The admission core, one for the Fastify route and the fast path: decode the body, run the validator, record
 * what happened in the trace, and answer. Asynchronous only for validators with handleAsync.
 */
function admissionCore(options: CoreOptions): (validator: Validator, body: Buffer, trace: AdmissionTrace) => AdmissionAnswer | Promise<AdmissionAnswer> {
  const { snapshot, health, config, log, clock, metrics, removals } = options;

  /**
   * A validator threw (a bug): HTTP 500, no AdmissionReview. The API server takes a non-2xx answer as a failed call
   * and applies the webhook's failurePolicy (Fail: refused with "failed calling webhook", Ignore: let through), as
   * during an outage; an `allowed: false` review would be a final refusal whatever the policy says. Nothing was
   * judged: no removal is recorded as admitted and no override as honored; a cordon counts as refused, which it is
   * under Fail (kubectl drain goes on with the pods) and harmless under Ignore (the node is then cordoned).
   */
  function failed(error: unknown, admission: AdmissionRequest, trace: AdmissionTrace, context: RequestContext): AdmissionAnswer {
    log.error({ err: error, uid: logged(admission.uid), target: trace.targetLabel }, "validator threw; answering HTTP 500 (the webhook's failurePolicy decides)");
    trace.outcome = 'errored';
    trace.reason = 'validator threw';
    trace.overrides = NONE;
    if (context.cordoned !== undefined && removals !== undefined) removals.refuseCordon(context.cordoned, admission.userInfo.username, admission.dryRun);
    return { status: 500, payload: internalErrorPayload(admission.uid) };
  }

  function answer(given: Decision, admission: AdmissionRequest, trace: AdmissionTrace, context: RequestContext): AdmissionAnswer {
    // Bounded once: the response, the log line and the Event all read this decision.
    const decision = markDryRunOverride(boundDecision(given), admission.dryRun);
    trace.outcome = outcomeOf(decision);
    const reported = decision.overrides;
    let overrides = context.overrides;
    if (reported !== undefined && reported.length > 0) {
      overrides ??= new Set<string>();
      for (const check of reported) overrides.add(check);
    }
    if (overrides === undefined) trace.overrides = NONE;
    else {
      // A dry run uses no override: its answer says what the override would do, and is not counted as accepted risk.
      if (!admission.dryRun) for (const check of overrides) metrics.overrides.inc({ check });
      trace.overrides = [...overrides];
    }
    trace.decision = decision;
    // In the turn that decided, before any other request is judged: the next DELETE of the same command sees it.
    if (context.removals !== undefined && removals !== undefined && decision.allowed && !admission.dryRun) {
      for (const removal of context.removals) removals.admitRemoval(removal);
    }
    // A refused cordon: kubectl drain goes on with the node's pods, whose DELETEs are then judged as a drain's. A dry
    // run's answer, refused or allowed, is recorded apart, for the dry-run requests of the same preview (`drain
    // --dry-run=server`) only: its cordon leaves the node schedulable, and its evictions must be judged as the real
    // drain's, on the node cordoned.
    if (context.cordoned !== undefined && removals !== undefined) {
      const user = admission.userInfo.username;
      if (!decision.allowed) removals.refuseCordon(context.cordoned, user, admission.dryRun);
      else if (admission.dryRun) removals.allowDryRunCordon(context.cordoned, user);
      else removals.allowCordon(context.cordoned);
    }
    return { status: 200, payload: encodeAdmissionResponseJson(admission.uid, decision) };
  }

  return (validator, body, trace) => {
    const decoded = decodeAdmissionReviewBody(body, validator.elide, BODY_IS_OURS);
    if (!decoded.ok) return badRequest(trace, decoded.reason);
    const admission = decoded.request;
    trace.request = admission;
    trace.operation = admission.operation;
    // Removals admitted long enough ago that the informers should have shown them are forgotten (O(1) with none).
    removals?.expireRemovals();
    const context = new RequestContext(snapshot, health, config, clock(), log, admission.uid, trace.targetLabel);
    if (validator.handleAsync) {
      let pending: Promise<Decision>;
      try {
        pending = validator.handleAsync(admission, context);
      } catch (error) {
        return failed(error, admission, trace, context);
      }
      return pending.then(
        (decision) => answer(decision, admission, trace, context),
        (error: unknown) => failed(error, admission, trace, context),
      );
    }
    let decision: Decision;
    try {
      decision = validator.handle(admission, context);
    } catch (error) {
      return failed(error, admission, trace, context);
    }
    return answer(decision, admission, trace, context);
  };
}

/**
 * A dry run's honored override is marked `dry-run: "true"` in the audit annotations: kubectl drain --dry-run=server
 * puts the dry run in the eviction's body, so the API server's audit event of a preview would otherwise read as an
 * eviction done under an override.
 */
function markDryRunOverride(decision: Decision, dryRun: boolean): Decision {
  if (!dryRun || decision.auditAnnotations?.['overridden-checks'] === undefined) return decision;
  return { ...decision, auditAnnotations: { ...decision.auditAnnotations, 'dry-run': 'true' } };
}

/**
 * Each request's body is a Buffer of its own (the fast path's chunk or concatenation, Fastify's body parser), read
 * no more once decoded: what a validator sets aside stays in it, and a manifest worker may take it over.
 */
const BODY_IS_OURS: ElideOptions = { bodyIsOurs: true };

/** The shared empty list of checks or overrides (no allocation per request). */
const NONE: readonly string[] = Object.freeze([]);

/** One request's ValidationContext: the request logger is made only when a validator logs. */
class RequestContext implements ValidationContext {
  overrides: Set<string> | undefined = undefined;
  /** What the request removes, recorded once it is allowed (ValidationContext.removing). */
  removals: AdmittedRemoval[] | undefined = undefined;
  /** The node this request cordons (ValidationContext.cordoning), recorded with the final answer. */
  cordoned: string | undefined = undefined;
  #log: Logger | undefined = undefined;
  readonly #parentLog: Logger;
  readonly #uid: string;
  readonly #target: string;
  readonly snapshot: ClusterSnapshot;
  readonly health: ModelHealth;
  readonly config: Config;
  readonly now: number;

  constructor(snapshot: ClusterSnapshot, health: ModelHealth, config: Config, now: number, log: Logger, uid: string, target: string) {
    this.snapshot = snapshot;
    this.health = health;
    this.config = config;
    this.now = now;
    this.#parentLog = log;
    this.#uid = uid;
    this.#target = target;
  }

  get log(): Logger {
    this.#log ??= this.#parentLog.child({ uid: logged(this.#uid), target: this.#target });
    return this.#log;
  }

  // An arrow property so validators may pass it on detached from the context.
  readonly onOverride = (check: string): void => {
    (this.overrides ??= new Set<string>()).add(check);
  };

  readonly removing = (removal: AdmittedRemoval): void => {
    (this.removals ??= []).push(removal);
  };

  readonly cordoning = (node: string): void => {
    this.cordoned = node;
  };
}

interface FastPathOptions {
  readonly registry: ValidatorRegistry;
  readonly bodyLimit: number;
  readonly admit: ReturnType<typeof admissionCore>;
  readonly record: AdmissionRecorder;
  readonly shuttingDown: () => boolean;
  /** Undefined: callers are not checked per request. */
  readonly callerAllowed: ((socket: unknown) => boolean) | undefined;
  readonly log: Logger;
}

/** What the API server sends; other spellings take Fastify's route (same answers, more steps). */
const FAST_PATH_CONTENT_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/json; charset=utf-8']);

/**
 * The fast path: POST /validate/<served target> (or /mutate/<served mutating target>) with a JSON Content-Type, a Content-Length within the body limit
 * and no Transfer-Encoding, from a caller the client-certificate check admits. Decided from the request line
 * and headers alone, before any of the body is read (a query string, as the API server's `?timeout=10s`, is read by
 * neither); anything else (unknown targets, oversize or chunked bodies, other content types, refused callers, URLs
 * with escapes, other methods) is left to Fastify,
 * which answers it as it always has. What a fast request gets is what Fastify's route answers for it: the same
 * core, status, body, headers (Content-Type, Content-Length, Connection: close while shutting down), log line,
 * metrics and onDecision (test/unit/server/fast-path.test.ts sends the same inputs both ways).
 */
function fastPathHandler(options: FastPathOptions): FastPath {
  const { registry, bodyLimit, admit, record, shuttingDown, callerAllowed, log } = options;

  function send(response: ServerResponse, status: number, payload: string, close: boolean): void {
    const length = Buffer.byteLength(payload);
    if (close || shuttingDown()) response.writeHead(status, { 'content-type': JSON_CONTENT_TYPE, connection: 'close', 'content-length': length });
    else response.writeHead(status, { 'content-type': JSON_CONTENT_TYPE, 'content-length': length });
    response.end(payload);
  }

  function finish(request: IncomingMessage, response: ServerResponse, trace: AdmissionTrace, started: number, answer: AdmissionAnswer): void {
    send(response, answer.status, answer.payload, false);
    // As Fastify's onResponse: only for answers that went out (not when the caller hung up meanwhile).
    if (!request.socket.destroyed) record(trace, performance.now() - started, answer.status);
  }

  function failed(response: ServerResponse, trace: AdmissionTrace, started: number, reason: string, close: boolean): void {
    const answer = badRequest(trace, reason);
    response.once('finish', () => record(trace, performance.now() - started, 400));
    send(response, 400, answer.payload, close);
  }

  return (request, response) => {
    if (request.method !== 'POST') return false;
    const url = request.url ?? '';
    const mutating = url.startsWith(MUTATE_PREFIX);
    if (!mutating && !url.startsWith(VALIDATE_PREFIX)) return false;
    const prefix = mutating ? MUTATE_PREFIX : VALIDATE_PREFIX;
    // The API server's client adds the webhook's timeout to every call (`?timeout=10s`); the route reads no query.
    const query = url.indexOf('?', prefix.length);
    const target = query < 0 ? url.slice(prefix.length) : url.slice(prefix.length, query);
    const validator = registry.get(target, mutating);
    if (validator === undefined) return false;
    const headers = request.headers;
    const contentType = headers['content-type'];
    if (contentType === undefined || !FAST_PATH_CONTENT_TYPES.has(contentType) || headers['transfer-encoding'] !== undefined) return false;
    const length = Number(headers['content-length']);
    if (!(Number.isSafeInteger(length) && length > 0 && length <= bodyLimit)) return false;
    if (callerAllowed !== undefined && !callerAllowed(request.socket)) return false;

    const started = performance.now();
    const trace = newTrace(target);
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let received = 0;
    request.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (first === undefined) first = chunk;
      else (chunks ??= [first]).push(chunk);
    });
    request.on('error', (error: Error) => failed(response, trace, started, oneLine(error.message || 'bad request'), false));
    request.on('end', () => {
      // Node's parser stops at Content-Length, so a mismatch means a body cut short; answered as Fastify does.
      if (received !== length) return failed(response, trace, started, 'request body length does not match Content-Length', true);
      const body = chunks === undefined ? first! : Buffer.concat(chunks, received);
      let answer: AdmissionAnswer | Promise<AdmissionAnswer>;
      try {
        answer = admit(validator, body, trace);
      } catch (error) {
        answer = unexpected(error, trace, prefix);
      }
      if (chunks !== undefined) releaseBody(body);
      if (answer instanceof Promise) {
        answer.then(
          (settled) => finish(request, response, trace, started, settled),
          (error: unknown) => finish(request, response, trace, started, unexpected(error, trace, prefix)),
        );
      } else finish(request, response, trace, started, answer);
    });
    return true;
  };

  /** What Fastify's error handler answers for an error outside the validator (a bug): 500, logged. */
  function unexpected(error: unknown, trace: AdmissionTrace, prefix: string): AdmissionAnswer {
    trace.outcome = 'errored';
    log.error({ err: error, url: prefix + trace.targetLabel }, 'unexpected error in the admission server');
    return { status: 500, payload: INTERNAL_ERROR_PAYLOAD };
  }
}

/** Past this a body copied into a buffer of its own is given back as soon as it is decoded. */
const RELEASED_BODY_BYTES = 64 * 1024;

/**
 * Frees a large body's memory once the request's first turn is over, instead of leaving it to the next collection
 * that finds it dead: a flood of Helm releases otherwise piles up tens of MB of dead bodies outside V8's heap between
 * collections. The decoder copies what it keeps; the strings a validator set aside are views into the body, read in
 * that turn or handed to the manifest pool, which takes the body over or copies them (AdmissionRequest.elided). Only
 * a buffer that is the body's alone (not one of Node's shared pools).
 */
function releaseBody(body: Buffer): void {
  if (body.length >= RELEASED_BODY_BYTES && spansItsBuffer(body)) (body.buffer as ArrayBuffer).transfer(0);
}

type AdmissionRecorder = (trace: AdmissionTrace, elapsedMs: number, statusCode: number) => void;

/** Metrics, the admission log line and onDecision, once the answer is sent; shared by both paths. */
function admissionRecorder(metrics: ServerMetrics, log: Logger, onDecision: AdmissionAppOptions['onDecision']): AdmissionRecorder {
  const writeLine = jsonLineWriter(log, ADMISSION_LINE_KEYS);
  // An accepted risk is the audit record: written at the end of the event loop's turn that answered it (with the
  // lines of the requests answered in the same turn), not with the next batch (see LineBatcher). One write per turn:
  // a write per override line was a third of an override's CPU at 20 connections (docs/performance.md, stop 41).
  let flushQueued = false;
  const flushOverrides = () => {
    flushQueued = false;
    log.flush();
  };
  return (trace, elapsedMs, statusCode) => {
    metrics.admissionDuration.observe({ target: trace.targetLabel }, elapsedMs / 1000);
    metrics.admissionRequests.inc({ target: trace.targetLabel, operation: trace.operation, decision: trace.outcome });
    const request = trace.request;
    const decision = trace.decision;
    if (trace.outcome === 'denied') {
      const refusedBy = decision?.deniedChecks?.length ? decision.deniedChecks : decision?.checks?.length ? decision.checks : ['other'];
      for (const check of refusedBy) metrics.refusals.inc({ check, target: trace.targetLabel });
    }
    const line = admissionLine(trace, elapsedMs, statusCode);
    const level = trace.outcome === 'invalid' || trace.outcome === 'errored' ? 'warn' : 'info';
    if (writeLine) writeLine(level, line, 'admission');
    else log[level](line, 'admission');
    if (line.overrides.length > 0 && !flushQueued) {
      flushQueued = true;
      setImmediate(flushOverrides);
    }
    if (request && decision && onDecision) {
      try {
        onDecision(request, decision);
      } catch (error) {
        log.warn({ err: error, uid: logged(request.uid) }, 'decision listener failed');
      }
    }
  };
}

/** The fields of the admission log line, in a fixed order; absent ones are left out rather than undefined. */
interface AdmissionLine {
  uid?: string;
  target: string;
  operation?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  user?: string;
  dryRun?: boolean;
  decision: AdmissionOutcome;
  checks: readonly string[];
  overrides: readonly string[];
  overrideWriter?: string;
  overrideReason?: string;
  overrideSource?: string;
  overrideWritten?: string;
  /** The writer the mutating step recorded as skip-by (override-writer), and whom it replaced. */
  overrideRecorded?: string;
  durationMs: number;
  httpStatus?: number;
  reason?: string;
  message?: string;
}

const ADMISSION_LINE_KEYS: readonly (keyof AdmissionLine)[] = [
  'uid', 'target', 'operation', 'kind', 'namespace', 'name', 'user', 'dryRun', 'decision', 'checks', 'overrides',
  'overrideWriter', 'overrideReason', 'overrideSource', 'overrideWritten', 'overrideRecorded', 'durationMs', 'httpStatus', 'reason', 'message',
];

/**
 * The request's own strings in the admission line are cut at this many characters (marked by "…"): a forged review
 * with a 500 KB uid and username wrote a megabyte line. Real ones are far shorter (a uid is 36, a name at most 253).
 */
export const MAX_LOGGED_FIELD_LENGTH = 256;

/** `text` cut to MAX_LOGGED_FIELD_LENGTH characters; one comparison for the usual short string. */
function logged(text: string): string {
  return text.length <= MAX_LOGGED_FIELD_LENGTH ? text : `${text.slice(0, MAX_LOGGED_FIELD_LENGTH - 1)}…`;
}

function admissionLine(trace: AdmissionTrace, elapsedMs: number, statusCode: number): AdmissionLine {
  const request = trace.request;
  const decision = trace.decision;
  const line: AdmissionLine = request
    ? {
        uid: logged(request.uid),
        target: trace.targetLabel,
        operation: request.operation,
        kind: logged(request.kind.group ? `${request.kind.group}/${request.kind.kind}` : request.kind.kind),
        namespace: logged(request.namespace),
        name: logged(request.name),
        user: logged(request.userInfo.username),
        dryRun: request.dryRun,
        decision: trace.outcome,
        checks: decision?.checks ?? NONE,
        overrides: trace.overrides ?? NONE,
        durationMs: 0,
      }
    : { target: trace.targetLabel, decision: trace.outcome, checks: NONE, overrides: NONE, durationMs: 0 };
  // Who accepted the risk and why (also in the API audit log as auditAnnotations).
  const audit = decision?.auditAnnotations;
  if (audit !== undefined) {
    if (audit['override-writer']) line.overrideWriter = audit['override-writer'];
    if (audit['override-reason']) line.overrideReason = audit['override-reason'];
    if (audit['override-source']) line.overrideSource = audit['override-source'];
    if (audit['override-written']) line.overrideWritten = audit['override-written'];
    if (audit['skip-by-recorded']) line.overrideRecorded = audit['skip-by-recorded'];
  }
  line.durationMs = Math.round(elapsedMs * 1000) / 1000;
  if (statusCode !== 200) line.httpStatus = statusCode;
  if (trace.reason) line.reason = trace.reason;
  if (decision && !decision.allowed && decision.status) line.message = decision.status.message;
  return line;
}

export interface OpsAppOptions {
  readonly metrics: ServerMetrics;
  readonly log: Logger;
  /** Ready to receive admission traffic: the cluster model has synced and shutdown has not begun. */
  readonly readiness: () => boolean;
}

/** Plain HTTP: /healthz, /readyz, /metrics. Never serves admission. */
export function buildOpsApp(options: OpsAppOptions): OpsApp {
  const app = Fastify({
    loggerInstance: options.log,
    logController: new LogController({ disableRequestLogging: true }),
    keepAliveTimeout: 5_000,
    requestTimeout: 10_000,
  }) as unknown as OpsApp;
  // volume_guard_ready answers what /readyz would.
  options.metrics.ready.read = options.readiness;
  app.get('/healthz', (_request, reply) => reply.type('text/plain').send('ok\n'));
  app.get('/readyz', (_request, reply) =>
    options.readiness()
      ? reply.type('text/plain').send('ready\n')
      : reply.code(503).type('text/plain').send('not ready\n'),
  );
  app.get('/metrics', async (_request, reply) => {
    const registry = options.metrics.registry;
    return reply.type(registry.contentType).send(await registry.metrics());
  });
  return app;
}

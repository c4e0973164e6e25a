// The two Fastify apps: admission (HTTPS in production, POST /validate/<target>) and ops (plain HTTP: probes
// and metrics). Built without listening, so tests drive them with inject().

import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer, ServerOptions as HttpsServerOptions } from 'node:https';
import type { X509Certificate } from 'node:crypto';
import { TLSSocket } from 'node:tls';
import { chainsTo } from './tls.ts';
import { LogController, fastify as Fastify } from 'fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { ValidatorRegistry } from '../admission/registry.ts';
import { errored } from '../admission/types.ts';
import type { AdmissionRequest, Decision } from '../admission/types.ts';
import type { ValidationContext } from '../admission/validator.ts';
import type { ClusterSnapshot, ModelHealth } from '../cluster/snapshot.ts';
import type { Config } from '../config.ts';
import { decodeAdmissionReviewBody, encodeAdmissionResponse, outcomeOf } from './codec.ts';
import type { ServerMetrics } from './metrics.ts';
import type { AdmissionOutcome } from './metrics.ts';

export const INTERNAL_ERROR_MESSAGE = 'internal error, see volume-guard logs';

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
}

/** What the request hooks learn about one admission request, for its log line and metrics. */
interface AdmissionTrace {
  targetLabel: string;
  operation: string;
  outcome: AdmissionOutcome;
  request?: AdmissionRequest;
  decision?: Decision;
  overrides?: readonly string[];
  reason?: string;
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

  const common = {
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    // During shutdown keep answering requests that arrive on open connections (with Connection: close)
    // instead of 503s, which the API server would turn into failed admissions.
    return503OnClosing: false,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 120_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    routerOptions: { maxParamLength: 100 },
    // Malformed URLs and over-long targets: same 400 shape as every other bad input.
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) =>
      reply
        .code(400)
        .send({ error: error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'target name too long' : 'malformed request URL' }),
  };
  const app: AdmissionApp = options.https
    ? (Fastify({ ...common, https: options.https }) as unknown as AdmissionApp)
    : (Fastify(common) as unknown as AdmissionApp);

  app.decorateRequest('admissionTrace', null);

  // With a client CA the handshake already refused callers without a certificate of that CA. Each request is
  // checked again against the current bundle (a keep-alive connection outlives a rotated-out CA) and, with names
  // configured, a certificate of that CA issued to anyone else (a node, a user) is refused too.
  const clientNames = config.admission.tls.clientNames;
  const clientCas = options.clientCertificateAuthorities;
  if (options.https && config.admission.tls.clientCaFile !== '') {
    app.addHook('onRequest', (request, reply, done) => {
      const socket = request.raw.socket;
      const cas = clientCas?.();
      if (cas && !(socket instanceof TLSSocket && chainsTo(peerChain(socket), cas))) {
        request.log.warn('admission caller refused: client certificate no longer issued by the client CA');
        reply.header('connection', 'close').code(403).send({ error: 'client certificate not allowed' });
        return;
      }
      const names = peerNames(socket);
      if (clientNames.length === 0 || names.some((name) => clientNames.includes(name))) return done();
      request.log.warn({ clientNames: names.slice(0, 5) }, 'admission caller refused: client certificate name not allowed');
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
    return reply.code(500).send({ error: INTERNAL_ERROR_MESSAGE });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route ${request.method} ${oneLine(request.url)} (admission is POST /validate/<target>)` }),
  );

  app.addHook('onResponse', (request, reply, done) => {
    const trace = request.admissionTrace;
    if (trace) recordAdmission(trace, reply.elapsedTime, reply.statusCode);
    done();
  });

  function recordAdmission(trace: AdmissionTrace, elapsedMs: number, statusCode: number): void {
    metrics.admissionDuration.observe({ target: trace.targetLabel }, elapsedMs / 1000);
    metrics.admissionRequests.inc({ target: trace.targetLabel, operation: trace.operation, decision: trace.outcome });
    const request = trace.request;
    const decision = trace.decision;
    if (trace.outcome === 'denied') {
      const refusedBy = decision?.deniedChecks?.length ? decision.deniedChecks : decision?.checks?.length ? decision.checks : ['other'];
      for (const check of refusedBy) metrics.refusals.inc({ check, target: trace.targetLabel });
    }
    const audit = decision?.auditAnnotations ?? {};
    const line = {
      uid: request?.uid,
      target: trace.targetLabel,
      operation: request?.operation,
      kind: request ? `${request.kind.group ? `${request.kind.group}/` : ''}${request.kind.kind}` : undefined,
      namespace: request?.namespace,
      name: request?.name,
      user: request?.userInfo.username,
      dryRun: request?.dryRun,
      decision: trace.outcome,
      checks: decision?.checks ?? [],
      overrides: trace.overrides ?? [],
      // Who accepted the risk and why (also in the API audit log as auditAnnotations).
      ...(audit['override-writer'] ? { overrideWriter: audit['override-writer'] } : {}),
      ...(audit['override-reason'] ? { overrideReason: audit['override-reason'] } : {}),
      ...(audit['override-source'] ? { overrideSource: audit['override-source'] } : {}),
      ...(audit['override-written'] ? { overrideWritten: audit['override-written'] } : {}),
      durationMs: Math.round(elapsedMs * 1000) / 1000,
      ...(statusCode !== 200 ? { httpStatus: statusCode } : {}),
      ...(trace.reason ? { reason: trace.reason } : {}),
      ...(decision && !decision.allowed && decision.status ? { message: decision.status.message } : {}),
    };
    if (trace.outcome === 'invalid' || trace.outcome === 'errored') log.warn(line, 'admission');
    else log.info(line, 'admission');
    if (request && decision && options.onDecision) {
      try {
        options.onDecision(request, decision);
      } catch (error) {
        log.warn({ err: error, uid: request.uid }, 'decision listener failed');
      }
    }
  }

  app.post<{ Params: { target: string } }>(
    '/validate/:target',
    {
      onRequest: (request, reply, done) => {
        const target = request.params.target;
        const known = registry.get(target) !== undefined;
        request.admissionTrace = {
          targetLabel: known ? target : UNKNOWN_TARGET_LABEL,
          operation: 'unknown',
          outcome: 'invalid',
        };
        if (!known) {
          const served = registry.targets().join(', ') || 'none';
          // Answered before the body is read; the connection closes so the body is not drained.
          reply.header('connection', 'close');
          sendBadRequest(request, reply, `unknown target ${JSON.stringify(oneLine(target))} (served: ${served})`);
          return;
        }
        done();
      },
    },
    async (request, reply) => {
      const trace = request.admissionTrace!;
      const validator = registry.get(request.params.target)!;
      const body = request.body;
      const decoded = decodeAdmissionReviewBody(Buffer.isBuffer(body) ? body : Buffer.alloc(0));
      if (!decoded.ok) return sendBadRequest(request, reply, decoded.reason);

      const admission = decoded.request;
      trace.request = admission;
      trace.operation = admission.operation;

      const overrides = new Set<string>();
      let requestLog: Logger | undefined;
      const context: ValidationContext = {
        snapshot,
        health,
        config,
        now: clock(),
        get log() {
          requestLog ??= log.child({ uid: admission.uid, target: trace.targetLabel });
          return requestLog;
        },
        onOverride: (check) => void overrides.add(check),
      };

      let decision: Decision;
      try {
        decision = validator.handleAsync ? await validator.handleAsync(admission, context) : validator.handle(admission, context);
        trace.outcome = outcomeOf(decision);
      } catch (error) {
        log.error(
          { err: error, uid: admission.uid, target: trace.targetLabel },
          'validator threw; answering allowed=false',
        );
        decision = errored(500, INTERNAL_ERROR_MESSAGE);
        trace.outcome = 'errored';
      }
      for (const check of decision.overrides ?? []) overrides.add(check);
      for (const check of overrides) metrics.overrides.inc({ check });
      trace.decision = decision;
      trace.overrides = [...overrides];

      return reply
        .code(200)
        .type('application/json; charset=utf-8')
        .send(JSON.stringify(encodeAdmissionResponse(admission.uid, decision)));
    },
  );

  return app;
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

// The floors, all with volume-guard's TLS and connection settings:
// - the minimal correct webhook (the floor ratios are taken against): node:https that reads the body, JSON.parses
//   it, checks request.uid and answers {uid, allowed: true} — what no correct webhook can do with less;
// - the parse-nothing server: reads each body whole and answers one constant AdmissionReview (a lower bound no
//   correct webhook reaches, kept as a reference);
// - bare Fastify with volume-guard's server options and a constant answer (the framework's share).

import { createServer } from 'node:https';
import { fastify as Fastify } from 'fastify';
import type { AddressInfo } from 'node:net';
import { HANDSHAKE_TIMEOUT_MS, HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from '../../../src/server/serve.ts';
import { TLS_MIN_VERSION } from '../../../src/server/tls.ts';

const CONSTANT_REVIEW = Buffer.from(
  JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: '00000000-0000-4000-8000-000000000000', allowed: true },
  }),
);

export interface FloorServer {
  readonly port: number;
  close(): Promise<void>;
}

export type Handler = Parameters<typeof createServer>[1];

/** The parse-nothing server: the body read whole and dropped, one constant answer. */
const parseNothing: Handler = (request, response) => {
  request.on('data', () => undefined);
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': CONSTANT_REVIEW.length });
    response.end(CONSTANT_REVIEW);
  });
};

/** Time the answer's write took (`response.end`), summed over the answers written: floor-spin.ts reads it. */
export interface WriteTiming {
  microseconds: number;
  answers: number;
}

/**
 * The minimal correct webhook: parse the review, check request.uid, answer {uid, allowed: true}; 400 otherwise.
 * `spinMicroseconds` busy-waits that long before answering (a webhook doing that much work per request, for
 * floor-spin.ts); `timing` sums the time spent writing each answer.
 */
export function minimalCorrectHandler(spinMicroseconds = 0, timing?: WriteTiming): Handler {
  const spinMilliseconds = spinMicroseconds / 1000;
  return (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let uid: unknown;
      try {
        const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request?: { uid?: unknown } } | null;
        uid = review?.request?.uid;
      } catch {
        uid = undefined;
      }
      if (typeof uid !== 'string' || uid === '') {
        response.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
        response.end('not an AdmissionReview with request.uid\n');
        return;
      }
      if (spinMilliseconds > 0) {
        const until = performance.now() + spinMilliseconds;
        while (performance.now() < until);
      }
      const answer = Buffer.from(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } }));
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': answer.length });
      if (timing === undefined) {
        response.end(answer);
        return;
      }
      const started = performance.now();
      response.end(answer);
      timing.microseconds += (performance.now() - started) * 1000;
      timing.answers++;
    });
  };
}

export type FloorKind = 'minimal-correct' | 'parse-nothing';

export async function startFloorServer(
  tls: { certPem: string; keyPem: string },
  kind: FloorKind | Handler = 'minimal-correct',
  host = '127.0.0.1',
): Promise<FloorServer> {
  const server = createServer(
    {
      cert: tls.certPem,
      key: tls.keyPem,
      minVersion: TLS_MIN_VERSION,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      headersTimeout: HEADERS_TIMEOUT_MS,
      connectionsCheckingInterval: 2_000,
    },
    kind === 'minimal-correct' ? minimalCorrectHandler() : kind === 'parse-nothing' ? parseNothing : kind,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The framework floor: Fastify with volume-guard's server options (TLS, timeouts, raw-body parser, route shape),
 * answering the same constant review. Between the bare floor and volume-guard, it tells the framework's share
 * apart from volume-guard's own work (decode, checks, logging, metrics).
 */
export async function startFastifyFloorServer(tls: { certPem: string; keyPem: string }, host = '127.0.0.1'): Promise<FloorServer> {
  const app = Fastify({
    https: { cert: tls.certPem, key: tls.keyPem, minVersion: TLS_MIN_VERSION, handshakeTimeout: HANDSHAKE_TIMEOUT_MS, connectionsCheckingInterval: 2_000 },
    bodyLimit: 3 * 1024 * 1024,
    return503OnClosing: false,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    routerOptions: { maxParamLength: 100 },
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.post('/validate/:target', (_request, reply) => reply.code(200).type('application/json; charset=utf-8').send(CONSTANT_REVIEW));
  await app.listen({ port: 0, host });
  const address = app.server.address() as AddressInfo;
  return { port: address.port, close: () => app.close() };
}

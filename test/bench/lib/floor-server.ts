// The floor: a bare node:https server with volume-guard's TLS and connection settings, answering one constant
// AdmissionReview to whatever it is sent. It reads each body whole (as any webhook must) and parses nothing.

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

export async function startFloorServer(tls: { certPem: string; keyPem: string }, host = '127.0.0.1'): Promise<FloorServer> {
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
    (request, response) => {
      request.on('data', () => undefined);
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': CONSTANT_REVIEW.length });
        response.end(CONSTANT_REVIEW);
      });
    },
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

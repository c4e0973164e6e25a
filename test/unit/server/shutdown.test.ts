import type { IncomingMessage } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import type { ClientRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { allowed } from '../../../src/admission/types.ts';
import { ALWAYS_SYNCED, EMPTY_SNAPSHOT } from '../../support/empty-model.ts';
import { startServer } from '../../../src/server/serve.ts';
import type { RunningServer, ServeDependencies } from '../../../src/server/serve.ts';
import { peerCertificate, tempDir, testCa, waitFor, issue, writePlainPair } from '../../support/tls.ts';
import { sampleReview, captureLog, emptyDependencies, registryOf, testConfig, validator } from './server-fixtures.ts';
import type { CapturedLog } from './server-fixtures.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

interface Started {
  readonly server: RunningServer;
  readonly captured: CapturedLog;
  readonly port: number;
  readonly ca: string;
}

async function start(env: Record<string, string> = {}, dependencies?: ServeDependencies): Promise<Started> {
  const files = await writePlainPair(await tempDir(), await issue());
  const captured = captureLog();
  const server = await startServer({
    config: testConfig({
      VOLUME_GUARD_ADMISSION_TLS_CERT_FILE: files.certFile,
      VOLUME_GUARD_ADMISSION_TLS_KEY_FILE: files.keyFile,
      VOLUME_GUARD_ADMISSION_ALLOW_ALL: 'true',
      ...env,
    }),
    log: captured.log,
    dependencies: dependencies ?? emptyDependencies(),
  });
  cleanups.push(() => server.stop('test done'));
  return { server, captured, port: server.admissionAddress.port, ca: (await testCa()).certPem };
}

interface Reply {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

function openRequest(started: Started, path = '/validate/allow-all', agent?: Agent, contentLength?: number) {
  let request!: ClientRequest;
  const reply = new Promise<Reply>((resolve, reject) => {
    request = httpsRequest(
      {
        host: '127.0.0.1',
        port: started.port,
        method: 'POST',
        path,
        ca: started.ca,
        servername: 'localhost',
        ...(agent ? { agent } : {}),
        headers: { 'content-type': 'application/json', ...(contentLength ? { 'content-length': String(contentLength) } : {}) },
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
  });
  return { request, reply };
}

async function post(started: Started, agent?: Agent): Promise<Reply> {
  const { request, reply } = openRequest(started, '/validate/allow-all', agent);
  request.end(JSON.stringify(sampleReview()));
  return reply;
}

async function connectOutcome(port: number): Promise<string> {
  return peerCertificate(port).then(
    () => 'connected',
    (error: NodeJS.ErrnoException) => error.code ?? 'error',
  );
}

async function readyz(server: RunningServer): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${server.opsAddress.port}/readyz`);
  return response.status;
}

describe('graceful shutdown', () => {
  it('finishes a request whose body is still arriving, while refusing new connections', async () => {
    const started = await start({ VOLUME_GUARD_SHUTDOWN_TIMEOUT_MS: '60000' });
    const body = JSON.stringify(sampleReview({ uid: 'in-flight-1' }));
    const headersSeen = new Promise<void>((resolve) => started.server.admissionServer.once('request', () => resolve()));
    const { request, reply } = openRequest(started, '/validate/allow-all', undefined, Buffer.byteLength(body));
    request.write(body.slice(0, 40));
    request.flushHeaders();
    await headersSeen;

    const stopped = started.server.stop('test');
    expect(started.server.readiness()).toBe(false);
    // The listener closes while the request is still open.
    await waitFor(async () => ((await connectOutcome(started.port)) === 'ECONNREFUSED' ? true : undefined), 'the listener to close');

    request.end(body.slice(40));
    const response = await reply;
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body).response).toEqual({ uid: 'in-flight-1', allowed: true });
    expect(response.headers.connection).toBe('close');
    await stopped;
    expect(started.captured.lines.some((line) => String(line.msg).startsWith('shutdown timeout'))).toBe(false);
  });

  it('turns readiness false first and keeps answering (with Connection: close) during the drain delay', async () => {
    const started = await start({ VOLUME_GUARD_SHUTDOWN_DRAIN_DELAY_MS: '2500' });
    expect(await readyz(started.server)).toBe(200);

    const stopped = started.server.stop('test');
    expect(await readyz(started.server)).toBe(503);
    const during = await post(started);
    expect(during.status).toBe(200);
    expect(during.headers.connection).toBe('close');
    expect(JSON.parse(during.body).response.allowed).toBe(true);

    await stopped;
    expect(await connectOutcome(started.port)).toBe('ECONNREFUSED');
    const messages = started.captured.lines.map((line) => line.msg);
    expect(messages.indexOf('shutting down: readiness is now false')).toBeLessThan(messages.indexOf('volume-guard stopped'));
  });

  it('closes idle keep-alive connections at once instead of waiting for their timeout', async () => {
    const started = await start({ VOLUME_GUARD_SHUTDOWN_TIMEOUT_MS: '60000' });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(async () => agent.destroy());
    const first = await post(started, agent);
    expect(first.headers.connection).toBe('keep-alive');
    const socket = Object.values(agent.freeSockets).flat()[0];
    expect(socket).toBeDefined();
    const socketClosed = new Promise<void>((resolve) => socket!.once('close', () => resolve()));

    await started.server.stop('test');
    await socketClosed;
    expect(started.captured.lines.some((line) => String(line.msg).startsWith('shutdown timeout'))).toBe(false);
  });

  it('cuts off requests still running after shutdown.timeoutMs', async () => {
    const started = await start({ VOLUME_GUARD_SHUTDOWN_TIMEOUT_MS: '200' });
    const headersSeen = new Promise<void>((resolve) => started.server.admissionServer.once('request', () => resolve()));
    const { request, reply } = openRequest(started, '/validate/allow-all', undefined, 10_000);
    request.write('{"apiVersion":');
    request.flushHeaders();
    await headersSeen;

    await started.server.stop('test');
    await expect(reply).rejects.toThrow();
    expect(started.captured.lines.some((line) => String(line.msg).startsWith('shutdown timeout'))).toBe(true);
  });

  it('reports not ready until the model has synced', async () => {
    let synced = false;
    const started = await start(
      {},
      {
        snapshot: EMPTY_SNAPSHOT,
        health: { synced: () => synced, staleResources: ALWAYS_SYNCED.staleResources },
        registry: registryOf(validator('allow-all', () => allowed())),
      },
    );
    expect(await readyz(started.server)).toBe(503);
    synced = true;
    expect(await readyz(started.server)).toBe(200);
  });

  it('calls the dependencies close hook after the servers have closed', async () => {
    const order: string[] = [];
    const started = await start(
      {},
      {
        snapshot: EMPTY_SNAPSHOT,
        health: ALWAYS_SYNCED,
        registry: registryOf(validator('allow-all', () => allowed())),
        close: async () => {
          order.push(started.server.admissionServer.listening ? 'close while listening' : 'close after servers');
        },
      },
    );
    await started.server.stop('test');
    await started.server.stop('again'); // idempotent
    expect(order).toEqual(['close after servers']);
  });
});

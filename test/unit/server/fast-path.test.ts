// The listening admission server answers qualifying POST /validate/<target> requests on a fast path before
// Fastify's router; everything else goes through Fastify. Both must answer alike: the same inputs go to a
// server with the fast path, one without it, and inject(), and the answers, headers, log lines and metrics are
// compared.
import { Agent, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { allowAllValidator } from '../../../src/admission/allow-all.ts';
import { allowed } from '../../../src/admission/types.ts';
import type { Decision, JsonPatchOperation } from '../../../src/admission/types.ts';
import { elidedToken, stringOfToken } from '../../../src/json-bytes.ts';
import { buildAdmissionApp } from '../../../src/server/app.ts';
import { writeSelfSignedTls } from '../../../src/server/selfsigned.ts';
import type { AdmissionApp } from '../../../src/server/app.ts';
import { createMetrics } from '../../../src/server/metrics.ts';
import type { ServerMetrics } from '../../../src/server/metrics.ts';
import { ALWAYS_SYNCED, EMPTY_SNAPSHOT } from '../../support/empty-model.ts';
import { captureLog, deny, registryOf, sampleReview, testConfig, validator } from './server-fixtures.ts';
import type { CapturedLog } from './server-fixtures.ts';

const BODY_LIMIT = 4096;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

interface Served {
  readonly app: AdmissionApp;
  readonly port: number;
  readonly captured: CapturedLog;
  readonly metrics: ServerMetrics;
  readonly agent: Agent;
  /** Requests Fastify's hooks saw (the fast path bypasses them). */
  fastifyRequests: number;
  decisions: string[];
  shuttingDown: boolean;
}

/** What the mutating test webhook answers with: a JSON Patch with an escaped key. */
const WRITER_PATCH: readonly JsonPatchOperation[] = [{ op: 'add', path: '/metadata/annotations/volume-guard.io~1skip-by', value: 'alice' }];

const validators = () =>
  registryOf(
    allowAllValidator(testConfig()),
    validator('nodes', (request) =>
      request.name === 'risky'
        ? { ...deny('cordon of node risky would stop volume data-1'), checks: ['last-replica-on-node'], warnings: ['a warning'] }
        : { ...allowed([], { 'overridden-checks': 'single-replica', 'override-writer': 'admin', 'override-reason': 'OPS-1' }), checks: ['single-replica'], overrides: ['single-replica'] },
    ),
    validator('throws', () => {
      throw new Error('boom');
    }),
    {
      declaration: { name: 'broken-later.test.volume-guard.io', target: 'broken-later', rules: [] },
      handle: () => allowed(['never used']),
      handleAsync: async (): Promise<Decision> => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        throw new Error('boom later');
      },
    },
    {
      declaration: { name: 'writer.test.volume-guard.io', target: 'writer', rules: [], mutating: true },
      handle: (request) => ({ ...allowed([], { 'skip-by-recorded': request.userInfo.username }), patch: WRITER_PATCH }),
    },
    {
      declaration: { name: 'later.test.volume-guard.io', target: 'later', rules: [] },
      handle: () => allowed(['never used']),
      handleAsync: async (): Promise<Decision> => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return allowed(['decided later']);
      },
    },
  );

/** The admission app listening on loopback; `env` adds configuration, `extra` app options (an HTTPS server...). */
async function serve(fastPath: boolean, env: Record<string, string> = {}, extra: Partial<Parameters<typeof buildAdmissionApp>[0]> = {}): Promise<Served> {
  const captured = captureLog();
  const metrics = createMetrics({ processMetrics: false });
  const served: Partial<Served> & { fastifyRequests: number; decisions: string[]; shuttingDown: boolean } = { fastifyRequests: 0, decisions: [], shuttingDown: false };
  const app = buildAdmissionApp({
    config: testConfig({ VOLUME_GUARD_ADMISSION_BODY_LIMIT_BYTES: String(BODY_LIMIT), ...env }),
    registry: validators(),
    snapshot: EMPTY_SNAPSHOT,
    health: ALWAYS_SYNCED,
    metrics,
    log: captured.log,
    fastPath,
    shuttingDown: () => served.shuttingDown,
    onDecision: (request, decision) => void served.decisions.push(`${request.uid} ${decision.allowed}`),
    ...extra,
  });
  app.addHook('onRequest', (_request, _reply, done) => {
    served.fastifyRequests += 1;
    done();
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const agent = new Agent({ keepAlive: true });
  cleanups.push(async () => {
    agent.destroy();
    await app.close();
  });
  return Object.assign(served, { app, port: (app.server.address() as AddressInfo).port, captured, metrics, agent }) as Served;
}

interface Sent {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | undefined>;
  readonly body: string;
}

/** The headers both paths must agree on (Date differs by nature). */
function comparable(headers: IncomingHttpHeaders | OutgoingHttpHeaders): Record<string, string | undefined> {
  const pick = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value.join(', ') : value === undefined ? undefined : String(value);
  };
  return { 'content-type': pick('content-type'), 'content-length': pick('content-length'), connection: pick('connection'), 'keep-alive': pick('keep-alive') };
}

function send(served: Served, sent: Sent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port: served.port, method: sent.method ?? 'POST', path: sent.path, agent: served.agent, headers: { 'content-type': 'application/json', ...sent.headers } },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: comparable(response.headers), body }));
      },
    );
    request.on('error', reject);
    request.end(sent.body);
  });
}

async function inject(served: Served, sent: Sent): Promise<Answer> {
  const response = await served.app.inject({
    method: (sent.method ?? 'POST') as 'POST',
    url: sent.path,
    headers: { 'content-type': 'application/json', ...sent.headers },
    ...(sent.body === undefined ? {} : { payload: sent.body }),
  });
  return { status: response.statusCode, headers: comparable(response.headers), body: response.body };
}

/** The admission log lines without what differs by nature (time, duration). */
function admissionLines(served: Served): Record<string, unknown>[] {
  return served.captured.lines
    .filter((line) => line.msg === 'admission')
    .map(({ time: _time, durationMs, ...rest }) => {
      expect(typeof durationMs).toBe('number');
      return rest;
    });
}

async function metricValues(metrics: ServerMetrics): Promise<unknown> {
  const pick = async (metric: { get(): Promise<{ values: { labels: object; value: number; metricName?: string }[] }> }) =>
    (await metric.get()).values.filter((value) => !value.metricName?.endsWith('_sum')).map((value) => [JSON.stringify(value.labels), value.metricName, value.value]);
  return {
    requests: await pick(metrics.admissionRequests),
    overrides: await pick(metrics.overrides),
    refusals: await pick(metrics.refusals),
    durationCounts: (await pick(metrics.admissionDuration)).filter(([, name]) => String(name).endsWith('_count')),
  };
}

const review = (request: Record<string, unknown> = {}, top: Record<string, unknown> = {}) => JSON.stringify(sampleReview(request, top));

const INPUTS: [string, Sent, boolean][] = [
  // [what, request, takes the fast path]
  ['an allowed review', { path: '/validate/allow-all', body: review({ uid: 'a-1' }) }, true],
  ['an allowed review with overrides and audit annotations', { path: '/validate/nodes', body: review({ uid: 'a-2', name: 'fine' }) }, true],
  ['a denial with warnings', { path: '/validate/nodes', body: review({ uid: 'd-1', name: 'risky' }) }, true],
  ['a validator that throws', { path: '/validate/throws', body: review({ uid: 't-1' }) }, true],
  ['an asynchronous validator that rejects', { path: '/validate/broken-later', body: review({ uid: 't-2' }) }, true],
  ['an asynchronous validator', { path: '/validate/later', body: review({ uid: 'l-1' }) }, true],
  ['Content-Type with charset', { path: '/validate/allow-all', headers: { 'content-type': 'application/json; charset=utf-8' }, body: review({ uid: 'c-1' }) }, true],
  ['non-JSON', { path: '/validate/allow-all', body: 'this is not json' }, true],
  ['a truncated JSON text', { path: '/validate/allow-all', body: review({ uid: 'x-1' }).slice(0, 50) }, true],
  ['a wrong apiVersion', { path: '/validate/allow-all', body: review({}, { apiVersion: 'admission.k8s.io/v1beta1' }) }, true],
  ['a missing uid', { path: '/validate/allow-all', body: JSON.stringify({ ...sampleReview(), request: { ...sampleReview().request, uid: undefined } }) }, true],
  ['an object that is an array', { path: '/validate/nodes', body: review({ uid: 'o-1', object: [] }) }, true],
  ['an object that is a string', { path: '/validate/allow-all', body: review({ uid: 'o-2', object: 'x' }) }, true],
  ['an oldObject that is a number', { path: '/validate/nodes', body: review({ uid: 'o-3', oldObject: 3 }) }, true],
  ['a DELETE with a null object', { path: '/validate/nodes', body: review({ uid: 'o-4', operation: 'DELETE', object: null }) }, true],
  ['a body at the limit', { path: '/validate/allow-all', body: review({ uid: 'x'.repeat(BODY_LIMIT - review({ uid: '' }).length) }) }, true],
  ['an empty body', { path: '/validate/allow-all', body: '' }, false],
  ['an oversize body', { path: '/validate/allow-all', body: review({ object: { data: 'x'.repeat(BODY_LIMIT) } }) }, false],
  ['a body sent chunked', { path: '/validate/allow-all', headers: { 'transfer-encoding': 'chunked' }, body: review({ uid: 'ch-1' }) }, false],
  ['an unknown target', { path: '/validate/no-such-thing', body: review() }, false],
  ['a target in percent escapes', { path: '/validate/allow%2Dall', body: review({ uid: 'e-1' }) }, false],
  ['the API server\'s timeout query', { path: '/validate/allow-all?timeout=10s', body: review({ uid: 'q-1' }) }, true],
  ['an empty query', { path: '/validate/allow-all?', body: review({ uid: 'q-2' }) }, true],
  ['a query on an unknown target', { path: '/validate/no-such-thing?timeout=10s', body: review({ uid: 'q-3' }) }, false],
  ['a trailing slash', { path: '/validate/allow-all/', body: review() }, false],
  ['another Content-Type', { path: '/validate/allow-all', headers: { 'content-type': 'text/plain' }, body: review({ uid: 'p-1' }) }, false],
  ['a malformed Content-Type', { path: '/validate/allow-all', headers: { 'content-type': '///' }, body: review() }, false],
  ['GET', { method: 'GET', path: '/validate/allow-all' }, false],
  ['PUT', { method: 'PUT', path: '/validate/allow-all', body: review() }, false],
  ['a validating target at /mutate/', { path: '/mutate/allow-all', body: review() }, false],
  ['a mutating answer with a patch', { path: '/mutate/writer', body: review({ uid: 'm-1' }) }, true],
  ['a mutating answer, with the timeout query', { path: '/mutate/writer?timeout=5s', body: review({ uid: 'm-2' }) }, true],
  ['a mutating target at /validate/', { path: '/validate/writer', body: review({ uid: 'm-3' }) }, false],
  ['another path', { path: '/other/allow-all', body: review() }, false],
];

describe('the fast path answers as Fastify does', () => {
  it.each(INPUTS)('%s', async (_what, sent, fast) => {
    const withFastPath = await serve(true);
    const without = await serve(false);
    const injected = await serve(true);

    const a = await send(withFastPath, sent);
    const b = await send(without, sent);
    const c = await inject(injected, sent);

    expect(a).toEqual(b);
    expect({ status: a.status, body: a.body, 'content-type': a.headers['content-type'], 'content-length': a.headers['content-length'] }).toEqual({
      status: c.status,
      body: c.body,
      'content-type': c.headers['content-type'],
      'content-length': c.headers['content-length'],
    });
    // A 500 is a metav1.Status (kubectl shows its message; another JSON shape reads "unknown") with the request's uid.
    if (a.status === 500) {
      expect(JSON.parse(a.body)).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 500, reason: 'InternalError' });
      if (sent.path === '/validate/throws') expect(JSON.parse(a.body)).toMatchObject({ message: 'volume-guard internal error (a bug): see its logs, uid t-1' });
    }
    // 500 only for a validator that fails (its webhook's failurePolicy decides); bad input is a 400.
    expect(a.status === 200 || a.status === 400 || a.status === 404 || (a.status === 500 && sent.path.startsWith('/validate/') && /throws|broken/.test(sent.path))).toBe(true);
    expect(admissionLines(withFastPath)).toEqual(admissionLines(without));
    expect(admissionLines(withFastPath)).toEqual(admissionLines(injected));
    expect(await metricValues(withFastPath.metrics)).toEqual(await metricValues(without.metrics));
    expect(withFastPath.decisions).toEqual(without.decisions);
    expect(withFastPath.decisions).toEqual(injected.decisions);
    // Which path took it: Fastify's hooks never see a fast request.
    expect(withFastPath.fastifyRequests).toBe(fast ? 0 : 1);
    expect(without.fastifyRequests).toBe(1);
  });

  it("encodes a mutating webhook's patch as patchType JSONPatch and base64 JSON on both paths", async () => {
    const withFastPath = await serve(true);
    const injected = await serve(true);
    const sent: Sent = { path: '/mutate/writer', body: review({ uid: 'm-4' }) };
    for (const answer of [await send(withFastPath, sent), await inject(injected, sent)]) {
      expect(answer.status).toBe(200);
      const response = (JSON.parse(answer.body) as { response: Record<string, unknown> }).response;
      expect(response).toMatchObject({ uid: 'm-4', allowed: true, patchType: 'JSONPatch', auditAnnotations: { 'skip-by-recorded': 'alice' } });
      expect(JSON.parse(Buffer.from(String(response.patch), 'base64').toString('utf8'))).toEqual(WRITER_PATCH);
    }
    expect(withFastPath.fastifyRequests).toBe(0);
    expect(admissionLines(withFastPath)).toEqual(admissionLines(injected));
    expect(admissionLines(withFastPath)[0]).toMatchObject({ target: 'writer', decision: 'allowed', overrideRecorded: 'alice' });
  });

  it('refuses an object or oldObject that is no JSON object with a 400 on both paths, and takes a null one', async () => {
    const withFastPath = await serve(true);
    const without = await serve(false);
    for (const served of [withFastPath, without]) {
      expect(await send(served, { path: '/validate/nodes', body: review({ uid: 'o-1', object: [] }) })).toMatchObject({ status: 400, body: '{"error":"request.object must be an object (got an array)"}' });
      expect(await send(served, { path: '/validate/nodes', body: review({ uid: 'o-2', object: 'x' }) })).toMatchObject({ status: 400, body: '{"error":"request.object must be an object (got \\"x\\")"}' });
      expect(await send(served, { path: '/validate/nodes', body: review({ uid: 'o-3', oldObject: 3 }) })).toMatchObject({ status: 400, body: '{"error":"request.oldObject must be an object (got 3)"}' });
      expect((await send(served, { path: '/validate/nodes', body: review({ uid: 'o-4', operation: 'DELETE', object: null }) })).status).toBe(200);
    }
    expect(withFastPath.fastifyRequests).toBe(0);
  });

  it('answers the same sequence on one kept-alive connection, and says Connection: close once shutting down', async () => {
    const withFastPath = await serve(true);
    const without = await serve(false);
    const sequence = INPUTS.filter(([, , fast]) => fast).map(([, sent]) => sent);
    for (const served of [withFastPath, without]) served.shuttingDown = false;
    const answers = async (served: Served) => {
      const out: Answer[] = [];
      for (const sent of sequence) out.push(await send(served, sent));
      served.shuttingDown = true;
      out.push(await send(served, sequence[0]!));
      return out;
    };
    const a = await answers(withFastPath);
    const b = await answers(without);
    expect(a).toEqual(b);
    expect(a.at(-1)?.headers.connection).toBe('close');
    expect(a.at(-2)?.headers.connection).toBe('keep-alive');
    expect(withFastPath.fastifyRequests).toBe(0);
  });

  it('handles a body cut short by the caller alike, and keeps serving', async () => {
    const cut = async (served: Served) => {
      const body = review({ uid: 'cut-1' });
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(served.port, '127.0.0.1', () => {
          socket.write(`POST /validate/allow-all HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
          socket.end(body.slice(0, 40));
        });
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (text += chunk));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      // Give the server a moment to finish whatever it does with the cut request.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const next = await send(served, { path: '/validate/allow-all', body: review({ uid: 'after-cut' }) });
      return { raw: raw.replace(/^Date: .*\r\n/m, ''), next, lines: admissionLines(served), metrics: await metricValues(served.metrics) };
    };
    const a = await cut(await serve(true));
    const b = await cut(await serve(false));
    expect(a).toEqual(b);
    expect(a.next.status).toBe(200);
  });
});

describe('a large body in several chunks', () => {
  // The fast path gives a large body's memory back once decoded: what the validators read must not depend on it.
  const lengthOf = (value: unknown): number => (typeof value === 'string' ? value.length : -1);
  const registry = () =>
    registryOf({
      declaration: { name: 'sizes.test.volume-guard.io', target: 'sizes', rules: [] },
      elide: [['request', 'object', 'data', 'release']],
      handle: () => allowed(['never used']),
      handleAsync: async (request): Promise<Decision> => {
        // A token is valid in the request's first turn (the server gives the body's memory back after it).
        const data = (request.object as { data: { release: unknown; other: unknown } }).data;
        const token = elidedToken(data.release, request.elided);
        const release = token === undefined ? 'inline' : String(stringOfToken(token).length);
        await new Promise((resolve) => setTimeout(resolve, 5));
        const after = token === undefined ? 'inline' : token.byteLength === 0 ? 'given back' : 'kept';
        return allowed([`release ${release} (${after}), other ${lengthOf(data.other)}`]);
      },
    });

  it('reads it whole before its memory is given back, on the fast path as through Fastify', async () => {
    const app = buildAdmissionApp({
      config: testConfig({ VOLUME_GUARD_ADMISSION_BODY_LIMIT_BYTES: String(2 * 1024 * 1024) }),
      registry: registry(),
      snapshot: EMPTY_SNAPSHOT,
      health: ALWAYS_SYNCED,
      metrics: createMetrics({ processMetrics: false }),
      log: captureLog().log,
      fastPath: true,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => app.close());
    const port = (app.server.address() as AddressInfo).port;
    const body = Buffer.from(review({ uid: 'big-1', object: { data: { release: 'Q'.repeat(300_000), other: 'x'.repeat(200_000) } } }));
    const answer = await new Promise<string>((resolve, reject) => {
      const request = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/validate/sizes', headers: { 'content-type': 'application/json', 'content-length': body.length } }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve(text));
      });
      request.on('error', reject);
      // In pieces, with pauses, so that the server receives several chunks.
      let at = 0;
      const next = () => {
        if (at >= body.length) return void request.end();
        request.write(body.subarray(at, at + 40_000));
        at += 40_000;
        setTimeout(next, 2);
      };
      next();
    });
    expect((JSON.parse(answer) as { response: { uid: string; warnings: string[] } }).response).toMatchObject({
      uid: 'big-1',
      warnings: ['release 300000 (given back), other 200000'],
    });
    // Through Fastify the body is not given back early; the answer is the same otherwise.
    const injected = await app.inject({ method: 'POST', url: '/validate/sizes', headers: { 'content-type': 'application/json' }, payload: body });
    expect((injected.json() as { response: { warnings: string[] } }).response.warnings).toEqual(['release 300000 (kept), other 200000']);
  });
});

describe('the budget of request bodies in flight (admission.maxInflightBodyBytes)', () => {
  const BUDGET = 8192;

  const budgeted = (fastPath: boolean, extra: Partial<Parameters<typeof buildAdmissionApp>[0]> = {}): Promise<Served> =>
    serve(fastPath, { VOLUME_GUARD_ADMISSION_MAX_INFLIGHT_BODY_BYTES: String(BUDGET) }, extra);

  /** A raw connection that sends a request's head and `sent` bytes of its body, then stalls. */
  function stall(port: number, head: string, sent: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`${head}\r\n\r\n${'x'.repeat(sent)}`, () => resolve(socket));
      });
      socket.on('error', reject);
    });
  }
  const postHead = (length: number) => `POST /validate/allow-all HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}`;
  const chunkedHead = 'POST /validate/allow-all HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked';

  async function until(what: () => boolean | Promise<boolean>, label: string): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!(await what())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  const refusedCount = async (metrics: ServerMetrics) => (await metrics.bodiesRefused.get()).values[0]?.value ?? 0;
  const busyLines = (captured: CapturedLog) => captured.lines.filter((line) => String(line.msg).includes('admission.maxInflightBodyBytes'));

  /** The request's answer, or `dropped` when the server dropped the connection. */
  const sendOrDropped = (served: Served, sent: Sent): Promise<Answer | 'dropped'> => send(served, sent).catch(() => 'dropped' as const);

  it('counts bytes received, not declared: headers alone hold nothing, however many', async () => {
    for (const fastPath of [true, false]) {
      const served = await budgeted(fastPath);
      const heads = await Promise.all(Array.from({ length: 20 }, () => stall(served.port, postHead(4096), 0)));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(served.metrics.inflightBodyBytes.read()).toBe(0);
      expect((await send(served, { path: '/validate/allow-all', body: review({ uid: 'h-1' }) })).status).toBe(200);
      for (const socket of heads) socket.destroy();
    }
  });

  it('drops a request whose bytes go past the budget, alike on both paths, logs once, counts each, and serves again once bodies are released', async () => {
    const run = async (fastPath: boolean) => {
      const served = await budgeted(fastPath);
      const held = [await stall(served.port, postHead(4000), 3999), await stall(served.port, postHead(4000), 3999)];
      await until(() => served.metrics.inflightBodyBytes.read() === 7998, '7998 bytes in flight');
      const small = { path: '/validate/allow-all', body: review({ uid: 'busy-1' }) };
      const busy = await sendOrDropped(served, small);
      const again = await sendOrDropped(served, small);
      const text = await served.metrics.registry.metrics();
      expect(text).toContain('volume_guard_admission_inflight_body_bytes 7998');
      expect(await refusedCount(served.metrics)).toBe(2);
      expect(busyLines(served.captured)).toEqual([expect.objectContaining({ level: 'warn', refused: 1, inflightBodyBytes: 7998, maxInflightBodyBytes: BUDGET })]);
      // Dropped before any path could answer: no admission line.
      expect(admissionLines(served)).toEqual([]);
      // An aborted request gives back what it held.
      held[0]!.destroy();
      await until(() => served.metrics.inflightBodyBytes.read() === 3999, 'the aborted body released');
      const served200 = await send(served, small);
      held[1]!.destroy();
      await until(() => served.metrics.inflightBodyBytes.read() === 0, 'every body released');
      return { busy, again, served200: served200.status };
    };
    const a = await run(true);
    const b = await run(false);
    expect(a).toEqual(b);
    expect(a).toEqual({ busy: 'dropped', again: 'dropped', served200: 200 });
  });

  it('counts a chunked body by the bytes it carries, and gives back an oversize body refused unread', async () => {
    const served = await budgeted(true);
    const chunked = await new Promise<Socket>((resolve, reject) => {
      const socket = connect(served.port, '127.0.0.1', () => socket.write(`${chunkedHead}\r\n\r\n10\r\n${'x'.repeat(16)}\r\n`, () => resolve(socket)));
      socket.on('error', reject);
    });
    await until(() => served.metrics.inflightBodyBytes.read() === 16, 'the chunk counted');
    // Over the body limit: refused with 400 unread; what arrived is given back when it is answered.
    const oversize = await send(served, { path: '/validate/allow-all', body: review({ object: { data: 'x'.repeat(BODY_LIMIT) } }) });
    expect(oversize.status).toBe(400);
    await until(() => served.metrics.inflightBodyBytes.read() === 16, 'the oversize body given back');
    chunked.destroy();
    await until(() => served.metrics.inflightBodyBytes.read() === 0, 'every body released');
  });

  it('releases what a request holds exactly once however it ends: answered, refused, aborted mid-body, pipelined, timed out', async () => {
    for (const fastPath of [true, false]) {
      const served = await budgeted(fastPath);
      const asServed = served;
      // Answered 200 (also asynchronously), 400, 404, and through a validator that throws, on one kept-alive connection.
      for (const sent of [
        { path: '/validate/allow-all', body: review({ uid: 'r-1' }) },
        { path: '/validate/later', body: review({ uid: 'r-2' }) },
        { path: '/validate/throws', body: review({ uid: 'r-3' }) },
        { path: '/validate/allow-all', body: 'not json' },
        { path: '/validate/no-such-target', body: review() },
        { path: '/elsewhere', body: review() },
      ]) {
        await send(asServed, sent);
        await until(() => served.metrics.inflightBodyBytes.read() === 0, `released after ${sent.path}`);
      }
      // Aborted mid-body, and while the answer of an asynchronous validator is pending.
      const cut = await stall(served.port, postHead(3000), 1500);
      await until(() => served.metrics.inflightBodyBytes.read() === 1500, 'held');
      cut.destroy();
      await until(() => served.metrics.inflightBodyBytes.read() === 0, 'released after an abort');
      const body = review({ uid: 'p-1' });
      const pending = await stall(served.port, `POST /validate/later HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}${postHead(3000)}`, 20);
      await until(() => served.metrics.inflightBodyBytes.read() === body.length + 20, 'a pipelined request counted too');
      pending.destroy();
      await until(() => served.metrics.inflightBodyBytes.read() === 0, 'released after a pipelined abort');
      // The budget is whole again: two bodies that fill it are held.
      const held = [await stall(served.port, postHead(4096), 4095), await stall(served.port, postHead(4096), 4095)];
      await until(() => served.metrics.inflightBodyBytes.read() === 8190, 'the whole budget');
      for (const socket of held) socket.destroy();
      await until(() => served.metrics.inflightBodyBytes.read() === 0, 'released');
    }
  });

  it('gives back the bytes of requests Node answers itself, which the listener never sees (Expect other than 100-continue; no Host)', async () => {
    for (const fastPath of [true, false]) {
      const served = await budgeted(fastPath);
      // One connection: a 417 for `Expect: bogus` keeps it open, and a request after it is served as usual.
      const socket = await new Promise<Socket>((resolve, reject) => {
        const opened = connect(served.port, '127.0.0.1', () => resolve(opened));
        opened.on('error', reject);
      });
      let answers = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (answers += chunk));
      for (let round = 0; round < 5; round++) socket.write(`${postHead(3000)}\r\nExpect: bogus\r\n\r\n${'x'.repeat(3000)}`);
      await until(() => answers.split('HTTP/1.1 417').length - 1 === 5, 'five 417 answers');
      await until(() => served.metrics.inflightBodyBytes.read() === 0, 'their bytes given back');
      socket.destroy();
      // No Host: Node answers 400 and closes the connection.
      const noHost = await stall(served.port, `POST /validate/allow-all HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 3000`, 3000);
      await until(() => served.metrics.inflightBodyBytes.read() === 0, 'the bytes of a request without Host given back');
      noHost.destroy();
      expect((await send(served, { path: '/validate/allow-all', body: review({ uid: 'after' }) })).status).toBe(200);
      expect(served.metrics.inflightBodyBytes.read()).toBe(0);
    }
  });

  it('gives back the body of a request that timed out, at the request timeout (Node waited for the 60 s headers timeout)', async () => {
    const tls = await writeSelfSignedTls();
    cleanups.push(() => rm(tls.dir, { recursive: true, force: true }));
    const served = await budgeted(true, {
      https: { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), connectionsCheckingInterval: 50 },
      requestTimeoutMs: 200,
    });
    let counted = 0;
    const status = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ port: served.port, host: '127.0.0.1', rejectUnauthorized: false }, () => socket.write(`${postHead(3000)}\r\n\r\n${'x'.repeat(10)}`));
      // Over TLS too, the bytes received count while the body is held.
      void until(() => served.metrics.inflightBodyBytes.read() === 10, 'the TLS body counted').then(() => (counted = served.metrics.inflightBodyBytes.read()));
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('close', () => resolve(text.split('\r\n')[0] ?? ''));
      socket.on('error', reject);
    });
    expect(counted).toBe(10);
    expect(status).toBe('HTTP/1.1 408 Request Timeout');
    await until(() => served.metrics.inflightBodyBytes.read() === 0, 'released after the timeout');
  });
});

// A client that sends `Expect: 100-continue` waits for the server's invitation before the body. Node invited every
// body (100 Continue) before looking at it, then the body limit refused it: a declared-oversize body is not invited.
describe('Expect: 100-continue', () => {
  const head = (length: number, path = '/validate/allow-all') =>
    `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`;

  /** What the server writes on one connection until it closes it or `done` says enough was read. */
  function exchange(socket: Socket, done: (text: string) => boolean, onText: (text: string) => void = () => undefined): Promise<{ text: string; closed: boolean }> {
    return new Promise((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => resolve({ text, closed: false }), 3_000);
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        text += chunk;
        onText(text);
        if (done(text)) {
          clearTimeout(timer);
          resolve({ text, closed: false });
        }
      });
      socket.on('close', () => {
        clearTimeout(timer);
        resolve({ text, closed: true });
      });
      socket.on('error', reject);
    });
  }

  const opened = (port: number) =>
    new Promise<Socket>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(socket));
      socket.on('error', reject);
    });

  it.each([[true], [false]])('answers a body declared over the limit with the 400, Connection: close, without inviting it (fast path %s)', async (fastPath) => {
    const served = await serve(fastPath);
    const socket = await opened(served.port);
    socket.write(head(BODY_LIMIT + 1));
    const { text, closed } = await exchange(socket, () => false);
    expect(text).not.toContain('100 Continue');
    expect(text.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(text.toLowerCase()).toContain('\r\nconnection: close\r\n');
    expect(text.endsWith(`\r\n\r\n{"error":"request body exceeds ${BODY_LIMIT} bytes (admission.bodyLimitBytes)"}`)).toBe(true);
    expect(closed).toBe(true);
    expect(admissionLines(served)).toEqual([expect.objectContaining({ decision: 'invalid', httpStatus: 400, reason: `request body exceeds ${BODY_LIMIT} bytes (admission.bodyLimitBytes)` })]);
  });

  it.each([[true], [false]])('invites a body within the limit and serves it as usual (fast path %s)', async (fastPath) => {
    const served = await serve(fastPath);
    const socket = await opened(served.port);
    const body = review({ uid: 'continue-1' });
    socket.write(head(Buffer.byteLength(body)));
    let invited = false;
    const { text } = await exchange(
      socket,
      (seen) => seen.includes('"uid":"continue-1"'),
      (seen) => {
        if (!invited && seen.includes('\r\n\r\n')) {
          invited = true;
          socket.write(body);
        }
      },
    );
    socket.destroy();
    expect(text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n')).toBe(true);
    expect(JSON.parse(text.slice(text.lastIndexOf('\r\n\r\n') + 4)).response).toEqual({ uid: 'continue-1', allowed: true });
    expect(served.fastifyRequests).toBe(fastPath ? 0 : 1);
  });

  it('does not invite an oversize body over TLS either', async () => {
    const tls = await writeSelfSignedTls();
    cleanups.push(() => rm(tls.dir, { recursive: true, force: true }));
    const served = await serve(true, {}, { https: { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } });
    const socket = await new Promise<Socket>((resolve, reject) => {
      const secure = tlsConnect({ port: served.port, host: '127.0.0.1', rejectUnauthorized: false }, () => resolve(secure));
      secure.on('error', reject);
    });
    socket.write(head(10 * BODY_LIMIT));
    const { text, closed } = await exchange(socket, () => false);
    expect(text.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(text).not.toContain('100 Continue');
    expect(closed).toBe(true);
  });
});

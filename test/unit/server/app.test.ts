import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { allowAllValidator } from '../../../src/admission/allow-all.ts';
import { allowed, type Decision } from '../../../src/admission/types.ts';
import { INTERNAL_ERROR_MESSAGE, MAX_LOGGED_FIELD_LENGTH, buildAdmissionApp, buildOpsApp } from '../../../src/server/app.ts';
import { MAX_AUDIT_ANNOTATION_LENGTH, MAX_STATUS_MESSAGE_LENGTH } from '../../../src/server/codec.ts';
import type { AdmissionApp, AdmissionAppOptions } from '../../../src/server/app.ts';
import { ALWAYS_SYNCED, EMPTY_SNAPSHOT } from '../../support/empty-model.ts';
import { createMetrics } from '../../../src/server/metrics.ts';
import type { ServerMetrics } from '../../../src/server/metrics.ts';
import { reviewBody } from '../../support/admission.ts';
import { createLogger, LineBatcher } from '../../../src/logging.ts';
import { sampleReview, captureLog, deny, registryOf, testConfig, validator } from './server-fixtures.ts';
import type { CapturedLog } from './server-fixtures.ts';

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

interface Harness {
  readonly app: AdmissionApp;
  readonly metrics: ServerMetrics;
  readonly captured: CapturedLog;
}

function harness(overrides: Partial<AdmissionAppOptions> = {}): Harness {
  const metrics = createMetrics({ processMetrics: false });
  const captured = captureLog();
  const app = buildAdmissionApp({
    config: testConfig(),
    registry: registryOf(allowAllValidator(testConfig())),
    snapshot: EMPTY_SNAPSHOT,
    health: ALWAYS_SYNCED,
    metrics,
    log: captured.log,
    ...overrides,
  });
  apps.push(app);
  return { app, metrics, captured };
}

async function counter(metrics: ServerMetrics, labels: Record<string, string>): Promise<number> {
  const values = (await metrics.admissionRequests.get()).values;
  return values.find((value) => Object.entries(labels).every(([key, want]) => (value.labels as Record<string, unknown>)[key] === want))?.value ?? 0;
}

function post(app: AdmissionApp, target: string, payload: unknown, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: `/validate/${target}`,
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
  });
}

describe('POST /validate/<target>', () => {
  it('answers a valid review with an AdmissionReview echoing the uid', async () => {
    const { app, metrics } = harness();
    const response = await post(app, 'allow-all', sampleReview({ uid: 'uid-echo-1' }));
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json()).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'uid-echo-1', allowed: true },
    });
    expect(await counter(metrics, { target: 'allow-all', operation: 'UPDATE', decision: 'allowed' })).toBe(1);
    expect((await metrics.admissionDuration.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value).toBe(1);
  });

  it('returns a denial with status, warnings and audit annotations', async () => {
    const { app, metrics } = harness({
      registry: registryOf(
        validator('nodes', () => deny('node worker-1 holds the last replica of pvc-1', { warnings: ['w1'], auditAnnotations: { check: 'last-replica-on-node' } })),
      ),
    });
    const response = await post(app, 'nodes', sampleReview({ uid: 'deny-1' }));
    expect(response.statusCode).toBe(200);
    expect(response.json().response).toEqual({
      uid: 'deny-1',
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: 'node worker-1 holds the last replica of pvc-1' },
      warnings: ['w1'],
      auditAnnotations: { check: 'last-replica-on-node' },
    });
    expect(await counter(metrics, { target: 'nodes', decision: 'denied' })).toBe(1);
  });

  it('bounds a denial message and audit annotation values that echo the request (a 256 KiB skip-by or skip-reason)', async () => {
    // The override guard echoes a wrong skip-by and skip-until; override-reason is the annotation as written.
    const echoed = `${'x'.repeat(200)} `.repeat(1_300);
    const seen: Decision[] = [];
    const { app, captured } = harness({
      registry: registryOf(validator('echo', () => deny(`must record its writer (it says "${echoed}")`, { auditAnnotations: { 'override-reason': echoed } }))),
      onDecision: (_request, decision) => void seen.push(decision),
    });
    const response = await post(app, 'echo', sampleReview());
    const answer = response.json().response as { status: { message: string }; auditAnnotations: Record<string, string> };
    expect(answer.status.message.length).toBeLessThanOrEqual(MAX_STATUS_MESSAGE_LENGTH);
    expect(answer.status.message).toMatch(/^must record its writer \(it says "x+ x+.*…$/);
    expect(answer.auditAnnotations['override-reason']?.length).toBeLessThanOrEqual(MAX_AUDIT_ANNOTATION_LENGTH);
    const line = captured.lines.find((entry) => entry.msg === 'admission');
    expect(String(line?.message).length).toBeLessThanOrEqual(MAX_STATUS_MESSAGE_LENGTH);
    expect(String(line?.overrideReason).length).toBeLessThanOrEqual(MAX_AUDIT_ANNOTATION_LENGTH);
    expect(captured.text().length).toBeLessThan(20_000);
    // The Event's note is written from the same bounded decision.
    expect(seen[0]?.status?.message.length).toBeLessThanOrEqual(MAX_STATUS_MESSAGE_LENGTH);
  });

  it('counts an allowed response with warnings as warned', async () => {
    const { app, metrics } = harness({ registry: registryOf(validator('w', () => allowed(['careful']))) });
    await post(app, 'w', sampleReview());
    expect(await counter(metrics, { target: 'w', decision: 'warned' })).toBe(1);
  });

  it('passes the request and a context to the validator', async () => {
    let seen: { uid?: string; now?: number; level?: string; synced?: boolean } = {};
    const { app } = harness({
      clock: () => 1234,
      registry: registryOf(
        validator('ctx', (request, context) => {
          seen = { uid: request.uid, now: context.now, level: context.config.log.level, synced: context.health.synced() };
          return allowed();
        }),
      ),
    });
    await post(app, 'ctx', sampleReview({ uid: 'ctx-1' }));
    expect(seen).toEqual({ uid: 'ctx-1', now: 1234, level: 'debug', synced: true });
  });

  // An `allowed: false` review is a final refusal the API server applies whatever the webhook's failurePolicy says;
  // only a failed call (or a non-2xx answer) is judged by the policy, so a validator bug must be a 500.
  it('answers HTTP 500 when a validator throws, so the failurePolicy decides; logs it with the uid and keeps serving', async () => {
    let calls = 0;
    const decided: string[] = [];
    const cordons: string[] = [];
    const { app, metrics, captured } = harness({
      registry: registryOf(
        validator('flaky', (_request, context) => {
          calls += 1;
          if (calls === 1) {
            context.onOverride('single-replica');
            context.cordoning('worker-1');
            throw new TypeError('cannot read properties of undefined');
          }
          return allowed();
        }),
      ),
      onDecision: (request) => void decided.push(request.uid),
      removals: {
        admitRemoval: () => cordons.push('admitted'),
        expireRemovals: () => undefined,
        refuseCordon: (node) => void cordons.push(`refused ${node}`),
        allowCordon: (node) => void cordons.push(`allowed ${node}`),
        allowDryRunCordon: (node) => void cordons.push(`dry-run allowed ${node}`),
      },
    });
    const first = await post(app, 'flaky', sampleReview({ uid: 'boom-1' }));
    expect(first.statusCode).toBe(500);
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    // A metav1.Status: the API server's client shows its message (any other JSON shape reads "unknown" in kubectl).
    expect(first.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      code: 500,
      reason: 'InternalError',
      message: 'volume-guard internal error (a bug): see its logs, uid boom-1',
    });
    const errorLine = captured.lines.find((line) => line.msg === "validator threw; answering HTTP 500 (the webhook's failurePolicy decides)");
    expect(errorLine).toMatchObject({ level: 'error', uid: 'boom-1', target: 'flaky' });
    expect((errorLine?.err as { message?: string } | undefined)?.message).toBe('cannot read properties of undefined');
    expect(captured.lines.find((line) => line.msg === 'admission')).toMatchObject({
      level: 'warn',
      uid: 'boom-1',
      decision: 'errored',
      httpStatus: 500,
      reason: 'validator threw',
      overrides: [],
    });
    expect(await counter(metrics, { target: 'flaky', decision: 'errored' })).toBe(1);
    // Nothing was judged: no override counted, no Event; the cordon it was about counts as refused.
    expect((await metrics.overrides.get()).values).toEqual([]);
    expect(decided).toEqual([]);
    expect(cordons).toEqual(['refused worker-1']);

    const second = await post(app, 'flaky', sampleReview({ uid: 'boom-2' }));
    expect(second.statusCode).toBe(200);
    expect(second.json().response).toEqual({ uid: 'boom-2', allowed: true });
  });

  it.each([
    ['rejects', async (): Promise<Decision> => Promise.reject(new RangeError('worker gone'))],
    ['throws before its promise', (): Promise<Decision> => {
      throw new RangeError('worker gone');
    }],
  ])('answers HTTP 500 when an asynchronous validator %s', async (_how, handleAsync) => {
    const { app, metrics, captured } = harness({
      registry: registryOf({ ...validator('later', () => allowed()), handleAsync }),
    });
    const response = await post(app, 'later', sampleReview({ uid: 'async-1' }));
    expect(response.statusCode).toBe(500);
    expect(response.json()).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 500, reason: 'InternalError', message: `${INTERNAL_ERROR_MESSAGE}, uid async-1` });
    expect(response.body).not.toContain('worker gone');
    expect(captured.lines.find((line) => line.msg === "validator threw; answering HTTP 500 (the webhook's failurePolicy decides)")).toMatchObject({ uid: 'async-1' });
    expect(await counter(metrics, { target: 'later', decision: 'errored' })).toBe(1);
  });

  it('counts each overridden check once, whether reported by callback or in the decision', async () => {
    const { app, metrics } = harness({
      registry: registryOf(
        validator('skip', (_request, context) => {
          context.onOverride('single-replica');
          context.onOverride('single-replica');
          return { ...allowed(['overridden']), overrides: ['single-replica', 'orphan-pvc'] };
        }),
      ),
    });
    await post(app, 'skip', sampleReview());
    const values = (await metrics.overrides.get()).values.map((value) => [value.labels.check, value.value]);
    expect(Object.fromEntries(values)).toEqual({ 'single-replica': 1, 'orphan-pvc': 1 });
  });

  it('logs one line per admission with the request facts and no object body', async () => {
    const { app, captured } = harness({
      registry: registryOf(validator('nodes', () => ({ ...deny('no'), checks: ['last-replica-on-node'] }))),
    });
    await post(
      app,
      'nodes',
      sampleReview({
        uid: 'log-1',
        namespace: 'team-a',
        dryRun: true,
        object: { metadata: { name: 'worker-1' }, data: { secret: 'SECRET-VALUE-123' } },
      }),
    );
    const line = captured.lines.find((entry) => entry.msg === 'admission');
    expect(line).toMatchObject({
      level: 'info',
      uid: 'log-1',
      target: 'nodes',
      operation: 'UPDATE',
      kind: 'Node',
      namespace: 'team-a',
      name: 'worker-1',
      user: 'alice',
      dryRun: true,
      decision: 'denied',
      checks: ['last-replica-on-node'],
      overrides: [],
    });
    expect(typeof line?.durationMs).toBe('number');
    expect(captured.text()).not.toContain('SECRET-VALUE-123');
  });

  it('cuts the request\'s own strings in its log lines at MAX_LOGGED_FIELD_LENGTH, never a megabyte line, and still echoes the uid whole', async () => {
    const { app, captured } = harness({
      registry: registryOf(
        validator('nodes', (_request, context) => {
          context.log.info('judging');
          return allowed();
        }),
      ),
    });
    const huge = (letter: string) => letter.repeat(500_000);
    const response = await post(
      app,
      'nodes',
      sampleReview({ uid: huge('u'), name: huge('n'), namespace: huge('s'), kind: { group: huge('g'), version: 'v1', kind: 'Node' }, userInfo: { username: huge('a') } }),
    );
    expect(response.statusCode).toBe(200);
    expect((response.json() as { response: { uid: string } }).response.uid).toBe(huge('u'));
    const cut = (letter: string) => `${letter.repeat(MAX_LOGGED_FIELD_LENGTH - 1)}…`;
    const line = captured.lines.find((entry) => entry.msg === 'admission');
    expect(line).toMatchObject({ uid: cut('u'), name: cut('n'), namespace: cut('s'), user: cut('a'), kind: cut('g') });
    expect(captured.lines.find((entry) => entry.msg === 'judging')).toMatchObject({ uid: cut('u') });
    for (const text of captured.text().split('\n')) expect(text.length).toBeLessThan(4096);
    // Short ones are written as they are.
    await post(app, 'nodes', sampleReview({ uid: 'u'.repeat(MAX_LOGGED_FIELD_LENGTH), name: 'worker-1' }));
    expect(captured.lines.filter((entry) => entry.msg === 'admission')[1]).toMatchObject({ uid: 'u'.repeat(MAX_LOGGED_FIELD_LENGTH), name: 'worker-1', user: 'alice' });
  });
});

describe('what an operator alerts and searches on (issue 19.6)', () => {
  it('counts refusals per check that refused them, stale-model included', async () => {
    const { app, metrics } = harness({
      registry: registryOf(
        validator('two', () => ({ ...deny('no'), checks: ['single-replica', 'volume-health'], deniedChecks: ['volume-health'] })),
        validator('stale', () => ({ ...deny('unknown state'), deniedChecks: ['stale-model'] })),
        validator('ok', () => ({ ...allowed(), checks: ['single-replica'] })),
      ),
    });
    await post(app, 'two', sampleReview());
    await post(app, 'two', sampleReview());
    await post(app, 'stale', sampleReview());
    await post(app, 'ok', sampleReview());
    const values = (await metrics.refusals.get()).values.map((value) => [`${value.labels.target}/${value.labels.check}`, value.value]);
    expect(Object.fromEntries(values)).toEqual({ 'two/volume-health': 2, 'stale/stale-model': 1 });
  });

  it('puts the override writer, reason and source in the admission line, and times in ISO 8601', async () => {
    const { app, captured } = harness({
      registry: registryOf(
        validator('skip', () =>
          allowed(['skipped'], {
            'overridden-checks': 'node-local-volume',
            'override-source': 'node worker-1',
            'override-reason': 'disk kept, OPS-7',
            'override-writer': 'admin',
          }),
        ),
      ),
    });
    await post(app, 'skip', sampleReview());
    const line = captured.lines.find((entry) => entry.msg === 'admission');
    expect(line).toMatchObject({ overrideWriter: 'admin', overrideReason: 'disk kept, OPS-7', overrideSource: 'node worker-1' });
    expect(line?.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(Math.abs(Date.parse(String(line?.time)) - Date.now())).toBeLessThan(60_000);
  });
});

describe('batched log lines (LineBatcher)', () => {
  it('writes the line of an accepted risk at the end of the turn that answered it; other lines wait for the batch', async () => {
    const written: string[] = [];
    const log = createLogger('info', new LineBatcher({ write: (chunk: string) => void written.push(chunk) }));
    const { app } = harness({
      log,
      registry: registryOf(
        validator('skip', () => ({ ...allowed(['skipped']), overrides: ['single-replica'] })),
        validator('plain', () => allowed()),
      ),
    });
    await post(app, 'plain', sampleReview({ uid: 'plain-1' }));
    expect(written.join('')).not.toContain('plain-1');
    await post(app, 'skip', sampleReview({ uid: 'override-1' }));
    await new Promise<void>((resolve) => setImmediate(resolve));
    // Flushed with the override line: both lines, in order, before the batch's timer (20 ms).
    const text = written.join('');
    expect(text).toContain('"uid":"override-1"');
    expect(text.indexOf('plain-1')).toBeGreaterThan(-1);
    expect(text.indexOf('plain-1')).toBeLessThan(text.indexOf('override-1'));
  });
});

describe('bad input gets HTTP 400 with a one-line reason, never a 5xx', () => {
  const cases: [string, string, unknown, Record<string, string>, RegExp][] = [
    ['non-JSON', 'allow-all', 'this is not json', {}, /^request body is not valid JSON/],
    ['an empty body', 'allow-all', '', {}, /^request body is empty/],
    ['a wrong apiVersion', 'allow-all', sampleReview({}, { apiVersion: 'admission.k8s.io/v1beta1' }), {}, /^apiVersion must be admission\.k8s\.io\/v1/],
    ['a wrong kind', 'allow-all', sampleReview({}, { kind: 'Pod' }), {}, /^kind must be AdmissionReview/],
    ['a missing uid', 'allow-all', { ...sampleReview(), request: { ...sampleReview().request, uid: undefined } }, {}, /^request\.uid is required$/],
    ['an unknown target', 'no-such-thing', sampleReview(), {}, /^unknown target "no-such-thing" \(served: allow-all\)$/],
    ['a target with a newline', 'x%0Ay', sampleReview(), {}, /^unknown target "x y"/],
    ['a malformed Content-Type', 'allow-all', sampleReview(), { 'content-type': '///' }, /^invalid Content-Type header/],
  ];

  it.each(cases)('rejects %s', async (_what, target, payload, headers, reason) => {
    const { app, metrics, captured } = harness();
    const response = await post(app, target, payload, headers);
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error).toMatch(reason);
    expect(body.error).not.toContain('\n');
    expect(await counter(metrics, { decision: 'invalid' })).toBe(1);
    expect(captured.lines.find((line) => line.msg === 'admission')).toMatchObject({ decision: 'invalid', httpStatus: 400 });
  });

  it('labels unknown targets "unknown" so random paths cannot grow the metrics', async () => {
    const { app, metrics } = harness();
    for (let index = 0; index < 5; index += 1) await post(app, `random-${index}`, sampleReview());
    const targets = new Set((await metrics.admissionRequests.get()).values.map((value) => value.labels.target));
    expect([...targets]).toEqual(['unknown']);
  });

  it('rejects a body over the limit announced by Content-Length', async () => {
    const { app } = harness({ config: testConfig({ VOLUME_GUARD_ADMISSION_BODY_LIMIT_BYTES: '2048' }) });
    const big = sampleReview({ object: { data: 'x'.repeat(4096) } });
    const response = await post(app, 'allow-all', big);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'request body exceeds 2048 bytes (admission.bodyLimitBytes)' });
  });

  it('accepts a body just under the limit', async () => {
    const config = testConfig({ VOLUME_GUARD_ADMISSION_BODY_LIMIT_BYTES: '4096' });
    const { app } = harness({ config });
    const base = JSON.stringify(sampleReview({ object: { data: '' } }));
    const payload = JSON.stringify(sampleReview({ object: { data: 'x'.repeat(4096 - base.length) } }));
    expect(Buffer.byteLength(payload)).toBe(4096);
    expect((await post(app, 'allow-all', payload)).statusCode).toBe(200);
  });

  it('enforces the limit while the body streams in: answers before a never-ending body ends', async () => {
    const { app } = harness({ config: testConfig({ VOLUME_GUARD_ADMISSION_BODY_LIMIT_BYTES: '65536' }) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;

    const result = await new Promise<{ status: number; body: string; sentBytes: number }>((resolve, reject) => {
      let sentBytes = 0;
      let answered = false;
      const request = httpRequest(
        { host: '127.0.0.1', port, method: 'POST', path: '/validate/allow-all', headers: { 'content-type': 'application/json' } },
        (response) => {
          answered = true;
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () => {
            request.destroy();
            resolve({ status: response.statusCode ?? 0, body, sentBytes });
          });
        },
      );
      request.on('error', (error) => {
        if (!answered) reject(error);
      });
      // Chunked transfer, no Content-Length, and never request.end(): only a streaming check can answer.
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const pump = () => {
        if (answered || request.destroyed) return;
        if (sentBytes > 64 * 1024 * 1024) return reject(new Error('server never answered a 64 MiB body'));
        sentBytes += chunk.length;
        if (request.write(chunk)) setImmediate(pump);
        else request.once('drain', pump);
      };
      // A review whose object is a string that never ends.
      const opening = reviewBody({ object: '' });
      request.write(opening.slice(0, opening.lastIndexOf('"')));
      pump();
    });
    expect(result.status).toBe(400);
    expect(JSON.parse(result.body)).toEqual({ error: 'request body exceeds 65536 bytes (admission.bodyLimitBytes)' });
  });

  it('rejects malformed URLs and over-long targets with the same 400 shape', async () => {
    const { app } = harness();
    const badEncoding = await post(app, '%E0%A4%A', sampleReview());
    expect(badEncoding.statusCode).toBe(400);
    expect(badEncoding.json()).toEqual({ error: 'malformed request URL' });
    const longTarget = await post(app, 'a'.repeat(300), sampleReview());
    expect(longTarget.statusCode).toBe(400);
    expect(longTarget.json()).toEqual({ error: 'target name too long' });
  });

  it('answers any body with a 200 AdmissionReview or a one-line 400, never a 5xx (property)', async () => {
    const { app } = harness();
    const valid = sampleReview();
    const mutatedReview = fc
      .record({ path: fc.constantFrom('apiVersion', 'kind', 'request', 'request.uid', 'request.kind', 'request.operation', 'request.userInfo', 'request.userInfo.groups', 'request.object', 'request.dryRun', 'request.name'), value: fc.jsonValue() })
      .map(({ path, value }) => {
        const copy = structuredClone(valid) as Record<string, any>;
        const keys = path.split('.');
        let node = copy;
        for (const key of keys.slice(0, -1)) node = node[key];
        node[keys.at(-1)!] = value;
        return JSON.stringify(copy);
      });
    const bodies = fc.oneof(fc.string(), fc.json(), mutatedReview, fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)));
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const response = await post(app, 'allow-all', body);
        if (response.statusCode === 200) {
          expect(response.json().response.uid).toEqual(expect.any(String));
        } else {
          expect(response.statusCode).toBe(400);
          expect(response.json().error).toMatch(/^[^\n]{1,220}$/);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('answers unknown paths and methods with 404, not 5xx', async () => {
    const { app } = harness();
    expect((await app.inject({ method: 'GET', url: '/validate/allow-all' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: '/other/allow-all', payload: '{}' })).statusCode).toBe(404);
    // A validating target is not served at /mutate/ (nor a mutating one at /validate/): an unknown target there.
    const mutate = await app.inject({ method: 'POST', url: '/mutate/allow-all', payload: '{}' });
    expect(mutate.statusCode).toBe(400);
    expect(mutate.json()).toEqual({ error: 'unknown target "allow-all" (served: none)' });
  });
});

describe('ops app', () => {
  function ops(ready: () => boolean) {
    const metrics = createMetrics();
    const app = buildOpsApp({ metrics, log: captureLog().log, readiness: ready });
    apps.push(app);
    return { app, metrics };
  }

  it('serves /healthz always and /readyz only when ready', async () => {
    let ready = false;
    const { app } = ops(() => ready);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    ready = true;
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });

  it('exports volume_guard_ready as /readyz answers it (a pod stuck unready still answers scrapes)', async () => {
    let ready = false;
    const { app } = ops(() => ready);
    const scrape = async (): Promise<string> => (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(await scrape()).toMatch(/^volume_guard_ready 0$/m);
    ready = true;
    expect(await scrape()).toMatch(/^volume_guard_ready 1$/m);
    expect(await scrape()).toContain('# TYPE volume_guard_ready gauge');
  });

  it('serves Prometheus text with the admission and process metrics', async () => {
    const { app, metrics } = ops(() => true);
    metrics.admissionRequests.inc({ target: 'allow-all', operation: 'CREATE', decision: 'allowed' });
    metrics.tlsCertNotAfter.set(1_900_000_000);
    metrics.admissionDuration.observe({ target: 'allow-all' }, 0.00004);
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.body).toContain('volume_guard_admission_requests_total{target="allow-all",operation="CREATE",decision="allowed"} 1');
    expect(response.body).toContain('volume_guard_admission_duration_seconds_bucket{le="0.00005"');
    expect(response.body).toContain('volume_guard_tls_cert_not_after_seconds 1900000000');
    expect(response.body).toContain('# TYPE volume_guard_overrides_total counter');
    expect(response.body).toContain('process_cpu_user_seconds_total');
  });

  it('never serves admission', async () => {
    const { app } = ops(() => true);
    const response = await app.inject({ method: 'POST', url: '/validate/allow-all', payload: sampleReview() });
    expect(response.statusCode).toBe(404);
    expect(response.body).not.toContain('AdmissionReview');
  });

  it('builds any number of servers side by side (no global registry)', () => {
    expect(() => [createMetrics(), createMetrics(), createMetrics()]).not.toThrow();
  });
});

// Fuzzing the admission path with adversarial AdmissionReviews: realistic reviews of every target with fields
// deleted, retyped, blown up (huge strings, arrays, maps) or nested hundreds of thousands deep; arbitrary bytes,
// JSON and truncated reviews. Every input must get a 400 with a one-line reason or a valid AdmissionReview (uid
// echoed, allowed a boolean, no validator error), never a 5xx, a throw or a hang; the heap must come back down.
// Most inputs go through decode -> validator -> encode directly (what the route handler does); a share goes
// through the whole Fastify app with inject().
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAdmissionApp } from '../../../src/server/app.ts';
import type { AdmissionApp } from '../../../src/server/app.ts';
import { createMetrics } from '../../../src/server/metrics.ts';
import type { ServerMetrics } from '../../../src/server/metrics.ts';
import { admissionReview, FRESH } from '../../support/admission.ts';
import { BASE_REVIEWS } from './reviews.ts';
import type { Mutation } from './support.ts';
import {
  TARGETS,
  smallAdversarialValue,
  heavyAdversarialValue,
  heavyMutation,
  config,
  expectBadRequestReason,
  expectValidResponse,
  FuzzRun,
  fuzzParameters,
  model,
  mutate,
  mutations,
  registry,
  runPipeline,
  serialize,
  testTimeout,
} from './support.ts';

const run = new FuzzRun('admission');
const counter = run.counter;

/** A realistic review, mutated, sent to its own target (or, one time in eight, to another one). */
function mutatedReviews(mutationsOf: (review: unknown) => fc.Arbitrary<Mutation[]>) {
  const perBase = BASE_REVIEWS.map((base) => ({
    base,
    body: mutationsOf(base.review).map((list) => serialize(mutate(base.review, list))),
  }));
  return fc.constantFrom(...perBase).chain(({ base, body }) =>
    fc.record({
      target: fc.oneof({ weight: 7, arbitrary: fc.constant(base.target) }, { weight: 1, arbitrary: fc.constantFrom(...TARGETS) }),
      body,
    }),
  );
}

const mutatedReview = mutatedReviews((review) => mutations(review));
/** Huge strings, arrays and maps and extreme nesting in any field (each costs milliseconds: fewer runs). */
const heavyReview = mutatedReviews(heavyMutation);

const validBody = fc.constantFrom(...BASE_REVIEWS).map((base) => JSON.stringify(base.review));

/** Bodies that are not an AdmissionReview at all, or are broken ones; one in forty a heavy one. */
const rawBody: fc.Arbitrary<string | Buffer> = fc.oneof(
  {
    weight: 39,
    arbitrary: fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.json({ maxDepth: 4 }),
      fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)),
      fc.tuple(validBody, fc.double({ min: 0, max: 1, noNaN: true })).map(([body, cut]) => body.slice(0, Math.floor(body.length * cut))),
      fc.tuple(validBody, fc.string({ maxLength: 20 })).map(([body, junk]) => `${body}${junk}`),
      validBody.map((body) => `\uFEFF${body}`),
      validBody.map((body) => Buffer.from(body, 'utf16le')),
      fc
        .record({ request: smallAdversarialValue, apiVersion: fc.constantFrom('admission.k8s.io/v1', 'admission.k8s.io/v1beta1', 1), kind: fc.constantFrom('AdmissionReview', 'Pod', null) })
        .map(serialize),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      heavyAdversarialValue.map((value) => serialize(admissionReview(value))),
      heavyAdversarialValue.map(serialize),
    ),
  },
);

function check(target: string, body: string | Buffer): void {
  const result = runPipeline(target, body);
  if (result.status === 400) expectBadRequestReason(result.reason);
  else expectValidResponse(result.request.uid, result.response, result.requestBytes);
}

describe('fuzz: the admission pipeline (decode, validate, encode)', () => {
  it('answers mutated reviews of every target with a valid AdmissionReview or a 400', { timeout: testTimeout(120_000) }, () => {
    fc.assert(
      fc.property(mutatedReview, ({ target, body }) => {
        counter.count('mutated reviews');
        check(target, body);
      }),
      fuzzParameters(30_000, 120_000),
    );
  });

  it('answers reviews with huge or extremely nested fields with a valid AdmissionReview or a 400', { timeout: testTimeout(60_000) }, () => {
    fc.assert(
      fc.property(heavyReview, ({ target, body }) => {
        counter.count('heavy reviews');
        check(target, body);
      }),
      fuzzParameters(200, 60_000),
    );
  });

  it('answers arbitrary bytes, JSON and broken reviews on every target with a 400 or a valid AdmissionReview', { timeout: testTimeout(60_000) }, () => {
    fc.assert(
      fc.property(fc.constantFrom(...TARGETS), rawBody, (target, body) => {
        counter.count('raw bodies');
        check(target, body);
      }),
      fuzzParameters(25_000, 60_000),
    );
  });
});

describe('fuzz: the HTTP admission app', () => {
  let app: AdmissionApp;
  let metrics: ServerMetrics;
  beforeAll(async () => {
    metrics = createMetrics({ processMetrics: false });
    app = buildAdmissionApp({ config, registry, snapshot: model, health: FRESH, metrics, log: pino({ level: 'silent' }) });
    await app.ready();
  });
  afterAll(() => app.close());

  const anyTarget = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...TARGETS) }, fc.constantFrom('unknown-target', 'x'.repeat(150), '%E0%A4%A', 'node-cordon%00', '..%2F..%2Fetc'));
  const request = fc.oneof(
    { weight: 20, arbitrary: mutatedReview },
    { weight: 1, arbitrary: heavyReview },
    { weight: 6, arbitrary: fc.record({ target: anyTarget, body: rawBody }) },
    { weight: 3, arbitrary: fc.record({ target: anyTarget, body: validBody }) },
  );
  const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', '///', '');

  it('never answers 5xx: a valid AdmissionReview echoing the uid, or a one-line 400', { timeout: testTimeout(90_000) }, async () => {
    await fc.assert(
      fc.asyncProperty(request, contentType, async ({ target, body }, type) => {
        counter.count('HTTP requests');
        const response = await app.inject({
          method: 'POST',
          // Each target where it is served: the mutating ones at /mutate/.
          url: `${registry.get(target, true) ? '/mutate/' : '/validate/'}${target}`,
          headers: type ? { 'content-type': type } : {},
          payload: body,
        });
        expect(response.statusCode, response.body.slice(0, 300)).toBeLessThan(500);
        if (response.statusCode === 200) {
          const sent = JSON.parse(Buffer.isBuffer(body) ? body.toString('utf8') : body) as { request: { uid: string } };
          expectValidResponse(sent.request.uid, response.json(), Buffer.byteLength(body));
        } else {
          expect(response.statusCode).toBe(400);
          const error = (response.json() as { error: string }).error;
          expectBadRequestReason(error);
        }
      }),
      // timeout: one request that does not settle within 10 s fails the property (a hang, not a slow run).
      { ...fuzzParameters(1_500, 90_000), timeout: 10_000 },
    );
    const outcomes = (await metrics.admissionRequests.get()).values;
    expect(outcomes.filter((value) => value.labels.decision === 'errored').reduce((sum, value) => sum + value.value, 0)).toBe(0);
  });
});

run.afterwards(56_700);

// Shared pieces of the fuzz suites: a realistic cluster model, the real validators, the oracle every response
// must satisfy, adversarial JSON builders, run counting and a heap check.
//
// VOLUME_GUARD_FUZZ_SCALE=<n> multiplies every run count (and time limit) for longer local or soak runs.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidatorRegistry } from '../../../src/admission/index.ts';
import type { AdmissionRequest, Decision } from '../../../src/admission/types.ts';
import type { ValidationContext } from '../../../src/admission/validator.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { WARNINGS_BYTE_BUDGET, decodeAdmissionReviewBody, encodeAdmissionResponse } from '../../../src/server/codec.ts';
import type { AdmissionReviewResponse } from '../../../src/server/codec.ts';
import { FRESH } from '../../support/admission.ts';
import { SMALL_CLUSTER, syntheticCluster } from '../../support/fixtures.ts';

export const FUZZ_SCALE = Math.max(0.001, Number(process.env.VOLUME_GUARD_FUZZ_SCALE ?? '1') || 1);
/** Time limits only ever grow with the scale. */
const TIME_SCALE = Math.max(1, FUZZ_SCALE);

/** fast-check parameters: `runs` scaled, a hang guard far above the normal duration, failures reported loudly. */
export function fuzzParameters(runs: number, hangGuardMs: number): fc.Parameters<unknown> {
  return {
    numRuns: Math.round(runs * FUZZ_SCALE),
    // Checked between runs: an input that makes the code crawl fails the property instead of stalling CI.
    interruptAfterTimeLimit: hangGuardMs * TIME_SCALE,
    markInterruptAsFailure: true,
  };
}

/** vitest timeout for a property guarded by `hangGuardMs`: room for shrinking a failure. */
export const testTimeout = (hangGuardMs: number): number => hangGuardMs * TIME_SCALE * 2 + 30_000;

/** Inputs tried, per property, for the run's summary line. */
export class RunCounter {
  readonly counts = new Map<string, number>();

  count(property: string): void {
    this.counts.set(property, (this.counts.get(property) ?? 0) + 1);
  }

  get total(): number {
    let sum = 0;
    for (const value of this.counts.values()) sum += value;
    return sum;
  }

  summary(suite: string): string {
    const parts = [...this.counts].map(([name, value]) => `${name} ${value}`);
    return `[fuzz] ${suite}: ${this.total} inputs (${parts.join(', ')})`;
  }
}

/**
 * One fuzz file's run: a counter of the inputs tried, the heap measured before its first test, the summary printed
 * after its last; `afterwards` (called at the end of the file, so it runs last) checks both.
 */
export class FuzzRun {
  readonly counter = new RunCounter();
  readonly suite: string;
  #heapBefore = 0;

  constructor(suite: string) {
    this.suite = suite;
    beforeAll(() => {
      this.#heapBefore = heapUsedAfterGc();
    });
    afterAll(() => {
      console.log(this.counter.summary(suite));
    });
  }

  /** Registers the last test: at least `plannedInputs` (scaled) tried, and the heap came back down. */
  afterwards(plannedInputs: number): void {
    describe('fuzz: afterwards', () => {
      it('tried the planned number of inputs and the heap came back down', () => {
        expect(this.counter.total).toBeGreaterThanOrEqual(Math.round(plannedInputs * FUZZ_SCALE));
        const growth = heapUsedAfterGc() - this.#heapBefore;
        console.log(`[fuzz] ${this.suite}: heap growth after GC ${(growth / MiB).toFixed(1)} MiB`);
        expect(growth).toBeLessThan(64 * MiB);
      });
    });
  }
}

// ---- heap ----

let collect: (() => void) | undefined;

/** A full garbage collection (vitest workers do not start with --expose-gc; the flag can be set at runtime). */
export function fullGc(): void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
  collect();
}

export function heapUsedAfterGc(): number {
  fullGc();
  return process.memoryUsage().heapUsed;
}

export const MiB = 1024 * 1024;

// ---- the cluster and the validators ----

export const config = defaultConfig();
export const model = new ClusterModel(VOLUME_SETS);
// A tenth of the releases uninstalled with their PVCs left behind, so installs over leftovers get denied.
export const cluster = syntheticCluster(model, { ...SMALL_CLUSTER, riskFraction: 0.1 });
export const registry = createValidatorRegistry(config);
export const TARGETS = registry.targets();

// One context for every input: building a logger per call would cost more than most validations, and a
// recording onOverride would grow with every run.
const sharedContext: ValidationContext = {
  snapshot: model,
  health: FRESH,
  config,
  now: Date.now(),
  log: pino({ level: 'silent' }),
  onOverride: () => undefined,
  removing: () => undefined,
  cordoning: () => undefined,
};

export function validationContext(): ValidationContext {
  return sharedContext;
}

// ---- the oracle ----

/** A 400 reason: one short line. */
export function expectBadRequestReason(reason: string): void {
  expect(reason).toMatch(/^[^\n\r]{1,220}$/);
}

/**
 * What every AdmissionReview response must be: the uid echoed, allowed a boolean, a denial with a status whose
 * code is 403 (a 500 would mean a validator threw), warnings without control characters and within the
 * API server's budget, and no amplification: a denial may quote a name a few times, never more than that.
 */
export function expectValidResponse(uid: string, response: AdmissionReviewResponse, requestBytes: number): void {
  expect(response.apiVersion).toBe('admission.k8s.io/v1');
  expect(response.kind).toBe('AdmissionReview');
  expect(response.response.uid).toBe(uid);
  expect(typeof response.response.allowed).toBe('boolean');
  if (!response.response.allowed) {
    expect(response.response.status?.code).toBe(403);
    expect(typeof response.response.status?.message).toBe('string');
  }
  // A patch (the override-writer step's) only with an allowing answer: base64 of a JSON Patch on the annotations.
  if (response.response.patch !== undefined || response.response.patchType !== undefined) {
    expect(response.response.allowed).toBe(true);
    expect(response.response.patchType).toBe('JSONPatch');
    const patch = JSON.parse(Buffer.from(response.response.patch ?? '', 'base64').toString('utf8')) as { op: string; path: string }[];
    expect(patch.length).toBeGreaterThan(0);
    for (const operation of patch) expect(operation.path.startsWith('/metadata/annotations')).toBe(true);
  }
  const warnings = response.response.warnings ?? [];
  // eslint-disable-next-line no-control-regex
  for (const warning of warnings) expect(warning).not.toMatch(/[\u0000-\u001f\u007f]/);
  expect(warnings.reduce((sum, warning) => sum + Buffer.byteLength(warning), 0)).toBeLessThanOrEqual(WARNINGS_BYTE_BUDGET + 200);
  expect(Buffer.byteLength(JSON.stringify(response))).toBeLessThan(4 * requestBytes + 64 * 1024);
}

/** What the server's handler does with a body, minus Fastify: decode, validate, encode. */
export type PipelineResult =
  | { readonly status: 400; readonly reason: string }
  | { readonly status: 200; readonly request: AdmissionRequest; readonly decision: Decision; readonly response: AdmissionReviewResponse; readonly requestBytes: number };

export function runPipeline(target: string, body: Buffer | string): PipelineResult {
  // A mutating target (override-writer) goes through the same decode, handle and encode.
  const validator = registry.get(target) ?? registry.get(target, true);
  if (!validator) throw new Error(`no validator for ${target}`);
  const decoded = decodeAdmissionReviewBody(body, validator.elide);
  if (!decoded.ok) return { status: 400, reason: decoded.reason };
  const decision = validator.handle(decoded.request, validationContext());
  const requestBytes = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  return { status: 200, request: decoded.request, decision, response: encodeAdmissionResponse(decoded.request.uid, decision), requestBytes };
}

// ---- adversarial JSON ----

/** Placeholders that serialize() replaces with text JSON.stringify could not produce (too deep to recurse). */
const DEEP_TOKEN = '\u0000deep:';

/** A marker value that serialize() turns into `depth` nested arrays or objects around a leaf. */
export function deep(depth: number, shape: 'array' | 'object' | 'mixed'): string {
  return `${DEEP_TOKEN}${shape}:${depth}`;
}

function deepText(shape: string, depth: number): string {
  switch (shape) {
    case 'array':
      return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    case 'object':
      return `${'{"a":'.repeat(depth)}null${'}'.repeat(depth)}`;
    default:
      return `${'[{"a":'.repeat(depth)}"x"${'}]'.repeat(depth)}`;
  }
}

/** JSON.stringify, with deep() markers expanded in place. */
export function serialize(value: unknown): string {
  const text = JSON.stringify(value);
  if (!text.includes('\\u0000deep:')) return text;
  return text.replace(/"\\u0000deep:(\w+):(\d+)"/g, (_match, shape: string, depth: string) => deepText(shape, Number(depth)));
}

/** Values of every wrong type, of ordinary size. */
export const smallAdversarialValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 3, arbitrary: fc.constantFrom(null, true, false, 0, -1, 1e308, -0, '', ' ', '*', 'true', '__proto__', 'constructor', [], {}, [null], { '': '' }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 10, max: 300 }), fc.constantFrom('array', 'object', 'mixed') as fc.Arbitrary<'array' | 'object' | 'mixed'>).map(([depth, shape]) => deep(depth, shape)) },
);

/** The sizes and shapes parsers and validators trip over: huge strings, arrays and maps, extreme nesting. */
export const heavyAdversarialValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: 1_000, max: 300_000 }).map((length) => 'x'.repeat(length)),
  fc.integer({ min: 1_000, max: 100_000 }).map((length) => Array.from({ length }, (_, i) => (i % 3 === 0 ? 'a' : i % 3 === 1 ? {} : i))),
  fc.integer({ min: 100, max: 20_000 }).map((size) => Object.fromEntries(Array.from({ length: size }, (_, i) => [`k${i}`, 'v']))),
  fc.tuple(fc.integer({ min: 1_000, max: 200_000 }), fc.constantFrom('array', 'object', 'mixed') as fc.Arbitrary<'array' | 'object' | 'mixed'>).map(([depth, shape]) => deep(depth, shape)),
);

type Json = unknown;

/** Every path to a value in `value`, down to `maxDepth` keys (array indices included). */
export function pathsOf(value: Json, maxDepth = 8, prefix: readonly (string | number)[] = []): (readonly (string | number)[])[] {
  const paths: (readonly (string | number)[])[] = [];
  if (prefix.length >= maxDepth || typeof value !== 'object' || value === null) return paths;
  const entries: [string | number, Json][] = Array.isArray(value) ? value.map((item, index) => [index, item]) : Object.entries(value);
  for (const [key, child] of entries) {
    const path = [...prefix, key];
    paths.push(path);
    paths.push(...pathsOf(child, maxDepth, path));
  }
  return paths;
}

export interface Mutation {
  readonly path: readonly (string | number)[];
  /** undefined: delete the field. */
  readonly value: unknown;
  /** Add a sibling key instead of replacing the field. */
  readonly extraKey?: string;
}

/** A deep copy of `base` with each mutation applied (paths that no longer exist are skipped). */
export function mutate(base: Json, mutations: readonly Mutation[]): Json {
  const copy = structuredClone(base) as Json;
  for (const mutation of mutations) {
    const parentPath = mutation.path.slice(0, -1);
    let parent: unknown = copy;
    for (const key of parentPath) {
      if (typeof parent !== 'object' || parent === null) break;
      parent = (parent as Record<string | number, unknown>)[key];
    }
    if (typeof parent !== 'object' || parent === null) continue;
    const container = parent as Record<string | number, unknown>;
    const key = mutation.extraKey ?? mutation.path.at(-1)!;
    if (mutation.value === undefined && mutation.extraKey === undefined) delete container[key];
    // defineProperty: a "__proto__" key becomes an own property, as JSON.parse makes it, not a prototype change.
    // A copy: generated constants ({} and the like) are shared between runs and must not be changed or aliased.
    else Object.defineProperty(container, key, { value: structuredClone(mutation.value), enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/** 1–4 mutations of fields of `base`: deleted, replaced by a wrong value, or joined by an unknown sibling. */
export function mutations(base: Json, value: fc.Arbitrary<unknown> = smallAdversarialValue): fc.Arbitrary<Mutation[]> {
  const path = fc.constantFrom(...pathsOf(base));
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ path, value: fc.constant(undefined) }),
    { weight: 4, arbitrary: fc.record({ path, value }) },
    fc.record({ path, value, extraKey: fc.constantFrom('__proto__', 'constructor', 'extra', '', 'metadata', 'spec', 'status') }),
  );
  return fc.array(mutation, { minLength: 1, maxLength: 4 });
}

/** One field of `base` replaced by a heavy value. */
export function heavyMutation(base: Json): fc.Arbitrary<Mutation[]> {
  return fc.record({ path: fc.constantFrom(...pathsOf(base)), value: heavyAdversarialValue }).map((mutation) => [mutation]);
}

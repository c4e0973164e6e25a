// Fuzzing Helm release Secrets: broken base64 in either layer, gzip that is truncated, corrupt or a bomb,
// payloads that are not JSON or not a release, records with fields missing or retyped, labels that disagree
// with the payload, and manifests with YAML bombs, aliases and deep nesting. A release Secret CREATE that
// volume-guard cannot read is always denied with the reason, never allowed; no input throws or hangs; error
// messages never quote the payload; the heap comes back down.
import { gzipSync, constants } from 'node:zlib';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { ManifestError, parseManifest } from '../../../src/helm/manifest.ts';
import { ReleaseDecodeError, decodeReleaseSecret } from '../../../src/helm/release.ts';
import { buildAdmissionApp } from '../../../src/server/app.ts';
import type { AdmissionApp } from '../../../src/server/app.ts';
import { createMetrics } from '../../../src/server/metrics.ts';
import { FRESH, request as admissionRequest, reviewBody } from '../../support/admission.ts';
import { devlakeManifest, releaseJson, releaseSecret } from '../helm/helm-fixtures.ts';
import { releaseManifest } from './reviews.ts';
import { manifestText } from './manifests.ts';
import {
  FuzzRun,
  MiB,
  cluster,
  config,
  expectBadRequestReason,
  expectValidResponse,
  fuzzParameters,
  model,
  registry,
  testTimeout,
  validationContext,
} from './support.ts';

const run = new FuzzRun('helm release');
const counter = run.counter;

const validator = helmReleaseValidator(config);
const SECRET_VALUE = 'TOP-SECRET-VALUE';
/** A release whose StatefulSet would adopt leftover PVCs of the synthetic cluster: a readable install is denied too. */
const ORPHANED = cluster.orphanedReleases[0]!;
const FRESH_RELEASE = { namespace: ORPHANED.namespace, name: 'fresh', statefulSet: 'fresh-db', replicas: 2 };

// ---- payload builders ----

const b64 = (bytes: Buffer | string): string => Buffer.from(bytes).toString('base64');
/** What the Secret API carries for Helm's encoding of `json` (base64 of base64 of gzip). */
const wrapGzip = (bytes: Buffer): string => b64(b64(bytes));
const wrapJsonText = (text: string): string => b64(b64(Buffer.from(text)));

interface Release {
  readonly name: string;
  readonly namespace: string;
  readonly version: number;
  readonly status: string;
  readonly manifest: string;
}

/** What a case must lead to: `unreadable` cases are known by construction to be undecodable. */
interface PayloadCase {
  readonly kind: string;
  readonly data: unknown;
  readonly unreadable?: RegExp;
  /** The release encoded, when the payload is a well-formed one: the Secret's labels then usually agree. */
  readonly release?: Release;
}

const statuses = fc.constantFrom('pending-install', 'pending-upgrade', 'pending-rollback', 'deployed', 'superseded', 'failed', 'uninstalling', 'unknown', 'PENDING-INSTALL', '');
const release: fc.Arbitrary<Release> = fc.record({
  name: fc.constantFrom(ORPHANED.name, FRESH_RELEASE.name),
  namespace: fc.constantFrom(ORPHANED.namespace, 'other'),
  version: fc.integer({ min: 1, max: 12 }),
  status: fc.oneof({ weight: 4, arbitrary: fc.constant('pending-install') }, statuses),
  manifest: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(releaseManifest(ORPHANED), releaseManifest(FRESH_RELEASE), devlakeManifest(), '') },
    manifestText,
  ),
});

const validGzip = (r: Release): Buffer => gzipSync(JSON.stringify(releaseJson(r)), { level: constants.Z_BEST_SPEED });

/** A release record with a field deleted or replaced by a value of the wrong type. */
const mutatedRecord = fc
  .tuple(
    release,
    fc.constantFrom('name', 'version', 'info', 'manifest', 'namespace', 'chart', 'config'),
    fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(0, -1, 1.5, 2 ** 60, '', '1', [], {}, null)),
  )
  .map(([r, key, value]) => {
    const json: Record<string, unknown> = releaseJson(r);
    if (value === undefined) delete json[key];
    else json[key] = value;
    return json;
  });

const invalidChar = fc.constantFrom('!', '-', '_', '.', '~', ' ', '\t', '%', '*', '\u00e9', '\u0000');

/** Valid base64 text of `bytes` with one character replaced by one outside the standard alphabet. */
const corruptBase64 = (text: fc.Arbitrary<string>) =>
  fc.tuple(text.filter((t) => t.length > 0), fc.nat(), invalidChar).map(([t, at, char]) => {
    const index = at % t.length;
    return `${t.slice(0, index)}${char}${t.slice(index + 1)}`;
  });

const randomBytes = fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => Buffer.from(bytes));

const payload: fc.Arbitrary<PayloadCase> = fc.oneof(
  // Outer (Secret API) layer broken.
  corruptBase64(randomBytes.map(b64)).map((data) => ({ kind: 'outer base64 junk', data, unreadable: /not valid base64$/ })),
  fc
    .tuple(release.map((r) => wrapGzip(validGzip(r))), fc.integer({ min: 1, max: 3 }))
    .map(([data, cut]) => ({ kind: 'outer base64 truncated', data: data.slice(0, data.length - cut), unreadable: /not valid base64$/ })),
  // Inner (Helm) layer broken.
  corruptBase64(release.map((r) => b64(validGzip(r)))).map((inner) => ({ kind: 'inner base64 junk', data: b64(inner), unreadable: /not valid base64 \(inner encoding\)/ })),
  randomBytes
    .filter((bytes) => !(bytes[0] === 0x1f && bytes[1] === 0x8b) && !/^[\s]*\{/.test(bytes.toString('latin1')))
    .map((bytes) => ({ kind: 'neither gzip nor JSON', data: wrapGzip(bytes), unreadable: /not gzip or JSON/ })),
  // gzip broken: truncated (the trailer is checked), random bytes after a gzip header, not JSON inside.
  fc.tuple(release.map(validGzip), fc.double({ min: 0, max: 1, noNaN: true })).map(([gz, at]) => ({
    kind: 'truncated gzip',
    data: wrapGzip(gz.subarray(0, 2 + Math.floor((gz.length - 3) * at))),
    unreadable: /not valid gzip/,
  })),
  randomBytes.map((bytes) => ({ kind: 'gzip header and junk', data: wrapGzip(Buffer.concat([Buffer.from([0x1f, 0x8b]), bytes])) })),
  fc.tuple(release.map(validGzip), fc.nat(), fc.integer({ min: 1, max: 255 })).map(([gz, at, xor]) => {
    const flipped = Buffer.from(gz);
    const index = at % flipped.length;
    flipped[index] = flipped[index]! ^ xor;
    return { kind: 'gzip with a flipped byte', data: wrapGzip(flipped) };
  }),
  fc.string({ maxLength: 200 }).map((text) => ({ kind: 'gzip of non-JSON', data: wrapGzip(gzipSync(`x${text}`)), unreadable: /not valid JSON/ })),
  // Readable encodings of things that are not a release, or not quite.
  fc.jsonValue({ maxDepth: 4 }).map((value) => ({ kind: 'gzip of any JSON', data: wrapGzip(gzipSync(JSON.stringify(value) ?? 'null')) })),
  mutatedRecord.map((json) => ({ kind: 'mutated record', data: wrapGzip(gzipSync(JSON.stringify(json))) })),
  mutatedRecord.map((json) => ({ kind: 'legacy JSON record', data: wrapJsonText(JSON.stringify(json)) })),
  fc.tuple(release, fc.double({ min: 0, max: 1, noNaN: true })).map(([r, at]) => {
    const text = JSON.stringify(releaseJson(r));
    return { kind: 'legacy JSON truncated', data: wrapJsonText(text.slice(0, Math.max(1, Math.floor(text.length * at)))) };
  }),
  // Well-formed releases (manifests include YAML bombs, aliases, deep nesting and junk).
  { weight: 5, arbitrary: release.map((r) => ({ kind: 'release', data: wrapGzip(validGzip(r)), release: r })) },
  // data.release missing or of the wrong type.
  fc.constantFrom(undefined, '', 42, null, ['a'], { release: 'x' }).map((data) => ({ kind: 'data.release not a string', data, unreadable: /no data\.release/ })),
);

interface SecretCase {
  readonly payload: PayloadCase;
  readonly labels: Record<string, string>;
  readonly namespace: string;
  readonly object: Record<string, unknown>;
}

/** The Secret around the payload: Helm's labels (for a well-formed release, mostly the ones Helm would write), user labels. */
const secretCase: fc.Arbitrary<SecretCase> = fc
  .record({
    payload,
    agree: fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x < 0.8),
    name: fc.constantFrom(ORPHANED.name, FRESH_RELEASE.name, 'other'),
    status: fc.oneof({ weight: 4, arbitrary: fc.constant('pending-install') }, statuses),
    version: fc.constantFrom('1', '2', 'x', ''),
    extra: fc.dictionary(fc.constantFrom('volume-guard.io/skip', 'team', 'release'), fc.constantFrom('orphan-pvc', '*', 'x', '')),
    namespace: fc.constantFrom(ORPHANED.namespace, 'other'),
  })
  .map(({ payload: p, agree, name, status, version, extra, namespace }) => {
    const helmLabels = p.release && agree ? { name: p.release.name, status: p.release.status, version: String(p.release.version) } : { name, status, version };
    const labels = { ...extra, ...helmLabels, owner: 'helm' };
    const object: Record<string, unknown> = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `sh.helm.release.v1.${labels.name}.v${labels.version}`, namespace: p.release && agree ? p.release.namespace : namespace, labels },
      type: 'helm.sh/release.v1',
      data: p.data === undefined ? {} : { release: p.data },
    };
    return { payload: p, labels, namespace: p.release && agree ? p.release.namespace : namespace, object };
  });

function createRequest(secret: SecretCase, operation: 'CREATE' | 'UPDATE' = 'CREATE'): AdmissionRequest {
  return admissionRequest({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation,
    namespace: secret.namespace,
    name: (secret.object.metadata as { name: string }).name,
    object: secret.object,
    oldObject: operation === 'UPDATE' ? secret.object : null,
  });
}

/** Decodes the Secret and its manifest as the validator must; the reason when that is impossible. */
function readability(object: unknown, namespace: string): { readonly readable: true } | { readonly readable: false; readonly reason: string } {
  try {
    const decoded = decodeReleaseSecret(object, { namespace });
    parseManifest(decoded.release.manifest, decoded.release.namespace);
    return { readable: true };
  } catch (error) {
    if (error instanceof ReleaseDecodeError || error instanceof ManifestError) return { readable: false, reason: error.message };
    throw error;
  }
}

function payloadText(data: unknown): string {
  return typeof data === 'string' ? data : '';
}

describe('fuzz: Helm release Secrets', () => {
  it('denies every CREATE whose release cannot be read, with the reason, and never quotes the payload', { timeout: testTimeout(90_000) }, () => {
    fc.assert(
      fc.property(secretCase, (secret) => {
        counter.count(`CREATE: ${secret.payload.kind}`);
        const decision = validator.handle(createRequest(secret), validationContext());
        const read = readability(secret.object, secret.namespace);
        if (secret.payload.unreadable) {
          expect(read.readable).toBe(false);
          if (!read.readable) expect(read.reason).toMatch(secret.payload.unreadable);
        }
        const message = decision.status?.message ?? '';
        if (!read.readable) {
          // Never allowed unchecked; the only way through is an admin's skip label, and then with a warning.
          const skipped = /^(orphan-pvc|\*)$/.test(secret.labels['volume-guard.io/skip'] ?? '');
          if (decision.allowed) {
            expect(skipped).toBe(true);
            expect(decision.warnings?.join('\n')).toMatch(/Helm release Secret .* not checked: /);
          } else {
            expect(decision.status?.code).toBe(403);
            expect(message).toContain('cannot check Helm release Secret');
            expect(message).toContain(read.reason);
          }
        }
        const text = payloadText(secret.payload.data);
        const everything = `${message}\n${(decision.warnings ?? []).join('\n')}`;
        if (text.length >= 16) expect(everything).not.toContain(text.slice(0, 16));
        expect(everything).not.toContain(SECRET_VALUE);
      }),
      fuzzParameters(18_000, 90_000),
    );
  });

  it('never denies an UPDATE, whatever its payload (Helm cannot recover from a refused uninstall)', { timeout: testTimeout(30_000) }, () => {
    fc.assert(
      fc.property(secretCase, (secret) => {
        counter.count('UPDATE');
        const decision = validator.handle(createRequest(secret, 'UPDATE'), validationContext());
        expect(decision.allowed).toBe(true);
        for (const warning of decision.warnings ?? []) expect(warning).not.toContain(SECRET_VALUE);
      }),
      fuzzParameters(3_000, 30_000),
    );
  });

  describe('gzip bombs', () => {
    // Built once: zeros and spaces compress about 1000:1, so each stays far under the 3 MiB body limit.
    let bombs: { readonly label: string; readonly data: string }[] = [];
    beforeAll(() => {
      bombs = [
        { label: '33 MiB of zeros', data: wrapGzip(gzipSync(Buffer.alloc(33 * MiB), { level: 9 })) },
        { label: '100 MiB of spaces', data: wrapGzip(gzipSync(Buffer.alloc(100 * MiB, 0x20), { level: 9 })) },
        { label: 'a release padded to 40 MiB', data: wrapGzip(gzipSync(JSON.stringify({ ...releaseJson({ name: ORPHANED.name, namespace: ORPHANED.namespace, version: 1, status: 'pending-install', manifest: '' }), padding: ' '.repeat(40 * MiB) }), { level: 9 })) },
      ];
    }, 60_000);

    it('denies every bomb with "expands beyond", within the memory cap', { timeout: testTimeout(60_000) }, () => {
      fc.assert(
        fc.property(fc.nat(), fc.constantFrom('pending-install', 'pending-upgrade'), (pick, status) => {
          counter.count('gzip bombs');
          const bomb = bombs[pick % bombs.length]!;
          const object = releaseSecret({ name: ORPHANED.name, namespace: ORPHANED.namespace, version: 1, status, manifest: '' }, { data: bomb.data });
          const decision = validator.handle(createRequest({ payload: { kind: bomb.label, data: bomb.data }, labels: {}, namespace: ORPHANED.namespace, object }), validationContext());
          expect(decision.allowed).toBe(false);
          expect(decision.status?.message).toContain('release data expands beyond 32 MiB');
        }),
        fuzzParameters(40, 60_000),
      );
    });
  });
});

describe('fuzz: Helm release Secrets through the HTTP app', () => {
  let app: AdmissionApp;
  beforeAll(async () => {
    app = buildAdmissionApp({ config, registry, snapshot: model, health: FRESH, metrics: createMetrics({ processMetrics: false }), log: pino({ level: 'silent' }) });
    await app.ready();
  });
  afterAll(() => app.close());

  it('answers a valid AdmissionReview (an unreadable CREATE denied) or a 400, never a 5xx', { timeout: testTimeout(60_000) }, async () => {
    await fc.assert(
      fc.asyncProperty(secretCase, fc.constantFrom('CREATE', 'UPDATE') as fc.Arbitrary<'CREATE' | 'UPDATE'>, async (secret, operation) => {
        counter.count('HTTP');
        const request = createRequest(secret, operation);
        const body = reviewBody(request);
        const response = await app.inject({ method: 'POST', url: '/validate/helm-release', headers: { 'content-type': 'application/json' }, payload: body });
        expect(response.statusCode).toBeLessThan(500);
        if (response.statusCode !== 200) return expectBadRequestReason((response.json() as { error: string }).error);
        const review = response.json();
        expectValidResponse(request.uid, review, Buffer.byteLength(body));
        if (operation === 'CREATE' && !readability(secret.object, secret.namespace).readable && !secret.labels['volume-guard.io/skip']) {
          expect(review.response.allowed).toBe(false);
        }
      }),
      { ...fuzzParameters(1_200, 60_000), timeout: 10_000 },
    );
  });
});

run.afterwards(22_240);

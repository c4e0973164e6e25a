import { describe, expect, it } from 'vitest';
import { allowed, denied } from '../../../src/admission/types.ts';
import {
  WARNINGS_BYTE_BUDGET,
  capWarnings,
  decodeAdmissionReview,
  decodeAdmissionReviewBody,
  ELIDE_FROM_BYTES,
  encodeAdmissionResponse,
  encodeAdmissionResponseJson,
  outcomeOf,
  parseJson,
} from '../../../src/server/codec.ts';
import { ELIDED_PREFIX, elidedToken, stringOfToken } from '../../../src/json-bytes.ts';
import { sampleReview } from './server-fixtures.ts';
import { EVICTION_KIND } from '../../support/admission.ts';

function reasonFor(value: unknown): string {
  const result = decodeAdmissionReview(value);
  if (result.ok) throw new Error('expected a decode failure');
  return result.reason;
}

describe('decodeAdmissionReview', () => {
  it('decodes a valid review into an AdmissionRequest', () => {
    const result = decodeAdmissionReview(sampleReview({ subResource: 'status', namespace: '' }));
    expect(result).toEqual({
      ok: true,
      request: {
        uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
        kind: { group: '', version: 'v1', kind: 'Node' },
        resource: { group: '', version: 'v1', resource: 'nodes' },
        subResource: 'status',
        name: 'worker-1',
        namespace: '',
        operation: 'UPDATE',
        userInfo: { username: 'alice', groups: ['system:authenticated'] },
        object: { metadata: { name: 'worker-1' }, spec: { unschedulable: true } },
        oldObject: { metadata: { name: 'worker-1' }, spec: {} },
        dryRun: false,
      },
    });
  });

  it('fills in the fields the API server omits when empty', () => {
    const review = sampleReview({ operation: 'DELETE', userInfo: {} });
    const request = review.request as Record<string, unknown>;
    for (const key of ['name', 'object', 'oldObject', 'dryRun']) delete request[key];
    const result = decodeAdmissionReview(review);
    expect(result.ok && result.request).toMatchObject({
      name: '',
      namespace: '',
      object: null,
      oldObject: null,
      dryRun: false,
      userInfo: { username: '', groups: [] },
    });
  });

  it("names a collection DELETE's item by its oldObject: the API server admits each item with no name", () => {
    // DELETE /api/v1/nodes?labelSelector=... reaches the webhook once per node, request.name empty.
    const item = sampleReview({ operation: 'DELETE', name: '', object: null, oldObject: { metadata: { name: 'worker-7' } } });
    const decoded = decodeAdmissionReview(item);
    expect(decoded.ok && decoded.request.name).toBe('worker-7');
    const unnamed = sampleReview({ operation: 'DELETE', object: null, oldObject: { metadata: {} } });
    delete (unnamed.request as Record<string, unknown>)['name'];
    const none = decodeAdmissionReview(unnamed);
    expect(none.ok && none.request.name).toBe('');
    // Only a DELETE: a CREATE with generateName has no name yet, and that stays so.
    const created = decodeAdmissionReview(sampleReview({ operation: 'CREATE', name: '', object: { metadata: { generateName: 'w-' } }, oldObject: { metadata: { name: 'stale' } } }));
    expect(created.ok && created.request.name).toBe('');
    const named = decodeAdmissionReview(sampleReview({ operation: 'DELETE', name: 'worker-1', object: null, oldObject: { metadata: { name: 'worker-1' } } }));
    expect(named.ok && named.request.name).toBe('worker-1');
  });

  it("reads an eviction's deleteOptions.dryRun as a dry run: kubectl drain --dry-run=server sends no ?dryRun", () => {
    // EvictionREST.Create (propagateDryRun) deletes nothing, yet the API server admits it with request.dryRun false.
    const eviction = (deleteOptions: unknown, extra: Record<string, unknown> = {}) =>
      sampleReview({
        ...EVICTION_KIND,
        operation: 'CREATE',
        namespace: 'db',
        name: 'pg-0',
        object: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'pg-0', namespace: 'db' }, deleteOptions },
        oldObject: null,
        ...extra,
      });
    const dryRunOf = (review: unknown): boolean | undefined => {
      const result = decodeAdmissionReview(review);
      return result.ok ? result.request.dryRun : undefined;
    };
    expect(dryRunOf(eviction({ dryRun: ['All'], gracePeriodSeconds: 30 }))).toBe(true);
    expect(dryRunOf(eviction({ gracePeriodSeconds: 30 }))).toBe(false);
    expect(dryRunOf(eviction(undefined))).toBe(false);
    expect(dryRunOf(eviction({ dryRun: [] }))).toBe(false);
    expect(dryRunOf(eviction({}, { dryRun: true }))).toBe(true);
    // Only the eviction subresource reads its body's options.
    expect(dryRunOf(eviction({ dryRun: ['All'] }, { subResource: 'status', operation: 'UPDATE' }))).toBe(false);
  });

  it('accepts fields it does not know (newer API servers add some)', () => {
    const result = decodeAdmissionReview(sampleReview({ requestKind: { group: '', version: 'v1', kind: 'Node' }, options: {} }));
    expect(result.ok).toBe(true);
  });

  it('keeps the version the client wrote in only when the API server converted the object (requestKind)', () => {
    const decoded = (requestKind: unknown) => {
      const result = decodeAdmissionReview(sampleReview({ requestKind }));
      if (!result.ok) throw new Error(result.reason);
      return result.request.requestVersion;
    };
    expect(decoded({ group: '', version: 'v1', kind: 'Node' })).toBeUndefined();
    expect(decoded({ group: '', version: 'v2', kind: 'Node' })).toBe('v2');
    // Malformed, it is no hint and refuses nothing.
    expect(decoded({ version: 7 })).toBeUndefined();
    expect(decoded('v2')).toBeUndefined();
  });

  it.each([
    ['a non-object body', [1, 2], 'body must be an object (got an array)'],
    ['a wrong apiVersion', sampleReview({}, { apiVersion: 'admission.k8s.io/v1beta1' }), 'apiVersion must be admission.k8s.io/v1 (got "admission.k8s.io/v1beta1")'],
    ['a wrong kind', sampleReview({}, { kind: 'TokenReview' }), 'kind must be AdmissionReview (got "TokenReview")'],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, 'request is required'],
    ['a missing uid', sampleReview({ uid: undefined }), 'request.uid is required'],
    ['an empty uid', sampleReview({ uid: '' }), 'request.uid must be a non-empty string'],
    ['a numeric uid', sampleReview({ uid: 42 }), 'request.uid must be a string (got 42)'],
    ['an unknown operation', sampleReview({ operation: 'PATCH' }), 'request.operation must be one of CREATE, UPDATE, DELETE, CONNECT (got "PATCH")'],
    ['no userInfo', sampleReview({ userInfo: undefined }), 'request.userInfo is required'],
    ['a kind without version', sampleReview({ kind: { group: '', kind: 'Node' } }), 'request.kind.version is required'],
    ['a dryRun string', sampleReview({ dryRun: 'yes' }), 'request.dryRun must be a boolean (got "yes")'],
    ['an object that is an array', sampleReview({ object: [] }), 'request.object must be an object (got an array)'],
    ['an object that is a string', sampleReview({ object: 'x' }), 'request.object must be an object (got "x")'],
    ['an object that is a number', sampleReview({ operation: 'CREATE', object: 7, oldObject: null }), 'request.object must be an object (got 7)'],
    ['an oldObject that is an array', sampleReview({ oldObject: [{ metadata: { name: 'worker-1' } }] }), 'request.oldObject must be an object (got an array)'],
    ['an oldObject that is a boolean', sampleReview({ operation: 'DELETE', object: null, oldObject: true }), 'request.oldObject must be an object (got true)'],
  ])('rejects %s with a one-line reason', (_what, value, reason) => {
    const review = JSON.parse(JSON.stringify(value)); // drops the undefined fields
    expect(reasonFor(review)).toBe(reason);
  });

  it('takes a null or absent object and oldObject (the API server sends null for the one an operation has not)', () => {
    for (const request of [
      { operation: 'DELETE', object: null },
      { operation: 'CREATE', oldObject: null },
      { operation: 'CONNECT', object: undefined, oldObject: undefined },
    ]) {
      const result = decodeAdmissionReview(JSON.parse(JSON.stringify(sampleReview(request))));
      expect(result.ok, JSON.stringify(request)).toBe(true);
    }
  });

  it('refuses an object of the wrong type whether or not strings are set aside from the body', () => {
    const paths = [['request', 'object', 'data', 'release'], ['request', 'oldObject', 'data', 'release']];
    for (const [object, reason] of [
      [[], 'request.object must be an object (got an array)'],
      ['x', 'request.object must be an object (got "x")'],
      [[{ data: { release: 'Q' } }], 'request.object must be an object (got an array)'],
    ] as const) {
      const body = Buffer.from(JSON.stringify(sampleReview({ object, oldObject: { data: { release: 'Q'.repeat(ELIDE_FROM_BYTES) } } })));
      expect(decodeAdmissionReviewBody(body, paths)).toEqual({ ok: false, reason });
      expect(decodeAdmissionReviewBody(body, paths, { fromBytes: 0, bodyIsOurs: true })).toEqual({ ok: false, reason });
      expect(decodeAdmissionReviewBody(body)).toEqual({ ok: false, reason });
    }
  });

  it('never quotes long or multi-line values in full', () => {
    const reason = reasonFor(sampleReview({ operation: `PATCH\n${'x'.repeat(500)}` }));
    expect(reason).not.toContain('\n');
    expect(reason.length).toBeLessThan(200);
  });
});

describe('parseJson', () => {
  it('rejects an empty body and non-JSON without quoting the body', () => {
    expect(parseJson(Buffer.alloc(0))).toEqual({ ok: false, reason: 'request body is empty (expected an AdmissionReview)' });
    const result = parseJson('{"password": "hunter2"');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(/^request body is not valid JSON/);
    expect(!result.ok && result.reason).not.toContain('hunter2');
  });

  it('drops "__proto__" keys so later merges cannot change prototypes', () => {
    const result = decodeAdmissionReviewBody(
      JSON.stringify(sampleReview()).replace('"spec":{"unschedulable":true}', '"data":{"__proto__":{"polluted":true},"ok":"1"}'),
    );
    expect(result.ok).toBe(true);
    const object = result.ok ? (result.request.object as { data: Record<string, unknown> }) : undefined;
    expect(object?.data).toEqual({ ok: '1' });
    expect(Object.prototype.hasOwnProperty.call(object?.data, '__proto__')).toBe(false);
    expect(Object.assign({}, object?.data)).not.toHaveProperty('polluted');
  });

  it('drops "__proto__" keys spelt with \\u escapes too, and keeps other escapes as they are', () => {
    for (const key of ['\\u005f_proto__', '__\\u0070roto__', '__pr\\u006Fto\\u005F_', '\\u005F\\u005F\\u0070\\u0072\\u006f\\u0074\\u006f__']) {
      const result = decodeAdmissionReviewBody(
        JSON.stringify(sampleReview()).replace('"spec":{"unschedulable":true}', `"data":{"${key}":{"polluted":true},"ok":"1"}`),
      );
      const object = result.ok ? (result.request.object as { data: Record<string, unknown> }) : undefined;
      expect(object?.data, key).toEqual({ ok: '1' });
      expect(Object.prototype.hasOwnProperty.call(object?.data, '__proto__'), key).toBe(false);
    }
    const result = decodeAdmissionReviewBody(
      JSON.stringify(sampleReview()).replace('"spec":{"unschedulable":true}', '"data":{"a\\u0026b":"\\u003c\\u005f>","ok":"1"}'),
    );
    expect(result.ok && (result.request.object as { data: unknown }).data).toEqual({ 'a&b': '<_>', ok: '1' });
  });
});

describe('encodeAdmissionResponse', () => {
  it('echoes the uid on an allowed response without a status', () => {
    expect(encodeAdmissionResponse('uid-1', allowed())).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'uid-1', allowed: true },
    });
  });

  it('carries status, warnings and audit annotations on a denial', () => {
    const decision = denied('volume pvc-1 has a single replica', {
      warnings: ['first'],
      auditAnnotations: { 'checks': 'single-replica' },
    });
    expect(encodeAdmissionResponse('uid-2', decision).response).toEqual({
      uid: 'uid-2',
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: 'volume pvc-1 has a single replica' },
      warnings: ['first'],
      auditAnnotations: { checks: 'single-replica' },
    });
  });

  it('gives a denial without a status a 403 status', () => {
    expect(encodeAdmissionResponse('u', { allowed: false }).response.status?.code).toBe(403);
  });

  it("encodes a mutating webhook's patch as patchType JSONPatch and the patch's JSON in base64, the same in the shortcut", () => {
    const patch = [{ op: 'add' as const, path: '/metadata/annotations/volume-guard.io~1skip-by', value: 'admin' }];
    const response = encodeAdmissionResponse('u', { ...allowed(), patch }).response;
    expect(response).toEqual({ uid: 'u', allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') });
    expect(JSON.parse(Buffer.from(response.patch!, 'base64').toString('utf8'))).toEqual(patch);
    // The shortcut for a plain allowed answer must not drop it.
    expect(JSON.parse(encodeAdmissionResponseJson('u', { ...allowed(), patch }))).toEqual(encodeAdmissionResponse('u', { ...allowed(), patch }));
    // An empty patch is no change; a refusal carries none (the API server takes a patch from an allowing answer only).
    expect(encodeAdmissionResponseJson('u', { ...allowed(), patch: [] })).toBe(JSON.stringify(encodeAdmissionResponse('u', allowed())));
    expect(encodeAdmissionResponse('u', { ...denied('no'), patch }).response).not.toHaveProperty('patch');
  });

  it('leaves logging-only fields out of the response', () => {
    const response = encodeAdmissionResponse('u', { ...allowed(), checks: ['single-replica'], overrides: ['x'] }).response;
    expect(Object.keys(response).sort()).toEqual(['allowed', 'uid']);
  });
});

describe('capWarnings', () => {
  it('keeps warnings under the budget unchanged', () => {
    expect(capWarnings(['a', 'b'])).toEqual(['a', 'b']);
  });

  it('turns control characters into spaces and drops empty lines', () => {
    expect(capWarnings(['line one\nline two\ttab', ' ', '\u0007bell'])).toEqual(['line one line two tab', 'bell']);
  });

  it('keeps whole lines and replaces the tail by a count once the total passes the budget', () => {
    const warnings = Array.from({ length: 100 }, (_, index) => `warning ${String(index).padStart(3, '0')} ${'x'.repeat(88)}`);
    const capped = capWarnings(warnings);
    const total = capped.reduce((sum, warning) => sum + Buffer.byteLength(warning), 0);
    expect(total).toBeLessThanOrEqual(WARNINGS_BYTE_BUDGET);
    expect(total).toBeLessThan(4096);
    const kept = capped.slice(0, -1);
    expect(kept).toEqual(warnings.slice(0, kept.length)); // whole lines, in order
    expect(capped.at(-1)).toBe(`… ${100 - kept.length} more warnings`);
    expect(kept.length).toBeGreaterThan(30);
  });

  it('counts bytes, not characters', () => {
    const wide = Array.from({ length: 40 }, () => 'é'.repeat(100)); // 200 bytes each
    const capped = capWarnings(wide);
    expect(capped.reduce((sum, warning) => sum + Buffer.byteLength(warning), 0)).toBeLessThanOrEqual(WARNINGS_BYTE_BUDGET);
    expect(capped.length).toBeLessThan(21);
  });
});

describe('outcomeOf', () => {
  it('tells allowed, warned, denied and errored apart', () => {
    expect(outcomeOf(allowed())).toBe('allowed');
    expect(outcomeOf(allowed(['careful']))).toBe('warned');
    expect(outcomeOf(denied('no'))).toBe('denied');
    // A refusal with another code than 403 is no decision of a check.
    expect(outcomeOf({ allowed: false, status: { code: 500, reason: 'InternalError', message: 'broken' } })).toBe('errored');
    expect(outcomeOf({ allowed: false, status: { code: 400, reason: 'BadRequest', message: 'odd object' } })).toBe('errored');
  });
});

describe('decodeAdmissionReviewBody with strings set aside', () => {
  const PATHS = [['request', 'object', 'data', 'release']];
  const body = (release: string) => Buffer.from(JSON.stringify(sampleReview({ object: { kind: 'Secret', metadata: { name: 's' }, data: { release } } })));
  const release = (decoded: ReturnType<typeof decodeAdmissionReviewBody>) => {
    if (!decoded.ok) throw new Error(decoded.reason);
    return { value: (decoded.request.object as { data: { release: string } }).data.release, elided: decoded.request.elided };
  };

  it('sets them aside from bodies of ELIDE_FROM_BYTES on, and decodes everything else alike', () => {
    const large = body('Q'.repeat(ELIDE_FROM_BYTES));
    const set = release(decodeAdmissionReviewBody(large, PATHS));
    expect(set.value).toBe(`${ELIDED_PREFIX}0`);
    expect(stringOfToken(elidedToken(set.value, set.elided)!)).toBe('Q'.repeat(ELIDE_FROM_BYTES));
    const whole = decodeAdmissionReviewBody(large);
    const decoded = decodeAdmissionReviewBody(large, PATHS);
    if (!whole.ok || !decoded.ok) throw new Error('not decoded');
    const { elided: _elided, ...rest } = decoded.request;
    expect({ ...rest, object: { ...(rest.object as object), data: {} } }).toEqual({ ...whole.request, object: { ...(whole.request.object as object), data: {} } });
  });

  it('parses a smaller body whole, and any body the scanner does not read, with the reason it always gave', () => {
    expect(release(decodeAdmissionReviewBody(body('QUJD'), PATHS))).toEqual({ value: 'QUJD', elided: undefined });
    expect(release(decodeAdmissionReviewBody(body('QUJD'), PATHS, { fromBytes: 0 })).value).toBe(`${ELIDED_PREFIX}0`);
    const broken = Buffer.concat([body('Q'.repeat(ELIDE_FROM_BYTES)), Buffer.from('}')]);
    expect(decodeAdmissionReviewBody(broken, PATHS)).toEqual(decodeAdmissionReviewBody(broken));
    expect(decodeAdmissionReviewBody(broken, PATHS).ok).toBe(false);
  });

  it('reads a string body as its UTF-8 bytes: set aside from ELIDE_FROM_BYTES bytes on, parsed whole below', () => {
    const small = body('QUJD').toString();
    expect(release(decodeAdmissionReviewBody(small, PATHS))).toEqual({ value: 'QUJD', elided: undefined });
    // Counted in bytes, not characters: 'é' is two bytes, so half as many characters reach the threshold.
    const wide = body('é'.repeat(ELIDE_FROM_BYTES / 2)).toString();
    expect(wide.length).toBeLessThan(ELIDE_FROM_BYTES);
    const set = release(decodeAdmissionReviewBody(wide, PATHS));
    expect(set.value).toBe(`${ELIDED_PREFIX}0`);
    expect(stringOfToken(elidedToken(set.value, set.elided)!)).toBe('é'.repeat(ELIDE_FROM_BYTES / 2));
  });
});

// AdmissionReview admission.k8s.io/v1 <-> AdmissionRequest / Decision (a mutating webhook's patch included).
// Decoding never throws: bad input becomes a one-line reason that the server returns with HTTP 400.

import { Ajv } from 'ajv';
import type { ErrorObject } from 'ajv';
import { elideStrings, spansItsBuffer, type StringPaths } from '../json-bytes.ts';
import { arrayAt, objectAt, stringAt, stringAtPath } from '../json.ts';
import { describeCommonError, pointerToPath, valueAtPointer } from '../schema-errors.ts';
import type { AdmissionRequest, Decision, Operation, Status } from '../admission/types.ts';
import { OPERATIONS } from '../kube.ts';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_REVIEW_KIND = 'AdmissionReview';

/** The API server drops warnings once their total passes 4096 bytes; stay under it with room to spare. */
export const WARNINGS_BYTE_BUDGET = 4000;

const groupVersion = { group: { type: 'string' }, version: { type: 'string', minLength: 1 } };

// Fields the Go structs mark omitempty (name, namespace, object, oldObject, dryRun, username, groups...) are
// optional here. Unknown fields are accepted: newer API servers may add some.
const ADMISSION_REVIEW_SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind', 'request'],
  properties: {
    apiVersion: { const: ADMISSION_API_VERSION },
    kind: { const: ADMISSION_REVIEW_KIND },
    request: {
      type: 'object',
      required: ['uid', 'kind', 'resource', 'operation', 'userInfo'],
      properties: {
        uid: { type: 'string', minLength: 1 },
        kind: {
          type: 'object',
          required: ['group', 'version', 'kind'],
          properties: { ...groupVersion, kind: { type: 'string', minLength: 1 } },
        },
        resource: {
          type: 'object',
          required: ['group', 'version', 'resource'],
          properties: { ...groupVersion, resource: { type: 'string', minLength: 1 } },
        },
        subResource: { type: 'string' },
        name: { type: 'string' },
        namespace: { type: 'string' },
        operation: { enum: OPERATIONS },
        userInfo: {
          type: 'object',
          properties: {
            username: { type: 'string' },
            uid: { type: 'string' },
            groups: { type: 'array', items: { type: 'string' } },
          },
        },
        // object / oldObject: a JSON object, or null (the API server sends null for the one an operation has not:
        // object on DELETE, oldObject on CREATE); the validators narrow them further. Anything else (`[]`, `"x"`)
        // is no Kubernetes object: refused with a reason rather than judged as if empty (allowed). One type check each.
        object: { type: 'object', nullable: true },
        oldObject: { type: 'object', nullable: true },
        dryRun: { type: 'boolean' },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: false, strict: true });
const validateReview = ajv.compile(ADMISSION_REVIEW_SCHEMA);

/** The shape validateReview guarantees (plus unknown extra fields). */
interface WireAdmissionReview {
  readonly request: {
    readonly uid: string;
    readonly kind: { readonly group: string; readonly version: string; readonly kind: string };
    readonly resource: { readonly group: string; readonly version: string; readonly resource: string };
    /** Not schema-checked: read only as a hint (requestVersionOf). */
    readonly requestKind?: unknown;
    readonly subResource?: string;
    readonly name?: string;
    readonly namespace?: string;
    readonly operation: Operation;
    readonly userInfo: { readonly username?: string; readonly uid?: string; readonly groups?: readonly string[] };
    readonly object?: unknown;
    readonly oldObject?: unknown;
    readonly dryRun?: boolean;
    readonly options?: unknown;
  };
}

export type DecodeResult =
  | { readonly ok: true; readonly request: AdmissionRequest }
  | { readonly ok: false; readonly reason: string };

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    const quoted = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
    return quoted;
  }
  return String(value);
}

function describeSchemaError(error: ErrorObject, root: unknown): string {
  const field = pointerToPath(error.instancePath);
  const got = describeValue(valueAtPointer(root, error.instancePath));
  const common = describeCommonError(error, field, got, 'body');
  if (common !== undefined) return common;
  switch (error.keyword) {
    case 'const':
      return `${field} must be ${String(error.params.allowedValue)} (got ${got})`;
    case 'minLength':
      return `${field} must be a non-empty string`;
    default:
      return `${field || 'body'} ${error.message ?? 'is invalid'}`;
  }
}

// A `"__proto__"` key in an object (a ConfigMap or Secret may legitimately have one) becomes an own property
// under JSON.parse, harmless until someone merges the object with Object.assign. Drop such keys; only
// bodies that may hold one pay for the reviver: the text `__proto__`, or a \u escape of one of its letters
// (`"\u005f_proto__"` is the same key). Searched in the decoded text: the quoted needle on the raw bytes
// cost 5-6 µs for a 10 KB review ('"' is everywhere in JSON), these 0.2-0.5 µs.
const PROTO_LETTER_ESCAPE = /\\u00(?:5[fF]|6[fF]|7[024])/;
function mayHoldProtoKey(text: string): boolean {
  return text.includes('__proto__') || (text.includes('\\u') && PROTO_LETTER_ESCAPE.test(text));
}
function dropProtoKeys(this: unknown, key: string, value: unknown): unknown {
  return key === '__proto__' ? undefined : value;
}

/** Parse a request body as JSON. The reason never quotes the body (it may hold secrets). */
export function parseJson(body: Buffer | string): { ok: true; value: unknown } | { ok: false; reason: string } {
  // A string is read as its UTF-8 bytes would be (lone surrogates become U+FFFD), as the server's Buffers are.
  const text = (typeof body === 'string' ? Buffer.from(body) : body).toString('utf8');
  if (text.length === 0) return { ok: false, reason: 'request body is empty (expected an AdmissionReview)' };
  try {
    const value: unknown = mayHoldProtoKey(text) ? JSON.parse(text, dropProtoKeys) : JSON.parse(text);
    return { ok: true, value };
  } catch (error) {
    const position = /position (\d+)/.exec(String((error as Error).message))?.[1];
    return {
      ok: false,
      reason: `request body is not valid JSON${position === undefined ? '' : ` (at byte ${position})`}`,
    };
  }
}

/** requestKind's version when it differs from kind's (the API server converted the object), as a spread. */
function requestVersionOf(wire: WireAdmissionReview['request']): { requestVersion?: string } {
  const version = stringAt(wire.requestKind, 'version');
  return version === '' || version === wire.kind.version ? {} : { requestVersion: version };
}

/**
 * An eviction whose body asks for a dry run (`deleteOptions.dryRun`, as `kubectl drain --dry-run=server` sends it,
 * with no `?dryRun` on the request): the API server deletes nothing (EvictionREST.Create, propagateDryRun) but
 * admits it with the query's dry-run flag, false.
 */
function isDryRunEviction(wire: WireAdmissionReview['request']): boolean {
  if (wire.operation !== 'CREATE' || wire.subResource !== 'eviction' || wire.resource.resource !== 'pods') return false;
  return arrayAt(objectAt(wire.object, 'deleteOptions'), 'dryRun').length > 0;
}

/**
 * Schema-check a parsed AdmissionReview and convert it to the validators' AdmissionRequest; `elided`: the strings
 * the parsed text had set aside (decodeAdmissionReviewBody).
 */
export function decodeAdmissionReview(value: unknown, elided?: readonly Uint8Array<ArrayBuffer>[]): DecodeResult {
  if (!validateReview(value)) {
    const error = validateReview.errors?.[0];
    return { ok: false, reason: error ? describeSchemaError(error, value) : 'not an AdmissionReview' };
  }
  const wire = (value as unknown as WireAdmissionReview).request;
  const request: AdmissionRequest = {
    uid: wire.uid,
    kind: { group: wire.kind.group, version: wire.kind.version, kind: wire.kind.kind },
    resource: { group: wire.resource.group, version: wire.resource.version, resource: wire.resource.resource },
    ...requestVersionOf(wire),
    ...(wire.subResource ? { subResource: wire.subResource } : {}),
    // A collection DELETE's items come with no name (AdmissionRequest.name).
    name: wire.name || (wire.operation === 'DELETE' ? stringAtPath(wire.oldObject, 'metadata', 'name') : ''),
    namespace: wire.namespace ?? '',
    operation: wire.operation,
    userInfo: {
      username: wire.userInfo.username ?? '',
      ...(wire.userInfo.uid === undefined ? {} : { uid: wire.userInfo.uid }),
      groups: wire.userInfo.groups ?? [],
    },
    object: wire.object ?? null,
    oldObject: wire.oldObject ?? null,
    dryRun: wire.dryRun === true || isDryRunEviction(wire),
    // A DELETE's DeleteOptions (propagationPolicy): whether the garbage collector deletes or orphans dependents.
    ...(wire.options === undefined || wire.options === null ? {} : { options: wire.options }),
    ...(elided === undefined ? {} : { elided }),
  };
  return { ok: true, request };
}

/**
 * Bodies from this size on have their `elide` strings set aside. Below it JSON.parse is cheaper than the scan (a
 * 22 KB review of a 100 KB release: 21 µs parsed whole, 45 µs scanned and the rest parsed); above it the strings
 * set aside are what costs (a 145 KB review of a 1 MB release: 1.17 ms whole, its strings in V8's large-object
 * space, against 0.47 ms; measured in process, 2026-12-03).
 */
export const ELIDE_FROM_BYTES = 64 * 1024;

export interface ElideOptions {
  /** Set aside only from bodies of this many bytes on (ELIDE_FROM_BYTES). */
  readonly fromBytes?: number;
  /**
   * The body is this request's alone and read no more once decoded (the server's): the tokens are views into it, and
   * a reader may take its memory over (a worker thread, transferred) instead of having it copied. Only where the
   * body is the whole of its buffer; otherwise the tokens are copies.
   */
  readonly bodyIsOurs?: boolean;
}

/**
 * Parse and decode a request body. With `elide` (a validator's Validator.elide) and a large enough body, the string
 * values at those paths are set aside as their JSON tokens (AdmissionRequest.elided) and never become strings here;
 * every other value is decoded as without it, and a body the scanner does not read is parsed whole, as without it.
 */
export function decodeAdmissionReviewBody(body: Buffer | string, elide?: StringPaths, options: ElideOptions = {}): DecodeResult {
  const fromBytes = options.fromBytes ?? ELIDE_FROM_BYTES;
  if (elide !== undefined && (typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length) >= fromBytes) {
    // A string body (unit tests) is converted only when it is large enough to be scanned.
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const inPlace = spansItsBuffer(bytes) && options.bodyIsOurs === true;
    // Not in place, the tokens are copies: what buffer the body is in does not matter then.
    const cut = elideStrings(bytes as Buffer<ArrayBuffer>, elide, inPlace);
    const parsed = cut === undefined ? undefined : parseJson(cut.text);
    if (parsed?.ok) return decodeAdmissionReview(parsed.value, cut!.tokens);
  }
  const parsed = parseJson(body);
  return parsed.ok ? decodeAdmissionReview(parsed.value) : parsed;
}

// ---- encoding ----

export interface AdmissionReviewResponse {
  readonly apiVersion: typeof ADMISSION_API_VERSION;
  readonly kind: typeof ADMISSION_REVIEW_KIND;
  readonly response: {
    readonly uid: string;
    readonly allowed: boolean;
    readonly status?: Status;
    readonly warnings?: readonly string[];
    readonly auditAnnotations?: Readonly<Record<string, string>>;
    /** A mutating webhook's change (Decision.patch): always `JSONPatch` with `patch`. */
    readonly patchType?: 'JSONPatch';
    /** The JSON Patch's JSON text, base64. */
    readonly patch?: string;
  };
}

const byteLength = (text: string) => Buffer.byteLength(text, 'utf8');
const moreWarnings = (count: number) => `… ${count} more warning${count === 1 ? '' : 's'}`;

/**
 * Warnings become HTTP Warning headers: control characters would make the API server reject them, so they
 * become spaces (dropped at the start). A line's own leading indent is kept: it marks the continuation of a wrapped
 * warning, which without it would read like a warning of its own (and the API server drops a warning identical to
 * an earlier one). Lines are kept whole; when the total passes WARNINGS_BYTE_BUDGET the tail is replaced by one
 * "… N more warnings" line.
 */
export function capWarnings(warnings: readonly string[]): string[] {
  // Every control character (Go's unicode.IsControl: C0, DEL and C1): the API server drops a warning holding one.
  const clean = warnings
    // eslint-disable-next-line no-control-regex
    .map((warning) => warning.replace(/^[\u0000-\u001f\u007f-\u009f]+/, '').replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trimEnd())
    .filter((warning) => warning.trim() !== '');
  const total = clean.reduce((sum, warning) => sum + byteLength(warning), 0);
  if (total <= WARNINGS_BYTE_BUDGET) return clean;
  const reserve = byteLength(moreWarnings(clean.length));
  const kept: string[] = [];
  let used = 0;
  for (const warning of clean) {
    const size = byteLength(warning);
    if (used + size + reserve > WARNINGS_BYTE_BUDGET) break;
    kept.push(warning);
    used += size;
  }
  kept.push(moreWarnings(clean.length - kept.length));
  return kept;
}

/**
 * A denial's message is at most this long. Denials of findings stay under MAX_DENIAL_LENGTH (3500); others echo
 * request values (a wrong skip-by or skip-until, up to an annotation's 256 KiB), which would otherwise reach the
 * requester, the log line and the Event in full.
 */
export const MAX_STATUS_MESSAGE_LENGTH = 4000;
/** An audit annotation value (an override's reason as written, joined per override) is at most this long. */
export const MAX_AUDIT_ANNOTATION_LENGTH = 1024;

/** `text` cut at a word boundary to at most `max` characters, the cut marked by "…". */
function bounded(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.lastIndexOf(' ', max - 1);
  return `${text.slice(0, cut > max / 2 ? cut : max - 1)}…`;
}

/**
 * The decision with its message and audit annotation values bounded: what the response, the admission log line and
 * the Event are made of, so that a request's own values cost only that request (never a megabyte log line).
 */
export function boundDecision(decision: Decision): Decision {
  const message = decision.status?.message;
  const annotations = decision.auditAnnotations;
  const longAnnotation = annotations !== undefined && Object.values(annotations).some((value) => value.length > MAX_AUDIT_ANNOTATION_LENGTH);
  if ((message === undefined || message.length <= MAX_STATUS_MESSAGE_LENGTH) && !longAnnotation) return decision;
  return {
    ...decision,
    ...(decision.status && message !== undefined ? { status: { ...decision.status, message: bounded(message, MAX_STATUS_MESSAGE_LENGTH) } } : {}),
    ...(annotations && longAnnotation
      ? { auditAnnotations: Object.fromEntries(Object.entries(annotations).map(([key, value]) => [key, bounded(value, MAX_AUDIT_ANNOTATION_LENGTH)])) }
      : {}),
  };
}

const DEFAULT_DENIAL: Status = { code: 403, reason: 'Forbidden', message: 'denied by volume-guard' };

export function encodeAdmissionResponse(uid: string, decision: Decision): AdmissionReviewResponse {
  const warnings = decision.warnings?.length ? capWarnings(decision.warnings) : [];
  const annotations = decision.auditAnnotations;
  return {
    apiVersion: ADMISSION_API_VERSION,
    kind: ADMISSION_REVIEW_KIND,
    response: {
      uid,
      allowed: decision.allowed,
      ...(decision.allowed ? {} : { status: decision.status ?? DEFAULT_DENIAL }),
      ...(warnings.length ? { warnings } : {}),
      ...(annotations && Object.keys(annotations).length ? { auditAnnotations: annotations } : {}),
      // The API server takes a patch from an allowing answer only.
      ...(decision.allowed && decision.patch?.length ? { patchType: 'JSONPatch' as const, patch: Buffer.from(JSON.stringify(decision.patch)).toString('base64') } : {}),
    },
  };
}

const ALLOWED_PREFIX = `{"apiVersion":${JSON.stringify(ADMISSION_API_VERSION)},"kind":${JSON.stringify(ADMISSION_REVIEW_KIND)},"response":{"uid":`;

/**
 * JSON.stringify(encodeAdmissionResponse(uid, decision)), without the intermediate objects for the common
 * answer (allowed, no warnings, no audit annotations, no patch).
 */
export function encodeAdmissionResponseJson(uid: string, decision: Decision): string {
  if (
    decision.allowed &&
    !decision.warnings?.length &&
    (decision.auditAnnotations === undefined || Object.keys(decision.auditAnnotations).length === 0) &&
    !decision.patch?.length
  ) {
    return `${ALLOWED_PREFIX}${JSON.stringify(uid)},"allowed":true}}`;
  }
  return JSON.stringify(encodeAdmissionResponse(uid, decision));
}

/** How a decision is counted in volume_guard_admission_requests_total. */
export function outcomeOf(decision: Decision): 'allowed' | 'warned' | 'denied' | 'errored' {
  if (decision.allowed) return decision.warnings?.length ? 'warned' : 'allowed';
  return decision.status === undefined || decision.status.code === 403 ? 'denied' : 'errored';
}

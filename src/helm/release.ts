// Helm 3/4 release records as stored by the "secret" and "configmap" drivers and seen by an admission webhook.
//
// Secret `sh.helm.release.v1.<release>.v<revision>`, type `helm.sh/release.v1`, `data.release` =
// base64(base64(gzip(JSON))): Helm base64-encodes the gzip, and the Secret API base64-encodes those bytes again.
// ConfigMap (HELM_DRIVER=configmap) of the same name, no type, same labels (`owner=helm`, name, status, version,
// createdAt/modifiedAt, user labels): `data.release` = base64(gzip(JSON)), Helm's own string, which a ConfigMap
// carries as it is (its data values are strings, not bytes, so the API adds no second base64 layer).
// Records written before Helm compressed them hold plain JSON instead of gzip. The SQL driver keeps releases in a
// database: no API request, nothing an admission webhook can see.
//
// Everything here treats the payload as hostile: both base64 layers are checked strictly, gunzip has a hard
// output cap (gzip bombs), and every failure is a ReleaseDecodeError whose message is one line that never quotes
// the payload (a release holds chart values, often credentials).
import { gunzipSync } from 'node:zlib';
import type { Labels } from '../cluster/records.ts';
import { isObject, stringAt, stringMapOf, type JsonObject } from '../json.ts';
import { JsonSyntaxError, MAX_JSON_DEPTH, RAW_JSON, readJsonFields, type FieldSpec, type FieldValue, type FoundFields } from './release-fields.ts';

export const HELM_RELEASE_SECRET_TYPE = 'helm.sh/release.v1';
export const DEFAULT_MAX_RELEASE_BYTES = 32 * 1024 * 1024;
/** Labels Helm writes on its own storage objects; everything else is a user label (`helm install --labels`). */
export const HELM_SYSTEM_LABELS: readonly string[] = ['name', 'owner', 'status', 'version', 'createdAt', 'modifiedAt'];

/** Every status Helm 3 and 4 write. */
export const HELM_RELEASE_STATUSES = [
  'unknown',
  'deployed',
  'uninstalled',
  'superseded',
  'failed',
  'uninstalling',
  'pending-install',
  'pending-upgrade',
  'pending-rollback',
] as const;

export type HelmReleaseStatus = (typeof HELM_RELEASE_STATUSES)[number];

export function isHelmReleaseStatus(value: string): value is HelmReleaseStatus {
  return (HELM_RELEASE_STATUSES as readonly string[]).includes(value);
}

/** A chart hook as the record keeps it (pkg/release Hook): rendered apart from the manifest, run at its events. */
export interface HelmHook {
  readonly name: string;
  readonly kind: string;
  /** The hook's one rendered document. */
  readonly manifest: string;
  /** e.g. pre-install, pre-upgrade, post-rollback. */
  readonly events: readonly string[];
  /** helm.sh/hook-delete-policy as parsed (empty when the chart set none: Helm then applies before-hook-creation). */
  readonly deletePolicies: readonly string[];
}

/** What volume-guard needs from one release revision. */
export interface HelmRelease {
  readonly name: string;
  readonly namespace: string;
  /** The revision, 1 for a first install. */
  readonly version: number;
  /** info.status, e.g. pending-install; kept as written even when it is not a status this code knows. */
  readonly status: string;
  /** The rendered templates: multi-document YAML. */
  readonly manifest: string;
  readonly chartName: string;
  readonly chartVersion: string;
  /** User labels from `helm install --labels`: the Secret's labels minus Helm's own. */
  readonly labels: Labels;
  /** The chart's hooks (not part of `manifest`); absent on records read before hooks were. */
  readonly hooks?: readonly HelmHook[];
  /**
   * Helm 4's `apply_method`: `ssa` when this revision applies its resources and hooks server-side, `csa` (or '', Helm 3
   * and earlier records) when it creates and patches them. Absent when the record has none.
   */
  readonly applyMethod?: string;
  /**
   * info.first_deployed as written (RFC 3339, the writer's clock): the first install's time, which `helm upgrade` and
   * `helm rollback` copy into every later revision, and `install --replace` / `upgrade --install` over an uninstalled
   * release set anew. Absent when the record has none or not a string.
   */
  readonly firstDeployed?: string;
}

/** The labels Helm puts on a release Secret, readable without decoding the payload. */
export interface ReleaseSecretLabels {
  /** `owner`, "helm" for Helm's records. */
  readonly owner: string;
  /** `name`: the release name. */
  readonly name: string;
  /** `status` */
  readonly status: string;
  /** `version`: the revision, NaN when absent or not a number. */
  readonly version: number;
}

export interface DecodedReleaseSecret {
  /** The Secret's own name and namespace (namespace '' when the object did not carry one). */
  readonly secretName: string;
  readonly secretNamespace: string;
  readonly secretLabels: ReleaseSecretLabels;
  readonly release: HelmRelease;
}

export type ReleaseDecodeErrorCode =
  | 'not-a-release-secret'
  | 'missing-data'
  | 'invalid-base64'
  | 'not-gzip-or-json'
  | 'invalid-gzip'
  | 'too-large'
  | 'invalid-json'
  | 'invalid-release'
  | 'labels-mismatch';

/** A release that cannot be read. Callers deny a CREATE with `message`: it names no payload content. */
export class ReleaseDecodeError extends Error {
  readonly code: ReleaseDecodeErrorCode;

  constructor(code: ReleaseDecodeErrorCode, message: string) {
    super(message);
    this.name = 'ReleaseDecodeError';
    this.code = code;
  }
}

export interface ReleaseDecodeOptions {
  /** Refuse records whose JSON is larger than this once gunzipped (default 32 MiB). */
  readonly maxReleaseBytes?: number;
  /** The request's namespace: the Secret's namespace when the object itself does not carry it. */
  readonly namespace?: string;
}

/** "32 MiB", "512 KiB" or "1000 bytes": how a limit reads in a message. */
export function formatBytes(bytes: number): string {
  const MiB = 1024 * 1024;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** Standard padded base64 as Go's encoding/base64.StdEncoding writes it; CR and LF are skipped like Go does. */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Base64 decoded into one buffer per thread, reused (withBase64Bytes). */
const SCRATCH_BYTES = 32 * 1024;
let scratch: Buffer | undefined;
let scratchInUse = false;

/**
 * Decodes base64 and hands the bytes to `use`, which returns what it keeps: the bytes are valid only during the call.
 * Up to SCRATCH_BYTES they are written into one buffer this thread reuses: V8 frees a young Buffer of 32 KiB or
 * less only at a full collection, not at a scavenge (measured, Node 24), so a manifest worker left both layers of
 * every record behind and needed a full collection (7-15 ms) every couple of hundred records.
 */
function withBase64Bytes<T>(text: string, layer: string, use: (bytes: Buffer) => T): T {
  const compact = text.includes('\n') || text.includes('\r') ? text.replace(/[\r\n]/g, '') : text;
  const reuse = !scratchInUse && Buffer.byteLength(compact, 'base64') <= SCRATCH_BYTES;
  const bytes = reuse ? scratchBytes(compact) : Buffer.from(compact, 'base64');
  // Base64 decoding silently skips junk and accepts base64url. Canonical base64 (what Go and Helm write)
  // re-encodes to itself: checked that way at memory speed (0.5 ms for 150 KB, where the alphabet's regex takes
  // 3 ms); anything else is checked against the alphabet, as before.
  const canonical = compact.length % 4 === 0 && bytes.toString('base64') === compact;
  if (!canonical && (compact.length % 4 !== 0 || !BASE64.test(compact))) {
    throw new ReleaseDecodeError('invalid-base64', `release data is not valid base64${layer}`);
  }
  if (!reuse) return use(bytes);
  scratchInUse = true;
  try {
    return use(bytes);
  } finally {
    scratchInUse = false;
  }
}

function scratchBytes(base64: string): Buffer {
  scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES);
  return scratch.subarray(0, scratch.write(base64, 'base64'));
}

function isGzip(bytes: Buffer): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Legacy uncompressed records are a JSON object: the first non-blank byte is `{`. */
function looksLikeJsonObject(bytes: Buffer): boolean {
  for (const byte of bytes) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x7b;
  }
  return false;
}

function errorCode(error: unknown): string {
  return isObject(error) && typeof error.code === 'string' ? error.code : '';
}

const GUNZIP_CHUNK_BYTES = 256 * 1024;

/**
 * zlib's output chunk for these gzip bytes: the size the gzip trailer states (ISIZE: the input's length mod 2^32)
 * plus one, so the whole output lands in one buffer that is returned as is, instead of 256 KiB chunks copied
 * together at the end (a 2.6 MB copy for a 1 MB release). The trailer is the writer's word: capped at the limit,
 * and a record that inflates to more simply continues in further chunks.
 */
function gunzipChunkSize(bytes: Buffer, maxBytes: number): number {
  const stated = bytes.length >= 18 ? bytes.readUInt32LE(bytes.length - 4) : 0;
  return Math.min(Math.max(stated + 1, GUNZIP_CHUNK_BYTES), maxBytes + 1);
}

/**
 * zlib's synchronous API leaves its first output buffer (here the whole release JSON) on the engine, which its
 * closed native handle keeps reachable until a full collection: a scavenge cannot free it, and a manifest worker
 * then needed a full collection every few dozen records (7-15 ms, during which the next record waited or shared
 * the cores with it). Dropped here, the scavenge after each record frees it (test/unit/helm/worker-memory.test.ts).
 */
function releaseOutputBuffer(engine: object): void {
  if (OUTPUT_BUFFER in engine) Reflect.set(engine, OUTPUT_BUFFER, undefined);
}
const OUTPUT_BUFFER = '_outBuffer';

/** What gunzipSync returns with `info: true` (documented; @types/node types only the plain Buffer). */
interface GunzipInfo {
  readonly buffer: Buffer;
  readonly engine: object;
}

function gunzipCapped(bytes: Buffer, maxBytes: number): Buffer {
  try {
    // maxOutputLength makes zlib stop as soon as the output would pass the cap: a bomb costs at most maxBytes.
    const { buffer, engine } = gunzipSync(bytes, { maxOutputLength: maxBytes, chunkSize: gunzipChunkSize(bytes, maxBytes), info: true }) as unknown as GunzipInfo;
    releaseOutputBuffer(engine);
    return buffer;
  } catch (error) {
    if (errorCode(error) === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
      throw new ReleaseDecodeError('too-large', `release data expands beyond ${formatBytes(maxBytes)}`);
    }
    throw new ReleaseDecodeError('invalid-gzip', 'release data is not valid gzip (truncated or corrupt)');
  }
}

/**
 * Decodes the inner layer (Helm's base64 text) and reads the record's fields from its JSON: gzip, capped as it
 * inflates, or a legacy record's plain JSON, capped as it is.
 */
function releaseFields(helmEncoded: string, maxBytes: number): FoundFields {
  return withBase64Bytes(helmEncoded, ' (inner encoding)', (bytes) => {
    const json = isGzip(bytes) ? gunzipCapped(bytes, maxBytes) : plainJson(bytes, maxBytes);
    let found: FoundFields | undefined;
    try {
      found = readJsonFields(json, RELEASE_FIELDS);
    } catch (error) {
      if (error instanceof JsonSyntaxError) {
        throw new ReleaseDecodeError(
          'invalid-json',
          error.tooDeep ? `release data nests deeper than ${MAX_JSON_DEPTH.toLocaleString('en-US')} levels, which Helm cannot read` : 'release data is not valid JSON',
        );
      }
      throw error;
    }
    if (!found) throw invalid('is not a JSON object');
    return found;
  });
}

/** A record written before Helm compressed them: a JSON object, within the size cap. */
function plainJson(bytes: Buffer, maxBytes: number): Buffer {
  if (!looksLikeJsonObject(bytes)) throw new ReleaseDecodeError('not-gzip-or-json', 'release data is not gzip or JSON');
  if (bytes.length > maxBytes) throw new ReleaseDecodeError('too-large', `release data expands beyond ${formatBytes(maxBytes)}`);
  return bytes;
}

function invalid(what: string): ReleaseDecodeError {
  return new ReleaseDecodeError('invalid-release', `release record ${what}`);
}

/** The fields of a record volume-guard reads (see readJsonFields). */
const RELEASE_FIELDS: FieldSpec = {
  name: true,
  namespace: true,
  version: true,
  manifest: true,
  info: { status: true, first_deployed: true },
  chart: { metadata: { name: true, version: true } },
  hooks: RAW_JSON,
  apply_method: true,
};

/** A hook object's field as Go reads it: keys match ignoring case, the last one wins. */
function hookField(hook: Record<string, unknown>, name: string): unknown {
  let value: unknown;
  for (const [key, field] of Object.entries(hook)) if (key.toLowerCase() === name) value = field;
  return value;
}

function hookString(hook: Record<string, unknown>, name: string): string {
  const value = hookField(hook, name) ?? '';
  if (typeof value !== 'string') throw invalid(`has a hook whose ${name} is not a string`);
  return value;
}

function hookStrings(hook: Record<string, unknown>, name: string): string[] {
  const value = hookField(hook, name) ?? [];
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === 'string')) {
    throw invalid(`has a hook whose ${name} is not a list of strings`);
  }
  return value;
}

/** The record's `hooks` (JSON text checked by the field reader), as Helm's Go types read them; null is none. */
function hooksOf(text: FieldValue | undefined): HelmHook[] {
  if (typeof text !== 'string') return [];
  const value: unknown = JSON.parse(text);
  if (value === null) return [];
  if (!Array.isArray(value)) throw invalid('has hooks that are not a list');
  return value.flatMap((hook: unknown): HelmHook[] => {
    if (hook === null) return [];
    if (typeof hook !== 'object' || Array.isArray(hook)) throw invalid('has a hook that is not an object');
    const fields = hook as Record<string, unknown>;
    return [
      {
        name: hookString(fields, 'name'),
        kind: hookString(fields, 'kind'),
        manifest: hookString(fields, 'manifest'),
        events: hookStrings(fields, 'events'),
        deletePolicies: hookStrings(fields, 'delete_policies'),
      },
    ];
  });
}

function stringField(found: FoundFields, path: string): string {
  const value = found.get(path);
  return typeof value === 'string' ? value : '';
}

/** Narrows the fields read to a release; `fallbackNamespace` for records without one. */
function toHelmRelease(found: FoundFields, fallbackNamespace: string, labels: Labels): HelmRelease {
  const name = stringField(found, 'name');
  if (!name) throw invalid('has no name');
  const version = found.get('version');
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw invalid('has no valid version');
  }
  const status = stringField(found, 'info.status');
  if (!status) throw invalid('has no info.status');
  // Helm omits empty fields (omitempty): a missing manifest is an empty one, but a manifest of another type is not.
  const manifest = found.get('manifest') ?? '';
  if (typeof manifest !== 'string') throw invalid('has a manifest that is not a string');
  const namespace = found.get('namespace') ?? '';
  if (typeof namespace !== 'string') throw invalid('has a namespace that is not a string');
  const applyMethod = stringField(found, 'apply_method');
  const firstDeployed = stringField(found, 'info.first_deployed');
  return {
    name,
    namespace: namespace || fallbackNamespace,
    version,
    status,
    manifest,
    chartName: stringField(found, 'chart.metadata.name'),
    chartVersion: stringField(found, 'chart.metadata.version'),
    labels,
    hooks: hooksOf(found.get('hooks')),
    ...(applyMethod === '' ? {} : { applyMethod }),
    ...(firstDeployed === '' ? {} : { firstDeployed }),
  };
}

/**
 * Decodes Helm's own encoding of a release (the Secret's data after the Secret API's base64 is undone, or a
 * ConfigMap driver's `data.release`): base64, then gunzip (or legacy plain JSON), then JSON.
 */
export function decodeHelmReleaseData(
  helmEncoded: string,
  options: ReleaseDecodeOptions & { readonly labels?: Labels } = {},
): HelmRelease {
  const maxBytes = options.maxReleaseBytes ?? DEFAULT_MAX_RELEASE_BYTES;
  return toHelmRelease(releaseFields(helmEncoded, maxBytes), options.namespace ?? '', options.labels ?? {});
}

/** True for a Secret Helm's secret driver wrote (its type, or its `owner=helm` label on hand-made copies). */
export function isHelmReleaseSecret(object: unknown): boolean {
  if (!isObject(object)) return false;
  if (object.type === HELM_RELEASE_SECRET_TYPE) return true;
  const metadata = object.metadata;
  return isObject(metadata) && isObject(metadata.labels) && metadata.labels.owner === 'helm';
}

function secretMetadata(object: unknown): JsonObject {
  if (!isObject(object)) throw new ReleaseDecodeError('not-a-release-secret', 'object is not a Secret');
  if (object.kind !== undefined && object.kind !== 'Secret') {
    throw new ReleaseDecodeError('not-a-release-secret', 'object is not a Secret');
  }
  return isObject(object.metadata) ? object.metadata : {};
}

/** Where a release record is kept. */
export type ReleaseDriver = 'secret' | 'configmap';

/** The driver whose record this object is: a ConfigMap (kind ConfigMap) or else a Secret. */
export function releaseDriverOf(object: unknown): ReleaseDriver {
  return isObject(object) && object.kind === 'ConfigMap' ? 'configmap' : 'secret';
}

function storageMetadata(object: unknown): JsonObject {
  if (releaseDriverOf(object) === 'secret') return secretMetadata(object);
  return isObject(object) && isObject(object.metadata) ? object.metadata : {};
}

/** The labels Helm wrote on a release Secret or ConfigMap, without touching its payload (cheap: for UPDATE paths). */
export function readReleaseSecretLabels(object: unknown): ReleaseSecretLabels {
  const labels = stringMapOf(storageMetadata(object).labels);
  const version = labels.version !== undefined && /^[0-9]+$/.test(labels.version) ? Number(labels.version) : NaN;
  return { owner: labels.owner ?? '', name: labels.name ?? '', status: labels.status ?? '', version };
}

/** The Secret's user labels (`helm install --labels`), which Helm hands back as the release's labels. */
function userLabels(all: Labels): Labels {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(all)) {
    if (!HELM_SYSTEM_LABELS.includes(key)) result[key] = value;
  }
  return result;
}

/**
 * Decodes a release Secret as it arrives in an AdmissionReview (`request.object`): checks its type, undoes the
 * Secret API's base64 and Helm's encoding, validates the record, and checks that the labels Helm writes from the
 * record (name, status, version) agree with it, so a label cannot claim one thing while the payload says another.
 */
export function decodeReleaseSecret(object: unknown, options: ReleaseDecodeOptions = {}): DecodedReleaseSecret {
  const metadata = secretMetadata(object);
  const secret = object as JsonObject;
  if (secret.type !== HELM_RELEASE_SECRET_TYPE) {
    throw new ReleaseDecodeError('not-a-release-secret', `Secret type is not ${HELM_RELEASE_SECRET_TYPE}`);
  }
  const data = secret.data;
  const encoded = isObject(data) ? data.release : undefined;
  if (typeof encoded !== 'string' || encoded === '') {
    throw new ReleaseDecodeError('missing-data', 'release Secret has no data.release');
  }
  return decodeStored(object, metadata, withBase64Bytes(encoded, '', (bytes) => bytes.toString('latin1')), options);
}

/**
 * Decodes a release ConfigMap (HELM_DRIVER=configmap) as it arrives in an AdmissionReview: `owner=helm`, and
 * `data.release` holding Helm's encoding directly; the same record and label checks as a Secret.
 */
export function decodeReleaseConfigMap(object: unknown, options: ReleaseDecodeOptions = {}): DecodedReleaseSecret {
  if (!isObject(object) || object.kind !== 'ConfigMap') {
    throw new ReleaseDecodeError('not-a-release-secret', 'object is not a ConfigMap');
  }
  const metadata = isObject(object.metadata) ? object.metadata : {};
  if (stringMapOf(metadata.labels).owner !== 'helm') {
    throw new ReleaseDecodeError('not-a-release-secret', 'ConfigMap is not labelled owner=helm');
  }
  const data = object.data;
  const encoded = isObject(data) ? data.release : undefined;
  if (typeof encoded !== 'string' || encoded === '') {
    throw new ReleaseDecodeError('missing-data', 'release ConfigMap has no data.release');
  }
  return decodeStored(object, metadata, encoded, options);
}

/** A release record of either driver. */
export function decodeReleaseObject(object: unknown, options: ReleaseDecodeOptions = {}): DecodedReleaseSecret {
  return releaseDriverOf(object) === 'configmap' ? decodeReleaseConfigMap(object, options) : decodeReleaseSecret(object, options);
}

function decodeStored(object: unknown, metadata: JsonObject, helmEncoded: string, options: ReleaseDecodeOptions): DecodedReleaseSecret {
  const secretNamespace = stringAt(metadata, 'namespace') || options.namespace || '';
  const allLabels = stringMapOf(metadata.labels);
  const release = decodeHelmReleaseData(helmEncoded, {
    ...options,
    namespace: secretNamespace,
    labels: userLabels(allLabels),
  });
  const secretLabels = readReleaseSecretLabels(object);
  const mismatched = [
    secretLabels.name !== '' && secretLabels.name !== release.name ? 'name' : '',
    secretLabels.status !== '' && secretLabels.status !== release.status ? 'status' : '',
    allLabels.version !== undefined && secretLabels.version !== release.version ? 'version' : '',
  ].filter((label) => label !== '');
  if (mismatched.length > 0) {
    const what = releaseDriverOf(object) === 'configmap' ? 'ConfigMap' : 'Secret';
    throw new ReleaseDecodeError(
      'labels-mismatch',
      `release ${what} label${mismatched.length > 1 ? 's' : ''} ${mismatched.join(', ')} disagree${mismatched.length > 1 ? '' : 's'} with its data`,
    );
  }
  return { secretName: stringAt(metadata, 'name'), secretNamespace, secretLabels, release };
}

export type ReleaseOperation = 'install' | 'upgrade' | 'rollback';

/** The operation a pending revision belongs to; undefined for every other status. */
export function releaseOperation(status: string): ReleaseOperation | undefined {
  switch (status) {
    case 'pending-install':
      return 'install';
    case 'pending-upgrade':
      return 'upgrade';
    case 'pending-rollback':
      return 'rollback';
    default:
      return undefined;
  }
}

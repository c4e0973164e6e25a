// Reads the few fields volume-guard needs from a release record's JSON bytes, as Helm (Go's encoding/json) reads
// them, without building the rest. A record is mostly the chart's template sources and values, which no check reads:
// JSON.parse made all of it (a 100 KB manifest's record is 265 KB of JSON, a 1 MB one's 2.6 MB), and the text it
// parsed, which V8 places in fresh pages once past 128 KB. Here the whole record is checked as JSON, byte by byte,
// and only the wanted values become strings.
//
// As Go reads a record: keys match field names ignoring case (with ſ, K, ı and İ, which fold to ASCII letters), a
// repeated key's last value wins and a repeated object's fields merge, nesting past 10,000 levels is an error, and a
// \u escape of half a surrogate pair alone reads as U+FFFD. Strings are checked as JSON (no control characters,
// valid escapes); their UTF-8 is not, as Go's is not. The scanning itself is src/json-bytes.ts.
import { isAscii } from 'node:buffer';
import { JSON_BYTES, MAX_JSON_DEPTH, Scanner } from '../json-bytes.ts';

const { BACKSLASH, LOWER_F, LOWER_N, LOWER_T, LOWER_U, NINE, OPEN_ARRAY, OPEN_OBJECT, QUOTE, UNESCAPED, ZERO } = JSON_BYTES;

export { JsonSyntaxError, MAX_JSON_DEPTH } from '../json-bytes.ts';

/** A value the caller asked for that is an object or an array: not what a string or number field can hold. */
export const NOT_A_SCALAR: unique symbol = Symbol('not a scalar');

export type FieldValue = string | number | boolean | null | typeof NOT_A_SCALAR;

/** A leaf whose value is wanted as its JSON text, whatever it is (a list of objects: Helm's hooks). */
export const RAW_JSON = 'raw-json';

/**
 * The fields to read: a leaf is `true` (a scalar) or RAW_JSON; an object names the fields to read within it. Names
 * in lower case.
 */
export interface FieldSpec {
  readonly [name: string]: true | typeof RAW_JSON | FieldSpec;
}

/** What was found, by dotted path (`info.status`); a field never present is absent. */
export type FoundFields = Map<string, FieldValue>;

/** Go's case folding of a field name to ASCII lower case; '' when a character cannot fold to an ASCII one. */
function foldKey(key: string): string {
  let folded = '';
  for (const char of key) {
    const code = char.charCodeAt(0);
    if (code < 0x80) folded += code >= 0x41 && code <= 0x5a ? String.fromCharCode(code + 0x20) : char;
    else if (code === 0x017f) folded += 's'; // ſ
    else if (code === 0x212a) folded += 'k'; // Kelvin sign
    else if (code === 0x0130 || code === 0x0131) folded += 'i'; // İ ı
    else return '';
  }
  return folded;
}

function bufferOf(bytes: Uint8Array, start: number, end: number): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start);
}

/**
 * Text of UTF-8 bytes. ASCII is read as Latin-1: the same text, made faster, and past 1 MB kept outside V8's heap
 * by Node (an external string, in memory malloc reuses instead of fresh pages).
 */
function textOf(buffer: Buffer): string {
  return isAscii(buffer) ? buffer.toString('latin1') : buffer.toString('utf8');
}

const REPLACEMENT_CHARACTER = 0xfffd;

function hexValue(byte: number): number {
  return byte <= NINE ? byte - ZERO : (byte | 0x20) - 0x61 + 10;
}

function writeUtf8(out: Uint8Array, at: number, codePoint: number): number {
  if (codePoint < 0x80) {
    out[at] = codePoint;
    return at + 1;
  }
  if (codePoint < 0x800) {
    out[at] = 0xc0 | (codePoint >> 6);
    out[at + 1] = 0x80 | (codePoint & 0x3f);
    return at + 2;
  }
  if (codePoint < 0x10000) {
    out[at] = 0xe0 | (codePoint >> 12);
    out[at + 1] = 0x80 | ((codePoint >> 6) & 0x3f);
    out[at + 2] = 0x80 | (codePoint & 0x3f);
    return at + 3;
  }
  out[at] = 0xf0 | (codePoint >> 18);
  out[at + 1] = 0x80 | ((codePoint >> 12) & 0x3f);
  out[at + 2] = 0x80 | ((codePoint >> 6) & 0x3f);
  out[at + 3] = 0x80 | (codePoint & 0x3f);
  return at + 4;
}

/**
 * The text of the checked JSON string at bytes [start, end) (quotes included), escapes undone as Go does: a \u
 * escape of half a surrogate pair that has no other half becomes U+FFFD. Only this string is parsed, never the
 * record around it (whose text V8 would place in fresh pages past 128 KB).
 */
function stringOf(scanner: Scanner, start: number, end: number, escaped: boolean): string {
  if (!escaped) return textOf(bufferOf(scanner.bytes, start + 1, end - 1));
  if (end - start >= PARSE_ESCAPED_FROM_BYTES) {
    const parsed = parsedString(bufferOf(scanner.bytes, start, end));
    if (parsed !== undefined) return parsed;
  }
  const out = unescapeBuffer(end - start);
  return textOf(out.subarray(0, unescape(scanner.bytes, start + 1, end - 1, out)));
}

/**
 * Escaped strings from this size on (a manifest: an escape every few bytes) are unescaped by JSON.parse, twice as
 * fast as the byte loop (a 100 KB manifest: 0.19 against 0.36 ms; 1 MB: 2.9 against 4-5 ms; measured 2026-12-03).
 */
export const PARSE_ESCAPED_FROM_BYTES = 16 * 1024;

/**
 * The checked JSON string `token` (quotes included) as JSON.parse reads it, with Go's reading of a half surrogate
 * pair alone: U+FFFD. Only escapes can make one (UTF-8 decoding never does), and JSON.parse pairs two escaped halves
 * as Go does, so the string differs from Go's only in its lone halves, which toWellFormed replaces. Undefined if
 * JSON.parse refuses what the scanner accepted (it should not): the byte loop reads it then.
 */
function parsedString(token: Buffer): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(textOf(token));
  } catch {
    return undefined;
  }
  if (typeof value !== 'string') return undefined;
  return value.isWellFormed() ? value : value.toWellFormed();
}

/**
 * Writes the unescaped bytes [from, to) into `out`; returns their length. One loop over typed arrays, apart from
 * its callers, so that V8 optimizes it once (inside stringOf it was deoptimized by every key read in between).
 */
function unescape(bytes: Uint8Array, from: number, to: number, out: Uint8Array): number {
  let length = 0;
  let at = from;
  while (at < to) {
    const byte = bytes[at]!;
    if (byte !== BACKSLASH) {
      out[length++] = byte;
      at++;
    } else if (bytes[at + 1] !== LOWER_U) {
      out[length++] = UNESCAPED[bytes[at + 1]!]!;
      at += 2;
    } else {
      const read = unicodeEscapeAt(bytes, at);
      length = writeUtf8(out, length, read & 0x1fffff);
      at += read >= 0x200000 ? 12 : 6;
    }
  }
  return length;
}

/**
 * The code point of the \\u escape at `at` (with the low half that follows a high one), U+FFFD for half a pair
 * alone; plus 0x200000 when it took two escapes.
 */
function unicodeEscapeAt(bytes: Uint8Array, at: number): number {
  const unit = unicodeEscape(bytes, at);
  if (unit >= 0xd800 && unit <= 0xdbff) {
    const low = bytes[at + 6] === BACKSLASH && bytes[at + 7] === LOWER_U ? unicodeEscape(bytes, at + 6) : -1;
    if (low >= 0xdc00 && low <= 0xdfff) return 0x200000 + 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
    return REPLACEMENT_CHARACTER;
  }
  return unit >= 0xdc00 && unit <= 0xdfff ? REPLACEMENT_CHARACTER : unit;
}

/** Unescaped text goes into one buffer per thread, reused: a fresh 1 MB one faults in each of its pages (2-3 ms here). */
const REUSED_UNESCAPE_BYTES = 4 * 1024 * 1024;
let unescapeScratch: Buffer | undefined;

function unescapeBuffer(bytes: number): Buffer {
  if (bytes > REUSED_UNESCAPE_BYTES) return Buffer.allocUnsafeSlow(bytes);
  if (!unescapeScratch || unescapeScratch.length < bytes) {
    unescapeScratch = Buffer.allocUnsafeSlow(Math.min(REUSED_UNESCAPE_BYTES, Math.max(bytes, 64 * 1024) * 2));
  }
  return unescapeScratch;
}

function unicodeEscape(bytes: Uint8Array, at: number): number {
  return (hexValue(bytes[at + 2]!) << 12) | (hexValue(bytes[at + 3]!) << 8) | (hexValue(bytes[at + 4]!) << 4) | hexValue(bytes[at + 5]!);
}

/** The value of the checked scalar at bytes [start, end). */
function scalarOf(scanner: Scanner, start: number, end: number, escaped: boolean): string | number | boolean | null {
  const bytes = scanner.bytes;
  const first = bytes[start];
  if (first === QUOTE) return stringOf(scanner, start, end, escaped);
  if (first === LOWER_T) return true;
  if (first === LOWER_F) return false;
  if (first === LOWER_N) return null;
  return Number(bufferOf(bytes, start, end).toString('latin1'));
}

function readObject(scanner: Scanner, spec: FieldSpec, prefix: string, depth: number, found: FoundFields): void {
  scanner.readMembers((keyStart, keyEnd, keyEscaped) => {
    const key = foldKey(stringOf(scanner, keyStart, keyEnd, keyEscaped));
    const wanted = Object.hasOwn(spec, key) ? spec[key] : undefined;
    const first = scanner.peek();
    if (wanted === undefined) {
      scanner.skipValue(depth);
    } else if (wanted === RAW_JSON) {
      // Checked as JSON while skipped; a repeated key's last value wins, as Go's does for a list.
      const start = scanner.at;
      scanner.skipValue(depth);
      found.set(`${prefix}${key}`, textOf(bufferOf(scanner.bytes, start, scanner.at)));
    } else if (wanted === true) {
      const start = scanner.at;
      if (first === OPEN_OBJECT || first === OPEN_ARRAY) {
        scanner.skipValue(depth);
        found.set(`${prefix}${key}`, NOT_A_SCALAR);
      } else {
        const escaped = scanner.skipScalar(first);
        found.set(`${prefix}${key}`, scalarOf(scanner, start, scanner.at, escaped));
      }
    } else if (first === OPEN_OBJECT) {
      if (depth + 1 > MAX_JSON_DEPTH) scanner.failTooDeep();
      readObject(scanner, wanted, `${prefix}${key}.`, depth + 1, found);
    } else {
      // An object field holding something else: null leaves it as it was (Go); anything else Go refuses, which the
      // caller sees as its fields missing.
      scanner.skipValue(depth);
      if (first !== LOWER_N) {
        for (const path of [...found.keys()]) if (path.startsWith(`${prefix}${key}.`)) found.delete(path);
      }
    }
  });
}

/**
 * Checks that `bytes` is one JSON object and reads the fields `spec` names from it (see the file's comment).
 * Throws JsonSyntaxError when the bytes are not JSON, and returns undefined when they are JSON but not an object.
 */
export function readJsonFields(bytes: Uint8Array, spec: FieldSpec): FoundFields | undefined {
  const scanner = new Scanner(bytes);
  const found: FoundFields = new Map();
  const first = scanner.peek();
  let isObject = false;
  if (first === OPEN_OBJECT) {
    readObject(scanner, spec, '', 1, found);
    isObject = true;
  } else {
    scanner.skipValue(0);
  }
  if (scanner.peek() !== -1) scanner.fail('unexpected data after the value');
  return isObject ? found : undefined;
}

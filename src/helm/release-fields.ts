// Reads the few fields volume-guard needs from a release record's JSON bytes, as Helm (Go's encoding/json) reads
// them, without building the rest. A record is mostly the chart's template sources and values, which no check reads:
// JSON.parse made all of it (a 100 KB manifest's record is 265 KB of JSON, a 1 MB one's 2.6 MB), and the text it
// parsed, which V8 places in fresh pages once past 128 KB. Here the whole record is checked as JSON, byte by byte,
// and only the wanted values become strings.
//
// As Go reads a record: keys match field names ignoring case (with ſ, K, ı and İ, which fold to ASCII letters), a
// repeated key's last value wins and a repeated object's fields merge, nesting past 10,000 levels is an error, and a
// \u escape of half a surrogate pair alone reads as U+FFFD. Strings are checked as JSON (no control characters,
// valid escapes); their UTF-8 is not, as Go's is not.
import { isAscii } from 'node:buffer';

/** Go's encoding/json refuses nesting deeper than this ("exceeded max depth"); Helm cannot read such a record. */
export const MAX_JSON_DEPTH = 10_000;

/** A value the caller asked for that is an object or an array: not what a string or number field can hold. */
export const NOT_A_SCALAR: unique symbol = Symbol('not a scalar');

export type FieldValue = string | number | boolean | null | typeof NOT_A_SCALAR;

/** The fields to read: a leaf is `true`; an object names the fields to read within it. Names in lower case. */
export interface FieldSpec {
  readonly [name: string]: true | FieldSpec;
}

/** What was found, by dotted path (`info.status`); a field never present is absent. */
export type FoundFields = Map<string, FieldValue>;

export class JsonSyntaxError extends Error {
  /** The text nests deeper than MAX_JSON_DEPTH: JSON, but not what Go reads. */
  readonly tooDeep: boolean;

  constructor(reason: string, tooDeep = false) {
    super(reason);
    this.name = 'JsonSyntaxError';
    this.tooDeep = tooDeep;
  }
}

const TAB = 0x09;
const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const PLUS = 0x2b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const UPPER_E = 0x45;
const OPEN_ARRAY = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE_ARRAY = 0x5d;
const LOWER_E = 0x65;
const LOWER_U = 0x75;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * The byte each escape other than \u stands for, by the character after the backslash; 0 for a character that
 * may not follow one (every escape stands for a non-zero byte).
 */
const UNESCAPED = new Uint8Array(256);
for (const [char, byte] of [['"', 0x22], ['\\', 0x5c], ['/', 0x2f], ['b', 0x08], ['f', 0x0c], ['n', 0x0a], ['r', 0x0d], ['t', 0x09]] as const) {
  UNESCAPED[char.charCodeAt(0)] = byte;
}

function isHexDigit(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);
}

/**
 * Whether none of a word's four bytes ends a string, starts an escape or is a control character: bytewise tests
 * for a zero byte (quote or backslash XORed away) and for a byte below 0x20, on all four bytes at once.
 */
function isPlainWord(word: number): boolean {
  const quote = word ^ 0x22222222;
  const backslash = word ^ 0x5c5c5c5c;
  const hasQuote = ((quote - 0x01010101) | 0) & ~quote;
  const hasBackslash = ((backslash - 0x01010101) | 0) & ~backslash;
  const hasControl = ((word - 0x20202020) | 0) & ~word;
  return ((hasQuote | hasBackslash | hasControl) & 0x80808080) === 0;
}

/** A scan over one JSON text; `at` is the next byte to read. */
class Scanner {
  readonly bytes: Uint8Array;
  /** The same bytes as 32-bit words from the 4-byte boundary at or before them: strings are skipped a word at a time. */
  readonly words: Int32Array;
  /** Byte `i` is byte `i + shift` of `words`. */
  readonly shift: number;
  at = 0;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.shift = bytes.byteOffset & 3;
    this.words = new Int32Array(bytes.buffer, bytes.byteOffset - this.shift, (bytes.length + this.shift) >> 2);
  }

  fail(what: string): never {
    throw new JsonSyntaxError(`${what} at byte ${this.at}`);
  }

  failTooDeep(): never {
    throw new JsonSyntaxError(`nesting deeper than ${MAX_JSON_DEPTH} at byte ${this.at}`, true);
  }

  skipWhitespace(): void {
    const bytes = this.bytes;
    let at = this.at;
    for (;;) {
      const byte = bytes[at];
      if (byte !== SPACE && byte !== LINE_FEED && byte !== CARRIAGE_RETURN && byte !== TAB) break;
      at++;
    }
    this.at = at;
  }

  /** The next byte after whitespace, not consumed; -1 at the end. */
  peek(): number {
    this.skipWhitespace();
    return this.at < this.bytes.length ? this.bytes[this.at]! : -1;
  }

  expect(byte: number, what: string): void {
    if (this.peek() !== byte) this.fail(`expected ${what}`);
    this.at++;
  }

  /** Skips the string starting at the quote under `at`; returns whether it held an escape. */
  skipString(): boolean {
    const bytes = this.bytes;
    const length = bytes.length;
    const words = this.words;
    const shift = this.shift;
    let at = this.at + 1;
    let escaped = false;
    for (;;) {
      if (((at + shift) & 3) === 0) {
        let word = (at + shift) >> 2;
        while (word < words.length && isPlainWord(words[word]!)) word++;
        at = (word << 2) - shift;
      }
      if (at >= length) {
        this.at = at;
        this.fail('unterminated string');
      }
      const byte = bytes[at]!;
      if (byte === QUOTE) break;
      if (byte === BACKSLASH) {
        escaped = true;
        const next = bytes[at + 1] ?? -1;
        if (next === LOWER_U) {
          for (let i = 2; i < 6; i++) {
            if (!isHexDigit(bytes[at + i] ?? -1)) {
              this.at = at;
              this.fail('invalid \\u escape');
            }
          }
          at += 6;
          continue;
        }
        if (next < 0 || UNESCAPED[next] === 0) {
          this.at = at;
          this.fail('invalid escape');
        }
        at += 2;
        continue;
      }
      if (byte < SPACE) {
        this.at = at;
        this.fail('control character in string');
      }
      at++;
    }
    this.at = at + 1;
    return escaped;
  }

  skipDigits(): number {
    const bytes = this.bytes;
    const start = this.at;
    while (this.at < bytes.length && bytes[this.at]! >= ZERO && bytes[this.at]! <= NINE) this.at++;
    return this.at - start;
  }

  skipNumber(): void {
    const bytes = this.bytes;
    if (bytes[this.at] === MINUS) this.at++;
    if (bytes[this.at] === ZERO) this.at++;
    else if (this.skipDigits() === 0) this.fail('invalid number');
    if (bytes[this.at] === DOT) {
      this.at++;
      if (this.skipDigits() === 0) this.fail('invalid number');
    }
    if (bytes[this.at] === LOWER_E || bytes[this.at] === UPPER_E) {
      this.at++;
      if (bytes[this.at] === PLUS || bytes[this.at] === MINUS) this.at++;
      if (this.skipDigits() === 0) this.fail('invalid number');
    }
  }

  skipLiteral(literal: string): void {
    for (let i = 0; i < literal.length; i++) {
      if (this.bytes[this.at + i] !== literal.charCodeAt(i)) this.fail('invalid literal');
    }
    this.at += literal.length;
  }

  /** Skips one scalar (string, number, literal) at `at`, which holds its first byte; true for a string with escapes. */
  skipScalar(first: number): boolean {
    if (first === QUOTE) return this.skipString();
    else if (first === MINUS || (first >= ZERO && first <= NINE)) this.skipNumber();
    else if (first === 0x74) this.skipLiteral('true');
    else if (first === 0x66) this.skipLiteral('false');
    else if (first === 0x6e) this.skipLiteral('null');
    else this.fail(first < 0 ? 'unexpected end' : 'unexpected character');
    return false;
  }

  /**
   * Skips one value of any kind, checking it, without recursion: `depth` is how deep its first byte already is.
   * Open containers are kept as bits of one number array (1 = object), so 10,000 levels cost 10,000 entries at most.
   */
  skipValue(depth: number): void {
    const open: number[] = [];
    let first = this.peek();
    for (;;) {
      // A value starts at `first`.
      if (first === OPEN_OBJECT || first === OPEN_ARRAY) {
        if (depth + open.length + 1 > MAX_JSON_DEPTH) this.failTooDeep();
        const isObject = first === OPEN_OBJECT;
        this.at++;
        const next = this.peek();
        if (next === (isObject ? CLOSE_OBJECT : CLOSE_ARRAY)) {
          this.at++;
        } else {
          open.push(isObject ? 1 : 0);
          if (isObject) this.skipKeyAndColon();
          first = this.peek();
          continue;
        }
      } else {
        this.skipScalar(first);
      }
      // After a value: a comma and the next member, or the end of one or more containers.
      for (;;) {
        if (open.length === 0) return;
        const inObject = open[open.length - 1] === 1;
        const next = this.peek();
        if (next === COMMA) {
          this.at++;
          if (inObject) this.skipKeyAndColon();
          break;
        }
        if (next !== (inObject ? CLOSE_OBJECT : CLOSE_ARRAY)) this.fail(inObject ? "expected ',' or '}'" : "expected ',' or ']'");
        this.at++;
        open.pop();
      }
      first = this.peek();
    }
  }

  skipKeyAndColon(): void {
    if (this.peek() !== QUOTE) this.fail('expected a key');
    this.skipString();
    this.expect(COLON, "':'");
  }
}

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
 * The text of the checked JSON string at bytes [start, end) (quotes included). Escapes are undone into bytes, as
 * Go does: a \u escape of half a surrogate pair that has no other half becomes U+FFFD. Done here rather than by
 * JSON.parse, whose result for a 1 MB manifest sits in fresh pages of V8's heap (~2 ms of page faults here).
 */
function stringOf(scanner: Scanner, start: number, end: number, escaped: boolean): string {
  if (!escaped) return textOf(bufferOf(scanner.bytes, start + 1, end - 1));
  const out = unescapeBuffer(end - start);
  return textOf(out.subarray(0, unescape(scanner.bytes, start + 1, end - 1, out)));
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
  if (first === 0x74) return true;
  if (first === 0x66) return false;
  if (first === 0x6e) return null;
  return Number(bufferOf(bytes, start, end).toString('latin1'));
}

function readObject(scanner: Scanner, spec: FieldSpec, prefix: string, depth: number, found: FoundFields): void {
  // `at` is on the `{`.
  scanner.at++;
  if (scanner.peek() === CLOSE_OBJECT) {
    scanner.at++;
    return;
  }
  for (;;) {
    if (scanner.peek() !== QUOTE) scanner.fail('expected a key');
    const keyStart = scanner.at;
    const keyEscaped = scanner.skipString();
    const key = foldKey(stringOf(scanner, keyStart, scanner.at, keyEscaped));
    scanner.expect(COLON, "':'");
    const wanted = Object.hasOwn(spec, key) ? spec[key] : undefined;
    const first = scanner.peek();
    if (wanted === undefined) {
      scanner.skipValue(depth);
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
      if (first !== 0x6e) {
        for (const path of [...found.keys()]) if (path.startsWith(`${prefix}${key}.`)) found.delete(path);
      }
    }
    const next = scanner.peek();
    scanner.at++;
    if (next === CLOSE_OBJECT) return;
    if (next !== COMMA) {
      scanner.at--;
      scanner.fail("expected ',' or '}'");
    }
  }
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

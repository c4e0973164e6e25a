// A strict JSON scanner over UTF-8 bytes: checks every byte as JSON.parse would (refused exactly when it refuses the
// same bytes; test/unit/helm/release-fields.test.ts, test/unit/json-bytes.test.ts) while building no values, so that
// a caller can read a few fields of a large text, or set a large value aside, without the rest becoming strings and
// objects. Nesting is read to MAX_JSON_DEPTH levels. A leaf module: imports nothing of the project.

/** The deepest nesting the scanner reads: Go's encoding/json refuses deeper ("exceeded max depth"), so Helm cannot. */
export const MAX_JSON_DEPTH = 10_000;

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
const LOWER_F = 0x66;
const LOWER_N = 0x6e;
const LOWER_T = 0x74;

/**
 * The byte each escape other than \u stands for, by the character after the backslash; 0 for a character that
 * may not follow one (every escape stands for a non-zero byte).
 */
const UNESCAPED = new Uint8Array(256);
for (const [char, byte] of [['"', 0x22], ['\\', 0x5c], ['/', 0x2f], ['b', 0x08], ['f', 0x0c], ['n', 0x0a], ['r', 0x0d], ['t', 0x09]] as const) {
  UNESCAPED[char.charCodeAt(0)] = byte;
}

/**
 * The bytes and the escape table other readers of JSON bytes need (src/helm/release-fields.ts). Exported as one
 * object, not as bindings: V8 reads an exported binding through its module cell, also from within this module,
 * which cost the string loops here 8 % (measured); a reader copies what it needs into constants of its own.
 */
export const JSON_BYTES = Object.freeze({ BACKSLASH, LOWER_F, LOWER_N, LOWER_T, LOWER_U, NINE, OPEN_ARRAY, OPEN_OBJECT, QUOTE, ZERO, UNESCAPED });

export function isHexDigit(byte: number): boolean {
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
export class Scanner {
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
    else if (first === LOWER_T) this.skipLiteral('true');
    else if (first === LOWER_F) this.skipLiteral('false');
    else if (first === LOWER_N) this.skipLiteral('null');
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

  /**
   * Reads the object whose `{` is under `at`, checking its structure: for each member, `member` gets its key token
   * at bytes [keyStart, keyEnd) with `at` on the value's first byte, and must read the value whole.
   */
  readMembers(member: (keyStart: number, keyEnd: number, keyEscaped: boolean) => void): void {
    this.at++;
    if (this.peek() === CLOSE_OBJECT) {
      this.at++;
      return;
    }
    for (;;) {
      if (this.peek() !== QUOTE) this.fail('expected a key');
      const keyStart = this.at;
      const keyEscaped = this.skipString();
      const keyEnd = this.at;
      this.expect(COLON, "':'");
      member(keyStart, keyEnd, keyEscaped);
      const next = this.peek();
      if (next === CLOSE_OBJECT) {
        this.at++;
        return;
      }
      if (next !== COMMA) this.fail("expected ',' or '}'");
      this.at++;
    }
  }

  skipKeyAndColon(): void {
    if (this.peek() !== QUOTE) this.fail('expected a key');
    this.skipString();
    this.expect(COLON, "':'");
  }
}

/** Key paths from the top-level object to string values, e.g. `['request', 'object', 'data', 'release']`. ASCII keys. */
export type StringPaths = readonly (readonly string[])[];

/** What a set-aside string reads as where it was: this prefix and its index in `ElidedText.tokens`. */
export const ELIDED_PREFIX = 'volume-guard:elided:';

export interface ElidedText {
  /** The JSON text with each set-aside string replaced by `"<ELIDED_PREFIX><index>"`. */
  readonly text: Buffer;
  /**
   * Each set-aside string as its JSON token (quotes and escapes included): views into `bytes` with `inPlace`, else
   * copies in buffers of their own.
   */
  readonly tokens: readonly Uint8Array<ArrayBuffer>[];
}

/**
 * Sets aside the string values at `paths` in the JSON object `bytes`, every occurrence (a repeated key's too),
 * each replaced by a placeholder string. JSON.parse of `text` then builds every other value exactly as from
 * `bytes`, and a placeholder where a set-aside string would have been (`elidedToken`, `stringOfToken`): a large
 * value (a Helm release record in a Secret) never becomes a string in this thread. Keys match as JSON.parse reads
 * them (exactly, escapes undone). Undefined when there is nothing to set aside, or when the scanner does not read
 * the bytes (not JSON, nested past MAX_JSON_DEPTH, not an object): parse them whole, as before.
 */
export function elideStrings(bytes: Uint8Array<ArrayBuffer>, paths: StringPaths, inPlace = false): ElidedText | undefined {
  const scanner = new Scanner(bytes);
  const spans: number[] = [];
  try {
    if (scanner.peek() !== OPEN_OBJECT) return undefined;
    walkObject(scanner, paths, 1, spans);
    if (scanner.peek() !== -1) return undefined;
  } catch (error) {
    if (error instanceof JsonSyntaxError) return undefined;
    throw error;
  }
  if (spans.length === 0) return undefined;
  const parts: Uint8Array[] = [];
  const tokens: Uint8Array<ArrayBuffer>[] = [];
  let from = 0;
  for (let index = 0; index < spans.length; index += 2) {
    const start = spans[index]!;
    const end = spans[index + 1]!;
    parts.push(bytes.subarray(from, start), Buffer.from(`"${ELIDED_PREFIX}${index / 2}"`, 'latin1'));
    tokens.push(inPlace ? bytes.subarray(start, end) : new Uint8Array(bytes.subarray(start, end)));
    from = end;
  }
  parts.push(bytes.subarray(from));
  return { text: Buffer.concat(parts), tokens };
}

/** Within an object at `depth` whose `{` is under `at`: records the spans of the strings `paths` (relative) name. */
function walkObject(scanner: Scanner, paths: StringPaths, depth: number, spans: number[]): void {
  scanner.readMembers((keyStart, keyEnd, keyEscaped) => {
    let leaf = false;
    let deeper: (readonly string[])[] | undefined;
    for (const path of paths) {
      if (!keyIs(scanner.bytes, keyStart, keyEnd, keyEscaped, path[0]!)) continue;
      if (path.length === 1) leaf = true;
      else (deeper ??= []).push(path.slice(1));
    }
    const first = scanner.peek();
    if (leaf && first === QUOTE) {
      const start = scanner.at;
      scanner.skipString();
      spans.push(start, scanner.at);
    } else if (deeper !== undefined && first === OPEN_OBJECT) {
      if (depth + 1 > MAX_JSON_DEPTH) scanner.failTooDeep();
      walkObject(scanner, deeper, depth + 1, spans);
    } else {
      scanner.skipValue(depth);
    }
  });
}

/** Whether the checked key token at [start, end) reads as `name` (ASCII). */
function keyIs(bytes: Uint8Array, start: number, end: number, escaped: boolean, name: string): boolean {
  if (escaped) return stringOfToken(bytes.subarray(start, end)) === name;
  if (end - start - 2 !== name.length) return false;
  for (let index = 0; index < name.length; index++) if (bytes[start + 1 + index] !== name.charCodeAt(index)) return false;
  return true;
}

/** Whether `view` spans the whole of its buffer, an ArrayBuffer: handing that buffer on gives away nothing else. */
export function spansItsBuffer(view: Uint8Array): boolean {
  return view.byteOffset === 0 && view.buffer instanceof ArrayBuffer && view.buffer.byteLength === view.length;
}

/** The string a checked JSON string token reads as, as JSON.parse reads it within its text. */
export function stringOfToken(token: Uint8Array): string {
  return JSON.parse(Buffer.from(token.buffer, token.byteOffset, token.length).toString('utf8')) as string;
}

/** The token a placeholder `value` stands for (elideStrings); undefined for any other value. */
export function elidedToken(value: unknown, tokens: readonly Uint8Array<ArrayBuffer>[] | undefined): Uint8Array<ArrayBuffer> | undefined {
  if (tokens === undefined || typeof value !== 'string' || !value.startsWith(ELIDED_PREFIX)) return undefined;
  const index = value.slice(ELIDED_PREFIX.length);
  return /^(?:0|[1-9][0-9]*)$/.test(index) ? tokens[Number(index)] : undefined;
}

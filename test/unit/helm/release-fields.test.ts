import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonSyntaxError, MAX_JSON_DEPTH, NOT_A_SCALAR, PARSE_ESCAPED_FROM_BYTES, readJsonFields, type FieldSpec, type FoundFields } from '../../../src/helm/release-fields.ts';

const SPEC: FieldSpec = { name: true, version: true, manifest: true, info: { status: true }, chart: { metadata: { name: true } } };

function read(text: string, spec: FieldSpec = SPEC): FoundFields | undefined {
  return readJsonFields(Buffer.from(text), spec);
}

function fields(text: string, spec: FieldSpec = SPEC): Record<string, unknown> {
  const found = read(text, spec);
  if (!found) throw new Error('not an object');
  return Object.fromEntries(found);
}

/** What JSON.parse makes of the same bytes: a value, or 'invalid'. */
function parsed(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return 'invalid';
  }
}

/** The fields of SPEC as read from JSON.parse's result, for records whose keys are distinct and lower case. */
function referenceFields(value: unknown, spec: FieldSpec, prefix = ''): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return result;
  for (const [name, wanted] of Object.entries(spec)) {
    if (!Object.hasOwn(value, name)) continue;
    const child = (value as Record<string, unknown>)[name];
    if (wanted === true) {
      result[`${prefix}${name}`] = typeof child === 'object' && child !== null ? NOT_A_SCALAR : child;
    } else if (typeof wanted === 'object') {
      Object.assign(result, referenceFields(child, wanted, `${prefix}${name}.`));
    }
  }
  return result;
}

/** A string written with some characters as \u escapes of their UTF-16 units (how Go writes <, > and &). */
const escapedString: fc.Arbitrary<{ readonly value: string; readonly json: string }> = fc
  .array(fc.tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), fc.boolean()), { maxLength: 40 })
  .map((chars) => ({
    value: chars.map(([char]) => char).join(''),
    json: `"${chars
      .map(([char, escape]) =>
        escape ? [...Array(char.length).keys()].map((i) => `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`).join('') : JSON.stringify(char).slice(1, -1),
      )
      .join('')}"`,
  }));

describe('readJsonFields', () => {
  it('reads the named fields and nothing else', () => {
    const text = JSON.stringify({
      name: 'devlake',
      version: 3,
      info: { status: 'pending-install', description: 'x' },
      chart: { metadata: { name: 'app', version: '1.0' }, templates: [{ name: 't', data: 'QUJD' }] },
      config: { a: [1, 2, { b: null }] },
      manifest: 'kind: StatefulSet\n',
    });
    expect(fields(text)).toEqual({ name: 'devlake', version: 3, 'info.status': 'pending-install', 'chart.metadata.name': 'app', manifest: 'kind: StatefulSet\n' });
  });

  it('matches field names as Go does: ignoring ASCII case, with ſ, K (Kelvin) and ı/İ folding to s, k and i', () => {
    expect(fields('{"NAME":"a","Manifest":"m","INFO":{"ſtatus":"deployed"},"cHaRt":{"metadata":{"Name":"c"}},"versıon":2}')).toEqual({
      name: 'a',
      manifest: 'm',
      'info.status': 'deployed',
      'chart.metadata.name': 'c',
      version: 2,
    });
    // Escaped key characters are read as the characters they stand for.
    expect(fields('{"n\\u0061me":"a"}')).toEqual({ name: 'a' });
    // Characters that fold to no ASCII letter match nothing.
    expect(fields('{"nämé":"a","ﬆatus":"x"}')).toEqual({});
    expect(fields('{"k":"x"}', { k: true })).toEqual({ k: 'x' });
    expect(fields('{"\u212a":"x"}', { k: true })).toEqual({ k: 'x' });
  });

  it('takes the last of repeated keys, and merges repeated objects field by field as Go does', () => {
    expect(fields('{"name":"a","name":"b"}')).toEqual({ name: 'b' });
    expect(fields('{"info":{"status":"deployed"},"info":{"description":"x"}}')).toEqual({ 'info.status': 'deployed' });
    expect(fields('{"info":{"status":"deployed"},"info":{"status":"failed"}}')).toEqual({ 'info.status': 'failed' });
    // null leaves an object field as it was; any other value is not an object, which Go refuses: its fields are gone.
    expect(fields('{"info":{"status":"deployed"},"info":null}')).toEqual({ 'info.status': 'deployed' });
    expect(fields('{"info":{"status":"deployed"},"info":"x"}')).toEqual({});
    expect(fields('{"chart":{"metadata":{"name":"c"}},"chart":[1]}')).toEqual({});
  });

  it('reports a field holding an object or array as NOT_A_SCALAR, and null as null', () => {
    expect(fields('{"name":{"a":1},"manifest":[1,2],"version":null}')).toEqual({ name: NOT_A_SCALAR, manifest: NOT_A_SCALAR, version: null });
  });

  it('returns undefined for JSON that is not an object', () => {
    for (const text of ['[]', '"a"', '1', 'null', ' true ']) expect(read(text)).toBeUndefined();
  });

  it.each([
    ['', 'unexpected end'],
    ['{', 'expected a key'],
    ['{"name":"a"', "expected ',' or '}'"],
    ['{"name":"a",}', 'expected a key'],
    ['{"name" "a"}', "expected ':'"],
    ['{"name":"a"} x', 'unexpected data after the value'],
    ['{"a":[1,]}', 'unexpected character'],
    ['{"a":[1 2]}', "expected ',' or ']'"],
    ['{"a":01}', "expected ',' or '}'"],
    ['{"a":1.}', 'invalid number'],
    ['{"a":-}', 'invalid number'],
    ['{"a":1e}', 'invalid number'],
    ['{"a":tru}', 'invalid literal'],
    ['{"a":"\\x"}', 'invalid escape'],
    ['{"a":"\\u12g4"}', 'invalid \\u escape'],
    ['{"a":"tab\there"}', 'control character in string'],
    ['{"a":"open}', 'unterminated string'],
    ["{'a':1}", 'expected a key'],
  ])('refuses %j: %s', (text, reason) => {
    expect(() => read(text)).toThrow(JsonSyntaxError);
    expect(() => read(text)).toThrow(reason);
  });

  it(`refuses nesting deeper than ${MAX_JSON_DEPTH} levels, counted as Go counts them, in skipped and read values alike`, () => {
    const arrays = (depth: number) => `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    expect(read(arrays(MAX_JSON_DEPTH - 1))).toEqual(new Map());
    expect(() => read(arrays(MAX_JSON_DEPTH))).toThrow(expect.objectContaining({ tooDeep: true }));
    const objects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    expect(read(objects(MAX_JSON_DEPTH))).toEqual(new Map());
    expect(() => read(objects(MAX_JSON_DEPTH + 1))).toThrow(expect.objectContaining({ tooDeep: true }));
    const spec: FieldSpec = { a: { a: { a: true } } };
    expect(() => read(objects(MAX_JSON_DEPTH + 1), spec)).toThrow(expect.objectContaining({ tooDeep: true }));
  });

  it('skips values of every shape: nested containers, escapes, numbers, literals and whitespace', () => {
    const text = ' {\n\t"x" : [ {"y":[[],{}]}, -0.5e+3, 1E2, 0, true, false, null, "a\\"b\\\\", "\\u00e9" ] ,\r"name":"n" } ';
    expect(fields(text)).toEqual({ name: 'n' });
  });

  it('undoes escapes as Go does, a half surrogate pair alone reading as U+FFFD', () => {
    expect(fields(String.raw`{"name":"a\"b\\c\/d\b\f\n\r\t\u00e9\u20ac\ud83d\ude00"}`)).toEqual({ name: 'a"b\\c/d\b\f\n\r\té€😀' });
    expect(fields(String.raw`{"name":"x\ud83dy"}`)).toEqual({ name: 'x\ufffdy' });
    expect(fields(String.raw`{"name":"x\ude00y"}`)).toEqual({ name: 'x\ufffdy' });
    expect(fields(String.raw`{"name":"\ud83d\u0041"}`)).toEqual({ name: '\ufffdA' });
    // Raw UTF-8 is read as it is; invalid UTF-8 reads as U+FFFD (as Go replaces it).
    expect(Object.fromEntries(readJsonFields(Buffer.from('{"name":"grüße"}'), SPEC)!)).toEqual({ name: 'grüße' });
    expect(Object.fromEntries(readJsonFields(Buffer.concat([Buffer.from('{"name":"a'), Buffer.from([0xff]), Buffer.from('b"}')]), SPEC)!)).toEqual({ name: 'a\ufffdb' });
  });

  it('reads bytes that start at any offset of their buffer (words are read from the buffer itself)', () => {
    const text = JSON.stringify({ config: 'p'.repeat(37), name: 'n'.repeat(41), manifest: 'line\n'.repeat(50) });
    for (let offset = 0; offset < 8; offset++) {
      const buffer = Buffer.alloc(text.length + offset + 3, 0x22);
      buffer.write(text, offset);
      const found = readJsonFields(buffer.subarray(offset, offset + text.length), SPEC);
      expect(Object.fromEntries(found!)).toEqual({ name: 'n'.repeat(41), manifest: 'line\n'.repeat(50) });
    }
  });

  it('reads a long manifest after a long run of skipped base64, both byte for byte', () => {
    const manifest = `${'apiVersion: v1\nkind: ConfigMap\ndata: {"k": "<a & b>"}\n'.repeat(30_000)}end`;
    const text = JSON.stringify({ chart: { templates: [{ data: Buffer.alloc(500_000, 7).toString('base64') }] }, manifest, name: 'n' });
    expect(fields(text)).toEqual({ name: 'n', manifest });
  });

  it('is refused exactly when JSON.parse refuses the same bytes (any text)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.json({ maxDepth: 4 }).chain((json) => mutated(json))), (text) => {
        const bytes = Buffer.from(text);
        const reference = parsed(bytes);
        let outcome: 'invalid' | 'object' | 'other';
        try {
          outcome = readJsonFields(bytes, SPEC) ? 'object' : 'other';
        } catch (error) {
          expect(error).toBeInstanceOf(JsonSyntaxError);
          outcome = 'invalid';
        }
        const expected = reference === 'invalid' ? 'invalid' : typeof reference === 'object' && reference !== null && !Array.isArray(reference) ? 'object' : 'other';
        expect(outcome).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('reads what JSON.parse reads from any record whose keys are distinct and lower case', () => {
    const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), escapedString.map(({ value: text }) => text));
    const record = fc.record(
      {
        name: value,
        version: value,
        manifest: value,
        info: fc.oneof(fc.dictionary(fc.constantFrom('status', 'notes', 'x'), value), value),
        chart: fc.oneof(fc.record({ metadata: fc.oneof(fc.dictionary(fc.constantFrom('name', 'version'), value), value), files: value }), value),
        config: fc.jsonValue({ maxDepth: 4 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(record, (object) => {
        const text = JSON.stringify(object);
        expect(fields(text)).toEqual(referenceFields(JSON.parse(text), SPEC));
      }),
      { numRuns: 2000 },
    );
  });

  it('undoes \\u escapes and raw characters alike to the string they stand for (lone surrogates as U+FFFD)', () => {
    fc.assert(
      fc.property(escapedString, ({ value, json }) => {
        expect(fields(`{"name":${json}}`)).toEqual({ name: value.toWellFormed() });
      }),
      { numRuns: 2000 },
    );
  });

  // Long escaped strings (manifests) are unescaped by JSON.parse, short ones by a byte loop: the same strings.
  const PAD = 'p'.repeat(PARSE_ESCAPED_FROM_BYTES);
  const padded = (json: string) => `"${PAD}${json.slice(1)}`;

  it('reads a long escaped string as a short one, lone surrogate halves as U+FFFD', () => {
    fc.assert(
      fc.property(escapedString, ({ value, json }) => {
        expect(fields(`{"name":${padded(json)}}`)).toEqual({ name: PAD + value.toWellFormed() });
      }),
      { numRuns: 500 },
    );
    for (const json of [String.raw`"x\ud83dy"`, String.raw`"x\ude00y"`, String.raw`"\ud83d\u0041"`, String.raw`"\ud83d\ude00\n"`, String.raw`"\udbff\udfff\ud800"`]) {
      expect(fields(`{"name":${padded(json)}}`)).toEqual({ name: PAD + (fields(`{"name":${json}}`).name as string) });
    }
  });

  it('reads raw bytes beside escapes alike in long and short strings, invalid UTF-8 included', () => {
    const piece = fc.oneof(
      fc.constantFrom([0xff], [0xc3], [0xc3, 0xa9], [0xe2, 0x82], [0xe2, 0x82, 0xac], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98], [0x80], [0x41]),
      fc.constantFrom('\\u00e9', '\\u0000', '\\ud83d', '\\ude00', '\\n', '\\"', '\\\\', '\\/').map((escape) => [...Buffer.from(escape)]),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 20 }), (pieces) => {
        const token = Buffer.from([0x22, ...pieces.flat(), 0x22]);
        const read = (string: Buffer) => readJsonFields(Buffer.concat([Buffer.from('{"name":'), string, Buffer.from('}')]), SPEC)?.get('name');
        const long = Buffer.concat([Buffer.from(`"${PAD}`), token.subarray(1)]);
        expect(read(long)).toBe(PAD + (read(token) as string));
      }),
      { numRuns: 1000 },
    );
  });
});

/** `json` with one character replaced, dropped or added somewhere: mostly invalid, sometimes still JSON. */
function mutated(json: string): fc.Arbitrary<string> {
  return fc.tuple(fc.nat(), fc.constantFrom('drop', 'replace', 'insert'), fc.constantFrom('"', '\\', '{', '}', '[', ']', ',', ':', '0', '-', '.', 'e', 'u', ' ', '\t', '\n', '\u0001', 'x', 'é')).map(([at, how, char]) => {
    const index = json.length === 0 ? 0 : at % json.length;
    if (how === 'drop') return json.slice(0, index) + json.slice(index + 1);
    if (how === 'replace') return json.slice(0, index) + char + json.slice(index + 1);
    return json.slice(0, index) + char + json.slice(index);
  });
}

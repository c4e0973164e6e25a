import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ELIDED_PREFIX, elidedToken, elideStrings, MAX_JSON_DEPTH, stringOfToken, type StringPaths } from '../../src/json-bytes.ts';
import { admissionReview } from '../support/admission.ts';

const PATHS: StringPaths = [
  ['request', 'object', 'data', 'release'],
  ['request', 'oldObject', 'data', 'release'],
];

/** JSON.parse of the bytes, or 'invalid'. */
function parsed(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return 'invalid';
  }
}

/** The set-aside strings put back where `paths` name them: what JSON.parse of the whole text gives, if all is right. */
function restored(value: unknown, tokens: readonly Uint8Array<ArrayBuffer>[], paths: StringPaths = PATHS): unknown {
  for (const path of paths) {
    let parent: unknown = value;
    for (const key of path.slice(0, -1)) {
      parent = typeof parent === 'object' && parent !== null && !Array.isArray(parent) && Object.hasOwn(parent, key) ? (parent as Record<string, unknown>)[key] : undefined;
    }
    if (typeof parent !== 'object' || parent === null || Array.isArray(parent)) continue;
    const leaf = path[path.length - 1]!;
    if (!Object.hasOwn(parent, leaf)) continue;
    const token = elidedToken((parent as Record<string, unknown>)[leaf], tokens);
    if (token !== undefined) (parent as Record<string, unknown>)[leaf] = stringOfToken(token);
  }
  return value;
}

/** Elides, parses the rest and puts the strings back; 'whole' when elideStrings leaves the text to be parsed whole. */
function roundTrip(bytes: Uint8Array<ArrayBuffer>, paths: StringPaths = PATHS): unknown {
  const cut = elideStrings(bytes, paths);
  if (cut === undefined) return 'whole';
  return restored(JSON.parse(cut.text.toString('utf8')), cut.tokens, paths);
}

function review(object: unknown, oldObject: unknown = null): string {
  return JSON.stringify(admissionReview({ uid: 'u', object, oldObject }));
}

describe('elideStrings', () => {
  it('sets the strings at the paths aside and leaves every other value as it was', () => {
    const object = { kind: 'Secret', metadata: { name: 'sh.helm.release.v1.a.v1', labels: { owner: 'helm' } }, data: { release: 'SDRzSUFBQUFBQUFBLw==' }, type: 'helm.sh/release.v1' };
    const text = review(object, { ...object, data: { release: 'b2xk' } });
    const cut = elideStrings(Buffer.from(text), PATHS)!;
    expect(cut.tokens.map((token) => Buffer.from(token).toString())).toEqual(['"SDRzSUFBQUFBQUFBLw=="', '"b2xk"']);
    const rest = JSON.parse(cut.text.toString()) as { request: { object: typeof object; oldObject: typeof object } };
    expect(rest.request.object.data.release).toBe(`${ELIDED_PREFIX}0`);
    expect(rest.request.oldObject.data.release).toBe(`${ELIDED_PREFIX}1`);
    expect({ ...rest.request.object, data: {} }).toEqual({ ...object, data: {} });
    expect(roundTrip(Buffer.from(text))).toEqual(JSON.parse(text));
  });

  it('gives each token a buffer of its own, whatever buffer the text is in', () => {
    const text = Buffer.from(`xx${review({ data: { release: 'QUJD' } })}`);
    const cut = elideStrings(text.subarray(2), PATHS)!;
    expect(cut.tokens[0]!.byteOffset).toBe(0);
    expect(cut.tokens[0]!.buffer.byteLength).toBe(6);
    expect(stringOfToken(cut.tokens[0]!)).toBe('QUJD');
  });

  it('reads keys and strings as JSON.parse does: escapes, repeated keys, the last one winning', () => {
    // [text, how many strings are set aside]
    const cases: [string, number][] = [
      ['{"request":{"object":{"data":{"release":"A","release":"B"}}}}', 2],
      ['{"request":{"object":{"data":{"release":"A"}},"object":{"data":{"release":7}}}}', 1],
      ['{"request":{"object":{"data":{"release":"A"}},"object":{"data":{}}}}', 1],
      ['{"request":{"object":{"data":{"release":"A"}}},"request":{"object":{"data":{"release":"B"}}}}', 2],
      ['{"req\\u0075est":{"object":{"d\\u0061ta":{"rele\\u0061se":"A\\/B\\u00e9\\ud83d\\ude00\\ud800"}}}}', 1],
      ['{"request":{"object":{"data":{"Release":"A","release ":"B","release":null}}}}', 0],
      ['{"request":{"object":{"data":["release","A"],"release":"B"}}}', 0],
      ['{"request":{"object":{"data":{"release":{"release":"A"}}}}}', 0],
      [`{"request":{"object":{"data":{"release":"${ELIDED_PREFIX}0","x":"${ELIDED_PREFIX}0"}}}}`, 1],
      ['{"request":{"object":{"data":{"release":"\u00e9\u{1F600}"}},"oldObject":{"data":{"release":""}}}}', 2],
    ];
    for (const [text, count] of cases) {
      expect(elideStrings(Buffer.from(text), PATHS)?.tokens.length ?? 0, text).toBe(count);
      const result = roundTrip(Buffer.from(text));
      expect(result === 'whole' ? JSON.parse(text) : result, text).toEqual(JSON.parse(text));
    }
  });

  it('reads broken UTF-8 inside a set-aside string as JSON.parse of the whole text does', () => {
    const bytes = Buffer.concat([Buffer.from('{"request":{"object":{"data":{"release":"a'), Buffer.from([0xe2, 0x82, 0xff, 0xc3]), Buffer.from('"}}}}')]);
    expect(roundTrip(bytes)).toEqual(JSON.parse(bytes.toString('utf8')));
  });

  it('leaves to a whole parse what it does not read: no string there, not JSON, not an object, too deep', () => {
    expect(elideStrings(Buffer.from(review({ data: { other: 'A' } })), PATHS)).toBeUndefined();
    expect(elideStrings(Buffer.from('{"request":{"object":{"data":{"release":"A"}}}} x'), PATHS)).toBeUndefined();
    expect(elideStrings(Buffer.from('{"request":{"object":{"data":{"release":"A\u0001"}}}}'), PATHS)).toBeUndefined();
    expect(elideStrings(Buffer.from('[{"request":{"object":{"data":{"release":"A"}}}}]'), PATHS)).toBeUndefined();
    expect(elideStrings(Buffer.from('\ufeff{"request":{"object":{"data":{"release":"A"}}}}'), PATHS)).toBeUndefined();
    const deep = `{"request":{"object":{"data":{"release":"A"}},"x":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}}`;
    expect(elideStrings(Buffer.from(deep), PATHS)).toBeUndefined();
    const fits = `{"request":{"object":{"data":{"release":"A"}},"x":${'['.repeat(MAX_JSON_DEPTH - 2)}${']'.repeat(MAX_JSON_DEPTH - 2)}}}`;
    const cut = elideStrings(Buffer.from(fits), PATHS)!;
    expect(cut.tokens.map(stringOfToken)).toEqual(['A']);
    expect(cut.text.toString()).toBe(fits.replace('"A"', `"${ELIDED_PREFIX}0"`));
  });

  it('gives what JSON.parse gives for any JSON placed around and at the paths (property)', () => {
    const key = fc.constantFrom('request', 'object', 'oldObject', 'data', 'release', 'req\\u0075est', 'x', '__proto__');
    const leaf = fc.oneof(fc.string({ unit: 'binary' }), fc.json(), fc.constant('"' + 'Q'.repeat(300) + '"'));
    const value: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        leaf.map((text) => (text.startsWith('"') || text.startsWith('{') || text.startsWith('[') || /^[-0-9tfn]/.test(text) ? text : JSON.stringify(text))),
        fc.array(fc.tuple(key, tie('value')), { maxLength: 4 }).map((members) => `{${members.map(([name, member]) => `"${name}":${member}`).join(',')}}`),
        fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
      ),
    })).value;
    fc.assert(
      fc.property(value, (text) => {
        const bytes = Buffer.from(text);
        const whole = parsed(bytes);
        const result = roundTrip(bytes);
        if (result === 'whole') return;
        expect(whole).not.toBe('invalid');
        expect(result).toEqual(whole);
      }),
      { numRuns: 2000 },
    );
  });

  it('never sets anything aside from bytes JSON.parse refuses (property: mutated reviews)', () => {
    const text = review({ kind: 'Secret', metadata: { name: 'n', labels: { owner: 'helm' } }, data: { release: 'QUJDRA==\\/x' } }, { data: { release: 'b2xk' } });
    const bytes = Buffer.from(text);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const mutated = Buffer.from(bytes);
        for (const [at, byte] of edits) mutated[at] = byte;
        const whole = parsed(mutated);
        const result = roundTrip(mutated);
        if (whole === 'invalid') expect(result).toBe('whole');
        else if (result !== 'whole') expect(result).toEqual(whole);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('elidedToken', () => {
  const tokens = [new Uint8Array(Buffer.from('"a"')), new Uint8Array(Buffer.from('"b"'))];

  it('maps a placeholder to its token and nothing else to one', () => {
    expect(elidedToken(`${ELIDED_PREFIX}1`, tokens)).toBe(tokens[1]);
    expect(elidedToken(`${ELIDED_PREFIX}0`, tokens)).toBe(tokens[0]);
    for (const other of [`${ELIDED_PREFIX}2`, `${ELIDED_PREFIX}01`, `${ELIDED_PREFIX}1 `, `${ELIDED_PREFIX}`, `${ELIDED_PREFIX}-1`, 'QUJD', 7, null, undefined]) {
      expect(elidedToken(other, tokens)).toBeUndefined();
    }
    expect(elidedToken(`${ELIDED_PREFIX}0`, undefined)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { metaOf } from '../../../src/admission/objects.ts';
import { stringMapOf } from '../../../src/json.ts';

describe('metaOf', () => {
  // metaOf reads the reviewed object's own maps without copying them when they hold only strings; what it returns
  // must read exactly as stringMapOf's copy does, whatever the map holds.
  const maps: Record<string, unknown> = {
    'strings only': { a: '1', 'volume-guard.io/skip': 'node-local-volume', '10': 'ten' },
    'a number and a null among strings': { a: '1', b: 2, c: null, d: 'x' },
    'no string at all': { a: 1, b: { c: '2' } },
    empty: {},
    'an own __proto__ key': JSON.parse('{"a":"1","__proto__":"x","b":"2"}') as unknown,
    'an inherited entry': Object.assign(Object.create({ inherited: 'y' }) as object, { own: 'z' }),
    'not an object': ['a', 'b'],
  };
  it.each(Object.entries(maps))('reads %s as the copy does', (_label, map) => {
    const meta = metaOf({ metadata: { name: 'n', annotations: map, labels: map } });
    const copy = stringMapOf(map);
    for (const read of [meta?.annotations, meta?.labels]) {
      expect(Object.entries(read ?? {})).toEqual(Object.entries(copy));
      expect(Object.keys(read ?? {})).toEqual(Object.keys(copy));
      for (const key of ['a', 'b', 'd', '10', 'own', 'inherited', 'volume-guard.io/skip']) expect(read?.[key], key).toBe(copy[key]);
      expect(Object.hasOwn(read ?? {}, '__proto__')).toBe(false);
    }
  });

  it('returns the empty map for an object without metadata and undefined for a non-object', () => {
    expect(metaOf({})).toEqual({ name: '', namespace: '', annotations: {}, labels: {} });
    expect(metaOf('text')).toBeUndefined();
  });
});

// The leaf modules every layer shares: JSON narrowing (src/json.ts) and the wording of schema errors
// (src/schema-errors.ts), used by the AdmissionReview decoder and the configuration loader alike.
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { EMPTY_STRING_MAP, fieldsAt, isObject, objectAt, stringAt, stringAtPath, stringMapAt, stringMapOf, valueAt } from '../../src/json.ts';
import { describeCommonError, pointerToPath, valueAtPointer, withArticle } from '../../src/schema-errors.ts';
import { describeUser } from '../../src/kube.ts';
import { compareText } from '../../src/text.ts';

describe('JSON narrowing', () => {
  const object = { metadata: { name: 'a', labels: { app: 'db', count: 3 }, nested: { deep: 'x' } }, list: [1], nil: null };

  it('narrows objects, never arrays or null', () => {
    expect(isObject(object)).toBe(true);
    expect(isObject([])).toBe(false);
    expect(isObject(null)).toBe(false);
    expect(objectAt(object, 'list')).toBeUndefined();
    expect(objectAt(object, 'nil')).toBeUndefined();
  });

  it('reads along paths with defaults instead of throws', () => {
    expect(valueAt(object, 'metadata', 'nested', 'deep')).toBe('x');
    expect(valueAt(object, 'metadata', 'name', 'deeper')).toBeUndefined();
    expect(stringAtPath(object, 'metadata', 'name')).toBe('a');
    expect(stringAtPath(object, 'metadata', 'labels', 'count')).toBe('');
    expect(stringAt('not an object', 'name')).toBe('');
    expect(fieldsAt(object, 'missing')).toEqual({});
    expect(fieldsAt(object, 'metadata')['name']).toBe('a');
  });

  it('keeps only the string values of a string map, sharing one empty map', () => {
    expect(stringMapAt(object.metadata, 'labels')).toEqual({ app: 'db' });
    expect(stringMapOf({ count: 3 })).toBe(EMPTY_STRING_MAP);
    expect(stringMapOf(undefined)).toBe(EMPTY_STRING_MAP);
  });
});

describe('schema error wording', () => {
  it('turns JSON pointers into field paths and values', () => {
    expect(pointerToPath('/admission/tls/clientNames/0')).toBe('admission.tls.clientNames[0]');
    expect(pointerToPath('/a~1b/c~0d')).toBe('a/b.c~d');
    expect(pointerToPath('')).toBe('');
    expect(valueAtPointer({ a: [{ b: 'x' }] }, '/a/0/b')).toBe('x');
    expect(valueAtPointer({ a: 'x' }, '/a/b')).toBeUndefined();
    expect(withArticle('integer')).toBe('an integer');
    expect(withArticle('string')).toBe('a string');
  });

  it('words required, enum and type errors the same for every schema, and leaves the rest to the caller', () => {
    const validate = new Ajv({ allErrors: true }).compile({
      type: 'object',
      required: ['mode'],
      properties: { mode: { enum: ['on', 'off'] }, port: { type: 'integer' }, name: { type: 'string', minLength: 2 } },
    });
    const data = { mode: 'maybe', port: 'x', name: 'a' };
    validate(data);
    const lines = (validate.errors ?? []).map((error) => describeCommonError(error, pointerToPath(error.instancePath), JSON.stringify(valueAtPointer(data, error.instancePath)), 'the body'));
    expect(lines).toEqual(['mode must be one of on, off (got "maybe")', 'port must be an integer (got "x")', undefined]);
    validate({});
    expect(describeCommonError(validate.errors![0]!, '', '{}', 'the body')).toBe('mode is required');
    validate([]);
    expect(describeCommonError(validate.errors![0]!, '', 'an array', 'the body')).toBe('the body must be an object (got an array)');
  });
});

describe('shared wording', () => {
  it('names an anonymous user and orders text by code unit', () => {
    expect(describeUser({ username: '' })).toBe('an unknown user');
    expect(describeUser({ username: 'alice' })).toBe('alice');
    expect(['b', 'B', 'a'].sort(compareText)).toEqual(['B', 'a', 'b']);
  });
});

import { describe, expect, it } from 'vitest';
import { labelSelectorMatches, labelSelectorValid, parseLabelSelector } from '../../../src/cluster/label-selector.ts';

// One reading of metav1.LabelSelector for a Plan's nodeSelector and a MachineDrainRule's selectors.
const matches = (raw: unknown, labels: Record<string, string>) => {
  const selector = parseLabelSelector(raw);
  return labelSelectorValid(selector) ? labelSelectorMatches(selector, labels) : 'invalid';
};

describe('label selectors as Kubernetes reads them', () => {
  const labels = { a: '1', b: '2', empty: '' };
  it.each([
    ['absent', undefined, true],
    ['empty: everything', {}, true],
    ['matchLabels', { matchLabels: { a: '1' } }, true],
    ['matchLabels, another value', { matchLabels: { a: '2' } }, false],
    ['matchLabels, a key the labels lack', { matchLabels: { c: '' } }, false],
    ['matchLabels and matchExpressions ANDed', { matchLabels: { a: '1' }, matchExpressions: [{ key: 'b', operator: 'In', values: ['3'] }] }, false],
    ['In', { matchExpressions: [{ key: 'a', operator: 'In', values: ['0', '1'] }] }, true],
    ['In, key absent', { matchExpressions: [{ key: 'c', operator: 'In', values: ['1'] }] }, false],
    ['NotIn, key absent', { matchExpressions: [{ key: 'c', operator: 'NotIn', values: ['x'] }] }, true],
    ['NotIn', { matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, false],
    ['Exists on an empty value', { matchExpressions: [{ key: 'empty', operator: 'Exists' }] }, true],
    ['DoesNotExist', { matchExpressions: [{ key: 'empty', operator: 'DoesNotExist' }] }, false],
    ['expressions ANDed', { matchExpressions: [{ key: 'b', operator: 'Exists' }, { key: 'a', operator: 'In', values: ['0', '1'] }] }, true],
    ['null parts', { matchLabels: null, matchExpressions: null }, true],
    ['a prefixed key and an empty value', { matchLabels: { 'example.com/empty': '' } }, false],
    ['a prefixed key', { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'DoesNotExist' }] }, true],
  ])('%s', (_name, raw, expected) => {
    expect(matches(raw, labels)).toBe(expected);
  });

  it.each([
    ['In without values', { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }],
    ['NotIn without values', { matchExpressions: [{ key: 'a', operator: 'NotIn' }] }],
    ['Exists with values', { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['1'] }] }],
    ['an unknown operator', { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['1'] }] }],
    ['a lower-case operator', { matchExpressions: [{ key: 'a', operator: 'in', values: ['1'] }] }],
    ['an expression without a key', { matchExpressions: [{ operator: 'Exists' }] }],
    ['matchExpressions not a list', { matchExpressions: { key: 'a', operator: 'Exists' } }],
    ['matchLabels not a map', { matchLabels: ['a'] }],
    ['a matchLabels value not a string', { matchLabels: { a: 1 } }],
    ['a value not a string', { matchExpressions: [{ key: 'a', operator: 'In', values: [1] }] }],
    ['a key with a space', { matchLabels: { 'bad key': 'x' } }],
    ['a __proto__ key (JSON.parse makes it an own key)', JSON.parse('{"matchLabels":{"__proto__":"x"}}') as unknown],
    ['a prefix not a DNS subdomain', { matchExpressions: [{ key: 'Example.com/a', operator: 'Exists' }] }],
    ['a value too long', { matchLabels: { a: 'x'.repeat(64) } }],
    ['an expression value with a slash', { matchExpressions: [{ key: 'a', operator: 'In', values: ['a/b'] }] }],
  ])('invalid: %s (LabelSelectorAsSelector refuses it)', (_name, raw) => {
    expect(matches(raw, labels)).toBe('invalid');
    // And matched on its own it selects nothing, never everything.
    expect(labelSelectorMatches(parseLabelSelector(raw), labels)).toBe(false);
  });

  it('has no selector where there is no object', () => {
    expect(parseLabelSelector(undefined)).toBeUndefined();
    expect(parseLabelSelector(null)).toBeUndefined();
    expect(parseLabelSelector('a=1')).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { MultiIndex } from '../../src/cluster/model-index.ts';

interface Item {
  readonly id: string;
  readonly group: string;
  readonly tags: readonly string[];
}

const item = (id: string, group: string, tags: readonly string[] = []): Item => ({ id, group, tags });
const ids = (items: readonly Item[]): string[] => items.map((i) => i.id).sort();

describe('MultiIndex', () => {
  it('files records under their key and forgets empty buckets', () => {
    const index = new MultiIndex<Item>('byGroup', (i) => i.group);
    const a = item('a', 'g1');
    const b = item('b', 'g1');
    index.update(undefined, a);
    index.update(undefined, b);
    expect(ids(index.get('g1'))).toEqual(['a', 'b']);
    expect(index.get('g2')).toEqual([]);
    index.update(a, undefined);
    index.update(b, undefined);
    expect(index.get('g1')).toEqual([]);
    expect(index.bucketCount).toBe(0);
  });

  it('moves a record whose key changed, and replaces it in place when the key did not', () => {
    const index = new MultiIndex<Item>('byGroup', (i) => i.group);
    const a1 = item('a', 'g1');
    const b = item('b', 'g1');
    index.update(undefined, a1);
    index.update(undefined, b);
    const a2 = item('a', 'g1', ['changed']);
    index.update(a1, a2);
    expect(index.get('g1')).toEqual([a2, b]); // order kept on replace
    const a3 = item('a', 'g2');
    index.update(a2, a3);
    expect(index.get('g1')).toEqual([b]);
    expect(index.get('g2')).toEqual([a3]);
  });

  it('never files a record under the empty key', () => {
    const index = new MultiIndex<Item>('byGroup', (i) => i.group);
    index.update(undefined, item('a', ''));
    expect(index.bucketCount).toBe(0);
    expect(index.get('')).toEqual([]);
  });

  it('files a record under each of several keys, moving only the keys that changed', () => {
    const index = new MultiIndex<Item>('byTag', (i) => i.tags);
    const a1 = item('a', '', ['x', 'y']);
    index.update(undefined, a1);
    expect(index.get('x')).toEqual([a1]);
    expect(index.get('y')).toEqual([a1]);
    const a2 = item('a', '', ['y', 'z']);
    index.update(a1, a2);
    expect(index.get('x')).toEqual([]);
    expect(index.get('y')).toEqual([a2]);
    expect(index.get('z')).toEqual([a2]);
    expect([...index.keys()].sort()).toEqual(['y', 'z']);
    index.update(a2, undefined);
    expect(index.bucketCount).toBe(0);
  });

  it('hands out arrays that later writes do not change (small and large buckets)', () => {
    for (const size of [3, 100]) {
      const index = new MultiIndex<Item>('byGroup', (i) => i.group);
      const items = Array.from({ length: size }, (_, n) => item(`i${n}`, 'g'));
      for (const i of items) index.update(undefined, i);
      const before = index.get('g');
      expect(before).toHaveLength(size);
      index.update(undefined, item('new', 'g'));
      index.update(items[0], undefined);
      expect(before).toHaveLength(size);
      expect(before).toContain(items[0]);
      expect(index.get('g')).toHaveLength(size);
      expect(index.get('g')).not.toContain(items[0]);
    }
  });

  it('keeps a large bucket exact through adds, replaces and removes, down to empty', () => {
    const index = new MultiIndex<Item>('byGroup', (i) => i.group);
    let items = Array.from({ length: 200 }, (_, n) => item(`i${n}`, 'g'));
    for (const i of items) index.update(undefined, i);
    const replaced = items.map((i) => item(i.id, 'g', ['v2']));
    items.forEach((i, n) => index.update(i, replaced[n]));
    items = replaced;
    expect(new Set(index.get('g'))).toEqual(new Set(items));
    const moved = items.slice(0, 150).map((i) => item(i.id, 'other'));
    items.slice(0, 150).forEach((i, n) => index.update(i, moved[n]));
    expect(ids(index.get('g'))).toEqual(ids(items.slice(150)));
    expect(index.get('other')).toHaveLength(150);
    expect([...index.records()]).toHaveLength(200);
    // Removal is by identity: an equal-looking copy is not the filed record.
    index.update(item('i0', 'other'), undefined);
    expect(index.get('other')).toHaveLength(150);
    for (const i of items.slice(150)) index.update(i, undefined);
    for (const i of moved) index.update(i, undefined);
    expect(index.bucketCount).toBe(0);
  });
});

describe('MultiIndex.addAll', () => {
  interface Keyed {
    readonly id: number;
    readonly keys: readonly string[];
  }
  // Bucket sizes from 1 to 80: small arrays and large Sets; some records under several keys, some under none.
  const keyedItems: Keyed[] = Array.from({ length: 400 }, (_, id) => ({
    id,
    keys: id % 7 === 0 ? [] : id % 5 === 0 ? [`k${id % 9}`, `m${id % 3}`] : [`k${id % 9}`, ''],
  }));
  const contents = (index: MultiIndex<Keyed>) =>
    [...index.keys()].sort().map((key) => [key, index.get(key).map((keyed) => keyed.id).sort((a, b) => a - b)]);

  it('into an empty index files what adding one by one files', () => {
    const bulk = new MultiIndex<Keyed>('bulk', (keyed) => keyed.keys);
    bulk.addAll(keyedItems);
    const single = new MultiIndex<Keyed>('single', (keyed) => keyed.keys);
    for (const keyed of keyedItems) single.update(undefined, keyed);
    expect(contents(bulk)).toEqual(contents(single));
    expect(bulk.bucketCount).toBe(single.bucketCount);
    expect(bulk.get('m0').length).toBeLessThanOrEqual(32);
    expect(bulk.get('k1').length).toBeGreaterThan(32);
    // Buckets built in bulk behave like the others afterwards.
    bulk.update(keyedItems[5], undefined);
    single.update(keyedItems[5], undefined);
    expect(contents(bulk)).toEqual(contents(single));
  });

  it('into an index already holding records adds to its buckets', () => {
    const bulk = new MultiIndex<Keyed>('bulk', (keyed) => keyed.keys);
    bulk.addAll(keyedItems.slice(0, 100));
    bulk.addAll(keyedItems.slice(100));
    const single = new MultiIndex<Keyed>('single', (keyed) => keyed.keys);
    for (const keyed of keyedItems) single.update(undefined, keyed);
    expect(contents(bulk)).toEqual(contents(single));
  });
});

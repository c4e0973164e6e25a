// The benchmark's build figures time each first list through timedSink (server child and profile-build alike).
import { describe, expect, it } from 'vitest';
import { ClusterModel } from '../../src/cluster/model.ts';
import { timedSink } from '../bench/lib/timed-sink.ts';
import { node } from '../support/fixtures.ts';

describe('timedSink', () => {
  it('writes through to the sink and reports each list with its kind, its size and a duration', () => {
    const model = new ClusterModel();
    const lists: [string, number, number][] = [];
    const sink = timedSink(model, (kind, records, ms) => lists.push([kind, records, ms]));
    sink.replaceAll('node', [node({ name: 'a' }), node({ name: 'b' })]);
    sink.upsert('node', node({ name: 'c' }));
    sink.remove('node', 'a');
    expect([...model.nodes()].map((record) => record.name).sort()).toEqual(['b', 'c']);
    expect(lists.map(([kind, records]) => [kind, records])).toEqual([['node', 2]]);
    expect(lists[0]![2]).toBeGreaterThanOrEqual(0);
  });
});

// A ModelSink that times each first list written through it (replaceAll, what an informer's list does), for the
// build figures: the inserts measured apart from generating the records.
import type { ModelSink, ResourceKind } from '../../../src/cluster/records.ts';

/** `sink`, with `onList(kind, records, ms)` told after each replaceAll how long the sink took. */
export function timedSink(sink: ModelSink, onList: (kind: ResourceKind, records: number, ms: number) => void): ModelSink {
  return {
    upsert: (kind, record) => sink.upsert(kind, record),
    remove: (kind, key) => sink.remove(kind, key),
    setLonghornInstalled: (installed) => sink.setLonghornInstalled(installed),
    replaceAll: (kind, records) => {
      const start = performance.now();
      sink.replaceAll(kind, records);
      onList(kind, records.length, performance.now() - start);
    },
  };
}

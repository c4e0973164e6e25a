// The bench's watch-event measurement (test/bench/lib/events.ts): every kind the model holds is measured, each
// mutation is a change the model sees (not an equal copy it skips), and the model ends holding what it held.
import { describe, expect, it } from 'vitest';
import { EVENT_MUTATIONS, measureEventCosts } from '../bench/lib/events.ts';
import { RAW_RENDERERS, renderRaw } from '../bench/lib/raw-objects.ts';
import { RESOURCE_SPECS } from '../../src/cluster/resources.ts';
import { VOLUME_SETS } from '../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../src/cluster/model.ts';
import { recordsEqual } from '../../src/cluster/model-equality.ts';
import { RESOURCE_KINDS, type ResourceKind } from '../../src/cluster/records.ts';
import type { ModelSink } from '../../src/cluster/records.ts';
import { RiskTracker } from '../../src/observe/risks.ts';
import { SMALL_CLUSTER, syntheticCluster } from '../support/fixtures.ts';

function contents(model: ClusterModel): Record<string, unknown[]> {
  const byName = (a: { name: string; namespace?: string }, b: { name: string; namespace?: string }) =>
    `${a.namespace ?? ''}/${a.name}`.localeCompare(`${b.namespace ?? ''}/${b.name}`);
  return Object.fromEntries(RESOURCE_KINDS.map((kind) => [kind, [...model.records(kind)].sort(byName)]));
}

describe('watch event cost per kind', () => {
  it('measures every kind present and leaves the model holding the same records and volume sets', () => {
    const model = new ClusterModel(VOLUME_SETS);
    syntheticCluster(model, SMALL_CLUSTER);
    const before = contents(model);
    const sets = model.volumeSetNames.map((set) => [...model.volumesInSet(set)].map((volume) => volume.name).sort());
    const costs = measureEventCosts(model, 50);
    const present = RESOURCE_KINDS.filter((kind) => model.count(kind) > 0);
    expect(costs.map((cost) => cost.kind)).toEqual(present);
    for (const cost of costs) {
      expect(cost.objects).toBe(Math.min(50, model.count(cost.kind as ResourceKind)));
      for (const value of [cost.modifyMicros, cost.modifyCpuMicros, cost.unchangedMicros, cost.deleteMicros, cost.addMicros]) {
        expect(Number.isFinite(value) && value >= 0).toBe(true);
      }
    }
    expect(contents(model)).toEqual(before);
    expect(model.volumeSetNames.map((set) => [...model.volumesInSet(set)].map((volume) => volume.name).sort())).toEqual(sets);
  });

  it('each mutation is a change the model sees (not an equal copy it skips)', () => {
    const model = new ClusterModel(VOLUME_SETS);
    syntheticCluster(model, SMALL_CLUSTER);
    for (const kind of RESOURCE_KINDS) {
      const record = model.records(kind).next().value;
      if (record === undefined) continue;
      const mutate = EVENT_MUTATIONS[kind] as (r: typeof record) => typeof record;
      expect(recordsEqual(record, mutate(record)), kind).toBe(false);
    }
  });

  it('renders records as the API server JSON their transform turns back into the same records', () => {
    const model = new ClusterModel(VOLUME_SETS);
    syntheticCluster(model, SMALL_CLUSTER);
    const rendered: string[] = [];
    for (const kind of RESOURCE_KINDS) {
      if (RAW_RENDERERS[kind] === undefined) continue;
      let count = 0;
      for (const record of model.records(kind)) {
        const raw = renderRaw(kind, record);
        if (raw === undefined) continue;
        const transform = RESOURCE_SPECS[kind].transform as (raw: unknown) => typeof record | undefined;
        const back = transform(JSON.parse(JSON.stringify(raw)));
        // A PV's pinned node is the model's to resolve from the live nodes (the transform gives the named one), and a
        // synthetic directory PV carries no path (rendered from its name); the synthetic claims carry labels the
        // transform does not keep.
        const pvBack = back as typeof record & { pinnedNode: string; hostDirectory?: string };
        const expected =
          kind === 'persistentVolume'
            ? { ...record, pinnedNode: pvBack.pinnedNode, ...(pvBack.hostDirectory === undefined ? {} : { hostDirectory: pvBack.hostDirectory }) }
            : kind === 'persistentVolumeClaim'
              ? { ...record, labels: (back as typeof record & { labels: unknown }).labels }
              : record;
        expect(back, `${kind} ${record.name}`).toEqual(expected);
        // Rendering what the transform gave gives it again.
        expect(transform(JSON.parse(JSON.stringify(renderRaw(kind, back!)))), `${kind} ${record.name}`).toEqual(back);
        count++;
      }
      if (count > 0) rendered.push(kind);
    }
    expect(rendered).toEqual(expect.arrayContaining(['longhornVolume', 'longhornReplica', 'node', 'persistentVolume', 'persistentVolumeClaim', 'pod', 'statefulSet']));
    const costs = measureEventCosts(model, 20);
    for (const kind of rendered) expect(costs.find((cost) => cost.kind === kind)?.modifyFromJsonMicros, kind).toBeGreaterThanOrEqual(0);
  });

  it('writes every event through the given sink (the risk tracker, as the pod) and counts its flush in', () => {
    const model = new ClusterModel(VOLUME_SETS);
    const tracker = new RiskTracker(model);
    const trackerSink = tracker.sink();
    syntheticCluster(trackerSink, SMALL_CLUSTER);
    tracker.flush();
    const before = tracker.counts();
    let writes = 0;
    const sink: ModelSink = {
      upsert: (kind, record) => {
        writes++;
        trackerSink.upsert(kind, record);
      },
      remove: (kind, key) => {
        writes++;
        trackerSink.remove(kind, key);
      },
      replaceAll: (kind, records) => trackerSink.replaceAll(kind, records),
      setLonghornInstalled: (installed) => trackerSink.setLonghornInstalled(installed),
    };
    let flushes = 0;
    const costs = measureEventCosts(model, 20, {
      sink,
      flush: () => {
        flushes++;
        tracker.flush();
      },
    });
    // modify (2 per object), unchanged, delete, add, and the rendered kinds' modify from JSON (2 per object).
    const expected = costs.reduce((sum, cost) => sum + cost.objects * 5 + (cost.fromJsonObjects ?? 0) * 2, 0);
    expect(writes).toBe(expected);
    // A flush before each kind and after each of its batches.
    expect(flushes).toBeGreaterThanOrEqual(costs.length * 5);
    expect(tracker.pending).toBe(0);
    for (const cost of costs) {
      expect(cost.modifyFlushMicros).toBeGreaterThanOrEqual(0);
      expect(cost.modifyFlushMicros).toBeLessThanOrEqual(cost.modifyMicros);
      expect(cost.deleteFlushMicros).toBeLessThanOrEqual(cost.deleteMicros);
    }
    // The tracker ends counting what it counted: every change went through it, and back.
    expect(tracker.counts()).toEqual(before);
  });
});

// The cost of each informer's watch events once the model is built: what an informer does with an event after its
// transform (Informer#onEvent: MODIFIED/ADDED → sink.upsert, DELETED → sink.remove), applied to the built model,
// per kind. Four kinds of event per sampled object, each timed over all of them:
// - modify: a change the checks read (a replica stopping, a volume degrading, a node cordoned...), then back;
// - unchanged: an equal copy (what a relist, and most status-only updates once slimmed, deliver);
// - delete, then add back.
// The model ends holding the same records (in another insertion order).
// In the server child the events go through the risk tracker's sink, as the pod's informers write (src/server/
// cluster-dependencies.ts), and each batch is followed by the tracker's flush (which its flusher runs every 500 ms
// in the pod): an event's cost is its write plus its share of that flush, which is also reported apart.
// For the kinds lib/raw-objects.ts renders, the modify events are also timed the whole way an informer takes them:
// the watch line's JSON.parse, the kind's transform (RESOURCE_SPECS), then the sink (and the flush).

import type { ClusterModel } from '../../../src/cluster/model.ts';
import { recordKey, RESOURCE_KINDS, type ModelSink, type RecordByKind, type ResourceKind } from '../../../src/cluster/records.ts';
import { RESOURCE_SPECS } from '../../../src/cluster/resources.ts';
import { renderRaw } from './raw-objects.ts';

export interface KindEventCost {
  readonly kind: string;
  /** Objects sampled (each gets every kind of event). */
  readonly objects: number;
  /** µs per event, wall clock and process CPU (the write through the sink and its share of the flush after it). */
  readonly modifyMicros: number;
  readonly modifyCpuMicros: number;
  readonly unchangedMicros: number;
  readonly deleteMicros: number;
  readonly addMicros: number;
  /** The share of modifyMicros the risk tracker's flush took (0 when the events were written to the bare model). */
  readonly modifyFlushMicros: number;
  /** The same for the delete events. */
  readonly deleteFlushMicros: number;
  /** Modify events from the watch line on (JSON.parse + transform + model), for the kinds rendered; µs per event. */
  readonly modifyFromJsonMicros?: number;
  /** How many of the sampled objects those were timed over. */
  readonly fromJsonObjects?: number;
}

type Mutation<K extends ResourceKind> = (record: RecordByKind[K]) => RecordByKind[K];

const flip = (value: string, a: string, b: string): string => (value === a ? b : a);

/** Per kind, a change of a field the checks read, as a typical watch event of that kind brings. */
export const EVENT_MUTATIONS: { readonly [K in ResourceKind]: Mutation<K> } = {
  longhornVolume: (v) => ({ ...v, robustness: flip(v.robustness, 'degraded', 'healthy') }),
  longhornReplica: (r) => ({ ...r, currentState: flip(r.currentState, 'stopped', 'running') }),
  longhornNode: (n) => ({ ...n, down: !n.down }),
  longhornSetting: (s) => ({ ...s, value: `${s.value}-changed` }),
  harvesterUpgrade: (u) => ({ ...u, state: flip(u.state, 'Succeeded', 'UpgradingNodes') }),
  harvesterUpgradePlan: (u) => ({ ...u, state: flip(u.state, 'Succeeded', 'NodeUpgrading') }),
  node: (n) => ({ ...n, unschedulable: !n.unschedulable }),
  persistentVolume: (pv) => ({ ...pv, phase: flip(pv.phase, 'Released', 'Bound') }),
  persistentVolumeClaim: (c) => ({ ...c, phase: flip(c.phase, 'Lost', 'Bound') }),
  pod: (p) => ({ ...p, phase: flip(p.phase, 'Succeeded', 'Running') }),
  statefulSet: (s) => ({ ...s, replicas: s.replicas + 1 }),
  namespace: (n) => ({ ...n, annotations: { ...n.annotations, 'bench.volume-guard.io/touched': 'true' } }),
  machine: (m) => ({ ...m, deleteMarked: !m.deleteMarked }),
  machineDrainRule: (r) => ({ ...r, behavior: flip(r.behavior, 'Skip', 'Drain') }),
  clusterApiCluster: (c) => ({ ...c, labels: { ...c.labels, 'bench.volume-guard.io/touched': 'true' } }),
  machineDeployment: (o) => ({ ...o, annotations: { ...o.annotations, 'volume-guard.io/skip-reason': 'bench' } }),
  kubeadmControlPlane: (o) => ({ ...o, annotations: { ...o.annotations, 'volume-guard.io/skip-reason': 'bench' } }),
};

function cpuNow(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** Up to `perKind` records of the kind, spread over the store (not only the first inserted). */
function sample<K extends ResourceKind>(model: ClusterModel, kind: K, perKind: number): RecordByKind[K][] {
  const all = [...model.records(kind)];
  if (all.length <= perKind) return all;
  const step = all.length / perKind;
  return Array.from({ length: perKind }, (_, i) => all[Math.floor(i * step)]!);
}

/** Where the events are written and what brings what they mark up to date afterwards. */
export interface EventPath {
  readonly sink: ModelSink;
  readonly flush: () => void;
}

/** The writes, then the flush: µs of both together (wall and CPU), and of the flush alone (wall). */
function timed(run: () => void, flush: () => void): { wall: number; cpu: number; flushWall: number } {
  const c0 = cpuNow();
  const w0 = performance.now();
  run();
  const w1 = performance.now();
  flush();
  const w2 = performance.now();
  return { wall: (w2 - w0) * 1000, cpu: cpuNow() - c0, flushWall: (w2 - w1) * 1000 };
}

const perEvent = (micros: number, events: number): number => (events === 0 ? 0 : Math.round((micros / events) * 100) / 100);

/**
 * Applies the events kind by kind through `path` (default: straight to `model`, nothing to flush) and returns their
 * cost; kinds the model holds none of are left out. `model` is what `path.sink` writes to.
 */
export function measureEventCosts(model: ClusterModel, perKind: number, path: EventPath = { sink: model, flush: () => undefined }): KindEventCost[] {
  const costs: KindEventCost[] = [];
  const { sink, flush } = path;
  for (const kind of RESOURCE_KINDS) {
    const records = sample(model, kind, perKind);
    if (records.length === 0) continue;
    // What earlier writes left to evaluate is not this kind's cost.
    flush();
    const mutate = EVENT_MUTATIONS[kind] as Mutation<typeof kind>;
    const changed = records.map((record) => mutate(record));
    const modify = timed(() => {
      for (const record of changed) sink.upsert(kind, record);
      for (const record of records) sink.upsert(kind, record);
    }, flush);
    const fromJson = timeFromJson(sink, flush, kind, records, changed);
    const copies = records.map((record) => ({ ...record }));
    const unchanged = timed(() => {
      for (const record of copies) sink.upsert(kind, record);
    }, flush);
    const keys = records.map((record) => recordKey(record));
    const deleted = timed(() => {
      for (const key of keys) sink.remove(kind, key);
    }, flush);
    const added = timed(() => {
      for (const record of records) sink.upsert(kind, record);
    }, flush);
    costs.push({
      kind,
      objects: records.length,
      modifyMicros: perEvent(modify.wall, records.length * 2),
      modifyCpuMicros: perEvent(modify.cpu, records.length * 2),
      unchangedMicros: perEvent(unchanged.wall, records.length),
      deleteMicros: perEvent(deleted.wall, records.length),
      addMicros: perEvent(added.wall, records.length),
      modifyFlushMicros: perEvent(modify.flushWall, records.length * 2),
      deleteFlushMicros: perEvent(deleted.flushWall, records.length),
      ...(fromJson ? { modifyFromJsonMicros: perEvent(fromJson.wall, fromJson.events), fromJsonObjects: fromJson.events / 2 } : {}),
    });
  }
  return costs;
}

/** The watch lines of the changes and back, parsed, transformed and written as the informer does. */
function timeFromJson<K extends ResourceKind>(
  sink: ModelSink,
  flush: () => void,
  kind: K,
  records: readonly RecordByKind[K][],
  changed: readonly RecordByKind[K][],
): { wall: number; events: number } | undefined {
  const line = (record: RecordByKind[K]): string | undefined => {
    const object = renderRaw(kind, record);
    return object === undefined ? undefined : JSON.stringify({ type: 'MODIFIED', object });
  };
  const lines: string[] = [];
  const back: string[] = [];
  records.forEach((record, i) => {
    const forth = line(changed[i]!);
    const again = line(record);
    if (forth === undefined || again === undefined) return;
    lines.push(forth);
    back.push(again);
  });
  if (lines.length === 0) return undefined;
  const transform = RESOURCE_SPECS[kind].transform as (raw: unknown) => RecordByKind[K] | undefined;
  const apply = (text: string): void => {
    const event = JSON.parse(text) as { object: unknown };
    const record = transform(event.object);
    if (record !== undefined) sink.upsert(kind, record);
  };
  const { wall } = timed(() => {
    for (const text of lines) apply(text);
    for (const text of back) apply(text);
  }, flush);
  return { wall, events: lines.length * 2 };
}

// The risk gauges as Prometheus scrapes them: no series before the model's first full list is evaluated (a 0 then
// would be a false all-clear), every series from then on, values from the tracker, namespaces bounded, and the
// flusher catching up in the background by itself.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { registerRiskMetrics, startRiskFlusher } from '../../../src/observe/metrics.ts';
import { RiskTracker } from '../../../src/observe/risks.ts';
import { pvc } from '../../support/fixtures.ts';
import { goldenRecords } from '../audit/golden-cluster.ts';

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('risk gauges', () => {
  it('exposes every check and kind from the start, at 0 on an empty model', async () => {
    const registry = new Registry();
    registerRiskMetrics(registry, new RiskTracker(new ClusterModel(VOLUME_SETS)));
    const text = await registry.metrics();
    for (const check of ['single-replica', 'volume-health', 'last-replica-on-node', 'node-local-volume', 'orphan-pvc']) {
      expect(sample(text, `volume_guard_at_risk_volumes{check="${check}"}`)).toBe(0);
      for (const kind of ['Node', 'Namespace', 'PersistentVolumeClaim']) expect(sample(text, `volume_guard_active_overrides{kind="${kind}",check="${check}"}`)).toBe(0);
    }
    for (const check of ['single-replica', 'volume-health', 'last-replica-on-node', 'node-local-volume']) {
      expect(sample(text, `volume_guard_nodes_blocked{check="${check}"}`)).toBe(0);
    }
    expect(text).not.toContain('volume_guard_nodes_blocked{check="orphan-pvc"}');
    expect(text).toContain('# TYPE volume_guard_orphan_pvcs gauge');
    expect(sample(text, 'volume_guard_risk_pending_evaluations')).toBe(0);
  });

  it('has no at_risk_volumes series for the checks it does not count (pvc-delete, storage-teardown): a 0 would read as no risk', async () => {
    // Both judge operations (a PVC or PV delete, a Longhorn teardown or weakened setting) from the request itself;
    // the tracker keeps no count of them, so a 0 there was never a measurement.
    for (const records of [{}, goldenRecords()]) {
      const tracker = new RiskTracker(new ClusterModel(VOLUME_SETS));
      const sink = tracker.sink();
      sink.setLonghornInstalled(true);
      for (const [kind, list] of Object.entries(records)) sink.replaceAll(kind as never, list as never);
      expect(tracker.flush()).toBe(true);
      const registry = new Registry();
      registerRiskMetrics(registry, tracker);
      const text = await registry.metrics();
      const checks = text.split('\n').filter((line) => line.startsWith('volume_guard_at_risk_volumes{')).map((line) => /check="([^"]+)"/.exec(line)?.[1]);
      expect(checks).toEqual(['single-replica', 'volume-health', 'last-replica-on-node', 'node-local-volume', 'orphan-pvc']);
      // Their overrides still count: a PVC's delete approval is pvc-delete's.
      expect(sample(text, 'volume_guard_active_overrides{kind="PersistentVolumeClaim",check="pvc-delete"}')).toBeDefined();
    }
  });

  it('leaves every risk series out until the first full list is in and evaluated', async () => {
    const model = new ClusterModel(VOLUME_SETS);
    let synced = false;
    const tracker = new RiskTracker(model, { synced: () => synced });
    const registry = new Registry();
    registerRiskMetrics(registry, tracker);
    const riskLines = async () =>
      (await registry.metrics()).split('\n').filter((line) => line.startsWith('volume_guard_') && !line.startsWith('#'));
    // Before the first list: nothing at all, not 0 (not "current" either).
    expect(await riskLines()).toEqual([]);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE volume_guard_at_risk_volumes gauge');
    expect(text).toContain('# TYPE volume_guard_risk_pending_evaluations gauge');
    const sink = tracker.sink();
    sink.setLonghornInstalled(true);
    for (const [kind, list] of Object.entries(goldenRecords())) sink.replaceAll(kind as never, list as never);
    synced = true;
    // Listed, not yet evaluated: still nothing (the counts are partial).
    expect(tracker.pending).toBeGreaterThan(0);
    expect(await riskLines()).toEqual([]);
    expect(tracker.flush()).toBe(true);
    const after = await registry.metrics();
    expect(sample(after, 'volume_guard_risk_pending_evaluations')).toBe(0);
    expect(sample(after, 'volume_guard_at_risk_volumes{check="single-replica"}')).toBe(2);
    expect(sample(after, 'volume_guard_nodes_blocked{check="volume-health"}')).toBeDefined();
    expect(sample(after, 'volume_guard_active_overrides{kind="Node",check="node-local-volume"}')).toBe(1);
    // From then on the series stay, whatever is pending.
    sink.upsert('persistentVolumeClaim', pvc({ namespace: 'zz-other', name: 'left', labels: { release: 'gone' } }));
    expect(sample(await registry.metrics(), 'volume_guard_risk_pending_evaluations')).toBeGreaterThan(0);
    expect(sample(await registry.metrics(), 'volume_guard_at_risk_volumes{check="single-replica"}')).toBe(2);
  });

  it('becomes current when a flush catches up, even if every scrape finds new writes pending (a busy cluster)', async () => {
    const model = new ClusterModel(VOLUME_SETS);
    const tracker = new RiskTracker(model, { synced: () => true });
    const registry = new Registry();
    registerRiskMetrics(registry, tracker);
    const sink = tracker.sink();
    for (const [kind, list] of Object.entries(goldenRecords())) sink.replaceAll(kind as never, list as never);
    expect(tracker.flush()).toBe(true);
    // A write lands between the flush and the scrape.
    sink.upsert('persistentVolumeClaim', pvc({ namespace: 'zz-other', name: 'left', labels: { release: 'gone' } }));
    expect(tracker.pending).toBeGreaterThan(0);
    expect(sample(await registry.metrics(), 'volume_guard_risk_pending_evaluations')).toBeGreaterThan(0);
  });

  it('an empty cluster once listed: every series at 0 without waiting for an evaluation', async () => {
    let synced = false;
    const registry = new Registry();
    registerRiskMetrics(registry, new RiskTracker(new ClusterModel(VOLUME_SETS), { synced: () => synced }));
    expect(sample(await registry.metrics(), 'volume_guard_risk_pending_evaluations')).toBeUndefined();
    synced = true;
    expect(sample(await registry.metrics(), 'volume_guard_risk_pending_evaluations')).toBe(0);
    expect(sample(await registry.metrics(), 'volume_guard_at_risk_volumes{check="orphan-pvc"}')).toBe(0);
  });

  it('has no at_risk_volumes series for a check in mode off, and no orphan while orphan-pvc is off; nodes_blocked stays at 0', async () => {
    const tracker = new RiskTracker(new ClusterModel(VOLUME_SETS), { modes: { 'single-replica': 'off', 'orphan-pvc': 'off', 'volume-health': 'warn' } });
    const registry = new Registry();
    registerRiskMetrics(registry, tracker);
    const sink = tracker.sink();
    sink.setLonghornInstalled(true);
    for (const [kind, list] of Object.entries(goldenRecords())) sink.replaceAll(kind as never, list as never);
    expect(tracker.flush()).toBe(true);
    const text = await registry.metrics();
    expect(text).not.toContain('volume_guard_at_risk_volumes{check="single-replica"}');
    expect(text).not.toContain('volume_guard_at_risk_volumes{check="orphan-pvc"}');
    expect(text.split('\n').filter((line) => line.startsWith('volume_guard_orphan_pvcs{'))).toEqual([]);
    // A cordon is refused neither for an off check nor for a warn one: 0 is what happens to a cordon.
    expect(sample(text, 'volume_guard_nodes_blocked{check="single-replica"}')).toBe(0);
    expect(sample(text, 'volume_guard_nodes_blocked{check="volume-health"}')).toBe(0);
    // A warn-mode check's risks are there, as audit reports them (marked warn).
    expect(sample(text, 'volume_guard_at_risk_volumes{check="volume-health"}')).toBe(2);
    expect(sample(text, 'volume_guard_at_risk_volumes{check="last-replica-on-node"}')).toBe(2);
  });

  it('keeps a fixed namespace at 0 rather than dropping its series, within the namespace limit', async () => {
    const tracker = new RiskTracker(new ClusterModel(VOLUME_SETS), { orphanNamespaceLimit: 2 });
    const registry = new Registry();
    registerRiskMetrics(registry, tracker);
    const sink = tracker.sink();
    const orphan = (namespace: string) => pvc({ namespace, name: 'left', labels: { release: 'gone' } });
    const orphanLines = async () => {
      expect(tracker.flush()).toBe(true);
      return (await registry.metrics()).split('\n').filter((l) => l.startsWith('volume_guard_orphan_pvcs{')).sort();
    };
    sink.upsert('persistentVolumeClaim', orphan('shop'));
    expect(await orphanLines()).toEqual(['volume_guard_orphan_pvcs{namespace="shop"} 1']);
    // Fixed: 0, so the chart's alert reads 0 there, also across a restart (last_over_time), not its last orphans.
    sink.remove('persistentVolumeClaim', 'shop/left');
    expect(await orphanLines()).toEqual(['volume_guard_orphan_pvcs{namespace="shop"} 0']);
    // Bounded: the namespaces with orphans first, a fixed one only while the limit (plus "_other") leaves room.
    for (const namespace of ['a', 'b', 'c']) sink.upsert('persistentVolumeClaim', orphan(namespace));
    expect(await orphanLines()).toEqual([
      'volume_guard_orphan_pvcs{namespace="_other"} 1',
      'volume_guard_orphan_pvcs{namespace="a"} 1',
      'volume_guard_orphan_pvcs{namespace="b"} 1',
    ]);
    sink.remove('persistentVolumeClaim', 'a/left');
    // a reads 0 in the room it left; shop, fixed longer ago, has no series left.
    expect(await orphanLines()).toEqual([
      'volume_guard_orphan_pvcs{namespace="_other"} 1',
      'volume_guard_orphan_pvcs{namespace="a"} 0',
      'volume_guard_orphan_pvcs{namespace="b"} 1',
    ]);
  });

  it('reports what the flusher brought up to date in the background', async () => {
    const model = new ClusterModel(VOLUME_SETS);
    const tracker = new RiskTracker(model, { orphanNamespaceLimit: 1 });
    const registry = new Registry();
    registerRiskMetrics(registry, tracker);
    const stop = startRiskFlusher(tracker, { intervalMs: 10 });
    try {
      const sink = tracker.sink();
      sink.setLonghornInstalled(true);
      for (const [kind, list] of Object.entries(goldenRecords())) sink.replaceAll(kind as never, list as never);
      sink.upsert('persistentVolumeClaim', pvc({ namespace: 'zz-other', name: 'left', labels: { release: 'gone' } }));
      expect(sample(await registry.metrics(), 'volume_guard_risk_pending_evaluations')).toBeGreaterThan(0);
      const deadline = Date.now() + 10_000;
      while (tracker.pending > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      const text = await registry.metrics();
      expect(sample(text, 'volume_guard_risk_pending_evaluations')).toBe(0);
      expect(sample(text, 'volume_guard_at_risk_volumes{check="single-replica"}')).toBe(2);
      expect(sample(text, 'volume_guard_nodes_blocked{check="last-replica-on-node"}')).toBe(2);
      expect(sample(text, 'volume_guard_active_overrides{kind="Node",check="node-local-volume"}')).toBe(1);
      // One namespace of its own, the other under "_other"; together every orphan.
      const orphanLines = text.split('\n').filter((l) => l.startsWith('volume_guard_orphan_pvcs{'));
      expect(orphanLines).toHaveLength(2);
      expect(orphanLines.some((l) => l.startsWith('volume_guard_orphan_pvcs{namespace="_other"}'))).toBe(true);
      const total = orphanLines.reduce((sum, l) => sum + Number(l.split(' ')[1]), 0);
      expect(total).toBe(sample(text, 'volume_guard_at_risk_volumes{check="orphan-pvc"}'));
    } finally {
      stop();
    }
  });
});

// The risk gauges as Prometheus scrapes them: every series present from the start (absent-series alerts work),
// values from the tracker, namespaces bounded, and the flusher catching up in the background by itself.
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

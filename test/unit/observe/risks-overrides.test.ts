// The override side of the risk gauges: an override stops counting when it expires or its object changes or goes
// (whatever the clock says then), a PVC's delete approval counts for pvc-delete, and overrides are judged under the
// configured writers as the webhook judges them: no false all-clear in nodes_blocked when nobody may write overrides.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { Labels } from '../../../src/cluster/records.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { registerRiskMetrics, startRiskFlusher } from '../../../src/observe/metrics.ts';
import { RiskTracker, riskTrackerOptionsOf, type OverrideKind } from '../../../src/observe/risks.ts';
import { Registry } from 'prom-client';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { longhornNode, node, pvc, statefulSet, volumeWithReplicas } from '../../support/fixtures.ts';
import { cordonAndAudit, storedSkip } from '../audit/cordon-agreement.ts';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const HOUR = 3_600_000;

/** A stored skip of `checks` by admin until `until` (epoch ms). */
function skipUntil(checks: string, until: number): Labels {
  return storedSkip(checks, { 'volume-guard.io/skip-until': new Date(until).toISOString() });
}

function tracked(config?: Config): { model: ClusterModel; tracker: RiskTracker; sink: ReturnType<RiskTracker['sink']> } {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  // As `serve` builds it from its configuration.
  const tracker = new RiskTracker(model, config ? riskTrackerOptionsOf(config) : {});
  return { model, tracker, sink: tracker.sink() };
}

function overrides(tracker: RiskTracker, kind: OverrideKind): Record<string, number> {
  expect(tracker.flush()).toBe(true);
  return { ...tracker.counts().activeOverrides.get(kind) };
}

describe('volume_guard_active_overrides through an override expiring', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  it('stops counting it when its object is changed after the expiry', () => {
    const { tracker, sink } = tracked();
    sink.upsert('node', node({ name: 'w1', annotations: skipUntil('single-replica', T0 + HOUR) }));
    expect(overrides(tracker, 'Node')['single-replica']).toBe(1);
    vi.setSystemTime(T0 + 24 * HOUR);
    sink.upsert('node', node({ name: 'w1' }));
    expect(overrides(tracker, 'Node')['single-replica']).toBe(0);
  });

  it('stops counting it when its object is removed after the expiry', () => {
    const { tracker, sink } = tracked();
    sink.upsert('node', node({ name: 'w1', annotations: skipUntil('single-replica', T0 + HOUR) }));
    sink.upsert('namespace', { name: 'shop', annotations: skipUntil('orphan-pvc', T0 + HOUR) });
    sink.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data', annotations: { 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-until': new Date(T0 + HOUR).toISOString() } }));
    expect(overrides(tracker, 'Node')['single-replica']).toBe(1);
    expect(overrides(tracker, 'Namespace')['orphan-pvc']).toBe(1);
    expect(overrides(tracker, 'PersistentVolumeClaim')['orphan-pvc']).toBe(1);
    vi.setSystemTime(T0 + 24 * HOUR);
    sink.remove('node', 'w1');
    sink.remove('namespace', 'shop');
    sink.remove('persistentVolumeClaim', 'shop/data');
    expect(overrides(tracker, 'Node')['single-replica']).toBe(0);
    expect(overrides(tracker, 'Namespace')['orphan-pvc']).toBe(0);
    expect(overrides(tracker, 'PersistentVolumeClaim')['orphan-pvc']).toBe(0);
  });

  it('stops counting it at its skip-until with no write, and the node it waived counts as blocked again', () => {
    const { tracker, sink } = tracked();
    sink.setLonghornInstalled(true);
    for (const name of ['w1', 'w2']) sink.upsert('longhornNode', longhornNode({ name }));
    sink.upsert('node', node({ name: 'w1', annotations: skipUntil('single-replica', T0 + HOUR) }));
    sink.upsert('node', node({ name: 'w2' }));
    const { volume, replicas } = volumeWithReplicas('v', ['w1'], { numberOfReplicas: 1 });
    sink.upsert('longhornVolume', volume);
    for (const replica of replicas) sink.upsert('longhornReplica', replica);
    expect(overrides(tracker, 'Node')['single-replica']).toBe(1);
    expect(tracker.counts().nodesBlocked['single-replica']).toBe(0);
    // Not yet: a minute before.
    vi.setSystemTime(T0 + HOUR - 60_000);
    expect(overrides(tracker, 'Node')['single-replica']).toBe(1);
    vi.setSystemTime(T0 + HOUR);
    expect(overrides(tracker, 'Node')['single-replica']).toBe(0);
    expect(tracker.counts().nodesBlocked['single-replica']).toBe(1);
    // A renewal (a later skip-until) counts again until then.
    sink.upsert('node', node({ name: 'w1', annotations: skipUntil('single-replica', T0 + 3 * HOUR) }));
    expect(overrides(tracker, 'Node')['single-replica']).toBe(1);
    expect(tracker.counts().nodesBlocked['single-replica']).toBe(0);
    vi.setSystemTime(T0 + 3 * HOUR + 1);
    expect(overrides(tracker, 'Node')['single-replica']).toBe(0);
    expect(tracker.counts().nodesBlocked['single-replica']).toBe(1);
  });

  it('the background flusher drops an expired override from the gauge by itself', async () => {
    const { tracker, sink } = tracked();
    const registry = new Registry();
    registerRiskMetrics(registry, tracker);
    sink.upsert('node', node({ name: 'w1', annotations: skipUntil('single-replica', T0 + HOUR) }));
    tracker.flush();
    const series = 'volume_guard_active_overrides{kind="Node",check="single-replica"} ';
    const value = async () => (await registry.metrics()).split('\n').find((line) => line.startsWith(series));
    expect(await value()).toBe(`${series}1`);
    const stop = startRiskFlusher(tracker, { intervalMs: 5 });
    try {
      vi.setSystemTime(T0 + 2 * HOUR);
      const deadline = performance.now() + 5_000;
      while ((await value()) !== `${series}0` && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(await value()).toBe(`${series}0`);
    } finally {
      stop();
    }
  });
});

describe('volume_guard_active_overrides{kind="PersistentVolumeClaim"}', () => {
  it('counts a delete approval for pvc-delete, as the README says and audit lists it', () => {
    const { tracker, sink } = tracked();
    sink.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data', annotations: { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'admin' } }));
    expect(overrides(tracker, 'PersistentVolumeClaim')['pvc-delete']).toBe(1);
    sink.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data' }));
    expect(overrides(tracker, 'PersistentVolumeClaim')['pvc-delete']).toBe(0);
  });

  it('does not count a skip on a PVC, annotation or label: no validator reads one', () => {
    const { tracker, sink } = tracked();
    const skip = { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin' };
    sink.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'a', annotations: skip }));
    sink.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'b', annotations: { 'volume-guard.io/skip-by': 'admin' }, labels: { 'volume-guard.io/skip': 'node-local-volume' } }));
    expect(Object.values(overrides(tracker, 'PersistentVolumeClaim')).every((count) => count === 0)).toBe(true);
    // Beside one, its reuse approval still counts.
    sink.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'a', annotations: { ...skip, 'volume-guard.io/reuse': 'true' } }));
    const counted = overrides(tracker, 'PersistentVolumeClaim');
    expect(counted['orphan-pvc']).toBe(1);
    expect(Object.values(counted).reduce((sum, count) => sum + count, 0)).toBe(1);
  });
});

describe('the risk gauges under the configured override writers', () => {
  /** n1 holds the last copy of a volume, and a stored skip of every check by admin. */
  function lastCopySkipped(config: Config): { model: ClusterModel; tracker: RiskTracker } {
    const { model, tracker, sink } = tracked(config);
    sink.setLonghornInstalled(true);
    for (const name of ['n1', 'n2', 'n3']) {
      sink.upsert('node', node({ name, ...(name === 'n1' ? { annotations: storedSkip('*') } : {}) }));
      sink.upsert('longhornNode', longhornNode({ name }));
    }
    const { volume, replicas } = volumeWithReplicas('v', ['n1'], { numberOfReplicas: 3 });
    sink.upsert('longhornVolume', volume);
    for (const replica of replicas) sink.upsert('longhornReplica', replica);
    expect(tracker.flush()).toBe(true);
    return { model, tracker };
  }

  it('nobody may write overrides: the webhook refuses the cordon, audit lists it, and the node counts as blocked', () => {
    const base = defaultConfig();
    const config = { ...base, overrides: { ...base.overrides, allowedGroups: [], allowedUsers: [] } };
    const { model, tracker } = lastCopySkipped(config);
    const agreement = cordonAndAudit(model, 'n1', config);
    expect(agreement.decision.allowed).toBe(false);
    expect(agreement.blocking).toContain('last-replica-on-node:v');
    const counts = tracker.counts();
    expect(counts.nodesBlocked['last-replica-on-node']).toBe(1);
    // Not in force: not counted as an override either.
    expect(Object.values(counts.activeOverrides.get('Node') ?? {}).every((n) => n === 0)).toBe(true);
  });

  it('the default writers (system:masters): the skip is honored by the webhook and the gauges alike', () => {
    const config = defaultConfig();
    const { model, tracker } = lastCopySkipped(config);
    expect(cordonAndAudit(model, 'n1', config).decision.allowed).toBe(true);
    expect(tracker.counts().nodesBlocked['last-replica-on-node']).toBe(0);
    expect(tracker.counts().activeOverrides.get('Node')?.['last-replica-on-node']).toBe(1);
  });

  it('rbac mode with empty lists: a skip with its skip-by counts, as in the webhook', () => {
    const base = defaultConfig();
    const config = { ...base, overrides: { mode: 'rbac' as const, allowedGroups: [], allowedUsers: [] } };
    const { model, tracker } = lastCopySkipped(config);
    expect(cordonAndAudit(model, 'n1', config).decision.allowed).toBe(true);
    expect(tracker.counts().nodesBlocked['last-replica-on-node']).toBe(0);
    expect(tracker.counts().activeOverrides.get('Node')?.['last-replica-on-node']).toBe(1);
  });
});

describe('volume_guard_orphan_pvcs under the approvals and skips the release audit honors', () => {
  const RELEASE = { 'app.kubernetes.io/instance': 'db' };
  const REUSE = { 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'admin' };

  /** The orphans `audit --release shop/db` (installed) reports and does not say are overridden, under `config`. */
  function auditedOrphans(model: ClusterModel, config: Config = defaultConfig()): number {
    const report = buildAuditReport({
      model,
      scope: { kind: 'release', namespace: 'shop', name: 'db', revisions: [{ version: 1, status: 'deployed' }] },
      cluster: { server: 's', context: 'c' },
      generatedAt: 'now',
      writers: config.overrides,
    });
    return report.findings.filter((f) => f.severity === 'critical' && f.object.kind === 'PersistentVolumeClaim' && f.overriddenBy === undefined).length;
  }

  function orphans(tracker: RiskTracker): { byNamespace: [string, number][]; atRisk: number } {
    expect(tracker.flush()).toBe(true);
    const counts = tracker.counts();
    return { byNamespace: [...counts.orphanPvcs], atRisk: counts.atRiskVolumes['orphan-pvc'] };
  }

  it('drops a PVC approved for reuse, and counts it again once the approval is removed', () => {
    const { model, tracker, sink } = tracked(defaultConfig());
    sink.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-0', labels: RELEASE }));
    expect(orphans(tracker)).toEqual({ byNamespace: [['shop', 1]], atRisk: 1 });
    sink.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-0', labels: RELEASE, annotations: REUSE }));
    expect(auditedOrphans(model)).toBe(0);
    expect(orphans(tracker)).toEqual({ byNamespace: [], atRisk: 0 });
    sink.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-0', labels: RELEASE }));
    expect(auditedOrphans(model)).toBe(1);
    expect(orphans(tracker)).toEqual({ byNamespace: [['shop', 1]], atRisk: 1 });
  });

  it('keeps counting an approval without skip-by, or while nobody may write overrides, as the audit does', () => {
    const base = defaultConfig();
    const nobody = { ...base, overrides: { ...base.overrides, allowedGroups: [], allowedUsers: [] } };
    const { model, tracker, sink } = tracked(nobody);
    sink.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-0', labels: RELEASE, annotations: REUSE }));
    sink.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-1', labels: RELEASE, annotations: { 'volume-guard.io/reuse': 'true' } }));
    expect(auditedOrphans(model, nobody)).toBe(2);
    expect(orphans(tracker)).toEqual({ byNamespace: [['shop', 2]], atRisk: 2 });
    const { tracker: defaults, sink: defaultSink } = tracked(base);
    for (const claim of model.records('persistentVolumeClaim')) defaultSink.upsert('persistentVolumeClaim', claim);
    expect(auditedOrphans(model, base)).toBe(1);
    expect(orphans(defaults)).toEqual({ byNamespace: [['shop', 1]], atRisk: 1 });
  });

  it("drops the release's orphans while its namespace's honored skip of orphan-pvc stands, and at its expiry counts them again", () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T0);
    try {
      const { model, tracker, sink } = tracked(defaultConfig());
      sink.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-0', labels: RELEASE }));
      expect(orphans(tracker).atRisk).toBe(1);
      sink.upsert('namespace', { name: 'shop', annotations: skipUntil('orphan-pvc', T0 + HOUR) });
      expect(auditedOrphans(model)).toBe(0);
      expect(orphans(tracker)).toEqual({ byNamespace: [], atRisk: 0 });
      // A skip of another check waives nothing here.
      sink.upsert('namespace', { name: 'shop', annotations: storedSkip('single-replica') });
      expect(orphans(tracker).atRisk).toBe(1);
      sink.upsert('namespace', { name: 'shop', annotations: skipUntil('orphan-pvc', T0 + HOUR) });
      expect(orphans(tracker).atRisk).toBe(0);
      vi.setSystemTime(T0 + 2 * HOUR);
      expect(auditedOrphans(model)).toBe(1);
      expect(orphans(tracker)).toEqual({ byNamespace: [['shop', 1]], atRisk: 1 });
    } finally {
      vi.useRealTimers();
    }
  });

  it("re-evaluates, at a change of the release namespace's skip, every namespace naming one of its releases", () => {
    const { tracker, sink } = tracked(defaultConfig());
    // A StatefulSet Helm installed into `data` for a release stored in `shop`, and an unrelated release elsewhere.
    sink.upsert('statefulSet', statefulSet({ namespace: 'data', name: 'db', helmReleaseName: 'db', helmReleaseNamespace: 'shop' }));
    sink.upsert('persistentVolumeClaim', pvc({ namespace: 'other', name: 'data-web-0', labels: { 'app.kubernetes.io/instance': 'web' } }));
    sink.upsert('namespace', { name: 'shop', annotations: {} });
    expect(tracker.flush()).toBe(true);
    sink.upsert('namespace', { name: 'shop', annotations: storedSkip('orphan-pvc') });
    expect(tracker.pending).toBe(2);
    expect(tracker.flush()).toBe(true);
    // Annotations that do not touch the skip mark nothing.
    sink.upsert('namespace', { name: 'shop', annotations: { ...storedSkip('orphan-pvc'), team: 'payments' } });
    expect(tracker.pending).toBe(0);
  });
});

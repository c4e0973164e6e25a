// The risk gauges, read from a RiskTracker at scrape time (O(label values): nothing is scanned), and the
// background flusher that keeps the tracker current in short slices so admission requests are never held up.
// Until the tracker is ready (the model's first full list evaluated) no risk series has a sample: a 0 then would be a
// false all-clear after every restart.

import { Counter, Gauge, type Registry } from 'prom-client';
import type { EventOutcome } from './events.ts';
import { CHECK_IDS } from '../checks/types.ts';
import { NODE_CHECKS, OVERRIDE_KINDS, type RiskTracker } from './risks.ts';

export const AT_RISK_VOLUMES_METRIC = 'volume_guard_at_risk_volumes';
export const NODES_BLOCKED_METRIC = 'volume_guard_nodes_blocked';
export const ORPHAN_PVCS_METRIC = 'volume_guard_orphan_pvcs';
export const ACTIVE_OVERRIDES_METRIC = 'volume_guard_active_overrides';
export const RISK_PENDING_METRIC = 'volume_guard_risk_pending_evaluations';

/** Empties a gauge: no sample at all (a gauge without labels keeps a 0 after reset(), its remove() drops it). */
function noSamples(gauge: Gauge, labelled = true): void {
  gauge.reset();
  if (!labelled) gauge.remove();
}

/** Registers the risk gauges; each scrape reads the tracker's maintained totals, once the tracker is ready. */
export function registerRiskMetrics(registry: Registry, tracker: RiskTracker): void {
  new Gauge({
    name: AT_RISK_VOLUMES_METRIC,
    help: 'Volumes at risk per check (Longhorn volumes, node-local data a cordon or drain is refused for; orphaned PVCs for orphan-pvc); no series for a check in mode off.',
    labelNames: ['check'],
    registers: [registry],
    collect() {
      if (!tracker.ready) return noSamples(this);
      const counts = tracker.counts().atRiskVolumes;
      // A check turned off is not judged (audit does not report it): no series rather than a 0 that reads as "no risk".
      for (const check of tracker.judgedChecks) this.set({ check }, counts[check]);
    },
  });
  new Gauge({
    name: NODES_BLOCKED_METRIC,
    help: 'Nodes whose cordon or drain the check would refuse now (check in enforce mode, no honored override waiving it), as audit --node judges them.',
    labelNames: ['check'],
    registers: [registry],
    collect() {
      if (!tracker.ready) return noSamples(this);
      const counts = tracker.counts().nodesBlocked;
      for (const check of NODE_CHECKS) this.set({ check }, counts[check]);
    },
  });
  // The namespaces reported with orphans since this pod started, the most recent last. One whose orphans are gone
  // reads 0 rather than losing its series: the chart's alert then reads 0 there, and across a restart its
  // last_over_time finds that 0, not the namespace's last orphans. Only while the namespace limit (plus "_other")
  // leaves room, the most recently fixed first, so the series stay bounded.
  const reported = new Set<string>();
  new Gauge({
    name: ORPHAN_PVCS_METRIC,
    help: 'PVCs labelled for a Helm release that nothing live of the release uses and no honored override lets an install adopt, per namespace (past the limit summed under "_other"); none while orphan-pvc is off.',
    labelNames: ['namespace'],
    registers: [registry],
    collect() {
      this.reset();
      if (!tracker.ready) return;
      const current = tracker.counts().orphanPvcs;
      for (const [namespace, count] of current) {
        this.set({ namespace }, count);
        reported.delete(namespace);
        reported.add(namespace);
      }
      let room = tracker.orphanNamespaceLimit + 1 - current.size;
      for (const namespace of [...reported].reverse()) {
        if (current.has(namespace)) continue;
        if (room > 0) {
          this.set({ namespace }, 0);
          room -= 1;
        } else reported.delete(namespace);
      }
    },
  });
  new Gauge({
    name: ACTIVE_OVERRIDES_METRIC,
    help: 'volume-guard.io/skip, reuse and delete overrides in force on nodes, namespaces and PVCs, per kind and check they waive.',
    labelNames: ['kind', 'check'],
    registers: [registry],
    collect() {
      if (!tracker.ready) return noSamples(this);
      const overrides = tracker.counts().activeOverrides;
      for (const kind of OVERRIDE_KINDS) {
        const byCheck = overrides.get(kind);
        for (const check of CHECK_IDS) this.set({ kind, check }, byCheck?.[check] ?? 0);
      }
    },
  });
  new Gauge({
    name: RISK_PENDING_METRIC,
    help: 'Nodes and namespaces changed since the risk gauges were last brought up to date (0: current; no sample before the first full list is evaluated).',
    registers: [registry],
    collect() {
      if (!tracker.ready) return noSamples(this, false);
      this.set(tracker.pending);
    },
  });
}

export interface RiskFlusherOptions {
  /** How often to look for pending work, ms [500]. */
  readonly intervalMs?: number;
  /** Longest run of evaluation before yielding to the event loop, ms [2]. */
  readonly sliceMs?: number;
  /** Everything is re-evaluated this often, a safety net for dependencies no write marks, ms [15 min]. */
  readonly sweepMs?: number;
}

/** Brings the tracker up to date in the background, a slice at a time between other work. Returns stop(). */
export function startRiskFlusher(tracker: RiskTracker, options: RiskFlusherOptions = {}): () => void {
  const sliceMs = options.sliceMs ?? 2;
  let immediate: NodeJS.Immediate | undefined;
  let stopped = false;
  const step = (): void => {
    immediate = undefined;
    if (stopped) return;
    if (!tracker.flush(sliceMs)) immediate = setImmediate(step);
  };
  const timer = setInterval(() => {
    // An override past its skip-until stops counting now, not at its object's next change.
    tracker.expireOverrides();
    if (immediate === undefined && tracker.pending > 0) step();
  }, options.intervalMs ?? 500);
  timer.unref();
  const sweep = setInterval(() => tracker.markAll(), options.sweepMs ?? 15 * 60_000);
  sweep.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
    clearInterval(sweep);
    if (immediate !== undefined) clearImmediate(immediate);
  };
}

export const EVENTS_METRIC = 'volume_guard_events_total';
const EVENT_OUTCOMES: readonly EventOutcome[] = ['created', 'aggregated', 'patched', 'dropped', 'failed'];

/** Counts Event writes by outcome; every series exists from the start. Returns the recorder's onOutcome. */
export function registerEventMetrics(registry: Registry): (outcome: EventOutcome) => void {
  const counter = new Counter({
    name: EVENTS_METRIC,
    help: 'Events for denied requests: created, aggregated into an earlier one, patched (series count), dropped (queue full), failed (write refused or timed out).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const outcome of EVENT_OUTCOMES) counter.inc({ outcome }, 0);
  return (outcome) => counter.inc({ outcome });
}

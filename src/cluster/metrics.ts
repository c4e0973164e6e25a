import { Counter, Gauge, type Registry } from 'prom-client';
import { RESTART_REASONS, type InformerSet, type RestartReason } from './informers.ts';
import { RESOURCE_KINDS, type ResourceKind } from './records.ts';
import { RESOURCE_SPECS, resourceLabel } from './resources.ts';

export const MODEL_AGE_METRIC = 'volume_guard_model_age_seconds';
export const MODEL_OBJECTS_METRIC = 'volume_guard_model_objects';
export const INFORMER_RESTARTS_METRIC = 'volume_guard_informer_restarts_total';

export interface ModelMetrics {
  /** Pass to the InformerSet: counts every restart by resource and reason. */
  onRestart(resource: string, reason: RestartReason): void;
  /** Starts reporting age and object counts from these informers (read at scrape time). */
  observe(informers: InformerSet, countObjects: (kind: ResourceKind) => number): void;
}

/** Registers the model's metrics on the registry; values are computed when the registry is scraped. */
export function registerModelMetrics(registry: Registry): ModelMetrics {
  const restarts = new Counter({
    name: INFORMER_RESTARTS_METRIC,
    help: 'Informer list/watch restarts, by resource and reason (expired = 410 relist, error, stalled, resync, closed = server ended the watch).',
    labelNames: ['resource', 'reason'],
    registers: [registry],
  });
  // Every series exists from the start, so rate() and absent-series alerts work before the first restart.
  for (const kind of RESOURCE_KINDS) {
    for (const reason of RESTART_REASONS) restarts.inc({ resource: resourceLabel(RESOURCE_SPECS[kind]), reason }, 0);
  }

  let source: { informers: InformerSet; countObjects: (kind: ResourceKind) => number } | undefined;

  new Gauge({
    name: MODEL_AGE_METRIC,
    help: 'Seconds since the model last provably matched the API server, per resource (0 while its watch is connected and alive; +Inf before the first list).',
    labelNames: ['resource'],
    registers: [registry],
    collect() {
      if (!source) return;
      for (const status of source.informers.statuses()) {
        this.set({ resource: status.resource }, status.ageMs / 1000);
      }
    },
  });

  new Gauge({
    name: MODEL_OBJECTS_METRIC,
    help: 'Objects held in the model, per resource.',
    labelNames: ['resource'],
    registers: [registry],
    collect() {
      if (!source) return;
      for (const kind of RESOURCE_KINDS) {
        this.set({ resource: resourceLabel(RESOURCE_SPECS[kind]) }, source.countObjects(kind));
      }
    },
  });

  return {
    onRestart(resource, reason) {
      restarts.inc({ resource, reason });
    },
    observe(informers, countObjects) {
      source = { informers, countObjects };
    },
  };
}

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type AdmissionOutcome = 'allowed' | 'denied' | 'warned' | 'errored' | 'invalid';

/** 50 µs to 5 s: decisions are in-memory lookups, so the interesting range starts well below a millisecond. */
export const ADMISSION_DURATION_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

/**
 * The metrics of one server instance, on their own registry (never prom-client's global one), so tests can
 * build many servers and other layers (the cluster model) can add theirs to `registry`.
 */
export interface ServerMetrics {
  readonly registry: Registry;
  readonly admissionRequests: Counter<'target' | 'operation' | 'decision'>;
  readonly admissionDuration: Histogram<'target'>;
  readonly overrides: Counter<'check'>;
  readonly refusals: Counter<'check' | 'target'>;
  readonly tlsCertNotAfter: Gauge;
  /** Requests dropped: their body bytes would have taken the bytes in flight past admission.maxInflightBodyBytes. */
  readonly bodiesRefused: Counter;
  /** What volume_guard_admission_inflight_body_bytes reads when scraped (the admission server sets it). */
  readonly inflightBodyBytes: { read: () => number };
  /** What volume_guard_ready reads when scraped: /readyz's answer (the ops server sets it). */
  readonly ready: { read: () => boolean };
}

export interface CreateMetricsOptions {
  /** Default process metrics (CPU, memory, event loop lag, GC); on by default. */
  readonly processMetrics?: boolean;
}

export function createMetrics(options: CreateMetricsOptions = {}): ServerMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const inflightBodyBytes = { read: () => 0 };
  const ready = { read: () => false };
  // A pod that answers scrapes but is not ready keeps `up` at 1 (endpoints discovery scrapes not-ready addresses
  // too), while the API server gets no webhook from it: the readiness alert reads this instead.
  new Gauge({
    name: 'volume_guard_ready',
    help: '1 when /readyz answers ready (the cluster model has synced and shutdown has not begun), else 0.',
    registers: [registry],
    collect() {
      this.set(ready.read() ? 1 : 0);
    },
  });
  // Read on scrape, so the request path only adds and subtracts an integer.
  new Gauge({
    name: 'volume_guard_admission_inflight_body_bytes',
    help: 'Request body bytes received and not yet answered, counted against admission.maxInflightBodyBytes.',
    registers: [registry],
    collect() {
      this.set(inflightBodyBytes.read());
    },
  });
  return {
    inflightBodyBytes,
    ready,
    bodiesRefused: new Counter({
      name: 'volume_guard_admission_bodies_refused_total',
      help: 'Requests dropped (connection closed): their body bytes would have taken the bytes in flight past admission.maxInflightBodyBytes.',
      registers: [registry],
    }),
    registry,
    admissionRequests: new Counter({
      name: 'volume_guard_admission_requests_total',
      help: 'AdmissionReview requests by target, operation and outcome (allowed, denied, warned, errored, invalid).',
      labelNames: ['target', 'operation', 'decision'],
      registers: [registry],
    }),
    admissionDuration: new Histogram({
      name: 'volume_guard_admission_duration_seconds',
      help: 'Time from request start to response, per target.',
      labelNames: ['target'],
      buckets: ADMISSION_DURATION_BUCKETS,
      registers: [registry],
    }),
    overrides: new Counter({
      name: 'volume_guard_overrides_total',
      help: 'Requests where a volume-guard.io/skip override was honored, per check.',
      labelNames: ['check'],
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'volume_guard_refusals_total',
      help: 'Requests refused, per check that refused them (stale-model: the cluster state was unknown) and target.',
      labelNames: ['check', 'target'],
      registers: [registry],
    }),
    tlsCertNotAfter: new Gauge({
      name: 'volume_guard_tls_cert_not_after_seconds',
      help: 'Expiry of the serving certificate currently in use, as Unix time.',
      registers: [registry],
    }),
  };
}

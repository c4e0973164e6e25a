// What the server is built from, apart from its configuration: the types serve.ts consumes and
// cluster-dependencies.ts (the informer-fed model and the validators) or a test provides.

import type { Logger } from 'pino';
import type { ValidatorRegistry } from '../admission/registry.ts';
import type { AdmissionRequest, Decision } from '../admission/types.ts';
import type { RemovalRecorder } from '../cluster/pending-removals.ts';
import type { ClusterSnapshot, ModelHealth } from '../cluster/snapshot.ts';
import type { ServerMetrics } from './metrics.ts';

/** What the admission server serves from: the cluster model and the validators. */
export interface ServeDependencies {
  readonly snapshot: ClusterSnapshot;
  readonly health: ModelHealth;
  readonly registry: ValidatorRegistry;
  /** Where the removals volume-guard admits are recorded until the informers show them (the model). */
  readonly removals?: RemovalRecorder;
  /** Called after each admission response was sent (e.g. to record an Event for a denial); must not block. */
  onDecision?(request: AdmissionRequest, decision: Decision): void;
  /** Called after both servers have closed (stop informers and the like). */
  close?(): Promise<void>;
}

export interface DependencyContext {
  readonly log: Logger;
  /** Register the model's own metrics (e.g. volume_guard_model_age_seconds) on `metrics.registry`. */
  readonly metrics: ServerMetrics;
}

import type { ApiCredentials } from './kubeconfig.ts';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { InformerSet, type InformerStatus, type InformerTimings } from './informers.ts';
import type { ModelSink } from './records.ts';
import { HttpKubeClient, type KubeClient } from './kube-client.ts';
import { registerModelMetrics } from './metrics.ts';
import { DEFAULT_LONGHORN_NAMESPACE } from './resources.ts';
import type { ClusterSnapshot, ModelHealth } from './snapshot.ts';
import { DEFAULT_WATCH_STALL_MS, MIN_WATCH_STALL_SECONDS } from './watch-timing.ts';

/** The settings of the cluster model (all optional; defaults in brackets). */
export interface ClusterModelConfig {
  /** Namespace of Longhorn's custom resources [longhorn-system]. */
  readonly longhornNamespace?: string;
  /** Full relist of every resource as a safety net, seconds; 0 disables [600]. */
  readonly resyncSeconds?: number;
  /** How often absent Longhorn CRDs are looked for again, seconds [30]. */
  readonly longhornPollSeconds?: number;
  /** Items per list page [500]. */
  readonly pageSize?: number;
  /**
   * A connected watch silent for half of this (no event, no bookmark) is probed, and restarted only when the probe
   * proves it dead; one outliving its server-side timeout by this much is restarted. Seconds [90].
   */
  readonly watchStallSeconds?: number;
  /** Per list request, seconds [60]. */
  readonly requestTimeoutSeconds?: number;
}

export interface StartClusterModelOptions {
  readonly kubeConfig: ApiCredentials;
  /** The model: written by the informers, counted for `volume_guard_model_objects`. */
  readonly sink: ModelSink & Pick<ClusterSnapshot, 'count'>;
  readonly registry: Registry;
  readonly config?: ClusterModelConfig;
  readonly log: Logger;
  /** Finer timings than the config exposes (tests). */
  readonly timings?: Partial<InformerTimings>;
  /** Another transport than HTTP from the kubeconfig (tests). */
  readonly client?: KubeClient;
}

export interface RunningClusterModel {
  readonly health: ModelHealth;
  statuses(): readonly InformerStatus[];
  stop(): Promise<void>;
}

function secondsToMs(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : seconds * 1000;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>;
}

/**
 * How long a quiet watch counts as current unproven (a probe at half of it proves it), seconds: no longer than the
 * staleness bound, or a silently dead connection would pass for current past that bound; at least
 * MIN_WATCH_STALL_SECONDS, as a probe takes a second to answer and a healthy quiet watch must not flap stale.
 */
export function watchStallSecondsFor(maxStalenessSeconds: number): number {
  return Math.min(DEFAULT_WATCH_STALL_MS / 1000, Math.max(MIN_WATCH_STALL_SECONDS, maxStalenessSeconds));
}

/** Starts every informer; the model fills in the background and `health.synced()` says when it is complete. */
export function startClusterModel(options: StartClusterModelOptions): RunningClusterModel {
  const config = options.config ?? {};
  const requestTimeoutMs = secondsToMs(config.requestTimeoutSeconds);
  const timings: Partial<InformerTimings> = {
    ...definedOnly({
      resyncMs: secondsToMs(config.resyncSeconds),
      absentPollMs: secondsToMs(config.longhornPollSeconds),
      pageSize: config.pageSize,
      stallMs: secondsToMs(config.watchStallSeconds),
      requestTimeoutMs,
    }),
    ...options.timings,
  };
  const metrics = registerModelMetrics(options.registry);
  const informers = new InformerSet({
    client: options.client ?? new HttpKubeClient(options.kubeConfig, timings.requestTimeoutMs),
    sink: options.sink,
    log: options.log.child({ component: 'cluster-model' }),
    longhornNamespace: config.longhornNamespace ?? DEFAULT_LONGHORN_NAMESPACE,
    timings,
    onRestart: (resource, reason) => metrics.onRestart(resource, reason),
  });
  metrics.observe(informers, (kind) => options.sink.count(kind));
  informers.start();
  return {
    health: informers,
    statuses: () => informers.statuses(),
    stop: () => informers.stop(),
  };
}

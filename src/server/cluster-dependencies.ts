// The production wiring of `serve`: the informer-fed cluster model and every validator.
import { allowAllValidator } from '../admission/allow-all.ts';
import { VALIDATOR_FACTORIES } from '../admission/index.ts';
import { createRegistry } from '../admission/registry.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../checks/longhorn-health.ts';
import { createApiCredentials, type KubeConfigOptions } from '../cluster/kubeconfig.ts';
import { ClusterModel } from '../cluster/model.ts';
import type { ModelSink } from '../cluster/records.ts';
import { startClusterModel, watchStallSecondsFor } from '../cluster/start.ts';
import type { Config } from '../config.ts';
import { registerEventMetrics, registerRiskMetrics, startRiskFlusher } from '../observe/metrics.ts';
import { EventRecorder } from '../observe/events.ts';
import { apiEventSink } from '../observe/event-writer.ts';
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import { RiskTracker, riskTrackerOptionsOf } from '../observe/risks.ts';
import type { DependencyContext, ServeDependencies } from './dependencies.ts';

/** The cluster model as the pod holds it, the risk tracker the informers write through, and its flusher. */
export interface RiskTrackedModel {
  readonly model: ClusterModel;
  readonly risks: RiskTracker;
  /** What the informers write to: the model, each write marking what the risk gauges must re-evaluate. */
  readonly sink: ModelSink & Pick<ClusterModel, 'count'>;
  readonly stopRiskFlusher: () => void;
}

/**
 * The model, its risk tracker (gauges registered on `registry`) and the tracker's background flusher, as `serve`
 * builds them before its informers start; the benchmark builds its model with this too, so it measures what a pod
 * pays. `synced` tells the tracker when the first full list is in (absent: the model is the whole cluster at once).
 */
export function createRiskTrackedModel(config: Config, registry: Registry, synced?: () => boolean): RiskTrackedModel {
  // Its volume sets keep the at-risk volumes current on every write, so an upgrade check never scans them all.
  const model = new ClusterModel(VOLUME_SETS, {
    nodeDownGraceMs: config.longhorn.nodeDownGraceSeconds * 1000,
    volumeCounts: VOLUME_COUNTS,
  });
  // The risk gauges follow the model's writes (src/observe): the informers write through the tracker's sink. They
  // judge overrides under the webhook's writers, and have no samples until the first full list is evaluated.
  const risks = new RiskTracker(model, { ...riskTrackerOptionsOf(config), ...(synced ? { synced } : {}) });
  registerRiskMetrics(registry, risks);
  const stopRiskFlusher = startRiskFlusher(risks);
  return { model, risks, sink: risks.sink(), stopRiskFlusher };
}

export function createClusterDependencies(
  config: Config,
  context: DependencyContext,
  kube: KubeConfigOptions = {},
): ServeDependencies {
  const kubeConfig = createApiCredentials(kube);
  // The informers start after the tracker they write through: until then nothing is synced.
  let synced = (): boolean => false;
  const { model, sink, stopRiskFlusher } = createRiskTrackedModel(config, context.metrics.registry, () => synced());
  const running = startClusterModel({
    kubeConfig,
    sink,
    registry: context.metrics.registry,
    config: {
      longhornNamespace: config.longhorn.namespace,
      resyncSeconds: config.model.resyncSeconds,
      watchStallSeconds: watchStallSecondsFor(config.model.maxStalenessSeconds),
    },
    log: context.log,
  });
  synced = () => running.health.synced();
  // Denials recorded as Events on the object they concern, written in the background (src/observe/events.ts).
  let warnedEventFailure = false;
  const events = config.events.enabled
    ? new EventRecorder({
        sink: apiEventSink(kubeConfig),
        instance: process.env['POD_NAME'] ?? hostname(),
        onOutcome: registerEventMetrics(context.metrics.registry),
        onError: (error) => {
          // Once at warn (e.g. RBAC without create on events), then at debug: never a log line per denial.
          const level = warnedEventFailure ? 'debug' : 'warn';
          warnedEventFailure = true;
          context.log[level]({ err: error }, 'cannot write the Event of a denied request (volume_guard_events_total{outcome="failed"})');
        },
      })
    : undefined;
  events?.start();
  const factories = config.admission.allowAll ? [...VALIDATOR_FACTORIES, allowAllValidator] : VALIDATOR_FACTORIES;
  return {
    snapshot: model,
    removals: model,
    health: running.health,
    registry: createRegistry(config, factories),
    ...(events ? { onDecision: (request, decision) => events.record(request, decision) } : {}),
    close: async () => {
      stopRiskFlusher();
      await events?.stop();
      await running.stop();
    },
  };
}

// The production wiring of `serve`: the informer-fed cluster model and every validator.
import { allowAllValidator } from '../admission/allow-all.ts';
import { VALIDATOR_FACTORIES } from '../admission/index.ts';
import { createRegistry } from '../admission/registry.ts';
import { VOLUME_SETS } from '../checks/longhorn-health.ts';
import { createKubeConfig, type KubeConfigOptions } from '../cluster/kubeconfig.ts';
import { ClusterModel } from '../cluster/model.ts';
import { startClusterModel } from '../cluster/start.ts';
import type { Config } from '../config.ts';
import type { DependencyContext, ServeDependencies } from './serve.ts';

export function createClusterDependencies(
  config: Config,
  context: DependencyContext,
  kube: KubeConfigOptions = {},
): ServeDependencies {
  // Its volume sets keep the at-risk volumes current on every write, so an upgrade check never scans them all.
  const model = new ClusterModel(VOLUME_SETS, { nodeDownGraceMs: config.longhorn.nodeDownGraceSeconds * 1000 });
  const running = startClusterModel({
    kubeConfig: createKubeConfig(kube),
    sink: model,
    registry: context.metrics.registry,
    config: { longhornNamespace: config.longhorn.namespace, resyncSeconds: config.model.resyncSeconds },
    log: context.log,
  });
  const factories = config.admission.allowAll ? [...VALIDATOR_FACTORIES, allowAllValidator] : VALIDATOR_FACTORIES;
  return {
    snapshot: model,
    health: running.health,
    registry: createRegistry(config, factories),
    close: () => running.stop(),
  };
}

import { KubeConfig } from '@kubernetes/client-node';

export interface KubeConfigOptions {
  /** A kubeconfig file; without it: $KUBECONFIG, ~/.kube/config, or the in-cluster service account. */
  readonly kubeconfigPath?: string;
  /** A context of that kubeconfig other than its current one. */
  readonly context?: string;
}

const UNCONFIGURED_FALLBACK_SERVER = 'http://localhost:8080';

/**
 * The credentials volume-guard talks to the API server with. With no path, client-node's default
 * resolution applies (in a pod: the service account); the admin-run CLI passes a kubeconfig file.
 */
export function createKubeConfig(options: KubeConfigOptions = {}): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (options.kubeconfigPath) {
    kubeConfig.loadFromFile(options.kubeconfigPath);
  } else {
    // $KUBECONFIG, then ~/.kube/config, then the pod's service account token.
    kubeConfig.loadFromDefault();
    // With none of them client-node falls back to an unauthenticated http://localhost:8080: refuse that.
    if (kubeConfig.getCurrentContext() === 'loaded-context' && kubeConfig.getCurrentCluster()?.server === UNCONFIGURED_FALLBACK_SERVER) {
      throw new Error('no kubeconfig found ($KUBECONFIG, ~/.kube/config) and not running in a pod');
    }
  }
  if (options.context) {
    if (!kubeConfig.getContextObject(options.context)) throw new Error(`kubeconfig has no context "${options.context}"`);
    kubeConfig.setCurrentContext(options.context);
  }
  if (!kubeConfig.getCurrentCluster()) throw new Error('kubeconfig has no current cluster');
  return kubeConfig;
}

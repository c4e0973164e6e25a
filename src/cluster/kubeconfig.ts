// Credentials for the API server. In a pod (the chart's case) a small service-account loader reads the token and
// CA itself: @kubernetes/client-node's KubeConfig pulls in the whole generated client at import (~80 MiB RSS, more
// than the large cluster's model), so it is loaded, synchronously and only then, for kubeconfig files.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** What volume-guard's API client needs of its credentials (a client-node KubeConfig has both). */
export interface ApiCredentials {
  getCurrentCluster(): { readonly server: string } | null;
  /** Sets the CA, client certificate and Authorization header the server is talked to with. */
  applyToHTTPSOptions(options: https.RequestOptions): Promise<void>;
}

type KubeConfigClass = typeof KubeConfig;

function kubeConfigClass(): KubeConfigClass {
  const load = createRequire(import.meta.url);
  return (load('@kubernetes/client-node') as { KubeConfig: KubeConfigClass }).KubeConfig;
}

/**
 * No usable kubeconfig (none found, a file that does not load, a context or cluster it lacks): a configuration
 * mistake the CLI says in one line (exit 2), not a crash with a stack.
 */
export class KubeconfigError extends Error {
  override readonly name = 'KubeconfigError';
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** How long a read token is used before the file is read again (the kubelet rotates projected tokens). */
const TOKEN_REREAD_MS = 60_000;

/**
 * The pod's service account: the API server at https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, its CA
 * and the projected token, both re-read every minute (the kubelet rotates the token well before it expires).
 */
export class InClusterCredentials implements ApiCredentials {
  readonly #cluster: { readonly server: string };
  readonly #dir: string;
  readonly #now: () => number;
  #read: { at: number; token: string; ca: Buffer } | undefined;

  constructor(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR, now: () => number = Date.now) {
    const host = env['KUBERNETES_SERVICE_HOST'];
    const port = env['KUBERNETES_SERVICE_PORT'];
    if (!host || !port) throw new Error('not running in a pod: $KUBERNETES_SERVICE_HOST/$KUBERNETES_SERVICE_PORT are not set');
    // Always TLS, whatever the port (as client-go's InClusterConfig): the bearer token never goes out in clear.
    this.#cluster = { server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}` };
    this.#dir = dir;
    this.#now = now;
  }

  getCurrentCluster(): { readonly server: string } {
    return this.#cluster;
  }

  applyToHTTPSOptions(options: https.RequestOptions): Promise<void> {
    const now = this.#now();
    if (!this.#read || now - this.#read.at >= TOKEN_REREAD_MS) {
      this.#read = {
        at: now,
        token: readFileSync(join(this.#dir, 'token'), 'utf8').trim(),
        ca: readFileSync(join(this.#dir, 'ca.crt')),
      };
    }
    options.ca = this.#read.ca;
    options.headers = { ...options.headers, Authorization: `Bearer ${this.#read.token}` };
    return Promise.resolve();
  }
}

/**
 * The credentials `serve` uses: a kubeconfig when one is given or found ($KUBECONFIG, ~/.kube/config), as client-node
 * resolves them; otherwise, in a pod, the service account without loading client-node.
 */
export function createApiCredentials(options: KubeConfigOptions = {}, env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): ApiCredentials {
  const kubeconfigFound = Boolean(options.kubeconfigPath) || Boolean(env['KUBECONFIG']) || existsSync(join(homedir(), '.kube', 'config'));
  if (!kubeconfigFound && !options.context && env['KUBERNETES_SERVICE_HOST']) {
    const token = join(dir, 'token');
    if (existsSync(token)) return new InClusterCredentials(env, dir);
    // The kubelet sets the variable in every container; the token is there only when the pod mounts it.
    throw new KubeconfigError(
      `in a pod ($KUBERNETES_SERVICE_HOST is set) without its service account token (${token}) and no kubeconfig: ` +
        'mount the token (automountServiceAccountToken: true on the pod, as the chart sets it; a policy turning it off leaves volume-guard without credentials)',
    );
  }
  return createKubeConfig(options, env);
}

export interface KubeConfigOptions {
  /** A kubeconfig file; without it: $KUBECONFIG, ~/.kube/config, or the in-cluster service account. */
  readonly kubeconfigPath?: string;
  /** A context of that kubeconfig other than its current one. */
  readonly context?: string;
}

const UNCONFIGURED_FALLBACK_SERVER = 'http://localhost:8080';

/**
 * $KUBECONFIG as kubectl (client-go) reads it: a list of files (path.delimiter), those missing or empty skipped, the
 * rest merged, the first file to set a cluster, user or context name, or the current context, winning. client-node's
 * own loader fails on a missing or empty file, and lets later files override. Fails when none can be read.
 */
function loadKubeconfigList(KubeConfigOf: KubeConfigClass, list: string): KubeConfig {
  const files = list.split(delimiter).filter((file) => file !== '');
  const loaded: KubeConfig[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    if (text.trim() === '') continue;
    const one = new KubeConfigOf();
    try {
      one.loadFromFile(file);
    } catch (error) {
      throw new KubeconfigError(`${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
    loaded.push(one);
  }
  if (loaded.length === 0) throw new KubeconfigError(`no kubeconfig in $KUBECONFIG (${files.join(delimiter)}): every file is missing or empty`);
  const firstByName = <T extends { readonly name: string }>(lists: readonly (readonly T[])[]): T[] => {
    const byName = new Map<string, T>();
    for (const entries of lists) for (const entry of entries) if (!byName.has(entry.name)) byName.set(entry.name, entry);
    return [...byName.values()];
  };
  const merged = new KubeConfigOf();
  merged.loadFromOptions({
    clusters: firstByName(loaded.map((one) => one.clusters)),
    users: firstByName(loaded.map((one) => one.users)),
    contexts: firstByName(loaded.map((one) => one.contexts)),
    currentContext: loaded.map((one) => one.currentContext).find((name) => name !== undefined && name !== '') ?? '',
  });
  return merged;
}

/**
 * The credentials volume-guard talks to the API server with. With no path, client-node's default
 * resolution applies (in a pod: the service account); the admin-run CLI passes a kubeconfig file.
 */
export function createKubeConfig(options: KubeConfigOptions = {}, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const KubeConfigOf = kubeConfigClass();
  let kubeConfig = new KubeConfigOf();
  const list = env['KUBECONFIG'] ?? '';
  if (options.kubeconfigPath) {
    try {
      kubeConfig.loadFromFile(options.kubeconfigPath);
    } catch (error) {
      throw new KubeconfigError(`${options.kubeconfigPath}: ${error instanceof Error ? error.message : String(error)}`);
    }
  } else if (list !== '') {
    kubeConfig = loadKubeconfigList(KubeConfigOf, list);
  } else {
    // ~/.kube/config, then the pod's service account token.
    kubeConfig.loadFromDefault();
    // With none of them client-node falls back to an unauthenticated http://localhost:8080: refuse that.
    if (kubeConfig.getCurrentContext() === 'loaded-context' && kubeConfig.getCurrentCluster()?.server === UNCONFIGURED_FALLBACK_SERVER) {
      throw new KubeconfigError('no kubeconfig found ($KUBECONFIG, ~/.kube/config) and not running in a pod');
    }
  }
  if (options.context) {
    if (!kubeConfig.getContextObject(options.context)) throw new KubeconfigError(`kubeconfig has no context "${options.context}"`);
    kubeConfig.setCurrentContext(options.context);
  }
  if (!kubeConfig.getCurrentCluster()) throw new KubeconfigError('kubeconfig has no current cluster');
  return plainHttpAsKubectl(KubeConfigOf, kubeConfig);
}

/**
 * A plain http:// server (`kubectl proxy`) spoken to without TLS, as kubectl does: client-go sets up TLS for https://
 * hosts only. client-node refuses an http:// server unless insecure-skip-tls-verify is set, which verifies nothing
 * there is no TLS to verify: it is set for those clusters, and only for them.
 */
function plainHttpAsKubectl(KubeConfigOf: KubeConfigClass, kubeConfig: KubeConfig): KubeConfig {
  const plain = (server: string): boolean => server.toLowerCase().startsWith('http:');
  if (!kubeConfig.clusters.some((cluster) => plain(cluster.server) && cluster.skipTLSVerify !== true)) return kubeConfig;
  const fixed = new KubeConfigOf();
  fixed.loadFromOptions({
    clusters: kubeConfig.clusters.map((cluster) => (plain(cluster.server) ? { ...cluster, skipTLSVerify: true } : cluster)),
    users: kubeConfig.users,
    contexts: kubeConfig.contexts,
    currentContext: kubeConfig.currentContext,
  });
  return fixed;
}

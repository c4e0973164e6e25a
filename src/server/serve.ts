// `volume-guard serve`: the HTTPS admission server and the plain-HTTP ops server, with certificate hot reload
// and graceful shutdown. startServer()/stop() are what tests use; serve() adds the signal handling.

import type { AddressInfo } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ValidatorRegistry } from '../admission/registry.ts';
import type { Config } from '../config.ts';
import { buildAdmissionApp, buildOpsApp } from './app.ts';
import { createClusterDependencies } from './cluster-dependencies.ts';
import type { DependencyContext, ServeDependencies } from './dependencies.ts';
import { createMetrics } from './metrics.ts';
import type { ServerMetrics } from './metrics.ts';
import { overrideWriterWarnings } from '../admission/overrides.ts';
import { CertificateReloader, TLS_MIN_VERSION, clientAuthServerOptions, loadServingPair } from './tls.ts';
import type { ServingPair, TlsFiles } from './tls.ts';

// Connection timing, chosen for the API server as the only client:
// - keep-alive 120 s: the API server's webhook client (Go net/http transport) drops idle connections after 90 s.
//   Staying open longer means the client always closes first, so a request never races a server-side close.
// - request 30 s: the API server gives up on a webhook after at most 30 s (timeoutSeconds 1..30).
// - headers 10 s, TLS handshake 10 s, checked every 2 s: a slow-loris client cannot hold sockets for long.
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;
export const REQUEST_TIMEOUT_MS = 30_000;
export const HEADERS_TIMEOUT_MS = 10_000;
export const HANDSHAKE_TIMEOUT_MS = 10_000;
const CONNECTIONS_CHECKING_INTERVAL_MS = 2_000;

export type { DependencyContext, ServeDependencies } from './dependencies.ts';

/**
 * The single wiring point between the server and the rest of volume-guard: the informer-fed cluster model
 * (credentials: $KUBECONFIG, ~/.kube/config, or the pod's service account) and every validator.
 */
export async function createServeDependencies(config: Config, context: DependencyContext): Promise<ServeDependencies> {
  return createClusterDependencies(config, context);
}

export interface StartServerOptions {
  readonly config: Config;
  readonly log: Logger;
  /** Defaults to createServeDependencies(config). */
  readonly dependencies?: ServeDependencies;
  /** Defaults to a fresh registry with process metrics. */
  readonly metrics?: ServerMetrics;
  /** Debounce between a certificate file event and the re-read (tests shorten it). */
  readonly certificateDebounceMs?: number;
}

export interface RunningServer {
  readonly admissionAddress: AddressInfo;
  readonly opsAddress: AddressInfo;
  /** The underlying Node servers, for connection-level observation (tests, diagnostics). */
  readonly admissionServer: HttpsServer;
  readonly opsServer: HttpServer;
  readonly metrics: ServerMetrics;
  readonly reloader: CertificateReloader;
  readonly registry: ValidatorRegistry;
  /** Ready for admission traffic: model synced and not shutting down. */
  readiness(): boolean;
  readonly shuttingDown: boolean;
  /**
   * Graceful shutdown: readiness false, wait shutdown.drainDelayMs, stop accepting, let in-flight requests
   * finish (idle keep-alive connections close at once), cut off whatever remains after shutdown.timeoutMs.
   * Idempotent: every call returns the same promise.
   */
  stop(reason?: string): Promise<void>;
}

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { config, log } = options;
  const files: TlsFiles = {
    certFile: config.admission.tls.certFile,
    keyFile: config.admission.tls.keyFile,
    caFile: config.admission.tls.caFile,
    clientCaFile: config.admission.tls.clientCaFile,
  };
  const pair: ServingPair = await loadServingPair(files);
  const metrics = options.metrics ?? createMetrics();
  const dependencies = options.dependencies ?? (await createServeDependencies(config, { log, metrics }));

  let shuttingDown = false;
  const readiness = () => !shuttingDown && dependencies.health.synced();

  const admission = buildAdmissionApp({
    config,
    registry: dependencies.registry,
    snapshot: dependencies.snapshot,
    health: dependencies.health,
    ...(dependencies.removals ? { removals: dependencies.removals } : {}),
    metrics,
    log,
    https: {
      cert: pair.certPem,
      key: pair.keyPem,
      minVersion: TLS_MIN_VERSION,
      ...clientAuthServerOptions(pair),
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS,
    },
    shuttingDown: () => shuttingDown,
    ...(dependencies.onDecision ? { onDecision: dependencies.onDecision.bind(dependencies) } : {}),
    // The reloader is created below; requests only arrive once it exists.
    clientCertificateAuthorities: () => (reloaderRef ?? { current: pair }).current.clientCas,
    keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
  });
  const httpsServer = admission.server as HttpsServer;
  httpsServer.headersTimeout = HEADERS_TIMEOUT_MS;
  const ops = buildOpsApp({ metrics, log, readiness });

  // eslint-disable-next-line prefer-const -- assigned once, after the app that reads it is built
  let reloaderRef: CertificateReloader | undefined;
  const reloader = new CertificateReloader({
    files,
    target: httpsServer,
    initial: pair,
    pollIntervalMs: config.admission.tls.pollIntervalMs,
    log,
    notAfterGauge: metrics.tlsCertNotAfter,
    ...(options.certificateDebounceMs === undefined ? {} : { debounceMs: options.certificateDebounceMs }),
  });

  reloaderRef = reloader;
  try {
    await admission.listen({ port: config.admission.port, host: config.admission.host });
    await ops.listen({ port: config.ops.port, host: config.ops.host });
  } catch (error) {
    await Promise.allSettled([admission.close(), ops.close()]);
    await dependencies.close?.();
    throw error;
  }
  reloader.start();

  const admissionAddress = admission.server.address() as AddressInfo;
  const opsAddress = ops.server.address() as AddressInfo;
  log.info(
    {
      admission: `https://${config.admission.host}:${admissionAddress.port}`,
      ops: `http://${config.ops.host}:${opsAddress.port}`,
      targets: dependencies.registry.targets(),
      serialNumber: pair.serialNumber,
      certificateNotAfter: pair.notAfter.toISOString(),
    },
    'volume-guard serving',
  );
  for (const warning of overrideWriterWarnings(config.overrides)) log.warn({ overrides: config.overrides }, warning);
  if (config.admission.tls.clientCaFile === '') {
    log.warn('admission.tls.clientCaFile is not set: any caller that reaches the admission port can send reviews (see Security in the README)');
  } else {
    log.info({ clientCa: pair.clientCaSubjects, clientNames: config.admission.tls.clientNames }, 'admission callers must present a client certificate');
  }

  let stopping: Promise<void> | undefined;
  async function shutdown(reason: string): Promise<void> {
    shuttingDown = true;
    log.info({ reason, drainDelayMs: config.shutdown.drainDelayMs }, 'shutting down: readiness is now false');
    if (config.shutdown.drainDelayMs > 0) await sleep(config.shutdown.drainDelayMs);
    reloader.stop();
    const force = setTimeout(() => {
      log.warn({ timeoutMs: config.shutdown.timeoutMs }, 'shutdown timeout: closing remaining connections');
      httpsServer.closeAllConnections();
      ops.server.closeAllConnections();
    }, config.shutdown.timeoutMs);
    try {
      // Stops accepting, closes idle keep-alive connections, waits for in-flight requests.
      await admission.close();
      await ops.close();
    } finally {
      clearTimeout(force);
    }
    await dependencies.registry.close();
    await dependencies.close?.();
    log.info('volume-guard stopped');
  }

  return {
    admissionAddress,
    opsAddress,
    admissionServer: httpsServer,
    opsServer: ops.server,
    metrics,
    reloader,
    registry: dependencies.registry,
    readiness,
    get shuttingDown() {
      return shuttingDown;
    },
    stop(reason = 'stop requested') {
      stopping ??= shutdown(reason);
      return stopping;
    },
  };
}

export interface ServeOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly dependencies?: ServeDependencies;
}

/** Run until SIGTERM or SIGINT, then shut down gracefully and exit 0. A second signal exits at once. */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const running = await startServer(options);
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      options.log.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    signalled = true;
    running.stop(signal).then(
      () => options.log.flush(() => process.exit(0)),
      (error: unknown) => {
        options.log.error({ err: error }, 'shutdown failed');
        options.log.flush(() => process.exit(1));
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return running;
}

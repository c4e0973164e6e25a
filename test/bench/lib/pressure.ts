// Section "pressure": cordons at a steady rate while Helm release CREATEs with 100 KB, 1 MB and hostile 2 MiB
// manifests (deep flow-style YAML, anchors fanning out) arrive back to back on other connections. The same cordon
// stream runs first alone, then under the Helm load, against the same server, so the two are compared side by
// side. What matters: cordon p99 and that no cordon fails while manifests are parsed.
//
// The cordon stream runs in a process of its own (lib/steady-load.ts), as the API server is a client apart from
// whoever sends the Helm releases; then, under a second round of Helm load, once more in this process beside the
// autocannon clients (how it was measured before 2026-12-02, kept as `underHelmSameProcess` for comparison).

import { LOG_FLUSH_DELAY_MS } from '../../../src/logging.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WORKER_COMPACT_AFTER_IDLE_MS } from '../../../src/helm/manifest-pool.ts';
import { createCertificateAuthority } from '../../../src/server/selfsigned.ts';
import type { HelmReleaseRef } from '../../support/fixtures.ts';
import { admissionUrl, adversarialManifest, helmInstallReviewOf } from './cases.ts';
import { startServerChild, type ServerChild } from './children.ts';
import { runLoad, type LoadResult } from './load.ts';
import type { ClusterSize, MemoryFigures } from './protocol.ts';
import type { LatencySummary } from './stats.ts';
import { steadyLoad, steadyLoadInChild, type SteadyLoadOptions, type SteadyLoadResult } from './steady-load.ts';

export interface PressureOptions {
  readonly size: ClusterSize;
  /** Cordons per second (steady, over `cordonConnections`). */
  readonly cordonRate: number;
  readonly cordonConnections: number;
  readonly durationSeconds: number;
  readonly logLevel: string;
  readonly log: (line: string) => void;
}

export interface CordonRun {
  readonly client: SteadyLoadResult;
  /** Server-side durations (Fastify onRequest → response sent) from volume-guard's admission log lines. */
  readonly server?: LatencySummary;
  /** Non-2xx answers, connection errors and timeouts. */
  readonly failures: number;
}

export interface PressureResult {
  readonly size: ClusterSize;
  readonly cordonCase: string;
  readonly cordonRate: number;
  readonly durationSeconds: number;
  /** Where the cordon client of `alone` and `underHelm` ran. */
  readonly cordonClient: 'own-process';
  readonly alone: CordonRun;
  /**
   * The same cordon stream, alone, against the minimal correct webhook (a child of its own, same certificate): what
   * the client, TLS and loopback add at this rate whatever the server does, read beside `alone` and `underHelm`.
   */
  readonly floorAlone?: SteadyLoadResult;
  readonly underHelm: CordonRun;
  /**
   * The same cordon stream under a second round of the same Helm load, sent from the benchmark's own process
   * (sharing its event loop with the Helm streams' clients): the earlier way of measuring, for comparison.
   */
  readonly underHelmSameProcess?: CordonRun;
  /** Each Helm stream on its own connection, back to back, during `underHelm`. */
  readonly helm: readonly { readonly manifest: '100k' | '1m' | 'hostile-2m'; readonly bodyBytes: number; readonly run: LoadResult }[];
  /** Right after the last Helm answer (the server's main thread collected; its manifest workers as they are). */
  readonly memoryAfter: MemoryFigures;
  /**
   * SETTLE_MS later, nothing sent meanwhile: the manifest workers, idle, have shrunk their heaps
   * (WORKER_COMPACT_AFTER_IDLE_MS) as they do after any burst of releases. What a pod holds after the load.
   */
  readonly memoryAfterSettled: MemoryFigures;
  readonly settleMs: number;
}

/** Longer than WORKER_COMPACT_AFTER_IDLE_MS, with room for the compaction itself (a nice-19 thread on a busy machine). */
const SETTLE_MS = WORKER_COMPACT_AFTER_IDLE_MS + 4_000;

const HOSTILE: HelmReleaseRef = { namespace: 'bench-pressure', name: 'hostile', statefulSet: 'hostile-db', replicas: 1 };

export async function runPressure(options: PressureOptions): Promise<PressureResult> {
  const dir = join(tmpdir(), `volume-guard-bench-pressure-${process.pid}`);
  await mkdir(dir, { recursive: true });
  let guard: ServerChild | undefined;
  let floor: ServerChild | undefined;
  try {
    const ca = await createCertificateAuthority();
    const leaf = await ca.issue({ ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
    const certFile = join(dir, 'tls.crt');
    const keyFile = join(dir, 'tls.key');
    await writeFile(certFile, leaf.certPem);
    await writeFile(keyFile, leaf.keyPem, { mode: 0o600 });
    options.log(`[pressure] ${options.size}: building the model…`);
    guard = await startServerChild({
      mode: 'guard',
      size: options.size,
      certFile,
      keyFile,
      // Log lines through a pipe to this process: a log file's page cache would count in the child's memory cgroup.
      logToParent: true,
      logLevel: options.logLevel,
      caseFilter: ['cordon-typical', 'helm-install-allow'],
    });
    const admissionLog = guard.admissionLog;
    if (!admissionLog) throw new Error('the server child does not pass its log lines on');
    const cases = guard.ready.cases ?? [];
    const cordon = cases.find((figures) => figures.id === 'cordon-typical');
    if (!cordon) throw new Error('no cordon-typical case at this size');
    const helmCases = (['100k', '1m'] as const).map((label) => ({ label, body: cases.find((figures) => figures.id === `helm-install-allow-${label}`)?.body }));
    if (helmCases.some((entry) => entry.body === undefined)) throw new Error('the helm-release target is not served: no Helm load to apply');
    const hostileBody = helmInstallReviewOf(HOSTILE, adversarialManifest(HOSTILE, 2 * 1024 * 1024));
    const cordonUrl = admissionUrl(guard.ready.port, 'node-cordon');
    const helmUrl = admissionUrl(guard.ready.port, 'helm-release');
    const steady: SteadyLoadOptions = {
      url: cordonUrl,
      body: cordon.body,
      caPem: ca.certPem,
      rate: options.cordonRate,
      connections: options.cordonConnections,
      durationSeconds: options.durationSeconds,
      timeoutMs: 10_000,
    };
    /** The cordon stream from a child process: started once the child is ready (its start-up is not measured). */
    const cordonLoadInChild = async (): Promise<() => Promise<SteadyLoadResult>> => {
      const child = steadyLoadInChild(steady);
      await child.ready;
      return () => child.start();
    };
    const measured = async (run: () => Promise<SteadyLoadResult>, beside: () => Promise<LoadResult>[] = () => []): Promise<CordonRun & { besideRuns: Promise<LoadResult>[] }> => {
      admissionLog.mark();
      const besideRuns = beside();
      const client = await run();
      // The server writes its log lines at most LOG_FLUSH_DELAY_MS late (LineBatcher).
      await sleep(LOG_FLUSH_DELAY_MS * 3);
      const server = admissionLog.durations('node-cordon');
      return { client, ...(server ? { server } : {}), failures: client.non2xx + client.errors + client.timeouts, besideRuns };
    };
    const cordonRun = ({ besideRuns: _besideRuns, ...run }: CordonRun & { besideRuns: unknown }): CordonRun => run;
    // Warm up both paths (JIT, connections), then the cordon stream alone, then under Helm load.
    await runLoad({ url: cordonUrl, body: cordon.body, connections: options.cordonConnections, durationSeconds: 0.5 });
    await runLoad({ url: helmUrl, body: helmCases[0]!.body!, connections: 1, durationSeconds: 0.5 });
    options.log(`[pressure] cordons alone at ${options.cordonRate}/s…`);
    const alone = cordonRun(await measured(await cordonLoadInChild()));
    options.log(`[pressure] the same cordons at ${options.cordonRate}/s against the minimal correct webhook…`);
    floor = await startServerChild({ mode: 'floor', certFile, keyFile });
    const floorUrl = admissionUrl(floor.ready.port, 'node-cordon');
    await runLoad({ url: floorUrl, body: cordon.body, connections: options.cordonConnections, durationSeconds: 0.5 });
    const floorChild = steadyLoadInChild({ ...steady, url: floorUrl });
    await floorChild.ready;
    const floorAlone = await floorChild.start();
    await floor.stop();
    floor = undefined;
    options.log('[pressure] cordons while Helm releases (100 KB, 1 MB, hostile 2 MiB) arrive…');
    const streams = [
      ...helmCases.map((entry) => ({ manifest: entry.label, body: entry.body! })),
      { manifest: 'hostile-2m' as const, body: hostileBody },
    ];
    const helmLoad = () =>
      streams.map((stream) =>
        runLoad({ url: helmUrl, body: stream.body, connections: 1, durationSeconds: options.durationSeconds, timeoutSeconds: 30 }),
      );
    const underHelmRun = await measured(await cordonLoadInChild(), helmLoad);
    const helm = (await Promise.all(underHelmRun.besideRuns)).map((run, i) => ({ manifest: streams[i]!.manifest, bodyBytes: Buffer.byteLength(streams[i]!.body), run }));
    const underHelm = cordonRun(underHelmRun);
    options.log('[pressure] the same, the cordon client in this process (as measured before)…');
    const sameProcessRun = await measured(() => steadyLoad(steady), helmLoad);
    await Promise.all(sameProcessRun.besideRuns);
    const underHelmSameProcess = cordonRun(sameProcessRun);
    const memoryAfter = await guard.memory();
    await sleep(SETTLE_MS);
    const memoryAfterSettled = await guard.memory();
    options.log(
      `[pressure] cordon p99 alone ${alone.server?.p99 ?? 'n/a'} µs server / ${alone.client.latency.p99} µs client (the floor: ${floorAlone.latency.p99} µs client); under Helm ${underHelm.server?.p99 ?? 'n/a'} µs / ${underHelm.client.latency.p99} µs ` +
        `(client in this process: ${underHelmSameProcess.server?.p99 ?? 'n/a'} µs / ${underHelmSameProcess.client.latency.p99} µs); failures ${underHelm.failures}`,
    );
    return {
      size: options.size,
      cordonCase: cordon.id,
      cordonRate: options.cordonRate,
      durationSeconds: options.durationSeconds,
      cordonClient: 'own-process',
      alone,
      floorAlone,
      underHelm,
      underHelmSameProcess,
      helm,
      memoryAfter,
      memoryAfterSettled,
      settleMs: SETTLE_MS,
    };
  } finally {
    await floor?.stop();
    await guard?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

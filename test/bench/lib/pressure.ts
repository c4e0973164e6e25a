// Section "pressure": cordons at a steady rate while Helm release CREATEs with 100 KB, 1 MB and hostile 2 MiB
// manifests (deep flow-style YAML, anchors fanning out) arrive back to back on other connections. The same cordon
// stream runs first alone, then under the Helm load, against the same server, so the two are compared side by
// side. What matters: cordon p99 and that no cordon fails while manifests are parsed.

import { readFileSync, statSync } from 'node:fs';
import { LOG_FLUSH_DELAY_MS } from '../../../src/logging.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request as httpsRequest } from 'node:https';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority } from '../../../src/server/selfsigned.ts';
import type { HelmReleaseRef } from '../../support/fixtures.ts';
import { adversarialManifest, helmInstallReviewOf } from './cases.ts';
import { startServerChild, type ServerChild } from './children.ts';
import { runLoad, type LoadResult } from './load.ts';
import type { ClusterSize, MemoryFigures } from './protocol.ts';
import { summarize, type LatencySummary } from './stats.ts';

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
  readonly client: LoadResult;
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
  readonly alone: CordonRun;
  readonly underHelm: CordonRun;
  /** Each Helm stream on its own connection, back to back, during `underHelm`. */
  readonly helm: readonly { readonly manifest: '100k' | '1m' | 'hostile-2m'; readonly bodyBytes: number; readonly run: LoadResult }[];
  readonly memoryAfter: MemoryFigures;
}

/**
 * Open-loop steady load: a request every 1000/rate ms whether or not the previous ones were answered (so a stalled
 * server shows up as latency, not as fewer requests sent), over at most `connections` keep-alive connections.
 * Latency is taken from the moment a request was due, so waiting for a free connection counts.
 */
function steadyLoad(options: { url: string; body: string; caPem: string; rate: number; connections: number; durationSeconds: number; timeoutMs: number }): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections, ca: options.caPem });
  const body = Buffer.from(options.body);
  const url = new URL(options.url);
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let timeouts = 0;
  const total = Math.max(1, Math.round(options.rate * options.durationSeconds));
  const started = performance.now();
  const one = (due: number) =>
    new Promise<void>((resolve) => {
      const req = httpsRequest(
        { agent, hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length }, timeout: options.timeoutMs },
        (response) => {
          response.resume();
          response.on('end', () => {
            latencies.push((performance.now() - due) * 1000);
            const code = String(response.statusCode);
            statusCodes[code] = (statusCodes[code] ?? 0) + 1;
            if ((response.statusCode ?? 0) >= 200 && (response.statusCode ?? 0) < 300) ok++;
            else non2xx++;
            resolve();
          });
        },
      );
      let timedOut = false;
      req.on('timeout', () => {
        timedOut = true;
        timeouts++;
        req.destroy(new Error('timeout'));
      });
      req.on('error', () => {
        if (!timedOut) errors++;
        resolve();
      });
      req.end(body);
    });
  const pending: Promise<void>[] = [];
  return new Promise((resolve) => {
    let sent = 0;
    const tick = () => {
      const now = performance.now();
      // Send every request that is due (a late timer catches up), then sleep until the next one.
      while (sent < total && started + (sent * 1000) / options.rate <= now) {
        pending.push(one(started + (sent * 1000) / options.rate));
        sent++;
      }
      if (sent < total) {
        setTimeout(tick, Math.max(0, started + (sent * 1000) / options.rate - performance.now()));
        return;
      }
      void Promise.all(pending).then(() => {
        agent.destroy();
        const elapsed = (performance.now() - started) / 1000;
        resolve({
          connections: options.connections,
          durationSeconds: Math.round(elapsed * 100) / 100,
          requests: latencies.length,
          requestsPerSecond: Math.round(ok / elapsed),
          latency: summarize(latencies),
          non2xx,
          errors,
          timeouts,
          statusCodes,
        });
      });
    };
    tick();
  });
}

const HOSTILE: HelmReleaseRef = { namespace: 'bench-pressure', name: 'hostile', statefulSet: 'hostile-db', replicas: 1 };

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function serverDurations(file: string, offset: number, target: string): LatencySummary | undefined {
  const durations: number[] = [];
  for (const line of readFileSync(file).subarray(offset).toString('utf8').split('\n')) {
    if (!line.includes('"admission"')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; target?: string; durationMs?: number };
      if (entry.msg === 'admission' && entry.target === target && typeof entry.durationMs === 'number') durations.push(entry.durationMs * 1000);
    } catch {
      // a partial line at the end
    }
  }
  return durations.length > 0 ? summarize(durations) : undefined;
}

export async function runPressure(options: PressureOptions): Promise<PressureResult> {
  const dir = join(tmpdir(), `volume-guard-bench-pressure-${process.pid}`);
  await mkdir(dir, { recursive: true });
  let guard: ServerChild | undefined;
  try {
    const ca = await createCertificateAuthority();
    const leaf = await ca.issue({ ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
    const certFile = join(dir, 'tls.crt');
    const keyFile = join(dir, 'tls.key');
    await writeFile(certFile, leaf.certPem);
    await writeFile(keyFile, leaf.keyPem, { mode: 0o600 });
    const logFile = join(dir, 'guard.log');
    options.log(`[pressure] ${options.size}: building the model…`);
    guard = await startServerChild({
      mode: 'guard',
      size: options.size,
      certFile,
      keyFile,
      logFile,
      logLevel: options.logLevel,
      caseFilter: ['cordon-typical', 'helm-install-allow'],
    });
    const cases = guard.ready.cases ?? [];
    const cordon = cases.find((figures) => figures.id === 'cordon-typical');
    if (!cordon) throw new Error('no cordon-typical case at this size');
    const helmCases = (['100k', '1m'] as const).map((label) => ({ label, body: cases.find((figures) => figures.id === `helm-install-allow-${label}`)?.body }));
    if (helmCases.some((entry) => entry.body === undefined)) throw new Error('the helm-release target is not served: no Helm load to apply');
    const hostileBody = helmInstallReviewOf(HOSTILE, adversarialManifest(HOSTILE, 2 * 1024 * 1024));
    const base = `https://127.0.0.1:${guard.ready.port}/validate`;
    const cordonLoad = () =>
      steadyLoad({
        url: `${base}/node-cordon`,
        body: cordon.body,
        caPem: ca.certPem,
        rate: options.cordonRate,
        connections: options.cordonConnections,
        durationSeconds: options.durationSeconds,
        timeoutMs: 10_000,
      });
    const measured = async (run: () => Promise<LoadResult>): Promise<CordonRun> => {
      const offset = fileSize(logFile);
      const client = await run();
      // The server writes its log lines at most LOG_FLUSH_DELAY_MS late (LineBatcher).
      await sleep(LOG_FLUSH_DELAY_MS * 3);
      const server = serverDurations(logFile, offset, 'node-cordon');
      return { client, ...(server ? { server } : {}), failures: client.non2xx + client.errors + client.timeouts };
    };
    // Warm up both paths (JIT, connections), then the cordon stream alone, then under Helm load.
    await runLoad({ url: `${base}/node-cordon`, body: cordon.body, connections: options.cordonConnections, durationSeconds: 0.5 });
    await runLoad({ url: `${base}/helm-release`, body: helmCases[0]!.body!, connections: 1, durationSeconds: 0.5 });
    options.log(`[pressure] cordons alone at ${options.cordonRate}/s…`);
    const alone = await measured(cordonLoad);
    options.log('[pressure] cordons while Helm releases (100 KB, 1 MB, hostile 2 MiB) arrive…');
    const streams = [
      ...helmCases.map((entry) => ({ manifest: entry.label, body: entry.body! })),
      { manifest: 'hostile-2m' as const, body: hostileBody },
    ];
    const helmRuns = streams.map((stream) =>
      runLoad({ url: `${base}/helm-release`, body: stream.body, connections: 1, durationSeconds: options.durationSeconds, timeoutSeconds: 30 }),
    );
    const underHelm = await measured(cordonLoad);
    const helm = (await Promise.all(helmRuns)).map((run, i) => ({ manifest: streams[i]!.manifest, bodyBytes: Buffer.byteLength(streams[i]!.body), run }));
    const memoryAfter = await guard.memory();
    options.log(
      `[pressure] cordon p99 alone ${alone.server?.p99 ?? 'n/a'} µs server / ${alone.client.latency.p99} µs client; under Helm ${underHelm.server?.p99 ?? 'n/a'} µs / ${underHelm.client.latency.p99} µs; failures ${underHelm.failures}`,
    );
    return { size: options.size, cordonCase: cordon.id, cordonRate: options.cordonRate, durationSeconds: options.durationSeconds, alone, underHelm, helm, memoryAfter };
  } finally {
    await guard?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

// Section 4: end to end. Cordon-equivalent PATCHes of Nodes through the harness's real API server, with
// volume-guard registered as a validating webhook and without it, at 1 and 50 concurrent clients. Each client
// patches a node of its own (bench-e2e-node-NN, no volumes: every cordon is allowed), so clients never contend
// for one object. Two request mixes:
//  - toggle: spec.unschedulable true, then false, repeated. Only the cordon (false → true) calls the webhook
//    (its matchConditions), so half the requests pay for it.
//  - dry-run cordon: PATCH ?dryRun=All of an uncordoned node to unschedulable: true. Every request calls the
//    webhook and nothing is stored, so the webhook's share of the latency is larger.

import { Agent, request } from 'node:https';
import { readFileSync } from 'node:fs';
import { ensureCluster, kubectl, tempFile, type ClusterInfo } from '../../harness/cluster.ts';
import { registerWebhooks, removeStaleRegistrations, startGuard, unregisterWebhooks, WEBHOOK_CONFIGURATION_NAME, type GuardInstance } from '../../harness/guard.ts';
import { runLoad, type LoadResult } from './load.ts';
import { histogramDelta, scrapeHistogram, serverLatency, type ServerLatency } from './metrics-scrape.ts';
import { round, type LatencySummary } from './stats.ts';

export interface E2eOptions {
  readonly clients: readonly number[];
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  /** without, with (false) or without, with, with, without (true): cancels a drift of the machine's load. */
  readonly abba: boolean;
  readonly log: (line: string) => void;
}

type Mix = 'toggle' | 'dry-run-cordon';

/** A load run with the CPU time the API server and volume-guard spent per request (Linux /proc; NaN elsewhere). */
export interface E2eLoad extends LoadResult {
  readonly apiServerCpuMicrosPerRequest: number;
  readonly guardCpuMicrosPerRequest: number;
}

export interface E2eRun {
  readonly clients: number;
  readonly mix: Mix;
  readonly without: E2eLoad;
  readonly with: E2eLoad;
  /** volume-guard's own histogram for node-cordon during the `with` runs. */
  readonly server: ServerLatency;
  /** with − without. */
  readonly addedMicros: { readonly p50: number; readonly p99: number; readonly mean: number };
}

export interface E2eResult {
  readonly apiServer: string;
  /** Other webhook configurations on the shared API server during the run (they are called too, in both phases). */
  readonly otherWebhookConfigurations: readonly string[];
  readonly runs: readonly E2eRun[];
}

const NODE_PREFIX = 'bench-e2e-node-';
const nodeName = (i: number) => `${NODE_PREFIX}${String(i).padStart(2, '0')}`;

function patch(cluster: ClusterInfo, agent: Agent, node: string, unschedulable: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(`/api/v1/nodes/${node}`, cluster.server),
      { method: 'PATCH', agent, headers: { authorization: `Bearer ${cluster.tokens.admin}`, 'content-type': 'application/merge-patch+json' } },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ spec: { unschedulable } }));
  });
}

const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of a process, µs, from /proc/<pid>/stat (clock ticks of 10 ms: fine over seconds-long runs). */
function processCpuMicros(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

function merge(runs: readonly E2eLoad[]): E2eLoad {
  if (runs.length === 1) return runs[0]!;
  // Percentiles cannot be averaged; the sample-weighted mean of per-run figures is close enough for two runs
  // of equal length, and the report says how many were merged.
  const total = runs.reduce((sum, run) => sum + run.requests, 0);
  const weighted = (pick: (latency: LatencySummary) => number) => round(runs.reduce((sum, run) => sum + pick(run.latency) * run.requests, 0) / Math.max(1, total));
  return {
    connections: runs[0]!.connections,
    durationSeconds: round(runs.reduce((sum, run) => sum + run.durationSeconds, 0)),
    requests: total,
    requestsPerSecond: Math.round(runs.reduce((sum, run) => sum + run.requestsPerSecond, 0) / runs.length),
    latency: {
      count: total,
      p50: weighted((l) => l.p50),
      p90: weighted((l) => l.p90),
      p99: weighted((l) => l.p99),
      max: Math.max(...runs.map((run) => run.latency.max)),
      mean: weighted((l) => l.mean),
    },
    non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    timeouts: runs.reduce((sum, run) => sum + run.timeouts, 0),
    statusCodes: {},
    apiServerCpuMicrosPerRequest: round(runs.reduce((sum, run) => sum + run.apiServerCpuMicrosPerRequest * run.requests, 0) / Math.max(1, total)),
    guardCpuMicrosPerRequest: round(runs.reduce((sum, run) => sum + run.guardCpuMicrosPerRequest * run.requests, 0) / Math.max(1, total)),
  };
}

export async function runE2e(options: E2eOptions): Promise<E2eResult> {
  const log = options.log;
  const cluster = await ensureCluster({ build: false, crds: false, log: (line) => log(`[e2e] ${line}`) });
  await removeStaleRegistrations();
  const listed = await kubectl(['get', 'validatingwebhookconfigurations', '-o', 'name']);
  const otherWebhookConfigurations = listed.stdout
    .split('\n')
    .map((line) => line.trim().replace(/^.*\//, ''))
    .filter((name) => name !== '' && name !== WEBHOOK_CONFIGURATION_NAME);
  const maxClients = Math.max(...options.clients);
  const nodes = Array.from({ length: maxClients }, (_, i) => nodeName(i));
  const nodesFile = await tempFile(
    `bench-${process.pid}-e2e-nodes.json`,
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: nodes.map((name) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, 'volume-guard.io/bench': 'true' } } })) }),
  );
  const created = await kubectl(['apply', '-f', nodesFile], { timeoutMs: 300_000 });
  if (created.code !== 0) throw new Error(`creating bench nodes failed: ${created.stderr}`);
  const agent = new Agent({ keepAlive: true, maxSockets: 8, ca: readFileSync(cluster.caFile) });
  const uncordonAll = async () => {
    for (const node of nodes) await patch(cluster, agent, node, false);
  };
  const headers = { authorization: `Bearer ${cluster.tokens.admin}`, 'content-type': 'application/merge-patch+json', accept: 'application/json' };
  const requestsFor = (mix: Mix) => (connection: number) => {
    const path = `/api/v1/nodes/${nodes[connection % nodes.length]}`;
    return mix === 'toggle'
      ? [
          { method: 'PATCH', path, headers, body: '{"spec":{"unschedulable":true}}' },
          { method: 'PATCH', path, headers, body: '{"spec":{"unschedulable":false}}' },
        ]
      : [{ method: 'PATCH', path: `${path}?dryRun=All`, headers, body: '{"spec":{"unschedulable":true}}' }];
  };
  let guardPid: number | undefined;
  const load = async (clients: number, mix: Mix, durationSeconds: number): Promise<E2eLoad> => {
    await uncordonAll();
    const apiBefore = processCpuMicros(cluster.pid);
    const guardBefore = processCpuMicros(guardPid);
    const result = await runLoad({ url: cluster.server, requestsFor: requestsFor(mix), connections: clients, durationSeconds, timeoutSeconds: 30 });
    const perRequest = (before: number, after: number) => round((after - before) / Math.max(1, result.requests));
    return {
      ...result,
      apiServerCpuMicrosPerRequest: perRequest(apiBefore, processCpuMicros(cluster.pid)),
      guardCpuMicrosPerRequest: perRequest(guardBefore, processCpuMicros(guardPid)),
    };
  };

  let guard: GuardInstance | undefined;
  try {
    log('[e2e] starting volume-guard against the API server…');
    guard = await startGuard(cluster, { name: `bench-${process.pid}` });
    guardPid = guard.process.pid;
    const runs: E2eRun[] = [];
    const phases: ('without' | 'with')[] = options.abba ? ['without', 'with', 'with', 'without'] : ['without', 'with'];
    const results = new Map<string, { without: E2eLoad[]; with: E2eLoad[] }>();
    const histograms = new Map<string, ReturnType<typeof histogramDelta>[]>();
    let registered = false;
    for (const phase of phases) {
      if (phase === 'with' && !registered) {
        await registerWebhooks(guard);
        registered = true;
      } else if (phase === 'without' && registered) {
        await unregisterWebhooks();
        registered = false;
        // The API server drops the configuration asynchronously: give it time before measuring.
        await new Promise((resolve) => setTimeout(resolve, 3_000));
      }
      for (const clients of options.clients) {
        for (const mix of ['toggle', 'dry-run-cordon'] as const) {
          const key = `${clients}/${mix}`;
          await load(clients, mix, options.warmupSeconds);
          const before = phase === 'with' ? await scrapeHistogram(guard.opsUrl, 'node-cordon') : undefined;
          const result = await load(clients, mix, options.durationSeconds);
          if (before) histograms.set(key, [...(histograms.get(key) ?? []), histogramDelta(before, await scrapeHistogram(guard.opsUrl, 'node-cordon'))]);
          const entry = results.get(key) ?? { without: [], with: [] };
          entry[phase].push(result);
          results.set(key, entry);
          log(
            `[e2e] ${phase} webhook, ${clients} client(s), ${mix}: p50 ${result.latency.p50} µs, p99 ${result.latency.p99} µs, ${result.requestsPerSecond} req/s, ` +
              `CPU/request API server ${result.apiServerCpuMicrosPerRequest} µs, volume-guard ${result.guardCpuMicrosPerRequest} µs, non-2xx ${result.non2xx}`,
          );
        }
      }
    }
    if (registered) await unregisterWebhooks();
    for (const clients of options.clients) {
      for (const mix of ['toggle', 'dry-run-cordon'] as const) {
        const key = `${clients}/${mix}`;
        const entry = results.get(key)!;
        const without = merge(entry.without);
        const withGuard = merge(entry.with);
        const deltas = histograms.get(key) ?? [];
        const combined = deltas.reduce((sum, delta) => ({
          bounds: delta.bounds,
          cumulative: delta.cumulative.map((count, i) => count + (sum.cumulative[i] ?? 0)),
          sumSeconds: sum.sumSeconds + delta.sumSeconds,
          count: sum.count + delta.count,
        }));
        runs.push({
          clients,
          mix,
          without,
          with: withGuard,
          server: serverLatency(combined),
          addedMicros: {
            p50: round(withGuard.latency.p50 - without.latency.p50),
            p99: round(withGuard.latency.p99 - without.latency.p99),
            mean: round(withGuard.latency.mean - without.latency.mean),
          },
        });
      }
    }
    return { apiServer: cluster.server, otherWebhookConfigurations, runs };
  } finally {
    await unregisterWebhooks().catch(() => undefined);
    await guard?.stop().catch(() => undefined);
    await uncordonAll().catch(() => undefined);
    agent.destroy();
    await kubectl(['delete', 'nodes', '-l', 'volume-guard.io/bench=true', '--wait=false', '--ignore-not-found']);
  }
}


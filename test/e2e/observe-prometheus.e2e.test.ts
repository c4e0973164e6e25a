// The Grafana dashboard's queries against a real Prometheus (Debian package `prometheus`, when installed) scraping
// the volume-guard that the e2e setup runs against the real API server: every panel query is accepted by
// Prometheus' query API, and the risk, admission and freshness panels get data. Skipped, and said so, without
// the prometheus binary.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { dashboardQueries } from '../../src/observe/dashboard.ts';
import { COUNTED_CHECKS, NODE_CHECKS } from '../../src/observe/risks.ts';
import { freePort } from '../harness/guard.ts';

const guard = inject('guard');

function hasPrometheus(): boolean {
  try {
    execFileSync('prometheus', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const available = hasPrometheus();
let dir: string;
let prometheus: ChildProcess | undefined;
let url: string;

interface QueryResponse {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function query(expr: string): Promise<QueryResponse> {
  const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await response.json()) as QueryResponse;
}

describe.skipIf(!available)('the dashboard on a real Prometheus scraping volume-guard', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vg-prometheus-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const target = new URL(guard.opsUrl).host;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      stringify({ global: { scrape_interval: '1s', evaluation_interval: '1s' }, scrape_configs: [{ job_name: 'volume-guard', static_configs: [{ targets: [target] }] }] }),
    );
    prometheus = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    // Ready, and a few scrapes in (rates need two samples).
    const deadline = Date.now() + 60_000;
    for (;;) {
      const up = await query('up{job="volume-guard"}').catch(() => undefined);
      const samples = await query('count_over_time(up{job="volume-guard"}[1m])').catch(() => undefined);
      if (up?.data?.result[0]?.value[1] === '1' && Number(samples?.data?.result[0]?.value[1] ?? 0) >= 4) break;
      if (Date.now() > deadline) throw new Error('Prometheus did not scrape volume-guard within 60 s');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }, 90_000);

  afterAll(() => {
    prometheus?.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('accepts every panel query', async () => {
    for (const { panel, expr } of dashboardQueries()) {
      const promql = expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', 'volume-guard');
      const result = await query(promql);
      expect(result.error, `${panel}: ${promql}`).toBeUndefined();
      expect(result.status, `${panel}: ${promql}`).toBe('success');
    }
  });

  it('scrapes volume_guard_ready 1 from the ready volume-guard, so VolumeGuardWebhookNotReady stays silent', async () => {
    const ready = await query('(max(volume_guard_ready{job="volume-guard"}) or vector(0)) == 0');
    expect(ready.status).toBe('success');
    expect(ready.data?.result).toEqual([]);
    expect((await query('volume_guard_ready{job="volume-guard"}')).data?.result[0]?.value[1]).toBe('1');
  });

  it('gets data for the risk, admission and freshness panels', async () => {
    const withData = async (panelTitle: string): Promise<number> => {
      let series = 0;
      for (const { panel, expr } of dashboardQueries().filter((q) => q.panel === panelTitle)) {
        const result = await query(expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', 'volume-guard'));
        expect(result.status, panel).toBe('success');
        series += result.data?.result.length ?? 0;
      }
      return series;
    };
    // Every check the gauges count has a series from the start, whatever the cluster holds.
    expect(await withData('Volumes at risk')).toBe(COUNTED_CHECKS.length);
    expect(await withData('Nodes that cannot be drained')).toBe(NODE_CHECKS.length);
    expect(await withData('Model age by resource')).toBeGreaterThanOrEqual(6);
    expect(await withData('Objects in the model')).toBeGreaterThanOrEqual(6);
    expect(await withData('Serving certificate expires in')).toBe(1);
    // The e2e setup's probe and earlier files sent admission requests.
    expect(await withData('Requests by target and operation')).toBeGreaterThan(0);
  });
});

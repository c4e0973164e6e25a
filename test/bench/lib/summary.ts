// The human-readable summary printed at the end of a run.

import type { BenchReport } from './bench.ts';
import type { HttpCaseFigures } from './http-sections.ts';
import { formatMicros, round } from './stats.ts';

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

/** Server-side p50/p99 with one client: exact from the admission log when present, else from the histogram. */
function serverFigures(figures: HttpCaseFigures): { p50: number; p99: number } {
  const unloaded = figures.http?.unloaded;
  if (!unloaded) return { p50: Number.NaN, p99: Number.NaN };
  return unloaded.serverExact
    ? { p50: unloaded.serverExact.p50, p99: unloaded.serverExact.p99 }
    : { p50: unloaded.server.p50Micros, p99: unloaded.server.p99Micros };
}

const mib = (bytes: number) => `${round(bytes / 2 ** 20)} MiB`;
const count = (value: number) => value.toLocaleString('en-US');

export function formatSummary(report: BenchReport): string {
  const out: string[] = [];
  const machine = report.machine;
  out.push(`volume-guard benchmark, ${report.startedAt}, ${report.durationSeconds} s${report.options.quick ? ' (--quick)' : ''}`);
  out.push(
    `Machine: ${machine.nproc} × ${machine.cpuModel}, ${machine.totalMemoryMiB} MiB, Node ${machine.node}, load average ${machine.loadAverageAtStart.join(' ')} at start, ` +
      `Map.get on 100k keys ${machine.mapGetNanos} ns CPU`,
  );

  const serve = report.serve;
  if (serve) {
    const floorSize = serve.sizes.find((size) => size.size === serve.floorSize);
    if (floorSize && serve.load) {
      out.push('', `1. Floor: volume-guard (${floorSize.size} model) vs the minimal correct webhook (node:https, JSON.parse, uid check; the floor), bare Fastify and a parse-nothing server, autocannon ${serve.load.connections} connections, pipelining 1, ${serve.load.durationSeconds} s per run`);
      out.push(
        table(
          ['case', 'decision', 'body', 'req/s guard', 'Fastify', 'floor', 'parse-nothing', 'ratio', 'CPU/req guard', 'Fastify', 'floor', 'CPU ratio', '1 client: server p50/p99', 'client p99', 'floor p99'],
          floorSize.cases.map((figures) => {
            const http = figures.http;
            const server = serverFigures(figures);
            return [
              figures.id,
              figures.decision,
              `${round(figures.bodyBytes / 1024)} KiB`,
              count(http?.guard.requestsPerSecond ?? Number.NaN),
              count(http?.fastifyFloor?.requestsPerSecond ?? Number.NaN),
              count(http?.floor?.requestsPerSecond ?? Number.NaN),
              count(http?.parseNothingFloor?.requestsPerSecond ?? Number.NaN),
              String(http?.throughputRatio ?? 'n/a'),
              formatMicros(http?.guard.serverCpuMicrosPerRequest ?? Number.NaN),
              formatMicros(http?.fastifyFloor?.serverCpuMicrosPerRequest ?? Number.NaN),
              formatMicros(http?.floor?.serverCpuMicrosPerRequest ?? Number.NaN),
              String(http?.cpuRatio ?? 'n/a'),
              `${formatMicros(server.p50)} / ${formatMicros(server.p99)}`,
              formatMicros(http?.unloaded.guard.latency.p99 ?? Number.NaN),
              formatMicros(http?.unloaded.floor?.latency.p99 ?? Number.NaN),
            ];
          }),
        ),
      );
      out.push('(ratio: requests/s over the minimal-correct floor\'s; CPU ratio: floor CPU per request over volume-guard\'s, the ratio a CPU-bound server reaches on a quiet machine)');
    }
    const withInProcess = serve.sizes.filter((size) => size.cases.some((figures) => figures.inProcess));
    if (withInProcess.length > 0) {
      out.push('', '2. Scale: per request in-process (decode + validator + encode), wall clock p50 / p99 and CPU time p50 / p99');
      const ids = [...new Set(withInProcess.flatMap((size) => size.cases.map((figures) => figures.id)))];
      const header = ['case', ...withInProcess.flatMap((size) => [`${size.size} wall p50/p99`, `${size.size} CPU p50/p99`, `${size.size} server p99`])];
      if (withInProcess.length === 2) header.push('p99 ratio wall/CPU');
      const rows = ids.map((id) => {
        const row = [id];
        const p99s: number[] = [];
        for (const size of withInProcess) {
          const figures = size.cases.find((candidate) => candidate.id === id);
          const inProcess = figures?.inProcess;
          row.push(inProcess ? `${formatMicros(inProcess.total.p50)} / ${formatMicros(inProcess.total.p99)}` : 'n/a');
          row.push(inProcess ? `${formatMicros(inProcess.cpu.p50)} / ${formatMicros(inProcess.cpu.p99)}` : 'n/a');
          row.push(figures?.http ? formatMicros(serverFigures(figures).p99) : 'n/a');
          p99s.push(inProcess?.total.p99 ?? Number.NaN, inProcess?.cpu.p99 ?? Number.NaN);
        }
        if (withInProcess.length === 2) row.push(`${round((p99s[2] as number) / (p99s[0] as number))} / ${round((p99s[3] as number) / (p99s[1] as number))}`);
        return row;
      });
      out.push(table(header, rows));
    }
    for (const size of serve.sizes) {
      const objects = Object.values(size.counts).reduce((sum, value) => sum + value, 0);
      out.push(
        `Model ${size.size}: ${count(objects)} objects (${Object.entries(size.counts).map(([kind, value]) => `${kind} ${count(value)}`).join(', ')}); ` +
          `built in ${count(size.buildMs)} ms (model inserts through the risk tracker ${count(size.modelInsertMs)} ms, its first flush ${size.firstFlushMs === undefined ? 'n/a' : count(size.firstFlushMs)} ms); model heap ${mib(size.modelHeapBytes)}; ` +
          `RSS ${mib(size.memoryAfterBuild.rssBytes)} after build (heap ${mib(size.memoryAfterBuild.heapUsedBytes)})` +
          (size.memoryAfterLoad ? `, ${mib(size.memoryAfterLoad.rssBytes)} after load (heap ${mib(size.memoryAfterLoad.heapUsedBytes)})` : ''),
      );
      if (size.insertByKind?.length) {
        out.push(`  first list per kind, µs per object: ${size.insertByKind.map((entry) => `${entry.kind} ${entry.microsPerObject}`).join(', ')}`);
      }
      if (size.eventCost?.length) {
        out.push(
          `  watch events per kind, µs per event with the risk tracker's flush (modify from JSON / modify (flush share) / unchanged / delete / add): ${size.eventCost
            .map((entry) => `${entry.kind} ${entry.modifyFromJsonMicros ?? '–'} / ${entry.modifyMicros} (${entry.modifyFlushMicros}) / ${entry.unchangedMicros} / ${entry.deleteMicros} / ${entry.addMicros}`)
            .join(', ')}`,
        );
      }
      if (size.kindBytes?.length) {
        out.push(`  heap per object by kind, bytes: ${size.kindBytes.map((entry) => `${entry.kind} ${entry.bytesPerObject === null ? 'not measurable' : count(entry.bytesPerObject)}`).join(', ')}`);
      }
    }
    for (const size of serve.sizes) {
      const cordons = size.cases.filter((figures) => figures.involved);
      if (cordons.length > 0) {
        out.push(
          `Cordon objects walked (${size.size}): ${cordons.map((figures) => `${figures.id} ${figures.involved!.replicasOnNode} replicas + ${figures.involved!.pinnedPersistentVolumes} pinned PVs`).join('; ')}`,
        );
      }
    }
    for (const size of serve.sizes) {
      for (const figures of size.cases) {
        if (figures.decision === 'errored' || (figures.intent === 'deny') !== (figures.decision === 'denied')) {
          out.push(`note: ${size.size} ${figures.id} was ${figures.decision} (intent ${figures.intent}): ${figures.message}`);
        }
      }
    }
  }

  const pressure = report.pressure;
  if (pressure) {
    out.push('', `Helm under pressure (${pressure.size} model): ${pressure.cordonCase} at ${pressure.cordonRate}/s for ${pressure.durationSeconds} s, alone and while Helm release CREATEs arrive back to back on 3 other connections; the cordon client in a process of its own`);
    const row = (label: string, run: typeof pressure.alone) => [
      label,
      count(run.client.requests),
      String(run.failures),
      run.server ? `${formatMicros(run.server.p50)} / ${formatMicros(run.server.p99)} / ${formatMicros(run.server.max)}` : 'n/a',
      `${formatMicros(run.client.latency.p50)} / ${formatMicros(run.client.latency.p99)}`,
      `${formatMicros(run.client.fromSend.p50)} / ${formatMicros(run.client.fromSend.p99)}`,
      formatMicros(run.client.sendLateness.p99),
    ];
    const rows = [row('alone', pressure.alone), row('under Helm load', pressure.underHelm)];
    if (pressure.floorAlone) {
      const floor = pressure.floorAlone;
      rows.splice(1, 0, [
        'alone, minimal correct webhook',
        count(floor.requests),
        String(floor.non2xx + floor.errors + floor.timeouts),
        'n/a',
        `${formatMicros(floor.latency.p50)} / ${formatMicros(floor.latency.p99)}`,
        `${formatMicros(floor.fromSend.p50)} / ${formatMicros(floor.fromSend.p99)}`,
        formatMicros(floor.sendLateness.p99),
      ]);
    }
    if (pressure.underHelmSameProcess) rows.push(row('under Helm, client in bench process', pressure.underHelmSameProcess));
    out.push(table(['cordons', 'requests', 'failures', 'server p50/p99/max', 'client p50/p99 (from due)', 'from send', 'timer late p99'], rows));
    out.push('(from due: the target\'s reading; from send: after the client\'s timer fired; timer late: how late it fired, the client process\'s own share)');
    out.push(
      table(
        ['Helm manifest', 'body', 'answers', 'status codes', 'client p50/p99'],
        pressure.helm.map((stream) => [
          stream.manifest,
          `${round(stream.bodyBytes / 1024)} KiB`,
          count(stream.run.requests),
          Object.entries(stream.run.statusCodes).map(([code, n]) => `${code}×${n}`).join(' ') || `errors ${stream.run.errors}, timeouts ${stream.run.timeouts}`,
          `${formatMicros(stream.run.latency.p50)} / ${formatMicros(stream.run.latency.p99)}`,
        ]),
      ),
    );
  }

  const peers = report.peers;
  if (peers) {
    out.push('', `3. Peers' technique: cordon decision from volume-guard's model vs LISTing on every request (${count(peers.objects.volumes)} volumes, ${count(peers.objects.replicas)} replicas, ${peers.objects.longhornNodes} Longhorn nodes on ${peers.apiServer})`);
    out.push(
      table(
        ['variant', 'requests', 'p50', 'p99', 'max'],
        [
          ['volume-guard model', count(peers.model.requests), formatMicros(peers.model.latency.p50), formatMicros(peers.model.latency.p99), formatMicros(peers.model.latency.max)],
          [`LIST per request (${mib(peers.listPerRequest.bytesPerRequest)} JSON)`, count(peers.listPerRequest.requests), formatMicros(peers.listPerRequest.latency.p50), formatMicros(peers.listPerRequest.latency.p99), formatMicros(peers.listPerRequest.latency.max)],
          ...(peers.listPerRequest.concurrent
            ? [[`LIST per request, ${peers.listPerRequest.concurrent.inFlight} in flight`, count(peers.listPerRequest.concurrent.requests), formatMicros(peers.listPerRequest.concurrent.latency.p50), formatMicros(peers.listPerRequest.concurrent.latency.p99), formatMicros(peers.listPerRequest.concurrent.latency.max)]]
            : []),
        ],
      ),
    );
    out.push(`Ratio LIST/model: p50 ${peers.ratioP50}×, p99 ${peers.ratioP99}×. Decision: ${peers.decision}. Model synced in ${count(peers.modelSyncMs)} ms; objects loaded in ${peers.loadSeconds} s.`);
  }

  const e2e = report.e2e;
  if (e2e) {
    out.push('', `4. End to end: node PATCHes through the API server (${e2e.apiServer}), without and with the webhook`);
    out.push(
      table(
        ['clients', 'mix', 'without p50/p99', 'with p50/p99', 'added p50', 'added p99', 'req/s without/with', 'API server CPU/req without/with', 'guard CPU/req', 'guard server p99', 'non-2xx'],
        e2e.runs.map((run) => [
          String(run.clients),
          run.mix,
          `${formatMicros(run.without.latency.p50)} / ${formatMicros(run.without.latency.p99)}`,
          `${formatMicros(run.with.latency.p50)} / ${formatMicros(run.with.latency.p99)}`,
          formatMicros(run.addedMicros.p50),
          formatMicros(run.addedMicros.p99),
          `${count(run.without.requestsPerSecond)} / ${count(run.with.requestsPerSecond)}`,
          `${formatMicros(run.without.apiServerCpuMicrosPerRequest)} / ${formatMicros(run.with.apiServerCpuMicrosPerRequest)}`,
          formatMicros(run.with.guardCpuMicrosPerRequest),
          formatMicros(run.server.p99Micros),
          String(run.without.non2xx + run.with.non2xx),
        ]),
      ),
    );
    if (e2e.otherWebhookConfigurations.length > 0) out.push(`Other webhook configurations on the shared API server (called in both phases): ${e2e.otherWebhookConfigurations.join(', ')}`);
  }

  const risk = report.risk;
  if (risk) {
    out.push('', '5. Risk gauges (issue 16): first evaluation after the list, one replica failing, one scrape of the gauges');
    out.push(
      table(
        ['size', 'objects', 'first evaluation', 'churn p50/p99', 'scrape p50/p99', 'scrape bytes'],
        risk.sizes.map((figures) => [
          figures.size,
          count(figures.objects),
          `${figures.initialFlushMs} ms`,
          `${formatMicros(figures.churnFlushMicros.p50)} / ${formatMicros(figures.churnFlushMicros.p99)}`,
          `${formatMicros(figures.scrapeMicros.p50)} / ${formatMicros(figures.scrapeMicros.p99)}`,
          String(figures.scrapeBytes),
        ]),
      ),
    );
    if (risk.scrapeRatio !== undefined) out.push(`Scrape p50 largest/smallest: ${risk.scrapeRatio}`);
  }

  if (report.targets.length > 0) {
    out.push('', 'Targets (issues 8 and 15; reported, never asserted):');
    for (const check of report.targets) {
      const mark = check.met === null ? '–' : check.met ? 'met' : 'MISSED';
      const onCpu = check.metOnCpu === undefined ? '' : check.metOnCpu ? 'met on CPU' : 'MISSED on CPU';
      const inProcess = check.metInProcess === undefined ? '' : check.metInProcess ? ', met in process' : ', MISSED in process';
      out.push(`  ${mark.padEnd(6)} ${onCpu.padEnd(13)} ${check.id}: ${check.measured} [${check.target}${inProcess}]`);
    }
  }
  for (const [section, message] of Object.entries(report.errors)) out.push(`ERROR in ${section}: ${message}`);
  return out.join('\n');
}

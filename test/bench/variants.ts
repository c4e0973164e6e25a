// Server settings side by side in one run: the bench's scale section (each size's server child built, under its
// pod's memory limit, in-process loop, then served: 20 connections and one client per case) once per variant per
// round, the variants' order reversed every other round, so that each sees the same machine. For settings that act
// on the garbage collector (the young generation's size, V8's pretenuring): collections per 100 requests, p99 and
// the p99 large/small ratios, server-side p99 at one client, throughput, RSS after build / after the load / peak.
//
//   node test/bench/variants.ts --variant 's8=--max-semi-space-size=8' --variant 's16=--max-semi-space-size=16' \
//        [--variant 'v8=--max-semi-space-size=8@v8-defaults'] [--sizes small,large] [--cases cordon,eviction,upgrade]
//        [--rounds 2] [--duration 2] [--iterations 5000] [--out variants.json]
//
// A variant is `label=<Node flags, as the chart's nodeOptions>`; `@v8-defaults` keeps V8's defaults instead of what
// `volume-guard serve` sets (src/server/v8-flags.ts). The flags reach the server as NODE_OPTIONS, as in the pod.

import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { childNodeFlags, childV8Defaults } from './lib/children.ts';
import { runHttpSections, type HttpCaseFigures, type SizeFigures } from './lib/http-sections.ts';
import { isClusterSize, type ClusterSize } from './lib/protocol.ts';

const { values } = parseArgs({
  options: {
    variant: { type: 'string', multiple: true },
    sizes: { type: 'string', default: 'small,large' },
    cases: { type: 'string', default: 'cordon,eviction,upgrade' },
    rounds: { type: 'string', default: '2' },
    duration: { type: 'string', default: '2' },
    connections: { type: 'string', default: '20' },
    iterations: { type: 'string', default: '5000' },
    out: { type: 'string' },
  },
});

interface Variant {
  readonly label: string;
  readonly flags: readonly string[];
  readonly v8Defaults: boolean;
}
const variants: Variant[] = (values.variant ?? []).map((spec) => {
  const [label = spec, rest = ''] = spec.split(/=(.*)/s);
  const [flags = '', modifier] = rest.split('@');
  if (modifier !== undefined && modifier !== 'v8-defaults') throw new Error(`variant ${spec}: unknown modifier @${modifier}`);
  return { label, flags: flags.split(' ').filter(Boolean), v8Defaults: modifier === 'v8-defaults' };
});
if (variants.length === 0) throw new Error("give at least one --variant 'label=<node flags>'");
const sizes = values.sizes.split(',').filter(Boolean);
for (const size of sizes) if (!isClusterSize(size)) throw new Error(`unknown size ${size}`);
const rounds = Number(values.rounds);

const runs: { variant: string; round: number; sizes: readonly SizeFigures[] }[] = [];
const log = (line: string) => process.stderr.write(`${line}\n`);
for (let round = 1; round <= rounds; round++) {
  for (const variant of round % 2 === 1 ? variants : [...variants].reverse()) {
    log(`== round ${round}/${rounds}: ${variant.label} (NODE_OPTIONS "${variant.flags.join(' ')}"${variant.v8Defaults ? ", V8's defaults" : ''})`);
    childNodeFlags(variant.flags);
    childV8Defaults(variant.v8Defaults);
    const result = await runHttpSections({
      sizes: sizes as ClusterSize[],
      floorSize: undefined,
      inProcess: { maxIterations: Number(values.iterations), budgetMs: 4_000 },
      load: { connections: Number(values.connections), durationSeconds: Number(values.duration), warmupSeconds: 0.5 },
      caseFilter: values.cases.split(',').filter(Boolean),
      logLevel: 'info',
      log,
      modelFigures: false,
    });
    runs.push({ variant: variant.label, round, sizes: result.sizes });
  }
}

const median = (list: readonly number[]): number => {
  const finite = list.filter(Number.isFinite).sort((a, b) => a - b);
  return finite.length === 0 ? Number.NaN : finite[Math.floor(finite.length / 2)]!;
};
const fixed = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const each = (list: readonly number[], digits = 0) => list.map((value) => fixed(value, digits)).join(' / ');
const caseIn = (size: SizeFigures | undefined, id: string) => size?.cases.find((figures) => figures.id === id);
const serverP99 = (figures: HttpCaseFigures | undefined) => figures?.http?.unloaded.serverExact?.p99 ?? Number.NaN;
const serverCollections = (figures: HttpCaseFigures | undefined) => figures?.http?.unloaded.serverCollections?.perHundredRequests ?? Number.NaN;
const copied = (figures: HttpCaseFigures | undefined) => (figures?.inProcess?.gc?.scavengeSurvivedBytes ?? Number.NaN) / 1024;
const scavengePause = (figures: HttpCaseFigures | undefined) => {
  const gc = figures?.inProcess?.gc;
  return gc && gc.scavenges > 0 ? (gc.pauseMs * 1000) / gc.scavenges : Number.NaN;
};

const lines: string[] = [];
lines.push(`rounds ${rounds}; per round: values for each round in run order (a / b); ratios large/small taken per round`);
lines.push('');
lines.push('| variant | size | build ms | RSS after build MB | after load MB | peak MiB | semi-space MiB |');
lines.push('|---|---|---|---|---|---|---|');
for (const variant of variants) {
  const mine = runs.filter((run) => run.variant === variant.label);
  for (const size of sizes) {
    const figures = mine.map((run) => run.sizes.find((entry) => entry.size === size));
    const semi = figures.map((entry) => median((entry?.cases ?? []).map((c) => (c.inProcess?.gc?.semiSpaceBytes ?? Number.NaN) / 2 ** 20)));
    lines.push(
      `| ${variant.label} | ${size} | ${each(figures.map((entry) => entry?.buildMs ?? Number.NaN))} | ${each(figures.map((entry) => (entry?.memoryAfterBuild.rssBytes ?? Number.NaN) / 1e6))} | ${each(figures.map((entry) => (entry?.memoryAfterLoad?.rssBytes ?? Number.NaN) / 1e6))} | ${each(figures.map((entry) => (entry?.memoryAfterLoad?.maxRssBytes ?? Number.NaN) / 2 ** 20))} | ${each(semi)} |`,
    );
  }
}
lines.push('');
const [small, large] = [sizes[0], sizes[sizes.length - 1]];
lines.push(
  `| case | variant | collections per 100 (${large} / ${small}) | scavenge pause µs, mean (${large}) | KB a scavenge copied (${large} / ${small}) | old gen B/request (${large}) | in-process p99 µs (${large}) | ratio | without collections | server p99 µs, one client (${large}) | server ratio | server collections per 100 (${large} / ${small}) | req/s, ${values.connections} conns (${large}) |`,
);
lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
const caseIds = [...new Set(runs.flatMap((run) => run.sizes.flatMap((size) => size.cases.map((figures) => figures.id))))];
for (const id of caseIds) {
  for (const variant of variants) {
    const mine = runs.filter((run) => run.variant === variant.label);
    const pairs = mine.map((run) => ({ large: caseIn(run.sizes.find((s) => s.size === large), id), small: caseIn(run.sizes.find((s) => s.size === small), id) }));
    const ratio = (pick: (figures: HttpCaseFigures | undefined) => number) => pairs.map((pair) => pick(pair.large) / pick(pair.small));
    const inP99 = (figures: HttpCaseFigures | undefined) => figures?.inProcess?.total.p99 ?? Number.NaN;
    const cleanP99 = (figures: HttpCaseFigures | undefined) => figures?.inProcess?.gc?.totalWithoutGc.p99 ?? Number.NaN;
    lines.push(
      `| ${id} | ${variant.label} | ${pairs.map((pair) => `${fixed(pair.large?.inProcess?.gc?.perHundredRequests ?? Number.NaN, 2)} / ${fixed(pair.small?.inProcess?.gc?.perHundredRequests ?? Number.NaN, 2)}`).join('; ')} | ${each(pairs.map((pair) => scavengePause(pair.large)))} | ${pairs.map((pair) => `${fixed(copied(pair.large))} / ${fixed(copied(pair.small))}`).join('; ')} | ${each(pairs.map((pair) => pair.large?.inProcess?.gc?.oldGenerationBytesPerRequest ?? Number.NaN))} | ${each(pairs.map((pair) => inP99(pair.large)))} | ${each(ratio(inP99), 2)} | ${each(ratio(cleanP99), 2)} | ${each(pairs.map((pair) => serverP99(pair.large)))} | ${each(ratio(serverP99), 2)} | ${pairs.map((pair) => `${fixed(serverCollections(pair.large), 2)} / ${fixed(serverCollections(pair.small), 2)}`).join('; ')} | ${each(pairs.map((pair) => pair.large?.http?.guard.requestsPerSecond ?? Number.NaN))} |`,
    );
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
if (values.out) await writeFile(values.out, `${JSON.stringify({ variants, rounds, runs }, null, 2)}\n`);
process.exit(0);

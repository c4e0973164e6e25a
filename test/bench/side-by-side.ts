// Two checkouts of volume-guard side by side in one process, alternating, on the same synthetic cluster: the
// model build's insert CPU time, and the in-process CPU per request of each case (decode + validator + encode),
// plus a check that both give the same answer to every case byte for byte. On a noisy shared machine this is
// how a change is measured: both versions see the same load, round after round.
//
//   node --expose-gc test/bench/side-by-side.ts --base /work/main [--size large] [--rounds 3] [--cases cordon,upgrade]
//        [--builds 2] [--ms 1500]
//
// --base: the other checkout's root (its src/ and test/ are imported as they are there). Prints a table and JSON.

import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { applyServeV8Flags } from '../../src/server/v8-flags.ts';

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    size: { type: 'string', default: 'large' },
    rounds: { type: 'string', default: '3' },
    builds: { type: 'string', default: '2' },
    cases: { type: 'string', default: 'cordon,eviction,upgrade' },
    ms: { type: 'string', default: '1500' },
  },
});
if (!values.base) throw new Error('--base <checkout root> is required');
const gc = (globalThis as { gc?: () => void }).gc;

interface Version {
  readonly name: string;
  readonly modules: Record<string, any>;
}

async function load(name: string, root: string): Promise<Version> {
  const url = (path: string) => pathToFileURL(resolve(root, path)).href;
  const modules: Record<string, any> = {
    index: await import(url('src/admission/index.ts')),
    registry: await import(url('src/admission/registry.ts')),
    sets: await import(url('src/checks/longhorn-health.ts')),
    model: await import(url('src/cluster/model.ts')),
    config: await import(url('src/config.ts')),
    codec: await import(url('src/server/codec.ts')),
    fixtures: await import(url('test/support/fixtures.ts')),
    protocol: await import(url('test/bench/lib/protocol.ts')),
    cases: await import(url('test/bench/lib/cases.ts')),
  };
  return { name, modules };
}

function cpuNow(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
}

/** Builds the model as the informers' first lists do; returns it, the summary and the inserts' CPU ms. */
function build(version: Version, size: string): { model: any; summary: any; insertCpuMs: number; insertWallMs: number } {
  const { model: modelModule, sets, fixtures, protocol } = version.modules;
  const model = new modelModule.ClusterModel(sets.VOLUME_SETS, sets.VOLUME_COUNTS ? { volumeCounts: sets.VOLUME_COUNTS } : {});
  let cpu = 0;
  let wall = 0;
  const sink = {
    upsert: (kind: string, record: unknown) => model.upsert(kind, record),
    remove: (kind: string, key: string) => model.remove(kind, key),
    setLonghornInstalled: (installed: boolean) => model.setLonghornInstalled(installed),
    replaceAll: (kind: string, records: unknown[]) => {
      const c0 = cpuNow();
      const w0 = performance.now();
      model.replaceAll(kind, records);
      wall += performance.now() - w0;
      cpu += cpuNow() - c0;
    },
  };
  const summary = fixtures.syntheticCluster(sink, protocol.CLUSTER_SIZES[size]);
  return { model, summary, insertCpuMs: cpu / 1000, insertWallMs: wall };
}

function contextFor(model: any, config: any): () => unknown {
  const silent = pino({ level: 'silent' });
  return () => ({ snapshot: model, health: { synced: () => true, staleResources: () => [] }, config, now: Date.now(), log: silent, onOverride: () => undefined, removing: () => undefined, cordoning: () => undefined });
}

/** CPU µs per request over `ms`: median and p99 of each request's CPU time, after a warm-up. */
function timeCase(version: Version, validator: any, body: Buffer, context: () => unknown, ms: number): { p50: number; p99: number; mean: number; n: number } {
  const { codec } = version.modules;
  const once = () => {
    const decoded = codec.decodeAdmissionReviewBody(body);
    const decision = validator.handle(decoded.request, context());
    return JSON.stringify(codec.encodeAdmissionResponse(decoded.request.uid, decision));
  };
  for (let i = 0, end = performance.now() + Math.min(300, ms / 4); i < 200 && performance.now() < end; i++) once();
  const cpus: number[] = [];
  const start = cpuNow();
  let before = start;
  const deadline = performance.now() + ms;
  while (cpus.length < 30 || (performance.now() < deadline && cpus.length < 20_000)) {
    once();
    const after = cpuNow();
    cpus.push(after - before);
    before = after;
  }
  return { p50: median(cpus), p99: quantile(cpus, 0.99), mean: Math.round(((before - start) / cpus.length) * 10) / 10, n: cpus.length };
}

// As `volume-guard serve` runs (this checkout's V8 flags, for both versions: they are the process's).
applyServeV8Flags();
const versions = [await load('base', values.base), await load('head', process.cwd())];
const size = values.size;
const rounds = Number(values.rounds);
const prefixes = values.cases.split(',').filter(Boolean);

// Model build: alternating, each build thrown away before the next.
const builds: Record<string, number[]> = { base: [], head: [] };
const buildsWall: Record<string, number[]> = { base: [], head: [] };
for (let round = 0; round < Number(values.builds); round++) {
  for (const version of round % 2 === 0 ? versions : [...versions].reverse()) {
    gc?.();
    const built = build(version, size);
    builds[version.name]!.push(Math.round(built.insertCpuMs));
    buildsWall[version.name]!.push(Math.round(built.insertWallMs));
    process.stderr.write(`build ${version.name}: inserts ${Math.round(built.insertCpuMs)} ms CPU, ${Math.round(built.insertWallMs)} ms wall\n`);
  }
}

// The models the cases run on, and one set of case bodies (from head) for both.
gc?.();
const states = versions.map((version) => {
  const built = build(version, size);
  const config = version.modules.config.loadConfig({ env: {} });
  const registry = version.modules.registry.createRegistry(config, version.modules.index.VALIDATOR_FACTORIES);
  return { version, model: built.model, summary: built.summary, registry, context: contextFor(built.model, config) };
});
const head = states[1]!;
const cases = (head.version.modules.cases.buildCases(head.summary, { helm: true }) as { id: string; target: string; body: string }[]).filter((c) =>
  prefixes.some((prefix) => c.id.startsWith(prefix)),
);

const answers: Record<string, string[]> = {};
for (const state of states) {
  for (const benchCase of cases) {
    const validator = state.registry.get(benchCase.target);
    const decoded = state.version.modules.codec.decodeAdmissionReviewBody(Buffer.from(benchCase.body));
    const answer = JSON.stringify(state.version.modules.codec.encodeAdmissionResponse(decoded.request.uid, validator.handle(decoded.request, state.context())));
    (answers[benchCase.id] ??= []).push(answer);
  }
}
const differing = Object.entries(answers).filter(([, pair]) => pair[0] !== pair[1]).map(([id]) => id);

const figures: Record<string, Record<string, { p50: number[]; p99: number[]; mean: number[] }>> = {};
for (let round = 0; round < rounds; round++) {
  for (const benchCase of cases) {
    for (const state of round % 2 === 0 ? states : [...states].reverse()) {
      const measured = timeCase(state.version, state.registry.get(benchCase.target), Buffer.from(benchCase.body), state.context, Number(values.ms));
      const entry = ((figures[benchCase.id] ??= {})[state.version.name] ??= { p50: [], p99: [], mean: [] });
      entry.p50.push(measured.p50);
      entry.p99.push(measured.p99);
      entry.mean.push(measured.mean);
    }
  }
  process.stderr.write(`round ${round + 1}/${rounds} done\n`);
}

const line = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
console.log(`size ${size}; model build, inserts CPU ms: base ${builds.base!.join(', ')}; head ${builds.head!.join(', ')} (wall ${buildsWall.base!.join(', ')}; ${buildsWall.head!.join(', ')})`);
console.log(`answers identical for ${cases.length - differing.length} of ${cases.length} cases${differing.length ? `; DIFFERENT: ${differing.join(', ')}` : ''}`);
console.log(line(['case', 'base CPU p50 / p99 / mean µs (per round)', 'head CPU p50 / p99 / mean µs (per round)']));
console.log(line(['---', '---', '---']));
for (const [id, pair] of Object.entries(figures)) {
  const cell = (f: { p50: number[]; p99: number[]; mean: number[] }) => f.p50.map((p50, i) => `${p50} / ${f.p99[i]} / ${f.mean[i]}`).join('; ');
  console.log(line([id, cell(pair.base!), cell(pair.head!)]));
}
console.log(JSON.stringify({ size, builds, buildsWall, differing, figures }));

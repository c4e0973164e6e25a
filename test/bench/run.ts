// volume-guard's benchmark: `npm run bench -- [--quick] [--out report.json] [--sections floor,scale,peers,e2e,risk]`.
// Everything runs on loopback, is bounded in time and stops by itself. Progress goes to stderr, the summary to
// stdout, the full report as JSON to --out. Figures are for the README's Performance section and are never
// asserted by tests (test/unit/bench-smoke.test.ts checks the report's shape only).
//
//   --quick                 CI-size runs: a couple of seconds per load run, fewer iterations
//   --sections a,b          floor (vs a bare HTTPS server), scale (small vs large model), peers (LIST per request,
//                           needs the harness API server), e2e (through the API server), pressure (cordons at a
//                           steady rate while 100 KB, 1 MB and hostile 2 MiB Helm releases arrive), risk (risk
//                           gauges: evaluation and scrape cost, in process, per --sizes); default: all
//   --sizes small,large     cluster sizes for scale (tiny, small, large, xl: Kubernetes' scalability limits)
//   --floor-size large      the size compared with the floor
//   --connections 20        autocannon connections (pipelining is always 1, like the API server)
//   --duration 5            seconds per measured load run
//   --cases cordon,helm     only cases whose id starts with one of these
//   --out report.json       write the JSON report there
//   --log-level info        volume-guard's log level while serving (production default: info, a line per request)
//   --node-flags "--x --y"  Node flags for the server children instead of the chart's nodeOptions (default)
//   --memory-limit pod|off  run each volume-guard server in a memory cgroup at its pod's limit (the chart's; 768 Mi
//                           for xl), as Kubernetes would, where this machine lets the benchmark make one (default pod)
//   --cpu-prof DIR          write V8 CPU profiles of the server children into DIR (for finding hotspots)

import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { defaultOptions, runBench, SECTIONS, type BenchOptions, type Section } from './lib/bench.ts';
import { childNodeFlags, profileChildrenInto, runUnderMemoryLimit } from './lib/children.ts';
import { isClusterSize, type ClusterSize } from './lib/protocol.ts';
import { formatSummary } from './lib/summary.ts';

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((item) => item.trim()).filter(Boolean);
}

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    sections: { type: 'string' },
    sizes: { type: 'string' },
    'floor-size': { type: 'string' },
    connections: { type: 'string' },
    duration: { type: 'string' },
    cases: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'log-level': { type: 'string' },
    'node-flags': { type: 'string' },
    'memory-limit': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'usage: npm run bench -- [--quick] [--out report.json] [--sections floor,scale,pressure,peers,e2e,risk] [--sizes tiny,small,large,xl] ' +
      '[--floor-size large] [--connections 20] [--duration 5] [--cases cordon,upgrade] [--log-level info] [--node-flags "--x --y"] ' +
      '[--memory-limit pod|off] [--cpu-prof DIR]\n',
  );
  process.exit(0);
}

const defaults = defaultOptions(values.quick);
const sections = values.sections === undefined ? defaults.sections : list(values.sections);
for (const section of sections) if (!(SECTIONS as readonly string[]).includes(section)) fail(`unknown section "${section}" (known: ${SECTIONS.join(', ')})`);
const sizes = values.sizes === undefined ? defaults.sizes : list(values.sizes);
for (const size of sizes) if (!isClusterSize(size)) fail(`unknown size "${size}" (known: tiny, small, large, xl)`);
const floorSize = values['floor-size'] ?? (values.sizes === undefined ? defaults.floorSize : sizes[sizes.length - 1]!);
if (!isClusterSize(floorSize)) fail(`unknown --floor-size "${floorSize}"`);
const positive = (name: string, value: string | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) fail(`--${name} must be a positive number`);
  return number;
};

const options: BenchOptions = {
  ...defaults,
  sections: sections as Section[],
  sizes: sizes as ClusterSize[],
  floorSize,
  connections: Math.round(positive('connections', values.connections, defaults.connections)),
  durationSeconds: positive('duration', values.duration, defaults.durationSeconds),
  caseFilter: list(values.cases),
  logLevel: values['log-level'] ?? defaults.logLevel,
};

profileChildrenInto(values['cpu-prof']);
if (values['node-flags'] !== undefined) childNodeFlags(values['node-flags'].split(' ').filter(Boolean));
const memoryLimit = values['memory-limit'] ?? 'pod';
if (memoryLimit !== 'pod' && memoryLimit !== 'off') fail(`--memory-limit must be pod or off, not "${memoryLimit}"`);
runUnderMemoryLimit(memoryLimit === 'pod');
const report = await runBench(options, (line) => process.stderr.write(`${line}\n`));
process.stdout.write(`${formatSummary(report)}\n`);
if (values.out) {
  await writeFile(values.out, `${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`report written to ${values.out}\n`);
}
process.exit(Object.keys(report.errors).length > 0 ? 1 : 0);

// A/B: volume-guard from two (or more) checkouts side by side in one run, against the minimal correct floor.
// Each checkout's own bench server child serves the large synthetic model; per case, autocannon runs alternate
// between them and the floor (order reversed every round), and the medians are printed: req/s, server CPU per
// request, the ratios to the floor, and with --alloc the bytes allocated per request (heap growth over 400
// requests in a server with a 128 MiB young generation, kept only when no GC came in between).
//
//   node test/bench/ab.ts --trees main=/work/main,branch=. [--cases eviction-allow,cordon-allow] [--rounds 5]
//        [--duration 2] [--alloc] [--size large] [--cpu-prof DIR]   (tree@warn: that server logs at warn, no admission
//        lines; --cpu-prof: V8 CPU profiles of the volume-guard children, written when they stop)
//        [--client-auth]   (the volume-guard children require a client certificate of a CA made for the run, as
//        admission.tls.clientCaFile does; every server's clients present one)
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { createCertificateAuthority } from '../../src/server/selfsigned.ts';
import { chartNodeSettings, currentChildEnv } from './lib/children.ts';
import { admissionUrl } from './lib/cases.ts';
import { runLoad } from './lib/load.ts';
import type { ChildMessage, ChildOptions } from './lib/protocol.ts';

const CHILD = fileURLToPath(new URL('./lib/ab-child.ts', import.meta.url));
const HERE = fileURLToPath(new URL('../..', import.meta.url));

const { values } = parseArgs({
  options: {
    trees: { type: 'string', default: `branch=${HERE}` },
    cases: { type: 'string', default: 'cordon-allow,cordon-typical,cordon-deny,eviction-allow,eviction-deny,upgrade-allow,upgrade-deny,upgrade-deny-harvester-skip' },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '2' },
    connections: { type: 'string', default: '20' },
    size: { type: 'string', default: 'large' },
    alloc: { type: 'boolean', default: false },
    /** Also report each run's client-side p50 / p99 (medians over the rounds): with --connections 1, the latency at one client. */
    latency: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'client-auth': { type: 'boolean', default: false },
    /** Also serve the minimal correct floor from a process holding the large model (what the heap alone costs). */
    'model-floor': { type: 'boolean', default: false },
  },
});

type Ready = Extract<ChildMessage, { type: 'ready' }>;
interface Server {
  readonly name: string;
  readonly process: ChildProcess;
  readonly ready: Ready;
}
interface Figures {
  readonly rps: number[];
  readonly cpu: number[];
  readonly alloc: number[];
  readonly p50: number[];
  readonly p99: number[];
}

const dir = await mkdtemp(join(tmpdir(), 'volume-guard-ab-'));
const ca = await createCertificateAuthority();
const leaf = await ca.issue({ ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
await writeFile(join(dir, 'tls.crt'), leaf.certPem);
await writeFile(join(dir, 'tls.key'), leaf.keyPem, { mode: 0o600 });
// --client-auth: a client CA, and the certificate the API server would present.
const clientCa = values['client-auth'] ? await createCertificateAuthority({ commonName: 'bench client CA' }) : undefined;
const clientCertificate = clientCa
  ? await clientCa.issue({ commonName: 'kube-apiserver', dnsNames: ['kube-apiserver'], ipAddresses: [], usages: ['clientAuth'] })
  : undefined;
if (clientCa) await writeFile(join(dir, 'client-ca.crt'), clientCa.certPem);
const tls = clientCertificate ? { clientCertificate: { cert: clientCertificate.certPem, key: clientCertificate.keyPem } } : {};

const children: ChildProcess[] = [];
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function next<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolveMessage, reject) => {
    const onMessage = (message: { type?: string; message?: string }) => {
      if (message.type === 'error') reject(new Error(message.message));
      if (message.type !== type) return;
      child.off('message', onMessage);
      resolveMessage(message as T);
    };
    child.on('message', onMessage);
  });
}

async function ask<T>(server: Server, type: string): Promise<T> {
  const reply = next<T>(server.process, type);
  server.process.send({ type });
  return reply;
}

const nodeFlags = values.alloc ? ['--max-semi-space-size=128'] : chartNodeSettings().nodeOptions;
const profileFlags = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', resolve(values['cpu-prof'])] : [];
async function start(name: string, tree: string, options: Omit<ChildOptions, 'certFile' | 'keyFile'>): Promise<Server> {
  const child = fork(CHILD, [tree, JSON.stringify({ certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), ...options })], {
    // As the bench's own server children: the chart's Node options and its `env` values.
    env: { ...process.env, ...currentChildEnv() },
    execArgv: ['--expose-gc', ...nodeFlags, ...(options.mode === 'guard' ? profileFlags : [])],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.push(child);
  return { name, process: child, ready: await next<Ready>(child, 'ready') };
}

const caseIds = values.cases.split(',').filter(Boolean);
const guards: Server[] = [];
for (const spec of values.trees.split(',')) {
  const [name = 'tree', rest = '.'] = spec.split('=');
  const [tree = '.', level = 'info'] = rest.split('@');
  process.stderr.write(`${name}: building the ${values.size} model…\n`);
  guards.push(await start(name, resolve(tree), { mode: 'guard', size: values.size as ChildOptions['size'], caseFilter: caseIds, logFile: join(dir, `${name}.log`), logLevel: level, ...(clientCa ? { clientCaFile: join(dir, 'client-ca.crt') } : {}) }));
}
if (values['model-floor']) {
  process.stderr.write(`model-floor: building the ${values.size} model…\n`);
  guards.push(await start('model-floor', HERE, { mode: 'guard', size: values.size as ChildOptions['size'], caseFilter: caseIds, floorWithModel: true }));
}
const floor = await start('floor', HERE, { mode: 'floor' });
const servers = [...guards, floor];
const median = (list: readonly number[]) => (list.length === 0 ? Number.NaN : [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!);
const connections = Number(values.connections);

for (const id of caseIds) {
  const benchCase = guards[0]?.ready.cases?.find((candidate) => candidate.id === id);
  if (!benchCase) continue;
  const url = (server: Server) => admissionUrl(server.ready.port, benchCase.target);
  const figures = new Map<Server, Figures>(servers.map((server) => [server, { rps: [], cpu: [], alloc: [], p50: [], p99: [] }]));
  for (const server of servers) await runLoad({ url: url(server), body: benchCase.body, connections, durationSeconds: 0.5, ...tls });
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
      const cpuBefore = (await ask<{ micros: number }>(server, 'cpu')).micros;
      const run = await runLoad({ url: url(server), body: benchCase.body, connections, durationSeconds: Number(values.duration), ...tls });
      const cpu = (await ask<{ micros: number }>(server, 'cpu')).micros - cpuBefore;
      figures.get(server)!.rps.push(run.requestsPerSecond);
      figures.get(server)!.p50.push(run.latency.p50);
      figures.get(server)!.p99.push(run.latency.p99);
      figures.get(server)!.cpu.push(Math.round((cpu / Math.max(1, run.requests)) * 10) / 10);
      if (values.alloc) {
        const before = await ask<{ used: number; gcs: number }>(server, 'heap');
        const amount = 400;
        await new Promise((done, fail) => {
          autocannon({ url: url(server), method: 'POST', body: benchCase.body, headers: { 'content-type': 'application/json' }, connections: 4, amount, ...(tls.clientCertificate ? { tlsOptions: tls.clientCertificate } : {}) }, (error) => (error ? fail(error) : done(undefined)));
        });
        const after = await ask<{ used: number; gcs: number }>(server, 'heap');
        if (after.gcs === before.gcs) figures.get(server)!.alloc.push(Math.round((after.used - before.used) / amount));
      }
    }
  }
  const floorFigures = figures.get(floor)!;
  const parts = servers.map((server) => {
    const own = figures.get(server)!;
    const ratios = server === floor ? '' : ` (ratio ${(median(own.rps) / median(floorFigures.rps)).toFixed(2)}, CPU ratio ${(median(floorFigures.cpu) / median(own.cpu)).toFixed(2)})`;
    const alloc = own.alloc.length > 0 ? `, ${(median(own.alloc) / 1024).toFixed(1)} KB allocated` : '';
    const latency = values.latency ? `, client p50 ${median(own.p50)} / p99 ${median(own.p99)} µs (p99 per round ${own.p99.join(', ')})` : '';
    return `${server.name}: ${median(own.rps)} req/s, ${median(own.cpu)} µs CPU${alloc}${latency}${ratios}`;
  });
  process.stdout.write(`${id.padEnd(28)} ${parts.join(' | ')}\n`);
}
// Each child exits by itself on 'stop' (a CPU profile is written then); the 'exit' handler kills any that hang.
const exited = servers.map((server) => new Promise((done) => server.process.once('exit', done)));
for (const server of servers) server.process.send({ type: 'stop' });
await Promise.race([Promise.all(exited), new Promise((done) => setTimeout(done, 10_000).unref())]);
process.exit(0);

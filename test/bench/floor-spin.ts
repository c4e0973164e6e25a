// The minimal correct floor made slower by a fixed busy-wait per request: what a given amount of work per request
// costs a webhook's throughput on this machine, whatever the work is. Each spin is served by its own child
// (the chart's Node options, the floor's TLS and keep-alive settings), autocannon at 20 connections sends the same
// eviction review, spins alternate within each round; medians of req/s, server CPU per request, the time the
// answer's write took (`response.end`) and the throughput ratio to the unslowed floor.
//
//   node test/bench/floor-spin.ts [--spins 0,5,10,20,40,80] [--rounds 3] [--duration 3] [--connections 20] [--out F]
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createCertificateAuthority } from '../../src/server/selfsigned.ts';
import { admissionUrl, evictionReview } from './lib/cases.ts';
import { chartNodeSettings } from './lib/children.ts';
import { minimalCorrectHandler, startFloorServer, type WriteTiming } from './lib/floor-server.ts';
import { runLoad } from './lib/load.ts';

const { values } = parseArgs({
  options: {
    child: { type: 'string' },
    spins: { type: 'string', default: '0,5,10,20,40,80' },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '3' },
    connections: { type: 'string', default: '20' },
    out: { type: 'string' },
  },
});

interface Usage {
  readonly cpuMicroseconds: number;
  readonly writeMicroseconds: number;
  readonly answers: number;
}

if (values.child !== undefined) {
  // Child: one floor with the spin given, answering 'usage' with its CPU and write time so far.
  const { spin, certFile, keyFile } = JSON.parse(values.child) as { spin: number; certFile: string; keyFile: string };
  const timing: WriteTiming = { microseconds: 0, answers: 0 };
  const server = await startFloorServer({ certPem: await readFile(certFile, 'utf8'), keyPem: await readFile(keyFile, 'utf8') }, minimalCorrectHandler(spin, timing));
  process.on('message', () => {
    const cpu = process.cpuUsage();
    const usage: Usage = { cpuMicroseconds: cpu.user + cpu.system, writeMicroseconds: timing.microseconds, answers: timing.answers };
    process.send?.(usage);
  });
  process.send?.({ port: server.port });
} else {
  const spins = values.spins.split(',').map(Number);
  if (spins.some((spin) => !Number.isFinite(spin) || spin < 0)) throw new Error(`--spins: non-negative microseconds, comma-separated (got ${values.spins})`);
  const rounds = Number(values.rounds);
  const durationSeconds = Number(values.duration);
  const connections = Number(values.connections);
  const dir = await mkdtemp(join(tmpdir(), 'volume-guard-floor-spin-'));
  const ca = await createCertificateAuthority();
  const leaf = await ca.issue({ ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
  await writeFile(join(dir, 'tls.crt'), leaf.certPem);
  await writeFile(join(dir, 'tls.key'), leaf.keyPem, { mode: 0o600 });
  const body = evictionReview({ namespace: 'bench', name: 'floor-spin' });

  const children: ChildProcess[] = [];
  process.once('exit', () => {
    for (const child of children) child.kill('SIGKILL');
  });
  const reply = <T>(child: ChildProcess) => new Promise<T>((resolve) => child.once('message', (message) => resolve(message as T)));
  const servers = new Map<number, { child: ChildProcess; port: number }>();
  for (const spin of spins) {
    const child = fork(fileURLToPath(import.meta.url), ['--child', JSON.stringify({ spin, certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') })], {
      execArgv: [...chartNodeSettings().nodeOptions],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    children.push(child);
    servers.set(spin, { child, port: (await reply<{ port: number }>(child)).port });
  }
  const url = (spin: number) => admissionUrl(servers.get(spin)!.port, 'pod-eviction');
  for (const spin of spins) await runLoad({ url: url(spin), body, connections, durationSeconds: 0.5 });

  const figures = new Map(spins.map((spin) => [spin, { rps: [] as number[], cpu: [] as number[], write: [] as number[] }]));
  for (let round = 0; round < rounds; round++) {
    for (const spin of round % 2 === 0 ? spins : [...spins].reverse()) {
      const { child } = servers.get(spin)!;
      const usage = () => {
        const answer = reply<Usage>(child);
        child.send('usage');
        return answer;
      };
      const before = await usage();
      const run = await runLoad({ url: url(spin), body, connections, durationSeconds });
      const after = await usage();
      const answers = Math.max(1, after.answers - before.answers);
      figures.get(spin)!.rps.push(run.requestsPerSecond);
      figures.get(spin)!.cpu.push((after.cpuMicroseconds - before.cpuMicroseconds) / Math.max(1, run.requests));
      figures.get(spin)!.write.push((after.writeMicroseconds - before.writeMicroseconds) / answers);
      process.stderr.write(`round ${round + 1}/${rounds} spin ${spin} µs: ${run.requestsPerSecond} req/s\n`);
    }
  }
  const median = (list: readonly number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
  const base = median(figures.get(spins[0]!)!.rps);
  const rows = spins.map((spin) => {
    const figure = figures.get(spin)!;
    const rps = median(figure.rps);
    const cpu = median(figure.cpu);
    return {
      spinMicroseconds: spin,
      requestsPerSecond: rps,
      cpuMicrosecondsPerRequest: Math.round(cpu * 10) / 10,
      beyondSpinMicroseconds: Math.round((cpu - spin) * 10) / 10,
      writeMicroseconds: Math.round(median(figure.write) * 10) / 10,
      ratioToFirst: Math.round((rps / base) * 100) / 100,
    };
  });
  for (const row of rows) {
    console.log(
      `spin ${String(row.spinMicroseconds).padStart(3)} µs: ${String(row.requestsPerSecond).padStart(6)} req/s (ratio ${row.ratioToFirst.toFixed(2)}), ` +
        `CPU ${row.cpuMicrosecondsPerRequest} µs per request (${row.beyondSpinMicroseconds} beyond the spin), answer write ${row.writeMicroseconds} µs`,
    );
  }
  if (values.out) await writeFile(values.out, `${JSON.stringify({ schema: 'volume-guard-floor-spin/1', startedAt: new Date().toISOString(), connections, durationSeconds, rounds, rows }, null, 2)}\n`);
  process.exit(0);
}

// volume-guard's HTTPS server under load and abuse, each test against its own `volume-guard serve` process
// (the real CLI, serving the harness's real cluster):
// - SIGTERM under load: readiness false before the listener closes, no in-flight request fails, exit 0;
// - certificate rotation every 2 s under load: no failed request, new handshakes see the new serials;
// - 1,000 concurrent keep-alive TLS connections held (15 s; VOLUME_GUARD_FAULT_HOLD_SECONDS=60 for the long
//   variant) with zero errors and no reconnects;
// - slow-loris clients (slow headers, slow bodies, no TLS handshake, no request) are cut by the server's
//   timeouts while ordinary requests keep their latency.
// Figures are printed as `[fault] ...` lines for the README's Reliability section.
import { readFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createCertificateAuthority } from '../../src/server/selfsigned.ts';
import { startGuard, waitFor, type GuardInstance } from '../harness/guard.ts';
import { peerCertificate } from '../support/tls.ts';
import { replacePairFiles } from '../support/tls-files.ts';
import { holdConnections } from './lib/connections.ts';
import { RequestLoop, cordonReview, percentile, round, sleep, startAutocannon, tcpAccepts } from './lib/admission-load.ts';

const cluster = inject('cluster');
/** A node nobody has: its cordon is allowed after the checks ran (the full admission path, a stable answer). */
const NODE = 'fault-load-node';
const BODY = cordonReview(NODE);
const PATH = '/validate/node-cordon';
const HOLD_SECONDS = Number(process.env.VOLUME_GUARD_FAULT_HOLD_SECONDS ?? '15');

const guards: GuardInstance[] = [];
afterEach(async () => {
  await Promise.all(guards.splice(0).map((guard) => guard.stop()));
});

async function guard(name: string, config: Record<string, unknown> = {}): Promise<GuardInstance & { port: number }> {
  const started = await startGuard(cluster, { name: `fault-${name}-${process.pid}`, config });
  guards.push(started);
  return Object.assign(started, { port: Number(new URL(started.url).port) });
}

function report(what: string, figures: Record<string, unknown>): void {
  console.log(`[fault] ${what}: ${JSON.stringify(figures)}`);
}

describe('SIGTERM under load', () => {
  it('turns readiness false before the listener closes, fails no in-flight request, and exits 0', async () => {
    const drainDelayMs = 3_000;
    const server = await guard('sigterm', { shutdown: { drainDelayMs, timeoutMs: 15_000 } });
    const loop = new RequestLoop({ port: server.port, path: PATH, body: BODY, ca: server.caPem, concurrency: 16, keepAlive: true }).start();
    await waitFor('load to flow', 20_000, async () => loop.stats().answered > 200);

    let readyFalseAt: number | undefined;
    let listenerClosedAt: number | undefined;
    let watching = true;
    const readiness = (async () => {
      while (watching && readyFalseAt === undefined) {
        const status = await fetch(`${server.opsUrl}/readyz`).then((response) => response.status, () => 0);
        if (status === 503) readyFalseAt = Date.now();
        await sleep(20);
      }
    })();
    const listener = (async () => {
      while (watching && listenerClosedAt === undefined) {
        if (!(await tcpAccepts(server.port))) listenerClosedAt = Date.now();
        await sleep(20);
      }
    })();

    const signalledAt = Date.now();
    server.process.kill('SIGTERM');
    const exitCode = await new Promise<number | null>((resolve) => server.process.once('exit', (code) => resolve(code)));
    const exitedAt = Date.now();
    const stats = await loop.stop();
    watching = false;
    await Promise.all([readiness, listener]);

    const duringDrain = stats.answeredAt.filter((at) => at >= signalledAt).length;
    report('SIGTERM under load', {
      requestsAnswered: stats.answered,
      answeredAfterSigterm: duringDrain,
      failedInFlight: stats.failures.length,
      failures: stats.failures.slice(0, 5).map((failure) => ({ ...failure, afterSigtermMs: failure.at - signalledAt })),
      notConnectedAtListenerClose: stats.refused,
      ofWhichResetWhileConnecting: stats.resetBeforeSent,
      readyFalseAfterMs: readyFalseAt === undefined ? null : readyFalseAt - signalledAt,
      listenerClosedAfterMs: listenerClosedAt === undefined ? null : listenerClosedAt - signalledAt,
      exitedAfterMs: exitedAt - signalledAt,
      exitCode,
    });
    expect(stats.failures).toEqual([]);
    expect(exitCode).toBe(0);
    expect(readyFalseAt).toBeDefined();
    expect(listenerClosedAt).toBeDefined();
    expect(readyFalseAt!).toBeLessThan(listenerClosedAt!);
    // The listener stays open through the drain delay, and requests on open connections keep being answered.
    expect(listenerClosedAt! - signalledAt).toBeGreaterThanOrEqual(drainDelayMs - 500);
    expect(duringDrain).toBeGreaterThan(0);
  });
});

describe('certificate rotation under load', () => {
  it('serves each new certificate within seconds and fails no request while rotating every 2 s', async () => {
    const server = await guard('rotation');
    const ca = await createCertificateAuthority({ commonName: 'volume-guard rotation test CA' });
    const trusted = [server.caPem, ca.certPem];
    const cannon = startAutocannon({ url: `${server.url}${PATH}`, body: BODY, connections: 8, reconnectRate: 25, overallRate: 400 });
    // New connection per request, certificate verified: sees every swap, and any bad moment in one.
    const verifying = new RequestLoop({ port: server.port, path: PATH, body: BODY, ca: trusted, concurrency: 4, keepAlive: false }).start();

    const rotations = 6;
    const written: string[] = [];
    const pickupMs: number[] = [];
    for (let index = 0; index < rotations; index += 1) {
      await sleep(2_000);
      const pair = await ca.issue({ ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
      const writtenAt = Date.now();
      // Atomically (rename) or in place (readers may see halves).
      await replacePairFiles(server, pair, index % 2 === 0 ? 'rename' : 'in place');
      written.push(pair.serialNumber);
      await waitFor(`serial ${pair.serialNumber} to be served`, 10_000, async () => (await peerCertificate(server.port)).serialNumber === pair.serialNumber, 50);
      pickupMs.push(Date.now() - writtenAt);
    }
    await sleep(1_000);
    cannon.stop();
    const [load, stats] = await Promise.all([cannon.result, verifying.stop()]);

    const served = stats.serials.filter((serial) => written.includes(serial));
    // In-place writes can be read half-done: the server must refuse that pair and keep serving the old one.
    const halfPairsRefused = (await readFile(server.logFile, 'utf8')).split('\n').filter((line) => line.includes('new serving certificate rejected')).length;
    report('certificate rotation under load', {
      rotations,
      pickupMs,
      halfPairsRefused,
      autocannon: { requests: load['2xx'], errors: load.errors, timeouts: load.timeouts, non2xx: load.non2xx, p99Ms: load.latency.p99 },
      verifyingClient: { requests: stats.answered, failures: stats.failures.length, serialsSeen: stats.serials.length },
    });
    expect(stats.failures).toEqual([]);
    expect(load.errors).toBe(0);
    expect(load.timeouts).toBe(0);
    expect(load.non2xx).toBe(0);
    expect(load['2xx']).toBeGreaterThan(0);
    // Fresh handshakes saw the original serial and then the rotated ones, ending with the last.
    expect(served.length).toBeGreaterThanOrEqual(rotations - 1);
    expect(stats.serials.at(-1)).toBe(written.at(-1));
  });
});

describe('connections', () => {
  it(`holds 1,000 concurrent keep-alive TLS connections for ${HOLD_SECONDS} s with zero errors`, { timeout: (HOLD_SECONDS + 120) * 1000 }, async () => {
    const server = await guard('connections');
    const figures = await holdConnections({ port: server.port, ca: server.caPem, path: PATH, body: BODY, connections: 1_000, seconds: HOLD_SECONDS });
    report('1,000 keep-alive TLS connections', { ...figures, errors: figures.errors.length });
    expect(figures.errors).toEqual([]);
    // No connection was dropped and re-opened: every wave ran on the same 1,000 sockets.
    expect(figures.distinctSockets).toBe(1_000);
    expect(figures.stillOpen).toBe(1_000);
    expect(figures.waves).toBeGreaterThanOrEqual(Math.floor(HOLD_SECONDS / 5));
    expect(figures.newClientFailures).toBe(0);
    expect(figures.newClientRequests).toBeGreaterThan(0);
  });
});

interface SlowClient {
  readonly kind: string;
  readonly startedAt: number;
  /**
   * When the TLS handshake completed: the server's header and request timers start with the HTTP connection, after
   * the handshake (bounded by handshakeTimeout on its own), which on a loaded machine queues behind 300 others.
   */
  connectedAt?: number;
  closedAt?: number;
  /** The server answered 408 (or anything) before closing. */
  firstBytes: string;
  bytesSent: number;
}

/** Trickles `chunks` one per second after `opening`; records when the server closes the connection. */
function slowTlsClient(port: number, ca: string, kind: string, opening: string | undefined, trickle: string): SlowClient {
  const client: SlowClient = { kind, startedAt: Date.now(), firstBytes: '', bytesSent: 0 };
  const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
  let timer: NodeJS.Timeout | undefined;
  socket.once('secureConnect', () => {
    client.connectedAt = Date.now();
    if (opening === undefined) return; // connected and silent
    socket.write(opening);
    client.bytesSent += opening.length;
    timer = setInterval(() => {
      if (socket.destroyed || !socket.writable) return;
      socket.write(trickle);
      client.bytesSent += trickle.length;
    }, 1_000);
  });
  socket.on('data', (chunk: Buffer) => {
    if (client.firstBytes.length < 40) client.firstBytes += chunk.toString('latin1').slice(0, 40);
  });
  socket.on('error', () => undefined);
  socket.once('close', () => {
    clearInterval(timer);
    client.closedAt = Date.now();
  });
  return client;
}

/** TCP only, never a TLS ClientHello. */
function silentTcpClient(port: number): SlowClient {
  const client: SlowClient = { kind: 'no TLS handshake', startedAt: Date.now(), firstBytes: '', bytesSent: 0 };
  const socket = netConnect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  socket.once('close', () => (client.closedAt = Date.now()));
  return client;
}

describe('slow-loris', () => {
  it('cuts slow headers, slow bodies and silent connections by the server timeouts while others keep their latency', { timeout: 120_000 }, async () => {
    const server = await guard('slowloris');
    // A baseline of the latency a new client sees, before the attack.
    const baselineLoop = new RequestLoop({ port: server.port, path: PATH, body: BODY, ca: server.caPem, concurrency: 2, keepAlive: false, pauseMs: 100 }).start();
    await sleep(3_000);
    const baseline = await baselineLoop.stop();

    const headers = 'POST /validate/node-cordon HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n';
    const clients: SlowClient[] = [];
    for (let index = 0; index < 100; index += 1) clients.push(slowTlsClient(server.port, server.caPem, 'slow headers', headers, 'X-Slow: 1\r\n'));
    for (let index = 0; index < 100; index += 1) {
      clients.push(slowTlsClient(server.port, server.caPem, 'slow body', `${headers}Content-Length: 100000\r\n\r\n{`, ' '));
    }
    for (let index = 0; index < 50; index += 1) clients.push(slowTlsClient(server.port, server.caPem, 'no request', undefined, ''));
    for (let index = 0; index < 50; index += 1) clients.push(silentTcpClient(server.port));

    const normal = new RequestLoop({ port: server.port, path: PATH, body: BODY, ca: server.caPem, concurrency: 2, keepAlive: false, pauseMs: 100 }).start();
    await waitFor('every slow client to be cut off', 60_000, async () => clients.every((client) => client.closedAt !== undefined), 500).catch(() => undefined);
    const normalStats = await normal.stop();

    const byKind = new Map<string, number[]>();
    for (const client of clients) {
      const list = byKind.get(client.kind) ?? [];
      list.push(client.closedAt === undefined ? Number.POSITIVE_INFINITY : client.closedAt - (client.connectedAt ?? client.startedAt));
      byKind.set(client.kind, list);
    }
    const cutAfter = Object.fromEntries([...byKind].map(([kind, times]) => [kind, { count: times.length, maxSeconds: round(Math.max(...times) / 1000), minSeconds: round(Math.min(...times) / 1000) }]));
    report('slow-loris', {
      cutAfter,
      normalRequests: normalStats.answered,
      normalFailures: normalStats.failures.length,
      normalP50Ms: round(percentile(normalStats.latencies, 50)),
      normalP99Ms: round(percentile(normalStats.latencies, 99)),
      baselineP50Ms: round(percentile(baseline.latencies, 50)),
      baselineP99Ms: round(percentile(baseline.latencies, 99)),
    });

    const slack = 5_000; // the server checks its timeouts every 2 s; the machine is shared
    const maxOf = (kind: string) => Math.max(...(byKind.get(kind) ?? [Number.POSITIVE_INFINITY]));
    expect(maxOf('slow headers')).toBeLessThanOrEqual(10_000 + slack); // headersTimeout
    expect(maxOf('slow body')).toBeLessThanOrEqual(30_000 + slack); // requestTimeout
    expect(maxOf('no TLS handshake')).toBeLessThanOrEqual(10_000 + slack); // handshakeTimeout
    expect(maxOf('no request')).toBeLessThanOrEqual(10_000 + slack); // headersTimeout from the connection's start
    // Every TLS client's handshake ended (completed, or cut) within handshakeTimeout: the timers above count from it.
    const handshakes = clients
      .filter((client) => client.kind !== 'no TLS handshake')
      .map((client) => (client.connectedAt ?? client.closedAt ?? Number.POSITIVE_INFINITY) - client.startedAt);
    expect(Math.max(...handshakes)).toBeLessThanOrEqual(10_000 + slack);
    // Slow clients were cut, not answered: their request never completed.
    for (const client of clients.filter((item) => item.kind === 'slow body')) expect(client.firstBytes).not.toMatch(/^HTTP\/1\.1 200/);
    expect(normalStats.failures).toEqual([]);
    expect(normalStats.answered).toBeGreaterThan(50);
    expect(percentile(normalStats.latencies, 99)).toBeLessThan(2_000);
  });
});

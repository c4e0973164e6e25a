// Holding many keep-alive TLS connections open against volume-guard and using them in waves (fault test: 15 s,
// soak: 60 s), while a new client measures the latency everyone else sees.
import { Agent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { RequestLoop, percentile, round, sleep } from './admission-load.ts';

export interface HoldOptions {
  readonly port: number;
  readonly ca: string;
  readonly path: string;
  readonly body: string;
  /** Connections to hold, in groups of 100. */
  readonly connections: number;
  readonly seconds: number;
  /** Time between waves of one request per connection. */
  readonly waveIntervalMs?: number;
}

export interface HoldFigures {
  readonly heldSeconds: number;
  readonly connections: number;
  readonly openAllMs: number;
  readonly waves: number;
  readonly requests: number;
  readonly errors: readonly string[];
  /** Connections still open at the end (all of them, when none was dropped). */
  readonly stillOpen: number;
  readonly newClientRequests: number;
  readonly newClientFailures: number;
  readonly newClientP50Ms: number;
  readonly newClientP99Ms: number;
}

const GROUP = 100;

function post(agent: Agent, options: HoldOptions): Promise<{ status: number; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      { host: '127.0.0.1', port: options.port, path: options.path, method: 'POST', agent, ca: options.ca, servername: 'localhost', headers: { 'content-type': 'application/json' } },
      (response) => {
        // Taken now: once the response ends, the socket goes back to the agent and response.socket is cleared.
        const socket = response.socket;
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode ?? 0, socket }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

export async function holdConnections(options: HoldOptions): Promise<HoldFigures & { readonly distinctSockets: number }> {
  const groups = Math.ceil(options.connections / GROUP);
  // One agent per 100 connections: each wave sends exactly 100 requests per agent, so every free socket is reused.
  const agents = Array.from({ length: groups }, () => new Agent({ keepAlive: true, maxSockets: GROUP, maxFreeSockets: GROUP, scheduling: 'fifo' }));
  const sockets = new Set<Socket>();
  let requests = 0;
  const errors: string[] = [];
  const wave = async () => {
    for (const agent of agents) {
      const results = await Promise.allSettled(Array.from({ length: GROUP }, () => post(agent, options)));
      for (const result of results) {
        requests += 1;
        if (result.status === 'rejected') errors.push(String(result.reason));
        else if (result.value.status !== 200) errors.push(`HTTP ${result.value.status}`);
        else sockets.add(result.value.socket);
      }
    }
  };
  const openedAt = Date.now();
  await wave();
  const openAllMs = Date.now() - openedAt;

  const probe = new RequestLoop({ port: options.port, path: options.path, body: options.body, ca: options.ca, concurrency: 1, keepAlive: false, pauseMs: 250 }).start();
  const until = Date.now() + options.seconds * 1000;
  let waves = 1;
  while (Date.now() < until) {
    await sleep(Math.min(options.waveIntervalMs ?? 5_000, Math.max(0, until - Date.now())));
    await wave();
    waves += 1;
  }
  const probeStats = await probe.stop();
  const stillOpen = [...sockets].filter((socket) => !socket.destroyed).length;
  for (const agent of agents) agent.destroy();
  return {
    heldSeconds: options.seconds,
    connections: groups * GROUP,
    distinctSockets: sockets.size,
    openAllMs,
    waves,
    requests,
    errors,
    stillOpen,
    newClientRequests: probeStats.answered,
    newClientFailures: probeStats.failures.length,
    newClientP50Ms: round(percentile(probeStats.latencies, 50)),
    newClientP99Ms: round(percentile(probeStats.latencies, 99)),
  };
}

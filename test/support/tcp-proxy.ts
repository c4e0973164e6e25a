// A loopback TCP proxy a test puts between a client and a real server (the harness API server), to make network
// faults the client cannot tell from the real thing: every connection dropped and new ones refused (cut), or open
// connections gone silent without closing (stalled). It forwards bytes and nothing else.
import net from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { createKubeConfig } from '../../src/cluster/kubeconfig.ts';

interface Pair {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  stalled: boolean;
}

export class TcpProxy {
  readonly #server: net.Server;
  readonly #pairs = new Set<Pair>();
  #open = true;
  port = 0;

  constructor(target: { host: string; port: number }) {
    this.#server = net.createServer((client) => {
      if (!this.#open) {
        client.destroy();
        return;
      }
      const upstream = net.connect(target.port, target.host);
      const pair: Pair = { client, upstream, stalled: false };
      this.#pairs.add(pair);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.#pairs.delete(pair);
      };
      // A stalled pair swallows whatever either side sends, the server closing its end included: to the
      // client, a half-open connection, silent until the client gives up on it.
      client.on('data', (chunk) => pair.stalled || upstream.write(chunk));
      upstream.on('data', (chunk) => pair.stalled || client.write(chunk));
      for (const event of ['end', 'close', 'error']) {
        client.on(event, close);
        upstream.on(event, () => (pair.stalled ? upstream.destroy() : close()));
      }
    });
  }

  /** A proxy in front of the server of an https URL (e.g. the cluster's `server`), listening on 127.0.0.1. */
  static async inFrontOf(serverUrl: string): Promise<TcpProxy> {
    const target = new URL(serverUrl);
    const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port) });
    await proxy.listen();
    return proxy;
  }

  /** https://127.0.0.1:PORT: the target's URL through the proxy. */
  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** Connections open through the proxy. */
  get connections(): number {
    return this.#pairs.size;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as net.AddressInfo).port;
  }

  /** Drops every connection (both ends) and refuses new ones (accepted, then closed at once). */
  cut(): void {
    this.#open = false;
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
  }

  restore(): void {
    this.#open = true;
  }

  /** Existing connections go silent without closing; new ones work. */
  stallConnections(): void {
    for (const pair of this.#pairs) pair.stalled = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

/** The kubeconfig at `kubeconfigPath`, its clusters pointed at another server URL (a proxy's `url`) when given. */
export function kubeConfigVia(kubeconfigPath: string, server?: string): KubeConfig {
  const admin = createKubeConfig({ kubeconfigPath });
  if (server === undefined) return admin;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: admin.clusters.map((entry) => ({ ...entry, server })),
    users: admin.users,
    contexts: admin.contexts,
    currentContext: admin.currentContext,
  });
  return kubeConfig;
}

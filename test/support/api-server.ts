// A kube-apiserver of a test's own, beside the shared one: the harness binary started directly on a fresh state
// directory (its own etcd, ports and kubeconfig; no CRDs), for what the shared cluster must not see — a cluster
// without cert-manager, a partial Longhorn install, an API server started with other flags. Stopped and its
// directory removed by stop().
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin } from '../harness/cluster.ts';

export interface OwnApiServerOptions {
  /** Prefix of its temp directory (state, log). */
  readonly prefix?: string;
  /** kube-apiserver flags, passed through the harness binary after `--`. */
  readonly flags?: readonly string[];
  /** How long to wait for its READY line. Default 120 s. */
  readonly readyTimeoutMs?: number;
}

export class OwnApiServer {
  readonly dir: string;
  /** The admin kubeconfig the harness binary writes. */
  readonly kubeconfig: string;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;

  private constructor(dir: string, child: ChildProcess) {
    this.dir = dir;
    this.kubeconfig = join(dir, 'state', 'kubeconfig');
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  static async start(options: OwnApiServerOptions = {}): Promise<OwnApiServer> {
    const dir = await mkdtemp(join(tmpdir(), options.prefix ?? 'vg-apiserver-'));
    const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
    const flags = options.flags ?? [];
    const logFd = openSync(join(dir, 'apiserver.log'), 'a');
    const args = ['--state-dir', join(dir, 'state'), ...(flags.length > 0 ? ['--', ...flags] : [])];
    const child = spawn(bin.apiserver, args, { stdio: ['ignore', 'pipe', logFd] });
    closeSync(logFd);
    const server = new OwnApiServer(dir, child);
    try {
      await new Promise<void>((resolve, reject) => {
        let output = '';
        const timer = setTimeout(() => reject(new Error(`API server not ready in ${readyTimeoutMs / 1000} s; see ${dir}/apiserver.log`)), readyTimeoutMs);
        child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
          output += chunk;
          if (/^READY /m.test(output)) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`API server exited (${code}); see ${dir}/apiserver.log`));
        });
      });
    } catch (error) {
      // Not ready: stop it (the log stays for the reader).
      await server.#terminate();
      throw error;
    }
    return server;
  }

  async #terminate(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGTERM');
      const killed = setTimeout(() => this.#child.kill('SIGKILL'), 15_000);
      await this.#exited;
      clearTimeout(killed);
    }
  }

  /** SIGTERM (SIGKILL after 15 s), then removes its directory. */
  async stop(): Promise<void> {
    await this.#terminate();
    await rm(this.dir, { recursive: true, force: true });
  }
}

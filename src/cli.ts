#!/usr/bin/env node
// volume-guard's command line. Each subcommand registers itself through a CommandRegistrar, so other parts
// (e.g. `audit` from src/audit/) plug in by adding their registrar to COMMANDS.

import { readFileSync, realpathSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, type HelpContext } from 'commander';
import { ConfigError, envName, loadConfig } from './config.ts';
import type { Config } from './config.ts';
import { EXIT_CONFIG, oneLineUsageErrors, type CommandRegistrar } from './cli-types.ts';
import { KubeconfigError } from './cluster/kubeconfig.ts';
import { createLogger } from './logging.ts';
import { TlsConfigError } from './server/tls.ts';

/** The package's version: package.json sits one level above both src/ and dist/. */
export const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export const registerServeCommand: CommandRegistrar = (program) => {
  oneLineUsageErrors(program.command('serve'))
    .description('run the admission webhook (HTTPS) and the ops endpoints (HTTP: /healthz, /readyz, /metrics)')
    .option('-c, --config <file>', 'YAML configuration file (VOLUME_GUARD_* environment variables override it)')
    .option(
      '--self-signed',
      'local try-outs only: serve a freshly generated certificate for 127.0.0.1/localhost instead of the configured files',
    )
    .action(async (options: { config?: string; selfSigned?: boolean }) => {
      // Before the model's first objects: V8 flags NODE_OPTIONS cannot carry (src/server/v8-flags.ts).
      (await import('./server/v8-flags.ts')).applyServeV8Flags();
      let config = loadConfig({ ...(options.config ? { file: options.config } : {}), env: process.env });
      const log = createLogger(config.log.level);
      // Loaded only now, so --help and configuration errors answer without loading the server stack.
      const [{ serve }, { writeSelfSignedTls }] = await Promise.all([
        import('./server/serve.ts'),
        import('./server/selfsigned.ts'),
      ]);
      if (options.selfSigned) {
        const generated = await writeSelfSignedTls();
        // The CA is only good for this run: leave nothing behind.
        process.once('exit', () => rmSync(generated.dir, { recursive: true, force: true }));
        config = withTlsFiles(config, generated.certFile, generated.keyFile);
        log.warn(
          { caFile: generated.caFile, certFile: generated.certFile, serialNumber: generated.serialNumber },
          'serving a self-signed certificate (development only); its CA is in caFile',
        );
        process.stderr.write(`volume-guard: self-signed CA written to ${generated.caFile}\n`);
      }
      try {
        await serve({ config, log });
      } catch (error) {
        throw listenAddressError(error, config, options.config) ?? error;
      }
    });
};

/** What getaddrinfo answers for a name it cannot resolve: Node looks up a listen host that is no IP address. */
const UNRESOLVED_HOST_CODES: ReadonlySet<string> = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME']);

/**
 * A listen host that is no IP address and resolves to none (`not a host`, `999.1.1.1`), or an IP address that is not
 * this machine's (EADDRNOTAVAIL), is a configuration mistake: a ConfigError naming the field and where it was set,
 * instead of the system call's error and stack.
 */
export function listenAddressError(error: unknown, config: Config, file: string | undefined, env: NodeJS.ProcessEnv = process.env): ConfigError | undefined {
  const failure = error as NodeJS.ErrnoException & { hostname?: unknown; address?: unknown };
  const unresolved = failure?.syscall === 'getaddrinfo' && UNRESOLVED_HOST_CODES.has(String(failure.code));
  // A valid IP address that is none of this machine's (listen EADDRNOTAVAIL): a copied pod IP, another host's.
  const notHere = failure?.syscall === 'listen' && failure.code === 'EADDRNOTAVAIL';
  if (!unresolved && !notHere) return undefined;
  const failed = unresolved ? failure.hostname : failure.address;
  // The admission server listens first: with both hosts the same, it is the one that failed.
  const field = ([['admission', config.admission.host], ['ops', config.ops.host]] as const).find(([, host]) => host === failed);
  if (field === undefined) return undefined;
  const [section, host] = field;
  const variable = envName([section, 'host']);
  const from = env[variable] !== undefined ? variable : file;
  const where = from ? ` (from ${from})` : '';
  if (notHere) {
    return new ConfigError(
      `config: ${section}.host ${JSON.stringify(host)} is no address of this machine (listen EADDRNOTAVAIL); ` +
        `use one of its addresses, or 0.0.0.0 (:: on IPv6) for all of them${where}`,
    );
  }
  return new ConfigError(
    `config: ${section}.host is no address to listen on (got ${JSON.stringify(host)}: getaddrinfo ${failure.code}); ` +
      `use an IP address such as 0.0.0.0, or :: on IPv6${where}`,
  );
}

function withTlsFiles(config: Config, certFile: string, keyFile: string): Config {
  return {
    ...config,
    admission: { ...config.admission, tls: { ...config.admission.tls, certFile, keyFile, caFile: '' } },
  };
}

/** Every subcommand. Add a registrar here to add a command. */
export const COMMANDS: readonly CommandRegistrar[] = [registerServeCommand, (await import('./audit/command.ts')).registerAuditCommand];

/** The kubectl plugin's file name: kubectl runs `kubectl volume-guard ...` as `kubectl-volume_guard ...`. */
export const KUBECTL_PLUGIN_BINARY = 'kubectl-volume_guard';

/** `kubectl volume-guard` when run as the kubectl plugin (usage lines then read as the operator typed them). */
export function programName(scriptPath: string | undefined = process.argv[1]): string {
  const base = (scriptPath ?? '').split(/[\\/]/).pop() ?? '';
  return base.replace(/\.(c|m)?[jt]s$/, '') === KUBECTL_PLUGIN_BINARY ? 'kubectl volume-guard' : 'volume-guard';
}

/**
 * The root command. Without a command (or with `help` of one it does not have) Commander prints the whole usage
 * and exits 1; here that is one line and exit 2 like every other usage mistake (oneLineUsageErrors).
 */
class Program extends Command {
  override help(context?: HelpContext): never;
  override help(cb: (str: string) => string): never;
  override help(context?: HelpContext | ((str: string) => string)): never {
    if (typeof context === 'function') return super.help(context);
    if (context?.error) {
      const [first, second] = this.args;
      const commands = this.commands.map((command) => command.name()).join(', ');
      this.error(first === 'help' && second !== undefined ? `unknown command '${second}'` : `a command is required: ${commands}`, {
        code: 'volume-guard.usage',
      });
    }
    return super.help(context);
  }
}

export function buildProgram(registrars: readonly CommandRegistrar[] = COMMANDS): Command {
  const program = oneLineUsageErrors(
    new Program(programName())
      .description('Kubernetes admission webhook that blocks operations which would silently lose data')
      .version(`volume-guard ${VERSION}`, '-V, --version', 'print the version'),
  );
  for (const register of registrars) register(program);
  return program;
}

/** Run the CLI; resolves to the exit code for failures, or never settles while `serve` runs. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof ConfigError || error instanceof TlsConfigError) {
      process.stderr.write(`volume-guard: ${error.message}\n`);
      return EXIT_CONFIG;
    }
    // `serve` outside a pod with no usable kubeconfig (audit says its own): one line and what to do, no stack.
    if (error instanceof KubeconfigError) {
      process.stderr.write(`volume-guard: kubeconfig: ${error.message}; set KUBECONFIG to the cluster's kubeconfig file (in a pod, its service account is used)\n`);
      return EXIT_CONFIG;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      process.stderr.write(`volume-guard: cannot listen: ${(error as Error).message}\n`);
      return 1;
    }
    process.stderr.write(`volume-guard: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const code = await main();
  // serve keeps the process alive itself; everything else ends here.
  if (code !== 0) process.exit(code);
}

// `volume-guard audit`: its flags and exit codes (src/audit/run.ts does the work). Exit codes: 0 no risk
// found, 1 risks found, 2 an error (bad flags, cluster unreachable, missing permission), with one line on stderr.

import { CommanderError, InvalidArgumentError, Option, type Command } from 'commander';
import { EXIT_AUDIT_ERROR as EXIT_ERROR, EXIT_NO_RISK, oneLineUsageErrors, type CommandRegistrar } from '../cli-types.ts';
import type { AuditOptions } from './types.ts';
import { AuditError } from './errors.ts';

export const DEFAULT_TIMEOUT_SECONDS = 60;

/** Namespaces and Helm release names are DNS-1123 names (the release name also goes into a label selector). */
const DNS_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function parseRelease(value: string): { namespace: string; name: string } {
  const [namespace, name, ...rest] = value.split('/');
  if (namespace === undefined || name === undefined || rest.length > 0 || !DNS_NAME.test(namespace) || !DNS_NAME.test(name)) {
    throw new InvalidArgumentError('expected NAMESPACE/NAME, e.g. devlake/devlake');
  }
  return { namespace, name };
}

/**
 * A node name is a DNS-1123 subdomain (the API server refuses any other): an empty or malformed one is refused here
 * rather than reported later as a node not found.
 */
export function parseNode(value: string): string {
  if (!DNS_NAME.test(value)) throw new InvalidArgumentError('expected a node name, e.g. worker-1');
  return value;
}

/** About 24 days: the longest timer Node keeps (2^31-1 ms). */
const MAX_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

export function parseTimeout(value: string): number {
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds <= 0) throw new InvalidArgumentError('expected a number of seconds above 0');
  // Node's timers take at most 2^31-1 ms: past it a timeout fires at once (TimeoutOverflowWarning).
  if (seconds > MAX_TIMEOUT_SECONDS) throw new InvalidArgumentError(`expected at most ${MAX_TIMEOUT_SECONDS} seconds`);
  return seconds;
}

export const registerAuditCommand: CommandRegistrar = (program: Command) => {
  // Commander's own errors (unknown option, bad value) exit 2 like every other audit error; help still exits 0.
  oneLineUsageErrors(program.command('audit'))
    .description(
      'report every data-loss risk in the cluster before maintenance, with the lingering overrides ' +
        '(exit 0: no risk, 1: risks found, 2: error)',
    )
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--context <name>', 'kubeconfig context (default: the current one)')
    .addOption(new Option('--node <name>', 'only what cordoning or draining this node would hit').argParser(parseNode).conflicts('release'))
    .addOption(
      new Option('--release <namespace/name>', 'only what installing this Helm release again would hit').argParser(parseRelease),
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'policyreport']).default('table'))
    .addOption(
      new Option('--timeout <seconds>', 'how long to wait for a complete view of the cluster')
        .argParser(parseTimeout)
        .default(DEFAULT_TIMEOUT_SECONDS),
    )
    .option('--strict', 'findings of checks in warn mode fail the exit code too; with --node, also what only deleting the node would hit')
    .option('-c, --config <file>', "volume-guard's configuration (Longhorn namespace, guarded upgrade kinds, check modes, who may write overrides); VOLUME_GUARD_* variables apply")
    .action(async (options: AuditOptions) => {
      let code: number;
      try {
        // Loaded only now: `--help` and flag errors answer without the Kubernetes client.
        const { runAudit } = await import('./run.ts');
        code = await runAudit(options);
      } catch (error) {
        const message = error instanceof AuditError ? error.message : `audit failed: ${error instanceof Error ? error.message : String(error)}`;
        process.stderr.write(`volume-guard: ${message}\n`);
        throw new CommanderError(EXIT_ERROR, 'volume-guard.audit.error', message);
      }
      // main() turns a CommanderError into the process's exit code.
      if (code !== EXIT_NO_RISK) throw new CommanderError(code, 'volume-guard.audit.risks', 'data-loss risks found');
    });
};

// What the command line's parts share: a subcommand registers itself through a CommandRegistrar (src/cli.ts
// lists them, e.g. `audit` from src/audit/command.ts), and the exit codes. Kept apart
// from src/cli.ts so that the subcommands never import the program that imports them.

import { CommanderError, type Command } from 'commander';

/** Adds one subcommand (with its options and action) to the program. */
export type CommandRegistrar = (program: Command) => void;

/** Exit code for configuration mistakes (bad config file, environment, certificate files). */
export const EXIT_CONFIG = 2;

/** `volume-guard audit`: no risk found, risks found, an error (bad flags, cluster unreachable, missing permission). */
export const EXIT_NO_RISK = 0;
export const EXIT_RISKS = 1;
export const EXIT_AUDIT_ERROR = 2;

/** Exit code for a command line volume-guard does not understand (unknown command or option, bad value). */
export const EXIT_USAGE = 2;

/** A command's name as typed: `volume-guard audit`, `kubectl volume-guard serve`. */
function typedName(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/**
 * Usage mistakes (unknown command or option, bad value) exit 2 with one line on stderr and a pointer to --help,
 * never 1 (which the audit uses for "risks found") with the whole usage text; --help and --version still exit 0.
 */
export function oneLineUsageErrors(command: Command): Command {
  return command
    .showHelpAfterError(false)
    .configureOutput({
      // Commander's text may run on a second line ("(Did you mean serve?)"): one line all the same.
      outputError: (text, write) => write(`volume-guard: ${text.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')} (see ${typedName(command)} --help)\n`),
    })
    .exitOverride((error) => {
      if (error.exitCode === 0) throw error;
      throw new CommanderError(EXIT_USAGE, error.code, error.message);
    });
}

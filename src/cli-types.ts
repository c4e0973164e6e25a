// What the command line's parts share: a subcommand registers itself through a CommandRegistrar (src/cli.ts
// lists them, e.g. `audit` from src/audit/command.ts), and the exit codes. Kept apart
// from src/cli.ts so that the subcommands never import the program that imports them.

import type { Command } from 'commander';

/** Adds one subcommand (with its options and action) to the program. */
export type CommandRegistrar = (program: Command) => void;

/** Exit code for configuration mistakes (bad config file, environment, certificate files). */
export const EXIT_CONFIG = 2;

/** `volume-guard audit`: no risk found, risks found, an error (bad flags, cluster unreachable, missing permission). */
export const EXIT_NO_RISK = 0;
export const EXIT_RISKS = 1;
export const EXIT_AUDIT_ERROR = 2;

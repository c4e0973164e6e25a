// volume-guard's CLI as operators run it, a child process of the project's pinned Node: the command npm installs
// (bin/volume-guard.cjs) or the source entry (src/cli.ts), against the harness cluster's kubeconfig by default.
import { join } from 'node:path';
import { paths, run, type CommandResult, type RunOptions } from '../harness/cluster.ts';

/** The project's pinned Node (the one npm scripts run). */
export const PROJECT_NODE = join(paths.root, 'node_modules', '.bin', 'node');
/** The command npm installs. */
export const INSTALLED_CLI = join(paths.root, 'bin', 'volume-guard.cjs');
/** The source entry, run unbuilt. */
export const SOURCE_CLI = join(paths.root, 'src', 'cli.ts');

/** `volume-guard audit --kubeconfig FILE ARGS…` (the installed command unless `cli` says otherwise). */
export function runAudit(args: readonly string[], options: RunOptions & { cli?: string } = {}): Promise<CommandResult> {
  const { kubeconfig = paths.kubeconfig, cli = INSTALLED_CLI, ...runOptions } = options;
  return run(PROJECT_NODE, [cli, 'audit', '--kubeconfig', kubeconfig, ...args], runOptions);
}

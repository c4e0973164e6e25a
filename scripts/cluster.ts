// CLI for the real-Kubernetes test cluster (see test/harness/cluster.ts).
//
//   node scripts/cluster.ts up [--no-webhook] [--no-build]   build tools if needed, start or reuse
//                                                           the API server, apply the test CRDs
//        [--whole] [--no-node] [--fake-nodes N]              the whole cluster (test/harness/node.ts): kcm,
//                                                           scheduler, a real node, KWOK with N fake nodes;
//                                                           remembered (also VG_WHOLE_CLUSTER=1); --apiserver-only
//                                                           goes back to the bare API server
//        [--second-node | --no-second-node]                  a second real node vg-node-2 (own containerd and
//                                                           kubelet in its own network namespace); remembered
//   node scripts/cluster.ts down [--purge]                   stop it (--purge: also delete its state)
//   node scripts/cluster.ts status                           print whether it runs, its URL, pid
//   node scripts/cluster.ts restart [--down-seconds N]       stop, wait N s, start on the same port/data
//
// `up` prints the server URL and kubeconfig paths on stdout; progress goes to stderr.
import {
  clusterStatus,
  paths,
  restartApiServer,
  runUpHooks,
  stopCluster,
  type UpHook,
} from '../test/harness/cluster.ts';
import { defaultStatus, ensureDefaultCluster, ensureWholeCluster, rssMiB, stopControllers, stopWholeCluster, wholeRequested, wholeStatus } from '../test/harness/node.ts';
import { ensureLocalGuard, stopLocalGuard } from './local-guard.ts';

// Later steps of `cluster:up`, after the API server is ready and the CRDs are established: start volume-guard
// from the working tree and register its webhook configurations (validating and mutating). `--no-webhook` skips them.
const UP_HOOKS: UpHook[] = [
  async (cluster, { log }) => {
    await ensureLocalGuard(cluster, log);
  },
];

const usage =
  'usage: node scripts/cluster.ts up [--no-webhook] [--no-build] [--whole] [--no-node] [--fake-nodes N] [--second-node | --no-second-node]\n' +
  '                                   [--apiserver-only]\n' +
  '                                | down [--purge] | status | restart [--down-seconds N]';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const flag = (name: string) => rest.includes(name);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  switch (command) {
    case 'up': {
      const fi = rest.indexOf('--fake-nodes');
      const fakeNodes = fi >= 0 ? Number(rest[fi + 1]) : undefined;
      if (fakeNodes !== undefined && (!Number.isInteger(fakeNodes) || fakeNodes < 0 || fakeNodes > 500)) {
        log(`--fake-nodes needs a whole number 0..500\n${usage}`);
        return 2;
      }
      if (flag('--apiserver-only') && wholeRequested()) await stopWholeCluster({ log, purge: false, keepMode: false });
      if (flag('--second-node') && (flag('--no-node') || flag('--no-second-node'))) {
        log(`--second-node goes with neither --no-node nor --no-second-node\n${usage}`);
        return 2;
      }
      const whole =
        !flag('--apiserver-only') && (flag('--whole') || flag('--no-node') || flag('--second-node') || fakeNodes !== undefined || wholeRequested());
      const cluster = whole
        ? await ensureWholeCluster({
            log,
            build: !flag('--no-build'),
            ...(flag('--no-node') ? { node: false } : flag('--whole') ? { node: true } : {}),
            ...(fakeNodes !== undefined ? { fakeNodes } : {}),
            ...(flag('--second-node') ? { secondNode: true } : flag('--no-second-node') ? { secondNode: false } : {}),
          })
        : await ensureDefaultCluster({ log, build: !flag('--no-build') });
      if (!flag('--no-webhook')) await runUpHooks(cluster, UP_HOOKS, { log });
      process.stdout.write(
        `server:          ${cluster.server}\n` +
          `kubeconfig:      ${cluster.kubeconfig}\n` +
          `kubeconfig-user: ${cluster.kubeconfigUser}\n` +
          `kubectl:         ${cluster.bin.kubectl}\n` +
          `helm:            ${cluster.bin.helm}\n` +
          `helm4:           ${cluster.bin.helm4}\n` +
          (cluster.whole
            ? `node:            ${cluster.whole.nodeName || '(none: --no-node)'}\n` +
              (cluster.whole.secondNode
                ? `second node:     ${cluster.whole.secondNode.nodeName} (netns ${cluster.whole.secondNode.netns}, ${cluster.whole.secondNode.address}, pods ${cluster.whole.secondNode.podSubnet})\n`
                : '') +
              `fake nodes:      ${cluster.whole.fakeNodes.join(' ') || '(none)'}\n` +
              `service CIDR:    ${cluster.whole.serviceCidr} (unreachable)\npod CIDR:        ${cluster.whole.podCidr}\n`
            : ''),
      );
      return 0;
    }
    case 'down': {
      await stopLocalGuard(log, { apiServerRunning: (await clusterStatus()).ready });
      if (wholeRequested() || flag('--purge')) {
        await stopWholeCluster({ log, purge: flag('--purge') });
        log('cluster: stopped');
        return 0;
      }
      await stopControllers(log);
      const wasRunning = await stopCluster({ log, purge: flag('--purge') });
      log(wasRunning ? 'cluster: stopped' : 'cluster: was not running');
      return 0;
    }
    case 'status': {
      const s = await clusterStatus();
      const apiRss = s.pid ? rssMiB(s.pid) : undefined;
      process.stdout.write(
        `running: ${s.running}${s.pid ? ` (pid ${s.pid}${apiRss !== undefined ? `, RSS ${apiRss} MiB` : ''})` : ''}\nready:   ${s.ready}\n` +
          (s.server ? `server:  ${s.server}\n` : '') +
          `state:   ${paths.stateDir}\nlog:     ${paths.logFile}\n`,
      );
      let allUp = s.ready;
      for (const c of wholeRequested() ? await wholeStatus() : defaultStatus()) {
        allUp &&= c.running;
        process.stdout.write(
          `${`${c.name}:`.padEnd(25)}${c.running ? 'running' : 'stopped'}${c.pid ? ` (pid ${c.pid}${c.rssMiB !== undefined ? `, RSS ${c.rssMiB} MiB` : ''})` : ''}${c.detail ? `  ${c.detail}` : ''}\n`,
        );
      }
      return allUp ? 0 : 3;
    }
    case 'restart': {
      const i = rest.indexOf('--down-seconds');
      const downSeconds = i >= 0 ? Number(rest[i + 1]) : 0;
      if (!Number.isFinite(downSeconds) || downSeconds < 0) {
        log(usage);
        return 2;
      }
      const cluster = await restartApiServer({ log, downSeconds });
      process.stdout.write(`server: ${cluster.server}\n`);
      return 0;
    }
    default:
      log(usage);
      return command === undefined || command === '-h' || command === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`cluster: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);

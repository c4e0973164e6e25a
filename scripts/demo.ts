// `npm run demo`: volume-guard on a real local kube-apiserver. Brings the cluster up (building it on first use),
// starts volume-guard and registers it, builds a small realistic scenario, runs the risky operations with the
// real kubectl and helm, prints what volume-guard denied and why, then does the same with an admin's override.
import { join } from 'node:path';
import { ensureCluster, helm, kubectl, paths, tempFile, type CommandResult } from '../test/harness/cluster.ts';
import {
  changeAndWait,
  createBoundLocalVolume,
  createLonghornNode,
  createLonghornVolume,
  createNode,
  createPod,
  createStatefulSetClaims,
  deleteObjects,
  ensureNamespace,
  eventually,
  LONGHORN_NS,
  must,
} from '../test/harness/scenario.ts';
import { ensureLocalGuard } from './local-guard.ts';

const NS = 'demo';
const NODE = 'demo-worker-1';
const CHART = join(paths.root, 'test', 'e2e', 'charts', 'devlake');
const LEFTOVER_PVC = 'lake-mysql-data-lake-mysql-0';

const bold = (text: string) => (process.stdout.isTTY ? `\u001b[1m${text}\u001b[0m` : text);
const say = (text: string) => process.stdout.write(`${text}\n`);
const progress = (line: string) => process.stderr.write(`  ${line}\n`);

function show(command: string, result: CommandResult): void {
  say(`\n$ ${command}`);
  const output = `${result.stdout}${result.stderr}`.trim();
  for (const line of output.split('\n')) say(`  ${line}`);
}

async function upgrade(name: string, annotations: Record<string, string>, dryRun = false): Promise<CommandResult> {
  const object = {
    apiVersion: 'harvesterhci.io/v1beta1',
    kind: 'Upgrade',
    metadata: { name, namespace: 'harvester-system', annotations },
    spec: { version: 'v1.5.0' },
  };
  const file = await tempFile(`demo-${name}.json`, JSON.stringify(object));
  return kubectl(['create', '-f', file, ...(dryRun ? ['--dry-run=server'] : [])]);
}

async function cleanup(): Promise<void> {
  await kubectl(['uncordon', NODE]);
  await helm(['uninstall', 'lake', '-n', NS]);
  await deleteObjects(
    ['upgrades.harvesterhci.io', '--all', '-n', 'harvester-system'],
    ['pod', '--all', '-n', NS, '--grace-period=0', '--force'],
    ['pvc', '--all', '-n', NS],
    ['pv', 'demo-local-pv'],
    ['replicas.longhorn.io', '-l', 'longhornvolume=demo-vm-disk', '-n', LONGHORN_NS],
    ['volumes.longhorn.io', 'demo-vm-disk', '-n', LONGHORN_NS],
    ['nodes.longhorn.io', NODE, '-n', LONGHORN_NS],
    ['node', NODE],
  );
  const pvs = await kubectl(['get', 'pv', '-o', 'name']);
  for (const pv of pvs.stdout.split('\n').filter((name) => name.includes(`pv-${NS}-`))) await kubectl(['delete', pv]);
}

async function main(): Promise<void> {
  say(bold('volume-guard demo: a real kube-apiserver, the real kubectl and helm, volume-guard as its webhook'));
  progress('bringing the local cluster up (the first run builds kube-apiserver, kubectl and helm: 10-20 min)');
  const cluster = await ensureCluster({ log: progress });
  const guard = await ensureLocalGuard(cluster, progress);
  await cleanup();

  progress('building the scenario: a node with a local PV in use, a detached single-replica Longhorn volume,');
  progress('and the MySQL PVC an uninstalled Helm release left behind');
  await ensureNamespace(NS);
  await ensureNamespace(LONGHORN_NS);
  await ensureNamespace('harvester-system');
  await createNode(NODE);
  await createBoundLocalVolume({ pv: 'demo-local-pv', node: NODE, namespace: NS, claim: 'data-postgres-0' });
  await createPod({ name: 'postgres-0', namespace: NS, node: NODE, claims: ['data-postgres-0'] });
  await createLonghornNode(NODE);
  await createLonghornVolume({
    name: 'demo-vm-disk',
    numberOfReplicas: 1,
    state: 'detached',
    replicas: [{ node: NODE }],
    claim: { namespace: NS, name: 'vm-disk' },
  });
  await must(helm(['install', 'lake', CHART, '-n', NS]), 'helm install lake');
  await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', () => createStatefulSetClaims(NS, 'lake-mysql'));

  say(bold('\n1. helm uninstall is never refused, but volume-guard tells what it leaves behind'));
  show(`helm uninstall lake -n ${NS}`, await helm(['uninstall', 'lake', '-n', NS]));

  say(bold('\n2. The risky operations, refused with every object at risk named'));
  await eventually(() => kubectl(['cordon', NODE, '--dry-run=server']), (r) => r.stderr.includes('denied'));
  show(`kubectl cordon ${NODE}`, await kubectl(['cordon', NODE]));
  await eventually(() => upgrade('hvst-upgrade-demo', {}, true), (r) => r.code !== 0);
  show('kubectl create -f harvester-upgrade.yaml', await upgrade('hvst-upgrade-demo', {}));
  show(`helm install lake ./devlake -n ${NS}`, await helm(['install', 'lake', CHART, '-n', NS]));

  say(bold('\n3. An override is only as trustworthy as its writer: a non-admin cannot write one'));
  await kubectl(['create', 'clusterrole', 'demo-node-editor', '--verb=get,patch', '--resource=nodes']);
  await kubectl(['create', 'clusterrolebinding', 'demo-alice-node-editor', '--clusterrole=demo-node-editor', '--user=alice']);
  show(
    `kubectl --kubeconfig .cluster/kubeconfig-user annotate node ${NODE} volume-guard.io/skip='*'`,
    await kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip=*'], { kubeconfig: paths.kubeconfigUser }),
  );
  await deleteObjects(['clusterrolebinding', 'demo-alice-node-editor'], ['clusterrole', 'demo-node-editor']);

  say(bold('\n4. An admin who has checked overrides on purpose; volume-guard audits it'));
  show(
    `kubectl annotate node ${NODE} volume-guard.io/skip=node-local-volume,last-replica-on-node,single-replica volume-guard.io/skip-reason=... volume-guard.io/skip-by=admin`,
    await kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip=node-local-volume,last-replica-on-node,single-replica', 'volume-guard.io/skip-reason=postgres data copied to backup-42', 'volume-guard.io/skip-by=admin']),
  );
  const cordon = await eventually(() => kubectl(['cordon', NODE]), (r) => !r.stderr.includes('denied'));
  show(`kubectl cordon ${NODE}`, cordon);
  show(
    'kubectl create -f harvester-upgrade.yaml   # with harvesterhci.io/skipSingleReplicaDetachedVol: "true"',
    await upgrade('hvst-upgrade-demo', { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' }),
  );
  show(
    `kubectl annotate pvc ${LEFTOVER_PVC} -n ${NS} volume-guard.io/reuse=true volume-guard.io/skip-by=admin`,
    await kubectl(['annotate', 'pvc', LEFTOVER_PVC, '-n', NS, 'volume-guard.io/reuse=true', 'volume-guard.io/skip-reason=keep the old lake database', 'volume-guard.io/skip-by=admin']),
  );
  const reinstall = await eventually(() => helm(['install', 'lake', CHART, '-n', NS]), (r) => r.code === 0);
  show(`helm install lake ./devlake -n ${NS}`, reinstall);

  const overrides = (await (await fetch(`${guard.opsUrl}/metrics`)).text())
    .split('\n')
    .filter((line) => line.startsWith('volume_guard_overrides_total{'));
  say(bold('\n5. Every honored override is counted (and logged with its writer and reason)'));
  for (const line of overrides) say(`  ${line}`);

  await cleanup();
  say(`\nThe guarded cluster keeps running: try it with ${cluster.bin.kubectl} --kubeconfig ${cluster.kubeconfig}`);
  say(`volume-guard log: ${guard.logFile}; stop everything with: npm run cluster:down`);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});

// What an operator reads (issue 19), through the real kubectl and API server: a refused cordon laid out in lines
// within its budget, the audit command it names listing the rest, a drain's refusals kept compact, warnings when an
// override is written with a typo, a refused CREATE whose advice (annotations in the manifest) works as printed, a
// refused change whose `kubectl annotate` works as printed, and the CLI's answers for a missing release and an
// unreachable server.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { helm, kubectl, paths, run, tempFile, type CommandResult } from '../harness/cluster.ts';
import {
  changeAndWait,
  createStatefulSetClaims,
  createBoundLocalVolume,
  readyLonghornNodes,
  createLonghornVolume,
  createNode,
  createPod,
  createPodOnLocalVolume,
  deleteObjects,
  ensureNamespace,
  eventually,
  isUnschedulable,
  LONGHORN_NS,
  must,
} from '../harness/scenario.ts';
import { runAudit } from '../support/cli.ts';
import { MAX_DENIAL_LENGTH } from '../../src/admission/messages.ts';

const NS = 'msg-e2e';
const NODE = 'msg-local';
const DRAIN_NODE = 'msg-drain';
const PVS = 12;

/** The webhook's message: what follows "denied the request: " in kubectl's output, up to the end of the error. */
function denial(stderr: string, webhook: string): string {
  const marker = `admission webhook "${webhook}" denied the request: `;
  const start = stderr.indexOf(marker);
  if (start < 0) throw new Error(`no denial by ${webhook} in:\n${stderr}`);
  const rest = stderr.slice(start + marker.length);
  // The message ends where kubectl's next line of its own starts.
  const end = rest.search(/\n(error|Warning|There are pending|evicting|node\/|pod\/)/);
  return end < 0 ? rest.trimEnd() : rest.slice(0, end);
}

function audit(args: string[], kubeconfig = paths.kubeconfig): Promise<CommandResult> {
  return runAudit(args, { kubeconfig, timeoutMs: 90_000 });
}

describe('messages through kubectl', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(NODE);
    await createNode(DRAIN_NODE);
    for (let i = 0; i < PVS; i++) {
      await createBoundLocalVolume({ pv: `msg-pv-${String(i).padStart(2, '0')}`, node: NODE, namespace: NS, claim: `data-${i}` });
    }
    await createPod({ name: 'db-0', namespace: NS, node: NODE, claims: ['data-0'] });
    await createPodOnLocalVolume({ pod: 'mysql-0', node: DRAIN_NODE, namespace: NS, pv: 'msg-drain-pv', claim: 'drain-data' });
  });
  afterAll(async () => {
    for (const node of [NODE, DRAIN_NODE]) await kubectl(['uncordon', node]);
    await deleteObjects(
      ['pod', '--all', '-n', NS, '--grace-period=0', '--force'],
      ['pvc', '--all', '-n', NS],
      ['pv', ...Array.from({ length: PVS }, (_, i) => `msg-pv-${String(i).padStart(2, '0')}`), 'msg-drain-pv'],
      ['node', NODE, DRAIN_NODE],
    );
  });

  it('lays a refused cordon out in lines: verdict, check, objects, the rest with the audit command, fix, override', async () => {
    const result = await eventually(
      () => kubectl(['cordon', NODE]),
      (r) => r.stderr.includes(`${PVS} objects keep data only`),
    );
    const message = denial(result.stderr, 'node-cordon.volume-guard.io');
    const lines = message.split('\n');
    expect(lines[0]).toBe(`volume-guard refused the cordon of node ${NODE}: ${PVS} risks of data loss.`);
    expect(lines[1]).toBe('The cordon itself loses nothing; the drain or maintenance that follows would.');
    expect(lines).toContain(`[node-local-volume] ${PVS} objects keep data only on ${NODE}`);
    expect(lines.filter((line) => /^ {2}PV msg-pv-\d\d /.test(line))).toHaveLength(10);
    expect(lines).toContain(`  and ${PVS - 10} more; all of them: volume-guard audit --node ${NODE}`);
    expect(message).toContain('PV msg-pv-00 (PVC msg-e2e/data-0, Pod msg-e2e/db-0)');
    expect(message).not.toMatch(/delete the PV/i);
    expect(lines.at(-2)).toBe('Override (an authorized admin, after checking):');
    expect(lines.at(-1)).toBe(
      `  kubectl annotate node ${NODE} volume-guard.io/skip=node-local-volume volume-guard.io/skip-reason="<why>" volume-guard.io/skip-by="<you>"`,
    );
    expect(message.length).toBeLessThanOrEqual(MAX_DENIAL_LENGTH);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(200);
    // kubectl prints it once, whole.
    expect(result.stderr.split('volume-guard refused').length - 1).toBe(1);
    expect(await isUnschedulable(NODE)).toBe(false);
  });

  it('the audit command it names lists every object', async () => {
    const result = await audit(['--node', NODE]);
    expect(result.code, result.stderr).toBe(1);
    for (let i = 0; i < PVS; i++) expect(result.stdout).toContain(`msg-pv-${String(i).padStart(2, '0')}`);
  });

  it('answers an override written with a typo, or empty, with warnings on the write itself', async () => {
    const typo = await must(kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip=node-local', 'volume-guard.io/skip-by=admin']), 'annotate');
    expect(typo.stderr).toContain(
      'Warning: volume-guard: unknown check "node-local" in volume-guard.io/skip, ignored; did you mean node-local-volume?\n',
    );
    const empty = await must(kubectl(['annotate', '--overwrite', 'node', NODE, 'volume-guard.io/skip=', 'volume-guard.io/skip-by=admin']), 'annotate empty');
    expect(empty.stderr).toContain(`Warning: volume-guard: Node ${NODE} annotation volume-guard.io/skip is empty: it skips no check`);
    const noReason = await must(kubectl(['annotate', '--overwrite', 'node', NODE, 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-by=admin']), 'annotate');
    expect(noReason.stderr).toContain('volume-guard.io/skip has no volume-guard.io/skip-reason');
    for (const line of [typo, empty, noReason].flatMap((r) => r.stderr.split('\n')).filter((l) => l.startsWith('Warning: '))) {
      expect(line.length - 'Warning: '.length).toBeLessThanOrEqual(120);
    }
    await must(kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip-', 'volume-guard.io/skip-by-']), 'remove the override');
  });

  it('the override the refusal prints, pasted as is into bash, runs and lets the cordon through', async () => {
    const refused = await eventually(() => kubectl(['cordon', NODE]), (r) => r.code !== 0 && r.stderr.includes('Override (an authorized admin'));
    const lines = denial(refused.stderr, 'node-cordon.volume-guard.io').split('\n');
    const printed = lines[lines.indexOf('Override (an authorized admin, after checking):') + 1]!.trim();
    expect(printed).toContain('volume-guard.io/skip-by="<you>"');
    // Unedited: the shell hands the quoted placeholders to kubectl (an unquoted <you> is a redirect from a file "you"),
    // and the override writer step records the writer in place of "<you>".
    const pasted = await run('bash', ['-c', printed], { env: { ...process.env, KUBECONFIG: paths.kubeconfig, PATH: `${paths.binDir}:${process.env.PATH ?? ''}` } });
    expect(pasted.code, pasted.stderr).toBe(0);
    expect((await kubectl(['get', 'node', NODE, '-o', 'jsonpath={.metadata.annotations.volume-guard\\.io/skip-by}'])).stdout).not.toBe('<you>');
    // Once the model has seen the annotations.
    const cordoned = await eventually(() => kubectl(['cordon', NODE]), (r) => r.code === 0);
    expect(cordoned.code, cordoned.stderr).toBe(0);
    await must(kubectl(['uncordon', NODE]), 'uncordon');
    await must(kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip-', 'volume-guard.io/skip-reason-', 'volume-guard.io/skip-by-']), 'remove the override');
  });

  it('keeps a drain readable: the cordon refused once, the eviction refused compactly, the node left as it was', async () => {
    const drained = await eventually(
      () => kubectl(['drain', DRAIN_NODE, '--ignore-daemonsets', '--delete-emptydir-data', '--force', '--timeout=15s'], { timeoutMs: 60_000 }),
      (r) => r.stderr.includes('pod-eviction.volume-guard.io'),
      40_000,
    );
    expect(drained.code).not.toBe(0);
    const eviction = denial(drained.stderr, 'pod-eviction.volume-guard.io');
    // Judged as on a node being drained: kubectl goes on evicting after the refused cordon, with the same credentials.
    expect(eviction.split('\n')[0]).toBe(
      `volume-guard refused the eviction of pod ${NS}/mysql-0 (node ${DRAIN_NODE} is being drained: your cordon of it was refused): 1 risk of data loss.`,
    );
    expect(eviction).toContain(`stranded on ${DRAIN_NODE}: pods using it can run nowhere else`);
    expect(eviction).toContain(`kubectl annotate node ${DRAIN_NODE} volume-guard.io/skip=node-local-volume`);
    expect(eviction.length).toBeLessThanOrEqual(800);
    // kubectl 1.36 goes on evicting after a refused cordon; only the refused eviction fails the drain.
    expect(drained.stderr).toContain(`unable to cordon node "${DRAIN_NODE}"`);
    expect(await isUnschedulable(DRAIN_NODE)).toBe(false);
    expect((await kubectl(['get', 'pod', 'mysql-0', '-n', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}'])).stdout).toBe('');
    // Everything volume-guard made kubectl print, all copies together, stays a screenful.
    expect(drained.stderr.length).toBeLessThan(4 * MAX_DENIAL_LENGTH);
  });
});

describe('advice that works as printed', () => {
  const HNS = 'msg-harvester';
  const PNS = 'msg-plans';
  beforeAll(async () => {
    await ensureNamespace(HNS);
    await ensureNamespace(PNS);
    await ensureNamespace(LONGHORN_NS);
    // Ready Nodes with their Longhorn nodes (a Longhorn node without a Node is down: its replica no copy). A second
    // one taking replicas: with one only, the fix says no second copy can be made (back up, override).
    await readyLonghornNodes(['msg-lh-1', 'msg-lh-2']);
    await createLonghornVolume({ name: 'msg-single', numberOfReplicas: 1, state: 'attached', replicas: [{ node: 'msg-lh-1' }] });
  });
  afterAll(async () => {
    await deleteObjects(
      ['upgrades.harvesterhci.io', '--all', '-n', HNS],
      ['plans.upgrade.cattle.io', '--all', '-n', PNS],
      ['replicas.longhorn.io', '-l', 'longhornvolume=msg-single', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 'msg-single', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', 'msg-lh-1', 'msg-lh-2', '-n', LONGHORN_NS],
      ['node', 'msg-lh-1', 'msg-lh-2'],
    );
  });

  async function create(object: unknown, name: string, dryRun = false): Promise<CommandResult> {
    const file = await tempFile(`msg-${name}.json`, JSON.stringify(object));
    return kubectl(['create', '-f', file, ...(dryRun ? ['--dry-run=server'] : [])]);
  }

  it('a refused CREATE says to put the annotations in the manifest; doing so creates it', async () => {
    const upgrade = (annotations: Record<string, string>) => ({
      apiVersion: 'harvesterhci.io/v1beta1',
      kind: 'Upgrade',
      metadata: { name: 'msg-upgrade', namespace: HNS, annotations },
      spec: { version: 'v1.6.0' },
    });
    await eventually(() => create(upgrade({}), 'upgrade', true), (r) => r.stderr.includes('msg-single'));
    const refused = await create(upgrade({}), 'upgrade');
    expect(refused.code).not.toBe(0);
    const message = denial(refused.stderr, 'upgrade.volume-guard.io');
    expect(message.split('\n')[0]).toMatch(/^volume-guard refused the creation of Upgrade msg-harvester\/msg-upgrade: \d+ risks? of data loss\.$/);
    expect(message).toContain("add to the Upgrade's metadata.annotations in its manifest, then create it again:");
    expect(message).not.toContain('kubectl annotate');
    expect(message).toMatch(/raise numberOfReplicas to 2 or more/);
    const skip = /^ {4}volume-guard\.io\/skip: "([^"]+)"$/m.exec(message)?.[1];
    expect(skip).toContain('single-replica');
    const created = await create(upgrade({ 'volume-guard.io/skip': skip!, 'volume-guard.io/skip-reason': 'backed up, MSG-1', 'volume-guard.io/skip-by': 'admin' }), 'upgrade');
    expect(created.code, created.stderr).toBe(0);
  });

  it('a refused change names the fully qualified resource, and the printed kubectl annotate lets it through', async () => {
    const plan = {
      apiVersion: 'upgrade.cattle.io/v1',
      kind: 'Plan',
      metadata: { name: 'msg-plan', namespace: PNS, annotations: { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-reason': 'creating', 'volume-guard.io/skip-by': 'admin' } },
      spec: { version: 'v1.36.0', concurrency: 1, serviceAccountName: 'upgrader', nodeSelector: {}, upgrade: { image: 'rancher/k3s-upgrade' } },
    };
    await must(create(plan, 'plan'), 'create the plan with an override');
    await must(kubectl(['annotate', 'plans.upgrade.cattle.io', 'msg-plan', '-n', PNS, 'volume-guard.io/skip-', 'volume-guard.io/skip-reason-']), 'remove it');
    const change = () => kubectl(['patch', 'plans.upgrade.cattle.io', 'msg-plan', '-n', PNS, '--type=merge', '-p', '{"spec":{"version":"v1.36.1"}}']);
    const refused = await eventually(change, (r) => r.code !== 0);
    const message = denial(refused.stderr, 'upgrade.volume-guard.io');
    // The change names the rollout fields that make it an upgrade (the kind's table).
    // Its selector ({}) selects every node: the Plan names the nodes whose volumes it judges (the first three, and how
    // many more: other test files' nodes share the cluster).
    expect(message.split('\n')[0]).toMatch(/^volume-guard refused the change of Plan msg-plans\/msg-plan \(spec\.version changed\), upgrading node [^:]+: /);
    // --overwrite: the Plan still holds the skip-by of its earlier override (kubectl refuses to change it without).
    const command = /^ {2}(kubectl annotate --overwrite plans\.upgrade\.cattle\.io msg-plan -n msg-plans .*)$/m.exec(message)?.[1];
    expect(command).toBeDefined();
    expect(message).toContain('then apply the change again');
    // Run the printed command as a shell would, with a reason and the writer filled in.
    const args = command!.replace('"<why>"', 'checked-MSG-2').replace('<you>', 'admin').split(' ').slice(1);
    await must(kubectl(args), 'the printed kubectl annotate');
    const applied = await change();
    expect(applied.code, applied.stderr).toBe(0);
  });
});

describe('helm: what an upgrade would leave behind', () => {
  const HNS = 'msg-helm';
  const CHART = join(paths.root, 'test', 'e2e', 'charts', 'devlake');
  const guard = inject('guard');
  beforeAll(async () => {
    await ensureNamespace(HNS);
    await helm(['uninstall', 'shop', '-n', HNS]);
    await deleteObjects(['pvc', '--all', '-n', HNS]);
  });
  afterAll(async () => {
    await helm(['uninstall', 'shop', '-n', HNS]);
    await deleteObjects(['pvc', '--all', '-n', HNS], ['pv', 'pv-msg-helm-shop-mysql-data-shop-mysql-0']);
  });

  it('an upgrade renaming a claim template strands the old PVC: the refusal says "left behind", not "adopted"', async () => {
    // The StatefulSet controller creates the claim; the test binds it to a PV (no provisioner here).
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', async () => {
      await must(helm(['install', 'shop', CHART, '-n', HNS]), 'helm install');
      await createStatefulSetClaims(HNS, 'shop-mysql');
    });
    const upgraded = await helm(['upgrade', 'shop', CHART, '-n', HNS, '--set', 'mysql.claimTemplate=db-data']);
    expect(upgraded.code).not.toBe(0);
    const message = denial(upgraded.stderr, 'helm-release.volume-guard.io');
    const lines = message.split('\n');
    expect(lines[0]).toBe(`volume-guard refused the upgrade of Helm release ${HNS}/shop (revision 2): 1 risk of data loss.`);
    expect(lines).toContain('Helm stopped before changing any resource.');
    expect(lines).toContain('[orphan-pvc] 1 PVC would be left behind with its data');
    expect(message).toContain(`  stranded: PVC ${HNS}/shop-mysql-data-shop-mysql-0`);
    expect(message).not.toContain('adopted');
    expect(message).toContain('  helm upgrade ... --labels volume-guard.io/skip=orphan-pvc');
  });
});

describe('the CLI names what it could not find or reach', () => {
  it('audit --release of a release that does not exist says so and exits 2', async () => {
    await ensureNamespace(NS);
    const result = await audit(['--release', `${NS}/no-such-release`]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      `volume-guard: Helm release ${NS}/no-such-release not found: no release record (Secret or ConfigMap labelled owner=helm,name=no-such-release) ` +
        `and no PVC or StatefulSet labelled for it in namespace ${NS}`,
    );
  });

  it('a connection error names the server it tried', async () => {
    const kubeconfig = await tempFile(
      'msg-closed-kubeconfig.yaml',
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}}]',
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: x, context: {cluster: c, user: u}}]',
        'current-context: x',
      ].join('\n'),
    );
    const result = await audit(['--timeout', '2'], kubeconfig);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('https://127.0.0.1:9');
  });
});

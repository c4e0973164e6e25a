// The override a refusal prints, run as printed with the real kubectl on an object that already holds overrides:
// kubectl refuses to change an annotation holding another value without --overwrite ("already has a value"), so the
// advice must carry it there, keep the checks the object's own skip names, and after that object's skip-until
// lapsed write a fresh one (removing it would re-arm its other overrides for good).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, type CommandResult } from '../harness/cluster.ts';
import { createBoundLocalVolume, createNode, createPod, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const NS = 'override-advice';
const NODE = 'oa-local';
const POD = 'db-0';

const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString().replace(/\.\d+Z$/, 'Z');

/** kubectl's warnings as one text: a long one is wrapped into several `Warning:` lines. */
const warningText = (stderr: string) => stderr.replace(/Warning: /g, ' ').replace(/\s+/g, ' ');

const cordon = () => kubectl(['cordon', NODE, '--dry-run=server']);
const refused = (result: CommandResult) => result.stderr.includes('denied the request');

/** The printed `kubectl annotate …` of a refusal, as argv, with the admin's name, a reason and a fresh expiry filled in. */
function printedCommand(stderr: string): { line: string; argv: string[] } {
  const line = stderr.split('\n').find((text) => text.trim().startsWith('kubectl annotate '));
  expect(line, stderr).toBeDefined();
  const filled = line!
    .trim()
    .replaceAll('<you>', 'admin')
    .replaceAll('"<why>"', '"checked on the console"')
    .replaceAll('<new RFC 3339 time>', iso(3_600_000));
  const argv = [...filled.matchAll(/(?:[^\s"]+|"[^"]*")+/g)].map((match) => match[0].replace(/"/g, ''));
  return { line: line!.trim(), argv: argv.slice(1) };
}

describe('refusal advice on an object already holding overrides, run with the real kubectl', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(NODE);
    await createBoundLocalVolume({ pv: 'oa-local-pv', node: NODE, namespace: NS, claim: `data-${POD}` });
    await createPod({ name: POD, namespace: NS, node: NODE, claims: [`data-${POD}`] });
    await eventually(cordon, refused);
  });
  afterAll(async () => {
    await deleteObjects(['pod', POD, '-n', NS, '--grace-period=0', '--force'], ['pvc', '--all', '-n', NS], ['pv', 'oa-local-pv'], ['node', NODE]);
  });

  it("keeps the node's own skip and overwrites it; the command runs and the cordon then passes", async () => {
    await must(
      kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip=single-replica', 'volume-guard.io/skip-reason=earlier upgrade', 'volume-guard.io/skip-by=admin']),
      'earlier skip',
    );
    const denied = await eventually(cordon, (r) => refused(r) && r.stderr.includes('--overwrite'));
    const { line, argv } = printedCommand(denied.stderr);
    expect(line).toContain(`kubectl annotate --overwrite node ${NODE} volume-guard.io/skip=node-local-volume,single-replica `);
    // Without --overwrite kubectl itself refuses: what the advice printed before.
    const bare = await kubectl(argv.filter((word) => word !== '--overwrite'));
    expect(bare.code).not.toBe(0);
    expect(bare.stderr).toContain('already has a value');
    await must(kubectl(argv), 'the printed command');
    const passed = await eventually(cordon, (r) => r.code === 0 && !refused(r));
    expect(passed.stderr).toContain('node-local-volume overridden by node oa-local');
  });

  it('after the skip-until lapsed: a fresh skip-until (not its removal); the command runs and the cordon then passes', async () => {
    const until = iso(3_000);
    await must(kubectl(['annotate', '--overwrite', 'node', NODE, `volume-guard.io/skip-until=${until}`, 'volume-guard.io/skip-by=admin']), 'expiry');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(until) - Date.now() + 500)));
    const denied = await eventually(cordon, (r) => refused(r) && r.stderr.includes('skip-until="<new RFC 3339 time>"'));
    expect(denied.stderr).toContain('ignored: expired');
    const { line, argv } = printedCommand(denied.stderr);
    expect(line).toMatch(/^kubectl annotate --overwrite node oa-local volume-guard\.io\/skip=node-local-volume /);
    expect(line).not.toContain('skip-until-');
    await must(kubectl(argv), 'the printed command');
    const passed = await eventually(cordon, (r) => r.code === 0 && !refused(r));
    expect(passed.stderr).toContain('node-local-volume overridden by node oa-local');
  });

  it("a node's skip-evictions is said to have no effect when written (it is read on namespaces only)", async () => {
    const written = await must(
      kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip-evictions=node-local-volume', 'volume-guard.io/skip-by=admin', '--overwrite']),
      'skip-evictions on a node',
    );
    expect(warningText(written.stderr)).toContain('volume-guard.io/skip-evictions has no effect: it is read on namespaces only');
    await must(kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip-evictions-', 'volume-guard.io/skip-', 'volume-guard.io/skip-until-']), 'clear');
  });

  it("a namespace's skip naming an eviction check is told that evictions read skip-evictions", async () => {
    const written = await must(
      kubectl(['annotate', 'namespace', NS, 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-reason=drain', 'volume-guard.io/skip-by=admin']),
      'namespace skip',
    );
    expect(warningText(written.stderr)).toContain(
      `Namespace ${NS} volume-guard.io/skip: node-local-volume is never checked for a Namespace; evictions of its pods read volume-guard.io/skip-evictions`,
    );
    await must(kubectl(['annotate', 'namespace', NS, 'volume-guard.io/skip-', 'volume-guard.io/skip-reason-', 'volume-guard.io/skip-by-']), 'clear');
  });
});

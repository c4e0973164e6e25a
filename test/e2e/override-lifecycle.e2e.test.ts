// The life cycle of an override, through the real API server with the real kubectl: every write of an override
// key records its writer (volume-guard.io/skip-by = the requesting user, filled in by volume-guard's mutating step
// for an allowed writer), an override past its
// volume-guard.io/skip-until is ignored with a warning (removing its expiry or its reason is a policed write), one
// whose writer was removed is ignored, and a namespace's
// volume-guard.io/skip (for Helm releases) never waives evictions of its pods: that takes
// volume-guard.io/skip-evictions. A user who may not write overrides cannot keep one alive by co-owning its keys
// through server-side apply (identical values), which would leave it in place once its writer's apply drops it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, paths, tempFile, type CommandResult } from '../harness/cluster.ts';
import { apply, createBoundLocalVolume, createNode, createPod, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const NS = 'override-life';
const NODE = 'ol-local';
const POD = 'db-0';
/** Evictions are judged on a node being drained: this one is unschedulable from its creation (not a cordon). */
const DRAIN_NODE = 'ol-drain';
const DRAIN_POD = 'cache-0';
/** A node whose override an admin writes and drops by server-side apply (a GitOps tool's way). */
const SSA_NODE = 'ol-ssa';

const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString().replace(/\.\d+Z$/, 'Z');

/** A dry-run cordon: refused or not, the node stays as it is. */
const cordon = () => kubectl(['cordon', NODE, '--dry-run=server']);
const refusedCordon = (result: CommandResult) => result.stderr.includes('denied the request');

/** A dry-run eviction of the pod (what `kubectl drain` sends). */
async function evict(): Promise<CommandResult> {
  const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: DRAIN_POD, namespace: NS }, deleteOptions: { dryRun: ['All'] } };
  const file = await tempFile(`ol-eviction-${process.pid}.json`, JSON.stringify(eviction));
  return kubectl(['create', '--raw', `/api/v1/namespaces/${NS}/pods/${DRAIN_POD}/eviction`, '-f', file]);
}

describe('override life cycle: writer, expiry, separate namespace keys', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await must(kubectl(['apply', '-f', await tempFile('ol-sa.json', JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: NS } }))]), 'default SA');
    await createNode(NODE);
    await createBoundLocalVolume({ pv: 'ol-local-pv', node: NODE, namespace: NS, claim: `data-${POD}` });
    await createPod({ name: POD, namespace: NS, node: NODE, claims: [`data-${POD}`] });
    await apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: DRAIN_NODE, labels: { 'kubernetes.io/hostname': DRAIN_NODE } }, spec: { unschedulable: true } });
    await createBoundLocalVolume({ pv: 'ol-drain-pv', node: DRAIN_NODE, namespace: NS, claim: `data-${DRAIN_POD}` });
    await createPod({ name: DRAIN_POD, namespace: NS, node: DRAIN_NODE, claims: [`data-${DRAIN_POD}`] });
    await kubectl(['create', 'clusterrole', 'ol-node-editor', '--verb=get,list,patch,update', '--resource=nodes']);
    await kubectl(['create', 'clusterrolebinding', 'ol-alice-node-editor', '--clusterrole=ol-node-editor', '--user=alice']);
    // The model has seen the PV, claim and pod once the cordon is refused.
    await eventually(cordon, refusedCordon);
  });
  afterAll(async () => {
    await deleteObjects(
      ['pod', POD, DRAIN_POD, '-n', NS, '--grace-period=0', '--force'],
      ['pvc', '--all', '-n', NS],
      ['pv', 'ol-local-pv', 'ol-drain-pv'],
      ['node', NODE, DRAIN_NODE, SSA_NODE],
      ['clusterrolebinding', 'ol-alice-node-editor', 'ol-alice-ns-finalizer'],
      ['clusterrole', 'ol-node-editor', 'ol-ns-finalizer'],
    );
  });

  it("records the writer of a plain kubectl annotate (volume-guard's mutating step), also over a forged one; refuses non-writers", async () => {
    const annotations = async () =>
      JSON.parse((await must(kubectl(['get', 'node', NODE, '-o', 'jsonpath={.metadata.annotations}']), 'get node')).stdout || '{}') as Record<string, string>;
    const clear = () => must(kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip-', 'volume-guard.io/skip-by-']), 'remove the override');
    // An allowed writer's plain annotate: override-writer.volume-guard.io fills in skip-by, the guard then admits it.
    await must(kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip=node-local-volume']), 'plain annotate');
    expect(await annotations()).toMatchObject({ 'volume-guard.io/skip': 'node-local-volume', 'volume-guard.io/skip-by': 'admin' });
    await clear();
    // A skip-by naming someone else is replaced by the one who wrote.
    await must(kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-by=alice']), 'forged annotate');
    expect((await annotations())['volume-guard.io/skip-by']).toBe('admin');
    await clear();
    // alice may patch nodes (RBAC) but is no override writer, even naming herself: nothing recorded, the guard refuses.
    const byAlice = await kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-by=alice'], {
      kubeconfig: paths.kubeconfigUser,
    });
    expect(byAlice.code).not.toBe(0);
    expect(byAlice.stderr).toContain('alice may not write');
    const bad = await kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-by=admin', 'volume-guard.io/skip-until=tomorrow']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('RFC 3339');
    expect((await annotations())['volume-guard.io/skip']).toBeUndefined();
  });

  it('honors an override with its writer until its skip-until, then ignores it with a warning', async () => {
    const until = iso(8_000);
    await must(
      kubectl([
        'annotate', '--overwrite', 'node', NODE,
        'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-reason=data copied to backup-7',
        'volume-guard.io/skip-by=admin', `volume-guard.io/skip-until=${until}`,
      ]),
      'admin annotate',
    );
    const honored = await eventually(cordon, (r) => !refusedCordon(r), 6_000);
    expect(honored.code, honored.stderr).toBe(0);
    expect(honored.stderr).toContain('node-local-volume overridden by node ol-local');
    // Past skip-until: refused again, saying why the override no longer counts.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(until) - Date.now() + 500)));
    const expired = await cordon();
    expect(expired.stderr).toContain('denied the request');
    expect(expired.stderr).toContain(`ignored: expired at ${until.replace('Z', '.000Z')}`);
    // Removing the expiry alone would bring the override back for good: a write of it, policed like one.
    const revived = await kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip-until-'], { kubeconfig: paths.kubeconfigUser });
    expect(revived.code).not.toBe(0);
    expect(revived.stderr).toContain('alice may not write the removal of annotation volume-guard.io/skip-until');
    // Removing the reason alone would leave an override whose audit says no reason: policed too.
    const unexplained = await kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip-reason-'], { kubeconfig: paths.kubeconfigUser });
    expect(unexplained.code).not.toBe(0);
    expect(unexplained.stderr).toContain('alice may not write the removal of annotation volume-guard.io/skip-reason');
    expect(refusedCordon(await cordon())).toBe(true);
  });

  it('polices override keys written through namespaces/finalize, which stores the metadata it is sent', async () => {
    const namespace = JSON.parse((await must(kubectl(['get', 'namespace', NS, '-o', 'json']), 'get namespace')).stdout) as { metadata: { annotations?: Record<string, string> } };
    namespace.metadata.annotations = { ...namespace.metadata.annotations, 'volume-guard.io/skip-evictions': '*', 'volume-guard.io/skip-by': 'admin' };
    const file = await tempFile(`ol-finalize-${process.pid}.json`, JSON.stringify(namespace));
    // alice may write namespaces/finalize (RBAC), as a namespace-cleanup controller may; she is no override writer.
    await must(kubectl(['create', 'clusterrole', 'ol-ns-finalizer', '--verb=update', '--resource=namespaces/finalize']), 'finalize role');
    await must(kubectl(['create', 'clusterrolebinding', 'ol-alice-ns-finalizer', '--clusterrole=ol-ns-finalizer', '--user=alice']), 'finalize binding');
    const forged = await eventually(
      () => kubectl(['replace', '--raw', `/api/v1/namespaces/${NS}/finalize`, '-f', file], { kubeconfig: paths.kubeconfigUser }),
      (result) => !result.stderr.includes('forbidden: User'),
    );
    expect(forged.code).not.toBe(0);
    expect(forged.stderr).toContain('admission webhook "overrides.volume-guard.io" denied the request: volume-guard: alice may not write');
    expect(forged.stderr).toContain(`annotation volume-guard.io/skip-evictions on Namespace ${NS}:`);
    const stored = await must(kubectl(['get', 'namespace', NS, '-o', 'jsonpath={.metadata.annotations}']), 'get namespace');
    expect((JSON.parse(stored.stdout || '{}') as Record<string, string>)['volume-guard.io/skip-evictions']).not.toBe('*');
  });

  it('ignores an override whose writer was removed (removals pass the guard; the override then counts for nobody)', async () => {
    await must(
      kubectl(['annotate', '--overwrite', 'node', NODE, 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-by=admin', 'volume-guard.io/skip-until-']),
      'admin annotate',
    );
    await eventually(cordon, (r) => !refusedCordon(r));
    await must(kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip-by-'], { kubeconfig: paths.kubeconfigUser }), 'alice removes the writer');
    const refused = await eventually(cordon, refusedCordon);
    expect(refused.stderr).toContain('ignored: no writer recorded');
    await must(kubectl(['annotate', 'node', NODE, 'volume-guard.io/skip-']), 'remove the override');
  });

  it('a namespace skip for Helm releases does not waive evictions; skip-evictions does', async () => {
    // A fresh start whatever an earlier run left on the namespace (removals always pass the guard).
    await must(kubectl(['annotate', 'namespace', NS, 'volume-guard.io/skip-', 'volume-guard.io/skip-evictions-', 'volume-guard.io/skip-by-']), 'clear');
    const denied = await eventually(evict, (r) => r.stderr.includes('denied the request'));
    expect(denied.stderr).toContain('[node-local-volume]');
    await must(
      kubectl(['annotate', '--overwrite', 'namespace', NS, 'volume-guard.io/skip=node-local-volume', 'volume-guard.io/skip-by=admin']),
      'namespace skip',
    );
    // Give the model time to see the annotation: the eviction must stay refused.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const stillDenied = await evict();
    expect(stillDenied.code).not.toBe(0);
    expect(stillDenied.stderr).toContain('[node-local-volume]');
    // A misspelt check id in skip-evictions is said when written, and again at the eviction it fails to waive.
    const misspelt = await must(
      kubectl(['annotate', '--overwrite', 'namespace', NS, 'volume-guard.io/skip-evictions=node-local', 'volume-guard.io/skip-by=admin']),
      'misspelt skip-evictions',
    );
    expect(misspelt.stderr).toContain('unknown check "node-local" in volume-guard.io/skip-evictions');
    expect(misspelt.stderr).toContain('did you mean node-local-volume?');
    const unwaived = await eventually(evict, (r) => r.stderr.includes('in volume-guard.io/skip-evictions'));
    expect(unwaived.code).not.toBe(0);
    expect(unwaived.stderr).toContain('did you mean node-local-volume?');
    await must(
      kubectl(['annotate', '--overwrite', 'namespace', NS, 'volume-guard.io/skip-evictions=node-local-volume', 'volume-guard.io/skip-by=admin']),
      'namespace skip-evictions',
    );
    const allowed = await eventually(evict, (r) => r.code === 0);
    expect(allowed.code, allowed.stderr).toBe(0);
  });

  it("refuses a non-writer's server-side apply co-owning an override's keys; the writer's apply dropping them then removes them", async () => {
    const nodeManifest = async (name: string, annotations: Record<string, string>) =>
      tempFile(`ol-ssa-${name}-${process.pid}.json`, JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: SSA_NODE, annotations } }));
    const override = { 'volume-guard.io/skip': 'node-local-volume', 'volume-guard.io/skip-reason': 'disk swap, INC-9' };
    await must(kubectl(['apply', '--server-side', '--field-manager=gitops', '-f', await nodeManifest('admin', override)]), 'admin applies the override');
    const stored = JSON.parse((await must(kubectl(['get', 'node', SSA_NODE, '-o', 'jsonpath={.metadata.annotations}']), 'get node')).stdout) as Record<string, string>;
    expect(stored['volume-guard.io/skip-by']).toBe('admin');
    // alice (a node editor, no override writer) applies the same values under her own field manager.
    const coOwn = await kubectl(
      ['apply', '--server-side', '--field-manager=alice', '-f', await nodeManifest('alice', { 'volume-guard.io/skip': 'node-local-volume', 'volume-guard.io/skip-by': 'admin' })],
      { kubeconfig: paths.kubeconfigUser },
    );
    expect(coOwn.code).not.toBe(0);
    expect(coOwn.stderr).toContain('admission webhook "overrides.volume-guard.io" denied the request');
    expect(coOwn.stderr.replace(/\s+/g, ' ')).toContain('alice may not take ownership of annotation volume-guard.io/skip');
    // The admin's tool drops the override from its manifest: nobody else owns it, so it goes.
    await must(kubectl(['apply', '--server-side', '--field-manager=gitops', '-f', await nodeManifest('dropped', {})]), 'admin drops the override');
    const after = JSON.parse((await must(kubectl(['get', 'node', SSA_NODE, '-o', 'jsonpath={.metadata.annotations}']), 'get node')).stdout || '{}') as Record<string, string>;
    expect(after['volume-guard.io/skip']).toBeUndefined();
  });
});

// A StatefulSet re-created under an old name finds its predecessor's PVCs at every ordinal; the ones beyond its
// replicas are claimed only when it scales up. Real helm, the real API server and kube-controller-manager: a PVC
// left by an earlier StatefulSet at ordinal 1, an install at 1 replica passes (it claims ordinal 0 only), and the
// `helm upgrade` raising the replicas to 2 is refused at the release record, naming that PVC, before Helm scales;
// `kubectl patch` raising them on the StatefulSet Helm made is refused at the StatefulSet itself. Moving ordinals.start
// onto the leftover is refused the same ways, each refusal saying the ordinals move (not a scale-up).
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { helm, kubectl, paths } from '../harness/cluster.ts';
import { boundClaim, changeAndWait, deleteObjects, ensureNamespace, must } from '../harness/scenario.ts';

const guard = inject('guard');
const NS = 'e2e-helm-scale-up';
const CHART = join(paths.root, 'test', 'e2e', 'charts', 'retained-db');
const LEFT = 'data-rdb-db-1';

describe('a Helm upgrade scaling up onto a PVC left by an earlier StatefulSet', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await helm(['uninstall', 'rdb', '-n', NS]);
    await deleteObjects(['pvc', '--all', '-n', NS]);
    await boundClaim(NS, LEFT, 'Retain');
    // creationTimestamps count whole seconds: the StatefulSet comes strictly later than the leftover.
    await sleep(1100);
    await changeAndWait(guard.opsUrl, 'statefulsets.apps', () =>
      must(helm(['install', 'rdb', CHART, '-n', NS, '--set', 'db.replicas=1', '--set', 'db.whenDeleted=Retain']), 'helm install rdb'),
    );
  }, 120_000);

  afterAll(async () => {
    await helm(['uninstall', 'rdb', '-n', NS]);
    await deleteObjects(['pvc', '--all', '-n', NS], ['pv', `pv-${NS}-${LEFT}`]);
  });

  it('is refused, naming the PVC the scale-up would re-attach', async () => {
    const upgraded = await helm(['upgrade', 'rdb', CHART, '-n', NS, '--set', 'db.replicas=2', '--set', 'db.whenDeleted=Retain']);
    expect(upgraded.code).not.toBe(0);
    expect(upgraded.stderr).toContain('admission webhook "helm-release.volume-guard.io" denied the request');
    expect(upgraded.stderr).toContain('[orphan-pvc]');
    expect(upgraded.stderr).toContain(`${NS}/${LEFT}`);
    expect(upgraded.stderr).toContain('left by an earlier StatefulSet rdb-db; raising it to 2 replicas would re-attach its old data');
    expect((await kubectl(['get', 'statefulset', 'rdb-db', '-n', NS, '-o', 'jsonpath={.spec.replicas}'])).stdout).toBe('1');
  });

  it("judges kubectl raising the replicas of Helm's StatefulSet (no release record saw it); Helm's own field manager passes", async () => {
    const patch = (...flags: string[]) =>
      kubectl(['patch', 'statefulset', 'rdb-db', '-n', NS, '--type=merge', '-p', '{"spec":{"replicas":2}}', '--dry-run=server', ...flags]);
    const patched = await patch();
    expect(patched.code).not.toBe(0);
    expect(patched.stderr).toContain('admission webhook "statefulset.volume-guard.io" denied the request');
    expect(patched.stderr).toContain(`scale-up of StatefulSet ${NS}/rdb-db to 2 replicas`);
    expect(patched.stderr).toContain(`${NS}/${LEFT}`);
    // The write Helm itself makes (field manager `helm`) was judged at its release record: not judged again.
    const byHelm = await patch('--field-manager=helm');
    expect(byHelm.stderr).not.toContain('denied');
    expect(byHelm.code).toBe(0);
  });

  it('an upgrade or a patch moving ordinals.start onto the leftover is refused, saying the ordinals move', async () => {
    const upgraded = await helm(['upgrade', 'rdb', CHART, '-n', NS, '--set', 'db.replicas=1', '--set', 'db.ordinalsStart=1', '--set', 'db.whenDeleted=Retain']);
    expect(upgraded.code).not.toBe(0);
    expect(upgraded.stderr).toContain('admission webhook "helm-release.volume-guard.io" denied the request');
    expect(upgraded.stderr).toContain(`${NS}/${LEFT}`);
    expect(upgraded.stderr).toContain('left by an earlier StatefulSet rdb-db; moving its ordinals to 1..1 would re-attach its old data');
    expect(upgraded.stderr).not.toContain('replicas would');
    const patched = await kubectl(['patch', 'statefulset', 'rdb-db', '-n', NS, '--type=merge', '-p', '{"spec":{"ordinals":{"start":1}}}', '--dry-run=server']);
    expect(patched.code).not.toBe(0);
    expect(patched.stderr).toContain('admission webhook "statefulset.volume-guard.io" denied the request');
    expect(patched.stderr).toContain(`refused the move of StatefulSet ${NS}/rdb-db to ordinals 1..1`);
    expect(patched.stderr).toContain(`${NS}/${LEFT}`);
    expect(patched.stderr).not.toContain('refused the scale-up');
  });

  it('an upgrade keeping the replicas passes', async () => {
    const upgraded = await helm(['upgrade', 'rdb', CHART, '-n', NS, '--set', 'db.replicas=1', '--set', 'db.whenDeleted=Retain']);
    expect(upgraded.stderr).not.toContain('denied');
    expect(upgraded.code).toBe(0);
  });
});

// A Helm upgrade dropping a StatefulSet whose retention policy says whenDeleted: Delete, when its PVC also names
// another StatefulSet as owner, one the release does not delete: the garbage collector keeps a dependent while one
// owner remains (it drops only the reference to the StatefulSet gone), so nothing is lost. Real helm, real API
// server, kube-controller-manager's real garbage collector. Refused while the dropped StatefulSet is the PVC's only
// owner, with a fix that says what keeps the PVC (keeping the StatefulSet, not the PVC's resource policy); passed
// once the other owner is there, and the PVC survives the upgrade, owned by that other StatefulSet alone.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { helm, kubectl, paths } from '../harness/cluster.ts';
import { apply, boundClaim, changeAndWait, deleteObjects, ensureNamespace, eventually, must, ownedBoundClaim } from '../harness/scenario.ts';

const guard = inject('guard');
const NS = 'e2e-helm-shared';
const CHART = join(paths.root, 'test', 'e2e', 'charts', 'retained-db');
const CLAIM = 'data-sdb-db-0';

describe('a Helm upgrade dropping a StatefulSet whose PVC another StatefulSet also owns', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await helm(['uninstall', 'sdb', '-n', NS]);
    await must(helm(['install', 'sdb', CHART, '-n', NS]), 'helm install sdb');
    // Outside the release: a StatefulSet without replicas that the upgrade leaves alone.
    await apply({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'keeper', namespace: NS },
      spec: {
        replicas: 0,
        serviceName: 'keeper',
        selector: { matchLabels: { app: 'e2e-keeper' } },
        template: { metadata: { labels: { app: 'e2e-keeper' } }, spec: { containers: [{ name: 'c', image: 'registry.invalid/c:1' }] } },
      },
    });
    await ownedBoundClaim({
      namespace: NS,
      statefulSet: 'sdb-db',
      claim: CLAIM,
      reclaimPolicy: 'Delete',
      labels: { 'app.kubernetes.io/name': 'retained-db', 'app.kubernetes.io/instance': 'sdb' },
    });
    // PVC events reach the model in order: once this one is counted, the claim above is known as it is now.
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', () => boundClaim(NS, 'sentinel-1', 'Retain'));
  }, 180_000);

  afterAll(async () => {
    await helm(['uninstall', 'sdb', '-n', NS]);
    await deleteObjects(['statefulset', 'sdb-db', 'keeper', '-n', NS, '--cascade=orphan'], ['pvc', '--all', '-n', NS]);
  });

  it('is refused while the dropped StatefulSet is its only owner, saying to keep the StatefulSet', async () => {
    const upgraded = await helm(['upgrade', 'sdb', CHART, '-n', NS, '--set', 'db.enabled=false']);
    expect(upgraded.code).not.toBe(0);
    expect(upgraded.stderr).toContain('UPGRADE FAILED');
    expect(upgraded.stderr).toContain('[pvc-delete]');
    expect(upgraded.stderr).toContain(`${NS}/${CLAIM}`);
    const fix = upgraded.stderr.replace(/\n\s+/g, ' ');
    expect(fix).toContain('Fix: back the data up, or keep the StatefulSet: leave it in the chart, or annotate the live one helm.sh/resource-policy: keep;');
    expect((await kubectl(['get', 'statefulset', 'sdb-db', '-n', NS])).code).toBe(0);
  });

  it('passes once another StatefulSet also owns the PVC, and the garbage collector keeps it', async () => {
    const got = await must(kubectl(['get', 'pvc', CLAIM, '-n', NS, '-o', 'json']), 'claim');
    const owners = (JSON.parse(got.stdout) as { metadata: { ownerReferences?: unknown[] } }).metadata.ownerReferences ?? [];
    const keeperUid = (await must(kubectl(['get', 'statefulset', 'keeper', '-n', NS, '-o', 'jsonpath={.metadata.uid}']), 'uid')).stdout;
    const keeper = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'keeper', uid: keeperUid };
    await must(kubectl(['patch', 'pvc', CLAIM, '-n', NS, '--type=merge', '-p', JSON.stringify({ metadata: { ownerReferences: [...owners, keeper] } })]), 'owner');
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', () => boundClaim(NS, 'sentinel-2', 'Retain'));
    const upgraded = await helm(['upgrade', 'sdb', CHART, '-n', NS, '--set', 'db.enabled=false']);
    expect(upgraded.stderr).not.toContain('denied');
    expect(upgraded.code).toBe(0);
    // Helm deleted the StatefulSet; the collector dropped its reference and kept the claim, keeper its only owner.
    const gone = await eventually(() => kubectl(['get', 'statefulset', 'sdb-db', '-n', NS]), (r) => r.code !== 0, 30_000);
    expect(gone.code).not.toBe(0);
    const left = await eventually(
      () => kubectl(['get', 'pvc', CLAIM, '-n', NS, '-o', 'jsonpath={.metadata.ownerReferences[*].name}']),
      (r) => r.stdout === 'keeper',
      30_000,
    );
    expect(left.stdout).toBe('keeper');
    expect((await kubectl(['get', 'pvc', CLAIM, '-n', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}|{.status.phase}'])).stdout).toBe('|Bound');
  });
});

// A Helm upgrade that drops a StatefulSet whose persistentVolumeClaimRetentionPolicy.whenDeleted is Delete: Helm
// deletes the StatefulSet, the garbage collector deletes the PVCs it owns, the PV controller destroys their volumes
// (reclaim policy Delete). Refused at the release record, naming the PVC, before Helm touches anything. Real helm,
// real API server, kube-controller-manager beside it; the PVC is written as the StatefulSet controller writes it
// (owned by the StatefulSet), with no pod (no scheduler or kubelet here). With helm.sh/resource-policy: keep on the
// live StatefulSet, Helm skips deleting it (its kube client reads the live annotation, exactly: "Keep" is deleted):
// the upgrade passes.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { helm, kubectl, paths } from '../harness/cluster.ts';
import { apply, boundClaim, changeAndWait, deleteObjects, ensureNamespace, must, ownedBoundClaim } from '../harness/scenario.ts';

const guard = inject('guard');
const NS = 'e2e-helm-retained';
const CHART = join(paths.root, 'test', 'e2e', 'charts', 'retained-db');
const CLAIM = 'data-rdb-db-0';

/**
 * A new StatefulSet, waited for in the model: StatefulSet events reach it in order, so once this one is counted the
 * annotations written before it are known.
 */
function sentinel(name: string): Promise<void> {
  return changeAndWait(guard.opsUrl, 'statefulsets.apps', () =>
    apply({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name, namespace: NS },
      spec: {
        replicas: 0,
        serviceName: 'sentinel',
        selector: { matchLabels: { app: 'e2e-sentinel' } },
        template: { metadata: { labels: { app: 'e2e-sentinel' } }, spec: { containers: [{ name: 'c', image: 'registry.invalid/c:1' }] } },
      },
    }),
  );
}

describe('a Helm upgrade dropping a StatefulSet that deletes its PVCs with it', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await helm(['uninstall', 'rdb', '-n', NS]);
    await must(helm(['install', 'rdb', CHART, '-n', NS]), 'helm install rdb');
    await ownedBoundClaim({
      namespace: NS,
      statefulSet: 'rdb-db',
      claim: CLAIM,
      reclaimPolicy: 'Delete',
      labels: { 'app.kubernetes.io/name': 'retained-db', 'app.kubernetes.io/instance': 'rdb' },
    });
    // PVC events reach the model in order: once this one is counted, the claim above is known as it is now.
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', () => boundClaim(NS, 'sentinel', 'Retain'));
  }, 180_000);

  afterAll(async () => {
    await helm(['uninstall', 'rdb', '-n', NS]);
    await deleteObjects(['statefulset', 'rdb-db', 'sentinel-1', 'sentinel-2', '-n', NS, '--cascade=orphan'], ['pvc', '--all', '-n', NS]);
  });

  it('is refused, naming the PVC the garbage collector would delete with the StatefulSet', async () => {
    const upgraded = await helm(['upgrade', 'rdb', CHART, '-n', NS, '--set', 'db.enabled=false']);
    expect(upgraded.code).not.toBe(0);
    expect(upgraded.stderr).toContain('UPGRADE FAILED');
    expect(upgraded.stderr).toContain('admission webhook "helm-release.volume-guard.io" denied the request');
    expect(upgraded.stderr).toContain('[pvc-delete]');
    expect(upgraded.stderr).toContain(`${NS}/${CLAIM}`);
    expect(upgraded.stderr).toContain('names as owner');
    expect((await kubectl(['get', 'statefulset', 'rdb-db', '-n', NS])).code).toBe(0);
    expect((await kubectl(['get', 'pvc', CLAIM, '-n', NS])).code).toBe(0);
  });

  it('is still refused when the live StatefulSet says "Keep": Helm compares the annotation exactly and deletes it', async () => {
    await must(kubectl(['annotate', 'statefulset', 'rdb-db', '-n', NS, 'helm.sh/resource-policy=Keep']), 'annotate Keep');
    await sentinel('sentinel-1');
    const upgraded = await helm(['upgrade', 'rdb', CHART, '-n', NS, '--set', 'db.enabled=false']);
    expect(upgraded.code).not.toBe(0);
    expect(upgraded.stderr).toContain('[pvc-delete]');
    expect(upgraded.stderr).toContain(`${NS}/${CLAIM}`);
    expect((await kubectl(['get', 'statefulset', 'rdb-db', '-n', NS])).code).toBe(0);
  });

  it('passes once the StatefulSet says helm.sh/resource-policy: keep: Helm leaves it, and its PVC, in place', async () => {
    await must(kubectl(['annotate', '--overwrite', 'statefulset', 'rdb-db', '-n', NS, 'helm.sh/resource-policy=keep']), 'annotate keep');
    await sentinel('sentinel-2');
    const upgraded = await helm(['upgrade', 'rdb', CHART, '-n', NS, '--set', 'db.enabled=false']);
    expect(upgraded.stderr).not.toContain('denied');
    expect(upgraded.code).toBe(0);
    expect((await kubectl(['get', 'statefulset', 'rdb-db', '-n', NS])).code).toBe(0);
    expect((await kubectl(['get', 'pvc', CLAIM, '-n', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}'])).stdout).toBe('');
  });
});

describe('helm uninstall of a release whose chart keeps its StatefulSet (helm.sh/resource-policy: keep)', () => {
  const RELEASE = 'rdbk';
  const KEPT_CLAIM = `data-${RELEASE}-db-0`;
  beforeAll(async () => {
    await ensureNamespace(NS);
    await helm(['uninstall', RELEASE, '-n', NS]);
    await must(helm(['install', RELEASE, CHART, '-n', NS, '--set', 'db.keep=true']), 'helm install');
    await ownedBoundClaim({
      namespace: NS,
      statefulSet: `${RELEASE}-db`,
      claim: KEPT_CLAIM,
      reclaimPolicy: 'Delete',
      labels: { 'app.kubernetes.io/name': 'retained-db', 'app.kubernetes.io/instance': RELEASE },
    });
    await sentinel('sentinel-k');
  }, 180_000);

  afterAll(async () => {
    await helm(['uninstall', RELEASE, '-n', NS]);
    await deleteObjects(['statefulset', `${RELEASE}-db`, 'sentinel-k', '-n', NS, '--cascade=orphan'], ['pvc', KEPT_CLAIM, '-n', NS]);
  });

  it('does not call the claims the kept StatefulSet goes on using "left behind", nor advise deleting them', async () => {
    const removed = await helm(['uninstall', RELEASE, '-n', NS]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(`${removed.stdout}\n${removed.stderr}`).not.toContain(KEPT_CLAIM);
    // Helm left the StatefulSet, and with it the claim.
    expect((await kubectl(['get', 'statefulset', `${RELEASE}-db`, '-n', NS])).code).toBe(0);
    expect((await kubectl(['get', 'pvc', KEPT_CLAIM, '-n', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}'])).stdout).toBe('');
  });
});

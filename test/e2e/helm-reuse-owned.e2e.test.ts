// A PVC an admin approved for reuse (volume-guard.io/reuse: "true") that a new StatefulSet with
// persistentVolumeClaimRetentionPolicy.whenDeleted: Delete adopts becomes that StatefulSet's dependent: the
// StatefulSet controller sets itself as controller owner of every claim of its pods under that policy, adopted ones
// included. Real helm, the real API server and kube-controller-manager: the install passes (the approval) with a
// warning that deleting the StatefulSet deletes the reused data, and the controller does make it the claim's owner.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { helm, kubectl, paths } from '../harness/cluster.ts';
import { boundClaim, changeAndWait, deleteObjects, ensureNamespace, eventually } from '../harness/scenario.ts';

const guard = inject('guard');
const NS = 'e2e-helm-reuse-owned';
const CHART = join(paths.root, 'test', 'e2e', 'charts', 'retained-db');
const CLAIM = 'data-ro-db-0';

describe('helm install reusing an approved PVC in a StatefulSet with whenDeleted: Delete', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await helm(['uninstall', 'ro', '-n', NS]);
    await deleteObjects(['pvc', '--all', '-n', NS]);
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', () =>
      boundClaim(NS, CLAIM, 'Delete', { 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'admin' }),
    );
  }, 120_000);

  afterAll(async () => {
    await helm(['uninstall', 'ro', '-n', NS]);
    await deleteObjects(['pvc', '--all', '-n', NS], ['pv', `pv-${NS}-${CLAIM}`]);
  });

  it('passes with a warning naming the PVC; the StatefulSet controller then owns it', async () => {
    const installed = await helm(['install', 'ro', CHART, '-n', NS, '--set', 'db.replicas=1', '--set', 'db.whenDeleted=Delete']);
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.stderr).toContain('1 PVC approved for reuse will be owned by a new StatefulSet (whenDeleted: Delete):');
    expect(installed.stderr).toContain(`- ${CLAIM}`);
    const owner = await eventually(
      async () => (await kubectl(['get', 'pvc', CLAIM, '-n', NS, '-o', 'jsonpath={.metadata.ownerReferences[*].kind}/{.metadata.ownerReferences[*].name}'])).stdout,
      (value) => value.includes('StatefulSet/ro-db'),
      60_000,
    );
    expect(owner).toContain('StatefulSet/ro-db');
  }, 180_000);
});

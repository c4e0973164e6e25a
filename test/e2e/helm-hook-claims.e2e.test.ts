// A chart that renders its PVC as a pre-install/pre-upgrade hook with no hook-delete-policy: Helm gives such a hook
// `before-hook-creation`, so every `helm upgrade` deletes the existing PVC before creating it again, empty, whatever
// its `helm.sh/resource-policy: keep` says (Helm reads that policy for manifest resources only). Real helm, the real
// API server and kube-controller-manager's PV controller binding the PVC to a PV whose reclaim policy is Delete: the
// upgrade is refused at its release record, naming the PVC, before Helm touches anything; once the PVC carries an
// admin's delete approval, the upgrade passes and Helm deletes and re-creates it.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { helm, kubectl, paths } from '../harness/cluster.ts';
import { apply, boundClaim, changeAndWait, csiVolumeSpec, deleteObjects, ensureNamespace, eventually, must, removeLeftoverPv } from '../harness/scenario.ts';

const guard = inject('guard');
const NS = 'e2e-helm-hook-claims';
const CHART = join(paths.root, 'test', 'e2e', 'charts', 'hook-claim');
const RELEASE = 'hc';
const CLAIM = `${RELEASE}-data`;
const PV = `${RELEASE}-pv`;

const claimUid = async () => (await kubectl(['get', 'pvc', CLAIM, '-n', NS, '-o', 'jsonpath={.metadata.uid}'])).stdout;

describe('a Helm upgrade re-running a hook that renders a PVC', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await helm(['uninstall', RELEASE, '-n', NS]);
    await deleteObjects(['pvc', '--all', '-n', NS]);
    await removeLeftoverPv(PV);
    // Reserved for the hook's PVC by name: the PV controller binds the two once Helm creates the claim.
    await apply({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: PV }, spec: { ...csiVolumeSpec(PV, 'Delete', 'e2e-hook'), claimRef: { namespace: NS, name: CLAIM } } });
    await must(helm(['install', RELEASE, CHART, '-n', NS]), 'helm install');
    const phase = await eventually(
      async () => (await kubectl(['get', 'pvc', CLAIM, '-n', NS, '-o', 'jsonpath={.status.phase}'])).stdout,
      (value) => value === 'Bound',
      60_000,
    );
    expect(phase).toBe('Bound');
    // PVC events reach the model in order: once this one is counted, the hook's claim is known Bound.
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', () => boundClaim(NS, 'sentinel', 'Retain'));
  }, 180_000);

  afterAll(async () => {
    await helm(['uninstall', RELEASE, '-n', NS]);
    await deleteObjects(['pvc', '--all', '-n', NS], ['pv', PV]);
  });

  it('is refused at the release record, naming the PVC the hook would delete; the PVC stays', async () => {
    const before = await claimUid();
    const upgraded = await helm(['upgrade', RELEASE, CHART, '-n', NS]);
    expect(upgraded.code).not.toBe(0);
    expect(upgraded.stderr).toContain('UPGRADE FAILED');
    expect(upgraded.stderr).toContain('admission webhook "helm-release.volume-guard.io" denied the request');
    expect(upgraded.stderr).toContain('[pvc-delete]');
    expect(upgraded.stderr).toContain(`${NS}/${CLAIM}`);
    expect(upgraded.stderr).toContain('before-hook-creation');
    expect(await claimUid()).toBe(before);
    const history = await must(helm(['history', RELEASE, '-n', NS, '-o', 'json']), 'history');
    expect((JSON.parse(history.stdout) as unknown[]).length).toBe(1);
  });

  it("passes once the PVC carries an admin's delete approval: Helm deletes it and creates it again", async () => {
    const before = await claimUid();
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', async () => {
      await must(kubectl(['annotate', 'pvc', CLAIM, '-n', NS, 'volume-guard.io/delete=true', 'volume-guard.io/skip-by=admin']), 'approve');
      await boundClaim(NS, 'sentinel-2', 'Retain');
    });
    const upgraded = await helm(['upgrade', RELEASE, CHART, '-n', NS]);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    const after = await eventually(claimUid, (uid) => uid !== '' && uid !== before, 30_000);
    expect(after).not.toBe(before);
  });
});

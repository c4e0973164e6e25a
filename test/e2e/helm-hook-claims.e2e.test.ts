// A chart that renders its PVC as a pre-install/pre-upgrade hook with no hook-delete-policy: Helm gives such a hook
// `before-hook-creation`, so every `helm upgrade` deletes the existing PVC before creating it again, empty, whatever
// its `helm.sh/resource-policy: keep` says (Helm reads that policy for manifest resources only). Real helm, the real
// API server and kube-controller-manager's PV controller binding the PVC to a PV whose reclaim policy is Delete: the
// upgrade is refused at its release record, naming the PVC, before Helm touches anything; once the PVC carries an
// admin's delete approval, the upgrade passes and Helm deletes and re-creates it.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { helm, helm4, kubectl, paths } from '../harness/cluster.ts';
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

// Helm 4 applies a new release server-side (record `apply_method: ssa`) and creates its hooks the same way: a hook PVC
// that already exists is taken over instead of the create failing "already exists" (Helm 3, and Helm 4 upgrading a
// release Helm 3 made), and a hook-succeeded policy then deletes it with its data. Installed with hook-failed (the PVC
// stays after the hook), upgraded with hook-succeeded: refused at the record, naming the PVC; the PVC stays.
describe('a Helm 4 upgrade whose hook-succeeded hook PVC already exists', () => {
  const NS4 = 'e2e-helm4-hook-claims';
  const RELEASE4 = 'hc4';
  const CLAIM4 = `${RELEASE4}-data`;
  const PV4 = `${RELEASE4}-pv`;
  const uid4 = async () => (await kubectl(['get', 'pvc', CLAIM4, '-n', NS4, '-o', 'jsonpath={.metadata.uid}'])).stdout;

  beforeAll(async () => {
    await ensureNamespace(NS4);
    await helm4(['uninstall', RELEASE4, '-n', NS4]);
    await deleteObjects(['pvc', '--all', '-n', NS4]);
    await removeLeftoverPv(PV4);
    await apply({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: PV4 }, spec: { ...csiVolumeSpec(PV4, 'Delete', 'e2e-hook'), claimRef: { namespace: NS4, name: CLAIM4 } } });
    await must(helm4(['install', RELEASE4, CHART, '-n', NS4, '--set', 'deletePolicy=hook-failed']), 'helm4 install');
    const phase = await eventually(
      async () => (await kubectl(['get', 'pvc', CLAIM4, '-n', NS4, '-o', 'jsonpath={.status.phase}'])).stdout,
      (value) => value === 'Bound',
      60_000,
    );
    expect(phase).toBe('Bound');
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', () => boundClaim(NS4, 'sentinel', 'Retain'));
  }, 180_000);

  afterAll(async () => {
    await helm4(['uninstall', RELEASE4, '-n', NS4]);
    await deleteObjects(['pvc', '--all', '-n', NS4], ['pv', PV4]);
  });

  it('is refused at the release record, naming the PVC; the PVC stays', async () => {
    const before = await uid4();
    expect(before).not.toBe('');
    const upgraded = await helm4(['upgrade', RELEASE4, CHART, '-n', NS4, '--set', 'deletePolicy=hook-succeeded']);
    expect(upgraded.code).not.toBe(0);
    expect(upgraded.stderr).toContain('admission webhook "helm-release.volume-guard.io" denied the request');
    expect(upgraded.stderr).toContain('[pvc-delete]');
    expect(upgraded.stderr).toContain(`${NS4}/${CLAIM4}`);
    expect(upgraded.stderr).toContain('hook-succeeded');
    expect(await uid4()).toBe(before);
  });

  it('with hook-failed kept, the upgrade passes and the PVC stays (a PVC hook never fails)', async () => {
    const before = await uid4();
    const upgraded = await helm4(['upgrade', RELEASE4, CHART, '-n', NS4, '--set', 'deletePolicy=hook-failed']);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect(await uid4()).toBe(before);
  });
});

// `helm uninstall` runs the chart's delete hooks (pkg/action/uninstall.go): a post-delete hook PVC with the default
// policy (before-hook-creation) is deleted and created again, empty; Helm 4 creates uninstall hooks server-side
// whatever the release's apply method, so a pre-delete hook-succeeded PVC named like an existing claim takes it over,
// then deletes it. The claim exists, Bound, before the release (created by hand with the same spec). Uninstall is never
// refused: the warning Helm prints names the PVC, and Helm then deletes it.
describe('helm uninstall of a release whose delete hooks render an existing PVC', () => {
  const cases = [
    { major: 3, events: 'post-delete', policy: '', release: 'hcd3', line: 'post-delete, before-hook-creation' },
    { major: 4, events: 'pre-delete', policy: 'hook-succeeded', release: 'hcd4', line: 'pre-delete, hook-succeeded, Helm 4 only' },
  ] as const;
  const NSD = 'e2e-helm-del-hooks';

  beforeAll(async () => {
    await ensureNamespace(NSD);
    for (const c of cases) {
      await helm(['uninstall', c.release, '-n', NSD, '--no-hooks'], { major: c.major });
      await removeLeftoverPv(`${c.release}-pv`);
    }
    await deleteObjects(['pvc', '--all', '-n', NSD]);
  }, 120_000);

  afterAll(async () => {
    for (const c of cases) await helm(['uninstall', c.release, '-n', NSD, '--no-hooks'], { major: c.major });
    await deleteObjects(['pvc', '--all', '-n', NSD], ...cases.map((c) => ['pv', `${c.release}-pv`]));
  });

  for (const c of cases) {
    it(`Helm ${c.major}: the uninstall warns naming the PVC its ${c.events} hook deletes, which Helm then deletes`, async () => {
      const claim = `${c.release}-data`;
      const pv = `${c.release}-pv`;
      await apply({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: pv }, spec: { ...csiVolumeSpec(pv, 'Delete', 'e2e-hook'), claimRef: { namespace: NSD, name: claim } } });
      await apply({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: claim, namespace: NSD },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'e2e-hook', volumeName: pv, resources: { requests: { storage: '1Gi' } } },
      });
      const policy = c.policy === '' ? [] : ['--set', `deletePolicy=${c.policy}`];
      await must(helm(['install', c.release, CHART, '-n', NSD, '--set', `hookEvents=${c.events}`, ...policy], { major: c.major }), 'helm install');
      const uid = async () => (await kubectl(['get', 'pvc', claim, '-n', NSD, '-o', 'jsonpath={.metadata.uid}'])).stdout;
      const phase = await eventually(
        async () => (await kubectl(['get', 'pvc', claim, '-n', NSD, '-o', 'jsonpath={.status.phase}'])).stdout,
        (value) => value === 'Bound',
        60_000,
      );
      expect(phase).toBe('Bound');
      await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', () => boundClaim(NSD, `sentinel-${c.release}`, 'Retain'));
      const before = await uid();
      const uninstalled = await helm(['uninstall', c.release, '-n', NSD, '--timeout', '60s'], { major: c.major });
      const output = `${uninstalled.stdout}\n${uninstalled.stderr}`;
      expect(output).toContain(`uninstalling ${NSD}/${c.release} deletes 1 PVC through its delete hooks`);
      expect(output).toContain(`- PVC ${NSD}/${claim}: ${c.line} (PV ${pv}, reclaim Delete: data destroyed)`);
      // What the warning said happens: the claim that held the data is gone (re-created empty, or deleted).
      expect(await eventually(uid, (now) => now !== before, 30_000)).not.toBe(before);
    }, 180_000);
  }
});

// `helm test` runs the chart's test hooks (pkg/action/release_testing.go) with no record write volume-guard is called
// for (the run keeps the status deployed), and its before-hook-creation delete comes first: a test hook PVC named like
// the release's own data claim deletes it. Said when the revision declaring it is installed: a warning naming it.
describe('a chart whose test hook PVC reuses the name of its data claim', () => {
  const NST = 'e2e-helm-test-hook';
  const RELEASE_T = 'hct';
  const CLAIM_T = `${RELEASE_T}-data`;
  const PV_T = `${RELEASE_T}-pv`;

  beforeAll(async () => {
    await ensureNamespace(NST);
    await helm(['uninstall', RELEASE_T, '-n', NST]);
    await deleteObjects(['pvc', '--all', '-n', NST]);
    await removeLeftoverPv(PV_T);
    await apply({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: PV_T }, spec: { ...csiVolumeSpec(PV_T, 'Delete', 'e2e-hook'), claimRef: { namespace: NST, name: CLAIM_T } } });
  }, 120_000);

  afterAll(async () => {
    await helm(['uninstall', RELEASE_T, '-n', NST]);
    await deleteObjects(['pvc', '--all', '-n', NST], ['pv', PV_T]);
  });

  it('the install warns naming the claim; helm test then deletes it', async () => {
    const installed = await helm(['install', RELEASE_T, CHART, '-n', NST, '--set', 'hookEvents=test', '--set', 'declareClaim=true']);
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.stderr).toContain(`the chart's test hook PVC ${NST}/${CLAIM_T} is named like a PVC the chart declares:`);
    expect(installed.stderr).toContain('helm test deletes that claim and re-creates it empty (before-hook-creation)');
    const uid = async () => (await kubectl(['get', 'pvc', CLAIM_T, '-n', NST, '-o', 'jsonpath={.metadata.uid}'])).stdout;
    const before = await eventually(uid, (value) => value !== '', 30_000);
    await must(helm(['test', RELEASE_T, '-n', NST, '--timeout', '60s']), 'helm test');
    expect(await eventually(uid, (now) => now !== before, 30_000)).not.toBe(before);
  }, 180_000);
});

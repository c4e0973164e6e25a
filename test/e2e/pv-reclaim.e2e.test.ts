// An admin keeps the data of a deleted claim by setting its PV's reclaim policy to Retain; the PV turns Released.
// A GitOps controller restoring `persistentVolumeReclaimPolicy: Delete` from its source would make the PV controller
// reclaim the PV at once, destroying the volume. Through the real API server with the real kubectl (the real PV
// controller in kube-controller-manager releases the PV): Flux's controller turning it to Delete is refused naming the
// PV and the claim it held; a person doing it by hand passes (pvcDelete.others off by default), and so does Flux once
// an admin marks the PV `volume-guard.io/delete: "true"`. The PV's phase lags behind its claim: a PV written with
// the claimRef (uid included) of a claim that no longer exists is released and reclaimed by the PV controller at its
// next sync whatever its phase says, so Flux re-applying an exported PV that way onto an Available PV is refused too,
// and so is Flux creating such a PV anew (an exported PV restored from a backup or a repository), or re-pointing a
// Bound Delete PV's claimRef at the uid its claim had before it was re-created.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { apply, applyBoundPair, boundClaim, createPod, csiVolumeSpec, deleteObjects, ensureNamespace, eventually, must, removeLeftoverPv } from '../harness/scenario.ts';

const NS = 'e2e-pv-reclaim';
const CLAIM = 'archive';
const PV = `pv-${NS}-${CLAIM}`;
const IN_USE = 'in-use';
const IN_USE_PV = `pv-${NS}-${IN_USE}`;
const FLUX = 'system:serviceaccount:flux-system:kustomize-controller';
const SPARE_PV = `pv-${NS}-spare`;
const REPOINTED = 'repointed';
const REPOINTED_PV = `pv-${NS}-${REPOINTED}`;

const toDelete = (...extra: string[]) =>
  kubectl(['patch', 'pv', PV, '--type=merge', '-p', '{"spec":{"persistentVolumeReclaimPolicy":"Delete"}}', ...extra]);

describe('pvc-delete at a PV reclaim policy change', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await kubectl(['delete', 'clusterrolebinding', 'e2e-flux-pv-patcher']);
    await kubectl(['delete', 'clusterrole', 'e2e-pv-patcher']);
    await must(kubectl(['create', 'clusterrole', 'e2e-pv-patcher', '--verb=get,list,create,patch,update', '--resource=persistentvolumes']), 'clusterrole');
    await must(kubectl(['create', 'clusterrolebinding', 'e2e-flux-pv-patcher', '--clusterrole=e2e-pv-patcher', `--user=${FLUX}`]), 'clusterrolebinding');
    await boundClaim(NS, CLAIM, 'Retain');
    await must(kubectl(['delete', 'pvc', CLAIM, '-n', NS, '--wait=true', '--timeout=60s']), 'delete the claim');
    const released = await eventually(() => kubectl(['get', 'pv', PV, '-o', 'jsonpath={.status.phase}']), (r) => r.stdout === 'Released', 60_000);
    expect(released.stdout).toBe('Released');
  }, 120_000);

  afterAll(async () => {
    await kubectl(['delete', 'pod', 'user', '-n', NS, '--grace-period=0', '--force']);
    await deleteObjects(['pvc', IN_USE, '-n', NS], ['pv', IN_USE_PV], ['pvc', REPOINTED, '-n', NS], ['pv', REPOINTED_PV], ['node', 'e2e-pv-reclaim-node'], ['pv', PV], ['pv', SPARE_PV], ['clusterrolebinding', 'e2e-flux-pv-patcher'], ['clusterrole', 'e2e-pv-patcher']);
  });

  it("refuses Flux's controller turning the Released PV's reclaim policy to Delete, naming it", async () => {
    const refused = await eventually(() => toDelete(`--as=${FLUX}`, '--dry-run=server'), (r) => r.code !== 0, 30_000);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(`change of PV ${PV}'s reclaim policy to Delete by ${FLUX}`);
    expect(refused.stderr).toContain(`its claim ${NS}/${CLAIM} gone`);
    expect(refused.stderr).toContain(`kubectl annotate pv ${PV} volume-guard.io/delete=true`);
    const byHand = await toDelete('--dry-run=server');
    expect(byHand.stderr).not.toContain('denied');
    expect(byHand.code).toBe(0);
  });

  it('passes once an admin marks the PV volume-guard.io/delete=true', async () => {
    await must(kubectl(['annotate', 'pv', PV, 'volume-guard.io/delete=true', 'volume-guard.io/skip-reason=e2e', 'volume-guard.io/skip-by=admin']), 'approve');
    const allowed = await toDelete(`--as=${FLUX}`);
    expect(allowed.stderr).not.toContain('denied');
    expect(allowed.code).toBe(0);
    expect((await kubectl(['get', 'pv', PV, '-o', 'jsonpath={.spec.persistentVolumeReclaimPolicy}'])).stdout).toBe('Delete');
  });

  it('refuses it on a Bound PV whose claim is being deleted, held by pvc-protection while a pod uses it', async () => {
    await boundClaim(NS, IN_USE, 'Retain');
    await createPod({ name: 'user', namespace: NS, node: 'e2e-pv-reclaim-node', claims: [IN_USE] });
    await must(kubectl(['delete', 'pvc', IN_USE, '-n', NS, '--wait=false']), 'delete the claim in use');
    const terminating = await eventually(
      () => kubectl(['get', 'pvc', IN_USE, '-n', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}']),
      (r) => r.stdout !== '',
    );
    expect(terminating.stdout).not.toBe('');
    const refused = await eventually(
      () => kubectl(['patch', 'pv', IN_USE_PV, '--type=merge', '-p', '{"spec":{"persistentVolumeReclaimPolicy":"Delete"}}', `--as=${FLUX}`, '--dry-run=server']),
      (r) => r.code !== 0,
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`its claim ${NS}/${IN_USE} is being deleted`);
  });

  it('refuses the claimRef of a claim that is gone written with reclaim Delete onto an Available PV', async () => {
    await removeLeftoverPv(SPARE_PV);
    await apply({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: SPARE_PV }, spec: csiVolumeSpec(SPARE_PV, 'Retain', 'e2e-no-such-class') });
    const patch = JSON.stringify({
      spec: { persistentVolumeReclaimPolicy: 'Delete', claimRef: { namespace: NS, name: 'long-gone', uid: '0d7a6bb1-5f4e-4c1e-9a0e-2f6f1c0d1e2a' } },
    });
    const refused = await eventually(() => kubectl(['patch', 'pv', SPARE_PV, '--type=merge', '-p', patch, `--as=${FLUX}`, '--dry-run=server']), (r) => r.code !== 0, 30_000);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(`its claim ${NS}/long-gone no longer exists`);
    // Pre-bound by name only (no uid): the PV controller keeps it Available for that claim, reclaiming nothing.
    const preBound = JSON.stringify({ spec: { persistentVolumeReclaimPolicy: 'Delete', claimRef: { namespace: NS, name: 'long-gone' } } });
    const allowed = await kubectl(['patch', 'pv', SPARE_PV, '--type=merge', '-p', preBound, `--as=${FLUX}`, '--dry-run=server']);
    expect(allowed.stderr).not.toContain('denied');
    expect(allowed.code).toBe(0);
  });

  it("refuses Flux re-pointing a Bound Delete PV's claimRef at a former uid of its claim; a person, or the live uid, passes", async () => {
    await boundClaim(NS, REPOINTED, 'Delete');
    const live = (await must(kubectl(['get', 'pvc', REPOINTED, '-n', NS, '-o', 'jsonpath={.metadata.uid}']), 'claim uid')).stdout;
    const repoint = (uid: string, ...extra: string[]) =>
      kubectl(['patch', 'pv', REPOINTED_PV, '--type=merge', '-p', JSON.stringify({ spec: { claimRef: { uid } } }), '--dry-run=server', ...extra]);
    const refused = await eventually(() => repoint('7c1e0b55-2d3a-4f6e-9b1c-0a8d4e2f6b31', `--as=${FLUX}`), (r) => r.code !== 0, 30_000);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(`change of PV ${REPOINTED_PV}'s claimRef to ${NS}/${REPOINTED} by ${FLUX}`);
    expect(refused.stderr).toContain(`the PVC of that name now is another one, uid ${live}`);
    for (const allowed of [await repoint(live, `--as=${FLUX}`), await repoint('7c1e0b55-2d3a-4f6e-9b1c-0a8d4e2f6b31')]) {
      expect(allowed.stderr).not.toContain('denied');
      expect(allowed.code).toBe(0);
    }
  });

  it('refuses a PV created with reclaim Delete and the claimRef of a claim that is gone', async () => {
    const exported = (claimRef: Record<string, string>) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: `${SPARE_PV}-restored` },
        spec: { ...csiVolumeSpec(`${SPARE_PV}-restored`, 'Delete', 'e2e-no-such-class'), claimRef: { namespace: NS, ...claimRef } },
      });
    const create = (claimRef: Record<string, string>) =>
      kubectl(['create', '-f', '-', `--as=${FLUX}`, '--dry-run=server'], { input: exported(claimRef) });
    const refused = await eventually(() => create({ name: 'long-gone', uid: '5b0c1f7e-8a61-4d2b-bf0e-3c9e2a7d4f10' }), (r) => r.code !== 0, 30_000);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(`creation of PV ${SPARE_PV}-restored with reclaim policy Delete by ${FLUX}`);
    expect(refused.stderr).toContain(`its claim ${NS}/long-gone no longer exists`);
    // Without the uid the PV waits, Available, for a claim of that name: nothing is reclaimed.
    const preBound = await create({ name: 'long-gone' });
    expect(preBound.stderr).not.toContain('denied');
    expect(preBound.code).toBe(0);
  });
});

// pv_controller.go syncVolume: a PV whose claimRef names a live claim (by its uid) bound to another PV is, when
// dynamically provisioned (pv.kubernetes.io/provisioned-by) under reclaim Delete, released and deleted at its next
// sync ("the claim got bound elsewhere"); any other such PV is only unbound (Available), its data kept.
describe('pvc-delete at a PV claimRef re-pointed at a live claim bound to another PV', () => {
  const NS_B = 'e2e-pv-bound-elsewhere';
  const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';
  const ROLE = 'e2e-argo-pv-patcher';
  const LIVE = 'data';
  const LIVE_PV = `pv-${NS_B}-${LIVE}`;
  /** Dynamically provisioned under Delete, bound to claim `old`. */
  const DYNAMIC_PV = `pv-${NS_B}-old`;
  /** The same, written by hand (no provisioned-by annotation), bound to claim `static`. */
  const STATIC_PV = `pv-${NS_B}-static`;

  beforeAll(async () => {
    await ensureNamespace(NS_B);
    await kubectl(['delete', 'clusterrolebinding', ROLE, '--ignore-not-found']);
    await kubectl(['delete', 'clusterrole', ROLE, '--ignore-not-found']);
    await must(kubectl(['create', 'clusterrole', ROLE, '--verb=get,list,patch,update', '--resource=persistentvolumes']), 'clusterrole');
    await must(kubectl(['create', 'clusterrolebinding', ROLE, `--clusterrole=${ROLE}`, `--user=${ARGO}`]), 'clusterrolebinding');
    await boundClaim(NS_B, LIVE, 'Retain');
    for (const [pv, claim, annotations] of [
      [DYNAMIC_PV, 'old', { 'pv.kubernetes.io/provisioned-by': 'pd.csi.storage.gke.io' }],
      [STATIC_PV, 'static', {}],
    ] as const) {
      await removeLeftoverPv(pv);
      await applyBoundPair({ metadata: { name: pv, annotations }, spec: csiVolumeSpec(pv, 'Delete', 'standard') }, { name: claim, namespace: NS_B, storageClassName: 'standard' });
    }
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(['pvc', '--all', '-n', NS_B], ['pv', LIVE_PV, DYNAMIC_PV, STATIC_PV], ['clusterrolebinding', ROLE], ['clusterrole', ROLE]);
  });

  it("refuses Argo CD re-pointing a provisioned Delete PV's claimRef at it; a written one, or a person, passes", async () => {
    const uid = (await must(kubectl(['get', 'pvc', LIVE, '-n', NS_B, '-o', 'jsonpath={.metadata.uid}']), 'claim uid')).stdout;
    const repoint = (pv: string, ...extra: string[]) =>
      kubectl(['patch', 'pv', pv, '--type=merge', '-p', JSON.stringify({ spec: { claimRef: { name: LIVE, uid } } }), '--dry-run=server', ...extra]);
    const refused = await eventually(() => repoint(DYNAMIC_PV, `--as=${ARGO}`), (r) => r.code !== 0, 30_000);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
    expect(refused.stderr).toContain(`change of PV ${DYNAMIC_PV}'s claimRef to ${NS_B}/${LIVE} by ${ARGO}`);
    expect(refused.stderr).toContain(`its claim ${NS_B}/${LIVE} is bound to PV ${LIVE_PV}`);
    for (const allowed of [await repoint(STATIC_PV, `--as=${ARGO}`), await repoint(DYNAMIC_PV)]) {
      expect(allowed.stderr).not.toContain('denied');
      expect(allowed.code).toBe(0);
    }
  });
});

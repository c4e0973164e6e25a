// One deletion, one answer, with Helm run as Flux's helm-controller (an automation identity, so pvc-delete judges its
// DELETEs too). A Helm upgrade dropping a StatefulSet whose retention policy deletes its PVCs is judged at the
// release record; then Helm deletes the StatefulSet. An admin's override must carry through both, or the upgrade
// is refused a second time, half applied: the PVCs' `volume-guard.io/delete: "true"` (which the record's denial
// advises) and the namespace's `volume-guard.io/skip: pvc-delete` each let the whole upgrade through. Real helm
// (impersonating the controller), real API server, kube-controller-manager beside it.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HELM_MAJORS, helm, kubectl, paths } from '../harness/cluster.ts';
import { boundClaim, changeAndWait, deleteObjects, ensureNamespace, must, ownedBoundClaim } from '../harness/scenario.ts';

const guard = inject('guard');
const CHART = join(paths.root, 'test', 'e2e', 'charts', 'retained-db');
const CLAIM = 'data-rdb-db-0';
const FLUX = 'system:serviceaccount:flux-system:helm-controller';
const BINDING = 'e2e-flux-helm-controller';
const LABELS = { 'app.kubernetes.io/name': 'retained-db', 'app.kubernetes.io/instance': 'rdb' };

beforeAll(async () => {
  await kubectl(['delete', 'clusterrolebinding', BINDING, '--ignore-not-found']);
  await must(kubectl(['create', 'clusterrolebinding', BINDING, '--clusterrole=cluster-admin', `--user=${FLUX}`]), 'bind the controller');
});
afterAll(async () => {
  await kubectl(['delete', 'clusterrolebinding', BINDING, '--ignore-not-found']);
});

for (const major of HELM_MAJORS) {
  describe(`Helm ${major} as Flux's helm-controller dropping a StatefulSet (whenDeleted: Delete)`, { timeout: 180_000 }, () => {
    const asFlux = (ns: string, ...args: string[]) =>
      helm(['upgrade', 'rdb', CHART, '-n', ns, '--kube-as-user', FLUX, '--kube-as-group', 'system:serviceaccounts', ...args], { major });

    async function installWithClaim(ns: string, annotations: Record<string, string> = {}): Promise<void> {
      await ensureNamespace(ns, annotations);
      await helm(['uninstall', 'rdb', '-n', ns], { major });
      await deleteObjects(['pvc', '--all', '-n', ns]);
      await must(helm(['install', 'rdb', CHART, '-n', ns], { major }), 'helm install rdb');
      await ownedBoundClaim({ namespace: ns, statefulSet: 'rdb-db', claim: CLAIM, reclaimPolicy: 'Delete', labels: LABELS });
    }

    async function cleanUp(ns: string): Promise<void> {
      await helm(['uninstall', 'rdb', '-n', ns], { major });
      await deleteObjects(['statefulset', '--all', '-n', ns, '--cascade=orphan'], ['pvc', '--all', '-n', ns]);
    }

    describe('approved on the PVC', () => {
      const NS = `e2e-flux-approve-h${major}`;
      beforeAll(() => installWithClaim(NS), 120_000);
      afterAll(() => cleanUp(NS));

      it('is refused at the record without it, and passes record and DELETE alike once the PVC is approved', async () => {
        await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', () => boundClaim(NS, 'sentinel', 'Retain'));
        const refused = await asFlux(NS, '--set', 'db.enabled=false');
        expect(refused.code).not.toBe(0);
        expect(refused.stderr).toContain('admission webhook "helm-release.volume-guard.io" denied the request');
        expect(refused.stderr).toContain(`${NS}/${CLAIM}`);
        expect(refused.stderr).toContain('volume-guard.io/delete=true');

        await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', async () => {
          await must(kubectl(['annotate', 'pvc', CLAIM, '-n', NS, 'volume-guard.io/delete=true', 'volume-guard.io/skip-by=admin', 'volume-guard.io/skip-reason=e2e']), 'approve');
          await boundClaim(NS, 'sentinel-2', 'Retain');
        });
        const upgraded = await asFlux(NS, '--set', 'db.enabled=false');
        expect(upgraded.stderr).not.toContain('denied');
        expect(upgraded.code, upgraded.stderr).toBe(0);
        expect((await kubectl(['get', 'statefulset', 'rdb-db', '-n', NS])).code).not.toBe(0);
        const status = await must(helm(['status', 'rdb', '-n', NS, '-o', 'json'], { major }), 'helm status');
        expect((JSON.parse(status.stdout) as { info: { status: string } }).info.status).toBe('deployed');
      });
    });

    describe("skipped by the release's namespace", () => {
      const NS = `e2e-flux-nsskip-h${major}`;
      beforeAll(() => installWithClaim(NS, { 'volume-guard.io/skip': 'pvc-delete', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-reason': 'e2e' }), 120_000);
      afterAll(() => cleanUp(NS));

      it("passes the record and Helm's DELETE of the StatefulSet: the upgrade completes", async () => {
        await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', () => boundClaim(NS, 'sentinel', 'Retain'));
        const upgraded = await asFlux(NS, '--set', 'db.enabled=false');
        expect(upgraded.stderr).not.toContain('denied');
        expect(upgraded.code, upgraded.stderr).toBe(0);
        expect((await kubectl(['get', 'statefulset', 'rdb-db', '-n', NS])).code).not.toBe(0);
      });

      it('a StatefulSet no Helm release manages, deleted by the same controller, is still refused', async () => {
        await must(helm(['upgrade', 'rdb', CHART, '-n', NS, '--set', 'db.enabled=true'], { major }), 'helm upgrade: StatefulSet back');
        await must(kubectl(['annotate', 'statefulset', 'rdb-db', '-n', NS, 'meta.helm.sh/release-name-', 'meta.helm.sh/release-namespace-']), 'unmanage');
        await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', async () => {
          await deleteObjects(['pvc', CLAIM, '-n', NS]);
          await ownedBoundClaim({ namespace: NS, statefulSet: 'rdb-db', claim: CLAIM, reclaimPolicy: 'Delete', labels: LABELS });
        });
        const refused = await kubectl(['delete', 'statefulset', 'rdb-db', '-n', NS, '--dry-run=server', `--as=${FLUX}`, '--as-group=system:serviceaccounts']);
        expect(refused.code).not.toBe(0);
        expect(refused.stderr).toContain('admission webhook "pvc-delete.volume-guard.io" denied the request');
        expect(refused.stderr).toContain(`${NS}/${CLAIM}`);
      });
    });
  });
}

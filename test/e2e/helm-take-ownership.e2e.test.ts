// `helm install --take-ownership` (Helm 3.17+, 4): release shop-v2 adopts release shop's StatefulSet, whose PVC
// (created by the StatefulSet controller) keeps shop's release label. With real Helm 3 and 4 and the real API server
// and controllers: the take-over passes with a warning saying what shop's later steps still do; `audit --release`
// finds no leftover of shop in shop-v2's PVC; shop's uninstall says the StatefulSet now belongs to shop-v2 (Helm 4
// leaves it, Helm 3 deletes it, as measured here) and does not call its PVC shop's leftover.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HELM_MAJORS, helm, kubectl, paths, run } from '../harness/cluster.ts';
import { changeAndWait, createStatefulSetClaims, deleteObjects, ensureNamespace, must } from '../harness/scenario.ts';
import type { AuditReport } from '../../src/audit/types.ts';

const guard = inject('guard');
const CHART = join(paths.root, 'test', 'e2e', 'charts', 'shared-db');
const CLAIM = 'data-shared-db-0';
const NODE_BIN = join(paths.root, 'node_modules', '.bin', 'node');
const CLI = join(paths.root, 'src', 'cli.ts');

for (const major of HELM_MAJORS) {
  describe(`Helm ${major}: --take-ownership of another release's StatefulSet`, { timeout: 180_000 }, () => {
    const NS = `e2e-take-own-h${major}`;
    const helmV = (...args: string[]) => helm([...args, '-n', NS], { major });

    beforeAll(async () => {
      await ensureNamespace(NS);
      await helmV('uninstall', 'shop-v2');
      await helmV('uninstall', 'shop');
      await deleteObjects(['statefulset', '--all', '-n', NS, '--cascade=orphan'], ['pvc', '--all', '-n', NS]);
      await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', async () => {
        await must(helmV('install', 'shop', CHART), 'helm install shop');
        await createStatefulSetClaims(NS, 'shared-db');
      });
    }, 150_000);
    afterAll(async () => {
      await helmV('uninstall', 'shop-v2');
      await helmV('uninstall', 'shop');
      await deleteObjects(['statefulset', '--all', '-n', NS, '--cascade=orphan'], ['pvc', '--all', '-n', NS]);
    });

    it('the take-over passes, warning what an upgrade or uninstall of shop still does', async () => {
      const labels = await must(kubectl(['get', 'pvc', CLAIM, '-n', NS, '-o', 'jsonpath={.metadata.labels.app\\.kubernetes\\.io/instance}']), 'claim labels');
      expect(labels.stdout).toBe('shop');
      const taken = await helmV('install', 'shop-v2', CHART, '--take-ownership');
      expect(taken.code, taken.stderr).toBe(0);
      expect(taken.stderr).not.toContain('denied');
      expect(taken.stderr).toContain(`volume-guard: StatefulSet ${NS}/shared-db belongs to Helm release ${NS}/shop;`);
      expect(taken.stderr).toContain('helm upgrade of shop without it, or helm uninstall shop (Helm 3), deletes it');
      const owner = await must(kubectl(['get', 'statefulset', 'shared-db', '-n', NS, '-o', 'jsonpath={.metadata.annotations.meta\\.helm\\.sh/release-name}']), 'owner');
      expect(owner.stdout).toBe('shop-v2');
    });

    it("audit --release shop finds no leftover of shop in shop-v2's PVC", async () => {
      const audit = await run(NODE_BIN, [CLI, 'audit', '--kubeconfig', paths.kubeconfig, '--release', `${NS}/shop`, '-o', 'json']);
      expect(audit.code, audit.stdout + audit.stderr).toBe(0);
      expect((JSON.parse(audit.stdout) as AuditReport).findings).toEqual([]);
    });

    it("shop's uninstall says the StatefulSet now belongs to shop-v2, and what this Helm does with it", async () => {
      const removed = await helmV('uninstall', 'shop');
      expect(removed.code, removed.stderr).toBe(0);
      expect(removed.stderr).toContain(`volume-guard: StatefulSet ${NS}/shared-db now belongs to Helm release ${NS}/shop-v2:`);
      expect(removed.stderr).toContain('Helm 4 leaves it, Helm 3 deletes it');
      // Its PVC is shop-v2's data, not a leftover of shop.
      expect(removed.stderr).not.toContain('behind');
      const left = await kubectl(['get', 'statefulset', 'shared-db', '-n', NS]);
      // Measured: Helm 4 skips objects another release owns; Helm 3 deletes everything its manifest rendered.
      expect(left.code === 0).toBe(major === 4);
    });
  });
}

for (const major of HELM_MAJORS) {
  describe(`Helm ${major}: an upgrade of the release a StatefulSet was taken from`, { timeout: 180_000 }, () => {
    const NS = `e2e-take-upg-h${major}`;
    const helmV = (...args: string[]) => helm([...args, '-n', NS], { major });

    beforeAll(async () => {
      await ensureNamespace(NS);
      await helmV('uninstall', 'shop-v2');
      await helmV('uninstall', 'shop');
      await deleteObjects(['statefulset', '--all', '-n', NS, '--cascade=orphan'], ['pvc', '--all', '-n', NS]);
      await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', async () => {
        await must(helmV('install', 'shop', CHART), 'helm install shop');
        await createStatefulSetClaims(NS, 'shared-db');
      });
      await changeAndWait(guard.opsUrl, 'statefulsets.apps', () => must(helmV('install', 'shop-v2', CHART, '--take-ownership'), 'take over'));
    }, 150_000);
    afterAll(async () => {
      await helmV('uninstall', 'shop-v2');
      await helmV('uninstall', 'shop');
      await deleteObjects(['statefulset', '--all', '-n', NS, '--cascade=orphan'], ['pvc', '--all', '-n', NS]);
    });

    it('warns that Helm deletes the taken-over StatefulSet its last revision rendered, as it then does', async () => {
      const upgraded = await helmV('upgrade', 'shop', CHART, '--set', 'db.enabled=false');
      expect(upgraded.code, upgraded.stderr).toBe(0);
      expect(upgraded.stderr).toContain(`volume-guard: StatefulSet ${NS}/shared-db, now Helm release shop-v2's, has PVCs of this release;`);
      expect(upgraded.stderr).toContain('if revision 1 still renders it, this upgrade deletes it');
      // Measured: Helm deletes what the previous revision rendered, whoever owns it now (helm/helm#32218).
      expect((await kubectl(['get', 'statefulset', 'shared-db', '-n', NS])).code).not.toBe(0);
    });
  });
}

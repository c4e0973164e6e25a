// A leftover claim still Pending is judged like a bound one: `helm uninstall` warns it stays behind, the next
// `helm install` adopting it is refused naming it, and `volume-guard audit --release` reports it, with Helm 3 and
// Helm 4 against the real API server (the StatefulSet controller creates the claim; no provisioner binds it, as with
// a WaitForFirstConsumer class whose pod never ran). The adopted claim would keep the old one's class, size and
// selected node, and a PV made for it may bind it at any moment: the admin decides.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HELM_MAJORS, helm, kubectl, paths, run } from '../harness/cluster.ts';
import { changeAndWait, deleteObjects, ensureNamespace, eventually, must, removeLeftoverPv } from '../harness/scenario.ts';
import type { AuditReport } from '../../src/audit/types.ts';

const guard = inject('guard');
const DEVLAKE = join(paths.root, 'test', 'e2e', 'charts', 'devlake');
const PVC = 'devlake-mysql-data-devlake-mysql-0';
const NODE_BIN = join(paths.root, 'node_modules', '.bin', 'node');
const CLI = join(paths.root, 'src', 'cli.ts');

for (const major of HELM_MAJORS) {
  describe(`Helm ${major}: a leftover claim still Pending`, { timeout: 120_000 }, () => {
    const NS = `e2e-pending-claim-h${major}`;
    const pvName = `pv-${NS}`;
    const run3or4 = (args: string[]) => helm(args, { major });

    beforeAll(async () => {
      await ensureNamespace(NS);
      await run3or4(['uninstall', 'devlake', '-n', NS]);
      await deleteObjects(['statefulset', '--all', '-n', NS], ['pvc', '--all', '-n', NS]);
      await removeLeftoverPv(pvName);
    });
    afterAll(async () => {
      await run3or4(['uninstall', 'devlake', '-n', NS]);
      await deleteObjects(['statefulset', '--all', '-n', NS], ['pvc', '--all', '-n', NS]);
      await removeLeftoverPv(pvName);
    });

    it('uninstall warns it stays, the re-install adopting it is refused naming it, and audit --release reports it', async () => {
      await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', async () => {
        await must(run3or4(['install', 'devlake', DEVLAKE, '-n', NS]), 'helm install');
        // The StatefulSet controller creates the claim; nothing binds it.
        const created = await eventually(() => kubectl(['get', 'pvc', PVC, '-n', NS, '-o', 'jsonpath={.status.phase}']), (r) => r.code === 0, 60_000);
        expect(created.stdout).toBe('Pending');
      });
      const removed = await run3or4(['uninstall', 'devlake', '-n', NS]);
      expect(removed.code, removed.stderr).toBe(0);
      expect(removed.stderr).toContain(`PVC ${NS}/${PVC}`);
      expect((await kubectl(['get', 'pvc', PVC, '-n', NS])).code).toBe(0);

      const audit = await run(NODE_BIN, [CLI, 'audit', '--kubeconfig', paths.kubeconfig, '--release', `${NS}/devlake`, '-o', 'json']);
      expect(audit.code, audit.stderr).toBe(1);
      expect((JSON.parse(audit.stdout) as AuditReport).findings.map((finding) => finding.object.name)).toContain(PVC);

      const denied = await eventually(() => run3or4(['install', 'devlake', DEVLAKE, '-n', NS]), (r) => r.code !== 0, 20_000);
      expect(denied.stderr).toContain('admission webhook "helm-release.volume-guard.io" denied the request');
      expect(denied.stderr).toContain(`${NS}/${PVC}`);
    });
  });
}

// A claim that never bound holds no data: `helm uninstall` leaving one behind, the next `helm install` adopting it,
// and `volume-guard audit --release` all agree that nothing is at risk, with Helm 3 and Helm 4 against the real API
// server (the StatefulSet controller creates the claim; no provisioner binds it, as with a WaitForFirstConsumer
// class whose pod never ran). Once the same claim is bound, the re-install is refused again.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HELM_MAJORS, helm, kubectl, paths, run } from '../harness/cluster.ts';
import { apply, changeAndWait, csiVolumeSpec, deleteObjects, ensureNamespace, eventually, must, removeLeftoverPv } from '../harness/scenario.ts';
import type { AuditReport } from '../../src/audit/types.ts';

const guard = inject('guard');
const DEVLAKE = join(paths.root, 'test', 'e2e', 'charts', 'devlake');
const PVC = 'devlake-mysql-data-devlake-mysql-0';
const NODE_BIN = join(paths.root, 'node_modules', '.bin', 'node');
const CLI = join(paths.root, 'src', 'cli.ts');

for (const major of HELM_MAJORS) {
  describe(`Helm ${major}: a leftover claim that never bound`, { timeout: 120_000 }, () => {
    const NS = `e2e-never-bound-h${major}`;
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

    it('uninstall does not warn about it, the re-install adopting it passes, and audit --release finds nothing', async () => {
      await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', async () => {
        await must(run3or4(['install', 'devlake', DEVLAKE, '-n', NS]), 'helm install');
        // The StatefulSet controller creates the claim; nothing binds it.
        const created = await eventually(() => kubectl(['get', 'pvc', PVC, '-n', NS, '-o', 'jsonpath={.status.phase}']), (r) => r.code === 0, 60_000);
        expect(created.stdout).toBe('Pending');
      });
      const removed = await run3or4(['uninstall', 'devlake', '-n', NS]);
      expect(removed.code, removed.stderr).toBe(0);
      expect(removed.stderr).not.toContain('leaves 1 PVC');
      expect(removed.stderr).not.toContain(`PVC ${NS}/${PVC}`);
      expect((await kubectl(['get', 'pvc', PVC, '-n', NS])).code).toBe(0);

      const audit = await run(NODE_BIN, [CLI, 'audit', '--kubeconfig', paths.kubeconfig, '--release', `${NS}/devlake`, '-o', 'json']);
      expect(audit.code, audit.stderr).toBe(0);
      expect((JSON.parse(audit.stdout) as AuditReport).findings).toEqual([]);

      const reinstalled = await run3or4(['install', 'devlake', DEVLAKE, '-n', NS]);
      expect(reinstalled.code, reinstalled.stderr).toBe(0);
      expect(reinstalled.stderr).not.toContain('volume-guard');
    });

    it('the same leftover, once bound to a PV (it may hold data), is refused at the next install', async () => {
      await must(run3or4(['uninstall', 'devlake', '-n', NS]), 'helm uninstall');
      const uid = (await must(kubectl(['get', 'pvc', PVC, '-n', NS, '-o', 'jsonpath={.metadata.uid}']), 'claim uid')).stdout;
      await changeAndWait(guard.opsUrl, 'persistentvolumes', () =>
        apply({
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: { name: pvName },
          spec: { ...csiVolumeSpec(pvName, 'Retain', ''), claimRef: { namespace: NS, name: PVC, uid } },
        }),
      );
      const bound = await eventually(() => kubectl(['get', 'pvc', PVC, '-n', NS, '-o', 'jsonpath={.status.phase}']), (r) => r.stdout === 'Bound', 60_000);
      expect(bound.stdout).toBe('Bound');
      const denied = await eventually(() => run3or4(['install', 'devlake', DEVLAKE, '-n', NS]), (r) => r.code !== 0, 20_000);
      expect(denied.stderr).toContain('admission webhook "helm-release.volume-guard.io" denied the request');
      expect(denied.stderr).toContain(`${NS}/${PVC}`);
    });
  });
}

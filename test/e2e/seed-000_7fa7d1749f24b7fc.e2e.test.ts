// Seed 000 (Apache DevLake): `helm uninstall` left the MySQL PVC created from the StatefulSet's claim template;
// the next "fresh" `helm install` re-attached the old data. volume-guard warns at the uninstall and denies the
// reinstall, naming the PVC, until an admin marks it for reuse or it is deleted.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { helm, kubectl, paths } from '../harness/cluster.ts';
import { changeAndWait, createStatefulSetClaims, deleteObjects, ensureNamespace, must } from '../harness/scenario.ts';

const guard = inject('guard');
const NS = 'seed-000';
const CHART = join(paths.root, 'test', 'e2e', 'charts', 'devlake');
const PVC = 'devlake-mysql-data-devlake-mysql-0';

const install = () => helm(['install', 'devlake', CHART, '-n', NS]);
const uninstall = () => helm(['uninstall', 'devlake', '-n', NS]);

describe('seed 000: a reinstall must not silently adopt the PVC an uninstall left behind', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await uninstall();
    await deleteObjects(['pvc', '--all', '-n', NS]);
  });
  afterAll(async () => {
    await uninstall();
    // The role the test gives alice too, so the file can run again on the same cluster.
    await deleteObjects(['pvc', '--all', '-n', NS], ['rolebinding', 'alice-pvc-editor', '-n', NS], ['role', 'pvc-editor', '-n', NS]);
  });

  it('install → uninstall (warned) → reinstall denied naming the PVC → allowed after an admin marks it for reuse', async () => {
    // The StatefulSet controller creates the claim from the template; the test binds it to a PV (no provisioner).
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', async () => {
      await must(install(), 'first helm install');
      await createStatefulSetClaims(NS, 'devlake-mysql');
    });

    const removed = await uninstall();
    expect(removed.code).toBe(0);
    // The warning reaches the helm user: which PVC stays behind, with its data and reclaim policy.
    expect(removed.stderr).toContain('volume-guard: uninstalling seed-000/devlake leaves 1 PVC and data behind');
    expect(removed.stderr).toContain(`PVC ${NS}/${PVC}`);
    expect((await kubectl(['get', 'pvc', PVC, '-n', NS])).code).toBe(0);

    const denied = await install();
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('INSTALLATION FAILED');
    expect(denied.stderr).toContain('admission webhook "helm-release.volume-guard.io" denied the request');
    expect(denied.stderr).toContain(`${NS}/${PVC}`);
    // Issue 12.17 / 19.1: what would become of the PVC and why, and the commands for this situation.
    expect(denied.stderr).toContain(`\n  adopted: PVC ${NS}/${PVC}`);
    expect(denied.stderr).toContain('\nHelm stopped before changing any resource.\n');
    expect(denied.stderr).toContain(`kubectl annotate pvc -n ${NS} ${PVC} volume-guard.io/reuse=true`);
    expect(denied.stderr).toContain('\n  helm install ... --labels volume-guard.io/skip=orphan-pvc');
    if (process.env['SHOW_DENIALS']) process.stderr.write(`${denied.stderr}\n`);
    // Helm aborted before creating anything.
    expect((await kubectl(['get', 'statefulset', 'devlake-mysql', '-n', NS])).code).not.toBe(0);
    expect((await helm(['status', 'devlake', '-n', NS])).code).not.toBe(0);

    // The non-admin identity may not declare the data reusable: RBAC lets alice patch PVCs here, volume-guard does not.
    await must(kubectl(['create', 'role', 'pvc-editor', '-n', NS, '--verb=get,patch,update', '--resource=persistentvolumeclaims']), 'role');
    await must(kubectl(['create', 'rolebinding', 'alice-pvc-editor', '-n', NS, '--role=pvc-editor', '--user=alice']), 'rolebinding');
    const byAlice = await kubectl(['annotate', 'pvc', PVC, '-n', NS, 'volume-guard.io/reuse=true'], { kubeconfig: paths.kubeconfigUser });
    expect(byAlice.code).not.toBe(0);
    expect(byAlice.stderr).toContain('admission webhook "overrides.volume-guard.io" denied the request');
    expect(byAlice.stderr).toContain('alice may not write');

    await must(kubectl(['annotate', 'pvc', PVC, '-n', NS, 'volume-guard.io/reuse=true', 'volume-guard.io/skip-reason=restore of the old database', 'volume-guard.io/skip-by=admin']), 'admin annotate');
    const reused = await (async () => {
      for (let i = 0; i < 40; i++) {
        const attempt = await install();
        if (attempt.code === 0) return attempt;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      return install();
    })();
    expect(reused.stderr).toContain('orphan-pvc overridden by annotation volume-guard.io/reuse');
    expect(reused.code).toBe(0);
  });

  it('a plain helm upgrade of the installed release passes', async () => {
    const upgraded = await helm(['upgrade', 'devlake', CHART, '-n', NS]);
    expect(upgraded.stderr).not.toContain('denied');
    expect(upgraded.code).toBe(0);
  });

  it('after the PVC is deleted a reinstall is allowed', async () => {
    await uninstall();
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', () => must(kubectl(['delete', 'pvc', PVC, '-n', NS]), 'delete pvc'));
    const fresh = await install();
    expect(fresh.stderr).not.toContain('denied');
    expect(fresh.code).toBe(0);
  });
});

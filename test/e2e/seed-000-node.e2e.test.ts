// Seed 000 on the whole test cluster, with Helm 3 and Helm 4: the real StatefulSet controller creates the claim of a
// DevLake-like chart, a real pod on the real node writes real bytes into a local PV; `helm uninstall` leaves the
// claim (warned), the reinstall is denied naming it while the bytes stay on disk, an admin marks it for reuse and
// the reinstalled pod finds the old data. Helm 4 applies server-side and stores the same release record.
// Skipped unless the whole cluster runs (VG_WHOLE_CLUSTER=1 or `npm run cluster:up -- --whole`).
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { helm, kubectl, paths, type HelmMajor } from '../harness/cluster.ts';
import { must } from '../harness/scenario.ts';
import { createLocalPv, deleteNamespaceAndWait, freshNamespace, waitFileContent, waitJsonpath, waitPodRunning } from '../support/whole.ts';

const cluster = inject('cluster');
const whole = cluster.whole;
const CHART = join(paths.root, 'test', 'e2e', 'charts', 'devlake-node');
const PVC = 'devlake-mysql-data-devlake-mysql-0';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The managers and operations of a resource's managedFields, e.g. ["helm/Apply", "kube-controller-manager/Update"]. */
async function managers(args: string[]): Promise<string[]> {
  const r = await must(kubectl(['get', ...args, '-o', 'json', '--show-managed-fields']), `get ${args.join(' ')}`);
  const obj = JSON.parse(r.stdout) as { metadata: { managedFields?: { manager: string; operation: string; subresource?: string }[] } };
  return (obj.metadata.managedFields ?? []).filter((f) => !f.subresource).map((f) => `${f.manager}/${f.operation}`);
}

const MAJORS: HelmMajor[] = [3, 4];

describe.skipIf(!whole)('seed 000 on the real node', () => {
  for (const major of MAJORS) describe(`with Helm ${major}`, () => suite(major));
});

function suite(major: HelmMajor): void {
  const w = whole!;
  const NS = `seed-000-node-h${major}`;
  const PV = `seed-000-node-h${major}`;
  const h = (args: string[]) => helm(args, { major });
  const install = () => h(['install', 'devlake', CHART, '-n', NS]);
  const uninstall = () => h(['uninstall', 'devlake', '-n', NS]);
  let dir = '';

  afterAll(async () => {
    if (!whole) return;
    await uninstall();
    await deleteNamespaceAndWait(NS).catch(() => undefined);
    await kubectl(['delete', 'pv', PV, '--ignore-not-found', '--wait=false']);
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 240_000);

  it('install → real claim and bytes → uninstall (warned) → reinstall denied, bytes kept → reuse by an admin finds the old data', async () => {
    await freshNamespace(NS);
    dir = await createLocalPv(w, PV);

    const installed = await install();
    expect(installed.code, installed.stderr).toBe(0);
    // Helm records the release the same way in both majors: Secret sh.helm.release.v1.<name>.v1 of type helm.sh/release.v1.
    const record = await must(
      kubectl(['get', 'secret', 'sh.helm.release.v1.devlake.v1', '-n', NS, '-o', 'jsonpath={.type} {.metadata.labels.owner} {.metadata.labels.status}']),
      'release record',
    );
    expect(record.stdout).toBe('helm.sh/release.v1 helm deployed');
    // Helm 4 applies server-side (field manager "helm", operation Apply); Helm 3 creates with a client-side Update.
    const stsManagers = await managers(['statefulset', 'devlake-mysql', '-n', NS]);
    expect(stsManagers).toContain(major === 4 ? 'helm/Apply' : 'helm/Update');
    expect(stsManagers).not.toContain(major === 4 ? 'helm/Update' : 'helm/Apply');

    // The StatefulSet controller (not the test) creates the claim; it binds to the local PV when the pod is scheduled.
    await waitJsonpath(['pvc', PVC, '-n', NS], '{.status.phase} {.spec.volumeName}', (v) => v === `Bound ${PV}`);
    await waitPodRunning(NS, 'devlake-mysql-0');
    await waitFileContent(join(dir, 'ibdata1'), 'lake database created by devlake-mysql-0\n');

    const removed = await uninstall();
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stderr).toContain(`volume-guard: uninstalling ${NS}/devlake leaves 1 PVC and data behind`);
    expect(removed.stderr).toContain(`PVC ${NS}/${PVC}`);
    // The controller's pod goes away for real; the claim and the bytes stay.
    await waitJsonpath(['pods', '-n', NS], '{.items[*].metadata.name}', (v) => v === '', 60_000);
    expect((await kubectl(['get', 'pvc', PVC, '-n', NS])).code).toBe(0);

    const denied = await install();
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('admission webhook "helm-release.volume-guard.io" denied the request');
    expect(denied.stderr).toContain(`${NS}/${PVC}`);
    expect((await kubectl(['get', 'statefulset', 'devlake-mysql', '-n', NS])).code).not.toBe(0);
    expect(await readFile(join(dir, 'ibdata1'), 'utf8')).toBe('lake database created by devlake-mysql-0\n');

    await must(kubectl(['annotate', 'pvc', PVC, '-n', NS, 'volume-guard.io/reuse=true', 'volume-guard.io/skip-reason=restore of the old database', 'volume-guard.io/skip-by=admin']), 'admin annotate');
    let reused = await install();
    for (let i = 0; i < 40 && reused.code !== 0; i++) {
      await sleep(300);
      reused = await install();
    }
    expect(reused.code, reused.stderr).toBe(0);
    expect(reused.stderr).toContain('orphan-pvc overridden by annotation volume-guard.io/reuse');
    // The reinstalled pod mounts the old claim: the database file is the first one, the pod started twice on it.
    await waitPodRunning(NS, 'devlake-mysql-0');
    await waitFileContent(join(dir, 'starts.log'), 'started\nstarted\n');
    expect(await readFile(join(dir, 'ibdata1'), 'utf8')).toBe('lake database created by devlake-mysql-0\n');
  }, 300_000);
}

// `helm uninstall --keep-history`, then `helm install --replace` of the same name: the seed-000 re-install at
// revision N+1. Helm marks revision N superseded before it writes N+1, so once volume-guard refuses N+1, `helm install
// --replace` refuses the name ("still in use"): the advice must be `helm upgrade --install`, which goes on from the
// superseded revision; that retry without the fix is refused too (volume-guard remembers the install it refused).
// Helm 3 and 4, real API server.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helm, HELM_MAJORS, kubectl, paths, tempFile, type HelmMajor } from '../harness/cluster.ts';
import { createStatefulSetClaims, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const CHART = join(paths.root, 'test', 'e2e', 'charts', 'devlake');
const DENIED = 'admission webhook "helm-release.volume-guard.io" denied the request';

function suite(major: HelmMajor): void {
  const NS = `e2e-helm-replace-${major}`;
  const RELEASE = 'lake';
  const PVC = `${RELEASE}-mysql-data-${RELEASE}-mysql-0`;
  const run = (args: string[]) => helm(args, { major });

  beforeAll(async () => {
    await ensureNamespace(NS);
  });
  afterAll(async () => {
    await run(['uninstall', RELEASE, '-n', NS]);
    await deleteObjects(['pvc', '--all', '-n', NS]);
  });

  it('install --replace over kept history is refused naming the PVC, with advice that works afterwards', async () => {
    await must(run(['install', RELEASE, CHART, '-n', NS]), 'helm install');
    await createStatefulSetClaims(NS, `${RELEASE}-mysql`);
    await must(run(['uninstall', RELEASE, '-n', NS, '--keep-history']), 'helm uninstall --keep-history');

    const replaced = await run(['install', RELEASE, CHART, '-n', NS, '--replace']);
    expect(replaced.code).not.toBe(0);
    expect(replaced.stderr).toContain(DENIED);
    expect(replaced.stderr).toContain(`install of Helm release ${NS}/${RELEASE} (revision 2)`);
    expect(replaced.stderr).toContain(`PVC ${NS}/${PVC}`);
    // The message wraps at word boundaries: compare its words.
    const words = replaced.stderr.replace(/\s+/g, ' ');
    expect(words).toContain('then run helm upgrade --install (not install --replace).');
    const advice = `helm upgrade --install ... --labels volume-guard.io/skip=orphan-pvc,volume-guard.io/skip-revision=2`;
    expect(words).toContain(advice);
    expect((await kubectl(['get', 'statefulset', `${RELEASE}-mysql`, '-n', NS])).code).not.toBe(0);

    // What Helm did before asking: revision 1 is superseded, so install --replace now refuses the name by itself.
    const history = await run(['history', RELEASE, '-n', NS, '-o', 'json']);
    expect((JSON.parse(history.stdout) as { revision: number; status: string }[]).map((r) => `${r.revision} ${r.status}`)).toEqual(['1 superseded']);
    const again = await run(['install', RELEASE, CHART, '-n', NS, '--replace', '--labels', 'volume-guard.io/skip=orphan-pvc']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/cannot re-?use a name that is still in use/);

    // The retry without the fix: an upgrade record of revision 2 carrying the first install's first_deployed. This
    // volume-guard (one process for the suite) refused that install and remembers it: the retry is judged as that
    // install too, and refused, instead of reading the PVC as the release's own data.
    const retried = await run(['upgrade', '--install', RELEASE, CHART, '-n', NS]);
    expect(retried.code).not.toBe(0);
    expect(retried.stderr).toContain(DENIED);
    const retriedWords = retried.stderr.replace(/\s+/g, ' ');
    expect(retriedWords).toContain(
      `upgrade of Helm release ${NS}/${RELEASE} (revision 2, judged as the install refused at revision 2 and as an upgrade:`,
    );
    expect(retriedWords).toContain(`PVC ${NS}/${PVC}`);
    expect(retriedWords).toContain(advice);
    expect(retriedWords).not.toContain("re-attaches this release's own data");
    const unchanged = await run(['history', RELEASE, '-n', NS, '-o', 'json']);
    expect((JSON.parse(unchanged.stdout) as { revision: number; status: string }[]).map((r) => `${r.revision} ${r.status}`)).toEqual(['1 superseded']);

    if (major === 3) {
      // The override, as advised: an upgrade at revision 2 that names itself.
      const overridden = await run(['upgrade', '--install', RELEASE, CHART, '-n', NS, '--labels', 'volume-guard.io/skip=orphan-pvc,volume-guard.io/skip-revision=2']);
      expect(overridden.stderr).not.toContain(DENIED);
      expect(overridden.code).toBe(0);
      expect(overridden.stderr).toContain('orphan-pvc overridden by release label (revision 2)');
    } else {
      // The fix, as advised: the admin declares the data meant to be reused, then helm upgrade --install.
      await must(kubectl(['annotate', 'pvc', PVC, '-n', NS, 'volume-guard.io/reuse=true', 'volume-guard.io/skip-by=admin']), 'annotate reuse');
      const upgraded = await eventually(() => run(['upgrade', '--install', RELEASE, CHART, '-n', NS]), (r) => r.code === 0);
      expect(upgraded.stderr).not.toContain(DENIED);
      expect(upgraded.code).toBe(0);
    }
    const after = await run(['history', RELEASE, '-n', NS, '-o', 'json']);
    expect((JSON.parse(after.stdout) as { revision: number; status: string }[]).map((r) => `${r.revision} ${r.status}`)).toEqual(['1 superseded', '2 deployed']);
  });

  it('helm rollback of a release uninstalled with --keep-history restores it: its own PVC comes back, with a warning', async () => {
    const BACK = 'back';
    const claim = `${BACK}-mysql-data-${BACK}-mysql-0`;
    try {
      await must(run(['install', BACK, CHART, '-n', NS]), 'helm install');
      await createStatefulSetClaims(NS, `${BACK}-mysql`);
      await must(run(['uninstall', BACK, '-n', NS, '--keep-history']), 'helm uninstall --keep-history');
      const restored = await run(['rollback', BACK, '1', '-n', NS]);
      expect(restored.stderr).not.toContain(DENIED);
      expect(restored.code).toBe(0);
      const words = restored.stderr.replace(/\s+/g, ' ');
      expect(words).toContain(claim);
      expect(words).toContain(`this rollback restores StatefulSet ${BACK}-mysql`);
      expect((await kubectl(['get', 'statefulset', `${BACK}-mysql`, '-n', NS])).code).toBe(0);
    } finally {
      await run(['uninstall', BACK, '-n', NS]);
    }
  });
}

for (const major of HELM_MAJORS) describe(`with Helm ${major}`, () => suite(major));

describe('an unreadable release record is refused with the override its operation takes', () => {
  const NS = 'e2e-helm-unreadable';
  beforeAll(async () => {
    await ensureNamespace(NS);
  });

  async function create(name: string, status: string, version: number) {
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'helm.sh/release.v1',
      metadata: { name: `sh.helm.release.v1.${name}.v${version}`, namespace: NS, labels: { owner: 'helm', name, status, version: String(version) } },
      // Not Helm's encoding: base64 of plain text that is neither gzip nor JSON.
      data: { release: Buffer.from(Buffer.from('garbage').toString('base64')).toString('base64') },
    };
    const file = await tempFile(`helm-unreadable-${process.pid}-${name}.json`, JSON.stringify(secret));
    const result = await kubectl(['create', '-f', file]);
    return { ...result, words: result.stderr.replace(/\s+/g, ' ') };
  }

  it('a rollback gets the namespace annotation (helm rollback takes no --labels), an upgrade its revision label', async () => {
    const rollback = await create('back', 'pending-rollback', 4);
    expect(rollback.code).not.toBe(0);
    expect(rollback.words).toContain('cannot check Helm release Secret');
    expect(rollback.words).toContain(`kubectl annotate namespace ${NS} volume-guard.io/skip=orphan-pvc`);
    expect(rollback.words).not.toContain('--labels');
    const upgrade = await create('up', 'pending-upgrade', 7);
    expect(upgrade.code).not.toBe(0);
    expect(upgrade.words).toContain('helm upgrade ... --labels volume-guard.io/skip=orphan-pvc,volume-guard.io/skip-revision=7');
  });
});

// A release whose record is large (a chart carrying ~120 KB that gzip cannot shrink): the API server's review of its
// Secret is several hundred KB, so volume-guard's decoder sets the record aside and only a manifest worker reads it.
// Through the real API server and Helm, such a release is judged as a small one: installed when nothing is at risk,
// and its re-install adopting the claim the first one left behind is refused naming the claim.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HELM_MAJORS, helm, kubectl, paths } from '../harness/cluster.ts';
import { changeAndWait, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const guard = inject('guard');
const DEVLAKE = join(paths.root, 'test', 'e2e', 'charts', 'devlake');
const PVC = 'devlake-mysql-data-devlake-mysql-0';
const NS = 'e2e-large-release';
const major = HELM_MAJORS[0]!;

describe(`Helm ${major}: a release too large to parse on the event loop`, { timeout: 180_000 }, () => {
  const chart = join(mkdtempSync(join(tmpdir(), 'vg-large-chart-')), 'devlake');
  const run = (args: string[]) => helm(args, { major });

  beforeAll(async () => {
    cpSync(DEVLAKE, chart, { recursive: true });
    mkdirSync(join(chart, 'files'));
    writeFileSync(join(chart, 'files', 'bulk.txt'), randomBytes(90_000).toString('base64'));
    writeFileSync(
      join(chart, 'templates', 'bulk.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-bulk\ndata:\n  bulk: {{ .Files.Get "files/bulk.txt" | quote }}\n',
    );
    await ensureNamespace(NS);
    await run(['uninstall', 'devlake', '-n', NS]);
    await deleteObjects(['statefulset', '--all', '-n', NS], ['pvc', '--all', '-n', NS]);
  });
  afterAll(async () => {
    await run(['uninstall', 'devlake', '-n', NS]);
    await deleteObjects(['statefulset', '--all', '-n', NS], ['pvc', '--all', '-n', NS]);
    rmSync(join(chart, '..'), { recursive: true, force: true });
  });

  it('installs it when nothing is at risk, and refuses the re-install that would adopt the claim left behind', async () => {
    await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', async () => {
      await must(run(['install', 'devlake', chart, '-n', NS]), 'helm install of the large chart');
      const created = await eventually(() => kubectl(['get', 'pvc', PVC, '-n', NS, '-o', 'name']), (r) => r.code === 0, 60_000);
      expect(created.stdout).toContain(PVC);
    });
    // The record really is large: its Secret alone is past the size from which the decoder sets it aside.
    const record = await kubectl(['get', 'secret', 'sh.helm.release.v1.devlake.v1', '-n', NS, '-o', 'jsonpath={.data.release}']);
    expect(record.code, record.stderr).toBe(0);
    expect(record.stdout.length).toBeGreaterThan(200_000);

    await must(run(['uninstall', 'devlake', '-n', NS]), 'helm uninstall');
    expect((await kubectl(['get', 'pvc', PVC, '-n', NS])).code).toBe(0);
    const denied = await eventually(() => run(['install', 'devlake', chart, '-n', NS]), (r) => r.code !== 0, 20_000);
    expect(denied.stderr).toContain('admission webhook "helm-release.volume-guard.io" denied the request');
    expect(denied.stderr).toContain(`${NS}/${PVC}`);
    expect(denied.stderr).toContain('[orphan-pvc]');
  });
});

// `helm install --take-ownership --atomic` of a chart declaring the PVC a running app already uses, through the real
// API server, kube-controller-manager and Helm 3 and 4. volume-guard lets the take-over through (the data is in use)
// with a warning, and that warning says what the install then risks: it times out waiting, `--atomic` (Helm 4:
// `--rollback-on-failure`) uninstalls the release at once (install.go failRelease), and the uninstall deletes the
// taken-over PVC with its data (pvc-protection holds it only while the old pod mounts it). With the PVC marked
// `helm.sh/resource-policy: keep` in the chart the warning says nothing of it, and the failed install leaves it.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { helm, kubectl, paths, type HelmMajor } from '../harness/cluster.ts';
import { applyBoundPair, changeAndWait, createPod, csiVolumeSpec, deleteObjects, ensureNamespace, eventually, must, removeLeftoverPv } from '../harness/scenario.ts';

const guard = inject('guard');
const NS = 'e2e-take-ownership-atomic';
const CHART = join(paths.root, 'test', 'e2e', 'charts', 'taken-app');
const NODE = 'e2e-take-ownership-node';
const PV = `pv-${NS}-app-data`;

/** The running app as kubectl left it: app-data bound to a Retain PV, mounted by the Running pod legacy-app. */
async function runningApp(): Promise<void> {
  await kubectl(['delete', 'pod', 'legacy-app', '-n', NS, '--grace-period=0', '--force']);
  await kubectl(['delete', 'pvc', 'app-data', '-n', NS, '--wait=true', '--timeout=60s']);
  await removeLeftoverPv(PV);
  await applyBoundPair({ metadata: { name: PV }, spec: csiVolumeSpec(PV, 'Retain', 'standard') }, { name: 'app-data', namespace: NS, storageClassName: 'standard' });
  await createPod({ name: 'legacy-app', namespace: NS, node: NODE, claims: ['app-data'] });
  await changeAndWait(guard.opsUrl, 'pods', async () => undefined);
  await changeAndWait(guard.opsUrl, 'persistentvolumeclaims', async () => undefined);
}

const install = (major: HelmMajor, keep: boolean) =>
  helm(
    ['install', 'taken', CHART, '-n', NS, '--take-ownership', major === 4 ? '--rollback-on-failure' : '--atomic', '--wait', '--timeout', '8s', '--set', `keep=${keep}`],
    { major },
  );

/**
 * The admission warnings Helm printed, joined into one text: Helm 3 and 4 print each warning line apart (klog's
 * `warnings.go:107] "Warning: …"`), so a sentence the webhook wrapped spans several of them.
 */
function warningText(result: { stdout: string; stderr: string }): string {
  const lines = [...`${result.stdout}\n${result.stderr}`.matchAll(/"Warning: (.*)"\s*$/gm)].map((match) => match[1] ?? '');
  return lines.join(' ').replace(/\s+/g, ' ');
}

const deletionOf = () => kubectl(['get', 'pvc', 'app-data', '-n', NS, '-o', 'jsonpath={.metadata.deletionTimestamp}']);

describe('helm install --take-ownership --atomic of a PVC in use', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
  });

  afterAll(async () => {
    await helm(['uninstall', 'taken', '-n', NS]);
    await kubectl(['delete', 'pod', 'legacy-app', '-n', NS, '--grace-period=0', '--force']);
    await deleteObjects(['pvc', '--all', '-n', NS], ['pv', PV], ['node', NODE]);
  });

  for (const major of [3, 4] as const) {
    it(`Helm ${major}: warned that a failed --atomic install deletes it, and it does`, async () => {
      await runningApp();
      const failed = await install(major, false);
      expect(failed.code).not.toBe(0);
      expect(failed.stderr).not.toContain('denied the request');
      const output = warningText(failed);
      expect(output).toContain('this install takes it over (--take-ownership), data and all');
      expect(output).toContain('at once if this install fails under --atomic (Helm 4: --rollback-on-failure)');
      expect(output).toContain('unless the chart marks it helm.sh/resource-policy: keep');
      // The uninstall deleted it: pvc-protection holds it while legacy-app mounts it, then it goes.
      const deleting = await eventually(deletionOf, (r) => r.code !== 0 || r.stdout !== '', 30_000);
      expect(deleting.code !== 0 || deleting.stdout !== '').toBe(true);
    }, 120_000);
  }

  it('Helm 3: with the PVC kept by the chart, nothing is said of it and the failed install leaves it', async () => {
    await runningApp();
    const failed = await install(3, true);
    expect(failed.code).not.toBe(0);
    const output = warningText(failed);
    expect(output).toContain('this install takes it over (--take-ownership), data and all');
    expect(output).not.toContain('fails under --atomic');
    const after = await must(deletionOf(), 'the kept PVC');
    expect(after.stdout).toBe('');
  }, 120_000);
});

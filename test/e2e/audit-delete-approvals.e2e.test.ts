// `volume-guard audit` lists the delete approvals (`volume-guard.io/delete`) that the pvc-delete validator honors on
// PVs and Longhorn volumes, as it lists those on PVCs, and a StatefulSet's skip (read at its CREATE only): written
// with real kubectl, read back by the real CLI from the real API server, honored or not as the webhook would.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, paths, run, type CommandResult } from '../harness/cluster.ts';
import { apply, createLonghornVolume, csiVolumeSpec, deleteObjects, ensureNamespace, LONGHORN_NS, must, patchStatus, removeLeftoverPv } from '../harness/scenario.ts';
import type { AuditReport } from '../../src/audit/types.ts';

const NODE_BIN = join(paths.root, 'node_modules', '.bin', 'node');
const CLI = join(paths.root, 'src', 'cli.ts');
const PV = 'approvals-pv-released';
const VOLUME = 'approvals-vol-static';
const NS = 'e2e-approvals';

function audit(args: readonly string[]): Promise<CommandResult> {
  return run(NODE_BIN, [CLI, 'audit', '--kubeconfig', paths.kubeconfig, ...args]);
}

beforeAll(async () => {
  await ensureNamespace(LONGHORN_NS);
  await removeLeftoverPv(PV);
  await apply({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: PV },
    spec: { ...csiVolumeSpec(PV, 'Retain', 'standard'), claimRef: { namespace: 'gone', name: 'gone-data', uid: '4b0c1c52-0000-4000-8000-000000000001' } },
  });
  await patchStatus('pv', PV, { phase: 'Released' });
  await createLonghornVolume({ name: VOLUME, state: 'detached', replicas: [] });
}, 120_000);

afterAll(async () => {
  await deleteObjects(['pv', PV], ['volumes.longhorn.io', VOLUME, '-n', LONGHORN_NS], ['statefulset', 'db', '-n', NS]);
});

describe('audit lists delete approvals on PVs and Longhorn volumes', { timeout: 120_000 }, () => {
  it('lists each with its writer and reason, honored; and one whose expiry passed as not honored', async () => {
    // Written as the webhook requires (the override guard refuses them without skip-by naming the writer).
    await must(kubectl(['annotate', 'pv', PV, 'volume-guard.io/delete=true', 'volume-guard.io/skip-reason=old backup volume', 'volume-guard.io/skip-by=admin']), 'approve PV');
    await must(
      kubectl([
        'annotate', 'volumes.longhorn.io', VOLUME, '-n', LONGHORN_NS, 'volume-guard.io/delete=true', 'volume-guard.io/skip-by=admin',
        'volume-guard.io/skip-until=2026-01-01T00:00:00Z',
      ]),
      'approve Longhorn volume',
    );
    const result = await audit(['-o', 'json']);
    expect([0, 1], result.stderr).toContain(result.code);
    const report = JSON.parse(result.stdout) as AuditReport;
    const pv = report.overrides.find((o) => o.object.kind === 'PersistentVolume' && o.object.name === PV);
    expect(pv).toMatchObject({ field: 'annotation', key: 'volume-guard.io/delete', value: 'true', checks: ['pvc-delete'], writer: 'admin', reason: 'old backup volume' });
    expect(pv!.appliesTo).toMatch(/reclaim policy to Delete or Recycle/);
    const volume = report.overrides.find((o) => o.object.kind === 'Volume' && o.object.name === VOLUME);
    expect(volume).toMatchObject({ object: { namespace: LONGHORN_NS }, key: 'volume-guard.io/delete', checks: [], writer: 'admin', until: '2026-01-01T00:00:00Z' });
    expect(volume!.effect).toMatch(/^not honored: expired at 2026-01-01/);
    expect(report.summary.overrides).toBe(report.overrides.length);

    const table = await audit([]);
    expect(table.stdout).toContain(`PV ${PV}: annotation volume-guard.io/delete=true (reason: old backup volume; by admin)`);
    expect(table.stdout).toContain(`Volume ${VOLUME}: annotation volume-guard.io/delete=true`);
  });

  it("lists a StatefulSet's skip (read at its CREATE only) as waiving nothing now", async () => {
    await ensureNamespace(NS);
    await apply({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: NS, annotations: { 'volume-guard.io/skip': 'orphan-pvc', 'volume-guard.io/skip-reason': 'restore' } },
      spec: {
        replicas: 0,
        serviceName: 'db',
        selector: { matchLabels: { app: 'approvals-db' } },
        template: { metadata: { labels: { app: 'approvals-db' } }, spec: { containers: [{ name: 'db', image: 'registry.invalid/db:1' }] } },
      },
    });
    const report = JSON.parse((await audit(['-o', 'json'])).stdout) as AuditReport;
    const skip = report.overrides.find((o) => o.object.kind === 'StatefulSet' && o.object.name === 'db' && o.object.namespace === NS);
    expect(skip).toMatchObject({ key: 'volume-guard.io/skip', value: 'orphan-pvc', checks: [], reason: 'restore' });
    expect(skip!.effect).toMatch(/^not honored: read only when the StatefulSet is created/);
  });

  it('drops them from the listing once removed', async () => {
    await must(kubectl(['annotate', 'pv', PV, 'volume-guard.io/delete-', 'volume-guard.io/skip-reason-', 'volume-guard.io/skip-by-']), 'remove');
    const report = JSON.parse((await audit(['-o', 'json'])).stdout) as AuditReport;
    expect(report.overrides.some((o) => o.object.name === PV)).toBe(false);
    expect(report.overrides.some((o) => o.object.name === VOLUME)).toBe(true);
  });
});

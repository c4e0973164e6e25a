// Issue 15: a refused cordon lists a few objects per check and takes the rest from counts the model keeps on every
// watch event (last copies, single-replica and unhealthy volumes per node, bound PVs pinned per node). Through the
// real API server and kubectl, the cluster changes under it (a node goes NotReady past the grace, volumes and PVs
// are deleted, the node comes back) and after each change the cordon's totals must equal what the audit, which
// walks every object, finds for that node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, paths } from '../harness/cluster.ts';
import {
  createBoundLocalVolume,
  createLonghornVolume,
  deleteObjects,
  ensureNamespace,
  eventually,
  LONGHORN_NS,
  must,
  patchStatus,
  readyLonghornNodes,
  setNodeReady,
} from '../harness/scenario.ts';
import { runAudit } from '../support/cli.ts';
import type { CheckId } from '../../src/checks/types.ts';

const NS = 'cc-e2e';
const NODE = 'cc-n1';
const OTHER = 'cc-n2';
const VOLUMES = 15;
const PVS = 14;

/** Per check, the total a refused dry-run cordon of NODE states in its `[check] N ...` lines (none: allowed). */
async function cordonTotals(): Promise<Partial<Record<CheckId, number>>> {
  const result = await kubectl(['cordon', NODE, '--dry-run=server']);
  const totals: Partial<Record<CheckId, number>> = {};
  for (const match of result.stderr.matchAll(/^\[([a-z-]+)\] (\d+) /gm)) totals[match[1] as CheckId] = Number(match[2]);
  return totals;
}

/**
 * Per check, how many findings `volume-guard audit --node NODE` lists under the cordon (it walks every object, uncapped;
 * what only the node's removal or a Node DELETE is refused for, such as a Released PV, is listed under those).
 */
async function auditTotals(): Promise<Partial<Record<CheckId, number>>> {
  const result = await runAudit(['--node', NODE, '--output', 'json'], { kubeconfig: paths.kubeconfig, timeoutMs: 90_000 });
  const report = JSON.parse(result.stdout) as { findings: { check: CheckId; operation: string }[] };
  const totals: Partial<Record<CheckId, number>> = {};
  for (const finding of report.findings) {
    if (finding.operation === `cordon/drain of node ${NODE}`) totals[finding.check] = (totals[finding.check] ?? 0) + 1;
  }
  return totals;
}

/** Waits until the cordon states `expected`, then checks the audit agrees. */
async function expectTotals(expected: Partial<Record<CheckId, number>>): Promise<void> {
  const seen = await eventually(cordonTotals, (totals) => JSON.stringify(totals) === JSON.stringify(expected), 30_000);
  expect(seen).toEqual(expected);
  expect(await auditTotals()).toEqual(expected);
}

describe('a refused cordon counts what it does not list, following the cluster', () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await ensureNamespace(NS);
    await readyLonghornNodes([NODE, OTHER]);
    // Two copies each, one on each node: no risk while both nodes are up.
    for (let i = 0; i < VOLUMES; i++) {
      await createLonghornVolume({ name: `cc-vol-${String(i).padStart(2, '0')}`, replicas: [{ node: NODE }, { node: OTHER }] });
    }
    for (let i = 0; i < PVS; i++) {
      await createBoundLocalVolume({ pv: `cc-pv-${String(i).padStart(2, '0')}`, node: NODE, namespace: NS, claim: `data-${i}` });
    }
  });

  afterAll(async () => {
    await deleteObjects(
      ['pvc', '--all', '-n', NS],
      ['pv', ...Array.from({ length: PVS }, (_, i) => `cc-pv-${String(i).padStart(2, '0')}`)],
      ['replicas.longhorn.io', '-l', 'longhornvolume', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', '--all', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', NODE, OTHER, '-n', LONGHORN_NS],
      ['node', NODE, OTHER],
    );
  });

  it('totals past the listing match the audit as a node goes down, objects go away and the node comes back', async () => {
    await expectTotals({ 'node-local-volume': PVS });

    // The other node NotReady for an hour: its copies are gone, every volume's last copy is on NODE.
    await setNodeReady(OTHER, 'False');
    await expectTotals({ 'single-replica': VOLUMES, 'last-replica-on-node': VOLUMES, 'node-local-volume': PVS });

    // Some volumes deleted; three claims deleted, two of their PVs too, the third left Released (bound to nothing):
    // the counts follow.
    await must(kubectl(['delete', 'volumes.longhorn.io', '-n', LONGHORN_NS, 'cc-vol-00', 'cc-vol-07', 'cc-vol-14']), 'delete volumes');
    await must(kubectl(['delete', 'pvc', '-n', NS, 'data-3', 'data-4', 'data-5', '--wait=false']), 'delete claims');
    await must(kubectl(['delete', 'pv', 'cc-pv-03', 'cc-pv-04', '--wait=false']), 'delete PVs');
    await patchStatus('pv', 'cc-pv-05', { phase: 'Released' });
    await expectTotals({ 'single-replica': VOLUMES - 3, 'last-replica-on-node': VOLUMES - 3, 'node-local-volume': PVS - 3 });

    // A replica on NODE fails: that volume has no copy left at all, still data on NODE, and is unhealthy.
    await must(
      kubectl(['patch', 'replicas.longhorn.io', 'cc-vol-01-r-0', '-n', LONGHORN_NS, '--type=merge', '-p', JSON.stringify({ spec: { failedAt: '2026-01-02T00:00:00Z' } })]),
      'fail a replica',
    );
    await patchStatus('volumes.longhorn.io', 'cc-vol-01', { robustness: 'faulted' }, LONGHORN_NS);
    const counted = await eventually(cordonTotals, (totals) => totals['last-replica-on-node'] === VOLUMES - 4, 30_000);
    expect(counted).toEqual(await auditTotals());

    // The other node back: only the faulted volume is left of the Longhorn risks.
    await setNodeReady(OTHER, 'True', new Date().toISOString());
    const back = await eventually(cordonTotals, (totals) => totals['last-replica-on-node'] === undefined, 30_000);
    expect(back['node-local-volume']).toBe(PVS - 3);
    expect(back).toEqual(await auditTotals());
  });
});

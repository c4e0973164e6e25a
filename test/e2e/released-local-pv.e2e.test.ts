// A local PV whose claim is deleted under reclaim policy Retain, through the real API server and the real PV
// controller (kube-controller-manager): the PV turns Released and keeps its data on the node for an admin to re-bind.
// A cordon of the node moves nothing of it and passes; `kubectl delete node` removes the node with its disks and is
// refused, naming the PV and its deleted claim.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/cluster.ts';
import { createBoundLocalVolume, createNode, deleteObjects, ensureNamespace, eventually, must } from '../harness/scenario.ts';

const NS = 'e2e-released-local';
const NODE = 'rl-node';
const PV = 'rl-pv';
const CLAIM = 'rl-data';

describe('a Released local PV kept by reclaim policy Retain', () => {
  beforeAll(async () => {
    await ensureNamespace(NS);
    await createNode(NODE);
    await createBoundLocalVolume({ pv: PV, node: NODE, namespace: NS, claim: CLAIM });
    await must(kubectl(['delete', 'pvc', CLAIM, '-n', NS, '--timeout=60s']), 'delete the claim');
    const phase = await eventually(() => kubectl(['get', 'pv', PV, '-o', 'jsonpath={.status.phase}']), (r) => r.stdout === 'Released', 60_000);
    expect(phase.stdout).toBe('Released');
  }, 120_000);

  afterAll(async () => {
    await deleteObjects(['pv', PV], ['node', NODE]);
  });

  it('kubectl delete node is refused, naming the PV and the claim whose data it keeps', async () => {
    const refused = await eventually(() => kubectl(['delete', 'node', NODE, '--dry-run=server']), (r) => r.code !== 0);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('[node-local-volume]');
    expect(refused.stderr).toContain(`PV ${PV} (PVC ${NS}/${CLAIM}): local PV keeps the data of its deleted claim on node ${NODE} only (Released, reclaim policy Retain)`);
    expect(refused.stderr).toContain('The node is removed, not only emptied');
  });

  it('a cordon of the node passes: nothing of it moves', async () => {
    const cordoned = await kubectl(['cordon', NODE, '--dry-run=server']);
    expect(cordoned.code, cordoned.stderr).toBe(0);
    expect(cordoned.stderr).not.toContain('denied');
  });
});

// A Longhorn volume whose numberOfReplicas was lowered to 1 keeps its extra healthy replicas (longhorn-manager's
// cleanupExtraHealthyReplicas deletes one only for replica auto-balance, data locality or an eviction). With copies
// on two nodes, the cordon of one of them is no risk to it and passes; an upgrade rolling every node is still
// refused, saying where its copies are. Through the real API server with the real kubectl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, tempFile } from '../harness/cluster.ts';
import { createLonghornVolume, deleteObjects, ensureNamespace, eventually, LONGHORN_NS, readyLonghornNodes } from '../harness/scenario.ts';

const NODES = ['lr-n1', 'lr-n2'];
const HARVESTER_NS = 'harvester-system';

async function upgradeDryRun() {
  const upgrade = { apiVersion: 'harvesterhci.io/v1beta1', kind: 'Upgrade', metadata: { name: 'lr-upgrade', namespace: HARVESTER_NS }, spec: { version: 'v1.5.0' } };
  const file = await tempFile('lr-upgrade.json', JSON.stringify(upgrade));
  return kubectl(['create', '-f', file, '--dry-run=server']);
}

describe('numberOfReplicas lowered to 1, copies on two nodes', () => {
  beforeAll(async () => {
    await ensureNamespace(LONGHORN_NS);
    await ensureNamespace(HARVESTER_NS);
    await readyLonghornNodes(NODES);
    await createLonghornVolume({
      name: 'lr-lowered',
      numberOfReplicas: 1,
      replicas: [{ node: 'lr-n1' }, { node: 'lr-n2' }],
      claim: { namespace: 'shop', name: 'lowered-data' },
    });
    // Written last: once lr-n1's cordon is refused for it, the model holds lr-lowered and its replicas too.
    await createLonghornVolume({ name: 'lr-one', numberOfReplicas: 1, replicas: [{ node: 'lr-n1' }] });
  });

  afterAll(async () => {
    for (const node of NODES) await kubectl(['uncordon', node]);
    await deleteObjects(
      ['replicas.longhorn.io', '-l', 'longhornvolume in (lr-lowered,lr-one)', '-n', LONGHORN_NS],
      ['volumes.longhorn.io', 'lr-lowered', 'lr-one', '-n', LONGHORN_NS],
      ['nodes.longhorn.io', ...NODES, '-n', LONGHORN_NS],
      ['node', ...NODES],
    );
  });

  it('the cordon of either copy node is no risk to it: lr-n2 passes, lr-n1 is refused for its one-copy volume only', async () => {
    const first = await eventually(() => kubectl(['cordon', 'lr-n1', '--dry-run=server']), (r) => r.stderr.includes('lr-one'));
    expect(first.stderr).toContain('admission webhook "node-cordon.volume-guard.io" denied the request');
    expect(first.stderr).not.toContain('lr-lowered');
    const second = await kubectl(['cordon', 'lr-n2']);
    expect(second.stderr).not.toContain('denied');
    expect((await kubectl(['get', 'node', 'lr-n2', '-o', 'jsonpath={.spec.unschedulable}'])).stdout).toBe('true');
  });

  it('an upgrade is refused, naming where its copies are', async () => {
    const upgrade = await eventually(upgradeDryRun, (r) => r.stderr.includes('lr-lowered'));
    expect(upgrade.code).not.toBe(0);
    expect(upgrade.stderr).toContain('[single-replica]');
    expect(upgrade.stderr).toContain('numberOfReplicas is 1, copies now on node lr-n1, lr-n2: Longhorn replaces none that fails');
    // lr-lowered has two copies, lr-one a single one: the summary is true of both.
    expect(upgrade.stderr).toContain('[single-replica] 2 Longhorn volumes have a single copy of their data or numberOfReplicas 1');
    expect(upgrade.stderr).toContain('a copy lost while nodes restart is not rebuilt');
  });
});

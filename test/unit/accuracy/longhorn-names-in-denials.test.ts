// Seed 002 with the names Longhorn really gives (a volume `pvc-<uuid>`, replicas `<volume>-r-<hex>`, disks by UUID):
// a volume-health line then runs past the line width, and the refusal must still name the PVC, the name the operator
// knows (the volume's is a UUID), and the whole reason: the line is wrapped, not cut.
import { expect, it } from 'vitest';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { MAX_LINE_LENGTH } from '../../../src/admission/messages.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, harvesterUpgradeRequest } from '../../support/admission.ts';
import { longhornNode, node, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();
const VOLUME = 'pvc-3f1c2a9e-8b7d-4c6e-9a1f-2b3c4d5e6f70';
const NODES = ['worker-1', 'worker-2', 'worker-3'];
const diskOf = (name: string) => `a1b2c3d4-0000-4000-8000-${name.padStart(12, '0')}`;

/** worker-3's disk was reformatted: its replica is stopped on a disk UUID Longhorn no longer has there. */
function reformattedDisk(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of NODES) {
    model.upsert('node', node({ name }));
    model.upsert('longhornNode', longhornNode({ name, diskUUIDs: [diskOf(name)] }));
  }
  model.upsert('longhornVolume', volume({ name: VOLUME, pvName: VOLUME, pvcNamespace: 'shop', pvcName: 'data-postgres-0', currentNodeID: 'worker-1', robustness: 'degraded' }));
  for (const [index, name] of NODES.entries()) {
    model.upsert(
      'longhornReplica',
      replica({
        name: `${VOLUME}-r-${['1a2b3c4d', '5e6f7a8b', '9c0d1e2f'][index]}`,
        volumeName: VOLUME,
        nodeID: name,
        diskID: name === 'worker-3' ? '7e5d4c3b-1111-4222-8333-944455566677' : diskOf(name),
        ...(name === 'worker-3' ? { currentState: 'stopped' } : {}),
      }),
    );
  }
  return model;
}

it('a Harvester upgrade refused for a reformatted disk names the PVC, lines within the width', () => {
  const decision = upgradeValidator(config).handle(harvesterUpgradeRequest(), context(reformattedDisk()));
  expect(decision.allowed).toBe(false);
  const message = decision.status?.message ?? '';
  const lines = message.split('\n');
  const first = lines.findIndex((text) => text.startsWith(`  Volume longhorn-system/${VOLUME}`));
  expect(first).toBeGreaterThanOrEqual(0);
  // The object's line and its continuations (indented deeper), each within the width.
  const end = lines.findIndex((text, index) => index > first && !text.startsWith('    '));
  const objectText = lines.slice(first, end).map((text) => text.trim()).join(' ');
  expect(end - first).toBeGreaterThan(1);
  for (const text of lines.slice(first, end)) expect(text.length).toBeLessThanOrEqual(MAX_LINE_LENGTH + 2);
  expect(objectText).toContain('PVC shop/data-postgres-0');
  expect(objectText).toContain(`${VOLUME}-r-9c0d1e2f`);
  expect(objectText).toContain('7e5d4c3b-1111-4222-8333-944455566677');
  expect(objectText).not.toContain('…');
  // The reason names the stopped replica already: the wrapped line does not name it again among the related objects.
  expect(objectText).not.toContain(`Replica longhorn-system/${VOLUME}-r-`);
});

it('so does the cordon of a node holding one of its copies', () => {
  const decision = nodeCordonValidator(config).handle(cordonRequest('worker-2'), context(reformattedDisk()));
  expect(decision.allowed).toBe(false);
  expect(decision.status?.message).toContain('PVC shop/data-postgres-0');
  expect(decision.status?.message).toContain('7e5d4c3b-1111-4222-8333-944455566677');
});

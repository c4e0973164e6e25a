// A degraded volume's healthy replica on a node that is down is no copy while another node up holds one: cordoning
// the dead node (the routine fix) takes nothing. With no copy on a node that is up, the down nodes' replicas are what
// is left to salvage from, and their nodes still count.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { healthyCopyNodes, VOLUME_COUNTS, VOLUME_HEALTH_COUNT, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { collectVolumeHealth } from '../../../src/checks/volume-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest } from '../../support/admission.ts';
import { longhornNode, node, pv, volumeWithReplicas } from '../../support/fixtures.ts';

const config = defaultConfig();

function cluster(down: readonly string[], counted = true): ClusterModel {
  const model = counted ? new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS }) : new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  for (const name of ['node-1', 'node-2', 'node-3']) {
    model.upsert('node', down.includes(name) ? node({ name, ready: 'Unknown', readySince: Date.now() - 3_600_000 }) : node({ name }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  const { volume, replicas } = volumeWithReplicas('v', ['node-1', 'node-2']);
  model.upsert('longhornVolume', { ...volume, robustness: 'degraded' });
  for (const replica of replicas) model.upsert('longhornReplica', replica);
  model.upsert('persistentVolume', pv({ name: 'v' }));
  return model;
}

describe('volume-health at a cordon of a node that is down', () => {
  it('passes the cordon of the dead node when the live copy is on another node', () => {
    const model = cluster(['node-2']);
    expect(model.volumeCount(VOLUME_HEALTH_COUNT, 'node-2')).toBe(0);
    expect(nodeCordonValidator(config).handle(cordonRequest('node-2'), context(model)).allowed).toBe(true);
  });

  it('still refuses the cordon of the node holding the live copy', () => {
    const decision = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(cluster(['node-2'])));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('volume-health');
  });

  it('counts the down nodes when no node up holds a copy (what is left to salvage from)', () => {
    const model = cluster(['node-1', 'node-2']);
    expect(model.volumeCount(VOLUME_HEALTH_COUNT, 'node-2')).toBe(1);
    expect(nodeCordonValidator(config).handle(cordonRequest('node-2'), context(model)).allowed).toBe(false);
  });

  it('a snapshot keeping no count walks to the same answer', () => {
    for (const [down, node, found] of [[['node-2'], 'node-2', 0], [['node-2'], 'node-1', 1], [['node-1', 'node-2'], 'node-2', 1]] as const) {
      expect(collectVolumeHealth(cluster(down, false), { node }).findings.length, `${down.join(',')} down, cordon ${node}`).toBe(found);
    }
  });

  it('healthyCopyNodes: nodes up first, the down ones only when none is up', () => {
    const { replicas } = volumeWithReplicas('w', ['a', 'b', 'b']);
    expect(healthyCopyNodes(replicas, (name) => name !== 'b')).toEqual(['a']);
    expect(healthyCopyNodes(replicas, () => false)).toEqual(['a', 'b']);
  });
});

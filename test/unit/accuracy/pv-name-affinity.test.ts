// A local PV's node affinity is matched by the scheduler's volume binding and by the kubelet against a Node made
// of the node's labels only (storage helpers' CheckNodeAffinity): a `metadata.name` term never lets a PV onto a
// node. A PV "hostname In [w1] OR metadata.name In [w2]" mounts on w1 only: its data is pinned there.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformNode, transformPersistentVolume } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest } from '../../support/admission.ts';
import { pvc } from '../../support/fixtures.ts';

function cluster(fieldTerm: { operator: string; values: string[] }): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  for (const name of ['w1', 'w2']) model.upsert('node', transformNode({ metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec: {} })!);
  const record = transformPersistentVolume({
    metadata: { name: 'pv-local' },
    spec: {
      local: { path: '/mnt/disks/a' },
      claimRef: { namespace: 'default', name: 'data' },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['w1'] }] },
            { matchFields: [{ key: 'metadata.name', ...fieldTerm }] },
          ],
        },
      },
    },
    status: { phase: 'Bound' },
  })!;
  model.upsert('persistentVolume', record);
  model.upsert('persistentVolumeClaim', pvc({ name: 'data', volumeName: 'pv-local' }));
  return model;
}

describe('a PV affinity term on metadata.name', () => {
  it('never lets the PV onto the node it names: the cordon of the one node it mounts on is refused', () => {
    const model = cluster({ operator: 'In', values: ['w2'] });
    expect(model.persistentVolume('pv-local')?.pinnedNode).toBe('w1');
    const decision = nodeCordonValidator(defaultConfig()).handle(cordonRequest('w1'), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('pv-local');
  });

  it('with NotIn lets it onto every node: not pinned, the cordon passes', () => {
    const model = cluster({ operator: 'NotIn', values: ['w1'] });
    expect(model.persistentVolume('pv-local')?.pinnedNode).toBe('');
    expect(nodeCordonValidator(defaultConfig()).handle(cordonRequest('w1'), context(model)).allowed).toBe(true);
  });
});

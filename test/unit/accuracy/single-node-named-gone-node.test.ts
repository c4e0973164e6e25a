// node-local-volume's "cluster's only node" rule under node churn: node-1 already removed, a PV whose (open,
// matchFields) affinity names node-1 keeps its data on node-1 (named-node-open-affinity: judged at node-1's removal),
// not on node-2, now the cluster's only node.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformNode, transformPersistentVolume } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest } from '../../support/admission.ts';
import { pvc } from '../../support/fixtures.ts';

const config = defaultConfig();
const validator = nodeCordonValidator(config);

function node(name: string, created: string) {
  return transformNode({
    metadata: { name, creationTimestamp: created, labels: { 'kubernetes.io/hostname': name } },
    spec: {},
    status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: created }] },
  })!;
}

describe('node-1 removed; a PV whose open affinity names node-1, unused', () => {
  it('does not refuse the cordon of node-2, now the only node, over that PV', () => {
    const model = new ClusterModel(VOLUME_SETS);
    model.upsert('node', node('node-2', '2025-01-01T00:00:00Z'));
    model.upsert(
      'persistentVolume',
      transformPersistentVolume({
        metadata: { name: 'pv-a' },
        spec: {
          local: { path: '/mnt/disks/a' },
          persistentVolumeReclaimPolicy: 'Retain',
          claimRef: { namespace: 'default', name: 'data' },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-1'] }] }] } },
        },
        status: { phase: 'Bound' },
      })!,
    );
    model.upsert('persistentVolumeClaim', pvc({ name: 'data', volumeName: 'pv-a' }));
    const decision = validator.handle(cordonRequest('node-2'), context(model));
    expect(decision.status?.message ?? '').not.toContain('pv-a');
    expect(decision.allowed).toBe(true);
  });
});

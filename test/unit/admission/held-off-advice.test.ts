// A last copy whose volume's other healthy replicas sit on nodes that are out of service. The fix says
// "uncordon <node>" for every such node, but only a cordoned node is brought back by an uncordon: a node whose Cluster
// API Machine is being deleted, one an autoscaler is removing (its ToBeDeletedByClusterAutoscaler taint), or one whose
// NoExecute taint deletes Longhorn's instance-manager pod is not cordoned at all, and `kubectl uncordon` there changes
// nothing (kubectl's cordon helper: spec.unschedulable is already false, "already uncordoned").
import { describe, expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import type { Decision } from '../../../src/admission/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { NodeRecord } from '../../../src/cluster/records.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest } from '../../support/admission.ts';
import { longhornNode, machine, namespace, node, volumeWithReplicas } from '../../support/fixtures.ts';

const cordon = createValidators(defaultConfig()).find((v) => v.declaration.target === 'node-cordon')!;

/** vol-a has healthy replicas on node-1 and node-2; node-3 takes replicas. node-2 is as given. */
function cluster(node2: Partial<NodeRecord>, extra?: (model: ClusterModel) => void): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  model.upsert('namespace', namespace({ name: 'default' }));
  model.upsert('node', node({ name: 'node-1' }));
  model.upsert('node', node({ name: 'node-2', ...node2 }));
  model.upsert('node', node({ name: 'node-3' }));
  const lh = volumeWithReplicas('vol-a', ['node-1', 'node-2']);
  model.upsert('longhornVolume', lh.volume);
  for (const r of lh.replicas) model.upsert('longhornReplica', r);
  for (const n of ['node-1', 'node-2', 'node-3']) model.upsert('longhornNode', longhornNode({ name: n }));
  extra?.(model);
  return model;
}

const fix = (decision: Decision): string => {
  expect(decision.allowed).toBe(false);
  const text = (decision.status?.message ?? '').replace(/\s+/g, ' ');
  return text.slice(text.indexOf('Fix:'), text.indexOf('Override'));
};

describe('the fix of a last copy whose other copies are on out-of-service nodes', () => {
  it('advises uncordoning node-2 when node-2 is cordoned (what works there)', () => {
    expect(fix(cordon.handle(cordonRequest('node-1'), context(cluster({ unschedulable: true }))))).toContain('uncordon node-2');
  });

  it('does not advise uncordoning node-2 whose Machine is being deleted (it is not cordoned)', () => {
    const model = cluster({}, (m) => m.upsert('machine', machine({ name: 'm2', nodeName: 'node-2', deleting: true })));
    expect(model.node('node-2')!.unschedulable).toBe(false);
    expect(fix(cordon.handle(cordonRequest('node-1'), context(model)))).not.toContain('uncordon node-2');
  });

  it('does not advise uncordoning node-2 that an autoscaler is removing (its taint stays; uncordon does nothing)', () => {
    const model = cluster({
      unschedulable: true,
      leaving: true,
      cordoned: false,
      drainTaints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1733130000', effect: 'NoSchedule' }],
    });
    expect(fix(cordon.handle(cordonRequest('node-1'), context(model)))).not.toContain('uncordon node-2');
  });

  it('does not advise uncordoning node-2 whose NoExecute taint stops its replica (it is not cordoned)', () => {
    const model = cluster({ taints: [{ key: 'maint', value: '', effect: 'NoExecute' }] });
    const text = fix(cordon.handle(cordonRequest('node-1'), context(model)));
    expect(text).not.toContain('uncordon node-2');
  });
});

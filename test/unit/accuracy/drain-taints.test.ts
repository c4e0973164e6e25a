// cluster-autoscaler and Karpenter take a node out without cordoning it: they taint it (ToBeDeletedByClusterAutoscaler,
// karpenter.sh/disrupted), evict its pods through the eviction API, then delete the node and its machine. The taint
// itself is judged like a cordon; once it is on the node (written before volume-guard ran, or with an override since
// removed), every eviction there is a step of that drain and gets the node-wide checks, as on a cordoned node.
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformNode } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, evictionRequest } from '../../support/admission.ts';
import { localPV, pod, pvc } from '../../support/fixtures.ts';

const config = defaultConfig();

function nodeWith(taints: unknown[], unschedulable = false) {
  const record = transformNode({ metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } }, spec: { taints, unschedulable } });
  if (record === undefined) throw new Error('node not read');
  return record;
}

/** node-1 holds an unused local PV; web-1, a pod with no data of its own, runs there. */
function cluster(taints: unknown[]) {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('node', nodeWith(taints));
  model.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'node-1', claimName: 'db-data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-local' }));
  model.upsert('pod', pod({ name: 'web-1', nodeName: 'node-1', controllerKind: 'ReplicaSet' }));
  return model;
}

const evict = (taints: unknown[]) => podEvictionValidator(config).handle(evictionRequest('web-1'), context(cluster(taints)));

describe('autoscaler drain taints make a node one being drained', () => {
  it.each([
    [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1733130000', effect: 'NoSchedule' }],
    [{ key: 'karpenter.sh/disrupted', effect: 'NoSchedule' }],
    [{ key: 'karpenter.sh/disruption', value: 'disrupting', effect: 'NoSchedule' }],
  ])('%o: an eviction there gets the node-wide checks', (taint) => {
    expect(nodeWith([taint]).unschedulable).toBe(true);
    const decision = evict([taint]);
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('[node-local-volume]');
    expect(decision.status?.message).toContain('pv-local');
  });

  it('other taints (a dedicated pool, the soft DeletionCandidateOfClusterAutoscaler) leave the node schedulable', () => {
    for (const taint of [
      { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' },
      { key: 'DeletionCandidateOfClusterAutoscaler', value: '1733130000', effect: 'PreferNoSchedule' },
    ]) {
      expect(nodeWith([taint]).unschedulable).toBe(false);
      expect(evict([taint]).allowed).toBe(true);
    }
    expect(nodeWith([], true).unschedulable).toBe(true);
  });
});

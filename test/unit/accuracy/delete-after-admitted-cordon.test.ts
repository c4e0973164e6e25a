// `kubectl drain --disable-eviction` (staging/src/k8s.io/kubectl/pkg/drain: RunCordonOrUncordon, then
// deleteOrEvictPods with DeletePod) PATCHes the node's cordon and, as soon as the API server answers, lists the node's
// pods and DELETEs them. volume-guard's informers show the cordon within a second; a DELETE that reaches it before
// then found the node schedulable and passed as a restart. A cordon volume-guard has just admitted counts as the node
// cordoned (ClusterSnapshot.nodeCordoned, as for evictions): the DELETE is judged as on a node being drained.
// Where it matters: Longhorn's node-drain-policy `block-for-eviction` lets the cordon through (Longhorn moves the last
// copies while its PodDisruptionBudgets hold the drain's evictions), but a DELETE goes past every
// PodDisruptionBudget: the pod holding the only copy must stay refused.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podDeleteValidator } from '../../../src/admission/validators/pod-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, cordonRequest, statefulSetPodDeleteRequest } from '../../support/admission.ts';
import { longhornNode, longhornSetting, node, pod, pv, pvc, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();

/** w1 holds the only replica of the attached volume `live` (claim app/db) that pod app/db-0 on w1 uses. */
function cluster(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.setLonghornInstalled(true);
  m.replaceAll('longhornNode', ['w1', 'w2'].map((name) => longhornNode({ name })));
  for (const name of ['w1', 'w2']) m.upsert('node', node({ name }));
  m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
  m.upsert('longhornVolume', volume({ name: 'live', numberOfReplicas: 1, currentNodeID: 'w1', pvName: 'live', pvcNamespace: 'app', pvcName: 'db' }));
  m.upsert('longhornReplica', replica({ volumeName: 'live', nodeID: 'w1' }));
  m.upsert('persistentVolume', pv({ name: 'live', claimNamespace: 'app', claimName: 'db' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: 'app', name: 'db', volumeName: 'live' }));
  m.upsert('pod', pod({ namespace: 'app', name: 'db-0', nodeName: 'w1', controllerKind: 'StatefulSet', claimNames: ['db'] }));
  return m;
}

const drainDelete = () => statefulSetPodDeleteRequest({ namespace: 'app', name: 'db-0', statefulSet: 'db', node: 'w1', claims: ['db'], user: ADMIN });

describe('a drain DELETE right after an admitted cordon the informers do not show yet', () => {
  it('is judged as on the node being drained: refused for the only copy Longhorn would move through evictions', () => {
    const m = cluster();
    // The cordon passes under block-for-eviction; the server records the admitted cordon (ValidationContext.cordoning).
    expect(nodeCordonValidator(config).handle(cordonRequest('w1'), context(m)).allowed).toBe(true);
    m.allowCordon('w1');
    expect(m.node('w1')?.unschedulable).toBe(false);
    const decision = podDeleteValidator(config).handle(drainDelete(), context(m));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('app/db');
  });

  it('as it is once the informers show the node cordoned', () => {
    const m = cluster();
    m.upsert('node', node({ name: 'w1', unschedulable: true }));
    expect(podDeleteValidator(config).handle(drainDelete(), context(m)).allowed).toBe(false);
  });

  it('with no cordon admitted, the DELETE of a pod on a schedulable node is a restart and passes', () => {
    expect(podDeleteValidator(config).handle(drainDelete(), context(cluster())).allowed).toBe(true);
  });
});

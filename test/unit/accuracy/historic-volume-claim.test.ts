// Longhorn keeps status.kubernetesStatus.{namespace,pvcName} after the claim is gone and marks it historic
// with lastPVCRefAt (controller/kubernetes_pv_controller.go: "PVC is no longer bound with PV. indicate historic data by
// setting <LastPVCRefAt>"). volume-guard reads the claim as current.
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformLonghornVolume } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, evictionRequest, request } from '../../support/admission.ts';
import { longhornNode, namespace, node, pod, replica } from '../../support/fixtures.ts';

const SKIP_A = { 'volume-guard.io/skip-evictions': '*', 'volume-guard.io/skip-reason': 'team A backed up', 'volume-guard.io/skip-by': 'admin' };

/** A Released, Retained Longhorn volume whose claim team-a/db was deleted: Longhorn's status as it leaves it. */
const retained = {
  apiVersion: 'longhorn.io/v1beta2',
  kind: 'Volume',
  metadata: { name: 'pvc-old', namespace: 'longhorn-system' },
  spec: { numberOfReplicas: 1 },
  status: {
    state: 'detached',
    robustness: 'unknown',
    currentNodeID: '',
    kubernetesStatus: { pvName: 'pvc-old', pvStatus: 'Released', namespace: 'team-a', pvcName: 'db', lastPVCRefAt: '2026-01-01T00:00:00Z' },
  },
};

describe('a historic claim (lastPVCRefAt set) is not the volume\'s claim', () => {
  it('the record names no claim', () => {
    const record = transformLonghornVolume(retained)!;
    expect(record.pvcName).toBe('');
  });

  it("team-a's skip-evictions does not waive the last copy of a retained volume no claim names", () => {
    const model = new ClusterModel(VOLUME_SETS);
    model.setLonghornInstalled(true);
    model.upsert('node', node({ name: 'node-1', unschedulable: true }));
    model.upsert('node', node({ name: 'node-2' }));
    model.upsert('namespace', namespace({ name: 'team-a', annotations: SKIP_A }));
    model.upsert('longhornNode', longhornNode({ name: 'node-1' }));
    model.upsert('longhornNode', longhornNode({ name: 'node-2' }));
    model.upsert('pod', pod({ namespace: 'team-a', name: 'a-web', nodeName: 'node-1', controllerKind: 'ReplicaSet' }));
    model.upsert('longhornVolume', transformLonghornVolume(retained)!);
    model.upsert('longhornReplica', replica({ volumeName: 'pvc-old', nodeID: 'node-1' }));
    const decision = podEvictionValidator(defaultConfig()).handle(evictionRequest('a-web', { namespace: 'team-a' }), context(model));
    // README: skip-evictions is "for that namespace's own data only ... volumes no claim names still refuse the eviction".
    expect(decision.allowed).toBe(false);
  });

  it("a GitOps prune of the retained volume names its PV, not the deleted claim", () => {
    const model = new ClusterModel(VOLUME_SETS);
    model.upsert('node', node({ name: 'node-1' }));
    model.upsert('longhornNode', longhornNode({ name: 'node-1' }));
    model.upsert('longhornVolume', transformLonghornVolume(retained)!);
    model.upsert('longhornReplica', replica({ volumeName: 'pvc-old', nodeID: 'node-1' }));
    const prune = request({
      kind: { group: 'longhorn.io', version: 'v1beta2', kind: 'Volume' },
      resource: { group: 'longhorn.io', version: 'v1beta2', resource: 'volumes' },
      operation: 'DELETE',
      namespace: 'longhorn-system',
      name: 'pvc-old',
      userInfo: { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] },
      oldObject: retained,
    });
    const decision = pvcDeleteValidator(defaultConfig()).handle(prune, context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('PV pvc-old loses its data');
    expect(decision.status?.message).not.toContain('team-a/db');
  });
});

// A pod whose controller reference is a Node but that carries no mirror annotation is no static
// pod's mirror: the kubelet recreates only the static pods of its manifests (their mirrors carry
// kubernetes.io/config.mirror), and no controller recreates a pod for a Node owner. kubectl drain's mirrorPodFilter reads
// the annotation only, so it evicts such a pod as a drain step; volume-guard passes it as "comes back to its node"
// without the node-wide checks a drain's eviction gets.
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformNode, transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, evictionRequest } from '../../support/admission.ts';
import { localPV, pvc } from '../../support/fixtures.ts';

const config = defaultConfig();

function model(annotations: Record<string, string>) {
  const m = new ClusterModel(VOLUME_SETS);
  m.upsert('node', transformNode({ metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } }, spec: { unschedulable: true }, status: { conditions: [{ type: 'Ready', status: 'True' }] } })!);
  m.upsert('persistentVolume', localPV({ name: 'pv-db', pinnedNode: 'node-1', claimName: 'db-data' }));
  m.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-db' }));
  m.upsert(
    'pod',
    transformPod({
      metadata: { name: 'agent', namespace: 'default', annotations, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'node-1', uid: 'n1', controller: true }] },
      spec: { nodeName: 'node-1', containers: [{ name: 'c', volumeMounts: [{ name: 'd', mountPath: '/d' }] }], volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'db-data' } }] },
      status: { phase: 'Running' },
    })!,
  );
  return m;
}

describe('a pod controlled by a Node without the mirror annotation, on a node being drained', () => {
  it('is judged as a drain step (its local PV stays on node-1)', () => {
    const decision = podEvictionValidator(config).handle(evictionRequest('agent'), context(model({})));
    expect(decision.allowed).toBe(false);
  });
  it('a real mirror pod still passes (control)', () => {
    const decision = podEvictionValidator(config).handle(evictionRequest('agent'), context(model({ 'kubernetes.io/config.mirror': 'abc' })));
    expect(decision.allowed).toBe(true);
  });
});

// Cilium's operator taints a node node.cilium.io/agent-not-ready:NoSchedule while its agent is not ready (each agent
// restart in a Cilium upgrade, each reboot) and removes it once it is: it moves nothing, so it is no drain. With
// NoExecute (as Cilium documents for some platforms) the taint manager deletes the pods: judged like any other.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { NODE_EMPTYING_CEL, nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { localPV, node, pod, pvc } from '../../support/fixtures.ts';

const config = defaultConfig();

function cluster(): ClusterModel {
  const model = new ClusterModel();
  model.upsert('node', node({ name: 'node-1' }));
  model.upsert('node', node({ name: 'node-2' }));
  model.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'node-1', claimName: 'db-data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-local' }));
  model.upsert('pod', pod({ name: 'db-0', nodeName: 'node-1', claimNames: ['db-data'] }));
  return model;
}

function tainted(effect: string): AdmissionRequest {
  const ready = { conditions: [{ type: 'Ready', status: 'True' }] };
  return request({
    kind: { group: '', version: 'v1', kind: 'Node' },
    resource: { group: '', version: 'v1', resource: 'nodes' },
    operation: 'UPDATE',
    name: 'node-1',
    userInfo: { username: 'system:serviceaccount:kube-system:cilium-operator', groups: ['system:serviceaccounts'] },
    object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, spec: { taints: [{ key: 'node.cilium.io/agent-not-ready', value: 'true', effect }] }, status: ready },
    oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, spec: {}, status: ready },
  });
}

describe("Cilium's agent-not-ready taint", () => {
  it('passes with NoSchedule on a node holding data, and the webhook is not even called for it', () => {
    const decision = nodeCordonValidator(config).handle(tainted('NoSchedule'), context(cluster()));
    expect(decision.allowed).toBe(true);
    expect(decision.status?.message ?? '').toBe('');
    expect(NODE_EMPTYING_CEL).toContain("'node.cilium.io/agent-not-ready'");
  });

  it('is judged with NoExecute: the taint manager deletes the pods', () => {
    const decision = nodeCordonValidator(config).handle(tainted('NoExecute'), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('pv-local');
  });
});

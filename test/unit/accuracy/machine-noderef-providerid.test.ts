// A Machine whose status.nodeRef is not set yet (the Machine controller sets it on a later reconcile, after the node
// joined) but whose spec.providerID names a Node that exists: Cluster API's reconcileDelete looks the Node up by that
// providerID (isDeleteNodeAllowed: "If we don't have a node reference, but a provider id has been set, try to retrieve
// the node one more time"), sets the nodeRef, drains the node and deletes it with the infrastructure machine. Its data
// goes; volume-guard reads only status.nodeRef and lets the DELETE through as "a Machine whose node never joined".
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { machineValidator } from '../../../src/admission/validators/machine.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformMachine, transformNode } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { localPV, pod, pvc } from '../../support/fixtures.ts';

const validator = machineValidator(defaultConfig());
const PROVIDER_ID = 'aws:///eu-west-1a/i-0123456789abcdef0';

const MACHINE = {
  apiVersion: 'cluster.x-k8s.io/v1beta2',
  kind: 'Machine',
  metadata: { name: 'md-0-x', namespace: 'capi', labels: { 'cluster.x-k8s.io/set-name': 'md-0-a', 'cluster.x-k8s.io/cluster-name': 'c1' } },
  spec: { clusterName: 'c1', providerID: PROVIDER_ID },
  status: {},
};

function cluster(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert(
    'node',
    transformNode({
      metadata: { name: 'ip-10-0-0-1', labels: { 'kubernetes.io/hostname': 'ip-10-0-0-1' } },
      spec: { providerID: PROVIDER_ID },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    })!,
  );
  model.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'ip-10-0-0-1', claimName: 'db-data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-local' }));
  model.upsert('pod', pod({ name: 'db-0', nodeName: 'ip-10-0-0-1', claimNames: ['db-data'] }));
  model.upsert('machine', transformMachine(MACHINE)!);
  return model;
}

const deleteMachine = (): AdmissionRequest =>
  request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
    operation: 'DELETE',
    namespace: 'capi',
    name: 'md-0-x',
    oldObject: MACHINE,
  });

describe('a Machine without status.nodeRef whose providerID names a live Node', () => {
  it('Cluster API finds the Node by providerID, drains and deletes it: the local PV there is at risk, refused', () => {
    const decision = validator.handle(deleteMachine(), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('pv-local');
  });
});

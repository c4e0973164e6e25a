// A KubeadmControlPlane replicas decrease deletes control-plane Machines, and with them their nodes and disks (on
// small clusters the control-plane nodes hold Longhorn replicas and local PVs too). Cluster API's KCP controller
// deletes one Machine at a time once those already being deleted are gone: the ones marked
// `cluster.x-k8s.io/delete-machine` first, else an outdated, unhealthy or the oldest one in the failure domain holding
// the most (selectMachineForScaleDown), never by name. The write is judged like a MachineDeployment's scale-down:
// every node that may go, narrowed to the marked Machines when they cover the removal.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { controlPlaneScaleDownCandidates, machineValidator } from '../../../src/admission/validators/machine.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { localPV, machine, node, pod, pvc } from '../../support/fixtures.ts';

const validator = machineValidator(defaultConfig());
const CP_LABEL = 'cp';

/** cp-1 on node-1 holds a local PV in use by db-0; cp-2 and cp-3 hold nothing. `marked`: Machines marked for deletion. */
function cluster(marked: readonly string[] = []): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  for (const name of ['node-1', 'node-2', 'node-3']) model.upsert('node', node({ name }));
  model.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'node-1', claimName: 'db-data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-local' }));
  model.upsert('pod', pod({ name: 'db-0', nodeName: 'node-1', claimNames: ['db-data'] }));
  for (const index of [1, 2, 3]) {
    const name = `cp-${index}`;
    model.upsert(
      'machine',
      machine({ namespace: 'capi', name, nodeName: `node-${index}`, machineSet: '', machineDeployment: '', controlPlane: CP_LABEL, deleteMarked: marked.includes(name) }),
    );
  }
  return model;
}

function kcp(replicas: number, annotations: Record<string, string> = {}): Record<string, unknown> {
  return {
    apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1',
    kind: 'KubeadmControlPlane',
    metadata: { name: CP_LABEL, namespace: 'capi', annotations },
    spec: { replicas, version: 'v1.30.1' },
  };
}

function scaleDown(after: number, before = 3, annotations: Record<string, string> = {}): AdmissionRequest {
  return request({
    kind: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta1', kind: 'KubeadmControlPlane' },
    resource: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta1', resource: 'kubeadmcontrolplanes' },
    operation: 'UPDATE',
    namespace: 'capi',
    name: CP_LABEL,
    object: kcp(after, annotations),
    oldObject: kcp(before, annotations),
  });
}

describe('KubeadmControlPlane scale-down', () => {
  it('is refused while any control-plane Machine it may remove holds data, naming it', () => {
    const decision = validator.handle(scaleDown(1), context(cluster()));
    expect(decision.allowed).toBe(false);
    const message = decision.status!.message;
    expect(message).toContain('scale-down of KubeadmControlPlane capi/cp from 3 to 1');
    expect(message).toContain('cp-1 on node node-1');
    expect(message).toContain('pv-local');
  });

  it('is refused through the scale subresource too', () => {
    const scale = (count: number) => ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: CP_LABEL, namespace: 'capi' }, spec: { replicas: count } });
    const decision = validator.handle(
      request({
        kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
        resource: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta1', resource: 'kubeadmcontrolplanes' },
        subResource: 'scale',
        operation: 'UPDATE',
        namespace: 'capi',
        name: CP_LABEL,
        object: scale(1),
        oldObject: scale(3),
      }),
      context(cluster()),
    );
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('cp-1 on node node-1');
  });

  it('passes when the Machines marked for deletion cover the removal and hold nothing', () => {
    expect(validator.handle(scaleDown(2), context(cluster(['cp-3']))).allowed).toBe(true);
    expect(validator.handle(scaleDown(1), context(cluster(['cp-2', 'cp-3']))).allowed).toBe(true);
    // Two marked for one removal: KCP picks either (by failure domain and age), both clean.
    expect(validator.handle(scaleDown(2), context(cluster(['cp-2', 'cp-3']))).allowed).toBe(true);
  });

  it('is refused when a marked Machine it may pick holds data, or too few are marked', () => {
    expect(validator.handle(scaleDown(2), context(cluster(['cp-1', 'cp-3']))).allowed).toBe(false);
    expect(validator.handle(scaleDown(1), context(cluster(['cp-3']))).allowed).toBe(false);
  });

  it("honors the KubeadmControlPlane's own skip, as for its rollouts", () => {
    const skip = { 'volume-guard.io/skip': 'node-local-volume', 'volume-guard.io/skip-reason': 'moved', 'volume-guard.io/skip-by': 'admin' };
    expect(validator.handle(scaleDown(1, 3, skip), context(cluster())).allowed).toBe(true);
  });

  it('passes a scale up', () => {
    expect(validator.handle(scaleDown(5), context(cluster())).allowed).toBe(true);
  });
});

describe('controlPlaneScaleDownCandidates', () => {
  const machines = (marked: readonly string[] = [], deleting: readonly string[] = []) =>
    ['cp-1', 'cp-2', 'cp-3'].map((name, index) =>
      machine({ name, nodeName: `node-${index + 1}`, controlPlane: CP_LABEL, deleteMarked: marked.includes(name), deleting: deleting.includes(name) }),
    );
  const names = (list: readonly { readonly name: string }[]) => list.map((entry) => entry.name);

  it('counts a Machine being deleted as one of the removed: KCP waits for it before choosing another', () => {
    expect(controlPlaneScaleDownCandidates(machines([], ['cp-1']), 2).removed).toBe(0);
    const next = controlPlaneScaleDownCandidates(machines([], ['cp-1']), 1);
    expect(next.removed).toBe(1);
    expect(names(next.candidates)).toEqual(['cp-2', 'cp-3']);
    expect(next.narrowed).toBe(false);
  });

  it('takes the marked Machines first, exactly when they match the removal', () => {
    const exact = controlPlaneScaleDownCandidates(machines(['cp-2']), 2);
    expect(names(exact.candidates)).toEqual(['cp-2']);
    expect(exact.narrowed).toBe(true);
    const some = controlPlaneScaleDownCandidates(machines(['cp-2', 'cp-3']), 2);
    expect(names(some.candidates)).toEqual(['cp-2', 'cp-3']);
    expect(some.narrowed).toBe(false);
    expect(names(controlPlaneScaleDownCandidates(machines(['cp-2']), 1).candidates)).toEqual(['cp-1', 'cp-2', 'cp-3']);
  });
});

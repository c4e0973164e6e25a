// Cluster API drains a Machine's node only when isDeleteNodeAllowed passes: besides a Cluster being deleted, it skips
// the pre-drain hooks, the drain and the volume detach wait when the Cluster's control plane object is being deleted
// (errControlPlaneIsBeingDeleted) and when no control-plane Machine of the Cluster is active, i.e. not being deleted
// (errNoControlPlaneNodes: the Machine being deleted is not active, so the last one never is drained). An externally
// managed control plane (EKS, AKS) has no such Machines and is drained; with no control-plane Machine in view,
// volume-guard cannot tell one from the other and judges the drain as held. Longhorn's block-for-eviction policy keeps a
// node's last copy only by holding a drain: with no drain, the infrastructure machine goes, disks and all.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { machineValidator } from '../../../src/admission/validators/machine.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformClusterApiCluster, transformMachine, transformMachineOwner } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, longhornSetting, node, replica, volume } from '../../support/fixtures.ts';

const validator = machineValidator(defaultConfig());
const NS = 'capi';
const DELETED = { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['machine.cluster.x-k8s.io'] };

interface MachineSpec {
  readonly name: string;
  readonly node: string;
  readonly controlPlane?: boolean;
  readonly deleting?: boolean;
}

function machineObject(spec: MachineSpec): Record<string, unknown> {
  const labels: Record<string, string> = { 'cluster.x-k8s.io/cluster-name': 'c1' };
  if (spec.controlPlane) Object.assign(labels, { 'cluster.x-k8s.io/control-plane': '', 'cluster.x-k8s.io/control-plane-name': 'kcp' });
  else labels['cluster.x-k8s.io/set-name'] = 'ms';
  return {
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'Machine',
    metadata: { name: spec.name, namespace: NS, labels, ...(spec.deleting ? DELETED : {}) },
    spec: { clusterName: 'c1' },
    status: { nodeRef: { name: spec.node } },
  };
}

interface Setup {
  readonly machines: readonly MachineSpec[];
  /** spec.controlPlaneRef's kind; none when undefined. */
  readonly controlPlaneKind?: string;
  readonly kcpDeleting?: boolean;
  /** Leave the Cluster out of the model. */
  readonly noCluster?: boolean;
}

/** Nodes cp, cp2, w1, w2; a one-replica volume on the node given, Longhorn's block-for-eviction drain policy. */
function cluster(setup: Setup, volumeOn: string): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  m.setLonghornInstalled(true);
  for (const name of ['cp', 'cp2', 'w1', 'w2']) {
    m.upsert('node', node({ name }));
    m.upsert('longhornNode', longhornNode({ name }));
  }
  m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
  m.upsert('longhornVolume', volume({ name: 'vol-1', numberOfReplicas: 1, currentNodeID: volumeOn }));
  m.upsert('longhornReplica', replica({ volumeName: 'vol-1', nodeID: volumeOn }));
  for (const spec of setup.machines) m.upsert('machine', transformMachine(machineObject(spec))!);
  const kind = setup.controlPlaneKind;
  if (!setup.noCluster) {
    m.upsert(
      'clusterApiCluster',
      transformClusterApiCluster({
        metadata: { name: 'c1', namespace: NS },
        spec: kind === undefined ? {} : { controlPlaneRef: { apiGroup: 'controlplane.cluster.x-k8s.io', kind, name: 'kcp' } },
      })!,
    );
  }
  if (kind === 'KubeadmControlPlane') {
    m.upsert('kubeadmControlPlane', transformMachineOwner({ metadata: { name: 'kcp', namespace: NS, ...(setup.kcpDeleting ? DELETED : {}) } })!);
  }
  return m;
}

function deleteMachine(spec: MachineSpec): AdmissionRequest {
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
    operation: 'DELETE',
    namespace: NS,
    name: spec.name,
    oldObject: machineObject(spec),
  });
}

const CP: MachineSpec = { name: 'cp-0', node: 'cp', controlPlane: true };
const CP2: MachineSpec = { name: 'cp-1', node: 'cp2', controlPlane: true };
const WORKER: MachineSpec = { name: 'w-0', node: 'w1' };

const warnings = (decision: { warnings?: readonly string[] }) => (decision.warnings ?? []).join(' ').replace(/\s+/g, ' ');

describe('Cluster API skips the drain for the control plane', () => {
  it('a worker of a Cluster with an active control-plane Machine is drained: block-for-eviction holds it, allowed', () => {
    const decision = validator.handle(deleteMachine(WORKER), context(cluster({ machines: [CP, WORKER], controlPlaneKind: 'KubeadmControlPlane' }, 'w1')));
    expect(decision.allowed).toBe(true);
  });

  it('every control-plane Machine being deleted: the worker is not drained, its last copy goes: refused', () => {
    const model = cluster({ machines: [{ ...CP, deleting: true }, WORKER], controlPlaneKind: 'KubeadmControlPlane' }, 'w1');
    const decision = validator.handle(deleteMachine(WORKER), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('vol-1');
    expect(warnings(decision)).toContain('no control-plane Machine of Cluster capi/c1 stays active');
  });

  it('the KubeadmControlPlane being deleted: no drain for any Machine of the Cluster: refused', () => {
    const model = cluster({ machines: [CP, WORKER], controlPlaneKind: 'KubeadmControlPlane', kcpDeleting: true }, 'w1');
    const decision = validator.handle(deleteMachine(WORKER), context(model));
    expect(decision.allowed).toBe(false);
    expect(warnings(decision)).toContain('KubeadmControlPlane capi/kcp of Cluster capi/c1 is being deleted');
  });

  it('the last active control-plane Machine is deleted without a drain: refused when its node holds the last copy', () => {
    const decision = validator.handle(deleteMachine(CP), context(cluster({ machines: [CP, WORKER], controlPlaneKind: 'KubeadmControlPlane' }, 'cp')));
    expect(decision.allowed).toBe(false);
    expect(warnings(decision)).toContain('Machine capi/cp-0 is the last active control-plane Machine of Cluster capi/c1');
  });

  it('another active control-plane Machine: drained as usual, allowed', () => {
    const decision = validator.handle(deleteMachine(CP), context(cluster({ machines: [CP, CP2, WORKER], controlPlaneKind: 'KubeadmControlPlane' }, 'cp')));
    expect(decision.allowed).toBe(true);
  });

  it('another control-plane Machine whose removal was just admitted is no active one (`kubectl delete machine cp-1 cp-0`)', () => {
    const model = cluster({ machines: [CP, CP2, WORKER], controlPlaneKind: 'KubeadmControlPlane' }, 'cp');
    model.admitRemoval({ kind: 'machine', namespace: NS, name: 'cp-1', node: 'cp2' });
    const decision = validator.handle(deleteMachine(CP), context(model));
    expect(decision.allowed).toBe(false);
  });

  it('no controlPlaneRef: Cluster API counts the control-plane Machines all the same', () => {
    const model = cluster({ machines: [{ ...CP, deleting: true }, WORKER] }, 'w1');
    expect(validator.handle(deleteMachine(WORKER), context(model)).allowed).toBe(false);
  });

  it('a control plane of another kind with control-plane Machines, all being deleted: not managed outside, refused', () => {
    const model = cluster({ machines: [{ ...CP, deleting: true }, WORKER], controlPlaneKind: 'RKE2ControlPlane' }, 'w1');
    expect(validator.handle(deleteMachine(WORKER), context(model)).allowed).toBe(false);
  });

  it('a control plane managed outside the Cluster (no control-plane Machine at all): drained, allowed', () => {
    const model = cluster({ machines: [WORKER], controlPlaneKind: 'AWSManagedControlPlane' }, 'w1');
    expect(validator.handle(deleteMachine(WORKER), context(model)).allowed).toBe(true);
  });

  it('no control-plane Machine in view (a control plane of any kind, or none named): judged as drained', () => {
    for (const controlPlaneKind of ['KubeadmControlPlane', 'RKE2ControlPlane', undefined]) {
      const model = cluster({ machines: [WORKER], ...(controlPlaneKind ? { controlPlaneKind } : {}) }, 'w1');
      expect(validator.handle(deleteMachine(WORKER), context(model)).allowed).toBe(true);
    }
  });

  it('no Cluster in view: judged as drained, as before', () => {
    const model = cluster({ machines: [{ ...CP, deleting: true }, WORKER], noCluster: true }, 'w1');
    expect(validator.handle(deleteMachine(WORKER), context(model)).allowed).toBe(true);
  });
});

// A Cluster API Machine DELETE whose node no longer exists (no Node object; status.nodeRef still names it: a
// MachineHealthCheck remediating NodeNotFound, a person cleaning up) is judged on the data left on that node. Its
// refusal cannot advise `kubectl annotate node`: there is no Node to annotate. It advises what works: the
// KubeadmControlPlane's skip when that controller deletes the Machine (the only override read for it then), else
// plainly what to do.
import { describe, expect, it } from 'vitest';
import type { Decision, UserInfo } from '../../../src/admission/types.ts';
import { machineValidator } from '../../../src/admission/validators/machine.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { MACHINE_CONTROL_PLANE_LABEL } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { hostPathPV, machine, machineOwner, node, pvc } from '../../support/fixtures.ts';

const KCP_MANAGER: UserInfo = { username: 'system:serviceaccount:capi-kubeadm-control-plane-system:capi-kubeadm-control-plane-manager', groups: ['system:serviceaccounts'] };
const SKIP = { 'volume-guard.io/skip': 'node-local-volume', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-reason': 'node lost, INC-9' };

/** Node w1 is there; node-gone is not, and keeps the hostPath PV pv-cache (claim default/cache). */
function cluster(options: { controlPlane?: boolean; nodeThere?: boolean; kcpAnnotations?: Record<string, string> } = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('node', node({ name: 'w1' }));
  if (options.nodeThere) model.upsert('node', node({ name: 'node-gone' }));
  model.upsert('persistentVolume', hostPathPV({ name: 'pv-cache', pinnedNode: 'node-gone', claimName: 'cache' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'cache', volumeName: 'pv-cache' }));
  const owner = options.controlPlane ? { machineSet: '', machineDeployment: '', controlPlane: 'cp' } : {};
  model.upsert('machine', machine({ namespace: 'capi', name: 'm-gone', nodeName: 'node-gone', ...owner }));
  if (options.kcpAnnotations) model.upsert('kubeadmControlPlane', machineOwner({ namespace: 'capi', name: 'cp', annotations: options.kcpAnnotations }));
  return model;
}

function deleteMachine(model: ClusterModel, options: { controlPlane?: boolean; user?: UserInfo } = {}): Decision {
  const labels = options.controlPlane ? { [MACHINE_CONTROL_PLANE_LABEL]: 'cp' } : {};
  const deletion = request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
    operation: 'DELETE',
    namespace: 'capi',
    name: 'm-gone',
    oldObject: { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Machine', metadata: { name: 'm-gone', namespace: 'capi', labels }, status: { nodeRef: { name: 'node-gone' } } },
    ...(options.user ? { userInfo: options.user } : {}),
  });
  return machineValidator(defaultConfig()).handle(deletion, context(model));
}

/** The lines of a refusal from its override heading on. */
function overrideOf(decision: Decision): string {
  const message = decision.status?.message ?? '';
  return message.slice(message.indexOf('Override ('));
}

describe('a Machine DELETE whose node no longer exists', () => {
  it('a person deleting it: no annotate command, plainly what to do', () => {
    const decision = deleteMachine(cluster());
    expect(decision.allowed).toBe(false);
    const override = overrideOf(decision);
    expect(override).not.toContain('kubectl annotate');
    expect(override).toContain('there is no Node node-gone to annotate');
    expect(override).toContain('delete Machine capi/m-gone again');
    expect(override).toContain('bring it back as node node-gone');
  });

  it("a person deleting a KubeadmControlPlane's Machine: its skip is not read for that DELETE, so not advised", () => {
    const decision = deleteMachine(cluster({ controlPlane: true }), { controlPlane: true });
    expect(decision.allowed).toBe(false);
    expect(overrideOf(decision)).not.toContain('kubectl annotate');
  });

  it("the KubeadmControlPlane's controller deleting it: its skip is advised, and honored once written", () => {
    const decision = deleteMachine(cluster({ controlPlane: true }), { controlPlane: true, user: KCP_MANAGER });
    expect(decision.allowed).toBe(false);
    const override = overrideOf(decision);
    expect(override).toContain('kubectl annotate kubeadmcontrolplanes.controlplane.cluster.x-k8s.io cp -n capi volume-guard.io/skip=node-local-volume');
    expect(override).not.toContain('kubectl annotate node');
    // What it advises works.
    expect(deleteMachine(cluster({ controlPlane: true, kcpAnnotations: SKIP }), { controlPlane: true, user: KCP_MANAGER }).allowed).toBe(true);
  });

  it('a node still there: the node is annotated as before', () => {
    const decision = deleteMachine(cluster({ nodeThere: true }));
    expect(decision.allowed).toBe(false);
    expect(overrideOf(decision)).toContain('kubectl annotate node node-gone volume-guard.io/skip=node-local-volume');
  });

  it('passes a drain cut short of the Machine being deleted (nothing to drain: the controller skips a node it cannot find), not while the node is there', () => {
    const cut = (model: ClusterModel): Decision => {
      const object = (annotations: Record<string, string>) => ({
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Machine',
        metadata: { name: 'm-gone', namespace: 'capi', annotations, deletionTimestamp: '2026-01-01T00:00:00Z' },
        status: { nodeRef: { name: 'node-gone' } },
      });
      const update = request({
        kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
        resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
        operation: 'UPDATE',
        namespace: 'capi',
        name: 'm-gone',
        oldObject: object({}),
        object: object({ 'machine.cluster.x-k8s.io/exclude-node-draining': '' }),
      });
      return machineValidator(defaultConfig()).handle(update, context(model));
    };
    expect(cut(cluster()).allowed).toBe(true);
    const there = cut(cluster({ nodeThere: true }));
    expect(there.allowed).toBe(false);
    expect(there.status?.message).toContain('drain cut short of Machine capi/m-gone');
  });
});

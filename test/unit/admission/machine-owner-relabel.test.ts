// The skip a KubeadmControlPlane or MachineDeployment carries to the drain of its Machine's node (rollout-owner.ts
// drainingMachineOwnerSkip) names its owner by the Machine's labels (`cluster.x-k8s.io/control-plane-name`,
// `deployment-name`). Once a Machine is being deleted, Cluster API no longer writes its labels (the MachineSet and
// KubeadmControlPlane controllers sync only the deletion timeouts of a Machine being deleted), so a label written then
// stays: whoever may update Machines could point one at an owner whose skip the admin accepted for another rollout,
// and the drain of its node would pass on that skip. Such a relabel is an override write, policed like one.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, Decision, UserInfo } from '../../../src/admission/types.ts';
import { machineValidator } from '../../../src/admission/validators/machine.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformMachine } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, request } from '../../support/admission.ts';
import { longhornNode, machineOwner, node, volumeWithReplicas } from '../../support/fixtures.ts';

const OPS: UserInfo = { username: 'ops', groups: ['system:authenticated', 'capi-operators'] };
const ADMIN: UserInfo = { username: 'admin', groups: ['system:masters', 'system:authenticated'] };
const CAPI_MANAGER: UserInfo = { username: 'system:serviceaccount:capi-system:capi-manager', groups: ['system:serviceaccounts'] };
const SKIP = { 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-reason': 'control-plane rollout, INC-7' };

/** Machine capi/m-old-1 of MachineDeployment md-a on node h1, being deleted, with these labels. */
function machineObject(labels: Record<string, string>) {
  return {
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'Machine',
    metadata: { name: 'm-old-1', namespace: 'capi', deletionTimestamp: '2026-12-07T20:00:00Z', labels: { 'cluster.x-k8s.io/cluster-name': 'c1', ...labels } },
    spec: { clusterName: 'c1' },
    status: { nodeRef: { name: 'h1' } },
  };
}

const MD_LABELS = { 'cluster.x-k8s.io/set-name': 'md-a-old', 'cluster.x-k8s.io/deployment-name': 'md-a' };

/** h1 holds detached single-replica vol-s; KubeadmControlPlane cp carries an admin's skip; md-a and md-b as given. */
function cluster(machine: unknown, owners: { md?: Record<string, string>; mdB?: Record<string, string> } = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['h1', 'h2', 'h3']) {
    model.upsert('node', node({ name }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  const { volume, replicas } = volumeWithReplicas('vol-s', ['h1'], { state: 'detached', numberOfReplicas: 1 });
  model.upsert('longhornVolume', volume);
  for (const replica of replicas) model.upsert('longhornReplica', replica);
  const record = transformMachine(machine);
  if (record === undefined) throw new Error('machine not read');
  model.upsert('machine', record);
  model.upsert('kubeadmControlPlane', machineOwner({ namespace: 'capi', name: 'cp', annotations: SKIP }));
  model.upsert('machineDeployment', machineOwner({ namespace: 'capi', name: 'md-a', annotations: owners.md ?? {} }));
  model.upsert('machineDeployment', machineOwner({ namespace: 'capi', name: 'md-b', annotations: owners.mdB ?? {} }));
  return model;
}

function relabel(before: Record<string, string>, after: Record<string, string>, user: UserInfo): AdmissionRequest {
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
    operation: 'UPDATE',
    namespace: 'capi',
    name: 'm-old-1',
    userInfo: user,
    object: machineObject(after),
    oldObject: machineObject(before),
  });
}

const judge = (before: Record<string, string>, after: Record<string, string>, user: UserInfo, owners: { md?: Record<string, string>; mdB?: Record<string, string> } = {}): Decision =>
  machineValidator(defaultConfig()).handle(relabel(before, after, user), context(cluster(machineObject(before), owners)));

const cordon = (labels: Record<string, string>): Decision =>
  nodeCordonValidator(defaultConfig()).handle(cordonRequest('h1', {}, CAPI_MANAGER), context(cluster(machineObject(labels))));

describe('relabelling a Machine being deleted to borrow another owner’s skip', () => {
  it('what is at stake: the drain of h1 is refused under md-a, passed once the Machine names cp', () => {
    expect(cordon(MD_LABELS).allowed).toBe(false);
    const borrowed = cordon({ ...MD_LABELS, 'cluster.x-k8s.io/control-plane-name': 'cp' });
    expect(borrowed.allowed).toBe(true);
    expect(borrowed.auditAnnotations?.['override-source']).toContain('KubeadmControlPlane capi/cp');
  });

  it('a user who may not write overrides is refused the label naming cp, saying whose skip it would carry', () => {
    const decision = judge(MD_LABELS, { ...MD_LABELS, 'cluster.x-k8s.io/control-plane-name': 'cp' }, OPS);
    expect(decision.allowed).toBe(false);
    const message = decision.status?.message ?? '';
    expect(message).toContain('ops may not');
    expect(message).toContain('Machine capi/m-old-1');
    expect(message).toContain('KubeadmControlPlane capi/cp');
    expect(message).toContain('h1');
    expect(message).toContain('system:masters');
  });

  it("the same for a deployment-name moved to another MachineDeployment carrying a skip, and for Cluster API's own identity", () => {
    expect(judge(MD_LABELS, { ...MD_LABELS, 'cluster.x-k8s.io/deployment-name': 'md-b' }, OPS, { mdB: SKIP }).allowed).toBe(false);
    expect(judge(MD_LABELS, { ...MD_LABELS, 'cluster.x-k8s.io/control-plane-name': 'cp' }, CAPI_MANAGER).allowed).toBe(false);
  });

  it('an override writer may (audited as an override written); a label naming an owner without a skip, or removing one, passes', () => {
    const admin = judge(MD_LABELS, { ...MD_LABELS, 'cluster.x-k8s.io/control-plane-name': 'cp' }, ADMIN);
    expect(admin.status?.message).toBeUndefined();
    expect(admin.allowed).toBe(true);
    expect(admin.auditAnnotations?.['override-written']).toContain('KubeadmControlPlane capi/cp');
    expect(judge(MD_LABELS, { ...MD_LABELS, 'cluster.x-k8s.io/deployment-name': 'md-b' }, OPS).allowed).toBe(true);
    // Dropping the owner: nothing carried any more (its drain is judged on the node's overrides alone).
    expect(judge({ ...MD_LABELS, 'cluster.x-k8s.io/control-plane-name': 'cp' }, MD_LABELS, OPS).allowed).toBe(true);
    // Another label (a MachineDrainRule's selector aside) carries nothing.
    expect(judge(MD_LABELS, { ...MD_LABELS, team: 'db' }, OPS).allowed).toBe(true);
    // The owner that already carried its skip stays: nothing new is carried.
    expect(judge(MD_LABELS, { ...MD_LABELS, team: 'db' }, OPS, { md: SKIP }).allowed).toBe(true);
  });
});

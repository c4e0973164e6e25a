// Issue 12.6: a restart identity (descheduler, VPA) may evict a pod that can only come back next to its own data. A
// node-local PV no affinity pins (a minikube / MicroK8s hostPath PV, a `local` PV listing several nodes) keeps its data
// on the node of the pod writing it: when the recreated pod, scheduled at once, can land on no other node (the
// cluster's only node; the other node its PV allows cordoned, not Ready or tainted against it), it comes straight back
// to that data, as the PV pinned to the node would bring it back. It was refused whatever the other nodes' state.
// Where another node could take it, where its own node refuses it, for a pod nothing recreates, and for anyone not
// listed as a restart identity, it is still refused.
import { describe, expect, it } from 'vitest';
import type { UserInfo } from '../../../src/admission/types.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformNode, transformPersistentVolume, transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { context, evictionRequest } from '../../support/admission.ts';
import { pvc } from '../../support/fixtures.ts';

type Raw = Record<string, unknown>;
const config = defaultConfig();
const VPA: UserInfo = { username: 'system:serviceaccount:kube-system:vpa-updater', groups: ['system:serviceaccounts'] };
const withRestarters: Config = { ...config, evictions: { restartUsers: [VPA.username], restartGroups: [] } };

function rawNode(name: string, spec: Raw = {}, ready = 'True') {
  return transformNode({
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec,
    status: { conditions: [{ type: 'Ready', status: ready, lastTransitionTime: '2020-01-01T00:00:00Z' }] },
  })!;
}

/** minikube's storage-provisioner: a hostPath PV with no node affinity. */
const minikubePV = transformPersistentVolume({
  metadata: { name: 'pv-mk', annotations: { 'pv.kubernetes.io/provisioned-by': 'k8s.io/minikube-hostpath' } },
  spec: { hostPath: { path: '/tmp/hostpath-provisioner/default/data-db-0' }, claimRef: { namespace: 'default', name: 'data-db-0' }, persistentVolumeReclaimPolicy: 'Delete' },
  status: { phase: 'Bound' },
})!;

/** A `local` PV whose affinity lists node-1 and node-2 (a path on each). */
const twoNodePV = transformPersistentVolume({
  metadata: { name: 'pv-two' },
  spec: {
    local: { path: '/mnt/disks/a' },
    claimRef: { namespace: 'default', name: 'data-db-0' },
    nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-1', 'node-2'] }] }] } },
  },
  status: { phase: 'Bound' },
})!;

function dbPod(owned = true, spec: Raw = {}) {
  return transformPod({
    metadata: {
      name: 'db-0',
      namespace: 'default',
      ...(owned ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u', controller: true }] } : {}),
    },
    spec: { nodeName: 'node-1', containers: [{ name: 'c' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-db-0' } }], ...spec },
    status: { phase: 'Running' },
  })!;
}

function evict(nodes: readonly ReturnType<typeof rawNode>[], pv: ReturnType<typeof transformPersistentVolume>, options: { user?: UserInfo; owned?: boolean } = {}) {
  const model = new ClusterModel(VOLUME_SETS);
  for (const node of nodes) model.upsert('node', node);
  model.upsert('persistentVolume', pv!);
  model.upsert('persistentVolumeClaim', pvc({ name: 'data-db-0', volumeName: pv!.name, storageClassName: 'standard' }));
  model.upsert('pod', dbPod(options.owned ?? true));
  return podEvictionValidator(withRestarters).handle(evictionRequest('db-0', { user: options.user ?? VPA }), context(model, { config: withRestarters }));
}

describe("a restart identity's eviction of a pod whose node-local PV no affinity pins", () => {
  it("is allowed on the cluster's only node: the recreated pod comes straight back to its data", () => {
    const decision = evict([rawNode('node-1')], minikubePV);
    expect(decision.allowed).toBe(true);
    expect(decision.warnings?.join(' ')).toContain('allowed as a restart');
    expect(decision.warnings?.join(' ')).toContain('pv-mk');
  });

  it('is allowed when the other node its PV allows takes no pod now (cordoned, not Ready, tainted against it)', () => {
    expect(evict([rawNode('node-1'), rawNode('node-2', { unschedulable: true })], twoNodePV).allowed).toBe(true);
    expect(evict([rawNode('node-1'), rawNode('node-2', {}, 'False')], twoNodePV).allowed).toBe(true);
    expect(evict([rawNode('node-1'), rawNode('node-2', { taints: [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }] })], twoNodePV).allowed).toBe(true);
  });

  it('is refused when another node could take the recreated pod: its data stays behind', () => {
    const decision = evict([rawNode('node-1'), rawNode('node-2')], twoNodePV);
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('pv-two');
    // The refusal says why the restart identity's eviction is no restart.
    expect(decision.status?.message).toContain('Not a restart: another node could take the recreated pod, away from the data it keeps on node-1.');
    // minikube's PV, no affinity, on a cluster of two: the pod may land on node-2, where the path is empty.
    expect(evict([rawNode('node-1'), rawNode('node-2')], minikubePV).allowed).toBe(false);
  });

  it('is refused when its own node refuses the pod now (it goes Pending, and a node joining may take it)', () => {
    expect(evict([rawNode('node-1', { taints: [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }] })], minikubePV).allowed).toBe(false);
    expect(evict([rawNode('node-1', {}, 'False')], minikubePV).allowed).toBe(false);
  });

  it('is refused for a pod nothing recreates, and for an identity that is not a restart identity', () => {
    expect(evict([rawNode('node-1')], minikubePV, { owned: false }).allowed).toBe(false);
    expect(evict([rawNode('node-1')], minikubePV, { user: { username: 'admin', groups: ['system:masters'] } }).allowed).toBe(false);
  });
});

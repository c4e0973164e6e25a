// `clusterctl move` out of a self-hosted management cluster: clusterctl pauses each Cluster (spec.paused: true), creates
// the objects in the target, then deletes them from the source, each annotated
// `clusterctl.cluster.x-k8s.io/delete-for-move` and stripped of its finalizers first (mover.go deleteSourceObject). A
// Machine deleted so is gone at once: the Machine controller never runs its deletion (no finalizer, Cluster paused), so
// no drain, no infrastructure machine deleted, the node and its disks stay (the target cluster manages them now).
// Refusing it fails the move half way, objects in both clusters. Anything short of all three (annotation, no
// finalizer, paused Cluster) is judged as a removal, as before.
import { describe, expect, it } from 'vitest';
import type { AdmittedRemoval } from '../../../src/cluster/pending-removals.ts';
import type { Decision } from '../../../src/admission/types.ts';
import { machineValidator } from '../../../src/admission/validators/machine.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { transformClusterApiCluster } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { clusterApiCluster, hostPathPV, machine, node, pvc } from '../../support/fixtures.ts';

const MOVE = 'clusterctl.cluster.x-k8s.io/delete-for-move';

/** Node w1 keeps the hostPath PV pv-cache (claim default/cache); Machine capi/m1 of Cluster capi/c1 names it. */
function cluster(options: { paused?: boolean; clusterKnown?: boolean } = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('node', node({ name: 'w1' }));
  model.upsert('persistentVolume', hostPathPV({ name: 'pv-cache', pinnedNode: 'w1', claimName: 'cache' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'cache', volumeName: 'pv-cache' }));
  model.upsert('machine', machine({ namespace: 'capi', name: 'm1', nodeName: 'w1', clusterName: 'c1' }));
  if (options.clusterKnown !== false) {
    model.upsert('clusterApiCluster', clusterApiCluster({ namespace: 'capi', name: 'c1', ...(options.paused ? { paused: true } : {}) }));
  }
  return model;
}

function deleteMachine(model: ClusterModel, options: { annotated?: boolean; finalizers?: string[]; removals?: AdmittedRemoval[] } = {}): Decision {
  const deletion = request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
    operation: 'DELETE',
    namespace: 'capi',
    name: 'm1',
    oldObject: {
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'Machine',
      metadata: {
        name: 'm1',
        namespace: 'capi',
        labels: { 'cluster.x-k8s.io/cluster-name': 'c1' },
        ...(options.annotated === false ? {} : { annotations: { [MOVE]: '' } }),
        ...(options.finalizers ? { finalizers: options.finalizers } : {}),
      },
      spec: { clusterName: 'c1' },
      status: { nodeRef: { name: 'w1' } },
    },
  });
  return machineValidator(defaultConfig()).handle(deletion, context(model, options.removals ? { removals: options.removals } : {}));
}

describe('a Machine DELETE of clusterctl move', () => {
  it('passes: annotated delete-for-move, no finalizer left, its Cluster paused; the node is not counted as going', () => {
    const removals: AdmittedRemoval[] = [];
    const decision = deleteMachine(cluster({ paused: true }), { removals });
    expect(decision.allowed).toBe(true);
    expect(removals).toEqual([]);
  });

  it('is judged as the removal it is when its Cluster is not paused (the annotation alone is anyone’s write)', () => {
    const decision = deleteMachine(cluster());
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('deletion of Machine capi/m1 (node w1)');
  });

  it('is judged when the Machine keeps its finalizer (the Machine controller drains and deletes it once resumed)', () => {
    expect(deleteMachine(cluster({ paused: true }), { finalizers: ['machine.cluster.x-k8s.io'] }).allowed).toBe(false);
  });

  it('is judged without the annotation, or with its Cluster unknown', () => {
    expect(deleteMachine(cluster({ paused: true }), { annotated: false }).allowed).toBe(false);
    expect(deleteMachine(cluster({ clusterKnown: false })).allowed).toBe(false);
  });
});

describe('the Cluster record', () => {
  it('keeps spec.paused (v1beta1 and v1beta2 alike), omitted when not true', () => {
    const raw = (spec: unknown) => ({ metadata: { name: 'c1', namespace: 'capi' }, spec });
    expect(transformClusterApiCluster(raw({ paused: true }))?.paused).toBe(true);
    expect(transformClusterApiCluster(raw({ paused: false }))).not.toHaveProperty('paused');
    expect(transformClusterApiCluster(raw({}))).not.toHaveProperty('paused');
  });
});

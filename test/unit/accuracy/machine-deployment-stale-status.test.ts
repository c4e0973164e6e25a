// Cluster API's MachineDeployment controller writes status.updatedReplicas / upToDateReplicas only when it reconciles,
// and stamps status.observedGeneration = metadata.generation at the same patch (machinedeployment_controller.go
// Reconcile: the deferred patch WithStatusObservedGeneration). While the Cluster is paused (spec.paused, or the
// `cluster.x-k8s.io/paused` annotation) paused.EnsurePausedCondition returns before any status update; and right
// after a template change the controller may not have run yet. A status whose observedGeneration is behind
// metadata.generation therefore still counts the Machines of the previous template as up to date: resuming a paused
// MachineDeployment (or leaving OnDelete) then rolls every Machine to the template changed meanwhile.
import { describe, expect, it } from 'vitest';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, machine, node, volumeWithReplicas } from '../../support/fixtures.ts';

const config = defaultConfig();

function cluster() {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['h-1', 'h-2', 'h-3']) model.upsert('node', node({ name, labels: { 'kubernetes.io/hostname': name } }));
  model.replaceAll('longhornNode', ['h-1', 'h-2', 'h-3'].map((name) => longhornNode({ name })));
  const volume = volumeWithReplicas('vol-single', ['h-1'], { numberOfReplicas: 1 });
  model.replaceAll('longhornVolume', [volume.volume]);
  model.replaceAll('longhornReplica', volume.replicas);
  model.replaceAll('machine', [machine({ name: 'md-a-1', nodeName: 'h-1', machineSet: 'md-a-x', machineDeployment: 'md-a' })]);
  return model;
}

type Spec = Record<string, unknown>;
const OLD_TEMPLATE = { template: { spec: { version: 'v1.30.8', clusterName: 'c1', bootstrap: { dataSecretName: 'b' }, infrastructureRef: { kind: 'M', name: 'm' } } } };
const NEW_TEMPLATE = { template: { spec: { version: 'v1.31.4', clusterName: 'c1', bootstrap: { dataSecretName: 'b' }, infrastructureRef: { kind: 'M', name: 'm' } } } };

function md(spec: Spec, generation: number, status: Spec, apiVersion = 'cluster.x-k8s.io/v1beta1') {
  return {
    apiVersion,
    kind: 'MachineDeployment',
    metadata: { name: 'md-a', namespace: 'default', generation },
    spec: { replicas: 1, clusterName: 'c1', ...OLD_TEMPLATE, ...spec },
    status,
  };
}

function update(oldObject: unknown, object: unknown, version = 'v1beta1') {
  return request({
    kind: { group: 'cluster.x-k8s.io', version, kind: 'MachineDeployment' },
    resource: { group: 'cluster.x-k8s.io', version, resource: 'machinedeployments' },
    operation: 'UPDATE',
    namespace: 'default',
    name: 'md-a',
    object,
    oldObject,
  });
}

const judge = (review: ReturnType<typeof request>) => upgradeValidator(config).handle(review, context(cluster()));

describe('resuming a MachineDeployment whose status predates the template change', () => {
  // generation 6 is the template change made while paused; the status was written at generation 5, before it.
  const stale = { observedGeneration: 5, replicas: 1, updatedReplicas: 1, readyReplicas: 1 };

  it('unpausing is judged: the status has not seen the new template (v1beta1)', () => {
    const decision = judge(update(md({ paused: true, ...NEW_TEMPLATE }, 6, stale), md({ paused: false, ...NEW_TEMPLATE }, 7, stale)));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('vol-single');
  });

  it('unpausing is judged: the status has not seen the new template (v1beta2)', () => {
    const staleV2 = { observedGeneration: 5, replicas: 1, upToDateReplicas: 1 };
    const decision = judge(
      update(md({ paused: true, ...NEW_TEMPLATE }, 6, staleV2, 'cluster.x-k8s.io/v1beta2'), md({ paused: false, ...NEW_TEMPLATE }, 7, staleV2, 'cluster.x-k8s.io/v1beta2'), 'v1beta2'),
    );
    expect(decision.allowed).toBe(false);
  });

  it('leaving OnDelete is judged likewise', () => {
    const decision = judge(update(md({ strategy: { type: 'OnDelete' }, ...NEW_TEMPLATE }, 6, stale), md({ strategy: { type: 'RollingUpdate' }, ...NEW_TEMPLATE }, 7, stale)));
    expect(decision.allowed).toBe(false);
  });

  it('a status that has seen the current generation and counts every Machine up to date still passes', () => {
    const current = { observedGeneration: 6, replicas: 1, updatedReplicas: 1 };
    const decision = judge(update(md({ paused: true }, 6, current), md({ paused: false }, 7, current)));
    expect(decision.allowed).toBe(true);
  });
});

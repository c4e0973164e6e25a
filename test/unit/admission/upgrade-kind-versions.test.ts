// Cluster API serves MachineDeployment and KubeadmControlPlane at v1beta2 (1.11 on) and plans to stop serving v1beta1
// (about 1.16). The default upgrade kinds name both: every webhook rule generated from them lists both versions, so
// with matchPolicy Equivalent the API server keeps calling volume-guard, and sends a v1beta2 write as v1beta2, which
// the upgrade validator judges by the v1beta2 fields.
import { describe, expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import { expandRules, isUpgradeKindsRule } from '../../../src/admission/rules.ts';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, machine, node, volumeWithReplicas } from '../../support/fixtures.ts';

const config = defaultConfig();

const CLUSTER_API_RESOURCES = ['machinedeployments.cluster.x-k8s.io', 'kubeadmcontrolplanes.controlplane.cluster.x-k8s.io'];

describe('the webhook rules generated from upgrades.kinds', () => {
  it('name v1beta2 and v1beta1 for MachineDeployments and KubeadmControlPlanes, in every webhook built from the kinds', () => {
    const declarations = createValidators(config)
      .map((validator) => validator.declaration)
      .filter((declaration) => declaration.rules.some(isUpgradeKindsRule));
    // The upgrade webhook (rollouts) and the override guard (skips written on them, status included).
    expect(declarations.map((declaration) => declaration.name)).toEqual(expect.arrayContaining(['upgrade.volume-guard.io', 'overrides.volume-guard.io']));
    for (const declaration of declarations) {
      const capiRules = expandRules(declaration.rules, config.upgrades.kinds).filter((rule) =>
        CLUSTER_API_RESOURCES.includes(`${rule.resources[0]!.split('/')[0]}.${rule.apiGroups[0]}`),
      );
      expect(capiRules.length, declaration.name).toBeGreaterThanOrEqual(2);
      for (const rule of capiRules) expect(rule.apiVersions, `${declaration.name} ${rule.resources[0]}`).toEqual(['v1beta2', 'v1beta1']);
    }
  });

  it('name the one version of an entry written before versions', () => {
    const kinds = [{ group: 'example.io', version: 'v1', resource: 'rollouts', kind: 'Rollout', operations: ['UPDATE' as const] }];
    expect(expandRules(upgradeValidator(config).declaration.rules, kinds).map((rule) => rule.apiVersions)).toEqual([['v1']]);
  });
});

// ------------------------------------------------------------------------------------------------ judged at v1beta2

/** Nodes w-1..w-3, a single-replica Longhorn volume on w-1, the node of md-a's and kcp's Machines. */
function cluster(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  const names = ['w-1', 'w-2', 'w-3'];
  for (const name of names) model.upsert('node', node({ name, labels: { 'kubernetes.io/hostname': name } }));
  model.replaceAll('longhornNode', names.map((name) => longhornNode({ name })));
  const single = volumeWithReplicas('vol-single', ['w-1'], { numberOfReplicas: 1 });
  model.replaceAll('longhornVolume', [single.volume]);
  model.replaceAll('longhornReplica', single.replicas);
  model.replaceAll('machine', [
    machine({ name: 'md-a-1', nodeName: 'w-1', machineSet: 'md-a-x', machineDeployment: 'md-a' }),
    machine({ name: 'kcp-1', nodeName: 'w-1', machineSet: '', machineDeployment: '', controlPlane: 'kcp' }),
  ]);
  return model;
}

type Spec = Record<string, unknown>;
type Version = 'v1beta1' | 'v1beta2';

/** An UPDATE as the API server sends it when a rule names the client's version: kind, resource and objects in it. */
function update(group: string, kind: string, resource: string, name: string, version: Version, oldSpec: Spec, newSpec: Spec) {
  const object = (spec: Spec) => ({ apiVersion: `${group}/${version}`, kind, metadata: { name, namespace: 'default' }, spec: { replicas: 1, ...spec } });
  return request({
    kind: { group, version, kind },
    resource: { group, version, resource },
    operation: 'UPDATE',
    namespace: 'default',
    name,
    object: object(newSpec),
    oldObject: object(oldSpec),
  });
}

const mdUpdate = (version: Version, oldSpec: Spec, newSpec: Spec) => update('cluster.x-k8s.io', 'MachineDeployment', 'machinedeployments', 'md-a', version, oldSpec, newSpec);
const kcpUpdate = (version: Version, oldSpec: Spec, newSpec: Spec) =>
  update('controlplane.cluster.x-k8s.io', 'KubeadmControlPlane', 'kubeadmcontrolplanes', 'kcp', version, oldSpec, newSpec);
const judge = (review: ReturnType<typeof request>) => upgradeValidator(config).handle(review, context(cluster()));

function expectRefused(review: ReturnType<typeof request>, cause: string): void {
  const decision = judge(review);
  expect(decision.allowed).toBe(false);
  expect(decision.status?.message).toContain(cause);
  expect(decision.status?.message).toContain('vol-single');
}

describe('a Cluster API rollout written at v1beta2 is judged by the v1beta2 fields', () => {
  it('MachineDeployment: spec.rollout.after (v1beta2) is refused as spec.rolloutAfter (v1beta1) is', () => {
    expectRefused(mdUpdate('v1beta1', {}, { rolloutAfter: '2027-05-01T00:00:00Z' }), 'spec.rolloutAfter');
    expectRefused(mdUpdate('v1beta2', {}, { rollout: { after: '2027-05-01T00:00:00Z' } }), 'spec.rollout.after');
  });

  it('MachineDeployment: a machine template change is refused in either version', () => {
    const template = (version: string) => ({ template: { spec: { version, bootstrap: { dataSecretName: 'b' }, infrastructureRef: { apiGroup: 'infra.io', kind: 'M', name: 'm' } } } });
    expectRefused(mdUpdate('v1beta1', template('v1.33.4'), template('v1.34.1')), 'spec.template.spec.version');
    expectRefused(mdUpdate('v1beta2', template('v1.33.4'), template('v1.34.1')), 'spec.template.spec.version');
  });

  it('KubeadmControlPlane: spec.machineTemplate.spec.infrastructureRef (v1beta2) is refused as spec.machineTemplate.infrastructureRef (v1beta1) is', () => {
    const ref = (name: string) => ({ apiGroup: 'infra.io', kind: 'MachineTemplate', name });
    expectRefused(kcpUpdate('v1beta1', { machineTemplate: { infrastructureRef: ref('old') } }, { machineTemplate: { infrastructureRef: ref('new') } }), 'spec.machineTemplate.infrastructureRef');
    expectRefused(
      kcpUpdate('v1beta2', { machineTemplate: { spec: { infrastructureRef: ref('old') } } }, { machineTemplate: { spec: { infrastructureRef: ref('new') } } }),
      'spec.machineTemplate.spec.infrastructureRef',
    );
  });

  it("KubeadmControlPlane: the request's own version decides what its controller ignores (the control-plane endpoint, from v1beta2 on)", () => {
    const endpoint = (host: string) => ({ kubeadmConfigSpec: { clusterConfiguration: { controlPlaneEndpoint: `${host}:6443` } } });
    expectRefused(kcpUpdate('v1beta1', endpoint('old.example'), endpoint('new.example')), 'spec.kubeadmConfigSpec');
    expect(judge(kcpUpdate('v1beta2', endpoint('old.example'), endpoint('new.example'))).allowed).toBe(true);
  });
});

// Answers that read a kind of the model before or beside their plan (a stale one of it must not hide a risk): a Cluster
// API rollout's nodes read from its Machines; a namespace shown being deleted by a stale Namespace list, which may
// show a namespace deleted and created again since.
import { describe, expect, it } from 'vitest';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { ModelHealth } from '../../../src/cluster/snapshot.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, evictionRequest, request } from '../../support/admission.ts';
import { localPV, longhornNode, machine, namespace, node, pod, pv, pvc, volumeWithReplicas } from '../../support/fixtures.ts';

const config = defaultConfig();
const staleOf = (...resources: string[]): ModelHealth => ({ synced: () => true, staleResources: () => resources });

// ------------------------------------------------------------------------------------------------ 1. CAPI rollout

/**
 * The model's (stale) Machines: md-b has one Machine, on w-2. Live, md-b was scaled up a moment ago and its second
 * Machine runs on w-1, which holds vol-w1's only copy (numberOfReplicas 1, attached: it held data).
 */
function capiCluster(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['w-1', 'w-2']) model.upsert('node', node({ name, labels: { 'kubernetes.io/hostname': name } }));
  model.replaceAll('longhornNode', ['w-1', 'w-2'].map((name) => longhornNode({ name })));
  const vol = volumeWithReplicas('vol-w1', ['w-1'], { numberOfReplicas: 1, state: 'attached' });
  model.replaceAll('longhornVolume', [vol.volume]);
  model.replaceAll('longhornReplica', vol.replicas);
  model.replaceAll('machine', [machine({ name: 'md-b-1', nodeName: 'w-2', machineSet: 'md-b-x', machineDeployment: 'md-b' })]);
  return model;
}

function rollout(name: string) {
  const md = (version: string) => ({
    apiVersion: 'cluster.x-k8s.io/v1beta1',
    kind: 'MachineDeployment',
    metadata: { name, namespace: 'default' },
    spec: { replicas: 2, template: { spec: { version, clusterName: 'c1', bootstrap: { dataSecretName: 'b' }, infrastructureRef: { kind: 'M', name: 'm' } } } },
  });
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'MachineDeployment' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machinedeployments' },
    operation: 'UPDATE',
    namespace: 'default',
    name,
    object: md('v1.31.4'),
    oldObject: md('v1.30.8'),
  });
}

describe('a MachineDeployment rollout while the Machines are stale', () => {
  it('fresh, with both Machines known, it is refused for vol-w1 (control)', () => {
    const model = capiCluster();
    model.upsert('machine', machine({ name: 'md-b-2', nodeName: 'w-1', machineSet: 'md-b-x', machineDeployment: 'md-b' }));
    const decision = upgradeValidator(config).handle(rollout('md-b'), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('vol-w1');
  });

  it('its nodes are read from the Machines: stale Machines make the answer unknown, not an allow on the nodes they still show', () => {
    const decision = upgradeValidator(config).handle(rollout('md-b'), context(capiCluster(), { health: staleOf('machines.cluster.x-k8s.io') }));
    expect(decision.allowed).toBe(false);
    expect(decision.deniedChecks).toContain('stale-model');
  });
});

// ------------------------------------------------------------------------------------------------ 2. namespace shortcut

/**
 * Namespace shop was deleted and created again (kubectl delete ns shop; kubectl create ns shop; redeploy). The stale
 * Namespace list still holds the old one, being deleted; the pods, PVs and PVCs are fresh and show the new app's pod
 * db-0 on node-1 with a local PV.
 */
function recreated(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('node', node({ name: 'node-1' }));
  model.upsert('node', node({ name: 'node-2' }));
  model.upsert('namespace', namespace({ name: 'shop', deleting: true }));
  model.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'node-1', claimNamespace: 'shop', claimName: 'data-db-0' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data-db-0', volumeName: 'pv-local' }));
  model.upsert('pod', pod({ namespace: 'shop', name: 'db-0', nodeName: 'node-1', controllerKind: 'StatefulSet', claimNames: ['data-db-0'] }));
  return model;
}

describe('a namespace shown being deleted by a stale Namespace list', () => {
  it('control: the same eviction with the namespace shown live is refused (node-local-volume)', () => {
    const model = recreated();
    model.upsert('namespace', namespace({ name: 'shop' }));
    const decision = podEvictionValidator(config).handle(evictionRequest('db-0', { namespace: 'shop' }), context(model, { health: staleOf('namespaces') }));
    expect(decision.allowed).toBe(false);
  });

  it('an eviction of a pod with a local PV there is judged as if the namespace lived, not passed as "its namespace is going"', () => {
    const decision = podEvictionValidator(config).handle(evictionRequest('db-0', { namespace: 'shop' }), context(recreated(), { health: staleOf('namespaces') }));
    expect(decision.allowed).toBe(false);
    expect(decision.deniedChecks).toContain('node-local-volume');
  });

  it("Argo CD's DELETE of a PVC whose PV deletes its data there is judged as unknown, not passed", () => {
    const model = recreated();
    model.upsert('persistentVolume', pv({ name: 'pv-data', claimNamespace: 'shop', claimName: 'data', reclaimPolicy: 'Delete' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data', volumeName: 'pv-data' }));
    const argo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
    const decision = pvcDeleteValidator(config).handle(
      request({
        kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
        resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
        operation: 'DELETE',
        namespace: 'shop',
        name: 'data',
        userInfo: argo,
        oldObject: { metadata: { name: 'data', namespace: 'shop' }, spec: { volumeName: 'pv-data' }, status: { phase: 'Bound' } },
      }),
      context(model, { health: staleOf('namespaces') }),
    );
    expect(decision.allowed).toBe(false);
    expect(decision.deniedChecks).toContain('stale-model');
  });
});

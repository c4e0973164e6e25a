// A Cluster API Machine's removal admitted on its owner's carried skip (a KubeadmControlPlane's Machine DELETE, a
// MachineDeployment's old MachineSet scale-down) is followed by its drain: the Machine controller cordons the node
// (a Node UPDATE setting spec.unschedulable, as capi-manager) and evicts its pods, then deletes the infrastructure
// machine. The owner's skip carries to those steps while the Machine is being deleted, or the rollout the admin
// accepted stalls at the drain (the controller retries the cordon for good without a node drain timeout).
import { describe, expect, it } from 'vitest';
import type { Decision, UserInfo } from '../../../src/admission/types.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podDeleteValidator } from '../../../src/admission/validators/pod-delete.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest, request } from '../../support/admission.ts';
import { longhornNode, machine, machineOwner, node, pod, pvc, volumeWithReplicas } from '../../support/fixtures.ts';

const CAPI_MANAGER: UserInfo = { username: 'system:serviceaccount:capi-system:capi-manager', groups: ['system:serviceaccounts'] };
const SKIP = { 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-reason': 'rollout, INC-7' };

interface Options {
  /** Which Machines are being deleted: cp-1 (KubeadmControlPlane cp, node h4), m-old-1 (MachineDeployment md-a, node h1). */
  readonly deleting?: readonly string[];
  readonly cpAnnotations?: Record<string, string>;
  readonly mdAnnotations?: Record<string, string>;
  /** The nodes already cordoned (an eviction's drain). */
  readonly cordoned?: readonly string[];
}

/**
 * h1: md-a's old Machine m-old-1, single-replica vol-s; h4: cp's Machine cp-1, single-replica vol-cp (claimed by
 * capi/data-app-0, used by pod app-0). Each node also runs a pod without data (web-1 on h1, web-4 on h4).
 */
function cluster(options: Options = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['h1', 'h2', 'h3', 'h4']) {
    model.upsert('node', node({ name, unschedulable: options.cordoned?.includes(name) === true }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  for (const [name, onNode] of [
    ['vol-s', 'h1'],
    ['vol-cp', 'h4'],
  ] as const) {
    const { volume, replicas } = volumeWithReplicas(name, [onNode], { state: 'detached', numberOfReplicas: 1 });
    model.upsert('longhornVolume', volume);
    for (const replica of replicas) model.upsert('longhornReplica', replica);
  }
  model.upsert('persistentVolumeClaim', pvc({ namespace: 'apps', name: 'data-app-0', volumeName: 'vol-cp' }));
  model.upsert('pod', pod({ namespace: 'apps', name: 'app-0', nodeName: 'h4', controllerKind: 'StatefulSet', claimNames: ['data-app-0'] }));
  model.upsert('pod', pod({ namespace: 'apps', name: 'web-1', nodeName: 'h1', controllerKind: 'ReplicaSet' }));
  model.upsert('pod', pod({ namespace: 'apps', name: 'web-4', nodeName: 'h4', controllerKind: 'ReplicaSet' }));
  const deleting = (name: string): boolean => options.deleting?.includes(name) === true;
  model.upsert('machine', machine({ namespace: 'capi', name: 'm-old-1', nodeName: 'h1', machineSet: 'md-a-old', machineDeployment: 'md-a', deleting: deleting('m-old-1') }));
  model.upsert('machine', machine({ namespace: 'capi', name: 'm-new-1', nodeName: 'h3', machineSet: 'md-a-new', machineDeployment: 'md-a' }));
  model.upsert('machine', machine({ namespace: 'capi', name: 'cp-1', nodeName: 'h4', machineSet: '', machineDeployment: '', controlPlane: 'cp', deleting: deleting('cp-1') }));
  if (options.cpAnnotations) model.upsert('kubeadmControlPlane', machineOwner({ namespace: 'capi', name: 'cp', annotations: options.cpAnnotations }));
  if (options.mdAnnotations) model.upsert('machineDeployment', machineOwner({ namespace: 'capi', name: 'md-a', annotations: options.mdAnnotations }));
  return model;
}

const cordon = (model: ClusterModel, name: string): Decision =>
  nodeCordonValidator(defaultConfig()).handle(cordonRequest(name, {}, CAPI_MANAGER), context(model));
const evict = (model: ClusterModel, name: string): Decision =>
  podEvictionValidator(defaultConfig()).handle(evictionRequest(name, { namespace: 'apps', user: CAPI_MANAGER }), context(model));

/** A NoSchedule taint added to the node, without a cordon (how an autoscaler or an operator starts emptying it). */
function taint(model: ClusterModel, name: string): Decision {
  const nodeObject = (taints: object[]) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, annotations: {} }, spec: { taints } });
  return nodeCordonValidator(defaultConfig()).handle(
    request({
      kind: { group: '', version: 'v1', kind: 'Node' },
      resource: { group: '', version: 'v1', resource: 'nodes' },
      operation: 'UPDATE',
      name,
      userInfo: CAPI_MANAGER,
      object: nodeObject([{ key: 'example.com/drain', effect: 'NoSchedule' }]),
      oldObject: nodeObject([]),
    }),
    context(model),
  );
}

/** `kubectl drain --disable-eviction`: a DELETE of app-0 on its cordoned node. */
function deleteApp(model: ClusterModel): Decision {
  return podDeleteValidator(defaultConfig()).handle(
    request({
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'DELETE',
      namespace: 'apps',
      name: 'app-0',
      oldObject: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'app-0', namespace: 'apps', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'app', uid: 'u-1', controller: true }] },
        spec: { nodeName: 'h4', volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-app-0' } }] },
        status: { phase: 'Running' },
      },
    }),
    context(model),
  );
}

describe("the drain of a Machine being deleted carries its owner's skip", () => {
  it("KubeadmControlPlane: the cordon and a NoSchedule taint of cp-1's node pass on cp's skip, audited as carried", () => {
    const refused = cordon(cluster({ deleting: ['cp-1'] }), 'h4');
    expect(refused.allowed).toBe(false);
    expect(refused.deniedChecks).toEqual(expect.arrayContaining(['single-replica', 'last-replica-on-node']));

    const carried = cordon(cluster({ deleting: ['cp-1'], cpAnnotations: SKIP }), 'h4');
    expect(carried.status?.message).toBeUndefined();
    expect(carried.allowed).toBe(true);
    expect(carried.overrides).toEqual(expect.arrayContaining(['single-replica', 'last-replica-on-node']));
    expect(carried.auditAnnotations?.['override-source']).toBe('KubeadmControlPlane capi/cp (volume-guard.io/skip, owning Machine cp-1, draining node h4)');
    expect(carried.auditAnnotations?.['override-writer']).toBe('admin');
    expect(carried.auditAnnotations?.['override-reason']).toBe('rollout, INC-7');

    expect(taint(cluster({ deleting: ['cp-1'] }), 'h4').allowed).toBe(false);
    expect(taint(cluster({ deleting: ['cp-1'], cpAnnotations: SKIP }), 'h4').allowed).toBe(true);
  });

  it("KubeadmControlPlane: the evictions of the drain (and a drain's pod DELETE) on cp-1's cordoned node pass on cp's skip", () => {
    const options = { deleting: ['cp-1'], cordoned: ['h4'] };
    // web-4 uses no data, but on a node being drained it gets the node-wide checks: vol-cp's single copy refuses it.
    const refused = evict(cluster(options), 'web-4');
    expect(refused.allowed).toBe(false);
    expect(refused.deniedChecks).toEqual(expect.arrayContaining(['single-replica', 'last-replica-on-node']));
    expect(evict(cluster(options), 'app-0').allowed).toBe(false);
    expect(deleteApp(cluster(options)).allowed).toBe(false);

    for (const name of ['web-4', 'app-0']) {
      const carried = evict(cluster({ ...options, cpAnnotations: SKIP }), name);
      expect(carried.status?.message).toBeUndefined();
      expect(carried.allowed).toBe(true);
      expect(carried.auditAnnotations?.['override-source']).toBe('KubeadmControlPlane capi/cp (volume-guard.io/skip, owning Machine cp-1, draining node h4)');
    }
    expect(deleteApp(cluster({ ...options, cpAnnotations: SKIP })).allowed).toBe(true);
  });

  it("MachineDeployment: the cordon and evictions of its old Machine's node pass on md-a's skip once that Machine is being deleted", () => {
    expect(cordon(cluster({ deleting: ['m-old-1'] }), 'h1').allowed).toBe(false);
    const carried = cordon(cluster({ deleting: ['m-old-1'], mdAnnotations: SKIP }), 'h1');
    expect(carried.status?.message).toBeUndefined();
    expect(carried.allowed).toBe(true);
    expect(carried.auditAnnotations?.['override-source']).toBe('MachineDeployment capi/md-a (volume-guard.io/skip, owning Machine m-old-1, draining node h1)');

    const options = { deleting: ['m-old-1'], cordoned: ['h1'] };
    expect(evict(cluster(options), 'web-1').allowed).toBe(false);
    expect(evict(cluster({ ...options, mdAnnotations: SKIP }), 'web-1').allowed).toBe(true);
  });

  it('a removal volume-guard has just admitted counts before the informers show the Machine being deleted', () => {
    const model = cluster({ cpAnnotations: SKIP });
    expect(cordon(model, 'h4').allowed).toBe(false);
    model.admitRemoval({ kind: 'machine', namespace: 'capi', name: 'cp-1', node: 'h4' });
    expect(cordon(model, 'h4').allowed).toBe(true);
  });

  it("not for a Machine that stays, nor another owner's skip, nor checks the skip does not name", () => {
    // The owners carry skips, but no Machine is being deleted: a cordon of a healthy Machine's node is judged alone.
    const staying = cluster({ cpAnnotations: SKIP, mdAnnotations: SKIP, cordoned: ['h1', 'h4'] });
    expect(cordon(cluster({ cpAnnotations: SKIP, mdAnnotations: SKIP }), 'h4').allowed).toBe(false);
    expect(cordon(cluster({ cpAnnotations: SKIP, mdAnnotations: SKIP }), 'h1').allowed).toBe(false);
    expect(evict(staying, 'web-4').allowed).toBe(false);
    expect(evict(staying, 'web-1').allowed).toBe(false);

    // cp-1 is being deleted, but only md-a carries a skip; and cp's skip does not reach md-a's Machine's node.
    expect(cordon(cluster({ deleting: ['cp-1'], mdAnnotations: SKIP }), 'h4').allowed).toBe(false);
    expect(cordon(cluster({ deleting: ['cp-1', 'm-old-1'], cpAnnotations: SKIP }), 'h1').allowed).toBe(false);

    // A skip of another check, or one without its recorded writer, waives nothing here.
    const nodeLocal = { ...SKIP, 'volume-guard.io/skip': 'node-local-volume' };
    expect(cordon(cluster({ deleting: ['cp-1'], cpAnnotations: nodeLocal }), 'h4').allowed).toBe(false);
    expect(cordon(cluster({ deleting: ['cp-1'], cpAnnotations: { 'volume-guard.io/skip': 'single-replica' } }), 'h4').allowed).toBe(false);
  });

  it('single-replica waives the last copy of volumes set to one replica only, not of a volume left with one by a node down', () => {
    const model = cluster({ deleting: ['cp-1'], cpAnnotations: SKIP });
    // vol-2 (numberOfReplicas 2) keeps copies on h2 and h4; h2 has been down an hour.
    const { volume, replicas } = volumeWithReplicas('vol-2', ['h2', 'h4'], { state: 'attached' });
    model.upsert('longhornVolume', volume);
    for (const replica of replicas) model.upsert('longhornReplica', replica);
    model.upsert('node', node({ name: 'h2', ready: 'False', readySince: Date.now() - 3_600_000 }));
    const decision = cordon(model, 'h4');
    expect(decision.allowed).toBe(false);
    expect(decision.deniedChecks).toEqual(['last-replica-on-node']);
    expect(decision.status?.message).toContain('vol-2');
    expect(decision.status?.message).not.toContain('vol-cp');
  });
});

// Longhorn's node-drain-policy block-for-eviction keeps a node's last copies by holding its drain (the
// instance-manager PodDisruptionBudget) until they are rebuilt elsewhere. Cluster API's Machine controller deletes
// the node and its infrastructure machine after the drain, except that it skips the drain altogether for a Machine
// annotated machine.cluster.x-k8s.io/exclude-node-draining and stops waiting on evictions once the Machine's node
// drain timeout is past (isNodeDrainAllowed: the annotation, nodeDrainTimeoutExceeded). Then the policy holds
// nothing: the last copies go with the node, and the removal is refused as under any other policy.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { machineValidator } from '../../../src/admission/validators/machine.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformMachine } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, longhornSetting, node, replica, volume } from '../../support/fixtures.ts';

const validator = machineValidator(defaultConfig());

/** The Machine object as the API server holds it (v1beta2 unless `spec` says otherwise), its node w1. */
function machineObject(name: string, annotations: Record<string, string> = {}, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'Machine',
    metadata: { name, namespace: 'capi', annotations, labels: { 'cluster.x-k8s.io/set-name': 'ms', 'cluster.x-k8s.io/deployment-name': 'md' } },
    spec: { clusterName: 'c1', ...spec },
    status: { nodeRef: { name: 'w1' } },
  };
}

/** w1 holds the only copy of vol-1; node-drain-policy block-for-eviction; the Machine `m1` (as given) on w1. */
function cluster(machine: unknown): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  m.setLonghornInstalled(true);
  for (const name of ['w1', 'w2']) {
    m.upsert('node', node({ name }));
    m.upsert('longhornNode', longhornNode({ name }));
  }
  m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
  m.upsert('longhornVolume', volume({ name: 'vol-1', numberOfReplicas: 1, currentNodeID: 'w1' }));
  m.upsert('longhornReplica', replica({ volumeName: 'vol-1', nodeID: 'w1' }));
  const record = transformMachine(machine);
  if (record === undefined) throw new Error('machine not read');
  m.upsert('machine', record);
  return m;
}

function deleteMachine(machine: unknown): AdmissionRequest {
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
    operation: 'DELETE',
    namespace: 'capi',
    name: 'm1',
    oldObject: machine,
  });
}

function scaleDown(): AdmissionRequest {
  const set = (replicas: number) => ({ apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'MachineSet', metadata: { name: 'ms', namespace: 'capi' }, spec: { replicas } });
  return request({
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'MachineSet' },
    resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machinesets' },
    operation: 'UPDATE',
    namespace: 'capi',
    name: 'ms',
    object: set(0),
    oldObject: set(1),
  });
}

describe('Cluster API removals whose drain may be cut short, under block-for-eviction', () => {
  it('a Machine Cluster API drains in full: allowed, the copies moved by Longhorn first (as before)', () => {
    const plain = machineObject('m1');
    const decision = validator.handle(deleteMachine(plain), context(cluster(plain)));
    expect(decision.allowed).toBe(true);
    expect(decision.warnings?.join('\n')).toContain('block-for-eviction moves them');
    expect(validator.handle(scaleDown(), context(cluster(plain))).allowed).toBe(true);
    // A zero timeout (v1beta1 "0s") is no timeout.
    expect(transformMachine(machineObject('m1', {}, { nodeDrainTimeout: '0s' }))?.drainCutShort).toBeUndefined();
    expect(transformMachine(machineObject('m1', {}, { nodeDrainTimeout: '-5m' }))?.drainCutShort).toBeUndefined();
  });

  it.each([
    ['annotated exclude-node-draining', machineObject('m1', { 'machine.cluster.x-k8s.io/exclude-node-draining': '' }), 'without a drain'],
    ['with a v1beta2 node drain timeout', machineObject('m1', {}, { deletion: { nodeDrainTimeoutSeconds: 600 } }), 'drain timeout'],
    ['with a v1beta1 node drain timeout', { ...machineObject('m1', {}, { nodeDrainTimeout: '10m0s' }), apiVersion: 'cluster.x-k8s.io/v1beta1' }, 'drain timeout'],
  ])('a Machine %s: its deletion and the scale-down removing it are refused', (_label, machine, why) => {
    const deletion = validator.handle(deleteMachine(machine), context(cluster(machine)));
    expect(deletion.allowed).toBe(false);
    expect(deletion.status!.message).toContain('vol-1');
    expect(deletion.warnings?.join(' ').replace(/\s+/g, ' ')).toContain(why);
    const scale = validator.handle(scaleDown(), context(cluster(machine)));
    expect(scale.allowed).toBe(false);
    expect(scale.status!.message).toContain('vol-1');
  });
});

// The Machine controller reads the annotation and the timeout again at every reconcile, and Cluster API's MachineSet
// and KubeadmControlPlane controllers copy a node drain timeout down to Machines already being deleted. Cutting the
// drain short after the DELETE passed (the annotation added once an eviction stalled it) deletes the disks all the same.
describe('a Machine being deleted whose drain is cut short afterwards', () => {
  const deleting = (annotations: Record<string, string> = {}, spec: Record<string, unknown> = {}) => {
    const machine = machineObject('m1', annotations, spec);
    return { ...machine, metadata: { ...machine.metadata, deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['machine.cluster.x-k8s.io'] } };
  };
  const update = (object: unknown, oldObject: unknown): AdmissionRequest =>
    request({
      kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Machine' },
      resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machines' },
      operation: 'UPDATE',
      namespace: 'capi',
      name: 'm1',
      object,
      oldObject,
    });

  it('the exclude annotation added: refused, naming the last copy', () => {
    const before = deleting();
    const decision = validator.handle(update(deleting({ 'machine.cluster.x-k8s.io/exclude-node-draining': '' }), before), context(cluster(before)));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('drain cut short of Machine capi/m1 (node w1), being deleted: annotation machine.cluster.x-k8s.io/exclude-node-draining added');
    expect(decision.status?.message).toContain('vol-1');
  });

  it('a node drain timeout copied down (v1beta2 seconds, v1beta1 duration): refused', () => {
    const before = deleting();
    expect(validator.handle(update(deleting({}, { deletion: { nodeDrainTimeoutSeconds: 60 } }), before), context(cluster(before))).allowed).toBe(false);
    expect(validator.handle(update(deleting({}, { nodeDrainTimeout: '1m' }), before), context(cluster(before))).allowed).toBe(false);
  });

  it('passes what cuts nothing shorter, a Machine not being deleted, and a node with an override', () => {
    const timed = deleting({}, { deletion: { nodeDrainTimeoutSeconds: 600 } });
    // Already timed: another timeout changes nothing this judgment can keep (its DELETE was judged with one).
    expect(validator.handle(update(deleting({}, { deletion: { nodeDrainTimeoutSeconds: 60 } }), timed), context(cluster(timed))).allowed).toBe(true);
    const excluded = deleting({ 'machine.cluster.x-k8s.io/exclude-node-draining': '' });
    expect(validator.handle(update(deleting(), excluded), context(cluster(excluded))).allowed).toBe(true);
    const live = machineObject('m1');
    expect(validator.handle(update(machineObject('m1', { 'machine.cluster.x-k8s.io/exclude-node-draining': '' }), live), context(cluster(live))).allowed).toBe(true);
    const before = deleting();
    const model = cluster(before);
    model.upsert('node', node({ name: 'w1', annotations: { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-reason': 'replaced' } }));
    expect(validator.handle(update(deleting({ 'machine.cluster.x-k8s.io/exclude-node-draining': '' }), before), context(model)).allowed).toBe(true);
  });

  it('the webhook is called for such UPDATEs only', () => {
    const condition = validator.declaration.matchConditions?.[0]?.expression ?? '';
    expect(condition).toContain("has(oldObject.metadata.deletionTimestamp)");
    expect(condition).toContain("'machine.cluster.x-k8s.io/exclude-node-draining' in object.metadata.annotations");
    const rule = validator.declaration.rules.find((entry) => 'resources' in entry && entry.resources.includes('machines'));
    expect(rule && 'operations' in rule ? rule.operations : []).toEqual(['DELETE', 'UPDATE']);
  });
});

// A pod tolerating every taint (an empty-key `operator: Exists` toleration, as agents and operators often carry) is
// placed on a cordoned node as on any other: the scheduler's NodeUnschedulable filter lets on a pod that tolerates
// `node.kubernetes.io/unschedulable:NoSchedule`, and TaintToleration every taint it tolerates. When its node is the only
// one its nodeSelector, required node affinity and PVs allow, `kubectl drain` evicts it and the scheduler puts its
// replacement straight back there, on the data it wrote to its hostPath: no autoscaler is asked for a node, since the
// pod never goes Pending. Neither the cordon nor the drain's eviction loses anything.
// Not when another node would take it (a cordoned or tainted one too: it tolerates them), nor when the node is removed
// with its disks, nor for a pod tolerating only some taints (a cordon made of a new NoSchedule taint may refuse it).
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { collectNodeLocalVolume } from '../../../src/checks/node-local-volume.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { NodeRecord } from '../../../src/cluster/records.ts';
import { transformNode, transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { RiskTracker } from '../../../src/observe/risks.ts';
import { context, cordonRequest, evictionRequest } from '../../support/admission.ts';

const config = defaultConfig();
type Raw = Record<string, unknown>;

function rawNode(name: string, labels: Record<string, string> = {}, spec: Raw = {}): NodeRecord {
  return transformNode({
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
    spec,
    status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2020-01-01T00:00:00Z' }] },
  })!;
}

const EVERYTHING = { operator: 'Exists' };

/** The ReplicaSet pod agent-7c9-x1 on node-1, writing to hostPath /srv/agent. */
function hostPathPod(placement: Raw) {
  return transformPod({
    metadata: { name: 'agent-7c9-x1', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'agent-7c9', uid: 'u-rs', controller: true }] },
    spec: {
      nodeName: 'node-1',
      ...placement,
      containers: [{ name: 'c', volumeMounts: [{ name: 'state', mountPath: '/state' }] }],
      volumes: [{ name: 'state', hostPath: { path: '/srv/agent' } }],
    },
    status: { phase: 'Running' },
  })!;
}

function modelOf(nodes: readonly NodeRecord[], placement: Raw): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  for (const node of nodes) model.upsert('node', node);
  model.upsert('pod', hostPathPod(placement));
  return model;
}

const evict = (model: ClusterModel) => podEvictionValidator(config).handle(evictionRequest('agent-7c9-x1'), context(model));
const cordon = (model: ClusterModel) => nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model));
const cordoned = (name: string, labels: Record<string, string> = {}) => rawNode(name, labels, { unschedulable: true });

const ssd = (tolerations: Raw[]): Raw => ({ nodeSelector: { disktype: 'ssd' }, tolerations });

describe('a hostPath pod tolerating every taint, on the one node its selector matches', () => {
  it('is evicted by the drain of its cordoned node: its replacement lands back there', () => {
    const decision = evict(modelOf([cordoned('node-1', { disktype: 'ssd' }), rawNode('node-2')], ssd([EVERYTHING])));
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
  });

  it('does not refuse the cordon of its node', () => {
    const decision = cordon(modelOf([rawNode('node-1', { disktype: 'ssd' }), rawNode('node-2')], ssd([EVERYTHING])));
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
  });

  it('on a cluster of one node, with no selector at all: it lands back on that node', () => {
    expect(evict(modelOf([cordoned('node-1')], { tolerations: [EVERYTHING] })).allowed).toBe(true);
    expect(cordon(modelOf([rawNode('node-1')], { tolerations: [EVERYTHING] })).allowed).toBe(true);
  });

  it('the same with one blanket toleration per effect (NoSchedule and NoExecute)', () => {
    const perEffect = [
      { operator: 'Exists', effect: 'NoSchedule' },
      { operator: 'Exists', effect: 'NoExecute' },
    ];
    expect(evict(modelOf([cordoned('node-1', { disktype: 'ssd' }), rawNode('node-2')], ssd(perEffect))).allowed).toBe(true);
  });

  it('is refused when its node no longer matches its selector: the pod goes Pending, a node added for it starts it empty', () => {
    const decision = evict(modelOf([cordoned('node-1'), rawNode('node-2')], ssd([EVERYTHING])));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('/srv/agent');
  });

  it('the drain is refused without that toleration (control): the pod goes Pending, a node added for it starts it empty', () => {
    const decision = evict(modelOf([cordoned('node-1', { disktype: 'ssd' }), rawNode('node-2')], ssd([])));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('/srv/agent');
    expect(cordon(modelOf([rawNode('node-1', { disktype: 'ssd' }), rawNode('node-2')], ssd([]))).allowed).toBe(false);
  });

  it('is refused when another node its selector matches would take it, even cordoned (the pod tolerates that too)', () => {
    expect(evict(modelOf([cordoned('node-1', { disktype: 'ssd' }), rawNode('node-2', { disktype: 'ssd' })], ssd([EVERYTHING]))).allowed).toBe(false);
    expect(evict(modelOf([cordoned('node-1', { disktype: 'ssd' }), cordoned('node-2', { disktype: 'ssd' })], ssd([EVERYTHING]))).allowed).toBe(false);
    expect(cordon(modelOf([rawNode('node-1', { disktype: 'ssd' }), cordoned('node-2', { disktype: 'ssd' })], ssd([EVERYTHING]))).allowed).toBe(false);
  });

  it('is refused for a pod tolerating only some taints: a cordon made of another NoSchedule taint keeps it off', () => {
    // It tolerates the cordon's taint but not `maintenance:NoSchedule`, which a drain may be made of instead.
    const unschedulable = { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' };
    expect(cordon(modelOf([rawNode('node-1', { disktype: 'ssd' }), rawNode('node-2')], ssd([unschedulable]))).allowed).toBe(false);
    // A blanket toleration of NoSchedule only does not keep it through a NoExecute taint.
    const noSchedule = { operator: 'Exists', effect: 'NoSchedule' };
    expect(cordon(modelOf([rawNode('node-1', { disktype: 'ssd' }), rawNode('node-2')], ssd([noSchedule]))).allowed).toBe(false);
  });

  it('is still reported when the node is removed with its disks: it has no node to come back to', () => {
    const model = modelOf([rawNode('node-1', { disktype: 'ssd' }), rawNode('node-2')], ssd([EVERYTHING]));
    const { findings } = collectNodeLocalVolume(model, { node: 'node-1', removed: true });
    expect(findings.map((finding) => finding.object.name)).toEqual(['agent-7c9-x1']);
    expect(findings[0]?.tags).toContain('inline-hostPath');
    // An autoscaler's drain taint: the node is drained, then its instance deleted.
    const leaving = rawNode('node-1', { disktype: 'ssd' }, { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1700000000', effect: 'NoSchedule' }] });
    expect(evict(modelOf([leaving, rawNode('node-2')], ssd([EVERYTHING]))).allowed).toBe(false);
  });
});

// The at-risk gauges follow the model write by write: the pod's count on node-1 changes with another node.
describe('the at_risk_volumes gauge of a hostPath pod tolerating every taint', () => {
  it('counts it once another node could take it, and no more once that node is gone', () => {
    const model = new ClusterModel(VOLUME_SETS);
    const tracker = new RiskTracker(model, {});
    const sink = tracker.sink();
    const atRisk = (): number => {
      expect(tracker.flush()).toBe(true);
      return tracker.counts().atRiskVolumes['node-local-volume'];
    };
    sink.upsert('node', rawNode('node-1', { disktype: 'ssd' }));
    sink.upsert('node', rawNode('node-2'));
    sink.upsert('pod', hostPathPod(ssd([EVERYTHING])));
    expect(atRisk()).toBe(0);
    sink.upsert('node', rawNode('node-2', { disktype: 'ssd' }));
    expect(collectNodeLocalVolume(model, { node: 'node-1' }).findings).toHaveLength(1);
    expect(atRisk()).toBe(1);
    sink.remove('node', 'node-2');
    expect(atRisk()).toBe(0);
    sink.upsert('node', rawNode('node-3', { disktype: 'ssd' }));
    expect(atRisk()).toBe(1);
  });
});

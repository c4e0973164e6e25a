// Where a hostPath pod's replacement can start is decided by every constraint the scheduler applies: its nodeSelector
// and required node affinity (NodeAffinity), the node affinity of the PVs bound to its claims (VolumeBinding), and the
// nodes' taints and state (taints.ts).
// - Evicted from a node that stays schedulable, the pod is recreated at once and placed on a feasible node: when no
//   other node is feasible, that is its own node, and it comes back to its data whatever its selector says
//   (kubernetes.io/os=linux on a single node, the only node of its zone, a NotIn leaving only its node). A node that
//   no longer matches the pod's selector takes it back no more: the pod goes Pending, and a node added for it starts
//   it without the data (refused, as before).
// - A pod whose selector names its node by identity and also asks for a label that node no longer carries can never
//   be scheduled again: nothing recreates it elsewhere, whether the node is cordoned or the pod evicted.
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { collectNodeLocalVolume } from '../../../src/checks/node-local-volume.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { NodeRecord } from '../../../src/cluster/records.ts';
import { transformNode, transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest } from '../../support/admission.ts';
import { csiPV, pvc } from '../../support/fixtures.ts';

const config = defaultConfig();
type Raw = Record<string, unknown>;
const ZONE = 'topology.kubernetes.io/zone';

function rawNode(name: string, labels: Record<string, string> = {}, spec: Raw = {}): NodeRecord {
  return transformNode({
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...labels } },
    spec,
    status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2020-01-01T00:00:00Z' }] },
  })!;
}

/** The ReplicaSet pod cache-5d8-x1 on node-1, writing to hostPath /data, and mounting claim `cache` with `claim`. */
function hostPathPod(placement: Raw = {}, options: { claim?: boolean } = {}) {
  const claimVolume = options.claim === true ? [{ name: 'cache', persistentVolumeClaim: { claimName: 'cache' } }] : [];
  return transformPod({
    metadata: { name: 'cache-5d8-x1', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'cache-5d8', uid: 'u-rs', controller: true }] },
    spec: {
      nodeName: 'node-1',
      ...placement,
      containers: [{ name: 'c', volumeMounts: [{ name: 'data', mountPath: '/data' }, ...claimVolume.map((volume) => ({ name: volume.name, mountPath: '/cache' }))] }],
      volumes: [{ name: 'data', hostPath: { path: '/data' } }, ...claimVolume],
    },
    status: { phase: 'Running' },
  })!;
}

function modelOf(nodes: readonly NodeRecord[], placement: Raw = {}, zonalClaim?: string): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  for (const node of nodes) model.upsert('node', node);
  model.upsert('pod', hostPathPod(placement, { claim: zonalClaim !== undefined }));
  if (zonalClaim !== undefined) {
    // A network block volume of one zone (EBS): the scheduler starts the pod only on a node of that zone.
    const affinity = [{ matchExpressions: [{ key: ZONE, operator: 'In', values: [zonalClaim] }], matchFields: [] }];
    model.upsert('persistentVolume', csiPV('ebs.csi.aws.com', { name: 'pv-cache', claimName: 'cache', nodeAffinity: affinity }));
    model.upsert('persistentVolumeClaim', pvc({ name: 'cache', volumeName: 'pv-cache' }));
  }
  return model;
}

/** An admin evicting cache-5d8-x1 from node-1, which stays schedulable. */
function evict(nodes: readonly NodeRecord[], placement: Raw = {}, zonalClaim?: string) {
  return podEvictionValidator(config).handle(evictionRequest('cache-5d8-x1'), context(modelOf(nodes, placement, zonalClaim)));
}

const affinity = (...matchExpressions: Raw[]): Raw => ({
  affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions }] } } },
});

describe('a hostPath pod evicted from a schedulable node that is the only one its selector matches', () => {
  it('comes straight back on a single node, its nodeSelector kubernetes.io/os=linux', () => {
    const decision = evict([rawNode('node-1')], { nodeSelector: { 'kubernetes.io/os': 'linux' } });
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
  });

  it('comes straight back to the only node of its zone', () => {
    const decision = evict([rawNode('node-1', { [ZONE]: 'a' }), rawNode('node-2', { [ZONE]: 'b' })], { nodeSelector: { [ZONE]: 'a' } });
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
  });

  it('comes straight back when its affinity rules out every other node (hostname NotIn [node-2])', () => {
    const notIn = affinity({ key: 'kubernetes.io/hostname', operator: 'NotIn', values: ['node-2'] });
    const decision = evict([rawNode('node-1'), rawNode('node-2')], notIn);
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
  });

  it('is refused when another node matches its selector and takes it', () => {
    const decision = evict([rawNode('node-1', { [ZONE]: 'a' }), rawNode('node-2', { [ZONE]: 'a' })], { nodeSelector: { [ZONE]: 'a' } });
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('/data');
  });

  it('comes straight back when another matching node is cordoned', () => {
    const nodes = [rawNode('node-1', { [ZONE]: 'a' }), rawNode('node-2', { [ZONE]: 'a' }, { unschedulable: true })];
    expect(evict(nodes, { nodeSelector: { [ZONE]: 'a' } }).allowed).toBe(true);
  });

  it('is refused when its own node no longer matches its selector: it goes Pending, a node added for it starts it empty', () => {
    const decision = evict([rawNode('node-1')], { nodeSelector: { disktype: 'ssd' } });
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('/data');
  });
});

describe('a hostPath pod whose claim is bound to a zonal network PV', () => {
  it('comes straight back when its node is the only one of the PV’s zone', () => {
    const decision = evict([rawNode('node-1', { [ZONE]: 'a' }), rawNode('node-2', { [ZONE]: 'b' })], {}, 'a');
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
  });

  it('is refused when another node of that zone takes it', () => {
    const decision = evict([rawNode('node-1', { [ZONE]: 'a' }), rawNode('node-2', { [ZONE]: 'a' })], {}, 'a');
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('/data');
  });
});

// node-1 lost the label disktype=ssd, which node-2 carries: the replacement must match node-1 by its hostname and
// carry disktype=ssd, which no node does. It stays Pending; the data stays on node-1.
describe('a hostPath pod pinned to node-1 by hostname and by a label node-1 no longer carries', () => {
  const pinned = { nodeSelector: { 'kubernetes.io/hostname': 'node-1', disktype: 'ssd' } };
  const nodes = (): NodeRecord[] => [rawNode('node-1'), rawNode('node-2', { disktype: 'ssd' })];

  it('does not refuse the cordon of node-1: nothing recreates it elsewhere', () => {
    const model = modelOf(nodes(), pinned);
    const decision = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model));
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
  });

  it('does not refuse its eviction from a node that stays schedulable', () => {
    const decision = evict(nodes(), pinned);
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
  });

  it('is still reported when node-1 is removed: its data goes with the disks', () => {
    const { findings } = collectNodeLocalVolume(modelOf(nodes(), pinned), { node: 'node-1', removed: true });
    expect(findings.map((finding) => finding.tags)).toEqual([['in-use', 'inline-hostPath', 'node-removed']]);
  });

  it('is refused when its hostname list also names a node not in the cluster: that node may join and take it', () => {
    const open = affinity(
      { key: 'kubernetes.io/hostname', operator: 'In', values: ['node-1', 'node-3'] },
      { key: 'disktype', operator: 'In', values: ['ssd'] },
    );
    const model = modelOf(nodes(), open);
    const decision = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('/data');
  });
});

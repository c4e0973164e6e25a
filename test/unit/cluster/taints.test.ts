// A node's taints and a pod's NoSchedule tolerations, as the records keep them, and podLandsOn: whether the scheduler
// would place the pod's replacement on the node now (TaintToleration, NodeUnschedulable, the not-ready / unreachable
// condition taints).
import { describe, expect, it } from 'vitest';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { landingRefusal, podLandsOn, toleratesTaint } from '../../../src/cluster/taints.ts';
import { MAX_NODE_TAINTS, transformNode, transformPod } from '../../../src/cluster/transforms.ts';
import type { Toleration } from '../../../src/cluster/records.ts';
import { node, pod } from '../../support/fixtures.ts';

type Raw = Record<string, unknown>;

const rawNode = (spec: Raw, ready = 'True') =>
  transformNode({ metadata: { name: 'w1' }, spec, status: { conditions: [{ type: 'Ready', status: ready }] } })!;

function rawPod(spec: Raw, owner = 'ReplicaSet') {
  return transformPod({
    metadata: { name: 'p', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: owner, name: 'o', uid: 'u', controller: true }] },
    spec: { nodeName: 'w1', containers: [{ name: 'c', volumeMounts: [{ name: 'd', mountPath: '/d' }] }], ...spec },
  })!;
}

const claim = { volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }] };
const hostPath = { volumes: [{ name: 'd', hostPath: { path: '/data' } }] };

describe('transformNode taints', () => {
  it('keeps the NoSchedule and NoExecute taints no field stands for, in order; omits them when none', () => {
    const record = rawNode({
      unschedulable: true,
      taints: [
        { key: 'dedicated', value: 'infra', effect: 'NoSchedule' },
        { key: 'soft', effect: 'PreferNoSchedule' },
        { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' },
        { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
        { key: 'gpu', effect: 'NoExecute' },
        { key: 'node.kubernetes.io/disk-pressure', effect: 'NoSchedule' },
      ],
    });
    expect(record.taints).toEqual([
      { key: 'dedicated', value: 'infra', effect: 'NoSchedule' },
      { key: 'gpu', value: '', effect: 'NoExecute' },
      { key: 'node.kubernetes.io/disk-pressure', value: '', effect: 'NoSchedule' },
    ]);
    expect(record.taintsCut).toBeUndefined();
    expect(rawNode({}).taints).toBeUndefined();
    expect('taints' in rawNode({ taints: [{ key: 'soft', effect: 'PreferNoSchedule' }] })).toBe(false);
  });

  it('leaves the drain taints to `leaving`, and keeps them beside it for the pods that tolerate them', () => {
    const record = rawNode({ taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1', effect: 'NoSchedule' }] });
    expect(record.leaving).toBe(true);
    expect(record.taints).toBeUndefined();
    expect(record.drainTaints).toEqual([{ key: 'ToBeDeletedByClusterAutoscaler', value: '1', effect: 'NoSchedule' }]);
    expect('drainTaints' in rawNode({ taints: [{ key: 'dedicated', effect: 'NoSchedule' }] })).toBe(false);
  });

  it('keeps at most MAX_NODE_TAINTS, and says when it cut some', () => {
    const taints = Array.from({ length: MAX_NODE_TAINTS + 3 }, (_, i) => ({ key: `t${i}`, effect: 'NoSchedule' }));
    const record = rawNode({ taints });
    expect(record.taints).toHaveLength(MAX_NODE_TAINTS);
    expect(record.taintsCut).toBe(true);
    expect(rawNode({ taints: taints.slice(0, MAX_NODE_TAINTS) }).taintsCut).toBeUndefined();
  });
});

describe('transformPod noScheduleTolerations', () => {
  const tolerations = [
    { key: 'dedicated', operator: 'Equal', value: 'infra', effect: 'NoSchedule' },
    { key: 'gpu', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    { operator: 'Exists' },
    { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'soft', operator: 'Exists', effect: 'PreferNoSchedule' },
  ];

  it('keeps the NoSchedule and effect-less ones, whatever their key, for a pod with a claim or inline data', () => {
    const expected: Toleration[] = [
      { key: 'dedicated', operator: 'Equal', value: 'infra' },
      { key: '', operator: 'Exists', value: '' },
      { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', value: '' },
    ];
    expect(rawPod({ ...claim, tolerations }).noScheduleTolerations).toEqual(expected);
    expect(rawPod({ ...hostPath, tolerations }).noScheduleTolerations).toEqual(expected);
  });

  it('keeps none for a pod without node data, for a DaemonSet pod, or when it has no such toleration', () => {
    expect(rawPod({ tolerations }).noScheduleTolerations).toBeUndefined();
    expect(rawPod({ ...claim, tolerations }, 'DaemonSet').noScheduleTolerations).toBeUndefined();
    expect('noScheduleTolerations' in rawPod({ ...claim, tolerations: [tolerations[1]] })).toBe(false);
  });

  it('shares one list between pods with equal tolerations', () => {
    const spec = { ...claim, tolerations: [{ key: 'team', operator: 'Equal', value: 'shared-list-test', effect: 'NoSchedule' }] };
    expect(rawPod(spec).noScheduleTolerations).toBe(rawPod(spec).noScheduleTolerations);
  });
});

describe('podLandsOn', () => {
  const plain = pod();
  const tolerates = (...noScheduleTolerations: Toleration[]) => pod({ noScheduleTolerations });

  it('takes a schedulable, Ready, untainted node', () => {
    expect(podLandsOn(plain, node())).toBe(true);
  });

  it('refuses a cordoned node unless the pod tolerates node.kubernetes.io/unschedulable:NoSchedule (NodeUnschedulable)', () => {
    const cordoned = node({ unschedulable: true });
    expect(podLandsOn(plain, cordoned)).toBe(false);
    expect(podLandsOn(tolerates({ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', value: '' }), cordoned)).toBe(true);
    expect(podLandsOn(tolerates({ key: '', operator: 'Exists', value: '' }), cordoned)).toBe(true);
  });

  it('never takes a pod back to its own node being removed (an autoscaler drain taint), whatever the pod tolerates', () => {
    const leaving = rawNode({ taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1700000000', effect: 'NoSchedule' }] });
    expect(podLandsOn(tolerates({ key: '', operator: 'Exists', value: '' }), leaving)).toBe(false);
    expect(podLandsOn(tolerates({ key: '', operator: 'Exists', value: '' }), leaving, 'back')).toBe(false);
  });

  it('reads a drain taint as an ordinary NoSchedule taint for a node elsewhere: a pod tolerating it lands there', () => {
    const leaving = rawNode({ taints: [{ key: 'karpenter.sh/disrupted', effect: 'NoSchedule' }] });
    expect(podLandsOn(plain, leaving, 'elsewhere')).toBe(false);
    expect(podLandsOn(tolerates({ key: '', operator: 'Exists', value: '' }), leaving, 'elsewhere')).toBe(true);
    expect(podLandsOn(tolerates({ key: 'karpenter.sh/disrupted', operator: 'Exists', value: '' }), leaving, 'elsewhere')).toBe(true);
    expect(podLandsOn(tolerates({ key: 'ToBeDeletedByClusterAutoscaler', operator: 'Exists', value: '' }), leaving, 'elsewhere')).toBe(false);
    // The cordon an autoscaler may add is read as for any node.
    const cordonedToo = rawNode({ unschedulable: true, taints: [{ key: 'karpenter.sh/disrupted', effect: 'NoSchedule' }] });
    expect(podLandsOn(tolerates({ key: 'karpenter.sh/disrupted', operator: 'Exists', value: '' }), cordonedToo, 'elsewhere')).toBe(false);
    expect(podLandsOn(tolerates({ key: '', operator: 'Exists', value: '' }), cordonedToo, 'elsewhere')).toBe(true);
  });

  it('refuses a node not Ready unless the pod tolerates its condition taint: not-ready for False, unreachable for Unknown', () => {
    for (const ready of ['False', 'Unknown']) expect(podLandsOn(plain, node({ ready })), ready).toBe(false);
    // No Ready condition reported: not judged, as for the copies (isCoreNodeDown).
    expect(podLandsOn(plain, node({ ready: '' }))).toBe(true);
    const notReady = tolerates({ key: 'node.kubernetes.io/not-ready', operator: 'Exists', value: '' });
    expect(podLandsOn(notReady, node({ ready: 'False' }))).toBe(true);
    expect(podLandsOn(notReady, node({ ready: 'Unknown' }))).toBe(false);
    expect(podLandsOn(tolerates({ key: 'node.kubernetes.io/unreachable', operator: 'Exists', value: '' }), node({ ready: 'Unknown' }))).toBe(true);
    // A NoExecute toleration of the key (DefaultTolerationSeconds' own) does not tolerate the NoSchedule taint.
    expect(podLandsOn(pod({ noExecuteTolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', value: '' }] }), node({ ready: 'False' }))).toBe(false);
  });

  it('matches each taint against the tolerations of its effect', () => {
    const noSchedule = node({ taints: [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }] });
    const noExecute = node({ taints: [{ key: 'dedicated', value: 'infra', effect: 'NoExecute' }] });
    const equal: Toleration = { key: 'dedicated', operator: 'Equal', value: 'infra' };
    expect(podLandsOn(plain, noSchedule)).toBe(false);
    expect(podLandsOn(tolerates(equal), noSchedule)).toBe(true);
    expect(podLandsOn(tolerates({ ...equal, value: 'db' }), noSchedule)).toBe(false);
    expect(podLandsOn(tolerates(equal), noExecute)).toBe(false);
    expect(podLandsOn(pod({ noExecuteTolerations: [{ ...equal, tolerationSeconds: 10 }] }), noExecute)).toBe(true);
    expect(toleratesTaint(pod({ noExecuteTolerations: [equal] }), { key: 'dedicated', value: 'infra', effect: 'NoSchedule' })).toBe(false);
  });

  it('for a node whose record kept only some of its taints: no way back, a place elsewhere, when the pod tolerates those', () => {
    const cut = node({ taints: [{ key: 'a', value: '', effect: 'NoSchedule' }], taintsCut: true });
    const kept = tolerates({ key: 'a', operator: 'Exists', value: '' });
    expect(podLandsOn(kept, cut)).toBe(false);
    expect(podLandsOn(kept, cut, 'elsewhere')).toBe(true);
    expect(podLandsOn(plain, cut, 'elsewhere')).toBe(false);
  });

  it('takes a pod tolerating every taint (an empty-key Exists toleration of both effects) back past the cut', () => {
    const cut = node({ taints: [{ key: 'a', value: '', effect: 'NoSchedule' }], taintsCut: true });
    const everything: Toleration = { key: '', operator: 'Exists', value: '' };
    expect(podLandsOn(pod({ noScheduleTolerations: [everything], noExecuteTolerations: [everything] }), cut)).toBe(true);
    // Only NoSchedule ones tolerated: a NoExecute taint the record left out may refuse the pod.
    expect(podLandsOn(tolerates(everything), cut)).toBe(false);
    expect(podLandsOn(rawPod({ ...hostPath, tolerations: [{ operator: 'Exists' }] }), cut)).toBe(true);
  });
});

describe('landingRefusal', () => {
  it('names why the node refuses the pod, and nothing exactly when podLandsOn takes it', () => {
    const plain = pod();
    const cases: [ReturnType<typeof node>, 'back' | 'elsewhere', string | undefined][] = [
      [node({ name: 'w1' }), 'back', undefined],
      [rawNode({ taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1', effect: 'NoSchedule' }] }), 'back', 'w1 is being removed'],
      [node({ name: 'w1', unschedulable: true }), 'elsewhere', 'w1 is cordoned'],
      [node({ name: 'w1', ready: 'Unknown' }), 'elsewhere', 'w1 is not Ready (Ready=Unknown)'],
      [rawNode({ taints: [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }] }), 'back', 'w1 has taint dedicated=infra:NoSchedule the pod does not tolerate'],
      [rawNode({ taints: [{ key: 'gpu', effect: 'NoExecute' }] }), 'elsewhere', 'w1 has taint gpu:NoExecute the pod does not tolerate'],
      [{ ...node({ name: 'w1' }), taintsCut: true }, 'back', 'w1 has more taints than volume-guard keeps'],
      [{ ...node({ name: 'w1' }), taintsCut: true }, 'elsewhere', undefined],
    ];
    for (const [where, direction, words] of cases) {
      expect(landingRefusal(plain, where, direction), words).toBe(words);
      expect(podLandsOn(plain, where, direction)).toBe(words === undefined);
    }
  });
});

describe('the model and taints', () => {
  it('stores a node again when only its taints change, and keeps the record when they do not', () => {
    const model = new ClusterModel();
    const tainted = (taints: Raw[]) => transformNode({ metadata: { name: 'w1' }, spec: { taints }, status: { conditions: [{ type: 'Ready', status: 'True' }] } })!;
    model.upsert('node', tainted([]));
    model.upsert('node', tainted([{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }]));
    const stored = model.node('w1');
    expect(stored?.taints).toEqual([{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }]);
    model.upsert('node', tainted([{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }]));
    expect(model.node('w1')).toBe(stored);
    model.upsert('node', tainted([{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]));
    expect(model.node('w1')?.taints).toEqual([{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]);
    model.upsert('node', tainted([]));
    expect(model.node('w1')?.taints).toBeUndefined();
  });
});

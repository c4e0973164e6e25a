// A Deployment spreading its replicas one per node (required pod anti-affinity against its own label, topologyKey
// kubernetes.io/hostname) and writing to a hostPath: once every other node runs a replica, the scheduler's
// InterPodAffinity filter (satisfyPodAntiAffinity: a node whose topology value holds a pod matching a required
// anti-affinity term is refused) keeps the evicted pod's replacement off them all, and the only node left is its own,
// free again once the evicted pod is gone. It comes back to its data: the eviction, or the drain of a node it tolerates
// whatever taint, loses nothing.
// A node counts as refused only on evidence: a replica volume-guard keeps the labels of (a pod writing to a hostPath
// with required anti-affinity), running on that node, not being deleted, in a namespace the term names, matching the
// term's selector, on a node carrying the term's topology key. Anything else leaves the node open (refused, as before).
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { NodeRecord, PodRecord } from '../../../src/cluster/records.ts';
import { transformNode, transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { RiskTracker } from '../../../src/observe/risks.ts';
import { context, cordonRequest, evictionRequest } from '../../support/admission.ts';

const config = defaultConfig();
type Raw = Record<string, unknown>;
const HOSTNAME = 'kubernetes.io/hostname';

function rawNode(name: string, labels: Record<string, string> = {}, spec: Raw = {}): NodeRecord {
  return transformNode({
    metadata: { name, labels: { [HOSTNAME]: name, ...labels } },
    spec,
    status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2020-01-01T00:00:00Z' }] },
  })!;
}

const SPREAD_TERM: Raw = { labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: HOSTNAME };

interface ReplicaOptions {
  readonly namespace?: string;
  readonly labels?: Record<string, string>;
  readonly terms?: readonly Raw[];
  readonly deleting?: boolean;
  readonly phase?: string;
  readonly tolerations?: readonly Raw[];
}

/** A replica cache-5d8-<suffix> of the ReplicaSet cache-5d8 on `node`, writing to hostPath /data, one per node. */
function replica(suffix: string, node: string, options: ReplicaOptions = {}): PodRecord {
  return transformPod({
    metadata: {
      name: `cache-5d8-${suffix}`,
      namespace: options.namespace ?? 'default',
      labels: options.labels ?? { app: 'cache', 'pod-template-hash': '5d8' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'cache-5d8', uid: 'u-rs', controller: true }],
      ...(options.deleting === true ? { deletionTimestamp: '2020-01-01T00:00:00Z' } : {}),
    },
    spec: {
      nodeName: node,
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: options.terms ?? [SPREAD_TERM] } },
      ...(options.tolerations === undefined ? {} : { tolerations: options.tolerations }),
      containers: [{ name: 'c', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      volumes: [{ name: 'data', hostPath: { path: '/data' } }],
    },
    status: { phase: options.phase ?? 'Running' },
  })!;
}

function modelOf(nodes: readonly NodeRecord[], pods: readonly PodRecord[]): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  for (const node of nodes) model.upsert('node', node);
  for (const pod of pods) model.upsert('pod', pod);
  return model;
}

const evict = (model: ClusterModel, name = 'cache-5d8-x1') => podEvictionValidator(config).handle(evictionRequest(name), context(model));
const threeNodes = (): NodeRecord[] => [rawNode('node-1'), rawNode('node-2'), rawNode('node-3')];

describe('a replica spread one per node by required anti-affinity, evicted from a schedulable node', () => {
  it('comes back to its node when every other node runs a replica', () => {
    const model = modelOf(threeNodes(), [replica('x1', 'node-1'), replica('x2', 'node-2'), replica('x3', 'node-3')]);
    const decision = evict(model);
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
  });

  it('is refused when another replica on its own node keeps it off there too (it goes Pending, a node added for it starts it empty)', () => {
    const pods = [replica('x1', 'node-1'), replica('x1b', 'node-1'), replica('x2', 'node-2'), replica('x3', 'node-3')];
    const decision = evict(modelOf(threeNodes(), pods));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('/data');
  });

  it('is refused when a node without a replica takes it', () => {
    const model = modelOf([...threeNodes(), rawNode('node-4')], [replica('x1', 'node-1'), replica('x2', 'node-2'), replica('x3', 'node-3')]);
    const decision = evict(model);
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('/data');
  });

  it('is refused when the replica on another node is being deleted (that node is free once it goes)', () => {
    const model = modelOf(threeNodes(), [replica('x1', 'node-1'), replica('x2', 'node-2', { deleting: true }), replica('x3', 'node-3')]);
    expect(evict(model).allowed).toBe(false);
  });

  it('is refused when the pod on another node has finished (the scheduler does not count it)', () => {
    const model = modelOf(threeNodes(), [replica('x1', 'node-1'), replica('x2', 'node-2', { phase: 'Succeeded' }), replica('x3', 'node-3')]);
    expect(evict(model).allowed).toBe(false);
  });

  it('is refused when the pod on another node does not match the term (another app)', () => {
    const other = replica('x2', 'node-2', { labels: { app: 'web' } });
    expect(evict(modelOf(threeNodes(), [replica('x1', 'node-1'), other, replica('x3', 'node-3')])).allowed).toBe(false);
  });

  it('is refused when the pod on another node is in another namespace than the term names', () => {
    const other = replica('x2', 'node-2', { namespace: 'other' });
    expect(evict(modelOf(threeNodes(), [replica('x1', 'node-1'), other, replica('x3', 'node-3')])).allowed).toBe(false);
  });

  it('comes back when the term names the other pod’s namespace', () => {
    const terms = [{ ...SPREAD_TERM, namespaces: ['default', 'other'] }];
    const pods = [replica('x1', 'node-1', { terms }), replica('x2', 'node-2', { namespace: 'other', terms }), replica('x3', 'node-3', { terms })];
    expect(evict(modelOf(threeNodes(), pods)).allowed).toBe(true);
  });

  it('is refused when the other node lacks the term’s topology key (the filter does not apply there)', () => {
    const terms = [{ ...SPREAD_TERM, topologyKey: 'example.com/rack' }];
    const nodes = [rawNode('node-1', { 'example.com/rack': 'r1' }), rawNode('node-2'), rawNode('node-3', { 'example.com/rack': 'r3' })];
    const pods = [replica('x1', 'node-1', { terms }), replica('x2', 'node-2', { terms }), replica('x3', 'node-3', { terms })];
    expect(evict(modelOf(nodes, pods)).allowed).toBe(false);
  });

  it('reads matchLabelKeys from the evicted pod’s labels: a replica of another ReplicaSet does not block', () => {
    const terms = [{ ...SPREAD_TERM, matchLabelKeys: ['pod-template-hash'] }];
    const older = replica('x2', 'node-2', { terms, labels: { app: 'cache', 'pod-template-hash': '4c7' } });
    const pods = [replica('x1', 'node-1', { terms }), older, replica('x3', 'node-3', { terms })];
    expect(evict(modelOf(threeNodes(), pods)).allowed).toBe(false);
  });

  it('is refused when its selector is absent (a term without labelSelector matches no pod)', () => {
    const terms = [{ topologyKey: HOSTNAME }];
    const pods = [replica('x1', 'node-1', { terms }), replica('x2', 'node-2', { terms }), replica('x3', 'node-3', { terms })];
    expect(evict(modelOf(threeNodes(), pods)).allowed).toBe(false);
  });
});

// One replica per zone (topologyKey topology.kubernetes.io/zone): a zone holding a replica on any of its nodes refuses
// the replacement on all of them.
describe('a replica spread one per zone by required anti-affinity, evicted from a schedulable node', () => {
  const ZONE = 'topology.kubernetes.io/zone';
  const terms = [{ ...SPREAD_TERM, topologyKey: ZONE }];
  const zoned = (name: string, zone: string) => rawNode(name, { [ZONE]: zone });

  it('comes back to its node when the other zone holds a replica on another of its nodes', () => {
    const nodes = [zoned('node-1', 'a'), zoned('node-2', 'b'), zoned('node-3', 'b')];
    const decision = evict(modelOf(nodes, [replica('x1', 'node-1', { terms }), replica('x2', 'node-2', { terms })]));
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
  });

  it('is refused when another node of its own zone is free once it is gone', () => {
    const nodes = [zoned('node-1', 'a'), zoned('node-2', 'b'), zoned('node-4', 'a')];
    expect(evict(modelOf(nodes, [replica('x1', 'node-1', { terms }), replica('x2', 'node-2', { terms })])).allowed).toBe(false);
  });

  it('is refused when another replica in its own zone keeps it off its node too (it goes Pending)', () => {
    const nodes = [zoned('node-1', 'a'), zoned('node-2', 'b'), zoned('node-4', 'a')];
    const pods = [replica('x1', 'node-1', { terms }), replica('x2', 'node-2', { terms }), replica('x4', 'node-4', { terms })];
    expect(evict(modelOf(nodes, pods)).allowed).toBe(false);
  });
});

describe('a replica tolerating every taint, spread one per node, on a node being drained', () => {
  const everything = [{ operator: 'Exists' }];
  const pods = (): PodRecord[] => [
    replica('x1', 'node-1', { tolerations: everything }),
    replica('x2', 'node-2', { tolerations: everything }),
    replica('x3', 'node-3', { tolerations: everything }),
  ];

  it('does not refuse the cordon: its replacement comes back to the cordoned node', () => {
    const model = modelOf(threeNodes(), pods());
    const decision = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model));
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
  });

  it('counts again in the at_risk_volumes gauge once the replica on another node goes', () => {
    const model = new ClusterModel(VOLUME_SETS);
    const tracker = new RiskTracker(model, {});
    const sink = tracker.sink();
    const atRisk = (): number => {
      expect(tracker.flush()).toBe(true);
      return tracker.counts().atRiskVolumes['node-local-volume'];
    };
    for (const node of threeNodes()) sink.upsert('node', node);
    for (const pod of pods()) sink.upsert('pod', pod);
    expect(atRisk()).toBe(0);
    // node-2 free: the replicas of node-1 and node-3 would each be recreated there by a drain of their node.
    sink.remove('pod', 'default/cache-5d8-x2');
    expect(atRisk()).toBe(2);
    sink.upsert('pod', replica('x4', 'node-2', { tolerations: everything }));
    expect(atRisk()).toBe(0);
  });
});

describe('the labels a pod record keeps', () => {
  it('keeps a hostPath pod’s labels when it is labelled as Longhorn’s instance manager, anti-affinity or not', () => {
    const labelled = transformPod({
      metadata: { name: 'im-1', namespace: 'default', labels: { 'longhorn.io/component': 'instance-manager' } },
      spec: { nodeName: 'node-1', containers: [{ name: 'c', volumeMounts: [{ name: 'd', mountPath: '/d' }] }], volumes: [{ name: 'd', hostPath: { path: '/d' } }] },
      status: { phase: 'Running' },
    })!;
    expect(labelled.labels).toEqual({ 'longhorn.io/component': 'instance-manager' });
    expect(labelled.antiAffinity).toBeUndefined();
  });
});

// Where an evicted pod's replacement can go is decided by the node's taints and state as well as its labels, as the
// scheduler decides it: TaintToleration (every NoSchedule / NoExecute taint tolerated), NodeUnschedulable (a cordoned
// node, unless `node.kubernetes.io/unschedulable` is tolerated), and the not-ready / unreachable NoSchedule taints the
// node lifecycle controller sets on a node that is not Ready.
// - A restart identity (descheduler) evicting a pod whose local PV pins it to its node: allowed only when the pod can
//   land back there. An untolerated NoSchedule taint (what RemovePodsViolatingNodeTaints evicts for) or a node not
//   Ready keeps it Pending: refused like RemovePodsViolatingNodeAffinity's evictions.
// - A hostPath pod evicted from a node that stays schedulable: it comes straight back only when its node takes it
//   and no other matching node would; a matching node that is cordoned, not Ready or tainted against it takes none.
// The drain paths keep their rule (only a node's identity pins a pod there).
import { describe, expect, it } from 'vitest';
import type { UserInfo } from '../../../src/admission/types.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformNode, transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { context, evictionRequest } from '../../support/admission.ts';
import { localPV, pvc } from '../../support/fixtures.ts';

const config = defaultConfig();
const DESCHEDULER: UserInfo = { username: 'system:serviceaccount:kube-system:descheduler', groups: ['system:serviceaccounts'] };
const withRestarters: Config = { ...config, evictions: { restartUsers: [DESCHEDULER.username], restartGroups: [] } };
const INFRA = { key: 'dedicated', value: 'infra', effect: 'NoSchedule' };

type Raw = Record<string, unknown>;

function rawNode(name: string, options: { labels?: Record<string, string>; spec?: Raw; ready?: string } = {}) {
  return transformNode({
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...options.labels } },
    spec: options.spec ?? {},
    status: { conditions: [{ type: 'Ready', status: options.ready ?? 'True', lastTransitionTime: '2020-01-01T00:00:00Z' }] },
  })!;
}

function statefulSetPod(spec: Raw = {}) {
  return transformPod({
    metadata: { name: 'db-0', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u', controller: true }] },
    spec: {
      nodeName: 'node-1',
      containers: [{ name: 'c', volumeMounts: [{ name: 'd', mountPath: '/d' }] }],
      volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'db-data' } }],
      ...spec,
    },
    status: { phase: 'Running' },
  })!;
}

function hostPathPod(spec: Raw) {
  return transformPod({
    metadata: { name: 'cache-5d8-x1', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'cache-5d8', uid: 'u-rs', controller: true }] },
    spec: {
      nodeName: 'node-1',
      containers: [{ name: 'c', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      volumes: [{ name: 'data', hostPath: { path: '/data' } }],
      ...spec,
    },
    status: { phase: 'Running' },
  })!;
}

/** The descheduler evicting db-0, whose local PV is pinned to node-1 (node-2 beside it). */
function restart(node1: { spec?: Raw; ready?: string }, podSpec: Raw = {}) {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('node', rawNode('node-1', node1));
  model.upsert('node', rawNode('node-2'));
  model.upsert('persistentVolume', localPV({ name: 'pv-db', pinnedNode: 'node-1', claimName: 'db-data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-db' }));
  model.upsert('pod', statefulSetPod(podSpec));
  return podEvictionValidator(withRestarters).handle(evictionRequest('db-0', { user: DESCHEDULER }), context(model, { config: withRestarters }));
}

const tolerating = (...tolerations: Raw[]): Raw => ({ tolerations });

describe('a restart eviction of a pod its local PV pins to its node', () => {
  it('is allowed when the node takes the pod back (control)', () => {
    const decision = restart({});
    expect(decision.allowed).toBe(true);
    expect(decision.warnings?.join('\n')).toContain('allowed as a restart');
  });

  it('is refused when the node carries a NoSchedule taint the pod does not tolerate (RemovePodsViolatingNodeTaints)', () => {
    const decision = restart({ spec: { taints: [INFRA] } });
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('pv-db');
    expect(decision.warnings ?? []).not.toContainEqual(expect.stringContaining('allowed as a restart'));
  });

  // Issue 19's review: the refusal never said why a restart identity's eviction was not a restart.
  it('says in one line why it is no restart: the taint, the readiness, the cordon', () => {
    const tainted = restart({ spec: { taints: [INFRA] } }).status?.message ?? '';
    expect(tainted.split('\n')[1]).toBe(
      'Not a restart: node-1 has taint dedicated=infra:NoSchedule the pod does not tolerate; its local data pins it there, so it would stay Pending.',
    );
    expect(restart({ ready: 'False' }).status?.message).toContain('Not a restart: node-1 is not Ready (Ready=False); its local data pins it there');
    expect(restart({ spec: { unschedulable: true } }).status?.message).toContain('Not a restart: node-1 is cordoned: a drain, not a restart.');
    // Another identity's eviction is no restart to explain.
    const model = new ClusterModel(VOLUME_SETS);
    model.upsert('node', rawNode('node-1', { spec: { taints: [INFRA] } }));
    model.upsert('persistentVolume', localPV({ name: 'pv-db', pinnedNode: 'node-1', claimName: 'db-data' }));
    model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-db' }));
    model.upsert('pod', statefulSetPod());
    const admin = podEvictionValidator(withRestarters).handle(evictionRequest('db-0'), context(model, { config: withRestarters }));
    expect(admin.allowed).toBe(false);
    expect(admin.status?.message).not.toContain('Not a restart');
  });

  it('a pod whose node has no Node object: passes, as for anyone (the pod garbage collector deletes it anyway)', () => {
    // Was refused ("Not a restart: node-1 has no Node object"): kubernetes pkg/controller/podgc (gcOrphaned)
    // force-deletes a pod bound to a node name that no longer exists, so refusing its eviction keeps nothing.
    const model = new ClusterModel(VOLUME_SETS);
    model.upsert('persistentVolume', localPV({ name: 'pv-db', pinnedNode: 'node-1', claimName: 'db-data' }));
    model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-db' }));
    model.upsert('pod', statefulSetPod());
    const decision = podEvictionValidator(withRestarters).handle(evictionRequest('db-0', { user: DESCHEDULER }), context(model, { config: withRestarters }));
    expect(decision.allowed).toBe(true);
    expect(decision.warnings ?? []).not.toContainEqual(expect.stringContaining('allowed as a restart'));
  });

  it('the restart warning keeps the names of the volumes, wrapped rather than cut', () => {
    const warnings = restart({}).warnings ?? [];
    const restartLines = warnings.slice(warnings.findIndex((line) => line.includes('allowed as a restart')));
    expect(restartLines.join(' ')).toContain('stays reachable where it comes back');
    expect(restartLines.join(' ').replace(/\s+/g, ' ')).toContain('its data (pv-db) stays');
    for (const line of warnings) expect(line.length).toBeLessThanOrEqual(120);
  });

  it('is refused for a NoExecute taint the pod does not tolerate, and for tolerations that match another taint', () => {
    expect(restart({ spec: { taints: [{ key: 'dedicated', value: 'infra', effect: 'NoExecute' }] } }).allowed).toBe(false);
    // Another value (Equal), another effect (a NoExecute toleration does not tolerate a NoSchedule taint), another key.
    expect(restart({ spec: { taints: [INFRA] } }, tolerating({ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' })).allowed).toBe(false);
    expect(restart({ spec: { taints: [INFRA] } }, tolerating({ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' })).allowed).toBe(false);
    expect(restart({ spec: { taints: [INFRA] } }, tolerating({ key: 'gpu', operator: 'Exists' })).allowed).toBe(false);
  });

  it('is allowed when the pod tolerates every such taint: Equal, Exists, an empty effect, an empty key with Exists', () => {
    expect(restart({ spec: { taints: [INFRA] } }, tolerating({ key: 'dedicated', operator: 'Equal', value: 'infra', effect: 'NoSchedule' })).allowed).toBe(true);
    expect(restart({ spec: { taints: [INFRA] } }, tolerating({ key: 'dedicated', value: 'infra', effect: 'NoSchedule' })).allowed).toBe(true);
    expect(restart({ spec: { taints: [INFRA, { key: 'dedicated', value: 'infra', effect: 'NoExecute' }] } }, tolerating({ key: 'dedicated', operator: 'Exists' })).allowed).toBe(true);
    expect(restart({ spec: { taints: [INFRA, { key: 'gpu', effect: 'NoExecute' }] } }, tolerating({ operator: 'Exists' })).allowed).toBe(true);
    // tolerationSeconds do not matter to the scheduler: the replacement lands.
    expect(restart({ spec: { taints: [{ key: 'gpu', effect: 'NoExecute' }] } }, tolerating({ key: 'gpu', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 })).allowed).toBe(true);
  });

  it('is allowed past a PreferNoSchedule taint (the scheduler only prefers other nodes)', () => {
    expect(restart({ spec: { taints: [{ key: 'dedicated', value: 'infra', effect: 'PreferNoSchedule' }] } }).allowed).toBe(true);
  });

  it('is refused while the node is not Ready (its not-ready or unreachable NoSchedule taint), unless the pod tolerates it', () => {
    for (const ready of ['False', 'Unknown']) {
      const decision = restart({ ready });
      expect(decision.allowed, ready).toBe(false);
      expect(decision.warnings ?? [], ready).not.toContainEqual(expect.stringContaining('allowed as a restart'));
    }
    // DefaultTolerationSeconds' NoExecute tolerations (every pod has them) do not let it back.
    const defaults = tolerating(
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    );
    expect(restart({ ready: 'False' }, defaults).allowed).toBe(false);
    expect(restart({ ready: 'False' }, tolerating({ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' })).allowed).toBe(true);
    expect(restart({ ready: 'Unknown' }, tolerating({ key: 'node.kubernetes.io/not-ready', operator: 'Exists' })).allowed).toBe(false);
    expect(restart({ ready: 'Unknown' }, tolerating({ key: 'node.kubernetes.io/unreachable', operator: 'Exists' })).allowed).toBe(true);
  });
});

/** An admin evicting cache-5d8-x1 (writable hostPath /data on node-1) from node-1, which stays schedulable. */
function evictHostPathPod(nodes: readonly ReturnType<typeof rawNode>[], placement: Raw) {
  const model = new ClusterModel(VOLUME_SETS);
  for (const node of nodes) model.upsert('node', node);
  model.upsert('pod', hostPathPod(placement));
  return podEvictionValidator(config).handle(evictionRequest('cache-5d8-x1'), context(model));
}

const ssd = { nodeSelector: { disktype: 'ssd' } };
const hostnameIn = (...values: string[]): Raw => ({
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values }] }] },
    },
  },
});

describe('a hostPath pod evicted from a node that stays schedulable', () => {
  it('comes straight back to the one ssd node (control)', () => {
    expect(evictHostPathPod([rawNode('node-1', { labels: { disktype: 'ssd' } }), rawNode('node-2')], ssd).allowed).toBe(true);
  });

  it('is refused when that node carries a NoSchedule taint the pod does not tolerate: it goes Pending, a new ssd node takes it', () => {
    const decision = evictHostPathPod([rawNode('node-1', { labels: { disktype: 'ssd' }, spec: { taints: [INFRA] } }), rawNode('node-2')], ssd);
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('/data');
  });

  it('comes back when the pod tolerates that taint', () => {
    const tolerated = { ...ssd, ...tolerating({ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }) };
    expect(evictHostPathPod([rawNode('node-1', { labels: { disktype: 'ssd' }, spec: { taints: [INFRA] } }), rawNode('node-2')], tolerated).allowed).toBe(true);
  });

  it('is refused when its node is not Ready', () => {
    expect(evictHostPathPod([rawNode('node-1', { labels: { disktype: 'ssd' }, ready: 'False' }), rawNode('node-2')], ssd).allowed).toBe(false);
  });

  it('comes straight back when the other node its affinity names is cordoned (NodeUnschedulable)', () => {
    const decision = evictHostPathPod([rawNode('node-1'), rawNode('node-2', { spec: { unschedulable: true } }), rawNode('node-3')], hostnameIn('node-1', 'node-2'));
    expect(decision.allowed).toBe(true);
  });

  it('is refused when it tolerates that cordon: the scheduler may put it on node-2', () => {
    const tolerated = { ...hostnameIn('node-1', 'node-2'), ...tolerating({ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }) };
    expect(evictHostPathPod([rawNode('node-1'), rawNode('node-2', { spec: { unschedulable: true } })], tolerated).allowed).toBe(false);
  });

  it('comes straight back when the other node is not Ready, tainted against it, or being removed', () => {
    const nodes = (other: ReturnType<typeof rawNode>) => [rawNode('node-1'), other, rawNode('node-3')];
    expect(evictHostPathPod(nodes(rawNode('node-2', { ready: 'Unknown' })), hostnameIn('node-1', 'node-2')).allowed).toBe(true);
    expect(evictHostPathPod(nodes(rawNode('node-2', { spec: { taints: [INFRA] } })), hostnameIn('node-1', 'node-2')).allowed).toBe(true);
    const draining = rawNode('node-2', { spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1700000000', effect: 'NoSchedule' }] } });
    expect(evictHostPathPod(nodes(draining), hostnameIn('node-1', 'node-2')).allowed).toBe(true);
  });

  it('is refused when the other node takes it: schedulable, or tainted with a taint it tolerates', () => {
    expect(evictHostPathPod([rawNode('node-1'), rawNode('node-2')], hostnameIn('node-1', 'node-2')).allowed).toBe(false);
    const tolerated = { ...hostnameIn('node-1', 'node-2'), ...tolerating({ key: 'dedicated', operator: 'Equal', value: 'infra' }) };
    expect(evictHostPathPod([rawNode('node-1'), rawNode('node-2', { spec: { taints: [INFRA] } })], tolerated).allowed).toBe(false);
  });

  it('counts another node with more taints than its record keeps as a place the pod may go', () => {
    const taints = Array.from({ length: 40 }, (_, i) => ({ key: `t${i}`, effect: 'NoSchedule' }));
    const everything = { ...hostnameIn('node-1', 'node-2'), ...tolerating({ operator: 'Exists' }) };
    expect(evictHostPathPod([rawNode('node-1'), rawNode('node-2', { spec: { taints } })], everything).allowed).toBe(false);
    // Some kept taint is not tolerated: the pod cannot go there.
    expect(evictHostPathPod([rawNode('node-1'), rawNode('node-2', { spec: { taints } })], hostnameIn('node-1', 'node-2')).allowed).toBe(true);
  });
});

describe('a hostPath pod with no node selector evicted from a node that stays schedulable', () => {
  it('comes straight back when its node is the only one, or the only one that takes it now', () => {
    expect(evictHostPathPod([rawNode('node-1')], {}).allowed).toBe(true);
    expect(evictHostPathPod([rawNode('node-1'), rawNode('node-2', { spec: { unschedulable: true } })], {}).allowed).toBe(true);
    expect(evictHostPathPod([rawNode('node-1'), rawNode('node-2', { spec: { taints: [INFRA] } }), rawNode('node-3', { ready: 'False' })], {}).allowed).toBe(true);
  });

  it('is refused when another node takes it (it would start there without its data)', () => {
    const refused = evictHostPathPod([rawNode('node-1'), rawNode('node-2', { spec: { unschedulable: true } }), rawNode('node-3')], {});
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toContain('/data');
  });
});

describe('another node an autoscaler is removing', () => {
  const removing = (labels: Record<string, string> = {}) =>
    rawNode('node-2', { labels, spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1700000000', effect: 'NoSchedule' }] } });

  it('is a place for a hostPath pod tolerating its drain taint: it starts there without its data', () => {
    const everything = { ...ssd, ...tolerating({ operator: 'Exists' }) };
    const decision = evictHostPathPod([rawNode('node-1', { labels: { disktype: 'ssd' } }), removing({ disktype: 'ssd' })], everything);
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('/data');
    const byKey = { ...ssd, ...tolerating({ key: 'ToBeDeletedByClusterAutoscaler', operator: 'Exists', effect: 'NoSchedule' }) };
    expect(evictHostPathPod([rawNode('node-1', { labels: { disktype: 'ssd' } }), removing({ disktype: 'ssd' })], byKey).allowed).toBe(false);
  });

  it('is no place for a pod that does not tolerate it (control)', () => {
    expect(evictHostPathPod([rawNode('node-1', { labels: { disktype: 'ssd' } }), removing({ disktype: 'ssd' })], ssd).allowed).toBe(true);
  });
});

describe('a restart eviction whose node carries more taints than its record keeps', () => {
  const taints = Array.from({ length: 40 }, (_, i) => ({ key: `t${i}`, effect: 'NoSchedule' }));

  it('is allowed for a pod tolerating every taint (an empty-key Exists toleration): it lands back anywhere', () => {
    expect(restart({ spec: { taints } }, tolerating({ operator: 'Exists' })).allowed).toBe(true);
  });

  it('is refused for a pod tolerating only the taints kept: one left out may keep it off', () => {
    const kept = taints.slice(0, 32).map((taint) => ({ key: taint.key, operator: 'Exists' }));
    expect(restart({ spec: { taints } }, tolerating(...kept)).allowed).toBe(false);
  });
});

describe('a restart eviction of a pod whose node has no Node object', () => {
  it('passes though the pod comes back nowhere its local PV allows: the pod garbage collector deletes it anyway', () => {
    // Was refused; kubernetes pkg/controller/podgc (gcOrphaned) deletes the pod whatever the answer, and its PV keeps
    // the data on node-1's disks, where the recreated pod waits for it (Pending).
    const model = new ClusterModel(VOLUME_SETS);
    model.upsert('node', rawNode('node-2'));
    model.upsert('persistentVolume', localPV({ name: 'pv-db', pinnedNode: 'node-1', claimName: 'db-data' }));
    model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-db' }));
    model.upsert('pod', statefulSetPod());
    const decision = podEvictionValidator(withRestarters).handle(evictionRequest('db-0', { user: DESCHEDULER }), context(model, { config: withRestarters }));
    expect(decision.allowed).toBe(true);
    expect(decision.warnings ?? []).not.toContainEqual(expect.stringContaining('allowed as a restart'));
  });
});

describe('a drain keeps its rule', () => {
  it('refuses the eviction from a cordoned node though the other node its affinity names is cordoned too', () => {
    const decision = evictHostPathPod(
      [rawNode('node-1', { spec: { unschedulable: true } }), rawNode('node-2', { spec: { unschedulable: true } })],
      hostnameIn('node-1', 'node-2'),
    );
    expect(decision.allowed).toBe(false);
  });
});

// An eviction on a node being drained gets the node-wide checks, which find the data of every namespace on the
// node. A namespace's `volume-guard.io/skip-evictions` is written for that namespace's pods: it waives the risks to
// that namespace's own data only, never another namespace's (a local PV or the last copy of a Longhorn volume whose
// claim is in namespace B stays refused when a pod of namespace A is evicted). And the answer to a pod of namespace A
// (which kubectl drain prints, and the Event written in A) names nothing of namespace B.
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, evictionRequest } from '../../support/admission.ts';
import { localPV, longhornNode, longhornSetting, namespace, node, pod, pvc, volumeWithReplicas } from '../../support/fixtures.ts';

const config = defaultConfig();
const SKIP_A = { 'volume-guard.io/skip-evictions': '*', 'volume-guard.io/skip-reason': 'team A backed up', 'volume-guard.io/skip-by': 'admin' };
/** Everything of namespace B a message must not name. */
const B_NAMES = ['team-b', 'data-b', 'pv-b', 'vol-b', 'b-db', 'lh-b'];

/** node-1 is cordoned; team-a (skip-evictions) keeps a local PV there, team-b a local PV and a single-copy Longhorn volume. */
function cluster(options: { withB?: boolean; unschedulable?: boolean; nodeAnnotations?: Record<string, string> } = {}): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  model.upsert('node', node({ name: 'node-1', unschedulable: options.unschedulable ?? true, annotations: options.nodeAnnotations ?? {} }));
  model.upsert('node', node({ name: 'node-2' }));
  model.upsert('namespace', namespace({ name: 'team-a', annotations: SKIP_A }));
  model.upsert('namespace', namespace({ name: 'team-b' }));
  model.upsert('persistentVolume', localPV({ name: 'pv-a', pinnedNode: 'node-1', claimNamespace: 'team-a', claimName: 'data-a' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: 'team-a', name: 'data-a', volumeName: 'pv-a', storageClassName: 'local-storage' }));
  model.upsert('pod', pod({ namespace: 'team-a', name: 'a-db', nodeName: 'node-1', claimNames: ['data-a'], controllerKind: 'StatefulSet' }));
  model.upsert('pod', pod({ namespace: 'team-a', name: 'a-web', nodeName: 'node-1', controllerKind: 'ReplicaSet' }));
  model.upsert('longhornNode', longhornNode({ name: 'node-1' }));
  model.upsert('longhornNode', longhornNode({ name: 'node-2' }));
  if (options.withB ?? true) {
    model.upsert('persistentVolume', localPV({ name: 'pv-b', pinnedNode: 'node-1', claimNamespace: 'team-b', claimName: 'data-b' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'team-b', name: 'data-b', volumeName: 'pv-b', storageClassName: 'local-storage' }));
    model.upsert('pod', pod({ namespace: 'team-b', name: 'b-db', nodeName: 'node-1', claimNames: ['data-b'], controllerKind: 'StatefulSet' }));
    const lh = volumeWithReplicas('vol-b', ['node-1'], { numberOfReplicas: 1, pvcNamespace: 'team-b', pvcName: 'lh-b' });
    model.upsert('longhornVolume', lh.volume);
    for (const replica of lh.replicas) model.upsert('longhornReplica', replica);
  }
  return model;
}

const validator = podEvictionValidator(config);
const evict = (model: ClusterModel, name: string, ns: string) => validator.handle(evictionRequest(name, { namespace: ns }), context(model));

describe("a namespace's skip-evictions waives its own data only", () => {
  it('evicting a pod of team-a on the cordoned node: team-a\'s PV is waived, team-b\'s data still refuses', () => {
    const decision = evict(cluster(), 'a-web', 'team-a');
    expect(decision.allowed).toBe(false);
    const message = decision.status?.message ?? '';
    // team-b's local PV and its Longhorn volume's last copy, without their names.
    expect(message).toContain('[node-local-volume]');
    expect(message).toContain('[last-replica-on-node]');
    expect(message).toContain('of another namespace');
    // team-a's own PV was waived by its namespace (said as a warning), so it is not in the refusal.
    expect(message).not.toContain('pv-a');
    expect((decision.warnings ?? []).join('\n')).toContain('overridden by namespace team-a');
  });

  it('with no other namespace\'s data on the node, team-a\'s override lets the eviction through', () => {
    const decision = evict(cluster({ withB: false }), 'a-web', 'team-a');
    expect(decision.allowed).toBe(true);
    expect((decision.warnings ?? []).join('\n')).toContain('overridden by namespace team-a');
  });

  it("the override it prints annotates the node with the refused checks only: never the namespace's skip-evictions", () => {
    const override = (evict(cluster(), 'a-web', 'team-a').status?.message ?? '').split('\n').find((line) => line.includes('kubectl annotate'));
    expect(override?.trim()).toBe(
      'kubectl annotate node node-1 volume-guard.io/skip=last-replica-on-node,single-replica,node-local-volume volume-guard.io/skip-reason="<why>" volume-guard.io/skip-by="<you>"',
    );
  });

  it("the node's override waives every namespace's data", () => {
    const decision = evict(cluster({ nodeAnnotations: { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'admin' } }), 'a-web', 'team-a');
    expect(decision.allowed).toBe(true);
  });

  it('on a schedulable node the eviction judges the pod\'s own data, which its namespace may waive', () => {
    expect(evict(cluster({ unschedulable: false }), 'a-db', 'team-a').allowed).toBe(true);
    expect(evict(cluster({ unschedulable: false }), 'b-db', 'team-b').allowed).toBe(false);
  });

  it('with a stale model, a namespace skip of every check does not pass a node-wide eviction', () => {
    const stale = { synced: () => true, staleResources: () => ['persistentvolumes'] };
    const decision = validator.handle(evictionRequest('a-web', { namespace: 'team-a' }), context(cluster(), { health: stale }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('stale');
  });
});

describe('an eviction names nothing of another namespace', () => {
  it('a pod of team-a evicted: team-b\'s objects are counted and described, never named', () => {
    const model = cluster();
    model.upsert('namespace', namespace({ name: 'team-a' }));
    const decision = evict(model, 'a-web', 'team-a');
    expect(decision.allowed).toBe(false);
    const message = decision.status?.message ?? '';
    for (const name of B_NAMES) expect(message).not.toContain(name);
    // team-a's own PV is named.
    expect(message).toContain('pv-a');
    expect(message).toContain('team-a/data-a');
    expect(message).toContain('4 risks of data loss');
    expect(message).toMatch(/edit volumes\.longhorn\.io\s+"<volume>"/);
  });

  it("a pod of team-b evicted: team-b's objects are named, team-a's withheld", () => {
    const model = cluster();
    const decision = evict(model, 'b-db', 'team-b');
    expect(decision.allowed).toBe(false);
    const message = decision.status?.message ?? '';
    expect(message).toContain('pv-b');
    expect(message).toContain('vol-b');
    expect(message).not.toContain('pv-a');
    expect(message).not.toContain('team-a');
  });

  it('a Longhorn volume no claim names belongs to no namespace: named at any eviction on the draining node', () => {
    const model = cluster({ withB: false });
    const bare = volumeWithReplicas('vol-bare', ['node-1'], { numberOfReplicas: 1, pvcNamespace: '', pvcName: '' });
    model.upsert('longhornVolume', bare.volume);
    for (const replica of bare.replicas) model.upsert('longhornReplica', replica);
    const decision = evict(model, 'a-web', 'team-a');
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('vol-bare');
    expect(decision.status?.message).not.toContain('names withheld');
  });

  it("Longhorn's drain policy warning names only the requester's namespace's volumes", () => {
    const model = cluster();
    model.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
    model.upsert('namespace', namespace({ name: 'team-a' }));
    const decision = evict(model, 'a-web', 'team-a');
    const all = `${decision.status?.message ?? ''}\n${(decision.warnings ?? []).join('\n')}`;
    expect(all).toContain('of other namespaces');
    for (const name of B_NAMES) expect(all).not.toContain(name);
  });
});

describe("a namespace's skip-evictions never passes a stale model", () => {
  // With the Node informer stale, the node last seen schedulable may be cordoned by now, with other namespaces'
  // data on it: only an override reaching every namespace could pass the eviction without knowing.
  const nodesStale = { synced: () => true, staleResources: () => ['nodes'] };

  it('refuses the eviction of a pod on a node last seen schedulable, saying the view is stale', () => {
    const decision = validator.handle(evictionRequest('a-db', { namespace: 'team-a' }), context(cluster({ unschedulable: false }), { health: nodesStale }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('stale');
  });

  it('still waives its own data on a fresh model, on a schedulable node as on a draining one', () => {
    expect(evict(cluster({ unschedulable: false }), 'a-db', 'team-a').allowed).toBe(true);
    expect(evict(cluster({ withB: false }), 'a-db', 'team-a').allowed).toBe(true);
  });
});

describe("an eviction's answer counts other namespaces' data on one line per check", () => {
  /** w1 cordoned, holding `count` single-replica Longhorn volumes of namespace shop; other/web uses no volume. */
  function shopOnW1(count: number): ClusterModel {
    const model = new ClusterModel(VOLUME_SETS);
    model.setLonghornInstalled(true);
    model.upsert('node', node({ name: 'w1', unschedulable: true }));
    model.upsert('node', node({ name: 'w2' }));
    for (const name of ['w1', 'w2']) model.upsert('longhornNode', longhornNode({ name }));
    for (const name of ['shop', 'other']) model.upsert('namespace', namespace({ name }));
    for (let i = 0; i < count; i++) {
      const lh = volumeWithReplicas(`vol-${i}`, ['w1'], { numberOfReplicas: 1, pvcNamespace: 'shop', pvcName: `data-${i}` });
      model.upsert('longhornVolume', lh.volume);
      for (const replica of lh.replicas) model.upsert('longhornReplica', replica);
    }
    model.upsert('pod', pod({ namespace: 'other', name: 'web', nodeName: 'w1', controllerKind: 'ReplicaSet' }));
    return model;
  }
  const alice = { username: 'alice', groups: ['system:authenticated'] };
  const evictWeb = (model: ClusterModel) => validator.handle(evictionRequest('web', { namespace: 'other', user: alice }), context(model));

  it('says the node is being drained and that none of the data refusing it is the pod\'s', () => {
    const message = evictWeb(shopOnW1(5)).status?.message ?? '';
    expect(message.split('\n')[0]).toBe(
      "volume-guard refused the eviction of pod other/web (node w1 is being drained; data on w1 refuses it, none of it this pod's): 10 risks of data loss.",
    );
  });

  it('all of them built: one exact count per check, no line repeated', () => {
    const message = evictWeb(shopOnW1(5)).status?.message ?? '';
    expect(message).toContain('\n  5 volumes of other namespaces, each: its only healthy copy is on node w1; names: volume-guard audit --node w1\n');
    expect(message).toContain('\n  5 volumes of other namespaces, each: a single copy of its data, on node w1; names: volume-guard audit --node w1\n');
    expect(message).not.toContain('more; all of them');
    const lines = message.split('\n');
    expect(new Set(lines).size).toBe(lines.length);
  });

  it('past the cap: the withheld ones counted once, the rest not built counted after them; a short message', () => {
    const message = evictWeb(shopOnW1(12)).status?.message ?? '';
    expect(message).not.toContain('Volume of another namespace');
    expect(message.match(/volumes of other namespaces, each: its only healthy copy is on node w1/g)).toHaveLength(1);
    expect(message.match(/volumes of other namespaces, each: a single copy of its data/g)).toHaveLength(1);
    for (const check of ['last-replica-on-node', 'single-replica']) {
      const block = message.slice(message.indexOf(`[${check}]`));
      const counted = Number(/\n {2}(\d+) volumes of other namespaces/.exec(block)?.[1]);
      const more = Number(/\n {2}and (\d+) more, of any namespace; all of them: volume-guard audit --node w1/.exec(block)?.[1] ?? 0);
      expect(counted + more).toBe(12);
    }
    expect(message).not.toMatch(/shop|data-\d|vol-\d/);
    // It was 3,451 characters with a line per volume; kubectl drain prints it again at every retry.
    expect(message.length).toBeLessThan(1600);
  });

  it("past the cap beside the pod's own data: the rest not built is not said to be none of other namespaces'", () => {
    const model = new ClusterModel(VOLUME_SETS);
    model.upsert('node', node({ name: 'w1', unschedulable: true }));
    model.upsert('node', node({ name: 'w2' }));
    model.upsert('namespace', namespace({ name: 'team-a' }));
    model.upsert('persistentVolume', localPV({ name: 'pv-a', pinnedNode: 'w1', claimNamespace: 'team-a', claimName: 'data-a' }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'team-a', name: 'data-a', volumeName: 'pv-a', storageClassName: 'local-storage' }));
    model.upsert('pod', pod({ namespace: 'team-a', name: 'a-db', nodeName: 'w1', claimNames: ['data-a'], controllerKind: 'StatefulSet' }));
    for (let i = 0; i < 15; i++) {
      model.upsert('namespace', namespace({ name: `t${i}` }));
      model.upsert('persistentVolume', localPV({ name: `pv-${i}`, pinnedNode: 'w1', claimNamespace: `t${i}`, claimName: 'data' }));
      model.upsert('persistentVolumeClaim', pvc({ namespace: `t${i}`, name: 'data', volumeName: `pv-${i}`, storageClassName: 'local-storage' }));
      model.upsert('pod', pod({ namespace: `t${i}`, name: 'db', nodeName: 'w1', claimNames: ['data'], controllerKind: 'StatefulSet' }));
    }
    const message = evict(model, 'a-db', 'team-a').status?.message ?? '';
    expect(message).toContain('[node-local-volume] 16 objects keep data only on w1\n');
    expect(message).toContain('\n  PV pv-a (PVC team-a/data-a, Pod team-a/a-db): ');
    // The 10 built counted as other namespaces'; the 5 counted past the cap are of namespaces not looked up.
    expect(message).toContain(
      '\n  10 PVs of other namespaces, each: keeps data on node w1 only; names: volume-guard audit --node w1\n' +
        '  and 5 more, of any namespace; all of them: volume-guard audit --node w1\n',
    );
  });

  it("a pod whose own data is at risk: the node is said to be drained, without the note", () => {
    const model = shopOnW1(3);
    const own = volumeWithReplicas('vol-own', ['w1'], { numberOfReplicas: 1, pvcNamespace: 'other', pvcName: 'web-data' });
    model.upsert('longhornVolume', own.volume);
    for (const replica of own.replicas) model.upsert('longhornReplica', replica);
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'other', name: 'web-data', volumeName: 'vol-own' }));
    model.upsert('pod', pod({ namespace: 'other', name: 'web', nodeName: 'w1', claimNames: ['web-data'], controllerKind: 'ReplicaSet' }));
    const message = evictWeb(model).status?.message ?? '';
    expect(message.split('\n')[0]).toBe('volume-guard refused the eviction of pod other/web (node w1 is being drained): 8 risks of data loss.');
    expect(message).toContain('longhorn-system/vol-own (PVC other/web-data)');
  });
});

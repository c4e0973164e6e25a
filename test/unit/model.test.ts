import { describe, expect, it } from 'vitest';
import { ClusterModel } from '../../src/cluster/model.ts';
import type { LonghornReplicaRecord, LonghornVolumeRecord, ResourceKind } from '../../src/cluster/records.ts';
import { RESOURCE_KINDS, recordKey } from '../../src/cluster/records.ts';
import type { VolumeContext, VolumePredicate } from '../../src/cluster/snapshot.ts';
import {
  harvesterUpgrade,
  harvesterUpgradePlan,
  localPV,
  longhornNode,
  longhornSetting,
  clusterApiCluster,
  machineOwner,
  machine,
  machineDrainRule,
  namespace,
  node,
  pod,
  pv,
  pvc,
  replica,
  statefulSet,
  volume,
  volumeWithReplicas,
} from '../support/fixtures.ts';

const names = (records: Iterable<{ readonly name: string }>): string[] => [...records].map((r) => r.name).sort();

function allZero(model: ClusterModel): void {
  const nonZero = Object.entries(model.internalSizes()).filter(([, size]) => size !== 0);
  expect(nonZero).toEqual([]);
}

/** Predicates that count their calls per volume, to prove which volumes the model re-evaluates. */
function countingSets() {
  const calls: string[] = [];
  const track =
    (predicate: VolumePredicate): VolumePredicate =>
    (v, context) => {
      calls.push(v.name);
      return predicate(v, context);
    };
  const healthyCount = (context: VolumeContext) =>
    context.replicas.filter((r) => r.healthyAt !== '' && r.failedAt === '' && !r.deleting).length;
  const sets = {
    'at-most-one-healthy': track((_v, context) => healthyCount(context) <= 1),
    'disk-missing': track((_v, context) =>
      context.replicas.some((r) => !(context.diskUUIDsOf(r.nodeID) ?? []).includes(r.diskID)),
    ),
  };
  return { sets, calls };
}

describe('ClusterModel stores', () => {
  it('upserts, reads back and removes every kind by its recordKey', () => {
    const model = new ClusterModel();
    const samples = {
      longhornVolume: volume({ name: 'v' }),
      longhornReplica: replica({ name: 'r', volumeName: 'v' }),
      longhornNode: longhornNode({ name: 'n' }),
      longhornSetting: longhornSetting('node-drain-policy', 'block-for-eviction'),
      harvesterUpgrade: harvesterUpgrade(),
      harvesterUpgradePlan: harvesterUpgradePlan(),
      node: node({ name: 'n' }),
      persistentVolume: pv({ name: 'p' }),
      persistentVolumeClaim: pvc({ namespace: 'ns', name: 'c' }),
      pod: pod({ namespace: 'ns', name: 'po' }),
      statefulSet: statefulSet({ namespace: 'ns', name: 's' }),
      namespace: namespace({ name: 'ns' }),
      machine: machine({ namespace: 'ns', name: 'm' }),
      machineDrainRule: machineDrainRule({ namespace: 'ns', name: 'r' }),
      clusterApiCluster: clusterApiCluster({ namespace: 'ns', name: 'c' }),
      machineDeployment: machineOwner({ namespace: 'ns', name: 'md' }),
      kubeadmControlPlane: machineOwner({ namespace: 'ns', name: 'cp' }),
    } as const;
    for (const kind of RESOURCE_KINDS) model.upsert(kind, samples[kind]);
    for (const kind of RESOURCE_KINDS) {
      expect(model.count(kind)).toBe(1);
      expect(model.get(kind, recordKey(samples[kind]))).toBe(samples[kind]);
      expect([...model.records(kind)]).toEqual([samples[kind]]);
    }
    expect(model.longhornVolume('v')).toBe(samples.longhornVolume);
    expect(model.longhornNode('n')).toBe(samples.longhornNode);
    expect(model.node('n')).toBe(samples.node);
    expect(model.namespace('ns')).toBe(samples.namespace);
    expect(model.persistentVolume('p')).toBe(samples.persistentVolume);
    expect(model.persistentVolumeClaim('ns', 'c')).toBe(samples.persistentVolumeClaim);
    expect(model.pod('ns', 'po')).toBe(samples.pod);
    expect(model.statefulSet('ns', 's')).toBe(samples.statefulSet);
    expect(model.machineDrainRulesIn('ns')).toEqual([samples.machineDrainRule]);
    expect(model.clusterApiCluster('ns', 'c')).toBe(samples.clusterApiCluster);
    expect(model.machineOwner('ns', 'MachineDeployment', 'md')).toBe(samples.machineDeployment);
    expect(model.machineOwner('ns', 'KubeadmControlPlane', 'cp')).toBe(samples.kubeadmControlPlane);
    for (const kind of RESOURCE_KINDS) model.remove(kind, recordKey(samples[kind]));
    allZero(model);
  });

  it('ignores the removal of an unknown key', () => {
    const model = new ClusterModel();
    model.upsert('node', node({ name: 'a' }));
    model.remove('node', 'b');
    model.remove('longhornVolume', 'longhorn-system/nope');
    expect(model.count('node')).toBe(1);
  });

  it('reports whether Longhorn is installed', () => {
    const model = new ClusterModel();
    expect(model.longhornInstalled).toBe(false);
    model.setLonghornInstalled(true);
    expect(model.longhornInstalled).toBe(true);
    model.setLonghornInstalled(false);
    expect(model.longhornInstalled).toBe(false);
  });

  it('keeps the stored record when an equal copy arrives (a relist)', () => {
    const model = new ClusterModel();
    const original = pvc({ name: 'c', labels: { release: 'r' }, ownerReferences: [{ kind: 'X', name: 'x', uid: 'u' }] });
    model.upsert('persistentVolumeClaim', original);
    model.upsert('persistentVolumeClaim', structuredClone(original));
    expect(model.persistentVolumeClaim('default', 'c')).toBe(original);
    const changed = { ...original, labels: { release: 'r2' } };
    model.upsert('persistentVolumeClaim', changed);
    expect(model.persistentVolumeClaim('default', 'c')).toBe(changed);
  });
});

describe('ClusterModel indexes', () => {
  it('indexes replicas by volume and by node, and follows a replica that moves', () => {
    const model = new ClusterModel();
    const r1 = replica({ name: 'r1', volumeName: 'v1', nodeID: 'a' });
    const r2 = replica({ name: 'r2', volumeName: 'v1', nodeID: 'b' });
    const r3 = replica({ name: 'r3', volumeName: 'v2', nodeID: 'a' });
    for (const r of [r1, r2, r3]) model.upsert('longhornReplica', r);
    expect(names(model.replicasOfVolume('v1'))).toEqual(['r1', 'r2']);
    expect(names(model.replicasOnNode('a'))).toEqual(['r1', 'r3']);

    model.upsert('longhornReplica', { ...r1, nodeID: 'c' });
    expect(names(model.replicasOnNode('a'))).toEqual(['r3']);
    expect(names(model.replicasOnNode('c'))).toEqual(['r1']);
    expect(model.replicasOfVolume('v1').find((r) => r.name === 'r1')?.nodeID).toBe('c');

    model.upsert('longhornReplica', { ...r3, volumeName: 'v1' });
    expect(model.replicasOfVolume('v2')).toEqual([]);
    expect(names(model.replicasOfVolume('v1'))).toEqual(['r1', 'r2', 'r3']);
  });

  it('finds a Longhorn volume by its PV, through kubernetesStatus or by name', () => {
    const model = new ClusterModel();
    model.upsert('longhornVolume', volume({ name: 'vol-a', pvName: 'pv-a' }));
    model.upsert('longhornVolume', volume({ name: 'pvc-b', pvName: '' }));
    expect(model.longhornVolumeOfPV('pv-a')?.name).toBe('vol-a');
    expect(model.longhornVolumeOfPV('pvc-b')?.name).toBe('pvc-b');
    expect(model.longhornVolumeOfPV('nope')).toBeUndefined();
    // The PV rebinds to another volume name: the old PV no longer finds it.
    model.upsert('longhornVolume', volume({ name: 'vol-a', pvName: 'pv-z' }));
    expect(model.longhornVolumeOfPV('pv-a')).toBeUndefined();
    expect(model.longhornVolumeOfPV('pv-z')?.name).toBe('vol-a');
  });

  it('indexes PVs by the node they are pinned to, following a re-pin and an unpin', () => {
    const model = new ClusterModel();
    model.upsert('persistentVolume', localPV({ name: 'l1', pinnedNode: 'a' }));
    model.upsert('persistentVolume', localPV({ name: 'l2', pinnedNode: 'a' }));
    model.upsert('persistentVolume', pv({ name: 'net' }));
    expect(names(model.persistentVolumesPinnedTo('a'))).toEqual(['l1', 'l2']);
    expect(names(model.pinnedPersistentVolumes())).toEqual(['l1', 'l2']);
    model.upsert('persistentVolume', localPV({ name: 'l1', pinnedNode: 'b' }));
    model.upsert('persistentVolume', localPV({ name: 'l2', pinnedNode: '' }));
    expect(model.persistentVolumesPinnedTo('a')).toEqual([]);
    expect(names(model.persistentVolumesPinnedTo('b'))).toEqual(['l1']);
    expect(names(model.pinnedPersistentVolumes())).toEqual(['l1']);
  });

  it('indexes PVCs by namespace and by either release label, following label changes', () => {
    const model = new ClusterModel();
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'a', name: 'new', labels: { 'app.kubernetes.io/instance': 'r' } }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'a', name: 'old', labels: { release: 'r' } }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'a', name: 'both', labels: { release: 'r', 'app.kubernetes.io/instance': 'r' } }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'a', name: 'two', labels: { release: 'x', 'app.kubernetes.io/instance': 'y' } }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'b', name: 'other-ns', labels: { release: 'r' } }));
    expect(names(model.persistentVolumeClaimsOfRelease('a', 'r'))).toEqual(['both', 'new', 'old']);
    expect(names(model.persistentVolumeClaimsOfRelease('a', 'x'))).toEqual(['two']);
    expect(names(model.persistentVolumeClaimsOfRelease('a', 'y'))).toEqual(['two']);
    expect(names(model.persistentVolumeClaimsOfRelease('b', 'r'))).toEqual(['other-ns']);
    expect(names(model.persistentVolumeClaimsIn('a'))).toEqual(['both', 'new', 'old', 'two']);

    model.upsert('persistentVolumeClaim', pvc({ namespace: 'a', name: 'new', labels: { 'app.kubernetes.io/instance': 'q' } }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'a', name: 'two', labels: {} }));
    expect(names(model.persistentVolumeClaimsOfRelease('a', 'r'))).toEqual(['both', 'old']);
    expect(names(model.persistentVolumeClaimsOfRelease('a', 'q'))).toEqual(['new']);
    expect(model.persistentVolumeClaimsOfRelease('a', 'x')).toEqual([]);
    expect(model.persistentVolumeClaimsOfRelease('a', 'y')).toEqual([]);
  });

  it('indexes PVCs by the Helm release their annotations name, in any namespace, following annotation changes', () => {
    const model = new ClusterModel();
    const helm = (name: string, namespace?: string) => ({ 'meta.helm.sh/release-name': name, ...(namespace === undefined ? {} : { 'meta.helm.sh/release-namespace': namespace }) });
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'a', name: 'own', annotations: helm('r', 'a') }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'a', name: 'no-namespace', annotations: helm('r') }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'b', name: 'elsewhere', annotations: helm('r', 'a') }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'b', name: 'of-b', annotations: helm('r') }));
    model.upsert('persistentVolumeClaim', pvc({ namespace: 'a', name: 'labelled', labels: { release: 'r' } }));
    expect(names(model.persistentVolumeClaimsAnnotatedForRelease('a', 'r'))).toEqual(['elsewhere', 'no-namespace', 'own']);
    expect(names(model.persistentVolumeClaimsAnnotatedForRelease('b', 'r'))).toEqual(['of-b']);

    model.upsert('persistentVolumeClaim', pvc({ namespace: 'b', name: 'elsewhere', annotations: helm('s', 'a') }));
    model.remove('persistentVolumeClaim', 'a/own');
    expect(names(model.persistentVolumeClaimsAnnotatedForRelease('a', 'r'))).toEqual(['no-namespace']);
    expect(names(model.persistentVolumeClaimsAnnotatedForRelease('a', 's'))).toEqual(['elsewhere']);
  });

  it('indexes pods by each claim they mount and by node', () => {
    const model = new ClusterModel();
    model.upsert('pod', pod({ namespace: 'a', name: 'p1', nodeName: 'n1', claimNames: ['c1', 'c2', 'c1'] }));
    model.upsert('pod', pod({ namespace: 'a', name: 'p2', nodeName: 'n2', claimNames: ['c1'] }));
    model.upsert('pod', pod({ namespace: 'b', name: 'p3', nodeName: 'n1', claimNames: ['c1'] }));
    expect(names(model.podsUsingClaim('a', 'c1'))).toEqual(['p1', 'p2']);
    expect(names(model.podsUsingClaim('a', 'c2'))).toEqual(['p1']);
    expect(names(model.podsUsingClaim('b', 'c1'))).toEqual(['p3']);
    expect(names(model.podsOnNode('n1'))).toEqual(['p1', 'p3']);
    model.upsert('pod', pod({ namespace: 'a', name: 'p1', nodeName: 'n2', claimNames: ['c2'] }));
    expect(names(model.podsUsingClaim('a', 'c1'))).toEqual(['p2']);
    expect(names(model.podsOnNode('n1'))).toEqual(['p3']);
    expect(names(model.podsOnNode('n2'))).toEqual(['p1', 'p2']);
  });

  it('indexes StatefulSets by Helm release namespace and name', () => {
    const model = new ClusterModel();
    model.upsert('statefulSet', statefulSet({ namespace: 'a', name: 'db', helmReleaseName: 'r', helmReleaseNamespace: 'a' }));
    model.upsert('statefulSet', statefulSet({ namespace: 'a', name: 'cache', helmReleaseName: 'r', helmReleaseNamespace: '' }));
    // A chart may create objects in another namespace than the release's: Helm still stamps the release's.
    model.upsert('statefulSet', statefulSet({ namespace: 'c', name: 'far', helmReleaseName: 'r', helmReleaseNamespace: 'a' }));
    model.upsert('statefulSet', statefulSet({ namespace: 'a', name: 'foreign', helmReleaseName: 'r', helmReleaseNamespace: 'b' }));
    model.upsert('statefulSet', statefulSet({ namespace: 'a', name: 'plain' }));
    expect(names(model.statefulSetsOfRelease('a', 'r'))).toEqual(['cache', 'db', 'far']);
    expect(names(model.statefulSetsOfRelease('b', 'r'))).toEqual(['foreign']);
    model.upsert('statefulSet', statefulSet({ namespace: 'a', name: 'db', helmReleaseName: 'r2', helmReleaseNamespace: 'a' }));
    expect(names(model.statefulSetsOfRelease('a', 'r'))).toEqual(['cache', 'far']);
    expect(names(model.statefulSetsOfRelease('a', 'r2'))).toEqual(['db']);
  });

  it('keeps large buckets (hundreds of PVCs in a namespace) exact through updates and removals', () => {
    const model = new ClusterModel();
    for (let i = 0; i < 300; i++) {
      model.upsert('persistentVolumeClaim', pvc({ namespace: 'big', name: `c${i}`, labels: { release: 'r' } }));
    }
    const before = model.persistentVolumeClaimsIn('big');
    for (let i = 0; i < 300; i += 2) model.remove('persistentVolumeClaim', `big/c${i}`);
    for (let i = 1; i < 300; i += 4) {
      model.upsert('persistentVolumeClaim', pvc({ namespace: 'big', name: `c${i}`, labels: { release: 'other' } }));
    }
    expect(before).toHaveLength(300); // an array handed out earlier is not modified
    expect(model.persistentVolumeClaimsIn('big')).toHaveLength(150);
    expect(model.persistentVolumeClaimsOfRelease('big', 'r')).toHaveLength(75);
    expect(model.persistentVolumeClaimsOfRelease('big', 'other')).toHaveLength(75);
    for (let i = 1; i < 300; i += 2) model.remove('persistentVolumeClaim', `big/c${i}`);
    allZero(model);
  });
});

describe('ClusterModel.replaceAll', () => {
  it('reconciles a kind: adds, updates and removes what the list no longer has', () => {
    const model = new ClusterModel();
    model.replaceAll('pod', [
      pod({ name: 'keep', nodeName: 'n1', claimNames: ['c'] }),
      pod({ name: 'gone', nodeName: 'n1', claimNames: ['c'] }),
      pod({ name: 'moves', nodeName: 'n1' }),
    ]);
    model.upsert('node', node({ name: 'n1' }));
    model.replaceAll('pod', [
      pod({ name: 'keep', nodeName: 'n1', claimNames: ['c'] }),
      pod({ name: 'moves', nodeName: 'n2' }),
      pod({ name: 'new', nodeName: 'n2' }),
    ]);
    expect(names(model.records('pod'))).toEqual(['keep', 'moves', 'new']);
    expect(names(model.podsUsingClaim('default', 'c'))).toEqual(['keep']);
    expect(names(model.podsOnNode('n1'))).toEqual(['keep']);
    expect(names(model.podsOnNode('n2'))).toEqual(['moves', 'new']);
    expect(model.count('node')).toBe(1); // other kinds untouched
  });

  it('reconciles Longhorn kinds given namespaced records', () => {
    const model = new ClusterModel();
    model.replaceAll('longhornReplica', [replica({ name: 'r1' }), replica({ name: 'r2' })]);
    model.replaceAll('longhornReplica', [replica({ name: 'r2' })]);
    expect(names(model.records('longhornReplica'))).toEqual(['r2']);
    expect(model.get('longhornReplica', 'longhorn-system/r2')?.name).toBe('r2');
  });

  it('empties every index when a kind is replaced by nothing', () => {
    const model = new ClusterModel({ any: () => true });
    const { volume: v, replicas } = volumeWithReplicas('v', ['a', 'b']);
    model.upsert('longhornVolume', v);
    model.replaceAll('longhornReplica', replicas);
    model.replaceAll('persistentVolume', [localPV({ name: 'l' })]);
    model.replaceAll('persistentVolumeClaim', [pvc({ labels: { release: 'r' } })]);
    model.replaceAll('pod', [pod({ claimNames: ['c'] })]);
    model.replaceAll('statefulSet', [statefulSet({ helmReleaseName: 'r' })]);
    model.replaceAll('longhornNode', [longhornNode()]);
    model.replaceAll('node', [node()]);
    model.replaceAll('namespace', [namespace()]);
    for (const kind of RESOURCE_KINDS) model.replaceAll(kind, []);
    allZero(model);
  });
});

describe('ClusterModel volume sets', () => {
  function modelWithCluster() {
    const { sets, calls } = countingSets();
    const model = new ClusterModel(sets);
    model.replaceAll('longhornNode', ['a', 'b', 'c'].map((name) => longhornNode({ name })));
    const volumes: LonghornVolumeRecord[] = [];
    const replicas: LonghornReplicaRecord[] = [];
    for (let i = 0; i < 50; i++) {
      const built = volumeWithReplicas(`v${i}`, ['a', 'b', 'c']);
      volumes.push(built.volume);
      replicas.push(...built.replicas);
    }
    model.replaceAll('longhornVolume', volumes);
    model.replaceAll('longhornReplica', replicas);
    calls.length = 0;
    return { model, calls };
  }

  it('evaluates each volume once per batch, not once per replica', () => {
    const { sets, calls } = countingSets();
    const model = new ClusterModel(sets);
    const built = [0, 1, 2].map((i) => volumeWithReplicas(`v${i}`, ['a', 'b', 'c']));
    model.replaceAll('longhornVolume', built.map((b) => b.volume));
    expect(calls.sort()).toEqual(['v0', 'v0', 'v1', 'v1', 'v2', 'v2']); // 2 predicates × 3 volumes
    calls.length = 0;
    model.replaceAll('longhornReplica', built.flatMap((b) => b.replicas));
    expect(calls.sort()).toEqual(['v0', 'v0', 'v1', 'v1', 'v2', 'v2']);
  });

  it('re-evaluates only the volume of a changed replica', () => {
    const { model, calls } = modelWithCluster();
    expect(model.volumeSetSize('at-most-one-healthy')).toBe(0);
    model.upsert('longhornReplica', replica({ volumeName: 'v7', nodeID: 'a', failedAt: 'x' }));
    expect(calls).toEqual(['v7', 'v7']);
    expect(model.volumeSetSize('at-most-one-healthy')).toBe(0);
    calls.length = 0;
    model.upsert('longhornReplica', replica({ volumeName: 'v7', nodeID: 'b', failedAt: 'x' }));
    expect(calls).toEqual(['v7', 'v7']);
    expect(names(model.volumesInSet('at-most-one-healthy'))).toEqual(['v7']);
    expect(model.volumeInSet('at-most-one-healthy', 'v7')).toBe(true);
    calls.length = 0;
    model.remove('longhornReplica', 'longhorn-system/v7-r-c');
    expect(calls).toEqual(['v7', 'v7']);
    expect(names(model.volumesInSet('at-most-one-healthy'))).toEqual(['v7']);
  });

  it('re-evaluates nothing when an equal replica is written again', () => {
    const { model, calls } = modelWithCluster();
    model.upsert('longhornReplica', replica({ volumeName: 'v3', nodeID: 'a' }));
    expect(calls).toEqual([]);
  });

  it('re-evaluates both volumes when a replica changes volume', () => {
    const { model, calls } = modelWithCluster();
    model.upsert('longhornReplica', { ...replica({ volumeName: 'v1', nodeID: 'a' }), volumeName: 'v2' });
    expect(calls.sort()).toEqual(['v1', 'v1', 'v2', 'v2']);
  });

  it('re-evaluates the volumes with replicas on a Longhorn node whose disks change, and only those', () => {
    const { model, calls } = modelWithCluster();
    model.upsert('longhornNode', longhornNode({ name: 'd', diskUUIDs: ['new'] })); // no replica there
    expect(calls).toEqual([]);
    // Volumes v0..v9 move their third replica to node d.
    for (let i = 0; i < 10; i++) model.remove('longhornReplica', `longhorn-system/v${i}-r-c`);
    for (let i = 0; i < 10; i++) {
      model.upsert('longhornReplica', replica({ volumeName: `v${i}`, nodeID: 'd', diskID: 'new' }));
    }
    calls.length = 0;
    model.upsert('longhornNode', longhornNode({ name: 'd', diskUUIDs: ['replaced'] }));
    expect(new Set(calls)).toEqual(new Set(Array.from({ length: 10 }, (_, i) => `v${i}`)));
    expect(calls).toHaveLength(20);
    expect(model.volumeSetSize('disk-missing')).toBe(10);
    calls.length = 0;
    model.remove('longhornNode', 'longhorn-system/d');
    expect(calls).toHaveLength(20);
    expect(model.volumeSetSize('disk-missing')).toBe(10);
    model.upsert('longhornNode', longhornNode({ name: 'd', diskUUIDs: ['new'] }));
    expect(model.volumeSetSize('disk-missing')).toBe(0);
  });

  it('re-evaluates the volumes on nodes changed by a replaceAll of Longhorn nodes, once each', () => {
    const { model, calls } = modelWithCluster();
    model.replaceAll('longhornNode', [
      longhornNode({ name: 'a' }),
      longhornNode({ name: 'b' }),
      longhornNode({ name: 'c', diskUUIDs: ['other'] }),
    ]);
    expect(calls).toHaveLength(100); // 50 volumes × 2 predicates, though 50 replicas sit on node c
    expect(model.volumeSetSize('disk-missing')).toBe(50);
  });

  it('adds a volume whose replicas arrived first, and drops a removed volume from every set', () => {
    const { sets } = countingSets();
    const model = new ClusterModel(sets);
    model.upsert('longhornReplica', replica({ volumeName: 'late', nodeID: 'x', diskID: 'unknown' }));
    expect(model.volumeSetSize('disk-missing')).toBe(0);
    model.upsert('longhornVolume', volume({ name: 'late' }));
    expect(names(model.volumesInSet('disk-missing'))).toEqual(['late']);
    expect(names(model.volumesInSet('at-most-one-healthy'))).toEqual(['late']);
    model.remove('longhornVolume', 'longhorn-system/late');
    expect(model.volumeSetSize('disk-missing')).toBe(0);
    expect(model.volumeSetSize('at-most-one-healthy')).toBe(0);
  });

  it('serves the current volume record from a set after the volume changes', () => {
    const model = new ClusterModel({ all: () => true });
    model.upsert('longhornVolume', volume({ name: 'v', state: 'attached' }));
    model.upsert('longhornVolume', volume({ name: 'v', state: 'detached' }));
    expect([...model.volumesInSet('all')].map((v) => v.state)).toEqual(['detached']);
  });

  it('refuses an unknown set name rather than reporting it empty', () => {
    const model = new ClusterModel({ known: () => true });
    expect(() => model.volumesInSet('unknwon')).toThrow(/unknown volume set/);
    expect(() => model.volumeSetSize('unknwon')).toThrow(/unknown volume set/);
  });

  it('leaks nothing once everything is deleted', () => {
    const { model } = modelWithCluster();
    model.upsert('longhornReplica', replica({ volumeName: 'v1', nodeID: 'a', failedAt: 'x' }));
    model.upsert('longhornReplica', replica({ volumeName: 'v1', nodeID: 'b', failedAt: 'x' }));
    expect(model.volumeSetSize('at-most-one-healthy')).toBe(1);
    const kinds: ResourceKind[] = ['longhornReplica', 'longhornVolume', 'longhornNode'];
    for (const kind of kinds) {
      for (const record of [...model.records(kind)]) model.remove(kind, recordKey(record));
    }
    allZero(model);
  });
});

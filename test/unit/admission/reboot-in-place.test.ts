// A reboot daemon (kured) cordons a node, evicts its pods (kubectl's drain library), reboots it and uncordons it once
// it is back: the node-local PVs pinned to it are on its disks again, and their pods wait for it Pending. With its
// identity in `reboots.users` / `reboots.groups`, its cordon and its evictions and drain pod DELETEs on the cordoned node
// pass for those PVs with a warning. Everything else is judged as before: anyone else's requests, a node being removed,
// data the reboot does not bring back (a PV no affinity pins, a hostPath a controller recreates elsewhere, a StatefulSet
// emptyDir), and the Longhorn checks (a reboot stops the node's replicas).
import { describe, expect, it } from 'vitest';
import { inPlaceUpgradeOf, isRebootIdentity } from '../../../src/admission/longhorn-drain.ts';
import type { UserInfo } from '../../../src/admission/types.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podDeleteValidator } from '../../../src/admission/validators/pod-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { ADMIN, context, cordonRequest, evictionRequest, NODE_KIND, request, statefulSetPodDeleteRequest } from '../../support/admission.ts';
import { csiPV, hostPathPV, localPV, longhornNode, longhornSetting, machine, node, pod, pvc, volumeWithReplicas } from '../../support/fixtures.ts';

const KURED: UserInfo = {
  username: 'system:serviceaccount:kube-system:kured',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
};
/** Another service account of kured's namespace: not the reboot daemon. */
const OTHER: UserInfo = { username: 'system:serviceaccount:kube-system:default', groups: KURED.groups };

const base = defaultConfig();
const config: Config = { ...base, reboots: { users: [KURED.username], groups: [] } };

const judge = (c: Config) => ({ cordon: nodeCordonValidator(c), evict: podEvictionValidator(c), remove: podDeleteValidator(c) });
const { cordon, evict, remove } = judge(config);
const withConfig = (m: ClusterModel, c: Config = config) => context(m, { config: c });

/**
 * On w1: db-0's local-path PV (a hostPath PV pinned to w1), cache-0's TopoLVM PV and a parked `local` PV, all pinned to
 * w1; w2 beside it.
 */
function cluster(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.setLonghornInstalled(true);
  m.upsert('node', node({ name: 'w1', labels: { 'kubernetes.io/hostname': 'w1' } }));
  m.upsert('node', node({ name: 'w2', labels: { 'kubernetes.io/hostname': 'w2' } }));
  m.upsert('persistentVolume', hostPathPV({ name: 'pv-db-0', pinnedNode: 'w1', claimNamespace: 'db', claimName: 'data-db-0' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: 'db', name: 'data-db-0', volumeName: 'pv-db-0', storageClassName: 'local-path' }));
  m.upsert('pod', pod({ namespace: 'db', name: 'db-0', nodeName: 'w1', claimNames: ['data-db-0'], controllerKind: 'StatefulSet' }));
  m.upsert('persistentVolume', csiPV('topolvm.io', { name: 'pv-cache-0', pinnedNode: 'w1', claimNamespace: 'db', claimName: 'data-cache-0' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: 'db', name: 'data-cache-0', volumeName: 'pv-cache-0' }));
  m.upsert('pod', pod({ namespace: 'db', name: 'cache-0', nodeName: 'w1', claimNames: ['data-cache-0'], controllerKind: 'StatefulSet' }));
  m.upsert('persistentVolume', localPV({ name: 'pv-parked', pinnedNode: 'w1', claimNamespace: 'db', claimName: 'parked' }));
  m.upsert('persistentVolumeClaim', pvc({ namespace: 'db', name: 'parked', volumeName: 'pv-parked' }));
  return m;
}

function cordoned(m: ClusterModel): ClusterModel {
  m.upsert('node', node({ name: 'w1', unschedulable: true, labels: { 'kubernetes.io/hostname': 'w1' } }));
  return m;
}

/** A drain's DELETE of db-0 (`kubectl drain --disable-eviction`), the pod as stored. */
function deleteDb0(user: UserInfo) {
  return statefulSetPodDeleteRequest({ namespace: 'db', name: 'db-0', statefulSet: 'db', node: 'w1', claims: ['data-db-0'], user });
}

/** A Node UPDATE of w1 by `user` from `before` to `after` (spec fields). */
function nodeUpdate(user: UserInfo, before: Record<string, unknown>, after: Record<string, unknown>) {
  return request({
    ...NODE_KIND,
    operation: 'UPDATE',
    name: 'w1',
    userInfo: user,
    object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'w1' }, spec: after },
    oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'w1' }, spec: before },
  });
}

describe("a reboot daemon's reboot in place and node-local PVs", () => {
  it("lets kured's cordon through with a warning naming the PVs pinned to the node", () => {
    const decision = cordon.handle(cordonRequest('w1', {}, KURED), withConfig(cluster()));
    expect(decision.allowed).toBe(true);
    const warnings = decision.warnings!.join(' ');
    expect(warnings).toContain(`${KURED.username} (reboots.users/groups) reboots node w1 in place:`);
    expect(warnings).toContain('3 node-local PVs stay on its disks (pv-db-0, pv-cache-0, pv-parked); pods using them wait until the node is back');
    // No risk was accepted: nothing is recorded as overridden.
    expect(decision.auditAnnotations?.['override-source']).toBeUndefined();
  });

  it('refuses the same cordon by anyone else, and by kured when no reboot identity is configured', () => {
    for (const [user, c] of [
      [ADMIN, config],
      [OTHER, config],
      [KURED, base],
    ] as const) {
      const decision = judge(c).cordon.handle(cordonRequest('w1', {}, user), withConfig(cluster(), c));
      expect(decision.allowed, user.username).toBe(false);
      expect(decision.status!.message).toContain('pv-db-0');
      expect(decision.status!.message).toContain('pv-parked');
    }
  });

  it('counts the members of a configured group', () => {
    const byGroup: Config = { ...base, reboots: { users: [], groups: ['system:serviceaccounts:kube-system'] } };
    expect(isRebootIdentity(KURED, byGroup.reboots)).toBe(true);
    expect(isRebootIdentity(ADMIN, byGroup.reboots)).toBe(false);
    expect(judge(byGroup).cordon.handle(cordonRequest('w1', {}, KURED), withConfig(cluster(), byGroup)).allowed).toBe(true);
    expect(judge(byGroup).cordon.handle(cordonRequest('w1', {}, ADMIN), withConfig(cluster(), byGroup)).allowed).toBe(false);
  });

  it("lets kured's evictions and drain pod DELETEs on the cordoned node through, saying the evicted pod's own PVs", () => {
    const m = cordoned(cluster());
    const decision = evict.handle(evictionRequest('db-0', { namespace: 'db', user: KURED }), withConfig(m));
    expect(decision.allowed).toBe(true);
    const warnings = decision.warnings!.join(' ');
    expect(warnings).toContain('reboots node w1 in place:');
    expect(warnings).toContain('1 node-local PV stays on its disks (pv-db-0); pods using it wait until the node is back');
    expect(remove.handle(deleteDb0(KURED), withConfig(m)).allowed).toBe(true);
    // An admin's drain of the same node: the pod's data stays behind.
    const refused = evict.handle(evictionRequest('db-0', { namespace: 'db', user: ADMIN }), withConfig(m));
    expect(refused.allowed).toBe(false);
    expect(refused.status!.message).toContain('pv-db-0');
    expect(remove.handle(deleteDb0(ADMIN), withConfig(m)).allowed).toBe(false);
  });

  it("counts kured's cordon just admitted, before the informers show the node cordoned", () => {
    const m = cluster();
    m.allowCordon('w1');
    expect(m.node('w1')?.unschedulable).toBe(false);
    expect(evict.handle(evictionRequest('db-0', { namespace: 'db', user: KURED }), withConfig(m)).allowed).toBe(true);
  });

  it("refuses kured's eviction from a schedulable node: no reboot drains a node it has not cordoned", () => {
    const m = cluster();
    const decision = evict.handle(evictionRequest('db-0', { namespace: 'db', user: KURED }), withConfig(m));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('pv-db-0');
    expect(inPlaceUpgradeOf(m, 'w1', { username: KURED.username })).toBeUndefined();
  });

  it('refuses its NoSchedule and NoExecute taints, and its Node DELETE: a reboot daemon only cordons', () => {
    const m = cluster();
    for (const effect of ['NoSchedule', 'NoExecute']) {
      const taint = nodeUpdate(KURED, {}, { taints: [{ key: 'maintenance', value: 'reboot', effect }] });
      expect(cordon.handle(taint, withConfig(m)).allowed, effect).toBe(false);
      // A cordon adding a taint in the same update is no cordon alone either.
      const both = nodeUpdate(KURED, {}, { unschedulable: true, taints: [{ key: 'maintenance', value: 'reboot', effect }] });
      expect(cordon.handle(both, withConfig(m)).allowed, effect).toBe(false);
    }
    const deletion = request({ ...NODE_KIND, operation: 'DELETE', name: 'w1', userInfo: KURED, oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'w1' } } });
    const refused = cordon.handle(deletion, withConfig(m));
    expect(refused.allowed).toBe(false);
    expect(refused.status!.message).toContain('pv-db-0');
  });

  it("lets kured's PreferNoSchedule taint and its uncordon through, as anyone's", () => {
    const m = cordoned(cluster());
    const prefer = nodeUpdate(KURED, {}, { taints: [{ key: 'weave.works/kured-node-reboot', effect: 'PreferNoSchedule' }] });
    expect(cordon.handle(prefer, withConfig(m)).allowed).toBe(true);
    const uncordon = nodeUpdate(KURED, { unschedulable: true }, {});
    const decision = cordon.handle(uncordon, withConfig(m));
    expect(decision.allowed).toBe(true);
    expect(decision.warnings ?? []).toEqual([]);
  });

  it('refuses its cordon and evictions on a node being removed: its Machine deleted, or an autoscaler drain taint', () => {
    const byMachine = cluster();
    byMachine.upsert('machine', machine({ name: 'm-w1', nodeName: 'w1', deleting: true }));
    expect(byMachine.nodeLeaving('w1')).toBe('machine');
    const decision = cordon.handle(cordonRequest('w1', {}, KURED), withConfig(byMachine));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('pv-db-0');
    expect(evict.handle(evictionRequest('db-0', { namespace: 'db', user: KURED }), withConfig(cordoned(byMachine))).allowed).toBe(false);

    // cluster-autoscaler's taint already on the node: kured's cordon alone adds no taint, but the node goes.
    const scaledAway = { key: 'ToBeDeletedByClusterAutoscaler', value: '1700000000', effect: 'NoSchedule' };
    const taintedCordon = nodeUpdate(KURED, { taints: [scaledAway] }, { unschedulable: true, taints: [scaledAway] });
    const refused = cordon.handle(taintedCordon, withConfig(cluster()));
    expect(refused.allowed).toBe(false);
    expect(refused.status!.message).toContain('pv-db-0');
  });

  it('still refuses data the reboot does not bring back: a PV no affinity pins, a hostPath its ReplicaSet recreates elsewhere', () => {
    const m = cluster();
    m.upsert('persistentVolume', hostPathPV({ name: 'pv-loose', pinnedNode: '', driver: 'k8s.io/minikube-hostpath', claimNamespace: 'web', claimName: 'loose' }));
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'web', name: 'loose', volumeName: 'pv-loose' }));
    m.upsert('pod', pod({ namespace: 'web', name: 'loose-0', nodeName: 'w1', claimNames: ['loose'], controllerKind: 'StatefulSet' }));
    m.upsert('pod', pod({ namespace: 'web', name: 'cache-1', nodeName: 'w1', controllerKind: 'ReplicaSet', hostPaths: [{ path: '/data/cache', writable: true }] }));
    const decision = cordon.handle(cordonRequest('w1', {}, KURED), withConfig(m));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('pv-loose');
    expect(decision.status!.message).toContain('web/cache-1');
    expect(decision.status!.message).not.toContain('pv-db-0');
    expect(decision.warnings!.join(' ')).toContain('stay on its disks');
    cordoned(m);
    const loose = evict.handle(evictionRequest('loose-0', { namespace: 'web', user: KURED }), withConfig(m));
    expect(loose.allowed).toBe(false);
    expect(loose.status!.message).toContain('pv-loose');
    expect(evict.handle(evictionRequest('cache-1', { namespace: 'web', user: KURED }), withConfig(m)).allowed).toBe(false);
  });

  it("keeps no StatefulSet emptyDir: a disk-backed one is emptied by the eviction, a memory-backed one by the reboot", () => {
    const enforced: Config = { ...config, nodeLocal: { ...config.nodeLocal, statefulSetEmptyDir: 'enforce' } };
    const m = cluster();
    // The record keeps disk-backed emptyDirs only (a memory-backed one, tmpfs or hugetlbfs, is not the node's data).
    m.upsert('pod', pod({ namespace: 'web', name: 'queue-0', nodeName: 'w1', controllerKind: 'StatefulSet', emptyDirs: ['spool'] }));
    const decision = judge(enforced).cordon.handle(cordonRequest('w1', {}, KURED), withConfig(m, enforced));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('web/queue-0');
    expect(decision.warnings!.join(' ')).not.toContain('queue-0');
    const evicted = judge(enforced).evict.handle(evictionRequest('queue-0', { namespace: 'web', user: KURED }), withConfig(cordoned(m), enforced));
    expect(evicted.allowed).toBe(false);
    expect(evicted.status!.message).toContain('emptyDir spool');

    // A pod whose only inline data is a memory-backed emptyDir: nothing is said to stay on the disks for it.
    const memory = cluster();
    const stored = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'tmp-0', namespace: 'web', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'tmp', uid: 'u-tmp', controller: true }] },
      spec: { nodeName: 'w1', containers: [{ name: 'c', image: 'x', volumeMounts: [{ name: 'scratch', mountPath: '/s' }] }], volumes: [{ name: 'scratch', emptyDir: { medium: 'Memory' } }] },
      status: { phase: 'Running' },
    };
    const record = transformPod(stored)!;
    expect(record.emptyDirs).toEqual([]);
    memory.upsert('pod', record);
    const allowed = judge(enforced).cordon.handle(cordonRequest('w1', {}, KURED), withConfig(memory, enforced));
    expect(allowed.allowed).toBe(true);
    expect(allowed.warnings!.join(' ')).not.toContain('tmp-0');
    const evictedMemory = judge(enforced).evict.handle(evictionRequest('tmp-0', { namespace: 'web', user: KURED }), withConfig(cordoned(memory), enforced));
    expect(evictedMemory.allowed).toBe(true);
    expect((evictedMemory.warnings ?? []).join(' ')).not.toContain('stay');
  });

  it("still refuses kured's cordon and evictions for a Longhorn volume's last copy on the node: a reboot stops its replicas", () => {
    const m = cluster();
    m.upsert('longhornNode', longhornNode({ name: 'w1' }));
    m.upsert('longhornNode', longhornNode({ name: 'w2' }));
    // Two replicas, the one on w2 failed: w1 holds the only healthy copy.
    const { volume, replicas } = volumeWithReplicas('pvc-app', ['w1', 'w2'], { pvcNamespace: 'db', pvcName: 'app', currentNodeID: 'w1' });
    m.upsert('longhornVolume', { ...volume, robustness: 'degraded' });
    m.upsert('longhornReplica', replicas[0]!);
    m.upsert('longhornReplica', { ...replicas[1]!, failedAt: '2024-05-02T10:00:00Z', desireState: 'stopped', currentState: 'stopped' });
    // A single-replica volume on w1.
    const single = volumeWithReplicas('pvc-single', ['w1'], { pvcNamespace: 'db', pvcName: 'single', currentNodeID: 'w1' });
    m.upsert('longhornVolume', single.volume);
    m.upsert('longhornReplica', single.replicas[0]!);
    m.upsert('persistentVolumeClaim', pvc({ namespace: 'db', name: 'app', volumeName: 'pvc-app' }));
    m.upsert('pod', pod({ namespace: 'db', name: 'app-0', nodeName: 'w1', claimNames: ['app'], controllerKind: 'StatefulSet' }));
    const decision = cordon.handle(cordonRequest('w1', {}, KURED), withConfig(m));
    expect(decision.allowed).toBe(false);
    expect(decision.status!.message).toContain('last-replica-on-node');
    expect(decision.status!.message).toContain('single-replica');
    expect(decision.status!.message).toContain('pvc-app');
    // Not for the node-local PVs: those the reboot keeps, said in a warning.
    expect(decision.status!.message).not.toContain('pv-db-0');
    expect(decision.warnings!.join(' ')).toContain('stay on its disks');
    cordoned(m);
    const evicted = evict.handle(evictionRequest('app-0', { namespace: 'db', user: KURED }), withConfig(m));
    expect(evicted.allowed).toBe(false);
    expect(evicted.status!.message).toContain('pvc-app');
    // db-0's eviction is refused too: the node-wide checks find the last copies on the node being drained.
    expect(evict.handle(evictionRequest('db-0', { namespace: 'db', user: KURED }), withConfig(m)).allowed).toBe(false);
  });

  it("lets Longhorn's node-drain-policy move the last copies as for anyone; a degraded volume stays refused", () => {
    const m = cluster();
    m.upsert('longhornNode', longhornNode({ name: 'w1' }));
    m.upsert('longhornNode', longhornNode({ name: 'w2' }));
    m.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
    const single = volumeWithReplicas('pvc-single', ['w1'], { pvcNamespace: 'db', pvcName: 'single', currentNodeID: 'w1' });
    m.upsert('longhornVolume', single.volume);
    m.upsert('longhornReplica', single.replicas[0]!);
    const decision = cordon.handle(cordonRequest('w1', {}, KURED), withConfig(m));
    expect(decision.allowed).toBe(true);
    const warnings = decision.warnings!.join(' ');
    expect(warnings).toContain('holds the only copy of 1 Longhorn volume(s)');
    expect(warnings).toContain('reboots node w1 in place:');
    // A volume already short of healthy copies: restarting the node can take the rest.
    const degraded = volumeWithReplicas('pvc-app', ['w1'], { pvcNamespace: 'db', pvcName: 'app', currentNodeID: 'w1', numberOfReplicas: 2, robustness: 'degraded' });
    m.upsert('longhornVolume', degraded.volume);
    m.upsert('longhornReplica', degraded.replicas[0]!);
    const refused = cordon.handle(cordonRequest('w1', {}, KURED), withConfig(m));
    expect(refused.allowed).toBe(false);
    expect(refused.status!.message).toContain('[volume-health]');
    expect(refused.status!.message).toContain('pvc-app');
  });
});

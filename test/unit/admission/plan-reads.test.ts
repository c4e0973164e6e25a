// Every plan's declared `reads` (a stale one of those makes its answer unknown) covers what its checks really read.
// Each plan runs on a cluster with data of every kind through a snapshot that records the resource kinds behind every
// query: a check that starts reading a kind its plan does not declare (as last-replica-on-node read the Longhorn nodes
// an eviction did not declare) fails here, not silently on a stale model.
import { describe, expect, it } from 'vitest';
import { PLANS, runPlan, type Plan, type PlanId, type PlanOptions } from '../../../src/admission/plans.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { nodeLocalOptionsOf } from '../../../src/checks/node-local-volume.ts';
import { NO_CAP } from '../../../src/checks/collect.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { ResourceKind } from '../../../src/cluster/records.ts';
import type { ClusterSnapshot } from '../../../src/cluster/snapshot.ts';
import { defaultConfig } from '../../../src/config.ts';
import {
  clusterApiCluster,
  localPV,
  longhornNode,
  longhornSetting,
  machine,
  machineDrainRule,
  namespace,
  pod,
  pv,
  pvc,
  replica,
  statefulSet,
  syntheticCluster,
  SMALL_CLUSTER,
  volumeWithReplicas,
} from '../../support/fixtures.ts';

const VOLUME_DERIVED: readonly ResourceKind[] = ['longhornVolume', 'longhornReplica', 'longhornNode', 'node', 'longhornSetting'];

/**
 * The resource kinds each snapshot query reads, the model's own lookups behind it included (nodeIsUp reads the core
 * Node and the Longhorn node; a volume set or count re-evaluates its predicates over volumes, replicas, nodes and
 * Longhorn's scheduling settings). A Record over every member, so a new query must say what it reads.
 */
const READS: { readonly [Query in keyof ClusterSnapshot]: readonly ResourceKind[] | ((...args: never[]) => readonly ResourceKind[]) } = {
  longhornInstalled: [], // whether Longhorn's CRDs are served: not a resource's state
  count: (kind: ResourceKind) => [kind],
  longhornVolume: ['longhornVolume'],
  longhornVolumeOfPV: ['longhornVolume'],
  longhornVolumes: ['longhornVolume'],
  volumesInSet: VOLUME_DERIVED,
  volumeSetSize: VOLUME_DERIVED,
  volumeCount: VOLUME_DERIVED,
  volumeCountsByKey: VOLUME_DERIVED,
  volumesCountedUnder: VOLUME_DERIVED,
  replicasOfVolume: ['longhornReplica'],
  replicasOnNode: ['longhornReplica'],
  longhornNode: ['longhornNode'],
  longhornNodes: ['longhornNode'],
  longhornSetting: ['longhornSetting'],
  nodeIsUp: ['node', 'longhornNode'],
  replicaDataKept: ['node', 'longhornNode'],
  harvesterUpgrades: ['harvesterUpgrade', 'harvesterUpgradePlan'],
  node: ['node'],
  nodes: ['node'],
  anyNodeLeaving: ['node', 'machine'],
  anyNodeCordoned: ['node'],
  nodeCordoned: ['node'],
  nodeLeaving: ['node', 'machine'],
  machineRemovingNode: ['machine'],
  cordonRefused: [], // volume-guard's own record
  dryRunCordonAllowed: [], // volume-guard's own record
  nodesLabelled: ['node'],
  namespace: ['namespace'],
  persistentVolume: ['persistentVolume'],
  persistentVolumesPinnedTo: ['persistentVolume'],
  boundPersistentVolumeKindsPinnedTo: ['persistentVolume'],
  pinnedPersistentVolumes: ['persistentVolume'],
  unpinnedClaimedPersistentVolumeSources: ['persistentVolume'],
  unpinnedPersistentVolumesNaming: ['persistentVolume'],
  nodesNamedByUnpinnedPersistentVolumes: ['persistentVolume'],
  persistentVolumeClaim: ['persistentVolumeClaim'],
  hasPodScratchClaims: ['persistentVolumeClaim'],
  persistentVolumeClaimsIn: ['persistentVolumeClaim'],
  persistentVolumeClaimsOfRelease: ['persistentVolumeClaim'],
  persistentVolumeClaimsAnnotatedForRelease: ['persistentVolumeClaim'],
  persistentVolumeClaimsOwnedBy: ['persistentVolumeClaim'],
  statefulSetsOwnedBy: ['statefulSet'],
  namespacesOwnedBy: ['namespace'],
  pod: ['pod'],
  podsUsingClaim: ['pod'],
  podsOnNode: ['pod'],
  podsWithInlineDataOnNode: ['pod'],
  statefulSet: ['statefulSet'],
  statefulSetsOfRelease: ['statefulSet'],
  deletionAdmitted: [], // volume-guard's own record
  machineRemovalAdmitted: [], // volume-guard's own record
  machinesOf: ['machine'],
  machineDrainRulesIn: ['machineDrainRule'],
  clusterApiCluster: ['clusterApiCluster'],
  machineOwner: (_namespace: string, owner: 'MachineDeployment' | 'KubeadmControlPlane') => [owner === 'MachineDeployment' ? 'machineDeployment' : 'kubeadmControlPlane'],
};

/** The snapshot, recording into `read` the kinds behind every query made of it. */
function recording(snapshot: ClusterSnapshot, read: Set<ResourceKind>): ClusterSnapshot {
  return new Proxy(snapshot, {
    get(target, property) {
      const reads = READS[property as keyof ClusterSnapshot] as (typeof READS)[keyof ClusterSnapshot] | undefined;
      if (reads === undefined) throw new Error(`plan-reads.test.ts: say what ClusterSnapshot.${String(property)} reads`);
      const value: unknown = Reflect.get(target, property, target); // the model's getters read its private fields
      if (typeof value !== 'function') {
        for (const kind of reads as readonly ResourceKind[]) read.add(kind);
        return value;
      }
      return (...args: unknown[]): unknown => {
        const kinds = typeof reads === 'function' ? (reads as (...a: unknown[]) => readonly ResourceKind[])(...args) : reads;
        for (const kind of kinds) read.add(kind);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** A cluster with risks of every kind, and objects of every resource kind the plans look at. */
function richCluster(): { model: ClusterModel; risky: string; safe: string } {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  const summary = syntheticCluster(model, { ...SMALL_CLUSTER, nodes: 8, volumes: 40, pvs: 60, pods: 40, statefulSets: 4, riskFraction: 0.3 });
  const risky = summary.riskyNode;
  const safe = summary.safeNode;
  model.upsert('longhornNode', longhornNode({ name: risky }));
  model.upsert('longhornSetting', longhornSetting('replica-soft-anti-affinity', 'false'));
  model.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-if-contains-last-replica'));
  model.upsert('namespace', namespace({ name: 'default' }));
  // A pod on the risky node with a Longhorn claim whose only healthy copy is there, and one with a local PV.
  const lh = volumeWithReplicas('pv-lh', [risky], { pvcNamespace: 'default', pvcName: 'lh-data', pvName: 'pv-lh', state: 'attached', robustness: 'degraded', numberOfReplicas: 2 });
  model.upsert('longhornVolume', lh.volume);
  lh.replicas.forEach((r, i) => model.upsert('longhornReplica', { ...r, name: `pv-lh-r-${i}` }));
  model.upsert('persistentVolume', pv({ name: 'pv-lh', claimName: 'lh-data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'lh-data', volumeName: 'pv-lh' }));
  model.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: risky, claimName: 'local-data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'local-data', volumeName: 'pv-local' }));
  model.upsert('pod', pod({ name: 'db-0', nodeName: risky, claimNames: ['lh-data', 'local-data'], controllerKind: 'StatefulSet' }));
  model.upsert('statefulSet', statefulSet({ name: 'db', replicas: 3, whenScaled: 'Delete' }));
  for (const ordinal of [0, 1, 2]) model.upsert('persistentVolumeClaim', pvc({ name: `data-db-${ordinal}`, volumeName: `pv-db-${ordinal}` }));
  // An operator's claim (CloudNativePG's), co-owned by the StatefulSet db: the owner-delete plan reads whether it stays.
  model.upsert('persistentVolume', pv({ name: 'pv-pg-1', claimName: 'pg-1', reclaimPolicy: 'Delete' }));
  model.upsert(
    'persistentVolumeClaim',
    pvc({ name: 'pg-1', volumeName: 'pv-pg-1', ownerReferences: [{ kind: 'Cluster', name: 'pg', uid: 'uid-cnpg-db' }, { kind: 'StatefulSet', name: 'db', uid: 'uid-sts-default-db' }] }),
  );
  model.upsert('pod', pod({ name: 'db-2', nodeName: risky, claimNames: ['data-db-2'], controllerKind: 'StatefulSet' }));
  // A generic ephemeral volume (a pod's scratch claim) with its only copy on the risky node, its pod elsewhere.
  const scratch = volumeWithReplicas('pv-scratch', [risky], { pvcNamespace: 'default', pvcName: 'scratch-data', pvName: 'pv-scratch', state: 'attached', numberOfReplicas: 1 });
  model.upsert('longhornVolume', scratch.volume);
  model.upsert('longhornReplica', { ...scratch.replicas[0]!, name: 'pv-scratch-r-0' });
  model.upsert('persistentVolume', pv({ name: 'pv-scratch', claimName: 'scratch-data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'scratch-data', volumeName: 'pv-scratch', ownerReferences: [{ kind: 'Pod', name: 'scratch', uid: 'uid-scratch' }] }));
  model.upsert('pod', pod({ name: 'scratch', nodeName: safe, claimNames: ['scratch-data'] }));
  model.upsert('machine', machine({ name: 'm-risky', nodeName: risky }));
  model.upsert('machineDrainRule', machineDrainRule());
  model.upsert('clusterApiCluster', clusterApiCluster());
  return { model, risky, safe };
}

/** The targets each plan is run on; 'every resource' for a plan that declares no reads (a stale anything counts). */
function targetsOf(model: ClusterModel, risky: string, safe: string): { readonly [Id in PlanId]: readonly unknown[] | 'every resource' } {
  const now = Date.now();
  const dbPod = model.pod('default', 'db-0');
  if (!dbPod) throw new Error('fixture pod missing');
  const nodes = [{ node: risky }, { node: risky, removed: true }, { node: safe }, { node: risky, leavingWith: { nodes: new Set([safe]), atMost: 1 } }];
  return {
    upgrade: [{}, { nodes: [risky] }, { nodes: [risky], replaced: true }],
    'node-cordon': nodes,
    'node-delete': nodes,
    eviction: [{ node: risky, pod: dbPod }, { node: risky, pod: dbPod, removed: true }],
    'eviction-draining': nodes,
    'pod-delete': [{ node: risky, pod: dbPod }, { node: risky, pod: dbPod, removed: true }],
    'machine-delete': nodes,
    'machine-scale-down': nodes,
    'helm-release': 'every resource',
    statefulset: 'every resource',
    'statefulset-scale-up': [
      { namespace: 'default', name: 'db', claimTemplates: ['data'], replicas: 5, ordinalsStart: 0, previousReplicas: 1, previousStart: 0, createdAt: '2030-01-01T00:00:00Z' },
    ],
    'pvc-delete': 'every resource',
    'namespace-delete': [{ namespace: 'default', now }],
    'statefulset-delete': [{ namespace: 'default', owner: { kind: 'StatefulSet', name: 'db', uid: 'uid-sts-default-db', policyDeletes: true }, now }],
    'owner-delete': [{ namespace: 'default', owner: { kind: 'Cluster', name: 'db', uid: 'uid-cnpg-db', byAutomation: true }, now }],
    'statefulset-scale-down': [{ namespace: 'default', name: 'db', uid: 'uid-sts-default-db', claimTemplates: ['data'], replicas: 1, ordinalsStart: 0, now }],
    'pv-reclaim': [
      { name: 'pv-lh', claimNamespace: 'default', claimName: 'lh-data', claimUid: 'other', phase: 'Bound', reclaimPolicy: 'Delete', previousPolicy: 'Retain' },
      { name: 'pv-gone', claimNamespace: 'default', claimName: 'gone', claimUid: 'u', phase: 'Released', reclaimPolicy: 'Delete', previousPolicy: 'Retain' },
    ],
    'longhorn-volume-delete': [{ namespace: 'longhorn-system', name: 'pv-lh', pvName: 'pv-lh', pvcNamespace: 'default', pvcName: 'lh-data', approved: false }],
    'storage-teardown': 'every resource',
    'replica-delete': [{ replica: { ...replica({ volumeName: 'pv-lh', nodeID: risky }), name: 'pv-lh-r-0' } }],
    'storage-delete-flag': 'every resource',
    'storage-drain-setting': 'every resource',
    'storage-upgrade': 'every resource',
  };
}

describe("each plan's declared reads", () => {
  const { model, risky, safe } = richCluster();
  const options: PlanOptions = { nodeLocal: nodeLocalOptionsOf(defaultConfig()) };
  const targets = targetsOf(model, risky, safe);

  for (const id of Object.keys(PLANS) as PlanId[]) {
    const plan = PLANS[id] as Plan<unknown>;
    it(`${id}: ${plan.reads === undefined ? 'declares none (every resource counts)' : 'cover what its checks read'}`, () => {
      const planTargets = targets[id];
      if (planTargets === 'every resource') {
        expect(plan.reads, `${id} declares reads: give it targets here`).toBeUndefined();
        return;
      }
      expect(plan.reads, `${id}: targets given for a plan that declares no reads`).toBeDefined();
      const read = new Set<ResourceKind>();
      let findings = 0;
      for (const target of planTargets) {
        runPlan(plan, recording(model, read), target, options, (_check, collect) => {
          findings += collect(NO_CAP).findings.length;
        });
      }
      if (plan.reads?.length !== 0) expect(read.size, `${id} read nothing: its targets do not exercise it`).toBeGreaterThan(0);
      expect([...read].filter((kind) => !plan.reads?.includes(kind)).sort(), `kinds ${id}'s checks read that it does not declare`).toEqual([]);
      // The risky node's data, and the volumes an upgrade can lose: their checks walk everything they read.
      if (plan.scope === 'node' || plan.scope === 'pod' || plan.scope === 'cluster') expect(findings, `${id} found nothing on the fixture`).toBeGreaterThan(0);
    });
  }

  it('the eviction validator declares what the pod plans read for a pod with claims', () => {
    // judgePodRemoval builds its own reads from POD_DATA_RESOURCES: the plan test above covers it.
    expect(PLANS.eviction.reads).toBe(PLANS['pod-delete'].reads);
  });
});

// Every plan's declared `reads` (a stale one of those makes its answer unknown) covers what its checks really read.
// Each plan runs on a cluster with data of every kind through a snapshot that records the resource kinds behind every
// query: a check that starts reading a kind its plan does not declare (as last-replica-on-node read the Longhorn nodes
// an eviction did not declare) fails here, not silently on a stale model. A plan that declares none fails too (a stale
// anything would then refuse its every request). The validators' own reads (overrides, what they look up before the
// plan runs) are recorded the same way, by running their handle on a representative request of each plan they judge.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PLANS, RELEASE_RESOURCES, runPlan, type Plan, type PlanId, type PlanOptions } from '../../../src/admission/plans.ts';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import type { Validator } from '../../../src/admission/validator.ts';
import { helmReleaseValidator } from '../../../src/admission/validators/helm-release.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { statefulSetValidator } from '../../../src/admission/validators/statefulset.ts';
import { longhornSettingsValidator, storageTeardownValidator, storageUpgradeValidator } from '../../../src/admission/validators/storage-teardown.ts';
import { parseManifest } from '../../../src/helm/manifest.ts';
import type { ModelHealth } from '../../../src/cluster/snapshot.ts';
import { context, request } from '../../support/admission.ts';
import { pendingRevision, releaseSecret, statefulSetManifest, type ReleaseFixture } from '../helm/helm-fixtures.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { nodeLocalOptionsOf } from '../../../src/checks/node-local-volume.ts';
import { NO_CAP } from '../../../src/checks/collect.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { ResourceKind } from '../../../src/cluster/records.ts';
import type { ClusterSnapshot } from '../../../src/cluster/snapshot.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
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
/** A PersistentVolume record: its own object, and the Nodes its pinnedNode is resolved from. */
const PV_READS: readonly ResourceKind[] = ['persistentVolume', 'node'];

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
  replicaData: ['node', 'longhornNode'],
  harvesterUpgrades: ['harvesterUpgrade', 'harvesterUpgradePlan'],
  node: ['node'],
  nodes: ['node'],
  anyNodeLeaving: ['node', 'machine'],
  anyNodeCordoned: ['node'],
  nodeCordoned: ['node'],
  anyNodeTaintedNoExecute: ['node'],
  nodeLeaving: ['node', 'machine'],
  machineRemovingNode: ['machine'],
  cordonRefused: [], // volume-guard's own record
  dryRunCordonAllowed: [], // volume-guard's own record
  nodesLabelled: ['node'],
  namespace: ['namespace'],
  // A PV's pinnedNode (and whether it is pinned at all) is resolved from the live Nodes' labels (the model's
  // #resolvePinned, re-run by #repinAround when a Node comes, goes or is relabelled): a stale Node list is a stale pin.
  // The queries by pin read the Nodes; one PV by name reads them when its pinnedNode is read (FIELD_READS).
  persistentVolume: ['persistentVolume'],
  persistentVolumesPinnedTo: PV_READS,
  boundPersistentVolumeKindsPinnedTo: PV_READS,
  pinnedPersistentVolumes: PV_READS,
  unpinnedClaimedPersistentVolumeSources: PV_READS,
  unpinnedClaimedPersistentVolumes: PV_READS,
  unpinnedPersistentVolumesNaming: PV_READS,
  nodesNamedByUnpinnedPersistentVolumes: PV_READS,
  persistentVolumeClaim: ['persistentVolumeClaim'],
  hasPodScratchClaims: ['persistentVolumeClaim'],
  persistentVolumeClaimsIn: ['persistentVolumeClaim'],
  persistentVolumeClaimsOfRelease: ['persistentVolumeClaim'],
  persistentVolumeClaimsAnnotatedForRelease: ['persistentVolumeClaim'],
  persistentVolumeClaimsOwnedBy: ['persistentVolumeClaim'],
  statefulSetsOwnedBy: ['statefulSet'],
  namespacesOwnedBy: ['namespace'],
  namespacesAnnotatedForRelease: ['namespace'],
  persistentVolumeClaimsOwnedByKind: ['persistentVolumeClaim'],
  statefulSetsOwnedByKind: ['statefulSet'],
  namespacesOwnedByKind: ['namespace'],
  pod: ['pod'],
  podsUsingClaim: ['pod'],
  podsOnNode: ['pod'],
  podsWithInlineDataOnNode: ['pod'],
  upgradeJobPodsFor: ['pod'],
  statefulSet: ['statefulSet'],
  statefulSetsOfRelease: ['statefulSet'],
  deletionAdmitted: [], // volume-guard's own record
  orphaningAdmitted: [], // volume-guard's own record
  machineRemovalAdmitted: [], // volume-guard's own record
  machinesOf: ['machine'],
  controlPlaneMachinesOf: ['machine'],
  machinesOfCluster: ['machine'],
  machineDrainRulesIn: ['machineDrainRule'],
  clusterApiCluster: ['clusterApiCluster'],
  machineOwner: (_namespace: string, owner: 'MachineDeployment' | 'KubeadmControlPlane') => [owner === 'MachineDeployment' ? 'machineDeployment' : 'kubeadmControlPlane'],
};

/**
 * Fields of a record a query returns that the model resolves from other kinds than the record's own. A plan reading a
 * PV's claim or reclaim policy does not depend on the Nodes; one reading where it is pinned does.
 */
const FIELD_READS: { readonly [Query in keyof ClusterSnapshot]?: Readonly<Record<string, readonly ResourceKind[]>> } = {
  persistentVolume: { pinnedNode: PV_READS },
};

/** The snapshot, recording into `read` the kinds behind every query made of it. */
function recording(snapshot: ClusterSnapshot, read: Set<ResourceKind>): ClusterSnapshot {
  // One proxy per record, so records keep their identity across queries (the checks compare and collect them).
  const tracked = new WeakMap<object, object>();
  const track = (record: unknown, fields: Readonly<Record<string, readonly ResourceKind[]>>): unknown => {
    if (typeof record !== 'object' || record === null) return record;
    let proxy = tracked.get(record);
    if (proxy === undefined) {
      proxy = new Proxy(record, {
        get(target, field) {
          for (const kind of fields[field as string] ?? []) read.add(kind);
          return Reflect.get(target, field, target);
        },
      });
      tracked.set(record, proxy);
    }
    return proxy;
  };
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
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        const fields = FIELD_READS[property as keyof ClusterSnapshot];
        return fields === undefined ? result : track(result, fields);
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
    pvc({ name: 'pg-1', volumeName: 'pv-pg-1', ownerReferences: [{ apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', name: 'pg', uid: 'uid-cnpg-db' }, { kind: 'StatefulSet', name: 'db', uid: 'uid-sts-default-db' }] }),
  );
  model.upsert('pod', pod({ name: 'db-2', nodeName: risky, claimNames: ['data-db-2'], controllerKind: 'StatefulSet' }));
  // Claims on Longhorn volumes that a scale-down (data-db-2) and the CNPG Cluster's removal (pg-2, its only owner)
  // delete: whether those volumes ever held data is read (reclaimLoss).
  model.upsert('persistentVolume', pv({ name: 'pv-db-2', claimName: 'data-db-2', reclaimPolicy: 'Delete' }));
  model.upsert('persistentVolume', pv({ name: 'pv-pg-2', claimName: 'pg-2', reclaimPolicy: 'Delete' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'pg-2', volumeName: 'pv-pg-2', ownerReferences: [{ apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', name: 'pg', uid: 'uid-cnpg-db' }] }));
  for (const name of ['pv-db-2', 'pv-pg-2']) {
    const data = volumeWithReplicas(name, [safe], { pvName: name, state: 'detached', robustness: 'unknown', currentNodeID: '' });
    model.upsert('longhornVolume', data.volume);
    model.upsert('longhornReplica', data.replicas[0]!);
  }
  // A generic ephemeral volume (a pod's scratch claim) with its only copy on the risky node, its pod elsewhere.
  const scratch = volumeWithReplicas('pv-scratch', [risky], { pvcNamespace: 'default', pvcName: 'scratch-data', pvName: 'pv-scratch', state: 'attached', numberOfReplicas: 1 });
  model.upsert('longhornVolume', scratch.volume);
  model.upsert('longhornReplica', { ...scratch.replicas[0]!, name: 'pv-scratch-r-0' });
  model.upsert('persistentVolume', pv({ name: 'pv-scratch', claimName: 'scratch-data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'scratch-data', volumeName: 'pv-scratch', ownerReferences: [{ kind: 'Pod', name: 'scratch', uid: 'uid-scratch' }] }));
  model.upsert('pod', pod({ name: 'scratch', nodeName: safe, claimNames: ['scratch-data'] }));
  // A Helm release's StatefulSet (whenScaled: Delete) and its claim, whose PV deletes the data: an upgrade dropping it.
  model.upsert('statefulSet', statefulSet({ name: 'web', whenScaled: 'Delete', helmReleaseName: 'rel', helmReleaseNamespace: 'default' }));
  model.upsert('persistentVolume', pv({ name: 'pv-web-0', claimName: 'data-web-0', reclaimPolicy: 'Delete' }));
  model.upsert(
    'persistentVolumeClaim',
    pvc({
      name: 'data-web-0',
      volumeName: 'pv-web-0',
      labels: { 'app.kubernetes.io/instance': 'rel' },
      annotations: { 'meta.helm.sh/release-name': 'rel', 'meta.helm.sh/release-namespace': 'default' },
    }),
  );
  model.upsert('pod', pod({ name: 'web-0', nodeName: safe, claimNames: ['data-web-0'], controllerKind: 'StatefulSet' }));
  model.upsert('machine', machine({ name: 'm-risky', nodeName: risky }));
  model.upsert('machineDrainRule', machineDrainRule());
  model.upsert('clusterApiCluster', clusterApiCluster());
  return { model, risky, safe };
}

const CONFIG_MAP_ONLY = '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rel-config\ndata:\n  a: b\n';

/** The targets each plan is run on (every plan: each declares what it reads). */
function targetsOf(model: ClusterModel, risky: string, safe: string): { readonly [Id in PlanId]: readonly unknown[] } {
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
    'helm-release': [
      // An install rendering StatefulSet db over its leftover claims, an upgrade dropping StatefulSet web, Longhorn's.
      { ...pendingRevision(statefulSetManifest({ name: 'db', replicas: 5, whenDeleted: 'Delete' }), { name: 'db', namespace: 'default', version: 1 }), operation: 'install', now },
      { ...pendingRevision(CONFIG_MAP_ONLY, { name: 'rel', namespace: 'default', version: 2 }), now, longhornNamespace: 'longhorn-system' },
      (() => {
        const revision = pendingRevision(CONFIG_MAP_ONLY, { name: 'longhorn', namespace: 'longhorn-system', version: 2 });
        return { ...revision, release: { ...revision.release, chartName: 'longhorn' }, now, longhornNamespace: 'longhorn-system' };
      })(),
    ],
    statefulset: [{ ...parseManifest(statefulSetManifest({ name: 'db', replicas: 1, whenScaled: 'Delete' }), 'default').statefulSets[0]!, now }],
    'statefulset-scale-up': [
      { namespace: 'default', name: 'db', claimTemplates: ['data'], replicas: 5, ordinalsStart: 0, previousReplicas: 1, previousStart: 0, createdAt: '2030-01-01T00:00:00Z' },
    ],
    'pvc-delete': [
      { namespace: 'default', name: 'pg-1', phase: 'Bound', volumeName: 'pv-pg-1' },
      { namespace: 'default', name: 'lh-data', phase: 'Bound', volumeName: 'pv-lh' },
    ],
    'namespace-delete': [{ namespace: 'default', now }],
    'statefulset-delete': [{ namespace: 'default', owner: { kind: 'StatefulSet', name: 'db', uid: 'uid-sts-default-db', policyDeletes: true }, now }],
    'owner-delete': [{ namespace: 'default', owner: { kind: 'Cluster', name: 'db', uid: 'uid-cnpg-db', byAutomation: true }, now }],
    'crd-delete': [
      { crd: 'clusters.postgresql.cnpg.io', group: 'postgresql.cnpg.io', kind: 'Cluster', namespaced: true, now },
      { crd: 'tenants.example.io', group: 'example.io', kind: 'Tenant', namespaced: false, now },
    ],
    'statefulset-scale-down': [{ namespace: 'default', name: 'db', uid: 'uid-sts-default-db', claimTemplates: ['data'], replicas: 1, ordinalsStart: 0, now }],
    'pv-reclaim': [
      { name: 'pv-lh', claimNamespace: 'default', claimName: 'lh-data', claimUid: 'other', phase: 'Bound', reclaimPolicy: 'Delete', previousPolicy: 'Retain' },
      { name: 'pv-gone', claimNamespace: 'default', claimName: 'gone', claimUid: 'u', phase: 'Released', reclaimPolicy: 'Delete', previousPolicy: 'Retain' },
    ],
    // Detached as stored: whether it ever held data is read from its replicas.
    'longhorn-volume-delete': [
      { namespace: 'longhorn-system', name: 'pv-lh', pvName: 'pv-lh', pvcNamespace: 'default', pvcName: 'lh-data', state: 'detached', robustness: 'unknown', approved: false },
    ],
    'storage-teardown': [{ consequence: 'deleted with namespace longhorn-system' }, { volumes: ['pv-lh'], consequence: 'deleted' }],
    'replica-delete': [
      { replica: { ...replica({ volumeName: 'pv-lh', nodeID: risky }), name: 'pv-lh-r-0' } },
      // A copy beside the one on the risky node: whether that node stays (its Machine) decides.
      { replica: { ...replica({ volumeName: 'pv-lh', nodeID: safe }), name: 'pv-lh-r-other' } },
    ],
    'storage-delete-flag': [{ consequence: 'deleted by the Longhorn uninstall this flag permits' }],
    'storage-drain-setting': [
      { policy: 'always-allow', from: 'block-if-contains-last-replica' },
      { policy: 'allow-if-replica-is-stopped' },
    ],
    'storage-upgrade': [{}],
  };
}

describe("each plan's declared reads", () => {
  const { model, risky, safe } = richCluster();
  const options: PlanOptions = { nodeLocal: nodeLocalOptionsOf(defaultConfig()) };
  const targets = targetsOf(model, risky, safe);

  for (const id of Object.keys(PLANS) as PlanId[]) {
    const plan = PLANS[id] as Plan<unknown>;
    it(`${id}: declares what it reads, covering what its checks read`, () => {
      const planTargets = targets[id];
      // Without `reads`, a stale resource it never reads (Machines whose conversion webhook is down) refuses it.
      expect(plan.reads, `${id} declares no reads`).toBeDefined();
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

// ------------------------------------------------------------------------------------------------ the validators

const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const GARBAGE_COLLECTOR: UserInfo = { username: 'system:serviceaccount:kube-system:generic-garbage-collector', groups: ['system:serviceaccounts'] };
const HELM_ANNOTATIONS = { 'meta.helm.sh/release-name': 'rel', 'meta.helm.sh/release-namespace': 'default' };
const HELM_MANAGED = [
  { manager: 'helm', operation: 'Update', fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:meta.helm.sh/release-name': {}, 'f:meta.helm.sh/release-namespace': {} } } } },
];

const resource = (group: string, name: string, kind: string) => ({ kind: { group, version: 'v1', kind }, resource: { group, version: 'v1', resource: name } });

function releaseRecord(fields: Partial<ReleaseFixture>): AdmissionRequest {
  const fixture: ReleaseFixture = { name: 'rel', namespace: 'default', version: 1, status: 'pending-install', manifest: CONFIG_MAP_ONLY, ...fields };
  return request({
    ...resource('', 'secrets', 'Secret'),
    operation: 'CREATE',
    namespace: fixture.namespace,
    name: `sh.helm.release.v1.${fixture.name}.v${fixture.version}`,
    object: releaseSecret(fixture),
  });
}

const setting = (name: string, value: string, previous: string): AdmissionRequest =>
  request({
    ...resource('longhorn.io', 'settings', 'Setting'),
    operation: 'UPDATE',
    namespace: 'longhorn-system',
    name,
    object: { metadata: { name }, value },
    oldObject: { metadata: { name }, value: previous },
  });

const defaultSettings = (text: string): AdmissionRequest =>
  request({
    ...resource('', 'configmaps', 'ConfigMap'),
    operation: 'UPDATE',
    namespace: 'longhorn-system',
    name: 'longhorn-default-setting',
    object: { metadata: { name: 'longhorn-default-setting' }, data: { 'default-setting.yaml': text } },
    oldObject: { metadata: { name: 'longhorn-default-setting' }, data: {} },
  });

const managerImage = (tag: string): unknown => ({ spec: { template: { spec: { containers: [{ name: 'longhorn-manager', image: `longhornio/longhorn-manager:${tag}` }] } } } });

interface ValidatorCase {
  readonly what: string;
  readonly plan: PlanId;
  readonly validator: Validator;
  readonly request: AdmissionRequest;
  readonly config?: Config;
  /** What the answer reads when narrower than the plan's (a Helm release not upgrading Longhorn). */
  readonly reads?: readonly ResourceKind[];
}

/** A representative request of each plan whose validator reads beside it (overrides, the namespace being deleted...). */
function validatorCases(safe: string): readonly ValidatorCase[] {
  const config = defaultConfig();
  const othersEnforced: Config = { ...config, pvcDelete: { ...config.pvcDelete, others: 'enforce' } };
  const pvcDelete = pvcDeleteValidator(config);
  const claim = (user: UserInfo, ownerReferences: readonly unknown[] = []): AdmissionRequest =>
    request({
      ...resource('', 'persistentvolumeclaims', 'PersistentVolumeClaim'),
      operation: 'DELETE',
      namespace: 'default',
      name: 'pg-1',
      userInfo: user,
      oldObject: {
        metadata: { name: 'pg-1', namespace: 'default', annotations: HELM_ANNOTATIONS, managedFields: HELM_MANAGED, ownerReferences },
        spec: { volumeName: 'pv-pg-1' },
        status: { phase: 'Bound' },
      },
    });
  const stsObject = parse(statefulSetManifest({ name: 'db', replicas: 1, whenScaled: 'Delete' })) as { metadata: Record<string, unknown> };
  const teardown = storageTeardownValidator(config);
  const settings = longhornSettingsValidator(config);
  const longhornUpgrade = releaseRecord({ name: 'longhorn', namespace: 'longhorn-system', version: 2, status: 'pending-upgrade', chartName: 'longhorn', chartVersion: '1.8.0' });
  return [
    { what: "Argo CD's PVC DELETE (a Helm release's claim)", plan: 'pvc-delete', validator: pvcDelete, request: claim(ARGO) },
    {
      what: "the garbage collector's PVC DELETE (its owners read)",
      plan: 'pvc-delete',
      validator: pvcDeleteValidator(othersEnforced),
      config: othersEnforced,
      request: claim(GARBAGE_COLLECTOR, [
        // A stale reference (StatefulSet db lives under another uid): judged here.
        { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'uid-other' },
        { apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', name: 'pg', uid: 'uid-cnpg-db' },
      ]),
    },
    {
      what: 'a Helm install rendering a StatefulSet',
      plan: 'helm-release',
      validator: helmReleaseValidator(config),
      request: releaseRecord({ name: 'db', manifest: statefulSetManifest({ name: 'db', replicas: 5, whenDeleted: 'Delete' }) }),
      reads: RELEASE_RESOURCES,
    },
    {
      what: 'a Helm upgrade dropping a StatefulSet',
      plan: 'helm-release',
      validator: helmReleaseValidator(config),
      request: releaseRecord({ version: 2, status: 'pending-upgrade' }),
      reads: RELEASE_RESOURCES,
    },
    { what: "a Helm upgrade of Longhorn's chart", plan: 'helm-release', validator: helmReleaseValidator(config), request: longhornUpgrade },
    {
      what: 'a StatefulSet CREATE outside Helm',
      plan: 'statefulset',
      validator: statefulSetValidator(config),
      request: request({ ...resource('apps', 'statefulsets', 'StatefulSet'), operation: 'CREATE', namespace: 'default', name: 'db', object: stsObject }),
    },
    {
      what: "Argo CD's Longhorn Volume DELETE (its replicas read)",
      plan: 'longhorn-volume-delete',
      validator: pvcDelete,
      request: request({
        ...resource('longhorn.io', 'volumes', 'Volume'),
        operation: 'DELETE',
        namespace: 'longhorn-system',
        name: 'pv-lh',
        userInfo: ARGO,
        oldObject: { metadata: { name: 'pv-lh', namespace: 'longhorn-system' }, status: { state: 'detached', robustness: 'unknown' } },
      }),
    },
    {
      what: 'a Longhorn Replica DELETE beside another copy (its node, its Machine read)',
      plan: 'replica-delete',
      validator: teardown,
      request: request({
        ...resource('longhorn.io', 'replicas', 'Replica'),
        operation: 'DELETE',
        namespace: 'longhorn-system',
        name: 'pv-lh-r-other',
        userInfo: ARGO,
        oldObject: {
          metadata: { name: 'pv-lh-r-other', namespace: 'longhorn-system' },
          spec: { volumeName: 'pv-lh', nodeID: safe, diskID: `disk-${safe}`, healthyAt: '2024-05-01T10:00:00Z', failedAt: '' },
          status: { currentState: 'running' },
        },
      }),
    },
    {
      what: "DELETE of Longhorn's namespace",
      plan: 'storage-teardown',
      validator: teardown,
      request: request({ ...resource('', 'namespaces', 'Namespace'), operation: 'DELETE', name: 'longhorn-system', oldObject: { metadata: { name: 'longhorn-system' } } }),
    },
    {
      what: "Longhorn's uninstaller Job in another namespace",
      plan: 'storage-teardown',
      validator: teardown,
      request: request({
        ...resource('batch', 'jobs', 'Job'),
        operation: 'CREATE',
        namespace: 'default',
        name: 'longhorn-uninstall',
        object: { metadata: { name: 'longhorn-uninstall' }, spec: { template: { spec: { containers: [{ name: 'u', image: 'longhornio/longhorn-manager:v1.7.2', command: ['longhorn-manager', 'uninstall'] }] } } } },
      }),
    },
    {
      what: "a Longhorn volume's finalizer stripped",
      plan: 'storage-teardown',
      validator: teardown,
      request: request({
        ...resource('longhorn.io', 'volumes', 'Volume'),
        operation: 'UPDATE',
        namespace: 'longhorn-system',
        name: 'pv-lh',
        object: { metadata: { name: 'pv-lh', finalizers: [] } },
        oldObject: { metadata: { name: 'pv-lh', finalizers: ['longhorn.io'] } },
      }),
    },
    { what: 'the deleting-confirmation-flag Setting', plan: 'storage-delete-flag', validator: settings, request: setting('deleting-confirmation-flag', 'true', 'false') },
    { what: 'the deleting-confirmation-flag by the default-setting ConfigMap', plan: 'storage-delete-flag', validator: settings, request: defaultSettings('deleting-confirmation-flag: true\n') },
    { what: 'node-drain-policy weakened', plan: 'storage-drain-setting', validator: settings, request: setting('node-drain-policy', 'always-allow', 'block-if-contains-last-replica') },
    {
      what: 'allow-node-drain-with-last-healthy-replica set',
      plan: 'storage-drain-setting',
      validator: settings,
      request: setting('allow-node-drain-with-last-healthy-replica', 'true', 'false'),
    },
    { what: 'node-drain-policy by the default-setting ConfigMap', plan: 'storage-drain-setting', validator: settings, request: defaultSettings('node-drain-policy: always-allow\n') },
    {
      what: 'a new longhorn-manager image outside Helm',
      plan: 'storage-upgrade',
      validator: storageUpgradeValidator(config),
      request: request({
        ...resource('apps', 'daemonsets', 'DaemonSet'),
        operation: 'UPDATE',
        namespace: 'longhorn-system',
        name: 'longhorn-manager',
        object: managerImage('v1.8.0'),
        oldObject: managerImage('v1.7.2'),
      }),
    },
  ];
}

describe("each validator's own reads are within what its plan declares", () => {
  const { model, safe } = richCluster();
  model.upsert('namespace', namespace({ name: 'longhorn-system' }));
  for (const entry of validatorCases(safe)) {
    it(`${entry.plan}: ${entry.what}`, () => {
      const read = new Set<ResourceKind>();
      // Asked for the stale resources only on the way to the plan (staleModelDecision): the request reached it.
      let judged = 0;
      const health: ModelHealth = { synced: () => true, staleResources: () => (judged++, []) };
      const decision = entry.validator.handle(request({ ...entry.request }), context(recording(model, read), { health, ...(entry.config ? { config: entry.config } : {}) }));
      expect(decision instanceof Promise, 'handle answers at once').toBe(false);
      expect(judged, `${entry.what} did not reach the ${entry.plan} plan`).toBeGreaterThan(0);
      const reads = entry.reads ?? PLANS[entry.plan].reads;
      for (const kind of entry.reads ?? []) expect(PLANS[entry.plan].reads).toContain(kind);
      expect(read.size, 'read nothing: the request does not exercise it').toBeGreaterThan(0);
      expect([...read].filter((kind) => !reads.includes(kind)).sort(), `kinds read answering ${entry.what} that ${entry.plan} does not declare`).toEqual([]);
    });
  }
});

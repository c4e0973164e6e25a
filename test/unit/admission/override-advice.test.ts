// Every denial ends with the override an authorized admin can apply. For each plan, this builds a cluster where the
// plan refuses, takes the override command the denial prints, writes exactly what it says (the annotations or labels
// on the object it names, skip-by = the admin running it) and sends the same request again: it must then pass,
// with the override audited. Advice that leads nowhere (a wrong object, key or check id, a placeholder left where
// the value is known, a command cut short) fails here.
import { describe, expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import { MAX_DENIAL_LENGTH, MAX_LINE_LENGTH } from '../../../src/admission/messages.ts';
import { PLANS, type PlanId } from '../../../src/admission/plans.ts';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, ALICE, context, cordonRequest, evictionRequest, harvesterUpgradeRequest, releaseAnnotationManagedFields, request, statefulSetDeleteRequest } from '../../support/admission.ts';
import {
  failedReplica,
  localPV,
  longhornNode,
  machine,
  namespace,
  node,
  pod,
  pv,
  pvc,
  replica,
  statefulSet,
  volume,
  volumeWithReplicas,
} from '../../support/fixtures.ts';
import { devlakeManifest, releaseSecret, type ReleaseFixture } from '../helm/helm-fixtures.ts';

const config = defaultConfig();
const validators = createValidators(config);
const ARGO: UserInfo = {
  username: 'system:serviceaccount:argocd:argocd-application-controller',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd'],
};
const NS = 'shop';

interface Case {
  readonly name: string;
  readonly webhook: string;
  readonly model: ClusterModel;
  readonly request: AdmissionRequest;
  /** Words the fix line must say for this situation. */
  readonly fix?: string;
}

type Meta = { name?: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> };

function cluster(setup: (model: ClusterModel) => void): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  model.upsert('namespace', namespace({ name: 'longhorn-system' }));
  model.upsert('namespace', namespace({ name: NS }));
  model.upsert('namespace', namespace({ name: 'default' }));
  setup(model);
  return model;
}

function addVolume(model: ClusterModel, v: ReturnType<typeof volumeWithReplicas>): void {
  model.upsert('longhornVolume', v.volume);
  for (const r of v.replicas) {
    model.upsert('longhornReplica', r);
    if (!model.longhornNode(r.nodeID)) model.upsert('longhornNode', longhornNode({ name: r.nodeID }));
  }
}

/** node-1 holds the only healthy replica of vol-last (its copy on node-2 failed). */
function lastReplicaCluster(): ClusterModel {
  return cluster((m) => {
    for (const name of ['node-1', 'node-2', 'node-9']) m.upsert('node', node({ name }));
    addVolume(m, volumeWithReplicas('vol-last', ['node-1', 'node-2']));
    m.upsert('longhornReplica', failedReplica({ volumeName: 'vol-last', nodeID: 'node-2' }));
  });
}

/** Pod default/db-0 on node-3 writing to a local PV there. */
function localDataCluster(unschedulable: boolean): ClusterModel {
  return cluster((m) => {
    m.upsert('node', node({ name: 'node-3', unschedulable }));
    m.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'node-3', claimName: 'db-data' }));
    m.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-local' }));
    m.upsert('pod', pod({ name: 'db-0', nodeName: 'node-3', claimNames: ['db-data'], controllerKind: 'StatefulSet' }));
  });
}

const kindOf = (group: string, kind: string, resource: string, version = 'v1') => ({
  kind: { group, version, kind },
  resource: { group, version, resource },
});

function releaseRequest(release: Partial<ReleaseFixture>, model: ClusterModel): Case {
  const fixture: ReleaseFixture = { name: 'devlake', namespace: NS, version: 1, status: 'pending-install', manifest: devlakeManifest(), ...release };
  return {
    name: `helm ${fixture.status}`,
    webhook: 'helm-release',
    model,
    request: request({
      ...kindOf('', 'Secret', 'secrets'),
      operation: 'CREATE',
      namespace: NS,
      name: `sh.helm.release.v1.${fixture.name}.v${fixture.version}`,
      object: releaseSecret(fixture),
    }),
  };
}

function stsObject(replicas: number, extra: { whenScaled?: string; creationTimestamp?: string } = {}): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: NS, annotations: {}, ...(extra.creationTimestamp ? { creationTimestamp: extra.creationTimestamp, uid: 'uid-sts-shop-db' } : {}) },
    spec: {
      replicas,
      ...(extra.whenScaled ? { persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: extra.whenScaled } } : {}),
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'db:1' }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'] } }],
    },
  };
}

/** Bound PVCs of shop whose PVs say reclaim `policy`. */
function claims(m: ClusterModel, names: readonly string[], policy = 'Delete', fields: Partial<ReturnType<typeof pvc>> = {}): void {
  for (const name of names) {
    m.upsert('persistentVolumeClaim', pvc({ namespace: NS, name, volumeName: `pv-${name}`, ...fields }));
    m.upsert('persistentVolume', pv({ name: `pv-${name}`, claimNamespace: NS, claimName: name, reclaimPolicy: policy }));
  }
}

/** One volume whose only copy is on w1: what the storage plans find. */
function soloCluster(): ClusterModel {
  return cluster((m) => addVolume(m, volumeWithReplicas('solo', ['w1'], { pvcNamespace: NS, pvcName: 'solo-pvc' })));
}

const setting = (name: string, value: string, before: string): AdmissionRequest =>
  request({
    ...kindOf('longhorn.io', 'Setting', 'settings', 'v1beta2'),
    operation: 'UPDATE',
    namespace: 'longhorn-system',
    name,
    object: { metadata: { name, namespace: 'longhorn-system' }, value },
    oldObject: { metadata: { name, namespace: 'longhorn-system' }, value: before },
  });

const CASES: Record<PlanId, () => Case[]> = {
  upgrade: () => {
    const model = cluster((m) => addVolume(m, volumeWithReplicas('solo', ['node-1'])));
    return [
      { name: 'Harvester Upgrade CREATE', webhook: 'upgrade', model, request: harvesterUpgradeRequest() },
      {
        name: 'upgrade.cattle.io Plan UPDATE',
        webhook: 'upgrade',
        model,
        request: request({
          ...kindOf('upgrade.cattle.io', 'Plan', 'plans'),
          operation: 'UPDATE',
          namespace: 'system-upgrade',
          name: 'k3s-server',
          object: { metadata: { name: 'k3s-server', namespace: 'system-upgrade', annotations: {} }, spec: { version: 'v1.31.0', concurrency: 1, nodeSelector: {} } },
          oldObject: { metadata: { name: 'k3s-server', namespace: 'system-upgrade', annotations: {} }, spec: { version: 'v1.30.0', concurrency: 1, nodeSelector: {} } },
        }),
      },
    ];
  },
  'node-cordon': () => [{ name: 'cordon', webhook: 'node-cordon', model: lastReplicaCluster(), request: cordonRequest('node-1') }],
  'node-delete': () => [
    {
      name: 'Node DELETE',
      webhook: 'node-cordon',
      model: lastReplicaCluster(),
      request: request({ ...kindOf('', 'Node', 'nodes'), operation: 'DELETE', name: 'node-1', oldObject: { metadata: { name: 'node-1', annotations: {} } } }),
    },
    {
      name: 'Node DELETE under a pod with local data',
      webhook: 'node-cordon',
      model: localDataCluster(false),
      request: request({ ...kindOf('', 'Node', 'nodes'), operation: 'DELETE', name: 'node-3', oldObject: { metadata: { name: 'node-3', annotations: {} } } }),
      fix: 'Fix: node-3 is removed with its disks: back the data up or move it to storage that is not on node-3',
    },
  ],
  eviction: () => [{ name: 'eviction', webhook: 'pod-eviction', model: localDataCluster(false), request: evictionRequest('db-0') }],
  'eviction-draining': () => [{ name: 'eviction while draining', webhook: 'pod-eviction', model: localDataCluster(true), request: evictionRequest('db-0') }],
  'pod-delete': () => [
    {
      name: 'pod DELETE',
      webhook: 'pod-delete',
      model: localDataCluster(true),
      request: request({
        ...kindOf('', 'Pod', 'pods'),
        operation: 'DELETE',
        namespace: 'default',
        name: 'db-0',
        oldObject: { metadata: { name: 'db-0', namespace: 'default' }, spec: { nodeName: 'node-3', volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'db-data' } }] } },
      }),
    },
  ],
  'machine-delete': () => [
    {
      name: 'Machine DELETE',
      webhook: 'machine',
      model: lastReplicaCluster(),
      request: request({
        ...kindOf('cluster.x-k8s.io', 'Machine', 'machines', 'v1beta2'),
        operation: 'DELETE',
        namespace: 'capi',
        name: 'm-a',
        oldObject: { metadata: { name: 'm-a', namespace: 'capi' }, status: { nodeRef: { name: 'node-1' } } },
      }),
    },
  ],
  'machine-scale-down': () => {
    const model = lastReplicaCluster();
    model.upsert('machine', machine({ namespace: 'capi', name: 'm-a', nodeName: 'node-1', machineSet: 'ms-1', machineDeployment: 'md-1' }));
    model.upsert('machine', machine({ namespace: 'capi', name: 'm-b', nodeName: 'node-9', machineSet: 'ms-1', machineDeployment: 'md-1' }));
    return [
      {
        name: 'MachineSet scale-down',
        webhook: 'machine',
        model,
        request: request({
          ...kindOf('cluster.x-k8s.io', 'MachineSet', 'machinesets', 'v1beta1'),
          operation: 'UPDATE',
          namespace: 'capi',
          name: 'ms-1',
          object: { metadata: { name: 'ms-1', namespace: 'capi' }, spec: { replicas: 1 } },
          oldObject: { metadata: { name: 'ms-1', namespace: 'capi' }, spec: { replicas: 2 } },
        }),
      },
    ];
  },
  'helm-release': () => {
    const leftover = cluster((m) => claims(m, ['devlake-mysql-data-devlake-mysql-0'], 'Retain', { labels: { 'app.kubernetes.io/instance': 'devlake' } }));
    // Revision 1 ran a StatefulSet whenDeleted: Delete; revision 2 drops it: Helm deletes it and with it its PVCs.
    const dropped = (): ClusterModel => cluster((m) => {
      m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', helmReleaseName: 'db', helmReleaseNamespace: NS }));
      claims(m, ['data-db-0'], 'Delete', { ownerReferences: [{ kind: 'StatefulSet', name: 'db', uid: 'uid-sts-shop-db' }] });
    });
    return [
      releaseRequest({}, leftover),
      releaseRequest({ version: 3, status: 'pending-install' }, leftover),
      releaseRequest({ version: 2, status: 'pending-upgrade' }, leftover),
      { ...releaseRequest({ name: 'db', version: 3, status: 'pending-rollback', manifest: '' }, dropped()), name: 'helm rollback dropping a StatefulSet' },
      { ...releaseRequest({ name: 'db', version: 2, status: 'pending-upgrade', manifest: '' }, dropped()), name: 'helm upgrade dropping a StatefulSet' },
    ];
  },
  statefulset: () => [
    {
      name: 'StatefulSet CREATE over a leftover PVC',
      webhook: 'statefulset',
      model: cluster((m) => claims(m, ['data-db-0'], 'Retain')),
      request: request({ ...kindOf('apps', 'StatefulSet', 'statefulsets'), operation: 'CREATE', namespace: NS, name: 'db', object: stsObject(1) }),
    },
    {
      // Re-created after --cascade=orphan with fewer replicas under whenScaled: Delete: it condemns db-1 and its PVC.
      name: 'StatefulSet CREATE adopting an orphaned pod it scales away',
      fix: 'Fix: back the data up, or declare the replicas and ordinals the orphaned pods run (or whenScaled: Retain)',
      webhook: 'statefulset',
      model: cluster((m) => {
        claims(m, ['data-db-0', 'data-db-1']);
        for (const ordinal of [0, 1]) m.upsert('pod', pod({ namespace: NS, name: `db-${ordinal}`, claimNames: [`data-db-${ordinal}`] }));
      }),
      request: request({
        ...kindOf('apps', 'StatefulSet', 'statefulsets'),
        operation: 'CREATE',
        namespace: NS,
        name: 'db',
        userInfo: ARGO,
        object: stsObject(1, { whenScaled: 'Delete' }),
      }),
    },
  ],
  'statefulset-scale-up': () => [
    {
      name: 'StatefulSet scale-up over a leftover PVC',
      webhook: 'statefulset',
      model: cluster((m) => claims(m, ['data-db-1'], 'Retain')),
      request: request({
        ...kindOf('apps', 'StatefulSet', 'statefulsets'),
        operation: 'UPDATE',
        namespace: NS,
        name: 'db',
        object: stsObject(2, { creationTimestamp: '2025-01-01T00:00:00Z' }),
        oldObject: stsObject(1, { creationTimestamp: '2025-01-01T00:00:00Z' }),
      }),
    },
  ],
  'pvc-delete': () => [
    {
      name: 'PVC DELETE by Argo CD',
      webhook: 'pvc-delete',
      model: cluster((m) => claims(m, ['uploads'])),
      request: request({
        ...kindOf('', 'PersistentVolumeClaim', 'persistentvolumeclaims'),
        operation: 'DELETE',
        namespace: NS,
        name: 'uploads',
        userInfo: ARGO,
        oldObject: { metadata: { name: 'uploads', namespace: NS, annotations: {} }, spec: { volumeName: 'pv-uploads' }, status: { phase: 'Bound' } },
      }),
    },
  ],
  'namespace-delete': () => [
    {
      name: 'Namespace DELETE by Argo CD',
      webhook: 'pvc-delete',
      model: cluster((m) => claims(m, ['uploads'])),
      request: request({
        ...kindOf('', 'Namespace', 'namespaces'),
        operation: 'DELETE',
        namespace: NS,
        name: NS,
        userInfo: ARGO,
        oldObject: { metadata: { name: NS, annotations: {} } },
      }),
    },
  ],
  'statefulset-delete': () => [
    {
      name: 'StatefulSet DELETE by Argo CD',
      webhook: 'pvc-delete',
      model: cluster((m) => claims(m, ['data-db-0'], 'Delete', { ownerReferences: [{ kind: 'StatefulSet', name: 'db', uid: 'uid-db' }] })),
      request: statefulSetDeleteRequest({ namespace: NS, name: 'db', uid: 'uid-db', user: ARGO, whenDeleted: 'Delete' }),
    },
  ],
  'owner-delete': () => {
    const owned = { ownerReferences: [{ kind: 'Cluster', name: 'db', uid: 'uid-cnpg-db', controller: true as const }] };
    const clusterDelete = (namespace: string, kind: string, resource: string): AdmissionRequest =>
      request({
        ...kindOf(namespace === '' ? 'example.io' : 'postgresql.cnpg.io', kind, resource),
        operation: 'DELETE',
        namespace,
        name: 'db',
        userInfo: ARGO,
        oldObject: { apiVersion: 'postgresql.cnpg.io/v1', kind, metadata: { name: 'db', ...(namespace ? { namespace } : {}), uid: 'uid-cnpg-db' } },
        options: { propagationPolicy: 'Foreground' },
      });
    return [
      {
        name: "an operator's resource (a CloudNativePG Cluster) pruned by Argo CD",
        webhook: 'owner-delete',
        model: cluster((m) => claims(m, ['db-1', 'db-2'], 'Delete', owned)),
        request: clusterDelete(NS, 'Cluster', 'clusters'),
        fix: 'PrunePropagationPolicy=orphan',
      },
      {
        name: 'a cluster-scoped owner pruned by Argo CD',
        webhook: 'owner-delete',
        model: cluster((m) => claims(m, ['db-1'], 'Delete', owned)),
        request: clusterDelete('', 'Tenant', 'tenants'),
      },
    ];
  },
  'crd-delete': () => [
    {
      name: "an operator's CRD pruned by Argo CD, its Clusters owning PVCs",
      webhook: 'storage-teardown',
      model: cluster((m) =>
        claims(m, ['db-1', 'db-2'], 'Delete', {
          ownerReferences: [{ apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', name: 'db', uid: 'uid-cnpg-db', controller: true as const }],
        }),
      ),
      request: request({
        ...kindOf('apiextensions.k8s.io', 'CustomResourceDefinition', 'customresourcedefinitions'),
        operation: 'DELETE',
        namespace: '',
        name: 'clusters.postgresql.cnpg.io',
        userInfo: ARGO,
        oldObject: {
          metadata: { name: 'clusters.postgresql.cnpg.io', annotations: {} },
          spec: { group: 'postgresql.cnpg.io', names: { kind: 'Cluster', plural: 'clusters' }, scope: 'Namespaced', versions: [{ name: 'v1', served: true, storage: true }] },
          status: { acceptedNames: { kind: 'Cluster', plural: 'clusters' }, conditions: [{ type: 'Established', status: 'True' }] },
        },
      }),
      fix: 'keep the CRD',
    },
  ],
  'statefulset-scale-down': () => [
    {
      name: 'StatefulSet scale-down by Argo CD',
      webhook: 'pvc-delete',
      model: cluster((m) => {
        m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', replicas: 2, whenScaled: 'Delete' }));
        claims(m, ['data-db-0', 'data-db-1']);
        for (const ordinal of [0, 1]) {
          m.upsert('pod', pod({ namespace: NS, name: `db-${ordinal}`, claimNames: [`data-db-${ordinal}`], controllerKind: 'StatefulSet' }));
        }
      }),
      request: request({
        kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
        resource: { group: 'apps', version: 'v1', resource: 'statefulsets' },
        subResource: 'scale',
        operation: 'UPDATE',
        namespace: NS,
        name: 'db',
        userInfo: ARGO,
        object: { metadata: { name: 'db', namespace: NS }, spec: { replicas: 1 } },
        oldObject: { metadata: { name: 'db', namespace: NS }, spec: { replicas: 2 } },
      }),
    },
  ],
  'pv-reclaim': () => {
    const pvObject = (policy: string) => ({
      metadata: { name: 'pv-gone', annotations: {} },
      spec: { persistentVolumeReclaimPolicy: policy, claimRef: { namespace: NS, name: 'gone', uid: 'uid-gone' } },
      status: { phase: 'Released' },
    });
    return [
      {
        name: 'PV reclaim policy turned to Delete by Argo CD',
        webhook: 'pvc-delete',
        model: cluster(() => {}),
        request: request({ ...kindOf('', 'PersistentVolume', 'persistentvolumes'), operation: 'UPDATE', name: 'pv-gone', userInfo: ARGO, object: pvObject('Delete'), oldObject: pvObject('Retain') }),
      },
    ];
  },
  'longhorn-volume-delete': () => [
    {
      name: 'Longhorn Volume DELETE by Argo CD',
      webhook: 'pvc-delete',
      model: cluster((m) => m.upsert('longhornVolume', volume({ name: 'vol-a', pvcNamespace: NS, pvcName: 'a' }))),
      request: request({
        ...kindOf('longhorn.io', 'Volume', 'volumes', 'v1beta2'),
        operation: 'DELETE',
        namespace: 'longhorn-system',
        name: 'vol-a',
        userInfo: ARGO,
        oldObject: {
          metadata: { name: 'vol-a', namespace: 'longhorn-system', annotations: {} },
          status: { kubernetesStatus: { pvName: 'vol-a', namespace: NS, pvcName: 'a' } },
        },
      }),
    },
  ],
  'storage-teardown': () => [
    {
      name: "DELETE of Longhorn's namespace",
      webhook: 'storage-teardown',
      model: soloCluster(),
      request: request({ ...kindOf('', 'Namespace', 'namespaces'), operation: 'DELETE', name: 'longhorn-system', oldObject: { metadata: { name: 'longhorn-system' } } }),
    },
  ],
  'replica-delete': () => {
    const lone = replica({ volumeName: 'solo', nodeID: 'w1' });
    return [
      {
        name: 'Replica DELETE',
        fix: 'Fix: keep the replica; let Longhorn rebuild another healthy copy (or back the volume up) first.',
        webhook: 'storage-teardown',
        model: soloCluster(),
        request: request({
          ...kindOf('longhorn.io', 'Replica', 'replicas', 'v1beta2'),
          operation: 'DELETE',
          namespace: 'longhorn-system',
          name: lone.name,
          oldObject: {
            metadata: { name: lone.name, namespace: 'longhorn-system' },
            spec: { volumeName: 'solo', nodeID: 'w1', diskID: lone.diskID, healthyAt: lone.healthyAt, failedAt: '', desireState: 'running' },
            status: { currentState: 'running' },
          },
        }),
      },
    ];
  },
  'storage-delete-flag': () => [{ name: 'deleting-confirmation-flag', webhook: 'longhorn-settings', model: soloCluster(), request: setting('deleting-confirmation-flag', 'true', 'false') }],
  'storage-drain-setting': () => [{ name: 'node-drain-policy', webhook: 'longhorn-settings', model: soloCluster(), request: setting('node-drain-policy', 'always-allow', 'block-if-contains-last-replica') }],
  'storage-upgrade': () => {
    const manager = (image: string) => ({
      metadata: { name: 'longhorn-manager', namespace: 'longhorn-system', annotations: {} },
      spec: { template: { spec: { containers: [{ name: 'longhorn-manager', image }] } } },
    });
    return [
      {
        name: 'longhorn-manager image',
        webhook: 'storage-upgrade',
        model: cluster((m) => addVolume(m, volumeWithReplicas('faulted', ['w1'], { robustness: 'faulted', numberOfReplicas: 2 }, { failedAt: '2024-05-02T10:00:00Z' }))),
        request: request({
          ...kindOf('apps', 'DaemonSet', 'daemonsets'),
          operation: 'UPDATE',
          namespace: 'longhorn-system',
          name: 'longhorn-manager',
          object: manager('longhornio/longhorn-manager:v1.9.0'),
          oldObject: manager('longhornio/longhorn-manager:v1.8.1'),
        }),
      },
    ];
  },
};

// ------------------------------------------------------------------------------------------------ reading the advice

/** What the override part of a denial says to write. */
interface Command {
  readonly how: 'annotate' | 'label' | 'manifest' | 'helm-labels';
  readonly resource?: string;
  readonly names: readonly string[];
  readonly namespace?: string;
  readonly values: Readonly<Record<string, string>>;
  readonly text: string;
  /** `kubectl annotate --overwrite`: without it kubectl refuses to change a key holding another value. */
  readonly overwrite?: boolean;
}

const OVERRIDE_HEAD = 'Override (an authorized admin, after checking):';
/** The fresh expiry an admin writes where the advice asks for one. */
const FUTURE = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');

/** The admin runs it: their name and a reason fill the placeholders meant for them. */
function fill(text: string): string {
  return text
    .replaceAll('<your user name>', ADMIN.username)
    .replaceAll('<you>', ADMIN.username)
    .replaceAll('"<why>"', '"checked"')
    .replaceAll('<new RFC 3339 time>', FUTURE);
}

function tokens(text: string): string[] {
  return [...text.matchAll(/(?:[^\s"]+|"[^"]*")+/g)].map((match) => match[0]);
}

const KEY_VALUE = /^([a-z0-9.-]+\/[A-Za-z0-9.-]+)=(.*)$/;

function unquote(value: string): string {
  return value.replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
}

/** The first command of the override text that writes volume-guard's keys. */
function parseOverride(override: string): Command | undefined {
  const text = fill(override);
  // Annotations for a manifest, as YAML lines: the first command unless a kubectl one comes before them.
  const manifest = text.search(/metadata\.annotations in its manifest/);
  const kubectl = text.search(/kubectl (annotate|label) /);
  if (manifest >= 0 && (kubectl < 0 || manifest < kubectl)) {
    const values: Record<string, string> = {};
    for (const match of text.matchAll(/^\s+([a-z0-9.-]+\/[A-Za-z0-9.-]+): "([^"]*)"$/gm)) values[match[1]!] = match[2]!;
    return { how: 'manifest', names: [], values, text };
  }
  const helm = /--labels (\S+)/.exec(text);
  if (/^helm /.test(text.trim()) && helm) {
    const values: Record<string, string> = {};
    for (const pair of helm[1]!.split(',')) {
      const [key, value] = pair.split('=') as [string, string];
      values[key] = value;
    }
    return { how: 'helm-labels', names: [], values, text };
  }
  for (const match of text.matchAll(/kubectl (annotate|label) /g)) {
    const words = tokens(text.slice(match.index + match[0].length));
    const overwrite = words[0] === '--overwrite';
    if (overwrite) words.shift();
    const resource = words.shift() ?? '';
    const names: string[] = [];
    const values: Record<string, string> = {};
    let namespace: string | undefined;
    for (let index = 0; index < words.length; index++) {
      const word = words[index]!.replace(/[,;]$/, '');
      const pair = KEY_VALUE.exec(word);
      if (word === '-n') namespace = words[++index]!.replace(/[,;]$/, '');
      else if (pair) values[pair[1]!] = unquote(pair[2]!);
      else if (Object.keys(values).length === 0 && !/^(and|or|then|if)$/.test(word)) names.push(word);
      else break;
      if (words[index]!.endsWith(',') || words[index]!.endsWith(';')) break;
    }
    if (Object.keys(values).some((key) => key.startsWith('volume-guard.io/'))) {
      return { how: match[1] as 'annotate' | 'label', resource, names, ...(namespace ? { namespace } : {}), values, text, overwrite };
    }
  }
  const statefulSet = /add the annotations (.*) to the StatefulSet/.exec(text);
  if (statefulSet) {
    const values: Record<string, string> = {};
    for (const word of tokens(statefulSet[1]!)) {
      const pair = KEY_VALUE.exec(word);
      if (pair) values[pair[1]!] = unquote(pair[2]!);
    }
    return { how: 'manifest', names: [], values, text };
  }
  return undefined;
}

function metaOf(object: unknown): Meta {
  const record = object as { metadata?: Meta } | null;
  if (record === null || typeof record !== 'object') throw new Error('no object');
  record.metadata ??= {};
  return record.metadata;
}

const clone = <T>(value: T): T => structuredClone(value);

/**
 * Writes what the command says on the object it names: in the model (what volume-guard reads of stored objects) and
 * in the request when the request carries that object (its next write or DELETE sends it as stored). Returns the
 * objects named that do not exist.
 */
function apply(command: Command, model: ClusterModel, req: AdmissionRequest): { request: AdmissionRequest; missing: string[] } {
  const next = clone(req);
  const merge = (object: unknown, field: 'annotations' | 'labels'): void => {
    if (object === null || object === undefined) return;
    const meta = metaOf(object);
    meta[field] = { ...meta[field], ...command.values };
  };
  if (command.how === 'manifest') {
    merge(next.object, 'annotations');
    return { request: next, missing: [] };
  }
  if (command.how === 'helm-labels') {
    merge(next.object, 'labels');
    return { request: next, missing: [] };
  }
  const missing: string[] = [];
  const field = command.how === 'label' ? 'labels' : 'annotations';
  const ns = command.namespace ?? '';
  const inRequest = (resource: string, name: string, namespace = ''): boolean =>
    req.resource.resource === resource && req.name === name && req.namespace === namespace && (req.subResource ?? '') === '';
  for (const name of command.names) {
    const resource = command.resource ?? '';
    if (resource === 'node') {
      const record = model.node(name);
      if (!record) missing.push(`node ${name}`);
      else model.upsert('node', { ...record, annotations: { ...record.annotations, ...command.values } });
      if (inRequest('nodes', name)) [next.object, next.oldObject].forEach((o) => merge(o, field));
    } else if (resource === 'namespace') {
      const record = model.namespace(name);
      if (!record) missing.push(`namespace ${name}`);
      else model.upsert('namespace', { ...record, annotations: { ...record.annotations, ...command.values } });
      if (req.resource.resource === 'namespaces' && req.name === name) [next.object, next.oldObject].forEach((o) => merge(o, field));
    } else if (resource === 'pvc') {
      const record = model.persistentVolumeClaim(ns, name);
      if (!record) missing.push(`pvc ${ns}/${name}`);
      else model.upsert('persistentVolumeClaim', { ...record, annotations: { ...record.annotations, ...command.values } });
      if (inRequest('persistentvolumeclaims', name, ns)) [next.object, next.oldObject].forEach((o) => merge(o, field));
    } else if (resource === 'pv') {
      if (!inRequest('persistentvolumes', name) && !model.persistentVolume(name)) missing.push(`pv ${name}`);
      if (inRequest('persistentvolumes', name)) [next.object, next.oldObject].forEach((o) => merge(o, field));
    } else if (resource === 'volumes.longhorn.io') {
      if (!inRequest('volumes', name, ns) && !model.longhornVolume(name)) missing.push(`volume ${ns}/${name}`);
      if (inRequest('volumes', name, ns)) [next.object, next.oldObject].forEach((o) => merge(o, field));
    } else if (
      resource === `${req.resource.resource}.${req.resource.group}` ||
      resource === req.resource.resource ||
      (resource === 'crd' && req.resource.resource === 'customresourcedefinitions')
    ) {
      if (req.name !== name || req.namespace !== ns) missing.push(`${resource} ${ns}/${name}`);
      [next.object, next.oldObject].forEach((o) => merge(o, field));
    } else {
      missing.push(`${resource} ${name} (not an object volume-guard reads overrides from)`);
    }
  }
  return { request: next, missing };
}

describe('the override a denial prints leads to an allow', () => {
  it('covers every plan', () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(PLANS).sort());
  });

  for (const [plan, build] of Object.entries(CASES) as [PlanId, () => Case[]][]) {
    for (const built of build()) {
      it(`${plan}: ${built.name}`, () => {
        const validator = validators.find((candidate) => candidate.declaration.target === built.webhook);
        if (!validator) throw new Error(`no validator ${built.webhook}`);
        const refused = validator.handle(built.request, context(built.model));
        expect(refused.allowed, JSON.stringify(refused.warnings)).toBe(false);
        const message = refused.status?.message ?? '';
        expect(message.length).toBeLessThanOrEqual(MAX_DENIAL_LENGTH);
        const lines = message.split('\n');
        const head = lines.indexOf(OVERRIDE_HEAD);
        expect(head, message).toBeGreaterThan(0);
        const override = lines.slice(head + 1).join('\n');
        // (The verdict line carries the action as the validator words it: not held to the line length.)
        for (const line of lines.slice(1, head)) expect(line.length, line).toBeLessThanOrEqual(MAX_LINE_LENGTH + 2);
        // Nothing cut: a shortened line ends in "…".
        expect(override, override).not.toContain('…');
        const command = parseOverride(override);
        expect(command, override).toBeDefined();
        // The placeholders left are none the requester's situation already knows.
        expect([...command!.names, ...Object.values(command!.values)].filter((word) => /<[^>]*>|\.\.\./.test(word)), override).toEqual([]);
        const { request: again, missing } = apply(command!, built.model, built.request);
        expect(missing, override).toEqual([]);
        const passed = validator.handle(again, context(built.model));
        expect(passed.allowed, `${override}\n${passed.status?.message ?? ''}`).toBe(true);
        expect(passed.overrides, override).toEqual(expect.arrayContaining([...(refused.deniedChecks ?? [])]));
        expect(passed.auditAnnotations?.['overridden-checks'], override).toBeDefined();
        if (built.fix !== undefined) expect(message.replace(/\s+/g, ' '), message).toContain(built.fix);
      });
    }
  }
});


describe('the override a stale-model refusal prints leads to an allow', () => {
  // While volume-guard's view is stale only an honored `*` skip passes, and only where the request reads one: the
  // refusal names that place (the node for an eviction, `all` in a Helm release label), or says none applies.
  const stale = { synced: () => true, staleResources: () => ['pods', 'nodes', 'persistentvolumeclaims', 'volumes.longhorn.io', 'namespaces'] };
  for (const [plan, build] of Object.entries(CASES) as [PlanId, () => Case[]][]) {
    for (const built of build()) {
      it(`${plan}: ${built.name}`, () => {
        const validator = validators.find((candidate) => candidate.declaration.target === built.webhook)!;
        const refused = validator.handle(built.request, context(built.model, { health: stale }));
        const message = refused.status?.message ?? '';
        if (!message.includes('is stale')) return; // (answered without the stale resources)
        const lines = message.split('\n');
        const override = lines.slice(lines.indexOf(OVERRIDE_HEAD) + 1).join('\n');
        expect(override, message).not.toContain('object under review');
        const command = parseOverride(override);
        if (command === undefined) {
          expect(override, message).toMatch(/^\s+(none|volume-guard\.io\/skip: "\*" on the namespace, for an object of a Helm release there)/);
          return;
        }
        const { request: written, missing } = apply(command, built.model, built.request);
        expect(missing, override).toEqual([]);
        // An override in the manifest is written by whoever creates the object: the admin then.
        const again = command.how === 'manifest' ? { ...written, userInfo: ADMIN } : written;
        const passed = validator.handle(again, context(built.model, { health: stale }));
        expect(passed.allowed, `${override}\n${passed.status?.message ?? ''}`).toBe(true);
        expect(passed.auditAnnotations?.['overridden-checks'], override).toBe('*');
      });
    }
  }
});

// ------------------------------------------------------------------ advice on an object that already holds overrides

/** kubectl annotate's own refusal (validateNoAnnotationOverwrites): a key holding another value, without --overwrite. */
function kubectlRefuses(command: Command, stored: Readonly<Record<string, string>>): string | undefined {
  if (command.overwrite) return undefined;
  const clash = Object.entries(command.values).find(([key, value]) => stored[key] !== undefined && stored[key] !== value);
  return clash ? `'${clash[0]}' already has a value (${stored[clash[0]]}), and --overwrite is false` : undefined;
}

/** The override part of a denial, and the command it prints. */
function overrideOf(decision: { allowed: boolean; status?: { message?: string } }): { text: string; command: Command } {
  expect(decision.allowed).toBe(false);
  const lines = (decision.status?.message ?? '').split('\n');
  const text = lines.slice(lines.indexOf(OVERRIDE_HEAD) + 1).join('\n');
  const command = parseOverride(text);
  expect(command, text).toBeDefined();
  return { text, command: command! };
}

const PAST = '2020-01-01T00:00:00Z';

/** Argo CD deleting PVC shop/uploads (Bound to pv-uploads), stored with these annotations. */
function uploadsDelete(held: Record<string, string>): AdmissionRequest {
  return request({
    ...kindOf('', 'PersistentVolumeClaim', 'persistentvolumeclaims'),
    operation: 'DELETE',
    namespace: NS,
    name: 'uploads',
    userInfo: ARGO,
    oldObject: { metadata: { name: 'uploads', namespace: NS, annotations: held }, spec: { volumeName: 'pv-uploads' }, status: { phase: 'Bound' } },
  });
}

describe('the override a denial prints, on an object that already holds one', () => {
  const cordon = validators.find((candidate) => candidate.declaration.target === 'node-cordon')!;
  const guard = (skip: Record<string, string>) => ({ 'volume-guard.io/skip-by': ADMIN.username, 'volume-guard.io/skip-reason': 'disk swap', ...skip });

  it("keeps the node's own skip and overwrites it (kubectl refuses to change a held value otherwise)", () => {
    const held = guard({ 'volume-guard.io/skip': 'node-local-volume' });
    const model = lastReplicaCluster();
    model.upsert('node', { ...model.node('node-1')!, annotations: held });
    const refused = cordon.handle(cordonRequest('node-1', held), context(model));
    const { text, command } = overrideOf(refused);
    expect(kubectlRefuses(command, held), text).toBeUndefined();
    expect(command.values['volume-guard.io/skip']!.split(','), text).toEqual([...refused.deniedChecks!, 'node-local-volume']);
    const { request: again } = apply(command, model, cordonRequest('node-1', held));
    const passed = cordon.handle(again, context(model));
    expect(passed.allowed, passed.status?.message).toBe(true);
    expect(model.node('node-1')!.annotations['volume-guard.io/skip']).toContain('node-local-volume');
  });

  it("fits the command to the Node the request says is stored, when the model has not seen the annotate yet", () => {
    const held = guard({ 'volume-guard.io/skip': 'node-local-volume' });
    // The model still shows the node without annotations (its informer lags the annotate by milliseconds).
    const model = lastReplicaCluster();
    const refused = cordon.handle(cordonRequest('node-1', held), context(model));
    const { text, command } = overrideOf(refused);
    expect(command.overwrite, text).toBe(true);
    expect(kubectlRefuses(command, held), text).toBeUndefined();
    expect(command.values['volume-guard.io/skip']!.split(','), text).toContain('node-local-volume');
    // A Node DELETE reads its oldObject the same way.
    const removal = request({ kind: { group: '', version: 'v1', kind: 'Node' }, resource: { group: '', version: 'v1', resource: 'nodes' }, operation: 'DELETE', name: 'node-1', oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', annotations: held } } });
    expect(overrideOf(cordon.handle(removal, context(model))).command.overwrite).toBe(true);
  });

  it('writes no --overwrite on a node holding no override', () => {
    const { command } = overrideOf(cordon.handle(cordonRequest('node-1'), context(lastReplicaCluster())));
    expect(command.overwrite).toBe(false);
  });

  it('after an expired skip-until, writes a fresh one (never removes it) and drops the lapsed checks', () => {
    const held = guard({ 'volume-guard.io/skip': 'node-local-volume', 'volume-guard.io/skip-until': PAST });
    const model = lastReplicaCluster();
    model.upsert('node', { ...model.node('node-1')!, annotations: held });
    const refused = cordon.handle(cordonRequest('node-1', held), context(model));
    const { text, command } = overrideOf(refused);
    expect(kubectlRefuses(command, held), text).toBeUndefined();
    expect(text).not.toContain('skip-until-');
    expect(command.values['volume-guard.io/skip']!.split(','), text).toEqual(refused.deniedChecks);
    expect(command.values['volume-guard.io/skip-until'], text).toBe(FUTURE);
    const { request: again } = apply(command, model, cordonRequest('node-1', held));
    expect(cordon.handle(again, context(model)).allowed).toBe(true);
  });

  it('keeps nothing of a stored skip that is ignored (no writer recorded): neither its checks nor its "*"', () => {
    for (const skip of ['*', 'node-local-volume']) {
      const held = { 'volume-guard.io/skip': skip };
      const model = lastReplicaCluster();
      model.upsert('node', { ...model.node('node-1')!, annotations: held });
      const refused = cordon.handle(cordonRequest('node-1', held), context(model));
      const { text, command } = overrideOf(refused);
      expect(command.values['volume-guard.io/skip']!.split(','), text).toEqual(refused.deniedChecks);
      expect(command.overwrite, text).toBe(true);
    }
  });

  it('keeps nothing of a stored skip whose writer is not in allowedUsers (listed, no allowedGroups: ignored)', () => {
    const listed = { ...config, overrides: { ...config.overrides, mode: 'listed' as const, allowedGroups: [], allowedUsers: ['alice'] } };
    const cordonListed = createValidators(listed).find((candidate) => candidate.declaration.target === 'node-cordon')!;
    for (const skip of ['*', 'node-local-volume']) {
      const held = { 'volume-guard.io/skip': skip, 'volume-guard.io/skip-by': 'mallory', 'volume-guard.io/skip-reason': 'before install' };
      const model = lastReplicaCluster();
      model.upsert('node', { ...model.node('node-1')!, annotations: held });
      const refused = cordonListed.handle(cordonRequest('node-1', held), context(model, { config: listed }));
      expect(refused.warnings?.join('\n')).toContain('its writer "mallory" (volume-guard.io/skip-by) is not in');
      const { text, command } = overrideOf(refused);
      expect(command.values['volume-guard.io/skip']!.split(','), text).toEqual(refused.deniedChecks);
      expect(command.overwrite, text).toBe(true);
    }
  });

  it("after an expired skip-until, names as re-armed only the keys read on that kind (a node's skip-evictions is not)", () => {
    const held = guard({ 'volume-guard.io/skip': 'node-local-volume', 'volume-guard.io/skip-until': PAST, 'volume-guard.io/skip-evictions': 'node-local-volume' });
    const model = lastReplicaCluster();
    model.upsert('node', { ...model.node('node-1')!, annotations: held });
    const { text } = overrideOf(cordon.handle(cordonRequest('node-1', held), context(model)));
    expect(text).not.toContain('re-arms');
    expect(text).toContain('the command writes a new skip and volume-guard.io/skip-until');
  });

  it("an approval other than \"true\" and an expired one: --overwrite, a fresh skip-until, the PVC's delete passes", () => {
    const pvcDelete = validators.find((candidate) => candidate.declaration.target === 'pvc-delete')!;
    const approvals: Record<string, string>[] = [
      { 'volume-guard.io/delete': 'True', 'volume-guard.io/skip-by': ADMIN.username },
      { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': ADMIN.username, 'volume-guard.io/skip-until': PAST },
    ];
    for (const held of approvals) {
      const model = cluster((m) => claims(m, ['uploads'], 'Delete', { annotations: held }));
      const req = uploadsDelete(held);
      const { text, command } = overrideOf(pvcDelete.handle(req, context(model)));
      expect(kubectlRefuses(command, held), text).toBeUndefined();
      const { request: again } = apply(command, model, req);
      const passed = pvcDelete.handle(again, context(model));
      expect(passed.allowed, `${text}\n${passed.status?.message ?? ''}`).toBe(true);
    }
  });

  it("a PVC's DELETE fits its advice to the PVC the request says is stored, when the model has not seen the annotate yet", () => {
    const pvcDelete = validators.find((candidate) => candidate.declaration.target === 'pvc-delete')!;
    const held = { 'volume-guard.io/delete': 'True', 'volume-guard.io/skip-by': ADMIN.username };
    // The model's PVC carries no annotations yet.
    const model = cluster((m) => claims(m, ['uploads'], 'Delete'));
    const req = uploadsDelete(held);
    const { text, command } = overrideOf(pvcDelete.handle(req, context(model)));
    expect(command.overwrite, text).toBe(true);
    expect(kubectlRefuses(command, held), text).toBeUndefined();
  });

  it('a change of an upgrade object keeps its own skip; a refused CREATE keeps the manifest one', () => {
    const upgrade = validators.find((candidate) => candidate.declaration.target === 'upgrade')!;
    const model = cluster((m) => addVolume(m, volumeWithReplicas('solo', ['node-1'])));
    const held = guard({ 'volume-guard.io/skip': 'volume-health' });
    const plan = (version: string) => ({ metadata: { name: 'k3s-server', namespace: 'system-upgrade', annotations: held }, spec: { version, concurrency: 1, nodeSelector: {} } });
    const update = request({
      ...kindOf('upgrade.cattle.io', 'Plan', 'plans'),
      operation: 'UPDATE',
      namespace: 'system-upgrade',
      name: 'k3s-server',
      object: plan('v1.31.0'),
      oldObject: plan('v1.30.0'),
    });
    const changed = overrideOf(upgrade.handle(update, context(model)));
    expect(changed.command.overwrite, changed.text).toBe(true);
    expect(changed.command.values['volume-guard.io/skip'], changed.text).toBe('single-replica,volume-health');

    const created = overrideOf(upgrade.handle(harvesterUpgradeRequest(held), context(model)));
    expect(created.command.values['volume-guard.io/skip'], created.text).toBe('single-replica,volume-health');
    // Expired in the manifest: a fresh skip-until, else the object created again is refused again.
    const lapsed = { ...held, 'volume-guard.io/skip-until': PAST };
    const again = overrideOf(upgrade.handle(harvesterUpgradeRequest(lapsed), context(model)));
    expect(again.command.values['volume-guard.io/skip-until'], again.text).toBe(FUTURE);
    expect(again.text).toContain('(its overrides are ignored now: expired at 2020-01-01T00:00:00.000Z');
    const { request: written } = apply(again.command, model, harvesterUpgradeRequest(lapsed));
    expect(upgrade.handle(written, context(model)).allowed).toBe(true);
  });

  it("a Helm install's reuse advice for a PVC whose approval expired: --overwrite and a fresh skip-until", () => {
    const held = { 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': ADMIN.username, 'volume-guard.io/skip-until': PAST };
    const model = cluster((m) =>
      claims(m, ['devlake-mysql-data-devlake-mysql-0'], 'Retain', { labels: { 'app.kubernetes.io/instance': 'devlake' }, annotations: held }),
    );
    const built = releaseRequest({}, model);
    const helm = validators.find((candidate) => candidate.declaration.target === 'helm-release')!;
    const refused = helm.handle(built.request, context(model));
    const message = (refused.status?.message ?? '').replace(/\s+/g, ' ');
    expect(message).toContain(
      `kubectl annotate --overwrite pvc -n ${NS} devlake-mysql-data-devlake-mysql-0 volume-guard.io/reuse=true volume-guard.io/skip-by="<you>" volume-guard.io/skip-until="<new RFC 3339 time>"`,
    );
  });
});

describe('the Helm advice, on a release record whose labels already skip checks for this revision', () => {
  const helm = validators.find((candidate) => candidate.declaration.target === 'helm-release')!;
  /**
   * Upgrade to revision 2 of devlake: its StatefulSet would adopt a leftover PVC (orphan-pvc), and it drops the
   * release's StatefulSet db, whose PVC goes with it (pvc-delete).
   */
  function both(): ClusterModel {
    return cluster((m) => {
      claims(m, ['devlake-mysql-data-devlake-mysql-0'], 'Retain', { labels: { 'app.kubernetes.io/instance': 'devlake' } });
      m.upsert('statefulSet', statefulSet({ namespace: NS, name: 'db', helmReleaseName: 'devlake', helmReleaseNamespace: NS }));
      claims(m, ['data-db-0'], 'Delete', { ownerReferences: [{ kind: 'StatefulSet', name: 'db', uid: 'uid-sts-shop-db' }] });
    });
  }
  const upgrade = (labels: Record<string, string>): AdmissionRequest => {
    const fixture: ReleaseFixture = { name: 'devlake', namespace: NS, version: 2, status: 'pending-upgrade', manifest: devlakeManifest() };
    return request({
      ...kindOf('', 'Secret', 'secrets'),
      operation: 'CREATE',
      namespace: NS,
      name: 'sh.helm.release.v1.devlake.v2',
      object: releaseSecret(fixture, { extraLabels: labels }),
    });
  };

  it('names the checks the counting label skips too: --labels replaces the value, the next try must keep them', () => {
    const model = both();
    const held = { 'volume-guard.io/skip': 'orphan-pvc', 'volume-guard.io/skip-revision': '2' };
    const refused = helm.handle(upgrade(held), context(model));
    expect(refused.deniedChecks).toEqual(['pvc-delete']);
    expect(refused.overrides).toEqual(['orphan-pvc']);
    const { text, command } = overrideOf(refused);
    expect(text).toContain('helm upgrade ... --labels volume-guard.io/skip=pvc-delete_orphan-pvc,volume-guard.io/skip-revision=2');
    // Helm merges --labels into the record's key by key, as apply does: the retry passes.
    const { request: again } = apply(command, model, upgrade(held));
    const passed = helm.handle(again, context(model));
    expect(passed.allowed, passed.status?.message).toBe(true);
    expect(passed.overrides).toEqual(expect.arrayContaining(['orphan-pvc', 'pvc-delete']));
  });

  it('keeps nothing of a label left from an earlier revision, nor of one its requester may not write', () => {
    const model = both();
    for (const [held, user] of [
      [{ 'volume-guard.io/skip': 'orphan-pvc', 'volume-guard.io/skip-revision': '1' }, ADMIN],
      [{ 'volume-guard.io/skip': 'orphan-pvc', 'volume-guard.io/skip-revision': '2' }, ALICE],
    ] as const) {
      const refused = helm.handle({ ...upgrade(held), userInfo: user }, context(model));
      const { text, command } = overrideOf(refused);
      expect(command.values['volume-guard.io/skip']!.split('_'), text).toEqual(refused.deniedChecks);
    }
  });
});

describe("a stale-model refusal of a PVC's DELETE names the namespace's skip only for a Helm release's PVC", () => {
  const stale = { synced: () => true, staleResources: () => ['persistentvolumeclaims', 'persistentvolumes', 'namespaces'] };
  const pvcDelete = validators.find((candidate) => candidate.declaration.target === 'pvc-delete')!;
  const deleteOf = (annotations: Record<string, string>) =>
    request({
      ...kindOf('', 'PersistentVolumeClaim', 'persistentvolumeclaims'),
      operation: 'DELETE',
      namespace: NS,
      name: 'uploads',
      userInfo: ARGO,
      oldObject: {
        metadata: { name: 'uploads', namespace: NS, annotations, managedFields: releaseAnnotationManagedFields(annotations) },
        spec: { volumeName: 'pv-uploads' },
        status: { phase: 'Bound' },
      },
    });
  const overrideText = (annotations: Record<string, string>): string => {
    const refused = pvcDelete.handle(deleteOf(annotations), context(cluster((m) => claims(m, ['uploads'])), { health: stale }));
    expect(refused.allowed).toBe(false);
    const lines = (refused.status?.message ?? '').split('\n');
    return lines.slice(lines.indexOf(OVERRIDE_HEAD) + 1).join('\n');
  };

  it('a PVC no Helm release manages: none (its namespace skip is never read for it)', () => {
    expect(overrideText({})).toMatch(/^\s+none: only approvals/);
  });

  it("a Helm release's PVC: the namespace's skip", () => {
    const helm = { 'meta.helm.sh/release-name': 'shop', 'meta.helm.sh/release-namespace': NS };
    expect(overrideText(helm)).toContain('on the namespace, for an object of a Helm release there');
  });
});

describe("a stale-model refusal of a MachineDeployment's scale-down fits its own stored override", () => {
  it('--overwrite over the skip it holds', () => {
    const machines = validators.find((candidate) => candidate.declaration.target === 'machine')!;
    const held = { 'volume-guard.io/skip': 'single-replica', 'volume-guard.io/skip-reason': 'earlier', 'volume-guard.io/skip-by': ADMIN.username };
    const md = (replicas: number) => ({ metadata: { name: 'md-1', namespace: 'capi', annotations: held }, spec: { replicas } });
    const scaleDown = request({
      ...kindOf('cluster.x-k8s.io', 'MachineDeployment', 'machinedeployments', 'v1beta1'),
      operation: 'UPDATE',
      namespace: 'capi',
      name: 'md-1',
      object: md(1),
      oldObject: md(2),
    });
    const stale = { synced: () => true, staleResources: () => ['machines', 'nodes', 'volumes.longhorn.io'] };
    const refused = machines.handle(scaleDown, context(lastReplicaCluster(), { health: stale }));
    const { text, command } = overrideOf(refused);
    expect(refused.status?.message).toContain('stale');
    expect(command.overwrite, text).toBe(true);
    expect(command.values['volume-guard.io/skip'], text).toBe('*');
  });
});

// Realistic AdmissionReviews for every target, aimed at objects of the synthetic cluster so the validators run
// their checks (not just their early exits). The fuzzers mutate these.
import type { HelmReleaseRef } from '../../support/fixtures.ts';
import { admissionReview } from '../../support/admission.ts';
import { releaseSecret } from '../helm/helm-fixtures.ts';
import { cluster } from './support.ts';

const ADMIN = { username: 'admin', groups: ['system:masters', 'system:authenticated'] };
const ALICE = { username: 'alice', groups: ['developers', 'system:authenticated'] };

export interface BaseReview {
  readonly name: string;
  readonly target: string;
  readonly review: Record<string, unknown>;
}

let uidCounter = 0;

function review(request: Record<string, unknown>): Record<string, unknown> {
  uidCounter += 1;
  return admissionReview({ uid: `0000-fuzz-${uidCounter}`, dryRun: false, options: { apiVersion: 'meta.k8s.io/v1', kind: 'UpdateOptions' }, ...request });
}

const core = (kind: string, resource: string) => ({
  kind: { group: '', version: 'v1', kind },
  resource: { group: '', version: 'v1', resource },
});

function nodeObject(name: string, unschedulable: boolean, annotations: Record<string, string> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name }, annotations, resourceVersion: '42' },
    spec: unschedulable ? { unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] } : {},
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

function cordon(node: string, user = ADMIN, annotations: Record<string, string> = {}): Record<string, unknown> {
  return review({
    ...core('Node', 'nodes'),
    name: node,
    operation: 'UPDATE',
    userInfo: user,
    object: nodeObject(node, true, annotations),
    oldObject: nodeObject(node, false),
  });
}

function eviction(namespace: string, pod: string): Record<string, unknown> {
  return review({
    kind: { group: 'policy', version: 'v1', kind: 'Eviction' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    subResource: 'eviction',
    requestKind: { group: 'policy', version: 'v1', kind: 'Eviction' },
    namespace,
    name: pod,
    operation: 'CREATE',
    userInfo: ADMIN,
    object: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace }, deleteOptions: {} },
  });
}

/** A manifest with the release's StatefulSet (claim template `data`), as the synthetic cluster's charts render it. */
export function releaseManifest(ref: HelmReleaseRef): string {
  return `---
# Source: db/templates/statefulset.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ${ref.statefulSet}
spec:
  replicas: ${ref.replicas}
  selector:
    matchLabels:
      app.kubernetes.io/instance: ${ref.name}
      app.kubernetes.io/name: db
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: ${ref.name}
    spec:
      containers:
        - name: db
          image: db:1
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: 1Gi
---
# Source: db/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: ${ref.name}-db
spec:
  ports: [{ port: 5432 }]
`;
}

export function releaseReview(ref: HelmReleaseRef, status: string, version: number, operation: 'CREATE' | 'UPDATE' = 'CREATE', user = ADMIN) {
  const object = releaseSecret({ name: ref.name, namespace: ref.namespace, version, status, manifest: releaseManifest(ref) });
  return review({
    ...core('Secret', 'secrets'),
    namespace: ref.namespace,
    name: `sh.helm.release.v1.${ref.name}.v${version}`,
    operation,
    userInfo: user,
    object,
    oldObject: operation === 'UPDATE' ? releaseSecret({ name: ref.name, namespace: ref.namespace, version, status: 'deployed', manifest: releaseManifest(ref) }) : null,
  });
}

function upgrade(kind: { group: string; version: string; kind: string; resource: string }, operation: 'CREATE' | 'UPDATE', spec: Record<string, unknown>, oldSpec: Record<string, unknown>, annotations: Record<string, string> = {}) {
  const object = { apiVersion: `${kind.group}/${kind.version}`, kind: kind.kind, metadata: { name: 'rollout', namespace: 'fleet', annotations }, spec };
  return review({
    kind: { group: kind.group, version: kind.version, kind: kind.kind },
    resource: { group: kind.group, version: kind.version, resource: kind.resource },
    namespace: 'fleet',
    name: 'rollout',
    operation,
    userInfo: ADMIN,
    object,
    oldObject: operation === 'UPDATE' ? { ...object, spec: oldSpec } : null,
  });
}

function pvcWrite(user: typeof ADMIN, annotations: Record<string, string>) {
  const metadata = { name: 'data-db-0', namespace: 'apps', annotations, labels: { app: 'db' } };
  return review({
    ...core('PersistentVolumeClaim', 'persistentvolumeclaims'),
    namespace: 'apps',
    name: 'data-db-0',
    operation: 'UPDATE',
    userInfo: user,
    object: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata, spec: { volumeName: 'pv-1' } },
    oldObject: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { ...metadata, annotations: {} }, spec: { volumeName: 'pv-1' } },
  });
}

const orphaned = cluster.orphanedReleases[0]!;
const installed = cluster.releases[0]!;
const localPod = cluster.localPodOnRiskyNode ?? { namespace: 'default', name: 'missing' };
const safePod = cluster.podOnSafeNode ?? { namespace: 'default', name: 'missing' };

const HARVESTER = { group: 'harvesterhci.io', version: 'v1beta1', kind: 'Upgrade', resource: 'upgrades' };
const PLAN = { group: 'upgrade.cattle.io', version: 'v1', kind: 'Plan', resource: 'plans' };
const MACHINE_DEPLOYMENT = { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'MachineDeployment', resource: 'machinedeployments' };

const LONGHORN = (kind: string, resource: string) => ({
  kind: { group: 'longhorn.io', version: 'v1beta2', kind },
  resource: { group: 'longhorn.io', version: 'v1beta2', resource },
});

function uninstallJob(): Record<string, unknown> {
  const object = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'longhorn-uninstall', namespace: 'longhorn-system' },
    spec: { template: { spec: { containers: [{ name: 'u', image: 'longhornio/longhorn-manager:v1.7.2', command: ['longhorn-manager', 'uninstall', '--force'] }] } } },
  };
  const kind = { group: 'batch', version: 'v1', kind: 'Job' };
  return review({ kind, resource: { group: 'batch', version: 'v1', resource: 'jobs' }, namespace: 'longhorn-system', name: 'longhorn-uninstall', operation: 'CREATE', userInfo: ADMIN, object });
}

function settingChange(name: string, value: string, previous: string): Record<string, unknown> {
  const meta = { name, namespace: 'longhorn-system' };
  return review({
    ...LONGHORN('Setting', 'settings'),
    namespace: 'longhorn-system',
    name,
    operation: 'UPDATE',
    userInfo: ADMIN,
    object: { apiVersion: 'longhorn.io/v1beta2', kind: 'Setting', metadata: meta, value },
    oldObject: { apiVersion: 'longhorn.io/v1beta2', kind: 'Setting', metadata: meta, value: previous },
  });
}

function finalizerStrip(volume: string): Record<string, unknown> {
  const meta = (finalizers: string[]) => ({ name: volume, namespace: 'longhorn-system', finalizers });
  return review({
    ...LONGHORN('Volume', 'volumes'),
    namespace: 'longhorn-system',
    name: volume,
    operation: 'UPDATE',
    userInfo: ADMIN,
    object: { apiVersion: 'longhorn.io/v1beta2', kind: 'Volume', metadata: meta([]), spec: { numberOfReplicas: 3 } },
    oldObject: { apiVersion: 'longhorn.io/v1beta2', kind: 'Volume', metadata: meta(['longhorn.io']), spec: { numberOfReplicas: 3 } },
  });
}

function managerImage(image: string): Record<string, unknown> {
  const daemonSet = (tag: string) => ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'longhorn-manager', namespace: 'longhorn-system' },
    spec: { template: { spec: { containers: [{ name: 'longhorn-manager', image: tag }] } } },
  });
  return review({
    kind: { group: 'apps', version: 'v1', kind: 'DaemonSet' },
    resource: { group: 'apps', version: 'v1', resource: 'daemonsets' },
    namespace: 'longhorn-system',
    name: 'longhorn-manager',
    operation: 'UPDATE',
    userInfo: ADMIN,
    object: daemonSet(image),
    oldObject: daemonSet('longhornio/longhorn-manager:v1.7.2'),
  });
}

export const BASE_REVIEWS: readonly BaseReview[] = [
  { name: 'Longhorn uninstaller Job', target: 'storage-teardown', review: uninstallJob() },
  {
    name: 'Longhorn namespace delete',
    target: 'storage-teardown',
    review: review({ ...core('Namespace', 'namespaces'), name: 'longhorn-system', operation: 'DELETE', userInfo: ADMIN, object: null, oldObject: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'longhorn-system' } } }),
  },
  { name: 'finalizer stripped from a volume', target: 'storage-teardown', review: finalizerStrip('pvc-fuzz') },
  { name: 'deleting-confirmation-flag true', target: 'longhorn-settings', review: settingChange('deleting-confirmation-flag', 'true', 'false') },
  { name: 'node-drain-policy always-allow', target: 'longhorn-settings', review: settingChange('node-drain-policy', 'always-allow', 'block-for-eviction') },
  { name: 'longhorn-manager image', target: 'storage-upgrade', review: managerImage('longhornio/longhorn-manager:v1.8.0') },
  { name: 'cordon of the risky node', target: 'node-cordon', review: cordon(cluster.riskyNode) },
  { name: 'cordon of the safe node', target: 'node-cordon', review: cordon(cluster.safeNode) },
  { name: 'cordon with a skip annotation by alice', target: 'node-cordon', review: cordon(cluster.riskyNode, ALICE, { 'volume-guard.io/skip': 'node-local-volume,last-replica-on-node' }) },
  { name: 'eviction of a pod on a local PV', target: 'pod-eviction', review: eviction(localPod.namespace, localPod.name) },
  { name: 'eviction of a pod on a healthy volume', target: 'pod-eviction', review: eviction(safePod.namespace, safePod.name) },
  { name: 'install over leftover PVCs', target: 'helm-release', review: releaseReview(orphaned, 'pending-install', 1) },
  { name: 'upgrade of a live release', target: 'helm-release', review: releaseReview(installed, 'pending-upgrade', 2) },
  { name: 'uninstall', target: 'helm-release', review: releaseReview(installed, 'uninstalling', 1, 'UPDATE') },
  { name: 'Harvester upgrade', target: 'upgrade', review: upgrade(HARVESTER, 'CREATE', { version: 'v1.4.0' }, {}, { 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' }) },
  { name: 'Plan version change', target: 'upgrade', review: upgrade(PLAN, 'UPDATE', { version: 'v1.31.2+k3s1', channel: 'stable', concurrency: 1 }, { version: 'v1.30.0+k3s1', concurrency: 1 }) },
  { name: 'MachineDeployment template change', target: 'upgrade', review: upgrade(MACHINE_DEPLOYMENT, 'UPDATE', { template: { spec: { version: 'v1.31.0', infrastructureRef: { name: 'b' } } } }, { template: { spec: { version: 'v1.30.0', infrastructureRef: { name: 'a' } } } }) },
  { name: 'override written by alice', target: 'overrides', review: cordon(cluster.riskyNode, ALICE, { 'volume-guard.io/skip': '*' }) },
  { name: 'reuse written by an admin', target: 'overrides', review: pvcWrite(ADMIN, { 'volume-guard.io/reuse': 'true' }) },
  { name: 'reuse written by an admin, its writer recorded', target: 'override-writer', review: pvcWrite(ADMIN, { 'volume-guard.io/reuse': 'true' }) },
  { name: 'a forged writer', target: 'override-writer', review: pvcWrite(ADMIN, { 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'mallory' }) },
];

// The AdmissionReviews the benchmark sends: one per target and path, shaped like the API server's (full objects,
// realistic sizes), for the nodes, pods and Helm releases of a synthetic cluster. Deterministic for one summary.

import { gzipSync, constants as zlib } from 'node:zlib';
import type { HelmReleaseRef, SyntheticClusterSummary } from '../../support/fixtures.ts';

export type BenchTarget = 'node-cordon' | 'pod-eviction' | 'upgrade' | 'helm-release';

export interface BenchCase {
  /** Stable id: `cordon-allow`, `helm-install-deny-1m`... */
  readonly id: string;
  readonly target: BenchTarget;
  /** What the case is meant to exercise; the measured decision is reported next to it. */
  readonly intent: 'allow' | 'deny';
  readonly description: string;
  /** The AdmissionReview as the API server would POST it. */
  readonly body: string;
}

const ADMIN = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };
const DRAIN_USER = { username: 'system:serviceaccount:kube-system:node-drainer', groups: ['system:serviceaccounts', 'system:authenticated'] };

let uidCounter = 0;
function uid(): string {
  uidCounter++;
  return `00000000-0000-4000-8000-${String(uidCounter).padStart(12, '0')}`;
}

interface ReviewFields {
  kind: { group: string; version: string; kind: string };
  resource: { group: string; version: string; resource: string };
  subResource?: string;
  name: string;
  namespace?: string;
  operation: 'CREATE' | 'UPDATE';
  userInfo: { username: string; groups: string[] };
  object: unknown;
  oldObject?: unknown;
}

function review(fields: ReviewFields): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: uid(),
      kind: fields.kind,
      resource: fields.resource,
      ...(fields.subResource ? { subResource: fields.subResource } : {}),
      requestKind: fields.kind,
      requestResource: fields.resource,
      name: fields.name,
      ...(fields.namespace ? { namespace: fields.namespace } : {}),
      operation: fields.operation,
      userInfo: fields.userInfo,
      object: fields.object,
      oldObject: fields.oldObject ?? null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: fields.operation === 'CREATE' ? 'CreateOptions' : 'PatchOptions' },
    },
  });
}

/** A Node as the API server stores it: labels, annotations, managed fields, status with images. */
function nodeObject(name: string, unschedulable: boolean): unknown {
  const images = Array.from({ length: 12 }, (_, i) => ({
    names: [`registry.example.com/team/image-${i}@sha256:${'0123456789abcdef'.repeat(4)}`, `registry.example.com/team/image-${i}:v1.${i}.0`],
    sizeBytes: 100_000_000 + i * 1_234_567,
  }));
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      uid: `5f1e2d3c-0000-4000-8000-${name.replace(/\D/g, '').padStart(12, '0').slice(-12)}`,
      resourceVersion: '123456',
      creationTimestamp: '2025-01-01T00:00:00Z',
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'node-role.kubernetes.io/worker': 'true',
        'topology.kubernetes.io/zone': 'zone-a',
      },
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
        'csi.volume.kubernetes.io/nodeid': `{"driver.longhorn.io":"${name}"}`,
      },
      managedFields: [
        { manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: '2025-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:kubernetes.io/hostname': {} } } } },
        { manager: 'kubectl-cordon', operation: 'Update', apiVersion: 'v1', time: '2025-01-02T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:unschedulable': {} } } },
      ],
    },
    spec: { podCIDR: '10.42.1.0/24', podCIDRs: ['10.42.1.0/24'], providerID: `k3s://${name}`, ...(unschedulable ? { unschedulable: true } : {}) },
    status: {
      capacity: { cpu: '16', 'ephemeral-storage': '205026216Ki', memory: '65842860Ki', pods: '110' },
      allocatable: { cpu: '16', 'ephemeral-storage': '199450325324', memory: '65842860Ki', pods: '110' },
      conditions: ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready'].map((type) => ({
        type,
        status: type === 'Ready' ? 'True' : 'False',
        lastHeartbeatTime: '2025-01-02T00:00:00Z',
        lastTransitionTime: '2025-01-01T00:00:00Z',
        reason: type === 'Ready' ? 'KubeletReady' : `KubeletHasNo${type}`,
        message: type === 'Ready' ? 'kubelet is posting ready status' : `kubelet has no ${type.toLowerCase()}`,
      })),
      addresses: [
        { type: 'InternalIP', address: '10.0.0.10' },
        { type: 'Hostname', address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: 'ec2a0a1b2c3d4e5f', systemUUID: 'ec2a0a1b-2c3d-4e5f-0000-000000000000', bootID: '1b2c3d4e-5f00-4000-8000-000000000000',
        kernelVersion: '6.8.0-45-generic', osImage: 'Ubuntu 24.04.1 LTS', containerRuntimeVersion: 'containerd://1.7.21',
        kubeletVersion: 'v1.31.4', kubeProxyVersion: 'v1.31.4', operatingSystem: 'linux', architecture: 'amd64',
      },
      images,
    },
  };
}

/** A `kubectl cordon` of `node` as the API server sends it to the node-cordon webhook. */
/**
 * The URL the API server calls for a webhook target: client-go adds the webhook's `timeoutSeconds` to every call as a
 * query (`?timeout=10s`), so the bench sends it too.
 */
export function admissionUrl(port: number, target: string): string {
  return `https://127.0.0.1:${port}/validate/${target}?timeout=10s`;
}

export function cordonReview(node: string): string {
  return review({
    kind: { group: '', version: 'v1', kind: 'Node' },
    resource: { group: '', version: 'v1', resource: 'nodes' },
    name: node,
    operation: 'UPDATE',
    userInfo: ADMIN,
    object: nodeObject(node, true),
    oldObject: nodeObject(node, false),
  });
}

export function evictionReview(pod: { namespace: string; name: string }): string {
  return review({
    kind: { group: 'policy', version: 'v1', kind: 'Eviction' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    subResource: 'eviction',
    name: pod.name,
    namespace: pod.namespace,
    operation: 'CREATE',
    userInfo: DRAIN_USER,
    object: {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: pod.name, namespace: pod.namespace, creationTimestamp: null },
      deleteOptions: { propagationPolicy: 'Background' },
    },
  });
}

function upgradeReview(annotations: Record<string, string>): string {
  const name = 'hvst-upgrade-bench';
  return review({
    kind: { group: 'harvesterhci.io', version: 'v1beta1', kind: 'Upgrade' },
    resource: { group: 'harvesterhci.io', version: 'v1beta1', resource: 'upgrades' },
    name,
    namespace: 'harvester-system',
    operation: 'CREATE',
    userInfo: ADMIN,
    object: {
      apiVersion: 'harvesterhci.io/v1beta1',
      kind: 'Upgrade',
      metadata: { name, namespace: 'harvester-system', annotations, labels: { 'harvesterhci.io/latestUpgrade': 'true' } },
      spec: { version: 'v1.4.1', image: '', logEnabled: true },
    },
  });
}

// ------------------------------------------------------------------------------------------------ Helm

/** The StatefulSet a synthetic Helm release creates: `<release>-db`, claim template `data`. */
function statefulSetDocument(release: HelmReleaseRef): string {
  return `---
# Source: db/templates/statefulset.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ${release.statefulSet}
  labels:
    app.kubernetes.io/instance: ${release.name}
    app.kubernetes.io/name: db
    app.kubernetes.io/managed-by: Helm
spec:
  replicas: ${release.replicas}
  serviceName: ${release.statefulSet}
  selector:
    matchLabels:
      app.kubernetes.io/instance: ${release.name}
      app.kubernetes.io/name: db
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: ${release.name}
        app.kubernetes.io/name: db
    spec:
      containers:
        - name: db
          image: "docker.io/library/postgres:16.4"
          ports:
            - containerPort: 5432
          volumeMounts:
            - name: data
              mountPath: /var/lib/postgresql/data
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: ["ReadWriteOnce"]
        storageClassName: longhorn
        resources:
          requests:
            storage: "20Gi"
`;
}

function deploymentDocument(release: string, i: number): string {
  const env = Array.from({ length: 12 }, (_, e) => `            - name: SETTING_${e}\n              value: "value-${i}-${e}"`).join('\n');
  return `---
# Source: app/templates/api-${i}.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${release}-api-${i}
  labels:
    app.kubernetes.io/instance: ${release}
    app.kubernetes.io/component: api-${i}
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/instance: ${release}
      app.kubernetes.io/component: api-${i}
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: ${release}
        app.kubernetes.io/component: api-${i}
    spec:
      containers:
        - name: api
          image: "registry.example.com/api:1.2.${i}"
          ports:
            - containerPort: 8080
          env:
${env}
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
---
# Source: app/templates/service-${i}.yaml
apiVersion: v1
kind: Service
metadata:
  name: ${release}-api-${i}
spec:
  selector:
    app.kubernetes.io/instance: ${release}
    app.kubernetes.io/component: api-${i}
  ports:
    - port: 80
      targetPort: 8080
`;
}

/** A Grafana-style dashboard ConfigMap: large embedded JSON, as real charts ship them. */
function dashboardDocument(release: string, i: number, bytes: number): string {
  const panels: string[] = [];
  let length = 0;
  for (let p = 0; length < bytes; p++) {
    const panel = `{"id":${p},"type":"timeseries","title":"Requests ${i}.${p}","targets":[{"expr":"sum(rate(http_requests_total{job=\\"api-${i}\\",code=~\\"5..\\"}[5m])) by (instance)"}],"gridPos":{"h":8,"w":12,"x":${(p % 2) * 12},"y":${p * 8}}}`;
    panels.push(panel);
    length += panel.length + 1;
  }
  return `---
# Source: app/templates/dashboards/dashboard-${i}.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${release}-dashboard-${i}
  labels:
    grafana_dashboard: "1"
data:
  dashboard-${i}.json: |-
    {"title":"API ${i}","panels":[${panels.join(',')}]}
`;
}

/** A rendered manifest of about `bytes`: the release's StatefulSet, then Deployments, Services and dashboards. */
export function helmManifest(release: HelmReleaseRef, bytes: number): string {
  const parts = [statefulSetDocument(release)];
  let length = parts[0]!.length;
  for (let i = 0; length < bytes; i++) {
    const next = i % 2 === 0 ? deploymentDocument(release.name, i) : dashboardDocument(release.name, i, 6_000);
    parts.push(next);
    length += next.length;
  }
  return parts.join('');
}

function splitDocuments(manifest: string): string[] {
  return manifest.split(/^---\n/m).filter((text) => text.trim() !== '');
}

/** The release Secret Helm's storage driver CREATEs for revision 1 (status pending-install). */
export function releaseSecretObject(release: HelmReleaseRef, manifest: string): Record<string, unknown> {
  const record = {
    name: release.name,
    namespace: release.namespace,
    version: 1,
    info: { first_deployed: '2026-01-10T10:00:00Z', last_deployed: '2026-01-10T10:00:00Z', deleted: '', description: 'Initial install underway', status: 'pending-install' },
    chart: {
      metadata: { name: 'app', version: '3.1.4', appVersion: '3.1.4', apiVersion: 'v2', type: 'application' },
      // Helm stores the chart's template sources with the release, base64-encoded: about the manifest's size again.
      templates: splitDocuments(manifest).map((text, i) => ({ name: `templates/part-${i}.yaml`, data: Buffer.from(text).toString('base64') })),
      values: { db: { storage: '20Gi' } },
      files: [],
    },
    config: {},
    manifest,
  };
  // Helm: JSON, gzip at best compression, base64; the Secret API base64-encodes the bytes again.
  const helmEncoded = gzipSync(JSON.stringify(record), { level: zlib.Z_BEST_COMPRESSION }).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: `sh.helm.release.v1.${release.name}.v1`,
      namespace: release.namespace,
      labels: { name: release.name, owner: 'helm', status: 'pending-install', version: '1' },
    },
    type: 'helm.sh/release.v1',
    data: { release: Buffer.from(helmEncoded, 'latin1').toString('base64') },
  };
}

/**
 * A hostile manifest of about `bytes` (2 MiB in the pressure section): the release's StatefulSet, then ConfigMaps
 * whose data are deep flow-style YAML (nested `[`/`{` thousands of levels deep) and anchors whose aliases fan out
 * (each alias level multiplies the expanded size), the shapes that make a YAML parser slow or explode.
 */
export function adversarialManifest(release: HelmReleaseRef, bytes: number): string {
  const parts = [statefulSetDocument(release)];
  let length = parts[0]!.length;
  for (let i = 0; length < bytes; i++) {
    let next: string;
    if (i % 2 === 0) {
      const depth = 5_000;
      next = `---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep-${i}, labels: {nest: ${'['.repeat(depth)}x${']'.repeat(depth)}}}\ndata: {k: ${'{a: '.repeat(depth)}x${'}'.repeat(depth)}}\n`;
    } else {
      const levels = ['a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
      for (let level = 1; level < 12; level++) levels.push(`a${level}: &a${level} [${Array.from({ length: 9 }, () => `*a${level - 1}`).join(', ')}]`);
      next = `---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: laughs-${i}\nlaughs:\n${levels.map((line) => `  ${line}`).join('\n')}\n`;
    }
    parts.push(next);
    length += next.length;
  }
  return parts.join('');
}

/** The release Secret CREATE review of `release` with `manifest` (as the helm-install cases send it). */
export function helmInstallReviewOf(release: HelmReleaseRef, manifest: string): string {
  const object = releaseSecretObject(release, manifest);
  return review({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    name: `sh.helm.release.v1.${release.name}.v1`,
    namespace: release.namespace,
    operation: 'CREATE',
    userInfo: ADMIN,
    object,
  });
}

function helmInstallReview(release: HelmReleaseRef, manifestBytes: number): string {
  const object = releaseSecretObject(release, helmManifest(release, manifestBytes));
  return review({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    name: `sh.helm.release.v1.${release.name}.v1`,
    namespace: release.namespace,
    operation: 'CREATE',
    userInfo: ADMIN,
    object,
  });
}

export const HELM_MANIFEST_SIZES = [
  { label: '100k', bytes: 100 * 1024 },
  { label: '1m', bytes: 1024 * 1024 },
] as const;

export interface CaseOptions {
  /** Include the helm-release cases (when the registry serves that target). */
  readonly helm: boolean;
  /** The release whose install is denied (its PVCs left behind); default: the cluster's first orphaned one. */
  readonly leftoverRelease?: HelmReleaseRef;
}

/** Every case for one synthetic cluster. A case whose object the cluster is too small to have is left out. */
export function buildCases(summary: SyntheticClusterSummary, options: CaseOptions): BenchCase[] {
  const cases: BenchCase[] = [
    { id: 'cordon-allow', target: 'node-cordon', intent: 'allow', description: `cordon of safe node ${summary.safeNode}`, body: cordonReview(summary.safeNode) },
    {
      id: 'cordon-deny',
      target: 'node-cordon',
      intent: 'deny',
      description: `cordon of risky node ${summary.riskyNode} (last replicas and node-local PVs)`,
      body: cordonReview(summary.riskyNode),
    },
  ];
  // A node in the middle of the list: about as many replicas and node-local PVs at every cluster size (the
  // risky node gathers more objects as the cluster grows), so it compares the sizes like for like.
  const typical = summary.nodeNames[Math.floor(summary.nodeNames.length / 2)];
  if (typical !== undefined && typical !== summary.riskyNode && typical !== summary.safeNode) {
    cases.push({ id: 'cordon-typical', target: 'node-cordon', intent: 'deny', description: `cordon of a typical node ${typical}`, body: cordonReview(typical) });
  }
  if (summary.podOnSafeNode) {
    cases.push({
      id: 'eviction-allow',
      target: 'pod-eviction',
      intent: 'allow',
      description: `eviction of ${summary.podOnSafeNode.namespace}/${summary.podOnSafeNode.name} (healthy Longhorn volume)`,
      body: evictionReview(summary.podOnSafeNode),
    });
  }
  if (summary.localPodOnRiskyNode) {
    cases.push({
      id: 'eviction-deny',
      target: 'pod-eviction',
      intent: 'deny',
      description: `eviction of ${summary.localPodOnRiskyNode.namespace}/${summary.localPodOnRiskyNode.name} (node-local PV)`,
      body: evictionReview(summary.localPodOnRiskyNode),
    });
  }
  cases.push(
    {
      id: 'upgrade-allow',
      target: 'upgrade',
      intent: 'allow',
      description: 'Harvester Upgrade CREATE with an admin skip=* override (every check runs, then allowed)',
      body: upgradeReview({ 'volume-guard.io/skip': '*', 'volume-guard.io/skip-reason': 'benchmark: risks reviewed' }),
    },
    { id: 'upgrade-deny', target: 'upgrade', intent: 'deny', description: 'Harvester Upgrade CREATE while at-risk volumes exist', body: upgradeReview({}) },
    {
      id: 'upgrade-deny-harvester-skip',
      target: 'upgrade',
      intent: 'deny',
      description: "Harvester Upgrade CREATE with Harvester's skipSingleReplicaDetachedVol (a tag override: every finding is built)",
      body: upgradeReview({ 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' }),
    },
  );
  const orphaned = options.leftoverRelease ?? summary.orphanedReleases[0];
  const installed = summary.releases[0];
  if (options.helm && orphaned && installed) {
    // A release name nobody used in the namespace: nothing to adopt.
    const fresh: HelmReleaseRef = { namespace: installed.namespace, name: 'bench-fresh', statefulSet: 'bench-fresh-db', replicas: 3 };
    for (const size of HELM_MANIFEST_SIZES) {
      cases.push(
        {
          id: `helm-install-allow-${size.label}`,
          target: 'helm-release',
          intent: 'allow',
          description: `helm install of a new release, ${size.label.toUpperCase()}B manifest`,
          body: helmInstallReview(fresh, size.bytes),
        },
        {
          id: `helm-install-deny-${size.label}`,
          target: 'helm-release',
          intent: 'deny',
          description: `helm install of ${orphaned.namespace}/${orphaned.name} over its left-behind PVCs, ${size.label.toUpperCase()}B manifest`,
          body: helmInstallReview(orphaned, size.bytes),
        },
      );
    }
  }
  return cases;
}

/**
 * The PVCs `helm uninstall` leaves behind for a release of `leftover`'s shape (StatefulSet claims, no owner): the
 * same leftovers at every cluster size, so the helm deny case costs the same everywhere.
 */
export const LEFTOVER_RELEASE = { name: 'bench-leftover', statefulSet: 'bench-leftover-db', replicas: 3 } as const;

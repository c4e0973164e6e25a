// Release Secrets built the way Helm's secret driver builds them, and a DevLake-like rendered manifest.
import { gzipSync, constants } from 'node:zlib';
import { parseManifest, type ParsedManifest } from '../../../src/helm/manifest.ts';
import type { HelmRelease } from '../../../src/helm/release.ts';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { request } from '../../support/admission.ts';

export interface ReleaseFixture {
  name: string;
  namespace: string;
  version: number;
  status: string;
  manifest: string;
  chartName?: string;
  chartVersion?: string;
  /** info.first_deployed; null leaves it out (2026-01-10T10:00:00Z otherwise). */
  firstDeployed?: string | null;
}

/** The JSON Helm marshals for a release (pkg/release.Release), with the fields a real record carries. */
export function releaseJson(release: ReleaseFixture): Record<string, unknown> {
  return {
    name: release.name,
    info: {
      ...(release.firstDeployed === null ? {} : { first_deployed: release.firstDeployed ?? '2026-01-10T10:00:00.000000000Z' }),
      last_deployed: '2026-01-10T10:00:00.000000000Z',
      deleted: '',
      description: release.status === 'pending-install' ? 'Initial install underway' : 'Preparing upgrade',
      status: release.status,
    },
    chart: {
      metadata: {
        name: release.chartName ?? 'devlake',
        version: release.chartVersion ?? '1.0.1-beta9',
        appVersion: 'v1.0.1-beta9',
        apiVersion: 'v2',
        type: 'application',
      },
      lock: null,
      templates: [{ name: 'templates/statefulsets.yaml', data: Buffer.from('kind: StatefulSet').toString('base64') }],
      values: { mysql: { storage: { size: '50Gi' } } },
      schema: null,
      files: [],
    },
    config: { lake: { encryptionSecret: { secret: 'TOP-SECRET-VALUE' } } },
    manifest: release.manifest,
    version: release.version,
    namespace: release.namespace,
  };
}

/** Helm's encodeRelease: JSON, gzip at best compression, standard base64. */
export function helmEncode(json: string | Buffer): string {
  return gzipSync(json, { level: constants.Z_BEST_COMPRESSION }).toString('base64');
}

/** How a Secret's data value travels through the API (and so in an AdmissionReview): base64 of the bytes. */
export function secretApiEncode(helmEncoded: string): string {
  return Buffer.from(helmEncoded, 'latin1').toString('base64');
}

export interface SecretOptions {
  /** The data.release value exactly as it should appear in the request; computed from the release otherwise. */
  data?: string;
  extraLabels?: Record<string, string>;
  labels?: Record<string, string>;
  type?: string;
}

/** A release Secret as request.object carries it in an AdmissionReview. */
export function releaseSecret(release: ReleaseFixture, options: SecretOptions = {}): Record<string, unknown> {
  const data = options.data ?? secretApiEncode(helmEncode(JSON.stringify(releaseJson(release))));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: `sh.helm.release.v1.${release.name}.v${release.version}`,
      namespace: release.namespace,
      labels: options.labels ?? {
        name: release.name,
        owner: 'helm',
        status: release.status,
        version: String(release.version),
        createdAt: '1768039200',
        ...options.extraLabels,
      },
    },
    type: options.type ?? 'helm.sh/release.v1',
    data: { release: data },
  };
}

/**
 * The admission request Helm's write of this release record makes: the pending record's CREATE, or the UPDATE to
 * `uninstalling`.
 */
export function releaseRecordRequest(release: ReleaseFixture): AdmissionRequest {
  return request({
    kind: { group: '', version: 'v1', kind: 'Secret' },
    resource: { group: '', version: 'v1', resource: 'secrets' },
    operation: release.status === 'uninstalling' ? 'UPDATE' : 'CREATE',
    namespace: release.namespace,
    name: `sh.helm.release.v1.${release.name}.v${release.version}`,
    object: releaseSecret(release),
  });
}

/** A DevLake-like manifest as Helm renders it: `---` separators, `# Source:` comments, mixed kinds. */
export function devlakeManifest(options: { release?: string; mysqlTemplate?: string; withLake?: boolean } = {}): string {
  const release = options.release ?? 'devlake';
  const mysqlTemplate = options.mysqlTemplate ?? `${release}-mysql-data`;
  const labels = (indent: string): string =>
    `${indent}app.kubernetes.io/name: devlake\n${indent}app.kubernetes.io/instance: ${release}`;
  const selector = labels('      ');
  const docs = [
    `---
# Source: devlake/templates/secrets.yaml
apiVersion: v1
kind: Secret
metadata:
  name: ${release}-mysql-auth
stringData:
  MYSQL_USER: "merico"
  MYSQL_PASSWORD: "merico"
`,
    `---
# Source: devlake/templates/configmaps.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${release}-config
data:
  MYSQL_DATABASE: "lake"
  TZ: "UTC"
`,
    `---
# Source: devlake/templates/grafana/pvc.yaml
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: ${release}-grafana
  annotations:
    helm.sh/resource-policy: keep
spec:
  accessModes: ["ReadWriteOnce"]
  resources:
    requests:
      storage: "5Gi"
`,
    `---
# Source: devlake/templates/services.yaml
apiVersion: v1
kind: Service
metadata:
  name: ${release}-mysql
spec:
  selector:
    devlakeComponent: mysql
  ports:
    - name: mysql
      port: 3306
`,
    `---
# Source: devlake/templates/statefulsets.yaml
# database statefulset
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ${release}-mysql
  labels:
    app.kubernetes.io/instance: ${release}
spec:
  replicas: 1
  serviceName: ${release}-mysql
  selector:
    matchLabels:
${selector}
  template:
    metadata:
      labels:
${labels('        ')}
        devlakeComponent: mysql
    spec:
      containers:
        - name: mysql
          image: "mysql:8"
          volumeMounts:
            - mountPath: /var/lib/mysql
              name: ${mysqlTemplate}
  volumeClaimTemplates:
    - metadata:
        name: ${mysqlTemplate}
      spec:
        accessModes: ["ReadWriteOnce"]
        resources:
          requests:
            storage: "50Gi"
`,
  ];
  if (options.withLake ?? true) {
    docs.push(`---
# Source: devlake/templates/statefulsets.yaml
# devlake
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ${release}-lake
spec:
  replicas: 1
  serviceName: ${release}-lake
  selector:
    matchLabels:
${selector}
  template:
    spec:
      containers:
        - name: lake
          image: "devlake:v1"
  volumeClaimTemplates:
    - metadata:
        name: ${release}-lake-config
      spec:
        accessModes: ["ReadWriteOnce"]
        resources:
          requests:
            storage: "100Mi"
`);
  }
  return docs.join('');
}

/** A release ConfigMap (HELM_DRIVER=configmap) as request.object carries it: Helm's base64 string as it is. */
export function releaseConfigMap(release: ReleaseFixture, options: Omit<SecretOptions, 'type'> = {}): Record<string, unknown> {
  const secret = releaseSecret(release, options);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: secret.metadata,
    data: { release: options.data ?? helmEncode(JSON.stringify(releaseJson(release))) },
  };
}

/**
 * A chart's StatefulSet as Helm renders it: one claim template `data`; `spec.replicas`, `spec.ordinals.start` and the
 * retention policy only when given (a chart that leaves replicas out leaves the live count alone).
 */
export function statefulSetManifest(
  options: { name?: string; replicas?: number; start?: number; whenDeleted?: string; whenScaled?: string } = {},
): string {
  const name = options.name ?? 'db';
  const replicas = options.replicas !== undefined ? `  replicas: ${options.replicas}\n` : '';
  const start = options.start !== undefined ? `  ordinals:\n    start: ${options.start}\n` : '';
  const retention =
    options.whenDeleted !== undefined || options.whenScaled !== undefined
      ? `  persistentVolumeClaimRetentionPolicy:\n    whenDeleted: ${options.whenDeleted ?? 'Retain'}\n    whenScaled: ${options.whenScaled ?? 'Retain'}\n`
      : '';
  return `---
# Source: ${name}/templates/sts.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ${name}
spec:
${replicas}${start}${retention}  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      containers:
        - name: ${name}
          image: ${name}:1
  volumeClaimTemplates:
    - metadata:
        name: data
`;
}

/** The revision a Helm upgrade or rollback is writing (`pending-<operation>`), as the release checks take it. */
export function pendingRevision(
  text: string,
  options: { name?: string; namespace: string; version: number; operation?: 'upgrade' | 'rollback' },
): { release: HelmRelease; operation: 'upgrade' | 'rollback'; manifest: ParsedManifest } {
  const operation = options.operation ?? 'upgrade';
  const name = options.name ?? 'db';
  const release: HelmRelease = {
    name,
    namespace: options.namespace,
    version: options.version,
    status: `pending-${operation}`,
    manifest: text,
    chartName: name,
    chartVersion: '1',
    labels: {},
  };
  return { release, operation, manifest: parseManifest(text, options.namespace) };
}

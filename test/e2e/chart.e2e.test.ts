// The Helm chart and deploy/ against the real API server of the harness:
// - helm lint --strict, helm template in both TLS modes; every rendered object (and `kubectl kustomize deploy/`)
//   applied with server-side dry-run, after minimal cert-manager (and ServiceMonitor) CRDs are installed;
// - the rendered webhooks equal the validators' declarations (createValidators(defaultConfig()));
// - a real install without cert-manager: certificates kept across upgrades, rotation with both CAs trusted, the
//   webhook wired and failing closed for every pod but volume-guard's own (no self-deadlock);
// - least privilege: the chart's ClusterRole, bound to a test ServiceAccount, is enough for the cluster model to
//   sync with that identity alone, and `kubectl auth can-i` shows it can neither read Secrets nor write anything.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments, stringify } from 'yaml';
import { createValidators } from '../../src/admission/index.ts';
import { expandRules } from '../../src/admission/rules.ts';
import { webhookPath, type WebhookDeclaration } from '../../src/admission/types.ts';
import { selfConditions, type OwnObject } from '../../src/admission/webhooks.ts';
import { everyObjectValues, ownObjectsOf } from '../support/chart-objects.ts';
import { ClusterModel } from '../../src/cluster/model.ts';
import { EVENT_PERMISSIONS, MODEL_PERMISSIONS } from '../../src/cluster/permissions.ts';
import { startClusterModel } from '../../src/cluster/start.ts';
import { defaultConfig, loadConfig } from '../../src/config.ts';
import type { GuardedUpgradeKind } from '../../src/config.ts';
import { createLogger } from '../../src/logging.ts';
import {
  CHART_DIR,
  DEPLOY_DIR,
  chartDefaultConfig,
  deployManifests,
} from '../../scripts/generate-chart.ts';
import { ensureCluster, helm, kubectl, paths, tempFile } from '../harness/cluster.ts';
import { startGuard } from '../harness/guard.ts';
import type { ClusterInfo, CommandResult } from '../harness/cluster.ts';

const NAMESPACE = 'vg-chart-e2e';
const RELEASE = 'vg-chart';
/** Where the real (non-dry-run) install goes; excluded from its own webhooks. */
const INSTALL_NAMESPACE = 'vg-chart-install';
const INSTALL_RELEASE = 'vg-install';
const RBAC_RELEASE = 'vg-rbac';
const EXCLUDED_BY_DEFAULT = ['kube-system', 'kube-node-lease'];

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: any;
}

let cluster: ClusterInfo;

async function must(result: Promise<CommandResult>, what: string): Promise<CommandResult> {
  const done = await result;
  if (done.code !== 0) throw new Error(`${what} failed (exit ${done.code}):\n${done.stderr}${done.stdout}`);
  return done;
}

function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((document) => document.toJS() as K8sObject | null)
    .filter((object): object is K8sObject => object !== null && typeof object === 'object');
}

async function template(args: readonly string[] = [], release = RELEASE, namespace = NAMESPACE): Promise<K8sObject[]> {
  const result = await must(helm(['template', release, CHART_DIR, '--namespace', namespace, ...args]), 'helm template');
  return parseObjects(result.stdout);
}

function one(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((object) => object.kind === kind && (name === undefined || object.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

function kinds(objects: readonly K8sObject[]): string[] {
  return objects.map((object) => object.kind).sort();
}

async function applyFile(name: string, objects: readonly K8sObject[] | string, extra: readonly string[] = []): Promise<CommandResult> {
  const text = typeof objects === 'string' ? objects : objects.map((object) => stringify(object)).join('---\n');
  const file = await tempFile(name, text);
  return kubectl(['apply', '-f', file, ...extra]);
}

/** Server-side dry-run of every object: the API server validates, defaults and admits each without storing it. */
async function dryRun(name: string, objects: readonly K8sObject[] | string): Promise<string[]> {
  const result = await must(applyFile(name, objects, ['--dry-run=server']), `server-side dry-run of ${name}`);
  return result.stdout.trim().split('\n').filter(Boolean);
}

function crd(group: string, kind: string, plural: string, scope: 'Namespaced' | 'Cluster', version: string): K8sObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope,
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
}

/** Just enough of cert-manager and the Prometheus Operator for the API server to accept their objects. */
const TEST_CRDS: K8sObject[] = [
  crd('cert-manager.io', 'Issuer', 'issuers', 'Namespaced', 'v1'),
  crd('cert-manager.io', 'ClusterIssuer', 'clusterissuers', 'Cluster', 'v1'),
  crd('cert-manager.io', 'Certificate', 'certificates', 'Namespaced', 'v1'),
  crd('monitoring.coreos.com', 'ServiceMonitor', 'servicemonitors', 'Namespaced', 'v1'),
];

async function ensureNamespace(name: string): Promise<void> {
  // Kept across runs (created when missing): the files' objects are removed by name, the namespaces reused.
  await must(applyFile(`namespace-${name}.yaml`, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }]), `namespace ${name}`);
}

const declarations = (): WebhookDeclaration[] => createValidators(defaultConfig()).map((validator) => validator.declaration);


/** As the value looks after a YAML round trip (readonly arrays become arrays, undefined stays undefined). */
function plain<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

beforeAll(async () => {
  cluster = await ensureCluster();
  await must(applyFile('chart-test-crds.yaml', TEST_CRDS, ['--server-side', '--force-conflicts']), 'test CRDs');
  await must(
    kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...TEST_CRDS.map((object) => `crd/${object.metadata.name}`)]),
    'waiting for the test CRDs',
  );
  await ensureNamespace(NAMESPACE);
  await ensureNamespace(INSTALL_NAMESPACE);
  await ensureNamespace('volume-guard');
});

describe('helm lint --strict', () => {
  it.each([
    ['cert-manager TLS (default)', []],
    ['generated TLS', ['--set', 'tls.certManager.enabled=false']],
    ['with a ServiceMonitor', ['--set', 'serviceMonitor.enabled=true']],
  ])('passes with %s', async (_label, args) => {
    const result = await helm(['lint', '--strict', CHART_DIR, ...args]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('0 chart(s) failed');
  });

  it.each([
    ['an unknown key', ['--set', 'replicas=3']],
    ['a timeout over 30 s', ['--set', 'webhook.timeoutSeconds=60']],
    ['an unknown config field', ['--set', 'config.admission.prot=9443']],
    ['a misspelt webhook target', ['--set', 'webhook.failurePolicyOverrides.node-cordn=Ignore']],
  ])('fails with %s', async (_label, args) => {
    const result = await helm(['lint', '--strict', CHART_DIR, ...args]);
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('schema');
  });

  // `fail` in a template only logs under lint; install, upgrade and template refuse.
  it.each([
    ['a shutdown longer than the grace period', ['--set', 'config.shutdown.timeoutMs=40000'], 'terminationGracePeriodSeconds'],
    ['TLS files outside the mounted secret', ['--set', 'config.admission.tls.certFile=/tmp/tls.crt'], '/etc/volume-guard/tls/'],
  ])('helm template refuses %s', async (_label, args, reason) => {
    const result = await helm(['template', RELEASE, CHART_DIR, '--namespace', NAMESPACE, ...args]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(reason);
  });
});

describe('helm template, cert-manager TLS (default)', () => {
  let objects: K8sObject[];
  const fullname = `${RELEASE}-volume-guard`;
  beforeAll(async () => {
    objects = await template();
  });

  it('renders exactly the expected objects, all in the release namespace unless cluster-scoped', () => {
    expect(kinds(objects)).toEqual(
      [
        'Certificate',
        'Certificate',
        'ClusterRole',
        'ClusterRole',
        'ClusterRoleBinding',
        'ClusterRoleBinding',
        'ConfigMap',
        'Deployment',
        'Issuer',
        'Issuer',
        'PodDisruptionBudget',
        'Service',
        'ServiceAccount',
        'ValidatingWebhookConfiguration',
        'MutatingWebhookConfiguration',
      ].sort(),
    );
    for (const object of objects) {
      const clusterScoped = ['ClusterRole', 'ClusterRoleBinding', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'].includes(object.kind);
      expect(object.metadata.namespace, `${object.kind} ${object.metadata.name}`).toBe(clusterScoped ? undefined : NAMESPACE);
    }
  });

  it('chains self-signed Issuer -> CA Certificate -> CA Issuer -> serving Certificate for the Service names', () => {
    const selfSigned = one(objects, 'Issuer', `${fullname}-selfsigned`);
    expect(selfSigned.spec).toEqual({ selfSigned: {} });
    const ca = one(objects, 'Certificate', `${fullname}-ca`);
    expect(ca.spec.isCA).toBe(true);
    expect(ca.spec.issuerRef).toMatchObject({ kind: 'Issuer', name: selfSigned.metadata.name });
    const caIssuer = one(objects, 'Issuer', `${fullname}-ca`);
    expect(caIssuer.spec.ca.secretName).toBe(ca.spec.secretName);
    const serving = one(objects, 'Certificate', `${fullname}-serving`);
    expect(serving.spec.isCA).toBeUndefined();
    expect(serving.spec.issuerRef).toMatchObject({ kind: 'Issuer', name: caIssuer.metadata.name });
    const service = one(objects, 'Service');
    expect(serving.spec.dnsNames).toEqual([
      `${service.metadata.name}.${NAMESPACE}.svc`,
      `${service.metadata.name}.${NAMESPACE}.svc.cluster.local`,
    ]);
    expect(serving.spec.usages).toContain('server auth');
    // The Secret cert-manager writes is the one the pods mount.
    const deployment = one(objects, 'Deployment');
    const tlsVolume = deployment.spec.template.spec.volumes.find((volume: any) => volume.name === 'tls');
    expect(tlsVolume.secret.secretName).toBe(serving.spec.secretName);
    const webhook = one(objects, 'ValidatingWebhookConfiguration');
    expect(webhook.metadata.annotations?.['cert-manager.io/inject-ca-from']).toBe(`${NAMESPACE}/${serving.metadata.name}`);
    for (const hook of webhook.webhooks) expect(hook.clientConfig.caBundle).toBeUndefined();
  });

  it('runs two hardened replicas, spread over nodes, behind a PodDisruptionBudget', () => {
    const deployment = one(objects, 'Deployment');
    expect(deployment.spec.replicas).toBe(2);
    // One pod at a time while the anti-affinity is required: a surge pod may find no node (chart-render.test.ts).
    expect(deployment.spec.strategy.rollingUpdate).toEqual({ maxUnavailable: 1, maxSurge: 0 });
    const pod = deployment.spec.template.spec;
    expect(pod.terminationGracePeriodSeconds).toBe(30);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers).toHaveLength(1);
    const container = pod.containers[0];
    expect(container.lifecycle).toBeUndefined(); // graceful shutdown without a preStop hook
    expect(container.args).toEqual(['serve', '--config', '/etc/volume-guard/config.yaml']);
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 10001,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources.limits).toMatchObject({ memory: expect.any(String) });
    expect(container.ports).toEqual([
      { name: 'https', containerPort: 8443, protocol: 'TCP' },
      { name: 'metrics', containerPort: 8080, protocol: 'TCP' },
    ]);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    // /tmp is the only writable place.
    expect(container.volumeMounts.filter((mount: any) => !mount.readOnly).map((mount: any) => mount.mountPath)).toEqual(['/tmp']);

    const podLabels = deployment.spec.template.metadata.labels;
    // Required with two replicas (highAvailability.requiredAntiAffinity; chart-security e2e covers the switch).
    const antiAffinity = pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0];
    expect(antiAffinity.topologyKey).toBe('kubernetes.io/hostname');
    expect(podLabels).toMatchObject(antiAffinity.labelSelector.matchLabels);
    expect(pod.topologySpreadConstraints.map((constraint: any) => constraint.topologyKey)).toEqual([
      'topology.kubernetes.io/zone',
      'kubernetes.io/hostname',
    ]);

    const budget = one(objects, 'PodDisruptionBudget');
    expect(budget.spec.minAvailable).toBe(1);
    expect(podLabels).toMatchObject(budget.spec.selector.matchLabels);
    const service = one(objects, 'Service');
    expect(podLabels).toMatchObject(service.spec.selector);
    expect(service.spec.ports).toEqual([
      { name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' },
      { name: 'metrics', port: 8080, targetPort: 'metrics', protocol: 'TCP' },
    ]);
  });

  it("mounts a config file volume-guard loads, equal to the chart's defaults", async () => {
    const configMap = one(objects, 'ConfigMap');
    const file = await tempFile('chart-config.yaml', configMap.data['config.yaml']);
    const loaded = loadConfig({ file });
    expect(loaded).toEqual(parseYaml(configMap.data['config.yaml']));
    expect(loaded).toEqual(plain(chartDefaultConfig()));
    expect(loaded.shutdown.drainDelayMs).toBe(5000);
    expect(loaded.shutdown.drainDelayMs + loaded.shutdown.timeoutMs).toBeLessThan(30_000);
  });

  it("grants the ServiceAccount exactly the model's list/watch permissions", () => {
    const role = one(objects, 'ClusterRole', `${RELEASE}-volume-guard`);
    expect(role.rules).toEqual(
      MODEL_PERMISSIONS.map((permission) => ({ apiGroups: [permission.apiGroup], resources: [permission.resource], verbs: [...permission.verbs] })),
    );
    // Its only writes, in a role of their own (config.events.enabled): Events for denied requests.
    expect(one(objects, 'ClusterRole', `${RELEASE}-volume-guard-events`).rules).toEqual(
      EVENT_PERMISSIONS.map((permission) => ({ apiGroups: [permission.apiGroup], resources: [permission.resource], verbs: [...permission.verbs] })),
    );
    const binding = one(objects, 'ClusterRoleBinding', `${RELEASE}-volume-guard`);
    const account = one(objects, 'ServiceAccount');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: account.metadata.name, namespace: NAMESPACE }]);
    expect(one(objects, 'Deployment').spec.template.spec.serviceAccountName).toBe(account.metadata.name);
  });
});

describe('helm template, values that change the shape', () => {
  it('drops the PodDisruptionBudget with a single replica (minAvailable 1 would block every drain of its node)', async () => {
    expect(kinds(await template(['--set', 'replicaCount=1']))).not.toContain('PodDisruptionBudget');
    expect(kinds(await template(['--set', 'replicaCount=3']))).toContain('PodDisruptionBudget');
  });

  it('passes env to the container, refuses extra args serve does not take, and a config change rolls the pods', async () => {
    const base = one(await template(), 'Deployment');
    const changed = one(
      await template(['--set', 'env[0].name=EXTRA', '--set-string', 'env[0].value=1', '--set', 'config.log.level=debug']),
      'Deployment',
    );
    const container = changed.spec.template.spec.containers[0];
    expect(container.args).toEqual(['serve', '--config', '/etc/volume-guard/config.yaml']);
    expect(container.env).toContainEqual({ name: 'EXTRA', value: '1' });
    expect(changed.spec.template.metadata.annotations['checksum/config']).not.toBe(base.spec.template.metadata.annotations['checksum/config']);
    // `volume-guard serve --verbose` exits 2 ("unknown option '--verbose'"): every pod would crash-loop.
    await expect(template(['--set', 'extraArgs[0]=--verbose'])).rejects.toThrow(/extraArgs --verbose: volume-guard serve takes no such argument/);
  });
});

describe("the chart's webhooks are the validators' declarations", () => {
  /** Both configurations: the validating declarations in the validating one, the mutating (override-writer) in the other. */
  type MatchOptions = { matchConditions: boolean; service: string; kinds?: readonly GuardedUpgradeKind[]; ownObjects: readonly OwnObject[] };

  /** Every object the chart can render for RELEASE, whatever its toggles (everyObjectValues): what owner-delete skips. */
  let everyOwnObject: Promise<OwnObject[]> | undefined;
  const everyOwnObjectOnce = () =>
    (everyOwnObject ??= Promise.all(
      everyObjectValues().map((values) =>
        template(['--kube-version', '1.30.0', ...Object.entries(values).flatMap(([key, value]) => ['--set-json', `${key}=${JSON.stringify(value)}`])]),
      ),
    ).then((renders) => renders.flatMap((objects) => ownObjectsOf(objects))));

  function expectWebhooksMatch(objects: readonly K8sObject[], declared: readonly WebhookDeclaration[], options: MatchOptions) {
    expectConfigurationMatches(objects, 'ValidatingWebhookConfiguration', declared.filter((declaration) => !declaration.mutating), options);
    expectConfigurationMatches(objects, 'MutatingWebhookConfiguration', declared.filter((declaration) => declaration.mutating), options);
  }

  function expectConfigurationMatches(
    objects: readonly K8sObject[],
    kind: string,
    expected: readonly WebhookDeclaration[],
    options: MatchOptions,
  ) {
    const webhooks = one(objects, kind).webhooks as any[];
    expect(webhooks.map((webhook) => webhook.name)).toEqual(expected.map((declaration) => declaration.name));
    // owner-delete skips every object the chart can render (the chart's volume-guard.ownObjects), the rendered ones among them.
    const ownObjects = options.ownObjects;
    const listed = new Set(ownObjects.map((object) => JSON.stringify(object)));
    for (const object of ownObjectsOf(objects)) expect(listed.has(JSON.stringify(object)), JSON.stringify(object)).toBe(true);
    const self = { namespace: NAMESPACE, deployment: options.service, release: RELEASE, storageNamespaces: defaultConfig().helm.storageNamespaces, ownObjects };
    for (const [index, declaration] of expected.entries()) {
      const webhook = webhooks[index];
      expect(webhook.rules).toEqual(plain(expandRules(declaration.rules, options.kinds ?? defaultConfig().upgrades.kinds)));
      expect(webhook.objectSelector).toEqual(plain(declaration.objectSelector));
      // Workload webhooks also skip volume-guard's own pods or release, owner-delete its own objects (rendered like selfConditions).
      const conditions = [...(declaration.matchConditions ?? []), ...selfConditions(declaration, self)];
      expect(webhook.matchConditions).toEqual(options.matchConditions && conditions.length ? plain(conditions) : undefined);
      expect(webhook).toMatchObject({
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        matchPolicy: 'Equivalent',
        // Without matchConditions the overrides webhook would hold up every node/namespace/PVC write in an outage;
        // the mutating step never gates.
        failurePolicy: declaration.mutating || (!options.matchConditions && declaration.target === 'overrides') ? 'Ignore' : 'Fail',
        timeoutSeconds: 5,
        clientConfig: { service: { name: options.service, namespace: NAMESPACE, path: webhookPath(declaration), port: 443 } },
      });
      expect(webhook.reinvocationPolicy).toBe(declaration.mutating ? 'Never' : undefined);
      if (declaration.workload) {
        // Only workload webhooks exclude namespaces, volume-guard's own among them (it is not `default` here).
        const values = [...EXCLUDED_BY_DEFAULT, NAMESPACE];
        const exclusion = { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values };
        expect(webhook.namespaceSelector).toEqual({
          ...plain(declaration.namespaceSelector ?? {}),
          matchExpressions: [...plain(declaration.namespaceSelector?.matchExpressions ?? []), exclusion],
        });
      } else {
        expect(webhook.namespaceSelector).toEqual(plain(declaration.namespaceSelector));
      }
    }
  }

  it('with default values on Kubernetes >= 1.30 (matchConditions included)', async () => {
    const objects = await template(['--kube-version', '1.30.0']);
    expectWebhooksMatch(objects, declarations(), { matchConditions: true, service: `${RELEASE}-volume-guard`, ownObjects: await everyOwnObjectOnce() });
    expect(declarations().some((declaration) => declaration.matchConditions?.length)).toBe(true);
  });

  // The chart requires 1.28 (kubeVersion), where matchConditions are beta and on by default: always rendered.
  it('on Kubernetes 1.28, with matchConditions (beta, on by default there)', async () => {
    const objects = await template(['--kube-version', '1.28.0']);
    expectWebhooksMatch(objects, declarations(), { matchConditions: true, service: `${RELEASE}-volume-guard`, ownObjects: await everyOwnObjectOnce() });
  });

  it('the upgrade webhook and the config follow config.upgrades.kinds', async () => {
    const kinds: GuardedUpgradeKind[] = [
      { group: 'upgrade.cattle.io', version: 'v1', resource: 'plans', kind: 'Plan', operations: ['CREATE', 'UPDATE'] },
      { group: 'example.io', version: 'v1alpha1', resource: 'rollouts', kind: 'Rollout', operations: ['CREATE'] },
    ];
    const objects = await template(['--set-json', `config.upgrades.kinds=${JSON.stringify(kinds)}`]);
    const configured = { ...defaultConfig(), upgrades: { kinds } };
    expectWebhooksMatch(
      objects,
      createValidators(configured).map((validator) => validator.declaration),
      { matchConditions: true, service: `${RELEASE}-volume-guard`, kinds, ownObjects: await everyOwnObjectOnce() },
    );
    // The new kind reaches volume-guard; the dropped defaults no longer do (the machine webhook's own rules for
    // Cluster API scale-downs aside).
    const resources = one(objects, 'ValidatingWebhookConfiguration')
      .webhooks.filter((webhook: any) => webhook.name !== 'machine.volume-guard.io')
      .flatMap((webhook: any) => webhook.rules.flatMap((rule: any) => rule.resources));
    expect(resources).toContain('rollouts');
    expect(resources).not.toContain('machinedeployments');
    const config = parseYaml(one(objects, 'ConfigMap').data['config.yaml']);
    expect(config.upgrades.kinds).toEqual(kinds);
  });

  it('failurePolicy, timeout and excluded namespaces come from values', async () => {
    const [first] = declarations();
    const objects = await template([
      '--kube-version',
      '1.30.0',
      '--set',
      'webhook.failurePolicy=Ignore',
      '--set',
      `webhook.failurePolicyOverrides.${first!.target}=Fail`,
      '--set',
      'webhook.timeoutSeconds=12',
      '--set-json',
      'webhook.excludeNamespaces=["tenant-infra"]',
    ]);
    for (const webhook of one(objects, 'ValidatingWebhookConfiguration').webhooks) {
      // The overrides webhook is never Ignore where matchConditions narrow it (README, Security).
      expect(webhook.failurePolicy).toBe(webhook.name === first!.name || webhook.name === 'overrides.volume-guard.io' ? 'Fail' : 'Ignore');
      expect(webhook.timeoutSeconds).toBe(12);
      const exclusion = webhook.namespaceSelector?.matchExpressions?.find((expression: any) => expression.key === 'kubernetes.io/metadata.name');
      if (exclusion) expect(exclusion.values).toEqual([...EXCLUDED_BY_DEFAULT, 'tenant-infra', NAMESPACE]);
    }
  });
});

describe('helm template --dry-run=server (lookup sees the cluster), generated TLS (tls.certManager.enabled=false)', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await template(['--dry-run=server', '--set', 'tls.certManager.enabled=false']);
  });

  it('renders a Secret with a CA and a serving certificate for the Service names, and no cert-manager objects', () => {
    expect(objects.filter((object) => object.apiVersion.startsWith('cert-manager.io/'))).toEqual([]);
    const secret = one(objects, 'Secret');
    expect(secret.type).toBe('kubernetes.io/tls');
    const pem = (key: string) => Buffer.from(secret.data[key], 'base64').toString('utf8');
    const ca = new X509Certificate(pem('ca.crt'));
    const serving = new X509Certificate(pem('tls.crt'));
    expect(ca.ca).toBe(true);
    expect(serving.ca).toBe(false);
    expect(serving.verify(ca.publicKey)).toBe(true);
    expect(serving.checkPrivateKey(createPrivateKey(pem('tls.key')))).toBe(true);
    const service = one(objects, 'Service').metadata.name;
    expect(serving.checkHost(`${service}.${NAMESPACE}.svc`)).toBeDefined();
    expect(serving.checkHost(`${service}.${NAMESPACE}.svc.cluster.local`)).toBeDefined();
    expect(new Date(serving.validTo).getTime()).toBeGreaterThan(Date.now() + 5 * 365 * 86_400_000);
    // The pods mount it; the API server trusts its CA.
    const volumes = one(objects, 'Deployment').spec.template.spec.volumes;
    expect(volumes.find((volume: any) => volume.name === 'tls').secret.secretName).toBe(secret.metadata.name);
    const webhook = one(objects, 'ValidatingWebhookConfiguration');
    expect(webhook.metadata.annotations?.['cert-manager.io/inject-ca-from']).toBeUndefined();
    for (const hook of webhook.webhooks) expect(hook.clientConfig.caBundle).toBe(secret.data['ca-bundle.crt']);
    expect(pem('ca-bundle.crt')).toBe(pem('ca.crt'));
  });
});

describe('server-side dry-run against the real API server', () => {
  it.each([
    ['cert-manager TLS', []],
    ['generated TLS', ['--dry-run=server', '--set', 'tls.certManager.enabled=false']],
    ['a ServiceMonitor and a priority class', ['--set', 'serviceMonitor.enabled=true', '--set', 'priorityClassName=system-cluster-critical']],
  ])('accepts every object rendered with %s', async (label, args) => {
    const objects = await template(args);
    const lines = await dryRun(`chart-${label.replace(/\W+/g, '-')}.yaml`, objects);
    expect(lines).toHaveLength(objects.length);
    for (const line of lines) expect(line).toMatch(/ (created|configured|unchanged) \(server dry run\)$/);
    if (args.includes('serviceMonitor.enabled=true')) expect(kinds(objects)).toContain('ServiceMonitor');
  });

  it('deploy/volume-guard.yaml is the chart rendered for namespace volume-guard (npm run generate:chart)', () => {
    expect(readFileSync(join(DEPLOY_DIR, 'volume-guard.yaml'), 'utf8')).toBe(deployManifests(cluster.bin.helm));
  });

  it('accepts every object of `kubectl kustomize deploy/`', async () => {
    const built = await must(kubectl(['kustomize', DEPLOY_DIR]), 'kubectl kustomize deploy/');
    const objects = parseObjects(built.stdout);
    expect(kinds(objects)).toEqual(expect.arrayContaining(['Namespace', 'Deployment', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'Certificate', 'Issuer']));
    for (const object of objects) {
      const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'].includes(object.kind);
      expect(object.metadata.namespace, `${object.kind} ${object.metadata.name}`).toBe(clusterScoped ? undefined : 'volume-guard');
    }
    expect(one(objects, 'ValidatingWebhookConfiguration').metadata.annotations?.['cert-manager.io/inject-ca-from']).toBe('volume-guard/volume-guard-serving');
    const lines = await dryRun('deploy-kustomize.yaml', built.stdout);
    expect(lines).toHaveLength(objects.length);
  });
});

describe('a real install with generated TLS (failurePolicy Fail, no pods run: no scheduler or kubelet here)', () => {
  const webhookName = `${INSTALL_RELEASE}-volume-guard`;
  const secretName = `${INSTALL_RELEASE}-volume-guard-tls`;
  const probePodName = 'vg-chart-probe';

  async function secretData(): Promise<Record<string, string>> {
    const result = await must(kubectl(['get', 'secret', secretName, '-n', INSTALL_NAMESPACE, '-o', 'json']), 'get tls secret');
    return JSON.parse(result.stdout).data;
  }

  /** The caBundle of every webhook, validating and mutating. */
  async function caBundles(): Promise<string[]> {
    const bundles: string[] = [];
    for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']) {
      const result = await must(kubectl(['get', kind, webhookName, '-o', 'json']), `get ${kind}`);
      bundles.push(...JSON.parse(result.stdout).webhooks.map((webhook: any) => webhook.clientConfig.caBundle));
    }
    return bundles;
  }

  const upgrade = (...args: string[]) =>
    must(
      helm(['upgrade', '--install', INSTALL_RELEASE, CHART_DIR, '-n', INSTALL_NAMESPACE, '--set', 'tls.certManager.enabled=false', ...args]),
      'helm upgrade --install',
    );

  async function createProbePod(namespace: string, name = probePodName): Promise<void> {
    // Without kube-controller-manager there is no `default` ServiceAccount: use the chart's.
    await kubectl(['delete', 'pod', name, '-n', namespace, '--ignore-not-found', '--wait=false']);
    await must(
      applyFile(`probe-pod-${namespace}-${name}.yaml`, [
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace },
          spec: { automountServiceAccountToken: false, containers: [{ name: 'probe', image: 'busybox' }] },
        },
      ]),
      `probe pod in ${namespace}`,
    );
  }

  async function evict(namespace: string, name = probePodName): Promise<CommandResult> {
    const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } };
    const file = await tempFile(`eviction-${namespace}-${name}.json`, JSON.stringify(eviction));
    return kubectl(['create', '--raw', `/api/v1/namespaces/${namespace}/pods/${name}/eviction`, '-f', file]);
  }

  beforeAll(async () => {
    await helm(['uninstall', INSTALL_RELEASE, '-n', INSTALL_NAMESPACE, '--wait=false']);
    await kubectl(['delete', 'validatingwebhookconfiguration,mutatingwebhookconfiguration', webhookName, '--ignore-not-found']);
    // The probe pods need a ServiceAccount to exist in their namespaces (ServiceAccount admission).
    for (const namespace of [NAMESPACE, INSTALL_NAMESPACE]) {
      await must(applyFile(`default-sa-${namespace}.yaml`, [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace } }]), 'default SA');
    }
  });

  afterAll(async () => {
    // Never leave a failing-closed webhook behind for the next test file.
    await helm(['uninstall', INSTALL_RELEASE, '-n', INSTALL_NAMESPACE]);
    await kubectl(['delete', 'validatingwebhookconfiguration,mutatingwebhookconfiguration', webhookName, '--ignore-not-found']);
  });

  it('installs, and keeps its certificates across upgrades (lookup)', async () => {
    await upgrade();
    const installed = await secretData();
    const bundles = await caBundles();
    expect(bundles.length).toBe(declarations().length);
    for (const bundle of bundles) expect(bundle).toBe(installed['ca-bundle.crt']);

    await upgrade('--set', 'replicaCount=3');
    const upgraded = await secretData();
    expect(upgraded['tls.crt']).toBe(installed['tls.crt']);
    expect(upgraded['ca.crt']).toBe(installed['ca.crt']);
    expect(await caBundles()).toEqual(bundles);
  });

  it('is called for operations outside its namespace (and fails closed while no pod answers), never inside it', async () => {
    const evictionWebhook = declarations().find((declaration) =>
      expandRules(declaration.rules, defaultConfig().upgrades.kinds).some((rule) => rule.resources.includes('pods/eviction') && rule.operations.includes('CREATE')),
    );
    expect(evictionWebhook, 'a validator declares pods/eviction').toBeDefined();
    await createProbePod(NAMESPACE);
    const refused = await evict(NAMESPACE);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(evictionWebhook!.name);

    // volume-guard's namespace is left out of the workload webhooks (issue 6): its own pods can always be evicted, its
    // release upgraded, even while no volume-guard pod answers; so can any other pod there (the README says to run no
    // workloads in it). In `default` only its own pods and records are skipped, by name (test/unit/chart-render.test.ts).
    await createProbePod(INSTALL_NAMESPACE);
    const other = await evict(INSTALL_NAMESPACE);
    expect(other.code, other.stderr).toBe(0);
    const ownPod = `${webhookName}-7d4b9c8f5-x2k9q`;
    await createProbePod(INSTALL_NAMESPACE, ownPod);
    const evicted = await evict(INSTALL_NAMESPACE, ownPod);
    expect(evicted.code, evicted.stderr).toBe(0);
    await upgrade();
  });

  it('rotates on request, trusting the old and the new CA during the switch', async () => {
    const before = await secretData();
    await upgrade('--set', 'tls.generated.rotate=true');
    const rotated = await secretData();
    expect(rotated['tls.crt']).not.toBe(before['tls.crt']);
    expect(rotated['ca.crt']).not.toBe(before['ca.crt']);
    const bundle = Buffer.from(rotated['ca-bundle.crt']!, 'base64').toString('utf8');
    const certificates = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    expect(certificates.map((pem) => new X509Certificate(pem).fingerprint256)).toEqual([
      new X509Certificate(Buffer.from(rotated['ca.crt']!, 'base64')).fingerprint256,
      new X509Certificate(Buffer.from(before['ca.crt']!, 'base64')).fingerprint256,
    ]);
    const serving = new X509Certificate(Buffer.from(rotated['tls.crt']!, 'base64'));
    expect(serving.verify(new X509Certificate(Buffer.from(rotated['ca.crt']!, 'base64')).publicKey)).toBe(true);
    for (const caBundle of await caBundles()) expect(caBundle).toBe(rotated['ca-bundle.crt']);

    await upgrade('--set', 'tls.generated.rotate=false');
    expect((await secretData())['tls.crt']).toBe(rotated['tls.crt']);
  });

  it('uninstalls cleanly, taking its webhook configuration with it', async () => {
    await must(helm(['uninstall', INSTALL_RELEASE, '-n', INSTALL_NAMESPACE]), 'helm uninstall');
    const gone = await kubectl(['get', 'validatingwebhookconfiguration', webhookName]);
    expect(gone.code).not.toBe(0);
    expect((await kubectl(['get', 'mutatingwebhookconfiguration', webhookName])).code).not.toBe(0);
    await createProbePod(NAMESPACE);
    const evicted = await evict(NAMESPACE);
    expect(evicted.code, evicted.stderr).toBe(0);
  });
});

describe("least privilege: the chart's ClusterRole", () => {
  const serviceAccount = `${RBAC_RELEASE}-volume-guard`;
  const unboundAccount = 'vg-chart-unbound';
  const identity = `system:serviceaccount:${NAMESPACE}:${serviceAccount}`;
  let rbacObjects: K8sObject[];

  async function kubeConfigFor(account: string): Promise<KubeConfig> {
    const token = (await must(kubectl(['create', 'token', account, '-n', NAMESPACE, '--duration', '1h']), 'create token')).stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'harness', server: cluster.server, caFile: cluster.caFile, skipTLSVerify: false }],
      users: [{ name: account, token }],
      contexts: [{ name: 'sa', cluster: 'harness', user: account }],
      currentContext: 'sa',
    });
    return kubeConfig;
  }

  async function syncWith(kubeConfig: KubeConfig, waitMs: number): Promise<{ synced: boolean; model: ClusterModel }> {
    const model = new ClusterModel();
    const running = startClusterModel({ kubeConfig, sink: model, registry: new Registry(), log: createLogger('silent') });
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline && !running.health.synced()) await new Promise((resolve) => setTimeout(resolve, 200));
    const synced = running.health.synced();
    await running.stop();
    return { synced, model };
  }

  async function canI(verb: string, resource: string, ...scope: string[]): Promise<boolean> {
    const result = await kubectl(['auth', 'can-i', verb, resource, `--as=${identity}`, ...scope]);
    const answer = result.stdout.trim();
    if (answer !== 'yes' && answer !== 'no') throw new Error(`can-i ${verb} ${resource}: ${result.stderr}${result.stdout}`);
    return answer === 'yes';
  }

  const resourceName = (permission: { apiGroup: string; resource: string }) =>
    permission.apiGroup ? `${permission.resource}.${permission.apiGroup}` : permission.resource;

  beforeAll(async () => {
    rbacObjects = (await template([], RBAC_RELEASE)).filter((object) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'].includes(object.kind));
    expect(kinds(rbacObjects)).toEqual(['ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'ClusterRoleBinding', 'ServiceAccount']);
    await must(applyFile('rbac-objects.yaml', rbacObjects), 'apply the chart RBAC');
    await must(applyFile('rbac-unbound.yaml', [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: unboundAccount, namespace: NAMESPACE } }]), 'unbound SA');
    await must(
      applyFile('rbac-pvc.yaml', [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'vg-chart-rbac-probe', namespace: NAMESPACE },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ]),
      'probe PVC',
    );
  });

  afterAll(async () => {
    for (const object of rbacObjects ?? []) {
      const target = object.metadata.namespace ? ['-n', object.metadata.namespace] : [];
      await kubectl(['delete', object.kind.toLowerCase(), object.metadata.name, ...target, '--ignore-not-found']);
    }
  });

  it("is enough for volume-guard's cluster model to sync with the ServiceAccount's token alone", async () => {
    const { synced, model } = await syncWith(await kubeConfigFor(serviceAccount), 60_000);
    expect(synced).toBe(true);
    expect(model.persistentVolumeClaim(NAMESPACE, 'vg-chart-rbac-probe')).toBeDefined();
    expect(model.namespace(NAMESPACE)).toBeDefined();
    // The harness installs Longhorn's CRDs: their list/watch is granted too.
    expect(model.longhornInstalled).toBe(true);
  });

  it('is enough for `volume-guard serve` with the chart\'s config to become ready as that ServiceAccount', async () => {
    const kubeConfig = await kubeConfigFor(serviceAccount);
    const kubeconfigFile = await tempFile('chart-rbac.kubeconfig', kubeConfig.exportConfig());
    const configMap = one(await template([], RBAC_RELEASE), 'ConfigMap');
    // The launcher sets ports and TLS files for a local process; everything else is the chart's config file.
    const { admission: _admission, ops: _ops, ...chartConfig } = parseYaml(configMap.data['config.yaml']);
    const logFile = join(paths.dir, 'logs', 'chart-rbac.log');
    const logOffset = existsSync(logFile) ? statSync(logFile).size : 0;
    const guard = await startGuard(cluster, { name: 'chart-rbac', kubeconfig: kubeconfigFile, config: chartConfig });
    try {
      const ready = await fetch(`${guard.opsUrl}/readyz`);
      expect(ready.status).toBe(200);
    } finally {
      expect(await guard.stop()).toBe(0);
    }
    expect(guard.logFile).toBe(logFile);
    expect(readFileSync(logFile).subarray(logOffset).toString('utf8')).not.toMatch(/forbidden/i);
  });

  it('and needed: a ServiceAccount without the binding never syncs', async () => {
    const { synced } = await syncWith(await kubeConfigFor(unboundAccount), 5_000);
    expect(synced).toBe(false);
  });

  it('cannot get, list or watch Secrets, in any namespace', async () => {
    for (const verb of ['get', 'list', 'watch']) {
      expect(await canI(verb, 'secrets', '--all-namespaces'), `${verb} secrets cluster-wide`).toBe(false);
      for (const namespace of ['default', 'kube-system', NAMESPACE]) {
        expect(await canI(verb, 'secrets', '-n', namespace), `${verb} secrets in ${namespace}`).toBe(false);
      }
    }
  });

  it('can list and watch what it models, and neither create, update, patch nor delete any of it', async () => {
    for (const permission of MODEL_PERMISSIONS) {
      const resource = resourceName(permission);
      expect(await canI('list', resource, '--all-namespaces'), `list ${resource}`).toBe(true);
      expect(await canI('watch', resource, '--all-namespaces'), `watch ${resource}`).toBe(true);
      for (const verb of ['create', 'update', 'patch', 'delete', 'deletecollection']) {
        expect(await canI(verb, resource, '--all-namespaces'), `${verb} ${resource}`).toBe(false);
      }
    }
  });

  it('has no other resource permission than list/watch, but create/patch on events (beyond the self-review APIs every user has)', async () => {
    // What `kubectl auth can-i --list` shows, as data: a SelfSubjectRulesReview made as the ServiceAccount.
    const request = { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: NAMESPACE } };
    const file = await tempFile('rules-review.json', JSON.stringify(request));
    const result = await must(kubectl(['create', '-f', file, '--validate=false', `--as=${identity}`, '-o', 'yaml']), 'SelfSubjectRulesReview');
    const review = parseYaml(result.stdout) as { status: { resourceRules: { verbs: string[]; apiGroups?: string[]; resources?: string[] }[] } };
    const selfReviews = ['selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'selfsubjectreviews'];
    const other = review.status.resourceRules.filter((rule) => !(rule.resources ?? []).every((resource) => selfReviews.includes(resource)));
    expect(other.length).toBeGreaterThan(0);
    for (const rule of other) {
      const events = (rule.apiGroups ?? []).every((group) => group === 'events.k8s.io') && (rule.resources ?? []).every((resource) => resource === 'events');
      const allowed = events ? ['create', 'patch'] : ['list', 'watch'];
      expect(rule.verbs.filter((verb) => !allowed.includes(verb)), JSON.stringify(rule)).toEqual([]);
    }
    expect(other.some((rule) => (rule.resources ?? []).includes('events'))).toBe(true);
  });
});

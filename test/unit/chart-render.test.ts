// The chart rendered with `helm template` (findHelm: .cluster/bin/helm, $HELM or helm on PATH; skipped, saying so,
// without one): the webhooks follow every config value, not only the defaults files/webhooks.json was generated
// from. test/e2e/chart.e2e.test.ts renders and applies the chart against a real API server.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { createValidators } from '../../src/admission/index.ts';
import { buildProgram } from '../../src/cli.ts';
import type { OwnObject } from '../../src/admission/webhooks.ts';
import { mutatingWebhookConfiguration, ownObjectKey, ownObjectsCondition, SHARED_NAMESPACES, selfExclusionCondition, webhookConfiguration } from '../../src/admission/webhooks.ts';
import { CONFIG_SCHEMA, loadConfig } from '../../src/config.ts';
import type { Config, GuardedUpgradeKind, SchemaNode } from '../../src/config.ts';
import { CHART_DIR, chartDefaultConfig, DEPLOY_DIR, deployManifests, findHelm } from '../../scripts/generate-chart.ts';
import type { ConfigPlaceholder } from '../../scripts/generate-chart.ts';
import { everyObjectValues, ownObjectsOf } from '../support/chart-objects.ts';
import type { ObjectNames } from '../support/chart-objects.ts';

const RELEASE = 'vg';
const NAMESPACE = 'vg-system';
const FULLNAME = `${RELEASE}-volume-guard`;
const helm = findHelm();
const dir = mkdtempSync(join(tmpdir(), 'vg-chart-render-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: any;
}

let valuesFiles = 0;

/** `helm template` with these values (a values file) and extra arguments. */
function template(values: object = {}, args: readonly string[] = [], release = RELEASE, namespace = NAMESPACE): { code: number | null; objects: K8sObject[]; stderr: string } {
  const file = join(dir, `values-${valuesFiles++}.json`);
  writeFileSync(file, JSON.stringify(values));
  const result = spawnSync(helm ?? 'helm', ['template', release, CHART_DIR, '--namespace', namespace, '--kube-version', '1.30.0', '-f', file, ...args], {
    encoding: 'utf8',
  });
  const objects = result.status === 0 ? parseAllDocuments(result.stdout).map((document) => document.toJS() as K8sObject).filter(Boolean) : [];
  return { code: result.status, objects, stderr: result.stderr };
}

function one(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((object) => object.kind === kind && (name === undefined || object.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

/** The config the rendered ConfigMap gives volume-guard, as it loads it. */
function renderedConfig(objects: readonly K8sObject[]): Config {
  const file = join(dir, `config-${valuesFiles++}.yaml`);
  writeFileSync(file, one(objects, 'ConfigMap', FULLNAME).data['config.yaml']);
  return loadConfig({ file });
}

const everyOwnObjectCache = new Map<string, OwnObject[]>();

/**
 * Every object the chart can render for release RELEASE in `namespace` with these names, whatever its toggles (the
 * union of the renders of everyObjectValues): what the owner-delete webhook skips.
 */
function everyOwnObject(namespace = NAMESPACE, names: ObjectNames = {}): OwnObject[] {
  const key = JSON.stringify([namespace, names]);
  let objects = everyOwnObjectCache.get(key);
  if (objects === undefined) {
    objects = everyObjectValues(names).flatMap((values) => {
      const rendered = template(values, [], RELEASE, namespace);
      if (rendered.code !== 0) throw new Error(rendered.stderr);
      return ownObjectsOf(rendered.objects);
    });
    everyOwnObjectCache.set(key, objects);
  }
  return objects;
}

/**
 * The webhooks volume-guard's validators declare for `config`, as the chart places them (service, exclusions), the
 * owner-delete webhook skipping every object the chart can render in `namespace` (everyOwnObject).
 */
function expectedWebhooks(config: Config, namespace = NAMESPACE, excludeOwnNamespace = true): unknown {
  const configuration = webhookConfiguration(
    createValidators(config).map((validator) => validator.declaration),
    {
      configurationName: FULLNAME,
      client: { service: { name: FULLNAME, namespace, port: 443 } },
      upgradeKinds: config.upgrades.kinds,
      excludeOwnNamespace,
      self: { namespace, deployment: FULLNAME, release: RELEASE, storageNamespaces: config.helm.storageNamespaces, ownObjects: everyOwnObject(namespace) },
    },
  );
  return JSON.parse(JSON.stringify(configuration.webhooks));
}

/** The mutating webhooks volume-guard declares for `config`, as the chart places them. */
function expectedMutatingWebhooks(config: Config, namespace = NAMESPACE): unknown {
  const configuration = mutatingWebhookConfiguration(
    createValidators(config).map((validator) => validator.declaration),
    {
      configurationName: FULLNAME,
      client: { service: { name: FULLNAME, namespace, port: 443 } },
      upgradeKinds: config.upgrades.kinds,
      self: { namespace, deployment: FULLNAME, release: RELEASE, storageNamespaces: config.helm.storageNamespaces, ownObjects: everyOwnObject(namespace) },
    },
  );
  return JSON.parse(JSON.stringify(configuration.webhooks));
}

// ---- a value unlike the default for every config field ----

const OTHER_KINDS: GuardedUpgradeKind[] = [
  { group: 'upgrade.cattle.io', version: 'v1', resource: 'plans', kind: 'Plan', operations: ['CREATE', 'UPDATE'] },
  { group: 'example.io', version: 'v1alpha1', resource: 'rollouts', kind: 'Rollout', operations: ['CREATE'] },
];

/** A valid value other than `value` for this schema node; strings and lists carry a quote and a backslash. */
function unlike(schema: SchemaNode, value: unknown, path: string): unknown {
  if (path === 'upgrades.kinds') return OTHER_KINDS;
  if (schema.enum) return schema.enum.find((option) => option !== value);
  switch (schema.type) {
    case 'boolean':
      return !value;
    case 'integer':
      return schema.maximum !== undefined && (value as number) >= schema.maximum ? (value as number) - 1 : (value as number) + 1;
    case 'string':
      // A namespace name (a pattern): still one, unlike the default.
      if (schema.pattern) return `${value as string}-2`;
      // The chart refuses TLS files outside its mount: an empty one (intermediates) gets the mount's directory.
      if (path === 'admission.tls.caFile' && value === '') return "/etc/volume-guard/tls/o'k\\";
      // The chart takes only the unspecified address for a listen host (any other fails in a pod): the other one.
      if (path === 'admission.host' || path === 'ops.host') return value === '::' ? '0.0.0.0' : '::';
      // Kept as a suffix: a prefix the chart requires (the TLS files' directory) stays.
      return `${value as string}o'k\\`;
    case 'array': {
      const items = value as readonly string[];
      return items.length ? [`${items[0]}o'k\\`, ...items.slice(2)] : ["o'brien", 'back\\slash'];
    }
    default:
      throw new Error(`config.${path}: no other value for schema type ${schema.type}`);
  }
}

/** Every leaf field of the config (objects descended into), with its dotted path. */
function leaves(schema: SchemaNode, prefix = ''): { path: string; schema: SchemaNode }[] {
  return Object.entries(schema.properties ?? {}).flatMap(([key, node]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return node.type === 'object' && node.properties ? leaves(node, path) : [{ path, schema: node }];
  });
}

function at(config: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);
}

function setAt(config: Record<string, any>, path: string, value: unknown): void {
  const keys = path.split('.');
  const parent = keys.slice(0, -1).reduce((node, key) => node[key], config);
  parent[keys.at(-1)!] = value;
}

const LEAVES = leaves(CONFIG_SCHEMA);

/** The chart's default config with these fields (all by default) set unlike their defaults. */
function unlikeDefaults(paths: readonly string[] = LEAVES.map((leaf) => leaf.path)): Config {
  const config = structuredClone(chartDefaultConfig()) as unknown as Record<string, any>;
  for (const { path, schema } of LEAVES.filter((leaf) => paths.includes(leaf.path))) setAt(config, path, unlike(schema, at(config, path), path));
  return config as unknown as Config;
}

const declarationsOf = (config: Config) => JSON.stringify(createValidators(config).map((validator) => validator.declaration));
const placeholders = (JSON.parse(readFileSync(join(CHART_DIR, 'files', 'webhooks.json'), 'utf8')) as { configPlaceholders: ConfigPlaceholder[] })
  .configPlaceholders;

describe('config fields in the webhook declarations', () => {
  // Needs no helm: which fields change what the validators declare, one at a time.
  it.each(LEAVES.map((leaf) => leaf.path))('config.%s reaches the declarations only through what the chart renders from values', (path) => {
    const changes = declarationsOf(unlikeDefaults([path])) !== declarationsOf(chartDefaultConfig());
    const rendered = path === 'upgrades.kinds' || placeholders.some((placeholder) => placeholder.path === path);
    // A field that changes a declaration without a placeholder would be rendered with its default whatever the values say.
    if (changes) expect(rendered, `config.${path} changes the validators' declarations, yet the chart renders its default`).toBe(true);
    else if (path !== 'upgrades.kinds') expect(rendered, `config.${path} has a placeholder but changes no declaration`).toBe(false);
  });
});

describe.skipIf(helm === undefined)('helm template: the webhooks follow the values', () => {
  it('with every config field unlike its default (quotes and backslashes in strings), the webhooks are what the validators declare for that config', () => {
    const values = unlikeDefaults();
    // A client CA file is mounted (and the chart renders one set) only with clientAuth.
    const rendered = template({ config: values, clientAuth: { enabled: true, existingConfigMap: 'api-server-client-ca' } });
    expect(rendered.code, rendered.stderr).toBe(0);
    const config = renderedConfig(rendered.objects);
    expect(config).toEqual(JSON.parse(JSON.stringify(values)));
    expect(one(rendered.objects, 'ValidatingWebhookConfiguration').webhooks).toEqual(expectedWebhooks(config));
  });

  it.each(placeholders.map((placeholder) => placeholder.path))('config.%s alone: the webhooks follow it', (path) => {
    const values = unlikeDefaults([path]);
    const rendered = template({ config: values });
    expect(rendered.code, rendered.stderr).toBe(0);
    expect(one(rendered.objects, 'ValidatingWebhookConfiguration').webhooks).toEqual(expectedWebhooks(renderedConfig(rendered.objects)));
  });

  it('--set config.longhorn.namespace=lh and automationUsers={a:b}: no condition names longhorn-system or the default users', () => {
    const rendered = template({}, ['--set', 'config.longhorn.namespace=lh', '--set', 'config.pvcDelete.automationUsers={a:b}']);
    expect(rendered.code, rendered.stderr).toBe(0);
    const config = renderedConfig(rendered.objects);
    expect(config.longhorn.namespace).toBe('lh');
    const webhooks = one(rendered.objects, 'ValidatingWebhookConfiguration').webhooks;
    expect(webhooks).toEqual(expectedWebhooks(config));
    const conditions = JSON.stringify(webhooks.map((webhook: any) => webhook.matchConditions ?? []));
    expect(conditions).not.toContain('longhorn-system');
    expect(conditions).not.toContain('argocd');
    expect(conditions).toContain("request.name == 'lh'");
    expect(conditions).toContain("'system:serviceaccount:lh:longhorn-service-account'");
    expect(conditions).toContain("request.userInfo.username in ['a:b']");
  });

  it("renders the mutating override-writer step: the override guard's rules and matchConditions, Ignore, Never, on /mutate/", () => {
    // Default values, and every config field unlike its default (a client CA file is rendered only with clientAuth).
    for (const values of [{}, { config: unlikeDefaults(), clientAuth: { enabled: true, existingConfigMap: 'api-server-client-ca' } }]) {
      const rendered = template(values);
      expect(rendered.code, rendered.stderr).toBe(0);
      const config = renderedConfig(rendered.objects);
      const mutating = one(rendered.objects, 'MutatingWebhookConfiguration');
      expect(mutating.metadata.name).toBe(FULLNAME);
      expect((mutating.metadata as { annotations?: Record<string, string> }).annotations?.['cert-manager.io/inject-ca-from']).toBe(`${NAMESPACE}/${FULLNAME}-serving`);
      expect(mutating.webhooks).toEqual(expectedMutatingWebhooks(config));
      const [writer] = mutating.webhooks as Record<string, any>[];
      const guard = webhookNamed(rendered.objects, 'overrides') as unknown as Record<string, any>;
      expect(writer).toMatchObject({ name: 'override-writer.volume-guard.io', failurePolicy: 'Ignore', reinvocationPolicy: 'Never', sideEffects: 'None' });
      expect(writer!.clientConfig.service.path).toBe('/mutate/override-writer');
      for (const field of ['rules', 'matchConditions', 'objectSelector', 'namespaceSelector', 'timeoutSeconds', 'matchPolicy', 'admissionReviewVersions']) {
        expect(writer![field], field).toEqual(guard[field]);
      }
      expect(guard.failurePolicy).toBe('Fail');
      expect(webhooksOf(rendered.objects).map((webhook) => webhook.name)).not.toContain('override-writer.volume-guard.io');
    }
  });

  it('with the default values, the webhooks are the default declarations', () => {
    const rendered = template();
    expect(rendered.code, rendered.stderr).toBe(0);
    expect(one(rendered.objects, 'ValidatingWebhookConfiguration').webhooks).toEqual(expectedWebhooks(chartDefaultConfig()));
    expect(parseYaml(one(rendered.objects, 'ConfigMap', FULLNAME).data['config.yaml'])).toEqual(JSON.parse(JSON.stringify(chartDefaultConfig())));
  });
});

if (helm === undefined) {
  describe('helm template', () => {
    it.skip('needs helm (test/harness/build.sh helm, $HELM or helm on PATH)', () => {});
  });
}

describe.skipIf(helm === undefined)('helm template: the Deployment', () => {
  const deployment = (values: object) => {
    const rendered = template(values);
    expect(rendered.code, rendered.stderr).toBe(0);
    return one(rendered.objects, 'Deployment');
  };
  const ONE_AT_A_TIME = { maxUnavailable: 1, maxSurge: 0 };
  const SURGE_FIRST = { maxUnavailable: 0, maxSurge: 1 };

  const HOST = 'kubernetes.io/hostname';
  const ZONE = 'topology.kubernetes.io/zone';

  // With as many schedulable nodes as replicas, a surge pod under a required anti-affinity finds no node: it would
  // stay Pending and the upgrade never end. The PodDisruptionBudget still covers drains.
  it.each([
    ['the default: two replicas, required anti-affinity', {}, ONE_AT_A_TIME, HOST],
    ['three replicas', { replicaCount: 3 }, ONE_AT_A_TIME, HOST],
    ['a required pod anti-affinity of your own', {
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: ZONE, labelSelector: { matchLabels: { app: 'x' } } }] } },
    }, ONE_AT_A_TIME, ZONE],
    ['highAvailability.requiredAntiAffinity=false', { highAvailability: { requiredAntiAffinity: false } }, SURGE_FIRST, undefined],
    ['one replica', { replicaCount: 1 }, SURGE_FIRST, undefined],
    ['an affinity of your own without required pod anti-affinity', { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] } } }, SURGE_FIRST, undefined],
  ])('rolls out with %s as the scheduler allows', (_label, values, strategy, requiredTopology) => {
    const rendered = deployment(values);
    expect(rendered.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: strategy });
    const required = rendered.spec.template.spec.affinity.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    expect(required?.[0].topologyKey).toBe(requiredTopology);
  });
});

describe.skipIf(helm === undefined)('helm template: the ClusterRoles', () => {
  it("renders volume-guard's read-only role first, before the events role (a reader of the render meets it first)", () => {
    const rendered = template();
    expect(rendered.code, rendered.stderr).toBe(0);
    const roles = rendered.objects.filter((object) => object.kind === 'ClusterRole' || object.kind === 'ClusterRoleBinding').map((object) => `${object.kind} ${object.metadata.name}`);
    expect(roles).toEqual([`ClusterRole ${FULLNAME}`, `ClusterRole ${FULLNAME}-events`, `ClusterRoleBinding ${FULLNAME}`, `ClusterRoleBinding ${FULLNAME}-events`]);
  });
});

describe.skipIf(helm === undefined)('helm template: the audit ClusterRole', () => {
  const role = (auditRole: object) => {
    const rendered = template({ rbac: { auditRole: { create: true, ...auditRole } } });
    expect(rendered.code, rendered.stderr).toBe(0);
    return one(rendered.objects, 'ClusterRole', `${FULLNAME}-audit`);
  };
  const listed = (rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[]) =>
    rules.filter((rule) => rule.apiGroups.includes('')).flatMap((rule) => rule.resources.map((resource) => `${resource}:${rule.verbs.join(',')}`));

  it('reads no release records by default', () => {
    const resources = listed(role({}).rules);
    expect(resources.filter((entry) => entry.startsWith('secrets') || entry.startsWith('configmaps'))).toEqual([]);
  });

  it('lists (only) the reports earlier `-o policyreport` runs left, to empty those whose risks are gone', () => {
    const rules = role({}).rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    const reports = rules.filter((rule) => rule.apiGroups.includes('wgpolicyk8s.io'));
    expect(reports.flatMap((rule) => rule.resources.map((resource) => `${resource}:${rule.verbs.join(',')}`)).sort()).toEqual(['clusterpolicyreports:list', 'policyreports:list']);
  });

  it('with releaseSecrets, lists both Helm drivers\' stores, as `audit --release` does (Secrets, ConfigMaps)', () => {
    expect(listed(role({ releaseSecrets: true }).rules)).toEqual(expect.arrayContaining(['secrets:list', 'configmaps:list']));
  });
});

describe('extraArgs and the options of volume-guard serve', () => {
  // The chart refuses every extraArgs entry (volume-guard.config in templates/_helpers.tpl): serve's options are the
  // one the chart sets and one it must not have. An option added to serve must be let through there.
  it('serve takes --config and --self-signed, nothing else', () => {
    const serve = buildProgram().commands.find((command) => command.name() === 'serve');
    expect(serve?.options.map((option) => option.flags)).toEqual(['-c, --config <file>', '--self-signed']);
    expect(serve?.registeredArguments).toEqual([]);
  });
});

describe.skipIf(helm === undefined)('helm template refuses values that would fail at run time, in one line', () => {
  // Next to the older refusals (shutdown longer than the grace period, TLS files outside the mount).
  it.each([
    ['a shutdown longer than the grace period', { config: { shutdown: { timeoutMs: 40_000 } } }, 'config.shutdown.drainDelayMs + config.shutdown.timeoutMs (45000 ms) must be shorter than terminationGracePeriodSeconds (30 s)'],
    ['the admission port 0', { config: { admission: { port: 0 } } }, "config.admission.port is 0 (any free port): the chart's Service and probes need a fixed port; set one"],
    ['the ops port 0', { config: { ops: { port: 0 } } }, "config.ops.port is 0 (any free port): the chart's Service and probes need a fixed port; set one"],
    ['equal admission and ops ports', { config: { ops: { port: 8443 } } }, 'config.admission.port and config.ops.port are both 8443: the pod would crash-loop (EADDRINUSE); give them different ports'],
    ['a budget as large as the Deployment', { podDisruptionBudget: { minAvailable: 2 } }, 'podDisruptionBudget.minAvailable 2 keeps all 2 replicas: no node running one could ever be drained; set it below replicaCount'],
    ['a budget above it', { replicaCount: 3, podDisruptionBudget: { minAvailable: 5 } }, 'podDisruptionBudget.minAvailable 5 keeps all 3 replicas'],
    ['a budget of 100%', { podDisruptionBudget: { minAvailable: '100%' } }, 'podDisruptionBudget.minAvailable 100% keeps all 2 replicas'],
    ['a percentage rounded up to every replica', { podDisruptionBudget: { minAvailable: '60%' } }, 'podDisruptionBudget.minAvailable 60% keeps all 2 replicas'],
    ['a webhook timeout the API server ends before the Helm manifest deadline', { webhook: { timeoutSeconds: 2 } },
      'webhook.timeoutSeconds 2 is shorter than config.helm.manifestDeadlineMs (2000 ms) + 1 s: the API server would time out before volume-guard refuses a slow Helm release with its reason; set it to 3 or more, or lower the deadline'],
    ['a deadline the default timeout cannot wait for', { config: { helm: { manifestDeadlineMs: 4500 } } }, 'webhook.timeoutSeconds 5 is shorter than config.helm.manifestDeadlineMs (4500 ms) + 1 s'],
    ['alert rules with nothing scraping volume-guard', { prometheusRule: { enabled: true } },
      'prometheusRule.enabled=true needs serviceMonitor.enabled=true: without it nothing scrapes volume-guard and the critical alert VolumeGuardWebhookNotReady fires forever. If you scrape it by other means, set prometheusRule.job to that scrape\'s job label (and honor_labels: true on it)'],
    ['a renewal window as long as the serving certificate', { tls: { certManager: { renewBefore: '2160h' } } },
      'tls.certManager.renewBefore 2160h is not shorter than tls.certManager.duration 2160h: cert-manager refuses the serving Certificate; set renewBefore below duration (the defaults: 720h of 2160h)'],
    ['a renewal window longer than it, in other units', { tls: { certManager: { duration: '1h30m', renewBefore: '5400.5s' } } },
      'tls.certManager.renewBefore 5400.5s is not shorter than tls.certManager.duration 1h30m'],
    // Values that render, start and pass nothing: every admission call (or probe) fails.
    ['an admission server on loopback', { config: { admission: { host: '127.0.0.1' } } },
      'config.admission.host 127.0.0.1 is a loopback address: the API server calls the pod IP and would be refused on every admission; set 0.0.0.0 (:: on IPv6 single-stack)'],
    ['an admission server on IPv6 loopback', { config: { admission: { host: '::1' } } }, 'config.admission.host ::1 is a loopback address'],
    ['an admission server on localhost', { config: { admission: { host: 'localhost' } } }, 'config.admission.host localhost is a loopback address'],
    // In a pod only the unspecified address works: the pod IP is not known when the chart renders, an IP address of
    // anything else fails listen() with EADDRNOTAVAIL and a name resolves to another address (or none): volume-guard
    // exits 2 at start (listenAddressError, src/cli.ts) and every pod crash-loops.
    ['an admission server on a fixed IP address', { config: { admission: { host: '10.0.0.5' } } },
      'config.admission.host 10.0.0.5 is not an address a pod of this chart has (its IP is not known when the chart renders): volume-guard would exit at start (EADDRNOTAVAIL) and every pod crash-loop; set 0.0.0.0 (:: on IPv6 single-stack)'],
    ['an admission server on a host name', { config: { admission: { host: 'volume-guard.example.com' } } }, 'config.admission.host volume-guard.example.com is not an address a pod of this chart has'],
    ['probes on a fixed IP address with opsBindPodIP=false', { opsBindPodIP: false, config: { ops: { host: '192.168.1.20' } } },
      'config.ops.host 192.168.1.20 is not an address a pod of this chart has (its IP is not known when the chart renders): volume-guard would exit at start (EADDRNOTAVAIL) and every pod crash-loop; set 0.0.0.0 (:: on IPv6 single-stack), or opsBindPodIP=true'],
    ['probes on loopback with opsBindPodIP=false', { opsBindPodIP: false, config: { ops: { host: '127.0.0.1' } } },
      "config.ops.host 127.0.0.1 is a loopback address with opsBindPodIP=false: the kubelet's probes reach the pod IP and would fail forever; set config.ops.host=0.0.0.0, or opsBindPodIP=true"],
    ['--self-signed in extraArgs', { extraArgs: ['--verbose', '--self-signed'] },
      "extraArgs holds --self-signed: volume-guard would serve a certificate the webhook's caBundle does not trust and every admission call would fail; remove it (the chart's TLS comes from tls.certManager or tls.generated)"],
    ['--self-signed=true in extraArgs', { extraArgs: ['--self-signed=true'] }, 'extraArgs holds --self-signed'],
    // `volume-guard serve` takes --config (the chart's, mounted from the ConfigMap) and --self-signed only: any other
    // argument makes it exit 2 at start ("unknown option", "too many arguments"), every pod crash-loops, and under
    // failurePolicy Fail every guarded operation in the cluster is refused until the values are fixed.
    ['an option volume-guard serve does not know in extraArgs', { extraArgs: ['--log-level=debug'] },
      "extraArgs --log-level=debug: volume-guard serve takes no such argument and would exit at start, every pod crash-looping (and every guarded operation refused under failurePolicy Fail); remove it: settings go under config:"],
    ['an argument in extraArgs', { extraArgs: ['verbose'] }, 'extraArgs verbose: volume-guard serve takes no such argument and would exit at start'],
    ['a second --config in extraArgs', { extraArgs: ['--config', '/etc/volume-guard/other.yaml'] },
      "extraArgs --config: volume-guard would read another file than the chart's config.yaml, which the webhooks are rendered from (and nothing else is mounted); remove it: settings go under config:"],
    ['-c in extraArgs', { extraArgs: ['-c=/x.yaml'] }, "extraArgs -c=/x.yaml: volume-guard would read another file than the chart's config.yaml"],
    ['--help in extraArgs', { extraArgs: ['--help'] }, 'extraArgs --help: volume-guard serve would print its help and exit'],
    ['a client CA file without clientAuth', { config: { admission: { tls: { clientCaFile: '/etc/volume-guard/client-ca/ca.crt' } } } },
      'config.admission.tls.clientCaFile /etc/volume-guard/client-ca/ca.crt is not mounted without clientAuth.enabled: leave it empty and set clientAuth.enabled=true with clientAuth.caBundle or clientAuth.existingConfigMap'],
    ['intermediates outside the TLS mount', { config: { admission: { tls: { caFile: '/etc/ssl/chain.pem' } } } },
      'config.admission.tls.caFile /etc/ssl/chain.pem is not mounted: the chart mounts only the serving Secret, at /etc/volume-guard/tls/; set it under there (e.g. /etc/volume-guard/tls/ca.crt) or leave it empty'],
    // loadConfig's cross-field rule: volume-guard exits 2 at start, every pod crash-loops.
    ['a body limit above the bytes in flight', { config: { admission: { bodyLimitBytes: 100_000_000 } } },
      'config.admission.bodyLimitBytes 100000000 is above config.admission.maxInflightBodyBytes 67108864: volume-guard would exit at start; raise maxInflightBodyBytes to at least bodyLimitBytes, or lower bodyLimitBytes'],
    // The API server refuses a Service with a port twice (spec.ports[1]: Duplicate value).
    ['the Service port equal to the metrics port', { service: { port: 8080 } },
      "service.port 8080 is config.ops.port too, the Service's metrics port: the API server refuses a Service with a port twice; set another service.port"],
    // cert-manager's ValidateDuration: a Certificate's duration at least 1h, its renewBefore at least 5m.
    ['a serving certificate shorter than cert-manager\'s minimum', { tls: { certManager: { duration: '45m', renewBefore: '10m' } } },
      'tls.certManager.duration 45m is shorter than 1h, the least cert-manager accepts: it refuses the serving Certificate; set 1h or more'],
    ['a renewal window below cert-manager\'s minimum', { tls: { certManager: { renewBefore: '1m' } } },
      'tls.certManager.renewBefore 1m is shorter than 5m, the least cert-manager accepts: it refuses the serving Certificate; set 5m or more'],
    ['a CA certificate shorter than cert-manager\'s minimum', { tls: { certManager: { caDuration: '30m' } } },
      'tls.certManager.caDuration 30m is shorter than 1h, the least cert-manager accepts: it refuses the CA Certificate; set 1h or more'],
    // An environment variable overrides the config file, but the webhooks are rendered from config: they would disagree.
    ['env setting a config field the webhooks are rendered from', { env: [{ name: 'VOLUME_GUARD_PVC_DELETE_AUTOMATION_USERS', value: 'system:serviceaccount:ci:deployer' }] },
      'env VOLUME_GUARD_PVC_DELETE_AUTOMATION_USERS overrides config.pvcDelete.automationUsers unseen by the chart, which renders the webhooks from config:; set config.pvcDelete.automationUsers instead'],
    ['env setting any other config field', { env: [{ name: 'TZ', value: 'UTC' }, { name: 'VOLUME_GUARD_LOG_LEVEL', value: 'debug' }] },
      'env VOLUME_GUARD_LOG_LEVEL overrides config.log.level unseen by the chart, which renders the webhooks from config:; set config.log.level instead'],
    ['env naming no config field', { env: [{ name: 'VOLUME_GUARD_LOGLEVEL', value: 'debug' }] },
      'env VOLUME_GUARD_LOGLEVEL names no config field (volume-guard would exit at start): set it under config: instead'],
  ])('%s', (_label, values, message) => {
    const rendered = template(values);
    expect(rendered.code).not.toBe(0);
    const [line] = rendered.stderr.split('\n');
    expect(line).toMatch(/^Error: execution error at \([^)]+\): /);
    expect(line).toContain(message);
  });

  // Kubernetes' ValidateServiceName: a DNS-1035 label, a lower-case letter first and no dots. Helm release names may
  // start with a digit and hold dots.
  it.each([
    ['vg.prod', 'the Service name vg.prod-volume-guard (from the release name) is no DNS-1035 label (a lower-case letter, then letters, digits and -): set fullnameOverride, e.g. vg-prod-volume-guard'],
    ['1vg', 'the Service name 1vg-volume-guard (from the release name) is no DNS-1035 label (a lower-case letter, then letters, digits and -): set fullnameOverride, e.g. vg-1vg-volume-guard'],
  ])('a release name making no Service name (%s)', (release, message) => {
    const rendered = template({}, [], release);
    expect(rendered.code).not.toBe(0);
    const [line] = rendered.stderr.split('\n');
    expect(line).toMatch(/^Error: execution error at \([^)]+\): /);
    expect(line).toContain(message);
  });

  it("a clientAuth.caBundle that holds no PEM certificate, said as such (not as missing)", () => {
    const rendered = template({ clientAuth: { enabled: true, caBundle: 'LS0tLS1CRUdJTi...' } });
    expect(rendered.code).not.toBe(0);
    const [line] = rendered.stderr.split('\n');
    expect(line).toMatch(/^Error: execution error at \([^)]+\): clientAuth\.caBundle must be a PEM certificate /);
    expect(line).not.toContain('needs clientAuth.caBundle');
    expect(template({ clientAuth: { enabled: true } }).stderr).toContain('clientAuth.enabled=true needs clientAuth.caBundle');
  });

  // Helm deletes a key set to null (`--set config.upgrades.kinds=null`) before it validates, so the schema requires
  // the lists values.yaml sets and the maps holding them (scripts/generate-chart.ts requiringValues): without it the
  // webhooks were rendered without the kinds volume-guard then filled in, or a template met a nil list (a Go
  // nil-pointer error).
  it.each([
    [{ config: { upgrades: { kinds: null } } }, "- at '/config/upgrades': missing property 'kinds'"],
    [{ config: { helm: { storageNamespaces: null } } }, "- at '/config/helm': missing property 'storageNamespaces'"],
    [{ config: { overrides: { allowedGroups: null } } }, "- at '/config/overrides': missing property 'allowedGroups'"],
    [{ config: { overrides: { allowedUsers: null } } }, "- at '/config/overrides': missing property 'allowedUsers'"],
    [{ config: { pvcDelete: { automationUsers: null } } }, "- at '/config/pvcDelete': missing property 'automationUsers'"],
    [{ webhook: { excludeNamespaces: null } }, "- at '/webhook': missing property 'excludeNamespaces'"],
    [{ webhook: { failurePolicyOverrides: { 'node-cordn': 'Ignore' } } }, "- at '/webhook/failurePolicyOverrides': additional properties 'node-cordn' not allowed"],
    // Rendered fine before, then failed in the cluster or did nothing (Helm's validator reads the patterns as Go
    // regular expressions: no lookahead).
    [{ webhook: { excludeNamespaces: ['Team_A'] } }, "- at '/webhook/excludeNamespaces/0': 'Team_A' does not match pattern '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'"],
    [{ config: { longhorn: { namespace: 'longhorn system' } } }, "- at '/config/longhorn/namespace': 'longhorn system' does not match pattern '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'"],
    [{ clusterDomain: 'cluster_local' }, "- at '/clusterDomain': 'cluster_local' does not match pattern '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$'"],
    [{ resources: { limits: { memory: 'lots' } } }, "- at '/resources/limits/memory': 'anyOf' failed"],
    // A misspelt section rendered a pod with no limit (or no request) at all, silently.
    [{ resources: { limit: { memory: '512Mi' } } }, "- at '/resources': additional properties 'limit' not allowed"],
    [{ resources: { requets: { memory: '128Mi' } } }, "- at '/resources': additional properties 'requets' not allowed"],
    // Kubernetes-typed values: the API server drops an unknown field with a warning, so a misspelt one changed the pods
    // silently. A misspelt affinity replaced the chart's required anti-affinity with nothing (both replicas could share
    // a node, one node down took the webhook away); a misspelt toleration key left {operator: Exists}, which tolerates
    // every taint (a cordoned node's too).
    [{ affinity: { podAntiAfinity: { requiredDuringSchedulingIgnoredDuringExecution: [] } } }, "- at '/affinity': additional properties 'podAntiAfinity' not allowed"],
    [{ affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoreDuringExecution: [] } } }, "- at '/affinity/podAntiAffinity': additional properties 'requiredDuringSchedulingIgnoreDuringExecution' not allowed"],
    [{ tolerations: [{ keyy: 'dedicated', operator: 'Exists' }] }, "- at '/tolerations/0': additional properties 'keyy' not allowed"],
    [{ topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelectr: {} }] }, "- at '/topologySpreadConstraints/0': additional properties 'labelSelectr' not allowed"],
    [{ env: [{ name: 'TZ', valeu: 'UTC' }] }, "- at '/env/0': additional properties 'valeu' not allowed"],
    [{ networkPolicy: { admissionFrom: [{ podSelectr: {} }] } }, "- at '/networkPolicy/admissionFrom/0': additional properties 'podSelectr' not allowed"],
    // An upper-case resource (or version, group) matches no request: the upgrade check would be silently bypassed.
    [{ config: { upgrades: { kinds: [{ group: 'upgrade.cattle.io', version: 'v1', resource: 'Plans', kind: 'Plan', operations: ['CREATE'] }] } } },
      "- at '/config/upgrades/kinds/0/resource': 'Plans' does not match pattern '^[a-z]([-a-z0-9]*[a-z0-9])?$'"],
    [{ config: { upgrades: { kinds: [{ group: 'upgrade.cattle.io', version: 'V1', resource: 'plans', kind: 'Plan', operations: ['CREATE'] }] } } },
      "- at '/config/upgrades/kinds/0/version': 'V1' does not match pattern '^[a-z]([-a-z0-9]*[a-z0-9])?$'"],
    [{ config: { upgrades: { kinds: [{ group: 'Upgrade.cattle.io', version: 'v1', resource: 'plans', kind: 'Plan', operations: ['CREATE'] }] } } },
      "- at '/config/upgrades/kinds/0/group': 'Upgrade.cattle.io' does not match pattern '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'"],
    // The selector's labels on the pods would take them out of their Service, budget and anti-affinity; the chart's own
    // labels in commonLabels out of owner-delete's skip of volume-guard's objects.
    [{ podLabels: { 'app.kubernetes.io/name': 'other' } }, "- at '/podLabels/app.kubernetes.io~1name': false schema"],
    [{ podLabels: { 'app.kubernetes.io/instance': 'other' } }, "- at '/podLabels/app.kubernetes.io~1instance': false schema"],
    [{ commonLabels: { 'app.kubernetes.io/part-of': 'platform' } }, "- at '/commonLabels/app.kubernetes.io~1part-of': false schema"],
    [{ podLabels: { team: 'Platform Team' } }, "- at '/podLabels/team': 'Platform Team' does not match pattern '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$'"],
    [{ commonLabels: { team: 'x'.repeat(64) } }, "- at '/commonLabels/team': maxLength: got 64, want 63"],
    [{ commonLabels: { team: 'platform-' } }, "- at '/commonLabels/team': 'platform-' does not match pattern '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$'"],
    // The Service is named so: a DNS-1035 label.
    [{ fullnameOverride: '1vg' }, "- at '/fullnameOverride': '1vg' does not match pattern '^$|^[a-z]([-a-z0-9]*[a-z0-9])?$'"],
    [{ podDisruptionBudget: { minAvailable: 0 } }, "  - at '/podDisruptionBudget/minAvailable': minimum: got 0, want 1"],
    [{ podDisruptionBudget: { minAvailable: '0%' } }, "  - at '/podDisruptionBudget/minAvailable': '0%' does not match pattern '^([1-9][0-9]?|100)%$'"],
  ])('the schema refuses %j: %s', (values, message) => {
    const rendered = template(values);
    expect(rendered.code).not.toBe(0);
    expect(rendered.stderr).toMatch(/^Error: values don't meet the specifications of the schema/);
    expect(rendered.stderr.split('\n')).toContain(message);
    expect(rendered.stderr).not.toContain('nil pointer');
  });

  it('renders with a scalar missing, as `helm upgrade --reuse-values` over a release of an older chart has them', () => {
    // The values of the release installed lack what this chart added since (admission.maxInflightBodyBytes):
    // volume-guard's default applies.
    const rendered = template({ config: { admission: { maxInflightBodyBytes: null }, log: { level: null } } });
    expect(rendered.code, rendered.stderr).toBe(0);
  });

  it("alert rules read the ServiceMonitor's job, or prometheusRule.job when volume-guard is scraped by other means", () => {
    const exprs = (values: object): string[] => {
      const rendered = template(values);
      expect(rendered.code, rendered.stderr).toBe(0);
      const rule = one(rendered.objects, 'PrometheusRule');
      return (rule.spec.groups as { rules: { alert: string; expr: string }[] }[]).flatMap((group) => group.rules).filter((r) => r.alert === 'VolumeGuardWebhookNotReady').map((r) => r.expr);
    };
    expect(exprs({ prometheusRule: { enabled: true }, serviceMonitor: { enabled: true } })).toEqual([`(max(volume_guard_ready{job="${FULLNAME}", namespace="${NAMESPACE}"}) or vector(0)) == 0`]);
    expect(exprs({ prometheusRule: { enabled: true, job: 'kubernetes-pods' } })).toEqual([`(max(volume_guard_ready{job="kubernetes-pods", namespace="${NAMESPACE}"}) or vector(0)) == 0`]);
    // An older release's values without prometheusRule.job (helm upgrade --reuse-values).
    expect(exprs({ prometheusRule: { enabled: true, job: null }, serviceMonitor: { enabled: true } })[0]).toContain(`job="${FULLNAME}"`);
  });

  it('renders with a label of grafanaDashboard.labels removed (null)', () => {
    const rendered = template({ grafanaDashboard: { enabled: true, labels: { grafana_dashboard: null } } });
    expect(rendered.code, rendered.stderr).toBe(0);
  });

  it.each([
    ['a budget below the replicas', { replicaCount: 3, podDisruptionBudget: { minAvailable: 2 } }],
    ['a percentage that leaves one replica free', { podDisruptionBudget: { minAvailable: '50%' } }],
    ['no budget (disabled)', { podDisruptionBudget: { enabled: false, minAvailable: 2 } }],
    ['no budget (one replica)', { replicaCount: 1 }],
    ['the shortest timeout the deadline allows', { webhook: { timeoutSeconds: 3 } }],
    ['a short timeout without manifest workers (no deadline)', { webhook: { timeoutSeconds: 1 }, config: { helm: { manifestWorkers: 0 } } }],
    ['other distinct ports', { config: { admission: { port: 9443 }, ops: { port: 9090 } } }],
    ['the admission server on every IPv6 address', { config: { admission: { host: '::' } } }],
    ['a renewal window just below the duration', { tls: { certManager: { duration: '1h30m', renewBefore: '89m59.5s' } } }],
    ['namespaces, cluster domain, quantities and a budget in the forms Kubernetes takes', {
      webhook: { excludeNamespaces: ['team-a'] }, clusterDomain: 'k8s.example-corp.internal', config: { longhorn: { namespace: 'storage-1' } },
      resources: { requests: { cpu: 0.5, memory: '128Mi' }, limits: { cpu: '1500m', memory: 536870912 } }, podDisruptionBudget: { minAvailable: '50%' },
    }],
    ['a resource claim (Kubernetes ResourceRequirements.claims)', { resources: { claims: [{ name: 'gpu' }] } }],
    ['every field of the Kubernetes-typed values', {
      affinity: {
        nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'role', operator: 'In', values: ['infra'] }] }] }, preferredDuringSchedulingIgnoredDuringExecution: [] },
        podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [], requiredDuringSchedulingIgnoredDuringExecution: [] },
        podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'x' } } }], preferredDuringSchedulingIgnoredDuringExecution: [] },
      },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'infra', effect: 'NoExecute', tolerationSeconds: 30 }],
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'x' } }, minDomains: 2, nodeAffinityPolicy: 'Honor', nodeTaintsPolicy: 'Ignore', matchLabelKeys: ['pod-template-hash'] }],
      env: [{ name: 'TZ', value: 'UTC' }, { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } }],
      networkPolicy: { enabled: true, apiServerCIDRs: ['10.0.0.0/24'], admissionFrom: [{ podSelector: {}, namespaceSelector: {} }, { ipBlock: { cidr: '10.1.0.0/16', except: ['10.1.1.0/24'] } }], metricsFrom: [{ namespaceSelector: { matchLabels: { team: 'obs' } } }] },
    }],
    ['label values Kubernetes takes', { podLabels: { team: 'a.b_c-D9', empty: '' }, commonLabels: { 'example.com/tier': 'x'.repeat(63) } }],
    ['probes on loopback while the ops port binds the pod IP (the default)', { config: { ops: { host: '127.0.0.1' } } }],
    ['probes on every address with opsBindPodIP=false', { opsBindPodIP: false }],
    ['every IPv6 address spelt out, and the ops host ignored while the ops port binds the pod IP', { config: { admission: { host: '0:0:0:0:0:0:0:0' }, ops: { host: '10.0.0.5' } } }],
    ['the ops port on every IPv6 address with opsBindPodIP=false', { opsBindPodIP: false, config: { ops: { host: '::' } } }],
    ['the CA appended to the served chain from the TLS mount', { config: { admission: { tls: { caFile: '/etc/volume-guard/tls/ca.crt' } } } }],
    ['clientAuth (its environment variable names the mounted CA)', { clientAuth: { enabled: true, existingConfigMap: 'api-server-client-ca' } }],
  ])('renders %s', (_label, values) => {
    const rendered = template(values);
    expect(rendered.code, rendered.stderr).toBe(0);
  });
});

describe.skipIf(helm === undefined)('helm template: the PodDisruptionBudget', () => {
  it('lets pods that are Running but not Ready be evicted: a drain never waits on a budget only broken pods hold', () => {
    // Both replicas unready (model never synced, crash loop, a NetworkPolicy cutting them off): with the default
    // IfHealthyBudget every eviction of them is refused (429) and `kubectl drain` of their nodes hangs.
    const rendered = template();
    expect(rendered.code, rendered.stderr).toBe(0);
    expect(one(rendered.objects, 'PodDisruptionBudget').spec).toMatchObject({ minAvailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
  });
});

describe.skipIf(helm === undefined)("helm template: the webhooks skip exactly volume-guard's own pods and release records", () => {
  // The names a prefix also took in: another release `vg.vault` (Helm accepts dotted names), the pods of a
  // StatefulSet `vg-volume-guard-db`. The regular expressions are tested against such names in
  // test/unit/admission/self-exclusion.test.ts; here the chart renders the same ones, for long names too (the API
  // server cuts a pod's generateName to 58 characters). A dotted release needs a fullnameOverride: its Service name
  // must be a DNS-1035 label.
  it.each([
    ['a dotted release name', 'vg.vault', { fullnameOverride: 'vg-vault' }],
    ['a fullname of 46 characters (no pod name is cut)', RELEASE, { fullnameOverride: 'v'.repeat(46) }],
    ['a fullname of 50 characters (the hash may be cut)', `vg.${'a'.repeat(34)}`, { fullnameOverride: `vg-${'a'.repeat(34)}-volume-guard` }],
    ['a fullname of 56 characters', RELEASE, { fullnameOverride: 'v'.repeat(56) }],
    ['a fullname of 57 characters', RELEASE, { fullnameOverride: 'v'.repeat(57) }],
    ['a fullname of 63 characters (the name is cut)', `${'v'.repeat(49)}.www`, { fullnameOverride: 'v'.repeat(63) }],
  ])('with %s', (_label, release, values) => {
    const rendered = template(values, [], release);
    expect(rendered.code, rendered.stderr).toBe(0);
    const deployment = one(rendered.objects, 'Deployment').metadata.name;
    const self = { namespace: NAMESPACE, deployment, release, storageNamespaces: chartDefaultConfig().helm.storageNamespaces };
    const declarations = createValidators(chartDefaultConfig()).map((validator) => validator.declaration);
    const webhooks = one(rendered.objects, 'ValidatingWebhookConfiguration').webhooks as { name: string; matchConditions?: { name: string }[] }[];
    const workloads = declarations.filter((declaration) => declaration.workload);
    expect(workloads.length).toBeGreaterThan(0);
    for (const declaration of workloads) {
      const rendered = webhooks.find((webhook) => webhook.name === declaration.name)!;
      expect(rendered.matchConditions?.find((condition) => condition.name === 'not-volume-guard-itself'), declaration.name).toEqual(
        selfExclusionCondition(declaration.workload!, self),
      );
    }
  });
});

type RenderedWebhook = { name: string; namespaceSelector?: { matchExpressions?: { key: string; values: string[] }[] }; matchConditions?: { name: string; expression: string }[] };
const webhooksOf = (objects: readonly K8sObject[]) => one(objects, 'ValidatingWebhookConfiguration').webhooks as RenderedWebhook[];
const webhookNamed = (objects: readonly K8sObject[], target: string) => webhooksOf(objects).find((webhook) => webhook.name === `${target}.volume-guard.io`)!;
const excludedBy = (webhook: RenderedWebhook) =>
  webhook.namespaceSelector?.matchExpressions?.find((expression) => expression.key === 'kubernetes.io/metadata.name')?.values;
const conditionNamed = (webhook: RenderedWebhook, name: string) => webhook.matchConditions?.find((condition) => condition.name === name)?.expression;
const WORKLOAD_TARGETS = ['pod-eviction', 'pod-delete', 'helm-release'];

describe.skipIf(helm === undefined)("helm template: volume-guard's own namespace", () => {
  it('is left out of the workload webhooks (issue 6: "excluding ... volume-guard\'s own namespace"); the others see it', () => {
    const rendered = template();
    expect(rendered.code, rendered.stderr).toBe(0);
    for (const target of WORKLOAD_TARGETS) expect(excludedBy(webhookNamed(rendered.objects, target)), target).toEqual(['kube-system', 'kube-node-lease', NAMESPACE]);
    for (const target of ['upgrade', 'node-cordon', 'overrides', 'owner-delete', 'statefulset', 'pvc-delete']) {
      expect(webhookNamed(rendered.objects, target).namespaceSelector, target).toBeUndefined();
    }
  });

  it('but not `default` (a helm install without -n): its workloads stay judged, only volume-guard\'s own pods and records are skipped', () => {
    const rendered = template({}, [], RELEASE, 'default');
    expect(rendered.code, rendered.stderr).toBe(0);
    for (const target of WORKLOAD_TARGETS) {
      const webhook = webhookNamed(rendered.objects, target);
      expect(excludedBy(webhook), target).toEqual(['kube-system', 'kube-node-lease']);
      expect(conditionNamed(webhook, 'not-volume-guard-itself'), target).toContain("'default'");
    }
    expect(webhooksOf(rendered.objects)).toEqual(expectedWebhooks(renderedConfig(rendered.objects), 'default'));
  });

  // Harvester's umbrella release records (storage-teardown, the longhorn-manager image checks) are in
  // harvester-system, Longhorn's instance managers in longhorn-system: left out, they would no longer be judged.
  it.each(['harvester-system', 'longhorn-system', 'flux-system', 'cattle-system', 'kube-public', 'cattle-fleet-system', 'argocd'])(
    'nor a namespace other workloads share (%s): only volume-guard\'s own pods and records are skipped there',
    (namespace) => {
      expect(SHARED_NAMESPACES).toContain(namespace);
      const rendered = template({}, [], RELEASE, namespace);
      expect(rendered.code, rendered.stderr).toBe(0);
      for (const target of WORKLOAD_TARGETS) {
        const webhook = webhookNamed(rendered.objects, target);
        expect(excludedBy(webhook), target).toEqual(['kube-system', 'kube-node-lease']);
        expect(conditionNamed(webhook, 'not-volume-guard-itself'), target).toContain(`'${namespace}'`);
      }
      expect(webhooksOf(rendered.objects)).toEqual(expectedWebhooks(renderedConfig(rendered.objects), namespace));
    },
  );

  it('nor with webhook.excludeOwnNamespace=false: there too only its own pods and records are skipped', () => {
    const rendered = template({ webhook: { excludeOwnNamespace: false } });
    expect(rendered.code, rendered.stderr).toBe(0);
    for (const target of WORKLOAD_TARGETS) expect(excludedBy(webhookNamed(rendered.objects, target)), target).toEqual(['kube-system', 'kube-node-lease']);
    expect(webhooksOf(rendered.objects)).toEqual(expectedWebhooks(renderedConfig(rendered.objects), NAMESPACE, false));
    // Unset (values of an older chart reused): left out, as by default.
    const unset = template({}, ['--set', 'webhook.excludeOwnNamespace=null']);
    expect(unset.code, unset.stderr).toBe(0);
    expect(excludedBy(webhookNamed(unset.objects, 'pod-eviction'))).toEqual(['kube-system', 'kube-node-lease', NAMESPACE]);
  });

  it('listed in webhook.excludeNamespaces too: named once', () => {
    const rendered = template({ webhook: { excludeNamespaces: [NAMESPACE, 'team-a'] } });
    expect(rendered.code, rendered.stderr).toBe(0);
    expect(excludedBy(webhookNamed(rendered.objects, 'pod-eviction'))).toEqual(['kube-system', 'kube-node-lease', NAMESPACE, 'team-a']);
  });
});

describe.skipIf(helm === undefined)("helm template: volume-guard's release records kept by Flux (helm.storageNamespaces)", () => {
  // Flux's helm-controller writes a HelmRelease's records to its own namespace (or spec.storageNamespace), not the
  // release namespace: judged there, a volume-guard that is down could not be repaired by Flux (its record's CREATE
  // refused under failurePolicy Fail).
  it('are skipped in every storage namespace, by exact name; the pods only in the release namespace', () => {
    const rendered = template({ config: { helm: { storageNamespaces: ['flux-system', 'team-a'] } } });
    expect(rendered.code, rendered.stderr).toBe(0);
    expect(conditionNamed(webhookNamed(rendered.objects, 'helm-release'), 'not-volume-guard-itself')).toBe(
      "!(request.namespace in ['vg-system', 'flux-system', 'team-a'] && has(request.name) && request.name.matches('^sh\\\\.helm\\\\.release\\\\.v1\\\\.vg\\\\.v[0-9]+$'))",
    );
    expect(conditionNamed(webhookNamed(rendered.objects, 'pod-eviction'), 'not-volume-guard-itself')).toMatch(/^!\(request\.namespace == 'vg-system' && /);
    expect(webhooksOf(rendered.objects)).toEqual(expectedWebhooks(renderedConfig(rendered.objects)));
  });

  it('by default in flux-system; the release namespace listed there too is named once', () => {
    const byDefault = conditionNamed(webhookNamed(template().objects, 'helm-release'), 'not-volume-guard-itself');
    expect(byDefault).toContain("request.namespace in ['vg-system', 'flux-system'] && ");
    const rendered = template({ config: { helm: { storageNamespaces: [NAMESPACE, 'flux-system'] } } });
    expect(conditionNamed(webhookNamed(rendered.objects, 'helm-release'), 'not-volume-guard-itself')).toContain("request.namespace in ['vg-system', 'flux-system'] && ");
  });
});

describe.skipIf(helm === undefined)("helm template: the owner-delete webhook skips volume-guard's own objects", () => {
  // An uninstall by Flux or Argo CD (automation identities): Helm deletes the Service early, and every later DELETE
  // of the chart's objects would go to a webhook nobody serves and fail.
  const EVERYTHING = {
    serviceMonitor: { enabled: true },
    prometheusRule: { enabled: true },
    grafanaDashboard: { enabled: true },
    networkPolicy: { enabled: true, apiServerCIDRs: ['10.0.0.0/24'] },
    clientAuth: { enabled: true, caBundle: '' },
    rbac: { auditRole: { create: true } },
  };

  const CA_BUNDLE = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUTest\n-----END CERTIFICATE-----\n';
  /** The condition volume-guard's source forms for exactly these objects. */
  const expectedCondition = (objects: readonly OwnObject[]) =>
    ownObjectsCondition({ namespace: NAMESPACE, deployment: FULLNAME, release: RELEASE, ownObjects: objects }).expression;
  const skipped = (objects: readonly K8sObject[]) => conditionNamed(webhookNamed(objects, 'owner-delete'), 'not-volume-guard-objects');
  const listed = (objects: readonly K8sObject[]) => [...(/\) in \[([^\]]*)\]/.exec(skipped(objects)!)?.[1] ?? '').matchAll(/'([^']*)'/g)].map((match) => match[1]!);

  it('lists every object the chart can render, by namespace, group, resource and name, and requires the chart\'s labels', () => {
    const rendered = template();
    expect(rendered.code, rendered.stderr).toBe(0);
    const condition = skipped(rendered.objects);
    expect(condition).toBe(expectedCondition(everyOwnObject()));
    expect(condition).toContain("'vg-system/apps/deployments/vg-volume-guard'");
    expect(condition).toContain("'/rbac.authorization.k8s.io/clusterroles/vg-volume-guard'");
    expect(condition).toContain(
      "'app.kubernetes.io/part-of' in oldObject.metadata.labels && oldObject.metadata.labels['app.kubernetes.io/part-of'] == 'volume-guard' && " +
        "'app.kubernetes.io/instance' in oldObject.metadata.labels && oldObject.metadata.labels['app.kubernetes.io/instance'] == 'vg')",
    );
    expect(condition).not.toMatch(/(?<!old)[Oo]bject\.metadata/);
    // Only there: no other webhook skips objects of volume-guard's.
    for (const webhook of webhooksOf(rendered.objects).filter((webhook) => webhook.name !== 'owner-delete.volume-guard.io')) {
      expect(conditionNamed(webhook, 'not-volume-guard-objects'), webhook.name).toBeUndefined();
    }
  });

  // The drift test: whatever the values, the list is every object the templates can render with these names, the
  // rendered ones among them (a template adding an object must add it to volume-guard.ownObjects and its toggle to
  // everyObjectValues; test/support/chart-objects.ts refuses a kind it does not know).
  it.each<[string, object, ObjectNames]>([
    ['every optional object, cert-manager', { ...EVERYTHING, clientAuth: { enabled: true, caBundle: CA_BUNDLE } }, {}],
    ['every optional object, generated TLS', { ...EVERYTHING, clientAuth: { enabled: true, caBundle: CA_BUNDLE }, tls: { certManager: { enabled: false } } }, {}],
    ['the dashboard in another namespace', { grafanaDashboard: { enabled: true, namespace: 'monitoring' } }, { dashboardNamespace: 'monitoring' }],
    ['a client CA of its own ConfigMap', { clientAuth: { enabled: true, existingConfigMap: 'api-server-client-ca' } }, {}],
    [
      'the fewest objects',
      { rbac: { create: false, auditRole: { create: false } }, serviceAccount: { create: false, name: 'vg-sa' }, replicaCount: 1, config: { events: { enabled: false } } },
      { serviceAccountName: 'vg-sa' },
    ],
    [
      'names overridden, events off',
      { fullnameOverride: 'guard', serviceAccount: { name: 'guard-sa' }, config: { events: { enabled: false } } },
      { fullnameOverride: 'guard', serviceAccountName: 'guard-sa' },
    ],
  ])('with %s: the condition lists every object the chart can render, the rendered ones among them', (_label, values, names) => {
    const rendered = template(values);
    expect(rendered.code, rendered.stderr).toBe(0);
    expect(rendered.objects.length).toBeGreaterThan(5);
    expect(skipped(rendered.objects)).toBe(expectedCondition(everyOwnObject(NAMESPACE, names)));
    expect(listed(rendered.objects)).toEqual(expect.arrayContaining(ownObjectsOf(rendered.objects).map(ownObjectKey)));
  });

  // Flux or Argo CD turning an optional object off (networkPolicy.enabled=false, the README's repair of a NetworkPolicy
  // cutting the pods off): Helm updates the webhook configuration, then deletes the object as the automation identity.
  // With volume-guard down, a webhook still called for that DELETE would refuse it under Fail and keep it down.
  it('is the same whatever the toggles: an upgrade turning an object off deletes it unjudged', () => {
    const before = template({ ...EVERYTHING, clientAuth: { enabled: true, caBundle: CA_BUNDLE } });
    const after = template({
      networkPolicy: { enabled: false },
      serviceMonitor: { enabled: false },
      replicaCount: 1,
      rbac: { create: false, auditRole: { create: false } },
      config: { events: { enabled: false } },
      tls: { certManager: { enabled: false } },
    });
    expect(before.code, before.stderr).toBe(0);
    expect(after.code, after.stderr).toBe(0);
    const policy = one(before.objects, 'NetworkPolicy');
    expect(listed(after.objects)).toContain(`${NAMESPACE}/networking.k8s.io/networkpolicies/${policy.metadata.name}`);
    expect(skipped(after.objects)).toBe(skipped(before.objects));
  });

  it.each([true, false])('every object the chart renders carries those labels (cert-manager: %s)', (certManager) => {
    const rendered = template({ ...EVERYTHING, clientAuth: { enabled: true, caBundle: CA_BUNDLE }, tls: { certManager: { enabled: certManager } } });
    expect(rendered.code, rendered.stderr).toBe(0);
    expect(rendered.objects.length).toBeGreaterThan(15);
    for (const object of rendered.objects) {
      const what = `${object.kind} ${object.metadata.name}`;
      expect(object.metadata.labels?.['app.kubernetes.io/part-of'], what).toBe('volume-guard');
      expect(object.metadata.labels?.['app.kubernetes.io/instance'], what).toBe(RELEASE);
      expect([undefined, NAMESPACE], what).toContain(object.metadata.namespace);
    }
  });
});

describe.skipIf(helm === undefined)('helm template: chart-generated TLS without cluster access (issue 6: template in both TLS modes)', () => {
  const pems = (text: string) => text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const decoded = (value: string) => Buffer.from(value, 'base64').toString('utf8');

  it('renders fresh material, as on a first install: a CA, a serving certificate it signed for the Service, the CA as caBundle', () => {
    const rendered = template({ tls: { certManager: { enabled: false } } });
    expect(rendered.code, rendered.stderr).toBe(0);
    const secret = one(rendered.objects, 'Secret', `${FULLNAME}-tls`);
    const ca = new X509Certificate(decoded(secret.data['ca.crt']));
    const serving = new X509Certificate(decoded(secret.data['tls.crt']));
    expect(ca.ca).toBe(true);
    expect(serving.verify(ca.publicKey)).toBe(true);
    expect(serving.subjectAltName).toContain(`DNS:${FULLNAME}.${NAMESPACE}.svc`);
    expect(decoded(secret.data['tls.key'])).toContain('PRIVATE KEY');
    expect(pems(decoded(secret.data['ca-bundle.crt']))).toEqual(pems(decoded(secret.data['ca.crt'])));
    for (const webhook of webhooksOf(rendered.objects) as (RenderedWebhook & { clientConfig: { caBundle: string } })[]) {
      expect(webhook.clientConfig.caBundle, webhook.name).toBe(secret.data['ca-bundle.crt']);
    }
    // The mutating step trusts the same bundle (one render, one CA).
    for (const webhook of one(rendered.objects, 'MutatingWebhookConfiguration').webhooks as { name: string; clientConfig: { caBundle: string } }[]) {
      expect(webhook.clientConfig.caBundle, webhook.name).toBe(secret.data['ca-bundle.crt']);
    }
    expect(rendered.objects.map((object) => object.kind)).not.toContain('Certificate');
  });

  it('mints a new CA on every such render: the caveat for GitOps renderers is in the rendered Secret', () => {
    const file = join(dir, 'generated-tls.json');
    writeFileSync(file, JSON.stringify({ tls: { certManager: { enabled: false } } }));
    const args = ['template', RELEASE, CHART_DIR, '--namespace', NAMESPACE, '--kube-version', '1.30.0', '-f', file, '--show-only', 'templates/certificates.yaml'];
    const [first, second] = [1, 2].map(() => spawnSync(helm ?? 'helm', args, { encoding: 'utf8' }).stdout);
    expect((parseYaml(first!) as K8sObject).data['ca.crt']).not.toBe((parseYaml(second!) as K8sObject).data['ca.crt']);
    expect(first).toContain('# Rendered without cluster access (helm template, Argo CD, helm --dry-run) it is new on every render, with a new CA:');
    expect(first).toContain('# with GitOps use cert-manager (tls.certManager.enabled=true), or render once and keep this output.');
  });
});

describe.skipIf(helm === undefined)('deploy/volume-guard.yaml', () => {
  it('is the chart rendered for deploy/ (npm run generate:chart), its mutating override-writer step included', () => {
    const committed = readFileSync(join(DEPLOY_DIR, 'volume-guard.yaml'), 'utf8');
    expect(committed).toBe(deployManifests(helm!));
    const objects = parseAllDocuments(committed).map((document) => document.toJS() as K8sObject).filter(Boolean);
    const mutating = one(objects, 'MutatingWebhookConfiguration');
    expect(mutating.webhooks.map((webhook: any) => [webhook.name, webhook.clientConfig.service.path, webhook.failurePolicy, webhook.reinvocationPolicy])).toEqual([
      ['override-writer.volume-guard.io', '/mutate/override-writer', 'Ignore', 'Never'],
    ]);
    const guard = one(objects, 'ValidatingWebhookConfiguration').webhooks.find((webhook: any) => webhook.name === 'overrides.volume-guard.io');
    expect(mutating.webhooks[0].rules).toEqual(guard.rules);
    expect(mutating.webhooks[0].matchConditions).toEqual(guard.matchConditions);
  });
});

describe.skipIf(helm === undefined)('helm template: the NetworkPolicy', () => {
  const policy = (values: object) => {
    const rendered = template({ networkPolicy: { enabled: true, apiServerCIDRs: ['10.0.0.0/24'], ...values } });
    expect(rendered.code, rendered.stderr).toBe(0);
    return one(rendered.objects, 'NetworkPolicy');
  };

  // volume-guard dials $KUBERNETES_SERVICE_HOST, an address: it resolves no names, so DNS is not let out by default.
  it('lets the pods reach the API server only', () => {
    expect(policy({}).spec.egress).toEqual([
      { ports: [{ port: 443, protocol: 'TCP' }, { port: 6443, protocol: 'TCP' }], to: [{ ipBlock: { cidr: '10.0.0.0/24' } }] },
    ]);
  });

  it('and kube-dns with egress.dns (where $KUBERNETES_SERVICE_HOST names a host)', () => {
    const [, dns] = policy({ egress: { dns: true } }).spec.egress;
    expect(dns.ports).toEqual([{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }]);
    expect(dns.to[0].podSelector.matchLabels).toEqual({ 'k8s-app': 'kube-dns' });
  });
});

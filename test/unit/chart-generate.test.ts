// The chart's generated files follow the source: regenerate in memory and compare with what is committed.
// (deploy/ needs helm and is checked in test/e2e/chart.e2e.test.ts.)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createValidators } from '../../src/admission/index.ts';
import { MODEL_PERMISSIONS } from '../../src/cluster/permissions.ts';
import { defaultConfig, loadConfig, upgradeKindVersions } from '../../src/config.ts';
import type { GuardedUpgradeKind } from '../../src/config.ts';
import {
  CHART_CONFIG_OVERRIDES,
  CHART_DIR,
  chartDefaultConfig,
  chartOutputs,
  chartWebhooks,
  expandRules,
  fillPlaceholders,
} from '../../scripts/generate-chart.ts';
import type { ConfigPlaceholder } from '../../scripts/generate-chart.ts';

const read = (path: string) => readFileSync(path, 'utf8');

describe('generated chart files', () => {
  for (const output of chartOutputs()) {
    const name = output.path.slice(CHART_DIR.length + 1);
    it(`${name} is up to date (npm run generate:chart)`, () => {
      expect(read(output.path)).toBe(output.content);
    });
  }
});

describe('files/webhooks.json', () => {
  const file = JSON.parse(read(join(CHART_DIR, 'files', 'webhooks.json'))) as { configPlaceholders: ConfigPlaceholder[]; webhooks: any[] };

  it('has one webhook per validator, with its declaration unchanged once the chart renders its rules and config values', () => {
    const config = defaultConfig();
    const declarations = createValidators(config).map((validator) => validator.declaration);
    expect(file.webhooks.map((webhook) => webhook.name)).toEqual(declarations.map((declaration) => declaration.name));
    const filled = fillPlaceholders(file.webhooks, file.configPlaceholders, config);
    for (const [index, declaration] of declarations.entries()) {
      const webhook = filled[index]!;
      expect(webhook.target).toBe(declaration.target);
      expect(webhook.path).toBe(`${declaration.mutating ? '/mutate/' : '/validate/'}${declaration.target}`);
      expect(webhook.mutating).toBe(declaration.mutating);
      // The upgrade kinds stay the declaration's symbolic entry: the generator copies the rules as declared.
      expect(webhook.rules).toEqual(declaration.rules);
      expect(expandRules(webhook.rules, config.upgrades.kinds)).toEqual(expandRules(declaration.rules, config.upgrades.kinds));
      expect(webhook.objectSelector).toEqual(declaration.objectSelector);
      expect(webhook.namespaceSelector).toEqual(declaration.namespaceSelector);
      expect(webhook.matchConditions ?? []).toEqual(declaration.matchConditions ?? []);
    }
  });

  it('holds a token, not the default, for each config value in a matchCondition', () => {
    expect(file.configPlaceholders.map((placeholder) => placeholder.path).sort()).toEqual(
      ['longhorn.namespace', 'longhorn.serviceAccount', 'pvcDelete.automationGroups', 'pvcDelete.automationUsers', 'pvcDelete.others'].sort(),
    );
    const conditions = JSON.stringify(file.webhooks.map((webhook) => webhook.matchConditions ?? []));
    for (const placeholder of file.configPlaceholders) expect(conditions).toContain(placeholder.token);
    expect(conditions).not.toContain(`'${defaultConfig().longhorn.namespace}'`);
    expect(conditions).not.toContain(defaultConfig().pvcDelete.automationUsers[0]);
    // Nowhere else: the template fills matchConditions only.
    const rest = JSON.stringify(file.webhooks.map(({ matchConditions: _conditions, ...webhook }) => webhook));
    expect(rest).not.toContain('__VG_CONFIG_');
  });

  it('filled with other values (quotes, backslashes, empty lists), is what the validators declare for them', () => {
    const other = structuredClone(defaultConfig()) as any;
    other.longhorn.namespace = "it's";
    other.longhorn.serviceAccount = 'back\\slash';
    other.pvcDelete.automationUsers = [];
    other.pvcDelete.automationGroups = ["o'brien", 'a\\b', '__VG_CONFIG_longhorn.namespace__'];
    other.pvcDelete.others = 'enforce';
    expect(fillPlaceholders(file.webhooks, file.configPlaceholders, other)).toEqual(JSON.parse(JSON.stringify(chartWebhooks(other))));
  });

  it('names are unique, fully qualified, and targets are URL-safe', () => {
    const names = file.webhooks.map((webhook) => webhook.name as string);
    expect(new Set(names).size).toBe(names.length);
    for (const webhook of file.webhooks) {
      expect(webhook.name).toMatch(/^[a-z0-9-]+(\.[a-z0-9-]+){2,}$/);
      expect(webhook.target).toMatch(/^[a-z0-9][a-z0-9-]*$/);
    }
  });

  it('marks webhooks on namespaced resources (the chart adds the namespace exclusion only to those)', () => {
    const declarations = createValidators(defaultConfig()).map((validator) => validator.declaration);
    for (const [index, webhook] of file.webhooks.entries()) {
      const clusterOnly = expandRules(declarations[index]!.rules, defaultConfig().upgrades.kinds).every((rule) => rule.scope === 'Cluster');
      expect(webhook.namespaced).toBe(!clusterOnly);
    }
  });

  it('renders the rules derived from config.upgrades.kinds from the values, not as fixed rules', () => {
    const placeholders = file.webhooks.flatMap((webhook) => webhook.rules.filter((rule: object) => 'upgradeKinds' in rule));
    expect(placeholders.length).toBeGreaterThan(0);
    const fixedRules = file.webhooks.flatMap((webhook) => webhook.rules.filter((rule: object) => !('upgradeKinds' in rule)));
    for (const kind of defaultConfig().upgrades.kinds) {
      // (The machine webhook's fixed rules name every version of Cluster API's sets for scale-downs.)
      expect(
        fixedRules.some((rule) => rule.resources.includes(kind.resource) && rule.apiGroups.includes(kind.group) && upgradeKindVersions(kind).some((version) => rule.apiVersions.includes(version))),
      ).toBe(false);
    }
  });

  it.each([
    ['other kinds with their own operations', [
      { group: 'example.io', version: 'v1', resource: 'rollouts', kind: 'Rollout', operations: ['CREATE'] },
      { group: 'upgrade.cattle.io', version: 'v1', resource: 'plans', kind: 'Plan', operations: ['UPDATE', 'DELETE'] },
    ]],
    ['a single kind', [{ group: 'harvesterhci.io', version: 'v1beta1', resource: 'upgrades', kind: 'Upgrade', operations: ['CREATE'] }]],
    ['no kind at all', []],
  ] as [string, GuardedUpgradeKind[]][])('with %s in values, the chart renders what the validators would declare', (_label, kinds) => {
    const configured = { ...defaultConfig(), upgrades: { kinds } };
    const declarations = createValidators(configured).map((validator) => validator.declaration);
    for (const [index, webhook] of file.webhooks.entries()) {
      expect(expandRules(webhook.rules, kinds), webhook.name).toEqual(expandRules(declarations[index]!.rules, kinds));
    }
  });
});

describe('files/rbac.json', () => {
  const rules = (JSON.parse(read(join(CHART_DIR, 'files', 'rbac.json'))) as { rules: any[] }).rules;

  it('is exactly the model permission list', () => {
    expect(rules).toEqual(MODEL_PERMISSIONS.map((permission) => ({ ...permission, verbs: [...permission.verbs] })));
  });

  it('reads only: list and watch, no Secrets, no wildcards', () => {
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(['list', 'watch']).toEqual(expect.arrayContaining(rule.verbs));
      expect(rule.verbs.every((verb: string) => verb === 'list' || verb === 'watch')).toBe(true);
      expect(rule.resource).not.toMatch(/secret/i);
      expect(rule.resource).not.toContain('*');
      expect(rule.apiGroup).not.toContain('*');
    }
  });
});

describe('values.yaml config block', () => {
  const values = parseYaml(read(join(CHART_DIR, 'values.yaml'))) as { config: unknown };

  it("is volume-guard's defaults plus the chart's documented overrides", () => {
    expect(values.config).toEqual(chartDefaultConfig());
    expect((values.config as any).shutdown.drainDelayMs).toBe(CHART_CONFIG_OVERRIDES.shutdown.drainDelayMs);
  });

  it('loads with loadConfig as the ConfigMap the chart renders from it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chart-config-'));
    try {
      const file = join(dir, 'config.yaml');
      // The ConfigMap is `toYaml .Values.config`: the same data (JSON is YAML).
      writeFileSync(file, JSON.stringify(values.config));
      expect(loadConfig({ file })).toEqual(values.config);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('mounts the serving certificate where the config reads it', () => {
    const tls = (values.config as any).admission.tls;
    expect(tls.certFile).toBe('/etc/volume-guard/tls/tls.crt');
    expect(tls.keyFile).toBe('/etc/volume-guard/tls/tls.key');
  });
});

describe('values.schema.json', () => {
  const schema = JSON.parse(read(join(CHART_DIR, 'values.schema.json')));
  const values = parseYaml(read(join(CHART_DIR, 'values.yaml')));
  const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
  /** `source` merged into `target`, maps key by key, lists and scalars replaced (as Helm merges values files). */
  const mergeInto = (target: any, source: any) => {
    for (const [key, value] of Object.entries(source)) {
      if (value && typeof value === 'object' && !Array.isArray(value) && target[key] && typeof target[key] === 'object') {
        mergeInto(target[key], value);
      } else {
        target[key] = value;
      }
    }
  };

  it('accepts the default values', () => {
    expect(validate(values), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each([
    ['namespaces and a cluster domain with dashes and dots', { webhook: { excludeNamespaces: ['team-a', 'x1'] }, clusterDomain: 'k8s.example-corp.internal', config: { longhorn: { namespace: 'storage-1' } } }],
    ['quantities in every form Kubernetes reads', { resources: { requests: { cpu: 0.5, memory: '128Mi', 'ephemeral-storage': '1G' }, limits: { cpu: '1500m', memory: 536870912, 'nvidia.com/gpu': 1 } } }],
    ['a decimal exponent and a bare number as text', { resources: { limits: { memory: '1e9', cpu: '2' } } }],
    ['a budget of 1', { podDisruptionBudget: { minAvailable: 1 } }],
    ['a budget of 50%', { podDisruptionBudget: { minAvailable: '50%' } }],
    ['an upgrade kind with the one version of values written before versions', { config: { upgrades: { kinds: [{ group: 'example.io', version: 'v1', resource: 'rollouts', kind: 'Rollout', operations: ['CREATE'] }] } } }],
  ])('accepts %s', (_label, patch) => {
    const merged = structuredClone(values);
    mergeInto(merged, patch);
    expect(validate(merged), JSON.stringify(validate.errors)).toBe(true);
  });

  it('accepts a failurePolicy override for each validating webhook target, but never Ignore for the overrides webhook', () => {
    const declarations = createValidators(defaultConfig()).map((validator) => validator.declaration);
    const targets = declarations.filter((declaration) => !declaration.mutating).map((declaration) => declaration.target);
    const merged = structuredClone(values);
    merged.webhook.failurePolicyOverrides = Object.fromEntries(targets.map((target) => [target, target === 'overrides' ? 'Fail' : 'Ignore']));
    expect(validate(merged), JSON.stringify(validate.errors)).toBe(true);
    merged.webhook.failurePolicyOverrides = { overrides: 'Ignore' };
    expect(validate(merged)).toBe(false);
    // The mutating step is always Ignore: no policy of its own to set.
    expect(declarations.filter((declaration) => declaration.mutating).map((declaration) => declaration.target)).toEqual(['override-writer']);
    merged.webhook.failurePolicyOverrides = { 'override-writer': 'Fail' };
    expect(validate(merged)).toBe(false);
  });

  it.each([
    ['an unknown top-level key', { replicas: 3 }],
    ['an unknown key in a section', { tls: { certManager: { enable: true } } }],
    ['an unknown config field', { config: { admission: { prot: 9443 } } }],
    ['a bad check mode', { config: { checks: { 'orphan-pvc': { mode: 'audit' } } } }],
    ['a failurePolicy Kubernetes does not know', { webhook: { failurePolicy: 'Deny' } }],
    ['a timeout over 30 s', { webhook: { timeoutSeconds: 31 } }],
    ['a failurePolicy override for a webhook that does not exist', { webhook: { failurePolicyOverrides: { 'node-cordn': 'Ignore' } } }],
    // Rendered fine, then failed or did nothing in the cluster.
    ['an excluded namespace that is no namespace name', { webhook: { excludeNamespaces: ['Team_A'] } }],
    ['an excluded namespace of 64 characters', { webhook: { excludeNamespaces: ['n'.repeat(64)] } }],
    ['a Longhorn namespace that is no namespace name', { config: { longhorn: { namespace: 'longhorn system' } } }],
    ['a cluster domain that is no DNS name', { clusterDomain: 'cluster_local' }],
    ['a cluster domain with a trailing dot', { clusterDomain: 'cluster.local.' }],
    ['a memory limit that is no quantity', { resources: { limits: { memory: 'lots' } } }],
    ['a CPU request that is no quantity', { resources: { requests: { cpu: '50 m' } } }],
    ['a negative quantity', { resources: { requests: { memory: -1 } } }],
    ['a budget of 0', { podDisruptionBudget: { minAvailable: 0 } }],
    ['a budget of 0%', { podDisruptionBudget: { minAvailable: '0%' } }],
    ['a budget over 100%', { podDisruptionBudget: { minAvailable: '101%' } }],
    // volume-guard refuses both at startup: the webhook's rules would render from one of them.
    ['an upgrade kind with both version and versions', { config: { upgrades: { kinds: [{ group: 'example.io', version: 'v1', versions: ['v2', 'v1'], resource: 'rollouts', kind: 'Rollout', operations: ['CREATE'] }] } } }],
    ['an upgrade kind with no version', { config: { upgrades: { kinds: [{ group: 'example.io', resource: 'rollouts', kind: 'Rollout', operations: ['CREATE'] }] } } }],
  ])('rejects %s', (_label, patch) => {
    const merged = structuredClone(values);
    mergeInto(merged, patch);
    expect(validate(merged)).toBe(false);
  });
});

// Generates the parts of the Helm chart and of deploy/ that must follow the source, so they cannot drift:
//   charts/volume-guard/files/webhooks.json   the validators' declarations (createValidators(defaultConfig()))
//   charts/volume-guard/files/rbac.json       the cluster model's (apiGroup, resource, verbs) list
//   charts/volume-guard/values.yaml           the `config:` block: volume-guard's defaults, commented
//   charts/volume-guard/values.schema.json    `properties.config`: volume-guard's own config schema
//   deploy/volume-guard.yaml                  `helm template` of the chart (cert-manager mode), needs helm
//
// Usage: node scripts/generate-chart.ts [--check] [--no-deploy] [--helm PATH]
//   --check      write nothing; exit 1 listing the files that are out of date
//   --no-deploy  skip deploy/ (no helm binary needed)
//   --helm PATH  helm binary (default: $HELM, else .cluster/bin/helm, else helm on PATH)

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Document, isMap, isPair, isScalar, isSeq, visit } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import { createValidators } from '../src/admission/index.ts';
import type { Operation, RuleWithOperations, WebhookDeclaration } from '../src/admission/types.ts';
import { EVENT_PERMISSIONS, MODEL_PERMISSIONS } from '../src/cluster/permissions.ts';
import { CONFIG_SCHEMA, defaultConfig } from '../src/config.ts';
import { prometheusRulesFile } from '../src/observe/alerts.ts';
import { grafanaDashboardFile } from '../src/observe/dashboard.ts';
import type { Config, GuardedUpgradeKind } from '../src/config.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CHART_DIR = join(REPO_ROOT, 'charts', 'volume-guard');
export const DEPLOY_DIR = join(REPO_ROOT, 'deploy');

/** Where the chart's defaults differ from volume-guard's own (and why). */
export const CHART_CONFIG_OVERRIDES = {
  // Endpoints controllers need a moment to drop a terminating pod; until then the API server may still call it.
  shutdown: { drainDelayMs: 5000 },
} as const;

/** The namespace and release name deploy/ is rendered for. */
export const DEPLOY_NAMESPACE = 'volume-guard';
export const DEPLOY_RELEASE = 'volume-guard';
/** deploy/ includes matchConditions (beta and on by default from Kubernetes 1.28, GA in 1.30). */
export const DEPLOY_KUBE_VERSION = '1.30.0';

// ---- webhooks.json ----

/**
 * Stands in a webhook's rules for one rule per entry of `config.upgrades.kinds` (group, version, resource), with
 * the kind's own operations or, when set, these. The chart renders it from `.Values.config.upgrades.kinds`, so a
 * kind added in values is both judged by volume-guard and sent to it by the API server.
 */
export interface UpgradeKindsRule {
  readonly upgradeKinds: {
    readonly operations?: readonly Operation[];
    readonly scope?: RuleWithOperations['scope'];
    /** `status`: the rule names each kind's status subresource (`plans/status`). */
    readonly subresource?: string;
  };
}

export type ChartRule = RuleWithOperations | UpgradeKindsRule;

/** One webhook as the chart's template reads it from files/webhooks.json. */
export interface ChartWebhook extends Omit<WebhookDeclaration, 'rules'> {
  readonly path: string;
  /** Some rule may match namespaced resources. */
  readonly namespaced: boolean;
  readonly rules: readonly ChartRule[];
}

function ruleForKind(
  kind: GuardedUpgradeKind,
  operations: readonly Operation[],
  scope: RuleWithOperations['scope'],
  subresource = '',
): RuleWithOperations {
  return {
    apiGroups: [kind.group],
    apiVersions: [kind.version],
    resources: [subresource ? `${kind.resource}/${subresource}` : kind.resource],
    operations: [...operations],
    ...(scope ? { scope } : {}),
  };
}

/** What the chart's template renders for `rules` given the configured kinds (its mirror, for tests). */
export function expandRules(rules: readonly ChartRule[], kinds: readonly GuardedUpgradeKind[]): RuleWithOperations[] {
  return rules.flatMap((rule) =>
    'upgradeKinds' in rule
      ? kinds.map((kind) =>
          ruleForKind(kind, rule.upgradeKinds.operations ?? kind.operations, rule.upgradeKinds.scope, rule.upgradeKinds.subresource),
        )
      : [rule],
  );
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The block of rules starting at `start` that was derived from `kinds`, as a placeholder; undefined if none. */
function kindsBlockAt(rules: readonly RuleWithOperations[], start: number, kinds: readonly GuardedUpgradeKind[]): UpgradeKindsRule | undefined {
  const block = rules.slice(start, start + kinds.length);
  if (kinds.length === 0 || block.length < kinds.length) return undefined;
  const scope = block[0]!.scope;
  const fixedOperations = block[0]!.operations;
  for (const subresource of ['', 'status']) {
    const extra = { ...(scope ? { scope } : {}), ...(subresource ? { subresource } : {}) };
    const matches = (operationsOf: (index: number) => readonly Operation[]) =>
      block.every((rule, index) => sameJson(rule, ruleForKind(kinds[index]!, operationsOf(index), scope, subresource)));
    if (matches((index) => kinds[index]!.operations)) return { upgradeKinds: extra };
    if (matches(() => fixedOperations)) return { upgradeKinds: { operations: [...fixedOperations], ...extra } };
  }
  return undefined;
}

/** A declaration's rules with every block derived from config.upgrades.kinds replaced by a placeholder. */
export function chartRules(rules: readonly RuleWithOperations[], kinds: readonly GuardedUpgradeKind[]): ChartRule[] {
  const result: ChartRule[] = [];
  for (let index = 0; index < rules.length; ) {
    const block = kindsBlockAt(rules, index, kinds);
    if (block) {
      result.push(block);
      index += kinds.length;
    } else {
      result.push(rules[index]!);
      index += 1;
    }
  }
  return result;
}

export function chartWebhooks(config: Config = defaultConfig()): ChartWebhook[] {
  return createValidators(config)
    .map((validator) => validator.declaration)
    .map((declaration) => ({
      name: declaration.name,
      target: declaration.target,
      path: `/validate/${declaration.target}`,
      namespaced: declaration.rules.some((rule) => rule.scope !== 'Cluster'),
      rules: chartRules(declaration.rules, config.upgrades.kinds),
      ...(declaration.objectSelector ? { objectSelector: declaration.objectSelector } : {}),
      ...(declaration.namespaceSelector ? { namespaceSelector: declaration.namespaceSelector } : {}),
      ...(declaration.matchConditions?.length ? { matchConditions: declaration.matchConditions } : {}),
      ...(declaration.workload ? { workload: declaration.workload } : {}),
    }));
}

export function webhooksFile(config: Config = defaultConfig()): string {
  const webhooks = chartWebhooks(config);
  return `${JSON.stringify({ generatedBy: 'scripts/generate-chart.ts from createValidators(defaultConfig())', webhooks }, null, 2)}\n`;
}

// ---- rbac.json ----

export function rbacFile(): string {
  const rules = MODEL_PERMISSIONS.map((permission) => ({
    apiGroup: permission.apiGroup,
    resource: permission.resource,
    verbs: [...permission.verbs],
  }));
  const eventRules = EVENT_PERMISSIONS.map((permission) => ({ apiGroup: permission.apiGroup, resource: permission.resource, verbs: [...permission.verbs] }));
  return `${JSON.stringify({ generatedBy: 'scripts/generate-chart.ts from src/cluster/permissions.ts', rules, eventRules }, null, 2)}\n`;
}

// ---- values.yaml `config:` block ----

interface SchemaLike {
  readonly description?: string;
  readonly properties?: Readonly<Record<string, SchemaLike>>;
  readonly items?: SchemaLike;
  readonly default?: unknown;
}

const CONFIG_BEGIN = '# BEGIN config: generated by scripts/generate-chart.ts from src/config.ts (edit there, then npm run generate:chart)';
const CONFIG_END = '# END config';

function deepMerge(base: unknown, override: unknown): unknown {
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return override;
  if (typeof override !== 'object' || override === null || Array.isArray(override)) return override;
  const merged: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(override)) merged[key] = deepMerge(merged[key], value);
  return merged;
}

/** volume-guard's defaults with the chart's overrides: the ConfigMap the chart renders by default. */
export function chartDefaultConfig(): Config {
  return deepMerge(structuredClone(defaultConfig()), CHART_CONFIG_OVERRIDES) as Config;
}

function commentKeys(node: YamlNode | null | undefined, schema: SchemaLike | undefined, path: string): void {
  if (!node || !schema) return;
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const key = String(pair.key.value);
      const child = schema.properties?.[key];
      const childPath = path ? `${path}.${key}` : key;
      let comment = child?.description ?? '';
      const override = overrideAt(childPath);
      if (override !== undefined && (typeof override !== 'object' || override === null)) {
        comment += ` (chart default; volume-guard's own default is ${JSON.stringify(defaultAt(childPath))})`;
      }
      if (childPath === 'upgrades.kinds') {
        comment += '; the upgrade webhook is registered for exactly these resources';
      }
      if (comment) pair.key.commentBefore = ` ${comment.trim()}`;
      commentKeys(pair.value as YamlNode, child, childPath);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) commentKeys(item as YamlNode, schema.items, path);
  }
}

function valueAt(tree: unknown, path: string): unknown {
  let node = tree;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function overrideAt(path: string): unknown {
  return valueAt(CHART_CONFIG_OVERRIDES, path);
}

function defaultAt(path: string): unknown {
  return valueAt(defaultConfig(), path);
}

const YAML11_BOOLEAN = /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;

export function valuesConfigBlock(): string {
  const document = new Document({ config: chartDefaultConfig() });
  const root = document.contents;
  if (isMap(root)) {
    const configPair = root.items[0];
    if (configPair && isPair(configPair)) commentKeys(configPair.value as YamlNode, CONFIG_SCHEMA as SchemaLike, '');
  }
  // Helm reads values as YAML 1.1, where a plain off/on/yes/no is a boolean: quote such strings (a mode `off`).
  visit(document, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && YAML11_BOOLEAN.test(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  const body = document.toString({ lineWidth: 0 }).trimEnd();
  return `${CONFIG_BEGIN}\n${body}\n${CONFIG_END}`;
}

/** values.yaml with its generated `config:` block replaced. */
export function valuesFile(current: string): string {
  const begin = current.indexOf(CONFIG_BEGIN);
  const end = current.indexOf(CONFIG_END);
  if (begin < 0 || end < begin) {
    throw new Error(`values.yaml must contain the markers "${CONFIG_BEGIN}" and "${CONFIG_END}"`);
  }
  return current.slice(0, begin) + valuesConfigBlock() + current.slice(end + CONFIG_END.length);
}

// ---- values.schema.json `properties.config` ----

/** The config schema for Helm: descriptions and constraints kept, defaults dropped (values.yaml holds them). */
function withoutDefaults(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutDefaults);
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key]) => key !== 'default')
      .map(([key, value]) => [key, key === 'enum' ? value : withoutDefaults(value)]),
  );
}

export function valuesSchemaFile(current: string): string {
  const schema = JSON.parse(current) as { properties: Record<string, any> };
  // Per-webhook failure policies are keyed by target: a misspelt target is an error, not a silent no-op.
  schema.properties.webhook.properties.failurePolicyOverrides.propertyNames = {
    enum: chartWebhooks().map((webhook) => webhook.target),
  };
  schema.properties.config = {
    ...(withoutDefaults(CONFIG_SCHEMA) as Record<string, unknown>),
    description: "volume-guard's configuration (generated from src/config.ts)",
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

// ---- deploy/ ----

export function findHelm(explicit?: string): string | undefined {
  const binDir = process.env.CLUSTER_BIN_DIR || join(REPO_ROOT, '.cluster', 'bin');
  const candidates = [explicit, process.env.HELM, join(binDir, 'helm')];
  for (const candidate of candidates) if (candidate && existsSync(candidate)) return candidate;
  try {
    return execFileSync('sh', ['-c', 'command -v helm'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const DEPLOY_HEADER = `# Generated by scripts/generate-chart.ts: helm template ${DEPLOY_RELEASE} charts/volume-guard --namespace ${DEPLOY_NAMESPACE}
# --kube-version ${DEPLOY_KUBE_VERSION} (cert-manager mode, default values). Do not edit; run npm run generate:chart.
`;

/** The chart rendered with default values for deploy/. Comments naming template files are dropped. */
export function deployManifests(helm: string): string {
  const rendered = execFileSync(
    helm,
    [
      'template',
      DEPLOY_RELEASE,
      CHART_DIR,
      '--namespace',
      DEPLOY_NAMESPACE,
      '--kube-version',
      DEPLOY_KUBE_VERSION,
    ],
    { encoding: 'utf8', env: { ...process.env, HELM_NAMESPACE: DEPLOY_NAMESPACE } },
  );
  const body = rendered
    .split('\n')
    .filter((line) => !line.startsWith('# Source: '))
    // Applied with kubectl, not installed by Helm.
    .map((line) => line.replace(/^(\s*app\.kubernetes\.io\/managed-by:) Helm$/, '$1 kubectl'))
    .join('\n')
    .replace(/^---\n/, '')
    .trimEnd();
  return `${DEPLOY_HEADER}---\n${body}\n`;
}

// ---- main ----

interface Output {
  readonly path: string;
  readonly content: string;
}

export function chartOutputs(): Output[] {
  const read = (path: string) => readFileSync(path, 'utf8');
  const valuesPath = join(CHART_DIR, 'values.yaml');
  const schemaPath = join(CHART_DIR, 'values.schema.json');
  return [
    { path: join(CHART_DIR, 'files', 'webhooks.json'), content: webhooksFile() },
    { path: join(CHART_DIR, 'files', 'rbac.json'), content: rbacFile() },
    { path: join(CHART_DIR, 'files', 'prometheus-rules.yaml'), content: prometheusRulesFile() },
    { path: join(CHART_DIR, 'files', 'grafana-dashboard.json'), content: grafanaDashboardFile() },
    { path: valuesPath, content: valuesFile(read(valuesPath)) },
    { path: schemaPath, content: valuesSchemaFile(read(schemaPath)) },
  ];
}

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  const skipDeploy = argv.includes('--no-deploy');
  const helmIndex = argv.indexOf('--helm');
  const outputs = chartOutputs();
  const stale: string[] = [];
  const apply = (output: Output) => {
    const current = existsSync(output.path) ? readFileSync(output.path, 'utf8') : '';
    if (current === output.content) return;
    stale.push(relative(REPO_ROOT, output.path));
    if (!check) writeFileSync(output.path, output.content);
  };
  // The chart's generated files first: deploy/ is rendered from them.
  outputs.forEach(apply);
  if (!skipDeploy) {
    const helm = findHelm(helmIndex >= 0 ? argv[helmIndex + 1] : undefined);
    if (!helm) {
      console.error('generate-chart: no helm binary (build it with test/harness/build.sh helm, or pass --no-deploy)');
      return 2;
    }
    apply({ path: join(DEPLOY_DIR, 'volume-guard.yaml'), content: deployManifests(helm) });
  }
  if (check) {
    if (stale.length) {
      console.error(`generate-chart: out of date: ${stale.join(', ')} (run npm run generate:chart)`);
      return 1;
    }
    console.log('generate-chart: up to date');
  } else {
    console.log(stale.length ? `generate-chart: wrote ${stale.join(', ')}` : 'generate-chart: up to date');
  }
  return 0;
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2));

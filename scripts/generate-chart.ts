// Generates the parts of the Helm chart and of deploy/ that must follow the source, so they cannot drift:
//   charts/volume-guard/files/webhooks.json   the validators' declarations (createValidators(defaultConfig())), the
//                                             mutating ones marked (the chart's MutatingWebhookConfiguration), the
//                                             config values in their matchConditions as placeholders, and the
//                                             shared namespaces never left out as a whole (SHARED_NAMESPACES)
//   charts/volume-guard/files/rbac.json       the cluster model's (apiGroup, resource, verbs) list
//   charts/volume-guard/files/config-env.json each VOLUME_GUARD_* variable and the config field it sets (CONFIG_REFERENCE):
//                                             the chart refuses them in `env`, naming the field to set instead
//   charts/volume-guard/values.yaml           the `config:` block: volume-guard's defaults, commented
//   charts/volume-guard/values.schema.json    `properties.config`: volume-guard's own config schema; the webhook
//                                             targets of `failurePolicyOverrides` (validating ones); `required`: what values.yaml sets
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
import { Document, isMap, isPair, isScalar, isSeq, parse as parseYaml, visit } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import { createValidators } from '../src/admission/index.ts';
import { celString, expandRules } from '../src/admission/rules.ts';
import { webhookPath, type WebhookDeclaration } from '../src/admission/types.ts';
import { SHARED_NAMESPACES } from '../src/admission/webhooks.ts';
import { EVENT_PERMISSIONS, MODEL_PERMISSIONS } from '../src/cluster/permissions.ts';
import { AUDIT_REPORT_PERMISSIONS } from '../src/audit/policyreport.ts';
import { CONFIG_REFERENCE, CONFIG_SCHEMA, defaultConfig } from '../src/config.ts';
import { prometheusRulesFile } from '../src/observe/alerts.ts';
import { grafanaDashboardFile } from '../src/observe/dashboard.ts';
import type { Config } from '../src/config.ts';

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

/** One webhook as the chart's template reads it from files/webhooks.json. */
export interface ChartWebhook extends WebhookDeclaration {
  readonly path: string;
  /** Some rule may match namespaced resources. */
  readonly namespaced: boolean;
}

export { expandRules };

export function chartWebhooks(config: Config = defaultConfig()): ChartWebhook[] {
  return createValidators(config)
    .map((validator) => validator.declaration)
    .map((declaration) => ({
      name: declaration.name,
      target: declaration.target,
      path: webhookPath(declaration),
      namespaced: expandRules(declaration.rules, config.upgrades.kinds).some((rule) => rule.scope !== 'Cluster'),
      // The upgrade kinds stay a symbolic entry: the chart renders one rule per kind of its values.
      rules: declaration.rules,
      ...(declaration.objectSelector ? { objectSelector: declaration.objectSelector } : {}),
      ...(declaration.namespaceSelector ? { namespaceSelector: declaration.namespaceSelector } : {}),
      ...(declaration.matchConditions?.length ? { matchConditions: declaration.matchConditions } : {}),
      ...(declaration.workload ? { workload: declaration.workload } : {}),
      ...(declaration.ownObjects ? { ownObjects: declaration.ownObjects } : {}),
      // Rendered into the MutatingWebhookConfiguration (failurePolicy Ignore, reinvocationPolicy Never).
      ...(declaration.mutating ? { mutating: declaration.mutating } : {}),
    }));
}

/**
 * A config value some webhook's matchConditions name (the Longhorn namespace, the automation identities...). The
 * generated file holds `token` in its place; the chart's template puts the value of `.Values.config.<path>` there,
 * so the conditions follow the values rather than volume-guard's defaults.
 */
export interface ConfigPlaceholder {
  /** Dotted path under `config`, e.g. `longhorn.namespace`. */
  readonly path: string;
  /**
   * `string`: the token stands inside a CEL string literal, for the value's escaped text (celString);
   * `list`: the token stands for the list's CEL string literals, comma-separated (`'a', 'b'`; nothing when empty).
   */
  readonly form: 'string' | 'list';
  readonly token: string;
}

const placeholderToken = (path: string): string => `__VG_CONFIG_${path}__`;

/** Every string and list-of-strings field of the config schema, with its dotted path. */
function stringFields(schema: SchemaLike, prefix = ''): { path: string; form: ConfigPlaceholder['form'] }[] {
  return Object.entries(schema.properties ?? {}).flatMap(([key, node]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    if (node.type === 'object') return stringFields(node, path);
    if (node.type === 'string') return [{ path, form: 'string' as const }];
    if (node.type === 'array' && node.items?.type === 'string') return [{ path, form: 'list' as const }];
    return [];
  });
}

function withValues(config: Config, values: ReadonlyMap<string, unknown>): Config {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const [path, value] of values) {
    const keys = path.split('.');
    let node = copy;
    for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
    node[keys.at(-1)!] = value;
  }
  return copy as unknown as Config;
}

const declarationsText = (config: Config): string => JSON.stringify(createValidators(config).map((validator) => validator.declaration));

/** The config fields the validators' declarations depend on, found by changing each string field in turn. */
export function configPlaceholders(): ConfigPlaceholder[] {
  const defaults = defaultConfig();
  const base = declarationsText(defaults);
  return stringFields(CONFIG_SCHEMA as SchemaLike)
    .filter(({ path }) => path !== 'upgrades.kinds')
    .map(({ path, form }) => ({ path, form, token: placeholderToken(path) }))
    .filter(({ path, form, token }) => declarationsText(withValues(defaults, new Map([[path, form === 'list' ? [token] : token]]))) !== base);
}

/** The value that takes a placeholder's token's place for this configuration, as the chart's template renders it. */
function placeholderFill(placeholder: ConfigPlaceholder, config: Config): string {
  const value = valueAt(config, placeholder.path);
  if (placeholder.form === 'list') return (value as readonly string[]).map(celString).join(', ');
  return celString(String(value)).slice(1, -1);
}

/** webhooks.json's webhooks with every token replaced by this configuration's values (what the chart renders). */
export function fillPlaceholders(webhooks: readonly ChartWebhook[], placeholders: readonly ConfigPlaceholder[], config: Config): ChartWebhook[] {
  const fills = new Map(placeholders.map((placeholder) => [placeholder.token, placeholderFill(placeholder, config)]));
  if (fills.size === 0) return [...webhooks];
  const pattern = new RegExp([...fills.keys()].map((token) => token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  return webhooks.map((webhook) =>
    webhook.matchConditions
      ? {
          ...webhook,
          matchConditions: webhook.matchConditions.map((condition) => ({
            ...condition,
            expression: condition.expression.replace(pattern, (token) => fills.get(token)!),
          })),
        }
      : webhook,
  );
}

/** Values for every placeholder field unlike the defaults, with quotes and backslashes (a list: also empty). */
function unusualConfigs(placeholders: readonly ConfigPlaceholder[]): Config[] {
  const values = (empty: boolean) =>
    new Map(
      placeholders.map((placeholder) => [
        placeholder.path,
        placeholder.form === 'list' ? (empty ? [] : [`o'brien:${placeholder.path}`, 'back\\slash']) : `it's\\${placeholder.path}`,
      ]),
    );
  return [withValues(defaultConfig(), values(false)), withValues(defaultConfig(), values(true))];
}

/**
 * webhooks.json's webhooks: the declarations for a configuration whose placeholder fields hold their tokens, a list
 * token standing bare for the list's literals. Checked before it is written: filled with the defaults it is
 * createValidators(defaultConfig()), filled with other values it is createValidators for them, so a config value
 * that reaches a declaration in any other way (a selector, a rule, a transformed value) stops the generator.
 */
export function placeholderWebhooks(placeholders: readonly ConfigPlaceholder[] = configPlaceholders()): ChartWebhook[] {
  const symbolic = withValues(
    defaultConfig(),
    new Map(placeholders.map((placeholder) => [placeholder.path, placeholder.form === 'list' ? [placeholder.token] : placeholder.token])),
  );
  const lists = placeholders.filter((placeholder) => placeholder.form === 'list');
  const webhooks = chartWebhooks(symbolic).map((webhook) =>
    webhook.matchConditions
      ? {
          ...webhook,
          matchConditions: webhook.matchConditions.map((condition) => ({
            ...condition,
            expression: lists.reduce((expression, { token }) => expression.replaceAll(celString(token), token), condition.expression),
          })),
        }
      : webhook,
  );
  for (const config of [defaultConfig(), ...unusualConfigs(placeholders)]) {
    if (JSON.stringify(fillPlaceholders(webhooks, placeholders, config)) !== JSON.stringify(chartWebhooks(config))) {
      const values = placeholders.map((placeholder) => `${placeholder.path}=${JSON.stringify(valueAt(config, placeholder.path))}`).join(', ');
      throw new Error(
        `generate-chart: filled with ${values}, files/webhooks.json is not what the validators declare for those values: ` +
          "a config value reaches a declaration other than as a CEL string literal (or a list of them) in a matchCondition; teach the chart's template to render it",
      );
    }
  }
  return webhooks;
}

export function webhooksFile(): string {
  const placeholders = configPlaceholders();
  const webhooks = placeholderWebhooks(placeholders);
  return `${JSON.stringify(
    {
      generatedBy:
        'scripts/generate-chart.ts from createValidators(defaultConfig()); each configPlaceholders token stands for config.<path>, filled from .Values.config by the template',
      configPlaceholders: placeholders,
      // Namespaces the workload webhooks never leave out as a whole, volume-guard's own included (SHARED_NAMESPACES).
      sharedNamespaces: SHARED_NAMESPACES,
      webhooks,
    },
    null,
    2,
  )}\n`;
}

// ---- rbac.json ----

export function rbacFile(): string {
  const rules = MODEL_PERMISSIONS.map((permission) => ({
    apiGroup: permission.apiGroup,
    resource: permission.resource,
    verbs: [...permission.verbs],
  }));
  const eventRules = EVENT_PERMISSIONS.map((permission) => ({ apiGroup: permission.apiGroup, resource: permission.resource, verbs: [...permission.verbs] }));
  // The audit ClusterRole's reads beyond the model's (src/audit/policyreport.ts): the reports earlier runs left.
  const auditRules = AUDIT_REPORT_PERMISSIONS.map((permission) => ({ apiGroup: permission.apiGroup, resource: permission.resource, verbs: [...permission.verbs] }));
  return `${JSON.stringify({ generatedBy: 'scripts/generate-chart.ts from src/cluster/permissions.ts', rules, eventRules, auditRules }, null, 2)}\n`;
}

// ---- config-env.json ----

export function configEnvFile(): string {
  const variables = Object.fromEntries(CONFIG_REFERENCE.map((row) => [row.env, row.path]));
  return `${JSON.stringify({ generatedBy: 'scripts/generate-chart.ts from src/config/env.ts (CONFIG_REFERENCE)', variables }, null, 2)}\n`;
}

// ---- values.yaml `config:` block ----

interface SchemaLike {
  readonly type?: string;
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

function commentKeys(node: YamlNode | null | undefined, schema: SchemaLike | undefined, path: string, inConditions: ReadonlySet<string>): void {
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
      if (inConditions.has(childPath)) {
        comment += "; the webhooks' matchConditions follow it";
      }
      if (comment) pair.key.commentBefore = ` ${comment.trim()}`;
      commentKeys(pair.value as YamlNode, child, childPath, inConditions);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) commentKeys(item as YamlNode, schema.items, path, inConditions);
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
    const inConditions = new Set(configPlaceholders().map((placeholder) => placeholder.path));
    if (configPair && isPair(configPair)) commentKeys(configPair.value as YamlNode, CONFIG_SCHEMA as SchemaLike, '', inConditions);
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

/**
 * `required` for the lists values.yaml sets, and the maps that hold them. Helm deletes a key set to null
 * (`--set config.upgrades.kinds=null`) before it validates, so the schema would see the list simply missing: the
 * config rendered into the ConfigMap would lack it and volume-guard fill in its own default (the upgrade webhook's
 * rules rendered from the values then disagree with the kinds it polices), or a template meet a nil list (a Go
 * nil-pointer error). With it Helm says, e.g., `at '/config/upgrades': missing property 'kinds'`; an empty list is
 * written `[]`. Scalars are not required: `helm upgrade --reuse-values` validates the values of the release installed
 * (a chart version without the scalars added since), and a missing scalar takes volume-guard's default. A list added
 * in a later version would break `--reuse-values` the same way: the README advises `--reset-then-reuse-values`.
 * Item schemas keep their own rules.
 */
function requiringValues(schema: unknown, values: unknown): unknown {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return schema;
  if (typeof values !== 'object' || values === null || Array.isArray(values)) return schema;
  const node = schema as Record<string, unknown>;
  const properties = node.properties as Record<string, unknown> | undefined;
  if (!properties) return node;
  const set = values as Record<string, unknown>;
  const required = Object.keys(properties).filter((key) => holdsList(set[key]));
  return {
    ...node,
    properties: Object.fromEntries(Object.entries(properties).map(([key, child]) => [key, requiringValues(child, set[key])])),
    ...(required.length ? { required: [...new Set([...((node.required as string[] | undefined) ?? []), ...required])] } : {}),
  };
}

/** A list, or a map holding one at any depth. */
function holdsList(value: unknown): boolean {
  if (Array.isArray(value)) return true;
  return typeof value === 'object' && value !== null && Object.values(value).some(holdsList);
}

/** values.schema.json from its current text (the hand-written sections) and values.yaml's text (`required`). */
export function valuesSchemaFile(current: string, valuesYaml: string): string {
  const schema = JSON.parse(current) as { properties: Record<string, any> };
  // Per-webhook failure policies are keyed by target: a misspelt target is an error, not a silent no-op, and one that
  // names the map (`at '/webhook/failurePolicyOverrides': additional properties 'node-cordn' not allowed`).
  const overrides = schema.properties.webhook.properties.failurePolicyOverrides;
  delete overrides.propertyNames;
  overrides.additionalProperties = false;
  overrides.properties = Object.fromEntries(
    // The mutating webhooks are always Ignore: no policy of theirs to choose.
    chartWebhooks()
      .filter(({ mutating }) => !mutating)
      .map(({ target }) => [target, overrides.properties?.[target] ?? { enum: ['Fail', 'Ignore'] }]),
  );
  schema.properties.config = {
    ...(withoutDefaults(CONFIG_SCHEMA) as Record<string, unknown>),
    description: "volume-guard's configuration (generated from src/config.ts)",
  };
  return `${JSON.stringify(requiringValues(schema, parseYaml(valuesYaml)), null, 2)}\n`;
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
  const values = valuesFile(read(valuesPath));
  return [
    { path: join(CHART_DIR, 'files', 'webhooks.json'), content: webhooksFile() },
    { path: join(CHART_DIR, 'files', 'rbac.json'), content: rbacFile() },
    { path: join(CHART_DIR, 'files', 'config-env.json'), content: configEnvFile() },
    { path: join(CHART_DIR, 'files', 'prometheus-rules.yaml'), content: prometheusRulesFile() },
    { path: join(CHART_DIR, 'files', 'grafana-dashboard.json'), content: grafanaDashboardFile() },
    { path: valuesPath, content: values },
    { path: schemaPath, content: valuesSchemaFile(read(schemaPath), values) },
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

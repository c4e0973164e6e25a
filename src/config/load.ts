// Loading the configuration: one optional YAML file, then the environment overrides (env.ts), validated by the
// schema (schema.ts), which also fills in every default. Every mistake is a ConfigError with one line that names
// the field, and the environment variable when one set it.

import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import type { ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { isObject } from '../json.ts';
import { describeCommonError, pointerToPath, valueAtPointer } from '../schema-errors.ts';
import { ENV_PREFIX, jsonEnvProblem, leafOfEnv, parseEnvValue, takesJson } from './env.ts';
import { CONFIG_SCHEMA, type Config, type SchemaNode } from './schema.ts';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type MutableTree = Record<string, unknown>;

function setPath(tree: MutableTree, path: readonly string[], value: unknown, source: string): void {
  let node = tree;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (next === undefined) {
      const created: MutableTree = {};
      node[segment] = created;
      node = created;
    } else if (isObject(next)) {
      // The tree is the parsed file, ours to fill in.
      node = next as MutableTree;
    } else {
      throw new ConfigError(`config: ${source} sets ${path.join('.')} but ${segment} is not a mapping in the file`);
    }
  }
  node[path[path.length - 1]!] = value;
}

const ajv = new Ajv({ useDefaults: true, allErrors: false, strict: true });
const validateConfig = ajv.compile(CONFIG_SCHEMA);

function formatValue(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // A value that refers to itself (a recursive YAML alias); loadConfig refuses those before, this is the backstop.
    return '(a value that contains itself)';
  }
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Where a parsed tree refers back to one of its own enclosing values (`a: &a [*a]`: the YAML parser builds a list
 * that holds itself), as a field path (`a[0]`); undefined when it does not. A value used twice (an alias of a
 * sibling) is no recursion.
 */
function recursionIn(value: unknown, path: string, enclosing: Set<object>): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (enclosing.has(value)) return path;
  enclosing.add(value);
  try {
    const entries: [string, unknown][] = Array.isArray(value)
      ? value.map((item, index): [string, unknown] => [`${path}[${index}]`, item])
      : Object.entries(value).map(([key, item]): [string, unknown] => [path ? `${path}.${key}` : key, item]);
    for (const [at, item] of entries) {
      const found = recursionIn(item, at, enclosing);
      if (found !== undefined) return found;
    }
    return undefined;
  } finally {
    enclosing.delete(value);
  }
}

/** The schema node describing the value at a JSON pointer (array indexes go through `items`). */
function schemaAt(pointer: string): SchemaNode | undefined {
  let node: SchemaNode | undefined = CONFIG_SCHEMA;
  for (const segment of pointer.split('/').slice(1)) {
    node = /^\d+$/.test(segment) && node?.items ? node.items : node?.properties?.[segment];
  }
  return node;
}

/**
 * A `oneOf` of alternative fields (each branch requires one, as an upgrade kind's `versions` and `version`): which
 * of them the value sets, said as what to do.
 */
function exactlyOneOf(pointer: string, data: unknown): string {
  const at = pointerToPath(pointer);
  const names = (schemaAt(pointer)?.oneOf ?? []).flatMap((branch) => branch.required ?? []);
  const value = valueAtPointer(data, pointer);
  const set = names.filter((name) => isObject(value) && value[name] !== undefined);
  return set.length === 0 ? `${at} must set one of ${names.join(', ')}` : `${at} sets ${set.join(' and ')}: set only one of them`;
}

function describeError(error: ErrorObject, data: unknown, envSources: ReadonlyMap<string, string>): string {
  const at = pointerToPath(error.instancePath);
  const field = (child: string) => (at ? `${at}.${child}` : child);
  const got = formatValue(valueAtPointer(data, error.instancePath));
  let line = describeCommonError(error, at, got, 'the configuration');
  let fieldPath = at;
  if (error.keyword === 'required') fieldPath = field(String(error.params.missingProperty));
  if (line === undefined) {
    if (error.keyword === 'oneOf') {
      line = exactlyOneOf(error.instancePath, data);
    } else if (error.keyword === 'additionalProperties') {
      const unknown = String(error.params.additionalProperty);
      const known = Object.keys(schemaAt(error.instancePath)?.properties ?? {}).join(', ');
      fieldPath = field(unknown);
      line = `${fieldPath} is not a known field (known: ${known})`;
    } else {
      line = `${at} ${error.message ?? 'is invalid'} (got ${got})`;
    }
  }
  const env = [...envSources].find(([path]) => fieldPath === path || fieldPath.startsWith(`${path}.`) || fieldPath.startsWith(`${path}[`))?.[1];
  return `config: ${line}${env ? ` (from ${env})` : ''}`;
}

export interface LoadConfigOptions {
  /** YAML file path; absent means defaults plus environment. */
  readonly file?: string;
  /** Usually process.env; only VOLUME_GUARD_* variables are read. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Read, merge, validate and default the configuration. Throws ConfigError with a one-line message. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  let tree: unknown = {};
  if (options.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError(
        `config: cannot read ${options.file}: ${code === 'ENOENT' ? 'no such file' : String(code ?? error)}`,
      );
    }
    try {
      tree = parseYaml(text) ?? {};
    } catch (error) {
      const firstLine = String((error as Error).message).split('\n')[0];
      throw new ConfigError(`config: ${options.file} is not valid YAML: ${firstLine}`);
    }
    if (!isObject(tree)) {
      throw new ConfigError(`config: ${options.file} must hold a mapping at the top level (got ${formatValue(tree)})`);
    }
    const recursive = recursionIn(tree, '', new Set());
    if (recursive !== undefined) {
      throw new ConfigError(`config: ${options.file}: recursive YAML alias at ${recursive} (an alias inside the value it names)`);
    }
  }
  const data = tree as MutableTree;

  const envSources = new Map<string, string>();
  const env = options.env ?? {};
  for (const name of Object.keys(env).sort()) {
    const raw = env[name];
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const leaf = leafOfEnv(name);
    if (!leaf) {
      throw new ConfigError(`config: environment variable ${name} names no configuration field`);
    }
    const notJson = takesJson(leaf.schema) ? jsonEnvProblem(name, raw, leaf) : undefined;
    if (notJson !== undefined) throw new ConfigError(`config: ${notJson}`);
    setPath(data, leaf.path, parseEnvValue(raw, leaf.schema), name);
    envSources.set(leaf.path.join('.'), name);
  }

  if (!validateConfig(data)) {
    // A failed oneOf comes last, after its branches' own errors (a `required` of one alternative), which it explains.
    const error = validateConfig.errors?.find((candidate) => candidate.keyword === 'oneOf') ?? validateConfig.errors?.[0];
    throw new ConfigError(error ? describeError(error, data, envSources) : 'config: invalid');
  }
  const config = data as unknown as Config;
  // One review at the body limit must always fit in the budget of bodies in flight.
  const { bodyLimitBytes, maxInflightBodyBytes } = config.admission;
  if (maxInflightBodyBytes < bodyLimitBytes) {
    const from = [...envSources].filter(([path]) => path === 'admission.maxInflightBodyBytes' || path === 'admission.bodyLimitBytes').map(([, name]) => name);
    throw new ConfigError(
      `config: admission.maxInflightBodyBytes (${maxInflightBodyBytes}) must be at least admission.bodyLimitBytes (${bodyLimitBytes})${from.length ? ` (from ${from.join(', ')})` : ''}`,
    );
  }
  return config;
}

/** The defaults alone (what `loadConfig()` returns with no file and no environment). */
export function defaultConfig(): Config {
  return loadConfig({});
}

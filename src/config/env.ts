// Environment overrides: every leaf field of the schema has a variable named VOLUME_GUARD_ + its path in upper
// case, with `.`, `-` and camelCase boundaries turned into `_`:
//   log.level                     -> VOLUME_GUARD_LOG_LEVEL
//   admission.port                -> VOLUME_GUARD_ADMISSION_PORT
//   admission.tls.certFile        -> VOLUME_GUARD_ADMISSION_TLS_CERT_FILE
//   checks.orphan-pvc.mode        -> VOLUME_GUARD_CHECKS_ORPHAN_PVC_MODE
//   overrides.allowedGroups       -> VOLUME_GUARD_OVERRIDES_ALLOWED_GROUPS   (comma-separated list)
//   upgrades.kinds                -> VOLUME_GUARD_UPGRADES_KINDS             (a JSON array)
// Integers and booleans are parsed from their usual spelling. CONFIG_REFERENCE (reference.ts) lists every variable.
// An environment variable starting with VOLUME_GUARD_ that names no field is an error, like an unknown YAML key.

import { CONFIG_SCHEMA, type SchemaNode } from './schema.ts';

export const ENV_PREFIX = 'VOLUME_GUARD_';

export function envName(path: readonly string[]): string {
  return (
    ENV_PREFIX +
    path
      .map((segment) => segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[-.]/g, '_'))
      .join('_')
      .toUpperCase()
  );
}

/** A field that holds a value (not a section), with its path from the root. */
export interface Leaf {
  readonly path: readonly string[];
  readonly schema: SchemaNode;
}

function leaves(schema: SchemaNode, path: readonly string[] = []): Leaf[] {
  if (schema.type === 'object' && schema.properties) {
    return Object.entries(schema.properties).flatMap(([key, child]) => leaves(child, [...path, key]));
  }
  return [{ path, schema }];
}

/** Every leaf field of the configuration, in schema order. */
export const LEAVES: readonly Leaf[] = leaves(CONFIG_SCHEMA);
const LEAF_BY_ENV = new Map(LEAVES.map((leaf) => [envName(leaf.path), leaf]));

/** The field an environment variable sets, or undefined when it names none. */
export function leafOfEnv(name: string): Leaf | undefined {
  return LEAF_BY_ENV.get(name);
}

/** Whether a field takes JSON in its environment variable (a list of objects, such as upgrades.kinds). */
export function takesJson(schema: SchemaNode): boolean {
  return schema.type === 'array' && schema.items?.type !== 'string';
}

/** An example of the JSON a field's variable takes, for the message that says it is not JSON. */
const JSON_EXAMPLES: Readonly<Record<string, string>> = {
  'upgrades.kinds': '[{"group":"upgrade.cattle.io","versions":["v1"],"resource":"plans","kind":"Plan","operations":["CREATE","UPDATE"]}]',
};

/**
 * Why a variable that takes JSON does not hold it, in one line saying how to write it; undefined when it parses.
 * (Written as YAML, or with its shell quoting lost, it would otherwise read as a string the schema calls no array.)
 */
export function jsonEnvProblem(name: string, raw: string, leaf: Leaf): string | undefined {
  try {
    JSON.parse(raw.trim());
    return undefined;
  } catch (error) {
    const why = String((error as Error).message).split('\n')[0];
    const example = JSON_EXAMPLES[leaf.path.join('.')];
    return `${name} is not JSON (${why}): ${leaf.path.join('.')} takes a JSON array${example ? `, e.g. ${example}` : ''}`;
  }
}

/** Parse an environment value to the JSON type its field expects; unparseable values stay strings for ajv to name. */
export function parseEnvValue(raw: string, schema: SchemaNode): unknown {
  const text = raw.trim();
  switch (schema.type) {
    case 'integer':
      return /^-?\d+$/.test(text) ? Number(text) : raw;
    case 'boolean':
      if (/^(true|1|yes)$/i.test(text)) return true;
      if (/^(false|0|no)$/i.test(text)) return false;
      return raw;
    case 'array':
      if (schema.items?.type === 'string') {
        return text === ''
          ? []
          : text
              .split(',')
              .map((item) => item.trim())
              .filter((item) => item !== '');
      }
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return raw;
      }
    default:
      return raw;
  }
}

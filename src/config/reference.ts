// The configuration reference: every field with its environment variable, type, default and meaning, generated
// from the schema for the README's table (and read by scripts/generate-chart.ts).

import { envName, LEAVES } from './env.ts';
import type { SchemaNode } from './schema.ts';

export interface ConfigReferenceRow {
  /** Dotted path, e.g. `admission.tls.certFile`. */
  readonly path: string;
  readonly env: string;
  readonly type: string;
  readonly default: string;
  readonly description: string;
}

function describeType(schema: SchemaNode): string {
  if (schema.enum) return schema.enum.join(' | ');
  if (schema.type === 'array') return schema.items?.type === 'string' ? 'list (comma-separated)' : 'JSON array';
  return schema.type ?? 'any';
}

function describeDefault(value: unknown): string {
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value.join(',');
  if (Array.isArray(value)) return `${value.length} entries`;
  return String(value);
}

/** Every configurable field with its environment variable, type and default (for the README). */
export const CONFIG_REFERENCE: readonly ConfigReferenceRow[] = LEAVES.map((leaf) => ({
  path: leaf.path.join('.'),
  env: envName(leaf.path),
  type: describeType(leaf.schema),
  default: describeDefault(leaf.schema.default),
  description: leaf.schema.description ?? '',
}));

/** CONFIG_REFERENCE as a Markdown table. */
export function configReferenceMarkdown(): string {
  const escape = (text: string) => text.replace(/\|/g, '\\|');
  const rows = CONFIG_REFERENCE.map(
    (row) =>
      `| \`${row.path}\` | \`${row.env}\` | ${escape(row.type)} | ${row.default === '' ? "''" : `\`${row.default}\``} | ${escape(row.description)} |`,
  );
  return ['| field | environment | type | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}

// Narrowing helpers for JSON from the API server. Objects arrive as `unknown` (JSON.parse of a list page
// or a watch line); every field is checked before use, so a malformed object yields defaults, never a throw.

export type JsonObject = Readonly<Record<string, unknown>>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object at `value[key]`, or undefined. */
export function objectAt(value: unknown, key: string): JsonObject | undefined {
  if (!isObject(value)) return undefined;
  const child = value[key];
  return isObject(child) ? child : undefined;
}

/** The nested object along `path`, or undefined when any step is missing or not an object. */
export function objectPath(value: unknown, ...path: readonly string[]): JsonObject | undefined {
  let current: unknown = value;
  for (const key of path) {
    current = objectAt(current, key);
    if (current === undefined) return undefined;
  }
  return isObject(current) ? current : undefined;
}

export function stringAt(value: unknown, key: string): string {
  if (!isObject(value)) return '';
  const field = value[key];
  return typeof field === 'string' ? field : '';
}

export function numberAt(value: unknown, key: string): number | undefined {
  if (!isObject(value)) return undefined;
  const field = value[key];
  return typeof field === 'number' && Number.isFinite(field) ? field : undefined;
}

export function booleanAt(value: unknown, key: string): boolean {
  return isObject(value) && value[key] === true;
}

export function arrayAt(value: unknown, key: string): readonly unknown[] {
  if (!isObject(value)) return [];
  const field = value[key];
  return Array.isArray(field) ? field : [];
}

/** The string values of a string map (labels, annotations, matchLabels); non-string values are dropped. */
export function stringMapAt(value: unknown, key: string): Readonly<Record<string, string>> {
  const map = objectAt(value, key);
  if (!map) return EMPTY_STRING_MAP;
  const result: Record<string, string> = {};
  let any = false;
  for (const [name, field] of Object.entries(map)) {
    if (typeof field === 'string') {
      result[name] = field;
      any = true;
    }
  }
  return any ? result : EMPTY_STRING_MAP;
}

/** Shared by every record without labels or annotations, so empty maps cost nothing per record. */
export const EMPTY_STRING_MAP: Readonly<Record<string, string>> = Object.freeze({});

// Narrowing helpers for parsed JSON and YAML: objects from the API server (a list page, a watch line, the object
// of an AdmissionReview), Helm release records and manifests, the configuration file. Values arrive as `unknown`;
// every field is checked before use, so a malformed object yields defaults, never a throw. The one home of these
// helpers: a leaf module that imports nothing.

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

/** The object at `value[key]`, or an empty object: for reading several optional fields of it. */
export function fieldsAt(value: unknown, key: string): JsonObject {
  return objectAt(value, key) ?? EMPTY_OBJECT;
}

/** The value along `path` through nested objects, or undefined when a step is missing or not an object. */
export function valueAt(value: unknown, ...path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

/** The string along `path`, or '' when it is missing or not a string. */
export function stringAtPath(value: unknown, ...path: readonly string[]): string {
  const found = valueAt(value, ...path);
  return typeof found === 'string' ? found : '';
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
  return stringMapOf(objectAt(value, key));
}

/** stringMapAt for the map itself: `value` when it is an object, else the empty map. */
export function stringMapOf(map: unknown): Readonly<Record<string, string>> {
  if (!isObject(map)) return EMPTY_STRING_MAP;
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

const EMPTY_OBJECT: JsonObject = Object.freeze({});

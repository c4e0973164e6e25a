// Narrowing the `unknown` objects of an AdmissionReview to the few fields validators read.

export type StringMap = Readonly<Record<string, string>>;

export interface ObjectMeta {
  readonly name: string;
  readonly namespace: string;
  readonly annotations: StringMap;
  readonly labels: StringMap;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function field(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isRecord(current)) return undefined;
    current = current[key];
  }
  return current;
}

export function stringField(value: unknown, ...path: string[]): string {
  const found = field(value, ...path);
  return typeof found === 'string' ? found : '';
}

function stringMap(value: unknown): StringMap {
  if (!isRecord(value)) return {};
  const out: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) if (typeof entry === 'string') out[key] = entry;
  return out;
}

/** The metadata of an object, or undefined when the value is not an object. */
export function metaOf(object: unknown): ObjectMeta | undefined {
  if (!isRecord(object)) return undefined;
  const metadata = field(object, 'metadata');
  return {
    name: stringField(metadata, 'name'),
    namespace: stringField(metadata, 'namespace'),
    annotations: stringMap(field(metadata, 'annotations')),
    labels: stringMap(field(metadata, 'labels')),
  };
}

/** `spec.unschedulable` of a Node object. */
export function isUnschedulable(node: unknown): boolean {
  return field(node, 'spec', 'unschedulable') === true;
}

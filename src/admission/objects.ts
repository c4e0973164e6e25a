// Narrowing the `unknown` objects of an AdmissionReview to the few fields validators read (the narrowing
// helpers themselves live in src/json.ts).

import { EMPTY_STRING_MAP, isObject, objectAt, stringAtPath, stringMapOf, valueAt } from '../json.ts';

export { isObject as isRecord, stringAtPath as stringField, valueAt as field } from '../json.ts';

export type StringMap = Readonly<Record<string, string>>;

export interface ObjectMeta {
  readonly name: string;
  readonly namespace: string;
  readonly annotations: StringMap;
  readonly labels: StringMap;
}

/** The metadata of an object, or undefined when the value is not an object. */
export function metaOf(object: unknown): ObjectMeta | undefined {
  if (!isObject(object)) return undefined;
  const metadata = valueAt(object, 'metadata');
  return {
    name: stringAtPath(metadata, 'name'),
    namespace: stringAtPath(metadata, 'namespace'),
    annotations: stringMapView(objectAt(metadata, 'annotations')),
    labels: stringMapView(objectAt(metadata, 'labels')),
  };
}

/**
 * stringMapOf without the copy when every entry is an own string (what the API server sends): the reviewed
 * object's own map, read only. Copying the labels and annotations of both objects of a Node update was 3-4 % of
 * a cordon's time in the validator.
 */
function stringMapView(map: ReturnType<typeof objectAt>): StringMap {
  if (map === undefined) return EMPTY_STRING_MAP;
  let any = false;
  for (const key in map) {
    // An inherited entry, a non-string or an own "__proto__" (which the copy cannot hold): the copy, as before.
    if (typeof map[key] !== 'string' || key === '__proto__' || !Object.hasOwn(map, key)) return stringMapOf(map);
    any = true;
  }
  return any ? (map as StringMap) : EMPTY_STRING_MAP;
}

/** `spec.unschedulable` of a Node object. */
export function isUnschedulable(node: unknown): boolean {
  return valueAt(node, 'spec', 'unschedulable') === true;
}

/** `metadata.finalizers` of an object, [] when absent or not a list. */
export function finalizersOf(object: unknown): readonly unknown[] {
  const finalizers = valueAt(object, 'metadata', 'finalizers');
  return Array.isArray(finalizers) ? finalizers : [];
}

// Narrowing the `unknown` objects of an AdmissionReview to the few fields validators read (the narrowing
// helpers themselves live in src/json.ts).

import { isObject, stringAtPath, stringMapAt, valueAt } from '../json.ts';

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
    annotations: stringMapAt(metadata, 'annotations'),
    labels: stringMapAt(metadata, 'labels'),
  };
}

/** `spec.unschedulable` of a Node object. */
export function isUnschedulable(node: unknown): boolean {
  return valueAt(node, 'spec', 'unschedulable') === true;
}

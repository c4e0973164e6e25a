// How an ajv error reads in one line, for the AdmissionReview decoder (src/server/codec.ts) and the configuration
// loader (src/config/load.ts): the field as a dotted path, the value found there, and the wording of the keywords
// both schemas use. Each caller adds the keywords only its schema has.

import type { ErrorObject } from 'ajv';
import { isObject } from './json.ts';

/** The segments of a JSON pointer (`/a/b~1c/0` → a, b/c, 0). */
export function pointerSegments(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The value a JSON pointer names in `root`, or undefined. */
export function valueAtPointer(root: unknown, pointer: string): unknown {
  let node = root;
  for (const key of pointerSegments(pointer)) {
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isObject(node)) node = node[key];
    else return undefined;
  }
  return node;
}

/** A JSON pointer as a field path: `/admission/tls/0` → `admission.tls[0]`. */
export function pointerToPath(pointer: string): string {
  return pointerSegments(pointer)
    .map((segment, index) => (/^\d+$/.test(segment) ? `[${segment}]` : index === 0 ? segment : `.${segment}`))
    .join('');
}

/** "a string", "an object", "an integer". */
export function withArticle(type: string): string {
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

/**
 * The wording shared by both schemas for `required`, `enum` and `type` errors; undefined for other keywords.
 * `at` is the field path, `got` the value found there as the caller shows it, `whole` names the root value.
 */
export function describeCommonError(error: ErrorObject, at: string, got: string, whole: string): string | undefined {
  switch (error.keyword) {
    case 'required':
      return `${at ? `${at}.` : ''}${String(error.params.missingProperty)} is required`;
    case 'enum':
      return `${at} must be one of ${(error.params.allowedValues as unknown[]).join(', ')} (got ${got})`;
    case 'type':
      return `${at || whole} must be ${withArticle(String(error.params.type))} (got ${got})`;
    default:
      return undefined;
  }
}

import { allowed } from './types.ts';
import type { Validator, ValidatorFactory } from './validator.ts';

export const ALLOW_ALL_TARGET = 'allow-all';

/**
 * Allows everything. For tests and smoke checks of the server; served only when admission.allowAll is set.
 * Its declaration only matches ConfigMaps labelled volume-guard.io/test=allow-all, so registering it never
 * intercepts real traffic.
 */
export const allowAllValidator: ValidatorFactory = (): Validator => ({
  declaration: {
    name: 'allow-all.volume-guard.io',
    target: ALLOW_ALL_TARGET,
    rules: [
      {
        apiGroups: [''],
        apiVersions: ['v1'],
        resources: ['configmaps'],
        operations: ['CREATE', 'UPDATE', 'DELETE'],
        scope: 'Namespaced',
      },
    ],
    objectSelector: { matchLabels: { 'volume-guard.io/test': 'allow-all' } },
  },
  handle: () => allowed(),
});

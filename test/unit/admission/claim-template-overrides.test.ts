// Override keys in a StatefulSet's volumeClaimTemplates. The StatefulSet controller copies a
// claim template's metadata (annotations included) into every PVC it creates (kubernetes
// pkg/controller/statefulset/stateful_set_utils.go getPersistentVolumeClaims: `claim := templates[i].DeepCopy()`), and
// creates it as its own identity. The override guard refuses that CREATE (the controller is no override writer), so
// the pods stay Pending (FailedCreate on the StatefulSet); the StatefulSet CREATE that planted the keys passes silently.
import { describe, expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import type { UserInfo } from '../../../src/admission/types.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { EMPTY_SNAPSHOT } from '../../support/empty-model.ts';

const config = defaultConfig();
const validators = createValidators(config);
const byTarget = (target: string) => validators.find((validator) => validator.declaration.target === target)!;
const STATEFULSET_CONTROLLER: UserInfo = { username: 'system:serviceaccount:kube-system:statefulset-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] };
const TEMPLATE_ANNOTATIONS = { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-reason': 'scratch data' };

describe('override keys in a StatefulSet claim template', () => {
  it('the PVC the StatefulSet controller creates from the template is refused by the override guard', () => {
    const create = request({
      kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
      resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
      operation: 'CREATE',
      namespace: 'shop',
      name: 'data-db-0',
      userInfo: STATEFULSET_CONTROLLER,
      object: { metadata: { name: 'data-db-0', namespace: 'shop', annotations: TEMPLATE_ANNOTATIONS, labels: { app: 'db' } }, spec: {} },
    });
    expect(byTarget('overrides').handle(create, context(EMPTY_SNAPSHOT, { config })).allowed).toBe(false);
  });

  it('so the StatefulSet CREATE carrying them says so (its pods would stay Pending)', () => {
    const create = request({
      kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
      resource: { group: 'apps', version: 'v1', resource: 'statefulsets' },
      operation: 'CREATE',
      namespace: 'shop',
      name: 'db',
      userInfo: ADMIN,
      object: {
        metadata: { name: 'db', namespace: 'shop' },
        spec: {
          replicas: 1,
          serviceName: 'db',
          selector: { matchLabels: { app: 'db' } },
          template: {},
          volumeClaimTemplates: [{ metadata: { name: 'data', annotations: TEMPLATE_ANNOTATIONS }, spec: {} }],
        },
      },
    });
    const decision = byTarget('statefulset').handle(create, context(EMPTY_SNAPSHOT, { config }));
    expect(decision.allowed).toBe(true);
    expect((decision.warnings ?? []).join(' ')).toMatch(/volumeClaimTemplates|claim template/);
  });
});

// A StatefulSet CREATE whose claim templates carry override keys warns that its PVCs would be refused, unless the
// StatefulSet controller may write overrides: under `overrides.mode: rbac`
// (or with the controller's account or group among allowedUsers/allowedGroups) the StatefulSet controller is an
// allowed writer: the mutating step records it as skip-by, the guard allows the PVC, and the pods start.
import { describe, expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import type { UserInfo } from '../../../src/admission/types.ts';
import { recordWriter } from '../../../src/admission/validators/override-writer.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { ADMIN, context, request } from '../../support/admission.ts';
import { EMPTY_SNAPSHOT } from '../../support/empty-model.ts';

const base = defaultConfig();
const rbac: Config = { ...base, overrides: { ...base.overrides, mode: 'rbac' } };
const validators = createValidators(rbac);
const byTarget = (target: string) => validators.find((validator) => validator.declaration.target === target)!;
const STATEFULSET_CONTROLLER: UserInfo = { username: 'system:serviceaccount:kube-system:statefulset-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] };
const TEMPLATE_ANNOTATIONS = { 'volume-guard.io/delete': 'true', 'volume-guard.io/skip-reason': 'scratch data' };

describe('override keys in claim templates under overrides.mode rbac', () => {
  it('the controller PVC CREATE passes (writer step records skip-by, the guard allows)', () => {
    const object = { metadata: { name: 'data-db-0', namespace: 'shop', annotations: { ...TEMPLATE_ANNOTATIONS } }, spec: {} };
    const create = request({
      kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
      resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
      operation: 'CREATE',
      namespace: 'shop',
      name: 'data-db-0',
      userInfo: STATEFULSET_CONTROLLER,
      object,
    });
    const step = recordWriter(create, { config: rbac });
    expect(step.patch?.length).toBeGreaterThan(0);
    const patched = { ...create, object: { ...object, metadata: { ...object.metadata, annotations: { ...TEMPLATE_ANNOTATIONS, 'volume-guard.io/skip-by': STATEFULSET_CONTROLLER.username } } } };
    expect(byTarget('overrides').handle(patched, context(EMPTY_SNAPSHOT, { config: rbac })).allowed).toBe(true);
  });

  it('so the StatefulSet CREATE must not warn that volume-guard refuses its PVCs', () => {
    const create = request({
      kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
      resource: { group: 'apps', version: 'v1', resource: 'statefulsets' },
      operation: 'CREATE',
      namespace: 'shop',
      name: 'db',
      userInfo: ADMIN,
      object: {
        metadata: { name: 'db', namespace: 'shop' },
        spec: { replicas: 1, serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: {}, volumeClaimTemplates: [{ metadata: { name: 'data', annotations: TEMPLATE_ANNOTATIONS }, spec: {} }] },
      },
    });
    const decision = byTarget('statefulset').handle(create, context(EMPTY_SNAPSHOT, { config: rbac }));
    expect(decision.allowed).toBe(true);
    expect((decision.warnings ?? []).join(' ')).not.toMatch(/refuses that/);
  });
});

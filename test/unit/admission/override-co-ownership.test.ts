// Server-side apply gives every applier ownership of each field it applies, its value changed or not, and a field
// leaves the object only when no manager owns it any more (apimachinery structured-merge-diff: an applier dropping a
// field it applied releases it; the field stays while another manager still owns it). So a user who may not write
// overrides could apply an override's keys with the values they already had (`kubectl apply --server-side
// --field-manager=alice`): no value changes, the override guard was not even called, and when the admin's GitOps tool
// later drops the approval from its manifest, the annotation stays in place, still honored under the admin's skip-by
// (reproduced on the harness API server: a PVC's reuse approval survived the admin's apply without it). Taking
// ownership of a granting key by an apply is an override write, refused to non-writers.
import { describe, expect, it } from 'vitest';
import { overrideGuardDeclaration, overrideGuardValidator } from '../../../src/admission/validators/override-guard.ts';
import { recordWriter } from '../../../src/admission/validators/override-writer.ts';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, ALICE, context, request } from '../../support/admission.ts';
import { EMPTY_SNAPSHOT } from '../../support/empty-model.ts';

const config = defaultConfig();
const guard = overrideGuardValidator(config);
const APPROVAL = { 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-reason': 'restore INC-1' };

interface Entry {
  readonly manager: string;
  readonly operation: 'Apply' | 'Update';
  /** The annotation keys this manager owns. */
  readonly annotations: readonly string[];
}

function entry({ manager, operation, annotations }: Entry) {
  const owned = Object.fromEntries(annotations.map((key) => [`f:${key}`, {}]));
  return {
    manager,
    operation,
    apiVersion: 'v1',
    time: '2026-12-07T20:00:00Z',
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:metadata': annotations.length > 0 ? { 'f:annotations': owned } : {}, 'f:spec': { 'f:resources': {} } },
  };
}

function pvcObject(annotations: Record<string, string>, managedFields: readonly Entry[]) {
  return { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data-db-0', namespace: 'shop', annotations, managedFields: managedFields.map(entry) }, spec: {} };
}

const GITOPS: Entry = { manager: 'gitops', operation: 'Apply', annotations: ['volume-guard.io/reuse', 'volume-guard.io/skip-by', 'volume-guard.io/skip-reason'] };

function write(user: UserInfo, before: readonly Entry[], after: readonly Entry[], annotations: Record<string, string> = APPROVAL): AdmissionRequest {
  return request({
    kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
    resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
    operation: 'UPDATE',
    namespace: 'shop',
    name: 'data-db-0',
    userInfo: user,
    object: pvcObject(annotations, after),
    oldObject: pvcObject(APPROVAL, before),
  });
}

const judge = (user: UserInfo, before: readonly Entry[], after: readonly Entry[]) => guard.handle(write(user, before, after), context(EMPTY_SNAPSHOT, { config }));

describe('co-owning an override by server-side apply', () => {
  it("a non-writer's apply of the approval's keys with their values is refused, saying why", () => {
    const decision = judge(ALICE, [GITOPS], [GITOPS, { manager: 'alice', operation: 'Apply', annotations: ['volume-guard.io/reuse', 'volume-guard.io/skip-by'] }]);
    expect(decision.allowed).toBe(false);
    const message = decision.status?.message ?? '';
    expect(message).toContain('alice may not');
    expect(message).toContain('volume-guard.io/reuse');
    expect(message).toContain('PersistentVolumeClaim shop/data-db-0');
    expect(message).toContain('server-side apply');
    expect(message).toContain('system:masters');
    // The mutating step records nothing for it (nothing changed).
    expect(recordWriter(write(ALICE, [GITOPS], [GITOPS, { manager: 'alice', operation: 'Apply', annotations: ['volume-guard.io/reuse'] }]), { config }).patch).toBeUndefined();
  });

  it('so is an applier that already owned other fields taking the key too', () => {
    const before = [GITOPS, { manager: 'alice', operation: 'Apply', annotations: [] } as const];
    expect(judge(ALICE, before, [GITOPS, { manager: 'alice', operation: 'Apply', annotations: ['volume-guard.io/reuse'] }]).allowed).toBe(false);
  });

  it('an allowed writer may co-own it; owning only skip-reason or skip-by grants nothing and passes; an Update takes no ownership', () => {
    expect(judge(ADMIN, [GITOPS], [GITOPS, { manager: 'admin-cli', operation: 'Apply', annotations: ['volume-guard.io/reuse'] }]).allowed).toBe(true);
    expect(judge(ALICE, [GITOPS], [GITOPS, { manager: 'alice', operation: 'Apply', annotations: ['volume-guard.io/skip-reason', 'volume-guard.io/skip-by'] }]).allowed).toBe(true);
    expect(judge(ALICE, [GITOPS], [GITOPS, { manager: 'kubectl-annotate', operation: 'Update', annotations: ['volume-guard.io/reuse'] }]).allowed).toBe(true);
    // The applier's own ownership kept from before (a re-apply of the same manifest) is nothing new.
    const owning = { manager: 'alice', operation: 'Apply', annotations: ['volume-guard.io/reuse'] } as const;
    expect(judge(ALICE, [GITOPS, owning], [GITOPS, owning]).allowed).toBe(true);
    // Dropping its ownership (its apply no longer carries the key) passes.
    expect(judge(ALICE, [GITOPS, owning], [GITOPS, { ...owning, annotations: [] }]).allowed).toBe(true);
  });

  it('the webhook is sent such an apply (matchConditions name managedFields)', () => {
    const expression = overrideGuardDeclaration().matchConditions?.map((condition) => condition.expression).join(' ') ?? '';
    expect(expression).toContain('managedFields');
    expect(expression).toContain("'Apply'");
  });
});

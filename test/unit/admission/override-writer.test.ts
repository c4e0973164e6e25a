// volume-guard's mutating step for override writes (override-writer.volume-guard.io): an allowed writer's plain
// `kubectl annotate pvc X volume-guard.io/reuse=true` gets `volume-guard.io/skip-by=<writer>` added by a JSON Patch,
// and the patched write then passes the override guard, which stays the gate for everything else.
import { describe, expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import type { AdmissionRequest, Decision, JsonPatchOperation, UserInfo } from '../../../src/admission/types.ts';
import { overrideGuardDeclaration } from '../../../src/admission/validators/override-guard.ts';
import { overrideWriterDeclaration, recordWriterPatch } from '../../../src/admission/validators/override-writer.ts';
import { mutatingWebhookConfiguration, webhookConfiguration } from '../../../src/admission/webhooks.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { ADMIN, ALICE, NODE_KIND, context, harvesterUpgradeRequest, nodeObject, request } from '../../support/admission.ts';
import { EMPTY_SNAPSHOT } from '../../support/empty-model.ts';

const config = defaultConfig();
const validators = createValidators(config);
const byTarget = (target: string) => validators.find((validator) => validator.declaration.target === target)!;
const writer = byTarget('override-writer');
const guard = byTarget('overrides');
const run = (admission: AdmissionRequest, configured: Config = config): Decision => writer.handle(admission, context(EMPTY_SNAPSHOT, { config: configured }));

const PVC_KIND = {
  kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
  resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
} as const;

function pvc(annotations?: Record<string, string>, labels?: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data-db-0', namespace: 'shop', ...(annotations ? { annotations } : {}), ...(labels ? { labels } : {}) },
    spec: {},
  };
}

/** `kubectl annotate pvc data-db-0 -n shop ...`: an UPDATE from `before` to `after`. */
function annotatePvc(after: Record<string, unknown>, before: Record<string, unknown> = pvc(), user: UserInfo = ADMIN): AdmissionRequest {
  return request({ ...PVC_KIND, operation: 'UPDATE', namespace: 'shop', name: 'data-db-0', userInfo: user, object: after, oldObject: before });
}

/** A tiny RFC 6902 applier for the two operations the step answers with (add, replace), over a copy. */
function applyPatch(object: unknown, patch: readonly JsonPatchOperation[]): unknown {
  const copy = structuredClone(object) as Record<string, unknown>;
  for (const operation of patch) {
    const segments = operation.path.split('/').slice(1).map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = segments.pop()!;
    let parent = copy;
    for (const segment of segments) {
      const child = parent[segment];
      if (typeof child !== 'object' || child === null) throw new Error(`${operation.path}: ${segment} is missing`);
      parent = child as Record<string, unknown>;
    }
    if (operation.op === 'replace' && !(last in parent)) throw new Error(`${operation.path}: nothing to replace`);
    parent[last] = operation.value;
  }
  return copy;
}

/** The object after the step's patch, as the API server hands it on to the validating webhooks. */
function patched(admission: AdmissionRequest, decision: Decision): AdmissionRequest {
  return { ...admission, object: applyPatch(admission.object, decision.patch ?? []) };
}

describe('the override-writer declaration', () => {
  it("is the override guard's own rules, selectors and matchConditions, as a mutating webhook", () => {
    const { name, target, mutating, ...rest } = overrideWriterDeclaration();
    const { name: guardName, target: guardTarget, ...guardRest } = overrideGuardDeclaration();
    expect({ name, target, mutating }).toEqual({ name: 'override-writer.volume-guard.io', target: 'override-writer', mutating: true });
    expect(guardName).toBe('overrides.volume-guard.io');
    expect(guardTarget).toBe('overrides');
    expect(rest).toEqual(guardRest);
    expect(writer.declaration).toEqual(overrideWriterDeclaration());
  });
});

describe('the override-writer step', () => {
  it("adds skip-by with the requester's name to an allowed writer's plain annotate, and never refuses", () => {
    const admission = annotatePvc(pvc({ 'volume-guard.io/reuse': 'true' }));
    const decision = run(admission);
    expect(decision.allowed).toBe(true);
    expect(decision.patch).toEqual([{ op: 'add', path: '/metadata/annotations/volume-guard.io~1skip-by', value: 'admin' }]);
    expect(decision.auditAnnotations).toEqual({ 'skip-by-recorded': 'admin' });
  });

  it('creates metadata.annotations when the object has none', () => {
    expect(recordWriterPatch({ metadata: { name: 'w1' } }, 'admin')).toEqual([{ op: 'add', path: '/metadata/annotations', value: { 'volume-guard.io/skip-by': 'admin' } }]);
    expect(recordWriterPatch({ metadata: { annotations: null } }, 'admin')).toEqual([{ op: 'add', path: '/metadata/annotations', value: { 'volume-guard.io/skip-by': 'admin' } }]);
  });

  it('never brings back a dormant override (stored without a writer) for a write that grants nothing itself', () => {
    const dormant = { 'volume-guard.io/reuse': 'true' };
    // A reason or an expiry written beside it, or a volume-guard.io/ label: the guard asks for skip-by (the takeover).
    for (const after of [pvc({ ...dormant, 'volume-guard.io/skip-reason': 'x' }), pvc({ ...dormant, 'volume-guard.io/skip-until': '2030-01-01T00:00:00Z' }), pvc(dormant, { 'volume-guard.io/skip-reason': 'x' })]) {
      const admission = annotatePvc(after, pvc(dormant));
      expect(run(admission)).toEqual({ allowed: true });
      const refused = guard.handle(admission, context(EMPTY_SNAPSHOT, { config }));
      expect(refused.allowed).toBe(false);
      expect(refused.status?.message).not.toContain('it is not installed');
      // Annotations: the takeover is explained; a label is never read, so nothing about the step.
      if (after['metadata'] !== undefined && JSON.stringify(after).includes('"labels"')) expect(refused.status?.message).not.toContain('override-writer');
      else expect(refused.status?.message).toContain('has no recorded writer');
    }
    // A reason alone beside no override: nothing to take over, and nothing granted.
    const reasonOnly = annotatePvc(pvc({ 'volume-guard.io/skip-reason': 'x' }), pvc());
    const refusedReason = guard.handle(reasonOnly, context(EMPTY_SNAPSHOT, { config }));
    expect(refusedReason.status?.message).toContain('alone grant nothing');
    expect(refusedReason.status?.message).not.toContain('has no recorded writer');
    // A label-only write on a node: nothing granted by an annotation, nothing recorded.
    const label = request({ ...NODE_KIND, operation: 'UPDATE', name: 'w1', object: { metadata: { name: 'w1', labels: { 'volume-guard.io/skip': 'all' } } }, oldObject: { metadata: { name: 'w1' } } });
    expect(run(label)).toEqual({ allowed: true });
    // Granting it again (the same value re-sent counts as unchanged, a new value as a write of its own) is recorded.
    expect(run(annotatePvc(pvc({ 'volume-guard.io/skip': 'orphan-pvc' }), pvc(dormant))).patch).toHaveLength(1);
  });

  it('overwrites a skip-by naming someone else: the recorded writer is the one who wrote', () => {
    const decision = run(annotatePvc(pvc({ 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'mallory' })));
    expect(decision.patch).toEqual([{ op: 'add', path: '/metadata/annotations/volume-guard.io~1skip-by', value: 'admin' }]);
    expect(decision.auditAnnotations).toEqual({ 'skip-by-recorded': 'admin (replacing "mallory")' });
  });

  it('records the writer on a CREATE, on a changed reason, and on the removal of skip-until while the override stays', () => {
    const create = request({ ...PVC_KIND, operation: 'CREATE', namespace: 'shop', name: 'data-db-0', object: pvc({ 'volume-guard.io/reuse': 'true' }) });
    expect(run(create).patch).toHaveLength(1);
    const stored = { 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'bob', 'volume-guard.io/skip-until': '2030-01-01T00:00:00Z' };
    expect(run(annotatePvc(pvc({ ...stored, 'volume-guard.io/skip-reason': 'restore' }), pvc(stored))).patch).toHaveLength(1);
    const { 'volume-guard.io/skip-until': _until, ...withoutExpiry } = stored;
    expect(run(annotatePvc(pvc(withoutExpiry), pvc(stored))).patch).toHaveLength(1);
  });

  it('leaves the write alone when nothing needs a recorded writer', () => {
    const stored = { 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'bob' };
    // A removal of the override.
    expect(run(annotatePvc(pvc({}), pvc(stored))).patch).toBeUndefined();
    // Keys unchanged (another annotation written beside them).
    expect(run(annotatePvc(pvc({ ...stored, note: 'x' }), pvc(stored))).patch).toBeUndefined();
    // No override key at all.
    expect(run(annotatePvc(pvc({ note: 'x' }))).patch).toBeUndefined();
    // skip-by already the requester's.
    expect(run(annotatePvc(pvc({ 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'admin' }))).patch).toBeUndefined();
    // Harvester's annotation alone needs no recorded writer.
    const harvester = run(harvesterUpgradeRequest({ 'harvesterhci.io/skipSingleReplicaDetachedVol': 'true' }));
    expect(harvester).toEqual({ allowed: true });
  });

  it('leaves a requester who may not write overrides, or has no name, to the guard', () => {
    const byAlice = annotatePvc(pvc({ 'volume-guard.io/reuse': 'true' }), pvc(), ALICE);
    expect(run(byAlice)).toEqual({ allowed: true });
    expect(guard.handle(byAlice, context(EMPTY_SNAPSHOT, { config })).allowed).toBe(false);
    const nameless = annotatePvc(pvc({ 'volume-guard.io/reuse': 'true' }), pvc(), { username: '', groups: ['system:masters'] });
    expect(run(nameless)).toEqual({ allowed: true });
    // Nothing to record for a nameless requester: the guard's refusal does not blame the step.
    expect(guard.handle(nameless, context(EMPTY_SNAPSHOT, { config })).status?.message).not.toContain('override-writer');
    // Nobody may write overrides: nothing recorded. `rbac`: anyone RBAC lets write is recorded.
    const nobody: Config = { ...config, overrides: { ...config.overrides, allowedGroups: [], allowedUsers: [] } };
    expect(run(annotatePvc(pvc({ 'volume-guard.io/reuse': 'true' })), nobody)).toEqual({ allowed: true });
    const rbac: Config = { ...config, overrides: { ...config.overrides, mode: 'rbac' } };
    expect(run(byAlice, rbac).patch).toHaveLength(1);
  });
});

describe('a patched write passes the override guard', () => {
  const cases: [string, AdmissionRequest][] = [
    ['a plain reuse approval on a PVC', annotatePvc(pvc({ 'volume-guard.io/reuse': 'true' }))],
    ['a forged skip-by on a PVC', annotatePvc(pvc({ 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'mallory' }))],
    [
      "a node's skip with a reason (kubectl annotate node)",
      request({
        ...NODE_KIND,
        operation: 'UPDATE',
        name: 'w1',
        object: nodeObject('w1', false, { 'volume-guard.io/skip': 'node-local-volume', 'volume-guard.io/skip-reason': 'disk swap' }),
        oldObject: nodeObject('w1', false, {}),
      }),
    ],
  ];
  it.each(cases)('%s: refused as sent, allowed once patched', (_name, admission) => {
    const guardContext = context(EMPTY_SNAPSHOT, { config });
    const unpatched = guard.handle(admission, guardContext);
    expect(unpatched.allowed).toBe(false);
    expect(unpatched.status?.message).toContain('override-writer.volume-guard.io records it for an allowed writer');
    const decision = run(admission);
    expect(decision.patch?.length).toBe(1);
    const after = guard.handle(patched(admission, decision), guardContext);
    expect(after.allowed).toBe(true);
    expect(after.auditAnnotations?.['override-written']).toContain('by admin');
  });
});

describe('the webhook configurations registered from the declarations', () => {
  const declarations = validators.map((validator) => validator.declaration);
  const options = { configurationName: 'vg', client: { url: 'https://127.0.0.1:8443', caBundle: 'Q0E=' }, upgradeKinds: config.upgrades.kinds, failurePolicy: 'Fail' as const, timeoutSeconds: 7 };
  type Entry = Record<string, any>;
  const validating = webhookConfiguration(declarations, options) as { kind: string; webhooks: Entry[] };
  const mutating = mutatingWebhookConfiguration(declarations, options) as { kind: string; webhooks: Entry[] };

  it('puts the step in the MutatingWebhookConfiguration only: Ignore, Never, /mutate/, the guard\'s rules and conditions', () => {
    expect(mutating.kind).toBe('MutatingWebhookConfiguration');
    expect(validating.kind).toBe('ValidatingWebhookConfiguration');
    expect(mutating.webhooks.map((webhook) => webhook.name)).toEqual(['override-writer.volume-guard.io']);
    expect(validating.webhooks.map((webhook) => webhook.name)).not.toContain('override-writer.volume-guard.io');
    const [step] = mutating.webhooks;
    const guardEntry = validating.webhooks.find((webhook) => webhook.name === 'overrides.volume-guard.io')!;
    expect(step).toMatchObject({
      clientConfig: { url: 'https://127.0.0.1:8443/mutate/override-writer', caBundle: 'Q0E=' },
      failurePolicy: 'Ignore',
      reinvocationPolicy: 'Never',
      sideEffects: 'None',
      timeoutSeconds: 7,
      admissionReviewVersions: ['v1'],
    });
    expect(guardEntry.failurePolicy).toBe('Fail');
    expect(guardEntry).not.toHaveProperty('reinvocationPolicy');
    const { name: _n, clientConfig: _c, failurePolicy: _f, reinvocationPolicy: _r, ...stepRest } = step!;
    const { name: _gn, clientConfig: _gc, failurePolicy: _gf, ...guardRest } = guardEntry;
    expect(stepRest).toEqual(guardRest);
  });
});

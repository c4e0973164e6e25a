// Override values and keys as long as the API server lets annotations be (256 KiB in all) are answered with a few
// short warnings: each unknown entry once, the first few named, the rest counted, none echoed in full. The event
// loop judges every admission request in turn, so one write's feedback must not cost work in proportion to its size.
import { describe, expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import { MAX_UNKNOWN_NAMED, unknownEntryWarnings, unknownKeyWarnings } from '../../../src/admission/override-feedback.ts';
import { MAX_WARNING_LENGTH } from '../../../src/admission/messages.ts';
import { capWarnings, encodeAdmissionResponse } from '../../../src/server/codec.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ALICE, context, request } from '../../support/admission.ts';
import { EMPTY_SNAPSHOT } from '../../support/empty-model.ts';

const config = defaultConfig();
const validators = createValidators(config);
/** Wrapped warnings as one line of text. */
const text = (warnings: readonly string[]): string => warnings.join(' ').replace(/\s+/g, ' ');
const byTarget = (target: string) => validators.find((validator) => validator.declaration.target === target)!;

function statefulSetCreate(skip: string) {
  return request({
    kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
    resource: { group: 'apps', version: 'v1', resource: 'statefulsets' },
    operation: 'CREATE',
    namespace: 'shop',
    name: 'db',
    userInfo: ALICE,
    object: {
      metadata: { name: 'db', namespace: 'shop', annotations: { 'volume-guard.io/skip': skip } },
      spec: { replicas: 1, serviceName: 'db', selector: {}, template: {}, volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: {} }] },
    },
  });
}

describe('unknown skip entries', () => {
  it('names each distinct entry once, the first few, and counts the rest', () => {
    const entries = ['orphan-pcv', 'orphan-pcv', 'foo', 'bar', 'baz', 'qux', 'quux', 'corge'];
    const warnings = unknownEntryWarnings('node w1', entries);
    const named = warnings.filter((warning) => warning.includes('unknown check "'));
    expect(named).toHaveLength(MAX_UNKNOWN_NAMED);
    expect(named.filter((warning) => warning.includes('"orphan-pcv"'))).toHaveLength(1);
    expect(named[0]).toContain('did you mean orphan-pvc?');
    expect(warnings.at(-1)).toBe('volume-guard: 2 more unknown checks in volume-guard.io/skip, ignored');
  });

  it('a 240 KB skip value on a StatefulSet CREATE gets a few short warnings', () => {
    const skip = Array.from({ length: 40_000 }, (_, index) => `x${index}`).join(',');
    expect(skip.length).toBeGreaterThan(200_000);
    const decision = byTarget('statefulset').handle(statefulSetCreate(skip), context(EMPTY_SNAPSHOT, { config }));
    const warnings = decision.warnings ?? [];
    expect(warnings.length).toBeLessThanOrEqual(2 * (MAX_UNKNOWN_NAMED + 1));
    expect(warnings.filter((warning) => warning.length > MAX_WARNING_LENGTH)).toEqual([]);
    expect(text(warnings)).toContain(`${40_000 - MAX_UNKNOWN_NAMED} more unknown checks in volume-guard.io/skip, ignored`);
  });

  it('one entry as long as an annotation is echoed cut short, with no suggestion', () => {
    const warnings = unknownEntryWarnings('node w1', ['single-replica'.repeat(10_000)]);
    expect(warnings.join(' ').length).toBeLessThan(400);
    expect(warnings.join(' ')).toContain('…');
    expect(warnings.join(' ')).not.toContain('did you mean');
  });
});

describe('unknown volume-guard.io/ keys', () => {
  it('names the first few and counts the rest', () => {
    const annotations: Record<string, string> = {};
    for (let index = 0; index < 3800; index++) annotations[`volume-guard.io/skip-evictionsxxxxxxxxxxxxxxxxxxxxxx${index}`] = '';
    annotations['volume-guard.io/skip-reson'] = 'typo';
    const warnings = text(unknownKeyWarnings('Namespace shop', annotations, undefined));
    expect(warnings.match(/is no volume-guard key, ignored;/g)).toHaveLength(MAX_UNKNOWN_NAMED);
    expect(warnings).toContain(`volume-guard: Namespace shop has ${3801 - MAX_UNKNOWN_NAMED} more volume-guard.io/ annotations that are no volume-guard key, ignored`);
  });

  it('still suggests the key a typo meant', () => {
    expect(text(unknownKeyWarnings('Node w1', { 'volume-guard.io/skip-reson': 'x' }, undefined))).toContain('did you mean volume-guard.io/skip-reason?');
  });
});

describe('warnings the API server would drop', () => {
  it('C1 control characters are replaced as C0 ones are (Go unicode.IsControl)', () => {
    expect(capWarnings(['unknown check "orphan\u0085pvc"\u009b'])).toEqual(['unknown check "orphan pvc"']);
  });

  it('an unknown entry holding one reaches the response without it', () => {
    const decision = byTarget('statefulset').handle(statefulSetCreate('orphan\u0085pvc'), context(EMPTY_SNAPSHOT, { config }));
    const warnings = encodeAdmissionResponse('u', decision).response.warnings ?? [];
    expect(warnings.some((warning) => warning.includes('unknown check'))).toBe(true);
    expect(warnings.filter((warning) => /[\u0080-\u009f]/.test(warning))).toEqual([]);
  });
});

describe('warnings at most MAX_WARNING_LENGTH characters', () => {
  it('a skip-until that has passed', () => {
    const decision = byTarget('overrides').handle(
      request({
        kind: { group: '', version: 'v1', kind: 'Namespace' },
        resource: { group: '', version: 'v1', resource: 'namespaces' },
        operation: 'UPDATE',
        name: 'shop-with-a-rather-long-name',
        namespace: 'shop-with-a-rather-long-name',
        userInfo: { username: 'admin', groups: ['system:masters'] },
        object: {
          metadata: {
            name: 'shop-with-a-rather-long-name',
            annotations: {
              'volume-guard.io/skip': 'single-replica',
              'volume-guard.io/skip-reason': 'INC-42',
              'volume-guard.io/skip-by': 'admin',
              'volume-guard.io/skip-until': '2020-01-01T00:00:00Z',
            },
          },
        },
        oldObject: { metadata: { name: 'shop-with-a-rather-long-name' } },
      }),
      context(EMPTY_SNAPSHOT, { config }),
    );
    expect(decision.allowed).toBe(true);
    expect((decision.warnings ?? []).join(' ')).toContain('has passed');
    expect((decision.warnings ?? []).filter((warning) => warning.length > MAX_WARNING_LENGTH)).toEqual([]);
  });

  it("Longhorn's default-setting ConfigMap that is not a YAML map", () => {
    const decision = byTarget('longhorn-settings').handle(
      request({
        kind: { group: '', version: 'v1', kind: 'ConfigMap' },
        resource: { group: '', version: 'v1', resource: 'configmaps' },
        operation: 'UPDATE',
        name: 'longhorn-default-setting',
        namespace: 'longhorn-system',
        object: { metadata: { name: 'longhorn-default-setting', namespace: 'longhorn-system' }, data: { 'default-setting.yaml': '- a\n- b\n' } },
        oldObject: { metadata: { name: 'longhorn-default-setting', namespace: 'longhorn-system' }, data: {} },
      }),
      context(EMPTY_SNAPSHOT, { config }),
    );
    expect((decision.warnings ?? []).join(' ')).toContain('not a YAML map');
    expect((decision.warnings ?? []).filter((warning) => warning.length > MAX_WARNING_LENGTH)).toEqual([]);
  });
});

// The pure parts of an override's life cycle: RFC 3339 expiry, who counts as its writer, and the startup warnings
// for writer settings that let (nearly) anyone override the checks.
import { describe, expect, it } from 'vitest';
import {
  isReuseApproved,
  overrideLifecycle,
  overrideWriterWarnings,
  parseRfc3339,
  skipFrom,
  whyNotHonored,
  writerOf,
} from '../../../src/admission/overrides.ts';
import { ADMIN, ALICE } from '../../support/admission.ts';

const listed = { allowedGroups: ['system:masters'], allowedUsers: [] };

describe('parseRfc3339', () => {
  it.each([
    ['2026-01-15T18:00:00Z', '2026-01-15T18:00:00.000Z'],
    ['2026-01-15t18:00:00z', '2026-01-15T18:00:00.000Z'],
    ['2026-01-15T18:00:00.5+02:00', '2026-01-15T16:00:00.500Z'],
    ['2026-01-15 18:00:00-05:30', '2026-01-15T23:30:00.000Z'],
    ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
  ])('reads %s', (text, iso) => {
    expect(parseRfc3339(text)?.toISOString()).toBe(iso);
  });
  it.each(['2026-01-15', '2026-01-15T18:00:00', '2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-01-15T24:00:00Z', 'tomorrow', '', '1768500000'])(
    'refuses %j',
    (text) => {
      expect(parseRfc3339(text)).toBeUndefined();
    },
  );
});

describe('an override\'s writer and expiry', () => {
  const now = Date.parse('2026-06-01T12:00:00Z');
  it('counts a stored override only with a recorded writer, before its expiry', () => {
    const stored = skipFrom('node n1', { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'alice' }, undefined, { now })!;
    expect(whyNotHonored(stored, listed)).toBeUndefined();
    expect(writerOf(stored)).toBe('alice');
    const unsigned = skipFrom('node n1', { 'volume-guard.io/skip': '*' }, undefined, { now })!;
    expect(whyNotHonored(unsigned, listed)).toMatch(/^no writer recorded/);
    const until = { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'alice', 'volume-guard.io/skip-until': '2026-06-01T12:00:00Z' };
    expect(whyNotHonored(skipFrom('node n1', until, undefined, { now: now - 1 })!, listed)).toBeUndefined();
    expect(whyNotHonored(skipFrom('node n1', until, undefined, { now })!, listed)).toBe('expired at 2026-06-01T12:00:00.000Z (volume-guard.io/skip-until)');
  });
  it('judges an override written by this request by its requester, expiry included', () => {
    const values = { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-until': '2026-06-01T11:00:00Z' };
    expect(whyNotHonored(skipFrom('node n1', { 'volume-guard.io/skip': '*' }, ADMIN, { now })!, listed)).toBeUndefined();
    expect(whyNotHonored(skipFrom('node n1', { 'volume-guard.io/skip': '*' }, ALICE, { now })!, listed)).toBe('alice may not write overrides');
    expect(whyNotHonored(skipFrom('node n1', values, ADMIN, { now })!, listed)).toMatch(/^expired/);
  });
  it('reads the writer and expiry from annotations when the skip is a label', () => {
    const source = skipFrom('Plan p', { 'volume-guard.io/skip': 'single-replica' }, undefined, {
      now,
      annotations: { 'volume-guard.io/skip-by': 'bob', 'volume-guard.io/skip-reason': 'window 3' },
    })!;
    expect(source).toMatchObject({ recordedBy: 'bob', reason: 'window 3' });
  });
  it('honors nothing stored when nobody may write overrides', () => {
    const stored = skipFrom('node n1', { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'alice' }, undefined, { now })!;
    expect(whyNotHonored(stored, { allowedGroups: [], allowedUsers: [] })).toMatch(/nobody may write overrides/);
    expect(whyNotHonored(stored, { mode: 'rbac', allowedGroups: [], allowedUsers: [] })).toBeUndefined();
  });
  it('refuses a recorded writer the settings could never have allowed: no allowedGroups, not in allowedUsers', () => {
    // Written while volume-guard was not installed (before install, between uninstall and reinstall): skip-by says anyone.
    const by = (writer: string) => skipFrom('node n1', { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': writer }, undefined, { now })!;
    const users = { allowedGroups: [], allowedUsers: ['alice', 'bob'] };
    expect(whyNotHonored(by('alice'), users)).toBeUndefined();
    expect(whyNotHonored(by('mallory'), users)).toBe(
      'its writer "mallory" (volume-guard.io/skip-by) is not in overrides.allowedUsers, so volume-guard did not let it be ' +
        'written; if it is still wanted, one of alice, bob must set it again with volume-guard.io/skip-by=<their user name>, else remove it',
    );
    // A name as long as an annotation allows is cut in the reason.
    expect(whyNotHonored(by('m'.repeat(5000)), users)).toContain(`"${'m'.repeat(64)}"… (volume-guard.io/skip-by)`);
    // With groups configured the recorded user's groups are unknown: it counts as recorded (README, Security).
    expect(whyNotHonored(by('mallory'), { allowedGroups: ['ops'], allowedUsers: ['alice'] })).toBeUndefined();
    expect(whyNotHonored(by('mallory'), { mode: 'rbac', allowedGroups: [], allowedUsers: ['alice'] })).toBeUndefined();
    // Nobody may write: said as before. An override this request writes is judged by its requester.
    expect(whyNotHonored(by('mallory'), { allowedGroups: [], allowedUsers: [] })).toMatch(/^nobody may write overrides/);
    expect(whyNotHonored(skipFrom('node n1', { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': 'mallory' }, ALICE, { now })!, users)).toBeUndefined();
    // A missing writer is said as before.
    expect(whyNotHonored(skipFrom('node n1', { 'volume-guard.io/skip': '*' }, undefined, { now })!, users)).toMatch(/^no writer recorded/);
  });
  it('the same rules hold for a reuse approval on a PVC', () => {
    expect(isReuseApproved({ 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'alice' }, now)).toBe(true);
    expect(isReuseApproved({ 'volume-guard.io/reuse': 'true' }, now)).toBe(false);
    expect(isReuseApproved({ 'volume-guard.io/reuse': 'true', 'volume-guard.io/skip-by': 'a', 'volume-guard.io/skip-until': 'soon' }, now)).toBe(false);
    expect(overrideLifecycle({ 'volume-guard.io/skip-until': 'soon' }, now).expiredOrInvalid).toContain('not an RFC 3339 time');
  });
});

describe('startup warnings about override writers', () => {
  it('warns about broad groups, rbac mode and empty lists; not about a narrow configuration', () => {
    expect(overrideWriterWarnings(listed)).toEqual([]);
    expect(overrideWriterWarnings({ allowedGroups: ['system:authenticated'], allowedUsers: [] }).join()).toContain('system:authenticated');
    expect(overrideWriterWarnings({ allowedGroups: ['system:serviceaccounts:ci'], allowedUsers: [] }).join()).toContain('system:serviceaccounts:ci');
    expect(overrideWriterWarnings({ allowedGroups: ['ops', 'system:serviceaccounts'], allowedUsers: [] })).toHaveLength(1);
    expect(overrideWriterWarnings({ mode: 'rbac', allowedGroups: [], allowedUsers: [] }).join()).toContain('overrides.mode is rbac');
    expect(overrideWriterWarnings({ allowedGroups: [], allowedUsers: [] }).join()).toContain('nobody may write overrides');
  });
});

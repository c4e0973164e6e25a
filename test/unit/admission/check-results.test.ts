// CheckResults caps every check except the ones a tag override must see whole (performance: issue 8).
import { describe, expect, it } from 'vitest';
import { CheckResults, FINDING_LIMIT } from '../../../src/admission/context.ts';
import type { CapOptions } from '../../../src/checks/collect.ts';
import type { CheckId } from '../../../src/checks/types.ts';
import { EMPTY_SNAPSHOT } from '../../support/empty-model.ts';
import { context } from '../../support/admission.ts';

function capsSeen(unlimited?: boolean | readonly CheckId[]): Record<string, CapOptions> {
  const seen: Record<string, CapOptions> = {};
  const results = unlimited === undefined ? new CheckResults(context(EMPTY_SNAPSHOT)) : new CheckResults(context(EMPTY_SNAPSHOT), unlimited);
  for (const check of ['single-replica', 'volume-health'] as const) {
    results.run(check, (cap) => {
      seen[check] = cap;
      return { findings: [], total: 0 };
    });
  }
  return seen;
}

describe('CheckResults caps', () => {
  const capped = { limit: FINDING_LIMIT + 1 };

  it('caps every check by default', () => {
    expect(capsSeen()).toEqual({ 'single-replica': capped, 'volume-health': capped });
  });

  it('lifts the cap for every check when asked to', () => {
    expect(capsSeen(true)).toEqual({ 'single-replica': {}, 'volume-health': {} });
  });

  it('lifts it only for the checks a tag override targets', () => {
    expect(capsSeen(['single-replica'])).toEqual({ 'single-replica': {}, 'volume-health': capped });
    expect(capsSeen([])).toEqual({ 'single-replica': capped, 'volume-health': capped });
  });
});

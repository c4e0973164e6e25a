// A release label's value holds at most 63 characters: Helm stores release labels as the record's metadata labels and
// the API server refuses a longer value, so the advised `--labels` command must fit.
import { describe, expect, it } from 'vitest';
import { overrideLines, type Situation } from '../../../src/admission/messages.ts';
import type { CheckId } from '../../../src/checks/types.ts';

const situation = (labelSkip: readonly CheckId[]): Situation =>
  ({ kind: 'helm', operation: 'upgrade', namespace: 'db', release: 'pg', revision: 3, labelSkip }) as unknown as Situation;

describe('the --labels advice of a Helm refusal', () => {
  it('merges the checks the record already skips while the value fits', () => {
    const text = overrideLines(situation(['orphan-pvc']), ['pvc-delete']).join('\n');
    expect(text).toContain('volume-guard.io/skip=pvc-delete_orphan-pvc,volume-guard.io/skip-revision=3');
  });

  it('says all (for this revision) when the merged value would pass 63 characters', () => {
    const text = overrideLines(situation(['single-replica', 'volume-health', 'last-replica-on-node']), ['orphan-pvc', 'pvc-delete']).join('\n');
    expect(text).toContain('volume-guard.io/skip=all,volume-guard.io/skip-revision=3');
    for (const value of text.matchAll(/volume-guard\.io\/skip=([^,\s]*)/g)) expect(value[1]!.length).toBeLessThanOrEqual(63);
  });
});

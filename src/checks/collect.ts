// Capped collection of findings. A denial names a bounded number of objects ("... and 1,234 more"), so a check
// asked for a cap builds only that many findings (their reasons and related objects cost most) while still
// counting every one, and skips the facets an override has already waived without counting them.

import type { Finding } from './types.ts';

export interface CapOptions {
  /** Build at most this many findings; the others are only counted. */
  readonly limit?: number;
  /** Findings carrying any of these tags are waived: neither built nor counted (e.g. `detached`). */
  readonly skipTags?: readonly string[];
}

export interface CappedFindings {
  /** The first `limit` findings. */
  readonly findings: Finding[];
  /** How many findings there are in all, `findings` included, waived ones excluded. */
  readonly total: number;
}

export const NO_CAP: CapOptions = Object.freeze({});

export class FindingCollector {
  readonly findings: Finding[] = [];
  #total = 0;
  readonly #limit: number;
  readonly #skipTags: readonly string[];

  /** `targetLimit`: the `limit` a check's target may carry, used when `options` sets none. */
  constructor(options: CapOptions, targetLimit?: number) {
    this.#limit = options.limit ?? targetLimit ?? Number.POSITIVE_INFINITY;
    this.#skipTags = options.skipTags ?? [];
  }

  /** Counts a finding with these tags unless waived; true when it should be built and added. */
  admit(tags: readonly string[]): boolean {
    for (const tag of tags) if (this.#skipTags.includes(tag)) return false;
    this.#total++;
    return this.findings.length < this.#limit;
  }

  /**
   * When the cap is reached and no tag can waive a finding, counts one more without building anything (not even
   * its tags) and returns true. Checks call it first so that a denial over thousands of objects stays cheap.
   */
  countIfFull(): boolean {
    if (this.#skipTags.length > 0 || this.findings.length < this.#limit) return false;
    this.#total++;
    return true;
  }

  add(finding: Finding): void {
    this.findings.push(finding);
  }

  result(): CappedFindings {
    return { findings: this.findings, total: this.#total };
  }
}

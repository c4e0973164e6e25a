// Capped collection of findings. A denial names a bounded number of objects ("... and 1,234 more"), so a check
// asked for a cap builds only that many findings (their reasons and related objects cost most) while still
// counting every one, and skips the facets an override has already waived without counting them (`skipTags`), or
// counts them apart without building them (`waive`: what a tag override accepts is counted, never built).

import type { Finding } from './types.ts';

export interface CapOptions {
  /** Build at most this many findings; the others are only counted. */
  readonly limit?: number;
  /** Findings carrying any of these tags are waived: neither built nor counted (e.g. `detached`). */
  readonly skipTags?: readonly string[];
  /**
   * Findings carrying any of these tags are waived: not built and not in `total`, but counted per entry (in
   * `waived`, same index); a finding carrying several is waived by the first entry it carries.
   */
  readonly waive?: readonly string[];
  /** Tags counted over every finding not waived, listed or not (`tagTotals`). */
  readonly countTags?: readonly string[];
  /**
   * Past the cap, a finding is still built when no built one yet carries the same of these tags: the findings then
   * show every combination of them there is (the wording of a denial reads them, e.g. `effective`).
   */
  readonly representTags?: readonly string[];
}

/** A `waive` entry, in the order each first waived a finding. */
export interface WaiverOccurrence {
  /** Index into `waive`. */
  readonly index: number;
  /** Findings it waived. */
  readonly count: number;
  /** Its first waived finding came before the first finding counted in `total`. */
  readonly beforeCounted: boolean;
}

export interface CappedFindings {
  /** The first `limit` findings. */
  readonly findings: Finding[];
  /** How many findings there are in all, `findings` included, waived ones excluded. */
  readonly total: number;
  /** With `waive`: the entries that waived findings, in the order of their first. */
  readonly waived?: readonly WaiverOccurrence[];
  /** With `countTags`: per tag, the findings not waived that carry it. */
  readonly tagTotals?: Readonly<Record<string, number>>;
}

export const NO_CAP: CapOptions = Object.freeze({});

/** Shared by the collectors with nothing to waive or count (never written: see admit). */
const NOTHING_WAIVED: readonly WaiverOccurrence[] = Object.freeze([]);
const NO_TAG_TOTALS: Record<string, number> = Object.freeze({}) as Record<string, number>;

export class FindingCollector {
  readonly findings: Finding[] = [];
  #total = 0;
  readonly #limit: number;
  readonly #skipTags: readonly string[];
  readonly #waive: readonly string[];
  readonly #countTags: readonly string[];
  /** Made only when there is something to waive or count: most collectors have neither. */
  readonly #waived: { index: number; count: number; beforeCounted: boolean }[];
  readonly #tagTotals: Record<string, number>;
  readonly #representTags: readonly string[];
  /** The `representTags` combinations built, as bit sets (made when first needed: most collectors never do). */
  #represented: Set<number> | undefined = undefined;

  /** `targetLimit`: the `limit` a check's target may carry, used when `options` sets none. */
  constructor(options: CapOptions, targetLimit?: number) {
    this.#limit = options.limit ?? targetLimit ?? Number.POSITIVE_INFINITY;
    this.#skipTags = options.skipTags ?? [];
    this.#waive = options.waive ?? [];
    this.#countTags = options.countTags ?? [];
    this.#waived = this.#waive.length > 0 ? [] : (NOTHING_WAIVED as WaiverOccurrence[]);
    this.#tagTotals = this.#countTags.length > 0 ? {} : NO_TAG_TOTALS;
    for (const tag of this.#countTags) this.#tagTotals[tag] = 0;
    this.#representTags = options.representTags ?? [];
  }

  /** Counts a finding with these tags unless waived; true when it should be built and added. */
  admit(tags: readonly string[]): boolean {
    for (const tag of tags) if (this.#skipTags.includes(tag)) return false;
    for (let index = 0; index < this.#waive.length; index++) {
      if (!tags.includes(this.#waive[index]!)) continue;
      const seen = this.#waived.find((entry) => entry.index === index);
      if (seen) seen.count++;
      else this.#waived.push({ index, count: 1, beforeCounted: this.#total === 0 });
      return false;
    }
    for (const tag of this.#countTags) if (tags.includes(tag)) this.#tagTotals[tag]!++;
    this.#total++;
    if (this.#representTags.length === 0) return this.findings.length < this.#limit;
    let signature = 0;
    for (const [bit, tag] of this.#representTags.entries()) if (tags.includes(tag)) signature |= 1 << bit;
    const represented = (this.#represented ??= new Set<number>());
    if (this.findings.length >= this.#limit && represented.has(signature)) return false;
    represented.add(signature);
    return true;
  }

  /**
   * When the cap is reached and no tag can waive or be counted, counts one more without building anything (not
   * even its tags) and returns true. Checks call it first so that a denial over thousands of objects stays cheap.
   */
  countIfFull(): boolean {
    if (this.#skipTags.length > 0 || this.#waive.length > 0 || this.#countTags.length > 0 || this.#representTags.length > 0 || this.findings.length < this.#limit) return false;
    this.#total++;
    return true;
  }

  add(finding: Finding): void {
    this.findings.push(finding);
  }

  result(): CappedFindings {
    if (this.#waive.length === 0 && this.#countTags.length === 0) return { findings: this.findings, total: this.#total };
    return {
      findings: this.findings,
      total: this.#total,
      ...(this.#waive.length > 0 ? { waived: this.#waived } : {}),
      ...(this.#countTags.length > 0 ? { tagTotals: this.#tagTotals } : {}),
    };
  }
}

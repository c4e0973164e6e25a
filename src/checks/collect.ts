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

/** One counted tag list, as completeFromTags reads it. */
interface TagKind {
  /** The tags joined by spaces, as counted. */
  readonly key: string;
  readonly tags: readonly string[];
  readonly count: number;
  /** Index into `waive` of the waiver that takes these findings, or -1. */
  readonly waiver: number;
  readonly signature: number;
}

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
  /** Bumped when a waiver waives its first finding or a combination is first built (what completeFromTags waits for). */
  #metVersion = 0;
  #triedVersion = -1;
  #tagKinds: TagKind[] | undefined;

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
      let seen: { count: number } | undefined;
      for (const entry of this.#waived) {
        if (entry.index !== index) continue;
        seen = entry;
        break;
      }
      if (seen) seen.count++;
      else {
        this.#waived.push({ index, count: 1, beforeCounted: this.#total === 0 });
        this.#metVersion++;
      }
      return false;
    }
    for (const tag of this.#countTags) if (tags.includes(tag)) this.#tagTotals[tag]!++;
    this.#total++;
    if (this.#representTags.length === 0) return this.findings.length < this.#limit;
    const signature = this.#signature(tags);
    const represented = (this.#represented ??= new Set<number>());
    if (this.findings.length >= this.#limit && represented.has(signature)) return false;
    if (!represented.has(signature)) {
      represented.add(signature);
      this.#metVersion++;
    }
    return true;
  }

  /**
   * When the cap is reached and no tag can waive or be counted, counts one more without building anything (not
   * even its tags) and returns true. Checks call it first so that a denial over thousands of objects stays cheap.
   */
  countIfFull(): boolean {
    if (!this.#plainAndFull()) return false;
    this.#total++;
    return true;
  }

  /**
   * When the cap is reached and nothing is waived, tag-counted or represented (countIfFull's case), takes the
   * number of findings in all from `counted` (a count the model keeps of exactly the findings the caller's walk
   * would meet) instead of counting the rest one by one, and returns true: the caller stops walking. False, having
   * changed nothing, when not full yet or when there is no such count (or it is below what was already counted).
   */
  completeFrom(counted: number | undefined): boolean {
    if (!this.#plainAndFull()) return false;
    if (counted === undefined || counted < this.#total) return false;
    this.#total = counted;
    return true;
  }

  /**
   * Like completeFrom, for a walk whose findings the model counts by their tags (`byTags`: the tags joined by spaces
   * → how many findings carry exactly those): once the cap is reached, every waiver that will waive a finding has
   * waived its first (so their order is known), and every `representTags` combination there is has been built, the
   * rest is counted from `byTags` (totals, waived counts, tag totals) and true is returned: the caller stops
   * walking. False, having changed nothing, otherwise.
   */
  completeFromTags(byTags: ReadonlyMap<string, number> | undefined): boolean {
    if (byTags === undefined || this.findings.length < this.#limit) return false;
    // Nothing met since the last try could make it succeed now: one comparison per finding walked.
    if (this.#metVersion === this.#triedVersion) return false;
    this.#triedVersion = this.#metVersion;
    const kinds = (this.#tagKinds ??= this.#kindsOf(byTags));
    let total = 0;
    const waived = new Map<number, number>();
    const tagTotals: Record<string, number> = {};
    for (const tag of this.#countTags) tagTotals[tag] = 0;
    for (const kind of kinds) {
      if (kind.waiver >= 0) {
        if (!this.#waived.some((entry) => entry.index === kind.waiver)) return false;
        waived.set(kind.waiver, (waived.get(kind.waiver) ?? 0) + kind.count);
        continue;
      }
      if (this.#representTags.length > 0 && this.#represented?.has(kind.signature) !== true) return false;
      total += kind.count;
      for (const tag of this.#countTags) if (kind.tags.includes(tag)) tagTotals[tag]! += kind.count;
    }
    // Fewer than already met: the counts are not of this walk's findings; keep walking.
    if (total < this.#total || this.#waived.some((entry) => (waived.get(entry.index) ?? 0) < entry.count)) return false;
    this.#total = total;
    for (const entry of this.#waived) entry.count = waived.get(entry.index) ?? 0;
    for (const tag of this.#countTags) this.#tagTotals[tag] = tagTotals[tag]!;
    return true;
  }

  /** The counted tag lists that are not skipped, each with the waiver that takes it and its wording signature. */
  #kindsOf(byTags: ReadonlyMap<string, number>): TagKind[] {
    const kinds: TagKind[] = [];
    for (const [key, count] of byTags) {
      const tags = key === '' ? [] : key.split(' ');
      if (tags.some((tag) => this.#skipTags.includes(tag))) continue;
      kinds.push({ key, tags, count, waiver: this.#waive.findIndex((tag) => tags.includes(tag)), signature: this.#signature(tags) });
    }
    return kinds;
  }

  /** The cap is reached and no tag can waive, be counted or be represented: a further finding is only counted. */
  #plainAndFull(): boolean {
    return (
      this.#skipTags.length === 0 &&
      this.#waive.length === 0 &&
      this.#countTags.length === 0 &&
      this.#representTags.length === 0 &&
      this.findings.length >= this.#limit
    );
  }

  /** The cap is reached: every further finding is only counted, or built to represent a combination. */
  get full(): boolean {
    return this.findings.length >= this.#limit;
  }

  /**
   * Once full: a counted tag list (key of `byTags`) that completeFromTags still waits for a finding of (its waiver
   * has waived none yet, or its wording combination is not built yet), or undefined when it waits for none. The
   * caller can fetch one finding of that kind directly instead of walking to it.
   */
  awaitedTags(byTags: ReadonlyMap<string, number>): string | undefined {
    const kinds = (this.#tagKinds ??= this.#kindsOf(byTags));
    for (const kind of kinds) {
      const met =
        kind.waiver >= 0
          ? this.#waived.some((entry) => entry.index === kind.waiver)
          : this.#representTags.length === 0 || this.#represented?.has(kind.signature) === true;
      if (!met) return kind.key;
    }
    return undefined;
  }

  #signature(tags: readonly string[]): number {
    let signature = 0;
    for (let bit = 0; bit < this.#representTags.length; bit++) if (tags.includes(this.#representTags[bit]!)) signature |= 1 << bit;
    return signature;
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

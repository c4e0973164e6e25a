// What every validator does the same way: read check modes, find overrides, refuse to judge on a stale model.
import { CHECK_IDS, type CheckId, type Finding } from '../checks/types.ts';
import type { CappedFindings, CapOptions } from '../checks/collect.ts';
import type { CheckMode, Config } from '../config.ts';
import { metaOf, type StringMap } from './objects.ts';
import { skipFrom, unknownSkipEntries, whyNotHonored, writerOf, type OverrideSource, type OverrideWriters } from './overrides.ts';
import { allowed, denied, type AdmissionRequest, type Decision, type UserInfo } from './types.ts';
import type { ValidationContext } from './validator.ts';
import { MAX_LISTED_PER_CHECK, OVERRIDE_HEADING, truncate, WORDING_TAGS, wrap } from './messages.ts';
import type { ResourceKind } from '../cluster/records.ts';
import { RESOURCE_SPECS, resourceLabel } from '../cluster/resources.ts';
import { unknownEntryWarnings } from './override-feedback.ts';
import { DECISION_TAGS, type WaivedFindings } from './decide.ts';

/** Checks run with this limit: the message names no more, and the set sizes give the totals. */
export const FINDING_LIMIT = MAX_LISTED_PER_CHECK;

/** Per checks configuration (loaded once, never changed): the modes, built once instead of per request. */
const MODES = new WeakMap<object, Readonly<Record<CheckId, CheckMode>>>();

export function checkModes(context: ValidationContext): Readonly<Record<CheckId, CheckMode>> {
  const checks = context.config.checks;
  let modes = MODES.get(checks);
  if (modes === undefined) {
    const built = {} as Record<CheckId, CheckMode>;
    for (const id of CHECK_IDS) built[id] = checks[id].mode;
    modes = Object.freeze(built);
    MODES.set(checks, modes);
  }
  return modes;
}

export function isEnabled(context: ValidationContext, check: CheckId): boolean {
  return context.config.checks[check].mode !== 'off';
}

/**
 * The skip override on the object under review. Its writer is the requesting user when this request adds or
 * changes it; an unchanged stored value was written earlier and passed the override guard then.
 */
export function skipOnReviewedObject(
  request: AdmissionRequest,
  where: string,
  field: 'annotations' | 'labels' = 'annotations',
  now: number = Date.now(),
): {
  source?: OverrideSource;
  warnings: string[];
} {
  const next = metaOf(request.object)?.[field];
  const previous = metaOf(request.oldObject)?.[field];
  const changed = next?.['volume-guard.io/skip'] !== previous?.['volume-guard.io/skip'];
  const annotations = metaOf(request.object)?.annotations;
  const source = skipFrom(where, next, changed ? request.userInfo : undefined, { now, ...(annotations ? { annotations } : {}) });
  return { ...(source ? { source } : {}), warnings: unknownWarnings(where, next) };
}

export function unknownWarnings(where: string, values: StringMap | undefined): string[] {
  return unknownEntryWarnings(where, unknownSkipEntries(values));
}

/**
 * The resources among `dependsOn` (omitted: every resource) older than `model.maxStalenessSeconds`, by their labels;
 * every one while the model is not synced yet. Empty: what an answer reads is fresh.
 */
export function staleReads(context: ValidationContext, dependsOn?: readonly ResourceKind[]): readonly string[] {
  if (!context.health.synced()) return ['(not synced yet)'];
  const stale = context.health.staleResources(context.config.model.maxStalenessSeconds * 1000);
  if (dependsOn === undefined || stale.length === 0) return stale;
  const read = new Set(dependsOn.map((kind) => resourceLabel(RESOURCE_SPECS[kind])));
  return stale.filter((resource) => read.has(resource));
}

/**
 * The namespace is being deleted, as a fresh view of the Namespaces tells: the namespace controller deletes what is in
 * it whatever is answered. A stale view may show a namespace deleted and created again since (no uid is kept).
 */
export function namespaceGoing(context: ValidationContext, namespace: string): boolean {
  return context.snapshot.namespace(namespace)?.deleting === true && staleReads(context, ['namespace']).length === 0;
}

/**
 * volume-guard never decides on a state it has not seen: while the model is unsynced or older than the bound,
 * answer by the stale policy. An honored `*` skip from an allowed writer still lets the operation through.
 * `dependsOn`: the resources this answer reads; a stale resource outside them does not matter (an eviction of a
 * pod without volumes does not wait for Longhorn's informers). Omitted: every resource.
 * Returns undefined when the model (or the part of it the answer reads) is fresh.
 */
export function staleModelDecision(
  context: ValidationContext,
  action: string,
  overrides: readonly OverrideSource[],
  dependsOn?: readonly ResourceKind[],
  /**
   * Where a `*` skip passes this request, as lines (the command on its own line), or what builds them (only once a
   * refusal needs them: a fresh model, every request but a few, never does); omitted: a generic line.
   */
  override: readonly string[] | (() => readonly string[]) = ['volume-guard.io/skip: "*" on the object under review'],
): Decision | undefined {
  const { stalePolicy } = context.config.model;
  const stale = staleReads(context, dependsOn);
  if (stale.length === 0) return undefined;
  const synced = context.health.synced();
  const what = !synced
    ? "volume-guard's view of the cluster is not synced yet"
    : `volume-guard's view of the cluster is stale (${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ', …' : ''})`;
  if (stalePolicy === 'allow') return allowed();
  if (stalePolicy === 'warn') return allowed([truncate(`volume-guard: ${what}; ${action} not checked`)]);
  const everything = overrides.find(
    // A namespace's override reaches only its namespace's data: with the rest unknown, it cannot pass the request.
    (source) => source.checks.length === CHECK_IDS.length && source.namespace === undefined && whyNotHonored(source, context.config.overrides) === undefined,
  );
  if (everything) {
    const writer = writerOf(everything);
    // Honored like any other override: audited, and counted (Decision.overrides) for every check it waived unseen.
    const decision = allowed(wrap(`volume-guard: ${what}; allowed by the skip=* override on ${everything.where}`), {
      'overridden-checks': '*',
      'override-source': everything.where,
      'override-reason': everything.reason || '(none given)',
      ...(writer ? { 'override-writer': writer } : {}),
      ...(everything.until ? { 'override-until': everything.until } : {}),
    });
    return { ...decision, overrides: everything.checks };
  }
  return denied(
    `volume-guard cannot judge the ${action}: ${what}, so the risk of data loss is unknown.\n` +
      // /readyz turns ready at the first sync and stays so while a view goes stale (serve.ts): after that, the log
      // (each informer's first failure at warn) and the age metric say what is wrong.
      (synced
        ? 'Retry in a minute; if it persists, volume-guard cannot watch them: its log says why ("informer failed"),\n' +
          'volume_guard_model_age_seconds how old each view is.\n'
        : 'Retry in a minute; if it persists, check that volume-guard can reach the API server (its /readyz and logs).\n') +
      [OVERRIDE_HEADING, ...(typeof override === 'function' ? override() : override).map((line) => `  ${line}`)].join('\n'),
    { deniedChecks: ['stale-model'] },
  );
}

export { describeUser } from '../kube.ts';

/** What a tag override waives of one check: its tags in the order they are tried, each with its source. */
export interface CheckWaivers {
  readonly waive: readonly { readonly tag: string; readonly source: OverrideSource }[];
  /** Tags counted over the check's findings not waived (what a decision reads of all of them). */
  readonly countTags: readonly string[];
  /** Tags the check's wording reads across its findings: each combination present gets a finding built. */
  readonly representTags: readonly string[];
}

/**
 * The waivers a check gets from the honored tag overrides: those tried before any honored whole-check override of
 * the same check (which takes every finding the earlier ones leave), in the order the decision tries them.
 * `countTags`: the tags the decision reads of every finding of the check (DECISION_TAGS). Undefined: the check builds
 * every finding (worded from more than tags, or narrowed by an approval whose objects the audit names).
 */
export function waiversOf(check: CheckId, overrides: readonly OverrideSource[], writers: OverrideWriters): CheckWaivers | undefined {
  const representTags = WORDING_TAGS[check];
  // A check worded from more than tags keeps building every finding.
  if (representTags === undefined) return undefined;
  const waive: { tag: string; source: OverrideSource }[] = [];
  const countTags: string[] = [...(DECISION_TAGS[check] ?? [])];
  let open = true;
  for (const source of overrides) {
    const tags = (source.tags ?? []).filter((entry) => entry.check === check).map((entry) => entry.tag);
    if (!open || whyNotHonored(source, writers) !== undefined) continue;
    if (source.checks.includes(check) && source.namespace === undefined) open = false;
    // An approval each object records is audited per object (decide.ts noteApproval): its findings are built.
    else if (tags.length > 0 && source.approvalsOn !== undefined) return undefined;
    else for (const tag of tags) waive.push({ tag, source });
  }
  return { waive, countTags, representTags };
}

/**
 * A denial has room to list up to ten objects per check, but with several checks reporting it lists a few of each
 * (1-4, to stay within MAX_DENIAL_LENGTH). The checks in `checks`, whose wording reads only represented tags, build
 * LISTING_FIRST findings first; the denial then tells (ListingProbe) whether it could have listed more, and only
 * then are the rest built (CheckResults.buildAll). The answer is the same as with every check at the full cap.
 */
export interface ListingCap {
  readonly checks: readonly CheckId[];
}

/** Findings a listing-capped check builds first: a denial of two or more reporting checks lists at most 4 of each. */
export const LISTING_FIRST = 7;

const LISTING_FIRST_CAP: CapOptions = Object.freeze({ limit: LISTING_FIRST });

/** One finding and the count: no wording combination is represented (the override takes the check, nothing is worded). */
const COUNT_ONLY_CAP: CapOptions = Object.freeze({ limit: 1, representTags: Object.freeze([]) as readonly string[] });

/**
 * The findings of the checks a validator runs. Each check builds at most `FINDING_LIMIT + 1` findings and counts
 * the rest, so a denial over thousands of objects costs about as much as one over ten. A check a tag override
 * narrows is capped too when given its waivers: what the honored ones accept is counted apart (`waived`), not built.
 */
export class CheckResults {
  readonly findings: Finding[] = [];
  readonly totals: Partial<Record<CheckId, number>> = {};
  /** Findings waived by tag overrides, in the order the decision meets them. */
  readonly waived: WaivedFindings[] = [];
  /** Per check run with waivers: its `countTags` counted over the findings not waived. */
  readonly tagTotals: Partial<Record<CheckId, Readonly<Record<string, number>>>> = {};
  /** The cap for capped checks. */
  readonly cap: CapOptions;
  readonly #unlimited: boolean | readonly CheckId[];
  readonly #context: ValidationContext;
  readonly #modes: Readonly<Partial<Record<CheckId, CheckMode>>>;
  readonly #waivers: Readonly<Partial<Record<CheckId, CheckWaivers>>>;
  readonly #countOnly: readonly CheckId[];
  readonly #listing: ListingCap | undefined;
  /** Where each check's findings are in `findings`, and how to build more of a check the listing cap cut. */
  readonly #segments: { start: number; length: number; readonly check: CheckId; collect: ((cap: CapOptions) => CappedFindings) | undefined }[] = [];

  /**
   * `unlimited`: true for every check, or the checks a narrower (tag) override targets, which must see each of
   * their findings; the others stay capped (a tag override on one check must not make every check build all).
   * `waivers`: for such checks, what the tag overrides waive; those checks are then capped, their waived findings
   * counted.
   */
  constructor(
    context: ValidationContext,
    unlimited: boolean | readonly CheckId[] = false,
    /** Modes that replace the configured ones for this request (pvc-delete by people: `pvcDelete.others`). */
    modes: Readonly<Partial<Record<CheckId, CheckMode>>> = {},
    waivers: Readonly<Partial<Record<CheckId, CheckWaivers>>> = {},
    /**
     * Checks an honored whole-check override takes entirely (coveredChecks in plan-judge.ts): one finding built to
     * show the check found something, the rest counted.
     */
    countOnly: readonly CheckId[] = [],
    /** Checks that build fewer findings first, when their wording allows it (ListingCap). */
    listing?: ListingCap,
  ) {
    this.#context = context;
    this.#modes = modes;
    this.#unlimited = unlimited;
    this.#waivers = waivers;
    this.#countOnly = countOnly;
    this.#listing = listing;
    this.cap = unlimited === true ? {} : { limit: FINDING_LIMIT + 1 };
  }

  /**
   * Runs `collect` when the check is not off (for this request). `wordedFromTags`: the check's denial wording reads
   * no more of its findings than the tags `collect` represents past any cap (WORDING_TAGS), so it may build only
   * LISTING_FIRST findings first.
   */
  run(check: CheckId, collect: (cap: CapOptions) => CappedFindings, wordedFromTags = false): this {
    const mode = this.#modes[check];
    if (mode === undefined ? !isEnabled(this.#context, check) : mode === 'off') return this;
    const waivers = this.#waivers[check];
    if (waivers !== undefined) return this.#runWaived(check, waivers, collect);
    const unlimited = this.#unlimited === true || (this.#unlimited !== false && this.#unlimited.includes(check));
    const countOnly = !unlimited && this.#countOnly.includes(check);
    const listed = !unlimited && !countOnly && wordedFromTags && this.#listing !== undefined && this.#listing.checks.includes(check);
    const start = this.findings.length;
    const { findings, total, tagTotals } = collect(unlimited ? {} : countOnly ? COUNT_ONLY_CAP : listed ? LISTING_FIRST_CAP : this.cap);
    this.findings.push(...findings);
    this.totals[check] = total;
    // A plan entry may count tags the decision reads (the upgrade's `detached`).
    if (tagTotals !== undefined) this.tagTotals[check] = tagTotals;
    // Only buildAll reads the segments, and only where a check may be listing-capped.
    if (this.#listing !== undefined) this.#segments.push({ start, length: findings.length, check, collect: listed && total > findings.length ? collect : undefined });
    return this;
  }

  /** Whether a check built fewer findings than the cap because of `listing` (buildAll would build more). */
  get listingCut(): boolean {
    return this.#segments.some((segment) => segment.collect !== undefined);
  }

  /**
   * Builds the findings the listing cap left out, up to the cap every other check has, each check's in its place
   * (what a denial's listing reads when it has room for more of them).
   */
  buildAll(): void {
    for (const segment of this.#segments) {
      if (segment.collect === undefined) continue;
      const { findings } = segment.collect(this.cap);
      const end = segment.start + segment.length;
      const delta = findings.length - segment.length;
      this.findings.splice(segment.start, segment.length, ...findings);
      for (const later of this.#segments) if (later.start >= end && later !== segment) later.start += delta;
      for (let index = 0; index < this.waived.length; index++) {
        const entry = this.waived[index]!;
        if (entry.at >= end) this.waived[index] = { ...entry, at: entry.at + delta };
      }
      segment.length = findings.length;
      segment.collect = undefined;
    }
  }

  #runWaived(check: CheckId, waivers: CheckWaivers, collect: (cap: CapOptions) => CappedFindings): this {
    const start = this.findings.length;
    const { findings, total, waived, tagTotals } = collect({
      limit: FINDING_LIMIT + 1,
      waive: waivers.waive.map((entry) => entry.tag),
      countTags: waivers.countTags,
      representTags: waivers.representTags,
    });
    this.findings.push(...findings);
    this.totals[check] = total;
    this.tagTotals[check] = tagTotals ?? {};
    if (this.#listing !== undefined) this.#segments.push({ start, length: findings.length, check, collect: undefined });
    // Those first met before the check's first counted finding come at the start of its findings, the others after.
    for (const occurrence of waived ?? []) {
      const source = waivers.waive[occurrence.index]!.source;
      this.waived.push({ check, source, count: occurrence.count, at: occurrence.beforeCounted ? start : this.findings.length });
    }
    return this;
  }
}

/** The requester is a configured automation identity (pvcDelete.automationUsers/Groups: GitOps controllers). */
export function isAutomation(user: UserInfo, config: Config): boolean {
  return config.pvcDelete.automationUsers.includes(user.username) || user.groups.some((group) => config.pvcDelete.automationGroups.includes(group));
}

/** The pvc-delete mode for this requester: the check's own for automation, `pvcDelete.others` for anyone else. */
export function pvcDeleteModeFor(user: UserInfo, config: Config): CheckMode {
  return isAutomation(user, config) ? config.checks['pvc-delete'].mode : config.pvcDelete.others;
}

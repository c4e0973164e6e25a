// The tail every validator shares, once the request is recognised and its overrides read: the stale-model policy,
// the operation's plan run over the snapshot, then the decision.
import { CHECK_IDS, type CheckId, type Finding } from '../checks/types.ts';
import type { UnknownLonghornVolume } from '../checks/last-replica-on-node.ts';
import { nodeLocalOptionsOf } from '../checks/node-local-volume.ts';
import type { ResourceKind } from '../cluster/records.ts';
import type { CheckMode } from '../config.ts';
import { checkModes, CheckResults, staleModelDecision, waiversOf, type CheckWaivers, type ListingCap } from './context.ts';
import { ANNOTATED_KINDS, fitOverrideToStored, judge, type StoredAnnotations } from './decide.ts';
import type { ClusterSnapshot } from '../cluster/snapshot.ts';
import { overrideLines, type ListingProbe, type Situation } from './messages.ts';
import { SKIP_KEY, whyNotHonored, type OverrideSource } from './overrides.ts';
import { runPlan, type OverridePlace, type Plan } from './plans.ts';
import { allowed, type Decision } from './types.ts';
import type { ValidationContext } from './validator.ts';

/** Findings after what the storage system or the requester's role changes about them. */
export interface AdjustedFindings {
  readonly findings: readonly Finding[];
  readonly totals: Readonly<Partial<Record<CheckId, number>>>;
  /** Added after the request's own warnings. */
  readonly warnings?: readonly string[];
  /** Added to the decision's audit annotations. */
  readonly auditAnnotations?: Readonly<Record<string, string>>;
  /** The action as the answer words it once the findings are known, in place of PlanJudgement.action. */
  readonly action?: string;
}

export interface PlanJudgement<Target> {
  /** What the request does, for the message: `cordon of node worker-1`. */
  readonly action: string;
  /** What the plan's checks look at; undefined: nothing to check (once the model is fresh), allowed with `warnings`. */
  readonly target: Target | undefined;
  /** The overrides read for this request, in the order they are tried. */
  readonly overrides: readonly OverrideSource[];
  readonly overrideHint: string;
  readonly warnings?: readonly string[];
  readonly situation?: Situation;
  /** The override advised is `overrideHint` even with a situation (Judgement.overrideFromHint). */
  readonly overrideFromHint?: boolean;
  /** The resources this answer reads, when narrower or wider than the plan's (an eviction of a known pod). */
  readonly reads?: readonly ResourceKind[];
  /** Checks that must build every finding (a tag override narrows them); true: all. Default: all capped. */
  readonly unlimited?: boolean | readonly CheckId[];
  /** Modes that replace the configured ones for this request (pvc-delete by people: `pvcDelete.others`). */
  readonly modes?: Readonly<Partial<Record<CheckId, CheckMode>>>;
  /** Adjusts the findings before the decision (Longhorn's node-drain-policy, restart identities). */
  readonly adjust?: (results: CheckResults) => AdjustedFindings;
  /**
   * The checks whose wording allows it build a few findings first, the rest only when the denial has room to list
   * them (ListingCap). Only where `adjust` reads no more than the listed findings and the totals.
   */
  readonly listingFirst?: boolean;
  /**
   * The object under review as stored (an upgrade object's oldObject; for a refused CREATE, the object sent): the
   * advice annotating it fits its own override (fitOverrideToStored). Other objects are read from the snapshot.
   */
  /**
   * The places of the plan whose overrides can apply to this request, when fewer (a namespace's skip only for an
   * object of a Helm release): what a stale-model refusal names. Default: all of the plan's.
   */
  readonly stalePlaces?: readonly OverridePlace[];
  readonly reviewed?: { readonly resources: readonly string[]; readonly name: string; readonly namespace?: string; readonly annotations: Readonly<Record<string, string>> };
}

/** The stored annotations of the objects an advice annotates: the reviewed object, else the snapshot's record. */
function storedAnnotations(snapshot: ClusterSnapshot, reviewed: PlanJudgement<unknown>['reviewed']): StoredAnnotations {
  return (resource, name, namespace) => {
    if (reviewed !== undefined && reviewed.resources.includes(resource) && reviewed.name === name && (reviewed.namespace ?? '') === (namespace ?? '')) {
      return reviewed.annotations;
    }
    return ANNOTATED_KINDS[resource]?.stored(snapshot, name, namespace);
  };
}

/** The Longhorn volumes already logged as unknown (once each; forgotten wholesale past a bound). */
const warnedUnknownVolumes = new Set<string>();
const MAX_WARNED_UNKNOWN_VOLUMES = 4096;

/**
 * A Longhorn volume a check met that the model does not know: skipped (a volume just created may reach the model a
 * moment after its claim), logged at warn once per volume with what to check, as one that stays unknown means
 * volume-guard reads Longhorn's volumes where they are not and its Longhorn checks see nothing.
 */
function warnUnknownVolume(context: ValidationContext, unknown: UnknownLonghornVolume): void {
  if (warnedUnknownVolumes.has(unknown.volume)) return;
  if (warnedUnknownVolumes.size >= MAX_WARNED_UNKNOWN_VOLUMES) warnedUnknownVolumes.clear();
  warnedUnknownVolumes.add(unknown.volume);
  const longhornNamespace = context.config.longhorn.namespace;
  const what = unknown.claim
    ? `PVC ${unknown.claim.namespace}/${unknown.claim.name} is bound to Longhorn PV ${unknown.volume}`
    : `a Longhorn replica names volume ${unknown.volume}`;
  context.log.warn(
    { volume: unknown.volume, ...(unknown.claim ? { pvc: `${unknown.claim.namespace}/${unknown.claim.name}` } : {}), longhornNamespace },
    `${what}, but volume-guard knows no such Longhorn volume: last-replica-on-node skipped it. Normal for a moment after ` +
      `the volume is created; if this persists, check that longhorn.namespace (${longhornNamespace}) is where Longhorn keeps ` +
      `its volumes.longhorn.io and that volume-guard may list them there (kubectl get volumes.longhorn.io -n ${longhornNamespace})`,
  );
}

/** Stale-model policy → the plan's checks → decision: the answer of every guarded operation. */
export function judgeByPlan<Target>(context: ValidationContext, plan: Plan<Target>, input: PlanJudgement<Target>): Decision {
  const stored = storedAnnotations(context.snapshot, input.reviewed);
  const stale = staleModelDecision(
    context,
    input.action,
    input.overrides,
    input.reads ?? plan.reads,
    () => fitOverrideToStored(staleOverride(input.stalePlaces ?? plan.overrides, input), stored, context.now, context.config.overrides, input.situation),
  );
  if (stale) return stale;
  if (input.target === undefined) return allowed([...(input.warnings ?? [])]);
  const configured = checkModes(context);
  const modes = input.modes === undefined ? configured : { ...configured, ...input.modes };
  const listing = input.listingFirst === true ? listingCap(input, modes) : undefined;
  const results = new CheckResults(context, input.unlimited ?? false, input.modes, waivers(context, input), coveredChecks(context, input), listing);
  const options = { nodeLocal: nodeLocalOptionsOf(context.config), onUnknownLonghornVolume: (unknown: UnknownLonghornVolume) => warnUnknownVolume(context, unknown) };
  runPlan(plan, context.snapshot, input.target, options, (check, collect, wordedFromTags) => {
    results.run(check, collect, wordedFromTags);
  });
  if (!results.listingCut) return decide(context, input, results, modes, undefined);
  const probe: ListingProbe = { couldListMore: false };
  const first = decide(context, input, results, modes, probe);
  if (!probe.couldListMore) return first;
  // The denial had room for more objects of a check that built only a few: build them and answer again.
  results.buildAll();
  return decide(context, input, results, modes, undefined);
}

/** The adjusted findings judged: the decision, with what `adjust` adds to its audit annotations. */
function decide<Target>(
  context: ValidationContext,
  input: PlanJudgement<Target>,
  results: CheckResults,
  modes: Readonly<Record<CheckId, CheckMode>>,
  listingProbe: ListingProbe | undefined,
): Decision {
  const adjusted: AdjustedFindings = input.adjust ? input.adjust(results) : { findings: results.findings, totals: results.totals };
  const decision = judge({
    action: adjusted.action ?? input.action,
    stored: storedAnnotations(context.snapshot, input.reviewed),
    now: context.now,
    findings: adjusted.findings,
    totals: adjusted.totals,
    overrides: input.overrides,
    overrideHint: input.overrideHint,
    warnings: [...(input.warnings ?? []), ...(adjusted.warnings ?? [])],
    ...(input.situation ? { situation: input.situation } : {}),
    ...(input.overrideFromHint === true ? { overrideFromHint: true } : {}),
    modes,
    writers: context.config.overrides,
    ...(results.waived.length > 0 ? { waived: results.waived } : {}),
    ...(Object.keys(results.tagTotals).length > 0 ? { tagTotals: results.tagTotals } : {}),
    ...(listingProbe ? { listingProbe } : {}),
  });
  const extra = adjusted.auditAnnotations;
  if (extra === undefined || Object.keys(extra).length === 0) return decision;
  return { ...decision, auditAnnotations: { ...decision.auditAnnotations, ...extra } };
}

/**
 * The checks that may build a few findings first (LISTING_FIRST): enforced (a warning lists up to ten), and taken by
 * no override finding by finding (a namespace's override, a tag override of that check), which would read each one.
 */
function listingCap<Target>(input: PlanJudgement<Target>, modes: Readonly<Record<CheckId, CheckMode>>): ListingCap | undefined {
  if (input.unlimited === true) return undefined;
  let tagged: Set<CheckId> | undefined;
  for (const source of input.overrides) {
    if (source.namespace !== undefined) return undefined;
    for (const tag of source.tags ?? []) (tagged ??= new Set()).add(tag.check);
  }
  if (tagged === undefined) {
    // The usual case, the same for every request with these modes.
    let cached = ENFORCED.get(modes);
    if (cached === undefined) {
      cached = { checks: CHECK_IDS.filter((check) => modes[check] === 'enforce') };
      ENFORCED.set(modes, cached);
    }
    return cached;
  }
  return { checks: CHECK_IDS.filter((check) => modes[check] === 'enforce' && !tagged.has(check)) };
}

/** Per modes object (checkModes keeps one per configuration): the enforced checks. */
const ENFORCED = new WeakMap<object, ListingCap>();

/**
 * For each check a tag override narrows (`unlimited` as a list): what the honored ones waive, so that the check
 * stays capped and the waived findings are counted instead of built. Not with `adjust`, which reads every finding.
 */
function waivers<Target>(context: ValidationContext, input: PlanJudgement<Target>): Partial<Record<CheckId, CheckWaivers>> {
  const waived: Partial<Record<CheckId, CheckWaivers>> = {};
  if (input.adjust !== undefined || !Array.isArray(input.unlimited)) return waived;
  for (const check of input.unlimited as readonly CheckId[]) {
    const plan = waiversOf(check, input.overrides, context.config.overrides);
    if (plan !== undefined) waived[check] = plan;
  }
  return waived;
}

/**
 * The checks an honored whole-check override (`skip: "*"`, `skip: single-replica`) takes entirely: the decision
 * honors every finding of such a check with the first of them that names it, the unlisted ones through the
 * check's total (judge in decide.ts), and names none of its objects. So one finding (the check found something)
 * and the count give the same decision as ten built findings and the count. Only where nothing else reads the
 * findings: no tag overrides among the sources (they take findings one by one, before a whole-check override),
 * no `adjust`, no checks that must build every finding.
 */
function coveredChecks<Target>(context: ValidationContext, input: PlanJudgement<Target>): readonly CheckId[] {
  const unlimited = input.unlimited ?? false;
  if (input.adjust !== undefined || unlimited === true || (unlimited !== false && unlimited.length > 0) || input.overrides.length === 0) return NO_CHECKS;
  for (const source of input.overrides) if (source.tags !== undefined && source.tags.length > 0) return NO_CHECKS;
  // A namespace's override takes only its namespace's findings, one by one: they must be built.
  for (const source of input.overrides) if (source.namespace !== undefined) return NO_CHECKS;
  const covered: CheckId[] = [];
  for (const source of input.overrides) {
    if (whyNotHonored(source, context.config.overrides) === undefined) covered.push(...source.checks);
  }
  return covered;
}

const NO_CHECKS: readonly CheckId[] = Object.freeze([]);

/**
 * Where a `*` skip is read for this plan, in words, for the places whose overrides can pass a request volume-guard
 * cannot judge (staleModelDecision): a whole-object skip, not an approval on one PVC, PV or volume (which waives its
 * findings, unknown while the view is stale), nor a namespace's skip-evictions (only its own namespace's data).
 */
const STALE_PLACES: Partial<Record<OverridePlace, string>> = {
  object: `${SKIP_KEY}: "*" on the object under review`,
  node: `${SKIP_KEY}: "*" on the node`,
  namespace: `${SKIP_KEY}: "*" on the namespace`,
  'namespace-helm': `${SKIP_KEY}: "*" on the namespace, for an object of a Helm release there`,
  'release-label': `helm ... --labels ${SKIP_KEY}=all,volume-guard.io/skip-revision=<the new revision>`,
  'storage-namespace': `${SKIP_KEY}: "*" on Longhorn's namespace`,
  'harvester-upgrade-skip': `${SKIP_KEY}: "*" on the Harvester Upgrade or UpgradePlan draining the node`,
  'machine-owner': `${SKIP_KEY}: "*" on the Machine's MachineDeployment or KubeadmControlPlane`,
};

/**
 * The override of a stale-model refusal: the situation's own command with `*` (the node for a cordon or eviction,
 * the release labels for helm), else the `volume-guard.io/skip=<checks>` command of the request's hint with `*`, else
 * the places of the plan a `*` skip is read at; none when only approvals are read (a PVC DELETE by a GitOps tool).
 */
export function staleOverride(
  places: readonly OverridePlace[],
  input: Pick<PlanJudgement<unknown>, 'situation' | 'overrideHint' | 'overrideFromHint'>,
): string[] {
  if (input.situation !== undefined && input.overrideFromHint !== true) return overrideLines(input.situation, '*');
  const placeholder = `${SKIP_KEY}=<checks>`;
  const yaml = `${SKIP_KEY}: "<checks>"`;
  const hint = input.overrideHint.split('\n');
  const commands: string[] = [];
  for (const [index, line] of hint.entries()) {
    if (line.includes(placeholder)) {
      const at = line.indexOf(placeholder);
      const command = line.lastIndexOf('kubectl annotate ', at);
      // `"*"`: quoted alike by POSIX shells, PowerShell and cmd.
      commands.push(line.slice(Math.max(command, 0)).replace(placeholder, `${SKIP_KEY}="*"`));
    } else if (line.includes(yaml)) {
      // A manifest's annotations, as YAML lines (indented) under the line saying where to add them (from `add to`).
      let start = index;
      while (start > 0 && /^\s/.test(hint[start]!)) start--;
      const heading = hint[start]!;
      commands.push(heading.slice(Math.max(heading.indexOf('add to '), 0)));
      for (let at = start + 1; at < hint.length && /^\s/.test(hint[at]!); at++) commands.push(hint[at]!.replace(yaml, `${SKIP_KEY}: "*"`));
    }
  }
  if (commands.length > 0) return commands;
  const where = places.flatMap((place) => STALE_PLACES[place] ?? []);
  if (where.length > 0) return where;
  return ['none: only approvals on the objects themselves apply, and they cannot be judged until volume-guard sees the cluster again'];
}

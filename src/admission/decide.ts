// From findings to an admission decision: apply check modes and honored overrides, then word the answer.
import type { CheckId, Finding } from '../checks/types.ts';
import type { CheckMode } from '../config.ts';
import { CLUSTER_API_CONTROL_PLANE_GROUP, CLUSTER_API_GROUP } from '../cluster/resources.ts';
import type { ClusterSnapshot } from '../cluster/snapshot.ts';
import { allowed, denied, type Decision, type HonoredOverride } from './types.ts';
import { grantingKeysReadOn } from './override-feedback.ts';
import { denialMessage, fitWarnings, groupByCheck, overrideLines, plural, warningLines, wrap, type ListingProbe, type Situation } from './messages.ts';
import {
  GRANTING_KEYS,
  HARVESTER_SKIP_DETACHED_KEY,
  mayWriteOverrides,
  nobodyMayWrite,
  overrideLifecycle,
  parseSkip,
  SKIP_BY_KEY,
  SKIP_KEY,
  SKIP_REASON_KEY,
  SKIP_UNTIL_KEY,
  skipsEverything,
  sourceReaches,
  unlistedWriter,
  whoMayWriteOverrides,
  whyNotHonored,
  writerOf,
  type OverrideSource,
  type OverrideWriters,
} from './overrides.ts';
import { WRITER_PLACEHOLDER } from '../override-keys.ts';

export interface Judgement {
  /** What the request does, for the message: `cordon of node worker-1`. */
  readonly action: string;
  readonly findings: readonly Finding[];
  /**
   * The number of findings of a check when `findings` holds only its first few (checks run with a limit so a
   * denial over thousands of volumes stays cheap). Absent: `findings` is complete for that check.
   */
  readonly totals?: Readonly<Partial<Record<CheckId, number>>>;
  readonly modes: Readonly<Record<CheckId, CheckMode>>;
  readonly overrides: readonly OverrideSource[];
  readonly writers: OverrideWriters;
  /**
   * How this kind of object is overridden, with `<checks>` standing for the check ids to skip and `<pvcs>` for the
   * names of the PVCs refused (pvcNames; `<pvcs:check>`: of that check, the line dropped when it did not refuse;
   * `<pvcs|--all>`: `--all` when they do not fit); a `\n` starts another line (each line is shortened on its own).
   */
  readonly overrideHint: string;
  /** Warnings to pass on whatever the outcome (unknown skip entries, uninstall notices). */
  readonly warnings?: readonly string[];
  /**
   * What the request does, structured, so the denial words its consequences, fix and override for it (a CREATE
   * refused cannot be annotated; a cordon is not yet a loss). Absent: generic wording and `overrideHint`.
   */
  readonly situation?: Situation;
  /**
   * The override advised is `overrideHint` even with a situation (a scale-down's: mark other Machines to remove, or
   * annotate the node); the situation words the rest.
   */
  readonly overrideFromHint?: boolean;
  /**
   * Findings honored tag overrides accepted without their being built (counted by the checks), each placed among
   * `findings` where the first of them was met. The decision is the one `findings` holding all of them would give.
   */
  readonly waived?: readonly WaivedFindings[];
  /**
   * For the checks run with waivers: per tag the decision reads (DECISION_TAGS), how many of the check's findings
   * not waived carry it (all of them, listed or not: those checks are judged as if every finding were listed).
   */
  readonly tagTotals?: Readonly<Partial<Record<CheckId, Readonly<Record<string, number>>>>>;
  /** Told, when the answer is a denial, whether more findings built could change its listing (ListingProbe). */
  readonly listingProbe?: ListingProbe;
  /**
   * The stored annotations of an object the advice annotates (fitToStored): its own override, which the printed
   * command must replace with `--overwrite` and keep the checks of. Absent: the advice is printed as for a bare object.
   */
  readonly stored?: StoredAnnotations;
  /** Epoch ms, for the expiry of stored overrides; default now. */
  readonly now?: number;
}

type StringMap = Readonly<Record<string, string>>;

/**
 * The stored annotations of one object a `kubectl annotate` names, by the resource as written there (`node`,
 * `namespace`, `pvc`, `pv`, `volumes.longhorn.io`, an upgrade's or a Machine's owner's
 * `machinedeployments.cluster.x-k8s.io`), its name and namespace; undefined when not known.
 */
export type StoredAnnotations = (resource: string, name: string, namespace: string | undefined) => StringMap | undefined;

/** Findings a tag override accepted, counted and never built, with where they fall among `findings`. */
export interface WaivedFindings {
  readonly check: CheckId;
  readonly source: OverrideSource;
  readonly count: number;
  /** Index into `findings` before which the first of them came (findings of one check are contiguous). */
  readonly at: number;
}

/** Per check, the tags the decision reads across all its findings (the Harvester advice: all `detached`). */
export const DECISION_TAGS: Readonly<Partial<Record<CheckId, readonly string[]>>> = { 'single-replica': ['detached'] };

interface HonoredEntry {
  readonly source: OverrideSource;
  readonly checks: Set<CheckId>;
  /** How many findings it skipped, counting those beyond the listed ones for whole-check overrides. */
  count: number;
  /** For an approval each object records (approvalsOn): what the objects it took record. */
  approvals?: ObjectApprovals;
}

/** The distinct writers, expiries and reasons the objects of an approval record, each list bounded (auditValue). */
interface ObjectApprovals {
  readonly writers: string[];
  readonly until: string[];
  readonly reasons: string[];
}

/** What a list cut at MAX_AUDITED_VALUES ends with. */
const MORE_VALUES = '…';
/**
 * Distinct values an approval's audit keeps per annotation: thousands of PVCs approved by a few admins name a few;
 * more stand for a list the audit annotation would cut anyway (MAX_AUDIT_ANNOTATION_LENGTH).
 */
const MAX_AUDITED_VALUES = 10;

/** Adds a value to a bounded list of distinct values (MORE_VALUES once full). */
function auditValue(values: string[], value: string): void {
  if (values.includes(value) || values.at(-1) === MORE_VALUES) return;
  values.push(values.length < MAX_AUDITED_VALUES ? value : MORE_VALUES);
}

/** What a PVC's approval records when it gives no reason. */
const NO_REASON = '(none given)';

/**
 * Records the writer, expiry and reason of the approval the finding's object carries (its stored annotations: the
 * model's record, which the check read the approval from). Nothing when the object is not of the approval's kind.
 */
function noteApproval(entry: HonoredEntry, finding: Finding, stored: StoredAnnotations | undefined, now: number): void {
  const resource = entry.source.approvalsOn;
  if (resource === undefined || stored === undefined || ANNOTATED_KINDS[resource]?.kind !== finding.object.kind) return;
  const annotations = stored(resource, finding.object.name, finding.object.namespace);
  if (annotations === undefined) return;
  const approvals = (entry.approvals ??= { writers: [], until: [], reasons: [] });
  const { writer, until } = overrideLifecycle(annotations, now);
  if (writer !== '') auditValue(approvals.writers, writer);
  if (until !== '') auditValue(approvals.until, until);
  auditValue(approvals.reasons, annotations[SKIP_REASON_KEY] || NO_REASON);
}

/** Whether `source` waives `finding`: it reaches the finding's data and names its check, or a tag of it. */
export function overrideCovers(source: OverrideSource, finding: Finding): boolean {
  if (!sourceReaches(source, finding)) return false;
  if (source.checks.includes(finding.check)) return true;
  return (source.tags ?? []).some((t) => t.check === finding.check && finding.tags.includes(t.tag));
}

const NO_FINDINGS: readonly Finding[] = Object.freeze([]);

export function judge(input: Judgement): Decision {
  // Nothing found, waived or overridable (most requests): what the steps below answer then, without their
  // intermediate maps and arrays.
  if (input.findings.length === 0 && input.overrides.length === 0 && (input.waived === undefined || input.waived.length === 0)) {
    return { ...allowed(fitWarnings(input.warnings ?? []), undefined), checks: [], overrides: [] };
  }
  const warnings = [...(input.warnings ?? [])];
  const trusted: OverrideSource[] = [];
  /** For each override not honored, why not. */
  const ignored = new Map<OverrideSource, string>();
  for (const source of input.overrides) {
    const why = whyNotHonored(source, input.writers);
    if (why) {
      warnings.push(...wrap(`volume-guard: override on ${source.where} ignored: ${why}`));
      ignored.set(source, why);
    } else {
      trusted.push(source);
    }
  }

  const honored = new Map<OverrideSource, HonoredEntry>();
  const honor = (source: OverrideSource, check: CheckId, count: number): HonoredEntry => {
    const entry = honored.get(source) ?? { source, checks: new Set<CheckId>(), count: 0 };
    entry.checks.add(check);
    entry.count += count;
    honored.set(source, entry);
    return entry;
  };
  const remaining: Finding[] = [];
  // The checks with findings, in the order met (waived ones included).
  const checks: CheckId[] = [];
  const waived = input.waived ?? [];
  let next = 0;
  const honorWaived = (upTo: number): void => {
    for (; next < waived.length && waived[next]!.at <= upTo; next++) {
      const entry = waived[next]!;
      if (!checks.includes(entry.check)) checks.push(entry.check);
      if (input.modes[entry.check] !== 'off') honor(entry.source, entry.check, entry.count);
    }
  };
  for (let index = 0; index < input.findings.length; index++) {
    const finding = input.findings[index]!;
    honorWaived(index);
    if (checks[checks.length - 1] !== finding.check && !checks.includes(finding.check)) checks.push(finding.check);
    if (input.modes[finding.check] === 'off') continue;
    const source = trusted.find((candidate) => overrideCovers(candidate, finding));
    if (source === undefined) remaining.push(finding);
    else if (source.approvalsOn === undefined) honor(source, finding.check, 1);
    else noteApproval(honor(source, finding.check, 1), finding, input.stored, input.now ?? Date.now());
  }
  honorWaived(Number.POSITIVE_INFINITY);
  // Findings beyond the listed ones: a whole-check override covers them too.
  const listed = groupByCheck(input.findings);
  for (const [check, findings] of listed) {
    const unlisted = (input.totals?.[check] ?? findings.length) - findings.length;
    // A namespace's override reaches only the findings it can see are of its namespace: none unlisted.
    const source = trusted.find((candidate) => candidate.checks.includes(check) && candidate.namespace === undefined);
    if (unlisted > 0 && source && input.modes[check] !== 'off') honor(source, check, unlisted);
  }

  const enforced: { check: CheckId; findings: Finding[]; total: number }[] = [];
  const enforcedChecks: CheckId[] = [];
  // Nothing overridden (the usual denial): the remaining findings are the listed ones, already grouped.
  // The warning lines said so far: an object two checks list is worded apart in the second (warningLines).
  const said = new Set(warnings);
  for (const [check, findings] of remaining.length === input.findings.length ? listed : groupByCheck(remaining)) {
    // Listed findings an override skipped are not counted; unlisted ones are, unless a whole-check override took them.
    const listedCount = listed.get(check)?.length ?? findings.length;
    const total = (input.totals?.[check] ?? listedCount) - (listedCount - findings.length);
    // Findings of severity warning (a dropped StatefulSet without data yet) inform; they never deny.
    const allCritical = findings.every((finding) => finding.severity === 'critical');
    const critical = allCritical ? findings : findings.filter((finding) => finding.severity === 'critical');
    const informational = allCritical ? NO_FINDINGS : findings.filter((finding) => finding.severity !== 'critical');
    if (informational.length) warnings.push(...warningLines(check, informational, informational.length, input.situation, said));
    if (critical.length === 0) continue;
    if (input.modes[check] === 'enforce') {
      enforced.push({ check, findings: critical, total: total - informational.length });
      enforcedChecks.push(check);
    } else {
      warnings.push(...warningLines(check, critical, total - informational.length, input.situation, said));
    }
  }

  const overriddenChecks = [...new Set([...honored.values()].flatMap((h) => [...h.checks]))];
  const honoredOverrides = overriddenChecks.length ? [...honored.values()].map(honoredOverride) : undefined;
  for (const { where, checks, count, reason } of honoredOverrides ?? []) {
    const why = reason ? `, reason: ${reason}` : '';
    // After a colon, not in brackets: several places name themselves with brackets already (`release label (revision 1)`,
    // `namespace shop (volume-guard.io/skip-evictions)`), which read `(revision 1) (1 risk accepted)` otherwise.
    warnings.push(...wrap(`volume-guard: ${[...checks].join(',')} overridden by ${where}: ${plural(count, 'risk', 'risks')} accepted${why}`));
  }
  const auditAnnotations = honoredOverrides ? overrideAudit(honoredOverrides) : undefined;

  const fitted = fitWarnings(warnings);
  if (enforced.length > 0) {
    const skipList = enforcedChecks.join(',');
    const override = input.situation && input.overrideFromHint !== true
      ? overrideLines(input.situation, enforcedChecks)
      : input.overrideHint
          .replace('<checks>', skipList)
          .replace(/^run: /, '')
          .split('\n')
          // A line for one check's PVCs (`<pvcs:orphan-pvc>`) only when that check refused; for one namespace's
          // (`<pvcs@shop>`) only when a PVC of it is refused (or the listing is not whole, so it may be).
          .filter((line) =>
            [...line.matchAll(PVCS_PLACEHOLDER)].every(
              ([, check, namespace]) =>
                (check === undefined || enforcedChecks.includes(check as CheckId)) && (namespace === undefined || mayHoldRefused(enforced, namespace)),
            ),
          )
          .map((line) =>
            line.replace(PVCS_PLACEHOLDER, (_, check: string | undefined, namespace: string | undefined, all: string | undefined) =>
              pvcNames(check === undefined ? enforced : enforced.filter((group) => group.check === check), all !== undefined, namespace),
            ),
          );
    // Before fitting to the stored annotations: a skip-until the namespace holds already calls for --overwrite.
    override.splice(0, override.length, ...override.map((line) => withNamespaceExpiry(line, input.now ?? Date.now(), input.stored)));
    if (input.stored !== undefined) {
      const fitted = fitOverrideToStored(override, input.stored, input.now ?? Date.now(), input.writers, input.situation);
      override.splice(0, override.length, ...fitted);
    }
    // A Harvester Upgrade refused only for detached single-replica volumes: Harvester's own annotation is enough. Already
    // set but not honored (the UI's user may not write overrides), it is not advised again: the refusal says why.
    const singles = enforced.find((group) => group.check === 'single-replica');
    const detachedSkip = input.situation?.kind === 'upgrade' ? input.overrides.find(skipsDetachedSingleReplicas) : undefined;
    const detachedSkipIgnored = detachedSkip === undefined ? undefined : ignored.get(detachedSkip);
    if (detachedSkip !== undefined && detachedSkipIgnored !== undefined) {
      if (singles !== undefined) override.push(detachedSkipNotHonored(detachedSkip, detachedSkipIgnored, input.writers));
    } else if (
      input.situation?.kind === 'upgrade' &&
      input.situation.resource === 'upgrades.harvesterhci.io' &&
      enforced.length === 1 &&
      singles !== undefined &&
      allDetached(singles, input.tagTotals?.['single-replica'])
    ) {
      override.push(`or, as Harvester does, skip only detached volumes: ${HARVESTER_SKIP_DETACHED_KEY}: "true"`);
    }
    const message = denialMessage({
      action: input.action,
      ...(input.situation ? { situation: input.situation } : {}),
      groups: enforced,
      override,
      ...(input.listingProbe ? { probe: input.listingProbe } : {}),
      ...(input.stored !== undefined ? { fitCommands: fitCommandsTo(input.stored, input.now ?? Date.now(), input.writers) } : {}),
    });
    return denied(message, {
      ...(fitted.length ? { warnings: fitted } : {}),
      ...(auditAnnotations ? { auditAnnotations } : {}),
      ...(honoredOverrides ? { honored: honoredOverrides } : {}),
      checks,
      overrides: overriddenChecks,
      deniedChecks: enforcedChecks,
    });
  }
  return { ...allowed(fitted, auditAnnotations), ...(honoredOverrides ? { honored: honoredOverrides } : {}), checks, overrides: overriddenChecks };
}

/**
 * `<pvcs>`, or `<pvcs:check>` for the PVCs of one check, in an override hint; `<pvcs@namespace>` for those of one
 * namespace (a command per namespace: `kubectl annotate pvc -n` takes one); `<pvcs|--all>` where every PVC of the
 * namespace is concerned (a Namespace DELETE deletes them all), so `--all` stands for names that do not fit.
 */
const PVCS_PLACEHOLDER = /<pvcs(?::([a-z-]+))?(?:@([a-z0-9.-]+))?(\|--all)?>/g;

/** Whether a refused PVC may be in `namespace`: one listed there, or a listing that is not whole. */
function mayHoldRefused(groups: readonly { findings: readonly Finding[]; total: number }[], namespace: string): boolean {
  return groups.some(
    (group) => group.findings.length < group.total || group.findings.some((finding) => finding.object.kind === 'PersistentVolumeClaim' && finding.object.namespace === namespace),
  );
}

/**
 * How long the names a hint's command gives may be together: as long as three of the longest (253 characters), the
 * command stays within a line of the override (MAX_OVERRIDE_LINE).
 */
const MAX_HINT_NAMES_LENGTH = 3 * 253 + 2;

/**
 * The refused PVCs for a hint's `kubectl annotate pvc <pvcs>` (kubectl takes several names): every one, when all are
 * at hand and fit (MAX_HINT_NAMES_LENGTH); else `--all` where allowed, or `<name>` for the operator to fill in from
 * the listing (a command naming only some would leave the others refused). `<name>` too when none is listed (a
 * withheld one is not named).
 */
function pvcNames(groups: readonly { findings: readonly Finding[]; total: number }[], all: boolean, namespace?: string): string {
  const names: string[] = [];
  let total = 0;
  for (const group of groups) {
    const claims = group.findings.filter((finding) => finding.object.kind === 'PersistentVolumeClaim' && finding.object.namespace !== undefined);
    const whole = claims.length === group.findings.length && group.findings.length === group.total;
    if (namespace !== undefined) {
      // One namespace's: every one when the listing is whole; else the operator fills them in from the listing.
      const mine = claims.filter((finding) => finding.object.namespace === namespace);
      total += whole ? mine.length : Number.POSITIVE_INFINITY;
      for (const finding of mine) if (!names.includes(finding.object.name)) names.push(finding.object.name);
      continue;
    }
    total += claims.length === group.findings.length ? group.total : claims.length;
    for (const finding of claims) if (!names.includes(finding.object.name)) names.push(finding.object.name);
  }
  const shown = names.join(' ');
  if (names.length > 0 && names.length >= total && shown.length <= MAX_HINT_NAMES_LENGTH) return shown;
  return all ? '--all' : '<name>';
}

/** Harvester's skipSingleReplicaDetachedVol, as read on an upgrade: it skips the single-replica findings of detached volumes. */
function skipsDetachedSingleReplicas(source: OverrideSource): boolean {
  return (source.tags ?? []).some((tag) => tag.check === 'single-replica' && tag.tag === 'detached');
}

/**
 * The refusal's line for Harvester's annotation set on the upgrade but not honored: why, and, when its writer may not
 * write overrides, who may (as the override guard says it).
 */
function detachedSkipNotHonored(source: OverrideSource, why: string, writers: OverrideWriters): string {
  const who = source.writer !== undefined && !mayWriteOverrides(source.writer, writers) ? `; ${whoMayWriteOverrides(writers).text}` : '';
  return `${HARVESTER_SKIP_DETACHED_KEY}: "true" is set, but ${why}${who}`;
}

/**
 * Whether every finding of the group is about a detached volume: seen in the findings when all are listed, else
 * from the count of those tagged `detached` when the check counted it.
 */
function allDetached(group: { findings: readonly Finding[]; total: number }, tagTotals: Readonly<Record<string, number>> | undefined): boolean {
  if (!group.findings.every((finding) => finding.tags.includes('detached'))) return false;
  if (group.total === group.findings.length) return true;
  return tagTotals?.['detached'] === group.total;
}

/**
 * An honored override as audited: its own writer, expiry and reason, or for an approval each object records, those
 * of the objects it took (the approval's meaning when none of them gives a reason).
 */
function honoredOverride({ source, checks, count, approvals }: HonoredEntry): HonoredOverride {
  const writer = writerOf(source);
  const writers = approvals?.writers ?? (writer ? [writer] : []);
  const until = approvals?.until ?? (source.until ? [source.until] : []);
  const reason = approvals !== undefined && approvals.reasons.some((given) => given !== NO_REASON) ? approvals.reasons.join('; ') : source.reason;
  return { where: source.where, reason, ...(writers.length ? { writers } : {}), ...(until.length ? { until } : {}), checks: [...checks], count };
}

/** Distinct values joined by commas, a cut list's MORE_VALUES last. */
function auditList(values: readonly string[]): string {
  const distinct = new Set(values);
  const cut = distinct.delete(MORE_VALUES);
  return [...distinct, ...(cut ? [MORE_VALUES] : [])].join(',');
}

/** The audit annotation keys overrideAudit writes. */
const OVERRIDE_AUDIT_KEYS = ['overridden-checks', 'override-source', 'override-reason', 'overridden-objects', 'override-writer', 'override-until'];

function overrideAudit(honored: readonly HonoredOverride[]): Record<string, string> {
  const checks = [...new Set(honored.flatMap((h) => h.checks))];
  const audit: Record<string, string> = {
    'overridden-checks': checks.join(','),
    'override-source': honored.map((h) => h.where).join('; '),
    'override-reason': honored.map((h) => h.reason || NO_REASON).join('; '),
    'overridden-objects': String(honored.reduce((n, h) => n + h.count, 0)),
  };
  const writers = honored.flatMap((h) => h.writers ?? []);
  if (writers.length) audit['override-writer'] = auditList(writers);
  const until = honored.flatMap((h) => h.until ?? []);
  if (until.length) audit['override-until'] = auditList(until);
  return audit;
}

/**
 * The audit of a request judged in parts (a scale-down judges each node it may remove): every override any part
 * honored, once per source (one read for several parts, e.g. a MachineDeployment's own skip, has its checks joined
 * and its findings summed), with the parts' other annotations; to spread into the request's decision.
 */
export function combinedOverrideAudit(parts: readonly Decision[]): Pick<Decision, 'auditAnnotations' | 'honored'> {
  const merged = new Map<string, { honored: HonoredOverride; checks: Set<string>; count: number }>();
  const others: Record<string, string> = {};
  for (const part of parts) {
    Object.assign(others, part.auditAnnotations);
    for (const honored of part.honored ?? []) {
      const key = JSON.stringify([honored.where, honored.reason, honored.writers ?? [], honored.until ?? []]);
      const entry = merged.get(key) ?? { honored, checks: new Set<string>(), count: 0 };
      for (const check of honored.checks) entry.checks.add(check);
      entry.count += honored.count;
      merged.set(key, entry);
    }
  }
  if (merged.size === 0) {
    // Override annotations without the overrides behind them (a stale model passed by a skip=*) stay as they are.
    return Object.keys(others).length > 0 ? { auditAnnotations: others } : {};
  }
  const honored = [...merged.values()].map(({ honored, checks, count }) => ({ ...honored, checks: [...checks], count }));
  for (const key of OVERRIDE_AUDIT_KEYS) delete others[key];
  return { auditAnnotations: { ...others, ...overrideAudit(honored) }, honored };
}

/** The `kubectl annotate` an admin runs to override checks on an object. */
export function annotateHint(resource: string, ref: string, namespace?: string): string {
  const ns = namespace ? ` -n ${namespace}` : '';
  return `run: kubectl annotate ${resource} ${ref}${ns} ${SKIP_KEY}=<checks> ${SKIP_REASON_KEY}="<why>" ${SKIP_BY_KEY}=${WRITER_PLACEHOLDER}`;
}

/**
 * A namespace's skip is read by every operation judged there (its later Namespace DELETE, a Helm upgrade dropping a
 * StatefulSet; in Longhorn's namespace, the deleting-confirmation-flag): advice that writes one gives it an expiry an
 * hour ahead, so the override meant for this operation does not stand for the others.
 */
const NAMESPACE_SKIP_COMMAND = /(kubectl annotate (?:--overwrite )?namespace (\S+) volume-guard\.io\/skip=[^;]*?volume-guard\.io\/skip-by=(?:<[^>]*>|[^\s;,]+))/;

/** How long the expiry written by a namespace's skip advice runs. */
export const NAMESPACE_SKIP_HOURS = 1;

function withNamespaceExpiry(line: string, now: number, stored?: StoredAnnotations): string {
  if (line.includes(`${SKIP_UNTIL_KEY}=`)) return line;
  const command = NAMESPACE_SKIP_COMMAND.exec(line);
  if (command === null) return line;
  const ahead = Math.ceil((now + NAMESPACE_SKIP_HOURS * 3_600_000) / 60_000) * 60_000;
  // A later expiry the namespace holds already is kept: the advice does not cut an admin's longer skip short.
  const held = Date.parse(stored?.('namespace', command[2]!, undefined)?.[SKIP_UNTIL_KEY] ?? '');
  if (Number.isFinite(held) && held >= ahead) return line;
  return line.replace(NAMESPACE_SKIP_COMMAND, `$1 ${SKIP_UNTIL_KEY}=${new Date(ahead).toISOString().replace(/\.\d{3}Z$/, 'Z')}`);
}

const ANNOTATE = 'kubectl annotate ';
/** A `volume-guard.io/<key>=<value>` of a printed command: quoted, a placeholder (`<your user name>`), or a word. */
const KEY_VALUE = /(volume-guard\.io\/[a-z-]+)=("[^"]*"|<[^>]*>|[^\s;]+)/g;
/** What the advice writes for a fresh expiry: the stored one is past (or unreadable), so the override would stay ignored. */
export const NEW_UNTIL = '<new RFC 3339 time>';

/**
 * The override lines fitted to the objects they annotate, as stored (kubectl annotate refuses to change an annotation
 * holding another value without `--overwrite`, "already has a value"):
 * - a skip written keeps the checks the object's own stored skip names (not expired): `--overwrite` replaces the
 *   value, and what that skip waived must stay waived; never the checks of overrides read elsewhere (a namespace's,
 *   a Harvester Upgrade's), which the object does not hold;
 * - `--overwrite` when the object holds a key the command writes with another value (a skip, a reason, a writer, an
 *   approval such as `reuse: "True"`);
 * - when the object's `skip-until` is past or unreadable, every override on it is ignored: the command writes a
 *   fresh one (`skip-until=<new RFC 3339 time>`), never removes it, which would make the object's other overrides
 *   count for good; those other granting keys are named, as they count again until then.
 * A manifest's annotations (a refused CREATE) are fitted the same way from the object created.
 */
export function fitOverrideToStored(
  lines: readonly string[],
  stored: StoredAnnotations,
  now: number,
  writers: OverrideWriters,
  situation?: Situation,
): string[] {
  if (situation?.kind === 'upgrade' && situation.operation === 'CREATE') {
    const manifest = stored(situation.resource, situation.name, situation.namespace);
    return manifest === undefined ? [...lines] : fitManifest(lines, manifest, now, writers);
  }
  return lines.flatMap((line) => fitLine(line, stored, now, writers));
}

/**
 * The checks a stored skip keeps waived when rewritten: only those it waives now. None once its object's overrides
 * expired, nor from a skip whose writer does not count (none recorded; under `listed` without allowedGroups, one not
 * in allowedUsers: unlistedWriter; nobody at all: nobodyMayWrite): it is ignored, so the advice, written under
 * another writer, must not turn it, or its `*`, on.
 */
function keptChecks(values: StringMap, now: number, writers: OverrideWriters): readonly string[] | '*' {
  const lifecycle = overrideLifecycle(values, now);
  if (lifecycle.expiredOrInvalid !== undefined || lifecycle.writer === '') return [];
  if (nobodyMayWrite(writers) !== undefined || unlistedWriter(lifecycle.writer, writers) !== undefined) return [];
  const raw = values[SKIP_KEY];
  if (raw === undefined) return [];
  return skipsEverything(raw) ? '*' : parseSkip(raw).checks;
}

function unionSkip(written: string, kept: readonly string[] | '*'): string {
  const bare = written.replace(/^"(.*)"$/, '$1');
  if (bare === '*' || kept === '*') return '"*"';
  const checks = bare.split(',').filter((entry) => entry !== '');
  for (const check of kept) if (!checks.includes(check)) checks.push(check);
  return checks.join(',');
}

/** Why a lapsed expiry voids the object's overrides, said next to the fresh one the advice writes. */
function lapsedNote(why: string): string {
  return `(its overrides are ignored now: ${why}; the command writes a new skip and ${SKIP_UNTIL_KEY})`;
}

/** The granting keys volume-guard reads on the objects of a `kubectl annotate <resource>` (the rest re-arm nothing). */
function grantingKeysReadOnResource(resource: string): readonly string[] {
  const kind = ANNOTATED_KINDS[resource];
  return kind === undefined ? [SKIP_KEY] : grantingKeysReadOn(kind);
}

/**
 * The objects an advice's `kubectl annotate <resource>` names: their kind (which keys are read there) and where their
 * stored annotations are in the model (plan-judge.ts storedAnnotations). One table for both.
 */
export const ANNOTATED_KINDS: Readonly<
  Record<string, { readonly group: string; readonly kind: string; readonly stored: (snapshot: ClusterSnapshot, name: string, namespace: string | undefined) => StringMap | undefined }>
> = {
  node: { group: '', kind: 'Node', stored: (snapshot, name) => snapshot.node(name)?.annotations },
  namespace: { group: '', kind: 'Namespace', stored: (snapshot, name) => snapshot.namespace(name)?.annotations },
  pvc: {
    group: '',
    kind: 'PersistentVolumeClaim',
    stored: (snapshot, name, namespace) => (namespace === undefined ? undefined : snapshot.persistentVolumeClaim(namespace, name)?.annotations),
  },
  pv: { group: '', kind: 'PersistentVolume', stored: (snapshot, name) => snapshot.persistentVolume(name)?.annotations },
  'volumes.longhorn.io': { group: 'longhorn.io', kind: 'Volume', stored: (snapshot, name) => snapshot.longhornVolume(name)?.annotations },
  // A Cluster API owner whose skip is read for its Machines' removal (rollout-owner.ts rolloutOwnerTarget), by name.
  'kubeadmcontrolplanes.controlplane.cluster.x-k8s.io': {
    group: CLUSTER_API_CONTROL_PLANE_GROUP,
    kind: 'KubeadmControlPlane',
    stored: (snapshot, name, namespace) => (namespace === undefined ? undefined : snapshot.machineOwner(namespace, 'KubeadmControlPlane', name)?.annotations),
  },
  'machinedeployments.cluster.x-k8s.io': {
    group: CLUSTER_API_GROUP,
    kind: 'MachineDeployment',
    stored: (snapshot, name, namespace) => (namespace === undefined ? undefined : snapshot.machineOwner(namespace, 'MachineDeployment', name)?.annotations),
  },
};

function fitManifest(lines: readonly string[], manifest: StringMap, now: number, writers: OverrideWriters): string[] {
  const lapsed = overrideLifecycle(manifest, now).expiredOrInvalid;
  const expired = lapsed !== undefined;
  const kept = keptChecks(manifest, now, writers);
  const out: string[] = [];
  for (const line of lines) {
    const skip = /^(\s*)volume-guard\.io\/skip: "([^"]*)"$/.exec(line);
    if (skip === null) {
      out.push(line);
      continue;
    }
    const value = unionSkip(skip[2]!, kept);
    out.push(`${skip[1]}${SKIP_KEY}: ${value.startsWith('"') ? value : `"${value}"`}`);
    if (expired) out.push(`${skip[1]}${SKIP_UNTIL_KEY}: "${NEW_UNTIL}"`);
  }
  if (lapsed !== undefined && out.length > lines.length) out.push(lapsedNote(lapsed));
  return out;
}

/** A fix's text with its `kubectl annotate` commands fitted to their objects (a reuse approval of the PVCs named). */
function fitCommandsTo(stored: StoredAnnotations, now: number, writers: OverrideWriters): (text: string) => string {
  return (text) => (text.includes(ANNOTATE) ? fitLine(text, stored, now, writers).join(' ') : text);
}

/** One line's `kubectl annotate` commands fitted to their objects (fitOverrideToStored); extra lines after it. */
function fitLine(line: string, stored: StoredAnnotations, now: number, writers: OverrideWriters): string[] {
  const starts: number[] = [];
  for (let at = line.indexOf(ANNOTATE); at >= 0; at = line.indexOf(ANNOTATE, at + ANNOTATE.length)) starts.push(at);
  if (starts.length === 0) return [line];
  const extra: string[] = [];
  let out = line.slice(0, starts[0]);
  for (const [index, start] of starts.entries()) {
    const end = starts[index + 1] ?? line.length;
    const { command, notes } = fitCommand(line.slice(start, end), stored, now, writers);
    out += command;
    extra.push(...notes);
  }
  return [out, ...extra];
}

function fitCommand(segment: string, stored: StoredAnnotations, now: number, writers: OverrideWriters): { command: string; notes: string[] } {
  const words = segment.slice(ANNOTATE.length).split(' ');
  const resource = words[0] ?? '';
  const names: string[] = [];
  let namespace: string | undefined;
  for (let index = 1; index < words.length; index++) {
    const word = words[index]!;
    if (word.startsWith('volume-guard.io/') || word.includes('=')) break;
    if (word === '-n') namespace = words[++index];
    else if (!word.startsWith('<') && !word.startsWith('-') && word !== '...') names.push(word);
  }
  const objects: StringMap[] = [];
  for (const name of names) {
    const values = stored(resource, name, namespace);
    if (values !== undefined) objects.push(values);
  }
  if (objects.length === 0) return { command: segment, notes: [] };
  const pairs = [...segment.matchAll(KEY_VALUE)];
  if (pairs.length === 0) return { command: segment, notes: [] };
  const lapsed = objects.map((values) => overrideLifecycle(values, now).expiredOrInvalid).find((why) => why !== undefined);
  const expired = lapsed !== undefined;
  // A skip keeps the checks its one object's own skip names (a command over several objects writes approvals).
  const kept = objects.length === 1 ? keptChecks(objects[0]!, now, writers) : [];
  const written = new Map<string, string>();
  let command = segment.replace(KEY_VALUE, (_match, key: string, value: string) => {
    const next = key === SKIP_KEY ? unionSkip(value, kept) : value;
    written.set(key, next);
    return `${key}=${next}`;
  });
  if (expired && !written.has(SKIP_UNTIL_KEY)) {
    const last = [...command.matchAll(KEY_VALUE)].at(-1)!;
    const at = last.index + last[0].length;
    // Quoted as every placeholder of a printed command (WRITER_PLACEHOLDER): unquoted, the shell reads `<` as a redirect.
    command = `${command.slice(0, at)} ${SKIP_UNTIL_KEY}="${NEW_UNTIL}"${command.slice(at)}`;
    written.set(SKIP_UNTIL_KEY, `"${NEW_UNTIL}"`);
  }
  const unquoted = (value: string) => value.replace(/^"(.*)"$/, '$1');
  const overwrite = objects.some((values) => [...written].some(([key, value]) => values[key] !== undefined && values[key] !== unquoted(value)));
  if (overwrite && !command.startsWith(`${ANNOTATE}--overwrite `)) command = `${ANNOTATE}--overwrite ${command.slice(ANNOTATE.length)}`;
  const notes: string[] = [];
  if (lapsed !== undefined) {
    notes.push(objects.length === 1 ? lapsedNote(lapsed) : `(some are ignored now: ${lapsed}; the command writes a new ${SKIP_UNTIL_KEY})`);
    const readHere = grantingKeysReadOnResource(resource);
    const others = GRANTING_KEYS.filter((key) => readHere.includes(key) && !written.has(key) && objects.some((values) => values[key] !== undefined));
    if (others.length > 0) {
      notes.push(`(the new ${SKIP_UNTIL_KEY} re-arms its ${others.join(', ')} until then too; to keep ${others.length === 1 ? 'it' : 'them'} off, also write ${others.map((key) => `${key}-`).join(' ')})`);
    }
  }
  return { command, notes };
}

// Overrides: how an admin tells volume-guard "I know, do it anyway". Only as trustworthy as their writer, so:
// - the override-guard validator refuses writes of these keys from anyone outside the configured writers, and
//   requires every such write to carry `volume-guard.io/skip-by` equal to the requesting user: a stored override
//   always names the last user who added or changed it, and that user passed the guard;
// - a stored override without `skip-by` (written before volume-guard was installed, or around it) is ignored
//   with a warning, and one past its `volume-guard.io/skip-until` (RFC 3339) too; so is one whose `skip-by` names a
//   user the settings could never have allowed (no allowedGroups, not in allowedUsers: unlistedWriter).
import { arrayAt, objectAt, stringAt } from '../json.ts';
import { describeUser } from '../kube.ts';
import { DELETE_KEY, GRANTING_KEYS, OVERRIDE_KEYS, overrideLifecycle, REMOVAL_POLICED_KEYS, REUSE_KEY, SKIP_BY_KEY, SKIP_KEY, SKIP_REASON_KEY } from '../override-keys.ts';
import type { UserInfo } from './types.ts';
import { CHECK_IDS, isCheckId, type CheckId, type Finding } from '../checks/types.ts';
import { isDataOfNamespace } from '../checks/affected.ts';
import { REUSE_APPROVED_TAG } from '../checks/orphan-pvc.ts';
import { DELETE_APPROVED_TAG } from '../checks/pvc-delete.ts';

export {
  DELETE_KEY,
  GRANTING_KEYS,
  HARVESTER_SKIP_DETACHED_KEY,
  HARVESTER_UPGRADE_KINDS,
  isHarvesterUpgradeKind,
  isReuseApproved,
  OVERRIDE_KEYS,
  overrideLifecycle,
  parseRfc3339,
  REMOVAL_POLICED_KEYS,
  REUSE_KEY,
  SKIP_BY_KEY,
  SKIP_EVICTIONS_KEY,
  SKIP_KEY,
  SKIP_REASON_KEY,
  SKIP_UNTIL_KEY,
  type OverrideLifecycle,
} from '../override-keys.ts';

/** `listed`: only allowedGroups/allowedUsers (both empty: nobody); `rbac`: anyone RBAC lets write the object. */
export type OverrideWriterMode = 'listed' | 'rbac';
export const OVERRIDE_WRITER_MODES: readonly OverrideWriterMode[] = ['listed', 'rbac'];

export interface OverrideWriters {
  readonly mode?: OverrideWriterMode;
  readonly allowedGroups: readonly string[];
  readonly allowedUsers: readonly string[];
}

/** Groups that hold (nearly) every identity: allowing them makes any user or pod an override writer. */
export const BROAD_GROUPS: readonly string[] = ['system:authenticated', 'system:unauthenticated', 'system:serviceaccounts'];

/** In `listed` mode (the default) empty lists mean nobody; in `rbac` mode RBAC alone decides. */
export function mayWriteOverrides(user: UserInfo, writers: OverrideWriters): boolean {
  if (writers.mode === 'rbac') return true;
  if (writers.allowedUsers.includes(user.username)) return true;
  return user.groups.some((group) => writers.allowedGroups.includes(group));
}

/** Startup warnings for writer settings that let (nearly) anyone override the checks. */
export function overrideWriterWarnings(writers: OverrideWriters): string[] {
  const warnings: string[] = [];
  if (writers.mode === 'rbac') {
    warnings.push(
      'overrides.mode is rbac: anyone RBAC lets update nodes, namespaces, PVCs or upgrade objects may override the ' +
        'data-loss checks' +
        (writers.allowedGroups.length || writers.allowedUsers.length ? ' (overrides.allowedGroups/allowedUsers are not used)' : ''),
    );
  }
  const broad = writers.allowedGroups.filter((group) => BROAD_GROUPS.includes(group) || group.startsWith('system:serviceaccounts:'));
  if (writers.mode !== 'rbac' && broad.length > 0) {
    warnings.push(`overrides.allowedGroups includes ${broad.join(', ')}: every member (every user or pod) may override the data-loss checks`);
  }
  if (writers.mode !== 'rbac' && writers.allowedGroups.length === 0 && writers.allowedUsers.length === 0) {
    warnings.push('overrides.allowedGroups and allowedUsers are empty: nobody may write overrides, and none is honored');
  }
  return warnings;
}

export interface ParsedSkip {
  /** The check ids skipped; every id when the value is `*`. */
  readonly checks: readonly CheckId[];
  /** Entries that name no check: reported back as warnings, never silently ignored. */
  readonly unknown: readonly string[];
}

/** What an absent key reads as (most objects), shared rather than built per request. */
const NO_SKIP: ParsedSkip = Object.freeze({ checks: Object.freeze([]), unknown: Object.freeze([]) });

/** Label values allow neither `*` nor `,`: there `all` stands for every check and `_` separates ids. */
function skipEntries(value: string): string[] {
  return value
    .split(/[,_]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

const everything = (entry: string): boolean => entry === '*' || entry === 'all';

/** A skip value naming every check (`*`, or `all` in a label), whatever else it lists. */
export function skipsEverything(value: string): boolean {
  return skipEntries(value).some(everything);
}

export function parseSkip(value: string | undefined): ParsedSkip {
  if (value === undefined) return NO_SKIP;
  const entries = skipEntries(value);
  if (entries.some(everything)) {
    return { checks: [...CHECK_IDS], unknown: entries.filter((e) => !everything(e) && !isCheckId(e)) };
  }
  const checks: CheckId[] = [];
  const unknown: string[] = [];
  for (const entry of entries) {
    if (isCheckId(entry)) {
      if (!checks.includes(entry)) checks.push(entry);
    } else {
      unknown.push(entry);
    }
  }
  return { checks, unknown };
}

/** One place an override was found, honored or not. */
export interface OverrideSource {
  /** Where, as a person would say it: `node worker-1`, `namespace devlake`, `release label`. */
  readonly where: string;
  readonly checks: readonly CheckId[];
  /** Narrower than a whole check: finding tags it skips (e.g. `detached` for Harvester's annotation). */
  readonly tags?: readonly { readonly check: CheckId; readonly tag: string }[];
  readonly reason: string;
  /** Who wrote it when that is known from this request; undefined when it was already stored (and guarded then). */
  readonly writer?: UserInfo;
  /** A stored override: the writer recorded in `volume-guard.io/skip-by` ('' when none: not honored). */
  readonly recordedBy?: string;
  /** `volume-guard.io/skip-until` as written, when set. */
  readonly until?: string;
  /** Why it is not honored whoever wrote it (expired, unreadable expiry); reported as a warning. */
  readonly ignored?: string;
  /**
   * Written on this namespace: it waives only findings about that namespace's data (isDataOfNamespace), never
   * another namespace's (a node-wide check run at an eviction finds the data of every pod on the node).
   */
  readonly namespace?: string;
  /**
   * A tag override each finding's object carries (a PVC's reuse or delete approval, tagged by the check): the object,
   * as `kubectl annotate` names its resource, whose stored annotations record that approval's writer, expiry and
   * reason. The audit names those of every object it honored (the source itself records none).
   */
  readonly approvalsOn?: 'pvc';
}

/**
 * The checks some of these overrides narrow by tag (each once): a judgement must see every finding of those (not cap
 * them) to tell which remain and to audit what the overrides skipped.
 */
export function taggedChecks(overrides: readonly OverrideSource[]): CheckId[] {
  return [...new Set(overrides.flatMap((source) => (source.tags ?? []).map((tag) => tag.check)))];
}

/** Whether the source may waive this finding: a namespace's override only that namespace's data. */
export function sourceReaches(source: OverrideSource, finding: Pick<Finding, 'object' | 'related'>): boolean {
  return source.namespace === undefined || isDataOfNamespace(finding, source.namespace);
}

type StringMap = Readonly<Record<string, string>>;

export interface SkipOptions {
  /** The key holding the skip list; default `volume-guard.io/skip`. */
  readonly key?: string;
  /** Epoch ms, for the expiry; default now. */
  readonly now?: number;
  /** Where the writer and expiry keys are read when `values` are labels (they are always annotations). */
  readonly annotations?: StringMap;
}

/**
 * Reads a skip key and its reason from one object's annotations (or labels). With `writer` (this request adds or
 * changes the skip) the requester is judged; without, the override was stored earlier and counts only with a
 * recorded writer (`volume-guard.io/skip-by`, which the override guard holds equal to whoever wrote it).
 */
export function skipFrom(where: string, values: StringMap | undefined, writer?: UserInfo, options: SkipOptions = {}): OverrideSource | undefined {
  const parsed = parseSkip(values?.[options.key ?? SKIP_KEY]);
  if (parsed.checks.length === 0 && parsed.unknown.length === 0) return undefined;
  const lifecycle = overrideLifecycle(options.annotations ?? values, options.now ?? Date.now());
  return {
    where,
    checks: parsed.checks,
    reason: values?.[SKIP_REASON_KEY] ?? options.annotations?.[SKIP_REASON_KEY] ?? '',
    ...(writer ? { writer } : { recordedBy: lifecycle.writer }),
    ...(lifecycle.until ? { until: lifecycle.until } : {}),
    ...(lifecycle.expiredOrInvalid ? { ignored: lifecycle.expiredOrInvalid } : {}),
  };
}

/**
 * Whether an override counts: not expired, and written by an allowed writer — the requester when this request
 * wrote it, else the writer volume-guard recorded when it was stored (not re-judged, except that a user the settings
 * could never have allowed does not count: unlistedWriter). Returns why not, or undefined when it counts.
 */
export function whyNotHonored(source: OverrideSource, writers: OverrideWriters): string | undefined {
  if (source.ignored) return source.ignored;
  if (source.writer) {
    return mayWriteOverrides(source.writer, writers) ? undefined : `${describeUser(source.writer)} may not write overrides`;
  }
  if (source.recordedBy === '') {
    return `no writer recorded; an authorized admin must set it again (with ${SKIP_BY_KEY}=<their user name>)`;
  }
  // Stored overrides whose writer is recorded per object (a PVC's reuse or delete approval) or elsewhere (Harvester's
  // annotation on the Upgrade being drained) count for nobody either.
  return nobodyMayWrite(writers) ?? (source.recordedBy === undefined ? undefined : unlistedWriter(source.recordedBy, writers));
}

/**
 * Why a stored override's recorded writer could not have written it, or undefined when it may have: in `listed` mode
 * without allowedGroups, a writer not in allowedUsers never passed the override guard (the override was written while
 * volume-guard was not installed, e.g. before install or between uninstall and reinstall). With groups configured a
 * recorded user name cannot be checked (its groups are not recorded): such an override counts as recorded. Shared
 * with `volume-guard audit`, which must agree.
 */
export function unlistedWriter(recordedBy: string, writers: OverrideWriters): string | undefined {
  if (writers.mode === 'rbac' || writers.allowedGroups.length > 0 || writers.allowedUsers.length === 0) return undefined;
  if (recordedBy === '' || writers.allowedUsers.includes(recordedBy)) return undefined;
  return (
    `its writer ${JSON.stringify(recordedBy.slice(0, 64))}${recordedBy.length > 64 ? '…' : ''} (${SKIP_BY_KEY}) is not in overrides.allowedUsers, so volume-guard did not ` +
    `let it be written; if it is still wanted, one of ${writers.allowedUsers.join(', ')} must set it again with ` +
    `${SKIP_BY_KEY}=<their user name>, else remove it`
  );
}

/**
 * Why no stored override counts under these settings (`listed` mode with both lists empty: nobody may write one),
 * as whyNotHonored says it; undefined when someone may. Shared with `volume-guard audit`, which must agree.
 */
export function nobodyMayWrite(writers: OverrideWriters): string | undefined {
  if (writers.mode !== 'rbac' && writers.allowedGroups.length === 0 && writers.allowedUsers.length === 0) return NOBODY_MAY_WRITE;
  return undefined;
}

const NOBODY_MAY_WRITE = 'nobody may write overrides (overrides.allowedGroups and allowedUsers are empty)';

/**
 * Who may write overrides in `listed` mode, for a refused writer: `overrides of data-loss checks are limited to
 * groups a, b or users c`, or that nobody may. Said by the override guard and by a refusal that did not honor an
 * override its own request wrote.
 */
export function whoMayWriteOverrides(writers: OverrideWriters): { readonly listed: boolean; readonly text: string } {
  const who = [
    writers.allowedGroups.length ? `groups ${writers.allowedGroups.join(', ')}` : '',
    writers.allowedUsers.length ? `users ${writers.allowedUsers.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join(' or ');
  return who ? { listed: true, text: `overrides of data-loss checks are limited to ${who}` } : { listed: false, text: NOBODY_MAY_WRITE };
}

/** The writer an audit trail names: the requester, or the recorded `skip-by`. */
export function writerOf(source: OverrideSource): string | undefined {
  if (source.writer) return describeUser(source.writer);
  return source.recordedBy || undefined;
}

/**
 * The admin's `volume-guard.io/reuse: "true"` on PVCs (policed by the override guard when written): waives
 * orphan-pvc for the PVCs that carry it, which the check tags. Read by the Helm release and StatefulSet validators.
 */
export function reuseApprovalSource(): OverrideSource {
  return {
    where: `annotation ${REUSE_KEY} on the PVCs`,
    checks: [],
    tags: [{ check: 'orphan-pvc', tag: REUSE_APPROVED_TAG }],
    reason: 'their data is meant to be reused',
    approvalsOn: 'pvc',
  };
}

/**
 * The admin's `volume-guard.io/delete: "true"` on PVCs (policed by the override guard when written): waives
 * pvc-delete for the PVCs that carry it, which the check tags. Read at a namespace's DELETE.
 */
export function deleteApprovalSource(): OverrideSource {
  return {
    where: `annotation ${DELETE_KEY} on the PVCs`,
    checks: [],
    tags: [{ check: 'pvc-delete', tag: DELETE_APPROVED_TAG }],
    reason: 'their data may go',
    approvalsOn: 'pvc',
  };
}

/** Unknown check ids named in a skip value, for a warning. */
export function unknownSkipEntries(values: StringMap | undefined): readonly string[] {
  return parseSkip(values?.[SKIP_KEY]).unknown;
}

/**
 * Whether the mutating step (override-writer) records the writer of an override write: only one that grants
 * something itself (adds or changes skip, reuse, delete or skip-evictions), or edits an override that already has a
 * writer. An edit of the reason or expiry, or a label, beside an override stored without a writer (dormant: written
 * before volume-guard ran, or by someone not allowed) must not bring it back under this writer's name unasked: the
 * guard then asks for skip-by, the explicit takeover.
 */
export function writerStepRecords(next: StringMap | undefined, previous: StringMap | undefined): boolean {
  if (GRANTING_KEYS.some((key) => next?.[key] !== undefined && next[key] !== previous?.[key])) return true;
  return (previous?.[SKIP_BY_KEY] ?? '') !== '';
}

/** The annotation keys an entry of metadata.managedFields owns (its fieldsV1 `f:metadata` / `f:annotations`). */
function ownedAnnotations(entry: unknown): readonly string[] {
  const owned = objectAt(objectAt(objectAt(entry, 'fieldsV1'), 'f:metadata'), 'f:annotations');
  return owned === undefined ? [] : Object.keys(owned).filter((key) => key.startsWith('f:')).map((key) => key.slice(2));
}

/** The server-side apply entries of an object's metadata.managedFields, by manager. */
function applyEntries(object: unknown): readonly { readonly manager: string; readonly owns: readonly string[] }[] {
  return arrayAt(objectAt(object, 'metadata'), 'managedFields')
    .filter((entry) => stringAt(entry, 'operation') === 'Apply')
    .map((entry) => ({ manager: stringAt(entry, 'manager'), owns: ownedAnnotations(entry) }));
}

/**
 * The granting override annotations (`skip`, `reuse`, `delete`, `skip-evictions`) this UPDATE makes a server-side
 * applier own that it did not own before, as `annotation <key>`: an apply owns every field it applies, its value
 * changed or not, and a field leaves the object only once no manager owns it (structured-merge-diff), so a co-owner
 * keeps an override in place after its writer's apply drops it. Empty for a CREATE, and for an Update (it takes
 * ownership only of what it changes, which changedOverrideKeys sees).
 */
export function coOwnedGrantingKeys(object: unknown, oldObject: unknown): string[] {
  if (oldObject === undefined || oldObject === null) return [];
  const annotations = objectAt(objectAt(object, 'metadata'), 'annotations') ?? {};
  const before = applyEntries(oldObject);
  const taken = new Set<string>();
  for (const entry of applyEntries(object)) {
    const owned = before.find((old) => old.manager === entry.manager)?.owns ?? [];
    for (const key of entry.owns) {
      if (GRANTING_KEYS.includes(key) && annotations[key] !== undefined && !owned.includes(key)) taken.add(`annotation ${key}`);
    }
  }
  return [...taken];
}

/**
 * The override keys whose value this write adds or changes, and the removal of `skip-until` or `skip-reason` while
 * the object keeps a key that grants something (REMOVAL_POLICED_KEYS: an override counting for good, an expired one
 * again; an override whose audit says no reason). Other removals are always fine: they make volume-guard stricter.
 * Compares annotations and labels of the new and old object.
 */
export function changedOverrideKeys(
  next: { annotations?: StringMap; labels?: StringMap },
  previous: { annotations?: StringMap; labels?: StringMap } | undefined,
): string[] {
  const changed: string[] = [];
  for (const field of ['annotations', 'labels'] as const) {
    const now = next[field] ?? {};
    const before = previous?.[field] ?? {};
    const kind = field === 'labels' ? 'label' : 'annotation';
    for (const key of OVERRIDE_KEYS) {
      if (now[key] !== undefined && now[key] !== before[key]) changed.push(`${kind} ${key}`);
    }
    if (!GRANTING_KEYS.some((key) => now[key] !== undefined)) continue;
    for (const key of REMOVAL_POLICED_KEYS) {
      if (before[key] !== undefined && now[key] === undefined) changed.push(`the removal of ${kind} ${key}`);
    }
  }
  return changed;
}

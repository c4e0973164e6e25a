// Overrides: how an admin tells volume-guard "I know, do it anyway". Only as trustworthy as their writer,
// so the override-guard validator refuses writes of these keys from anyone outside the configured writers.
import type { UserInfo } from './types.ts';
import { CHECK_IDS, isCheckId, type CheckId } from '../checks/types.ts';

export const SKIP_KEY = 'volume-guard.io/skip';
export const SKIP_REASON_KEY = 'volume-guard.io/skip-reason';
export const REUSE_KEY = 'volume-guard.io/reuse';
/** On a PVC: a GitOps controller may delete it with its data (the pvc-delete check). */
export const DELETE_KEY = 'volume-guard.io/delete';
/** Harvester's own annotation: skips only the detached single-replica part of the upgrade check. */
export const HARVESTER_SKIP_DETACHED_KEY = 'harvesterhci.io/skipSingleReplicaDetachedVol';

/** The keys whose writes the override guard polices. */
export const OVERRIDE_KEYS: readonly string[] = [SKIP_KEY, SKIP_REASON_KEY, REUSE_KEY, DELETE_KEY];

export interface OverrideWriters {
  readonly allowedGroups: readonly string[];
  readonly allowedUsers: readonly string[];
}

/** Empty lists mean RBAC alone decides who may write overrides. */
export function mayWriteOverrides(user: UserInfo, writers: OverrideWriters): boolean {
  if (writers.allowedGroups.length === 0 && writers.allowedUsers.length === 0) return true;
  if (writers.allowedUsers.includes(user.username)) return true;
  return user.groups.some((group) => writers.allowedGroups.includes(group));
}

export interface ParsedSkip {
  /** The check ids skipped; every id when the value is `*`. */
  readonly checks: readonly CheckId[];
  /** Entries that name no check: reported back as warnings, never silently ignored. */
  readonly unknown: readonly string[];
}

export function parseSkip(value: string | undefined): ParsedSkip {
  if (value === undefined) return { checks: [], unknown: [] };
  // Label values allow neither `*` nor `,`: there `all` stands for every check and `_` separates ids.
  const entries = value
    .split(/[,_]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const everything = (entry: string) => entry === '*' || entry === 'all';
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
}

type StringMap = Readonly<Record<string, string>>;

/** Reads the skip and reason keys from one object's annotations (or labels). */
export function skipFrom(where: string, values: StringMap | undefined, writer?: UserInfo): OverrideSource | undefined {
  const parsed = parseSkip(values?.[SKIP_KEY]);
  if (parsed.checks.length === 0 && parsed.unknown.length === 0) return undefined;
  return { where, checks: parsed.checks, reason: values?.[SKIP_REASON_KEY] ?? '', ...(writer ? { writer } : {}) };
}

/** Unknown check ids named in a skip value, for a warning. */
export function unknownSkipEntries(values: StringMap | undefined): readonly string[] {
  return parseSkip(values?.[SKIP_KEY]).unknown;
}

/**
 * The override keys whose value this write adds or changes (removals are always fine: they make volume-guard
 * stricter). Compares annotations and labels of the new and old object.
 */
export function changedOverrideKeys(
  next: { annotations?: StringMap; labels?: StringMap },
  previous: { annotations?: StringMap; labels?: StringMap } | undefined,
): string[] {
  const changed: string[] = [];
  for (const field of ['annotations', 'labels'] as const) {
    const now = next[field] ?? {};
    const before = previous?.[field] ?? {};
    for (const key of OVERRIDE_KEYS) {
      if (now[key] !== undefined && now[key] !== before[key]) changed.push(`${field === 'labels' ? 'label' : 'annotation'} ${key}`);
    }
  }
  return changed;
}

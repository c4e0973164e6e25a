// The override annotations and what a stored one means: its keys, who wrote it and until when it counts. A leaf
// module (it imports nothing), so the checks (a PVC's reuse approval) and the configuration can read it without
// reaching up into src/admission, where the override logic itself lives (src/admission/overrides.ts).

export const SKIP_KEY = 'volume-guard.io/skip';
export const SKIP_REASON_KEY = 'volume-guard.io/skip-reason';
export const REUSE_KEY = 'volume-guard.io/reuse';
/** On a PVC: a GitOps controller may delete it with its data (the pvc-delete check). */
export const DELETE_KEY = 'volume-guard.io/delete';
/** Who wrote the override: must equal the requesting user on every write of an override key. */
export const SKIP_BY_KEY = 'volume-guard.io/skip-by';
/**
 * The writer in a printed override command (`volume-guard.io/skip-by="<you>"`): quoted, so a command pasted before it is
 * edited hands the placeholder to kubectl instead of the shell reading `<you>` as a redirect from a file "you". Pasted
 * as is, the override writer step (override-writer.volume-guard.io) replaces it with whoever writes; without that step
 * the override guard refuses it, saying skip-by must name the writer.
 */
export const WRITER_PLACEHOLDER = '"<you>"';
/** RFC 3339 time after which the overrides on the object are ignored (with a warning). */
export const SKIP_UNTIL_KEY = 'volume-guard.io/skip-until';
/**
 * On a namespace: the checks skipped for evictions (drains) and node-drain pod deletes of its pods. Kept apart from `volume-guard.io/skip` on
 * a namespace, which is read for Helm releases only, so waiving one never silently waives the other.
 */
export const SKIP_EVICTIONS_KEY = 'volume-guard.io/skip-evictions';
/** Harvester's own annotation: skips only the detached single-replica part of the upgrade check. */
export const HARVESTER_SKIP_DETACHED_KEY = 'harvesterhci.io/skipSingleReplicaDetachedVol';
/**
 * The kinds Harvester reads it on, "true" only: its Upgrade (harvester pkg/webhook/resources/upgrade reads any
 * non-empty value; volume-guard takes "true" only) and its upgrade toolkit's UpgradePlan (upgrade-toolkit
 * internal/webhook/v1beta1/upgradeplan_webhook.go: exactly "true").
 */
export const HARVESTER_UPGRADE_KINDS: readonly { readonly group: string; readonly kind: string }[] = [
  { group: 'harvesterhci.io', kind: 'Upgrade' },
  { group: 'management.harvesterhci.io', kind: 'UpgradePlan' },
];

/** Whether objects of this kind carry Harvester's skipSingleReplicaDetachedVol (HARVESTER_UPGRADE_KINDS). */
export function isHarvesterUpgradeKind(group: string, kind: string): boolean {
  return HARVESTER_UPGRADE_KINDS.some((known) => known.group === group && known.kind === kind);
}

/** The keys that grant something (the others say by whom, why and until when). */
export const GRANTING_KEYS: readonly string[] = [SKIP_KEY, REUSE_KEY, DELETE_KEY, SKIP_EVICTIONS_KEY];

/**
 * The keys whose removal, while a granting key stays, the override guard polices too: without `skip-until` an
 * override counts for good (an expired one again); without `skip-reason` the audit trail loses why it was given.
 */
export const REMOVAL_POLICED_KEYS: readonly string[] = [SKIP_UNTIL_KEY, SKIP_REASON_KEY];

/** The keys whose writes the override guard polices. */
export const OVERRIDE_KEYS: readonly string[] = [
  SKIP_KEY,
  SKIP_REASON_KEY,
  REUSE_KEY,
  DELETE_KEY,
  SKIP_BY_KEY,
  SKIP_UNTIL_KEY,
  SKIP_EVICTIONS_KEY,
];

/** Parses an RFC 3339 date-time with an explicit offset (`2026-01-15T08:00:00Z`); undefined when it is not one. */
export function parseRfc3339(value: string): Date | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(value.trim());
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number) as [number, number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  const date = new Date(value.trim().replace(' ', 'T'));
  if (Number.isNaN(date.getTime())) return undefined;
  // Reject dates JavaScript rolls over (2026-02-30 becomes March 2).
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day > days ? undefined : date;
}

/** Why the writer and expiry keys on an object make its overrides count or not. */
export interface OverrideLifecycle {
  /** `volume-guard.io/skip-by`, '' when absent. */
  readonly writer: string;
  /** `volume-guard.io/skip-until` as written, '' when absent. */
  readonly until: string;
  /** Set when the overrides are not honored: `expired at ...`, `skip-until ... is not an RFC 3339 time`. */
  readonly expiredOrInvalid?: string;
}

export function overrideLifecycle(values: Readonly<Record<string, string>> | undefined, now: number): OverrideLifecycle {
  const writer = values?.[SKIP_BY_KEY] ?? '';
  const until = values?.[SKIP_UNTIL_KEY] ?? '';
  if (until === '') return { writer, until };
  const date = parseRfc3339(until);
  if (!date) return { writer, until, expiredOrInvalid: `${SKIP_UNTIL_KEY} "${until}" is not an RFC 3339 time (e.g. 2026-01-15T18:00:00Z)` };
  if (date.getTime() <= now) return { writer, until, expiredOrInvalid: `expired at ${date.toISOString()} (${SKIP_UNTIL_KEY})` };
  return { writer, until };
}

/** A `volume-guard.io/reuse: "true"` on a PVC that counts: a writer recorded, not expired. */
export function isReuseApproved(annotations: Readonly<Record<string, string>>, now: number = Date.now()): boolean {
  if (annotations[REUSE_KEY] !== 'true') return false;
  const lifecycle = overrideLifecycle(annotations, now);
  return lifecycle.writer !== '' && lifecycle.expiredOrInvalid === undefined;
}

/** A `volume-guard.io/delete: "true"` on a PVC that counts: a writer recorded, not expired. */
export function isDeleteApproved(annotations: Readonly<Record<string, string>>, now: number = Date.now()): boolean {
  if (annotations[DELETE_KEY] !== 'true') return false;
  const lifecycle = overrideLifecycle(annotations, now);
  return lifecycle.writer !== '' && lifecycle.expiredOrInvalid === undefined;
}

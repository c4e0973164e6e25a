// Feedback at the moment an override is written: a misspelt check id, an empty value, a skip without a reason or an
// approval other than "true" is answered with warnings on the write itself (kubectl annotate, kubectl apply print
// them), not discovered at the next refused cordon. Pure functions; the override guard and the validators call them.
import { CHECK_IDS, type CheckId } from '../checks/types.ts';
import { MAX_WARNING_LENGTH, wrap } from './messages.ts';
import { DELETE_KEY, OVERRIDE_KEYS } from '../override-keys.ts';
import { parseSkip, REUSE_KEY, SKIP_EVICTIONS_KEY, SKIP_KEY, SKIP_REASON_KEY } from './overrides.ts';

type StringMap = Readonly<Record<string, string>>;

/**
 * A write names at most this many unknown entries or keys, each once, the rest counted: a value or key list of
 * 256 KiB, within the API server's limit for annotations, must not cost every other request its turn.
 */
export const MAX_UNKNOWN_NAMED = 5;
/** An unknown entry or key is echoed at most this long. */
const MAX_ECHOED = 63;

/** What a warning echoes of the writer's text: cut at MAX_ECHOED characters. */
function echoed(text: string): string {
  return text.length <= MAX_ECHOED ? text : `${text.slice(0, MAX_ECHOED)}…`;
}

/** Edit distance (insertions, deletions, substitutions), for near misses. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The check id an unknown entry most likely meant, or undefined when none is close. */
export function didYouMean(entry: string): CheckId | undefined {
  const wanted = entry.trim().toLowerCase().replace(/[\s_.]+/g, '-');
  if (wanted === '') return undefined;
  let best: { id: CheckId; distance: number } | undefined;
  for (const id of CHECK_IDS) {
    // A part of an id (`last-replica`, `orphan`, `node-local`) or an id with other separators.
    if (wanted.length >= 4 && (id.startsWith(wanted) || id.endsWith(wanted) || id.includes(`-${wanted}-`))) {
      return id;
    }
    const within = Math.max(2, Math.floor(id.length / 4));
    // The distance is at least the difference of the lengths: a far longer entry is no near miss.
    if (Math.abs(wanted.length - id.length) > within) continue;
    const distance = editDistance(wanted, id);
    if (distance <= within && (!best || distance < best.distance)) best = { id, distance };
  }
  return best?.id;
}

/**
 * One warning per unknown skip entry, the suggestion first so it survives any cut: each distinct entry once, the
 * first MAX_UNKNOWN_NAMED of them, the rest counted.
 */
export function unknownEntryWarnings(where: string, unknown: readonly string[], key: string = SKIP_KEY): string[] {
  const distinct = [...new Set(unknown)];
  const warnings = distinct.slice(0, MAX_UNKNOWN_NAMED).flatMap((entry) => {
    const suggestion = didYouMean(entry);
    // One warning line where it fits: the object is named only when there is room (the writer knows which it is).
    const tail = suggestion ? `did you mean ${suggestion}?` : `known: ${CHECK_IDS.join(', ')}`;
    const full = `volume-guard: unknown check "${echoed(entry)}" in ${key} of ${where}, ignored; ${tail}`;
    const short = `volume-guard: unknown check "${echoed(entry)}" in ${key}, ignored; ${tail}`;
    return wrap(full.length <= MAX_WARNING_LENGTH || !suggestion ? full : short);
  });
  const more = distinct.length - MAX_UNKNOWN_NAMED;
  if (more > 0) warnings.push(...wrap(`volume-guard: ${more} more unknown ${more === 1 ? 'check' : 'checks'} in ${key}, ignored`));
  return warnings;
}

/** `annotation`/`label` values of one object for one key. */
function valuesOf(next: { annotations?: StringMap; labels?: StringMap }) {
  return [
    { field: 'annotation', values: next.annotations ?? {} },
    { field: 'label', values: next.labels ?? {} },
  ] as const;
}

/** Where each granting key is read, in words, for a write that puts it where it means nothing. */
const READ_ON: Readonly<Record<string, string>> = {
  [SKIP_KEY]: 'nodes, namespaces and upgrade objects',
  [SKIP_EVICTIONS_KEY]: 'namespaces',
  [REUSE_KEY]: 'PVCs',
  [DELETE_KEY]: 'PVCs, PVs and Longhorn volumes',
};

/**
 * The granting annotations volume-guard reads on an object of this kind (the objects the override guard polices):
 * a node's, an upgrade object's skip; a namespace's skip and skip-evictions; a PVC's reuse and delete approvals; a
 * PV's or Longhorn volume's delete approval. Labels of these objects are never read (only a Helm release's).
 */
export function grantingKeysReadOn(kind: { readonly group: string; readonly kind: string }): readonly string[] {
  if (kind.group === '') {
    switch (kind.kind) {
      case 'Node':
        return [SKIP_KEY];
      case 'Namespace':
        return [SKIP_KEY, SKIP_EVICTIONS_KEY];
      case 'PersistentVolumeClaim':
        return [REUSE_KEY, DELETE_KEY];
      case 'PersistentVolume':
        return [DELETE_KEY];
    }
  }
  if (kind.group === 'longhorn.io' && kind.kind === 'Volume') return [DELETE_KEY];
  return [SKIP_KEY];
}

/**
 * Warnings for a write that adds or changes override keys on `what` (e.g. `Node worker-1`): unknown or empty skip
 * values (with "did you mean"), a skip without a reason, a reuse value other than "true", and (with `kind`) a key
 * written where volume-guard never reads it (a skip-evictions on a node, a reuse on a namespace, any label). Keys the
 * write leaves unchanged are not commented on again.
 */
export function overrideWriteWarnings(
  what: string,
  next: { annotations?: StringMap; labels?: StringMap },
  previous?: { annotations?: StringMap; labels?: StringMap },
  kind?: { readonly group: string; readonly kind: string },
): string[] {
  const warnings: string[] = [];
  const readHere = kind === undefined ? undefined : grantingKeysReadOn(kind);
  for (const { field, values } of valuesOf(next)) {
    const before = field === 'annotation' ? previous?.annotations : previous?.labels;
    if (readHere !== undefined) {
      const unread = Object.keys(READ_ON).filter(
        (key) => values[key] !== undefined && values[key] !== before?.[key] && (field === 'label' || !readHere.includes(key)),
      );
      for (const key of unread) {
        const where = field === 'label' ? `as an annotation, on ${READ_ON[key]}` : `on ${READ_ON[key]} only`;
        warnings.push(...wrap(`volume-guard: ${what} ${field} ${key} has no effect: it is read ${where}`));
      }
      if (field === 'label') continue;
    }
    // A namespace's skip-evictions lists checks like skip does (read as an annotation only).
    for (const key of field === 'annotation' ? [SKIP_KEY, SKIP_EVICTIONS_KEY] : [SKIP_KEY]) {
      const skip = values[key];
      if (skip === undefined || skip === before?.[key]) continue;
      if (readHere !== undefined && !readHere.includes(key)) continue;
      const parsed = parseSkip(skip);
      const where = `${what} ${field}`;
      if (parsed.checks.length === 0 && parsed.unknown.length === 0) {
        const example = field === 'label' ? 'orphan-pvc' : 'node-local-volume';
        warnings.push(...wrap(`volume-guard: ${where} ${key} is empty: it skips no check (e.g. ${key}=${example})`));
      }
      warnings.push(...unknownEntryWarnings(where, parsed.unknown, key));
      if (parsed.checks.length > 0 && (values[SKIP_REASON_KEY] ?? '').trim() === '') {
        warnings.push(...wrap(`volume-guard: ${where} ${key} has no ${SKIP_REASON_KEY}: add why, for the audit trail`));
      }
    }
    for (const key of [REUSE_KEY, DELETE_KEY]) {
      const value = values[key];
      if (readHere !== undefined && !readHere.includes(key)) continue;
      if (value !== undefined && value !== before?.[key] && value !== 'true') {
        warnings.push(...wrap(`volume-guard: ${what} ${field} ${key}="${value}" has no effect: only "true" is honored`));
      }
    }
  }
  return warnings;
}

/**
 * Warnings for annotations under `volume-guard.io/` that this write adds or changes and that are no key of
 * volume-guard's (`volume-guard.io/skipby`, `volume-guard.io/Skip`): volume-guard never reads them, so the override
 * meant does not exist. The key most likely meant is named.
 */
export function unknownKeyWarnings(what: string, next: StringMap | undefined, previous: StringMap | undefined): string[] {
  const warnings: string[] = [];
  let unknown = 0;
  for (const [key, value] of Object.entries(next ?? {})) {
    if (!key.startsWith('volume-guard.io/') || OVERRIDE_KEYS.includes(key) || previous?.[key] === value) continue;
    if (++unknown > MAX_UNKNOWN_NAMED) continue;
    const name = key.slice('volume-guard.io/'.length).toLowerCase().replace(/[\s_.]+/g, '-');
    let best: { key: string; distance: number } | undefined;
    for (const known of OVERRIDE_KEYS) {
      const knownName = known.slice('volume-guard.io/'.length);
      if (Math.abs(name.length - knownName.length) > 2) continue;
      const distance = editDistance(name, knownName);
      if (distance <= 2 && (!best || distance < best.distance)) best = { key: known, distance };
    }
    const tail = best ? `did you mean ${best.key}?` : `volume-guard reads ${OVERRIDE_KEYS.map((k) => k.slice('volume-guard.io/'.length)).join(', ')}`;
    warnings.push(...wrap(`volume-guard: ${what} annotation ${echoed(key)} is no volume-guard key, ignored; ${tail}`));
  }
  const more = unknown - MAX_UNKNOWN_NAMED;
  if (more > 0) warnings.push(...wrap(`volume-guard: ${what} has ${more} more volume-guard.io/ ${more === 1 ? 'annotation' : 'annotations'} that ${more === 1 ? 'is' : 'are'} no volume-guard key, ignored`));
  return warnings;
}

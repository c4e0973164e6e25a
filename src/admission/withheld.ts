// Findings about another namespace's data, as a namespaced requester reads them (an eviction on a node being
// drained, a Helm release or a Job of one namespace judged on every namespace's volumes): described, never named.
// Each such finding carries WITHHELD_TAG and a reason ending in `(names withheld: <command>)`. A denial lists them
// counted, one line per description, not one identical line per object (kubectl drain prints a refusal repeatedly).
import type { Finding } from '../checks/types.ts';

/** Marks a finding described without the names of its objects (withheld from the requester). */
export const WITHHELD_TAG = 'withheld';

/** A withheld finding's reason: what is at risk, then where the names are (`volume-guard audit --node w1`). */
export function withheldReason(description: string, namesFrom: string): string {
  return `${description} (names withheld: ${namesFrom})`;
}

const NOTE = / \(names withheld: ([^()]*)\)$/;

export function isWithheld(finding: Finding): boolean {
  return finding.tags.includes(WITHHELD_TAG);
}

/** `PersistentVolume` → `PV`, as an object's line names it. */
function shortKind(kind: string): string {
  return kind === 'PersistentVolume' ? 'PV' : kind === 'PersistentVolumeClaim' ? 'PVC' : kind;
}

/** `12 volumes`, `3 PVs`, `2 pods`: how a line counting withheld objects names them. */
function kindNoun(kind: string, count: number): string {
  const one = kind === 'Volume' || kind === 'Pod' ? kind.toLowerCase() : shortKind(kind);
  return `${count} ${one}s`;
}

/**
 * The lines counting a check's withheld findings, one per kind and description, in the order they first come:
 * `12 volumes of other namespaces, each: its only healthy copy is on node w1; names: volume-guard audit --node w1`.
 */
export function withheldLines(findings: readonly Finding[]): string[] {
  const groups = new Map<string, { kind: string; description: string; namesFrom: string | undefined; count: number }>();
  for (const finding of findings) {
    if (!isWithheld(finding)) continue;
    const note = NOTE.exec(finding.reason);
    const description = note ? finding.reason.slice(0, note.index) : finding.reason;
    const key = `${finding.object.kind}\u0000${description}`;
    const group = groups.get(key);
    if (group) group.count++;
    else groups.set(key, { kind: finding.object.kind, description, namesFrom: note?.[1], count: 1 });
  }
  return [...groups.values()].map(({ kind, description, namesFrom, count }) => {
    const names = namesFrom === undefined ? '' : namesFrom;
    // One reads as its finding would: `PV of another namespace: keeps data on node w1 only (names withheld: …)`.
    if (count === 1) return `${shortKind(kind)} of another namespace: ${names === '' ? description : withheldReason(description, names)}`;
    // The descriptions speak of one object (`its only healthy copy is on node w1`).
    return `${kindNoun(kind, count)} of other namespaces, each: ${description}${names === '' ? ' (names withheld)' : `; names: ${names}`}`;
  });
}

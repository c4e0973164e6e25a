// How findings read to the person whose kubectl or helm command was refused.
import { objectRef, type AffectedObject, type CheckId, type Finding } from '../checks/types.ts';

/** At most this many objects are named per check; the rest are counted ("and N more"). */
export const MAX_LISTED_PER_CHECK = 10;
/** The API server drops warnings beyond 4 KiB in total and shows long ones badly: keep each short. */
export const MAX_WARNING_LENGTH = 120;

interface CheckText {
  /** What was found, given the count: `2 single-replica Longhorn volumes`. */
  readonly summary: (count: number) => string;
  /** What to do about it, before reaching for an override. */
  readonly fix: string;
}

const plural = (count: number, one: string, many: string): string => `${count} ${count === 1 ? one : many}`;

export const CHECK_TEXT: Readonly<Record<CheckId, CheckText>> = {
  'single-replica': {
    summary: (n) => `${plural(n, 'Longhorn volume has', 'Longhorn volumes have')} a single replica`,
    fix: 'raise numberOfReplicas (and wait until healthy) or back the data up',
  },
  'volume-health': {
    summary: (n) => `${plural(n, 'Longhorn volume is', 'Longhorn volumes are')} not healthy`,
    fix: 'wait for Longhorn to rebuild the replicas, or repair the volume first',
  },
  'last-replica-on-node': {
    summary: (n) => `${plural(n, 'Longhorn volume has', 'Longhorn volumes have')} its only healthy replica on the node`,
    fix: 'let Longhorn rebuild a replica on another node first',
  },
  'node-local-volume': {
    summary: (n) => `${plural(n, 'node-local PersistentVolume is', 'node-local PersistentVolumes are')} on the node`,
    fix: 'move or back up the data, then delete the PV and its claim',
  },
  'orphan-pvc': {
    summary: (n) => `${plural(n, 'leftover PVC', 'leftover PVCs')} would be adopted with old data`,
    fix: 'delete the PVCs if their data is obsolete, or mark them volume-guard.io/reuse=true',
  },
  'pvc-delete': {
    summary: (n) => `${plural(n, 'Bound PVC', 'Bound PVCs')} would be deleted with the data on ${n === 1 ? 'its volume' : 'their volumes'}`,
    fix: 'back the data up, or keep the PVC (helm.sh/resource-policy: keep); mark it volume-guard.io/delete=true if it may go',
  },
};

export function describeObject(object: AffectedObject): string {
  return `${object.kind} ${objectRef(object)}${object.node ? ` on node ${object.node}` : ''}`;
}

/** `Volume longhorn-system/pvc-1 on node n1 (PersistentVolumeClaim app/data-0): only healthy replica is on node n1`. */
export function describeFinding(finding: Finding): string {
  const related = finding.related?.length
    ? ` (${finding.related.map((object) => `${object.kind} ${objectRef(object)}`).join(', ')})`
    : '';
  return `${describeObject(finding.object)}${related}: ${finding.reason}`;
}

/** Findings grouped by check, in the order checks are listed. */
export function groupByCheck(findings: readonly Finding[]): Map<CheckId, Finding[]> {
  const groups = new Map<CheckId, Finding[]>();
  for (const finding of findings) {
    const group = groups.get(finding.check);
    if (group) group.push(finding);
    else groups.set(finding.check, [finding]);
  }
  return groups;
}

/** One paragraph per check: summary, the first objects, the count of the rest, the fix. */
export function describeGroup(check: CheckId, findings: readonly Finding[], total = findings.length): string {
  const text = CHECK_TEXT[check];
  const listed = findings.slice(0, MAX_LISTED_PER_CHECK);
  const more = total > listed.length ? `; and ${total - listed.length} more` : '';
  return `[${check}] ${text.summary(total)}: ${listed.map(describeFinding).join('; ')}${more}. Fix: ${text.fix}.`;
}

/** Short warning lines for warn mode and for informational warnings. */
export function warningLines(check: CheckId, findings: readonly Finding[], total = findings.length): string[] {
  const listed = findings.slice(0, MAX_LISTED_PER_CHECK);
  const lines = [`volume-guard [${check}] ${CHECK_TEXT[check].summary(total)}`];
  for (const finding of listed) lines.push(truncate(`- ${describeFinding(finding)}`));
  if (total > listed.length) lines.push(`- and ${total - listed.length} more`);
  return lines;
}

export function truncate(line: string, max = MAX_WARNING_LENGTH): string {
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

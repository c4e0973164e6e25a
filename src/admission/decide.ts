// From findings to an admission decision: apply check modes and honored overrides, then word the answer.
import type { CheckId, Finding } from '../checks/types.ts';
import { allowed, denied, type Decision, type UserInfo } from './types.ts';
import { describeGroup, groupByCheck, truncate, warningLines } from './messages.ts';
import { mayWriteOverrides, SKIP_KEY, SKIP_REASON_KEY, type OverrideSource, type OverrideWriters } from './overrides.ts';

export type CheckMode = 'enforce' | 'warn' | 'off';

export interface Judgement {
  /** What the request does, for the message: `cordon of node worker-1`. */
  readonly action: string;
  readonly findings: readonly Finding[];
  readonly modes: Readonly<Record<CheckId, CheckMode>>;
  readonly overrides: readonly OverrideSource[];
  readonly writers: OverrideWriters;
  /** How this kind of object is overridden, with `<checks>` standing for the check ids to skip. */
  readonly overrideHint: string;
  /** Warnings to pass on whatever the outcome (unknown skip entries, uninstall notices). */
  readonly warnings?: readonly string[];
}

interface HonoredOverride {
  readonly source: OverrideSource;
  readonly skipped: Finding[];
}

function overrideCovers(source: OverrideSource, finding: Finding): boolean {
  if (source.checks.includes(finding.check)) return true;
  return (source.tags ?? []).some((t) => t.check === finding.check && finding.tags.includes(t.tag));
}

function describeUser(user: UserInfo): string {
  return user.username || 'an unknown user';
}

export function judge(input: Judgement): Decision {
  const warnings = [...(input.warnings ?? [])];
  const trusted: OverrideSource[] = [];
  for (const source of input.overrides) {
    if (source.writer && !mayWriteOverrides(source.writer, input.writers)) {
      warnings.push(
        truncate(`volume-guard: override on ${source.where} ignored: ${describeUser(source.writer)} may not write overrides`),
      );
    } else {
      trusted.push(source);
    }
  }

  const honored = new Map<OverrideSource, HonoredOverride>();
  const remaining: Finding[] = [];
  for (const finding of input.findings) {
    if (input.modes[finding.check] === 'off') continue;
    const source = trusted.find((candidate) => overrideCovers(candidate, finding));
    if (!source) {
      remaining.push(finding);
      continue;
    }
    const entry = honored.get(source) ?? { source, skipped: [] };
    entry.skipped.push(finding);
    honored.set(source, entry);
  }

  const enforced: string[] = [];
  const enforcedChecks: CheckId[] = [];
  for (const [check, findings] of groupByCheck(remaining)) {
    if (input.modes[check] === 'enforce') {
      enforced.push(describeGroup(check, findings));
      enforcedChecks.push(check);
    } else {
      warnings.push(...warningLines(check, findings));
    }
  }

  const overriddenChecks = [...new Set([...honored.values()].flatMap((h) => h.skipped.map((f) => f.check)))];
  for (const { source, skipped } of honored.values()) {
    const checks = [...new Set(skipped.map((f) => f.check))].join(',');
    warnings.push(truncate(`volume-guard: ${checks} overridden by ${source.where} (${skipped.length} risks accepted)`));
  }
  const auditAnnotations = overriddenChecks.length ? overrideAudit([...honored.values()]) : undefined;
  const checks = [...new Set(input.findings.map((f) => f.check))];

  if (enforced.length > 0) {
    const skipList = enforcedChecks.join(',');
    const message =
      `volume-guard denied the ${input.action}: it would risk data loss. ${enforced.join(' ')} ` +
      `To proceed anyway after checking, an authorized admin can ${input.overrideHint.replace('<checks>', skipList)}.`;
    return denied(message, {
      ...(warnings.length ? { warnings } : {}),
      ...(auditAnnotations ? { auditAnnotations } : {}),
      checks,
      overrides: overriddenChecks,
    });
  }
  return { ...allowed(warnings, auditAnnotations), checks, overrides: overriddenChecks };
}

function overrideAudit(honored: readonly HonoredOverride[]): Record<string, string> {
  const checks = [...new Set(honored.flatMap((h) => h.skipped.map((f) => f.check)))];
  const audit: Record<string, string> = {
    'overridden-checks': checks.join(','),
    'override-source': honored.map((h) => h.source.where).join('; '),
    'override-reason': honored.map((h) => h.source.reason || '(none given)').join('; '),
    'overridden-objects': String(honored.reduce((n, h) => n + h.skipped.length, 0)),
  };
  const writers = honored.flatMap((h) => (h.source.writer ? [describeUser(h.source.writer)] : []));
  if (writers.length) audit['override-writer'] = [...new Set(writers)].join(',');
  return audit;
}

/** The `kubectl annotate` an admin runs to override checks on an object. */
export function annotateHint(resource: string, ref: string, namespace?: string): string {
  const ns = namespace ? ` -n ${namespace}` : '';
  return `run: kubectl annotate ${resource} ${ref}${ns} ${SKIP_KEY}=<checks> ${SKIP_REASON_KEY}="<why>"`;
}

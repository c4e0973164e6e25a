// A webhook declaration's rules for a configuration: the symbolic upgrade-kinds entry becomes one rule per kind
// of `upgrades.kinds`, naming every version the kind lists. The chart's template does the same from its values (scripts/generate-chart.ts mirrors it).
import { upgradeKindVersions, type GuardedUpgradeKind } from '../config.ts';
import type { DeclaredRule, Operation, RuleWithOperations, UpgradeKindsRule } from './types.ts';

/** A CEL string literal of `text`, for a declaration's matchConditions. */
export function celString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** CEL: the value at `path` of `side` (object, oldObject), or `fallback` (a CEL literal) when any step is unset. */
export function celValueOr(side: 'object' | 'oldObject', path: readonly string[], fallback: string): string {
  const present = path.map((_, i) => `has(${side}.${path.slice(0, i + 1).join('.')})`).join(' && ');
  return `(${present} ? ${side}.${path.join('.')} : ${fallback})`;
}

export function isUpgradeKindsRule(rule: DeclaredRule): rule is UpgradeKindsRule {
  return 'upgradeKinds' in rule;
}

function ruleForKind(
  kind: GuardedUpgradeKind,
  operations: readonly Operation[],
  scope: RuleWithOperations['scope'],
  subresource = '',
): RuleWithOperations {
  return {
    apiGroups: [kind.group],
    apiVersions: [...upgradeKindVersions(kind)],
    resources: [subresource ? `${kind.resource}/${subresource}` : kind.resource],
    operations: [...operations],
    ...(scope ? { scope } : {}),
  };
}

/** The concrete rules the API server gets for these declared rules and configured kinds. */
export function expandRules(rules: readonly DeclaredRule[], kinds: readonly GuardedUpgradeKind[]): RuleWithOperations[] {
  return rules.flatMap((rule) =>
    isUpgradeKindsRule(rule)
      ? kinds.map((kind) => ruleForKind(kind, rule.upgradeKinds.operations ?? kind.operations, rule.upgradeKinds.scope, rule.upgradeKinds.subresource))
      : [rule],
  );
}

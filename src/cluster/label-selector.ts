// metav1.LabelSelector as Kubernetes reads it (LabelSelectorAsSelector → labels.NewRequirement): matchLabels and
// matchExpressions ANDed; In/NotIn need values, Exists/DoesNotExist take none, any other operator is an error.
// One reading for every selector volume-guard matches: a system-upgrade-controller Plan's nodeSelector, a
// MachineDrainRule's machine, cluster, pod and namespace selectors. Node affinity (NodeSelector) is another type,
// read in node-affinity.ts.
import { isObject } from '../json.ts';
import type { LabelSelectorRecord, LabelSelectorRequirement, Labels } from './records.ts';

/** The operator a malformed part of a selector is kept as: invalid, so the whole selector is. */
const MALFORMED = '';

/**
 * The selector in `raw`; undefined when there is none (absent, null, not an object). A malformed part (matchLabels
 * not a map of strings, matchExpressions not a list, an expression without a string key) is kept as an invalid
 * requirement: what the API server would have refused makes the selector invalid rather than broader.
 */
export function parseLabelSelector(raw: unknown): LabelSelectorRecord | undefined {
  if (!isObject(raw)) return undefined;
  const matchExpressions: LabelSelectorRequirement[] = [];
  const malformed = () => matchExpressions.push({ key: '', operator: MALFORMED, values: [] });
  const matchLabels: Record<string, string> = {};
  const labels = raw['matchLabels'];
  if (isObject(labels)) {
    for (const [key, value] of Object.entries(labels)) {
      if (typeof value === 'string') matchLabels[key] = value;
      else malformed();
    }
  } else if (labels !== undefined && labels !== null) malformed();
  const expressions = raw['matchExpressions'];
  if (Array.isArray(expressions)) {
    for (const expression of expressions as readonly unknown[]) {
      if (!isObject(expression) || typeof expression['key'] !== 'string' || expression['key'] === '') {
        malformed();
        continue;
      }
      const values = expression['values'];
      const list = Array.isArray(values) ? (values as readonly unknown[]) : [];
      const strings = list.filter((value): value is string => typeof value === 'string');
      const operator = typeof expression['operator'] === 'string' && strings.length === list.length ? expression['operator'] : MALFORMED;
      matchExpressions.push({ key: expression['key'], operator, values: strings });
    }
  } else if (expressions !== undefined && expressions !== null) malformed();
  return { matchLabels, matchExpressions };
}

/** Whether LabelSelectorAsSelector accepts the selector (an absent one is valid: the caller says what it means). */
export function labelSelectorValid(selector: LabelSelectorRecord | undefined): boolean {
  if (selector === undefined) return true;
  return selector.matchExpressions.every((requirement) => {
    switch (requirement.operator) {
      case 'In':
      case 'NotIn':
        return requirement.values.length > 0;
      case 'Exists':
      case 'DoesNotExist':
        return requirement.values.length === 0;
      default:
        return false;
    }
  });
}

/**
 * Whether `labels` match a valid selector; an empty one matches everything, an absent one too (the callers' rule:
 * Cluster API's matchesSelector; a Plan without one is handled before). Check labelSelectorValid first: an invalid
 * selector matches nothing here.
 */
export function labelSelectorMatches(selector: LabelSelectorRecord | undefined, labels: Labels): boolean {
  if (selector === undefined) return true;
  for (const [key, value] of Object.entries(selector.matchLabels)) if (!Object.hasOwn(labels, key) || labels[key] !== value) return false;
  return selector.matchExpressions.every((requirement) => {
    const value = Object.hasOwn(labels, requirement.key) ? labels[requirement.key] : undefined;
    switch (requirement.operator) {
      case 'In':
        return value !== undefined && requirement.values.includes(value);
      case 'NotIn':
        return requirement.values.length > 0 && (value === undefined || !requirement.values.includes(value));
      case 'Exists':
        return value !== undefined && requirement.values.length === 0;
      case 'DoesNotExist':
        return value === undefined && requirement.values.length === 0;
      default:
        return false;
    }
  });
}

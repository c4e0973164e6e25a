// metav1.LabelSelector as Kubernetes reads it (LabelSelectorAsSelector → labels.NewRequirement): matchLabels and
// matchExpressions ANDed; In/NotIn need values, Exists/DoesNotExist take none, any other operator is an error, and
// keys and values must be label syntax.
// One reading for every selector volume-guard matches: a system-upgrade-controller Plan's nodeSelector, a
// MachineDrainRule's machine, cluster, pod and namespace selectors. Node affinity (NodeSelector) is another type,
// read in node-affinity.ts.
import { isObject } from '../json.ts';
import type { LabelSelectorRecord, LabelSelectorRequirement, Labels } from './records.ts';

/** The operator a malformed part of a selector is kept as: invalid, so the whole selector is. */
const MALFORMED = '';

// Label syntax as labels.NewRequirement checks it (validation.IsQualifiedName, IsValidLabelValue).
const NAME = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

/** A label key: a name, optionally prefixed by a DNS subdomain and a slash. */
function validLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return NAME.test(key);
  const prefix = key.slice(0, slash);
  return prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix) && NAME.test(key.slice(slash + 1));
}

/** A label value: empty, or a name. */
function validLabelValue(value: string): boolean {
  return value === '' || NAME.test(value);
}

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
      // `__proto__` fails the key syntax too, so the plain object below never meets it.
      if (typeof value === 'string' && validLabelKey(key) && validLabelValue(value)) matchLabels[key] = value;
      else malformed();
    }
  } else if (labels !== undefined && labels !== null) malformed();
  const expressions = raw['matchExpressions'];
  if (Array.isArray(expressions)) {
    for (const expression of expressions as readonly unknown[]) {
      if (!isObject(expression) || typeof expression['key'] !== 'string' || !validLabelKey(expression['key'])) {
        malformed();
        continue;
      }
      const values = expression['values'];
      const list = Array.isArray(values) ? (values as readonly unknown[]) : [];
      const strings = list.filter((value): value is string => typeof value === 'string');
      const wellFormed = strings.length === list.length && strings.every(validLabelValue);
      const operator = typeof expression['operator'] === 'string' && wellFormed ? expression['operator'] : MALFORMED;
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

// What volume-guard's service account may read: list and watch on exactly the resources its informers
// use, derived from the informers' own table so the two cannot drift. No Secrets: everything about a Helm
// release arrives in the AdmissionReview itself.

import { RESOURCE_KINDS } from './records.ts';
import { RESOURCE_SPECS } from './resources.ts';

export interface PermissionRule {
  /** '' for the core group. */
  readonly apiGroup: string;
  readonly resource: string;
  readonly verbs: readonly ['list', 'watch'];
}

export const INFORMER_VERBS = ['list', 'watch'] as const;

export const MODEL_PERMISSIONS: readonly PermissionRule[] = RESOURCE_KINDS.map((kind) => ({
  apiGroup: RESOURCE_SPECS[kind].apiGroup,
  resource: RESOURCE_SPECS[kind].resource,
  verbs: INFORMER_VERBS,
}));

/** The rules grouped by API group, in the shape of a ClusterRole's `rules` (for the chart and its tests). */
export function clusterRoleRules(): { apiGroups: string[]; resources: string[]; verbs: string[] }[] {
  const byGroup = new Map<string, string[]>();
  for (const rule of MODEL_PERMISSIONS) {
    const resources = byGroup.get(rule.apiGroup) ?? [];
    resources.push(rule.resource);
    byGroup.set(rule.apiGroup, resources);
  }
  return [...byGroup].map(([group, resources]) => ({ apiGroups: [group], resources: resources.sort(), verbs: [...INFORMER_VERBS] }));
}

/**
 * The resources of MODEL_PERMISSIONS as the READMEs list them (test/unit/readme.test.ts holds them equal): names by
 * API group, the core group and apps first.
 */
export function modelResourcesText(): string {
  const byGroup = new Map<string, string[]>([['', []], ['apps', []]]);
  for (const { apiGroup, resource } of MODEL_PERMISSIONS) byGroup.set(apiGroup, [...(byGroup.get(apiGroup) ?? []), resource]);
  return [...byGroup]
    .filter(([, resources]) => resources.length > 0)
    .map(([group, resources]) => `${resources.map((resource) => `\`${resource}\``).join(', ')} (${group === '' ? 'core' : `\`${group}\``})`)
    .join('; ');
}

/**
 * The only writes volume-guard makes: Events for denied requests (src/observe/events.ts), in a ClusterRole of their
 * own that the chart grants only while `config.events.enabled` is true. create and patch (a repeat patches the
 * count of the first event); no get, list, update or delete.
 */
export const EVENT_PERMISSIONS: readonly { readonly apiGroup: string; readonly resource: string; readonly verbs: readonly ['create', 'patch'] }[] = [
  { apiGroup: 'events.k8s.io', resource: 'events', verbs: ['create', 'patch'] },
];

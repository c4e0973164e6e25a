// An override is only as trustworthy as its writer: refuse writes of volume-guard's override annotations and
// labels on guarded objects from anyone outside the configured writers. Removing an override is always allowed.
import type { Config } from '../../config.ts';
import { describeUser } from '../context.ts';
import { metaOf } from '../objects.ts';
import { overrideWriteWarnings } from '../override-feedback.ts';
import { changedOverrideKeys, mayWriteOverrides, OVERRIDE_KEYS } from '../overrides.ts';
import { allowed, denied, type RuleWithOperations, type WebhookDeclaration } from '../types.ts';
import type { Validator } from '../validator.ts';
import { upgradeRules } from './upgrade.ts';

/** CEL: this write adds or changes one of the override keys in `field` (annotations or labels). */
function changesOverrideKeys(field: 'annotations' | 'labels'): string {
  const keys = `[${OVERRIDE_KEYS.map((key) => `'${key}'`).join(', ')}]`;
  return (
    `(has(object.metadata.${field}) && ${keys}.exists(k, k in object.metadata.${field} && ` +
    `(oldObject == null || !has(oldObject.metadata.${field}) || !(k in oldObject.metadata.${field}) || ` +
    `oldObject.metadata.${field}[k] != object.metadata.${field}[k])))`
  );
}

export function overrideGuardValidator(config: Config): Validator {
  const writeOps = ['CREATE', 'UPDATE'] as const;
  // Every way to write the keys: the main resource and its status subresource (metadata written through
  // nodes/status, namespaces/status or a CR's status is stored like any other write).
  const upgrades = upgradeRules(config.upgrades.kinds);
  const rules: RuleWithOperations[] = [
    {
      apiGroups: [''],
      apiVersions: ['v1'],
      resources: ['nodes', 'nodes/status', 'namespaces', 'namespaces/status'],
      operations: [...writeOps],
      scope: 'Cluster',
    },
    {
      apiGroups: [''],
      apiVersions: ['v1'],
      resources: ['persistentvolumeclaims', 'persistentvolumeclaims/status'],
      operations: [...writeOps],
      scope: 'Namespaced',
    },
    ...upgrades.map((rule) => ({ ...rule, operations: [...writeOps] })),
    ...upgrades.map((rule) => ({ ...rule, resources: rule.resources.map((resource) => `${resource}/status`), operations: ['UPDATE' as const] })),
  ];
  const declaration: WebhookDeclaration = {
    name: 'overrides.volume-guard.io',
    target: 'overrides',
    rules,
    matchConditions: [{ name: 'writes-override', expression: `${changesOverrideKeys('annotations')} || ${changesOverrideKeys('labels')}` }],
  };
  return {
    declaration,
    handle(request, context) {
      const next = metaOf(request.object);
      if (!next) return allowed();
      const changed = changedOverrideKeys(next, metaOf(request.oldObject));
      if (changed.length === 0) return allowed();
      const writers = context.config.overrides;
      const what = `${request.kind.kind} ${request.namespace ? `${request.namespace}/` : ''}${request.name || next.name}`;
      if (mayWriteOverrides(request.userInfo, writers)) {
        return allowed(overrideWriteWarnings(what, next, metaOf(request.oldObject)), { 'override-written': `${changed.join(', ')} on ${what} by ${describeUser(request.userInfo)}` });
      }
      const who = [
        writers.allowedGroups.length ? `groups ${writers.allowedGroups.join(', ')}` : '',
        writers.allowedUsers.length ? `users ${writers.allowedUsers.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join(' or ');
      return denied(
        `volume-guard: ${describeUser(request.userInfo)} may not write ${changed.join(', ')} on ${what}: ` +
          `overrides of data-loss checks are limited to ${who}. Ask one of them to review the risk and set it.`,
      );
    },
  };
}

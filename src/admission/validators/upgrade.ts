// Upgrades: every node is rebooted or replaced in turn, so any volume whose data lives in one place, or that is
// already short of healthy copies, can be lost. The guarded kinds come from config.upgrades.kinds.
import { collectSingleReplica } from '../../checks/single-replica.ts';
import { collectVolumeHealth } from '../../checks/volume-health.ts';
import type { Config, GuardedUpgradeKind } from '../../config.ts';
import { CheckResults, decide, skipOnReviewedObject, staleModelDecision } from '../context.ts';
import { annotateHint } from '../decide.ts';
import { field, metaOf } from '../objects.ts';
import { HARVESTER_SKIP_DETACHED_KEY, type OverrideSource } from '../overrides.ts';
import { allowed, type AdmissionRequest, type RuleWithOperations, type WebhookDeclaration } from '../types.ts';
import type { Validator } from '../validator.ts';

/** The fields whose change starts a rollout of new node versions or machines. */
const ROLLOUT_FIELDS: readonly (readonly string[])[] = [
  ['spec', 'version'],
  ['spec', 'channel'],
  ['spec', 'image'],
  ['spec', 'template', 'spec', 'version'],
  ['spec', 'template', 'spec', 'infrastructureRef'],
  ['spec', 'template', 'spec', 'bootstrap'],
  ['spec', 'machineTemplate', 'infrastructureRef'],
];

/**
 * Structural equality of two JSON values, without recursion: the API server accepts objects nested up to 10,000
 * levels, and JSON.stringify overflows the stack a few thousand levels down. Key order does not matter.
 */
function sameJson(a: unknown, b: unknown): boolean {
  const pending: [unknown, unknown][] = [[a, b]];
  for (let pair = pending.pop(); pair !== undefined; pair = pending.pop()) {
    const [left, right] = pair;
    if (left === right) continue;
    if (typeof left !== 'object' || typeof right !== 'object' || left === null || right === null) return false;
    if (Array.isArray(left) || Array.isArray(right)) {
      if (!Array.isArray(left) || !Array.isArray(right) || left.length !== right.length) return false;
      left.forEach((item: unknown, index) => pending.push([item, right[index]]));
      continue;
    }
    const leftRecord = left as Record<string, unknown>;
    const rightRecord = right as Record<string, unknown>;
    const keys = Object.keys(leftRecord);
    if (keys.length !== Object.keys(rightRecord).length) return false;
    for (const key of keys) {
      if (!Object.hasOwn(rightRecord, key)) return false;
      pending.push([leftRecord[key], rightRecord[key]]);
    }
  }
  return true;
}

function startsRollout(request: AdmissionRequest): boolean {
  if (request.operation === 'CREATE') return true;
  return ROLLOUT_FIELDS.some((path) => !sameJson(field(request.object, ...path), field(request.oldObject, ...path)));
}

export function upgradeRules(kinds: readonly GuardedUpgradeKind[]): RuleWithOperations[] {
  return kinds.map((kind) => ({
    apiGroups: [kind.group],
    apiVersions: [kind.version],
    resources: [kind.resource],
    operations: [...kind.operations],
    scope: '*' as const,
  }));
}

export function upgradeValidator(config: Config): Validator {
  const kinds = config.upgrades.kinds;
  const declaration: WebhookDeclaration = { name: 'upgrade.volume-guard.io', target: 'upgrade', rules: upgradeRules(kinds) };
  return {
    declaration,
    handle(request, context) {
      const guarded = kinds.find(
        (kind) => kind.group === request.kind.group && kind.kind === request.kind.kind && kind.operations.includes(request.operation),
      );
      if (!guarded || !startsRollout(request)) return allowed();
      const name = request.name || metaOf(request.object)?.name || '(generated name)';
      const ref = request.namespace ? `${request.namespace}/${name}` : name;
      const action = `${request.operation === 'CREATE' ? 'creation' : 'change'} of ${guarded.kind} ${ref}`;
      const skip = skipOnReviewedObject(request, `${guarded.kind} ${ref}`);
      const overrides: OverrideSource[] = skip.source ? [skip.source] : [];
      // Harvester's own annotation, honored the way its upgrade toolkit does: exactly "true", detached volumes only.
      const annotations = metaOf(request.object)?.annotations ?? {};
      if (guarded.group === 'harvesterhci.io' && annotations[HARVESTER_SKIP_DETACHED_KEY] === 'true') {
        const before = metaOf(request.oldObject)?.annotations?.[HARVESTER_SKIP_DETACHED_KEY];
        overrides.push({
          where: `annotation ${HARVESTER_SKIP_DETACHED_KEY}`,
          checks: [],
          tags: [{ check: 'single-replica', tag: 'detached' }],
          reason: annotations['volume-guard.io/skip-reason'] ?? '',
          ...(before === 'true' ? {} : { writer: request.userInfo }),
        });
      }
      const stale = staleModelDecision(context, action, overrides);
      if (stale) return stale;

      const { snapshot } = context;
      // A narrower (tag) override must see every finding of its check to tell which remain, and to audit what it
      // skipped; the other checks stay capped.
      const tagged = [...new Set(overrides.flatMap((source) => (source.tags ?? []).map((tag) => tag.check)))];
      const results = new CheckResults(context, tagged)
        .run('single-replica', (cap) => collectSingleReplica(snapshot, {}, cap))
        .run('volume-health', (cap) => collectVolumeHealth(snapshot, {}, cap));
      return decide(context, {
        action,
        findings: results.findings,
        totals: results.totals,
        overrides,
        overrideHint: annotateHint(guarded.resource, request.name, request.namespace || undefined),
        warnings: skip.warnings,
        situation: {
          kind: 'upgrade',
          operation: request.operation === 'CREATE' ? 'CREATE' : 'UPDATE',
          resource: guarded.group ? `${guarded.resource}.${guarded.group}` : guarded.resource,
          kindName: guarded.kind,
          name,
          ...(request.namespace ? { namespace: request.namespace } : {}),
        },
      });
    },
  };
}

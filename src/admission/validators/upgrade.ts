// Upgrades: every node is rebooted or replaced in turn, so any volume whose data lives in one place, or that is
// already short of healthy copies, can be lost. The guarded kinds come from config.upgrades.kinds.
import type { Config } from '../../config.ts';
import { skipOnReviewedObject } from '../context.ts';
import { annotateHint } from '../decide.ts';
import { metaOf } from '../objects.ts';
import { HARVESTER_SKIP_DETACHED_KEY, type OverrideSource } from '../overrides.ts';
import { judgeByPlan, type PlanJudgement } from '../plan-judge.ts';
import { PLANS, readOverrides } from '../plans.ts';
import { allowed, type AdmissionRequest, type WebhookDeclaration } from '../types.ts';
import type { Validator } from '../validator.ts';
import { changedRolloutFields, UNKNOWN_KIND_FIELDS, upgradeKindTable, upgradeMatchCondition } from './upgrade-kinds.ts';

/**
 * Whether this request starts an upgrade, by the kind's table (UPGRADE_KIND_TABLES): undefined when it does not,
 * else what starts it (`creation`, or the changed fields).
 */
export function rolloutCause(request: AdmissionRequest): string | undefined {
  const table = upgradeKindTable(request.kind.group, request.kind.kind);
  if (request.operation === 'CREATE') return !table || table.createIsUpgrade ? 'creation' : undefined;
  if (request.operation !== 'UPDATE') return undefined;
  const changed = changedRolloutFields(table ?? { group: '', kind: '', createIsUpgrade: true, fields: UNKNOWN_KIND_FIELDS, note: '' }, request.object, request.oldObject);
  return changed.length ? `${changed.map((rollout) => rollout.path.join('.')).join(', ')} changed` : undefined;
}


/**
 * What the upgrade webhook judges of this request (undefined: it starts no guarded upgrade, allowed), for
 * `judgeByPlan` with PLANS.upgrade.
 */
export function upgradeJudgement(kinds: Config['upgrades']['kinds'], request: AdmissionRequest): PlanJudgement<unknown> | undefined {
  const guarded = kinds.find(
    (kind) => kind.group === request.kind.group && kind.kind === request.kind.kind && kind.operations.includes(request.operation),
  );
  const cause = guarded ? rolloutCause(request) : undefined;
  if (!guarded || cause === undefined) return undefined;
  const name = request.name || metaOf(request.object)?.name || '(generated name)';
  const ref = request.namespace ? `${request.namespace}/${name}` : name;
  const action = cause === 'creation' ? `creation of ${guarded.kind} ${ref}` : `change of ${guarded.kind} ${ref} (${cause})`;
  const skip = skipOnReviewedObject(request, `${guarded.kind} ${ref}`);
  // Harvester's own annotation, honored the way its upgrade toolkit does: exactly "true", detached volumes only.
  const harvesterAnnotation = (): OverrideSource | undefined => {
    const annotations = metaOf(request.object)?.annotations ?? {};
    if (guarded.group !== 'harvesterhci.io' || annotations[HARVESTER_SKIP_DETACHED_KEY] !== 'true') return undefined;
    const before = metaOf(request.oldObject)?.annotations?.[HARVESTER_SKIP_DETACHED_KEY];
    return {
      where: `annotation ${HARVESTER_SKIP_DETACHED_KEY}`,
      checks: [],
      tags: [{ check: 'single-replica', tag: 'detached' }],
      reason: annotations['volume-guard.io/skip-reason'] ?? '',
      ...(before === 'true' ? {} : { writer: request.userInfo }),
    };
  };
  const overrides = readOverrides(PLANS.upgrade, { object: () => skip.source, 'harvester-annotation': harvesterAnnotation });
  // A narrower (tag) override must see every finding of its check to tell which remain, and to audit what it
  // skipped: those checks count what the honored tag overrides waive instead of building it (judgeByPlan); the
  // other checks stay capped.
  const tagged = [...new Set(overrides.flatMap((source) => (source.tags ?? []).map((tag) => tag.check)))];
  return {
    action,
    target: {},
    overrides,
    unlimited: tagged,
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
  };
}

export function upgradeValidator(config: Config): Validator {
  const kinds = config.upgrades.kinds;
  const declaration: WebhookDeclaration = {
    name: 'upgrade.volume-guard.io',
    target: 'upgrade',
    rules: [{ upgradeKinds: { scope: '*' } }],
    // Only creations and the updates that start a rollout (labels, annotations, replicas and the like do not).
    matchConditions: [{ name: 'starts-rollout', expression: upgradeMatchCondition() }],
  };
  return {
    declaration,
    handle(request, context) {
      const judgement = upgradeJudgement(kinds, request);
      return judgement === undefined ? allowed() : judgeByPlan(context, PLANS.upgrade, judgement);
    },
  };
}

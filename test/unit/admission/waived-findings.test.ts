// What a tag override accepts (Harvester's skipSingleReplicaDetachedVol) is counted by the checks, not built
// (issue 15): the answers must be the ones judging every finding built gives. The reference here is the same
// judgement with an `adjust` step that passes the findings through, which makes judgeByPlan build every finding of
// the checks a tag override narrows (the way it answered before the waivers).
import { describe, expect, it } from 'vitest';
import { CheckResults, FINDING_LIMIT, waiversOf } from '../../../src/admission/context.ts';
import { judgeByPlan, type PlanJudgement } from '../../../src/admission/plan-judge.ts';
import { PLANS, type UpgradeTarget } from '../../../src/admission/plans.ts';
import type { Decision } from '../../../src/admission/types.ts';
import { upgradeJudgement, upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import type { OverrideSource } from '../../../src/admission/overrides.ts';
import { FindingCollector } from '../../../src/checks/collect.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { collectSingleReplica } from '../../../src/checks/single-replica.ts';
import type { CheckId } from '../../../src/checks/types.ts';
import { ClusterModel, type ClusterModelOptions } from '../../../src/cluster/model.ts';
import type { LonghornReplicaRecord, LonghornVolumeRecord } from '../../../src/cluster/records.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, ALICE, context, harvesterUpgradeRequest, reference, withModes } from '../../support/admission.ts';
import { detachedVolume, longhornNode, pick, replica, seededRandom, volumeWithReplicas } from '../../support/fixtures.ts';
import type { UserInfo } from '../../../src/admission/types.ts';

const HARVESTER_KEY = 'harvesterhci.io/skipSingleReplicaDetachedVol';

function add(model: ClusterModel, v: { volume: LonghornVolumeRecord; replicas: LonghornReplicaRecord[] }): void {
  model.upsert('longhornVolume', v.volume);
  for (const r of v.replicas) {
    model.upsert('longhornReplica', r);
    if (!model.longhornNode(r.nodeID)) model.upsert('longhornNode', longhornNode({ name: r.nodeID }));
  }
}

type VolumeKind = 'attached' | 'detached' | 'effective-attached' | 'effective-detached' | 'healthy' | 'degraded';
const KINDS: readonly VolumeKind[] = ['attached', 'detached', 'effective-attached', 'effective-detached', 'healthy', 'degraded'];

function addKind(model: ClusterModel, name: string, kind: VolumeKind, node: string): void {
  switch (kind) {
    case 'attached':
      return add(model, volumeWithReplicas(name, [node], { numberOfReplicas: 1 }));
    case 'detached':
      return add(model, { volume: detachedVolume({ name, numberOfReplicas: 1 }), replicas: [replica({ volumeName: name, nodeID: node })] });
    case 'effective-attached':
      return add(model, volumeWithReplicas(name, [node], { numberOfReplicas: 2, robustness: 'degraded' }));
    case 'effective-detached':
      return add(model, { volume: detachedVolume({ name, numberOfReplicas: 2 }), replicas: [replica({ volumeName: name, nodeID: node })] });
    case 'healthy':
      return add(model, volumeWithReplicas(name, ['node-1', 'node-2', 'node-3']));
    case 'degraded': {
      add(model, volumeWithReplicas(name, ['node-1', 'node-2', 'node-3'], { robustness: 'degraded' }));
      model.upsert('longhornReplica', replica({ volumeName: name, nodeID: 'node-2', currentState: 'stopped' }));
      return;
    }
  }
}

/** The model as served (its counts let a waived check stop walking) and one that keeps no counts (it walks all). */
const MODEL_VARIANTS: readonly (readonly [string, ClusterModelOptions])[] = [
  ['counting model', { volumeCounts: VOLUME_COUNTS }],
  ['walking model', {}],
];

function randomModel(random: () => number, count: number, weights: readonly number[], options: ClusterModelOptions): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, options);
  model.setLonghornInstalled(true);
  const sum = weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < count; i++) {
    let pick = random() * sum;
    let index = 0;
    while (pick >= weights[index]! && index < weights.length - 1) pick -= weights[index++]!;
    addKind(model, `vol-${String(i).padStart(3, '0')}`, KINDS[index]!, `node-${1 + Math.floor(random() * 4)}`);
  }
  return model;
}




describe.each(MODEL_VARIANTS)('waived findings, %s: the same answers as building them all', (_variant, modelOptions) => {
  const sizes = [0, 1, 3, 10, 11, 12, 13, 30, 60];
  const skips = [undefined, 'single-replica', 'volume-health', '*', 'single-replica,volume-health', 'last-replica-on-node'];
  const harvesterValues = [undefined, 'true', 'true', 'false'];
  const weightSets = [
    [1, 1, 1, 1, 1, 1],
    [0, 1, 0, 0, 0, 0], // detached only
    [0, 5, 0, 1, 0, 0], // detached, a few effective
    [1, 20, 0, 0, 1, 1], // mostly detached, a few attached
    [0, 0, 0, 0, 1, 1], // no single-replica volume
    [20, 1, 1, 1, 0, 1],
  ];

  it('the upgrade validator answers as before over varied clusters, annotations, writers and modes', () => {
    const random = seededRandom(15);
    let compared = 0;
    let waivedCases = 0;
    let denied = 0;
    for (let round = 0; round < 240; round++) {
      const model = randomModel(random, pick(random, sizes), pick(random, weightSets), modelOptions);
      const config = withModes({
        'single-replica': pick(random, ['enforce', 'enforce', 'warn', 'off'] as const),
        'volume-health': pick(random, ['enforce', 'enforce', 'warn', 'off'] as const),
      });
      const annotations: Record<string, string> = {};
      const harvester = pick(random, harvesterValues);
      if (harvester !== undefined) annotations[HARVESTER_KEY] = harvester;
      const skip = pick(random, skips);
      if (skip !== undefined) annotations['volume-guard.io/skip'] = skip;
      if (random() < 0.5) annotations['volume-guard.io/skip-reason'] = 'maintenance window';
      const user = random() < 0.75 ? ADMIN : ALICE;
      const review = harvesterUpgradeRequest(annotations, user);
      const ctx = context(model, { config });
      const judgement = upgradeJudgement(config.upgrades.kinds, review, model);
      expect(judgement).toBeDefined();
      const actual = upgradeValidator(config).handle(review, ctx) as Decision;
      const expected = judgeByPlan(ctx, PLANS.upgrade, reference(judgement!));
      expect(actual, JSON.stringify({ round, annotations, user: user.username })).toEqual(expected);
      compared++;
      if (harvester === 'true') waivedCases++;
      if (!actual.allowed) denied++;
    }
    // The comparison covered what it is for: waivers in play, and denials as well as allows.
    expect(compared).toBe(240);
    expect(waivedCases).toBeGreaterThan(60);
    expect(denied).toBeGreaterThan(40);
  });

  it('answers as before whatever the order of the overrides and who wrote them', () => {
    const random = seededRandom(1501);
    const tag = (where: string, writer: UserInfo | undefined): OverrideSource => ({
      where,
      checks: [],
      tags: [{ check: 'single-replica', tag: 'detached' }],
      reason: 'harvester',
      ...(writer ? { writer } : {}),
    });
    const effectiveTag = (writer: UserInfo): OverrideSource => ({
      where: 'effective waiver',
      checks: [],
      tags: [{ check: 'single-replica', tag: 'effective' }],
      reason: '',
      writer,
    });
    const whole = (checks: CheckId[], writer: UserInfo): OverrideSource => ({ where: `skip ${checks.join(',')}`, checks, reason: 'r', writer });
    for (let round = 0; round < 200; round++) {
      const model = randomModel(random, pick(random, sizes), pick(random, weightSets), modelOptions);
      const pool = [
        tag('harvester annotation', pick(random, [ADMIN, ALICE, undefined])),
        effectiveTag(pick(random, [ADMIN, ALICE])),
        whole(['single-replica'], pick(random, [ADMIN, ALICE])),
        whole(['volume-health'], pick(random, [ADMIN, ALICE])),
        whole(['single-replica', 'volume-health'], pick(random, [ADMIN, ALICE])),
      ];
      const overrides = pool.filter(() => random() < 0.5).sort(() => random() - 0.5);
      const config = withModes({ 'single-replica': pick(random, ['enforce', 'enforce', 'warn'] as const) });
      const ctx = context(model, { config });
      const judgement: PlanJudgement<UpgradeTarget> = {
        action: 'creation of Upgrade harvester-system/hvst-upgrade-1',
        target: {},
        overrides,
        unlimited: [...new Set(overrides.flatMap((source) => (source.tags ?? []).map((entry) => entry.check)))],
        overrideHint: 'run: kubectl annotate upgrades hvst-upgrade-1 volume-guard.io/skip=<checks>',
        situation: { kind: 'upgrade', operation: 'CREATE', resource: 'upgrades.harvesterhci.io', kindName: 'Upgrade', name: 'hvst-upgrade-1', namespace: 'harvester-system' },
      };
      const expected = judgeByPlan(ctx, PLANS.upgrade, reference(judgement));
      expect(judgeByPlan(ctx, PLANS.upgrade, judgement), JSON.stringify({ round, overrides: overrides.map((o) => o.where) })).toEqual(expected);
    }
  });

  it('a Harvester-skip upgrade over 400 detached volumes and a few attached ones says what building them all said', () => {
    const model = new ClusterModel(VOLUME_SETS, modelOptions);
    model.setLonghornInstalled(true);
    for (let i = 0; i < 400; i++) addKind(model, `det-${i}`, i % 50 === 7 ? 'effective-detached' : 'detached', `node-${i % 7}`);
    for (let i = 0; i < 15; i++) addKind(model, `att-${i}`, i === 13 ? 'effective-attached' : 'attached', `node-${i % 7}`);
    const config = defaultConfig();
    for (const user of [ADMIN, ALICE]) {
      const review = harvesterUpgradeRequest({ [HARVESTER_KEY]: 'true' }, user);
      const ctx = context(model, { config });
      const actual = upgradeValidator(config).handle(review, ctx);
      expect(actual).toEqual(judgeByPlan(ctx, PLANS.upgrade, reference(upgradeJudgement(config.upgrades.kinds, review, model)!)));
      expect(actual.allowed).toBe(false);
      // The attached ones are refused, all counted; the effective one past the listing still shapes the fix.
      expect(actual.status!.message).toContain(user === ADMIN ? '15 Longhorn volumes have a single copy' : '415 Longhorn volumes have a single copy');
      expect(actual.status!.message.replace(/\s+/g, ' ')).toContain('wait until Longhorn has rebuilt the missing replicas');
    }
    const admin = upgradeValidator(config).handle(harvesterUpgradeRequest({ [HARVESTER_KEY]: 'true' }, ADMIN), context(model, { config }));
    expect(admin.auditAnnotations?.['overridden-objects']).toBe('400');
  });
});

describe("Harvester's own annotation offered past the listing", () => {
  it('a Harvester Upgrade refused only for detached volumes offers it however many there are', () => {
    for (const [label, options] of MODEL_VARIANTS) {
      for (const count of [3, 11, 12, 40, 400]) {
        const model = new ClusterModel(VOLUME_SETS, options);
        model.setLonghornInstalled(true);
        for (let i = 0; i < count; i++) addKind(model, `det-${i}`, 'detached', `node-${i % 7}`);
        const config = defaultConfig();
        const review = harvesterUpgradeRequest({}, ADMIN);
        const message = upgradeValidator(config).handle(review, context(model, { config })).status?.message ?? '';
        expect(message, `${label}, ${count}`).toContain(`${count} Longhorn volumes have a single copy`);
        expect(message, `${label}, ${count}`).toContain(`or, as Harvester does, skip only detached volumes: ${HARVESTER_KEY}: "true"`);
        // One attached volume among them, anywhere in the walk: the annotation would not be enough.
        addKind(model, `att-${count}`, 'attached', 'node-1');
        const mixed = upgradeValidator(config).handle(review, context(model, { config })).status?.message ?? '';
        expect(mixed, `${label}, ${count}`).toContain(`${count + 1} Longhorn volumes have a single copy`);
        expect(mixed, `${label}, ${count}`).not.toContain('skipSingleReplicaDetachedVol');
      }
    }
  });
});

describe('what a waived check builds', () => {
  it('builds no more than the listing (and one finding per wording combination) at any size', () => {
    const built = (count: number): { findings: number; total: number; waived: number } => {
      const model = new ClusterModel(VOLUME_SETS);
      model.setLonghornInstalled(true);
      for (let i = 0; i < count; i++) addKind(model, `v-${i}`, i % 3 === 0 ? 'attached' : i % 10 === 1 ? 'effective-detached' : 'detached', 'node-1');
      const harvester: OverrideSource = { where: 'harvester', checks: [], tags: [{ check: 'single-replica', tag: 'detached' }], reason: '', writer: ADMIN };
      const ctx = context(model);
      const waivers = waiversOf('single-replica', [harvester], ctx.config.overrides)!;
      const results = new CheckResults(ctx, ['single-replica'], {}, { 'single-replica': waivers });
      results.run('single-replica', (cap) => collectSingleReplica(model, {}, cap));
      return {
        findings: results.findings.length,
        total: results.totals['single-replica'] ?? 0,
        waived: results.waived.reduce((n, entry) => n + entry.count, 0),
      };
    };
    const small = built(30);
    const large = built(3000);
    expect(small).toEqual({ findings: 10, total: 10, waived: 20 });
    expect(large.total).toBe(1000);
    expect(large.waived).toBe(2000);
    expect(large.findings).toBe(FINDING_LIMIT + 1);
  });

  it('builds a finding past the cap for a wording combination not yet built, and counts tags over all', () => {
    const collector = new FindingCollector({ limit: 2, waive: ['detached'], countTags: ['detached', 'x'], representTags: ['effective'] });
    const finding = { check: 'single-replica', severity: 'critical', object: { kind: 'Volume', name: 'v' }, reason: 'r', tags: [] } as const;
    const admitted = [['attached'], ['attached'], ['attached'], ['attached', 'effective'], ['attached', 'effective'], ['detached'], ['x']].map((tags) => {
      const admit = collector.admit(tags);
      if (admit) collector.add(finding);
      return admit;
    });
    expect(admitted).toEqual([true, true, false, true, false, false, false]);
    const result = collector.result();
    expect(result.total).toBe(6);
    expect(result.waived).toEqual([{ index: 0, count: 1, beforeCounted: false }]);
    expect(result.tagTotals).toEqual({ detached: 0, x: 1 });
  });
});

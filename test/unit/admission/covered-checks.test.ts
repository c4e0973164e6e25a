// Two ways judgeByPlan builds fewer findings than a denial could list, each held to the answers building the listing
// gives (the reference: the same judgement with an `adjust` step that passes the findings through and no listing
// first, which turns both off). A check an honored whole-check override takes entirely (`skip: "*"`) builds one
// finding and counts the rest (coveredChecks in src/admission/plan-judge.ts, issue 15). A check whose wording reads
// only the tags it represents builds LISTING_FIRST findings, and the rest only when the denial has room to list
// them (`listingFirst`).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CheckResults, FINDING_LIMIT, LISTING_FIRST } from '../../../src/admission/context.ts';
import { judgeByPlan, type PlanJudgement } from '../../../src/admission/plan-judge.ts';
import { PLANS, runPlan, type NodeTarget, type UpgradeTarget } from '../../../src/admission/plans.ts';
import type { OverrideSource } from '../../../src/admission/overrides.ts';
import type { UserInfo } from '../../../src/admission/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { nodeLocalOptionsOf } from '../../../src/checks/node-local-volume.ts';
import { collectSingleReplica } from '../../../src/checks/single-replica.ts';
import type { CheckId } from '../../../src/checks/types.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { LonghornReplicaRecord, LonghornVolumeRecord } from '../../../src/cluster/records.ts';
import { ADMIN, ALICE, context, reference, withModes } from '../../support/admission.ts';
import { detachedVolume, longhornNode, pick, replica, seededRandom, volumeWithReplicas } from '../../support/fixtures.ts';

function add(model: ClusterModel, v: { volume: LonghornVolumeRecord; replicas: LonghornReplicaRecord[] }): void {
  model.upsert('longhornVolume', v.volume);
  for (const r of v.replicas) {
    model.upsert('longhornReplica', r);
    if (!model.longhornNode(r.nodeID)) model.upsert('longhornNode', longhornNode({ name: r.nodeID }));
  }
}

/** Volumes of every kind the node and upgrade checks report, on nodes 1-4; names padded to `nameLength`. */
function randomModel(random: () => number, count: number, nameLength = 7): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  for (let i = 0; i < count; i++) {
    const name = `vol-${String(i).padStart(3, '0')}`.padEnd(nameLength, 'x');
    const node = `node-${1 + Math.floor(random() * 4)}`;
    const kind = Math.floor(random() * 5);
    if (kind === 0) add(model, volumeWithReplicas(name, [node], { numberOfReplicas: 1 }));
    else if (kind === 1) add(model, { volume: detachedVolume({ name, numberOfReplicas: 1 }), replicas: [replica({ volumeName: name, nodeID: node })] });
    else if (kind === 2) add(model, volumeWithReplicas(name, [node], { numberOfReplicas: 2, robustness: 'degraded' }));
    else if (kind === 3) add(model, volumeWithReplicas(name, ['node-1', 'node-2', 'node-3']));
    else {
      add(model, volumeWithReplicas(name, ['node-1', 'node-2', node], { robustness: 'degraded' }));
      model.upsert('longhornReplica', replica({ volumeName: name, nodeID: 'node-2', currentState: 'stopped' }));
    }
  }
  return model;
}

const whole = (checks: readonly CheckId[], writer: UserInfo | undefined, extra: Partial<OverrideSource> = {}): OverrideSource => ({
  where: `skip ${checks.join(',')} by ${writer?.username ?? 'nobody'}`,
  checks,
  reason: 'maintenance',
  ...(writer ? { writer } : { recordedBy: '' }),
  ...extra,
});

const MODES = ['enforce', 'enforce', 'warn', 'off'] as const;

describe('checks a whole-check override takes: counted, not built, same answers', () => {
  it('the upgrade and Node DELETE plans answer as building the listing does, whatever the overrides and modes', () => {
    const random = seededRandom(1515);
    let covered = 0;
    for (let round = 0; round < 300; round++) {
      const model = randomModel(random, pick(random, [0, 1, 5, 11, 12, 40, 90]));
      const config = withModes({ 'single-replica': pick(random, MODES), 'volume-health': pick(random, MODES), 'last-replica-on-node': pick(random, MODES) });
      const pool = [
        whole(['single-replica', 'volume-health', 'last-replica-on-node', 'node-local-volume'], pick(random, [ADMIN, ALICE])),
        whole(['single-replica'], pick(random, [ADMIN, ALICE, undefined])),
        whole(['volume-health'], ADMIN, random() < 0.3 ? { ignored: 'expired at 2020-01-01T00:00:00Z' } : {}),
        whole(pick(random, [['last-replica-on-node'], ['single-replica', 'volume-health']]), pick(random, [ADMIN, ALICE])),
      ];
      const overrides = pool.filter(() => random() < 0.5).sort(() => random() - 0.5);
      const ctx = context(model, { config });
      const upgrade: PlanJudgement<UpgradeTarget> = {
        action: 'creation of Upgrade harvester-system/hvst-upgrade-1',
        target: {},
        overrides,
        unlimited: [],
        overrideHint: 'run: kubectl annotate upgrades hvst-upgrade-1 volume-guard.io/skip=<checks>',
        situation: { kind: 'upgrade', operation: 'CREATE', resource: 'upgrades.harvesterhci.io', kindName: 'Upgrade', name: 'hvst-upgrade-1', namespace: 'harvester-system' },
      };
      const node = pick(random, ['node-1', 'node-2', 'node-4']);
      const nodeDelete: PlanJudgement<NodeTarget> = {
        action: `deletion of node ${node}`,
        target: { node },
        overrides,
        overrideHint: `run: kubectl annotate node ${node} volume-guard.io/skip=<checks>`,
      };
      const label = JSON.stringify({ round, overrides: overrides.map((o) => o.where) });
      const actualUpgrade = judgeByPlan(ctx, PLANS.upgrade, upgrade);
      expect(actualUpgrade, label).toEqual(judgeByPlan(ctx, PLANS.upgrade, reference(upgrade)));
      const actualDelete = judgeByPlan(ctx, PLANS['node-delete'], nodeDelete);
      expect(actualDelete, label).toEqual(judgeByPlan(ctx, PLANS['node-delete'], reference(nodeDelete)));
      for (const decision of [actualUpgrade, actualDelete]) {
        if (Number(decision.auditAnnotations?.['overridden-objects'] ?? 0) > FINDING_LIMIT + 1) covered++;
      }
    }
    // The comparison met what it is for: overrides taking more findings than a listing builds.
    expect(covered).toBeGreaterThan(40);
  });

  it('builds one finding of a counted check and counts the rest', () => {
    const random = seededRandom(7);
    const model = randomModel(random, 200);
    const ctx = context(model);
    const all = collectSingleReplica(model, {}, {}).findings.length;
    expect(all).toBeGreaterThan(FINDING_LIMIT + 1);
    const counted = new CheckResults(ctx, false, {}, {}, ['single-replica']).run('single-replica', (cap) => collectSingleReplica(model, {}, cap));
    expect(counted.findings).toHaveLength(1);
    expect(counted.totals['single-replica']).toBe(all);
    const listed = new CheckResults(ctx).run('single-replica', (cap) => collectSingleReplica(model, {}, cap));
    expect(listed.findings).toHaveLength(FINDING_LIMIT + 1);
    expect(listed.totals['single-replica']).toBe(all);
  });

  it('builds no finding for a wording when the upgrade plan counts single-replica', () => {
    // Two wordings (numberOfReplicas 1, and `effective`: 3 asked, 1 healthy): a listed denial builds one of each,
    // a check the override takes builds one finding in all.
    const model = new ClusterModel(VOLUME_SETS);
    model.setLonghornInstalled(true);
    for (let i = 0; i < 30; i++) {
      const name = `vol-${String(i).padStart(2, '0')}`;
      add(model, volumeWithReplicas(name, [`node-${1 + (i % 4)}`], { numberOfReplicas: i < 20 ? 1 : 3 }));
    }
    const ctx = context(model);
    const run = (results: CheckResults) => {
      runPlan(PLANS.upgrade, model, {}, { nodeLocal: nodeLocalOptionsOf(ctx.config) }, (check, collect) => {
        if (check === 'single-replica') results.run(check, collect);
      });
      return results;
    };
    const counted = run(new CheckResults(ctx, false, {}, {}, ['single-replica']));
    expect(counted.findings).toHaveLength(1);
    expect(counted.totals['single-replica']).toBe(30);
    const listed = run(new CheckResults(ctx));
    expect(listed.findings.some((finding) => finding.tags.includes('effective'))).toBe(true);
    expect(listed.totals['single-replica']).toBe(30);
  });
});

describe('listing first: a few findings built, the rest only when the denial can list them, same answers', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('the upgrade, cordon and Node DELETE plans answer as building the listing does', () => {
    const buildAll = vi.spyOn(CheckResults.prototype, 'buildAll');
    const random = seededRandom(4242);
    let cut = 0;
    for (let round = 0; round < 300; round++) {
      // Short and long names: how many objects a denial lists depends on the length of their lines.
      const model = randomModel(random, pick(random, [0, 3, 8, 12, 30, 90]), pick(random, [7, 30, 63]));
      const config = withModes({ 'single-replica': pick(random, MODES), 'volume-health': pick(random, MODES), 'last-replica-on-node': pick(random, MODES) });
      const pool: OverrideSource[] = [
        whole(['volume-health'], ADMIN),
        whole(['last-replica-on-node'], pick(random, [ADMIN, ALICE])),
        { where: 'annotation harvesterhci.io/skipSingleReplicaDetachedVol', checks: [], tags: [{ check: 'single-replica', tag: 'detached' }], reason: '', writer: ADMIN },
        { ...whole(['single-replica', 'volume-health'], ADMIN), namespace: 'app' },
      ];
      const overrides = pool.filter(() => random() < 0.25);
      const ctx = context(model, { config });
      const tagged = [...new Set(overrides.flatMap((source) => (source.tags ?? []).map((tag) => tag.check)))];
      const upgrade: PlanJudgement<UpgradeTarget> = {
        action: 'creation of Upgrade harvester-system/hvst-upgrade-1',
        target: {},
        overrides,
        unlimited: tagged,
        overrideHint: 'run: kubectl annotate upgrades hvst-upgrade-1 volume-guard.io/skip=<checks>',
        situation: { kind: 'upgrade', operation: 'CREATE', resource: 'upgrades.harvesterhci.io', kindName: 'Upgrade', name: 'hvst-upgrade-1', namespace: 'harvester-system' },
        listingFirst: true,
      };
      const node = pick(random, ['node-1', 'node-2', 'node-4']);
      const nodeJudgement: PlanJudgement<NodeTarget> = {
        action: `cordon of node ${node}`,
        target: { node },
        overrides: overrides.filter((source) => source.tags === undefined),
        overrideHint: `run: kubectl annotate node ${node} volume-guard.io/skip=<checks>`,
        situation: { kind: 'cordon', node },
        listingFirst: true,
      };
      const label = JSON.stringify({ round, overrides: overrides.map((o) => o.where) });
      const before = buildAll.mock.calls.length;
      const cutBefore = cut;
      for (const [plan, judgement] of [
        [PLANS.upgrade, upgrade],
        [PLANS['node-cordon'], nodeJudgement],
        [PLANS['node-delete'], nodeJudgement],
      ] as const) {
        const results = vi.spyOn(CheckResults.prototype, 'listingCut', 'get');
        const actual = judgeByPlan(ctx, plan as typeof PLANS.upgrade, judgement as PlanJudgement<UpgradeTarget>);
        if (results.mock.results.some((result) => result.value === true)) cut++;
        results.mockRestore();
        expect(actual, label).toEqual(judgeByPlan(ctx, plan as typeof PLANS.upgrade, reference(judgement as PlanJudgement<UpgradeTarget>)));
      }
      if (cut > cutBefore) expect(buildAll.mock.calls.length - before, label).toBeLessThanOrEqual(cut - cutBefore);
    }
    // Both ways were met: denials answered from the few built, and denials that built the rest to list them.
    const rebuilt = buildAll.mock.calls.length;
    expect(rebuilt).toBeGreaterThan(20);
    expect(cut - rebuilt).toBeGreaterThan(20);
  });

  it('builds LISTING_FIRST findings of a listed check, and the rest up to the cap when the denial lists more', () => {
    const random = seededRandom(99);
    const model = randomModel(random, 120);
    const ctx = context(model);
    const run = (results: CheckResults) => {
      runPlan(PLANS.upgrade, model, {}, { nodeLocal: nodeLocalOptionsOf(ctx.config) }, (check, collect, wordedFromTags) => {
        results.run(check, collect, wordedFromTags);
      });
      return results;
    };
    const first = run(new CheckResults(ctx, false, {}, {}, [], { checks: ['single-replica', 'volume-health'] }));
    const health = first.findings.filter((finding) => finding.check === 'volume-health');
    expect(health).toHaveLength(LISTING_FIRST);
    expect(first.totals['volume-health']).toBeGreaterThan(FINDING_LIMIT + 1);
    expect(first.listingCut).toBe(true);
    const all = run(new CheckResults(ctx));
    first.buildAll();
    expect(first.listingCut).toBe(false);
    expect(first.findings).toEqual(all.findings);
    expect(first.totals).toEqual(all.totals);
  });
});

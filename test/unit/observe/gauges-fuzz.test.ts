// Differential: the tracker fed change by change must count what a tracker built afresh from the same records counts.
import { describe, expect, it } from 'vitest';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { RESOURCE_KINDS } from '../../../src/cluster/records.ts';
import { RiskTracker, type RiskCounts } from '../../../src/observe/risks.ts';
import { NODES, step } from '../../support/churn.ts';
import { longhornNode, node, seededRandom } from '../../support/fixtures.ts';

function freshCounts(model: ClusterModel): Omit<RiskCounts, 'pending'> {
  const copy = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  const tracker = new RiskTracker(copy);
  const sink = tracker.sink();
  sink.setLonghornInstalled(model.longhornInstalled);
  for (const kind of RESOURCE_KINDS) sink.replaceAll(kind, [...model.records(kind)] as never);
  tracker.markAll();
  expect(tracker.flush()).toBe(true);
  const { pending: _pending, ...rest } = tracker.counts();
  return rest;
}

function current(tracker: RiskTracker): Omit<RiskCounts, 'pending'> {
  expect(tracker.flush()).toBe(true);
  const { pending: _pending, ...rest } = tracker.counts();
  return rest;
}

describe('gauges equal a fresh count after every kind of change', () => {
  for (const seed of Array.from({ length: 20 }, (_, k) => k + 1)) {
    it(`seed ${seed}`, () => {
      const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
      const tracker = new RiskTracker(model);
      const sink = tracker.sink();
      sink.setLonghornInstalled(true);
      // As the informers start: a first list of every kind.
      for (const kind of RESOURCE_KINDS) {
        if (kind === 'node') sink.replaceAll('node', NODES.slice(0, 4).map((name) => node({ name, labels: { 'kubernetes.io/hostname': name } })));
        else if (kind === 'longhornNode') sink.replaceAll('longhornNode', NODES.slice(0, 4).map((name) => longhornNode({ name })));
        else sink.replaceAll(kind, []);
      }
      const random = seededRandom(seed);
      const log: string[] = [];
      for (let i = 0; i < 300; i++) {
        log.push(step(sink, model, random, i));
        const got = current(tracker);
        const want = freshCounts(model);
        const norm = (c: Omit<RiskCounts, 'pending'>) => ({ ...c, orphanPvcs: [...c.orphanPvcs].sort(), activeOverrides: [...c.activeOverrides].sort() });
        if (JSON.stringify(norm(got)) !== JSON.stringify(norm(want))) {
          console.log(`step ${i}:\n${log.slice(-10).join('\n')}`);
          expect(norm(got)).toEqual(norm(want));
        }
      }
    });
  }
});

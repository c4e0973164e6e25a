// `audit --node N` exits 1 exactly when the cordon or drain of N is refused: what only deleting N would hit (a Node
// DELETE, which drains nothing; the node's removal) is listed, labelled by a note, and does not fail it.
import { describe, expect, it } from 'vitest';
import { failingFindings } from '../../../src/audit/run.ts';
import type { ClusterModel } from '../../../src/cluster/model.ts';
import { localPV, longhornSetting, pod } from '../../support/fixtures.ts';
import { addVolume, cordonAndAudit, longhornCluster } from './cordon-agreement.ts';

const CASES: Record<string, (model: ClusterModel) => void> = {
  'a last copy Longhorn moves at the drain (node-drain-policy block-for-eviction)': (model) => {
    addVolume(model, 'v', ['n1'], { numberOfReplicas: 3 });
    model.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
  },
  'a Released local PV kept under Retain': (model) => {
    model.upsert('persistentVolume', localPV({ name: 'pv-l', pinnedNode: 'n1', claimName: 'gone', phase: 'Released', reclaimPolicy: 'Retain' }));
  },
  "a bare pod's hostPath data": (model) => {
    model.upsert('pod', pod({ name: 'p', nodeName: 'n1', hostPaths: [{ path: '/data', writable: true }] }));
  },
};

describe('audit --node exit code: the cordon and drain, not the removal', () => {
  for (const [name, setup] of Object.entries(CASES)) {
    it(`${name}: the cordon passes, the audit exits 0 and says what deleting the node would hit`, () => {
      const model = longhornCluster();
      setup(model);
      const { decision, report } = cordonAndAudit(model, 'n1');
      expect(decision.allowed).toBe(true);
      expect(report.findings.length).toBeGreaterThan(0);
      expect(report.findings.every((finding) => !finding.operation.startsWith('cordon/drain'))).toBe(true);
      expect(failingFindings(report, false)).toBe(0);
      expect(failingFindings(report, true)).toBe(report.findings.length);
      expect(report.notes.some((note) => note.includes('what deleting the node would hit'))).toBe(true);
    });
  }

  it('a refused cordon still fails it', () => {
    const model = longhornCluster();
    addVolume(model, 'v', ['n1'], { numberOfReplicas: 3 });
    const { decision, report } = cordonAndAudit(model, 'n1');
    expect(decision.allowed).toBe(false);
    // Its last healthy copy (last-replica-on-node), its only healthy one of three (single-replica).
    expect(failingFindings(report, false)).toBe(2);
    expect(report.notes.some((note) => note.includes('what deleting the node would hit'))).toBe(false);
  });
});

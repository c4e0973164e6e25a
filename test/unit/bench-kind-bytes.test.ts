// The bench's heap per kind (test/bench/lib/kind-bytes.ts): the model emptied kind by kind through the risk tracker's
// sink, and a kind whose heap reading did not fall reported as not measurable rather than as 0 bytes.
import { describe, expect, it } from 'vitest';
import { VOLUME_SETS } from '../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../src/cluster/model.ts';
import { RiskTracker } from '../../src/observe/risks.ts';
import { bytesPerKind } from '../bench/lib/kind-bytes.ts';
import { SMALL_CLUSTER, syntheticCluster } from '../support/fixtures.ts';

function tracked(): { model: ClusterModel; risks: RiskTracker; sink: ReturnType<RiskTracker['sink']> } {
  const model = new ClusterModel(VOLUME_SETS);
  const risks = new RiskTracker(model);
  const sink = risks.sink();
  syntheticCluster(sink, SMALL_CLUSTER);
  risks.flush();
  return { model, risks, sink };
}

describe('heap per kind', () => {
  it('empties the model through the tracker, pods first and nodes last', () => {
    const target = tracked();
    const counts = { pod: target.model.count('pod'), node: target.model.count('node') };
    let heap = 10_000_000;
    const kinds = bytesPerKind(target, () => (heap -= 1_000));
    expect(kinds[0]).toMatchObject({ kind: 'pod', count: counts.pod, bytes: 1_000 });
    expect(kinds.at(-1)).toMatchObject({ kind: 'node', count: counts.node, bytes: 1_000, bytesPerObject: Math.round(1_000 / counts.node) });
    expect(kinds.every((entry) => target.model.count(entry.kind as 'pod') === 0)).toBe(true);
    // What the tracker counted went with the objects.
    expect(target.risks.pending).toBe(0);
    expect(Object.values(target.risks.counts().nodesBlocked).every((count) => count === 0)).toBe(true);
  });

  it('reports a kind whose heap reading did not fall as not measurable (null), not 0', () => {
    const target = tracked();
    const readings = [5_000, 6_000, 4_000];
    let at = 0;
    const kinds = bytesPerKind(target, () => readings[Math.min(at++, readings.length - 1)]!);
    // pods: 5,000 → 6,000 (rose): null; the next kind 6,000 → 4,000: 2,000; then no change: null.
    expect(kinds[0]).toMatchObject({ kind: 'pod', bytes: null, bytesPerObject: null });
    expect(kinds[1]).toMatchObject({ bytes: 2_000 });
    expect(kinds[2]).toMatchObject({ bytes: null, bytesPerObject: null });
  });
});

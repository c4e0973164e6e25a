// The model build as the pod does it, alone, for `node --cpu-prof`: the synthetic cluster written through the risk
// tracker's sink (createRiskTrackedModel, as `serve` and the benchmark's server child build it), then the first flush.
//   NODE_OPTIONS=--max-semi-space-size=8 node --cpu-prof --cpu-prof-dir=/tmp/prof test/bench/profile-build.ts [--size large] [--rounds 1] [--bare]
// Prints one JSON line per round: inserts (ms, per kind), first flush (ms), their sum (the bench's `build/<size>`).
// Each round builds a fresh model. `--bare`: into a ClusterModel alone, no tracker (the reference the tracker adds
// to). For before/after figures run it alternately from two checkouts, one process per reading.
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../src/cluster/model.ts';
import type { ModelSink, ResourceKind } from '../../src/cluster/records.ts';
import { loadConfig } from '../../src/config.ts';
import { createRiskTrackedModel } from '../../src/server/cluster-dependencies.ts';
import { applyServeV8Flags } from '../../src/server/v8-flags.ts';
import { syntheticCluster } from '../support/fixtures.ts';
import { CLUSTER_SIZES } from './lib/protocol.ts';
import { timedSink } from './lib/timed-sink.ts';

const { values } = parseArgs({
  options: { size: { type: 'string', default: 'large' }, rounds: { type: 'string', default: '1' }, 'v8-defaults': { type: 'boolean', default: false }, bare: { type: 'boolean', default: false } },
});
const size = values.size as keyof typeof CLUSTER_SIZES;
if (CLUSTER_SIZES[size] === undefined) throw new Error(`no size ${values.size} (${Object.keys(CLUSTER_SIZES).join(', ')})`);
// As `volume-guard serve` runs: its V8 flags set before the model is built.
if (!values['v8-defaults']) applyServeV8Flags();
const config = loadConfig({ env: {} });

for (let round = 0; round < Number(values.rounds); round++) {
  // The bare model as the server builds its own (createRiskTrackedModel's volume sets and counts), without the tracker.
  const tracked = values.bare ? undefined : createRiskTrackedModel(config, new Registry());
  const sink: ModelSink =
    tracked?.sink ?? new ClusterModel(VOLUME_SETS, { nodeDownGraceMs: config.longhorn.nodeDownGraceSeconds * 1000, volumeCounts: VOLUME_COUNTS });
  const byKind: Partial<Record<ResourceKind, number>> = {};
  let insertMs = 0;
  const timed = timedSink(sink, (kind, _records, took) => {
    insertMs += took;
    byKind[kind] = Math.round(((byKind[kind] ?? 0) + took) * 10) / 10;
  });
  const start = performance.now();
  syntheticCluster(timed, CLUSTER_SIZES[size]);
  const flushStart = performance.now();
  tracked?.risks.flush();
  const flushMs = performance.now() - flushStart;
  const totalMs = performance.now() - start;
  tracked?.stopRiskFlusher();
  const counts = tracked?.risks.counts();
  console.log(
    JSON.stringify({
      size,
      round,
      through: tracked ? 'tracker' : 'bare model',
      insertMs: Math.round(insertMs),
      firstFlushMs: Math.round(flushMs),
      buildMs: Math.round(insertMs + flushMs),
      totalWithGenerationMs: Math.round(totalMs),
      byKind,
      atRiskVolumes: counts?.atRiskVolumes,
      nodesBlocked: counts?.nodesBlocked,
    }),
  );
}

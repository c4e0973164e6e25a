// Bytes allocated per request, per case, in process: decode + validator + encode of each case's review on a
// synthetic model, in a young generation large enough that no collection runs during the measurement (run it with
// the flags below). How often a server collects follows from these figures (young generation / bytes per request).
//   node --expose-gc --min-semi-space-size=128 --max-semi-space-size=128 test/bench/allocation.ts [--sizes small,large] [--cases cordon-deny,upgrade-deny]
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createRegistry } from '../../src/admission/registry.ts';
import { VALIDATOR_FACTORIES } from '../../src/admission/index.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../src/cluster/model.ts';
import { loadConfig } from '../../src/config.ts';
import { decodeAdmissionReviewBody, encodeAdmissionResponse } from '../../src/server/codec.ts';
import { ALWAYS_SYNCED } from '../support/empty-model.ts';
import { syntheticCluster } from '../support/fixtures.ts';
import { buildCases } from './lib/cases.ts';
import { CLUSTER_SIZES, type ClusterSize } from './lib/protocol.ts';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: 'small,large' }, cases: { type: 'string', default: '' }, requests: { type: 'string', default: '200' } } });
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc (and --min-semi-space-size=128 --max-semi-space-size=128)');
const requests = Number(values.requests);
const wanted = values.cases.split(',').filter(Boolean);
const log = pino({ level: 'silent' });
const config = loadConfig({ env: {} });
const registry = createRegistry(config, VALIDATOR_FACTORIES);

for (const size of values.sizes.split(',') as ClusterSize[]) {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  const summary = syntheticCluster(model, CLUSTER_SIZES[size]);
  for (const benchCase of buildCases(summary, { helm: false })) {
    if (wanted.length > 0 && !wanted.some((prefix) => benchCase.id.startsWith(prefix))) continue;
    const validator = registry.get(benchCase.target);
    if (!validator) continue;
    const body = Buffer.from(benchCase.body);
    const once = (): number => {
      const decoded = decodeAdmissionReviewBody(body, validator.elide);
      if (!decoded.ok) throw new Error(`case ${benchCase.id}: ${decoded.reason}`);
      const context = { snapshot: model, health: ALWAYS_SYNCED, config, now: Date.now(), log, onOverride: () => undefined, removing: () => undefined, cordoning: () => undefined };
      return JSON.stringify(encodeAdmissionResponse(decoded.request.uid, validator.handle(decoded.request, context))).length;
    };
    // Warm up (V8 optimises the path), then measure the heap growth over `requests` requests.
    for (let i = 0; i < 300; i++) once();
    gc();
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < requests; i++) once();
    const perRequest = (process.memoryUsage().heapUsed - before) / requests;
    process.stdout.write(`${size.padEnd(6)} ${benchCase.id.padEnd(30)} ${(perRequest / 1024).toFixed(1)} KB allocated per request\n`);
  }
}

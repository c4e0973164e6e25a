// One case in a loop on a synthetic model, for `node --cpu-prof`: what a validator spends its time on.
//   node --cpu-prof --cpu-prof-dir=/tmp/prof test/bench/profile-case.ts --case cordon-deny [--size large] [--ms 5000] [--v8-defaults]
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createRegistry } from '../../src/admission/registry.ts';
import type { ValidationContext } from '../../src/admission/validator.ts';
import { VALIDATOR_FACTORIES } from '../../src/admission/index.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../src/cluster/model.ts';
import { loadConfig } from '../../src/config.ts';
import { decodeAdmissionReviewBody, encodeAdmissionResponse } from '../../src/server/codec.ts';
import { applyServeV8Flags } from '../../src/server/v8-flags.ts';
import { syntheticCluster } from '../support/fixtures.ts';
import { CLUSTER_SIZES } from './lib/protocol.ts';
import { buildCases } from './lib/cases.ts';

const { values } = parseArgs({
  options: { case: { type: 'string', default: 'cordon-deny' }, size: { type: 'string', default: 'large' }, ms: { type: 'string', default: '5000' }, 'v8-defaults': { type: 'boolean', default: false } },
});
// As `volume-guard serve` runs: its V8 flags set before the model is built (--v8-defaults: V8's own, to compare).
if (!values['v8-defaults']) applyServeV8Flags();
const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
const summary = syntheticCluster(model, CLUSTER_SIZES[values.size as keyof typeof CLUSTER_SIZES]);
const config = loadConfig({ env: {} });
const registry = createRegistry(config, VALIDATOR_FACTORIES);
const benchCase = buildCases(summary, { helm: false }).find((c) => c.id === values.case);
if (!benchCase) throw new Error(`no case ${values.case}`);
const validator = registry.get(benchCase.target);
if (!validator) throw new Error(`no validator ${benchCase.target}`);
const log = pino({ level: 'silent' });
const body = Buffer.from(benchCase.body);
// Typed, so that a field the validators come to need fails the typecheck here rather than at run time.
const context = (): ValidationContext => ({
  snapshot: model,
  health: { synced: () => true, staleResources: () => [] },
  config,
  now: Date.now(),
  log,
  onOverride: () => undefined,
  removing: () => undefined,
  cordoning: () => undefined,
});
let n = 0;
const start = process.cpuUsage();
const end = performance.now() + Number(values.ms);
while (performance.now() < end) {
  const decoded = decodeAdmissionReviewBody(body, validator.elide);
  if (!decoded.ok) throw new Error(decoded.reason);
  JSON.stringify(encodeAdmissionResponse(decoded.request.uid, validator.handle(decoded.request, context())));
  n++;
}
const cpu = process.cpuUsage(start);
console.log(`${values.case} ${values.size}: ${n} requests, ${((cpu.user + cpu.system) / n).toFixed(1)} µs CPU each`);

// Inputs the fuzzers found, kept as plain examples so they stay fixed.
import { describe, expect, it } from 'vitest';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { decodeAdmissionReviewBody } from '../../../src/server/codec.ts';
import { context, reviewBody } from '../../support/admission.ts';
import { longhornNode, volumeWithReplicas } from '../../support/fixtures.ts';

const config = defaultConfig();
const validator = upgradeValidator(config);

/** A Plan UPDATE, decoded from JSON text as the server decodes it (so nesting depth is only bounded by the text). */
function planUpdate(versionJson: string, oldVersionJson: string) {
  const object = (version: string) => `{"apiVersion":"upgrade.cattle.io/v1","kind":"Plan","metadata":{"name":"k3s","namespace":"system-upgrade"},"spec":{"concurrency":1,"nodeSelector":{},"version":${version}}}`;
  const body = reviewBody({
    uid: 'u-1',
    kind: { group: 'upgrade.cattle.io', version: 'v1', kind: 'Plan' },
    resource: { group: 'upgrade.cattle.io', version: 'v1', resource: 'plans' },
    namespace: 'system-upgrade',
    name: 'k3s',
    operation: 'UPDATE',
    userInfo: { username: 'admin' },
    object: '@object@',
    oldObject: '@oldObject@',
  })
    .replace('"@object@"', () => object(versionJson))
    .replace('"@oldObject@"', () => object(oldVersionJson));
  const decoded = decodeAdmissionReviewBody(body);
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.request;
}

describe('upgrade validator on extreme input', () => {
  const model = new ClusterModel(VOLUME_SETS);
  model.setLonghornInstalled(true);
  const single = volumeWithReplicas('pvc-1', ['node-1'], { numberOfReplicas: 1 });
  model.upsert('longhornVolume', single.volume);
  for (const item of single.replicas) model.upsert('longhornReplica', item);
  model.upsert('longhornNode', longhornNode({ name: 'node-1' }));
  const deep = (depth: number, leaf: string) => `${'[{"a":'.repeat(depth)}${leaf}${'}]'.repeat(depth)}`;

  it('judges a rollout field nested 9,000 levels deep (the API server allows 10,000) instead of throwing', () => {
    // JSON.stringify overflowed the stack here, and the request was answered "internal error".
    const decision = validator.handle(planUpdate(deep(4_500, '"v2"'), deep(4_500, '"v1"')), context(model, { config }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.code).toBe(403);
    expect(decision.status?.message).toContain('single-replica');
  });

  it('sees no rollout when deep values are equal, or differ only in key order', () => {
    expect(validator.handle(planUpdate(deep(4_500, '"v1"'), deep(4_500, '"v1"')), context(model, { config })).allowed).toBe(true);
    expect(validator.handle(planUpdate('{"a":1,"b":[1,{"c":2}]}', '{"b":[1,{"c":2}],"a":1}'), context(model, { config })).allowed).toBe(true);
    expect(validator.handle(planUpdate('{"a":1,"b":[1,{"c":2}]}', '{"b":[1,{"c":3}],"a":1}'), context(model, { config })).allowed).toBe(false);
    expect(validator.handle(planUpdate('[1,2]', '[1,2,3]'), context(model, { config })).allowed).toBe(false);
    expect(validator.handle(planUpdate('{"a":null}', '{}'), context(model, { config })).allowed).toBe(false);
  });
});

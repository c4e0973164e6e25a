// An override that lets a request through is recorded three ways (auditAnnotations, the admission log line,
// volume_guard_overrides_total), whatever path honored it: the stale-model `skip: "*"` too.
import { afterEach, describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { ModelHealth } from '../../../src/cluster/snapshot.ts';
import { buildAdmissionApp } from '../../../src/server/app.ts';
import { createMetrics } from '../../../src/server/metrics.ts';
import { cordonRequest, reviewBody } from '../../support/admission.ts';
import { addNodeWithLocalPvInUse } from '../../support/fixtures.ts';
import { captureLog, registryOf, testConfig } from './server-fixtures.ts';

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

const SKIP = { 'volume-guard.io/skip-reason': 'INC-1', 'volume-guard.io/skip-by': 'admin' };

/** node-1 with a local PV in use (a cordon is refused) and the given override on it. */
function cluster(skip: Record<string, string>): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  addNodeWithLocalPvInUse(model, skip);
  return model;
}

async function cordon(skip: Record<string, string>, health: ModelHealth) {
  const model = cluster(skip);
  const metrics = createMetrics({ processMetrics: false });
  const captured = captureLog();
  const config = testConfig();
  const app = buildAdmissionApp({ config, registry: registryOf(nodeCordonValidator(config)), snapshot: model, health, metrics, log: captured.log });
  apps.push(app);
  const response = await app.inject({
    method: 'POST',
    url: '/validate/node-cordon',
    headers: { 'content-type': 'application/json' },
    payload: reviewBody(cordonRequest('node-1', skip)),
  });
  const body = response.json() as { response: { allowed: boolean; auditAnnotations?: Record<string, string> } };
  const counted = (await metrics.overrides.get()).values.reduce((sum, value) => sum + value.value, 0);
  const line = captured.lines.find((entry) => entry.msg === 'admission');
  return { body: body.response, counted, line };
}

describe('overrides recorded', () => {
  it('a skip=* honored while the model is stale: audited with its expiry, logged and counted', async () => {
    const stale: ModelHealth = { synced: () => true, staleResources: () => ['nodes', 'persistentvolumes'] };
    const skip = { ...SKIP, 'volume-guard.io/skip': '*', 'volume-guard.io/skip-until': '2999-01-01T00:00:00Z' };
    const { body, counted, line } = await cordon(skip, stale);
    expect(body.allowed).toBe(true);
    expect(body.auditAnnotations).toMatchObject({ 'overridden-checks': '*', 'override-writer': 'admin', 'override-until': '2999-01-01T00:00:00Z' });
    expect(counted).toBeGreaterThan(0);
    expect(line?.overrides).toContain('node-local-volume');
  });
});

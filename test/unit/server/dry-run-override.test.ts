// A dry run that an override lets through uses no override: volume_guard_overrides_total does not count it, and its
// audit annotations say `dry-run: "true"`, as the API server's audit event would otherwise read like a real
// eviction done under the override: `kubectl drain --dry-run=server` puts the eviction's dry run in its body
// (deleteOptions.dryRun), with no `?dryRun` in the URL.
import { afterEach, describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { buildAdmissionApp } from '../../../src/server/app.ts';
import { createMetrics } from '../../../src/server/metrics.ts';
import { evictionRequest, FRESH, reviewBody } from '../../support/admission.ts';
import { addNodeWithLocalPvInUse } from '../../support/fixtures.ts';
import { captureLog, registryOf, testConfig } from './server-fixtures.ts';

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

const SKIP = { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-reason': 'INC-1', 'volume-guard.io/skip-by': 'admin' };

async function evict(dryRunInBody: boolean) {
  const model = new ClusterModel(VOLUME_SETS);
  addNodeWithLocalPvInUse(model, SKIP);
  // node-1 is being drained.
  model.upsert('node', { ...model.node('node-1')!, unschedulable: true });
  const metrics = createMetrics({ processMetrics: false });
  const captured = captureLog();
  const config = testConfig();
  const app = buildAdmissionApp({ config, registry: registryOf(podEvictionValidator(config)), snapshot: model, health: FRESH, metrics, log: captured.log });
  apps.push(app);
  const eviction = evictionRequest('db-0');
  const object = { ...(eviction.object as object), ...(dryRunInBody ? { deleteOptions: { dryRun: ['All'] } } : {}) };
  const response = await app.inject({
    method: 'POST',
    url: '/validate/pod-eviction',
    headers: { 'content-type': 'application/json' },
    payload: reviewBody({ ...eviction, object }),
  });
  const body = response.json() as { response: { allowed: boolean; auditAnnotations?: Record<string, string> } };
  const counted = (await metrics.overrides.get()).values.reduce((sum, value) => sum + value.value, 0);
  return { body: body.response, counted, line: captured.lines.find((entry) => entry.msg === 'admission') };
}

describe('dry-run requests passed by an override', () => {
  it('kubectl drain --dry-run=server: the eviction is allowed by the node skip', async () => {
    const real = await evict(false);
    expect(real.body.allowed).toBe(true);
    expect(real.counted).toBeGreaterThan(0);
    expect(real.body.auditAnnotations?.['overridden-checks']).toBeDefined();
    expect(real.body.auditAnnotations?.['dry-run']).toBeUndefined();
    const dry = await evict(true);
    expect(dry.body.allowed).toBe(true);
    expect(dry.line?.dryRun).toBe(true);
    expect(dry.counted).toBe(0);
    expect(dry.body.auditAnnotations?.['overridden-checks']).toBe(real.body.auditAnnotations?.['overridden-checks']);
    expect(dry.body.auditAnnotations?.['dry-run']).toBe('true');
  });
});

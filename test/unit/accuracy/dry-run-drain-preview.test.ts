// `kubectl drain --dry-run=server` sends its cordon as a dry-run PATCH and each eviction with deleteOptions.dryRun
// [All] (or, with --disable-eviction, each DELETE with ?dryRun=All) (k8s.io/kubectl/pkg/drain: RunCordonOrUncordon(…,
// DryRunServer), makeDeleteOptions). The node stays schedulable, so an allowed dry-run cordon is recorded apart, for
// that user's dry-run evictions and DELETEs only: the preview answers as the real drain of the node cordoned, and no
// real request's answer changes.
import { afterEach, describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { podDeleteValidator } from '../../../src/admission/validators/pod-delete.ts';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { REFUSED_CORDON_TTL_MS } from '../../../src/cluster/pending-removals.ts';
import { buildAdmissionApp, type AdmissionApp } from '../../../src/server/app.ts';
import { createMetrics } from '../../../src/server/metrics.ts';
import { ALWAYS_SYNCED } from '../../support/empty-model.ts';
import { ALICE, cordonRequest, evictionRequest, request, reviewBody } from '../../support/admission.ts';
import { longhornNode, longhornSetting, node, pod, pv, pvc, replica, volume } from '../../support/fixtures.ts';
import { captureLog, registryOf, testConfig } from '../server/server-fixtures.ts';

const apps: AdmissionApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});
const config = testConfig();

/**
 * Nodes w1 and w2 under Longhorn's node-drain-policy block-for-eviction; app/db-0 on w1 uses `live`, whose only
 * replica is on w1. `shared` has a replica on each node: its copy on w2 protects w1's, unless w2 is cordoned.
 */
function serve(clock = { now: 0 }) {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS, now: () => clock.now });
  model.setLonghornInstalled(true);
  model.replaceAll('node', ['w1', 'w2'].map((name) => node({ name })));
  model.replaceAll('longhornNode', ['w1', 'w2'].map((name) => longhornNode({ name })));
  model.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
  model.upsert('longhornVolume', volume({ name: 'live', numberOfReplicas: 1, currentNodeID: 'w1', pvName: 'live', pvcNamespace: 'app', pvcName: 'db' }));
  model.upsert('longhornReplica', replica({ volumeName: 'live', nodeID: 'w1' }));
  model.upsert('persistentVolume', pv({ name: 'live', claimNamespace: 'app', claimName: 'db' }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: 'app', name: 'db', volumeName: 'live' }));
  model.upsert('pod', pod({ namespace: 'app', name: 'db-0', nodeName: 'w1', claimNames: ['db'], controllerKind: 'StatefulSet' }));
  const app = buildAdmissionApp({
    config,
    registry: registryOf(nodeCordonValidator(config), podEvictionValidator(config), podDeleteValidator(config)),
    snapshot: model,
    health: ALWAYS_SYNCED,
    removals: model,
    metrics: createMetrics({ processMetrics: false }),
    log: captureLog().log,
  });
  apps.push(app);
  return { model, app, clock };
}

async function answer(app: AdmissionApp, target: string, review: AdmissionRequest): Promise<{ allowed: boolean; message: string }> {
  const response = await app.inject({ method: 'POST', url: `/validate/${target}`, headers: { 'content-type': 'application/json' }, payload: reviewBody(review) });
  const body = response.json<{ response: { allowed: boolean; status?: { message: string } } }>();
  return { allowed: body.response.allowed, message: body.response.status?.message ?? '' };
}

const dryRunCordon = (name: string, user = cordonRequest(name).userInfo): AdmissionRequest => ({ ...cordonRequest(name, {}, user), dryRun: true });

/** The eviction as kubectl drain --dry-run=server sends it: the dry run in the body only. */
function dryRunEviction(name: string, user = evictionRequest(name).userInfo): AdmissionRequest {
  const base = evictionRequest(name, { namespace: 'app', user });
  return { ...base, object: { ...(base.object as object), deleteOptions: { dryRun: ['All'] } } };
}

describe('kubectl drain --dry-run=server previews the real drain', () => {
  it('control: the real drain (cordon, then eviction) is allowed with the block-for-eviction warning', async () => {
    const { app, model } = serve();
    expect((await answer(app, 'node-cordon', cordonRequest('w1'))).allowed).toBe(true);
    model.upsert('node', node({ name: 'w1', unschedulable: true }));
    expect((await answer(app, 'pod-eviction', evictionRequest('db-0', { namespace: 'app' }))).allowed).toBe(true);
  });

  it('its cordon is allowed, so are its evictions: Longhorn moves the last copies off the node cordoned', async () => {
    const { app } = serve();
    expect((await answer(app, 'node-cordon', dryRunCordon('w1'))).allowed).toBe(true);
    const eviction = await answer(app, 'pod-eviction', dryRunEviction('db-0'));
    expect(eviction.message).toBe('');
    expect(eviction.allowed).toBe(true);
  });

  it('a real eviction after it is judged on the node as it is: schedulable, the last copy refuses it', async () => {
    const { app } = serve();
    expect((await answer(app, 'node-cordon', dryRunCordon('w1'))).allowed).toBe(true);
    const eviction = await answer(app, 'pod-eviction', evictionRequest('db-0', { namespace: 'app' }));
    expect(eviction.allowed).toBe(false);
    expect(eviction.message).toContain('[last-replica-on-node]');
  });

  it("another user's dry-run eviction is not the preview's, nor one past the window", async () => {
    const { app, clock } = serve();
    expect((await answer(app, 'node-cordon', dryRunCordon('w1'))).allowed).toBe(true);
    expect((await answer(app, 'pod-eviction', dryRunEviction('db-0', ALICE))).allowed).toBe(false);
    clock.now += REFUSED_CORDON_TTL_MS + 1;
    expect((await answer(app, 'pod-eviction', dryRunEviction('db-0'))).allowed).toBe(false);
  });

  it("the dry-run cordon of another node never counts in a real cordon's copies", async () => {
    const { app, model } = serve();
    model.upsert('longhornVolume', volume({ name: 'shared', numberOfReplicas: 2, currentNodeID: 'w1' }));
    model.upsert('longhornReplica', replica({ volumeName: 'shared', nodeID: 'w1' }));
    model.upsert('longhornReplica', replica({ volumeName: 'shared', nodeID: 'w2' }));
    model.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-if-contains-last-replica'));
    expect((await answer(app, 'node-cordon', dryRunCordon('w2'))).allowed).toBe(true);
    // `live` (its only copy on w1) refuses the cordon of w1 all the same; `shared` is not named: w2 still holds a copy.
    const cordon = await answer(app, 'node-cordon', cordonRequest('w1'));
    expect(cordon.allowed).toBe(false);
    expect(cordon.message).toContain('live');
    expect(cordon.message).not.toContain('shared');
    // Control: w2 cordoned for real (`kubectl drain w1 w2` cordons both first), its copy no longer counts.
    model.allowCordon('w2');
    expect((await answer(app, 'node-cordon', cordonRequest('w1'))).message).toContain('shared');
  });
});

/** kubectl drain --disable-eviction's DELETE of app/db-0 (dry run: ?dryRun=All, so request.dryRun). */
function podDelete(dryRun: boolean): AdmissionRequest {
  return request({
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'DELETE',
    namespace: 'app',
    name: 'db-0',
    dryRun,
    oldObject: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'db-0', namespace: 'app', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u', controller: true }] },
      spec: { nodeName: 'w1', volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'db' } }] },
      status: { phase: 'Running' },
    },
  });
}

describe('kubectl drain --disable-eviction --dry-run=server previews the real drain', () => {
  it('control: the real drain DELETE of db-0 is refused (no PodDisruptionBudget holds a DELETE)', async () => {
    const { app, model } = serve();
    expect((await answer(app, 'node-cordon', cordonRequest('w1'))).allowed).toBe(true);
    model.upsert('node', node({ name: 'w1', unschedulable: true }));
    expect((await answer(app, 'pod-delete', podDelete(false))).allowed).toBe(false);
  });

  it('the preview refuses it too', async () => {
    const { app } = serve();
    expect((await answer(app, 'node-cordon', dryRunCordon('w1'))).allowed).toBe(true);
    const deletion = await answer(app, 'pod-delete', podDelete(true));
    expect(deletion.allowed).toBe(false);
    expect(deletion.message).toContain('deletion of pod app/db-0 on node w1 (being drained)');
  });

  it('a real DELETE after the dry-run cordon is a restart of a pod on a schedulable node: it passes', async () => {
    const { app } = serve();
    expect((await answer(app, 'node-cordon', dryRunCordon('w1'))).allowed).toBe(true);
    expect((await answer(app, 'pod-delete', podDelete(false))).allowed).toBe(true);
  });
});

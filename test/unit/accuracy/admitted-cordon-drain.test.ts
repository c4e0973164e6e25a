// kubectl drain deletes or evicts right after its cordon is admitted, before the Node informer shows the node
// unschedulable: a cordon volume-guard has just admitted counts as one (ClusterSnapshot.nodeCordoned), so a
// `--disable-eviction` DELETE then is judged as a drain's, not passed as a restart.
import { afterEach, describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { podDeleteValidator } from '../../../src/admission/validators/pod-delete.ts';
import type { AdmissionRequest } from '../../../src/admission/types.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { buildAdmissionApp, type AdmissionApp } from '../../../src/server/app.ts';
import { createMetrics } from '../../../src/server/metrics.ts';
import { ALWAYS_SYNCED } from '../../support/empty-model.ts';
import { cordonRequest, request, reviewBody } from '../../support/admission.ts';
import { longhornNode, longhornSetting, node, pod, pv, pvc, replica, volume } from '../../support/fixtures.ts';
import { captureLog, registryOf, testConfig } from '../server/server-fixtures.ts';

const apps: AdmissionApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});
const config = testConfig();

function serve() {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
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
  return { model, app };
}

async function answer(app: AdmissionApp, target: string, review: AdmissionRequest): Promise<{ allowed: boolean; message: string }> {
  const response = await app.inject({ method: 'POST', url: `/validate/${target}`, headers: { 'content-type': 'application/json' }, payload: reviewBody(review) });
  const body = response.json<{ response: { allowed: boolean; status?: { message: string } } }>();
  return { allowed: body.response.allowed, message: body.response.status?.message ?? '' };
}

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

describe('kubectl drain --disable-eviction right after its cordon', () => {
  it('control: the real drain DELETE of db-0 is refused (no PodDisruptionBudget holds a DELETE)', async () => {
    const { app, model } = serve();
    expect((await answer(app, 'node-cordon', cordonRequest('w1'))).allowed).toBe(true);
    model.upsert('node', node({ name: 'w1', unschedulable: true }));
    expect((await answer(app, 'pod-delete', podDelete(false))).allowed).toBe(false);
  });
  it('right after the admitted cordon, before the Node informer shows it, the same DELETE is refused too', async () => {
    const { app } = serve();
    expect((await answer(app, 'node-cordon', cordonRequest('w1'))).allowed).toBe(true);
    expect((await answer(app, 'pod-delete', podDelete(false))).allowed).toBe(false);
  });
});

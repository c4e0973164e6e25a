// The admission server records what a request removes once its final answer allows it, never for a dry run, so the
// next DELETE of the same command is judged with it gone (src/cluster/pending-removals.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { storageTeardownValidator } from '../../../src/admission/validators/storage-teardown.ts';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { LonghornReplicaRecord } from '../../../src/cluster/records.ts';
import { buildAdmissionApp, type AdmissionApp } from '../../../src/server/app.ts';
import { createMetrics } from '../../../src/server/metrics.ts';
import { ALWAYS_SYNCED } from '../../support/empty-model.ts';
import { ADMIN, cordonRequest, NODE_KIND, request, reviewBody, statefulSetDeleteRequest } from '../../support/admission.ts';
import { localPV, longhornNode, namespace, node, pv, pvc, replica, statefulSet, volume } from '../../support/fixtures.ts';
import { captureLog, registryOf, testConfig } from './server-fixtures.ts';

const apps: AdmissionApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

const config = testConfig();

/** Volume `v` with a healthy replica on w1 and on w2, behind an admission server recording into the model. */
function serve() {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  model.replaceAll('node', ['w1', 'w2'].map((name) => node({ name })));
  model.replaceAll('longhornNode', ['w1', 'w2'].map((name) => longhornNode({ name })));
  model.upsert('longhornVolume', volume({ name: 'v', numberOfReplicas: 2 }));
  for (const nodeID of ['w1', 'w2']) model.upsert('longhornReplica', replica({ volumeName: 'v', nodeID }));
  const app = buildAdmissionApp({
    config,
    registry: registryOf(storageTeardownValidator(config), nodeCordonValidator(config), pvcDeleteValidator(config)),
    snapshot: model,
    health: ALWAYS_SYNCED,
    removals: model,
    metrics: createMetrics({ processMetrics: false }),
    log: captureLog().log,
  });
  apps.push(app);
  return { model, app };
}

const REPLICAS = { kind: { group: 'longhorn.io', version: 'v1beta2', kind: 'Replica' }, resource: { group: 'longhorn.io', version: 'v1beta2', resource: 'replicas' } };

function replicaDelete(r: LonghornReplicaRecord, fields: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return request({
    ...REPLICAS,
    operation: 'DELETE',
    namespace: r.namespace,
    name: r.name,
    oldObject: {
      apiVersion: 'longhorn.io/v1beta2',
      kind: 'Replica',
      metadata: { name: r.name, namespace: r.namespace },
      spec: { volumeName: r.volumeName, nodeID: r.nodeID, diskID: r.diskID, healthyAt: r.healthyAt, failedAt: r.failedAt, desireState: r.desireState },
      status: { currentState: r.currentState },
    },
    ...fields,
  });
}

function nodeDelete(name: string, annotations: Record<string, string> = {}, fields: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return request({ ...NODE_KIND, operation: 'DELETE', name, oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name, annotations } }, ...fields });
}

async function answer(app: AdmissionApp, target: string, review: AdmissionRequest): Promise<{ allowed: boolean; message: string }> {
  const response = await app.inject({ method: 'POST', url: `/validate/${target}`, headers: { 'content-type': 'application/json' }, payload: reviewBody(review) });
  const body = response.json<{ response: { allowed: boolean; status?: { message: string } } }>();
  return { allowed: body.response.allowed, message: body.response.status?.message ?? '' };
}

const r1 = replica({ volumeName: 'v', nodeID: 'w1' });
const r2 = replica({ volumeName: 'v', nodeID: 'w2' });

describe('removals admitted one after the other', () => {
  it('refuses the second Replica DELETE of one command, naming the volume', async () => {
    const { app } = serve();
    expect((await answer(app, 'storage-teardown', replicaDelete(r1))).allowed).toBe(true);
    const second = await answer(app, 'storage-teardown', replicaDelete(r2));
    expect(second.allowed).toBe(false);
    expect(second.message).toContain(`deletion of Longhorn replica longhorn-system/${r2.name}`);
    expect(second.message).toContain('longhorn-system/v');
  });

  it('records nothing for a dry run', async () => {
    const { app, model } = serve();
    expect((await answer(app, 'storage-teardown', replicaDelete(r1, { dryRun: true }))).allowed).toBe(true);
    expect(model.internalSizes()['pendingRemovals']).toBe(0);
    expect((await answer(app, 'storage-teardown', replicaDelete(r2))).allowed).toBe(true);
  });

  it('records nothing for a refused DELETE', async () => {
    const { app, model } = serve();
    // r1 taken by Longhorn already (the informer shows it being deleted): r2 is the last copy, refused.
    model.upsert('longhornReplica', { ...r1, deleting: true });
    expect((await answer(app, 'storage-teardown', replicaDelete(r2))).allowed).toBe(false);
    expect(model.internalSizes()['pendingRemovals']).toBe(0);
    expect(model.replicasOfVolume('v').find((r) => r.name === r2.name)?.deleting).toBe(false);
  });

  it('records a DELETE allowed by an override', async () => {
    const { app, model } = serve();
    model.upsert('longhornReplica', { ...r1, deleting: true });
    model.upsert('namespace', namespace({ name: 'longhorn-system', annotations: { 'volume-guard.io/skip': 'storage-teardown', 'volume-guard.io/skip-by': 'admin' } }));
    expect((await answer(app, 'storage-teardown', replicaDelete(r2))).allowed).toBe(true);
    expect(model.internalSizes()['pendingRemovals']).toBe(1);
  });

  it('refuses the second Node DELETE of `kubectl delete node w1 w2`', async () => {
    const { app, model } = serve();
    expect((await answer(app, 'node-cordon', nodeDelete('w1', {}, { dryRun: true }))).allowed).toBe(true);
    expect(model.nodeLeaving('w1')).toBeUndefined();
    expect((await answer(app, 'node-cordon', nodeDelete('w1'))).allowed).toBe(true);
    expect(model.nodeLeaving('w1')).toBe('deleted');
    const second = await answer(app, 'node-cordon', nodeDelete('w2'));
    expect(second.allowed).toBe(false);
    expect(second.message).toContain('deletion of node w2');
    expect(second.message).toContain('on node w1, which is being deleted');
    // The refused one is not recorded: w1's retry still counts w2's copy.
    expect(model.nodeLeaving('w2')).toBeUndefined();
    expect((await answer(app, 'node-cordon', nodeDelete('w1'))).allowed).toBe(true);
  });
});

describe('StatefulSet DELETEs admitted one after the other', () => {
  const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
  const a = statefulSet({ namespace: 'shop', name: 'a' });
  const b = statefulSet({ namespace: 'shop', name: 'b' });

  /** A Bound PVC (PV reclaim Delete) owned by StatefulSets a and b, behind the server. */
  function shared() {
    const served = serve();
    served.model.upsert('statefulSet', a);
    served.model.upsert('statefulSet', b);
    served.model.upsert('persistentVolume', pv({ name: 'pv-data', claimNamespace: 'shop', claimName: 'data', reclaimPolicy: 'Delete' }));
    const owners = [a, b].map((s) => ({ kind: 'StatefulSet', name: s.name, uid: s.uid }));
    served.model.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name: 'data', volumeName: 'pv-data', ownerReferences: owners }));
    return served;
  }

  const stsDelete = (s: typeof a, fields: Partial<AdmissionRequest> = {}, user = ARGO, options?: Record<string, unknown>): AdmissionRequest => ({
    ...statefulSetDeleteRequest({ namespace: s.namespace, name: s.name, uid: s.uid, user, whenDeleted: 'Delete', ...(options ? { options } : {}) }),
    ...fields,
  });

  it('refuses the second of `kubectl delete sts a b`, naming the PVC they share', async () => {
    const { app } = shared();
    expect((await answer(app, 'pvc-delete', stsDelete(a))).allowed).toBe(true);
    const second = await answer(app, 'pvc-delete', stsDelete(b));
    expect(second.allowed).toBe(false);
    expect(second.message).toContain('deletion of StatefulSet shop/b');
    expect(second.message).toContain('PVC shop/data (PV pv-data): deleted with StatefulSet shop/b');
  });

  it('records nothing for a dry run, and the other stays an owner', async () => {
    const { app, model } = shared();
    expect((await answer(app, 'pvc-delete', stsDelete(a, { dryRun: true }))).allowed).toBe(true);
    expect(model.internalSizes()['pendingRemovals']).toBe(0);
    expect((await answer(app, 'pvc-delete', stsDelete(b))).allowed).toBe(true);
  });

  it('records an orphaning DELETE and one by a person (whose deletes pass by default): the owner goes all the same', async () => {
    const { app, model } = shared();
    expect((await answer(app, 'pvc-delete', stsDelete(a, {}, ARGO, { propagationPolicy: 'Orphan' }))).allowed).toBe(true);
    expect(model.deletionAdmitted(a.uid)).toBe(true);
    expect((await answer(app, 'pvc-delete', stsDelete(b))).allowed).toBe(false);
    const again = shared();
    expect((await answer(again.app, 'pvc-delete', stsDelete(a, {}, { username: 'jane', groups: [] }))).allowed).toBe(true);
    expect((await answer(again.app, 'pvc-delete', stsDelete(b))).allowed).toBe(false);
  });
});

describe('refused cordons (kubectl drain goes on with the pods of the still schedulable node)', () => {
  /** serve() with a local PV on w1 bound to default/db-data: the cordon of w1 is refused, that of w2 allowed. */
  function serveWithLocalData() {
    const served = serve();
    served.model.upsert('persistentVolume', localPV({ name: 'pv-w1', pinnedNode: 'w1', claimName: 'db-data' }));
    served.model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-w1' }));
    return served;
  }

  it("records the refusal of a cordon with its user, so that that user's pod DELETEs that follow are judged as a drain", async () => {
    const { app, model } = serveWithLocalData();
    expect(model.cordonRefused('w1', ADMIN.username)).toBe(false);
    expect((await answer(app, 'node-cordon', cordonRequest('w1'))).allowed).toBe(false);
    expect(model.cordonRefused('w1', ADMIN.username)).toBe(true);
    expect(model.cordonRefused('w1', 'system:serviceaccount:kube-system:statefulset-controller')).toBe(false);
    expect(model.cordonRefused('w2', ADMIN.username)).toBe(false);
  });

  it('keeps a refused dry run apart (for dry-run DELETEs only), records nothing for an allowed cordon; an allowed cordon ends a refusal', async () => {
    const { app, model } = serveWithLocalData();
    expect((await answer(app, 'node-cordon', { ...cordonRequest('w1'), dryRun: true })).allowed).toBe(false);
    expect(model.cordonRefused('w1', ADMIN.username)).toBe(false);
    // `kubectl drain --dry-run=server`: its dry-run DELETEs are judged as the real drain's would be.
    expect(model.cordonRefused('w1', ADMIN.username, true)).toBe(true);
    expect((await answer(app, 'node-cordon', cordonRequest('w2'))).allowed).toBe(true);
    expect(model.cordonRefused('w2', ADMIN.username)).toBe(false);
    // Refused, then allowed with the node's override (and uncordoned later): its pods' DELETEs are restarts again.
    expect((await answer(app, 'node-cordon', cordonRequest('w1'))).allowed).toBe(false);
    expect(model.cordonRefused('w1', ADMIN.username)).toBe(true);
    const skip = { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': ADMIN.username };
    expect((await answer(app, 'node-cordon', cordonRequest('w1', skip))).allowed).toBe(true);
    expect(model.cordonRefused('w1', ADMIN.username)).toBe(false);
    expect(model.cordonRefused('w1', ADMIN.username, true)).toBe(false);
  });

  it("keeps an allowed dry run apart, for its user's dry runs (kubectl drain --dry-run=server), until a later answer", async () => {
    const { app, model } = serveWithLocalData();
    expect((await answer(app, 'node-cordon', { ...cordonRequest('w2'), dryRun: true })).allowed).toBe(true);
    expect(model.dryRunCordonAllowed('w2', ADMIN.username)).toBe(true);
    expect(model.dryRunCordonAllowed('w2', 'alice')).toBe(false);
    // Not cordoned for any other request: the node stays schedulable.
    expect(model.nodeCordoned('w2')).toBe(false);
    // A refused dry run of w1, then allowed (the node's override added): the preview's latest answer counts.
    expect((await answer(app, 'node-cordon', { ...cordonRequest('w1'), dryRun: true })).allowed).toBe(false);
    expect(model.dryRunCordonAllowed('w1', ADMIN.username)).toBe(false);
    const skip = { 'volume-guard.io/skip': '*', 'volume-guard.io/skip-by': ADMIN.username };
    expect((await answer(app, 'node-cordon', { ...cordonRequest('w1', skip), dryRun: true })).allowed).toBe(true);
    expect(model.dryRunCordonAllowed('w1', ADMIN.username)).toBe(true);
    expect(model.cordonRefused('w1', ADMIN.username, true)).toBe(false);
  });
});

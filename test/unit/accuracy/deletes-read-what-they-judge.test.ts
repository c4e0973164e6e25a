// Deletions judged on what the model says of other resources wait for that view to be fresh: a Longhorn Volume
// DELETE passed as "never held data" reads the volume's replicas, a Replica DELETE reads whether the nodes of the
// other copies are being removed (their Cluster API Machines). A stale informer there makes the answer unknown.
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, UserInfo } from '../../../src/admission/types.ts';
import { pvcDeleteValidator } from '../../../src/admission/validators/pvc-delete.ts';
import { storageTeardownValidator } from '../../../src/admission/validators/storage-teardown.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { RESOURCE_SPECS, resourceLabel } from '../../../src/cluster/resources.ts';
import type { ResourceKind } from '../../../src/cluster/records.ts';
import type { ModelHealth } from '../../../src/cluster/snapshot.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { longhornNode, machine, node, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();
const ARGO: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts'] };
const VOLUME_KIND = { kind: { group: 'longhorn.io', version: 'v1beta2', kind: 'Volume' }, resource: { group: 'longhorn.io', version: 'v1beta2', resource: 'volumes' } };
const REPLICA_KIND = { kind: { group: 'longhorn.io', version: 'v1beta2', kind: 'Replica' }, resource: { group: 'longhorn.io', version: 'v1beta2', resource: 'replicas' } };

/** A synced model whose informer of `kind` is stale. */
const staleOf = (kind: ResourceKind): ModelHealth => ({ synced: () => true, staleResources: () => [resourceLabel(RESOURCE_SPECS[kind])] });

/** An Argo CD prune of Longhorn volume vol-db, as stored: `status` (attached and healthy unless given). */
function volumeDelete(status: Record<string, unknown> = { state: 'attached', robustness: 'healthy', currentNodeID: 'node-1' }): AdmissionRequest {
  return request({
    ...VOLUME_KIND, operation: 'DELETE', namespace: 'longhorn-system', name: 'vol-db', userInfo: ARGO,
    oldObject: {
      apiVersion: 'longhorn.io/v1beta2', kind: 'Volume', metadata: { name: 'vol-db', namespace: 'longhorn-system' },
      spec: { numberOfReplicas: 1 },
      status: { ...status, kubernetesStatus: { pvName: 'pv-db', namespace: 'shop', pvcName: 'data-db-0' } },
    },
  });
}

/** Volume vol-db as the model last saw it: created, its replica not yet used by an engine (no healthyAt). */
function unusedVolume(): ClusterModel {
  const m = new ClusterModel(VOLUME_SETS);
  m.setLonghornInstalled(true);
  m.upsert('node', node({ name: 'node-1' }));
  m.upsert('longhornNode', longhornNode({ name: 'node-1' }));
  m.upsert('longhornVolume', volume({ name: 'vol-db', numberOfReplicas: 1, state: 'detached', robustness: 'unknown', currentNodeID: '' }));
  m.upsert('longhornReplica', replica({ volumeName: 'vol-db', nodeID: 'node-1', healthyAt: '', currentState: 'stopped', desireState: 'stopped' }));
  return m;
}

describe('a Longhorn Volume DELETE reads the replicas it judges by', () => {
  const pvcDelete = pvcDeleteValidator(config);

  it('answers by the stale policy when the replicas that say "never held data" are stale', () => {
    const decision = pvcDelete.handle(volumeDelete(), context(unusedVolume(), { health: staleOf('longhornReplica') }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message ?? '').toContain('stale');
  });

  it('answers by the stale policy when the volumes are stale', () => {
    const decision = pvcDelete.handle(volumeDelete({ state: 'detached', robustness: 'unknown' }), context(unusedVolume(), { health: staleOf('longhornVolume') }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message ?? '').toContain('stale');
  });

  it('refuses a volume the request shows in use, whatever its replicas say', () => {
    const m = unusedVolume();
    // Attached, attaching, detaching or healthy/degraded (an engine ran on its replicas): their healthyAt may lag.
    for (const status of [
      { state: 'attached', robustness: 'healthy', currentNodeID: 'node-1' },
      { state: 'attaching', robustness: 'unknown', currentNodeID: 'node-1' },
      { state: 'detaching', robustness: 'unknown', currentNodeID: 'node-1' },
      { state: 'detached', robustness: 'degraded', currentNodeID: '' },
    ]) {
      expect(pvcDelete.handle(volumeDelete(status), context(m)).allowed, JSON.stringify(status)).toBe(false);
    }
    // Detached, robustness unknown, as Longhorn reports a volume never attached: nothing to lose.
    const decision = pvcDelete.handle(volumeDelete({ state: 'detached', robustness: 'unknown', currentNodeID: '' }), context(m));
    expect(decision.status?.message ?? '').toBe('');
    expect(decision.allowed).toBe(true);
  });
});

describe('a Replica DELETE reads the Cluster API Machines it judges by', () => {
  // collectReplicaDeletion counts no copy on a node being removed with its disks (snapshot.nodeLeaving: its Machine
  // being deleted). With the Machines stale, a Machine deletion not seen yet leaves the copy there counted.
  function twoCopies(): ClusterModel {
    const m = new ClusterModel(VOLUME_SETS);
    m.setLonghornInstalled(true);
    for (const name of ['node-1', 'node-2']) {
      m.upsert('node', node({ name }));
      m.upsert('longhornNode', longhornNode({ name }));
    }
    m.upsert('machine', machine({ name: 'machine-2', nodeName: 'node-2' }));
    m.upsert('longhornVolume', volume({ name: 'vol-1', numberOfReplicas: 2 }));
    m.upsert('longhornReplica', replica({ volumeName: 'vol-1', nodeID: 'node-1' }));
    m.upsert('longhornReplica', replica({ volumeName: 'vol-1', nodeID: 'node-2' }));
    return m;
  }
  const del = request({
    ...REPLICA_KIND, operation: 'DELETE', namespace: 'longhorn-system', name: 'vol-1-r-node-1', userInfo: ARGO,
    oldObject: {
      apiVersion: 'longhorn.io/v1beta2', kind: 'Replica', metadata: { name: 'vol-1-r-node-1', namespace: 'longhorn-system' },
      spec: { volumeName: 'vol-1', nodeID: 'node-1', diskID: 'disk-node-1', healthyAt: '2024-05-01T10:00:00Z', failedAt: '' },
      status: { currentState: 'running' },
    },
  });

  it('answers by the stale policy when the Machines are stale', () => {
    const m = twoCopies();
    expect(storageTeardownValidator(config).handle(del, context(m)).allowed).toBe(true);
    const decision = storageTeardownValidator(config).handle(del, context(m, { health: staleOf('machine') }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message ?? '').toContain('stale');
    // Fresh, with the Machine's deletion seen: refused, the copy on node-2 goes with its node.
    m.upsert('machine', machine({ name: 'machine-2', nodeName: 'node-2', deleting: true }));
    expect(storageTeardownValidator(config).handle(del, context(m)).allowed).toBe(false);
  });
});

// An eviction of a pod whose Node object is gone, judged against what kube-controller-manager does with that pod:
// the pod garbage collector (pkg/controller/podgc, gcOrphaned) puts every pod bound to a node name that no longer
// exists in quarantine (quarantineTime, 40 s), reads the node once more from the API server, and then force-deletes
// the pod (grace period 0, condition DisruptionTarget "DeletionByPodGC"), as pod-garbage-collector, whose DELETEs
// pass. So the pod goes whatever the eviction is answered, and its data stays where it was (a local PV's on the
// node's disks, pinned there; a Longhorn volume's replicas): refusing the eviction keeps nothing. The pod DELETE of
// the same pod already passes (pod-delete.ts); the eviction now agrees. The data itself was judged when the Node
// was deleted (a removal: node-local PVs, hostPath data, the Longhorn checks).
// While the view of the nodes is stale, the node may be one volume-guard has not seen yet: the stale-model answer,
// as for the DELETE. The same while the view of the pods is stale: the record may be of an earlier pod of that name
// (a StatefulSet's pod recreated on a live node).
import { describe, expect, it } from 'vitest';
import type { ModelHealth } from '../../../src/cluster/snapshot.ts';
import type { UserInfo } from '../../../src/admission/types.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { podDeleteValidator } from '../../../src/admission/validators/pod-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformPod } from '../../../src/cluster/transforms.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { ADMIN, context, evictionRequest, request } from '../../support/admission.ts';
import { localPV, node, pvc } from '../../support/fixtures.ts';

const config = defaultConfig();
const DESCHEDULER: UserInfo = { username: 'system:serviceaccount:kube-system:descheduler', groups: ['system:serviceaccounts'] };
const withRestarters: Config = { ...config, evictions: { restartUsers: [DESCHEDULER.username], restartGroups: [] } };

const RAW_POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'db-0', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u', controller: true }] },
  spec: {
    nodeName: 'node-1',
    containers: [{ name: 'c', volumeMounts: [{ name: 'd', mountPath: '/d' }] }],
    volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'db-data' } }],
  },
  status: { phase: 'Running' },
};

/** db-0 runs on node-1 with a local PV pinned there; node-1's Node object is gone, node-2 remains. */
function cluster(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('node', node({ name: 'node-2' }));
  model.upsert('persistentVolume', localPV({ name: 'pv-db', pinnedNode: 'node-1', claimName: 'db-data' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'db-data', volumeName: 'pv-db' }));
  model.upsert('pod', transformPod(RAW_POD)!);
  return model;
}

const staleOf = (...resources: string[]): ModelHealth => ({ synced: () => true, staleResources: () => resources });

const evict = (options: { user?: UserInfo; cfg?: Config; health?: ModelHealth } = {}) =>
  podEvictionValidator(options.cfg ?? config).handle(
    evictionRequest('db-0', { user: options.user ?? ADMIN }),
    context(cluster(), { config: options.cfg ?? config, ...(options.health ? { health: options.health } : {}) }),
  );

const deletePod = () =>
  podDeleteValidator(config).handle(
    request({
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'DELETE',
      namespace: 'default',
      name: 'db-0',
      userInfo: ADMIN,
      oldObject: RAW_POD,
    }),
    context(cluster()),
  );

describe('eviction of a pod whose Node object is gone', () => {
  it('passes, as the DELETE of the same pod does: the pod garbage collector deletes it anyway', () => {
    expect(deletePod().allowed).toBe(true);
    const decision = evict();
    expect(decision.status?.message).toBeUndefined();
    expect(decision.allowed).toBe(true);
  });

  it('passes for a restart identity too (the descheduler): nothing it keeps would stay', () => {
    expect(evict({ user: DESCHEDULER, cfg: withRestarters }).allowed).toBe(true);
  });

  it('gets the stale-model answer while the view of the nodes is stale (the node may be one not seen yet)', () => {
    const decision = evict({ health: staleOf('nodes') });
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('stale');
  });

  it('gets the stale-model answer while the view of the pods is stale (the record may be of an earlier pod of that name)', () => {
    const decision = evict({ health: staleOf('pods') });
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('stale');
  });

  it('still refuses the eviction of that pod while its node exists and is being drained', () => {
    const model = cluster();
    model.upsert('node', node({ name: 'node-1', unschedulable: true }));
    expect(podEvictionValidator(config).handle(evictionRequest('db-0'), context(model)).allowed).toBe(false);
  });
});

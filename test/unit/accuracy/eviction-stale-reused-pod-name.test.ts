// An eviction names its pod (namespace and name), never its uid, and a name outlives its pod: the StatefulSet
// controller deletes a Failed pod and recreates it under the same name, on the same claims, and recreates a deleted
// one the same way; a bare pod is recreated under its name by whatever made it. While the pods view is stale
// (model.maxStalenessSeconds), the model's record of the name, shown being deleted or finished, may be such an earlier
// pod and the live one its replacement on a local PV: the answer reads the pods and gets the stale-model answer.
// Pods of a ReplicaSet, Job or DaemonSet get generated names (a new pod never takes an old one's): their records
// are what the eviction is about, as before. A pod DELETE carries the pod itself (its oldObject): nothing earlier.
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { podDeleteValidator } from '../../../src/admission/validators/pod-delete.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { ModelHealth } from '../../../src/cluster/snapshot.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, context, evictionRequest, request } from '../../support/admission.ts';
import { localPV, node, pod, pvc } from '../../support/fixtures.ts';

const config = defaultConfig();
const validator = podEvictionValidator(config);
const stalePods: ModelHealth = { synced: () => true, staleResources: () => ['pods'] };
const staleLonghorn: ModelHealth = { synced: () => true, staleResources: () => ['volumes.longhorn.io'] };

/** node-1 holds local PV pv-local of claim data-db-0 (StatefulSet db's ordinal 0). */
function cluster(unschedulable: boolean): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS);
  model.upsert('node', node({ name: 'node-1', unschedulable }));
  model.upsert('node', node({ name: 'node-2' }));
  model.upsert('persistentVolume', localPV({ name: 'pv-local', pinnedNode: 'node-1', claimName: 'data-db-0' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'data-db-0', volumeName: 'pv-local' }));
  return model;
}

describe('a stale pods view whose record of the name is the live pod', () => {
  it('the running db-0 with a local PV is refused (fresh)', () => {
    const model = cluster(false);
    model.upsert('pod', pod({ name: 'db-0', controllerKind: 'StatefulSet', claimNames: ['data-db-0'] }));
    expect(validator.handle(evictionRequest('db-0'), context(model)).allowed).toBe(false);
  });

  it('a stale record of a running db-0 with claims is refused as stale', () => {
    const model = cluster(false);
    model.upsert('pod', pod({ name: 'db-0', controllerKind: 'StatefulSet', claimNames: ['data-db-0'] }));
    const decision = validator.handle(evictionRequest('db-0'), context(model, { health: stalePods }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('stale');
  });
});

describe('a stale record of the name being deleted', () => {
  it('does not pass the eviction of the StatefulSet pod recreated under its name on the local PV', () => {
    // Its last db-0 was being deleted (a rollout, an earlier eviction); the StatefulSet controller has long since
    // recreated db-0 on the same local PV (grace period 30 s, the bound 120 s).
    const model = cluster(false);
    model.upsert('pod', pod({ name: 'db-0', controllerKind: 'StatefulSet', claimNames: ['data-db-0'], deleting: true }));
    expect(validator.handle(evictionRequest('db-0'), context(model)).allowed).toBe(true);
    const decision = validator.handle(evictionRequest('db-0'), context(model, { health: stalePods }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('stale');
  });

  it('nor that of a bare pod of the name', () => {
    const model = cluster(false);
    model.upsert('pod', pod({ name: 'scratch', claimNames: ['data-db-0'], deleting: true }));
    expect(validator.handle(evictionRequest('scratch'), context(model)).allowed).toBe(true);
    expect(validator.handle(evictionRequest('scratch'), context(model, { health: stalePods })).allowed).toBe(false);
  });

  it('on a node being drained: gets the stale answer, not the pass of a terminating pod (unused local PV on the node)', () => {
    const model = cluster(true);
    // pv-local's claim is mounted by no pod the model knows: data at rest that refuses every eviction of the drain.
    model.upsert('pod', pod({ name: 'web-0', controllerKind: 'StatefulSet', deleting: true }));
    expect(validator.handle(evictionRequest('web-0'), context(model)).allowed).toBe(true);
    const decision = validator.handle(evictionRequest('web-0'), context(model, { health: stalePods }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('stale');
  });

  it('a ReplicaSet pod being deleted still passes: its name is generated, never reused', () => {
    const model = cluster(false);
    model.upsert('pod', pod({ name: 'web-5c8-q1', controllerKind: 'ReplicaSet', claimNames: ['data-db-0'], deleting: true }));
    expect(validator.handle(evictionRequest('web-5c8-q1'), context(model, { health: stalePods })).allowed).toBe(true);
  });

  it("nor that of an operator's pod of the name (CloudNativePG recreates cluster-1 on its claim)", () => {
    const model = cluster(false);
    model.upsert('pod', pod({ name: 'pg-1', controllerKind: 'Cluster', claimNames: ['data-db-0'], deleting: true }));
    expect(validator.handle(evictionRequest('pg-1'), context(model, { health: stalePods })).allowed).toBe(false);
  });

  it("a static pod's mirror being deleted still passes: its successor is the same static pod's, on its node", () => {
    const model = cluster(false);
    model.upsert('pod', pod({ name: 'etcd-node-1', controllerKind: 'Node', deleting: true }));
    expect(validator.handle(evictionRequest('etcd-node-1'), context(model, { health: stalePods })).allowed).toBe(true);
  });

  it('passes while only Longhorn is stale: the pods view it rests on is fresh', () => {
    const model = cluster(false);
    model.upsert('pod', pod({ name: 'db-0', controllerKind: 'StatefulSet', claimNames: ['data-db-0'], deleting: true }));
    expect(validator.handle(evictionRequest('db-0'), context(model, { health: staleLonghorn })).allowed).toBe(true);
  });

  it('the stale answer follows model.stalePolicy: warn lets it through, saying so', () => {
    const warn = { ...config, model: { ...config.model, stalePolicy: 'warn' as const } };
    const model = cluster(false);
    model.upsert('pod', pod({ name: 'db-0', controllerKind: 'StatefulSet', claimNames: ['data-db-0'], deleting: true }));
    const decision = podEvictionValidator(warn).handle(evictionRequest('db-0'), context(model, { config: warn, health: stalePods }));
    expect(decision.allowed).toBe(true);
    expect(decision.warnings?.join('\n')).toContain('stale');
  });
});

describe('a stale record of the name finished', () => {
  it('a Failed db-0 (evicted by the kubelet) does not pass the eviction of the running replacement', () => {
    const model = cluster(false);
    model.upsert('pod', pod({ name: 'db-0', controllerKind: 'StatefulSet', claimNames: ['data-db-0'], phase: 'Failed' }));
    expect(validator.handle(evictionRequest('db-0'), context(model)).allowed).toBe(true);
    const decision = validator.handle(evictionRequest('db-0'), context(model, { health: stalePods }));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('stale');
  });

  it('a Succeeded Job pod still passes: its name is generated, never reused', () => {
    const model = cluster(false);
    model.upsert('pod', pod({ name: 'backup-28f-x', controllerKind: 'Job', claimNames: ['data-db-0'], phase: 'Succeeded' }));
    expect(validator.handle(evictionRequest('backup-28f-x'), context(model, { health: stalePods })).allowed).toBe(true);
  });
});

describe('a pod DELETE judges the pod it carries', () => {
  it('a Failed StatefulSet pod deleted on a node being drained passes with the pods view stale', () => {
    const model = cluster(true);
    const decision = podDeleteValidator(config).handle(
      request({
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        operation: 'DELETE',
        namespace: 'default',
        name: 'db-0',
        userInfo: ADMIN,
        oldObject: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'db-0', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u-1', controller: true }] },
          spec: { nodeName: 'node-1', volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-db-0' } }] },
          status: { phase: 'Failed' },
        },
      }),
      context(model, { health: stalePods }),
    );
    expect(decision.allowed).toBe(true);
  });
});

// A system-upgrade-controller Plan upgrades the nodes its spec.nodeSelector selects, in place. A numberOfReplicas-1
// volume whose only replica sits on another node, one that is down (Ready Unknown), has no copy, but its data waits on
// that node's disk whatever happens to the nodes the Plan upgrades: single-replica ties it to the nodes holding its
// data (dataNodes), as volume-health ties an unhealthy volume to its down replicas' nodes, and reports it only when
// the upgrade reaches one of them.
import { describe, expect, it } from 'vitest';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { collectSingleReplica } from '../../../src/checks/single-replica.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, request } from '../../support/admission.ts';
import { detachedVolume, failedReplica, longhornNode, node, replica, volumeWithReplicas } from '../../support/fixtures.ts';

function planCreate(selected: string) {
  const object = {
    apiVersion: 'upgrade.cattle.io/v1',
    kind: 'Plan',
    metadata: { name: 'k3s-agent', namespace: 'system-upgrade' },
    spec: { version: 'v1.31.4+k3s1', concurrency: 1, nodeSelector: { matchLabels: { 'kubernetes.io/hostname': selected } } },
  };
  return request({
    kind: { group: 'upgrade.cattle.io', version: 'v1', kind: 'Plan' },
    resource: { group: 'upgrade.cattle.io', version: 'v1', resource: 'plans' },
    operation: 'CREATE',
    namespace: 'system-upgrade',
    name: 'k3s-agent',
    object,
  });
}

function cluster(down = 'w-2') {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['w-1', 'w-2', 'w-3']) {
    model.upsert('node', node({ name, labels: { 'kubernetes.io/hostname': name }, ...(name === down ? { ready: 'Unknown' } : {}) }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  const v = volumeWithReplicas('vol-on-w2', ['w-2'], { numberOfReplicas: 1, state: 'detached', robustness: 'unknown', currentNodeID: '' }, { currentState: 'stopped', desireState: 'stopped' });
  model.replaceAll('longhornVolume', [v.volume]);
  model.replaceAll('longhornReplica', v.replicas);
  return model;
}

const names = (model: ClusterModel, nodes: string[]) => collectSingleReplica(model, { nodes }).findings.map((f) => f.object.name);

describe('a scoped upgrade and a single-replica volume whose data is on a down node', () => {
  it('a Plan upgrading another node passes', () => {
    const decision = upgradeValidator(defaultConfig()).handle(planCreate('w-1'), context(cluster()));
    expect(decision.status?.message).toBeUndefined();
    expect(decision.allowed).toBe(true);
  });

  it('a Plan upgrading the down node holding the data is refused', () => {
    const decision = upgradeValidator(defaultConfig()).handle(planCreate('w-2'), context(cluster()));
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('vol-on-w2');
  });

  it('single-replica reports it only for upgrades reaching w-2', () => {
    const model = cluster();
    expect(names(model, ['w-1', 'w-3'])).toEqual([]);
    expect(names(model, ['w-2'])).toEqual(['vol-on-w2']);
  });

  it('a copy on a node the upgrade spares still keeps the volume out, whatever other copies the upgrade reaches', () => {
    const model = cluster('none');
    const v = volumeWithReplicas('lowered', ['w-1', 'w-2'], { numberOfReplicas: 1 });
    model.replaceAll('longhornVolume', [v.volume]);
    model.replaceAll('longhornReplica', v.replicas);
    expect(names(model, ['w-1'])).toEqual([]);
    expect(names(model, ['w-1', 'w-2'])).toEqual(['lowered']);
  });

  it('a volume whose data may be on either of two nodes (a disk Longhorn reports not ready) is reported for either', () => {
    const model = cluster('none');
    model.upsert('longhornNode', longhornNode({ name: 'w-1', notReadyDiskUUIDs: ['disk-w-1'] }));
    model.replaceAll('longhornVolume', [detachedVolume({ name: 'vol-a', numberOfReplicas: 2 })]);
    model.replaceAll('longhornReplica', [
      replica({ volumeName: 'vol-a', nodeID: 'w-1', currentState: 'stopped', desireState: 'stopped' }),
      failedReplica({ volumeName: 'vol-a', nodeID: 'w-2', failedAt: '2024-04-01T00:00:00Z' }),
    ]);
    expect(names(model, ['w-1'])).toEqual(['vol-a']);
    expect(names(model, ['w-2'])).toEqual(['vol-a']);
    expect(names(model, ['w-3'])).toEqual([]);
  });
});

// Combinations of the issue 12 rules an independent acceptance pass tried, kept where no other test covers them:
// a Gt requirement inside a pinning term (a non-integer node label never matches, as the scheduler's selector
// reads it), a NotIn beside the anchor when the node's labels change, several healthy replicas on one node beside one
// on a node that is down (one copy), a failed replica on a Longhorn node that is gone (no risk), and the claims of a
// StatefulSet created with `spec.ordinals.start` (a claim a finished pod mounts is not in use; one a running pod of
// another workload mounts is adopted all the same).
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { statefulSetValidator } from '../../../src/admission/validators/statefulset.ts';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { transformNode, transformPersistentVolume } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, harvesterUpgradeRequest, request } from '../../support/admission.ts';
import { FAILED_AT, longhornNode, node, pod, pvc, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();
const HOSTNAME = 'kubernetes.io/hostname';
const ZONE = 'topology.kubernetes.io/zone';
const expr = (key: string, operator: string, values: string[]) => ({ key, operator, values });
const rawNode = (name: string, labels: Record<string, string>) => transformNode({ metadata: { name, labels }, spec: {} })!;
const localPV = (...requirements: unknown[]) =>
  transformPersistentVolume({
    metadata: { name: 'pv-a' },
    spec: { local: { path: '/mnt/a' }, claimRef: { namespace: 'default', name: 'data' }, nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: requirements }] } } },
    status: { phase: 'Bound' },
  })!;
const cordon = (model: ClusterModel, name: string) => nodeCordonValidator(config).handle(cordonRequest(name), context(model));

describe('node affinity combinations', () => {
  it('hostname In [w1, w2] and disks Gt 3, w1 labelled disks=abc: only w2 matches, the PV is pinned there', () => {
    const model = new ClusterModel(VOLUME_SETS);
    model.upsert('node', rawNode('w1', { [HOSTNAME]: 'w1', disks: 'abc' }));
    model.upsert('node', rawNode('w2', { [HOSTNAME]: 'w2', disks: '5' }));
    model.upsert('persistentVolume', localPV(expr(HOSTNAME, 'In', ['w1', 'w2']), expr('disks', 'Gt', ['3'])));
    expect(model.persistentVolume('pv-a')?.pinnedNode).toBe('w2');
    expect(cordon(model, 'w2').allowed).toBe(false);
    expect(cordon(model, 'w1').allowed).toBe(true);
  });

  it('hostname In [w1] and zone NotIn [z2]: pinned to w1, and still named by hostname once w1 moves to z2', () => {
    const model = new ClusterModel(VOLUME_SETS);
    model.upsert('node', rawNode('w1', { [HOSTNAME]: 'w1', [ZONE]: 'z1' }));
    model.upsert('persistentVolume', localPV(expr(HOSTNAME, 'In', ['w1']), expr(ZONE, 'NotIn', ['z2'])));
    expect(model.persistentVolume('pv-a')?.pinnedNode).toBe('w1');
    model.upsert('node', rawNode('w1', { [HOSTNAME]: 'w1', [ZONE]: 'z2' }));
    // No live node matches: the data is still on w1's disk, which the hostname names.
    expect(model.persistentVolume('pv-a')?.pinnedNode).toBe('w1');
    expect(cordon(model, 'w1').allowed).toBe(false);
  });
});

function longhornCluster(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['node-1', 'node-2', 'node-3']) {
    model.upsert('node', node({ name }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  return model;
}

describe('copies combinations', () => {
  it('two healthy replicas on node-1 and one on a node down for 10 minutes are one copy', () => {
    const model = longhornCluster();
    model.upsert('node', node({ name: 'node-3', ready: 'False', readySince: Date.now() - 600_000 }));
    model.upsert('longhornVolume', volume({ name: 'vol-a', numberOfReplicas: 3, currentNodeID: 'node-1' }));
    for (const [name, nodeID] of [['a', 'node-1'], ['b', 'node-1'], ['c', 'node-3']] as const) {
      model.upsert('longhornReplica', replica({ name: `vol-a-r-${name}`, volumeName: 'vol-a', nodeID }));
    }
    const refused = cordon(model, 'node-1');
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toContain('[last-replica-on-node]');
    expect(refused.status?.message).toContain('vol-a');
    expect(cordon(model, 'node-2').allowed).toBe(true);
    const upgrade = upgradeValidator(config).handle(harvesterUpgradeRequest(), context(model));
    expect(upgrade.allowed).toBe(false);
    expect(upgrade.status?.message).toContain('vol-a');
  });

  it('a failed replica on a Longhorn node that no longer exists, beside two copies, blocks neither a cordon nor an upgrade', () => {
    const model = longhornCluster();
    model.upsert('longhornVolume', volume({ name: 'vol-a', numberOfReplicas: 2, currentNodeID: 'node-1' }));
    model.upsert('longhornReplica', replica({ volumeName: 'vol-a', nodeID: 'node-1' }));
    model.upsert('longhornReplica', replica({ volumeName: 'vol-a', nodeID: 'node-2' }));
    model.upsert('longhornReplica', replica({ volumeName: 'vol-a', nodeID: 'node-gone', failedAt: FAILED_AT, desireState: 'stopped', currentState: 'stopped' }));
    expect(cordon(model, 'node-1').allowed).toBe(true);
    const upgrade = upgradeValidator(config).handle(harvesterUpgradeRequest(), context(model));
    expect(upgrade.status?.message).toBeUndefined();
    expect(upgrade.allowed).toBe(true);
  });
});

describe('a StatefulSet created outside Helm with spec.ordinals.start', () => {
  it('claims ordinals start..start+replicas-1 only; a claim mounted by a finished pod is not in use', () => {
    // A running Job pod (not the claim's own StatefulSet pod db-3) does not keep data-db-3 from being adopted: the
    // StatefulSet controller claims it by name, and db-3 would share the volume with it.
    const model = new ClusterModel(VOLUME_SETS);
    for (const name of ['data-db-0', 'data-db-3', 'data-db-5', 'data-db-6']) model.upsert('persistentVolumeClaim', pvc({ namespace: 'shop', name }));
    model.upsert('pod', pod({ namespace: 'shop', name: 'resizer', claimNames: ['data-db-3'], controllerKind: 'Job' }));
    model.upsert('pod', pod({ namespace: 'shop', name: 'backup', claimNames: ['data-db-5'], controllerKind: 'Job', phase: 'Succeeded' }));
    const decision = statefulSetValidator(config).handle(
      request({
        kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
        resource: { group: 'apps', version: 'v1', resource: 'statefulsets' },
        operation: 'CREATE',
        namespace: 'shop',
        name: 'db',
        object: {
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          metadata: { name: 'db', namespace: 'shop' },
          spec: {
            replicas: 3,
            ordinals: { start: 3 },
            selector: { matchLabels: { app: 'db' } },
            template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'db:1' }] } },
            volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'] } }],
          },
        },
      }),
      context(model),
    );
    expect(decision.allowed).toBe(false);
    const message = decision.status?.message ?? '';
    expect(message).toContain('data-db-5');
    expect(message).toContain('data-db-3');
    expect(message).toContain('pod resizer mounts it too');
    for (const spared of ['data-db-0', 'data-db-6']) expect(message).not.toContain(spared);
  });
});

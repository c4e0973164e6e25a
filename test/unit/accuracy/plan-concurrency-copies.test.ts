// A system-upgrade-controller Plan with a concurrency above 1 upgrades that many of its nodes at once
// (SelectConcurrentNodes, pkg/upgrade/plan/plan.go): two nodes each holding one of a volume's two copies can be
// cordoned and drained together. The Plan itself upgrades in place (its Job restarts k3s/RKE2, disks kept), so it
// passes for a volume with a copy on each: what decides is each Job's `kubectl cordon`/`kubectl drain <node>`
// (pkg/upgrade/job/job.go), judged node by node. The first node's cordon passes; the second's is refused while the
// first is cordoned (the other copy no longer counts: Longhorn's instance-manager PDBs protect only copies on
// schedulable nodes), even before the informers show the first cordon, and the drain's evictions that follow with the
// same service account are refused too, so the second Job's drain fails and its node waits for the first.
import { describe, expect, it } from 'vitest';
import type { UserInfo } from '../../../src/admission/types.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, evictionRequest, request } from '../../support/admission.ts';
import { longhornNode, node, pod, pv, pvc, volumeWithReplicas } from '../../support/fixtures.ts';

const config = defaultConfig();
const SUC: UserInfo = { username: 'system:serviceaccount:system-upgrade:system-upgrade', groups: ['system:serviceaccounts', 'system:authenticated'] };

/** w-1, w-2, w-3 (pool=workers); vol-a has its two copies on w-1 and w-2, attached on w-3 where db-0 uses it; web-0 on w-2 uses nothing. */
function cluster(): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['w-1', 'w-2', 'w-3']) {
    model.upsert('node', node({ name, labels: { 'kubernetes.io/hostname': name, pool: 'workers' } }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  const { volume, replicas } = volumeWithReplicas('vol-a', ['w-1', 'w-2'], { state: 'attached', currentNodeID: 'w-3' });
  model.upsert('longhornVolume', volume);
  for (const replica of replicas) model.upsert('longhornReplica', replica);
  model.upsert('persistentVolume', pv({ name: 'vol-a' }));
  model.upsert('persistentVolumeClaim', pvc({ name: 'vol-a-claim', volumeName: 'vol-a' }));
  model.upsert('pod', pod({ name: 'db-0', nodeName: 'w-3', controllerKind: 'StatefulSet', claimNames: ['vol-a-claim'] }));
  model.upsert('pod', pod({ name: 'web-0', nodeName: 'w-2', controllerKind: 'ReplicaSet' }));
  return model;
}

const plan = (concurrency: number) => ({
  apiVersion: 'upgrade.cattle.io/v1',
  kind: 'Plan',
  metadata: { name: 'k3s-agent', namespace: 'system-upgrade' },
  spec: {
    concurrency,
    nodeSelector: { matchLabels: { pool: 'workers' } },
    serviceAccountName: 'system-upgrade',
    drain: { force: true },
    version: 'v1.31.4+k3s1',
    upgrade: { image: 'rancher/k3s-upgrade' },
  },
});

const planCreate = (concurrency: number) =>
  request({
    kind: { group: 'upgrade.cattle.io', version: 'v1', kind: 'Plan' },
    resource: { group: 'upgrade.cattle.io', version: 'v1', resource: 'plans' },
    operation: 'CREATE',
    namespace: 'system-upgrade',
    name: 'k3s-agent',
    object: plan(concurrency),
    oldObject: null,
  });

const message = (decision: { status?: { message: string } }) => decision.status?.message ?? '';

describe('a system-upgrade-controller Plan draining two nodes at once (concurrency 2)', () => {
  it('passes at its creation (in place, two copies), and the second node holding a copy is held at its cordon and drain', () => {
    const model = cluster();
    expect(upgradeValidator(config).handle(planCreate(3), context(model)).allowed).toBe(true);

    const cordon = nodeCordonValidator(config);
    // The Job on w-1 cordons first: w-2's copy is in service.
    expect(cordon.handle(cordonRequest('w-1', {}, SUC), context(model)).allowed).toBe(true);
    // What app.ts does with an allowed cordon: counted cordoned before the informers show it.
    model.allowCordon('w-1');
    // The Job on w-2, started at the same time, cordons next: the other copy is on a cordoned node.
    const second = cordon.handle(cordonRequest('w-2', {}, SUC), context(model));
    expect(second.allowed).toBe(false);
    expect(second.deniedChecks).toContain('last-replica-on-node');
    expect(message(second)).toContain('on node w-1, which is cordoned');
    // `kubectl drain` prints the refused cordon and goes on evicting with the same credentials: judged as w-2's drain.
    model.refuseCordon('w-2', SUC.username);
    const eviction = podEvictionValidator(config).handle(evictionRequest('web-0', { namespace: 'default', user: SUC }), context(model));
    expect(eviction.allowed).toBe(false);
    expect(eviction.deniedChecks).toContain('last-replica-on-node');
  });
});

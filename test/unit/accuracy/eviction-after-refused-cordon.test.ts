// `kubectl drain` (1.36) prints a refused cordon and goes on evicting the pods of the still schedulable node, then
// reports it drained: the data at rest that refused the cordon (a local PV no pod mounts, a detached single-replica
// Longhorn volume) is touched by no eviction. Once volume-guard has refused that user's cordon of the node (as it
// records for `--disable-eviction`'s pod DELETEs), the same user's evictions there are the drain's and get the
// node-wide checks, as on a cordoned node; other users' evictions, and evictions after an allowed cordon, are not.
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { ADMIN, ALICE, context, evictionRequest } from '../../support/admission.ts';
import { detachedVolume, localPV, longhornNode, namespace, node, pod, replica } from '../../support/fixtures.ts';

const evictions = podEvictionValidator(defaultConfig());

/** node-1 schedulable, holding a local PV whose claim no pod mounts, and running web-1, which keeps nothing there. */
function cluster(unusedLocalPV = true): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.upsert('node', node({ name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } }));
  model.upsert('node', node({ name: 'node-2', labels: { 'kubernetes.io/hostname': 'node-2' } }));
  model.upsert('namespace', namespace({ name: 'default' }));
  if (unusedLocalPV) model.upsert('persistentVolume', localPV({ name: 'pv-archive', claimName: 'archive', pinnedNode: 'node-1' }));
  model.upsert('pod', pod({ name: 'web-1', nodeName: 'node-1', controllerKind: 'ReplicaSet' }));
  return model;
}

describe('evictions after the same user’s cordon of the node was refused', () => {
  it('get the node-wide checks: the unused local PV refuses them', () => {
    const model = cluster();
    expect(evictions.handle(evictionRequest('web-1'), context(model)).allowed).toBe(true);
    model.refuseCordon('node-1', ADMIN.username);
    const refused = evictions.handle(evictionRequest('web-1'), context(model));
    expect(refused.allowed).toBe(false);
    // The unused PV is the node's, not the pod's: the action says so.
    expect(refused.status?.message).toContain(
      "eviction of pod default/web-1 (node node-1 is being drained: your cordon of it was refused; data on node-1 refuses it, none of it this pod's)",
    );
    expect(refused.status?.message).toContain('pv-archive');
  });

  it("pass for another user (a restart), and once a cordon of the node was allowed", () => {
    const model = cluster();
    model.refuseCordon('node-1', ADMIN.username);
    expect(evictions.handle(evictionRequest('web-1', { user: ALICE }), context(model)).allowed).toBe(true);
    model.allowCordon('node-1');
    // Until the informers show that cordon, the node counts as cordoned (an eviction right after it is the drain's);
    // shown, then uncordoned, the node is schedulable again and the refused cordon no longer counts.
    model.upsert('node', node({ name: 'node-1', unschedulable: true, labels: { 'kubernetes.io/hostname': 'node-1' } }));
    model.upsert('node', node({ name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } }));
    expect(evictions.handle(evictionRequest('web-1'), context(model)).allowed).toBe(true);
  });

  it('a refused dry-run cordon counts for dry-run evictions only (kubectl drain --dry-run=server)', () => {
    const model = cluster();
    model.refuseCordon('node-1', ADMIN.username, true);
    expect(evictions.handle(evictionRequest('web-1'), context(model)).allowed).toBe(true);
    expect(evictions.handle({ ...evictionRequest('web-1'), dryRun: true }, context(model)).allowed).toBe(false);
  });

  it('a detached single-replica Longhorn volume on the node refuses them too', () => {
    const model = cluster(false);
    model.setLonghornInstalled(true);
    model.upsert('longhornNode', longhornNode({ name: 'node-1' }));
    model.upsert('longhornNode', longhornNode({ name: 'node-2' }));
    model.upsert('longhornVolume', detachedVolume({ name: 'vol-cold', numberOfReplicas: 1 }));
    model.upsert('longhornReplica', replica({ name: 'vol-cold-r', volumeName: 'vol-cold', nodeID: 'node-1', currentState: 'stopped', desireState: 'stopped' }));
    expect(evictions.handle(evictionRequest('web-1'), context(model)).allowed).toBe(true);
    model.refuseCordon('node-1', ADMIN.username);
    const refused = evictions.handle(evictionRequest('web-1'), context(model));
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toContain('vol-cold');
  });
});

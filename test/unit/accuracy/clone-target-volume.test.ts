// The target of a Longhorn volume clone (a PVC created with `dataSource` naming another PVC: the CSI driver creates the
// Longhorn volume with spec.dataSource `vol://<source>` or `snap://<source>/<snapshot>`) while the copy runs.
// longhorn-manager attaches it with one replica only (volume_controller.go getReplenishReplicasCount: "Only create 1
// replica while volume is in cloning process"), frontend disabled, and copies the source's snapshot into that replica;
// no workload can attach it before the copy completes (the clone ticket is not interruptible during the copy phase,
// isCloneTargetCopyInProgress: state "" or "initiated"). The source volume keeps the data: losing the target's only
// replica loses nothing, it fails the clone. Once the copy completed (copy-completed-awaiting-healthy, completed) or
// failed (a failed clone may follow copy-completed, when a workload could already write), it is judged like any volume.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { LAST_COPY_COUNT, SINGLE_REPLICA_COUNT, SINGLE_REPLICA_SET, VOLUME_COUNTS, VOLUME_HEALTH_SET, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { LonghornReplicaRecord, LonghornVolumeRecord } from '../../../src/cluster/records.ts';
import { transformLonghornVolume } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, harvesterUpgradeRequest } from '../../support/admission.ts';
import { longhornNode, node, replica, volume } from '../../support/fixtures.ts';

const config = defaultConfig();
const cordon = (model: ClusterModel, name: string) => nodeCordonValidator(config).handle(cordonRequest(name), context(model));
const upgrade = (model: ClusterModel) => upgradeValidator(config).handle(harvesterUpgradeRequest(), context(model));

function cluster(volumes: readonly LonghornVolumeRecord[], replicas: readonly LonghornReplicaRecord[]) {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  for (const name of ['w1', 'w2', 'w3']) {
    model.upsert('node', node({ name }));
    model.upsert('longhornNode', longhornNode({ name }));
  }
  model.replaceAll('longhornVolume', volumes);
  model.replaceAll('longhornReplica', replicas);
  return model;
}

const raw = (dataSource: string, cloneState: string | undefined) =>
  transformLonghornVolume({
    metadata: { name: 'pvc-clone', namespace: 'longhorn-system' },
    spec: { numberOfReplicas: 3, dataSource },
    status: { state: 'attached', robustness: 'degraded', currentNodeID: 'w1', ...(cloneState === undefined ? {} : { cloneStatus: { sourceVolume: 'pvc-src', snapshot: 's1', state: cloneState } }) },
  });

/** A clone target of 3 replicas mid-copy: its one replica on w1, RW in its engine (healthyAt set), degraded. */
const target = volume({ name: 'pvc-clone', numberOfReplicas: 3, robustness: 'degraded', currentNodeID: 'w1', cloning: true });
const targetReplica = replica({ volumeName: 'pvc-clone', nodeID: 'w1' });

describe('the target of a Longhorn volume clone while the copy runs', () => {
  it('is read from spec.dataSource (vol:// or snap://) and a clone state of "" or "initiated"', () => {
    expect(raw('vol://pvc-src', 'initiated')?.cloning).toBe(true);
    expect(raw('snap://pvc-src/s1', 'initiated')?.cloning).toBe(true);
    expect(raw('vol://pvc-src', '')?.cloning).toBe(true);
    expect(raw('vol://pvc-src', undefined)?.cloning).toBe(true);
    // The copy is done (awaiting healthy, completed) or failed: a workload may have written to it.
    expect(raw('vol://pvc-src', 'copy-completed-awaiting-healthy')).not.toHaveProperty('cloning');
    expect(raw('vol://pvc-src', 'completed')).not.toHaveProperty('cloning');
    expect(raw('vol://pvc-src', 'failed')).not.toHaveProperty('cloning');
    // Not a clone: no data source, or one Longhorn does not read as a volume (IsDataFromVolume).
    expect(raw('', undefined)).not.toHaveProperty('cloning');
    expect(raw('vol://', 'initiated')).not.toHaveProperty('cloning');
    expect(raw('snap://pvc-src', 'initiated')).not.toHaveProperty('cloning');
    expect(raw('bk://pvc-src/b1', 'initiated')).not.toHaveProperty('cloning');
  });

  it('its one replica on w1: the cordon of w1 and an upgrade pass (nothing but the copy is in it)', () => {
    const model = cluster([target], [targetReplica]);
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'pvc-clone')).toBe(false);
    expect(model.volumeInSet(VOLUME_HEALTH_SET, 'pvc-clone')).toBe(false);
    expect(model.volumeCount(LAST_COPY_COUNT, 'w1')).toBe(0);
    expect(model.volumeCount(SINGLE_REPLICA_COUNT, 'w1')).toBe(0);
    const decision = cordon(model, 'w1');
    expect(decision.status?.message).toBeUndefined();
    expect(decision.allowed).toBe(true);
    expect(upgrade(model).allowed).toBe(true);
  });

  it('once the copy completed, the same layout is refused as any other volume', () => {
    const model = cluster([target], [targetReplica]);
    model.upsert('longhornVolume', volume({ name: 'pvc-clone', numberOfReplicas: 3, robustness: 'degraded', currentNodeID: 'w1' }));
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'pvc-clone')).toBe(true);
    expect(model.volumeCount(LAST_COPY_COUNT, 'w1')).toBe(1);
    const decision = cordon(model, 'w1');
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('[single-replica]');
    expect(decision.status?.message).toContain('[last-replica-on-node]');
    expect(upgrade(model).allowed).toBe(false);
  });
});

// A Longhorn volume whose data Longhorn is restoring from a backup: a volume created from a backup (spec.fromBackup)
// until its restore completes, and a disaster-recovery volume kept on standby (it follows its backup volume's newest
// backup until activated). longhorn-manager keeps status.restoreRequired true meanwhile (status.isStandby too for a
// DR volume), and neither attaches it to a workload nor reports it ready for one (manager AttachVolume: "volume is
// pending restoring"; types.IsVolumeReady: "restore is required"): nothing has written to it but the restore, so its
// replicas hold nothing the backup does not. It also skips auto-salvage for such a volume (volume_controller.go
// ReconcileVolumeState: `!v.Status.IsStandby && !v.Status.RestoreRequired`): a failed restore is done again from the
// backup. Losing its replicas loses no data: no Longhorn check reports it, until the restore completes (or the DR
// volume is activated) and Longhorn clears both flags.
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

/** A DR volume on standby, set to one replica, on w1; attached there by Longhorn to go on restoring. */
const standby = volume({ name: 'dr-db', numberOfReplicas: 1, currentNodeID: 'w1', restoring: true });
const standbyReplica = replica({ volumeName: 'dr-db', nodeID: 'w1' });

describe('a volume Longhorn is restoring from a backup', () => {
  it('is read from status.restoreRequired, or status.isStandby', () => {
    const raw = (status: Record<string, unknown>) =>
      transformLonghornVolume({ metadata: { name: 'v', namespace: 'longhorn-system' }, spec: { numberOfReplicas: 1, fromBackup: 's3://b@r/?backup=x&volume=v' }, status });
    expect(raw({ state: 'attached', restoreRequired: true })?.restoring).toBe(true);
    expect(raw({ state: 'attached', isStandby: true, restoreRequired: true })?.restoring).toBe(true);
    expect(raw({ state: 'attached', isStandby: true })?.restoring).toBe(true);
    // Restore completed (or the DR volume activated): Longhorn cleared both flags; fromBackup stays.
    expect(raw({ state: 'attached', restoreRequired: false, isStandby: false })).not.toHaveProperty('restoring');
  });

  it('a DR volume on standby with its one replica on w1: the cordon of w1 and an upgrade pass', () => {
    const model = cluster([standby], [standbyReplica]);
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'dr-db')).toBe(false);
    expect(model.volumeCount(LAST_COPY_COUNT, 'w1')).toBe(0);
    expect(model.volumeCount(SINGLE_REPLICA_COUNT, 'w1')).toBe(0);
    const decision = cordon(model, 'w1');
    expect(decision.status?.message).toBeUndefined();
    expect(decision.allowed).toBe(true);
    expect(upgrade(model).allowed).toBe(true);
  });

  it('a volume restoring, degraded while a replica rebuilds on w3: no volume-health finding', () => {
    const restoring = volume({ name: 'restored', numberOfReplicas: 3, robustness: 'degraded', currentNodeID: 'w1', restoring: true });
    const replicas = [
      replica({ volumeName: 'restored', nodeID: 'w1' }),
      replica({ volumeName: 'restored', nodeID: 'w2', currentState: 'stopped' }),
      replica({ volumeName: 'restored', nodeID: 'w3', healthyAt: '' }),
    ];
    const model = cluster([restoring], replicas);
    expect(model.volumeInSet(VOLUME_HEALTH_SET, 'restored')).toBe(false);
    expect(cordon(model, 'w1').allowed).toBe(true);
    expect(upgrade(model).allowed).toBe(true);
  });

  it('once the restore completes (the flags cleared), the same volume is refused as any other', () => {
    const model = cluster([standby], [standbyReplica]);
    model.upsert('longhornVolume', volume({ name: 'dr-db', numberOfReplicas: 1, currentNodeID: 'w1' }));
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'dr-db')).toBe(true);
    expect(model.volumeCount(LAST_COPY_COUNT, 'w1')).toBe(1);
    const decision = cordon(model, 'w1');
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain('[single-replica]');
    expect(decision.status?.message).toContain('[last-replica-on-node]');
    expect(upgrade(model).allowed).toBe(false);
    // And back: a new restore into it (Longhorn sets restoreRequired again only for a volume re-created from a backup).
    model.upsert('longhornVolume', standby);
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'dr-db')).toBe(false);
    expect(cordon(model, 'w1').allowed).toBe(true);
  });
});

// A Longhorn volume whose replicas all failed comes back through salvage: once it is detached, longhorn-manager's
// auto-salvage (volume_controller.go ReconcileVolumeState) clears spec.failedAt of the usable failed replicas that
// failed within a minute of the latest (setReplicaFailedAt(r, ""): spec.lastFailedAt stays), and they look healthy
// again (healthyAt set, failedAt empty). None of them has served in an engine since: which one holds the newest data
// (or is corrupted) is known only when the engine starts with them and picks one. Longhorn itself does not take such a
// replica as a safe copy (isSafeAsLastReplica: spec.lastHealthyAt must be after spec.lastFailedAt) and keeps every
// replica that held data until one is (shouldCleanUpFailedReplica). So two salvaged replicas are no two copies: each
// node holding one may hold the only newest data, and taking it away may bring the volume back older.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { collectReplicaDeletion } from '../../../src/checks/storage-teardown.ts';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { SINGLE_REPLICA_COUNT, SINGLE_REPLICA_SET, VOLUME_COUNTS, VOLUME_SETS, countCopies, isHealthyReplica } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import type { LonghornReplicaRecord, LonghornVolumeRecord } from '../../../src/cluster/records.ts';
import { transformLonghornReplica } from '../../../src/cluster/transforms.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest, harvesterUpgradeRequest } from '../../support/admission.ts';
import { detachedVolume, failedReplica, longhornNode, node, replica } from '../../support/fixtures.ts';

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

const rawReplica = (spec: Record<string, unknown>) =>
  transformLonghornReplica({ metadata: { name: 'r', namespace: 'longhorn-system' }, spec: { volumeName: 'db', nodeID: 'w1', healthyAt: '2024-06-01T09:00:00Z', ...spec } });

/** db, 3 replicas, detached after all failed at 10:00:30; auto-salvage cleared failedAt of r1 (w1) and r2 (w2). */
const db = detachedVolume({ name: 'db', numberOfReplicas: 3 });
const LAST_FAILED = '2024-06-01T10:00:30Z';
const salvaged = (nodeID: string) => replica({ volumeName: 'db', nodeID, currentState: 'stopped', desireState: 'stopped', lastFailedAt: LAST_FAILED });
/** r3 failed five minutes earlier: stale, auto-salvage leaves it failed. */
const stale = failedReplica({ volumeName: 'db', nodeID: 'w3', failedAt: '2024-06-01T09:55:00Z' });

describe('replicas salvaged after all failed, none served since', () => {
  it('are read from spec.lastFailedAt, kept while failedAt is empty and spec.lastHealthyAt is not after it', () => {
    expect(rawReplica({ failedAt: '', lastFailedAt: LAST_FAILED, lastHealthyAt: '2024-06-01T10:00:00Z' })?.lastFailedAt).toBe(LAST_FAILED);
    // lastHealthyAt missing or unreadable: Longhorn's TimestampAfterTimestamp errs, not safe.
    expect(rawReplica({ failedAt: '', lastFailedAt: LAST_FAILED })?.lastFailedAt).toBe(LAST_FAILED);
    // Same second: not after.
    expect(rawReplica({ failedAt: '', lastFailedAt: LAST_FAILED, lastHealthyAt: LAST_FAILED })?.lastFailedAt).toBe(LAST_FAILED);
    // Served in an engine since (RW again): a copy again.
    expect(rawReplica({ failedAt: '', lastFailedAt: LAST_FAILED, lastHealthyAt: '2024-06-01T10:05:00Z' })).not.toHaveProperty('lastFailedAt');
    // Never failed (older Longhorn has no such field either).
    expect(rawReplica({ failedAt: '', lastHealthyAt: '2024-06-01T10:05:00Z' })).not.toHaveProperty('lastFailedAt');
    // Failed: failedAt says it.
    expect(rawReplica({ failedAt: LAST_FAILED, lastFailedAt: LAST_FAILED })).not.toHaveProperty('lastFailedAt');
  });

  it('is no copy: two of them on w1 and w2 make no two copies', () => {
    const replicas = [salvaged('w1'), salvaged('w2'), stale];
    expect(isHealthyReplica(replicas[0]!)).toBe(false);
    expect(countCopies(replicas, () => true)).toBe(0);
  });

  it('the cordon of w1 (or w2) and an upgrade are refused; w3, holding only the stale replica, passes', () => {
    const model = cluster([db], [salvaged('w1'), salvaged('w2'), stale]);
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'db')).toBe(true);
    expect(model.volumeCount(SINGLE_REPLICA_COUNT, 'w1')).toBe(1);
    expect(model.volumeCount(SINGLE_REPLICA_COUNT, 'w3')).toBe(0);
    for (const name of ['w1', 'w2']) {
      const decision = cordon(model, name);
      expect(decision.allowed).toBe(false);
      expect(decision.status?.message).toContain('[single-replica]');
      expect(decision.status?.message).toContain('salvaged');
      expect(decision.status?.message).toContain('attach the volume');
    }
    expect(cordon(model, 'w3').allowed).toBe(true);
    expect(upgrade(model).allowed).toBe(false);
  });

  it('once the engine ran them RW again (lastHealthyAt after lastFailedAt), they are two copies', () => {
    const model = cluster([db], [salvaged('w1'), salvaged('w2'), stale]);
    for (const nodeID of ['w1', 'w2']) model.upsert('longhornReplica', replica({ volumeName: 'db', nodeID, currentState: 'stopped', desireState: 'stopped' }));
    expect(model.volumeInSet(SINGLE_REPLICA_SET, 'db')).toBe(false);
    expect(cordon(model, 'w1').allowed).toBe(true);
  });
});

// A Replica DELETE of one of them (kubectl delete replicas.longhorn.io): longhorn-manager deletes its data. Auto-salvage
// brought back only the replicas that failed within AutoSalvageTimeLimit (a minute) of the latest failure; a stale
// replica left failed is older by more than that. Deleting the one salvaged replica leaves the volume faulted again
// (isAutoSalvageNeeded: no replica left with failedAt empty), and the next auto-salvage brings back the stale one:
// the volume comes back older (what collectReplicaDeletion already refuses for the same replica before salvage).
describe('a Replica DELETE of a replica salvaged after all failed, none served since', () => {
  const deleteOf = (model: ClusterModel, nodeID: string) =>
    collectReplicaDeletion(model, { replica: model.replicasOfVolume('db').find((r) => r.nodeID === nodeID && r.failedAt === '')! });

  it('is refused when it is the only one salvaged and only a stale failed replica is left: the volume would come back older', () => {
    const model = cluster([db], [salvaged('w1'), stale]);
    const findings = deleteOf(model, 'w1').findings;
    expect(findings.map((f) => f.object.name)).toEqual(['db']);
    expect(findings[0]?.reason).toContain('holds the newest data');
  });

  it('is refused the same way before auto-salvage ran (its failedAt still set), as it was', () => {
    const model = cluster([db], [failedReplica({ volumeName: 'db', nodeID: 'w1', failedAt: LAST_FAILED }), stale]);
    const target = model.replicasOfVolume('db').find((r) => r.nodeID === 'w1')!;
    expect(collectReplicaDeletion(model, { replica: target }).findings.map((f) => f.object.name)).toEqual(['db']);
  });

  it('passes for one of two salvaged in the same window (the other, on a node that is up, comes back as recent), as for failed ones', () => {
    const model = cluster([db], [salvaged('w1'), salvaged('w2'), stale]);
    expect(deleteOf(model, 'w1').findings).toEqual([]);
  });

  it('is refused when the other one salvaged sits on a node that is down', () => {
    const model = cluster([db], [salvaged('w1'), salvaged('w2'), stale]);
    model.upsert('node', node({ name: 'w2', ready: 'Unknown' }));
    expect(deleteOf(model, 'w1').findings.map((f) => f.object.name)).toEqual(['db']);
  });
});

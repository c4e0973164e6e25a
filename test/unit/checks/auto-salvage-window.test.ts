// A faulted volume (every replica failed) comes back through longhorn-manager's auto-salvage, which brings back only
// the usable failed replicas whose failedAt is within AutoSalvageTimeLimit (1 minute) of the latest one's: an older
// failed replica is stale, left failed and deleted later. Its data is where salvage takes it from, so the cordon of a
// node holding only a stale failed replica takes nothing, and the finding names the salvaged replica's node alone.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { AUTO_SALVAGE_WINDOW_MS, dataNodes, VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { collectSingleReplica } from '../../../src/checks/single-replica.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, cordonRequest } from '../../support/admission.ts';
import { detachedVolume, failedReplica, longhornNode, node } from '../../support/fixtures.ts';

const config = defaultConfig();
const LATEST = '2024-06-02T00:00:00Z';
const at = (ms: number): string => new Date(Date.parse(LATEST) - ms).toISOString().replace('.000Z', 'Z');

function cluster(w1FailedAt: string): ClusterModel {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  model.setLonghornInstalled(true);
  model.replaceAll('longhornNode', ['w1', 'w2', 'w3'].map((name) => longhornNode({ name })));
  for (const name of ['w1', 'w2', 'w3']) model.upsert('node', node({ name }));
  model.upsert('longhornVolume', detachedVolume({ name: 'f', numberOfReplicas: 2, robustness: 'faulted' }));
  model.upsert('longhornReplica', failedReplica({ volumeName: 'f', nodeID: 'w1', failedAt: w1FailedAt }));
  model.upsert('longhornReplica', failedReplica({ volumeName: 'f', nodeID: 'w2', failedAt: LATEST }));
  return model;
}

describe("a faulted volume's data is in the failed replicas auto-salvage takes", () => {
  it('a replica failed a day before the latest is stale: its node holds nothing, the finding names w2 only', () => {
    const model = cluster('2024-06-01T00:00:00Z');
    expect(dataNodes(model.replicasOfVolume('f'), () => true)).toEqual(['w2']);
    const finding = collectSingleReplica(model, {}).findings.find((candidate) => candidate.object.name === 'f');
    expect(finding?.object.node).toBe('w2');
    expect(finding?.reason).not.toContain('w1');
    expect(nodeCordonValidator(config).handle(cordonRequest('w1'), context(model)).allowed).toBe(true);
    const w2 = nodeCordonValidator(config).handle(cordonRequest('w2'), context(model));
    expect(w2.allowed).toBe(false);
    expect(w2.status?.message).toContain('w2');
  });

  it('replicas failed within the window are both salvaged: both nodes hold the data', () => {
    expect(dataNodes(cluster(at(AUTO_SALVAGE_WINDOW_MS - 1000)).replicasOfVolume('f'), () => true)).toEqual(['w1', 'w2']);
    // TimestampWithinLimit: failedAt + limit must be after the latest, strictly.
    expect(dataNodes(cluster(at(AUTO_SALVAGE_WINDOW_MS)).replicasOfVolume('f'), () => true)).toEqual(['w2']);
  });

  it('takes the latest failure among the usable replicas: the newest on a down node leaves the older one salvaged', () => {
    const model = cluster('2024-06-01T00:00:00Z');
    model.upsert('longhornNode', longhornNode({ name: 'w2', down: true }));
    model.upsert('node', node({ name: 'w2', ready: 'Unknown', readySince: Date.parse('2024-01-01T00:00:00Z') }));
    const up = (name: string, disk?: string) => model.nodeIsUp(name, disk);
    // Salvage brings back w1's; w2's data stays on its disk for when the node returns.
    expect(dataNodes(model.replicasOfVolume('f'), up)).toEqual(['w1', 'w2']);
    expect(nodeCordonValidator(config).handle(cordonRequest('w1'), context(model)).allowed).toBe(false);
  });
});

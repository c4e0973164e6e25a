// A node NotReady (Ready=False) within the grace (longhorn.nodeDownGraceSeconds) still holds copies; once the grace
// passes it is down and its copies count no more, with no write at all: the node holding the other copy then holds
// the last one, and its cordon is refused (the webhook reads the model's clock). The gauges must follow, as a tracker
// started afresh counts, not wait for the 15-minute sweep.
import { describe, expect, it } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { RiskTracker } from '../../../src/observe/risks.ts';
import { context, cordonRequest } from '../../support/admission.ts';
import { longhornNode, node, replica, volume } from '../../support/fixtures.ts';

describe('risk gauges when a NotReady node passes the down grace', () => {
  it('count the cordon of the node now holding the last copy as blocked', () => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS, nodeDownGraceMs: 60_000, now: () => clock });
    const tracker = new RiskTracker(model);
    const sink = tracker.sink();
    sink.setLonghornInstalled(true);
    sink.replaceAll('node', [node({ name: 'n1' }), node({ name: 'n2', ready: 'False', readySince: clock }), node({ name: 'n3' })]);
    sink.replaceAll('longhornNode', ['n1', 'n2', 'n3'].map((name) => longhornNode({ name })));
    sink.replaceAll('longhornVolume', [volume({ name: 'v', numberOfReplicas: 2, currentNodeID: 'n1' })]);
    sink.replaceAll('longhornReplica', [replica({ volumeName: 'v', nodeID: 'n1' }), replica({ volumeName: 'v', nodeID: 'n2' })]);
    expect(tracker.flush()).toBe(true);
    const cordonOfN1 = () => nodeCordonValidator(defaultConfig()).handle(cordonRequest('n1'), context(model)).allowed;
    expect(cordonOfN1()).toBe(true);
    expect(tracker.counts().nodesBlocked['last-replica-on-node']).toBe(0);

    clock += 120_000;
    // n2 is down now: n1 holds v's last copy and its cordon is refused.
    expect(cordonOfN1()).toBe(false);
    const fresh = new RiskTracker(model);
    fresh.markAll();
    expect(fresh.flush()).toBe(true);
    expect(fresh.counts().nodesBlocked['last-replica-on-node']).toBe(1);
    // The tracker fed all along: what its flusher does every 500 ms.
    tracker.expireOverrides();
    expect(tracker.flush()).toBe(true);
    expect(tracker.counts().nodesBlocked).toEqual(fresh.counts().nodesBlocked);
    expect(tracker.counts().atRiskVolumes).toEqual(fresh.counts().atRiskVolumes);
  });
});

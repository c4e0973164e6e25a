// The risk gauges beside the webhook and `audit --node` for nodes being drained as part of something larger: a node
// whose Cluster API Machine is being deleted (its drain is judged as the node's removal, and its Machine's owner may
// carry a skip to it), a node an autoscaler is removing, and a node a Harvester upgrade drains and reboots in place
// (the upgrade's skipSingleReplicaDetachedVol and skip carry to its drain; device-backed PVs stay on its disks).
// nodes_blocked counts a node exactly when its cordon or drain is refused; each count follows the record that
// changes it (the tracker is fed incrementally), and equals what a tracker started afresh counts.
import { describe, expect, it, vi } from 'vitest';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { failingFindings } from '../../../src/audit/run.ts';
import { VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { RiskTracker, riskTrackerOptionsOf, type RiskCounts } from '../../../src/observe/risks.ts';
import { context, cordonRequest, evictionRequest } from '../../support/admission.ts';
import { csiPV, harvesterUpgrade, harvesterUpgradePlan, longhornNode, machine, machineOwner, node, pod, pvc, replica, volume } from '../../support/fixtures.ts';

const SKIP_BY = { 'volume-guard.io/skip-by': 'admin', 'volume-guard.io/skip-reason': 'INC-7' };
const PINNED = [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In' as const, values: ['n1'] }], matchFields: [] }];
/** A ReplicaSet pod on n1 writing hostPath /data, pinned to n1 by its nodeSelector: its cordon finds nothing, its removal does. */
const CACHE = pod({ name: 'cache', nodeName: 'n1', controllerKind: 'ReplicaSet', hostPaths: [{ path: '/data', writable: true }], nodeSelector: PINNED });

function tracked(config: Config = defaultConfig()) {
  const model = new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS });
  const tracker = new RiskTracker(model, riskTrackerOptionsOf(config));
  const sink = tracker.sink();
  sink.setLonghornInstalled(true);
  sink.replaceAll('node', ['n1', 'n2', 'n3'].map((name) => node({ name, labels: { 'kubernetes.io/hostname': name } })));
  sink.replaceAll('longhornNode', ['n1', 'n2', 'n3'].map((name) => longhornNode({ name })));
  return { model, tracker, sink, config };
}

/** The counts once flushed, checked against a tracker started afresh on the same model (nothing left unmarked). */
function current(tracker: RiskTracker, model: ClusterModel, config: Config): RiskCounts {
  expect(tracker.flush()).toBe(true);
  const fresh = new RiskTracker(model, riskTrackerOptionsOf(config));
  fresh.markAll();
  fresh.flush();
  const counts = tracker.counts();
  expect(counts.nodesBlocked).toEqual(fresh.counts().nodesBlocked);
  expect(counts.atRiskVolumes).toEqual(fresh.counts().atRiskVolumes);
  return counts;
}

function auditNode(model: ClusterModel, config: Config) {
  return buildAuditReport({
    model,
    scope: { kind: 'node', node: 'n1' },
    cluster: { server: 's', context: 'c' },
    generatedAt: new Date().toISOString(),
    upgradeKinds: config.upgrades.kinds,
    writers: config.overrides,
  });
}

describe('risk gauges: the drain of a node whose Cluster API Machine is being deleted', () => {
  it('counts the node blocked and the data its drain is refused for at risk from the Machine deletion on, and neither once it stops', () => {
    const { model, tracker, sink, config } = tracked();
    sink.upsert('pod', CACHE);
    sink.upsert('machine', machine({ namespace: 'capi', name: 'm1', nodeName: 'n1' }));
    let counts = current(tracker, model, config);
    expect(counts.nodesBlocked['node-local-volume'], 'a cordon finds nothing: the pod comes back to its data').toBe(0);
    expect(counts.atRiskVolumes['node-local-volume']).toBe(0);

    sink.upsert('machine', machine({ namespace: 'capi', name: 'm1', nodeName: 'n1', deleting: true }));
    expect(podEvictionValidator(config).handle(evictionRequest('cache'), context(model)).allowed, 'the drain is refused').toBe(false);
    expect(failingFindings(auditNode(model, config), false), 'audit --node n1 fails').toBe(1);
    counts = current(tracker, model, config);
    expect(counts.nodesBlocked['node-local-volume'], 'volume_guard_nodes_blocked{check="node-local-volume"}').toBe(1);
    expect(counts.atRiskVolumes['node-local-volume'], 'volume_guard_at_risk_volumes{check="node-local-volume"}').toBe(1);

    sink.remove('machine', 'capi/m1');
    counts = current(tracker, model, config);
    expect(counts.nodesBlocked['node-local-volume']).toBe(0);
    expect(counts.atRiskVolumes['node-local-volume']).toBe(0);
  });

  it("re-counts the other nodes of the volumes with a copy there: n1's copy counts no more once its Machine is being deleted", () => {
    const { model, tracker, sink, config } = tracked();
    sink.upsert('longhornVolume', volume({ name: 'v2', numberOfReplicas: 2, currentNodeID: 'n2' }));
    for (const nodeID of ['n1', 'n2']) sink.upsert('longhornReplica', replica({ volumeName: 'v2', nodeID }));
    sink.upsert('machine', machine({ namespace: 'capi', name: 'm1', nodeName: 'n1' }));
    expect(current(tracker, model, config).nodesBlocked['last-replica-on-node']).toBe(0);
    sink.upsert('machine', machine({ namespace: 'capi', name: 'm1', nodeName: 'n1', deleting: true }));
    const counts = current(tracker, model, config);
    expect(counts.atRiskVolumes['last-replica-on-node'], "n2's copy is v2's last that stays").toBe(1);
    expect(counts.nodesBlocked['last-replica-on-node']).toBe(1);
  });

  it("re-counts the other nodes of the volumes with a copy on a node cordoned, and uncordoned: a cordoned node's copy counts no more", () => {
    const { model, tracker, sink, config } = tracked();
    sink.upsert('longhornVolume', volume({ name: 'v2', numberOfReplicas: 2, currentNodeID: 'n2' }));
    for (const nodeID of ['n1', 'n2']) sink.upsert('longhornReplica', replica({ volumeName: 'v2', nodeID }));
    expect(current(tracker, model, config).nodesBlocked['last-replica-on-node']).toBe(0);
    sink.upsert('node', node({ name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' }, unschedulable: true }));
    expect(nodeCordonValidator(config).handle(cordonRequest('n2'), context(model)).allowed, "n2's cordon is refused").toBe(false);
    expect(current(tracker, model, config).nodesBlocked['last-replica-on-node']).toBe(1);
    sink.upsert('node', node({ name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } }));
    expect(current(tracker, model, config).nodesBlocked['last-replica-on-node']).toBe(0);
  });

  it("does not count the node while its MachineDeployment's skip carries to the drain, and counts it again when the skip goes", () => {
    const { model, tracker, sink, config } = tracked();
    sink.upsert('pod', CACHE);
    sink.upsert('machine', machine({ namespace: 'capi', name: 'm1', nodeName: 'n1', machineDeployment: 'md-a', deleting: true }));
    expect(current(tracker, model, config).nodesBlocked['node-local-volume']).toBe(1);

    sink.upsert('machineDeployment', machineOwner({ namespace: 'capi', name: 'md-a', annotations: { 'volume-guard.io/skip': 'node-local-volume', ...SKIP_BY } }));
    expect(podEvictionValidator(config).handle(evictionRequest('cache'), context(model)).allowed, 'the drain passes').toBe(true);
    const accepted = auditNode(model, config).findings.filter((finding) => finding.check === 'node-local-volume');
    expect(accepted.map((finding) => finding.overriddenBy)).toEqual([expect.stringContaining('MachineDeployment capi/md-a')]);
    let counts = current(tracker, model, config);
    expect(counts.nodesBlocked['node-local-volume']).toBe(0);
    expect(counts.atRiskVolumes['node-local-volume'], 'accepted, still at risk').toBe(1);

    sink.upsert('machineDeployment', machineOwner({ namespace: 'capi', name: 'md-a' }));
    counts = current(tracker, model, config);
    expect(counts.nodesBlocked['node-local-volume']).toBe(1);
  });

  it("counts the node again once the owner's skip-until has passed, with no write", () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const start = Date.parse('2026-12-06T10:00:00Z');
      vi.setSystemTime(start);
      const { model, tracker, sink, config } = tracked();
      sink.upsert('pod', CACHE);
      sink.upsert('machine', machine({ namespace: 'capi', name: 'm1', nodeName: 'n1', machineDeployment: 'md-a', deleting: true }));
      const until = { 'volume-guard.io/skip-until': '2026-12-06T11:00:00Z' };
      sink.upsert('machineDeployment', machineOwner({ namespace: 'capi', name: 'md-a', annotations: { 'volume-guard.io/skip': 'node-local-volume', ...SKIP_BY, ...until } }));
      expect(current(tracker, model, config).nodesBlocked['node-local-volume']).toBe(0);
      vi.setSystemTime(start + 59 * 60_000);
      expect(current(tracker, model, config).nodesBlocked['node-local-volume']).toBe(0);
      vi.setSystemTime(start + 61 * 60_000);
      expect(podEvictionValidator(config).handle(evictionRequest('cache'), context(model)).allowed, 'the drain is refused again').toBe(false);
      expect(current(tracker, model, config).nodesBlocked['node-local-volume']).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('an autoscaler removing the node: the data its cordon is refused for is at risk', () => {
    const { model, tracker, sink, config } = tracked();
    sink.upsert('pod', CACHE);
    sink.upsert('node', node({ name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' }, unschedulable: true, leaving: true }));
    const counts = current(tracker, model, config);
    expect(counts.nodesBlocked['node-local-volume']).toBe(1);
    expect(counts.atRiskVolumes['node-local-volume'], 'blocked for node-local data, so that data is at risk').toBe(1);
  });
});

describe('risk gauges: nodes a Harvester upgrade is draining', () => {
  /** A detached volume set to one replica, its copy on n1. */
  function detachedSingleReplica(sink: ReturnType<RiskTracker['sink']>): void {
    sink.upsert('longhornVolume', volume({ name: 'v', numberOfReplicas: 1, state: 'detached', robustness: 'unknown', currentNodeID: '' }));
    sink.upsert('longhornReplica', replica({ volumeName: 'v', nodeID: 'n1' }));
  }

  it('does not count a node rebooted in place for the device-backed PV it keeps, and counts it again once the upgrade is past it', () => {
    const { model, tracker, sink, config } = tracked();
    sink.upsert('persistentVolume', csiPV('lvm.driver.harvesterhci.io', { name: 'pv-lvm', pinnedNode: 'n1', claimName: 'c-lvm' }));
    sink.upsert('persistentVolumeClaim', pvc({ name: 'c-lvm', volumeName: 'pv-lvm' }));
    sink.upsert('pod', pod({ name: 'vm', nodeName: 'n1', claimNames: ['c-lvm'], controllerKind: 'StatefulSet' }));
    expect(current(tracker, model, config).nodesBlocked['node-local-volume']).toBe(1);

    sink.upsert('harvesterUpgrade', harvesterUpgrade({ skipDetached: false, nodeStates: { n1: 'Pre-drained' } }));
    expect(nodeCordonValidator(config).handle(cordonRequest('n1'), context(model)).allowed, 'the cordon passes').toBe(true);
    expect(failingFindings(auditNode(model, config), false), 'audit --node n1 passes').toBe(0);
    let counts = current(tracker, model, config);
    expect(counts.nodesBlocked['node-local-volume'], 'volume_guard_nodes_blocked{check="node-local-volume"}').toBe(0);
    expect(counts.atRiskVolumes['node-local-volume'], 'its removal would still lose it').toBe(1);

    sink.upsert('harvesterUpgrade', harvesterUpgrade({ skipDetached: false, nodeStates: { n1: 'Succeeded' } }));
    counts = current(tracker, model, config);
    expect(counts.nodesBlocked['node-local-volume']).toBe(1);
  });

  it('does not count a node drained by an Upgrade admitted with skipSingleReplicaDetachedVol for its detached volume', () => {
    const { model, tracker, sink, config } = tracked();
    detachedSingleReplica(sink);
    sink.upsert('harvesterUpgrade', harvesterUpgrade({ skipDetached: false, nodeStates: { n1: 'Pre-drained' } }));
    expect(current(tracker, model, config).nodesBlocked['single-replica']).toBe(1);

    sink.upsert('harvesterUpgrade', harvesterUpgrade({ skipDetached: true, nodeStates: { n1: 'Pre-drained' } }));
    expect(nodeCordonValidator(config).handle(cordonRequest('n1'), context(model)).allowed, 'the cordon passes').toBe(true);
    const counts = current(tracker, model, config);
    expect(counts.nodesBlocked['single-replica'], 'volume_guard_nodes_blocked{check="single-replica"}').toBe(0);
    expect(counts.nodesBlocked['last-replica-on-node']).toBe(0);
    expect(counts.atRiskVolumes['single-replica']).toBe(1);
  });

  it("does not count a node drained by an UpgradePlan whose skip names the check (the upgrade's own, carried to its drains)", () => {
    const { model, tracker, sink, config } = tracked();
    detachedSingleReplica(sink);
    sink.upsert('harvesterUpgradePlan', harvesterUpgradePlan({ skipDetached: false, nodeStates: { n1: 'PreDrained' }, annotations: { 'volume-guard.io/skip': 'single-replica', ...SKIP_BY } }));
    expect(nodeCordonValidator(config).handle(cordonRequest('n1'), context(model)).allowed, 'the cordon passes').toBe(true);
    expect(current(tracker, model, config).nodesBlocked['single-replica']).toBe(0);
  });

  it('counts the node when the upgrade is of a kind outside upgrades.kinds: nothing it carries is honored', () => {
    const base = defaultConfig();
    const config: Config = { ...base, upgrades: { ...base.upgrades, kinds: base.upgrades.kinds.filter((kind) => kind.kind !== 'Upgrade') } };
    const { model, tracker, sink } = tracked(config);
    detachedSingleReplica(sink);
    sink.upsert('harvesterUpgrade', harvesterUpgrade({ skipDetached: true, nodeStates: { n1: 'Pre-drained' } }));
    expect(nodeCordonValidator(config).handle(cordonRequest('n1'), context(model, { config })).allowed, 'the cordon is refused').toBe(false);
    expect(current(tracker, model, config).nodesBlocked['single-replica']).toBe(1);
  });
});

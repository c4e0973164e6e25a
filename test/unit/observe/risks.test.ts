// The risk counts kept from the model's writes must always equal what a full rescan of the model computes with the
// webhook's own checks: after a first list, after every kind of change (replica failing, disk vanishing, PV
// moving, StatefulSet deleted, overrides written and removed), and in any order. The rescan here is the reference;
// the tracker never runs it.
import { describe, expect, it } from 'vitest';
import { movedByDrainPolicy } from '../../../src/admission/longhorn-drain.ts';
import { lingeringOverrides } from '../../../src/audit/overrides.ts';
import { auditedNodes } from '../../../src/audit/model.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import { collectLastReplicaOnNode } from '../../../src/checks/last-replica-on-node.ts';
import { NO_DATA_TAG, VOLUME_COUNTS, VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { collectNodeLocalVolume } from '../../../src/checks/node-local-volume.ts';
import { collectSingleReplica } from '../../../src/checks/single-replica.ts';
import { CHECK_IDS, type CheckId } from '../../../src/checks/types.ts';
import { collectVolumeHealth } from '../../../src/checks/volume-health.ts';
import { SKIP_BY_KEY, SKIP_KEY } from '../../../src/admission/overrides.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { RELEASE_LABELS, recordKey, type ModelSink } from '../../../src/cluster/records.ts';
import { transformNode, transformPersistentVolume } from '../../../src/cluster/transforms.ts';
import type { CheckMode } from '../../../src/config.ts';
import { NODE_CHECKS, OTHER_NAMESPACES, OVERRIDE_KINDS, RiskTracker, type NodeCheck } from '../../../src/observe/risks.ts';
import {
  FAILED_AT,
  localPV,
  longhornSetting,
  node,
  pod,
  pv,
  pvc,
  replica,
  seededRandom,
  SMALL_CLUSTER,
  statefulSet,
  syntheticCluster,
  volume,
} from '../../support/fixtures.ts';
import { goldenRecords } from '../audit/golden-cluster.ts';

interface Reference {
  atRiskVolumes: Record<CheckId, number>;
  nodesBlocked: Record<NodeCheck, number>;
  orphansByNamespace: Map<string, number>;
  activeOverrides: Map<string, Record<CheckId, number>>;
}

function zero(): Record<CheckId, number> {
  return Object.fromEntries(CHECK_IDS.map((id) => [id, 0])) as Record<CheckId, number>;
}

/** Everything from scratch, with the checks' own full-cluster and per-node calls. */
function reference(model: ClusterModel, modes: Partial<Record<CheckId, CheckMode>> = {}): Reference {
  const atRiskVolumes = zero();
  // A volume that never held data blocks only Harvester's upgrades: not at risk.
  atRiskVolumes['single-replica'] = collectSingleReplica(model, {}, { skipTags: [NO_DATA_TAG] }).total;
  atRiskVolumes['volume-health'] = collectVolumeHealth(model, {}).total;
  const nodesBlocked = Object.fromEntries(NODE_CHECKS.map((check) => [check, 0])) as Record<NodeCheck, number>;
  for (const name of auditedNodes(model)) {
    const totals: Record<NodeCheck, number> = {
      'last-replica-on-node': collectLastReplicaOnNode(model, { node: name }).total,
      'single-replica': collectSingleReplica(model, { node: name }).total,
      'volume-health': collectVolumeHealth(model, { node: name }).total,
      // A StatefulSet pod's emptyDir only warns (nodeLocal.statefulSetEmptyDir: warn): neither at risk nor blocking.
      'node-local-volume': collectNodeLocalVolume(model, { node: name }).findings.filter((f) => !f.tags.includes('emptyDir')).length,
    };
    const leaving = model.nodeLeaving(name) !== undefined;
    atRiskVolumes['last-replica-on-node'] += totals['last-replica-on-node'];
    // A cordon is not refused for the last copies Longhorn's node-drain-policy moves away (longhorn-drain.ts).
    const refused: Record<NodeCheck, number> = {
      ...totals,
      'last-replica-on-node': totals['last-replica-on-node'] - movedByDrainPolicy(model, name, collectLastReplicaOnNode(model, { node: name }).findings, { cordoned: true }).length,
      'single-replica': totals['single-replica'] - movedByDrainPolicy(model, name, collectSingleReplica(model, { node: name }).findings, { cordoned: true }).length,
      // A node being removed (an autoscaler, its Machine being deleted): its drain is judged as its removal.
      'node-local-volume': leaving
        ? collectNodeLocalVolume(model, { node: name, removed: true }).findings.filter((f) => !f.tags.includes('emptyDir')).length
        : totals['node-local-volume'],
    };
    // At risk: what its cordon or drain is refused for.
    atRiskVolumes['node-local-volume'] += refused['node-local-volume'];
    const record = model.node(name);
    // The node's skip counts only as audit lists it honored: writer recorded, not expired.
    const skipped = lingeringOverrides(model)
      .filter((o) => o.object.kind === 'Node' && o.object.name === name && o.key === SKIP_KEY)
      .flatMap((o) => o.checks);
    for (const check of NODE_CHECKS) {
      if (refused[check] > 0 && record !== undefined && (modes[check] ?? 'enforce') === 'enforce' && !skipped.includes(check)) nodesBlocked[check] += 1;
    }
  }
  const releases = new Set<string>();
  for (const claim of model.records('persistentVolumeClaim')) {
    for (const label of RELEASE_LABELS) if (claim.labels[label]) releases.add(`${claim.namespace}/${claim.labels[label]}`);
  }
  for (const s of model.records('statefulSet')) if (s.helmReleaseName) releases.add(`${s.helmReleaseNamespace || s.namespace}/${s.helmReleaseName}`);
  const orphans = new Set<string>();
  for (const key of releases) {
    const [ns, name] = key.split('/') as [string, string];
    // What `audit --release` of the installed release reports critical and not overridden (a PVC's reuse approval,
    // the release namespace's skip), as the webhook honors them.
    const report = buildAuditReport({
      model,
      scope: { kind: 'release', namespace: ns, name, revisions: [{ version: 1, status: 'deployed' }] },
      cluster: { server: 's', context: 'c' },
      generatedAt: 'now',
    });
    for (const finding of report.findings) {
      if (finding.severity === 'critical' && finding.object.kind === 'PersistentVolumeClaim' && finding.overriddenBy === undefined) {
        orphans.add(`${finding.object.namespace}/${finding.object.name}`);
      }
    }
  }
  const orphansByNamespace = new Map<string, number>();
  for (const key of orphans) {
    const ns = key.split('/')[0] as string;
    orphansByNamespace.set(ns, (orphansByNamespace.get(ns) ?? 0) + 1);
  }
  atRiskVolumes['orphan-pvc'] = orphans.size;
  // A check in mode off is not judged, as audit does not report it: nothing at risk for it, no orphan.
  for (const check of CHECK_IDS) if (modes[check] === 'off') atRiskVolumes[check] = 0;
  if (modes['orphan-pvc'] === 'off') orphansByNamespace.clear();
  const activeOverrides = new Map<string, Record<CheckId, number>>(OVERRIDE_KINDS.map((kind) => [kind, zero()]));
  for (const override of lingeringOverrides(model)) {
    const totals = activeOverrides.get(override.object.kind);
    if (totals) for (const check of override.checks) totals[check] += 1;
  }
  return { atRiskVolumes, nodesBlocked, orphansByNamespace, activeOverrides };
}

function expectCurrent(tracker: RiskTracker, model: ClusterModel, modes: Partial<Record<CheckId, CheckMode>> = {}): void {
  expect(tracker.flush()).toBe(true);
  const counts = tracker.counts();
  const expected = reference(model, modes);
  expect(counts.pending).toBe(0);
  expect(counts.atRiskVolumes).toEqual(expected.atRiskVolumes);
  expect(counts.nodesBlocked).toEqual(expected.nodesBlocked);
  expect(new Map(counts.orphanPvcs)).toEqual(expected.orphansByNamespace);
  expect(new Map(counts.activeOverrides)).toEqual(expected.activeOverrides);
}

function tracked(modes: Partial<Record<CheckId, CheckMode>> = {}, limit?: number): { model: ClusterModel; tracker: RiskTracker; sink: ModelSink } {
  const model = new ClusterModel(VOLUME_SETS);
  const tracker = new RiskTracker(model, { modes, ...(limit !== undefined ? { orphanNamespaceLimit: limit } : {}) });
  return { model, tracker, sink: tracker.sink() };
}

describe('RiskTracker', () => {
  it('counts the audit scenario like a full rescan, and what that is', () => {
    const { model, tracker, sink } = tracked();
    sink.setLonghornInstalled(true);
    const records = goldenRecords();
    for (const [kind, list] of Object.entries(records)) sink.replaceAll(kind as never, list as never);
    expectCurrent(tracker, model);
    const counts = tracker.counts();
    // The audit report of the same scenario: 2 single-replica, 2 volume-health, 2 last-replica, 2 node-local.
    expect(counts.atRiskVolumes).toMatchObject({ 'single-replica': 2, 'volume-health': 2, 'last-replica-on-node': 2, 'node-local-volume': 2 });
    // node-1's skip annotation waives node-local-volume there, and node-gone has no Node object (no cordon to
    // refuse): both local PVs are at risk, no node is blocked by them.
    expect(counts.nodesBlocked['node-local-volume']).toBe(0);
    expect(counts.nodesBlocked['last-replica-on-node']).toBe(2);
    expect(counts.activeOverrides.get('Node')?.['node-local-volume']).toBe(1);
    expect(counts.activeOverrides.get('Namespace')?.['orphan-pvc']).toBe(1);
    expect(counts.atRiskVolumes['orphan-pvc']).toBeGreaterThan(0);
  });

  it('stays equal to a rescan through random churn of every kind', () => {
    const { model, tracker, sink } = tracked();
    sink.setLonghornInstalled(true);
    const summary = syntheticCluster(sink, { ...SMALL_CLUSTER, nodes: 12, volumes: 60, pvs: 120, pods: 60, statefulSets: 8, riskFraction: 0.1 });
    expectCurrent(tracker, model);
    const random = seededRandom(7);
    const pickOf = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    for (let round = 0; round < 40; round++) {
      for (let change = 0; change < 5; change++) {
        const action = Math.floor(random() * 15);
        const replicas = [...model.records('longhornReplica')];
        const nodes = summary.nodeNames;
        switch (action) {
          case 0: {
            const r = pickOf(replicas);
            if (r) sink.upsert('longhornReplica', { ...r, failedAt: FAILED_AT, desireState: 'stopped', currentState: 'stopped' });
            break;
          }
          case 1: {
            const r = pickOf(replicas);
            if (r) sink.remove('longhornReplica', recordKey(r));
            break;
          }
          case 2: {
            const name = `churn-vol-${round}-${change}`;
            sink.upsert('longhornVolume', volume({ name, numberOfReplicas: 1 }));
            sink.upsert('longhornReplica', replica({ name: `${name}-r`, volumeName: name, nodeID: pickOf(nodes) }));
            break;
          }
          case 3: {
            const lh = [...model.records('longhornNode')];
            const target = pickOf(lh);
            if (target) sink.upsert('longhornNode', { ...target, diskUUIDs: [] });
            break;
          }
          case 4: {
            const name = `churn-pv-${round}-${change}`;
            sink.upsert('persistentVolume', localPV({ name, pinnedNode: pickOf(nodes), claimNamespace: 'churn', claimName: name }));
            break;
          }
          case 5: {
            const pvs = [...model.records('persistentVolume')];
            const target = pickOf(pvs);
            if (target) sink.remove('persistentVolume', recordKey(target));
            break;
          }
          case 6: {
            const name = pickOf(nodes);
            const skip = pickOf(['node-local-volume', 'last-replica-on-node,single-replica', '*', undefined]);
            // Without a recorded writer (skip-by) a skip waives nothing; with one it does.
            const writer: Record<string, string> = pickOf(['admin', undefined]) === undefined ? {} : { [SKIP_BY_KEY]: 'admin' };
            sink.upsert('node', node({ name, annotations: skip === undefined ? {} : { [SKIP_KEY]: skip, ...writer } }));
            break;
          }
          case 7: {
            const sets = [...model.records('statefulSet')];
            const target = pickOf(sets);
            if (target) sink.remove('statefulSet', recordKey(target));
            break;
          }
          case 9: {
            // A pod moves (deleted and recreated elsewhere) or goes away.
            const pods = [...model.records('pod')];
            const target = pickOf(pods);
            if (target && random() < 0.5) sink.upsert('pod', { ...target, nodeName: pickOf(nodes) });
            else if (target) sink.remove('pod', recordKey(target));
            break;
          }
          case 10: {
            // A claim bound elsewhere, or unbound.
            const claims = [...model.records('persistentVolumeClaim')];
            const pvs = [...model.records('persistentVolume')];
            const target = pickOf(claims);
            if (target) sink.upsert('persistentVolumeClaim', { ...target, volumeName: random() < 0.5 ? '' : (pickOf(pvs)?.name ?? '') });
            break;
          }
          case 11: {
            // Longhorn's node-drain-policy decides which last copies block a cordon, on every node.
            const policy = pickOf(['block-for-eviction', 'block-if-contains-last-replica', 'block-for-eviction-if-contains-last-replica']);
            sink.upsert('longhornSetting', longhornSetting('node-drain-policy', policy));
            break;
          }
          case 12: {
            // A strict-local volume's last copy is never moved.
            const target = pickOf([...model.records('longhornVolume')]);
            if (target) sink.upsert('longhornVolume', target.strictLocal ? { ...target, strictLocal: undefined } : { ...target, strictLocal: true });
            break;
          }
          case 13: {
            // A node goes NotReady past the grace, back Ready, or an autoscaler starts removing it: copies there
            // count no more, so other nodes may now hold a volume's last copy.
            const target = model.node(pickOf(nodes));
            const change = pickOf(['down', 'up', 'leaving'] as const);
            if (target && change === 'down') sink.upsert('node', { ...target, ready: 'Unknown', readySince: 0 });
            else if (target && change === 'up') sink.upsert('node', { ...target, ready: 'True', leaving: undefined });
            else if (target) sink.upsert('node', { ...target, leaving: true, unschedulable: true });
            break;
          }
          case 14: {
            // A StatefulSet pod with an emptyDir (a warning only) lands on a node.
            sink.upsert('pod', pod({ namespace: 'churn', name: `sts-${round}-${change}`, nodeName: pickOf(nodes), controllerKind: 'StatefulSet', emptyDirs: ['scratch'] }));
            break;
          }
          case 8: {
            const claims = [...model.records('persistentVolumeClaim')];
            const target = pickOf(claims);
            if (target) sink.upsert('persistentVolumeClaim', { ...target, annotations: { ...target.annotations, 'volume-guard.io/reuse': 'true' } });
            break;
          }
        }
      }
      expectCurrent(tracker, model);
    }
    // The churn did change the counts (this test would pass vacuously otherwise).
    expect(tracker.counts().atRiskVolumes['single-replica']).toBeGreaterThan(0);
  });

  it('does the same work however the writes arrive: upserts one by one, then a relist of equal copies marks nothing', () => {
    const { model, tracker, sink } = tracked();
    sink.setLonghornInstalled(true);
    const records = goldenRecords();
    for (const [kind, list] of Object.entries(records)) for (const record of list as never[]) sink.upsert(kind as never, record);
    expectCurrent(tracker, model);
    for (const [kind, list] of Object.entries(records)) sink.replaceAll(kind as never, list as never);
    expect(tracker.pending).toBe(0);
  });

  it('counts blocked nodes only for checks in enforce mode', () => {
    const modes = { 'node-local-volume': 'warn', 'last-replica-on-node': 'off' } as const;
    const { model, tracker, sink } = tracked(modes);
    sink.setLonghornInstalled(true);
    for (const [kind, list] of Object.entries(goldenRecords())) sink.replaceAll(kind as never, list as never);
    expectCurrent(tracker, model, modes);
    const counts = tracker.counts();
    expect(counts.nodesBlocked['node-local-volume']).toBe(0);
    expect(counts.nodesBlocked['last-replica-on-node']).toBe(0);
    // The risk of a warn-mode check is still counted (audit reports it, marked warn); an off check's is not.
    expect(counts.atRiskVolumes['node-local-volume']).toBe(2);
    expect(counts.atRiskVolumes['last-replica-on-node']).toBe(0);
  });

  it('judges no check in mode off, as audit reports none: nothing at risk, no node blocked, no orphan', () => {
    const modes = { 'single-replica': 'off', 'volume-health': 'off', 'last-replica-on-node': 'off', 'node-local-volume': 'off', 'orphan-pvc': 'off' } as const;
    const { model, tracker, sink } = tracked(modes);
    sink.setLonghornInstalled(true);
    for (const [kind, list] of Object.entries(goldenRecords())) sink.replaceAll(kind as never, list as never);
    expectCurrent(tracker, model, modes);
    const counts = tracker.counts();
    expect(Object.values(counts.atRiskVolumes).every((count) => count === 0)).toBe(true);
    expect(Object.values(counts.nodesBlocked).every((count) => count === 0)).toBe(true);
    expect(counts.orphanPvcs.size).toBe(0);
    // pvc-delete and storage-teardown, which the tracker never counts, have no series either (metrics.test.ts).
    expect(tracker.judgedChecks).toEqual([]);
    // The same scenario with every check on has risks of each kind: the zeros above are the modes, not the scenario.
    const { tracker: all, sink: allSink } = tracked();
    allSink.setLonghornInstalled(true);
    for (const [kind, list] of Object.entries(goldenRecords())) allSink.replaceAll(kind as never, list as never);
    expect(all.flush()).toBe(true);
    for (const check of Object.keys(modes) as CheckId[]) expect(all.counts().atRiskVolumes[check], check).toBeGreaterThan(0);
  });

  it('drops Longhorn counts when Longhorn goes away and brings them back', () => {
    const { model, tracker, sink } = tracked();
    sink.setLonghornInstalled(true);
    for (const [kind, list] of Object.entries(goldenRecords())) sink.replaceAll(kind as never, list as never);
    expectCurrent(tracker, model);
    sink.setLonghornInstalled(false);
    expectCurrent(tracker, model);
    expect(tracker.counts().atRiskVolumes['last-replica-on-node']).toBe(0);
    sink.setLonghornInstalled(true);
    expectCurrent(tracker, model);
    expect(tracker.counts().atRiskVolumes['last-replica-on-node']).toBe(2);
  });

  it('leaves out a numberOfReplicas-1 volume that never held data (only Harvester upgrades are refused for it), with or without tag counts', () => {
    for (const model of [new ClusterModel(VOLUME_SETS), new ClusterModel(VOLUME_SETS, { volumeCounts: VOLUME_COUNTS })]) {
      const tracker = new RiskTracker(model);
      const sink = tracker.sink();
      sink.setLonghornInstalled(true);
      sink.replaceAll('node', [node({ name: 'n1' })]);
      sink.replaceAll('longhornVolume', [
        volume({ name: 'empty', numberOfReplicas: 1, state: 'detached', currentNodeID: '' }),
        volume({ name: 'solo', numberOfReplicas: 1, currentNodeID: 'n1' }),
      ]);
      sink.replaceAll('longhornReplica', [
        replica({ volumeName: 'empty', nodeID: 'n1', healthyAt: '', desireState: 'stopped', currentState: 'stopped' }),
        replica({ volumeName: 'solo', nodeID: 'n1' }),
      ]);
      expectCurrent(tracker, model);
      expect(tracker.counts().atRiskVolumes['single-replica']).toBe(1);
      // Once it held data, it is at risk.
      sink.upsert('longhornReplica', replica({ volumeName: 'empty', nodeID: 'n1' }));
      expectCurrent(tracker, model);
      expect(tracker.counts().atRiskVolumes['single-replica']).toBe(2);
    }
  });

  it('gives at most the limit of namespaces their own orphan series and sums the rest, exactly', () => {
    const { model, tracker, sink } = tracked({}, 2);
    const orphan = (ns: string, i: number) => pvc({ namespace: ns, name: `data-${i}`, labels: { 'app.kubernetes.io/instance': 'gone' } });
    for (const ns of ['a', 'b', 'c', 'd']) for (let i = 0; i < (ns === 'a' ? 1 : 2); i++) sink.upsert('persistentVolumeClaim', orphan(ns, i));
    expect(tracker.flush()).toBe(true);
    const counts = tracker.counts().orphanPvcs;
    expect(counts.size).toBe(3);
    const total = [...counts.values()].reduce((sum, n) => sum + n, 0);
    expect(total).toBe(7);
    expect(reference(model).atRiskVolumes['orphan-pvc']).toBe(7);
    expect(counts.has(OTHER_NAMESPACES)).toBe(true);
    // Freeing a slot: the namespace's orphans go, and the sum stays exact.
    sink.remove('persistentVolumeClaim', 'a/data-0');
    expect(tracker.flush()).toBe(true);
    const after = tracker.counts().orphanPvcs;
    expect([...after.values()].reduce((sum, n) => sum + n, 0)).toBe(6);
    expect(after.has('a')).toBe(false);
    // A release StatefulSet claiming the PVCs makes them its own: no orphan left in b.
    sink.upsert('statefulSet', statefulSet({ namespace: 'b', name: 'data', replicas: 2, claimTemplates: ['data'], helmReleaseName: 'gone', helmReleaseNamespace: 'b' }));
    expect(tracker.flush()).toBe(true);
    expect(tracker.counts().atRiskVolumes['orphan-pvc']).toBe(reference(model).atRiskVolumes['orphan-pvc']);
  });

  it('counts a claim still Pending as an orphan, as denials and audit report it', () => {
    const { model, tracker, sink } = tracked();
    const claim = pvc({ namespace: 'a', name: 'data-0', phase: 'Pending', volumeName: '', labels: { 'app.kubernetes.io/instance': 'gone' } });
    sink.upsert('persistentVolumeClaim', claim);
    expect(tracker.flush()).toBe(true);
    expect(tracker.counts().atRiskVolumes['orphan-pvc']).toBe(1);
    sink.upsert('persistentVolumeClaim', { ...claim, phase: 'Bound', volumeName: 'pv-data-0' });
    expect(tracker.flush()).toBe(true);
    expect(tracker.counts().atRiskVolumes['orphan-pvc']).toBe(1);
    expect(reference(model).atRiskVolumes['orphan-pvc']).toBe(1);
  });

  it('re-counts a Lost claim when the PV it names comes back or goes (its data is there again, or gone for good)', () => {
    // Lost, its PV gone: no data to re-attach (a warning, not counted). Its PV re-created without a claimRef: the PV
    // controller binds them again, old data and all, an orphan again; the PV bound to another claim: gone again.
    const { model, tracker, sink } = tracked();
    sink.upsert('persistentVolumeClaim', pvc({ namespace: 'a', name: 'data-0', phase: 'Lost', volumeName: 'pv-data-0', labels: { 'app.kubernetes.io/instance': 'gone' } }));
    expectCurrent(tracker, model);
    expect(tracker.counts().atRiskVolumes['orphan-pvc']).toBe(0);
    sink.upsert('persistentVolume', pv({ name: 'pv-data-0', claimNamespace: '', claimName: '', phase: 'Available' }));
    expectCurrent(tracker, model);
    expect(tracker.counts().atRiskVolumes['orphan-pvc']).toBe(1);
    sink.upsert('persistentVolume', pv({ name: 'pv-data-0', claimNamespace: 'b', claimName: 'other' }));
    expectCurrent(tracker, model);
    expect(tracker.counts().atRiskVolumes['orphan-pvc']).toBe(0);
    sink.replaceAll('persistentVolume', [pv({ name: 'pv-data-0', claimNamespace: 'a', claimName: 'data-0' })]);
    expectCurrent(tracker, model);
    expect(tracker.counts().atRiskVolumes['orphan-pvc']).toBe(1);
    sink.remove('persistentVolume', 'pv-data-0');
    expectCurrent(tracker, model);
    expect(tracker.counts().atRiskVolumes['orphan-pvc']).toBe(0);
  });

  it('re-counts a PVC when its pod loses its controller (the garbage collector orphaning it after its StatefulSet went)', () => {
    // The watch of pods and the watch of StatefulSets are separate streams: the StatefulSet may be seen gone before its
    // pods are seen orphaned. Until then the pod goes with the StatefulSet (an orphan); once bare, it keeps the claim.
    const { model, tracker, sink } = tracked();
    sink.upsert('persistentVolumeClaim', pvc({ namespace: 'a', name: 'data-db-0', labels: { 'app.kubernetes.io/instance': 'gone' } }));
    const running = pod({ namespace: 'a', name: 'db-0', claimNames: ['data-db-0'], controllerKind: 'StatefulSet' });
    sink.upsert('pod', running);
    expectCurrent(tracker, model);
    expect(tracker.counts().atRiskVolumes['orphan-pvc']).toBe(1);
    sink.upsert('pod', { ...running, controllerKind: '' });
    expectCurrent(tracker, model);
    expect(tracker.counts().atRiskVolumes['orphan-pvc']).toBe(0);
  });

  describe('a local PV naming node-1 by metadata.name only (pinned to no node), node-1 being removed by an autoscaler', () => {
    /** node-1 tainted by cluster-autoscaler, node-2; pv-a (claim default/data) affine to node-1 by matchFields only. */
    function namedNodeCluster(reclaimPolicy: string): { model: ClusterModel; tracker: RiskTracker; sink: ModelSink } {
      const setup = tracked();
      const taints = [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1733130000', effect: 'NoSchedule' }];
      setup.sink.upsert('node', transformNode({ metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } }, spec: { taints } })!);
      setup.sink.upsert('node', transformNode({ metadata: { name: 'node-2', labels: { 'kubernetes.io/hostname': 'node-2' } }, spec: {} })!);
      const byName = { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-1'] }] };
      const spec = { local: { path: '/mnt/disks/a' }, persistentVolumeReclaimPolicy: reclaimPolicy, claimRef: { namespace: 'default', name: 'data' }, nodeAffinity: { required: { nodeSelectorTerms: [byName] } } };
      setup.sink.upsert('persistentVolume', transformPersistentVolume({ metadata: { name: 'pv-a' }, spec, status: { phase: 'Bound' } })!);
      setup.sink.upsert('persistentVolumeClaim', pvc({ name: 'data', volumeName: 'pv-a' }));
      return setup;
    }

    /** What a tracker started afresh on the same model counts. */
    const fresh = (model: ClusterModel) => {
      const tracker = new RiskTracker(model);
      tracker.markAll();
      expect(tracker.flush()).toBe(true);
      return tracker.counts();
    };

    it('re-counts node-1 when the pod writing it on node-2 goes', () => {
      const { model, tracker, sink } = namedNodeCluster('Retain');
      sink.upsert('pod', pod({ name: 'db-0', nodeName: 'node-2', controllerKind: 'StatefulSet', claimNames: ['data'] }));
      expectCurrent(tracker, model);
      expect(tracker.counts().nodesBlocked['node-local-volume']).toBe(1);
      sink.remove('pod', 'default/db-0');
      expectCurrent(tracker, model);
      // node-2 has nothing left; node-1's removal now takes pv-a.
      expect(tracker.counts().nodesBlocked['node-local-volume']).toBe(1);
      expect(tracker.counts().nodesBlocked).toEqual(fresh(model).nodesBlocked);
      expect(tracker.counts().atRiskVolumes).toEqual(fresh(model).atRiskVolumes);
    });

    it('re-counts node-1 when its claim is being deleted (reclaim Delete: nothing kept)', () => {
      const { model, tracker, sink } = namedNodeCluster('Delete');
      expectCurrent(tracker, model);
      expect(tracker.counts().nodesBlocked['node-local-volume']).toBe(1);
      sink.upsert('persistentVolumeClaim', pvc({ name: 'data', volumeName: 'pv-a', deleting: true }));
      expectCurrent(tracker, model);
      expect(tracker.counts().nodesBlocked['node-local-volume']).toBe(0);
      expect(tracker.counts().nodesBlocked).toEqual(fresh(model).nodesBlocked);
    });
  });

  it('re-evaluates everything on a sweep without changing correct counts', () => {
    const { model, tracker, sink } = tracked();
    sink.setLonghornInstalled(true);
    for (const [kind, list] of Object.entries(goldenRecords())) sink.replaceAll(kind as never, list as never);
    expectCurrent(tracker, model);
    const before = tracker.counts();
    tracker.markAll();
    expect(tracker.pending).toBeGreaterThan(0);
    expectCurrent(tracker, model);
    expect(tracker.counts().atRiskVolumes).toEqual(before.atRiskVolumes);
  });

  it('flushes in bounded slices and reports what is left', () => {
    const { model, tracker, sink } = tracked();
    sink.setLonghornInstalled(true);
    syntheticCluster(sink, SMALL_CLUSTER);
    expect(tracker.pending).toBeGreaterThan(10);
    let slices = 0;
    while (!tracker.flush(0)) slices++;
    expect(slices).toBeGreaterThan(10);
    expectCurrent(tracker, model);
  });
});

// The plan table is the one list of which checks guard which operation: every check is in a plan, every plan
// names a served webhook, the README carries the table, and the audit finds what the webhook judges.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createValidators } from '../../../src/admission/index.ts';
import { NOTICES, PLANS, planChecks, plansMarkdown } from '../../../src/admission/plans.ts';
import { nodeCordonValidator } from '../../../src/admission/validators/node-cordon.ts';
import { upgradeValidator } from '../../../src/admission/validators/upgrade.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import type { AuditScope } from '../../../src/audit/types.ts';
import { VOLUME_SETS } from '../../../src/checks/longhorn-health.ts';
import { CHECK_IDS } from '../../../src/checks/types.ts';
import { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { NODE_CHECKS, RiskTracker } from '../../../src/observe/risks.ts';
import { transformNode } from '../../../src/cluster/transforms.ts';
import { context, cordonRequest, harvesterUpgradeRequest, request } from '../../support/admission.ts';
import { detachedVolume, failedReplica, harvesterUpgrade, longhornNode, longhornSetting, node, pod, replica, volume } from '../../support/fixtures.ts';
import { CLUSTER, GENERATED_AT, goldenModel } from '../audit/golden-cluster.ts';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const config = defaultConfig();

/** A Node DELETE of `name` (kubectl delete node). */
function nodeDeleteOf(name: string) {
  return request({
    kind: { group: '', version: 'v1', kind: 'Node' },
    resource: { group: '', version: 'v1', resource: 'nodes' },
    operation: 'DELETE',
    name,
    oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name } },
  });
}

function audit(scope: AuditScope) {
  return buildAuditReport({ model: goldenModel(), scope, cluster: CLUSTER, generatedAt: GENERATED_AT });
}

const sorted = (values: Iterable<string>): string[] => [...new Set(values)].sort();

describe('the plan table', () => {
  it('puts every check in the plan of some operation', () => {
    const planned = new Set([...Object.values(PLANS).flatMap((plan) => planChecks(plan)), ...Object.values(NOTICES).flatMap((notice) => notice.checks)]);
    expect(CHECK_IDS.filter((id) => !planned.has(id))).toEqual([]);
  });

  it('names served webhooks, and every webhook but the override guard and its writer step judges some plan', () => {
    const targets = createValidators(config).map((validator) => validator.declaration.target);
    const planned = new Set([...Object.values(PLANS), ...Object.values(NOTICES)].map((plan) => plan.webhook));
    expect([...planned].filter((webhook) => !targets.includes(webhook))).toEqual([]);
    expect(targets.filter((target) => !planned.has(target))).toEqual(['overrides', 'override-writer']);
  });

  it('lists each check once per plan', () => {
    for (const [id, plan] of Object.entries(PLANS)) expect(sorted(planChecks(plan)), id).toEqual(planChecks(plan).sort());
  });

  it('is the README table, and the README names the node plan for audit --node', () => {
    expect(readme).toContain(plansMarkdown());
    const node = planChecks(PLANS['node-cordon']);
    expect(readme).toContain(`only the node-cordon checks for that node: ${node.slice(0, -1).join(', ')} and ${node.at(-1) ?? ''} scoped to it`);
  });
});

describe('audit and webhook agree (golden scenario)', () => {
  const model = goldenModel();

  it('audit --node finds the checks a cordon of that node is judged by', () => {
    const validator = nodeCordonValidator(config);
    for (const node of ['node-1', 'node-2', 'node-3']) {
      const decision = validator.handle(cordonRequest(node), context(model, { config }));
      const report = audit({ kind: 'node', node });
      expect(sorted(report.findings.map((finding) => finding.check)), node).toEqual(sorted(decision.checks ?? []));
      for (const finding of report.findings) expect(planChecks(PLANS['node-cordon'])).toContain(finding.check);
    }
  });

  it('the whole-cluster audit reports as "upgrade" exactly what an upgrade is judged by', () => {
    const decision = upgradeValidator(config).handle(
      harvesterUpgradeRequest(),
      context(model, { config }),
    );
    const report = audit({ kind: 'cluster' });
    const upgrade = report.findings.filter((finding) => finding.operation === 'upgrade');
    expect(upgrade.length).toBeGreaterThan(0);
    expect(decision.allowed).toBe(false);
    expect(sorted(upgrade.map((finding) => finding.check))).toEqual(sorted(decision.checks ?? []));
    // The rest of the cluster audit is per node, of the node plan's checks (a finding of the upgrade's listed again
    // under the cordon of each node holding a copy), or per release not installed, of the release plan's.
    for (const finding of report.findings.filter((entry) => entry.operation !== 'upgrade')) {
      const plan = finding.operation.startsWith('re-install of Helm release ') ? PLANS['helm-release'] : PLANS['node-cordon'];
      expect(planChecks(plan)).toContain(finding.check);
    }
  });

  it('audit --release reports only checks of the helm-release plan', () => {
    const report = audit({ kind: 'release', namespace: 'shop', name: 'shop', revisions: [{ version: 1, status: 'uninstalled' }] });
    expect(report.findings.length).toBeGreaterThan(0);
    for (const finding of report.findings) expect(planChecks(PLANS['helm-release'])).toContain(finding.check);
  });
});

describe('audit, risk gauges and webhook agree on a cordon under Longhorn node-drain-policy', () => {
  /** node-1 holds the only copy of vol-moved (its second replica failed) and, with `strict`, of a strict-local volume. */
  function drainModel(policy: string | undefined, strict: boolean): ClusterModel {
    const model = new ClusterModel(VOLUME_SETS);
    model.setLonghornInstalled(true);
    for (const name of ['node-1', 'node-2']) {
      model.upsert('node', node({ name }));
      model.upsert('longhornNode', longhornNode({ name }));
    }
    model.upsert('longhornVolume', volume({ name: 'vol-moved', numberOfReplicas: 2 }));
    model.upsert('longhornReplica', replica({ volumeName: 'vol-moved', nodeID: 'node-1' }));
    model.upsert('longhornReplica', failedReplica({ volumeName: 'vol-moved', nodeID: 'node-2' }));
    if (strict) {
      model.upsert('longhornVolume', volume({ name: 'vol-strict', numberOfReplicas: 1, strictLocal: true }));
      model.upsert('longhornReplica', replica({ volumeName: 'vol-strict', nodeID: 'node-1' }));
    }
    if (policy !== undefined) model.upsert('longhornSetting', longhornSetting('node-drain-policy', policy));
    return model;
  }

  it.each([
    ['the default policy', undefined, false],
    ['block-if-contains-last-replica', 'block-if-contains-last-replica', false],
    ['block-for-eviction', 'block-for-eviction', false],
    ['block-for-eviction-if-contains-last-replica', 'block-for-eviction-if-contains-last-replica', false],
    ['block-for-eviction, a strict-local volume too', 'block-for-eviction', true],
  ] as const)('%s: audit --node and nodes_blocked report what the cordon is refused for', (_name, policy, strict) => {
    const model = drainModel(policy, strict);
    const decision = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model, { config }));
    const report = buildAuditReport({ model, scope: { kind: 'node', node: 'node-1' }, cluster: CLUSTER, generatedAt: GENERATED_AT });
    // The cordon's findings; the copies the policy moves are the Node DELETE's (it drains nothing), not the cordon's.
    const cordoned = report.findings.filter((finding) => finding.operation === 'cordon/drain of node node-1');
    expect(sorted(cordoned.map((finding) => finding.check))).toEqual(sorted(decision.checks ?? []));
    expect(cordoned.every((finding) => finding.object.name !== 'vol-moved') || decision.allowed === false).toBe(true);
    const others = report.findings.filter((finding) => !cordoned.includes(finding));
    expect(others.every((finding) => finding.operation === 'Node DELETE of node node-1 (nothing is drained first)')).toBe(true);
    if (others.length > 0) expect(nodeCordonValidator(config).handle(nodeDeleteOf('node-1'), context(model, { config })).allowed).toBe(false);
    const cluster = buildAuditReport({ model, scope: { kind: 'cluster' }, cluster: CLUSTER, generatedAt: GENERATED_AT });
    const cordonChecks = cluster.findings.filter((finding) => finding.operation === 'cordon/drain of node node-1').map((finding) => finding.check);
    for (const check of cordonChecks) expect(decision.checks ?? []).toContain(check);
    const tracker = new RiskTracker(model);
    tracker.markAll();
    tracker.flush();
    const blocked = tracker.counts().nodesBlocked;
    for (const check of NODE_CHECKS) expect(blocked[check] > 0, check).toBe((decision.checks ?? []).includes(check));
  });

  it('the audit says why the moved copies are not refused, and the gauges follow the setting', () => {
    const model = drainModel(undefined, false);
    const tracker = new RiskTracker(model);
    const sink = tracker.sink();
    tracker.markAll();
    tracker.flush();
    expect(tracker.counts().nodesBlocked['last-replica-on-node']).toBe(1);
    sink.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-for-eviction'));
    tracker.flush();
    expect(tracker.counts().nodesBlocked['last-replica-on-node']).toBe(0);
    // Still a volume at risk: one copy, whatever a drain does.
    expect(tracker.counts().atRiskVolumes['last-replica-on-node']).toBe(1);
    const report = buildAuditReport({ model, scope: { kind: 'node', node: 'node-1' }, cluster: CLUSTER, generatedAt: GENERATED_AT });
    // Not the cordon's: the Node DELETE's, which drains nothing and is refused for it.
    expect(report.findings.map((finding) => `${finding.check} ${finding.object.name}: ${finding.operation}`)).toEqual([
      'single-replica vol-moved: Node DELETE of node node-1 (nothing is drained first)',
      'last-replica-on-node vol-moved: Node DELETE of node node-1 (nothing is drained first)',
    ]);
    expect(nodeCordonValidator(config).handle(nodeDeleteOf('node-1'), context(model, { config })).allowed).toBe(false);
    expect(report.notes.join('\n')).toContain("node-drain-policy block-for-eviction moves the only copy of 1 Longhorn volume on node node-1");
  });
});

describe('audit, risk gauges and webhook agree on an eviction requested on the Longhorn node', () => {
  /** node-1 holds the only copy of vol-leaving (numberOfReplicas 1), under the default drain policy. */
  function evictingModel(): ClusterModel {
    const model = new ClusterModel(VOLUME_SETS);
    model.setLonghornInstalled(true);
    for (const name of ['node-1', 'node-2']) {
      model.upsert('node', node({ name }));
      model.upsert('longhornNode', longhornNode({ name }));
    }
    model.upsert('longhornSetting', longhornSetting('node-drain-policy', 'block-if-contains-last-replica'));
    model.upsert('longhornVolume', volume({ name: 'vol-leaving', numberOfReplicas: 1 }));
    model.upsert('longhornReplica', replica({ volumeName: 'vol-leaving', nodeID: 'node-1' }));
    return model;
  }

  it('a cordon refused under the default policy passes once the eviction is requested; the audit says why', () => {
    const model = evictingModel();
    const tracker = new RiskTracker(model);
    const sink = tracker.sink();
    tracker.markAll();
    tracker.flush();
    expect(tracker.counts().nodesBlocked['last-replica-on-node']).toBe(1);
    expect(nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model)).allowed).toBe(false);
    sink.upsert('longhornNode', longhornNode({ name: 'node-1', evictionRequested: true }));
    tracker.flush();
    expect(tracker.counts().nodesBlocked['last-replica-on-node']).toBe(0);
    expect(tracker.counts().nodesBlocked['single-replica']).toBe(0);
    expect(nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model)).allowed).toBe(true);
    const report = buildAuditReport({ model, scope: { kind: 'node', node: 'node-1' }, cluster: CLUSTER, generatedAt: GENERATED_AT });
    // Not the cordon's: the Node DELETE's, which drains nothing and is refused for them.
    expect(report.findings.filter((finding) => !finding.operation.startsWith('Node DELETE of node node-1'))).toEqual([]);
    expect(report.findings.length).toBeGreaterThan(0);
    expect(nodeCordonValidator(config).handle(nodeDeleteOf('node-1'), context(model)).allowed).toBe(false);
    expect(report.notes.join('\n')).toContain('Longhorn evicts the only copy of 1 Longhorn volume on node node-1 (evictionRequested on its Longhorn node or disk)');
  });
});

describe('audit, risk gauges and webhook agree on removing a node for good', () => {
  const NODE_KIND = { kind: { group: '', version: 'v1', kind: 'Node' }, resource: { group: '', version: 'v1', resource: 'nodes' } };
  const CA_TAINT = { key: 'ToBeDeletedByClusterAutoscaler', value: '1733130000', effect: 'NoSchedule' };
  const nodeDelete = request({ ...NODE_KIND, operation: 'DELETE', name: 'node-1', oldObject: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } } });

  /** A bare pod writing a hostPath on node-1: a drain leaves its data for it to come back to, a removal does not. */
  function removalModel(taints: unknown[]): ClusterModel {
    const model = new ClusterModel(VOLUME_SETS);
    const first = transformNode({ metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } }, spec: { taints } });
    if (first === undefined) throw new Error('node not read');
    model.upsert('node', first);
    model.upsert('node', node({ name: 'node-2' }));
    model.upsert('pod', pod({ name: 'scratch', nodeName: 'node-1', hostPaths: [{ path: '/data/scratch', writable: true }] }));
    return model;
  }

  const audit = (model: ClusterModel, scope: AuditScope) => buildAuditReport({ model, scope, cluster: CLUSTER, generatedAt: GENERATED_AT });
  const checksOf = (findings: readonly { check: string; operation: string }[], operation: string) => sorted(findings.filter((f) => f.operation.startsWith(operation)).map((f) => f.check));

  it('audit --node says what a cordon is refused for, and apart what a Node DELETE is', () => {
    const model = removalModel([]);
    const validator = nodeCordonValidator(config);
    const cordon = validator.handle(cordonRequest('node-1'), context(model, { config }));
    const removal = validator.handle(nodeDelete, context(model, { config }));
    expect(cordon.allowed).toBe(true);
    expect(removal.checks).toEqual(['node-local-volume']);
    const report = audit(model, { kind: 'node', node: 'node-1' });
    expect(checksOf(report.findings, 'cordon/drain of node node-1')).toEqual(sorted(cordon.checks ?? []));
    expect(checksOf(report.findings, 'removal of node node-1')).toEqual(sorted(removal.checks ?? []));
    expect(report.findings[0]).toMatchObject({ object: { kind: 'Pod', name: 'scratch' }, override: expect.stringContaining('kubectl annotate node node-1') });
    // The whole-cluster audit says it for every node.
    expect(checksOf(audit(model, { kind: 'cluster' }).findings, 'removal of node node-1')).toEqual(['node-local-volume']);
  });

  it('a node an autoscaler is removing: its cordon is judged as its removal, by the audit and the gauges too', () => {
    const model = removalModel([CA_TAINT]);
    const tainted = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, spec: { unschedulable: true, taints: [CA_TAINT] } };
    const cordonOfLeaving = request({ ...NODE_KIND, operation: 'UPDATE', name: 'node-1', object: tainted, oldObject: { ...tainted, spec: { taints: [CA_TAINT] } } });
    const decision = nodeCordonValidator(config).handle(cordonOfLeaving, context(model, { config }));
    expect(decision.checks).toEqual(['node-local-volume']);
    const report = audit(model, { kind: 'node', node: 'node-1' });
    expect(checksOf(report.findings, 'cordon/drain of node node-1')).toEqual(['node-local-volume']);
    expect(checksOf(report.findings, 'removal of node node-1')).toEqual([]);
    const tracker = new RiskTracker(model);
    tracker.markAll();
    tracker.flush();
    expect(tracker.counts().nodesBlocked['node-local-volume']).toBe(1);
  });
});

describe('audit and webhook agree on a node a Harvester upgrade admitted with skipSingleReplicaDetachedVol is draining', () => {
  it('the detached single-replica findings its cordon passes for are reported accepted by that Upgrade', () => {
    const model = new ClusterModel(VOLUME_SETS);
    model.setLonghornInstalled(true);
    for (const name of ['node-1', 'node-2']) {
      model.upsert('node', node({ name }));
      model.upsert('longhornNode', longhornNode({ name }));
    }
    model.upsert('longhornVolume', detachedVolume({ name: 'vol-detached', numberOfReplicas: 1 }));
    model.upsert('longhornReplica', replica({ volumeName: 'vol-detached', nodeID: 'node-1', currentState: 'stopped' }));
    model.upsert('longhornVolume', volume({ name: 'vol-attached', numberOfReplicas: 1 }));
    model.upsert('longhornReplica', replica({ volumeName: 'vol-attached', nodeID: 'node-1' }));
    model.upsert('harvesterUpgrade', harvesterUpgrade({ nodeStates: { 'node-1': 'Pre-drained' } }));
    const decision = nodeCordonValidator(config).handle(cordonRequest('node-1'), context(model, { config }));
    const report = buildAuditReport({ model, scope: { kind: 'node', node: 'node-1' }, cluster: CLUSTER, generatedAt: GENERATED_AT });
    // What the cordon is refused for is what the audit reports without an override accepting it.
    const open = report.findings.filter((finding) => finding.overriddenBy === undefined);
    expect(sorted(open.map((finding) => finding.check))).toEqual(sorted(decision.checks ?? []));
    expect(open.map((finding) => finding.object.name)).not.toContain('vol-detached');
    expect(report.findings.filter((finding) => finding.object.name === 'vol-detached').map((finding) => finding.overriddenBy)).toEqual([
      'Harvester Upgrade harvester-system/hvst-upgrade-1 (harvesterhci.io/skipSingleReplicaDetachedVol, draining node node-1)',
      'Harvester Upgrade harvester-system/hvst-upgrade-1 (harvesterhci.io/skipSingleReplicaDetachedVol, draining node node-1)',
    ]);
  });
});

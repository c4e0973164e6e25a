// The whole-cluster audit beside the node-cordon webhook, on random clusters: for every node, the checks the audit
// lists under `cordon/drain of node N` (refusable, not accepted) are exactly the checks the webhook refuses N's cordon
// for, and following the audit's skip command for N lets the cordon through.
import { describe, expect, it } from 'vitest';
import { refusable } from '../../../src/audit/policyreport.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import type { AuditReport } from '../../../src/audit/types.ts';
import type { ClusterModel } from '../../../src/cluster/model.ts';
import { csiPV, failedReplica, hostPathPV, localPV, longhornNode, longhornSetting, node, pick, pod, pvc, replica, seededRandom } from '../../support/fixtures.ts';
import { addVolume, cordonAndAudit, longhornCluster, storedSkip } from './cordon-agreement.ts';

const NODES = ['n1', 'n2', 'n3'];
const CHECKS = ['last-replica-on-node', 'single-replica', 'volume-health', 'node-local-volume'];
const POLICIES = ['block-if-contains-last-replica', 'block-for-eviction', 'block-for-eviction-if-contains-last-replica', 'allow-if-replica-is-stopped', 'always-allow'];

/** A small Longhorn cluster with random volumes, replicas, node states, skips and node-local data. */
function randomCluster(seed: number): { model: ClusterModel; described: string[] } {
  const random = seededRandom(seed);
  const model = longhornCluster(NODES);
  const described: string[] = [];
  for (const name of NODES) {
    const state = pick(random, ['ok', 'ok', 'ok', 'down', 'longhorn-down', 'skip']);
    if (state === 'down') model.upsert('node', node({ name, ready: 'False', readySince: 0 }));
    if (state === 'longhorn-down') model.upsert('longhornNode', longhornNode({ name, down: true }));
    if (state === 'skip') model.upsert('node', node({ name, annotations: storedSkip(pick(random, CHECKS)) }));
    described.push(`${name}: ${state}`);
  }
  if (random() < 0.3) {
    const policy = pick(random, POLICIES);
    model.upsert('longhornSetting', longhornSetting('node-drain-policy', policy));
    described.push(`node-drain-policy ${policy}`);
  }
  const volumes = 1 + Math.floor(random() * 3);
  for (let index = 0; index < volumes; index++) {
    const name = `v${index}`;
    const on = [...NODES].sort(() => random() - 0.5).slice(0, 1 + Math.floor(random() * 3));
    const state = pick(random, ['attached', 'detached']);
    const fields = {
      numberOfReplicas: pick(random, [1, 2, 3]),
      state,
      robustness: state === 'detached' ? 'unknown' : pick(random, ['healthy', 'healthy', 'degraded', 'faulted']),
      currentNodeID: state === 'attached' ? (on[0] ?? '') : '',
    };
    addVolume(model, name, on, fields);
    described.push(`${name} ${JSON.stringify(fields)} on ${on.join(',')}`);
    if (random() < 0.3) {
      const failedOn = pick(random, NODES);
      model.upsert('longhornReplica', failedReplica({ volumeName: name, nodeID: failedOn, name: `${name}-failed-${failedOn}` }));
      described.push(`${name}: failed replica on ${failedOn}`);
    }
    if (random() < 0.2) {
      model.upsert('longhornReplica', replica({ volumeName: name, nodeID: on[0] ?? 'n1', currentState: 'stopped', desireState: 'stopped' }));
      described.push(`${name}: stopped replica on ${on[0] ?? 'n1'}`);
    }
  }
  if (random() < 0.5) {
    const on = pick(random, NODES);
    const kind = pick(random, ['local', 'hostPath', 'topolvm']);
    const fields = { name: 'pv-l', pinnedNode: on, claimName: 'c-l' };
    model.upsert('persistentVolume', kind === 'local' ? localPV(fields) : kind === 'hostPath' ? hostPathPV(fields) : csiPV('topolvm.io', fields));
    model.upsert('persistentVolumeClaim', pvc({ name: 'c-l', volumeName: 'pv-l' }));
    const used = random() < 0.5;
    if (used) model.upsert('pod', pod({ name: 'p', nodeName: on, claimNames: ['c-l'], controllerKind: pick(random, ['StatefulSet', 'ReplicaSet', '']) }));
    described.push(`${kind} PV on ${on}, used: ${used}`);
  }
  return { model, described };
}

/** The checks the cluster audit says the cordon of `name` is refused for. */
function auditedCordonChecks(report: AuditReport, name: string): string[] {
  const checks = report.findings
    .filter((finding) => finding.operation === `cordon/drain of node ${name}` && refusable(finding) && finding.overriddenBy === undefined)
    .map((finding) => finding.check);
  return [...new Set(checks)].sort();
}

function clusterAudit(model: ClusterModel): AuditReport {
  return buildAuditReport({ model, scope: { kind: 'cluster' }, cluster: { server: 's', context: 'c' }, generatedAt: '2026-01-15T08:00:00.000Z' });
}

describe('the whole-cluster audit agrees with the cordon of every node', () => {
  for (let seed = 1; seed <= 300; seed++) {
    it(`random cluster ${seed}`, () => {
      const { model, described } = randomCluster(seed);
      const report = clusterAudit(model);
      for (const name of NODES) {
        const { decision } = cordonAndAudit(model, name);
        const refused = [...new Set(decision.deniedChecks ?? [])].sort();
        expect(auditedCordonChecks(report, name), `cordon of ${name} in\n${described.join('\n')}\n${decision.status?.message ?? 'allowed'}`).toEqual(refused);
      }
    });
  }
});

describe('the whole-cluster audit lists the cordon of the nodes holding a copy', () => {
  it('a degraded volume blocks the upgrade and the cordon of each node holding a copy', () => {
    const model = longhornCluster();
    addVolume(model, 'v', ['n1', 'n2'], { numberOfReplicas: 3, robustness: 'degraded' });
    const operations = clusterAudit(model)
      .findings.filter((finding) => finding.check === 'volume-health')
      .map((finding) => finding.operation)
      .sort();
    expect(operations).toEqual(['cordon/drain of node n1', 'cordon/drain of node n2', 'upgrade']);
  });

  it("the node's skip command names every check its cordon is refused for, and lets it through", () => {
    const model = longhornCluster();
    addVolume(model, 'v', ['n1'], { numberOfReplicas: 1, state: 'detached', robustness: 'unknown', currentNodeID: '' });
    const commands = new Set(clusterAudit(model).findings.filter((finding) => finding.operation === 'cordon/drain of node n1').map((finding) => finding.override));
    expect([...commands]).toHaveLength(1);
    const checks = /volume-guard\.io\/skip=(\S+)/.exec([...commands][0] ?? '')?.[1] ?? '';
    expect(checks.split(',').sort()).toEqual(['last-replica-on-node', 'single-replica']);
    expect(cordonAndAudit(model, 'n1').decision.allowed).toBe(false);
    model.upsert('node', node({ name: 'n1', annotations: storedSkip(checks) }));
    expect(cordonAndAudit(model, 'n1').decision.allowed).toBe(true);
  });
});

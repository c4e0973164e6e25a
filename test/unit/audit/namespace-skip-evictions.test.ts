// A namespace's `volume-guard.io/skip-evictions` on a node already cordoned (or being removed): the eviction webhook
// lets that namespace's pods go for its own data, though not the cordon, nor, on the cordoned node, the evictions of
// other namespaces' pods, which judge every volume there. `audit --node` reports the cordon's answer, so it keeps the
// findings (not accepted: the cordon reads no namespace override) and says in a note where they pass.
import { describe, expect, it } from 'vitest';
import { podEvictionValidator } from '../../../src/admission/validators/eviction.ts';
import { buildAuditReport } from '../../../src/audit/report.ts';
import type { AuditReport } from '../../../src/audit/types.ts';
import type { ClusterModel } from '../../../src/cluster/model.ts';
import { defaultConfig } from '../../../src/config.ts';
import { context, evictionRequest } from '../../support/admission.ts';
import { namespace, node, pod, pv, pvc } from '../../support/fixtures.ts';
import { addVolume, longhornCluster } from './cordon-agreement.ts';

const SKIP_EVICTIONS = { 'volume-guard.io/skip-evictions': 'last-replica-on-node,single-replica', 'volume-guard.io/skip-by': 'admin' };

/** Volume `volume` of claim `claim` in `ns`, used by pod `podName` on n1, with its copies on `replicaNodes`. */
function claimedVolume(model: ClusterModel, ns: string, claim: string, volume: string, podName: string, replicaNodes: string[]): void {
  addVolume(model, volume, replicaNodes, { numberOfReplicas: 3, pvcNamespace: ns, pvcName: claim, pvName: volume });
  model.upsert('persistentVolume', pv({ name: volume, claimNamespace: ns, claimName: claim }));
  model.upsert('persistentVolumeClaim', pvc({ namespace: ns, name: claim, volumeName: volume }));
  model.upsert('pod', pod({ namespace: ns, name: podName, nodeName: 'n1', claimNames: [claim], controllerKind: 'StatefulSet' }));
}

/** n1 (cordoned unless `cordoned` is false) holds the only copy of namespace team's volume v; team skips evictions. */
function teamOnNode(cordoned = true, annotations: Record<string, string> = SKIP_EVICTIONS): ClusterModel {
  const model = longhornCluster();
  model.upsert('node', node({ name: 'n1', unschedulable: cordoned }));
  model.upsert('namespace', namespace({ name: 'team', annotations }));
  claimedVolume(model, 'team', 'data', 'v', 'app-0', ['n1']);
  return model;
}

const auditNode = (model: ClusterModel): AuditReport =>
  buildAuditReport({ model, scope: { kind: 'node', node: 'n1' }, cluster: { server: 's', context: 'c' }, generatedAt: 'now' });

const NOTE =
  "2 findings of node n1 about namespace team's data (single-replica, last-replica-on-node: v) pass at the evictions and drain pod deletes of " +
  "team's pods (annotation volume-guard.io/skip-evictions on Namespace team); not at a cordon or taint of the node, its removal, or the " +
  "evictions of other namespaces' pods while it is cordoned";

describe('audit --node: a namespace skip-evictions on a cordoned node', () => {
  it("notes the findings the evictions of the namespace's pods pass, still listing them as not accepted", () => {
    const model = teamOnNode();
    const evicted = podEvictionValidator(defaultConfig()).handle(evictionRequest('app-0', { namespace: 'team' }), context(model));
    expect(evicted.allowed, evicted.status?.message).toBe(true);
    const report = auditNode(model);
    expect(report.findings.map((finding) => `${finding.check} ${finding.object.name} ${finding.overriddenBy ?? '-'}`)).toEqual([
      'single-replica v -',
      'last-replica-on-node v -',
    ]);
    expect(report.summary.overridden).toBe(0);
    expect(report.notes).toContain(NOTE);
  });

  it("why not accepted: another namespace's pod on the cordoned node is still refused for them", () => {
    const model = teamOnNode();
    model.upsert('namespace', namespace({ name: 'other', annotations: SKIP_EVICTIONS }));
    claimedVolume(model, 'other', 'odata', 'w', 'o-0', ['n1', 'n2', 'n3']);
    const evicted = podEvictionValidator(defaultConfig()).handle(evictionRequest('o-0', { namespace: 'other' }), context(model));
    expect(evicted.allowed).toBe(false);
    expect(auditNode(model).notes).toContain(NOTE);
  });

  it("on a node an autoscaler is removing (its drain taint), the namespace's evictions pass the same way", () => {
    const model = teamOnNode(false);
    model.upsert('node', node({ name: 'n1', leaving: true }));
    const evicted = podEvictionValidator(defaultConfig()).handle(evictionRequest('app-0', { namespace: 'team' }), context(model));
    expect(evicted.allowed, evicted.status?.message).toBe(true);
    expect(auditNode(model).notes).toContain(NOTE);
  });

  it('no note on a schedulable node (its cordon comes first), or for a skip-evictions without a recorded writer', () => {
    const noted = (report: AuditReport): boolean => report.notes.some((note) => note.includes('skip-evictions'));
    expect(noted(auditNode(teamOnNode(false)))).toBe(false);
    expect(noted(auditNode(teamOnNode(true, { 'volume-guard.io/skip-evictions': '*' })))).toBe(false);
  });

  it('a skip-evictions naming another check notes nothing of these', () => {
    const report = auditNode(teamOnNode(true, { 'volume-guard.io/skip-evictions': 'node-local-volume', 'volume-guard.io/skip-by': 'admin' }));
    expect(report.notes.some((note) => note.includes('skip-evictions'))).toBe(false);
  });
});
